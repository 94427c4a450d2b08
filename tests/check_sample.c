/* check_sample.c: the per-sample random streams: reproducible, and unrelated from one sample to the
 * next. */
#include <check.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "num/sample.h"
#include "testutil.h"

/* How many consecutive streams the statistics look at. */
enum { STREAMS = 1000, DRAW_BITS = 30, GRID = 4 };

typedef void (*stream_start)(gmp_randstate_t rng, unsigned long seed, unsigned long index);

/* A stream without mixing, the negative control: an LC generator seeded
   with seed * 2^64 + index, as the Mersenne Twister used to be. Neighbouring
   indexes start it at neighbouring states, whose outputs differ by a
   constant (the multiplier's high half) modulo 2^128. */
static void
unmixed_stream(gmp_randstate_t rng, unsigned long seed, unsigned long index)
{
    ck_assert(gmp_randinit_lc_2exp_size(rng, 128));
    mpz_t s;
    mpz_init_set_ui(s, seed);
    mpz_mul_2exp(s, s, 64);
    mpz_add_ui(s, s, index);
    gmp_randseed(rng, s);
    mpz_clear(s);
}

/* The first draw of a stream as sample_bind makes a signed entry: k / 2^30
   with k of 30 random bits, then a random sign. LOWBIT gets k's lowest bit. */
static double
first_draw(stream_start start, unsigned long seed, unsigned long index, int *lowbit)
{
    gmp_randstate_t rng;
    start(rng, seed, index);
    unsigned long k = gmp_urandomb_ui(rng, DRAW_BITS);
    int negative = (int)gmp_urandomb_ui(rng, 1);
    gmp_randclear(rng);
    *lowbit = (int)(k & 1);
    double x = ldexp((double)k, -DRAW_BITS);
    return negative ? -x : x;
}

/* What the checks measure over STREAMS consecutive streams. */
typedef struct stream_stats {
    double mean, std_error; /* of the first draws, uniform in [-1, 1] */
    long ones;              /* first draws whose k is odd */
    double correlation;     /* of the first draws of streams j and j + 1 */
    double chi2;            /* of the pairs (j, j + 1) in a GRID x GRID grid */
} stream_stats;

/* The statistics of streams (SEED, INDEX + j), or with BY_SEED of streams
   (SEED + j, INDEX), for j = 0 .. STREAMS (STREAMS pairs of neighbours). */
static stream_stats
measure(stream_start start, unsigned long seed, unsigned long index, int by_seed)
{
    static double x[STREAMS + 1];
    stream_stats st = {0};
    for (long j = 0; j <= STREAMS; j++) {
        int low;
        unsigned long dj = (unsigned long)j;
        x[j] = by_seed ? first_draw(start, seed + dj, index, &low)
                       : first_draw(start, seed, index + dj, &low);
        if (j < STREAMS) {
            st.mean += x[j];
            st.ones += low;
        }
    }
    st.mean /= STREAMS;
    st.std_error = sqrt(1.0 / 3.0 / STREAMS); /* variance of U(-1, 1) is 1/3 */
    double ma = 0, mb = 0;
    for (long j = 0; j < STREAMS; j++)
        ma += x[j], mb += x[j + 1];
    ma /= STREAMS, mb /= STREAMS;
    double sab = 0, saa = 0, sbb = 0;
    long cell[GRID][GRID] = {{0}};
    for (long j = 0; j < STREAMS; j++) {
        double a = x[j] - ma, b = x[j + 1] - mb;
        sab += a * b, saa += a * a, sbb += b * b;
        int ca = (int)((x[j] + 1) / 2 * GRID), cb = (int)((x[j + 1] + 1) / 2 * GRID);
        cell[ca < GRID ? ca : GRID - 1][cb < GRID ? cb : GRID - 1]++;
    }
    st.correlation = sab / sqrt(saa * sbb);
    double expected = (double)STREAMS / (GRID * GRID);
    for (int a = 0; a < GRID; a++)
        for (int b = 0; b < GRID; b++)
            st.chi2 += (cell[a][b] - expected) * (cell[a][b] - expected) / expected;
    return st;
}

