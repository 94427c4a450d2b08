/* roundoff_sweep.c: samples drawn per regime, each formulation measured, bits of error summed. */
#include "cmd/roundoff_private.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#ifdef _OPENMP
#include <omp.h>
#endif

#include "num/sample.h"

/* ---------------------------------------------------------------- regimes */

static const char *const regime_names[ROUNDOFF_NREGIMES] = {
    "typical", "saturated", "tiny", "large-m", "pow2-m", "odd-m", "confident", "confident-mixed"};

int
roundoff_regime_named(const char *name, roundoff_regime *out)
{
    for (int r = 0; r < ROUNDOFF_NREGIMES; r++)
        if (strcmp(regime_names[r], name) == 0) {
            *out = (roundoff_regime)r;
            return 1;
        }
    return 0;
}

const char *
roundoff_regime_name(roundoff_regime r)
{
    return regime_names[r];
}

/* ---------------------------------------------------------------- one sample */

/* The batch size a regime draws with (0: the declared one). */
static long
regime_batch(roundoff_regime r)
{
    switch (r) {
    case ROUNDOFF_LARGE_M:
        return 100000;
    case ROUNDOFF_POW2_M:
        return 64;
    case ROUNDOFF_ODD_M:
        return 63;
    default:
        return 0;
    }
}

static int
is_output_param(const roundoff_plan *p, const symbol *s)
{
    if (s == p->out_bias)
        return 1;
    for (size_t k = 0; k < p->nout_w; k++)
        if (p->out_w[k] == s)
            return 1;
    return 0;
}

/* The regime's changes to the drawn values of EX: the output layer scaled
   so that its pre-activations saturate (saturated) or its bias pushed
   down (tiny). Every value stays a dyadic rational exact in double. */
static int
transform(const roundoff_plan *p, roundoff_regime r, evaluator *ex, char *why, size_t len)
{
    if (r != ROUNDOFF_SATURATED && r != ROUNDOFF_TINY)
        return 1;
    for (size_t k = 0; k < p->ndrawn; k++) {
        const symbol *s = p->drawn[k];
        if (!is_output_param(p, s) || (r == ROUNDOFF_TINY && s != p->out_bias))
            continue;
        const value *v;
        if (!eval_term_or_oom(ex, p->drawn_t[k], &v, why, len))
            return 0;
        value *c = eval_new_value(ex, v->rank, v->rows, v->cols);
        for (long i = 0; i < v->rows; i++)
            for (long j = 0; j < v->cols; j++) {
                mpq_t *x = eval_q(c, i, j);
                mpq_set(*x, *eval_q(v, i, j));
                int neg = mpq_sgn(*x) < 0;
                if (s == p->out_bias && r == ROUNDOFF_SATURATED) {
                    /* +-(1024 + 512 |x|) */
                    mpq_abs(*x, *x);
                    mpq_mul_2exp(*x, *x, 9);
                    mpz_addmul_ui(mpq_numref(*x), mpq_denref(*x), 1024);
                    if (neg)
                        mpq_neg(*x, *x);
                } else if (s == p->out_bias) {
                    /* -(16 + 16 |x|) */
                    mpq_abs(*x, *x);
                    mpq_mul_2exp(*x, *x, 4);
                    mpz_addmul_ui(mpq_numref(*x), mpq_denref(*x), 16);
                    mpq_neg(*x, *x);
                } else
                    mpq_mul_2exp(*x, *x, p->out_bias != NULL ? 4 : 10);
            }
        eval_bind(ex, s, c);
    }
    return 1;
}

/* Whether regime R draws the output's logits (and P can). */
static int
draws_logits(const roundoff_plan *p, roundoff_regime r)
{
    return (r == ROUNDOFF_CONFIDENT || r == ROUNDOFF_CONFIDENT_MIXED) && p->logit != NULL;
}

enum {
    MARGIN_GRID = 20,      /* margins are k / 2^20: with |Z| < 702, exact in double */
    MARGIN_LOW = 5,        /* margins log-uniform in [5, 700] */
    MARGIN_RATIO = 140,    /* 700 / 5 */
    MARGIN_WRONG_EVERY = 4 /* confident-mixed: example j wrong when j % 4 == 3 */
};

/* A margin into Q, drawn from RNG: 5 * 140^u with u = k / 2^30 uniform in
   [0, 1), rounded to the grid k / 2^20. Computed in MPFR (on the stack,
   nothing to free on a jump), so every platform draws the same. */
