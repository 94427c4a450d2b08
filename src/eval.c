/* eval.c: the evaluator walk, written once, over three arithmetic tables; see eval.h. */
#include "eval.h"

#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

/* ---------------------------------------------------------------- tables */

/* What an operation of a table can report. Only the exact table reports
   anything but ARITH_OK: MPFR and double give NaN or an infinity instead. */
typedef enum arith_status {
    ARITH_OK,
    ARITH_DIV_ZERO,
    ARITH_POW_FRACTION,      /* a non-integer exponent */
    ARITH_POW_ZERO_NEGATIVE, /* 0 to a negative power */
    ARITH_POW_HUGE,          /* a result beyond EXACT_POW_MAX_BITS */
} arith_status;

/* The size of an exact power's result is capped, so that 2^(10^12) is an
   error rather than an exhausted machine. */
enum { EXACT_POW_MAX_BITS = 1 << 24 };

/* The operations the walk needs of a kind of number. Each takes pointers to
   elements of SIZE bytes; a result may alias an operand. A NULL exp, log or
   tanh means the kind cannot compute it. */
typedef struct arith {
    number_kind kind;
    size_t size;
    int shift_softmax; /* subtract a slice's max before exp, as careful double code does */
    void (*init)(void *x, long prec); /* to 0 */
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
    int (*gt)(const void *a, const void *b); /* a > b; 0 when either is NaN */
    int (*ge)(const void *a, const void *b); /* a >= b; 0 when either is NaN */
    int (*is_nan)(const void *a);
} arith;

/* ---- exact: GMP rationals ---- */

#define Q(p) (*(mpq_t *)(p))
#define CQ(p) (*(const mpq_t *)(p))

static void
q_init(void *x, long prec)
{
    (void)prec;
    mpq_init(Q(x));
}

static void
q_clear(void *x)
{
    mpq_clear(Q(x));
}

static void
q_set(void *r, const void *a)
{
    mpq_set(Q(r), CQ(a));
}

static void
q_set_si(void *r, long n)
{
    mpq_set_si(Q(r), n, 1);
}

static void
q_set_q(void *r, const mpq_t q)
{
    mpq_set(Q(r), q);
}

static void
q_add(void *r, const void *a, const void *b)
{
    mpq_add(Q(r), CQ(a), CQ(b));
}

static void
q_sub(void *r, const void *a, const void *b)
{
    mpq_sub(Q(r), CQ(a), CQ(b));
}

static void
q_mul(void *r, const void *a, const void *b)
{
    mpq_mul(Q(r), CQ(a), CQ(b));
}

static void
q_neg(void *r, const void *a)
{
    mpq_neg(Q(r), CQ(a));
}

static int
q_gt(const void *a, const void *b)
{
    return mpq_cmp(CQ(a), CQ(b)) > 0;
}

static int
q_ge(const void *a, const void *b)
{
    return mpq_cmp(CQ(a), CQ(b)) >= 0;
}

static int
q_is_nan(const void *a)
{
    (void)a;
    return 0;
}

static arith_status
q_div(void *r, const void *a, const void *b)
{
    if (mpq_sgn(CQ(b)) == 0)
        return ARITH_DIV_ZERO;
    mpq_div(Q(r), CQ(a), CQ(b));
    return ARITH_OK;
}

/* a^b for an integer b; a negative b is the reciprocal of a^-b. */
static arith_status
q_pow(void *r, const void *a, const void *b)
{
    if (mpz_cmp_ui(mpq_denref(CQ(b)), 1) != 0)
        return ARITH_POW_FRACTION;
    mpz_srcptr e = mpq_numref(CQ(b));
    int negative = mpz_sgn(e) < 0;
    if (negative && mpq_sgn(CQ(a)) == 0)
        return ARITH_POW_ZERO_NEGATIVE;
    if (mpz_sgn(e) == 0) {
        mpq_set_ui(Q(r), 1, 1);
        return ARITH_OK;
    }
    /* the result has about |e| times the bits of the base beyond 1 */
    size_t per =
        mpz_sizeinbase(mpq_numref(CQ(a)), 2) - 1 + mpz_sizeinbase(mpq_denref(CQ(a)), 2) - 1;
    if (per == 0) { /* 0, 1 or -1: only the parity of e matters */
        if (mpz_even_p(e))
            mpq_mul(Q(r), CQ(a), CQ(a));
        else
            mpq_set(Q(r), CQ(a));
        if (negative)
            mpq_inv(Q(r), Q(r));
        return ARITH_OK;
    }
    if (mpz_cmpabs_ui(e, EXACT_POW_MAX_BITS / per) > 0)
        return ARITH_POW_HUGE;
    unsigned long n = mpz_get_ui(e); /* |e| */
    mpz_pow_ui(mpq_numref(Q(r)), mpq_numref(CQ(a)), n);
    mpz_pow_ui(mpq_denref(Q(r)), mpq_denref(CQ(a)), n);
    if (negative)
        mpq_inv(Q(r), Q(r));
    return ARITH_OK;
}

static const arith exact_arith = {
    .kind = NUMBER_EXACT,
    .size = sizeof(mpq_t),
    .shift_softmax = 0,
    .init = q_init,
    .clear = q_clear,
    .set = q_set,
    .set_si = q_set_si,
    .set_q = q_set_q,
    .add = q_add,
    .sub = q_sub,
    .mul = q_mul,
    .div = q_div,
    .pow = q_pow,
    .neg = q_neg,
    /* exp, log and tanh are not rational: NULL */
    .gt = q_gt,
    .ge = q_ge,
    .is_nan = q_is_nan,
};

/* ---- MPFR at the evaluator's precision, rounding to nearest ---- */

