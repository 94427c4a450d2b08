/* term.c: the hash-consed term table; see term.h. */
#include "lang/term.h"

#include <stdio.h>
#include <string.h>

#include "base/text.h"

struct term_table {
    mem_pool *pool;
    const term_table *base; /* looked up first, never changed; NULL: none */
    term **buckets;
    size_t nbuckets, count;
    size_t nconstants;
    term **const_list;
    size_t const_cap;
    int has_scratch;
    /* Numbers for building constants: a failed allocation longjmps, and a
       GMP temporary in a local would then leak; these are cleared with the
       table. */
    mpq_t scratch;
    mpz_t scratch_z;
};

static const char *const op_names[OP_COUNT] = {
    [OP_CONST] = "const",
    [OP_SYM] = "symbol",
    [OP_ADD] = "add",
    [OP_MUL] = "mul",
    [OP_DIV] = "div",
    [OP_POW] = "pow",
    [OP_NEG] = "neg",
    [OP_EXP] = "exp",
    [OP_LOG] = "log",
    [OP_TANH] = "tanh",
    [OP_SIGMOID] = "sigmoid",
    [OP_RELU] = "relu",
    [OP_STEP] = "step",
    [OP_SOFTMAX] = "softmax",
    [OP_MATMUL] = "matmul",
    [OP_TRANSPOSE] = "transpose",
    [OP_SUM] = "sum",
    [OP_BROADCAST] = "broadcast",
    [OP_UNBROADCAST] = "unbroadcast",
    [OP_BROADCAST_LIKE] = "broadcast",
    [OP_MAXIMUM] = "maximum",
    [OP_MINIMUM] = "minimum",
    [OP_ABS] = "abs",
    [OP_SQRT] = "sqrt",
    [OP_LOG1P] = "log1p",
    [OP_MAX] = "max",
};

const char *
term_op_name(term_op op)
{
    return op >= 0 && op < OP_COUNT ? op_names[op] : "?";
}

const char *
term_label_name(label_assumption a)
{
    static const char *const names[] = {[LABEL_ANY] = "none",
                                        [LABEL_BINARY] = "binary",
                                        [LABEL_ONEHOT] = "onehot",
                                        [LABEL_PROB] = "prob"};
    return (unsigned)a < sizeof names / sizeof names[0] ? names[a] : "?";
}

term_table *
term_table_new(mem_pool *pool)
{
    return term_table_new_over(NULL, pool);
}

term_table *
term_table_new_over(const term_table *base, mem_pool *pool)
{
    term_table *tab = mem_zalloc(pool, sizeof *tab);
    tab->pool = pool;
    tab->base = base;
    tab->nbuckets = 256;
    tab->buckets = mem_zalloc(pool, tab->nbuckets * sizeof *tab->buckets);
    mpq_init(tab->scratch);
    mpz_init(tab->scratch_z);
    tab->has_scratch = 1;
    return tab;
}

void
term_table_free(term_table *tab)
{
    if (tab == NULL)
        return;
    for (size_t i = 0; i < tab->nconstants; i++)
        mpq_clear(tab->const_list[i]->value);
    tab->nconstants = 0;
    if (tab->has_scratch) {
        mpq_clear(tab->scratch);
        mpz_clear(tab->scratch_z);
        tab->has_scratch = 0;
    }
}

mem_pool *
term_table_pool(const term_table *tab)
{
    return tab->pool;
}

size_t
term_table_count(const term_table *tab)
{
    return tab->count + (tab->base != NULL ? term_table_count(tab->base) : 0);
}

/* FNV-1a over the words that identify a term. */
static uint32_t
mix(uint32_t h, uint64_t word)
{
    for (int i = 0; i < 8; i++) {
        h ^= (uint32_t)(word & 0xff);
        h *= 16777619u;
        word >>= 8;
    }
    return h;
}

static uint32_t
hash_mpz(uint32_t h, const mpz_t z)
{
    size_t n = mpz_size(z);
    h = mix(h, (uint64_t)mpz_sgn(z));
    for (size_t i = 0; i < n; i++)
        h = mix(h, (uint64_t)mpz_getlimbn(z, (mp_size_t)i));
    return h;
}

/* A term's identity is its operation, aux, keepdims, arguments, symbol and
   value; the shape follows from those, except for a broadcast, whose target
   shape is part of its identity. */
static uint32_t
hash_shape(uint32_t h, const shape *s)
{
    h = mix(h, (uint64_t)s->rank);
    for (int i = 0; i < s->rank; i++) {
        h = mix(h, (uint64_t)(uintptr_t)s->d[i].sym);
        h = mix(h, (uint64_t)s->d[i].n);
    }
    return h;
}

