/* check_oracle.c: the derived gradients against the loss's own central differences, with no rule.
 */
#include <check.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cmd/oracle.h"
#include "lang/parse.h"
#include "sym/derive.h"
#include "sym/rules.h"
#include "testutil.h"

/* The number of params M declares. */
static size_t
params_of(const model *m)
{
    size_t n = 0;
    for (size_t i = 0; i < m->nsymbols; i++)
        n += m->symbols[i]->kind == SYM_PARAM;
    return n;
}

/* Entry K of a fixed rational point: small numbers of both signs with
   denominators 8 (none on a grid the step could meet). */
static long
point_entry(long k, long salt)
{
    return (k * 7 + salt * 13) % 19 - 9;
}

/* The oracle's own number, with no rule and no derivation: the derivative
   of logistic regression's loss along a direction U = (U_W, U_b) at a
   fixed point, against the closed form computed here in MPFR:
   dJ/dW = (A - Y) @ X.T / m, dJ/db = sum(A - Y) / m, A = sigmoid(W @ X +
   b), so the derivative along U is sum(dJ/dW * U_W) + dJ/db * U_b. The
   Richardson-extrapolated central difference leaves about 2^-P of
   truncation and 2^-(3P/4) of rounding: it must agree to far better than
   the 2^-(P/3) the comparison asks, and the loss at the point to about
   2^-P. */
