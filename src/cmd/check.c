/* check.c: the check command: claims judged against the derivation, mistakes diagnosed; see
 * check.h. */
#include "cmd/check.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

#include "lang/print.h"
#include "sym/canon.h"
#include "num/eval.h"
#include "num/sample.h"

typedef struct checker {
    model *m;
    const derivation *d;
    const rule_set *rs;
    term_table *tab;
    mem_pool *pool;
    unsigned long seed;
    dc_error *err;
    mem_pool *err_pool;
    long steps;
    int failed;
    term_map *yours; /* claim symbol term -> its value in forward names */
} checker;

/* ---- building terms ---- */

static const term *
op2(checker *c, term_op op, const term *a, const term *b)
{
    const term *args[2] = {a, b};
    char why[SHAPE_WHY];
    return term_make(c->tab, op, 0, 0, args, 2, why);
}

static const term *
op1(checker *c, term_op op, const term *a)
{
    char why[SHAPE_WHY];
    return term_make(c->tab, op, 0, 0, &a, 1, why);
}

static const term *
batch(checker *c)
{
    return term_symbol(c->tab, c->m->batch);
}

/* T with every occurrence of FROM replaced by TO (NULL if a shape breaks). */
static const term *
replace(checker *c, const term *t, const term *from, const term *to)
{
    if (t == from)
        return to;
    if (t->nargs == 0)
        return t;
    const term *args[2];
    int changed = 0;
    for (unsigned k = 0; k < t->nargs; k++) {
        args[k] = replace(c, t->args[k], from, to);
        if (args[k] == NULL)
            return NULL;
        changed |= args[k] != t->args[k];
    }
    if (!changed)
        return t;
    char why[SHAPE_WHY];
    return t->op == OP_BROADCAST
               ? term_broadcast(c->tab, args[0], &t->shape, t->aux, why)
               : term_make(c->tab, t->op, t->aux, t->keepdims, args, t->nargs, why);
}

/* dJ/dV where J does not depend on V (D has no gradient of V): zero, of
   V's shape. */
static const term *
zero_gradient(checker *c, const symbol *v)
{
    char why[SHAPE_WHY];
    const term *args[2] = {term_const_si(c->tab, 0, 1), term_symbol(c->tab, v)};
    return term_make(c->tab, OP_MUL, 0, 0, args, 2, why);
}

/* T with every gradient name (of D, in convention CONV) and every claim
   (their own expressions when YOURS, the true gradients in CONV otherwise)
   written out, and every subterm that is a definition's formula named. */
static const term *
expand(checker *c, const term *t, convention conv, int yours, term_map *memo)
{
    if (t->op == OP_SYM) {
        const symbol *s = t->sym;
        if (s->kind == SYM_CLAIM && yours)
            return expand(c, s->definition, conv, yours, memo);
        const symbol *target = s->kind == SYM_CLAIM ? s->target : NULL;
        for (size_t i = 0; i < c->d->n; i++) {
            const gradient *g = &c->d->g[i];
            const symbol *name = conv == CONVENTION_DEFERRED ? g->deferred_name : g->absorbed_name;
            if (name == s || (target != NULL && g->of == target))
                return expand(c, conv == CONVENTION_DEFERRED ? g->deferred : g->absorbed, conv,
                              yours, memo);
        }
        return target != NULL ? zero_gradient(c, target) : t;
    }
    /* a definition's formula written out in a claim: its name (sigmoid(Z2) is A2) */
    for (size_t i = 0; i < c->m->nsymbols; i++)
        if (c->m->symbols[i]->kind == SYM_DEF && c->m->symbols[i]->definition == t)
            return term_symbol(c->tab, c->m->symbols[i]);
    if (t->nargs == 0)
        return t;
    const term *known = term_map_get(memo, t);
    if (known != NULL)
        return known;
    const term *args[2] = {NULL, NULL}; /* every operation has one or two */
    for (unsigned k = 0; k < t->nargs; k++)
        args[k] = expand(c, t->args[k], conv, yours, memo);
    char why[SHAPE_WHY];
    const term *out = t->op == OP_BROADCAST
                          ? term_broadcast(c->tab, args[0], &t->shape, t->aux, why)
                          : term_make(c->tab, t->op, t->aux, t->keepdims, args, t->nargs, why);
    if (out == NULL)
        out = t;
    term_map_put(memo, t, out);
    return out;
}

