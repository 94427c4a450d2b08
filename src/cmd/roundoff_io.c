/* roundoff_io.c: a sweep written as text, Markdown or JSON; shards' JSON read and merged. */
#include "cmd/roundoff_private.h"

#include <ctype.h>
#include <errno.h>
#include <jansson.h>
#include <limits.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/format.h"

/* ---------------------------------------------------------------- writing */

static const char BITS_WORDS[] =
    "bits of error per entry = log2(1 + ulps between the double result and the correctly "
    "rounded true value): 0 is correctly rounded, 64 a NaN";
static const char REFERENCE_WORDS[] =
    "references: ball arithmetic (Arb) at 80, 128, 256, ... bits until the ball "
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
    if (st->undefined > 0) /* absent: none (the shards of earlier versions) */
        json_object_set_new(row, "undefined", json_integer(st->undefined));
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

static uint64_t
shard_bit(int k)
{
    return (uint64_t)1 << (k - 1);
}

/* The shards RES holds: its own one when the set was not recorded. */
static uint64_t
shard_set(const roundoff_result *res)
{
    return res->shards != 0 ? res->shards : shard_bit(res->shard);
}

static const char HASH_PREFIX[] = "fnv1a64:";

/* A hash as JSON: "fnv1a64:" and 16 hexadecimal digits. */
static json_t *
hash_json(uint64_t h)
{
    char buf[32];
    snprintf(buf, sizeof buf, "%s%016llx", HASH_PREFIX, (unsigned long long)h);
    return json_string(buf);
}

