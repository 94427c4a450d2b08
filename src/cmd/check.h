/* check.h: a person's derivation, claim by claim: holds, or what is wrong with it. */
#ifndef DC_CHECK_H
#define DC_CHECK_H

#include "cmd/oracle.h"
#include "num/sample.h"
#include "sym/derive.h"

typedef enum claim_verdict {
    CLAIM_HOLDS,       /* equals the gradient in the convention it follows */
    CLAIM_GIVEN_YOURS, /* the formula is right, but uses an earlier wrong claim */
    CLAIM_REFUTED,     /* wrong, with a reason and a counterexample */
    CLAIM_SHAPE,       /* not even the shape of what it claims */
    CLAIM_UNDECIDED,   /* no method could decide it: the reason says why */
    CLAIM_STEP,        /* a working step (the name is assigned again later) that is the
                          gradient of no version of its forward name: not a mistake by
                          itself, the name's last assignment is the claim */
} claim_verdict;

/* How a verdict was decided. A claim holds by a symbolic proof or by
   agreement at points of several size assignments; it is refuted by its
   shape or by a difference witnessed at a point. */
typedef enum verdict_method {
    METHOD_SYMBOLIC,  /* both sides reduce to one normal form */
    METHOD_EXACT,     /* rationals: equal at every point compared, or not at the witness */
    METHOD_ENCLOSURE, /* an interval enclosure of the difference excludes 0 at the witness */
    METHOD_NUMERIC,   /* equal in MPFR only (no exact point): weaker */
    METHOD_SHAPE,     /* the shapes differ, in symbolic dims: before any numbers */
    METHOD_NONE,      /* undecided: no method decided */
} verdict_method;

/* The random points of the numeric evidence, one per size assignment:
   the declared sizes and two in which every dim and the batch differ
   (sample_sizes_of). */
enum { CHECK_POINTS = 3, CHECK_SIZES = 3 };

/* What a verdict rests on. */
typedef struct claim_evidence {
    verdict_method method;
    int points;                   /* EXACT, NUMERIC agreement: the points compared */
    unsigned long sizes_compared; /* ... and the size assignments they were drawn at (bit s:
                                     the check result's sizes[s]) */
    long witness; /* EXACT, ENCLOSURE difference: its point (sizes[witness % CHECK_SIZES]),
                     else -1 */
    long bits;    /* NUMERIC, ENCLOSURE: the precision */
} claim_evidence;

typedef struct claim_result {
    const symbol *claim;
    /* the version of the forward name whose gradient the claim is (A1'' for
       dA1 = np.dot(W2.T, dZ2) after A1 = A1 / keep_prob): the claim's
       target unless it holds for another version of that name; NULL for a
       working value (a claim without a target, CLAIM_STEP) */
    const symbol *of;
    int line;
    claim_verdict verdict;
    /* the convention the claim follows: DEFERRED or ABSORBED, or AUTO when
       it holds in both (a param, or per-example notation); for a wrong
       claim, the one it was read in (its expected line's and
       counterexample's) */
    convention follows;
    const char *reason;         /* in words; NULL when it holds */
    dc_diagnosis diagnosis;     /* the reason as a code; DC_DIAGNOSIS_NONE when it holds */
    claim_evidence evidence;    /* how the verdict was decided */
    const char *counterexample; /* an entry where yours and the truth differ, or NULL */
    const char *note;           /* something right but worth saying (NumPy broadcasting), or NULL */
    /* dJ/dV (or m dJ/dV) as the derivation writes it, in the names the
       file has at the claim (earlier claims that hold, aliases) */
    const term *expected;
    /* the claim written out for evaluation: its formula, with the claims it
       uses replaced by theirs, in forward names (what error measures) */
    const term *yours;
} claim_result;

/* What the claims of a file come to, as the summary and the exit status
   both say. */
typedef enum check_outcome {
    CHECK_ALL_HOLD,  /* every claim holds, in one convention */
    CHECK_REFUTED,   /* a claim is wrong (refuted, of the wrong shape, or built on a wrong
                        one), or the claims mix the conventions */
    CHECK_UNDECIDED, /* nothing refuted, but a claim could not be decided; or the derivation is
                        not the derivative of the loss (the oracle differs) */
} check_outcome;

typedef struct check_result {
    claim_result *r;
    size_t n;
    check_outcome outcome;
    const char *mixing; /* "dZ2 (line 17) follows deferred, dZ1 (line 20) absorbed", or NULL */
    const sample_sizes *sizes; /* the CHECK_SIZES size assignments of the points */
    /* the derivation against the loss, with no rule (oracle_run), before
       any claim is judged */
    const oracle_result *oracle;
} check_result;

/* The codes the JSON writes for a verdict ("ok", "wrong", ...) and a
   diagnosis ("missing_inv_m", ...; NULL for DC_DIAGNOSIS_NONE); static
   strings, NULL for a value out of range. */
const char *check_verdict_code(claim_verdict v);
const char *check_diagnosis_code(dc_diagnosis d);

/* Judge every claim of M against the derivation D (of M, with the rules
   RS): normal forms first (a proof); then evaluation at CHECK_POINTS random
   points from SEED, each at its own size assignment, the declared one and
   two where every dim and the batch differ: exact rationals with the
   activations free, or MPFR where a side is not rational, a difference in
   MPFR being confirmed by an interval enclosure. A claim holds by a proof
   or by agreement at two size assignments or more; it is refuted by a
   witnessed difference; otherwise, or when the normal forms say equal and
   a difference is witnessed (an unsound rule), it is undecided, with why.
   For a wrong claim, the usual mistakes are tried (the batch size written
   as a number, a factor m or 1/m, the sign, a transpose, a sum's axis or
   keepdims, an activation's derivative, a label assumption) and a
   counterexample entry is given in the convention the claim is read in. A
   claim that is right given an earlier wrong claim says so. A name
   assigned several times (Python's reassignment) is judged step by step:
   a forward name's every version is tried (the report says which one a
   claim's gradient is), and a step that is none is CLAIM_STEP, which
   fails nothing by itself. First of all, the derivation's gradients are
   checked against the loss with no rule (oracle_run, with SEED): when they
   are not its derivative, no claim is judged on the strength of the rules:
   each but a shape mistake or a working step is undecided (unsound_rule),
   unless its own gradient alone was found right, and the outcome is
   undecided. Returns the result in M's pool, or NULL with ERR filled. */
check_result *check_claims(model *m, const derivation *d, const rule_set *rs, unsigned long seed,
                           dc_error *err, mem_pool *err_pool);

#endif
