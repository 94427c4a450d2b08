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

static proof *
prove_with(model *m, const rule_set *rs)
{
    derivation *d = tu_derive(m, rs);
    proof *p = prove(d, rs, 1, PROVE_NUMERIC_DEPTH, &tu_err, tu_pool);
    ck_assert_msg(p != NULL, "%s", p ? "" : tu_err.formatted);
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

static const proof_item *item_of(const proof *p, const char *v);

/* Put into USED the gradients (by index in D) whose absorbed names T
   mentions. */
static void
named_gradients(const derivation *d, const term *t, char *used)
{
    if (t->op == OP_SYM) {
        for (size_t i = 0; i < d->n; i++)
            if (d->g[i].absorbed_name == t->sym)
                used[i] = 1;
        return;
    }
    for (unsigned k = 0; k < t->nargs; k++)
        named_gradients(d, t->args[k], used);
}

/* Lemma I of LEMMAS replayed (see replay_certificate), its uses replayed
   already; USED is scratch of P's size. */
static int
replay_lemma(const proof *p, const proof_lemma *lemmas, const rule_set *rs, size_t i, char *used,
             char *why, size_t whylen)
{
    const derivation *d = p->d;
    const model *m = d->m;
    term_table *tab = m->terms;
    const proof_lemma *l = &lemmas[i];
    const gradient *g = &d->g[i];
    memset(used, 0, d->n);
    named_gradients(d, g->absorbed, used);
    size_t nused = 0;
    for (size_t j = 0; j < d->n; j++)
        nused += used[j];
    int good = l->g == g && nused == l->nuses;
    for (size_t k = 0; good && k < l->nuses; k++)
        good = used[l->uses[k]];
    if (!good) {
        snprintf(why, whylen, "lemma %zu: its uses are not the gradients it names", i + 1);
        return 0;
    }
    for (size_t k = 0; good && nused > 0 && k < g->steps.n; k++) {
        const rule *r = g->steps.steps[k].rule;
        int cited = r == NULL || r->kind != RULE_ADJOINT;
        for (size_t c = 0; !cited && c < l->nrules; c++)
            cited = l->rules[c] == r;
        good = cited;
    }
    for (size_t c = 0; good && nused > 0 && c < l->nrules; c++)
        good = l->rules[c]->linear_claimed && rules_linear_in(l->rules[c]->rhs, rs->G);
    if (!good) {
        snprintf(why, whylen, "lemma %zu: a rule is not cited or not linear in G", i + 1);
        return 0;
    }
    int intermediate = g->of->kind != SYM_PARAM && m->batch != NULL;
    const term *a = g->absorbed;
    char w[SHAPE_WHY];
    for (size_t k = 0; k < l->nuses; k++) {
        const gradient *u = &d->g[l->uses[k]];
        const term *args[2] = {term_symbol(tab, u->deferred_name), term_symbol(tab, m->batch)};
        a = replace(tab, a, term_symbol(tab, u->absorbed_name),
                    lemmas[l->uses[k]].intermediate ? term_make(tab, OP_DIV, 0, 0, args, 2, w)
                                                    : args[0]);
    }
    if (intermediate) {
        const term *args[2] = {term_symbol(tab, m->batch), a};
        a = term_make(tab, OP_MUL, 0, 0, args, 2, w);
    }
    long steps = 0;
    const term *left = derive_simplify(tab, rs, NULL, a, NULL, &steps, &tu_err, tu_pool);
    const term *right = derive_simplify(tab, rs, NULL, g->deferred, NULL, &steps, &tu_err, tu_pool);
    good = l->intermediate == intermediate && left != NULL && left == right;
    if (!good)
        snprintf(why, whylen, "lemma %zu: the formulas differ by more than its factor", i + 1);
    return good;
}

/* Replay the certificate LEMMAS of P independently of prove: lemma i is
   about gradient i; the gradients its absorbed formula names are exactly
   its uses, each an earlier lemma that replayed; with uses, every adjoint
   rule of its steps is cited and every cited rule is claimed linear and
   linear by its structure; its factor is 1/m exactly for intermediates;
   and the absorbed formula with each used dU replaced by dU (deferred) /
   m, times m for an intermediate, simplifies to the deferred formula.
   Returns 1, or 0 with WHY naming the first lemma that does not replay. */
static int
replay_certificate(const proof *p, const proof_lemma *lemmas, const rule_set *rs, char *why,
                   size_t whylen)
{
    const derivation *d = p->d;
    char *ok = calloc(d->n + 1, 1);
    char *used = calloc(d->n + 1, 1);
    int good = 1;
    /* each pass replays the lemmas whose uses have replayed */
    for (int progress = 1; progress && good;) {
        progress = 0;
        for (size_t i = 0; i < d->n && good; i++) {
            const proof_lemma *l = &lemmas[i];
            int ready = !ok[i];
            for (size_t k = 0; ready && k < l->nuses; k++)
                ready = l->uses[k] < d->n && ok[l->uses[k]];
            if (!ready)
                continue;
            progress = 1;
            good = replay_lemma(p, lemmas, rs, i, used, why, whylen);
            ok[i] = (char)good;
        }
    }
    for (size_t i = 0; i < d->n && good; i++)
        if (!ok[i]) {
            snprintf(why, whylen, "lemma %zu: its uses are not earlier lemmas that hold", i + 1);
            good = 0;
        }
    free(ok);
    free(used);
    return good;
}

/* Everything prove must establish for the built-in model NAME. */
static void
proven(const char *name)
{
    rule_set *rs = tu_rules_load(DC_RULES_DIR);
    model *m = tu_parse_builtin(name);
    proof *p = prove_with(m, rs);
    ck_assert(p->params_proven);
    ck_assert_int_eq(p->verdict, PROVE_PROVEN);
    /* the exact test's sizes: every dim from 2 to 5, any four dims in a
       row at four different sizes in each assignment, each dim at each of 2 to 5 in
       turn; the batch sizes are the batch's among them */
    ck_assert_int_eq(p->nbatches, PROVE_SIZES);
    /* MPFR at two of them whose batch size is no power of two: 3 and 5 */
    ck_assert_int_ne(p->mpfr_sizes[0], p->mpfr_sizes[1]);
    for (int k = 0; k < 2; k++)
        ck_assert(p->batches[p->mpfr_sizes[k]] == 3 || p->batches[p->mpfr_sizes[k]] == 5);
    for (int k = 0; k < PROVE_SIZES; k++) {
        const sample_sizes *s = &p->sizes[k];
        ck_assert_int_ge(s->count, 2);
        for (size_t d = 0; d < s->count; d++) {
            ck_assert(s->n[d] >= 2 && s->n[d] <= 5);
            for (size_t e = d >= 3 ? d - 3 : 0; e < d; e++)
                ck_assert(s->n[d] != s->n[e]);
            for (int j = 0; j < k; j++)
                ck_assert(p->sizes[j].n[d] != s->n[d]);
            if (s->dims[d] == m->batch)
                ck_assert_int_eq(p->batches[k], s->n[d]);
        }
    }
    int params = 0, intermediates = 0;
    for (size_t i = 0; i < p->n; i++) {
        const proof_item *it = &p->items[i];
        const char *g = it->g->of->name;
        ck_assert_msg(it->symbolic, "%s: d%s has no symbolic proof", name, g);
        /* the lemma holds, so the points only confirm it: one at each size */
        ck_assert(it->exact_confirms);
        ck_assert_int_eq(it->exact_tried, PROVE_CONFIRM_POINTS);
        ck_assert_int_eq(it->exact_per_size, PROVE_CONFIRM_POINTS / PROVE_SIZES);
        ck_assert_int_eq(it->exact_points, it->exact_tried);
        ck_assert_int_eq(it->exact_equal, it->exact_tried);
        ck_assert_int_eq(it->numeric_batch, p->batches[p->mpfr_sizes[0]]);
        ck_assert_int_eq(it->verdict, PROVE_PROVEN);
        ck_assert_int_eq(it->method, PROVE_BY_SYMBOLIC);
        ck_assert_int_eq(it->enclosure_bits, 0); /* exact points ran: no enclosure needed */
        if (it->is_param) {
            ck_assert_int_eq(it->loss, PROVE_LOSS_AGREES);
            ck_assert(it->loss_log2_gap <= -(double)(ORACLE_BITS / 3));
        }
        /* Schwartz-Zippel at one size: (degree / 2^30) per point, 1 point */
        ck_assert(it->degree > 0);
        ck_assert_msg(fabs(it->log2_chance - (log2((double)it->degree) - 30)) < 1e-9 &&
                          it->log2_chance < -20,
                      "%s: d%s: bound 2^%g", name, g, it->log2_chance);
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
        ck_assert_int_eq(it->lemma->status, LEMMA_HOLDS);
        ck_assert(it->numeric_ran);
        params += it->is_param;
        intermediates += !it->is_param;
    }
    ck_assert_int_ge(params, 2);
    ck_assert_int_ge(intermediates, 2);
    /* the certificate replays, lemma by lemma, from the rules' linearity */
    char why[128];
    ck_assert_msg(replay_certificate(p, p->lemmas, rs, why, sizeof why), "%s: %s", name, why);
    model_free(m);
    rules_free(rs);
}

/* A copy of P's lemmas that the caller may tamper with. */
static proof_lemma *
lemmas_copy(const proof *p)
{
    proof_lemma *c = mem_alloc(tu_pool, (p->n + 1) * sizeof *c);
    memcpy(c, p->lemmas, p->n * sizeof *c);
    return c;
}

/* A tampered certificate does not replay: a factor left out, a lemma that
   uses a later one, a rule that is not linear cited in place of one that
   is. The oracle is the replay itself, which rechecks from the rules. */
START_TEST(tampered_certificate_does_not_replay)
{
    char *dir = tu_copy_rules(NULL);
    tu_append_line(dir, "adjoint.rules", "square.plant: C = tanh(a) => da = G * G  linear in G");
    rule_set *rs = tu_rules_load(dir);
    model *m = tu_parse_builtin("sigmoid");
    proof *p = prove_with(m, rs);
    char why[128];
    ck_assert_msg(replay_certificate(p, p->lemmas, rs, why, sizeof why), "%s", why);
    const rule *plant = NULL;
    for (size_t k = 0; k < rs->n; k++)
        if (strcmp(rs->rules[k].name, "square.plant") == 0)
            plant = &rs->rules[k];
    ck_assert_ptr_nonnull(plant);
    ck_assert(plant->linear_claimed && !plant->linear); /* G * G: claimed, not shown */
    int tampered = 0;
    for (size_t i = 0; i < p->n; i++) {
        proof_lemma *c = lemmas_copy(p);
        if (c[i].intermediate) {
            c[i].intermediate = 0; /* the 1/m dropped */
            ck_assert(!replay_certificate(p, c, rs, why, sizeof why));
            tampered++;
        }
        c = lemmas_copy(p);
        if (c[i].nuses > 0) {
            size_t *uses = mem_alloc(tu_pool, c[i].nuses * sizeof *uses);
            memcpy(uses, c[i].uses, c[i].nuses * sizeof *uses);
            uses[0] = i; /* itself, not an earlier lemma */
            c[i].uses = uses;
            ck_assert(!replay_certificate(p, c, rs, why, sizeof why));
            c = lemmas_copy(p);
            const rule **rules = mem_alloc(tu_pool, (c[i].nrules + 1) * sizeof *rules);
            memcpy(rules, c[i].rules, c[i].nrules * sizeof *rules);
            rules[c[i].nrules] = plant;
            c[i].rules = rules;
            c[i].nrules++;
            ck_assert(!replay_certificate(p, c, rs, why, sizeof why));
            tampered++;
        }
    }
    ck_assert_int_ge(tampered, 6);
    model_free(m);
    rules_free(rs);
    tu_remove_dir(dir);
}
END_TEST

/* The model bench/deepnet.sh ARGS writes, parsed. */
static model *
deepnet(const char *args)
{
    text cmd;
    text_init(&cmd, tu_pool);
    text_printf(&cmd, "sh %s/../../bench/deepnet.sh %s", DC_TEST_DATADIR, args);
    FILE *f = popen(text_str(&cmd), "r");
    ck_assert_ptr_nonnull(f);
    text t;
    text_init(&t, tu_pool);
    char buf[4096];
    size_t got;
    while ((got = fread(buf, 1, sizeof buf, f)) > 0)
        text_putn(&t, buf, got);
    ck_assert_int_eq(pclose(f), 0);
    return tu_parse_text("deep.dc", text_str(&t));
}

/* Issue 15: a 1000-layer tanh network with a sigmoid output, written by
   bench/deepnet.sh, is derived and proven without expanding anything:
   every lemma holds, each uses the one before it, and the depth of the
   first layer's lemma is the length of the chain. The numeric tests,
   which evaluate the whole network, are left out (depth 0): the built-in
   models cover them, and the verdict rests on the certificate. */
START_TEST(thousand_layers_are_proven)
{
    model *m = deepnet("-w 2 -m 3 1000");
    rule_set *rs = tu_rules_load(DC_RULES_DIR);
    derivation *d = tu_derive(m, rs);
    proof *p = prove(d, rs, 1, 0, &tu_err, tu_pool);
    ck_assert_msg(p != NULL, "%s", p ? "" : tu_err.formatted);
    ck_assert_int_eq(p->verdict, PROVE_PROVEN);
    ck_assert(p->params_proven);
    /* 4 gradients per layer: dA, dZ, dW, db */
    ck_assert_int_eq(p->n, 4000);
    const proof_item *w1 = item_of(p, "W1");
    ck_assert_int_eq(w1->lemma->status, LEMMA_HOLDS);
    ck_assert_int_eq(w1->method, PROVE_BY_SYMBOLIC);
    ck_assert(!w1->numeric_ran);
    /* dZ1000 is a seed; dZl uses dZ(l+1); dW1 uses dZ1: 1 + 999 + 1 */
    ck_assert_int_eq(w1->lemma->depth, 1001);
    ck_assert_int_eq(item_of(p, "W1000")->lemma->depth, 2);
    char why[128];
    ck_assert_msg(replay_certificate(p, p->lemmas, rs, why, sizeof why), "%s", why);
    model_free(m);
    rules_free(rs);
}
END_TEST

/* Issue 15: by default every gradient of a deep network, the deepest
   param's included, gets the exact, MPFR and double comparisons; and a
   rule that drops a 1/m is caught by exact rationals at the deepest
   param, not only near the loss. */
START_TEST(deep_network_every_gradient_is_compared)
{
    rule_set *rs = tu_rules_load(DC_RULES_DIR);
    model *m = deepnet("-w 4 -m 8 6");
    proof *p = prove_with(m, rs);
    ck_assert_int_eq(p->verdict, PROVE_PROVEN);
    ck_assert_int_eq(p->n, 24);
    for (size_t i = 0; i < p->n; i++) {
        const proof_item *it = &p->items[i];
        ck_assert(it->numeric_ran);
        ck_assert_int_eq(it->exact_points, PROVE_CONFIRM_POINTS);
        ck_assert_int_eq(it->exact_equal, PROVE_CONFIRM_POINTS);
        for (int k = 0; k < PROVE_PRECISIONS; k++)
            ck_assert_msg(
                isinf(it->log2_gap[k]) || it->log2_gap[k] < -(double)it->precision[k] + 16,
                "d%s: 2^%g at %ld bits", it->g->of->name, it->log2_gap[k], it->precision[k]);
        ck_assert(!isnan(it->ulps_pow2) && !isnan(it->ulps_other));
    }
    /* dW1 is 7 backward steps from the loss: beyond the old default of 6 */
    ck_assert_int_eq(item_of(p, "W1")->lemma->depth, 7);
    model_free(m);
    rules_free(rs);
    char *dir = tu_copy_rules(NULL);
    tu_append_line(dir, "algebra.rules", "bogus.scale: a^-1 * (b @ c) => b @ c");
    rs = tu_rules_load(dir);
    m = deepnet("-w 4 -m 8 6");
    p = prove_with(m, rs);
    ck_assert_int_eq(p->verdict, PROVE_REFUTED);
    const proof_item *w1 = item_of(p, "W1");
    ck_assert_int_eq(w1->verdict, PROVE_REFUTED);
    ck_assert_int_eq(w1->method, PROVE_BY_EXACT);
    ck_assert_int_eq(w1->exact_equal, 0);
    ck_assert_ptr_nonnull(
        strstr(w1->exact_witness, "of random point 0 (n_x = 2, n_h = 3, n_y = 4, m = 5)"));
    model_free(m);
    rules_free(rs);
    tu_remove_dir(dir);
}
END_TEST

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
    rule_set *rs = rules_load(DC_RULES_DIR, &tu_err, tu_pool);
    model *m = tu_parse_builtin("sigmoid");
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
    rule_set *rs = tu_rules_load(dir);
    model *m = tu_parse_builtin("sigmoid");
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
    rule_set *rs = rules_load(DC_RULES_DIR, &tu_err, tu_pool);
    model *m = tu_parse_path(DC_TEST_DATADIR "/good/sigmoid-inline.dc");
    proof *p = prove_with(m, rs);
    ck_assert_int_eq(p->verdict, PROVE_PROVEN);
    ck_assert(p->params_proven);
    ck_assert(!p->all_exact);
    static const char *const params[] = {"W1", "b1", "W2", "b2"};
    for (size_t k = 0; k < 4; k++) {
        const proof_item *it = item_of(p, params[k]);
        ck_assert_int_eq(it->exact_points, 0);
        ck_assert_int_eq(it->exact_tried, PROVE_CONFIRM_POINTS);
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
    rule_set *rs = tu_rules_load(dir);
    model *m = tu_parse_path(DC_TEST_DATADIR "/good/sigmoid-inline.dc");
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
        /* the enclosure's first point: at the first size assignment */
        agree_points at = {.m = m,
                           .seed = 1,
                           .first = 3000,
                           .count = 1,
                           .bits = PROVE_SAMPLE_BITS,
                           .sizes = &p->sizes[0],
                           .nsizes = 1};
        long batch = p->batches[0];
        ck_assert(batch != m->batch->value); /* not the declared m = 6 */
        agree_result r;
        const value *def, *abs;
        evaluator *ev = agree_evaluate(&def, &abs, &r, tu_pool, &at, NUMBER_MPFR, 2048,
                                       derive_pretty(p->d, it->g, CONVENTION_DEFERRED),
                                       derive_pretty(p->d, it->g, CONVENTION_ABSORBED));
        ck_assert_ptr_nonnull(ev);
        for (long i = 0; i < def->rows; i++)
            for (long j = 0; j < def->cols; j++) {
                double d = mpfr_get_d(*eval_fr(def, i, j), MPFR_RNDN);
                double a = mpfr_get_d(*eval_fr(abs, i, j), MPFR_RNDN);
                ck_assert_msg(fabs(d - batch * a) <= 1e-12 * fabs(d) && d != a,
                              "%s[%ld][%ld]: %g, %g", refuted[k], i, j, d, a);
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
   db1 are not the derivative of J, and the proof must not say PROVEN: it
   is undecided (the rule base is unsound, which refutes no placement). */
START_TEST(unsound_adjoint_is_caught_by_the_loss)
{
    char *dir = tu_copy_rules("tanh:");
    /* linear in G, as the rule it replaces: only its derivative is wrong */
    tu_append_line(dir, "adjoint.rules", "tanh: C = tanh(a) => da = G * (1 - C)  linear in G");
    rule_set *rs = tu_rules_load(dir);
    static const char *const models[] = {"sigmoid", DC_TEST_DATADIR "/good/sigmoid-inline.dc"};
    for (size_t k = 0; k < 2; k++) {
        model *m = k == 0 ? tu_parse_builtin(models[k]) : tu_parse_path(models[k]);
        proof *p = prove_with(m, rs);
        ck_assert_int_eq(p->verdict, PROVE_UNDECIDED);
        ck_assert_int_eq(p->oracle->joint.status, ORACLE_DIFFERS);
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
    model *m = tu_parse_text("crafted.dc", text);
    derivation *d = tu_derive(m, rs);
    const symbol *w = model_lookup(m, "W", 1);
    for (size_t i = 0; i < d->n; i++)
        if (d->g[i].of == w) {
            d->g[i].deferred = model_lookup(m, d_name, 1)->definition;
            d->g[i].absorbed = model_lookup(m, a_name, 1)->definition;
        }
    proof *p = prove(d, rs, 1, PROVE_NUMERIC_DEPTH, &tu_err, tu_pool);
    ck_assert_msg(p != NULL, "%s", p ? "" : tu_err.formatted);
    *out = m;
    return p;
}

/* tanh(2z) = 2 tanh(z) / (1 + tanh(z)^2): true, beyond the normal forms,
   with no exact point; MPFR agrees at rounding level at two batch sizes,
   so the verdict is numeric only: not proven, not refuted. */
START_TEST(no_proof_and_mpfr_agreement_is_numeric_only)
{
    rule_set *rs = rules_load(DC_RULES_DIR, &tu_err, tu_pool);
    model *m;
    proof *p = prove_crafted(&m, rs, "P", "Q");
    const proof_item *it = item_of(p, "W");
    ck_assert(!it->symbolic);
    /* no proof to confirm: every exact point is drawn */
    ck_assert(!it->exact_confirms);
    ck_assert_int_eq(it->exact_tried, PROVE_POINTS);
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
    rule_set *rs = rules_load(DC_RULES_DIR, &tu_err, tu_pool);
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
    tcase_add_checked_fixture(tc, tu_setup, tu_teardown);
    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, proven_logistic);
    tcase_add_test(tc, proven_sigmoid);
    tcase_add_test(tc, proven_softmax);
    tcase_add_test(tc, proven_relu3);
    tcase_add_test(tc, double_differs_when_m_is_not_a_power_of_two);
    tcase_add_test(tc, a_rule_that_drops_one_over_m_is_refuted);
    tcase_add_test(tc, tampered_certificate_does_not_replay);
    tcase_add_test(tc, no_exact_point_is_decided_symbolically);
    tcase_add_test(tc, deep_network_every_gradient_is_compared);
    tcase_add_test(tc, unsound_rule_without_exact_points_is_refuted_by_an_enclosure);
    tcase_add_test(tc, unsound_adjoint_is_caught_by_the_loss);
    tcase_add_test(tc, no_proof_and_mpfr_agreement_is_numeric_only);
    tcase_add_test(tc, nan_everywhere_is_undecided);
    suite_add_tcase(s, tc);
    /* no timing is asserted: the timeout only stops a hang, generous for
       sanitizer builds on a shared machine */
    TCase *deep = tcase_create("deep");
    tcase_add_checked_fixture(deep, tu_setup, tu_teardown);
    tcase_set_timeout(deep, 600);
    tcase_add_test(deep, thousand_layers_are_proven);
    suite_add_tcase(s, deep);
    return tu_run(s);
}
