/* derive.c: symbolic reverse mode through the rule base; see derive.h. */
#include "sym/derive.h"

#include <stdio.h>
#include <string.h>

#include "sym/canon.h"
#include "sym/pretty.h"

enum { SIMPLIFY_ROUNDS = 16 };

typedef struct deriver {
    const model *m;
    const rule_set *rs;
    const label_assumption_set *assume;
    term_table *tab;
    dc_error *err;
    mem_pool *err_pool;
    gradient *by_symbol;  /* indexed like m->symbols; .of NULL when not needed */
    const term **contrib; /* the sum of what has flowed into each symbol so far */
    char *depends;        /* whether each symbol depends on a param */
    char *relevant;       /* whether the loss depends on it through params */
    const term **defs;    /* each definition as differentiated: recognise.rules applied */
    long steps;
    trace path; /* the adjoint steps from the definition's root to here */
    int failed;
} deriver;

static size_t
index_of(const deriver *d, const symbol *s)
{
    for (size_t i = 0; i < d->m->nsymbols; i++)
        if (d->m->symbols[i] == s)
            return i;
    return (size_t)-1;
}

/* Whether T mentions a symbol that depends on a param. */
static int
term_depends(const deriver *d, const term *t)
{
    if (t->op == OP_SYM) {
        size_t i = index_of(d, t->sym);
        return i != (size_t)-1 && d->depends[i];
    }
    for (unsigned k = 0; k < t->nargs; k++)
        if (term_depends(d, t->args[k]))
            return 1;
    return 0;
}

/* Mark every symbol of T relevant (the loss depends on it). */
static void
mark_relevant(deriver *d, const term *t)
{
    if (t->op == OP_SYM) {
        size_t i = index_of(d, t->sym);
        if (i != (size_t)-1 && d->depends[i])
            d->relevant[i] = 1;
        return;
    }
    for (unsigned k = 0; k < t->nargs; k++)
        mark_relevant(d, t->args[k]);
}

static void
fail(deriver *d, const char *fmt, const char *a, const char *b)
{
    if (d->failed)
        return;
    diag_plain(d->err, d->err_pool, DC_EINPUT, fmt, a, b);
    d->failed = 1;
}

static const term *
add(deriver *d, const term *a, const term *b)
{
    if (a == NULL)
        return b;
    const term *args[2] = {a, b};
    char why[SHAPE_WHY];
    return term_make(d->tab, OP_ADD, 0, 0, args, 2, why);
}

/* Whether RS has any adjoint rule for argument K of operation OP. */
static int
has_adjoint(const rule_set *rs, term_op op, unsigned k)
{
    for (size_t j = 0; j < rs->n; j++)
        if (rs->rules[j].kind == RULE_ADJOINT && rs->rules[j].lhs->op == op &&
            rs->rules[j].input_index == k)
            return 1;
    return 0;
}

const term *
derive_adjoint(term_table *tab, const rule_set *rs, const label_assumption_set *assume,
               const term *t, unsigned k, const term *g, const term *c, const rule **used,
               char *why)
{
    match with_g = {.n = 0};
    match_bind(&with_g, rs->G, g);
    *used = NULL;
    for (size_t j = 0; j < rs->n; j++) {
        const rule *r = &rs->rules[j];
        if (r->kind != RULE_ADJOINT || r->input_index != k || r->lhs->op != t->op)
            continue;
        match m = with_g;
        match_bind(&m, r->output, c);
        if (rule_match(r->lhs, t, &m) && rule_conditions_hold(r, &m, assume)) {
            *used = r;
            return rule_instantiate(tab, r->rhs, &m, why);
        }
    }
    return NULL;
}

/* T, an instance of the rule formula TPL, without the factor G that TPL
   multiplies by first: G * C * (1 - C) is C * (1 - C). NULL when TPL is
   not G times something. */
static const term *
without_gradient(term_table *tab, const symbol *G, const term *tpl, const term *t)
{
    if (tpl->op != OP_MUL || t->op != OP_MUL)
        return NULL;
    const term *left = tpl->args[0];
    if (left->op == OP_SYM && left->sym == G)
        return t->args[1];
    const term *args[2] = {without_gradient(tab, G, left, t->args[0]), t->args[1]};
    char why[SHAPE_WHY];
    return args[0] != NULL ? term_make(tab, OP_MUL, 0, 0, args, 2, why) : NULL;
}

