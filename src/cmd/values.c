/* values.c: the eval command: the loss and gradients enclosed in Arb balls and printed with their
 * proved digits; see values.h. */
#include "cmd/values.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* One printed quantity: the loss or a param's gradient. */
typedef struct quantity {
    const char *name; /* "J", "dW1" */
    const symbol *of; /* the param; NULL for the loss */
    int rank;
    long rows, cols;
    const char **entries; /* rows * cols decimal strings */
    long not_finite;      /* entries "nan", "inf" or "-inf": no digits */
    value *hi;            /* the P + 64-bit gradient, kept for finite differences */
    /* finite differences */
    char fd_max[32];
    long fd_row, fd_col;
    char fd_derived[64], fd_quotient[64];
    int fd_bad;
} quantity;

/* A label whose data do not keep its declared assumption exactly. */
typedef struct dropped_label {
    const symbol *label;
    long column;     /* the first column that breaks it */
    const char *sum; /* that column's sum, "1 + 5e-13" */
} dropped_label;

typedef struct run {
    const derivation *d;
    const values_request *rq;
    text *out;
    mem_pool *pool;
    dc_error *err;
    long prec, kmax;
    evaluator *box;               /* Arb balls at P bits: the printed digits */
    evaluator *hi;                /* MPFR at P + 64 bits: the finite differences */
    mpfr_t a, b, c, gmax;         /* scratch at P + 64 bits */
    mpfr_t end_lo, end_hi;        /* a ball's ends, at P bits */
    mpfr_t worst, all, tolerance; /* finite differences' verdict, 64 bits */
    char *buf_lo, *buf_hi;        /* mpfr_get_str output, kmax + 8 bytes */
    quantity *q;
    size_t nq;
    int fd_agree;
    char fd_all[32];
    double work, work_done, bind_work; /* estimated and done, for rq->progress */
    dropped_label *dropped;            /* the labels the gradients are derived without assuming */
    size_t ndropped;
    mpfr_exp_t emin, emax; /* the caller's exponent range, put back at the end */
} run;

/* ---------------------------------------------------------------- digits */

/* X rounded to K significant digits into BUF (mpfr_get_str: sign, digits);
 *E the decimal exponent, value = 0.DIGITS * 10^E. */
static const char *
digits(char *buf, mpfr_exp_t *e, long k, mpfr_srcptr x)
{
    return mpfr_get_str(buf, e, 10, (size_t)k, x, MPFR_RNDN);
}

/* Append the K digits of BUF (with its sign) at decimal exponent E as a
   decimal string: fixed notation from 1e-5 up to K integer digits, else
   scientific. */
static void
put_decimal(text *out, const char *buf, mpfr_exp_t e, long k)
{
    if (*buf == '-')
        text_putc(out, *buf++);
    long sci = (long)e - 1;
    if (sci >= -5 && sci < k) {
        if (e <= 0) {
            text_puts(out, "0.");
            for (long i = 0; i < -(long)e; i++)
                text_putc(out, '0');
            text_puts(out, buf);
        } else {
            text_putn(out, buf, (size_t)e);
            if (e < k) {
                text_putc(out, '.');
                text_puts(out, buf + e);
            }
        }
        return;
    }
    text_putc(out, buf[0]);
    if (k > 1) {
        text_putc(out, '.');
        text_puts(out, buf + 1);
    }
    text_printf(out, "e%ld", sci);
}

/* The number enclosed in [LO, HI], as a decimal string of the digits
   both ends agree on (values.h). *FINITE: 0 for "nan", "inf" and "-inf",
   which are no digits. */
