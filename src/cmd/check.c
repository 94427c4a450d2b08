/* check.c: the check command: claims judged against the derivation, mistakes diagnosed; see
 * check.h. */
#include "cmd/check.h"

#include "cmd/roundoff.h"

#include <stdio.h>
#include <string.h>

#include "lang/lex.h"
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
    const check_result *res;            /* the claims judged so far */
    /* what stays the same while claims are judged, made once for the
       declared derivation (the onehot one of a diagnosis is another), so
       that judging a claim costs no more than the claim: the maps and
       memos that write out the truth in each convention (by
       convention_slot) and the claims as written (CHECK_YOURS), the
       gradient names' formulas in each convention, and the atoms of
       over_atoms (by convention_slot, taken as right and as written) with
       the number of judged claims they have */
    const derivation *declared;
    term_map *written_with[3], *written_memo[3], *formulas[2], *atoms[2][2];
    size_t atoms_judged[2][2];
    /* the convention a claim read in either is read in first (conventions):
       AUTO, or the one later claims read a wrong claim in (check_claims) */
    convention prefer;
    /* what the expected lines are written with, made when first needed:
       the identifiers of the source in order (user_value), the user's
       forms of the derivation's subterms (user_forms), and the copies of
       symbols under the user's names (named_as) */
    token *idents;
    size_t nidents;
    term_map *forms, *renamed;
} checker;

enum { CHECK_YOURS = 2 };

/* The index of convention CONV in the checker's caches. */
static int
convention_slot(convention conv)
{
    return conv == CONVENTION_DEFERRED ? 0 : 1;
}

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
    return gradient_formula(c, r != NULL && r->of != NULL ? r->of : s->target, conv);
}

/* Put into WITH every subterm that is a definition's formula mapped to
   its name (sigmoid(Z2) is A2), a second definition of one formula to the
   first name, and the mask (A > 0) of A = relu(Z) to (Z > 0). */
static void
name_definitions(checker *c, term_map *with)
{
    for (size_t i = 0; i < c->m->nsymbols; i++) {
        const symbol *s = c->m->symbols[i];
        const term *f = s->definition;
        if (s->kind != SYM_DEF || f == NULL || f->op == OP_SYM)
            continue;
        const term *named = term_map_get(with, f);
        if (named == NULL)
            term_map_put(with, f, term_symbol(c->tab, s));
        else /* s = 1/(1+np.exp(-Z)) in a backward pass is the A defined so */
            term_map_put(with, term_symbol(c->tab, s), named);
        /* and is the A = sigmoid(Z) defined so too, once recognised */
        const term *recognised = derive_definition(c->d, s);
        if (named == NULL && recognised != NULL && recognised != f) {
            const term *first = term_map_get(with, recognised);
            if (first == NULL)
                term_map_put(with, recognised, term_symbol(c->tab, s));
            else
                term_map_put(with, term_symbol(c->tab, s), first);
        }
        if (f->op == OP_RELU) { /* the mask (A > 0) of A = relu(Z) is (Z > 0) */
            const term *zero = term_const_si(c->tab, 0, 1);
            term_map_put(with, op2(c, OP_STEP, term_symbol(c->tab, s), zero),
                         op2(c, OP_STEP, f->args[0], zero));
        }
    }
}

/* Whether T uses a claim (through everything it is built of). SEEN marks
   the subterms visited, so that a shared one is walked once. */
static int
uses_claims(const term *t, term_map *seen)
{
    if (term_map_get(seen, t) != NULL)
        return 0;
    term_map_put(seen, t, t);
    if (t->op == OP_SYM)
        return t->sym->kind == SYM_CLAIM;
    for (unsigned k = 0; k < t->nargs; k++)
        if (uses_claims(t->args[k], seen))
            return 1;
    return 0;
}

/* T with every gradient name (of D, in convention CONV) and every claim
   (their own expressions when YOURS, what they stand for taken as right
   otherwise) written out, and every subterm that is a definition's formula
   named (sigmoid(Z2) is A2). A subterm that no longer fits its shapes once
   written out (a claim of the wrong shape) stays as written. */
static const term *
expand(checker *c, const term *t, convention conv, int yours)
{
    /* the truth (no claims) and the claims as written do not change as
       claims are judged: their map and memo are made once */
    int slot = yours ? CHECK_YOURS : convention_slot(conv);
    int fixed = c->d == c->declared && (yours || !uses_claims(t, term_map_new(c->pool)));
    term_map *with = fixed ? c->written_with[slot] : NULL;
    if (with == NULL) {
        with = term_map_new(c->pool);
        derive_name_formulas(c->d, conv, with);
        name_definitions(c, with);
        for (size_t i = 0; i < c->m->nsymbols; i++) {
            const symbol *s = c->m->symbols[i];
            if (s->kind == SYM_CLAIM)
                term_map_put(with, term_symbol(c->tab, s),
                             yours ? s->definition : taken_as_right(c, s, conv));
        }
        if (fixed) {
            c->written_with[slot] = with;
            c->written_memo[slot] = term_map_new(c->pool);
        }
    }
    return term_replace(c->tab, t, with, fixed ? c->written_memo[slot] : term_map_new(c->pool),
                        TERM_REPLACE_DEEP | TERM_REPLACE_KEEP_MISFITS);
}

/* The derivation's name of V's gradient in convention CONV (dZ2), or NULL
   when J does not depend on V. */
static const term *
gradient_name(checker *c, const symbol *v, convention conv)
{
    const gradient *g = derive_find(c->d, v);
    if (g == NULL)
        return NULL;
    return term_symbol(c->tab, conv == CONVENTION_DEFERRED ? g->deferred_name : g->absorbed_name);
}

/* T, a claim's formula read in convention CONV, over atoms: every earlier
   claim it uses as the derivation's name of the gradient it stands for
   (dZ2), a working step as its own formula, and every subterm that is a
   definition's formula named, nothing written out, so that its size does
   not grow with the depth of the network. YOURS: the claims as written,
   so a claim may stand as a name only when it was proved to hold in CONV
   (agreement at points is no proof to build on); NULL when T uses one
   that was not. Otherwise the claims taken as right
   (taken_as_right), never NULL. */
static const term *
over_atoms(checker *c, const term *t, convention conv, int yours)
{
    /* a claim uses only claims judged before it: each map gains the
       claims judged since it was last used */
    int slot = convention_slot(conv);
    term_map **with = &c->atoms[yours][slot];
    if (*with == NULL) {
        *with = term_map_new(c->pool);
        name_definitions(c, *with);
    }
    for (; c->atoms_judged[yours][slot] < c->res->n; c->atoms_judged[yours][slot]++) {
        const claim_result *r = &c->res->r[c->atoms_judged[yours][slot]];
        const symbol *s = r->claim;
        const term *by = NULL;
        if (s->target == NULL || r->verdict == CLAIM_STEP)
            by = s->definition;
        else if (!yours || (r->verdict == CLAIM_HOLDS && r->evidence.method == METHOD_SYMBOLIC &&
                            (r->follows == conv || r->follows == CONVENTION_AUTO))) {
            const symbol *v = r->of != NULL ? r->of : s->target;
            by = gradient_name(c, v, conv);
            if (by == NULL)
                by = zero_gradient(c, v);
        }
        if (by != NULL)
            term_map_put(*with, term_symbol(c->tab, s), by);
    }
    const term *u = term_replace(c->tab, t, *with, term_map_new(c->pool),
                                 TERM_REPLACE_DEEP | TERM_REPLACE_KEEP_MISFITS);
    return yours && uses_claims(u, term_map_new(c->pool)) ? NULL : u;
}

/* The map of every gradient name of C's derivation in convention CONV to
   its formula (derive_name_formulas), made once for the declared one. */
static const term_map *
name_formulas(checker *c, convention conv)
{
    term_map **f = &c->formulas[convention_slot(conv)];
    if (c->d == c->declared && *f != NULL)
        return *f;
    term_map *with = term_map_new(c->pool);
    derive_name_formulas(c->d, conv, with);
    if (c->d == c->declared)
        *f = with;
    return with;
}

/* Put into NAMES (as a set) the gradient names of FORMULAS that T uses. */
static void
gradient_names(const term *t, const term_map *formulas, term_map *names, term_map *seen)
{
    if (term_map_get(seen, t) != NULL)
        return;
    term_map_put(seen, t, t);
    if (t->op == OP_SYM && term_map_get(formulas, t) != NULL)
        term_map_put(names, t, t);
    for (unsigned k = 0; k < t->nargs; k++)
        gradient_names(t->args[k], formulas, names, seen);
}

