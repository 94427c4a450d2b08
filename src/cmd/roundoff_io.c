/* roundoff_io.c: a sweep written as text, Markdown or JSON; shards' JSON read and merged. */
#include "cmd/roundoff_private.h"

#include <ctype.h>
#include <errno.h>
#include <jansson.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/format.h"

/* ---------------------------------------------------------------- writing */

static const char BITS_WORDS[] =
    "bits of error per entry = log2(1 + ulps between the double result and the correctly "
    "rounded true value): 0 is correctly rounded, 64 a NaN";
static const char REFERENCE_WORDS[] =
    "references: interval arithmetic (MPFI) at 128, 256, 512, ... bits until the interval "
    "enclosing the true value rounds to one double, which is then its correct rounding; "
    "entries still uncertain at 10000 bits are unsampleable, never counted as 0 bits";

static double
mean_bits(const roundoff_stat *st)
{
    return st->entries > 0 ? (double)st->micro_bits / ROUNDOFF_MICRO / (double)st->entries : 0;
}

/* A double as JSON: a number that reads back exactly, or "nan", "inf",
   "-inf" where format_json_number would write null, which would not tell
   merge a NaN from an infinity. */
static json_t *
json_double(double x)
{
    if (isnan(x))
        return json_string("nan");
    if (isinf(x))
        return json_string(x > 0 ? "inf" : "-inf");
    return format_json_number(x);
}

/* A row of a regime's table: one formulation's stats, strings from POOL. */
static json_t *
stat_json(mem_pool *pool, const roundoff_stat *st)
{
    json_t *row = json_object();
    json_object_set_new(row, "quantity", format_json_string(pool, st->quantity));
    json_object_set_new(row, "formulation", format_json_string(pool, st->formulation));
    json_object_set_new(row, "formula", format_json_string(pool, st->formula));
    json_object_set_new(row, "entries", json_integer(st->entries));
    json_object_set_new(row, "unsampleable", json_integer(st->unsampleable));
    json_object_set_new(row, "micro_bits", json_integer(st->micro_bits));
    json_object_set_new(row, "mean_bits", json_double(mean_bits(st)));
    json_object_set_new(row, "max_bits", json_double(st->max_bits));
    /* a row without a finite entry has no relative error: null, not 0 */
    json_object_set_new(row, "max_rel",
                        st->nan == st->entries ? json_null() : json_double(st->max_rel));
    json_object_set_new(row, "nan", json_integer(st->nan));
    json_object_set_new(row, "inf", json_integer(st->inf));
    const roundoff_worst *w = &st->worst;
    if (w->sample >= 0) {
        json_t *worst = json_object();
        json_object_set_new(worst, "sample", json_integer(w->sample));
        json_object_set_new(worst, "row", json_integer(w->row));
        json_object_set_new(worst, "col", json_integer(w->col));
        json_object_set_new(worst, "bits", json_double(w->bits));
        json_object_set_new(worst, "computed", json_double(w->computed));
        json_object_set_new(worst, "reference", json_double(w->reference));
        json_object_set_new(row, "worst", worst);
    }
    json_t *bins = json_array();
    for (int b = 0; b < ROUNDOFF_BINS; b++)
        json_array_append_new(bins, json_integer(st->histogram[b]));
    json_object_set_new(row, "histogram", bins);
    return row;
}

/* RES as JSON, what roundoff_merge reads: the head a member a line, then
   each regime's head the same way and its rows one a line. */