START_TEST(directional_derivative_of_logistic_regression)
{
    model *m = tu_parse_builtin("logistic");
    const long nx = 3, mm = 8;
    evaluator *ev = eval_new(tu_pool, NUMBER_MPFR, ORACLE_BITS);
    value *x = eval_new_value(ev, 2, nx, mm), *y = eval_new_value(ev, 2, 1, mm);
    value *w = eval_new_value(ev, 2, 1, nx), *b = eval_new_value(ev, 2, 1, 1);
    value *uw = eval_new_value(ev, 2, 1, nx), *ub = eval_new_value(ev, 2, 1, 1);
    for (long i = 0; i < nx; i++)
        for (long j = 0; j < mm; j++)
            mpfr_set_si_2exp(*eval_fr(x, i, j), point_entry(i * mm + j, 1), -3, MPFR_RNDN);
    for (long j = 0; j < mm; j++)
        mpfr_set_si(*eval_fr(y, 0, j), j % 3 == 0, MPFR_RNDN);
    for (long i = 0; i < nx; i++) {
        mpfr_set_si_2exp(*eval_fr(w, 0, i), point_entry(i, 2), -3, MPFR_RNDN);
        mpfr_set_si_2exp(*eval_fr(uw, 0, i), point_entry(i, 3), -2, MPFR_RNDN);
    }
    mpfr_set_si_2exp(*eval_fr(b, 0, 0), 3, -3, MPFR_RNDN);
    mpfr_set_si_2exp(*eval_fr(ub, 0, 0), -5, -2, MPFR_RNDN);
    eval_bind(ev, tu_symbol(m, "X"), x);
    eval_bind(ev, tu_symbol(m, "Y"), y);

    /* the closed form: J and sum(dJ/dW * U_W) + dJ/db * U_b */
    mpfr_t z, a, r, along, loss, t, out, j, scale;
    mpfr_inits2(2 * ORACLE_BITS, z, a, r, along, loss, t, (mpfr_ptr)0);
    mpfr_inits2(ORACLE_BITS + 64, out, j, scale, (mpfr_ptr)0);
    mpfr_set_ui(along, 0, MPFR_RNDN);
    mpfr_set_ui(loss, 0, MPFR_RNDN);
    for (long c = 0; c < mm; c++) {
        mpfr_set(z, *eval_fr(b, 0, 0), MPFR_RNDN);
        for (long i = 0; i < nx; i++) {
            mpfr_mul(t, *eval_fr(w, 0, i), *eval_fr(x, i, c), MPFR_RNDN);
            mpfr_add(z, z, t, MPFR_RNDN);
        }
        /* a = 1 / (1 + exp(-z)); r = (a - y) / m */
        mpfr_neg(a, z, MPFR_RNDN);
        mpfr_exp(a, a, MPFR_RNDN);
        mpfr_add_ui(a, a, 1, MPFR_RNDN);
        mpfr_ui_div(a, 1, a, MPFR_RNDN);
        int label = mpfr_cmp_ui(*eval_fr(y, 0, c), 1) == 0;
        mpfr_sub_ui(r, a, (unsigned long)label, MPFR_RNDN);
        mpfr_div_si(r, r, mm, MPFR_RNDN);
        /* row c of X.T times U_W, plus U_b */
        mpfr_set(t, *eval_fr(ub, 0, 0), MPFR_RNDN);
        for (long i = 0; i < nx; i++)
            mpfr_fma(t, *eval_fr(x, i, c), *eval_fr(uw, 0, i), t, MPFR_RNDN);
        mpfr_fma(along, r, t, along, MPFR_RNDN);
        /* -(y log a + (1 - y) log(1 - a)) / m */
        if (!label)
            mpfr_ui_sub(a, 1, a, MPFR_RNDN);
        mpfr_log(a, a, MPFR_RNDN);
        mpfr_div_si(a, a, -mm, MPFR_RNDN);
        mpfr_add(loss, loss, a, MPFR_RNDN);
    }

    const value *at[2] = {w, b}, *dir[2] = {uw, ub};
    const symbol *vars[2] = {tu_symbol(m, "W"), tu_symbol(m, "b")};
    oracle_line line = {.n = 2, .vars = vars, .at = at, .dir = dir};
    long evaluations = 0;
    char why[256] = "";
    mpfr_set_ui(scale, 0, MPFR_RNDN);
    ck_assert_msg(
        oracle_directional(ev, m, &line, scale, out, j, &evaluations, why, sizeof why, tu_pool),
        "%s", why);
    ck_assert_int_eq(evaluations, 5);
    /* |oracle - closed form| / |closed form| */
    mpfr_sub(t, out, along, MPFR_RNDN);
    mpfr_div(t, t, along, MPFR_RNDN);
    mpfr_abs(t, t, MPFR_RNDN);
    ck_assert_msg(mpfr_cmp_ui_2exp(t, 1, -170) < 0,
                  "the derivative along U: %.17g against %.17g, relative gap %g",
                  mpfr_get_d(out, MPFR_RNDN), mpfr_get_d(along, MPFR_RNDN),
                  mpfr_get_d(t, MPFR_RNDN));
    ck_assert(mpfr_cmp_ui_2exp(along, 1, -8) > 0 || mpfr_cmp_si_2exp(along, -1, -8) < 0);
    mpfr_sub(t, j, loss, MPFR_RNDN);
    mpfr_div(t, t, loss, MPFR_RNDN);
    mpfr_abs(t, t, MPFR_RNDN);
    ck_assert(mpfr_cmp_ui_2exp(t, 1, -240) < 0);
    /* a gradient missing its 1/m (8 times the closed form) is far from it */
    mpfr_mul_ui(t, along, (unsigned long)mm, MPFR_RNDN);
    mpfr_sub(t, out, t, MPFR_RNDN);
    mpfr_div(t, t, along, MPFR_RNDN);
    mpfr_abs(t, t, MPFR_RNDN);
    ck_assert(mpfr_cmp_ui(t, 6) > 0);
    mpfr_clears(z, a, r, along, loss, t, out, j, scale, (mpfr_ptr)0);
    eval_free(ev);
    model_free(m);
}
END_TEST

/* The sound rules: every built-in model's derivation is confirmed, all
   its params along one direction, at the first point, for five
   evaluations of the loss (the central differences at h and 2h and the
   loss itself), with nothing checked alone. */
START_TEST(sound_rules_are_confirmed_in_five_evaluations)
{
    rule_set *rs = tu_rules_load(DC_RULES_DIR);
    static const char *const names[] = {"logistic", "sigmoid", "softmax", "relu3"};
    for (size_t k = 0; k < sizeof names / sizeof names[0]; k++) {
        model *m = tu_parse_builtin(names[k]);
        oracle_result *o = oracle_run(tu_derive(m, rs), 1, NULL, NULL, tu_pool);
        ck_assert_msg(o->joint.status == ORACLE_AGREES, "%s: %s", names[k],
                      oracle_words(o, tu_pool));
        ck_assert(o->joint.log2_gap <= -(double)(ORACLE_BITS / 3));
        ck_assert_int_eq(o->nparams, params_of(m));
        ck_assert_int_eq(o->points, 1);
        ck_assert_int_eq(o->loss_evaluations, 5);
        ck_assert_ptr_null(o->alone);
        ck_assert_int_eq(o->nsuspects, 0);
        model_free(m);
    }
    rules_free(rs);
}
END_TEST

