/* main.c: the derivcheck command line, a thin client of libderivcheck. */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <limits.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "derivcheck.h"

extern char **environ; /* the environment gnuplot is run with */

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
    const char *plot;   /* error, merge --plot FILE.svg */
    long numeric_depth; /* prove, doc --numeric-depth N; -1: the default */
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

/* A new temporary file beside PATH (PATH.XXXXXX: in the same folder, so
   that renaming it onto PATH is atomic), removed by a signal that stops the
   program until finish_temp, with the mode PATH has, or when it is new the
   one the umask gives (mkstemp makes it 0600). Its descriptor (closed in
   programs we run) and its name in *TMP (malloc'ed), or -1 with errno set. */
static int
open_temp(const char *path, char **tmp)
{
    size_t n = strlen(path) + sizeof ".XXXXXX";
    *tmp = malloc(n);
    if (*tmp == NULL) {
        errno = ENOMEM;
        return -1;
    }
    snprintf(*tmp, n, "%s.XXXXXX", path);
    int fd = mkstemp(*tmp);
    if (fd < 0) {
        int saved = errno;
        free(*tmp);
        errno = saved;
        return -1;
    }
    guard_temp_output(*tmp);
    fcntl(fd, F_SETFD, FD_CLOEXEC);
    struct stat old;
    mode_t mask = umask(0);
    umask(mask);
    fchmod(fd, stat(path, &old) == 0 ? old.st_mode & 07777 : 0666 & ~mask);
    return fd;
}

/* The temporary file TMP (from open_temp, closed) renamed onto PATH when
   OK, else removed; TMP freed. Whether it was renamed; when not, errno
   says why (for a failure before, the caller's errno is kept). */
