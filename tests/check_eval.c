/* check_eval.c: the evaluator in exact, MPFR and double numbers, against hand-computed values. */
#include <check.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "num/eval.h"
#include "lang/parse.h"
#include "testutil.h"

static mem_pool *pool, *err_pool;
static dc_error err;
static model *mdl;
static char why[512];

static void
setup(void)
{
    pool = mem_pool_new();
    err_pool = mem_pool_new();
    memset(&err, 0, sizeof err);
    mdl = NULL;
    why[0] = '\0';
}

static void
teardown(void)
{
    model_free(mdl);
    mem_pool_free(err_pool);
    mem_pool_free(pool);
}

static void
parse_text(const char *text)
{
    source src = {"test.dc", text, strlen(text)};
    mdl = parse_model(&src, &err, err_pool);
    ck_assert_msg(mdl != NULL, "parse failed: %s", mdl ? "" : err.formatted);
}

static const symbol *
sym(const char *name)
{
    const symbol *s = model_lookup(mdl, name, strlen(name));
    ck_assert_msg(s != NULL, "no symbol '%s'", name);
    return s;
}

/* The term a definition stands for, as other terms refer to it. */
static const term *
ref(const char *name)
{
    return term_symbol(mdl->terms, sym(name));
}

/* Evaluate the symbol NAME, which must succeed. */
static const value *
eval_ok(evaluator *ev, const char *name)
{
    const value *v = NULL;
    int ok = eval_term(ev, ref(name), &v, why, sizeof why);
    ck_assert_msg(ok, "evaluating %s failed: %s", name, why);
    ck_assert_ptr_nonnull(v);
    return v;
}

/* Evaluate the symbol NAME, which must fail; the reason is left in why. */
static void
eval_fails(evaluator *ev, const char *name)
{
    const value *v = NULL;
    why[0] = '\0';
    ck_assert_msg(!eval_term(ev, ref(name), &v, why, sizeof why), "evaluating %s succeeded", name);
    ck_assert_msg(why[0] != '\0', "no reason given for %s", name);
}

/* Set entry (I, J) of V to NUM/DEN, in whatever kind V holds. */
static void
set_entry(value *v, long i, long j, long num, long den)
{
    mpq_t q;
    mpq_init(q);
    mpq_set_si(q, num, (unsigned long)den);
    mpq_canonicalize(q);
    if (v->kind == NUMBER_EXACT)
        mpq_set(*eval_q(v, i, j), q);
    else if (v->kind == NUMBER_MPFR)
        mpfr_set_q(*eval_fr(v, i, j), q, MPFR_RNDN);
    else if (v->kind == NUMBER_INTERVAL)
        mpfi_set_q(*eval_fi(v, i, j), q);
    else if (v->kind == NUMBER_BALL) {
        arb_set_si(eval_ball(v, i, j), num);
        arb_div_si(eval_ball(v, i, j), eval_ball(v, i, j), den, 64);
    } else
        *eval_d(v, i, j) = (double)num / (double)den;
    mpq_clear(q);
}

/* Bind NAME to a ROWS x COLS value of integers NUMS (row-major). */
static void
bind_ints(evaluator *ev, const char *name, int rank, long rows, long cols, const long *nums)
{
    value *v = eval_new_value(ev, rank, rows, cols);
    ck_assert_ptr_nonnull(v);
    for (long i = 0; i < rows; i++)
        for (long j = 0; j < cols; j++)
            set_entry(v, i, j, nums[i * cols + j], 1);
    eval_bind(ev, sym(name), v);
}

static void
bind_frac(evaluator *ev, const char *name, long num, long den)
{
    value *v = eval_new_value(ev, 0, 1, 1);
    set_entry(v, 0, 0, num, den);
    eval_bind(ev, sym(name), v);
}

static void
assert_dims(const value *v, int rank, long rows, long cols)
{
    ck_assert_int_eq(v->rank, rank);
    ck_assert_int_eq(v->rows, rows);
    ck_assert_int_eq(v->cols, cols);
}

/* Entry (I, J) of the exact value V is NUM/DEN. */
static void
assert_q(const value *v, long i, long j, long num, long den)
{
    mpq_t want;
    mpq_init(want);
    mpq_set_si(want, num, (unsigned long)den);
    mpq_canonicalize(want);
    mpq_t *got = eval_q(v, i, j);
    ck_assert_ptr_nonnull(got);
    int same = mpq_equal(*got, want);
    if (!same)
        gmp_fprintf(stderr, "entry [%ld, %ld]: got %Qd, want %Qd\n", i, j, *got, want);
    mpq_clear(want);
    ck_assert_msg(same, "entry [%ld, %ld] differs", i, j);
}

/* The sign of |D| - 2^E; a NaN counts as large. */
static int
cmpabs_2exp(const mpfr_t d, long e)
{
    if (mpfr_nan_p(d))
        return 1;
    mpfr_t p;
    mpfr_init2(p, 2);
    mpfr_set_ui_2exp(p, 1, e, MPFR_RNDN);
    int c = mpfr_cmpabs(d, p);
    mpfr_clear(p);
    return c;
}

/* ---------------------------------------------------------------- exact */

static const char affine_model[] = "dims n_x = 3, n_h = 2\n"
                                   "batch m = 2\n"
                                   "input X[n_x, m]\n"
                                   "param W[n_h, n_x], b[n_h, 1]\n"
                                   "Z = W @ X + b\n"
                                   "loss J = 1/m * sum(Z)\n";

START_TEST(affine_layer_exact)
{
    parse_text(affine_model);
    evaluator *ev = eval_new(pool, NUMBER_EXACT, 0);
    const long W[] = {1, 2, 3, 4, 5, 6}, X[] = {1, -1, 0, 2, 2, 1};
    bind_ints(ev, "W", 2, 2, 3, W);
    bind_ints(ev, "X", 2, 3, 2, X);
    value *b = eval_new_value(ev, 2, 2, 1);
    set_entry(b, 0, 0, 1, 2);
    set_entry(b, 1, 0, -1, 1);
    eval_bind(ev, sym("b"), b);
    /* by hand: W @ X = [[1+0+6, -1+4+3], [4+0+12, -4+10+6]] = [[7, 6], [16, 12]] */
    const value *Z = eval_ok(ev, "Z");
    assert_dims(Z, 2, 2, 2);
    assert_q(Z, 0, 0, 15, 2);
    assert_q(Z, 0, 1, 13, 2);
    assert_q(Z, 1, 0, 15, 1);
    assert_q(Z, 1, 1, 11, 1);
    /* the dim m evaluates to its size: J = (15/2 + 13/2 + 15 + 11) / 2 = 20 */
    const value *J = eval_ok(ev, "J");
    assert_dims(J, 0, 1, 1);
    assert_q(J, 0, 0, 20, 1);
    eval_free(ev);
}
END_TEST

static const char shapes_model[] = "dims n = 2, k = 3\n"
                                   "input C[n, 1], R[1, k], s, v[k], u[n], M[n, k]\n"
                                   "P = C + R\n"
                                   "Q = M * v\n"
                                   "S = s * M - C\n"
                                   "V = v + s\n"
                                   "D = M / C\n"
                                   "S0 = sum(M, axis=0)\n"
                                   "S0k = sum(M, axis=0, keepdims=True)\n"
                                   "S1 = sum(M, axis=1)\n"
                                   "S1k = sum(M, axis=1, keepdims=True)\n"
                                   "SA = sum(M)\n"
                                   "SAk = sum(M, axis=None, keepdims=True)\n"
                                   "Sv = sum(v)\n"
                                   "MV = M @ v\n"
                                   "VM = v @ M.T\n"
                                   "VV = v @ v\n"
                                   "CR = C @ R\n"
                                   "MT = M.T\n"
                                   "VT = v.T\n"
                                   "K = sum(S0) + sum(S1) + SA + Sv + sum(MV) + sum(VM) + VV"
                                   " + sum(CR) + sum(MT) + sum(VT) + sum(Q) + sum(S) + sum(V)\n"
                                   "loss J = sum(P)\n";

static const long C_[] = {2, 5}, R_[] = {1, -1, 3}, s_ = 3, v_[] = {2, -3, 7}, u_[] = {-4, 9},
                  M_[] = {1, 2, 3, 4, 5, 6};

static evaluator *
shapes_evaluator(number_kind kind)
{
    parse_text(shapes_model);
    evaluator *ev = eval_new(pool, kind, 128);
    bind_ints(ev, "C", 2, 2, 1, C_);
    bind_ints(ev, "R", 2, 1, 3, R_);
    bind_ints(ev, "s", 0, 1, 1, &s_);
    bind_ints(ev, "v", 1, 1, 3, v_);
    bind_ints(ev, "u", 1, 1, 2, u_);
    bind_ints(ev, "M", 2, 2, 3, M_);
    return ev;
}

