/* format.c: output formats by name, and what their writers share; see format.h. */
#include "base/format.h"

#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

int
format_named(const char *name, format_kind *out)
{
    static const struct {
        const char *name;
        format_kind f;
    } formats[] = {{"text", FORMAT_TEXT},
                   {"json", FORMAT_JSON},
                   {"markdown", FORMAT_MARKDOWN},
                   {"latex", FORMAT_LATEX},
                   {"numpy", FORMAT_NUMPY}};
    for (size_t i = 0; i < sizeof formats / sizeof formats[0]; i++)
        if (strcmp(formats[i].name, name) == 0) {
            *out = formats[i].f;
            return 1;
        }
    return 0;
}

const char *
format_base_name(const char *path)
{
    const char *slash = strrchr(path, '/');
    return slash != NULL ? slash + 1 : path;
}

/* ---- Markdown tables ---- */

void
format_latex_char(text *out, char c)
{
    static const char *const named[][2] = {
        {"\\", "\\textbackslash{}"}, {"^", "\\textasciicircum{}"}, {"~", "\\textasciitilde{}"},
        {"<", "\\textless{}"},       {">", "\\textgreater{}"},     {"|", "\\textbar{}"}};
    if (c != '\0' && strchr("&%$#_{}", c) != NULL) {
        text_putc(out, '\\');
        text_putc(out, c);
        return;
    }
    for (size_t i = 0; i < sizeof named / sizeof named[0]; i++)
        if (c == named[i][0][0]) {
            text_puts(out, named[i][1]);
            return;
        }
    text_putc(out, c);
}

void
format_latex_text(text *out, const char *s)
{
    for (; *s != '\0'; s++)
        format_latex_char(out, *s);
}

void
format_markdown_row(text *out, int n, const char *const *cells)
{
    for (int i = 0; i < n; i++) {
        text_puts(out, i ? " | " : "| ");
        text_puts(out, cells[i]);
    }
    text_puts(out, " |\n");
}

void
format_markdown_head(text *out, int n, const char *const *heads, const char *align)
{
    format_markdown_row(out, n, heads);
    for (int i = 0; i < n; i++)
        text_puts(out, align != NULL && align[i] == 'r' ? "|---:" : "|---");
    text_puts(out, "|\n");
}

/* ---- JSON ---- */

json_t *
format_json_report(const char *command)
{
    json_t *top = json_object();
    json_object_set_new(top, "schema_version", json_integer(FORMAT_JSON_SCHEMA_VERSION));
    json_object_set_new(top, "command", json_string(command));
    return top;
}

json_t *
format_json_string(mem_pool *pool, const char *s)
{
    if (s == NULL)
        return json_null();
    json_t *v = json_string(s); /* NULL only when S is not UTF-8 */
    if (v != NULL)
        return v;
    char *copy = mem_strdup(pool, s);
    for (unsigned char *c = (unsigned char *)copy; *c != '\0';) {
        size_t n = *c < 0x80 ? 1 : text_utf8_length(c);
        if (n == 0) {
            *c = '?';
            n = 1;
        }
        c += n;
    }
    v = json_string(copy);
    mem_release(pool, copy);
    return v;
}

json_t *
format_json_number(double x)
{
    /* a real: dump spells it */
    return isfinite(x) ? json_real(x) : json_null();
}

json_t *
format_json_unsigned(unsigned long n)
{
    if (n <= (unsigned long)INT64_MAX)
        return json_integer((json_int_t)n);
    char digits[24];
    snprintf(digits, sizeof digits, "%lu", n);
    return json_string(digits);
}

/* jansson's writer appends to a text. */
static int
put(const char *buffer, size_t size, void *out)
{
    text_putn(out, buffer, size);
    return 0;
}

/* V on one line, keeping the reference: jansson's spelling, but a real as
   %.17g spells it, which format_json_number promises (jansson drops an
   exponent's '+' and leading zeros, 1e-06 as 1e-6). */
static void
dump(text *out, json_t *v)
{
    if (json_is_real(v))
        text_printf(out, "%.17g", json_real_value(v));
    else if (json_is_array(v)) {
        text_putc(out, '[');
        for (size_t i = 0; i < json_array_size(v); i++) {
            text_puts(out, i ? ", " : "");
            dump(out, json_array_get(v, i));
        }
        text_putc(out, ']');
    } else if (json_is_object(v)) {
        const char *name;
        json_t *item;
        int i = 0;
        text_putc(out, '{');
        json_object_foreach(v, name, item)
        {
            format_json_key(out, i++ ? ", " : "", name);
            dump(out, item);
        }
        text_putc(out, '}');
    } else
        json_dump_callback(v, put, out, JSON_ENCODE_ANY);
}

void
format_json(text *out, json_t *v)
{
    dump(out, v);
    json_decref(v);
}

void
format_json_key(text *out, const char *sep, const char *name)
{
    text_puts(out, sep);
    format_json(out, format_json_string(out->pool, name));
    text_puts(out, ": ");
}

void
format_json_member(text *out, const char *sep, const char *name, json_t *v)
{
    format_json_key(out, sep, name);
    format_json(out, v);
}

/* format_json_lines, keeping the reference. */
static void
lines(text *out, json_t *v, const char *indent, int own_line)
{
    int object = json_is_object(v);
    text seps;
    text_init(&seps, out->pool);
    text_printf(&seps, ",\n%s", indent);
    const char *next = text_str(&seps), *first = next + 1;
    text_putc(out, object ? '{' : '[');
    if (object) {
        const char *name;
        json_t *item;
        int i = 0;
        json_object_foreach(v, name, item)
        {
            format_json_key(out, i++ ? next : first, name);
            dump(out, item);
        }
    } else
        for (size_t i = 0; i < json_array_size(v); i++) {
            text_puts(out, i ? next : first);
            dump(out, json_array_get(v, i));
        }
    if (own_line)
        text_putc(out, '\n');
    text_putc(out, object ? '}' : ']');
}

void
format_json_lines(text *out, json_t *v, const char *indent, int own_line)
{
    lines(out, v, indent, own_line);
    json_decref(v);
}

void
format_json_rows(text *out, json_t *v, const char *indent)
{
    if (json_is_array(v))
        lines(out, v, indent, 1);
    else {
        const char *name;
        json_t *item;
        size_t i = 0, n = json_object_size(v);
        text_putc(out, '{');
        json_object_foreach(v, name, item)
        {
            format_json_key(out, i ? ", " : "", name);
            if (++i < n)
                dump(out, item);
            else
                lines(out, item, indent, 1);
        }
        text_putc(out, '}');
    }
    text_putc(out, '\n');
    json_decref(v);
}
