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
/* Free every block of POOL, keeping the pool (and its on_oom target). */
void mem_pool_clear(mem_pool *pool);

/* Set (or clear, with NULL) where an allocation failure jumps to; returns
   the target it replaces. */
jmp_buf *mem_pool_on_oom(mem_pool *pool, jmp_buf *target);

/* Report an allocation failure that a lower layer caught and turned into a
   value (eval_term's "out of memory"): jump to POOL's target as the failed
   allocation would have. Never returns. */
_Noreturn void mem_oom(mem_pool *pool);

void *mem_alloc(mem_pool *pool, size_t size);
void *mem_zalloc(mem_pool *pool, size_t size);
void *mem_realloc(mem_pool *pool, void *block, size_t size);
void mem_release(mem_pool *pool, void *block);
char *mem_strndup(mem_pool *pool, const char *s, size_t n);
char *mem_strdup(mem_pool *pool, const char *s);

/* GMP, MPFR and jansson allocate through this module too: the library
   installs its functions with mp_set_memory_functions and
   json_set_alloc_funcs when it is loaded (before any GMP number or JSON
   value exists, so that every block they free is one of ours). Between
   mem_gmp_pool(P) and mem_gmp_pool(NULL), their blocks belong to pool P:
   they count for mem_fail_after, a failure longjmps to P's on_oom target
   like any other (jansson is never left to recover by itself), and the
   numbers and JSON values such a jump strands are freed with P. So P must
   outlive every GMP number and JSON value made while it is set (a public
   entry point sets its call's work pool, and a load points GMP at the
   model's or the rule set's pool while it makes the numbers they keep) and
   MPFR's caches, which outlive calls, must be dropped (mpfr_free_cache)
   before P is set aside. Outside, their blocks belong to no pool and are
   never made to fail.
   Returns the pool it replaces. */
mem_pool *mem_gmp_pool(mem_pool *pool);

/* Make the n-th allocation from now fail (n >= 1); 0 turns injection off.
   Counts every allocation of the calling thread, pool or not: for tests of
   allocation failure (STYLE.md, after SQLite). The counter, the injection
   and mem_failed's flag are per thread, so worker threads never share them. */
void mem_fail_after(long n);

/* How many allocations (pool or GMP's within a pool) the calling thread has
   attempted since it started: tests size their failure loops with it. */
long mem_allocations(void);

/* Bytes held right now by the live blocks of this module (pools and their
   blocks, GMP's, MPFR's and jansson's blocks in or out of pools, headers
   included) that the calling thread allocated, less those it freed: tests
   show with it that repeated calls do not grow memory. Per thread, like the
   counters above. */
long long mem_bytes_in_use(void);

/* True when an injected or real allocation failure has happened since the
   last call; resets the flag. */
int mem_failed(void);

#endif