static void
draw_margin(mpq_t q, gmp_randstate_t rng)
{
    MPFR_DECL_INIT(x, 64);
    MPFR_DECL_INIT(l, 64);
    mpz_urandomb(mpq_numref(q), rng, 30);
    mpfr_set_z(x, mpq_numref(q), MPFR_RNDN);
    mpfr_div_2ui(x, x, 30, MPFR_RNDN);
    mpfr_set_ui(l, MARGIN_RATIO, MPFR_RNDN);
    mpfr_log(l, l, MPFR_RNDN);
    mpfr_mul(x, x, l, MPFR_RNDN);
    mpfr_exp(x, x, MPFR_RNDN);
    mpfr_mul_ui(x, x, MARGIN_LOW, MPFR_RNDN);
    mpfr_mul_2ui(x, x, MARGIN_GRID, MPFR_RNDN);
    mpfr_get_z(mpq_numref(q), x, MPFR_RNDN);
    mpz_set_ui(mpq_denref(q), 1);
    mpq_div_2exp(q, q, MARGIN_GRID);
}

/* The confident regimes' logits: P's Z bound in EX to values drawn from
   RNG (after the sample's other values), right for the label Y by a
   margin (draw_margin), or in confident-mixed wrong by one in every
   fourth example (j % 4 == 3):
   - a sigmoid output: Z = +-margin, the sign of Y - 1/2;
   - a softmax output: a column's other entries k / 2^BITS in [-1, 1), the
     true class (Y's largest entry, the first of equals) their max plus
     the margin, or minus it when wrong.
   Every value is a dyadic rational exact in double. */
static int
draw_logits(const roundoff_plan *p, roundoff_regime r, gmp_randstate_t rng, int bits, evaluator *ex,
            char *why, size_t len)
{
    const value *y;
    if (!eval_term_or_oom(ex, p->label_t, &y, why, len))
        return 0;
    value *z = eval_new_value(ex, y->rank, y->rows, y->cols);
    mpq_t *margin = eval_q(eval_new_value(ex, 0, 1, 1), 0, 0); /* freed with EX, jump or not */
    int softmax = p->out_def->op == OP_SOFTMAX;
    for (long j = 0; j < y->cols; j++) {
        int wrong =
            r == ROUNDOFF_CONFIDENT_MIXED && j % MARGIN_WRONG_EVERY == MARGIN_WRONG_EVERY - 1;
        if (!softmax) {
            for (long i = 0; i < y->rows; i++) {
                mpq_t *q = eval_q(z, i, j);
                draw_margin(*q, rng);
                if ((mpq_cmp_si(*eval_q(y, i, j), 1, 2) >= 0) == wrong)
                    mpq_neg(*q, *q);
            }
            continue;
        }
        long hot = 0;
        for (long i = 0; i < y->rows; i++) {
            mpq_t *q = eval_q(z, i, j); /* k / 2^bits in [-1, 1) */
            mpz_urandomb(mpq_numref(*q), rng, (mp_bitcnt_t)bits + 1);
            mpz_set_ui(mpq_denref(*q), 1);
            mpq_div_2exp(*q, *q, (mp_bitcnt_t)bits);
            mpz_sub(mpq_numref(*q), mpq_numref(*q), mpq_denref(*q));
            if (mpq_cmp(*eval_q(y, i, j), *eval_q(y, hot, j)) > 0)
                hot = i;
        }
        /* the others' max (0 when there are none), then the true class that
           far above it, or below when wrong */
        mpq_t *top = eval_q(z, hot, j);
        mpq_set_si(*top, 0, 1);
        for (long i = 0, first = 1; i < y->rows; i++)
            if (i != hot && (first || mpq_cmp(*eval_q(z, i, j), *top) > 0)) {
                mpq_set(*top, *eval_q(z, i, j));
                first = 0;
            }
        draw_margin(*margin, rng);
        if (wrong)
            mpq_sub(*top, *top, *margin);
        else
            mpq_add(*top, *top, *margin);
    }
    eval_bind(ex, p->logit, z);
    return 1;
}

typedef struct sample_ctx {
    const roundoff_plan *p;
    evaluator *ex; /* the drawn values, exact */
    long batch;
    int logits; /* the output's logits are drawn too (p->logit) */
} sample_ctx;

