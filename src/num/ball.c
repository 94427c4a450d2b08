/* ball.c: the evaluator's table of Arb balls: every operation encloses the exact result of the
 * exact numbers its operands enclose. */
#include "num/ball.h"

/* here only: arb_mat.h brings FLINT names (d_is_nan) that the tables use */
#ifdef DC_ARB_IN_FLINT
#include <flint/arb_mat.h>
#else
#include <arb_mat.h>
#endif

#include "num/eval_impl.h"

#define B(p) ((arb_ptr)(p))
#define CB(p) ((arb_srcptr)(p))

/* The precision of the operations that follow, in bits: Arb's numbers
   carry none, so the evaluator sets it (at_prec) before it computes, for
   its own thread: sweeps evaluate at several precisions, a thread each. */
static _Thread_local slong working_prec = 64;

static void
b_at_prec(long prec)
{
    working_prec = prec;
}

static size_t
b_limb_bytes(long prec)
{
    (void)prec;
    return 0; /* a ball holds its own limbs (arb_init, arb_clear) */
}

static void
b_init(void *x, void *limbs, long prec)
{
    (void)limbs;
    (void)prec;
    arb_init(B(x));
}

static void
b_clear(void *x)
{
    arb_clear(B(x));
}

static void
b_set(void *r, const void *a)
{
    arb_set(B(r), CB(a));
}

static void
b_set_si(void *r, long n)
{
    arb_set_si(B(r), n);
}

/* Q enclosed: exact when it is a dyadic that fits the precision. Random
   points are dyadics (k / 2^30), set without a division. */
static void
b_set_q(void *r, const mpq_t q)
{
    mp_bitcnt_t shift = mpz_scan1(mpq_denref(q), 0);
    if (mpz_sizeinbase(mpq_denref(q), 2) == shift + 1) { /* a power of 2 */
        arf_set_mpz(arb_midref(B(r)), mpq_numref(q));
        arf_mul_2exp_si(arb_midref(B(r)), arb_midref(B(r)), -(slong)shift);
        mag_zero(arb_radref(B(r)));
        arb_set_round(B(r), B(r), working_prec);
        return;
    }
    fmpq_t f;
    fmpq_init(f);
    fmpq_set_mpq(f, q);
    arb_set_fmpq(B(r), f, working_prec);
    fmpq_clear(f);
}

static void
b_add(void *r, const void *a, const void *b)
{
    arb_add(B(r), CB(a), CB(b), working_prec);
}

static void
b_sub(void *r, const void *a, const void *b)
{
    arb_sub(B(r), CB(a), CB(b), working_prec);
}

static void
b_mul(void *r, const void *a, const void *b)
{
    arb_mul(B(r), CB(a), CB(b), working_prec);
}

/* A quotient by a ball holding 0 is Arb's indeterminate ball (NaN
   midpoint, infinite radius), never the limits around the pole. */
static arith_status
b_div(void *r, const void *a, const void *b)
{
    arb_div(B(r), CB(a), CB(b), working_prec);
    return ARITH_OK;
}

/* a^b: for a point integer b a tight power (of the reciprocal when b < 0,
   indeterminate where a may be 0); otherwise exp(b log a), indeterminate
   where a reaches 0 or below. */
static arith_status
b_pow(void *r, const void *a, const void *b)
{
    if (arb_is_exact(CB(b)) && arf_is_int(arb_midref(CB(b))) &&
        arf_cmpabs_2exp_si(arb_midref(CB(b)), FLINT_BITS - 2) < 0) {
        slong n = arf_get_si(arb_midref(CB(b)), ARF_RND_DOWN);
        if (n < 0 && arb_contains_zero(CB(a)))
            arb_indeterminate(B(r));
        else if (n < 0) {
            arb_inv(B(r), CB(a), working_prec);
            arb_pow_ui(B(r), B(r), (ulong)-n, working_prec);
        } else
            arb_pow_ui(B(r), CB(a), (ulong)n, working_prec);
        return ARITH_OK;
    }
    arb_pow(B(r), CB(a), CB(b), working_prec);
    return ARITH_OK;
}

static void
b_neg(void *r, const void *a)
{
    arb_neg(B(r), CB(a));
}

