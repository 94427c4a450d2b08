/* rules.h: the rule base: rule files loaded, matched against terms and applied. */
#ifndef DC_RULES_H
#define DC_RULES_H

#include "base/diag.h"
#include "lang/model.h"
#include "lang/term.h"

typedef enum rule_kind {
    RULE_REWRITE, /* pattern => replacement [if conditions] */
    RULE_ADJOINT, /* C = pattern => da = formula in G, C and the pattern's variables */
} rule_kind;

typedef enum predicate {
    PRED_ONEHOT, /* a label declared onehot, one 1 in each column */
    PRED_BINARY,
    PRED_PROB,
    PRED_SCALAR, /* a term of shape scalar */
    PRED_CONST,  /* a rational constant */
    PRED_MATRIX, /* a term of rank 2 */
    /* batch-first labels (Y[m, n_y]), whose rows are the examples */
    PRED_ONEHOT_ROWS,
    PRED_PROB_ROWS,
} predicate;

/* The word a rule file writes for P in a condition ("onehot", "prob_rows"). */
const char *rules_predicate_name(predicate p);

typedef struct rule {
    const char *name;
    const char *group; /* the file's name without .rules: adjoint, labels, ... */
    const char *file;  /* as opened, for file:line in traces */
    int line;
    rule_kind kind;
    const term *lhs, *rhs;
    const symbol *output; /* adjoint: C */
    const symbol *input;  /* adjoint: a, whose gradient rhs is */
    unsigned input_index; /* adjoint: the argument of lhs that input is */
    struct {
        predicate pred;
        const symbol *var;
    } cond[4];
    int ncond;
    /* adjoint: the file claims the formula linear in G ("linear in G"),
       and whether rules_linear_in shows it; what a proof by linearity
       (prove's certificate) may rest on is both */
    int linear_claimed;
    int linear;
} rule;

/* All rules of a folder, in file-name order, then line order. Owns its
   terms and pattern variables (in scope). */
typedef struct rule_set {
    model *scope;
    rule *rules;
    size_t n, cap;
    const symbol *G; /* the variable standing for the incoming gradient */
    uint64_t hash;   /* of every file's name and text, in order (text_hash): its identity */
} rule_set;

/* The caps on a rules folder (docs/limits.md): files and bytes in all,
   raised by DERIVCHECK_RULES_MAX_FILES and DERIVCHECK_RULES_MAX_BYTES up to
   the ceilings. Every rule is tried at every term, so derive's time grows
   with the rules' number. */
enum {
    RULES_MAX_FILES = 64,
    RULES_CEILING_FILES = 4096,
    RULES_MAX_BYTES = 256 << 10,
    RULES_CEILING_BYTES = 64 << 20,
};

/* Load every DIR/\*.rules. Returns the set, or NULL with ERR filled: a
   malformed rule is an input error at its file:line:col; a missing folder,
   one without rule files, a rule file that is not a regular file and
   exceeding a cap (DC_ELIMIT) are errors too. ERR's strings live in
   ERR_POOL. */
rule_set *rules_load(const char *dir, dc_error *err, mem_pool *err_pool);
void rules_free(rule_set *rs);

enum { MATCH_MAX = 16 };

/* Whether the formula T is linear in the variable G, shown by its
   structure: G itself; a negation, transpose, sum, broadcast or
   unbroadcast of a linear term; a sum of linear terms; a product (*, @)
   of a linear term and one without G; a linear term divided by one
   without G; or a term without G that is zero times something (0 * a,
   the step's rule). Each of these operations is linear in its argument,
   so the composition is: a sound test, which a formula that is linear
   only after algebra (G^2 / G) fails. */
int rules_linear_in(const term *t, const symbol *G);

/* Pattern variables bound to terms of a model's table. */
typedef struct match {
    const symbol *var[MATCH_MAX];
    const term *value[MATCH_MAX];
    int n;
} match;

/* What the rules may assume of labels: each label what its declaration
   says (symbol.label), except the N in LABELS, which are assumed to be
   AS[i] instead. A question such as "would this claim hold if Y were
   onehot?" is asked with a list of its own, and the model stays as it was
   loaded. NULL stands for the empty list. */
typedef struct label_assumption_set {
    const symbol *const *labels;
    const label_assumption *as;
    size_t n;
} label_assumption_set;

/* Whether PATTERN (of a rule set's scope) matches T (of any table),
   extending M; a variable seen twice must match the same term. */
int rule_match(const term *pattern, const term *t, match *m);
/* Whether R's conditions hold under M, with the labels as ASSUME has them. */
int rule_conditions_hold(const rule *r, const match *m, const label_assumption_set *assume);
void match_bind(match *m, const symbol *var, const term *value);

/* TEMPLATE with its variables replaced by their values in M, built in TAB.
   NULL when a shape does not fit, with the reason in WHY (SHAPE_WHY). */
const term *rule_instantiate(term_table *tab, const term *template, const match *m, char *why);

/* X summed down to the shape TO, undoing NumPy broadcasting; NULL with the
   reason in WHY when TO is not a shape X was broadcast from. */
const term *rules_unbroadcast(term_table *tab, const term *x, const shape *to, char *why);

/* What a step of a derivation did. */
typedef enum step_kind {
    STEP_RULE,        /* a rule applied */
    STEP_NORMAL_FORM, /* canon_normal_form: expand, cancel, collect */
    STEP_REWRITE,     /* a rewriting of the whole term that what describes */
} step_kind;

/* One step of a derivation: a rule applied (or, with rule NULL, the algebra
   that what describes). */
typedef struct trace_step {
    step_kind kind;
    const rule *rule; /* STEP_RULE */
    const char *what; /* the other kinds: what was done, in words */
    const term *before, *after;
} trace_step;

typedef struct trace {
    mem_pool *pool;
    trace_step *steps;
    size_t n, cap;
} trace;

void trace_init(trace *tr, mem_pool *pool);
/* Append a step to TR (nothing when TR is NULL): rule R applied, or with R
   NULL the rewriting WHAT (a string that outlives TR). */
void trace_add(trace *tr, const rule *r, const char *what, const term *before, const term *after);
/* Append the step from BEFORE to its normal form AFTER. */
void trace_add_normal_form(trace *tr, const term *before, const term *after);

/* Rewriting stops after REWRITE_MAX_STEPS rule applications, and when it
   recurses REWRITE_MAX_DEPTH terms deep (a rule whose replacement grows
   would otherwise overflow the stack before the step cap). */
enum { REWRITE_MAX_STEPS = 20000, REWRITE_MAX_DEPTH = 4096 };

/* T with every rewrite rule applied, innermost first, until none applies,
   the labels as ASSUME has them. Steps go to TR (if not NULL). Returns
   NULL with ERR filled when the step or depth bound is hit (naming the
   rules that kept firing) or a replacement does not fit its place. *STEPS counts
   applications across calls. */
const term *rules_rewrite(const rule_set *rs, const label_assumption_set *assume, term_table *tab,
                          const term *t, trace *tr, long *steps, dc_error *err, mem_pool *err_pool);

/* T with the rules of recognise.rules applied (the sigmoid and softmax
   that NumPy code writes out, 1 / (1 + exp(-Z)), named), innermost first,
   until none applies; a pattern's operation may match a name that NAMES
   maps to its formula (probs = exp_scores / sum(exp_scores) with
   exp_scores = exp(scores) is softmax(scores)). As rules_rewrite
   otherwise. */
const term *rules_recognise(const rule_set *rs, const term_map *names, term_table *tab,
                            const term *t, trace *tr, long *steps, dc_error *err,
                            mem_pool *err_pool);

#endif
