/* derive.h: reverse mode over a model's named definitions, through the adjoint rules. */
#ifndef DC_DERIVE_H
#define DC_DERIVE_H

#include "lang/model.h"
#include "sym/rules.h"

/* The gradient of the loss with respect to one param or definition V. */
typedef struct gradient {
    const symbol *of;      /* V */
    symbol *absorbed_name; /* dV under absorbed: dJ/dV; its definition is absorbed */
    symbol *deferred_name; /* dV under deferred: m * dJ/dV for intermediates */
    const term *absorbed;  /* normal form, in forward names and named gradients */
    const term *deferred;  /* the same under the deferred convention */
    int named;             /* formulas refer to it by name (it is used more than once) */
    trace steps;           /* every rule applied on the way to it */
} gradient;

/* Every gradient of a model, in the order a derivation writes them: from
   the loss back, each param right after the definition that uses it. */
typedef struct derivation {
    const model *m;
    gradient *g;
    size_t n;
    const term **defs; /* by index in m->symbols: each definition as differentiated */
} derivation;

/* Derive every gradient of M (whose term table and pool receive the
   results; M itself is not changed) with the adjoint and rewrite rules of
   RS, the labels as ASSUME has them (NULL: as declared). Returns the
   derivation (allocated in M's pool), or NULL with ERR filled: an
   operation without an adjoint rule (named), a rule that does not fit,
   rewriting that does not settle. */
derivation *derive(const model *m, const rule_set *rs, const label_assumption_set *assume,
                   dc_error *err, mem_pool *err_pool);

/* Rewrite rules and the normal form, alternately, until neither changes T:
   the simplification every formula goes through, the labels as ASSUME has
   them. Steps go to TR (may be NULL), *STEPS counts rule applications.
   NULL with ERR filled when the rules do not settle. */
const term *derive_simplify(term_table *tab, const rule_set *rs, const label_assumption_set *assume,
                            const term *t, trace *tr, long *steps, dc_error *err,
                            mem_pool *err_pool);

/* The definition S (a SYM_DEF of D's model) as D differentiated it: with
   recognise.rules applied, so that a sigmoid or softmax written out in
   NumPy (1 / (1 + np.exp(-Z2))) is the operation it computes
   (sigmoid(Z2)). S's own definition when S is no definition of the model. */
const term *derive_definition(const derivation *d, const symbol *s);

/* The gradient of V, or NULL when J does not depend on V. */
const gradient *derive_find(const derivation *d, const symbol *v);

/* The gradient that flows into argument K of T when G flows into T's
   value, which the model names C: the first adjoint rule of RS for T's
   operation and argument K whose pattern matches T and whose conditions
   hold (the labels as ASSUME has them), instantiated in TAB. *USED is that
   rule, NULL when none applies; then, and when the rule's formula does not
   fit these shapes (the reason in WHY, SHAPE_WHY bytes), NULL. */
const term *derive_adjoint(term_table *tab, const rule_set *rs, const label_assumption_set *assume,
                           const term *t, unsigned k, const term *g, const term *c,
                           const rule **used, char *why);

/* The derivative of the elementwise operation OP at Z as the rule base
   has it: OP's adjoint rule in RS applied to OP(Z) with the output named C
   and G = 1, the factor G left out, so in C where the rule uses the output
   (1 - C^2 for tanh, C * (1 - C) for sigmoid, (Z > 0) for relu). NULL when
   RS has no adjoint rule for OP whose formula is G times a factor, or it
   does not fit Z's shape. */
const term *derive_activation_derivative(term_table *tab, const rule_set *rs, term_op op,
                                         const term *z, const term *c);

/* Put into WITH, for every gradient of D, its name in convention C (dZ2)
   mapped to its formula in C: what term_replace with TERM_REPLACE_DEEP
   needs to write a formula out in forward names. */
void derive_name_formulas(const derivation *d, convention c, term_map *with);

/* The indexes of D's gradients in an order code can compute them in,
   into ORDER (d->n entries): D's own order, except that a gradient whose
   written formula (derive_pretty) under C names another gradient comes
   after it (dW = reg * W + dscores @ X.T after dscores). */
void derive_written_order(const derivation *d, convention c, size_t *order);

/* The formula of G under CONVENTION (absorbed or deferred), written for
   people: factored, positive terms first. */
const term *derive_pretty(const derivation *d, const gradient *g, convention c);

#endif
