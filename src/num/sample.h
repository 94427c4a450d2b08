/* sample.h: random instances of a model, from GMP's seeded generators. */
#ifndef DC_SAMPLE_H
#define DC_SAMPLE_H

#include "lang/model.h"
#include "num/eval.h"

/* Numeric sizes for dims of a model, in place of their declared ones:
   DIMS[k] is drawn at N[k] (0: at its declared size). */
typedef struct sample_sizes {
    size_t count;
    const symbol **dims;
    long *n;
} sample_sizes;

/* Size assignment K of every dim of M (each SYM_DIM and SYM_BATCH symbol,
   in the order declared) into OUT, allocated in POOL. K = 0: the declared
   sizes (0 for a dim declared without one). K >= 1: each dim in turn the
   smallest size of at least 3 that is no power of two and differs from
   its declared size, from its size in assignments 1 .. K - 1 and from the
   other dims' in assignment K. A claim holds for every size of every dim:
   at these sizes a constant that is 1/m only at the declared m, a factor
   m that is invisible at m = 1, or two dims of one size mixed up, show.
   Allocation failure jumps to POOL's on_oom target. */
void sample_sizes_of(sample_sizes *out, mem_pool *pool, const model *m, int k);

/* Small size assignment K of every dim of M (in the order declared, the
   batch included) into OUT, allocated in POOL: dim D at 2 + (D + K) mod 4.
   At each K up to four dims have four different sizes, and over four
   consecutive K each dim takes each of 2, 3, 4 and 5: small enough that
   exact rationals through a deep network stay cheap, varied enough that
   two dims mixed up, or a constant right at one size only, show (no size
   is 1, where a missing factor or sum would hide). Allocation failure
   jumps to POOL's on_oom target. */
void sample_sizes_small(sample_sizes *out, mem_pool *pool, const model *m, int k);

/* How the values of one instance are drawn. */
typedef struct sample_spec {
    unsigned long seed;        /* --seed */
    unsigned long index;       /* which instance: each has its own stream */
    int bits;                  /* entries are k / 2^bits with |k| <= 2^bits (exact rationals) */
    long batch;                /* the batch size to draw for (0: the declared one) */
    const sample_sizes *sizes; /* sizes for dims, the batch's too (NULL: declared and BATCH) */
    int free_activations;      /* bind definitions whose value is not rational
                                  (tanh, sigmoid, softmax, exp, log of anything) to
                                  random values in their range, as free variables */
} sample_spec;

/* Bind every input, label and param of M in EV to random exact rationals
   drawn from the stream (seed, index) (so the same seed gives the same
   numbers whatever the order or number of threads), labels obeying their
   assumption (binary: 0/1; onehot: one 1 per column; prob: positive
   columns summing to 1; none: in [0, 1]). With free_activations, each
   definition whose outermost operation is transcendental is bound too:
   sigmoid and softmax outputs in (0, 1) (softmax columns summing to 1),
   tanh in (-1, 1), exp positive. Dims take the sizes of SPEC's SIZES (set
   in EV with eval_set_dim), else their declared values unless eval_set_dim
   was called. SCRATCH lends memory for the draw (returned
   before this returns). Returns 0 with WHY when a dim has no size. */
int sample_bind(evaluator *ev, mem_pool *scratch, const model *m, const sample_spec *spec,
                char *why, size_t len);

/* Initialise RNG (the caller clears it with gmp_randclear) as the stream of
   instance INDEX under SEED: GMP's 128-bit linear congruential generator
   (gmp_randinit_lc_2exp_size), seeded with (SEED, INDEX) mixed by three
   rounds of the splitmix64 finaliser, so that neighbouring indexes and
   seeds start unrelated streams. Cheap to start: about 4,000 instructions
   (seeding a Mersenne Twister took about 3.4 million). */
void sample_stream_init(gmp_randstate_t rng, unsigned long seed, unsigned long index);

/* sample_bind drawing from RNG (advanced by the draw) instead of the
   stream of SPEC's seed and index, which are ignored. */
int sample_bind_stream(evaluator *ev, gmp_randstate_t rng, mem_pool *scratch, const model *m,
                       const sample_spec *spec, char *why, size_t len);

/* Draws a positive weight into Q from RNG for sample_label (CTX is the
   caller's): a prob label's entry before its column is normalised. */
typedef void sample_weight(mpq_t q, gmp_randstate_t rng, void *ctx);

/* Fill the exact value V with numbers a label of assumption L (binary,
   onehot or prob) may take, drawn from RNG. A column is what
   sum(y, axis=0) adds: a column of a matrix, the whole of a 1-D value, a
   scalar; with BY_ROWS (a batch-first label, Y[m, n_y]) a matrix's
   columns are its rows instead. Each column draws its hot row first (uniform over its entries),
   then each entry in order: binary one random bit; onehot 1 at the hot
   row, else 0; prob a WEIGHT (given CTX), the column then divided by its
   sum. */
void sample_label(value *v, label_assumption l, int by_rows, gmp_randstate_t rng,
                  sample_weight *weight, void *ctx);

/* The numeric size of dim D in M's declaration (literal or declared value). */
long sample_dim(dim d);

#endif