static const term *
normal(checker *c, const term *t)
{
    if (t == NULL || c->failed)
        return NULL;
    const term *n = derive_simplify(c->tab, c->rs, t, NULL, &c->steps, c->err, c->err_pool);
    if (n == NULL)
        c->failed = 1;
    return n;
}

static int
same(checker *c, const term *a, const term *b)
{
    return a != NULL && b != NULL && normal(c, a) == normal(c, b);
}

/* The true gradient for claim CL in convention CONV, in forward names. */
static const term *
truth(checker *c, const symbol *cl, convention conv)
{
    const gradient *g = derive_find(c->d, cl->target);
    if (g == NULL)
        return zero_gradient(c, cl->target);
    return expand(c, conv == CONVENTION_DEFERRED ? g->deferred : g->absorbed, conv, 0,
                  term_map_new(c->pool));
}

/* ---- numbers ---- */

/* A point that could not be evaluated for want of memory must not count as
   a point that could not be evaluated: that would quietly change a verdict. */
static int
evaluated(checker *c, int ok, const evaluator *ev)
{
    if (!ok && eval_status(ev) == DC_ENOMEM)
        mem_oom(c->pool);
    return ok;
}

/* Evaluate A and B in MPFR at the sample point INDEX; the largest gap
   between entries, relative to the largest entry of B, in *GAP, and where. */
static int
numeric_gap(checker *c, const term *a, const term *b, unsigned long index, double *gap, long *gi,
            long *gj, double *va, double *vb)
{
    evaluator *ev = eval_new(c->pool, NUMBER_MPFR, 256);
    sample_spec spec = {.seed = c->seed, .index = index, .bits = 30};
    char why[256];
    const value *x, *y;
    int ok = evaluated(c, sample_bind(ev, c->pool, c->m, &spec, why, sizeof why), ev) &&
             evaluated(c, eval_term(ev, a, &x, why, sizeof why), ev) &&
             evaluated(c, eval_term(ev, b, &y, why, sizeof why), ev) &&
             x->rows * x->cols == y->rows * y->cols;
    if (ok) {
        mpfr_t d, big, scale;
        mpfr_inits2(256, d, big, scale, (mpfr_ptr)0);
        mpfr_set_ui(big, 0, MPFR_RNDN);
        mpfr_set_ui(scale, 0, MPFR_RNDN);
        *gi = *gj = 0;
        for (long i = 0; i < y->rows; i++)
            for (long j = 0; j < y->cols; j++) {
                mpfr_t *p = eval_fr(x, x->rows == y->rows ? i : 0,
                                    x->rows == y->rows ? j : i * y->cols + j);
                mpfr_sub(d, *p, *eval_fr(y, i, j), MPFR_RNDN);
                mpfr_abs(d, d, MPFR_RNDN);
                if (mpfr_cmp(d, big) > 0 || mpfr_nan_p(d)) {
                    mpfr_set(big, d, MPFR_RNDN);
                    *gi = i, *gj = j;
                    *va = mpfr_get_d(*p, MPFR_RNDN);
                    *vb = mpfr_get_d(*eval_fr(y, i, j), MPFR_RNDN);
                }
                mpfr_abs(d, *eval_fr(y, i, j), MPFR_RNDN);
                if (mpfr_cmp(d, scale) > 0)
                    mpfr_set(scale, d, MPFR_RNDN);
            }
        if (mpfr_cmp_ui(scale, 1) < 0)
            mpfr_set_ui(scale, 1, MPFR_RNDN);
        mpfr_div(big, big, scale, MPFR_RNDN);
        *gap = mpfr_nan_p(big) ? INFINITY : mpfr_get_d(big, MPFR_RNDN);
        mpfr_clears(d, big, scale, (mpfr_ptr)0);
    }
    eval_free(ev);
    return ok;
}

/* Whether A and B are equal at the random rational points, exactly, with
   activation outputs as free variables: 1 equal, 0 unequal, -1 when a side
   is not rational there (exp of a rational, say) and cannot be decided so. */
