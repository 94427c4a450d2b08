/* api.c: the public entry points: sessions, loading models, errors. */
#include <dirent.h>
#include <errno.h>
#include <mpfr.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "base/diag.h"
#include "base/format.h"
#include "base/mem.h"
#include "base/text.h"
#include "lang/model.h"
#include "lang/parse.h"
#include "lang/print.h"
#include "sym/derive.h"
#include "sym/rules.h"
#include "cmd/check.h"
#include "cmd/roundoff.h"
#include "cmd/rules_verify.h"
#include "cmd/values.h"
#include "out/doc.h"
#include "out/plot.h"
#include "out/report.h"
#include "derivcheck.h"

/* Who owns what. A session's memory comes in four lifetimes:
   - pool: the session itself and the rules folder's name;
   - the model (its own pool, model.h) and the rule set (rules.h): what a
     load made, unchanged by the calls that use it;
   - result: what the last call hands out (its report, the model names, its
     error's strings), cleared when the next call begins;
   - work: everything else a call makes, freed when it returns. A command
     on the loaded model works on a view of it (model_view): its
     derivation, gradient symbols and new terms, with the GMP numbers in
     them, live in a term table layered over the model's, from work. So a
     program that loads a model once and calls dc_derive or dc_check on it
     for ever holds no more memory after the thousandth call than after the
     first (tests/check_session.c). */
struct dc_session {
    mem_pool *pool;
    mem_pool *result;
    mem_pool *work; /* NULL between calls */
    const char *rules_dir;
    model *model;
    dc_error error; /* its strings in result */
    int has_error;
    const char *dump;      /* the model printed back, in the model's pool */
    rule_set *rules;       /* loaded from rules_dir when first needed */
    mem_pool *gmp_outer;   /* where GMP allocated before the running call */
    mpfr_exp_t emin, emax; /* MPFR's exponent range before the running call */
    /* the gnuplot script of the last error sweep or merge, for
       dc_error_plot (in plot_pool, which only keep_plot clears); NULL when
       there was none since the model was loaded, or it had nothing to
       plot (plot_empty) */
    mem_pool *plot_pool;
    const char *plot;
    int plot_empty;
    /* the FILE|MODEL the model was loaded as, as the caller gave it (in
       pool): what the error sweep's JSON names, so that shards made in
       different folders agree */
    const char *given;
    const char *error_json; /* the error as JSON (result), when has_error */
    /* the claims of the last dc_check (result), for dc_result_claim */
    dc_claim *claims;
    size_t nclaims;
    long numeric_depth; /* prove's numeric tests: see dc_session_set_numeric_depth */
    void (*progress)(void *ctx, long done, long total); /* dc_session_set_progress */
    void *progress_ctx;
};

/* One claim's verdict as dc_result_claim hands it out; strings in the
   session's result pool. */
struct dc_claim {
    const char *name;
    int line;
    dc_verdict verdict;
    dc_diagnosis diagnosis;
    const char *reason;
    const char *expected;
};

/* The public verdicts are check's, value for value: a claim's verdict
   passes through unconverted. */
_Static_assert((int)DC_VERDICT_OK == (int)CLAIM_HOLDS &&
                   (int)DC_VERDICT_GIVEN == (int)CLAIM_GIVEN_YOURS &&
                   (int)DC_VERDICT_WRONG == (int)CLAIM_REFUTED &&
                   (int)DC_VERDICT_SHAPE == (int)CLAIM_SHAPE &&
                   (int)DC_VERDICT_UNDECIDED == (int)CLAIM_UNDECIDED &&
                   (int)DC_VERDICT_STEP == (int)CLAIM_STEP,
               "dc_verdict and claim_verdict differ");

const char *
dc_version(void)
{
    return PACKAGE_VERSION;
}

const char *
dc_nearest_name(const char *name, const char *const *names, size_t n)
{
    const char *best = NULL;
    size_t len = strlen(name), best_d = 3;
    for (size_t i = 0; i < n; i++) {
        size_t d = text_edit_distance(name, len, names[i], strlen(names[i]));
        if (d == 0)
            return NULL;
        if (d < best_d && d < len) {
            best_d = d;
            best = names[i];
        }
    }
    return best;
}

void
dc_debug_fail_alloc_after(long n)
{
    mem_fail_after(n);
}

dc_session *
dc_session_new(void)
{
    mem_pool *pool = mem_pool_new();
    mem_pool *result = mem_pool_new();
    mem_pool *plot = mem_pool_new();
    if (pool == NULL || result == NULL || plot == NULL) {
        mem_pool_free(pool);
        mem_pool_free(result);
        mem_pool_free(plot);
        return NULL;
    }
    jmp_buf oom;
    if (setjmp(oom)) {
        mem_pool_free(pool);
        mem_pool_free(result);
        mem_pool_free(plot);
        return NULL;
    }
    mem_pool_on_oom(pool, &oom);
    dc_session *s = mem_zalloc(pool, sizeof *s);
    s->rules_dir = mem_strdup(pool, DC_RULES_DEFAULT);
    mem_pool_on_oom(pool, NULL);
    s->pool = pool;
    s->result = result;
    s->plot_pool = plot;
    s->numeric_depth = PROVE_NUMERIC_DEPTH;
    return s;
}

