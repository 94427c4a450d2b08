/* fuzz_common.h: what the libFuzzer targets share: a session with the rules, a temporary folder,
   the opening of a target that runs models through one session. */
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

/* Set the environment variable NAME (a cap the session reads when it is
   made) to VALUE; NULL leaves it as it is. Aborts when it cannot be set. */
static inline void
fuzz_cap(const char *name, const char *value)
{
    if (value != NULL && setenv(name, value, 1) != 0)
        abort();
}

/* The opening of a target that runs each input, a model, through one
   session for every input, as a long-lived client would use it (each parse
   replaces the model, and an error must leave the session usable):
   grow.h's mutator with the .dc pieces (the target includes grow.h), the
   static `session` that the target's LLVMFuzzerTestOneInput uses, and the
   LLVMFuzzerInitialize that makes it, after setting DERIVCHECK_MAX_MEMORY
   and DERIVCHECK_MAX_WORK to MAX_MEMORY and MAX_WORK (NULL: unset). */
#define FUZZ_MODEL_SESSION(max_memory, max_work)                                                  \
    static const grow_piece pieces[] = GROW_DC_PIECES;                                            \
    GROW_MUTATOR(pieces)                                                                          \
    static dc_session *session;                                                                   \
    int LLVMFuzzerInitialize(int *argc, char ***argv)                                             \
    {                                                                                             \
        (void)argc;                                                                               \
        (void)argv;                                                                               \
        fuzz_cap("DERIVCHECK_MAX_MEMORY", max_memory);                                            \
        fuzz_cap("DERIVCHECK_MAX_WORK", max_work);                                                \
        session = fuzz_session();                                                                 \
        return 0;                                                                                 \
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
