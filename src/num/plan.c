/* plan.c: the memo of term values, the plan of an evaluation, and when each value is released. */
#include "num/eval_impl.h"

#include <string.h>

/* ---------------------------------------------------------------- memo */

/* T's slot, or NULL. */
memo_slot *
plan_find(const evaluator *ev, const term *t)
{
    size_t mask = ev->memo_size - 1;
    for (size_t i = t->hash & mask;; i = (i + 1) & mask) {
        if (ev->memo[i].t == t)
            return &ev->memo[i];
        if (ev->memo[i].t == NULL)
            return NULL;
    }
}

static memo_slot *
memo_insert(memo_slot *slots, size_t size, const memo_slot *s)
{
    size_t i = s->t->hash & (size - 1);
    while (slots[i].t != NULL)
        i = (i + 1) & (size - 1);
    slots[i] = *s;
    return &slots[i];
}

/* T's slot, made empty if T has none. Growing the memo moves every slot:
   a slot pointer is good only until the next call. */
static memo_slot *
memo_slot_of(evaluator *ev, const term *t)
{
    memo_slot *s = plan_find(ev, t);
    if (s != NULL)
        return s;
    if (2 * (ev->memo_count + 1) > ev->memo_size) {
        size_t size = 2 * ev->memo_size;
        memo_slot *slots = mem_zalloc(ev->pool, size * sizeof *slots);
        for (size_t i = 0; i < ev->memo_size; i++)
            if (ev->memo[i].t != NULL)
                memo_insert(slots, size, &ev->memo[i]);
        mem_release(ev->pool, ev->memo);
        ev->memo = slots;
        ev->memo_size = size;
    }
    ev->memo_count++;
    return memo_insert(ev->memo, ev->memo_size, &(memo_slot){.t = t});
}

/* T's slot if the running evaluation plan_current it. */
memo_slot *
plan_current(const evaluator *ev, const term *t)
{
    memo_slot *s = plan_find(ev, t);
    return s != NULL && s->epoch == ev->epoch ? s : NULL;
}

int
plan_is_inlined(const evaluator *ev, const term *t)
{
    const memo_slot *s = plan_current(ev, t);
    return s != NULL && s->inlined;
}

/* ---------------------------------------------------------------- planning */

/* Before an evaluation computes anything, it plans: it counts how many
   times each term of the DAG below the root will be used, so that a value
   can be released the moment its last use is made, and it decides which
   terms need no value of their own:

   - an elementwise term used once, by an elementwise term of the same
     sizes or as the left operand of a matrix product, is inlined: its
     entries are computed inside its consumer's kernel (elementwise) or one
     row at a time (the product), never stored whole;
   - a transpose used once by a matrix product is read through a view.

   What outlives the evaluation: the root (eval_term's contract), and the
   value of a named definition that something other than another
   definition uses. A definition used only to define others (Z1, used only
   by A1 = tanh(Z1)) is a stage of those, which are kept instead; a later
   evaluation that names it computes it again. */

/* Whether T is a symbol whose value is its definition's. */
static int
through_definition(const evaluator *ev, const term *t)
{
    const symbol *s = t->sym;
    return t->op == OP_SYM && s->kind != SYM_DIM && s->kind != SYM_BATCH && s->definition != NULL &&
           eval_find_binding(ev, s) == NULL;
}

/* The terms T's value is computed from, into *OPS; their number. */
static unsigned
operands_of(const evaluator *ev, const term *t, const term *const **ops)
{
    if (t->op == OP_SYM) {
        *ops = &t->sym->definition;
        return through_definition(ev, t);
    }
    *ops = t->args;
    return t->op == OP_CONST ? 0 : t->nargs;
}

static void
push_term(evaluator *ev, const term *t)
{
    if (ev->plan_len == ev->plan_cap) {
        size_t cap = ev->plan_cap ? 2 * ev->plan_cap : 64;
        ev->plan = mem_realloc(ev->pool, ev->plan, cap * sizeof *ev->plan);
        ev->plan_cap = cap;
    }
    ev->plan[ev->plan_len++] = t;
}

/* Count a use of T by CONSUMER (NULL for the caller), and plan T's
   operands the first time T is met, unless it has a value already. */
static void
count_use(evaluator *ev, const term *t, const term *consumer)
{
    memo_slot *s = memo_slot_of(ev, t);
    int first = s->epoch != ev->epoch;
    if (first)
        *s = (memo_slot){.t = t, .h = s->h, .epoch = ev->epoch};
    if (consumer != NULL) {
        s->pending++;
        s->consumer = consumer;
    }
    if (!first || s->h != NULL)
        return;
    push_term(ev, t);
    const term *const *ops;
    unsigned n = operands_of(ev, t, &ops);
    for (unsigned i = 0; i < n; i++)
        count_use(ev, ops[i], t);
    if (t->op == OP_SYM && n == 1)
        memo_slot_of(ev, ops[0])->def_top = 1;
}

