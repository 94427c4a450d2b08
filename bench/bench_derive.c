/* bench_derive.c: how long a derivation takes, in-process and as a whole command.
 *
 * Prints, for the built-in sigmoid model: the median time of parse + derive
 * in-process, the same with every dim a thousand times larger (symbolic work
 * must not depend on the numbers), and whole `derivcheck derive sigmoid`
 * processes against `derivcheck --version` processes started in the same
 * run (the cost of starting the program at all). Machines here are shared:
 * read the ratios, not the milliseconds.
 *
 * Usage: bench_derive RULES_DIR DERIVCHECK [RUNS]
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "sym/derive.h"
#include "lang/parse.h"
#include "sym/rules.h"

static double
now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

static int
compare_doubles(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

static double
median(double *t, int n)
{
    qsort(t, (size_t)n, sizeof *t, compare_doubles);
    return t[n / 2];
}

static char *
read_all(const char *path)
{
    FILE *f = fopen(path, "rb");
    if (f == NULL)
        return NULL;
    char *buf = malloc(1 << 20);
    size_t n = fread(buf, 1, (1 << 20) - 1, f);
    buf[n] = '\0';
    fclose(f);
    return buf;
}

/* Median milliseconds of parse + derive of TEXT over RUNS runs. */
static double
time_derive(const char *textp, const rule_set *rs, int runs)
{
    double *t = malloc((size_t)runs * sizeof *t);
    for (int i = 0; i < runs; i++) {
        mem_pool *pool = mem_pool_new();
        dc_error err;
        double start = now_ms();
        source src = {"sigmoid.dc", textp, strlen(textp)};
        model *m = parse_model(&src, &err, pool);
        derivation *d = m != NULL ? derive(m, rs, NULL, &err, pool) : NULL;
        t[i] = now_ms() - start;
        if (d == NULL) {
            fprintf(stderr, "bench_derive: %s", err.formatted);
            exit(2);
        }
        model_free(m);
        mem_pool_free(pool);
    }
    double med = median(t, runs);
    free(t);
    return med;
}

/* Median milliseconds of running COMMAND (through the shell) RUNS times. */
static double
time_command(const char *command, int runs)
{
    double *t = malloc((size_t)runs * sizeof *t);
    for (int i = 0; i < runs; i++) {
        double start = now_ms();
        if (system(command) != 0) {
            fprintf(stderr, "bench_derive: '%s' failed\n", command);
            exit(2);
        }
        t[i] = now_ms() - start;
    }
    double med = median(t, runs);
    free(t);
    return med;
}

int
main(int argc, char **argv)
{
    if (argc < 3) {
        fprintf(stderr, "usage: bench_derive RULES_DIR DERIVCHECK [RUNS]\n");
        return 2;
    }
    int runs = argc > 3 ? atoi(argv[3]) : 50;
    mem_pool *pool = mem_pool_new();
    dc_error err;
    rule_set *rs = rules_load(argv[1], &err, pool);
    if (rs == NULL) {
        fprintf(stderr, "bench_derive: %s", err.formatted);
        return 2;
    }
    char path[4096];
    snprintf(path, sizeof path, "%s/models/sigmoid.dc", argv[1]);
    char *small = read_all(path);
    if (small == NULL) {
        fprintf(stderr, "bench_derive: cannot read %s\n", path);
        return 2;
    }
    /* the same model with dims 1000 times larger */
    char *large = malloc(strlen(small) + 64);
    const char *dims = strstr(small, "dims");
    const char *eol = strchr(dims, '\n');
    snprintf(large, strlen(small) + 64, "%.*sdims n_x = 2000, n_h = 4000, n_y = 1%s",
             (int)(dims - small), small, eol);
    double small_ms = time_derive(small, rs, runs);
    double large_ms = time_derive(large, rs, runs);
    char derive_cmd[8192], version_cmd[8192];
    snprintf(derive_cmd, sizeof derive_cmd, "'%s' --rules '%s' derive sigmoid >/dev/null", argv[2],
             argv[1]);
    snprintf(version_cmd, sizeof version_cmd, "'%s' --version >/dev/null", argv[2]);
    int process_runs = runs < 20 ? runs : 20;
    double version_ms = time_command(version_cmd, process_runs);
    double process_ms = time_command(derive_cmd, process_runs);
    printf("parse + derive, sigmoid model:        %8.3f ms (median of %d)\n", small_ms, runs);
    printf("  with every dim 1000x larger:        %8.3f ms  ratio %.2f (1 = size-free)\n", large_ms,
           large_ms / small_ms);
    printf("derivcheck derive sigmoid (process):  %8.3f ms (median of %d)\n", process_ms,
           process_runs);
    printf("derivcheck --version (baseline):      %8.3f ms  ratio %.2f\n", version_ms,
           process_ms / version_ms);
    printf("target: a full derivation under 20 ms: %s\n", process_ms < 20 ? "met" : "NOT met");
    /* the other whole commands with a speed target */
    static const struct {
        const char *args, *label;
        double target_ms;
    } commands[] = {
        {"prove sigmoid", "derivcheck prove sigmoid", 1000},
        {"prove softmax", "derivcheck prove softmax", 1000},
        {"check ng_sigmoid_deferred.dc", "derivcheck check (sigmoid example)", 200},
    };
    for (size_t i = 0; i < sizeof commands / sizeof commands[0]; i++) {
        char cmd[8192];
        const char *args = commands[i].args;
        if (strncmp(args, "check ", 6) == 0)
            snprintf(cmd, sizeof cmd, "'%s' --rules '%s' check '%s/../examples/%s' >/dev/null",
                     argv[2], argv[1], argv[1], args + 6);
        else
            snprintf(cmd, sizeof cmd, "'%s' --rules '%s' %s >/dev/null", argv[2], argv[1], args);
        double ms = time_command(cmd, process_runs);
        printf("%-38s%8.3f ms  ratio %.2f to --version; target under %.0f ms: %s\n",
               commands[i].label, ms, ms / version_ms, commands[i].target_ms,
               ms < commands[i].target_ms ? "met" : "NOT met");
    }
    free(small);
    free(large);
    rules_free(rs);
    mem_pool_free(pool);
    return 0;
}
