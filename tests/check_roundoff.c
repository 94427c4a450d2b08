/* check_roundoff.c: the error sweep: exact formulations measure 0 bits, saturation breaks the naive
 * chain, references agree with 4x the precision, and the output does not depend on how it ran. */
#include <check.h>
#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sym/derive.h"
#include "cmd/check.h"
#include "cmd/roundoff.h"
#include "lang/parse.h"
#include "out/plot.h"
#include "sym/rules.h"
#include "num/sample.h"
#include "num/ulps.h"
#include "lang/term.h"
#include "testutil.h"

static roundoff_result *
sweep(const derivation *d, roundoff_regime r, long samples, int bits, int threads, int shard,
      int nshards)
{
    roundoff_request rq = {.rules = tu_rules,
                           .seed = 7,
                           .samples = samples,
                           .regimes = 1u << r,
                           .threads = threads,
                           .bits = bits,
                           .shard = shard,
                           .nshards = nshards,
                           .model_name = "test"};
    roundoff_result *res = roundoff_sweep(d, &rq, &tu_err, tu_pool);
    ck_assert_msg(res != NULL, "%s", res ? "" : tu_err.formatted);
    return res;
}

static const roundoff_stat *
stat_of(const roundoff_table *tab, const char *quantity, const char *formulation)
{
    for (size_t k = 0; k < tab->n; k++)
        if (strcmp(tab->stats[k].quantity, quantity) == 0 &&
            strcmp(tab->stats[k].formulation, formulation) == 0)
            return &tab->stats[k];
    ck_abort_msg("no row %s %s", quantity, formulation);
    return NULL;
}

static const char *
written(const roundoff_result *res, format_kind f)
{
    text t;
    text_init(&t, tu_pool);
    roundoff_write(&t, res, f);
    return text_str(&t);
}

START_TEST(bits_of_error)
{
    ck_assert(ulps_bits(1.0, 1.0) == 0);
    ck_assert(ulps_bits(0.0, -0.0) == 0);
    ck_assert(ulps_bits(nextafter(1.0, 2.0), 1.0) == 1);
    ck_assert(ulps_bits(nextafter(nextafter(nextafter(1.0, 2), 2), 2), 1.0) == 2);
    /* across zero: the smallest subnormals on both sides are 2 apart */
    ck_assert(ulps_bits(-4.9e-324, 4.9e-324) == log2(3.0));
    ck_assert(ulps_bits(NAN, 1.0) == ULPS_NAN_BITS);
    ck_assert(ulps_bits(INFINITY, 1.0) > 60);
}
END_TEST

/* A linear model with a squared loss. */
static const char linear_model[] = "dims n_x = 3, n_y = 2\n"
                                   "batch m = 8\n"
                                   "input X[n_x, m]\n"
                                   "label Y[n_y, m]\n"
                                   "param W[n_y, n_x], b[n_y, 1]\n"
                                   "Z = W @ X + b\n"
                                   "loss J = 1/m * sum((Z - Y)^2)\n";

/* A linear model with a squared loss on entries k/16: every product and
   sum is exact in double, and with m = 8 so is 1/m: every formulation of
   every gradient is correctly rounded, 0 bits. */
START_TEST(exact_formulation_measures_zero_bits)
{
    model *m = tu_parse_text("linear.dc", linear_model);
    roundoff_result *res = sweep(tu_derive(m, tu_rules), ROUNDOFF_TYPICAL, 16, 4, 1, 0, 0);
    const roundoff_table *tab = &res->tables[0];
    ck_assert_int_ge(tab->n, 5);
    for (size_t k = 0; k < tab->n; k++) {
        const roundoff_stat *st = &tab->stats[k];
        ck_assert_msg(st->entries > 0, "%s %s: nothing measured", st->quantity, st->formulation);
        ck_assert_msg(st->max_bits == 0 && st->micro_bits == 0,
                      "%s %s: %g bits where double is exact", st->quantity, st->formulation,
                      st->max_bits);
        ck_assert_int_eq(st->unsampleable, 0);
        /* every entry in the histogram's first bin, none elsewhere */
        ck_assert_int_eq(st->histogram[0], st->entries);
        for (int b = 1; b < ROUNDOFF_BINS; b++)
            ck_assert_int_eq(st->histogram[b], 0);
    }
    stat_of(tab, "dW", "deferred");
    stat_of(tab, "dW", "absorbed");
    /* the per-example accumulations, m = 8 a power of two: exact too */
    stat_of(tab, "dW", "per-example (C)");
    stat_of(tab, "dW", "per-example/m (C)");
    stat_of(tab, "db", "per-example (C)");
    stat_of(tab, "db", "per-example/m (C)");
    model_free(m);
}
END_TEST

/* Saturated outputs: A2 is 0 or 1 in double, so dA2 = (1 - Y)/(1 - A2) - Y/A2
   divides by zero and the naive chain gives NaN or Inf, while A2 - Y stays
   finite; so does the loss in its softplus form, not as written. */
