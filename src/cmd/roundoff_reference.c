/* roundoff_reference.c: certified references, Arb's ball arithmetic on a ladder of precisions. */
#include "cmd/roundoff.h"

#include <math.h>
#include <string.h>

/* From a little above double's 53 bits, where most entries are settled in
   one pass, up to the cap for the few near a rounding boundary. */
static const long ladder[] = {ROUNDOFF_FIRST_PREC, 128, 256, 512, 1024, 2048, 4096, 8192,
                              ROUNDOFF_MAX_PREC};
enum { LADDER = sizeof ladder / sizeof ladder[0] };

/* One entry: the ball X encloses the exact value, so when both its ends
   (rounded outward at PREC bits, still enclosing it) round to the same
   finite double D, the exact value rounds to D as well (rounding to
   nearest is monotonic): D is the correctly rounded reference, a proof
   rather than an estimate. A ball across a rounding boundary, a NaN (an
   operation's domain left somewhere in the ball), an unbounded ball or an
   overflow is not settled at this precision. */
static int
certify(arb_srcptr x, long prec, double *out)
{
    if (!arb_is_finite(x))
        return 0;
    arf_t end;
    arf_init(end);
    arb_get_lbound_arf(end, x, (slong)prec);
    double lo = arf_get_d(end, ARF_RND_NEAR);
    arb_get_ubound_arf(end, x, (slong)prec);
    double hi = arf_get_d(end, ARF_RND_NEAR);
    arf_clear(end);
    if (lo != hi || !isfinite(hi))
        return 0;
    *out = hi; /* -0 only when the whole ball is below 0 */
    return 1;
}

/* ---------------------------------------------------------------- entries without a value */

/* Which entries of a term's value certainly have no value in exact
   arithmetic, whatever the precision: a log or square root of a number
   below 0 (log1p below -1), a quotient by 0, 0 to a negative power, a
   negative number to a non-integer power; and every entry computed from
   one of them. A NaN ball at a low precision may only straddle the edge
   of a domain (log(1 - A) with A rounding to 1, the saturated regime),
   which a higher one narrows; these are the NaNs no precision narrows.
   The masks are conservative: where the structure is not one followed
   here, no entry is marked, and the ladder goes on as before. */
typedef struct undefined {
    evaluator *ev;
    mem_pool *pool;
    const term **key; /* open addressing by hash */
    unsigned char **mask;
    size_t size, count;
} undefined;

/* T's slot in U. */
static size_t
slot_of(undefined *u, const term *t)
{
    if (2 * (u->count + 1) > u->size) {
        undefined big = *u;
        big.size = 2 * u->size;
        big.key = mem_zalloc(u->pool, big.size * sizeof *big.key);
        big.mask = mem_zalloc(u->pool, big.size * sizeof *big.mask);
        for (size_t i = 0; i < u->size; i++)
            if (u->key[i] != NULL) {
                size_t k = u->key[i]->hash & (big.size - 1);
                while (big.key[k] != NULL)
                    k = (k + 1) & (big.size - 1);
                big.key[k] = u->key[i];
                big.mask[k] = u->mask[i];
            }
        mem_release(u->pool, u->key);
        mem_release(u->pool, u->mask);
        *u = big;
    }
    size_t k = t->hash & (u->size - 1);
    while (u->key[k] != NULL && u->key[k] != t)
        k = (k + 1) & (u->size - 1);
    return k;
}

/* DST (ROWS x COLS) |= SRC (R x C) broadcast NumPy's way; nothing when
   SRC is NULL or does not broadcast so. */
static void
or_into(unsigned char *dst, long rows, long cols, const unsigned char *src, long r, long c)
{
    if (src == NULL || (r != rows && r != 1) || (c != cols && c != 1))
        return;
    for (long i = 0; i < rows; i++)
        for (long j = 0; j < cols; j++)
            dst[i * cols + j] |= src[(r == 1 ? 0 : i) * c + (c == 1 ? 0 : j)];
}

/* Whether the exact value of entry (I, J) of an elementwise OP (of ROWS x
   COLS) is undefined at every point of its operands' balls A and B (B
   NULL for one operand), each broadcast. */
static int
outside_domain(term_op op, const value *a, const value *b, long i, long j)
{
    arb_srcptr x = eval_ball(a, a->rows == 1 ? 0 : i, a->cols == 1 ? 0 : j);
    arb_srcptr y = b != NULL ? eval_ball(b, b->rows == 1 ? 0 : i, b->cols == 1 ? 0 : j) : NULL;
    if (x == NULL || (b != NULL && y == NULL))
        return 0;
    switch (op) {
    case OP_LOG:
    case OP_SQRT:
        return arb_is_negative(x);
    case OP_LOG1P: {
        arb_t one;
        arb_init(one);
        arb_add_ui(one, x, 1, 64);
        int below = arb_is_negative(one);
        arb_clear(one);
        return below;
    }
    case OP_DIV:
        return arb_is_zero(y);
    case OP_POW:
        return (arb_is_zero(x) && arb_is_negative(y)) ||
               (arb_is_negative(x) && arb_is_exact(y) && !arf_is_int(arb_midref(y)));
    default:
        return 0;
    }
}

