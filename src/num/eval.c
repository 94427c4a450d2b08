/* eval.c: the evaluator walk over terms, the values it holds, and the API; see eval.h. */
#include "num/eval_impl.h"

#include <errno.h>
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

const value *
eval_fail(evaluator *ev, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(ev->why, sizeof ev->why, fmt, ap);
    va_end(ap);
    return NULL;
}

/* ---------------------------------------------------------------- values */

/* Where a value's entries start in its block: after the header, aligned. */
enum {
    HELD_HEAD =
        (sizeof(held) + _Alignof(max_align_t) - 1) / _Alignof(max_align_t) * _Alignof(max_align_t)
};

/* A new value of EV's kind with every entry 0, on the list under ROLE. The
   sizes must have been checked. The allocation comes first, so a jump out
   of it leaves no number uncleared. */
held *
eval_held_new(evaluator *ev, held_role role, int rank, long rows, long cols)
{
    size_t n = (size_t)rows * (size_t)cols, size = ev->ar->size, limbs = ev->limb_bytes;
    size_t bytes = SIZE_MAX; /* too big for any pool: reported as out of memory */
    if (limbs <= (SIZE_MAX - HELD_HEAD) / n - size)
        bytes = HELD_HEAD + n * (size + limbs);
    held *h = mem_alloc(ev->pool, bytes);
    char *entries = (char *)h + HELD_HEAD, *limb = entries + n * size;
    for (size_t k = 0; k < n; k++)
        ev->ar->init(entries + k * size, limb + k * limbs, ev->prec);
    h->v.rank = rank;
    h->v.rows = rows;
    h->v.cols = cols;
    h->v.kind = ev->ar->kind;
    h->v.entries = entries;
    h->role = role;
    h->kept = 0;
    h->owners = 0;
    h->prev = &ev->live;
    h->next = ev->live.next;
    ev->live.next->prev = h;
    ev->live.next = h;
    return h;
}

void
eval_held_drop(evaluator *ev, held *h)
{
    h->prev->next = h->next;
    h->next->prev = h->prev;
    if (ev->ar->clear != NULL)
        for (long k = 0; k < h->v.rows * h->v.cols; k++)
            ev->ar->clear(element(ev, &h->v, k));
    mem_release(ev->pool, h);
}

/* Whether RANK, ROWS and COLS describe a value: rank 0 is 1x1, rank 1 one
   row, and at most EVAL_MAX_ENTRIES entries. */
static int
sizes_fit(int rank, long rows, long cols)
{
    if (rank < 0 || rank > 2 || rows < 1 || cols < 1)
        return 0;
    if ((rank == 0 && (rows != 1 || cols != 1)) || (rank == 1 && rows != 1))
        return 0;
    return rows <= EVAL_MAX_ENTRIES && cols <= EVAL_MAX_ENTRIES / rows;
}

/* ---------------------------------------------------------------- sizes */

/* The size of D into *N; 0 when it has none, with *SET saying whether it
   came from eval_set_dim. */
static int
dim_lookup(const evaluator *ev, dim d, long *n, int *set)
{
    *set = 0;
    if (d.sym == NULL) {
        *n = d.n;
        return 1;
    }
    *n = d.sym->value;
    for (size_t i = 0; i < ev->ndims; i++)
        if (ev->dims[i].sym == d.sym) {
            *n = ev->dims[i].n;
            *set = 1;
        }
    return *n >= 1;
}

/* The numeric size of D into *N, or 0 with the reason. */
static int
dim_size_of(evaluator *ev, dim d, long *n)
{
    int set;
    if (dim_lookup(ev, d, n, &set))
        return 1;
    if (set)
        eval_fail(ev, "the dim '%s' is set to %ld; a size must be at least 1", d.sym->name, *n);
    else
        eval_fail(ev, "the dim '%s' has no numeric size; give it one (dims %s = N)", d.sym->name,
                  d.sym->name);
    return 0;
}

/* The numeric rows and cols of shape S (rank 1 [n] is 1 x n), or 0 with
   the reason. */
