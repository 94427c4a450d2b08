/* mathml.c: terms written as Presentation MathML; see mathml.h. */
#include "out/mathml.h"

#include <string.h>

/* Binding strength, loosest first, as in print.c: a child printed where a
   tighter one is needed gets parentheses. */
enum { PREC_COMPARE = 1, PREC_SUM, PREC_PRODUCT, PREC_UNARY, PREC_POWER, PREC_ATOM };

static void mathml_at(text *out, const term *t, int need);

static int
precedence(const term *t)
{
    switch (t->op) {
    case OP_CONST:
        if (mpq_sgn(t->value) < 0)
            return PREC_UNARY;
        return mpz_cmp_ui(mpq_denref(t->value), 1) == 0 ? PREC_ATOM : PREC_PRODUCT;
    case OP_ADD:
        return PREC_SUM;
    case OP_MUL:
    case OP_DIV:
    case OP_MATMUL:
        return PREC_PRODUCT;
    case OP_NEG:
        return PREC_UNARY;
    case OP_POW:
        return PREC_POWER;
    default:
        return PREC_ATOM;
    }
}

void
mathml_escape(text *out, const char *s)
{
    for (; *s; s++) {
        switch (*s) {
        case '&':
            text_puts(out, "&amp;");
            break;
        case '<':
            text_puts(out, "&lt;");
            break;
        case '>':
            text_puts(out, "&gt;");
            break;
        case '"':
            text_puts(out, "&quot;");
            break;
        default:
            text_putc(out, *s);
        }
    }
}

void
mathml_name(text *out, const char *name)
{
    text_puts(out, "<mi>");
    mathml_escape(out, name);
    text_puts(out, "</mi>");
}

static void
mo(text *out, const char *op)
{
    text_printf(out, "<mo>%s</mo>", op);
}

/* An integer's decimal digits (without sign) as <mn>. */
static void
mn_z(text *out, mpz_srcptr z)
{
    char *s = mem_alloc(out->pool, mpz_sizeinbase(z, 10) + 2);
    mpz_get_str(s, 10, z);
    text_printf(out, "<mn>%s</mn>", s[0] == '-' ? s + 1 : s);
    mem_release(out->pool, s);
}

static void
mathml_const(text *out, const term *t)
{
    int negative = mpq_sgn(t->value) < 0;
    if (negative)
        text_puts(out, "<mrow><mo>&#x2212;</mo>");
    if (mpz_cmp_ui(mpq_denref(t->value), 1) == 0)
        mn_z(out, mpq_numref(t->value));
    else {
        text_puts(out, "<mfrac>");
        mn_z(out, mpq_numref(t->value));
        mn_z(out, mpq_denref(t->value));
        text_puts(out, "</mfrac>");
    }
    if (negative)
        text_puts(out, "</mrow>");
}

/* NAME(ARG): a function applied, with parentheses that stretch. */
static void
mathml_call(text *out, const char *name_markup, const term *arg)
{
    text_printf(out, "<mrow>%s<mo>&#x2061;</mo><mrow><mo>(</mo>", name_markup);
    mathml_at(out, arg, PREC_COMPARE);
    text_puts(out, "<mo>)</mo></mrow></mrow>");
}

/* A function name with "axis K" under it, as print_latex writes sum and softmax. */
static void
mathml_axis_call(text *out, const char *name, int axis, const term *arg)
{
    text t;
    text_init(&t, out->pool);
    if (axis >= 0)
        text_printf(&t, "<msub><mi>%s</mi><mtext>axis&#xA0;%d</mtext></msub>", name, axis);
    else
        text_printf(&t, "<mi>%s</mi>", name);
    mathml_call(out, text_str(&t), arg);
}

static void
mathml_binary(text *out, const term *t, const char *op)
{
    mathml_at(out, t->args[0], PREC_PRODUCT);
    mo(out, op);
    mathml_at(out, t->args[1], PREC_PRODUCT + 1);
}