/* The bounds, each far enough out that a good generator fails it with
   probability below about 1e-4: the mean within 4 standard errors of 0;
   the odd draws within 4 standard deviations (sqrt(1000)/2 = 15.8) of 500;
   |correlation| below 0.15 (its standard error is 1/sqrt(1000) = 0.032);
   chi-square below 50 with 15 degrees of freedom (p = 1e-5). */
static int
mean_ok(const stream_stats *st)
{
    return fabs(st->mean) < 4 * st->std_error;
}
static int
ones_ok(const stream_stats *st)
{
    return st->ones > 500 - 64 && st->ones < 500 + 64;
}
static int
correlation_ok(const stream_stats *st)
{
    return fabs(st->correlation) < 0.15;
}
static int
pairs_ok(const stream_stats *st)
{
    return st->chi2 < 50;
}

static void
assert_unrelated(unsigned long seed, unsigned long index, int by_seed)
{
    stream_stats st = measure(sample_stream_init, seed, index, by_seed);
    const char *what = by_seed ? "seeds" : "indexes";
    ck_assert_msg(mean_ok(&st), "%s from (%lu, %lu): mean %.4f, standard error %.4f", what, seed,
                  index, st.mean, st.std_error);
    ck_assert_msg(ones_ok(&st), "%s from (%lu, %lu): %ld odd draws of %d", what, seed, index,
                  st.ones, STREAMS);
    ck_assert_msg(correlation_ok(&st), "%s from (%lu, %lu): neighbours correlate %.4f", what, seed,
                  index, st.correlation);
    ck_assert_msg(pairs_ok(&st), "%s from (%lu, %lu): neighbour pairs chi-square %.1f", what, seed,
                  index, st.chi2);
}

/* The same (seed, index) gives the same draws; another index or seed,
   others. */
START_TEST(same_stream_same_draws)
{
    enum { DRAWS = 64 };
    gmp_randstate_t a, b, other_index, other_seed;
    sample_stream_init(a, 7, 3);
    sample_stream_init(b, 7, 3);
    sample_stream_init(other_index, 7, 4);
    sample_stream_init(other_seed, 8, 3);
    int differ_index = 0, differ_seed = 0;
    for (int i = 0; i < DRAWS; i++) {
        unsigned long x = gmp_urandomb_ui(a, DRAW_BITS);
        ck_assert_uint_eq(x, gmp_urandomb_ui(b, DRAW_BITS));
        differ_index += x != gmp_urandomb_ui(other_index, DRAW_BITS);
        differ_seed += x != gmp_urandomb_ui(other_seed, DRAW_BITS);
    }
    /* two independent 30-bit draws agree with probability 2^-30 */
    ck_assert_int_eq(differ_index, DRAWS);
    ck_assert_int_eq(differ_seed, DRAWS);
    gmp_randclear(a);
    gmp_randclear(b);
    gmp_randclear(other_index);
    gmp_randclear(other_seed);
}
END_TEST

static int
same_value(const value *a, const value *b)
{
    if (a->rows != b->rows || a->cols != b->cols)
        return 0;
    for (long i = 0; i < a->rows; i++)
        for (long j = 0; j < a->cols; j++)
            if (!mpq_equal(*eval_q(a, i, j), *eval_q(b, i, j)))
                return 0;
    return 1;
}

/* sample_bind draws from the stream sample_stream_init starts: the same
   spec twice, or that stream given to sample_bind_stream, bind the same
   exact values; another index binds others. Every entry is k / 2^30 in
   [-1, 1], every binary label 0 or 1. */
