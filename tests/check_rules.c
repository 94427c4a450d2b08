/* check_rules.c: the rule loader's errors, matching and unbroadcasting. */
#include <check.h>
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "lang/parse.h"
#include "lang/print.h"
#include "sym/rules.h"
#include "testutil.h"

/* The sorted names of the bad rule files. */
static int
bad_files(char names[][256], int max)
{
    DIR *d = opendir(DC_TEST_DATADIR "/badrules");
    int n = 0;
    if (d == NULL) /* the corpus test then finds fewer than it needs */
        return 0;
    struct dirent *e;
    while ((e = readdir(d)) != NULL && n < max)
        if (strstr(e->d_name, ".rules") != NULL)
            snprintf(names[n++], 256, "%s", e->d_name);
    closedir(d);
    qsort(names, (size_t)n, 256, (int (*)(const void *, const void *))strcmp);
    return n;
}

/* Load a folder holding only the bad rule file NAME: the error must be the
   one its first line expects, "# expect: LINE:COL: fragment". */
START_TEST(bad_rule_file)
{
    static char names[64][256];
    int n = bad_files(names, 64);
    ck_assert_int_ge(n, 14);
    ck_assert_int_lt(_i, n);
    const char *name = names[_i];
    char from[4096], dir[] = "/tmp/dc-badrules-XXXXXX", to[4200], expect[512];
    snprintf(from, sizeof from, "%s/badrules/%s", DC_TEST_DATADIR, name);
    ck_assert_ptr_nonnull(mkdtemp(dir));
    snprintf(to, sizeof to, "%s/%s", dir, name);
    FILE *in = fopen(from, "r"), *out = fopen(to, "w");
    char buf[4096];
    size_t len = fread(buf, 1, sizeof buf, in);
    fwrite(buf, 1, len, out);
    fclose(in);
    fclose(out);
    int line = 0, col = 0, used = 0;
    ck_assert_int_eq(sscanf(buf, "# expect: %d:%d: %n", &line, &col, &used), 2);
    const char *eol = strchr(buf + used, '\n');
    snprintf(expect, sizeof expect, "%.*s", (int)(eol - buf - used), buf + used);
    rule_set *rs = rules_load(dir, &tu_err, tu_pool);
    unlink(to);
    rmdir(dir);
    ck_assert_msg(rs == NULL, "%s: loaded", name);
    ck_assert_int_eq(tu_err.status, DC_EINPUT);
    ck_assert_msg(tu_err.line == line && tu_err.column == col,
                  "%s: error at %d:%d, expected %d:%d (%s)", name, tu_err.line, tu_err.column, line,
                  col, tu_err.message);
    ck_assert_msg(strstr(tu_err.message, expect) != NULL, "%s: '%s' lacks '%s'", name,
                  tu_err.message, expect);
}
END_TEST

START_TEST(the_rule_base_loads)
{
    rule_set *rs = tu_rules_load(DC_RULES_DIR);
    int adjoint = 0, rewrite = 0;
    for (size_t i = 0; i < rs->n; i++) {
        const rule *r = &rs->rules[i];
        ck_assert(r->line > 0);
        ck_assert(strncmp(r->file, "rules/", 6) == 0);
        if (r->kind == RULE_ADJOINT) {
            adjoint++;
            ck_assert_ptr_eq(r->lhs->args[r->input_index]->sym, r->input);
        } else
            rewrite++;
    }
    /* one adjoint rule per operation and argument the language has */
    static const term_op ops[] = {OP_ADD,  OP_MUL,     OP_DIV,    OP_POW,       OP_NEG,
                                  OP_EXP,  OP_LOG,     OP_TANH,   OP_SIGMOID,   OP_RELU,
                                  OP_STEP, OP_SOFTMAX, OP_MATMUL, OP_TRANSPOSE, OP_SUM};
    for (size_t k = 0; k < sizeof ops / sizeof ops[0]; k++) {
        int found = 0;
        for (size_t i = 0; i < rs->n; i++)
            found |= rs->rules[i].kind == RULE_ADJOINT && rs->rules[i].lhs->op == ops[k];
        ck_assert_msg(found, "no adjoint rule for %s", term_op_name(ops[k]));
    }
    ck_assert_int_ge(adjoint, 25);
    ck_assert_int_ge(rewrite, 10);
    rules_free(rs);
}
END_TEST