static int
exactly_equal(checker *c, const term *a, const term *b)
{
    int verdict = 1;
    for (unsigned long k = 0; k < CHECK_POINTS && verdict == 1; k++) {
        evaluator *ev = eval_new(c->pool, NUMBER_EXACT, 0);
        sample_spec spec = {.seed = c->seed, .index = k, .bits = 30, .free_activations = 1};
        char why[256];
        const value *x, *y;
        if (!evaluated(c, sample_bind(ev, c->pool, c->m, &spec, why, sizeof why), ev) ||
            !evaluated(c, eval_term(ev, a, &x, why, sizeof why), ev) ||
            !evaluated(c, eval_term(ev, b, &y, why, sizeof why), ev) ||
            x->rows * x->cols != y->rows * y->cols)
            verdict = -1;
        for (long i = 0; verdict == 1 && i < y->rows; i++)
            for (long j = 0; verdict == 1 && j < y->cols; j++) {
                long n = i * y->cols + j; /* the same entry, whatever x's rank */
                verdict = mpq_equal(*eval_q(x, n / x->cols, n % x->cols), *eval_q(y, i, j));
            }
        eval_free(ev);
    }
    return verdict;
}

/* Whether A and B agree at every random point: exactly where both are
   rational in the free activations, else in MPFR to 2^-200. */
static int
numerically_equal(checker *c, const term *a, const term *b)
{
    int exact = exactly_equal(c, a, b);
    if (exact >= 0)
        return exact;
    for (unsigned long k = 0; k < CHECK_POINTS; k++) {
        double gap, va, vb;
        long i, j;
        if (!numeric_gap(c, a, b, k, &gap, &i, &j, &va, &vb) || !(gap < ldexp(1, -200)))
            return 0;
    }
    return 1;
}

/* "dW2[0][3] is 0.0351 by yours, 0.00439 by the derivation (random point 0, seed 1)". */
static const char *
counterexample(checker *c, const symbol *cl, const term *yours, const term *right)
{
    double gap, va, vb;
    long i, j;
    if (!numeric_gap(c, yours, right, 0, &gap, &i, &j, &va, &vb))
        return NULL;
    text t;
    text_init(&t, c->pool);
    text_printf(&t, "at the random point 0 of seed %lu, %s", c->seed, cl->name);
    if (cl->shape.rank == 2)
        text_printf(&t, "[%ld][%ld]", i, j);
    else if (cl->shape.rank == 1)
        text_printf(&t, "[%ld]", j);
    text_printf(&t, " is %.6g by your formula but %.6g by the derivation", va, vb);
    return text_str(&t);
}

/* ---- the usual mistakes ---- */

static const char *
words(checker *c, const char *fmt, const char *a, const char *b, const char *d)
{
    text t;
    text_init(&t, c->pool);
    text_printf(&t, fmt, a, b, d);
    return text_str(&t);
}

static const char *
show(checker *c, const term *t)
{
    text s;
    text_init(&s, c->pool);
    print_term(&s, t);
    return text_str(&s);
}

/* F with one sum changed (another axis, keepdims toggled) that equals T;
   the reason, or NULL. */
static const char *
wrong_sum(checker *c, const term *f, const term *t, const term *node)
{
    if (node->op == OP_SUM && node->aux >= 0) {
        static const struct {
            int axis_flip, keep_flip;
            const char *what;
        } tries[] = {{1, 0, "sums over axis %s where axis %s is needed%s"},
                     {0, 1, "%s%s%s"},
                     {1, 1, "sums over axis %s where axis %s is needed%s"}};
        for (size_t k = 0; k < sizeof tries / sizeof tries[0]; k++) {
            int axis = tries[k].axis_flip ? 1 - node->aux : node->aux;
            int keep = tries[k].keep_flip ? !node->keepdims : node->keepdims;
            char why[SHAPE_WHY];
            const term *v = term_make(c->tab, OP_SUM, axis, keep, &node->args[0], 1, why);
            const term *g = v != NULL ? replace(c, f, node, v) : NULL;
            if (g == NULL || !shape_equal(&g->shape, &t->shape) || !same(c, g, t))
                continue;
            char a[8], b[8];
            snprintf(a, sizeof a, "%d", node->aux);
            snprintf(b, sizeof b, "%d", axis);
            if (!tries[k].axis_flip)
                return node->keepdims ? "keeps an axis the gradient does not have (keepdims)"
                                      : "loses keepdims=True: the sum must keep its axis as size "
                                        "1 to have the param's shape";
            return words(c, tries[k].what, a, b,
                         keep != node->keepdims ? " (and keepdims=True)" : "");
        }
    }
    for (unsigned k = 0; k < node->nargs; k++) {
        const char *r = wrong_sum(c, f, t, node->args[k]);
        if (r != NULL)
            return r;
    }
    return NULL;
}

