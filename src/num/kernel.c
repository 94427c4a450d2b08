/* kernel.c: fused kernels: elementwise terms entry by entry, and the matrix product. */
#include "num/eval_impl.h"

/* V broadcast NumPy's way to ROWS x COLS (right-aligned: a rank-1 [n] is
   [1, n]; a size 1 repeats), or 0 with the reason. */
int
kernel_broadcast_view(evaluator *ev, view *w, const value *v, long rows, long cols)
{
    if ((v->rows != rows && v->rows != 1) || (v->cols != cols && v->cols != 1)) {
        char a[64];
        eval_fail(ev, "internal error: a %s value cannot broadcast to %ld x %ld",
                  eval_value_words(v->rank, v->rows, v->cols, a, sizeof a), rows, cols);
        return 0;
    }
    w->v = v;
    w->si = v->rows == 1 ? 0 : v->cols;
    w->sj = v->cols == 1 ? 0 : 1;
    return 1;
}

/* Whether EV's numbers can compute OP; the reason when not. */
int
kernel_can_compute(evaluator *ev, term_op op)
{
    int transcendental =
        op == OP_EXP || op == OP_LOG || op == OP_TANH || op == OP_SIGMOID || op == OP_SOFTMAX;
    if (op == OP_LOG1P && ev->ar->log1p == NULL)
        transcendental = 1;
    if (ev->ar->exp != NULL || !transcendental)
        return 1;
    eval_fail(ev,
              "exact evaluation cannot compute %s (its values are not rational): bind the "
              "definition that uses it as a free variable, or evaluate in MPFR",
              term_op_name(op));
    return 0;
}

/* Whether OP is elementwise: an operation a kernel computes, entry by entry. */
int
kernel_is_elementwise(term_op op)
{
    switch (op) {
    case OP_ADD:
    case OP_MUL:
    case OP_DIV:
    case OP_POW:
    case OP_STEP:
    case OP_NEG:
    case OP_EXP:
    case OP_LOG:
    case OP_TANH:
    case OP_SIGMOID:
    case OP_RELU:
    case OP_MAXIMUM:
    case OP_MINIMUM:
    case OP_ABS:
    case OP_SQRT:
    case OP_LOG1P:
        return 1;
    default:
        return 0;
    }
}

/* Evaluate the operands of the elementwise term T and of the terms inlined
   into it, left to right, so that their values are there for its kernel.
   Returns 0 with the reason. */
static int
gather(evaluator *ev, const term *t)
{
    if (!kernel_can_compute(ev, t->op))
        return 0;
    for (unsigned i = 0; i < t->nargs; i++)
        if (plan_is_inlined(ev, t->args[i]) ? !gather(ev, t->args[i])
                                            : eval_walk(ev, t->args[i]) == NULL)
            return 0;
    return 1;
}

static int
new_node(evaluator *ev, const term *t, int leaf, int a, int b)
{
    if (ev->kernel_len == ev->kernel_cap) {
        size_t cap = ev->kernel_cap ? 2 * ev->kernel_cap : 16;
        ev->kernel = mem_realloc(ev->pool, ev->kernel, cap * sizeof *ev->kernel);
        ev->kernel_cap = cap;
    }
    ev->kernel[ev->kernel_len] = (knode){.t = t, .leaf = leaf, .a = a, .b = b};
    return (int)ev->kernel_len++;
}

/* Append the nodes of T (the kernel's term when TOP, else an operand),
   after its operands'; T's node index, or -1 with the reason. */
static int
add_nodes(evaluator *ev, const term *t, int top, long rows, long cols)
{
    if (!top && !plan_is_inlined(ev, t)) {
        const memo_slot *s = plan_current(ev, t);
        if (s == NULL || s->h == NULL)
            return eval_fail(ev, "internal error: an operand of a kernel has no value"), -1;
        int k = new_node(ev, t, 1, -1, -1);
        return kernel_broadcast_view(ev, &ev->kernel[k].w, &s->h->v, rows, cols) ? k : -1;
    }
    int a = add_nodes(ev, t->args[0], 0, rows, cols), b = -1;
    if (a >= 0 && t->nargs == 2)
        b = add_nodes(ev, t->args[1], 0, rows, cols);
    if (a < 0 || (t->nargs == 2 && b < 0))
        return -1;
    return new_node(ev, t, 0, a, b);
}

