/* doc.c: the whole derivation written as one document; see doc.h. */
#include "out/doc.h"

#include <ctype.h>
#include <math.h>
#include <stdarg.h>
#include <string.h>

#include "base/format.h"
#include "lang/print.h"
#include "sym/pretty.h"
#include "num/ulps.h"
#include "out/mathml.h"
#include "out/report.h"

int
doc_format_named(const char *name, doc_format *out)
{
    static const struct {
        const char *name;
        doc_format f;
    } formats[] = {{"markdown", DOC_MARKDOWN}, {"latex", DOC_LATEX}, {"html", DOC_HTML}};
    for (size_t i = 0; i < sizeof formats / sizeof formats[0]; i++)
        if (strcmp(formats[i].name, name) == 0) {
            *out = formats[i].f;
            return 1;
        }
    return 0;
}

/* ---- the writer: one document, three notations ----

   The content below is written once, through these calls; each call knows
   how its format spells headings, paragraphs, lists, tables, code and
   mathematics, and what it must escape. */

typedef struct writer {
    text *out;
    doc_format f;
    int item;      /* the number of the current item of an ordered list */
    int ordered;   /* the current list is ordered */
    int in_table;  /* line breaks inside a table cell */
    int cell;      /* cells so far in the current row */
    int section;   /* the number of the last numbered section */
    int proof_no;  /* the numbers of the proof and double-precision sections, */
    int double_no; /* which other sections refer to */
} writer;

static void
escape_text(writer *w, const char *s)
{
    text *out = w->out;
    for (; *s; s++) {
        char c = *s;
        switch (w->f) {
        case DOC_MARKDOWN:
            if (strchr("\\`*_[]<>|$~#&", c) != NULL)
                text_putc(out, '\\');
            text_putc(out, c);
            break;
        case DOC_LATEX:
            format_latex_char(out, c);
            break;
        case DOC_HTML: {
            char one[2] = {c, 0};
            mathml_escape(out, one);
            break;
        }
        }
    }
}

/* S escaped for W's format, into a string of W's pool. */
static const char *
escaped(writer *w, const char *s)
{
    text t;
    text_init(&t, w->out->pool);
    writer into = {.out = &t, .f = w->f};
    escape_text(&into, s);
    return text_str(&t);
}

static void
w_text(writer *w, const char *s)
{
    escape_text(w, s);
}

static void __attribute__((format(printf, 2, 3))) w_textf(writer *w, const char *fmt, ...)
{
    text t;
    text_init(&t, w->out->pool);
    va_list ap;
    va_start(ap, fmt);
    text_vprintf(&t, fmt, ap);
    va_end(ap);
    escape_text(w, text_str(&t));
}

static void
w_strong(writer *w, const char *s)
{
    static const char *const open[] = {"**", "\\textbf{", "<strong>"};
    static const char *const close[] = {"**", "}", "</strong>"};
    text_puts(w->out, open[w->f]);
    w_text(w, s);
    text_puts(w->out, close[w->f]);
}

static void
w_code(writer *w, const char *s)
{
    switch (w->f) {
    case DOC_MARKDOWN:
        text_printf(w->out, "`%s`", s); /* formulas and file names have no backquote */
        break;
    case DOC_LATEX:
        text_puts(w->out, "\\texttt{");
        w_text(w, s);
        text_puts(w->out, "}");
        break;
    case DOC_HTML:
        text_puts(w->out, "<code>");
        w_text(w, s);
        text_puts(w->out, "</code>");
        break;
    }
}

/* LaTeX that GitHub's $...$ renders as written: its Markdown pass would
   take a backslash before punctuation as an escape and < as a tag. */
static void
markdown_math(text *out, const char *latex)
{
    for (const char *c = latex; *c; c++) {
        if (strncmp(c, "\\, ", 3) == 0) {
            c += 2; /* " \\, " becomes one space */
        } else if (strncmp(c, "\\,", 2) == 0) {
            text_putc(out, ' ');
            c++;
        } else if (strncmp(c, "\\_", 2) == 0) {
            text_puts(out, "\\text{_}");
            c++;
        } else if (*c == '>')
            text_puts(out, "\\gt");
        else if (*c == '<')
            text_puts(out, "\\lt");
        else
            text_putc(out, *c);
    }
}

/* NAME = T (NAME NULL: T alone) as inline mathematics. */
static void
w_eq(writer *w, const char *name, const term *t)
{
    if (w->f == DOC_HTML) {
        mathml_equation(w->out, name, t, 0);
        return;
    }
    text latex;
    text_init(&latex, w->out->pool);
    report_latex_formula(&latex, name, t);
    text_putc(w->out, '$');
    if (w->f == DOC_MARKDOWN)
        markdown_math(w->out, text_str(&latex));
    else
        text_puts(w->out, text_str(&latex));
    text_putc(w->out, '$');
}

static void
w_math(writer *w, const term *t)
{
    w_eq(w, NULL, t);
}

/* 2^E as mathematics; "0" for an exact zero, "n/a" when there is none. */
static void
w_pow2(writer *w, double log2)
{
    if (isnan(log2)) {
        w_text(w, "n/a");
        return;
    }
    if (isinf(log2) && log2 < 0) {
        w_text(w, "0");
        return;
    }
    long e = (long)floor(log2);
    if (w->f == DOC_HTML)
        text_printf(w->out,
                    "<math xmlns=\"http://www.w3.org/1998/Math/MathML\"><msup><mn>2</mn>"
                    "<mrow>%s<mn>%ld</mn></mrow></msup></math>",
                    e < 0 ? "<mo>&#x2212;</mo>" : "", e < 0 ? -e : e);
    else
        text_printf(w->out, "$2^{%ld}$", e);
}

/* The first N characters of S, a string of W's pool. */
static const char *
pool_strndup(writer *w, const char *s, size_t n)
{
    text t;
    text_init(&t, w->out->pool);
    text_putn(&t, s, n);
    return text_str(&t);
}

