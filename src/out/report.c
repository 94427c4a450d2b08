/* report.c: derivations and rule lists written as text, JSON, Markdown or LaTeX. */
#include "out/report.h"

#include <math.h>
#include <stdarg.h>
#include <string.h>

#include "lang/print.h"
#include "sym/pretty.h"
#include "num/ulps.h"
#include "cmd/roundoff.h"
#include "out/numpy.h"

static const char *
kind_word(const symbol *s)
{
    return s->kind == SYM_PARAM ? "param" : "definition";
}

/* The printf-formatted FMT, into a string of OUT's pool. */
static const char *__attribute__((format(printf, 2, 3))) stringf(text *out, const char *fmt, ...)
{
    text s;
    text_init(&s, out->pool);
    va_list ap;
    va_start(ap, fmt);
    text_vprintf(&s, fmt, ap);
    va_end(ap);
    return text_str(&s);
}

/* T printed in the language, into a string of OUT's pool. */
static const char *
term_string(text *out, const term *t)
{
    text s;
    text_init(&s, out->pool);
    print_term(&s, t);
    return text_str(&s);
}

/* "onehot(Y)": the assumptions a label rule's conditions name, for the
   term AT the rule rewrote (NULL: in the rule's own variables). */
static void
assumption_words(text *out, const rule *r, const term *at)
{
    match m = {.n = 0};
    int bound = at != NULL && rule_match(r->lhs, at, &m);
    for (int i = 0; i < r->ncond; i++) {
        const term *v = NULL;
        for (int k = 0; bound && k < m.n; k++)
            if (m.var[k] == r->cond[i].var)
                v = m.value[k];
        text_printf(out, "%s%s(", i ? " and " : "", rules_predicate_name(r->cond[i].pred));
        if (v != NULL)
            print_term(out, v);
        else
            text_puts(out, r->cond[i].var->name);
        text_putc(out, ')');
    }
}

int
report_new_label_rule(const gradient *g, size_t i)
{
    const rule *r = g->steps.steps[i].rule;
    if (r == NULL || strcmp(r->group, "labels") != 0)
        return 0;
    for (size_t k = 0; k < i; k++)
        if (g->steps.steps[k].rule == r)
            return 0;
    return 1;
}

/* The label rules a gradient's steps used, each once, as "onehot(y) by
   onehot.colsum (rules/labels.rules:7)"; NULL if none. */
static const char *
assumptions(text *out, const gradient *g)
{
    text s;
    text_init(&s, out->pool);
    for (size_t i = 0; i < g->steps.n; i++) {
        const rule *r = g->steps.steps[i].rule;
        if (!report_new_label_rule(g, i))
            continue;
        if (s.len)
            text_puts(&s, "; ");
        assumption_words(&s, r, g->steps.steps[i].before);
        text_printf(&s, " by %s (%s:%d)", r->name, r->file, r->line);
    }
    return s.len ? text_str(&s) : NULL;
}

const term *
report_step_before(const derivation *d, const trace_step *st)
{
    if (st->rule != NULL && st->rule->kind == RULE_ADJOINT)
        return st->before;
    return pretty_step(d->m->terms, st->before);
}

const term *
report_step_result(const derivation *d, const trace_step *st)
{
    if (st->kind == STEP_NORMAL_FORM)
        return pretty_form(d->m->terms, st->after);
    return pretty_step(d->m->terms, st->after);
}

static void
text_step(text *out, const derivation *d, size_t k, const trace_step *st)
{
    if (st->rule != NULL)
        text_printf(out, "    %zu. %s (%s:%d)\n", k + 1, st->rule->name, st->rule->file,
                    st->rule->line);
    else
        text_printf(out, "    %zu. %s\n", k + 1, st->what);
    if (st->rule != NULL && st->rule->kind == RULE_ADJOINT) {
        text_printf(out, "         through %s\n         gives %s\n", term_string(out, st->before),
                    term_string(out, report_step_result(d, st)));
        return;
    }
    text_printf(out, "         %s\n      => %s\n", term_string(out, report_step_before(d, st)),
                term_string(out, report_step_result(d, st)));
}

/* Convention C's formulas, in an order they can be pasted and run in. */
static void
text_convention(text *out, const derivation *d, convention c)
{
    size_t *order = mem_alloc(out->pool, (d->n + 1) * sizeof *order);
    derive_written_order(d, c, order);
    for (size_t i = 0; i < d->n; i++) {
        const gradient *g = &d->g[order[i]];
        text_printf(out, "  d%s = %s\n", g->of->name, term_string(out, derive_pretty(d, g, c)));
    }
    mem_release(out->pool, order);
}

/* Whether T applies OP anywhere. */
static int
applies(const term *t, term_op op)
{
    if (t->op == op)
        return 1;
    for (unsigned k = 0; k < t->nargs; k++)
        if (applies(t->args[k], op))
            return 1;
    return 0;
}

/* The line that says the formulas of D (its gradients in both conventions,
   and LOGIT, the form from the logits, or NULL) are NumPy, naming the
   functions among them NumPy has not, which the course defines (as derive
   --format numpy's module does). */
static void
numpy_note(text *out, const derivation *d, const term *logit)
{
    static const term_op own[] = {OP_SIGMOID, OP_RELU, OP_SOFTMAX};
    const char *used[sizeof own / sizeof own[0]];
    size_t n = 0;
    for (size_t k = 0; k < sizeof own / sizeof own[0]; k++) {
        int found = logit != NULL && applies(logit, own[k]);
        for (size_t i = 0; i < d->n && !found; i++)
            found = applies(derive_pretty(d, &d->g[i], CONVENTION_DEFERRED), own[k]) ||
                    applies(derive_pretty(d, &d->g[i], CONVENTION_ABSORBED), own[k]);
        if (found)
            used[n++] = term_op_name(own[k]);
    }
    text_puts(out, "The formulas are NumPy (import numpy as np)");
    for (size_t k = 0; k < n; k++)
        text_printf(out, "%s%s", k == 0 ? "; " : k + 1 < n ? ", " : " and ", used[k]);
    if (n > 0)
        text_printf(out, " %s the course's own (derive --format numpy defines %s)",
                    n == 1 ? "is" : "are", n == 1 ? "it" : "them");
    text_puts(out, "\n\n");
}

/* The gradients of D in each convention, the label assumptions they used,
   and LOGIT, the form from the logits of gradient AT, where there is one
   (roundoff_logit_form). */
