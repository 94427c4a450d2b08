/* mem.c: pooled allocation with failure injection; see mem.h. */
#include "mem.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

/* Each block carries a header linking it into its pool, so that the pool can
   free what it owns and a block can be released or resized on its own. */
typedef struct block {
    struct block *prev, *next;
    max_align_t data[];
} block;

struct mem_pool {
    block head; /* circular list sentinel */
    jmp_buf *on_oom;
};

static long fail_countdown; /* 0: off; n: the n-th next allocation fails */
static int failure_seen;

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

/* Whether this allocation is the one a test asked to fail. */
static int
injected_failure(void)
{
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
    pool->on_oom = NULL;
    return pool;
}

void
mem_pool_free(mem_pool *pool)
{
    if (pool == NULL)
        return;
    block *b = pool->head.next;
    while (b != &pool->head) {
        block *next = b->next;
        free(b);
        b = next;
    }
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
static void
out_of_memory(mem_pool *pool)
{
    failure_seen = 1;
    if (pool->on_oom != NULL)
        longjmp(*pool->on_oom, 1);
    abort();
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
    block *b = realloc(old, sizeof(block) + size);
    if (b == NULL)
        out_of_memory(pool); /* old is still linked and still owned */
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
