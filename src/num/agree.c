/* agree.c: two terms compared at random instances of a model; see agree.h. */
#include "num/agree.h"

#include <math.h>
#include <stdio.h>

#include "num/sample.h"

evaluator *
agree_evaluate_pairs(agree_pair *pairs, size_t n, agree_result *r, mem_pool *pool,
                     const agree_points *at, number_kind kind, long prec)
{
    r->status = AGREE_COULD_NOT_RUN;
    r->point = at->first;
    r->unevaluated = 0;
    r->why[0] = '\0';
    evaluator *ev = eval_new(pool, kind, prec);
    if (ev == NULL) {
        snprintf(r->why, sizeof r->why, "%ld bits is no precision MPFR has", prec);
        return NULL;
    }
    sample_spec spec = {.seed = at->seed,
                        .index = at->first,
                        .bits = at->bits,
                        .batch = at->batch,
                        .sizes = at->nsizes > 0 ? &at->sizes[at->first % (unsigned long)at->nsizes]
                                                : NULL,
                        .free_activations = kind == NUMBER_EXACT};
    if (!sample_bind(ev, pool, at->m, &spec, r->why, sizeof r->why)) {
        eval_free(ev);
        return NULL;
    }
    /* results are kept per term until the next binding, and none binds:
       each pair's values survive the later pairs' evaluations, and the
       named values they share are computed once */
    for (size_t k = 0; k < n; k++) {
        agree_pair *q = &pairs[k];
        char why[sizeof r->why];
        q->va = q->vb = NULL;
        q->why = NULL;
        const value *va, *vb;
        /* running out of memory is not a point that cannot be evaluated:
           that would quietly weaken a proof or change a verdict */
        if (eval_term_or_oom(ev, q->a, &va, why, sizeof why) &&
            eval_term_or_oom(ev, q->b, &vb, why, sizeof why)) {
            q->va = va;
            q->vb = vb;
        } else
            q->why = mem_strdup(pool, why);
    }
    r->status = AGREE_EQUAL;
    return ev;
}

evaluator *
agree_evaluate(const value **va, const value **vb, agree_result *r, mem_pool *pool,
               const agree_points *at, number_kind kind, long prec, const term *a, const term *b)
{
    agree_pair pair = {.a = a, .b = b};
    evaluator *ev = agree_evaluate_pairs(&pair, 1, r, pool, at, kind, prec);
    if (ev != NULL && pair.va == NULL) {
        r->status = AGREE_COULD_NOT_RUN;
        snprintf(r->why, sizeof r->why, "%s", pair.why);
        eval_free(ev);
        return NULL;
    }
    *va = pair.va;
    *vb = pair.vb;
    return ev;
}

/* Entry N in row-major order of V, as B's entries pair with A's. */
static long
row_of(const value *v, long n)
{
    return n / v->cols;
}

static long
col_of(const value *v, long n)
{
    return n % v->cols;
}

/* Whether X and Y have as many entries; if not, R says DIFFERENT with no
   entry. */
static int
same_count(agree_result *r, const value *x, const value *y)
{
    if (x->rows * x->cols == y->rows * y->cols)
        return 1;
    r->status = AGREE_DIFFERENT;
    r->i = r->j = -1;
    r->log2_gap = NAN;
    return 0;
}

/* Compare exact X and Y into R: EQUAL, or DIFFERENT at the first entry
   that differs. */
static void
compare_exact(agree_result *r, const value *x, const value *y)
{
    r->status = AGREE_EQUAL;
    if (!same_count(r, x, y))
        return;
    for (long n = 0; n < y->rows * y->cols; n++)
        if (!mpq_equal(*eval_q(x, row_of(x, n), col_of(x, n)),
                       *eval_q(y, row_of(y, n), col_of(y, n)))) {
            r->status = AGREE_DIFFERENT;
            r->i = row_of(y, n);
            r->j = col_of(y, n);
            return;
        }
}

/* R before the first point of AT: nothing compared, nothing skipped. */
static void
begin(agree_result *r, const agree_points *at)
{
    r->status = AGREE_EQUAL;
    r->point = at->first;
    r->why[0] = '\0';
    r->compared = r->skipped = 0;
    r->sizes_compared = 0;
}

/* Point K of AT alone, as agree_evaluate takes it. */
static agree_points
point_of(const agree_points *at, int k)
{
    agree_points one = *at;
    one.first = at->first + (unsigned long)k;
    one.count = 1;
    return one;
}

