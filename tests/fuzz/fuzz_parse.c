/* fuzz_parse.c: libFuzzer target: a .dc file through the parser and shape checks, then dumped. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "derivcheck.h"
#include "grow.h"

enum { FUZZ_MAX_BYTES = 256 << 10 };

static const grow_piece pieces[] = GROW_DC_PIECES;
GROW_MUTATOR(pieces)

/* Parse DATA as a .dc file; when it parses, dump it, parse the dump again
   and require the same dump (dc_model_dump promises a fixed point). Any
   error must carry a message and a status of an input error. */
int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size > FUZZ_MAX_BYTES)
        return 0;
    dc_session *s = dc_session_new();
    if (s == NULL)
        abort();
    dc_status st = dc_parse_string(s, "fuzz.dc", (const char *)data, size);
    if (st == DC_OK) {
        const char *dump = dc_model_dump(s);
        if (dump == NULL)
            abort();
        char *copy = strdup(dump);
        if (dc_parse_string(s, "dump.dc", copy, strlen(copy)) != DC_OK) {
            fprintf(stderr, "dump does not parse:\n%s\n%s", copy,
                    dc_error_text(dc_session_error(s)));
            abort();
        }
        if (strcmp(dc_model_dump(s), copy) != 0) {
            fprintf(stderr, "dump is not a fixed point:\n%s\n---\n%s", copy, dc_model_dump(s));
            abort();
        }
        free(copy);
    } else {
        const dc_error *e = dc_session_error(s);
        if (e == NULL || dc_error_message(e) == NULL || dc_error_text(e) == NULL)
            abort();
        if (st != DC_EINPUT && st != DC_ELIMIT)
            abort();
    }
    dc_session_free(s);
    return 0;
}