static const char *
agreed(run *r, mpfr_srcptr lo, mpfr_srcptr hi, int *finite)
{
    text t;
    text_init(&t, r->pool);
    *finite = mpfr_number_p(lo) && mpfr_number_p(hi);
    if (!*finite) {
        /* an infinity at both ends is one; anything else has no value */
        int inf = mpfr_inf_p(lo) && mpfr_inf_p(hi) && mpfr_sgn(lo) == mpfr_sgn(hi);
        text_puts(&t, !inf ? "nan" : mpfr_sgn(hi) > 0 ? "inf" : "-inf");
        return text_str(&t);
    }
    if (mpfr_zero_p(lo) && mpfr_zero_p(hi)) {
        text_putc(&t, '0');
        return text_str(&t);
    }
    long k = r->kmax;
    if (!mpfr_equal_p(lo, hi)) {
        /* agreement is near log10(|hi| / |hi - lo|): start just above it */
        mpfr_sub(r->a, hi, lo, MPFR_RNDN);
        long gap = mpfr_zero_p(hi) ? 0 : (long)(mpfr_get_exp(hi) - mpfr_get_exp(r->a));
        long start = (long)floor((double)gap * 0.30102999566398119521) + 2;
        if (start < k)
            k = start;
    }
    mpfr_exp_t e_lo, e_hi;
    for (; k >= 1; k--) {
        digits(r->buf_lo, &e_lo, k, lo);
        digits(r->buf_hi, &e_hi, k, hi);
        if (e_lo == e_hi && strcmp(r->buf_lo, r->buf_hi) == 0)
            break;
    }
    if (k == 0) {
        /* no digit agrees: 0 to within half a unit of 10^Q, the smallest Q
           with 2 max(|lo|, |hi|) < 10^Q */
        mpfr_abs(r->a, lo, MPFR_RNDU);
        mpfr_abs(r->b, hi, MPFR_RNDU);
        mpfr_max(r->a, r->a, r->b, MPFR_RNDU);
        mpfr_mul_2ui(r->a, r->a, 1, MPFR_RNDU);
        mpfr_log10(r->a, r->a, MPFR_RNDU);
        mpfr_floor(r->a, r->a);
        text_printf(&t, "0e%ld", mpfr_get_si(r->a, MPFR_RNDN) + 1);
        return text_str(&t);
    }
    put_decimal(&t, r->buf_hi, e_hi, k);
    return text_str(&t);
}

/* ---------------------------------------------------------------- evaluation */

/* WORK more multiply-adds done (eval_set_progress), for the caller's
   progress bar; never the whole estimate before values_report ends. */
static void
work_done(void *ctx, double work)
{
    run *r = ctx;
    r->work_done += work;
    double total = r->work > 1 ? r->work : 1, done = r->work_done < total ? r->work_done : total;
    r->rq->progress(r->rq->progress_ctx, (long)(1000 * done / total) - (done == total), 1000);
}

/* Evaluate T in EV; 0 with ERR filled when it cannot be, or when a value
   on the way left MPFR's exponent range, whose digits would be the
   limit's: an MPFR number, or the end of a ball (Arb's exponents are
   unbounded, but its digits are written by MPFR). */
static int
evaluate(run *r, evaluator *ev, const term *t, const char *what, const value **out)
{
    char why[256];
    mpfr_clear_flags();
    if (eval_term(ev, t, out, why, sizeof why)) {
        for (long i = 0; eval_kind(ev) == NUMBER_BALL && i < (*out)->rows; i++)
            for (long j = 0; j < (*out)->cols; j++)
                ball_bounds(r->end_lo, r->end_hi, eval_ball(*out, i, j));
        if (!mpfr_overflow_p() && !mpfr_underflow_p())
            return 1;
        int over = mpfr_overflow_p();
        diag_plain(r->err, r->pool, DC_ELIMIT,
                   "cannot evaluate %s: a value on the way %s MPFR's exponent range even at its "
                   "widest (|x| %s 2^%ld), so none of its digits can be proved",
                   what, over ? "overflows" : "underflows",
                   over ? "<" : ">=", over ? (long)mpfr_get_emax() : (long)mpfr_get_emin() - 1);
        return 0;
    }
    if (eval_status(ev) == DC_ENOMEM)
        diag_oom(r->err);
    else
        diag_plain(r->err, r->pool, DC_EINPUT, "cannot evaluate %s: %s", what, why);
    return 0;
}

/* The numbers of quantity Q from its enclosures BOX. */
static void
fill(run *r, quantity *q, const value *box)
{
    q->rank = box->rank;
    q->rows = box->rows;
    q->cols = box->cols;
    q->entries = mem_alloc(r->pool, (size_t)(box->rows * box->cols) * sizeof *q->entries);
    q->not_finite = 0;
    for (long i = 0; i < box->rows; i++)
        for (long j = 0; j < box->cols; j++) {
            int finite;
            ball_bounds(r->end_lo, r->end_hi, eval_ball(box, i, j)); /* NaN ends: no value */
            q->entries[i * box->cols + j] = agreed(r, r->end_lo, r->end_hi, &finite);
            q->not_finite += !finite;
        }
}

/* A copy of V (of R->hi's kind) owned by R->hi: results do not outlive a bind. */
static value *
keep(run *r, const value *v)
{
    value *c = eval_new_value(r->hi, v->rank, v->rows, v->cols);
    for (long i = 0; i < v->rows; i++)
        for (long j = 0; j < v->cols; j++)
            mpfr_set(*eval_fr(c, i, j), *eval_fr(v, i, j), MPFR_RNDN);
    return c;
}

/* The labels whose data do not keep their declared assumption exactly
   (data_label_exact): the gradients are derived again assuming nothing of
   them, with the rules of the request. 0 with ERR filled when there are
   no rules or the gradients cannot be derived so. */
