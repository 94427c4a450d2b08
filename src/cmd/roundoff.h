/* roundoff.h: how much error IEEE double adds to each formulation of each gradient. */
#ifndef DC_ROUNDOFF_H
#define DC_ROUNDOFF_H

#include <stdint.h>

#include "base/format.h"
#include "sym/derive.h"
#include "num/eval.h"
#include "num/ulps.h"
#include "cmd/check.h"

/* The regimes a sweep draws from; each says in the report what it draws. */
typedef enum roundoff_regime {
    ROUNDOFF_TYPICAL,         /* entries k / 2^30 in [-1, 1], the declared m */
    ROUNDOFF_SATURATED,       /* output pre-activations beyond 745: A rounds to 0 or 1 */
    ROUNDOFF_TINY,            /* output bias in [-32, -16]: probabilities 1e-14 to 1e-7 */
    ROUNDOFF_LARGE_M,         /* m = 100000 */
    ROUNDOFF_POW2_M,          /* m = 64 */
    ROUNDOFF_ODD_M,           /* m = 63: 1/m is not a double */
    ROUNDOFF_CONFIDENT,       /* output logits drawn right, margins log-uniform in [5, 700] */
    ROUNDOFF_CONFIDENT_MIXED, /* the same, every fourth example wrong by such a margin */
    ROUNDOFF_NREGIMES
} roundoff_regime;

enum {
    ROUNDOFF_SAMPLE_BITS = 30,     /* entries k / 2^30, exact in double */
    ROUNDOFF_FIRST_PREC = 80,      /* the precision ladder: 80, 128, 256, ..., 8192, then the cap */
    ROUNDOFF_MAX_PREC = 10000,     /* the cap: entries not certified by then are unsampleable */
    ROUNDOFF_DEFAULT_SAMPLES = 64, /* per regime, when the caller gives 0 */
    ROUNDOFF_LARGE_M_SAMPLES = 2,  /* the large-m regime's default */
    ROUNDOFF_MAX_SAMPLES = 1000000,
    ROUNDOFF_NAN_BITS = ULPS_NAN_BITS, /* the bits of error of a NaN */
    ROUNDOFF_MICRO = 1 << 20,          /* bits are summed in units of 2^-20: any order, same sum */
    ROUNDOFF_MAX_FORMS = 64,           /* formulations per model */
    ROUNDOFF_MAX_QUANTITIES = 32       /* quantities (loss, params, softmax output) per model */
};

/* A histogram's bins: whole bits of error 0 to 63, then 64 (a NaN). */
enum { ROUNDOFF_BINS = ROUNDOFF_NAN_BITS + 1 };

/* The worst entry a formulation met: enough to reproduce it. */
typedef struct roundoff_worst {
    long sample; /* the sample index (-1: none yet) */
    long row, col;
    double bits, computed, reference;
} roundoff_worst;

/* What one formulation of one quantity measured over the samples of a
   regime. Sums are exact integers so that any split of the samples (threads,
   shards) gives the same totals. */
typedef struct roundoff_stat {
    const char *quantity;    /* "J", "dW2", "A2" */
    const char *formulation; /* "deferred", "naive chain", "softplus (C)" */
    const char *formula;     /* the formula as evaluated, or how C computes it */
    long entries;            /* entries measured (with a certified reference) */
    long unsampleable;       /* entries whose reference hit the cap */
    long undefined;          /* of them, entries whose true value is no finite number (the
                                log of a negative number, a quotient by 0): not refined */
    int64_t micro_bits;      /* sum of bits of error, in units of 2^-20 */
    double max_bits, max_rel;
    long nan, inf;
    roundoff_worst worst;
    long histogram[ROUNDOFF_BINS]; /* entries by whole bits of error: [b] counts b <= bits < b + 1,
                                    [ROUNDOFF_NAN_BITS] the NaNs; they sum to entries */
} roundoff_stat;

/* One regime's table. */
typedef struct roundoff_table {
    roundoff_regime regime;
    const char *draws; /* what the regime draws, in words */
    long batch;        /* the m of every sample (0: the model has none) */
    long samples;      /* samples measured here (this shard's) */
    long max_prec;     /* the highest precision a reference needed */
    roundoff_stat *stats;
    size_t n;
} roundoff_table;

/* A whole sweep: every requested regime of one model. */
typedef struct roundoff_result {
    const char *model_name;
    unsigned long seed;
    long samples_asked; /* per regime; 0: the defaults */
    int shard, nshards; /* this shard, 1-based, of NSHARDS (1 of 1 when not split) */
    /* the shards this result holds, bit K - 1 for shard K (0: SHARD
       alone); more than one after a merge with --partial */
    uint64_t shards;
    /* the sweep's identity (roundoff_identify): text_hash of the model's
       text and the rule set's hash; merge adds only shards that agree */
    uint64_t model_hash, rules_hash;
    roundoff_table tables[ROUNDOFF_NREGIMES];
    size_t ntables;
} roundoff_result;

