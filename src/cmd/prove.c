/* prove.c: the two placements of 1/m, proven equal; see prove.h. */
#include "cmd/prove.h"

#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sym/canon.h"
#include "num/sample.h"
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
} prover;

static const char WRITTEN_OUT[] =
    "named gradients written out with their own convention's formulas";

/* T with every gradient name of convention C replaced by that gradient's
   formula in the same convention, recursively: only forward names remain. */
static const term *
written_out(prover *p, const term *t, convention c, term_map *memo)
{
    if (t->op == OP_SYM) {
        if (t->sym->kind != SYM_GRAD)
            return t;
        for (size_t i = 0; i < p->d->n; i++) {
            const gradient *g = &p->d->g[i];
            const symbol *name = c == CONVENTION_DEFERRED ? g->deferred_name : g->absorbed_name;
            if (name == t->sym)
                return written_out(p, c == CONVENTION_DEFERRED ? g->deferred : g->absorbed, c,
                                   memo);
        }
        return t;
    }
    if (t->nargs == 0)
        return t;
    const term *known = term_map_get(memo, t);
    if (known != NULL)
        return known;
    const term *args[2] = {NULL, NULL}; /* every operation has one or two */
    for (unsigned k = 0; k < t->nargs; k++)
        args[k] = written_out(p, t->args[k], c, memo);
    char why[SHAPE_WHY];
    const term *out = t->op == OP_BROADCAST
                          ? term_broadcast(p->tab, args[0], &t->shape, t->aux, why)
                          : term_make(p->tab, t->op, t->aux, t->keepdims, args, t->nargs, why);
    if (out == NULL)
        out = t;
    term_map_put(memo, t, out);
    return out;
}

static const term *
times_batch(prover *p, const term *t)
{
    const term *args[2] = {term_symbol(p->tab, p->m->batch), t};
    char why[SHAPE_WHY];
    return term_make(p->tab, OP_MUL, 0, 0, args, 2, why);
}

/* ---- symbolic ---- */

static void
symbolic(prover *p, proof_item *it)
{
    const gradient *g = it->g;
    trace_init(&it->cert_deferred, p->pool);
    trace_init(&it->cert_absorbed, p->pool);
    it->deferred_side = written_out(p, g->deferred, CONVENTION_DEFERRED, term_map_new(p->pool));
    it->absorbed_side = written_out(p, g->absorbed, CONVENTION_ABSORBED, term_map_new(p->pool));
    trace_add(&it->cert_deferred, NULL, WRITTEN_OUT, g->deferred, it->deferred_side);
    trace_add(&it->cert_absorbed, NULL, WRITTEN_OUT, g->absorbed, it->absorbed_side);
    const term *absorbed = it->absorbed_side;
    if (!it->is_param && p->m->batch != NULL) {
        absorbed = times_batch(p, absorbed);
        trace_add(&it->cert_absorbed, NULL, "times m: the deferred convention's factor",
                  it->absorbed_side, absorbed);
    }
    it->deferred_normal = derive_simplify(p->tab, p->rs, it->deferred_side, &it->cert_deferred,
                                          &p->steps, p->err, p->err_pool);
    it->absorbed_normal = derive_simplify(p->tab, p->rs, absorbed, &it->cert_absorbed, &p->steps,
                                          p->err, p->err_pool);
    if (it->deferred_normal == NULL || it->absorbed_normal == NULL) {
        p->failed = 1;
        return;
    }
    it->symbolic = it->deferred_normal == it->absorbed_normal;
}

/* ---- degree bound for Schwartz-Zippel ---- */

/* An upper bound on the degree of T as a rational function of the random
   entries (inputs, labels, params, free activations), numerator and
   denominator together; forward definitions count through their formulas. */
