/* eval_impl.h: what the evaluator's files (eval, arith, plan, kernel) share; eval.h is public. */
#ifndef DC_EVAL_IMPL_H
#define DC_EVAL_IMPL_H

#include "num/eval.h"

/* ---------------------------------------------------------------- tables (arith.c) */

/* What an operation of a table can report. Only the exact table reports
   anything but ARITH_OK: MPFR and double give NaN or an infinity instead. */
typedef enum arith_status {
    ARITH_OK,
    ARITH_DIV_ZERO,
    ARITH_POW_FRACTION,      /* a non-integer exponent */
    ARITH_POW_ZERO_NEGATIVE, /* 0 to a negative power */
    ARITH_POW_HUGE,          /* a result beyond EXACT_POW_MAX_BITS */
    ARITH_SQRT_IRRATIONAL,   /* the square root of a rational that is not a square */
} arith_status;

/* The size of an exact power's result is capped, so that 2^(10^12) is an
   error rather than an exhausted machine. */
enum { EXACT_POW_MAX_BITS = 1 << 24 };

/* The operations the walk needs of a kind of number. Each takes pointers to
   elements of SIZE bytes; a result may alias an operand. A number may need
   LIMB_BYTES(prec) more bytes beside it, which its value's block provides
   (MPFR's significand); CLEAR is NULL when a number holds nothing else. A
   NULL exp, log or tanh means the kind cannot compute it. */
typedef struct arith {
    number_kind kind;
    size_t size;
    int shift_softmax; /* subtract a slice's max before exp, as careful double code does */
    size_t (*limb_bytes)(long prec);
    void (*init)(void *x, void *limbs, long prec); /* to 0 */
    void (*clear)(void *x);
    void (*set)(void *r, const void *a);
    void (*set_si)(void *r, long n);
    void (*set_q)(void *r, const mpq_t q); /* rounded to nearest */
    void (*add)(void *r, const void *a, const void *b);
    void (*sub)(void *r, const void *a, const void *b);
    void (*mul)(void *r, const void *a, const void *b);
    arith_status (*div)(void *r, const void *a, const void *b);
    arith_status (*pow)(void *r, const void *a, const void *b);
    void (*neg)(void *r, const void *a);
    void (*exp)(void *r, const void *a);
    void (*log)(void *r, const void *a);
    void (*tanh)(void *r, const void *a);
    /* a > b and a >= b (0 when either is NaN), and whether a is NaN: for
       the step, relu and shift_softmax of numbers that are points; NULL in
       a table with its own step and relu that does not shift */
    int (*gt)(const void *a, const void *b);
    int (*ge)(const void *a, const void *b);
    int (*is_nan)(const void *a);
    /* The indicator a > b (a >= b when OR_EQUAL) and max(a, 0); NULL means
       computed from gt, ge and is_nan. */
    void (*step)(void *r, const void *a, const void *b, int or_equal);
    void (*relu)(void *r, const void *a);
    /* NumPy functions of pasted code: np.maximum and np.minimum (NaN when
       either is NaN, as NumPy's), np.abs, np.sqrt (exact only of squares)
       and np.log1p (NULL: the kind cannot compute it) */
    void (*max)(void *r, const void *a, const void *b);
    void (*min)(void *r, const void *a, const void *b);
    void (*abs)(void *r, const void *a);
    arith_status (*sqrt)(void *r, const void *a);
    void (*log1p)(void *r, const void *a);
    /* For a table whose numbers carry no precision (Arb's balls): the
       precision of the operations that follow on this thread, set before
       each computation; NULL elsewhere. */
    void (*at_prec)(long prec);
    /* R = sum of A[k * ASTEP] * B[k * BSTEP] for k < LEN (steps in
       elements), for a table with a faster dot product than one mul and add
       per term; NULL: the matrix product multiplies and adds left to right. */
    void (*dot)(void *r, const void *a, long astep, const void *b, long bstep, long len);
    /* R (ROWS x COLS, row-major) = A @ B, entry (i, k) of A at A[i * A_SI +
       k * A_SJ] and (k, j) of B at B[k * B_SI + j * B_SJ], for a table with
       a matrix product faster than its dot products; NULL otherwise. */
    void (*matmul)(void *r, const void *a, long a_si, long a_sj, const void *b, long b_si,
                   long b_sj, long rows, long inner, long cols);
} arith;

/* The table of KIND's numbers, or NULL for a kind that is none. */
const arith *arith_of(number_kind kind);

/* The table of Arb balls (ball.c). */
extern const arith ball_arith;