static void
text_formulas(text *out, const derivation *d, const term *logit, size_t at)
{
    const model *m = d->m;
    if (m->batch != NULL) {
        text_printf(out,
                    "Deferred convention: dV = %s * d%s/dV for intermediates, d%s/dV for "
                    "params\n",
                    m->batch->name, m->loss->name, m->loss->name);
        text_convention(out, d, CONVENTION_DEFERRED);
        text_printf(out, "\nAbsorbed convention: dV = d%s/dV\n", m->loss->name);
        text_convention(out, d, CONVENTION_ABSORBED);
    } else {
        text_printf(out, "Per-example notation (no batch): dV = d%s/dV in both conventions\n",
                    m->loss->name);
        text_convention(out, d, CONVENTION_ABSORBED);
    }
    int any = 0;
    for (size_t i = 0; i < d->n; i++) {
        const char *a = assumptions(out, &d->g[i]);
        if (a == NULL)
            continue;
        if (!any)
            text_puts(out, "\nLabel assumptions used:\n");
        any = 1;
        text_printf(out, "  d%s: %s\n", d->g[i].of->name, a);
    }
    if (!any)
        text_puts(out, "\nLabel assumptions used: none\n");
    if (logit != NULL)
        text_printf(out,
                    "\nFrom the logits (the same d%s, accurate for confident predictions; "
                    "derivcheck error --regime confident):\n  d%s = %s\n",
                    d->g[at].of->name, d->g[at].of->name, term_string(out, logit));
}

static void
report_text(text *out, const derivation *d, const char *name, int with_trace)
{
    const model *m = d->m;
    text_printf(out, "Gradients of the loss %s of %s\n", m->loss->name, format_base_name(name));
    /* beside the textbook A - Y, the form that keeps its accuracy when A
       rounds near 1 (derivcheck error --regime confident measures both) */
    size_t at;
    const term *logit = roundoff_logit_form(d, &at);
    numpy_note(out, d, logit);
    text_formulas(out, d, logit, at);
    if (!with_trace)
        return;
    for (size_t i = 0; i < d->n; i++) {
        const gradient *g = &d->g[i];
        text_printf(out, "\nSteps for d%s (%s %s):\n", g->of->name, kind_word(g->of), g->of->name);
        for (size_t k = 0; k < g->steps.n; k++)
            text_step(out, d, k, &g->steps.steps[k]);
    }
}

/* S as a JSON string, or null when S is NULL. */
static json_t *
json_text(text *out, const char *s)
{
    return format_json_string(out->pool, s);
}

/* "dV": the name a gradient goes by. */
static json_t *
json_gradient_name(text *out, const gradient *g)
{
    return json_text(out, stringf(out, "d%s", g->of->name));
}

/* The steps of TR: each rule (or what was done instead), where the rule is
   written, and the terms before and after as the text trace shows them
   (report_step_before, report_step_result). */
static json_t *
json_trace(text *out, const derivation *d, const trace *tr)
{
    json_t *steps = json_array();
    for (size_t k = 0; k < tr->n; k++) {
        const trace_step *st = &tr->steps[k];
        json_t *o = json_object();
        json_object_set_new(o, "rule", json_text(out, st->rule ? st->rule->name : st->what));
        json_object_set_new(o, "file", json_text(out, st->rule ? st->rule->file : NULL));
        json_object_set_new(o, "line", json_integer(st->rule ? st->rule->line : 0));
        json_object_set_new(o, "before",
                            json_text(out, term_string(out, report_step_before(d, st))));
        json_object_set_new(o, "after",
                            json_text(out, term_string(out, report_step_result(d, st))));
        json_array_append_new(steps, o);
    }
    return steps;
}

/* Both conventions' formulas of G, as "deferred" and "absorbed" of O. */
static void
json_formulas(text *out, json_t *o, const derivation *d, const gradient *g)
{
    json_object_set_new(o, "deferred",
                        json_text(out, term_string(out, derive_pretty(d, g, CONVENTION_DEFERRED))));
    json_object_set_new(o, "absorbed",
                        json_text(out, term_string(out, derive_pretty(d, g, CONVENTION_ABSORBED))));
}

static void
report_json(text *out, const derivation *d, const char *name, int with_trace)
{
    const model *m = d->m;
    json_t *top = format_json_report("derive");
    json_object_set_new(top, "model", json_text(out, format_base_name(name)));
    json_object_set_new(top, "loss", json_text(out, m->loss->name));
    json_object_set_new(top, "batch", json_text(out, m->batch != NULL ? m->batch->name : NULL));
    json_t *rows = json_array();
    json_object_set_new(top, "gradients", rows);
    for (size_t i = 0; i < d->n; i++) {
        const gradient *g = &d->g[i];
        json_t *o = json_object();
        json_object_set_new(o, "name", json_gradient_name(out, g));
        json_object_set_new(o, "of", json_text(out, g->of->name));
        json_object_set_new(o, "kind", json_text(out, kind_word(g->of)));
        json_object_set_new(o, "named", json_boolean(g->named));
        json_formulas(out, o, d, g);
        json_object_set_new(o, "assumptions", json_text(out, assumptions(out, g)));
        if (with_trace) /* the steps as made: normal forms as canon writes them */
            json_object_set_new(o, "trace", json_trace(out, d, &g->steps));
        json_array_append_new(rows, o);
    }
    format_json_rows(out, top, "  ");
}

static void
report_markdown(text *out, const derivation *d, const char *name, int with_trace)
{
    const model *m = d->m;
    text_printf(out, "# Gradients of `%s` in `%s`\n\n", m->loss->name, format_base_name(name));
    static const char *const heads[] = {"gradient", "deferred", "absorbed"};
    format_markdown_head(out, 3, heads, NULL);
    for (size_t i = 0; i < d->n; i++) {
        const gradient *g = &d->g[i];
        const char *cells[] = {
            stringf(out, "`d%s`", g->of->name),
            stringf(out, "`%s`", term_string(out, derive_pretty(d, g, CONVENTION_DEFERRED))),
            stringf(out, "`%s`", term_string(out, derive_pretty(d, g, CONVENTION_ABSORBED)))};
        format_markdown_row(out, 3, cells);
    }
    for (size_t i = 0; with_trace && i < d->n; i++) {
        const gradient *g = &d->g[i];
        text_printf(out, "\n## Steps for `d%s`\n\n", g->of->name);
        for (size_t k = 0; k < g->steps.n; k++) {
            const trace_step *st = &g->steps.steps[k];
            if (st->rule != NULL)
                text_printf(out, "%zu. `%s` (%s:%d): `%s` → `%s`\n", k + 1, st->rule->name,
                            st->rule->file, st->rule->line,
                            term_string(out, report_step_before(d, st)),
                            term_string(out, report_step_result(d, st)));
            else
                text_printf(out, "%zu. %s: `%s` → `%s`\n", k + 1, st->what,
                            term_string(out, report_step_before(d, st)),
                            term_string(out, report_step_result(d, st)));
        }
    }
}

/* Convention C's gradients, each an inline formula in a paragraph of its
   own, so that a long one breaks over lines (report_latex_formula). */
static void
latex_gradients(text *out, const derivation *d, convention c)
{
    for (size_t i = 0; i < d->n; i++) {
        const gradient *g = &d->g[i];
        text name;
        text_init(&name, out->pool);
        text_printf(&name, "d%s", g->of->name);
        text_putc(out, '$');
        report_latex_formula(out, text_str(&name), derive_pretty(d, g, c));
        text_puts(out, "$\n\n");
    }
}