static uint32_t
hash_of(term_op op, int aux, int keepdims, const term *const *args, unsigned nargs,
        const symbol *sym, const mpq_t *value, const shape *shape)
{
    uint32_t h = 2166136261u;
    h = mix(h, (uint64_t)op);
    if (op == OP_BROADCAST)
        h = hash_shape(h, shape);
    h = mix(h, (uint64_t)(int64_t)aux);
    h = mix(h, (uint64_t)keepdims);
    for (unsigned i = 0; i < nargs; i++)
        h = mix(h, (uint64_t)(uintptr_t)args[i]);
    if (sym != NULL)
        h = mix(h, (uint64_t)(uintptr_t)sym);
    if (value != NULL) {
        h = hash_mpz(h, mpq_numref(*value));
        h = hash_mpz(h, mpq_denref(*value));
    }
    return h;
}

static int
same(const term *t, term_op op, int aux, int keepdims, const term *const *args, unsigned nargs,
     const symbol *sym, const mpq_t *value, const shape *shape)
{
    if (t->op != op || t->aux != aux || t->keepdims != keepdims || t->nargs != nargs ||
        t->sym != sym)
        return 0;
    if (op == OP_BROADCAST && !shape_equal(&t->shape, shape))
        return 0;
    for (unsigned i = 0; i < nargs; i++)
        if (t->args[i] != args[i])
            return 0;
    return value == NULL || mpq_equal(t->value, *value);
}

static void
grow(term_table *tab)
{
    size_t n = tab->nbuckets * 2;
    term **buckets = mem_zalloc(tab->pool, n * sizeof *buckets);
    for (size_t i = 0; i < tab->nbuckets; i++) {
        term *t = tab->buckets[i];
        while (t != NULL) {
            term *next = t->chain;
            t->chain = buckets[t->hash & (n - 1)];
            buckets[t->hash & (n - 1)] = t;
            t = next;
        }
    }
    mem_release(tab->pool, tab->buckets);
    tab->buckets = buckets;
    tab->nbuckets = n;
}

/* Remember a constant so that term_table_free can clear its number. The
   list grows before the term is made, so a failed allocation cannot leave a
   constant whose number nobody clears. */
static void
reserve_constant(term_table *tab)
{
    if (tab->nconstants < tab->const_cap)
        return;
    size_t cap = tab->const_cap ? tab->const_cap * 2 : 64;
    tab->const_list = mem_realloc(tab->pool, tab->const_list, cap * sizeof *tab->const_list);
    tab->const_cap = cap;
}

/* Find or insert the term with this identity and shape: the bases' term if
   one has it (a term is in exactly one table of the chain, so pointer
   equality stays structural equality), else this table's. */
static const term *
intern(term_table *tab, term_op op, int aux, int keepdims, const term *const *args, unsigned nargs,
       const symbol *sym, const mpq_t *value, const shape *shape)
{
    uint32_t h = hash_of(op, aux, keepdims, args, nargs, sym, value, shape);
    for (const term_table *in = tab; in != NULL; in = in->base)
        for (term *t = in->buckets[h & (in->nbuckets - 1)]; t != NULL; t = t->chain)
            if (t->hash == h && same(t, op, aux, keepdims, args, nargs, sym, value, shape))
                return t;
    if (value != NULL)
        reserve_constant(tab);
    if (tab->count >= tab->nbuckets)
        grow(tab);
    term *t = mem_zalloc(tab->pool, sizeof *t + nargs * sizeof t->args[0]);
    t->op = op;
    t->aux = aux;
    t->keepdims = keepdims;
    t->nargs = nargs;
    t->hash = h;
    t->shape = *shape;
    t->sym = sym;
    t->height = sym != NULL && sym->height > 0 ? sym->height : 1;
    for (unsigned i = 0; i < nargs; i++) {
        t->args[i] = args[i];
        if (args[i]->height >= t->height)
            t->height = args[i]->height + 1;
    }
    if (value != NULL) {
        mpq_init(t->value);
        mpq_set(t->value, *value);
        tab->const_list[tab->nconstants++] = t;
    }
    t->chain = tab->buckets[h & (tab->nbuckets - 1)];
    tab->buckets[h & (tab->nbuckets - 1)] = t;
    tab->count++;
    return t;
}

const term *
term_const(term_table *tab, const mpq_t value)
{
    return intern(tab, OP_CONST, 0, 0, NULL, 0, NULL, (const mpq_t *)value, &shape_scalar);
}