static void
write_json(text *out, const roundoff_result *res)
{
    mem_pool *pool = out->pool;
    text_putc(out, '{');
    format_json_member(out, "\n  ", "schema_version", json_integer(FORMAT_JSON_SCHEMA_VERSION));
    format_json_member(out, ",\n  ", "command", json_string("error"));
    format_json_member(out, ",\n  ", "model", format_json_string(pool, res->model_name));
    format_json_member(out, ",\n  ", "seed", format_json_unsigned(res->seed));
    format_json_member(out, ",\n  ", "samples_asked", json_integer(res->samples_asked));
    format_json_member(out, ",\n  ", "shard", json_integer(res->shard));
    format_json_member(out, ",\n  ", "nshards", json_integer(res->nshards));
    format_json_member(out, ",\n  ", "bits", json_string(BITS_WORDS));
    format_json_member(out, ",\n  ", "reference", json_string(REFERENCE_WORDS));
    format_json_key(out, ",\n  ", "regimes");
    text_putc(out, '[');
    for (size_t t = 0; t < res->ntables; t++) {
        const roundoff_table *tab = &res->tables[t];
        text_puts(out, t ? ",\n    {" : "\n    {");
        format_json_member(out, "\n      ", "regime",
                           json_string(roundoff_regime_name(tab->regime)));
        format_json_member(out, ",\n      ", "draws", format_json_string(pool, tab->draws));
        format_json_member(out, ",\n      ", "batch", json_integer(tab->batch));
        format_json_member(out, ",\n      ", "samples", json_integer(tab->samples));
        format_json_member(out, ",\n      ", "max_prec", json_integer(tab->max_prec));
        format_json_key(out, ",\n      ", "rows");
        text_putc(out, '[');
        for (size_t k = 0; k < tab->n; k++) {
            text_puts(out, k ? ",\n        " : "\n        ");
            format_json(out, stat_json(pool, &tab->stats[k]));
        }
        text_puts(out, "\n      ]\n    }");
    }
    text_puts(out, "\n  ]\n}\n");
}

/* How the command line names the model: a built-in one by its name. */
static const char *
model_word(const char *path)
{
    static char buf[256];
    const char *b = format_base_name(path);
    size_t n = strlen(b);
    if (n > 3 && strcmp(b + n - 3, ".dc") == 0 && b - path >= 7 &&
        strncmp(b - 7, "models/", 7) == 0 && n - 3 < sizeof buf) {
        memcpy(buf, b, n - 3);
        buf[n - 3] = '\0';
        return buf;
    }
    return b;
}

/* "1.2e-16", "inf", "0" for the relative error of ST, in BUF of 32
   bytes; "n/a" when no entry was finite. */
static const char *
rel_words(char *buf, const roundoff_stat *st)
{
    double x = st->max_rel;
    if (st->nan == st->entries)
        return "n/a";
    if (isinf(x))
        return "inf";
    if (x == 0)
        return "0";
    snprintf(buf, 32, "%.2g", x);
    return buf;
}

/* The columns of a regime's table, and how Markdown aligns them. */
static const char *const COLUMNS[] = {
    "quantity", "formulation", "mean bits", "max bits",     "max rel err",
    "NaN",      "Inf",         "entries",   "unsampleable", "worst (sample, entry)"};
enum { NCOLUMNS = sizeof COLUMNS / sizeof COLUMNS[0] };
static const char COLUMN_ALIGN[] = "llrrrrrrrl";