START_TEST(saturation_breaks_the_naive_chain_only)
{
    model *m = tu_parse_builtin("sigmoid");
    roundoff_result *res = sweep(tu_derive(m, tu_rules), ROUNDOFF_SATURATED, 8, 0, 1, 0, 0);
    const roundoff_table *tab = &res->tables[0];
    static const char *const params[] = {"dW2", "db2", "dW1", "db1"};
    for (int k = 0; k < 4; k++) {
        const roundoff_stat *naive = stat_of(tab, params[k], "naive chain");
        ck_assert_msg(naive->nan + naive->inf > 0, "%s: the naive chain stayed finite", params[k]);
        /* the last bin, 64 bits, holds the NaNs and nothing else */
        ck_assert_int_eq(naive->histogram[ROUNDOFF_NAN_BITS], naive->nan);
        ck_assert_int_gt(naive->histogram[ROUNDOFF_NAN_BITS], 0);
        for (int c = 0; c < 2; c++) {
            const roundoff_stat *st = stat_of(tab, params[k], c ? "absorbed" : "deferred");
            ck_assert_msg(st->nan == 0 && st->inf == 0, "%s %s: %ld NaN, %ld Inf", params[k],
                          st->formulation, st->nan, st->inf);
            ck_assert_msg(st->max_bits < 20, "%s %s: %g bits", params[k], st->formulation,
                          st->max_bits);
            ck_assert_int_eq(st->unsampleable, 0);
            ck_assert_int_gt(st->entries, 0);
            ck_assert_int_eq(st->histogram[ROUNDOFF_NAN_BITS], 0);
        }
    }
    const roundoff_stat *soft = stat_of(tab, "J", "softplus (C)");
    ck_assert(soft->nan == 0 && soft->inf == 0 && soft->max_bits <= 2);
    const roundoff_stat *as = stat_of(tab, "J", "as written");
    ck_assert(as->nan + as->inf > 0);
    model_free(m);
}
END_TEST

/* The naive chain goes through each activation as its adjoint rule
   writes the gradient, G = dA and C = A: exp, relu, tanh and the sigmoid
   output, unsimplified (b1 makes dZ1 a name, used twice). */
START_TEST(naive_chain_through_the_adjoint_rules)
{
    model *m =
        tu_parse_text("acts.dc", "dims n = 2\n"
                                 "batch m = 4\n"
                                 "input X[n, m]\n"
                                 "label Y[1, m] binary\n"
                                 "param W1[n, n], W2[n, n], W3[n, n], W4[1, n], b1[n, 1]\n"
                                 "Z1 = W1 @ X + b1\n"
                                 "A1 = exp(Z1)\n"
                                 "Z2 = W2 @ A1\n"
                                 "A2 = relu(Z2)\n"
                                 "Z3 = W3 @ A2\n"
                                 "A3 = tanh(Z3)\n"
                                 "Z4 = W4 @ A3\n"
                                 "A4 = sigmoid(Z4)\n"
                                 "loss J = -1/m * sum(Y * log(A4) + (1 - Y) * log(1 - A4))\n");
    roundoff_result *res = sweep(tu_derive(m, tu_rules), ROUNDOFF_TYPICAL, 1, 4, 1, 0, 0);
    const char *f = stat_of(&res->tables[0], "dW1", "naive chain")->formula;
    static const char *const steps[] = {"dZ1 = dA1 * A1;", "dZ2 = dA2 * (Z2 > 0);",
                                        "dZ3 = dA3 * (1 - A3**2);", "dZ4 = dA4 * A4 * (1 - A4);"};
    for (size_t k = 0; k < sizeof steps / sizeof steps[0]; k++)
        ck_assert_msg(strstr(f, steps[k]) != NULL, "'%s' lacks '%s'", f, steps[k]);
    model_free(m);
}
END_TEST

/* A person's derivation: the naive chain through dA2 for the output layer,
   the course's formulas below it, a dW1 without its 1/m, and a db1 of the
   wrong shape. */
static const char yours_model[] = "dims n_x = 2, n_h = 4, n_y = 1\n"
                                  "batch m = 8\n"
                                  "input X[n_x, m]\n"
                                  "label Y[n_y, m] binary\n"
                                  "param W1[n_h, n_x], b1[n_h, 1]\n"
                                  "param W2[n_y, n_h], b2[n_y, 1]\n"
                                  "Z1 = W1 @ X + b1\n"
                                  "A1 = tanh(Z1)\n"
                                  "Z2 = W2 @ A1 + b2\n"
                                  "A2 = sigmoid(Z2)\n"
                                  "loss J = -1/m * sum(Y * log(A2) + (1 - Y) * log(1 - A2))\n"
                                  "convention deferred\n"
                                  "dA2 = -(Y / A2 - (1 - Y) / (1 - A2))\n"
                                  "dZ2 = dA2 * A2 * (1 - A2)\n"
                                  "dW2 = 1/m * dZ2 @ A1.T\n"
                                  "db2 = 1/m * sum(dZ2, axis=1, keepdims=True)\n"
                                  "dZ1 = W2.T @ dZ2 * (1 - A1 ** 2)\n"
                                  "dW1 = dZ1 @ X.T\n"
                                  "db1 = 1/m * sum(dZ1, axis=1)\n";

/* The person's own formulas are measured beside the tool's: written as the
   naive chain they measure what the naive chain measures (the same
   operations in the same order give the same doubles), NaN under
   saturation; a wrong one is labelled wrong and is off by its factor m
   (about 54 bits); one of the wrong shape is not measured. */