/* roundoff_binder: the sample's values into EV. */
static int
bind_sample(void *ctx, evaluator *ev, char *why, size_t len)
{
    const sample_ctx *c = ctx;
    for (size_t k = 0; k < c->p->ndrawn; k++) {
        const value *v;
        if (!eval_term_or_oom(c->ex, c->p->drawn_t[k], &v, why, len))
            return 0;
        eval_bind(ev, c->p->drawn[k], v);
    }
    if (c->logits) {
        const value *v;
        if (!eval_term_or_oom(c->ex, c->p->logit_t, &v, why, len))
            return 0;
        eval_bind(ev, c->p->logit, v);
    }
    if (c->batch > 0)
        eval_set_dim(ev, c->p->m->batch, c->batch);
    return 1;
}

static double
softplus(double x)
{
    return fmax(x, 0.0) + log1p(exp(-fabs(x)));
}

/* A formulation computed in C from the double values of the output's
   pre-activation Z and the label Y, into OUT. */
static int
c_form(const roundoff_plan *p, const roundoff_form *f, evaluator *dv, long mval, double *out,
       char *why, size_t len)
{
    const value *z, *y;
    if (!eval_term_or_oom(dv, p->out_pre, &z, why, len) ||
        !eval_term_or_oom(dv, p->label_t, &y, why, len))
        return 0;
    double s = 0;
    if (f->kind == ROUNDOFF_FORM_SOFTPLUS_BCE) {
        for (long i = 0; i < z->rows; i++)
            for (long j = 0; j < z->cols; j++) {
                double zz = *eval_d(z, i, j), yy = *eval_d(y, i, j);
                s += yy * softplus(-zz) + (1 - yy) * softplus(zz);
            }
        out[0] = (1.0 / (double)mval) * s;
        return 1;
    }
    for (long j = 0; j < z->cols; j++) {
        double c = *eval_d(z, 0, j), total = 0;
        for (long i = 1; i < z->rows; i++)
            c = fmax(c, *eval_d(z, i, j));
        for (long i = 0; i < z->rows; i++)
            total += f->kind == ROUNDOFF_FORM_LOG_SOFTMAX_CE ? exp(*eval_d(z, i, j) - c)
                                                             : exp(*eval_d(z, i, j));
        for (long i = 0; i < z->rows; i++) {
            double zz = *eval_d(z, i, j), yy = *eval_d(y, i, j);
            if (f->kind == ROUNDOFF_FORM_NAIVE_SOFTMAX)
                out[i * z->cols + j] = exp(zz) / total;
            else if (f->kind == ROUNDOFF_FORM_NAIVE_SOFTMAX_CE)
                s += yy * log(exp(zz) / total);
            else
                s += yy * (zz - c - log(total));
        }
    }
    if (f->kind != ROUNDOFF_FORM_NAIVE_SOFTMAX)
        out[0] = (-1.0 / (double)mval) * s;
    return 1;
}

/* A per-example accumulation (form.dz, form.h) in double into OUT. */
static int
per_example(const roundoff_form *f, evaluator *dv, long mval, const roundoff_ref *ref, double *out,
            char *why, size_t len)
{
    const value *dz, *h = NULL;
    if (!eval_term_or_oom(dv, f->dz, &dz, why, len) ||
        (f->h != NULL && !eval_term_or_oom(dv, f->h, &h, why, len)))
        return 0;
    long rows = dz->rows, cols = h != NULL ? h->rows : 1, n = dz->cols;
    if ((h != NULL && h->cols != n) || rows != ref->rows || cols != ref->cols) {
        snprintf(why, len, "per-example: the factors do not make the gradient's shape");
        return 0;
    }
    memset(out, 0, (size_t)(rows * cols) * sizeof *out);
    for (long j = 0; j < n; j++)
        for (long r = 0; r < rows; r++)
            for (long c = 0; c < cols; c++) {
                double t = *eval_d(dz, r, j) * (h != NULL ? *eval_d(h, c, j) : 1.0);
                out[r * cols + c] += f->each_step ? t / (double)mval : t;
            }
    if (!f->each_step)
        for (long e = 0; e < rows * cols; e++)
            out[e] /= (double)mval;
    return 1;
}

/* Whether the entry (SAMPLE, I, J) at BITS is worse than W: more bits,
   ties to the first in (sample, row, col) order, so any order of
   accumulation finds the same one. */