const term *
derive_activation_derivative(term_table *tab, const rule_set *rs, term_op op, const term *z,
                             const term *c)
{
    char why[SHAPE_WHY];
    const term *t = term_make(tab, op, 0, 0, &z, 1, why);
    const rule *r = NULL;
    const term *dz = t != NULL
                         ? derive_adjoint(tab, rs, NULL, t, 0, term_const_si(tab, 1, 1), c, &r, why)
                         : NULL;
    if (dz == NULL || term_occurrences(r->rhs, rs->G) != 1)
        return NULL;
    return without_gradient(tab, rs->G, r->rhs, dz);
}

/* Let gradient G of T's value flow down into T's arguments, through one
   adjoint rule per operation, until it reaches named symbols. OUT is what
   the rules call C: the symbol's name at the root of a definition. */
static void
flow(deriver *d, const term *t, const term *g, const term *out)
{
    if (d->failed)
        return;
    if (t->op == OP_SYM) {
        size_t i = index_of(d, t->sym);
        if (i != (size_t)-1 && d->relevant[i]) {
            d->contrib[i] = add(d, d->contrib[i], g);
            /* the steps that brought this part of the gradient here */
            trace *tr = &d->by_symbol[i].steps;
            for (size_t k = 0; k < d->path.n; k++)
                trace_add(tr, d->path.steps[k].rule, NULL, d->path.steps[k].before,
                          d->path.steps[k].after);
        }
        return;
    }
    for (unsigned k = 0; k < t->nargs; k++) {
        if (!term_depends(d, t->args[k]))
            continue;
        const rule *r;
        char why[SHAPE_WHY];
        const term *gk = derive_adjoint(d->tab, d->rs, d->assume, t, k, g, out, &r, why);
        if (r == NULL) {
            char which[32];
            snprintf(which, sizeof which, "%u", k + 1);
            if (has_adjoint(d->rs, t->op, k))
                fail(d,
                     "no adjoint rule applies to the operation '%s' (argument %s) here: "
                     "its rules' conditions do not hold for these shapes or labels",
                     term_op_name(t->op), which);
            else
                fail(d,
                     "no adjoint rule for the operation '%s' (argument %s): the rule "
                     "files say nothing of how a gradient flows through it",
                     term_op_name(t->op), which);
            return;
        }
        if (gk == NULL) {
            fail(d, "the adjoint rule '%s' does not fit: %s", r->name, why);
            return;
        }
        size_t depth = d->path.n;
        trace_add(&d->path, r, NULL, t, gk);
        flow(d, t->args[k], gk, t->args[k]);
        d->path.n = depth;
    }
}

const term *
derive_simplify(term_table *tab, const rule_set *rs, const label_assumption_set *assume,
                const term *t, trace *tr, long *steps, dc_error *err, mem_pool *err_pool)
{
    for (int round = 0; round < SIMPLIFY_ROUNDS; round++) {
        const term *n = canon_normal_form(tab, t);
        if (n != t)
            trace_add_normal_form(tr, t, n);
        const term *r = rules_rewrite(rs, assume, tab, n, tr, steps, err, err_pool);
        if (r == NULL)
            return NULL;
        if (r == n)
            return n;
        t = r;
    }
    return t;
}

/* derive_simplify within a derivation: a failure stops it. */
static const term *
simplify(deriver *d, const term *t, trace *tr)
{
    if (d->failed)
        return t;
    const term *out =
        derive_simplify(d->tab, d->rs, d->assume, t, tr, &d->steps, d->err, d->err_pool);
    if (out == NULL) {
        d->failed = 1;
        return t;
    }
    return out;
}

/* T with each term WITH maps replaced by its image; T itself when a
   rebuilt term would not fit (substitutes have their symbols' shapes, so
   it does not happen). The caller builds WITH once for many terms: a map
   per term would cost the number of gradients each time, and a deep
   network's derivation the square of it. */
static const term *
substitute(deriver *d, const term *t, const term_map *with)
{
    const term *out = term_replace(d->tab, t, with, term_map_new(d->m->pool), 0);
    return out != NULL ? out : t;
}

static symbol *
gradient_symbol(deriver *d, const symbol *v)
{
    symbol *s = mem_zalloc(d->m->pool, sizeof *s);
    size_t len = strlen(v->name);
    char *name = mem_alloc(d->m->pool, len + 2);
    name[0] = 'd';
    memcpy(name + 1, v->name, len + 1);
    s->name = name;
    s->kind = SYM_GRAD;
    s->shape = v->shape;
    s->target = v;
    s->offset = v->offset;
    return s;
}

/* Which symbols need a gradient: those that depend on a param and on
   which the loss depends. */
