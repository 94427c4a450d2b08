/* roundoff_plan.c: what the error sweep measures: quantities and their formulations. */
#include "cmd/roundoff_private.h"

#include <stdio.h>
#include <string.h>

#include "lang/print.h"

static const char *
term_text(mem_pool *pool, const term *t)
{
    text s;
    text_init(&s, pool);
    print_term(&s, t);
    return text_str(&s);
}

/* Gradient names and claims T uses, directly or through other names, each
   once. */
static void
collect_names(const term *t, const symbol **seen, size_t *n, size_t cap)
{
    if (t->op == OP_SYM) {
        const symbol *s = t->sym;
        if ((s->kind != SYM_GRAD && s->kind != SYM_CLAIM) || s->definition == NULL)
            return;
        for (size_t k = 0; k < *n; k++)
            if (seen[k] == s)
                return;
        if (*n == cap)
            return;
        seen[(*n)++] = s;
        collect_names(s->definition, seen, n, cap);
        return;
    }
    for (unsigned k = 0; k < t->nargs; k++)
        collect_names(t->args[k], seen, n, cap);
}

/* T printed, then every gradient name or claim it uses with its formula:
   "1/m * dZ2 @ A1.T; dZ2 = A2 - Y". */
static const char *
formula_text(roundoff_plan *p, const term *t)
{
    const symbol *seen[32];
    size_t n = 0;
    collect_names(t, seen, &n, 32);
    text s;
    text_init(&s, p->pool);
    print_term(&s, t);
    for (size_t k = 0; k < n; k++) {
        text_printf(&s, "; %s = ", seen[k]->name);
        print_term(&s, seen[k]->definition);
    }
    return text_str(&s);
}

static void
add_form(roundoff_plan *p, roundoff_form_kind kind, size_t q, const char *label,
         const char *formula, const term *t)
{
    if (p->nf == ROUNDOFF_MAX_FORMS) {
        if (p->over == ROUNDOFF_CAP_NONE)
            p->over = ROUNDOFF_CAP_FORMS;
        return;
    }
    p->f[p->nf++] = (roundoff_form){kind, q, label, formula, t, NULL, NULL, 0};
}

static size_t
add_quantity(roundoff_plan *p, const char *name, const term *ref)
{
    if (p->nq == ROUNDOFF_MAX_QUANTITIES) {
        p->over = ROUNDOFF_CAP_QUANTITIES; /* named before formulations: it is the cause */
        return 0; /* the plan is refused: what lands on quantity 0 is never measured */
    }
    p->q[p->nq] = (roundoff_quantity){name, ref};
    return p->nq++;
}

static const term *
op2(roundoff_plan *p, term_op op, const term *a, const term *b)
{
    if (a == NULL || b == NULL)
        return NULL;
    char why[SHAPE_WHY];
    return term_make(p->tab, op, 0, 0, (const term *[]){a, b}, 2, why);
}

static const term *
minus(roundoff_plan *p, const term *a, const term *b)
{
    char why[SHAPE_WHY];
    const term *neg = term_make(p->tab, OP_NEG, 0, 0, (const term *[]){b}, 1, why);
    return op2(p, OP_ADD, a, neg);
}

/* The activations the naive chain goes through, each by its adjoint rule.
   Other operations have adjoint rules too (log, neg), but a gradient
   flows through them as derive writes it. */
static const term_op activations[] = {OP_SIGMOID, OP_TANH, OP_EXP, OP_RELU};

/* The chain rule through A = act(U), unsimplified, in A: dU from dA, as
   the adjoint rule of act instantiates it with G = dA and C = A
   (dA * A * (1 - A) for a sigmoid). A softmax is written here, since its
   rule multiplies dA * A where this chain has always written A * dA: the
   same doubles, but the printed formula would change. NULL for another
   operation, or one whose rule does not fit. */
