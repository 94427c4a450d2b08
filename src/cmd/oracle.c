/* oracle.c: the derived gradients against the loss, by central differences; see oracle.h. */
#include "cmd/oracle.h"

#include <math.h>
#include <stdio.h>

#include "base/text.h"
#include "num/sample.h"

/* The random streams: point K is instance POINT_INDEX + 2K and the joint
   direction there is stream POINT_INDEX + 2K + 1; gradient I checked alone
   draws its direction from stream ALONE_INDEX + I. */
enum { POINT_INDEX = 4000, ALONE_INDEX = 5000 };

/* One comparison's numbers, at ORACLE_BITS (+ 64 for sums). */
typedef struct probe {
    const derivation *d;
    term_table *tab;
    mem_pool *pool;
    unsigned long seed;
    oracle_binder bind;
    void *ctx;
    long *evaluations;
    evaluator *fr;    /* the loss and the gradients */
    evaluator *store; /* the point and the direction, 128 bits more */
    const symbol **vars;
    const value **base, **dir;
    size_t n;
    mpfr_t sum, scale, x, y;
    char why[256];
} probe;

/* Bind random point ATTEMPT in P's evaluator: BIND's, or sample_bind's at
   size assignment ATTEMPT + 1 (every dim at least 3, none a power of two:
   a derivation holds at every size, and small ones are cheap). */
static int
bind_point(probe *p, int attempt)
{
    if (p->bind != NULL)
        return p->bind(p->ctx, p->fr, attempt, p->why, sizeof p->why);
    sample_sizes sizes;
    sample_sizes_of(&sizes, p->pool, p->d->m, attempt + 1);
    sample_spec spec = {.seed = p->seed,
                        .index = POINT_INDEX + 2 * (unsigned long)attempt,
                        .bits = ORACLE_SAMPLE_BITS,
                        .sizes = &sizes};
    return sample_bind(p->fr, p->pool, p->d->m, &spec, p->why, sizeof p->why);
}

/* One walk along a line: the evaluator, the model, the moved values
   (one per variable of the line), the count of the loss's evaluations and
   where to say why it cannot go on. */
typedef struct walk {
    evaluator *ev;
    const model *m;
    const oracle_line *line;
    value **moved;
    long *evaluations;
    char *why;
    size_t len;
} walk;

/* The loss into OUT, every variable of W's line moved by STEPS * h * U,
   h = 2^-(P/4); 0 with W's why when it cannot be evaluated or is not
   finite. */
static int
moved_loss(walk *w, long steps, mpfr_t out)
{
    const oracle_line *l = w->line;
    for (size_t k = 0; k < l->n; k++) {
        const value *b = l->at[k];
        for (long e = 0; e < b->rows * b->cols; e++) {
            mpfr_t *to = eval_fr(w->moved[k], e / b->cols, e % b->cols);
            mpfr_mul_si(*to, *eval_fr(l->dir[k], e / b->cols, e % b->cols), steps, MPFR_RNDN);
            mpfr_mul_2si(*to, *to, -(ORACLE_BITS / 4), MPFR_RNDN);
            mpfr_add(*to, *to, *eval_fr(b, e / b->cols, e % b->cols), MPFR_RNDN);
        }
        eval_bind(w->ev, l->vars[k], w->moved[k]);
    }
    const value *j;
    (*w->evaluations)++;
    if (!eval_term(w->ev, term_symbol(w->m->terms, w->m->loss), &j, w->why, w->len))
        return 0;
    mpfr_set(out, *eval_fr(j, 0, 0), MPFR_RNDN);
    if (!mpfr_number_p(out)) {
        snprintf(w->why, w->len, "the loss is not finite near the point");
        return 0;
    }
    return 1;
}