static void
b_exp(void *r, const void *a)
{
    arb_exp(B(r), CB(a), working_prec);
}

/* log of the point 0 is the point -inf, as in MPFR and IEEE (Arb's would
   be indeterminate), so that -log(0) is +inf rather than no value. */
static void
b_log(void *r, const void *a)
{
    if (arb_is_zero(CB(a))) {
        arf_neg_inf(arb_midref(B(r)));
        mag_zero(arb_radref(B(r)));
    } else
        arb_log(B(r), CB(a), working_prec);
}

static void
b_tanh(void *r, const void *a)
{
    arb_tanh(B(r), CB(a), working_prec);
}

/* The indicator a > b (a >= b when OR_EQUAL) over balls: 1 or 0 where it
   holds or fails at every point of them, [0, 1] where they overlap,
   indeterminate when either is NaN. */
static void
b_step(void *r, const void *a, const void *b, int or_equal)
{
    if (arf_is_nan(arb_midref(CB(a))) || arf_is_nan(arb_midref(CB(b))))
        arb_indeterminate(B(r));
    else if (or_equal ? arb_ge(CB(a), CB(b)) : arb_gt(CB(a), CB(b)))
        arb_one(B(r));
    else if (or_equal ? arb_lt(CB(a), CB(b)) : arb_le(CB(a), CB(b)))
        arb_zero(B(r));
    else { /* 1/2 +- 1/2 */
        arf_one(arb_midref(B(r)));
        arf_mul_2exp_si(arb_midref(B(r)), arb_midref(B(r)), -1);
        mag_one(arb_radref(B(r)));
        mag_mul_2exp_si(arb_radref(B(r)), arb_radref(B(r)), -1);
    }
}

/* max(a, 0) over the ball: the ball's part at or above 0 (0 when it has
   none); a NaN stays NaN. */
static void
b_relu(void *r, const void *a)
{
    if (arf_is_nan(arb_midref(CB(a))))
        arb_indeterminate(B(r));
    else
        arb_nonnegative_part(B(r), CB(a));
}

/* max(a, b) and min(a, b) over balls (Arb's, which enclose them at every
   pair of points); NaN when either is NaN, as NumPy's. */
static void
b_max(void *r, const void *a, const void *b)
{
    if (arf_is_nan(arb_midref(CB(a))) || arf_is_nan(arb_midref(CB(b))))
        arb_indeterminate(B(r));
    else
        arb_max(B(r), CB(a), CB(b), working_prec);
}

static void
b_min(void *r, const void *a, const void *b)
{
    if (arf_is_nan(arb_midref(CB(a))) || arf_is_nan(arb_midref(CB(b))))
        arb_indeterminate(B(r));
    else
        arb_min(B(r), CB(a), CB(b), working_prec);
}

static void
b_abs(void *r, const void *a)
{
    arb_abs(B(r), CB(a));
}

/* The square root; of a ball reaching below 0, Arb's indeterminate ball. */
static arith_status
b_sqrt(void *r, const void *a)
{
    arb_sqrt(B(r), CB(a), working_prec);
    return ARITH_OK;
}

static void
b_log1p(void *r, const void *a)
{
    arb_log1p(B(r), CB(a), working_prec);
}

/* R = the sum of A[k * ASTEP] * B[k * BSTEP], k < LEN, in one rounding. */
static void
b_dot(void *r, const void *a, long astep, const void *b, long bstep, long len)
{
    arb_dot(B(r), NULL, 0, CB(a), astep, CB(b), bstep, len, working_prec);
}

/* An Arb matrix over the ROWS x COLS entries of X, entry (i, j) at
   X[i * SI + j * SJ], into *W: its rows point into X where they are
   contiguous (SJ = 1), else into COPY (ROWS * COLS structs, or NULL when
   not needed), shallow copies of the entries that share their limbs: the
   product only reads them. ROWP holds ROWS row pointers. */