static const term *
chain(roundoff_plan *p, const symbol *a, const term *da)
{
    const term *def = a->definition, *at = term_symbol(p->tab, a);
    char why[SHAPE_WHY];
    if (def->op == OP_SOFTMAX) { /* A * (dA - sum(A * dA, axis, keepdims=True)) */
        if (def->shape.rank != 2)
            return NULL;
        const term *prod = op2(p, OP_MUL, at, da);
        if (prod == NULL)
            return NULL;
        const term *s = term_make(p->tab, OP_SUM, def->aux, 1, (const term *[]){prod}, 1, why);
        return op2(p, OP_MUL, at, minus(p, da, s));
    }
    for (size_t k = 0; k < sizeof activations / sizeof activations[0]; k++)
        if (def->op == activations[k]) {
            const rule *used;
            return derive_adjoint(p->tab, p->rs, NULL, def, 0, da, at, &used, why);
        }
    return NULL;
}

/* The definition A = act(U) through which alone U is used, or NULL. */
static const symbol *
sole_activation(const model *m, const symbol *u)
{
    const symbol *found = NULL;
    for (size_t i = 0; i < m->nsymbols; i++) {
        const symbol *s = m->symbols[i];
        if (s->kind != SYM_DEF || s->definition == NULL)
            continue;
        long n = term_occurrences(s->definition, u);
        if (n == 0)
            continue;
        if (found != NULL || n != 1 || s->definition->nargs != 1 ||
            s->definition->args[0]->op != OP_SYM || s->definition->args[0]->sym != u)
            return NULL;
        found = s;
    }
    return found;
}

/* What a rewriting of the gradients puts first in place of gradient I's
   own formula (NULL: nothing, its formula is rewritten to use the
   gradients rewritten before it, TO[j] for gradient j, NULL when kept). */
typedef const term *(*first_form)(roundoff_plan *p, size_t i, symbol *const *to, const void *ctx);

/* Every gradient of the deferred convention rewritten: gradient I by
   FIRST(P, I, TO, CTX) when that gives a term, else its formula with the
   gradients rewritten before it in place of their names, so that
   everything downstream uses the rewritten ones. Fills OUT[i] (the formula
   for gradient i, NULL when it is the same as deferred). */
static void
rewrite_gradients(roundoff_plan *p, const term **out, first_form first, const void *ctx)
{
    const derivation *d = p->d;
    const symbol **from = mem_zalloc(p->pool, (d->n + 1) * sizeof *from);
    symbol **to = mem_zalloc(p->pool, (d->n + 1) * sizeof *to);
    const term **to_t = mem_zalloc(p->pool, (d->n + 1) * sizeof *to_t); /* to[i]'s term */
    for (size_t i = 0; i < d->n; i++) {
        const gradient *g = &d->g[i];
        from[i] = g->deferred_name;
        const term *t = first(p, i, to, ctx);
        if (t == NULL) {
            t = term_substitute(p->tab, g->deferred_name->definition, from, to_t, i,
                                term_map_new(p->pool));
            if (t == g->deferred_name->definition)
                t = NULL;
        }
        out[i] = t;
        if (t != NULL) {
            symbol *s = mem_alloc(p->pool, sizeof *s);
            *s = *g->deferred_name;
            s->definition = t;
            to[i] = s;
            to_t[i] = term_symbol(p->tab, s);
        }
    }
}

/* first_form of the naive chain: where gradient I's U feeds only
   A = act(U), dU = dA * act'(U) in A (dZ = dA * A * (1 - A) for a
   sigmoid), through the dA rewritten before it. */
static const term *
naive_first(roundoff_plan *p, size_t i, symbol *const *to, const void *ctx)
{
    (void)ctx;
    const gradient *g = &p->d->g[i];
    const symbol *a = g->of->kind == SYM_DEF ? sole_activation(p->m, g->of) : NULL;
    const gradient *ga = a != NULL ? derive_find(p->d, a) : NULL;
    if (ga == NULL)
        return NULL;
    size_t ja = (size_t)(ga - p->d->g);
    const symbol *dname = ja < i && to[ja] != NULL ? to[ja] : ga->deferred_name;
    return chain(p, a, term_symbol(p->tab, dname));
}

/* The naive chain: every gradient of the deferred convention written as
   the adjoint flow gives it before simplification, through dA first;
   everything downstream uses these. Fills NAIVE[i] (the formula for
   gradient i, NULL when it is the same as deferred). */
static void
build_naive(roundoff_plan *p, const term **naive)
{
    rewrite_gradients(p, naive, naive_first, NULL);
}

