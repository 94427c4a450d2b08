/* prove.c: the two placements of 1/m, proven equal; see prove.h. */
#include "cmd/prove.h"

#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#include "sym/canon.h"
#include "num/agree.h"
#include "num/ulps.h"

typedef struct prover {
    const derivation *d;
    const rule_set *rs;
    model *m;
    term_table *tab;
    mem_pool *pool;
    dc_error *err;
    mem_pool *err_pool;
    long steps;
    unsigned long seed;
    int failed;
    long numeric_depth;
} prover;

static const term *
times_batch(prover *p, const term *t)
{
    const term *args[2] = {term_symbol(p->tab, p->m->batch), t};
    char why[SHAPE_WHY];
    return term_make(p->tab, OP_MUL, 0, 0, args, 2, why);
}

/* The precisions of the MPFR table. */
static const long precisions[PROVE_PRECISIONS] = {64, 128, 256, 1024};

/* ---- the certificate ---- */

/* The index of the gradient whose absorbed name is S, or (size_t)-1. */
static size_t
gradient_index(const derivation *d, const symbol *s)
{
    for (size_t i = 0; i < d->n; i++)
        if (d->g[i].absorbed_name == s)
            return i;
    return (size_t)-1;
}

/* Add to L the index of every gradient T names (each once). The walk
   keeps a memo of the subterms seen, so a shared subterm costs once. */
static void
collect_uses(prover *p, proof_lemma *l, const term *t, term_map *seen)
{
    if (term_map_get(seen, t) != NULL)
        return;
    term_map_put(seen, t, t);
    if (t->op == OP_SYM) {
        if (t->sym->kind != SYM_GRAD)
            return;
        size_t i = gradient_index(p->d, t->sym);
        for (size_t k = 0; k < l->nuses; k++)
            if (l->uses[k] == i)
                return;
        l->uses = mem_realloc(p->pool, l->uses, (l->nuses + 1) * sizeof *l->uses);
        l->uses[l->nuses++] = i;
        return;
    }
    for (unsigned k = 0; k < t->nargs; k++)
        collect_uses(p, l, t->args[k], seen);
}

static void
cite_rule(prover *p, proof_lemma *l, const rule *r)
{
    if (r == NULL || r->kind != RULE_ADJOINT)
        return;
    for (size_t k = 0; k < l->nrules; k++)
        if (l->rules[k] == r)
            return;
    l->rules = mem_realloc(p->pool, l->rules, (l->nrules + 1) * sizeof *l->rules);
    l->rules[l->nrules++] = r;
}

/* Cite the adjoint rules G's formula came through: its own steps, and
   those of each gradient written into it (one used once, so not named):
   the gradient of a definition that uses G's variable. */
static void
cite_rules(prover *p, proof_lemma *l, const gradient *g)
{
    for (size_t k = 0; k < g->steps.n; k++)
        cite_rule(p, l, g->steps.steps[k].rule);
    for (size_t i = 0; i < p->d->n; i++) {
        const gradient *u = &p->d->g[i];
        if (u != g && !u->named && u->of->kind == SYM_DEF && u->of->definition != NULL &&
            term_occurrences(u->of->definition, g->of) > 0)
            cite_rules(p, l, u);
    }
}

/* Lemma I of the certificate, once the lemmas it uses are made (DONE):
   whether it holds. */
static void
lemma(prover *p, proof *pr, size_t i, const char *done)
{
    proof_lemma *l = &pr->lemmas[i];
    const gradient *g = l->g;
    l->depth = 1;
    l->status = LEMMA_HOLDS;
    term_map *with = term_map_new(p->pool);
    char why[SHAPE_WHY];
    for (size_t k = 0; k < l->nuses; k++) {
        size_t u = l->uses[k];
        if (u == (size_t)-1 || !done[u] || pr->lemmas[u].status != LEMMA_HOLDS) {
            l->status = LEMMA_EARLIER;
            continue;
        }
        if (pr->lemmas[u].depth + 1 > l->depth)
            l->depth = pr->lemmas[u].depth + 1;
        const gradient *ug = &p->d->g[u];
        const term *to = term_symbol(p->tab, ug->deferred_name);
        if (pr->lemmas[u].intermediate) {
            const term *args[2] = {to, term_symbol(p->tab, p->m->batch)};
            to = term_make(p->tab, OP_DIV, 0, 0, args, 2, why);
        }
        term_map_put(with, term_symbol(p->tab, ug->absorbed_name), to);
    }
    /* a seed carries the loss's 1/m and goes through no earlier gradient:
       its rules need not be linear */
    for (size_t k = 0; k < l->nrules && l->nuses > 0 && l->status == LEMMA_HOLDS; k++)
        if (!l->rules[k]->linear_claimed || !l->rules[k]->linear) {
            l->status = LEMMA_NOT_LINEAR;
            l->nonlinear = l->rules[k];
        }
    const term *a =
        term_replace(p->tab, g->absorbed, with, term_map_new(p->pool), TERM_REPLACE_KEEP_MISFITS);
    if (l->intermediate)
        a = times_batch(p, a);
    l->absorbed_substituted =
        derive_simplify(p->tab, p->rs, NULL, a, NULL, &p->steps, p->err, p->err_pool);
    l->deferred =
        derive_simplify(p->tab, p->rs, NULL, g->deferred, NULL, &p->steps, p->err, p->err_pool);
    if (l->absorbed_substituted == NULL || l->deferred == NULL) {
        p->failed = 1;
        return;
    }
    if (l->status == LEMMA_HOLDS && l->absorbed_substituted != l->deferred)
        l->status = LEMMA_FORMS_DIFFER;
}

