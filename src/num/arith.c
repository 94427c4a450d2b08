/* arith.c: the evaluator's arithmetic tables: GMP rationals, MPFR, MPFI intervals, IEEE double. */
#include "num/eval_impl.h"

#include <math.h>

#define Q(p) (*(mpq_t *)(p))
#define CQ(p) (*(const mpq_t *)(p))
#define F(p) (*(mpfr_t *)(p))
#define CF(p) (*(const mpfr_t *)(p))
#define I(p) (*(mpfi_t *)(p))
#define CI(p) (*(const mpfi_t *)(p))
#define D(p) (*(double *)(p))
#define CD(p) (*(const double *)(p))

/* ---- the entries that are one call of a library ---- */

/* Copy, +, -, * and negation are one call each in GMP's mpq, MPFR and
   MPFI, alike but for the library: written once here as PREFIX_set,
   PREFIX_add, PREFIX_sub, PREFIX_mul and PREFIX_neg, calling LIB_set, ...
   on numbers reached with T (results) and CT (operands). ROUND is the
   rounding argument after the operands: EXACT for GMP (nothing rounds) and
   MPFI (which rounds outward by itself), TO_NEAREST for MPFR. */
#define EXACT
#define TO_NEAREST , MPFR_RNDN
#define LIBRARY_CALLS(prefix, lib, T, CT, ROUND)                                                   \
    static void prefix##_set(void *r, const void *a) { lib##_set(T(r), CT(a) ROUND); }             \
    static void prefix##_add(void *r, const void *a, const void *b)                                \
    {                                                                                              \
        lib##_add(T(r), CT(a), CT(b) ROUND);                                                       \
    }                                                                                              \
    static void prefix##_sub(void *r, const void *a, const void *b)                                \
    {                                                                                              \
        lib##_sub(T(r), CT(a), CT(b) ROUND);                                                       \
    }                                                                                              \
    static void prefix##_mul(void *r, const void *a, const void *b)                                \
    {                                                                                              \
        lib##_mul(T(r), CT(a), CT(b) ROUND);                                                       \
    }                                                                                              \
    static void prefix##_neg(void *r, const void *a) { lib##_neg(T(r), CT(a) ROUND); }

LIBRARY_CALLS(q, mpq, Q, CQ, EXACT)
LIBRARY_CALLS(fr, mpfr, F, CF, TO_NEAREST)
LIBRARY_CALLS(fi, mpfi, I, CI, EXACT)

/* exp, log, tanh, log1p and abs of MPFR and of double: MPFR_FN (rounding
   to nearest) and the C library's FN. */
#define MPFR_FUNCTION(fn)                                                                          \
    static void fr_##fn(void *r, const void *a) { mpfr_##fn(F(r), CF(a), MPFR_RNDN); }
#define DOUBLE_FUNCTION(fn)                                                                        \
    static void d_##fn(void *r, const void *a) { D(r) = fn(CD(a)); }

MPFR_FUNCTION(exp)
MPFR_FUNCTION(log)
MPFR_FUNCTION(tanh)
DOUBLE_FUNCTION(exp)
DOUBLE_FUNCTION(log)
DOUBLE_FUNCTION(tanh)
MPFR_FUNCTION(log1p)
MPFR_FUNCTION(abs)
DOUBLE_FUNCTION(log1p)
DOUBLE_FUNCTION(fabs)

/* ---- exact: GMP rationals ---- */

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
q_set_si(void *r, long n)
{
    mpq_set_si(Q(r), n, 1);
}