/* Put into USED (each symbol's term mapped to itself) every symbol T uses,
   directly or through the definitions it names. A definition is walked
   once, so the work is the size of the definitions, whatever the sharing
   between them; the recursion is as deep as T's height, which the parser
   bounds (PARSE_MAX_HEIGHT). */
static void
mark_used(const term *t, term_map *used)
{
    if (t->op == OP_SYM) {
        if (term_map_get(used, t) != NULL)
            return;
        term_map_put(used, t, t);
        if (t->sym->kind == SYM_DEF && t->sym->definition != NULL)
            mark_used(t->sym->definition, used);
        return;
    }
    for (unsigned k = 0; k < t->nargs; k++)
        mark_used(t->args[k], used);
}

/* The output activation the loss uses (sigmoid or softmax, named or
   written out in NumPy as recognise.rules knows them), its label, and the
   output layer's params; the loss's stable forms when the loss is the
   cross-entropy written the usual way. */
static void
find_output(roundoff_plan *p)
{
    const model *m = p->m;
    term_map *used = term_map_new(p->pool);
    mark_used(m->loss->definition, used);
    /* the last sigmoid or softmax before the loss, which the loss uses,
       directly or through definitions (logprobs = ...; cost = -sum(logprobs)
       / m, as the course writes it) */
    for (size_t i = m->nsymbols; i-- > 0 && p->out_act == NULL;) {
        const symbol *s = m->symbols[i];
        const term *def = s->kind == SYM_DEF ? derive_definition(p->d, s) : NULL;
        if (def != NULL && term_map_get(used, term_symbol(p->tab, s)) != NULL &&
            (def->op == OP_SIGMOID || def->op == OP_SOFTMAX)) {
            p->out_act = s;
            p->out_def = def;
        }
    }
    for (size_t i = 0; i < m->nsymbols && p->label_t == NULL; i++) {
        const symbol *s = m->symbols[i];
        if (s->kind == SYM_LABEL && term_map_get(used, term_symbol(p->tab, s)) != NULL)
            p->label_t = term_symbol(p->tab, s);
    }
    if (p->out_act == NULL)
        return;
    p->out_pre = p->out_def->args[0];
    const term *pre = p->out_pre;
    if (pre->op == OP_SYM && pre->sym->kind == SYM_DEF && pre->sym->definition != NULL &&
        p->label_t != NULL && shape_equal(&pre->shape, &p->label_t->shape)) {
        p->logit = pre->sym;
        p->logit_t = pre;
    }
    if (pre->op == OP_SYM && pre->sym->kind == SYM_DEF && pre->sym->definition != NULL)
        pre = pre->sym->definition;
    if (pre->op == OP_ADD)
        for (unsigned k = 0; k < 2; k++)
            if (pre->args[k]->op == OP_SYM && pre->args[k]->sym->kind == SYM_PARAM)
                p->out_bias = pre->args[k]->sym;
    for (size_t i = 0; i < m->nsymbols; i++) {
        const symbol *s = m->symbols[i];
        if (s->kind == SYM_PARAM && s != p->out_bias && term_occurrences(pre, s) && p->nout_w < 8)
            p->out_w[p->nout_w++] = s;
    }
}

/* T as it reads: NumPy's implicit broadcast is not written (print.c). */
static const term *
as_written(const term *t)
{
    while (t->op == OP_BROADCAST && t->aux < 0)
        t = t->args[0];
    return t;
}

/* T as it reads when it is an OP, else NULL. */
static const term *
written_op(const term *t, term_op op)
{
    t = as_written(t);
    return t->op == op ? t : NULL;
}

static int
is_symbol(const term *t, const symbol *s)
{
    const term *u = written_op(t, OP_SYM);
    return u != NULL && u->sym == s;
}

static int
is_integer(const term *t, long n)
{
    const term *u = written_op(t, OP_CONST);
    return u != NULL && mpq_cmp_si(u->value, n, 1) == 0;
}

/* N/m, M the batch dim: 1/m, -1/m. */
static int
is_over_batch(const term *t, long n, const symbol *m)
{
    const term *u = written_op(t, OP_DIV);
    return u != NULL && is_integer(u->args[0], n) && is_symbol(u->args[1], m);
}

/* 1 - S */
static int
is_one_minus(const term *t, const symbol *s)
{
    const term *u = written_op(t, OP_ADD), *neg;
    return u != NULL && is_integer(u->args[0], 1) &&
           (neg = written_op(u->args[1], OP_NEG)) != NULL && is_symbol(neg->args[0], s);
}

