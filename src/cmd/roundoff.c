/* roundoff.c: the error IEEE double adds to each formulation, against certified references; see
 * roundoff.h. */
#include "cmd/roundoff.h"

#include <jansson.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#ifdef _OPENMP
#include <omp.h>
#endif

#include "lang/print.h"
#include "num/sample.h"

/* ---------------------------------------------------------------- regimes */

static const char *const regime_names[ROUNDOFF_NREGIMES] = {"typical", "saturated", "tiny",
                                                            "large-m", "pow2-m",    "odd-m"};

int
roundoff_regime_named(const char *name, roundoff_regime *out)
{
    for (int r = 0; r < ROUNDOFF_NREGIMES; r++)
        if (strcmp(regime_names[r], name) == 0) {
            *out = (roundoff_regime)r;
            return 1;
        }
    return 0;
}

const char *
roundoff_regime_name(roundoff_regime r)
{
    return regime_names[r];
}

/* ---------------------------------------------------------------- the plan */

/* How a formulation is computed: by the double evaluator from a term, or
   directly in C (forms the language has no operation for: log1p, a
   softmax without the max shift). */
typedef enum form_kind {
    FORM_TERM,
    FORM_SOFTPLUS_BCE,     /* the sigmoid cross-entropy through softplus and log1p */
    FORM_NAIVE_SOFTMAX_CE, /* the softmax cross-entropy, softmax without the shift */
    FORM_LOG_SOFTMAX_CE,   /* the softmax cross-entropy through a shifted log-sum-exp */
    FORM_NAIVE_SOFTMAX,    /* the softmax output, exp(z) / sum(exp(z)) */
    FORM_PER_EXAMPLE,      /* a param gradient summed example by example */
} form_kind;

typedef struct form {
    form_kind kind;
    size_t q; /* the quantity it computes */
    const char *label, *formula;
    const term *t; /* FORM_TERM */
    /* FORM_PER_EXAMPLE: the deferred gradient is 1/m * dz @ h.T (or, h
       NULL, 1/m * sum(dz, axis=1)); each_step: /m applied to each example's
       contribution instead of to the sum */
    const term *dz, *h;
    int each_step;
} form;

typedef struct quantity {
    const char *name;
    const term *ref; /* what the reference evaluates in MPFR */
} quantity;

/* Everything a sample needs, built once before the samples run (terms are
   made only here: the term table is not shared across threads). */
typedef struct plan {
    const derivation *d;
    const model *m;
    term_table *tab;
    mem_pool *pool;
    quantity q[ROUNDOFF_MAX_QUANTITIES];
    size_t nq;
    form f[ROUNDOFF_MAX_FORMS];
    size_t nf;
    const symbol **drawn; /* inputs, labels, params */
    const term **drawn_t;
    size_t ndrawn;
    const symbol *out_act;  /* the sigmoid or softmax output the loss uses */
    const term *out_pre;    /* its argument */
    const term *label_t;    /* the label the loss uses */
    const symbol *out_bias; /* the output layer's bias, or NULL */
    const symbol *out_w[8]; /* its other params */
    size_t nout_w;
    const char *why_no_naive; /* NULL when the naive chain was built */
    const char *over;         /* the cap exceeded (NULL: none): the plan is refused */
} plan;

static const char *
term_text(mem_pool *pool, const term *t)
{
    text s;
    text_init(&s, pool);
    print_term(&s, t);
    return text_str(&s);
}

/* Gradient names and claims T uses, directly or through other names, each
   once. */
static void
collect_names(const term *t, const symbol **seen, size_t *n, size_t cap)
{
    if (t->op == OP_SYM) {
        const symbol *s = t->sym;
        if ((s->kind != SYM_GRAD && s->kind != SYM_CLAIM) || s->definition == NULL)
            return;
        for (size_t k = 0; k < *n; k++)
            if (seen[k] == s)
                return;
        if (*n == cap)
            return;
        seen[(*n)++] = s;
        collect_names(s->definition, seen, n, cap);
        return;
    }
    for (unsigned k = 0; k < t->nargs; k++)
        collect_names(t->args[k], seen, n, cap);
}

/* T printed, then every gradient name or claim it uses with its formula:
   "1/m * dZ2 @ A1.T; dZ2 = A2 - Y". */
static const char *
formula_text(plan *p, const term *t)
{
    const symbol *seen[32];
    size_t n = 0;
    collect_names(t, seen, &n, 32);
    text s;
    text_init(&s, p->pool);
    print_term(&s, t);
    for (size_t k = 0; k < n; k++) {
        text_printf(&s, "; %s = ", seen[k]->name);
        print_term(&s, seen[k]->definition);
    }
    return text_str(&s);
}

static void
add_form(plan *p, form_kind kind, size_t q, const char *label, const char *formula, const term *t)
{
    if (p->nf == ROUNDOFF_MAX_FORMS) {
        if (p->over == NULL)
            p->over = "formulations";
        return;
    }
    p->f[p->nf++] = (form){kind, q, label, formula, t, NULL, NULL, 0};
}

static size_t
add_quantity(plan *p, const char *name, const term *ref)
{
    if (p->nq == ROUNDOFF_MAX_QUANTITIES) {
        p->over = "quantities"; /* named before formulations: it is the cause */
        return 0; /* the plan is refused: what lands on quantity 0 is never measured */
    }
    p->q[p->nq] = (quantity){name, ref};
    return p->nq++;
}

static const term *
op2(plan *p, term_op op, const term *a, const term *b)
{
    if (a == NULL || b == NULL)
        return NULL;
    char why[SHAPE_WHY];
    return term_make(p->tab, op, 0, 0, (const term *[]){a, b}, 2, why);
}

static const term *
minus(plan *p, const term *a, const term *b)
{
    char why[SHAPE_WHY];
    const term *neg = term_make(p->tab, OP_NEG, 0, 0, (const term *[]){b}, 1, why);
    return op2(p, OP_ADD, a, neg);
}

/* The chain rule through A = act(U), unsimplified, in A: dU from dA. NULL
   for an activation without a chain written here. */
static const term *
chain(plan *p, const symbol *a, const term *da)
{
    const term *def = a->definition, *at = term_symbol(p->tab, a);
    const term *one = term_const_si(p->tab, 1, 1);
    char why[SHAPE_WHY];
    switch (def->op) {
    case OP_SIGMOID: /* dA * A * (1 - A) */
        return op2(p, OP_MUL, op2(p, OP_MUL, da, at), minus(p, one, at));
    case OP_TANH: /* dA * (1 - A^2) */
        return op2(p, OP_MUL, da, minus(p, one, op2(p, OP_POW, at, term_const_si(p->tab, 2, 1))));
    case OP_EXP:
        return op2(p, OP_MUL, da, at);
    case OP_RELU: /* dA * (U > 0) */
        return op2(p, OP_MUL, da, op2(p, OP_STEP, def->args[0], term_const_si(p->tab, 0, 1)));
    case OP_SOFTMAX: { /* A * (dA - sum(A * dA, axis, keepdims=True)) */
        if (def->shape.rank != 2)
            return NULL;
        const term *prod = op2(p, OP_MUL, at, da);
        if (prod == NULL)
            return NULL;
        const term *s = term_make(p->tab, OP_SUM, def->aux, 1, (const term *[]){prod}, 1, why);
        return op2(p, OP_MUL, at, minus(p, da, s));
    }
    default:
        return NULL;
    }
}

/* The definition A = act(U) through which alone U is used, or NULL. */
static const symbol *
sole_activation(const model *m, const symbol *u)
{
    const symbol *found = NULL;
    for (size_t i = 0; i < m->nsymbols; i++) {
        const symbol *s = m->symbols[i];
        if (s->kind != SYM_DEF || s->definition == NULL)
            continue;
        long n = term_occurrences(s->definition, u);
        if (n == 0)
            continue;
        if (found != NULL || n != 1 || s->definition->nargs != 1 ||
            s->definition->args[0]->op != OP_SYM || s->definition->args[0]->sym != u)
            return NULL;
        found = s;
    }
    return found;
}

