/* check.c: the check command: claims judged against the derivation, mistakes diagnosed; see
 * check.h. */
#include "cmd/check.h"

#include <stdio.h>
#include <string.h>

#include "lang/print.h"
#include "sym/canon.h"
#include "sym/pretty.h"
#include "num/agree.h"

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
    sample_sizes sizes[CHECK_SIZES];    /* the size assignments of the points */
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

/* T with every gradient name (of D, in convention CONV) and every claim
   (their own expressions when YOURS, the true gradients in CONV otherwise)
   written out, and every subterm that is a definition's formula named
   (sigmoid(Z2) is A2). A subterm that no longer fits its shapes once
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
            term_map_put(with, term_symbol(c->tab, s),
                         yours ? f : gradient_formula(c, s->target, conv));
        else if (s->kind == SYM_DEF && f != NULL && f->op != OP_SYM &&
                 term_map_get(with, f) == NULL)
            term_map_put(with, f, term_symbol(c->tab, s));
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

/* The true gradient for claim CL in convention CONV, in forward names. */
static const term *
truth(checker *c, const symbol *cl, convention conv)
{
    return expand(c, gradient_formula(c, cl->target, conv), conv, 0);
}

/* ---- numbers ---- */

/* The random points of the numeric evidence from FIRST (COUNT of them):
   entries k / 2^30, point P drawn at the size assignment P % CHECK_SIZES,
   a point that cannot be evaluated skipped. */
static agree_points
points(const checker *c, unsigned long first, int count)
{
    return (agree_points){.m = c->m,
                          .seed = c->seed,
                          .first = first,
                          .count = count,
                          .bits = 30,
                          .sizes = c->sizes,
                          .nsizes = CHECK_SIZES,
                          .skip = 1};
}

/* MPFR's side of the check: 256 bits, and a gap relative to the largest
   entry of the right side or 1, whichever is larger, of at most 2^-200; a
   larger gap is a difference once an interval enclosure at 256 or 1024
   bits excludes 0. */
enum { CHECK_PREC = 256, CHECK_LOG2_TOL = -200, CHECK_ENCLOSURE_PREC = 1024 };

/* How many size assignments R's points were drawn at. */
static int
sizes_compared(const agree_result *r)
{
    int n = 0;
    for (unsigned long s = r->sizes_compared; s != 0; s &= s - 1)
        n++;
    return n;
}

/* Agreement that counts as evidence: points at two size assignments or
   more, so at least one that is not the declared one. */
static int
agreement(agree_status st, const agree_result *r)
{
    return st == AGREE_EQUAL && sizes_compared(r) >= 2;
}

/* Whether an interval enclosure confirms the difference MPFR found at
   point P: METHOD_ENCLOSURE into E, or 0 with WHY. */
static int
enclosed(checker *c, const term *a, const term *b, unsigned long p, claim_evidence *e,
         const agree_result *gap, const char **why)
{
    static const long precs[] = {CHECK_PREC, CHECK_ENCLOSURE_PREC};
    agree_points at = points(c, p, 1);
    agree_result r;
    for (size_t k = 0; k < sizeof precs / sizeof precs[0]; k++)
        if (agree_enclosure(&r, c->pool, &at, precs[k], a, b) == AGREE_DIFFERENT) {
            *e = (claim_evidence){.method = METHOD_ENCLOSURE, .witness = (long)p, .bits = precs[k]};
            return 1;
        }
    text t;
    text_init(&t, c->pool);
    text_printf(&t,
                "MPFR at %d bits finds a gap of 2^%.0f at the random point %lu, but %s, so it may "
                "be rounding",
                CHECK_PREC, gap->log2_gap, p, r.why);
    *why = text_str(&t);
    return 0;
}

/* What the numbers say of A = B, and by which method (into E): EQUAL, in
   exact rationals or else in MPFR, at points of two size assignments or
   more; DIFFERENT, a nonzero exact difference or an MPFR one that an
   interval enclosure confirms, at E's witness; COULD_NOT_RUN, with WHY,
   when neither could be established. */