void
dc_session_free(dc_session *s)
{
    if (s == NULL)
        return;
    model_free(s->model);
    rules_free(s->rules);
    mem_pool_free(s->result);
    mem_pool_free(s->plot_pool);
    mem_pool_free(s->pool);
}

/* Every entry point that allocates starts with BEGIN and leaves through
   finish(): an allocation failure anywhere inside, GMP's, MPFR's and
   jansson's included, lands on the setjmp and becomes a DC_ENOMEM error
   value. While the call runs, GMP's and jansson's blocks come from its work
   pool, so the numbers and JSON values that such a jump strands are freed
   with it (mem.h); a load that makes numbers to keep (parse_model,
   rules_load) points GMP at its own pool meanwhile. */
#define BEGIN(s)                                                                                   \
    jmp_buf oom_;                                                                                  \
    if (setjmp(oom_))                                                                              \
        return out_of_memory(s);                                                                   \
    if (!begin_call(s, &oom_))                                                                     \
    return out_of_memory(s)

/* 0 when not even the call's pool can be had. */
static int
begin_call(dc_session *s, jmp_buf *oom)
{
    s->emin = mpfr_get_emin();
    s->emax = mpfr_get_emax();
    s->has_error = 0;
    s->error_json = NULL;
    s->claims = NULL;
    s->nclaims = 0;
    mem_pool_clear(s->result);
    s->work = mem_pool_new();
    if (s->work == NULL)
        return 0;
    mem_pool_on_oom(s->work, oom);
    mem_pool_on_oom(s->result, oom);
    mem_pool_on_oom(s->plot_pool, oom);
    mem_pool_on_oom(s->pool, oom);
    s->gmp_outer = mem_gmp_pool(s->work);
    /* dc_model_dump and parse_model allocate from the model's pool */
    if (s->model != NULL)
        mem_pool_on_oom(s->model->pool, oom);
    return 1;
}

/* MPFR's caches (constants, its pool of integers) outlive calls but their
   blocks belong to the call's pool: drop them before it goes. An
   allocation failure that a lower layer turned into a value (eval_term's
   "out of memory") may have stopped an MPFR function with its exponent
   range extended: the call leaves the range as it found it. */
static void
end_call(dc_session *s)
{
    mpfr_set_emin(s->emin);
    mpfr_set_emax(s->emax);
    mpfr_free_cache();
    ball_free_cache();
    if (s->work != NULL) {
        mem_gmp_pool(s->gmp_outer);
        mem_pool_free(s->work);
        s->work = NULL;
    }
    mem_pool_on_oom(s->result, NULL);
    mem_pool_on_oom(s->plot_pool, NULL);
    mem_pool_on_oom(s->pool, NULL);
    if (s->model != NULL)
        mem_pool_on_oom(s->model->pool, NULL);
}

/* After an allocation failure: the jump may have left an MPFR function
   halfway (its extended exponent range set, a cache half computed), a
   report half written and the pools with a target in a frame that is
   gone. */
static dc_status
out_of_memory(dc_session *s)
{
    mem_pool_clear(s->result);
    end_call(s);
    mpfr_clear_flags();
    diag_oom(&s->error);
    s->has_error = 1;
    s->claims = NULL; /* they were in the result pool */
    s->nclaims = 0;
    s->error_json = "{\"schema_version\": 1, \"error\": {\"status\": \"memory\", \"file\": null, "
                    "\"line\": null, \"column\": null, \"message\": \"out of memory\"}}\n";
    return DC_ENOMEM;
}

/* E as the JSON an input error is written as with --format json
   (docs/json.md), in S's result pool. */
static const char *
error_json(dc_session *s, const dc_error *e)
{
    static const char *const status[] = {[DC_OK] = "ok",
                                         [DC_REFUTED] = "refuted",
                                         [DC_EINPUT] = "input",
                                         [DC_ENOMEM] = "memory",
                                         [DC_ELIMIT] = "limit",
                                         [DC_EIO] = "io",
                                         [DC_UNDECIDED] = "undecided"};
    json_t *o = json_object();
    json_object_set_new(o, "status", json_string(status[e->status]));
    json_object_set_new(o, "file", format_json_string(s->result, e->file));
    json_object_set_new(o, "line", e->line > 0 ? json_integer(e->line) : json_null());
    json_object_set_new(o, "column", e->column > 0 ? json_integer(e->column) : json_null());
    json_object_set_new(o, "message", format_json_string(s->result, e->message));
    json_t *top = json_object();
    json_object_set_new(top, "schema_version", json_integer(FORMAT_JSON_SCHEMA_VERSION));
    json_object_set_new(top, "error", o);
    text t;
    text_init(&t, s->result);
    format_json(&t, top);
    text_putc(&t, '\n');
    return text_str(&t);
}

/* The end of a call that did not run out of memory: its error, if it has
   one, is moved to the result pool (which may itself fail, and land on
   BEGIN), then the work pool goes. */