/* BASE^EXPONENT, both plain ASCII without markup characters, as
   mathematics: never 2^30 in text, which LaTeX typesets as 2ˆ30. */
static void
w_power(writer *w, const char *base, const char *exponent)
{
    if (w->f == DOC_HTML) {
        w_text(w, base);
        text_puts(w->out, "<sup>");
        w_text(w, exponent);
        text_puts(w->out, "</sup>");
    } else
        text_printf(w->out, "$%s^{%s}$", base, exponent);
}

/* S as text (another layer's words: the error sweep's draws, a claim's
   reason), with each power written B^N in it, B a name or a number and N
   whole, as mathematics. */
static void
w_text_powers(writer *w, const char *s)
{
    const char *p = s;
    while ((p = strchr(p, '^')) != NULL) {
        size_t n = strspn(p + 1, "-0123456789");
        const char *b = p;
        while (b > s && (isalnum((unsigned char)b[-1]) || b[-1] == '_'))
            b--;
        if (n == 0 || b == p) {
            p++;
            continue;
        }
        w_text(w, pool_strndup(w, s, (size_t)(b - s)));
        w_power(w, pool_strndup(w, b, (size_t)(p - b)), pool_strndup(w, p + 1, n));
        s = p = p + 1 + n;
    }
    w_text(w, s);
}

static void
w_heading(writer *w, int level, const char *s)
{
    switch (w->f) {
    case DOC_MARKDOWN:
        text_printf(w->out, "%.*s ", level, "####");
        w_text(w, s);
        text_puts(w->out, "\n\n");
        break;
    case DOC_LATEX: {
        static const char *const cmd[] = {"section", "section", "subsection", "subsubsection",
                                          "paragraph"};
        text_printf(w->out, "\\%s*{", cmd[level < 4 ? level : 4]);
        w_text(w, s);
        text_puts(w->out, "}\n\n");
        break;
    }
    case DOC_HTML:
        text_printf(w->out, "<h%d>", level);
        w_text(w, s);
        text_printf(w->out, "</h%d>\n", level);
        break;
    }
}

/* The next numbered section's heading: "N. TITLE". */
static void
w_section(writer *w, const char *title)
{
    text h;
    text_init(&h, w->out->pool);
    text_printf(&h, "%d. %s", ++w->section, title);
    w_heading(w, 2, text_str(&h));
}

static void
w_par(writer *w)
{
    if (w->f == DOC_HTML)
        text_puts(w->out, "<p>");
}

static void
w_end_par(writer *w)
{
    text_puts(w->out, w->f == DOC_HTML ? "</p>\n" : "\n\n");
}

/* A line break inside a paragraph, list item or table cell. */
static void
w_br(writer *w)
{
    switch (w->f) {
    case DOC_MARKDOWN:
        text_puts(w->out, w->in_table ? "<br>" : "\\\n    ");
        break;
    case DOC_LATEX:
        text_puts(w->out, "\\newline\n");
        break;
    case DOC_HTML:
        text_puts(w->out, "<br/>");
        break;
    }
}

static void
w_list(writer *w, int ordered)
{
    w->ordered = ordered;
    w->item = 0;
    if (w->f == DOC_LATEX)
        text_puts(w->out, ordered ? "\\begin{enumerate}\n" : "\\begin{itemize}\n");
    else if (w->f == DOC_HTML)
        text_puts(w->out, ordered ? "<ol>\n" : "<ul>\n");
}

static void
w_item(writer *w)
{
    w->item++;
    switch (w->f) {
    case DOC_MARKDOWN:
        if (w->ordered)
            text_printf(w->out, "%d. ", w->item);
        else
            text_puts(w->out, "- ");
        break;
    case DOC_LATEX:
        text_puts(w->out, "\\item ");
        break;
    case DOC_HTML:
        text_puts(w->out, "<li>");
        break;
    }
}

static void
w_end_item(writer *w)
{
    text_puts(w->out, w->f == DOC_HTML ? "</li>\n" : "\n");
}

static void
w_end_list(writer *w)
{
    if (w->f == DOC_LATEX)
        text_puts(w->out, w->ordered ? "\\end{enumerate}\n\n" : "\\end{itemize}\n\n");
    else if (w->f == DOC_HTML)
        text_puts(w->out, w->ordered ? "</ol>\n" : "</ul>\n");
    else
        text_puts(w->out, "\n");
}

/* A table with the N headers of HEADS; the first column narrow, the rest
   sharing the page (LaTeX breaks their formulas into lines). */
static void
w_table(writer *w, int n, const char *const *heads)
{
    switch (w->f) {
    case DOC_MARKDOWN: {
        const char **names = mem_alloc(w->out->pool, (size_t)n * sizeof *names);
        for (int i = 0; i < n; i++)
            names[i] = escaped(w, heads[i]);
        format_markdown_head(w->out, n, names, NULL);
        break;
    }
    case DOC_LATEX:
        /* the whole text width and no more: the X columns share what the
           first leaves */
        text_puts(w->out, "\\begin{center}\\small\n\\begin{tabularx}{\\textwidth}{l");
        for (int i = 1; i < n; i++)
            text_puts(w->out, ">{\\raggedright\\arraybackslash}X");
        text_puts(w->out, "}\n\\hline\n");
        for (int i = 0; i < n; i++) {
            text_puts(w->out, i ? " & \\textbf{" : "\\textbf{");
            w_text(w, heads[i]);
            text_puts(w->out, "}");
        }
        text_puts(w->out, " \\\\\n\\hline\n");
        break;
    case DOC_HTML:
        text_puts(w->out, "<table>\n<thead><tr>");
        for (int i = 0; i < n; i++) {
            text_puts(w->out, "<th>");
            w_text(w, heads[i]);
            text_puts(w->out, "</th>");
        }
        text_puts(w->out, "</tr></thead>\n<tbody>\n");
        break;
    }
    w->in_table = 1;
}