START_TEST(broadcasting_column_row_scalar_vector)
{
    evaluator *ev = shapes_evaluator(NUMBER_EXACT);
    const value *P = eval_ok(ev, "P"), *Q = eval_ok(ev, "Q"), *S = eval_ok(ev, "S");
    const value *V = eval_ok(ev, "V"), *D = eval_ok(ev, "D");
    assert_dims(P, 2, 2, 3);
    assert_dims(Q, 2, 2, 3);
    assert_dims(S, 2, 2, 3);
    assert_dims(D, 2, 2, 3);
    assert_dims(V, 1, 1, 3);
    for (long i = 0; i < 2; i++)
        for (long j = 0; j < 3; j++) {
            assert_q(P, i, j, C_[i] + R_[j], 1);              /* [n,1] + [1,k] */
            assert_q(Q, i, j, M_[i * 3 + j] * v_[j], 1);      /* [n,k] * [k] */
            assert_q(S, i, j, s_ * M_[i * 3 + j] - C_[i], 1); /* scalar, then [n,1] */
            assert_q(D, i, j, M_[i * 3 + j], C_[i]);          /* exact quotients */
        }
    for (long j = 0; j < 3; j++)
        assert_q(V, 0, j, v_[j] + s_, 1);
    eval_free(ev);
}
END_TEST

START_TEST(sums_over_each_axis)
{
    evaluator *ev = shapes_evaluator(NUMBER_EXACT);
    /* M = [[1, 2, 3], [4, 5, 6]] */
    const value *S0 = eval_ok(ev, "S0"), *S0k = eval_ok(ev, "S0k");
    assert_dims(S0, 1, 1, 3);
    assert_dims(S0k, 2, 1, 3);
    for (long j = 0; j < 3; j++) {
        assert_q(S0, 0, j, M_[j] + M_[3 + j], 1);
        assert_q(S0k, 0, j, M_[j] + M_[3 + j], 1);
    }
    const value *S1 = eval_ok(ev, "S1"), *S1k = eval_ok(ev, "S1k");
    assert_dims(S1, 1, 1, 2);
    assert_dims(S1k, 2, 2, 1);
    assert_q(S1, 0, 0, 6, 1);
    assert_q(S1, 0, 1, 15, 1);
    assert_q(S1k, 0, 0, 6, 1);
    assert_q(S1k, 1, 0, 15, 1);
    const value *SA = eval_ok(ev, "SA"), *SAk = eval_ok(ev, "SAk"), *Sv = eval_ok(ev, "Sv");
    assert_dims(SA, 0, 1, 1);
    assert_dims(SAk, 2, 1, 1);
    assert_dims(Sv, 0, 1, 1);
    assert_q(SA, 0, 0, 21, 1);
    assert_q(SAk, 0, 0, 21, 1);
    assert_q(Sv, 0, 0, 6, 1);
    eval_free(ev);
}
END_TEST

START_TEST(matmul_with_vectors_and_transpose)
{
    evaluator *ev = shapes_evaluator(NUMBER_EXACT);
    /* M @ v: [1*2 - 2*3 + 3*7, 4*2 - 5*3 + 6*7] = [17, 35]; v @ M.T is the same */
    const value *MV = eval_ok(ev, "MV"), *VM = eval_ok(ev, "VM"), *VV = eval_ok(ev, "VV");
    assert_dims(MV, 1, 1, 2);
    assert_dims(VM, 1, 1, 2);
    assert_q(MV, 0, 0, 17, 1);
    assert_q(MV, 0, 1, 35, 1);
    assert_q(VM, 0, 0, 17, 1);
    assert_q(VM, 0, 1, 35, 1);
    assert_dims(VV, 0, 1, 1);
    assert_q(VV, 0, 0, 4 + 9 + 49, 1);
    const value *CR = eval_ok(ev, "CR"); /* an outer product [n,1] @ [1,k] */
    assert_dims(CR, 2, 2, 3);
    for (long i = 0; i < 2; i++)
        for (long j = 0; j < 3; j++)
            assert_q(CR, i, j, C_[i] * R_[j], 1);
    const value *MT = eval_ok(ev, "MT"), *VT = eval_ok(ev, "VT");
    assert_dims(MT, 2, 3, 2);
    for (long i = 0; i < 2; i++)
        for (long j = 0; j < 3; j++)
            assert_q(MT, j, i, M_[i * 3 + j], 1);
    assert_dims(VT, 1, 1, 3); /* a 1-D value is its own transpose */
    for (long j = 0; j < 3; j++)
        assert_q(VT, 0, j, v_[j], 1);
    eval_free(ev);
}
END_TEST

/* A broadcast term built as the adjoint of a sum would build it. */
static const term *
broadcast_to(const char *arg, const shape *to, int axis)
{
    char swhy[SHAPE_WHY];
    const term *t = term_broadcast(mdl->terms, ref(arg), to, axis, swhy);
    ck_assert_msg(t != NULL, "term_broadcast: %s", swhy);
    return t;
}

START_TEST(broadcast_along_each_axis)
{
    evaluator *ev = shapes_evaluator(NUMBER_EXACT);
    shape nk = {2, {dim_symbol(sym("n")), dim_symbol(sym("k"))}};
    shape k = {1, {dim_symbol(sym("k")), dim_literal(0)}};
    const value *b;
    /* u[n] along axis 1 (undoing sum(., axis=1)): row i is u[i] throughout */
    ck_assert(eval_term(ev, broadcast_to("u", &nk, 1), &b, why, sizeof why));
    assert_dims(b, 2, 2, 3);
    for (long i = 0; i < 2; i++)
        for (long j = 0; j < 3; j++)
            assert_q(b, i, j, u_[i], 1);
    /* v[k] along axis 0: column j is v[j] throughout; NumPy's -1 agrees */
    for (int axis = 0; axis >= -1; axis--) {
        ck_assert(eval_term(ev, broadcast_to("v", &nk, axis), &b, why, sizeof why));
        assert_dims(b, 2, 2, 3);
        for (long i = 0; i < 2; i++)
            for (long j = 0; j < 3; j++)
                assert_q(b, i, j, v_[j], 1);
    }
    /* C[n, 1] (a sum that kept its dims) along axis 1 */
    ck_assert(eval_term(ev, broadcast_to("C", &nk, 1), &b, why, sizeof why));
    for (long i = 0; i < 2; i++)
        for (long j = 0; j < 3; j++)
            assert_q(b, i, j, C_[i], 1);
    /* the scalar s to [k] */
    ck_assert(eval_term(ev, broadcast_to("s", &k, 0), &b, why, sizeof why));
    assert_dims(b, 1, 1, 3);
    for (long j = 0; j < 3; j++)
        assert_q(b, 0, j, s_, 1);
    eval_free(ev);
}
END_TEST

static const char scalar_model[] = "input x, z\n"
                                   "P = x ** -2\n"
                                   "Zn = z ** -1\n"
                                   "H = x ** (1/2)\n"
                                   "E = exp(x)\n"
                                   "Q = x / z\n"
                                   "N = (-1) ** -3\n"
                                   "Big = 3 ** 100000000000\n"
                                   "G = (x > 2/3) + (x >= 2/3) + relu(x - 1) + relu(1 - x)\n"
                                   "loss J = P\n";

START_TEST(powers_and_refusals_exact)
{
    parse_text(scalar_model);
    evaluator *ev = eval_new(pool, NUMBER_EXACT, 0);
    bind_frac(ev, "x", 2, 3);
    bind_frac(ev, "z", 0, 1);
    assert_q(eval_ok(ev, "P"), 0, 0, 9, 4); /* (2/3)^-2 */
    assert_q(eval_ok(ev, "N"), 0, 0, -1, 1);
    /* step and relu at x = 2/3: 0 + 1 + 0 + 1/3 */
    assert_q(eval_ok(ev, "G"), 0, 0, 4, 3);
    eval_fails(ev, "Zn");
    ck_assert_msg(strstr(why, "0 to a negative power") != NULL, "%s", why);
    eval_fails(ev, "Q");
    ck_assert_msg(strstr(why, "division by zero") != NULL, "%s", why);
    eval_fails(ev, "H");
    ck_assert_msg(strstr(why, "integer exponent") != NULL, "%s", why);
    eval_fails(ev, "Big");
    ck_assert_msg(strstr(why, "too large") != NULL, "%s", why);
    eval_fails(ev, "E");
    ck_assert_str_eq(why, "exact evaluation cannot compute exp (its values are not rational): "
                          "bind the definition that uses it as a free variable, or evaluate in "
                          "MPFR");
    eval_free(ev);
}
END_TEST