/* An activation's derivative: which factor it is, in the output's name. */
static const term *
derivative_factor(checker *c, const symbol *a, int which)
{
    const term *A = term_symbol(c->tab, a), *one = term_const_si(c->tab, 1, 1);
    const term *Z = a->definition->args[0];
    switch (which) {
    case 0:
        return op2(c, OP_ADD, one, op1(c, OP_NEG, op2(c, OP_POW, A, term_const_si(c->tab, 2, 1))));
    case 1:
        return op2(c, OP_MUL, A, op2(c, OP_ADD, one, op1(c, OP_NEG, A)));
    case 2:
        return op2(c, OP_STEP, Z, term_const_si(c->tab, 0, 1));
    case 3:
        return op2(c, OP_ADD, one, op1(c, OP_NEG, A));
    default:
        return one;
    }
}

static const char *
wrong_derivative(checker *c, const term *f, const term *t)
{
    static const char *const names[] = {"tanh's", "sigmoid's", "relu's", NULL, NULL};
    for (size_t i = 0; i < c->m->nsymbols; i++) {
        const symbol *a = c->m->symbols[i];
        if (a->kind != SYM_DEF || a->definition == NULL)
            continue;
        int right = a->definition->op == OP_TANH      ? 0
                    : a->definition->op == OP_SIGMOID ? 1
                    : a->definition->op == OP_RELU    ? 2
                                                      : -1;
        if (right < 0)
            continue;
        const term *r = derivative_factor(c, a, right);
        for (int w = 0; w < 5; w++) {
            if (w == right)
                continue;
            const term *wrong = derivative_factor(c, a, w);
            if (!same(c, op2(c, OP_MUL, f, r), op2(c, OP_MUL, t, wrong)))
                continue;
            text s;
            text_init(&s, c->pool);
            text_printf(&s, "uses %s where %s = %s(%s) needs %s", show(c, wrong), a->name,
                        term_op_name(a->definition->op), show(c, a->definition->args[0]),
                        show(c, r));
            if (names[w] != NULL)
                text_printf(&s, " (%s derivative used for %s)", names[w],
                            term_op_name(a->definition->op));
            return text_str(&s);
        }
    }
    return NULL;
}

/* Whether F is CL's truth under CONV once the label Y is assumed onehot.
   The label is the loaded model's: an allocation failure must not leave it
   assumed onehot for the calls after this one. */
static int
holds_if_onehot(checker *c, symbol *y, const symbol *cl, const term *f, convention conv)
{
    jmp_buf here;
    jmp_buf *outer = mem_pool_on_oom(c->pool, &here);
    const derivation *saved = c->d;
    if (setjmp(here)) {
        y->label = LABEL_ANY;
        c->d = saved;
        mem_pool_on_oom(c->pool, outer);
        mem_oom(c->pool);
    }
    y->label = LABEL_ONEHOT;
    dc_error scratch;
    derivation *d = derive(c->m, c->rs, &scratch, c->pool);
    int holds = 0;
    if (d != NULL) {
        c->d = d;
        holds = same(c, f, truth(c, cl, conv));
        c->d = saved;
    }
    y->label = LABEL_ANY;
    mem_pool_on_oom(c->pool, outer);
    return holds;
}

/* The claim would hold if a label's columns summed to 1: the assumption. */
static const char *
missing_label_assumption(checker *c, const symbol *cl, const term *f, convention conv)
{
    for (size_t i = 0; i < c->m->nsymbols; i++) {
        symbol *y = c->m->symbols[i];
        if (y->kind == SYM_LABEL && y->label == LABEL_ANY && holds_if_onehot(c, y, cl, f, conv))
            return words(c,
                         "holds only if the columns of %s sum to 1: declare it onehot or prob "
                         "(label %s[...] onehot)%s",
                         y->name, y->name, "");
    }
    return NULL;
}