/* Into WRITE, each gradient name in convention CONV of ONE (a set) that
   OTHER lacks, mapped to its formula in FORMULAS; how many. */
static size_t
names_only_in(checker *c, const term_map *one, const term_map *other, convention conv,
              const term_map *formulas, term_map *write)
{
    size_t n = 0;
    for (size_t i = 0; i < c->d->n; i++) {
        const gradient *g = &c->d->g[i];
        const term *name =
            term_symbol(c->tab, conv == CONVENTION_DEFERRED ? g->deferred_name : g->absorbed_name);
        if (term_map_get(one, name) != NULL && term_map_get(other, name) == NULL &&
            term_map_get(write, name) == NULL) {
            term_map_put(write, name, term_map_get(formulas, name));
            n++;
        }
    }
    return n;
}

static int same(checker *c, const term *a, const term *b);

/* Whether A and B, over atoms in convention CONV (gradient names, named
   definitions), have one normal form once the gradient names that only
   one of them uses are written out, a level at a time until both use the
   same ones (dZ1 in dZ2 against the derivation's dZ1 in dZ2: nothing
   written out). */
static int
same_over_atoms(checker *c, const term *a, const term *b, convention conv)
{
    const term_map *formulas = name_formulas(c, conv);
    /* each level writes a name out in names nearer the loss: at most one per gradient */
    for (size_t level = 0; level <= c->d->n && a != NULL && b != NULL; level++) {
        term_map *in_a = term_map_new(c->pool), *in_b = term_map_new(c->pool);
        gradient_names(a, formulas, in_a, term_map_new(c->pool));
        gradient_names(b, formulas, in_b, term_map_new(c->pool));
        term_map *write = term_map_new(c->pool);
        if (names_only_in(c, in_a, in_b, conv, formulas, write) +
                names_only_in(c, in_b, in_a, conv, formulas, write) ==
            0)
            return same(c, a, b);
        a = term_replace(c->tab, a, write, term_map_new(c->pool), TERM_REPLACE_KEEP_MISFITS);
        b = term_replace(c->tab, b, write, term_map_new(c->pool), TERM_REPLACE_KEEP_MISFITS);
    }
    return 0;
}

/* The most monomials a normal form is allowed to be estimated at: beyond,
   the normal form (a sum of products, which doubles with each layer of a
   deep network) is not attempted, and the numbers decide. A proof over
   atoms is cross-checked by the numbers (against an unsound rule) while
   the whole is at most CHECK_CROSS_CHECK_BUDGET, about four tanh layers
   from the loss: beyond, the exact values over every layer before the
   claim's, for every claim, would cost the square of the depth (bench/deep.sh:
   16 keeps check of 32 layers within 20 times that of 2). */
enum { CHECK_NORMAL_BUDGET = 1 << 14, CHECK_CROSS_CHECK_BUDGET = 16 };

/* An estimate, capped at CAP + 1, of how many products T's normal form is
   a sum of: sums add, products multiply. *WORK counts the subterms visited
   (a shared one each time), and an estimate is given up (over the cap)
   once that passes CHECK_NORMAL_BUDGET. */
static long
monomials(const term *t, long cap, long *work)
{
    if (++*work > CHECK_NORMAL_BUDGET)
        return cap + 1;
    if (t->op == OP_SYM || t->op == OP_CONST)
        return 1;
    long n = t->op == OP_ADD ? 0 : 1;
    for (unsigned k = 0; k < t->nargs; k++) {
        long a = monomials(t->args[k], cap, work);
        n = t->op == OP_ADD ? n + a : n * a;
        if (n > cap)
            return cap + 1;
    }
    return n;
}

