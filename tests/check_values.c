/* check_values.c: eval's printed digits against a hand computation and finite differences at 4x
 * precision. */
#include <check.h>
#include <jansson.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "num/data.h"
#include "derivcheck.h"
#include "cmd/values.h"
#include "testutil.h"
#include "lang/parse.h"
#include "sym/derive.h"

static char *
json_path(const char *name)
{
    static char path[4096];
    snprintf(path, sizeof path, "%s/json/%s", DC_TEST_DATADIR, name);
    return path;
}

/* ---- running eval through the public API ---- */

/* eval's report, copied (the caller frees it), with its status in *ST. */
static char *
eval_report(const char *rules, const char *model_name, const char *data, unsigned long seed,
            long prec, const char *format, int check_fd, dc_status *st)
{
    dc_session *s = tu_session(rules, model_name);
    const char *report;
    *st = dc_eval(s, data, seed, prec, format, check_fd, &report);
    ck_assert_msg(*st == DC_OK || *st == DC_REFUTED || *st == DC_UNDECIDED, "eval %s: %s",
                  model_name, dc_error_text(dc_session_error(s)));
    char *copy = strdup(report);
    dc_session_free(s);
    return copy;
}

static json_t *
eval_json(const char *model_name, const char *data, unsigned long seed, long prec, int check_fd)
{
    dc_status st;
    char *report = eval_report(NULL, model_name, data, seed, prec, "json", check_fd, &st);
    json_error_t je;
    json_t *root = json_loads(report, 0, &je);
    ck_assert_msg(root != NULL, "the report is not JSON: %s (line %d)\n%s", je.text, je.line,
                  report);
    free(report);
    return root;
}

/* ---- the oracle: a reference value, and a printed decimal against it ---- */

typedef struct digit_stats {
    long min, max, numbers;
} digit_stats;

/* Check that the decimal string S printed at PREC bits is within half a
   unit of its last digit of REF (plus REF's own error and the slack the
   P + 64-bit evaluation needs, 2^-(PREC + 40) relative); count its
   significant digits into ST. */
static void
assert_printed(const char *what, const char *s, mpfr_srcptr ref, long prec, digit_stats *st)
{
    ck_assert_msg(strcmp(s, "nan") && strcmp(s, "inf") && strcmp(s, "-inf"), "%s: %s", what, s);
    const char *e = strpbrk(s, "eE");
    long exp10 = e != NULL ? strtol(e + 1, NULL, 10) : 0;
    size_t mant = e != NULL ? (size_t)(e - s) : strlen(s);
    const char *point = memchr(s, '.', mant);
    long frac = point != NULL ? (long)(mant - (size_t)(point - s) - 1) : 0;
    long digits = 0;
    int leading = 1;
    for (size_t i = 0; i < mant; i++) {
        if (s[i] < '0' || s[i] > '9')
            continue;
        if (leading && s[i] == '0')
            continue;
        leading = 0;
        digits++;
    }
    mpfr_prec_t bits = mpfr_get_prec(ref);
    mpfr_t x, diff, bound, t;
    mpfr_inits2(bits, x, diff, bound, t, (mpfr_ptr)0);
    ck_assert_int_eq(mpfr_set_str(x, s, 10, MPFR_RNDN), 0);
    mpfr_sub(diff, x, ref, MPFR_RNDN);
    mpfr_abs(diff, diff, MPFR_RNDN);
    if (strcmp(s, "0") == 0) {
        /* exactly zero at both precisions: the reference must be zero too */
        mpfr_set_ui_2exp(bound, 1, -2 * prec, MPFR_RNDN);
    } else {
        mpfr_set_ui(bound, 10, MPFR_RNDN);
        mpfr_pow_si(bound, bound, exp10 - frac, MPFR_RNDN);
        mpfr_div_2ui(bound, bound, 1, MPFR_RNDN);
        mpfr_abs(t, ref, MPFR_RNDN);
        mpfr_mul_2si(t, t, -(prec + 40), MPFR_RNDN);
        mpfr_add(bound, bound, t, MPFR_RNDN);
        if (digits > 0) {
            if (digits < st->min)
                st->min = digits;
            if (digits > st->max)
                st->max = digits;
        }
    }
    if (mpfr_cmp(diff, bound) > 0) {
        char msg[1024];
        mpfr_snprintf(msg, sizeof msg,
                      "%s: printed %s, reference %.60Rg (off by %.3Re, more "
                      "than half a unit of the last digit, %.3Re)",
                      what, s, ref, diff, bound);
        ck_abort_msg("%s", msg);
    }
    st->numbers++;
    mpfr_clears(x, diff, bound, t, (mpfr_ptr)0);
}

/* The loss of M in EV into OUT: the forward pass, which the derivation
   does not touch. */
static void
loss_at(evaluator *ev, const model *m, mpfr_t out)
{
    const value *v;
    char why[256];
    ck_assert_msg(eval_term(ev, term_symbol(m->terms, m->loss), &v, why, sizeof why), "%s", why);
    mpfr_set(out, *eval_fr(v, 0, 0), MPFR_RNDN);
}

/* A copy of the value bound to P in EV. */
static value *
current(evaluator *ev, const model *m, const symbol *p)
{
    const value *now;
    char why[256];
    ck_assert_msg(eval_term(ev, term_symbol(m->terms, p), &now, why, sizeof why), "%s", why);
    value *c = eval_new_value(ev, now->rank, now->rows, now->cols);
    for (long i = 0; i < now->rows; i++)
        for (long j = 0; j < now->cols; j++)
            mpfr_set(*eval_fr(c, i, j), *eval_fr(now, i, j), MPFR_RNDN);
    return c;
}