/* log2 of |X - Y| / max(|X|, |Y|, SCALE); -INFINITY when X = Y. */
static double
relative_gap(const mpfr_t x, const mpfr_t y, const mpfr_t scale)
{
    mpfr_t d, big, t;
    mpfr_inits2(ORACLE_BITS + 64, d, big, t, (mpfr_ptr)0);
    mpfr_sub(d, x, y, MPFR_RNDN);
    mpfr_abs(d, d, MPFR_RNDN);
    mpfr_abs(big, x, MPFR_RNDN);
    mpfr_max(big, big, scale, MPFR_RNDN);
    mpfr_abs(t, y, MPFR_RNDN);
    mpfr_max(big, big, t, MPFR_RNDN);
    double gap = -INFINITY;
    if (!mpfr_zero_p(d)) {
        mpfr_div(d, d, big, MPFR_RNDN);
        mpfr_log2(d, d, MPFR_RNDN);
        gap = mpfr_get_d(d, MPFR_RNDN);
    }
    mpfr_clears(d, big, t, (mpfr_ptr)0);
    return gap;
}

int
oracle_directional(evaluator *ev, const model *m, const oracle_line *line, const mpfr_t scale,
                   mpfr_t out, mpfr_t loss, long *evaluations, char *why, size_t len,
                   mem_pool *pool)
{
    evaluator *store = eval_new(pool, NUMBER_MPFR, ORACLE_BITS + 128);
    value **moved = mem_zalloc(pool, (line->n + 1) * sizeof *moved);
    for (size_t k = 0; k < line->n; k++)
        moved[k] = eval_new_value(store, line->at[k]->rank, line->at[k]->rows, line->at[k]->cols);
    walk w = {.ev = ev,
              .m = m,
              .line = line,
              .moved = moved,
              .evaluations = evaluations,
              .why = why,
              .len = len};
    mpfr_t jp, jm, jp2, jm2, d2, side;
    mpfr_inits2(ORACLE_BITS + 64, jp, jm, jp2, jm2, d2, side, (mpfr_ptr)0);
    int done = 0;
    if (moved_loss(&w, 0, loss) && moved_loss(&w, 1, jp) && moved_loss(&w, -1, jm) &&
        moved_loss(&w, 2, jp2) && moved_loss(&w, -2, jm2)) {
        mpfr_sub(out, jp, jm, MPFR_RNDN);
        mpfr_mul_2si(out, out, ORACLE_BITS / 4 - 1, MPFR_RNDN);
        mpfr_sub(d2, jp2, jm2, MPFR_RNDN);
        mpfr_mul_2si(d2, d2, ORACLE_BITS / 4 - 2, MPFR_RNDN);
        /* the one-sided differences, scaled alike: J(h) - J(0) against J(0) - J(-h) */
        mpfr_sub(jp, jp, loss, MPFR_RNDN);
        mpfr_sub(side, loss, jm, MPFR_RNDN);
        mpfr_mul_2si(jp, jp, ORACLE_BITS / 4, MPFR_RNDN);
        mpfr_mul_2si(side, side, ORACLE_BITS / 4, MPFR_RNDN);
        if (relative_gap(out, d2, scale) > -(double)(ORACLE_BITS / 8) ||
            relative_gap(jp, side, scale) > -(double)(ORACLE_BITS / 8)) {
            snprintf(why, len,
                     "the loss has a kink or a jump near the point (its differences with steps h "
                     "and 2h, or from either side, differ)");
        } else {
            done = 1;
            mpfr_mul_2si(out, out, 2, MPFR_RNDN);
            mpfr_sub(out, out, d2, MPFR_RNDN);
            mpfr_div_ui(out, out, 3, MPFR_RNDN);
        }
    }
    mpfr_clears(jp, jm, jp2, jm2, d2, side, (mpfr_ptr)0);
    eval_free(store);
    mem_release(pool, moved);
    return done;
}

/* Variable K's part of the direction, drawn from RNG (entries k / 2^30 of
   random sign), and sum(dV * U) into PART, sum(|dV * U|) into SIZE; the
   point's value of the variable and the gradient's are BASE and G. */
