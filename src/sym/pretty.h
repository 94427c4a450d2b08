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

#endif
