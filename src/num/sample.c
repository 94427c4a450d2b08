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

/* Fill V (exact) for a batch-first label S (Y[m, n_y], class axis 1),
   onehot or prob: each row one example, with one 1 or positive entries
   summing to 1. */
static void
fill_rows(value *v, const symbol *s, gmp_randstate_t rng, int bits)
{
    for (long i = 0; i < v->rows; i++) {
        long hot = (long)gmp_urandomm_ui(rng, (unsigned long)v->cols);
        mpq_t total;
        mpq_init(total);
        for (long j = 0; j < v->cols; j++) {
            mpq_t *x = eval_q(v, i, j);
            if (s->label == LABEL_ONEHOT)
                mpq_set_ui(*x, j == hot, 1);
            else
                draw(*x, rng, bits, 0);
            mpq_add(total, total, *x);
        }
        for (long j = 0; j < v->cols; j++)
            mpq_div(*eval_q(v, i, j), *eval_q(v, i, j), total);
        mpq_clear(total);
    }
}

/* Fill V (exact) for symbol S: its label assumption or its range. */
static void
fill(value *v, const symbol *s, range r, gmp_randstate_t rng, int bits)
{
    if (s->kind == SYM_LABEL && s->class_axis == 1 &&
        (s->label == LABEL_ONEHOT || s->label == LABEL_PROB)) {
        fill_rows(v, s, rng, bits);
        return;
    }
    for (long j = 0; j < v->cols; j++) {
        long hot = (long)gmp_urandomm_ui(rng, (unsigned long)v->rows);
        mpq_t total;
        mpq_init(total);
        for (long i = 0; i < v->rows; i++) {
            mpq_t *x = eval_q(v, i, j);
            if (s->label == LABEL_BINARY) /* a binary label, or a 0/1 mask */
                mpq_set_ui(*x, gmp_urandomb_ui(rng, 1), 1);
            else if (s->kind == SYM_LABEL && s->label == LABEL_ONEHOT)
                mpq_set_ui(*x, i == hot, 1);
            else if (s->kind == SYM_LABEL || r == RANGE_UNIT || r == RANGE_POSITIVE ||
                     r == RANGE_SIMPLEX) {
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
            mpq_add(total, total, *x);
        }
        if ((s->kind == SYM_LABEL && s->label == LABEL_PROB) || r == RANGE_SIMPLEX)
            for (long i = 0; i < v->rows; i++)
                mpq_div(*eval_q(v, i, j), *eval_q(v, i, j), total);
        mpq_clear(total);
    }
}

/* The size of D in this draw: the batch may be overridden. */
static long
size_of(const model *m, const sample_spec *spec, dim d)
{
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
