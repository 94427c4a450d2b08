/* sample.c: random instances of a model; see sample.h. */
#include "num/sample.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

long
sample_dim(dim d)
{
    return d.sym != NULL ? d.sym->value : d.n;
}

/* Whether N is a size the varied assignments may take: at least 3, no
   power of two. */
static int
varied_size(long n)
{
    return n >= 3 && (n & (n - 1)) != 0;
}

/* Whether N is among the first COUNT entries of V. */
static int
among(const long *v, size_t count, long n)
{
    for (size_t i = 0; i < count; i++)
        if (v[i] == n)
            return 1;
    return 0;
}

/* OUT's dims: every dim of M (each SYM_DIM and SYM_BATCH symbol, in the
   order declared), their sizes 0, allocated in POOL. */
static void
sizes_dims(sample_sizes *out, mem_pool *pool, const model *m)
{
    size_t count = 0;
    for (size_t i = 0; i < m->nsymbols; i++)
        count += m->symbols[i]->kind == SYM_DIM || m->symbols[i]->kind == SYM_BATCH;
    out->count = count;
    out->dims = mem_zalloc(pool, (count + 1) * sizeof *out->dims);
    out->n = mem_zalloc(pool, (count + 1) * sizeof *out->n);
    size_t d = 0;
    for (size_t i = 0; i < m->nsymbols; i++)
        if (m->symbols[i]->kind == SYM_DIM || m->symbols[i]->kind == SYM_BATCH)
            out->dims[d++] = m->symbols[i];
}

void
sample_sizes_small(sample_sizes *out, mem_pool *pool, const model *m, int k)
{
    sizes_dims(out, pool, m);
    for (size_t d = 0; d < out->count; d++)
        out->n[d] = 2 + (long)((d + (size_t)k) % 4);
}

void
sample_sizes_of(sample_sizes *out, mem_pool *pool, const model *m, int k)
{
    sizes_dims(out, pool, m);
    size_t count = out->count, d;
    /* each dim's sizes so far: declared, then assignments 1 .. K */
    long *seen = mem_zalloc(pool, (count + 1) * (size_t)(k + 1) * sizeof *seen);
    for (d = 0; d < count; d++)
        seen[d * (size_t)(k + 1)] = out->dims[d]->value;
    for (int a = 1; a <= k; a++) {
        long *mine = mem_zalloc(pool, (count + 1) * sizeof *mine);
        for (d = 0; d < count; d++) {
            long n = 3;
            while (!varied_size(n) || among(&seen[d * (size_t)(k + 1)], (size_t)a, n) ||
                   among(mine, d, n))
                n++;
            mine[d] = n;
            seen[d * (size_t)(k + 1) + (size_t)a] = n;
        }
        mem_release(pool, mine);
    }
    for (d = 0; d < count; d++)
        out->n[d] = seen[d * (size_t)(k + 1) + (size_t)k];
    mem_release(pool, seen);
}

/* What range a definition's value lies in, when it is a free variable. */
typedef enum range {
    RANGE_NONE,
    RANGE_UNIT,
    RANGE_SIGNED_UNIT,
    RANGE_POSITIVE,
    RANGE_SIMPLEX
} range;

static range
activation_range(const symbol *s)
{
    if (s->kind != SYM_DEF || s->definition == NULL)
        return RANGE_NONE;
    switch (s->definition->op) {
    case OP_SIGMOID:
        return RANGE_UNIT;
    case OP_TANH:
        return RANGE_SIGNED_UNIT;
    case OP_EXP:
        return RANGE_POSITIVE;
    case OP_SOFTMAX:
        return s->definition->aux == 0 ? RANGE_SIMPLEX : RANGE_UNIT;
    case OP_LOG:
    case OP_LOG1P:
        return RANGE_SIGNED_UNIT;
    case OP_SQRT:
        return RANGE_POSITIVE;
    default:
        return RANGE_NONE;
    }
}