/* The line number of the last line of DIR/FILE. */
static int
last_line(const char *dir, const char *file)
{
    char path[4096];
    snprintf(path, sizeof path, "%s/%s", dir, file);
    FILE *f = fopen(path, "r");
    ck_assert_ptr_nonnull(f);
    int lines = 0, c;
    while ((c = fgetc(f)) != EOF)
        lines += c == '\n';
    fclose(f);
    return lines;
}

static const oracle_gradient *
alone_of(const oracle_result *o, const char *name)
{
    for (size_t i = 0; i < o->d->n; i++)
        if (strcmp(o->alone[i].g->of->name, name) == 0)
            return &o->alone[i];
    ck_abort_msg("no gradient of %s", name);
    return NULL;
}

/* tanh's derivative written 1 - C: the joint check differs; alone, dW1,
   db1, dZ1 differ and the output layer's gradients agree; the first wrong
   one is dZ1 (dA1, the gradient of what uses Z1, agrees), and the rule
   suspected is the one appended, at its file and line. */
START_TEST(unsound_tanh_rule_is_named)
{
    char *dir = tu_copy_rules("tanh:");
    tu_append_line(dir, "adjoint.rules", "tanh: C = tanh(a) => da = G * (1 - C)");
    int line = last_line(dir, "adjoint.rules");
    rule_set *rs = tu_rules_load(dir);
    model *m = tu_parse_builtin("sigmoid");
    oracle_result *o = oracle_run(tu_derive(m, rs), 1, NULL, NULL, tu_pool);
    ck_assert_int_eq(o->joint.status, ORACLE_DIFFERS);
    ck_assert_ptr_nonnull(o->alone);
    static const char *const wrong[] = {"W1", "b1", "Z1"}, *const right[] = {"W2", "b2", "Z2",
                                                                             "A1"};
    for (size_t k = 0; k < 3; k++)
        ck_assert_msg(alone_of(o, wrong[k])->check.status == ORACLE_DIFFERS, "d%s", wrong[k]);
    for (size_t k = 0; k < 4; k++)
        ck_assert_msg(alone_of(o, right[k])->check.status == ORACLE_AGREES, "d%s: %s", right[k],
                      alone_of(o, right[k])->check.why ? alone_of(o, right[k])->check.why : "");
    for (size_t i = 0; i < o->d->n; i++)
        ck_assert_int_eq(o->alone[i].first, strcmp(o->alone[i].g->of->name, "Z1") == 0);
    ck_assert_int_eq(o->nsuspects, 1);
    ck_assert_str_eq(o->suspects[0]->name, "tanh");
    ck_assert_int_eq(o->suspects[0]->line, line);
    const char *words = oracle_words(o, tu_pool);
    ck_assert_msg(strstr(words, "the derived dW1, db1 are not the derivative of J") != NULL, "%s",
                  words);
    char cite[64];
    snprintf(cite, sizeof cite, "unsound: tanh (");
    ck_assert_msg(strstr(words, cite) != NULL, "%s", words);
    snprintf(cite, sizeof cite, "adjoint.rules:%d), through dZ1", line);
    ck_assert_msg(strstr(words, cite) != NULL, "%s", words);
    model_free(m);
    rules_free(rs);
    tu_remove_dir(dir);
}
END_TEST

/* One param's gradient wrong by a factor 1 + 2^-20, the others right: the
   joint direction sees it (its tolerance is 2^-85), and alone only that
   param differs. */