START_TEST(your_claims_are_formulations)
{
    model *m = tu_parse_text("yours.dc", yours_model);
    derivation *d = tu_derive(m, tu_rules);
    check_result *c = check_claims(m, d, tu_rules, 7, &tu_err, tu_pool);
    ck_assert_msg(c != NULL, "%s", c ? "" : tu_err.formatted);
    for (int regime = 0; regime < 2; regime++) {
        roundoff_request rq = {.rules = tu_rules,
                               .seed = 7,
                               .samples = 8,
                               .regimes = 1u << (regime ? ROUNDOFF_SATURATED : ROUNDOFF_TYPICAL),
                               .threads = 1,
                               .model_name = "yours.dc",
                               .claims = c};
        roundoff_result *res = roundoff_sweep(d, &rq, &tu_err, tu_pool);
        ck_assert_msg(res != NULL, "%s", res ? "" : tu_err.formatted);
        const roundoff_table *tab = &res->tables[0];
        static const char *const q[] = {"dW2", "db2"};
        static const char *const lines[] = {"yours (line 15)", "yours (line 16)"};
        for (int k = 0; k < 2; k++) {
            const roundoff_stat *mine = stat_of(tab, q[k], lines[k]);
            const roundoff_stat *naive = stat_of(tab, q[k], "naive chain");
            ck_assert_int_gt(mine->entries, 0);
            ck_assert_int_eq(mine->entries, naive->entries);
            ck_assert_int_eq(mine->micro_bits, naive->micro_bits);
            ck_assert_int_eq(mine->nan, naive->nan);
            if (regime)
                ck_assert_int_eq(mine->nan, mine->entries);
            else
                ck_assert(mine->nan == 0 && mine->max_bits < 20);
        }
        const roundoff_stat *wrong = stat_of(tab, "dW1", "yours (line 18, wrong)");
        if (regime) /* through the naive dZ2: NaN */
            ck_assert_int_eq(wrong->nan, wrong->entries);
        else
            ck_assert_msg(wrong->max_bits > 50 && wrong->max_bits < 58, "%g", wrong->max_bits);
        for (size_t k = 0; k < tab->n; k++)
            ck_assert_msg(strstr(tab->stats[k].formulation, "line 19") == NULL,
                          "a claim of the wrong shape was measured");
    }
    model_free(m);
}
END_TEST

typedef struct draw_ctx {
    const model *m;
    unsigned long index;
} draw_ctx;

static int
draw_into(void *ctx, evaluator *ev, char *why, size_t len)
{
    const draw_ctx *c = ctx;
    sample_spec spec = {.seed = 3, .index = c->index, .bits = 30, .batch = 10};
    return sample_bind(ev, tu_pool, c->m, &spec, why, len);
}

/* Every certified reference is what an independent evaluation at four
   times the precision it needed rounds to. */
static void
references_hold(const char *name, int samples)
{
    model *m = tu_parse_builtin(name);
    derivation *d = tu_derive(m, tu_rules);
    for (int s = 0; s < samples; s++) {
        roundoff_ref refs[16];
        size_t n = 0;
        refs[n++] = (roundoff_ref){.t = term_symbol(m->terms, m->loss)};
        for (size_t i = 0; i < d->n && n < 16; i++)
            if (d->g[i].of->kind == SYM_PARAM)
                refs[n++] = (roundoff_ref){.t = derive_pretty(d, &d->g[i], CONVENTION_DEFERRED)};
        draw_ctx ctx = {m, (unsigned long)s};
        char why[256];
        ck_assert_msg(roundoff_references(refs, n, draw_into, &ctx, m, EVAL_MAX_MEMORY, tu_pool,
                                          why, sizeof why),
                      "%s", why);
        for (size_t k = 0; k < n; k++) {
            ck_assert_int_eq(refs[k].unsampleable, 0);
            evaluator *ev = eval_new(tu_pool, NUMBER_MPFR, 4 * refs[k].prec);
            ck_assert(draw_into(&ctx, ev, why, sizeof why));
            const value *v;
            ck_assert_msg(eval_term(ev, refs[k].t, &v, why, sizeof why), "%s", why);
            for (long i = 0; i < v->rows; i++)
                for (long j = 0; j < v->cols; j++) {
                    double hi = mpfr_get_d(*eval_fr(v, i, j), MPFR_RNDN);
                    double ref = refs[k].value[i * v->cols + j];
                    ck_assert_msg(hi == ref, "%s sample %d ref %zu (%ld, %ld): %.17g vs %.17g",
                                  name, s, k, i, j, ref, hi);
                }
            eval_free(ev);
        }
    }
    model_free(m);
}

START_TEST(references_agree_with_four_times_the_precision)
{
    references_hold("sigmoid", 6);
    references_hold("softmax", 4);
    references_hold("relu3", 2);
}
END_TEST

/* Binds X to 1 + 2^-53 (the midpoint between 1 and the next double) and
   s to -2000, exactly. */
static int
bind_midpoint(void *ctx, evaluator *ev, char *why, size_t len)
{
    const model *m = ctx;
    (void)why;
    (void)len;
    evaluator *ex = eval_new(tu_pool, NUMBER_EXACT, 0);
    value *x = eval_new_value(ex, 2, 1, 1), *s = eval_new_value(ex, 0, 1, 1);
    mpq_set_ui(*eval_q(x, 0, 0), 1, 1);
    mpq_t tie;
    mpq_init(tie);
    mpq_set_ui(tie, 1, 1);
    mpq_div_2exp(tie, tie, 53);
    mpq_add(*eval_q(x, 0, 0), *eval_q(x, 0, 0), tie);
    mpq_clear(tie);
    mpq_set_si(*eval_q(s, 0, 0), -2000, 1);
    eval_bind(ev, model_lookup(m, "X", 1), x);
    eval_bind(ev, model_lookup(m, "s", 1), s);
    eval_free(ex);
    return 1;
}

/* The value of definition NAME of M at the binding of bind_midpoint, in
   MPFR at PREC bits, rounded to double. */
static double
mpfr_at(const model *m, const char *name, long prec)
{
    evaluator *ev = eval_new(tu_pool, NUMBER_MPFR, prec);
    char why[256];
    bind_midpoint((void *)m, ev, why, sizeof why);
    const value *v;
    const term *t = term_symbol(m->terms, model_lookup(m, name, strlen(name)));
    ck_assert_msg(eval_term(ev, t, &v, why, sizeof why), "%s", why);
    double d = mpfr_get_d(*eval_fr(v, 0, 0), MPFR_RNDN);
    eval_free(ev);
    return d;
}

