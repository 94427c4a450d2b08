/* mem.c: pooled allocation with failure injection; see mem.h. */
#include "base/mem.h"

#include <gmp.h>
#include <jansson.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

/* Each block carries a header linking it into its pool, so that the pool can
   free what it owns and a block can be released or resized on its own. */
typedef struct block {
    struct block *prev, *next;
    size_t size; /* of data, for mem_bytes_in_use */
    max_align_t data[];
} block;

struct mem_pool {
    block head; /* circular list sentinel */
    jmp_buf *on_oom;
};

/* The failure injection state is the calling thread's own: the threads of
   an error sweep allocate all the time, and a shared counter would be both
   a data race and a cache line every allocation fights over. */
static _Thread_local long fail_countdown; /* 0: off; n: the n-th next allocation fails */
static _Thread_local int failure_seen;
static _Thread_local long allocations;
static mem_pool *gmp_pool; /* where GMP's blocks go; NULL: no pool */
/* Bytes of live blocks (pools' headers and blocks, GMP's and jansson's
   outside pools) the calling thread allocated less those it freed: per
   thread, like the counters above, so that an error sweep's threads never
   share a cache line on every allocation. */
static _Thread_local long long bytes_in_use;

static void
count_bytes(long long delta)
{
    bytes_in_use += delta;
}

long long
mem_bytes_in_use(void)
{
    return bytes_in_use;
}

void
mem_fail_after(long n)
{
    fail_countdown = n > 0 ? n : 0;
}

int
mem_failed(void)
{
    int seen = failure_seen;
    failure_seen = 0;
    return seen;
}

long
mem_allocations(void)
{
    return allocations;
}

/* Whether this allocation is the one a test asked to fail. */
static int
injected_failure(void)
{
    allocations++;
    if (fail_countdown == 0)
        return 0;
    return --fail_countdown == 0;
}

mem_pool *
mem_pool_new(void)
{
    if (injected_failure()) {
        failure_seen = 1;
        return NULL;
    }
    mem_pool *pool = malloc(sizeof *pool);
    if (pool == NULL) {
        failure_seen = 1;
        return NULL;
    }
    pool->head.prev = pool->head.next = &pool->head;
    pool->head.size = 0;
    pool->on_oom = NULL;
    count_bytes((long long)sizeof *pool);
    return pool;
}

void
mem_pool_clear(mem_pool *pool)
{
    block *b = pool->head.next;
    while (b != &pool->head) {
        block *next = b->next;
        count_bytes(-(long long)(sizeof(block) + b->size));
        free(b);
        b = next;
    }
    pool->head.prev = pool->head.next = &pool->head;
}

void
mem_pool_free(mem_pool *pool)
{
    if (pool == NULL)
        return;
    if (pool == gmp_pool)
        gmp_pool = NULL;
    mem_pool_clear(pool);
    count_bytes(-(long long)sizeof *pool);
    free(pool);
}

jmp_buf *
mem_pool_on_oom(mem_pool *pool, jmp_buf *target)
{
    jmp_buf *old = pool->on_oom;
    pool->on_oom = target;
    return old;
}

/* Report an allocation failure: jump to the pool's target. Without one the
   failure cannot be reported as a value, so the process stops: that is a bug
   in the caller (an entry point that did not set a target). */
_Noreturn static void
out_of_memory(mem_pool *pool)
{
    failure_seen = 1;
    if (pool->on_oom != NULL)
        longjmp(*pool->on_oom, 1);
    abort();
}

void
mem_oom(mem_pool *pool)
{
    out_of_memory(pool);
}

static void
link_block(mem_pool *pool, block *b)
{
    b->prev = &pool->head;
    b->next = pool->head.next;
    pool->head.next->prev = b;
    pool->head.next = b;
}

static block *
header_of(void *p)
{
    return (block *)((char *)p - offsetof(block, data));
}

void *
mem_alloc(mem_pool *pool, size_t size)
{
    if (size > SIZE_MAX - sizeof(block) || injected_failure())
        out_of_memory(pool);
    block *b = malloc(sizeof(block) + size);
    if (b == NULL)
        out_of_memory(pool);
    b->size = size;
    count_bytes((long long)(sizeof(block) + size));
    link_block(pool, b);
    return b->data;
}