/* dJ/dP[i][j] by central differences in EV (BITS bits), h = 2^-H. */
static void
central_difference(evaluator *ev, const model *m, const symbol *p, long i, long j, long h,
                   mpfr_t out)
{
    value *base = current(ev, m, p), *moved = current(ev, m, p);
    mpfr_t plus;
    mpfr_init2(plus, mpfr_get_prec(out));
    mpfr_t *w = eval_fr(moved, i, j);
    mpfr_set_ui_2exp(plus, 1, -h, MPFR_RNDN);
    mpfr_add(*w, *w, plus, MPFR_RNDN);
    eval_bind(ev, p, moved);
    loss_at(ev, m, plus);
    mpfr_set_ui_2exp(out, 1, -h, MPFR_RNDN);
    mpfr_sub(*w, *eval_fr(base, i, j), out, MPFR_RNDN);
    eval_bind(ev, p, moved);
    loss_at(ev, m, out);
    mpfr_sub(out, plus, out, MPFR_RNDN);
    mpfr_mul_2si(out, out, h - 1, MPFR_RNDN);
    eval_bind(ev, p, base);
    mpfr_clear(plus);
}

/* The printed entry [i][j] of a gradient of P's rank. */
static const char *
entry(const json_t *g, const symbol *p, long i, long j)
{
    const json_t *e = p->shape.rank == 2   ? json_array_get(json_array_get(g, (size_t)i), (size_t)j)
                      : p->shape.rank == 1 ? json_array_get(g, (size_t)j)
                                           : g;
    ck_assert_msg(json_is_string(e), "d%s[%ld][%ld] is not a string", p->name, i, j);
    return json_string_value(e);
}

/* Every number of REPORT (eval of M at PREC bits, at the point DATA and
   SEED give) against the reference at 4 PREC bits: the loss evaluated
   forward, each gradient entry by central differences with h =
   2^-(4 PREC / 3), whose error (about 2^-(8 PREC / 3)) is far below the
   last printed digit. Returns the digit counts. */
static digit_stats
check_report(const model *m, const json_t *report, const char *data, unsigned long seed, long prec)
{
    long bits = 4 * prec;
    evaluator *ev = eval_new(tu_pool, NUMBER_MPFR, bits);
    data_set *ds = NULL;
    if (data != NULL) {
        ds = data_read(data, m, tu_pool, &tu_err);
        ck_assert_msg(ds != NULL, "%s", ds ? "" : tu_err.formatted);
    }
    char why[256];
    ck_assert(data_bind(ev, tu_pool, ds, m, seed, why, sizeof why));
    digit_stats st = {1 << 30, 0, 0};
    mpfr_t ref;
    mpfr_init2(ref, bits);
    loss_at(ev, m, ref);
    assert_printed("loss", json_string_value(json_object_get(report, "loss")), ref, prec, &st);
    const json_t *grads = json_object_get(report, "gradients");
    for (size_t k = 0; k < m->nsymbols; k++) {
        const symbol *p = m->symbols[k];
        if (p->kind != SYM_PARAM)
            continue;
        char name[64], what[192];
        snprintf(name, sizeof name, "d%s", p->name);
        const json_t *g = json_object_get(grads, name);
        ck_assert_msg(g != NULL, "no %s in the report", name);
        value *now = current(ev, m, p);
        for (long i = 0; i < now->rows; i++)
            for (long j = 0; j < now->cols; j++) {
                central_difference(ev, m, p, i, j, bits / 3, ref);
                snprintf(what, sizeof what, "%s[%ld][%ld] at %ld bits", name, i, j, prec);
                assert_printed(what, entry(g, p, i, j), ref, prec, &st);
            }
    }
    mpfr_clear(ref);
    data_free(ds);
    eval_free(ev);
    return st;
}

/* ---- (a) a case computed by hand ---- */

/* Logistic regression at the integers (and a few exact decimals) of
   good-logistic.json: Z = W X + b exactly, A = 1 / (1 + exp(-Z)),
   J = -(1/m) sum(Y log A + (1 - Y) log(1 - A)), dW = (1/m)(A - Y) X^T,
   db = (1/m) sum(A - Y), all written out here in MPFR at 4 P bits. */