/* The naive chain: every gradient of the deferred convention written as
   the adjoint flow gives it before simplification, through dA first: where
   U feeds only A = act(U), dU = dA * act'(U) in A (dZ = dA * A * (1 - A)
   for a sigmoid); everything downstream uses these. Fills NAIVE[i] (the
   formula for gradient i, NULL when it is the same as deferred). */
static void
build_naive(plan *p, const term **naive)
{
    const derivation *d = p->d;
    const symbol **from = mem_zalloc(p->pool, (d->n + 1) * sizeof *from);
    symbol **to = mem_zalloc(p->pool, (d->n + 1) * sizeof *to);
    const term **to_t = mem_zalloc(p->pool, (d->n + 1) * sizeof *to_t); /* to[i]'s term */
    int chained = 0;
    for (size_t i = 0; i < d->n; i++) {
        const gradient *g = &d->g[i];
        from[i] = g->deferred_name;
        const term *t = NULL;
        const symbol *a = g->of->kind == SYM_DEF ? sole_activation(p->m, g->of) : NULL;
        const gradient *ga = a != NULL ? derive_find(d, a) : NULL;
        if (ga != NULL) {
            size_t ja = (size_t)(ga - d->g);
            const symbol *dname = ja < i && to[ja] != NULL ? to[ja] : ga->deferred_name;
            t = chain(p, a, term_symbol(p->tab, dname));
            chained += t != NULL;
        }
        if (t == NULL) {
            t = term_substitute(p->tab, g->deferred_name->definition, from, to_t, i,
                                term_map_new(p->pool));
            if (t == g->deferred_name->definition)
                t = NULL;
        }
        naive[i] = t;
        if (t != NULL) {
            symbol *s = mem_alloc(p->pool, sizeof *s);
            *s = *g->deferred_name;
            s->definition = t;
            to[i] = s;
            to_t[i] = term_symbol(p->tab, s);
        }
    }
    p->why_no_naive = chained ? NULL : "no activation whose chain rule differs from deferred";
}

/* The output activation the loss uses (sigmoid or softmax), its label,
   and the output layer's params; the loss's stable forms when the loss is
   the cross-entropy written the usual way. */
static void
find_output(plan *p)
{
    const model *m = p->m;
    const term *loss = m->loss->definition;
    for (size_t i = 0; i < m->nsymbols; i++) {
        const symbol *s = m->symbols[i];
        if (s->kind == SYM_DEF && s->definition != NULL && term_occurrences(loss, s) &&
            (s->definition->op == OP_SIGMOID || s->definition->op == OP_SOFTMAX) &&
            p->out_act == NULL)
            p->out_act = s;
        if (s->kind == SYM_LABEL && term_occurrences(loss, s) && p->label_t == NULL)
            p->label_t = term_symbol(p->tab, s);
    }
    if (p->out_act == NULL)
        return;
    p->out_pre = p->out_act->definition->args[0];
    const term *pre = p->out_pre;
    if (pre->op == OP_SYM && pre->sym->kind == SYM_DEF && pre->sym->definition != NULL)
        pre = pre->sym->definition;
    if (pre->op == OP_ADD)
        for (unsigned k = 0; k < 2; k++)
            if (pre->args[k]->op == OP_SYM && pre->args[k]->sym->kind == SYM_PARAM)
                p->out_bias = pre->args[k]->sym;
    for (size_t i = 0; i < m->nsymbols; i++) {
        const symbol *s = m->symbols[i];
        if (s->kind == SYM_PARAM && s != p->out_bias && term_occurrences(pre, s) && p->nout_w < 8)
            p->out_w[p->nout_w++] = s;
    }
}

/* The loss's formulations computed in C, when the loss is written as the
   sigmoid or softmax cross-entropy (compared as printed text, so any
   spelling that parses to it counts). */
static void
loss_forms(plan *p, size_t qj)
{
    const model *m = p->m;
    if (p->out_act == NULL || p->label_t == NULL || m->batch == NULL)
        return;
    const char *y = p->label_t->sym->name, *a = p->out_act->name, *mb = m->batch->name;
    const char *written = term_text(p->pool, m->loss->definition);
    const char *z = term_text(p->pool, p->out_pre);
    char want[512], formula[512];
    if (p->out_act->definition->op == OP_SIGMOID) {
        snprintf(want, sizeof want, "-1/%s * sum(%s * log(%s) + (1 - %s) * log(1 - %s))", mb, y, a,
                 y, a);
        if (strcmp(want, written) != 0)
            return;
        snprintf(formula, sizeof formula,
                 "(1.0/%s) * sum(%s * softplus(-z) + (1 - %s) * softplus(z)), z = %s, "
                 "softplus(x) = max(x, 0) + log1p(exp(-|x|)), in C",
                 mb, y, y, z);
        add_form(p, FORM_SOFTPLUS_BCE, qj, "softplus (C)", mem_strdup(p->pool, formula), NULL);
        return;
    }
    snprintf(want, sizeof want, "-1/%s * sum(%s * log(%s))", mb, y, a);
    if (strcmp(want, written) != 0 || p->out_act->definition->aux != 0 ||
        p->out_act->definition->shape.rank != 2)
        return;
    snprintf(formula, sizeof formula,
             "(-1.0/%s) * sum(%s * log(exp(z) / sum(exp(z), axis=0))), z = %s, in C", mb, y, z);
    add_form(p, FORM_NAIVE_SOFTMAX_CE, qj, "naive softmax (C)", mem_strdup(p->pool, formula), NULL);
    snprintf(formula, sizeof formula,
             "(-1.0/%s) * sum(%s * (z - c - log(sum(exp(z - c), axis=0)))), c = max(z, axis=0), "
             "z = %s, in C",
             mb, y, z);
    add_form(p, FORM_LOG_SOFTMAX_CE, qj, "log-softmax (C)", mem_strdup(p->pool, formula), NULL);
}

/* The per-example accumulations of a param gradient whose deferred form
   DEF is 1/m * dZ @ H.T (a weight) or 1/m * sum(dZ, axis=1, keepdims=True)
   (a bias), checked on the printed text so that nothing else is taken for
   it: dZ and H are evaluated in double by the evaluator, the sum over the
   examples is a loop in C. */
static void
per_example_forms(plan *p, size_t q, const term *def)
{
    const model *m = p->m;
    if (m->batch == NULL || def->nargs != 2)
        return;
    const term *dz = NULL, *h = NULL;
    if (def->op == OP_MATMUL && def->args[0]->op == OP_MUL && def->args[1]->op == OP_TRANSPOSE) {
        /* (1/m * dZ) @ H.T */
        dz = def->args[0]->args[1];
        h = def->args[1]->args[0];
    } else if (def->op == OP_MUL && def->args[1]->op == OP_SUM && def->args[1]->aux == 1 &&
               def->args[1]->keepdims)
        dz = def->args[1]->args[0]; /* 1/m * sum(dZ, axis=1, keepdims=True) */
    else
        return;
    if (dz->op != OP_SYM || dz->sym->kind != SYM_GRAD || dz->shape.rank != 2 ||
        (h != NULL && h->shape.rank != 2))
        return;
    const char *mb = m->batch->name, *dzs = term_text(p->pool, dz);
    const char *hs = h != NULL ? term_text(p->pool, h) : NULL;
    char want[512], formula[1024];
    if (h != NULL)
        snprintf(want, sizeof want, "1/%s * %s @ %s.T", mb, dzs, hs);
    else
        snprintf(want, sizeof want, "1/%s * sum(%s, axis=1, keepdims=True)", mb, dzs);
    if (strcmp(want, term_text(p->pool, def)) != 0)
        return;
    const char *dzdef = formula_text(p, dz) + strlen(dzs) + 2; /* "dZ; dZ = ..." less "dZ; " */
    const char *g = p->q[q].name;
    for (int each = 0; each < 2; each++) {
        const char *contrib = h != NULL ? "%s[:, j] @ %s[:, j].T" : "%s[:, j]";
        char c[256];
        snprintf(c, sizeof c, contrib, dzs, hs);
        if (each)
            snprintf(formula, sizeof formula, "%s = 0; for j in 0..%s-1: %s += (%s) / %s; %s, in C",
                     g, mb, g, c, mb, dzdef);
        else
            snprintf(formula, sizeof formula,
                     "%s = 0; for j in 0..%s-1: %s += %s; then %s = %s / %s; %s, in C", g, mb, g, c,
                     g, g, mb, dzdef);
        size_t before = p->nf;
        add_form(p, FORM_PER_EXAMPLE, q, each ? "per-example/m (C)" : "per-example (C)",
                 mem_strdup(p->pool, formula), NULL);
        if (p->nf > before) {
            p->f[before].dz = dz;
            p->f[before].h = h;
            p->f[before].each_step = each;
        }
    }
}

