/* eval.h: one evaluator walk over terms, in exact rationals, MPFR or IEEE double. */
#ifndef DC_EVAL_H
#define DC_EVAL_H

#include <gmp.h>
#include <mpfi.h>
#include <mpfr.h>
#include <stddef.h>

#include "base/mem.h"
#include "derivcheck.h"
#include "lang/model.h"
#include "lang/term.h"
#include "num/ball.h"

/* How the numbers of an evaluation are held and computed: GMP rationals
   (exact; no exp, log, tanh, sigmoid or softmax), MPFR at a chosen precision
   (round to nearest), IEEE double computing exactly the operations
   written, in the order written, or MPFI intervals at a chosen precision
   (each an enclosure of the exact value: rigorous, where MPFR's result is
   only close), or Arb's midpoint-radius balls at a chosen precision
   (enclosures as well, whose radius costs little: the certified numbers of
   eval, prove and error). */
typedef enum number_kind {
    NUMBER_EXACT,
    NUMBER_MPFR,
    NUMBER_DOUBLE,
    NUMBER_INTERVAL,
    NUMBER_BALL
} number_kind;

/* A matrix of numbers of one kind, row-major. rank 0: 1x1; rank 1 (NumPy 1-D
   of n): rows 1, cols n; rank 2: rows x cols. ENTRIES holds rows * cols
   mpq_t, mpfr_t, double, mpfi_t or arb_t as KIND says; reach them with eval_q,
   eval_fr, eval_d, eval_fi and eval_ball. MPFR entries use MPFR's custom interface (their
   significands lie in the value's own block): set them with any MPFR function, but never
   mpfr_clear, mpfr_set_prec or mpfr_swap them. */
typedef struct value {
    int rank;
    long rows, cols;
    number_kind kind;
    void *entries;
} value;

typedef struct evaluator evaluator;

/* The most entries one value may have: a bigger size is an error, not an
   attempt to allocate it. */
enum { EVAL_MAX_ENTRIES = 1 << 24 };

/* Ownership: an evaluator owns every value it hands out (results, copies of
   bindings, eval_new_value's), and clears their numbers in eval_free; their
   memory comes from POOL. Results of eval_term stay valid until the next
   eval_bind or eval_set_dim; eval_new_value's until eval_free. Values
   computed on the way to a result are released as soon as that evaluation
   has used them for the last time, except the values of named definitions
   that something other than another definition uses (A1 in Z2 = W2 @ A1),
   which are kept, like results, for later evaluations.
   Allocation failure: eval_term reports it as an error ("out of memory");
   the other functions that allocate (eval_new, eval_set_dim, eval_bind,
   eval_new_value) jump to POOL's on_oom target, as every pool user does, and
   leave the evaluator in a state eval_free can clear. */

/* A new evaluator of numbers of KIND. PREC_BITS is the precision of MPFR
   numbers and of intervals' endpoints, and is ignored for the other kinds.
   Returns NULL when KIND is NUMBER_MPFR, NUMBER_INTERVAL or NUMBER_BALL and PREC_BITS is
   outside [MPFR_PREC_MIN, MPFR_PREC_MAX]. */
evaluator *eval_new(mem_pool *pool, number_kind kind, long prec_bits);

/* Clear every GMP and MPFR number EV holds and release its memory to the
   pool. EV may be NULL. */
void eval_free(evaluator *ev);

number_kind eval_kind(const evaluator *ev);

/* Set the numeric size of the dim DIM (a SYM_DIM or SYM_BATCH) to N.
   Without it, a dim's size is dim->value; a dim with neither is an error
   when an evaluation needs it, and so is a size below 1. Invalidates every
   result of eval_term. */
void eval_set_dim(evaluator *ev, const symbol *dim, long n);

/* A new value of EV's kind, every entry 0, owned by EV until eval_free.
   Returns NULL when the sizes do not fit the rank (rank 0 is 1x1, rank 1 has
   one row) or exceed EVAL_MAX_ENTRIES. */
