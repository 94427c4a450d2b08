/* check_oom.c: every allocation of derive, prove and check failing in turn, GMP's and MPFR's
 * included. */
#include <check.h>
#include <gmp.h>
#include <jansson.h>
#include <mpfr.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "derivcheck.h"
#include "base/mem.h"
#include "testutil.h"

typedef enum command { DERIVE, PROVE, CHECK, EVAL } command;

static mpfr_exp_t default_emin, default_emax;

/* A session on MODEL whose rules are loaded already (a rules list loads them). */
static dc_session *
session(const char *model)
{
    dc_session *s = tu_session(NULL, model);
    const char *report;
    ck_assert_int_eq(dc_rules_list(s, "text", &report), DC_OK); /* rules loaded */
    return s;
}

static dc_status
run(dc_session *s, command c, const char **report)
{
    switch (c) {
    case DERIVE:
        return dc_derive(s, "text", 1, report);
    case PROVE:
        return dc_prove(s, 7, "json", 1, report);
    case EVAL: /* the data file's JSON is read inside the call */
        return dc_eval(s, DC_TEST_DATADIR "/json/good-sigmoid.json", 7, 64, "json", 0, report);
    case CHECK:
        break;
    }
    return dc_check(s, 7, "text", report);
}

/* Run C on MODEL with the n-th allocation failing, for every n from 1 until
   the command succeeds (STEP > 1: every STEP-th n, to keep make check short;
   DC_OOM_EXHAUSTIVE=1 in the environment tries every n). Each
   failure must be DC_ENOMEM with the report NULL; the session must then
   give the clean report again (nothing was left half-done); the run that
   succeeds must give the clean report. ASan's leak checker sees the rest. */
static void
fail_each_allocation(const char *model, command c, long step)
{
    if (getenv("DC_OOM_EXHAUSTIVE") != NULL) /* every n, however long it takes */
        step = 1;
    dc_session *s = session(model);
    const char *report;
    long before = mem_allocations();
    dc_status want = run(s, c, &report);
    long total = mem_allocations() - before;
    ck_assert(want == DC_OK || want == DC_REFUTED);
    char *clean = strdup(report);
    dc_session_free(s);
    /* GMP's and MPFR's allocations count: a run makes many more than the
       terms and texts alone */
    ck_assert_int_gt(total, 100);

    long failures = 0;
    int done = 0;
    for (long n = 1; !done; n += step) {
        ck_assert_int_le(n, total + step); /* it must succeed at the end */
        s = session(model);
        dc_debug_fail_alloc_after(n);
        dc_status st = run(s, c, &report);
        dc_debug_fail_alloc_after(0);
        if (st == DC_ENOMEM) {
            failures++;
            ck_assert_ptr_null(report);
            ck_assert_str_eq(dc_error_message(dc_session_error(s)), "out of memory");
            /* MPFR was left as found: default exponent range, no cache */
            ck_assert(mpfr_get_emin() == default_emin && mpfr_get_emax() == default_emax);
            /* the session still works, and gives the same report */
            if (n % (step * 97) == 1 || n < 50) {
                ck_assert_int_eq(run(s, c, &report), want);
                ck_assert_msg(strcmp(report, clean) == 0, "the report differs from the clean one");
            }
        } else {
            ck_assert_int_eq(st, want);
            ck_assert_msg(strcmp(report, clean) == 0, "the report differs from the clean one");
            done = 1;
        }
        dc_session_free(s);
    }
    fprintf(stderr, "%s %s: %ld allocations, %ld failures injected (every %ld)\n",
            c == DERIVE  ? "derive"
            : c == PROVE ? "prove"
            : c == EVAL  ? "eval"
                         : "check",
            model, total, failures, step);
    /* no failure was swallowed: the command failed until its last allocation */
    ck_assert_int_ge(failures, total / step - 1);
    free(clean);
}

START_TEST(derive_sigmoid) { fail_each_allocation("sigmoid", DERIVE, 1); }
END_TEST