/* Whether T's normal form is estimated at CAP monomials at most. */
static int
within(const term *t, long cap)
{
    long work = 0;
    return t != NULL && monomials(t, cap, &work) <= cap;
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

/* Whether A and B have one normal form; 0 also when either is too large
   to normalise (CHECK_NORMAL_BUDGET), which leaves the decision to the numbers. */
static int
same(checker *c, const term *a, const term *b)
{
    return within(a, CHECK_NORMAL_BUDGET) && within(b, CHECK_NORMAL_BUDGET) &&
           normal(c, a) == normal(c, b);
}

/* The true gradient of V, which a claim is about, in convention CONV, in
   forward names. */
static const term *
truth(checker *c, const symbol *v, convention conv)
{
    return expand(c, gradient_formula(c, v, conv), conv, 0);
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
    /* + 0.0: a zero is 0, not the -0 of a product by a negative */
    text_printf(&t, " is %.6g by your formula but %.6g by the derivation", r.a + 0.0, r.b + 0.0);
    return text_str(&t);
}

/* ---- the usual mistakes ---- */

/* The reason of a refuted claim none of them explains. */
static const char no_diagnosis[] = "matches none of the usual mistakes";

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

/* F with every occurrence of its subterm NODE replaced by BY, or NULL
   when that does not type-check. */
static const term *
with_replaced(checker *c, const term *f, const term *node, const term *by)
{
    term_map *with = term_map_new(c->pool);
    term_map_put(with, node, by);
    return term_replace(c->tab, f, with, term_map_new(c->pool), 0);
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
        const term *def = derive_definition(c->d, a);
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
            text_printf(&s, "uses %s where %s = %s needs %s", show(c, wrong), a->name, show(c, def),
                        show(c, r));
            if (w < NACTIVATIONS)
                text_printf(&s, " (%s's derivative used for %s)", term_op_name(activations[w]),
                            term_op_name(def->op));
            return text_str(&s);
        }
        /* the right derivative taken of the activation's input (1 - Z1^2) */
        const term *z = def->args[0];
        const term *on_z = r != NULL ? with_replaced(c, r, term_symbol(c->tab, a), z) : NULL;
        if (on_z != NULL && on_z != r && same(c, op2(c, OP_MUL, f, r), op2(c, OP_MUL, t, on_z))) {
            text s;
            text_init(&s, c->pool);
            text_printf(&s, "uses %s where %s = %s needs %s (%s where %s belongs)", show(c, on_z),
                        a->name, show(c, def), show(c, r), show(c, z), a->name);
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
        if (y->kind != SYM_LABEL || (y->label != LABEL_ANY && y->label != LABEL_BINARY) ||
            !holds_if_onehot(c, y, v, f, conv))
            continue;
        if (y->label == LABEL_BINARY) /* softmax's A - Y needs one 1 per column */
            return words(c,
                         "holds only if the columns of %s sum to 1, and %s is declared binary: "
                         "declare it onehot or prob%s",
                         y->name, y->name, "");
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

/* Whether K is a scalar hyperparameter of the model (keep_prob, lambd): a
   scalar input or a definition of a constant. */
static int
is_hyperparameter(const symbol *k)
{
    int constant = k->kind == SYM_DEF && k->definition != NULL && k->definition->op == OP_CONST;
    return k->shape.rank == 0 && (k->kind == SYM_INPUT || constant);
}

/* F is T times or over a scalar hyperparameter of the model: which, in
   words, or NULL. */
static const char *
wrong_scalar_factor(checker *c, const term *f, const term *t)
{
    for (size_t i = 0; i < c->m->nsymbols; i++) {
        const symbol *k = c->m->symbols[i];
        if (!is_hyperparameter(k))
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

/* F with a square matrix operand of a product under NODE transposed, or
   its transpose undone (np.dot(W2, dZ2) where W2 is [n_h, n_h] and W2.T is
   meant: the shapes cannot tell), equal to T: which, in words, or NULL. */
static const char *
wrong_square_transpose(checker *c, const term *f, const term *t, const term *node)
{
    for (unsigned k = 0; node->op == OP_MATMUL && k < 2; k++) {
        const term *a = node->args[k];
        if (a->shape.rank != 2 || !dim_equal(a->shape.d[0], a->shape.d[1]))
            continue;
        const term *by = a->op == OP_TRANSPOSE ? a->args[0] : op1(c, OP_TRANSPOSE, a);
        const term *g = by != NULL ? with_replaced(c, f, a, by) : NULL;
        if (g == NULL || g == f || !same(c, g, t))
            continue;
        text s;
        text_init(&s, c->pool);
        text_printf(&s, "%s: it uses %s where %s is needed",
                    a->op == OP_TRANSPOSE ? "has a .T too many" : "lacks a .T", show(c, a),
                    show(c, by));
        return text_str(&s);
    }
    for (unsigned k = 0; k < node->nargs; k++) {
        const char *r = wrong_square_transpose(c, f, t, node->args[k]);
        if (r != NULL)
            return r;
    }
    return NULL;
}

/* Z of the definition A = relu(Z), or NULL when S is no ReLU. */
static const term *
relu_input(const symbol *s)
{
    return s->kind == SYM_DEF && s->definition != NULL && s->definition->op == OP_RELU
               ? s->definition->args[0]
               : NULL;
}

/* NODE as A = relu(Z)'s mask the other way round: (Z <= 0), (Z < 0),
   (A <= 0) or (A < 0), for (Z > 0), A's symbol into *A; 0 when it is
   none. */
static int
inverted_mask(checker *c, const term *node, const symbol **a)
{
    const term *zero = term_const_si(c->tab, 0, 1);
    if (node->op != OP_STEP || node->args[0] != zero)
        return 0;
    for (size_t i = 0; i < c->m->nsymbols; i++) {
        const symbol *s = c->m->symbols[i];
        if (relu_input(s) != NULL &&
            (node->args[1] == relu_input(s) || node->args[1] == term_symbol(c->tab, s))) {
            *a = s;
            return 1;
        }
    }
    return 0;
}

/* F with a ReLU's mask written wrong under NODE, equal to T once it is the
   mask (Z > 0) of A = relu(Z): the mask A >= 0, which is 1 everywhere, the
   mask the other way round (inverted_mask), or A's values where its mask
   belongs (dA1 * A1). In words, or NULL. */
static const char *
wrong_mask(checker *c, const term *f, const term *t, const term *node)
{
    const term *zero = term_const_si(c->tab, 0, 1);
    const symbol *inverted;
    if (inverted_mask(c, node, &inverted)) {
        const term *mask = op2(c, OP_STEP, relu_input(inverted), zero);
        const term *g = with_replaced(c, f, node, mask);
        if (g != NULL && same(c, g, t)) {
            text s;
            text_init(&s, c->pool);
            text_printf(&s,
                        "uses the mask %s, the other way round: it keeps the entries that %s = "
                        "relu(%s) zeroes and drops the others; the mask is %s",
                        show(c, node), inverted->name, show(c, relu_input(inverted)),
                        show(c, mask));
            return text_str(&s);
        }
    }
    if (node->op == OP_STEP && node->aux && node->args[1] == zero && node->args[0]->op == OP_SYM &&
        relu_input(node->args[0]->sym) != NULL) {
        const symbol *a = node->args[0]->sym;
        const term *g = with_replaced(c, f, node, op2(c, OP_STEP, relu_input(a), zero));
        if (g != NULL && same(c, g, t)) {
            text s;
            text_init(&s, c->pool);
            text_printf(&s,
                        "uses the mask %s >= 0, which is 1 everywhere (%s = relu(%s) is never "
                        "negative): the mask is %s > 0",
                        a->name, a->name, show(c, relu_input(a)), a->name);
            return text_str(&s);
        }
    }
    for (unsigned k = 0; node->op == OP_MUL && k < 2; k++) {
        const term *a = node->args[k];
        if (a->op != OP_SYM || relu_input(a->sym) == NULL)
            continue;
        const term *mask = op2(c, OP_STEP, relu_input(a->sym), zero);
        const term *fixed =
            k == 0 ? op2(c, OP_MUL, mask, node->args[1]) : op2(c, OP_MUL, node->args[0], mask);
        const term *g = fixed != NULL ? with_replaced(c, f, node, fixed) : NULL;
        if (g == NULL || !same(c, g, t))
            continue;
        text s;
        text_init(&s, c->pool);
        text_printf(&s, "uses the values of %s where its mask %s > 0 is needed (%s = relu(%s))",
                    a->sym->name, a->sym->name, a->sym->name, show(c, relu_input(a->sym)));
        return text_str(&s);
    }
    for (unsigned k = 0; k < node->nargs; k++) {
        const char *r = wrong_mask(c, f, t, node->args[k]);
        if (r != NULL)
            return r;
    }
    return NULL;
}

/* F lacks T's regularisation term, T = F + K/m * W for a param W of T's
   shape and a scalar hyperparameter K (L2's lambd), or has K * W where
   K/m * W belongs: which, in words, or NULL. */
static const char *
wrong_regularisation(checker *c, const term *f, const term *t)
{
    if (c->m->batch == NULL)
        return NULL;
    for (size_t i = 0; i < c->m->nsymbols; i++) {
        const symbol *w = c->m->symbols[i];
        if (w->kind != SYM_PARAM || !shape_equal(&w->shape, &t->shape))
            continue;
        const term *wt = term_symbol(c->tab, w);
        for (size_t j = 0; j < c->m->nsymbols; j++) {
            const symbol *k = c->m->symbols[j];
            if (!is_hyperparameter(k))
                continue;
            const term *kt = term_symbol(c->tab, k);
            const term *term_m = op2(c, OP_MUL, op2(c, OP_DIV, kt, batch(c)), wt);
            const term *term_1 = op2(c, OP_MUL, kt, wt);
            text s;
            text_init(&s, c->pool);
            if (same(c, op2(c, OP_ADD, f, term_m), t))
                text_printf(&s, "drops the regularisation term %s/%s * %s", k->name,
                            c->m->batch->name, w->name);
            else if (same(c, op2(c, OP_ADD, f, op2(c, OP_ADD, term_m, op1(c, OP_NEG, term_1))), t))
                text_printf(&s, "has %s * %s where the regularisation term is %s/%s * %s", k->name,
                            w->name, k->name, c->m->batch->name, w->name);
            else
                continue;
            return text_str(&s);
        }
    }
    return NULL;
}

/* F is T times a small number other than 1 and -1 (the 2 that the
   derivative of a square brings down, dropped or doubled): which, in
   words, or NULL. */
static const char *
constant_factor(checker *c, const term *f, const term *t)
{
    static const long factors[] = {2, 3, 4, -2, -3, -4};
    for (size_t i = 0; i < sizeof factors / sizeof factors[0]; i++)
        for (int inverse = 0; inverse < 2; inverse++) {
            const term *k = inverse ? term_const_si(c->tab, 1, factors[i])
                                    : term_const_si(c->tab, factors[i], 1);
            if (!same(c, f, op2(c, OP_MUL, k, t)))
                continue;
            char n[24];
            snprintf(n, sizeof n, "%ld", labs(factors[i]));
            const char *sign = factors[i] < 0 ? " and the wrong sign" : "";
            return inverse ? words(c, "lacks a factor %s%s: it is 1/%s of the gradient", n, sign, n)
                           : words(c, "has a factor %s too many%s: it is %s times the gradient", n,
                                   sign, n);
        }
    return NULL;
}

/* F is the gradient of another name U rather than of V (dhidden masked
   in place is the gradient of the ReLU's input): which, in words, or
   NULL. Versions of V's own name are judge's to try. */
static const char *
other_variable(checker *c, const symbol *v, const term *f, convention conv)
{
    for (size_t i = 0; i < c->m->nsymbols; i++) {
        const symbol *u = c->m->symbols[i];
        if (u == v || u == c->m->loss || (u->kind != SYM_DEF && u->kind != SYM_PARAM) ||
            !shape_equal(&u->shape, &f->shape) || derive_find(c->d, u) == NULL ||
            u->earlier != NULL || u->later != NULL)
            continue;
        if (same(c, f, truth(c, u, conv)))
            return words(c, "is the gradient of %s, not of %s%s", u->name, v->name, "");
    }
    return NULL;
}

/* F is T times a factor of the whole line (the batch size m, 1/m, -1, or
   a scalar hyperparameter or its inverse), or T's transpose: the usual
   mistakes a second one may hide behind. */
typedef struct whole_line {
    const term *undone; /* F with the mistake undone */
    const char *what;   /* the mistake, in words */
    dc_diagnosis code;
} whole_line;

/* The batch factor's mistakes in words, in the model's name for the batch
   (m, N, batch_size). */
static const char *
missing_inv_batch(checker *c)
{
    const char *b = c->m->batch->name;
    return words(c, "has a factor %s too many (a 1/%s is missing)", b, b, "");
}

static const char *
extra_inv_batch(checker *c)
{
    return words(c, "has a factor 1/%s too many", c->m->batch->name, "", "");
}

/* The mistakes of the whole line F may have, each undone, into OUT (room
   for 3 + 2 * the model's symbols); their number. */
static size_t
whole_line_mistakes(checker *c, const term *f, whole_line *out)
{
    size_t n = 0;
    if (c->m->batch != NULL) {
        out[n++] = (whole_line){op2(c, OP_DIV, f, batch(c)), missing_inv_batch(c),
                                DC_DIAGNOSIS_MISSING_INV_M};
        out[n++] =
            (whole_line){op2(c, OP_MUL, batch(c), f), extra_inv_batch(c), DC_DIAGNOSIS_EXTRA_INV_M};
    }
    out[n++] = (whole_line){op1(c, OP_NEG, f), "has the wrong sign", DC_DIAGNOSIS_SIGN};
    out[n++] = (whole_line){op1(c, OP_TRANSPOSE, f),
                            "is the transpose of the gradient: a .T is missing or extra",
                            DC_DIAGNOSIS_TRANSPOSE};
    for (size_t i = 0; i < c->m->nsymbols; i++) {
        const symbol *k = c->m->symbols[i];
        if (!is_hyperparameter(k))
            continue;
        const term *kt = term_symbol(c->tab, k);
        out[n++] = (whole_line){
            op2(c, OP_DIV, f, kt),
            words(c, "has a factor %s too many (a / %s is missing)", k->name, k->name, ""),
            DC_DIAGNOSIS_HYPERPARAMETER_FACTOR};
        out[n++] = (whole_line){op2(c, OP_MUL, f, kt),
                                words(c, "lacks a factor %s (it divides by %s where it should not)",
                                      k->name, k->name, ""),
                                DC_DIAGNOSIS_HYPERPARAMETER_FACTOR};
    }
    return n;
}

/* One of the usual mistakes that makes F (the formula of a claim about V,
   earlier claims taken as right) not T, in words, its code in *CODE, or
   NULL. ALONE: F is the line as written, so the batch size written as a
   number (decided by the numbers), a label assumption and another name's
   gradient are tried too, which explain a whole line and not one mistake
   beside another. */
static const char *
one_mistake(checker *c, const symbol *v, const term *f, const term *t, convention conv, int alone,
            dc_diagnosis *code)
{
    int square = shape_equal(&f->shape, &t->shape);
    if (c->m->batch != NULL && square) {
        const char *r = alone ? hard_coded_batch(c, f, t) : NULL;
        *code = DC_DIAGNOSIS_HARD_CODED_BATCH;
        if (r != NULL)
            return r;
        *code = DC_DIAGNOSIS_MISSING_INV_M;
        if (same(c, f, op2(c, OP_MUL, batch(c), t)))
            return missing_inv_batch(c);
        *code = DC_DIAGNOSIS_EXTRA_INV_M;
        if (same(c, f, op2(c, OP_DIV, t, batch(c))))
            return extra_inv_batch(c);
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
        r = wrong_scalar_factor(c, f, t);
    *code = r != NULL ? *code : DC_DIAGNOSIS_TRANSPOSE;
    if (r == NULL && square)
        r = wrong_square_transpose(c, f, t, f);
    *code = r != NULL ? *code : DC_DIAGNOSIS_RELU_MASK;
    if (r == NULL && square)
        r = wrong_mask(c, f, t, f);
    *code = r != NULL ? *code : DC_DIAGNOSIS_REGULARISATION;
    if (r == NULL && square)
        r = wrong_regularisation(c, f, t);
    *code = r != NULL ? *code : DC_DIAGNOSIS_CONSTANT_FACTOR;
    if (r == NULL && square)
        r = constant_factor(c, f, t);
    *code = r != NULL ? *code : DC_DIAGNOSIS_LABEL_ASSUMPTION;
    if (r == NULL && square && alone)
        r = missing_label_assumption(c, v, f, conv);
    *code = r != NULL ? *code : DC_DIAGNOSIS_GRADIENT_OF_OTHER;
    if (r == NULL && alone)
        r = other_variable(c, v, f, conv);
    *code = r != NULL ? *code : DC_DIAGNOSIS_UNKNOWN;
    return r;
}

/* Why F (the formula of a claim about V, earlier claims taken as right) is
   not T: one of the usual mistakes, or where PAIR two in one line (one of
   the whole line, undone, then another), its code in *CODE; NULL, with
   *CODE DC_DIAGNOSIS_UNKNOWN, when none explains it. */
static const char *
diagnose(checker *c, const symbol *v, const term *f, const term *t, convention conv, int pair,
         dc_diagnosis *code)
{
    if (!pair)
        return one_mistake(c, v, f, t, conv, 1, code);
    whole_line *first = mem_alloc(c->pool, (4 + 2 * c->m->nsymbols) * sizeof *first);
    size_t n = whole_line_mistakes(c, f, first);
    for (size_t k = 0; k < n; k++) {
        dc_diagnosis other;
        const char *second =
            first[k].undone != NULL ? one_mistake(c, v, first[k].undone, t, conv, 0, &other) : NULL;
        if (second != NULL) {
            text s;
            text_init(&s, c->pool);
            text_printf(&s, "%s, and it %s", first[k].what, second);
            *code = DC_DIAGNOSIS_TWO_MISTAKES;
            return text_str(&s);
        }
    }
    *code = DC_DIAGNOSIS_UNKNOWN;
    return NULL;
}

const char *
check_verdict_code(claim_verdict v)
{
    static const char *const codes[] = {
        [CLAIM_HOLDS] = "ok",    [CLAIM_GIVEN_YOURS] = "given",   [CLAIM_REFUTED] = "wrong",
        [CLAIM_SHAPE] = "shape", [CLAIM_UNDECIDED] = "undecided", [CLAIM_STEP] = "step"};
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
        [DC_DIAGNOSIS_NOT_DECIDABLE] = "not_decidable",
        [DC_DIAGNOSIS_HYPERPARAMETER_FACTOR] = "hyperparameter_factor",
        [DC_DIAGNOSIS_RELU_MASK] = "relu_mask",
        [DC_DIAGNOSIS_REGULARISATION] = "regularisation",
        [DC_DIAGNOSIS_GRADIENT_OF_OTHER] = "gradient_of_other",
        [DC_DIAGNOSIS_TWO_MISTAKES] = "two_mistakes",
        [DC_DIAGNOSIS_CONSTANT_FACTOR] = "constant_factor"};
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

/* ---- the expected line, in the user's names ---- */

/* The earlier claim (of EARLIER[0..NEARLIER)) whose name, at the claim
   AT, means what the derivation's gradient name of V in convention CONV
   means: the last one judged to hold in CONV as the gradient of V, unless
   its name was assigned again before AT (the name then means that
   value). NULL when there is none. */
static const symbol *
user_gradient(const claim_result *earlier, size_t nearlier, const symbol *v, convention conv,
              const symbol *at)
{
    for (size_t i = nearlier; i-- > 0;)
        if (earlier[i].of == v && earlier[i].verdict == CLAIM_HOLDS &&
            (earlier[i].follows == conv || earlier[i].follows == CONVENTION_AUTO)) {
            const symbol *s = earlier[i].claim;
            return s->later == NULL || s->later->offset >= at->offset ? s : NULL;
        }
    return NULL;
}

/* The index of S among M's symbols (their number when it is none). */
static size_t
index_in_model(const model *m, const symbol *s)
{
    size_t i = 0;
    while (i < m->nsymbols && m->symbols[i] != s)
        i++;
    return i;
}

/* 1 + the offset where the identifier NAME is last written before END in
   the source (comments skipped), or 0 when it is not: the identifiers are
   listed once, at the first call. */
static size_t
last_written(checker *c, const char *name, size_t end)
{
    const source *src = &c->m->src;
    if (c->idents == NULL) {
        size_t cap = 64;
        c->idents = mem_alloc(c->pool, cap * sizeof *c->idents);
        lexer lx;
        lex_init(&lx, src);
        for (token t = lex_next(&lx); t.kind != TOK_EOF; t = lex_next(&lx)) {
            if (t.kind != TOK_IDENT)
                continue;
            if (c->nidents == cap)
                c->idents = mem_realloc(c->pool, c->idents, (cap *= 2) * sizeof *c->idents);
            c->idents[c->nidents++] = t;
        }
    }
    size_t len = strlen(name);
    for (size_t i = c->nidents; i-- > 0;)
        if (c->idents[i].offset < end && c->idents[i].len == len &&
            memcmp(src->text + c->idents[i].offset, name, len) == 0)
            return c->idents[i].offset + 1;
    return 0;
}

/* The symbol S as a term written NAME: S itself when that is its name,
   else a copy of S under NAME (the same for every call with S and NAME,
   the last one being remembered). */
static const term *
named_as(checker *c, const symbol *s, const char *name)
{
    const term *t = term_symbol(c->tab, s);
    if (strcmp(s->name, name) == 0)
        return t;
    if (c->renamed == NULL)
        c->renamed = term_map_new(c->pool);
    const term *copy = term_map_get(c->renamed, t);
    if (copy == NULL || strcmp(copy->sym->name, name) != 0) {
        symbol *r = mem_alloc(c->pool, sizeof *r);
        *r = *s;
        r->name = name;
        copy = term_symbol(c->tab, r);
        term_map_put(c->renamed, t, copy);
    }
    return copy;
}

/* The forward value S as the claim AT's line can name it: among the
   names that mean S there (its own, the name without the primes of a
   reassignment when S is the name's last value; an alias made before AT,
   z1 unpacked as Z1 from a cache, that no definition hides), the one the
   source writes last before AT (the backward pass's Z1 after the
   unpacking), its own on a tie; S when none. */
static const term *
user_value(checker *c, const symbol *s, const symbol *at)
{
    const model *m = c->m;
    const symbol *first = s;
    while (first->earlier != NULL)
        first = first->earlier;
    const char *best = s->later == NULL ? first->name : NULL;
    size_t best_at = 0, before = index_in_model(m, at);
    int counted = 0;
    for (size_t i = 0; i < m->naliases; i++) {
        const struct model_alias *a = &m->aliases[i];
        if (a->sym != s || a->after > before || model_lookup(m, a->name, strlen(a->name)) != s)
            continue;
        if (best != NULL && !counted) /* the source is read only for a value with aliases */
            best_at = last_written(c, best, at->offset);
        counted = 1;
        size_t w = last_written(c, a->name, at->offset);
        if (best == NULL || w > best_at) {
            best = a->name;
            best_at = w;
        }
    }
    return named_as(c, s, best != NULL ? best : s->name);
}

/* Put into WITH each symbol of T that the claim AT's line names
   otherwise (D's gradient names in convention CONV that an earlier claim
   of EARLIER[0..NEARLIER) holds, as that claim; forward values as
   user_value has them) mapped to that name. SEEN marks the subterms
   visited. */
static void
user_names(checker *c, const term *t, convention conv, const claim_result *earlier, size_t nearlier,
           const symbol *at, term_map *with, term_map *seen)
{
    if (term_map_get(seen, t) != NULL)
        return;
    term_map_put(seen, t, t);
    for (unsigned k = 0; k < t->nargs; k++)
        user_names(c, t->args[k], conv, earlier, nearlier, at, with, seen);
    if (t->op != OP_SYM)
        return;
    const symbol *s = t->sym;
    const term *by = NULL;
    if (s->kind == SYM_GRAD) {
        for (size_t i = 0; i < c->d->n && by == NULL; i++) {
            const gradient *h = &c->d->g[i];
            const symbol *user = user_gradient(earlier, nearlier, h->of, conv, at);
            if ((conv == CONVENTION_DEFERRED ? h->deferred_name : h->absorbed_name) == s &&
                user != NULL)
                by = term_symbol(c->tab, user);
        }
    } else if (s->kind == SYM_INPUT || s->kind == SYM_LABEL || s->kind == SYM_PARAM ||
               s->kind == SYM_DEF)
        by = user_value(c, s, at);
    if (by != NULL && by != t)
        term_map_put(with, t, by);
}

/* Whether T uses a symbol that a later assignment to its name replaced
   (the A1 of A1 = A1 * D1): no name means it in a claim's line. */
static int
uses_replaced(const term *t)
{
    if (t->op == OP_SYM)
        return t->sym->later != NULL;
    for (unsigned k = 0; k < t->nargs; k++)
        if (uses_replaced(t->args[k]))
            return 1;
    return 0;
}

/* Put into FORMS the subterms of U, a part of a definition as the user
   wrote it (X @ W1 + b1), under their normal and pretty forms (b1 + X @
   W1), which the derivation writes, where the user's is no longer (and
   the form is no name or number: A is no place for the user's 1 * A). */
static void
user_subterms(checker *c, const term *u, term_map *forms)
{
    if (u->nargs == 0)
        return;
    for (unsigned k = 0; k < u->nargs; k++)
        user_subterms(c, u->args[k], forms);
    const term *n = canon_normal_form(c->tab, u);
    const term *keys[2] = {n, pretty_form(c->tab, n)};
    for (int k = 0; k < 2; k++)
        if (keys[k] != u && keys[k]->nargs > 0 && term_map_get(forms, keys[k]) == NULL &&
            strlen(show(c, u)) <= strlen(show(c, keys[k])))
            term_map_put(forms, keys[k], u);
}

/* The map of the derivation's forms of parts of the definitions to the
   user's (made once): each part as written, and the mask (Z > 0) of A =
   relu(Z) as (A > 0) where Z has no name (the relu of X @ W1 + b1). Only
   definitions of values a claim's line can name. */
static const term_map *
user_forms(checker *c)
{
    if (c->forms != NULL)
        return c->forms;
    c->forms = term_map_new(c->pool);
    const term *zero = term_const_si(c->tab, 0, 1);
    for (size_t i = 0; i < c->m->nsymbols; i++) {
        const symbol *s = c->m->symbols[i];
        const term *f = s->definition;
        if (s->kind != SYM_DEF || f == NULL || s->later != NULL || uses_replaced(f))
            continue;
        if (f->op == OP_RELU && f->args[0]->op != OP_SYM) {
            const term *n = canon_normal_form(c->tab, f->args[0]);
            const term *z[3] = {f->args[0], n, pretty_form(c->tab, n)};
            for (int k = 0; k < 3; k++)
                term_map_put(c->forms, op2(c, OP_STEP, z[k], zero),
                             op2(c, OP_STEP, term_symbol(c->tab, s), zero));
        }
        user_subterms(c, f, c->forms);
    }
    return c->forms;
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

/* The gradient G in convention CONV as the expected line of the claim AT
   shows it, in the names the user's file has at AT: the derivation's
   pretty form, with the gradient names that no earlier claim holding in
   CONV defines written out (the reader's file defines no others), those
   an earlier claim defines as that claim (dZ3 for dz3), the forward
   values and the parts of definitions as the file writes them there
   (user_value, user_forms), and no product of a scalar: a line the parser
   takes in the user's file. A name whose formula is one product (dmargins
   = 1, dL2_regularization_cost = m) is written into the normal form,
   where its factors cancel and which it does not make larger; a sum, as
   it is written or normalised again with the rest, whichever is shorter
   (a product of sums multiplied out may be longer). */
static const term *
expected_form(checker *c, const gradient *g, convention conv, const claim_result *earlier,
              size_t nearlier, const symbol *at)
{
    term_map *products = term_map_new(c->pool), *sums = term_map_new(c->pool);
    const term *t = derive_pretty(c->d, g, conv);
    /* only the names T uses, and those their formulas use in turn: the
       others are as many as the network is deep */
    const term_map *formulas = name_formulas(c, conv);
    term_map *used = term_map_new(c->pool), *written = term_map_new(c->pool);
    gradient_names(t, formulas, used, term_map_new(c->pool));
    size_t nsums = 0;
    const term **sum_names = mem_alloc(c->pool, (c->d->n + 1) * sizeof *sum_names);
    for (int grew = 1; grew;) {
        grew = 0;
        for (size_t i = 0; i < c->d->n; i++) {
            const gradient *h = &c->d->g[i];
            const symbol *name = conv == CONVENTION_DEFERRED ? h->deferred_name : h->absorbed_name;
            const term *nt = term_symbol(c->tab, name);
            if (h == g || term_map_get(used, nt) == NULL || term_map_get(written, nt) != NULL ||
                user_gradient(earlier, nearlier, h->of, conv, at) != NULL)
                continue;
            const term *f = derive_pretty(c->d, h, conv);
            char why[SHAPE_WHY];
            /* a gradient that is a scalar repeated (dZ = 1 for J = sum(Z)) keeps its name's
               shape */
            if (!shape_equal(&f->shape, &name->shape) && shape_is_scalar(&f->shape))
                f = term_broadcast(c->tab, f, &name->shape, -1, why);
            if (f == NULL)
                continue;
            term_map_put(written, nt, f);
            if ((conv == CONVENTION_DEFERRED ? h->deferred : h->absorbed)->op == OP_ADD) {
                term_map_put(sums, nt, f);
                sum_names[nsums++] = nt;
            } else
                term_map_put(products, nt, f);
            gradient_names(f, formulas, used, term_map_new(c->pool));
            grew = 1;
        }
    }
    /* the products written in: into T and into the sums' formulas */
    term_map *memo = term_map_new(c->pool);
    const term *u =
        term_replace(c->tab, t, products, memo, TERM_REPLACE_DEEP | TERM_REPLACE_KEEP_MISFITS);
    if (u != t) {
        const term *n = normal(c, u);
        t = n != NULL ? pretty_form(c->tab, n) : u;
    }
    for (size_t i = 0; i < nsums; i++) {
        const term *f = term_map_get(sums, sum_names[i]);
        const term *fu =
            term_replace(c->tab, f, products, memo, TERM_REPLACE_DEEP | TERM_REPLACE_KEEP_MISFITS);
        const term *n = fu != f ? normal(c, fu) : NULL;
        if (n != NULL)
            term_map_put(sums, sum_names[i], pretty_form(c->tab, n));
    }
    u = term_replace(c->tab, t, sums, term_map_new(c->pool),
                     TERM_REPLACE_DEEP | TERM_REPLACE_KEEP_MISFITS);
    if (u != t) {
        const term *n = normal(c, u);
        t = n != NULL && strlen(show(c, pretty_form(c->tab, n))) < strlen(show(c, u))
                ? pretty_form(c->tab, n)
                : u;
    }
    t = term_replace(c->tab, no_scalar_products(c, t), user_forms(c), term_map_new(c->pool),
                     TERM_REPLACE_KEEP_MISFITS);
    term_map *names = term_map_new(c->pool);
    user_names(c, t, conv, earlier, nearlier, at, names, term_map_new(c->pool));
    return term_replace(c->tab, t, names, term_map_new(c->pool), TERM_REPLACE_KEEP_MISFITS);
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

/* Whether a claim of shape CL about V of shape TO has V's entries in
   another shape that NumPy's broadcasting carries into the update V -
   learning_rate * dV with V's shape: TO with leading axes of size 1
   dropped (db1 [n_h] for b1 [1, n_h]). Not db1 [n_h] for b1 [n_h, 1]: that
   update broadcasts to [n_h, n_h]. */
static int
carried_shape(const shape *cl, const shape *to)
{
    if (cl->rank < 0 || to->rank < 0 || cl->rank >= to->rank)
        return 0;
    int lead = to->rank - cl->rank;
    for (int i = 0; i < to->rank; i++)
        if (!dim_equal(to->d[i], i < lead ? dim_literal(1) : cl->d[i - lead]))
            return 0;
    return 1;
}

/* T, whose entries are those of shape TO in another shape (carried_shape),
   in shape TO: a sum without keepdims as the sum with it, through a scalar
   factor or divisor and a negation, so that the normal forms can meet
   (sum(dh, axis=0) / N is sum(dh, axis=0, keepdims=True) / N); else T
   broadcast to TO. NULL when it cannot be made (WHY, SHAPE_WHY bytes). */
static const term *
carried_form(checker *c, const term *t, const shape *to, char *why)
{
    if (t->op == OP_SUM && !t->keepdims && t->aux >= 0) {
        const term *kept = term_make(c->tab, OP_SUM, t->aux, 1, t->args, 1, why);
        if (kept != NULL && shape_equal(&kept->shape, to))
            return kept;
    }
    if (t->op == OP_NEG) {
        const term *a = carried_form(c, t->args[0], to, why);
        return a != NULL ? op1(c, OP_NEG, a) : NULL;
    }
    if ((t->op == OP_MUL || t->op == OP_DIV) && shape_is_scalar(&t->args[1]->shape)) {
        const term *a = carried_form(c, t->args[0], to, why);
        return a != NULL ? op2(c, t->op, a, t->args[1]) : NULL;
    }
    if (t->op == OP_MUL && shape_is_scalar(&t->args[0]->shape)) {
        const term *b = carried_form(c, t->args[1], to, why);
        return b != NULL ? op2(c, OP_MUL, t->args[0], b) : NULL;
    }
    return term_broadcast(c->tab, t, to, -1, why);
}

/* What the numbers and the normal forms say of one reading of a claim. */
typedef struct reading {
    convention conv;
    const term *truth; /* dJ/dV (m dJ/dV) in forward names */
    const symbol *claim;
    int one;              /* entries compared (entry) */
    const shape *carried; /* the target's shape, when the claim's entries are its entries in
                             another shape (carried_form); else NULL */
    const term *formula;  /* the claim's formula, earlier claims taken as right, written out in
                             forward names: NULL until formula_of makes it */
    int proved;           /* yours and the truth have one normal form */
    int formula_proved;   /* the formula and the truth have one normal form over atoms */
    agree_status num;     /* what the numbers say of yours = truth */
    claim_evidence evidence;
    const char *why; /* num COULD_NOT_RUN: why */
} reading;

/* The formula of reading K, made when first needed: written out, it is
   as large as the network is deep. */
static const term *
formula_of(checker *c, reading *k)
{
    if (k->formula == NULL) {
        const term *f = expand(c, k->claim->definition, k->conv, 0);
        char why[SHAPE_WHY];
        k->formula = k->carried != NULL ? carried_form(c, f, k->carried, why) : entry(c, f, k->one);
    }
    return k->formula;
}

/* Whether the claim's formula in reading K equals its truth (the earlier
   claims taken as right), and by which method into E. */
static int
formula_holds(checker *c, reading *k, claim_evidence *e)
{
    const char *why;
    if (k->formula_proved || same(c, formula_of(c, k), k->truth)) {
        *e = (claim_evidence){.method = METHOD_SYMBOLIC, .witness = -1};
        return 1;
    }
    return weigh(c, formula_of(c, k), k->truth, e, &why) == AGREE_EQUAL;
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
    convs[0] = c->prefer != CONVENTION_AUTO      ? c->prefer
               : upstream == CONVENTION_ABSORBED ? CONVENTION_ABSORBED
                                                 : CONVENTION_DEFERRED;
    convs[1] = convs[0] == CONVENTION_DEFERRED ? CONVENTION_ABSORBED : CONVENTION_DEFERRED;
    return 2;
}

/* R as a claim about V of the wrong shape: both shapes, and the mistake
   when one of the usual ones explains it. */
static void
wrong_shape(checker *c, claim_result *r, const symbol *v, convention conv)
{
    const symbol *cl = r->claim;
    text t;
    text_init(&t, c->pool);
    text_printf(&t, "has shape ");
    shape_print(&t, &cl->shape);
    text_printf(&t, " but %s is ", v->name);
    shape_print(&t, &v->shape);
    const term *f = expand(c, cl->definition, conv, 0);
    const char *why = diagnose(c, v, f, truth(c, v, conv), conv, 0, &r->diagnosis);
    if (why == NULL)
        why = diagnose(c, v, f, truth(c, v, conv), conv, 1, &r->diagnosis);
    if (why != NULL)
        text_printf(&t, ": it %s", why);
    r->verdict = CLAIM_SHAPE;
    r->reason = text_str(&t);
    r->evidence = (claim_evidence){.method = METHOD_SHAPE, .witness = -1};
}

/* R holds in the readings RD[0..N) marked in HOLDS: which convention it
   follows, and the strongest method among them. */
static void
holds(checker *c, claim_result *r, reading *rd, int n, const int *held)
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

/* R, a claim about V refuted in every reading of RD[0..N) (each with a
   witness): the mistake in words, read in the convention that explains it
   with one mistake, else with two (else the first), with a counterexample
   there. */
static void
refuted(checker *c, claim_result *r, const symbol *v, reading *rd, int n, const term *yours)
{
    const symbol *cl = r->claim;
    const gradient *g = derive_find(c->d, v);
    int k = 0;
    r->verdict = CLAIM_REFUTED;
    r->diagnosis = g == NULL ? DC_DIAGNOSIS_ZERO_GRADIENT : DC_DIAGNOSIS_UNKNOWN;
    if (g == NULL)
        r->reason =
            words(c, "is 0: the loss %s does not depend on %s%s", c->m->loss->name, v->name, "");
    for (int pair = 0; pair < 2; pair++)
        for (int i = 0; i < n && r->reason == NULL; i++)
            if ((r->reason = diagnose(c, v, formula_of(c, &rd[i]), rd[i].truth, rd[i].conv, pair,
                                      &r->diagnosis)) != NULL)
                k = i;
    if (r->reason == NULL)
        r->reason = no_diagnosis;
    r->evidence = rd[k].evidence;
    r->follows = rd[k].conv;
    /* your formula over a claim that does not type-check has no values */
    if (!uses_ill_typed(cl->definition))
        r->counterexample = counterexample(c, cl, yours, rd[k].truth, rd[k].evidence.witness);
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

/* The note on a claim CL about V that holds with V's entries in another
   shape: one entry either way (db a scalar, b [1, 1]), or carried by
   broadcasting (carried_shape). */
static const char *
shape_note(checker *c, const symbol *cl, const symbol *v, int one)
{
    text t;
    text_init(&t, c->pool);
    text_printf(&t, "%s is ", cl->name);
    shape_print(&t, &cl->shape);
    text_printf(&t, " and %s is ", v->name);
    shape_print(&t, &v->shape);
    text_printf(&t,
                ": %s, and NumPy's broadcasting keeps %s's shape in "
                "%s - learning_rate * %s",
                one ? "one entry either way" : "the same entries", v->name, v->name, cl->name);
    return text_str(&t);
}

/* The note on a claim CL about V that holds in convention CONV and
   computes the output gradient from the output's values (dZ2 = A2 - Y):
   that form loses its relative accuracy for confident predictions, and the
   form from the logits (roundoff_logit_form) does not. NULL for any other
   claim, and for an output that has no name of its own (the loss written
   over sigmoid(Z2) itself). */
static const char *
confident_note(checker *c, const symbol *cl, const symbol *v, convention conv)
{
    size_t at;
    const term *logits = roundoff_logit_form(c->d, &at);
    if (logits == NULL || c->d->g[at].of != v)
        return NULL;
    const symbol *a = NULL; /* A2 = sigmoid(Z2) or softmax(Z2) */
    for (size_t i = 0; i < c->m->nsymbols && a == NULL; i++) {
        const symbol *s = c->m->symbols[i];
        const term *def = s->kind == SYM_DEF ? derive_definition(c->d, s) : NULL;
        if (def != NULL && (def->op == OP_SIGMOID || def->op == OP_SOFTMAX) &&
            def->args[0]->op == OP_SYM && def->args[0]->sym == v)
            a = s;
    }
    if (a == NULL || term_occurrences(cl->definition, a) == 0)
        return NULL;
    text t;
    text_init(&t, c->pool);
    text_printf(&t,
                "computed from %s, %s loses accuracy for confident predictions (%s rounds to 1 "
                "once %s passes about 37, and %s becomes 0); from the logits it does not: %s = %s",
                a->name, cl->name, a->name, v->name, cl->name, cl->name,
                conv == CONVENTION_ABSORBED ? "1/m * (" : "");
    print_term(&t, logits);
    if (conv == CONVENTION_ABSORBED)
        text_putc(&t, ')');
    return text_str(&t);
}

/* Whether the claim CL about V, read in CONV, has the normal form of V's
   gradient over atoms (over_atoms; YOURS as there), the entries compared
   when ONE: a proof whose size does not grow with the network's depth. */
static int
proved_over_atoms(checker *c, const symbol *cl, const symbol *v, convention conv, int one,
                  int yours)
{
    if (c->d != c->declared) /* the caches of over_atoms are the declared derivation's */
        return 0;
    const term *f = over_atoms(c, cl->definition, conv, yours);
    if (f == NULL || derive_find(c->d, v) == NULL)
        return 0;
    return same_over_atoms(c, entry(c, f, one), entry(c, gradient_formula(c, v, conv), one), conv);
}

/* The convention a claim that cannot be read in any (its shape is wrong)
   is shown in: UPSTREAM's, that of the earlier claims it uses; where they
   do not say and the file's convention is not fixed (NCONV 2), that of
   the last of EARLIER[0..NEARLIER) to hold, whose names its expected line
   can then use (dscores /= N before dW = np.dot(X, dscores)); else
   FIRST. */
static convention
unread_convention(const claim_result *earlier, size_t nearlier, convention upstream, int nconv,
                  convention first)
{
    if (nconv == 1)
        return first;
    if (upstream != CONVENTION_AUTO)
        return upstream;
    for (size_t i = nearlier; i-- > 0;)
        if (earlier[i].verdict == CLAIM_HOLDS && earlier[i].follows != CONVENTION_AUTO &&
            earlier[i].of->kind != SYM_PARAM)
            return earlier[i].follows;
    return first;
}

/* The verdict on the claim R (its claim and line set) as a claim about V
   (its target, or another version of the target's name), given the
   results of the claims before it, EARLIER[0..NEARLIER), all but the
   expected line; the convention the claim is read in first. */
static convention
verdict_as(checker *c, claim_result *r, const claim_result *earlier, size_t nearlier,
           const symbol *v)
{
    const symbol *cl = r->claim;
    r->of = v;
    /* the earlier claims this one uses (through working steps too): when
       they hold in one convention, this one is read in that convention too */
    int upstream_wrong = 0;
    convention upstream = CONVENTION_AUTO;
    for (size_t i = 0; i < nearlier; i++) {
        /* an undecided claim is neither right nor wrong: this one is judged as written */
        if (!uses_through_steps(c, cl->definition, earlier[i].claim) ||
            earlier[i].verdict == CLAIM_UNDECIDED)
            continue;
        if (earlier[i].verdict != CLAIM_HOLDS && earlier[i].verdict != CLAIM_STEP)
            upstream_wrong = 1;
        else if (earlier[i].verdict == CLAIM_HOLDS && earlier[i].follows != CONVENTION_AUTO &&
                 earlier[i].of->kind != SYM_PARAM)
            upstream = earlier[i].follows;
    }
    convention convs[2];
    int nconv = conventions(c, v, upstream, upstream_wrong, convs);
    const term *yours = expand(c, term_symbol(c->tab, cl), CONVENTION_ABSORBED, 1);
    r->yours = yours;
    if (cl->shape_error != NULL) { /* its formula has no shape: nothing to evaluate */
        r->verdict = CLAIM_SHAPE;
        r->reason = words(c, "does not type-check: %s%s%s", cl->shape_error, "", "");
        r->evidence = (claim_evidence){.method = METHOD_SHAPE, .witness = -1};
        r->yours = NULL;
        return unread_convention(earlier, nearlier, upstream, nconv, convs[0]);
    }
    /* one entry either way (db a scalar, b [1, 1]), or V's entries without
       its leading axes of size 1 (db1 [n_h] for b1 [1, n_h]): NumPy's
       broadcasting carries them into the update, so the entries are
       compared, and a note says so */
    int one = !shape_equal(&cl->shape, &v->shape) && shape_is_one_entry(&cl->shape) &&
              shape_is_one_entry(&v->shape);
    int carried =
        !shape_equal(&cl->shape, &v->shape) && !one && carried_shape(&cl->shape, &v->shape);
    char why[SHAPE_WHY];
    const term *as_v = carried ? carried_form(c, yours, &v->shape, why) : NULL;
    if (!shape_equal(&cl->shape, &v->shape) && !one && as_v == NULL) {
        convention conv = unread_convention(earlier, nearlier, upstream, nconv, convs[0]);
        wrong_shape(c, r, v, conv);
        return conv;
    }
    yours = carried ? as_v : entry(c, yours, one);
    reading rd[2];
    int held[2] = {0, 0}, witnessed = 1;
    for (int k = 0; k < nconv; k++) {
        rd[k].conv = convs[k];
        rd[k].truth = entry(c, truth(c, v, convs[k]), one);
        rd[k].claim = cl;
        rd[k].one = one;
        rd[k].carried = carried ? &v->shape : NULL;
        rd[k].formula = NULL;
        rd[k].formula_proved = proved_over_atoms(c, cl, v, convs[k], one, 0);
        rd[k].proved = proved_over_atoms(c, cl, v, convs[k], one, 1) || same(c, yours, rd[k].truth);
        /* the numbers cross-check a proof against unsound rules while the
           whole is small (CHECK_CROSS_CHECK_BUDGET); beyond, the proof over
           atoms stands alone, as issue 13's rules allow */
        rd[k].num = AGREE_COULD_NOT_RUN;
        rd[k].why = NULL;
        rd[k].evidence = (claim_evidence){.method = METHOD_NONE, .witness = -1};
        if (!rd[k].proved || (within(yours, CHECK_CROSS_CHECK_BUDGET) &&
                              within(rd[k].truth, CHECK_CROSS_CHECK_BUDGET)))
            rd[k].num = weigh(c, yours, rd[k].truth, &rd[k].evidence, &rd[k].why);
        if (rd[k].proved && rd[k].num == AGREE_DIFFERENT) {
            /* a proof and a witnessed difference: the rules proved something false */
            r->verdict = CLAIM_UNDECIDED;
            r->diagnosis = DC_DIAGNOSIS_UNSOUND_RULE;
            r->reason = "the symbolic and the numeric checks disagree, so a rule is unsound: "
                        "run derivcheck rules --verify";
            r->evidence = (claim_evidence){.method = METHOD_NONE, .witness = -1};
            return convs[0];
        }
        held[k] = rd[k].proved || rd[k].num == AGREE_EQUAL;
        witnessed &= rd[k].num == AGREE_DIFFERENT;
    }
    if (held[0] || (nconv > 1 && held[1])) {
        holds(c, r, rd, nconv, held);
        r->note = one || carried ? shape_note(c, cl, v, one) : confident_note(c, cl, v, r->follows);
        return convs[0];
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
                earlier[i].verdict != CLAIM_STEP &&
                uses_through_steps(c, cl->definition, earlier[i].claim))
                text_printf(&t, " %s (line %d)", earlier[i].claim->name, earlier[i].line);
        r->verdict = CLAIM_GIVEN_YOURS;
        r->diagnosis = DC_DIAGNOSIS_WRONG_EARLIER_CLAIMS;
        r->follows = convs[k];
        r->reason = text_str(&t);
        r->evidence = e;
        return convs[0];
    }
    if (!witnessed) {
        r->verdict = CLAIM_UNDECIDED;
        r->diagnosis = DC_DIAGNOSIS_NOT_DECIDABLE;
        for (int k = 0; k < nconv && r->reason == NULL; k++)
            if (rd[k].num == AGREE_COULD_NOT_RUN)
                r->reason = rd[k].why;
        r->evidence = (claim_evidence){.method = METHOD_NONE, .witness = -1};
        return convs[0];
    }
    refuted(c, r, v, rd, nconv, yours);
    return convs[0];
}

/* The verdict on the claim R as a claim about V (verdict_as), and its
   expected line, in the convention the claim was found to follow, was
   read in (a wrong claim) or right in (given wrong earlier ones), else
   the one it is read in first. */
static void
judge_as(checker *c, claim_result *r, const claim_result *earlier, size_t nearlier, const symbol *v)
{
    convention first = verdict_as(c, r, earlier, nearlier, v);
    int read =
        r->verdict == CLAIM_HOLDS || r->verdict == CLAIM_GIVEN_YOURS || r->verdict == CLAIM_REFUTED;
    convention conv = read && r->follows != CONVENTION_AUTO ? r->follows : first;
    const gradient *g = derive_find(c->d, v);
    r->expected = g != NULL ? expected_form(c, g, conv, earlier, nearlier, r->claim)
                            : term_const_si(c->tab, 0, 1);
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

/* R's reason, followed by " (as the gradient of A1' (line 12))". */
static void
as_gradient_of(checker *c, claim_result *r, const symbol *v)
{
    text t;
    text_init(&t, c->pool);
    text_printf(&t, "%s (as the gradient of %s)", r->reason, version_words(c, v));
    r->reason = text_str(&t);
}

/* The verdict on the claim R: about its target, or, when the target's
   name was assigned several times, about whichever of its versions the
   claim's gradient is. When a version is undecided, so is the claim. A
   working step that is none of them is CLAIM_STEP; the name's last
   assignment, the claim, is diagnosed against the version that explains
   it best (a mistake found rather than none). */
static void
judge(checker *c, claim_result *r, const claim_result *earlier, size_t nearlier)
{
    const symbol *v = r->claim->target;
    if (v == NULL) { /* a working value of pasted code: the claims that use it are judged */
        r->verdict = CLAIM_STEP;
        r->evidence = (claim_evidence){.method = METHOD_NONE, .witness = -1};
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
    size_t undecided = n;
    for (size_t k = 0; k < n && !c->failed; k++) {
        tries[k] = *r;
        judge_as(c, &tries[k], earlier, nearlier, vs[k]);
        if (tries[k].verdict == CLAIM_HOLDS) {
            *r = tries[k];
            return;
        }
        if (tries[k].verdict == CLAIM_UNDECIDED && undecided == n)
            undecided = k;
    }
    if (c->failed)
        return;
    if (undecided < n) { /* it may be the gradient of that version */
        *r = tries[undecided];
        if (n > 1)
            as_gradient_of(c, r, vs[undecided]);
        return;
    }
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
             tries[k].reason != no_diagnosis))
            best = k;
    *r = tries[best];
    as_gradient_of(c, r, vs[best]);
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

/* Once the oracle O found the derivation is not the derivative of the
   loss: R, unless a shape mistake or a working step (which no rule
   decides) or a claim whose own gradient alone agrees with the loss, is
   undecided, with why. */
static void
unconfirmed(checker *c, const oracle_result *o, claim_result *r)
{
    if (r->verdict == CLAIM_SHAPE || r->verdict == CLAIM_STEP)
        return;
    const oracle_gradient *a = NULL;
    for (size_t i = 0; i < c->d->n; i++)
        if (o->alone[i].g->of == r->of)
            a = &o->alone[i];
    if (a != NULL && a->check.status == ORACLE_AGREES)
        return;
    text t;
    text_init(&t, c->pool);
    const char *J = c->m->loss->name;
    if (a != NULL && a->check.status == ORACLE_DIFFERS)
        text_printf(&t,
                    "the derived d%s is not the derivative of %s (along a random direction U: "
                    "sum(d%s * U) = %.10g, the central difference of %s %.10g), so the claim "
                    "cannot be judged against it: a rule is unsound",
                    r->of->name, J, r->of->name, a->check.sum, J, a->check.central);
    else
        text_printf(&t,
                    "the derived d%s could not be confirmed against %s alone (%s), and the "
                    "derivation has gradients that are not its derivative: a rule is unsound",
                    r->of->name, J,
                    a == NULL || a->check.status == ORACLE_NOT_RUN ? "not checked" : a->check.why);
    r->verdict = CLAIM_UNDECIDED;
    r->diagnosis = DC_DIAGNOSIS_UNSOUND_RULE;
    r->reason = text_str(&t);
    r->evidence = (claim_evidence){.method = METHOD_NONE, .witness = -1};
    r->counterexample = NULL;
    r->follows = CONVENTION_AUTO;
}

check_result *
check_claims(model *m, const derivation *d, const rule_set *rs, unsigned long seed, dc_error *err,
             mem_pool *err_pool)
{
    checker c = {.m = m,
                 .d = d,
                 .declared = d,
                 .rs = rs,
                 .tab = m->terms,
                 .pool = m->pool,
                 .seed = seed,
                 .err = err,
                 .err_pool = err_pool};
    for (int k = 0; k < CHECK_SIZES; k++)
        sample_sizes_of(&c.sizes[k], c.pool, m, k);
    check_result *res = mem_zalloc(c.pool, sizeof *res);
    c.res = res;
    res->r = mem_zalloc(c.pool, (m->nsymbols + 1) * sizeof *res->r);
    sample_sizes *sizes = mem_alloc(c.pool, sizeof c.sizes);
    memcpy(sizes, c.sizes, sizeof c.sizes);
    res->sizes = sizes;
    res->oracle = oracle_run(d, seed, NULL, NULL, c.pool);
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
        /* a working step that is no gradient fails nothing by itself: the
           claim is the name's last assignment */
        refuted +=
            r->verdict != CLAIM_HOLDS && r->verdict != CLAIM_UNDECIDED && r->verdict != CLAIM_STEP;
    }
    /* a wrong claim that a later claim is right given, read in either
       convention, is read in the one the later claim is right in: its
       expected line and counterexample are then what that claim builds on
       (dscores = (probs - Y) / N, not probs - Y, before dW = dscores @ X.T) */
    for (size_t i = 0; i < res->n && !c.failed; i++) {
        claim_result *r = &res->r[i];
        convention later = CONVENTION_AUTO;
        for (size_t j = i + 1;
             j < res->n && later == CONVENTION_AUTO && r->verdict == CLAIM_REFUTED; j++)
            if (res->r[j].verdict == CLAIM_GIVEN_YOURS &&
                uses_through_steps(&c, res->r[j].claim->definition, r->claim))
                later = res->r[j].follows;
        if (later == CONVENTION_AUTO || later == r->follows)
            continue;
        claim_result again = {.claim = r->claim, .line = r->line, .follows = CONVENTION_AUTO};
        c.prefer = later;
        judge(&c, &again, res->r, i);
        c.prefer = CONVENTION_AUTO;
        if (again.verdict == CLAIM_REFUTED)
            *r = again;
    }
    if (c.failed)
        return NULL;
    /* after every claim is judged, so that judging one after another is
       as without the oracle */
    for (size_t i = 0; i < res->n && res->oracle->joint.status == ORACLE_DIFFERS; i++)
        unconfirmed(&c, res->oracle, &res->r[i]);
    res->mixing = mixing(&c, res);
    res->outcome = res->oracle->joint.status == ORACLE_DIFFERS ? CHECK_UNDECIDED
                   : refuted > 0 || res->mixing != NULL        ? CHECK_REFUTED
                   : undecided > 0                             ? CHECK_UNDECIDED
                                                               : CHECK_ALL_HOLD;
    return res;
}
