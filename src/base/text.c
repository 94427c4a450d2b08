/* text.c: growable strings in a pool; see text.h. */
#include "base/text.h"

#include <stdint.h>
#include <stdio.h>
#include <string.h>

void
text_init(text *t, mem_pool *pool)
{
    t->pool = pool;
    t->s = NULL;
    t->len = t->cap = 0;
}

/* Make room for n more characters and the terminating NUL. */
static void
reserve(text *t, size_t n)
{
    if (t->len + n + 1 <= t->cap)
        return;
    size_t cap = t->cap ? t->cap : 64;
    while (cap < t->len + n + 1)
        cap *= 2;
    t->s = mem_realloc(t->pool, t->s, cap);
    t->cap = cap;
}

void
text_putn(text *t, const char *s, size_t n)
{
    reserve(t, n);
    memcpy(t->s + t->len, s, n);
    t->len += n;
    t->s[t->len] = '\0';
}

void
text_putc(text *t, char c)
{
    text_putn(t, &c, 1);
}

void
text_puts(text *t, const char *s)
{
    text_putn(t, s, strlen(s));
}

void
text_vprintf(text *t, const char *fmt, va_list ap)
{
    va_list again;
    va_copy(again, ap);
    int n = vsnprintf(NULL, 0, fmt, ap);
    if (n > 0) {
        reserve(t, (size_t)n);
        vsnprintf(t->s + t->len, (size_t)n + 1, fmt, again);
        t->len += (size_t)n;
    }
    va_end(again);
}

void
text_printf(text *t, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    text_vprintf(t, fmt, ap);
    va_end(ap);
}

const char *
text_str(text *t)
{
    if (t->s == NULL)
        reserve(t, 0), t->s[0] = '\0';
    return t->s;
}

/* The length of the valid UTF-8 sequence S starts with (S[0] >= 0x80),
   or 0 when it is not one (overlong forms and surrogates included). */
size_t
text_utf8_length(const unsigned char *s)
{
    unsigned char lo = 0x80, hi = 0xbf; /* the second byte's range */
    size_t n = 0;
    if (s[0] >= 0xc2 && s[0] <= 0xdf)
        n = 2;
    else if (s[0] >= 0xe0 && s[0] <= 0xef) {
        n = 3;
        lo = s[0] == 0xe0 ? 0xa0 : lo;
        hi = s[0] == 0xed ? 0x9f : hi;
    } else if (s[0] >= 0xf0 && s[0] <= 0xf4) {
        n = 4;
        lo = s[0] == 0xf0 ? 0x90 : lo;
        hi = s[0] == 0xf4 ? 0x8f : hi;
    }
    if (n == 0 || s[1] < lo || s[1] > hi)
        return 0;
    for (size_t k = 2; k < n; k++)
        if ((s[k] & 0xc0) != 0x80)
            return 0;
    return n;
}

uint64_t
text_hash(uint64_t hash, const char *s, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        hash ^= (unsigned char)s[i];
        hash *= 0x100000001b3u; /* the FNV 64-bit prime */
    }
    return hash;
}

size_t
text_edit_distance(const char *a, size_t la, const char *b, size_t lb)
{
    size_t row[33];
    if (la > 32 || lb > 32)
        return SIZE_MAX;
    for (size_t j = 0; j <= lb; j++)
        row[j] = j;
    for (size_t i = 1; i <= la; i++) {
        size_t diag = row[0];
        row[0] = i;
        for (size_t j = 1; j <= lb; j++) {
            size_t up = row[j];
            size_t cost = a[i - 1] == b[j - 1] ? 0 : 1;
            size_t best = diag + cost;
            if (up + 1 < best)
                best = up + 1;
            if (row[j - 1] + 1 < best)
                best = row[j - 1] + 1;
            row[j] = best;
            diag = up;
        }
    }
    return row[lb];
}