START_TEST(logistic_by_hand)
{
    static const char *const X[3][4] = {
        {"1", "2", "0", "-1"}, {"0", "1", "3", "2"}, {"1/2", "-2", "1", "1/4"}};
    static const int Y[4] = {1, 0, 1, 0};
    static const char *const W[3] = {"1/2", "-1/4", "1"};
    static const char *const b = "1/10";
    long precs[] = {64, 256, 1000};
    for (size_t k = 0; k < sizeof precs / sizeof precs[0]; k++) {
        long prec = precs[k], bits = 4 * prec;
        json_t *report = eval_json("logistic", json_path("good-logistic.json"), 1, prec, 0);
        const json_t *dims = json_object_get(report, "dims");
        ck_assert_int_eq(json_integer_value(json_object_get(dims, "m")), 4);
        ck_assert_int_eq(json_integer_value(json_object_get(dims, "n_x")), 3);
        ck_assert_int_eq(json_integer_value(json_object_get(report, "precision")), prec);
        mpq_t z, t;
        mpq_inits(z, t, (mpq_ptr)0);
        mpfr_t a[4], loss, dw[3], db, u;
        mpfr_inits2(bits, loss, db, u, (mpfr_ptr)0);
        mpfr_set_zero(loss, 1);
        mpfr_set_zero(db, 1);
        for (int i = 0; i < 3; i++) {
            mpfr_init2(dw[i], bits);
            mpfr_set_zero(dw[i], 1);
        }
        for (int j = 0; j < 4; j++) {
            mpq_set_str(z, b, 10);
            for (int i = 0; i < 3; i++) {
                mpq_t w, x;
                mpq_inits(w, x, (mpq_ptr)0);
                mpq_set_str(w, W[i], 10);
                mpq_set_str(x, X[i][j], 10);
                mpq_mul(t, w, x);
                mpq_add(z, z, t);
                mpq_clears(w, x, (mpq_ptr)0);
            }
            mpfr_init2(a[j], bits);
            mpfr_set_q(a[j], z, MPFR_RNDN);
            mpfr_neg(a[j], a[j], MPFR_RNDN);
            mpfr_exp(a[j], a[j], MPFR_RNDN);
            mpfr_add_ui(a[j], a[j], 1, MPFR_RNDN);
            mpfr_ui_div(a[j], 1, a[j], MPFR_RNDN); /* A = sigmoid(Z) */
            if (Y[j])
                mpfr_log(u, a[j], MPFR_RNDN);
            else {
                mpfr_ui_sub(u, 1, a[j], MPFR_RNDN);
                mpfr_log(u, u, MPFR_RNDN);
            }
            mpfr_sub(loss, loss, u, MPFR_RNDN);
            mpfr_sub_ui(u, a[j], (unsigned long)Y[j], MPFR_RNDN); /* A - Y */
            mpfr_add(db, db, u, MPFR_RNDN);
            for (int i = 0; i < 3; i++) {
                mpfr_t xu;
                mpfr_init2(xu, bits);
                mpq_set_str(t, X[i][j], 10);
                mpfr_mul_q(xu, u, t, MPFR_RNDN);
                mpfr_add(dw[i], dw[i], xu, MPFR_RNDN);
                mpfr_clear(xu);
            }
        }
        mpfr_div_ui(loss, loss, 4, MPFR_RNDN);
        mpfr_div_ui(db, db, 4, MPFR_RNDN);
        digit_stats st = {1 << 30, 0, 0};
        assert_printed("J", json_string_value(json_object_get(report, "loss")), loss, prec, &st);
        const json_t *g = json_object_get(report, "gradients");
        for (int i = 0; i < 3; i++) {
            mpfr_div_ui(dw[i], dw[i], 4, MPFR_RNDN);
            char what[32];
            snprintf(what, sizeof what, "dW[0][%d]", i);
            assert_printed(what,
                           json_string_value(json_array_get(
                               json_array_get(json_object_get(g, "dW"), 0), (size_t)i)),
                           dw[i], prec, &st);
            mpfr_clear(dw[i]);
        }
        assert_printed(
            "db", json_string_value(json_array_get(json_array_get(json_object_get(g, "db"), 0), 0)),
            db, prec, &st);
        /* all of the precision's digits, but for a few lost to rounding */
        long kmax = (long)floor((double)prec * 0.30102999566398119521);
        ck_assert_int_le(st.max, kmax);
        ck_assert_int_ge(st.min, kmax - 3);
        for (int j = 0; j < 4; j++)
            mpfr_clear(a[j]);
        mpfr_clears(loss, db, u, (mpfr_ptr)0);
        mpq_clears(z, t, (mpq_ptr)0);
        json_decref(report);
    }
}
END_TEST

/* ---- (b) every built-in model against finite differences ---- */

static void
models_agree_with_finite_differences(const char *name)
{
    model *m = tu_parse_builtin(name);
    for (unsigned long seed = 1; seed <= 3; seed++) {
        json_t *report = eval_json(name, NULL, seed * 1009, 128, 1);
        digit_stats st = check_report(m, report, NULL, seed * 1009, 128);
        ck_assert_int_ge(st.min, 30); /* 128 bits: up to 38 digits */
        /* the program's own finite differences agree too */
        const json_t *fd = json_object_get(report, "finite_differences");
        ck_assert(json_is_true(json_object_get(fd, "agree")));
        ck_assert_double_le(atof(json_string_value(json_object_get(fd, "max"))),
                            ldexp(1, -128 / 3));
        json_decref(report);
    }
    model_free(m);
}

START_TEST(logistic_agrees_with_finite_differences)
{
    models_agree_with_finite_differences("logistic");
}
END_TEST
START_TEST(sigmoid_agrees_with_finite_differences)
{
    models_agree_with_finite_differences("sigmoid");
}
END_TEST
START_TEST(softmax_agrees_with_finite_differences)
{
    models_agree_with_finite_differences("softmax");
}
END_TEST
START_TEST(relu3_agrees_with_finite_differences) { models_agree_with_finite_differences("relu3"); }
END_TEST

/* At a point the data gives in part (m = 3 from the arrays, 0.1 inexact in
   binary), the same holds. */
START_TEST(data_point_agrees_with_finite_differences)
{
    model *m = tu_parse_builtin("sigmoid");
    const char *data = json_path("good-partial.json");
    json_t *report = eval_json("sigmoid", data, 5, 96, 0);
    ck_assert_int_eq(json_integer_value(json_object_get(json_object_get(report, "dims"), "m")), 3);
    digit_stats st = check_report(m, report, data, 5, 96);
    ck_assert_int_ge(st.numbers, 18);
    json_decref(report);
    model_free(m);
}
END_TEST

