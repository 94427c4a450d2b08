/* check_verdicts.c: check's verdicts rest on evidence (issue 13): numbers at sizes that vary,
 * a witnessed difference for a refutation, a method for every verdict, "undecided" where no
 * method decides, and a summary that agrees with the outcome. */
#include <check.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cmd/check.h"
#include "lang/parse.h"
#include "num/agree.h"
#include "out/report.h"
#include "sym/rules.h"
#include "testutil.h"

/* The claims of TEXT judged, seed 1. */
static check_result *
checked(model *m)
{
    derivation *d = tu_derive(m, tu_rules);
    check_result *c = check_claims(m, d, tu_rules, 1, &tu_err, tu_pool);
    ck_assert_msg(c != NULL, "%s", c ? "" : tu_err.formatted);
    return c;
}

static const claim_result *
claim(const check_result *c, const char *name)
{
    for (size_t i = 0; i < c->n; i++)
        if (strcmp(c->r[i].claim->name, name) == 0)
            return &c->r[i];
    ck_abort_msg("no claim %s", name);
    return NULL;
}

/* The size of DIM in assignment S. */
static long
size_in(const sample_sizes *s, const symbol *dim)
{
    for (size_t k = 0; k < s->count; k++)
        if (s->dims[k] == dim)
            return s->n[k];
    ck_abort_msg("no dim %s", dim->name);
    return 0;
}

/* Ng's network on a batch of 5 (course 1 week 3), with the claims CLAIMS. */
static model *
ng(long batch, const char *claims)
{
    static char buf[4096];
    snprintf(buf, sizeof buf,
             "dims n_x = 2, n_h = 4, n_y = 1\n"
             "batch m = %ld\n"
             "input X[n_x, m]\n"
             "label Y[n_y, m] binary\n"
             "param W1[n_h, n_x], b1[n_h, 1], W2[n_y, n_h], b2[n_y, 1]\n"
             "Z1 = W1 @ X + b1\n"
             "A1 = tanh(Z1)\n"
             "Z2 = W2 @ A1 + b2\n"
             "A2 = sigmoid(Z2)\n"
             "loss J = -1/m * sum(Y * log(A2) + (1 - Y) * log(1 - A2))\n"
             "%s",
             batch, claims);
    return tu_parse_text("test.dc", buf);
}

/* 0.2 * sum(X) and 1/m * sum(X) agree at the declared m = 5 only: at the
   declared sizes alone agree_exact calls them equal, at sizes that vary it
   finds the difference, at a point whose sizes are not the declared ones.
   Two forms of one formula agree at every point, and the points compared
   lie at three assignments, two of which differ from the declared sizes
   in every dim. */
START_TEST(agree_varies_the_sizes)
{
    model *m =
        tu_parse_text("test.dc", "dims n = 3\nbatch m = 5\ninput X[n, m]\nparam b[n, 1], c[n, 1], "
                                 "e[n, 1]\nloss J = sum(b + c + e)\n"
                                 "db = 0.2 * sum(X, axis=1, keepdims=True)\n"
                                 "dc = 1/m * sum(X, axis=1, keepdims=True)\n"
                                 "de = sum(X, axis=1, keepdims=True) / m\n");
    const term *fifth = tu_symbol(m, "db")->definition, *over_m = tu_symbol(m, "dc")->definition;
    const term *divided = tu_symbol(m, "de")->definition;
    sample_sizes sizes[3];
    for (int k = 0; k < 3; k++)
        sample_sizes_of(&sizes[k], tu_pool, m, k);
    agree_points declared = {.m = m, .seed = 1, .count = 3, .bits = 30};
    agree_points varied = declared;
    varied.sizes = sizes;
    varied.nsizes = 3;
    varied.skip = 1;
    agree_result r;
    ck_assert_int_eq(agree_exact(&r, tu_pool, &declared, fifth, over_m), AGREE_EQUAL);
    ck_assert_int_eq(agree_exact(&r, tu_pool, &varied, fifth, over_m), AGREE_DIFFERENT);
    ck_assert_int_ne(size_in(&sizes[r.point % 3], m->batch), 5);
    ck_assert_int_eq(agree_exact(&r, tu_pool, &varied, over_m, divided), AGREE_EQUAL);
    ck_assert_int_eq(r.compared, 3);
    ck_assert_uint_eq(r.sizes_compared, 7);
    for (int k = 1; k < 3; k++)
        for (size_t d = 0; d < sizes[k].count; d++)
            ck_assert_int_ne(sizes[k].n[d], sizes[0].n[d]);
    /* an enclosure witnesses the difference at point 1, and none between equals */
    agree_points one = varied;
    one.first = 1;
    one.count = 1;
    ck_assert_int_eq(agree_enclosure(&r, tu_pool, &one, 128, fifth, over_m), AGREE_DIFFERENT);
    ck_assert_int_eq(agree_enclosure(&r, tu_pool, &one, 128, over_m, divided), AGREE_NOT_SEPARATED);
    model_free(m);
}
END_TEST