/* The certificate: every lemma's uses and rules, then the lemmas in an
   order where each comes after those it uses (the derivation's order,
   but for a param the loss uses directly, whose gradient also flows from
   below); a lemma in a cycle, which derive does not make, is made last
   and does not hold. */
static void
certificate(prover *p, proof *pr)
{
    const derivation *d = p->d;
    for (size_t i = 0; i < d->n; i++) {
        proof_lemma *l = &pr->lemmas[i];
        l->g = &d->g[i];
        l->intermediate = l->g->of->kind != SYM_PARAM && p->m->batch != NULL;
        collect_uses(p, l, l->g->absorbed, term_map_new(p->pool));
        cite_rules(p, l, l->g);
    }
    char *done = mem_zalloc(p->pool, d->n + 1);
    size_t made = 0;
    for (int progress = 1; progress && made < d->n && !p->failed;) {
        progress = 0;
        for (size_t i = 0; i < d->n && !p->failed; i++) {
            int ready = !done[i];
            for (size_t k = 0; ready && k < pr->lemmas[i].nuses; k++)
                ready = pr->lemmas[i].uses[k] == (size_t)-1 || done[pr->lemmas[i].uses[k]];
            if (!ready)
                continue;
            lemma(p, pr, i, done);
            done[i] = 1;
            made++;
            progress = 1;
        }
    }
    for (size_t i = 0; i < d->n && !p->failed; i++)
        if (!done[i])
            lemma(p, pr, i, done);
}

const char *
prove_lemma_words(const proof *pr, const proof_lemma *l, mem_pool *pool)
{
    const model *m = pr->d->m;
    const char *v = l->g->of->name;
    const char *mname = m->batch != NULL ? m->batch->name : "m";
    text t;
    text_init(&t, pool);
    text_printf(&t, "lemma %zu: absorbed d%s = ", (size_t)(l - pr->lemmas) + 1, v);
    if (l->intermediate)
        text_printf(&t, "1/%s * ", mname);
    text_printf(&t, "deferred d%s", v);
    switch (l->status) {
    case LEMMA_HOLDS:
        if (l->nuses == 0) {
            text_printf(&t, "%s",
                        l->intermediate ? ", the seed: the loss's 1/" : ", no earlier gradient");
            if (l->intermediate)
                text_printf(&t, "%s, no earlier gradient", mname);
            break;
        }
        text_puts(&t, ", from lemma");
        for (size_t k = 0; k < l->nuses; k++)
            text_printf(&t, "%s %zu (d%s)", k ? "," : (l->nuses > 1 ? "s" : ""), l->uses[k] + 1,
                        pr->d->g[l->uses[k]].of->name);
        text_puts(&t, ", through");
        for (size_t k = 0; k < l->nrules; k++)
            text_printf(&t, "%s %s", k ? "," : "", l->rules[k]->name);
        text_puts(&t, " (linear in G)");
        break;
    case LEMMA_NOT_LINEAR:
        text_printf(&t, " NOT shown: the rule %s (%s:%d) is not %s linear in G", l->nonlinear->name,
                    l->nonlinear->file, l->nonlinear->line,
                    l->nonlinear->linear_claimed ? "shown" : "claimed");
        break;
    case LEMMA_EARLIER:
        text_puts(&t, " NOT shown: a gradient it uses has no earlier lemma that holds");
        break;
    case LEMMA_FORMS_DIFFER:
        text_puts(&t, " NOT shown: with the earlier lemmas substituted, the normal forms differ");
        break;
    }
    return text_str(&t);
}

