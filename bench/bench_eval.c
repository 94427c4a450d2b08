/* bench_eval.c: workload W1, derivcheck's evaluation against a hand-written MPFR loop.
 *
 * W1: the full gradient (dW1, db1, dW2, db2) of the sigmoid model with
 * n_x = 4, n_h = 16, n_y = 1 at 256 bits, for m = 1000 and m = 100000.
 * The baseline computes the same numbers with plain nested MPFR loops, as a
 * careful person would without derivcheck. Each side runs in its own child
 * process, so that its time and peak memory (getrusage) are its own; then
 * both run here once more and must agree to every bit.
 *
 * Usage: bench_eval RULES_DIR [m ...]
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "sym/derive.h"
#include "num/eval.h"
#include "lang/parse.h"
#include "sym/rules.h"

enum { NX = 4, NH = 16, NY = 1, PREC = 256 };

/* The inputs of one run, as doubles drawn from a fixed seed (exactly
   representable, so both sides start from the same numbers). */
typedef struct inputs {
    long m;
    double *X, *Y, *W1, *b1, *W2, *b2;
} inputs;

static double
uniform(unsigned long long *state)
{
    *state = *state * 6364136223846793005ULL + 1442695040888963407ULL;
    return (double)(*state >> 11) / 9007199254740992.0 * 2 - 1;
}

static inputs
make_inputs(long m)
{
    inputs in = {m,
                 malloc(sizeof(double) * NX * m),
                 malloc(sizeof(double) * NY * m),
                 malloc(sizeof(double) * NH * NX),
                 malloc(sizeof(double) * NH),
                 malloc(sizeof(double) * NY * NH),
                 malloc(sizeof(double) * NY)};
    unsigned long long s = 42;
    for (long i = 0; i < NX * m; i++)
        in.X[i] = uniform(&s);
    for (long i = 0; i < NY * m; i++)
        in.Y[i] = uniform(&s) > 0;
    for (long i = 0; i < NH * NX; i++)
        in.W1[i] = uniform(&s);
    for (long i = 0; i < NH; i++)
        in.b1[i] = uniform(&s);
    for (long i = 0; i < NY * NH; i++)
        in.W2[i] = uniform(&s);
    for (long i = 0; i < NY; i++)
        in.b2[i] = uniform(&s);
    return in;
}

enum { NGRAD = NH * NX + NH + NY * NH + NY };

/* The four gradients, row-major: dW1 (NH x NX), db1 (NH), dW2 (NY x NH), db2 (NY). */
typedef struct gradients {
    mpfr_t g[NGRAD];
} gradients;

/* ---- the baseline: plain loops ---- */

/* The course's formulas, loop by loop, in the order they are written:
   Z = W @ X + b (each sum starting from its first product), A2 =
   1 / (1 + exp(-Z2)), dZ2 = A2 - Y, dW2 = (1/m * dZ2) @ A1.T,
   db2 = 1/m * sum(dZ2), dZ1 = (W2.T @ dZ2) * (1 - A1^2), and so on. */
static void
affine(mpfr_ptr out, const double *w, long n, mpfr_t *const *x, long j, double b, mpfr_ptr t)
{
    mpfr_mul_d(out, x[0][j], w[0], MPFR_RNDN);
    for (long k = 1; k < n; k++) {
        mpfr_mul_d(t, x[k][j], w[k], MPFR_RNDN);
        mpfr_add(out, out, t, MPFR_RNDN);
    }
    mpfr_add_d(out, out, b, MPFR_RNDN);
}

/* out[r][c] = sum_j (inv_m * d[r][j]) * x[c][j], and out[r][n] = inv_m * sum_j d[r][j]. */
static void
weight_gradient(mpfr_t *dw, mpfr_t *db, mpfr_t *d, long rows, mpfr_t *const *x, long n, long m,
                mpfr_srcptr inv_m)
{
    mpfr_t scaled, t, acc;
    mpfr_inits2(PREC, scaled, t, acc, (mpfr_ptr)0);
    for (long r = 0; r < rows; r++) {
        for (long c = 0; c < n; c++) {
            for (long j = 0; j < m; j++) {
                mpfr_mul(scaled, inv_m, d[r * m + j], MPFR_RNDN);
                mpfr_mul(j == 0 ? acc : t, scaled, x[c][j], MPFR_RNDN);
                if (j > 0)
                    mpfr_add(acc, acc, t, MPFR_RNDN);
            }
            mpfr_set(dw[r * n + c], acc, MPFR_RNDN);
        }
        mpfr_set(acc, d[r * m], MPFR_RNDN);
        for (long j = 1; j < m; j++)
            mpfr_add(acc, acc, d[r * m + j], MPFR_RNDN);
        mpfr_mul(db[r], inv_m, acc, MPFR_RNDN);
    }
    mpfr_clears(scaled, t, acc, (mpfr_ptr)0);
}