static void
write_table(text *out, const roundoff_result *res, const roundoff_table *tab, int md)
{
    const char *name = roundoff_regime_name(tab->regime);
    if (md) {
        text_printf(out, "\n## Regime %s\n\n%s; %ld samples; references needed up to %ld bits\n\n",
                    name, tab->draws, tab->samples, tab->max_prec);
        format_markdown_head(out, NCOLUMNS, COLUMNS, COLUMN_ALIGN);
    } else
        text_printf(out,
                    "\nRegime %s: %ld samples; references needed up to %ld bits\n  %s\n"
                    "  %-8s %-17s %9s %8s %11s %5s %5s %8s %12s  %s\n",
                    name, tab->samples, tab->max_prec, tab->draws, COLUMNS[0], COLUMNS[1],
                    COLUMNS[2], COLUMNS[3], COLUMNS[4], COLUMNS[5], COLUMNS[6], COLUMNS[7],
                    COLUMNS[8], COLUMNS[9]);
    for (size_t k = 0; k < tab->n; k++) {
        const roundoff_stat *st = &tab->stats[k];
        char worst[96] = "-", rel[32];
        if (st->worst.sample >= 0)
            snprintf(worst, sizeof worst, "%ld, (%ld, %ld)", st->worst.sample, st->worst.row,
                     st->worst.col);
        if (md) {
            char num[6][32];
            snprintf(num[0], 32, "%.2f", mean_bits(st));
            snprintf(num[1], 32, "%.2f", st->max_bits);
            snprintf(num[2], 32, "%ld", st->nan);
            snprintf(num[3], 32, "%ld", st->inf);
            snprintf(num[4], 32, "%ld", st->entries);
            snprintf(num[5], 32, "%ld", st->unsampleable);
            const char *cells[NCOLUMNS] = {
                st->quantity, st->formulation, num[0], num[1], rel_words(rel, st),
                num[2],       num[3],          num[4], num[5], worst};
            format_markdown_row(out, NCOLUMNS, cells);
        } else
            text_printf(out, "  %-8s %-17s %9.2f %8.2f %11s %5ld %5ld %8ld %12ld  %s\n",
                        st->quantity, st->formulation, mean_bits(st), st->max_bits,
                        rel_words(rel, st), st->nan, st->inf, st->entries, st->unsampleable, worst);
    }
    /* the worst entry of the whole table, to reproduce */
    const roundoff_stat *w = NULL;
    for (size_t k = 0; k < tab->n; k++)
        if (tab->stats[k].worst.sample >= 0 &&
            (w == NULL || tab->stats[k].worst.bits > w->worst.bits))
            w = &tab->stats[k];
    if (w != NULL)
        text_printf(out,
                    "%sworst: %s %s, %.2f bits at sample %ld, entry (%ld, %ld): computed %.17g, "
                    "reference %.17g (reproduce: derivcheck error %s --regime %s --seed %lu "
                    "--samples %ld)\n",
                    md ? "\n" : "  ", w->quantity, w->formulation, w->worst.bits, w->worst.sample,
                    w->worst.row, w->worst.col, w->worst.computed, w->worst.reference,
                    model_word(res->model_name), name, res->seed, w->worst.sample + 1);
}

void
roundoff_write(text *out, const roundoff_result *res, format_kind f)
{
    if (f == FORMAT_JSON) {
        write_json(out, res);
        return;
    }
    int md = f == FORMAT_MARKDOWN;
    text_printf(out, "%sDouble-precision error of each formulation: %s, seed %lu", md ? "# " : "",
                format_base_name(res->model_name), res->seed);
    if (res->nshards > 1)
        text_printf(out, ", shard %d of %d", res->shard, res->nshards);
    text_printf(out, "\n%s%s\n%s%s\n", md ? "\n" : "", BITS_WORDS, md ? "\n" : "", REFERENCE_WORDS);
    for (size_t t = 0; t < res->ntables; t++)
        write_table(out, res, &res->tables[t], md);
    if (res->ntables == 0)
        return;
    const roundoff_table *tab = &res->tables[0];
    text_printf(out,
                "\n%sFormulas (in the order written; C forms computed directly in double):\n%s",
                md ? "## " : "", md ? "\n" : "");
    for (size_t k = 0; k < tab->n; k++) {
        const roundoff_stat *st = &tab->stats[k];
        if (md)
            text_printf(out, "- %s, %s: `%s`\n", st->quantity, st->formulation, st->formula);
        else
            text_printf(out, "  %s %s: %s\n", st->quantity, st->formulation, st->formula);
    }
}

/* ---------------------------------------------------------------- merging shards */

static int
read_double(const json_t *node, double *out)
{
    if (json_is_number(node)) {
        *out = json_number_value(node);
        return 1;
    }
    const char *s = json_string_value(node);
    if (s == NULL)
        return 0;
    if (strcmp(s, "nan") == 0)
        *out = NAN;
    else if (strcmp(s, "inf") == 0)
        *out = INFINITY;
    else if (strcmp(s, "-inf") == 0)
        *out = -INFINITY;
    else
        return 0;
    return 1;
}

static long
read_long(const json_t *obj, const char *key, int *ok)
{
    const json_t *v = json_object_get(obj, key);
    if (!json_is_integer(v)) {
        *ok = 0;
        return 0;
    }
    return (long)json_integer_value(v);
}

static const char *
read_string(mem_pool *pool, const json_t *obj, const char *key, int *ok)
{
    const char *s = json_string_value(json_object_get(obj, key));
    if (s == NULL) {
        *ok = 0;
        return "";
    }
    return mem_strdup(pool, s);
}

/* A row's "histogram": ROUNDOFF_BINS counts, none negative, adding up to
   its entries; 0 when it is not that. */