/* Values within a hair of a rounding tie: the interval references settle
   each on the right side, where MPFR at 256 and at 1024 bits (agreeing with
   each other, which is what a Ziv-style check accepts) round to the wrong
   double; an exact tie is a point and rounds to even; a tie reached through
   inexact operations straddles the boundary at every precision and is
   unsampleable at the cap, not counted as a value. */
START_TEST(references_are_proved_near_a_tie)
{
    model *m = tu_parse_text("tie.dc", "dims n = 1\n"
                                       "input X[n, 1]\n"
                                       "param s\n"
                                       "ABOVE = X + exp(s)\n"
                                       "BELOW = X - exp(s)\n"
                                       "TIE = X + 0 * s\n"
                                       "ROUND = log(exp(X)) + 0 * s\n"
                                       "loss J = sum(ABOVE + BELOW + TIE + ROUND)\n");
    const char *names[] = {"ABOVE", "BELOW", "TIE", "ROUND"};
    roundoff_ref refs[4];
    for (int k = 0; k < 4; k++)
        refs[k] =
            (roundoff_ref){.t = term_symbol(m->terms, model_lookup(m, names[k], strlen(names[k])))};
    char why[256];
    ck_assert_msg(roundoff_references(refs, 4, bind_midpoint, m, m, EVAL_MAX_MEMORY, tu_pool, why,
                                      sizeof why),
                  "%s", why);
    double one = 1.0, next = nextafter(1.0, 2.0);
    /* 1 + 2^-53 + e^-2000: above the tie, so the next double up */
    ck_assert_int_eq(refs[0].unsampleable, 0);
    ck_assert(refs[0].value[0] == next);
    ck_assert(mpfr_at(m, "ABOVE", 256) == one && mpfr_at(m, "ABOVE", 1024) == one);
    /* 1 + 2^-53 - e^-2000: below the tie, so 1; MPFR's ties-to-even gives
       1 as well, for the wrong reason */
    ck_assert_int_eq(refs[1].unsampleable, 0);
    ck_assert(refs[1].value[0] == one);
    /* the tie itself, exact: rounds to even */
    ck_assert_int_eq(refs[2].unsampleable, 0);
    ck_assert_int_eq(refs[2].prec, ROUNDOFF_FIRST_PREC);
    ck_assert(refs[2].value[0] == one);
    /* the tie again, through exp and log: never settled */
    ck_assert_int_eq(refs[3].unsampleable, 1);
    ck_assert_int_eq(refs[3].prec, ROUNDOFF_MAX_PREC);
    ck_assert_int_eq(refs[3].certified[0], 0);
    model_free(m);
}
END_TEST

/* An exact 0 reached by cancellation is proved 0 by its interval; ReLU and
   the step at a kink are enclosed on both sides. */
static int
bind_kink(void *ctx, evaluator *ev, char *why, size_t len)
{
    const model *m = ctx;
    (void)why;
    (void)len;
    evaluator *ex = eval_new(tu_pool, NUMBER_EXACT, 0);
    value *x = eval_new_value(ex, 2, 1, 2);
    mpq_set_si(*eval_q(x, 0, 0), 0, 1);
    mpq_set_si(*eval_q(x, 0, 1), -3, 4);
    eval_bind(ev, model_lookup(m, "X", 1), x);
    eval_free(ex);
    return 1;
}

START_TEST(references_of_zeros_and_kinks)
{
    model *m = tu_parse_text("kink.dc", "dims n = 2\n"
                                        "input X[1, n]\n"
                                        "ZERO = exp(X) - exp(X)\n"
                                        "R = relu(exp(X) - 1)\n"
                                        "S = (exp(X) > 1) + (exp(X) >= 1)\n"
                                        "loss J = sum(ZERO + R + S)\n");
    const char *names[] = {"ZERO", "R", "S"};
    roundoff_ref refs[3];
    for (int k = 0; k < 3; k++)
        refs[k] =
            (roundoff_ref){.t = term_symbol(m->terms, model_lookup(m, names[k], strlen(names[k])))};
    char why[256];
    ck_assert_msg(
        roundoff_references(refs, 3, bind_kink, m, m, EVAL_MAX_MEMORY, tu_pool, why, sizeof why),
        "%s", why);
    /* exp(0) - exp(0) and exp(-3/4) - exp(-3/4): exactly 0 */
    ck_assert_int_eq(refs[0].unsampleable, 0);
    ck_assert(refs[0].value[0] == 0.0 && refs[0].value[1] == 0.0);
    /* relu(exp(0) - 1) = 0 exactly; relu(exp(-3/4) - 1) = 0 */
    ck_assert_int_eq(refs[1].unsampleable, 0);
    ck_assert(refs[1].value[0] == 0.0 && refs[1].value[1] == 0.0);
    /* exp(0) = 1 exactly: 1 > 1 is 0 and 1 >= 1 is 1; at -3/4 both 0 */
    ck_assert_int_eq(refs[2].unsampleable, 0);
    ck_assert(refs[2].value[0] == 1.0 && refs[2].value[1] == 0.0);
    model_free(m);
}
END_TEST

/* The same seed gives the same report, whatever the threads, and the
   shards merged give the whole run's JSON. */