static void
w_row(writer *w)
{
    w->cell = 0;
    text_puts(w->out, w->f == DOC_HTML ? "<tr>" : "");
}

static void
w_cell(writer *w)
{
    switch (w->f) {
    case DOC_MARKDOWN:
        text_puts(w->out, w->cell ? " | " : "| ");
        break;
    case DOC_LATEX:
        text_puts(w->out, w->cell ? " & " : "");
        break;
    case DOC_HTML:
        text_puts(w->out, w->cell ? "</td><td>" : "<td>");
        break;
    }
    w->cell++;
}

static void
w_end_row(writer *w)
{
    static const char *const end[] = {" |\n", " \\\\\n", "</td></tr>\n"};
    text_puts(w->out, end[w->f]);
}

static void
w_end_table(writer *w)
{
    static const char *const end[] = {"\n", "\\hline\n\\end{tabularx}\n\\end{center}\n\n",
                                      "</tbody>\n</table>\n"};
    text_puts(w->out, end[w->f]);
    w->in_table = 0;
}

static void
w_verbatim(writer *w, const char *s)
{
    switch (w->f) {
    case DOC_MARKDOWN:
        text_printf(w->out, "```\n%s```\n\n", s);
        break;
    case DOC_LATEX:
        /* verbatim never breaks a line: \footnotesize fits the 88 columns
           of a listing (print_model) in the text width */
        text_printf(w->out, "{\\footnotesize\n\\begin{verbatim}\n%s\\end{verbatim}\n}\n\n", s);
        break;
    case DOC_HTML:
        text_puts(w->out, "<pre>");
        w_text(w, s);
        text_puts(w->out, "</pre>\n");
        break;
    }
}

static const char html_style[] =
    "body{font-family:serif;max-width:60em;margin:2em auto;padding:0 1em;line-height:1.4}"
    "table{border-collapse:collapse;margin:1em 0}"
    "th,td{border:1px solid #999;padding:0.3em 0.6em;text-align:left;vertical-align:top}"
    "pre{background:#f4f4f4;padding:0.6em;overflow-x:auto}"
    "math[display=block]{margin:0.5em 0}";

static void
w_begin(writer *w, const char *title)
{
    switch (w->f) {
    case DOC_MARKDOWN:
        w_heading(w, 1, title);
        break;
    case DOC_LATEX:
        report_latex_begin(w->out, "\\usepackage{tabularx,array}\n");
        text_puts(w->out, "\\section*{");
        w_text(w, title);
        text_puts(w->out, "}\n\n");
        break;
    case DOC_HTML:
        text_puts(w->out, "<!DOCTYPE html>\n<html xmlns=\"http://www.w3.org/1999/xhtml\" "
                          "lang=\"en\">\n<head>\n<meta charset=\"utf-8\"/>\n<title>");
        w_text(w, title);
        text_printf(w->out, "</title>\n<style>%s</style>\n</head>\n<body>\n", html_style);
        w_heading(w, 1, title);
        break;
    }
}

static void
w_end(writer *w)
{
    if (w->f == DOC_LATEX)
        report_latex_end(w->out);
    else if (w->f == DOC_HTML)
        text_puts(w->out, "</body>\n</html>\n");
}

/* ---- the content ---- */

static const char *
term_code(writer *w, const term *t)
{
    text s;
    text_init(&s, w->out->pool);
    print_term(&s, t);
    return text_str(&s);
}

static const char *
grad_name(writer *w, const gradient *g)
{
    text s;
    text_init(&s, w->out->pool);
    text_printf(&s, "d%s", g->of->name);
    return text_str(&s);
}

static const char *
batch_name(const model *m)
{
    return m->batch != NULL ? m->batch->name : "m";
}

static void
intro(writer *w, const doc_input *in)
{
    const model *m = in->d->m;
    w_par(w);
    w_textf(w,
            "This document was written by derivcheck from %s (random points from seed %lu). "
            "Every formula in it comes out of the rule engine: each step of a derivation "
            "names the rule that justifies it and the file and line where that rule is "
            "written, and every equality is established symbolically (normal forms), "
            "exactly (GMP rationals at random points) and numerically (MPFR).",
            format_base_name(in->name), in->seed);
    w_end_par(w);
    if (m->batch == NULL)
        return;
    w_par(w);
    w_textf(w,
            "The loss %s averages over a batch of %s examples, one per column. The factor 1/%s "
            "can be written in two places. In the deferred convention (the course notes' "
            "dZ = A - Y) a gradient of an intermediate dV means %s times d%s/dV, and the "
            "1/%s is written into the parameter gradients. In the absorbed convention "
            "every dV means exactly d%s/dV, and the 1/%s rides along from the loss.",
            m->loss->name, m->batch->name, m->batch->name, m->batch->name, m->loss->name,
            m->batch->name, m->loss->name, m->batch->name);
    w_end_par(w);
}

static const char *
kind_words(const symbol *s)
{
    switch (s->kind) {
    case SYM_INPUT:
        return "input";
    case SYM_PARAM:
        return "param";
    case SYM_LABEL:
        switch (s->label) {
        case LABEL_BINARY:
            return "label, binary (every entry 0 or 1)";
        case LABEL_ONEHOT:
            return "label, onehot (one 1 per column)";
        case LABEL_PROB:
            return "label, prob (columns sum to 1)";
        default:
            return "label";
        }
    default:
        return "";
    }
}

