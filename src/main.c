/* main.c: the derivcheck command line, a thin client of libderivcheck. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <limits.h>
#include <pthread.h>
#include <signal.h>
#include <spawn.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "base/outfile.h"
#include "derivcheck.h"

extern char **environ; /* the environment gnuplot is run with */

enum { EXIT_REFUTED = 1, EXIT_USAGE = 2 };

/* The options that apply to some commands only, as bits: a command
   refuses one that does not apply to it (the help table, option_help,
   says which apply where). --rules, -o, -q, -h and -V apply to all. */
enum {
    OPT_FORMAT = 1 << 0,
    OPT_TRACE = 1 << 1,
    OPT_VERIFY = 1 << 2,
    OPT_SEED = 1 << 3,
    OPT_SAMPLES = 1 << 4,
    OPT_PREC = 1 << 5,
    OPT_DATA = 1 << 6,
    OPT_CHECK_FD = 1 << 7,
    OPT_REGIME = 1 << 8,
    OPT_JOBS = 1 << 9,
    OPT_SHARD = 1 << 10,
    OPT_PLOT = 1 << 11,
    OPT_PARTIAL = 1 << 12,
    OPT_NUMERIC_DEPTH = 1 << 13,
};

typedef struct options {
    unsigned given;     /* the OPT_* bits of the options on the command line */
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
    int partial;        /* merge --partial */
    long numeric_depth; /* prove, doc --numeric-depth N; -1: the default */
} options;

typedef struct command {
    const char *name;
    const char *args;
    const char *summary;
    /* the formats it writes, the default first (NULL: none, as models
       takes no --format ...) */
    const char *const *formats;
    const char *examples[2]; /* command lines, after "derivcheck " */
    int (*run)(dc_session *s, const options *o, int argc, char **argv);
} command;

static const char *program = "derivcheck";

/* The command running, for the usage errors' pointer to its help. */
static const command *running;

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

/* A call's failure: the error on standard error and, with --format json,
   an error of the input (malformed, unreadable, over a cap) as JSON on
   standard output (docs/json.md), for programs that read only that; out
   of memory is no answer about the input, and leaves standard output
   empty. */
static void
print_failure(const dc_session *s, const options *o)
{
    print_error(s);
    const dc_error *e = dc_session_error(s);
    const char *json = dc_session_error_json(s);
    if (o->format != NULL && strcmp(o->format, "json") == 0 && json != NULL &&
        dc_error_status(e) != DC_ENOMEM) {
        fputs(json, stdout);
        fflush(stdout);
    }
}

/* A usage error: the message, where to look for help; the exit status. */
static int __attribute__((format(printf, 1, 2))) usage_error(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    fprintf(stderr, "%s: ", program);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    if (running != NULL)
        fprintf(stderr, "\nTry '%s %s --help' for more information.\n", program, running->name);
    else
        fprintf(stderr, "\nTry '%s --help' for more information.\n", program);
    return EXIT_USAGE;
}

/* Write CONTENT to PATH (NULL or "-": standard output) as outfile_write
   does; the exit status, after a message when it failed. */
static int
write_output(const char *path, const char *content)
{
    if (outfile_write(path, content, strlen(content)) == 0)
        return 0;
    if (path == NULL || strcmp(path, "-") == 0)
        fprintf(stderr, "%s: cannot write the output: %s\n", program, strerror(errno));
    else
        fprintf(stderr, "%s: cannot write '%s': %s\n", program, path, strerror(errno));
    return EXIT_USAGE;
}

static int
exit_status(dc_status st)
{
    return st == DC_OK ? 0 : st == DC_REFUTED ? EXIT_REFUTED : EXIT_USAGE;
}

/* Whether -q leaves the report unwritten: it quiets standard output, not a
   file asked for with -o. */
static int
report_silenced(const options *o)
{
    return o->quiet && (o->output == NULL || strcmp(o->output, "-") == 0);
}

/* Load FILE|MODEL into S; 0, or the exit status after the error. */
static int
load(dc_session *s, const options *o, const char *file_or_model)
{
    dc_status st = dc_load(s, file_or_model);
    if (st == DC_OK)
        return 0;
    print_failure(s, o);
    return exit_status(st);
}

/* derivcheck parse FILE|MODEL */
static int
run_parse(dc_session *s, const options *o, int argc, char **argv)
{
    if (argc != 1)
        return usage_error("parse takes one FILE or MODEL");
    int loaded = load(s, o, argv[0]);
    if (loaded != 0)
        return loaded;
    const char *dump = dc_model_dump(s);
    if (dump == NULL) {
        print_error(s);
        return EXIT_USAGE;
    }
    return report_silenced(o) ? 0 : write_output(o->output, dump);
}

