/* check_format.c: what every format's writers share: file names, Markdown tables, JSON. */
#include <check.h>
#include <math.h>
#include <stdlib.h>

#include "base/format.h"
#include "testutil.h"

static text out;

static void
setup(void)
{
    tu_setup();
    text_init(&out, tu_pool);
}

START_TEST(base_names)
{
    ck_assert_str_eq(format_base_name("rules/models/sigmoid.dc"), "sigmoid.dc");
    ck_assert_str_eq(format_base_name("/sigmoid.dc"), "sigmoid.dc");
    ck_assert_str_eq(format_base_name("sigmoid.dc"), "sigmoid.dc");
    ck_assert_str_eq(format_base_name("models/"), "");
}
END_TEST

START_TEST(markdown_tables)
{
    static const char *const heads[] = {"quantity", "bits", "worst"};
    static const char *const cells[] = {"`dW`", "1.50", "-"};
    format_markdown_head(&out, 3, heads, NULL);
    format_markdown_head(&out, 3, heads, "lrl");
    format_markdown_row(&out, 3, cells);
    ck_assert_str_eq(text_str(&out), "| quantity | bits | worst |\n|---|---|---|\n"
                                     "| quantity | bits | worst |\n|---|---:|---|\n"
                                     "| `dW` | 1.50 | - |\n");
}
END_TEST

/* Strings as jansson escapes them; a byte that is no UTF-8 becomes '?'. */
START_TEST(json_strings)
{
    format_json(&out, format_json_string(tu_pool, "a\"b\\c\nd/é"));
    text_putc(&out, ' ');
    format_json(&out, format_json_string(tu_pool, "x\xffy\xc3"));
    text_putc(&out, ' ');
    format_json(&out, format_json_string(tu_pool, NULL));
    ck_assert_str_eq(text_str(&out), "\"a\\\"b\\\\c\\nd/é\" \"x?y?\" null");
}
END_TEST

/* Numbers as %.17g writes them; what JSON cannot write is null; seeds
   beyond jansson's integers stay exact as strings. */
START_TEST(json_numbers)
{
    const double xs[] = {-213.42457524090111,    -64, 0,       -0.0, 1, 4503599627370496.0, 1e20,
                         5.4969652251712908e-06, NAN, INFINITY};
    json_t *a = json_array();
    for (size_t i = 0; i < sizeof xs / sizeof xs[0]; i++)
        json_array_append_new(a, format_json_number(xs[i]));
    json_array_append_new(a, format_json_unsigned(7));
    json_array_append_new(a, format_json_unsigned(18446744073709551615UL));
    format_json(&out, a);
    ck_assert_str_eq(text_str(&out), "[-213.42457524090111, -64, 0, -0, 1, 4503599627370496, "
                                     "1e+20, 5.4969652251712908e-06, null, null, 7, "
                                     "\"18446744073709551615\"]");
}
END_TEST

/* A report: the head on the first line, a row a line, keys in the order set. */
START_TEST(json_layouts)
{
    json_t *top = json_object();
    json_object_set_new(top, "model", json_string("m.dc"));
    json_object_set_new(top, "proven", json_true());
    json_t *rows = json_array();
    json_object_set_new(top, "rows", rows);
    for (int i = 0; i < 2; i++) {
        json_t *row = json_object();
        json_object_set_new(row, "z", json_integer(i));
        json_object_set_new(row, "a", json_array());
        json_array_append_new(rows, row);
    }
    format_json_rows(&out, top, "  ");
    ck_assert_str_eq(text_str(&out), "{\"model\": \"m.dc\", \"proven\": true, \"rows\": [\n"
                                     "  {\"z\": 0, \"a\": []},\n"
                                     "  {\"z\": 1, \"a\": []}\n"
                                     "]}\n");
    text_init(&out, tu_pool);
    format_json_rows(&out, json_array(), " ");
    json_t *m = json_array();
    json_array_append_new(m, json_pack("[ss]", "1", "2"));
    json_array_append_new(m, json_pack("[ss]", "3", "4"));
    format_json_member(&out, "", "x", json_integer(1));
    format_json_key(&out, ",\n ", "m");
    format_json_lines(&out, m, "    ", 0);
    ck_assert_str_eq(text_str(&out), "[\n]\n\"x\": 1,\n \"m\": [\n    [\"1\", \"2\"],\n"
                                     "    [\"3\", \"4\"]]");
}
END_TEST

int
main(void)
{
    Suite *s = suite_create("format");
    TCase *tc = tcase_create("format");
    tcase_add_checked_fixture(tc, setup, tu_teardown);
    tcase_add_test(tc, base_names);
    tcase_add_test(tc, markdown_tables);
    tcase_add_test(tc, json_strings);
    tcase_add_test(tc, json_numbers);
    tcase_add_test(tc, json_layouts);
    suite_add_tcase(s, tc);
    return tu_run(s);
}