START_TEST(one_slightly_wrong_param_is_found)
{
    rule_set *rs = rules_load(DC_RULES_DIR, &tu_err, tu_pool);
    model *m = tu_parse_builtin("sigmoid");
    derivation *d = tu_derive(m, rs);
    char why[SHAPE_WHY];
    for (size_t i = 0; i < d->n; i++)
        if (strcmp(d->g[i].of->name, "W1") == 0) {
            const term *k = term_const_si(m->terms, (1 << 20) + 1, 1 << 20);
            const term *args[2] = {k, d->g[i].absorbed};
            d->g[i].absorbed = term_make(m->terms, OP_MUL, 0, 0, args, 2, why);
            ck_assert_ptr_nonnull(d->g[i].absorbed);
        }
    oracle_result *o = oracle_run(d, 1, NULL, NULL, tu_pool);
    ck_assert_int_eq(o->joint.status, ORACLE_DIFFERS);
    for (size_t i = 0; i < d->n; i++) {
        const oracle_gradient *a = &o->alone[i];
        int w1 = strcmp(a->g->of->name, "W1") == 0;
        ck_assert_msg(a->check.status == (w1 ? ORACLE_DIFFERS : ORACLE_AGREES), "d%s",
                      a->g->of->name);
        ck_assert_int_eq(a->first, w1);
        if (w1) /* the factor, seen: at most 2^-20 / (1 + 2^-20) of the sizes compared */
            ck_assert_msg(a->check.log2_gap < -19.99 && a->check.log2_gap > -40, "%g",
                          a->check.log2_gap);
    }
    model_free(m);
    rules_free(rs);
}
END_TEST

/* A relu network whose point sits exactly on the kink: Z = W @ X is 0 in
   every entry. There the central differences at h and 2h agree with each
   other (relu is piecewise linear) but not with the derivative relu'(0) =
   0 the rules give; the one-sided differences show the kink, so the point
   is no evidence. BIND puts the kink at the first ALWAYS points (ctx) and
   an ordinary point after. */
static int
bind_kink(void *ctx, evaluator *ev, int attempt, char *why, size_t len)
{
    const model *m = ((void **)ctx)[0];
    int always = *(const int *)((void **)ctx)[1];
    (void)why;
    (void)len;
    evaluator *ex = eval_new(tu_pool, NUMBER_EXACT, 0);
    value *w = eval_new_value(ex, 2, 1, 2), *x = eval_new_value(ex, 2, 2, 3);
    static const long kink_w[2] = {1, -1}, kink_x[6] = {1, 2, 3, 1, 2, 3};
    static const long plain_w[2] = {1, -3}, plain_x[6] = {1, 5, -3, 2, -1, 4};
    int kink = attempt < always;
    for (int k = 0; k < 2; k++)
        mpq_set_si(*eval_q(w, 0, k), kink ? kink_w[k] : plain_w[k], 4);
    for (int k = 0; k < 6; k++)
        mpq_set_si(*eval_q(x, k / 3, k % 3), kink ? kink_x[k] : plain_x[k], 8);
    eval_bind(ev, model_lookup(m, "W", 1), w);
    eval_bind(ev, model_lookup(m, "X", 1), x);
    eval_free(ex);
    return 1;
}

START_TEST(a_kink_at_the_point_is_no_evidence)
{
    rule_set *rs = rules_load(DC_RULES_DIR, &tu_err, tu_pool);
    model *m = tu_parse_text("kink.dc", "dims n = 2\n"
                                        "batch m = 3\n"
                                        "input X[n, m]\n"
                                        "param W[1, n]\n"
                                        "Z = W @ X\n"
                                        "A = relu(Z)\n"
                                        "loss J = 1/m * sum(A)\n");
    derivation *d = tu_derive(m, rs);
    /* the kink at the first point only: the second confirms */
    int always = 1;
    void *ctx[2] = {m, &always};
    oracle_result *o = oracle_run(d, 1, bind_kink, ctx, tu_pool);
    ck_assert_msg(o->joint.status == ORACLE_AGREES, "%s", oracle_words(o, tu_pool));
    ck_assert_int_eq(o->points, 2);
    /* at every point: it could not run, and says why; never a verdict */
    always = ORACLE_POINTS;
    o = oracle_run(d, 1, bind_kink, ctx, tu_pool);
    ck_assert_int_eq(o->joint.status, ORACLE_COULD_NOT_RUN);
    ck_assert_int_eq(o->points, ORACLE_POINTS);
    ck_assert_ptr_null(o->alone);
    ck_assert_msg(strstr(o->joint.why, "kink") != NULL, "%s", o->joint.why);
    model_free(m);
    rules_free(rs);
}
END_TEST