static void
report_latex(text *out, const derivation *d, const char *name)
{
    const model *m = d->m;
    report_latex_begin(out, "");
    text_puts(out, "\\section*{Gradients of ");
    print_latex_name(out, m->loss->name);
    text_puts(out, " in \\texttt{");
    format_latex_text(out, format_base_name(name));
    text_puts(out, "}}\n");
    if (m->batch != NULL) {
        text_puts(out, "\\subsection*{Deferred convention}\n");
        latex_gradients(out, d, CONVENTION_DEFERRED);
        text_puts(out, "\\subsection*{Absorbed convention}\n");
    }
    latex_gradients(out, d, CONVENTION_ABSORBED);
    report_latex_end(out);
}

void
report_latex_begin(text *out, const char *packages)
{
    text_printf(out,
                "\\documentclass[11pt]{article}\n\\usepackage{amsmath,amssymb}\n%s"
                "\\allowdisplaybreaks\n"
                "\\setlength{\\textwidth}{16cm}\n"
                "\\setlength{\\oddsidemargin}{0cm}\n"
                "\\setlength{\\evensidemargin}{0cm}\n"
                "\\setlength{\\parindent}{0pt}\n"
                "\\setlength{\\parskip}{0.5em}\n"
                "\\sloppy\n"
                "\\begin{document}\n",
                packages);
}

void
report_latex_formula(text *out, const char *name, const term *t)
{
    if (name != NULL) {
        print_latex_symbol(out, name);
        text_puts(out, " = ");
    }
    print_latex(out, t);
}

void
report_latex_end(text *out)
{
    text_puts(out, "\\end{document}\n");
}

void
report_derivation(text *out, const derivation *d, const char *name, format_kind f, int with_trace)
{
    switch (f) {
    case FORMAT_TEXT:
        report_text(out, d, name, with_trace);
        break;
    case FORMAT_JSON:
        report_json(out, d, name, with_trace);
        break;
    case FORMAT_MARKDOWN:
        report_markdown(out, d, name, with_trace);
        break;
    case FORMAT_LATEX:
        report_latex(out, d, name);
        break;
    case FORMAT_NUMPY:
        numpy_module(out, d, name);
        break;
    }
}

void
report_rules(text *out, const rule_set *rs, format_kind f)
{
    json_t *top = f == FORMAT_JSON ? format_json_report("rules") : NULL;
    json_t *rows = f == FORMAT_JSON ? json_array() : NULL;
    if (top != NULL)
        json_object_set_new(top, "rules", rows);
    if (f == FORMAT_MARKDOWN) {
        static const char *const heads[] = {"rule", "group", "where", "pattern => replacement"};
        text_puts(out, "# Rules\n\n");
        format_markdown_head(out, 4, heads, NULL);
    }
    for (size_t i = 0; i < rs->n; i++) {
        const rule *r = &rs->rules[i];
        text t;
        text_init(&t, out->pool);
        if (r->kind == RULE_ADJOINT)
            text_printf(&t, "%s = ", r->output->name);
        print_term(&t, r->lhs);
        text_puts(&t, " => ");
        if (r->kind == RULE_ADJOINT)
            text_printf(&t, "d%s = ", r->input->name);
        print_term(&t, r->rhs);
        if (r->ncond > 0) {
            text_puts(&t, " if ");
            assumption_words(&t, r, NULL);
        }
        if (f == FORMAT_JSON) {
            json_t *o = json_object();
            json_object_set_new(o, "name", json_text(out, r->name));
            json_object_set_new(o, "group", json_text(out, r->group));
            json_object_set_new(o, "file", json_text(out, r->file));
            json_object_set_new(o, "line", json_integer(r->line));
            json_object_set_new(o, "rule", json_text(out, text_str(&t)));
            json_array_append_new(rows, o);
        } else if (f == FORMAT_MARKDOWN) {
            /* the language has no '|' or '`' to break a cell or a code span */
            const char *cells[] = {stringf(out, "`%s`", r->name), r->group,
                                   stringf(out, "%s:%d", r->file, r->line),
                                   stringf(out, "`%s`", text_str(&t))};
            format_markdown_row(out, 4, cells);
        } else
            text_printf(out, "%-22s %-8s %s:%d\n    %s\n", r->name, r->group, r->file, r->line,
                        text_str(&t));
    }
    if (f == FORMAT_JSON)
        format_json_rows(out, top, " ");
}

void
report_models(text *out, const char *const *names, size_t n, format_kind f)
{
    if (f != FORMAT_JSON) {
        for (size_t i = 0; i < n; i++)
            text_printf(out, "%s\n", names[i]);
        return;
    }
    json_t *top = format_json_report("models");
    json_t *rows = json_array();
    json_object_set_new(top, "models", rows);
    for (size_t i = 0; i < n; i++)
        json_array_append_new(rows, json_text(out, names[i]));
    format_json_rows(out, top, " ");
}

/* ---- proofs ---- */

/* "2^-63" or "0" (exactly equal) or "n/a". */
static const char *
power_of_two(text *out, double log2)
{
    text s;
    text_init(&s, out->pool);
    if (isnan(log2))
        text_puts(&s, "n/a");
    else if (isinf(log2) && log2 < 0)
        text_puts(&s, "0");
    else
        text_printf(&s, "2^%.0f", floor(log2));
    return text_str(&s);
}

/* The exact test's line, after "exact:". */
static void
text_exact(text *out, const proof *p, const proof_item *it)
{
    const char *sizes = prove_sizes_words(p, out->pool);
    const char *with = sizes[0] ? " with " : "";
    if (it->exact_points == 0) {
        text_printf(out, "could not run at any of %d random rational points%s%s: %s\n",
                    it->exact_tried, with, sizes, it->exact_why ? it->exact_why : "");
        return;
    }
    text_printf(out,
                "difference 0 at %d of %d random rational points%s%s (activations "
                "free%s)",
                it->exact_equal, it->exact_points, with, sizes,
                it->exact_confirms ? "; only confirming: the certificate proves it" : "");
    if (it->exact_witness != NULL)
        text_printf(out, "; NOT 0 at %s", it->exact_witness);
    else if (it->exact_equal == it->exact_points)
        text_printf(out,
                    "; P(unequal forms agree at all) <= %s (Schwartz-Zippel, degree <= "
                    "%ld, 2^%d values per entry, %d point%s at each size)",
                    power_of_two(out, it->log2_chance), it->degree, PROVE_SAMPLE_BITS,
                    it->exact_per_size, it->exact_per_size == 1 ? "" : "s");
    if (it->exact_points < it->exact_tried)
        text_printf(out, "; %d point%s could not run: %s", it->exact_tried - it->exact_points,
                    it->exact_tried - it->exact_points == 1 ? "" : "s",
                    it->exact_why ? it->exact_why : "");
    text_putc(out, '\n');
}

