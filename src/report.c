/* report.c: derivations and rule lists written as text, JSON, Markdown or LaTeX. */
#include "report.h"

#include <string.h>

#include "canon.h"
#include "print.h"

int
report_format_named(const char *name, report_format *out)
{
    static const struct {
        const char *name;
        report_format f;
    } formats[] = {{"text", REPORT_TEXT},
                   {"json", REPORT_JSON},
                   {"markdown", REPORT_MARKDOWN},
                   {"latex", REPORT_LATEX}};
    for (size_t i = 0; i < sizeof formats / sizeof formats[0]; i++)
        if (strcmp(formats[i].name, name) == 0) {
            *out = formats[i].f;
            return 1;
        }
    return 0;
}

/* The file name without its folders: reports read the same wherever the
   model lives. */
static const char *
base_name(const char *path)
{
    const char *slash = strrchr(path, '/');
    return slash != NULL ? slash + 1 : path;
}

static const char *
kind_word(const symbol *s)
{
    return s->kind == SYM_PARAM ? "param" : "definition";
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
    static const char *const names[] = {"onehot", "binary", "prob", "scalar", "const"};
    match m = {.n = 0};
    int bound = at != NULL && rule_match(r->lhs, at, &m);
    for (int i = 0; i < r->ncond; i++) {
        const term *v = NULL;
        for (int k = 0; bound && k < m.n; k++)
            if (m.var[k] == r->cond[i].var)
                v = m.value[k];
        text_printf(out, "%s%s(", i ? " and " : "", names[r->cond[i].pred]);
        if (v != NULL)
            print_term(out, v);
        else
            text_puts(out, r->cond[i].var->name);
        text_putc(out, ')');
    }
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
        if (r == NULL || strcmp(r->group, "labels") != 0)
            continue;
        int seen = 0;
        for (size_t k = 0; k < i; k++)
            seen |= g->steps.steps[k].rule == r;
        if (seen)
            continue;
        if (s.len)
            text_puts(&s, "; ");
        assumption_words(&s, r, g->steps.steps[i].before);
        text_printf(&s, " by %s (%s:%d)", r->name, r->file, r->line);
    }
    return s.len ? text_str(&s) : NULL;
}

/* What a step produced, as people read it: a normal form pretty. */
static const term *
step_result(const derivation *d, const trace_step *st)
{
    int normal_form = st->rule == NULL && strncmp(st->what, "normal form", 11) == 0;
    return normal_form ? canon_pretty(d->m->terms, st->after) : st->after;
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
                    term_string(out, st->after));
        return;
    }
    text_printf(out, "         %s\n      => %s\n", term_string(out, st->before),
                term_string(out, step_result(d, st)));
}

static void
text_convention(text *out, const derivation *d, convention c)
{
    for (size_t i = 0; i < d->n; i++) {
        const gradient *g = &d->g[i];
        text_printf(out, "  d%s = %s\n", g->of->name, term_string(out, derive_pretty(d, g, c)));
    }
}

