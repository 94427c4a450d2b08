/* print.h: terms and models printed back in the .dc language. */
#ifndef DC_PRINT_H
#define DC_PRINT_H

#include "model.h"
#include "term.h"
#include "text.h"

/* Append T in the one normal spelling of the language (no np., @ for every
   matrix product, .T, ^ for powers, a - b for a + -b), with only the
   parentheses the precedence needs, so that parsing the text gives T back. */
void print_term(text *out, const term *t);

/* Append the whole model, one declaration or definition per line, with the
   shape of every definition and claim in a comment. */
void print_model(text *out, const model *m);

#endif
