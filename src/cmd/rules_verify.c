/* rules_verify.c: rules --verify: every rule checked at random points, in MPFR and by finite
 * differences. */
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "cmd/rules_verify.h"

#include "lang/print.h"
#include "num/eval.h"
#include "num/sample.h"

enum {
    SHAPE_TRIES = 400, /* shape draws for one point before the rule is said not to fit */
    DOMAIN_TRIES = 4,  /* draws of one point (all but the first positive) before it is given up */
    NDIMS = 4,         /* the literal 1 and three symbolic dims */
    RATIONAL_BITS = 16 /* values are n / d with d of this many bits: ties have probability ~0 */
};

static const long dim_sizes[NDIMS] = {1, 2, 3, 4};
static const char *const dim_names[NDIMS] = {"1", "n2", "n3", "n4"};

/* A pattern variable of the rule, and what it stands for at the point. */
typedef struct variable {
    const symbol *var;
    label_assumption label; /* onehot(x), binary(x), prob(x): a label of that kind */
    int rows;               /* onehot_rows(x), prob_rows(x): its rows are the examples */
    int scalar;             /* scalar(x): rank 0 */
    int matrix;             /* matrix(x): rank 2 */
    int constant;           /* const(x): a rational constant */
    int code;               /* this draw's shape: rank * 16 + d0 * 4 + d1 */
    symbol *sym;            /* the concrete symbol; NULL for a constant */
    const term *t;          /* what the variable is bound to */
    value *val;             /* its exact values; NULL for a constant */
} variable;

typedef enum outcome {
    POINT_OK,
    POINT_FAIL,      /* the rule is refuted; the report says where */
    POINT_NONFINITE, /* a side is NaN or infinite: draw again */
    POINT_KINK,      /* f is not differentiable near the point: draw again */
    POINT_NOFIT,     /* no shapes fit */
    POINT_UNDECIDED, /* a gap, but not shown to be more than rounding: draw again */
    POINT_ERROR,     /* the evaluator could not compute a side (why), or memory ran out */
} outcome;

typedef struct verifier {
    const rule_set *rs;
    long prec;
    text *report;
    /* one rule's random numbers */
    gmp_randstate_t rng;
    int rng_live;
    variable vars[MATCH_MAX];
    int nvars;
    variable *input; /* adjoint rules: the variable a of da */
    int seen[RULES_VERIFY_DISTINCT_SHAPES][MATCH_MAX];
    int nseen;
    int nonfinite, kinks, undecided; /* draws skipped, and why */
    /* one point's terms and values, all in POOL; point_end frees them */
    mem_pool *pool;
    model *scratch;
    symbol *dims[NDIMS];        /* [0] unused: the literal 1 */
    evaluator *exact, *fr, *fi; /* fi: intervals, to confirm a rewrite's difference */
    match m;
    const term *lhs, *rhs; /* rewrite: both sides; adjoint: f(...) and the formula */
    symbol *G, *V;
    value *g_val, *v_val;
    /* numbers owned here, cleared by rules_verify */
    mpfr_t x, y, diff, bound, sum, scale, fd, fd2;
    mpfr_t moved_size, absum; /* adjoint: the largest sum(|G * f(a + khV)|), what rounding
                                 scales with, and one such sum */
    mpq_t q;
    char why[512];    /* why a side could not be evaluated */
    dc_status status; /* DC_ENOMEM when that was a want of memory (why unset) */
} verifier;

/* ---------------------------------------------------------------- seeds */

/* The index of a rule's stream: its name hashed (FNV-1a), so that a
   rule's points depend on the run's seed and its name, not on its place in
   the rule base. */
static unsigned long
rule_index(const char *name)
{
    uint64_t h = 0xcbf29ce484222325u;
    for (const char *c = name; *c; c++)
        h = (h ^ (unsigned char)*c) * 0x100000001b3u;
    return (unsigned long)h;
}

static unsigned long
uniform(verifier *v, unsigned long n)
{
    return gmp_urandomm_ui(v->rng, n);
}

/* A random rational in (1/4, 4) with a 16-bit denominator, negative half
   the time unless POSITIVE. */
static void
random_rational(verifier *v, mpq_t q, int positive)
{
    unsigned long den = (1ul << RATIONAL_BITS) + uniform(v, 1ul << RATIONAL_BITS);
    unsigned long num = (1ul << (RATIONAL_BITS - 1)) +
                        uniform(v, (1ul << (RATIONAL_BITS + 2)) - (1ul << (RATIONAL_BITS - 1)));
    long sign = positive || uniform(v, 2) ? 1 : -1;
    mpq_set_si(q, sign * (long)num, den);
    mpq_canonicalize(q);
}

/* ---------------------------------------------------------------- variables */

static void
collect_variables(verifier *v, const term *t)
{
    if (t->op == OP_SYM) {
        for (int i = 0; i < v->nvars; i++)
            if (v->vars[i].var == t->sym)
                return;
        if (v->nvars < MATCH_MAX - 2) /* room for C and G */
            v->vars[v->nvars++].var = t->sym;
        return;
    }
    for (unsigned i = 0; i < t->nargs; i++)
        collect_variables(v, t->args[i]);
}

