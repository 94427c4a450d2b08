/* parse.h: the recursive-descent parser of .dc files. */
#ifndef DC_PARSE_H
#define DC_PARSE_H

#include "base/diag.h"
#include "lang/model.h"

/* Caps on input, each refused with a message naming it. */
enum {
    PARSE_MAX_BYTES = 16 << 20, /* a .dc file */
    PARSE_MAX_DEPTH = 256,      /* nesting: parentheses, calls, prefix and chained operators */
    PARSE_MAX_HEIGHT = 8192,    /* a definition's term, the definitions it uses written out */
    PARSE_MAX_DIM = 1000000,    /* a dim's numeric value */
    PARSE_MAX_EXPONENT = 10000, /* decimal exponent of a literal: 1e10000 */
    /* the file's own functions, inlined where they are called: */
    PARSE_MAX_CALL_DEPTH = 32,    /* calls inside the bodies of calls */
    PARSE_MAX_INLINED = 1 << 20,  /* bytes of bodies read by all the calls of a file */
    PARSE_MAX_EXPANDED = 1 << 20, /* tokens of the bodies' names' values, written out at each
                                     use, in all (return x + x doubles them per call) */
    PARSE_MAX_LOCALS = 256,       /* a function's parameters and other names */
};

/* Parse SRC (whose text the model copies) into a new model. Returns the
   model, or NULL with ERR filled: an input error with its place, or an
   out-of-memory error. ERR's strings live in ERR_POOL. */
model *parse_model(const source *src, dc_error *err, mem_pool *err_pool);

/* One rule as written: NAME ":" [OUT "="] LHS "=>" [dV "="] RHS ["linear in" VAR]
   ["if" ...]. An adjoint rule names its output (C = sigmoid(a)) and the
   input whose gradient it gives (da = G * C * (1 - C)); a rewrite rule
   names neither. "linear in G" claims the formula linear in G. */
enum { RULE_MAX_CONDITIONS = 4 };
typedef struct rule_syntax {
    const char *name;
    size_t offset;                   /* of the name */
    const symbol *output, *gradient; /* C and da, or NULL */
    size_t output_offset, gradient_offset;
    const term *lhs, *rhs;
    size_t lhs_offset, rhs_offset;
    struct {
        const char *predicate; /* onehot, scalar, ... as written */
        const symbol *var;
        size_t offset;
    } cond[RULE_MAX_CONDITIONS];
    int ncond;
    const symbol *linear_in; /* the variable of "linear in G", or NULL */
    size_t linear_offset;
} rule_syntax;

/* Parse the rule file SRC, declaring its pattern variables in SCOPE (shared
   by every rule file of a rule set) and calling ADD for each rule, whose
   terms and strings live in SCOPE's pool. Returns 1, or 0 with ERR filled
   (an input error with its place, or out of memory). */
int parse_rules(const source *src, model *scope, void (*add)(void *ctx, const rule_syntax *r),
                void *ctx, dc_error *err, mem_pool *err_pool);

#endif
