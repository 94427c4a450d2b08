/* main.c: the derivcheck command line, a thin client of libderivcheck. */
#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "derivcheck.h"

enum { EXIT_REFUTED = 1, EXIT_USAGE = 2 };

typedef struct options {
    const char *rules;  /* --rules DIR */
    const char *output; /* -o FILE; NULL: standard output */
    const char *format; /* --format */
    int quiet;
    int help;
    int trace;          /* derive --trace */
    int verify;         /* rules --verify */
    unsigned long seed; /* --seed */
    int samples;        /* --samples; 0: the default */
    long prec;          /* --prec; 0: the default */
    const char *data;   /* eval --data FILE.json */
    int check_fd;       /* eval --check-fd */
    const char *regime; /* error --regime */
    int threads;        /* error -j N */
    int shard, nshards; /* error --shard K/N */
} options;

typedef struct command {
    const char *name;
    const char *args;
    const char *summary;
    int (*run)(dc_session *s, const options *o, int argc, char **argv);
} command;

static const char *program = "derivcheck";

static void
print_error(const dc_session *s)
{
    const dc_error *e = dc_session_error(s);
    if (e == NULL)
        return;
    if (dc_error_file(e) == NULL || dc_error_line(e) == 0)
        fprintf(stderr, "%s: ", program);
    fputs(dc_error_text(e), stderr);
}

static int
usage_error(const char *fmt, const char *arg)
{
    fprintf(stderr, "%s: ", program);
    fprintf(stderr, fmt, arg);
    fprintf(stderr, "\nTry '%s --help' for more information.\n", program);
    return EXIT_USAGE;
}

/* The temporary output file while it is being written: a signal that
   stops the program removes it (SIGKILL cannot be caught; it leaves it). */
static char *volatile temp_output;

static void
remove_temp_output(int sig)
{
    char *tmp = temp_output;
    if (tmp != NULL)
        unlink(tmp);
    signal(sig, SIG_DFL);
    raise(sig);
}

static void
guard_temp_output(char *tmp)
{
    static const int signals[] = {SIGHUP, SIGINT, SIGTERM, SIGPIPE, SIGXFSZ};
    temp_output = tmp;
    for (size_t i = 0; i < sizeof signals / sizeof signals[0]; i++)
        signal(signals[i], tmp != NULL ? remove_temp_output : SIG_DFL);
}

/* Write CONTENT to PATH through a temporary file in the same folder renamed
   into place, so that PATH holds either its old content or all of the new;
   PATH NULL or "-" is standard output. */
static int
write_output(const char *path, const char *content)
{
    size_t len = strlen(content);
    if (path == NULL || strcmp(path, "-") == 0) {
        if (fwrite(content, 1, len, stdout) != len || fflush(stdout) != 0) {
            fprintf(stderr, "%s: cannot write the output: %s\n", program, strerror(errno));
            return EXIT_USAGE;
        }
        return 0;
    }
    size_t n = strlen(path) + sizeof ".XXXXXX";
    char *tmp = malloc(n);
    if (tmp == NULL) {
        fprintf(stderr, "%s: out of memory\n", program);
        return EXIT_USAGE;
    }
    snprintf(tmp, n, "%s.XXXXXX", path);
    int fd = mkstemp(tmp);
    if (fd >= 0)
        guard_temp_output(tmp);
    FILE *f = fd >= 0 ? fdopen(fd, "w") : NULL;
    int ok = f != NULL && fwrite(content, 1, len, f) == len;
    ok = f != NULL && fclose(f) == 0 && ok;
    if (f == NULL && fd >= 0)
        close(fd);
    if (ok && rename(tmp, path) == 0) {
        guard_temp_output(NULL);
        free(tmp);
        return 0;
    }
    fprintf(stderr, "%s: cannot write '%s': %s\n", program, path, strerror(errno));
    if (fd >= 0)
        unlink(tmp);
    guard_temp_output(NULL);
    free(tmp);
    return EXIT_USAGE;
}