/* The batch size written as a number is refuted with its own diagnosis,
   by an exact difference at a point whose batch size is not the declared
   one; the claims that hold are proved symbolically. */
START_TEST(hard_coded_batch_size_is_refuted)
{
    model *m = ng(5, "dZ2 = A2 - Y\n"
                     "dW2 = 0.2 * np.dot(dZ2, A1.T)\n"
                     "db2 = np.sum(dZ2, axis=1, keepdims=True) / 5\n");
    check_result *c = checked(m);
    ck_assert_int_eq(c->outcome, CHECK_REFUTED);
    ck_assert_int_eq(claim(c, "dZ2")->verdict, CLAIM_HOLDS);
    ck_assert_int_eq(claim(c, "dZ2")->evidence.method, METHOD_SYMBOLIC);
    static const char *const wrong[] = {"dW2", "db2"};
    for (int k = 0; k < 2; k++) {
        const claim_result *r = claim(c, wrong[k]);
        ck_assert_int_eq(r->verdict, CLAIM_REFUTED);
        ck_assert_str_eq(r->reason, "hard-codes the batch size 5: write 1/m");
        ck_assert_int_eq(r->evidence.method, METHOD_EXACT);
        ck_assert_int_ge(r->evidence.witness, 0);
        ck_assert_int_ne(size_in(&c->sizes[r->evidence.witness % CHECK_SIZES], m->batch), 5);
        ck_assert_ptr_nonnull(r->counterexample);
    }
    model_free(m);
}
END_TEST

/* batch m = 1: m is still a dim; a deferred dW2 without 1/m is refuted,
   and dZ2 = A2 - Y follows deferred, not either. */
START_TEST(batch_one_still_needs_one_over_m)
{
    model *m = ng(1, "dZ2 = A2 - Y\ndW2 = np.dot(dZ2, A1.T)\n");
    check_result *c = checked(m);
    ck_assert_int_eq(claim(c, "dZ2")->verdict, CLAIM_HOLDS);
    ck_assert_int_eq(claim(c, "dZ2")->follows, CONVENTION_DEFERRED);
    const claim_result *r = claim(c, "dW2");
    ck_assert_int_eq(r->verdict, CLAIM_REFUTED);
    ck_assert_str_eq(r->reason, "has a factor m too many (a 1/m is missing)");
    ck_assert_int_ne(size_in(&c->sizes[r->evidence.witness % CHECK_SIZES], m->batch), 1);
    model_free(m);
}
END_TEST

/* A symbolic proof stands where no number can be computed (log of a
   negative: NaN in MPFR, no exact value): it was "REFUTED: the symbolic and
   the numeric checks disagree". A claim no method decides is undecided,
   and so is the file. */
START_TEST(no_numbers_is_no_disagreement)
{
    static const char *const head = "dims n = 3\nbatch m = 5\ninput X[n, m]\nparam W[n, n]\n"
                                    "Z = W @ X\nloss J = 1/m * sum(Z * log(-1 - Z * Z))\n";
    char buf[1024];
    snprintf(buf, sizeof buf, "%sdZ = log(-1 - Z * Z) - 2 * Z * Z / (-1 - Z * Z)\n", head);
    model *m = tu_parse_text("test.dc", buf);
    check_result *c = checked(m);
    ck_assert_int_eq(claim(c, "dZ")->verdict, CLAIM_HOLDS);
    ck_assert_int_eq(claim(c, "dZ")->evidence.method, METHOD_SYMBOLIC);
    ck_assert_int_eq(c->outcome, CHECK_ALL_HOLD);
    model_free(m);
    snprintf(buf, sizeof buf,
             "%sdZ = log((-1 - Z * Z) * (-1 - Z * Z)) / 2 - 2 * Z * Z / (-1 - Z * Z)\n", head);
    m = tu_parse_text("test.dc", buf);
    c = checked(m);
    ck_assert_int_eq(claim(c, "dZ")->verdict, CLAIM_UNDECIDED);
    ck_assert_int_eq(claim(c, "dZ")->evidence.method, METHOD_NONE);
    ck_assert_ptr_nonnull(strstr(claim(c, "dZ")->reason, "no random point could be evaluated"));
    ck_assert_int_eq(c->outcome, CHECK_UNDECIDED);
    model_free(m);
}
END_TEST

/* Claims that each hold but mix the conventions fail, and the summary
   says so instead of "2 of 2 claims hold". */
START_TEST(summary_agrees_with_the_outcome)
{
    model *m = ng(8, "dZ2 = A2 - Y\ndZ1 = 1/m * W2.T @ dZ2 * (1 - A1 ** 2)\n");
    check_result *c = checked(m);
    ck_assert_int_eq(claim(c, "dZ2")->verdict, CLAIM_HOLDS);
    ck_assert_int_eq(claim(c, "dZ1")->verdict, CLAIM_HOLDS);
    ck_assert_int_eq(c->outcome, CHECK_REFUTED);
    text t;
    text_init(&t, tu_pool);
    report_check_summary(&t, c);
    ck_assert_ptr_null(strstr(text_str(&t), "2 of 2 claims hold"));
    ck_assert_ptr_nonnull(strstr(text_str(&t), "fails"));
    model_free(m);
}
END_TEST

