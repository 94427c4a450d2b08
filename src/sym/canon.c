/* canon.c: normal forms of terms; see canon.h. */
#include "sym/canon.h"

#include <stdlib.h>
#include <string.h>

#include "sym/canon_poly.h"

/* ---- order ---- */

int
canon_compare(const term *a, const term *b)
{
    if (a == b)
        return 0;
    if (a->op != b->op)
        return a->op < b->op ? -1 : 1;
    if (a->op == OP_CONST)
        return mpq_cmp(a->value, b->value);
    if (a->op == OP_SYM) {
        if (a->sym->kind != b->sym->kind)
            return a->sym->kind < b->sym->kind ? -1 : 1;
        int c = strcmp(a->sym->name, b->sym->name);
        if (c != 0)
            return c;
        /* the working steps of one claim share its name */
        return a->sym->version < b->sym->version ? -1 : a->sym->version > b->sym->version;
    }
    if (a->aux != b->aux)
        return a->aux < b->aux ? -1 : 1;
    if (a->keepdims != b->keepdims)
        return a->keepdims < b->keepdims ? -1 : 1;
    if (a->nargs != b->nargs)
        return a->nargs < b->nargs ? -1 : 1;
    for (unsigned i = 0; i < a->nargs; i++) {
        int c = canon_compare(a->args[i], b->args[i]);
        if (c != 0)
            return c;
    }
    if (a->shape.rank != b->shape.rank) /* broadcasts to different shapes */
        return a->shape.rank < b->shape.rank ? -1 : 1;
    for (int i = 0; i < a->shape.rank; i++) {
        dim x = a->shape.d[i], y = b->shape.d[i];
        if (x.sym != y.sym)
            return x.sym == NULL ? -1 : y.sym == NULL ? 1 : strcmp(x.sym->name, y.sym->name);
        if (x.n != y.n)
            return x.n < y.n ? -1 : 1;
    }
    return 0;
}

/* ---- constants ---- */

static const term *
cq(canon *c, long num, unsigned long den)
{
    return term_const_si(c->tab, num, den);
}

static const term *
cq_mul(canon *c, const term *a, const term *b)
{
    mpq_ptr q = term_table_scratch(c->tab);
    mpq_mul(q, a->value, b->value);
    return term_const(c->tab, q);
}

static const term *
cq_add(canon *c, const term *a, const term *b)
{
    mpq_ptr q = term_table_scratch(c->tab);
    mpq_add(q, a->value, b->value);
    return term_const(c->tab, q);
}

static const term *
cq_inv(canon *c, const term *a)
{
    mpq_ptr q = term_table_scratch(c->tab);
    mpq_inv(q, a->value);
    return term_const(c->tab, q);
}

/* A^K for an integer K (A nonzero when K < 0). */
static const term *
cq_pow(canon *c, const term *a, long k)
{
    mpq_ptr q = term_table_scratch(c->tab);
    unsigned long e = (unsigned long)(k < 0 ? -k : k);
    mpz_pow_ui(mpq_numref(q), mpq_numref(a->value), e);
    mpz_pow_ui(mpq_denref(q), mpq_denref(a->value), e);
    if (k < 0)
        mpq_inv(q, q);
    return term_const(c->tab, q);
}

static int
is_zero(const term *k)
{
    return k->op == OP_CONST && mpq_sgn(k->value) == 0;
}

int
canon_is_one(const term *k)
{
    return k->op == OP_CONST && mpq_cmp_si(k->value, 1, 1) == 0;
}

/* Whether the constant K is an integer that fits a long. */
static int
small_integer(const term *k, long *out)
{
    if (k->op != OP_CONST || mpz_cmp_ui(mpq_denref(k->value), 1) != 0 ||
        !mpz_fits_slong_p(mpq_numref(k->value)))
        return 0;
    *out = mpz_get_si(mpq_numref(k->value));
    return 1;
}

/* ---- building terms ---- */

const term *
canon_make(canon *c, term_op op, int aux, int keepdims, const term *a, const term *b)
{
    const term *args[2] = {a, b};
    char why[SHAPE_WHY];
    const term *t = term_make(c->tab, op, aux, keepdims, args, b ? 2 : 1, why);
    return t;
}

