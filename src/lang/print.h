/* print.h: terms and models printed back in the .dc language. */
#ifndef DC_PRINT_H
#define DC_PRINT_H

#include "base/text.h"
#include "lang/model.h"
#include "lang/term.h"

/* Append T in the one normal spelling of the language (no np., @ for every
   matrix product, .T, ^ for powers, a - b for a + -b), with only the
   parentheses the precedence needs, so that parsing the text gives T back. */
void print_term(text *out, const term *t);

/* Append T as LaTeX mathematics: \frac for quotients, \odot for
   elementwise products of matrices, ^{\top} for transposes, \sigma. */
void print_latex(text *out, const term *t);

/* Append S with the characters JSON or LaTeX need escaped. */
void print_json_string(text *out, const char *s);
void print_latex_name(text *out, const char *s);

/* Append the whole model, one declaration or definition per line, with the
   shape of every definition and claim in a comment. */
void print_model(text *out, const model *m);

#endif