/* The kernel of the elementwise term T at ROWS x COLS, whose operands are
   gathered: its nodes, and a register for each operation. Returns 0 with
   the reason. */
static int
build_kernel(evaluator *ev, const term *t, long rows, long cols)
{
    ev->kernel_len = 0;
    if (add_nodes(ev, t, 1, rows, cols) < 0)
        return 0;
    long ops = 0;
    for (size_t k = 0; k < ev->kernel_len; k++)
        ops += !ev->kernel[k].leaf;
    if (ev->regs == NULL || ev->regs->v.cols < ops) {
        held *regs = eval_held_new(ev, HELD_SCRATCH, 1, 1, ops < 8 ? 8 : 2 * ops);
        if (ev->regs != NULL)
            eval_held_drop(ev, ev->regs);
        ev->regs = regs;
    }
    ops = 0;
    for (size_t k = 0; k < ev->kernel_len; k++)
        if (!ev->kernel[k].leaf)
            ev->kernel[k].reg = element(ev, &ev->regs->v, ops++);
    return 1;
}

/* The reason for a failed exact operation at entry (I, J) of T. */
static const value *
exact_failure(evaluator *ev, arith_status st, long i, long j)
{
    switch (st) {
    case ARITH_DIV_ZERO:
        return eval_fail(
            ev, "division by zero in exact evaluation (entry [%ld, %ld] of a quotient)", i, j);
    case ARITH_POW_FRACTION:
        return eval_fail(ev,
                         "a power with a non-integer exponent is not rational: exact evaluation "
                         "needs integer exponents (evaluate in MPFR)");
    case ARITH_POW_ZERO_NEGATIVE:
        return eval_fail(ev, "0 to a negative power in exact evaluation (entry [%ld, %ld])", i, j);
    case ARITH_POW_HUGE:
        return eval_fail(ev, "an exact power too large to compute (over %d bits)",
                         EXACT_POW_MAX_BITS);
    case ARITH_SQRT_IRRATIONAL:
        return eval_fail(ev,
                         "the square root of entry [%ld, %ld] is not rational: exact evaluation "
                         "takes square roots of squares only (evaluate in MPFR)",
                         i, j);
    case ARITH_OK:
        break;
    }
    return NULL;
}

/* One entry of the elementwise term T: R = op(A) or op(A, B). R may be A
   or B. */
static arith_status
apply(const evaluator *ev, const term *t, void *r, const void *a, const void *b)
{
    const arith *ar = ev->ar;
    void *x = scratch(ev, SCRATCH_T0);
    switch (t->op) {
    case OP_ADD:
        ar->add(r, a, b);
        break;
    case OP_MUL:
        ar->mul(r, a, b);
        break;
    case OP_DIV:
        return ar->div(r, a, b);
    case OP_POW:
        return ar->pow(r, a, b);
    case OP_STEP:
        if (ar->step != NULL)
            ar->step(r, a, b, t->aux);
        else
            ar->set_si(r, t->aux ? ar->ge(a, b) : ar->gt(a, b));
        break;
    case OP_NEG:
        ar->neg(r, a);
        break;
    case OP_EXP:
        ar->exp(r, a);
        break;
    case OP_LOG:
        ar->log(r, a);
        break;
    case OP_TANH:
        ar->tanh(r, a);
        break;
    case OP_SIGMOID: /* 1 / (1 + exp(-a)), one operation at a time */
        ar->neg(x, a);
        ar->exp(x, x);
        ar->add(x, scratch(ev, SCRATCH_ONE), x);
        ar->div(r, scratch(ev, SCRATCH_ONE), x);
        break;
    case OP_MAXIMUM:
        ar->max(r, a, b);
        break;
    case OP_MINIMUM:
        ar->min(r, a, b);
        break;
    case OP_ABS:
        ar->abs(r, a);
        break;
    case OP_SQRT:
        return ar->sqrt(r, a);
    case OP_LOG1P:
        ar->log1p(r, a);
        break;
    default: /* OP_RELU: a > 0 ? a : 0, and NaN stays NaN as in np.maximum */
        if (ar->relu != NULL)
            ar->relu(r, a);
        else if (ar->is_nan(a) || ar->gt(a, scratch(ev, SCRATCH_ZERO)))
            ar->set(r, a);
        else
            ar->set_si(r, 0);
        break;
    }
    return ARITH_OK;
}