static dc_status
finish(dc_session *s, dc_status status)
{
    s->has_error = status != DC_OK && status != DC_REFUTED;
    if (s->has_error) {
        diag_keep(&s->error, s->result);
        s->error_json = error_json(s, &s->error);
    }
    end_call(s);
    return status;
}

dc_status
dc_session_set_rules_dir(dc_session *s, const char *dir)
{
    BEGIN(s);
    const char *old = s->rules_dir;
    s->rules_dir = mem_strdup(s->pool, dir);
    mem_release(s->pool, (void *)old);
    rules_free(s->rules);
    s->rules = NULL;
    return finish(s, DC_OK);
}

dc_status
dc_session_set_numeric_depth(dc_session *s, long depth)
{
    BEGIN(s);
    if (depth < 0 || depth > PROVE_MAX_NUMERIC_DEPTH) {
        diag_plain(&s->error, s->result, DC_ELIMIT,
                   "the numeric depth must be from 0 to %d backward steps (the cap), not %ld",
                   PROVE_MAX_NUMERIC_DEPTH, depth);
        return finish(s, DC_ELIMIT);
    }
    s->numeric_depth = depth;
    return finish(s, DC_OK);
}

void
dc_session_set_progress(dc_session *s, void (*progress)(void *ctx, long done, long total),
                        void *ctx)
{
    s->progress = progress;
    s->progress_ctx = ctx;
}

const char *
dc_session_rules_dir(const dc_session *s)
{
    return s->rules_dir;
}

/* Replace the session's model with one parsed from SRC, loaded as GIVEN. */
static dc_status
load_source(dc_session *s, const source *src, const char *given)
{
    const char *old = s->given;
    s->given = mem_strdup(s->pool, given);
    mem_release(s->pool, (void *)old);
    model_free(s->model);
    s->model = NULL;
    s->dump = NULL;
    s->plot = NULL; /* the last sweep was of another model */
    s->model = parse_model(src, &s->error, s->work);
    return s->model != NULL ? DC_OK : s->error.status;
}

dc_status
dc_parse_string(dc_session *s, const char *name, const char *textp, size_t len)
{
    BEGIN(s);
    source src = {name, textp, len};
    return finish(s, load_source(s, &src, name));
}

/* Read all of PATH into memory from S's pool, refusing files over the cap
   before reading them whole. */
static dc_status
read_file(dc_session *s, const char *path, source *src)
{
    FILE *f = fopen(path, "rb");
    if (f == NULL) {
        diag_plain(&s->error, s->work, DC_EIO, "cannot read '%s': %s", path, strerror(errno));
        return DC_EIO;
    }
    text t;
    text_init(&t, s->work);
    char buf[65536];
    size_t n;
    while ((n = fread(buf, 1, sizeof buf, f)) > 0) {
        if (t.len + n > (size_t)PARSE_MAX_BYTES) {
            fclose(f);
            diag_plain(&s->error, s->work, DC_ELIMIT,
                       "'%s' is larger than the cap of %d MiB for a .dc file", path,
                       PARSE_MAX_BYTES >> 20);
            return DC_ELIMIT;
        }
        text_putn(&t, buf, n);
    }
    int bad = ferror(f);
    fclose(f);
    if (bad) {
        diag_plain(&s->error, s->work, DC_EIO, "cannot read '%s'", path);
        return DC_EIO;
    }
    src->name = path;
    src->text = text_str(&t);
    src->len = t.len;
    return DC_OK;
}

dc_status
dc_parse_file(dc_session *s, const char *path)
{
    BEGIN(s);
    source src;
    dc_status st = read_file(s, path, &src);
    if (st == DC_OK)
        st = load_source(s, &src, path);
    return finish(s, st);
}

static int
is_model_name(const char *name)
{
    if (*name == '\0')
        return 0;
    for (const char *c = name; *c; c++)
        if (!(*c == '_' || *c == '-' || (*c >= 'a' && *c <= 'z') || (*c >= 'A' && *c <= 'Z') ||
              (*c >= '0' && *c <= '9')))
            return 0;
    return 1;
}

dc_status
dc_load(dc_session *s, const char *file_or_model)
{
    struct stat st;
    if (stat(file_or_model, &st) == 0 || !is_model_name(file_or_model) || s->rules_dir == NULL)
        return dc_parse_file(s, file_or_model);
    BEGIN(s);
    text path;
    text_init(&path, s->work);
    text_printf(&path, "%s/models/%s.dc", s->rules_dir, file_or_model);
    if (stat(text_str(&path), &st) != 0) {
        if (stat(s->rules_dir, &st) != 0)
            diag_plain(&s->error, s->work, DC_EIO,
                       "'%s' is not a file, and the rules folder '%s' of the built-in models "
                       "is missing: %s (--rules DIR, DERIVCHECK_RULES)",
                       file_or_model, s->rules_dir, strerror(errno));
        else
            diag_plain(&s->error, s->work, DC_EIO,
                       "'%s' is neither a file nor a built-in model (see 'derivcheck models')",
                       file_or_model);
        return finish(s, DC_EIO);
    }
    source src;
    dc_status status = read_file(s, text_str(&path), &src);
    if (status == DC_OK)
        status = load_source(s, &src, file_or_model);
    return finish(s, status);
}

