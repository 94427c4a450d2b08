/* shape.c: symbolic shapes and NumPy broadcasting; see shape.h. */
#include "lang/shape.h"

#include <stdio.h>
#include <string.h>

#include "lang/term.h"

const shape shape_scalar = {0, {{NULL, 0}, {NULL, 0}}};
const shape shape_any = {SHAPE_ANY_RANK, {{NULL, 0}, {NULL, 0}}};

static int
is_any(const shape *s)
{
    return s->rank == SHAPE_ANY_RANK;
}

dim
dim_literal(long n)
{
    dim d = {NULL, n};
    return d;
}

dim
dim_symbol(const struct symbol *sym)
{
    dim d = {sym, 0};
    return d;
}

int
dim_equal(dim a, dim b)
{
    return a.sym == b.sym && a.n == b.n;
}

static int
dim_is_one(dim d)
{
    return d.sym == NULL && d.n == 1;
}

int
shape_equal(const shape *a, const shape *b)
{
    if (a->rank != b->rank)
        return 0;
    for (int i = 0; i < a->rank; i++)
        if (!dim_equal(a->d[i], b->d[i]))
            return 0;
    return 1;
}

int
shape_is_scalar(const shape *s)
{
    return s->rank == 0;
}

int
shape_is_one_entry(const shape *s)
{
    for (int i = 0; i < s->rank; i++)
        if (!dim_is_one(s->d[i]))
            return 0;
    return s->rank >= 0;
}

/* Write a dim or a shape into a fixed buffer, for messages. */
static const char *
dim_str(dim d, char *buf, size_t size)
{
    if (d.sym != NULL)
        snprintf(buf, size, "%s", d.sym->name);
    else
        snprintf(buf, size, "%ld", d.n);
    return buf;
}

static const char *
shape_str(const shape *s, char *buf, size_t size)
{
    char a[48], b[48];
    if (s->rank == 0)
        snprintf(buf, size, "scalar");
    else if (is_any(s))
        snprintf(buf, size, "any");
    else if (s->rank == 1)
        snprintf(buf, size, "[%s]", dim_str(s->d[0], a, sizeof a));
    else
        snprintf(buf, size, "[%s, %s]", dim_str(s->d[0], a, sizeof a),
                 dim_str(s->d[1], b, sizeof b));
    return buf;
}

int
shape_broadcast(shape *out, const shape *a, const shape *b, const char *op, char *why)
{
    if (is_any(a) || is_any(b)) {
        *out = shape_any;
        return 1;
    }
    /* NumPy aligns trailing axes; a missing leading axis acts as 1. */
    int rank = a->rank > b->rank ? a->rank : b->rank;
    out->rank = rank;
    for (int i = 0; i < rank; i++) {
        int ia = a->rank - rank + i, ib = b->rank - rank + i;
        dim da = ia >= 0 ? a->d[ia] : dim_literal(1);
        dim db = ib >= 0 ? b->d[ib] : dim_literal(1);
        if (dim_equal(da, db) || dim_is_one(db))
            out->d[i] = da;
        else if (dim_is_one(da))
            out->d[i] = db;
        else {
            char sa[112], sb[112], x[48], y[48];
            snprintf(why, SHAPE_WHY, "%s %s %s: dims %s and %s cannot broadcast",
                     shape_str(a, sa, sizeof sa), op, shape_str(b, sb, sizeof sb),
                     dim_str(da, x, sizeof x), dim_str(db, y, sizeof y));
            return 0;
        }
    }
    for (int i = rank; i < 2; i++)
        out->d[i] = dim_literal(0);
    return 1;
}

int
shape_matmul(shape *out, const shape *a, const shape *b, char *why)
{
    char sa[112], sb[112], x[48], y[48];
    if (is_any(a) || is_any(b)) {
        *out = shape_any;
        return 1;
    }
    if (a->rank == 0 || b->rank == 0) {
        snprintf(why, SHAPE_WHY, "%s @ %s: matrix product of a scalar (use * to scale)",
                 shape_str(a, sa, sizeof sa), shape_str(b, sb, sizeof sb));
        return 0;
    }
    dim inner_a = a->d[a->rank - 1], inner_b = b->d[0];
    if (!dim_equal(inner_a, inner_b)) {
        snprintf(why, SHAPE_WHY, "%s @ %s: inner dims %s and %s differ",
                 shape_str(a, sa, sizeof sa), shape_str(b, sb, sizeof sb),
                 dim_str(inner_a, x, sizeof x), dim_str(inner_b, y, sizeof y));
        return 0;
    }
    /* As NumPy: a 1-D operand loses its axis in the result. */
    *out = shape_scalar;
    if (a->rank == 2)
        out->d[out->rank++] = a->d[0];
    if (b->rank == 2)
        out->d[out->rank++] = b->d[1];
    return 1;
}

void
shape_transpose(shape *out, const shape *a)
{
    *out = *a;
    if (a->rank == 2) {
        out->d[0] = a->d[1];
        out->d[1] = a->d[0];
    }
}

int
shape_sum(shape *out, const shape *a, int axis, int keepdims, char *why)
{
    char sa[112];
    if (is_any(a) && (axis >= 0 || keepdims)) {
        *out = shape_any;
        return 1;
    }
    if (axis < 0) {
        *out = shape_scalar;
        if (keepdims) {
            out->rank = a->rank;
            out->d[0] = out->d[1] = dim_literal(1);
            if (a->rank < 2)
                out->d[1] = dim_literal(0);
            if (a->rank < 1)
                out->d[0] = dim_literal(0);
        }
        return 1;
    }
    if (axis >= a->rank) {
        snprintf(why, SHAPE_WHY, "sum over axis %d of %s: the axis is out of bounds", axis,
                 shape_str(a, sa, sizeof sa));
        return 0;
    }
    *out = *a;
    if (keepdims) {
        out->d[axis] = dim_literal(1);
        return 1;
    }
    if (a->rank == 2) {
        out->rank = 1;
        out->d[0] = a->d[1 - axis];
    } else {
        out->rank = 0;
        out->d[0] = dim_literal(0);
    }
    out->d[1] = dim_literal(0);
    return 1;
}

void
dim_print(text *t, dim d)
{
    char buf[48];
    text_puts(t, dim_str(d, buf, sizeof buf));
}

void
shape_print(text *t, const shape *s)
{
    if (s->rank == 0) {
        text_puts(t, "scalar");
        return;
    }
    if (is_any(s)) {
        text_puts(t, "any");
        return;
    }
    text_putc(t, '[');
    dim_print(t, s->d[0]);
    if (s->rank == 2) {
        text_puts(t, ", ");
        dim_print(t, s->d[1]);
    }
    text_putc(t, ']');
}