/* The pattern variables of R and what its conditions make of them. */
static void
rule_variables(verifier *v, const rule *r)
{
    memset(v->vars, 0, sizeof v->vars);
    v->nvars = 0;
    v->input = NULL;
    collect_variables(v, r->lhs);
    for (int i = 0; i < v->nvars; i++) {
        variable *x = &v->vars[i];
        for (int k = 0; k < r->ncond; k++) {
            if (r->cond[k].var != x->var)
                continue;
            switch (r->cond[k].pred) {
            case PRED_ONEHOT:
                x->label = LABEL_ONEHOT;
                break;
            case PRED_BINARY:
                x->label = LABEL_BINARY;
                break;
            case PRED_PROB:
                x->label = LABEL_PROB;
                break;
            case PRED_SCALAR:
                x->scalar = 1;
                break;
            case PRED_CONST:
                x->constant = 1;
                break;
            case PRED_MATRIX:
                x->matrix = 1;
                break;
            case PRED_ONEHOT_ROWS:
                x->label = LABEL_ONEHOT;
                x->rows = x->matrix = 1;
                break;
            case PRED_PROB_ROWS:
                x->label = LABEL_PROB;
                x->rows = x->matrix = 1;
                break;
            }
        }
        if (r->kind == RULE_ADJOINT && x->var == r->input)
            v->input = x;
    }
}

/* ---------------------------------------------------------------- one point's terms */

static void
point_end(verifier *v)
{
    eval_free(v->fi);
    eval_free(v->fr);
    eval_free(v->exact);
    v->fi = v->fr = v->exact = NULL;
    if (v->scratch != NULL)
        model_free(v->scratch); /* and its pool */
    else
        mem_pool_free(v->pool);
    v->scratch = NULL;
    v->pool = NULL;
}

/* A fresh scratch model for a point, its pool landing allocation failures
   on OOM. Returns 0 when not even a pool can be had. */
static int
point_begin(verifier *v, jmp_buf *oom)
{
    v->pool = mem_pool_new();
    if (v->pool == NULL)
        return 0;
    mem_pool_on_oom(v->pool, oom);
    v->scratch = model_new(v->pool);
    for (int i = 1; i < NDIMS; i++) {
        symbol *d = mem_zalloc(v->pool, sizeof *d);
        d->name = dim_names[i];
        d->kind = SYM_DIM;
        d->shape = shape_scalar;
        d->value = dim_sizes[i];
        v->dims[i] = d;
    }
    return 1;
}

static dim
dim_of(const verifier *v, int k)
{
    return k == 0 ? dim_literal(1) : dim_symbol(v->dims[k]);
}

static symbol *
new_symbol(verifier *v, const char *name, symbol_kind kind, const shape *s)
{
    symbol *sym = mem_zalloc(v->pool, sizeof *sym);
    sym->name = name;
    sym->kind = kind;
    sym->shape = *s;
    return sym;
}

/* Random shapes (and constants) for the variables, bound in v->m; both
   sides built. Returns 0 when they do not fit. */
static int
build_draw(verifier *v, const rule *r, int positive)
{
    term_table *tab = v->scratch->terms;
    char why[SHAPE_WHY];
    memset(&v->m, 0, sizeof v->m);
    for (int i = 0; i < v->nvars; i++) {
        variable *x = &v->vars[i];
        x->sym = NULL;
        x->val = NULL;
        if (x->constant) {
            random_rational(v, v->q, positive);
            x->t = term_const(tab, v->q);
            x->code = 0;
        } else {
            int rank = x->scalar ? 0 : x->matrix ? 2 : (int)uniform(v, 3);
            shape s = shape_scalar;
            s.rank = rank;
            int d[2] = {0, 0};
            for (int k = 0; k < rank; k++) {
                d[k] = (int)uniform(v, NDIMS);
                s.d[k] = dim_of(v, d[k]);
            }
            x->code = rank * 16 + d[0] * 4 + d[1];
            x->sym = new_symbol(v, x->var->name, x->label != LABEL_ANY ? SYM_LABEL : SYM_INPUT, &s);
            x->sym->label = x->label;
            x->sym->class_axis = x->rows;
            x->t = term_symbol(tab, x->sym);
        }
        match_bind(&v->m, x->var, x->t);
    }
    if (!rule_conditions_hold(r, &v->m, NULL))
        return 0;
    v->lhs = rule_instantiate(tab, r->lhs, &v->m, why);
    if (v->lhs == NULL)
        return 0;
    if (r->kind == RULE_REWRITE) {
        /* as rewriting does: the replacement keeps its place's shape */
        v->rhs = rule_instantiate(tab, r->rhs, &v->m, why);
        if (v->rhs != NULL && !shape_equal(&v->rhs->shape, &v->lhs->shape))
            v->rhs = term_broadcast(tab, v->rhs, &v->lhs->shape, -1, why);
        return v->rhs != NULL;
    }
    v->G = new_symbol(v, "G", SYM_INPUT, &v->lhs->shape);
    match_bind(&v->m, r->output, v->lhs); /* C: the real output */
    match_bind(&v->m, v->rs->G, term_symbol(tab, v->G));
    v->rhs = rule_instantiate(tab, r->rhs, &v->m, why);
    return v->rhs != NULL;
}

static int
seen_before(const verifier *v)
{
    for (int s = 0; s < v->nseen; s++) {
        int same = 1;
        for (int i = 0; i < v->nvars && same; i++)
            same = v->seen[s][i] == v->vars[i].code;
        if (same)
            return 1;
    }
    return 0;
}