#define F(p) (*(mpfr_t *)(p))
#define CF(p) (*(const mpfr_t *)(p))

static void
fr_init(void *x, long prec)
{
    mpfr_init2(F(x), (mpfr_prec_t)prec);
    mpfr_set_zero(F(x), 1);
}

static void
fr_clear(void *x)
{
    mpfr_clear(F(x));
}

static void
fr_set(void *r, const void *a)
{
    mpfr_set(F(r), CF(a), MPFR_RNDN);
}

static void
fr_set_si(void *r, long n)
{
    mpfr_set_si(F(r), n, MPFR_RNDN);
}

static void
fr_set_q(void *r, const mpq_t q)
{
    mpfr_set_q(F(r), q, MPFR_RNDN);
}

static void
fr_add(void *r, const void *a, const void *b)
{
    mpfr_add(F(r), CF(a), CF(b), MPFR_RNDN);
}

static void
fr_sub(void *r, const void *a, const void *b)
{
    mpfr_sub(F(r), CF(a), CF(b), MPFR_RNDN);
}

static void
fr_mul(void *r, const void *a, const void *b)
{
    mpfr_mul(F(r), CF(a), CF(b), MPFR_RNDN);
}

static void
fr_neg(void *r, const void *a)
{
    mpfr_neg(F(r), CF(a), MPFR_RNDN);
}

static void
fr_exp(void *r, const void *a)
{
    mpfr_exp(F(r), CF(a), MPFR_RNDN);
}

static void
fr_log(void *r, const void *a)
{
    mpfr_log(F(r), CF(a), MPFR_RNDN);
}

static void
fr_tanh(void *r, const void *a)
{
    mpfr_tanh(F(r), CF(a), MPFR_RNDN);
}

static int
fr_gt(const void *a, const void *b)
{
    return mpfr_greater_p(CF(a), CF(b));
}

static int
fr_ge(const void *a, const void *b)
{
    return mpfr_greaterequal_p(CF(a), CF(b));
}

static int
fr_is_nan(const void *a)
{
    return mpfr_nan_p(CF(a));
}

static arith_status
fr_div(void *r, const void *a, const void *b)
{
    mpfr_div(F(r), CF(a), CF(b), MPFR_RNDN);
    return ARITH_OK;
}

static arith_status
fr_pow(void *r, const void *a, const void *b)
{
    if (mpfr_integer_p(CF(b)) && mpfr_fits_slong_p(CF(b), MPFR_RNDN))
        mpfr_pow_si(F(r), CF(a), mpfr_get_si(CF(b), MPFR_RNDN), MPFR_RNDN);
    else
        mpfr_pow(F(r), CF(a), CF(b), MPFR_RNDN);
    return ARITH_OK;
}

static const arith mpfr_arith = {
    .kind = NUMBER_MPFR,
    .size = sizeof(mpfr_t),
    .shift_softmax = 0,
    .init = fr_init,
    .clear = fr_clear,
    .set = fr_set,
    .set_si = fr_set_si,
    .set_q = fr_set_q,
    .add = fr_add,
    .sub = fr_sub,
    .mul = fr_mul,
    .div = fr_div,
    .pow = fr_pow,
    .neg = fr_neg,
    .exp = fr_exp,
    .log = fr_log,
    .tanh = fr_tanh,
    .gt = fr_gt,
    .ge = fr_ge,
    .is_nan = fr_is_nan,
};

/* ---- IEEE double: one operation per call, so nothing is contracted or
   reassociated (the build passes -ffp-contract=off as well) ---- */

#define D(p) (*(double *)(p))
#define CD(p) (*(const double *)(p))

/* Q correctly rounded to the nearest double, subnormals included (mpq_get_d
   truncates). */
static double
q_to_double(const mpq_t q)
{
    mpfr_exp_t emin = mpfr_get_emin(), emax = mpfr_get_emax();
    mpfr_set_emin(-1073); /* the double format, in MPFR's convention */
    mpfr_set_emax(1024);
    mpfr_t x;
    mpfr_init2(x, 53);
    int inexact = mpfr_set_q(x, q, MPFR_RNDN);
    mpfr_subnormalize(x, inexact, MPFR_RNDN);
    double d = mpfr_get_d(x, MPFR_RNDN);
    mpfr_clear(x);
    mpfr_set_emin(emin);
    mpfr_set_emax(emax);
    return d;
}

static void
d_init(void *x, long prec)
{
    (void)prec;
    D(x) = 0.0;
}

static void
d_clear(void *x)
{
    (void)x;
}

static void
d_set(void *r, const void *a)
{
    D(r) = CD(a);
}

static void
d_set_si(void *r, long n)
{
    D(r) = (double)n;
}

static void
d_set_q(void *r, const mpq_t q)
{
    D(r) = q_to_double(q);
}

static void
d_add(void *r, const void *a, const void *b)
{
    D(r) = CD(a) + CD(b);
}

static void
d_sub(void *r, const void *a, const void *b)
{
    D(r) = CD(a) - CD(b);
}

static void
d_mul(void *r, const void *a, const void *b)
{
    D(r) = CD(a) * CD(b);
}

static void
d_neg(void *r, const void *a)
{
    D(r) = -CD(a);
}

static void
d_exp(void *r, const void *a)
{
    D(r) = exp(CD(a));
}

static void
d_log(void *r, const void *a)
{
    D(r) = log(CD(a));
}

static void
d_tanh(void *r, const void *a)
{
    D(r) = tanh(CD(a));
}

static int
d_gt(const void *a, const void *b)
{
    return CD(a) > CD(b);
}

static int
d_ge(const void *a, const void *b)
{
    return CD(a) >= CD(b);
}

