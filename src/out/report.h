/* report.h: what a command found, written as text, JSON, Markdown or LaTeX. */
#ifndef DC_REPORT_H
#define DC_REPORT_H

#include "base/format.h"
#include "base/text.h"
#include "sym/derive.h"
#include "cmd/check.h"
#include "cmd/prove.h"

/* The derivation D of the model in file NAME: both conventions' formulas
   and, with WITH_TRACE, every rule applied (name, file:line, before, after),
   and the label assumptions used. */
void report_derivation(text *out, const derivation *d, const char *name, format_kind f,
                       int with_trace);

/* The proof P that the placements of 1/m agree (for params) and differ by
   m (for intermediates), with each method's evidence; WITH_TRACE (or any
   format but text) adds the certificate: the steps from each side to the
   shared normal form. */
void report_proof(text *out, const proof *p, const char *name, format_kind f, int with_trace);

/* The verdict on every claim of a checked file: a line each with a mark,
   then the reasons, expected formulas and counterexamples. */
void report_check(text *out, const check_result *c, const derivation *d, const char *name,
                  format_kind f);

/* How the verdict R of the check C was decided, in words: the method,
   then its points, sizes, witness or precision ("exact: equal in
   rationals at 3 random points, sizes (n, m) = (4, 8), (3, 5), (5, 6)"). */
void report_claim_method(text *out, const check_result *c, const claim_result *r);

/* The one sentence that sums up the check C, as its exit status does: "5
   of 6 claims hold.", or why a file whose claims hold one by one fails, or
   what is undecided. */
void report_check_summary(text *out, const check_result *c);

/* The rule base, one rule a line: name, group, file:line, the rule; in
   Markdown a table with those columns, in JSON an array of objects. */
void report_rules(text *out, const rule_set *rs, format_kind f);

/* The N built-in model names NAMES: one a line (text), or JSON. */
void report_models(text *out, const char *const *names, size_t n, format_kind f);

/* Whether step I of G applies a label rule (one that holds only because of
   how a label is declared) that no earlier step of G applied: each label
   assumption is named once. */
int report_new_label_rule(const gradient *g, size_t i);

/* What step ST of D started from and what it produced, as people read
   them: a normal form made pretty, and in any other term the parts
   arithmetic alone rewrites (pretty_step: -1/m * Y, not 1 * (-1/m) * Y);
   what an adjoint step passes through is the model's own term, as written. */
const term *report_step_before(const derivation *d, const trace_step *st);
const term *report_step_result(const derivation *d, const trace_step *st);

/* The start of a LaTeX document, the one layout of every document this
   program writes (derive --format latex, doc): 11pt article, amsmath and
   amssymb, the preamble lines PACKAGES ("" for none), a 16 cm text width,
   no indent, \sloppy, and \begin{document}; report_latex_end ends it. */
void report_latex_begin(text *out, const char *packages);
void report_latex_end(text *out);

/* NAME = T (NAME NULL: T alone) as LaTeX mathematics, without the $...$
   around it. Written inline in a paragraph, TeX breaks a long formula over
   lines: its delimiters are \bigl and \bigr (print_latex), never \left
   and \right, which would make one unbreakable box of their contents, so
   a + or - at any depth may end a line. Every LaTeX formula of derive and
   doc is written this way; display environments (align*) would not break. */
void report_latex_formula(text *out, const char *name, const term *t);

#endif