/* Whether T, used once and only by CONSUMER, can be computed inside it. */
static int
can_inline(const evaluator *ev, const term *t, const term *consumer)
{
    if (t->op == OP_TRANSPOSE)
        return consumer->op == OP_MATMUL;
    if (!kernel_is_elementwise(t->op))
        return 0;
    if (consumer->op == OP_MATMUL)
        return consumer->args[0] == t;
    return kernel_is_elementwise(consumer->op) && eval_same_sizes(ev, &t->shape, &consumer->shape);
}

/* Plan the evaluation of ROOT. Every term plan_current has a slot, so the
   memo_slot_of calls below find slots rather than make them. */
void
plan_evaluation(evaluator *ev, const term *root)
{
    ev->plan_len = 0;
    count_use(ev, root, NULL);
    memo_slot_of(ev, root)->keep = 1;
    for (size_t k = 0; k < ev->plan_len; k++) {
        const term *t = ev->plan[k];
        const term *const *ops;
        int named_stage = memo_slot_of(ev, t)->def_top;
        unsigned n = operands_of(ev, t, &ops);
        for (unsigned i = 0; i < n; i++)
            if (!named_stage && through_definition(ev, ops[i]))
                memo_slot_of(ev, ops[i])->keep = 1;
    }
    for (size_t k = 0; k < ev->plan_len; k++) {
        memo_slot *s = memo_slot_of(ev, ev->plan[k]);
        if (s->pending == 1 && !s->keep && can_inline(ev, s->t, s->consumer))
            s->inlined = 1;
    }
}

/* T now has the value V. */
void
plan_remember(evaluator *ev, const term *t, const value *v)
{
    memo_slot *s = memo_slot_of(ev, t);
    held *h = (held *)v;
    s->h = h;
    if (h->role == HELD_RESULT) {
        h->owners++;
        h->kept |= s->keep;
    }
}

/* A value of S that may be released: a result not kept. */
static held *
transient(const memo_slot *s)
{
    return s->h != NULL && s->h->role == HELD_RESULT && !s->h->kept ? s->h : NULL;
}

/* T's operands have been used (by T, or by what T is inlined into): any
   whose last use this was gives its value back. */
void
plan_operands_used(evaluator *ev, const term *t)
{
    const term *const *ops;
    unsigned n = operands_of(ev, t, &ops);
    for (unsigned i = 0; i < n; i++) {
        memo_slot *s = plan_current(ev, ops[i]);
        if (s == NULL)
            continue;
        if (s->inlined)
            plan_operands_used(ev, ops[i]);
        held *h = transient(s);
        if (--s->pending == 0 && h != NULL) {
            s->h = NULL;
            if (--h->owners == 0)
                eval_held_drop(ev, h);
        }
    }
}

/* The value of T, an operand whose last use is the running one (its USES
   uses among the running operation's operands), taken over to become the
   result of ROWS x COLS: the operation then computes in place. NULL when
   it is not free to take. */
held *
plan_take_over(evaluator *ev, const term *t, long uses, long rows, long cols)
{
    memo_slot *s = plan_current(ev, t);
    held *h = s != NULL ? transient(s) : NULL;
    if (h == NULL || s->pending != uses || h->owners != 1 || h->v.rows != rows || h->v.cols != cols)
        return NULL;
    s->h = NULL;
    h->owners = 0;
    return h;
}

/* After a failed evaluation: release every value that is not kept. */
void
plan_forget_transients(evaluator *ev)
{
    for (size_t i = 0; i < ev->memo_size; i++)
        if (transient(&ev->memo[i]) != NULL)
            ev->memo[i].h = NULL;
    for (held *h = ev->live.next, *next; h != &ev->live; h = next) {
        next = h->next;
        if (h->role == HELD_RESULT && !h->kept)
            eval_held_drop(ev, h);
    }
}

/* Forget every result of eval_term: their values and the memo. */
void
plan_invalidate(evaluator *ev)
{
    for (held *h = ev->live.next, *next; h != &ev->live; h = next) {
        next = h->next;
        if (h->role == HELD_RESULT)
            eval_held_drop(ev, h);
    }
    memset(ev->memo, 0, ev->memo_size * sizeof *ev->memo);
    ev->memo_count = 0;
}

/* ---------------------------------------------------------------- estimates */