const term *
term_const_si(term_table *tab, long num, unsigned long den)
{
    mpq_set_si(tab->scratch, num, den);
    mpq_canonicalize(tab->scratch);
    return term_const(tab, tab->scratch);
}

mpq_ptr
term_table_scratch(term_table *tab)
{
    return tab->scratch;
}

mpz_ptr
term_table_scratch_z(term_table *tab)
{
    return tab->scratch_z;
}

const term *
term_symbol(term_table *tab, const symbol *sym)
{
    const shape *s = sym->kind == SYM_DIM || sym->kind == SYM_BATCH ? &shape_scalar : &sym->shape;
    return intern(tab, OP_SYM, 0, 0, NULL, 0, sym, NULL, s);
}

/* Fold -c and c1 / c2 for constants c, so that a literal such as -1 or 1/2
   is one constant term however it was written. Returns NULL when there is
   nothing to fold. */
static const term *
fold_constant(term_table *tab, term_op op, const term *const *args, unsigned nargs)
{
    if (op == OP_NEG && nargs == 1 && args[0]->op == OP_CONST) {
        mpq_neg(tab->scratch, args[0]->value);
        return term_const(tab, tab->scratch);
    }
    if (op == OP_DIV && nargs == 2 && args[0]->op == OP_CONST && args[1]->op == OP_CONST &&
        mpq_sgn(args[1]->value) != 0) {
        mpq_div(tab->scratch, args[0]->value, args[1]->value);
        return term_const(tab, tab->scratch);
    }
    return NULL;
}

/* The shape of OP over ARGS, or 0 with the reason in WHY. */
static int
result_shape(shape *out, term_op op, int aux, int keepdims, const term *const *args, char *why)
{
    switch (op) {
    case OP_ADD:
        return shape_broadcast(out, &args[0]->shape, &args[1]->shape, "+", why);
    case OP_MUL:
        return shape_broadcast(out, &args[0]->shape, &args[1]->shape, "*", why);
    case OP_DIV:
        return shape_broadcast(out, &args[0]->shape, &args[1]->shape, "/", why);
    case OP_POW:
        return shape_broadcast(out, &args[0]->shape, &args[1]->shape, "^", why);
    case OP_MAXIMUM:
        return shape_broadcast(out, &args[0]->shape, &args[1]->shape, "maximum", why);
    case OP_MINIMUM:
        return shape_broadcast(out, &args[0]->shape, &args[1]->shape, "minimum", why);
    case OP_STEP:
        return shape_broadcast(out, &args[0]->shape, &args[1]->shape, aux ? ">=" : ">", why);
    case OP_MATMUL:
        return shape_matmul(out, &args[0]->shape, &args[1]->shape, why);
    case OP_TRANSPOSE:
        shape_transpose(out, &args[0]->shape);
        return 1;
    case OP_UNBROADCAST:
    case OP_BROADCAST_LIKE:
        *out = args[1]->shape;
        return 1;
    case OP_SUM:
    case OP_MAX:
        return shape_sum(out, &args[0]->shape, aux, keepdims, why);
    case OP_SOFTMAX:
        if (args[0]->shape.rank != SHAPE_ANY_RANK && aux >= args[0]->shape.rank) {
            snprintf(why, SHAPE_WHY,
                     "softmax over axis %d of a %d-D value: the axis is out of "
                     "bounds",
                     aux, args[0]->shape.rank);
            return 0;
        }
        *out = args[0]->shape;
        return 1;
    default: /* elementwise functions of one argument */
        *out = args[0]->shape;
        return 1;
    }
}

const term *
term_broadcast(term_table *tab, const term *arg, const shape *to, int axis, char *why)
{
    shape back;
    int ok;
    if (axis >= 0) /* summing TO over AXIS must give ARG's shape back */
        ok = axis < to->rank && shape_sum(&back, to, axis, arg->shape.rank == to->rank, why) &&
             shape_equal(&back, &arg->shape);
    else /* NumPy broadcasting of ARG with TO must give TO */
        ok = shape_broadcast(&back, &arg->shape, to, "broadcast to", why) && shape_equal(&back, to);
    if (!ok) {
        text t;
        text_init(&t, tab->pool);
        shape_print(&t, &arg->shape);
        text_puts(&t, " cannot be broadcast to ");
        shape_print(&t, to);
        snprintf(why, SHAPE_WHY, "%s", text_str(&t));
        mem_release(tab->pool, t.s);
        return NULL;
    }
    return intern(tab, OP_BROADCAST, axis, 0, &arg, 1, NULL, NULL, to);
}

