/* report.h: what a command found, written as text, JSON, Markdown or LaTeX. */
#ifndef DC_REPORT_H
#define DC_REPORT_H

#include "derive.h"
#include "text.h"

typedef enum report_format {
    REPORT_TEXT,
    REPORT_JSON,
    REPORT_MARKDOWN,
    REPORT_LATEX,
} report_format;

/* The format named NAME ("text", "json", ...); 0 when there is none. */
int report_format_named(const char *name, report_format *out);

/* The derivation D of the model in file NAME: both conventions' formulas
   and, with WITH_TRACE, every rule applied (name, file:line, before, after),
   and the label assumptions used. */
void report_derivation(text *out, const derivation *d, const char *name, report_format f,
                       int with_trace);

/* The rule base, one rule a line: name, group, file:line, the rule. */
void report_rules(text *out, const rule_set *rs, report_format f);

#endif