static void
remember_shapes(verifier *v)
{
    if (v->nseen == RULES_VERIFY_DISTINCT_SHAPES || seen_before(v))
        return;
    for (int i = 0; i < v->nvars; i++)
        v->seen[v->nseen][i] = v->vars[i].code;
    v->nseen++;
}

/* A fitting draw, on shapes not seen before when WANT_NEW and the first
   half of the tries find one. */
static int
pick_draw(verifier *v, const rule *r, int want_new, int positive)
{
    for (int k = 0; k < SHAPE_TRIES; k++)
        if (build_draw(v, r, positive) && !(want_new && k < SHAPE_TRIES / 2 && seen_before(v)))
            return 1;
    return 0;
}

/* ---------------------------------------------------------------- values */

/* A zero value of S's numeric shape, exact. */
static value *
new_value(verifier *v, const shape *s)
{
    long n[2] = {1, 1};
    for (int k = 0; k < s->rank; k++)
        n[k] = s->d[k].sym != NULL ? s->d[k].sym->value : s->d[k].n;
    long rows = s->rank == 2 ? n[0] : 1, cols = s->rank == 2 ? n[1] : s->rank == 1 ? n[0] : 1;
    return eval_new_value(v->exact, s->rank, rows, cols);
}

static void
fill_random(verifier *v, value *val, int positive)
{
    for (long i = 0; i < val->rows; i++)
        for (long j = 0; j < val->cols; j++)
            random_rational(v, *eval_q(val, i, j), positive);
}

/* A prob label's weight: random_rational's positive draw, CTX the
   verifier (whose stream RNG is). */
static void
label_weight(mpq_t q, gmp_randstate_t rng, void *ctx)
{
    (void)rng;
    random_rational(ctx, q, 1);
}

/* Values for every variable of the draw, and for G and V of an adjoint. */
static void
draw_values(verifier *v, const rule *r, int positive)
{
    for (int i = 0; i < v->nvars; i++) {
        variable *x = &v->vars[i];
        if (x->sym == NULL)
            continue;
        x->val = new_value(v, &x->sym->shape);
        if (x->label == LABEL_ANY)
            fill_random(v, x->val, positive);
        else
            sample_label(x->val, x->label, x->rows, v->rng, label_weight, v);
    }
    if (r->kind != RULE_ADJOINT)
        return;
    v->g_val = new_value(v, &v->G->shape);
    fill_random(v, v->g_val, 0);
    v->v_val = new_value(v, &v->V->shape);
    fill_random(v, v->v_val, 0);
}

/* Every value of the point bound in EV. */
static void
bind_all(verifier *v, evaluator *ev)
{
    for (int i = 0; i < v->nvars; i++)
        if (v->vars[i].sym != NULL)
            eval_bind(ev, v->vars[i].sym, v->vars[i].val);
    if (v->G != NULL)
        eval_bind(ev, v->G, v->g_val);
    if (v->V != NULL)
        eval_bind(ev, v->V, v->v_val);
}

static int
all_finite(const value *val)
{
    for (long i = 0; i < val->rows; i++)
        for (long j = 0; j < val->cols; j++)
            if (!mpfr_number_p(*eval_fr(val, i, j)))
                return 0;
    return 1;
}

/* ---------------------------------------------------------------- the report */

static void
put_number(text *out, const mpfr_t x)
{
    char buf[64];
    mpfr_snprintf(buf, sizeof buf, "%.10Rg", x);
    text_puts(out, buf);
}

/* "a[n2, 1] = [[0.5], [-1.25]]": values to 6 digits (the seed gives them
   exactly). */
static void
put_value(text *out, const char *name, const shape *s, const value *val)
{
    text_puts(out, name);
    if (s->rank > 0)
        shape_print(out, s);
    text_puts(out, " = ");
    if (val->rank == 2)
        text_putc(out, '[');
    for (long i = 0; i < val->rows; i++) {
        text_puts(out, i > 0 ? ", " : "");
        if (val->rank > 0)
            text_putc(out, '[');
        for (long j = 0; j < val->cols; j++)
            text_printf(out, "%s%.6g", j > 0 ? ", " : "", mpq_get_d(*eval_q(val, i, j)));
        if (val->rank > 0)
            text_putc(out, ']');
    }
    if (val->rank == 2)
        text_putc(out, ']');
}

/* The point's values: every variable, then G and V of an adjoint. */
static void
put_point(verifier *v, text *out)
{
    for (int i = 0; i < v->nvars; i++) {
        const variable *x = &v->vars[i];
        text_puts(out, i > 0 ? ", " : "");
        if (x->sym == NULL)
            text_printf(out, "%s = %.6g (a constant)", x->var->name, mpq_get_d(x->t->value));
        else
            put_value(out, x->var->name, &x->sym->shape, x->val);
    }
    if (v->G != NULL) {
        text_puts(out, ", ");
        put_value(out, "G", &v->G->shape, v->g_val);
        text_puts(out, ", ");
        put_value(out, "V", &v->V->shape, v->v_val);
    }
}

static void
put_rule_head(verifier *v, const rule *r, const char *status)
{
    text_printf(v->report, "%-4s %s (%s:%d): ", status, r->name, r->file, r->line);
}