static agree_status
weigh(checker *c, const term *a, const term *b, claim_evidence *e, const char **why)
{
    agree_points at = points(c, 0, CHECK_POINTS);
    agree_result r;
    *e = (claim_evidence){.method = METHOD_NONE, .witness = -1};
    *why = NULL;
    agree_status st = agree_exact(&r, c->pool, &at, a, b);
    if (st == AGREE_DIFFERENT) {
        *e = (claim_evidence){.method = METHOD_EXACT, .witness = (long)r.point};
        return st;
    }
    if (agreement(st, &r)) {
        *e = (claim_evidence){.method = METHOD_EXACT,
                              .points = r.compared,
                              .sizes_compared = r.sizes_compared,
                              .witness = -1};
        return st;
    }
    char exact_why[sizeof r.why];
    snprintf(exact_why, sizeof exact_why, "%s", r.why);
    st = agree_mpfr(&r, c->pool, &at, CHECK_PREC, 1, CHECK_LOG2_TOL, a, b);
    if (st == AGREE_DIFFERENT)
        return enclosed(c, a, b, r.point, e, &r, why) ? st : AGREE_COULD_NOT_RUN;
    if (agreement(st, &r)) {
        *e = (claim_evidence){.method = METHOD_NUMERIC,
                              .points = r.compared,
                              .sizes_compared = r.sizes_compared,
                              .witness = -1,
                              .bits = CHECK_PREC};
        return st;
    }
    text t;
    text_init(&t, c->pool);
    if (st == AGREE_EQUAL)
        text_printf(&t, "equal in MPFR at one size assignment only; elsewhere %s", r.why);
    else
        text_printf(&t, "no random point could be evaluated (exact: %s; MPFR: %s)", exact_why,
                    r.why);
    *why = text_str(&t);
    return AGREE_COULD_NOT_RUN;
}

/* "m = 3, n_x = 5" for the size assignment S. */
static void
sizes_words(text *t, const sample_sizes *s)
{
    for (size_t k = 0; k < s->count; k++)
        text_printf(t, "%s%s = %ld", k > 0 ? ", " : "", s->dims[k]->name, s->n[k]);
}

/* "at the random point 1 of seed 1 (n_x = 3, m = 7), dW2[0][3] is 0.0351
   by your formula but 0.00439 by the derivation": at the witness point P
   (its sizes named when they are not the declared ones), at the entry
   where MPFR finds the largest difference; NULL when it finds none. */
static const char *
counterexample(checker *c, const symbol *cl, const term *yours, const term *right, long p)
{
    agree_points at = points(c, (unsigned long)p, 1);
    agree_result r;
    if (p < 0 ||
        agree_mpfr(&r, c->pool, &at, CHECK_PREC, 1, CHECK_LOG2_TOL, yours, right) !=
            AGREE_DIFFERENT ||
        r.i < 0)
        return NULL;
    text t;
    text_init(&t, c->pool);
    text_printf(&t, "at the random point %ld of seed %lu", p, c->seed);
    if (p % CHECK_SIZES != 0) {
        text_puts(&t, " (");
        sizes_words(&t, &c->sizes[p % CHECK_SIZES]);
        text_puts(&t, ")");
    }
    text_printf(&t, ", %s", cl->name);
    if (cl->shape.rank == 2)
        text_printf(&t, "[%ld][%ld]", r.i, r.j);
    else if (cl->shape.rank == 1)
        text_printf(&t, "[%ld]", r.j);
    text_printf(&t, " is %.6g by your formula but %.6g by the derivation", r.a, r.b);
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
   the reason, with its code in *CODE, or NULL. */
static const char *
wrong_sum(checker *c, const term *f, const term *t, const term *node, dc_diagnosis *code)
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
            *code = tries[k].axis_flip ? DC_DIAGNOSIS_AXIS : DC_DIAGNOSIS_KEEPDIMS;
            if (!tries[k].axis_flip)
                return node->keepdims ? "keeps an axis the gradient does not have (keepdims)"
                                      : "loses keepdims=True: the sum must keep its axis as size "
                                        "1 to have the param's shape";
            return words(c, tries[k].what, a, b,
                         keep != node->keepdims ? " (and keepdims=True)" : "");
        }
    }
    for (unsigned k = 0; k < node->nargs; k++) {
        const char *r = wrong_sum(c, f, t, node->args[k], code);
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
derivative_factors(checker *c, const symbol *a, const term *factor[NFACTORS])
{
    const term *A = term_symbol(c->tab, a), *one = term_const_si(c->tab, 1, 1);
    for (size_t k = 0; k < NACTIVATIONS; k++)
        factor[k] =
            derive_activation_derivative(c->tab, c->rs, activations[k], a->definition->args[0], A);
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
        size_t right = 0;
        while (right < NACTIVATIONS && activations[right] != a->definition->op)
            right++;
        if (right == NACTIVATIONS)
            continue;
        const term *factor[NFACTORS];
        derivative_factors(c, a, factor);
        const term *r = factor[right];
        for (size_t w = 0; w < NFACTORS && r != NULL; w++) {
            const term *wrong = factor[w];
            if (w == right || wrong == NULL ||
                !same(c, op2(c, OP_MUL, f, r), op2(c, OP_MUL, t, wrong)))
                continue;
            text s;
            text_init(&s, c->pool);
            text_printf(&s, "uses %s where %s = %s(%s) needs %s", show(c, wrong), a->name,
                        term_op_name(a->definition->op), show(c, a->definition->args[0]),
                        show(c, r));
            if (w < NACTIVATIONS)
                text_printf(&s, " (%s's derivative used for %s)", term_op_name(activations[w]),
                            term_op_name(a->definition->op));
            return text_str(&s);
        }
    }
    return NULL;
}