/* --check-fd's own numbers, checked once by hand: the largest relative
   difference it reports for sigmoid at 64 bits is the one computed here
   from its printed gradients and central differences at 128 bits with
   h = 2^-21, as values.h says. */
START_TEST(check_fd_reports_what_it_says)
{
    model *m = tu_parse_builtin("sigmoid");
    json_t *report = eval_json("sigmoid", NULL, 11, 64, 1);
    const json_t *fd = json_object_get(report, "finite_differences");
    ck_assert_str_eq(json_string_value(json_object_get(fd, "h")), "2^-21");
    ck_assert_int_eq(json_integer_value(json_object_get(fd, "precision")), 128);
    evaluator *ev = eval_new(tu_pool, NUMBER_MPFR, 128);
    char why[256];
    ck_assert(data_bind(ev, tu_pool, NULL, m, 11, why, sizeof why));
    mpfr_t q, g;
    mpfr_inits2(128, q, g, (mpfr_ptr)0);
    double all = 0;
    for (size_t k = 0; k < m->nsymbols; k++) {
        const symbol *p = m->symbols[k];
        if (p->kind != SYM_PARAM)
            continue;
        char name[64];
        snprintf(name, sizeof name, "d%s", p->name);
        const json_t *gr = json_object_get(json_object_get(report, "gradients"), name);
        value *now = current(ev, m, p);
        double worst = 0;
        for (long i = 0; i < now->rows; i++)
            for (long j = 0; j < now->cols; j++) {
                central_difference(ev, m, p, i, j, 21, q);
                mpfr_set_str(g, entry(gr, p, i, j), 10, MPFR_RNDN);
                mpfr_sub(q, q, g, MPFR_RNDN);
                mpfr_div(q, q, g, MPFR_RNDN);
                double rel = fabs(mpfr_get_d(q, MPFR_RNDN));
                worst = rel > worst ? rel : worst;
            }
        double reported = atof(json_string_value(
            json_object_get(json_object_get(fd, "max_relative_difference"), name)));
        ck_assert_msg(fabs(reported - worst) <= 0.01 * worst, "%s: reported %g, computed %g", name,
                      reported, worst);
        all = worst > all ? worst : all;
    }
    ck_assert_msg(fabs(atof(json_string_value(json_object_get(fd, "max"))) - all) <= 0.01 * all,
                  "max");
    mpfr_clears(q, g, (mpfr_ptr)0);
    eval_free(ev);
    json_decref(report);
    model_free(m);
}
END_TEST

/* A copy of the rules with the sigmoid adjoint's (1 - C) dropped. */
static char *
wrong_rules(void)
{
    char *dir = strdup("/tmp/dc-wrong-rules-XXXXXX");
    ck_assert_ptr_nonnull(mkdtemp(dir));
    static const char *const files[] = {"adjoint.rules", "algebra.rules", "labels.rules"};
    for (size_t k = 0; k < 3; k++) {
        char from[4096], to[4096], line[1024];
        snprintf(from, sizeof from, "%s/%s", DC_RULES_DIR, files[k]);
        snprintf(to, sizeof to, "%s/%s", dir, files[k]);
        FILE *in = fopen(from, "r"), *out = fopen(to, "w");
        ck_assert(in != NULL && out != NULL);
        while (fgets(line, sizeof line, in) != NULL) {
            char *c = strstr(line, "da = G * C * (1 - C)");
            if (strncmp(line, "sigmoid:", 8) == 0 && c != NULL)
                strcpy(c, "da = G * C\n");
            fputs(line, out);
        }
        fclose(in);
        fclose(out);
    }
    return dir;
}

/* With a wrong adjoint rule the derived gradients are wrong, and both
   --check-fd (exit 1) and this file's oracle say so. */
START_TEST(a_wrong_rule_is_caught)
{
    char *dir = wrong_rules();
    char model_path[4096];
    snprintf(model_path, sizeof model_path, "%s/models/sigmoid.dc", DC_RULES_DIR);
    dc_status st;
    char *text = eval_report(dir, model_path, NULL, 1, 64, "text", 1, &st);
    ck_assert_int_eq(st, DC_REFUTED);
    ck_assert_ptr_nonnull(strstr(text, "DISAGREE"));
    free(text);
    char *report = eval_report(dir, model_path, NULL, 1, 64, "json", 1, &st);
    json_t *root = json_loads(report, 0, NULL);
    ck_assert(json_is_false(json_object_get(json_object_get(root, "finite_differences"), "agree")));
    /* the oracle: dW2 printed is far from the central difference */
    model *m = tu_parse_builtin("sigmoid");
    evaluator *ev = eval_new(tu_pool, NUMBER_MPFR, 256);
    char why[256];
    ck_assert(data_bind(ev, tu_pool, NULL, m, 1, why, sizeof why));
    mpfr_t q, g;
    mpfr_inits2(256, q, g, (mpfr_ptr)0);
    central_difference(ev, m, model_lookup(m, "W2", 2), 0, 0, 85, q);
    mpfr_set_str(g,
                 entry(json_object_get(json_object_get(root, "gradients"), "dW2"),
                       model_lookup(m, "W2", 2), 0, 0),
                 10, MPFR_RNDN);
    mpfr_sub(g, g, q, MPFR_RNDN);
    mpfr_div(g, g, q, MPFR_RNDN);
    ck_assert_double_gt(fabs(mpfr_get_d(g, MPFR_RNDN)), 0.01);
    mpfr_clears(q, g, (mpfr_ptr)0);
    eval_free(ev);
    model_free(m);
    json_decref(root);
    free(report);
    for (size_t k = 0; k < 3; k++) {
        char path[4096];
        static const char *const files[] = {"adjoint.rules", "algebra.rules", "labels.rules"};
        snprintf(path, sizeof path, "%s/%s", dir, files[k]);
        unlink(path);
    }
    rmdir(dir);
    free(dir);
}
END_TEST