START_TEST(same_seed_same_output)
{
    model *m = tu_parse_builtin("sigmoid");
    derivation *d = tu_derive(m, tu_rules);
    const char *a = written(sweep(d, ROUNDOFF_ODD_M, 12, 0, 1, 0, 0), FORMAT_JSON);
    const char *b = written(sweep(d, ROUNDOFF_ODD_M, 12, 0, 1, 0, 0), FORMAT_JSON);
    const char *c = written(sweep(d, ROUNDOFF_ODD_M, 12, 0, 3, 0, 0), FORMAT_JSON);
    ck_assert_str_eq(a, b);
    ck_assert_str_eq(a, c);
    const char *s1 = written(sweep(d, ROUNDOFF_ODD_M, 12, 0, 1, 1, 3), FORMAT_JSON);
    const char *s2 = written(sweep(d, ROUNDOFF_ODD_M, 12, 0, 2, 2, 3), FORMAT_JSON);
    const char *s3 = written(sweep(d, ROUNDOFF_ODD_M, 12, 0, 1, 3, 3), FORMAT_JSON);
    const char *texts[] = {s3, s1, s2}, *names[] = {"s3", "s1", "s2"};
    roundoff_result *merged = roundoff_merge(texts, names, 3, 0, tu_pool, &tu_err);
    ck_assert_msg(merged != NULL, "%s", merged ? "" : tu_err.formatted);
    ck_assert_str_eq(written(merged, FORMAT_JSON), a);
    /* a shard given twice is refused */
    const char *twice[] = {s1, s1};
    ck_assert_ptr_null(roundoff_merge(twice, names, 2, 0, tu_pool, &tu_err));
    model_free(m);
}
END_TEST

/* merge reads back what error writes, byte for byte: a seed beyond
   jansson's integers (a string of digits), NaN and infinities (as "nan",
   "inf", "-inf", which null could not tell apart), numbers as %.17g spells
   them (1e-06), a model name that is no UTF-8, and the max_rel of a row
   without a finite entry as null. */
START_TEST(json_reads_back_what_it_writes)
{
    model *m = tu_parse_builtin("sigmoid");
    roundoff_result *res = sweep(tu_derive(m, tu_rules), ROUNDOFF_TYPICAL, 2, 0, 1, 0, 0);
    res->seed = ULONG_MAX;
    res->model_name = "dir/\xff\tm.dc";
    roundoff_stat *st = res->tables[0].stats;
    st[0].max_rel = INFINITY;
    st[0].worst.computed = -INFINITY;
    st[1].worst.computed = NAN;
    st[2].worst.computed = 5.4969652251712908e-06;
    st[3].nan = st[3].entries; /* no finite entry: no relative error */
    st[3].max_rel = 0;
    const char *json = written(res, FORMAT_JSON);
    static const char *const spelled[] = {"\"schema_version\": 1,",
                                          "\"max_rel\": null, \"nan\": ",
                                          "\"seed\": \"18446744073709551615\"",
                                          "\"model\": \"dir/?\\tm.dc\"",
                                          "\"max_rel\": \"inf\"",
                                          "\"computed\": \"-inf\"",
                                          "\"computed\": \"nan\",",
                                          "\"computed\": 5.4969652251712908e-06,"};
    for (size_t k = 0; k < sizeof spelled / sizeof spelled[0]; k++)
        ck_assert_msg(strstr(json, spelled[k]) != NULL, "no %s", spelled[k]);
    const char *texts[] = {json}, *names[] = {"s"};
    roundoff_result *merged = roundoff_merge(texts, names, 1, 0, tu_pool, &tu_err);
    ck_assert_msg(merged != NULL, "%s", merged ? "" : tu_err.formatted);
    ck_assert_str_eq(written(merged, FORMAT_JSON), json);
    model_free(m);
}
END_TEST

static long
histogram_total(const roundoff_stat *st)
{
    long total = 0;
    for (int b = 0; b < ROUNDOFF_BINS; b++)
        total += st->histogram[b];
    return total;
}

/* The histograms of shards merged are bin for bin those of the whole run
   (and of a run on three threads), and each adds up to its entries; merge
   refuses a shard whose histogram does not. */
START_TEST(histograms_add_up_across_shards)
{
    model *m = tu_parse_builtin("sigmoid");
    derivation *d = tu_derive(m, tu_rules);
    const roundoff_table *whole = &sweep(d, ROUNDOFF_SATURATED, 10, 0, 1, 0, 0)->tables[0];
    const roundoff_table *threads = &sweep(d, ROUNDOFF_SATURATED, 10, 0, 3, 0, 0)->tables[0];
    const char *s1 = written(sweep(d, ROUNDOFF_SATURATED, 10, 0, 1, 1, 2), FORMAT_JSON);
    const char *s2 = written(sweep(d, ROUNDOFF_SATURATED, 10, 0, 2, 2, 2), FORMAT_JSON);
    const char *texts[] = {s2, s1}, *names[] = {"s2", "s1"};
    roundoff_result *merged = roundoff_merge(texts, names, 2, 0, tu_pool, &tu_err);
    ck_assert_msg(merged != NULL, "%s", merged ? "" : tu_err.formatted);
    const roundoff_table *joined = &merged->tables[0];
    ck_assert_uint_eq(joined->n, whole->n);
    long nonzero_bins = 0;
    for (size_t k = 0; k < whole->n; k++) {
        const roundoff_stat *w = &whole->stats[k];
        ck_assert_int_gt(w->entries, 0);
        ck_assert_int_eq(histogram_total(w), w->entries);
        for (int b = 0; b < ROUNDOFF_BINS; b++) {
            ck_assert_msg(joined->stats[k].histogram[b] == w->histogram[b] &&
                              threads->stats[k].histogram[b] == w->histogram[b],
                          "%s %s bin %d: whole %ld, merged %ld, 3 threads %ld", w->quantity,
                          w->formulation, b, w->histogram[b], joined->stats[k].histogram[b],
                          threads->stats[k].histogram[b]);
            nonzero_bins += w->histogram[b] != 0;
        }
    }
    ck_assert_int_gt(nonzero_bins, (long)whole->n); /* not all in one bin each */
    /* a shard with a count changed (a 1 written before the first) no
       longer adds up: refused */
    const char *bins = strstr(s1, "\"histogram\": [");
    ck_assert_ptr_nonnull(bins);
    size_t at = (size_t)(bins - s1) + strlen("\"histogram\": [");
    text bad;
    text_init(&bad, tu_pool);
    text_putn(&bad, s1, at);
    text_printf(&bad, "1%s", s1 + at);
    const char *tampered[] = {s2, text_str(&bad)};
    ck_assert_ptr_null(roundoff_merge(tampered, names, 2, 0, tu_pool, &tu_err));
    ck_assert_ptr_nonnull(strstr(tu_err.formatted, "malformed"));
    model_free(m);
}
END_TEST