static void
baseline(const inputs *in, gradients *out)
{
    long m = in->m;
    mpfr_t *X = malloc(sizeof(mpfr_t) * NX * m), *A1 = malloc(sizeof(mpfr_t) * NH * m);
    mpfr_t *dZ2 = malloc(sizeof(mpfr_t) * NY * m), *dZ1 = malloc(sizeof(mpfr_t) * NH * m);
    mpfr_t *xrow[NX], *arow[NH];
    mpfr_t t, inv_m;
    mpfr_inits2(PREC, t, inv_m, (mpfr_ptr)0);
    mpfr_set_ui(inv_m, 1, MPFR_RNDN);
    mpfr_div_ui(inv_m, inv_m, (unsigned long)m, MPFR_RNDN);
    for (long i = 0; i < NX * m; i++) {
        mpfr_init2(X[i], PREC);
        mpfr_set_d(X[i], in->X[i], MPFR_RNDN);
    }
    for (long k = 0; k < NX; k++)
        xrow[k] = X + k * m;
    for (long h = 0; h < NH; h++) {
        arow[h] = A1 + h * m;
        for (long j = 0; j < m; j++) { /* A1 = tanh(W1 @ X + b1) */
            mpfr_init2(A1[h * m + j], PREC);
            affine(A1[h * m + j], in->W1 + h * NX, NX, xrow, j, in->b1[h], t);
            mpfr_tanh(A1[h * m + j], A1[h * m + j], MPFR_RNDN);
        }
    }
    for (long y = 0; y < NY; y++)
        for (long j = 0; j < m; j++) { /* dZ2 = 1 / (1 + exp(-(W2 @ A1 + b2))) - Y */
            mpfr_ptr z = dZ2[y * m + j];
            mpfr_init2(z, PREC);
            affine(z, in->W2 + y * NH, NH, arow, j, in->b2[y], t);
            mpfr_neg(z, z, MPFR_RNDN);
            mpfr_exp(z, z, MPFR_RNDN);
            mpfr_add_ui(z, z, 1, MPFR_RNDN);
            mpfr_ui_div(z, 1, z, MPFR_RNDN);
            mpfr_sub_d(z, z, in->Y[y * m + j], MPFR_RNDN);
        }
    for (long h = 0; h < NH; h++)
        for (long j = 0; j < m; j++) { /* dZ1 = (W2.T @ dZ2) * (1 - A1^2) */
            mpfr_ptr z = dZ1[h * m + j];
            mpfr_init2(z, PREC);
            mpfr_mul_d(z, dZ2[j], in->W2[h], MPFR_RNDN);
            for (long y = 1; y < NY; y++) {
                mpfr_mul_d(t, dZ2[y * m + j], in->W2[y * NH + h], MPFR_RNDN);
                mpfr_add(z, z, t, MPFR_RNDN);
            }
            mpfr_sqr(t, A1[h * m + j], MPFR_RNDN);
            mpfr_ui_sub(t, 1, t, MPFR_RNDN);
            mpfr_mul(z, z, t, MPFR_RNDN);
        }
    mpfr_t *g = out->g;
    weight_gradient(g, g + NH * NX, dZ1, NH, xrow, NX, m, inv_m);
    weight_gradient(g + NH * NX + NH, g + NGRAD - NY, dZ2, NY, arow, NH, m, inv_m);
    for (long i = 0; i < NH * m; i++)
        mpfr_clears(A1[i], dZ1[i], (mpfr_ptr)0);
    for (long i = 0; i < NY * m; i++)
        mpfr_clear(dZ2[i]);
    for (long i = 0; i < NX * m; i++)
        mpfr_clear(X[i]);
    free(X);
    free(A1);
    free(dZ1);
    free(dZ2);
    mpfr_clears(t, inv_m, (mpfr_ptr)0);
}

/* ---- derivcheck: parse, derive, evaluate the course's formulas ---- */

static const char *rules_dir;

static value *
matrix(evaluator *ev, long rows, long cols, const double *x)
{
    value *v = eval_new_value(ev, 2, rows, cols);
    for (long i = 0; i < rows; i++)
        for (long j = 0; j < cols; j++)
            mpfr_set_d(*eval_fr(v, i, j), x[i * cols + j], MPFR_RNDN);
    return v;
}

