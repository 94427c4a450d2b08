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
    suite_add_tcase(s, tc);
    SRunner *sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