/* "the enclosure of the difference excludes 0 at ..." and the other
   outcomes of the enclosure test, after "enclosure:". */
static const char *
enclosure_words(text *out, const proof_item *it)
{
    switch (it->enclosure) {
    case AGREE_DIFFERENT:
        return stringf(out, "the enclosure of the difference excludes 0 at %s (Arb, %ld bits)",
                       it->enclosure_what, it->enclosure_bits);
    case AGREE_NOT_SEPARATED:
        return stringf(out,
                       "no difference shown: at every entry the two enclosures overlap (Arb, "
                       "%ld bits; an enclosure never shows equality)",
                       it->enclosure_bits);
    default:
        return stringf(out, "could not run (Arb, %ld bits): %s", it->enclosure_bits,
                       it->enclosure_what ? it->enclosure_what : "");
    }
}

static const char *
loss_status_name(prove_loss l)
{
    return l == PROVE_LOSS_AGREES    ? "agrees"
           : l == PROVE_LOSS_DIFFERS ? "differs"
                                     : "could_not_run";
}

/* The param's own check against the loss (made after the joint check
   disagreed), after "loss:". */
static void
text_loss(text *out, const proof *p, const proof_item *it)
{
    const char *J = p->d->m->loss->name, *v = it->g->of->name;
    if (it->loss == PROVE_LOSS_AGREES)
        text_printf(out,
                    "sum(d%s * U) and the central difference of %s along a random U agree to "
                    "%s (MPFR, %d bits)\n",
                    v, J, power_of_two(out, it->loss_log2_gap), ORACLE_BITS);
    else if (it->loss == PROVE_LOSS_DIFFERS)
        text_printf(out,
                    "DIFFER: %s (relative gap %s, MPFR, %d bits): the derived d%s is not the "
                    "derivative of %s, so a rule is unsound: run derivcheck rules --verify\n",
                    it->loss_what, power_of_two(out, it->loss_log2_gap), ORACLE_BITS, v, J);
    else
        text_printf(out, "could not run: %s\n", it->loss_what ? it->loss_what : "");
}

/* How IT was decided, after "decided:". */
static const char *
decided_words(text *out, const proof *p, const proof_item *it)
{
    const model *m = p->d->m;
    switch (it->verdict) {
    case PROVE_PROVEN:
        return it->method == PROVE_BY_SYMBOLIC
                   ? "proven, symbolic: by the certificate, a proof for every size"
                   : stringf(out,
                             "proven, exact: difference 0 at every one of %d rational points%s%s",
                             it->exact_points, p->sizes[0].count > 0 ? " with " : "",
                             prove_sizes_words(p, out->pool));
    case PROVE_REFUTED:
        return it->method == PROVE_BY_EXACT
                   ? stringf(out, "REFUTED, exact: the difference is not 0 at %s",
                             it->exact_witness)
                   : stringf(out, "REFUTED, enclosure: the difference excludes 0 (Arb, %ld bits)",
                             it->enclosure_bits);
    case PROVE_NUMERIC_ONLY:
        return stringf(out,
                       "equal numerically only, numeric: the MPFR gap is rounding error at every "
                       "precision%s; not a proof",
                       m->batch ? stringf(out, " with %s = %ld and %ld", m->batch->name,
                                          it->numeric_batch, it->numeric_batch2)
                                : "");
    case PROVE_UNDECIDED:
        break;
    }
    return "UNDECIDED: no method could decide (see above)";
}

static void
text_proof_item(text *out, const proof *p, const proof_item *it, int with_trace)
{
    const derivation *d = p->d;
    const model *m = d->m;
    const char *mname = m->batch != NULL ? m->batch->name : "m";
    text_printf(out, "d%s:  deferred %s\n", it->g->of->name,
                term_string(out, derive_pretty(d, it->g, CONVENTION_DEFERRED)));
    text_printf(out, "%*s  absorbed %s\n", (int)strlen(it->g->of->name) + 1, "",
                term_string(out, derive_pretty(d, it->g, CONVENTION_ABSORBED)));
    text_printf(out, "  symbolic: %s\n", prove_lemma_words(p, it->lemma, out->pool));
    if (with_trace) {
        text_printf(out, "    absorbed, the earlier lemmas substituted%s%s: %s\n",
                    it->lemma->intermediate ? ", times " : "", it->lemma->intermediate ? mname : "",
                    term_string(out, pretty_form(m->terms, it->lemma->absorbed_substituted)));
        text_printf(out, "    deferred: %s\n",
                    term_string(out, pretty_form(m->terms, it->lemma->deferred)));
    }
    if (!it->numeric_ran) {
        text_printf(out,
                    "  numeric:  not run: d%s is %ld backward steps from the loss, deeper than "
                    "the %ld the numeric tests go (--numeric-depth)\n",
                    it->g->of->name, it->lemma->depth, p->numeric_depth);
        text_printf(out, "  decided:  %s\n", decided_words(out, p, it));
        text_putc(out, '\n');
        return;
    }
    text_puts(out, "  exact:    ");
    text_exact(out, p, it);
    if (it->enclosure_bits > 0)
        text_printf(out, "  enclosure: %s\n", enclosure_words(out, it));
    text_puts(out, "  MPFR:     max |difference| / max |value|");
    if (p->sizes[0].count > 0)
        text_printf(out, " with %s", prove_size_words(&p->sizes[p->mpfr_sizes[0]], out->pool));
    text_putc(out, ':');
    for (int k = 0; k < PROVE_PRECISIONS; k++)
        text_printf(out, " %ld bits %s%s", it->precision[k], power_of_two(out, it->log2_gap[k]),
                    k + 1 < PROVE_PRECISIONS ? "," : "");
    if (it->numeric_batch2 > 0)
        text_printf(out, "; with %s, %ld bits %s",
                    prove_size_words(&p->sizes[p->mpfr_sizes[1]], out->pool),
                    it->precision[PROVE_PRECISIONS - 1], power_of_two(out, it->log2_gap2));
    if (it->numeric_why != NULL)
        text_printf(out, "; n/a: %s", it->numeric_why);
    text_putc(out, '\n');
    if (m->batch != NULL)
        text_printf(out, "  double:   at most %s apart with %s = %ld, %s with %s = %ld\n",
                    ulps_words(out->pool, it->ulps_pow2), mname, it->batch_pow2,
                    ulps_words(out->pool, it->ulps_other), mname, it->batch_other);
    if (it->is_param && p->oracle->alone != NULL) {
        text_puts(out, "  loss:     ");
        text_loss(out, p, it);
    }
    text_printf(out, "  decided:  %s\n", decided_words(out, p, it));
    if (it->disagree)
        text_printf(out,
                    "  DISAGREE: the symbolic proof and the %s evaluation disagree, so a rule is "
                    "unsound: run derivcheck rules --verify\n",
                    prove_method_name(it->method));
    text_putc(out, '\n');
}