static int
exit_status(dc_status st)
{
    return st == DC_OK ? 0 : st == DC_REFUTED ? EXIT_REFUTED : EXIT_USAGE;
}

/* derivcheck parse FILE|MODEL */
static int
run_parse(dc_session *s, const options *o, int argc, char **argv)
{
    if (argc != 1)
        return usage_error("parse takes one FILE or MODEL%s", "");
    if (o->format != NULL && strcmp(o->format, "text") != 0)
        return usage_error("parse writes text only, not '%s'", o->format);
    dc_status st = dc_load(s, argv[0]);
    if (st != DC_OK) {
        print_error(s);
        return exit_status(st);
    }
    const char *dump = dc_model_dump(s);
    if (dump == NULL) {
        print_error(s);
        return EXIT_USAGE;
    }
    return o->quiet ? 0 : write_output(o->output, dump);
}

/* Print a command's report (unless -q) or its error; the exit status. */
static int
finish_report(dc_session *s, const options *o, dc_status st, const char *report)
{
    if (st != DC_OK && st != DC_REFUTED) {
        print_error(s);
        return exit_status(st);
    }
    if (!o->quiet) {
        int written = write_output(o->output, report);
        if (written != 0)
            return written;
    }
    return exit_status(st);
}

/* derivcheck derive FILE|MODEL */
static int
run_derive(dc_session *s, const options *o, int argc, char **argv)
{
    if (argc != 1)
        return usage_error("derive takes one FILE or MODEL%s", "");
    dc_status st = dc_load(s, argv[0]);
    if (st != DC_OK) {
        print_error(s);
        return exit_status(st);
    }
    const char *report;
    st = dc_derive(s, o->format, o->trace, &report);
    return finish_report(s, o, st, report);
}

enum { DEFAULT_SEED = 1, DEFAULT_SAMPLES = 16 };

/* derivcheck check FILE */
static int
run_check(dc_session *s, const options *o, int argc, char **argv)
{
    if (argc != 1)
        return usage_error("check takes one FILE%s", "");
    dc_status st = dc_load(s, argv[0]);
    if (st != DC_OK) {
        print_error(s);
        return exit_status(st);
    }
    const char *report;
    st = dc_check(s, o->seed, o->format, &report);
    return finish_report(s, o, st, report);
}

/* derivcheck prove FILE|MODEL */
static int
run_prove(dc_session *s, const options *o, int argc, char **argv)
{
    if (argc != 1)
        return usage_error("prove takes one FILE or MODEL%s", "");
    dc_status st = dc_load(s, argv[0]);
    if (st != DC_OK) {
        print_error(s);
        return exit_status(st);
    }
    const char *report;
    st = dc_prove(s, o->seed, o->format, o->trace, &report);
    return finish_report(s, o, st, report);
}

/* derivcheck eval FILE|MODEL [--data FILE.json] */
static int
run_eval(dc_session *s, const options *o, int argc, char **argv)
{
    if (argc != 1)
        return usage_error("eval takes one FILE or MODEL%s", "");
    dc_status st = dc_load(s, argv[0]);
    if (st != DC_OK) {
        print_error(s);
        return exit_status(st);
    }
    const char *report;
    st = dc_eval(s, o->data, o->seed, o->prec, o->format, o->check_fd, &report);
    return finish_report(s, o, st, report);
}

/* The document format -o's extension implies (.md, .tex, .html), or NULL. */
static const char *
format_of_output(const char *path)
{
    static const char *const ext[][2] = {{".md", "markdown"}, {".markdown", "markdown"},
                                         {".tex", "latex"},   {".html", "html"},
                                         {".htm", "html"},    {".xhtml", "html"}};
    size_t len = path != NULL ? strlen(path) : 0;
    for (size_t i = 0; i < sizeof ext / sizeof ext[0]; i++) {
        size_t n = strlen(ext[i][0]);
        if (len > n && strcmp(path + len - n, ext[i][0]) == 0)
            return ext[i][1];
    }
    return NULL;
}