static int
labels_as_given(run *r)
{
    const model *m = r->d->m;
    for (size_t i = 0; i < m->nsymbols; i++) {
        dropped_label l = {m->symbols[i], 0, NULL};
        if (data_label_exact(r->rq->data, l.label, &l.column, &l.sum, r->pool))
            continue;
        r->dropped = mem_realloc(r->pool, r->dropped, (r->ndropped + 1) * sizeof *r->dropped);
        r->dropped[r->ndropped++] = l;
    }
    if (r->ndropped == 0)
        return 1;
    const symbol **labels = mem_alloc(r->pool, r->ndropped * sizeof *labels);
    label_assumption *as = mem_alloc(r->pool, r->ndropped * sizeof *as);
    for (size_t i = 0; i < r->ndropped; i++) {
        labels[i] = r->dropped[i].label;
        as[i] = LABEL_ANY;
    }
    label_assumption_set assume = {labels, as, r->ndropped};
    dc_error why = {0};
    const derivation *d =
        r->rq->rules != NULL ? derive(m, r->rq->rules, &assume, &why, r->pool) : NULL;
    if (d != NULL) {
        r->d = d;
        return 1;
    }
    if (why.status == DC_ENOMEM) {
        diag_oom(r->err);
        return 0;
    }
    const dropped_label *l = &r->dropped[0];
    diag_plain(r->err, r->pool, DC_EINPUT,
               "%s is a prob label, but column %ld of its data sums to %s, not exactly 1, and "
               "the gradients cannot be derived without assuming it: %s",
               l->label->name, l->column, l->sum,
               why.message != NULL ? why.message : "no rules are given");
    return 0;
}

/* The term of P's gradient: the absorbed formula, or 0 of P's shape when
   the loss does not depend on P. */
static const term *
gradient_term(run *r, const symbol *p)
{
    const model *m = r->d->m;
    const gradient *g = derive_find(r->d, p);
    if (g != NULL && g->absorbed != NULL)
        return g->absorbed;
    const term *zero = term_const_si(m->terms, 0, 1);
    const term *sym = term_symbol(m->terms, p);
    char why[SHAPE_WHY];
    return term_make(m->terms, OP_MUL, 0, 0, (const term *[]){zero, sym}, 2, why);
}

/* The entries of a value of shape S at the point's sizes. */
static double
entries_of(run *r, const shape *s)
{
    double n = 1;
    for (int k = 0; k < s->rank; k++)
        n *= (double)data_dim_size(r->rq->data, s->d[k]);
    return n;
}

static void put_dims(run *r, text *out, json_t *dims);

/* Whether evaluating the loss and the gradients (and the finite
   differences' two losses per param entry) at the point's sizes stays
   within the caps on memory and work (eval.h), estimated before anything
   is drawn; 0 with ERR filled (DC_ELIMIT) when not. Sets the dims of the
   point in both evaluators. */
static int
within_caps(run *r)
{
    const model *m = r->d->m;
    eval_cost caps, cost = {0, 0}, loss = {0, 0};
    if (!eval_caps(&caps, r->err, r->pool))
        return 0;
    for (size_t i = 0; i < m->nsymbols; i++) {
        const symbol *s = m->symbols[i];
        if (s->kind == SYM_DIM || s->kind == SYM_BATCH) {
            eval_set_dim(r->box, s, data_dim_size(r->rq->data, dim_symbol(s)));
            eval_set_dim(r->hi, s, data_dim_size(r->rq->data, dim_symbol(s)));
        }
    }
    const term **roots = mem_alloc(r->pool, (m->nsymbols + 1) * sizeof *roots);
    size_t n = 0;
    double param_entries = 0, drawn = 0, given = 0;
    roots[n++] = term_symbol(m->terms, m->loss);
    for (size_t i = 0; i < m->nsymbols; i++) {
        const symbol *s = m->symbols[i];
        if (s->kind == SYM_PARAM) {
            roots[n++] = gradient_term(r, s);
            param_entries += entries_of(r, &s->shape);
        }
        if (s->kind == SYM_INPUT || s->kind == SYM_LABEL || s->kind == SYM_PARAM)
            *(data_gives(r->rq->data, s) ? &given : &drawn) += entries_of(r, &s->shape);
    }
    int known = eval_estimate(r->box, NULL, roots, n, &cost) &&
                (!r->rq->check_fd || (eval_estimate(r->hi, NULL, roots, n, &cost) &&
                                      eval_estimate(r->hi, NULL, roots, 1, &loss)));
    mem_release(r->pool, roots);
    if (!known) /* a size the evaluation reports itself */
        return 1;
    /* the bound values: drawn ones exact rationals until they are bound,
       then short dyadics (k / 2^16) in a ball; the data's rounded to the
       precision; at P + 64 bits in MPFR for the finite differences */
    cost.bytes += drawn * (eval_entry_bytes(NUMBER_EXACT, 0) + eval_entry_bytes(NUMBER_BALL, 64));
    cost.bytes += given * eval_entry_bytes(NUMBER_BALL, r->prec);
    if (r->rq->check_fd)
        cost.bytes += (drawn + given) * eval_entry_bytes(NUMBER_MPFR, r->prec + VALUES_GUARD_BITS);
    cost.work += drawn + given + 2 * param_entries * loss.work;
    r->work = cost.work;
    r->bind_work = drawn + given;
    if (r->rq->progress != NULL) {
        eval_set_progress(r->box, work_done, r);
        eval_set_progress(r->hi, work_done, r);
    }
    text what;
    text_init(&what, r->pool);
    text_printf(&what, "evaluating the loss and gradients of %s at ",
                format_base_name(r->rq->model_name));
    put_dims(r, &what, NULL);
    text_printf(&what, ", %ld bits%s", r->prec, r->rq->check_fd ? ", with finite differences" : "");
    return eval_within_caps(&cost, &caps, text_str(&what),
                            "evaluate at smaller sizes (--data fixes them) or a lower precision",
                            r->err, r->pool);
}