static void
window(arb_mat_struct *w, arb_ptr *rowp, arb_ptr copy, arb_srcptr x, long si, long sj, long rows,
       long cols)
{
    for (long i = 0; i < rows; i++) {
        if (sj == 1)
            rowp[i] = (arb_ptr)x + i * si;
        else {
            rowp[i] = copy + i * cols;
            for (long j = 0; j < cols; j++)
                rowp[i][j] = x[i * si + j * sj];
        }
    }
    w->entries = rowp[0];
    w->r = rows;
    w->c = cols;
    w->rows = rowp;
}

/* R (ROWS x COLS, row-major) = A (ROWS x INNER) @ B (INNER x COLS), read
   through strides as window says: Arb's matrix product, which for large
   matrices multiplies exact integer matrices, far fewer operations than a
   dot product per entry. */
static void
b_matmul(void *r, const void *a, long a_si, long a_sj, const void *b, long b_si, long b_sj,
         long rows, long inner, long cols)
{
    arb_ptr *rowp = flint_malloc(sizeof *rowp * (size_t)(2 * rows + inner));
    arb_ptr copy_a = a_sj == 1 ? NULL : flint_malloc(sizeof(arb_struct) * (size_t)(rows * inner));
    arb_ptr copy_b = b_sj == 1 ? NULL : flint_malloc(sizeof(arb_struct) * (size_t)(inner * cols));
    arb_mat_struct wa, wb, wr;
    window(&wa, rowp, copy_a, CB(a), a_si, a_sj, rows, inner);
    window(&wb, rowp + rows, copy_b, CB(b), b_si, b_sj, inner, cols);
    window(&wr, rowp + rows + inner, NULL, B(r), cols, 1, rows, cols);
    arb_mat_mul(&wr, &wa, &wb, working_prec);
    flint_free(copy_b);
    flint_free(copy_a);
    flint_free(rowp);
}

const arith ball_arith = {
    .kind = NUMBER_BALL,
    .size = sizeof(arb_struct),
    .shift_softmax = 0,
    .limb_bytes = b_limb_bytes,
    .init = b_init,
    .clear = b_clear,
    .set = b_set,
    .set_si = b_set_si,
    .set_q = b_set_q,
    .add = b_add,
    .sub = b_sub,
    .mul = b_mul,
    .div = b_div,
    .pow = b_pow,
    .neg = b_neg,
    .exp = b_exp,
    .log = b_log,
    .tanh = b_tanh,
    .step = b_step,
    .relu = b_relu,
    .max = b_max,
    .min = b_min,
    .abs = b_abs,
    .sqrt = b_sqrt,
    .log1p = b_log1p,
    .at_prec = b_at_prec,
    .dot = b_dot,
    .matmul = b_matmul,
};

/* The ball of SRC, a number of kind FROM (exact, MPFR or double): exact
   but for a rational that the precision cannot hold. */
int
ball_convert(void *r, number_kind from, const void *src)
{
    switch (from) {
    case NUMBER_EXACT:
        b_set_q(r, *(const mpq_t *)src);
        break;
    case NUMBER_MPFR:
        arf_set_mpfr(arb_midref(B(r)), *(const mpfr_t *)src);
        mag_zero(arb_radref(B(r)));
        break;
    case NUMBER_DOUBLE:
        arb_set_d(B(r), *(const double *)src);
        break;
    case NUMBER_BALL:
        arb_set(B(r), CB(src));
        break;
    case NUMBER_INTERVAL: /* not bound across kinds: eval_bind refuses it */
        arb_indeterminate(B(r));
        break;
    }
    return 1;
}

void
ball_free_cache(void)
{
    flint_cleanup();
}

int
ball_bounds(mpfr_ptr lo, mpfr_ptr hi, const arb_t x)
{
    if (arf_is_nan(arb_midref(x))) {
        mpfr_set_nan(lo);
        mpfr_set_nan(hi);
        return 0;
    }
    arf_t end;
    arf_init(end);
    slong prec =
        (slong)(mpfr_get_prec(lo) > mpfr_get_prec(hi) ? mpfr_get_prec(lo) : mpfr_get_prec(hi));
    arb_get_lbound_arf(end, x, prec);
    arf_get_mpfr(lo, end, MPFR_RNDD);
    arb_get_ubound_arf(end, x, prec);
    arf_get_mpfr(hi, end, MPFR_RNDU);
    arf_clear(end);
    return 1;
}