static void
mathml_bare(text *out, const term *t)
{
    switch (t->op) {
    case OP_CONST:
        mathml_const(out, t);
        break;
    case OP_SYM:
        mathml_name(out, t->sym->name);
        break;
    case OP_ADD: {
        const term *r = t->args[1];
        mathml_at(out, t->args[0], PREC_SUM);
        if (r->op == OP_NEG) {
            mo(out, "&#x2212;");
            mathml_at(out, r->args[0], PREC_PRODUCT);
        } else {
            mo(out, "+");
            mathml_at(out, r, PREC_PRODUCT);
        }
        break;
    }
    case OP_MUL: {
        int both_matrices = t->args[0]->shape.rank > 0 && t->args[1]->shape.rank > 0;
        mathml_binary(out, t, both_matrices ? "&#x2299;" : "&#x2062;");
        break;
    }
    case OP_MATMUL:
        mathml_binary(out, t, "&#x2062;");
        break;
    case OP_DIV:
        text_puts(out, "<mfrac><mrow>");
        mathml_at(out, t->args[0], PREC_COMPARE);
        text_puts(out, "</mrow><mrow>");
        mathml_at(out, t->args[1], PREC_COMPARE);
        text_puts(out, "</mrow></mfrac>");
        break;
    case OP_NEG:
        mo(out, "&#x2212;");
        mathml_at(out, t->args[0], PREC_UNARY);
        break;
    case OP_POW:
        text_puts(out, "<msup><mrow>");
        mathml_at(out, t->args[0], PREC_ATOM);
        text_puts(out, "</mrow><mrow>");
        mathml_at(out, t->args[1], PREC_COMPARE);
        text_puts(out, "</mrow></msup>");
        break;
    case OP_TRANSPOSE:
        text_puts(out, "<msup><mrow>");
        mathml_at(out, t->args[0], PREC_ATOM);
        text_puts(out, "</mrow><mo>&#x22A4;</mo></msup>");
        break;
    case OP_STEP:
        text_puts(out, "<mrow><mo>[</mo>");
        mathml_at(out, t->args[0], PREC_SUM);
        mo(out, t->aux ? "&#x2265;" : "&gt;");
        mathml_at(out, t->args[1], PREC_SUM);
        text_puts(out, "<mo>]</mo></mrow>");
        break;
    case OP_SUM:
        mathml_axis_call(out, "sum", t->aux, t->args[0]);
        break;
    case OP_SOFTMAX:
        mathml_axis_call(out, "softmax", t->aux, t->args[0]);
        break;
    case OP_EXP:
        mathml_call(out, "<mi>exp</mi>", t->args[0]);
        break;
    case OP_LOG:
        mathml_call(out, "<mi>log</mi>", t->args[0]);
        break;
    case OP_TANH:
        mathml_call(out, "<mi>tanh</mi>", t->args[0]);
        break;
    case OP_SIGMOID:
        mathml_call(out, "<mi>&#x3C3;</mi>", t->args[0]);
        break;
    case OP_RELU:
        mathml_call(out, "<mi>relu</mi>", t->args[0]);
        break;
    case OP_BROADCAST:
        mathml_at(out, t->args[0], PREC_ATOM);
        break;
    case OP_MAX:
        mathml_axis_call(out, "max", t->aux, t->args[0]);
        break;
    case OP_MAXIMUM:
    case OP_MINIMUM: /* max(a, b), min(a, b) */
        text_printf(out, "<mi>%s</mi><mrow><mo>(</mo>", t->op == OP_MAXIMUM ? "max" : "min");
        mathml_at(out, t->args[0], PREC_COMPARE);
        mo(out, ",");
        mathml_at(out, t->args[1], PREC_COMPARE);
        text_puts(out, "<mo>)</mo></mrow>");
        break;
    default: {
        text name;
        text_init(&name, out->pool);
        text_puts(&name, "<mi>");
        mathml_escape(&name, term_op_name(t->op));
        text_puts(&name, "</mi>");
        mathml_call(out, text_str(&name), t->args[0]);
        break;
    }
    }
}

static void
mathml_at(text *out, const term *t, int need)
{
    if (t->op == OP_BROADCAST) { /* NumPy broadcasts implicitly */
        mathml_at(out, t->args[0], need);
        return;
    }
    /* a fraction bar groups by itself, as in print_latex */
    int paren =
        precedence(t) < need && t->op != OP_DIV && !(t->op == OP_CONST && mpq_sgn(t->value) > 0);
    text_puts(out, paren ? "<mrow><mo>(</mo><mrow>" : "<mrow>");
    mathml_bare(out, t);
    text_puts(out, paren ? "</mrow><mo>)</mo></mrow>" : "</mrow>");
}

void
mathml_term(text *out, const term *t)
{
    mathml_at(out, t, PREC_COMPARE);
}

void
mathml_equation(text *out, const char *name, const term *t, int display_block)
{
    text_printf(out, "<math xmlns=\"http://www.w3.org/1998/Math/MathML\" display=\"%s\"><mrow>",
                display_block ? "block" : "inline");
    if (name != NULL) {
        mathml_name(out, name);
        mo(out, "=");
    }
    mathml_term(out, t);
    text_puts(out, "</mrow></math>");
}
