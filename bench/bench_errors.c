/* bench_errors.c: workload W2, derivcheck's certified error sweep against a fixed-256-bit loop.
 *
 * W2: 1000 samples of the sigmoid model with n_x = 4, n_h = 16, m = 64,
 * regime typical. The baseline does the same the plain way: for each sample
 * (drawn by the same sampler, so both see the same numbers) it evaluates the
 * formulations in double and each reference once in MPFR at a fixed 256
 * bits with the library's evaluator, and counts the bits of error; no
 * precision ladder, nothing certified. derivcheck runs roundoff_sweep (every
 * reference proved correctly rounded by interval arithmetic, raised in
 * precision until it is) with 1 and 2 threads, and the machine's own
 * 2-thread speedup on plain MPFR work is measured in the same run, since a
 * shared machine may not give a second core.
 *
 * The baseline evaluates the formulations it can name from the derivation
 * (the loss as written, deferred and absorbed for every param: 9 of the
 * sweep's 14); the sweep also measures the naive chain and the softplus
 * loss. The baseline so does less work than derivcheck: the ratio is, if
 * anything, unfavourable to derivcheck.
 *
 * Usage: bench_errors RULES_DIR [samples]
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "sym/derive.h"
#include "cmd/roundoff.h"
#include "num/eval.h"
#include "lang/parse.h"
#include "sym/rules.h"
#include "num/sample.h"
#include "num/ulps.h"

enum { NX = 4, NH = 16, M = 64, PREC = 256, SAMPLES = 1000, SEED = 1 };

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
    fprintf(stderr, "bench_errors: %s\n", what);
    exit(2);
}

typedef struct setup {
    mem_pool *pool;
    model *m;
    const rule_set *rs;
    derivation *d;
    const symbol *drawn[16];
    const term *drawn_t[16];
    size_t ndrawn;
    const term *ref[8];   /* per quantity: what the reference evaluates */
    const term *form[24]; /* the formulations */
    size_t form_q[24];    /* the quantity each computes */
    size_t nq, nf;
} setup;

static setup
make_setup(const char *rules_dir)
{
    setup s = {0};
    s.pool = mem_pool_new();
    dc_error err;
    rule_set *rs = rules_load(rules_dir, &err, s.pool);
    s.rs = rs;
    static char textp[1024];
    snprintf(textp, sizeof textp,
             "dims n_x = %d, n_h = %d, n_y = 1\nbatch m = %d\ninput X[n_x, m]\n"
             "label Y[n_y, m] binary\nparam W1[n_h, n_x], b1[n_h, 1]\nparam W2[n_y, n_h], "
             "b2[n_y, 1]\nZ1 = W1 @ X + b1\nA1 = tanh(Z1)\nZ2 = W2 @ A1 + b2\nA2 = sigmoid(Z2)\n"
             "loss J = -1/m * sum(Y * log(A2) + (1 - Y) * log(1 - A2))\n",
             NX, NH, M);
    source src = {"w2.dc", textp, strlen(textp)};
    s.m = parse_model(&src, &err, s.pool);
    s.d = s.m != NULL && rs != NULL ? derive(s.m, rs, NULL, &err, s.pool) : NULL;
    if (s.d == NULL)
        die(err.formatted);
    for (size_t i = 0; i < s.m->nsymbols; i++) {
        const symbol *sym = s.m->symbols[i];
        if (sym->kind == SYM_INPUT || sym->kind == SYM_LABEL || sym->kind == SYM_PARAM) {
            s.drawn[s.ndrawn] = sym;
            s.drawn_t[s.ndrawn++] = term_symbol(s.m->terms, sym);
        }
    }
    const term *loss = term_symbol(s.m->terms, s.m->loss);
    s.ref[s.nq] = loss;
    s.form[s.nf] = loss;
    s.form_q[s.nf++] = s.nq++;
    for (size_t i = 0; i < s.d->n; i++) {
        const gradient *g = &s.d->g[i];
        if (g->of->kind != SYM_PARAM)
            continue;
        const term *def = derive_pretty(s.d, g, CONVENTION_DEFERRED);
        const term *abs_ = derive_pretty(s.d, g, CONVENTION_ABSORBED);
        s.ref[s.nq] = abs_;
        s.form[s.nf] = def;
        s.form_q[s.nf++] = s.nq;
        s.form[s.nf] = abs_;
        s.form_q[s.nf++] = s.nq++;
    }
    return s;
}

static void
bind_all(const setup *s, evaluator *from, evaluator *to)
{
    char why[256];
    for (size_t k = 0; k < s->ndrawn; k++) {
        const value *v;
        if (!eval_term(from, s->drawn_t[k], &v, why, sizeof why))
            die(why);
        eval_bind(to, s->drawn[k], v);
    }
}

/* The plain way: one sample, references at a fixed 256 bits. Returns the
   sum of bits of error (so that the work cannot be optimised away). */