/* derivcheck doc FILE|MODEL [-o OUT] [--format markdown|latex|html] */
static int
run_doc(dc_session *s, const options *o, int argc, char **argv)
{
    if (argc != 1)
        return usage_error("doc takes one FILE or MODEL%s", "");
    const char *format = o->format != NULL ? o->format : format_of_output(o->output);
    if (format != NULL && strcmp(format, "markdown") != 0 && strcmp(format, "latex") != 0 &&
        strcmp(format, "html") != 0)
        return usage_error("doc writes markdown, latex or html, not '%s'", format);
    dc_status st = dc_load(s, argv[0]);
    if (st != DC_OK) {
        print_error(s);
        return exit_status(st);
    }
    const char *report;
    st = dc_doc(s, o->seed, format, &report);
    return finish_report(s, o, st, report);
}

/* derivcheck rules [--verify] */
static int
run_rules(dc_session *s, const options *o, int argc, char **argv)
{
    (void)argv;
    if (argc != 0)
        return usage_error("rules takes no arguments%s", "");
    const char *report;
    dc_status st;
    if (o->verify) {
        if (o->format != NULL && strcmp(o->format, "text") != 0)
            return usage_error("rules --verify writes text only, not '%s'", o->format);
        st = dc_rules_verify(s, o->seed, o->samples ? o->samples : DEFAULT_SAMPLES, o->prec,
                             &report);
    } else
        st = dc_rules_list(s, o->format, &report);
    return finish_report(s, o, st, report);
}

/* The progress bar of a long error sweep, on stderr. */
typedef struct progress {
    struct timespec start;
    double last; /* when it was last drawn; < 0: never */
} progress;

static double
seconds_since(const struct timespec *t0)
{
    struct timespec now;
    clock_gettime(CLOCK_MONOTONIC, &now);
    return (double)(now.tv_sec - t0->tv_sec) + (double)(now.tv_nsec - t0->tv_nsec) / 1e9;
}

/* Drawn only once the sweep has run a second, at most ten times a second;
   erased when done. */
static void
show_progress(void *ctx, long done, long total)
{
    progress *p = ctx;
    double t = seconds_since(&p->start);
    if (done >= total) {
        if (p->last >= 0)
            fputs("\r\033[K", stderr);
        return;
    }
    if (t < 1.0 || (p->last >= 0 && t - p->last < 0.1))
        return;
    p->last = t;
    int width = 30, filled = (int)((double)width * (double)done / (double)total);
    double left = done > 0 ? t * (double)(total - done) / (double)done : 0;
    fprintf(stderr, "\r[%.*s%*s] %ld/%ld samples, %.0fs left\033[K", filled,
            "##############################", width - filled, "", done, total, left);
    fflush(stderr);
}

/* derivcheck error FILE|MODEL */
static int
run_error(dc_session *s, const options *o, int argc, char **argv)
{
    if (argc != 1)
        return usage_error("error takes one FILE or MODEL%s", "");
    dc_status st = dc_load(s, argv[0]);
    if (st != DC_OK) {
        print_error(s);
        return exit_status(st);
    }
    progress bar = {.last = -1};
    clock_gettime(CLOCK_MONOTONIC, &bar.start);
    dc_sweep_options so = {.seed = o->seed,
                           .samples = o->samples,
                           .regime = o->regime,
                           .format = o->format,
                           .threads = o->threads,
                           .shard = o->shard,
                           .nshards = o->nshards};
    if (!o->quiet && isatty(STDERR_FILENO)) {
        so.progress = show_progress;
        so.progress_ctx = &bar;
    }
    const char *report;
    st = dc_error_sweep(s, &so, &report);
    return finish_report(s, o, st, report);
}

/* derivcheck merge FILE.json... */
static int
run_merge(dc_session *s, const options *o, int argc, char **argv)
{
    if (argc < 1)
        return usage_error("merge takes the JSON outputs of error --shard K/N%s", "");
    const char *report;
    dc_status st = dc_error_merge(s, (const char *const *)argv, (size_t)argc, o->format, &report);
    return finish_report(s, o, st, report);
}

