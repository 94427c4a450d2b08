/* bench_sample.c: workload W3, starting a sample's random stream: GMP's LC generator against the
 * Mersenne Twister it replaced.
 *
 * W3: sample_bind of the built-in sigmoid model (n_x = 2, n_h = 4, m = 8,
 * entries k / 2^30, as error's typical regime draws them), 2000 times
 * with consecutive indexes. The baseline is what sample_bind did before:
 * a Mersenne Twister (gmp_randinit_default) seeded with seed * 2^64 +
 * index per sample, whose seeding computes a modular power with a
 * 19937-bit modulus; it then draws the same way (sample_bind_stream), so
 * the two differ only in the generator. Both run in alternating rounds;
 * each side's best round counts.
 *
 * Then the whole roundoff_sweep of the sigmoid model, regime typical, 200
 * samples, one thread, with the new streams (measured). The sweep with the
 * old streams cannot run in this binary any more; "before" is estimated as
 * the measured sweep plus 200 times the measured difference per bind (the
 * sweep draws each sample with exactly one sample_bind).
 *
 * Usage: bench_sample RULES_DIR [binds]
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "sym/derive.h"
#include "cmd/roundoff.h"
#include "lang/parse.h"
#include "sym/rules.h"
#include "num/sample.h"

enum { BINDS = 2000, ROUNDS = 5, SWEEP_SAMPLES = 200, SEED = 1 };

static double
now(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + (double)t.tv_nsec * 1e-9;
}

static void
die(const char *what)
{
    fprintf(stderr, "bench_sample: %s\n", what);
    exit(2);
}

/* The baseline stream: what sample_bind started per sample before. */
static void
mt_stream(gmp_randstate_t rng, unsigned long seed, unsigned long index)
{
    gmp_randinit_default(rng);
    mpz_t s;
    mpz_init_set_ui(s, seed);
    mpz_mul_2exp(s, s, 64);
    mpz_add_ui(s, s, index);
    gmp_randseed(rng, s);
    mpz_clear(s);
}

typedef void (*stream_start)(gmp_randstate_t rng, unsigned long seed, unsigned long index);

/* Seconds for BINDS samples of M drawn from streams START starts. */
static double
run_binds(const model *m, stream_start start, long binds)
{
    char why[256];
    double t0 = now();
    for (long i = 0; i < binds; i++) {
        mem_pool *pool = mem_pool_new();
        evaluator *ex = eval_new(pool, NUMBER_EXACT, 0);
        sample_spec spec = {.seed = SEED, .index = (unsigned long)i, .bits = ROUNDOFF_SAMPLE_BITS};
        gmp_randstate_t rng;
        start(rng, spec.seed, spec.index);
        if (!sample_bind_stream(ex, rng, pool, m, &spec, why, sizeof why))
            die(why);
        gmp_randclear(rng);
        eval_free(ex);
        mem_pool_free(pool);
    }
    return now() - t0;
}

static double
run_sweep(const derivation *d, const rule_set *rs, mem_pool *pool)
{
    roundoff_request rq = {.seed = SEED,
                         .samples = SWEEP_SAMPLES,
                         .regimes = 1u << ROUNDOFF_TYPICAL,
                         .threads = 1,
                         .model_name = "sigmoid",
                         .rules = rs};
    dc_error err;
    double t0 = now();
    roundoff_result *res = roundoff_sweep(d, &rq, &err, pool);
    double t = now() - t0;
    if (res == NULL)
        die(err.formatted);
    if (res->tables[0].samples != SWEEP_SAMPLES)
        die("the sweep measured another number of samples");
    return t;
}

/* The built-in model NAME of RULES_DIR, read whole. */
static model *
load_builtin(const char *rules_dir, const char *name, mem_pool *pool)
{
    char path[4096];
    snprintf(path, sizeof path, "%s/models/%s.dc", rules_dir, name);
    FILE *f = fopen(path, "rb");
    if (f == NULL)
        die("cannot open the sigmoid model under RULES_DIR/models");
    static char text[1 << 16];
    size_t n = fread(text, 1, sizeof text - 1, f);
    fclose(f);
    text[n] = '\0';
    source src = {"sigmoid.dc", text, n};
    dc_error err;
    model *m = parse_model(&src, &err, pool);
    if (m == NULL)
        die(err.formatted);
    return m;
}

int
main(int argc, char **argv)
{
    if (argc < 2)
        die("usage: bench_sample RULES_DIR [binds]");
    long binds = argc > 2 ? atol(argv[2]) : BINDS;
    if (binds < 1)
        die("binds must be positive");
    mem_pool *pool = mem_pool_new();
    model *m = load_builtin(argv[1], "sigmoid", pool);
    dc_error err;
    rule_set *rs = rules_load(argv[1], &err, pool);
    derivation *d = rs != NULL ? derive(m, rs, NULL, &err, pool) : NULL;
    if (d == NULL)
        die(err.formatted);

    printf("W3: sample_bind of the sigmoid model (n_x=2, n_h=4, m=8, k/2^%d), %ld binds, best "
           "of %d rounds\n",
           ROUNDOFF_SAMPLE_BITS, binds, ROUNDS);
    double best_mt = 0, best_lc = 0;
    for (int r = 0; r < ROUNDS; r++) {
        double mt = run_binds(m, mt_stream, binds);
        double lc = run_binds(m, sample_stream_init, binds);
        if (r == 0 || mt < best_mt)
            best_mt = mt;
        if (r == 0 || lc < best_lc)
            best_lc = lc;
    }
    double per_mt = best_mt / (double)binds, per_lc = best_lc / (double)binds;
    printf("%-44s %12s %10s\n", "", "us/bind", "ratio");
    printf("%-44s %12.2f %10s\n", "before: Mersenne Twister seeded per sample", per_mt * 1e6,
           "1.00");
    printf("%-44s %12.2f %9.2fx\n", "after: LC 128, splitmix64-mixed seed", per_lc * 1e6,
           per_lc / per_mt);
    printf("sample_bind speedup: %.1fx\n\n", per_mt / per_lc);

    double sweep = run_sweep(d, rs, pool);
    double before = sweep + SWEEP_SAMPLES * (per_mt - per_lc);
    printf("roundoff_sweep, sigmoid, regime typical, %d samples, 1 thread\n", SWEEP_SAMPLES);
    printf("%-44s %12s %10s\n", "", "seconds", "ratio");
    printf("%-44s %12.3f %10s\n", "before (estimated: + 200 x bind difference)", before, "1.00");
    printf("%-44s %12.3f %9.2fx\n", "after (measured)", sweep, sweep / before);
    model_free(m);
    mem_pool_free(pool);
    return 0;
}