static double
baseline_sample(const setup *s, long index)
{
    mem_pool *pool = mem_pool_new();
    char why[256];
    evaluator *ex = eval_new(pool, NUMBER_EXACT, 0);
    sample_spec spec = {.seed = SEED, .index = (unsigned long)index, .bits = ROUNDOFF_SAMPLE_BITS};
    if (!sample_bind(ex, pool, s->m, &spec, why, sizeof why))
        die(why);
    evaluator *hi = eval_new(pool, NUMBER_MPFR, PREC);
    evaluator *dv = eval_new(pool, NUMBER_DOUBLE, 0);
    bind_all(s, ex, hi);
    bind_all(s, ex, dv);
    const value *ref[8];
    for (size_t q = 0; q < s->nq; q++)
        if (!eval_term(hi, s->ref[q], &ref[q], why, sizeof why))
            die(why);
    double total = 0;
    for (size_t k = 0; k < s->nf; k++) {
        const value *v, *r = ref[s->form_q[k]];
        if (!eval_term(dv, s->form[k], &v, why, sizeof why))
            die(why);
        for (long i = 0; i < v->rows; i++)
            for (long j = 0; j < v->cols; j++)
                total += ulps_bits(*eval_d(v, i, j), mpfr_get_d(*eval_fr(r, i, j), MPFR_RNDN));
    }
    eval_free(dv);
    eval_free(hi);
    eval_free(ex);
    mpfr_free_cache();
    mem_pool_free(pool);
    return total;
}

static double
run_baseline(const setup *s, long samples)
{
    double t0 = now(), sink = 0;
    for (long i = 0; i < samples; i++)
        sink += baseline_sample(s, i);
    double t = now() - t0;
    if (sink < 0)
        printf("%g\n", sink);
    return t;
}

static double
run_sweep(const setup *s, long samples, int threads)
{
    roundoff_request rq = {.seed = SEED,
                         .samples = samples,
                         .regimes = 1u << ROUNDOFF_TYPICAL,
                         .threads = threads,
                         .model_name = "w2.dc",
                         .rules = s->rs};
    dc_error err;
    double t0 = now();
    roundoff_result *res = roundoff_sweep(s->d, &rq, &err, s->pool);
    double t = now() - t0;
    if (res == NULL)
        die(err.formatted);
    if (res->tables[0].samples != samples)
        die("the sweep measured another number of samples");
    return t;
}

/* The machine's own 2-thread speedup in this run: the same MPFR work (exp
   of distinct numbers at 256 bits, nothing shared) done by one thread and
   then split over two. On a shared machine another process can hold a core,
   and the sweep's speedup is only meaningful next to this one. */
static double
machine_speedup(long work)
{
    double t[2];
    for (int threads = 1; threads <= 2; threads++) {
        double t0 = now(), sink = 0;
#pragma omp parallel num_threads(threads) reduction(+ : sink)
        {
            mpfr_t x;
            mpfr_init2(x, PREC);
#pragma omp for schedule(static)
            for (long i = 0; i < work; i++) {
                mpfr_set_si(x, i % 1000 - 500, MPFR_RNDN);
                mpfr_div_ui(x, x, 97, MPFR_RNDN);
                mpfr_exp(x, x, MPFR_RNDN);
                sink += mpfr_get_d(x, MPFR_RNDN);
            }
            mpfr_clear(x);
        }
        t[threads - 1] = now() - t0;
        if (sink < 0)
            printf("%g\n", sink);
    }
    return t[0] / t[1];
}

int
main(int argc, char **argv)
{
    if (argc < 2)
        die("usage: bench_errors RULES_DIR [samples]");
    long samples = argc > 2 ? atol(argv[2]) : SAMPLES;
    if (samples < 1)
        die("samples must be positive");
    setup s = make_setup(argv[1]);
    printf("W2: %ld samples of the sigmoid model, n_x=%d n_h=%d m=%d, regime typical\n", samples,
           NX, NH, M);
    printf("baseline: %zu formulations in double, references in MPFR at a fixed %d bits (not "
           "certified)\n",
           s.nf, PREC);
    printf("derivcheck: roundoff_sweep, every reference certified on the precision ladder\n\n");
    double tb = run_baseline(&s, samples);
    double t1 = run_sweep(&s, samples, 1);
    double t2 = run_sweep(&s, samples, 2);
    double machine = machine_speedup(200 * samples);
    printf("%-34s %10s %12s %10s\n", "", "seconds", "samples/s", "ratio");
    printf("%-34s %10.3f %12.1f %10s\n", "baseline (fixed 256 bits, 1 thread)", tb,
           (double)samples / tb, "1.00");
    printf("%-34s %10.3f %12.1f %9.2fx\n", "derivcheck error (certified, -j 1)", t1,
           (double)samples / t1, t1 / tb);
    printf("%-34s %10.3f %12.1f %9.2fx\n", "derivcheck error (certified, -j 2)", t2,
           (double)samples / t2, t2 / tb);
    printf("\nratio = time / baseline time (target: -j 1 at most 1.50x)\n");
    printf("speedup of -j 2 over -j 1: %.2fx (target: near 2x)\n", t1 / t2);
    printf("the machine's own 2-thread speedup in this run (MPFR exp, nothing shared): %.2fx\n",
           machine);
    printf("-j 2 efficiency against the machine: %.0f%%\n", 100 * (t1 / t2) / machine);
    return 0;
}