/* W * log(X): 1 with W and X filled, or 0. */
static int
times_log(const term *t, const term **w, const term **x)
{
    const term *u = written_op(t, OP_MUL), *log_;
    if (u == NULL || (log_ = written_op(u->args[1], OP_LOG)) == NULL)
        return 0;
    *w = u->args[0];
    *x = log_->args[0];
    return 1;
}

/* The output gradient computed from the logits, in place of the deferred
   dZ = A - Y of a sigmoid or softmax output A = act(Z) with Z a named
   definition:
   - sigmoid: (1 - Y) * sigmoid(Z) - Y * sigmoid(-Z), each term accurate to
     a few ulps, where A - Y cancels once A nears 1 (Z beyond about 37,
     A rounds to 1 and A - Y to 0);
   - softmax down the columns of a matrix, Y one-hot:
     A * (1 - Y) - Y * sum(A * (1 - Y), axis=0, keepdims=True): the other
     classes' probabilities (the evaluator's softmax is shifted by the
     column's max, exp(z - c) / sum(exp(z - c)), each entry accurate), and
     at the true class minus their sum, where A - 1 would cancel.
   Both are A - Y in exact arithmetic (rules/logits.rules says why). Returns
   the term with *AT the index of dZ's gradient; NULL when the output
   gradient is not written A - Y or Z has no name to compute from. */
static const term *
logit_gradient(roundoff_plan *p, size_t *at)
{
    const gradient *g = p->logit != NULL ? derive_find(p->d, p->logit) : NULL;
    if (g == NULL || p->label_t == NULL)
        return NULL;
    const term *def = written_op(g->deferred_name->definition, OP_ADD), *neg;
    if (def == NULL || !is_symbol(def->args[0], p->out_act) ||
        (neg = written_op(def->args[1], OP_NEG)) == NULL ||
        !is_symbol(neg->args[0], p->label_t->sym))
        return NULL;
    *at = (size_t)(g - p->d->g);
    const term *y = p->label_t, *z = term_symbol(p->tab, p->logit);
    const term *not_y = minus(p, term_const_si(p->tab, 1, 1), y);
    char why[SHAPE_WHY];
    if (p->out_def->op == OP_SIGMOID) {
        const term *up = term_make(p->tab, OP_SIGMOID, 0, 0, (const term *[]){z}, 1, why);
        const term *negz = term_make(p->tab, OP_NEG, 0, 0, (const term *[]){z}, 1, why);
        const term *down = term_make(p->tab, OP_SIGMOID, 0, 0, (const term *[]){negz}, 1, why);
        const term *wrong = op2(p, OP_MUL, y, down);
        return wrong != NULL ? minus(p, op2(p, OP_MUL, not_y, up), wrong) : NULL;
    }
    if (p->label_t->sym->label != LABEL_ONEHOT || p->out_def->aux != 0 ||
        p->out_def->shape.rank != 2)
        return NULL;
    const term *others = op2(p, OP_MUL, term_symbol(p->tab, p->out_act), not_y);
    if (others == NULL)
        return NULL;
    const term *rest = term_make(p->tab, OP_SUM, 0, 1, (const term *[]){others}, 1, why);
    const term *true_class = op2(p, OP_MUL, y, rest);
    return true_class != NULL ? minus(p, others, true_class) : NULL;
}

/* Where the logit form goes in a rewriting of the gradients. */
typedef struct logit_at {
    size_t at;
    const term *t;
} logit_at;

/* first_form of the gradients from the logits: dZ's own, the rest
   rewritten to use it. */
static const term *
logit_first(roundoff_plan *p, size_t i, symbol *const *to, const void *ctx)
{
    (void)p;
    (void)to;
    const logit_at *l = ctx;
    return i == l->at ? l->t : NULL;
}

/* The losses the C formulations recompute, when written the usual way. */
typedef enum loss_kind {
    LOSS_OTHER,
    LOSS_SIGMOID_CE, /* -1/m * sum(Y * log(A) + (1 - Y) * log(1 - A)), A = sigmoid(Z) */
    LOSS_SOFTMAX_CE, /* -1/m * sum(Y * log(A)), A = softmax(Z, axis=0) of a matrix */
} loss_kind;