/* "dZ = G * C" for an adjoint, or the pattern. */
static void
put_sides(text *out, const rule *r)
{
    if (r->kind == RULE_REWRITE) {
        print_term(out, r->lhs);
        text_puts(out, " and ");
        print_term(out, r->rhs);
        return;
    }
    text_printf(out, "d%s = ", r->input->name);
    print_term(out, r->rhs);
    text_printf(out, " and the central difference of %s = ", r->output->name);
    print_term(out, r->lhs);
}

/* ---------------------------------------------------------------- checks */

/* T in EV into *OUT; 0 with v->why and v->status when it cannot be. */
static int
evaluate_in(verifier *v, evaluator *ev, const term *t, const value **out)
{
    if (eval_term(ev, t, out, v->why, sizeof v->why))
        return 1;
    v->status = eval_status(ev);
    return 0;
}

static int
evaluate(verifier *v, const term *t, const value **out)
{
    return evaluate_in(v, v->fr, t, out);
}

/* Whether interval arithmetic (MPFI) shows the rewrite's two sides apart
   at entry (I, J) of the point: their difference's enclosure, at the
   verifier's precision and then at four times it, excludes 0. 1 when it
   does (a rigorous witness), 0 when no enclosure does, -1 when a side
   cannot be evaluated (v->why). Sets *BITS to the last precision tried. */
static int
enclosure_excludes_zero(verifier *v, long i, long j, long *bits)
{
    for (*bits = v->prec; *bits <= 4 * v->prec; *bits *= 4) {
        eval_free(v->fi);
        v->fi = eval_new(v->pool, NUMBER_INTERVAL, *bits);
        bind_all(v, v->fi);
        const value *lv, *rv;
        if (!evaluate_in(v, v->fi, v->lhs, &lv) || !evaluate_in(v, v->fi, v->rhs, &rv))
            return -1;
        mpfi_t d;
        mpfi_init2(d, (mpfr_prec_t)*bits);
        mpfi_sub(d, *eval_fi(lv, i, j), *eval_fi(rv, i, j));
        int excludes = !mpfi_nan_p(d) && !mpfi_has_zero(d);
        mpfi_clear(d);
        if (excludes)
            return 1;
    }
    *bits /= 4;
    return 0;
}

static outcome
check_rewrite(verifier *v, const rule *r)
{
    const value *lv, *rv;
    bind_all(v, v->fr);
    if (!evaluate(v, v->lhs, &lv) || !evaluate(v, v->rhs, &rv))
        return POINT_ERROR;
    if (!all_finite(lv) || !all_finite(rv))
        return POINT_NONFINITE;
    if (lv->rows != rv->rows || lv->cols != rv->cols) {
        snprintf(v->why, sizeof v->why, "the two sides have different sizes");
        return POINT_ERROR;
    }
    /* the largest input: a side that cancels to 0 (x - log(exp(x))) is
       computed to within the rounding of its inputs, not of its value */
    mpfr_set_ui(v->scale, 0, MPFR_RNDN);
    for (int k = 0; k < v->nvars; k++)
        for (long e = 0; v->vars[k].val != NULL && e < v->vars[k].val->rows * v->vars[k].val->cols;
             e++) {
            mpfr_set_q(v->x,
                       *eval_q(v->vars[k].val, e / v->vars[k].val->cols, e % v->vars[k].val->cols),
                       MPFR_RNDN);
            mpfr_abs(v->x, v->x, MPFR_RNDN);
            mpfr_max(v->scale, v->scale, v->x, MPFR_RNDN);
        }
    for (long i = 0; i < lv->rows; i++)
        for (long j = 0; j < lv->cols; j++) {
            const mpfr_t *a = (const mpfr_t *)eval_fr(lv, i, j);
            const mpfr_t *b = (const mpfr_t *)eval_fr(rv, i, j);
            mpfr_sub(v->diff, *a, *b, MPFR_RNDN);
            mpfr_abs(v->diff, v->diff, MPFR_RNDN);
            mpfr_abs(v->x, *a, MPFR_RNDN);
            mpfr_abs(v->y, *b, MPFR_RNDN);
            mpfr_max(v->bound, v->x, v->y, MPFR_RNDN);
            mpfr_max(v->bound, v->bound, v->scale, MPFR_RNDN);
            mpfr_mul_2si(v->bound, v->bound, -(v->prec - 56), MPFR_RNDN);
            if (mpfr_cmp(v->diff, v->bound) <= 0)
                continue;
            /* a gap in MPFR is a difference only once an enclosure shows it:
               cancellation inside a side can leave rounding that large */
            long bits;
            int shown = enclosure_excludes_zero(v, i, j, &bits);
            if (shown < 0)
                return POINT_ERROR;
            if (!shown)
                return POINT_UNDECIDED;
            put_rule_head(v, r, "FAIL");
            put_sides(v->report, r);
            text_puts(v->report, " differ at ");
            put_point(v, v->report);
            if (lv->rows * lv->cols > 1)
                text_printf(v->report, ": entry [%ld, %ld] is ", i, j);
            else
                text_puts(v->report, ": ");
            put_number(v->report, *a);
            text_puts(v->report, " and ");
            put_number(v->report, *b);
            text_printf(v->report,
                        " (an interval enclosure of the difference, at %ld bits, excludes 0)\n",
                        bits);
            return POINT_FAIL;
        }
    return POINT_OK;
}

