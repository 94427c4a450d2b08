/* check_api.c: the public API as a program sees it: the installed rules by default, claims read
 * through accessors, errors as JSON. */
#include <check.h>
#include <jansson.h>
#include <stdio.h>
#include <string.h>

#include "derivcheck.h"
#include "testutil.h"

/* A new session looks where make install puts the rules, $(pkgdatadir),
   which derivcheck.pc names rulesdir: no caller has to set it. */
START_TEST(a_new_session_finds_the_installed_rules)
{
    dc_session *s = dc_session_new();
    ck_assert_ptr_nonnull(s);
    ck_assert_str_eq(dc_session_rules_dir(s), DC_TEST_PKGDATADIR);
    dc_session_free(s);
}
END_TEST

/* examples/ng_sigmoid_wrong.dc: its first line names its three mistakes
   (dW2 lacks 1/m, db2 sums the wrong axis, dZ1 uses 1 - A1 for tanh');
   dW1 and db1 are right in terms of the wrong dZ1. */
START_TEST(claims_are_read_through_accessors)
{
    static const struct {
        const char *name;
        int line;
        dc_verdict verdict;
        dc_diagnosis diagnosis;
        const char *verdict_code, *diagnosis_code;
    } want[] = {
        {"dZ2", 17, DC_VERDICT_OK, DC_DIAGNOSIS_NONE, "ok", NULL},
        {"dW2", 18, DC_VERDICT_WRONG, DC_DIAGNOSIS_MISSING_INV_M, "wrong", "missing_inv_m"},
        {"db2", 19, DC_VERDICT_SHAPE, DC_DIAGNOSIS_AXIS, "shape", "axis"},
        {"dZ1", 20, DC_VERDICT_WRONG, DC_DIAGNOSIS_ACTIVATION_DERIVATIVE, "wrong",
         "activation_derivative"},
        {"dW1", 21, DC_VERDICT_GIVEN, DC_DIAGNOSIS_WRONG_EARLIER_CLAIMS, "given",
         "wrong_earlier_claims"},
        {"db1", 22, DC_VERDICT_GIVEN, DC_DIAGNOSIS_WRONG_EARLIER_CLAIMS, "given",
         "wrong_earlier_claims"},
    };
    dc_session *s = dc_session_new();
    ck_assert_int_eq(dc_session_set_rules_dir(s, DC_RULES_DIR), DC_OK);
    ck_assert_int_eq(dc_load(s, tu_example("ng_sigmoid_wrong.dc")), DC_OK);
    ck_assert_uint_eq(dc_result_claim_count(s), 0);
    const char *report;
    ck_assert_int_eq(dc_check(s, 1, "json", &report), DC_REFUTED);
    size_t n = sizeof want / sizeof want[0];
    ck_assert_uint_eq(dc_result_claim_count(s), n);
    for (size_t i = 0; i < n; i++) {
        const dc_claim *c = dc_result_claim(s, i);
        ck_assert_ptr_nonnull(c);
        ck_assert_str_eq(dc_claim_name(c), want[i].name);
        ck_assert_int_eq(dc_claim_line(c), want[i].line);
        ck_assert_int_eq(dc_claim_verdict(c), want[i].verdict);
        ck_assert_int_eq(dc_claim_diagnosis(c), want[i].diagnosis);
        ck_assert_str_eq(dc_verdict_code(dc_claim_verdict(c)), want[i].verdict_code);
        if (want[i].diagnosis_code == NULL) {
            ck_assert_ptr_null(dc_diagnosis_code(dc_claim_diagnosis(c)));
            ck_assert_ptr_null(dc_claim_reason(c));
        } else {
            ck_assert_str_eq(dc_diagnosis_code(dc_claim_diagnosis(c)), want[i].diagnosis_code);
            ck_assert_ptr_nonnull(dc_claim_reason(c));
        }
    }
    ck_assert_ptr_null(dc_result_claim(s, n));
    ck_assert_str_eq(dc_claim_reason(dc_result_claim(s, 1)),
                     "has a factor m too many (a 1/m is missing)");
    ck_assert_str_eq(dc_claim_expected(dc_result_claim(s, 1)), "1/m * dZ2 @ A1.T");
    /* the JSON report says the same, in the same codes */
    json_error_t jerr;
    json_t *root = json_loads(report, 0, &jerr);
    ck_assert_ptr_nonnull(root);
    json_t *claims = json_object_get(root, "claims");
    ck_assert_uint_eq(json_array_size(claims), n);
    for (size_t i = 0; i < n; i++) {
        json_t *c = json_array_get(claims, i);
        ck_assert_str_eq(json_string_value(json_object_get(c, "verdict")), want[i].verdict_code);
        if (want[i].diagnosis_code != NULL)
            ck_assert_str_eq(json_string_value(json_object_get(c, "diagnosis")),
                             want[i].diagnosis_code);
        else
            ck_assert(json_is_null(json_object_get(c, "diagnosis")));
    }
    json_decref(root);
    /* the next call ends them */
    ck_assert_int_eq(dc_derive(s, "text", 0, &report), DC_OK);
    ck_assert_uint_eq(dc_result_claim_count(s), 0);
    ck_assert_ptr_null(dc_result_claim(s, 0));
    dc_session_free(s);
}
END_TEST

