/* check_data.c: --data JSON files: exact numbers, dims from arrays, random fill, and every bad
 * file's error. */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "num/data.h"
#include "testutil.h"
#include "derivcheck.h"
#include "lang/parse.h"
#include "num/sample.h"

static jmp_buf oom;

/* The model NAME: a built-in, or a .dc file of tests/data/json. */
static model *
load_model(const char *name)
{
    char path[4096];
    if (strstr(name, ".dc") != NULL)
        snprintf(path, sizeof path, "%s/json/%s", DC_TEST_DATADIR, name);
    else
        snprintf(path, sizeof path, "%s/models/%s.dc", DC_RULES_DIR, name);
    return tu_parse_path(path);
}

static data_set *
parse_json(const model *m, const char *json)
{
    source src = {"test.json", json, strlen(json)};
    return data_parse(&src, m, tu_pool, &tu_err);
}

static void
assert_q(const value *v, long i, long j, const char *want)
{
    mpq_t q;
    mpq_init(q);
    ck_assert_int_eq(mpq_set_str(q, want, 10), 0);
    mpq_canonicalize(q);
    char got[256];
    gmp_snprintf(got, sizeof got, "%Qd", *eval_q(v, i, j));
    ck_assert_msg(mpq_equal(q, *eval_q(v, i, j)), "entry [%ld][%ld] is %s, expected %s", i, j, got,
                  want);
    mpq_clear(q);
}

/* Decimals in strings and JSON numbers are the same exact rationals; a
   fraction is exact; a JSON number below double's range is not lost. */
START_TEST(values_are_read_exactly)
{
    model *m = load_model("sigmoid");
    data_set *ds = parse_json(m, "{\"X\": [[\"0.1\", 0.1, \"1/3\"], [\"-2.5e-3\", -2.5E-3, "
                                 "1e-400]],\n \"b2\": [[\"123456789012345678901234567890.5\"]],"
                                 " \"W2\": [[\"+7\", \"-0\", 3.0, \"2e+2\"]]}");
    ck_assert_msg(ds != NULL, "%s", ds ? "" : tu_err.formatted);
    evaluator *ev = eval_new(tu_pool, NUMBER_EXACT, 0);
    char why[256];
    ck_assert(data_bind(ev, tu_pool, ds, m, 1, why, sizeof why));
    const value *x = tu_bound(ev, m, "X");
    ck_assert_int_eq(x->rows, 2);
    ck_assert_int_eq(x->cols, 3);
    assert_q(x, 0, 0, "1/10");
    assert_q(x, 0, 1, "1/10");
    assert_q(x, 0, 2, "1/3");
    assert_q(x, 1, 0, "-1/400");
    assert_q(x, 1, 1, "-1/400");
    char tiny[420] = "1/1";
    memset(tiny + 3, '0', 400);
    tiny[403] = '\0';
    assert_q(x, 1, 2, tiny);
    assert_q(tu_bound(ev, m, "b2"), 0, 0, "246913578024691357802469135781/2");
    const value *w2 = tu_bound(ev, m, "W2");
    assert_q(w2, 0, 0, "7");
    assert_q(w2, 0, 1, "0");
    assert_q(w2, 0, 2, "3");
    assert_q(w2, 0, 3, "200");
    eval_free(ev);
    data_free(ds);
    model_free(m);
}
END_TEST

/* Dims come from the arrays (m = 3 here, not the declared 8); the values
   left out are drawn at those sizes; a dim given by name must agree. */
START_TEST(dims_come_from_the_arrays)
{
    model *m = load_model("sigmoid");
    char path[4096];
    snprintf(path, sizeof path, "%s/json/good-partial.json", DC_TEST_DATADIR);
    data_set *ds = data_read(path, m, tu_pool, &tu_err);
    ck_assert_msg(ds != NULL, "%s", ds ? "" : tu_err.formatted);
    ck_assert_int_eq(data_dim_size(ds, dim_symbol(tu_symbol(m, "m"))), 3);
    ck_assert_int_eq(data_dim_size(ds, dim_symbol(tu_symbol(m, "n_x"))), 2);
    ck_assert_int_eq(data_dim_size(ds, dim_symbol(tu_symbol(m, "n_h"))), 4);
    ck_assert_int_eq(data_dim_size(ds, dim_literal(1)), 1);
    ck_assert(data_gives(ds, tu_symbol(m, "W1")));
    ck_assert(!data_gives(ds, tu_symbol(m, "Y")));
    evaluator *ev = eval_new(tu_pool, NUMBER_EXACT, 0);
    char why[256];
    ck_assert(data_bind(ev, tu_pool, ds, m, 7, why, sizeof why));
    const value *y = tu_bound(ev, m, "Y");
    ck_assert_int_eq(y->cols, 3); /* drawn at the data's m */
    for (long j = 0; j < 3; j++)
        ck_assert(mpq_cmp_ui(*eval_q(y, 0, j), 0, 1) == 0 ||
                  mpq_cmp_ui(*eval_q(y, 0, j), 1, 1) == 0);
    assert_q(tu_bound(ev, m, "X"), 1, 1, "-1/400");
    assert_q(tu_bound(ev, m, "W1"), 3, 1, "-4/5");
    /* the declared sizes are left as they were */
    ck_assert_int_eq(tu_symbol(m, "m")->value, 8);
    /* the evaluator has the data's sizes: Z1 = W1 @ X + b1 is 4 x 3 */
    const value *z1 = tu_bound(ev, m, "Z1");
    ck_assert_int_eq(z1->rows, 4);
    ck_assert_int_eq(z1->cols, 3);
    eval_free(ev);
    data_free(ds);
    model_free(m);
}
END_TEST