/* The params whose verdict is V, "dW1, db1", with how each was decided
   when WITH_METHOD. */
static const char *
params_where(text *out, const proof *p, prove_verdict v, int with_method)
{
    text s;
    text_init(&s, out->pool);
    for (size_t i = 0; i < p->n; i++) {
        const proof_item *it = &p->items[i];
        if (!it->is_param || it->verdict != v)
            continue;
        text_printf(&s, "%sd%s", s.len ? ", " : "", it->g->of->name);
        if (with_method)
            text_printf(&s, " (%s)", prove_method_name(it->method));
    }
    return text_str(&s);
}

/* The last paragraph: the proof's verdict, how it was decided, and what
   the exit status says. */
static void
text_proof_verdict(text *out, const proof *p)
{
    int by[PROVE_BY_NOTHING + 1] = {0};
    for (size_t i = 0; i < p->n; i++)
        if (p->items[i].is_param)
            by[p->items[i].method]++;
    if (p->oracle->joint.status == ORACLE_DIFFERS) {
        text_printf(out,
                    "\nNOT THE DERIVATIVE: %s. The exit status is 2: the rule base is unsound "
                    "(run derivcheck rules --verify), which refutes nothing about the "
                    "placements and leaves nothing proven.\n",
                    oracle_words(p->oracle, out->pool));
        return;
    }
    text_printf(out, "\nAgainst the loss: %s.\n", oracle_words(p->oracle, out->pool));
    switch (p->verdict) {
    case PROVE_PROVEN:
        text_printf(out,
                    "\nProven: every parameter gradient is the same in both placements "
                    "(decided: %d symbolic, %d exact).\n",
                    by[PROVE_BY_SYMBOLIC], by[PROVE_BY_EXACT]);
        break;
    case PROVE_REFUTED:
        text_printf(out, "\nREFUTED: a parameter gradient differs between the placements: %s.\n",
                    params_where(out, p, PROVE_REFUTED, 1));
        break;
    case PROVE_NUMERIC_ONLY: {
        const char *numeric = params_where(out, p, PROVE_NUMERIC_ONLY, 0);
        text_printf(out,
                    "\nNot refuted, but not proven: %s %s equal only numerically (MPFR at rising "
                    "precision, at two batch sizes), which is weaker than a proof; every other "
                    "parameter gradient is proven. The exit status is 0: agreement at points of "
                    "varied sizes counts as holding.\n",
                    numeric, strchr(numeric, ',') ? "are" : "is");
        break;
    }
    case PROVE_UNDECIDED:
        text_printf(out,
                    "\nUNDECIDED: nothing was refuted, but no method decided %s (see above). The "
                    "exit status is 2: neither holds (0) nor refuted (1).\n",
                    params_where(out, p, PROVE_UNDECIDED, 0));
        break;
    }
}

static void
proof_text(text *out, const proof *p, const char *name, int with_trace)
{
    const derivation *d = p->d;
    const model *m = d->m;
    text_printf(out,
                "The placements of 1/m in %s: deferred (dV = m * d%s/dV for "
                "intermediates) and absorbed (dV = d%s/dV)\n\n",
                format_base_name(name), m->loss->name, m->loss->name);
    if (m->batch == NULL)
        text_puts(out, "This model has no batch dim: the two conventions are one.\n\n");
    text_puts(out, "Parameter gradients, which must be equal:\n\n");
    for (size_t i = 0; i < p->n; i++)
        if (p->items[i].is_param)
            text_proof_item(out, p, &p->items[i], with_trace);
    text_printf(out,
                "Not equal, by design: the conventions' gradients of intermediates differ "
                "by exactly the factor %s:\n\n",
                m->batch != NULL ? m->batch->name : "m");
    for (size_t i = 0; i < p->n; i++)
        if (!p->items[i].is_param)
            text_proof_item(out, p, &p->items[i], with_trace);
    text_puts(out, "In double precision the two placements can differ in the last bits although "
                   "they are equal in exact arithmetic: 1/m is rounded once in one and folded "
                   "into a different sequence of roundings in the other.\n");
    text_proof_verdict(out, p);
}

/* One precision's or one batch size's evidence: {KEY: N, NAME: X}. */
static json_t *
json_evidence(const char *key, long n, const char *name, double x)
{
    json_t *o = json_object();
    json_object_set_new(o, key, json_integer(n));
    json_object_set_new(o, name, format_json_number(x));
    return o;
}

static const char *
enclosure_status_name(agree_status st)
{
    return st == AGREE_DIFFERENT       ? "different"
           : st == AGREE_NOT_SEPARATED ? "not_separated"
                                       : "could_not_run";
}

/* A proof's verdict as the JSON's code (prove_verdict_name's words have a
   space in "equal numerically"). */
static const char *
prove_verdict_code(prove_verdict v)
{
    static const char *const codes[] = {[PROVE_PROVEN] = "proven",
                                        [PROVE_NUMERIC_ONLY] = "numeric",
                                        [PROVE_REFUTED] = "refuted",
                                        [PROVE_UNDECIDED] = "undecided"};
    return codes[v];
}

/* The evidence behind IT's verdict that the older fields do not hold: the
   verdict and its method, the exact test's reasons, the enclosure, MPFR at
   a second batch size and the check against the loss. */
static void
json_decision(text *out, json_t *o, const proof_item *it)
{
    json_object_set_new(o, "verdict", json_text(out, prove_verdict_code(it->verdict)));
    json_object_set_new(o, "method", json_text(out, prove_method_name(it->method)));
    json_object_set_new(o, "disagree", json_boolean(it->disagree));
    json_object_set_new(o, "exact_tried", json_integer(it->exact_tried));
    json_object_set_new(o, "exact_why", json_text(out, it->exact_why));
    json_object_set_new(o, "exact_witness", json_text(out, it->exact_witness));
    json_t *enc = json_null();
    if (it->enclosure_bits > 0) {
        enc = json_object();
        json_object_set_new(enc, "bits", json_integer(it->enclosure_bits));
        json_object_set_new(enc, "status", json_text(out, enclosure_status_name(it->enclosure)));
        json_object_set_new(enc, "what", json_text(out, it->enclosure_what));
    }
    json_object_set_new(o, "enclosure", enc);
    json_object_set_new(o, "mpfr_batch", json_integer(it->numeric_batch));
    json_object_set_new(o, "mpfr_why", json_text(out, it->numeric_why));
    json_object_set_new(o, "mpfr_again",
                        it->numeric_batch2 > 0
                            ? json_evidence("batch", it->numeric_batch2, "log2_gap", it->log2_gap2)
                            : json_null());
    json_t *loss = json_null();
    if (it->is_param) {
        loss = json_object();
        json_object_set_new(loss, "status", json_text(out, loss_status_name(it->loss)));
        json_object_set_new(loss, "bits", json_integer(ORACLE_BITS));
        json_object_set_new(loss, "log2_gap", format_json_number(it->loss_log2_gap));
        json_object_set_new(loss, "what", json_text(out, it->loss_what));
    }
    json_object_set_new(o, "loss", loss);
}

