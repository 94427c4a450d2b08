/* data.c: --data JSON files read with jansson into exact values by name; see data.h. */
#include "num/data.h"

#include <errno.h>
#include <float.h>
#include <jansson.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lang/lex.h"
#include "lang/parse.h"
#include "lang/print.h"
#include "num/sample.h"

/* A value the file gives. */
typedef struct given {
    const symbol *sym;
    value *v; /* exact, owned by the data set's evaluator */
} given;

/* A dim size the file fixes, and what fixed it, for conflict messages. */
typedef struct fixed_dim {
    symbol *dim;
    long n;
    const char *by; /* "the rows of \"X\"" */
} fixed_dim;

struct data_set {
    mem_pool *pool;
    evaluator *exact;
    given *values;
    size_t nvalues, values_cap;
    fixed_dim *dims;
    size_t ndims, dims_cap;
};

/* ---------------------------------------------------------------- scanning */

/* jansson keeps no places and reads numbers into doubles, so the text is
   walked beside the parsed tree: values come in document order, which is
   the order of a depth-first walk of the tree (jansson keeps the order of
   object keys, and duplicate keys are refused), so the n-th value start in
   the text is the n-th node visited. That gives every node its place for
   errors and every number its text, read exactly. */
typedef struct scanner {
    const char *s;
    size_t len, pos;
    size_t key; /* where the last key seen starts */
} scanner;

static int
is_space(char c)
{
    return c == ' ' || c == '\t' || c == '\n' || c == '\r';
}

static int
is_token_char(char c)
{
    return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '-' ||
           c == '+' || c == '.';
}

/* The offset just past the string that starts (with its quote) at POS. */
static size_t
string_end(const char *s, size_t len, size_t pos)
{
    pos++;
    while (pos < len && s[pos] != '"')
        pos += s[pos] == '\\' ? 2 : 1;
    return pos < len ? pos + 1 : len;
}

/* Whether the string ending at END is an object key: a colon follows. */
static int
is_key(const char *s, size_t len, size_t end)
{
    while (end < len && is_space(s[end]))
        end++;
    return end < len && s[end] == ':';
}

/* The start of the next value in document order (keys skipped, their place
   kept in sc->key); *END is where a scalar's token ends (for a container,
   just past its bracket, so that its elements come next). */
static size_t
next_value(scanner *sc, size_t *end)
{
    for (;;) {
        while (sc->pos < sc->len &&
               (is_space(sc->s[sc->pos]) || sc->s[sc->pos] == ',' || sc->s[sc->pos] == ':' ||
                sc->s[sc->pos] == ']' || sc->s[sc->pos] == '}'))
            sc->pos++;
        size_t start = sc->pos;
        if (start >= sc->len) {
            *end = start;
            return start;
        }
        char c = sc->s[start];
        if (c == '"') {
            size_t e = string_end(sc->s, sc->len, start);
            sc->pos = e;
            if (is_key(sc->s, sc->len, e)) {
                sc->key = start;
                continue;
            }
            *end = e;
            return start;
        }
        sc->pos++;
        if (c != '[' && c != '{')
            while (sc->pos < sc->len && is_token_char(sc->s[sc->pos]))
                sc->pos++;
        *end = sc->pos;
        return start;
    }
}

/* ---------------------------------------------------------------- reading */

typedef struct reader {
    const source *src;
    const model *m;
    mem_pool *pool;
    dc_error *err;
    scanner sc;
    data_set *ds;
    json_t *root;
    text path; /* the JSON path of the node being read: "W1"[2][0] */
    mpz_t z;   /* scratch numbers, cleared by cleanup() */
    mpq_t total, diff;
} reader;