const term *
term_make(term_table *tab, term_op op, int aux, int keepdims, const term *const *args,
          unsigned nargs, char *why)
{
    const term *folded = fold_constant(tab, op, args, nargs);
    if (folded != NULL)
        return folded;
    shape s;
    if (!result_shape(&s, op, aux, keepdims, args, why))
        return NULL;
    return intern(tab, op, aux, keepdims, args, nargs, NULL, NULL, &s);
}

const term *
term_rebuild(term_table *tab, const term *t, const term *const *args, char *why)
{
    if (t->op == OP_BROADCAST)
        return term_broadcast(tab, args[0], &t->shape, t->aux, why);
    return term_make(tab, t->op, t->aux, t->keepdims, args, t->nargs, why);
}

struct term_map {
    mem_pool *pool;
    const term **keys, **values;
    size_t size, count;
};

term_map *
term_map_new(mem_pool *pool)
{
    term_map *map = mem_zalloc(pool, sizeof *map);
    map->pool = pool;
    map->size = 64;
    map->keys = mem_zalloc(pool, map->size * sizeof *map->keys);
    map->values = mem_zalloc(pool, map->size * sizeof *map->values);
    return map;
}

const term *
term_map_get(const term_map *map, const term *key)
{
    size_t mask = map->size - 1;
    for (size_t i = key->hash & mask; map->keys[i] != NULL; i = (i + 1) & mask)
        if (map->keys[i] == key)
            return map->values[i];
    return NULL;
}

static void
map_insert(const term **keys, const term **values, size_t size, const term *key, const term *value)
{
    size_t mask = size - 1, i = key->hash & mask;
    while (keys[i] != NULL && keys[i] != key)
        i = (i + 1) & mask;
    keys[i] = key;
    values[i] = value;
}

void
term_map_put(term_map *map, const term *key, const term *value)
{
    if (2 * (map->count + 1) > map->size) {
        size_t size = map->size * 2;
        const term **keys = mem_zalloc(map->pool, size * sizeof *keys);
        const term **values = mem_zalloc(map->pool, size * sizeof *values);
        for (size_t i = 0; i < map->size; i++)
            if (map->keys[i] != NULL)
                map_insert(keys, values, size, map->keys[i], map->values[i]);
        mem_release(map->pool, map->keys);
        mem_release(map->pool, map->values);
        map->keys = keys;
        map->values = values;
        map->size = size;
    }
    if (term_map_get(map, key) == NULL)
        map->count++;
    map_insert(map->keys, map->values, map->size, key, value);
}

long
term_occurrences(const term *t, const symbol *s)
{
    if (t->op == OP_SYM)
        return t->sym == s;
    long n = 0;
    for (unsigned i = 0; i < t->nargs; i++)
        n += term_occurrences(t->args[i], s);
    return n;
}

/* T, which WITH does not map, over its arguments replaced: term_replace
   one level down. */
static const term *
replace_arguments(term_table *tab, const term *t, const term_map *with, term_map *memo,
                  unsigned flags)
{
    const term *args[2];
    int changed = 0;
    for (unsigned k = 0; k < t->nargs; k++) {
        args[k] = term_replace(tab, t->args[k], with, memo, flags);
        if (args[k] == NULL)
            return NULL;
        changed |= args[k] != t->args[k];
    }
    if (!changed)
        return t;
    char why[SHAPE_WHY];
    const term *out = term_rebuild(tab, t, args, why);
    return out == NULL && (flags & TERM_REPLACE_KEEP_MISFITS) ? t : out;
}

const term *
term_replace(term_table *tab, const term *t, const term_map *with, term_map *memo, unsigned flags)
{
    const term *out = term_map_get(memo, t);
    if (out != NULL)
        return out;
    const term *image = term_map_get(with, t);
    if (image != NULL && !(flags & TERM_REPLACE_DEEP))
        return image;
    if (image == NULL && t->nargs == 0)
        return t;
    out = image != NULL ? term_replace(tab, image, with, memo, flags)
                        : replace_arguments(tab, t, with, memo, flags);
    if (out != NULL)
        term_map_put(memo, t, out);
    return out;
}

const term *
term_substitute(term_table *tab, const term *t, const symbol *const *from, const term *const *to,
                size_t n, term_map *memo)
{
    term_map *with = term_map_new(tab->pool);
    for (size_t i = 0; i < n; i++) {
        const term *s = to[i] != NULL ? term_symbol(tab, from[i]) : NULL;
        if (s != NULL && term_map_get(with, s) == NULL)
            term_map_put(with, s, to[i]);
    }
    return term_replace(tab, t, with, memo, 0);
}