/* The oracle's result O as JSON: what it compared and how that came out,
   and after a disagreement the gradients found wrong and the rules
   suspected. */
static json_t *
json_oracle(text *out, const oracle_result *o)
{
    json_t *j = json_object();
    json_object_set_new(j, "status", json_text(out, oracle_status_code(o->joint.status)));
    json_object_set_new(j, "bits", json_integer(ORACLE_BITS));
    json_object_set_new(j, "params", json_integer((json_int_t)o->nparams));
    json_object_set_new(j, "points", json_integer(o->points));
    json_object_set_new(j, "log2_gap", format_json_number(o->joint.log2_gap));
    json_object_set_new(j, "loss_evaluations", json_integer(o->loss_evaluations));
    json_object_set_new(j, "summary", json_text(out, oracle_words(o, out->pool)));
    json_t *wrong = json_array(), *first = json_array(), *rules = json_array();
    for (size_t i = 0; o->alone != NULL && i < o->d->n; i++) {
        const oracle_gradient *a = &o->alone[i];
        if (a->check.status == ORACLE_DIFFERS)
            json_array_append_new(wrong, json_gradient_name(out, a->g));
        if (a->first)
            json_array_append_new(first, json_gradient_name(out, a->g));
    }
    for (size_t k = 0; k < o->nsuspects; k++) {
        json_t *r = json_object();
        json_object_set_new(r, "name", json_text(out, o->suspects[k]->name));
        json_object_set_new(r, "file", json_text(out, o->suspects[k]->file));
        json_object_set_new(r, "line", json_integer(o->suspects[k]->line));
        json_array_append_new(rules, r);
    }
    json_object_set_new(j, "wrong", wrong);
    json_object_set_new(j, "first_wrong", first);
    json_object_set_new(j, "rules", rules);
    return j;
}

static void
proof_json(text *out, const proof *p, const char *name)
{
    const derivation *d = p->d;
    json_t *top = format_json_report("prove");
    json_object_set_new(top, "model", json_text(out, format_base_name(name)));
    json_object_set_new(top, "seed", format_json_unsigned(p->seed));
    json_object_set_new(top, "proven", json_boolean(p->params_proven));
    json_object_set_new(top, "verdict", json_text(out, prove_verdict_code(p->verdict)));
    json_t *batches = json_array();
    for (int k = 0; k < p->nbatches && d->m->batch != NULL; k++)
        json_array_append_new(batches, json_integer(p->batches[k]));
    json_object_set_new(top, "exact_batches", batches);
    json_t *sizes = json_array();
    for (int k = 0; k < PROVE_SIZES; k++) {
        json_t *one = json_object();
        for (size_t n = 0; n < p->sizes[k].count; n++)
            json_object_set_new(one, p->sizes[k].dims[n]->name, json_integer(p->sizes[k].n[n]));
        json_array_append_new(sizes, one);
    }
    json_object_set_new(top, "exact_sizes", sizes);
    json_object_set_new(top, "oracle", json_oracle(out, p->oracle));
    json_t *rows = json_array();
    json_object_set_new(top, "gradients", rows);
    for (size_t i = 0; i < p->n; i++) {
        const proof_item *it = &p->items[i];
        json_t *o = json_object();
        json_object_set_new(o, "name", json_gradient_name(out, it->g));
        json_object_set_new(o, "relation", json_text(out, it->is_param ? "equal" : "differ_by_m"));
        json_formulas(out, o, d, it->g);
        json_object_set_new(o, "symbolic", json_boolean(it->symbolic));
        json_object_set_new(o, "lemma", json_text(out, prove_lemma_words(p, it->lemma, out->pool)));
        json_object_set_new(o, "lemma_depth", json_integer(it->lemma->depth));
        json_object_set_new(o, "numeric_ran", json_boolean(it->numeric_ran));
        json_object_set_new(o, "exact_points", json_integer(it->exact_points));
        json_object_set_new(o, "exact_equal", json_integer(it->exact_equal));
        json_object_set_new(o, "degree", json_integer(it->degree));
        json_object_set_new(o, "log2_chance", format_json_number(it->log2_chance));
        json_object_set_new(o, "exact_per_size", json_integer(it->exact_per_size));
        json_object_set_new(o, "exact_confirms", json_boolean(it->exact_confirms));
        json_t *mpfr = json_array();
        for (int k = 0; k < PROVE_PRECISIONS; k++)
            json_array_append_new(
                mpfr, json_evidence("bits", it->precision[k], "log2_gap", it->log2_gap[k]));
        json_object_set_new(o, "mpfr", mpfr);
        json_t *dbl = json_array();
        json_array_append_new(dbl, json_evidence("batch", it->batch_pow2, "ulps", it->ulps_pow2));
        json_array_append_new(dbl, json_evidence("batch", it->batch_other, "ulps", it->ulps_other));
        json_object_set_new(o, "double", dbl);
        json_decision(out, o, it);
        json_t *cert = json_object();
        json_t *uses = json_array(), *rules = json_array();
        for (size_t k = 0; k < it->lemma->nuses; k++)
            json_array_append_new(uses, json_integer((json_int_t)it->lemma->uses[k] + 1));
        for (size_t k = 0; k < it->lemma->nrules; k++)
            json_array_append_new(rules, json_text(out, it->lemma->rules[k]->name));
        json_object_set_new(cert, "lemma", json_integer((json_int_t)(it->lemma - p->lemmas) + 1));
        json_object_set_new(cert, "uses", uses);
        json_object_set_new(cert, "rules", rules);
        json_object_set_new(cert, "absorbed_substituted",
                            json_text(out, term_string(out, it->lemma->absorbed_substituted)));
        json_object_set_new(cert, "deferred",
                            json_text(out, term_string(out, it->lemma->deferred)));
        json_object_set_new(o, "certificate", cert);
        json_array_append_new(rows, o);
    }
    format_json_rows(out, top, "  ");
}