static const char free_model[] = "dims n = 2\n"
                                 "input Zi[n]\n"
                                 "A = sigmoid(Zi)\n"
                                 "B = 1 - A\n"
                                 "loss J = sum(B)\n";

START_TEST(definition_bound_as_free_variable)
{
    parse_text(free_model);
    evaluator *ev = eval_new(pool, NUMBER_EXACT, 0);
    eval_fails(ev, "B"); /* Zi has no value, and sigmoid is not rational anyway */
    value *a = eval_new_value(ev, 1, 1, 2);
    set_entry(a, 0, 0, 1, 3);
    set_entry(a, 0, 1, 3, 4);
    eval_bind(ev, sym("A"), a);
    const value *B = eval_ok(ev, "B");
    assert_dims(B, 1, 1, 2);
    assert_q(B, 0, 0, 2, 3);
    assert_q(B, 0, 1, 1, 4);
    assert_q(eval_ok(ev, "J"), 0, 0, 11, 12);
    eval_free(ev);
}
END_TEST

/* ---------------------------------------------------------------- MPFR */

static const char mpfr_model[] = "dims n = 3, k = 2\n"
                                 "input x, Z[n, k]\n"
                                 "S = sigmoid(x)\n"
                                 "T = tanh(x)\n"
                                 "P0 = softmax(Z, axis=0)\n"
                                 "P1 = softmax(Z, axis=1)\n"
                                 "L = log(exp(x))\n"
                                 "R = 1 / x\n"
                                 "H = x ** (1/2)\n"
                                 "loss J = S\n";

START_TEST(mpfr_at_256_bits)
{
    parse_text(mpfr_model);
    evaluator *ev = eval_new(pool, NUMBER_MPFR, 256);
    bind_frac(ev, "x", 0, 1);
    const value *S = eval_ok(ev, "S");
    ck_assert_int_eq(mpfr_get_prec(*eval_fr(S, 0, 0)), 256);
    ck_assert_int_eq(mpfr_cmp_d(*eval_fr(S, 0, 0), 0.5), 0);

    bind_frac(ev, "x", 1, 2);
    mpfr_t want, d;
    mpfr_inits2(256, want, d, (mpfr_ptr)0);
    mpfr_set_d(want, 0.5, MPFR_RNDN);
    mpfr_tanh(want, want, MPFR_RNDN);
    ck_assert(mpfr_equal_p(*eval_fr(eval_ok(ev, "T"), 0, 0), want));
    /* log(exp(x)) within 2^-250 of x, and a fractional power is sqrt */
    for (long num = -7; num <= 7; num += 2) {
        bind_frac(ev, "x", num, 3);
        mpfr_set_si(want, num, MPFR_RNDN);
        mpfr_div_ui(want, want, 3, MPFR_RNDN);
        mpfr_sub(d, *eval_fr(eval_ok(ev, "L"), 0, 0), want, MPFR_RNDN);
        ck_assert_msg(cmpabs_2exp(d, -250) <= 0, "log(exp(%ld/3))", num);
    }
    bind_frac(ev, "x", 2, 1);
    mpfr_sqrt_ui(want, 2, MPFR_RNDN);
    ck_assert(mpfr_equal_p(*eval_fr(eval_ok(ev, "H"), 0, 0), want));

    const long Z[] = {1, -2, 30, 4, -5, 0};
    bind_ints(ev, "Z", 2, 3, 2, Z);
    const value *P0 = eval_ok(ev, "P0"), *P1 = eval_ok(ev, "P1");
    for (long j = 0; j < 2; j++) { /* columns of P0 sum to 1 */
        mpfr_set_si(d, -1, MPFR_RNDN);
        for (long i = 0; i < 3; i++)
            mpfr_add(d, d, *eval_fr(P0, i, j), MPFR_RNDN);
        ck_assert_msg(cmpabs_2exp(d, -250) <= 0, "column %ld", j);
    }
    for (long i = 0; i < 3; i++) { /* rows of P1 sum to 1 */
        mpfr_add(d, *eval_fr(P1, i, 0), *eval_fr(P1, i, 1), MPFR_RNDN);
        mpfr_sub_ui(d, d, 1, MPFR_RNDN);
        ck_assert_msg(cmpabs_2exp(d, -250) <= 0, "row %ld", i);
    }
    /* P1[0, 0] = e^1 / (e^1 + e^-2) = 1 / (1 + e^-3) */
    mpfr_set_si(want, -3, MPFR_RNDN);
    mpfr_exp(want, want, MPFR_RNDN);
    mpfr_add_ui(want, want, 1, MPFR_RNDN);
    mpfr_ui_div(want, 1, want, MPFR_RNDN);
    mpfr_sub(d, *eval_fr(P1, 0, 0), want, MPFR_RNDN);
    ck_assert(cmpabs_2exp(d, -250) <= 0);
    mpfr_clears(want, d, (mpfr_ptr)0);
    eval_free(ev);
}
END_TEST

/* 1/3 at PREC bits, as the evaluator computes it. */
static void
third_at(mpfr_t out, long prec)
{
    evaluator *ev = eval_new(pool, NUMBER_MPFR, prec);
    bind_frac(ev, "x", 3, 1);
    const value *R = eval_ok(ev, "R");
    ck_assert_int_eq(mpfr_get_prec(*eval_fr(R, 0, 0)), prec);
    mpfr_set(out, *eval_fr(R, 0, 0), MPFR_RNDN);
    eval_free(ev);
}

START_TEST(mpfr_precision_is_honoured)
{
    parse_text(mpfr_model);
    mpfr_t r64, r256, d;
    mpfr_inits2(512, r64, r256, d, (mpfr_ptr)0);
    third_at(r64, 64);
    third_at(r256, 256);
    mpfr_sub(d, r64, r256, MPFR_RNDN);
    mpfr_div(d, d, r256, MPFR_RNDN);
    ck_assert(cmpabs_2exp(d, -70) > 0);
    ck_assert(cmpabs_2exp(d, -62) < 0);
    /* and 1/3 at 256 bits is within half an ulp of the true 1/3 */
    mpfr_ui_div(d, 1, r256, MPFR_RNDN);
    mpfr_sub_ui(d, d, 3, MPFR_RNDN);
    ck_assert(cmpabs_2exp(d, -250) < 0);
    mpfr_clears(r64, r256, d, (mpfr_ptr)0);
    ck_assert_ptr_null(eval_new(pool, NUMBER_MPFR, 0)); /* below MPFR_PREC_MIN */
}
END_TEST

/* ---------------------------------------------------------------- intervals */

static const char interval_model[] = "dims n = 3, k = 2\n"
                                     "input x, Z[n, k]\n"
                                     "S = sigmoid(x)\n"
                                     "T = tanh(x)\n"
                                     "P0 = softmax(Z, axis=0)\n"
                                     "P1 = softmax(Z, axis=1)\n"
                                     "L = log(exp(x))\n"
                                     "R = 1 / x\n"
                                     "H = x ** (1/2)\n"
                                     "C = x ** 3 - x ** -2 + x ** 2 - (-x) ** 4\n"
                                     "U = relu(x) + (x > 0) + (x >= 0)\n"
                                     "M = x * (Z.T @ Z) + sum(Z, axis=0)\n"
                                     "loss J = S\n";

/* Every operation's interval at 64 bits holds the value MPFR computes at
   1024 bits (the true value, to far below the interval's width) and is no
   wider than a few units of its last place; where MPFR gives a NaN or an
   infinity the interval is not a bounded one. */
/* NAME's interval in FI (64 bits) holds its value in FR (1024 bits, the
   true value to far below the interval's width) and is no wider than a few
   units of its last place; where MPFR gives a NaN or an infinity the
   interval is not a bounded one. X = NUM/DEN names the point in messages. */