/* The loss and every param's gradient: enclosed, and at P + 64 bits for
   the finite differences. */
static int
evaluate_all(run *r)
{
    const model *m = r->d->m;
    size_t nparams = 0;
    for (size_t i = 0; i < m->nsymbols; i++)
        nparams += m->symbols[i]->kind == SYM_PARAM;
    r->q = mem_zalloc(r->pool, (nparams + 1) * sizeof *r->q);
    const value *box, *hi;
    const term *loss = term_symbol(m->terms, m->loss);
    if (!evaluate(r, r->box, loss, m->loss->name, &box))
        return 0;
    r->q[0].name = m->loss->name;
    fill(r, &r->q[0], box);
    r->nq = 1;
    for (size_t i = 0; i < m->nsymbols; i++) {
        const symbol *p = m->symbols[i];
        if (p->kind != SYM_PARAM)
            continue;
        quantity *q = &r->q[r->nq++];
        text name;
        text_init(&name, r->pool);
        text_printf(&name, "d%s", p->name);
        q->name = text_str(&name);
        q->of = p;
        const term *t = gradient_term(r, p);
        if (!evaluate(r, r->box, t, q->name, &box))
            return 0;
        fill(r, q, box);
        if (r->rq->check_fd) {
            if (!evaluate(r, r->hi, t, q->name, &hi))
                return 0;
            q->hi = keep(r, hi);
        }
    }
    return 1;
}

/* ---------------------------------------------------------------- finite differences */

/* The loss at the P + 64-bit point into R->c. */
static int
loss_hi(run *r)
{
    const value *v;
    const model *m = r->d->m;
    if (!evaluate(r, r->hi, term_symbol(m->terms, m->loss), m->loss->name, &v))
        return 0;
    mpfr_set(r->c, *eval_fr(v, 0, 0), MPFR_RNDN);
    return 1;
}

static void
put_g(char *buf, size_t size, const char *fmt, mpfr_srcptr x)
{
    mpfr_snprintf(buf, size, fmt, x);
}

/* Central differences of the loss for every entry of the param of Q,
   against Q's derived gradient; the maximum relative difference into Q. */