/* Print a command's report (unless -q without -o) or its error; the exit status. An
   undecided check, proof or rules --verify has both: the report says what
   no method decided, the error that nothing was refuted (exit status 2:
   neither all holds, 0, nor something refuted, 1). */
static int
finish_report(dc_session *s, const options *o, dc_status st, const char *report)
{
    if (st != DC_OK && st != DC_REFUTED && st != DC_UNDECIDED) {
        print_failure(s, o);
        return exit_status(st);
    }
    if (!report_silenced(o)) {
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
        return usage_error("derive takes one FILE or MODEL");
    if (o->trace && o->format != NULL && strcmp(o->format, "latex") == 0)
        return usage_error("derive --trace writes text, json or markdown: the latex report "
                           "has no steps");
    int loaded = load(s, o, argv[0]);
    if (loaded != 0)
        return loaded;
    const char *report;
    dc_status st = dc_derive(s, o->format, o->trace, &report);
    return finish_report(s, o, st, report);
}

enum { DEFAULT_SEED = 1, DEFAULT_SAMPLES = 16 };

/* derivcheck check FILE */
static int
run_check(dc_session *s, const options *o, int argc, char **argv)
{
    if (argc != 1)
        return usage_error("check takes one FILE");
    int loaded = load(s, o, argv[0]);
    if (loaded != 0)
        return loaded;
    const char *report;
    dc_status st = dc_check(s, o->seed, o->format, &report);
    return finish_report(s, o, st, report);
}

/* derivcheck prove FILE|MODEL */
static int
run_prove(dc_session *s, const options *o, int argc, char **argv)
{
    if (argc != 1)
        return usage_error("prove takes one FILE or MODEL");
    if (o->trace && o->format != NULL && strcmp(o->format, "markdown") == 0)
        return usage_error("prove --trace writes text or json: the markdown report has no "
                           "certificates");
    int loaded = load(s, o, argv[0]);
    if (loaded != 0)
        return loaded;
    const char *report;
    dc_status st = dc_prove(s, o->seed, o->format, o->trace, &report);
    return finish_report(s, o, st, report);
}

/* The progress bar of a long error sweep or evaluation, on stderr. */
typedef struct progress {
    struct timespec start;
    double last;      /* when it was last drawn; < 0: never */
    const char *unit; /* what is counted: "samples"; NULL: thousandths, shown as a percentage */
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
    fprintf(stderr, "\r[%.*s%*s] ", filled, "##############################", width - filled, "");
    if (p->unit != NULL)
        fprintf(stderr, "%ld/%ld %s", done, total, p->unit);
    else
        fprintf(stderr, "%3ld%%", 100 * done / total);
    fprintf(stderr, ", %.0fs left\033[K", left);
    fflush(stderr);
}

/* derivcheck eval FILE|MODEL [--data FILE.json] */
static int
run_eval(dc_session *s, const options *o, int argc, char **argv)
{
    if (argc != 1)
        return usage_error("eval takes one FILE or MODEL");
    int loaded = load(s, o, argv[0]);
    if (loaded != 0)
        return loaded;
    progress bar = {.last = -1, .unit = NULL};
    clock_gettime(CLOCK_MONOTONIC, &bar.start);
    if (!o->quiet && isatty(STDERR_FILENO))
        dc_session_set_progress(s, show_progress, &bar);
    const char *report;
    dc_status st = dc_eval(s, o->data, o->seed, o->prec, o->format, o->check_fd, &report);
    dc_session_set_progress(s, NULL, NULL);
    return finish_report(s, o, st, report);
}

/* The document format -o's extension implies (.md, .tex, .html, .pdf), or
   NULL. */
static const char *
format_of_output(const char *path)
{
    static const char *const ext[][2] = {
        {".md", "markdown"}, {".markdown", "markdown"}, {".tex", "latex"}, {".html", "html"},
        {".htm", "html"},    {".xhtml", "html"},        {".pdf", "pdf"}};
    size_t len = path != NULL ? strlen(path) : 0;
    for (size_t i = 0; i < sizeof ext / sizeof ext[0]; i++) {
        size_t n = strlen(ext[i][0]);
        if (len > n && strcmp(path + len - n, ext[i][0]) == 0)
            return ext[i][1];
    }
    return NULL;
}

static int find_program(const char *name, char *buf, size_t size);
static int run_child(const char *path, char *const args[], const char *dir, int out);

/* Remove the folder DIR made by mkdtemp, with the files pdflatex wrote
   in it (it makes no folders). */
static void
remove_folder(const char *dir)
{
    DIR *d = opendir(dir);
    struct dirent *e;
    while (d != NULL && (e = readdir(d)) != NULL) {
        if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
            continue;
        char path[PATH_MAX];
        snprintf(path, sizeof path, "%s/%s", dir, e->d_name);
        unlink(path);
    }
    if (d != NULL)
        closedir(d);
    rmdir(dir);
}

/* The lines of pdflatex's log LOG that say what went wrong ("! ..." and
   the "l.12 ..." line after it), on standard error. */
static void
show_latex_errors(const char *log)
{
    FILE *f = fopen(log, "r");
    char line[512];
    int shown = 0, after = 0;
    while (f != NULL && fgets(line, sizeof line, f) != NULL && shown < 20) {
        if (line[0] == '!')
            after = 3;
        if (after > 0) {
            fprintf(stderr, "  %s", line);
            after--;
            shown++;
        }
    }
    if (f != NULL)
        fclose(f);
}

/* The LaTeX document LATEX compiled by PDFLATEX into PATH: in a new folder
   beside PATH (so that the PDF is renamed into place, never
   half-written), removed afterwards with everything pdflatex wrote. 0, or
   the exit status after a message. */
static int
write_pdf(const char *pdflatex, const char *latex, const char *path)
{
    size_t n = strlen(path) + sizeof ".XXXXXX";
    char *dir = malloc(n), tex[PATH_MAX], pdf[PATH_MAX], log[PATH_MAX];
    if (dir == NULL) {
        fprintf(stderr, "%s: out of memory\n", program);
        return EXIT_USAGE;
    }
    snprintf(dir, n, "%s.XXXXXX", path);
    if (mkdtemp(dir) == NULL) {
        fprintf(stderr, "%s: cannot write '%s': %s\n", program, path, strerror(errno));
        free(dir);
        return EXIT_USAGE;
    }
    snprintf(tex, sizeof tex, "%s/doc.tex", dir);
    snprintf(pdf, sizeof pdf, "%s/doc.pdf", dir);
    snprintf(log, sizeof log, "%s/doc.log", dir);
    FILE *f = fopen(tex, "w");
    int ok = f != NULL && fputs(latex, f) >= 0;
    ok = f != NULL && fclose(f) == 0 && ok;
    int devnull = open("/dev/null", O_WRONLY | O_CLOEXEC);
    /* -no-shell-escape: a model's names are written into the document */
    char *args[] = {(char *)pdflatex, "-interaction=batchmode",
                    "-halt-on-error", "-no-shell-escape",
                    "doc.tex",        NULL};
    int status = ok && devnull >= 0 ? run_child(pdflatex, args, dir, devnull) : -1;
    if (devnull >= 0)
        close(devnull);
    int result = 0;
    if (!ok) {
        fprintf(stderr, "%s: cannot write '%s': %s\n", program, tex, strerror(errno));
        result = EXIT_USAGE;
    } else if (status != 0) {
        fprintf(stderr, "%s: pdflatex failed (exit status %d); '%s' was not written:\n", program,
                status, path);
        show_latex_errors(log);
        result = EXIT_USAGE;
    } else if (rename(pdf, path) != 0) {
        fprintf(stderr, "%s: cannot write '%s': %s\n", program, path, strerror(errno));
        result = EXIT_USAGE;
    }
    remove_folder(dir);
    free(dir);
    return result;
}

/* derivcheck doc FILE|MODEL [-o OUT] [--format markdown|latex|html|pdf] */
static int
run_doc(dc_session *s, const options *o, int argc, char **argv)
{
    if (argc != 1)
        return usage_error("doc takes one FILE or MODEL");
    const char *format = o->format != NULL ? o->format : format_of_output(o->output);
    char pdflatex[PATH_MAX];
    int pdf = format != NULL && strcmp(format, "pdf") == 0;
    const char *implied = format_of_output(o->output);
    if (!pdf && implied != NULL && strcmp(implied, "pdf") == 0)
        return usage_error("doc -o %s writes a PDF, not %s: drop --format, or name the output "
                           "for its format",
                           o->output, format);
    if (pdf && (o->output == NULL || strcmp(o->output, "-") == 0))
        return usage_error("doc writes a PDF to a file only: give -o FILE.pdf");
    if (pdf && !find_program("pdflatex", pdflatex, sizeof pdflatex)) {
        fprintf(stderr,
                "%s: doc -o %s needs pdflatex, which was not found on PATH; install "
                "texlive-latex-recommended (Debian), or write the LaTeX with -o FILE.tex\n",
                program, o->output);
        return EXIT_USAGE;
    }
    int loaded = load(s, o, argv[0]);
    if (loaded != 0)
        return loaded;
    const char *report;
    dc_status st = dc_doc(s, o->seed, pdf ? "latex" : format, &report);
    if (!pdf || (st != DC_OK && st != DC_REFUTED && st != DC_UNDECIDED))
        return finish_report(s, o, st, report);
    int written = write_pdf(pdflatex, report, o->output);
    if (written != 0)
        return written;
    if (st == DC_UNDECIDED)
        print_error(s);
    return exit_status(st);
}

/* derivcheck rules [--verify] */
static int
run_rules(dc_session *s, const options *o, int argc, char **argv)
{
    (void)argv;
    if (argc != 0)
        return usage_error("rules takes no arguments");
    const char *report;
    dc_status st;
    if (o->verify) {
        if (o->format != NULL && strcmp(o->format, "text") != 0)
            return usage_error("rules --verify writes text only, not '%s'", o->format);
        st = dc_rules_verify(s, o->seed, o->samples ? o->samples : DEFAULT_SAMPLES, o->prec,
                             &report);
    } else {
        if (o->given & (OPT_SEED | OPT_SAMPLES | OPT_PREC))
            return usage_error("rules takes --seed, --samples and --prec with --verify only");
        st = dc_rules_list(s, o->format, &report);
    }
    return finish_report(s, o, st, report);
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

/* Run the program PATH with ARGS in the folder DIR, its standard input
   /dev/null and its standard output and error the descriptor OUT; its
   exit status, or -1 when it could not run or was stopped by a signal. */
static int
run_child(const char *path, char *const args[], const char *dir, int out)
{
    pid_t pid = fork();
    if (pid < 0)
        return -1;
    if (pid == 0) {
        int in = open("/dev/null", O_RDONLY);
        if (chdir(dir) != 0 || in < 0 || dup2(in, STDIN_FILENO) < 0 ||
            dup2(out, STDOUT_FILENO) < 0 || dup2(out, STDERR_FILENO) < 0)
            _exit(127);
        execv(path, args);
        _exit(127);
    }
    int status;
    while (waitpid(pid, &status, 0) < 0)
        if (errno != EINTR)
            return -1;
    return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
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
   its output goes to a temporary file beside PATH (outfile_open), renamed
   into place only when gnuplot exits 0 having written something, so that
   PATH is never left half-drawn. The exit status. */
static int
write_plot(dc_session *s, const char *gnuplot, const char *path)
{
    const char *script;
    dc_status st = dc_error_plot(s, &script);
    if (st != DC_OK) {
        print_error(s);
        return exit_status(st);
    }
    outfile f;
    if (outfile_open(&f, path) != 0) {
        fprintf(stderr, "%s: cannot write '%s': %s\n", program, path, strerror(errno));
        return EXIT_USAGE;
    }
    int ok = run_gnuplot(gnuplot, script, f.fd);
    struct stat sb;
    if (ok && f.tmp != NULL && (fstat(f.fd, &sb) != 0 || sb.st_size == 0)) {
        fprintf(stderr, "%s: gnuplot wrote nothing\n", program);
        ok = 0;
    }
    if (outfile_finish(&f, ok))
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
        return usage_error("error takes one FILE or MODEL");
    char gnuplot[PATH_MAX];
    int ready = o->plot != NULL ? plot_ready(o->plot, gnuplot, sizeof gnuplot) : 0;
    if (ready != 0)
        return ready;
    int loaded = load(s, o, argv[0]);
    if (loaded != 0)
        return loaded;
    progress bar = {.last = -1, .unit = "samples"};
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
    dc_status st = dc_error_sweep(s, &so, &report);
    int status = finish_report(s, o, st, report);
    return status != 0 || o->plot == NULL ? status : write_plot(s, gnuplot, o->plot);
}

/* derivcheck merge FILE.json... [--plot FILE.svg] */
static int
run_merge(dc_session *s, const options *o, int argc, char **argv)
{
    if (argc < 1)
        return usage_error("merge takes the JSON outputs of error --shard K/N");
    char gnuplot[PATH_MAX];
    int ready = o->plot != NULL ? plot_ready(o->plot, gnuplot, sizeof gnuplot) : 0;
    if (ready != 0)
        return ready;
    const char *report;
    dc_status st =
        dc_error_merge(s, (const char *const *)argv, (size_t)argc, o->format, o->partial, &report);
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
        return usage_error("models takes no arguments");
    const char *report;
    dc_status st = dc_models_list(s, o->format, &report);
    return finish_report(s, o, st, report);
}

/* The commands' bits, for the options that apply to them (option_help). */
enum {
    CMD_DERIVE = 1 << 0,
    CMD_CHECK = 1 << 1,
    CMD_PROVE = 1 << 2,
    CMD_EVAL = 1 << 3,
    CMD_ERROR = 1 << 4,
    CMD_MERGE = 1 << 5,
    CMD_DOC = 1 << 6,
    CMD_RULES = 1 << 7,
    CMD_PARSE = 1 << 8,
    CMD_MODELS = 1 << 9,
};

static const char *const derive_formats[] = {"text", "json", "markdown", "latex", "numpy", NULL};
static const char *const text_json[] = {"text", "json", NULL};
static const char *const prove_formats[] = {"text", "json", "markdown", NULL};
static const char *const error_formats[] = {"text", "markdown", "json", NULL};
static const char *const doc_formats[] = {"markdown", "latex", "html", "pdf", NULL};
static const char *const text_only[] = {"text", NULL};
static const char *const rules_formats[] = {"text", "json", "markdown", NULL};

/* In the order of the commands' bits. */
static const command commands[] = {
    {"derive",
     "FILE|MODEL",
     "the gradients in both conventions; --trace shows each rule",
     derive_formats,
     {"derive sigmoid", "derive --trace --format markdown examples/relu_network.dc"},
     run_derive},
    {"check",
     "FILE",
     "verify every claim of a derivation; say what is wrong with each",
     text_json,
     {"check examples/mistake_sign.dc", "check --format json examples/ng_sigmoid_wrong.dc"},
     run_check},
    {"prove",
     "FILE|MODEL",
     "prove the deferred and absorbed 1/m placements equal",
     prove_formats,
     {"prove sigmoid", "prove --trace softmax"},
     run_prove},
    {"eval",
     "FILE|MODEL",
     "the loss and every gradient as numbers (--data FILE.json)",
     text_json,
     {"eval sigmoid --seed 3", "eval --data values.json --check-fd examples/relu_network.dc"},
     run_eval},
    {"error",
     "FILE|MODEL",
     "double-precision error of each formulation, certified references",
     error_formats,
     {"error sigmoid --regime saturated --samples 8",
      "error softmax -j 2 --shard 1/2 --format json -o shard1.json"},
     run_error},
    {"merge",
     "FILE.json...",
     "merge the JSON outputs of error --shard K/N",
     error_formats,
     {"merge shard1.json shard2.json", "merge shard*.json --plot error.svg"},
     run_merge},
    {"doc",
     "FILE|MODEL",
     "the whole derivation as one document (markdown, latex, html, pdf)",
     doc_formats,
     {"doc sigmoid -o sigmoid.html", "doc examples/ng_sigmoid_wrong.dc -o wrong.pdf"},
     run_doc},
    {"rules",
     "",
     "list the rule base (file:line of every rule); --verify tests it",
     rules_formats,
     {"rules --format json", "rules --verify --samples 32 --seed 2"},
     run_rules},
    {"parse",
     "FILE|MODEL",
     "print the model back, normalised, with every shape",
     text_only,
     {"parse softmax", "parse examples/numpy_two_layer.dc -o normalised.dc"},
     run_parse},
    {"models",
     "",
     "list the built-in models, usable where FILE is",
     text_json,
     {"models", "models --format json"},
     run_models},
};
enum { NCOMMANDS = sizeof commands / sizeof commands[0] };

/* An option's line in a command's help: the commands (CMD_* bits) it
   applies to with this meaning. An option applies to a command when one
   of its lines names it. */
typedef struct option_line {
    unsigned opt;
    unsigned commands;
    const char *spelling;
    const char *text; /* lines after the first indented by 23 spaces */
} option_line;

static const option_line option_help[] = {
    {OPT_FORMAT,
     CMD_DERIVE | CMD_CHECK | CMD_PROVE | CMD_EVAL | CMD_ERROR | CMD_MERGE | CMD_DOC | CMD_RULES |
         CMD_PARSE | CMD_MODELS,
     "--format FORMAT", NULL},
    {OPT_TRACE, CMD_DERIVE, "--trace",
     "show every rule applied, with its file:line (text, json,\n"
     "                       markdown)"},
    {OPT_TRACE, CMD_PROVE, "--trace",
     "add the certificates to text (json always has them;\n"
     "                       markdown has none)"},
    {OPT_NUMERIC_DEPTH, CMD_PROVE | CMD_DOC, "--numeric-depth N",
     "numeric tests for the gradients at most N backward\n"
     "                       steps from the loss (default: all; 0: none)"},
    {OPT_VERIFY, CMD_RULES, "--verify",
     "check every rule at random points (MPFR, and finite\n"
     "                       differences for adjoints); exit 1 if one fails"},
    {OPT_SEED, CMD_CHECK | CMD_PROVE | CMD_EVAL | CMD_DOC | CMD_ERROR, "--seed N",
     "the random points' seed (default 1)"},
    {OPT_SEED, CMD_RULES, "--seed N", "with --verify: the random points' seed (default 1)"},
    {OPT_SAMPLES, CMD_RULES, "--samples N",
     "with --verify: points per rule, 1 to 10000 (default 16)"},
    {OPT_SAMPLES, CMD_ERROR, "--samples N",
     "samples per regime, 1 to 10000 (default 64, 2 for\n"
     "                       large-m)"},
    {OPT_PREC, CMD_RULES, "--prec BITS",
     "with --verify: MPFR precision, 64 to 10000 (default 256)"},
    {OPT_PREC, CMD_EVAL, "--prec BITS", "MPFR precision, 64 to 10000 (default 256)"},
    {OPT_DATA, CMD_EVAL, "--data FILE.json",
     "values by name, {\"X\": [[...], ...], ...}; the rest\n"
     "                       are drawn from --seed"},
    {OPT_CHECK_FD, CMD_EVAL, "--check-fd",
     "compare every gradient with central finite differences"},
    {OPT_REGIME, CMD_ERROR, "--regime R",
     "typical, saturated, tiny, large-m, pow2-m, odd-m,\n"
     "                       confident, confident-mixed or all (default)"},
    {OPT_JOBS, CMD_ERROR, "-j, --jobs N", "threads (OpenMP); the output does not depend on N"},
    {OPT_SHARD, CMD_ERROR, "--shard K/N",
     "run the samples i with i mod N = K - 1; merge the JSON\n"
     "                       outputs with 'derivcheck merge'"},
    {OPT_PARTIAL, CMD_MERGE, "--partial",
     "merge shards that are not the whole sweep (the result\n"
     "                       says which it holds); without it merge refuses"},
    {OPT_PLOT, CMD_ERROR | CMD_MERGE, "--plot FILE.svg",
     "also draw a histogram of the bits of error of each\n"
     "                       formulation, per quantity and regime, with gnuplot (on\n"
     "                       PATH, or DERIVCHECK_GNUPLOT) into FILE.svg"},
};
enum { NOPTION_LINES = sizeof option_help / sizeof option_help[0] };

/* The options of every command. */
static const char global_options[] =
    "      --rules DIR      rule files and built-in models (default: DERIVCHECK_RULES,\n"
    "                       then the installed rules)\n"
    "  -o, --output FILE    write the result to FILE (replaced whole, never half-written;\n"
    "                       a symlink's target is replaced, a device or FIFO written\n"
    "                       directly; an input file is refused)\n"
    "  -q, --quiet          print nothing but errors (-o FILE is still written)\n"
    "  -h, --help           show this help and exit\n"
    "  -V, --version        show the version and exit\n";

static const char exit_words[] = "Exit status: 0 if everything holds, 1 if something was refuted,\n"
                                 "2 on a usage or input error or when something is undecided.\n";

/* The command's bit. */
static unsigned
command_bit(const command *c)
{
    return 1u << (unsigned)(c - commands);
}

/* The OPT_* bits of the options that apply to C. */
static unsigned
options_of(const command *c)
{
    unsigned opts = 0;
    for (size_t i = 0; i < NOPTION_LINES; i++)
        if (option_help[i].commands & command_bit(c))
            opts |= option_help[i].opt;
    return opts;
}

/* An option as the user spells it, for messages. */
static const char *
option_spelling(unsigned opt)
{
    for (size_t i = 0; i < NOPTION_LINES; i++)
        if (option_help[i].opt == opt)
            return option_help[i].spelling;
    return "?";
}

/* "text (default), json or markdown": C's formats in words, into BUF. */
static const char *
format_words(const command *c, char *buf, size_t size)
{
    size_t n = 0;
    buf[0] = '\0';
    for (size_t i = 0; c->formats[i] != NULL && n < size; i++)
        n += (size_t)snprintf(buf + n, size - n, "%s%s%s",
                              i == 0                      ? ""
                              : c->formats[i + 1] == NULL ? " or "
                                                          : ", ",
                              c->formats[i], i == 0 ? " (default)" : "");
    return buf;
}

static void
print_help(const command *c)
{
    if (c == NULL) {
        printf("Usage: %s COMMAND [OPTION]... [ARG]...\n"
               "Check backpropagation derivations: expand, prove and check gradients.\n\n"
               "Commands:\n",
               program);
        for (size_t i = 0; i < NCOMMANDS; i++)
            printf("  %-8s %-11s %s\n", commands[i].name, commands[i].args, commands[i].summary);
        printf("\nOptions of every command:\n%s\n%s\n"
               "Run '%s COMMAND --help' for a command's own options and examples.\n"
               "Report bugs to: %s\n",
               global_options, exit_words, program, PACKAGE_BUGREPORT);
        return;
    }
    printf("Usage: %s %s [OPTION]...%s%s\n%c%s.\n\nOptions:\n", program, c->name,
           c->args[0] ? " " : "", c->args, c->summary[0] - 'a' + 'A', c->summary + 1);
    for (size_t i = 0; i < NOPTION_LINES; i++) {
        const option_line *l = &option_help[i];
        if (!(l->commands & command_bit(c)))
            continue;
        char words[128];
        const char *text = l->opt == OPT_FORMAT ? format_words(c, words, sizeof words) : l->text;
        int jobs = l->spelling[0] == '-' && l->spelling[1] != '-';
        printf("  %s%-*s %s\n", jobs ? "" : "    ", jobs ? 20 : 16, l->spelling, text);
        if (l->opt == OPT_FORMAT && c->run == run_doc)
            printf("                       (without it, -o's extension decides: .md, .tex,\n"
                   "                       .html, or .pdf, which runs pdflatex)\n");
    }
    printf("%s\nExamples:\n  %s %s\n  %s %s\n\n%s", global_options, program, c->examples[0],
           program, c->examples[1], exit_words);
}

static const command *
find_command(const char *name)
{
    for (size_t i = 0; i < NCOMMANDS; i++)
        if (strcmp(commands[i].name, name) == 0)
            return &commands[i];
    return NULL;
}

/* The command NAME is a slip for, or NULL. */
static const command *
nearest_command(const char *name)
{
    const char *names[NCOMMANDS];
    for (size_t i = 0; i < NCOMMANDS; i++)
        names[i] = commands[i].name;
    const char *near = dc_nearest_name(name, names, NCOMMANDS);
    return near != NULL ? find_command(near) : NULL;
}

/* Whether C writes FORMAT. */
static int
writes_format(const command *c, const char *format)
{
    for (size_t i = 0; c->formats[i] != NULL; i++)
        if (strcmp(c->formats[i], format) == 0)
            return 1;
    return 0;
}

/* The options O gives that C does not take, refused with the exit status;
   0 when all apply. */
static int
refuse_options(const command *c, const options *o)
{
    unsigned extra = o->given & ~options_of(c);
    for (unsigned bit = 1; extra != 0; bit <<= 1) {
        if (!(extra & bit))
            continue;
        fprintf(stderr, "%s: %s does not take %s; it applies to", program, c->name,
                option_spelling(bit));
        for (size_t k = 0, n = 0; k < NCOMMANDS; k++)
            if (options_of(&commands[k]) & bit)
                fprintf(stderr, "%s%s", n++ ? ", " : " ", commands[k].name);
        fprintf(stderr, "\nTry '%s %s --help' for more information.\n", program, c->name);
        return EXIT_USAGE;
    }
    if (o->format != NULL && !writes_format(c, o->format)) {
        char words[128];
        fprintf(stderr, "%s: %s writes %s, not '%s'\nTry '%s %s --help' for more information.\n",
                program, c->name, format_words(c, words, sizeof words), o->format, program,
                c->name);
        return EXIT_USAGE;
    }
    return 0;
}

/* The OPT_* bit of getopt_long's answer C; 0 for the options of every
   command. */
static unsigned
option_bit(int c)
{
    static const char letters[] = "ftySNPDFRjKGMU";
    const char *at = c > 0 ? strchr(letters, c) : NULL;
    return at != NULL ? 1u << (unsigned)(at - letters) : 0;
}

/* ARG, an option getopt_long does not know: refused, with the nearest
   long option of OPTS when ARG is a slip for one. The exit status. */
static int
unknown_option(const char *arg, const struct option *opts)
{
    char name[32];
    const char *names[32], *best = NULL;
    size_t n = 0;
    for (const struct option *p = opts; p->name != NULL && n < 32; p++)
        names[n++] = p->name;
    if (strncmp(arg, "--", 2) == 0) {
        snprintf(name, sizeof name, "%.*s", (int)strcspn(arg + 2, "="), arg + 2);
        best = dc_nearest_name(name, names, n);
    }
    if (best == NULL)
        return usage_error("unknown or incomplete option '%s'", arg);
    return usage_error("unknown option '%s'; did you mean '--%s'?", arg, best);
}

/* Every output path checked before the work (outfile_check): -o and
   --plot; neither may be a file read, the command's operands ARGV
   (ARGC), --data and the files of the rules folder RULES, nor both the
   same. 0, or the exit status after a message. */
static int
outputs_ready(const options *o, const char *rules, int argc, char **argv)
{
    const char **inputs = malloc(((size_t)argc + 1) * sizeof *inputs);
    char models[PATH_MAX + 32], why[2 * PATH_MAX + 128];
    if (inputs == NULL) {
        fprintf(stderr, "%s: out of memory\n", program);
        return EXIT_USAGE;
    }
    for (int i = 0; i < argc; i++)
        inputs[i] = argv[i];
    inputs[argc] = o->data;
    snprintf(models, sizeof models, "%s/models", rules);
    const char *folders[] = {rules, models};
    size_t n = (size_t)argc + 1;
    const char *option = "-o";
    int ok = o->output == NULL || strcmp(o->output, "-") == 0 ||
             outfile_check(o->output, inputs, n, folders, 2, o->plot, why, sizeof why);
    if (ok && o->plot != NULL) {
        option = "--plot";
        ok = outfile_check(o->plot, inputs, n, folders, 2, NULL, why, sizeof why);
    }
    free(inputs);
    if (ok)
        return 0;
    fprintf(stderr, "%s: %s: %s\n", program, option, why);
    return EXIT_USAGE;
}

/* The rules folder: --rules, then DERIVCHECK_RULES, then the source tree
   when this program runs from its build tree; NULL for the installed one,
   where a new session looks. */
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
    return NULL;
}

/* A command with its options and operands, the allocation to fail
   (DERIVCHECK_TEST_FAIL_ALLOC; 0: none), and its exit status. */
typedef struct command_call {
    const command *cmd;
    const options *o;
    int argc;
    char **argv;
    long fail_alloc;
    int status;
} command_call;

/* Run CALL's command in a session of its own, after checking its output
   paths; the failure injection is set here because it is per thread. */
static void *
call_command(void *p)
{
    command_call *call = p;
    if (call->fail_alloc > 0)
        dc_debug_fail_alloc_after(call->fail_alloc);
    char buf[PATH_MAX + 16];
    dc_session *s = dc_session_new();
    const char *dir = s != NULL ? rules_dir(call->o, buf, sizeof buf) : NULL;
    if (s == NULL || (dir != NULL && dc_session_set_rules_dir(s, dir) != DC_OK) ||
        (call->o->numeric_depth >= 0 &&
         dc_session_set_numeric_depth(s, call->o->numeric_depth) != DC_OK)) {
        fprintf(stderr, "%s: out of memory\n", program);
        dc_session_free(s);
        call->status = EXIT_USAGE;
        return NULL;
    }
    call->status = outputs_ready(call->o, dc_session_rules_dir(s), call->argc, call->argv);
    if (call->status == 0)
        call->status = call->cmd->run(s, call->o, call->argc, call->argv);
    dc_session_free(s);
    return NULL;
}

/* The stack a command runs on: every walk over terms is bounded by the
   nesting and height caps (PARSE_MAX_HEIGHT, REWRITE_MAX_DEPTH), and at
   those caps a recursion needs more than the 8 MiB a main thread gets,
   several times more under AddressSanitizer. Reserved, not committed:
   pages are touched only as deep as a walk goes. */
enum { COMMAND_STACK_BYTES = 512 << 20 };

/* Run CALL on a thread with a stack of COMMAND_STACK_BYTES, or on this
   thread when no such thread can be made (a ulimit on address space); its
   exit status. */
static int
run_deep(command_call *call)
{
    pthread_attr_t attr;
    pthread_t thread;
    int started = 0;
    if (pthread_attr_init(&attr) == 0) {
        started = pthread_attr_setstacksize(&attr, COMMAND_STACK_BYTES) == 0 &&
                  pthread_create(&thread, &attr, call_command, call) == 0;
        pthread_attr_destroy(&attr);
    }
    if (started)
        pthread_join(thread, NULL);
    else
        call_command(call);
    return call->status;
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
                                                 {"partial", no_argument, NULL, 'M'},
                                                 {"numeric-depth", required_argument, NULL, 'U'},
                                                 {NULL, 0, NULL, 0}};
    /* clang-format on */
    outfile_set_program(program);
    atexit(outfile_close_stdout); /* --help and --version to a full disk fail too */
    unsigned long n;
    options o = {0};
    o.seed = DEFAULT_SEED;
    o.numeric_depth = -1;
    int version = 0, c;
    opterr = 0;
    while ((c = getopt_long(argc, argv, "o:qhVj:", long_options, NULL)) != -1) {
        o.given |= option_bit(c);
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
        case 'M':
            o.partial = 1;
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
            return unknown_option(argv[optind - 1], long_options);
        }
    }
    if (version) {
        printf("%s %s\n", program, dc_version());
        return 0;
    }
    const command *cmd = NULL;
    if (optind < argc) {
        cmd = find_command(argv[optind]);
        const command *near = cmd == NULL ? nearest_command(argv[optind]) : NULL;
        if (near != NULL)
            return usage_error("unknown command '%s'; did you mean '%s'?", argv[optind],
                               near->name);
        if (cmd == NULL)
            return usage_error("unknown command '%s'", argv[optind]);
    }
    if (o.help) {
        print_help(cmd);
        return 0;
    }
    if (cmd == NULL)
        return usage_error("no command given");
    running = cmd;
    int refused = refuse_options(cmd, &o);
    if (refused != 0)
        return refused;
    /* Testing hook (tests/oom_cli.sh, like Git's GIT_TEST_*): fail the n-th
       allocation the library makes in this run. */
    const char *fail = getenv("DERIVCHECK_TEST_FAIL_ALLOC");
    if (fail != NULL && *fail != '\0') {
        if (!parse_number(fail, 1, LONG_MAX, &n))
            return usage_error("DERIVCHECK_TEST_FAIL_ALLOC takes a positive integer, not '%s'",
                               fail);
    } else
        n = 0;
    command_call call = {cmd, &o, argc - optind - 1, argv + optind + 1, (long)n, 0};
    return run_deep(&call);
}