static unsigned char *mask_of(undefined *u, const term *t);

/* The mask of T (ROWS x COLS), an elementwise operation, into M. */
static void
elementwise_mask(undefined *u, const term *t, unsigned char *m, long rows, long cols)
{
    const value *v[2] = {NULL, NULL};
    int domain = t->op == OP_LOG || t->op == OP_SQRT || t->op == OP_LOG1P || t->op == OP_DIV ||
                 t->op == OP_POW;
    for (unsigned k = 0; k < t->nargs && k < 2; k++) {
        long r, c;
        if (eval_term_sizes(u->ev, t->args[k], &r, &c))
            or_into(m, rows, cols, mask_of(u, t->args[k]), r, c);
        char why[64];
        if (domain && !eval_term(u->ev, t->args[k], &v[k], why, sizeof why))
            domain = 0; /* its evaluation reports what is wrong */
    }
    for (long i = 0; domain && i < rows; i++)
        for (long j = 0; j < cols; j++)
            if (!m[i * cols + j])
                m[i * cols + j] = (unsigned char)outside_domain(t->op, v[0], v[1], i, j);
}

/* The mask of T, a sum or max over an axis, a transpose, a product or a
   softmax (ROWS x COLS), from its operands' masks into M. */
static void
structural_mask(undefined *u, const term *t, unsigned char *m, long rows, long cols)
{
    long r, c, r2 = 0, c2 = 0;
    const unsigned char *a = mask_of(u, t->args[0]);
    const unsigned char *b = t->nargs > 1 ? mask_of(u, t->args[1]) : NULL;
    if ((a == NULL && b == NULL) || !eval_term_sizes(u->ev, t->args[0], &r, &c) ||
        (t->nargs > 1 && !eval_term_sizes(u->ev, t->args[1], &r2, &c2)))
        return;
    int rank = t->args[0]->shape.rank;
    for (long i = 0; i < r; i++)
        for (long j = 0; j < c; j++) {
            if (a == NULL || !a[i * c + j])
                continue;
            switch (t->op) {
            case OP_SUM:
            case OP_MAX:
                if (t->aux < 0 && rows * cols == 1)
                    m[0] = 1;
                else if ((t->aux == 1 || (t->aux == 0 && rank < 2)) && rows * cols == r)
                    m[i] = 1;
                else if (t->aux == 0 && rank == 2 && rows * cols == c)
                    m[j] = 1;
                break;
            case OP_TRANSPOSE:
                if (rank == 2 && rows == c && cols == r)
                    m[j * cols + i] = 1;
                else if (rows * cols == r * c)
                    m[i * c + j] = 1;
                break;
            case OP_MATMUL: /* row i of the left operand makes row i */
                if (rank == 2 && t->shape.rank == 2 && rows == r)
                    memset(m + i * cols, 1, (size_t)cols);
                break;
            case OP_SOFTMAX: /* a slice's every entry depends on all of it */
                for (long k = 0; rows == r && cols == c && k < (rank == 2 && t->aux == 0 ? r : c);
                     k++)
                    m[rank == 2 && t->aux == 0 ? k * c + j : i * c + k] = 1;
                break;
            default:
                break;
            }
        }
    /* column j of the right operand makes column j */
    for (long k = 0; t->op == OP_MATMUL && b != NULL && t->args[1]->shape.rank == 2 &&
                     t->shape.rank == 2 && cols == c2 && k < r2 * c2;
         k++)
        if (b[k])
            for (long i = 0; i < rows; i++)
                m[i * cols + k % c2] = 1;
}

/* The mask of T's entries without a value (ROWS x COLS, 1 where none),
   or NULL when no entry is known to have none. */
static unsigned char *
mask_of(undefined *u, const term *t)
{
    size_t k = slot_of(u, t);
    if (u->key[k] == t)
        return u->mask[k];
    long rows, cols;
    unsigned char *m = NULL;
    const symbol *s = t->sym;
    if (t->op == OP_SYM && s->definition != NULL && !eval_is_bound(u->ev, s) &&
        s->kind != SYM_DIM && s->kind != SYM_BATCH)
        m = mask_of(u, s->definition);
    else if (t->op != OP_SYM && t->op != OP_CONST && t->op != OP_BROADCAST &&
             eval_term_sizes(u->ev, t, &rows, &cols)) {
        m = mem_zalloc(u->pool, (size_t)(rows * cols));
        if (t->op == OP_ADD || t->op == OP_MUL || t->op == OP_DIV || t->op == OP_POW ||
            t->op == OP_NEG || t->op == OP_EXP || t->op == OP_LOG || t->op == OP_TANH ||
            t->op == OP_SIGMOID || t->op == OP_RELU || t->op == OP_STEP || t->op == OP_MAXIMUM ||
            t->op == OP_MINIMUM || t->op == OP_ABS || t->op == OP_SQRT || t->op == OP_LOG1P)
            elementwise_mask(u, t, m, rows, cols);
        else
            structural_mask(u, t, m, rows, cols);
        if (memchr(m, 1, (size_t)(rows * cols)) == NULL) {
            mem_release(u->pool, m);
            m = NULL;
        }
    }
    k = slot_of(u, t); /* the table may have grown */
    u->key[k] = t;
    u->mask[k] = m;
    u->count++;
    return m;
}