static void
q_set_q(void *r, const mpq_t q)
{
    mpq_set(Q(r), q);
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
fr_set_si(void *r, long n)
{
    mpfr_set_si(F(r), n, MPFR_RNDN);
}

static void
fr_set_q(void *r, const mpq_t q)
{
    mpfr_set_q(F(r), q, MPFR_RNDN);
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

static arith_status
fr_sqrt(void *r, const void *a)
{
    mpfr_sqrt(F(r), CF(a), MPFR_RNDN);
    return ARITH_OK;
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
fi_set_si(void *r, long n)
{
    mpfi_set_si(I(r), n);
}

static void
fi_set_q(void *r, const mpq_t q)
{
    mpfi_set_q(I(r), q);
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

/* Where an operation meets a point at which it has no value (an infinity
   minus itself, 0 times an infinity, a quotient by 0 or of two
   infinities), MPFI encloses the limits around it instead: 0 * [1, +inf]
   is 0, and 1 / [0, 0] is [-inf, +inf], which a later 0 * makes 0 again,
   digits for a value that does not exist. An interval may be the point at
   an infinite endpoint (log(0) is -inf) and may be 0 when it holds 0, so
   where the operands may meet such a point the result is NaN, as IEEE's
   is there, and NaN stays NaN through every later operation. */
static int
may_be_plus_inf(mpfi_srcptr x)
{
    return mpfr_inf_p(&x->right) && mpfr_sgn(&x->right) > 0;
}

static int
may_be_minus_inf(mpfi_srcptr x)
{
    return mpfr_inf_p(&x->left) && mpfr_sgn(&x->left) < 0;
}

static int
may_be_inf(mpfi_srcptr x)
{
    return may_be_plus_inf(x) || may_be_minus_inf(x);
}

static void
fi_set_nan(void *r)
{
    mpfr_set_nan(&I(r)->left);
    mpfr_set_nan(&I(r)->right);
}

static void
fi_add_defined(void *r, const void *a, const void *b)
{
    if ((may_be_plus_inf(CI(a)) && may_be_minus_inf(CI(b))) ||
        (may_be_minus_inf(CI(a)) && may_be_plus_inf(CI(b))))
        fi_set_nan(r);
    else
        fi_add(r, a, b);
}

static void
fi_sub_defined(void *r, const void *a, const void *b)
{
    if ((may_be_plus_inf(CI(a)) && may_be_plus_inf(CI(b))) ||
        (may_be_minus_inf(CI(a)) && may_be_minus_inf(CI(b))))
        fi_set_nan(r);
    else
        fi_sub(r, a, b);
}

static void
fi_mul_defined(void *r, const void *a, const void *b)
{
    if ((mpfi_has_zero(CI(a)) && may_be_inf(CI(b))) || (may_be_inf(CI(a)) && mpfi_has_zero(CI(b))))
        fi_set_nan(r);
    else
        fi_mul(r, a, b);
}

static arith_status
fi_div(void *r, const void *a, const void *b)
{
    if (mpfi_has_zero(CI(b)) || (may_be_inf(CI(a)) && may_be_inf(CI(b))))
        fi_set_nan(r);
    else
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

/* a^b: for a point integer b a tight power (its reciprocal when b < 0,
   NaN where a may be 0), otherwise exp(b log a), NaN where a reaches below
   0. */
static arith_status
fi_pow(void *r, const void *a, const void *b)
{
    mpfi_srcptr base = CI(a), e = CI(b);
    if (mpfi_nan_p(base) || mpfi_nan_p(e)) {
        fi_set_nan(r);
        return ARITH_OK;
    }
    if (mpfr_equal_p(&e->left, &e->right) && mpfr_integer_p(&e->left) &&
        mpfr_fits_slong_p(&e->left, MPFR_RNDN)) {
        long n = mpfr_get_si(&e->left, MPFR_RNDN);
        if (n < 0 && mpfi_has_zero(base)) {
            fi_set_nan(r);
            return ARITH_OK;
        }
        fi_pow_ui(I(r), base, n < 0 ? -(unsigned long)n : (unsigned long)n);
        if (n < 0)
            mpfi_inv(I(r), I(r));
        return ARITH_OK;
    }
    mpfi_t t;
    mpfi_init2(t, mpfi_get_prec(I(r)));
    mpfi_log(t, base);
    fi_mul_defined(t, t, e);
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
    .add = fi_add_defined,
    .sub = fi_sub_defined,
    .mul = fi_mul_defined,
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

static arith_status
d_sqrt(void *r, const void *a)
{
    D(r) = sqrt(CD(a));
    return ARITH_OK;
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
    .abs = d_fabs,
    .sqrt = d_sqrt,
    .log1p = d_log1p,
};

const arith *
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
    case NUMBER_BALL:
        return &ball_arith;
    }
    return NULL;
}

int
arith_convert(const arith *ar, void *r, number_kind from, const void *src)
{
    if (from == ar->kind) {
        ar->set(r, src);
        return 1;
    }
    if (ar->kind == NUMBER_BALL)
        return ball_convert(r, from, src);
    if (from == NUMBER_EXACT) {
        ar->set_q(r, CQ(src));
        return 1;
    }
    switch (ar->kind) {
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
    case NUMBER_BALL: /* converted above */
        return 1;
    }
    return 1;
}