static int
read_histogram(const json_t *bins, roundoff_stat *st)
{
    if (!json_is_array(bins) || json_array_size(bins) != ROUNDOFF_BINS)
        return 0;
    long total = 0;
    for (size_t b = 0; b < ROUNDOFF_BINS; b++) {
        const json_t *v = json_array_get(bins, b);
        if (!json_is_integer(v) || json_integer_value(v) < 0 || json_integer_value(v) > st->entries)
            return 0;
        st->histogram[b] = (long)json_integer_value(v);
        total += st->histogram[b];
    }
    return total == st->entries;
}

static int
read_stat(mem_pool *pool, const json_t *row, roundoff_stat *st)
{
    int ok = 1;
    st->quantity = read_string(pool, row, "quantity", &ok);
    st->formulation = read_string(pool, row, "formulation", &ok);
    st->formula = read_string(pool, row, "formula", &ok);
    st->entries = read_long(row, "entries", &ok);
    st->unsampleable = read_long(row, "unsampleable", &ok);
    json_t *micro = json_object_get(row, "micro_bits");
    ok = ok && json_is_integer(micro);
    st->micro_bits = (int64_t)json_integer_value(micro);
    st->nan = read_long(row, "nan", &ok);
    st->inf = read_long(row, "inf", &ok);
    /* max_rel null: no finite entry, which adds nothing to a maximum */
    const json_t *rel = json_object_get(row, "max_rel");
    st->max_rel = 0;
    ok = ok && read_double(json_object_get(row, "max_bits"), &st->max_bits) &&
         (json_is_null(rel) || read_double(rel, &st->max_rel));
    st->worst.sample = -1;
    const json_t *w = json_object_get(row, "worst");
    if (w != NULL) {
        st->worst.sample = read_long(w, "sample", &ok);
        st->worst.row = read_long(w, "row", &ok);
        st->worst.col = read_long(w, "col", &ok);
        ok = ok && read_double(json_object_get(w, "bits"), &st->worst.bits) &&
             read_double(json_object_get(w, "computed"), &st->worst.computed) &&
             read_double(json_object_get(w, "reference"), &st->worst.reference);
    }
    return ok && read_histogram(json_object_get(row, "histogram"), st);
}

/* The seed as format_json_unsigned writes it: an integer, or beyond
   jansson's integers the string of its digits. */
static int
read_seed(const json_t *v, unsigned long *out)
{
    if (json_is_integer(v)) {
        *out = (unsigned long)json_integer_value(v);
        return 1;
    }
    const char *s = json_string_value(v);
    if (s == NULL || !isdigit((unsigned char)s[0]))
        return 0;
    char *end;
    errno = 0;
    *out = strtoul(s, &end, 10);
    return *end == '\0' && errno == 0;
}

/* One shard's output into RES; 0 with WHY when it is not one. */
static int
read_result(mem_pool *pool, const json_t *root, roundoff_result *res, char *why, size_t len)
{
    int ok = 1;
    if (!json_is_object(root) || strcmp(json_string_value(json_object_get(root, "command")) != NULL
                                            ? json_string_value(json_object_get(root, "command"))
                                            : "",
                                        "error") != 0) {
        snprintf(why, len, "not the JSON output of derivcheck error --format json");
        return 0;
    }
    const json_t *version = json_object_get(root, "schema_version");
    if (!json_is_integer(version) || json_integer_value(version) != FORMAT_JSON_SCHEMA_VERSION) {
        snprintf(why, len, "written in another JSON schema than version %d (docs/json.md)",
                 FORMAT_JSON_SCHEMA_VERSION);
        return 0;
    }
    res->model_name = read_string(pool, root, "model", &ok);
    ok = ok && read_seed(json_object_get(root, "seed"), &res->seed);
    res->samples_asked = read_long(root, "samples_asked", &ok);
    res->shard = (int)read_long(root, "shard", &ok);
    res->nshards = (int)read_long(root, "nshards", &ok);
    const json_t *regimes = json_object_get(root, "regimes");
    ok = ok && json_is_array(regimes) && json_array_size(regimes) <= ROUNDOFF_NREGIMES;
    for (size_t t = 0; ok && t < json_array_size(regimes); t++) {
        const json_t *r = json_array_get(regimes, t);
        roundoff_table *tab = &res->tables[res->ntables++];
        const char *name = read_string(pool, r, "regime", &ok);
        ok = ok && roundoff_regime_named(name, &tab->regime);
        tab->draws = read_string(pool, r, "draws", &ok);
        tab->batch = read_long(r, "batch", &ok);
        tab->samples = read_long(r, "samples", &ok);
        tab->max_prec = read_long(r, "max_prec", &ok);
        const json_t *rows = json_object_get(r, "rows");
        ok = ok && json_is_array(rows);
        tab->n = ok ? json_array_size(rows) : 0;
        tab->stats = mem_zalloc(pool, (tab->n + 1) * sizeof *tab->stats);
        for (size_t k = 0; ok && k < tab->n; k++)
            ok = read_stat(pool, json_array_get(rows, k), &tab->stats[k]);
    }
    if (!ok)
        snprintf(why, len, "a field of derivcheck error's JSON output is missing or malformed");
    return ok;
}