int
eval_shape_sizes(evaluator *ev, const shape *s, long *rows, long *cols)
{
    long d0 = 1, d1 = 1;
    if (s->rank >= 1 && !dim_size_of(ev, s->d[0], &d0))
        return 0;
    if (s->rank == 2 && !dim_size_of(ev, s->d[1], &d1))
        return 0;
    *rows = s->rank == 2 ? d0 : 1;
    *cols = s->rank == 2 ? d1 : s->rank == 1 ? d0 : 1;
    if (!sizes_fit(s->rank, *rows, *cols)) {
        eval_fail(ev, "a %ld x %ld value has more entries than the cap of %d", *rows, *cols,
                  EVAL_MAX_ENTRIES);
        return 0;
    }
    return 1;
}

/* Whether shapes A and B have the same numeric sizes, both known; reports
   nothing (the evaluation reports what is wrong when it gets there). */
int
eval_same_sizes(const evaluator *ev, const shape *a, const shape *b)
{
    long n[2][2];
    const shape *s[2] = {a, b};
    for (int k = 0; k < 2; k++) {
        long d0 = 1, d1 = 1;
        int set;
        if ((s[k]->rank >= 1 && !dim_lookup(ev, s[k]->d[0], &d0, &set)) ||
            (s[k]->rank == 2 && !dim_lookup(ev, s[k]->d[1], &d1, &set)))
            return 0;
        n[k][0] = s[k]->rank == 2 ? d0 : 1;
        n[k][1] = s[k]->rank == 2 ? d1 : d0;
    }
    return n[0][0] == n[1][0] && n[0][1] == n[1][1];
}

/* A result of T's shape, or NULL with the reason. Its entries are not set. */
held *
eval_result_new(evaluator *ev, const term *t)
{
    long rows, cols;
    if (!eval_shape_sizes(ev, &t->shape, &rows, &cols))
        return NULL;
    return eval_held_new(ev, HELD_RESULT, t->shape.rank, rows, cols);
}

/* "[n_h, m]" for a symbolic shape and "[4, 8]" for a value's sizes, in
   messages. */
static const char *
shape_words(const shape *s, char *buf, size_t size)
{
    const char *a = s->d[0].sym ? s->d[0].sym->name : NULL;
    const char *b = s->d[1].sym ? s->d[1].sym->name : NULL;
    char x[24], y[24];
    snprintf(x, sizeof x, "%ld", s->d[0].n);
    snprintf(y, sizeof y, "%ld", s->d[1].n);
    if (s->rank == 0)
        snprintf(buf, size, "scalar");
    else if (s->rank == 1)
        snprintf(buf, size, "[%s]", a ? a : x);
    else
        snprintf(buf, size, "[%s, %s]", a ? a : x, b ? b : y);
    return buf;
}

const char *
eval_value_words(int rank, long rows, long cols, char *buf, size_t size)
{
    if (rank == 0)
        snprintf(buf, size, "scalar");
    else if (rank == 1)
        snprintf(buf, size, "[%ld]", cols);
    else
        snprintf(buf, size, "[%ld, %ld]", rows, cols);
    return buf;
}

/* ---------------------------------------------------------------- operations */

/* Softmax of the LEN entries first, first + step, ... of A into R (the same
   places; R may be A). Double code subtracts the slice's max first, so that
   exp cannot overflow; MPFR computes exp(z) / sum(exp(z)) as written. */
static void
softmax_slice(const evaluator *ev, value *r, const value *a, long first, long step, long len)
{
    const arith *ar = ev->ar;
    void *max = scratch(ev, SCRATCH_T1), *sum = scratch(ev, SCRATCH_T2);
    if (ar->shift_softmax) {
        ar->set(max, element(ev, a, first));
        for (long k = 1; k < len; k++)
            if (ar->gt(element(ev, a, first + k * step), max))
                ar->set(max, element(ev, a, first + k * step));
    }
    for (long k = 0; k < len; k++) {
        void *e = element(ev, r, first + k * step);
        if (ar->shift_softmax) {
            ar->sub(e, element(ev, a, first + k * step), max);
            ar->exp(e, e);
        } else
            ar->exp(e, element(ev, a, first + k * step));
    }
    ar->set(sum, element(ev, r, first));
    for (long k = 1; k < len; k++)
        ar->add(sum, sum, element(ev, r, first + k * step));
    for (long k = 0; k < len; k++)
        ar->div(element(ev, r, first + k * step), element(ev, r, first + k * step), sum);
}

