/* fuzz_error.c: libFuzzer target: a small model through a one-sample error sweep, under low caps. */
#include <stdint.h>
#include <stdlib.h>

#include "derivcheck.h"
#include "fuzz_common.h"
#include "grow.h"

/* Small models only; the caps on memory and work (DERIVCHECK_MAX_MEMORY,
   DERIVCHECK_MAX_WORK) are set low, so that a model declaring big dims is
   refused by them, as the command line refuses it, rather than run. */
enum { FUZZ_MAX_BYTES = 4 << 10 };

FUZZ_MODEL_SESSION("64M", "20M")

/* The first byte picks the regime; the rest is the model. One sample, one
   thread: every formulation measured against references raised up the
   precision ladder. */
int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static const char *const regimes[] = {"typical",   "saturated", "tiny",      "pow2-m",
                                          "odd-m",     "confident", "confident-mixed"};
    if (size < 1 || size > FUZZ_MAX_BYTES)
        return 0;
    if (dc_parse_string(session, "fuzz.dc", (const char *)data + 1, size - 1) != DC_OK)
        return 0;
    dc_sweep_options o = {.seed = 1,
                          .samples = 1,
                          .regime = regimes[data[0] % (sizeof regimes / sizeof *regimes)],
                          .format = data[0] & 0x80 ? "json" : "text"};
    const char *report = NULL;
    dc_status st = dc_error_sweep(session, &o, &report);
    if (st == DC_OK && report == NULL)
        abort();
    if (st != DC_OK && dc_session_error(session) == NULL)
        abort();
    return 0;
}
