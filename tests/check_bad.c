/* check_bad.c: malformed input. Every file of tests/data/bad must be refused
   at the place and with the message its first line expects, and generated
   hostile inputs (binary noise, huge files, deep nesting, endless lines and
   names) must be refused cleanly: an input error with a sensible place,
   never a crash, a hang or a leak. */
#include <check.h>
#include <dirent.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "derivcheck.h"
#include "testutil.h"

#define BAD_DIR DC_TEST_DATADIR "/bad"

enum { MIN_CORPUS = 40, WHY_SIZE = 8192 };

/* ---------------------------------------------------------------- helpers */

/* Why the last verification failed; a static buffer, so that a failing
   assertion (which does not return) leaks nothing. */
static char why[WHY_SIZE];

static int fail_why(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

static int
fail_why(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(why, sizeof why, fmt, ap);
    va_end(ap);
    return 0;
}

static void *
xmalloc(size_t n)
{
    void *p = malloc(n);
    ck_assert_msg(p != NULL, "out of memory allocating %zu bytes", n);
    return p;
}

/* The whole of PATH in a fresh buffer (NUL-terminated; *len excludes it). */
static char *
slurp(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    if (f == NULL)
        return NULL;
    size_t cap = 4096, n = 0;
    char *buf = malloc(cap);
    size_t got;
    while (buf != NULL && (got = fread(buf + n, 1, cap - n - 1, f)) > 0) {
        n += got;
        if (cap - n - 1 == 0) {
            char *bigger = realloc(buf, cap * 2);
            if (bigger == NULL) {
                free(buf);
                buf = NULL;
                break;
            }
            buf = bigger;
            cap *= 2;
        }
    }
    fclose(f);
    if (buf == NULL)
        return NULL;
    buf[n] = '\0';
    *len = n;
    return buf;
}

/* The byte at 1-based LINE and byte COLUMN of SRC, or -1 when that place is
   the end of its line or of the text (or does not exist: -2). */
static int
byte_at(const char *src, size_t len, int line, int column)
{
    size_t i = 0;
    for (int l = 1; l < line; l++) {
        while (i < len && src[i] != '\n')
            i++;
        if (i == len)
            return -2;
        i++;
    }
    size_t start = i;
    while (i < len && src[i] != '\n')
        i++;
    size_t end = i;
    if (column < 1 || start + (size_t)column - 1 > end)
        return -2;
    if (start + (size_t)column - 1 == end)
        return -1;
    return (unsigned char)src[start + (size_t)column - 1];
}

/* Check the session's error against what is expected: status (WANT, or
   WANT2 when that is not DC_OK), LINE and COLUMN (0: any sensible place),
   a FRAGMENT of the message (NULL: any), and the report text: it starts with
   "NAME:LINE:COL: error: ", quotes the line with " NNNNN | " and puts a
   caret under the very byte the column names. SRC/LEN is the text parsed.
   Returns 1, or 0 with the reason in `why`. */
static int
verify(const char *label, dc_session *s, dc_status got, dc_status want, dc_status want2,
       const char *name, const char *src, size_t len, int line, int column, const char *fragment)
{
    if (got != want && (want2 == DC_OK || got != want2))
        return fail_why("%s: status %d, expected %d", label, (int)got, (int)want);
    const dc_error *e = dc_session_error(s);
    if (e == NULL)
        return fail_why("%s: no error recorded", label);
    if (dc_error_status(e) != got)
        return fail_why("%s: error status %d differs from the returned %d", label,
                        (int)dc_error_status(e), (int)got);
    int el = dc_error_line(e), ec = dc_error_column(e);
    const char *msg = dc_error_message(e), *txt = dc_error_text(e);
    if (msg == NULL || txt == NULL)
        return fail_why("%s: no message or no text", label);
    if (line != 0 && (el != line || ec != column))
        return fail_why("%s: error at %d:%d, expected %d:%d (message: %s)", label, el, ec, line,
                        column, msg);
    /* a sensible place in any case: inside the text, or just past its end */
    if (el < 1 || ec < 1 || byte_at(src, len, el, ec) == -2)
        return fail_why("%s: error at %d:%d, which is not a place in the input (message: %s)",
                        label, el, ec, msg);
    if (fragment != NULL && strstr(msg, fragment) == NULL)
        return fail_why("%s: message \"%s\" lacks \"%s\"", label, msg, fragment);
    if (dc_error_file(e) == NULL || strcmp(dc_error_file(e), name) != 0)
        return fail_why("%s: error file '%s', expected '%s'", label,
                        dc_error_file(e) ? dc_error_file(e) : "(null)", name);

    char prefix[4200];
    snprintf(prefix, sizeof prefix, "%s:%d:%d: error: ", name, el, ec);
    if (strncmp(txt, prefix, strlen(prefix)) != 0)
        return fail_why("%s: report does not start with \"%s\":\n%s", label, prefix, txt);

    /* the quoted line and the caret line under it */
    char qprefix[32];
    snprintf(qprefix, sizeof qprefix, " %5d | ", el);
    const char *q = strstr(txt, qprefix);
    if (q == NULL)
        return fail_why("%s: report does not quote line %d:\n%s", label, el, txt);
    q += strlen(qprefix);
    const char *qend = strchr(q, '\n');
    if (qend == NULL)
        return fail_why("%s: quoted line is not terminated:\n%s", label, txt);
    const char *c = qend + 1;
    if (strncmp(c, "       | ", 9) != 0)
        return fail_why("%s: no caret line under the quote:\n%s", label, txt);
    c += 9;
    const char *cend = strchr(c, '\n');
    if (cend == NULL || cend == c || cend[-1] != '^')
        return fail_why("%s: caret line does not end in '^':\n%s", label, txt);
    size_t caret = (size_t)(cend - 1 - c), qlen = (size_t)(qend - q);
    for (size_t i = 0; i < caret; i++)
        if (c[i] != ' ' && c[i] != '\t')
            return fail_why("%s: caret line holds more than blanks:\n%s", label, txt);
    if (cend[1] != '\0')
        return fail_why("%s: text after the caret line:\n%s", label, txt);
    /* the caret stands under the byte that line:col names */
    int b = byte_at(src, len, el, ec);
    if (b == -1) {
        if (caret != qlen)
            return fail_why("%s: caret at %zu, expected just past the quoted line (%zu):\n%s",
                            label, caret, qlen, txt);
    } else {
        char shown = b == '\t' || (b >= 0x20 && b < 0x7f) ? (char)b : '?';
        if (caret >= qlen || q[caret] != shown)
            return fail_why("%s: caret under '%c', expected under '%c' (byte %d:%d):\n%s", label,
                            caret < qlen ? q[caret] : ' ', shown, el, ec, txt);
    }
    return 1;
}

/* Every line of the report is shorter than MAX bytes. */
static int
lines_shorter_than(const char *label, const char *txt, size_t max)
{
    for (const char *p = txt; *p;) {
        const char *nl = strchr(p, '\n');
        size_t n = nl ? (size_t)(nl - p) : strlen(p);
        if (n >= max)
            return fail_why("%s: a report line of %zu bytes (cap %zu): %.200s...", label, n, max,
                            p);
        p += n + (nl != NULL);
    }
    return 1;
}

/* ---------------------------------------------------------------- corpus */

typedef struct bad_file {
    char *name; /* "01-undefined-name.dc" */
} bad_file;

static bad_file *corpus;
static size_t ncorpus;
static int corpus_opened;

static int
compare_files(const void *a, const void *b)
{
    return strcmp(((const bad_file *)a)->name, ((const bad_file *)b)->name);
}

static void
load_corpus(void)
{
    DIR *d = opendir(BAD_DIR);
    if (d == NULL)
        return;
    corpus_opened = 1;
    size_t cap = 0;
    struct dirent *e;
    while ((e = readdir(d)) != NULL) {
        size_t n = strlen(e->d_name);
        if (n <= 3 || e->d_name[0] == '.' || strcmp(e->d_name + n - 3, ".dc") != 0)
            continue;
        if (ncorpus == cap) {
            cap = cap ? cap * 2 : 64;
            bad_file *bigger = realloc(corpus, cap * sizeof *corpus);
            if (bigger == NULL)
                abort();
            corpus = bigger;
        }
        corpus[ncorpus].name = strdup(e->d_name);
        if (corpus[ncorpus].name == NULL)
            abort();
        ncorpus++;
    }
    closedir(d);
    if (ncorpus > 0)
        qsort(corpus, ncorpus, sizeof *corpus, compare_files);
}

static void
free_corpus(void)
{
    for (size_t i = 0; i < ncorpus; i++)
        free(corpus[i].name);
    free(corpus);
    corpus = NULL;
    ncorpus = 0;
}

START_TEST(corpus_size)
{
    ck_assert_msg(corpus_opened, "cannot open %s", BAD_DIR);
    ck_assert_msg(ncorpus >= MIN_CORPUS, "%s holds %zu .dc files, expected at least %d", BAD_DIR,
                  ncorpus, MIN_CORPUS);
}
END_TEST

/* One malformed file: its first line says where and why it must fail. */
START_TEST(bad_file_refused)
{
    ck_assert_msg((size_t)_i < ncorpus, "no file %d", _i);
    const char *name = corpus[_i].name;
    char path[4096];
    snprintf(path, sizeof path, "%s/%s", BAD_DIR, name);

    size_t len = 0;
    char *src = slurp(path, &len);
    ck_assert_msg(src != NULL, "%s: cannot read", name);

    int line = 0, column = 0, at = 0;
    char fragment[512] = "";
    if (sscanf(src, "# expect: %d:%d: %n", &line, &column, &at) == 2 && at > 0) {
        size_t n = strcspn(src + at, "\n");
        if (n >= sizeof fragment)
            n = sizeof fragment - 1;
        memcpy(fragment, src + at, n);
        fragment[n] = '\0';
        while (n > 0 && (fragment[n - 1] == ' ' || fragment[n - 1] == '\r'))
            fragment[--n] = '\0';
    }
    int well_formed = line > 0 && column > 0 && fragment[0] != '\0';

    int ok = 0;
    if (well_formed) {
        /* from the file */
        dc_session *s = dc_session_new();
        ck_assert_ptr_nonnull(s);
        dc_status st = dc_parse_file(s, path);
        /* a documented cap exceeded is DC_ELIMIT, every other mistake DC_EINPUT */
        dc_status want = strstr(fragment, "cap") != NULL ? DC_ELIMIT : DC_EINPUT;
        ok = verify(name, s, st, want, DC_OK, path, src, len, line, column, fragment);
        /* and from memory: the same error */
        if (ok) {
            const dc_error *e = dc_session_error(s);
            char first[WHY_SIZE / 2];
            snprintf(first, sizeof first, "%s", dc_error_text(e));
            dc_session *s2 = dc_session_new();
            ck_assert_ptr_nonnull(s2);
            dc_status st2 = dc_parse_string(s2, path, src, len);
            ok = verify(name, s2, st2, want, DC_OK, path, src, len, line, column, fragment);
            if (ok && strcmp(dc_error_text(dc_session_error(s2)), first) != 0)
                ok = fail_why("%s: dc_parse_string reports\n%s\nbut dc_parse_file\n%s", name,
                              dc_error_text(dc_session_error(s2)), first);
            dc_session_free(s2);
        }
        dc_session_free(s);
    }
    free(src);
    ck_assert_msg(well_formed, "%s: first line is not '# expect: LINE:COL: fragment'", name);
    ck_assert_msg(ok, "%s", why);
}
END_TEST

/* ---------------------------------------------------------------- generated */

/* Parse TEXT[0..len) as NAME and verify the error as verify() does; frees
   the session before asserting. */
static void
expect_string_error(const char *name, const char *textp, size_t len, dc_status want,
                    dc_status want2, int line, int column, const char *fragment,
                    size_t max_report_line)
{
    dc_session *s = dc_session_new();
    ck_assert_ptr_nonnull(s);
    dc_status st = dc_parse_string(s, name, textp, len);
    int ok = verify(name, s, st, want, want2, name, textp, len, line, column, fragment);
    if (ok && max_report_line > 0)
        ok = lines_shorter_than(name, dc_error_text(dc_session_error(s)), max_report_line);
    dc_session_free(s);
    ck_assert_msg(ok, "%s", why);
}

/* A growable byte buffer for building inputs. */
typedef struct buf {
    char *p;
    size_t len, cap;
} buf;

static void
buf_putn(buf *b, const char *s, size_t n)
{
    if (b->len + n + 1 > b->cap) {
        size_t cap = b->cap ? b->cap : 256;
        while (b->len + n + 1 > cap)
            cap *= 2;
        char *bigger = realloc(b->p, cap);
        if (bigger == NULL)
            abort();
        b->p = bigger;
        b->cap = cap;
    }
    memcpy(b->p + b->len, s, n);
    b->len += n;
    b->p[b->len] = '\0';
}

static void
buf_puts(buf *b, const char *s)
{
    buf_putn(b, s, strlen(s));
}

static void
buf_repeat(buf *b, const char *s, size_t times)
{
    for (size_t i = 0; i < times; i++)
        buf_puts(b, s);
}

/* A small deterministic generator (xorshift64*), the same on every libc. */
static uint64_t rng_state;

static uint64_t
rng(void)
{
    rng_state ^= rng_state >> 12;
    rng_state ^= rng_state << 25;
    rng_state ^= rng_state >> 27;
    return rng_state * 2685821657736338717ULL;
}

/* The declarations every generated model starts with: 4 lines. */
static const char header[] = "dims n = 2\n"
                             "batch m = 4\n"
                             "input X[n, m]\n"
                             "param W[n, n]\n";
enum { HEADER_LINES = 4 };

START_TEST(empty_input)
{
    expect_string_error("empty.dc", "", 0, DC_EINPUT, DC_OK, 1, 1, "no model", 200);
}
END_TEST

START_TEST(only_comments_and_blank_lines)
{
    static const char t[] = "# a model will follow\n"
                            "\n"
                            "   # indented comment\n"
                            "\t\n"
                            "# the end\n";
    dc_session *s = dc_session_new();
    ck_assert_ptr_nonnull(s);
    dc_status st = dc_parse_string(s, "comments.dc", t, sizeof t - 1);
    int ok = verify("comments.dc", s, st, DC_EINPUT, DC_OK, "comments.dc", t, sizeof t - 1, 0, 0,
                    "no model");
    int line = ok ? dc_error_line(dc_session_error(s)) : 0;
    dc_session_free(s);
    ck_assert_msg(ok, "%s", why);
    ck_assert_msg(line >= 1 && line <= 6, "comments.dc: error on line %d of 5", line);
}
END_TEST

/* 4 KiB of random bytes, NULs included, under several fixed seeds. */
START_TEST(random_binary)
{
    enum { SIZE = 4096 };
    char *t = xmalloc(SIZE);
    for (uint64_t seed = 1; seed <= 32; seed++) {
        rng_state = 0x9E3779B97F4A7C15ULL * seed;
        for (size_t i = 0; i < SIZE; i++)
            t[i] = (char)(rng() >> 56);
        for (size_t i = seed; i < SIZE; i += 97)
            t[i] = '\0'; /* certainly some NUL bytes */
        if (seed % 2 == 0)
            memcpy(t, header, sizeof header - 1); /* noise after a valid start */
        char name[64];
        snprintf(name, sizeof name, "random-%llu.bin", (unsigned long long)seed);
        dc_session *s = dc_session_new();
        ck_assert_ptr_nonnull(s);
        dc_status st = dc_parse_string(s, name, t, SIZE);
        int ok = verify(name, s, st, DC_EINPUT, DC_OK, name, t, SIZE, 0, 0, NULL);
        if (ok)
            ok = lines_shorter_than(name, dc_error_text(dc_session_error(s)), 400);
        int line = ok ? dc_error_line(dc_session_error(s)) : 0;
        dc_session_free(s);
        if (!ok)
            free(t);
        ck_assert_msg(ok, "%s", why);
        if (seed % 2 == 0 && line <= HEADER_LINES) {
            free(t);
            ck_abort_msg("%s: error on line %d, inside the valid header", name, line);
        }
    }
    free(t);
}
END_TEST

/* Random soup of the language's own tokens after a valid header: whatever
   comes out, an input error must have a sensible place and a caret. */
START_TEST(random_tokens)
{
    static const char *const vocab[] = {
        "X",    "W",    "m",     "n",     "Z",     "dW",         "J",    "1",        "0",
        "2.5",  ".5",   "1e3",   "+",     "-",     "*",          "/",    "@",        "**",
        "^",    "(",    ")",     "[",     "]",     ",",          "=",    ".T",       ".",
        ">",    "<=",   "sum",   "np.",   "exp",   "softmax",    "axis", "keepdims", "True",
        "loss", "dims", "param", "input", "batch", "convention", "auto", "\n",       "\n",
        " ",    "#c\n", "\\\n",  "\t"};
    enum { NV = sizeof vocab / sizeof vocab[0] };
    rng_state = 20240607;
    for (int round = 0; round < 300; round++) {
        buf b = {0};
        buf_puts(&b, header);
        int n = 1 + (int)(rng() % 40);
        for (int i = 0; i < n; i++) {
            buf_puts(&b, vocab[rng() % NV]);
            buf_puts(&b, " ");
        }
        char name[64];
        snprintf(name, sizeof name, "tokens-%d.dc", round);
        dc_session *s = dc_session_new();
        ck_assert_ptr_nonnull(s);
        dc_status st = dc_parse_string(s, name, b.p, b.len);
        int ok = 1;
        if (st != DC_OK)
            ok = verify(name, s, st, DC_EINPUT, DC_OK, name, b.p, b.len, 0, 0, NULL);
        if (!ok) {
            size_t w = strlen(why);
            snprintf(why + w, sizeof why - w, "\ninput:\n%.2000s", b.p);
        }
        dc_session_free(s);
        free(b.p);
        ck_assert_msg(ok, "%s", why);
    }
}
END_TEST

/* About 1 MiB of valid declarations, then a mistake on the last line. */
START_TEST(megabyte_then_error)
{
    buf b = {0};
    int lines = 0;
    char line[64];
    while (b.len < (1u << 20)) {
        snprintf(line, sizeof line, "dims d%06d = 3\n", lines);
        buf_puts(&b, line);
        lines++;
    }
    buf_puts(&b, "param W[d000000, q]\n"); /* q is no dim */
    int want_line = lines + 1;
    expect_string_error("megabyte.dc", b.p, b.len, DC_EINPUT, DC_OK, want_line, 18,
                        "'q' is not a dim", 200);
    free(b.p);
}
END_TEST

/* HEADER, then "Z = " + OPEN x depth + "X" + CLOSE x depth: refused at the
   nesting cap, on the definition's line and near its start (never after
   scanning the whole line). */
static void
expect_nesting_refused(const char *name, const char *open, const char *close, size_t depth)
{
    buf b = {0};
    buf_puts(&b, header);
    buf_puts(&b, "Z = ");
    buf_repeat(&b, open, depth);
    buf_puts(&b, "X");
    buf_repeat(&b, close, depth);
    buf_puts(&b, "\n");
    dc_session *s = dc_session_new();
    ck_assert_ptr_nonnull(s);
    dc_status st = dc_parse_string(s, name, b.p, b.len);
    int ok = verify(name, s, st, DC_ELIMIT, DC_EINPUT, name, b.p, b.len, 0, 0, "nested more than");
    if (ok)
        ok = lines_shorter_than(name, dc_error_text(dc_session_error(s)), 200);
    if (ok) {
        const dc_error *e = dc_session_error(s);
        int cap_columns = 5 + 2 * 200 * (int)strlen(open); /* generous: within the cap */
        if (dc_error_line(e) != HEADER_LINES + 1 || dc_error_column(e) > cap_columns)
            ok = fail_why("%s: nesting refused at %d:%d, expected line %d, column <= %d", name,
                          dc_error_line(e), dc_error_column(e), HEADER_LINES + 1, cap_columns);
    }
    dc_session_free(s);
    free(b.p);
    ck_assert_msg(ok, "%s", why);
}

START_TEST(nesting_parentheses) { expect_nesting_refused("parens.dc", "(", ")", 10000); }
END_TEST

START_TEST(nesting_negations) { expect_nesting_refused("negations.dc", "-(", ")", 10000); }
END_TEST

START_TEST(nesting_calls)
{
    expect_nesting_refused("calls.dc", "exp(", ")", 10000);
    expect_nesting_refused("np-calls.dc", "np.exp(", ")", 10000);
}
END_TEST

START_TEST(nesting_without_brackets)
{
    expect_nesting_refused("minus-chain.dc", "- ", "", 10000);
    expect_nesting_refused("power-chain.dc", "X ** ", "", 10000);
}
END_TEST

/* One line of 100,000 bytes, "Z = X +       ... Q", with Q undefined: the
   column is exact and the quoted line is a short window around it. (Blanks,
   not a chain X + X + ...: a chain of more than PARSE_MAX_DEPTH operators is
   refused as too deep, tests/hostile.sh.) */
START_TEST(very_long_line)
{
    buf b = {0};
    buf_puts(&b, header);
    size_t start = b.len;
    buf_puts(&b, "Z = X +");
    while (b.len - start < 100000 - 4)
        buf_puts(&b, "    ");
    int column = (int)(b.len - start) + 1;
    buf_puts(&b, "Q\n");
    ck_assert_uint_ge(b.len - start, 100000);
    expect_string_error("long-line.dc", b.p, b.len, DC_EINPUT, DC_OK, HEADER_LINES + 1, column,
                        "undefined name 'Q'", 200);
    free(b.p);
}
END_TEST

/* A 100,000-byte identifier, used, and standing as a statement. */
START_TEST(very_long_identifier)
{
    enum { N = 100000 };
    char *ident = xmalloc(N + 1);
    memset(ident, 'a', N);
    ident[N] = '\0';

    buf b = {0};
    buf_puts(&b, header);
    buf_puts(&b, "Z = W @ ");
    buf_puts(&b, ident);
    buf_puts(&b, "\n");
    buf c = {0};
    buf_puts(&c, header);
    buf_puts(&c, ident);
    buf_puts(&c, " + X\n");
    buf d = {0}; /* declared fine, then referred to with one letter changed */
    buf_puts(&d, header);
    buf_puts(&d, "input ");
    buf_puts(&d, ident);
    buf_puts(&d, "[n, m]\n");
    ident[N - 1] = 'b';
    buf_puts(&d, "Z = X + ");
    buf_puts(&d, ident);
    buf_puts(&d, "\n");
    free(ident);

    dc_session *s = dc_session_new();
    ck_assert_ptr_nonnull(s);
    dc_status st = dc_parse_string(s, "long-name.dc", b.p, b.len);
    int ok = verify("long-name.dc", s, st, DC_EINPUT, DC_OK, "long-name.dc", b.p, b.len,
                    HEADER_LINES + 1, 9, "undefined name 'aaaa");
    if (ok)
        ok = lines_shorter_than("long-name.dc", dc_error_text(dc_session_error(s)), 300);
    if (ok) {
        st = dc_parse_string(s, "long-statement.dc", c.p, c.len);
        /* "aaa...a + X": the '=' is missing before the '+' */
        ok = verify("long-statement.dc", s, st, DC_EINPUT, DC_OK, "long-statement.dc", c.p, c.len,
                    HEADER_LINES + 1, N + 2, "expected '=' after 'aaaa");
    }
    if (ok)
        ok = lines_shorter_than("long-statement.dc", dc_error_text(dc_session_error(s)), 300);
    if (ok) {
        st = dc_parse_string(s, "long-typo.dc", d.p, d.len);
        ok = verify("long-typo.dc", s, st, DC_EINPUT, DC_OK, "long-typo.dc", d.p, d.len,
                    HEADER_LINES + 2, 9, "undefined name 'aaaa");
    }
    if (ok)
        ok = lines_shorter_than("long-typo.dc", dc_error_text(dc_session_error(s)), 300);
    dc_session_free(s);
    free(b.p);
    free(c.p);
    free(d.p);
    ck_assert_msg(ok, "%s", why);
}
END_TEST

/* A literal whose exponent has 100,000 digits. */
START_TEST(huge_exponent)
{
    buf b = {0};
    buf_puts(&b, header);
    buf_puts(&b, "Z = X * 1e");
    buf_repeat(&b, "9", 100000);
    buf_puts(&b, "\n");
    expect_string_error("exponent.dc", b.p, b.len, DC_EINPUT, DC_ELIMIT, HEADER_LINES + 1, 9,
                        "exponent beyond the cap", 200);
    free(b.p);
}
END_TEST

/* More than the 16 MiB cap on a .dc file. */
START_TEST(over_size_cap)
{
    size_t n = (17u << 20);
    char *t = xmalloc(n);
    memset(t, ' ', n);
    memcpy(t, header, sizeof header - 1);
    t[n - 1] = '\n';
    dc_session *s = dc_session_new();
    ck_assert_ptr_nonnull(s);
    dc_status st = dc_parse_string(s, "huge.dc", t, n);
    int ok = st == DC_EINPUT || st == DC_ELIMIT;
    const dc_error *e = dc_session_error(s);
    if (!ok)
        fail_why("huge.dc: status %d", (int)st);
    else if (e == NULL || strstr(dc_error_message(e), "cap") == NULL)
        ok = fail_why("huge.dc: the message does not name the cap: %s",
                      e ? dc_error_message(e) : "(no error)");
    else
        ok = lines_shorter_than("huge.dc", dc_error_text(e), 200);
    dc_session_free(s);
    free(t);
    ck_assert_msg(ok, "%s", why);
}
END_TEST

/* ---------------------------------------------------------------- main */

int
main(void)
{
    load_corpus();
    Suite *s = suite_create("bad");

    TCase *tc = tcase_create("corpus");
    tcase_add_test(tc, corpus_size);
    tcase_add_loop_test(tc, bad_file_refused, 0, (int)ncorpus);
    suite_add_tcase(s, tc);

    TCase *gen = tcase_create("generated");
    tcase_set_timeout(gen, 120); /* generous for sanitizer builds; a hang still fails */
    tcase_add_test(gen, empty_input);
    tcase_add_test(gen, only_comments_and_blank_lines);
    tcase_add_test(gen, random_binary);
    tcase_add_test(gen, random_tokens);
    tcase_add_test(gen, megabyte_then_error);
    tcase_add_test(gen, nesting_parentheses);
    tcase_add_test(gen, nesting_negations);
    tcase_add_test(gen, nesting_calls);
    tcase_add_test(gen, nesting_without_brackets);
    tcase_add_test(gen, very_long_line);
    tcase_add_test(gen, very_long_identifier);
    tcase_add_test(gen, huge_exponent);
    tcase_add_test(gen, over_size_cap);
    suite_add_tcase(s, gen);

    int status = tu_run(s);
    free_corpus();
    return status;
}