/* The plot script of an exact model over two regimes: a row per quantity,
   a column per regime, every count in bin 0 as data, each formulation
   named in the key with its bar shifted into its own slot. */
START_TEST(plot_script_draws_every_panel)
{
    model *m = tu_parse_text("linear.dc", linear_model);
    roundoff_request rq = {.rules = tu_rules,
                           .seed = 7,
                           .samples = 5,
                           .regimes = 1u << ROUNDOFF_TYPICAL | 1u << ROUNDOFF_POW2_M,
                           .bits = 4,
                           .model_name = "dir/it's.dc"};
    roundoff_result *res = roundoff_sweep(tu_derive(m, tu_rules), &rq, &tu_err, tu_pool);
    ck_assert_msg(res != NULL, "%s", res ? "" : tu_err.formatted);
    /* as if db absorbed had had every entry unsampleable: no bar, still in the key */
    roundoff_stat *none = (roundoff_stat *)stat_of(&res->tables[0], "db", "absorbed");
    memset(none->histogram, 0, sizeof none->histogram);
    text t;
    text_init(&t, tu_pool);
    ck_assert(plot_histograms(&t, res));
    const char *script = text_str(&t);
    /* J, dW, db by typical, pow2-m; the model's name quoted for gnuplot */
    ck_assert_ptr_nonnull(strstr(script, "set multiplot layout 3,2 title 'Bits of error per entry, "
                                         "log2(1 + ulps), 64 = NaN: it''s.dc, seed 7'"));
    ck_assert_ptr_nonnull(strstr(script, "set terminal svg size 880,940 "));
    /* J as written: 5 samples, 1 entry each, all correctly rounded */
    ck_assert_ptr_nonnull(strstr(script, "$h_0_0 << EOD\n0 5\nEOD\n"));
    /* dW (2 x 3) at m = 64, 5 samples: 30 entries in bin 0 */
    const roundoff_table *pow2 = &res->tables[1];
    size_t k = (size_t)(stat_of(pow2, "dW", "deferred") - pow2->stats);
    char want[64];
    snprintf(want, sizeof want, "$h_1_%zu << EOD\n0 30\nEOD\n", k);
    ck_assert_msg(strstr(script, want) != NULL, "no %s in\n%s", want, script);
    ck_assert_ptr_nonnull(strstr(script, "set title 'dW, pow2-m: 5 samples'"));
    /* dW's four formulations share bin 0: widths 0.2, centred on it */
    ck_assert_ptr_nonnull(strstr(script, "using ($1-0.3000):2 with boxes title 'deferred'"));
    ck_assert_ptr_nonnull(
        strstr(script, "using ($1+0.3000):2 with boxes title 'per-example/m (C)'"));
    snprintf(want, sizeof want, "$h_0_%zu ", (size_t)(none - res->tables[0].stats));
    ck_assert_ptr_null(strstr(script, want));
    ck_assert_ptr_nonnull(strstr(script, ", \\\n     NaN with boxes title 'absorbed', \\\n"));
    ck_assert_ptr_nonnull(strstr(script, "unset multiplot\n"));
    /* six panels, one plot command each */
    long plots = 0;
    for (const char *c = script; (c = strstr(c, "\nplot ")) != NULL; c++)
        plots++;
    ck_assert_int_eq(plots, 6);
    model_free(m);
}
END_TEST

START_TEST(softmax_forms)
{
    model *m = tu_parse_builtin("softmax");
    roundoff_result *res = sweep(tu_derive(m, tu_rules), ROUNDOFF_SATURATED, 6, 0, 1, 0, 0);
    const roundoff_table *tab = &res->tables[0];
    const roundoff_stat *naive = stat_of(tab, "A2", "naive (C)");
    const roundoff_stat *shifted = stat_of(tab, "A2", "max-shifted");
    ck_assert_int_gt(naive->nan + naive->inf, 0);
    ck_assert_int_eq(shifted->nan + shifted->inf, 0);
    const roundoff_stat *lse = stat_of(tab, "J", "log-softmax (C)");
    ck_assert_int_eq(lse->nan + lse->inf, 0);
    stat_of(tab, "J", "naive softmax (C)");
    model_free(m);
}
END_TEST

/* -1 / (1 + exp(Z)), the gradient A - Y of the sigmoid cross-entropy at Y =
   1, in MPFR at 256 bits, times W: the truth, from the closed form alone. */