/* A set of terms (open addressing by hash), so that a term the plans of
   several roots share is counted once, as its kept value is. */
typedef struct term_set {
    const term **slot;
    size_t size, count;
} term_set;

/* Whether T is new to SET (then added). */
static int
set_add(evaluator *ev, term_set *set, const term *t)
{
    if (2 * (set->count + 1) > set->size) {
        term_set big = {mem_zalloc(ev->pool, 2 * set->size * sizeof *big.slot), 2 * set->size,
                        set->count};
        for (size_t i = 0; i < set->size; i++)
            if (set->slot[i] != NULL) {
                size_t k = set->slot[i]->hash & (big.size - 1);
                while (big.slot[k] != NULL)
                    k = (k + 1) & (big.size - 1);
                big.slot[k] = set->slot[i];
            }
        mem_release(ev->pool, set->slot);
        *set = big;
    }
    size_t k = t->hash & (set->size - 1);
    for (; set->slot[k] != NULL; k = (k + 1) & (set->size - 1))
        if (set->slot[k] == t)
            return 0;
    set->slot[k] = t;
    set->count++;
    return 1;
}

/* Whether OP costs EVAL_TRANSCENDENTAL_WORK per entry. */
static int
transcendental(term_op op)
{
    switch (op) {
    case OP_EXP:
    case OP_LOG:
    case OP_TANH:
    case OP_SIGMOID:
    case OP_POW:
    case OP_SQRT:
    case OP_LOG1P:
    case OP_SOFTMAX:
        return 1;
    default:
        return 0;
    }
}

/* The multiply-adds of computing T, of ENTRIES entries (eval.h's weights,
   before the precision's); 0 with the reason when an operand's sizes are
   unknown. */
static int
term_work(evaluator *ev, const term *t, double entries, double *work)
{
    long rows, cols;
    if (t->op == OP_MATMUL || t->op == OP_SUM || t->op == OP_MAX) {
        if (!eval_shape_sizes(ev, &t->args[0]->shape, &rows, &cols))
            return 0;
        /* a product's inner size is its left operand's columns ([k] is 1 x k) */
        *work = t->op == OP_MATMUL ? entries * (double)cols : (double)rows * (double)cols;
        return 1;
    }
    *work = transcendental(t->op) ? entries * EVAL_TRANSCENDENTAL_WORK : entries;
    return 1;
}

double
plan_term_work(evaluator *ev, const term *t)
{
    long rows, cols;
    double w = 0;
    if (!eval_shape_sizes(ev, &t->shape, &rows, &cols) ||
        !term_work(ev, t, (double)rows * (double)cols, &w))
        return 0;
    return w;
}

int
plan_estimate(evaluator *ev, const model *m, const term *const *roots, size_t n, double *entries,
              double *scratch, double *work)
{
    long rows, cols;
    int ok = 1;
    for (size_t i = 0; m != NULL && i < m->nsymbols && ok; i++) {
        const symbol *s = m->symbols[i];
        if (s->kind != SYM_INPUT && s->kind != SYM_LABEL && s->kind != SYM_PARAM)
            continue;
        ok = eval_shape_sizes(ev, &s->shape, &rows, &cols);
        *entries += (double)rows * (double)cols; /* bound: held, and drawn or converted once */
        *work += (double)rows * (double)cols;
    }
    term_set seen = {mem_zalloc(ev->pool, 64 * sizeof *seen.slot), 64, 0};
    for (size_t r = 0; r < n && ok; r++) {
        ev->epoch++;
        plan_evaluation(ev, roots[r]);
        for (size_t k = 0; k < ev->plan_len && ok; k++) {
            const term *t = ev->plan[k];
            double w;
            /* a symbol's value is a binding (counted above) or its definition's */
            if (t->op == OP_SYM || !set_add(ev, &seen, t))
                continue;
            ok = eval_shape_sizes(ev, &t->shape, &rows, &cols) &&
                 term_work(ev, t, (double)rows * (double)cols, &w);
            if (ok && !plan_current(ev, t)->inlined)
                *entries += (double)rows * (double)cols;
            *work += ok ? w : 0;
            double operands = 0;
            for (unsigned a = 0; ok && t->op == OP_MATMUL && a < 2; a++) {
                long r, c;
                ok = eval_shape_sizes(ev, &t->args[a]->shape, &r, &c);
                operands += (double)r * (double)c;
            }
            if (operands > *scratch)
                *scratch = operands;
        }
    }
    ev->epoch++; /* no slot is current: the next eval_term plans afresh */
    mem_release(ev->pool, seen.slot);
    return ok;
}