/* ARG as a whole decimal number from MIN to MAX into *OUT; 0 if it is not. */
static int
parse_number(const char *arg, unsigned long min, unsigned long max, unsigned long *out)
{
    if (arg[0] < '0' || arg[0] > '9')
        return 0;
    errno = 0;
    char *end;
    unsigned long n = strtoul(arg, &end, 10);
    if (errno != 0 || *end != '\0' || n < min || n > max)
        return 0;
    *out = n;
    return 1;
}

/* derivcheck models */
static int
run_models(dc_session *s, const options *o, int argc, char **argv)
{
    (void)argv;
    if (argc != 0)
        return usage_error("models takes no arguments%s", "");
    const char *const *names;
    size_t n;
    dc_status st = dc_model_names(s, &names, &n);
    if (st != DC_OK) {
        print_error(s);
        return exit_status(st);
    }
    size_t len = 1;
    for (size_t i = 0; i < n; i++)
        len += strlen(names[i]) + 1;
    char *list = malloc(len), *p = list;
    if (list == NULL) {
        fprintf(stderr, "%s: out of memory\n", program);
        return EXIT_USAGE;
    }
    for (size_t i = 0; i < n; i++)
        p += sprintf(p, "%s\n", names[i]);
    *p = '\0';
    int status = write_output(o->output, list);
    free(list);
    return status;
}

static const command commands[] = {
    {"derive", "FILE|MODEL", "the gradients in both conventions; --trace shows each rule",
     run_derive},
    {"check", "FILE", "verify every claim of a derivation; say what is wrong with each", run_check},
    {"prove", "FILE|MODEL", "prove the deferred and absorbed 1/m placements equal", run_prove},
    {"eval", "FILE|MODEL", "the loss and every gradient as numbers (--data FILE.json)", run_eval},
    {"error", "FILE|MODEL", "double-precision error of each formulation, certified references",
     run_error},
    {"merge", "FILE.json...", "merge the JSON outputs of error --shard K/N", run_merge},
    {"doc", "FILE|MODEL", "the whole derivation as one document (markdown, latex, html)",
     run_doc},
    {"rules", "", "list the rule base (file:line of every rule); --verify tests it", run_rules},
    {"parse", "FILE|MODEL", "print the model back, normalised, with every shape", run_parse},
    {"models", "", "list the built-in models, usable where FILE is", run_models},
};

static const command *
find_command(const char *name)
{
    for (size_t i = 0; i < sizeof commands / sizeof commands[0]; i++)
        if (strcmp(commands[i].name, name) == 0)
            return &commands[i];
    return NULL;
}

static const char common_options[] =
    "Options:\n"
    "      --rules DIR      rule files and built-in models (default: DERIVCHECK_RULES,\n"
    "                       then the installed rules)\n"
    "  -o, --output FILE    write the result to FILE (replaced whole, never half-written)\n"
    "      --format FORMAT  output format: text, json, markdown or latex (derive);\n"
    "                       text, json or markdown (prove); text or json (check,\n"
    "                       rules, eval); text (parse); markdown, latex or html\n"
    "                       (doc; default from -o's extension, else markdown)\n"
    "      --trace          derive: show every rule applied, with its file:line;\n"
    "                       prove: the certificates\n"
    "      --verify         rules: check every rule at random points (MPFR, and\n"
    "                       finite differences for adjoints); exit 1 if one fails\n"
    "      --seed N         check, prove, eval, doc, rules --verify: the random points'\n"
    "                       seed (default 1)\n"
    "      --samples N      rules --verify: points per rule, 1 to 10000 (default 16)\n"
    "      --prec BITS      rules --verify, eval: MPFR precision, 64 to 10000 (default 256)\n"
    "      --data FILE.json eval: values by name, {\"X\": [[...], ...], ...}; the rest\n"
    "                       are drawn from --seed\n"
    "      --check-fd       eval: compare every gradient with central finite differences\n"
    "      --regime R       error: typical, saturated, tiny, large-m, pow2-m, odd-m or\n"
    "                       all (default); --samples N per regime (default 64, 2 for\n"
    "                       large-m)\n"
    "  -j, --jobs N         error: threads (OpenMP); the output does not depend on N\n"
    "      --shard K/N      error: run the samples i with i mod N = K - 1; merge the\n"
    "                       JSON outputs with 'derivcheck merge'\n"
    "  -q, --quiet          print nothing but errors\n"
    "  -h, --help           show this help and exit\n"
    "  -V, --version        show the version and exit\n";