/* Every verdict and diagnosis has its own code, and nothing else has one. */
START_TEST(every_code_is_distinct)
{
    const char *seen[32];
    int n = 0;
    for (int v = DC_VERDICT_OK; v <= DC_VERDICT_STEP; v++)
        seen[n++] = dc_verdict_code((dc_verdict)v);
    ck_assert_ptr_null(dc_verdict_code((dc_verdict)(DC_VERDICT_STEP + 1)));
    ck_assert_ptr_null(dc_diagnosis_code(DC_DIAGNOSIS_NONE));
    for (int d = DC_DIAGNOSIS_UNKNOWN; d <= DC_DIAGNOSIS_CONSTANT_FACTOR; d++)
        seen[n++] = dc_diagnosis_code((dc_diagnosis)d);
    ck_assert_ptr_null(dc_diagnosis_code((dc_diagnosis)(DC_DIAGNOSIS_CONSTANT_FACTOR + 1)));
    for (int i = 0; i < n; i++) {
        ck_assert_ptr_nonnull(seen[i]);
        for (int j = 0; j < i; j++)
            ck_assert_str_ne(seen[i], seen[j]);
    }
}
END_TEST

/* An input error as JSON: the place and message dc_error_* give, and
   nothing after a call that succeeds. */
START_TEST(an_error_as_json)
{
    static const char bad[] =
        "dims n = 2\nbatch m = 4\ninput X[n, m]\nZ = X @ X\nloss J = sum(Z)\n";
    dc_session *s = dc_session_new();
    ck_assert_int_eq(dc_parse_string(s, "bad.dc", bad, sizeof bad - 1), DC_EINPUT);
    const char *text = dc_session_error_json(s);
    ck_assert_ptr_nonnull(text);
    json_error_t jerr;
    json_t *root = json_loads(text, 0, &jerr);
    ck_assert_ptr_nonnull(root);
    ck_assert_int_eq(json_integer_value(json_object_get(root, "schema_version")), 1);
    json_t *e = json_object_get(root, "error");
    ck_assert_str_eq(json_string_value(json_object_get(e, "status")), "input");
    ck_assert_str_eq(json_string_value(json_object_get(e, "file")), "bad.dc");
    ck_assert_int_eq(json_integer_value(json_object_get(e, "line")), 4);
    ck_assert_int_eq(json_integer_value(json_object_get(e, "column")), 7);
    ck_assert_str_eq(json_string_value(json_object_get(e, "message")),
                     dc_error_message(dc_session_error(s)));
    json_decref(root);
    static const char good[] = "input X[2, 3]\nloss J = sum(X)\n";
    ck_assert_int_eq(dc_parse_string(s, "good.dc", good, sizeof good - 1), DC_OK);
    ck_assert_ptr_null(dc_session_error_json(s));
    dc_session_free(s);
}
END_TEST

int
main(void)
{
    Suite *suite = suite_create("api");
    TCase *tc = tcase_create("api");
    tcase_set_timeout(tc, 120);
    tcase_add_test(tc, a_new_session_finds_the_installed_rules);
    tcase_add_test(tc, claims_are_read_through_accessors);
    tcase_add_test(tc, every_code_is_distinct);
    tcase_add_test(tc, an_error_as_json);
    suite_add_tcase(suite, tc);
    return tu_run(suite);
}