static void
report_text(text *out, const derivation *d, const char *name, int with_trace)
{
    const model *m = d->m;
    text_printf(out, "Gradients of the loss %s of %s\n\n", m->loss->name, base_name(name));
    if (m->batch != NULL) {
        text_printf(out, "Deferred convention: dV = %s * d%s/dV for intermediates, d%s/dV for "
                    "params\n", m->batch->name, m->loss->name, m->loss->name);
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
    if (!with_trace)
        return;
    for (size_t i = 0; i < d->n; i++) {
        const gradient *g = &d->g[i];
        text_printf(out, "\nSteps for d%s (%s %s):\n", g->of->name, kind_word(g->of),
                    g->of->name);
        for (size_t k = 0; k < g->steps.n; k++)
            text_step(out, d, k, &g->steps.steps[k]);
    }
}

static void
json_field(text *out, const char *key, const char *value, int comma)
{
    print_json_string(out, key);
    text_puts(out, ": ");
    if (value != NULL)
        print_json_string(out, value);
    else
        text_puts(out, "null");
    if (comma)
        text_puts(out, ", ");
}

static void
report_json(text *out, const derivation *d, const char *name, int with_trace)
{
    const model *m = d->m;
    text_puts(out, "{");
    json_field(out, "model", base_name(name), 1);
    json_field(out, "loss", m->loss->name, 1);
    json_field(out, "batch", m->batch != NULL ? m->batch->name : NULL, 1);
    text_puts(out, "\"gradients\": [");
    for (size_t i = 0; i < d->n; i++) {
        const gradient *g = &d->g[i];
        text_puts(out, i ? ",\n  {" : "\n  {");
        text t;
        text_init(&t, out->pool);
        text_printf(&t, "d%s", g->of->name);
        json_field(out, "name", text_str(&t), 1);
        json_field(out, "of", g->of->name, 1);
        json_field(out, "kind", kind_word(g->of), 1);
        text_printf(out, "\"named\": %s, ", g->named ? "true" : "false");
        json_field(out, "deferred", term_string(out, derive_pretty(d, g, CONVENTION_DEFERRED)), 1);
        json_field(out, "absorbed", term_string(out, derive_pretty(d, g, CONVENTION_ABSORBED)), 1);
        json_field(out, "assumptions", assumptions(out, g), with_trace);
        if (with_trace) {
            text_puts(out, "\"trace\": [");
            for (size_t k = 0; k < g->steps.n; k++) {
                const trace_step *st = &g->steps.steps[k];
                text_puts(out, k ? ", {" : "{");
                json_field(out, "rule", st->rule ? st->rule->name : st->what, 1);
                json_field(out, "file", st->rule ? st->rule->file : NULL, 1);
                text_printf(out, "\"line\": %d, ", st->rule ? st->rule->line : 0);
                json_field(out, "before", term_string(out, st->before), 1);
                json_field(out, "after", term_string(out, st->after), 0);
                text_puts(out, "}");
            }
            text_puts(out, "]");
        }
        text_puts(out, "}");
    }
    text_puts(out, "\n]}\n");
}

static void
report_markdown(text *out, const derivation *d, const char *name, int with_trace)
{
    const model *m = d->m;
    text_printf(out, "# Gradients of `%s` in `%s`\n\n", m->loss->name, base_name(name));
    text_puts(out, "| gradient | deferred | absorbed |\n|---|---|---|\n");
    for (size_t i = 0; i < d->n; i++) {
        const gradient *g = &d->g[i];
        text_printf(out, "| `d%s` | `%s` | `%s` |\n", g->of->name,
                    term_string(out, derive_pretty(d, g, CONVENTION_DEFERRED)),
                    term_string(out, derive_pretty(d, g, CONVENTION_ABSORBED)));
    }
    for (size_t i = 0; with_trace && i < d->n; i++) {
        const gradient *g = &d->g[i];
        text_printf(out, "\n## Steps for `d%s`\n\n", g->of->name);
        for (size_t k = 0; k < g->steps.n; k++) {
            const trace_step *st = &g->steps.steps[k];
            if (st->rule != NULL)
                text_printf(out, "%zu. `%s` (%s:%d): `%s` → `%s`\n", k + 1, st->rule->name,
                            st->rule->file, st->rule->line, term_string(out, st->before),
                            term_string(out, st->after));
            else
                text_printf(out, "%zu. %s: `%s` → `%s`\n", k + 1, st->what,
                            term_string(out, st->before), term_string(out, st->after));
        }
    }
}

static void
latex_gradients(text *out, const derivation *d, convention c)
{
    text_puts(out, "\\begin{align*}\n");
    for (size_t i = 0; i < d->n; i++) {
        const gradient *g = &d->g[i];
        text_puts(out, "  \\mathit{d");
        print_latex_name(out, g->of->name);
        text_puts(out, "} &= ");
        print_latex(out, derive_pretty(d, g, c));
        text_puts(out, i + 1 < d->n ? " \\\\\n" : "\n");
    }
    text_puts(out, "\\end{align*}\n");
}

static void
report_latex(text *out, const derivation *d, const char *name)
{
    const model *m = d->m;
    text_puts(out, "\\documentclass{article}\n\\usepackage{amsmath,amssymb}\n"
                   "\\begin{document}\n\\section*{Gradients of ");
    print_latex_name(out, m->loss->name);
    text_puts(out, " in \\texttt{");
    print_latex_name(out, base_name(name));
    text_puts(out, "}}\n");
    if (m->batch != NULL) {
        text_puts(out, "\\subsection*{Deferred convention}\n");
        latex_gradients(out, d, CONVENTION_DEFERRED);
        text_puts(out, "\\subsection*{Absorbed convention}\n");
    }
    latex_gradients(out, d, CONVENTION_ABSORBED);
    text_puts(out, "\\end{document}\n");
}

void
report_derivation(text *out, const derivation *d, const char *name, report_format f,
                  int with_trace)
{
    switch (f) {
    case REPORT_TEXT: report_text(out, d, name, with_trace); break;
    case REPORT_JSON: report_json(out, d, name, with_trace); break;
    case REPORT_MARKDOWN: report_markdown(out, d, name, with_trace); break;
    case REPORT_LATEX: report_latex(out, d, name); break;
    }
}

void
report_rules(text *out, const rule_set *rs, report_format f)
{
    if (f == REPORT_JSON)
        text_puts(out, "[");
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
        if (f == REPORT_JSON) {
            text_puts(out, i ? ",\n {" : "\n {");
            json_field(out, "name", r->name, 1);
            json_field(out, "group", r->group, 1);
            json_field(out, "file", r->file, 1);
            text_printf(out, "\"line\": %d, ", r->line);
            json_field(out, "rule", text_str(&t), 0);
            text_puts(out, "}");
        } else
            text_printf(out, "%-22s %-8s %s:%d\n    %s\n", r->name, r->group, r->file, r->line,
                        text_str(&t));
    }
    if (f == REPORT_JSON)
        text_puts(out, "\n]\n");
}