static void
model_section(writer *w, const doc_input *in)
{
    const model *m = in->d->m;
    w_section(w, "The model");
    text dims;
    text_init(&dims, w->out->pool);
    for (size_t i = 0; i < m->nsymbols; i++) {
        const symbol *s = m->symbols[i];
        if (s->kind != SYM_DIM)
            continue;
        text_printf(&dims, "%s%s", dims.len ? ", " : "", s->name);
        if (s->value > 0)
            text_printf(&dims, " = %ld", s->value);
    }
    w_par(w);
    if (dims.len)
        w_textf(w, "Sizes: %s (symbolic; the numbers only seed the numeric checks). ",
                text_str(&dims));
    if (m->batch != NULL)
        w_textf(w, "Batch: %s", m->batch->name);
    if (m->batch != NULL && m->batch->value > 0)
        w_textf(w, " = %ld", m->batch->value);
    if (m->batch != NULL)
        w_text(w, " examples, one per column.");
    else
        w_text(w, "Per-example notation: there is no batch dimension.");
    w_end_par(w);

    static const char *const heads[] = {"name", "kind", "shape"};
    w_table(w, 3, heads);
    for (size_t i = 0; i < m->nsymbols; i++) {
        const symbol *s = m->symbols[i];
        if (s->kind != SYM_INPUT && s->kind != SYM_LABEL && s->kind != SYM_PARAM)
            continue;
        text sh;
        text_init(&sh, w->out->pool);
        shape_print(&sh, &s->shape);
        w_row(w);
        w_cell(w);
        w_code(w, s->name);
        w_cell(w);
        w_text(w, kind_words(s));
        w_cell(w);
        w_code(w, text_str(&sh));
        w_end_row(w);
    }
    w_end_table(w);

    w_heading(w, 3, "The forward pass");
    w_list(w, 0);
    for (size_t i = 0; i < m->nsymbols; i++) {
        const symbol *s = m->symbols[i];
        if (s->kind != SYM_DEF)
            continue;
        text sh;
        text_init(&sh, w->out->pool);
        shape_print(&sh, &s->definition->shape);
        w_item(w);
        w_eq(w, s->name, s->definition);
        w_text(w, s == m->loss ? ", the loss, a " : ", of shape ");
        w_code(w, text_str(&sh));
        w_end_item(w);
    }
    w_end_list(w);

    w_par(w);
    w_text(w, "The model as derivcheck reads it (normalised, every shape in a comment):");
    w_end_par(w);
    text listing;
    text_init(&listing, w->out->pool);
    print_model(&listing, m);
    w_verbatim(w, text_str(&listing));
}

static void
w_rule_cite(writer *w, const rule *r)
{
    w_strong(w, r->name);
    w_text(w, " (");
    text cite;
    text_init(&cite, w->out->pool);
    text_printf(&cite, "%s:%d", r->file, r->line);
    w_code(w, text_str(&cite));
    w_text(w, ")");
}

/* An ordered list of the steps of G (the deferred convention's
   substitution among them, where the 1/m enters or leaves). */
static void
steps_list(writer *w, const derivation *d, const gradient *g)
{
    const trace *tr = &g->steps;
    w_list(w, 1);
    for (size_t k = 0; k < tr->n; k++) {
        const trace_step *st = &tr->steps[k];
        w_item(w);
        if (st->rule != NULL)
            w_rule_cite(w, st->rule);
        else
            w_strong(w, st->what);
        if (st->rule != NULL && st->rule->kind == RULE_ADJOINT) {
            w_text(w, ": through ");
            w_math(w, st->before);
            w_text(w, " the gradient flowing back is");
        } else {
            w_text(w, ": ");
            w_math(w, report_step_before(d, st));
            w_text(w, " becomes");
        }
        w_br(w);
        w_math(w, report_step_result(d, st));
        w_end_item(w);
    }
    w_end_list(w);
}

/* The label rules the steps of G used, each once, with the label they
   assumed something of. */
static void
label_assumptions(writer *w, const gradient *g)
{
    int any = 0;
    for (size_t i = 0; i < g->steps.n; i++) {
        const trace_step *st = &g->steps.steps[i];
        const rule *r = st->rule;
        if (!report_new_label_rule(g, i))
            continue;
        if (!any) {
            w_par(w);
            w_text(w, "Label assumption used: ");
        } else
            w_text(w, "; ");
        any = 1;
        w_math(w, st->before);
        w_text(w, " = ");
        w_math(w, st->after);
        w_text(w, " by ");
        w_rule_cite(w, r);
        w_text(w, ", which holds only because of how the label is declared");
    }
    if (any) {
        w_text(w, ".");
        w_end_par(w);
    }
}

static void
steps_section(writer *w, const doc_input *in)
{
    const derivation *d = in->d;
    const model *m = d->m;
    w_section(w, "Every gradient, step by step");
    w_par(w);
    w_text(w, "Reverse mode from the loss back: each operation passes the incoming gradient "
              "to its arguments through one adjoint rule; then the algebra (rewrite rules and "
              "the normal form: expand, cancel, collect) simplifies the result. A gradient "
              "used by several others keeps its name; one used once is written into its user.");
    w_end_par(w);
    for (size_t i = 0; i < d->n; i++) {
        const gradient *g = &d->g[i];
        text h;
        text_init(&h, w->out->pool);
        text_printf(&h, "%s (%s %s)", grad_name(w, g),
                    g->of->kind == SYM_PARAM ? "param" : "definition", g->of->name);
        w_heading(w, 3, text_str(&h));
        steps_list(w, d, g);
        w_par(w);
        if (m->batch != NULL) {
            w_text(w, "Result, deferred: ");
            w_eq(w, grad_name(w, g), derive_pretty(d, g, CONVENTION_DEFERRED));
            w_text(w, "; absorbed: ");
        } else
            w_text(w, "Result: ");
        w_eq(w, grad_name(w, g), derive_pretty(d, g, CONVENTION_ABSORBED));
        w_text(w, ".");
        w_end_par(w);
        label_assumptions(w, g);
    }
}

static void
formula_cell(writer *w, const char *name, const term *t)
{
    w_cell(w);
    w_eq(w, name, t);
    w_br(w);
    text code;
    text_init(&code, w->out->pool);
    text_printf(&code, "%s = %s", name, term_code(w, t));
    w_code(w, text_str(&code));
}

