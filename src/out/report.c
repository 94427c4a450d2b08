/* report.c: derivations and rule lists written as text, JSON, Markdown or LaTeX. */
#include "out/report.h"

#include <math.h>
#include <string.h>

#include "lang/print.h"
#include "sym/pretty.h"

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
    static const char *const names[] = {"onehot", "binary", "prob", "scalar", "const", "matrix"};
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
    return normal_form ? pretty_form(d->m->terms, st->after) : st->after;
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
    if (!with_trace)
        return;
    for (size_t i = 0; i < d->n; i++) {
        const gradient *g = &d->g[i];
        text_printf(out, "\nSteps for d%s (%s %s):\n", g->of->name, kind_word(g->of), g->of->name);
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
                            term_string(out, st->before), term_string(out, step_result(d, st)));
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
    }
}

void
report_rules(text *out, const rule_set *rs, format_kind f)
{
    if (f == FORMAT_JSON)
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
        if (f == FORMAT_JSON) {
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
    if (f == FORMAT_JSON)
        text_puts(out, "\n]\n");
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

static const char *
ulps_words(text *out, double ulps)
{
    text s;
    text_init(&s, out->pool);
    if (isnan(ulps))
        text_puts(&s, "n/a");
    else if (isinf(ulps))
        text_puts(&s, "NaN");
    else
        text_printf(&s, "%.0f ulp%s", ulps, ulps == 1 ? "" : "s");
    return text_str(&s);
}

static void
text_certificate(text *out, const derivation *d, const char *side, const trace *tr)
{
    text_printf(out, "    certificate, %s side:\n", side);
    for (size_t k = 0; k < tr->n; k++)
        text_step(out, d, k, &tr->steps[k]);
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
    const char *relation = it->is_param ? "deferred = absorbed" : "deferred = m * absorbed";
    if (!it->is_param && m->batch != NULL)
        relation = mname[0] == 'm' && mname[1] == '\0' ? "deferred = m * absorbed"
                                                       : "deferred = batch * absorbed";
    text_printf(out, "  symbolic: %s%s\n", relation,
                it->symbolic ? ": both sides reduce to one normal form"
                             : ": NOT shown; the normal forms differ");
    if (it->symbolic)
        text_printf(out, "            %s\n",
                    term_string(out, pretty_form(m->terms, it->deferred_normal)));
    text_printf(out,
                "  exact:    difference 0 at %d of %d random rational points (activations "
                "free)",
                it->exact_equal, it->exact_points);
    if (it->symbolic && it->exact_equal < it->exact_points)
        text_puts(out,
                  "\n  DISAGREE: the symbolic proof and the exact evaluation disagree, so a rule "
                  "is unsound: run derivcheck rules --verify");
    if (it->exact_equal == it->exact_points && it->exact_points > 0)
        text_printf(out,
                    "; P(unequal forms agree at all) <= %s (Schwartz-Zippel, degree <= "
                    "%ld, 2^%d values per entry)\n",
                    power_of_two(out, it->log2_chance), it->degree, PROVE_SAMPLE_BITS);
    else
        text_puts(out, "\n");
    text_puts(out, "  MPFR:     max |difference| / max |value|:");
    for (int k = 0; k < PROVE_PRECISIONS; k++)
        text_printf(out, " %ld bits %s%s", it->precision[k], power_of_two(out, it->log2_gap[k]),
                    k + 1 < PROVE_PRECISIONS ? "," : "\n");
    if (m->batch != NULL)
        text_printf(out, "  double:   at most %s apart with %s = %ld, %s with %s = %ld\n",
                    ulps_words(out, it->ulps_pow2), mname, it->batch_pow2,
                    ulps_words(out, it->ulps_other), mname, it->batch_other);
    if (with_trace) {
        text_certificate(out, d, "deferred", &it->cert_deferred);
        text_certificate(out, d, "absorbed", &it->cert_absorbed);
    }
    text_putc(out, '\n');
}

static void
proof_text(text *out, const proof *p, const char *name, int with_trace)
{
    const derivation *d = p->d;
    const model *m = d->m;
    text_printf(out,
                "The placements of 1/m in %s: deferred (dV = m * d%s/dV for "
                "intermediates) and absorbed (dV = d%s/dV)\n\n",
                base_name(name), m->loss->name, m->loss->name);
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
    int symbolic_all = 1;
    for (size_t i = 0; i < p->n; i++)
        symbolic_all &= p->items[i].symbolic;
    if (p->params_proven && symbolic_all)
        text_puts(out, "\nProven: every parameter gradient is the same in both placements.\n");
    else if (p->params_proven)
        text_puts(out, "\nEqual at every random point, but no symbolic proof was found for "
                       "every gradient (see above).\n");
    else
        text_puts(out, "\nREFUTED: a parameter gradient differs between the placements.\n");
}

static void
json_trace(text *out, const derivation *d, const trace *tr)
{
    text_puts(out, "[");
    for (size_t k = 0; k < tr->n; k++) {
        const trace_step *st = &tr->steps[k];
        text_puts(out, k ? ", {" : "{");
        json_field(out, "rule", st->rule ? st->rule->name : st->what, 1);
        json_field(out, "file", st->rule ? st->rule->file : NULL, 1);
        text_printf(out, "\"line\": %d, ", st->rule ? st->rule->line : 0);
        json_field(out, "before", term_string(out, st->before), 1);
        json_field(out, "after", term_string(out, step_result(d, st)), 0);
        text_puts(out, "}");
    }
    text_puts(out, "]");
}

static void
json_number(text *out, const char *key, double x, int comma)
{
    if (isnan(x) || isinf(x))
        text_printf(out, "\"%s\": null%s", key, comma ? ", " : "");
    else
        text_printf(out, "\"%s\": %.17g%s", key, x, comma ? ", " : "");
}

static void
proof_json(text *out, const proof *p, const char *name)
{
    const derivation *d = p->d;
    text_puts(out, "{");
    json_field(out, "model", base_name(name), 1);
    text_printf(out, "\"seed\": %lu, \"proven\": %s, \"gradients\": [", p->seed,
                p->params_proven ? "true" : "false");
    for (size_t i = 0; i < p->n; i++) {
        const proof_item *it = &p->items[i];
        text_puts(out, i ? ",\n  {" : "\n  {");
        text t;
        text_init(&t, out->pool);
        text_printf(&t, "d%s", it->g->of->name);
        json_field(out, "name", text_str(&t), 1);
        json_field(out, "relation", it->is_param ? "equal" : "differ by m", 1);
        json_field(out, "deferred", term_string(out, derive_pretty(d, it->g, CONVENTION_DEFERRED)),
                   1);
        json_field(out, "absorbed", term_string(out, derive_pretty(d, it->g, CONVENTION_ABSORBED)),
                   1);
        text_printf(out, "\"symbolic\": %s, ", it->symbolic ? "true" : "false");
        json_field(out, "normal_form", it->symbolic ? term_string(out, it->deferred_normal) : NULL,
                   1);
        text_printf(out, "\"exact_points\": %d, \"exact_equal\": %d, \"degree\": %ld, ",
                    it->exact_points, it->exact_equal, it->degree);
        json_number(out, "log2_chance", it->log2_chance, 1);
        text_puts(out, "\"mpfr\": [");
        for (int k = 0; k < PROVE_PRECISIONS; k++) {
            text_printf(out, "%s{\"bits\": %ld, ", k ? ", " : "", it->precision[k]);
            json_number(out, "log2_gap", it->log2_gap[k], 0);
            text_puts(out, "}");
        }
        text_printf(out, "], \"double\": [{\"batch\": %ld, ", it->batch_pow2);
        json_number(out, "ulps", it->ulps_pow2, 0);
        text_printf(out, "}, {\"batch\": %ld, ", it->batch_other);
        json_number(out, "ulps", it->ulps_other, 0);
        text_puts(out, "}], \"certificate\": {\"deferred\": ");
        json_trace(out, d, &it->cert_deferred);
        text_puts(out, ", \"absorbed\": ");
        json_trace(out, d, &it->cert_absorbed);
        text_puts(out, "}}");
    }
    text_puts(out, "\n]}\n");
}

static void
proof_markdown(text *out, const proof *p, const char *name)
{
    const derivation *d = p->d;
    text_printf(out, "# The placements of 1/m in `%s`\n\n", base_name(name));
    text_puts(out, "| gradient | deferred | absorbed | relation | symbolic | exact | MPFR 64 / "
                   "1024 bits | double (ulps) |\n|---|---|---|---|---|---|---|---|\n");
    for (size_t i = 0; i < p->n; i++) {
        const proof_item *it = &p->items[i];
        text_printf(out, "| `d%s` | `%s` | `%s` | %s | %s | %d/%d | %s / %s | %s, %s |\n",
                    it->g->of->name, term_string(out, derive_pretty(d, it->g, CONVENTION_DEFERRED)),
                    term_string(out, derive_pretty(d, it->g, CONVENTION_ABSORBED)),
                    it->is_param ? "equal" : "differ by m", it->symbolic ? "proven" : "no",
                    it->exact_equal, it->exact_points, power_of_two(out, it->log2_gap[0]),
                    power_of_two(out, it->log2_gap[PROVE_PRECISIONS - 1]),
                    ulps_words(out, it->ulps_pow2), ulps_words(out, it->ulps_other));
    }
    text_printf(out, "\n%s\n",
                p->params_proven ? "Every parameter gradient is the same in "
                                   "both placements."
                                 : "**A parameter gradient differs.**");
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

static const char *const verdict_mark[] = {"ok", "GIVEN", "WRONG", "SHAPE", "step"};
static const char *const verdict_word[] = {"holds", "right given earlier wrong claims", "refuted",
                                           "wrong shape", "working step"};

/* Whether V's name was assigned more than once (A1 = A1 * D1). */
static int
reassigned(const symbol *v)
{
    return v->earlier != NULL || v->later != NULL;
}

/* "deferred: m * dJ/dZ2" for the convention a claim follows; for a
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
        text_printf(&t, "deferred, m * d%s/d%s", loss, v->name);
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
    text_printf(out, "Claims of %s (convention %s)\n\n", base_name(name),
                model_convention_name(d->m->convention));
    int held = 0, steps = 0;
    for (size_t i = 0; i < c->n; i++) {
        const claim_result *r = &c->r[i];
        held += r->verdict == CLAIM_HOLDS;
        steps += r->verdict == CLAIM_STEP;
        text_printf(out, "  %-5s %-6s line %-4d ", verdict_mark[r->verdict], r->claim->name,
                    r->line);
        if (r->verdict == CLAIM_HOLDS)
            text_printf(out, "holds: %s\n", follows_words(out, r, d->m));
        else
            text_printf(out, "%s\n", r->reason);
        if (r->verdict == CLAIM_HOLDS && strcmp(r->method, "symbolic and numeric") != 0)
            text_printf(out, "        (%s)\n", r->method);
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
    if (steps > 0) /* working steps that are no gradient are not claims */
        text_printf(out, "\n%d of %zu claims hold, besides %d working step%s.\n", held,
                    c->n - (size_t)steps, steps, steps == 1 ? "" : "s");
    else
        text_printf(out, "\n%d of %zu claims hold.\n", held, c->n);
}

static void
check_json(text *out, const check_result *c, const derivation *d, const char *name)
{
    text_puts(out, "{");
    json_field(out, "file", base_name(name), 1);
    json_field(out, "convention", model_convention_name(d->m->convention), 1);
    json_field(out, "mixing", c->mixing, 1);
    text_printf(out, "\"all_hold\": %s, \"claims\": [", c->all_hold ? "true" : "false");
    for (size_t i = 0; i < c->n; i++) {
        const claim_result *r = &c->r[i];
        text_puts(out, i ? ",\n  {" : "\n  {");
        json_field(out, "name", r->claim->name, 1);
        text_printf(out, "\"line\": %d, ", r->line);
        json_field(out, "verdict", verdict_word[r->verdict], 1);
        json_field(
            out, "convention",
            r->verdict == CLAIM_HOLDS || r->verdict == CLAIM_GIVEN_YOURS
                ? (r->follows == CONVENTION_AUTO ? "either" : model_convention_name(r->follows))
                : NULL,
            1);
        json_field(out, "reason", r->reason, 1);
        if (r->note != NULL)
            json_field(out, "note", r->note, 1);
        if (r->of != NULL &&
            reassigned(r->of)) /* which version of the name it is the gradient of */
            json_field(out, "gradient_of", r->verdict == CLAIM_STEP ? NULL : r->of->name, 1);
        json_field(out, "method", r->method, 1);
        json_field(out, "expected", term_string(out, r->expected), 1);
        json_field(out, "counterexample", r->counterexample, 0);
        text_puts(out, "}");
    }
    text_puts(out, "\n]}\n");
}

void
report_check(text *out, const check_result *c, const derivation *d, const char *name, format_kind f)
{
    if (f == FORMAT_JSON)
        check_json(out, c, d, name);
    else
        check_text(out, c, d, name);
}
