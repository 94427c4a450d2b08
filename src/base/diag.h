/* diag.h: diagnostics: errors as values, with the file, line and column they are about. */
#ifndef DC_DIAG_H
#define DC_DIAG_H

#include <stddef.h>

#include "base/mem.h"
#include "base/text.h"
#include "derivcheck.h"

struct dc_error {
    dc_status status;
    const char *file;        /* NULL when the error is not about a file */
    int line, column;        /* 1-based; 0 when not about a place */
    const char *message;     /* without the "file:line:col: error:" prefix */
    const char *source_line; /* the line quoted (a window of a long one), or NULL */
    int caret;               /* 0-based position of the caret in source_line */
    const char *formatted;   /* the whole report, as dc_error_text gives it */
};

/* A source buffer and its name, for placing errors. */
typedef struct source {
    const char *name;
    const char *text;
    size_t len;
} source;

/* Fill E with an input error at byte OFFSET of SRC; the message is printf-
   formatted. Strings are copied into POOL. */
void diag_at(dc_error *e, mem_pool *pool, const source *src, size_t offset, const char *fmt, ...)
    __attribute__((format(printf, 5, 6)));
void diag_vat(dc_error *e, mem_pool *pool, const source *src, size_t offset, const char *fmt,
              va_list ap);

/* Fill E with an error that has no place in a file. */
void diag_plain(dc_error *e, mem_pool *pool, dc_status status, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

/* Copy E's strings into POOL, so that E outlives the pool it was made in
   (api.c: a call's error outlives the call's pool). An allocation failure
   jumps to POOL's target and leaves E half copied: replace it then. */
void diag_keep(dc_error *e, mem_pool *pool);

/* Fill E with the out-of-memory error; allocates nothing. */
void diag_oom(dc_error *e);

/* 1-based line and byte column of OFFSET in SRC. */
void source_position(const source *src, size_t offset, int *line, int *column);
/* The length of the UTF-8 byte-order mark SRC opens with (editors on
   Windows write one), 3, or 0: it is skipped, and columns count from after it. */
size_t source_bom(const source *src);

#endif
