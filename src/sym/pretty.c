/* pretty.c: normal forms written for people; see pretty.h. */
#include "sym/pretty.h"

#include <string.h>

#include "sym/canon.h"
#include "sym/canon_poly.h"

static const term *pretty(canon *c, const term *n);

/* The rational gcd of the coefficients' absolute values. */
static const term *
coefficient_content(canon *c, const poly *p)
{
    mpq_ptr q = term_table_scratch(c->tab);
    mpz_ptr z = term_table_scratch_z(c->tab);
    mpz_set_ui(z, 0);
    for (int i = 0; i < p->n; i++)
        mpz_gcd(z, z, mpq_numref(p->m[i].coef->value));
    mpz_set(mpq_numref(q), z);
    mpz_set_ui(z, 1);
    for (int i = 0; i < p->n; i++)
        mpz_lcm(z, z, mpq_denref(p->m[i].coef->value));
    mpz_set(mpq_denref(q), z);
    mpq_canonicalize(q);
    return term_const(c->tab, q);
}

/* The product of factors F[0..n) (their exponents' absolute values), or
   NULL for none. */
static const term *
product(canon *c, const factor *f, int n)
{
    const term *t = NULL;
    for (int i = 0; i < n; i++) {
        long k = f[i].exp < 0 ? -f[i].exp : f[i].exp;
        const term *b = pretty(c, f[i].base);
        const term *x = k == 1 ? b : canon_make(c, OP_POW, 0, 0, b, term_const_si(c->tab, k, 1));
        t = t == NULL ? x : canon_make(c, OP_MUL, 0, 0, t, x);
    }
    return t;
}

static const term *
times(canon *c, const term *a, const term *b)
{
    if (a == NULL)
        return b;
    if (b == NULL)
        return a;
    /* 1/m * (dZ2 @ A1.T) reads as 1/m * dZ2 @ A1.T */
    if (a->shape.rank == 0 && b->op == OP_MATMUL)
        return canon_make(c, OP_MATMUL, 0, 0, canon_make(c, OP_MUL, 0, 0, a, b->args[0]),
                          b->args[1]);
    return canon_make(c, OP_MUL, 0, 0, a, b);
}

static const term *
quotient(canon *c, const term *num, const term *den)
{
    if (den == NULL)
        return num;
    return canon_make(c, OP_DIV, 0, 0, num != NULL ? num : term_const_si(c->tab, 1, 1), den);
}

/* Whether T mentions a derived gradient (dZ2). */
static int
mentions_gradient(const term *t)
{
    if (t->op == OP_SYM)
        return t->sym->kind == SYM_GRAD;
    for (unsigned i = 0; i < t->nargs; i++)
        if (mentions_gradient(t->args[i]))
            return 1;
    return 0;
}