/* Whether F is CL's truth under CONV once the label Y is assumed onehot:
   derived again under that assumption, which is passed along, so the
   model (shared by every call on a loaded one) is never changed. */
static int
holds_if_onehot(checker *c, const symbol *y, const symbol *cl, const term *f, convention conv)
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
    int holds = same(c, f, truth(c, cl, conv));
    c->d = declared;
    c->assume = NULL;
    return holds;
}

/* The claim would hold if a label's columns summed to 1: the assumption. */
static const char *
missing_label_assumption(checker *c, const symbol *cl, const term *f, convention conv)
{
    for (size_t i = 0; i < c->m->nsymbols; i++) {
        const symbol *y = c->m->symbols[i];
        if (y->kind == SYM_LABEL && y->label == LABEL_ANY && holds_if_onehot(c, y, cl, f, conv))
            return words(c,
                         "holds only if the columns of %s sum to 1: declare it onehot or prob "
                         "(label %s[...] onehot)%s",
                         y->name, y->name, "");
    }
    return NULL;
}

/* Whether A and B are equal: the same normal form, or agreement at
   random points of several size assignments. */
static int
equal(checker *c, const term *a, const term *b)
{
    claim_evidence e;
    const char *why;
    return same(c, a, b) || weigh(c, a, b, &e, &why) == AGREE_EQUAL;
}

/* Whether T holds the batch size N as a divisor: the constant 1/N or -1/N,
   or a quotient by N or -N. */
static int
divides_by(checker *c, const term *t, long n)
{
    if (t == term_const_si(c->tab, 1, (unsigned long)n) ||
        t == term_const_si(c->tab, -1, (unsigned long)n))
        return 1;
    if (t->op == OP_DIV &&
        (t->args[1] == term_const_si(c->tab, n, 1) || t->args[1] == term_const_si(c->tab, -n, 1)))
        return 1;
    for (unsigned k = 0; k < t->nargs; k++)
        if (divides_by(c, t->args[k], n))
            return 1;
    return 0;
}

/* F, the formula of a claim whose truth is T, with the declared batch
   size N written as a number (1/N, N, or their negatives) where m belongs:
   equal to T once m stands in its place (so right at m = N only). In
   words, or NULL. */
