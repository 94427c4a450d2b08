/* bench_proved.c: workload W1 certified: derivcheck's proved gradients (Arb balls) against hand-written Arb and MPFR loops.
 *
 * W1: the full gradient (dW1, db1, dW2, db2) of the sigmoid model with
 * n_x = 4, n_h = 16, n_y = 1 at 256 bits, for m = 1000 and m = 100000, as
 * eval computes it for its proved digits: every number an Arb ball that
 * encloses the exact value, then the digits both ends of each gradient
 * entry agree on. The peers are hand-written loops over the same
 * operations and inputs: one in Arb (arb_dot for every sum of products,
 * arb_tanh, arb_exp: enclosures too), one in MPFR (round to nearest,
 * nothing proved). Each side runs in its own child process, so that its
 * CPU time and peak memory (getrusage) are its own; then the three run
 * here once more and must agree: derivcheck's balls overlap the Arb loop's
 * and lie within 2^-240 of the MPFR loop's numbers.
 *
 * Usage: bench_proved RULES_DIR [m ...]
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include "lang/parse.h"
#include "num/eval.h"
#include "sym/derive.h"
#include "sym/rules.h"

enum { NX = 4, NH = 16, NY = 1, PREC = 256 };
enum { NGRAD = NH * NX + NH + NY * NH + NY };

/* The inputs of one run: doubles drawn from a fixed seed, exact in every
   side's numbers. */
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

static double *
draw(unsigned long long *s, long n, int binary)
{
    double *x = malloc(sizeof *x * (size_t)n);
    for (long i = 0; i < n; i++)
        x[i] = binary ? uniform(s) > 0 : uniform(s);
    return x;
}

static inputs
make_inputs(long m)
{
    unsigned long long s = 42;
    inputs in = {m, NULL, NULL, NULL, NULL, NULL, NULL};
    in.X = draw(&s, NX * m, 0);
    in.Y = draw(&s, NY * m, 1);
    in.W1 = draw(&s, NH * NX, 0);
    in.b1 = draw(&s, NH, 0);
    in.W2 = draw(&s, NY * NH, 0);
    in.b2 = draw(&s, NY, 0);
    return in;
}

/* The gradients, row-major: dW1 (NH x NX), db1 (NH), dW2 (NY x NH), db2
   (NY); balls for the Arb sides, MPFR numbers in MID for the MPFR loop. */
typedef struct gradients {
    arb_struct g[NGRAD];
    mpfr_t mid[NGRAD];
} gradients;

/* ---- the MPFR loop ---- */

/* out = w . x[:, j] + b: products added left to right. */
static void
fr_affine(mpfr_ptr out, const double *w, long n, mpfr_t *x, long m, long j, double b, mpfr_ptr t)
{
    mpfr_mul_d(out, x[j], w[0], MPFR_RNDN);
    for (long k = 1; k < n; k++) {
        mpfr_mul_d(t, x[k * m + j], w[k], MPFR_RNDN);
        mpfr_add(out, out, t, MPFR_RNDN);
    }
    mpfr_add_d(out, out, b, MPFR_RNDN);
}

/* dw[r][c] = sum_j (inv_m d[r][j]) x[c][j], db[r] = inv_m sum_j d[r][j]. */
static void
fr_weight_gradient(mpfr_t *dw, mpfr_t *db, mpfr_t *d, long rows, mpfr_t *x, long n, long m,
                   mpfr_srcptr inv_m)
{
    mpfr_t scaled, t;
    mpfr_inits2(PREC, scaled, t, (mpfr_ptr)0);
    for (long r = 0; r < rows; r++) {
        for (long c = 0; c < n; c++)
            for (long j = 0; j < m; j++) {
                mpfr_mul(scaled, inv_m, d[r * m + j], MPFR_RNDN);
                mpfr_mul(j == 0 ? dw[r * n + c] : t, scaled, x[c * m + j], MPFR_RNDN);
                if (j > 0)
                    mpfr_add(dw[r * n + c], dw[r * n + c], t, MPFR_RNDN);
            }
        mpfr_set(db[r], d[r * m], MPFR_RNDN);
        for (long j = 1; j < m; j++)
            mpfr_add(db[r], db[r], d[r * m + j], MPFR_RNDN);
        mpfr_mul(db[r], inv_m, db[r], MPFR_RNDN);
    }
    mpfr_clears(scaled, t, (mpfr_ptr)0);
}

