/* eval.c: the evaluator walk, written once, over three arithmetic tables; see eval.h. */
#include "num/eval.h"

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
} arith;

/* ---- exact: GMP rationals ---- */

#define Q(p) (*(mpq_t *)(p))
#define CQ(p) (*(const mpq_t *)(p))

static size_t
no_limbs(long prec)
{
    (void)prec;
    return 0;
}

static void
q_init(void *x, void *limbs, long prec)
{
    (void)limbs;
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

/* np.maximum, np.minimum, np.abs and np.sqrt of rationals. */
static void
q_max(void *r, const void *a, const void *b)
{
    mpq_set(Q(r), mpq_cmp(CQ(a), CQ(b)) >= 0 ? CQ(a) : CQ(b));
}

static void
q_min(void *r, const void *a, const void *b)
{
    mpq_set(Q(r), mpq_cmp(CQ(a), CQ(b)) <= 0 ? CQ(a) : CQ(b));
}

static void
q_abs(void *r, const void *a)
{
    mpq_abs(Q(r), CQ(a));
}

/* The square root of a square (numerator and denominator squares, as a
   canonical fraction's must both be); otherwise not rational. */
static arith_status
q_sqrt(void *r, const void *a)
{
    if (mpq_sgn(CQ(a)) < 0 || !mpz_perfect_square_p(mpq_numref(CQ(a))) ||
        !mpz_perfect_square_p(mpq_denref(CQ(a))))
        return ARITH_SQRT_IRRATIONAL;
    mpz_sqrt(mpq_numref(Q(r)), mpq_numref(CQ(a)));
    mpz_sqrt(mpq_denref(Q(r)), mpq_denref(CQ(a)));
    return ARITH_OK;
}

static const arith exact_arith = {
    .kind = NUMBER_EXACT,
    .size = sizeof(mpq_t),
    .shift_softmax = 0,
    .limb_bytes = no_limbs,
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
    .max = q_max,
    .min = q_min,
    .abs = q_abs,
    .sqrt = q_sqrt,
    /* log1p is not rational: NULL */
};

/* ---- MPFR at the evaluator's precision, rounding to nearest ---- */

#define F(p) (*(mpfr_t *)(p))
#define CF(p) (*(const mpfr_t *)(p))

/* MPFR's custom interface: the significand lives in the value's block, so a
   value is one allocation rather than one per entry, and nothing is cleared
   (nor may an entry's precision change). */
static size_t
fr_limb_bytes(long prec)
{
    return mpfr_custom_get_size((mpfr_prec_t)prec);
}

static void
fr_init(void *x, void *limbs, long prec)
{
    mpfr_custom_init(limbs, (mpfr_prec_t)prec);
    mpfr_custom_init_set(F(x), MPFR_ZERO_KIND, 0, (mpfr_prec_t)prec, limbs);
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

/* np.maximum and np.minimum: NaN when either is NaN (mpfr_max would
   return the other), then the larger or smaller, exactly. */
static void
fr_max(void *r, const void *a, const void *b)
{
    if (mpfr_nan_p(CF(a)) || mpfr_nan_p(CF(b)))
        mpfr_set_nan(F(r));
    else
        mpfr_max(F(r), CF(a), CF(b), MPFR_RNDN);
}

static void
fr_min(void *r, const void *a, const void *b)
{
    if (mpfr_nan_p(CF(a)) || mpfr_nan_p(CF(b)))
        mpfr_set_nan(F(r));
    else
        mpfr_min(F(r), CF(a), CF(b), MPFR_RNDN);
}

static void
fr_abs(void *r, const void *a)
{
    mpfr_abs(F(r), CF(a), MPFR_RNDN);
}

static arith_status
fr_sqrt(void *r, const void *a)
{
    mpfr_sqrt(F(r), CF(a), MPFR_RNDN);
    return ARITH_OK;
}

static void
fr_log1p(void *r, const void *a)
{
    mpfr_log1p(F(r), CF(a), MPFR_RNDN);
}

static const arith mpfr_arith = {
    .kind = NUMBER_MPFR,
    .size = sizeof(mpfr_t),
    .shift_softmax = 0,
    .limb_bytes = fr_limb_bytes,
    .init = fr_init,
    .clear = NULL,
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
    .max = fr_max,
    .min = fr_min,
    .abs = fr_abs,
    .sqrt = fr_sqrt,
    .log1p = fr_log1p,
};

/* ---- MPFI intervals at the evaluator's precision: each operation returns
   an interval enclosing the exact result of the exact operands it was given,
   so a whole evaluation encloses the exact value of the term. Each interval
   holds its own endpoints (mpfi_init2, cleared with the value): MPFI may
   change an endpoint's precision or swap endpoints, which MPFR's custom
   interface forbids. ---- */

#define I(p) (*(mpfi_t *)(p))
#define CI(p) (*(const mpfi_t *)(p))

static void
fi_init(void *x, void *limbs, long prec)
{
    (void)limbs;
    mpfi_init2(I(x), (mpfr_prec_t)prec);
    mpfi_set_si(I(x), 0);
}

static void
fi_clear(void *x)
{
    mpfi_clear(I(x));
}

static void
fi_set(void *r, const void *a)
{
    mpfi_set(I(r), CI(a));
}

static void
fi_set_si(void *r, long n)
{
    mpfi_set_si(I(r), n);
}

static void
fi_set_q(void *r, const mpq_t q)
{
    mpfi_set_q(I(r), q);
}

static void
fi_add(void *r, const void *a, const void *b)
{
    mpfi_add(I(r), CI(a), CI(b));
}

static void
fi_sub(void *r, const void *a, const void *b)
{
    mpfi_sub(I(r), CI(a), CI(b));
}

static void
fi_mul(void *r, const void *a, const void *b)
{
    mpfi_mul(I(r), CI(a), CI(b));
}

static void
fi_neg(void *r, const void *a)
{
    mpfi_neg(I(r), CI(a));
}

/* R = f(A) for an increasing F, with MPFR's F and MPFI's FI. At a point
   (inputs exact in the precision are points, and so are their sums and
   products while nothing rounds) one evaluation rounded down gives both
   endpoints: the upper is the next number when it was inexact. Otherwise
   FI, which evaluates F at both endpoints. */
static void
fi_increasing(void *r, const void *a, int (*f)(mpfr_ptr, mpfr_srcptr, mpfr_rnd_t),
              int (*fi)(mpfi_ptr, mpfi_srcptr))
{
    if (!mpfr_equal_p(&CI(a)->left, &CI(a)->right)) { /* also for NaN */
        fi(I(r), CI(a));
        return;
    }
    int inexact = f(&I(r)->left, &CI(a)->left, MPFR_RNDD); /* A may be R */
    mpfr_set(&I(r)->right, &I(r)->left, MPFR_RNDN);
    if (inexact)
        mpfr_nextabove(&I(r)->right);
}

static void
fi_exp(void *r, const void *a)
{
    fi_increasing(r, a, mpfr_exp, mpfi_exp);
}

static void
fi_log(void *r, const void *a)
{
    fi_increasing(r, a, mpfr_log, mpfi_log);
}

static void
fi_tanh(void *r, const void *a)
{
    fi_increasing(r, a, mpfr_tanh, mpfi_tanh);
}

static arith_status
fi_div(void *r, const void *a, const void *b)
{
    mpfi_div(I(r), CI(a), CI(b));
    return ARITH_OK;
}

/* [lo, hi]^n for an integer n >= 0, tight: x^n is monotonic on each side
   of 0, and an even power of an interval around 0 starts at 0. */
static void
fi_pow_ui(mpfi_ptr r, mpfi_srcptr a, unsigned long n)
{
    mpfr_prec_t prec = mpfi_get_prec(r);
    mpfr_t lo, hi;
    mpfr_inits2(prec, lo, hi, (mpfr_ptr)0);
    if (n % 2 == 1 || mpfr_sgn(&a->left) >= 0) { /* increasing */
        mpfr_pow_ui(lo, &a->left, n, MPFR_RNDD);
        mpfr_pow_ui(hi, &a->right, n, MPFR_RNDU);
    } else if (mpfr_sgn(&a->right) <= 0) { /* even, decreasing */
        mpfr_pow_ui(lo, &a->right, n, MPFR_RNDD);
        mpfr_pow_ui(hi, &a->left, n, MPFR_RNDU);
    } else { /* even, around 0 */
        mpfr_set_zero(lo, 1);
        mpfr_pow_ui(hi, mpfr_cmpabs(&a->left, &a->right) > 0 ? &a->left : &a->right, n, MPFR_RNDU);
    }
    mpfi_interv_fr(r, lo, hi);
    mpfr_clears(lo, hi, (mpfr_ptr)0);
}

/* a^b: for a point integer b a tight power (its reciprocal when b < 0),
   otherwise exp(b log a), NaN where a reaches below 0. */
static arith_status
fi_pow(void *r, const void *a, const void *b)
{
    mpfi_srcptr base = CI(a), e = CI(b);
    if (mpfi_nan_p(base) || mpfi_nan_p(e)) {
        mpfr_set_nan(&I(r)->left);
        mpfr_set_nan(&I(r)->right);
        return ARITH_OK;
    }
    if (mpfr_equal_p(&e->left, &e->right) && mpfr_integer_p(&e->left) &&
        mpfr_fits_slong_p(&e->left, MPFR_RNDN)) {
        long n = mpfr_get_si(&e->left, MPFR_RNDN);
        fi_pow_ui(I(r), base, n < 0 ? -(unsigned long)n : (unsigned long)n);
        if (n < 0)
            mpfi_inv(I(r), I(r));
        return ARITH_OK;
    }
    mpfi_t t;
    mpfi_init2(t, mpfi_get_prec(I(r)));
    mpfi_log(t, base);
    mpfi_mul(t, t, e);
    mpfi_exp(I(r), t);
    mpfi_clear(t);
    return ARITH_OK;
}

/* The indicator a > b (a >= b when OR_EQUAL) over intervals: 1 or 0 where
   it holds or fails for every point, [0, 1] where the intervals overlap,
   NaN when either is NaN. */
static void
fi_step(void *r, const void *a, const void *b, int or_equal)
{
    mpfi_srcptr x = CI(a), y = CI(b);
    if (mpfi_nan_p(x) || mpfi_nan_p(y)) {
        mpfr_set_nan(&I(r)->left);
        mpfr_set_nan(&I(r)->right);
    } else if (or_equal ? mpfr_greaterequal_p(&x->left, &y->right)
                        : mpfr_greater_p(&x->left, &y->right))
        mpfi_set_si(I(r), 1);
    else if (or_equal ? mpfr_less_p(&x->right, &y->left) : mpfr_lessequal_p(&x->right, &y->left))
        mpfi_set_si(I(r), 0);
    else
        mpfi_interv_si(I(r), 0, 1);
}

/* max(a, 0) at both endpoints, which encloses relu over the interval. */
static void
fi_relu(void *r, const void *a)
{
    mpfi_set(I(r), CI(a)); /* a NaN stays NaN: its sign is 0 */
    if (mpfr_sgn(&I(r)->left) < 0)
        mpfr_set_zero(&I(r)->left, 1);
    if (mpfr_sgn(&I(r)->right) < 0)
        mpfr_set_zero(&I(r)->right, 1);
}

/* max(a, b) and min(a, b) over intervals: taken endpoint by endpoint,
   which encloses them at every pair of points (both are monotonic in
   each argument); NaN when either is NaN. */
static void
fi_max_min(void *r, const void *a, const void *b, int is_max)
{
    mpfi_srcptr x = CI(a), y = CI(b);
    if (mpfi_nan_p(x) || mpfi_nan_p(y)) {
        mpfr_set_nan(&I(r)->left);
        mpfr_set_nan(&I(r)->right);
        return;
    }
    int (*f)(mpfr_ptr, mpfr_srcptr, mpfr_srcptr, mpfr_rnd_t) = is_max ? mpfr_max : mpfr_min;
    mpfr_t lo, hi; /* R may be A or B */
    mpfr_inits2(mpfi_get_prec(I(r)), lo, hi, (mpfr_ptr)0);
    f(lo, &x->left, &y->left, MPFR_RNDD);
    f(hi, &x->right, &y->right, MPFR_RNDU);
    mpfi_interv_fr(I(r), lo, hi);
    mpfr_clears(lo, hi, (mpfr_ptr)0);
}

static void
fi_max(void *r, const void *a, const void *b)
{
    fi_max_min(r, a, b, 1);
}

static void
fi_min(void *r, const void *a, const void *b)
{
    fi_max_min(r, a, b, 0);
}

static void
fi_abs(void *r, const void *a)
{
    mpfi_abs(I(r), CI(a));
}

static arith_status
fi_sqrt(void *r, const void *a)
{
    fi_increasing(r, a, mpfr_sqrt, mpfi_sqrt);
    return ARITH_OK;
}

static void
fi_log1p(void *r, const void *a)
{
    fi_increasing(r, a, mpfr_log1p, mpfi_log1p);
}

static const arith interval_arith = {
    .kind = NUMBER_INTERVAL,
    .size = sizeof(mpfi_t),
    .shift_softmax = 0,
    .limb_bytes = no_limbs,
    .init = fi_init,
    .clear = fi_clear,
    .set = fi_set,
    .set_si = fi_set_si,
    .set_q = fi_set_q,
    .add = fi_add,
    .sub = fi_sub,
    .mul = fi_mul,
    .div = fi_div,
    .pow = fi_pow,
    .neg = fi_neg,
    .exp = fi_exp,
    .log = fi_log,
    .tanh = fi_tanh,
    .step = fi_step,
    .relu = fi_relu,
    .max = fi_max,
    .min = fi_min,
    .abs = fi_abs,
    .sqrt = fi_sqrt,
    .log1p = fi_log1p,
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
d_init(void *x, void *limbs, long prec)
{
    (void)limbs;
    (void)prec;
    D(x) = 0.0;
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

/* np.maximum and np.minimum in double: NaN when either is NaN. */
static void
d_max(void *r, const void *a, const void *b)
{
    D(r) = isnan(CD(a)) || isnan(CD(b)) ? NAN : CD(a) >= CD(b) ? CD(a) : CD(b);
}

static void
d_min(void *r, const void *a, const void *b)
{
    D(r) = isnan(CD(a)) || isnan(CD(b)) ? NAN : CD(a) <= CD(b) ? CD(a) : CD(b);
}

static void
d_abs(void *r, const void *a)
{
    D(r) = fabs(CD(a));
}

static arith_status
d_sqrt(void *r, const void *a)
{
    D(r) = sqrt(CD(a));
    return ARITH_OK;
}

static void
d_log1p(void *r, const void *a)
{
    D(r) = log1p(CD(a));
}

static const arith double_arith = {
    .kind = NUMBER_DOUBLE,
    .size = sizeof(double),
    .shift_softmax = 1,
    .limb_bytes = no_limbs,
    .init = d_init,
    .clear = NULL,
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
    .max = d_max,
    .min = d_min,
    .abs = d_abs,
    .sqrt = d_sqrt,
    .log1p = d_log1p,
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
    case NUMBER_INTERVAL:
        return &interval_arith;
    }
    return NULL;
}

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
    char why[EVAL_WHY];
};

static size_t
size_of_kind(number_kind kind)
{
    return kind == NUMBER_EXACT      ? sizeof(mpq_t)
           : kind == NUMBER_MPFR     ? sizeof(mpfr_t)
           : kind == NUMBER_INTERVAL ? sizeof(mpfi_t)
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

/* Where a value's entries start in its block: after the header, aligned. */
enum {
    HELD_HEAD =
        (sizeof(held) + _Alignof(max_align_t) - 1) / _Alignof(max_align_t) * _Alignof(max_align_t)
};

/* A new value of EV's kind with every entry 0, on the list under ROLE. The
   sizes must have been checked. The allocation comes first, so a jump out
   of it leaves no number uncleared. */
static held *
new_held(evaluator *ev, held_role role, int rank, long rows, long cols)
{
    size_t n = (size_t)rows * (size_t)cols, size = ev->ar->size, limbs = ev->limb_bytes;
    size_t bytes = SIZE_MAX; /* too big for any pool: reported as out of memory */
    if (limbs <= (SIZE_MAX - HELD_HEAD) / n - size)
        bytes = HELD_HEAD + n * (size + limbs);
    held *h = mem_alloc(ev->pool, bytes);
    char *entries = (char *)h + HELD_HEAD, *limb = entries + n * size;
    for (size_t k = 0; k < n; k++)
        ev->ar->init(entries + k * size, limb + k * limbs, ev->prec);
    h->v.rank = rank;
    h->v.rows = rows;
    h->v.cols = cols;
    h->v.kind = ev->ar->kind;
    h->v.entries = entries;
    h->role = role;
    h->kept = 0;
    h->owners = 0;
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
    if (ev->ar->clear != NULL)
        for (long k = 0; k < h->v.rows * h->v.cols; k++)
            ev->ar->clear(element(ev, &h->v, k));
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

/* The size of D into *N; 0 when it has none, with *SET saying whether it
   came from eval_set_dim. */
static int
dim_lookup(const evaluator *ev, dim d, long *n, int *set)
{
    *set = 0;
    if (d.sym == NULL) {
        *n = d.n;
        return 1;
    }
    *n = d.sym->value;
    for (size_t i = 0; i < ev->ndims; i++)
        if (ev->dims[i].sym == d.sym) {
            *n = ev->dims[i].n;
            *set = 1;
        }
    return *n >= 1;
}

/* The numeric size of D into *N, or 0 with the reason. */
static int
dim_size_of(evaluator *ev, dim d, long *n)
{
    int set;
    if (dim_lookup(ev, d, n, &set))
        return 1;
    if (set)
        fail(ev, "the dim '%s' is set to %ld; a size must be at least 1", d.sym->name, *n);
    else
        fail(ev, "the dim '%s' has no numeric size; give it one (dims %s = N)", d.sym->name,
             d.sym->name);
    return 0;
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

/* Whether shapes A and B have the same numeric sizes, both known; reports
   nothing (the evaluation reports what is wrong when it gets there). */
static int
same_sizes(const evaluator *ev, const shape *a, const shape *b)
{
    long n[2][2];
    const shape *s[2] = {a, b};
    for (int k = 0; k < 2; k++) {
        long d0 = 1, d1 = 1;
        int set;
        if ((s[k]->rank >= 1 && !dim_lookup(ev, s[k]->d[0], &d0, &set)) ||
            (s[k]->rank == 2 && !dim_lookup(ev, s[k]->d[1], &d1, &set)))
            return 0;
        n[k][0] = s[k]->rank == 2 ? d0 : 1;
        n[k][1] = s[k]->rank == 2 ? d1 : d0;
    }
    return n[0][0] == n[1][0] && n[0][1] == n[1][1];
}

/* A result of T's shape, or NULL with the reason. Its entries are not set. */
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

/* T's slot, or NULL. */
static memo_slot *
memo_find(const evaluator *ev, const term *t)
{
    size_t mask = ev->memo_size - 1;
    for (size_t i = t->hash & mask;; i = (i + 1) & mask) {
        if (ev->memo[i].t == t)
            return &ev->memo[i];
        if (ev->memo[i].t == NULL)
            return NULL;
    }
}

static memo_slot *
memo_insert(memo_slot *slots, size_t size, const memo_slot *s)
{
    size_t i = s->t->hash & (size - 1);
    while (slots[i].t != NULL)
        i = (i + 1) & (size - 1);
    slots[i] = *s;
    return &slots[i];
}

/* T's slot, made empty if T has none. Growing the memo moves every slot:
   a slot pointer is good only until the next call. */
static memo_slot *
memo_slot_of(evaluator *ev, const term *t)
{
    memo_slot *s = memo_find(ev, t);
    if (s != NULL)
        return s;
    if (2 * (ev->memo_count + 1) > ev->memo_size) {
        size_t size = 2 * ev->memo_size;
        memo_slot *slots = mem_zalloc(ev->pool, size * sizeof *slots);
        for (size_t i = 0; i < ev->memo_size; i++)
            if (ev->memo[i].t != NULL)
                memo_insert(slots, size, &ev->memo[i]);
        mem_release(ev->pool, ev->memo);
        ev->memo = slots;
        ev->memo_size = size;
    }
    ev->memo_count++;
    return memo_insert(ev->memo, ev->memo_size, &(memo_slot){.t = t});
}

/* T's slot if the running evaluation planned it. */
static memo_slot *
planned(const evaluator *ev, const term *t)
{
    memo_slot *s = memo_find(ev, t);
    return s != NULL && s->epoch == ev->epoch ? s : NULL;
}

static int
is_inlined(const evaluator *ev, const term *t)
{
    const memo_slot *s = planned(ev, t);
    return s != NULL && s->inlined;
}

/* ---------------------------------------------------------------- planning */

/* Before an evaluation computes anything, it plans: it counts how many
   times each term of the DAG below the root will be used, so that a value
   can be released the moment its last use is made, and it decides which
   terms need no value of their own:

   - an elementwise term used once, by an elementwise term of the same
     sizes or as the left operand of a matrix product, is inlined: its
     entries are computed inside its consumer's kernel (elementwise) or one
     row at a time (the product), never stored whole;
   - a transpose used once by a matrix product is read through a view.

   What outlives the evaluation: the root (eval_term's contract), and the
   value of a named definition that something other than another
   definition uses. A definition used only to define others (Z1, used only
   by A1 = tanh(Z1)) is a stage of those, which are kept instead; a later
   evaluation that names it computes it again. */

static binding *find_binding(const evaluator *ev, const symbol *sym);

/* Whether T is a symbol whose value is its definition's. */
static int
through_definition(const evaluator *ev, const term *t)
{
    const symbol *s = t->sym;
    return t->op == OP_SYM && s->kind != SYM_DIM && s->kind != SYM_BATCH && s->definition != NULL &&
           find_binding(ev, s) == NULL;
}

/* The terms T's value is computed from, into *OPS; their number. */
static unsigned
operands_of(const evaluator *ev, const term *t, const term *const **ops)
{
    if (t->op == OP_SYM) {
        *ops = &t->sym->definition;
        return through_definition(ev, t);
    }
    *ops = t->args;
    return t->op == OP_CONST ? 0 : t->nargs;
}

static void
plan_push(evaluator *ev, const term *t)
{
    if (ev->plan_len == ev->plan_cap) {
        size_t cap = ev->plan_cap ? 2 * ev->plan_cap : 64;
        ev->plan = mem_realloc(ev->pool, ev->plan, cap * sizeof *ev->plan);
        ev->plan_cap = cap;
    }
    ev->plan[ev->plan_len++] = t;
}

/* Count a use of T by CONSUMER (NULL for the caller), and plan T's
   operands the first time T is met, unless it has a value already. */
static void
plan_use(evaluator *ev, const term *t, const term *consumer)
{
    memo_slot *s = memo_slot_of(ev, t);
    int first = s->epoch != ev->epoch;
    if (first)
        *s = (memo_slot){.t = t, .h = s->h, .epoch = ev->epoch};
    if (consumer != NULL) {
        s->pending++;
        s->consumer = consumer;
    }
    if (!first || s->h != NULL)
        return;
    plan_push(ev, t);
    const term *const *ops;
    unsigned n = operands_of(ev, t, &ops);
    for (unsigned i = 0; i < n; i++)
        plan_use(ev, ops[i], t);
    if (t->op == OP_SYM && n == 1)
        memo_slot_of(ev, ops[0])->def_top = 1;
}

static int
is_elementwise(term_op op)
{
    switch (op) {
    case OP_ADD:
    case OP_MUL:
    case OP_DIV:
    case OP_POW:
    case OP_STEP:
    case OP_NEG:
    case OP_EXP:
    case OP_LOG:
    case OP_TANH:
    case OP_SIGMOID:
    case OP_RELU:
    case OP_MAXIMUM:
    case OP_MINIMUM:
    case OP_ABS:
    case OP_SQRT:
    case OP_LOG1P:
        return 1;
    default:
        return 0;
    }
}

/* Whether T, used once and only by CONSUMER, can be computed inside it. */
static int
can_inline(const evaluator *ev, const term *t, const term *consumer)
{
    if (t->op == OP_TRANSPOSE)
        return consumer->op == OP_MATMUL;
    if (!is_elementwise(t->op))
        return 0;
    if (consumer->op == OP_MATMUL)
        return consumer->args[0] == t;
    return is_elementwise(consumer->op) && same_sizes(ev, &t->shape, &consumer->shape);
}

/* Plan the evaluation of ROOT. Every term planned has a slot, so the
   memo_slot_of calls below find slots rather than make them. */
static void
plan(evaluator *ev, const term *root)
{
    ev->plan_len = 0;
    plan_use(ev, root, NULL);
    memo_slot_of(ev, root)->keep = 1;
    for (size_t k = 0; k < ev->plan_len; k++) {
        const term *t = ev->plan[k];
        const term *const *ops;
        int named_stage = memo_slot_of(ev, t)->def_top;
        unsigned n = operands_of(ev, t, &ops);
        for (unsigned i = 0; i < n; i++)
            if (!named_stage && through_definition(ev, ops[i]))
                memo_slot_of(ev, ops[i])->keep = 1;
    }
    for (size_t k = 0; k < ev->plan_len; k++) {
        memo_slot *s = memo_slot_of(ev, ev->plan[k]);
        if (s->pending == 1 && !s->keep && can_inline(ev, s->t, s->consumer))
            s->inlined = 1;
    }
}

/* T now has the value V. */
static void
remember(evaluator *ev, const term *t, const value *v)
{
    memo_slot *s = memo_slot_of(ev, t);
    held *h = (held *)v;
    s->h = h;
    if (h->role == HELD_RESULT) {
        h->owners++;
        h->kept |= s->keep;
    }
}

/* A value of S that may be released: a result not kept. */
static held *
transient(const memo_slot *s)
{
    return s->h != NULL && s->h->role == HELD_RESULT && !s->h->kept ? s->h : NULL;
}

/* T's operands have been used (by T, or by what T is inlined into): any
   whose last use this was gives its value back. */
static void
operands_used(evaluator *ev, const term *t)
{
    const term *const *ops;
    unsigned n = operands_of(ev, t, &ops);
    for (unsigned i = 0; i < n; i++) {
        memo_slot *s = planned(ev, ops[i]);
        if (s == NULL)
            continue;
        if (s->inlined)
            operands_used(ev, ops[i]);
        held *h = transient(s);
        if (--s->pending == 0 && h != NULL) {
            s->h = NULL;
            if (--h->owners == 0)
                drop_held(ev, h);
        }
    }
}

/* The value of T, an operand whose last use is the running one (its USES
   uses among the running operation's operands), taken over to become the
   result of ROWS x COLS: the operation then computes in place. NULL when
   it is not free to take. */
static held *
take_over(evaluator *ev, const term *t, long uses, long rows, long cols)
{
    memo_slot *s = planned(ev, t);
    held *h = s != NULL ? transient(s) : NULL;
    if (h == NULL || s->pending != uses || h->owners != 1 || h->v.rows != rows || h->v.cols != cols)
        return NULL;
    s->h = NULL;
    h->owners = 0;
    return h;
}

/* After a failed evaluation: release every value that is not kept. */
static void
forget_transients(evaluator *ev)
{
    for (size_t i = 0; i < ev->memo_size; i++)
        if (transient(&ev->memo[i]) != NULL)
            ev->memo[i].h = NULL;
    for (held *h = ev->live.next, *next; h != &ev->live; h = next) {
        next = h->next;
        if (h->role == HELD_RESULT && !h->kept)
            drop_held(ev, h);
    }
}

/* ---------------------------------------------------------------- kernels */

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

/* Whether EV's numbers can compute OP; the reason when not. */
static int
can_compute(evaluator *ev, term_op op)
{
    int transcendental =
        op == OP_EXP || op == OP_LOG || op == OP_TANH || op == OP_SIGMOID || op == OP_SOFTMAX;
    if (op == OP_LOG1P && ev->ar->log1p == NULL)
        transcendental = 1;
    if (ev->ar->exp != NULL || !transcendental)
        return 1;
    fail(ev,
         "exact evaluation cannot compute %s (its values are not rational): bind the "
         "definition that uses it as a free variable, or evaluate in MPFR",
         term_op_name(op));
    return 0;
}

/* Evaluate the operands of the elementwise term T and of the terms inlined
   into it, left to right, so that their values are there for its kernel.
   Returns 0 with the reason. */
static int
gather(evaluator *ev, const term *t)
{
    if (!can_compute(ev, t->op))
        return 0;
    for (unsigned i = 0; i < t->nargs; i++)
        if (is_inlined(ev, t->args[i]) ? !gather(ev, t->args[i]) : evaluate(ev, t->args[i]) == NULL)
            return 0;
    return 1;
}

static int
kernel_node(evaluator *ev, const term *t, int leaf, int a, int b)
{
    if (ev->kernel_len == ev->kernel_cap) {
        size_t cap = ev->kernel_cap ? 2 * ev->kernel_cap : 16;
        ev->kernel = mem_realloc(ev->pool, ev->kernel, cap * sizeof *ev->kernel);
        ev->kernel_cap = cap;
    }
    ev->kernel[ev->kernel_len] = (knode){.t = t, .leaf = leaf, .a = a, .b = b};
    return (int)ev->kernel_len++;
}

/* Append the nodes of T (the kernel's term when TOP, else an operand),
   after its operands'; T's node index, or -1 with the reason. */
static int
kernel_add(evaluator *ev, const term *t, int top, long rows, long cols)
{
    if (!top && !is_inlined(ev, t)) {
        const memo_slot *s = planned(ev, t);
        if (s == NULL || s->h == NULL)
            return fail(ev, "internal error: an operand of a kernel has no value"), -1;
        int k = kernel_node(ev, t, 1, -1, -1);
        return broadcast_view(ev, &ev->kernel[k].w, &s->h->v, rows, cols) ? k : -1;
    }
    int a = kernel_add(ev, t->args[0], 0, rows, cols), b = -1;
    if (a >= 0 && t->nargs == 2)
        b = kernel_add(ev, t->args[1], 0, rows, cols);
    if (a < 0 || (t->nargs == 2 && b < 0))
        return -1;
    return kernel_node(ev, t, 0, a, b);
}

/* The kernel of the elementwise term T at ROWS x COLS, whose operands are
   gathered: its nodes, and a register for each operation. Returns 0 with
   the reason. */
static int
kernel_build(evaluator *ev, const term *t, long rows, long cols)
{
    ev->kernel_len = 0;
    if (kernel_add(ev, t, 1, rows, cols) < 0)
        return 0;
    long ops = 0;
    for (size_t k = 0; k < ev->kernel_len; k++)
        ops += !ev->kernel[k].leaf;
    if (ev->regs == NULL || ev->regs->v.cols < ops) {
        held *regs = new_held(ev, HELD_SCRATCH, 1, 1, ops < 8 ? 8 : 2 * ops);
        if (ev->regs != NULL)
            drop_held(ev, ev->regs);
        ev->regs = regs;
    }
    ops = 0;
    for (size_t k = 0; k < ev->kernel_len; k++)
        if (!ev->kernel[k].leaf)
            ev->kernel[k].reg = element(ev, &ev->regs->v, ops++);
    return 1;
}

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
    case ARITH_SQRT_IRRATIONAL:
        return fail(ev,
                    "the square root of entry [%ld, %ld] is not rational: exact evaluation "
                    "takes square roots of squares only (evaluate in MPFR)",
                    i, j);
    case ARITH_OK:
        break;
    }
    return NULL;
}

/* One entry of the elementwise term T: R = op(A) or op(A, B). R may be A
   or B. */
static arith_status
apply(const evaluator *ev, const term *t, void *r, const void *a, const void *b)
{
    const arith *ar = ev->ar;
    void *x = scratch(ev, SCRATCH_T0);
    switch (t->op) {
    case OP_ADD:
        ar->add(r, a, b);
        break;
    case OP_MUL:
        ar->mul(r, a, b);
        break;
    case OP_DIV:
        return ar->div(r, a, b);
    case OP_POW:
        return ar->pow(r, a, b);
    case OP_STEP:
        if (ar->step != NULL)
            ar->step(r, a, b, t->aux);
        else
            ar->set_si(r, t->aux ? ar->ge(a, b) : ar->gt(a, b));
        break;
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
        ar->neg(x, a);
        ar->exp(x, x);
        ar->add(x, scratch(ev, SCRATCH_ONE), x);
        ar->div(r, scratch(ev, SCRATCH_ONE), x);
        break;
    case OP_MAXIMUM:
        ar->max(r, a, b);
        break;
    case OP_MINIMUM:
        ar->min(r, a, b);
        break;
    case OP_ABS:
        ar->abs(r, a);
        break;
    case OP_SQRT:
        return ar->sqrt(r, a);
    case OP_LOG1P:
        ar->log1p(r, a);
        break;
    default: /* OP_RELU: a > 0 ? a : 0, and NaN stays NaN as in np.maximum */
        if (ar->relu != NULL)
            ar->relu(r, a);
        else if (ar->is_nan(a) || ar->gt(a, scratch(ev, SCRATCH_ZERO)))
            ar->set(r, a);
        else
            ar->set_si(r, 0);
        break;
    }
    return ARITH_OK;
}

/* Run the kernel at entry (I, J), its result into DST. */
static arith_status
kernel_run(evaluator *ev, long i, long j, void *dst)
{
    knode *nodes = ev->kernel;
    size_t last = ev->kernel_len - 1;
    for (size_t k = 0; k <= last; k++) {
        knode *n = &nodes[k];
        if (n->leaf) {
            n->cur = at(ev, &n->w, i, j);
            continue;
        }
        void *out = k == last ? dst : n->reg;
        arith_status st = apply(ev, n->t, out, nodes[n->a].cur, n->b >= 0 ? nodes[n->b].cur : NULL);
        if (st != ARITH_OK)
            return st;
        n->cur = out;
    }
    return ARITH_OK;
}

/* A kernel operand of ROWS x COLS that the kernel uses for the last time,
   taken over for the result; NULL if there is none. Writing entry (i, j)
   of the result comes after every read of entry (i, j) of such an operand
   and of no other of its entries. */
static held *
kernel_take_over(evaluator *ev, long rows, long cols)
{
    for (size_t k = 0; k < ev->kernel_len; k++) {
        const knode *n = &ev->kernel[k];
        if (!n->leaf || n->w.v->rows != rows || n->w.v->cols != cols)
            continue;
        long uses = 0;
        for (size_t l = 0; l < ev->kernel_len; l++)
            uses += ev->kernel[l].leaf && ev->kernel[l].t == n->t;
        held *h = take_over(ev, n->t, uses, rows, cols);
        if (h != NULL)
            return h;
    }
    return NULL;
}

/* An elementwise term, with the terms inlined into it, in one pass over
   its entries; in place when an operand of its sizes dies here. */
static const value *
elementwise(evaluator *ev, const term *t)
{
    long rows, cols;
    if (!gather(ev, t) || !numeric_shape(ev, &t->shape, &rows, &cols) ||
        !kernel_build(ev, t, rows, cols))
        return NULL;
    held *r = kernel_take_over(ev, rows, cols);
    if (r == NULL)
        r = new_held(ev, HELD_RESULT, t->shape.rank, rows, cols);
    r->v.rank = t->shape.rank;
    for (long i = 0; i < rows; i++)
        for (long j = 0; j < cols; j++) {
            arith_status st = kernel_run(ev, i, j, element(ev, &r->v, i * cols + j));
            if (st != ARITH_OK) {
                drop_held(ev, r);
                return arith_failure(ev, st, i, j);
            }
        }
    return &r->v;
}

/* Softmax of the LEN entries first, first + step, ... of A into R (the same
   places; R may be A). Double code subtracts the slice's max first, so that
   exp cannot overflow; MPFR computes exp(z) / sum(exp(z)) as written. */
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
    long rows, cols;
    if (!can_compute(ev, t->op))
        return NULL;
    const value *a = evaluate(ev, t->args[0]);
    if (a == NULL || !numeric_shape(ev, &t->shape, &rows, &cols))
        return NULL;
    if (a->rows != rows || a->cols != cols)
        return fail(ev, "internal error: softmax of a value of another size");
    held *r = take_over(ev, t->args[0], 1, rows, cols);
    if (r == NULL)
        r = new_held(ev, HELD_RESULT, t->shape.rank, rows, cols);
    r->v.rank = t->shape.rank;
    if (t->args[0]->shape.rank == 2 && t->aux == 0) /* down each column */
        for (long j = 0; j < cols; j++)
            softmax_slice(ev, &r->v, a, j, cols, rows);
    else /* along each row; a 1-D value is one row */
        for (long i = 0; i < rows; i++)
            softmax_slice(ev, &r->v, a, i * cols, 1, cols);
    return &r->v;
}

/* An operand of a matrix product: entry (i, j) of a RANK, ROWS x COLS
   matrix is W's (i, j). W.v is NULL for an inlined elementwise operand,
   whose rows are computed as the product needs them. */
typedef struct operand {
    view w;
    int rank;
    long rows, cols;
} operand;

/* Operand T of a matrix product: a value, a transpose read through a view
   of its argument, or an inlined elementwise term whose operands are
   gathered. Returns 0 with the reason. */
static int
matmul_operand(evaluator *ev, const term *t, operand *o)
{
    if (is_inlined(ev, t) && t->op == OP_TRANSPOSE) {
        const value *a = evaluate(ev, t->args[0]);
        if (a == NULL)
            return 0;
        /* entry (i, j) is a's (j, i); a 1-D or scalar value is its own
           transpose, as in NumPy */
        *o = a->rank == 2 ? (operand){{a, 1, a->cols}, 2, a->cols, a->rows}
                          : (operand){{a, a->cols, 1}, a->rank, a->rows, a->cols};
        return 1;
    }
    if (is_inlined(ev, t)) {
        o->w = (view){NULL, 0, 1};
        o->rank = t->shape.rank;
        return gather(ev, t) && numeric_shape(ev, &t->shape, &o->rows, &o->cols);
    }
    const value *a = evaluate(ev, t);
    if (a == NULL)
        return 0;
    *o = (operand){{a, a->cols, 1}, a->rank, a->rows, a->cols};
    return 1;
}

/* The matrix product with NumPy's 1-D rules: a 1-D left operand is a row,
   a 1-D right operand a column, and the result drops that axis. Each entry
   accumulates its products left to right. An inlined left operand is
   computed one row at a time, just before the row of the product that
   needs it. */
static const value *
matmul(evaluator *ev, const term *t)
{
    operand a, b;
    if (!matmul_operand(ev, t->args[0], &a) || !matmul_operand(ev, t->args[1], &b))
        return NULL;
    long rows = a.rows, inner = a.cols, cols = b.rank == 1 ? 1 : b.cols;
    view wa = a.w, wb = b.rank == 1 ? (view){b.w.v, b.w.sj, 0} : b.w;
    held *r = new_result(ev, t), *row = NULL;
    if (r == NULL)
        return NULL;
    if ((b.rank == 1 ? b.cols : b.rows) != inner || rows * cols != r->v.rows * r->v.cols)
        return fail(ev, "internal error: matrix product of values of unfitting sizes");
    if (a.w.v == NULL) {
        if (!kernel_build(ev, t->args[0], a.rows, a.cols))
            return NULL;
        row = new_held(ev, HELD_RESULT, 1, 1, inner);
        wa = (view){&row->v, 0, 1};
    }
    const arith *ar = ev->ar;
    void *product = scratch(ev, SCRATCH_T0);
    for (long i = 0; i < rows; i++) {
        for (long k = 0; row != NULL && k < inner; k++) {
            arith_status st = kernel_run(ev, i, k, element(ev, &row->v, k));
            if (st != ARITH_OK) {
                drop_held(ev, row);
                drop_held(ev, r);
                return arith_failure(ev, st, i, k);
            }
        }
        for (long j = 0; j < cols; j++) {
            void *acc = element(ev, &r->v, i * cols + j);
            ar->mul(acc, at(ev, &wa, i, 0), at(ev, &wb, 0, j));
            for (long k = 1; k < inner; k++) {
                ar->mul(product, at(ev, &wa, i, k), at(ev, &wb, k, j));
                ar->add(acc, acc, product);
            }
        }
    }
    if (row != NULL)
        drop_held(ev, row);
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

/* Reduce LEN entries of A from FIRST by STEP, left to right, into R with
   COMBINE (R = R + entry for a sum, R = max(R, entry) for np.max). */
static void
reduce_run(const evaluator *ev, void (*combine)(void *r, const void *a, const void *b), void *r,
           const value *a, long first, long step, long len)
{
    ev->ar->set(r, element(ev, a, first));
    for (long k = 1; k < len; k++)
        combine(r, r, element(ev, a, first + k * step));
}

/* A sum (or np.max: OP_MAX, which NaN makes NaN, as NumPy's) over axis 0
   (down columns), 1 (along rows) or every entry (-1). Whatever keepdims
   says, the results lie in the same row-major order. */
static const value *
reduce(evaluator *ev, const term *t)
{
    const value *a = evaluate(ev, t->args[0]);
    held *r = a ? new_result(ev, t) : NULL;
    if (r == NULL)
        return NULL;
    void (*combine)(void *, const void *, const void *) =
        t->op == OP_MAX ? ev->ar->max : ev->ar->add;
    int along_rows = t->aux == 1 || (t->aux == 0 && t->args[0]->shape.rank < 2);
    long n = r->v.rows * r->v.cols;
    if (t->aux < 0 && n == 1)
        reduce_run(ev, combine, element(ev, &r->v, 0), a, 0, 1, a->rows * a->cols);
    else if (along_rows && n == a->rows)
        for (long i = 0; i < a->rows; i++)
            reduce_run(ev, combine, element(ev, &r->v, i), a, i * a->cols, 1, a->cols);
    else if (t->aux == 0 && !along_rows && n == a->cols)
        for (long j = 0; j < a->cols; j++)
            reduce_run(ev, combine, element(ev, &r->v, j), a, j, a->cols, a->rows);
    else
        return fail(ev, "internal error: %s to a value of the wrong size", term_op_name(t->op));
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
    case OP_NEG:
    case OP_EXP:
    case OP_LOG:
    case OP_TANH:
    case OP_SIGMOID:
    case OP_RELU:
    case OP_MAXIMUM:
    case OP_MINIMUM:
    case OP_ABS:
    case OP_SQRT:
    case OP_LOG1P:
        return elementwise(ev, t);

    case OP_SOFTMAX:
        return softmax(ev, t);
    case OP_MATMUL:
        return matmul(ev, t);
    case OP_TRANSPOSE:
        return transpose(ev, t);
    case OP_SUM:
    case OP_MAX:
        return reduce(ev, t);
    case OP_BROADCAST:
        return broadcast(ev, t);
    default: /* rule templates, resolved before anything is evaluated */
        return fail(ev, "cannot evaluate the operation %s (%d)", term_op_name(t->op), (int)t->op);
    }
}

/* T's value: the one it has, or computed now; then the operands it was
   computed from have had one more use each. */
static const value *
evaluate(evaluator *ev, const term *t)
{
    const memo_slot *s = memo_find(ev, t);
    if (s != NULL && s->h != NULL)
        return &s->h->v;
    const value *v = compute(ev, t);
    if (v != NULL) {
        remember(ev, t, v);
        operands_used(ev, t);
    }
    return v;
}

/* ---------------------------------------------------------------- API */

evaluator *
eval_new(mem_pool *pool, number_kind kind, long prec_bits)
{
    const arith *ar = arith_of(kind);
    if (ar == NULL)
        return NULL;
    int precise = kind == NUMBER_MPFR || kind == NUMBER_INTERVAL;
    if (precise && (prec_bits < MPFR_PREC_MIN || prec_bits > MPFR_PREC_MAX))
        return NULL;
    evaluator *ev = mem_zalloc(pool, sizeof *ev);
    ev->pool = pool;
    ev->ar = ar;
    ev->prec = precise ? prec_bits : 53;
    ev->limb_bytes = ar->limb_bytes(ev->prec);
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
    mem_release(ev->pool, ev->plan);
    mem_release(ev->pool, ev->kernel);
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

mpfi_t *
eval_fi(const value *v, long i, long j)
{
    return entry(v, NUMBER_INTERVAL, i, j);
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
    case NUMBER_INTERVAL: /* from MPFR or double: the point, enclosed */
        if (from == NUMBER_MPFR)
            mpfi_set_fr(I(r), CF(src));
        else
            mpfi_set_d(I(r), CD(src));
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
    int kind_ok = v != NULL && v->kind >= NUMBER_EXACT && v->kind <= NUMBER_INTERVAL &&
                  (v->kind != NUMBER_INTERVAL || ev->ar->kind == NUMBER_INTERVAL);
    if (kind_ok && sizes_fit(v->rank, v->rows, v->cols)) {
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
    ev->epoch++;
    if (setjmp(oom) == 0) {
        plan(ev, t);
        ev->result = evaluate(ev, t);
    } else {
        mem_failed(); /* reported here, as a value */
        ev->result = NULL;
        fail(ev, "out of memory");
    }
    mem_pool_on_oom(ev->pool, outer);
    if (ev->result == NULL)
        forget_transients(ev);
    if (ev->result == NULL) {
        if (why != NULL && whylen > 0)
            snprintf(why, whylen, "%s", ev->why);
        return 0;
    }
    *out = ev->result;
    return 1;
}

size_t
eval_live_entries(const evaluator *ev)
{
    size_t n = 0;
    for (const held *h = ev->live.next; h != &ev->live; h = h->next)
        if (h->role != HELD_SCRATCH)
            n += (size_t)(h->v.rows * h->v.cols);
    return n;
}