static const char *
hard_coded_batch(checker *c, const term *f, const term *t)
{
    long n = c->m->batch->value;
    if (n <= 1) /* 1 is every other constant too */
        return NULL;
    const term *m = batch(c);
    const term *inverse = op2(c, OP_DIV, term_const_si(c->tab, 1, 1), m);
    term_map *with = term_map_new(c->pool);
    term_map_put(with, term_const_si(c->tab, 1, (unsigned long)n), inverse);
    term_map_put(with, term_const_si(c->tab, -1, (unsigned long)n), op1(c, OP_NEG, inverse));
    term_map_put(with, term_const_si(c->tab, n, 1), m);
    term_map_put(with, term_const_si(c->tab, -n, 1), op1(c, OP_NEG, m));
    const term *g = term_replace(c->tab, f, with, term_map_new(c->pool), 0);
    if (g == NULL || g == f || !equal(c, g, t))
        return NULL;
    text s;
    text_init(&s, c->pool);
    text_printf(&s, "hard-codes the batch size %ld: write %s", n,
                divides_by(c, f, n) ? "1/m" : "m");
    return text_str(&s);
}

/* Why F (the claim's formula, earlier claims taken as right) is not T:
   the words, and their code in *CODE; NULL, with *CODE
   DC_DIAGNOSIS_UNKNOWN, when none of the usual mistakes explains it. */
static const char *
diagnose(checker *c, const symbol *cl, const term *f, const term *t, convention conv,
         dc_diagnosis *code)
{
    int square = shape_equal(&f->shape, &t->shape);
    if (c->m->batch != NULL && square) {
        const char *r = hard_coded_batch(c, f, t);
        *code = DC_DIAGNOSIS_HARD_CODED_BATCH;
        if (r != NULL)
            return r;
        *code = DC_DIAGNOSIS_MISSING_INV_M;
        if (same(c, f, op2(c, OP_MUL, batch(c), t)))
            return "has a factor m too many (a 1/m is missing)";
        *code = DC_DIAGNOSIS_EXTRA_INV_M;
        if (same(c, f, op2(c, OP_DIV, t, batch(c))))
            return "has a factor 1/m too many";
    }
    *code = DC_DIAGNOSIS_SIGN;
    if (square && same(c, f, op1(c, OP_NEG, t)))
        return "has the wrong sign";
    const term *ft = op1(c, OP_TRANSPOSE, f);
    *code = DC_DIAGNOSIS_TRANSPOSE;
    if (ft != NULL && shape_equal(&ft->shape, &t->shape) && same(c, ft, t))
        return "is the transpose of the gradient: a .T is missing or extra";
    const char *r = wrong_sum(c, f, t, f, code);
    *code = r != NULL ? *code : DC_DIAGNOSIS_ACTIVATION_DERIVATIVE;
    if (r == NULL && square)
        r = wrong_derivative(c, f, t);
    *code = r != NULL ? *code : DC_DIAGNOSIS_LABEL_ASSUMPTION;
    if (r == NULL && square)
        r = missing_label_assumption(c, cl, f, conv);
    *code = r != NULL ? *code : DC_DIAGNOSIS_UNKNOWN;
    return r;
}

const char *
check_verdict_code(claim_verdict v)
{
    static const char *const codes[] = {[CLAIM_HOLDS] = "ok",
                                        [CLAIM_GIVEN_YOURS] = "given",
                                        [CLAIM_REFUTED] = "wrong",
                                        [CLAIM_SHAPE] = "shape",
                                        [CLAIM_UNDECIDED] = "undecided"};
    return (unsigned)v < sizeof codes / sizeof codes[0] ? codes[v] : NULL;
}

const char *
check_diagnosis_code(dc_diagnosis d)
{
    static const char *const codes[] = {
        [DC_DIAGNOSIS_NONE] = NULL,
        [DC_DIAGNOSIS_UNKNOWN] = "unknown",
        [DC_DIAGNOSIS_MISSING_INV_M] = "missing_inv_m",
        [DC_DIAGNOSIS_EXTRA_INV_M] = "extra_inv_m",
        [DC_DIAGNOSIS_HARD_CODED_BATCH] = "hard_coded_batch",
        [DC_DIAGNOSIS_SIGN] = "sign",
        [DC_DIAGNOSIS_TRANSPOSE] = "transpose",
        [DC_DIAGNOSIS_AXIS] = "axis",
        [DC_DIAGNOSIS_KEEPDIMS] = "keepdims",
        [DC_DIAGNOSIS_ACTIVATION_DERIVATIVE] = "activation_derivative",
        [DC_DIAGNOSIS_LABEL_ASSUMPTION] = "label_assumption",
        [DC_DIAGNOSIS_ZERO_GRADIENT] = "zero_gradient",
        [DC_DIAGNOSIS_WRONG_EARLIER_CLAIMS] = "wrong_earlier_claims",
        [DC_DIAGNOSIS_UNSOUND_RULE] = "unsound_rule",
        [DC_DIAGNOSIS_NOT_DECIDABLE] = "not_decidable"};
    return (unsigned)d < sizeof codes / sizeof codes[0] ? codes[d] : NULL;
}