static void
assert_encloses(evaluator *fi, evaluator *fr, const char *name, long num, long den)
{
    const value *a = eval_ok(fi, name), *b = eval_ok(fr, name);
    ck_assert_int_eq(a->rows, b->rows);
    ck_assert_int_eq(a->cols, b->cols);
    mpfr_t w, bound;
    mpfr_inits2(1024, w, bound, (mpfr_ptr)0);
    for (long i = 0; i < a->rows; i++)
        for (long j = 0; j < a->cols; j++) {
            mpfi_ptr x = *eval_fi(a, i, j);
            mpfr_set(w, *eval_fr(b, i, j), MPFR_RNDN);
            if (!mpfr_number_p(w)) {
                ck_assert_msg(mpfi_nan_p(x) || mpfi_inf_p(x), "%s at x = %ld/%ld", name, num, den);
                continue;
            }
            ck_assert_msg(mpfr_lessequal_p(&x->left, w) && mpfr_lessequal_p(w, &x->right),
                          "%s[%ld, %ld] at x = %ld/%ld is outside its interval", name, i, j, num,
                          den);
            /* width at most 2^-56 max(1, |w|): a few ulps at 64 bits */
            mpfr_abs(bound, w, MPFR_RNDN);
            if (mpfr_cmp_ui(bound, 1) < 0)
                mpfr_set_ui(bound, 1, MPFR_RNDN);
            mpfr_mul_2si(bound, bound, -56, MPFR_RNDN);
            mpfr_sub(w, &x->right, &x->left, MPFR_RNDU);
            ck_assert_msg(mpfr_lessequal_p(w, bound), "%s[%ld, %ld] at x = %ld/%ld: too wide", name,
                          i, j, num, den);
        }
    mpfr_clears(w, bound, (mpfr_ptr)0);
}

START_TEST(intervals_enclose_every_operation)
{
    parse_text(interval_model);
    static const char *const names[] = {"S", "T", "P0", "P1", "L", "R", "H", "C", "U", "M"};
    static const long xs[][2] = {{-7, 3}, {-1, 2}, {0, 1}, {1, 3}, {2, 1}, {9, 2}};
    const long Z[] = {1, -2, 30, 4, -5, 0};
    for (size_t p = 0; p < sizeof xs / sizeof xs[0]; p++) {
        evaluator *fi = eval_new(pool, NUMBER_INTERVAL, 64);
        evaluator *fr = eval_new(pool, NUMBER_MPFR, 1024);
        ck_assert_ptr_nonnull(fi);
        ck_assert_int_eq(eval_kind(fi), NUMBER_INTERVAL);
        bind_frac(fi, "x", xs[p][0], xs[p][1]);
        bind_frac(fr, "x", xs[p][0], xs[p][1]);
        bind_ints(fi, "Z", 2, 3, 2, Z);
        bind_ints(fr, "Z", 2, 3, 2, Z);
        for (size_t k = 0; k < sizeof names / sizeof names[0]; k++)
            assert_encloses(fi, fr, names[k], xs[p][0], xs[p][1]);
        if (xs[p][0] == 0) { /* the kinks at 0: points, exactly */
            mpfi_ptr u = *eval_fi(eval_ok(fi, "U"), 0, 0);
            ck_assert(mpfr_cmp_ui(&u->left, 1) == 0 && mpfr_cmp_ui(&u->right, 1) == 0);
        }
        eval_free(fr);
        eval_free(fi);
    }
}
END_TEST

/* A comparison that differs across its interval is [0, 1], and relu of an
   interval around 0 starts at 0: enclosures, not guesses. */
START_TEST(interval_kinks_enclose_both_sides)
{
    parse_text(interval_model);
    evaluator *fi = eval_new(pool, NUMBER_INTERVAL, 64);
    evaluator *ex = eval_new(pool, NUMBER_EXACT, 0);
    value *x = eval_new_value(fi, 0, 1, 1);
    mpfi_interv_si(*eval_fi(x, 0, 0), -1, 2);
    eval_bind(fi, sym("x"), x);
    mpfi_ptr u = *eval_fi(eval_ok(fi, "U"), 0, 0);
    /* relu([-1, 2]) = [0, 2], (x > 0) and (x >= 0) are [0, 1] each */
    ck_assert(mpfr_cmp_ui(&u->left, 0) == 0 && mpfr_cmp_ui(&u->right, 4) == 0);
    /* an interval binds only where intervals are computed */
    eval_bind(ex, sym("x"), x);
    eval_fails(ex, "U");
    eval_free(ex);
    eval_free(fi);
}
END_TEST

/* Where the exact operands may meet a point without a value, the interval
   is NaN, not the limits MPFI encloses around it: those would give digits
   later (0 * [-inf, inf] is 0 in MPFI). Each case: a and b as intervals
   (an end of +-1000 stands for an infinity), the terms that must be NaN,
   and those that must not. */
static const char undefined_model[] = "input a, b\n"
                                      "D = a / b\n"
                                      "M = a * b\n"
                                      "S = a + b\n"
                                      "T = a - b\n"
                                      "P = a ** -1\n"
                                      "Z = 0 * (a / b)\n"
                                      "loss J = D\n";

/* An interval [LO, HI] with +-1000 as the infinities. */
static value *
interval_of(evaluator *ev, long lo, long hi)
{
    value *v = eval_new_value(ev, 0, 1, 1);
    mpfi_ptr x = *eval_fi(v, 0, 0);
    mpfi_interv_si(x, lo, hi);
    if (lo == -1000)
        mpfr_set_inf(&x->left, -1);
    if (hi == 1000)
        mpfr_set_inf(&x->right, 1);
    return v;
}

START_TEST(intervals_nan_where_no_value)
{
    static const struct {
        long a_lo, a_hi, b_lo, b_hi;
        const char *nan, *finite; /* the names, one letter each */
    } cases[] = {
        {1, 1, 0, 0, "DZ", "MSTP"},     /* 1 / 0 */
        {1, 1, -1, 2, "DZ", "MSTP"},    /* a quotient by an interval holding 0 */
        {0, 0, -1000, -5, "MP", "D"},   /* 0 * an infinity, 0 ** -1 */
        {-1000, 0, 1, 1000, "SMP", ""}, /* -inf + inf */
        {1, 1000, 2, 1000, "TD", "P"},  /* inf - inf, inf / inf */
        {-1, 1, 2, 3, "P", "DMSTZ"},    /* 1 / [-1, 1] */
        {1, 2, 3, 4, "", "DMSTPZ"},     /* nothing undefined */
    };
    parse_text(undefined_model);
    for (size_t k = 0; k < sizeof cases / sizeof cases[0]; k++) {
        evaluator *fi = eval_new(pool, NUMBER_INTERVAL, 64);
        eval_bind(fi, sym("a"), interval_of(fi, cases[k].a_lo, cases[k].a_hi));
        eval_bind(fi, sym("b"), interval_of(fi, cases[k].b_lo, cases[k].b_hi));
        for (const char *n = cases[k].nan; *n; n++) {
            char name[2] = {*n, 0};
            ck_assert_msg(mpfi_nan_p(*eval_fi(eval_ok(fi, name), 0, 0)), "case %zu: %s is not NaN",
                          k, name);
        }
        for (const char *n = cases[k].finite; *n; n++) {
            char name[2] = {*n, 0};
            mpfi_ptr x = *eval_fi(eval_ok(fi, name), 0, 0);
            ck_assert_msg(mpfr_number_p(&x->left) && mpfr_number_p(&x->right),
                          "case %zu: %s is not finite", k, name);
        }
        eval_free(fi);
    }
}
END_TEST

/* ---------------------------------------------------------------- balls */

/* Every operation's ball at P = 64 bits, against MPFR at 4 P = 256 bits
   (whose own error, below 2^-240 of the value here, is far below the
   ball's radius) and against the MPFI interval at 64 bits of the old
   certified table: the ball holds MPFR's value widened by that error,
   meets the interval, is no wider than a few units of the 64th bit, and
   where MPFR gives a NaN or an infinity the ball is no bounded one. */