/* ---- degree bound for Schwartz-Zippel ---- */

/* An upper bound on the degree of T as a rational function of the random
   entries (inputs, labels, params, free activations), numerator and
   denominator together; forward definitions and named gradients count
   through their formulas, each once (MEMO keeps each name's degree as a
   constant term), so that a deep chain of names costs its length. */
static long
degree(prover *p, const term *t, term_map *memo)
{
    long a, b;
    switch (t->op) {
    case OP_CONST:
        return 0;
    case OP_SYM:
        if (t->sym->kind == SYM_DIM || t->sym->kind == SYM_BATCH)
            return 0;
        if ((t->sym->kind == SYM_DEF || t->sym->kind == SYM_GRAD) && t->sym->definition != NULL) {
            int is_free =
                t->sym->kind == SYM_DEF &&
                (t->sym->definition->op == OP_SIGMOID || t->sym->definition->op == OP_TANH ||
                 t->sym->definition->op == OP_EXP || t->sym->definition->op == OP_SOFTMAX ||
                 t->sym->definition->op == OP_LOG);
            if (is_free)
                return 1;
            const term *known = term_map_get(memo, t);
            if (known != NULL)
                return mpz_get_si(mpq_numref(known->value));
            long k = degree(p, t->sym->definition, memo);
            term_map_put(memo, t, term_const_si(p->tab, k, 1));
            return k;
        }
        return 1;
    case OP_ADD:
    case OP_MUL:
    case OP_DIV:
    case OP_MATMUL:
        /* a + b or a / b over a common denominator: the degrees add */
        a = degree(p, t->args[0], memo);
        b = degree(p, t->args[1], memo);
        return a + b;
    case OP_POW:
        if (t->args[1]->op == OP_CONST && mpz_cmp_ui(mpq_denref(t->args[1]->value), 1) == 0 &&
            mpz_fits_slong_p(mpq_numref(t->args[1]->value))) {
            long k = labs(mpz_get_si(mpq_numref(t->args[1]->value)));
            return k * degree(p, t->args[0], memo);
        }
        return 1000000;
    case OP_STEP:
        return 0; /* piecewise constant */
    case OP_RELU:
        return degree(p, t->args[0], memo);
    default:
        return t->nargs > 0 ? degree(p, t->args[0], memo) : 0;
    }
}

/* ---- numbers ---- */

const char *
prove_method_name(prove_method m)
{
    switch (m) {
    case PROVE_BY_SYMBOLIC:
        return "symbolic";
    case PROVE_BY_EXACT:
        return "exact";
    case PROVE_BY_ENCLOSURE:
        return "enclosure";
    case PROVE_BY_NUMERIC:
        return "numeric";
    case PROVE_BY_NOTHING:
        break;
    }
    return "none";
}

const char *
prove_verdict_name(prove_verdict v)
{
    switch (v) {
    case PROVE_PROVEN:
        return "proven";
    case PROVE_NUMERIC_ONLY:
        return "equal numerically";
    case PROVE_REFUTED:
        return "refuted";
    case PROVE_UNDECIDED:
        break;
    }
    return "undecided";
}

/* The two sides of IT as they are evaluated: the pretty formulas as
   written, the absorbed one times m for an intermediate. */
static void
sides(prover *p, const proof_item *it, const term **deferred, const term **absorbed)
{
    *deferred = derive_pretty(p->d, it->g, CONVENTION_DEFERRED);
    *absorbed = derive_pretty(p->d, it->g, CONVENTION_ABSORBED);
    if (!it->is_param && p->m->batch != NULL)
        *absorbed = times_batch(p, *absorbed);
}

/* The random point INDEX, at the sizes SIZES (NULL: the declared ones,
   with batch size BATCH, 0 for the declared). */
static agree_points
points(const prover *p, unsigned long index, const sample_sizes *sizes, long batch)
{
    return (agree_points){.m = p->m,
                          .seed = p->seed,
                          .first = index,
                          .count = 1,
                          .bits = PROVE_SAMPLE_BITS,
                          .batch = batch,
                          .sizes = sizes,
                          .nsizes = sizes != NULL};
}

/* "n_x = 2, n_h = 3, m = 4": the size assignment S in words. */
static void
size_words(text *t, const sample_sizes *s)
{
    for (size_t d = 0; d < s->count; d++)
        text_printf(t, "%s%s = %ld", d ? ", " : "", s->dims[d]->name, s->n[d]);
}

const char *
prove_size_words(const sample_sizes *s, mem_pool *pool)
{
    text t;
    text_init(&t, pool);
    size_words(&t, s);
    return text_str(&t);
}