/* ---- (c) digits grow with the precision, and every one is right ---- */

START_TEST(digits_grow_with_precision)
{
    model *m = tu_parse_builtin("sigmoid");
    long precs[] = {64, 256, 1024};
    digit_stats st[3];
    for (int k = 0; k < 3; k++) {
        json_t *report = eval_json("sigmoid", NULL, 77, precs[k], 0);
        ck_assert_int_eq(json_integer_value(json_object_get(report, "max_digits")),
                         (long)floor((double)precs[k] * 0.30102999566398119521));
        st[k] = check_report(m, report, NULL, 77, precs[k]);
        ck_assert_int_eq(st[k].numbers, 18);
        json_decref(report);
    }
    /* 19, 77 and 308 at most: at least the fewest at one precision is
       more than the most at the one below */
    ck_assert_int_le(st[0].max, 19);
    ck_assert_int_gt(st[1].min, st[0].max);
    ck_assert_int_le(st[1].max, 77);
    ck_assert_int_gt(st[2].min, st[1].max);
    ck_assert_int_le(st[2].max, 308);
    ck_assert_int_ge(st[2].min, 300);
    model_free(m);
}
END_TEST

/* A gradient that is exactly 0 at both precisions is printed "0": with
   W1 = 0 and b1 = -1 every unit of relu3's first layer is dead. */
START_TEST(exact_zeros_of_dead_units)
{
    model *m = tu_parse_builtin("relu3");
    const char *data = "/tmp/dc-dead-relu.json";
    FILE *f = fopen(data, "w");
    fputs("{\"W1\": [[0,0,0],[0,0,0],[0,0,0],[0,0,0],[0,0,0]],"
          " \"b1\": [[-1],[-1],[-1],[-1],[-1]]}\n",
          f);
    fclose(f);
    json_t *report = eval_json("relu3", data, 3, 64, 1);
    const json_t *g = json_object_get(report, "gradients");
    for (size_t i = 0; i < 5; i++) {
        ck_assert_str_eq(
            json_string_value(json_array_get(json_array_get(json_object_get(g, "db1"), i), 0)),
            "0");
        for (size_t j = 0; j < 3; j++)
            ck_assert_str_eq(
                json_string_value(json_array_get(json_array_get(json_object_get(g, "dW1"), i), j)),
                "0");
    }
    check_report(m, report, data, 3, 64);
    ck_assert(
        json_is_true(json_object_get(json_object_get(report, "finite_differences"), "agree")));
    json_decref(report);
    unlink(data);
    model_free(m);
}
END_TEST

/* ---- (d) seeds ---- */

START_TEST(same_seed_same_bytes)
{
    const char *formats[] = {"text", "json"};
    for (int k = 0; k < 2; k++) {
        dc_status st;
        char *a = eval_report(NULL, "softmax", NULL, 9, 128, formats[k], 1, &st);
        char *b = eval_report(NULL, "softmax", NULL, 9, 128, formats[k], 1, &st);
        char *c = eval_report(NULL, "softmax", NULL, 10, 128, formats[k], 1, &st);
        ck_assert_str_eq(a, b);
        ck_assert_str_ne(a, c);
        free(a);
        free(b);
        free(c);
    }
    json_t *a = eval_json("softmax", NULL, 9, 128, 0), *c = eval_json("softmax", NULL, 10, 128, 0);
    ck_assert_str_ne(json_string_value(json_object_get(a, "loss")),
                     json_string_value(json_object_get(c, "loss")));
    const json_t *ga = json_object_get(json_object_get(a, "gradients"), "dW1");
    const json_t *gc = json_object_get(json_object_get(c, "gradients"), "dW1");
    for (size_t i = 0; i < 4; i++)
        for (size_t j = 0; j < 2; j++)
            ck_assert_str_ne(json_string_value(json_array_get(json_array_get(ga, i), j)),
                             json_string_value(json_array_get(json_array_get(gc, i), j)));
    json_decref(a);
    json_decref(c);
}
END_TEST

/* ---- (e) labels whose data keep their assumption only approximately ---- */

/* PATH's model, NAME's data: two paths at once (json_path's buffer is one). */
typedef struct paths {
    char model[4096], data[4096];
} paths;

static paths
json_paths(const char *model_name, const char *data_name)
{
    paths p;
    snprintf(p.model, sizeof p.model, "%s", json_path(model_name));
    snprintf(p.data, sizeof p.data, "%s", json_path(data_name));
    return p;
}

/* eval of prob.dc (softmax over n_y classes, a prob label Y) at DATA_NAME
   and PREC bits, against the loss as written (check_report: finite
   differences at 4 PREC bits): every printed digit, whatever the report
   assumed; and the report names the label it did not assume, Y at COLUMN
   with SUM, or none when SUM is NULL. NUMBERS: how many it prints. */
