/* prove.h: the deferred and absorbed placements of 1/m, proven equal for every parameter. */
#ifndef DC_PROVE_H
#define DC_PROVE_H

#include "cmd/oracle.h"
#include "sym/derive.h"
#include "num/agree.h"
#include "num/eval.h"

enum {
    PROVE_POINTS = 12,           /* random rational points of the exact test, */
    PROVE_SIZES = 4,             /* drawn at these many small size assignments in turn
                                    (sample_sizes_small: every dim 2 to 5); */
    PROVE_CONFIRM_POINTS = 4,    /* for a gradient the certificate proves, only the first
                                    these many, one at each size assignment: the points
                                    then confirm a proof, they are not the proof */
    PROVE_SAMPLE_BITS = 30,      /* entries k / 2^30: 2^30 values per free entry at least */
    PROVE_PRECISIONS = 4,        /* the MPFR table: 64, 128, 256, 1024 bits */
    PROVE_ROUNDING_SLACK = 16,   /* how far above 2^-P an MPFR gap at P bits may be and still be
                                    rounding error: each operation adds a little, and gradients
                                    have tens of operations, not thousands */
    PROVE_ENCLOSURE_BITS = 256,  /* Arb balls of the enclosure test, */
    PROVE_ENCLOSURE_MORE = 2048, /* and again when MPFR's gaps do not look like rounding */
    PROVE_MAX_NUMERIC_DEPTH = 1000000, /* the cap of --numeric-depth */
    /* by default the numeric tests (exact, enclosure, MPFR, double, the
       loss) run for every gradient: each evaluates all gradients at once,
       so their cost grows with the depth of the network, not with its
       square; a smaller --numeric-depth N keeps them to the gradients
       whose lemma is at most N backward steps from the loss */
    PROVE_NUMERIC_DEPTH = PROVE_MAX_NUMERIC_DEPTH,
};

/* Why a lemma of the certificate holds or not. */
typedef enum lemma_status {
    LEMMA_HOLDS,
    LEMMA_NOT_LINEAR,   /* a rule it came through is not claimed and shown linear in G */
    LEMMA_EARLIER,      /* a gradient it uses has no earlier lemma that holds */
    LEMMA_FORMS_DIFFER, /* the two formulas, the earlier lemmas substituted, differ */
} lemma_status;

/* One step of the certificate, for the gradient dV: with every earlier
   gradient dU its absorbed formula names replaced by what U's lemma says
   (1/m * dU deferred), the absorbed formula is FACTOR times the deferred
   one, FACTOR 1/m for an intermediate (1 without a batch) and 1 for a
   param. It holds because the rules the formula came through are linear
   in G, so that they carry the 1/m of the earlier gradients through; the
   check is one normal form of two formulas over named gradients, which
   stay atoms: its size does not grow with the depth of the network. A
   lemma that uses no earlier gradient is a seed: the loss's own 1/m. */
typedef struct proof_lemma {
    const gradient *g;
    int intermediate;   /* FACTOR is 1/m, not 1 */
    const rule **rules; /* the adjoint rules its formula came through */
    size_t nrules;
    size_t *uses; /* indices of the lemmas of the gradients it names */
    size_t nuses;
    long depth;                       /* 1 for a seed, else 1 + the deepest lemma it uses */
    const term *absorbed_substituted; /* the absorbed formula, earlier lemmas
                                         substituted, over FACTOR, simplified */
    const term *deferred;             /* the deferred formula, simplified */
    lemma_status status;
    const rule *nonlinear; /* LEMMA_NOT_LINEAR: the rule */
} proof_lemma;

/* How a relation was decided: the method its verdict rests on, strongest
   first. */
typedef enum prove_method {
    PROVE_BY_SYMBOLIC,  /* the certificate: a proof for every size */
    PROVE_BY_EXACT,     /* GMP rationals: the difference 0 at every point (Schwartz-Zippel), or
                           not 0 at one */
    PROVE_BY_ENCLOSURE, /* MPFI: the enclosure of the difference excludes 0 at an entry */
    PROVE_BY_NUMERIC,   /* MPFR: the gap at the size of rounding at every precision and at two
                           batch sizes; weaker than a proof */
    PROVE_BY_NOTHING,   /* no method could decide */
} prove_method;

/* What was established about a relation. */
typedef enum prove_verdict {
    PROVE_PROVEN,       /* symbolically or exactly */
    PROVE_NUMERIC_ONLY, /* no proof, no difference: equal in MPFR at rising precision */
    PROVE_REFUTED,      /* a difference witnessed: exactly, or by an enclosure */
    PROVE_UNDECIDED,    /* nothing refuted, nothing proven or measured equal */
} prove_verdict;

/* The derived gradient of a param against the loss it is the gradient of
   (the oracle's check, oracle.h). */
typedef enum prove_loss {
    PROVE_LOSS_AGREES,        /* to 2^-(P/3) */
    PROVE_LOSS_DIFFERS,       /* far above rounding and truncation: a rule is unsound */
    PROVE_LOSS_COULD_NOT_RUN, /* not finite, a kink near every point, in between, or not run */
} prove_loss;

/* "symbolic", "exact", "enclosure", "numeric", "none". */
const char *prove_method_name(prove_method m);
/* "proven", "equal numerically", "refuted", "undecided". */
const char *prove_verdict_name(prove_verdict v);

/* Everything established about one gradient. For a param the claim is
   deferred = absorbed; for an intermediate, deferred = m * absorbed (the
   two conventions' dZ and dA are NOT equal: they differ by exactly m). */