static void
formulas_section(writer *w, const doc_input *in)
{
    const derivation *d = in->d;
    const model *m = d->m;
    w_section(w, "The gradients in both conventions");
    w_par(w);
    if (m->batch != NULL)
        w_textf(w,
                "Side by side, as mathematics and as NumPy code. Deferred: dV = %s d%s/dV for "
                "intermediates, d%s/dV for params. Absorbed: dV = d%s/dV for everything.",
                m->batch->name, m->loss->name, m->loss->name, m->loss->name);
    else
        w_textf(w, "Per-example notation: dV = d%s/dV; the two conventions are one.",
                m->loss->name);
    w_end_par(w);
    static const char *const heads[] = {"gradient", "deferred", "absorbed"};
    w_table(w, 3, heads);
    for (size_t i = 0; i < d->n; i++) {
        const gradient *g = &d->g[i];
        const char *name = grad_name(w, g);
        w_row(w);
        w_cell(w);
        w_code(w, name);
        formula_cell(w, name, derive_pretty(d, g, CONVENTION_DEFERRED));
        formula_cell(w, name, derive_pretty(d, g, CONVENTION_ABSORBED));
        w_end_row(w);
    }
    w_end_table(w);
}

/* "proven (symbolic)": IT's verdict and the method it rests on. */
static void
w_decided(writer *w, const proof_item *it)
{
    w_textf(w, "%s (%s)%s", prove_verdict_name(it->verdict), prove_method_name(it->method),
            it->disagree ? ", DISAGREE" : "");
}

/* The summary table of the proof items that are (IS_PARAM) or are not params. */
static void
proof_table(writer *w, const proof *p, int is_param)
{
    static const char *const heads[] = {"gradient",           "symbolic", "exact",
                                        "MPFR, relative gap", "double",   "decided"};
    const model *m = p->d->m;
    w_table(w, 6, heads);
    for (size_t i = 0; i < p->n; i++) {
        const proof_item *it = &p->items[i];
        if (it->is_param != is_param)
            continue;
        w_row(w);
        w_cell(w);
        w_code(w, grad_name(w, it->g));
        w_cell(w);
        w_text(w, it->symbolic ? "proven: one normal form" : "NOT shown");
        w_cell(w);
        if (it->exact_points > 0)
            w_textf(w, "difference 0 at %d of %d points", it->exact_equal, it->exact_points);
        else
            w_textf(w, "could not run at any of %d points", it->exact_tried);
        w_cell(w);
        for (int k = 0; k < PROVE_PRECISIONS; k++) {
            w_textf(w, "%s%ld bits: ", k ? ", " : "", it->precision[k]);
            w_pow2(w, it->log2_gap[k]);
        }
        w_cell(w);
        if (m->batch != NULL) {
            w_text(w, ulps_words(w->out->pool, it->ulps_pow2));
            w_textf(w, " apart with %s = %ld; ", batch_name(m), it->batch_pow2);
            w_text(w, ulps_words(w->out->pool, it->ulps_other));
            w_textf(w, " with %s = %ld", batch_name(m), it->batch_other);
        } else
            w_text(w, "one convention");
        w_cell(w);
        w_decided(w, it);
        w_end_row(w);
    }
    w_end_table(w);
}

/* "(n_x, m) = (2, 3), (3, 4), ...": the exact test's size assignments,
   or "the declared sizes" without dims. */
static void
w_batches(writer *w, const proof *p)
{
    if (p->sizes[0].count == 0) {
        w_text(w, "the declared sizes");
        return;
    }
    w_text(w, prove_sizes_words(p, w->out->pool));
}

/* The list items of the enclosure test (when it ran), the check against
   the loss (params) and the verdict of IT, an item of P. */
static void
decision_items(writer *w, const proof *p, const proof_item *it)
{
    const model *m = p->d->m;
    if (it->enclosure_bits > 0) {
        w_item(w);
        w_strong(w, "Enclosure.");
        if (it->enclosure == AGREE_DIFFERENT)
            w_textf(w,
                    " In ball arithmetic (Arb, %ld bits) the enclosure of the difference "
                    "excludes 0 at %s: the forms differ.",
                    it->enclosure_bits, it->enclosure_what);
        else if (it->enclosure == AGREE_NOT_SEPARATED)
            w_textf(w,
                    " In ball arithmetic (Arb, %ld bits) the two enclosures overlap at every "
                    "entry: no difference is shown (an enclosure never shows equality).",
                    it->enclosure_bits);
        else
            w_textf(w, " Could not run (Arb, %ld bits): %s.", it->enclosure_bits,
                    it->enclosure_what ? it->enclosure_what : "");
        w_end_item(w);
    }
    if (it->is_param) {
        w_item(w);
        w_strong(w, "Against the loss.");
        if (it->loss == PROVE_LOSS_AGREES && p->oracle->alone == NULL) {
            w_textf(w,
                    " Along one random direction U over every param at once, the derived "
                    "gradients and the central difference of %s (Richardson-extrapolated, MPFR "
                    "at %d bits) agree to ",
                    m->loss->name, ORACLE_BITS);
            w_pow2(w, it->loss_log2_gap);
            w_text(w, ": the formulas are the derivative of the loss.");
        } else if (it->loss == PROVE_LOSS_AGREES) {
            w_textf(w,
                    " Along a random direction U, sum(d%s * U) and the central difference of %s "
                    "(Richardson-extrapolated, MPFR at %d bits) agree to ",
                    it->g->of->name, m->loss->name, ORACLE_BITS);
            w_pow2(w, it->loss_log2_gap);
            w_text(w, ": the formula is the derivative of the loss.");
        } else if (it->loss == PROVE_LOSS_DIFFERS)
            w_textf(w,
                    " DIFFER: %s. The derived formula is not the derivative of the loss, so a "
                    "rule is unsound.",
                    it->loss_what);
        else
            w_textf(w, " Could not run: %s.", it->loss_what ? it->loss_what : "");
        w_end_item(w);
    }
    w_item(w);
    w_strong(w, "Decided.");
    w_text(w, " ");
    w_decided(w, it);
    w_text(w, it->verdict == PROVE_NUMERIC_ONLY ? ": weaker than a proof." : ".");
    if (it->disagree)
        w_textf(w,
                " The symbolic proof and the %s evaluation disagree, so a rule is unsound: run "
                "derivcheck rules --verify.",
                prove_method_name(it->method));
    w_end_item(w);
}