static void
closed_form(mpfr_t out, double z, double w)
{
    mpfr_t t;
    mpfr_init2(t, 256);
    mpfr_set_d(t, z, MPFR_RNDN);
    mpfr_exp(t, t, MPFR_RNDN);
    mpfr_add_ui(t, t, 1, MPFR_RNDN);
    mpfr_ui_div(t, 1, t, MPFR_RNDN);
    mpfr_neg(t, t, MPFR_RNDN);
    mpfr_mul_d(t, t, w, MPFR_RNDN);
    mpfr_add(out, out, t, MPFR_RNDN);
    mpfr_clear(t);
}

/* A value of the exact evaluator EX, every entry Q (a dyadic number). */
static value *
filled(evaluator *ex, long rows, long cols, double q)
{
    value *v = eval_new_value(ex, 2, rows, cols);
    for (long i = 0; i < rows; i++)
        for (long j = 0; j < cols; j++)
            mpq_set_d(*eval_q(v, i, j), q);
    return v;
}

/* T evaluated in double in DV, entry (I, J). */
static double
in_double(evaluator *dv, const term *t, long i, long j)
{
    const value *v;
    char why[256];
    ck_assert_msg(eval_term_or_oom(dv, t, &v, why, sizeof why), "%s", why);
    return *eval_d(v, i, j);
}

/* Issue 19: at Z2 = 40 with Y = 1, A2 rounds to 1 in double and A2 - Y to
   0, while the truth, -1 / (1 + exp(40)), is about -4.2e-18: at least 50
   bits of error. The form from the logits, -sigmoid(-Z2) there, is within
   1 bit. The same for dW2 = 1/m * dZ2 @ A1.T over a batch of 8 confident,
   correct examples (Z2 = 40, Y = 1, A1 = 3/4): the truths from MPFR. */
START_TEST(logits_keep_confident_gradients)
{
    model *m = tu_parse_builtin("sigmoid");
    derivation *d = tu_derive(m, tu_rules);
    size_t at;
    const term *logit = roundoff_logit_form(d, &at);
    ck_assert_ptr_nonnull(logit);
    const gradient *g = &d->g[at];
    ck_assert_str_eq(g->deferred_name->name, "dZ2");
    evaluator *ex = eval_new(tu_pool, NUMBER_EXACT, 0), *dv = eval_new(tu_pool, NUMBER_DOUBLE, 0);
    eval_bind(dv, model_lookup(m, "Z2", 2), filled(ex, 1, 8, 40));
    eval_bind(dv, model_lookup(m, "Y", 1), filled(ex, 1, 8, 1));
    eval_bind(dv, model_lookup(m, "A1", 2), filled(ex, 4, 8, 0.75));
    mpfr_t truth;
    mpfr_init2(truth, 256);
    mpfr_set_ui(truth, 0, MPFR_RNDN);
    closed_form(truth, 40, 1);
    double dz = mpfr_get_d(truth, MPFR_RNDN);
    ck_assert(dz < -4.2e-18 && dz > -4.3e-18);
    double textbook = in_double(dv, g->deferred_name->definition, 0, 5);
    ck_assert(textbook == 0);
    ck_assert(ulps_bits(textbook, dz) >= 50);
    ck_assert_msg(ulps_bits(in_double(dv, logit, 0, 5), dz) <= 1, "%g bits",
                  ulps_bits(in_double(dv, logit, 0, 5), dz));
    /* dW2 = 1/8 * sum over the batch of dZ2 * 3/4 */
    const gradient *gw = derive_find(d, model_lookup(m, "W2", 2));
    const term *dw = derive_pretty(d, gw, CONVENTION_DEFERRED);
    const symbol *from[] = {g->deferred_name};
    const term *to[] = {logit};
    const term *dw_logit = term_substitute(m->terms, dw, from, to, 1, term_map_new(tu_pool));
    ck_assert_ptr_ne(dw_logit, dw);
    mpfr_set_ui(truth, 0, MPFR_RNDN);
    for (int j = 0; j < 8; j++)
        closed_form(truth, 40, 0.75 / 8);
    double dw_truth = mpfr_get_d(truth, MPFR_RNDN);
    for (long k = 0; k < 4; k++) {
        ck_assert(ulps_bits(in_double(dv, dw, 0, k), dw_truth) >= 50);
        ck_assert_msg(ulps_bits(in_double(dv, dw_logit, 0, k), dw_truth) <= 1, "%g bits",
                      ulps_bits(in_double(dv, dw_logit, 0, k), dw_truth));
    }
    mpfr_clear(truth);
    eval_free(dv);
    eval_free(ex);
    model_free(m);
}
END_TEST

/* The confident regime of the sigmoid and softmax models: right
   predictions by margins of 5 to 700, so A2 - Y loses every bit on some
   entries (A2 rounds to 1: 0 for about -1e-16 or less) while the form from
   the logits stays within a bit or two; the naive chain meets 0/0. The
   mixed regime keeps the logit form as accurate. */
START_TEST(confident_regime_separates_the_forms)
{
    static const char *const models[] = {"sigmoid", "softmax"};
    for (int k = 0; k < 2; k++)
        for (int mixed = 0; mixed < 2; mixed++) {
            model *m = tu_parse_builtin(models[k]);
            roundoff_result *res =
                sweep(tu_derive(m, tu_rules), mixed ? ROUNDOFF_CONFIDENT_MIXED : ROUNDOFF_CONFIDENT,
                      8, 0, 1, 0, 0);
            const roundoff_table *tab = &res->tables[0];
            ck_assert_ptr_nonnull(strstr(tab->draws, "margins log-uniform in [5, 700]"));
            const roundoff_stat *textbook = stat_of(tab, "dZ2", "deferred");
            const roundoff_stat *logit = stat_of(tab, "dZ2", "from logits");
            ck_assert_int_eq(textbook->unsampleable + logit->unsampleable, 0);
            ck_assert_msg(textbook->max_bits >= 50, "%s: A2 - Y %g bits", models[k],
                          textbook->max_bits);
            ck_assert(textbook->max_rel == 1); /* some entry computed as 0 */
            ck_assert_msg(logit->max_bits <= (k ? 2 : 1), "%s: from logits %g bits", models[k],
                          logit->max_bits);
            ck_assert_int_eq(logit->nan + logit->inf, 0);
            const roundoff_stat *dw = stat_of(tab, "dW2", "from logits");
            ck_assert_int_eq(dw->nan + dw->inf, 0);
            ck_assert(dw->max_bits < 8);
            if (k == 0 && !mixed)
                ck_assert_int_gt(stat_of(tab, "dW2", "naive chain")->nan, 0);
            model_free(m);
        }
}
END_TEST