static void
direction(probe *p, size_t k, const value *g, gmp_randstate_t rng, mpfr_t part, mpfr_t size)
{
    const value *b = p->base[k];
    p->dir[k] = eval_new_value(p->store, b->rank, b->rows, b->cols);
    mpz_t z;
    mpz_init(z);
    mpfr_set_ui(part, 0, MPFR_RNDN);
    mpfr_set_ui(size, 0, MPFR_RNDN);
    for (long e = 0; e < b->rows * b->cols; e++) {
        mpfr_t *u = eval_fr(p->dir[k], e / b->cols, e % b->cols);
        mpz_urandomb(z, rng, ORACLE_SAMPLE_BITS);
        mpfr_set_z_2exp(*u, z, -ORACLE_SAMPLE_BITS, MPFR_RNDN);
        if (gmp_urandomb_ui(rng, 1))
            mpfr_neg(*u, *u, MPFR_RNDN);
        mpfr_mul(p->x, *u, *eval_fr(g, e / g->cols, e % g->cols), MPFR_RNDN);
        mpfr_add(part, part, p->x, MPFR_RNDN);
        mpfr_abs(p->x, p->x, MPFR_RNDN);
        mpfr_add(size, size, p->x, MPFR_RNDN);
    }
    mpz_clear(z);
}

/* Multiply variable K's part of the direction (and PART and SIZE with it)
   by 2^SHIFT. */
static void
stretch(probe *p, size_t k, long shift, mpfr_t part, mpfr_t size)
{
    const value *u = p->dir[k];
    for (long e = 0; e < u->rows * u->cols; e++)
        mpfr_mul_2si(*eval_fr(u, e / u->cols, e % u->cols), *eval_fr(u, e / u->cols, e % u->cols),
                     shift, MPFR_RNDN);
    mpfr_mul_2si(part, part, shift, MPFR_RNDN);
    mpfr_mul_2si(size, size, shift, MPFR_RNDN);
}

/* The point, the gradients and the direction, with P's evaluators made:
   sum(dV * U_V) over the variables into p->sum, sum |dV * U_V| into
   p->scale. A variable whose values exceed 1 has its part stretched by
   their power of two, so that the step stays small beside them; with
   several, each part is stretched (by at most 2^ORACLE_MAX_SCALE) to weigh
   about as much as the largest. 0 with WHY when something cannot be
   evaluated. */
static int
setup(probe *p, const gradient *const *g, int attempt, unsigned long stream)
{
    if (!bind_point(p, attempt))
        return 0;
    mpfr_t *part = mem_alloc(p->pool, (p->n + 1) * sizeof *part);
    mpfr_t *size = mem_alloc(p->pool, (p->n + 1) * sizeof *size);
    long *shift = mem_zalloc(p->pool, (p->n + 1) * sizeof *shift);
    for (size_t k = 0; k < p->n; k++)
        mpfr_inits2(ORACLE_BITS + 64, part[k], size[k], (mpfr_ptr)0);
    gmp_randstate_t rng;
    sample_stream_init(rng, p->seed, stream);
    int ok = 1;
    for (size_t k = 0; k < p->n && ok; k++) {
        const value *gv, *vv;
        ok = eval_term(p->fr, derive_pretty(p->d, g[k], CONVENTION_ABSORBED), &gv, p->why,
                       sizeof p->why) &&
             eval_term(p->fr, term_symbol(p->tab, p->vars[k]), &vv, p->why, sizeof p->why);
        if (ok && gv->rows * gv->cols != vv->rows * vv->cols) {
            snprintf(p->why, sizeof p->why, "the gradient d%s has another number of entries",
                     p->vars[k]->name);
            ok = 0;
        }
        if (!ok)
            break;
        value *b = eval_new_value(p->store, vv->rank, vv->rows, vv->cols);
        for (long e = 0; e < vv->rows * vv->cols; e++) {
            mpfr_set(*eval_fr(b, e / b->cols, e % b->cols),
                     *eval_fr(vv, e / vv->cols, e % vv->cols), MPFR_RNDN);
            mpfr_exp_t x = mpfr_regular_p(*eval_fr(b, e / b->cols, e % b->cols))
                               ? mpfr_get_exp(*eval_fr(b, e / b->cols, e % b->cols))
                               : 0;
            if (x > shift[k])
                shift[k] = x;
        }
        p->base[k] = b;
        direction(p, k, gv, rng, part[k], size[k]);
    }
    gmp_randclear(rng);
    if (ok) {
        size_t largest = 0;
        for (size_t k = 1; k < p->n; k++)
            if (mpfr_cmp(size[k], size[largest]) > 0)
                largest = k;
        for (size_t k = 0; k < p->n; k++) {
            if (p->n > 1 && mpfr_regular_p(size[k]) && mpfr_regular_p(size[largest])) {
                long up = mpfr_get_exp(size[largest]) - mpfr_get_exp(size[k]);
                shift[k] += up < ORACLE_MAX_SCALE ? up : ORACLE_MAX_SCALE;
            }
            stretch(p, k, shift[k], part[k], size[k]);
            mpfr_add(p->sum, p->sum, part[k], MPFR_RNDN);
            mpfr_add(p->scale, p->scale, size[k], MPFR_RNDN);
        }
        if (!mpfr_number_p(p->sum)) {
            snprintf(p->why, sizeof p->why, "the gradient is not finite at the point");
            ok = 0;
        }
    }
    for (size_t k = 0; k < p->n; k++)
        mpfr_clears(part[k], size[k], (mpfr_ptr)0);
    return ok;
}