static void
with_derivcheck(const inputs *in, gradients *out)
{
    mem_pool *pool = mem_pool_new();
    dc_error err;
    rule_set *rs = rules_load(rules_dir, &err, pool);
    char textp[1024];
    snprintf(
        textp, sizeof textp,
        "dims n_x = %d, n_h = %d, n_y = %d\nbatch m = %ld\ninput X[n_x, m]\n"
        "label Y[n_y, m] binary\nparam W1[n_h, n_x], b1[n_h, 1]\nparam W2[n_y, n_h], b2[n_y, 1]\n"
        "Z1 = W1 @ X + b1\nA1 = tanh(Z1)\nZ2 = W2 @ A1 + b2\nA2 = sigmoid(Z2)\n"
        "loss J = -1/m * sum(Y * log(A2) + (1 - Y) * log(1 - A2))\n",
        NX, NH, NY, in->m);
    source src = {"w1.dc", textp, strlen(textp)};
    model *m = parse_model(&src, &err, pool);
    derivation *d = m != NULL && rs != NULL ? derive(m, rs, NULL, &err, pool) : NULL;
    if (d == NULL) {
        fprintf(stderr, "bench_eval: %s", err.formatted);
        exit(2);
    }
    evaluator *ev = eval_new(pool, NUMBER_MPFR, PREC);
    const char *names[] = {"X", "Y", "W1", "b1", "W2", "b2"};
    const double *data[] = {in->X, in->Y, in->W1, in->b1, in->W2, in->b2};
    long rows[] = {NX, NY, NH, NH, NY, NY}, cols[] = {in->m, in->m, NX, 1, NH, 1};
    for (int i = 0; i < 6; i++)
        eval_bind(ev, model_lookup(m, names[i], strlen(names[i])),
                  matrix(ev, rows[i], cols[i], data[i]));
    const char *params[] = {"W1", "b1", "W2", "b2"};
    long at = 0;
    for (int i = 0; i < 4; i++) {
        const gradient *g = derive_find(d, model_lookup(m, params[i], strlen(params[i])));
        const value *v;
        char why[256];
        if (!eval_term(ev, derive_pretty(d, g, CONVENTION_DEFERRED), &v, why, sizeof why)) {
            fprintf(stderr, "bench_eval: %s\n", why);
            exit(2);
        }
        for (long r = 0; r < v->rows; r++)
            for (long c = 0; c < v->cols; c++)
                mpfr_set(out->g[at++], *eval_fr(v, r, c), MPFR_RNDN);
    }
    eval_free(ev);
    model_free(m);
    rules_free(rs);
    mem_pool_free(pool);
}

/* ---- measuring ---- */

typedef struct measure {
    double seconds;
    long max_rss_kb;
} measure;

/* Run SIDE in a child process; its wall time and peak memory. */
static measure
in_child(void (*side)(const inputs *, gradients *), const inputs *in)
{
    struct timespec a, b;
    clock_gettime(CLOCK_MONOTONIC, &a);
    pid_t pid = fork();
    if (pid == 0) {
        gradients *g = malloc(sizeof *g);
        for (int i = 0; i < NGRAD; i++)
            mpfr_init2(g->g[i], PREC);
        side(in, g);
        _exit(0);
    }
    int status;
    struct rusage ru;
    wait4(pid, &status, 0, &ru);
    clock_gettime(CLOCK_MONOTONIC, &b);
    if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
        fprintf(stderr, "bench_eval: a side failed\n");
        exit(2);
    }
    measure r = {(b.tv_sec - a.tv_sec) + (b.tv_nsec - a.tv_nsec) / 1e9, ru.ru_maxrss};
    return r;
}

int
main(int argc, char **argv)
{
    if (argc < 2) {
        fprintf(stderr, "usage: bench_eval RULES_DIR [m ...]\n");
        return 2;
    }
    rules_dir = argv[1];
    long sizes[8] = {1000, 100000};
    int nsizes = 2;
    if (argc > 2) {
        nsizes = 0;
        for (int i = 2; i < argc && nsizes < 8; i++)
            sizes[nsizes++] = atol(argv[i]);
    }
    printf("W1: dW1, db1, dW2, db2 of the sigmoid model, n_x=%d n_h=%d n_y=%d, %d bits\n", NX, NH,
           NY, PREC);
    printf("%8s %12s %12s %7s %12s %12s %7s %s\n", "m", "loop s", "derivcheck s", "time x",
           "loop KiB", "derivchk KiB", "mem x", "agree");
    for (int k = 0; k < nsizes; k++) {
        inputs in = make_inputs(sizes[k]);
        measure base = in_child(baseline, &in), dc = in_child(with_derivcheck, &in);
        gradients *a = malloc(sizeof *a), *b = malloc(sizeof *b);
        for (int i = 0; i < NGRAD; i++)
            mpfr_inits2(PREC, a->g[i], b->g[i], (mpfr_ptr)0);
        baseline(&in, a);
        with_derivcheck(&in, b);
        int same = 1;
        for (int i = 0; i < NGRAD; i++)
            same &= mpfr_equal_p(a->g[i], b->g[i]);
        printf("%8ld %12.3f %12.3f %7.2f %12ld %12ld %7.2f %s\n", sizes[k], base.seconds,
               dc.seconds, dc.seconds / base.seconds, base.max_rss_kb, dc.max_rss_kb,
               (double)dc.max_rss_kb / base.max_rss_kb, same ? "all 256 bits" : "NO");
        for (int i = 0; i < NGRAD; i++)
            mpfr_clears(a->g[i], b->g[i], (mpfr_ptr)0);
        free(a);
        free(b);
    }
    printf("targets: time x <= 1.25, mem x <= 1.5\n");
    return 0;
}