static void
print_help(const command *c)
{
    if (c != NULL) {
        printf("Usage: %s %s [OPTION]... %s\n%s.\n\n%s", program, c->name, c->args, c->summary,
               common_options);
        return;
    }
    printf("Usage: %s COMMAND [OPTION]... [ARG]...\n"
           "Check backpropagation derivations: expand, prove and check gradients.\n\n"
           "Commands:\n",
           program);
    for (size_t i = 0; i < sizeof commands / sizeof commands[0]; i++)
        printf("  %-8s %-11s %s\n", commands[i].name, commands[i].args, commands[i].summary);
    printf("\n%s\n"
           "Exit status: 0 if everything holds, 1 if something was refuted,\n"
           "2 on a usage or input error.\n\n"
           "Run '%s COMMAND --help' for one command. Report bugs to: %s\n",
           common_options, program, PACKAGE_BUGREPORT);
}

/* The rules folder: --rules, then DERIVCHECK_RULES, then the source tree
   when this program runs from its build tree, then the installed one. */
static const char *
rules_dir(const options *o, char *buf, size_t size)
{
    if (o->rules != NULL)
        return o->rules;
    const char *env = getenv("DERIVCHECK_RULES");
    if (env != NULL && *env != '\0')
        return env;
    char exe[PATH_MAX], build[PATH_MAX];
    ssize_t n = readlink("/proc/self/exe", exe, sizeof exe - 1);
    if (n > 0 && realpath(DC_ABS_BUILDDIR, build) != NULL) {
        exe[n] = '\0';
        char *slash = strrchr(exe, '/');
        if (slash != NULL)
            *slash = '\0';
        size_t blen = strlen(build);
        /* libtool runs the uninstalled program from .libs/ */
        if (strcmp(exe, build) == 0 ||
            (strncmp(exe, build, blen) == 0 && strcmp(exe + blen, "/.libs") == 0)) {
            snprintf(buf, size, "%s/rules", DC_ABS_SRCDIR);
            return buf;
        }
    }
    return DC_PKGDATADIR;
}