const char *
prove_sizes_words(const proof *pr, mem_pool *pool)
{
    text t;
    text_init(&t, pool);
    size_t count = pr->sizes[0].count;
    if (count == 1)
        text_printf(&t, "%s = ", pr->sizes[0].dims[0]->name);
    else if (count > 1) {
        text_putc(&t, '(');
        for (size_t d = 0; d < count; d++)
            text_printf(&t, "%s%s", d ? ", " : "", pr->sizes[0].dims[d]->name);
        text_puts(&t, ") = ");
    }
    for (int k = 0; k < PROVE_SIZES && count > 0; k++) {
        text_puts(&t, k ? ", " : "");
        text_puts(&t, count > 1 ? "(" : "");
        for (size_t d = 0; d < count; d++)
            text_printf(&t, "%s%ld", d ? ", " : "", pr->sizes[k].n[d]);
        text_puts(&t, count > 1 ? ")" : "");
    }
    return text_str(&t);
}

/* "entry [i, j] of random point K (n_x = 2, m = 6)": where R was found,
   at the size assignment SIZES (the exact and enclosure tests'). */
static const char *
where(const prover *p, const agree_result *r, const sample_sizes *sizes)
{
    text t;
    text_init(&t, p->pool);
    text_printf(&t, "entry [%ld, %ld] of random point %lu", r->i, r->j, r->point);
    if (sizes->count > 0) {
        text_puts(&t, " (");
        size_words(&t, sizes);
        text_putc(&t, ')');
    }
    return text_str(&t);
}

/* Where a sweep's values of one item were drawn: the point, at the sizes
   SIZES (NULL: the declared ones with batch size BATCH, 0 for the
   declared), and for the MPFR table the precision's index. */
typedef struct sweep_at {
    unsigned long point;
    const sample_sizes *sizes;
    long batch;
    int k;
} sweep_at;

/* What a sweep does with IT's two values at the point AT: A the absorbed
   side, B the deferred; both NULL when a side could not be evaluated, with
   WHY. */
typedef void item_step(prover *p, proof_item *it, const value *a, const value *b, const char *why,
                       const sweep_at *at);

/* The two sides of every item of PR that WANT marks (one flag per item)
   evaluated at point AT->point with batch size AT->batch in numbers of
   KIND (PREC bits) in one evaluator, and handed to STEP: the forward pass
   and the earlier gradients the items share are computed once for all of
   them, not once per item and comparison, so that the numeric tests of a
   deep network grow with its depth, not with its square. */
static void
sweep(prover *p, proof *pr, const char *want, const sweep_at *at, number_kind kind, long prec,
      item_step *step)
{
    agree_pair *pairs = mem_alloc(p->pool, (pr->n + 1) * sizeof *pairs);
    proof_item **of = mem_alloc(p->pool, (pr->n + 1) * sizeof *of);
    size_t n = 0;
    for (size_t i = 0; i < pr->n; i++)
        if (want[i]) {
            sides(p, &pr->items[i], &pairs[n].b, &pairs[n].a);
            of[n++] = &pr->items[i];
        }
    if (n > 0) {
        agree_points ps = points(p, at->point, at->sizes, at->batch);
        agree_result r;
        evaluator *ev = agree_evaluate_pairs(pairs, n, &r, p->pool, &ps, kind, prec);
        for (size_t k = 0; k < n; k++)
            step(p, of[k], ev ? pairs[k].va : NULL, ev ? pairs[k].vb : NULL,
                 ev ? pairs[k].why : r.why, at);
        eval_free(ev);
    }
    mem_release(p->pool, of);
    mem_release(p->pool, pairs);
}

/* One exact point of IT: counted as tried, and as evaluated unless it
   could not be (its reason kept); a nonzero difference is the witness. */
static void
exact_step(prover *p, proof_item *it, const value *a, const value *b, const char *why,
           const sweep_at *at)
{
    it->exact_tried++;
    if (a == NULL) {
        if (it->exact_why == NULL)
            it->exact_why = mem_strdup(p->pool, why);
        return;
    }
    agree_result r;
    r.point = at->point;
    it->exact_points++;
    if (agree_compare_exact(&r, a, b) == AGREE_EQUAL)
        it->exact_equal++;
    else if (it->exact_witness == NULL)
        it->exact_witness =
            r.i < 0 ? "the two sides have different numbers of entries" : where(p, &r, at->sizes);
}

/* Exact rationals for every item WANT marks, at PROVE_POINTS points, point
   K at the size assignment K mod PROVE_SIZES; an item whose lemma holds
   only at the first PROVE_CONFIRM_POINTS, which confirm its proof. A
   claim holds at every size, so small sizes are as good a test as the
   declared ones, and they keep the rationals of a deep network's chain
   small. */