START_TEST(balls_enclose_every_operation)
{
    parse_text(interval_model);
    static const char *const names[] = {"S", "T", "P0", "P1", "L", "R", "H", "C", "U", "M"};
    static const long xs[][2] = {{-7, 3}, {-1, 2}, {0, 1}, {1, 3}, {2, 1}, {9, 2}};
    const long Z[] = {1, -2, 30, 4, -5, 0};
    mpfr_t w, lo, hi, bound;
    mpfr_inits2(256, w, lo, hi, bound, (mpfr_ptr)0);
    for (size_t p = 0; p < sizeof xs / sizeof xs[0]; p++) {
        evaluator *b = eval_new(pool, NUMBER_BALL, 64), *fi = eval_new(pool, NUMBER_INTERVAL, 64);
        evaluator *fr = eval_new(pool, NUMBER_MPFR, 256);
        ck_assert_ptr_nonnull(b);
        ck_assert_int_eq(eval_kind(b), NUMBER_BALL);
        evaluator *all[] = {b, fi, fr};
        for (int e = 0; e < 3; e++) {
            bind_frac(all[e], "x", xs[p][0], xs[p][1]);
            bind_ints(all[e], "Z", 2, 3, 2, Z);
        }
        for (size_t k = 0; k < sizeof names / sizeof names[0]; k++) {
            const value *a = eval_ok(b, names[k]), *c = eval_ok(fr, names[k]);
            const value *in = eval_ok(fi, names[k]);
            ck_assert(a->rows == c->rows && a->cols == c->cols);
            for (long i = 0; i < a->rows; i++)
                for (long j = 0; j < a->cols; j++) {
                    arb_srcptr x = eval_ball(a, i, j);
                    mpfr_set(w, *eval_fr(c, i, j), MPFR_RNDN);
                    if (!mpfr_number_p(w)) {
                        ck_assert_msg(!arb_is_finite(x), "%s at x = %ld/%ld", names[k], xs[p][0],
                                      xs[p][1]);
                        continue;
                    }
                    ck_assert(ball_bounds(lo, hi, x));
                    /* MPFR's error: 2^-240 max(1, |w|) */
                    mpfr_abs(bound, w, MPFR_RNDN);
                    if (mpfr_cmp_ui(bound, 1) < 0)
                        mpfr_set_ui(bound, 1, MPFR_RNDN);
                    mpfr_mul_2si(bound, bound, -240, MPFR_RNDN);
                    mpfr_sub(lo, lo, bound, MPFR_RNDD);
                    mpfr_add(hi, hi, bound, MPFR_RNDU);
                    ck_assert_msg(mpfr_lessequal_p(lo, w) && mpfr_lessequal_p(w, hi),
                                  "%s[%ld, %ld] at x = %ld/%ld is outside its ball", names[k], i, j,
                                  xs[p][0], xs[p][1]);
                    mpfi_ptr old = *eval_fi(in, i, j);
                    ck_assert_msg(mpfr_lessequal_p(&old->left, hi) &&
                                      mpfr_lessequal_p(lo, &old->right),
                                  "%s[%ld, %ld] at x = %ld/%ld: ball and interval apart", names[k],
                                  i, j, xs[p][0], xs[p][1]);
                    /* width at most 2^-56 max(1, |w|): a few ulps at 64 bits */
                    mpfr_mul_2si(bound, bound, 240 - 56, MPFR_RNDN);
                    mpfr_sub(w, hi, lo, MPFR_RNDU);
                    ck_assert_msg(mpfr_lessequal_p(w, bound),
                                  "%s[%ld, %ld] at x = %ld/%ld: too wide", names[k], i, j, xs[p][0],
                                  xs[p][1]);
                }
        }
        if (xs[p][0] == 0) /* the kinks at 0: the point 1, exactly */
            ck_assert(arb_equal_si(eval_ball(eval_ok(b, "U"), 0, 0), 1));
        eval_free(fr);
        eval_free(fi);
        eval_free(b);
    }
    mpfr_clears(w, lo, hi, bound, (mpfr_ptr)0);
}
END_TEST

/* A ball [LO, HI] of integers. */
static value *
ball_of(evaluator *ev, long lo, long hi)
{
    value *v = eval_new_value(ev, 0, 1, 1);
    arf_t a, b;
    arf_init(a);
    arf_init(b);
    arf_set_si(a, lo);
    arf_set_si(b, hi);
    arb_set_interval_arf(eval_ball(v, 0, 0), a, b, 64);
    arf_clear(a);
    arf_clear(b);
    return v;
}

/* relu([-1, 2]) is [0, 2] and (x > 0), (x >= 0) are [0, 1] each, so U
   encloses [0, 4], tightly; a ball binds only where balls are computed. */
START_TEST(ball_kinks_enclose_both_sides)
{
    parse_text(interval_model);
    evaluator *b = eval_new(pool, NUMBER_BALL, 64), *ex = eval_new(pool, NUMBER_EXACT, 0);
    value *x = ball_of(b, -1, 2);
    eval_bind(b, sym("x"), x);
    mpfr_t lo, hi;
    mpfr_inits2(64, lo, hi, (mpfr_ptr)0);
    ck_assert(ball_bounds(lo, hi, eval_ball(eval_ok(b, "U"), 0, 0)));
    /* holds [0, 4], and is no wider than the radius' rounding (30 bits) */
    ck_assert(mpfr_cmp_ui(lo, 0) <= 0 && mpfr_cmp_ui(hi, 4) >= 0);
    ck_assert(mpfr_cmp_si_2exp(lo, -1, -20) > 0 && mpfr_cmp_ui_2exp(hi, (1 << 22) + 1, -20) < 0);
    mpfr_clears(lo, hi, (mpfr_ptr)0);
    eval_bind(ex, sym("x"), x);
    eval_fails(ex, "U");
    eval_free(ex);
    eval_free(b);
}
END_TEST

/* Where the exact operands may meet a point without a value (a quotient by
   a ball holding 0, and 0 times it), the ball encloses no number: never
   digits. Each case: a and b as balls, the terms that must be no number,
   and those that must be bounded. */
START_TEST(balls_not_finite_where_no_value)
{
    static const struct {
        long a_lo, a_hi, b_lo, b_hi;
        const char *nan, *finite; /* the names, one letter each */
    } cases[] = {
        {1, 1, 0, 0, "DZ", "MSTP"},   /* 1 / 0 */
        {1, 1, -1, 2, "DZ", "MSTP"},  /* a quotient by a ball holding 0 */
        {0, 0, -6, -5, "P", "DMSTZ"}, /* 0 ** -1 */
        {-1, 1, 2, 3, "P", "DMSTZ"},  /* 1 / [-1, 1] */
        {1, 2, 3, 4, "", "DMSTPZ"},   /* nothing undefined */
    };
    parse_text(undefined_model);
    for (size_t k = 0; k < sizeof cases / sizeof cases[0]; k++) {
        evaluator *b = eval_new(pool, NUMBER_BALL, 64);
        eval_bind(b, sym("a"), ball_of(b, cases[k].a_lo, cases[k].a_hi));
        eval_bind(b, sym("b"), ball_of(b, cases[k].b_lo, cases[k].b_hi));
        for (const char *n = cases[k].nan; *n; n++) {
            char name[2] = {*n, 0};
            ck_assert_msg(!arb_is_finite(eval_ball(eval_ok(b, name), 0, 0)),
                          "case %zu: %s is a number", k, name);
        }
        for (const char *n = cases[k].finite; *n; n++) {
            char name[2] = {*n, 0};
            ck_assert_msg(arb_is_finite(eval_ball(eval_ok(b, name), 0, 0)),
                          "case %zu: %s is not finite", k, name);
        }
        eval_free(b);
    }
}
END_TEST

/* ---------------------------------------------------------------- double */

static const char double_model[] = "dims n = 2, t = 3\n"
                                   "input z[n], w[t]\n"
                                   "O = (1e16 + 1) - 1e16\n"
                                   "P = softmax(z, axis=0)\n"
                                   "W = sum(w)\n"
                                   "C1 = 1/3\n"
                                   "C2 = 2/3\n"
                                   "C3 = 0.1\n"
                                   "C4 = 1e-320\n"
                                   "loss J = O\n";

START_TEST(double_in_the_order_written)
{
    parse_text(double_model);
    evaluator *ed = eval_new(pool, NUMBER_DOUBLE, 0);
    evaluator *eq = eval_new(pool, NUMBER_EXACT, 0);
    /* 1e16 + 1 rounds back to 1e16 in double, so the difference is 0 */
    ck_assert(*eval_d(eval_ok(ed, "O"), 0, 0) == 0.0);
    assert_q(eval_ok(eq, "O"), 0, 0, 1, 1);
    /* a sum accumulates left to right: ((1e16 + 1) + -1e16) */
    value *w = eval_new_value(ed, 1, 1, 3);
    *eval_d(w, 0, 0) = 1e16;
    *eval_d(w, 0, 1) = 1;
    *eval_d(w, 0, 2) = -1e16;
    eval_bind(ed, sym("w"), w);
    ck_assert(*eval_d(eval_ok(ed, "W"), 0, 0) == 0.0);
    eval_bind(eq, sym("w"), w); /* converted exactly */
    assert_q(eval_ok(eq, "W"), 0, 0, 1, 1);
    /* constants are correctly rounded, as the compiler rounds literals */
    ck_assert(*eval_d(eval_ok(ed, "C1"), 0, 0) == 1.0 / 3.0);
    ck_assert(*eval_d(eval_ok(ed, "C2"), 0, 0) == 2.0 / 3.0);
    ck_assert(*eval_d(eval_ok(ed, "C3"), 0, 0) == 0.1);
    ck_assert(*eval_d(eval_ok(ed, "C4"), 0, 0) == 1e-320);
    /* an exact value bound in double is rounded to nearest */
    bind_frac(eq, "C2", 2, 3);
    eval_bind(ed, sym("C2"), eval_ok(eq, "C2"));
    ck_assert(*eval_d(eval_ok(ed, "C2"), 0, 0) == 2.0 / 3.0);
    /* (1 + 2^-60) 2^-1075, just above half the least subnormal, rounds up to
       it; rounding to 53 bits first would make a tie and round to 0 */
    value *tiny = eval_new_value(eq, 0, 1, 1);
    mpq_ptr q = (*eval_q(tiny, 0, 0));
    mpz_setbit(mpq_numref(q), 60);
    mpz_setbit(mpq_numref(q), 0);
    mpq_div_2exp(q, q, 1135);
    eval_bind(ed, sym("C2"), tiny);
    ck_assert(*eval_d(eval_ok(ed, "C2"), 0, 0) == nextafter(0.0, 1.0));
    /* 2^-1064 + 2^-1075 + 2^-1140: 53 bits keep a tie on the subnormal grid
       (spacing 2^-1074), which would round to even, 2^-1064 */
    mpq_set_ui(q, 0, 1);
    mpz_setbit(mpq_numref(q), 76);
    mpz_setbit(mpq_numref(q), 65);
    mpz_setbit(mpq_numref(q), 0);
    mpq_div_2exp(q, q, 1140);
    eval_bind(ed, sym("C2"), tiny);
    ck_assert(*eval_d(eval_ok(ed, "C2"), 0, 0) == ldexp(1, -1064) + ldexp(1, -1074));
    eval_free(ed);
    eval_free(eq);
}
END_TEST