/* ---- polynomials ---- */

void
canon_poly_init(poly *p, const shape *s)
{
    p->m = NULL;
    p->n = p->cap = 0;
    p->shape = *s;
}

void
canon_poly_push(canon *c, poly *p, const mono *m)
{
    if (is_zero(m->coef))
        return;
    if (p->n == p->cap) {
        p->cap = p->cap ? 2 * p->cap : 4;
        p->m = mem_realloc(c->pool, p->m, (size_t)p->cap * sizeof *p->m);
    }
    p->m[p->n++] = *m;
}

static mono
mono_const(const term *k)
{
    mono m = {k, NULL, 0};
    return m;
}

static int
compare_factors(const void *x, const void *y)
{
    const factor *a = x, *b = y;
    return canon_compare(a->base, b->base);
}

/* Sort F[0..n), merge equal bases, drop zero exponents; returns the count. */
static int
normalise_factors(factor *f, int n)
{
    qsort(f, (size_t)n, sizeof *f, compare_factors);
    int out = 0;
    for (int i = 0; i < n; i++) {
        if (out > 0 && f[out - 1].base == f[i].base)
            f[out - 1].exp += f[i].exp;
        else
            f[out++] = f[i];
        if (f[out - 1].exp == 0)
            out--;
    }
    return out;
}

mono
canon_mono_mul(canon *c, const mono *a, const mono *b)
{
    mono m;
    m.coef = cq_mul(c, a->coef, b->coef);
    m.f = mem_alloc(c->pool, (size_t)(a->nf + b->nf + 1) * sizeof *m.f);
    if (a->nf > 0) /* memcpy from NULL is undefined even for 0 bytes */
        memcpy(m.f, a->f, (size_t)a->nf * sizeof *m.f);
    if (b->nf > 0)
        memcpy(m.f + a->nf, b->f, (size_t)b->nf * sizeof *m.f);
    m.nf = normalise_factors(m.f, a->nf + b->nf);
    return m;
}

static mono
mono_factor(canon *c, const term *base, long exp)
{
    mono m = {cq(c, 1, 1), mem_alloc(c->pool, sizeof(factor)), 1};
    m.f[0].base = base;
    m.f[0].exp = exp;
    return m;
}

static const term *normal_term(canon *c, const poly *p);

const term *
canon_mono_key(canon *c, const mono *m)
{
    const term *t = NULL;
    for (int i = 0; i < m->nf; i++) {
        const term *f = m->f[i].exp == 1
                            ? m->f[i].base
                            : canon_make(c, OP_POW, 0, 0, m->f[i].base, cq(c, m->f[i].exp, 1));
        t = t == NULL ? f : canon_make(c, OP_MUL, 0, 0, t, f);
    }
    return t != NULL ? t : cq(c, 1, 1);
}

typedef struct keyed {
    const term *key;
    mono m;
} keyed;

static int
compare_keyed(const void *x, const void *y)
{
    const keyed *a = x, *b = y;
    return canon_compare(a->key, b->key);
}

void
canon_poly_collect(canon *c, poly *p)
{
    if (p->n == 0)
        return;
    keyed *k = mem_alloc(c->pool, (size_t)p->n * sizeof *k);
    for (int i = 0; i < p->n; i++) {
        k[i].key = canon_mono_key(c, &p->m[i]);
        k[i].m = p->m[i];
    }
    qsort(k, (size_t)p->n, sizeof *k, compare_keyed);
    int out = 0;
    for (int i = 0; i < p->n; i++) {
        if (out > 0 && k[out - 1].key == k[i].key)
            k[out - 1].m.coef = cq_add(c, k[out - 1].m.coef, k[i].m.coef);
        else
            k[out++] = k[i];
        if (is_zero(k[out - 1].m.coef))
            out--;
    }
    for (int i = 0; i < out; i++)
        p->m[i] = k[i].m;
    p->n = out;
    mem_release(c->pool, k);
}

/* Whether the monomial has a factor base that is a sum raised to a
   positive power (which the normal form expands). */
