/* prove.h: the deferred and absorbed placements of 1/m, proven equal for every parameter. */
#ifndef DC_PROVE_H
#define DC_PROVE_H

#include "sym/derive.h"
#include "num/eval.h"

enum {
    PROVE_POINTS = 8,       /* random rational points of the exact test */
    PROVE_SAMPLE_BITS = 30, /* entries k / 2^30: 2^30 values per free entry at least */
    PROVE_PRECISIONS = 4,   /* the MPFR table: 64, 128, 256, 1024 bits */
};

/* Everything established about one gradient. For a param the claim is
   deferred = absorbed; for an intermediate, deferred = m * absorbed (the
   two conventions' dZ and dA are NOT equal: they differ by exactly m). */
typedef struct proof_item {
    const gradient *g;
    int is_param;
    /* symbolic: both sides, every named gradient written out in the
       convention's own formulas, reduced to normal form */
    const term *deferred_side, *absorbed_side; /* before: in forward names */
    const term *deferred_normal, *absorbed_normal;
    int symbolic; /* the normal forms are one term */
    trace cert_deferred, cert_absorbed;
    /* exact: GMP rationals at random points, activations free */
    int exact_points, exact_equal; /* points tried, points with difference 0 */
    long degree;                   /* bound on the degree of the difference */
    double log2_chance;            /* Schwartz-Zippel: log2 of P(agree | unequal) */
    /* MPFR: log2 of max |difference| / max |value| at each precision */
    long precision[PROVE_PRECISIONS];
    double log2_gap[PROVE_PRECISIONS];
    /* double: the most ulps apart, for a batch size that is a power of two
       and one that is not */
    long batch_pow2, batch_other;
    double ulps_pow2, ulps_other;
} proof_item;

typedef struct proof {
    const derivation *d;
    proof_item *items;
    size_t n;
    int params_proven; /* every param: difference 0 at every exact point */
    int all_exact;     /* every param: difference 0 at every point */
    unsigned long seed;
} proof;

/* Prove D's placements equal (params) and different by m (intermediates),
   symbolically, exactly and numerically, with points drawn from SEED.
   Returns the proof (in D's model's pool) or NULL with ERR filled. */
proof *prove(const derivation *d, const rule_set *rs, unsigned long seed, dc_error *err,
             mem_pool *err_pool);

#endif