value *eval_new_value(evaluator *ev, int rank, long rows, long cols);

/* The entry (I, J) of V, or NULL when V does not hold numbers of that kind
   or (I, J) is outside it. */
mpq_t *eval_q(const value *v, long i, long j);
mpfr_t *eval_fr(const value *v, long i, long j);
double *eval_d(const value *v, long i, long j);
mpfi_t *eval_fi(const value *v, long i, long j);
arb_ptr eval_ball(const value *v, long i, long j);

/* Bind SYM (an input, label, param, definition or claim) to a copy of V,
   converted to EV's kind if V is of another (exact to double and MPFR
   rounds to nearest; exact to an interval encloses; double and MPFR to
   exact or to an interval is exact, and a NaN or an infinity is an error
   in exact when the symbol is used; exact to a ball encloses, the rest is
   exact). An interval V binds only in an interval evaluator, a ball only
   in a ball evaluator (elsewhere the binding is malformed). Binding a definition makes
   it a free variable: its definition is not evaluated. The binding's shape
   is checked against SYM's, in numeric sizes, when an evaluation uses it.
   Binding a dim is an error when it is used: dims take eval_set_dim.
   Replaces an earlier binding of SYM and invalidates every result of
   eval_term. */
void eval_bind(evaluator *ev, const symbol *sym, const value *v);

/* Evaluate T. Returns 1 with *OUT set to its value (owned by EV, the same
   pointer for the same term until the next eval_bind or eval_set_dim), or 0
   with the reason in WHY (WHYLEN bytes, truncated; WHY may be NULL): a
   symbol with no value ("no value for 'X'"), a binding of the wrong shape,
   a dim without a size, an operation the number kind cannot do (exp in
   exact mode), an exact division by zero or 0 to a negative power, or out
   of memory. MPFR and double follow IEEE semantics instead: NaN and
   infinities propagate and are not errors. Intervals follow MPFI's: an
   operation outside its domain somewhere in the interval (log of an
   interval reaching below 0) gives a NaN or an unbounded interval, and a
   comparison that differs across the intervals gives [0, 1]; but where the
   exact operands may meet a point without a value (a quotient by an
   interval holding 0 or of two reaching an infinity, 0 times an infinity,
   an infinity minus itself, 0 to a negative power) the result is NaN,
   never the limits MPFI would enclose, so no NaN becomes digits later. */
int eval_term(evaluator *ev, const term *t, const value **out, char *why, size_t whylen);

/* How EV's last eval_term ended: DC_OK with a value, DC_ENOMEM when memory
   ran out (its WHY says "out of memory", but callers test this code: one
   that must not take it for a term that cannot be evaluated jumps with
   mem_oom), DC_EINPUT for every other reason. DC_OK before the first. */
dc_status eval_status(const evaluator *ev);

/* eval_term for a caller whose pool has an allocation-failure target
   (mem_pool_on_oom): running out of memory jumps there (mem_oom on EV's
   pool) instead of returning 0, so a want of memory is never taken for a
   term that cannot be evaluated. */
int eval_term_or_oom(evaluator *ev, const term *t, const value **out, char *why, size_t whylen);

/* PROGRESS (NULL: none) is called with CTX after each term EV computes,
   with its multiply-adds weighted as eval_estimate weighs them, so that a
   caller can compare the sum with an estimate's work. */
void eval_set_progress(evaluator *ev, void (*progress)(void *ctx, double work), void *ctx);

/* The numeric rows and cols of T's value at EV's sizes (rank 1 [n] is
   1 x n), or 0 when a size is unknown or too big. Computes nothing. */
int eval_term_sizes(evaluator *ev, const term *t, long *rows, long *cols);

/* Whether SYM has a binding in EV (a definition bound is a free variable). */
int eval_is_bound(const evaluator *ev, const symbol *sym);

/* What an evaluation costs, estimated from the shapes at the sizes set
   and the precision before anything is allocated (eval_estimate). */