static void
find_relevant(deriver *d)
{
    const model *m = d->m;
    for (size_t i = 0; i < m->nsymbols; i++) {
        const symbol *s = m->symbols[i];
        d->depends[i] = s->kind == SYM_PARAM || (s->kind == SYM_DEF && term_depends(d, d->defs[i]));
    }
    size_t loss = index_of(d, m->loss);
    d->relevant[loss] = d->depends[loss];
    for (size_t i = m->nsymbols; i-- > 0;)
        if (m->symbols[i]->kind == SYM_DEF && d->relevant[i])
            mark_relevant(d, d->defs[i]);
}

/* Each definition as it is differentiated: with recognise.rules applied,
   whose patterns may look through the names of definitions that no claim
   is about (a name claimed keeps its gradient). Returns 0 when the rules
   do not settle. */
static int
recognise_definitions(deriver *d)
{
    const model *m = d->m;
    term_map *names = term_map_new(m->pool);
    for (size_t i = 0; i < m->nsymbols; i++) {
        const symbol *s = m->symbols[i];
        int claimed = 0;
        for (size_t j = 0; j < m->nsymbols && s->kind == SYM_DEF; j++)
            claimed |= m->symbols[j]->kind == SYM_CLAIM && m->symbols[j]->target == s;
        if (s->kind == SYM_DEF && !claimed)
            term_map_put(names, term_symbol(d->tab, s), s->definition);
    }
    d->defs = mem_zalloc(m->pool, (m->nsymbols + 1) * sizeof *d->defs);
    for (size_t i = 0; i < m->nsymbols; i++) {
        const symbol *s = m->symbols[i];
        if (s->kind != SYM_DEF)
            continue;
        d->defs[i] = rules_recognise(d->rs, names, d->tab, s->definition, NULL, &d->steps, d->err,
                                     d->err_pool);
        if (d->defs[i] == NULL)
            return 0;
    }
    return 1;
}

/* Whether V is an activation of an unnamed argument, A = sigmoid(np.dot(w.T,
   X) + b): the activation's derivative, in A, cancels against dA's formula
   (dA A (1 - A) is A - Y) only where dA is written in, so its gradient is
   not named even where several params use it. */
static int
unnamed_activation(const deriver *d, const symbol *v)
{
    size_t i = index_of(d, v);
    const term *t = i != (size_t)-1 ? d->defs[i] : NULL;
    return t != NULL &&
           (t->op == OP_SIGMOID || t->op == OP_TANH || t->op == OP_EXP || t->op == OP_SOFTMAX) &&
           t->args[0]->op != OP_SYM;
}

/* Put the gradients in the order a derivation writes them. */
static void
order_gradients(deriver *d, derivation *out)
{
    const model *m = d->m;
    out->g = mem_zalloc(m->pool, (m->nsymbols + 1) * sizeof *out->g);
    char *done = mem_zalloc(m->pool, m->nsymbols + 1);
    for (size_t i = m->nsymbols; i-- > 0;) {
        const symbol *s = m->symbols[i];
        if (s->kind != SYM_DEF || !d->relevant[i])
            continue;
        if (s != m->loss)
            out->g[out->n++] = d->by_symbol[i];
        for (size_t j = 0; j < m->nsymbols; j++)
            if (m->symbols[j]->kind == SYM_PARAM && d->relevant[j] && !done[j] &&
                term_occurrences(d->defs[i], m->symbols[j]) > 0) {
                out->g[out->n++] = d->by_symbol[j];
                done[j] = 1;
            }
    }
}

/* The words of the step of G from its absorbed formula to the deferred
   convention's, where an intermediate's gradient dU is m * dJ/dU: each such
   dU that G's formula uses is written in as dU/m (where the 1/m enters),
   and an intermediate G's formula is multiplied by m (where it leaves). The
   trace shows this step, as no rule does. NULL when neither happens (the
   gradient of a param that uses only params' gradients); else in the
   model's pool. The model has a batch dim. */
