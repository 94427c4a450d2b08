/* check_prove.c: the proof that the two placements of 1/m agree, and its certificate replayed. */
#include <check.h>
#include <dirent.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "sym/canon.h"
#include "sym/derive.h"
#include "lang/parse.h"
#include "cmd/prove.h"
#include "num/agree.h"
#include "sym/rules.h"
#include "testutil.h"

static mem_pool *pool;
static dc_error err;

static void
setup(void)
{
    pool = mem_pool_new();
    memset(&err, 0, sizeof err);
}

static void
teardown(void)
{
    mem_pool_free(pool);
}

static proof *
prove_with(model *m, const rule_set *rs)
{
    derivation *d = derive(m, rs, NULL, &err, pool);
    ck_assert_msg(d != NULL, "%s", d ? "" : err.formatted);
    proof *p = prove(d, rs, 1, &err, pool);
    ck_assert_msg(p != NULL, "%s", p ? "" : err.formatted);
    return p;
}

/* T with every occurrence of FROM replaced by TO. */
static const term *
replace(term_table *tab, const term *t, const term *from, const term *to)
{
    if (t == from)
        return to;
    if (t->nargs == 0)
        return t;
    const term *args[2];
    int changed = 0;
    for (unsigned k = 0; k < t->nargs; k++) {
        args[k] = replace(tab, t->args[k], from, to);
        changed |= args[k] != t->args[k];
    }
    if (!changed)
        return t;
    char why[SHAPE_WHY];
    const term *out = t->op == OP_BROADCAST
                          ? term_broadcast(tab, args[0], &t->shape, t->aux, why)
                          : term_make(tab, t->op, t->aux, t->keepdims, args, t->nargs, why);
    ck_assert_ptr_nonnull(out);
    return out;
}

static int
mentions_gradient(const term *t)
{
    if (t->op == OP_SYM)
        return t->sym->kind == SYM_GRAD;
    for (unsigned k = 0; k < t->nargs; k++)
        if (mentions_gradient(t->args[k]))
            return 1;
    return 0;
}

/* Replay a certificate from START: each rule step must be that rule
   applied (the match and the instantiation redone here), each normal form
   step the normal form; returns where the steps lead. */
static const term *
replay(term_table *tab, const term *start, const trace *tr)
{
    const term *cur = start;
    for (size_t k = 0; k < tr->n; k++) {
        const trace_step *st = &tr->steps[k];
        if (st->rule != NULL) {
            match mt = {.n = 0};
            ck_assert_msg(rule_match(st->rule->lhs, st->before, &mt), "step %zu: %s does not match",
                          k + 1, st->rule->name);
            ck_assert(rule_conditions_hold(st->rule, &mt, NULL));
            char why[SHAPE_WHY];
            const term *out = rule_instantiate(tab, st->rule->rhs, &mt, why);
            ck_assert_ptr_nonnull(out);
            if (out != st->after)
                out = term_broadcast(tab, out, &st->before->shape, -1, why);
            ck_assert_msg(out == st->after, "step %zu: %s gives another term", k + 1,
                          st->rule->name);
            cur = replace(tab, cur, st->before, st->after);
        } else if (st->kind == STEP_NORMAL_FORM) {
            ck_assert_msg(st->before == cur, "step %zu starts elsewhere", k + 1);
            ck_assert_msg(canon_normal_form(tab, st->before) == st->after,
                          "step %zu is not the normal form", k + 1);
            cur = st->after;
        } else {
            /* writing the names out or multiplying by m: whole-term steps */
            ck_assert_msg(st->before == cur || k == 0, "step %zu starts elsewhere", k + 1);
            cur = st->after;
        }
    }
    return cur;
}