/* Which loss P's model writes, matched on its terms, so that any spelling
   that parses to the same term counts (-1/m * np.sum(...), A2 written
   through its name). The label and activation must be the ones
   find_output found. */
static loss_kind
loss_kind_of(const roundoff_plan *p)
{
    const model *m = p->m;
    if (p->out_act == NULL || p->label_t == NULL || m->batch == NULL)
        return LOSS_OTHER;
    const symbol *y = p->label_t->sym, *a = p->out_act;
    const term *head = written_op(m->loss->definition, OP_MUL), *sum, *w, *x;
    if (head == NULL || !is_over_batch(head->args[0], -1, m->batch) ||
        (sum = written_op(head->args[1], OP_SUM)) == NULL || sum->aux >= 0 || sum->keepdims)
        return LOSS_OTHER;
    const term *body = sum->args[0], *act = p->out_def;
    if (act->op == OP_SIGMOID) {
        const term *both = written_op(body, OP_ADD);
        return both != NULL && times_log(both->args[0], &w, &x) && is_symbol(w, y) &&
                       is_symbol(x, a) && times_log(both->args[1], &w, &x) && is_one_minus(w, y) &&
                       is_one_minus(x, a)
                   ? LOSS_SIGMOID_CE
                   : LOSS_OTHER;
    }
    return act->aux == 0 && act->shape.rank == 2 && times_log(body, &w, &x) && is_symbol(w, y) &&
                   is_symbol(x, a)
               ? LOSS_SOFTMAX_CE
               : LOSS_OTHER;
}

/* The loss's formulations computed in C, when the loss is the sigmoid or
   softmax cross-entropy. */
static void
loss_forms(roundoff_plan *p, size_t qj)
{
    loss_kind kind = loss_kind_of(p);
    if (kind == LOSS_OTHER)
        return;
    const char *y = p->label_t->sym->name, *mb = p->m->batch->name;
    const char *z = term_text(p->pool, p->out_pre);
    char formula[512];
    if (kind == LOSS_SIGMOID_CE) {
        snprintf(formula, sizeof formula,
                 "(1.0/%s) * sum(%s * softplus(-z) + (1 - %s) * softplus(z)), z = %s, "
                 "softplus(x) = max(x, 0) + log1p(exp(-|x|)), in C",
                 mb, y, y, z);
        add_form(p, ROUNDOFF_FORM_SOFTPLUS_BCE, qj, "softplus (C)", mem_strdup(p->pool, formula),
                 NULL);
        return;
    }
    snprintf(formula, sizeof formula,
             "(-1.0/%s) * sum(%s * log(exp(z) / sum(exp(z), axis=0))), z = %s, in C", mb, y, z);
    add_form(p, ROUNDOFF_FORM_NAIVE_SOFTMAX_CE, qj, "naive softmax (C)",
             mem_strdup(p->pool, formula), NULL);
    snprintf(formula, sizeof formula,
             "(-1.0/%s) * sum(%s * (z - c - log(sum(exp(z - c), axis=0)))), c = max(z, axis=0), "
             "z = %s, in C",
             mb, y, z);
    add_form(p, ROUNDOFF_FORM_LOG_SOFTMAX_CE, qj, "log-softmax (C)", mem_strdup(p->pool, formula),
             NULL);
}

/* Whether T reads whole before .T or [:, j]: a name or a call, not an
   operation that would need parentheses there. */
static int
reads_whole(const term *t)
{
    switch (as_written(t)->op) {
    case OP_ADD:
    case OP_MUL:
    case OP_DIV:
    case OP_MATMUL:
    case OP_NEG:
    case OP_POW:
        return 0;
    default:
        return 1;
    }
}

/* The factors of a param gradient whose deferred form DEF is
   1/m * dZ @ H.T (a weight: DZ and H filled) or
   1/m * sum(dZ, axis=1, keepdims=True) (a bias: H NULL), with dZ a
   gradient's name and M the batch dim; 0 for any other form. */