static int
compare_names(const void *a, const void *b)
{
    return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/* The built-in models' names, sorted, into *NAMES (result pool) and
 *COUNT, within a call. */
static dc_status
list_models(dc_session *s, const char *const **names, size_t *count)
{
    if (s->rules_dir == NULL) {
        diag_plain(&s->error, s->work, DC_EIO, "no rules directory is set");
        return DC_EIO;
    }
    text dir;
    text_init(&dir, s->work);
    text_printf(&dir, "%s/models", s->rules_dir);
    DIR *d = opendir(text_str(&dir));
    if (d == NULL) {
        diag_plain(&s->error, s->work, DC_EIO, "cannot read the models folder '%s': %s",
                   text_str(&dir), strerror(errno));
        return DC_EIO;
    }
    /* an allocation failure jumps past closedir: close it on the way */
    jmp_buf here;
    jmp_buf *outer = mem_pool_on_oom(s->result, &here);
    if (setjmp(here)) {
        closedir(d);
        mem_pool_on_oom(s->result, outer);
        mem_oom(s->result);
    }
    size_t n = 0, cap = 0;
    const char **list = NULL;
    struct dirent *e;
    while ((e = readdir(d)) != NULL) {
        size_t len = strlen(e->d_name);
        if (len <= 3 || strcmp(e->d_name + len - 3, ".dc") != 0)
            continue;
        if (n == cap) {
            cap = cap ? cap * 2 : 16;
            list = mem_realloc(s->result, list, cap * sizeof *list);
        }
        list[n++] = mem_strndup(s->result, e->d_name, len - 3);
    }
    mem_pool_on_oom(s->result, outer);
    closedir(d);
    if (n > 0) /* qsort wants a valid pointer even for no elements */
        qsort(list, n, sizeof *list, compare_names);
    *names = list;
    *count = n;
    return DC_OK;
}

dc_status
dc_model_names(dc_session *s, const char *const **names, size_t *count)
{
    *names = NULL;
    *count = 0;
    BEGIN(s);
    return finish(s, list_models(s, names, count));
}

const char *
dc_model_dump(dc_session *s)
{
    if (s->model == NULL)
        return NULL;
    if (s->dump == NULL) {
        /* made once per model, and kept with it */
        jmp_buf oom;
        if (setjmp(oom)) {
            mem_pool_on_oom(s->model->pool, NULL);
            diag_oom(&s->error);
            s->has_error = 1;
            return NULL;
        }
        mem_pool_on_oom(s->model->pool, &oom);
        text t;
        text_init(&t, s->model->pool);
        print_model(&t, s->model);
        s->dump = text_str(&t);
        mem_pool_on_oom(s->model->pool, NULL);
    }
    return s->dump;
}

/* T, written in the work pool like everything a command makes (so that
   the modules' own allocation-failure targets cover it), copied to the
   result pool to outlive the call. */
static const char *
result_text(dc_session *s, const text *t)
{
    return mem_strndup(s->result, t->s != NULL ? t->s : "", t->len);
}

/* Keep RES's gnuplot script past the call, for dc_error_plot. */
static void
keep_plot(dc_session *s, const roundoff_result *res)
{
    text t;
    text_init(&t, s->work);
    s->plot = NULL;
    s->plot_empty = !plot_histograms(&t, res);
    mem_pool_clear(s->plot_pool);
    if (!s->plot_empty)
        s->plot = mem_strndup(s->plot_pool, t.s != NULL ? t.s : "", t.len);
}

/* The end of an error sweep or merge: RES (NULL when it failed, with the
   session's error filled) written in format F into *REPORT, and its plot
   script kept for dc_error_plot. */
static dc_status
finish_sweep(dc_session *s, const roundoff_result *res, format_kind f, const char **report)
{
    if (res == NULL)
        return finish(s, s->error.status);
    text t;
    text_init(&t, s->work);
    roundoff_write(&t, res, f);
    *report = result_text(s, &t);
    keep_plot(s, res);
    return finish(s, DC_OK);
}

/* The session's rule set, loaded on first use. */
static dc_status
need_rules(dc_session *s)
{
    if (s->rules != NULL)
        return DC_OK;
    if (s->rules_dir == NULL) {
        diag_plain(&s->error, s->work, DC_EIO, "no rules directory is set");
        return DC_EIO;
    }
    s->rules = rules_load(s->rules_dir, &s->error, s->work);
    return s->rules != NULL ? DC_OK : s->error.status;
}

/* The format named FORMAT (NULL: text) into *F: one of text, json,
   markdown and latex, which a command checks further; the NumPy module is
   derive's alone (derive_format). */
static dc_status
need_format(dc_session *s, const char *format, format_kind *f)
{
    if (format_named(format != NULL ? format : "text", f) && *f != FORMAT_NUMPY)
        return DC_OK;
    diag_plain(&s->error, s->work, DC_EINPUT,
               *f == FORMAT_NUMPY ? "only derive writes '%s'"
                                  : "unknown format '%s'; expected text, json, markdown or latex",
               format);
    return DC_EINPUT;
}

/* need_format for derive, which also writes the NumPy module (without a
   trace: a module has nowhere to put one). */
static dc_status
derive_format(dc_session *s, const char *format, int with_trace, format_kind *f)
{
    if (format == NULL || !format_named(format, f) || *f != FORMAT_NUMPY)
        return need_format(s, format, f);
    if (!with_trace)
        return DC_OK;
    diag_plain(&s->error, s->work, DC_EINPUT,
               "--trace is written as text, json or markdown, not numpy");
    return DC_EINPUT;
}

dc_status
dc_models_list(dc_session *s, const char *format, const char **report)
{
    *report = NULL;
    BEGIN(s);
    format_kind f;
    dc_status st = need_format(s, format, &f);
    if (st == DC_OK && f != FORMAT_TEXT && f != FORMAT_JSON) {
        diag_plain(&s->error, s->work, DC_EINPUT, "models writes text or json, not '%s'", format);
        st = DC_EINPUT;
    }
    const char *const *names = NULL;
    size_t n = 0;
    if (st == DC_OK)
        st = list_models(s, &names, &n);
    if (st != DC_OK)
        return finish(s, st);
    text t;
    text_init(&t, s->work);
    report_models(&t, names, n, f);
    *report = result_text(s, &t);
    return finish(s, DC_OK);
}

/* What every command on the loaded model starts from: its derivation,
   after checking that a model is loaded and reading the rules. The
   derivation is of a view of the model (*M) whose pool is the call's work
   pool: derivations and terms made for a call go with it. */
static dc_status
derivation_of(dc_session *s, model **m, derivation **d)
{
    *m = NULL;
    *d = NULL;
    if (s->model == NULL) {
        diag_plain(&s->error, s->work, DC_EINPUT, "no model is loaded");
        return DC_EINPUT;
    }
    dc_status st = need_rules(s);
    if (st != DC_OK)
        return st;
    *m = model_view(s->model, s->work);
    *d = derive(*m, s->rules, NULL, &s->error, s->work);
    return *d != NULL ? DC_OK : s->error.status;
}

dc_status
dc_derive(dc_session *s, const char *format, int with_trace, const char **report)
{
    *report = NULL;
    BEGIN(s);
    format_kind f;
    dc_status st = derive_format(s, format, with_trace, &f);
    model *m = NULL;
    derivation *d = NULL;
    if (st == DC_OK)
        st = derivation_of(s, &m, &d);
    if (st != DC_OK)
        return finish(s, st);
    text t;
    text_init(&t, s->work);
    report_derivation(&t, d, s->model->src.name, f, with_trace);
    *report = result_text(s, &t);
    return finish(s, DC_OK);
}

/* The claims of C, copied to the result pool for dc_result_claim. */
static void
keep_claims(dc_session *s, const check_result *c)
{
    dc_claim *all = mem_zalloc(s->result, (c->n + 1) * sizeof *all);
    for (size_t i = 0; i < c->n; i++) {
        const claim_result *r = &c->r[i];
        text t;
        text_init(&t, s->work);
        if (r->expected != NULL)
            print_term(&t, r->expected);
        all[i] = (dc_claim){.name = mem_strdup(s->result, r->claim->name),
                            .line = r->line,
                            .verdict = (dc_verdict)r->verdict,
                            .diagnosis = r->diagnosis,
                            .reason = r->reason != NULL ? mem_strdup(s->result, r->reason) : NULL,
                            .expected = r->expected != NULL ? result_text(s, &t) : NULL};
    }
    s->claims = all;
    s->nclaims = c->n;
}

/* The derivation is not the derivative of its loss (O): DC_UNDECIDED, the
   error saying which gradients and rules (the report is written too). */
static dc_status
unsound(dc_session *s, const oracle_result *o)
{
    diag_plain(&s->error, s->work, DC_UNDECIDED, "%s: %s (run derivcheck rules --verify)",
               s->model->src.name, oracle_words(o, s->work));
    return DC_UNDECIDED;
}

/* What the check C comes to, as a status: an undecided one's error says
   which claims no method decided. */
static dc_status
check_status(dc_session *s, const check_result *c)
{
    if (c->oracle->joint.status == ORACLE_DIFFERS)
        return unsound(s, c->oracle);
    if (c->outcome != CHECK_UNDECIDED)
        return c->outcome == CHECK_ALL_HOLD ? DC_OK : DC_REFUTED;
    text t;
    text_init(&t, s->work);
    for (size_t i = 0; i < c->n; i++)
        if (c->r[i].verdict == CLAIM_UNDECIDED)
            text_printf(&t, "%s%s (line %d)", t.len > 0 ? ", " : "", c->r[i].claim->name,
                        c->r[i].line);
    diag_plain(&s->error, s->work, DC_UNDECIDED,
               "%s: no method decided %s (the report says why); nothing was refuted",
               s->model->src.name, text_str(&t));
    return DC_UNDECIDED;
}

dc_status
dc_check(dc_session *s, unsigned long seed, const char *format, const char **report)
{
    *report = NULL;
    BEGIN(s);
    format_kind f;
    dc_status st = need_format(s, format, &f);
    if (st == DC_OK && f != FORMAT_TEXT && f != FORMAT_JSON) {
        diag_plain(&s->error, s->work, DC_EINPUT, "check writes text or json");
        st = DC_EINPUT;
    }
    int claims = 0;
    for (size_t i = 0; st == DC_OK && s->model != NULL && i < s->model->nsymbols; i++)
        claims += s->model->symbols[i]->kind == SYM_CLAIM;
    if (st == DC_OK && s->model != NULL && claims == 0) {
        diag_plain(&s->error, s->work, DC_EINPUT,
                   "%s has no claims to check (write them as dV = expression after the loss)",
                   s->model->src.name);
        st = DC_EINPUT;
    }
    model *m = NULL;
    derivation *d = NULL;
    if (st == DC_OK)
        st = derivation_of(s, &m, &d);
    check_result *c = st == DC_OK ? check_claims(m, d, s->rules, seed, &s->error, s->work) : NULL;
    if (c == NULL)
        return finish(s, st != DC_OK ? st : s->error.status);
    text t;
    text_init(&t, s->work);
    report_check(&t, c, d, s->model->src.name, f);
    keep_claims(s, c);
    *report = result_text(s, &t);
    return finish(s, check_status(s, c));
}

size_t
dc_result_claim_count(const dc_session *s)
{
    return s->nclaims;
}

const dc_claim *
dc_result_claim(const dc_session *s, size_t i)
{
    return i < s->nclaims ? &s->claims[i] : NULL;
}

const char *
dc_claim_name(const dc_claim *c)
{
    return c->name;
}

int
dc_claim_line(const dc_claim *c)
{
    return c->line;
}

dc_verdict
dc_claim_verdict(const dc_claim *c)
{
    return c->verdict;
}

dc_diagnosis
dc_claim_diagnosis(const dc_claim *c)
{
    return c->diagnosis;
}

const char *
dc_claim_reason(const dc_claim *c)
{
    return c->reason;
}

const char *
dc_claim_expected(const dc_claim *c)
{
    return c->expected;
}

const char *
dc_verdict_code(dc_verdict v)
{
    return check_verdict_code((claim_verdict)v);
}

const char *
dc_diagnosis_code(dc_diagnosis d)
{
    return check_diagnosis_code(d);
}

dc_status
dc_prove(dc_session *s, unsigned long seed, const char *format, int with_trace, const char **report)
{
    *report = NULL;
    BEGIN(s);
    format_kind f;
    dc_status st = need_format(s, format, &f);
    if (st == DC_OK && f == FORMAT_LATEX) {
        diag_plain(&s->error, s->work, DC_EINPUT, "prove writes text, json or markdown");
        st = DC_EINPUT;
    }
    model *m = NULL;
    derivation *d = NULL;
    if (st == DC_OK)
        st = derivation_of(s, &m, &d);
    proof *p = st == DC_OK ? prove(d, s->rules, seed, s->numeric_depth, &s->error, s->work) : NULL;
    if (p == NULL)
        return finish(s, st != DC_OK ? st : s->error.status);
    text t;
    text_init(&t, s->work);
    report_proof(&t, p, s->model->src.name, f, with_trace);
    *report = result_text(s, &t);
    if (p->oracle->joint.status == ORACLE_DIFFERS)
        return finish(s, unsound(s, p->oracle));
    if (p->verdict == PROVE_UNDECIDED) {
        /* neither holds nor refuted: the report is written, with this error */
        diag_plain(&s->error, s->work, DC_UNDECIDED,
                   "prove could not decide every parameter gradient and refuted none: the "
                   "report says which method could not run, and why");
        return finish(s, DC_UNDECIDED);
    }
    return finish(s, p->verdict == PROVE_REFUTED ? DC_REFUTED : DC_OK);
}

enum { DOC_ERROR_SAMPLES = 16 }; /* per regime, in a document's error tables */

dc_status
dc_doc(dc_session *s, unsigned long seed, const char *format, const char **report)
{
    *report = NULL;
    BEGIN(s);
    doc_format f;
    dc_status st = DC_OK;
    if (!doc_format_named(format != NULL ? format : "markdown", &f)) {
        diag_plain(&s->error, s->work, DC_EINPUT,
                   "unknown document format '%s'; expected markdown, latex or html", format);
        st = DC_EINPUT;
    }
    model *m = NULL;
    derivation *d = NULL;
    if (st == DC_OK)
        st = derivation_of(s, &m, &d);
    if (st != DC_OK)
        return finish(s, st);
    int claims = 0;
    for (size_t i = 0; i < s->model->nsymbols; i++)
        claims += s->model->symbols[i]->kind == SYM_CLAIM;
    proof *p = prove(d, s->rules, seed, s->numeric_depth, &s->error, s->work);
    check_result *c = NULL;
    if (p != NULL && claims > 0)
        c = check_claims(m, d, s->rules, seed, &s->error, s->work);
    if (p == NULL || (claims > 0 && c == NULL))
        return finish(s, s->error.status);
    /* the error tables: typical, saturated and confident outputs, a few
       samples each (a model without a sigmoid or softmax output has neither
       of the last two) */
    roundoff_request rq = {.rules = s->rules,
                           .seed = seed,
                           .samples = DOC_ERROR_SAMPLES,
                           .threads = 1,
                           .regimes = 1u << ROUNDOFF_TYPICAL | 1u << ROUNDOFF_SATURATED |
                                      1u << ROUNDOFF_CONFIDENT,
                           .model_name = s->model->src.name,
                           .claims = c};
    dc_error scratch;
    roundoff_result *errors = roundoff_sweep(d, &rq, &scratch, s->work);
    if (errors == NULL) {
        rq.regimes = 1u << ROUNDOFF_TYPICAL;
        errors = roundoff_sweep(d, &rq, &s->error, s->work);
    }
    if (errors == NULL)
        return finish(s, s->error.status);
    doc_input in = {
        .d = d, .p = p, .c = c, .errors = errors, .name = s->model->src.name, .seed = seed};
    text t;
    text_init(&t, s->work);
    doc_write(&t, &in, f);
    *report = result_text(s, &t);
    if (p->oracle->joint.status == ORACLE_DIFFERS)
        return finish(s, unsound(s, p->oracle));
    if (p->verdict == PROVE_REFUTED)
        return finish(s, DC_REFUTED);
    return finish(s, c != NULL ? check_status(s, c) : DC_OK);
}

/* Read the data file (if any) and write the numbers of D into *REPORT;
   the data set's GMP numbers are cleared if an allocation fails. */
static dc_status
eval_report(dc_session *s, const derivation *d, const char *data_path, values_request *rq,
            const char **report)
{
    data_set *volatile data = NULL; /* read after a longjmp */
    if (data_path != NULL) {
        data = data_read(data_path, d->m, s->work, &s->error);
        if (data == NULL)
            return s->error.status;
    }
    jmp_buf here;
    jmp_buf *outer = mem_pool_on_oom(s->work, &here);
    if (setjmp(here)) {
        data_free(data);
        mem_pool_on_oom(s->work, outer);
        longjmp(*outer, 1);
    }
    rq->data = data;
    rq->rules = s->rules;
    rq->model_name = s->model->src.name;
    text t;
    text_init(&t, s->work);
    dc_status st = values_report(&t, d, rq, &s->error, s->work);
    if (st == DC_OK || st == DC_REFUTED || st == DC_UNDECIDED)
        *report = result_text(s, &t);
    mem_pool_on_oom(s->work, outer);
    data_free(data);
    return st;
}

dc_status
dc_eval(dc_session *s, const char *data_path, unsigned long seed, long prec, const char *format,
        int check_fd, const char **report)
{
    *report = NULL;
    BEGIN(s);
    values_request rq = {.prec = prec,
                         .seed = seed,
                         .data_name = data_path,
                         .check_fd = check_fd,
                         .progress = s->progress,
                         .progress_ctx = s->progress_ctx};
    dc_status st = need_format(s, format, &rq.format);
    if (st == DC_OK && rq.format != FORMAT_TEXT && rq.format != FORMAT_JSON) {
        diag_plain(&s->error, s->work, DC_EINPUT, "eval writes text or json, not '%s'", format);
        st = DC_EINPUT;
    }
    model *m = NULL;
    derivation *d = NULL;
    if (st == DC_OK)
        st = derivation_of(s, &m, &d);
    if (st == DC_OK)
        st = eval_report(s, d, data_path, &rq, report);
    return finish(s, st);
}

/* The regimes O names, as a set of bits; 0 when the name is unknown. */
static unsigned
sweep_regimes(const dc_sweep_options *o)
{
    if (o->regime == NULL || strcmp(o->regime, "all") == 0)
        return (1u << ROUNDOFF_NREGIMES) - 1;
    roundoff_regime r;
    return roundoff_regime_named(o->regime, &r) ? 1u << r : 0;
}

dc_status
dc_error_sweep(dc_session *s, const dc_sweep_options *o, const char **report)
{
    *report = NULL;
    s->plot = NULL;
    BEGIN(s);
    format_kind f;
    dc_status st = need_format(s, o->format, &f);
    if (st == DC_OK && f == FORMAT_LATEX) {
        diag_plain(&s->error, s->work, DC_EINPUT, "error writes text, markdown or json");
        st = DC_EINPUT;
    }
    roundoff_request rq = {.seed = o->seed,
                           .samples = o->samples,
                           .regimes = sweep_regimes(o),
                           .threads = o->threads,
                           .shard = o->shard,
                           .nshards = o->nshards,
                           .progress = o->progress,
                           .progress_ctx = o->progress_ctx};
    if (st == DC_OK && rq.regimes == 0) {
        diag_plain(&s->error, s->work, DC_EINPUT,
                   "unknown regime '%s'; expected typical, saturated, tiny, large-m, pow2-m, "
                   "odd-m, confident, confident-mixed or all",
                   o->regime);
        st = DC_EINPUT;
    }
    if (st == DC_OK && (o->samples < 0 || o->samples > ROUNDOFF_MAX_SAMPLES ||
                        (o->nshards > 0 && (o->shard < 1 || o->shard > o->nshards)))) {
        diag_plain(&s->error, s->work, DC_EINPUT,
                   "samples must be 1 to %d and the shard K of N with 1 <= K <= N",
                   ROUNDOFF_MAX_SAMPLES);
        st = DC_EINPUT;
    }
    model *m = NULL;
    derivation *d = NULL;
    if (st == DC_OK)
        st = derivation_of(s, &m, &d);
    if (st != DC_OK)
        return finish(s, st);
    rq.rules = s->rules;
    rq.model_name = s->given;
    /* the person's own formulas are measured too: check says which hold */
    for (size_t i = 0; i < m->nsymbols && rq.claims == NULL; i++)
        if (m->symbols[i]->kind == SYM_CLAIM) {
            rq.claims = check_claims(m, d, s->rules, rq.seed, &s->error, s->work);
            if (rq.claims == NULL)
                return finish(s, s->error.status);
        }
    roundoff_result *res = roundoff_sweep(d, &rq, &s->error, s->work);
    if (res != NULL)
        roundoff_identify(res, s->model->src.text, s->model->src.len, s->rules);
    return finish_sweep(s, res, f, report);
}

dc_status
dc_error_merge(dc_session *s, const char *const *paths, size_t n, const char *format, int partial,
               const char **report)
{
    *report = NULL;
    s->plot = NULL;
    BEGIN(s);
    format_kind f;
    dc_status st = need_format(s, format, &f);
    if (st == DC_OK && f == FORMAT_LATEX) {
        diag_plain(&s->error, s->work, DC_EINPUT, "merge writes text, markdown or json");
        st = DC_EINPUT;
    }
    if (st != DC_OK)
        return finish(s, st);
    const char **texts = mem_zalloc(s->work, (n + 1) * sizeof *texts);
    for (size_t i = 0; i < n; i++) {
        source src;
        st = read_file(s, paths[i], &src);
        if (st != DC_OK)
            return finish(s, st);
        texts[i] = src.text;
    }
    return finish_sweep(s, roundoff_merge(texts, paths, n, partial, s->work, &s->error), f, report);
}

dc_status
dc_error_plot(dc_session *s, const char **script)
{
    *script = NULL;
    BEGIN(s);
    if (s->plot == NULL) {
        diag_plain(&s->error, s->work, DC_EINPUT,
                   s->plot_empty ? "the sweep has no formulation to plot"
                                 : "no error sweep or merge to plot");
        return finish(s, DC_EINPUT);
    }
    *script = mem_strdup(s->result, s->plot);
    return finish(s, DC_OK);
}

dc_status
dc_rules_list(dc_session *s, const char *format, const char **report)
{
    *report = NULL;
    BEGIN(s);
    format_kind f;
    dc_status st = need_format(s, format, &f);
    if (st == DC_OK)
        st = need_rules(s);
    if (st != DC_OK)
        return finish(s, st);
    text t;
    text_init(&t, s->work);
    report_rules(&t, s->rules, f);
    *report = result_text(s, &t);
    return finish(s, DC_OK);
}

dc_status
dc_rules_verify(dc_session *s, unsigned long seed, int samples, long prec, const char **report)
{
    *report = NULL;
    BEGIN(s);
    dc_status st = need_rules(s);
    if (st != DC_OK)
        return finish(s, st);
    text t;
    text_init(&t, s->work);
    int unrun;
    int failed = rules_verify(s->rules, seed, samples, prec, &t, &unrun, &s->error, s->work);
    if (failed < 0)
        return finish(s, s->error.status);
    *report = result_text(s, &t);
    if (failed == 0 && unrun > 0) {
        /* neither holds nor refuted: the report is written, with this error */
        diag_plain(&s->error, s->work, DC_UNDECIDED,
                   "rules --verify could not check %d rule%s at any point (see the n/a lines)",
                   unrun, unrun > 1 ? "s" : "");
        return finish(s, DC_UNDECIDED);
    }
    return finish(s, failed == 0 ? DC_OK : DC_REFUTED);
}

const dc_error *
dc_session_error(const dc_session *s)
{
    return s->has_error ? &s->error : NULL;
}

const char *
dc_session_error_json(const dc_session *s)
{
    return s->has_error ? s->error_json : NULL;
}

dc_status
dc_error_status(const dc_error *e)
{
    return e->status;
}

const char *
dc_error_file(const dc_error *e)
{
    return e->file;
}

int
dc_error_line(const dc_error *e)
{
    return e->line;
}

int
dc_error_column(const dc_error *e)
{
    return e->column;
}

const char *
dc_error_message(const dc_error *e)
{
    return e->message;
}

const char *
dc_error_text(const dc_error *e)
{
    return e->formatted;
}
