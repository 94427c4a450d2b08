/* check_session.c: a long-lived session: flat memory over many calls, results until the next. */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "derivcheck.h"
#include "base/mem.h"
#include "testutil.h"

/* A program that loads a model once and calls derive and check on it a
   thousand times holds no more memory after the thousandth call than
   after the tenth (mem's count of live bytes: pools, GMP's, MPFR's and
   jansson's blocks). Every call gives the same report. */
START_TEST(memory_is_flat_over_1000_calls)
{
    dc_session *s = tu_session(NULL, tu_example("mistake_sign.dc"));
    const char *report;
    ck_assert_int_eq(dc_derive(s, "text", 0, &report), DC_OK);
    char *derived = strdup(report);
    ck_assert_int_eq(dc_check(s, 7, "text", &report), DC_REFUTED);
    char *checked = strdup(report);
    long long after_10 = 0, after_first = mem_bytes_in_use();
    for (int i = 1; i <= 1000; i++) {
        ck_assert_int_eq(dc_derive(s, "text", 0, &report), DC_OK);
        ck_assert_str_eq(report, derived);
        ck_assert_int_eq(dc_check(s, 7, "text", &report), DC_REFUTED);
        ck_assert_str_eq(report, checked);
        if (i == 10)
            after_10 = mem_bytes_in_use();
    }
    long long after_1000 = mem_bytes_in_use();
    fprintf(stderr, "bytes in use: %lld after the first calls, %lld after 10, %lld after 1000\n",
            after_first, after_10, after_1000);
    ck_assert_int_eq(after_1000, after_10);
    /* and nothing of the calls is kept but their last report: the session
       holds no more than after its first derive and check */
    ck_assert_int_eq(after_1000, after_first);
    free(derived);
    free(checked);
    dc_session_free(s);
}
END_TEST

/* Calls that fail (an input error, every allocation failing in turn) do
   not grow memory either. */
START_TEST(memory_is_flat_over_failing_calls)
{
    dc_session *s = tu_session(NULL, "sigmoid");
    const char *report;
    ck_assert_int_eq(dc_derive(s, "text", 0, &report), DC_OK);
    long long before = mem_bytes_in_use();
    for (int i = 0; i < 200; i++) {
        ck_assert_int_eq(dc_check(s, 7, "text", &report), DC_EINPUT); /* sigmoid has no claims */
        ck_assert_ptr_null(report);
        ck_assert_ptr_nonnull(
            strstr(dc_error_message(dc_session_error(s)), "/sigmoid.dc has no claims to check"));
        dc_debug_fail_alloc_after(1 + i * 7);
        ck_assert_int_eq(dc_derive(s, "text", 0, &report), DC_ENOMEM);
        dc_debug_fail_alloc_after(0);
        ck_assert_str_eq(dc_error_message(dc_session_error(s)), "out of memory");
        ck_assert_int_eq(dc_derive(s, "text", 0, &report), DC_OK);
    }
    ck_assert_int_eq(mem_bytes_in_use(), before);
    dc_session_free(s);
}
END_TEST

/* A call that runs out of memory leaves the loaded model as it was: check
   assumes a label onehot for a while to say that a claim needs it, and a
   failure meanwhile must not leave the assumption in the model. */
START_TEST(a_failed_call_leaves_the_model_as_loaded)
{
    dc_session *s = tu_session(NULL, tu_example("mistake_label_assumption.dc"));
    const char *report;
    ck_assert_int_eq(dc_check(s, 1, "text", &report), DC_REFUTED);
    char *clean = strdup(report);
    ck_assert_ptr_nonnull(strstr(clean, "holds only if the columns of Y sum to 1"));
    long failures = 0;
    for (long n = 1;; n += 13) {
        dc_debug_fail_alloc_after(n);
        dc_status st = dc_check(s, 1, "text", &report);
        dc_debug_fail_alloc_after(0);
        if (st != DC_ENOMEM) {
            ck_assert_int_eq(st, DC_REFUTED);
            break;
        }
        failures++;
        ck_assert_int_eq(dc_check(s, 1, "text", &report), DC_REFUTED);
        ck_assert_msg(strcmp(report, clean) == 0, "after allocation %ld failed:\n%s", n, report);
    }
    ck_assert_int_gt(failures, 100);
    free(clean);
    dc_session_free(s);
}
END_TEST

/* A report stays valid until the next call on the session, whatever that
   call does with the model's terms (ASan sees a report read after its
   memory went). */
START_TEST(a_report_lives_until_the_next_call)
{
    dc_session *s = tu_session(NULL, "logistic");
    const char *derived, *proved, *names_report;
    ck_assert_int_eq(dc_derive(s, "json", 1, &derived), DC_OK);
    ck_assert_ptr_nonnull(strstr(derived, "\"gradients\""));
    char *copy = strdup(derived);
    ck_assert_int_eq(dc_prove(s, 3, "text", 0, &proved), DC_OK);
    ck_assert_int_eq(dc_derive(s, "json", 1, &derived), DC_OK);
    ck_assert_str_eq(derived, copy); /* the same terms give the same text */
    const char *const *names;
    size_t n;
    ck_assert_int_eq(dc_model_names(s, &names, &n), DC_OK);
    ck_assert_uint_ge(n, 4);
    ck_assert_str_eq(names[0], "logistic");
    ck_assert_int_eq(dc_rules_list(s, "text", &names_report), DC_OK);
    ck_assert_ptr_nonnull(strstr(names_report, "rules/adjoint.rules"));
    /* the model survives every call: its dump is the same */
    const char *dump = dc_model_dump(s);
    ck_assert_ptr_nonnull(dump);
    char *dump_copy = strdup(dump);
    ck_assert_int_eq(dc_check(s, 1, "text", &proved), DC_EINPUT);
    ck_assert_str_eq(dc_model_dump(s), dump_copy);
    free(dump_copy);
    free(copy);
    dc_session_free(s);
}
END_TEST

int
main(void)
{
    Suite *suite = suite_create("session");
    TCase *tc = tcase_create("long-lived session");
    tcase_set_timeout(tc, 1200);
    tcase_add_test(tc, memory_is_flat_over_1000_calls);
    tcase_add_test(tc, memory_is_flat_over_failing_calls);
    tcase_add_test(tc, a_report_lives_until_the_next_call);
    tcase_add_test(tc, a_failed_call_leaves_the_model_as_loaded);
    suite_add_tcase(suite, tc);
    return tu_run(suite);
}