/* sum(G * f(...)) with the input moved by STEPS * h * V (h = 2^-(prec/4)),
   into OUT; 0 when it is not finite, -1 on an evaluation error. */
static int
weighted_output(verifier *v, int steps, mpfr_t out)
{
    const value *a = v->input->val;
    value *moved = eval_new_value(v->exact, a->rank, a->rows, a->cols);
    for (long i = 0; i < a->rows; i++)
        for (long j = 0; j < a->cols; j++) {
            mpq_set_si(v->q, steps, 1);
            mpq_mul(v->q, v->q, *eval_q(v->v_val, i, j));
            mpq_div_2exp(v->q, v->q, (mp_bitcnt_t)(v->prec / 4));
            mpq_add(*eval_q(moved, i, j), *eval_q(a, i, j), v->q);
        }
    eval_bind(v->fr, v->input->sym, moved);
    const value *c;
    if (!evaluate(v, v->lhs, &c))
        return -1;
    mpfr_set_ui(out, 0, MPFR_RNDN);
    mpfr_set_ui(v->absum, 0, MPFR_RNDN);
    for (long i = 0; i < c->rows; i++)
        for (long j = 0; j < c->cols; j++) {
            mpfr_set_q(v->x, *eval_q(v->g_val, i, j), MPFR_RNDN);
            mpfr_mul(v->x, v->x, *eval_fr(c, i, j), MPFR_RNDN);
            mpfr_add(out, out, v->x, MPFR_RNDN);
            mpfr_abs(v->x, v->x, MPFR_RNDN);
            mpfr_add(v->absum, v->absum, v->x, MPFR_RNDN);
        }
    if (mpfr_number_p(v->absum))
        mpfr_max(v->moved_size, v->moved_size, v->absum, MPFR_RNDN);
    return mpfr_number_p(out) != 0;
}

/* The central difference (S(k) - S(-k)) / 2kh of S(k) = sum(G * f(a + khV))
   into OUT; as weighted_output returns. */
static int
central_difference(verifier *v, int k, mpfr_t out)
{
    int plus = weighted_output(v, k, out);
    if (plus <= 0)
        return plus;
    int minus = weighted_output(v, -k, v->y);
    if (minus <= 0)
        return minus;
    mpfr_sub(out, out, v->y, MPFR_RNDN);
    mpfr_mul_2si(out, out, v->prec / 4 - 1, MPFR_RNDN);
    mpfr_div_si(out, out, k, MPFR_RNDN);
    return 1;
}

/* |X - Y| <= 2^-BITS * max(|X|, |Y|, SCALE), with v->x and v->y as
   scratch. */
static int
agree(verifier *v, const mpfr_t x, const mpfr_t y, const mpfr_t scale, long bits)
{
    mpfr_sub(v->diff, x, y, MPFR_RNDN);
    mpfr_abs(v->diff, v->diff, MPFR_RNDN);
    mpfr_abs(v->bound, x, MPFR_RNDN);
    mpfr_max(v->bound, v->bound, scale, MPFR_RNDN);
    mpfr_abs(v->y, y, MPFR_RNDN);
    mpfr_max(v->bound, v->bound, v->y, MPFR_RNDN);
    mpfr_mul_2si(v->bound, v->bound, -bits, MPFR_RNDN);
    return mpfr_cmp(v->diff, v->bound) <= 0;
}

/* F, the adjoint's formula, with G bound to VAL, in a new MPFR evaluator
   that *EV receives (the caller frees it); 0 with v->why when it cannot
   be evaluated. */
static int
formula_at(verifier *v, const value *val, evaluator **ev, const value **out)
{
    *ev = eval_new(v->pool, NUMBER_MPFR, v->prec);
    bind_all(v, *ev);
    eval_bind(*ev, v->G, val);
    return evaluate_in(v, *ev, v->rhs, out);
}

/* For a rule claimed linear in G: F(x G + y G2) against x F(G) + y F(G2)
   for a second random G2 and random x, y, entry by entry. A gap within
   2^-(PREC-56) of the entries' size is rounding; one above 2^-(PREC/2) of
   it is a failure (rounding in a formula of a few operations is far
   below); in between the point is drawn again. F is the value F(G) that
   check_adjoint computed. */
