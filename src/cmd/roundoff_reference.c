/* roundoff_reference.c: certified references, Arb's ball arithmetic on a ladder of precisions. */
#include "cmd/roundoff.h"

#include <math.h>

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

/* Certify REF's entries still open from its value V at PREC bits. */
static void
certify_level(roundoff_ref *ref, const value *v, long prec)
{
    long left = 0;
    for (long i = 0; i < ref->rows; i++)
        for (long j = 0; j < ref->cols; j++) {
            long e = i * ref->cols + j;
            if (ref->certified[e])
                continue;
            if (certify(eval_ball(v, i, j), prec, &ref->value[e]))
                ref->certified[e] = 1;
            else
                left++;
        }
    ref->prec = prec;
    ref->unsampleable = left;
}

int
roundoff_references(roundoff_ref *refs, size_t n, roundoff_binder bind, void *ctx, mem_pool *pool,
                    char *why, size_t len)
{
    /* in the pool, not on the stack: read after a longjmp */
    evaluator **ev = mem_zalloc(pool, sizeof *ev);
    jmp_buf here;
    jmp_buf *outer = mem_pool_on_oom(pool, &here);
    if (setjmp(here)) {
        eval_free(*ev);
        mem_pool_on_oom(pool, outer);
        longjmp(*outer, 1);
    }
    int ok = 1;
    size_t open = n;
    for (int level = 0; level < (int)LADDER && ok && open > 0; level++) {
        *ev = eval_new(pool, NUMBER_BALL, ladder[level]);
        ok = bind(ctx, *ev, why, len);
        open = 0;
        for (size_t k = 0; k < n && ok; k++) {
            roundoff_ref *r = &refs[k];
            if (level > 0 && r->unsampleable == 0)
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
            }
            certify_level(r, v, ladder[level]);
            open += r->unsampleable > 0;
        }
        eval_free(*ev);
        *ev = NULL;
    }
    mem_pool_on_oom(pool, outer);
    return ok;
}