static void
exact(prover *p, proof *pr, const char *want)
{
    char *now = mem_zalloc(p->pool, pr->n + 1);
    /* a name's degree is the same in every item: one memo for all */
    term_map *memo = term_map_new(p->pool);
    for (size_t i = 0; i < pr->n; i++)
        if (want[i]) {
            const term *deferred, *absorbed;
            sides(p, &pr->items[i], &deferred, &absorbed);
            pr->items[i].degree = degree(p, deferred, memo) + degree(p, absorbed, memo);
            pr->items[i].exact_confirms = pr->items[i].symbolic;
        }
    /* each item's points evaluated at each size assignment */
    int *per = mem_zalloc(p->pool, (pr->n + 1) * PROVE_SIZES * sizeof *per);
    for (int k = 0; k < PROVE_POINTS; k++) {
        sweep_at at = {.point = (unsigned long)k, .sizes = &pr->sizes[k % PROVE_SIZES]};
        for (size_t i = 0; i < pr->n; i++) {
            now[i] = want[i] && (k < PROVE_CONFIRM_POINTS || !pr->items[i].exact_confirms);
            per[i * PROVE_SIZES + k % PROVE_SIZES] -= pr->items[i].exact_points;
        }
        sweep(p, pr, now, &at, NUMBER_EXACT, 0, exact_step);
        for (size_t i = 0; i < pr->n; i++)
            per[i * PROVE_SIZES + k % PROVE_SIZES] += pr->items[i].exact_points;
    }
    for (size_t i = 0; i < pr->n; i++) {
        proof_item *it = &pr->items[i];
        if (!want[i])
            continue;
        it->exact_per_size = per[i * PROVE_SIZES];
        for (int s = 1; s < PROVE_SIZES; s++)
            if (per[i * PROVE_SIZES + s] < it->exact_per_size)
                it->exact_per_size = per[i * PROVE_SIZES + s];
        /* each point: P(unequal forms agree) <= degree / (values per
           entry); forms may differ at one size assignment only, so only
           the points of the one with the fewest count */
        double per_point =
            it->degree > 0 ? log2((double)it->degree) - PROVE_SAMPLE_BITS : -INFINITY;
        it->log2_chance = it->exact_per_size * (per_point < 0 ? per_point : 0);
    }
    mem_release(p->pool, per);
    mem_release(p->pool, now);
}

/* Whether the MPFR table of IT is at the size of rounding error at every
   precision: the gap shrinks as the precision grows. */
static int
at_rounding(const proof_item *it)
{
    for (int k = 0; k < PROVE_PRECISIONS; k++)
        if (isnan(it->log2_gap[k]) ||
            it->log2_gap[k] > -(double)(it->precision[k] - PROVE_ROUNDING_SLACK))
            return 0;
    return 1;
}

/* One enclosure point of IT at it->enclosure_bits: a difference whose
   enclosure excludes 0 is a witness. */
static void
enclosure_step(prover *p, proof_item *it, const value *a, const value *b, const char *why,
               const sweep_at *at)
{
    if (a == NULL) {
        it->enclosure = AGREE_COULD_NOT_RUN;
        it->enclosure_what = mem_strdup(p->pool, why);
        return;
    }
    agree_result r;
    r.point = at->point;
    it->enclosure = agree_compare_enclosure(&r, a, b, it->enclosure_bits);
    if (it->enclosure == AGREE_COULD_NOT_RUN)
        it->enclosure_what = mem_strdup(p->pool, r.why);
    else if (it->enclosure == AGREE_DIFFERENT) {
        text t;
        text_init(&t, p->pool);
        text_printf(&t, "%s: deferred %.6g, absorbed %.6g",
                    r.i < 0 ? "the numbers of entries differ" : where(p, &r, at->sizes), r.b, r.a);
        it->enclosure_what = text_str(&t);
    }
}

/* Interval arithmetic for every item WANT marks (those no exact point
   could be evaluated for), at one point per size assignment, at
   PROVE_ENCLOSURE_BITS and, for an item whose MPFR gaps do not look like
   rounding and that no difference was shown for, at PROVE_ENCLOSURE_MORE.
   An item's points stop at the first that does not end NOT_SEPARATED. */