/* A monomial, with its sign in *NEGATIVE and the rest as a term. */
static const term *
pretty_mono(canon *c, const mono *m, int *negative)
{
    factor *sn = mem_alloc(c->pool, (size_t)(m->nf + 1) * sizeof *sn);
    factor *sd = mem_alloc(c->pool, (size_t)(m->nf + 1) * sizeof *sd);
    factor *mn = mem_alloc(c->pool, (size_t)(m->nf + 1) * sizeof *mn);
    factor *md = mem_alloc(c->pool, (size_t)(m->nf + 1) * sizeof *md);
    int nsn = 0, nsd = 0, nmn = 0, nmd = 0;
    for (int i = 0; i < m->nf; i++) {
        int scalar = m->f[i].base->shape.rank == 0;
        if (m->f[i].exp > 0 && scalar)
            sn[nsn++] = m->f[i];
        else if (m->f[i].exp > 0)
            mn[nmn++] = m->f[i];
        else if (scalar)
            sd[nsd++] = m->f[i];
        else
            md[nmd++] = m->f[i];
    }
    mpq_ptr q = term_table_scratch(c->tab);
    *negative = mpq_sgn(m->coef->value) < 0;
    mpz_abs(mpq_numref(q), mpq_numref(m->coef->value));
    mpz_set_ui(mpq_denref(q), 1);
    const term *num = term_const(c->tab, q);
    mpz_set(mpq_numref(q), mpq_denref(m->coef->value));
    const term *den = term_const(c->tab, q);
    const term *snum = product(c, sn, nsn), *sden = product(c, sd, nsd);
    if (!canon_is_one(num) || (snum == NULL && sden != NULL))
        snum = snum == NULL ? num : canon_make(c, OP_MUL, 0, 0, num, snum);
    if (!canon_is_one(den))
        sden = sden == NULL ? den : canon_make(c, OP_MUL, 0, 0, den, sden);
    /* the gradient a formula carries first: W2.T @ dZ2 * (Z1 > 0) */
    for (int i = 0, k = 0; i < nmn; i++)
        if (mentions_gradient(mn[i].base)) {
            factor f = mn[i];
            memmove(mn + k + 1, mn + k, (size_t)(i - k) * sizeof *mn);
            mn[k++] = f;
        }
    if (*negative && (snum != NULL || sden != NULL)) { /* -1/m * Y / A2 */
        snum =
            snum == NULL ? term_const_si(c->tab, -1, 1) : canon_make(c, OP_NEG, 0, 0, snum, NULL);
        *negative = 0;
    }
    const term *scalar = quotient(c, snum, sden);
    const term *t = times(c, scalar, product(c, mn, nmn));
    if (*negative && nmd > 0) { /* -Y / A2 */
        t = canon_make(c, OP_NEG, 0, 0, t != NULL ? t : term_const_si(c->tab, 1, 1), NULL);
        *negative = 0;
    }
    if (nmd > 0)
        t = quotient(c, t, product(c, md, nmd));
    return t != NULL ? t : term_const_si(c->tab, 1, 1);
}

static const term *pretty_poly(canon *c, const poly *p);

/* T without the minus it starts with, when it starts with a negative
   constant (-2/m * x, -1/m * Y / A2): what a sum subtracts; NULL otherwise. */
static const term *
without_leading_minus(canon *c, const term *t)
{
    if (t->op == OP_CONST && mpq_sgn(t->value) < 0) {
        mpq_ptr q = term_table_scratch(c->tab);
        mpq_neg(q, t->value);
        return term_const(c->tab, q);
    }
    if (t->op == OP_DIV && t->args[0]->op == OP_CONST && mpq_cmp_si(t->args[0]->value, -1, 1) == 0)
        return canon_make(c, OP_DIV, 0, 0, term_const_si(c->tab, 1, 1), t->args[1]);
    if (t->op != OP_MUL && t->op != OP_DIV && t->op != OP_MATMUL)
        return NULL;
    const term *first = without_leading_minus(c, t->args[0]);
    return first != NULL ? canon_make(c, t->op, 0, 0, first, t->args[1]) : NULL;
}

/* T + X, or T - Y where X is -Y written with a leading minus. */
static const term *
plus(canon *c, const term *t, const term *x)
{
    if (t == NULL)
        return x;
    const term *y = without_leading_minus(c, x);
    return y != NULL ? canon_make(c, OP_ADD, 0, 0, t, canon_make(c, OP_NEG, 0, 0, y, NULL))
                     : canon_make(c, OP_ADD, 0, 0, t, x);
}

/* PARTS added up, the positive ones first and the negative ones
   subtracted: a negation, or a quotient of a negation, counts as negative. */
static const term *
positive_first(canon *c, const term **parts, int n)
{
    const term *t = NULL;
    for (int pass = 0; pass < 2; pass++)
        for (int i = 0; i < n; i++) {
            const term *x = parts[i];
            int negative = x->op == OP_NEG || (x->op == OP_DIV && x->args[0]->op == OP_NEG);
            if (negative != pass)
                continue;
            if (negative)
                x = x->op == OP_NEG ? x->args[0]
                                    : canon_make(c, OP_DIV, 0, 0, x->args[0]->args[0], x->args[1]);
            if (t == NULL)
                t = negative ? canon_make(c, OP_NEG, 0, 0, x, NULL) : x;
            else if (negative)
                t = canon_make(c, OP_ADD, 0, 0, t, canon_make(c, OP_NEG, 0, 0, x, NULL));
            else
                t = plus(c, t, x);
        }
    return t;
}