/* Whether B is another shard of A's sweep. */
static int
same_sweep(const roundoff_result *a, const roundoff_result *b)
{
    if (strcmp(a->model_name, b->model_name) != 0 || a->seed != b->seed ||
        a->samples_asked != b->samples_asked || a->nshards != b->nshards ||
        a->ntables != b->ntables)
        return 0;
    for (size_t t = 0; t < a->ntables; t++) {
        const roundoff_table *x = &a->tables[t], *y = &b->tables[t];
        if (x->regime != y->regime || x->n != y->n || x->batch != y->batch)
            return 0;
        for (size_t k = 0; k < x->n; k++)
            if (strcmp(x->stats[k].quantity, y->stats[k].quantity) != 0 ||
                strcmp(x->stats[k].formulation, y->stats[k].formulation) != 0)
                return 0;
    }
    return 1;
}

roundoff_result *
roundoff_merge(const char *const *texts, const char *const *names, size_t n, mem_pool *pool,
               dc_error *err)
{
    roundoff_result *out = NULL;
    unsigned long long seen = 0;
    for (size_t i = 0; i < n; i++) {
        json_error_t jerr;
        json_t *root = json_loads(texts[i], 0, &jerr);
        if (root == NULL) {
            diag_plain(err, pool, DC_EINPUT, "%s:%d:%d: not JSON: %s", names[i], jerr.line,
                       jerr.column, jerr.text);
            return NULL;
        }
        roundoff_result *res = mem_zalloc(pool, sizeof *res);
        char why[200];
        int ok = read_result(pool, root, res, why, sizeof why);
        json_decref(root);
        if (!ok) {
            diag_plain(err, pool, DC_EINPUT, "%s: %s", names[i], why);
            return NULL;
        }
        if (out != NULL && !same_sweep(out, res)) {
            diag_plain(err, pool, DC_EINPUT,
                       "%s is not a shard of the same sweep as %s (model, seed, samples, "
                       "regimes and shard count must agree)",
                       names[i], names[0]);
            return NULL;
        }
        if (res->nshards < 1 || res->shard < 1 || res->shard > res->nshards || res->nshards > 64 ||
            (seen & (1ull << (res->shard - 1)))) {
            diag_plain(err, pool, DC_EINPUT, "%s: shard %d of %d is %s", names[i], res->shard,
                       res->nshards, res->nshards > 64 ? "beyond 64 shards" : "given twice");
            return NULL;
        }
        seen |= 1ull << (res->shard - 1);
        if (out == NULL) {
            out = res;
            continue;
        }
        for (size_t t = 0; t < out->ntables; t++) {
            roundoff_table *x = &out->tables[t];
            const roundoff_table *y = &res->tables[t];
            x->samples += y->samples;
            if (y->max_prec > x->max_prec)
                x->max_prec = y->max_prec;
            for (size_t k = 0; k < x->n; k++)
                roundoff_stat_add(&x->stats[k], &y->stats[k]);
        }
    }
    if (out == NULL) {
        diag_plain(err, pool, DC_EINPUT, "merge needs at least one JSON output of error");
        return NULL;
    }
    /* every shard merged: the result reads as one run */
    if (seen == (out->nshards >= 64 ? ~0ull : (1ull << out->nshards) - 1))
        out->shard = out->nshards = 1;
    return out;
}