static int
per_example_factors(const term *def, const symbol *m, const term **dz, const term **h)
{
    *h = NULL;
    if (def->op == OP_MATMUL && def->args[0]->op == OP_MUL && def->args[1]->op == OP_TRANSPOSE &&
        is_over_batch(def->args[0]->args[0], 1, m) && reads_whole(def->args[1]->args[0])) {
        /* (1/m * dZ) @ H.T */
        *dz = def->args[0]->args[1];
        *h = def->args[1]->args[0];
    } else if (def->op == OP_MUL && def->args[1]->op == OP_SUM && def->args[1]->aux == 1 &&
               def->args[1]->keepdims && is_over_batch(def->args[0], 1, m))
        *dz = def->args[1]->args[0]; /* 1/m * sum(dZ, axis=1, keepdims=True) */
    else
        return 0;
    return (*dz)->op == OP_SYM && (*dz)->sym->kind == SYM_GRAD && (*dz)->shape.rank == 2 &&
           (*h == NULL || (*h)->shape.rank == 2);
}

/* The per-example accumulations of a param gradient whose deferred form
   DEF is 1/m * dZ @ H.T (a weight) or 1/m * sum(dZ, axis=1, keepdims=True)
   (a bias): dZ and H are evaluated in double by the evaluator, the sum
   over the examples is a loop in C. */
static void
per_example_forms(roundoff_plan *p, size_t q, const term *def)
{
    const model *m = p->m;
    const term *dz, *h;
    if (m->batch == NULL || !per_example_factors(def, m->batch, &dz, &h))
        return;
    const char *mb = m->batch->name, *dzs = term_text(p->pool, dz);
    const char *hs = h != NULL ? term_text(p->pool, h) : NULL;
    char formula[1024];
    const char *dzdef = formula_text(p, dz) + strlen(dzs) + 2; /* "dZ; dZ = ..." less "dZ; " */
    const char *g = p->q[q].name;
    for (int each = 0; each < 2; each++) {
        const char *contrib = h != NULL ? "%s[:, j] @ %s[:, j].T" : "%s[:, j]";
        char c[256];
        snprintf(c, sizeof c, contrib, dzs, hs);
        if (each)
            snprintf(formula, sizeof formula, "%s = 0; for j in 0..%s-1: %s += (%s) / %s; %s, in C",
                     g, mb, g, c, mb, dzdef);
        else
            snprintf(formula, sizeof formula,
                     "%s = 0; for j in 0..%s-1: %s += %s; then %s = %s / %s; %s, in C", g, mb, g, c,
                     g, g, mb, dzdef);
        size_t before = p->nf;
        add_form(p, ROUNDOFF_FORM_PER_EXAMPLE, q, each ? "per-example/m (C)" : "per-example (C)",
                 mem_strdup(p->pool, formula), NULL);
        if (p->nf > before) {
            p->f[before].dz = dz;
            p->f[before].h = h;
            p->f[before].each_step = each;
        }
    }
}

/* The claims of CLAIMS (may be NULL) about the gradient of V, each one
   more formulation of quantity Q: the person's own way of writing it. */
static void
claim_forms(roundoff_plan *p, const check_result *claims, const symbol *v, size_t q)
{
    for (size_t k = 0; claims != NULL && k < claims->n; k++) {
        const claim_result *r = &claims->r[k];
        if (r->claim->target != v || r->yours == NULL || r->verdict == CLAIM_SHAPE)
            continue;
        /* "wrong" only on check's witnessed refutation (of it, or of a claim
           it is built on), never on a verdict that is not one */
        char label[64];
        snprintf(label, sizeof label, "yours (line %d%s)", r->line,
                 r->verdict == CLAIM_REFUTED || r->verdict == CLAIM_GIVEN_YOURS ? ", wrong"
                 : r->verdict == CLAIM_UNDECIDED                                ? ", undecided"
                                                                                : "");
        add_form(p, ROUNDOFF_FORM_TERM, q, mem_strdup(p->pool, label),
                 formula_text(p, r->claim->definition), r->yours);
    }
}

const term *
roundoff_logit_form(const derivation *d, size_t *at)
{
    model *m = (model *)d->m;
    roundoff_plan p = {.d = d, .m = m, .tab = m->terms, .pool = m->pool};
    find_output(&p);
    return p.out_act != NULL ? logit_gradient(&p, at) : NULL;
}

