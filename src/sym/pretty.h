/* pretty.h: normal forms written for people: factored, positive terms first. */
#ifndef DC_PRETTY_H
#define DC_PRETTY_H

#include "lang/term.h"

/* The normal form N written for people: common factors and the content of
   the coefficients taken out of sums (1/m * (A2 - Y)), positive terms first,
   negative powers as quotients (Y / A2), a scalar moved into the left
   operand of a product (1/m * dZ2 @ A1.T). Equal to N, not canonical.
   Built in TAB; never fails but for an allocation failure (a longjmp of
   TAB's pool). */
const term *pretty_form(term_table *tab, const term *n);

/* T, a term of a derivation's step, as people read it: each part that
   arithmetic alone rewrites (a sum, a product with a constant such as the
   rules' 1 * (-1/m), a negation, a negative power) as pretty_form writes
   its normal form, so -1/m * Y for 1 * (-1/m) * Y; the rest of T's
   structure kept as it is, so that the m of m * (1/m * (A2 - Y)) stays in
   sight. Equal to T. Built in TAB; fails only as pretty_form does. */
const term *pretty_step(term_table *tab, const term *t);

#endif