static int
worse(double bits, long sample, long i, long j, const roundoff_worst *w)
{
    if (w->sample < 0)
        return 1;
    if (bits != w->bits)
        return bits > w->bits;
    if (sample != w->sample)
        return sample < w->sample;
    return i != w->row ? i < w->row : j < w->col;
}

static void
record(roundoff_stat *st, long sample, long i, long j, double c, double r)
{
    double bits = ulps_bits(c, r);
    st->entries++;
    st->micro_bits += (int64_t)llround(bits * ROUNDOFF_MICRO);
    /* whole bits: 64 only for a NaN (no two non-NaN doubles are 2^64 - 1 apart) */
    st->histogram[(int)bits]++;
    if (isnan(c))
        st->nan++;
    else {
        st->inf += isinf(c) != 0;
        double rel = r != 0 ? fabs((c - r) / r) : c == 0 ? 0 : INFINITY;
        if (rel > st->max_rel)
            st->max_rel = rel;
    }
    if (bits > st->max_bits)
        st->max_bits = bits;
    if (worse(bits, sample, i, j, &st->worst))
        st->worst = (roundoff_worst){sample, i, j, bits, c, r};
}

void
roundoff_stat_add(roundoff_stat *dst, const roundoff_stat *src)
{
    dst->entries += src->entries;
    dst->unsampleable += src->unsampleable;
    dst->undefined += src->undefined;
    dst->micro_bits += src->micro_bits;
    dst->nan += src->nan;
    dst->inf += src->inf;
    for (int b = 0; b < ROUNDOFF_BINS; b++)
        dst->histogram[b] += src->histogram[b];
    if (src->max_bits > dst->max_bits)
        dst->max_bits = src->max_bits;
    if (src->max_rel > dst->max_rel)
        dst->max_rel = src->max_rel;
    if (src->worst.sample >= 0 &&
        worse(src->worst.bits, src->worst.sample, src->worst.row, src->worst.col, &dst->worst))
        dst->worst = src->worst;
}

/* What one thread accumulates. */
typedef struct acc {
    roundoff_stat s[ROUNDOFF_MAX_FORMS];
    long max_prec;
} acc;

static void
acc_init(acc *a, size_t n)
{
    memset(a, 0, sizeof *a);
    for (size_t k = 0; k < n; k++)
        a->s[k].worst.sample = -1;
}

/* The evaluators of a sample and its random stream, on the heap: read
   after a longjmp. */
typedef struct live {
    evaluator *ex, *dv;
    gmp_randstate_t rng;
    int rng_set;
} live;

/* Draw sample INDEX of regime R from SEED and measure every formulation on
   it into A. Allocates from POOL, the sample's own. */
static int
sample_body(const roundoff_plan *p, roundoff_regime r, unsigned long seed, int bits, long index,
            double max_bytes, mem_pool *pool, live *lv, acc *a, char *why, size_t len)
{
    long batch = p->m->batch != NULL ? regime_batch(r) : 0;
    long mval = batch > 0 ? batch : p->m->batch != NULL ? p->m->batch->value : 1;
    lv->ex = eval_new(pool, NUMBER_EXACT, 0);
    sample_spec spec = {.seed = seed, .index = (unsigned long)index, .bits = bits, .batch = batch};
    /* the stream of sample_bind, which the confident regimes' logits continue */
    sample_stream_init(lv->rng, seed, (unsigned long)index);
    lv->rng_set = 1;
    int logits = draws_logits(p, r);
    if (!sample_bind_stream(lv->ex, lv->rng, pool, p->m, &spec, why, len) ||
        !transform(p, r, lv->ex, why, len) ||
        (logits && !draw_logits(p, r, lv->rng, bits, lv->ex, why, len)))
        return 0;
    sample_ctx ctx = {p, lv->ex, batch, logits};
    roundoff_ref *refs = mem_zalloc(pool, (p->nq + 1) * sizeof *refs);
    for (size_t q = 0; q < p->nq; q++)
        refs[q].t = p->q[q].ref;
    if (!roundoff_references(refs, p->nq, bind_sample, &ctx, p->m, max_bytes, pool, why, len))
        return 0;
    lv->dv = eval_new(pool, NUMBER_DOUBLE, 0);
    if (!bind_sample(&ctx, lv->dv, why, len))
        return 0;
    for (size_t q = 0; q < p->nq; q++)
        if (refs[q].prec > a->max_prec)
            a->max_prec = refs[q].prec;
    for (size_t k = 0; k < p->nf; k++) {
        const roundoff_form *f = &p->f[k];
        const roundoff_ref *ref = &refs[f->q];
        double *c = mem_zalloc(pool, (size_t)(ref->rows * ref->cols) * sizeof *c);
        if (f->kind == ROUNDOFF_FORM_TERM) {
            const value *v;
            if (!eval_term_or_oom(lv->dv, f->t, &v, why, len))
                return 0;
            if (v->rows != ref->rows || v->cols != ref->cols) {
                snprintf(why, len, "%s (%s) has another size than its reference", f->label,
                         p->q[f->q].name);
                return 0;
            }
            for (long i = 0; i < v->rows; i++)
                for (long j = 0; j < v->cols; j++)
                    c[i * v->cols + j] = *eval_d(v, i, j);
        } else if (f->kind == ROUNDOFF_FORM_PER_EXAMPLE) {
            if (!per_example(f, lv->dv, mval, ref, c, why, len))
                return 0;
        } else if (!c_form(p, f, lv->dv, mval, c, why, len))
            return 0;
        roundoff_stat *st = &a->s[k];
        st->unsampleable += ref->unsampleable;
        st->undefined += ref->undefined;
        for (long i = 0; i < ref->rows; i++)
            for (long j = 0; j < ref->cols; j++) {
                long e = i * ref->cols + j;
                if (ref->certified[e])
                    record(st, index, i, j, c[e], ref->value[e]);
            }
    }
    return 1;
}