/* The monomials of P with the same denominator (the same factors at
   negative powers) over it: (1 - Y) / (1 - A2) - Y / A2. Returns NULL when
   no two monomials share a denominator. */
static const term *
pretty_by_denominator(canon *c, const poly *p)
{
    const term **den = mem_alloc(c->pool, (size_t)p->n * sizeof *den);
    int shared = 0;
    for (int i = 0; i < p->n; i++) {
        mono d = {term_const_si(c->tab, 1, 1),
                  mem_alloc(c->pool, (size_t)(p->m[i].nf + 1) * sizeof(factor)), 0};
        for (int k = 0; k < p->m[i].nf; k++)
            if (p->m[i].f[k].exp < 0 && p->m[i].f[k].base->shape.rank > 0)
                d.f[d.nf++] = p->m[i].f[k];
        den[i] = d.nf > 0 ? canon_mono_key(c, &d) : NULL;
        for (int k = 0; k < i; k++)
            shared |= den[i] != NULL && den[k] == den[i];
    }
    if (!shared)
        return NULL;
    poly groups;
    canon_poly_init(&groups, &p->shape);
    char *used = mem_zalloc(c->pool, (size_t)p->n);
    const term **parts = mem_alloc(c->pool, (size_t)p->n * sizeof *parts);
    int nparts = 0;
    for (int i = 0; i < p->n; i++) {
        if (used[i])
            continue;
        poly num;
        canon_poly_init(&num, &p->shape);
        mono inverse = {term_const_si(c->tab, 1, 1), NULL, 0};
        poly dpoly;
        if (den[i] != NULL) {
            canon_decompose(c, den[i], &dpoly);
            inverse = dpoly.m[0];
            for (int k = 0; k < inverse.nf; k++)
                inverse.f[k].exp = -inverse.f[k].exp;
        }
        for (int k = i; k < p->n; k++)
            if (!used[k] && den[k] == den[i]) {
                used[k] = 1;
                mono m = canon_mono_mul(c, &p->m[k], &inverse);
                canon_poly_push(c, &num, &m);
            }
        canon_poly_collect(c, &num);
        const term *part = pretty_poly(c, &num);
        if (den[i] != NULL) {
            for (int k = 0; k < inverse.nf; k++)
                inverse.f[k].exp = -inverse.f[k].exp;
            part = quotient(c, part, product(c, inverse.f, inverse.nf));
        }
        parts[nparts++] = part;
    }
    return positive_first(c, parts, nparts);
}

/* The monomials of P as a sum, positive ones first. */
static const term *
pretty_sum(canon *c, const poly *p)
{
    const term *grouped = pretty_by_denominator(c, p);
    if (grouped != NULL)
        return grouped;
    const term *t = NULL;
    for (int pass = 0; pass < 2; pass++)
        for (int i = 0; i < p->n; i++) {
            int negative;
            const term *m = pretty_mono(c, &p->m[i], &negative);
            const term *whole = m; /* -Y / A2, as it may start the sum */
            if (!negative && m->op == OP_DIV && m->args[0]->op == OP_NEG) {
                negative = 1; /* subtracted after the positive terms: a - Y / A2 */
                m = canon_make(c, OP_DIV, 0, 0, m->args[0]->args[0], m->args[1]);
            }
            if (negative != pass)
                continue;
            if (t == NULL)
                t = whole != m ? whole : negative ? canon_make(c, OP_NEG, 0, 0, m, NULL) : m;
            else if (negative)
                t = canon_make(c, OP_ADD, 0, 0, t, canon_make(c, OP_NEG, 0, 0, m, NULL));
            else
                t = plus(c, t, m);
        }
    return t;
}