/* What a sweep is asked to do. */
typedef struct roundoff_request {
    const rule_set *rules; /* the rule set the derivation was made with (required): the naive
                              chain goes through each activation by its adjoint rule */
    unsigned long seed;
    long samples;       /* per regime; 0: the defaults above */
    unsigned regimes;   /* bit (1 << regime) for each regime to run */
    int threads;        /* 0 or 1: one; results do not depend on it */
    int bits;           /* entries k / 2^bits; 0: ROUNDOFF_SAMPLE_BITS (tests use fewer) */
    int shard, nshards; /* run the samples i with i % nshards == shard - 1 */
    const char *model_name;
    /* the model's claims as check judged them (may be NULL): each claim of
       a param gradient is measured as one more formulation of it, "yours
       (line N)", or "yours (line N, wrong)" when it does not hold */
    const check_result *claims;
    /* called after each sample with the samples done and the total (may be
       NULL); from the calling thread only */
    void (*progress)(void *ctx, long done, long total);
    void *progress_ctx;
} roundoff_request;

/* The regime named NAME ("typical", "saturated", "tiny", "large-m",
   "pow2-m", "odd-m", "confident", "confident-mixed"); 0 when there is none. */
int roundoff_regime_named(const char *name, roundoff_regime *out);
const char *roundoff_regime_name(roundoff_regime r);

/* Measure the error of every formulation of D's loss and param gradients
   over the regimes RQ asks for. Each sample i of a regime is drawn from its
   own stream (seed, i) and its results are combined in integer sums, so the
   result is the same for any thread count and any sharding. Allocates from
   D's model's pool (whose on_oom target the caller has set; per-sample work
   uses pools of its own, and a sample whose pool fails is an error).
   Returns the result, or NULL with ERR filled (strings in ERR_POOL): a
   regime the model cannot have (no batch dim for large-m), a value that
   cannot be evaluated, out of memory. */
roundoff_result *roundoff_sweep(const derivation *d, const roundoff_request *rq, dc_error *err,
                                mem_pool *err_pool);

/* The output gradient of D computed from the logits, as the error tables'
   "from logits" formulation measures it (roundoff_plan.c: sigmoid,
   (1 - Y) * sigmoid(Z) - Y * sigmoid(-Z); softmax with one-hot labels,
   A * (1 - Y) - Y * sum(A * (1 - Y), axis=0, keepdims=True)), made in D's
   model's table, with *AT the index in D of the gradient it stands for
   (dZ of the deferred convention, A - Y). NULL when D's output gradient is
   not A - Y of a sigmoid or softmax of a named pre-activation. */
const term *roundoff_logit_form(const derivation *d, size_t *at);

/* Append RES to OUT as text, markdown or JSON (the JSON is what
   roundoff_merge reads). */
void roundoff_write(text *out, const roundoff_result *res, format_kind f);

/* In words, which formulation of each quantity of TAB is the most
   accurate (the lowest mean bits of error, then the lowest max) and which
   the least, with their numbers: one sentence per quantity measured by more
   than one formulation, each written BEFORE, sentence, AFTER into OUT. */
void roundoff_answer(text *out, const roundoff_table *tab, const char *before, const char *after);

/* Which part of its sweep RES is, for a title: nothing for a whole sweep,
   ", shard K of N" for one shard, ", shards 1, 2 of 3 (a partial merge:
   ...)" for a merge of some. */
void roundoff_write_shards(text *out, const roundoff_result *res);

/* Mark RES as a sweep of the model whose text is MODEL_TEXT (LEN bytes)
   under the rules RS: what roundoff_merge compares. */
void roundoff_identify(roundoff_result *res, const char *model_text, size_t len,
                       const rule_set *rs);

/* Combine the JSON outputs of shards (texts TEXTS[0..n), named NAMES for
   errors) of one sweep into one result (allocated in POOL): the same
   identity (model text, rules, seed, samples, regimes, shard count), each
   shard once; samples add up. Every number is checked against its range.
   The shards must make up the whole sweep unless PARTIAL (the result then
   holds the shards given, and says so). NULL with ERR filled (DC_EINPUT)
   when a text is not such an output, a number is out of range, or the
   shards do not belong together, repeat one another or leave one out. */
roundoff_result *roundoff_merge(const char *const *texts, const char *const *names, size_t n,
                                int partial, mem_pool *pool, dc_error *err);

/* The references of a sample: each entry of each term REFS[k].t evaluated
   in Arb's ball arithmetic at rising precision (80, 128, 256, ... 8192 bits,
   then the cap) in evaluators that BIND fills with the sample, until the
   interval enclosing the exact value rounds to a single double
   (roundoff_reference.c, certify: a proof, not an estimate). Fills rows,
   cols, value (the correctly rounded doubles), certified (1 per certified
   entry), unsampleable (the entries left at the cap) and prec (the highest
   precision used); arrays come from POOL. A precision above the first
   whose evaluation of the terms still open would hold more than MAX_BYTES
   (eval_estimate, with M's values bound) is not tried: the entries open
   then stay unsampleable. An entry whose ball is NaN where its exact value
   certainly has none (the log or square root of a ball wholly below 0, a
   quotient by an exact 0: its value is undefined at every precision), or
   infinite, is settled at once as unsampleable rather than raised up the
   ladder. Returns 0 with WHY when a term cannot be evaluated. */
typedef int (*roundoff_binder)(void *ctx, evaluator *ev, char *why, size_t len);
typedef struct roundoff_ref {
    const term *t;
    long rows, cols;
    double *value;
    char *certified;
    long unsampleable;
    long undefined; /* of the unsampleable, those settled at once: no finite value */
    long prec;
} roundoff_ref;
int roundoff_references(roundoff_ref *refs, size_t n, roundoff_binder bind, void *ctx,
                        const model *m, double max_bytes, mem_pool *pool, char *why, size_t len);

#endif