static mpfr_t *
fr_vec(long n)
{
    mpfr_t *v = malloc(sizeof *v * (size_t)n);
    for (long i = 0; i < n; i++)
        mpfr_init2(v[i], PREC);
    return v;
}

static void
fr_vec_free(mpfr_t *v, long n)
{
    for (long i = 0; i < n; i++)
        mpfr_clear(v[i]);
    free(v);
}

static void
mpfr_loop(const inputs *in, gradients *out)
{
    long m = in->m;
    mpfr_t *X = fr_vec(NX * m), *A1 = fr_vec(NH * m), *dZ2 = fr_vec(NY * m), *dZ1 = fr_vec(NH * m);
    mpfr_t t, inv_m;
    mpfr_inits2(PREC, t, inv_m, (mpfr_ptr)0);
    mpfr_set_ui(inv_m, 1, MPFR_RNDN);
    mpfr_div_ui(inv_m, inv_m, (unsigned long)m, MPFR_RNDN);
    for (long i = 0; i < NX * m; i++)
        mpfr_set_d(X[i], in->X[i], MPFR_RNDN);
    for (long h = 0; h < NH; h++)
        for (long j = 0; j < m; j++) { /* A1 = tanh(W1 @ X + b1) */
            fr_affine(A1[h * m + j], in->W1 + h * NX, NX, X, m, j, in->b1[h], t);
            mpfr_tanh(A1[h * m + j], A1[h * m + j], MPFR_RNDN);
        }
    for (long j = 0; j < m; j++) { /* dZ2 = 1 / (1 + exp(-(W2 @ A1 + b2))) - Y */
        mpfr_ptr z = dZ2[j];
        fr_affine(z, in->W2, NH, A1, m, j, in->b2[0], t);
        mpfr_neg(z, z, MPFR_RNDN);
        mpfr_exp(z, z, MPFR_RNDN);
        mpfr_add_ui(z, z, 1, MPFR_RNDN);
        mpfr_ui_div(z, 1, z, MPFR_RNDN);
        mpfr_sub_d(z, z, in->Y[j], MPFR_RNDN);
    }
    for (long h = 0; h < NH; h++)
        for (long j = 0; j < m; j++) { /* dZ1 = (W2.T @ dZ2) * (1 - A1^2) */
            mpfr_mul_d(dZ1[h * m + j], dZ2[j], in->W2[h], MPFR_RNDN);
            mpfr_sqr(t, A1[h * m + j], MPFR_RNDN);
            mpfr_ui_sub(t, 1, t, MPFR_RNDN);
            mpfr_mul(dZ1[h * m + j], dZ1[h * m + j], t, MPFR_RNDN);
        }
    mpfr_t *g = out->mid;
    fr_weight_gradient(g, g + NH * NX, dZ1, NH, X, NX, m, inv_m);
    fr_weight_gradient(g + NH * NX + NH, g + NGRAD - NY, dZ2, NY, A1, NH, m, inv_m);
    fr_vec_free(X, NX * m);
    fr_vec_free(A1, NH * m);
    fr_vec_free(dZ2, NY * m);
    fr_vec_free(dZ1, NH * m);
    mpfr_clears(t, inv_m, (mpfr_ptr)0);
}

/* ---- the Arb loop: the same operations, every sum of products one arb_dot ---- */

static arb_ptr
arb_from(const double *x, long n)
{
    arb_ptr v = _arb_vec_init(n);
    for (long i = 0; i < n; i++)
        arb_set_d(v + i, x[i]);
    return v;
}

/* dw[r][c] = (inv_m d[r, :]) . x[c, :], db[r] = inv_m sum_j d[r][j]. */
static void
arb_weight_gradient(arb_ptr dw, arb_ptr db, arb_srcptr d, long rows, arb_srcptr x, long n, long m,
                    const arb_t inv_m)
{
    arb_ptr scaled = _arb_vec_init(m);
    for (long r = 0; r < rows; r++) {
        for (long j = 0; j < m; j++)
            arb_mul(scaled + j, inv_m, d + r * m + j, PREC);
        for (long c = 0; c < n; c++)
            arb_dot(dw + r * n + c, NULL, 0, scaled, 1, x + c * m, 1, m, PREC);
        arb_set(db + r, d + r * m);
        for (long j = 1; j < m; j++)
            arb_add(db + r, db + r, d + r * m + j, PREC);
        arb_mul(db + r, inv_m, db + r, PREC);
    }
    _arb_vec_clear(scaled, m);
}

