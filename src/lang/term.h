/* term.h: immutable, hash-consed terms with symbolic shapes. */
#ifndef DC_TERM_H
#define DC_TERM_H

#include <gmp.h>
#include <stdint.h>

#include "base/mem.h"
#include "lang/shape.h"

/* What a name in a model stands for. */
typedef enum symbol_kind {
    SYM_DIM,   /* a symbolic size: n_x */
    SYM_BATCH, /* the batch size m (also a dim) */
    SYM_INPUT,
    SYM_LABEL,
    SYM_PARAM,
    SYM_DEF,   /* a forward definition, Z1 = ..., or the loss */
    SYM_CLAIM, /* a user's claim dV = ... */
    SYM_VAR,   /* a pattern variable of a rule: matches any term */
    SYM_GRAD,  /* a derived gradient dV; its definition is the formula */
} symbol_kind;

/* What the model may assume of a label's values. */
typedef enum label_assumption {
    LABEL_ANY,    /* nothing */
    LABEL_BINARY, /* every entry 0 or 1 */
    LABEL_ONEHOT, /* every column one 1, the rest 0 */
    LABEL_PROB,   /* every column nonnegative, summing to 1 */
} label_assumption;

struct term;

/* A named thing. The shape of a dim used in an expression is scalar. */
typedef struct symbol {
    const char *name;
    symbol_kind kind;
    shape shape;
    label_assumption label;        /* SYM_LABEL; SYM_INPUT: LABEL_BINARY for a 0/1 mask */
    int class_axis;                /* SYM_LABEL onehot or prob: the axis along which each
                                      example's entries sum to 1 (0: columns; 1: rows, when
                                      the batch is the first axis, Y[m, n_y]) */
    long value;                    /* SYM_DIM, SYM_BATCH: the numeric seed, 0 if unset */
    const struct term *definition; /* SYM_DEF, SYM_CLAIM */
    const struct symbol *target;   /* SYM_CLAIM: the V of dV; NULL for a working value of
                                      pasted code, the gradient of no name (dhidden) */
    const char *shape_error;       /* SYM_CLAIM: why its formula does not type-check (its
                                      definition is then 0 of the target's shape), or NULL */
    int height;    /* SYM_DEF, SYM_CLAIM: its definition's term height (0: a leaf) */
    size_t offset; /* where it was declared in the source */
    /* Python's reassignment (A1 = A1 * D1): each assignment to a name is a
       new symbol, a version. EARLIER is the version it replaced, LATER the
       one that replaced it (NULL: none); VERSION counts from 0. A forward
       definition's later versions are named with primes (A1', A1''), a
       claim's (its working steps) keep the name as written. */
    const struct symbol *earlier, *later;
    int version;
} symbol;

/* Operations. Subtraction is add of a negation; division stays division so
   that terms read as written. */
typedef enum term_op {
    OP_CONST, /* an exact rational, always scalar */
    OP_SYM,   /* a named symbol */
    OP_ADD,
    OP_MUL,
    OP_DIV,
    OP_POW,
    OP_NEG,
    OP_EXP,
    OP_LOG,
    OP_TANH,
    OP_SIGMOID,
    OP_RELU,
    OP_STEP,    /* (a > b) as 0/1; aux: 1 for >=, 0 for > */
    OP_SOFTMAX, /* aux: the axis */
    OP_MATMUL,
    OP_TRANSPOSE,
    OP_SUM,       /* aux: axis (0, 1) or -1 for all; keepdims in flags */
    OP_BROADCAST, /* args[0] repeated to this term's shape; aux: the axis a
                     sum without keepdims removed (0, 1), or -1 for NumPy's
                     alignment on the right. Adjoints of sums produce it. */
    /* Only in rule templates, resolved when a rule is applied: */
    OP_UNBROADCAST,    /* unbroadcast(G, a): G summed down to a's shape */
    OP_BROADCAST_LIKE, /* broadcast(G, a[, axis=k]): G repeated to a's shape */
    /* NumPy functions of pasted code (after the others, so that the order
       of normal forms, which follows the operations' numbers, stays): */
    OP_MAXIMUM, /* np.maximum(a, b), elementwise; maximum(0, Z) is OP_RELU */
    OP_MINIMUM, /* np.minimum(a, b) */
    OP_ABS,     /* np.abs */
    OP_SQRT,    /* np.sqrt */
    OP_LOG1P,   /* np.log1p: log(1 + a) */
    OP_MAX,     /* np.max(a[, axis][, keepdims]): aux and keepdims as OP_SUM */
    OP_COUNT
} term_op;

/* A term. Terms are built only through a term_table, which returns the same
   pointer for the same structure: equality is pointer comparison. */