/* One sample in a pool of its own: DC_OK, DC_ENOMEM, or DC_EINPUT with
   WHY. SERIAL: the only thread, so GMP's blocks can go to the sample's
   pool too (mem.h), and a failure of theirs lands here; with several
   threads they belong to no pool (mem_gmp_pool is process-wide). */
static dc_status
run_sample(const roundoff_plan *p, roundoff_regime r, unsigned long seed, int bits, long index,
           double max_bytes, acc *a, int serial, char *why, size_t len)
{
    mem_pool *pool = mem_pool_new();
    live *lv = calloc(1, sizeof *lv);
    if (pool == NULL || lv == NULL) {
        mem_pool_free(pool);
        free(lv);
        return DC_ENOMEM;
    }
    mpfr_exp_t emin = mpfr_get_emin(), emax = mpfr_get_emax();
    mem_pool *gmp_outer = serial ? mem_gmp_pool(pool) : NULL;
    jmp_buf oom;
    dc_status status = DC_ENOMEM; /* set only when sample_body returns */
    if (setjmp(oom)) {
        /* a jump may leave MPFR's exponent range extended */
        mpfr_set_emin(emin);
        mpfr_set_emax(emax);
    } else {
        mem_pool_on_oom(pool, &oom);
        status = sample_body(p, r, seed, bits, index, max_bytes, pool, lv, a, why, len) ? DC_OK
                                                                                        : DC_EINPUT;
    }
    mem_pool_on_oom(pool, NULL);
    if (lv->rng_set)
        gmp_randclear(lv->rng);
    eval_free(lv->dv);
    eval_free(lv->ex);
    free(lv);
    if (serial) {
        mpfr_free_cache(); /* its blocks are the pool's */
        ball_free_cache();
        mem_gmp_pool(gmp_outer);
    }
    mem_pool_free(pool);
    return status;
}

/* ---------------------------------------------------------------- the sweep */