static int
d_is_nan(const void *a)
{
    return isnan(CD(a));
}

static arith_status
d_div(void *r, const void *a, const void *b)
{
    D(r) = CD(a) / CD(b);
    return ARITH_OK;
}

static arith_status
d_pow(void *r, const void *a, const void *b)
{
    D(r) = pow(CD(a), CD(b));
    return ARITH_OK;
}

static const arith double_arith = {
    .kind = NUMBER_DOUBLE,
    .size = sizeof(double),
    .shift_softmax = 1,
    .init = d_init,
    .clear = d_clear,
    .set = d_set,
    .set_si = d_set_si,
    .set_q = d_set_q,
    .add = d_add,
    .sub = d_sub,
    .mul = d_mul,
    .div = d_div,
    .pow = d_pow,
    .neg = d_neg,
    .exp = d_exp,
    .log = d_log,
    .tanh = d_tanh,
    .gt = d_gt,
    .ge = d_ge,
    .is_nan = d_is_nan,
};

static const arith *
arith_of(number_kind kind)
{
    switch (kind) {
    case NUMBER_EXACT:
        return &exact_arith;
    case NUMBER_MPFR:
        return &mpfr_arith;
    case NUMBER_DOUBLE:
        return &double_arith;
    }
    return NULL;
}

/* ---------------------------------------------------------------- state */

/* Who keeps a value alive: the caller (eval_new_value, until eval_free), a
   binding (until it is replaced), a result (until the next invalidation),
   or the walk's scratch numbers. */
typedef enum held_role { HELD_USER, HELD_BINDING, HELD_RESULT, HELD_SCRATCH } held_role;

/* A value whose numbers are initialised. Every one is on the evaluator's
   list from the moment its numbers exist, so eval_free can clear them
   whatever jump happened. */