static int
expandable(const mono *m, int *which)
{
    for (int i = 0; i < m->nf; i++)
        if (m->f[i].base->op == OP_ADD && m->f[i].exp > 0) {
            *which = i;
            return 1;
        }
    return 0;
}

static void poly_mul_into(canon *c, poly *out, const poly *a, const poly *b);

/* Push M into OUT, expanding sums raised to positive powers. */
static void
push_expanded(canon *c, poly *out, const mono *m)
{
    int i;
    if (!expandable(m, &i)) {
        canon_poly_push(c, out, m);
        return;
    }
    mono rest = *m;
    rest.f = mem_alloc(c->pool, (size_t)m->nf * sizeof *rest.f);
    memcpy(rest.f, m->f, (size_t)m->nf * sizeof *rest.f);
    const term *base = m->f[i].base;
    if (--rest.f[i].exp == 0) {
        memmove(rest.f + i, rest.f + i + 1, (size_t)(m->nf - i - 1) * sizeof *rest.f);
        rest.nf--;
    }
    poly s, r, prod;
    canon_decompose(c, base, &s);
    canon_poly_init(&r, &out->shape);
    canon_poly_push(c, &r, &rest);
    canon_poly_init(&prod, &out->shape);
    poly_mul_into(c, &prod, &r, &s);
    for (int k = 0; k < prod.n; k++)
        push_expanded(c, out, &prod.m[k]);
}

void
canon_poly_divide(canon *c, poly *out, const poly *p, const mono *g)
{
    mono inv = {cq_inv(c, g->coef), mem_alloc(c->pool, (size_t)(g->nf + 1) * sizeof(factor)),
                g->nf};
    for (int i = 0; i < g->nf; i++) {
        inv.f[i] = g->f[i];
        inv.f[i].exp = -g->f[i].exp;
    }
    canon_poly_init(out, &p->shape);
    for (int k = 0; k < p->n; k++) {
        mono q = canon_mono_mul(c, &p->m[k], &inv);
        canon_poly_push(c, out, &q);
    }
    canon_poly_collect(c, out);
}

void
canon_poly_content(canon *c, const poly *p, mono *g, poly *s)
{
    g->coef = p->m[0].coef;
    g->f = mem_alloc(c->pool, (size_t)(p->m[0].nf + 1) * sizeof *g->f);
    g->nf = 0;
    for (int i = 0; i < p->m[0].nf; i++) {
        factor f = p->m[0].f[i];
        int everywhere = 1;
        for (int k = 1; k < p->n && everywhere; k++) {
            int found = 0;
            for (int j = 0; j < p->m[k].nf; j++)
                if (p->m[k].f[j].base == f.base) {
                    found = 1;
                    if ((f.exp > 0) != (p->m[k].f[j].exp > 0))
                        found = 0;
                    else if (f.exp > 0 ? p->m[k].f[j].exp < f.exp : p->m[k].f[j].exp > f.exp)
                        f.exp = p->m[k].f[j].exp;
                }
            everywhere = found;
        }
        if (everywhere)
            g->f[g->nf++] = f;
    }
    canon_poly_divide(c, s, p, g);
}

/* The base a sum P stands under when it is divided by or not expanded:
   its content-free normal form, and the content in *G. */
static const term *
sum_base(canon *c, const poly *p, mono *g)
{
    poly s;
    canon_poly_content(c, p, g, &s);
    return normal_term(c, &s);
}

/* The power of M's factor with base BASE (0 if none). */
static long
power_of(const mono *m, const term *base)
{
    for (int i = 0; i < m->nf; i++)
        if (m->f[i].base == base)
            return m->f[i].exp;
    return 0;
}

/* OUT += A * B. When B is a sum whose base A's monomial divides by, the sum
   cancels whole instead of being distributed. */
