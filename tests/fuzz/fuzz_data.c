/* fuzz_data.c: libFuzzer target: a --data JSON file read against the sigmoid model. */
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#include "num/data.h"
#include "base/diag.h"
#include "base/mem.h"
#include "lang/parse.h"

enum { FUZZ_MAX_BYTES = 64 << 10 };

static model *sigmoid;

/* The model is parsed once, from DC_RULES_DIR/models/sigmoid.dc. */
int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc;
    (void)argv;
    static char text[1 << 16];
    FILE *f = fopen(DC_RULES_DIR "/models/sigmoid.dc", "rb");
    if (f == NULL) {
        perror(DC_RULES_DIR "/models/sigmoid.dc");
        exit(1);
    }
    size_t n = fread(text, 1, sizeof text, f);
    fclose(f);
    mem_pool *err_pool = mem_pool_new();
    dc_error err = {0};
    source src = {"sigmoid.dc", text, n};
    sigmoid = parse_model(&src, &err, err_pool); /* owns its own pool, kept to the end */
    if (sigmoid == NULL) {
        fprintf(stderr, "sigmoid.dc: %s\n", err.message);
        exit(1);
    }
    mem_pool_free(err_pool);
    return 0;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size > FUZZ_MAX_BYTES)
        return 0;
    mem_pool *pool = mem_pool_new();
    if (pool == NULL)
        abort();
    jmp_buf oom;
    mem_pool_on_oom(pool, &oom);
    if (setjmp(oom))
        abort(); /* malloc does not fail here: a jump is a bug */
    dc_error err = {0};
    source src = {"fuzz.json", (const char *)data, size};
    data_set *ds = data_parse(&src, sigmoid, pool, &err);
    if (ds == NULL) {
        if (err.message == NULL || (err.status != DC_EINPUT && err.status != DC_ELIMIT))
            abort();
    } else {
        for (size_t i = 0; i < sigmoid->nsymbols; i++)
            (void)data_gives(ds, sigmoid->symbols[i]);
        data_free(ds);
    }
    mem_pool_on_oom(pool, NULL);
    mem_pool_free(pool);
    return 0;
}