static const value *
softmax(evaluator *ev, const term *t)
{
    long rows, cols;
    if (!kernel_can_compute(ev, t->op))
        return NULL;
    const value *a = eval_walk(ev, t->args[0]);
    if (a == NULL || !eval_shape_sizes(ev, &t->shape, &rows, &cols))
        return NULL;
    if (a->rows != rows || a->cols != cols)
        return eval_fail(ev, "internal error: softmax of a value of another size");
    held *r = plan_take_over(ev, t->args[0], 1, rows, cols);
    if (r == NULL)
        r = eval_held_new(ev, HELD_RESULT, t->shape.rank, rows, cols);
    r->v.rank = t->shape.rank;
    if (t->args[0]->shape.rank == 2 && t->aux == 0) /* down each column */
        for (long j = 0; j < cols; j++)
            softmax_slice(ev, &r->v, a, j, cols, rows);
    else /* along each row; a 1-D value is one row */
        for (long i = 0; i < rows; i++)
            softmax_slice(ev, &r->v, a, i * cols, 1, cols);
    return &r->v;
}
static const value *
transpose(evaluator *ev, const term *t)
{
    const value *a = eval_walk(ev, t->args[0]);
    held *r = a ? eval_result_new(ev, t) : NULL;
    if (r == NULL)
        return NULL;
    if (r->v.rows * r->v.cols != a->rows * a->cols)
        return eval_fail(ev, "internal error: transpose of a value of another size");
    /* entry (i, j) is a's (j, i); a 1-D or scalar value is its own
       transpose, as in NumPy */
    view w = a->rank == 2 ? (view){a, 1, a->cols} : (view){a, a->cols, 1};
    for (long i = 0; i < r->v.rows; i++)
        for (long j = 0; j < r->v.cols; j++)
            ev->ar->set(element(ev, &r->v, i * r->v.cols + j), view_at(ev, &w, i, j));
    return &r->v;
}

/* Reduce LEN entries of A from FIRST by STEP, left to right, into R with
   COMBINE (R = R + entry for a sum, R = max(R, entry) for np.max). */
static void
reduce_run(const evaluator *ev, void (*combine)(void *r, const void *a, const void *b), void *r,
           const value *a, long first, long step, long len)
{
    ev->ar->set(r, element(ev, a, first));
    for (long k = 1; k < len; k++)
        combine(r, r, element(ev, a, first + k * step));
}

/* A sum (or np.max: OP_MAX, which NaN makes NaN, as NumPy's) over axis 0
   (down columns), 1 (along rows) or every entry (-1). Whatever keepdims
   says, the results lie in the same row-major order. */
static const value *
reduce(evaluator *ev, const term *t)
{
    const value *a = eval_walk(ev, t->args[0]);
    held *r = a ? eval_result_new(ev, t) : NULL;
    if (r == NULL)
        return NULL;
    void (*combine)(void *, const void *, const void *) =
        t->op == OP_MAX ? ev->ar->max : ev->ar->add;
    int along_rows = t->aux == 1 || (t->aux == 0 && t->args[0]->shape.rank < 2);
    long n = r->v.rows * r->v.cols;
    if (t->aux < 0 && n == 1)
        reduce_run(ev, combine, element(ev, &r->v, 0), a, 0, 1, a->rows * a->cols);
    else if (along_rows && n == a->rows)
        for (long i = 0; i < a->rows; i++)
            reduce_run(ev, combine, element(ev, &r->v, i), a, i * a->cols, 1, a->cols);
    else if (t->aux == 0 && !along_rows && n == a->cols)
        for (long j = 0; j < a->cols; j++)
            reduce_run(ev, combine, element(ev, &r->v, j), a, j, a->cols, a->rows);
    else
        return eval_fail(ev, "internal error: %s to a value of the wrong size",
                         term_op_name(t->op));
    return &r->v;
}