static void
poly_mul_into(canon *c, poly *out, const poly *a, const poly *b)
{
    if (a->n > 1 && b->n == 1) {
        const poly *t = a;
        a = b;
        b = t;
    }
    mono g = {NULL, NULL, 0};
    const term *bbase = b->n > 1 ? sum_base(c, b, &g) : NULL;
    for (int i = 0; i < a->n; i++) {
        if (bbase != NULL && power_of(&a->m[i], bbase) < 0) {
            mono with = canon_mono_mul(c, &a->m[i], &g);
            mono s = mono_factor(c, bbase, 1);
            mono m = canon_mono_mul(c, &with, &s);
            push_expanded(c, out, &m);
            continue;
        }
        for (int k = 0; k < b->n; k++) {
            mono m = canon_mono_mul(c, &a->m[i], &b->m[k]);
            push_expanded(c, out, &m);
        }
    }
}

static void
poly_mul(canon *c, poly *out, const poly *a, const poly *b, const shape *s)
{
    canon_poly_init(out, s);
    poly_mul_into(c, out, a, b);
    canon_poly_collect(c, out);
}

static void
poly_scale(canon *c, poly *p, const mono *k)
{
    for (int i = 0; i < p->n; i++)
        p->m[i] = canon_mono_mul(c, &p->m[i], k);
    canon_poly_collect(c, p);
}

/* P^K for an integer K. */
static void
poly_pow(canon *c, poly *out, const poly *p, long k, const shape *s)
{
    canon_poly_init(out, s);
    if (k == 0) {
        mono one = mono_const(cq(c, 1, 1));
        canon_poly_push(c, out, &one);
        return;
    }
    if (p->n == 0) {
        if (k < 0) { /* 1 / 0: keep it written */
            mono m = mono_factor(c, cq(c, 0, 1), k);
            canon_poly_push(c, out, &m);
        }
        return;
    }
    if (p->n == 1) {
        mono m = {cq_pow(c, p->m[0].coef, k),
                  mem_alloc(c->pool, (size_t)(p->m[0].nf + 1) * sizeof(factor)), p->m[0].nf};
        for (int i = 0; i < m.nf; i++) {
            m.f[i] = p->m[0].f[i];
            m.f[i].exp *= k;
        }
        push_expanded(c, out, &m);
        return;
    }
    if (k > 0 && k <= 8) {
        poly acc = *p;
        for (long i = 1; i < k; i++) {
            poly next;
            poly_mul(c, &next, &acc, p, s);
            acc = next;
        }
        *out = acc;
        out->shape = *s;
        return;
    }
    mono g;
    const term *base = sum_base(c, p, &g);
    poly gp, gk;
    canon_poly_init(&gp, s);
    canon_poly_push(c, &gp, &g);
    poly_pow(c, &gk, &gp, k, s);
    mono sk = mono_factor(c, base, k);
    canon_poly_init(out, s);
    for (int i = 0; i < gk.n; i++) {
        mono m = canon_mono_mul(c, &gk.m[i], &sk);
        canon_poly_push(c, out, &m);
    }
    canon_poly_collect(c, out);
}

/* ---- from normal terms back to polynomials ---- */

/* The factors of a monomial term (no coefficient) into M. */
static void
collect_factors(canon *c, const term *t, factor **f, int *n, int *cap)
{
    if (t->op == OP_MUL) {
        collect_factors(c, t->args[0], f, n, cap);
        collect_factors(c, t->args[1], f, n, cap);
        return;
    }
    if (*n == *cap) {
        *cap = *cap ? 2 * *cap : 4;
        *f = mem_realloc(c->pool, *f, (size_t)*cap * sizeof **f);
    }
    long k;
    if (t->op == OP_POW && small_integer(t->args[1], &k)) {
        (*f)[*n].base = t->args[0];
        (*f)[*n].exp = k;
    } else {
        (*f)[*n].base = t;
        (*f)[*n].exp = 1;
    }
    (*n)++;
}

static mono
decompose_mono(canon *c, const term *t)
{
    mono m = {cq(c, 1, 1), NULL, 0};
    if (t->op == OP_CONST) {
        m.coef = t;
        return m;
    }
    if (t->op == OP_MUL && t->args[0]->op == OP_CONST) {
        m.coef = t->args[0];
        t = t->args[1];
    }
    int cap = 0;
    collect_factors(c, t, &m.f, &m.nf, &cap);
    return m;
}