int
main(int argc, char **argv)
{
    static const struct option long_options[] = {{"rules", required_argument, NULL, 'r'},
                                                 {"output", required_argument, NULL, 'o'},
                                                 {"format", required_argument, NULL, 'f'},
                                                 {"quiet", no_argument, NULL, 'q'},
                                                 {"help", no_argument, NULL, 'h'},
                                                 {"version", no_argument, NULL, 'V'},
                                                 {"trace", no_argument, NULL, 't'},
                                                 {"verify", no_argument, NULL, 'y'},
                                                 {"seed", required_argument, NULL, 'S'},
                                                 {"samples", required_argument, NULL, 'N'},
                                                 {"prec", required_argument, NULL, 'P'},
                                                 {"data", required_argument, NULL, 'D'},
                                                 {"check-fd", no_argument, NULL, 'F'},
                                                 {"regime", required_argument, NULL, 'R'},
                                                 {"jobs", required_argument, NULL, 'j'},
                                                 {"shard", required_argument, NULL, 'K'},
                                                 {NULL, 0, NULL, 0}};
    unsigned long n;
    options o = {0};
    o.seed = DEFAULT_SEED;
    int version = 0, c;
    opterr = 0;
    while ((c = getopt_long(argc, argv, "o:qhVj:", long_options, NULL)) != -1) {
        switch (c) {
        case 'r':
            o.rules = optarg;
            break;
        case 'o':
            o.output = optarg;
            break;
        case 'f':
            o.format = optarg;
            break;
        case 'q':
            o.quiet = 1;
            break;
        case 'h':
            o.help = 1;
            break;
        case 'V':
            version = 1;
            break;
        case 't':
            o.trace = 1;
            break;
        case 'y':
            o.verify = 1;
            break;
        case 'D':
            o.data = optarg;
            break;
        case 'F':
            o.check_fd = 1;
            break;
        case 'R':
            o.regime = optarg;
            break;
        case 'j':
            if (!parse_number(optarg, 1, 256, &n))
                return usage_error("-j takes a number of threads from 1 to 256, not '%s'", optarg);
            o.threads = (int)n;
            break;
        case 'K': {
            unsigned long k, total;
            char *slash = strchr(optarg, '/');
            if (slash == NULL)
                return usage_error("--shard takes K/N (1 <= K <= N <= 64), not '%s'", optarg);
            *slash = '\0';
            int good = parse_number(optarg, 1, 64, &k) && parse_number(slash + 1, 1, 64, &total);
            *slash = '/';
            if (!good || k > total)
                return usage_error("--shard takes K/N (1 <= K <= N <= 64), not '%s'", optarg);
            o.shard = (int)k;
            o.nshards = (int)total;
            break;
        }
        case 'S':
            if (!parse_number(optarg, 0, ULONG_MAX, &n))
                return usage_error("--seed takes a nonnegative integer, not '%s'", optarg);
            o.seed = n;
            break;
        case 'N':
            if (!parse_number(optarg, 1, 10000, &n))
                return usage_error("--samples takes a number of points from 1 to 10000 (the "
                                   "cap), not '%s'",
                                   optarg);
            o.samples = (int)n;
            break;
        case 'P':
            if (!parse_number(optarg, 64, 10000, &n))
                return usage_error("--prec takes a precision from 64 to 10000 bits (the cap), "
                                   "not '%s'",
                                   optarg);
            o.prec = (long)n;
            break;
        default:
            if (optopt != 0 && strchr("oj", optopt) != NULL)
                return usage_error("option '-%s' needs an argument", (char[]){(char)optopt, 0});
            return usage_error("unknown or incomplete option '%s'", argv[optind - 1]);
        }
    }
    if (version) {
        printf("%s %s\n", program, dc_version());
        return 0;
    }
    const command *cmd = NULL;
    if (optind < argc) {
        cmd = find_command(argv[optind]);
        if (cmd == NULL)
            return usage_error("unknown command '%s'", argv[optind]);
    }
    if (o.help) {
        print_help(cmd);
        return 0;
    }
    if (cmd == NULL)
        return usage_error("no command given%s", "");
    /* Testing hook (tests/oom_cli.sh, like Git's GIT_TEST_*): fail the n-th
       allocation the library makes in this run. */
    const char *fail = getenv("DERIVCHECK_TEST_FAIL_ALLOC");
    if (fail != NULL && *fail != '\0') {
        if (!parse_number(fail, 1, LONG_MAX, &n))
            return usage_error("DERIVCHECK_TEST_FAIL_ALLOC takes a positive integer, not '%s'",
                               fail);
        dc_debug_fail_alloc_after((long)n);
    }
    dc_session *s = dc_session_new();
    char buf[PATH_MAX + 16];
    if (s == NULL || dc_session_set_rules_dir(s, rules_dir(&o, buf, sizeof buf)) != DC_OK) {
        fprintf(stderr, "%s: out of memory\n", program);
        dc_session_free(s);
        return EXIT_USAGE;
    }
    int status = cmd->run(s, &o, argc - optind - 1, argv + optind + 1);
    dc_session_free(s);
    return status;
}