START_TEST(prove_logistic) { fail_each_allocation("logistic", PROVE, 23); }
END_TEST

START_TEST(prove_sigmoid) { fail_each_allocation("sigmoid", PROVE, 211); }
END_TEST

START_TEST(check_example) { fail_each_allocation(tu_example("mistake_sign.dc"), CHECK, 7); }
END_TEST

START_TEST(eval_with_data) { fail_each_allocation("sigmoid", EVAL, 3); }
END_TEST

/* jansson allocates through mem: with a pool set for the libraries (as
   every call sets it) its blocks count and a failure jumps to the pool's
   target, the half-read tree being the pool's; outside, they never fail. */
static jmp_buf json_oom;

START_TEST(jansson_goes_through_mem)
{
    const char *doc = "{\"X\": [[1, 2, 3], [4, 5, 6]], \"name\": \"a long enough string\"}";
    mem_pool *p = mem_pool_new();
    mem_pool_on_oom(p, &json_oom);
    mem_pool *outer = mem_gmp_pool(p);
    long before = mem_allocations();
    json_t *v = json_loads(doc, 0, NULL);
    long counted = mem_allocations() - before;
    ck_assert_ptr_nonnull(v);
    json_decref(v);
    ck_assert_int_ge(counted, 8); /* the object, the arrays, six integers, the string */
    volatile long jumps = 0;
    for (long n = 1; n <= counted; n++) {
        if (setjmp(json_oom) == 0) {
            mem_fail_after(n);
            json_t *half = json_loads(doc, 0, NULL);
            json_decref(half);
            ck_abort_msg("allocation %ld of %ld failed and json_loads returned", n, counted);
        }
        mem_fail_after(0);
        jumps++;
    }
    ck_assert_int_eq(jumps, counted);
    mem_gmp_pool(outer);
    mem_pool_free(p); /* the stranded half-read trees go with the pool */
    /* outside a pool: not counted, never failed */
    before = mem_allocations();
    mem_fail_after(1);
    v = json_loads(doc, 0, NULL);
    mem_fail_after(0);
    ck_assert_ptr_nonnull(v);
    ck_assert_int_eq(mem_allocations(), before);
    json_decref(v);
}
END_TEST

/* GMP and MPFR allocate through mem: inside a call their blocks count. */
START_TEST(gmp_goes_through_mem)
{
    dc_session *s = session("logistic");
    const char *report;
    long before = mem_allocations();
    ck_assert_int_eq(dc_prove(s, 1, "text", 0, &report), DC_OK);
    long with_gmp = mem_allocations() - before;
    dc_session_free(s);
    /* outside a call GMP's blocks belong to no pool and never fail */
    mem_fail_after(1);
    mpz_t z;
    mpz_init_set_ui(z, 1);
    mpz_mul_2exp(z, z, 100000);
    mpfr_t x;
    mpfr_init2(x, 10000);
    mpfr_const_pi(x, MPFR_RNDN);
    mem_fail_after(0);
    ck_assert(mpfr_cmp_ui(x, 3) > 0);
    mpfr_clear(x);
    mpz_clear(z);
    mpfr_free_cache();
    ck_assert_int_gt(with_gmp, 0);
}
END_TEST

int
main(void)
{
    default_emin = mpfr_get_emin();
    default_emax = mpfr_get_emax();
    Suite *suite = suite_create("oom");
    TCase *tc = tcase_create("allocation failures");
    tcase_set_timeout(tc, 1200);
    tcase_add_test(tc, gmp_goes_through_mem);
    tcase_add_test(tc, jansson_goes_through_mem);
    tcase_add_test(tc, eval_with_data);
    tcase_add_test(tc, derive_sigmoid);
    tcase_add_test(tc, prove_logistic);
    tcase_add_test(tc, prove_sigmoid);
    tcase_add_test(tc, check_example);
    suite_add_tcase(suite, tc);
    return tu_run(suite);
}