/* ---- one claim ---- */

static int
line_of(const model *m, const symbol *s)
{
    int line, col;
    source_position(&m->src, s->offset, &line, &col);
    return line;
}

/* Whether the claim CL, of which R is the result, has been judged to
   hold in convention CONV: its name then means what the derivation's
   gradient name means. */
static int
held_in(const claim_result *earlier, size_t nearlier, const symbol *v, convention conv)
{
    for (size_t i = 0; i < nearlier; i++)
        if (earlier[i].claim->target == v && earlier[i].verdict == CLAIM_HOLDS &&
            (earlier[i].follows == conv || earlier[i].follows == CONVENTION_AUTO))
            return 1;
    return 0;
}

/* T as the scalar it repeats when it is one (a scalar broadcast, or an
   elementwise operation on such: 1/m * 1 repeated to [1, m]), else NULL. */
static const term *
repeated_scalar(checker *c, const term *t)
{
    if (shape_is_scalar(&t->shape))
        return t;
    if (t->op == OP_BROADCAST)
        return shape_is_scalar(&t->args[0]->shape) ? t->args[0] : NULL;
    if (t->op != OP_MUL && t->op != OP_DIV && t->op != OP_ADD && t->op != OP_NEG)
        return NULL;
    const term *args[2];
    for (unsigned k = 0; k < t->nargs; k++)
        if ((args[k] = repeated_scalar(c, t->args[k])) == NULL)
            return NULL;
    char why[SHAPE_WHY];
    return term_make(c->tab, t->op, t->aux, t->keepdims, args, t->nargs, why);
}

/* T with every matrix product of a scalar repeated to a matrix written as
   a sum (s @ B is s * sum(B, axis=0, keepdims=True) on every row, A @ s
   is s * sum(A, axis=1, keepdims=True) on every column): NumPy has no
   product of a scalar, and the printer writes the repeated scalar as the
   scalar. */
static const term *
no_scalar_products(checker *c, const term *t)
{
    const term *args[8];
    int any = 0;
    for (unsigned k = 0; k < t->nargs && k < 8; k++) {
        args[k] = no_scalar_products(c, t->args[k]);
        any |= args[k] != t->args[k];
    }
    char why[SHAPE_WHY];
    if (any && t->nargs <= 8) {
        const term *u = term_rebuild(c->tab, t, args, why);
        if (u != NULL)
            t = u;
    }
    if (t->op != OP_MATMUL)
        return t;
    for (int side = 0; side < 2; side++) {
        const term *s = repeated_scalar(c, t->args[side]);
        if (s == NULL)
            continue;
        const term *n = normal(c, s);
        if (n != NULL)
            s = pretty_form(c->tab, n);
        const term *other = t->args[1 - side];
        const term *sum = term_make(c->tab, OP_SUM, side == 0 ? 0 : 1, 1, &other, 1, why);
        const term *prod =
            sum == NULL || s == term_const_si(c->tab, 1, 1) ? sum : op2(c, OP_MUL, s, sum);
        const term *u = prod != NULL ? term_broadcast(c->tab, prod, &t->shape, -1, why) : NULL;
        if (u != NULL)
            return u;
    }
    return t;
}

/* The gradient G in convention CONV as the expected line shows it: the
   derivation's pretty form, with the gradient names that no earlier claim
   holding in CONV defines written out (the reader's file defines no
   others; as written, or normalised again, whichever is shorter), and no
   product of a scalar: a line the parser takes. */