/* The comparison, the evaluators made, into OUT: the derivative of the
   loss along the direction (oracle_directional, with the gradients' sizes
   as the scale of its kink test) against the sum. Truncation leaves
   about h^4 = 2^-P of it and rounding about 2^-P |J| / h, so it AGREES at
   a relative 2^-(P/3) and DIFFERS only above that and above 2^-(P/2) |J|,
   far above both. Returns 0 when the point is no evidence (the loss
   cannot be evaluated near it, or has a kink or a jump there), else 1. */
static int
compare(probe *p, const gradient *const *g, int attempt, unsigned long stream, oracle_check *out)
{
    if (!setup(p, g, attempt, stream))
        return 0;
    oracle_line line = {.n = p->n, .vars = p->vars, .at = p->base, .dir = p->dir};
    mpfr_t r, j;
    mpfr_inits2(ORACLE_BITS + 64, r, j, (mpfr_ptr)0);
    int done = oracle_directional(p->fr, p->d->m, &line, p->scale, r, j, p->evaluations, p->why,
                                  sizeof p->why, p->pool);
    if (done) {
        out->log2_gap = relative_gap(r, p->sum, p->scale);
        out->sum = mpfr_get_d(p->sum, MPFR_RNDN);
        out->central = mpfr_get_d(r, MPFR_RNDN);
        /* |R - S| against 2^-(P/2) |J|: far above what rounding leaves */
        mpfr_sub(p->x, r, p->sum, MPFR_RNDN);
        mpfr_abs(p->x, p->x, MPFR_RNDN);
        mpfr_abs(p->y, j, MPFR_RNDN);
        mpfr_mul_2si(p->y, p->y, -(ORACLE_BITS / 2), MPFR_RNDN);
        if (out->log2_gap <= -(double)(ORACLE_BITS / 3))
            out->status = ORACLE_AGREES;
        else if (mpfr_cmp(p->x, p->y) > 0)
            out->status = ORACLE_DIFFERS;
        else
            snprintf(p->why, sizeof p->why,
                     "the gap, 2^%.0f, is not far enough above the rounding of the loss",
                     floor(out->log2_gap));
    }
    mpfr_clears(r, j, (mpfr_ptr)0);
    return done;
}

/* One comparison at random point ATTEMPT: the variables of the N
   gradients G moved along a direction from stream STREAM, into OUT.
   Returns 0 when the point is no evidence (it could not be evaluated,
   or sits near a kink), so that another may be tried. */
