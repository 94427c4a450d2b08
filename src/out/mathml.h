/* mathml.h: terms written as Presentation MathML, for HTML documents. */
#ifndef DC_MATHML_H
#define DC_MATHML_H

#include "base/text.h"
#include "lang/term.h"

/* Append T as the inside of a <math> element: well-formed XML (every name
   escaped, characters as numeric references), the same notation as
   print_latex (fractions, a circled dot for elementwise products of
   matrices, a superscript top for transposes, sigma for the sigmoid),
   written by print_math's walk in a style of its own. */
void mathml_term(text *out, const term *t);

/* Append NAME as one identifier, <mi>NAME</mi>, escaped. */
void mathml_name(text *out, const char *name);

/* Append <math xmlns=... display="block|inline">NAME = T</math>; NAME may be
   NULL (then only T). */
void mathml_equation(text *out, const char *name, const term *t, int display_block);

/* Append S with the characters XML reserves (& < > ") as references. */
void mathml_escape(text *out, const char *s);

#endif