static const char *
deferral_words(const deriver *d, const derivation *out, const gradient *g)
{
    const char *b = d->m->batch->name, *J = d->m->loss->name;
    text s, used;
    text_init(&s, d->m->pool);
    text_init(&used, d->m->pool);
    int nused = 0;
    for (size_t j = 0; j < out->n; j++) {
        const gradient *u = &out->g[j];
        if (u->of->kind != SYM_PARAM && term_occurrences(g->absorbed, u->absorbed_name) > 0)
            text_printf(&used, "%sd%s/d%s = d%s/%s", nused++ ? ", " : "", J, u->of->name,
                        u->of->name, b);
    }
    if (nused == 0 && g->of->kind == SYM_PARAM)
        return NULL;
    text_printf(&s, "deferred convention (dU = %s * d%s/dU for an intermediate U)", b, J);
    if (nused > 0)
        text_printf(&s, ", where the 1/%s enters: %s %s written in", b, text_str(&used),
                    nused > 1 ? "are" : "is");
    if (g->of->kind != SYM_PARAM)
        text_printf(&s, "%s where the 1/%s leaves: d%s = %s * d%s/d%s", nused > 0 ? "; and" : ",",
                    b, g->of->name, b, J, g->of->name);
    return text_str(&s);
}

/* Whether the gradient formula T is a number: a constant or a dim, through
   arithmetic and broadcasts (1 for a term of a sum, 1/m for a loss's
   average), which reads better written in than named. */
static int
constant_gradient(const term *t)
{
    switch (t->op) {
    case OP_CONST:
        return 1;
    case OP_SYM:
        return t->sym->kind == SYM_DIM;
    case OP_BROADCAST:
    case OP_NEG:
    case OP_ADD:
    case OP_MUL:
    case OP_DIV:
    case OP_POW:
        for (unsigned k = 0; k < t->nargs; k++)
            if (!constant_gradient(t->args[k]))
                return 0;
        return 1;
    default:
        return 0;
    }
}

/* The deferred formulas: every named intermediate gradient dU stands for
   m * dJ/dU, so dU(absorbed) = dU(deferred) / m; an intermediate's own
   formula is multiplied by m. */
static void
defer(deriver *d, derivation *out)
{
    const model *m = d->m;
    size_t n = out->n;
    term_map *with = term_map_new(m->pool);
    const term *batch = m->batch != NULL ? term_symbol(d->tab, m->batch) : NULL;
    char why[SHAPE_WHY];
    for (size_t i = 0; i < n; i++) {
        gradient *g = &out->g[i];
        const term *to = term_symbol(d->tab, g->deferred_name);
        if (batch != NULL && g->of->kind != SYM_PARAM) {
            const term *args[2] = {to, batch};
            to = term_make(d->tab, OP_DIV, 0, 0, args, 2, why);
        }
        term_map_put(with, term_symbol(d->tab, g->absorbed_name), to);
    }
    for (size_t i = 0; i < n && !d->failed; i++) {
        gradient *g = &out->g[i];
        const term *t = substitute(d, g->absorbed, with);
        if (batch != NULL && g->of->kind != SYM_PARAM) {
            const term *args[2] = {batch, t};
            t = term_make(d->tab, OP_MUL, 0, 0, args, 2, why);
        }
        const char *words = batch != NULL ? deferral_words(d, out, g) : NULL;
        if (words != NULL)
            trace_add(&g->steps, NULL, words, g->absorbed, t);
        g->deferred = simplify(d, t, &g->steps);
        g->deferred_name->definition = g->deferred;
    }
}