/* What regime R draws, in words. */
static const char *
draws(const roundoff_plan *p, roundoff_regime r, long mval, int bits)
{
    text t;
    text_init(&t, p->pool);
    text_printf(&t, "inputs and params k/2^%d in [-1, 1], labels by their assumption", bits);
    const char *bias = p->out_bias != NULL ? p->out_bias->name : NULL;
    const char *act = p->out_act != NULL ? p->out_act->name : "the output";
    if (r == ROUNDOFF_SATURATED && p->nout_w + (bias != NULL) > 0) {
        text_puts(&t, "; then ");
        for (size_t k = 0; k < p->nout_w; k++)
            text_printf(&t, "%s%s", k ? ", " : "", p->out_w[k]->name);
        if (p->nout_w > 0)
            text_printf(&t, " times %d", bias != NULL ? 16 : 1024);
        if (bias != NULL)
            text_printf(&t, "%s%s = +-(1024 + 512 |%s|)", p->nout_w ? " and " : "", bias, bias);
        text_printf(&t, ", so that %s rounds to 0 or 1 in double", act);
    } else if (r == ROUNDOFF_SATURATED)
        text_puts(&t, " (no output layer params found: nothing saturates)");
    if (r == ROUNDOFF_TINY && bias != NULL)
        text_printf(&t,
                    "; then %s = -(16 + 16 |%s|) in [-32, -16], so that %s is about 1e-14 "
                    "to 1e-7",
                    bias, bias, act);
    else if (r == ROUNDOFF_TINY)
        text_puts(&t, " (no output bias found: drawn as typical)");
    int mixed = r == ROUNDOFF_CONFIDENT_MIXED;
    if ((r == ROUNDOFF_CONFIDENT || mixed) && !draws_logits(p, r))
        text_puts(&t, " (no sigmoid or softmax output of a named pre-activation the label's "
                      "shape: drawn as typical)");
    else if (r == ROUNDOFF_CONFIDENT || mixed) {
        const char *z = p->logit->name, *y = p->label_t->sym->name;
        text_printf(&t, "; then the logits %s drawn in place of %s's formula, ", z, z);
        if (p->out_def->op == OP_SIGMOID)
            text_printf(&t, "%s = margin where %s = 1 and -margin where %s = 0", z, y, y);
        else
            text_printf(&t,
                        "in each column the other classes k/2^%d in [-1, 1) and %s's class "
                        "their max plus a margin",
                        bits, y);
        text_printf(&t, "; margins log-uniform in [%d, %d] on the grid k/2^%d", MARGIN_LOW,
                    MARGIN_LOW * MARGIN_RATIO, MARGIN_GRID);
        if (mixed)
            text_printf(&t, "; every %dth example (j %% %d = %d) wrong by its margin instead",
                        MARGIN_WRONG_EVERY, MARGIN_WRONG_EVERY, MARGIN_WRONG_EVERY - 1);
    }
    if (p->m->batch != NULL)
        text_printf(&t, "; %s = %ld%s", p->m->batch->name, mval,
                    regime_batch(r) == 0       ? " (declared)"
                    : (mval & (mval - 1)) == 0 ? " (a power of two)"
                                               : " (not a power of two)");
    return text_str(&t);
}

/* Every sample of TAB's regime this shard runs, over RQ->threads threads.
   Returns DC_OK or the status of the first failing sample (the lowest
   index, whatever the threads), with its error in WHY. */
static dc_status
run_table(const roundoff_plan *p, const roundoff_request *rq, roundoff_table *tab, int threads,
          double max_bytes, long *done, long total, char *why, size_t len)
{
    long count = 0;
    long shard = rq->nshards > 1 ? rq->shard - 1 : 0, step = rq->nshards > 1 ? rq->nshards : 1;
    long asked = tab->samples;
    for (long i = shard; i < asked; i += step)
        count++;
    tab->samples = count;
    dc_status failed = DC_OK;
    long failed_at = -1;
    int bits = rq->bits > 0 ? rq->bits : ROUNDOFF_SAMPLE_BITS;
    /* GMP's blocks may not go to a pool while threads allocate (mem.h) */
    mem_pool *gmp_outer = threads > 1 ? mem_gmp_pool(NULL) : NULL;
#ifdef _OPENMP
#pragma omp parallel num_threads(threads)
#endif
    {
        acc *local = malloc(sizeof *local);
        char mywhy[256] = "";
        if (local != NULL)
            acc_init(local, tab->n);
#ifdef _OPENMP
#pragma omp for schedule(dynamic, 1)
#endif
        for (long k = 0; k < count; k++) {
            long index = shard + k * step;
            dc_status status = local == NULL ? DC_ENOMEM
                                             : run_sample(p, tab->regime, rq->seed, bits, index,
                                                          max_bytes / threads, local, threads == 1,
                                                          mywhy, sizeof mywhy);
            if (status != DC_OK) {
#ifdef _OPENMP
#pragma omp critical(roundoff_fail)
#endif
                if (failed_at < 0 || index < failed_at) {
                    failed = status;
                    failed_at = index;
                    snprintf(why, len, "sample %ld: %s", index, mywhy);
                }
            }
            long now;
#ifdef _OPENMP
#pragma omp atomic capture
#endif
            now = ++*done;
#ifdef _OPENMP
            if (omp_get_thread_num() == 0)
#endif
                if (rq->progress != NULL)
                    rq->progress(rq->progress_ctx, now, total);
        }
#ifdef _OPENMP
#pragma omp critical(roundoff_merge)
#endif
        if (local != NULL) {
            for (size_t k = 0; k < tab->n; k++)
                roundoff_stat_add(&tab->stats[k], &local->s[k]);
            if (local->max_prec > tab->max_prec)
                tab->max_prec = local->max_prec;
        }
        free(local);
        /* each thread's MPFR caches: the workers' would outlive the sweep */
        if (threads > 1) {
            mpfr_free_cache2(MPFR_FREE_LOCAL_CACHE);
            ball_free_cache();
        }
    }
    if (threads > 1)
        mem_gmp_pool(gmp_outer);
    return failed;
}