/* After the point R->point was compared: count it and its sizes. */
static void
compared(agree_result *r, const agree_points *at)
{
    r->compared++;
    if (at->nsizes > 0 && r->point % (unsigned long)at->nsizes < 8 * sizeof r->sizes_compared)
        r->sizes_compared |= 1ul << r->point % (unsigned long)at->nsizes;
}

/* After a point that could not be evaluated (its reason in R->why):
   whether the comparison goes on (AT skips it). */
static int
skipped(agree_result *r, const agree_points *at)
{
    if (!at->skip)
        return 0;
    r->skipped++;
    r->status = AGREE_EQUAL;
    return 1;
}

/* R's status once every point of AT is done: with SKIP, COULD_NOT_RUN
   when none was compared. */
static agree_status
end(agree_result *r, const agree_points *at)
{
    if (at->skip && r->compared == 0)
        r->status = AGREE_COULD_NOT_RUN;
    return r->status;
}

agree_status
agree_exact(agree_result *r, mem_pool *pool, const agree_points *at, const term *a, const term *b)
{
    begin(r, at);
    for (int k = 0; k < at->count && r->status == AGREE_EQUAL; k++) {
        agree_points one = point_of(at, k);
        const value *x, *y;
        evaluator *ev = agree_evaluate(&x, &y, r, pool, &one, NUMBER_EXACT, 0, a, b);
        if (ev == NULL) {
            if (skipped(r, at))
                continue;
            break;
        }
        compare_exact(r, x, y);
        compared(r, at);
        eval_free(ev);
    }
    return end(r, at);
}

/* Measure MPFR X against Y at WORK bits into R: the largest |x - y| that
   is a number and where, relative to max(max |y|, FLOOR), as log2;
   DIFFERENT when that is above LOG2_TOL, else COULD_NOT_RUN when some
   difference is NaN (a NaN is never agreement), else EQUAL. */
static void
measure(agree_result *r, const value *x, const value *y, long work, double floor, double log2_tol)
{
    if (!same_count(r, x, y))
        return;
    mpfr_t d, big, scale;
    mpfr_inits2(work, d, big, scale, (mpfr_ptr)0);
    mpfr_set_ui(big, 0, MPFR_RNDN);
    mpfr_set_d(scale, floor, MPFR_RNDN);
    r->i = r->j = 0;
    r->a = mpfr_get_d(*eval_fr(x, 0, 0), MPFR_RNDN);
    r->b = mpfr_get_d(*eval_fr(y, 0, 0), MPFR_RNDN);
    r->unevaluated = 0;
    long nan_i = -1, nan_j = -1;
    for (long n = 0; n < y->rows * y->cols; n++) {
        const mpfr_t *p = (const mpfr_t *)eval_fr(x, row_of(x, n), col_of(x, n));
        const mpfr_t *q = (const mpfr_t *)eval_fr(y, row_of(y, n), col_of(y, n));
        mpfr_sub(d, *p, *q, MPFR_RNDN);
        mpfr_abs(d, d, MPFR_RNDN);
        if (mpfr_nan_p(d)) {
            if (r->unevaluated++ == 0)
                nan_i = row_of(y, n), nan_j = col_of(y, n);
        } else if (mpfr_cmp(d, big) > 0) {
            mpfr_set(big, d, MPFR_RNDN);
            r->i = row_of(y, n);
            r->j = col_of(y, n);
            r->a = mpfr_get_d(*p, MPFR_RNDN);
            r->b = mpfr_get_d(*q, MPFR_RNDN);
        }
        mpfr_abs(d, *q, MPFR_RNDN);
        if (!mpfr_nan_p(d) && mpfr_cmp(d, scale) > 0)
            mpfr_set(scale, d, MPFR_RNDN);
    }
    if (r->unevaluated == y->rows * y->cols)
        r->log2_gap = NAN;
    else if (mpfr_zero_p(big))
        r->log2_gap = -INFINITY;
    else {
        mpfr_div(big, big, scale, MPFR_RNDN);
        mpfr_log2(big, big, MPFR_RNDN);
        r->log2_gap = mpfr_get_d(big, MPFR_RNDN);
    }
    mpfr_clears(d, big, scale, (mpfr_ptr)0);
    if (!isnan(r->log2_gap) && r->log2_gap > log2_tol)
        r->status = AGREE_DIFFERENT;
    else if (r->unevaluated > 0) {
        r->status = AGREE_COULD_NOT_RUN;
        r->i = nan_i;
        r->j = nan_j;
        snprintf(r->why, sizeof r->why,
                 "the difference is NaN at %ld of %ld entries (the first [%ld, %ld])",
                 r->unevaluated, y->rows * y->cols, nan_i, nan_j);
    } else
        r->status = AGREE_EQUAL;
}