/* Giving a value does not move the draws of the others. */
START_TEST(giving_a_value_leaves_the_other_draws)
{
    model *m = load_model("sigmoid");
    data_set *ds = parse_json(m, "{\"W1\": [[1, 2], [3, 4], [5, 6], [7, 8]]}");
    ck_assert_ptr_nonnull(ds);
    evaluator *all = eval_new(tu_pool, NUMBER_EXACT, 0), *some = eval_new(tu_pool, NUMBER_EXACT, 0);
    char why[256];
    ck_assert(data_bind(all, tu_pool, NULL, m, 42, why, sizeof why));
    ck_assert(data_bind(some, tu_pool, ds, m, 42, why, sizeof why));
    const char *names[] = {"X", "Y", "b1", "W2", "b2"};
    for (size_t k = 0; k < sizeof names / sizeof names[0]; k++) {
        const value *a = tu_bound(all, m, names[k]), *b = tu_bound(some, m, names[k]);
        ck_assert_int_eq(a->rows * a->cols, b->rows * b->cols);
        for (long i = 0; i < a->rows; i++)
            for (long j = 0; j < a->cols; j++)
                ck_assert(mpq_equal(*eval_q(a, i, j), *eval_q(b, i, j)));
    }
    assert_q(tu_bound(some, m, "W1"), 2, 1, "6");
    /* and the same seed draws what sample_bind draws */
    evaluator *direct = eval_new(tu_pool, NUMBER_EXACT, 0);
    sample_spec spec = {.seed = 42, .index = 0, .bits = DATA_SAMPLE_BITS};
    ck_assert(sample_bind(direct, tu_pool, m, &spec, why, sizeof why));
    const value *a = tu_bound(all, m, "W1"), *b = tu_bound(direct, m, "W1");
    for (long i = 0; i < a->rows; i++)
        for (long j = 0; j < a->cols; j++)
            ck_assert(mpq_equal(*eval_q(a, i, j), *eval_q(b, i, j)));
    eval_free(direct);
    eval_free(all);
    eval_free(some);
    data_free(ds);
    model_free(m);
}
END_TEST

/* 1-D values are flat arrays and scalars plain numbers, read as exactly as
   matrices; each has its own errors, at the value's place. */
START_TEST(vectors_and_scalars)
{
    model *m = load_model("vector.dc");
    data_set *ds = parse_json(m, "{\"x\": [1, \"-2.5\", \"1/3\"], \"w\": [0.5, -1, 2], "
                                 "\"c\": \"1/2\", \"y\": 1}");
    ck_assert_msg(ds != NULL, "%s", ds ? "" : tu_err.formatted);
    evaluator *ev = eval_new(tu_pool, NUMBER_EXACT, 0);
    char why[256];
    ck_assert(data_bind(ev, tu_pool, ds, m, 1, why, sizeof why));
    const value *x = tu_bound(ev, m, "x");
    ck_assert_int_eq(x->rank, 1);
    ck_assert_int_eq(x->cols, 3);
    assert_q(x, 0, 0, "1");
    assert_q(x, 0, 1, "-5/2");
    assert_q(x, 0, 2, "1/3");
    assert_q(tu_bound(ev, m, "w"), 0, 0, "1/2");
    const value *c = tu_bound(ev, m, "c");
    ck_assert_int_eq(c->rank, 0);
    assert_q(c, 0, 0, "1/2");
    assert_q(tu_bound(ev, m, "y"), 0, 0, "1");
    /* z = sum(w * x) + c = 1/2 + 5/2 + 2/3 + 1/2 */
    assert_q(tu_bound(ev, m, "z"), 0, 0, "25/6");
    eval_free(ev);
    data_free(ds);
    static const struct {
        const char *json, *message;
        int column;
    } bad[] = {
        {"{\"x\": [[1, 2, 3]]}", "\"x\"[0]: expected a number, found an array", 8},
        {"{\"x\": [1, 2, 3], \"w\": [1, 2]}",
         "\"w\": n = 2 from its entries, but n = 3 from the entries of \"x\"", 23},
        {"{\"c\": [1]}", "\"c\": expected a number (c is a scalar), found an array", 7},
        {"{\"y\": 2}", "\"y\": y is a binary label: its entries are 0 or 1, found 2", 7},
        {"{\"x\": []}", "\"x\": expected an array of numbers (x is [n]), found an empty array", 7},
    };
    for (size_t k = 0; k < sizeof bad / sizeof bad[0]; k++) {
        memset(&tu_err, 0, sizeof tu_err);
        ck_assert_ptr_null(parse_json(m, bad[k].json));
        ck_assert_int_eq(tu_err.status, DC_EINPUT);
        ck_assert_str_eq(tu_err.message, bad[k].message);
        ck_assert_int_eq(tu_err.line, 1);
        ck_assert_int_eq(tu_err.column, bad[k].column);
    }
    model_free(m);
}
END_TEST

