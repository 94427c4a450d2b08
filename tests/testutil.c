/* testutil.c: helpers shared by the Check suites; see testutil.h. */
#include "testutil.h"

#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "lang/parse.h"

mem_pool *tu_pool;
dc_error tu_err;
rule_set *tu_rules;

void
tu_setup(void)
{
    tu_pool = mem_pool_new();
    memset(&tu_err, 0, sizeof tu_err);
    tu_rules = NULL;
}

void
tu_setup_rules(void)
{
    tu_setup();
    tu_rules = tu_rules_load(DC_RULES_DIR);
}

void
tu_teardown(void)
{
    rules_free(tu_rules);
    mem_pool_free(tu_pool);
}

model *
tu_parse_text(const char *name, const char *text)
{
    source src = {name, text, strlen(text)};
    model *m = parse_model(&src, &tu_err, tu_pool);
    ck_assert_msg(m != NULL, "%s: %s", name, m ? "" : tu_err.formatted);
    return m;
}

model *
tu_parse_path(const char *path)
{
    FILE *f = fopen(path, "rb");
    ck_assert_msg(f != NULL, "cannot open %s", path);
    static char buf[1 << 16];
    size_t n = fread(buf, 1, sizeof buf - 1, f);
    fclose(f);
    buf[n] = '\0';
    return tu_parse_text(path, buf);
}

model *
tu_parse_builtin(const char *name)
{
    char path[4096];
    snprintf(path, sizeof path, "%s/models/%s.dc", DC_RULES_DIR, name);
    return tu_parse_path(path);
}

rule_set *
tu_rules_load(const char *dir)
{
    rule_set *rs = rules_load(dir, &tu_err, tu_pool);
    ck_assert_msg(rs != NULL, "rules: %s", rs ? "" : tu_err.formatted);
    return rs;
}

derivation *
tu_derive(const model *m, const rule_set *rs)
{
    derivation *d = derive(m, rs, NULL, &tu_err, tu_pool);
    ck_assert_msg(d != NULL, "derive: %s", d ? "" : tu_err.formatted);
    return d;
}

const symbol *
tu_symbol(const model *m, const char *name)
{
    const symbol *s = model_lookup(m, name, strlen(name));
    ck_assert_msg(s != NULL, "no symbol %s", name);
    return s;
}

const value *
tu_bound(evaluator *ev, const model *m, const char *name)
{
    const value *v;
    char why[256];
    ck_assert_msg(eval_term(ev, term_symbol(m->terms, tu_symbol(m, name)), &v, why, sizeof why),
                  "%s", why);
    return v;
}

dc_session *
tu_session(const char *rules_dir, const char *model)
{
    dc_session *s = dc_session_new();
    ck_assert_ptr_nonnull(s);
    ck_assert_int_eq(dc_session_set_rules_dir(s, rules_dir ? rules_dir : DC_RULES_DIR), DC_OK);
    dc_status st = dc_load(s, model);
    ck_assert_msg(st == DC_OK, "load %s: %s", model,
                  st == DC_OK ? "" : dc_error_text(dc_session_error(s)));
    return s;
}

const char *
tu_example(const char *name)
{
    static char path[4096];
    snprintf(path, sizeof path, "%s/../../examples/%s", DC_TEST_DATADIR, name);
    return path;
}

char *
tu_copy_rules(const char *skip)
{
    char *dir = strdup("/tmp/dc-rules-XXXXXX");
    ck_assert_ptr_nonnull(mkdtemp(dir));
    DIR *d = opendir(DC_RULES_DIR);
    ck_assert_ptr_nonnull(d);
    struct dirent *e;
    while ((e = readdir(d)) != NULL) {
        size_t len = strlen(e->d_name);
        if (len < 7 || strcmp(e->d_name + len - 6, ".rules") != 0)
            continue;
        char from[4096], to[4096], line[4096];
        snprintf(from, sizeof from, "%s/%s", DC_RULES_DIR, e->d_name);
        snprintf(to, sizeof to, "%s/%s", dir, e->d_name);
        FILE *in = fopen(from, "r"), *out = fopen(to, "w");
        ck_assert_ptr_nonnull(in);
        ck_assert_ptr_nonnull(out);
        while (fgets(line, sizeof line, in) != NULL)
            if (skip == NULL || strncmp(line, skip, strlen(skip)) != 0)
                fputs(line, out);
        fclose(in);
        fclose(out);
    }
    closedir(d);
    return dir;
}

void
tu_append_line(const char *dir, const char *file, const char *line)
{
    char path[4200];
    snprintf(path, sizeof path, "%s/%s", dir, file);
    FILE *f = fopen(path, "a");
    ck_assert_ptr_nonnull(f);
    fprintf(f, "%s\n", line);
    fclose(f);
}

void
tu_remove_dir(char *dir)
{
    DIR *d = opendir(dir);
    struct dirent *e;
    while (d != NULL && (e = readdir(d)) != NULL) {
        if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
            continue;
        char path[4200];
        snprintf(path, sizeof path, "%s/%s", dir, e->d_name);
        unlink(path);
    }
    if (d != NULL)
        closedir(d);
    rmdir(dir);
    free(dir);
}

int
tu_run(Suite *s)
{
    SRunner *sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
