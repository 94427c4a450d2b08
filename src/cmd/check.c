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
    const label_assumption_set *assume; /* the labels as normal forms take them; NULL: declared */
    const check_result *res;            /* the claims judged so far */
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

/* dJ/dV where J does not depend on V (D has no gradient of V): zero, of
   V's shape. */
static const term *
zero_gradient(checker *c, const symbol *v)
{
    char why[SHAPE_WHY];
    const term *args[2] = {term_const_si(c->tab, 0, 1), term_symbol(c->tab, v)};
    return term_make(c->tab, OP_MUL, 0, 0, args, 2, why);
}

/* dJ/dV (m * dJ/dV for an intermediate V under CONV deferred) as D writes
   it, in its gradient names; zero of V's shape when J does not depend on
   V. */
static const term *
gradient_formula(checker *c, const symbol *v, convention conv)
{
    const gradient *g = derive_find(c->d, v);
    if (g == NULL)
        return zero_gradient(c, v);
    return conv == CONVENTION_DEFERRED ? g->deferred : g->absorbed;
}

/* The result of the claim S judged so far, or NULL. */
static const claim_result *
result_of(const checker *c, const symbol *s)
{
    for (size_t i = 0; c->res != NULL && i < c->res->n; i++)
        if (c->res->r[i].claim == s)
            return &c->res->r[i];
    return NULL;
}

/* What the claim S stands for when earlier claims are taken as right: the
   true gradient of the version it was found to be (its target until it is
   judged), or, for a working step that is none, its own formula over the
   steps before it. */
static const term *
taken_as_right(checker *c, const symbol *s, convention conv)
{
    const claim_result *r = result_of(c, s);
    if (s->target == NULL || (r != NULL && r->verdict == CLAIM_STEP))
        return s->definition;
    return gradient_formula(c, r != NULL ? r->of : s->target, conv);
}

/* T with every gradient name (of D, in convention CONV) and every claim
   (their own expressions when YOURS, what they stand for taken as right
   otherwise) written out, and every subterm that is a definition's formula
   named (sigmoid(Z2) is A2). A subterm that no longer fits its shapes once
   written out (a claim of the wrong shape) stays as written. */
static const term *
expand(checker *c, const term *t, convention conv, int yours)
{
    term_map *with = term_map_new(c->pool);
    derive_name_formulas(c->d, conv, with);
    for (size_t i = 0; i < c->m->nsymbols; i++) {
        const symbol *s = c->m->symbols[i];
        const term *f = s->definition;
        if (s->kind == SYM_CLAIM)
            term_map_put(with, term_symbol(c->tab, s), yours ? f : taken_as_right(c, s, conv));
        else if (s->kind == SYM_DEF && f != NULL && f->op != OP_SYM) {
            const term *named = term_map_get(with, f);
            if (named == NULL)
                term_map_put(with, f, term_symbol(c->tab, s));
            else /* s = 1/(1+np.exp(-Z)) in a backward pass is the A defined so */
                term_map_put(with, term_symbol(c->tab, s), named);
            if (f->op == OP_RELU) { /* the mask (A > 0) of A = relu(Z) is (Z > 0) */
                const term *zero = term_const_si(c->tab, 0, 1);
                term_map_put(with, op2(c, OP_STEP, term_symbol(c->tab, s), zero),
                             op2(c, OP_STEP, f->args[0], zero));
            }
        }
    }
    return term_replace(c->tab, t, with, term_map_new(c->pool),
                        TERM_REPLACE_DEEP | TERM_REPLACE_KEEP_MISFITS);
}

static const term *
normal(checker *c, const term *t)
{
    if (t == NULL || c->failed)
        return NULL;
    const term *n =
        derive_simplify(c->tab, c->rs, c->assume, t, NULL, &c->steps, c->err, c->err_pool);
    if (n == NULL)
        c->failed = 1;
    return n;
}

static int
same(checker *c, const term *a, const term *b)
{
    return a != NULL && b != NULL && normal(c, a) == normal(c, b);
}

/* The true gradient of V, which a claim is about, in convention CONV, in
   forward names. */
static const term *
truth(checker *c, const symbol *v, convention conv)
{
    return expand(c, gradient_formula(c, v, conv), conv, 0);
}

/* ---- numbers ---- */