typedef struct held {
    value v; /* first: a value handed out is a held */
    held_role role;
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

typedef struct memo_slot {
    const term *t;
    const value *v;
} memo_slot;

/* Scratch numbers of the walk: the constants 0 and 1 and three temporaries. */
enum { SCRATCH_ZERO, SCRATCH_ONE, SCRATCH_T0, SCRATCH_T1, SCRATCH_T2, SCRATCH_COUNT };

enum { EVAL_WHY = 320 };

struct evaluator {
    mem_pool *pool;
    const arith *ar;
    long prec;
    held live; /* sentinel of the list of every held value */
    held *scratch;
    binding *bindings;
    size_t nbindings, bindings_cap;
    dim_size *dims;
    size_t ndims, dims_cap;
    memo_slot *memo; /* open addressing by term hash; size a power of 2 */
    size_t memo_size, memo_count;
    const value *result; /* of the running eval_term, kept here across its setjmp */
    char why[EVAL_WHY];
};

static size_t
size_of_kind(number_kind kind)
{
    return kind == NUMBER_EXACT  ? sizeof(mpq_t)
           : kind == NUMBER_MPFR ? sizeof(mpfr_t)
                                 : sizeof(double);
}

/* Element K of V in row-major order. */
static void *
element(const evaluator *ev, const value *v, long k)
{
    return (char *)v->entries + (size_t)k * ev->ar->size;
}

static void *
scratch(const evaluator *ev, int k)
{
    return element(ev, &ev->scratch->v, k);
}

/* Record why the evaluation fails; returns NULL for the caller to return. */
static const value *fail(evaluator *ev, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static const value *
fail(evaluator *ev, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(ev->why, sizeof ev->why, fmt, ap);
    va_end(ap);
    return NULL;
}

/* ---------------------------------------------------------------- values */

/* A new value of EV's kind with every entry 0, on the list under ROLE. The
   sizes must have been checked. The allocations come first, so a jump out
   of them leaves no number uncleared. */
static held *
new_held(evaluator *ev, held_role role, int rank, long rows, long cols)
{
    size_t n = (size_t)rows * (size_t)cols;
    held *h = mem_alloc(ev->pool, sizeof *h);
    char *entries = mem_alloc(ev->pool, n * ev->ar->size);
    for (size_t k = 0; k < n; k++)
        ev->ar->init(entries + k * ev->ar->size, ev->prec);
    h->v.rank = rank;
    h->v.rows = rows;
    h->v.cols = cols;
    h->v.kind = ev->ar->kind;
    h->v.entries = entries;
    h->role = role;
    h->prev = &ev->live;
    h->next = ev->live.next;
    ev->live.next->prev = h;
    ev->live.next = h;
    return h;
}

static void
drop_held(evaluator *ev, held *h)
{
    h->prev->next = h->next;
    h->next->prev = h->prev;
    long n = h->v.rows * h->v.cols;
    for (long k = 0; k < n; k++)
        ev->ar->clear(element(ev, &h->v, k));
    mem_release(ev->pool, h->v.entries);
    mem_release(ev->pool, h);
}

/* Forget every result of eval_term: their values and the memo. */
static void
invalidate(evaluator *ev)
{
    for (held *h = ev->live.next, *next; h != &ev->live; h = next) {
        next = h->next;
        if (h->role == HELD_RESULT)
            drop_held(ev, h);
    }
    memset(ev->memo, 0, ev->memo_size * sizeof *ev->memo);
    ev->memo_count = 0;
}

/* Whether RANK, ROWS and COLS describe a value: rank 0 is 1x1, rank 1 one
   row, and at most EVAL_MAX_ENTRIES entries. */
static int
sizes_fit(int rank, long rows, long cols)
{
    if (rank < 0 || rank > 2 || rows < 1 || cols < 1)
        return 0;
    if ((rank == 0 && (rows != 1 || cols != 1)) || (rank == 1 && rows != 1))
        return 0;
    return rows <= EVAL_MAX_ENTRIES && cols <= EVAL_MAX_ENTRIES / rows;
}

/* ---------------------------------------------------------------- sizes */

/* The numeric size of D into *N, or 0 with the reason. */
static int
dim_size_of(evaluator *ev, dim d, long *n)
{
    if (d.sym == NULL) {
        *n = d.n;
        return 1;
    }
    long v = d.sym->value;
    int set = 0;
    for (size_t i = 0; i < ev->ndims; i++)
        if (ev->dims[i].sym == d.sym) {
            v = ev->dims[i].n;
            set = 1;
        }
    if (v < 1) {
        if (set)
            fail(ev, "the dim '%s' is set to %ld; a size must be at least 1", d.sym->name, v);
        else
            fail(ev, "the dim '%s' has no numeric size; give it one (dims %s = N)", d.sym->name,
                 d.sym->name);
        return 0;
    }
    *n = v;
    return 1;
}

/* The numeric rows and cols of shape S (rank 1 [n] is 1 x n), or 0 with
   the reason. */
static int
numeric_shape(evaluator *ev, const shape *s, long *rows, long *cols)
{
    long d0 = 1, d1 = 1;
    if (s->rank >= 1 && !dim_size_of(ev, s->d[0], &d0))
        return 0;
    if (s->rank == 2 && !dim_size_of(ev, s->d[1], &d1))
        return 0;
    *rows = s->rank == 2 ? d0 : 1;
    *cols = s->rank == 2 ? d1 : s->rank == 1 ? d0 : 1;
    if (!sizes_fit(s->rank, *rows, *cols)) {
        fail(ev, "a %ld x %ld value has more entries than the cap of %d", *rows, *cols,
             EVAL_MAX_ENTRIES);
        return 0;
    }
    return 1;
}

/* A result of T's shape, zero-filled, or NULL with the reason. */
static held *
new_result(evaluator *ev, const term *t)
{
    long rows, cols;
    if (!numeric_shape(ev, &t->shape, &rows, &cols))
        return NULL;
    return new_held(ev, HELD_RESULT, t->shape.rank, rows, cols);
}

/* "[n_h, m]" for a symbolic shape and "[4, 8]" for a value's sizes, in
   messages. */
static const char *
shape_words(const shape *s, char *buf, size_t size)
{
    const char *a = s->d[0].sym ? s->d[0].sym->name : NULL;
    const char *b = s->d[1].sym ? s->d[1].sym->name : NULL;
    char x[24], y[24];
    snprintf(x, sizeof x, "%ld", s->d[0].n);
    snprintf(y, sizeof y, "%ld", s->d[1].n);
    if (s->rank == 0)
        snprintf(buf, size, "scalar");
    else if (s->rank == 1)
        snprintf(buf, size, "[%s]", a ? a : x);
    else
        snprintf(buf, size, "[%s, %s]", a ? a : x, b ? b : y);
    return buf;
}

static const char *
value_words(int rank, long rows, long cols, char *buf, size_t size)
{
    if (rank == 0)
        snprintf(buf, size, "scalar");
    else if (rank == 1)
        snprintf(buf, size, "[%ld]", cols);
    else
        snprintf(buf, size, "[%ld, %ld]", rows, cols);
    return buf;
}

/* ---------------------------------------------------------------- memo */

static const value *
memo_get(const evaluator *ev, const term *t)
{
    size_t mask = ev->memo_size - 1;
    for (size_t i = t->hash & mask;; i = (i + 1) & mask) {
        if (ev->memo[i].t == t)
            return ev->memo[i].v;
        if (ev->memo[i].t == NULL)
            return NULL;
    }
}

static void
memo_insert(memo_slot *slots, size_t size, const term *t, const value *v)
{
    size_t i = t->hash & (size - 1);
    while (slots[i].t != NULL)
        i = (i + 1) & (size - 1);
    slots[i].t = t;
    slots[i].v = v;
}

static void
memo_put(evaluator *ev, const term *t, const value *v)
{
    if (2 * (ev->memo_count + 1) > ev->memo_size) {
        size_t size = 2 * ev->memo_size;
        memo_slot *slots = mem_zalloc(ev->pool, size * sizeof *slots);
        for (size_t i = 0; i < ev->memo_size; i++)
            if (ev->memo[i].t != NULL)
                memo_insert(slots, size, ev->memo[i].t, ev->memo[i].v);
        mem_release(ev->pool, ev->memo);
        ev->memo = slots;
        ev->memo_size = size;
    }
    memo_insert(ev->memo, ev->memo_size, t, v);
    ev->memo_count++;
}

/* ---------------------------------------------------------------- the walk */

/* Entries of a value seen as a ROWS x COLS matrix: entry (i, j) is element
   i * si + j * sj. Broadcasting is a zero stride, a transpose swapped ones. */
typedef struct view {
    const value *v;
    long si, sj;
} view;

static const void *
at(const evaluator *ev, const view *w, long i, long j)
{
    return element(ev, w->v, i * w->si + j * w->sj);
}

/* V broadcast NumPy's way to ROWS x COLS (right-aligned: a rank-1 [n] is
   [1, n]; a size 1 repeats), or 0 with the reason. */
static int
broadcast_view(evaluator *ev, view *w, const value *v, long rows, long cols)
{
    if ((v->rows != rows && v->rows != 1) || (v->cols != cols && v->cols != 1)) {
        char a[64];
        fail(ev, "internal error: a %s value cannot broadcast to %ld x %ld",
             value_words(v->rank, v->rows, v->cols, a, sizeof a), rows, cols);
        return 0;
    }
    w->v = v;
    w->si = v->rows == 1 ? 0 : v->cols;
    w->sj = v->cols == 1 ? 0 : 1;
    return 1;
}

static const value *evaluate(evaluator *ev, const term *t);

/* The reason for a failed exact operation at entry (I, J) of T. */
static const value *
arith_failure(evaluator *ev, arith_status st, long i, long j)
{
    switch (st) {
    case ARITH_DIV_ZERO:
        return fail(ev, "division by zero in exact evaluation (entry [%ld, %ld] of a quotient)", i,
                    j);
    case ARITH_POW_FRACTION:
        return fail(ev, "a power with a non-integer exponent is not rational: exact evaluation "
                        "needs integer exponents (evaluate in MPFR)");
    case ARITH_POW_ZERO_NEGATIVE:
        return fail(ev, "0 to a negative power in exact evaluation (entry [%ld, %ld])", i, j);
    case ARITH_POW_HUGE:
        return fail(ev, "an exact power too large to compute (over %d bits)", EXACT_POW_MAX_BITS);
    case ARITH_OK:
        break;
    }
    return NULL;
}

/* One entry of a two-argument elementwise operation. */
static arith_status
apply2(const evaluator *ev, const term *t, void *r, const void *a, const void *b)
{
    const arith *ar = ev->ar;
    switch (t->op) {
    case OP_ADD:
        ar->add(r, a, b);
        return ARITH_OK;
    case OP_MUL:
        ar->mul(r, a, b);
        return ARITH_OK;
    case OP_DIV:
        return ar->div(r, a, b);
    case OP_POW:
        return ar->pow(r, a, b);
    default: /* OP_STEP */
        ar->set_si(r, t->aux ? ar->ge(a, b) : ar->gt(a, b));
        return ARITH_OK;
    }
}

static const value *
elementwise2(evaluator *ev, const term *t)
{
    const value *a = evaluate(ev, t->args[0]), *b = a ? evaluate(ev, t->args[1]) : NULL;
    held *r = b ? new_result(ev, t) : NULL;
    view wa, wb;
    if (r == NULL || !broadcast_view(ev, &wa, a, r->v.rows, r->v.cols) ||
        !broadcast_view(ev, &wb, b, r->v.rows, r->v.cols))
        return NULL;
    for (long i = 0; i < r->v.rows; i++)
        for (long j = 0; j < r->v.cols; j++) {
            arith_status st = apply2(ev, t, element(ev, &r->v, i * r->v.cols + j),
                                     at(ev, &wa, i, j), at(ev, &wb, i, j));
            if (st != ARITH_OK) {
                drop_held(ev, r);
                return arith_failure(ev, st, i, j);
            }
        }
    return &r->v;
}

/* One entry of a one-argument elementwise operation; R is not A. */
static void
apply1(const evaluator *ev, term_op op, void *r, const void *a)
{
    const arith *ar = ev->ar;
    void *t = scratch(ev, SCRATCH_T0);
    switch (op) {
    case OP_NEG:
        ar->neg(r, a);
        break;
    case OP_EXP:
        ar->exp(r, a);
        break;
    case OP_LOG:
        ar->log(r, a);
        break;
    case OP_TANH:
        ar->tanh(r, a);
        break;
    case OP_SIGMOID: /* 1 / (1 + exp(-a)), one operation at a time */
        ar->neg(t, a);
        ar->exp(t, t);
        ar->add(t, scratch(ev, SCRATCH_ONE), t);
        ar->div(r, scratch(ev, SCRATCH_ONE), t);
        break;
    default: /* OP_RELU: a > 0 ? a : 0, and NaN stays NaN as in np.maximum */
        if (ar->is_nan(a) || ar->gt(a, scratch(ev, SCRATCH_ZERO)))
            ar->set(r, a);
        else
            ar->set_si(r, 0);
        break;
    }
}

/* Whether EV's numbers can compute OP; the reason when not. */
static int
can_compute(evaluator *ev, term_op op)
{
    if (ev->ar->exp != NULL)
        return 1;
    fail(ev,
         "exact evaluation cannot compute %s (its values are not rational): bind the "
         "definition that uses it as a free variable, or evaluate in MPFR",
         term_op_name(op));
    return 0;
}

static const value *
elementwise1(evaluator *ev, const term *t)
{
    if (t->op != OP_NEG && t->op != OP_RELU && !can_compute(ev, t->op))
        return NULL;
    const value *a = evaluate(ev, t->args[0]);
    held *r = a ? new_result(ev, t) : NULL;
    if (r == NULL)
        return NULL;
    if (a->rows != r->v.rows || a->cols != r->v.cols)
        return fail(ev, "internal error: %s of a value of another size", term_op_name(t->op));
    for (long k = 0; k < a->rows * a->cols; k++)
        apply1(ev, t->op, element(ev, &r->v, k), element(ev, a, k));
    return &r->v;
}

/* Softmax of the LEN entries first, first + step, ... of A into R (the same
   places). Double code subtracts the slice's max first, so that exp cannot
   overflow; MPFR computes exp(z) / sum(exp(z)) as written. */
static void
softmax_slice(const evaluator *ev, value *r, const value *a, long first, long step, long len)
{
    const arith *ar = ev->ar;
    void *max = scratch(ev, SCRATCH_T1), *sum = scratch(ev, SCRATCH_T2);
    if (ar->shift_softmax) {
        ar->set(max, element(ev, a, first));
        for (long k = 1; k < len; k++)
            if (ar->gt(element(ev, a, first + k * step), max))
                ar->set(max, element(ev, a, first + k * step));
    }
    for (long k = 0; k < len; k++) {
        void *e = element(ev, r, first + k * step);
        if (ar->shift_softmax) {
            ar->sub(e, element(ev, a, first + k * step), max);
            ar->exp(e, e);
        } else
            ar->exp(e, element(ev, a, first + k * step));
    }
    ar->set(sum, element(ev, r, first));
    for (long k = 1; k < len; k++)
        ar->add(sum, sum, element(ev, r, first + k * step));
    for (long k = 0; k < len; k++)
        ar->div(element(ev, r, first + k * step), element(ev, r, first + k * step), sum);
}

static const value *
softmax(evaluator *ev, const term *t)
{
    if (!can_compute(ev, t->op))
        return NULL;
    const value *a = evaluate(ev, t->args[0]);
    held *r = a ? new_result(ev, t) : NULL;
    if (r == NULL)
        return NULL;
    if (a->rows != r->v.rows || a->cols != r->v.cols)
        return fail(ev, "internal error: softmax of a value of another size");
    if (t->args[0]->shape.rank == 2 && t->aux == 0) /* down each column */
        for (long j = 0; j < a->cols; j++)
            softmax_slice(ev, &r->v, a, j, a->cols, a->rows);
    else /* along each row; a 1-D value is one row */
        for (long i = 0; i < a->rows; i++)
            softmax_slice(ev, &r->v, a, i * a->cols, 1, a->cols);
    return &r->v;
}

/* The matrix product with NumPy's 1-D rules: a 1-D left operand is a row,
   a 1-D right operand a column, and the result drops that axis. Each entry
   accumulates its products left to right. */
static const value *
matmul(evaluator *ev, const term *t)
{
    const value *a = evaluate(ev, t->args[0]), *b = a ? evaluate(ev, t->args[1]) : NULL;
    held *r = b ? new_result(ev, t) : NULL;
    if (r == NULL)
        return NULL;
    long rows = a->rows, inner = a->cols, cols = b->rank == 1 ? 1 : b->cols;
    view wa = {a, a->cols, 1};
    view wb = {b, b->rank == 1 ? 1 : b->cols, b->rank == 1 ? 0 : 1};
    if ((b->rank == 1 ? b->cols : b->rows) != inner || rows * cols != r->v.rows * r->v.cols)
        return fail(ev, "internal error: matrix product of values of unfitting sizes");
    const arith *ar = ev->ar;
    void *product = scratch(ev, SCRATCH_T0);
    for (long i = 0; i < rows; i++)
        for (long j = 0; j < cols; j++) {
            void *acc = element(ev, &r->v, i * cols + j);
            ar->mul(acc, at(ev, &wa, i, 0), at(ev, &wb, 0, j));
            for (long k = 1; k < inner; k++) {
                ar->mul(product, at(ev, &wa, i, k), at(ev, &wb, k, j));
                ar->add(acc, acc, product);
            }
        }
    return &r->v;
}

static const value *
transpose(evaluator *ev, const term *t)
{
    const value *a = evaluate(ev, t->args[0]);
    held *r = a ? new_result(ev, t) : NULL;
    if (r == NULL)
        return NULL;
    if (r->v.rows * r->v.cols != a->rows * a->cols)
        return fail(ev, "internal error: transpose of a value of another size");
    /* entry (i, j) is a's (j, i); a 1-D or scalar value is its own
       transpose, as in NumPy */
    view w = a->rank == 2 ? (view){a, 1, a->cols} : (view){a, a->cols, 1};
    for (long i = 0; i < r->v.rows; i++)
        for (long j = 0; j < r->v.cols; j++)
            ev->ar->set(element(ev, &r->v, i * r->v.cols + j), at(ev, &w, i, j));
    return &r->v;
}

/* Sum LEN entries of A from FIRST by STEP, left to right, into R. */
static void
sum_run(const evaluator *ev, void *r, const value *a, long first, long step, long len)
{
    ev->ar->set(r, element(ev, a, first));
    for (long k = 1; k < len; k++)
        ev->ar->add(r, r, element(ev, a, first + k * step));
}

/* A sum over axis 0 (down columns), 1 (along rows) or every entry (-1).
   Whatever keepdims says, the results lie in the same row-major order. */
static const value *
sum(evaluator *ev, const term *t)
{
    const value *a = evaluate(ev, t->args[0]);
    held *r = a ? new_result(ev, t) : NULL;
    if (r == NULL)
        return NULL;
    int along_rows = t->aux == 1 || (t->aux == 0 && t->args[0]->shape.rank < 2);
    long n = r->v.rows * r->v.cols;
    if (t->aux < 0 && n == 1)
        sum_run(ev, element(ev, &r->v, 0), a, 0, 1, a->rows * a->cols);
    else if (along_rows && n == a->rows)
        for (long i = 0; i < a->rows; i++)
            sum_run(ev, element(ev, &r->v, i), a, i * a->cols, 1, a->cols);
    else if (t->aux == 0 && !along_rows && n == a->cols)
        for (long j = 0; j < a->cols; j++)
            sum_run(ev, element(ev, &r->v, j), a, j, a->cols, a->rows);
    else
        return fail(ev, "internal error: sum to a value of the wrong size");
    return &r->v;
}

/* ARG repeated to T's shape: the inverse of a sum over axis t->aux, or
   NumPy's broadcasting when aux is -1 or the sum kept its dims. */
static const value *
broadcast(evaluator *ev, const term *t)
{
    const value *a = evaluate(ev, t->args[0]);
    held *r = a ? new_result(ev, t) : NULL;
    if (r == NULL)
        return NULL;
    view w;
    int arg_rank = t->args[0]->shape.rank;
    if (t->aux < 0 || arg_rank == t->shape.rank) {
        if (!broadcast_view(ev, &w, a, r->v.rows, r->v.cols))
            return NULL;
    } else if (t->shape.rank == 2 && arg_rank == 1) {
        /* axis 0 removed: a[j] fills column j; axis 1 removed: a[i] fills row i */
        w = t->aux == 0 ? (view){a, 0, 1} : (view){a, 1, 0};
        if (a->cols != (t->aux == 0 ? r->v.cols : r->v.rows))
            return fail(ev, "internal error: broadcast of a [%ld] value along axis %d", a->cols,
                        t->aux);
    } else {
        w = (view){a, 0, 0};
        if (a->rows * a->cols != 1)
            return fail(ev, "internal error: broadcast of a non-scalar to a vector");
    }
    for (long i = 0; i < r->v.rows; i++)
        for (long j = 0; j < r->v.cols; j++)
            ev->ar->set(element(ev, &r->v, i * r->v.cols + j), at(ev, &w, i, j));
    return &r->v;
}

static const value *
constant(evaluator *ev, const term *t)
{
    held *r = new_held(ev, HELD_RESULT, 0, 1, 1);
    ev->ar->set_q(element(ev, &r->v, 0), t->value);
    return &r->v;
}

static binding *
find_binding(const evaluator *ev, const symbol *sym)
{
    for (size_t i = 0; i < ev->nbindings; i++)
        if (ev->bindings[i].sym == sym)
            return &ev->bindings[i];
    return NULL;
}

/* The value bound to S, checked against S's shape in numeric sizes. */
static const value *
bound_value(evaluator *ev, const symbol *s, const binding *b)
{
    if (b->problem == BIND_MALFORMED)
        return fail(ev, "the value bound to '%s' is malformed (its rank and sizes disagree)",
                    s->name);
    if (b->problem == BIND_NONFINITE)
        return fail(ev,
                    "the value bound to '%s' has a NaN or infinite entry, which exact "
                    "evaluation cannot hold",
                    s->name);
    long rows, cols;
    if (!numeric_shape(ev, &s->shape, &rows, &cols))
        return NULL;
    const value *v = &b->h->v;
    if (v->rank != s->shape.rank || v->rows != rows || v->cols != cols) {
        char want[96], have[64], sizes[64];
        return fail(ev, "the value bound to '%s' is %s, but '%s' is %s = %s", s->name,
                    value_words(v->rank, v->rows, v->cols, have, sizeof have), s->name,
                    shape_words(&s->shape, want, sizeof want),
                    value_words(s->shape.rank, rows, cols, sizes, sizeof sizes));
    }
    return v;
}

/* A symbol's value: a dim's numeric size, a binding, or a definition. */
static const value *
symbol_value(evaluator *ev, const term *t)
{
    const symbol *s = t->sym;
    const binding *b = find_binding(ev, s);
    if (s->kind == SYM_DIM || s->kind == SYM_BATCH) {
        long n;
        if (b != NULL)
            return fail(ev, "'%s' is a dim: give it a size with eval_set_dim, not a binding",
                        s->name);
        if (!dim_size_of(ev, dim_symbol(s), &n))
            return NULL;
        held *r = new_held(ev, HELD_RESULT, 0, 1, 1);
        ev->ar->set_si(element(ev, &r->v, 0), n);
        return &r->v;
    }
    if (b != NULL)
        return bound_value(ev, s, b);
    if (s->definition != NULL) /* a definition, claim or derived gradient */
        return evaluate(ev, s->definition);
    return fail(ev, "no value for '%s'", s->name);
}

static const value *
compute(evaluator *ev, const term *t)
{
    switch (t->op) {
    case OP_CONST:
        return constant(ev, t);
    case OP_SYM:
        return symbol_value(ev, t);
    case OP_ADD:
    case OP_MUL:
    case OP_DIV:
    case OP_POW:
    case OP_STEP:
        return elementwise2(ev, t);
    case OP_NEG:
    case OP_EXP:
    case OP_LOG:
    case OP_TANH:
    case OP_SIGMOID:
    case OP_RELU:
        return elementwise1(ev, t);
    case OP_SOFTMAX:
        return softmax(ev, t);
    case OP_MATMUL:
        return matmul(ev, t);
    case OP_TRANSPOSE:
        return transpose(ev, t);
    case OP_SUM:
        return sum(ev, t);
    case OP_BROADCAST:
        return broadcast(ev, t);
    default: /* rule templates, resolved before anything is evaluated */
        return fail(ev, "cannot evaluate the operation %s (%d)", term_op_name(t->op), (int)t->op);
    }
}

/* T's value, computed once per term until the next invalidation. */
static const value *
evaluate(evaluator *ev, const term *t)
{
    const value *v = memo_get(ev, t);
    if (v != NULL)
        return v;
    v = compute(ev, t);
    if (v != NULL)
        memo_put(ev, t, v);
    return v;
}

/* ---------------------------------------------------------------- API */

evaluator *
eval_new(mem_pool *pool, number_kind kind, long prec_bits)
{
    const arith *ar = arith_of(kind);
    if (ar == NULL)
        return NULL;
    if (kind == NUMBER_MPFR && (prec_bits < MPFR_PREC_MIN || prec_bits > MPFR_PREC_MAX))
        return NULL;
    evaluator *ev = mem_zalloc(pool, sizeof *ev);
    ev->pool = pool;
    ev->ar = ar;
    ev->prec = kind == NUMBER_MPFR ? prec_bits : 53;
    ev->live.prev = ev->live.next = &ev->live;
    ev->memo_size = 64;
    ev->memo = mem_zalloc(pool, ev->memo_size * sizeof *ev->memo);
    ev->scratch = new_held(ev, HELD_SCRATCH, 1, 1, SCRATCH_COUNT);
    ar->set_si(scratch(ev, SCRATCH_ONE), 1);
    return ev;
}

void
eval_free(evaluator *ev)
{
    if (ev == NULL)
        return;
    while (ev->live.next != &ev->live)
        drop_held(ev, ev->live.next);
    mem_release(ev->pool, ev->memo);
    mem_release(ev->pool, ev->bindings);
    mem_release(ev->pool, ev->dims);
    mem_release(ev->pool, ev);
}

number_kind
eval_kind(const evaluator *ev)
{
    return ev->ar->kind;
}

void
eval_set_dim(evaluator *ev, const symbol *dim, long n)
{
    size_t i = 0;
    while (i < ev->ndims && ev->dims[i].sym != dim)
        i++;
    if (i == ev->ndims) {
        if (ev->ndims == ev->dims_cap) {
            size_t cap = ev->dims_cap ? 2 * ev->dims_cap : 8;
            ev->dims = mem_realloc(ev->pool, ev->dims, cap * sizeof *ev->dims);
            ev->dims_cap = cap;
        }
        ev->dims[ev->ndims++].sym = dim;
    }
    ev->dims[i].n = n;
    invalidate(ev);
}

value *
eval_new_value(evaluator *ev, int rank, long rows, long cols)
{
    if (!sizes_fit(rank, rows, cols))
        return NULL;
    return &new_held(ev, HELD_USER, rank, rows, cols)->v;
}

/* Entry (I, J) of V if V holds numbers of KIND and (I, J) is inside it. */
static void *
entry(const value *v, number_kind kind, long i, long j)
{
    if (v == NULL || v->kind != kind || i < 0 || j < 0 || i >= v->rows || j >= v->cols)
        return NULL;
    return (char *)v->entries + (size_t)(i * v->cols + j) * size_of_kind(kind);
}

mpq_t *
eval_q(const value *v, long i, long j)
{
    return entry(v, NUMBER_EXACT, i, j);
}

mpfr_t *
eval_fr(const value *v, long i, long j)
{
    return entry(v, NUMBER_MPFR, i, j);
}

double *
eval_d(const value *v, long i, long j)
{
    return entry(v, NUMBER_DOUBLE, i, j);
}

/* Set R (of EV's kind) to the number SRC of kind FROM. Returns 0 when the
   number has no exact value (NaN, an infinity) and EV is exact. */
static int
convert(const evaluator *ev, void *r, number_kind from, const void *src)
{
    if (from == ev->ar->kind) {
        ev->ar->set(r, src);
        return 1;
    }
    if (from == NUMBER_EXACT) {
        ev->ar->set_q(r, CQ(src));
        return 1;
    }
    switch (ev->ar->kind) {
    case NUMBER_EXACT:
        if (from == NUMBER_MPFR ? !mpfr_number_p(CF(src)) : !isfinite(CD(src)))
            return 0;
        if (from == NUMBER_MPFR)
            mpfr_get_q(Q(r), CF(src));
        else
            mpq_set_d(Q(r), CD(src));
        return 1;
    case NUMBER_MPFR: /* from double */
        mpfr_set_d(F(r), CD(src), MPFR_RNDN);
        return 1;
    case NUMBER_DOUBLE: /* from MPFR */
        D(r) = mpfr_get_d(CF(src), MPFR_RNDN);
        return 1;
    }
    return 1;
}

/* The binding slot of SYM, made if new (with no value yet). */
static binding *
binding_slot(evaluator *ev, const symbol *sym)
{
    binding *b = find_binding(ev, sym);
    if (b != NULL)
        return b;
    if (ev->nbindings == ev->bindings_cap) {
        size_t cap = ev->bindings_cap ? 2 * ev->bindings_cap : 16;
        ev->bindings = mem_realloc(ev->pool, ev->bindings, cap * sizeof *ev->bindings);
        ev->bindings_cap = cap;
    }
    b = &ev->bindings[ev->nbindings++];
    b->sym = sym;
    b->h = NULL;
    b->problem = BIND_MALFORMED;
    return b;
}

void
eval_bind(evaluator *ev, const symbol *sym, const value *v)
{
    binding *b = binding_slot(ev, sym);
    held *h = NULL;
    bind_problem problem = BIND_MALFORMED;
    if (v != NULL && v->kind >= NUMBER_EXACT && v->kind <= NUMBER_DOUBLE &&
        sizes_fit(v->rank, v->rows, v->cols)) {
        h = new_held(ev, HELD_BINDING, v->rank, v->rows, v->cols);
        problem = BIND_OK;
        size_t size = size_of_kind(v->kind);
        for (long k = 0; k < v->rows * v->cols; k++)
            if (!convert(ev, element(ev, &h->v, k), v->kind,
                         (const char *)v->entries + (size_t)k * size))
                problem = BIND_NONFINITE;
    }
    if (b->h != NULL)
        drop_held(ev, b->h);
    b->h = h;
    b->problem = problem;
    invalidate(ev);
}

int
eval_term(evaluator *ev, const term *t, const value **out, char *why, size_t whylen)
{
    jmp_buf oom;
    jmp_buf *outer = mem_pool_on_oom(ev->pool, &oom);
    ev->why[0] = '\0';
    ev->result = NULL;
    if (setjmp(oom) == 0)
        ev->result = evaluate(ev, t);
    else {
        mem_failed(); /* reported here, as a value */
        ev->result = NULL;
        fail(ev, "out of memory");
    }
    mem_pool_on_oom(ev->pool, outer);
    if (ev->result == NULL) {
        if (why != NULL && whylen > 0)
            snprintf(why, whylen, "%s", ev->why);
        return 0;
    }
    *out = ev->result;
    return 1;
}