static const term *
expected_form(checker *c, const gradient *g, convention conv, const claim_result *earlier,
              size_t nearlier)
{
    term_map *with = term_map_new(c->pool);
    for (size_t i = 0; i < c->d->n; i++) {
        const gradient *h = &c->d->g[i];
        if (h == g || held_in(earlier, nearlier, h->of, conv))
            continue;
        const symbol *name = conv == CONVENTION_DEFERRED ? h->deferred_name : h->absorbed_name;
        const term *f = derive_pretty(c->d, h, conv);
        char why[SHAPE_WHY];
        /* a gradient that is a scalar repeated (dZ = 1 for J = sum(Z)) keeps its name's shape */
        if (!shape_equal(&f->shape, &name->shape) && shape_is_scalar(&f->shape))
            f = term_broadcast(c->tab, f, &name->shape, -1, why);
        if (f != NULL)
            term_map_put(with, term_symbol(c->tab, name), f);
    }
    const term *t = derive_pretty(c->d, g, conv);
    const term *u = term_replace(c->tab, t, with, term_map_new(c->pool),
                                 TERM_REPLACE_DEEP | TERM_REPLACE_KEEP_MISFITS);
    if (u != t) {
        const term *n = normal(c, u);
        t = n != NULL && strlen(show(c, pretty_form(c->tab, n))) < strlen(show(c, u))
                ? pretty_form(c->tab, n)
                : u;
    }
    return no_scalar_products(c, t);
}

/* What the numbers and the normal forms say of one reading of a claim. */
typedef struct reading {
    convention conv;
    const term *truth;   /* dJ/dV (m dJ/dV) in forward names */
    const term *formula; /* the claim's formula, earlier claims taken as right */
    int proved;          /* yours and the truth have one normal form */
    agree_status num;    /* what the numbers say of yours = truth */
    claim_evidence evidence;
    const char *why; /* num COULD_NOT_RUN: why */
} reading;

/* Whether the claim's formula in reading K equals its truth (the earlier
   claims taken as right), and by which method into E. */
static int
formula_holds(checker *c, const reading *k, claim_evidence *e)
{
    const char *why;
    if (same(c, k->formula, k->truth)) {
        *e = (claim_evidence){.method = METHOD_SYMBOLIC, .witness = -1};
        return 1;
    }
    return weigh(c, k->formula, k->truth, e, &why) == AGREE_EQUAL;
}

/* The convention the claim CL is read in and CONVS[0..NCONV) the
   conventions to try, UPSTREAM's first when known (the earlier claims it
   uses follow it). */
static int
conventions(checker *c, const symbol *v, convention upstream, int upstream_wrong,
            convention convs[2])
{
    if (c->m->batch == NULL || c->m->convention == CONVENTION_ABSORBED) {
        convs[0] = CONVENTION_ABSORBED;
        return 1;
    }
    if (c->m->convention == CONVENTION_DEFERRED) {
        convs[0] = CONVENTION_DEFERRED;
        return 1;
    }
    if (upstream != CONVENTION_AUTO && !upstream_wrong && v->kind == SYM_PARAM) {
        convs[0] = upstream;
        return 1;
    }
    convs[0] = upstream == CONVENTION_ABSORBED ? CONVENTION_ABSORBED : CONVENTION_DEFERRED;
    convs[1] = convs[0] == CONVENTION_DEFERRED ? CONVENTION_ABSORBED : CONVENTION_DEFERRED;
    return 2;
}

/* R as a claim of the wrong shape: both shapes, and the mistake when one
   of the usual ones explains it. */
static void
wrong_shape(checker *c, claim_result *r, convention conv)
{
    const symbol *cl = r->claim, *v = cl->target;
    text t;
    text_init(&t, c->pool);
    text_printf(&t, "has shape ");
    shape_print(&t, &cl->shape);
    text_printf(&t, " but %s is ", v->name);
    shape_print(&t, &v->shape);
    const term *f = expand(c, cl->definition, conv, 0);
    const char *why = diagnose(c, cl, f, truth(c, cl, conv), conv, &r->diagnosis);
    if (why != NULL)
        text_printf(&t, ": it %s", why);
    r->verdict = CLAIM_SHAPE;
    r->reason = text_str(&t);
    r->evidence = (claim_evidence){.method = METHOD_SHAPE, .witness = -1};
}