static void
enclosure(prover *p, proof *pr, const char *want)
{
    static const long ladder[] = {PROVE_ENCLOSURE_BITS, PROVE_ENCLOSURE_MORE};
    char *now = mem_zalloc(p->pool, pr->n + 1);
    for (size_t l = 0; l < sizeof ladder / sizeof ladder[0]; l++) {
        for (size_t i = 0; i < pr->n; i++) {
            proof_item *it = &pr->items[i];
            now[i] = want[i] && (l == 0 || (!at_rounding(it) && it->enclosure != AGREE_DIFFERENT));
            if (now[i]) {
                it->enclosure_bits = ladder[l];
                it->enclosure = AGREE_NOT_SEPARATED;
                it->enclosure_what = NULL;
            }
        }
        for (int b = 0; b < PROVE_SIZES; b++) {
            for (size_t i = 0; i < pr->n; i++)
                now[i] &= pr->items[i].enclosure == AGREE_NOT_SEPARATED;
            sweep_at at = {.point = 3000 + (unsigned long)b, .sizes = &pr->sizes[b]};
            sweep(p, pr, now, &at, NUMBER_BALL, ladder[l], enclosure_step);
        }
    }
    mem_release(p->pool, now);
}

/* One precision of IT's MPFR table (AT->k): the gap, NaN where no
   difference could be evaluated, which is neither agreement nor a
   difference. */
static void
mpfr_step(prover *p, proof_item *it, const value *a, const value *b, const char *why,
          const sweep_at *at)
{
    if (a == NULL) {
        if (it->numeric_why == NULL)
            it->numeric_why = mem_strdup(p->pool, why);
        return;
    }
    agree_result r;
    if (agree_compare_mpfr(&r, a, b, precisions[at->k], 0, -INFINITY) == AGREE_COULD_NOT_RUN &&
        it->numeric_why == NULL)
        it->numeric_why = mem_strdup(p->pool, r.why);
    it->log2_gap[at->k] = r.log2_gap;
}

/* The MPFR table of every item WANT marks, drawn at the size assignment
   pr->mpfr_sizes[0], whose batch size is not a power of two, so that 1/m
   is not exact and the two placements round differently. Each gap is
   relative to the largest entry of the deferred side. */
static void
numeric(prover *p, proof *pr, const char *want)
{
    for (size_t i = 0; i < pr->n; i++)
        if (want[i])
            pr->items[i].numeric_batch = pr->batches[pr->mpfr_sizes[0]];
    for (int k = 0; k < PROVE_PRECISIONS; k++) {
        sweep_at at = {.point = 1000, .sizes = &pr->sizes[pr->mpfr_sizes[0]], .k = k};
        sweep(p, pr, want, &at, NUMBER_MPFR, precisions[k], mpfr_step);
    }
}

/* Whether IT's verdict would rest on MPFR alone: no witness, no proof,
   and its MPFR table at the size of rounding error. */
static int
rests_on_mpfr(const proof_item *it)
{
    return it->exact_witness == NULL &&
           !(it->enclosure_bits > 0 && it->enclosure == AGREE_DIFFERENT) && !it->symbolic &&
           !(it->exact_points > 0 && it->exact_equal == it->exact_points) && at_rounding(it);
}

static void
again_step(prover *p, proof_item *it, const value *a, const value *b, const char *why,
           const sweep_at *at)
{
    (void)p, (void)why, (void)at;
    agree_result r;
    it->log2_gap2 = NAN;
    if (a != NULL) {
        agree_compare_mpfr(&r, a, b, it->precision[PROVE_PRECISIONS - 1], 0, -INFINITY);
        it->log2_gap2 = r.log2_gap;
    }
}

/* The MPFR gap at the top precision at the second size assignment of
   choose_sizes, for every item whose verdict would rest on MPFR alone:
   agreement at one size is not enough. */
static void
numeric_again(prover *p, proof *pr)
{
    char *want = mem_zalloc(p->pool, pr->n + 1);
    for (size_t i = 0; i < pr->n; i++) {
        proof_item *it = &pr->items[i];
        want[i] = (char)rests_on_mpfr(it);
        if (want[i])
            it->numeric_batch2 = pr->batches[pr->mpfr_sizes[1]];
    }
    sweep_at at = {.point = 1001, .sizes = &pr->sizes[pr->mpfr_sizes[1]]};
    sweep(p, pr, want, &at, NUMBER_MPFR, precisions[PROVE_PRECISIONS - 1], again_step);
    mem_release(p->pool, want);
}

/* IT's ulps in double at the batch size AT->batch: the most ulps apart
   the two formulas are (AT->k: 0 the power of two, 1 the other); NaN when
   they could not be evaluated or their numbers of entries differ. */