START_TEST(sample_bind_draws_its_stream)
{
    model *m = tu_parse_builtin("sigmoid");
    char why[256];
    sample_spec spec = {.seed = 5, .index = 9, .bits = DRAW_BITS};
    sample_spec next = {.seed = 5, .index = 10, .bits = DRAW_BITS};
    evaluator *once = eval_new(tu_pool, NUMBER_EXACT, 0),
              *twice = eval_new(tu_pool, NUMBER_EXACT, 0);
    evaluator *streamed = eval_new(tu_pool, NUMBER_EXACT, 0),
              *other = eval_new(tu_pool, NUMBER_EXACT, 0);
    ck_assert(sample_bind(once, tu_pool, m, &spec, why, sizeof why));
    ck_assert(sample_bind(twice, tu_pool, m, &spec, why, sizeof why));
    ck_assert(sample_bind(other, tu_pool, m, &next, why, sizeof why));
    gmp_randstate_t rng;
    sample_stream_init(rng, 5, 9);
    ck_assert(sample_bind_stream(streamed, rng, tu_pool, m, &spec, why, sizeof why));
    gmp_randclear(rng);
    const char *names[] = {"X", "Y", "W1", "b1", "W2", "b2"};
    mpq_t one;
    mpq_init(one);
    mpq_set_ui(one, 1, 1);
    for (size_t k = 0; k < sizeof names / sizeof names[0]; k++) {
        const value *v = tu_bound(once, m, names[k]);
        ck_assert_msg(same_value(v, tu_bound(twice, m, names[k])), "%s drawn twice differs",
                      names[k]);
        ck_assert_msg(same_value(v, tu_bound(streamed, m, names[k])), "%s: not the stream's draw",
                      names[k]);
        if (strcmp(names[k], "Y") != 0 && v->rows * v->cols > 1)
            ck_assert_msg(!same_value(v, tu_bound(other, m, names[k])), "%s: index 10 = index 9",
                          names[k]);
        for (long i = 0; i < v->rows; i++)
            for (long j = 0; j < v->cols; j++) {
                mpq_t *q = eval_q(v, i, j);
                if (strcmp(names[k], "Y") == 0)
                    ck_assert(mpq_sgn(*q) == 0 || mpq_equal(*q, one));
                ck_assert_uint_le(mpz_sizeinbase(mpq_denref(*q), 2), DRAW_BITS + 1);
                ck_assert_uint_eq(mpz_popcount(mpq_denref(*q)), 1);
                ck_assert_int_le(mpz_cmpabs(mpq_numref(*q), mpq_denref(*q)), 0);
            }
    }
    mpq_clear(one);
    eval_free(once);
    eval_free(twice);
    eval_free(streamed);
    eval_free(other);
    model_free(m);
}
END_TEST

/* The size assignments of numeric evidence: assignment 0 is the declared
   sizes; in 1 and 2 every dim and the batch take a size of at least 3 that
   is no power of two, differs from the declared one and from its size in
   the other assignment, and from the other dims' in its own. An instance
   drawn at an assignment has those sizes, the batch's included. */
START_TEST(sizes_vary_every_dim)
{
    model *m = tu_parse_builtin("sigmoid"); /* n_x 2, n_h 4, n_y 1, m 8 */
    sample_sizes s[3];
    for (int k = 0; k < 3; k++)
        sample_sizes_of(&s[k], tu_pool, m, k);
    ck_assert_uint_eq(s[0].count, 4);
    for (size_t d = 0; d < s[0].count; d++) {
        ck_assert_int_eq(s[0].n[d], s[0].dims[d]->value);
        for (int k = 1; k < 3; k++) {
            long n = s[k].n[d];
            ck_assert_ptr_eq(s[k].dims[d], s[0].dims[d]);
            ck_assert_int_ge(n, 3);
            ck_assert_msg((n & (n - 1)) != 0, "%s = %ld, a power of two", s[k].dims[d]->name, n);
            ck_assert_int_ne(n, s[0].n[d]);
            for (size_t e = 0; e < d; e++)
                ck_assert_int_ne(n, s[k].n[e]);
        }
        ck_assert_int_ne(s[1].n[d], s[2].n[d]);
    }
    /* an instance at assignment 2: X is n_x by m there */
    evaluator *ev = eval_new(tu_pool, NUMBER_EXACT, 0);
    sample_spec spec = {.seed = 1, .index = 0, .bits = DRAW_BITS, .sizes = &s[2]};
    char why[256];
    ck_assert(sample_bind(ev, tu_pool, m, &spec, why, sizeof why));
    const value *x = tu_bound(ev, m, "X");
    long nx = 0, batch = 0;
    for (size_t d = 0; d < s[2].count; d++) {
        if (strcmp(s[2].dims[d]->name, "n_x") == 0)
            nx = s[2].n[d];
        if (s[2].dims[d] == m->batch)
            batch = s[2].n[d];
    }
    ck_assert_int_eq(x->rows, nx);
    ck_assert_int_eq(x->cols, batch);
    eval_free(ev);
    model_free(m);
}
END_TEST

