/* fuzz_check.c: libFuzzer target: a small model with claims through the whole check pipeline. */
#include <stdint.h>
#include <stdlib.h>

#include "derivcheck.h"
#include "fuzz_common.h"
#include "grow.h"

/* Small inputs only: each run derives every gradient and evaluates the
   claims at random points, so a big model would only slow the search. */
enum { FUZZ_MAX_BYTES = 4 << 10 };

FUZZ_MODEL_SESSION(NULL, NULL)

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size > FUZZ_MAX_BYTES)
        return 0;
    if (dc_parse_string(session, "fuzz.dc", (const char *)data, size) != DC_OK)
        return 0;
    const char *report = NULL;
    dc_status st = dc_check(session, 1, "text", &report);
    if ((st == DC_OK || st == DC_REFUTED) && report == NULL)
        abort();
    if (st != DC_OK && st != DC_REFUTED && dc_session_error(session) == NULL)
        abort();
    return 0;
}