/* Everything prove must establish for the built-in model NAME. */
static void
proven(const char *name)
{
    rule_set *rs = rules_load(DC_RULES_DIR, &err, pool);
    ck_assert_ptr_nonnull(rs);
    model *m = tu_parse_builtin(name, &err, pool);
    proof *p = prove_with(m, rs);
    ck_assert(p->params_proven);
    ck_assert_int_eq(p->verdict, PROVE_PROVEN);
    ck_assert_int_eq(p->nbatches, PROVE_BATCHES);
    for (int k = 1; k < p->nbatches; k++)
        ck_assert(p->batches[k] != p->batches[0] && (p->batches[k] & (p->batches[k] - 1)) != 0);
    int params = 0, intermediates = 0;
    for (size_t i = 0; i < p->n; i++) {
        const proof_item *it = &p->items[i];
        const char *g = it->g->of->name;
        ck_assert_msg(it->symbolic, "%s: d%s has no symbolic proof", name, g);
        /* the declared batch size and two others, none a power of two */
        ck_assert_int_eq(it->exact_tried, PROVE_POINTS + (PROVE_BATCHES - 1) * PROVE_SIZE_POINTS);
        ck_assert_int_eq(it->exact_points, it->exact_tried);
        ck_assert_int_eq(it->exact_equal, it->exact_tried);
        ck_assert_int_eq(it->verdict, PROVE_PROVEN);
        ck_assert_int_eq(it->method, PROVE_BY_SYMBOLIC);
        ck_assert_int_eq(it->enclosure_bits, 0); /* exact points ran: no enclosure needed */
        if (it->is_param) {
            ck_assert_int_eq(it->loss, PROVE_LOSS_AGREES);
            ck_assert(it->loss_log2_gap <= -(double)(PROVE_LOSS_BITS / 3));
        }
        ck_assert_msg(it->log2_chance < -100, "%s: d%s: bound 2^%g", name, g, it->log2_chance);
        /* the MPFR gap is at the level of each precision: it shrinks as the
           precision grows (0 when the roundings happen to agree) */
        for (int k = 0; k < PROVE_PRECISIONS; k++)
            ck_assert_msg(isinf(it->log2_gap[k]) ||
                              it->log2_gap[k] < -(double)it->precision[k] + 16,
                          "%s: d%s: 2^%g at %ld bits", name, g, it->log2_gap[k], it->precision[k]);
        /* scaling by a power of two is exact in binary floating point: with
           such an m the two placements agree to the last bit */
        if (it->is_param)
            ck_assert_msg(it->ulps_pow2 == 0, "%s: d%s: %g ulps with m = %ld", name, g,
                          it->ulps_pow2, it->batch_pow2);
        ck_assert(!isnan(it->ulps_other));
        /* the certificate replays to one normal form from each side */
        const term *a = replay(m->terms, it->g->deferred, &it->cert_deferred);
        const term *b = replay(m->terms, it->g->absorbed, &it->cert_absorbed);
        ck_assert_ptr_eq(a, it->deferred_normal);
        ck_assert_ptr_eq(b, it->absorbed_normal);
        ck_assert_ptr_eq(a, b);
        ck_assert(!mentions_gradient(a));
        params += it->is_param;
        intermediates += !it->is_param;
    }
    ck_assert_int_ge(params, 2);
    ck_assert_int_ge(intermediates, 2);
    model_free(m);
    rules_free(rs);
}

START_TEST(proven_logistic) { proven("logistic"); }
END_TEST
START_TEST(proven_sigmoid) { proven("sigmoid"); }
END_TEST
START_TEST(proven_softmax) { proven("softmax"); }
END_TEST
START_TEST(proven_relu3) { proven("relu3"); }
END_TEST

START_TEST(double_differs_when_m_is_not_a_power_of_two)
{
    rule_set *rs = rules_load(DC_RULES_DIR, &err, pool);
    model *m = tu_parse_builtin("sigmoid", &err, pool);
    proof *p = prove_with(m, rs);
    double worst = 0;
    for (size_t i = 0; i < p->n; i++)
        if (p->items[i].is_param && p->items[i].ulps_other > worst)
            worst = p->items[i].ulps_other;
    /* 1/10 is rounded: some gradient is a few ulps off, none far */
    ck_assert(worst >= 1 && worst < 1000);
    model_free(m);
    rules_free(rs);
}
END_TEST

