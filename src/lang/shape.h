/* shape.h: symbolic shapes and NumPy broadcasting over symbolic dims. */
#ifndef DC_SHAPE_H
#define DC_SHAPE_H

#include <stddef.h>

#include "base/text.h"

struct symbol;

/* A dimension is a declared size (n_h, m) or a literal (1). Two dims are
   equal when they are the same symbol or the same literal; only the literal
   1 broadcasts, so a symbolic n_y stays distinct from 1 whatever number
   seeds it. */
typedef struct dim {
    const struct symbol *sym; /* NULL for a literal */
    long n;                   /* the literal; 0 when sym is set */
} dim;

/* Rank 0 (a scalar), 1 ([n], as NumPy gives for a sum without keepdims) or
   2 ([rows, cols]); SHAPE_ANY_RANK for a rule's pattern variable, which fits
   any shape: operations on it have shape "any" too, and are checked when
   the rule is applied to real terms. */
typedef struct shape {
    int rank;
    dim d[2];
} shape;

enum { SHAPE_WHY = 160 }; /* room for a shape error message */

enum { SHAPE_ANY_RANK = -1 };

extern const shape shape_scalar;
extern const shape shape_any;

dim dim_literal(long n);
dim dim_symbol(const struct symbol *sym);
int dim_equal(dim a, dim b);
int shape_equal(const shape *a, const shape *b);
int shape_is_scalar(const shape *s);
/* Whether every size of S is the literal 1 (a scalar, [1] or [1, 1]): a
   value of one entry, which NumPy broadcasts to any shape. */
int shape_is_one_entry(const shape *s);

/* Each of these computes the shape of an operation's result into *out and
   returns 1, or returns 0 and writes why into WHY (SHAPE_WHY bytes), naming
   both shapes, e.g. "[n_y, n_h] @ [n_y, m]: inner dims n_h and n_y differ". */
int shape_broadcast(shape *out, const shape *a, const shape *b, const char *op, char *why);
int shape_matmul(shape *out, const shape *a, const shape *b, char *why);
void shape_transpose(shape *out, const shape *a);
/* AXIS is 0 or 1, or -1 for a full sum; a negative NumPy axis must have been
   normalised against the rank by the caller. */
int shape_sum(shape *out, const shape *a, int axis, int keepdims, char *why);

/* "[n_h, m]", "[n]" or "scalar". */
void shape_print(text *t, const shape *s);
void dim_print(text *t, dim d);

#endif