static void
proof_item_details(writer *w, const proof *p, const proof_item *it)
{
    const derivation *d = p->d;
    const model *m = d->m;
    w_heading(w, 3, grad_name(w, it->g));
    w_par(w);
    w_text(w, "Deferred ");
    w_eq(w, grad_name(w, it->g), derive_pretty(d, it->g, CONVENTION_DEFERRED));
    w_text(w, ", absorbed ");
    w_eq(w, grad_name(w, it->g), derive_pretty(d, it->g, CONVENTION_ABSORBED));
    w_text(w, ".");
    w_end_par(w);
    w_list(w, 0);
    w_item(w);
    w_strong(w, "Symbolic.");
    w_textf(w, " The certificate's %s.", prove_lemma_words(p, it->lemma, w->out->pool));
    if (it->symbolic) {
        w_text(w, " With the earlier lemmas substituted, both sides reduce to ");
        w_math(w, pretty_form(m->terms, it->lemma->deferred));
        w_text(w, ".");
    }
    w_end_item(w);
    w_item(w);
    w_strong(w, "Exact.");
    if (it->exact_points == 0) {
        w_textf(w, " Could not run at any of %d random rational points (", it->exact_tried);
        w_batches(w, p);
        w_textf(w, "): %s.", it->exact_why ? it->exact_why : "");
    } else {
        w_textf(w, " With GMP rationals at %d random points (entries ", it->exact_points);
        text e;
        text_init(&e, w->out->pool);
        text_printf(&e, "%d", PROVE_SAMPLE_BITS);
        w_power(w, "k/2", text_str(&e));
        w_text(w, ", the activations' outputs treated as free variables; ");
        w_batches(w, p);
        w_textf(w, ") the difference is exactly 0 at %d of them.", it->exact_equal);
        if (it->exact_confirms)
            w_text(w, " The certificate proves the identity, so these points only confirm it.");
    }
    if (it->exact_equal == it->exact_points && it->exact_points > 0) {
        w_textf(w,
                " The difference is a rational function of degree at most %ld, so by the "
                "Schwartz-Zippel lemma the chance that forms unequal at one of these sizes "
                "agree at all its %d points is at most ",
                it->degree, it->exact_per_size);
        w_pow2(w, it->log2_chance);
        w_text(w, ".");
    }
    w_end_item(w);
    w_item(w);
    w_strong(w, "MPFR.");
    w_text(w, " With the activations evaluated (exp, log, tanh, sigmoid at rising "
              "precision");
    if (p->sizes[0].count > 0) {
        w_text(w, "; ");
        w_text(w, prove_size_words(&p->sizes[p->mpfr_sizes[0]], w->out->pool));
    }
    w_text(w, "), the largest difference relative to the largest value is");
    for (int k = 0; k < PROVE_PRECISIONS; k++) {
        w_textf(w, "%s %ld bits: ", k ? "," : "", it->precision[k]);
        w_pow2(w, it->log2_gap[k]);
    }
    /* rounding error at P bits is about 2^-P times the values, give or
       take the few bits each operation adds */
    int rounding = 1;
    for (int k = 0; k < PROVE_PRECISIONS; k++)
        rounding &= !isnan(it->log2_gap[k]) &&
                    it->log2_gap[k] <= -(double)(it->precision[k] - PROVE_ROUNDING_SLACK);
    if (rounding) {
        text e;
        text_init(&e, w->out->pool);
        text_printf(&e, "-(P - %d)", PROVE_ROUNDING_SLACK);
        w_text(w, ": at every precision P it is at most ");
        w_power(w, "2", text_str(&e));
        w_text(w, ", the size of rounding error, not of a difference between the forms.");
    } else
        w_text(w, ": it does not stay at the size of rounding error.");
    w_end_item(w);
    if (m->batch != NULL) {
        w_item(w);
        w_strong(w, "Double.");
        w_text(w, " The two formulas evaluated in IEEE double, in the order written, are at most ");
        w_text(w, ulps_words(w->out->pool, it->ulps_pow2));
        w_textf(w, " apart with %s = %ld and ", batch_name(m), it->batch_pow2);
        w_text(w, ulps_words(w->out->pool, it->ulps_other));
        w_textf(w, " with %s = %ld.", batch_name(m), it->batch_other);
        w_end_item(w);
    }
    decision_items(w, p, it);
    w_end_list(w);
}

static void
proof_section(writer *w, const doc_input *in)
{
    const proof *p = in->p;
    w_section(w, "Proof: the parameter gradients agree");
    w_par(w);
    w_text(w, "For every param, the deferred and the absorbed formula must be the same "
              "matrix. Each is decided by the evidence: one normal form (symbolic, a proof "
              "for every size) or a zero difference at random rational points of several "
              "batch sizes (exact) proves it; a nonzero exact difference, or an interval "
              "enclosure of the difference that excludes 0, refutes it; MPFR agreement at "
              "rising precision alone (numeric) is weaker than a proof. Each formula is also "
              "checked against the derivative of the loss.");
    w_end_par(w);
    proof_table(w, p, 1);
    for (size_t i = 0; i < p->n; i++)
        if (p->items[i].is_param)
            proof_item_details(w, p, &p->items[i]);
    w_par(w);
    static const char *const verdicts[] = {
        [PROVE_PROVEN] = "Proven: every parameter gradient is the same in both placements.",
        [PROVE_NUMERIC_ONLY] = "Not refuted, but not proven: some parameter gradient agrees "
                               "only numerically (see above).",
        [PROVE_REFUTED] = "REFUTED: a parameter gradient differs between the placements "
                          "(see above).",
        [PROVE_UNDECIDED] = "UNDECIDED: nothing was refuted, but some parameter gradient "
                            "could not be decided by any method (see above)."};
    if (p->oracle->joint.status == ORACLE_DIFFERS) {
        w_strong(w, "NOT THE DERIVATIVE OF THE LOSS: ");
        w_text(w, oracle_words(p->oracle, w->out->pool));
        w_text(w, ". The rule base is unsound.");
    } else
        w_strong(w, verdicts[p->verdict]);
    w_end_par(w);
}

