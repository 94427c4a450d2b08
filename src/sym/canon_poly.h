/* canon_poly.h: the polynomials behind normal forms, for canon.c, which makes them, and
 * pretty.c, which writes them for people; no other file includes it. */
#ifndef DC_CANON_POLY_H
#define DC_CANON_POLY_H

#include "lang/term.h"

/* A factor base^exp of a monomial; exp is never 0. */
typedef struct factor {
    const term *base;
    long exp;
} factor;

/* coef * product of factors, factors sorted by base, bases distinct. */
typedef struct mono {
    const term *coef; /* a constant term, never 0 */
    factor *f;
    int nf;
} mono;

/* A sum of monomials of the given shape (monomials broadcast to it). */
typedef struct poly {
    mono *m;
    int n, cap;
    shape shape;
} poly;

/* What a normal form or a pretty form is built with: the table its terms
   go to, the pool its polynomials live in (the table's), and the normal
   forms found so far. */
typedef struct canon {
    term_table *tab;
    mem_pool *pool;
    term_map *memo; /* raw term -> normal form */
} canon;

/* A context over TAB, allocated from TAB's pool (as is everything the
   functions below allocate; the pool frees it). */
canon *canon_new(term_table *tab);

/* Whether K is the constant 1. */
int canon_is_one(const term *k);
/* term_make of OP over A and B (B NULL: A alone), for shapes known to fit. */
const term *canon_make(canon *c, term_op op, int aux, int keepdims, const term *a, const term *b);

/* P, empty, of shape S. */
void canon_poly_init(poly *p, const shape *s);
/* M appended to P, unless its coefficient is 0. */
void canon_poly_push(canon *c, poly *p, const mono *m);
/* Like monomials of P collected, zeros dropped, sorted: P in normal order. */
void canon_poly_collect(canon *c, poly *p);
/* P / G into OUT, collected. */
void canon_poly_divide(canon *c, poly *out, const poly *p, const mono *g);
/* The content of a sum P (at least two monomials): G, with the coefficient
   of P's first monomial and the factors common to every monomial at their
   lowest power, and S = P / G, whose first coefficient is 1. Two sums that
   differ by such a factor share S. */
void canon_poly_content(canon *c, const poly *p, mono *g, poly *s);
/* The polynomial of a normal form N. */
void canon_decompose(canon *c, const term *n, poly *out);

/* The product of two monomials, factors merged (so x * x^-1 cancels). */
mono canon_mono_mul(canon *c, const mono *a, const mono *b);
/* The monomial as a term without its coefficient: the key under which like
   terms are collected. The product of no factors is 1. */
const term *canon_mono_key(canon *c, const mono *m);

#endif