typedef struct term {
    term_op op;
    int aux;      /* axis, or the >= flag of a step */
    int keepdims; /* OP_SUM */
    unsigned nargs;
    uint32_t hash;
    /* 1 + the highest argument's; a leaf 1, but a definition's symbol its
       definition's height: every walk that expands definitions recurses
       this deep (the parser's PARSE_MAX_HEIGHT bounds it) */
    int height;
    shape shape;
    const symbol *sym; /* OP_SYM */
    mpq_t value;       /* OP_CONST; canonical */
    struct term *chain;
    const struct term *args[];
} term;

typedef struct term_table term_table;

/* A table allocates from POOL; term_table_free clears the GMP numbers it
   holds (the pool frees the rest). */
term_table *term_table_new(mem_pool *pool);
/* A table layered over BASE, for the terms of one call on a loaded model
   (api.c): a term BASE (or its own bases) holds is returned as it is, any
   other is made here, from POOL, and goes with it. So the session's table
   does not grow with every call, and the call's terms, numbers included,
   are freed at its end, while equality stays pointer comparison across the
   layers. BASE must outlive the table and must not change while it is in
   use (no term may be made in BASE meanwhile: one made there could
   duplicate one made here). */
term_table *term_table_new_over(const term_table *base, mem_pool *pool);
void term_table_free(term_table *tab);
/* The pool the table allocates from (and longjmps through on failure). */
mem_pool *term_table_pool(const term_table *tab);
/* Terms in TAB and its bases. */
size_t term_table_count(const term_table *tab);

/* The term for OP over ARGS. Returns NULL when the shapes do not fit, with
   the reason in WHY (SHAPE_WHY bytes). A negation or a quotient of constants
   folds to a constant, so a literal reads back as the same term. */
const term *term_make(term_table *tab, term_op op, int aux, int keepdims, const term *const *args,
                      unsigned nargs, char *why);
const term *term_const(term_table *tab, const mpq_t value);
const term *term_const_si(term_table *tab, long num, unsigned long den);
const term *term_symbol(term_table *tab, const symbol *sym);
/* Numbers owned by the table, for building a constant without a GMP
   temporary that an allocation failure (a longjmp) would leak. Their value
   is anyone's until the next term_ call. */
mpq_ptr term_table_scratch(term_table *tab);
mpz_ptr term_table_scratch_z(term_table *tab);
/* The term T is with ARGS (T->nargs of them) in place of its arguments:
   T's operation, aux and keepdims, and a broadcast's target shape, over
   the new arguments, made in TAB. The one way a walk that rewrites
   arguments puts a node back together. T itself when ARGS are T's own
   and T is in TAB or its bases. NULL with the reason in WHY (SHAPE_WHY
   bytes) when the new arguments do not fit T's operation. */
const term *term_rebuild(term_table *tab, const term *t, const term *const *args, char *why);
/* ARG repeated to shape TO: the inverse of a sum over AXIS (or of NumPy's
   implicit broadcast with AXIS -1). NULL with the reason in WHY when ARG
   cannot be broadcast to TO. */
const term *term_broadcast(term_table *tab, const term *arg, const shape *to, int axis, char *why);

/* A map from terms to terms (memo tables of rewriting, substitution and
   normal forms), allocated from a pool. */
typedef struct term_map term_map;
term_map *term_map_new(mem_pool *pool);
const term *term_map_get(const term_map *map, const term *key); /* NULL if absent */
void term_map_put(term_map *map, const term *key, const term *value);

/* How term_replace treats a replacement and a misfit. */
enum {
    /* a replacement is walked in turn, so that names whose replacements
       use other names are written out all the way (they must not use
       themselves) */
    TERM_REPLACE_DEEP = 1,
    /* a subterm whose rebuilt form no longer fits its operation's shapes
       stays as it was; without it the whole result is NULL */
    TERM_REPLACE_KEEP_MISFITS = 2,
};

/* T with every subterm that WITH maps replaced by its image (not walked
   into, unless FLAGS has TERM_REPLACE_DEEP), and every other subterm over
   replaced arguments rebuilt in TAB: the one substitution walk. MEMO
   remembers what each subterm became; calls with the same WITH and FLAGS
   may share it. T and the images in TAB or its bases. NULL when a rebuilt
   term does not fit its shape (see TERM_REPLACE_KEEP_MISFITS). */
const term *term_replace(term_table *tab, const term *t, const term_map *with, term_map *memo,
                         unsigned flags);

/* T with each symbol FROM[i] replaced by the term TO[i] (NULL: kept; the
   first of a symbol listed twice counts): term_replace with the map of
   those symbols' terms, no flags. */
const term *term_substitute(term_table *tab, const term *t, const symbol *const *from,
                            const term *const *to, size_t n, term_map *memo);

/* How many times the symbol S occurs in T (as a tree: a shared subterm
   counts each time it is used). */
long term_occurrences(const term *t, const symbol *s);

/* The name an operation is written with ("add", "sigmoid", ...). */
const char *term_op_name(term_op op);

/* The word a declaration writes for A ("binary", "onehot", "prob"), "none"
   for LABEL_ANY. */
const char *term_label_name(label_assumption a);

#endif