static const term *
pretty_poly(canon *c, const poly *p)
{
    if (p->n == 0)
        return term_const_si(c->tab, 0, 1);
    if (p->n == 1) {
        int negative;
        const term *m = pretty_mono(c, &p->m[0], &negative);
        return negative ? canon_make(c, OP_NEG, 0, 0, m, NULL) : m;
    }
    /* take out the common factors and the coefficients' content */
    mono g;
    poly s;
    canon_poly_content(c, p, &g, &s);
    g.coef = coefficient_content(c, p);
    poly rest;
    canon_poly_divide(c, &rest, p, &g);
    const term *sum = pretty_sum(c, &rest);
    /* a common denominator of matrices stays under the sum, as a fraction
       is written: 1/m * (1 - Y) / (1 - A2), not 1/m / (1 - A2) * (1 - Y) */
    factor *den = mem_alloc(c->pool, (size_t)(g.nf + 1) * sizeof *den);
    int nden = 0, k = 0;
    for (int i = 0; i < g.nf; i++)
        if (g.f[i].exp < 0 && g.f[i].base->shape.rank > 0)
            den[nden++] = g.f[i];
        else
            g.f[k++] = g.f[i];
    g.nf = k;
    const term *t = sum;
    if (g.nf > 0 || !canon_is_one(g.coef)) {
        int negative;
        t = canon_make(c, OP_MUL, 0, 0, pretty_mono(c, &g, &negative), sum);
    }
    return nden > 0 ? quotient(c, t, product(c, den, nden)) : t;
}

/* The entry of T when T is one column (AXIS 1) or row (AXIS 0) repeated
   along AXIS by a broadcast, else NULL. */
static const term *
repeated_along(const term *t, int axis)
{
    const term *entry = t;
    while (entry->op == OP_BROADCAST && entry->aux < 0)
        entry = entry->args[0];
    if (entry == t || entry->shape.rank != 2 || t->shape.rank != 2)
        return NULL;
    dim one = dim_literal(1);
    if (!dim_equal(entry->shape.d[axis], one) || dim_equal(t->shape.d[axis], one) ||
        !dim_equal(entry->shape.d[1 - axis], t->shape.d[1 - axis]))
        return NULL;
    return entry;
}

/* A matrix product T with an operand repeated along the inner axis, which
   no notation broadcasts: s repeated over m columns, times R, is
   s @ sum(R, axis=0, keepdims=True); L times r repeated over m rows is
   sum(L, axis=1, keepdims=True) @ r. T itself otherwise. */
static const term *
unrepeat_matmul(canon *c, const term *t)
{
    char why[SHAPE_WHY];
    const term *args[2] = {t->args[0], t->args[1]};
    const term *left = repeated_along(t->args[0], 1), *right = repeated_along(t->args[1], 0);
    if (left != NULL) {
        args[0] = left;
        args[1] = term_make(c->tab, OP_SUM, 0, 1, &t->args[1], 1, why);
    } else if (right != NULL) {
        args[0] = term_make(c->tab, OP_SUM, 1, 1, &t->args[0], 1, why);
        args[1] = right;
    } else
        return t;
    if (args[0] == NULL || args[1] == NULL)
        return t;
    const term *u = term_make(c->tab, OP_MATMUL, 0, 0, args, 2, why);
    return u != NULL ? u : t;
}

/* N with every sum whose operand is one entry repeated along a summed axis
   (dvar * mu of [n_h, 1] summed along the m columns it was broadcast to)
   written as the count times the entry, m * (dvar * mu) (summed over the
   axes the entry still spans). Left as a bare sum, the repetition would be
   lost in print: NumPy and the language broadcast where shapes meet, never
   inside a sum. A matrix product over such an operand is rewritten too
   (unrepeat_matmul). MEMO: what each subterm became. */