/* The claims of CLAIMS (may be NULL) about the gradient of V, each one
   more formulation of quantity Q: the person's own way of writing it. */
static void
claim_forms(plan *p, const check_result *claims, const symbol *v, size_t q)
{
    for (size_t k = 0; claims != NULL && k < claims->n; k++) {
        const claim_result *r = &claims->r[k];
        if (r->claim->target != v || r->yours == NULL || r->verdict == CLAIM_SHAPE)
            continue;
        /* "wrong" only on check's witnessed refutation (of it, or of a claim
           it is built on), never on a verdict that is not one */
        char label[64];
        snprintf(label, sizeof label, "yours (line %d%s)", r->line,
                 r->verdict == CLAIM_REFUTED || r->verdict == CLAIM_GIVEN_YOURS ? ", wrong" : "");
        add_form(p, FORM_TERM, q, mem_strdup(p->pool, label), formula_text(p, r->claim->definition),
                 r->yours);
    }
}

static plan *
make_plan(const derivation *d, const check_result *claims)
{
    model *m = (model *)d->m;
    plan *p = mem_zalloc(m->pool, sizeof *p);
    p->d = d;
    p->m = m;
    p->tab = m->terms;
    p->pool = m->pool;
    p->drawn = mem_zalloc(p->pool, (m->nsymbols + 1) * sizeof *p->drawn);
    p->drawn_t = mem_zalloc(p->pool, (m->nsymbols + 1) * sizeof *p->drawn_t);
    for (size_t i = 0; i < m->nsymbols; i++) {
        const symbol *s = m->symbols[i];
        if (s->kind == SYM_INPUT || s->kind == SYM_LABEL || s->kind == SYM_PARAM) {
            p->drawn[p->ndrawn] = s;
            p->drawn_t[p->ndrawn++] = term_symbol(p->tab, s);
        }
    }
    find_output(p);
    /* the loss */
    const term *loss = term_symbol(p->tab, m->loss);
    size_t qj = add_quantity(p, m->loss->name, loss);
    add_form(p, FORM_TERM, qj, "as written", term_text(p->pool, m->loss->definition), loss);
    loss_forms(p, qj);
    /* a softmax output: shifted (the evaluator's) and naive */
    if (p->out_act != NULL && p->out_act->definition->op == OP_SOFTMAX &&
        p->out_act->definition->aux == 0 && p->out_act->definition->shape.rank == 2) {
        const term *a = term_symbol(p->tab, p->out_act);
        size_t qa = add_quantity(p, p->out_act->name, a);
        add_form(p, FORM_TERM, qa, "max-shifted", "exp(z - max(z)) / sum(exp(z - max(z)), axis=0)",
                 a);
        add_form(p, FORM_NAIVE_SOFTMAX, qa, "naive (C)", "exp(z) / sum(exp(z), axis=0)", NULL);
    }
    /* every param's gradient: deferred, absorbed, the naive chain */
    const term **naive = mem_zalloc(p->pool, (d->n + 1) * sizeof *naive);
    build_naive(p, naive);
    for (size_t i = 0; i < d->n; i++) {
        const gradient *g = &d->g[i];
        if (g->of->kind != SYM_PARAM)
            continue;
        const term *def = derive_pretty(d, g, CONVENTION_DEFERRED);
        const term *abs_ = derive_pretty(d, g, CONVENTION_ABSORBED);
        size_t q = add_quantity(p, g->absorbed_name->name, abs_);
        add_form(p, FORM_TERM, q, "deferred", formula_text(p, def), def);
        add_form(p, FORM_TERM, q, "absorbed", formula_text(p, abs_), abs_);
        if (naive[i] != NULL)
            add_form(p, FORM_TERM, q, "naive chain", formula_text(p, naive[i]), naive[i]);
        per_example_forms(p, q, def);
        claim_forms(p, claims, g->of, q);
    }
    return p;
}

/* ---------------------------------------------------------------- references */

static const long ladder[] = {ROUNDOFF_FIRST_PREC, 256, 512, 1024, 2048, 4096, 8192,
                              ROUNDOFF_MAX_PREC};
enum { LADDER = sizeof ladder / sizeof ladder[0] };

/* One entry: the interval X encloses the exact value, so when both its
   endpoints round to the same finite double D, the exact value rounds to D
   as well (rounding to nearest is monotonic): D is the correctly rounded
   reference, a proof rather than an estimate. An interval across a
   rounding boundary, a NaN (an operation's domain left somewhere in the
   interval) or an overflow is not settled at this precision. */
static int
certify(mpfi_srcptr x, double *out)
{
    if (mpfi_nan_p(x))
        return 0;
    double lo = mpfr_get_d(&x->left, MPFR_RNDN), hi = mpfr_get_d(&x->right, MPFR_RNDN);
    if (lo != hi || !isfinite(hi))
        return 0;
    *out = hi; /* -0 only when the whole interval is below 0 */
    return 1;
}

/* Certify REF's entries still open from its value V at PREC bits. */
static void
certify_level(roundoff_ref *ref, const value *v, long prec)
{
    long left = 0;
    for (long i = 0; i < ref->rows; i++)
        for (long j = 0; j < ref->cols; j++) {
            long e = i * ref->cols + j;
            if (ref->certified[e])
                continue;
            if (certify(*eval_fi(v, i, j), &ref->value[e]))
                ref->certified[e] = 1;
            else
                left++;
        }
    ref->prec = prec;
    ref->unsampleable = left;
}

int
roundoff_references(roundoff_ref *refs, size_t n, roundoff_binder bind, void *ctx, mem_pool *pool,
                    char *why, size_t len)
{
    /* in the pool, not on the stack: read after a longjmp */
    evaluator **ev = mem_zalloc(pool, sizeof *ev);
    jmp_buf here;
    jmp_buf *outer = mem_pool_on_oom(pool, &here);
    if (setjmp(here)) {
        eval_free(*ev);
        mem_pool_on_oom(pool, outer);
        longjmp(*outer, 1);
    }
    int ok = 1;
    size_t open = n;
    for (int level = 0; level < (int)LADDER && ok && open > 0; level++) {
        *ev = eval_new(pool, NUMBER_INTERVAL, ladder[level]);
        ok = bind(ctx, *ev, why, len);
        open = 0;
        for (size_t k = 0; k < n && ok; k++) {
            roundoff_ref *r = &refs[k];
            if (level > 0 && r->unsampleable == 0)
                continue;
            const value *v;
            ok = eval_term(*ev, r->t, &v, why, len);
            if (!ok)
                break;
            if (level == 0) {
                r->rows = v->rows;
                r->cols = v->cols;
                size_t cnt = (size_t)(r->rows * r->cols);
                r->value = mem_zalloc(pool, cnt * sizeof *r->value);
                r->certified = mem_zalloc(pool, cnt);
            }
            certify_level(r, v, ladder[level]);
            open += r->unsampleable > 0;
        }
        eval_free(*ev);
        *ev = NULL;
    }
    mem_pool_on_oom(pool, outer);
    return ok;
}

/* ---------------------------------------------------------------- bits */