/* An input error at OFFSET whose message starts with the current path. */
static int fail_at(reader *r, size_t offset, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static int
fail_at(reader *r, size_t offset, const char *fmt, ...)
{
    text msg;
    text_init(&msg, r->pool);
    text_printf(&msg, "%s: ", text_str(&r->path));
    va_list ap;
    va_start(ap, fmt);
    text_vprintf(&msg, fmt, ap);
    va_end(ap);
    diag_at(r->err, r->pool, r->src, offset, "%s", text_str(&msg));
    return 0;
}

/* Set the path to the key K followed by indices: "K"[i][j] (I, J < 0: none). */
static void
set_path(reader *r, const char *key, long i, long j)
{
    r->path.len = 0;
    print_json_string(&r->path, key);
    if (i >= 0)
        text_printf(&r->path, "[%ld]", i);
    if (j >= 0)
        text_printf(&r->path, "[%ld]", j);
}

/* What a JSON node is, in words: "a number", "the string \"abc\"", ... */
static const char *
node_words(reader *r, const json_t *node)
{
    switch (json_typeof(node)) {
    case JSON_OBJECT:
        return "an object";
    case JSON_ARRAY:
        return json_array_size(node) ? "an array" : "an empty array";
    case JSON_INTEGER:
    case JSON_REAL:
        return "a number";
    case JSON_TRUE:
        return "true";
    case JSON_FALSE:
        return "false";
    case JSON_NULL:
        return "null";
    case JSON_STRING:
        break;
    }
    text t;
    text_init(&t, r->pool);
    text_puts(&t, "the string ");
    const char *s = json_string_value(node);
    if (strlen(s) > 40) {
        /* the first 40 bytes, and an ellipsis inside the quotes */
        print_json_string(&t, mem_strndup(r->pool, s, 40));
        t.len--;
        text_puts(&t, "...\"");
    } else
        print_json_string(&t, s);
    return text_str(&t);
}

/* Read S[0..N) as an exact rational into Q: a decimal (lex_decimal's) or a
   fraction [+-]digits/digits. Returns 1, 0 when S is not such a number, -1
   when its exponent is beyond DATA_MAX_EXPONENT, -2 for a zero
   denominator. */
static int
parse_exact(reader *r, const char *s, size_t n, mpq_t q)
{
    if (memchr(s, '/', n) == NULL)
        switch (lex_decimal(q, r->z, r->pool, s, n, DATA_MAX_EXPONENT)) {
        case LEX_DECIMAL_OK:
            return 1;
        case LEX_DECIMAL_HUGE:
            return -1;
        case LEX_DECIMAL_MALFORMED:
            return 0;
        }
    size_t i = 0;
    int negative = 0;
    if (i < n && (s[i] == '+' || s[i] == '-'))
        negative = s[i++] == '-';
    size_t int_start = i;
    while (i < n && s[i] >= '0' && s[i] <= '9')
        i++;
    size_t int_end = i;
    if (i == n || s[i] != '/')
        return 0;
    size_t den_start = ++i;
    while (i < n && s[i] >= '0' && s[i] <= '9')
        i++;
    if (int_end == int_start || i == den_start || i != n)
        return 0;
    char *num = mem_strndup(r->pool, s + int_start, int_end - int_start);
    char *den = mem_strndup(r->pool, s + den_start, n - den_start);
    mpz_set_str(mpq_numref(q), num, 10);
    mpz_set_str(mpq_denref(q), den, 10);
    mem_release(r->pool, num);
    mem_release(r->pool, den);
    if (mpz_sgn(mpq_denref(q)) == 0) {
        mpq_set_ui(q, 0, 1);
        return -2;
    }
    mpq_canonicalize(q);
    if (negative)
        mpq_neg(q, q);
    return 1;
}

/* A rational in a message: an integer, or 20 significant digits. */
static const char *
q_words(reader *r, const mpq_t q)
{
    text t;
    text_init(&t, r->pool);
    if (mpz_cmp_ui(mpq_denref(q), 1) == 0 && mpz_sizeinbase(mpq_numref(q), 10) < 40) {
        char buf[48];
        gmp_snprintf(buf, sizeof buf, "%Zd", mpq_numref(q));
        text_puts(&t, buf);
        return text_str(&t);
    }
    mpfr_t x;
    mpfr_init2(x, 128);
    mpfr_set_q(x, q, MPFR_RNDN);
    char buf[64];
    mpfr_snprintf(buf, sizeof buf, "%.20Rg", x);
    mpfr_clear(x);
    text_puts(&t, buf);
    return text_str(&t);
}

/* Whether Q is 0 or 1. */
static int
is_zero_or_one(const mpq_t q)
{
    return mpq_sgn(q) == 0 || mpq_cmp_ui(q, 1, 1) == 0;
}

/* Read the number NODE (visited at START..END of the text) into Q, and
   check it against S's label assumption. */
static int
read_number(reader *r, const symbol *s, const json_t *node, size_t start, size_t end, mpq_t q)
{
    int ok;
    if (json_is_number(node)) {
        ok = parse_exact(r, r->src->text + start, end - start, q);
        /* the text must be the number jansson read, or the walk is lost */
        if (ok == 1 && json_is_integer(node))
            ok = mpz_cmp_ui(mpq_denref(q), 1) == 0 &&
                 mpz_cmp_si(mpq_numref(q), (long)json_integer_value(node)) == 0;
        else if (ok == 1) {
            double d = json_real_value(node), mine = mpq_get_d(q);
            ok = fabs(d) < DBL_MIN || fabs(d) > DBL_MAX || fabs(mine - d) <= fabs(d) * 0x1p-50;
        }
        if (ok != 1)
            return fail_at(r, start, "cannot read the number's text exactly");
    } else if (json_is_string(node)) {
        const char *str = json_string_value(node);
        ok = parse_exact(r, str, json_string_length(node), q);
        if (ok == -1)
            return fail_at(r, start, "the exponent of %s is beyond the cap of %d",
                           node_words(r, node), DATA_MAX_EXPONENT);
        if (ok == -2)
            return fail_at(r, start, "%s has a zero denominator", node_words(r, node));
        if (ok == 0)
            return fail_at(r, start,
                           "expected a number, found %s (a number in a string is a decimal "
                           "such as \"0.1\" or \"-2.5e-3\", or a fraction such as \"1/3\")",
                           node_words(r, node));
    } else
        return fail_at(r, start, "expected a number, found %s", node_words(r, node));
    if (s->kind == SYM_INPUT && s->label == LABEL_BINARY && !is_zero_or_one(q))
        return fail_at(r, start, "%s is a binary input (a mask): its entries are 0 or 1, found %s",
                       s->name, q_words(r, q));
    if (s->kind != SYM_LABEL)
        return 1;
    if ((s->label == LABEL_BINARY || s->label == LABEL_ONEHOT) && !is_zero_or_one(q))
        return fail_at(r, start, "%s is a %s label: its entries are 0 or 1, found %s", s->name,
                       term_label_name(s->label), q_words(r, q));
    if (s->label == LABEL_PROB && mpq_sgn(q) < 0)
        return fail_at(r, start, "%s is a prob label: its entries are nonnegative, found %s",
                       s->name, q_words(r, q));
    return 1;
}

/* The columns of a onehot label hold one 1 each; a prob label's sum to 1
   within 1e-12. A batch-first label's (Y[m, n_y]) rows, each an example's.
   The path is the value's; OFFSET its start. */
static int
check_columns(reader *r, const symbol *s, const value *v, size_t offset)
{
    if (s->kind != SYM_LABEL || (s->label != LABEL_ONEHOT && s->label != LABEL_PROB))
        return 1;
    int rows = s->class_axis == 1;
    const char *slice = rows ? "row" : "column";
    long n = rows ? v->rows : v->cols, len = rows ? v->cols : v->rows;
    for (long j = 0; j < n; j++) {
        mpq_set_ui(r->total, 0, 1);
        for (long i = 0; i < len; i++)
            mpq_add(r->total, r->total, rows ? *eval_q(v, j, i) : *eval_q(v, i, j));
        if (s->label == LABEL_ONEHOT) {
            if (mpq_cmp_ui(r->total, 1, 1) != 0)
                return fail_at(r, offset,
                               "%s %ld of the onehot label %s has %s ones; each %s needs "
                               "exactly one 1",
                               slice, j, s->name, q_words(r, r->total), slice);
            continue;
        }
        mpq_set_ui(r->diff, 1, 1);
        mpq_sub(r->diff, r->total, r->diff);
        mpq_abs(r->diff, r->diff);
        if (mpq_cmp_ui(r->diff, 1, 1000000000000UL) > 0)
            return fail_at(r, offset,
                           "%s %ld of the prob label %s sums to %s, not 1 (within 1e-12)", slice, j,
                           s->name, q_words(r, r->total));
    }
    return 1;
}

/* "1 row", "3 columns". */
static const char *
count_words(reader *r, long n, const char *one, const char *many)
{
    text t;
    text_init(&t, r->pool);
    text_printf(&t, "%ld %s", n, n == 1 ? one : many);
    return text_str(&t);
}

static const char *
shape_words(reader *r, const shape *sh)
{
    text t;
    text_init(&t, r->pool);
    shape_print(&t, sh);
    return text_str(&t);
}

/* The dim D of S's shape has size N here (its WHAT: "rows", "columns",
   "entries"): a literal must be N, a symbolic dim keeps the first size the
   file gave it. */
static int
fix_dim(reader *r, dim d, long n, const char *one, const char *many, const symbol *s, size_t offset)
{
    if (d.sym == NULL) {
        if (d.n == n)
            return 1;
        return fail_at(r, offset, "expected %s (%s is %s), found %ld",
                       count_words(r, d.n, one, many), s->name, shape_words(r, &s->shape), n);
    }
    data_set *ds = r->ds;
    for (size_t i = 0; i < ds->ndims; i++) {
        if (ds->dims[i].dim != d.sym)
            continue;
        if (ds->dims[i].n == n)
            return 1;
        return fail_at(r, offset, "%s = %ld from its %s, but %s = %ld from %s", d.sym->name, n,
                       many, d.sym->name, ds->dims[i].n, ds->dims[i].by);
    }
    if (ds->ndims == ds->dims_cap) {
        ds->dims_cap = ds->dims_cap ? 2 * ds->dims_cap : 8;
        ds->dims = mem_realloc(ds->pool, ds->dims, ds->dims_cap * sizeof *ds->dims);
    }
    text by;
    text_init(&by, r->pool);
    text_printf(&by, "the %s of ", many);
    print_json_string(&by, s->name);
    /* model_lookup hands out the model's own symbols: find D's */
    ds->dims[ds->ndims++] =
        (fixed_dim){model_lookup(r->m, d.sym->name, strlen(d.sym->name)), n, text_str(&by)};
    return 1;
}

static void
add_given(reader *r, const symbol *s, value *v)
{
    data_set *ds = r->ds;
    if (ds->nvalues == ds->values_cap) {
        ds->values_cap = ds->values_cap ? 2 * ds->values_cap : 8;
        ds->values = mem_realloc(ds->pool, ds->values, ds->values_cap * sizeof *ds->values);
    }
    ds->values[ds->nvalues++] = (given){s, v};
}

/* Refuse ROWS x COLS entries over the cap on one value. */
static int
within_cap(reader *r, size_t rows, size_t cols, size_t offset)
{
    if (cols == 0 || rows <= (size_t)EVAL_MAX_ENTRIES / cols)
        return 1;
    fail_at(r, offset, "%zu x %zu entries, more than the cap of %d entries on one value", rows,
            cols, EVAL_MAX_ENTRIES);
    r->err->status = DC_ELIMIT;
    return 0;
}

/* S's value, of rank 2: an array of rows of numbers. */
static int
read_matrix(reader *r, const char *key, const symbol *s, const json_t *node, size_t start)
{
    size_t rows = json_is_array(node) ? json_array_size(node) : 0, cols = 0;
    if (rows == 0)
        return fail_at(r, start, "expected an array of rows (%s is %s), found %s", s->name,
                       shape_words(r, &s->shape), node_words(r, node));
    if (!fix_dim(r, s->shape.d[0], (long)rows, "row", "rows", s, start))
        return 0;
    value *v = NULL;
    size_t i = 0;
    do { /* rows >= 1: the first row makes v */
        size_t end, at = next_value(&r->sc, &end);
        const json_t *row = json_array_get(node, i);
        set_path(r, key, (long)i, -1);
        if (!json_is_array(row))
            return fail_at(r, at, "expected a row (an array of numbers; %s is %s), found %s",
                           s->name, shape_words(r, &s->shape), node_words(r, row));
        size_t n = json_array_size(row);
        if (i == 0) {
            if (n == 0)
                return fail_at(r, at, "expected a row of numbers, found an empty array");
            cols = n;
            set_path(r, key, -1, -1);
            if (!within_cap(r, rows, cols, start) ||
                !fix_dim(r, s->shape.d[1], (long)cols, "column", "columns", s, at))
                return 0;
            v = eval_new_value(r->ds->exact, 2, (long)rows, (long)cols);
            set_path(r, key, 0, -1);
        } else if (n != cols)
            return fail_at(r, at, "expected %s, found %zu",
                           count_words(r, (long)cols, "number", "numbers"), n);
        for (size_t j = 0; j < cols; j++) {
            size_t e, where = next_value(&r->sc, &e);
            set_path(r, key, (long)i, (long)j);
            if (!read_number(r, s, json_array_get(row, j), where, e, *eval_q(v, (long)i, (long)j)))
                return 0;
        }
    } while (++i < rows);
    set_path(r, key, -1, -1);
    if (!check_columns(r, s, v, start))
        return 0;
    add_given(r, s, v);
    return 1;
}

/* S's value, of rank 1: a flat array of numbers. */
static int
read_vector(reader *r, const char *key, const symbol *s, const json_t *node, size_t start)
{
    if (!json_is_array(node) || json_array_size(node) == 0)
        return fail_at(r, start, "expected an array of numbers (%s is %s), found %s", s->name,
                       shape_words(r, &s->shape), node_words(r, node));
    size_t n = json_array_size(node);
    if (!within_cap(r, 1, n, start) ||
        !fix_dim(r, s->shape.d[0], (long)n, "entry", "entries", s, start))
        return 0;
    value *v = eval_new_value(r->ds->exact, 1, 1, (long)n);
    for (size_t j = 0; j < n; j++) {
        size_t e, where = next_value(&r->sc, &e);
        set_path(r, key, (long)j, -1);
        if (!read_number(r, s, json_array_get(node, j), where, e, *eval_q(v, 0, (long)j)))
            return 0;
    }
    set_path(r, key, -1, -1);
    if (!check_columns(r, s, v, start))
        return 0;
    add_given(r, s, v);
    return 1;
}

/* S's value, of rank 0: one number. */
static int
read_scalar(reader *r, const symbol *s, const json_t *node, size_t start, size_t end)
{
    value *v = eval_new_value(r->ds->exact, 0, 1, 1);
    if (json_is_array(node) || json_is_object(node))
        return fail_at(r, start, "expected a number (%s is a scalar), found %s", s->name,
                       node_words(r, node));
    if (!read_number(r, s, node, start, end, *eval_q(v, 0, 0)))
        return 0;
    add_given(r, s, v);
    return 1;
}

/* A dim given by name: a positive integer. */
static int
read_dim(reader *r, const symbol *s, const json_t *node, size_t start)
{
    if (!json_is_integer(node))
        return fail_at(r, start, "%s is a dim: its size is an integer from 1 to %d, found %s",
                       s->name, PARSE_MAX_DIM, node_words(r, node));
    if (json_integer_value(node) < 1 || json_integer_value(node) > PARSE_MAX_DIM)
        return fail_at(r, start, "%s is a dim: its size is an integer from 1 to %d, found %s",
                       s->name, PARSE_MAX_DIM,
                       mem_strndup(r->pool, r->src->text + start, r->sc.pos - start));
    long n = (long)json_integer_value(node);
    data_set *ds = r->ds;
    for (size_t i = 0; i < ds->ndims; i++)
        if (ds->dims[i].dim == s && ds->dims[i].n != n)
            return fail_at(r, start, "%s = %ld here, but %s = %ld from %s", s->name, n, s->name,
                           ds->dims[i].n, ds->dims[i].by);
    for (size_t i = 0; i < ds->ndims; i++)
        if (ds->dims[i].dim == s)
            return 1;
    if (ds->ndims == ds->dims_cap) {
        ds->dims_cap = ds->dims_cap ? 2 * ds->dims_cap : 8;
        ds->dims = mem_realloc(ds->pool, ds->dims, ds->dims_cap * sizeof *ds->dims);
    }
    text by;
    text_init(&by, r->pool);
    print_json_string(&by, s->name);
    ds->dims[ds->ndims++] =
        (fixed_dim){model_lookup(r->m, s->name, strlen(s->name)), n, text_str(&by)};
    return 1;
}

/* "X, Y, W1, b1": the names that take values. */
static const char *
value_names(reader *r)
{
    text t;
    text_init(&t, r->pool);
    for (size_t i = 0; i < r->m->nsymbols; i++) {
        const symbol *s = r->m->symbols[i];
        if (s->kind == SYM_INPUT || s->kind == SYM_LABEL || s->kind == SYM_PARAM)
            text_printf(&t, "%s%s", t.len ? ", " : "", s->name);
    }
    return text_str(&t);
}

/* One key of the top-level object and its value, visited at START..END. */
static int
read_entry(reader *r, const char *key, const json_t *node, size_t start, size_t end)
{
    set_path(r, key, -1, -1);
    const symbol *s = model_lookup(r->m, key, strlen(key));
    if (s == NULL)
        return fail_at(r, r->sc.key,
                       "the model has no input, label, param or dim of this name (values can "
                       "be given to %s)",
                       value_names(r));
    switch (s->kind) {
    case SYM_DIM:
    case SYM_BATCH:
        return read_dim(r, s, node, start);
    case SYM_INPUT:
    case SYM_LABEL:
    case SYM_PARAM:
        break;
    default:
        return fail_at(r, r->sc.key,
                       "%s is a %s of the model, computed from the others; values can be given "
                       "to %s",
                       s->name,
                       s == r->m->loss        ? "the loss"
                       : s->kind == SYM_DEF   ? "definition"
                       : s->kind == SYM_CLAIM ? "claim"
                                              : "derived name",
                       value_names(r));
    }
    if (data_gives(r->ds, s)) /* unreachable: jansson refuses duplicate keys */
        return fail_at(r, r->sc.key, "%s is given twice", s->name);
    switch (s->shape.rank) {
    case 2:
        return read_matrix(r, key, s, node, start);
    case 1:
        return read_vector(r, key, s, node, start);
    default:
        return read_scalar(r, s, node, start, end);
    }
}

/* Before jansson builds the tree: refuse a top-level value with more
   numbers than one value may hold, so a huge file costs a scan, not a tree
   of millions of nodes. */
static int
prescan(reader *r)
{
    const char *s = r->src->text;
    size_t len = r->src->len, key = 0, key_end = 0;
    int depth = 0;
    long count = 0;
    for (size_t i = 0; i < len;) {
        char c = s[i];
        if (c == '"') {
            size_t e = string_end(s, len, i);
            if (!is_key(s, len, e))
                count++;
            else if (depth == 1)
                key = i, key_end = e, count = 0;
            i = e;
        } else if (c == '[' || c == '{')
            depth++, i++;
        else if (c == ']' || c == '}')
            depth--, i++;
        else if (is_token_char(c)) {
            count += c == '-' || (c >= '0' && c <= '9');
            while (i < len && is_token_char(s[i]))
                i++;
        } else
            i++;
        if (count > EVAL_MAX_ENTRIES) {
            int n = key_end - key > 60 ? 60 : (int)(key_end - key);
            diag_at(r->err, r->pool, r->src, key,
                    "%.*s: more than %d entries, the cap on one value", n, s + key,
                    EVAL_MAX_ENTRIES);
            r->err->status = DC_ELIMIT;
            return 0;
        }
    }
    return 1;
}

/* Where jansson's error is: the start of the token it names ("near 'x'"),
   else the byte before where it stopped, backed over a number. */
static size_t
json_error_offset(const source *src, const json_error_t *je)
{
    size_t end = je->position > 0 ? (size_t)je->position : 0;
    if (end > src->len)
        end = src->len;
    const char *near = strstr(je->text, " near '");
    if (near != NULL) {
        size_t n = strlen(near + 7);
        if (n > 0 && near[7 + n - 1] == '\'' && n - 1 <= end)
            return end - (n - 1);
    }
    size_t at = end > 0 ? end - 1 : 0;
    while (at > 0 && is_token_char(src->text[at - 1]) && is_token_char(src->text[at]))
        at--;
    return at;
}

static int
read_all(reader *r)
{
    if (!prescan(r))
        return 0;
    json_error_t je;
    r->root = json_loadb(r->src->text, r->src->len, JSON_REJECT_DUPLICATES, &je);
    if (r->root == NULL) {
        if (json_error_code(&je) == json_error_out_of_memory) {
            diag_oom(r->err);
            return 0;
        }
        diag_at(r->err, r->pool, r->src, json_error_offset(r->src, &je), "malformed JSON: %s",
                je.text);
        return 0;
    }
    size_t end, start = next_value(&r->sc, &end);
    if (!json_is_object(r->root)) {
        diag_at(r->err, r->pool, r->src, start,
                "the top level must be an object of values by name, {\"X\": [[...], ...], "
                "...}; found %s",
                node_words(r, r->root));
        return 0;
    }
    const char *key;
    json_t *node;
    json_object_foreach(r->root, key, node)
    {
        start = next_value(&r->sc, &end);
        if (!read_entry(r, key, node, start, end))
            return 0;
    }
    return 1;
}

/* Release what a read holds; the data set too unless KEEP. */
static void
cleanup(reader *r, int keep)
{
    if (r->root != NULL)
        json_decref(r->root);
    r->root = NULL;
    mpz_clear(r->z);
    mpq_clear(r->total);
    mpq_clear(r->diff);
    if (!keep)
        data_free(r->ds);
}

static _Noreturn void
rethrow(jmp_buf *outer)
{
    if (outer != NULL)
        longjmp(*outer, 1);
    abort();
}

data_set *
data_parse(const source *src, const model *m, mem_pool *pool, dc_error *err)
{
    reader *r = mem_zalloc(pool, sizeof *r);
    r->src = src;
    r->m = m;
    r->pool = pool;
    r->err = err;
    r->sc = (scanner){src->text, src->len, 0, 0};
    text_init(&r->path, pool);
    mpz_init(r->z);
    mpq_init(r->total);
    mpq_init(r->diff);
    jmp_buf here;
    jmp_buf *outer = mem_pool_on_oom(pool, &here);
    if (setjmp(here)) {
        cleanup(r, 0);
        mem_pool_on_oom(pool, outer);
        rethrow(outer);
    }
    r->ds = mem_zalloc(pool, sizeof *r->ds);
    r->ds->pool = pool;
    r->ds->exact = eval_new(pool, NUMBER_EXACT, 0);
    int ok = read_all(r);
    cleanup(r, ok);
    mem_pool_on_oom(pool, outer);
    data_set *ds = ok ? r->ds : NULL;
    mem_release(pool, r);
    return ds;
}

data_set *
data_read(const char *path, const model *m, mem_pool *pool, dc_error *err)
{
    FILE *f = fopen(path, "rb");
    if (f == NULL) {
        diag_plain(err, pool, DC_EIO, "cannot read the data file '%s': %s", path, strerror(errno));
        return NULL;
    }
    jmp_buf here;
    jmp_buf *outer = mem_pool_on_oom(pool, &here);
    if (setjmp(here)) {
        fclose(f);
        mem_pool_on_oom(pool, outer);
        rethrow(outer);
    }
    text t;
    text_init(&t, pool);
    char buf[65536];
    size_t n;
    int too_big = 0;
    while (!too_big && (n = fread(buf, 1, sizeof buf, f)) > 0) {
        too_big = t.len + n > (size_t)DATA_MAX_BYTES;
        if (!too_big)
            text_putn(&t, buf, n);
    }
    int bad = ferror(f);
    fclose(f);
    mem_pool_on_oom(pool, outer);
    if (too_big) {
        diag_plain(err, pool, DC_ELIMIT,
                   "the data file '%s' is larger than the cap of %d MiB for a data file", path,
                   DATA_MAX_BYTES >> 20);
        return NULL;
    }
    if (bad) {
        diag_plain(err, pool, DC_EIO, "cannot read the data file '%s'", path);
        return NULL;
    }
    source src = {path, text_str(&t), t.len};
    data_set *ds = data_parse(&src, m, pool, err);
    mem_release(pool, t.s);
    return ds;
}

void
data_free(data_set *ds)
{
    if (ds == NULL)
        return;
    eval_free(ds->exact);
    mem_release(ds->pool, ds->values);
    mem_release(ds->pool, ds->dims);
    mem_release(ds->pool, ds);
}

long
data_dim_size(const data_set *ds, dim d)
{
    for (size_t i = 0; ds != NULL && d.sym != NULL && i < ds->ndims; i++)
        if (ds->dims[i].dim == d.sym)
            return ds->dims[i].n;
    return sample_dim(d);
}

int
data_gives(const data_set *ds, const symbol *sym)
{
    for (size_t i = 0; ds != NULL && i < ds->nvalues; i++)
        if (ds->values[i].sym == sym)
            return 1;
    return 0;
}

/* "1 + 5e-13", "1 - 4.2e-17": a sum near 1 by how far it is from 1, which
   20 significant digits of it would not show. */
static const char *
near_one_words(const mpq_t sum, mem_pool *pool)
{
    mpq_t d;
    mpq_init(d);
    mpq_set_ui(d, 1, 1);
    mpq_sub(d, sum, d);
    mpfr_t x;
    mpfr_init2(x, 64);
    mpfr_set_q(x, d, MPFR_RNDN);
    mpq_clear(d);
    mpfr_abs(x, x, MPFR_RNDN);
    text t;
    text_init(&t, pool);
    char buf[64];
    mpfr_snprintf(buf, sizeof buf, "%.3Rg", x);
    text_printf(&t, "1 %c %s", mpq_cmp_ui(sum, 1, 1) > 0 ? '+' : '-', buf);
    mpfr_clear(x);
    return text_str(&t);
}

int
data_label_exact(const data_set *ds, const symbol *sym, long *column, const char **sum,
                 mem_pool *pool)
{
    if (sym->kind != SYM_LABEL || sym->label != LABEL_PROB)
        return 1;
    const value *v = NULL;
    for (size_t i = 0; ds != NULL && i < ds->nvalues; i++)
        if (ds->values[i].sym == sym)
            v = ds->values[i].v;
    if (v == NULL)
        return 1;
    mpq_t total;
    mpq_init(total);
    int exact = 1;
    for (long j = 0; exact && j < v->cols; j++) {
        mpq_set_ui(total, 0, 1);
        for (long i = 0; i < v->rows; i++)
            mpq_add(total, total, *eval_q(v, i, j));
        if (mpq_cmp_ui(total, 1, 1) != 0) {
            exact = 0;
            *column = j;
            *sum = near_one_words(total, pool);
        }
    }
    mpq_clear(total);
    return exact;
}

/* What data_bind lends sample_bind, to be given back even on a jump. */
typedef struct lent {
    symbol **dims;
    long *declared;
    size_t n;
} lent;

static void
give_back(lent *l)
{
    for (size_t i = 0; i < l->n; i++)
        l->dims[i]->value = l->declared[i];
    l->n = 0;
}

int
data_bind(evaluator *ev, mem_pool *pool, const data_set *ds, const model *m, unsigned long seed,
          char *why, size_t len)
{
    size_t ndims = ds != NULL ? ds->ndims : 0;
    for (size_t i = 0; i < ndims; i++)
        eval_set_dim(ev, ds->dims[i].dim, ds->dims[i].n);
    int all_given = 1;
    for (size_t i = 0; i < m->nsymbols; i++) {
        const symbol *s = m->symbols[i];
        if ((s->kind == SYM_INPUT || s->kind == SYM_LABEL || s->kind == SYM_PARAM) &&
            !data_gives(ds, s))
            all_given = 0;
    }
    int ok = 1;
    if (!all_given) {
        /* sample_bind draws at the declared sizes (sample_dim): lend it the
           sizes the data fixes for the draw, and give them back after */
        lent *l = mem_zalloc(pool, sizeof *l);
        l->dims = mem_alloc(pool, (ndims + 1) * sizeof *l->dims);
        l->declared = mem_alloc(pool, (ndims + 1) * sizeof *l->declared);
        jmp_buf here;
        jmp_buf *outer = mem_pool_on_oom(pool, &here);
        if (setjmp(here)) {
            give_back(l);
            mem_pool_on_oom(pool, outer);
            rethrow(outer);
        }
        for (size_t i = 0; i < ndims; i++) {
            l->dims[l->n] = ds->dims[i].dim;
            l->declared[l->n++] = ds->dims[i].dim->value;
            ds->dims[i].dim->value = ds->dims[i].n;
        }
        sample_spec spec = {.seed = seed, .index = 0, .bits = DATA_SAMPLE_BITS};
        ok = sample_bind(ev, pool, m, &spec, why, len);
        give_back(l);
        mem_pool_on_oom(pool, outer);
        mem_release(pool, l->dims);
        mem_release(pool, l->declared);
        mem_release(pool, l);
    }
    for (size_t i = 0; ok && ds != NULL && i < ds->nvalues; i++)
        eval_bind(ev, ds->values[i].sym, ds->values[i].v);
    return ok;
}