static void
prob_labels_as_given(const char *data_name, long prec, long column, const char *sum, long numbers)
{
    paths p = json_paths("prob.dc", data_name);
    model *m = tu_parse_path(p.model);
    json_t *report = eval_json(p.model, p.data, 1, prec, 1);
    const json_t *dropped = json_object_get(report, "labels_not_assumed");
    if (sum == NULL)
        ck_assert_ptr_null(dropped);
    else {
        ck_assert_int_eq(json_array_size(dropped), 1);
        const json_t *l = json_array_get(dropped, 0);
        ck_assert_str_eq(json_string_value(json_object_get(l, "label")), "Y");
        ck_assert_str_eq(json_string_value(json_object_get(l, "declared")), "prob");
        ck_assert_int_eq(json_integer_value(json_object_get(l, "column")), column);
        ck_assert_str_eq(json_string_value(json_object_get(l, "sum")), sum);
    }
    digit_stats st = check_report(m, report, p.data, 1, prec);
    ck_assert_int_eq(st.numbers, numbers);
    ck_assert_int_ge(st.min, prec * 3 / 10 - 4); /* no digits lost on the way */
    ck_assert(
        json_is_true(json_object_get(json_object_get(report, "finite_differences"), "agree")));
    json_decref(report);
    model_free(m);
}

/* The oracle can tell: at DATA_NAME the gradient dW derived under
   sum(Y) = 1 (what eval printed before) differs from the finite
   differences of the loss as written, relatively, by more than 10^-(K - 2)
   for K = floor(PREC log10 2), the digits printed at PREC bits. */
static void
assumed_gradient_is_wrong(const char *data_name, long prec)
{
    paths p = json_paths("prob.dc", data_name);
    model *m = tu_parse_path(p.model);
    rule_set *rs = tu_rules_load(DC_RULES_DIR);
    const derivation *d = tu_derive(m, rs);
    const symbol *w = model_lookup(m, "W", 1);
    long bits = 4 * prec;
    evaluator *ev = eval_new(tu_pool, NUMBER_MPFR, bits);
    data_set *ds = data_read(p.data, m, tu_pool, &tu_err);
    ck_assert_ptr_nonnull(ds);
    char why[256];
    ck_assert(data_bind(ev, tu_pool, ds, m, 1, why, sizeof why));
    const value *v;
    ck_assert_msg(eval_term(ev, derive_find(d, w)->absorbed, &v, why, sizeof why), "%s", why);
    value *assumed = eval_new_value(ev, v->rank, v->rows, v->cols);
    for (long i = 0; i < v->rows; i++)
        for (long j = 0; j < v->cols; j++)
            mpfr_set(*eval_fr(assumed, i, j), *eval_fr(v, i, j), MPFR_RNDN);
    mpfr_t fd, worst;
    mpfr_inits2(bits, fd, worst, (mpfr_ptr)0);
    mpfr_set_zero(worst, 1);
    for (long i = 0; i < assumed->rows; i++)
        for (long j = 0; j < assumed->cols; j++) {
            central_difference(ev, m, w, i, j, bits / 3, fd);
            mpfr_sub(*eval_fr(assumed, i, j), *eval_fr(assumed, i, j), fd, MPFR_RNDN);
            mpfr_div(*eval_fr(assumed, i, j), *eval_fr(assumed, i, j), fd, MPFR_RNDN);
            mpfr_abs(*eval_fr(assumed, i, j), *eval_fr(assumed, i, j), MPFR_RNDN);
            mpfr_max(worst, worst, *eval_fr(assumed, i, j), MPFR_RNDN);
        }
    long k = (long)floor((double)prec * 0.30102999566398119521);
    ck_assert_msg(mpfr_get_d(worst, MPFR_RNDN) > pow(10, -(double)(k - 2)),
                  "under sum(Y) = 1 the gradient is off by only %g", mpfr_get_d(worst, MPFR_RNDN));
    mpfr_clears(fd, worst, (mpfr_ptr)0);
    data_free(ds);
    eval_free(ev);
    rules_free(rs);
    model_free(m);
}

/* Columns of a prob label summing to 1 + 5e-13, inside the reader's 1e-12
   (column 1 of good-prob-near-one.json): the gradients are of the loss as
   written, not of the loss under sum(Y) = 1, to the last digit. */
START_TEST(prob_labels_summing_near_one)
{
    assumed_gradient_is_wrong("good-prob-near-one.json", 64);
    prob_labels_as_given("good-prob-near-one.json", 64, 1, "1 + 5e-13", 10);
    prob_labels_as_given("good-prob-near-one.json", 256, 1, "1 + 5e-13", 10);
}
END_TEST

/* Label smoothing 0.9 onehot + 0.1 / 4 computed in double and written
   exactly (good-prob-smoothed-double.json): every column sums to
   1 + 4.86e-17, which the 17th digit shows. Written as the decimals 0.925
   and 0.025 (good-prob-smoothed-exact.json) the columns sum to 1 exactly
   and the assumption is used. */
START_TEST(label_smoothing_in_double)
{
    assumed_gradient_is_wrong("good-prob-smoothed-double.json", 64);
    prob_labels_as_given("good-prob-smoothed-double.json", 64, 0, "1 + 4.86e-17", 13);
    prob_labels_as_given("good-prob-smoothed-double.json", 256, 0, "1 + 4.86e-17", 13);
    prob_labels_as_given("good-prob-smoothed-exact.json", 64, 0, NULL, 13);
    prob_labels_as_given("good-prob-smoothed-exact.json", 256, 0, NULL, 13);
}
END_TEST