static long
degree(const term *t, int free_activations)
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
                free_activations && t->sym->kind == SYM_DEF &&
                (t->sym->definition->op == OP_SIGMOID || t->sym->definition->op == OP_TANH ||
                 t->sym->definition->op == OP_EXP || t->sym->definition->op == OP_SOFTMAX ||
                 t->sym->definition->op == OP_LOG);
            return is_free ? 1 : degree(t->sym->definition, free_activations);
        }
        return 1;
    case OP_ADD:
    case OP_MUL:
    case OP_DIV:
    case OP_MATMUL:
        /* a + b or a / b over a common denominator: the degrees add */
        a = degree(t->args[0], free_activations);
        b = degree(t->args[1], free_activations);
        return a + b;
    case OP_POW:
        if (t->args[1]->op == OP_CONST && mpz_cmp_ui(mpq_denref(t->args[1]->value), 1) == 0 &&
            mpz_fits_slong_p(mpq_numref(t->args[1]->value))) {
            long k = labs(mpz_get_si(mpq_numref(t->args[1]->value)));
            return k * degree(t->args[0], free_activations);
        }
        return 1000000;
    case OP_STEP:
        return 0; /* piecewise constant */
    case OP_RELU:
        return degree(t->args[0], free_activations);
    default:
        return t->nargs > 0 ? degree(t->args[0], free_activations) : 0;
    }
}

/* ---- numbers ---- */

/* A point that could not be evaluated for want of memory must not count as
   a point that could not be evaluated: that would quietly weaken the proof. */
static int
evaluated(prover *p, int ok, const char *why)
{
    if (!ok && strcmp(why, "out of memory") == 0)
        mem_oom(p->pool);
    return ok;
}

/* Evaluate both sides of IT (the pretty formulas, as written) in EV; 1 when
   both evaluate, with the values. */
static int
evaluate_both(prover *p, evaluator *ev, const proof_item *it, const value **def, const value **abs_)
{
    char why[256];
    const term *a = derive_pretty(p->d, it->g, CONVENTION_DEFERRED);
    const term *b = derive_pretty(p->d, it->g, CONVENTION_ABSORBED);
    if (!it->is_param && p->m->batch != NULL)
        b = times_batch(p, b);
    if (!evaluated(p, eval_term(ev, a, def, why, sizeof why), why))
        return 0;
    /* the first result must survive the second evaluation: terms are
       memoized per term, and neither rebinds, so both stay valid */
    return evaluated(p, eval_term(ev, b, abs_, why, sizeof why), why);
}

static void
exact(prover *p, proof_item *it)
{
    it->degree = degree(it->deferred_side, 1) + degree(it->absorbed_side, 1);
    for (int k = 0; k < PROVE_POINTS; k++) {
        evaluator *ev = eval_new(p->pool, NUMBER_EXACT, 0);
        sample_spec spec = {.seed = p->seed,
                            .index = (unsigned long)k,
                            .bits = PROVE_SAMPLE_BITS,
                            .free_activations = 1};
        char why[256];
        const value *a, *b;
        if (evaluated(p, sample_bind(ev, p->pool, p->m, &spec, why, sizeof why), why) &&
            evaluate_both(p, ev, it, &a, &b)) {
            int equal = a->rows == b->rows && a->cols == b->cols;
            for (long i = 0; equal && i < a->rows; i++)
                for (long j = 0; equal && j < a->cols; j++)
                    equal = mpq_equal(*eval_q(a, i, j), *eval_q(b, i, j));
            it->exact_points++;
            it->exact_equal += equal;
        }
        eval_free(ev);
    }
    /* each point: P(unequal forms agree) <= degree / (values per entry) */
    double per_point = it->degree > 0 ? log2((double)it->degree) - PROVE_SAMPLE_BITS : -INFINITY;
    it->log2_chance = it->exact_points * (per_point < 0 ? per_point : 0);
}

/* log2 of max |a - b| / max |a| over the entries (MPFR values). */
static double
relative_gap(const value *a, const value *b, long prec)
{
    mpfr_t diff, big, scale;
    mpfr_inits2(prec + 64, diff, big, scale, (mpfr_ptr)0);
    mpfr_set_ui(big, 0, MPFR_RNDN);
    mpfr_set_ui(scale, 0, MPFR_RNDN);
    for (long i = 0; i < a->rows; i++)
        for (long j = 0; j < a->cols; j++) {
            mpfr_sub(diff, *eval_fr(a, i, j), *eval_fr(b, i, j), MPFR_RNDN);
            mpfr_abs(diff, diff, MPFR_RNDN);
            if (mpfr_cmp(diff, big) > 0)
                mpfr_set(big, diff, MPFR_RNDN);
            mpfr_abs(diff, *eval_fr(a, i, j), MPFR_RNDN);
            if (mpfr_cmp(diff, scale) > 0)
                mpfr_set(scale, diff, MPFR_RNDN);
        }
    double out = -INFINITY;
    if (!mpfr_zero_p(big) && !mpfr_zero_p(scale)) {
        mpfr_div(big, big, scale, MPFR_RNDN);
        mpfr_log2(big, big, MPFR_RNDN);
        out = mpfr_get_d(big, MPFR_RNDN);
    }
    mpfr_clears(diff, big, scale, (mpfr_ptr)0);
    return out;
}

