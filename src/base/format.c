/* format.c: output formats by name. */
#include "base/format.h"

#include <string.h>

int
format_named(const char *name, format_kind *out)
{
    static const struct {
        const char *name;
        format_kind f;
    } formats[] = {{"text", FORMAT_TEXT},
                   {"json", FORMAT_JSON},
                   {"markdown", FORMAT_MARKDOWN},
                   {"latex", FORMAT_LATEX}};
    for (size_t i = 0; i < sizeof formats / sizeof formats[0]; i++)
        if (strcmp(formats[i].name, name) == 0) {
            *out = formats[i].f;
            return 1;
        }
    return 0;
}