/* ---------------------------------------------------------------- NumPy functions */

static const char numpy_model[] = "dims n = 2, k = 3\n"
                                  "input x, Z[n, k]\n"
                                  "MX = np.maximum(Z, x)\n"
                                  "MN = np.minimum(Z, x)\n"
                                  "AB = np.abs(Z)\n"
                                  "SQ = np.sqrt(x)\n"
                                  "L1 = np.log1p(x)\n"
                                  "R0 = np.max(Z, axis=0)\n"
                                  "R1 = np.max(Z, axis=1, keepdims=True)\n"
                                  "RA = np.max(Z)\n"
                                  "CL = np.clip(Z, -1, x)\n"
                                  "loss J = RA\n";

/* np.maximum, np.minimum, np.abs, np.max along each axis and np.clip are
   exact on rationals; np.sqrt is exact of squares and refused otherwise,
   np.log1p is refused (not rational). */
START_TEST(numpy_functions_exact)
{
    parse_text(numpy_model);
    evaluator *eq = eval_new(pool, NUMBER_EXACT, 0);
    const long Z[] = {1, -2, 3, 4, -5, 0};
    bind_ints(eq, "Z", 2, 2, 3, Z);
    bind_frac(eq, "x", 1, 4);
    const value *v = eval_ok(eq, "MX");
    assert_q(v, 0, 0, 1, 1), assert_q(v, 0, 1, 1, 4), assert_q(v, 1, 1, 1, 4),
        assert_q(v, 1, 2, 1, 4);
    v = eval_ok(eq, "MN");
    assert_q(v, 0, 0, 1, 4), assert_q(v, 0, 1, -2, 1), assert_q(v, 1, 1, -5, 1),
        assert_q(v, 1, 2, 0, 1);
    v = eval_ok(eq, "AB");
    assert_q(v, 0, 1, 2, 1), assert_q(v, 1, 1, 5, 1), assert_q(v, 1, 2, 0, 1);
    assert_q(eval_ok(eq, "SQ"), 0, 0, 1, 2);
    v = eval_ok(eq, "R0");
    assert_dims(v, 1, 1, 3);
    assert_q(v, 0, 0, 4, 1), assert_q(v, 0, 1, -2, 1), assert_q(v, 0, 2, 3, 1);
    v = eval_ok(eq, "R1");
    assert_dims(v, 2, 2, 1);
    assert_q(v, 0, 0, 3, 1), assert_q(v, 1, 0, 4, 1);
    assert_q(eval_ok(eq, "RA"), 0, 0, 4, 1);
    v = eval_ok(eq, "CL");
    assert_q(v, 0, 0, 1, 4), assert_q(v, 0, 1, -1, 1), assert_q(v, 1, 1, -1, 1),
        assert_q(v, 1, 2, 0, 1);
    eval_fails(eq, "L1");
    ck_assert_msg(strstr(why, "log1p") != NULL, "%s", why);
    bind_frac(eq, "x", 2, 1);
    eval_fails(eq, "SQ");
    ck_assert_msg(strstr(why, "not rational") != NULL, "%s", why);
    bind_frac(eq, "x", 9, 25);
    assert_q(eval_ok(eq, "SQ"), 0, 0, 3, 5);
    eval_free(eq);
}
END_TEST

/* The intervals of the NumPy functions hold MPFR's value at 1024 bits and
   are a few ulps wide; double computes them as C does, NaN propagating
   through np.maximum and np.max as NumPy's. */
START_TEST(numpy_functions_intervals_and_double)
{
    parse_text(numpy_model);
    static const char *const names[] = {"MX", "MN", "AB", "SQ", "L1", "R0", "R1", "RA", "CL"};
    static const long xs[][2] = {{1, 7}, {3, 2}, {9, 4}, {-1, 3}, {5, 1}};
    const long Z[] = {1, -2, 3, 4, -5, 0};
    for (size_t p = 0; p < sizeof xs / sizeof xs[0]; p++) {
        evaluator *fi = eval_new(pool, NUMBER_INTERVAL, 64);
        evaluator *fr = eval_new(pool, NUMBER_MPFR, 1024);
        bind_frac(fi, "x", xs[p][0], xs[p][1]);
        bind_frac(fr, "x", xs[p][0], xs[p][1]);
        bind_ints(fi, "Z", 2, 2, 3, Z);
        bind_ints(fr, "Z", 2, 2, 3, Z);
        for (size_t k = 0; k < sizeof names / sizeof names[0]; k++)
            assert_encloses(fi, fr, names[k], xs[p][0], xs[p][1]);
        eval_free(fr);
        eval_free(fi);
    }
    evaluator *ed = eval_new(pool, NUMBER_DOUBLE, 0);
    bind_ints(ed, "Z", 2, 2, 3, Z);
    bind_frac(ed, "x", 1, 4);
    ck_assert(*eval_d(eval_ok(ed, "L1"), 0, 0) == log1p(0.25));
    ck_assert(*eval_d(eval_ok(ed, "SQ"), 0, 0) == 0.5);
    value *nan = eval_new_value(ed, 0, 1, 1);
    *eval_d(nan, 0, 0) = NAN;
    eval_bind(ed, sym("x"), nan);
    ck_assert(isnan(*eval_d(eval_ok(ed, "MX"), 0, 0)));
    ck_assert(isnan(*eval_d(eval_ok(ed, "MN"), 1, 2)));
    value *zn = eval_new_value(ed, 2, 2, 3);
    for (long i = 0; i < 6; i++)
        *eval_d(zn, i / 3, i % 3) = i == 4 ? NAN : (double)i;
    eval_bind(ed, sym("Z"), zn);
    ck_assert(isnan(*eval_d(eval_ok(ed, "RA"), 0, 0)));
    ck_assert(*eval_d(eval_ok(ed, "R1"), 0, 0) == 2.0);
    ck_assert(isnan(*eval_d(eval_ok(ed, "R1"), 1, 0)));
    eval_free(ed);
}
END_TEST

START_TEST(double_softmax_subtracts_the_max)
{
    parse_text(double_model);
    evaluator *ed = eval_new(pool, NUMBER_DOUBLE, 0);
    const long z[] = {1000, 0};
    bind_ints(ed, "z", 1, 1, 2, z);
    const value *P = eval_ok(ed, "P");
    assert_dims(P, 1, 1, 2);
    double p0 = *eval_d(P, 0, 0), p1 = *eval_d(P, 0, 1);
    ck_assert(isfinite(p0) && isfinite(p1));
    ck_assert(p0 == 1.0);
    ck_assert(p1 >= 0.0 && p1 < 1e-300);
    /* MPFR computes it as written, and exp(1000) is no trouble there:
       P[1] = 1 / (e^1000 + 1) */
    evaluator *ef = eval_new(pool, NUMBER_MPFR, 64);
    bind_ints(ef, "z", 1, 1, 2, z);
    mpfr_t want, d;
    mpfr_inits2(64, want, d, (mpfr_ptr)0);
    mpfr_set_ui(want, 1000, MPFR_RNDN);
    mpfr_exp(want, want, MPFR_RNDN);
    mpfr_add_ui(want, want, 1, MPFR_RNDN);
    mpfr_ui_div(want, 1, want, MPFR_RNDN);
    mpfr_sub(d, *eval_fr(eval_ok(ef, "P"), 0, 1), want, MPFR_RNDN);
    mpfr_div(d, d, want, MPFR_RNDN);
    ck_assert(cmpabs_2exp(d, -60) < 0);
    mpfr_clears(want, d, (mpfr_ptr)0);
    eval_free(ef);
    eval_free(ed);
}
END_TEST