void *
mem_zalloc(mem_pool *pool, size_t size)
{
    void *p = mem_alloc(pool, size);
    memset(p, 0, size);
    return p;
}

void *
mem_realloc(mem_pool *pool, void *p, size_t size)
{
    if (p == NULL)
        return mem_alloc(pool, size);
    if (size > SIZE_MAX - sizeof(block) || injected_failure())
        out_of_memory(pool);
    block *old = header_of(p);
    block *prev = old->prev, *next = old->next;
    size_t old_size = old->size;
    block *b = realloc(old, sizeof(block) + size);
    if (b == NULL)
        out_of_memory(pool); /* old is still linked and still owned */
    b->size = size;
    count_bytes((long long)size - (long long)old_size);
    prev->next = b;
    next->prev = b;
    return b->data;
}

void
mem_release(mem_pool *pool, void *p)
{
    (void)pool;
    if (p == NULL)
        return;
    block *b = header_of(p);
    b->prev->next = b->next;
    b->next->prev = b->prev;
    count_bytes(-(long long)(sizeof(block) + b->size));
    free(b);
}

char *
mem_strndup(mem_pool *pool, const char *s, size_t n)
{
    char *copy = mem_alloc(pool, n + 1);
    memcpy(copy, s, n);
    copy[n] = '\0';
    return copy;
}

char *
mem_strdup(mem_pool *pool, const char *s)
{
    return mem_strndup(pool, s, strlen(s));
}

/* ---- GMP and MPFR ---- */

/* A block that belongs to no pool is linked to itself, so that releasing
   it (mem_release) works as for any other block. */
static void *
unowned_block(block *b, size_t size)
{
    if (b == NULL)
        abort(); /* GMP cannot be told: its allocation functions may not fail */
    b->prev = b->next = b;
    b->size = size;
    return b->data;
}

static void *
gmp_alloc(size_t size)
{
    if (gmp_pool != NULL)
        return mem_alloc(gmp_pool, size);
    if (size > SIZE_MAX - sizeof(block))
        abort();
    count_bytes((long long)(sizeof(block) + size));
    return unowned_block(malloc(sizeof(block) + size), size);
}

static void *
gmp_realloc(void *p, size_t old_size, size_t size)
{
    (void)old_size;
    block *b = header_of(p);
    if (b->next != b && gmp_pool != NULL)
        return mem_realloc(gmp_pool, p, size);
    if (size > SIZE_MAX - sizeof(block))
        abort();
    size_t was = b->size;
    if (b->next == b) {
        count_bytes((long long)size - (long long)was);
        return unowned_block(realloc(b, sizeof(block) + size), size);
    }
    /* a pool's block resized outside any entry point: keep it in its pool */
    block *prev = b->prev, *next = b->next;
    block *moved = realloc(b, sizeof(block) + size);
    if (moved == NULL)
        abort();
    moved->size = size;
    count_bytes((long long)size - (long long)was);
    prev->next = moved;
    next->prev = moved;
    return moved->data;
}

static void
gmp_free(void *p, size_t size)
{
    (void)size;
    mem_release(NULL, p);
}

mem_pool *
mem_gmp_pool(mem_pool *pool)
{
    mem_pool *old = gmp_pool;
    gmp_pool = pool;
    return old;
}

/* ---- jansson ---- */

/* Like GMP's: a block of the pool mem_gmp_pool set (failing, if it fails, by
   the pool's longjmp, so that jansson's own recovery paths are never relied
   on and a tree a jump strands is freed with the pool), else a block of no
   pool. jansson, unlike GMP, copes with NULL, so a real failure outside a
   pool is returned as NULL. */
static void *
json_alloc(size_t size)
{
    if (gmp_pool != NULL)
        return mem_alloc(gmp_pool, size);
    if (size > SIZE_MAX - sizeof(block))
        return NULL;
    block *b = malloc(sizeof(block) + size);
    if (b == NULL)
        return NULL;
    count_bytes((long long)(sizeof(block) + size));
    return unowned_block(b, size);
}

static void
json_release(void *p)
{
    mem_release(NULL, p);
}

/* Installed when the library is loaded, before any GMP number or JSON value
   can exist. */
__attribute__((constructor)) static void
route_gmp(void)
{
    mp_set_memory_functions(gmp_alloc, gmp_realloc, gmp_free);
    json_set_alloc_funcs(json_alloc, json_release);
}
