/* agree.h: whether two terms are equal at random instances of a model, exactly or in MPFR. */
#ifndef DC_AGREE_H
#define DC_AGREE_H

#include "base/mem.h"
#include "lang/model.h"
#include "num/eval.h"
#include "num/sample.h"

typedef enum agree_status {
    AGREE_EQUAL,         /* equal at every point: exactly, or within the tolerance */
    AGREE_DIFFERENT,     /* not at one point: the result says which, and where */
    AGREE_COULD_NOT_RUN, /* a point could not be drawn or a side evaluated: the result says why */
    AGREE_NOT_SEPARATED, /* enclosures: every entry's two enclosures overlap, so no difference is
                            shown; an enclosure never shows equality */
} agree_status;

/* The points: instances FIRST, FIRST + 1, ... (COUNT of them) of M, drawn
   from SEED by sample_bind with entries k / 2^BITS at the batch size BATCH
   (0: the declared one), or, when NSIZES > 0, point P at the sizes
   SIZES[P % NSIZES] (which override BATCH). In exact rationals every
   definition whose value is not rational (tanh, sigmoid, softmax, exp,
   log) is a free variable, drawn in its range (sample_spec's
   free_activations); in MPFR and double every definition is computed.
   With SKIP, a point that cannot be drawn or evaluated, or whose MPFR
   values hold a NaN, is skipped (counted in the result's skipped, its
   reason in why) instead of ending the comparison, and the status is
   COULD_NOT_RUN only when no point was compared: a point that cannot be
   evaluated is no evidence either way. */
typedef struct agree_points {
    const model *m;
    unsigned long seed;
    unsigned long first;
    int count;
    int bits;
    long batch;
    const sample_sizes *sizes;
    int nsizes;
    int skip;
} agree_points;

/* What a comparison found. The entries of A and B are paired in row-major
   order, so their ranks may differ when their numbers of entries agree. */
typedef struct agree_result {
    agree_status status;
    unsigned long point; /* the last point tried: the witness, or the one that failed */
    /* DIFFERENT in exact rationals: the first entry that differs; in MPFR,
       at the last point compared: the entry of the largest |a - b| (the
       first, or the last whose difference is NaN). In B's rows and cols;
       -1, -1 when the numbers of entries differ. */
    long i, j;
    /* MPFR, at the last point compared: log2 of max |a - b| over
       max(max |b|, FLOOR), NaN entries left out (-inf when A = B, NaN when
       every difference is NaN or the numbers of entries differ), and a and
       b at (i, j). Intervals: a and b are the midpoints at (i, j). */
    double log2_gap;
    double a, b;
    /* MPFR and intervals, at the last point compared: the entries whose
       difference could not be evaluated (NaN; for intervals also an
       unbounded enclosure). A NaN is never evidence: not equal, not
       different. */
    long unevaluated;
    char why[256]; /* COULD_NOT_RUN: the sampler's or the evaluator's reason */
    int compared;  /* points compared */
    int skipped;   /* points skipped (SKIP): the last one's reason is in why */
    /* bit s set when a point drawn at SIZES[s] was compared (s < 32) */
    unsigned long sizes_compared;
} agree_result;

/* Allocation, for every function here: scratch memory from POOL, and an
   allocation failure jumps to POOL's on_oom target, an evaluation's "out
   of memory" included (it is never a point that could not be run). */

/* Whether A and B are equal, in exact rationals, at the points of AT,
   stopping at the first point where they are not: DIFFERENT where an entry
   differs or the numbers of entries do; COULD_NOT_RUN where the point
   cannot be drawn or a side evaluated (exp of a rational, a division by
   zero). Fills R; returns R->status. */
agree_status agree_exact(agree_result *r, mem_pool *pool, const agree_points *at, const term *a,
                         const term *b);

/* Whether A and B agree in MPFR at PREC bits at the points of AT, stopping
   at the first point where they do not: equal at a point when log2_gap <=
   LOG2_TOL (-INFINITY: exactly equal), the gap measured in MPFR at PREC +
   64 bits relative to max(max |b|, FLOOR), over the entries whose
   difference is a number. DIFFERENT when that gap is above LOG2_TOL;
   otherwise COULD_NOT_RUN when some difference is NaN (why names the first
   such entry: a NaN is never taken for agreement), else EQUAL. Otherwise as
   agree_exact. */
agree_status agree_mpfr(agree_result *r, mem_pool *pool, const agree_points *at, long prec,
                        double floor, double log2_tol, const term *a, const term *b);

/* Whether A and B are shown to differ by ball arithmetic (Arb, both sides
   at PREC bits) at the points of AT, stopping at the
   first point where they are: DIFFERENT when, at an entry, the enclosure
   of a - b excludes 0 (a rigorous witness: the exact values differ), with
   i, j, a and b; NOT_SEPARATED when every point ran and at each entry the
   enclosures overlap or could not be evaluated (unevaluated counts those
   of the last point; why says so); COULD_NOT_RUN when a point cannot be drawn or a side
   evaluated, or no entry of some point could be. */
agree_status agree_enclosure(agree_result *r, mem_pool *pool, const agree_points *at, long prec,
                             const term *a, const term *b);

/* A and B evaluated at AT's first point in numbers of KIND (PREC bits for
   MPFR and intervals), for measures other than equality. Returns the
   evaluator, which holds *VA and *VB and which the caller frees with
   eval_free; or NULL with R's status COULD_NOT_RUN and its why. */
evaluator *agree_evaluate(const value **va, const value **vb, agree_result *r, mem_pool *pool,
                          const agree_points *at, number_kind kind, long prec, const term *a,
                          const term *b);

/* One pair of terms among many evaluated at one point (agree_evaluate_pairs). */
typedef struct agree_pair {
    const term *a, *b;
    const value *va, *vb; /* their values; both NULL when one side could not be evaluated */
    const char *why;      /* then why (in the pool), else NULL */
} agree_pair;

/* Every pair of PAIRS (N of them) evaluated at AT's first point in numbers
   of KIND (PREC bits for MPFR and intervals) in one evaluator, so that
   what the terms share (a forward pass, the earlier gradients of a
   backward pass) is computed once. A side that cannot be evaluated leaves
   its pair's values NULL with why, and the other pairs go on. Returns the
   evaluator, which holds every value and which the caller frees with
   eval_free; or NULL with R's status COULD_NOT_RUN and its why when the
   point cannot be drawn or KIND and PREC make no evaluator. */
evaluator *agree_evaluate_pairs(agree_pair *pairs, size_t n, agree_result *r, mem_pool *pool,
                                const agree_points *at, number_kind kind, long prec);

/* The comparisons of agree_exact, agree_mpfr (at PREC bits; FLOOR and
   LOG2_TOL as there) and agree_enclosure (at PREC bits) at one point, on
   values of A and B already evaluated (by agree_evaluate_pairs): fill R's
   status, entry, gap and values as those do for one point, and return the
   status. R's point, compared and skipped are the caller's. */
agree_status agree_compare_exact(agree_result *r, const value *a, const value *b);
agree_status agree_compare_mpfr(agree_result *r, const value *a, const value *b, long prec,
                                double floor, double log2_tol);
agree_status agree_compare_enclosure(agree_result *r, const value *a, const value *b, long prec);

#endif