/* Every file of bad-cases.txt gives its exact error at its exact place,
   through data_read and through the public dc_eval (which the command line
   maps to exit status 2). */
START_TEST(bad_files_give_their_errors)
{
    char cases[4096];
    snprintf(cases, sizeof cases, "%s/json/bad-cases.txt", DC_TEST_DATADIR);
    FILE *f = fopen(cases, "r");
    ck_assert_ptr_nonnull(f);
    char line[1024];
    int n = 0;
    while (fgets(line, sizeof line, f) != NULL) {
        if (line[0] == '#' || line[0] == '\n')
            continue;
        line[strcspn(line, "\n")] = '\0';
        char *file = strtok(line, "\t"), *model_name = strtok(NULL, "\t");
        char *place = strtok(NULL, "\t"), *message = strtok(NULL, "");
        ck_assert_msg(file && model_name && place && message, "malformed case line");
        int want_line, want_col;
        ck_assert_int_eq(sscanf(place, "%d:%d", &want_line, &want_col), 2);
        char path[4096];
        snprintf(path, sizeof path, "%s/json/%s", DC_TEST_DATADIR, file);
        /* the module */
        model *m = load_model(model_name);
        memset(&tu_err, 0, sizeof tu_err);
        data_set *ds = data_read(path, m, tu_pool, &tu_err);
        ck_assert_msg(ds == NULL, "%s: read without error", file);
        ck_assert_msg(tu_err.status == DC_EINPUT, "%s: status %d", file, tu_err.status);
        ck_assert_str_eq(tu_err.file, path);
        ck_assert_msg(tu_err.line == want_line && tu_err.column == want_col,
                      "%s: error at %d:%d, expected %s", file, tu_err.line, tu_err.column, place);
        ck_assert_str_eq(tu_err.message, message);
        model_free(m);
        /* the public API */
        dc_session *s = dc_session_new();
        ck_assert_int_eq(dc_session_set_rules_dir(s, DC_RULES_DIR), DC_OK);
        char model_path[4096];
        if (strstr(model_name, ".dc") != NULL)
            snprintf(model_path, sizeof model_path, "%s/json/%s", DC_TEST_DATADIR, model_name);
        else
            snprintf(model_path, sizeof model_path, "%s", model_name);
        ck_assert_int_eq(dc_load(s, model_path), DC_OK);
        const char *report;
        ck_assert_int_eq(dc_eval(s, path, 1, 64, "text", 0, &report), DC_EINPUT);
        ck_assert_ptr_null(report);
        const dc_error *e = dc_session_error(s);
        ck_assert_ptr_nonnull(e);
        ck_assert_str_eq(dc_error_message(e), message);
        ck_assert_int_eq(dc_error_line(e), want_line);
        ck_assert_int_eq(dc_error_column(e), want_col);
        char head[8192];
        snprintf(head, sizeof head, "%s:%s: error: %s\n", path, place, message);
        ck_assert_msg(strncmp(dc_error_text(e), head, strlen(head)) == 0, "%s: %s", file,
                      dc_error_text(e));
        dc_session_free(s);
        n++;
    }
    fclose(f);
    ck_assert_int_ge(n, 20);
}
END_TEST