double
roundoff_ulps(double x, double y)
{
    if (isnan(x) || isnan(y))
        return INFINITY;
    int64_t a, b;
    memcpy(&a, &x, sizeof a);
    memcpy(&b, &y, sizeof b);
    /* doubles in order as integers: negative ones mirrored below zero */
    if (a < 0)
        a = INT64_MIN - a;
    if (b < 0)
        b = INT64_MIN - b;
    /* subtract as integers: as doubles, a few units of 2^62 would vanish */
    uint64_t gap = a > b ? (uint64_t)a - (uint64_t)b : (uint64_t)b - (uint64_t)a;
    return (double)gap;
}

double
roundoff_bits(double computed, double reference)
{
    double bits = log2(1.0 + roundoff_ulps(computed, reference));
    return bits > ROUNDOFF_NAN_BITS ? ROUNDOFF_NAN_BITS : bits;
}

/* ---------------------------------------------------------------- one sample */

/* The batch size a regime draws with (0: the declared one). */
static long
regime_batch(roundoff_regime r)
{
    switch (r) {
    case ROUNDOFF_LARGE_M:
        return 100000;
    case ROUNDOFF_POW2_M:
        return 64;
    case ROUNDOFF_ODD_M:
        return 63;
    default:
        return 0;
    }
}

static int
is_output_param(const plan *p, const symbol *s)
{
    if (s == p->out_bias)
        return 1;
    for (size_t k = 0; k < p->nout_w; k++)
        if (p->out_w[k] == s)
            return 1;
    return 0;
}

/* The regime's changes to the drawn values of EX: the output layer scaled
   so that its pre-activations saturate (saturated) or its bias pushed
   down (tiny). Every value stays a dyadic rational exact in double. */
static int
transform(const plan *p, roundoff_regime r, evaluator *ex, char *why, size_t len)
{
    if (r != ROUNDOFF_SATURATED && r != ROUNDOFF_TINY)
        return 1;
    for (size_t k = 0; k < p->ndrawn; k++) {
        const symbol *s = p->drawn[k];
        if (!is_output_param(p, s) || (r == ROUNDOFF_TINY && s != p->out_bias))
            continue;
        const value *v;
        if (!eval_term(ex, p->drawn_t[k], &v, why, len))
            return 0;
        value *c = eval_new_value(ex, v->rank, v->rows, v->cols);
        for (long i = 0; i < v->rows; i++)
            for (long j = 0; j < v->cols; j++) {
                mpq_t *x = eval_q(c, i, j);
                mpq_set(*x, *eval_q(v, i, j));
                int neg = mpq_sgn(*x) < 0;
                if (s == p->out_bias && r == ROUNDOFF_SATURATED) {
                    /* +-(1024 + 512 |x|) */
                    mpq_abs(*x, *x);
                    mpq_mul_2exp(*x, *x, 9);
                    mpz_addmul_ui(mpq_numref(*x), mpq_denref(*x), 1024);
                    if (neg)
                        mpq_neg(*x, *x);
                } else if (s == p->out_bias) {
                    /* -(16 + 16 |x|) */
                    mpq_abs(*x, *x);
                    mpq_mul_2exp(*x, *x, 4);
                    mpz_addmul_ui(mpq_numref(*x), mpq_denref(*x), 16);
                    mpq_neg(*x, *x);
                } else
                    mpq_mul_2exp(*x, *x, p->out_bias != NULL ? 4 : 10);
            }
        eval_bind(ex, s, c);
    }
    return 1;
}

typedef struct sample_ctx {
    const plan *p;
    evaluator *ex; /* the drawn values, exact */
    long batch;
} sample_ctx;

/* roundoff_binder: the sample's values into EV. */
static int
bind_sample(void *ctx, evaluator *ev, char *why, size_t len)
{
    const sample_ctx *c = ctx;
    for (size_t k = 0; k < c->p->ndrawn; k++) {
        const value *v;
        if (!eval_term(c->ex, c->p->drawn_t[k], &v, why, len))
            return 0;
        eval_bind(ev, c->p->drawn[k], v);
    }
    if (c->batch > 0)
        eval_set_dim(ev, c->p->m->batch, c->batch);
    return 1;
}

static double
softplus(double x)
{
    return fmax(x, 0.0) + log1p(exp(-fabs(x)));
}

/* A formulation computed in C from the double values of the output's
   pre-activation Z and the label Y, into OUT. */
static int
c_form(const plan *p, const form *f, evaluator *dv, long mval, double *out, char *why, size_t len)
{
    const value *z, *y;
    if (!eval_term(dv, p->out_pre, &z, why, len) || !eval_term(dv, p->label_t, &y, why, len))
        return 0;
    double s = 0;
    if (f->kind == FORM_SOFTPLUS_BCE) {
        for (long i = 0; i < z->rows; i++)
            for (long j = 0; j < z->cols; j++) {
                double zz = *eval_d(z, i, j), yy = *eval_d(y, i, j);
                s += yy * softplus(-zz) + (1 - yy) * softplus(zz);
            }
        out[0] = (1.0 / (double)mval) * s;
        return 1;
    }
    for (long j = 0; j < z->cols; j++) {
        double c = *eval_d(z, 0, j), total = 0;
        for (long i = 1; i < z->rows; i++)
            c = fmax(c, *eval_d(z, i, j));
        for (long i = 0; i < z->rows; i++)
            total +=
                f->kind == FORM_LOG_SOFTMAX_CE ? exp(*eval_d(z, i, j) - c) : exp(*eval_d(z, i, j));
        for (long i = 0; i < z->rows; i++) {
            double zz = *eval_d(z, i, j), yy = *eval_d(y, i, j);
            if (f->kind == FORM_NAIVE_SOFTMAX)
                out[i * z->cols + j] = exp(zz) / total;
            else if (f->kind == FORM_NAIVE_SOFTMAX_CE)
                s += yy * log(exp(zz) / total);
            else
                s += yy * (zz - c - log(total));
        }
    }
    if (f->kind != FORM_NAIVE_SOFTMAX)
        out[0] = (-1.0 / (double)mval) * s;
    return 1;
}

/* A per-example accumulation (form.dz, form.h) in double into OUT. */
static int
per_example(const form *f, evaluator *dv, long mval, const roundoff_ref *ref, double *out,
            char *why, size_t len)
{
    const value *dz, *h = NULL;
    if (!eval_term(dv, f->dz, &dz, why, len) ||
        (f->h != NULL && !eval_term(dv, f->h, &h, why, len)))
        return 0;
    long rows = dz->rows, cols = h != NULL ? h->rows : 1, n = dz->cols;
    if ((h != NULL && h->cols != n) || rows != ref->rows || cols != ref->cols) {
        snprintf(why, len, "per-example: the factors do not make the gradient's shape");
        return 0;
    }
    memset(out, 0, (size_t)(rows * cols) * sizeof *out);
    for (long j = 0; j < n; j++)
        for (long r = 0; r < rows; r++)
            for (long c = 0; c < cols; c++) {
                double t = *eval_d(dz, r, j) * (h != NULL ? *eval_d(h, c, j) : 1.0);
                out[r * cols + c] += f->each_step ? t / (double)mval : t;
            }
    if (!f->each_step)
        for (long e = 0; e < rows * cols; e++)
            out[e] /= (double)mval;
    return 1;
}

/* Whether the entry (SAMPLE, I, J) at BITS is worse than W: more bits,
   ties to the first in (sample, row, col) order, so any order of
   accumulation finds the same one. */
static int
worse(double bits, long sample, long i, long j, const roundoff_worst *w)
{
    if (w->sample < 0)
        return 1;
    if (bits != w->bits)
        return bits > w->bits;
    if (sample != w->sample)
        return sample < w->sample;
    return i != w->row ? i < w->row : j < w->col;
}

static void
record(roundoff_stat *st, long sample, long i, long j, double c, double r)
{
    double bits = roundoff_bits(c, r);
    st->entries++;
    st->micro_bits += (int64_t)llround(bits * ROUNDOFF_MICRO);
    /* whole bits: 64 only for a NaN (no two non-NaN doubles are 2^64 - 1 apart) */
    st->histogram[(int)bits]++;
    if (isnan(c))
        st->nan++;
    else {
        st->inf += isinf(c) != 0;
        double rel = r != 0 ? fabs((c - r) / r) : c == 0 ? 0 : INFINITY;
        if (rel > st->max_rel)
            st->max_rel = rel;
    }
    if (bits > st->max_bits)
        st->max_bits = bits;
    if (worse(bits, sample, i, j, &st->worst))
        st->worst = (roundoff_worst){sample, i, j, bits, c, r};
}