/* ARG repeated to T's shape: the inverse of a sum over axis t->aux, or
   NumPy's broadcasting when aux is -1 or the sum kept its dims. */
static const value *
broadcast(evaluator *ev, const term *t)
{
    const value *a = eval_walk(ev, t->args[0]);
    held *r = a ? eval_result_new(ev, t) : NULL;
    if (r == NULL)
        return NULL;
    view w;
    int arg_rank = t->args[0]->shape.rank;
    if (t->aux < 0 || arg_rank == t->shape.rank) {
        if (!kernel_broadcast_view(ev, &w, a, r->v.rows, r->v.cols))
            return NULL;
    } else if (t->shape.rank == 2 && arg_rank == 1) {
        /* axis 0 removed: a[j] fills column j; axis 1 removed: a[i] fills row i */
        w = t->aux == 0 ? (view){a, 0, 1} : (view){a, 1, 0};
        if (a->cols != (t->aux == 0 ? r->v.cols : r->v.rows))
            return eval_fail(ev, "internal error: broadcast of a [%ld] value along axis %d",
                             a->cols, t->aux);
    } else {
        w = (view){a, 0, 0};
        if (a->rows * a->cols != 1)
            return eval_fail(ev, "internal error: broadcast of a non-scalar to a vector");
    }
    for (long i = 0; i < r->v.rows; i++)
        for (long j = 0; j < r->v.cols; j++)
            ev->ar->set(element(ev, &r->v, i * r->v.cols + j), view_at(ev, &w, i, j));
    return &r->v;
}

static const value *
constant(evaluator *ev, const term *t)
{
    held *r = eval_held_new(ev, HELD_RESULT, 0, 1, 1);
    ev->ar->set_q(element(ev, &r->v, 0), t->value);
    return &r->v;
}

/* ---------------------------------------------------------------- the walk */

binding *
eval_find_binding(const evaluator *ev, const symbol *sym)
{
    for (size_t i = 0; i < ev->nbindings; i++)
        if (ev->bindings[i].sym == sym)
            return &ev->bindings[i];
    return NULL;
}

/* The value bound to S, checked against S's shape in numeric sizes. */
static const value *
bound_value(evaluator *ev, const symbol *s, const binding *b)
{
    if (b->problem == BIND_MALFORMED)
        return eval_fail(ev, "the value bound to '%s' is malformed (its rank and sizes disagree)",
                         s->name);
    if (b->problem == BIND_NONFINITE)
        return eval_fail(ev,
                         "the value bound to '%s' has a NaN or infinite entry, which exact "
                         "evaluation cannot hold",
                         s->name);
    long rows, cols;
    if (!eval_shape_sizes(ev, &s->shape, &rows, &cols))
        return NULL;
    const value *v = &b->h->v;
    if (v->rank != s->shape.rank || v->rows != rows || v->cols != cols) {
        char want[96], have[64], sizes[64];
        return eval_fail(ev, "the value bound to '%s' is %s, but '%s' is %s = %s", s->name,
                         eval_value_words(v->rank, v->rows, v->cols, have, sizeof have), s->name,
                         shape_words(&s->shape, want, sizeof want),
                         eval_value_words(s->shape.rank, rows, cols, sizes, sizeof sizes));
    }
    return v;
}

/* A symbol's value: a dim's numeric size, a binding, or a definition. */
static const value *
symbol_value(evaluator *ev, const term *t)
{
    const symbol *s = t->sym;
    const binding *b = eval_find_binding(ev, s);
    if (s->kind == SYM_DIM || s->kind == SYM_BATCH) {
        long n;
        if (b != NULL)
            return eval_fail(ev, "'%s' is a dim: give it a size with eval_set_dim, not a binding",
                             s->name);
        if (!dim_size_of(ev, dim_symbol(s), &n))
            return NULL;
        held *r = eval_held_new(ev, HELD_RESULT, 0, 1, 1);
        ev->ar->set_si(element(ev, &r->v, 0), n);
        return &r->v;
    }
    if (b != NULL)
        return bound_value(ev, s, b);
    if (s->definition != NULL) /* a definition, claim or derived gradient */
        return eval_walk(ev, s->definition);
    return eval_fail(ev, "no value for '%s'", s->name);
}