/* A point where the loss is NaN (log of a negative Z at every point BIND
   draws): the oracle could not run, says why, and checks nothing alone:
   no verdict either way. */
static int
bind_negative(void *ctx, evaluator *ev, int attempt, char *why, size_t len)
{
    const model *m = ctx;
    (void)attempt;
    (void)why;
    (void)len;
    value *w = eval_new_value(ev, 2, 1, 2), *x = eval_new_value(ev, 2, 2, 3);
    for (int k = 0; k < 2; k++)
        mpfr_set_si_2exp(*eval_fr(w, 0, k), -1 - k, -2, MPFR_RNDN);
    for (int k = 0; k < 6; k++)
        mpfr_set_si_2exp(*eval_fr(x, k / 3, k % 3), 1 + k, -3, MPFR_RNDN);
    eval_bind(ev, tu_symbol(m, "W"), w);
    eval_bind(ev, tu_symbol(m, "X"), x);
    return 1;
}

START_TEST(a_loss_that_is_not_finite_is_no_verdict)
{
    rule_set *rs = rules_load(DC_RULES_DIR, &tu_err, tu_pool);
    model *m = tu_parse_text("nan.dc", "dims n = 2\n"
                                       "batch m = 3\n"
                                       "input X[n, m]\n"
                                       "param W[1, n]\n"
                                       "Z = W @ X\n"
                                       "loss J = 1/m * sum(log(Z))\n");
    oracle_result *o = oracle_run(tu_derive(m, rs), 1, bind_negative, m, tu_pool);
    ck_assert_int_eq(o->joint.status, ORACLE_COULD_NOT_RUN);
    ck_assert_int_eq(o->points, ORACLE_POINTS);
    ck_assert_ptr_null(o->alone);
    ck_assert_msg(strstr(o->joint.why, "not finite") != NULL, "%s", o->joint.why);
    const char *words = oracle_words(o, tu_pool);
    ck_assert_msg(strstr(words, "could not be compared with the central difference of J") != NULL,
                  "%s", words);
    model_free(m);
    rules_free(rs);
}
END_TEST

/* A loss of no param: nothing is moved, nothing evaluated, no verdict. */
START_TEST(a_loss_of_no_param_compares_nothing)
{
    rule_set *rs = rules_load(DC_RULES_DIR, &tu_err, tu_pool);
    model *m = tu_parse_text("none.dc", "dims n = 2\n"
                                        "batch m = 3\n"
                                        "input X[n, m]\n"
                                        "Z = 2 * X\n"
                                        "loss J = 1/m * sum(Z)\n");
    oracle_result *o = oracle_run(tu_derive(m, rs), 1, NULL, NULL, tu_pool);
    ck_assert_int_eq(o->joint.status, ORACLE_COULD_NOT_RUN);
    ck_assert_int_eq(o->nparams, 0);
    ck_assert_int_eq(o->points, 0);
    ck_assert_int_eq(o->loss_evaluations, 0);
    ck_assert_str_eq(oracle_words(o, tu_pool), "nothing to compare: the loss depends on no param");
    model_free(m);
    rules_free(rs);
}
END_TEST

int
main(void)
{
    Suite *s = suite_create("oracle");
    TCase *tc = tcase_create("oracle");
    tcase_add_checked_fixture(tc, tu_setup, tu_teardown);
    tcase_set_timeout(tc, 120);
    tcase_add_test(tc, directional_derivative_of_logistic_regression);
    tcase_add_test(tc, sound_rules_are_confirmed_in_five_evaluations);
    tcase_add_test(tc, unsound_tanh_rule_is_named);
    tcase_add_test(tc, one_slightly_wrong_param_is_found);
    tcase_add_test(tc, a_kink_at_the_point_is_no_evidence);
    tcase_add_test(tc, a_loss_that_is_not_finite_is_no_verdict);
    tcase_add_test(tc, a_loss_of_no_param_compares_nothing);
    suite_add_tcase(s, tc);
    return tu_run(s);
}