/* Add to *COST what one sample of regime R holds at once and computes,
   estimated from the shapes before any is drawn (eval_estimate): the
   values drawn (exact), the references at the ladder's first precision,
   the formulations in double. 0 when a size is unknown (the sample then
   reports it). */
static int
sample_cost(const roundoff_plan *p, roundoff_regime r, eval_cost *cost)
{
    mem_pool *pool = mem_pool_new();
    if (pool == NULL)
        return 0;
    evaluator *ex = eval_new(pool, NUMBER_EXACT, 0);
    evaluator *ball = eval_new(pool, NUMBER_BALL, ROUNDOFF_FIRST_PREC);
    evaluator *dv = eval_new(pool, NUMBER_DOUBLE, 0);
    if (p->m->batch != NULL && regime_batch(r) > 0) {
        eval_set_dim(ex, p->m->batch, regime_batch(r));
        eval_set_dim(ball, p->m->batch, regime_batch(r));
        eval_set_dim(dv, p->m->batch, regime_batch(r));
    }
    const term **refs = mem_alloc(pool, (p->nq + 1) * sizeof *refs);
    const term **forms = mem_alloc(pool, (2 * p->nf + 2) * sizeof *forms);
    size_t nforms = 0;
    for (size_t q = 0; q < p->nq; q++)
        refs[q] = p->q[q].ref;
    for (size_t k = 0; k < p->nf; k++) {
        const roundoff_form *f = &p->f[k];
        if (f->kind == ROUNDOFF_FORM_TERM)
            forms[nforms++] = f->t;
        else if (f->kind == ROUNDOFF_FORM_PER_EXAMPLE) {
            forms[nforms++] = f->dz;
            if (f->h != NULL)
                forms[nforms++] = f->h;
        }
    }
    if (p->out_pre != NULL && p->label_t != NULL) {
        forms[nforms++] = p->out_pre;
        forms[nforms++] = p->label_t;
    }
    int ok = eval_estimate(ex, p->m, NULL, 0, cost) &&
             eval_estimate(ball, p->m, refs, p->nq, cost) &&
             eval_estimate(dv, p->m, forms, nforms, cost);
    eval_free(ex);
    eval_free(ball);
    eval_free(dv);
    mem_pool_free(pool);
    return ok;
}

/* What error's user may do instead of raising a cap on one sample. */
#define SMALLER "declare smaller dims in the model, or leave out the regime (--regime)"

/* Whether the sweep of RES's tables stays within the caps (eval_caps):
   one sample of each regime within the memory cap, all of them within the
   work cap; 0 with ERR filled when not. *THREADS is lowered, when
   needed, so that THREADS samples at once fit the memory cap too (the
   results do not depend on it); *MAX_BYTES is the cap. */
static int
within_caps(const roundoff_plan *p, const roundoff_result *res, int *threads, double *max_bytes,
            dc_error *err, mem_pool *err_pool)
{
    eval_cost caps, sweep = {0, 0};
    if (!eval_caps(&caps, err, err_pool))
        return 0;
    *max_bytes = caps.bytes;
    for (size_t t = 0; t < res->ntables; t++) {
        const roundoff_table *tab = &res->tables[t];
        eval_cost one = {0, 0};
        if (!sample_cost(p, tab->regime, &one))
            continue;
        text what;
        text_init(&what, err_pool);
        text_printf(&what, "one sample of the %s regime of %s", regime_names[tab->regime],
                    format_base_name(res->model_name));
        if (tab->batch > 0)
            text_printf(&what, " (%s = %ld)", p->m->batch->name, tab->batch);
        if (!eval_within_caps(&one, &caps, text_str(&what), SMALLER, err, err_pool))
            return 0;
        if (*threads > 1 && one.bytes * *threads > caps.bytes)
            *threads = one.bytes > 0 ? (int)(caps.bytes / one.bytes) : *threads;
        if (*threads < 1)
            *threads = 1;
        long count = 0;
        for (long i = res->shard - 1; i < tab->samples; i += res->nshards)
            count++;
        sweep.work += one.work * (double)count;
    }
    return eval_within_caps(&sweep, &caps, "the sweep's samples",
                            "run fewer samples (--samples), or split the sweep (--shard)", err,
                            err_pool);
}