static void
merge_stat(roundoff_stat *dst, const roundoff_stat *src)
{
    dst->entries += src->entries;
    dst->unsampleable += src->unsampleable;
    dst->micro_bits += src->micro_bits;
    dst->nan += src->nan;
    dst->inf += src->inf;
    for (int b = 0; b < ROUNDOFF_BINS; b++)
        dst->histogram[b] += src->histogram[b];
    if (src->max_bits > dst->max_bits)
        dst->max_bits = src->max_bits;
    if (src->max_rel > dst->max_rel)
        dst->max_rel = src->max_rel;
    if (src->worst.sample >= 0 &&
        worse(src->worst.bits, src->worst.sample, src->worst.row, src->worst.col, &dst->worst))
        dst->worst = src->worst;
}

/* What one thread accumulates. */
typedef struct acc {
    roundoff_stat s[ROUNDOFF_MAX_FORMS];
    long max_prec;
} acc;

static void
acc_init(acc *a, size_t n)
{
    memset(a, 0, sizeof *a);
    for (size_t k = 0; k < n; k++)
        a->s[k].worst.sample = -1;
}

/* The evaluators of a sample, on the heap: read after a longjmp. */
typedef struct live {
    evaluator *ex, *dv;
} live;

/* Draw sample INDEX of regime R from SEED and measure every formulation on
   it into A. Allocates from POOL, the sample's own. */
static int
sample_body(const plan *p, roundoff_regime r, unsigned long seed, int bits, long index,
            mem_pool *pool, live *lv, acc *a, char *why, size_t len)
{
    long batch = p->m->batch != NULL ? regime_batch(r) : 0;
    long mval = batch > 0 ? batch : p->m->batch != NULL ? p->m->batch->value : 1;
    lv->ex = eval_new(pool, NUMBER_EXACT, 0);
    sample_spec spec = {.seed = seed, .index = (unsigned long)index, .bits = bits, .batch = batch};
    if (!sample_bind(lv->ex, pool, p->m, &spec, why, len) || !transform(p, r, lv->ex, why, len))
        return 0;
    sample_ctx ctx = {p, lv->ex, batch};
    roundoff_ref *refs = mem_zalloc(pool, (p->nq + 1) * sizeof *refs);
    for (size_t q = 0; q < p->nq; q++)
        refs[q].t = p->q[q].ref;
    if (!roundoff_references(refs, p->nq, bind_sample, &ctx, pool, why, len))
        return 0;
    lv->dv = eval_new(pool, NUMBER_DOUBLE, 0);
    if (!bind_sample(&ctx, lv->dv, why, len))
        return 0;
    for (size_t q = 0; q < p->nq; q++)
        if (refs[q].prec > a->max_prec)
            a->max_prec = refs[q].prec;
    for (size_t k = 0; k < p->nf; k++) {
        const form *f = &p->f[k];
        const roundoff_ref *ref = &refs[f->q];
        double *c = mem_zalloc(pool, (size_t)(ref->rows * ref->cols) * sizeof *c);
        if (f->kind == FORM_TERM) {
            const value *v;
            if (!eval_term(lv->dv, f->t, &v, why, len))
                return 0;
            if (v->rows != ref->rows || v->cols != ref->cols) {
                snprintf(why, len, "%s (%s) has another size than its reference", f->label,
                         p->q[f->q].name);
                return 0;
            }
            for (long i = 0; i < v->rows; i++)
                for (long j = 0; j < v->cols; j++)
                    c[i * v->cols + j] = *eval_d(v, i, j);
        } else if (f->kind == FORM_PER_EXAMPLE) {
            if (!per_example(f, lv->dv, mval, ref, c, why, len))
                return 0;
        } else if (!c_form(p, f, lv->dv, mval, c, why, len))
            return 0;
        roundoff_stat *st = &a->s[k];
        st->unsampleable += ref->unsampleable;
        for (long i = 0; i < ref->rows; i++)
            for (long j = 0; j < ref->cols; j++) {
                long e = i * ref->cols + j;
                if (ref->certified[e])
                    record(st, index, i, j, c[e], ref->value[e]);
            }
    }
    return 1;
}

/* One sample in a pool of its own; 0 with WHY on failure (out of memory
   included). SERIAL: the only thread, so GMP's blocks can go to the
   sample's pool too (mem.h), and a failure of theirs lands here; with
   several threads they belong to no pool (mem_gmp_pool is process-wide). */
static int
run_sample(const plan *p, roundoff_regime r, unsigned long seed, int bits, long index, acc *a,
           int serial, char *why, size_t len)
{
    mem_pool *pool = mem_pool_new();
    live *lv = calloc(1, sizeof *lv);
    if (pool == NULL || lv == NULL) {
        mem_pool_free(pool);
        free(lv);
        snprintf(why, len, "out of memory");
        return 0;
    }
    mpfr_exp_t emin = mpfr_get_emin(), emax = mpfr_get_emax();
    mem_pool *gmp_outer = serial ? mem_gmp_pool(pool) : NULL;
    jmp_buf oom;
    int ok = 0;
    if (setjmp(oom)) {
        /* a jump may leave MPFR's exponent range extended */
        mpfr_set_emin(emin);
        mpfr_set_emax(emax);
        snprintf(why, len, "out of memory");
    } else {
        mem_pool_on_oom(pool, &oom);
        ok = sample_body(p, r, seed, bits, index, pool, lv, a, why, len);
    }
    mem_pool_on_oom(pool, NULL);
    eval_free(lv->dv);
    eval_free(lv->ex);
    free(lv);
    if (serial) {
        mpfr_free_cache(); /* its blocks are the pool's */
        mem_gmp_pool(gmp_outer);
    }
    mem_pool_free(pool);
    return ok;
}

/* ---------------------------------------------------------------- the sweep */

/* What regime R draws, in words. */
static const char *
draws(const plan *p, roundoff_regime r, long mval, int bits)
{
    text t;
    text_init(&t, p->pool);
    text_printf(&t, "inputs and params k/2^%d in [-1, 1], labels by their assumption", bits);
    const char *bias = p->out_bias != NULL ? p->out_bias->name : NULL;
    const char *act = p->out_act != NULL ? p->out_act->name : "the output";
    if (r == ROUNDOFF_SATURATED && p->nout_w + (bias != NULL) > 0) {
        text_puts(&t, "; then ");
        for (size_t k = 0; k < p->nout_w; k++)
            text_printf(&t, "%s%s", k ? ", " : "", p->out_w[k]->name);
        if (p->nout_w > 0)
            text_printf(&t, " times %d", bias != NULL ? 16 : 1024);
        if (bias != NULL)
            text_printf(&t, "%s%s = +-(1024 + 512 |%s|)", p->nout_w ? " and " : "", bias, bias);
        text_printf(&t, ", so that %s rounds to 0 or 1 in double", act);
    } else if (r == ROUNDOFF_SATURATED)
        text_puts(&t, " (no output layer params found: nothing saturates)");
    if (r == ROUNDOFF_TINY && bias != NULL)
        text_printf(&t,
                    "; then %s = -(16 + 16 |%s|) in [-32, -16], so that %s is about 1e-14 "
                    "to 1e-7",
                    bias, bias, act);
    else if (r == ROUNDOFF_TINY)
        text_puts(&t, " (no output bias found: drawn as typical)");
    if (p->m->batch != NULL)
        text_printf(&t, "; %s = %ld%s", p->m->batch->name, mval,
                    regime_batch(r) == 0       ? " (declared)"
                    : (mval & (mval - 1)) == 0 ? " (a power of two)"
                                               : " (not a power of two)");
    return text_str(&t);
}

/* Every sample of TAB's regime this shard runs, over RQ->threads threads;
   the error of the first failing sample into WHY. */