/* Whether some entry of the MPFR value V is NaN. */
static int
has_nan(const value *v)
{
    for (long n = 0; n < v->rows * v->cols; n++)
        if (mpfr_nan_p(*eval_fr(v, row_of(v, n), col_of(v, n))))
            return 1;
    return 0;
}

agree_status
agree_mpfr(agree_result *r, mem_pool *pool, const agree_points *at, long prec, double floor,
           double log2_tol, const term *a, const term *b)
{
    begin(r, at);
    for (int k = 0; k < at->count && r->status == AGREE_EQUAL; k++) {
        agree_points one = point_of(at, k);
        const value *x, *y;
        evaluator *ev = agree_evaluate(&x, &y, r, pool, &one, NUMBER_MPFR, prec, a, b);
        if (ev != NULL && at->skip && (has_nan(x) || has_nan(y))) {
            snprintf(r->why, sizeof r->why, "a value is NaN at the random point %lu", one.first);
            eval_free(ev);
            ev = NULL;
        }
        if (ev == NULL) {
            if (skipped(r, at))
                continue;
            break;
        }
        measure(r, x, y, prec + 64, floor, log2_tol);
        compared(r, at);
        eval_free(ev);
    }
    return end(r, at);
}

/* Whether the enclosures X and Y of one point are shown apart into R:
   DIFFERENT at the first entry where the enclosure of x - y excludes 0,
   NOT_SEPARATED where none does, COULD_NOT_RUN where no entry could be
   evaluated (NaN or unbounded). */
static void
separate(agree_result *r, const value *x, const value *y, long prec)
{
    if (!same_count(r, x, y))
        return;
    arb_t d;
    arb_init(d);
    r->status = AGREE_NOT_SEPARATED;
    r->unevaluated = 0;
    for (long n = 0; n < y->rows * y->cols && r->status != AGREE_DIFFERENT; n++) {
        arb_srcptr p = eval_ball(x, row_of(x, n), col_of(x, n));
        arb_srcptr q = eval_ball(y, row_of(y, n), col_of(y, n));
        arb_sub(d, p, q, (slong)prec);
        if (!arb_is_finite(d)) /* NaN or unbounded: no evidence */
            r->unevaluated++;
        else if (!arb_contains_zero(d)) {
            r->status = AGREE_DIFFERENT;
            r->i = row_of(y, n);
            r->j = col_of(y, n);
            r->a = arf_get_d(arb_midref(p), ARF_RND_NEAR);
            r->b = arf_get_d(arb_midref(q), ARF_RND_NEAR);
        }
    }
    arb_clear(d);
    if (r->status == AGREE_NOT_SEPARATED && r->unevaluated == y->rows * y->cols) {
        r->status = AGREE_COULD_NOT_RUN;
        snprintf(r->why, sizeof r->why, "every entry's enclosure is NaN or unbounded");
    }
}

agree_status
agree_enclosure(agree_result *r, mem_pool *pool, const agree_points *at, long prec, const term *a,
                const term *b)
{
    agree_points one = *at;
    r->status = AGREE_NOT_SEPARATED;
    for (int k = 0; k < at->count && r->status == AGREE_NOT_SEPARATED; k++) {
        one.first = at->first + (unsigned long)k;
        const value *x, *y;
        evaluator *ev = agree_evaluate(&x, &y, r, pool, &one, NUMBER_BALL, prec, a, b);
        if (ev == NULL)
            break;
        separate(r, x, y, prec);
        eval_free(ev);
    }
    if (r->status == AGREE_NOT_SEPARATED)
        snprintf(r->why, sizeof r->why,
                 "no entry's enclosure of the difference at %ld bits excludes 0", prec);
    return r->status;
}

agree_status
agree_compare_exact(agree_result *r, const value *a, const value *b)
{
    compare_exact(r, a, b);
    return r->status;
}

agree_status
agree_compare_mpfr(agree_result *r, const value *a, const value *b, long prec, double floor,
                   double log2_tol)
{
    r->why[0] = '\0';
    measure(r, a, b, prec + 64, floor, log2_tol);
    return r->status;
}

agree_status
agree_compare_enclosure(agree_result *r, const value *a, const value *b, long prec)
{
    r->why[0] = '\0';
    separate(r, a, b, prec);
    return r->status;
}