roundoff_result *
roundoff_sweep(const derivation *d, const roundoff_request *rq, dc_error *err, mem_pool *err_pool)
{
    roundoff_plan *p = roundoff_plan_make(d, rq->rules, rq->claims);
    const model *m = d->m;
    if (p->over != ROUNDOFF_CAP_NONE) {
        int quantities = p->over == ROUNDOFF_CAP_QUANTITIES;
        diag_plain(err, err_pool, DC_ELIMIT,
                   "%s has more %s to measure than the cap of %d per model (%s in "
                   "src/cmd/roundoff.h); none is left out silently, so nothing is measured",
                   rq->model_name != NULL ? rq->model_name : "the model",
                   quantities ? "quantities" : "formulations",
                   quantities ? ROUNDOFF_MAX_QUANTITIES : ROUNDOFF_MAX_FORMS,
                   quantities ? "ROUNDOFF_MAX_QUANTITIES" : "ROUNDOFF_MAX_FORMS");
        return NULL;
    }
    roundoff_result *res = mem_zalloc(p->pool, sizeof *res);
    res->model_name = rq->model_name != NULL ? mem_strdup(p->pool, rq->model_name) : "model";
    res->seed = rq->seed;
    res->samples_asked = rq->samples;
    res->shard = rq->nshards > 1 ? rq->shard : 1;
    res->nshards = rq->nshards > 1 ? rq->nshards : 1;
    long total = 0, done = 0;
    for (int r = 0; r < ROUNDOFF_NREGIMES; r++) {
        if (!(rq->regimes & (1u << r)))
            continue;
        if (regime_batch((roundoff_regime)r) > 0 && (m->batch == NULL || m->batch_is_one)) {
            diag_plain(err, err_pool, DC_EINPUT,
                       "the %s regime draws another batch size, but %s has no batch dim",
                       regime_names[r], res->model_name);
            return NULL;
        }
        roundoff_table *tab = &res->tables[res->ntables++];
        tab->regime = (roundoff_regime)r;
        tab->batch = m->batch == NULL                       ? 0
                     : regime_batch((roundoff_regime)r) > 0 ? regime_batch((roundoff_regime)r)
                                                            : m->batch->value;
        tab->draws =
            draws(p, tab->regime, tab->batch, rq->bits > 0 ? rq->bits : ROUNDOFF_SAMPLE_BITS);
        tab->samples = rq->samples > 0         ? rq->samples
                       : r == ROUNDOFF_LARGE_M ? ROUNDOFF_LARGE_M_SAMPLES
                                               : ROUNDOFF_DEFAULT_SAMPLES;
        tab->n = p->nf;
        tab->stats = mem_zalloc(p->pool, (p->nf + 1) * sizeof *tab->stats);
        for (size_t k = 0; k < p->nf; k++) {
            roundoff_stat *st = &tab->stats[k];
            st->quantity = p->q[p->f[k].q].name;
            st->formulation = p->f[k].label;
            st->formula = p->f[k].formula;
            st->worst.sample = -1;
        }
        long shard = res->shard - 1;
        for (long i = shard; i < tab->samples; i += res->nshards)
            total++;
    }
    int threads = rq->threads > 1 ? rq->threads : 1;
#ifndef _OPENMP
    threads = 1;
#endif
    double max_bytes;
    if (!within_caps(p, res, &threads, &max_bytes, err, err_pool))
        return NULL;
    for (size_t t = 0; t < res->ntables; t++) {
        char why[320];
        dc_status status =
            run_table(p, rq, &res->tables[t], threads, max_bytes, &done, total, why, sizeof why);
        if (status == DC_ENOMEM)
            diag_oom(err);
        else if (status != DC_OK)
            diag_plain(err, err_pool, status, "cannot measure the %s regime: %s",
                       regime_names[res->tables[t].regime], why);
        if (status != DC_OK)
            return NULL;
    }
    return res;
}