/* Set R, a ball, to the number SRC of kind FROM (ball.c); returns 1. */
int ball_convert(void *r, number_kind from, const void *src);

/* Set R (of AR's kind) to the number SRC of kind FROM, which is AR's own
   kind or exact, MPFR or double (exact to double and MPFR rounds to
   nearest; exact to an interval encloses; the rest is exact). Returns 0
   when the number has no exact value (NaN, an infinity) and AR is exact. */
int arith_convert(const arith *ar, void *r, number_kind from, const void *src);

/* ---------------------------------------------------------------- state */

/* Who keeps a value alive: the caller (eval_new_value, until eval_free), a
   binding (until it is replaced), a result (released after its last use in
   the evaluation that computed it, or kept until the next invalidation), or
   the walk's scratch numbers. */
typedef enum held_role { HELD_USER, HELD_BINDING, HELD_RESULT, HELD_SCRATCH } held_role;

/* A value whose numbers are initialised: one block holding this header, the
   entries and the entries' significands. Every one is on the evaluator's
   list from the moment its numbers exist, so eval_free can clear them
   whatever jump happened. */
typedef struct held {
    value v; /* first: a value handed out is a held */
    held_role role;
    int kept;   /* a result that lives until the next invalidation */
    int owners; /* memo slots it is the value of */
    struct held *prev, *next;
} held;

/* What is wrong with a binding, found when it is copied and reported when
   it is used. */
typedef enum bind_problem { BIND_OK, BIND_NONFINITE, BIND_MALFORMED } bind_problem;

typedef struct binding {
    const symbol *sym;
    held *h; /* NULL when malformed */
    bind_problem problem;
} binding;

typedef struct dim_size {
    const symbol *sym;
    long n;
} dim_size;

/* What the evaluator knows of a term: its value while it has one, and the
   plan of the running evaluation, valid when EPOCH is the evaluator's. */
typedef struct memo_slot {
    const term *t;
    held *h;
    unsigned long epoch;
    long pending;          /* uses in this evaluation not yet made */
    const term *consumer;  /* a term that uses it; the only one when pending is 1 */
    unsigned char def_top; /* the definition of a symbol evaluated through it */
    unsigned char keep;    /* its value outlives the evaluation */
    unsigned char inlined; /* computed inside its consumer, never stored */
} memo_slot;

/* Entries of a value seen as a ROWS x COLS matrix: entry (i, j) is element
   i * si + j * sj. Broadcasting is a zero stride, a transpose swapped ones. */
typedef struct view {
    const value *v;
    long si, sj;
} view;

/* One node of a kernel: an elementwise term computed entry by entry, with
   the terms inlined into it. Nodes are in post-order, so the last is the
   term the kernel computes. */
typedef struct knode {
    const term *t;
    int leaf;        /* a stored value, read through W */
    int a, b;        /* an operation's operand nodes; b is -1 for one */
    view w;          /* a leaf's value as a matrix of the kernel's sizes */
    void *reg;       /* where an operation puts its entry */
    const void *cur; /* the node's entry at the current (i, j) */
} knode;

/* Scratch numbers of the walk: the constants 0 and 1 and three temporaries. */
enum { SCRATCH_ZERO, SCRATCH_ONE, SCRATCH_T0, SCRATCH_T1, SCRATCH_T2, SCRATCH_COUNT };

enum { EVAL_WHY = 320 };

struct evaluator {
    mem_pool *pool;
    const arith *ar;
    long prec;
    size_t limb_bytes; /* ar->limb_bytes(prec) */
    held live;         /* sentinel of the list of every held value */
    held *scratch;
    held *regs; /* the kernel's registers, one per operation node */
    knode *kernel;
    size_t kernel_len, kernel_cap;
    binding *bindings;
    size_t nbindings, bindings_cap;
    dim_size *dims;
    size_t ndims, dims_cap;
    memo_slot *memo; /* open addressing by term hash; size a power of 2 */
    size_t memo_size, memo_count;
    const term **plan; /* the terms the running evaluation computes */
    size_t plan_len, plan_cap;
    unsigned long epoch; /* counts evaluations, so a slot's plan is current */
    const value *result; /* of the running eval_term, kept here across its setjmp */
    dc_status status;    /* how the last eval_term ended */
    char why[EVAL_WHY];
    void (*progress)(void *ctx, double work); /* eval_set_progress */
    void *progress_ctx;
};

/* Element K of V in row-major order. */
static inline void *
element(const evaluator *ev, const value *v, long k)
{
    return (char *)v->entries + (size_t)k * ev->ar->size;
}

static inline void *
scratch(const evaluator *ev, int k)
{
    return element(ev, &ev->scratch->v, k);
}