static void
proof_markdown(text *out, const proof *p, const char *name)
{
    const derivation *d = p->d;
    text_printf(out, "# The placements of 1/m in `%s`\n\n", format_base_name(name));
    static const char *const heads[] = {"gradient",
                                        "deferred",
                                        "absorbed",
                                        "relation",
                                        "symbolic",
                                        "exact",
                                        "MPFR 64 / 1024 bits",
                                        "double (ulps)",
                                        "decided"};
    format_markdown_head(out, 9, heads, NULL);
    for (size_t i = 0; i < p->n; i++) {
        const proof_item *it = &p->items[i];
        const char *cells[] = {
            stringf(out, "`d%s`", it->g->of->name),
            stringf(out, "`%s`", term_string(out, derive_pretty(d, it->g, CONVENTION_DEFERRED))),
            stringf(out, "`%s`", term_string(out, derive_pretty(d, it->g, CONVENTION_ABSORBED))),
            it->is_param ? "equal" : "differ by m",
            it->symbolic ? "proven" : "no",
            it->exact_points > 0 ? stringf(out, "%d/%d", it->exact_equal, it->exact_points)
                                 : "could not run",
            stringf(out, "%s / %s", power_of_two(out, it->log2_gap[0]),
                    power_of_two(out, it->log2_gap[PROVE_PRECISIONS - 1])),
            stringf(out, "%s, %s", ulps_words(out->pool, it->ulps_pow2),
                    ulps_words(out->pool, it->ulps_other)),
            stringf(out, "%s (%s)%s", prove_verdict_name(it->verdict),
                    prove_method_name(it->method), it->disagree ? ", DISAGREE" : "")};
        format_markdown_row(out, 9, cells);
    }
    static const char *const verdicts[] = {
        [PROVE_PROVEN] = "Every parameter gradient is the same in both placements.",
        [PROVE_NUMERIC_ONLY] = "Every parameter gradient is the same in both placements, some "
                               "only numerically (not proven).",
        [PROVE_REFUTED] = "**A parameter gradient differs.**",
        [PROVE_UNDECIDED] = "**Undecided:** nothing refuted, but some parameter gradient "
                            "could not be decided."};
    text_printf(out, "\n%s\n", verdicts[p->verdict]);
    text_printf(out, "\n%s: %s.\n",
                p->oracle->joint.status == ORACLE_DIFFERS ? "**Not the derivative of the loss**"
                                                          : "Against the loss",
                oracle_words(p->oracle, out->pool));
}

void
report_proof(text *out, const proof *p, const char *name, format_kind f, int with_trace)
{
    switch (f) {
    case FORMAT_JSON:
        proof_json(out, p, name);
        break;
    case FORMAT_MARKDOWN:
        proof_markdown(out, p, name);
        break;
    default:
        proof_text(out, p, name, with_trace);
        break;
    }
}

/* ---- checks ---- */

static const char *const verdict_mark[] = {"ok", "GIVEN", "WRONG", "SHAPE", "UNDEC", "step"};
/* verdict_method's codes, as JSON writes them */
static const char *const method_code[] = {"symbolic", "exact", "enclosure",
                                          "numeric",  "shape", "none"};

/* "m = 3" of size assignment S's dim K as a tuple's entry. */
static void
sizes_tuple(text *out, const sample_sizes *s, int names)
{
    text_putc(out, '(');
    for (size_t k = 0; k < s->count; k++) {
        text_puts(out, k > 0 ? ", " : "");
        if (names)
            text_puts(out, s->dims[k]->name);
        else
            text_printf(out, "%ld", s->n[k]);
    }
    text_putc(out, ')');
}

/* " at the sizes (n_x, m) = (2, 8), (3, 5)": the size assignments of
   C whose bit is set in USED. */
static void
sizes_words(text *out, const check_result *c, unsigned long used)
{
    if (c->sizes[0].count == 0)
        return;
    text_puts(out, ", sizes ");
    sizes_tuple(out, &c->sizes[0], 1);
    text_puts(out, " =");
    int first = 1;
    for (int s = 0; s < CHECK_SIZES; s++)
        if (used & 1ul << s) {
            text_puts(out, first ? " " : ", ");
            sizes_tuple(out, &c->sizes[s], 0);
            first = 0;
        }
}

void
report_claim_method(text *out, const check_result *c, const claim_result *r)
{
    const claim_evidence *e = &r->evidence;
    unsigned long at = e->witness >= 0 ? 1ul << e->witness % CHECK_SIZES : 0;
    switch (e->method) {
    case METHOD_SYMBOLIC:
        text_puts(out, "symbolic: both sides reduce to one normal form");
        break;
    case METHOD_EXACT:
        if (e->witness >= 0)
            text_printf(out, "exact: the difference is not 0 in rationals at the random point %ld",
                        e->witness);
        else
            text_printf(out, "exact: equal in rationals at %d random points", e->points);
        sizes_words(out, c, e->witness >= 0 ? at : e->sizes_compared);
        break;
    case METHOD_ENCLOSURE:
        text_printf(out,
                    "enclosure: an interval at %ld bits holding the difference excludes 0 at the "
                    "random point %ld",
                    e->bits, e->witness);
        sizes_words(out, c, at);
        break;
    case METHOD_NUMERIC:
        text_printf(out, "numeric only: equal in MPFR at %ld bits at %d random points", e->bits,
                    e->points);
        sizes_words(out, c, e->sizes_compared);
        text_puts(out, "; no symbolic proof, no exact evaluation");
        break;
    case METHOD_SHAPE:
        text_puts(out, "shapes: they differ in symbolic dims, before any numbers");
        break;
    case METHOD_NONE: /* a working value is judged through the claims that use it */
        text_puts(out, r->verdict == CLAIM_STEP ? "not judged by itself" : "none decided");
        break;
    }
}

void
report_check_summary(text *out, const check_result *c)
{
    int held = 0, undecided = 0, steps = 0;
    for (size_t i = 0; i < c->n; i++) {
        held += c->r[i].verdict == CLAIM_HOLDS;
        undecided += c->r[i].verdict == CLAIM_UNDECIDED;
        steps += c->r[i].verdict == CLAIM_STEP;
    }
    /* working steps that are no gradient are not claims */
    size_t claims = c->n - (size_t)steps;
    if (c->mixing != NULL && (size_t)held == claims) {
        text_printf(out,
                    "The derivation fails: each of its %zu claims holds in its own convention, "
                    "but they mix the conventions.",
                    claims);
        return;
    }
    text_printf(out, "%d of %zu claims hold", held, claims);
    if (steps > 0)
        text_printf(out, ", besides %d working step%s", steps, steps == 1 ? "" : "s");
    if (undecided > 0)
        text_printf(out, ", %d undecided", undecided);
    if (c->mixing != NULL)
        text_puts(out, ", and the derivation mixes the conventions");
    else if (c->outcome == CHECK_UNDECIDED)
        text_puts(out, ": nothing is refuted, but the derivation is not established");
    text_putc(out, '.');
}

/* Whether V's name was assigned more than once (A1 = A1 * D1). */
static int
reassigned(const symbol *v)
{
    return v->earlier != NULL || v->later != NULL;
}

/* "deferred, m * dJ/dZ2" (in the model's batch name) for the convention a claim follows; for a
   reassigned name, which version, and where it was assigned. */