/* The products of the sum T pushed onto OUT, left to right. Iterative: a
   normal form's sum chains as many terms as it has (tens of thousands for
   a deep network's gradient written out), more frames than the C stack
   holds. */
static void
decompose_sum(canon *c, const term *t, poly *out)
{
    size_t n = 0, cap = 16;
    const term **todo = mem_alloc(c->pool, cap * sizeof *todo);
    todo[n++] = t;
    while (n > 0) {
        t = todo[--n];
        if (t->op != OP_ADD) {
            mono m = decompose_mono(c, t);
            canon_poly_push(c, out, &m);
            continue;
        }
        if (n + 2 > cap) {
            cap *= 2;
            todo = mem_realloc(c->pool, todo, cap * sizeof *todo);
        }
        todo[n++] = t->args[1]; /* the left argument comes off first */
        todo[n++] = t->args[0];
    }
    mem_release(c->pool, todo);
}

void
canon_decompose(canon *c, const term *n, poly *out)
{
    canon_poly_init(out, &n->shape);
    if (n->op == OP_BROADCAST && n->aux < 0)
        n = n->args[0];
    if (n->op == OP_CONST && mpq_sgn(n->value) == 0)
        return;
    decompose_sum(c, n, out);
}

/* ---- from polynomials to normal terms ---- */

static const term *
mono_term(canon *c, const mono *m)
{
    const term *key = canon_mono_key(c, m);
    if (m->nf == 0)
        return m->coef;
    return canon_is_one(m->coef) ? key : canon_make(c, OP_MUL, 0, 0, m->coef, key);
}

/* P as a normal term: monomials in order, left-nested sums, broadcast to
   P's shape when the monomials alone have a smaller one. */
static const term *
normal_term(canon *c, const poly *p)
{
    const term *t = NULL;
    for (int i = 0; i < p->n; i++) {
        const term *m = mono_term(c, &p->m[i]);
        t = t == NULL ? m : canon_make(c, OP_ADD, 0, 0, t, m);
    }
    if (t == NULL)
        t = cq(c, 0, 1);
    if (!shape_equal(&t->shape, &p->shape)) {
        char why[SHAPE_WHY];
        const term *b = term_broadcast(c->tab, t, &p->shape, -1, why);
        if (b != NULL)
            t = b;
    }
    return t;
}

/* ---- the normal form ---- */

static const term *normal(canon *c, const term *t);

static void
poly_of(canon *c, const term *t, poly *out)
{
    canon_decompose(c, normal(c, t), out);
}

/* The scalar part of M (coefficient and scalar factors) and its matrix part
   as a term of shape S (a product of the other factors, or ones). */
static void
split_scalar(canon *c, const mono *m, const shape *s, mono *scalar, const term **matrix)
{
    mono mat = {cq(c, 1, 1), mem_alloc(c->pool, (size_t)(m->nf + 1) * sizeof(factor)), 0};
    *scalar = (mono){m->coef, mem_alloc(c->pool, (size_t)(m->nf + 1) * sizeof(factor)), 0};
    for (int i = 0; i < m->nf; i++) {
        if (m->f[i].base->shape.rank == 0)
            scalar->f[scalar->nf++] = m->f[i];
        else
            mat.f[mat.nf++] = m->f[i];
    }
    poly p;
    canon_poly_init(&p, s);
    canon_poly_push(c, &p, &mat);
    *matrix = normal_term(c, &p);
}

/* The count of entries along AXIS (-1: all) of shape S, as a monomial. */
static mono
count_along(canon *c, const shape *s, int axis)
{
    mono m = {cq(c, 1, 1), mem_alloc(c->pool, 3 * sizeof(factor)), 0};
    for (int i = 0; i < s->rank; i++) {
        if (axis >= 0 && i != axis)
            continue;
        if (s->d[i].sym == NULL)
            m.coef = cq_mul(c, m.coef, cq(c, s->d[i].n, 1));
        else {
            m.f[m.nf].base = term_symbol(c->tab, s->d[i].sym);
            m.f[m.nf++].exp = 1;
        }
    }
    m.nf = normalise_factors(m.f, m.nf);
    return m;
}