/* A random k / 2^bits: in [-1, 1] when SIGNED, else in (0, 1]. */
static void
draw(mpq_t q, gmp_randstate_t rng, int bits, int is_signed)
{
    mpz_urandomb(mpq_numref(q), rng, (mp_bitcnt_t)bits);
    if (!is_signed)
        mpz_add_ui(mpq_numref(q), mpq_numref(q), 1);
    else if (gmp_urandomb_ui(rng, 1))
        mpz_neg(mpq_numref(q), mpq_numref(q));
    mpz_set_ui(mpq_denref(q), 1);
    mpz_mul_2exp(mpq_denref(q), mpq_denref(q), (mp_bitcnt_t)bits);
    mpq_canonicalize(q);
}

void
sample_label(value *v, label_assumption l, int by_rows, gmp_randstate_t rng, sample_weight *weight,
             void *ctx)
{
    by_rows = by_rows && v->rank == 2;
    int by_columns = v->rank == 2 && !by_rows;
    long ncols = by_columns ? v->cols : by_rows ? v->rows : 1;
    long len = by_columns ? v->rows : v->cols;
    mpq_t total;
    mpq_init(total);
    for (long c = 0; c < ncols; c++) {
        long hot = (long)gmp_urandomm_ui(rng, (unsigned long)len);
        mpq_set_ui(total, 0, 1);
        for (long k = 0; k < len; k++) {
            mpq_t *e = by_columns ? eval_q(v, k, c) : eval_q(v, by_rows ? c : 0, k);
            if (l == LABEL_BINARY)
                mpq_set_ui(*e, gmp_urandomb_ui(rng, 1), 1);
            else if (l == LABEL_ONEHOT)
                mpq_set_ui(*e, k == hot, 1);
            else {
                weight(*e, rng, ctx);
                mpq_add(total, total, *e);
            }
        }
        for (long k = 0; l == LABEL_PROB && k < len; k++) {
            mpq_t *e = by_columns ? eval_q(v, k, c) : eval_q(v, by_rows ? c : 0, k);
            mpq_div(*e, *e, total);
        }
    }
    mpq_clear(total);
}

/* A weight of a prob label or a softmax's column: draw's k / 2^bits in
   (0, 1], with CTX the bits. */
static void
draw_weight(mpq_t q, gmp_randstate_t rng, void *ctx)
{
    draw(q, rng, *(const int *)ctx, 0);
}

/* Fill V (exact) for symbol S: its label assumption (a label's, or a 0/1
   mask's) or its range. Softmax outputs summing to 1 down columns are
   drawn as a prob label is; a batch-first label's examples are its rows. */
static void
fill(value *v, const symbol *s, range r, gmp_randstate_t rng, int bits)
{
    if (s->label != LABEL_ANY || r == RANGE_SIMPLEX) {
        sample_label(v, r == RANGE_SIMPLEX ? LABEL_PROB : s->label,
                     s->kind == SYM_LABEL && s->class_axis == 1, rng, draw_weight, &bits);
        return;
    }
    for (long j = 0; j < v->cols; j++) {
        /* a row drawn and not used, as a onehot label's column draws its
           hot row, so that a seed gives the numbers it always gave */
        gmp_urandomm_ui(rng, (unsigned long)v->rows);
        for (long i = 0; i < v->rows; i++) {
            mpq_t *x = eval_q(v, i, j);
            if (s->kind == SYM_LABEL || r == RANGE_UNIT || r == RANGE_POSITIVE) {
                draw(*x, rng, bits, 0);
                if (r == RANGE_UNIT) /* strictly inside (0, 1) */
                    mpq_div_2exp(*x, *x, 1);
                if (r == RANGE_POSITIVE)
                    mpq_mul_2exp(*x, *x, 2);
            } else {
                draw(*x, rng, bits, 1);
                if (r == RANGE_SIGNED_UNIT) /* strictly inside (-1, 1) */
                    mpq_div_2exp(*x, *x, 1);
            }
        }
    }
}

/* The size of D in this draw: SPEC's sizes, then its batch, override the
   declared one. */
static long
size_of(const model *m, const sample_spec *spec, dim d)
{
    for (size_t k = 0; spec->sizes != NULL && d.sym != NULL && k < spec->sizes->count; k++)
        if (spec->sizes->dims[k] == d.sym && spec->sizes->n[k] > 0)
            return spec->sizes->n[k];
    if (spec->batch > 0 && d.sym != NULL && d.sym == m->batch)
        return spec->batch;
    return sample_dim(d);
}

