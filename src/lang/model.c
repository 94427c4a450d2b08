/* model.c: the model's symbol table; see model.h. */
#include "lang/model.h"

#include <string.h>

model *
model_new(mem_pool *pool)
{
    model *m = mem_zalloc(pool, sizeof *m);
    m->pool = pool;
    m->index_size = 64;
    m->index = mem_zalloc(pool, m->index_size * sizeof *m->index);
    /* last: the table holds GMP numbers that only model_free clears, and a
       failed allocation after it would leave no model to free them */
    m->terms = term_table_new(pool);
    return m;
}

void
model_free(model *m)
{
    if (m == NULL)
        return;
    term_table_free(m->terms);
    mem_pool_free(m->pool);
}

model *
model_view(model *m, mem_pool *pool)
{
    model *v = mem_alloc(pool, sizeof *v);
    *v = *m;
    v->pool = pool;
    v->terms = term_table_new_over(m->terms, pool);
    return v;
}

static size_t
name_hash(const char *s, size_t len)
{
    size_t h = 5381;
    for (size_t i = 0; i < len; i++)
        h = h * 33 + (unsigned char)s[i];
    return h;
}

symbol *
model_lookup(const model *m, const char *name, size_t len)
{
    size_t mask = m->index_size - 1;
    for (size_t i = name_hash(name, len) & mask;; i = (i + 1) & mask) {
        symbol *s = m->index[i];
        if (s == NULL)
            break;
        if (strlen(s->name) == len && memcmp(s->name, name, len) == 0)
            return s;
    }
    for (size_t i = 0; i < m->naliases; i++)
        if (strlen(m->aliases[i].name) == len && memcmp(m->aliases[i].name, name, len) == 0)
            return (symbol *)m->aliases[i].sym;
    return NULL;
}

symbol *
model_current(const symbol *s)
{
    while (s->later != NULL)
        s = s->later;
    return (symbol *)s;
}

void
model_add_alias(model *m, const char *name, size_t len, const symbol *sym)
{
    m->aliases = mem_realloc(m->pool, m->aliases, (m->naliases + 1) * sizeof *m->aliases);
    m->aliases[m->naliases].name = mem_strndup(m->pool, name, len);
    m->aliases[m->naliases].sym = sym;
    m->aliases[m->naliases].after = m->nsymbols;
    m->naliases++;
}

static void
index_insert(symbol **index, size_t size, symbol *sym)
{
    size_t mask = size - 1;
    size_t i = name_hash(sym->name, strlen(sym->name)) & mask;
    while (index[i] != NULL)
        i = (i + 1) & mask;
    index[i] = sym;
}

void
model_add(model *m, symbol *sym)
{
    if (m->nsymbols == m->cap) {
        size_t cap = m->cap ? m->cap * 2 : 16;
        m->symbols = mem_realloc(m->pool, m->symbols, cap * sizeof *m->symbols);
        m->cap = cap;
    }
    if (2 * (m->nsymbols + 1) > m->index_size) {
        size_t size = m->index_size * 2;
        symbol **index = mem_zalloc(m->pool, size * sizeof *index);
        for (size_t i = 0; i < m->nsymbols; i++)
            index_insert(index, size, m->symbols[i]);
        mem_release(m->pool, m->index);
        m->index = index;
        m->index_size = size;
    }
    m->symbols[m->nsymbols++] = sym;
    index_insert(m->index, m->index_size, sym);
}

const char *
model_convention_name(convention c)
{
    switch (c) {
    case CONVENTION_DEFERRED:
        return "deferred";
    case CONVENTION_ABSORBED:
        return "absorbed";
    default:
        return "auto";
    }
}
