/* oracle.h: the derived gradients against the loss itself, by central differences that use no rule.
 */
#ifndef DC_ORACLE_H
#define DC_ORACLE_H

#include "sym/derive.h"
#include "num/eval.h"

enum {
    ORACLE_BITS = 256,       /* MPFR bits of the loss and the gradients; the step is 2^-(P/4) */
    ORACLE_POINTS = 3,       /* random points tried when the loss has a kink near one */
    ORACLE_SAMPLE_BITS = 30, /* entries k / 2^30, as prove's points */
    ORACLE_MAX_SCALE = 24,   /* a param's part of the joint direction is scaled up by at most
                                2^24, so that a gradient far smaller than the others (a deep
                                layer's) still weighs in the sum */
    ORACLE_ALONE = 64,       /* after a disagreement, at most this many gradients are checked
                                each alone, from the loss back */
};

/* What one comparison found. */
typedef enum oracle_status {
    ORACLE_AGREES,        /* to 2^-(P/3), relative */
    ORACLE_DIFFERS,       /* far above rounding and truncation: a rule is unsound */
    ORACLE_COULD_NOT_RUN, /* not finite, a kink near every point tried, or a gap in between */
    ORACLE_NOT_RUN,       /* a gradient alone: not checked (beyond ORACLE_ALONE) */
} oracle_status;

/* One comparison: sum(dV * U_V) over the variables V moved, against the
   Richardson-extrapolated central difference of the loss along U. */
typedef struct oracle_check {
    oracle_status status;
    double log2_gap; /* log2 of the relative gap; NaN when not measured */
    double sum;      /* the sum over the derived gradients, rounded to double */
    double central;  /* the central difference, rounded to double */
    const char *why; /* COULD_NOT_RUN: why (of the last point tried; NULL when the loss
                        depends on no param, so nothing was compared); else NULL */
} oracle_check;

/* A gradient checked alone, after the joint check disagreed: its variable
   (a param, or a definition made a free variable) moved along its own
   random direction. */
typedef struct oracle_gradient {
    const gradient *g;
    oracle_check check;
    /* DIFFERS, while the gradient of every definition that uses its
       variable does not: the unsound rule is among the rules of its own
       steps */
    int first;
} oracle_gradient;

/* The confirmation of a derivation. */
typedef struct oracle_result {
    const derivation *d;
    oracle_check joint; /* every param, along one random direction over them all */
    size_t nparams;
    int points;             /* the random points tried (the last is the one the checks rest on) */
    long loss_evaluations;  /* the cost: evaluations of the loss, joint and alone */
    oracle_gradient *alone; /* after DIFFERS: one per gradient of D, in its order; else NULL */
    const rule **suspects;  /* the rules of the first wrong gradients' steps, each once */
    size_t nsuspects;
} oracle_result;

/* A line through a point: each of N variables (params, or definitions
   made free variables) at its MPFR value AT[k], moved along DIR[k], of
   its shape. */
typedef struct oracle_line {
    size_t n;
    const symbol **vars;
    const value **at, **dir;
} oracle_line;

/* The derivative of M's loss along LINE, computed with no rule: into OUT,
   the Richardson extrapolation (4 D(h) - D(2h)) / 3 of the central
   differences D(h) = (J(h) - J(-h)) / 2h, h = 2^-(ORACLE_BITS/4), and the
   loss at the point into LOSS; five evaluations of the loss in EV (MPFR at
   ORACLE_BITS, every other symbol bound), counted in *EVALUATIONS. The
   line's variables are left bound in EV to moved values. Returns 1, or 0
   with why in WHY (LEN bytes) when the loss cannot be evaluated or is not
   finite near the point, or has a kink or a jump there: D(h) and D(2h),
   or the one-sided differences (J(h) - J(0)) / h and (J(0) - J(-h)) / h,
   differ by more than 2^-(P/8) of the largest of them and SCALE (at a
   kink itself, relu's, the central differences agree with each other but
   with neither side). Working values come from POOL and are released;
   running out of memory jumps to its on_oom target. */
int oracle_directional(evaluator *ev, const model *m, const oracle_line *line, const mpfr_t scale,
                       mpfr_t out, mpfr_t loss, long *evaluations, char *why, size_t len,
                       mem_pool *pool);

/* Binds the inputs, labels and params of random point ATTEMPT (from 0) in
   EV, setting its dims: 1, or 0 with WHY. CTX is the caller's. */
typedef int (*oracle_binder)(void *ctx, evaluator *ev, int attempt, char *why, size_t len);

/* Whether the derived (absorbed) gradients of D's params are the
   derivative of its loss, computed without any rule: at a random point
   (drawn from SEED at the size assignment ATTEMPT + 1 of sample_sizes_of,
   or by BIND when not NULL, with CTX), the params moved along one random
   direction U over them all, in MPFR at ORACLE_BITS; five evaluations of
   the loss. Where the loss has a kink or a jump near the point, the next
   point is tried, up to ORACLE_POINTS, and then it could not run. When it
   differs, each gradient (params and definitions, from the loss back, at
   most ORACLE_ALONE) is checked alone at that point to find which are
   wrong and the first of them, whose rules are the suspects. Returns the
   result in POOL; running out of memory jumps to POOL's on_oom target. */
oracle_result *oracle_run(const derivation *d, unsigned long seed, oracle_binder bind, void *ctx,
                          mem_pool *pool);

/* "agrees", "differs", "could_not_run", "not_run": the JSON codes. */
const char *oracle_status_code(oracle_status s);

/* What a result of ORACLE_DIFFERS means, in one sentence allocated in
   POOL: "the derived dW1, db1 are not the derivative of J (along a random
   direction U: sum(dW1 * U) = 0.11, the central difference of J 0.10): a
   rule they use is unsound: tanh (adjoint.rules:63), through dZ1"; for
   another status, what was compared and how it came out ("nothing to
   compare" without params). */
const char *oracle_words(const oracle_result *o, mem_pool *pool);

#endif