/* A batch-first label (Y[N, C] onehot, CS231n's layout) is drawn one-hot
   by rows, its examples; a binary input (a dropout mask) 0 or 1. */
START_TEST(batch_first_labels_and_masks)
{
    model *m = tu_parse_path(DC_TEST_DATADIR "/json/rows.dc");
    char why[256];
    evaluator *ev = eval_new(tu_pool, NUMBER_EXACT, 0);
    for (unsigned long index = 0; index < 8; index++) {
        sample_spec spec = {.seed = 3, .index = index, .bits = DRAW_BITS};
        ck_assert(sample_bind(ev, tu_pool, m, &spec, why, sizeof why));
        const value *y = tu_bound(ev, m, "Y"), *mask = tu_bound(ev, m, "M");
        for (long i = 0; i < y->rows; i++) {
            long ones = 0;
            for (long j = 0; j < y->cols; j++) {
                mpq_t *q = eval_q(y, i, j);
                ck_assert(mpq_sgn(*q) == 0 || mpq_cmp_ui(*q, 1, 1) == 0);
                ones += mpq_sgn(*q) != 0;
            }
            ck_assert_int_eq(ones, 1);
        }
        for (long i = 0; i < mask->rows; i++)
            for (long j = 0; j < mask->cols; j++) {
                mpq_t *q = eval_q(mask, i, j);
                ck_assert(mpq_sgn(*q) == 0 || mpq_cmp_ui(*q, 1, 1) == 0);
            }
    }
    eval_free(ev);
    model_free(m);
}
END_TEST

/* Neighbouring indexes, and neighbouring seeds, start unrelated streams:
   at small and at large indexes, for a few seeds. */
START_TEST(neighbours_are_unrelated)
{
    assert_unrelated(1, 0, 0);
    assert_unrelated(12345, 0, 0);
    assert_unrelated(1, 2000, 0); /* prove's points start at index 2000 */
    assert_unrelated(0, (unsigned long)-1 / 2, 0);
    assert_unrelated(1, 0, 1);
    assert_unrelated(0, 7, 1);
}
END_TEST

/* The checks above can fail: an LC generator seeded with seed * 2^64 +
   index, without mixing, fails them. */
START_TEST(the_checks_catch_an_unmixed_seed)
{
    stream_stats st = measure(unmixed_stream, 1, 0, 0);
    ck_assert_msg(!correlation_ok(&st) || !pairs_ok(&st), "correlation %.4f, chi-square %.1f",
                  st.correlation, st.chi2);
}
END_TEST

int
main(void)
{
    Suite *s = suite_create("sample");
    TCase *tc = tcase_create("sample");
    tcase_add_checked_fixture(tc, tu_setup, tu_teardown);
    tcase_set_timeout(tc, 120);
    tcase_add_test(tc, same_stream_same_draws);
    tcase_add_test(tc, sample_bind_draws_its_stream);
    tcase_add_test(tc, sizes_vary_every_dim);
    tcase_add_test(tc, batch_first_labels_and_masks);
    tcase_add_test(tc, neighbours_are_unrelated);
    tcase_add_test(tc, the_checks_catch_an_unmixed_seed);
    suite_add_tcase(s, tc);
    return tu_run(s);
}