/* Run the kernel at entry (I, J), its result into DST. */
static arith_status
run_kernel(evaluator *ev, long i, long j, void *dst)
{
    knode *nodes = ev->kernel;
    size_t last = ev->kernel_len - 1;
    for (size_t k = 0; k <= last; k++) {
        knode *n = &nodes[k];
        if (n->leaf) {
            n->cur = view_at(ev, &n->w, i, j);
            continue;
        }
        void *out = k == last ? dst : n->reg;
        arith_status st = apply(ev, n->t, out, nodes[n->a].cur, n->b >= 0 ? nodes[n->b].cur : NULL);
        if (st != ARITH_OK)
            return st;
        n->cur = out;
    }
    return ARITH_OK;
}

/* A kernel operand of ROWS x COLS that the kernel uses for the last time,
   taken over for the result; NULL if there is none. Writing entry (i, j)
   of the result comes after every read of entry (i, j) of such an operand
   and of no other of its entries. */
static held *
take_over_operand(evaluator *ev, long rows, long cols)
{
    for (size_t k = 0; k < ev->kernel_len; k++) {
        const knode *n = &ev->kernel[k];
        if (!n->leaf || n->w.v->rows != rows || n->w.v->cols != cols)
            continue;
        long uses = 0;
        for (size_t l = 0; l < ev->kernel_len; l++)
            uses += ev->kernel[l].leaf && ev->kernel[l].t == n->t;
        held *h = plan_take_over(ev, n->t, uses, rows, cols);
        if (h != NULL)
            return h;
    }
    return NULL;
}

/* An elementwise term, with the terms inlined into it, in one pass over
   its entries; in place when an operand of its sizes dies here. */
const value *
kernel_elementwise(evaluator *ev, const term *t)
{
    long rows, cols;
    if (!gather(ev, t) || !eval_shape_sizes(ev, &t->shape, &rows, &cols) ||
        !build_kernel(ev, t, rows, cols))
        return NULL;
    held *r = take_over_operand(ev, rows, cols);
    if (r == NULL)
        r = eval_held_new(ev, HELD_RESULT, t->shape.rank, rows, cols);
    r->v.rank = t->shape.rank;
    for (long i = 0; i < rows; i++)
        for (long j = 0; j < cols; j++) {
            arith_status st = run_kernel(ev, i, j, element(ev, &r->v, i * cols + j));
            if (st != ARITH_OK) {
                eval_held_drop(ev, r);
                return exact_failure(ev, st, i, j);
            }
        }
    return &r->v;
}

/* An operand of a matrix product: entry (i, j) of a RANK, ROWS x COLS
   matrix is W's (i, j). W.v is NULL for an inlined elementwise operand,
   whose rows are computed as the product needs them. */
typedef struct operand {
    view w;
    int rank;
    long rows, cols;
} operand;

/* Operand T of a matrix product: a value, a transpose read through a view
   of its argument, or an inlined elementwise term whose operands are
   gathered. Returns 0 with the reason. */