static inline const void *
view_at(const evaluator *ev, const view *w, long i, long j)
{
    return element(ev, w->v, i * w->si + j * w->sj);
}

/* ---------------------------------------------------------------- eval.c */

/* Record why the evaluation fails; returns NULL for the caller to return. */
const value *eval_fail(evaluator *ev, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* A new value of EV's kind with every entry 0, on the list under ROLE. The
   sizes must have been checked. The allocation comes first, so a jump out
   of it leaves no number uncleared. */
held *eval_held_new(evaluator *ev, held_role role, int rank, long rows, long cols);

/* Take H off the list, clear its numbers and release its block. */
void eval_held_drop(evaluator *ev, held *h);

/* A result of T's shape, or NULL with the reason. Its entries are not set. */
held *eval_result_new(evaluator *ev, const term *t);

/* The numeric rows and cols of shape S (rank 1 [n] is 1 x n), or 0 with
   the reason. */
int eval_shape_sizes(evaluator *ev, const shape *s, long *rows, long *cols);

/* Whether shapes A and B have the same numeric sizes, both known; reports
   nothing (the evaluation reports what is wrong when it gets there). */
int eval_same_sizes(const evaluator *ev, const shape *a, const shape *b);

/* "scalar", "[4]" or "[4, 8]": a value's sizes in messages. */
const char *eval_value_words(int rank, long rows, long cols, char *buf, size_t size);

/* SYM's binding, or NULL. */
binding *eval_find_binding(const evaluator *ev, const symbol *sym);

/* T's value: the one it has, or computed now; then the operands it was
   computed from have had one more use each. NULL with the reason. */
const value *eval_walk(evaluator *ev, const term *t);

/* ---------------------------------------------------------------- plan.c */

/* T's slot, or NULL. */
memo_slot *plan_find(const evaluator *ev, const term *t);

/* T's slot if the running evaluation planned it. */
memo_slot *plan_current(const evaluator *ev, const term *t);

/* Whether the running evaluation computes T inside its consumer. */
int plan_is_inlined(const evaluator *ev, const term *t);

/* Plan the evaluation of ROOT: count the uses of every term below it and
   decide which are kept and which are inlined (plan.c says how). */
void plan_evaluation(evaluator *ev, const term *root);

/* T now has the value V. */
void plan_remember(evaluator *ev, const term *t, const value *v);

/* T's operands have been used (by T, or by what T is inlined into): any
   whose last use this was gives its value back. */
void plan_operands_used(evaluator *ev, const term *t);

/* The value of T, an operand whose last use is the running one (its USES
   uses among the running operation's operands), taken over to become the
   result of ROWS x COLS: the operation then computes in place. NULL when
   it is not free to take. */
held *plan_take_over(evaluator *ev, const term *t, long uses, long rows, long cols);

/* After a failed evaluation: release every value that is not kept. */
void plan_forget_transients(evaluator *ev);

/* Forget every result of eval_term: their values and the memo. */
void plan_invalidate(evaluator *ev);

/* eval_estimate's count (eval.h): add to *ENTRIES the entries held (bound
   and stored by the plans of ROOTS) and to *WORK the multiply-adds, before
   the precision's weight; raise *SCRATCH to the entries of the operands of
   the largest matrix product (the copies a product makes while it runs).
   0 when a size is unknown or too big. */
/* The multiply-adds of computing T once as plan_estimate counts them
   (before the precision's weight); 0 when a size is unknown. */
double plan_term_work(evaluator *ev, const term *t);

int plan_estimate(evaluator *ev, const model *m, const term *const *roots, size_t n,
                  double *entries, double *scratch, double *work);

/* ---------------------------------------------------------------- kernel.c */

/* V broadcast NumPy's way to ROWS x COLS (right-aligned: a rank-1 [n] is
   [1, n]; a size 1 repeats) into *W, or 0 with the reason. */
int kernel_broadcast_view(evaluator *ev, view *w, const value *v, long rows, long cols);

/* Whether EV's numbers can compute OP; 0 with the reason when not. */
int kernel_can_compute(evaluator *ev, term_op op);

/* Whether OP is elementwise: an operation a kernel computes, entry by entry. */
int kernel_is_elementwise(term_op op);

/* An elementwise term, with the terms inlined into it, in one pass over
   its entries; in place when an operand of its sizes dies here. */
const value *kernel_elementwise(evaluator *ev, const term *t);

/* The matrix product T, its left operand computed a row at a time when it
   is inlined. */
const value *kernel_matmul(evaluator *ev, const term *t);

#endif