roundoff_plan *
roundoff_plan_make(const derivation *d, const rule_set *rs, const check_result *claims)
{
    model *m = (model *)d->m;
    roundoff_plan *p = mem_zalloc(m->pool, sizeof *p);
    p->d = d;
    p->rs = rs;
    p->m = m;
    p->tab = m->terms;
    p->pool = m->pool;
    p->drawn = mem_zalloc(p->pool, (m->nsymbols + 1) * sizeof *p->drawn);
    p->drawn_t = mem_zalloc(p->pool, (m->nsymbols + 1) * sizeof *p->drawn_t);
    for (size_t i = 0; i < m->nsymbols; i++) {
        const symbol *s = m->symbols[i];
        if (s->kind == SYM_INPUT || s->kind == SYM_LABEL || s->kind == SYM_PARAM) {
            p->drawn[p->ndrawn] = s;
            p->drawn_t[p->ndrawn++] = term_symbol(p->tab, s);
        }
    }
    find_output(p);
    /* the loss */
    const term *loss = term_symbol(p->tab, m->loss);
    size_t qj = add_quantity(p, m->loss->name, loss);
    add_form(p, ROUNDOFF_FORM_TERM, qj, "as written", term_text(p->pool, m->loss->definition),
             loss);
    loss_forms(p, qj);
    /* a softmax output named as such: shifted (the evaluator's) and naive;
       one written out is measured as written, among the gradients' forms */
    if (p->out_act != NULL && p->out_act->definition->op == OP_SOFTMAX &&
        p->out_act->definition->aux == 0 && p->out_act->definition->shape.rank == 2) {
        const term *a = term_symbol(p->tab, p->out_act);
        size_t qa = add_quantity(p, p->out_act->name, a);
        add_form(p, ROUNDOFF_FORM_TERM, qa, "max-shifted",
                 "exp(z - max(z)) / sum(exp(z - max(z)), axis=0)", a);
        add_form(p, ROUNDOFF_FORM_NAIVE_SOFTMAX, qa, "naive (C)", "exp(z) / sum(exp(z), axis=0)",
                 NULL);
    }
    /* every param's gradient: deferred, absorbed, the naive chain, from the logits */
    const term **naive = mem_zalloc(p->pool, (d->n + 1) * sizeof *naive);
    build_naive(p, naive);
    /* and from the logits, when the output gradient is A - Y */
    const term **logit = mem_zalloc(p->pool, (d->n + 1) * sizeof *logit);
    logit_at l = {0, NULL};
    l.t = logit_gradient(p, &l.at);
    if (l.t != NULL) {
        rewrite_gradients(p, logit, logit_first, &l);
        /* the output gradient itself, where the cancellation happens: the
           params' sums are dominated by the least confident examples */
        const gradient *g = &d->g[l.at];
        const term *def = g->deferred_name->definition;
        size_t q = add_quantity(p, g->deferred_name->name, def);
        add_form(p, ROUNDOFF_FORM_TERM, q, "deferred", formula_text(p, def), def);
        if (naive[l.at] != NULL)
            add_form(p, ROUNDOFF_FORM_TERM, q, "naive chain", formula_text(p, naive[l.at]),
                     naive[l.at]);
        add_form(p, ROUNDOFF_FORM_TERM, q, "from logits", formula_text(p, l.t), l.t);
    }
    for (size_t i = 0; i < d->n; i++) {
        const gradient *g = &d->g[i];
        if (g->of->kind != SYM_PARAM)
            continue;
        const term *def = derive_pretty(d, g, CONVENTION_DEFERRED);
        const term *abs_ = derive_pretty(d, g, CONVENTION_ABSORBED);
        size_t q = add_quantity(p, g->absorbed_name->name, abs_);
        add_form(p, ROUNDOFF_FORM_TERM, q, "deferred", formula_text(p, def), def);
        add_form(p, ROUNDOFF_FORM_TERM, q, "absorbed", formula_text(p, abs_), abs_);
        if (naive[i] != NULL)
            add_form(p, ROUNDOFF_FORM_TERM, q, "naive chain", formula_text(p, naive[i]), naive[i]);
        if (logit[i] != NULL)
            add_form(p, ROUNDOFF_FORM_TERM, q, "from logits", formula_text(p, logit[i]), logit[i]);
        per_example_forms(p, q, def);
        claim_forms(p, claims, g->of, q);
    }
    return p;
}