static outcome
check_linear(verifier *v, const rule *r, const value *f)
{
    if (!r->linear_claimed)
        return POINT_OK;
    value *g2 = new_value(v, &v->G->shape), *g3 = new_value(v, &v->G->shape);
    fill_random(v, g2, 0);
    mpq_t x, y;
    mpq_inits(x, y, (mpq_ptr)NULL);
    random_rational(v, x, 0);
    random_rational(v, y, 0);
    for (long i = 0; i < g3->rows; i++)
        for (long j = 0; j < g3->cols; j++) {
            mpq_mul(v->q, x, *eval_q(v->g_val, i, j));
            mpq_mul(*eval_q(g3, i, j), y, *eval_q(g2, i, j));
            mpq_add(*eval_q(g3, i, j), *eval_q(g3, i, j), v->q);
        }
    evaluator *e2 = NULL, *e3 = NULL;
    const value *f2, *f3;
    outcome o = POINT_OK;
    if (!formula_at(v, g2, &e2, &f2) || !formula_at(v, g3, &e3, &f3))
        o = POINT_ERROR;
    else if (!all_finite(f2) || !all_finite(f3))
        o = POINT_NONFINITE;
    for (long i = 0; o == POINT_OK && i < f->rows; i++)
        for (long j = 0; o == POINT_OK && j < f->cols; j++) {
            /* x F(G) + y F(G2) into v->sum, its size into v->scale */
            mpfr_mul_q(v->sum, *eval_fr(f, i, j), x, MPFR_RNDN);
            mpfr_abs(v->scale, v->sum, MPFR_RNDN);
            mpfr_mul_q(v->x, *eval_fr(f2, i, j), y, MPFR_RNDN);
            mpfr_add(v->sum, v->sum, v->x, MPFR_RNDN);
            mpfr_abs(v->x, v->x, MPFR_RNDN);
            mpfr_add(v->scale, v->scale, v->x, MPFR_RNDN);
            const mpfr_t *at = (const mpfr_t *)eval_fr(f3, i, j);
            if (agree(v, *at, v->sum, v->scale, v->prec - 56))
                continue;
            if (agree(v, *at, v->sum, v->scale, v->prec / 2)) {
                o = POINT_UNDECIDED;
                break;
            }
            put_rule_head(v, r, "FAIL");
            text_printf(v->report, "d%s = ", r->input->name);
            print_term(v->report, r->rhs);
            text_puts(v->report, " is claimed linear in G but is not: at ");
            put_point(v, v->report);
            text_puts(v->report, ", ");
            put_value(v->report, "G2", &v->G->shape, g2);
            text_puts(v->report, ", x = ");
            mpfr_set_q(v->x, x, MPFR_RNDN);
            put_number(v->report, v->x);
            text_puts(v->report, ", y = ");
            mpfr_set_q(v->x, y, MPFR_RNDN);
            put_number(v->report, v->x);
            if (f->rows * f->cols > 1)
                text_printf(v->report, ": entry [%ld, %ld] of", i, j);
            else
                text_puts(v->report, ":");
            text_printf(v->report, " d%s(x G + y G2) is ", r->input->name);
            put_number(v->report, *at);
            text_printf(v->report, ", x d%s(G) + y d%s(G2) is ", r->input->name, r->input->name);
            put_number(v->report, v->sum);
            text_putc(v->report, '\n');
            o = POINT_FAIL;
        }
    eval_free(e2);
    eval_free(e3);
    mpq_clears(x, y, (mpq_ptr)NULL);
    return o;
}

static outcome
check_adjoint(verifier *v, const rule *r)
{
    bind_all(v, v->fr);
    mpfr_set_ui(v->moved_size, 0, MPFR_RNDN);
    const value *c, *f;
    if (!evaluate(v, v->lhs, &c) || !evaluate(v, v->rhs, &f))
        return POINT_ERROR;
    if (!all_finite(c) || !all_finite(f))
        return POINT_NONFINITE;
    outcome linear = check_linear(v, r, f);
    if (linear != POINT_OK)
        return linear;
    /* the formula's side: sum(F * V), and the sum of |F * V| as the scale
       that cancellation is measured against */
    mpfr_set_ui(v->sum, 0, MPFR_RNDN);
    mpfr_set_ui(v->scale, 0, MPFR_RNDN);
    for (long i = 0; i < f->rows; i++)
        for (long j = 0; j < f->cols; j++) {
            mpfr_set_q(v->x, *eval_q(v->v_val, i, j), MPFR_RNDN);
            mpfr_mul(v->x, v->x, *eval_fr(f, i, j), MPFR_RNDN);
            mpfr_add(v->sum, v->sum, v->x, MPFR_RNDN);
            mpfr_abs(v->x, v->x, MPFR_RNDN);
            mpfr_add(v->scale, v->scale, v->x, MPFR_RNDN);
        }
    /* central differences with steps h and 2h: where they disagree, f has
       a kink or a jump within 2h (relu near 0, a step near its threshold)
       and the point is drawn again; else Richardson's (4 D(h) - D(2h)) / 3
       cancels the h^2 term, so precisions as low as 64 bits stay clear of
       truncation error */
    int ok = central_difference(v, 1, v->fd);
    ok = ok > 0 ? central_difference(v, 2, v->fd2) : ok;
    if (ok < 0)
        return POINT_ERROR;
    if (ok == 0)
        return POINT_NONFINITE;
    if (!agree(v, v->fd, v->fd2, v->scale, v->prec / 8))
        return POINT_KINK;
    mpfr_mul_2si(v->fd, v->fd, 2, MPFR_RNDN);
    mpfr_sub(v->fd, v->fd, v->fd2, MPFR_RNDN);
    mpfr_div_ui(v->fd, v->fd, 3, MPFR_RNDN);
    if (agree(v, v->fd, v->sum, v->scale, v->prec / 3))
        return POINT_OK;
    /* a failure needs a gap far above what rounding leaves in the
       difference quotient, about 2^-P sum(|G * f|) / h = 2^-(3P/4) of it:
       at least 2^-(P/2) sum(|G * f|) */
    mpfr_sub(v->diff, v->fd, v->sum, MPFR_RNDN);
    mpfr_abs(v->diff, v->diff, MPFR_RNDN);
    mpfr_mul_2si(v->bound, v->moved_size, -(v->prec / 2), MPFR_RNDN);
    if (mpfr_cmp(v->diff, v->bound) <= 0)
        return POINT_UNDECIDED;
    put_rule_head(v, r, "FAIL");
    put_sides(v->report, r);
    text_puts(v->report, " differ at ");
    put_point(v, v->report);
    text_printf(v->report, ": sum(d%s * V) = ", r->input->name);
    put_number(v->report, v->sum);
    text_puts(v->report, ", the central difference ");
    put_number(v->report, v->fd);
    text_putc(v->report, '\n');
    return POINT_FAIL;
}