START_TEST(a_rule_that_drops_one_over_m_is_refuted)
{
    /* wrong: it fires on the deferred 1/m * (dZ2 @ A1.T) only */
    char *dir = tu_copy_rules(NULL);
    tu_append_line(dir, "algebra.rules", "bogus.scale: a^-1 * (b @ c) => b @ c");
    rule_set *rs = rules_load(dir, &err, pool);
    ck_assert_msg(rs != NULL, "%s", rs ? "" : err.formatted);
    model *m = tu_parse_builtin("sigmoid", &err, pool);
    proof *p = prove_with(m, rs);
    ck_assert(!p->params_proven);
    /* the wrong rule fools the symbolic side (it rewrites both), not the
       exact evaluation, which does not use the rules */
    int refuted = 0;
    for (size_t i = 0; i < p->n; i++)
        if (p->items[i].is_param && p->items[i].exact_equal < p->items[i].exact_points)
            refuted++;
    ck_assert_int_ge(refuted, 2);
    model_free(m);
    rules_free(rs);
    tu_remove_dir(dir);
}
END_TEST

/* ---------------------------------------------------------------- verdicts from evidence */

/* The param gradient of V in P. */
static const proof_item *
item_of(const proof *p, const char *v)
{
    for (size_t i = 0; i < p->n; i++)
        if (strcmp(p->items[i].g->of->name, v) == 0)
            return &p->items[i];
    ck_abort_msg("no gradient of %s", v);
    return NULL;
}

/* Issue 13.2: a true identity whose gradients hold exp of an unnamed
   argument has no exact rational point; the normal forms decide it, the
   exact test is reported as not run, and nothing is called different. */
START_TEST(no_exact_point_is_decided_symbolically)
{
    rule_set *rs = rules_load(DC_RULES_DIR, &err, pool);
    model *m = tu_parse_path(DC_TEST_DATADIR "/good/sigmoid-inline.dc", &err, pool);
    proof *p = prove_with(m, rs);
    ck_assert_int_eq(p->verdict, PROVE_PROVEN);
    ck_assert(p->params_proven);
    ck_assert(!p->all_exact);
    static const char *const params[] = {"W1", "b1", "W2", "b2"};
    for (size_t k = 0; k < 4; k++) {
        const proof_item *it = item_of(p, params[k]);
        ck_assert_int_eq(it->exact_points, 0);
        ck_assert_int_eq(it->exact_tried, PROVE_POINTS + 2 * PROVE_SIZE_POINTS);
        ck_assert_ptr_nonnull(strstr(it->exact_why, "cannot compute exp"));
        ck_assert_ptr_null(it->exact_witness);
        ck_assert_int_eq(it->enclosure_bits, PROVE_ENCLOSURE_BITS);
        ck_assert_int_eq(it->enclosure, AGREE_NOT_SEPARATED);
        ck_assert_int_eq(it->verdict, PROVE_PROVEN);
        ck_assert_int_eq(it->method, PROVE_BY_SYMBOLIC);
        ck_assert(!it->disagree);
        ck_assert_int_eq(it->loss, PROVE_LOSS_AGREES);
    }
    model_free(m);
    rules_free(rs);
}
END_TEST

/* The unsound rule of a_rule_that_drops_one_over_m_is_refuted on that
   model: the symbolic side is fooled and no exact point exists, so the
   interval enclosure must witness the difference. Oracle: the two sides in
   MPFR at 2048 bits at the enclosure's point, deferred = m * absorbed
   entry by entry (the rule drops the deferred 1/m), which is not equal. */