/* dJ/dZ1[I][J] at the random point 0 of seed 1 (the declared sizes), by a
   central finite difference of the loss in MPFR at 256 bits, Z1 bound as
   a free variable: an oracle that reads no rule. */
static double
finite_difference(model *m, long i, long j)
{
    evaluator *ev = eval_new(tu_pool, NUMBER_MPFR, 256);
    sample_spec spec = {.seed = 1, .index = 0, .bits = 30};
    char why[256];
    ck_assert(sample_bind(ev, tu_pool, m, &spec, why, sizeof why));
    const symbol *z1 = tu_symbol(m, "Z1");
    const value *z;
    ck_assert_msg(eval_term(ev, term_symbol(m->terms, z1), &z, why, sizeof why), "%s", why);
    value *moved = eval_new_value(ev, z->rank, z->rows, z->cols);
    for (long r = 0; r < z->rows; r++)
        for (long k = 0; k < z->cols; k++)
            mpfr_set(*eval_fr(moved, r, k), *eval_fr(z, r, k), MPFR_RNDN);
    mpfr_t h, at, loss[2];
    mpfr_inits2(256, h, at, loss[0], loss[1], (mpfr_ptr)0);
    mpfr_set_ui_2exp(h, 1, -60, MPFR_RNDN);
    mpfr_set(at, *eval_fr(moved, i, j), MPFR_RNDN);
    for (int side = 0; side < 2; side++) {
        if (side == 0)
            mpfr_add(*eval_fr(moved, i, j), at, h, MPFR_RNDN);
        else
            mpfr_sub(*eval_fr(moved, i, j), at, h, MPFR_RNDN);
        eval_bind(ev, z1, moved);
        const value *j_value;
        ck_assert_msg(eval_term(ev, term_symbol(m->terms, m->loss), &j_value, why, sizeof why),
                      "%s", why);
        mpfr_set(loss[side], *eval_fr(j_value, 0, 0), MPFR_RNDN);
    }
    mpfr_sub(at, loss[0], loss[1], MPFR_RNDN);
    mpfr_div(at, at, h, MPFR_RNDN);
    mpfr_div_2ui(at, at, 1, MPFR_RNDN);
    double d = mpfr_get_d(at, MPFR_RNDN);
    mpfr_clears(h, at, loss[0], loss[1], (mpfr_ptr)0);
    eval_free(ev);
    return d;
}

/* Under convention auto, a wrong claim read in the absorbed convention
   (its dZ2 holds absorbed) is compared with the absorbed value dJ/dZ1, not
   the deferred m * dJ/dZ1: the counterexample's value "by the derivation"
   is the finite difference of the loss. */
START_TEST(counterexample_in_the_claims_convention)
{
    model *m = ng(8, "dZ2 = 1/m * (A2 - Y)\ndZ1 = W2.T @ dZ2 * (1 - A1)\n");
    check_result *c = checked(m);
    const claim_result *r = claim(c, "dZ1");
    ck_assert_int_eq(r->verdict, CLAIM_REFUTED);
    ck_assert_ptr_nonnull(r->counterexample);
    long i, j;
    double yours, truth;
    const char *at = strstr(r->counterexample, "dZ1[");
    ck_assert_ptr_nonnull(at);
    ck_assert_int_eq(sscanf(at, "dZ1[%ld][%ld] is %lf by your formula but %lf by the derivation",
                            &i, &j, &yours, &truth),
                     4);
    double fd = finite_difference(m, i, j);
    ck_assert_msg(fabs(truth - fd) <= 1e-5 * fabs(fd), "counterexample %g, dJ/dZ1 %g", truth, fd);
    ck_assert_msg(fabs(yours - fd) > 1e-3 * fabs(fd), "the claim is right at the entry shown");
    model_free(m);
}
END_TEST

int
main(void)
{
    Suite *s = suite_create("verdicts");
    TCase *tc = tcase_create("verdicts");
    tcase_add_checked_fixture(tc, tu_setup_rules, tu_teardown);
    tcase_set_timeout(tc, 120);
    tcase_add_test(tc, agree_varies_the_sizes);
    tcase_add_test(tc, hard_coded_batch_size_is_refuted);
    tcase_add_test(tc, batch_one_still_needs_one_over_m);
    tcase_add_test(tc, no_numbers_is_no_disagreement);
    tcase_add_test(tc, summary_agrees_with_the_outcome);
    tcase_add_test(tc, counterexample_in_the_claims_convention);
    suite_add_tcase(s, tc);
    return tu_run(s);
}