static int
differences(run *r, quantity *q)
{
    const model *m = r->d->m;
    const value *now;
    if (!evaluate(r, r->hi, term_symbol(m->terms, q->of), q->of->name, &now))
        return 0;
    value *base = keep(r, now), *moved = keep(r, now);
    long h_exp = r->prec / 3;
    mpfr_set_zero(r->worst, 1);
    mpfr_set_zero(r->gmax, 1); /* the largest |g| of this param */
    for (long i = 0; i < q->rows; i++)
        for (long j = 0; j < q->cols; j++)
            if (mpfr_cmpabs(*eval_fr(q->hi, i, j), r->gmax) > 0)
                mpfr_abs(r->gmax, *eval_fr(q->hi, i, j), MPFR_RNDN);
    int ok = 1;
    for (long i = 0; ok && i < base->rows; i++)
        for (long j = 0; ok && j < base->cols; j++) {
            mpfr_t *w = eval_fr(moved, i, j);
            mpfr_set_ui_2exp(r->a, 1, -h_exp, MPFR_RNDN);
            mpfr_add(*w, *eval_fr(base, i, j), r->a, MPFR_RNDN);
            eval_bind(r->hi, q->of, moved);
            ok = loss_hi(r);
            mpfr_set(r->b, r->c, MPFR_RNDN);
            mpfr_sub(*w, *eval_fr(base, i, j), r->a, MPFR_RNDN);
            eval_bind(r->hi, q->of, moved);
            ok = ok && loss_hi(r);
            mpfr_set(*w, *eval_fr(base, i, j), MPFR_RNDN);
            if (!ok)
                break;
            /* fd = (J+ - J-) / 2h into b; |fd - g| / |g| (or / gmax) into a */
            mpfr_sub(r->b, r->b, r->c, MPFR_RNDN);
            mpfr_mul_2si(r->b, r->b, h_exp - 1, MPFR_RNDN);
            mpfr_srcptr g = *eval_fr(q->hi, i, j);
            mpfr_sub(r->a, r->b, g, MPFR_RNDN);
            mpfr_abs(r->a, r->a, MPFR_RNDN);
            if (!mpfr_zero_p(g))
                mpfr_div(r->a, r->a, g, MPFR_RNDN);
            else if (!mpfr_zero_p(r->gmax))
                mpfr_div(r->a, r->a, r->gmax, MPFR_RNDN);
            mpfr_abs(r->a, r->a, MPFR_RNDN);
            if (mpfr_nan_p(r->a))
                mpfr_set_inf(r->a, 1);
            if (mpfr_cmp(r->a, r->worst) > 0 || (i == 0 && j == 0)) {
                mpfr_set(r->worst, r->a, MPFR_RNDN);
                q->fd_row = i;
                q->fd_col = j;
                put_g(q->fd_derived, sizeof q->fd_derived, "%.20Rg", g);
                put_g(q->fd_quotient, sizeof q->fd_quotient, "%.20Rg", r->b);
            }
        }
    eval_bind(r->hi, q->of, base);
    return ok;
}

/* Every param's finite differences; the verdict into R. */
static int
check_all(run *r)
{
    mpfr_set_zero(r->all, 1);
    mpfr_set_ui_2exp(r->tolerance, 1, -(r->prec / 3), MPFR_RNDN);
    for (size_t k = 1; k < r->nq; k++) {
        quantity *q = &r->q[k];
        if (!differences(r, q))
            return 0;
        put_g(q->fd_max, sizeof q->fd_max, "%.3Rg", r->worst);
        q->fd_bad = mpfr_cmp(r->worst, r->tolerance) > 0;
        if (mpfr_cmp(r->worst, r->all) > 0)
            mpfr_set(r->all, r->worst, MPFR_RNDN);
    }
    put_g(r->fd_all, sizeof r->fd_all, "%.3Rg", r->all);
    r->fd_agree = mpfr_cmp(r->all, r->tolerance) <= 0;
    return 1;
}

/* ---------------------------------------------------------------- writing */

/* The size of every dim, by name, into DIMS: a JSON object, or NULL for
   "n = 2, m = 8" in OUT. */
static void
put_dims(run *r, text *out, json_t *dims)
{
    const model *m = r->d->m;
    int first = 1;
    for (size_t i = 0; i < m->nsymbols; i++) {
        const symbol *s = m->symbols[i];
        if (s->kind != SYM_DIM && s->kind != SYM_BATCH)
            continue;
        long n = data_dim_size(r->rq->data, dim_symbol(s));
        if (dims != NULL)
            json_object_set_new(dims, s->name, json_integer(n));
        else
            text_printf(out, "%s%s = %ld", first ? "" : ", ", s->name, n);
        first = 0;
    }
}

/* Where the point comes from, in words. */
static void
put_point(run *r)
{
    const values_request *rq = r->rq;
    if (rq->data == NULL) {
        text_printf(r->out, "at random values (seed %lu)", rq->seed);
        return;
    }
    text_printf(r->out, "at the values of %s", format_base_name(rq->data_name));
    const model *m = r->d->m;
    for (size_t i = 0; i < m->nsymbols; i++) {
        const symbol *s = m->symbols[i];
        if ((s->kind == SYM_INPUT || s->kind == SYM_LABEL || s->kind == SYM_PARAM) &&
            !data_gives(rq->data, s)) {
            text_printf(r->out, " (the others drawn with seed %lu)", rq->seed);
            return;
        }
    }
}

/* Q's entries as rows on lines, each column right-aligned. */
static void
text_matrix(run *r, const quantity *q)
{
    size_t *width = mem_zalloc(r->pool, (size_t)q->cols * sizeof *width);
    for (long i = 0; i < q->rows; i++)
        for (long j = 0; j < q->cols; j++) {
            size_t n = strlen(q->entries[i * q->cols + j]);
            if (n > width[j])
                width[j] = n;
        }
    for (long i = 0; i < q->rows; i++) {
        for (long j = 0; j < q->cols; j++)
            text_printf(r->out, "  %*s", (int)width[j], q->entries[i * q->cols + j]);
        text_putc(r->out, '\n');
    }
    mem_release(r->pool, width);
}