START_TEST(double_and_mpfr_agree_with_exact_on_rationals)
{
    evaluator *ed = shapes_evaluator(NUMBER_DOUBLE);
    const value *D = eval_ok(ed, "D"), *MV = eval_ok(ed, "MV");
    for (long i = 0; i < 2; i++)
        for (long j = 0; j < 3; j++)
            ck_assert(*eval_d(D, i, j) == (double)M_[i * 3 + j] / (double)C_[i]);
    ck_assert(*eval_d(MV, 0, 0) == 17.0 && *eval_d(MV, 0, 1) == 35.0);
    eval_free(ed);
    model_free(mdl);
    evaluator *ef = shapes_evaluator(NUMBER_MPFR);
    const value *S1k = eval_ok(ef, "S1k");
    ck_assert_int_eq(mpfr_cmp_ui(*eval_fr(S1k, 1, 0), 15), 0);
    eval_free(ef);
}
END_TEST

/* ---------------------------------------------------------------- errors */

START_TEST(memoized_until_the_next_bind)
{
    evaluator *ev = shapes_evaluator(NUMBER_EXACT);
    const value *a, *b;
    ck_assert(eval_term(ev, ref("P"), &a, why, sizeof why));
    ck_assert(eval_term(ev, ref("P"), &b, why, sizeof why));
    ck_assert_ptr_eq(a, b);
    ck_assert(eval_term(ev, sym("P")->definition, &b, why, sizeof why));
    ck_assert_ptr_eq(a, b);
    const long C2[] = {10, 20};
    bind_ints(ev, "C", 2, 2, 1, C2); /* the old results are gone */
    const value *P = eval_ok(ev, "P");
    assert_q(P, 1, 2, 20 + R_[2], 1);
    eval_free(ev);
}
END_TEST

START_TEST(unbound_and_misshapen_inputs)
{
    parse_text(shapes_model);
    evaluator *ev = eval_new(pool, NUMBER_EXACT, 0);
    eval_fails(ev, "P");
    ck_assert_str_eq(why, "no value for 'C'");
    ck_assert_int_eq(eval_status(ev), DC_EINPUT);
    const long six[] = {1, 2, 3, 4, 5, 6};
    bind_ints(ev, "M", 2, 3, 2, six);
    bind_ints(ev, "v", 2, 1, 3, six);
    eval_fails(ev, "MT");
    ck_assert_str_eq(why, "the value bound to 'M' is [3, 2], but 'M' is [n, k] = [2, 3]");
    eval_fails(ev, "Sv");
    ck_assert_str_eq(why, "the value bound to 'v' is [1, 3], but 'v' is [k] = [3]");
    bind_ints(ev, "M", 2, 2, 3, six);
    ck_assert_ptr_nonnull(eval_ok(ev, "MT"));
    /* sizes come from eval_set_dim when set */
    eval_set_dim(ev, sym("k"), 2);
    eval_fails(ev, "MT");
    ck_assert_str_eq(why, "the value bound to 'M' is [2, 3], but 'M' is [n, k] = [2, 2]");
    eval_set_dim(ev, sym("k"), 0);
    eval_fails(ev, "MT");
    ck_assert_str_eq(why, "the dim 'k' is set to 0; a size must be at least 1");
    ck_assert_ptr_null(eval_new_value(ev, 1, 2, 3)); /* a 1-D value has one row */
    ck_assert_ptr_null(eval_q(eval_new_value(ev, 0, 1, 1), 0, 1));
    eval_free(ev);
}
END_TEST

START_TEST(dims_without_sizes)
{
    parse_text("dims n\ninput x[n]\nloss J = sum(x)\n");
    evaluator *ev = eval_new(pool, NUMBER_DOUBLE, 0);
    const long x[] = {1, 2};
    bind_ints(ev, "x", 1, 1, 2, x);
    eval_fails(ev, "J");
    ck_assert_str_eq(why, "the dim 'n' has no numeric size; give it one (dims n = N)");
    eval_set_dim(ev, sym("n"), 2);
    ck_assert(*eval_d(eval_ok(ev, "J"), 0, 0) == 3.0);
    eval_free(ev);
}
END_TEST

START_TEST(nonfinite_binding_in_exact_mode)
{
    parse_text(scalar_model);
    evaluator *ed = eval_new(pool, NUMBER_DOUBLE, 0);
    evaluator *eq = eval_new(pool, NUMBER_EXACT, 0);
    value *inf = eval_new_value(ed, 0, 1, 1);
    *eval_d(inf, 0, 0) = INFINITY;
    eval_bind(eq, sym("x"), inf);
    eval_fails(eq, "P");
    ck_assert_msg(strstr(why, "NaN or infinite") != NULL, "%s", why);
    /* double follows IEEE: 1/inf^2 = 0 and no error */
    eval_bind(ed, sym("x"), inf);
    ck_assert(*eval_d(eval_ok(ed, "P"), 0, 0) == 0.0);
    eval_free(ed);
    eval_free(eq);
}
END_TEST

/* Every allocation of an evaluation failing in turn: each is reported as
   "out of memory", and the evaluator stays usable (ASan checks the rest). */
START_TEST(allocation_failures_are_errors)
{
    int succeeded = 0, failures = 0;
    for (long n = 1; n < 10000 && !succeeded; n++) {
        model_free(mdl);
        evaluator *ev = shapes_evaluator(n % 2 ? NUMBER_MPFR : NUMBER_EXACT);
        const value *v = NULL;
        const term *K = ref("K");
        mem_fail_after(n);
        succeeded = eval_term(ev, K, &v, why, sizeof why);
        mem_fail_after(0);
        if (!succeeded) {
            ck_assert_str_eq(why, "out of memory");
            ck_assert_int_eq(eval_status(ev), DC_ENOMEM);
            failures++;
        }
        /* by hand: sum(M) 21 four times (S0, S1, SA, MT), sum(v) 6 twice,
           M @ v = [17, 35] twice, v @ v = 62, sum(C) sum(R) = 21, sum(M * v)
           = 2*5 - 3*7 + 7*9 = 52, sum(s * M - C) = 63 - 21, sum(v + s) = 15 */
        v = eval_ok(ev, "K");
        ck_assert_int_eq(eval_status(ev), DC_OK);
        if (v->kind == NUMBER_EXACT)
            assert_q(v, 0, 0, 4 * 21 + 2 * 6 + 2 * 52 + 62 + 21 + 52 + 42 + 15, 1);
        else
            ck_assert_int_eq(mpfr_cmp_ui(*eval_fr(v, 0, 0), 392), 0);
        eval_free(ev);
    }
    ck_assert(succeeded);
    ck_assert_int_ge(failures, 25); /* values, the memo, the plan and the kernel */
}
END_TEST

/* ---------------------------------------------------------------- memory */

/* A deep expression over M[4, 4] with no names: each level is a softmax of
   a product, a transpose, a scale and a broadcast sum, all stored on the
   way, and the level below is used twice. */
static void
parse_deep_model(int depth)
{
    char *e = malloc(8), *next;
    strcpy(e, "M");
    for (int k = 0; k < depth; k++) {
        size_t len = 2 * strlen(e) + 96;
        next = malloc(len);
        snprintf(next, len, "softmax((%s @ M.T).T * 2 + sum(%s, axis=0), axis=%d)", e, e, k % 2);
        free(e);
        e = next;
    }
    size_t len = strlen(e) + 96;
    char *text = malloc(len);
    snprintf(text, len, "dims n = 4\ninput M[n, n]\nR = %s\nloss J = sum(R)\n", e);
    parse_text(text);
    free(text);
    free(e);
}