static int
run_table(const plan *p, const roundoff_request *rq, roundoff_table *tab, long *done, long total,
          char *why, size_t len)
{
    long count = 0;
    long shard = rq->nshards > 1 ? rq->shard - 1 : 0, step = rq->nshards > 1 ? rq->nshards : 1;
    long asked = tab->samples;
    for (long i = shard; i < asked; i += step)
        count++;
    tab->samples = count;
    int failed = 0;
    long failed_at = -1;
    int threads = rq->threads > 1 ? rq->threads : 1;
#ifndef _OPENMP
    threads = 1;
#endif
    int bits = rq->bits > 0 ? rq->bits : ROUNDOFF_SAMPLE_BITS;
    /* GMP's blocks may not go to a pool while threads allocate (mem.h) */
    mem_pool *gmp_outer = threads > 1 ? mem_gmp_pool(NULL) : NULL;
#ifdef _OPENMP
#pragma omp parallel num_threads(threads)
#endif
    {
        acc *local = malloc(sizeof *local);
        char mywhy[256] = "";
        if (local != NULL)
            acc_init(local, tab->n);
#ifdef _OPENMP
#pragma omp for schedule(dynamic, 1)
#endif
        for (long k = 0; k < count; k++) {
            long index = shard + k * step;
            if (local == NULL || !run_sample(p, tab->regime, rq->seed, bits, index, local,
                                             threads == 1, mywhy, sizeof mywhy)) {
                if (local == NULL)
                    snprintf(mywhy, sizeof mywhy, "out of memory");
#ifdef _OPENMP
#pragma omp critical(roundoff_fail)
#endif
                if (failed_at < 0 || index < failed_at) {
                    failed = 1;
                    failed_at = index;
                    snprintf(why, len, "sample %ld: %s", index, mywhy);
                }
            }
            long now;
#ifdef _OPENMP
#pragma omp atomic capture
#endif
            now = ++*done;
#ifdef _OPENMP
            if (omp_get_thread_num() == 0)
#endif
                if (rq->progress != NULL)
                    rq->progress(rq->progress_ctx, now, total);
        }
#ifdef _OPENMP
#pragma omp critical(roundoff_merge)
#endif
        if (local != NULL) {
            for (size_t k = 0; k < tab->n; k++)
                merge_stat(&tab->stats[k], &local->s[k]);
            if (local->max_prec > tab->max_prec)
                tab->max_prec = local->max_prec;
        }
        free(local);
        /* each thread's MPFR caches: the workers' would outlive the sweep */
        if (threads > 1)
            mpfr_free_cache2(MPFR_FREE_LOCAL_CACHE);
    }
    if (threads > 1)
        mem_gmp_pool(gmp_outer);
    return !failed;
}

roundoff_result *
roundoff_sweep(const derivation *d, const roundoff_request *rq, dc_error *err, mem_pool *err_pool)
{
    plan *p = make_plan(d, rq->claims);
    const model *m = d->m;
    if (p->over != NULL) {
        diag_plain(
            err, err_pool, DC_ELIMIT,
            "%s has more %s to measure than the cap of %d per model (%s in "
            "src/cmd/roundoff.h); none is left out silently, so nothing is measured",
            rq->model_name != NULL ? rq->model_name : "the model", p->over,
            strcmp(p->over, "quantities") == 0 ? ROUNDOFF_MAX_QUANTITIES : ROUNDOFF_MAX_FORMS,
            strcmp(p->over, "quantities") == 0 ? "ROUNDOFF_MAX_QUANTITIES" : "ROUNDOFF_MAX_FORMS");
        return NULL;
    }
    roundoff_result *res = mem_zalloc(p->pool, sizeof *res);
    res->model_name = rq->model_name != NULL ? mem_strdup(p->pool, rq->model_name) : "model";
    res->seed = rq->seed;
    res->samples_asked = rq->samples;
    res->shard = rq->nshards > 1 ? rq->shard : 1;
    res->nshards = rq->nshards > 1 ? rq->nshards : 1;
    long total = 0, done = 0;
    for (int r = 0; r < ROUNDOFF_NREGIMES; r++) {
        if (!(rq->regimes & (1u << r)))
            continue;
        if (regime_batch((roundoff_regime)r) > 0 && (m->batch == NULL || m->batch_is_one)) {
            diag_plain(err, err_pool, DC_EINPUT,
                       "the %s regime draws another batch size, but %s has no batch dim",
                       regime_names[r], res->model_name);
            return NULL;
        }
        roundoff_table *tab = &res->tables[res->ntables++];
        tab->regime = (roundoff_regime)r;
        tab->batch = m->batch == NULL                       ? 0
                     : regime_batch((roundoff_regime)r) > 0 ? regime_batch((roundoff_regime)r)
                                                            : m->batch->value;
        tab->draws =
            draws(p, tab->regime, tab->batch, rq->bits > 0 ? rq->bits : ROUNDOFF_SAMPLE_BITS);
        tab->samples = rq->samples > 0         ? rq->samples
                       : r == ROUNDOFF_LARGE_M ? ROUNDOFF_LARGE_M_SAMPLES
                                               : ROUNDOFF_DEFAULT_SAMPLES;
        tab->n = p->nf;
        tab->stats = mem_zalloc(p->pool, (p->nf + 1) * sizeof *tab->stats);
        for (size_t k = 0; k < p->nf; k++) {
            roundoff_stat *st = &tab->stats[k];
            st->quantity = p->q[p->f[k].q].name;
            st->formulation = p->f[k].label;
            st->formula = p->f[k].formula;
            st->worst.sample = -1;
        }
        long shard = res->shard - 1;
        for (long i = shard; i < tab->samples; i += res->nshards)
            total++;
    }
    for (size_t t = 0; t < res->ntables; t++) {
        char why[320];
        if (!run_table(p, rq, &res->tables[t], &done, total, why, sizeof why)) {
            if (strstr(why, "out of memory") != NULL)
                diag_oom(err);
            else
                diag_plain(err, err_pool, DC_EINPUT, "cannot measure the %s regime: %s",
                           regime_names[res->tables[t].regime], why);
            return NULL;
        }
    }
    return res;
}

/* ---------------------------------------------------------------- writing */

static const char BITS_WORDS[] =
    "bits of error per entry = log2(1 + ulps between the double result and the correctly "
    "rounded true value): 0 is correctly rounded, 64 a NaN";
static const char REFERENCE_WORDS[] =
    "references: interval arithmetic (MPFI) at 128, 256, 512, ... bits until the interval "
    "enclosing the true value rounds to one double, which is then its correct rounding; "
    "entries still uncertain at 10000 bits are unsampleable, never counted as 0 bits";

static double
mean_bits(const roundoff_stat *st)
{
    return st->entries > 0 ? (double)st->micro_bits / ROUNDOFF_MICRO / (double)st->entries : 0;
}

/* A double as JSON: a number that reads back exactly, or "nan", "inf", "-inf". */
static void
json_double(text *out, double x)
{
    if (isnan(x))
        text_puts(out, "\"nan\"");
    else if (isinf(x))
        text_puts(out, x > 0 ? "\"inf\"" : "\"-inf\"");
    else
        text_printf(out, "%.17g", x);
}