static const value *
compute(evaluator *ev, const term *t)
{
    if (kernel_is_elementwise(t->op))
        return kernel_elementwise(ev, t);
    switch (t->op) {
    case OP_CONST:
        return constant(ev, t);
    case OP_SYM:
        return symbol_value(ev, t);
    case OP_SOFTMAX:
        return softmax(ev, t);
    case OP_MATMUL:
        return kernel_matmul(ev, t);
    case OP_TRANSPOSE:
        return transpose(ev, t);
    case OP_SUM:
    case OP_MAX:
        return reduce(ev, t);
    case OP_BROADCAST:
        return broadcast(ev, t);
    default: /* rule templates, resolved before anything is evaluated */
        return eval_fail(ev, "cannot evaluate the operation %s (%d)", term_op_name(t->op),
                         (int)t->op);
    }
}

/* What a multiply-add costs at EV's kind and precision, in eval_estimate's
   units: once per 256 bits begun (MPFR, balls; an interval twice). */
static double
precision_weight(const evaluator *ev)
{
    number_kind kind = ev->ar->kind;
    if (kind == NUMBER_DOUBLE || kind == NUMBER_EXACT)
        return 1;
    return (double)((ev->prec + 255) / 256) * (kind == NUMBER_INTERVAL ? 2 : 1);
}

/* T's value: the one it has, or computed now; then the operands it was
   computed from have had one more use each. */
const value *
eval_walk(evaluator *ev, const term *t)
{
    const memo_slot *s = plan_find(ev, t);
    if (s != NULL && s->h != NULL)
        return &s->h->v;
    const value *v = compute(ev, t);
    if (v != NULL) {
        plan_remember(ev, t, v);
        plan_operands_used(ev, t);
        if (ev->progress != NULL)
            ev->progress(ev->progress_ctx, plan_term_work(ev, t) * precision_weight(ev));
    }
    return v;
}

/* ---------------------------------------------------------------- API */

evaluator *
eval_new(mem_pool *pool, number_kind kind, long prec_bits)
{
    const arith *ar = arith_of(kind);
    if (ar == NULL)
        return NULL;
    int precise = kind == NUMBER_MPFR || kind == NUMBER_INTERVAL || kind == NUMBER_BALL;
    if (precise && (prec_bits < MPFR_PREC_MIN || prec_bits > MPFR_PREC_MAX))
        return NULL;
    evaluator *ev = mem_zalloc(pool, sizeof *ev);
    ev->pool = pool;
    ev->ar = ar;
    ev->prec = precise ? prec_bits : 53;
    ev->limb_bytes = ar->limb_bytes(ev->prec);
    ev->live.prev = ev->live.next = &ev->live;
    if (ar->at_prec != NULL)
        ar->at_prec(ev->prec);
    ev->memo_size = 64;
    ev->memo = mem_zalloc(pool, ev->memo_size * sizeof *ev->memo);
    ev->scratch = eval_held_new(ev, HELD_SCRATCH, 1, 1, SCRATCH_COUNT);
    ar->set_si(scratch(ev, SCRATCH_ONE), 1);
    return ev;
}

void
eval_free(evaluator *ev)
{
    if (ev == NULL)
        return;
    while (ev->live.next != &ev->live)
        eval_held_drop(ev, ev->live.next);
    mem_release(ev->pool, ev->memo);
    mem_release(ev->pool, ev->plan);
    mem_release(ev->pool, ev->kernel);
    mem_release(ev->pool, ev->bindings);
    mem_release(ev->pool, ev->dims);
    mem_release(ev->pool, ev);
}