/* Under a quantity with entries that are not finite, a line saying so:
   "nan" and "inf" are not digits. */
static void
text_not_finite(run *r, const quantity *q)
{
    if (q->not_finite == 0)
        return;
    long n = q->rows * q->cols;
    text_printf(r->out,
                "  not finite: %ld of %ld %s, without digits (nan: no value, or none the "
                "precision bounds; inf: infinite)\n",
                q->not_finite, n, n == 1 ? "entry" : "entries");
}

static void
report_text(run *r)
{
    const values_request *rq = r->rq;
    text *out = r->out;
    text_printf(out, "Loss and gradients of %s ", format_base_name(rq->model_name));
    put_point(r);
    text_printf(out, ", %ld bits\ndims: ", r->prec);
    put_dims(r, r->out, NULL);
    text_printf(out,
                "\ndigits: proved, those on which both ends of an interval enclosing the exact "
                "value at %ld bits agree (at most %ld)\n",
                r->prec, r->kmax);
    for (size_t k = 0; k < r->ndropped; k++)
        text_printf(out,
                    "labels: %s is a prob label, but column %ld of its data sums to %s, not "
                    "exactly 1: the gradients are derived without assuming its columns sum to 1\n",
                    r->dropped[k].label->name, r->dropped[k].column, r->dropped[k].sum);
    text_printf(out, "\n%s = %s\n", r->q[0].name, r->q[0].entries[0]);
    text_not_finite(r, &r->q[0]);
    for (size_t k = 1; k < r->nq; k++) {
        const quantity *q = &r->q[k];
        text_printf(out, "\n%s ", q->name);
        shape_print(out, &q->of->shape);
        if (q->rank == 0)
            text_printf(out, " = %s\n", q->entries[0]);
        else {
            if (q->rank == 1)
                text_printf(out, ", %ld:\n", q->cols);
            else
                text_printf(out, ", %ld x %ld:\n", q->rows, q->cols);
            text_matrix(r, q);
        }
        text_not_finite(r, q);
    }
    if (!rq->check_fd)
        return;
    text_printf(out,
                "\nFinite differences: central, h = 2^-%ld, at %ld bits; largest |fd - g| / |g| "
                "per gradient:\n",
                r->prec / 3, r->prec + VALUES_GUARD_BITS);
    for (size_t k = 1; k < r->nq; k++)
        text_printf(out, "  %-6s %s%s\n", r->q[k].name, r->q[k].fd_max,
                    r->q[k].fd_bad ? "  DISAGREE" : "");
    if (r->fd_agree) {
        text_printf(out, "  all    %s <= 2^-%ld: the derived gradients agree\n", r->fd_all,
                    r->prec / 3);
        return;
    }
    text_printf(out, "  all    %s > 2^-%ld: DISAGREE\n", r->fd_all, r->prec / 3);
    for (size_t k = 1; k < r->nq; k++)
        if (r->q[k].fd_bad)
            text_printf(out, "  %s[%ld][%ld]: derived %s, difference quotient %s\n", r->q[k].name,
                        r->q[k].fd_row, r->q[k].fd_col, r->q[k].fd_derived, r->q[k].fd_quotient);
}

/* Row I of Q's entries, as decimal strings. */
static json_t *
json_row(run *r, const quantity *q, long i)
{
    json_t *row = json_array();
    for (long j = 0; j < q->cols; j++)
        json_array_append_new(row, format_json_string(r->pool, q->entries[i * q->cols + j]));
    return row;
}

/* Q's entries: one, a row, or rows a line each. */
static void
json_entries(run *r, const quantity *q)
{
    if (q->rank == 0)
        format_json(r->out, format_json_string(r->pool, q->entries[0]));
    else if (q->rank == 1)
        format_json(r->out, json_row(r, q, 0));
    else {
        json_t *rows = json_array();
        for (long i = 0; i < q->rows; i++)
            json_array_append_new(rows, json_row(r, q, i));
        format_json_lines(r->out, rows, "    ", 0);
    }
}

/* "2^-K", a power of two as the reports write it. */
static json_t *
json_power(run *r, long k)
{
    text t;
    text_init(&t, r->pool);
    text_printf(&t, "2^-%ld", k);
    return format_json_string(r->pool, text_str(&t));
}

/* The finite differences' step, precision and tolerance, and how far each
   gradient is from them. */