/* R holds in the readings RD[0..N) marked in HOLDS: which convention it
   follows, and the strongest method among them. */
static void
holds(checker *c, claim_result *r, const reading *rd, int n, const int *held)
{
    r->verdict = CLAIM_HOLDS;
    r->follows = n == 1               ? rd[0].conv
                 : held[0] && held[1] ? CONVENTION_AUTO
                 : held[0]            ? rd[0].conv
                                      : rd[1].conv;
    int k = held[0] ? 0 : 1;
    if (n > 1 && held[0] && held[1] && !rd[0].proved && rd[1].proved)
        k = 1;
    r->evidence =
        rd[k].proved ? (claim_evidence){.method = METHOD_SYMBOLIC, .witness = -1} : rd[k].evidence;
    /* a param's gradient is the same in both: say which its formula reads */
    if (r->follows == CONVENTION_AUTO && n > 1) {
        claim_evidence e;
        int ok0 = formula_holds(c, &rd[0], &e), ok1 = formula_holds(c, &rd[1], &e);
        if (ok0 != ok1)
            r->follows = ok0 ? rd[0].conv : rd[1].conv;
    }
}

/* R, refuted in every reading of RD[0..N) (each with a witness): the
   mistake in words, read in the convention that explains it (else the
   first), with a counterexample there. */
static void
refuted(checker *c, claim_result *r, const reading *rd, int n, const term *yours,
        const claim_result *earlier, size_t nearlier)
{
    const symbol *cl = r->claim, *v = cl->target;
    const gradient *g = derive_find(c->d, v);
    int k = 0;
    r->verdict = CLAIM_REFUTED;
    r->diagnosis = g == NULL ? DC_DIAGNOSIS_ZERO_GRADIENT : DC_DIAGNOSIS_UNKNOWN;
    if (g == NULL)
        r->reason =
            words(c, "is 0: the loss %s does not depend on %s%s", c->m->loss->name, v->name, "");
    for (int i = 0; i < n && r->reason == NULL; i++)
        if ((r->reason = diagnose(c, cl, rd[i].formula, rd[i].truth, rd[i].conv, &r->diagnosis)) !=
            NULL)
            k = i;
    if (r->reason == NULL)
        r->reason = "matches none of the usual mistakes";
    r->evidence = rd[k].evidence;
    if (g != NULL)
        r->expected = expected_form(c, g, rd[k].conv, earlier, nearlier);
    r->counterexample = counterexample(c, cl, yours, rd[k].truth, rd[k].evidence.witness);
}

/* The verdict on the claim R (its claim and line set), given the results
   of the claims before it, EARLIER[0..NEARLIER). */