static void
double_step(prover *p, proof_item *it, const value *a, const value *b, const char *why,
            const sweep_at *at)
{
    (void)p, (void)why;
    double worst = NAN;
    if (a != NULL && a->rows * a->cols == b->rows * b->cols) {
        worst = 0;
        for (long n = 0; n < a->rows * a->cols; n++) {
            double u = ulps_between(*eval_d(b, n / b->cols, n % b->cols),
                                    *eval_d(a, n / a->cols, n % a->cols));
            if (u > worst)
                worst = u;
        }
    }
    *(at->k == 0 ? &it->ulps_pow2 : &it->ulps_other) = worst;
}

/* ---- the gradient against the loss ---- */

/* IT's check against the loss, from the oracle O: the param's own check
   when O checked each gradient alone (after a disagreement), else the
   joint one, which moved every param at once. */
static void
loss_from(prover *p, const oracle_result *o, proof_item *it)
{
    const oracle_check *c = &o->joint;
    for (size_t i = 0; o->alone != NULL && i < p->d->n; i++)
        if (o->alone[i].g == it->g)
            c = &o->alone[i].check;
    it->loss = c->status == ORACLE_AGREES    ? PROVE_LOSS_AGREES
               : c->status == ORACLE_DIFFERS ? PROVE_LOSS_DIFFERS
                                             : PROVE_LOSS_COULD_NOT_RUN;
    it->loss_log2_gap = c->log2_gap;
    it->loss_what = c->why;
    if (c->status == ORACLE_NOT_RUN)
        it->loss_what = "not checked alone: the first gradients from the loss back were";
    if (c->status == ORACLE_DIFFERS) {
        text t;
        text_init(&t, p->pool);
        text_printf(&t, "sum(d%s * U) is %.10g, the central difference of %s along U %.10g",
                    it->g->of->name, c->sum, p->m->loss->name, c->central);
        it->loss_what = text_str(&t);
    }
}

/* IT's numeric evidence as not run: NaN gaps and ulps, the precisions of
   the MPFR table, the loss check with why. */
static void
not_run(proof_item *it)
{
    for (int k = 0; k < PROVE_PRECISIONS; k++) {
        it->precision[k] = precisions[k];
        it->log2_gap[k] = NAN;
    }
    it->log2_gap2 = NAN;
    it->ulps_pow2 = it->ulps_other = NAN;
    it->log2_chance = 0;
}

/* ---- the verdict ---- */

/* IT's verdict from its evidence: a witnessed difference first (exact,
   then the enclosure), then a proof (symbolic, then exact), then MPFR
   agreement at two batch sizes; otherwise undecided. */
static void
decide(proof_item *it)
{
    it->verdict = PROVE_UNDECIDED;
    it->method = PROVE_BY_NOTHING;
    if (it->exact_witness != NULL) {
        it->verdict = PROVE_REFUTED;
        it->method = PROVE_BY_EXACT;
    } else if (it->enclosure_bits > 0 && it->enclosure == AGREE_DIFFERENT) {
        it->verdict = PROVE_REFUTED;
        it->method = PROVE_BY_ENCLOSURE;
    } else if (it->symbolic) {
        it->verdict = PROVE_PROVEN;
        it->method = PROVE_BY_SYMBOLIC;
    } else if (it->exact_points > 0 && it->exact_equal == it->exact_points) {
        it->verdict = PROVE_PROVEN;
        it->method = PROVE_BY_EXACT;
    } else if (rests_on_mpfr(it) && !isnan(it->log2_gap2) &&
               it->log2_gap2 <=
                   -(double)(it->precision[PROVE_PRECISIONS - 1] - PROVE_ROUNDING_SLACK)) {
        it->verdict = PROVE_NUMERIC_ONLY;
        it->method = PROVE_BY_NUMERIC;
    }
    it->disagree = it->symbolic && it->verdict == PROVE_REFUTED;
}

static long
is_power_of_two(long n)
{
    return n > 0 && (n & (n - 1)) == 0;
}

/* The size assignments of the exact and enclosure tests (and the batch
   size in each), and the two of them the MPFR table is drawn at: those
   whose batch size is not a power of two (3 and 5), so that 1/m is not
   exact and the placements round differently; the first two without a
   batch. Small sizes keep 1024 bits through a deep network cheap. */
static void
choose_sizes(prover *p, proof *pr)
{
    size_t batch = 0;
    int n = 0;
    for (int k = 0; k < PROVE_SIZES; k++) {
        sample_sizes_small(&pr->sizes[k], p->pool, p->m, k);
        for (size_t d = 0; d < pr->sizes[k].count; d++)
            if (pr->sizes[k].dims[d] == p->m->batch)
                batch = d;
        if (p->m->batch != NULL)
            pr->batches[pr->nbatches++] = pr->sizes[k].n[batch];
        if (n < 2 && (p->m->batch == NULL || !is_power_of_two(pr->batches[k])))
            pr->mpfr_sizes[n++] = k;
    }
}