number_kind
eval_kind(const evaluator *ev)
{
    return ev->ar->kind;
}

void
eval_set_dim(evaluator *ev, const symbol *dim, long n)
{
    size_t i = 0;
    while (i < ev->ndims && ev->dims[i].sym != dim)
        i++;
    if (i == ev->ndims) {
        if (ev->ndims == ev->dims_cap) {
            size_t cap = ev->dims_cap ? 2 * ev->dims_cap : 8;
            ev->dims = mem_realloc(ev->pool, ev->dims, cap * sizeof *ev->dims);
            ev->dims_cap = cap;
        }
        ev->dims[ev->ndims++].sym = dim;
    }
    ev->dims[i].n = n;
    plan_invalidate(ev);
}

value *
eval_new_value(evaluator *ev, int rank, long rows, long cols)
{
    if (!sizes_fit(rank, rows, cols))
        return NULL;
    return &eval_held_new(ev, HELD_USER, rank, rows, cols)->v;
}

/* Entry (I, J) of V if V holds numbers of KIND and (I, J) is inside it. */
static void *
entry(const value *v, number_kind kind, long i, long j)
{
    if (v == NULL || v->kind != kind || i < 0 || j < 0 || i >= v->rows || j >= v->cols)
        return NULL;
    return (char *)v->entries + (size_t)(i * v->cols + j) * arith_of(kind)->size;
}

mpq_t *
eval_q(const value *v, long i, long j)
{
    return entry(v, NUMBER_EXACT, i, j);
}

mpfr_t *
eval_fr(const value *v, long i, long j)
{
    return entry(v, NUMBER_MPFR, i, j);
}

double *
eval_d(const value *v, long i, long j)
{
    return entry(v, NUMBER_DOUBLE, i, j);
}

mpfi_t *
eval_fi(const value *v, long i, long j)
{
    return entry(v, NUMBER_INTERVAL, i, j);
}

arb_ptr
eval_ball(const value *v, long i, long j)
{
    return entry(v, NUMBER_BALL, i, j);
}

/* The binding slot of SYM, made if new (with no value yet). */
static binding *
binding_slot(evaluator *ev, const symbol *sym)
{
    binding *b = eval_find_binding(ev, sym);
    if (b != NULL)
        return b;
    if (ev->nbindings == ev->bindings_cap) {
        size_t cap = ev->bindings_cap ? 2 * ev->bindings_cap : 16;
        ev->bindings = mem_realloc(ev->pool, ev->bindings, cap * sizeof *ev->bindings);
        ev->bindings_cap = cap;
    }
    b = &ev->bindings[ev->nbindings++];
    b->sym = sym;
    b->h = NULL;
    b->problem = BIND_MALFORMED;
    return b;
}

void
eval_bind(evaluator *ev, const symbol *sym, const value *v)
{
    binding *b = binding_slot(ev, sym);
    held *h = NULL;
    bind_problem problem = BIND_MALFORMED;
    int kind_ok = v != NULL && v->kind >= NUMBER_EXACT && v->kind <= NUMBER_BALL &&
                  (v->kind != NUMBER_INTERVAL || ev->ar->kind == NUMBER_INTERVAL) &&
                  (v->kind != NUMBER_BALL || ev->ar->kind == NUMBER_BALL);
    if (ev->ar->at_prec != NULL)
        ev->ar->at_prec(ev->prec);
    if (kind_ok && sizes_fit(v->rank, v->rows, v->cols)) {
        h = eval_held_new(ev, HELD_BINDING, v->rank, v->rows, v->cols);
        problem = BIND_OK;
        size_t size = arith_of(v->kind)->size;
        for (long k = 0; k < v->rows * v->cols; k++)
            if (!arith_convert(ev->ar, element(ev, &h->v, k), v->kind,
                               (const char *)v->entries + (size_t)k * size))
                problem = BIND_NONFINITE;
    }
    if (b->h != NULL)
        eval_held_drop(ev, b->h);
    b->h = h;
    b->problem = problem;
    plan_invalidate(ev);
}

