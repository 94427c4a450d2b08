/* testutil.h: what several Check suites need: models from files, copies of the rule folder. */
#ifndef DC_TESTUTIL_H
#define DC_TESTUTIL_H

#include "lang/model.h"

/* The model in PATH, or the built-in model NAME; a failure to read or
   parse fails the running test. The model is the caller's (model_free). */
model *tu_parse_path(const char *path, dc_error *err, mem_pool *err_pool);
model *tu_parse_builtin(const char *name, dc_error *err, mem_pool *err_pool);

/* A new temporary folder holding a copy of every DC_RULES_DIR/\*.rules,
   without the lines that start with SKIP (NULL: all lines). The name is
   malloc'd; tu_remove_dir removes the folder and frees it. */
char *tu_copy_rules(const char *skip);
/* Append LINE (and a newline) to DIR/FILE. */
void tu_append_line(const char *dir, const char *file, const char *line);
void tu_remove_dir(char *dir);

#endif