/* The proof's verdict from its params', UNDECIDED whatever they say when
   the derived gradients are not the derivative of the loss: the rule base
   is unsound, which refutes nothing about the placements and leaves
   nothing proven about the gradients. */
static void
verdict(proof *pr)
{
    int refuted = 0, proven = 1, numeric = 1;
    for (size_t i = 0; i < pr->n; i++) {
        const proof_item *it = &pr->items[i];
        if (!it->is_param)
            continue;
        refuted |= it->verdict == PROVE_REFUTED;
        proven &= it->verdict == PROVE_PROVEN;
        numeric &= it->verdict == PROVE_PROVEN || it->verdict == PROVE_NUMERIC_ONLY;
        pr->all_exact &= it->exact_points > 0 && it->exact_equal == it->exact_points;
    }
    pr->verdict = pr->oracle->joint.status == ORACLE_DIFFERS ? PROVE_UNDECIDED
                  : refuted                                  ? PROVE_REFUTED
                  : proven                                   ? PROVE_PROVEN
                  : numeric                                  ? PROVE_NUMERIC_ONLY
                                                             : PROVE_UNDECIDED;
    pr->params_proven = pr->verdict == PROVE_PROVEN;
}

proof *
prove(const derivation *d, const rule_set *rs, unsigned long seed, long numeric_depth,
      dc_error *err, mem_pool *err_pool)
{
    prover p = {.d = d,
                .rs = rs,
                .m = (model *)d->m,
                .tab = d->m->terms,
                .pool = d->m->pool,
                .err = err,
                .err_pool = err_pool,
                .seed = seed,
                .numeric_depth = numeric_depth};
    proof *pr = mem_zalloc(p.pool, sizeof *pr);
    pr->d = d;
    pr->seed = seed;
    pr->numeric_depth = numeric_depth;
    pr->items = mem_zalloc(p.pool, (d->n + 1) * sizeof *pr->items);
    pr->lemmas = mem_zalloc(p.pool, (d->n + 1) * sizeof *pr->lemmas);
    choose_sizes(&p, pr);
    long m = p.m->batch != NULL ? p.m->batch->value : 1;
    long pow2 = is_power_of_two(m) ? m : 8, other = is_power_of_two(m) ? m + 2 : m;
    if (other == 1)
        other = 10;
    pr->all_exact = 1;
    certificate(&p, pr);
    if (p.failed)
        return NULL;
    pr->oracle = oracle_run(d, seed, NULL, NULL, p.pool);
    /* the numeric tests of the gradients within NUMERIC_DEPTH */
    char *want = mem_zalloc(p.pool, d->n + 1);
    for (size_t i = 0; i < d->n; i++) {
        proof_item *it = &pr->items[pr->n++];
        it->g = &d->g[i];
        it->is_param = it->g->of->kind == SYM_PARAM;
        it->lemma = &pr->lemmas[i];
        it->symbolic = it->lemma->status == LEMMA_HOLDS;
        it->loss = PROVE_LOSS_COULD_NOT_RUN;
        it->loss_log2_gap = NAN;
        it->batch_pow2 = pow2;
        it->batch_other = other;
        not_run(it);
        it->numeric_ran = it->lemma->depth <= numeric_depth;
        want[i] = (char)it->numeric_ran;
    }
    exact(&p, pr, want);
    numeric(&p, pr, want);
    if (p.m->batch != NULL) {
        sweep_at at = {.point = 2000, .batch = pow2, .k = 0};
        sweep(&p, pr, want, &at, NUMBER_DOUBLE, 0, double_step);
        at = (sweep_at){.point = 2000, .batch = other, .k = 1};
        sweep(&p, pr, want, &at, NUMBER_DOUBLE, 0, double_step);
    }
    /* the enclosure for those no exact point could be evaluated for */
    for (size_t i = 0; i < pr->n; i++)
        want[i] &= pr->items[i].exact_points == 0;
    enclosure(&p, pr, want);
    for (size_t i = 0; i < pr->n; i++) {
        proof_item *it = &pr->items[i];
        if (it->is_param) /* the oracle covers every param, whatever the depth */
            loss_from(&p, pr->oracle, it);
    }
    numeric_again(&p, pr);
    for (size_t i = 0; i < pr->n; i++)
        decide(&pr->items[i]);
    verdict(pr);
    return pr;
}