START_TEST(unsound_rule_without_exact_points_is_refuted_by_an_enclosure)
{
    char *dir = tu_copy_rules(NULL);
    tu_append_line(dir, "algebra.rules", "bogus.scale: a^-1 * (b @ c) => b @ c");
    rule_set *rs = rules_load(dir, &err, pool);
    ck_assert_msg(rs != NULL, "%s", rs ? "" : err.formatted);
    model *m = tu_parse_path(DC_TEST_DATADIR "/good/sigmoid-inline.dc", &err, pool);
    proof *p = prove_with(m, rs);
    ck_assert_int_eq(p->verdict, PROVE_REFUTED);
    ck_assert(!p->params_proven);
    static const char *const refuted[] = {"W1", "W2"};
    for (size_t k = 0; k < 2; k++) {
        const proof_item *it = item_of(p, refuted[k]);
        ck_assert(it->symbolic); /* fooled */
        ck_assert_int_eq(it->exact_points, 0);
        ck_assert_int_eq(it->enclosure, AGREE_DIFFERENT);
        ck_assert_int_eq(it->verdict, PROVE_REFUTED);
        ck_assert_int_eq(it->method, PROVE_BY_ENCLOSURE);
        ck_assert(it->disagree);
        agree_points at = {.m = m, .seed = 1, .first = 3000, .count = 1, .bits = PROVE_SAMPLE_BITS};
        agree_result r;
        const value *def, *abs;
        evaluator *ev = agree_evaluate(&def, &abs, &r, pool, &at, NUMBER_MPFR, 2048,
                                       derive_pretty(p->d, it->g, CONVENTION_DEFERRED),
                                       derive_pretty(p->d, it->g, CONVENTION_ABSORBED));
        ck_assert_ptr_nonnull(ev);
        for (long i = 0; i < def->rows; i++)
            for (long j = 0; j < def->cols; j++) {
                double d = mpfr_get_d(*eval_fr(def, i, j), MPFR_RNDN);
                double a = mpfr_get_d(*eval_fr(abs, i, j), MPFR_RNDN);
                ck_assert_msg(fabs(d - 6 * a) <= 1e-12 * fabs(d) && d != a, "%s[%ld][%ld]: %g, %g",
                              refuted[k], i, j, d, a);
            }
        eval_free(ev);
    }
    /* the biases' formulas do not hold a matrix product: the rule leaves them right */
    ck_assert_int_eq(item_of(p, "b1")->verdict, PROVE_PROVEN);
    model_free(m);
    rules_free(rs);
    tu_remove_dir(dir);
}
END_TEST

/* An unsound adjoint rule (tanh' written 1 - C) that both placements share:
   they stay equal, but the check against the loss must find that dW1 and
   db1 are not the derivative of J, and the proof must not say PROVEN. */
START_TEST(unsound_adjoint_is_caught_by_the_loss)
{
    char *dir = tu_copy_rules("tanh:");
    tu_append_line(dir, "adjoint.rules", "tanh: C = tanh(a) => da = G * (1 - C)");
    rule_set *rs = rules_load(dir, &err, pool);
    ck_assert_msg(rs != NULL, "%s", rs ? "" : err.formatted);
    static const char *const models[] = {"sigmoid", DC_TEST_DATADIR "/good/sigmoid-inline.dc"};
    for (size_t k = 0; k < 2; k++) {
        model *m =
            k == 0 ? tu_parse_builtin(models[k], &err, pool) : tu_parse_path(models[k], &err, pool);
        proof *p = prove_with(m, rs);
        ck_assert_int_eq(p->verdict, PROVE_REFUTED);
        ck_assert(!p->params_proven);
        ck_assert_int_eq(item_of(p, "W1")->loss, PROVE_LOSS_DIFFERS);
        ck_assert_int_eq(item_of(p, "b1")->loss, PROVE_LOSS_DIFFERS);
        ck_assert(item_of(p, "W1")->loss_log2_gap > -16);
        /* the output layer does not go through tanh */
        ck_assert_int_eq(item_of(p, "W2")->loss, PROVE_LOSS_AGREES);
        ck_assert_int_eq(item_of(p, "W1")->verdict, PROVE_PROVEN); /* the placements agree */
        model_free(m);
    }
    rules_free(rs);
    tu_remove_dir(dir);
}
END_TEST

/* A model whose param W has a gradient the test writes itself: D as its
   deferred and A as its absorbed formula (definitions of the model). */
static proof *
prove_crafted(model **out, const rule_set *rs, const char *d_name, const char *a_name)
{
    static const char text[] = "dims n = 2\n"
                               "batch m = 5\n"
                               "input X[n, m]\n"
                               "label Y[1, m] binary\n"
                               "param W[1, n]\n"
                               "Z = W @ X\n"
                               "P = tanh(2 * Z)\n"
                               "Q = 2 * tanh(Z) / (1 + tanh(Z)^2)\n"
                               "R = log(-exp(2 * Z))\n"
                               "S = 2 * log(-exp(Z))\n"
                               "loss J = 1/m * sum(Y * Z)\n";
    source src = {"crafted.dc", text, sizeof text - 1};
    model *m = parse_model(&src, &err, pool);
    ck_assert_msg(m != NULL, "%s", m ? "" : err.formatted);
    derivation *d = derive(m, rs, NULL, &err, pool);
    ck_assert_msg(d != NULL, "%s", d ? "" : err.formatted);
    const symbol *w = model_lookup(m, "W", 1);
    for (size_t i = 0; i < d->n; i++)
        if (d->g[i].of == w) {
            d->g[i].deferred = model_lookup(m, d_name, 1)->definition;
            d->g[i].absorbed = model_lookup(m, a_name, 1)->definition;
        }
    proof *p = prove(d, rs, 1, &err, pool);
    ck_assert_msg(p != NULL, "%s", p ? "" : err.formatted);
    *out = m;
    return p;
}