static void
write_json(text *out, const roundoff_result *res)
{
    text_puts(out, "{\n  \"command\": \"error\",\n  \"model\": ");
    print_json_string(out, res->model_name);
    text_printf(out, ",\n  \"seed\": %lu,\n  \"samples_asked\": %ld,\n", res->seed,
                res->samples_asked);
    text_printf(out, "  \"shard\": %d,\n  \"nshards\": %d,\n  \"bits\": ", res->shard,
                res->nshards);
    print_json_string(out, BITS_WORDS);
    text_puts(out, ",\n  \"reference\": ");
    print_json_string(out, REFERENCE_WORDS);
    text_puts(out, ",\n  \"regimes\": [");
    for (size_t t = 0; t < res->ntables; t++) {
        const roundoff_table *tab = &res->tables[t];
        text_printf(out, "%s\n    {\n      \"regime\": \"%s\",\n      \"draws\": ", t ? "," : "",
                    regime_names[tab->regime]);
        print_json_string(out, tab->draws);
        text_printf(out,
                    ",\n      \"batch\": %ld,\n      \"samples\": %ld,\n      \"max_prec\": "
                    "%ld,\n      \"rows\": [",
                    tab->batch, tab->samples, tab->max_prec);
        for (size_t k = 0; k < tab->n; k++) {
            const roundoff_stat *st = &tab->stats[k];
            text_printf(out, "%s\n        {\"quantity\": ", k ? "," : "");
            print_json_string(out, st->quantity);
            text_puts(out, ", \"formulation\": ");
            print_json_string(out, st->formulation);
            text_puts(out, ", \"formula\": ");
            print_json_string(out, st->formula);
            text_printf(out,
                        ", \"entries\": %ld, \"unsampleable\": %ld, \"micro_bits\": %lld, "
                        "\"mean_bits\": ",
                        st->entries, st->unsampleable, (long long)st->micro_bits);
            json_double(out, mean_bits(st));
            text_puts(out, ", \"max_bits\": ");
            json_double(out, st->max_bits);
            text_puts(out, ", \"max_rel\": ");
            json_double(out, st->max_rel);
            text_printf(out, ", \"nan\": %ld, \"inf\": %ld", st->nan, st->inf);
            if (st->worst.sample >= 0) {
                text_printf(out,
                            ", \"worst\": {\"sample\": %ld, \"row\": %ld, \"col\": %ld, "
                            "\"bits\": ",
                            st->worst.sample, st->worst.row, st->worst.col);
                json_double(out, st->worst.bits);
                text_puts(out, ", \"computed\": ");
                json_double(out, st->worst.computed);
                text_puts(out, ", \"reference\": ");
                json_double(out, st->worst.reference);
                text_putc(out, '}');
            }
            text_puts(out, ", \"histogram\": [");
            for (int b = 0; b < ROUNDOFF_BINS; b++)
                text_printf(out, "%s%ld", b ? ", " : "", st->histogram[b]);
            text_puts(out, "]}");
        }
        text_puts(out, "\n      ]\n    }");
    }
    text_puts(out, "\n  ]\n}\n");
}

static const char *
base_name(const char *path)
{
    const char *slash = strrchr(path, '/');
    return slash != NULL ? slash + 1 : path;
}

/* How the command line names the model: a built-in one by its name. */
static const char *
model_word(const char *path)
{
    static char buf[256];
    const char *b = base_name(path);
    size_t n = strlen(b);
    if (n > 3 && strcmp(b + n - 3, ".dc") == 0 && b - path >= 7 &&
        strncmp(b - 7, "models/", 7) == 0 && n - 3 < sizeof buf) {
        memcpy(buf, b, n - 3);
        buf[n - 3] = '\0';
        return buf;
    }
    return b;
}

/* "1.2e-16", "inf", "0" for a relative error. */
static void
put_rel(text *out, const char *fmt, double x)
{
    char buf[32];
    if (isinf(x))
        snprintf(buf, sizeof buf, "inf");
    else if (x == 0)
        snprintf(buf, sizeof buf, "0");
    else
        snprintf(buf, sizeof buf, "%.2g", x);
    text_printf(out, fmt, buf);
}

static void
write_table(text *out, const roundoff_result *res, const roundoff_table *tab, int md)
{
    const char *name = regime_names[tab->regime];
    if (md)
        text_printf(out,
                    "\n## Regime %s\n\n%s; %ld samples; references needed up to %ld bits\n\n"
                    "| quantity | formulation | mean bits | max bits | max rel err | NaN | "
                    "Inf | entries | unsampleable | worst (sample, entry) |\n"
                    "|---|---|---:|---:|---:|---:|---:|---:|---:|---|\n",
                    name, tab->draws, tab->samples, tab->max_prec);
    else
        text_printf(out,
                    "\nRegime %s: %ld samples; references needed up to %ld bits\n  %s\n"
                    "  %-8s %-17s %9s %8s %11s %5s %5s %8s %12s  %s\n",
                    name, tab->samples, tab->max_prec, tab->draws, "quantity", "formulation",
                    "mean bits", "max bits", "max rel err", "NaN", "Inf", "entries", "unsampleable",
                    "worst (sample, entry)");
    for (size_t k = 0; k < tab->n; k++) {
        const roundoff_stat *st = &tab->stats[k];
        char worst[96] = "-";
        if (st->worst.sample >= 0)
            snprintf(worst, sizeof worst, "%ld, (%ld, %ld)", st->worst.sample, st->worst.row,
                     st->worst.col);
        if (md) {
            text_printf(out, "| %s | %s | %.2f | %.2f | ", st->quantity, st->formulation,
                        mean_bits(st), st->max_bits);
            put_rel(out, "%s", st->max_rel);
            text_printf(out, " | %ld | %ld | %ld | %ld | %s |\n", st->nan, st->inf, st->entries,
                        st->unsampleable, worst);
        } else {
            text_printf(out, "  %-8s %-17s %9.2f %8.2f ", st->quantity, st->formulation,
                        mean_bits(st), st->max_bits);
            put_rel(out, "%11s", st->max_rel);
            text_printf(out, " %5ld %5ld %8ld %12ld  %s\n", st->nan, st->inf, st->entries,
                        st->unsampleable, worst);
        }
    }
    /* the worst entry of the whole table, to reproduce */
    const roundoff_stat *w = NULL;
    for (size_t k = 0; k < tab->n; k++)
        if (tab->stats[k].worst.sample >= 0 &&
            (w == NULL || tab->stats[k].worst.bits > w->worst.bits))
            w = &tab->stats[k];
    if (w != NULL)
        text_printf(out,
                    "%sworst: %s %s, %.2f bits at sample %ld, entry (%ld, %ld): computed %.17g, "
                    "reference %.17g (reproduce: derivcheck error %s --regime %s --seed %lu "
                    "--samples %ld)\n",
                    md ? "\n" : "  ", w->quantity, w->formulation, w->worst.bits, w->worst.sample,
                    w->worst.row, w->worst.col, w->worst.computed, w->worst.reference,
                    model_word(res->model_name), name, res->seed, w->worst.sample + 1);
}

void
roundoff_write(text *out, const roundoff_result *res, format_kind f)
{
    if (f == FORMAT_JSON) {
        write_json(out, res);
        return;
    }
    int md = f == FORMAT_MARKDOWN;
    text_printf(out, "%sDouble-precision error of each formulation: %s, seed %lu", md ? "# " : "",
                base_name(res->model_name), res->seed);
    if (res->nshards > 1)
        text_printf(out, ", shard %d of %d", res->shard, res->nshards);
    text_printf(out, "\n%s%s\n%s%s\n", md ? "\n" : "", BITS_WORDS, md ? "\n" : "", REFERENCE_WORDS);
    for (size_t t = 0; t < res->ntables; t++)
        write_table(out, res, &res->tables[t], md);
    if (res->ntables == 0)
        return;
    const roundoff_table *tab = &res->tables[0];
    text_printf(out,
                "\n%sFormulas (in the order written; C forms computed directly in double):\n%s",
                md ? "## " : "", md ? "\n" : "");
    for (size_t k = 0; k < tab->n; k++) {
        const roundoff_stat *st = &tab->stats[k];
        if (md)
            text_printf(out, "- %s, %s: `%s`\n", st->quantity, st->formulation, st->formula);
        else
            text_printf(out, "  %s %s: %s\n", st->quantity, st->formulation, st->formula);
    }
}

/* ---------------------------------------------------------------- merging shards */

static int
read_double(const json_t *node, double *out)
{
    if (json_is_number(node)) {
        *out = json_number_value(node);
        return 1;
    }
    const char *s = json_string_value(node);
    if (s == NULL)
        return 0;
    if (strcmp(s, "nan") == 0)
        *out = NAN;
    else if (strcmp(s, "inf") == 0)
        *out = INFINITY;
    else if (strcmp(s, "-inf") == 0)
        *out = -INFINITY;
    else
        return 0;
    return 1;
}