static int
measure(probe *p, const gradient *const *g, size_t n, int attempt, unsigned long stream,
        oracle_check *out)
{
    *out = (oracle_check){.status = ORACLE_COULD_NOT_RUN, .log2_gap = NAN};
    p->why[0] = '\0';
    p->n = n;
    p->vars = mem_alloc(p->pool, (n + 1) * sizeof *p->vars);
    for (size_t k = 0; k < n; k++)
        p->vars[k] = g[k]->of;
    p->base = mem_zalloc(p->pool, (n + 1) * sizeof *p->base);
    p->dir = mem_zalloc(p->pool, (n + 1) * sizeof *p->dir);
    p->fr = eval_new(p->pool, NUMBER_MPFR, ORACLE_BITS);
    p->store = eval_new(p->pool, NUMBER_MPFR, ORACLE_BITS + 128);
    mpfr_inits2(ORACLE_BITS + 64, p->sum, p->scale, p->x, p->y, (mpfr_ptr)0);
    mpfr_set_ui(p->sum, 0, MPFR_RNDN);
    mpfr_set_ui(p->scale, 0, MPFR_RNDN);
    int done = compare(p, g, attempt, stream, out);
    int oom = eval_status(p->fr) == DC_ENOMEM;
    mpfr_clears(p->sum, p->scale, p->x, p->y, (mpfr_ptr)0);
    eval_free(p->fr);
    eval_free(p->store);
    /* running out of memory is not a check that could not run */
    if (oom)
        mem_oom(p->pool);
    if (out->status == ORACLE_COULD_NOT_RUN)
        out->why = mem_strdup(p->pool, p->why);
    return done;
}

/* Whether the gradient of a definition that uses A's variable also
   differs (then A is not the first wrong one). */
static int
after_a_wrong_one(const oracle_result *o, const oracle_gradient *a)
{
    for (size_t i = 0; i < o->d->n; i++) {
        const symbol *u = o->alone[i].g->of;
        if (&o->alone[i] != a && o->alone[i].check.status == ORACLE_DIFFERS && u->kind == SYM_DEF &&
            u->definition != NULL && term_occurrences(u->definition, a->g->of) > 0)
            return 1;
    }
    return 0;
}

/* After the joint check differed at point ATTEMPT: each gradient alone,
   from the loss back (at most ORACLE_ALONE), the first wrong ones, and
   the rules of their steps. */
static void
localise(probe *p, oracle_result *o, int attempt)
{
    const derivation *d = o->d;
    o->alone = mem_zalloc(p->pool, (d->n + 1) * sizeof *o->alone);
    for (size_t i = 0; i < d->n; i++) {
        oracle_gradient *a = &o->alone[i];
        a->g = &d->g[i];
        a->check = (oracle_check){.status = ORACLE_NOT_RUN, .log2_gap = NAN};
        if (i < ORACLE_ALONE)
            measure(p, &a->g, 1, attempt, ALONE_INDEX + i, &a->check);
    }
    o->suspects = mem_zalloc(p->pool, sizeof *o->suspects);
    for (size_t i = 0; i < d->n; i++) {
        oracle_gradient *a = &o->alone[i];
        a->first = a->check.status == ORACLE_DIFFERS && !after_a_wrong_one(o, a);
        for (size_t k = 0; a->first && k < a->g->steps.n; k++) {
            const rule *r = a->g->steps.steps[k].rule;
            int seen = r == NULL;
            for (size_t s = 0; s < o->nsuspects && !seen; s++)
                seen = o->suspects[s] == r;
            if (seen)
                continue;
            o->suspects =
                mem_realloc(p->pool, o->suspects, (o->nsuspects + 1) * sizeof *o->suspects);
            o->suspects[o->nsuspects++] = r;
        }
    }
}

/* Whether the loss has a gradient for S that the joint direction moves:
   a param's, or an input's if a derivation gives one. */
static int
moved_jointly(const symbol *s)
{
    return s->kind == SYM_PARAM || s->kind == SYM_INPUT;
}

oracle_result *
oracle_run(const derivation *d, unsigned long seed, oracle_binder bind, void *ctx, mem_pool *pool)
{
    oracle_result *o = mem_zalloc(pool, sizeof *o);
    o->d = d;
    o->joint = (oracle_check){.status = ORACLE_COULD_NOT_RUN, .log2_gap = NAN};
    probe p = {.d = d,
               .tab = d->m->terms,
               .pool = pool,
               .seed = seed,
               .bind = bind,
               .ctx = ctx,
               .evaluations = &o->loss_evaluations};
    const gradient **params = mem_zalloc(pool, (d->n + 1) * sizeof *params);
    for (size_t i = 0; i < d->n; i++)
        if (moved_jointly(d->g[i].of))
            params[o->nparams++] = &d->g[i];
    if (o->nparams == 0)
        return o;
    int attempt = 0;
    while (attempt < ORACLE_POINTS &&
           !measure(&p, params, o->nparams, attempt, POINT_INDEX + 2 * attempt + 1, &o->joint))
        attempt++;
    o->points = attempt < ORACLE_POINTS ? attempt + 1 : ORACLE_POINTS;
    if (o->joint.status == ORACLE_DIFFERS)
        localise(&p, o, attempt);
    return o;
}

