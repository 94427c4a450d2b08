/* fuzz_merge.c: libFuzzer target: a JSON shard merged with a valid one of the same sweep. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "derivcheck.h"
#include "fuzz_common.h"

enum { FUZZ_MAX_BYTES = 256 << 10 };

static dc_session *session;
static char dir[64], good[96], fuzzed[96];

static void
cleanup(void)
{
    unlink(good);
    unlink(fuzzed);
    rmdir(dir);
}

static void
write_file(const char *path, const void *data, size_t size)
{
    FILE *f = fopen(path, "wb");
    if (f == NULL || fwrite(data, 1, size, f) != size || fclose(f) != 0)
        abort();
}

/* The valid shard: shard 1 of 2 of a small sweep of the sigmoid model,
   written once; the seeds hold its shard 2 and variants. */
int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc;
    (void)argv;
    fuzz_temp_dir(dir, sizeof dir);
    snprintf(good, sizeof good, "%s/shard1.json", dir);
    snprintf(fuzzed, sizeof fuzzed, "%s/shard2.json", dir);
    atexit(cleanup);
    session = fuzz_session();
    dc_sweep_options o = {.seed = 1, .samples = 2, .regime = "typical", .format = "json",
                          .shard = 1, .nshards = 2};
    const char *report = NULL;
    if (dc_load(session, "sigmoid") != DC_OK || dc_error_sweep(session, &o, &report) != DC_OK)
        abort();
    write_file(good, report, strlen(report));
    return 0;
}

/* The input as shard 2: merged with shard 1 (the first byte's low bit
   asks for --partial, its next bits the format), and alone as a partial
   set. Refusals must come with an error; success with a report. */
int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static const char *const formats[] = {"text", "json", "markdown"};
    if (size < 1 || size > FUZZ_MAX_BYTES)
        return 0;
    write_file(fuzzed, data + 1, size - 1);
    const char *pair[] = {good, fuzzed}, *alone[] = {fuzzed};
    const char *report = NULL;
    dc_status st = dc_error_merge(session, pair, 2, formats[(data[0] >> 1) % 3], data[0] & 1,
                                  &report);
    if ((st == DC_OK && report == NULL) || (st != DC_OK && dc_session_error(session) == NULL))
        abort();
    st = dc_error_merge(session, alone, 1, "json", 1, &report);
    if ((st == DC_OK && report == NULL) || (st != DC_OK && dc_session_error(session) == NULL))
        abort();
    return 0;
}