/* The answer in words to "where does the 1/m go": two paragraphs, for a
   model with a batch dimension. */
static void
why_words(writer *w, const model *m)
{
    const char *b = m->batch->name, *J = m->loss->name;
    w_par(w);
    w_textf(w,
            "Why, in plain words. The loss %s is an average: 1/%s times a sum over the %s "
            "examples. A gradient of an intermediate such as dZ has one column per example, "
            "and the column of one example only ever sees that example's term of the sum, so "
            "its exact value d%s/dZ carries the 1/%s of the average: it is the per-example "
            "gradient (A - Y for a sigmoid or softmax output) divided by %s. The deferred "
            "convention writes dZ for the per-example gradient itself, %s d%s/dZ, which is "
            "why dZ2 = A2 - Y has no 1/%s. A parameter is shared by all %s examples, so its "
            "gradient sums the columns (W @ A.T sums over the batch, and so does "
            "sum(dZ, axis=1)); that sum of %s per-example contributions is where the "
            "average's 1/%s must finally appear. The deferred convention writes it there "
            "(dW = 1/%s dZ A.T, db = 1/%s sum(dZ)); the absorbed convention has carried it "
            "all along, so it writes dW = dZ A.T. Both give the same dW and db: the 1/%s "
            "appears exactly once on every path from the loss to a parameter.",
            J, b, b, J, b, b, b, J, b, b, b, b, b, b, b);
    w_end_par(w);
    w_par(w);
    w_textf(w,
            "Numerical stability is not the reason for either placement: in exact arithmetic "
            "they are equal (section %d), and in IEEE double they differ only by rounding, "
            "because 1/%s is rounded at a different place in the sequence of operations "
            "(section %d says by how many ulps, for a batch size that is a power of two, "
            "where 1/%s is exact, and for one that is not).",
            w->proof_no, b, w->double_no, b);
    w_end_par(w);
}

/* The section that answers the 1/m question in words, first in the
   document of a file with claims. */
static void
answer_section(writer *w, const model *m)
{
    w_section(w, "Where the 1/m goes, in plain words");
    why_words(w, m);
}

/* What differs between the conventions, with its proof table; the words of
   why_words here unless WORDS_AT, the number of the section that has them,
   is nonzero. */
static void
unequal_section(writer *w, const doc_input *in, int words_at)
{
    const proof *p = in->p;
    const model *m = p->d->m;
    w_section(w, "What is not equal, and why");
    if (m->batch == NULL) {
        w_par(w);
        w_text(w, "Nothing: without a batch dimension the two conventions are one.");
        w_end_par(w);
        return;
    }
    const char *b = m->batch->name;
    text inter;
    text_init(&inter, w->out->pool);
    for (size_t i = 0; i < p->n; i++)
        if (!p->items[i].is_param)
            text_printf(&inter, "%sd%s", inter.len ? ", " : "", p->items[i].g->of->name);
    w_par(w);
    w_textf(w,
            "The gradients of the intermediates (%s) are NOT the same in the two conventions: "
            "the deferred one is exactly %s times the absorbed one, for every entry. This is "
            "the definition of the deferred convention, not an error, and the table shows "
            "it proven like the equalities above (both sides of deferred = %s * absorbed "
            "reduce to one normal form).",
            text_str(&inter), b, b);
    w_end_par(w);
    proof_table(w, p, 0);
    if (words_at == 0)
        why_words(w, m);
    else {
        w_par(w);
        w_textf(w, "Why, in plain words: section %d.", words_at);
        w_end_par(w);
    }
}

/* The error sweep's tables: bits of error of each formulation against a
   reference settled by rising MPFR precision, per regime. */
static void
error_tables(writer *w, const roundoff_result *r)
{
    w_par(w);
    w_text(w, "How far each formulation computed in IEEE double lands from the true value, "
              "correctly rounded: bits of error per entry, log2(1 + ulps), so 0 is correctly "
              "rounded and 64 a NaN. The references are settled by ball arithmetic (Arb) "
              "at rising precision until the interval enclosing the true value rounds to a "
              "single double, which proves that double correctly rounded; entries not settled by "
              "10000 bits are counted as unsampleable, never as exact. derivcheck error runs "
              "more samples and more regimes.");
    w_end_par(w);
    for (size_t k = 0; r != NULL && k < r->ntables; k++) {
        const roundoff_table *t = &r->tables[k];
        w_par(w);
        w_strong(w, roundoff_regime_name(t->regime));
        w_textf(w, ": %ld samples; ", t->samples);
        w_text_powers(w, t->draws);
        w_textf(w, "; references needed up to %ld bits.", t->max_prec);
        w_end_par(w);
        static const char *const heads[] = {"quantity", "formulation", "mean bits",   "max bits",
                                            "NaN",      "Inf",         "unsampleable"};
        w_table(w, 7, heads);
        for (size_t i = 0; i < t->n; i++) {
            const roundoff_stat *st = &t->stats[i];
            double mean =
                st->entries > 0 ? (double)st->micro_bits / ROUNDOFF_MICRO / (double)st->entries : 0;
            w_row(w);
            w_cell(w);
            w_text(w, st->quantity);
            w_cell(w);
            w_text(w, st->formulation);
            w_cell(w);
            w_textf(w, "%.2f", mean);
            w_cell(w);
            w_textf(w, "%.2f", st->max_bits);
            w_cell(w);
            w_textf(w, "%ld", st->nan);
            w_cell(w);
            w_textf(w, "%ld", st->inf);
            w_cell(w);
            w_textf(w, "%ld", st->unsampleable);
            w_end_row(w);
        }
        w_end_table(w);
        text answer;
        text_init(&answer, w->out->pool);
        roundoff_answer(&answer, t, " ", ".");
        w_par(w);
        w_textf(w, "Which formulation to use here (the lowest mean bits of error, then max):%s",
                text_str(&answer));
        w_end_par(w);
    }
}

