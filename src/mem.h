/* mem.h: the one allocation entry point; every block belongs to a pool freed at once. */
#ifndef DC_MEM_H
#define DC_MEM_H

#include <setjmp.h>
#include <stddef.h>

/* A pool owns every block allocated from it; mem_pool_free releases them all.
   Allocation never returns NULL: when malloc fails (or a test has asked the
   n-th allocation to fail) the pool longjmps to its on_oom target, which the
   public entry point that is running has set. Because the pool owns all it
   handed out, nothing leaks on that path. */
typedef struct mem_pool mem_pool;

mem_pool *mem_pool_new(void);
void mem_pool_free(mem_pool *pool);

/* Set (or clear, with NULL) where an allocation failure jumps to; returns
   the target it replaces. */
jmp_buf *mem_pool_on_oom(mem_pool *pool, jmp_buf *target);

void *mem_alloc(mem_pool *pool, size_t size);
void *mem_zalloc(mem_pool *pool, size_t size);
void *mem_realloc(mem_pool *pool, void *block, size_t size);
void mem_release(mem_pool *pool, void *block);
char *mem_strndup(mem_pool *pool, const char *s, size_t n);
char *mem_strdup(mem_pool *pool, const char *s);

/* Make the n-th allocation from now fail (n >= 1); 0 turns injection off.
   Counts every allocation in the process, pool or not: for tests of
   allocation failure (STYLE.md, after SQLite). */
void mem_fail_after(long n);

/* True when an injected or real allocation failure has happened since the
   last call; resets the flag. */
int mem_failed(void);

#endif