/* An adjoint's formula must have its input's shape, or the gradient it
   gives has the wrong shape. */
static outcome
check_gradient_shape(verifier *v, const rule *r)
{
    if (v->input->sym == NULL) {
        put_rule_head(v, r, "FAIL");
        text_printf(v->report, "the input %s is a constant (const(%s)): nothing to perturb\n",
                    r->input->name, r->input->name);
        return POINT_FAIL;
    }
    if (shape_equal(&v->rhs->shape, &v->input->sym->shape))
        return POINT_OK;
    put_rule_head(v, r, "FAIL");
    text_printf(v->report, "d%s = ", r->input->name);
    print_term(v->report, r->rhs);
    text_puts(v->report, " has shape ");
    shape_print(v->report, &v->rhs->shape);
    text_printf(v->report, " where %s is ", r->input->name);
    shape_print(v->report, &v->input->sym->shape);
    text_puts(v->report, ", at ");
    for (int i = 0; i < v->nvars; i++) {
        const variable *x = &v->vars[i];
        text_printf(v->report, "%s%s", i > 0 ? ", " : "", x->var->name);
        if (x->sym != NULL)
            shape_print(v->report, &x->sym->shape);
    }
    text_putc(v->report, '\n');
    return POINT_FAIL;
}

/* One point of R: shapes, values, the check. A draw where a side is not
   finite (or f is not differentiable, or a gap is not shown to be more
   than rounding) is counted and drawn again, with positive values; after
   DOMAIN_TRIES the point is given up (POINT_NONFINITE). */
static outcome
check_point(verifier *v, const rule *r, int want_new, jmp_buf *oom)
{
    for (int attempt = 0; attempt < DOMAIN_TRIES; attempt++) {
        int positive = attempt > 0;
        point_end(v);
        if (!point_begin(v, oom)) {
            v->status = DC_ENOMEM;
            return POINT_ERROR;
        }
        v->G = v->V = NULL;
        if (!pick_draw(v, r, want_new, positive))
            return POINT_NOFIT;
        if (r->kind == RULE_ADJOINT) {
            outcome o = check_gradient_shape(v, r);
            if (o != POINT_OK)
                return o;
            v->V = new_symbol(v, "V", SYM_INPUT, &v->input->sym->shape);
        }
        v->exact = eval_new(v->pool, NUMBER_EXACT, 0);
        v->fr = eval_new(v->pool, NUMBER_MPFR, v->prec);
        draw_values(v, r, positive);
        outcome o = r->kind == RULE_REWRITE ? check_rewrite(v, r) : check_adjoint(v, r);
        if (o == POINT_OK)
            remember_shapes(v);
        if (o == POINT_NONFINITE)
            v->nonfinite++;
        else if (o == POINT_KINK)
            v->kinks++;
        else if (o == POINT_UNDECIDED)
            v->undecided++;
        else
            return o;
    }
    return POINT_NONFINITE;
}

/* The "ok" line's tail: how many draws were skipped, and why. */
static void
put_skipped(verifier *v)
{
    if (v->nonfinite > 0)
        text_printf(v->report, ", %d draw%s skipped (a side not finite)", v->nonfinite,
                    v->nonfinite > 1 ? "s" : "");
    if (v->kinks > 0)
        text_printf(v->report, ", %d draw%s skipped (not differentiable there)", v->kinks,
                    v->kinks > 1 ? "s" : "");
    if (v->undecided > 0)
        text_printf(v->report, ", %d draw%s skipped (a gap not shown to exceed rounding)",
                    v->undecided, v->undecided > 1 ? "s" : "");
}

/* Verdicts of check_rule. */
enum { RULE_ERROR = -1, RULE_REFUTED = 0, RULE_HOLDS = 1, RULE_NOT_RUN = 2 };

/* The line of a rule that could not be checked at any point: neither ok
   nor failed. */
static void
put_not_run(verifier *v, const rule *r, const char *why)
{
    put_rule_head(v, r, "n/a");
    text_printf(v->report, "could not run: %s", why);
    put_skipped(v);
    text_putc(v->report, '\n');
}

/* Check R at max(SAMPLES, 3) points and write its line. Returns
   RULE_HOLDS, RULE_REFUTED (a witnessed difference), RULE_NOT_RUN (no
   shapes fit, a side cannot be evaluated, or no point could be checked) or
   RULE_ERROR when memory ran out. */
