/* format.h: the output formats a command can write (text, JSON, Markdown, LaTeX). */
#ifndef DC_FORMAT_H
#define DC_FORMAT_H

typedef enum format_kind {
    FORMAT_TEXT,
    FORMAT_JSON,
    FORMAT_MARKDOWN,
    FORMAT_LATEX,
} format_kind;

/* The format named NAME ("text", "json", ...); 0 when there is none. */
int format_named(const char *name, format_kind *out);

#endif
