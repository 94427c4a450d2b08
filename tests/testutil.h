/* testutil.h: what several Check suites need: a fixture, models, derivations, sessions, rule
   folders, and the run of a suite. */
#ifndef DC_TESTUTIL_H
#define DC_TESTUTIL_H

#include <check.h>

#include "derivcheck.h"
#include "lang/model.h"
#include "num/eval.h"
#include "sym/derive.h"
#include "sym/rules.h"

/* The fixture of a test, made afresh before each test by tu_setup or
   tu_setup_rules (tcase_add_checked_fixture) and freed by tu_teardown:
   tu_pool, a new pool for whatever the test builds and for errors; tu_err,
   zeroed; tu_rules, the source tree's rules (DC_RULES_DIR) after
   tu_setup_rules, else NULL. */
extern mem_pool *tu_pool;
extern dc_error tu_err;
extern rule_set *tu_rules;

void tu_setup(void);
/* tu_setup, then the rules loaded; a load that fails fails the test. */
void tu_setup_rules(void);
/* Frees tu_rules (when loaded) and tu_pool. */
void tu_teardown(void);

/* The model TEXT, read as the file NAME; a parse error fails the running
   test with its message (in tu_err, its strings in tu_pool). The model is
   the caller's (model_free). */
model *tu_parse_text(const char *name, const char *text);
/* The model in PATH (at most 64 KiB), or the built-in model NAME
   (DC_RULES_DIR/models/NAME.dc); as tu_parse_text, a failure to read or
   parse fails the test. */
model *tu_parse_path(const char *path);
model *tu_parse_builtin(const char *name);

/* The rules of DIR, or the derivation of M under RS (no label assumption),
   in tu_pool; an error fails the test with its message. The rule set is
   the caller's (rules_free). */
rule_set *tu_rules_load(const char *dir);
derivation *tu_derive(const model *m, const rule_set *rs);

/* The symbol NAME of M; there must be one. */
const symbol *tu_symbol(const model *m, const char *name);

/* The value of the symbol NAME of M in EV: the value bound to it, or its
   definition evaluated; a failure fails the test with its reason. The value
   is EV's. */
const value *tu_bound(evaluator *ev, const model *m, const char *name);

/* A new session reading the rules of RULES_DIR (NULL: the source tree's,
   DC_RULES_DIR) with MODEL loaded (a path or a built-in name); a failure
   fails the test. The caller frees it (dc_session_free). */
dc_session *tu_session(const char *rules_dir, const char *model);
/* The path of examples/NAME in the source tree, in a static buffer that the
   next call overwrites. */
const char *tu_example(const char *name);

/* A new temporary folder holding a copy of every DC_RULES_DIR/\*.rules,
   without the lines that start with SKIP (NULL: all lines). The name is
   malloc'd; tu_remove_dir removes the folder and frees it. */
char *tu_copy_rules(const char *skip);
/* Append LINE (and a newline) to DIR/FILE. */
void tu_append_line(const char *dir, const char *file, const char *line);
void tu_remove_dir(char *dir);

/* Runs every test of S, frees S, and returns the exit status of the
   suite's program: EXIT_SUCCESS when no test failed, else EXIT_FAILURE. */
int tu_run(Suite *s);

#endif