START_TEST(intermediates_are_released)
{
    parse_deep_model(6);
    evaluator *ev = eval_new(pool, NUMBER_MPFR, 64);
    const long M[] = {1, -2, 3, 0, 4, 1, -1, 2, 0, 0, 5, -3, 2, 2, -4, 1};
    bind_ints(ev, "M", 2, 4, 4, M);
    ck_assert_uint_eq(eval_live_entries(ev), 2 * 16); /* M and its binding */
    const value *R = eval_ok(ev, "R");
    /* M, its binding and R: not one of the 6 * 4 stored steps below R */
    ck_assert_uint_eq(eval_live_entries(ev), 3 * 16);
    for (long j = 0; j < 4; j++) { /* the last softmax is along rows */
        mpfr_t d;
        mpfr_init2(d, 64);
        mpfr_set_si(d, -1, MPFR_RNDN);
        for (long i = 0; i < 4; i++)
            mpfr_add(d, d, *eval_fr(R, j, i), MPFR_RNDN);
        ck_assert_msg(cmpabs_2exp(d, -58) <= 0, "row %ld", j);
        mpfr_clear(d);
    }
    ck_assert_ptr_eq(eval_ok(ev, "R"), R); /* a result is kept */
    ck_assert_uint_eq(eval_live_entries(ev), 3 * 16);
    eval_free(ev);
}
END_TEST

static const char named_model[] = "dims n = 3\n"
                                  "input x[n]\n"
                                  "Z = x * 2 + 1\n"
                                  "A = tanh(Z)\n"
                                  "B = A * x\n"
                                  "G = sum(B) + sum(A)\n"
                                  "S = x * x\n"
                                  "Q = sum(S) / (sum(S) - sum(S))\n"
                                  "Qm = (x / (sum(x) - sum(x))) @ x\n"
                                  "loss J = G\n";

/* A named definition that something other than another definition uses is
   kept for later evaluations; one that only defines others is a stage of
   them, released like any intermediate. */
START_TEST(named_definitions_kept_or_released)
{
    parse_text(named_model);
    evaluator *ev = eval_new(pool, NUMBER_MPFR, 64);
    const long x[] = {1, -2, 3};
    bind_ints(ev, "x", 1, 1, 3, x);
    ck_assert_uint_eq(eval_live_entries(ev), 6);
    eval_ok(ev, "G");
    /* x twice, A (used by sum(A)), B (used by sum(B)) and G; not Z (only A
       uses it) */
    ck_assert_uint_eq(eval_live_entries(ev), 6 + 3 + 3 + 1);
    const value *A = eval_ok(ev, "A");
    ck_assert_uint_eq(eval_live_entries(ev), 13);
    ck_assert_ptr_eq(eval_ok(ev, "A"), A);
    eval_ok(ev, "Z"); /* computed again */
    ck_assert_uint_eq(eval_live_entries(ev), 16);
    eval_bind(ev, sym("x"), eval_ok(ev, "Z"));
    ck_assert_uint_eq(eval_live_entries(ev), 6);
    eval_free(ev);
}
END_TEST

/* A failed evaluation releases what it computed, except kept values. */
START_TEST(failed_evaluation_releases_its_values)
{
    parse_text(named_model);
    evaluator *ev = eval_new(pool, NUMBER_EXACT, 0);
    const long x[] = {1, -2, 3};
    bind_ints(ev, "x", 1, 1, 3, x);
    eval_fails(ev, "Q");
    ck_assert_msg(strstr(why, "division by zero") != NULL, "%s", why);
    ck_assert_uint_eq(eval_live_entries(ev), 6 + 3); /* x twice and S, used by sum(S) */
    eval_fails(ev, "Qm"); /* in a row of the product, computed as it needs it */
    ck_assert_str_eq(why, "division by zero in exact evaluation (entry [0, 0] of a quotient)");
    ck_assert_uint_eq(eval_live_entries(ev), 9);
    assert_q(eval_ok(ev, "S"), 0, 1, 4, 1);
    ck_assert_uint_eq(eval_live_entries(ev), 9);
    eval_fails(ev, "A"); /* tanh is not rational */
    ck_assert_uint_eq(eval_live_entries(ev), 9);
    eval_free(ev);
}
END_TEST

static const char inline_model[] = "dims n = 3, k = 2\n"
                                   "input X[n, k], W[k, n], v[k]\n"
                                   "E = sigmoid(tanh(X * 3 + 1) - X) * X / (1 + exp(-X))\n"
                                   "E1 = X * 3\n"
                                   "E2 = E1 + 1\n"
                                   "E3 = tanh(E2)\n"
                                   "E4 = E3 - X\n"
                                   "E5 = sigmoid(E4)\n"
                                   "E6 = E5 * X\n"
                                   "E7 = -X\n"
                                   "E8 = exp(E7)\n"
                                   "E9 = 1 + E8\n"
                                   "F = E6 / E9\n"
                                   "P = (2 * X - 1) @ X.T\n"
                                   "X2 = 2 * X - 1\n"
                                   "XT = X.T\n"
                                   "P2 = X2 @ XT\n"
                                   "V = (v * 3) @ W + W.T @ v\n"
                                   "v3 = v * 3\n"
                                   "WT = W.T\n"
                                   "V2 = v3 @ W + WT @ v\n"
                                   "loss J = sum(E)\n";

/* Entry by entry, the value of NAME and of ITS_STEPS are the same number. */
static void
assert_same_values(evaluator *ev, const char *name, const char *its_steps)
{
    const value *a = eval_ok(ev, name), *b = eval_ok(ev, its_steps);
    assert_dims(a, b->rank, b->rows, b->cols);
    for (long i = 0; i < a->rows; i++)
        for (long j = 0; j < a->cols; j++)
            if (a->kind == NUMBER_MPFR)
                ck_assert_msg(mpfr_equal_p(*eval_fr(a, i, j), *eval_fr(b, i, j)),
                              "%s and %s differ at [%ld, %ld]", name, its_steps, i, j);
            else
                ck_assert_msg(mpq_equal(*eval_q(a, i, j), *eval_q(b, i, j)),
                              "%s and %s differ at [%ld, %ld]", name, its_steps, i, j);
}

/* Terms computed inside their consumers (a kernel, a row of a product, a
   transpose read in place) give the very numbers of the same steps
   computed one stored value at a time. */
START_TEST(inlined_terms_give_the_same_numbers)
{
    parse_text(inline_model);
    for (int kind = 0; kind < 2; kind++) {
        evaluator *ev = eval_new(pool, kind ? NUMBER_MPFR : NUMBER_EXACT, 200);
        const long X[] = {1, -2, 3, 0, -1, 5}, W[] = {2, 1, -3, 4, 0, 1}, v[] = {-1, 2};
        bind_ints(ev, "X", 2, 3, 2, X);
        bind_ints(ev, "W", 2, 2, 3, W);
        bind_ints(ev, "v", 1, 1, 2, v);
        if (kind)
            assert_same_values(ev, "E", "F");
        assert_same_values(ev, "P", "P2");
        assert_same_values(ev, "V", "V2");
        eval_free(ev);
    }
}
END_TEST

int
main(void)
{
    Suite *s = suite_create("eval");
    TCase *tc = tcase_create("eval");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_test(tc, affine_layer_exact);
    tcase_add_test(tc, broadcasting_column_row_scalar_vector);
    tcase_add_test(tc, sums_over_each_axis);
    tcase_add_test(tc, matmul_with_vectors_and_transpose);
    tcase_add_test(tc, broadcast_along_each_axis);
    tcase_add_test(tc, powers_and_refusals_exact);
    tcase_add_test(tc, definition_bound_as_free_variable);
    tcase_add_test(tc, mpfr_at_256_bits);
    tcase_add_test(tc, mpfr_precision_is_honoured);
    tcase_add_test(tc, intervals_enclose_every_operation);
    tcase_add_test(tc, interval_kinks_enclose_both_sides);
    tcase_add_test(tc, intervals_nan_where_no_value);
    tcase_add_test(tc, balls_enclose_every_operation);
    tcase_add_test(tc, ball_kinks_enclose_both_sides);
    tcase_add_test(tc, balls_not_finite_where_no_value);
    tcase_add_test(tc, double_in_the_order_written);
    tcase_add_test(tc, double_softmax_subtracts_the_max);
    tcase_add_test(tc, double_and_mpfr_agree_with_exact_on_rationals);
    tcase_add_test(tc, memoized_until_the_next_bind);
    tcase_add_test(tc, unbound_and_misshapen_inputs);
    tcase_add_test(tc, dims_without_sizes);
    tcase_add_test(tc, nonfinite_binding_in_exact_mode);
    tcase_add_test(tc, allocation_failures_are_errors);
    tcase_add_test(tc, intermediates_are_released);
    tcase_add_test(tc, named_definitions_kept_or_released);
    tcase_add_test(tc, failed_evaluation_releases_its_values);
    tcase_add_test(tc, inlined_terms_give_the_same_numbers);
    tcase_add_test(tc, numpy_functions_exact);
    tcase_add_test(tc, numpy_functions_intervals_and_double);
    suite_add_tcase(s, tc);
    return tu_run(s);
}