static json_t *
json_differences(run *r)
{
    json_t *fd = json_object();
    json_object_set_new(fd, "h", json_power(r, r->prec / 3));
    json_object_set_new(fd, "precision", json_integer(r->prec + VALUES_GUARD_BITS));
    json_object_set_new(fd, "tolerance", json_power(r, r->prec / 3));
    json_t *worst = json_object();
    for (size_t k = 1; k < r->nq; k++)
        json_object_set_new(worst, r->q[k].name, format_json_string(r->pool, r->q[k].fd_max));
    json_object_set_new(fd, "max_relative_difference", worst);
    json_object_set_new(fd, "max", format_json_string(r->pool, r->fd_all));
    json_object_set_new(fd, "agree", json_boolean(r->fd_agree));
    return fd;
}

/* The labels the gradients are derived without assuming, each with the
   column that breaks its assumption and that column's sum. */
static json_t *
json_dropped(run *r)
{
    json_t *all = json_array();
    for (size_t k = 0; k < r->ndropped; k++) {
        const dropped_label *l = &r->dropped[k];
        json_t *o = json_object();
        json_object_set_new(o, "label", format_json_string(r->pool, l->label->name));
        json_object_set_new(o, "declared", json_string("prob"));
        json_object_set_new(o, "column", json_integer(l->column));
        json_object_set_new(o, "sum", format_json_string(r->pool, l->sum));
        json_array_append_new(all, o);
    }
    return all;
}

/* The head, the dims, the loss, each gradient and its rows on lines of
   their own, then the entries that are not finite, per quantity, and the
   finite differences. */
static void
report_json(run *r)
{
    const values_request *rq = r->rq;
    text *out = r->out;
    mem_pool *pool = r->pool;
    text_putc(out, '{');
    format_json_member(out, "", "schema_version", json_integer(FORMAT_JSON_SCHEMA_VERSION));
    format_json_member(out, ", ", "command", json_string("eval"));
    format_json_member(out, ", ", "model",
                       format_json_string(pool, format_base_name(rq->model_name)));
    format_json_member(
        out, ", ", "data",
        format_json_string(pool, rq->data != NULL ? format_base_name(rq->data_name) : NULL));
    format_json_member(out, ", ", "seed", format_json_unsigned(rq->seed));
    format_json_member(out, ", ", "precision", json_integer(r->prec));
    format_json_member(out, ", ", "digits", json_string("proved by an interval enclosure"));
    format_json_member(out, ", ", "max_digits", json_integer(r->kmax));
    if (r->ndropped > 0)
        format_json_member(out, ",\n ", "labels_not_assumed", json_dropped(r));
    json_t *dims = json_object();
    put_dims(r, r->out, dims);
    format_json_member(out, ",\n ", "dims", dims);
    format_json_member(out, ",\n ", "loss_name", format_json_string(pool, r->q[0].name));
    format_json_member(out, ", ", "loss", format_json_string(pool, r->q[0].entries[0]));
    format_json_key(out, ",\n ", "gradients");
    text_putc(out, '{');
    for (size_t k = 1; k < r->nq; k++) {
        format_json_key(out, k > 1 ? ",\n  " : "\n  ", r->q[k].name);
        json_entries(r, &r->q[k]);
    }
    text_putc(out, '}');
    json_t *not_finite = json_object();
    for (size_t k = 0; k < r->nq; k++)
        if (r->q[k].not_finite > 0)
            json_object_set_new(not_finite, r->q[k].name, json_integer(r->q[k].not_finite));
    if (json_object_size(not_finite) > 0)
        format_json_member(out, ",\n ", "not_finite", not_finite);
    else
        json_decref(not_finite);
    if (rq->check_fd)
        format_json_member(out, ",\n ", "finite_differences", json_differences(r));
    text_puts(out, "}\n");
}

/* ---------------------------------------------------------------- entry */

/* DC_UNDECIDED with ERR naming the quantities when an entry is nan or
   infinite (a nan is no value and no digit of it is proved, however the
   report lays it out), else DC_OK. */
static dc_status
undecided_if_not_finite(run *r)
{
    text names;
    text_init(&names, r->pool);
    long n = 0;
    for (size_t k = 0; k < r->nq; k++)
        if (r->q[k].not_finite > 0) {
            text_printf(&names, "%s%s", n > 0 ? ", " : "", r->q[k].name);
            n += r->q[k].not_finite;
        }
    if (n == 0)
        return DC_OK;
    diag_plain(r->err, r->pool, DC_UNDECIDED,
               "%ld %s of %s not finite (nan or inf): no digit of %s is proved", n,
               n == 1 ? "entry" : "entries", text_str(&names), n == 1 ? "it" : "them");
    return DC_UNDECIDED;
}