int
eval_term(evaluator *ev, const term *t, const value **out, char *why, size_t whylen)
{
    jmp_buf oom;
    jmp_buf *outer = mem_pool_on_oom(ev->pool, &oom);
    ev->why[0] = '\0';
    ev->result = NULL;
    ev->status = DC_EINPUT;
    ev->epoch++;
    if (ev->ar->at_prec != NULL)
        ev->ar->at_prec(ev->prec);
    if (setjmp(oom) == 0) {
        plan_evaluation(ev, t);
        ev->result = eval_walk(ev, t);
    } else {
        mem_failed(); /* reported here, as a value */
        ev->result = NULL;
        ev->status = DC_ENOMEM;
        eval_fail(ev, "out of memory");
    }
    mem_pool_on_oom(ev->pool, outer);
    if (ev->result == NULL)
        plan_forget_transients(ev);
    if (ev->result == NULL) {
        if (why != NULL && whylen > 0)
            snprintf(why, whylen, "%s", ev->why);
        return 0;
    }
    *out = ev->result;
    ev->status = DC_OK;
    return 1;
}

dc_status
eval_status(const evaluator *ev)
{
    return ev->status;
}

int
eval_term_or_oom(evaluator *ev, const term *t, const value **out, char *why, size_t whylen)
{
    if (eval_term(ev, t, out, why, whylen))
        return 1;
    if (ev->status == DC_ENOMEM)
        mem_oom(ev->pool);
    return 0;
}

size_t
eval_live_entries(const evaluator *ev)
{
    size_t n = 0;
    for (const held *h = ev->live.next; h != &ev->live; h = h->next)
        if (h->role != HELD_SCRATCH)
            n += (size_t)(h->v.rows * h->v.cols);
    return n;
}

void
eval_set_progress(evaluator *ev, void (*progress)(void *ctx, double work), void *ctx)
{
    ev->progress = progress;
    ev->progress_ctx = ctx;
}

int
eval_term_sizes(evaluator *ev, const term *t, long *rows, long *cols)
{
    return eval_shape_sizes(ev, &t->shape, rows, cols);
}

int
eval_is_bound(const evaluator *ev, const symbol *sym)
{
    return eval_find_binding(ev, sym) != NULL;
}

/* ---------------------------------------------------------------- estimates and caps */

/* The bytes a heap block of SIZE bytes takes: glibc's malloc adds an
   8-byte size field and rounds up to 16, at least 32. A block GMP asks for
   (an exact rational's integers, an interval's endpoints) goes through
   mem.c, whose header (two links and a size, aligned to max_align_t) comes
   first; Arb's significands are FLINT's plain malloc. A quarter more for
   what malloc holds beside the blocks live (freed small blocks kept for
   reuse, arenas): without it, eval of logistic regression at n_x = m =
   4096 peaked 3% above the estimate. */
enum { POOL_BLOCK_HEADER = 32 };
static double
heap_block(double size)
{
    double chunk = 16 * ceil((size + 8) / 16);
    return 1.25 * (chunk < 32 ? 32 : chunk);
}

double
eval_entry_bytes(number_kind kind, long prec)
{
    double limbs = (double)((prec + GMP_NUMB_BITS - 1) / GMP_NUMB_BITS);
    switch (kind) {
    case NUMBER_DOUBLE:
        return sizeof(double);
    case NUMBER_MPFR: /* the significand is in the value's block (MPFR's custom interface) */
        return (double)(sizeof(__mpfr_struct) + mpfr_custom_get_size((mpfr_prec_t)prec));
    case NUMBER_INTERVAL:
        return (double)sizeof(__mpfi_struct) +
               2 * heap_block(POOL_BLOCK_HEADER + limbs * sizeof(mp_limb_t));
    case NUMBER_BALL: /* Arb keeps two limbs inside the struct */
        return (double)sizeof(arb_struct) + (limbs > 2 ? heap_block(limbs * sizeof(mp_limb_t)) : 0);
    case NUMBER_EXACT:
    default:
        return (double)sizeof(__mpq_struct) + 2 * heap_block(POOL_BLOCK_HEADER + sizeof(mp_limb_t));
    }
}

