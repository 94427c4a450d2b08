/* roundoff_private.h: what the roundoff_*.c files share (the plan, adding stats); no one else. */
#ifndef DC_ROUNDOFF_PRIVATE_H
#define DC_ROUNDOFF_PRIVATE_H

#include "cmd/roundoff.h"

/* How a formulation is computed: by the double evaluator from a term, or
   directly in C (forms the language has no operation for: log1p, a
   softmax without the max shift). */
typedef enum roundoff_form_kind {
    ROUNDOFF_FORM_TERM,
    ROUNDOFF_FORM_SOFTPLUS_BCE,     /* the sigmoid cross-entropy through softplus and log1p */
    ROUNDOFF_FORM_NAIVE_SOFTMAX_CE, /* the softmax cross-entropy, softmax without the shift */
    ROUNDOFF_FORM_LOG_SOFTMAX_CE,   /* the softmax cross-entropy through a shifted log-sum-exp */
    ROUNDOFF_FORM_NAIVE_SOFTMAX,    /* the softmax output, exp(z) / sum(exp(z)) */
    ROUNDOFF_FORM_PER_EXAMPLE,      /* a param gradient summed example by example */
} roundoff_form_kind;

typedef struct roundoff_form {
    roundoff_form_kind kind;
    size_t q; /* the quantity it computes */
    const char *label, *formula;
    const term *t; /* ROUNDOFF_FORM_TERM */
    /* ROUNDOFF_FORM_PER_EXAMPLE: the deferred gradient is 1/m * dz @ h.T
       (or, h NULL, 1/m * sum(dz, axis=1)); each_step: /m applied to each
       example's contribution instead of to the sum */
    const term *dz, *h;
    int each_step;
} roundoff_form;

typedef struct roundoff_quantity {
    const char *name;
    const term *ref; /* what the reference evaluates in MPFR */
} roundoff_quantity;

/* The cap a plan exceeded, if any. */
typedef enum roundoff_cap {
    ROUNDOFF_CAP_NONE,
    ROUNDOFF_CAP_QUANTITIES, /* ROUNDOFF_MAX_QUANTITIES */
    ROUNDOFF_CAP_FORMS,      /* ROUNDOFF_MAX_FORMS */
} roundoff_cap;

/* Everything a sample needs, built once before the samples run (terms are
   made only here: the term table is not shared across threads). */
typedef struct roundoff_plan {
    const derivation *d;
    const rule_set *rs; /* the rules D was derived with: the naive chain's activations */
    const model *m;
    term_table *tab;
    mem_pool *pool;
    roundoff_quantity q[ROUNDOFF_MAX_QUANTITIES];
    size_t nq;
    roundoff_form f[ROUNDOFF_MAX_FORMS];
    size_t nf;
    const symbol **drawn; /* inputs, labels, params */
    const term **drawn_t;
    size_t ndrawn;
    const symbol *out_act;  /* the sigmoid or softmax output the loss uses */
    const term *out_def;    /* its definition as derived: sigmoid(Z2) also when written out */
    const term *out_pre;    /* its argument */
    const symbol *logit;    /* that argument when it is a named definition (Z2): the confident
                               regimes bind it to logits they draw; NULL: they cannot */
    const term *logit_t;    /* its term */
    const term *label_t;    /* the label the loss uses */
    const symbol *out_bias; /* the output layer's bias, or NULL */
    const symbol *out_w[8]; /* its other params */
    size_t nout_w;
    roundoff_cap over; /* the cap exceeded (ROUNDOFF_CAP_NONE: none): the plan is refused */
} roundoff_plan;

/* The plan of D's sweep (roundoff_plan.c): the loss, a softmax output and
   every param gradient as quantities, each with its formulations, one
   more per claim of CLAIMS (may be NULL) about a param gradient; the
   naive chain through each activation by its adjoint rule in RS, the rule
   set D was derived with; the gradients from the output's logits when its
   gradient is A - Y. Allocated from D's model's pool, and its terms
   made in the model's table. A plan over a cap names it in over and must
   not be run. */
roundoff_plan *roundoff_plan_make(const derivation *d, const rule_set *rs,
                                  const check_result *claims);

/* Add the stats SRC to DST (roundoff_sweep.c): sums add, maxima and the
   worst entry are kept, so any split of the samples gives the same total. */
void roundoff_stat_add(roundoff_stat *dst, const roundoff_stat *src);

#endif