static void
cleanup(run *r)
{
    eval_free(r->box);
    eval_free(r->hi);
    r->box = r->hi = NULL;
    mpfr_clears(r->a, r->b, r->c, r->gmax, r->end_lo, r->end_hi, r->worst, r->all, r->tolerance,
                (mpfr_ptr)0);
    mpfr_set_emin(r->emin);
    mpfr_set_emax(r->emax);
}

static _Noreturn void
rethrow(jmp_buf *outer)
{
    if (outer != NULL)
        longjmp(*outer, 1);
    abort();
}

/* Bind the point into the evaluators: the second only for the finite
   differences. */
static int
bind_point(run *r)
{
    char why[256];
    const values_request *rq = r->rq;
    if (data_bind(r->box, r->pool, rq->data, r->d->m, rq->seed, why, sizeof why) &&
        (!rq->check_fd ||
         data_bind(r->hi, r->pool, rq->data, r->d->m, rq->seed, why, sizeof why))) {
        if (rq->progress != NULL && r->work > 0)
            work_done(r, r->bind_work);
        return 1;
    }
    diag_plain(r->err, r->pool, DC_EINPUT, "cannot draw the random values: %s", why);
    return 0;
}

dc_status
values_report(text *out, const derivation *d, const values_request *rq, dc_error *err,
              mem_pool *pool)
{
    long prec = rq->prec != 0 ? rq->prec : VALUES_DEFAULT_PREC;
    if (prec < VALUES_MIN_PREC || prec > VALUES_MAX_PREC) {
        diag_plain(err, pool, DC_EINPUT,
                   "a precision of %ld bits is outside the caps: %d to %d bits", prec,
                   VALUES_MIN_PREC, VALUES_MAX_PREC);
        return DC_EINPUT;
    }
    if (rq->format != FORMAT_TEXT && rq->format != FORMAT_JSON) {
        diag_plain(err, pool, DC_EINPUT, "eval writes text or json");
        return DC_EINPUT;
    }
    run *r = mem_zalloc(pool, sizeof *r);
    r->d = d;
    r->rq = rq;
    r->out = out;
    r->pool = pool;
    r->err = err;
    r->prec = prec;
    r->kmax = (long)floor((double)prec * 0.30102999566398119521);
    r->buf_lo = mem_alloc(pool, (size_t)r->kmax + 8);
    r->buf_hi = mem_alloc(pool, (size_t)r->kmax + 8);
    mpfr_inits2(prec + VALUES_GUARD_BITS, r->a, r->b, r->c, r->gmax, (mpfr_ptr)0);
    mpfr_inits2(prec, r->end_lo, r->end_hi, (mpfr_ptr)0);
    mpfr_inits2(64, r->worst, r->all, r->tolerance, (mpfr_ptr)0);
    r->emin = mpfr_get_emin();
    r->emax = mpfr_get_emax();
    mpfr_set_emin(mpfr_get_emin_min());
    mpfr_set_emax(mpfr_get_emax_max());
    /* terms made here (the loss's symbol, a zero gradient) join the model's
       table, whose pool must land its failures here too */
    mem_pool *model_pool = d->m->pool;
    jmp_buf here;
    jmp_buf *outer = mem_pool_on_oom(pool, &here);
    jmp_buf *model_outer = model_pool != pool ? mem_pool_on_oom(model_pool, &here) : NULL;
    if (setjmp(here)) {
        cleanup(r);
        mem_pool_on_oom(pool, outer);
        if (model_pool != pool)
            mem_pool_on_oom(model_pool, model_outer);
        rethrow(outer);
    }
    r->box = eval_new(pool, NUMBER_BALL, prec);
    r->hi = eval_new(pool, NUMBER_MPFR, prec + VALUES_GUARD_BITS);
    int ok = labels_as_given(r) && within_caps(r) && bind_point(r) && evaluate_all(r) &&
             (!rq->check_fd || check_all(r));
    if (rq->progress != NULL) /* done: the bar is erased */
        rq->progress(rq->progress_ctx, 1, 1);
    if (ok && rq->format == FORMAT_JSON)
        report_json(r);
    else if (ok)
        report_text(r);
    dc_status st = !ok ? err->status : rq->check_fd && !r->fd_agree ? DC_REFUTED : DC_OK;
    if (st == DC_OK)
        st = undecided_if_not_finite(r);
    cleanup(r);
    mem_pool_on_oom(pool, outer);
    if (model_pool != pool)
        mem_pool_on_oom(model_pool, model_outer);
    mem_release(pool, r->buf_lo);
    mem_release(pool, r->buf_hi);
    mem_release(pool, r->dropped);
    mem_release(pool, r);
    return st;
}