/* A model to match rules against. */
static model *
small_model(void)
{
    const char *textp = "dims n = 3\nbatch m = 4\ninput X[n, m], U[n, m]\nlabel Y[n, m] onehot\n"
                        "label P[n, m]\nparam b[n, 1]\n"
                        "S = X + X\nT = X + U\nQ = sum(Y, axis=0, keepdims=True)\n"
                        "R = sum(P, axis=0, keepdims=True)\nV = sum(Y, axis=1, keepdims=True)\n"
                        "loss J = sum(S + T + b) + sum(Q + R) + sum(V)\n";
    model *m = tu_parse_text("m.dc", textp);
    return m;
}

static const term *
def(const model *m, const char *name)
{
    return model_lookup(m, name, strlen(name))->definition;
}

static const rule *
named(const rule_set *rs, const char *name)
{
    for (size_t i = 0; i < rs->n; i++)
        if (strcmp(rs->rules[i].name, name) == 0)
            return &rs->rules[i];
    ck_abort_msg("no rule %s", name);
    return NULL;
}

START_TEST(matching_binds_variables_consistently_and_checks_conditions)
{
    rule_set *rs = rules_load(DC_RULES_DIR, &tu_err, tu_pool);
    model *m = small_model();
    /* a pattern a + a: only X + X, not X + U (built from the scope's own
       variables by a rule file of one line) */
    const rule *colsum = named(rs, "onehot.colsum");
    match mt = {.n = 0};
    ck_assert(rule_match(colsum->lhs, def(m, "Q"), &mt));
    ck_assert(rule_conditions_hold(colsum, &mt, NULL));
    mt.n = 0;
    ck_assert(rule_match(colsum->lhs, def(m, "R"), &mt)); /* the shape matches... */
    ck_assert(!rule_conditions_hold(colsum, &mt, NULL));  /* ...but P is not onehot */
    /* ...unless a caller assumes it is, which leaves P's declaration alone */
    const symbol *p = model_lookup(m, "P", 1);
    const label_assumption onehot = LABEL_ONEHOT;
    label_assumption_set assume = {&p, &onehot, 1};
    ck_assert(rule_conditions_hold(colsum, &mt, &assume));
    ck_assert_int_eq(p->label, LABEL_ANY);
    mt.n = 0;
    ck_assert(!rule_match(colsum->lhs, def(m, "V"), &mt)); /* axis 1 is not axis 0 */
    const rule *add = named(rs, "add.left");
    mt.n = 0;
    ck_assert(rule_match(add->lhs, def(m, "T"), &mt));
    ck_assert_int_eq(mt.n, 2);
    rules_free(rs);
    model_free(m);
}
END_TEST

START_TEST(unbroadcast_sums_over_the_stretched_axes)
{
    model *m = small_model();
    const term *T = def(m, "T"); /* [n, m] */
    const symbol *b = model_lookup(m, "b", 1);
    char why[SHAPE_WHY];
    const term *u = rules_unbroadcast(m->terms, T, &b->shape, why);
    ck_assert_ptr_nonnull(u);
    ck_assert_int_eq(u->op, OP_SUM);
    ck_assert_int_eq(u->aux, 1);
    ck_assert_int_eq(u->keepdims, 1);
    u = rules_unbroadcast(m->terms, T, &shape_scalar, why);
    ck_assert_int_eq(u->op, OP_SUM);
    ck_assert_int_eq(u->aux, -1);
    ck_assert_ptr_eq(rules_unbroadcast(m->terms, T, &T->shape, why), T);
    /* [n, m] cannot come from [m, n] */
    shape wrong = {2, {T->shape.d[1], T->shape.d[0]}};
    ck_assert_ptr_null(rules_unbroadcast(m->terms, T, &wrong, why));
    model_free(m);
}
END_TEST

int
main(void)
{
    Suite *s = suite_create("rules");
    TCase *tc = tcase_create("rules");
    tcase_add_checked_fixture(tc, tu_setup, tu_teardown);
    static char names[64][256];
    int nbad = bad_files(names, 64);
    tcase_add_loop_test(tc, bad_rule_file, 0, nbad > 14 ? nbad : 14);
    tcase_add_test(tc, the_rule_base_loads);
    tcase_add_test(tc, matching_binds_variables_consistently_and_checks_conditions);
    tcase_add_test(tc, unbroadcast_sums_over_the_stretched_axes);
    suite_add_tcase(s, tc);
    return tu_run(s);
}