typedef struct eval_cost {
    double bytes; /* memory of the values held at once (an upper bound: see eval_estimate) */
    double work;  /* multiply-adds, weighted (see eval_estimate) */
} eval_cost;

/* The caps on one command's estimated cost, and the environment variables
   that raise them (read by eval_caps, their one home; docs/limits.md). */
#define EVAL_MAX_MEMORY_ENV "DERIVCHECK_MAX_MEMORY"
#define EVAL_MAX_WORK_ENV "DERIVCHECK_MAX_WORK"
#define EVAL_MAX_MEMORY ((double)(2L << 30))     /* 2 GiB */
#define EVAL_MAX_WORK 1e11                       /* multiply-adds */
#define EVAL_CEILING_MEMORY ((double)(1L << 40)) /* what the variables may raise them to */
#define EVAL_CEILING_WORK 1e15

/* Add to *COST the cost of evaluating ROOTS (N terms) in turn in EV at the
   dims' sizes EV has now (eval_set_dim, else the declared ones), with
   every input, label and param of M (NULL: none) bound, before anything
   is evaluated or bound. Memory: the bound values of M's inputs, labels
   and params, and every value the evaluations' plans store (not those
   computed inside a consumer), as if all were held at once, and, for
   balls, the operands of the largest matrix product once more (Arb copies
   them into integer matrices while it multiplies): meant as an upper
   bound of what the evaluator holds, for the plan releases values after
   their last use (docs/limits.md compares it with measured peaks). Each
   number's heap blocks are counted with malloc's and mem.c's headers. Bytes per entry by the kind
   of number at EV's precision: a double 8; an MPFR number its struct and significand; an Arb ball
   its struct, and beyond 128 bits its significand on the heap; an MPFI interval two MPFR numbers;
   an exact rational a struct and two one-limb integers (what a drawn k / 2^30 needs: the estimate
   assumes exact evaluation at small sizes, where rationals stay small). Work: a matrix product r x
   k @ k x c costs r*k*c multiply-adds, an elementwise operation, a sum or a broadcast one per
   entry, exp, log, tanh, sigmoid, sqrt, log1p, a non-integer power and softmax
   EVAL_TRANSCENDENTAL_WORK per entry; each counts once per 256 bits of
   precision begun (MPFR, balls; an interval twice). Returns 0 when a
   size is unknown or a value exceeds EVAL_MAX_ENTRIES: the evaluation
   itself then reports what is wrong, and nothing is added. */
enum { EVAL_TRANSCENDENTAL_WORK = 32 };
int eval_estimate(evaluator *ev, const model *m, const term *const *roots, size_t n,
                  eval_cost *cost);

/* The bytes of one entry of KIND at PREC bits, as eval_estimate counts them. */
double eval_entry_bytes(number_kind kind, long prec);

/* The caps of this process into *CAPS: EVAL_MAX_MEMORY and EVAL_MAX_WORK,
   or the environment variables' values (a whole number, with an optional
   suffix: K, M, G or T, powers of 1024 for memory and of 1000 for work),
   from 1 to the ceilings. 0 with ERR filled (its strings in POOL) when a
   variable holds something else. */
int eval_caps(eval_cost *caps, dc_error *err, mem_pool *pool);

/* Whether COST is within CAPS: 1, or 0 with ERR filled (DC_ELIMIT) naming
   WHAT ("evaluating the loss and gradients of F at n = 4096, 256 bits"),
   the estimate, the cap, the variable that raises it and what the user
   may do INSTEAD ("evaluate at smaller sizes or a lower precision"). */
int eval_within_caps(const eval_cost *cost, const eval_cost *caps, const char *what,
                     const char *instead, dc_error *err, mem_pool *pool);

/* For tests: how many numbers EV holds now in values of any kind (results,
   kept definitions, bindings, eval_new_value's), not counting its own
   scratch numbers. */
size_t eval_live_entries(const evaluator *ev);

#endif