/* Whether M has no factor of rank above 0: a scalar broadcast to S. */
static int
is_scalar_mono(const mono *m)
{
    for (int i = 0; i < m->nf; i++)
        if (m->f[i].base->shape.rank > 0)
            return 0;
    return 1;
}

/* A linear operation OP applied monomial by monomial, scalars pulled out. */
static void
linear(canon *c, const term *t, poly *out)
{
    poly a;
    poly_of(c, t->args[0], &a);
    canon_poly_init(out, &t->shape);
    for (int i = 0; i < a.n; i++) {
        mono scalar;
        const term *matrix;
        if (t->op == OP_SUM && is_scalar_mono(&a.m[i])) {
            /* a scalar summed over shape s: the scalar times the count */
            mono n = count_along(c, &a.shape, t->aux);
            mono m = canon_mono_mul(c, &a.m[i], &n);
            canon_poly_push(c, out, &m);
            continue;
        }
        split_scalar(c, &a.m[i], &a.shape, &scalar, &matrix);
        const term *atom =
            t->op == OP_SUM
                ? canon_make(c, OP_SUM, t->aux, t->keepdims, matrix, NULL)
                : term_broadcast(c->tab, matrix, &t->shape, t->aux, (char[SHAPE_WHY]){0});
        mono f = mono_factor(c, atom, 1);
        mono m = canon_mono_mul(c, &scalar, &f);
        canon_poly_push(c, out, &m);
    }
    canon_poly_collect(c, out);
}

static void
matmul(canon *c, const term *t, poly *out)
{
    poly a, b;
    poly_of(c, t->args[0], &a);
    poly_of(c, t->args[1], &b);
    if (a.shape.rank == 2 && b.shape.rank == 2 && a.shape.d[1].sym == NULL && a.shape.d[1].n == 1) {
        /* over an inner size of 1, [r, 1] @ [1, c] is the outer product:
           NumPy's broadcast product, as a (1, 1) cost's gradient meets it */
        poly_mul(c, out, &a, &b, &t->shape);
        return;
    }
    canon_poly_init(out, &t->shape);
    for (int i = 0; i < a.n; i++)
        for (int k = 0; k < b.n; k++) {
            mono sa, sb;
            const term *ma, *mb;
            split_scalar(c, &a.m[i], &a.shape, &sa, &ma);
            split_scalar(c, &b.m[k], &b.shape, &sb, &mb);
            mono f = mono_factor(c, canon_make(c, OP_MATMUL, 0, 0, ma, mb), 1);
            mono s = canon_mono_mul(c, &sa, &sb);
            mono m = canon_mono_mul(c, &s, &f);
            canon_poly_push(c, out, &m);
        }
    canon_poly_collect(c, out);
}

/* (base^k).T as a polynomial. */
static void
transpose_factor(canon *c, const factor *f, poly *out)
{
    const term *base = f->base;
    shape s;
    shape_transpose(&s, &base->shape);
    poly p;
    if (base->shape.rank < 2) {
        canon_poly_init(&p, &s);
        mono m = mono_factor(c, base, 1);
        canon_poly_push(c, &p, &m);
    } else if (base->op == OP_TRANSPOSE) {
        poly_of(c, base->args[0], &p);
    } else if (base->op == OP_ADD) {
        poly_of(c, canon_make(c, OP_TRANSPOSE, 0, 0, base, NULL), &p);
    } else {
        canon_poly_init(&p, &s);
        mono m = mono_factor(c, canon_make(c, OP_TRANSPOSE, 0, 0, base, NULL), 1);
        canon_poly_push(c, &p, &m);
    }
    poly_pow(c, out, &p, f->exp, &s);
}

static void
transpose(canon *c, const term *t, poly *out)
{
    poly a;
    poly_of(c, t->args[0], &a);
    if (a.shape.rank < 2) {
        *out = a;
        return;
    }
    canon_poly_init(out, &t->shape);
    for (int i = 0; i < a.n; i++) {
        poly acc;
        canon_poly_init(&acc, &t->shape);
        mono k = mono_const(a.m[i].coef);
        canon_poly_push(c, &acc, &k);
        for (int j = 0; j < a.m[i].nf; j++) {
            poly f, next;
            transpose_factor(c, &a.m[i].f[j], &f);
            poly_mul(c, &next, &acc, &f, &t->shape);
            acc = next;
        }
        for (int j = 0; j < acc.n; j++)
            canon_poly_push(c, out, &acc.m[j]);
    }
    canon_poly_collect(c, out);
}