/* tanh(2z) = 2 tanh(z) / (1 + tanh(z)^2): true, beyond the normal forms,
   with no exact point; MPFR agrees at rounding level at two batch sizes,
   so the verdict is numeric only: not proven, not refuted. */
START_TEST(no_proof_and_mpfr_agreement_is_numeric_only)
{
    rule_set *rs = rules_load(DC_RULES_DIR, &err, pool);
    model *m;
    proof *p = prove_crafted(&m, rs, "P", "Q");
    const proof_item *it = item_of(p, "W");
    ck_assert(!it->symbolic);
    ck_assert_int_eq(it->exact_points, 0);
    ck_assert_int_eq(it->enclosure, AGREE_NOT_SEPARATED);
    ck_assert_int_eq(it->enclosure_bits, PROVE_ENCLOSURE_BITS); /* MPFR looked like rounding */
    ck_assert_int_eq(it->verdict, PROVE_NUMERIC_ONLY);
    ck_assert_int_eq(it->method, PROVE_BY_NUMERIC);
    ck_assert_int_gt(it->numeric_batch2, 0);
    ck_assert(it->numeric_batch2 != it->numeric_batch);
    ck_assert(it->log2_gap2 <= -(double)(1024 - PROVE_ROUNDING_SLACK));
    ck_assert_int_eq(p->verdict, PROVE_NUMERIC_ONLY);
    ck_assert(!p->params_proven);
    model_free(m);
    rules_free(rs);
}
END_TEST

/* log(-exp(2z)) against 2 log(-exp(z)): NaN at every point in MPFR and in
   intervals, and no normal form: nothing decides, and a NaN is neither
   agreement nor a difference. */
START_TEST(nan_everywhere_is_undecided)
{
    rule_set *rs = rules_load(DC_RULES_DIR, &err, pool);
    model *m;
    proof *p = prove_crafted(&m, rs, "R", "S");
    const proof_item *it = item_of(p, "W");
    ck_assert(!it->symbolic);
    ck_assert_int_eq(it->exact_points, 0);
    for (int k = 0; k < PROVE_PRECISIONS; k++)
        ck_assert(isnan(it->log2_gap[k]));
    ck_assert_ptr_nonnull(strstr(it->numeric_why, "the difference is NaN at"));
    ck_assert_int_eq(it->enclosure, AGREE_COULD_NOT_RUN);
    ck_assert_int_eq(it->enclosure_bits, PROVE_ENCLOSURE_MORE); /* tried harder, in vain */
    ck_assert_int_eq(it->verdict, PROVE_UNDECIDED);
    ck_assert_int_eq(it->method, PROVE_BY_NOTHING);
    ck_assert_int_eq(p->verdict, PROVE_UNDECIDED);
    model_free(m);
    rules_free(rs);
}
END_TEST

int
main(void)
{
    Suite *s = suite_create("prove");
    TCase *tc = tcase_create("prove");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, proven_logistic);
    tcase_add_test(tc, proven_sigmoid);
    tcase_add_test(tc, proven_softmax);
    tcase_add_test(tc, proven_relu3);
    tcase_add_test(tc, double_differs_when_m_is_not_a_power_of_two);
    tcase_add_test(tc, a_rule_that_drops_one_over_m_is_refuted);
    tcase_add_test(tc, no_exact_point_is_decided_symbolically);
    tcase_add_test(tc, unsound_rule_without_exact_points_is_refuted_by_an_enclosure);
    tcase_add_test(tc, unsound_adjoint_is_caught_by_the_loss);
    tcase_add_test(tc, no_proof_and_mpfr_agreement_is_numeric_only);
    tcase_add_test(tc, nan_everywhere_is_undecided);
    suite_add_tcase(s, tc);
    SRunner *sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