/* Write SIZE bytes: PREFIX, then FILL repeated, then SUFFIX. */
static void
write_file(const char *path, const char *prefix, const char *fill, size_t count, const char *suffix)
{
    FILE *f = fopen(path, "wb");
    ck_assert_ptr_nonnull(f);
    fputs(prefix, f);
    size_t n = strlen(fill);
    static char chunk[1 << 16];
    size_t per = sizeof chunk / n;
    for (size_t k = 0; k < per; k++)
        memcpy(chunk + k * n, fill, n);
    while (count > 0) {
        size_t now = count < per ? count : per;
        fwrite(chunk, n, now, f);
        count -= now;
    }
    fputs(suffix, f);
    fclose(f);
}

/* Over 64 MiB, over EVAL_MAX_ENTRIES in one value: refused, naming the cap,
   before anything is built. A missing file is an I/O error. */
START_TEST(caps_are_refused_by_name)
{
    model *m = load_model("sigmoid");
    char path[] = "/tmp/dc-data-XXXXXX";
    int fd = mkstemp(path);
    ck_assert_int_ge(fd, 0);
    close(fd);
    write_file(path, "{\"X\": [[", " ", (size_t)DATA_MAX_BYTES, "1]]}");
    ck_assert_ptr_null(data_read(path, m, tu_pool, &tu_err));
    ck_assert_int_eq(tu_err.status, DC_ELIMIT);
    char want[4200];
    snprintf(want, sizeof want,
             "the data file '%s' is larger than the cap of 64 MiB for a data file", path);
    ck_assert_str_eq(tu_err.message, want);
    /* 2^24 + 1 numbers in one row of X: 33 MB, under the file cap */
    write_file(path, "{\"Y\": [[1]],\n \"X\": [[", "0,", (size_t)EVAL_MAX_ENTRIES, "0]]}");
    ck_assert_ptr_null(data_read(path, m, tu_pool, &tu_err));
    ck_assert_int_eq(tu_err.status, DC_ELIMIT);
    ck_assert_str_eq(tu_err.message, "\"X\": more than 16777216 entries, the cap on one value");
    ck_assert_int_eq(tu_err.line, 2);
    ck_assert_int_eq(tu_err.column, 2);
    unlink(path);
    ck_assert_ptr_null(data_read("/nonexistent/data.json", m, tu_pool, &tu_err));
    ck_assert_int_eq(tu_err.status, DC_EIO);
    ck_assert_str_eq(tu_err.message, "cannot read the data file '/nonexistent/data.json': No such "
                                     "file or directory");
    model_free(m);
}
END_TEST

/* Every allocation of a read, and of binding what it read, failing in turn
   lands on the pool's target with nothing held (ASan checks the rest); then
   both succeed. (The data give every value: sample_bind, which draws the
   others, is not this module's to test.) */
static data_set *volatile oom_data;
static evaluator *volatile oom_ev;

START_TEST(allocation_failures_jump_cleanly)
{
    model *m = load_model("logistic");
    char path[4096];
    snprintf(path, sizeof path, "%s/json/good-logistic.json", DC_TEST_DATADIR);
    volatile int failures = 0, done = 0;
    for (long n = 1; n < 5000 && !done; n++) {
        mem_pool *p = mem_pool_new();
        mem_pool_on_oom(p, &oom);
        oom_data = NULL;
        oom_ev = NULL;
        if (setjmp(oom) == 0) {
            mem_fail_after(n);
            oom_data = data_read(path, m, p, &tu_err);
            ck_assert_ptr_nonnull(oom_data);
            oom_ev = eval_new(p, NUMBER_MPFR, 64);
            char why[256];
            ck_assert(data_bind(oom_ev, p, oom_data, m, 3, why, sizeof why));
            mem_fail_after(0);
            done = 1;
        } else {
            mem_fail_after(0);
            failures++;
        }
        eval_free(oom_ev);
        data_free(oom_data);
        mem_pool_free(p);
    }
    ck_assert(done);
    ck_assert_int_ge(failures, 20);
    model_free(m);
}
END_TEST

int
main(void)
{
    Suite *s = suite_create("data");
    TCase *tc = tcase_create("data");
    tcase_add_checked_fixture(tc, tu_setup, tu_teardown);
    tcase_set_timeout(tc, 120);
    tcase_add_test(tc, values_are_read_exactly);
    tcase_add_test(tc, dims_come_from_the_arrays);
    tcase_add_test(tc, vectors_and_scalars);
    tcase_add_test(tc, giving_a_value_leaves_the_other_draws);
    tcase_add_test(tc, bad_files_give_their_errors);
    tcase_add_test(tc, caps_are_refused_by_name);
    tcase_add_test(tc, allocation_failures_jump_cleanly);
    suite_add_tcase(s, tc);
    return tu_run(s);
}
