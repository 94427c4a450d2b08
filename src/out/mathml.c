/* mathml.c: terms written as Presentation MathML; see mathml.h. */
#include "out/mathml.h"

#include "lang/print.h"

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

static const print_style mathml_style = {
    .group = {"<mrow>", "</mrow>"},
    .paren = {"<mrow><mo>(</mo><mrow>", "</mrow><mo>)</mo></mrow>"},
    .symbol = mathml_name,
    .operation = mathml_name,
    .number = {"<mn>", "</mn>"},
    .negative = {"<mrow><mo>&#x2212;</mo>", "</mrow>"},
    .fraction = {"<mfrac>", "", "</mfrac>"},
    .quotient = {"<mfrac><mrow>", "</mrow><mrow>", "</mrow></mfrac>"},
    .plus = "<mo>+</mo>",
    .minus = "<mo>&#x2212;</mo>",
    .negate = "<mo>&#x2212;</mo>",
    .times = "<mo>&#x2062;</mo>", /* invisible times, by a scalar */
    .odot = "<mo>&#x2299;</mo>",
    /* a visible dot: juxtaposed matrices (dZ2A1ᵀ) read as one name */
    .matmul = "<mo>&#x22C5;</mo>",
    .superscript = {"<msup><mrow>", "</mrow><mrow>", "</mrow></msup>"},
    .transpose = "</mrow><mo>&#x22A4;</mo></msup>",
    .layer = {"<msup>", "<mrow><mo>[</mo>", "<mo>]</mo>", "</mrow></msup>"},
    .transpose_mark = "<mo>&#x22A4;</mo>",
    .bracket = {"<mrow><mo>[</mo>", "<mo>]</mo></mrow>"},
    .gt = "<mo>&gt;</mo>",
    .ge = "<mo>&#x2265;</mo>",
    .lt = "<mo>&lt;</mo>",
    .le = "<mo>&#x2264;</mo>",
    /* function application (U+2061) and parentheses that stretch */
    .call = {"<mrow>", "<mo>&#x2061;</mo><mrow><mo>(</mo>", "<mo>)</mo></mrow></mrow>"},
    .comma = "<mo>,</mo>",
    .axis = {"<msub>", "<mtext>axis&#xA0;", "</mtext></msub>"},
    .abs = {"<mrow><mo>|</mo>", "<mo>|</mo></mrow>"},
    .root = {"<msqrt>", "</msqrt>"},
    .function = {[OP_EXP] = "<mi>exp</mi>",
                 [OP_LOG] = "<mi>log</mi>",
                 [OP_TANH] = "<mi>tanh</mi>",
                 [OP_SIGMOID] = "<mi>&#x3C3;</mi>",
                 [OP_RELU] = "<mi>relu</mi>",
                 [OP_SUM] = "<mi>sum</mi>",
                 [OP_SOFTMAX] = "<mi>softmax</mi>",
                 [OP_MAX] = "<mi>max</mi>",
                 [OP_MAXIMUM] = "<mi>max</mi>",
                 [OP_MINIMUM] = "<mi>min</mi>"},
};

void
mathml_term(text *out, const term *t)
{
    print_math(out, t, &mathml_style);
}

void
mathml_equation(text *out, const char *name, const term *t, int display_block)
{
    text_printf(out, "<math xmlns=\"http://www.w3.org/1998/Math/MathML\" display=\"%s\"><mrow>",
                display_block ? "block" : "inline");
    if (name != NULL) {
        print_math_name(out, name, &mathml_style);
        text_puts(out, "<mo>=</mo>");
    }
    mathml_term(out, t);
    text_puts(out, "</mrow></math>");
}
