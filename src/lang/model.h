/* model.h: a parsed .dc file: declarations, named definitions, the loss, claims. */
#ifndef DC_MODEL_H
#define DC_MODEL_H

#include <stddef.h>

#include "base/diag.h"
#include "base/mem.h"
#include "lang/term.h"

/* Which placement of the batch factor 1/m the claims follow. */
typedef enum convention {
    CONVENTION_AUTO,     /* either is accepted; the report says which */
    CONVENTION_DEFERRED, /* dV = m * dJ/dV for intermediates */
    CONVENTION_ABSORBED, /* dV = dJ/dV */
} convention;

/* A model owns its pool: every symbol, term and string of it. */
typedef struct model {
    mem_pool *pool;
    source src; /* a private copy of the text, for error places */
    term_table *terms;
    symbol **symbols; /* every name, in the order declared */
    size_t nsymbols, cap;
    symbol **index; /* open-addressing table over symbols, by name */
    size_t index_size;
    const symbol *batch; /* the batch dim m; NULL when absent or per-example */
    int batch_is_one;    /* "batch 1": per-example notation */
    size_t batch_line;   /* offset of the batch statement */
    const symbol *loss;
    convention convention;
    int convention_given; /* whether the file has a convention line */
    /* other names of dims and values, from pasted code (num_train =
       X.shape[0]; (Z1, A1) = cache where cache = (z1, a1)) */
    struct model_alias {
        const char *name;
        const symbol *sym;
        size_t after; /* the symbols declared before it: a symbol of index AFTER or more
                         comes after it in the source (a claim may use the name) */
    } * aliases;
    size_t naliases;
} model;

/* A new, empty model allocated from POOL, which it then owns. */
model *model_new(mem_pool *pool);
/* Free the model and its pool. */
void model_free(model *m);

/* M as one call on it sees it (api.c): the same symbols, declarations and
   source, but its pool is POOL and its term table is layered over M's
   (term_table_new_over), so that everything the call makes (derivations,
   gradient symbols, terms, GMP numbers) goes with POOL and M stays as it
   was loaded. The view shares M's symbol arrays: nothing may be added to
   it (model_add), and a call that changes a symbol of M for a while (a
   label's assumption, a dim's value) puts it back, on an allocation
   failure too. */
model *model_view(model *m, mem_pool *pool);

/* The symbol named NAME[0..len) (the first version of a reassigned name;
   model_current follows it to the last), or the dim an alias names, or
   NULL. */
symbol *model_lookup(const model *m, const char *name, size_t len);
/* The last version of S (S itself when it was never reassigned). */
symbol *model_current(const symbol *s);
/* Make NAME (copied) another name of SYM, a dim or a value. */
void model_add_alias(model *m, const char *name, size_t len, const symbol *sym);
/* Add SYM (whose name must be new) to the model. */
void model_add(model *m, symbol *sym);

const char *model_convention_name(convention c);

#endif