static const char *
follows_words(text *out, const claim_result *r, const model *m)
{
    const char *loss = m->loss->name;
    const symbol *v = r->of;
    text t;
    text_init(&t, out->pool);
    if (v->kind == SYM_PARAM)
        text_printf(&t, "d%s/d%s%s", loss, v->name,
                    r->follows == CONVENTION_DEFERRED   ? ", from deferred gradients"
                    : r->follows == CONVENTION_ABSORBED ? ", from absorbed gradients"
                                                        : "");
    else if (r->follows == CONVENTION_DEFERRED)
        text_printf(&t, "deferred, %s * d%s/d%s", m->batch != NULL ? m->batch->name : "m", loss,
                    v->name);
    else if (r->follows == CONVENTION_ABSORBED)
        text_printf(&t, "absorbed, d%s/d%s", loss, v->name);
    else
        text_printf(&t, "d%s/d%s", loss, v->name);
    if (reassigned(v)) {
        int line, col;
        source_position(&m->src, v->offset, &line, &col);
        text_printf(&t, " (%s as assigned at line %d)", v->name, line);
    }
    return text_str(&t);
}

static void
check_text(text *out, const check_result *c, const derivation *d, const char *name)
{
    text_printf(out, "Claims of %s (convention %s)\n\n", format_base_name(name),
                model_convention_name(d->m->convention));
    for (size_t i = 0; i < c->n; i++) {
        const claim_result *r = &c->r[i];
        text_printf(out, "  %-5s %-6s line %-4d ", verdict_mark[r->verdict], r->claim->name,
                    r->line);
        if (r->verdict == CLAIM_HOLDS)
            text_printf(out, "holds: %s\n", follows_words(out, r, d->m));
        else if (r->verdict == CLAIM_UNDECIDED)
            text_printf(out, "undecided: %s\n", r->reason);
        else
            text_printf(out, "%s\n", r->reason);
        text_puts(out, "        method: ");
        report_claim_method(out, c, r);
        text_putc(out, '\n');
        if (r->note != NULL)
            text_printf(out, "        note: %s\n", r->note);
        if (r->verdict == CLAIM_REFUTED || r->verdict == CLAIM_SHAPE)
            text_printf(out, "        expected: %s = %s\n", r->claim->name,
                        term_string(out, r->expected));
        if (r->counterexample != NULL)
            text_printf(out, "        counterexample: %s\n", r->counterexample);
    }
    if (c->mixing != NULL)
        text_printf(out, "\nThe derivation %s.\n", c->mixing);
    text_printf(out, "\n%s: %s.\n",
                c->oracle->joint.status == ORACLE_DIFFERS ? "NOT THE DERIVATIVE"
                                                          : "Against the loss",
                oracle_words(c->oracle, out->pool));
    text_putc(out, '\n');
    report_check_summary(out, c);
    text_putc(out, '\n');
}

/* The sizes of assignment S as a JSON object, {"n_x": 3, "m": 5}. */
static json_t *
json_sizes(const sample_sizes *s)
{
    json_t *o = json_object();
    for (size_t k = 0; k < s->count; k++)
        json_object_set_new(o, s->dims[k]->name, json_integer(s->n[k]));
    return o;
}

/* What R's verdict rests on, beyond its method's code: the points and
   their sizes, the witness and its sizes, the precision; null for a
   symbolic proof, a shape or no method. */
static json_t *
json_claim_evidence(const check_result *c, const claim_result *r)
{
    const claim_evidence *e = &r->evidence;
    if (e->method == METHOD_SYMBOLIC || e->method == METHOD_SHAPE || e->method == METHOD_NONE)
        return json_null();
    json_t *o = json_object();
    if (e->witness >= 0) {
        json_object_set_new(o, "point", json_integer(e->witness));
        json_object_set_new(o, "sizes", json_sizes(&c->sizes[e->witness % CHECK_SIZES]));
    } else {
        json_object_set_new(o, "points", json_integer(e->points));
        json_t *sizes = json_array();
        for (int s = 0; s < CHECK_SIZES; s++)
            if (e->sizes_compared & 1ul << s)
                json_array_append_new(sizes, json_sizes(&c->sizes[s]));
        json_object_set_new(o, "sizes", sizes);
    }
    if (e->method == METHOD_NUMERIC || e->method == METHOD_ENCLOSURE)
        json_object_set_new(o, "bits", json_integer(e->bits));
    return o;
}

static void
check_json(text *out, const check_result *c, const derivation *d, const char *name)
{
    static const char *const outcome_code[] = {"ok", "wrong", "undecided"};
    json_t *top = format_json_report("check");
    json_object_set_new(top, "file", json_text(out, format_base_name(name)));
    json_object_set_new(top, "convention", json_text(out, model_convention_name(d->m->convention)));
    json_object_set_new(top, "mixing", json_text(out, c->mixing));
    json_object_set_new(top, "all_hold", json_boolean(c->outcome == CHECK_ALL_HOLD));
    json_object_set_new(top, "outcome", json_text(out, outcome_code[c->outcome]));
    text summary;
    text_init(&summary, out->pool);
    report_check_summary(&summary, c);
    json_object_set_new(top, "summary", json_text(out, text_str(&summary)));
    json_object_set_new(top, "oracle", json_oracle(out, c->oracle));
    json_t *rows = json_array();
    json_object_set_new(top, "claims", rows);
    for (size_t i = 0; i < c->n; i++) {
        const claim_result *r = &c->r[i];
        int held = r->verdict == CLAIM_HOLDS || r->verdict == CLAIM_GIVEN_YOURS;
        json_t *o = json_object();
        json_object_set_new(o, "name", json_text(out, r->claim->name));
        json_object_set_new(o, "line", json_integer(r->line));
        json_object_set_new(o, "verdict", json_text(out, check_verdict_code(r->verdict)));
        json_object_set_new(o, "convention",
                            json_text(out, !held ? NULL
                                           : r->follows == CONVENTION_AUTO
                                               ? "either"
                                               : model_convention_name(r->follows)));
        json_object_set_new(o, "diagnosis", json_text(out, check_diagnosis_code(r->diagnosis)));
        json_object_set_new(o, "reason", json_text(out, r->reason));
        if (r->note != NULL)
            json_object_set_new(o, "note", json_text(out, r->note));
        if (r->of != NULL &&
            reassigned(r->of)) /* which version of the name it is the gradient of */
            json_object_set_new(o, "gradient_of",
                                json_text(out, r->verdict == CLAIM_STEP ? NULL : r->of->name));
        json_object_set_new(o, "method", json_text(out, method_code[r->evidence.method]));
        json_object_set_new(o, "evidence", json_claim_evidence(c, r));
        json_object_set_new(
            o, "expected",
            json_text(out, r->expected != NULL ? term_string(out, r->expected) : NULL));
        json_object_set_new(o, "counterexample", json_text(out, r->counterexample));
        json_array_append_new(rows, o);
    }
    format_json_rows(out, top, "  ");
}

void
report_check(text *out, const check_result *c, const derivation *d, const char *name, format_kind f)
{
    if (f == FORMAT_JSON)
        check_json(out, c, d, name);
    else
        check_text(out, c, d, name);
}
