/* check.h: a person's derivation, claim by claim: holds, or what is wrong with it. */
#ifndef DC_CHECK_H
#define DC_CHECK_H

#include "sym/derive.h"

typedef enum claim_verdict {
    CLAIM_HOLDS,       /* equals the gradient in the convention it follows */
    CLAIM_GIVEN_YOURS, /* the formula is right, but uses an earlier wrong claim */
    CLAIM_REFUTED,     /* wrong, with a reason and a counterexample */
    CLAIM_SHAPE,       /* not even the shape of what it claims */
    CLAIM_STEP,        /* a working step (the name is assigned again later) that is the
                          gradient of no version of its forward name: not a mistake by
                          itself, the name's last assignment is the claim */
} claim_verdict;

enum { CHECK_POINTS = 3 }; /* random points of the numeric check */

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
       it holds in both (a param, or per-example notation) */
    convention follows;
    const char *reason;         /* in words; NULL when it holds */
    const char *method;         /* how it was decided: "symbolic and numeric", ... */
    const char *counterexample; /* an entry where yours and the truth differ, or NULL */
    const char *note;           /* something right but worth saying (NumPy broadcasting), or NULL */
    const term *expected;       /* dJ/dV (or m dJ/dV) as the derivation writes it */
    /* the claim written out for evaluation: its formula, with the claims it
       uses replaced by theirs, in forward names (what error measures) */
    const term *yours;
} claim_result;

typedef struct check_result {
    claim_result *r;
    size_t n;
    int all_hold;
    const char *mixing; /* "dZ2 (line 17) follows deferred, dZ1 (line 20) absorbed", or NULL */
} check_result;

/* Judge every claim of M against the derivation D (of M, with the rules
   RS): normal forms first; evaluation at random points from SEED (exact
   rationals with the activations free, or MPFR where a side is not
   rational) as the second, independent method (a disagreement between them is said);
   for a wrong claim, the usual mistakes are tried (a factor m or 1/m, the
   sign, a transpose, a sum's axis or keepdims, an activation's derivative,
   a label assumption) and a counterexample point is given. A claim that is
   right given an earlier wrong claim says so. A name assigned several
   times (Python's reassignment) is judged step by step: a forward name's
   every version is tried (the report says which one a claim's gradient
   is), and a step that is none is CLAIM_STEP, which fails nothing by
   itself. Returns the result in M's pool, or NULL with ERR filled. */
check_result *check_claims(model *m, const derivation *d, const rule_set *rs, unsigned long seed,
                           dc_error *err, mem_pool *err_pool);

#endif