/* An operation the normal form does not see into: its arguments in normal
   form, the whole an atom. */
static void
atom(canon *c, const term *t, poly *out)
{
    const term *args[2];
    for (unsigned i = 0; i < t->nargs; i++)
        args[i] = normal(c, t->args[i]);
    char why[SHAPE_WHY];
    const term *a = term_rebuild(c->tab, t, args, why);
    canon_poly_init(out, &t->shape);
    mono m = mono_factor(c, a != NULL ? a : t, 1);
    canon_poly_push(c, out, &m);
}

static void
to_poly(canon *c, const term *t, poly *out)
{
    poly a, b;
    long k;
    switch (t->op) {
    case OP_CONST: {
        canon_poly_init(out, &t->shape);
        mono m = mono_const(t);
        canon_poly_push(c, out, &m);
        return;
    }
    case OP_SYM: {
        canon_poly_init(out, &t->shape);
        mono m = mono_factor(c, t, 1);
        canon_poly_push(c, out, &m);
        return;
    }
    case OP_ADD:
        poly_of(c, t->args[0], &a);
        poly_of(c, t->args[1], &b);
        canon_poly_init(out, &t->shape);
        for (int i = 0; i < a.n; i++)
            canon_poly_push(c, out, &a.m[i]);
        for (int i = 0; i < b.n; i++)
            canon_poly_push(c, out, &b.m[i]);
        canon_poly_collect(c, out);
        return;
    case OP_NEG: {
        poly_of(c, t->args[0], out);
        mono minus = mono_const(cq(c, -1, 1));
        poly_scale(c, out, &minus);
        out->shape = t->shape;
        return;
    }
    case OP_MUL:
        poly_of(c, t->args[0], &a);
        poly_of(c, t->args[1], &b);
        poly_mul(c, out, &a, &b, &t->shape);
        return;
    case OP_DIV: {
        poly inv;
        poly_of(c, t->args[0], &a);
        poly_of(c, t->args[1], &b);
        poly_pow(c, &inv, &b, -1, &b.shape);
        poly_mul(c, out, &a, &inv, &t->shape);
        return;
    }
    case OP_POW:
        if (small_integer(normal(c, t->args[1]), &k) && k >= -64 && k <= 64) {
            poly_of(c, t->args[0], &a);
            poly_pow(c, out, &a, k, &t->shape);
            canon_poly_collect(c, out);
            return;
        }
        atom(c, t, out);
        return;
    case OP_MATMUL:
        matmul(c, t, out);
        return;
    case OP_TRANSPOSE:
        transpose(c, t, out);
        return;
    case OP_SUM:
        linear(c, t, out);
        return;
    case OP_BROADCAST:
        if (t->aux < 0) {
            poly_of(c, t->args[0], out);
            out->shape = t->shape;
            return;
        }
        linear(c, t, out);
        return;
    default:
        atom(c, t, out);
        return;
    }
}

static const term *
normal(canon *c, const term *t)
{
    const term *known = term_map_get(c->memo, t);
    if (known != NULL)
        return known;
    poly p;
    to_poly(c, t, &p);
    const term *n = normal_term(c, &p);
    term_map_put(c->memo, t, n);
    term_map_put(c->memo, n, n);
    return n;
}

canon *
canon_new(term_table *tab)
{
    /* one memo per table would be better kept by the caller; a fresh one
       per call keeps this module stateless */
    canon *c = mem_zalloc(term_table_pool(tab), sizeof *c);
    c->tab = tab;
    c->pool = term_table_pool(tab);
    c->memo = term_map_new(c->pool);
    return c;
}

const term *
canon_normal_form(term_table *tab, const term *t)
{
    canon *c = canon_new(tab);
    return normal(c, t);
}