static int
matmul_operand(evaluator *ev, const term *t, operand *o)
{
    if (plan_is_inlined(ev, t) && t->op == OP_TRANSPOSE) {
        const value *a = eval_walk(ev, t->args[0]);
        if (a == NULL)
            return 0;
        /* entry (i, j) is a's (j, i); a 1-D or scalar value is its own
           transpose, as in NumPy */
        *o = a->rank == 2 ? (operand){{a, 1, a->cols}, 2, a->cols, a->rows}
                          : (operand){{a, a->cols, 1}, a->rank, a->rows, a->cols};
        return 1;
    }
    if (plan_is_inlined(ev, t)) {
        o->w = (view){NULL, 0, 1};
        o->rank = t->shape.rank;
        return gather(ev, t) && eval_shape_sizes(ev, &t->shape, &o->rows, &o->cols);
    }
    const value *a = eval_walk(ev, t);
    if (a == NULL)
        return 0;
    *o = (operand){{a, a->cols, 1}, a->rank, a->rows, a->cols};
    return 1;
}

/* The matrix product with NumPy's 1-D rules: a 1-D left operand is a row,
   a 1-D right operand a column, and the result drops that axis. Each entry
   accumulates its products left to right, but in a table with its own
   matrix or dot product (Arb's balls, whose sums are enclosures in any
   order), which computes them. An inlined left operand is computed one row
   at a time, just before the row of the product that needs it. */
const value *
kernel_matmul(evaluator *ev, const term *t)
{
    operand a, b;
    if (!matmul_operand(ev, t->args[0], &a) || !matmul_operand(ev, t->args[1], &b))
        return NULL;
    long rows = a.rows, inner = a.cols, cols = b.rank == 1 ? 1 : b.cols;
    view wa = a.w, wb = b.rank == 1 ? (view){b.w.v, b.w.sj, 0} : b.w;
    held *r = eval_result_new(ev, t), *row = NULL;
    if (r == NULL)
        return NULL;
    if ((b.rank == 1 ? b.cols : b.rows) != inner || rows * cols != r->v.rows * r->v.cols)
        return eval_fail(ev, "internal error: matrix product of values of unfitting sizes");
    if (a.w.v != NULL && ev->ar->matmul != NULL) { /* both operands stored: one call */
        ev->ar->matmul(r->v.entries, view_at(ev, &wa, 0, 0), wa.si, wa.sj, view_at(ev, &wb, 0, 0),
                       wb.si, wb.sj, rows, inner, cols);
        return &r->v;
    }
    if (a.w.v == NULL) {
        if (!build_kernel(ev, t->args[0], a.rows, a.cols))
            return NULL;
        row = eval_held_new(ev, HELD_RESULT, 1, 1, inner);
        wa = (view){&row->v, 0, 1};
    }
    const arith *ar = ev->ar;
    void *product = scratch(ev, SCRATCH_T0);
    for (long i = 0; i < rows; i++) {
        for (long k = 0; row != NULL && k < inner; k++) {
            arith_status st = run_kernel(ev, i, k, element(ev, &row->v, k));
            if (st != ARITH_OK) {
                eval_held_drop(ev, row);
                eval_held_drop(ev, r);
                return exact_failure(ev, st, i, k);
            }
        }
        for (long j = 0; ar->dot != NULL && j < cols; j++)
            ar->dot(element(ev, &r->v, i * cols + j), view_at(ev, &wa, i, 0), wa.sj,
                    view_at(ev, &wb, 0, j), wb.si, inner);
        for (long j = 0; ar->dot == NULL && j < cols; j++) {
            void *acc = element(ev, &r->v, i * cols + j);
            ar->mul(acc, view_at(ev, &wa, i, 0), view_at(ev, &wb, 0, j));
            for (long k = 1; k < inner; k++) {
                ar->mul(product, view_at(ev, &wa, i, k), view_at(ev, &wb, k, j));
                ar->add(acc, acc, product);
            }
        }
    }
    if (row != NULL)
        eval_held_drop(ev, row);
    return &r->v;
}
