/* format.h: the output formats (text, JSON, Markdown, LaTeX) and what their writers share. */
#ifndef DC_FORMAT_H
#define DC_FORMAT_H

#include <jansson.h>

#include "base/mem.h"
#include "base/text.h"

typedef enum format_kind {
    FORMAT_TEXT,
    FORMAT_JSON,
    FORMAT_MARKDOWN,
    FORMAT_LATEX,
    FORMAT_NUMPY, /* a Python module (derive only) */
} format_kind;

/* The format named NAME ("text", "json", ...); 0 when there is none. */
int format_named(const char *name, format_kind *out);

/* PATH without its folders, as every output names a file: a report reads
   the same wherever the file lives. Points into PATH. */
const char *format_base_name(const char *path);

/* ---- LaTeX ---- */

/* The character C as LaTeX text (not math) reads it: & % $ # _ { } escaped
   with a backslash; \ ^ ~ < > | as the text commands that print them. */
void format_latex_char(text *out, char c);

/* The string S as LaTeX text, each character as format_latex_char writes
   it: a file name inside \texttt{...}. */
void format_latex_text(text *out, const char *s);

/* ---- Markdown tables ---- */

/* The head of a table: the N column names of HEADS as a row, then the line
   under it. ALIGN has a letter a column, 'r' where the column is aligned
   right; NULL aligns every column left. */
void format_markdown_head(text *out, int n, const char *const *heads, const char *align);

/* A row of the N cells of CELLS. */
void format_markdown_row(text *out, int n, const char *const *cells);

/* ---- JSON ----

   Values are built with jansson's json_* calls and written in jansson's
   spelling: ", " between items, ": " after a key, strings escaped, keys in
   the order they were set. What starts a line is the caller's layout. An
   allocation failure, jansson's included, jumps to the pools' targets as
   every allocation does (base/mem.h). Every function that writes a value
   takes its reference. */

/* The version of the JSON every command writes (docs/json.md): raised
   when a key is removed or changes meaning, not when one is added. */
enum { FORMAT_JSON_SCHEMA_VERSION = 1 };

/* A report's top object: "schema_version", then "command": COMMAND, the
   members every command's JSON opens with (docs/json.md). */
json_t *format_json_report(const char *command);

/* S as a JSON string; null for NULL. jansson takes only UTF-8, so a byte
   that is part of no valid sequence (a file name may hold one) becomes
   '?', in a copy made in POOL. */
json_t *format_json_string(mem_pool *pool, const char *s);

/* X as a JSON number, spelled as printf's %.17g spells it wherever it is
   written (64, -0, 1e-06, 1e+20: no ".0" after a whole number, an
   exponent's sign and two digits kept); null when X is NaN or infinite,
   which JSON cannot write. */
json_t *format_json_number(double x);

/* N as a JSON integer; beyond jansson's integers (above 2^63 - 1) a string
   of its digits, so that the value stays exact. */
json_t *format_json_unsigned(unsigned long n);

/* Append V on one line. */
void format_json(text *out, json_t *v);

/* Append SEP, then "KEY": V on one line. */
void format_json_member(text *out, const char *sep, const char *key, json_t *v);

/* Append SEP, then "KEY": for a value the caller lays out. */
void format_json_key(text *out, const char *sep, const char *key);

/* Append the array or object V with each item on a line of its own after
   INDENT (items on one line each), "," between them, and its closing
   bracket after the last item, on a line of its own when OWN_LINE. */
void format_json_lines(text *out, json_t *v, const char *indent, int own_line);

/* Append a report: the array V, or the object V whose last member is an
   array, with that array's elements on lines of their own as
   format_json_lines writes them (the rows: gradients, claims, rules)
   and everything else on the first line; then a newline. */
void format_json_rows(text *out, json_t *v, const char *indent);

#endif