static const term *
unrepeat(canon *c, const term *n, term_map *memo)
{
    if (n->nargs == 0)
        return n;
    const term *done = term_map_get(memo, n);
    if (done != NULL)
        return done;
    const term *args[2];
    for (unsigned i = 0; i < n->nargs; i++)
        args[i] = unrepeat(c, n->args[i], memo);
    char why[SHAPE_WHY];
    const term *t = term_rebuild(c->tab, n, args, why);
    if (t == NULL)
        t = n;
    const term *whole = t->op == OP_SUM ? t->args[0] : NULL, *entry = whole;
    while (entry != NULL && entry->op == OP_BROADCAST && entry->aux < 0)
        entry = entry->args[0];
    const term *count = NULL;
    for (int k = 0;
         entry != whole && entry->shape.rank == whole->shape.rank && k < whole->shape.rank; k++) {
        dim d = whole->shape.d[k];
        if ((t->aux >= 0 && t->aux != k) || dim_equal(entry->shape.d[k], d))
            continue;
        const term *size =
            d.sym != NULL ? term_symbol(c->tab, d.sym) : term_const_si(c->tab, d.n, 1);
        count = count == NULL ? size : canon_make(c, OP_MUL, 0, 0, count, size);
    }
    if (count != NULL) {
        /* a keepdims sum along the repeated axis is the entry itself */
        const term *sum = t->aux >= 0 && t->keepdims
                              ? entry
                              : term_make(c->tab, OP_SUM, t->aux, t->keepdims, &entry, 1, why);
        if (sum != NULL)
            t = canon_make(c, OP_MUL, 0, 0, count, sum);
    }
    if (t->op == OP_MATMUL)
        t = unrepeat_matmul(c, t);
    term_map_put(memo, n, t);
    return t;
}

static const term *
pretty(canon *c, const term *n)
{
    if (n->op == OP_SYM || n->op == OP_CONST)
        return n;

    if (n->op == OP_ADD || n->op == OP_MUL || n->op == OP_POW ||
        (n->op == OP_BROADCAST && n->aux < 0)) {
        poly p;
        canon_decompose(c, n, &p);
        if (n->op != OP_POW || p.n != 1 || p.m[0].nf != 1 || p.m[0].f[0].base != n)
            return pretty_poly(c, &p);
    }
    const term *args[2];
    for (unsigned i = 0; i < n->nargs; i++)
        args[i] = pretty(c, n->args[i]);
    char why[SHAPE_WHY];
    const term *t = term_rebuild(c->tab, n, args, why);
    return t != NULL ? t : n;
}

const term *
pretty_form(term_table *tab, const term *n)
{
    canon *c = canon_new(tab);
    const term *plain = unrepeat(c, n, term_map_new(c->pool));
    if (plain != n)
        plain = canon_normal_form(tab, plain);
    return pretty(c, plain);
}

/* Whether T is a part of a step that arithmetic alone rewrites (see
   pretty_step). */
static int
arithmetic(const term *t)
{
    switch (t->op) {
    case OP_ADD:
    case OP_NEG:
        return 1;
    case OP_MUL: /* by a constant, or by one broadcast to a shape */
        for (int k = 0; k < 2; k++) {
            const term *a = t->args[k];
            while (a->op == OP_BROADCAST && a->aux < 0)
                a = a->args[0];
            if (a->op == OP_CONST)
                return 1;
        }
        return 0;
    case OP_POW:
        return t->args[1]->op == OP_CONST && mpq_sgn(t->args[1]->value) < 0;
    default:
        return 0;
    }
}

/* pretty_step of T; MEMO: what each subterm became (a step's term shares
   subterms, as the gradients written into it do). */
static const term *
step(term_table *tab, const term *t, term_map *memo)
{
    if (t->nargs == 0)
        return t;
    const term *done = term_map_get(memo, t);
    if (done != NULL)
        return done;
    const term *r = t;
    if (!arithmetic(t)) {
        const term *args[2];
        for (unsigned i = 0; i < t->nargs; i++)
            args[i] = step(tab, t->args[i], memo);
        char why[SHAPE_WHY];
        r = term_rebuild(tab, t, args, why);
        if (r == NULL)
            r = t;
    }
    /* its operands made readable, T may have become arithmetic: -1 * Y */
    if (arithmetic(r)) {
        /* a scalar where T is [1, 1] is broadcast back, for the operators
           around it (@ takes no scalar) */
        const term *p = pretty_form(tab, canon_normal_form(tab, r));
        char why[SHAPE_WHY];
        if (!shape_equal(&p->shape, &t->shape))
            p = term_broadcast(tab, p, &t->shape, -1, why);
        if (p != NULL)
            r = p;
    }
    term_map_put(memo, t, r);
    return r;
}

const term *
pretty_step(term_table *tab, const term *t)
{
    return step(tab, t, term_map_new(term_table_pool(tab)));
}