/* ---------------------------------------------------------------- the ladder */

/* Certify REF's entries still open (neither certified nor SETTLED) from
   its value V at PREC bits; how many stay open. */
static long
certify_level(roundoff_ref *ref, const char *settled, const value *v, long prec)
{
    long left = 0, open = 0, undefined = 0;
    for (long i = 0; i < ref->rows; i++)
        for (long j = 0; j < ref->cols; j++) {
            long e = i * ref->cols + j;
            if (ref->certified[e])
                continue;
            if (!settled[e] && certify(eval_ball(v, i, j), prec, &ref->value[e]))
                ref->certified[e] = 1;
            else {
                left++;
                open += !settled[e];
                undefined += settled[e];
            }
        }
    ref->prec = prec;
    ref->unsampleable = left;
    ref->undefined = undefined;
    return open;
}

/* At the first precision: settle REF's open entries that no precision
   will certify: an infinite ball (an exact infinity: only the log of an
   exact 0 makes one), or a NaN where the exact value has none (U's mask
   of REF's term). Returns how many stay open. */
static long
settle(undefined *u, roundoff_ref *ref, char *settled, const value *v)
{
    const unsigned char *mask = NULL;
    int masked = 0;
    long open = 0;
    for (long e = 0; e < ref->rows * ref->cols; e++) {
        if (ref->certified[e])
            continue;
        arb_srcptr x = eval_ball(v, e / ref->cols, e % ref->cols);
        if (arf_is_nan(arb_midref(x)) && !masked) {
            mask = mask_of(u, ref->t);
            masked = 1;
        }
        settled[e] = arf_is_inf(arb_midref(x)) || (arf_is_nan(arb_midref(x)) && mask && mask[e]);
        open += !settled[e];
    }
    return open;
}

int
roundoff_references(roundoff_ref *refs, size_t n, roundoff_binder bind, void *ctx, const model *m,
                    double max_bytes, mem_pool *pool, char *why, size_t len)
{
    /* in the pool, not on the stack: read after a longjmp */
    evaluator **ev = mem_zalloc(pool, sizeof *ev);
    char **settled = mem_zalloc(pool, (n + 1) * sizeof *settled);
    long *open = mem_zalloc(pool, (n + 1) * sizeof *open);
    const term **roots = mem_zalloc(pool, (n + 1) * sizeof *roots);
    jmp_buf here;
    jmp_buf *outer = mem_pool_on_oom(pool, &here);
    if (setjmp(here)) {
        eval_free(*ev);
        mem_pool_on_oom(pool, outer);
        longjmp(*outer, 1);
    }
    int ok = 1;
    size_t still = n;
    for (int level = 0; level < (int)LADDER && ok && still > 0; level++) {
        *ev = eval_new(pool, NUMBER_BALL, ladder[level]);
        ok = bind(ctx, *ev, why, len);
        size_t nroots = 0;
        for (size_t k = 0; k < n; k++)
            if (level == 0 || open[k] > 0)
                roots[nroots++] = refs[k].t;
        eval_cost cost = {0, 0};
        if (ok && level > 0 && eval_estimate(*ev, m, roots, nroots, &cost) &&
            cost.bytes > max_bytes) {
            /* past the memory cap: what is open stays unsampleable */
            eval_free(*ev);
            *ev = NULL;
            break;
        }
        undefined u = {
            *ev, pool, mem_zalloc(pool, 64 * sizeof *u.key), mem_zalloc(pool, 64 * sizeof *u.mask),
            64,  0};
        still = 0;
        for (size_t k = 0; k < n && ok; k++) {
            roundoff_ref *r = &refs[k];
            if (level > 0 && open[k] == 0)
                continue;
            const value *v;
            ok = eval_term_or_oom(*ev, r->t, &v, why, len);
            if (!ok)
                break;
            if (level == 0) {
                r->rows = v->rows;
                r->cols = v->cols;
                size_t cnt = (size_t)(r->rows * r->cols);
                r->value = mem_zalloc(pool, cnt * sizeof *r->value);
                r->certified = mem_zalloc(pool, cnt);
                settled[k] = mem_zalloc(pool, cnt);
            }
            open[k] = certify_level(r, settled[k], v, ladder[level]);
            if (level == 0 && open[k] > 0) {
                open[k] = settle(&u, r, settled[k], v);
                r->undefined = r->unsampleable - open[k];
            }
            still += open[k] > 0;
        }
        eval_free(*ev);
        *ev = NULL;
    }
    mem_pool_on_oom(pool, outer);
    return ok;
}
