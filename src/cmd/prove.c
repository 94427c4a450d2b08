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
} prover;

static const char WRITTEN_OUT[] =
    "named gradients written out with their own convention's formulas";

/* T with every gradient name of convention C replaced by that gradient's
   formula in the same convention, recursively: only forward names remain. */
static const term *
written_out(prover *p, const term *t, convention c)
{
    term_map *with = term_map_new(p->pool);
    derive_name_formulas(p->d, c, with);
    return term_replace(p->tab, t, with, term_map_new(p->pool),
                        TERM_REPLACE_DEEP | TERM_REPLACE_KEEP_MISFITS);
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
    it->deferred_side = written_out(p, g->deferred, CONVENTION_DEFERRED);
    it->absorbed_side = written_out(p, g->absorbed, CONVENTION_ABSORBED);
    trace_add(&it->cert_deferred, NULL, WRITTEN_OUT, g->deferred, it->deferred_side);
    trace_add(&it->cert_absorbed, NULL, WRITTEN_OUT, g->absorbed, it->absorbed_side);
    const term *absorbed = it->absorbed_side;
    if (!it->is_param && p->m->batch != NULL) {
        absorbed = times_batch(p, absorbed);
        trace_add(&it->cert_absorbed, NULL, "times m: the deferred convention's factor",
                  it->absorbed_side, absorbed);
    }
    it->deferred_normal = derive_simplify(p->tab, p->rs, NULL, it->deferred_side,
                                          &it->cert_deferred, &p->steps, p->err, p->err_pool);
    it->absorbed_normal = derive_simplify(p->tab, p->rs, NULL, absorbed, &it->cert_absorbed,
                                          &p->steps, p->err, p->err_pool);
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

/* The random points from INDEX on, for batch size BATCH (0: the declared). */
static agree_points
points(const prover *p, unsigned long index, long batch)
{
    return (agree_points){.m = p->m,
                          .seed = p->seed,
                          .first = index,
                          .count = 1,
                          .bits = PROVE_SAMPLE_BITS,
                          .batch = batch};
}

static void
exact(prover *p, proof_item *it)
{
    it->degree = degree(it->deferred_side, 1) + degree(it->absorbed_side, 1);
    const term *deferred, *absorbed;
    sides(p, it, &deferred, &absorbed);
    for (int k = 0; k < PROVE_POINTS; k++) {
        agree_points at = points(p, (unsigned long)k, 0);
        agree_result r;
        agree_status st = agree_exact(&r, p->pool, &at, absorbed, deferred);
        /* a point that cannot be evaluated is not counted */
        it->exact_points += st != AGREE_COULD_NOT_RUN;
        it->exact_equal += st == AGREE_EQUAL;
    }
    /* each point: P(unequal forms agree) <= degree / (values per entry) */
    double per_point = it->degree > 0 ? log2((double)it->degree) - PROVE_SAMPLE_BITS : -INFINITY;
    it->log2_chance = it->exact_points * (per_point < 0 ? per_point : 0);
}

/* The MPFR table is drawn with a batch size that is not a power of two, so
   that 1/m is not exact and the two placements round differently. Each
   gap is relative to the largest entry of the deferred side. */
static void
numeric(prover *p, proof_item *it, long batch)
{
    static const long precisions[PROVE_PRECISIONS] = {64, 128, 256, 1024};
    const term *deferred, *absorbed;
    sides(p, it, &deferred, &absorbed);
    for (int k = 0; k < PROVE_PRECISIONS; k++) {
        it->precision[k] = precisions[k];
        it->log2_gap[k] = NAN;
        agree_points at = points(p, 1000, batch);
        agree_result r;
        if (agree_mpfr(&r, p->pool, &at, precisions[k], 0, -INFINITY, absorbed, deferred) !=
            AGREE_COULD_NOT_RUN)
            it->log2_gap[k] = r.log2_gap;
    }
}

/* The most ulps apart the two formulas are in double with batch size M. */
static double
in_double(prover *p, const proof_item *it, long batch)
{
    const term *deferred, *absorbed;
    sides(p, it, &deferred, &absorbed);
    agree_points at = points(p, 2000, batch);
    agree_result r;
    const value *a, *b;
    evaluator *ev = agree_evaluate(&a, &b, &r, p->pool, &at, NUMBER_DOUBLE, 0, deferred, absorbed);
    if (ev == NULL)
        return NAN;
    double worst = 0;
    for (long i = 0; i < a->rows; i++)
        for (long j = 0; j < a->cols; j++) {
            double u = ulps_between(*eval_d(a, i, j), *eval_d(b, i, j));
            if (u > worst)
                worst = u;
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
