/* doc.h: the whole derivation of a model as one document: Markdown, LaTeX or HTML. */
#ifndef DC_DOC_H
#define DC_DOC_H

#include "base/text.h"
#include "sym/derive.h"
#include "cmd/check.h"
#include "cmd/prove.h"
#include "cmd/roundoff.h"

typedef enum doc_format {
    DOC_MARKDOWN, /* GitHub Markdown, formulas as $...$ */
    DOC_LATEX,    /* a whole LaTeX document for pdflatex */
    DOC_HTML,     /* XHTML with MathML: no script, no network */
} doc_format;

/* The format named NAME ("markdown", "latex", "html"); 0 when there is none. */
int doc_format_named(const char *name, doc_format *out);

/* What a document is made of: the derivation, the proof of the placements
   of 1/m, and (for a file with claims) the verdict on each claim. */
typedef struct doc_input {
    const derivation *d;
    const proof *p;
    const check_result *c;         /* NULL: the file has no claims */
    const roundoff_result *errors; /* the error sweep of the loss and param gradients */
    const char *name;              /* the model's file; only its last component is shown */
    unsigned long seed;            /* the seed P and C were drawn with */
} doc_input;

/* Append to OUT the document for IN in format F: the model and its forward
   pass, every gradient step by step (each step citing its rule's
   file:line), the final formulas of both conventions side by side, the
   proof that the param gradients agree (symbolic certificate, exact and
   MPFR evidence, the ulps apart in double), what is not equal and why,
   and the claims' verdicts. The text depends only on IN (no dates, no
   folders), so equal inputs give byte-identical documents. Terms are made
   in D's model's table and text in OUT's pool: an allocation failure
   jumps to those pools' on_oom targets. */
void doc_write(text *out, const doc_input *in, doc_format f);

#endif