/* A point that could not be evaluated for want of memory must not count as
   a point that could not be evaluated: that would quietly change a verdict. */
static int
evaluated(checker *c, int ok, const char *why)
{
    if (!ok && strcmp(why, "out of memory") == 0)
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
    int ok = evaluated(c, sample_bind(ev, c->pool, c->m, &spec, why, sizeof why), why) &&
             evaluated(c, eval_term(ev, a, &x, why, sizeof why), why) &&
             evaluated(c, eval_term(ev, b, &y, why, sizeof why), why) &&
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
        if (!evaluated(c, sample_bind(ev, c->pool, c->m, &spec, why, sizeof why), why) ||
            !evaluated(c, eval_term(ev, a, &x, why, sizeof why), why) ||
            !evaluated(c, eval_term(ev, b, &y, why, sizeof why), why) ||
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
            if (v == NULL)
                continue;
            term_map *with = term_map_new(c->pool); /* F with NODE as V */
            term_map_put(with, node, v);
            const term *g = term_replace(c->tab, f, with, term_map_new(c->pool), 0);
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

/* The activations whose derivatives a diagnosis tells apart. */
static const term_op activations[] = {OP_TANH, OP_SIGMOID, OP_RELU};
enum { NACTIVATIONS = sizeof activations / sizeof activations[0], NFACTORS = NACTIVATIONS + 2 };

/* The factors a gradient through A = act(Z) may have been written with, in
   A's name: each activation's derivative as its adjoint rule in the rule
   base has it (1 - A^2 for tanh; NULL when the rule base has none), then
   two slips, 1 - A and no factor at all. */
static void
derivative_factors(checker *c, const symbol *a, const term *def, const term *factor[NFACTORS])
{
    const term *A = term_symbol(c->tab, a), *one = term_const_si(c->tab, 1, 1);
    for (size_t k = 0; k < NACTIVATIONS; k++)
        factor[k] = derive_activation_derivative(c->tab, c->rs, activations[k], def->args[0], A);
    factor[NACTIVATIONS] = op2(c, OP_ADD, one, op1(c, OP_NEG, A));
    factor[NACTIVATIONS + 1] = one;
}

/* F, the formula of a claim whose truth is T, with an activation's
   derivative where another factor belongs: which, in words, or NULL. */
static const char *
wrong_derivative(checker *c, const term *f, const term *t)
{
    for (size_t i = 0; i < c->m->nsymbols; i++) {
        const symbol *a = c->m->symbols[i];
        if (a->kind != SYM_DEF || a->definition == NULL)
            continue;
        /* 1 / (1 + np.exp(-Z)) is sigmoid(Z) here too */
        const term *def = rules_recognise(c->rs, NULL, c->tab, a->definition, NULL, &c->steps,
                                          c->err, c->err_pool);
        if (def == NULL)
            def = a->definition;
        size_t right = 0;
        while (right < NACTIVATIONS && activations[right] != def->op)
            right++;
        if (right == NACTIVATIONS)
            continue;
        const term *factor[NFACTORS];
        derivative_factors(c, a, def, factor);
        const term *r = factor[right];
        for (size_t w = 0; w < NFACTORS && r != NULL; w++) {
            const term *wrong = factor[w];
            if (w == right || wrong == NULL ||
                !same(c, op2(c, OP_MUL, f, r), op2(c, OP_MUL, t, wrong)))
                continue;
            text s;
            text_init(&s, c->pool);
            text_printf(&s, "uses %s where %s = %s(%s) needs %s", show(c, wrong), a->name,
                        term_op_name(def->op), show(c, def->args[0]), show(c, r));
            if (w < NACTIVATIONS)
                text_printf(&s, " (%s's derivative used for %s)", term_op_name(activations[w]),
                            term_op_name(def->op));
            return text_str(&s);
        }
    }
    return NULL;
}

/* Whether F is the truth of V under CONV once the label Y is assumed
   onehot: derived again under that assumption, which is passed along, so
   the model (shared by every call on a loaded one) is never changed. */
static int
holds_if_onehot(checker *c, const symbol *y, const symbol *v, const term *f, convention conv)
{
    static const label_assumption onehot = LABEL_ONEHOT;
    label_assumption_set assume = {&y, &onehot, 1};
    dc_error scratch;
    const derivation *d = derive(c->m, c->rs, &assume, &scratch, c->pool);
    if (d == NULL)
        return 0;
    const derivation *declared = c->d;
    c->d = d;
    c->assume = &assume;
    int holds = same(c, f, truth(c, v, conv));
    c->d = declared;
    c->assume = NULL;
    return holds;
}

/* The claim would hold if a label's columns summed to 1: the assumption. */
static const char *
missing_label_assumption(checker *c, const symbol *v, const term *f, convention conv)
{
    for (size_t i = 0; i < c->m->nsymbols; i++) {
        const symbol *y = c->m->symbols[i];
        if (y->kind == SYM_LABEL && y->label == LABEL_ANY && holds_if_onehot(c, y, v, f, conv))
            return words(c,
                         "holds only if the columns of %s sum to 1: declare it onehot or prob "
                         "(label %s[...] onehot)%s",
                         y->name, y->name, "");
    }
    return NULL;
}

/* F is T times or over a scalar hyperparameter of the model (keep_prob,
   lambd: a scalar input or a definition of a constant): which, in words,
   or NULL. */
static const char *
wrong_scalar_factor(checker *c, const term *f, const term *t)
{
    for (size_t i = 0; i < c->m->nsymbols; i++) {
        const symbol *k = c->m->symbols[i];
        int constant = k->kind == SYM_DEF && k->definition != NULL && k->definition->op == OP_CONST;
        if (k->shape.rank != 0 || !(k->kind == SYM_INPUT || constant))
            continue;
        const term *kt = term_symbol(c->tab, k);
        if (same(c, f, op2(c, OP_MUL, t, kt)))
            return words(c, "has a factor %s too many (a / %s is missing)", k->name, k->name, "");
        if (same(c, f, op2(c, OP_DIV, t, kt)))
            return words(c, "lacks a factor %s (it divides by %s where it should not)", k->name,
                         k->name, "");
    }
    return NULL;
}

/* Why F (the formula of a claim about V, earlier claims taken as right) is
   not T. */
static const char *
diagnose(checker *c, const symbol *v, const term *f, const term *t, convention conv)
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
        r = wrong_scalar_factor(c, f, t);
    if (r == NULL && square)
        r = missing_label_assumption(c, v, f, conv);
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

/* Whether T uses, directly or through other claims, a claim whose formula
   does not type-check. */
static int
uses_ill_typed(const term *t)
{
    if (t->op == OP_SYM)
        return t->sym->kind == SYM_CLAIM &&
               (t->sym->shape_error != NULL || uses_ill_typed(t->sym->definition));
    for (unsigned i = 0; i < t->nargs; i++)
        if (uses_ill_typed(t->args[i]))
            return 1;
    return 0;
}

/* T as a scalar when ONE: the entry of a value of one entry (its sum). */
static const term *
entry(checker *c, const term *t, int one)
{
    if (!one || t->shape.rank == 0)
        return t;
    char why[SHAPE_WHY];
    return term_make(c->tab, OP_SUM, -1, 0, &t, 1, why);
}

/* Whether T uses the claim CL, directly or through working steps and
   working values (claims that stand for their own formulas). */
static int
uses_through_steps(checker *c, const term *t, const symbol *cl)
{
    if (t->op == OP_SYM) {
        if (t->sym == cl)
            return 1;
        const claim_result *r = t->sym->kind == SYM_CLAIM ? result_of(c, t->sym) : NULL;
        return r != NULL && r->verdict == CLAIM_STEP &&
               uses_through_steps(c, t->sym->definition, cl);
    }
    for (unsigned i = 0; i < t->nargs; i++)
        if (uses_through_steps(c, t->args[i], cl))
            return 1;
    return 0;
}

/* Judge R's claim as a claim about V (its target, or another version of
   the target's name). */
static void
judge_as(checker *c, claim_result *r, const claim_result *earlier, size_t nearlier, const symbol *v)
{
    const symbol *cl = r->claim;
    r->of = v;
    r->method = "symbolic and numeric";
    convention convs[2];
    int nconv = 0;
    /* the earlier claims this one uses: when they hold in one convention,
       this one is read in that convention too */
    int upstream_wrong = 0;
    convention upstream = CONVENTION_AUTO;
    for (size_t i = 0; i < nearlier; i++) {
        if (!uses_through_steps(c, cl->definition, earlier[i].claim))
            continue;
        if (earlier[i].verdict != CLAIM_HOLDS && earlier[i].verdict != CLAIM_STEP)
            upstream_wrong = 1;
        else if (earlier[i].verdict == CLAIM_HOLDS && earlier[i].follows != CONVENTION_AUTO &&
                 earlier[i].of->kind != SYM_PARAM)
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
    const term *yours = expand(c, term_symbol(c->tab, cl), CONVENTION_ABSORBED, 1);
    const gradient *g = derive_find(c->d, v);
    r->expected = g != NULL ? derive_pretty(c->d, g, convs[0]) : term_const_si(c->tab, 0, 1);
    r->yours = yours;
    if (cl->shape_error != NULL) { /* its formula has no shape: nothing to evaluate */
        r->verdict = CLAIM_SHAPE;
        r->reason = words(c, "does not type-check: %s%s%s", cl->shape_error, "", "");
        r->method = "shapes, before any numbers";
        r->yours = NULL;
        return;
    }
    /* one entry either way (db a scalar, b [1, 1]): NumPy's broadcasting
       carries it, so the entries are compared, and a note says so */
    int one = !shape_equal(&cl->shape, &v->shape) && shape_is_one_entry(&cl->shape) &&
              shape_is_one_entry(&v->shape);
    if (!shape_equal(&cl->shape, &v->shape) && !one) {
        text t;
        text_init(&t, c->pool);
        text_printf(&t, "has shape ");
        shape_print(&t, &cl->shape);
        text_printf(&t, " but %s is ", v->name);
        shape_print(&t, &v->shape);
        const term *f = expand(c, cl->definition, convs[0], 0);
        const char *why = diagnose(c, v, f, truth(c, v, convs[0]), convs[0]);
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
        truths[k] = entry(c, truth(c, v, convs[k]), one);
        formulas[k] = entry(c, expand(c, cl->definition, convs[k], 0), one);
        int sym = same(c, entry(c, yours, one), truths[k]);
        int num = numerically_equal(c, entry(c, yours, one), truths[k]);
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
        if (one) {
            text t;
            text_init(&t, c->pool);
            text_printf(&t, "%s is ", cl->name);
            shape_print(&t, &cl->shape);
            text_printf(&t, " and %s is ", v->name);
            shape_print(&t, &v->shape);
            text_printf(&t,
                        ": one entry either way, and NumPy's broadcasting keeps %s's shape in "
                        "%s - learning_rate * %s",
                        v->name, v->name, cl->name);
            r->note = text_str(&t);
        }
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
                if (earlier[i].verdict != CLAIM_HOLDS && earlier[i].verdict != CLAIM_STEP &&
                    uses_through_steps(c, cl->definition, earlier[i].claim))
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
        r->reason = diagnose(c, v, formulas[k], truths[k], convs[k]);
    if (r->reason == NULL)
        r->reason = "matches none of the usual mistakes";
    /* your formula over a claim that does not type-check has no values */
    if (!uses_ill_typed(cl->definition))
        r->counterexample = counterexample(c, cl, yours, truths[0]);
}

/* The versions of V's name (Python's reassignment: A1, A1', A1''), V
   first, then the others from the last assigned back to the first, into
   OUT when it is not NULL; their number. */
static size_t
versions_of(const symbol *v, const symbol **out)
{
    const symbol *last = v;
    while (last->later != NULL)
        last = last->later;
    size_t n = 0;
    if (out != NULL)
        out[n] = v;
    n++;
    for (const symbol *u = last; u != NULL; u = u->earlier)
        if (u != v) {
            if (out != NULL)
                out[n] = u;
            n++;
        }
    return n;
}

/* "A1'' (line 16)": a version of a reassigned name, and where it was
   assigned. */
static const char *
version_words(checker *c, const symbol *v)
{
    text t;
    text_init(&t, c->pool);
    text_printf(&t, "%s (line %d)", v->name, line_of(c->m, v));
    return text_str(&t);
}

/* Judge R's claim: about its target, or, when the target's name was
   assigned several times, about whichever of its versions the claim's
   gradient is. A working step that is none of them is CLAIM_STEP; the
   name's last assignment, the claim, is diagnosed against the version that
   explains it best (a mistake found rather than none). */
static void
judge(checker *c, claim_result *r, const claim_result *earlier, size_t nearlier)
{
    const symbol *v = r->claim->target;
    if (v == NULL) { /* a working value of pasted code: the claims that use it are judged */
        r->verdict = CLAIM_STEP;
        r->method = "not judged";
        r->yours = expand(c, term_symbol(c->tab, r->claim), CONVENTION_ABSORBED, 1);
        r->reason = words(c,
                          "a working value: the model has no '%s', so %s is the gradient of "
                          "no name; the claims that use it are judged",
                          r->claim->name + (r->claim->name[0] == 'd'), r->claim->name, "");
        return;
    }
    size_t n = versions_of(v, NULL);
    if (n == 1 && r->claim->later == NULL) {
        judge_as(c, r, earlier, nearlier, v);
        return;
    }
    const symbol **vs = mem_alloc(c->pool, n * sizeof *vs);
    versions_of(v, vs);
    claim_result *tries = mem_alloc(c->pool, n * sizeof *tries);
    for (size_t k = 0; k < n && !c->failed; k++) {
        tries[k] = *r;
        judge_as(c, &tries[k], earlier, nearlier, vs[k]);
        if (tries[k].verdict == CLAIM_HOLDS) {
            *r = tries[k];
            return;
        }
    }
    if (c->failed)
        return;
    if (r->claim->later != NULL) {
        text t;
        text_init(&t, c->pool);
        if (n == 1)
            text_printf(&t, "a working step: not the gradient of %s", v->name);
        else {
            text_printf(&t, "a working step: the gradient of no version of %s (", vs[n - 1]->name);
            for (size_t k = n; k-- > 0;)
                text_printf(&t, "%s%s", k == n - 1 ? "" : ", ", version_words(c, vs[k]));
            text_putc(&t, ')');
        }
        text_printf(&t, "; the last assignment to %s is the claim", r->claim->name);
        *r = tries[0];
        r->verdict = CLAIM_STEP;
        r->reason = text_str(&t);
        r->counterexample = NULL;
        return;
    }
    size_t best = 0;
    for (size_t k = n; k-- > 0;)
        if (tries[k].verdict == CLAIM_GIVEN_YOURS ||
            (tries[best].verdict != CLAIM_GIVEN_YOURS && tries[k].reason != NULL &&
             strcmp(tries[k].reason, "matches none of the usual mistakes") != 0))
            best = k;
    *r = tries[best];
    text t;
    text_init(&t, c->pool);
    text_printf(&t, "%s (as the gradient of %s)", r->reason, version_words(c, vs[best]));
    r->reason = text_str(&t);
}

/* Intermediate claims that hold in different conventions. */
static const char *
mixing(checker *c, const check_result *res)
{
    const claim_result *first[2] = {NULL, NULL};
    for (size_t i = 0; i < res->n; i++) {
        const claim_result *r = &res->r[i];
        /* a working step is not the claim: the name's last assignment is */
        if (r->verdict == CLAIM_STEP || r->claim->later != NULL || r->of->kind == SYM_PARAM ||
            r->verdict == CLAIM_REFUTED || r->verdict == CLAIM_SHAPE ||
            r->follows == CONVENTION_AUTO)
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
                first[0]->claim->name, first[0]->line, first[0]->of->name, first[1]->claim->name,
                first[1]->line, first[1]->of->name);
    return text_str(&t);
}

check_result *
check_claims(model *m, const derivation *d, const rule_set *rs, unsigned long seed, dc_error *err,
             mem_pool *err_pool)
{
    checker c = {m, d, rs, m->terms, m->pool, seed, err, err_pool, 0, 0, NULL, NULL};
    check_result *res = mem_zalloc(c.pool, sizeof *res);
    c.res = res;
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
        /* a working step that is no gradient fails nothing by itself: the
           claim is the name's last assignment */
        res->all_hold &= r->verdict == CLAIM_HOLDS || r->verdict == CLAIM_STEP;
    }
    if (c.failed)
        return NULL;
    res->mixing = mixing(&c, res);
    if (res->mixing != NULL)
        res->all_hold = 0;
    return res;
}
