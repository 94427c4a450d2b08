/* grow.h: a libFuzzer custom mutator that grows deep and long inputs from a target's pieces. */
#ifndef DC_FUZZ_GROW_H
#define DC_FUZZ_GROW_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

/* libFuzzer's own mutator (the dictionary's insertions among them). */
size_t LLVMFuzzerMutate(uint8_t *data, size_t size, size_t max_size);

/* One way to grow an input: OPEN repeated K times at a point, CLOSE
   repeated K times at a later one (NULL: none); or, when LINE is set,
   FIRST and K lines of LINE (a printf format taking the line's number twice: "A%d =
   A%d + X\n" with %d the number and the one before) appended. Byte
   mutations alone almost never build the 256 levels of the nesting cap,
   the 8192 of the height cap or a rule file of 256 KiB; these reach them
   in one step, and the other mutations then work on what they built. */
typedef struct grow_piece {
    const char *open, *close, *line;
    const char *first; /* before the lines: "A0 = X\n" (NULL: nothing) */
} grow_piece;

/* A number from 1 to MOST, spread evenly over its powers of two (as many
   inputs of 300 as of 30 000), from R. */
static size_t
grow_count(unsigned r, size_t most)
{
    unsigned bits = 1 + r % 20;
    size_t k = ((size_t)1 << bits) + (r >> 5) % ((size_t)1 << bits);
    return k > most ? most : k;
}

/* DATA (SIZE bytes, room for MAX_SIZE) grown by one of PIECES (N), chosen
   and placed from SEED; the new size (SIZE when nothing fits). */
static size_t
grow(uint8_t *data, size_t size, size_t max_size, unsigned seed, const grow_piece *pieces, size_t n)
{
    const grow_piece *p = &pieces[seed % n];
    seed /= (unsigned)n;
    if (p->line != NULL) {
        size_t k = grow_count(seed, max_size), at = size;
        size_t lf = p->first != NULL ? strlen(p->first) : 0;
        if (at + lf > max_size)
            return size;
        if (lf > 0)
            memcpy(data + at, p->first, lf);
        at += lf;
        char line[128];
        for (size_t i = 1; i <= k; i++) {
            int len = snprintf(line, sizeof line, p->line, (int)i, (int)i - 1);
            if (len < 0 || at + (size_t)len > max_size)
                break;
            memcpy(data + at, line, (size_t)len);
            at += (size_t)len;
        }
        return at;
    }
    size_t lo = strlen(p->open), lc = p->close != NULL ? strlen(p->close) : 0;
    if (lo + lc == 0 || size >= max_size)
        return size;
    size_t k = grow_count(seed, (max_size - size) / (lo + lc));
    if (k == 0)
        return size;
    size_t a = size > 0 ? (seed >> 3) % (size + 1) : 0;
    size_t b = a + (size > a ? (seed >> 11) % (size - a + 1) : 0);
    /* data = [0, a) OPEN^k [a, b) CLOSE^k [b, size) */
    memmove(data + b + k * (lo + lc), data + b, size - b);
    memmove(data + a + k * lo, data + a, b - a);
    for (size_t i = 0; i < k; i++)
        memcpy(data + a + i * lo, p->open, lo);
    for (size_t i = 0; lc > 0 && i < k; i++)
        memcpy(data + b + k * lo + i * lc, p->close, lc);
    return size + k * (lo + lc);
}

/* What .dc inputs are grown from: nesting, chains of operators, prefix
   and postfix operators, and chains of definitions. */
#define GROW_DC_PIECES                                                                            \
    {                                                                                             \
        {"(", ")", NULL, NULL}, {"tanh(", ")", NULL, NULL}, {"sum(", ")", NULL, NULL},            \
            {" + X", NULL, NULL, NULL}, {"X @ ", NULL, NULL, NULL}, {"-", NULL, NULL, NULL},      \
            {".T", NULL, NULL, NULL}, {NULL, NULL, "A%d = tanh(A%d)\n", "A0 = X\n"},              \
            {NULL, NULL, "A%d = A%d + X\n", "A0 = X\n"},                                          \
    }

/* What rule files are grown from: nested patterns, long sums, many rules
   (a growing one among them). */
#define GROW_RULES_PIECES                                                                         \
    {                                                                                             \
        {"tanh(", ")", NULL, NULL}, {"(", ")", NULL, NULL}, {" + x", NULL, NULL, NULL},           \
            {NULL, NULL, "g%d: tanh(x) => tanh(x + %d) + tanh(x - 1)\n", NULL},                   \
            {NULL, NULL, "r%d: exp(log(x)) * %d => x\n", NULL},                                   \
    }

/* GROW_MUTATOR(PIECES): the target's LLVMFuzzerCustomMutator, which grows
   one input in eight and leaves the rest to libFuzzer's mutations. */
#define GROW_MUTATOR(pieces)                                                                      \
    size_t LLVMFuzzerCustomMutator(uint8_t *data, size_t size, size_t max_size, unsigned seed);  \
    size_t LLVMFuzzerCustomMutator(uint8_t *data, size_t size, size_t max_size, unsigned seed)   \
    {                                                                                             \
        if (seed % 8 != 0)                                                                        \
            return LLVMFuzzerMutate(data, size, max_size);                                        \
        return grow(data, size, max_size, seed / 8, pieces, sizeof pieces / sizeof *pieces);     \
    }

#endif
