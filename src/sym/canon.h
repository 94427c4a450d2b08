/* canon.h: normal forms: sums of products with exact rational coefficients. */
#ifndef DC_CANON_H
#define DC_CANON_H

#include "lang/term.h"

/* The normal form of T: a sum of monomials, each a rational coefficient
   times factors base^k with integer k, in one fixed order; scalar factors
   pulled out of @, sum and .T; a sum is expanded when raised to a positive
   power and kept whole (divided by its content) when divided by, so that
   A / A and (1 - A)^-1 * (1 - A) cancel before anything is expanded. Two
   terms equal by these laws get the same pointer. Named definitions stay
   names: A2 is an atom, not sigmoid(Z2). Built in TAB; never fails but for
   an allocation failure (a longjmp of TAB's pool). */
const term *canon_normal_form(term_table *tab, const term *t);

/* A total order on terms that does not depend on addresses, so that normal
   forms (and everything printed from them) are the same in every run. */
int canon_compare(const term *a, const term *b);

#endif