static void
arb_loop(const inputs *in, gradients *out)
{
    long m = in->m;
    arb_ptr X = arb_from(in->X, NX * m), W1 = arb_from(in->W1, NH * NX);
    arb_ptr b1 = arb_from(in->b1, NH), W2 = arb_from(in->W2, NY * NH), b2 = arb_from(in->b2, NY);
    arb_ptr A1 = _arb_vec_init(NH * m), dZ2 = _arb_vec_init(NY * m), dZ1 = _arb_vec_init(NH * m);
    arb_t t, inv_m;
    arb_init(t);
    arb_init(inv_m);
    arb_set_si(inv_m, 1);
    arb_div_si(inv_m, inv_m, m, PREC);
    for (long h = 0; h < NH; h++)
        for (long j = 0; j < m; j++) { /* A1 = tanh(W1 @ X + b1) */
            arb_ptr a = A1 + h * m + j;
            arb_dot(a, b1 + h, 0, W1 + h * NX, 1, X + j, m, NX, PREC);
            arb_tanh(a, a, PREC);
        }
    for (long j = 0; j < m; j++) { /* dZ2 = 1 / (1 + exp(-(W2 @ A1 + b2))) - Y */
        arb_ptr z = dZ2 + j;
        arb_dot(z, b2, 0, W2, 1, A1 + j, m, NH, PREC);
        arb_neg(z, z);
        arb_exp(z, z, PREC);
        arb_add_si(z, z, 1, PREC);
        arb_inv(z, z, PREC);
        arb_sub_si(z, z, (slong)in->Y[j], PREC);
    }
    for (long h = 0; h < NH; h++)
        for (long j = 0; j < m; j++) { /* dZ1 = (W2.T @ dZ2) * (1 - A1^2) */
            arb_ptr z = dZ1 + h * m + j;
            arb_mul(z, dZ2 + j, W2 + h, PREC);
            arb_sqr(t, A1 + h * m + j, PREC);
            arb_sub_si(t, t, 1, PREC);
            arb_neg(t, t);
            arb_mul(z, z, t, PREC);
        }
    arb_weight_gradient(out->g, out->g + NH * NX, dZ1, NH, X, NX, m, inv_m);
    arb_weight_gradient(out->g + NH * NX + NH, out->g + NGRAD - NY, dZ2, NY, A1, NH, m, inv_m);
    _arb_vec_clear(X, NX * m);
    _arb_vec_clear(A1, NH * m);
    _arb_vec_clear(dZ1, NH * m);
    _arb_vec_clear(dZ2, NY * m);
    _arb_vec_clear(W1, NH * NX);
    _arb_vec_clear(b1, NH);
    _arb_vec_clear(W2, NY * NH);
    _arb_vec_clear(b2, NY);
    arb_clear(t);
    arb_clear(inv_m);
}

/* ---- derivcheck: parse, derive, evaluate in balls, proved digits ---- */

static const char *rules_dir;

static value *
matrix(evaluator *ev, long rows, long cols, const double *x)
{
    value *v = eval_new_value(ev, 2, rows, cols);
    for (long i = 0; i < rows; i++)
        for (long j = 0; j < cols; j++)
            arb_set_d(eval_ball(v, i, j), x[i * cols + j]);
    return v;
}

/* The digits both ends of X agree on, at most 77 (what eval prints); their
   count, so that the work is not optimised away. */
static long
proved_digits(arb_srcptr x)
{
    mpfr_t lo, hi;
    mpfr_inits2(PREC, lo, hi, (mpfr_ptr)0);
    char a[96], b[96];
    mpfr_exp_t ea, eb;
    long k = 77;
    if (ball_bounds(lo, hi, x))
        for (; k >= 1; k--) {
            mpfr_get_str(a, &ea, 10, (size_t)k, lo, MPFR_RNDN);
            mpfr_get_str(b, &eb, 10, (size_t)k, hi, MPFR_RNDN);
            if (ea == eb && strcmp(a, b) == 0)
                break;
        }
    mpfr_clears(lo, hi, (mpfr_ptr)0);
    return k;
}