const char *
oracle_status_code(oracle_status s)
{
    switch (s) {
    case ORACLE_AGREES:
        return "agrees";
    case ORACLE_DIFFERS:
        return "differs";
    case ORACLE_NOT_RUN:
        return "not_run";
    case ORACLE_COULD_NOT_RUN:
        break;
    }
    return "could_not_run";
}

/* "2^-190", a power of two the gap is below (the JSON's log2_gap -190.4
   is 2^-190, not 2^-191), or "0" for no gap at all. */
static void
gap_words(text *t, double log2_gap)
{
    if (isinf(log2_gap) && log2_gap < 0)
        text_puts(t, "0");
    else
        text_printf(t, "2^%.0f", ceil(log2_gap));
}

const char *
oracle_words(const oracle_result *o, mem_pool *pool)
{
    const char *J = o->d->m->loss->name;
    text t;
    text_init(&t, pool);
    if (o->nparams == 0)
        return "nothing to compare: the loss depends on no param";
    if (o->joint.status != ORACLE_DIFFERS) {
        text_printf(&t, "the derived gradients of the %zu param%s ", o->nparams,
                    o->nparams == 1 ? "" : "s");
        if (o->joint.status == ORACLE_AGREES) {
            text_printf(
                &t, "agree with the central difference of %s along one random direction to ", J);
            gap_words(&t, o->joint.log2_gap);
            text_printf(&t, " (MPFR, %d bits)", ORACLE_BITS);
        } else
            text_printf(
                &t,
                "could not be compared with the central difference of %s (%d random point%s): %s",
                J, o->points, o->points == 1 ? "" : "s", o->joint.why);
        return text_str(&t);
    }
    size_t wrong = 0;
    const oracle_gradient *shown = NULL;
    for (size_t i = 0; i < o->d->n; i++) {
        const oracle_gradient *a = &o->alone[i];
        if (a->check.status != ORACLE_DIFFERS || !moved_jointly(a->g->of))
            continue;
        text_printf(&t, "%sd%s", wrong++ == 0 ? "the derived " : ", ", a->g->of->name);
        if (shown == NULL)
            shown = a;
    }
    if (shown != NULL)
        text_printf(&t,
                    " %s not the derivative of %s (along a random direction U: sum(d%s * U) = "
                    "%.10g, the central difference of %s %.10g)",
                    wrong == 1 ? "is" : "are", J, shown->g->of->name, shown->check.sum, J,
                    shown->check.central);
    else
        text_printf(&t,
                    "the derived gradients are not the derivative of %s (along one random "
                    "direction U over the %zu params: the sum of sum(dV * U_V) = %.10g, the "
                    "central difference of %s %.10g; no gradient alone was found wrong)",
                    J, o->nparams, o->joint.sum, J, o->joint.central);
    text_printf(&t, ": a rule %s unsound", wrong == 1 ? "it uses is" : "they use is");
    if (o->nsuspects == 0)
        text_puts(&t, " (derivcheck rules --verify may say which)");
    for (size_t k = 0; k < o->nsuspects; k++) {
        const rule *r = o->suspects[k];
        text_printf(&t, "%s %s", k ? "," : ":", r->name);
        if (r->file != NULL)
            text_printf(&t, " (%s:%d)", r->file, r->line);
    }
    const char *sep = ", through ";
    for (size_t i = 0; i < o->d->n; i++)
        if (o->alone[i].first && !moved_jointly(o->alone[i].g->of)) {
            text_printf(&t, "%sd%s", sep, o->alone[i].g->of->name);
            sep = ", ";
        }
    return text_str(&t);
}