/* The MPFR table is drawn with a batch size that is not a power of two, so
   that 1/m is not exact and the two placements round differently. */
static void
numeric(prover *p, proof_item *it, long batch)
{
    static const long precisions[PROVE_PRECISIONS] = {64, 128, 256, 1024};
    for (int k = 0; k < PROVE_PRECISIONS; k++) {
        it->precision[k] = precisions[k];
        it->log2_gap[k] = NAN;
        evaluator *ev = eval_new(p->pool, NUMBER_MPFR, precisions[k]);
        sample_spec spec = {
            .seed = p->seed, .index = 1000, .bits = PROVE_SAMPLE_BITS, .batch = batch};
        char why[256];
        const value *a, *b;
        if (evaluated(p, sample_bind(ev, p->pool, p->m, &spec, why, sizeof why), why) &&
            evaluate_both(p, ev, it, &a, &b))
            it->log2_gap[k] = relative_gap(a, b, precisions[k]);
        eval_free(ev);
    }
}

/* The most ulps apart the two formulas are in double with batch size M. */
static double
in_double(prover *p, const proof_item *it, long batch)
{
    evaluator *ev = eval_new(p->pool, NUMBER_DOUBLE, 0);
    sample_spec spec = {.seed = p->seed, .index = 2000, .bits = PROVE_SAMPLE_BITS, .batch = batch};
    char why[256];
    const value *a, *b;
    double worst = NAN;
    if (evaluated(p, sample_bind(ev, p->pool, p->m, &spec, why, sizeof why), why) &&
        evaluate_both(p, ev, it, &a, &b)) {
        worst = 0;
        for (long i = 0; i < a->rows; i++)
            for (long j = 0; j < a->cols; j++) {
                double u = ulps_between(*eval_d(a, i, j), *eval_d(b, i, j));
                if (u > worst)
                    worst = u;
            }
    }
    eval_free(ev);
    return worst;
}

static long
is_power_of_two(long n)
{
    return n > 0 && (n & (n - 1)) == 0;
}

proof *
prove(const derivation *d, const rule_set *rs, unsigned long seed, dc_error *err,
      mem_pool *err_pool)
{
    prover p = {d, rs, (model *)d->m, d->m->terms, d->m->pool, err, err_pool, 0, seed, 0};
    proof *pr = mem_zalloc(p.pool, sizeof *pr);
    pr->d = d;
    pr->seed = seed;
    pr->items = mem_zalloc(p.pool, (d->n + 1) * sizeof *pr->items);
    long m = p.m->batch != NULL ? p.m->batch->value : 1;
    long pow2 = is_power_of_two(m) ? m : 8, other = is_power_of_two(m) ? m + 2 : m;
    if (other == 1)
        other = 10;
    pr->params_proven = pr->all_exact = 1;
    for (size_t i = 0; i < d->n && !p.failed; i++) {
        proof_item *it = &pr->items[pr->n++];
        it->g = &d->g[i];
        it->is_param = it->g->of->kind == SYM_PARAM;
        symbolic(&p, it);
        if (p.failed)
            break;
        exact(&p, it);
        numeric(&p, it, p.m->batch != NULL ? other : 0);
        it->batch_pow2 = pow2;
        it->batch_other = other;
        if (p.m->batch != NULL) {
            it->ulps_pow2 = in_double(&p, it, pow2);
            it->ulps_other = in_double(&p, it, other);
        }
        if (!it->is_param)
            continue;
        /* proven: equal at every exact point (refuted by one), with the
           symbolic proof reported beside it */
        int exact_ok = it->exact_points > 0 && it->exact_equal == it->exact_points;
        pr->all_exact &= exact_ok;
        pr->params_proven &= exact_ok;
    }
    return p.failed ? NULL : pr;
}