typedef struct proof_item {
    const gradient *g;
    int is_param;
    /* symbolic: the certificate's lemma for this gradient */
    const proof_lemma *lemma;
    int symbolic; /* its lemma holds */
    /* the numeric tests below ran (the lemma's depth is within
       PROVE_NUMERIC_DEPTH); when 0, every one of them is as not run */
    int numeric_ran;
    /* exact: GMP rationals at random points, activations free, at the
       proof's size assignments */
    int exact_tried;               /* points drawn */
    int exact_confirms;            /* the lemma holds, so only PROVE_CONFIRM_POINTS were drawn */
    int exact_points, exact_equal; /* points evaluated, points with difference 0 */
    const char *exact_why;         /* why the first point that could not run did not; or NULL */
    const char *exact_witness;     /* where the difference is not 0, in words; or NULL */
    long degree;                   /* bound on the degree of the difference */
    int exact_per_size;            /* the fewest points evaluated at one size assignment */
    double log2_chance;            /* Schwartz-Zippel: log2 of P(agree at all | unequal), for forms
                                      unequal at one size assignment: EXACT_PER_SIZE points' worth */
    /* enclosure: Arb balls at one point per size assignment, run when no exact point
       could be evaluated; ENCLOSURE_BITS 0 when not run */
    long enclosure_bits;        /* the last precision tried */
    agree_status enclosure;     /* DIFFERENT, NOT_SEPARATED or COULD_NOT_RUN */
    const char *enclosure_what; /* the witness, or why it could not run; or NULL */
    /* MPFR: log2 of max |difference| / max |value| at each precision, NaN
       where no difference could be evaluated */
    long precision[PROVE_PRECISIONS];
    double log2_gap[PROVE_PRECISIONS];
    long numeric_batch;      /* the batch size of that table (at the proof's mpfr_sizes[0]) */
    long numeric_batch2;     /* the second's (mpfr_sizes[1]), measured when MPFR decides; 0 if
                                not */
    double log2_gap2;        /* the gap there at the top precision */
    const char *numeric_why; /* why a precision could not run (the first); or NULL */
    /* double: the most ulps apart, for a batch size that is a power of two
       and one that is not */
    long batch_pow2, batch_other;
    double ulps_pow2, ulps_other;
    /* params, from the proof's oracle: sum(dV * U) against the central
       difference of the loss along a random U, in MPFR at ORACLE_BITS; the
       joint check's (every param moved at once) unless the oracle checked
       each gradient alone */
    prove_loss loss;
    double loss_log2_gap;  /* the relative gap; NaN when not measured */
    const char *loss_what; /* DIFFERS: both numbers; COULD_NOT_RUN: why */
    /* the verdict on the relation and the method it rests on; DISAGREE:
       the normal forms are one, yet a difference was witnessed */
    prove_verdict verdict;
    prove_method method;
    int disagree;
} proof_item;

typedef struct proof {
    const derivation *d;
    proof_item *items;
    size_t n;
    proof_lemma *lemmas; /* the certificate, one per item, in the same order */
    long numeric_depth;  /* how deep the numeric tests went (prove's NUMERIC_DEPTH) */
    /* the exact and enclosure tests' size assignments, and the batch size
       in each (NBATCHES 0 without a batch) */
    sample_sizes sizes[PROVE_SIZES];
    long batches[PROVE_SIZES];
    int nbatches;
    /* the two of SIZES the MPFR table is drawn at (the second only where a
       verdict would rest on MPFR): batch sizes 3 and 5, no power of two */
    int mpfr_sizes[2];
    int params_proven; /* every param PROVEN, and the oracle did not find them wrong */
    int all_exact;     /* every param: difference 0 at every exact point, and some point */
    /* UNDECIDED when the oracle finds the derived gradients are not the
       loss's (the rule base is unsound); else REFUTED when a param's
       placements differ; else PROVEN when every param is proven; else
       NUMERIC_ONLY when each is proven or equal numerically; else UNDECIDED */
    prove_verdict verdict;
    /* the derived gradients against the loss, with no rule: every param
       along one random direction; each gradient alone after a disagreement */
    const oracle_result *oracle;
    unsigned long seed;
} proof;

/* Lemma L of PR in words, allocated in POOL: "lemma 6: absorbed dZ1 =
   1/m * deferred dZ1, from lemma 4 (dZ2), through matmul.right, tanh
   (linear in G)", "..., the seed: the loss's 1/m, no earlier gradient",
   or with what is missing: "... NOT shown: the rule relu is not shown
   linear in G". */
const char *prove_lemma_words(const proof *pr, const proof_lemma *l, mem_pool *pool);

/* "n_x = 2, n_h = 3, m = 4": the size assignment S in words, allocated
   in POOL; "" without dims. */
const char *prove_size_words(const sample_sizes *s, mem_pool *pool);

/* The size assignments of PR's exact test in words, allocated in POOL:
   "(n_x, n_h, m) = (2, 3, 4), (3, 4, 5), ...", "m = 2, 3, 4, 5" for one
   dim, "" for none. */
const char *prove_sizes_words(const proof *pr, mem_pool *pool);

/* Prove D's placements equal (params) and different by m (intermediates),
   symbolically (the certificate, one lemma per gradient), exactly and
   numerically (for gradients whose lemma's depth is at most
   NUMERIC_DEPTH, usually PROVE_NUMERIC_DEPTH), with points
   drawn from SEED, and check the params' gradients against the loss
   (oracle_run, with SEED).
   Each relation's verdict rests on evidence: PROVEN on a lemma that holds
   (and the lemmas it uses) or a zero exact difference
   at every point; REFUTED on a nonzero exact difference or an enclosure
   excluding 0 (never on a method that could not run, never on a NaN).
   Returns the proof (in D's model's pool) or NULL with ERR filled. */
proof *prove(const derivation *d, const rule_set *rs, unsigned long seed, long numeric_depth,
             dc_error *err, mem_pool *err_pool);

#endif