/* ---- (f) values that are not finite numbers, and the exponent range ---- */

/* The JSON string of V, the loss or entry [0][0] of the gradient NAME. */
static const char *
first_entry(const json_t *report, const char *name)
{
    if (strcmp(name, "J") == 0)
        return json_string_value(json_object_get(report, "loss"));
    const json_t *g = json_object_get(json_object_get(report, "gradients"), name);
    return json_string_value(json_array_get(json_array_get(g, 0), 0));
}

/* At X = [0, 1]: J = sum(W X) + sum(V X log X) has no value (0 * log 0 is
   NaN in MPFR, as in IEEE), nor has dV = sum(X log X); dW = sum(X) = 1.
   And -log(0) is +inf. Such entries are "nan" and "inf", never digits,
   and counted under not_finite. The MPFR oracle says which they are. */
START_TEST(no_digits_for_nan_or_inf)
{
    mpfr_t zero, l, x;
    mpfr_inits2(64, zero, l, x, (mpfr_ptr)0);
    mpfr_set_zero(zero, 1);
    mpfr_log(l, zero, MPFR_RNDN);
    mpfr_mul(x, zero, l, MPFR_RNDN);
    ck_assert(mpfr_nan_p(x)); /* 0 * log(0) */
    mpfr_neg(x, l, MPFR_RNDN);
    ck_assert(mpfr_inf_p(x) && mpfr_sgn(x) > 0); /* -log(0) */
    mpfr_clears(zero, l, x, (mpfr_ptr)0);

    /* a nan or an inf is no proved number: the report comes with
       DC_UNDECIDED (exit status 2), never DC_OK */
    paths p = json_paths("log0.dc", "good-log0.json");
    dc_status st;
    free(eval_report(NULL, p.model, p.data, 1, 64, "json", 0, &st));
    ck_assert_int_eq(st, DC_UNDECIDED);
    json_t *report = eval_json(p.model, p.data, 1, 64, 0);
    ck_assert_str_eq(first_entry(report, "J"), "nan");
    ck_assert_str_eq(first_entry(report, "dV"), "nan");
    ck_assert_str_eq(first_entry(report, "dW"), "1.000000000000000000");
    const json_t *nf = json_object_get(report, "not_finite");
    ck_assert_int_eq(json_object_size(nf), 2);
    ck_assert_int_eq(json_integer_value(json_object_get(nf, "J")), 1);
    ck_assert_int_eq(json_integer_value(json_object_get(nf, "dV")), 1);
    json_decref(report);

    p = json_paths("log0-inf.dc", "good-log0-inf.json");
    report = eval_json(p.model, p.data, 1, 64, 0);
    ck_assert_str_eq(first_entry(report, "J"), "inf");
    ck_assert_str_eq(first_entry(report, "dW"), "1.000000000000000000");
    nf = json_object_get(report, "not_finite");
    ck_assert_int_eq(json_object_size(nf), 1);
    ck_assert_int_eq(json_integer_value(json_object_get(nf, "J")), 1);
    json_decref(report);

    /* a finite report has no not_finite at all */
    report = eval_json("sigmoid", NULL, 1, 64, 0);
    ck_assert_ptr_null(json_object_get(report, "not_finite"));
    json_decref(report);
}
END_TEST

/* exp(1e9 + 1000) is beyond MPFR's default exponent range (2^(2^30)):
   eval widens it and every digit is right (the oracle runs in the widest
   range too). exp(-1e30) is beyond even that, but Arb's balls have
   unbounded exponents and it vanishes beside exp(2001): the loss and
   gradients keep their digits, right by the oracle. exp(1e30) is in the
   loss itself, whose digits MPFR cannot write: eval refuses, naming the
   loss, with the caller's range left as it was. */
START_TEST(exponent_range)
{
    mpfr_exp_t emin = mpfr_get_emin(), emax = mpfr_get_emax();
    /* the loss's decimal exponent, or NULL for one not checked */
    static const char *const proved[][2] = {{"good-exp-huge.json", "e434294915"},
                                            {"exp-underflow.json", NULL}};
    paths p;
    for (size_t k = 0; k < 2; k++) {
        p = json_paths("exp.dc", proved[k][0]);
        model *m = tu_parse_path(p.model);
        json_t *report = eval_json(p.model, p.data, 1, 64, 0);
        ck_assert_int_eq(mpfr_get_emin(), emin);
        ck_assert_int_eq(mpfr_get_emax(), emax);
        if (proved[k][1] != NULL)
            ck_assert_ptr_nonnull(strstr(first_entry(report, "J"), proved[k][1]));
        mpfr_set_emin(mpfr_get_emin_min());
        mpfr_set_emax(mpfr_get_emax_max());
        digit_stats st = check_report(m, report, p.data, 1, 64);
        mpfr_set_emin(emin);
        mpfr_set_emax(emax);
        ck_assert_int_eq(st.numbers, 3);
        ck_assert_int_ge(st.min, 17);
        json_decref(report);
        model_free(m);
    }

    p = json_paths("exp.dc", "exp-overflow.json");
    dc_session *s = tu_session(NULL, p.model);
    const char *out;
    ck_assert_int_eq(dc_eval(s, p.data, 1, 64, "text", 0, &out), DC_ELIMIT);
    char want[512];
    snprintf(want, sizeof want,
             "cannot evaluate J: a value on the way overflows MPFR's exponent range even at its "
             "widest (|x| < 2^%ld), so none of its digits can be proved",
             (long)mpfr_get_emax_max());
    ck_assert_str_eq(dc_error_message(dc_session_error(s)), want);
    ck_assert_int_eq(mpfr_get_emin(), emin);
    ck_assert_int_eq(mpfr_get_emax(), emax);
    dc_session_free(s);
}
END_TEST