static long
read_long(const json_t *obj, const char *key, int *ok)
{
    const json_t *v = json_object_get(obj, key);
    if (!json_is_integer(v)) {
        *ok = 0;
        return 0;
    }
    return (long)json_integer_value(v);
}

static const char *
read_string(mem_pool *pool, const json_t *obj, const char *key, int *ok)
{
    const char *s = json_string_value(json_object_get(obj, key));
    if (s == NULL) {
        *ok = 0;
        return "";
    }
    return mem_strdup(pool, s);
}

/* A row's "histogram": ROUNDOFF_BINS counts, none negative, adding up to
   its entries; 0 when it is not that. */
static int
read_histogram(const json_t *bins, roundoff_stat *st)
{
    if (!json_is_array(bins) || json_array_size(bins) != ROUNDOFF_BINS)
        return 0;
    long total = 0;
    for (size_t b = 0; b < ROUNDOFF_BINS; b++) {
        const json_t *v = json_array_get(bins, b);
        if (!json_is_integer(v) || json_integer_value(v) < 0 || json_integer_value(v) > st->entries)
            return 0;
        st->histogram[b] = (long)json_integer_value(v);
        total += st->histogram[b];
    }
    return total == st->entries;
}

static int
read_stat(mem_pool *pool, const json_t *row, roundoff_stat *st)
{
    int ok = 1;
    st->quantity = read_string(pool, row, "quantity", &ok);
    st->formulation = read_string(pool, row, "formulation", &ok);
    st->formula = read_string(pool, row, "formula", &ok);
    st->entries = read_long(row, "entries", &ok);
    st->unsampleable = read_long(row, "unsampleable", &ok);
    json_t *micro = json_object_get(row, "micro_bits");
    ok = ok && json_is_integer(micro);
    st->micro_bits = (int64_t)json_integer_value(micro);
    st->nan = read_long(row, "nan", &ok);
    st->inf = read_long(row, "inf", &ok);
    ok = ok && read_double(json_object_get(row, "max_bits"), &st->max_bits) &&
         read_double(json_object_get(row, "max_rel"), &st->max_rel);
    st->worst.sample = -1;
    const json_t *w = json_object_get(row, "worst");
    if (w != NULL) {
        st->worst.sample = read_long(w, "sample", &ok);
        st->worst.row = read_long(w, "row", &ok);
        st->worst.col = read_long(w, "col", &ok);
        ok = ok && read_double(json_object_get(w, "bits"), &st->worst.bits) &&
             read_double(json_object_get(w, "computed"), &st->worst.computed) &&
             read_double(json_object_get(w, "reference"), &st->worst.reference);
    }
    return ok && read_histogram(json_object_get(row, "histogram"), st);
}

/* One shard's output into RES; 0 with WHY when it is not one. */
static int
read_result(mem_pool *pool, const json_t *root, roundoff_result *res, char *why, size_t len)
{
    int ok = 1;
    if (!json_is_object(root) || strcmp(json_string_value(json_object_get(root, "command")) != NULL
                                            ? json_string_value(json_object_get(root, "command"))
                                            : "",
                                        "error") != 0) {
        snprintf(why, len, "not the JSON output of derivcheck error --format json");
        return 0;
    }
    res->model_name = read_string(pool, root, "model", &ok);
    json_t *seed = json_object_get(root, "seed");
    ok = ok && json_is_integer(seed);
    res->seed = (unsigned long)json_integer_value(seed);
    res->samples_asked = read_long(root, "samples_asked", &ok);
    res->shard = (int)read_long(root, "shard", &ok);
    res->nshards = (int)read_long(root, "nshards", &ok);
    const json_t *regimes = json_object_get(root, "regimes");
    ok = ok && json_is_array(regimes) && json_array_size(regimes) <= ROUNDOFF_NREGIMES;
    for (size_t t = 0; ok && t < json_array_size(regimes); t++) {
        const json_t *r = json_array_get(regimes, t);
        roundoff_table *tab = &res->tables[res->ntables++];
        const char *name = read_string(pool, r, "regime", &ok);
        ok = ok && roundoff_regime_named(name, &tab->regime);
        tab->draws = read_string(pool, r, "draws", &ok);
        tab->batch = read_long(r, "batch", &ok);
        tab->samples = read_long(r, "samples", &ok);
        tab->max_prec = read_long(r, "max_prec", &ok);
        const json_t *rows = json_object_get(r, "rows");
        ok = ok && json_is_array(rows);
        tab->n = ok ? json_array_size(rows) : 0;
        tab->stats = mem_zalloc(pool, (tab->n + 1) * sizeof *tab->stats);
        for (size_t k = 0; ok && k < tab->n; k++)
            ok = read_stat(pool, json_array_get(rows, k), &tab->stats[k]);
    }
    if (!ok)
        snprintf(why, len, "a field of derivcheck error's JSON output is missing or malformed");
    return ok;
}

/* Whether B is another shard of A's sweep. */
static int
same_sweep(const roundoff_result *a, const roundoff_result *b)
{
    if (strcmp(a->model_name, b->model_name) != 0 || a->seed != b->seed ||
        a->samples_asked != b->samples_asked || a->nshards != b->nshards ||
        a->ntables != b->ntables)
        return 0;
    for (size_t t = 0; t < a->ntables; t++) {
        const roundoff_table *x = &a->tables[t], *y = &b->tables[t];
        if (x->regime != y->regime || x->n != y->n || x->batch != y->batch)
            return 0;
        for (size_t k = 0; k < x->n; k++)
            if (strcmp(x->stats[k].quantity, y->stats[k].quantity) != 0 ||
                strcmp(x->stats[k].formulation, y->stats[k].formulation) != 0)
                return 0;
    }
    return 1;
}

roundoff_result *
roundoff_merge(const char *const *texts, const char *const *names, size_t n, mem_pool *pool,
               dc_error *err)
{
    roundoff_result *out = NULL;
    unsigned long long seen = 0;
    for (size_t i = 0; i < n; i++) {
        json_error_t jerr;
        json_t *root = json_loads(texts[i], 0, &jerr);
        if (root == NULL) {
            diag_plain(err, pool, DC_EINPUT, "%s:%d:%d: not JSON: %s", names[i], jerr.line,
                       jerr.column, jerr.text);
            return NULL;
        }
        roundoff_result *res = mem_zalloc(pool, sizeof *res);
        char why[200];
        int ok = read_result(pool, root, res, why, sizeof why);
        json_decref(root);
        if (!ok) {
            diag_plain(err, pool, DC_EINPUT, "%s: %s", names[i], why);
            return NULL;
        }
        if (out != NULL && !same_sweep(out, res)) {
            diag_plain(err, pool, DC_EINPUT,
                       "%s is not a shard of the same sweep as %s (model, seed, samples, "
                       "regimes and shard count must agree)",
                       names[i], names[0]);
            return NULL;
        }
        if (res->nshards < 1 || res->shard < 1 || res->shard > res->nshards || res->nshards > 64 ||
            (seen & (1ull << (res->shard - 1)))) {
            diag_plain(err, pool, DC_EINPUT, "%s: shard %d of %d is %s", names[i], res->shard,
                       res->nshards, res->nshards > 64 ? "beyond 64 shards" : "given twice");
            return NULL;
        }
        seen |= 1ull << (res->shard - 1);
        if (out == NULL) {
            out = res;
            continue;
        }
        for (size_t t = 0; t < out->ntables; t++) {
            roundoff_table *x = &out->tables[t];
            const roundoff_table *y = &res->tables[t];
            x->samples += y->samples;
            if (y->max_prec > x->max_prec)
                x->max_prec = y->max_prec;
            for (size_t k = 0; k < x->n; k++)
                merge_stat(&x->stats[k], &y->stats[k]);
        }
    }
    if (out == NULL) {
        diag_plain(err, pool, DC_EINPUT, "merge needs at least one JSON output of error");
        return NULL;
    }
    /* every shard merged: the result reads as one run */
    if (seen == (out->nshards >= 64 ? ~0ull : (1ull << out->nshards) - 1))
        out->shard = out->nshards = 1;
    return out;
}