static void
double_section(writer *w, const doc_input *in)
{
    const proof *p = in->p;
    const model *m = p->d->m;
    w_section(w, "Double precision");
    if (m->batch != NULL) {
        w_par(w);
        w_textf(w,
                "How far apart the two placements are when evaluated in IEEE double, in the "
                "order written, at the proof's random points (largest distance over every "
                "entry, in units in the last place), for a batch size %s that is a power of two "
                "and one that is not:",
                batch_name(m));
        w_end_par(w);
        static const char *const heads[] = {"gradient", "power of two", "not a power of two"};
        w_table(w, 3, heads);
        for (size_t i = 0; i < p->n; i++) {
            const proof_item *it = &p->items[i];
            w_row(w);
            w_cell(w);
            w_code(w, grad_name(w, it->g));
            w_cell(w);
            w_text(w, ulps_words(w->out->pool, it->ulps_pow2));
            w_textf(w, " (%s = %ld)", batch_name(m), it->batch_pow2);
            w_cell(w);
            w_text(w, ulps_words(w->out->pool, it->ulps_other));
            w_textf(w, " (%s = %ld)", batch_name(m), it->batch_other);
            w_end_row(w);
        }
        w_end_table(w);
        w_par(w);
        w_text(w, "For intermediates the distance is between the deferred value and "
                  "the batch size times the absorbed one.");
        w_end_par(w);
    }
    error_tables(w, in->errors);
}

static void
claims_section(writer *w, const doc_input *in)
{
    static const char *const verdict[] = {"holds",     "right given earlier wrong claims",
                                          "REFUTED",   "WRONG SHAPE",
                                          "UNDECIDED", "working step"};
    const check_result *c = in->c;
    const model *m = in->d->m;
    w_section(w, "The claims of the file");
    w_par(w);
    w_textf(w, "The file's own derivation (convention %s), claim by claim. ",
            model_convention_name(m->convention));
    text summary;
    text_init(&summary, w->out->pool);
    report_check_summary(&summary, c);
    w_text(w, text_str(&summary));
    w_end_par(w);
    static const char *const heads[] = {"claim", "verdict", "details"};
    w_table(w, 3, heads);
    for (size_t i = 0; i < c->n; i++) {
        const claim_result *r = &c->r[i];
        w_row(w);
        w_cell(w);
        w_eq(w, r->claim->name, r->claim->definition);
        w_textf(w, " (line %d)", r->line);
        w_cell(w);
        w_strong(w, verdict[r->verdict]);
        w_cell(w);
        int sep = 0;
        if (r->verdict == CLAIM_HOLDS) {
            const symbol *v = r->of;
            if (v->kind == SYM_PARAM)
                w_textf(w, "equals d%s/d%s", m->loss->name, v->name);
            else if (r->follows == CONVENTION_DEFERRED)
                w_textf(w, "deferred: equals %s d%s/d%s", batch_name(m), m->loss->name, v->name);
            else if (r->follows == CONVENTION_ABSORBED)
                w_textf(w, "absorbed: equals d%s/d%s", m->loss->name, v->name);
            else
                w_textf(w, "equals d%s/d%s", m->loss->name, v->name);
            sep = 1;
        }
        if (r->reason != NULL) {
            w_text_powers(w, r->reason);
            sep = 1;
        }
        if (r->verdict == CLAIM_REFUTED || r->verdict == CLAIM_SHAPE) {
            if (sep)
                w_br(w);
            w_text(w, "expected ");
            w_eq(w, r->claim->name, r->expected);
            sep = 1;
        }
        if (r->counterexample != NULL) {
            if (sep)
                w_br(w);
            w_textf(w, "counterexample: %s", r->counterexample);
            sep = 1;
        }
        if (sep)
            w_br(w);
        text method;
        text_init(&method, w->out->pool);
        report_claim_method(&method, c, r);
        w_textf(w, "method: %s", text_str(&method));
        w_end_row(w);
    }
    w_end_table(w);
    if (c->mixing != NULL) {
        w_par(w);
        w_textf(w, "The derivation %s.", c->mixing);
        w_end_par(w);
    }
}

void
doc_write(text *out, const doc_input *in, doc_format f)
{
    writer w = {.out = out, .f = f};
    text title;
    text_init(&title, out->pool);
    text_printf(&title, "The derivation of %s", format_base_name(in->name));
    w_begin(&w, text_str(&title));
    intro(&w, in);
    /* A file with claims opens with their verdicts and the answer in words;
       the certificates follow. */
    int words_at = 0;
    if (in->c != NULL) {
        claims_section(&w, in);
        if (in->d->m->batch != NULL)
            words_at = w.section + 1;
    }
    w.proof_no = w.section + (words_at ? 5 : 4);
    w.double_no = w.proof_no + 2;
    if (words_at)
        answer_section(&w, in->d->m);
    model_section(&w, in);
    steps_section(&w, in);
    formulas_section(&w, in);
    proof_section(&w, in);
    unequal_section(&w, in, words_at);
    double_section(&w, in);
    w_end(&w);
}
