/* diag.c: diagnostics: errors as values and their report text; see diag.h. */
#include "base/diag.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

enum { QUOTE_WIDTH = 120 }; /* longest stretch of a line quoted in a report */

size_t
source_bom(const source *src)
{
    return src->len >= 3 && memcmp(src->text, "\xEF\xBB\xBF", 3) == 0 ? 3 : 0;
}

void
source_position(const source *src, size_t offset, int *line, int *column)
{
    int l = 1;
    size_t start = 0;
    if (offset > src->len)
        offset = src->len;
    for (size_t i = 0; i < offset; i++)
        if (src->text[i] == '\n')
            l++, start = i + 1;
    if (start == 0 && offset >= source_bom(src))
        start = source_bom(src);
    *line = l;
    *column = (int)(offset - start) + 1;
}

/* Quote the line holding OFFSET: a window of it when it is long, bytes that
   would not print replaced by '?', so a binary file cannot garble a
   terminal. Sets e->source_line and e->caret. */
static void
quote_line(dc_error *e, mem_pool *pool, const source *src, size_t offset)
{
    size_t start = offset, end = offset;
    while (start > 0 && src->text[start - 1] != '\n')
        start--;
    if (start == 0 && offset >= source_bom(src))
        start = source_bom(src);
    while (end < src->len && src->text[end] != '\n')
        end++;
    size_t from = start, to = end;
    if (to - from > QUOTE_WIDTH) {
        from = offset > start + QUOTE_WIDTH / 2 ? offset - QUOTE_WIDTH / 2 : start;
        to = from + QUOTE_WIDTH < end ? from + QUOTE_WIDTH : end;
    }
    text t;
    text_init(&t, pool);
    if (from > start)
        text_puts(&t, "...");
    int caret = (int)t.len + (int)(offset - from);
    for (size_t i = from; i < to; i++) {
        unsigned char c = (unsigned char)src->text[i];
        text_putc(&t, c == '\t' || (c >= 0x20 && c < 0x7f) ? (char)c : '?');
    }
    if (to < end)
        text_puts(&t, "...");
    e->source_line = text_str(&t);
    e->caret = caret;
}

/* Build the whole report: "file:line:col: error: message", then, when there
   is a quoted line, the line and a caret under the column. */
static void
format_report(dc_error *e, mem_pool *pool)
{
    text t;
    text_init(&t, pool);
    if (e->file != NULL && e->line > 0)
        text_printf(&t, "%s:%d:%d: error: %s\n", e->file, e->line, e->column, e->message);
    else if (e->file != NULL)
        text_printf(&t, "%s: error: %s\n", e->file, e->message);
    else
        text_printf(&t, "error: %s\n", e->message);
    if (e->source_line != NULL) {
        text_printf(&t, " %5d | %s\n       | ", e->line, e->source_line);
        for (int i = 0; i < e->caret; i++)
            text_putc(&t, e->source_line[i] == '\t' ? '\t' : ' ');
        text_puts(&t, "^\n");
    }
    e->formatted = text_str(&t);
}

void
diag_vat(dc_error *e, mem_pool *pool, const source *src, size_t offset, const char *fmt, va_list ap)
{
    text msg;
    text_init(&msg, pool);
    text_vprintf(&msg, fmt, ap);
    if (offset > src->len)
        offset = src->len;
    e->status = DC_EINPUT;
    e->file = mem_strdup(pool, src->name);
    source_position(src, offset, &e->line, &e->column);
    e->message = text_str(&msg);
    quote_line(e, pool, src, offset);
    format_report(e, pool);
}

void
diag_at(dc_error *e, mem_pool *pool, const source *src, size_t offset, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    diag_vat(e, pool, src, offset, fmt, ap);
    va_end(ap);
}

void
diag_plain(dc_error *e, mem_pool *pool, dc_status status, const char *fmt, ...)
{
    text msg;
    text_init(&msg, pool);
    va_list ap;
    va_start(ap, fmt);
    text_vprintf(&msg, fmt, ap);
    va_end(ap);
    e->status = status;
    e->file = NULL;
    e->line = e->column = 0;
    e->message = text_str(&msg);
    e->source_line = NULL;
    e->caret = 0;
    format_report(e, pool);
}

void
diag_oom(dc_error *e)
{
    e->status = DC_ENOMEM;
    e->file = NULL;
    e->line = e->column = 0;
    e->message = "out of memory";
    e->source_line = NULL;
    e->caret = 0;
    e->formatted = "error: out of memory\n";
}

/* Copy into POOL what may be a copy of the error's strings in another. */
static const char *
keep(mem_pool *pool, const char *s)
{
    return s != NULL ? mem_strdup(pool, s) : NULL;
}

void
diag_keep(dc_error *e, mem_pool *pool)
{
    e->file = keep(pool, e->file);
    e->message = keep(pool, e->message);
    e->source_line = keep(pool, e->source_line);
    e->formatted = keep(pool, e->formatted);
}
