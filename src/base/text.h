/* text.h: growable strings in a pool, for printers and messages. */
#ifndef DC_TEXT_H
#define DC_TEXT_H

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include "base/mem.h"

/* A text owns a NUL-terminated buffer allocated from its pool. */
typedef struct text {
    mem_pool *pool;
    char *s;
    size_t len, cap;
} text;

void text_init(text *t, mem_pool *pool);
void text_putc(text *t, char c);
void text_puts(text *t, const char *s);
void text_putn(text *t, const char *s, size_t n);
void text_printf(text *t, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void text_vprintf(text *t, const char *fmt, va_list ap);
/* The characters so far, always NUL-terminated (empty string at first). */
const char *text_str(text *t);

/* The length of the valid UTF-8 sequence S starts with (S[0] >= 0x80),
   or 0 when it is not one (overlong forms and surrogates included). */
size_t text_utf8_length(const unsigned char *s);

/* The FNV-1a 64-bit hash of the N bytes of S continued from HASH (start
   with TEXT_HASH_START): an identity for texts (a sweep's model and rules),
   not a defence against a forger. */
#define TEXT_HASH_START UINT64_C(0xcbf29ce484222325) /* the FNV 64-bit offset basis */
uint64_t text_hash(uint64_t hash, const char *s, size_t n);

/* How many single-byte insertions, deletions and substitutions turn A[0..LA)
   into B[0..LB) (Levenshtein), for "did you mean" suggestions; SIZE_MAX
   when either is longer than 32 bytes. */
size_t text_edit_distance(const char *a, size_t la, const char *b, size_t lb);

#endif