static int
finish_temp(char *tmp, const char *path, int ok)
{
    int renamed = ok && rename(tmp, path) == 0, saved = errno;
    if (!renamed)
        unlink(tmp);
    guard_temp_output(NULL);
    free(tmp);
    errno = saved;
    return renamed;
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
    char *tmp;
    int fd = open_temp(path, &tmp);
    FILE *f = fd >= 0 ? fdopen(fd, "w") : NULL;
    int ok = f != NULL && fwrite(content, 1, len, f) == len;
    ok = f != NULL && fclose(f) == 0 && ok;
    if (f == NULL && fd >= 0)
        close(fd);
    if (fd >= 0 && finish_temp(tmp, path, ok))
        return 0;
    fprintf(stderr, "%s: cannot write '%s': %s\n", program, path, strerror(errno));
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

/* Print a command's report (unless -q) or its error; the exit status. An
   undecided check, proof or rules --verify has both: the report says what
   no method decided, the error that nothing was refuted (exit status 2:
   neither all holds, 0, nor something refuted, 1). */
static int
finish_report(dc_session *s, const options *o, dc_status st, const char *report)
{
    if (st != DC_OK && st != DC_REFUTED && st != DC_UNDECIDED) {
        print_error(s);
        return exit_status(st);
    }
    if (!o->quiet) {
        int written = write_output(o->output, report);
        if (written != 0)
            return written;
    }
    if (st == DC_UNDECIDED)
        print_error(s);
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

/* NAME as a program: with a slash, NAME itself; without, the first NAME in
   a folder of PATH (as execvp looks, an empty entry being the current
   folder). Its path into BUF when it is an executable regular file, else 0. */
static int
find_program(const char *name, char *buf, size_t size)
{
    struct stat sb;
    if (strchr(name, '/') != NULL) {
        snprintf(buf, size, "%s", name);
        return stat(buf, &sb) == 0 && S_ISREG(sb.st_mode) && access(buf, X_OK) == 0;
    }
    const char *dirs = getenv("PATH");
    if (dirs == NULL)
        dirs = "/bin:/usr/bin";
    for (const char *d = dirs;; d++) {
        size_t n = strcspn(d, ":");
        int len = snprintf(buf, size, "%.*s%s%s", (int)n, d, n ? "/" : "", name);
        if (len > 0 && (size_t)len < size && stat(buf, &sb) == 0 && S_ISREG(sb.st_mode) &&
            access(buf, X_OK) == 0)
            return 1;
        d += n;
        if (*d == '\0')
            return 0;
    }
}

/* What --plot PATH needs, checked before a sweep that may run for hours: a
   name ending in .svg, a folder the program may create files in, and
   gnuplot (DERIVCHECK_GNUPLOT when set, else gnuplot on PATH), whose path
   goes into GNUPLOT. 0, or the exit status after a message. */
static int
plot_ready(const char *path, char *gnuplot, size_t size)
{
    size_t len = strlen(path);
    if (len < 5 || strcmp(path + len - 4, ".svg") != 0)
        return usage_error("--plot writes SVG: its file name must end in .svg, not '%s'", path);
    const char *slash = strrchr(path, '/');
    char dir[PATH_MAX] = ".";
    if (slash != NULL)
        snprintf(dir, sizeof dir, "%.*s", slash == path ? 1 : (int)(slash - path), path);
    if (access(dir, W_OK | X_OK) != 0) {
        fprintf(stderr, "%s: --plot: cannot create '%s' in '%s': %s\n", program, path, dir,
                strerror(errno));
        return EXIT_USAGE;
    }
    const char *env = getenv("DERIVCHECK_GNUPLOT");
    int chosen = env != NULL && *env != '\0';
    if (find_program(chosen ? env : "gnuplot", gnuplot, size))
        return 0;
    if (chosen)
        fprintf(stderr,
                "%s: --plot needs gnuplot, which was not found as '%s' (DERIVCHECK_GNUPLOT); "
                "install gnuplot-nox (Debian) or omit --plot\n",
                program, env);
    else
        fprintf(stderr,
                "%s: --plot needs gnuplot, which was not found on PATH; install gnuplot-nox "
                "(Debian) or omit --plot\n",
                program);
    return EXIT_USAGE;
}

/* Run GNUPLOT with SCRIPT on its standard input and the file OUT as its
   standard output; its standard error is ours, so its messages show.
   Whether it read the whole script and exited 0; a message when not. */
static int
run_gnuplot(const char *gnuplot, const char *script, int out)
{
    int in[2];
    if (pipe(in) != 0) {
        fprintf(stderr, "%s: cannot run gnuplot: %s\n", program, strerror(errno));
        return 0;
    }
    fcntl(in[0], F_SETFD, FD_CLOEXEC);
    fcntl(in[1], F_SETFD, FD_CLOEXEC);
    posix_spawn_file_actions_t files;
    posix_spawn_file_actions_init(&files);
    posix_spawn_file_actions_adddup2(&files, in[0], STDIN_FILENO);
    posix_spawn_file_actions_adddup2(&files, out, STDOUT_FILENO);
    char *args[] = {(char *)gnuplot, NULL};
    pid_t pid;
    int failed = posix_spawn(&pid, gnuplot, &files, NULL, args, environ);
    posix_spawn_file_actions_destroy(&files);
    close(in[0]);
    if (failed) {
        close(in[1]);
        fprintf(stderr, "%s: cannot run '%s': %s\n", program, gnuplot, strerror(failed));
        return 0;
    }
    /* a gnuplot that stops reading must not stop this program with SIGPIPE */
    void (*on_pipe)(int) = signal(SIGPIPE, SIG_IGN);
    size_t len = strlen(script), sent = 0;
    while (sent < len) {
        ssize_t n = write(in[1], script + sent, len - sent);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            break;
        sent += (size_t)n;
    }
    close(in[1]);
    signal(SIGPIPE, on_pipe);
    int status;
    while (waitpid(pid, &status, 0) < 0)
        if (errno != EINTR) {
            fprintf(stderr, "%s: cannot wait for gnuplot: %s\n", program, strerror(errno));
            return 0;
        }
    if (WIFEXITED(status) && WEXITSTATUS(status) == 0 && sent == len)
        return 1;
    if (WIFSIGNALED(status))
        fprintf(stderr, "%s: gnuplot was stopped by signal %d\n", program, WTERMSIG(status));
    else if (WEXITSTATUS(status) != 0)
        fprintf(stderr, "%s: gnuplot failed (exit status %d)\n", program, WEXITSTATUS(status));
    else
        fprintf(stderr, "%s: gnuplot stopped reading its script\n", program);
    return 0;
}

/* Draw the histograms of S's last sweep or merge into PATH with GNUPLOT:
   its output goes to a temporary file beside PATH, renamed into place only
   when gnuplot exits 0 having written something, so that PATH is never
   left half-drawn. The exit status. */
static int
write_plot(dc_session *s, const char *gnuplot, const char *path)
{
    const char *script;
    dc_status st = dc_error_plot(s, &script);
    if (st != DC_OK) {
        print_error(s);
        return exit_status(st);
    }
    char *tmp;
    int fd = open_temp(path, &tmp);
    if (fd < 0) {
        fprintf(stderr, "%s: cannot write '%s': %s\n", program, path, strerror(errno));
        return EXIT_USAGE;
    }
    int ok = run_gnuplot(gnuplot, script, fd);
    struct stat sb;
    if (ok && (fstat(fd, &sb) != 0 || sb.st_size == 0)) {
        fprintf(stderr, "%s: gnuplot wrote nothing\n", program);
        ok = 0;
    }
    ok = close(fd) == 0 && ok;
    if (finish_temp(tmp, path, ok))
        return 0;
    if (ok)
        fprintf(stderr, "%s: cannot write '%s': %s\n", program, path, strerror(errno));
    else
        fprintf(stderr, "%s: '%s' was not written\n", program, path);
    return EXIT_USAGE;
}

/* derivcheck error FILE|MODEL [--plot FILE.svg] */
static int
run_error(dc_session *s, const options *o, int argc, char **argv)
{
    if (argc != 1)
        return usage_error("error takes one FILE or MODEL%s", "");
    char gnuplot[PATH_MAX];
    int ready = o->plot != NULL ? plot_ready(o->plot, gnuplot, sizeof gnuplot) : 0;
    if (ready != 0)
        return ready;
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
    int status = finish_report(s, o, st, report);
    return status != 0 || o->plot == NULL ? status : write_plot(s, gnuplot, o->plot);
}

/* derivcheck merge FILE.json... [--plot FILE.svg] */
static int
run_merge(dc_session *s, const options *o, int argc, char **argv)
{
    if (argc < 1)
        return usage_error("merge takes the JSON outputs of error --shard K/N%s", "");
    char gnuplot[PATH_MAX];
    int ready = o->plot != NULL ? plot_ready(o->plot, gnuplot, sizeof gnuplot) : 0;
    if (ready != 0)
        return ready;
    const char *report;
    dc_status st = dc_error_merge(s, (const char *const *)argv, (size_t)argc, o->format, &report);
    int status = finish_report(s, o, st, report);
    return status != 0 || o->plot == NULL ? status : write_plot(s, gnuplot, o->plot);
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
    {"doc", "FILE|MODEL", "the whole derivation as one document (markdown, latex, html)", run_doc},
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
    "      --numeric-depth N  prove, doc: numeric tests for the gradients at most N\n"
    "                       backward steps from the loss (default 6; 0: none)\n"
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
    "      --plot FILE.svg  error, merge: also draw a histogram of the bits of error\n"
    "                       of each formulation, per quantity and regime, with\n"
    "                       gnuplot (on PATH, or DERIVCHECK_GNUPLOT) into FILE.svg\n"
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
    /* one option a line, as getopt_long lists them */
    /* clang-format off */
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
                                                 {"plot", required_argument, NULL, 'G'},
                                                 {"numeric-depth", required_argument, NULL, 'U'},
                                                 {NULL, 0, NULL, 0}};
    /* clang-format on */
    unsigned long n;
    options o = {0};
    o.seed = DEFAULT_SEED;
    o.numeric_depth = -1;
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
        case 'G':
            o.plot = optarg;
            break;
        case 'U':
            if (!parse_number(optarg, 0, 1000000, &n))
                return usage_error("--numeric-depth takes a number of backward steps from 0 to "
                                   "1000000 (the cap), not '%s'",
                                   optarg);
            o.numeric_depth = (long)n;
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
    if (o.plot != NULL && cmd->run != run_error && cmd->run != run_merge)
        return usage_error("--plot draws the histograms of error and merge only, not of %s",
                           cmd->name);
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
    if (s == NULL || dc_session_set_rules_dir(s, rules_dir(&o, buf, sizeof buf)) != DC_OK ||
        (o.numeric_depth >= 0 && dc_session_set_numeric_depth(s, o.numeric_depth) != DC_OK)) {
        fprintf(stderr, "%s: out of memory\n", program);
        dc_session_free(s);
        return EXIT_USAGE;
    }
    int status = cmd->run(s, &o, argc - optind - 1, argv + optind + 1);
    dc_session_free(s);
    return status;
}
