/* fuzz_rules.c: libFuzzer target: a rule file loaded by the rule loader from a temporary folder. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "base/diag.h"
#include "base/mem.h"
#include "sym/rules.h"
#include "fuzz_common.h"
#include "grow.h"

enum { FUZZ_MAX_BYTES = 320 << 10 };

static const grow_piece pieces[] = GROW_RULES_PIECES;
GROW_MUTATOR(pieces)

static char dir[64];
static char path[96];

/* rules_load reads a folder, so the input is written to DIR/x.rules, the
   only file there: the whole loader runs (file reading, parsing, each
   rule's checks), as it does for the shipped rules. */
static void
cleanup(void)
{
    unlink(path);
    rmdir(dir);
}

int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc;
    (void)argv;
    fuzz_temp_dir(dir, sizeof dir);
    snprintf(path, sizeof path, "%s/x.rules", dir);
    atexit(cleanup);
    return 0;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size > FUZZ_MAX_BYTES)
        return 0;
    FILE *f = fopen(path, "wb");
    if (f == NULL || fwrite(data, 1, size, f) != size || fclose(f) != 0)
        abort();
    mem_pool *err_pool = mem_pool_new();
    if (err_pool == NULL)
        abort();
    dc_error err = {0};
    rule_set *rs = rules_load(dir, &err, err_pool);
    if (rs != NULL)
        rules_free(rs);
    else if (err.message == NULL || (err.status != DC_EINPUT && err.status != DC_ELIMIT))
        abort();
    mem_pool_free(err_pool);
    return 0;
}