/* Why F (the claim's formula, earlier claims taken as right) is not T. */
static const char *
diagnose(checker *c, const symbol *cl, const term *f, const term *t, convention conv)
{
    int square = shape_equal(&f->shape, &t->shape);
    if (c->m->batch != NULL && square) {
        if (same(c, f, op2(c, OP_MUL, batch(c), t)))
            return "has a factor m too many (a 1/m is missing)";
        if (same(c, f, op2(c, OP_DIV, t, batch(c))))
            return "has a factor 1/m too many";
    }
    if (square && same(c, f, op1(c, OP_NEG, t)))
        return "has the wrong sign";
    const term *ft = op1(c, OP_TRANSPOSE, f);
    if (ft != NULL && shape_equal(&ft->shape, &t->shape) && same(c, ft, t))
        return "is the transpose of the gradient: a .T is missing or extra";
    const char *r = wrong_sum(c, f, t, f);
    if (r == NULL && square)
        r = wrong_derivative(c, f, t);
    if (r == NULL && square)
        r = missing_label_assumption(c, cl, f, conv);
    return r;
}

/* ---- one claim ---- */

static int
line_of(const model *m, const symbol *s)
{
    int line, col;
    source_position(&m->src, s->offset, &line, &col);
    return line;
}

static void
judge(checker *c, claim_result *r, const claim_result *earlier, size_t nearlier)
{
    const symbol *cl = r->claim;
    const symbol *v = cl->target;
    r->method = "symbolic and numeric";
    convention convs[2];
    int nconv = 0;
    /* the earlier claims this one uses: when they hold in one convention,
       this one is read in that convention too */
    int upstream_wrong = 0;
    convention upstream = CONVENTION_AUTO;
    for (size_t i = 0; i < nearlier; i++) {
        if (!term_occurrences(cl->definition, earlier[i].claim))
            continue;
        if (earlier[i].verdict != CLAIM_HOLDS)
            upstream_wrong = 1;
        else if (earlier[i].follows != CONVENTION_AUTO &&
                 earlier[i].claim->target->kind != SYM_PARAM)
            upstream = earlier[i].follows;
    }
    if (c->m->batch == NULL || c->m->convention == CONVENTION_ABSORBED)
        convs[nconv++] = CONVENTION_ABSORBED;
    else if (c->m->convention == CONVENTION_DEFERRED)
        convs[nconv++] = CONVENTION_DEFERRED;
    else if (upstream != CONVENTION_AUTO && !upstream_wrong && v->kind == SYM_PARAM)
        convs[nconv++] = upstream;
    else {
        convs[nconv++] = CONVENTION_DEFERRED;
        convs[nconv++] = CONVENTION_ABSORBED;
    }
    const term *yours =
        expand(c, term_symbol(c->tab, cl), CONVENTION_ABSORBED, 1, term_map_new(c->pool));
    const gradient *g = derive_find(c->d, v);
    r->expected = g != NULL ? derive_pretty(c->d, g, convs[0]) : term_const_si(c->tab, 0, 1);
    r->yours = yours;
    if (!shape_equal(&cl->shape, &v->shape)) {
        text t;
        text_init(&t, c->pool);
        text_printf(&t, "has shape ");
        shape_print(&t, &cl->shape);
        text_printf(&t, " but %s is ", v->name);
        shape_print(&t, &v->shape);
        const term *f = expand(c, cl->definition, convs[0], 0, term_map_new(c->pool));
        const char *why = diagnose(c, cl, f, truth(c, cl, convs[0]), convs[0]);
        if (why != NULL)
            text_printf(&t, ": it %s", why);
        r->verdict = CLAIM_SHAPE;
        r->reason = text_str(&t);
        r->method = "shapes, before any numbers";
        return;
    }
    int holds[2] = {0, 0}, formula_ok[2] = {0, 0}, disagree = 0, numeric_only = 0;
    const term *truths[2], *formulas[2];
    for (int k = 0; k < nconv; k++) {
        truths[k] = truth(c, cl, convs[k]);
        formulas[k] = expand(c, cl->definition, convs[k], 0, term_map_new(c->pool));
        int sym = same(c, yours, truths[k]);
        int num = numerically_equal(c, yours, truths[k]);
        holds[k] = sym || num;
        disagree |= sym && !num;
        numeric_only |= num && !sym;
        formula_ok[k] =
            same(c, formulas[k], truths[k]) || numerically_equal(c, formulas[k], truths[k]);
    }
    if (disagree) {
        r->verdict = CLAIM_REFUTED;
        r->reason = "the symbolic and the numeric checks disagree, so a rule is unsound: run "
                    "derivcheck rules --verify";
        r->method = "symbolic and numeric disagree";
        return;
    }
    if (numeric_only)
        r->method = "numeric only: equal at every random point, no symbolic proof found";
    if (holds[0] || (nconv > 1 && holds[1])) {
        r->verdict = CLAIM_HOLDS;
        r->follows = nconv == 1             ? convs[0]
                     : holds[0] && holds[1] ? CONVENTION_AUTO
                     : holds[0]             ? convs[0]
                                            : convs[1];
        /* a param's gradient is the same in both: say which its formula reads */
        if (r->follows == CONVENTION_AUTO && nconv > 1 && formula_ok[0] != formula_ok[1])
            r->follows = formula_ok[0] ? convs[0] : convs[1];
        return;
    }
    for (int k = 0; k < nconv && upstream_wrong; k++)
        if (formula_ok[k]) {
            text t;
            text_init(&t, c->pool);
            text_puts(&t, "right given your earlier claims, but they are wrong:");
            for (size_t i = 0; i < nearlier; i++)
                if (earlier[i].verdict != CLAIM_HOLDS &&
                    term_occurrences(cl->definition, earlier[i].claim))
                    text_printf(&t, " %s (line %d)", earlier[i].claim->name, earlier[i].line);
            r->verdict = CLAIM_GIVEN_YOURS;
            r->follows = convs[k];
            r->reason = text_str(&t);
            return;
        }
    r->verdict = CLAIM_REFUTED;
    if (g == NULL)
        r->reason =
            words(c, "is 0: the loss %s does not depend on %s%s", c->m->loss->name, v->name, "");
    for (int k = 0; k < nconv && r->reason == NULL; k++)
        r->reason = diagnose(c, cl, formulas[k], truths[k], convs[k]);
    if (r->reason == NULL)
        r->reason = "matches none of the usual mistakes";
    r->counterexample = counterexample(c, cl, yours, truths[0]);
}