derivation *
derive(const model *m, const rule_set *rs, const label_assumption_set *assume, dc_error *err,
       mem_pool *err_pool)
{
    deriver d;
    memset(&d, 0, sizeof d);
    d.m = m;
    d.rs = rs;
    d.assume = assume;
    d.tab = m->terms;
    d.err = err;
    d.err_pool = err_pool;
    size_t n = m->nsymbols;
    d.by_symbol = mem_zalloc(m->pool, (n + 1) * sizeof *d.by_symbol);
    d.contrib = mem_zalloc(m->pool, (n + 1) * sizeof *d.contrib);
    d.depends = mem_zalloc(m->pool, n + 1);
    d.relevant = mem_zalloc(m->pool, n + 1);
    if (!recognise_definitions(&d))
        return NULL;
    find_relevant(&d);
    for (size_t i = 0; i < n; i++)
        if (d.relevant[i] && m->symbols[i] != m->loss) {
            gradient *g = &d.by_symbol[i];
            g->of = m->symbols[i];
            g->absorbed_name = gradient_symbol(&d, g->of);
            g->deferred_name = gradient_symbol(&d, g->of);
            trace_init(&g->steps, m->pool);
        }
    /* the flow: from the loss back, each definition's gradient into its parts */
    trace_init(&d.path, m->pool);
    for (size_t i = n; i-- > 0 && !d.failed;) {
        const symbol *s = m->symbols[i];
        if (s->kind != SYM_DEF || !d.relevant[i])
            continue;
        const term *g = s == m->loss ? term_const_si(d.tab, 1, 1)
                                     : term_symbol(d.tab, d.by_symbol[i].absorbed_name);
        d.path.n = 0;
        flow(&d, d.defs[i], g, term_symbol(d.tab, s));
    }
    if (d.failed)
        return NULL;
    derivation *out = mem_zalloc(m->pool, sizeof *out);
    out->m = m;
    out->defs = d.defs;
    order_gradients(&d, out);
    /* a gradient that flows into one symbol is written into that symbol's
       gradient; one that flows into several is named */
    for (size_t i = 0; i < out->n; i++) {
        int users = 0;
        for (size_t j = 0; j < n; j++)
            if (d.contrib[j] != NULL && term_occurrences(d.contrib[j], out->g[i].absorbed_name) > 0)
                users++;
        out->g[i].named = users > 1 && !unnamed_activation(&d, out->g[i].of);
    }
    term_map *written = term_map_new(m->pool); /* gradients used once: name -> formula */
    for (size_t i = 0; i < out->n && !d.failed; i++) {
        gradient *g = &out->g[i];
        const term *raw = d.contrib[index_of(&d, g->of)];
        const term *t = substitute(&d, raw, written);
        if (t != raw)
            trace_add(&g->steps, NULL, "gradients used once written in", raw, t);
        g->absorbed = simplify(&d, t, &g->steps);
        g->absorbed_name->definition = g->absorbed;
        if (g->named && constant_gradient(g->absorbed))
            g->named = 0; /* lambd * W1, not lambd * dL2_cost / m * W1 with dL2_cost = m */
        if (!g->named)
            term_map_put(written, term_symbol(d.tab, g->absorbed_name), g->absorbed);
    }
    if (!d.failed)
        defer(&d, out);
    if (d.failed)
        return NULL;
    /* a gradient's name stands for its formula as written, which is what an
       evaluation of the name computes (in double, the order matters) */
    for (size_t i = 0; i < out->n; i++) {
        gradient *g = &out->g[i];
        g->absorbed_name->definition = derive_pretty(out, g, CONVENTION_ABSORBED);
        g->deferred_name->definition = derive_pretty(out, g, CONVENTION_DEFERRED);
    }
    return out;
}

const term *
derive_definition(const derivation *d, const symbol *s)
{
    for (size_t i = 0; i < d->m->nsymbols; i++)
        if (d->m->symbols[i] == s && s->kind == SYM_DEF)
            return d->defs[i];
    return s->definition;
}

const gradient *
derive_find(const derivation *d, const symbol *v)
{
    for (size_t i = 0; i < d->n; i++)
        if (d->g[i].of == v)
            return &d->g[i];
    return NULL;
}

void
derive_name_formulas(const derivation *d, convention c, term_map *with)
{
    for (size_t i = 0; i < d->n; i++) {
        const gradient *g = &d->g[i];
        const symbol *name = c == CONVENTION_DEFERRED ? g->deferred_name : g->absorbed_name;
        term_map_put(with, term_symbol(d->m->terms, name),
                     c == CONVENTION_DEFERRED ? g->deferred : g->absorbed);
    }
}

const term *
derive_pretty(const derivation *d, const gradient *g, convention c)
{
    return pretty_form(d->m->terms, c == CONVENTION_DEFERRED ? g->deferred : g->absorbed);
}

/* Whether T names the symbol S. */
static int
names(const term *t, const symbol *s)
{
    if (t->op == OP_SYM)
        return t->sym == s;
    for (unsigned k = 0; k < t->nargs; k++)
        if (names(t->args[k], s))
            return 1;
    return 0;
}

/* Gradient I into ORDER at *N, after those its formula names; DONE marks
   the gradients placed. */
static void
place(const derivation *d, convention c, size_t i, char *done, size_t *order, size_t *n)
{
    if (done[i])
        return;
    done[i] = 1;
    const term *f = derive_pretty(d, &d->g[i], c);
    for (size_t j = 0; j < d->n; j++) {
        const symbol *name =
            c == CONVENTION_DEFERRED ? d->g[j].deferred_name : d->g[j].absorbed_name;
        if (j != i && names(f, name))
            place(d, c, j, done, order, n);
    }
    order[(*n)++] = i;
}

void
derive_written_order(const derivation *d, convention c, size_t *order)
{
    char *done = mem_zalloc(d->m->pool, d->n + 1);
    size_t n = 0;
    for (size_t i = 0; i < d->n; i++)
        place(d, c, i, done, order, &n);
    mem_release(d->m->pool, done);
}