static void
judge(checker *c, claim_result *r, const claim_result *earlier, size_t nearlier)
{
    const symbol *cl = r->claim;
    const symbol *v = cl->target;
    /* the earlier claims this one uses: when they hold in one convention,
       this one is read in that convention too */
    int upstream_wrong = 0;
    convention upstream = CONVENTION_AUTO;
    for (size_t i = 0; i < nearlier; i++) {
        /* an undecided claim is neither right nor wrong: this one is judged as written */
        if (!term_occurrences(cl->definition, earlier[i].claim) ||
            earlier[i].verdict == CLAIM_UNDECIDED)
            continue;
        if (earlier[i].verdict != CLAIM_HOLDS)
            upstream_wrong = 1;
        else if (earlier[i].follows != CONVENTION_AUTO &&
                 earlier[i].claim->target->kind != SYM_PARAM)
            upstream = earlier[i].follows;
    }
    convention convs[2];
    int nconv = conventions(c, v, upstream, upstream_wrong, convs);
    const term *yours = expand(c, term_symbol(c->tab, cl), CONVENTION_ABSORBED, 1);
    const gradient *g = derive_find(c->d, v);
    r->expected =
        g != NULL ? expected_form(c, g, convs[0], earlier, nearlier) : term_const_si(c->tab, 0, 1);
    r->yours = yours;
    if (!shape_equal(&cl->shape, &v->shape)) {
        wrong_shape(c, r, convs[0]);
        return;
    }
    reading rd[2];
    int held[2] = {0, 0}, witnessed = 1;
    for (int k = 0; k < nconv; k++) {
        rd[k].conv = convs[k];
        rd[k].truth = truth(c, cl, convs[k]);
        rd[k].formula = expand(c, cl->definition, convs[k], 0);
        rd[k].proved = same(c, yours, rd[k].truth);
        rd[k].num = weigh(c, yours, rd[k].truth, &rd[k].evidence, &rd[k].why);
        if (rd[k].proved && rd[k].num == AGREE_DIFFERENT) {
            /* a proof and a witnessed difference: the rules proved something false */
            r->verdict = CLAIM_UNDECIDED;
            r->diagnosis = DC_DIAGNOSIS_UNSOUND_RULE;
            r->reason = "the symbolic and the numeric checks disagree, so a rule is unsound: "
                        "run derivcheck rules --verify";
            r->evidence = (claim_evidence){.method = METHOD_NONE, .witness = -1};
            return;
        }
        held[k] = rd[k].proved || rd[k].num == AGREE_EQUAL;
        witnessed &= rd[k].num == AGREE_DIFFERENT;
    }
    if (held[0] || (nconv > 1 && held[1])) {
        holds(c, r, rd, nconv, held);
        return;
    }
    for (int k = 0; k < nconv && upstream_wrong; k++) {
        claim_evidence e;
        if (!formula_holds(c, &rd[k], &e))
            continue;
        text t;
        text_init(&t, c->pool);
        text_puts(&t, "right given your earlier claims, but they are wrong:");
        for (size_t i = 0; i < nearlier; i++)
            if (earlier[i].verdict != CLAIM_HOLDS && earlier[i].verdict != CLAIM_UNDECIDED &&
                term_occurrences(cl->definition, earlier[i].claim))
                text_printf(&t, " %s (line %d)", earlier[i].claim->name, earlier[i].line);
        r->verdict = CLAIM_GIVEN_YOURS;
        r->diagnosis = DC_DIAGNOSIS_WRONG_EARLIER_CLAIMS;
        r->follows = convs[k];
        r->reason = text_str(&t);
        r->evidence = e;
        return;
    }
    if (!witnessed) {
        r->verdict = CLAIM_UNDECIDED;
        r->diagnosis = DC_DIAGNOSIS_NOT_DECIDABLE;
        for (int k = 0; k < nconv && r->reason == NULL; k++)
            if (rd[k].num == AGREE_COULD_NOT_RUN)
                r->reason = rd[k].why;
        r->evidence = (claim_evidence){.method = METHOD_NONE, .witness = -1};
        return;
    }
    refuted(c, r, rd, nconv, yours, earlier, nearlier);
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
    checker c = {.m = m,
                 .d = d,
                 .rs = rs,
                 .tab = m->terms,
                 .pool = m->pool,
                 .seed = seed,
                 .err = err,
                 .err_pool = err_pool};
    for (int k = 0; k < CHECK_SIZES; k++)
        sample_sizes_of(&c.sizes[k], c.pool, m, k);
    check_result *res = mem_zalloc(c.pool, sizeof *res);
    res->r = mem_zalloc(c.pool, (m->nsymbols + 1) * sizeof *res->r);
    sample_sizes *sizes = mem_alloc(c.pool, sizeof c.sizes);
    memcpy(sizes, c.sizes, sizeof c.sizes);
    res->sizes = sizes;
    int refuted = 0, undecided = 0;
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
        undecided += r->verdict == CLAIM_UNDECIDED;
        refuted += r->verdict != CLAIM_HOLDS && r->verdict != CLAIM_UNDECIDED;
    }
    if (c.failed)
        return NULL;
    res->mixing = mixing(&c, res);
    res->outcome = refuted > 0 || res->mixing != NULL ? CHECK_REFUTED
                   : undecided > 0                    ? CHECK_UNDECIDED
                                                      : CHECK_ALL_HOLD;
    return res;
}