static long digits_seen;

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
        fprintf(stderr, "bench_proved: %s", err.formatted);
        exit(2);
    }
    evaluator *ev = eval_new(pool, NUMBER_BALL, PREC);
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
            fprintf(stderr, "bench_proved: %s\n", why);
            exit(2);
        }
        for (long r = 0; r < v->rows; r++)
            for (long c = 0; c < v->cols; c++) {
                digits_seen += proved_digits(eval_ball(v, r, c));
                arb_set(out->g + at++, eval_ball(v, r, c));
            }
    }
    eval_free(ev);
    model_free(m);
    rules_free(rs);
    mem_pool_free(pool);
}

/* ---- measuring ---- */

typedef struct measure {
    double cpu;
    long max_rss_kb;
} measure;

static gradients *
gradients_new(void)
{
    gradients *g = malloc(sizeof *g);
    for (int i = 0; i < NGRAD; i++) {
        arb_init(g->g + i);
        mpfr_init2(g->mid[i], PREC);
    }
    return g;
}

/* Run SIDE in a child process; its CPU time (user + system) and peak memory. */
static measure
in_child(void (*side)(const inputs *, gradients *), const inputs *in)
{
    pid_t pid = fork();
    if (pid == 0) {
        side(in, gradients_new());
        _exit(0);
    }
    int status;
    struct rusage ru;
    wait4(pid, &status, 0, &ru);
    if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
        fprintf(stderr, "bench_proved: a side failed\n");
        exit(2);
    }
    double cpu = (double)ru.ru_utime.tv_sec + ru.ru_utime.tv_usec / 1e6 +
                 (double)ru.ru_stime.tv_sec + ru.ru_stime.tv_usec / 1e6;
    return (measure){cpu, ru.ru_maxrss};
}

/* Whether derivcheck's balls DC overlap the Arb loop's and lie within
   2^-240 (relative) of the MPFR loop's numbers. */
static int
agree(const gradients *dc, const gradients *ab, const gradients *fr)
{
    int ok = 1;
    arb_t slack;
    arb_init(slack);
    for (int i = 0; i < NGRAD; i++) {
        ok &= arb_overlaps(dc->g + i, ab->g + i);
        arb_set_arf(slack, arb_midref(dc->g + i));
        arb_add_error_2exp_si(slack, -240 + arf_abs_bound_lt_2exp_si(arb_midref(dc->g + i)));
        arb_add_error(slack, dc->g + i);
        arf_t x;
        arf_init(x);
        arf_set_mpfr(x, fr->mid[i]);
        ok &= arb_contains_arf(slack, x);
        arf_clear(x);
    }
    arb_clear(slack);
    return ok;
}

int
main(int argc, char **argv)
{
    if (argc < 2) {
        fprintf(stderr, "usage: bench_proved RULES_DIR [m ...]\n");
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
    printf("W1 proved: dW1, db1, dW2, db2 of the sigmoid model in balls, n_x=%d n_h=%d n_y=%d, "
           "%d bits; CPU s, peak RSS KiB\n",
           NX, NH, NY, PREC);
    printf("%7s %8s %8s %8s %7s %7s %9s %9s %9s %6s %s\n", "m", "dc s", "arb s", "mpfr s",
           "/arb", "/mpfr", "dc KiB", "arb KiB", "mpfr KiB", "/mpfr", "agree");
    for (int k = 0; k < nsizes; k++) {
        inputs in = make_inputs(sizes[k]);
        measure dc = in_child(with_derivcheck, &in), ab = in_child(arb_loop, &in),
                fr = in_child(mpfr_loop, &in);
        gradients *gd = gradients_new(), *ga = gradients_new(), *gf = gradients_new();
        with_derivcheck(&in, gd);
        arb_loop(&in, ga);
        mpfr_loop(&in, gf);
        printf("%7ld %8.3f %8.3f %8.3f %7.2f %7.2f %9ld %9ld %9ld %6.2f %s\n", sizes[k], dc.cpu,
               ab.cpu, fr.cpu, dc.cpu / ab.cpu, dc.cpu / fr.cpu, dc.max_rss_kb, ab.max_rss_kb,
               fr.max_rss_kb, (double)dc.max_rss_kb / fr.max_rss_kb,
               agree(gd, ga, gf) ? "yes" : "NO");
    }
    printf("targets: /arb <= 1.25, /mpfr <= 0.6 (time); /mpfr <= 1.5 (memory)\n");
    return digits_seen < 0;
}