static int
check_rule(verifier *v, const rule *r, unsigned long seed, int samples, jmp_buf *oom)
{
    sample_stream_init(v->rng, seed, rule_index(r->name));
    v->rng_live = 1;
    rule_variables(v, r);
    v->nseen = v->nonfinite = v->kinks = v->undecided = 0;
    int npoints = samples > RULES_VERIFY_DISTINCT_SHAPES ? samples : RULES_VERIFY_DISTINCT_SHAPES;
    int points = 0, fitted = 0, result = RULE_HOLDS;
    for (int k = 0; k < npoints && result == RULE_HOLDS; k++) {
        outcome o = check_point(v, r, k < RULES_VERIFY_DISTINCT_SHAPES, oom);
        point_end(v);
        if (o == POINT_OK)
            points++;
        else if (o == POINT_FAIL)
            result = RULE_REFUTED;
        else if (o == POINT_ERROR && v->status == DC_ENOMEM)
            result = RULE_ERROR;
        else if (o == POINT_ERROR) {
            put_not_run(v, r, v->why);
            result = RULE_NOT_RUN;
        } else if (o == POINT_NOFIT && !fitted) {
            char why[64];
            snprintf(why, sizeof why, "no shapes fit (%d random draws)", SHAPE_TRIES);
            put_not_run(v, r, why);
            result = RULE_NOT_RUN;
        }
        fitted |= o != POINT_NOFIT;
    }
    if (result == RULE_HOLDS && points == 0) {
        put_not_run(v, r, "no point where the check can be made");
        result = RULE_NOT_RUN;
    }
    if (result == RULE_HOLDS) {
        put_rule_head(v, r, "ok");
        text_printf(v->report, "%d points", points);
        if (r->linear_claimed)
            text_puts(v->report, r->linear ? ", linear in G at each (and by its structure)"
                                           : ", linear in G at each (but not by its structure: "
                                             "prove does not rest on it)");
        put_skipped(v);
        text_putc(v->report, '\n');
    }
    gmp_randclear(v->rng);
    v->rng_live = 0;
    return result;
}

/* Every rule, with allocation failures (in the report's pool or a point's)
   landing here. Returns the failures, or -1 when memory ran out; the rules
   that could not be checked at any point into *UNRUN. */
static int
check_all(verifier *v, unsigned long seed, int samples, int *unrun)
{
    jmp_buf oom;
    jmp_buf *outer = mem_pool_on_oom(v->report->pool, &oom);
    if (setjmp(oom)) {
        mem_pool_on_oom(v->report->pool, outer);
        v->status = DC_ENOMEM;
        return -1;
    }
    int failed = 0, rules = 0;
    *unrun = 0;
    for (size_t i = 0; i < v->rs->n && failed >= 0; i++) {
        int verdict = check_rule(v, &v->rs->rules[i], seed, samples, &oom);
        if (verdict == RULE_ERROR)
            failed = -1;
        else {
            failed += verdict == RULE_REFUTED;
            *unrun += verdict == RULE_NOT_RUN;
            rules++;
        }
    }
    if (failed >= 0) {
        text_printf(v->report, "%d rules: %d ok, %d failed", rules, rules - failed - *unrun,
                    failed);
        if (*unrun > 0)
            text_printf(v->report, ", %d could not run", *unrun);
        text_printf(v->report, " (seed %lu, %d points each, %ld bits)\n", seed,
                    samples > RULES_VERIFY_DISTINCT_SHAPES ? samples : RULES_VERIFY_DISTINCT_SHAPES,
                    v->prec);
    }
    mem_pool_on_oom(v->report->pool, outer);
    return failed;
}

int
rules_verify(const rule_set *rs, unsigned long seed, int samples, long prec, text *report,
             int *unrun, dc_error *err, mem_pool *err_pool)
{
    *unrun = 0;
    if (prec == 0)
        prec = RULES_VERIFY_DEFAULT_PREC;
    if (samples < RULES_VERIFY_MIN_SAMPLES || samples > RULES_VERIFY_MAX_SAMPLES) {
        diag_plain(err, err_pool, DC_ELIMIT,
                   "%d samples: the number of samples must be from %d "
                   "to %d",
                   samples, RULES_VERIFY_MIN_SAMPLES, RULES_VERIFY_MAX_SAMPLES);
        return -1;
    }
    if (prec < RULES_VERIFY_MIN_PREC || prec > RULES_VERIFY_MAX_PREC) {
        diag_plain(err, err_pool, DC_ELIMIT,
                   "%ld bits: the precision must be from %d to %d "
                   "bits",
                   prec, RULES_VERIFY_MIN_PREC, RULES_VERIFY_MAX_PREC);
        return -1;
    }
    verifier v;
    memset(&v, 0, sizeof v);
    v.rs = rs;
    v.prec = prec;
    v.report = report;
    mpfr_inits2((mpfr_prec_t)(prec + 64), v.x, v.y, v.diff, v.bound, v.sum, v.scale, v.fd, v.fd2,
                v.moved_size, v.absum, (mpfr_ptr)NULL);
    mpq_init(v.q);
    int failed = check_all(&v, seed, samples, unrun);
    /* after an allocation failure, the point and the stream in flight */
    point_end(&v);
    if (v.rng_live)
        gmp_randclear(v.rng);
    mpfr_clears(v.x, v.y, v.diff, v.bound, v.sum, v.scale, v.fd, v.fd2, v.moved_size, v.absum,
                (mpfr_ptr)NULL);
    mpq_clear(v.q);
    if (failed < 0) {
        mem_failed();
        diag_oom(err);
    }
    return failed;
}