void
roundoff_identify(roundoff_result *res, const char *model_text, size_t len, const rule_set *rs)
{
    res->model_hash = text_hash(TEXT_HASH_START, model_text, len);
    res->rules_hash = rs->hash;
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
    json_t *shards = json_array();
    for (int k = 1; k <= res->nshards; k++)
        if (shard_set(res) & shard_bit(k))
            json_array_append_new(shards, json_integer(k));
    format_json_member(out, ",\n  ", "shards", shards);
    format_json_member(out, ",\n  ", "model_hash", hash_json(res->model_hash));
    format_json_member(out, ",\n  ", "rules_hash", hash_json(res->rules_hash));
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

/* Whether A is more accurate than B: lower mean bits, then lower max. */
static int
more_accurate(const roundoff_stat *a, const roundoff_stat *b)
{
    double ma = mean_bits(a), mb = mean_bits(b);
    return ma != mb ? ma < mb : a->max_bits < b->max_bits;
}

static int
alike(const roundoff_stat *a, const roundoff_stat *b)
{
    return !more_accurate(a, b) && !more_accurate(b, a);
}

/* The formulations of TAB's rows [FIRST, END) alike to ROWS[AT], by name,
   then their numbers. */
static void
answer_group(text *out, const roundoff_table *tab, size_t first, size_t end, size_t at)
{
    const roundoff_stat *st = &tab->stats[at];
    int n = 0;
    for (size_t k = first; k < end; k++)
        if (tab->stats[k].entries > 0 && alike(&tab->stats[k], st))
            text_printf(out, "%s%s", n++ ? " = " : "", tab->stats[k].formulation);
    text_printf(out, ", %.2f mean / %.2f max bits", mean_bits(st), st->max_bits);
    if (st->nan + st->inf > 0)
        text_printf(out, " (%ld of %ld entries NaN or Inf)", st->nan + st->inf, st->entries);
}

void
roundoff_answer(text *out, const roundoff_table *tab, const char *before, const char *after)
{
    for (size_t first = 0, end; first < tab->n; first = end) {
        size_t best = first, worst = first, measured = 0, textbook = tab->n;
        for (end = first;
             end < tab->n && strcmp(tab->stats[end].quantity, tab->stats[first].quantity) == 0;
             end++) {
            const roundoff_stat *st = &tab->stats[end];
            if (st->entries == 0)
                continue;
            if (strcmp(st->formulation, "deferred") == 0)
                textbook = end;
            if (measured++ == 0 || more_accurate(st, &tab->stats[best]))
                best = end;
            if (measured == 1 || more_accurate(&tab->stats[worst], st))
                worst = end;
        }
        if (measured < 2)
            continue;
        text_printf(out, "%s%s: ", before, tab->stats[first].quantity);
        if (alike(&tab->stats[best], &tab->stats[worst])) {
            text_puts(out, "all alike: ");
            answer_group(out, tab, first, end, best);
        } else {
            text_puts(out, "most accurate ");
            answer_group(out, tab, first, end, best);
            /* the textbook form, A2 - Y, when it is neither */
            if (textbook < tab->n && !alike(&tab->stats[textbook], &tab->stats[best]) &&
                !alike(&tab->stats[textbook], &tab->stats[worst])) {
                text_puts(out, "; then ");
                answer_group(out, tab, first, end, textbook);
            }
            text_puts(out, "; least ");
            answer_group(out, tab, first, end, worst);
        }
        text_puts(out, after);
    }
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

/* X, but a NaN without its sign: printf writes "-nan" for some, and JSON
   keeps none, so a sweep and the merge of its shards would differ. */
static double
unsigned_nan(double x)
{
    return isnan(x) ? NAN : x;
}

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
    /* the entries without a true value: unsampleable, but not for want of
       precision */
    for (size_t k = 0; k < tab->n; k++) {
        const roundoff_stat *st = &tab->stats[k];
        if (st->undefined > 0)
            text_printf(out,
                        "%s%s %s: %ld of the %ld unsampleable entries have no finite true value "
                        "(NaN or infinite at every precision: the log or square root of a "
                        "negative number, a quotient by 0), so their references were not "
                        "raised up the ladder\n",
                        md ? "\n" : "  ", st->quantity, st->formulation, st->undefined,
                        st->unsampleable);
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
                    w->worst.row, w->worst.col, unsigned_nan(w->worst.computed),
                    unsigned_nan(w->worst.reference), model_word(res->model_name), name, res->seed,
                    w->worst.sample + 1);
    text_printf(out, "%s",
                md ? "\nWhich formulation to use here (the lowest mean bits of error, "
                     "then max):\n\n"
                   : "  which formulation to use here (the lowest mean bits of error, "
                     "then max):\n");
    roundoff_answer(out, tab, md ? "- " : "    ", "\n");
}

void
roundoff_write_shards(text *out, const roundoff_result *res)
{
    uint64_t set = shard_set(res);
    if (res->nshards > 1 && set == shard_bit(res->shard))
        text_printf(out, ", shard %d of %d", res->shard, res->nshards);
    else if (res->nshards > 1) {
        text_puts(out, ", shards");
        for (int k = 1, first = 1; k <= res->nshards; k++)
            if (set & shard_bit(k)) {
                text_printf(out, "%s %d", first ? "" : ",", k);
                first = 0;
            }
        text_printf(out, " of %d (a partial merge: the others are missing)", res->nshards);
    }
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
    roundoff_write_shards(out, res);
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

/* What reading a shard found wrong: the first problem, in WHY. */
typedef struct reader {
    mem_pool *pool;
    char *why;
    size_t len;
    int ok;
} reader;

static void __attribute__((format(printf, 2, 3))) bad(reader *rd, const char *fmt, ...)
{
    if (!rd->ok)
        return;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(rd->why, rd->len, fmt, ap);
    va_end(ap);
    rd->ok = 0;
}

static void
missing(reader *rd, const char *where, const char *key)
{
    bad(rd, "%s\"%s\" is missing or malformed", where, key);
}

/* A number as json_double writes it: a JSON number, or "nan", "inf",
   "-inf". */
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

/* OBJ's integer KEY, which must lie in [LO, HI]; WHERE starts a message. */
static long long
read_int(reader *rd, const char *where, const json_t *obj, const char *key, long long lo,
         long long hi)
{
    const json_t *v = json_object_get(obj, key);
    if (!json_is_integer(v)) {
        missing(rd, where, key);
        return 0;
    }
    long long n = (long long)json_integer_value(v);
    if (n < lo || n > hi)
        bad(rd, "%s\"%s\" is %lld, outside its range %lld to %lld", where, key, n, lo, hi);
    return n;
}

/* OBJ's number KEY (json_double's spelling), in [LO, HI] or, when NAN_OK,
   a NaN. */
static double
read_real(reader *rd, const char *where, const json_t *obj, const char *key, double lo, double hi,
          int nan_ok)
{
    double x = 0;
    if (!read_double(json_object_get(obj, key), &x))
        missing(rd, where, key);
    else if (isnan(x) ? !nan_ok : x < lo || x > hi)
        bad(rd, "%s\"%s\" is %g, outside its range %g to %g", where, key, x, lo, hi);
    return x;
}

static const char *
read_string(reader *rd, const char *where, const json_t *obj, const char *key)
{
    const char *s = json_string_value(json_object_get(obj, key));
    if (s == NULL) {
        missing(rd, where, key);
        return "";
    }
    return mem_strdup(rd->pool, s);
}

/* OBJ's hash KEY as hash_json writes it. */
static uint64_t
read_hash(reader *rd, const json_t *obj, const char *key)
{
    const char *s = json_string_value(json_object_get(obj, key));
    size_t n = sizeof HASH_PREFIX - 1;
    char *end;
    if (s != NULL && strncmp(s, HASH_PREFIX, n) == 0 && strlen(s + n) == 16 &&
        isxdigit((unsigned char)s[n])) {
        errno = 0;
        unsigned long long h = strtoull(s + n, &end, 16);
        if (errno == 0 && *end == '\0')
            return (uint64_t)h;
    }
    bad(rd,
        "\"%s\" is missing or malformed: the sweep's identity (written by derivcheck error "
        "since shards carry one; run the shard again)",
        key);
    return 0;
}

/* A row's "histogram": ROUNDOFF_BINS counts, none negative, adding up to
   its entries. */
static void
read_histogram(reader *rd, const char *where, const json_t *bins, roundoff_stat *st)
{
    if (!json_is_array(bins) || json_array_size(bins) != ROUNDOFF_BINS) {
        missing(rd, where, "histogram");
        return;
    }
    long total = 0;
    for (size_t b = 0; b < ROUNDOFF_BINS; b++) {
        const json_t *v = json_array_get(bins, b);
        if (!json_is_integer(v) || json_integer_value(v) < 0 ||
            json_integer_value(v) > st->entries) {
            bad(rd, "%sthe histogram's bin %zu is malformed or outside 0 to its %ld entries", where,
                b, st->entries);
            return;
        }
        st->histogram[b] = (long)json_integer_value(v);
        total += st->histogram[b];
    }
    if (total != st->entries)
        bad(rd, "%sthe histogram counts %ld entries, not its %ld: malformed", where, total,
            st->entries);
}

/* The K-th row of REGIME. Every count is at least 0 and at most the
   entries, and the sum of bits at most ROUNDOFF_NAN_BITS an entry. */
static void
read_stat(reader *rd, const char *regime, size_t k, const json_t *row, roundoff_stat *st)
{
    char where[160];
    snprintf(where, sizeof where, "regime %s, row %zu: ", regime, k + 1);
    if (!json_is_object(row)) {
        bad(rd, "%snot an object", where);
        return;
    }
    st->quantity = read_string(rd, where, row, "quantity");
    st->formulation = read_string(rd, where, row, "formulation");
    st->formula = read_string(rd, where, row, "formula");
    snprintf(where, sizeof where, "regime %s, row %zu (%s, %s): ", regime, k + 1, st->quantity,
             st->formulation);
    const long long most = (long long)EVAL_MAX_ENTRIES * ROUNDOFF_MAX_SAMPLES;
    st->entries = (long)read_int(rd, where, row, "entries", 0, most);
    st->unsampleable = (long)read_int(rd, where, row, "unsampleable", 0, most);
    if (json_object_get(row, "undefined") != NULL)
        st->undefined = (long)read_int(rd, where, row, "undefined", 0, st->unsampleable);
    const long long per_entry = (long long)ROUNDOFF_NAN_BITS * ROUNDOFF_MICRO;
    st->micro_bits = (int64_t)read_int(
        rd, where, row, "micro_bits", 0,
        st->entries > LLONG_MAX / per_entry ? LLONG_MAX : (long long)st->entries * per_entry);
    st->nan = (long)read_int(rd, where, row, "nan", 0, st->entries);
    st->inf = (long)read_int(rd, where, row, "inf", 0, st->entries);
    st->max_bits = read_real(rd, where, row, "max_bits", 0, ROUNDOFF_NAN_BITS, 1);
    /* max_rel null: no finite entry, which adds nothing to a maximum */
    const json_t *rel = json_object_get(row, "max_rel");
    st->max_rel = json_is_null(rel) ? 0 : read_real(rd, where, row, "max_rel", 0, INFINITY, 1);
    st->worst.sample = -1;
    const json_t *w = json_object_get(row, "worst");
    if (w != NULL) {
        st->worst.sample = (long)read_int(rd, where, w, "sample", 0, ROUNDOFF_MAX_SAMPLES - 1);
        st->worst.row = (long)read_int(rd, where, w, "row", 0, EVAL_MAX_ENTRIES - 1);
        st->worst.col = (long)read_int(rd, where, w, "col", 0, EVAL_MAX_ENTRIES - 1);
        st->worst.bits = read_real(rd, where, w, "bits", 0, ROUNDOFF_NAN_BITS, 1);
        st->worst.computed = read_real(rd, where, w, "computed", -INFINITY, INFINITY, 1);
        st->worst.reference = read_real(rd, where, w, "reference", -INFINITY, INFINITY, 1);
    }
    if (rd->ok)
        read_histogram(rd, where, json_object_get(row, "histogram"), st);
}

/* The seed as format_json_unsigned writes it: an integer, or beyond
   jansson's integers the string of its digits. */
static int
read_seed(const json_t *v, unsigned long *out)
{
    if (json_is_integer(v)) {
        if (json_integer_value(v) < 0)
            return 0;
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

/* The shard set of ROOT: "shards", a list of shard numbers of RES's
   NSHARDS that holds RES's shard. */
static void
read_shards(reader *rd, const json_t *root, roundoff_result *res)
{
    const json_t *list = json_object_get(root, "shards");
    if (!json_is_array(list) || json_array_size(list) == 0) {
        missing(rd, "", "shards");
        return;
    }
    res->shards = 0;
    for (size_t i = 0; i < json_array_size(list); i++) {
        const json_t *v = json_array_get(list, i);
        long long k = json_is_integer(v) ? (long long)json_integer_value(v) : 0;
        if (k < 1 || k > res->nshards || (res->shards & shard_bit((int)k))) {
            bad(rd, "\"shards\" holds %s, not a shard of %d once",
                json_is_integer(v) ? "a number out of range or twice" : "something else",
                res->nshards);
            return;
        }
        res->shards |= shard_bit((int)k);
    }
    if (!(res->shards & shard_bit(res->shard)))
        bad(rd, "\"shards\" does not hold its shard %d", res->shard);
}

/* One regime's table, R, from a shard's "regimes". */
static void
read_table(reader *rd, const json_t *r, roundoff_table *tab)
{
    const char *name = read_string(rd, "", r, "regime");
    if (rd->ok && !roundoff_regime_named(name, &tab->regime)) {
        bad(rd, "unknown regime '%s'", name);
        return;
    }
    char where[64];
    snprintf(where, sizeof where, "regime %s: ", name);
    tab->draws = read_string(rd, where, r, "draws");
    tab->batch = (long)read_int(rd, where, r, "batch", 0, LONG_MAX);
    tab->samples = (long)read_int(rd, where, r, "samples", 0, ROUNDOFF_MAX_SAMPLES);
    tab->max_prec = (long)read_int(rd, where, r, "max_prec", 0, ROUNDOFF_MAX_PREC);
    const json_t *rows = json_object_get(r, "rows");
    if (!json_is_array(rows)) {
        missing(rd, where, "rows");
        return;
    }
    tab->n = json_array_size(rows);
    tab->stats = mem_zalloc(rd->pool, (tab->n + 1) * sizeof *tab->stats);
    for (size_t k = 0; rd->ok && k < tab->n; k++)
        read_stat(rd, name, k, json_array_get(rows, k), &tab->stats[k]);
}

/* One shard's output into RES; 0 with WHY (LEN bytes) when it is not one
   or a number in it is out of its range. */
static int
read_result(mem_pool *pool, const json_t *root, roundoff_result *res, char *why, size_t len)
{
    reader rd = {pool, why, len, 1};
    const char *command = json_string_value(json_object_get(root, "command"));
    if (!json_is_object(root) || command == NULL || strcmp(command, "error") != 0) {
        snprintf(why, len, "not the JSON output of derivcheck error --format json");
        return 0;
    }
    const json_t *version = json_object_get(root, "schema_version");
    if (!json_is_integer(version) || json_integer_value(version) != FORMAT_JSON_SCHEMA_VERSION)
        bad(&rd, "written in another JSON schema than version %d (docs/json.md)",
            FORMAT_JSON_SCHEMA_VERSION);
    res->model_name = read_string(&rd, "", root, "model");
    if (!read_seed(json_object_get(root, "seed"), &res->seed))
        missing(&rd, "", "seed");
    res->samples_asked = (long)read_int(&rd, "", root, "samples_asked", 0, ROUNDOFF_MAX_SAMPLES);
    res->nshards = (int)read_int(&rd, "", root, "nshards", 1, 64);
    res->shard = (int)read_int(&rd, "", root, "shard", 1, rd.ok ? res->nshards : 64);
    if (rd.ok)
        read_shards(&rd, root, res);
    res->model_hash = read_hash(&rd, root, "model_hash");
    res->rules_hash = read_hash(&rd, root, "rules_hash");
    const json_t *regimes = json_object_get(root, "regimes");
    if (!json_is_array(regimes) || json_array_size(regimes) > ROUNDOFF_NREGIMES)
        missing(&rd, "", "regimes");
    for (size_t t = 0; rd.ok && t < json_array_size(regimes); t++)
        read_table(&rd, json_array_get(regimes, t), &res->tables[res->ntables++]);
    return rd.ok;
}

/* What differs between A's sweep and B's, in words, or NULL when B may be
   another shard of A's sweep. */
static const char *
sweep_difference(const roundoff_result *a, const roundoff_result *b)
{
    if (a->model_hash != b->model_hash)
        return "model texts differ (the model was edited between the runs)";
    if (a->rules_hash != b->rules_hash)
        return "rule files differ";
    if (strcmp(a->model_name, b->model_name) != 0)
        return "model names differ";
    if (a->seed != b->seed)
        return "seeds differ";
    if (a->samples_asked != b->samples_asked)
        return "samples asked for differ";
    if (a->nshards != b->nshards)
        return "shard counts differ";
    if (a->ntables != b->ntables)
        return "regimes differ";
    for (size_t t = 0; t < a->ntables; t++) {
        const roundoff_table *x = &a->tables[t], *y = &b->tables[t];
        if (x->regime != y->regime || x->batch != y->batch)
            return "regimes differ";
        if (x->n != y->n)
            return "formulations differ";
        for (size_t k = 0; k < x->n; k++)
            if (strcmp(x->stats[k].quantity, y->stats[k].quantity) != 0 ||
                strcmp(x->stats[k].formulation, y->stats[k].formulation) != 0)
                return "formulations differ";
    }
    return NULL;
}

/* The shard numbers of SET, "1, 3", into T. */
static void
put_shards(text *t, uint64_t set, int nshards)
{
    for (int k = 1, first = 1; k <= nshards; k++)
        if (set & shard_bit(k)) {
            text_printf(t, "%s%d", first ? "" : ", ", k);
            first = 0;
        }
}

/* Add RES, read from NAME, into OUT; HOLDER[k - 1] names the file that
   gave shard k. 0 with ERR filled when a shard of RES is given already. */
static int
add_shards(roundoff_result *out, const roundoff_result *res, const char *name, const char **holder,
           mem_pool *pool, dc_error *err)
{
    for (int k = 1; k <= res->nshards; k++)
        if (res->shards & shard_bit(k)) {
            if (holder[k - 1] != NULL) {
                diag_plain(err, pool, DC_EINPUT,
                           "shard %d of %d is in both %s and %s: it would be counted twice", k,
                           res->nshards, holder[k - 1], name);
                return 0;
            }
            holder[k - 1] = name;
        }
    if (out == res)
        return 1;
    out->shards |= res->shards;
    for (size_t t = 0; t < out->ntables; t++) {
        roundoff_table *x = &out->tables[t];
        const roundoff_table *y = &res->tables[t];
        x->samples += y->samples;
        if (y->max_prec > x->max_prec)
            x->max_prec = y->max_prec;
        for (size_t k = 0; k < x->n; k++)
            roundoff_stat_add(&x->stats[k], &y->stats[k]);
    }
    return 1;
}

roundoff_result *
roundoff_merge(const char *const *texts, const char *const *names, size_t n, int partial,
               mem_pool *pool, dc_error *err)
{
    roundoff_result *out = NULL;
    const char *holder[64] = {0};
    for (size_t i = 0; i < n; i++) {
        json_error_t jerr;
        json_t *root = json_loads(texts[i], 0, &jerr);
        if (root == NULL) {
            diag_plain(err, pool, DC_EINPUT, "%s:%d:%d: not JSON: %s", names[i], jerr.line,
                       jerr.column, jerr.text);
            return NULL;
        }
        roundoff_result *res = mem_zalloc(pool, sizeof *res);
        char why[400];
        int ok = read_result(pool, root, res, why, sizeof why);
        json_decref(root);
        if (!ok) {
            diag_plain(err, pool, DC_EINPUT, "%s: %s", names[i], why);
            return NULL;
        }
        const char *diff = out != NULL ? sweep_difference(out, res) : NULL;
        if (diff != NULL) {
            diag_plain(err, pool, DC_EINPUT,
                       "%s is not a shard of the same sweep as %s: their %s, and shards "
                       "merge only when the model's text, the rules, the model, the seed, the "
                       "samples, the regimes and the shard count agree",
                       names[i], names[0], diff);
            return NULL;
        }
        if (out == NULL)
            out = res;
        if (!add_shards(out, res, names[i], holder, pool, err))
            return NULL;
    }
    if (out == NULL) {
        diag_plain(err, pool, DC_EINPUT, "merge needs at least one JSON output of error");
        return NULL;
    }
    uint64_t all = out->nshards >= 64 ? ~(uint64_t)0 : shard_bit(out->nshards + 1) - 1;
    if (out->shards == all) {
        /* every shard merged: the result reads as one run */
        out->shard = out->nshards = 1;
        out->shards = 0;
        return out;
    }
    if (!partial) {
        text given, left;
        text_init(&given, pool);
        text_init(&left, pool);
        put_shards(&given, out->shards, out->nshards);
        put_shards(&left, all & ~out->shards, out->nshards);
        diag_plain(err, pool, DC_EINPUT,
                   "merge was given shards %s of %d, without %s: the result would not be the "
                   "sweep's (merge --partial merges them anyway, labelled as partial)",
                   text_str(&given), out->nshards, text_str(&left));
        return NULL;
    }
    return out;
}