/* The splitmix64 finaliser (Steele, Lea and Flood, "Fast splittable
   pseudorandom number generators", OOPSLA 2014): a bijection of 64-bit
   words in which every input bit flips about half the output bits. */
static uint64_t
mix64(uint64_t z)
{
    z = (z ^ (z >> 30)) * UINT64_C(0xbf58476d1ce4e5b9);
    z = (z ^ (z >> 27)) * UINT64_C(0x94d049bb133111eb);
    return z ^ (z >> 31);
}

void
sample_stream_init(gmp_randstate_t rng, unsigned long seed, unsigned long index)
{
    /* Three Feistel rounds of mix64 over the words (seed, index): a
       bijection on 128 bits, so distinct (seed, index) pairs get distinct
       seeds, and each seed word depends on both inputs, so that
       neighbouring indexes (or seeds) give unrelated starting states. The
       round constants are multiples of splitmix64's increment 2^64 / phi. */
    const uint64_t gamma = UINT64_C(0x9e3779b97f4a7c15);
    uint64_t w[2] = {(uint64_t)seed, (uint64_t)index};
    w[1] ^= mix64(w[0] + gamma);
    w[0] ^= mix64(w[1] + 2 * gamma);
    w[1] ^= mix64(w[0] + 3 * gamma);
    /* GMP's table LC for 128 bits: X = a X + 1 mod 2^256 with a 256-bit
       multiplier a; each step gives the high 128 bits of X. Seeding it
       only reduces the seed mod 2^256, where seeding a Mersenne Twister
       computes a modular power with a 19937-bit modulus. 128 is within
       GMP's table (at most 128), so the call cannot fail. */
    if (!gmp_randinit_lc_2exp_size(rng, 128))
        abort();
    mpz_t s;
    mpz_init(s);
    mpz_import(s, 2, -1, sizeof w[0], 0, 0, w);
    gmp_randseed(rng, s);
    mpz_clear(s);
}

int
sample_bind_stream(evaluator *ev, gmp_randstate_t rng, mem_pool *scratch, const model *m,
                   const sample_spec *spec, char *why, size_t len)
{
    /* values are drawn exact and converted by the binding */
    evaluator *exact = eval_new(scratch, NUMBER_EXACT, 0);
    int ok = 1;
    for (size_t i = 0; i < m->nsymbols && ok; i++) {
        const symbol *s = m->symbols[i];
        range r = spec->free_activations ? activation_range(s) : RANGE_NONE;
        if (s->kind != SYM_INPUT && s->kind != SYM_LABEL && s->kind != SYM_PARAM && r == RANGE_NONE)
            continue;
        long rows = 1, cols = 1;
        if (s->shape.rank == 1)
            cols = size_of(m, spec, s->shape.d[0]);
        if (s->shape.rank == 2)
            rows = size_of(m, spec, s->shape.d[0]), cols = size_of(m, spec, s->shape.d[1]);
        if (rows < 1 || cols < 1) {
            snprintf(why, len, "'%s' has a dim without a size (give it one: dims n = 4)", s->name);
            ok = 0;
            break;
        }
        value *v = eval_new_value(exact, s->shape.rank, rows, cols);
        if (v == NULL) {
            snprintf(why, len,
                     "'%s' has %ld x %ld entries, more than the cap of %d entries on one value",
                     s->name, rows, cols, EVAL_MAX_ENTRIES);
            ok = 0;
            break;
        }
        fill(v, s, r, rng, spec->bits);
        eval_bind(ev, s, v);
    }
    eval_free(exact);
    if (ok && spec->batch > 0 && m->batch != NULL)
        eval_set_dim(ev, m->batch, spec->batch);
    for (size_t k = 0; ok && spec->sizes != NULL && k < spec->sizes->count; k++)
        if (spec->sizes->n[k] > 0)
            eval_set_dim(ev, spec->sizes->dims[k], spec->sizes->n[k]);
    return ok;
}

int
sample_bind(evaluator *ev, mem_pool *scratch, const model *m, const sample_spec *spec, char *why,
            size_t len)
{
    gmp_randstate_t rng;
    sample_stream_init(rng, spec->seed, spec->index);
    int ok = sample_bind_stream(ev, rng, scratch, m, spec, why, len);
    gmp_randclear(rng);
    return ok;
}