int
eval_estimate(evaluator *ev, const model *m, const term *const *roots, size_t n, eval_cost *cost)
{
    double entries = 0, scratch = 0, work = 0;
    if (!plan_estimate(ev, m, roots, n, &entries, &scratch, &work))
        return 0;
    number_kind kind = ev->ar->kind;
    /* a product in balls copies its operands into Arb's integer matrices */
    if (kind == NUMBER_BALL)
        entries += scratch;
    cost->bytes += entries * eval_entry_bytes(kind, ev->prec);
    cost->work += work * precision_weight(ev);
    return 1;
}

/* The cap in the environment variable ENV: FALLBACK when unset, else a
   whole number with an optional suffix K, M, G or T (powers of UNIT), from
   1 to CEILING; -1 with ERR filled when it is something else. */
static double
cap_from_env(const char *env, double fallback, double ceiling, double unit, dc_error *err,
             mem_pool *pool)
{
    const char *v = getenv(env);
    if (v == NULL || *v == '\0')
        return fallback;
    char *end;
    errno = 0;
    unsigned long long n = strtoull(v, &end, 10);
    double x = (double)n;
    const char *suffixes = "KMGT", *at = *end != '\0' ? strchr(suffixes, *end) : NULL;
    if (at != NULL) {
        for (const char *p = suffixes; p <= at; p++)
            x *= unit;
        end++;
    }
    if (errno == 0 && end != v && *v >= '0' && *v <= '9' && *end == '\0' && x >= 1 && x <= ceiling)
        return x;
    diag_plain(err, pool, DC_EINPUT,
               "%s takes a whole number from 1 to %.0f, with an optional suffix K, M, G or T "
               "(powers of %.0f), not '%s'",
               env, ceiling, unit, v);
    return -1;
}

int
eval_caps(eval_cost *caps, dc_error *err, mem_pool *pool)
{
    caps->bytes =
        cap_from_env(EVAL_MAX_MEMORY_ENV, EVAL_MAX_MEMORY, EVAL_CEILING_MEMORY, 1024, err, pool);
    caps->work = caps->bytes < 0 ? -1
                                 : cap_from_env(EVAL_MAX_WORK_ENV, EVAL_MAX_WORK, EVAL_CEILING_WORK,
                                                1000, err, pool);
    return caps->bytes > 0 && caps->work > 0;
}

/* BYTES in words: "5.4 GiB", "512 MiB". */
static const char *
bytes_words(double bytes, char *buf, size_t size)
{
    static const char *const units[] = {"bytes", "KiB", "MiB", "GiB", "TiB"};
    int u = 0;
    while (bytes >= 1024 && u < 4) {
        bytes /= 1024;
        u++;
    }
    snprintf(buf, size, "%.3g %s", bytes, units[u]);
    return buf;
}

int
eval_within_caps(const eval_cost *cost, const eval_cost *caps, const char *what,
                 const char *instead, dc_error *err, mem_pool *pool)
{
    char need[32], cap[32];
    if (cost->bytes > caps->bytes) {
        diag_plain(err, pool, DC_ELIMIT,
                   "%s would hold about %s of numbers at once, more than the cap of %s; "
                   "nothing was evaluated. %s raises the cap (e.g. %s=8G), or %s",
                   what, bytes_words(cost->bytes, need, sizeof need),
                   bytes_words(caps->bytes, cap, sizeof cap), EVAL_MAX_MEMORY_ENV,
                   EVAL_MAX_MEMORY_ENV, instead);
        return 0;
    }
    if (cost->work > caps->work) {
        diag_plain(err, pool, DC_ELIMIT,
                   "%s would take about %.2g multiply-adds, more than the cap of %.2g; "
                   "nothing was evaluated. %s raises the cap (e.g. %s=1T), or %s",
                   what, cost->work, caps->work, EVAL_MAX_WORK_ENV, EVAL_MAX_WORK_ENV, instead);
        return 0;
    }
    return 1;
}