/* ---- refusals ---- */

START_TEST(refusals_name_the_caps)
{
    dc_session *s = tu_session(NULL, "sigmoid");
    const char *report;
    ck_assert_int_eq(dc_eval(s, NULL, 1, 63, "text", 0, &report), DC_EINPUT);
    ck_assert_str_eq(dc_error_message(dc_session_error(s)),
                     "a precision of 63 bits is outside the caps: 64 to 10000 bits");
    ck_assert_int_eq(dc_eval(s, NULL, 1, 10001, "json", 0, &report), DC_EINPUT);
    ck_assert_str_eq(dc_error_message(dc_session_error(s)),
                     "a precision of 10001 bits is outside the caps: 64 to 10000 bits");
    ck_assert_int_eq(dc_eval(s, NULL, 1, 64, "markdown", 0, &report), DC_EINPUT);
    ck_assert_str_eq(dc_error_message(dc_session_error(s)),
                     "eval writes text or json, not 'markdown'");
    ck_assert_int_eq(dc_eval(s, "/nonexistent.json", 1, 64, "text", 0, &report), DC_EIO);
    ck_assert_int_eq(dc_eval(s, NULL, 1, 0, NULL, 0, &report), DC_OK);
    ck_assert_ptr_nonnull(strstr(report, ", 256 bits\n"));
    dc_session_free(s);
    s = dc_session_new();
    ck_assert_int_eq(dc_session_set_rules_dir(s, DC_RULES_DIR), DC_OK);
    ck_assert_int_eq(dc_eval(s, NULL, 1, 64, "text", 0, &report), DC_EINPUT);
    ck_assert_str_eq(dc_error_message(dc_session_error(s)), "no model is loaded");
    dc_session_free(s);
}
END_TEST

/* ---- (g) allocation failures ---- */

/* Every allocation of dc_eval failing in turn gives DC_ENOMEM and leaves
   nothing behind (ASan); then the report is the one a clean run writes.
   The session has its rules already (their loading is not eval's), and the
   data give every value (sample_bind, which draws the others, is not this
   module's to test). */
static void
allocation_failures(const char *model_name, const char *data)
{
    dc_status st;
    char *clean = eval_report(NULL, model_name, data, 4, 64, "json", 1, &st);
    int failures = 0, done = 0;
    for (long n = 1; n < 100000 && !done; n++) {
        dc_session *s = tu_session(NULL, model_name);
        const char *report;
        ck_assert_int_eq(dc_rules_list(s, "text", &report), DC_OK);
        dc_debug_fail_alloc_after(n);
        st = dc_eval(s, data, 4, 64, "json", 1, &report);
        dc_debug_fail_alloc_after(0);
        if (st == DC_ENOMEM) {
            ck_assert_str_eq(dc_error_message(dc_session_error(s)), "out of memory");
            failures++;
        } else {
            ck_assert_int_eq(st, DC_OK);
            ck_assert_str_eq(report, clean);
            done = 1;
        }
        dc_session_free(s);
    }
    ck_assert(done);
    ck_assert_int_ge(failures, 100);
    free(clean);
}

START_TEST(allocation_failures_with_data)
{
    allocation_failures("logistic", json_path("good-logistic.json"));
}
END_TEST

START_TEST(allocation_failures_two_layers)
{
    allocation_failures("sigmoid", json_path("good-sigmoid.json"));
}
END_TEST

/* The same where the gradients are derived again without the label
   assumption the data break. */
START_TEST(allocation_failures_without_a_label_assumption)
{
    paths p = json_paths("prob.dc", "good-prob-near-one.json");
    allocation_failures(p.model, p.data);
}
END_TEST

int
main(void)
{
    Suite *s = suite_create("numbers");
    TCase *tc = tcase_create("numbers");
    tcase_add_checked_fixture(tc, tu_setup, tu_teardown);
    tcase_set_timeout(tc, 300);
    tcase_add_test(tc, logistic_by_hand);
    tcase_add_test(tc, logistic_agrees_with_finite_differences);
    tcase_add_test(tc, sigmoid_agrees_with_finite_differences);
    tcase_add_test(tc, softmax_agrees_with_finite_differences);
    tcase_add_test(tc, relu3_agrees_with_finite_differences);
    tcase_add_test(tc, data_point_agrees_with_finite_differences);
    tcase_add_test(tc, check_fd_reports_what_it_says);
    tcase_add_test(tc, a_wrong_rule_is_caught);
    tcase_add_test(tc, digits_grow_with_precision);
    tcase_add_test(tc, exact_zeros_of_dead_units);
    tcase_add_test(tc, same_seed_same_bytes);
    tcase_add_test(tc, prob_labels_summing_near_one);
    tcase_add_test(tc, label_smoothing_in_double);
    tcase_add_test(tc, no_digits_for_nan_or_inf);
    tcase_add_test(tc, exponent_range);
    tcase_add_test(tc, refusals_name_the_caps);
    tcase_add_test(tc, allocation_failures_with_data);
    tcase_add_test(tc, allocation_failures_two_layers);
    tcase_add_test(tc, allocation_failures_without_a_label_assumption);
    suite_add_tcase(s, tc);
    return tu_run(s);
}