/* Intermediate claims that hold in different conventions. */
static const char *
mixing(checker *c, const check_result *res)
{
    const claim_result *first[2] = {NULL, NULL};
    for (size_t i = 0; i < res->n; i++) {
        const claim_result *r = &res->r[i];
        if (r->claim->target->kind == SYM_PARAM || r->verdict == CLAIM_REFUTED ||
            r->verdict == CLAIM_SHAPE || r->follows == CONVENTION_AUTO)
            continue;
        int k = r->follows == CONVENTION_DEFERRED ? 0 : 1;
        if (first[k] == NULL)
            first[k] = r;
    }
    if (first[0] == NULL || first[1] == NULL)
        return NULL;
    text t;
    text_init(&t, c->pool);
    text_printf(&t,
                "mixes the conventions: %s (line %d) is deferred (m * dJ/d%s), %s (line %d) "
                "absorbed (dJ/d%s)",
                first[0]->claim->name, first[0]->line, first[0]->claim->target->name,
                first[1]->claim->name, first[1]->line, first[1]->claim->target->name);
    return text_str(&t);
}

check_result *
check_claims(model *m, const derivation *d, const rule_set *rs, unsigned long seed, dc_error *err,
             mem_pool *err_pool)
{
    checker c = {m, d, rs, m->terms, m->pool, seed, err, err_pool, 0, 0, NULL};
    check_result *res = mem_zalloc(c.pool, sizeof *res);
    res->r = mem_zalloc(c.pool, (m->nsymbols + 1) * sizeof *res->r);
    res->all_hold = 1;
    for (size_t i = 0; i < m->nsymbols && !c.failed; i++) {
        const symbol *s = m->symbols[i];
        if (s->kind != SYM_CLAIM)
            continue;
        claim_result *r = &res->r[res->n];
        r->claim = s;
        r->line = line_of(m, s);
        r->follows = CONVENTION_AUTO;
        judge(&c, r, res->r, res->n);
        res->n++;
        res->all_hold &= r->verdict == CLAIM_HOLDS;
    }
    if (c.failed)
        return NULL;
    res->mixing = mixing(&c, res);
    if (res->mixing != NULL)
        res->all_hold = 0;
    return res;
}
