/* fuzz_common.h: what the libFuzzer targets share: a session with the rules, a temporary folder. */
#ifndef DC_FUZZ_COMMON_H
#define DC_FUZZ_COMMON_H

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "derivcheck.h"

/* A session reading the source tree's rules; aborts when there is none
   (the target cannot run). The caller frees it, or keeps it for the run. */
static inline dc_session *
fuzz_session(void)
{
    dc_session *s = dc_session_new();
    if (s == NULL || dc_session_set_rules_dir(s, DC_RULES_DIR) != DC_OK)
        abort();
    return s;
}

/* A new empty folder under TMPDIR (else /tmp) into DIR (SIZE bytes, at
   least 64); exits when it cannot be made. */
static inline void
fuzz_temp_dir(char *dir, size_t size)
{
    const char *tmp = getenv("TMPDIR");
    snprintf(dir, size, "%s/dcfuzzXXXXXX", tmp != NULL && strlen(tmp) < 40 ? tmp : "/tmp");
    if (mkdtemp(dir) == NULL) {
        perror("mkdtemp");
        exit(1);
    }
}

#endif
