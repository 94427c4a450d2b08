/* testutil.c: helpers shared by the Check suites; see testutil.h. */
#include "testutil.h"

#include <check.h>
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "lang/parse.h"

model *
tu_parse_path(const char *path, dc_error *err, mem_pool *err_pool)
{
    FILE *f = fopen(path, "rb");
    ck_assert_msg(f != NULL, "cannot open %s", path);
    static char buf[1 << 16];
    size_t n = fread(buf, 1, sizeof buf - 1, f);
    fclose(f);
    buf[n] = '\0';
    source src = {path, buf, n};
    model *m = parse_model(&src, err, err_pool);
    ck_assert_msg(m != NULL, "%s: %s", path, m ? "" : err->formatted);
    return m;
}

model *
tu_parse_builtin(const char *name, dc_error *err, mem_pool *err_pool)
{
    char path[4096];
    snprintf(path, sizeof path, "%s/models/%s.dc", DC_RULES_DIR, name);
    return tu_parse_path(path, err, err_pool);
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