/* A model with N scalar params: linear (one quantity and two formulations
   per param) or a chain of N tanh layers (three: the naive chain too). */
static model *
many_params(int n, int chain)
{
    static char buf[1 << 14];
    size_t at = 0;
    at += (size_t)snprintf(buf + at, sizeof buf - at,
                           "dims n_x = 1\nbatch m = 4\ninput X[n_x, m]\nlabel Y[n_x, m]\nparam ");
    for (int i = 1; i <= n; i++)
        at += (size_t)snprintf(buf + at, sizeof buf - at, "%sw%d[n_x, n_x]", i > 1 ? ", " : "", i);
    at += (size_t)snprintf(buf + at, sizeof buf - at, "\n");
    if (chain) {
        for (int i = 1; i <= n; i++) {
            if (i == 1)
                at += (size_t)snprintf(buf + at, sizeof buf - at, "Z1 = w1 @ X\n");
            else
                at += (size_t)snprintf(buf + at, sizeof buf - at, "Z%d = w%d @ A%d\n", i, i, i - 1);
            at += (size_t)snprintf(buf + at, sizeof buf - at, "A%d = tanh(Z%d)\n", i, i);
        }
        at += (size_t)snprintf(buf + at, sizeof buf - at, "loss J = 1/m * sum((A%d - Y)^2)\n", n);
    } else {
        at += (size_t)snprintf(buf + at, sizeof buf - at, "Z = ");
        for (int i = 1; i <= n; i++)
            at += (size_t)snprintf(buf + at, sizeof buf - at, "%sw%d @ X", i > 1 ? " + " : "", i);
        at += (size_t)snprintf(buf + at, sizeof buf - at, "\nloss J = 1/m * sum((Z - Y)^2)\n");
    }
    ck_assert_uint_lt(at, sizeof buf - 1);
    return tu_parse_text("many.dc", buf);
}

static void
refused(model *m, const char *cap)
{
    roundoff_request rq = {.rules = tu_rules,
                           .seed = 7,
                           .samples = 1,
                           .regimes = 1u << ROUNDOFF_TYPICAL,
                           .model_name = "many.dc"};
    roundoff_result *res = roundoff_sweep(tu_derive(m, tu_rules), &rq, &tu_err, tu_pool);
    ck_assert_ptr_null(res);
    ck_assert_int_eq(tu_err.status, DC_ELIMIT);
    ck_assert_msg(strstr(tu_err.formatted, cap) != NULL, "'%s' does not name %s", tu_err.formatted,
                  cap);
}

/* Beyond ROUNDOFF_MAX_QUANTITIES or ROUNDOFF_MAX_FORMS the sweep is refused,
   naming the cap, rather than leaving formulations out. */
START_TEST(refuses_beyond_the_caps)
{
    /* 1 + 15 quantities, 1 + 4 * 15 formulations: within both caps */
    model *m = many_params(15, 0);
    roundoff_result *res = sweep(tu_derive(m, tu_rules), ROUNDOFF_TYPICAL, 1, 4, 1, 0, 0);
    ck_assert_uint_eq(res->tables[0].n, 1 + 4 * 15);
    model_free(m);
    m = many_params(ROUNDOFF_MAX_QUANTITIES + 8, 0);
    refused(m, "ROUNDOFF_MAX_QUANTITIES");
    model_free(m);
    /* 31 quantities, over 64 formulations */
    m = many_params(30, 1);
    refused(m, "ROUNDOFF_MAX_FORMS");
    model_free(m);
}
END_TEST

int
main(void)
{
    Suite *s = suite_create("errors");
    TCase *tc = tcase_create("errors");
    tcase_add_checked_fixture(tc, tu_setup_rules, tu_teardown);
    tcase_set_timeout(tc, 120);
    tcase_add_test(tc, bits_of_error);
    tcase_add_test(tc, exact_formulation_measures_zero_bits);
    tcase_add_test(tc, saturation_breaks_the_naive_chain_only);
    tcase_add_test(tc, naive_chain_through_the_adjoint_rules);
    tcase_add_test(tc, your_claims_are_formulations);
    tcase_add_test(tc, references_agree_with_four_times_the_precision);
    tcase_add_test(tc, references_are_proved_near_a_tie);
    tcase_add_test(tc, references_of_zeros_and_kinks);
    tcase_add_test(tc, same_seed_same_output);
    tcase_add_test(tc, histograms_add_up_across_shards);
    tcase_add_test(tc, json_reads_back_what_it_writes);
    tcase_add_test(tc, plot_script_draws_every_panel);
    tcase_add_test(tc, softmax_forms);
    tcase_add_test(tc, refuses_beyond_the_caps);
    tcase_add_test(tc, logits_keep_confident_gradients);
    tcase_add_test(tc, confident_regime_separates_the_forms);
    suite_add_tcase(s, tc);
    return tu_run(s);
}
