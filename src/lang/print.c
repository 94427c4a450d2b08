/* print.c: terms and models printed back in the .dc language; see print.h. */
#include "lang/print.h"

#include <string.h>

/* Binding strength, loosest first; a child printed where a tighter one is
   needed gets parentheses. */
enum { PREC_COMPARE = 1, PREC_SUM, PREC_PRODUCT, PREC_UNARY, PREC_POWER, PREC_ATOM };

static void print_at(text *out, const term *t, int need);

/* How tightly the printed form of T binds. */
static int
precedence(const term *t)
{
    switch (t->op) {
    case OP_CONST:
        /* -3/4 reads back as (-3) / 4: a quotient, whatever its sign, so
           2 * (-3/4) keeps its parentheses */
        if (mpz_cmp_ui(mpq_denref(t->value), 1) != 0)
            return PREC_PRODUCT;
        return mpq_sgn(t->value) < 0 ? PREC_UNARY : PREC_ATOM;
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

/* A name or a whole number: what may stand unspaced around '/'. */
static int
is_atom(const term *t)
{
    return t->op == OP_SYM || (t->op == OP_CONST && mpz_cmp_ui(mpq_denref(t->value), 1) == 0);
}

/* The decimal fraction of Q, written into a buffer of OUT's pool (GMP's
   own buffer would leak if an allocation failure jumped past its free). */
static const char *
rational_string(text *out, mpq_srcptr q)
{
    size_t size = mpz_sizeinbase(mpq_numref(q), 10) + mpz_sizeinbase(mpq_denref(q), 10) + 3;
    char *buf = mem_alloc(out->pool, size);
    return mpq_get_str(buf, 10, q);
}

static void
print_const(text *out, const term *t)
{
    const char *s = rational_string(out, t->value);
    text_puts(out, s);
    mem_release(out->pool, (void *)s);
}

/* a - b for a + (-b) and for a + c with a negative constant c. */
static void
print_add(text *out, const term *t)
{
    const term *r = t->args[1];
    print_at(out, t->args[0], PREC_SUM);
    if (r->op == OP_NEG) {
        text_puts(out, " - ");
        print_at(out, r->args[0], PREC_PRODUCT);
    } else if (r->op == OP_CONST && mpq_sgn(r->value) < 0) {
        const char *digits = rational_string(out, r->value);
        text_puts(out, " - "); /* a - 1/2 reads back as a + (-1/2) */
        text_puts(out, digits + 1);
        mem_release(out->pool, (void *)digits);
    } else {
        text_puts(out, " + ");
        print_at(out, r, PREC_PRODUCT);
    }
}

static void
print_binary(text *out, const term *t, const char *op, int prec)
{
    print_at(out, t->args[0], prec);
    text_puts(out, op);
    print_at(out, t->args[1], prec + 1);
}

static void
print_call(text *out, const char *name, const term *arg)
{
    text_printf(out, "%s(", name);
    print_at(out, arg, PREC_COMPARE);
    text_putc(out, ')');
}

static void
print_bare(text *out, const term *t)
{
    switch (t->op) {
    case OP_CONST:
        print_const(out, t);
        break;
    case OP_SYM:
        text_puts(out, t->sym->name);
        break;
    case OP_ADD:
        print_add(out, t);
        break;
    case OP_MUL:
        print_binary(out, t, " * ", PREC_PRODUCT);
        break;
    case OP_DIV:
        /* 1/m, as a formula reads; spaces around anything longer */
        print_binary(out, t, is_atom(t->args[0]) && is_atom(t->args[1]) ? "/" : " / ",
                     PREC_PRODUCT);
        break;
    case OP_MATMUL:
        print_binary(out, t, " @ ", PREC_PRODUCT);
        break;
    case OP_NEG:
        text_putc(out, '-');
        print_at(out, t->args[0], PREC_UNARY);
        break;
    case OP_POW:
        /* the base binds tighter than a unary minus: (-x)^2 */
        print_at(out, t->args[0], PREC_ATOM);
        text_putc(out, '^');
        print_at(out, t->args[1], PREC_UNARY);
        break;
    case OP_TRANSPOSE:
        print_at(out, t->args[0], PREC_ATOM);
        text_puts(out, ".T");
        break;
    case OP_STEP:
        text_putc(out, '(');
        print_at(out, t->args[0], PREC_SUM);
        text_puts(out, t->aux ? " >= " : " > ");
        print_at(out, t->args[1], PREC_SUM);
        text_putc(out, ')');
        break;
    case OP_SUM:
        text_puts(out, "sum(");
        print_at(out, t->args[0], PREC_COMPARE);
        if (t->aux >= 0)
            text_printf(out, ", axis=%d", t->aux);
        else if (t->keepdims)
            text_puts(out, ", axis=None");
        if (t->keepdims)
            text_puts(out, ", keepdims=True");
        text_putc(out, ')');
        break;
    case OP_BROADCAST: /* along an axis a sum removed */
        text_puts(out, "expand_dims(");
        print_at(out, t->args[0], PREC_COMPARE);
        text_printf(out, ", axis=%d)", t->aux);
        break;
    case OP_UNBROADCAST: /* rule templates */
    case OP_BROADCAST_LIKE:
        text_printf(out, "%s(", term_op_name(t->op));
        print_at(out, t->args[0], PREC_COMPARE);
        text_puts(out, ", ");
        print_at(out, t->args[1], PREC_COMPARE);
        if (t->op == OP_BROADCAST_LIKE && t->aux >= 0)
            text_printf(out, ", axis=%d", t->aux);
        text_putc(out, ')');
        break;
    case OP_SOFTMAX:
        text_puts(out, "softmax(");
        print_at(out, t->args[0], PREC_COMPARE);
        text_printf(out, ", axis=%d)", t->aux);
        break;
    case OP_MAX:
        text_puts(out, "max(");
        print_at(out, t->args[0], PREC_COMPARE);
        if (t->aux >= 0)
            text_printf(out, ", axis=%d", t->aux);
        if (t->keepdims)
            text_puts(out, t->aux >= 0 ? ", keepdims=True" : ", axis=None, keepdims=True");
        text_putc(out, ')');
        break;
    case OP_MAXIMUM:
    case OP_MINIMUM:
        text_printf(out, "%s(", term_op_name(t->op));
        print_at(out, t->args[0], PREC_COMPARE);
        text_puts(out, ", ");
        print_at(out, t->args[1], PREC_COMPARE);
        text_putc(out, ')');
        break;
    default:
        print_call(out, term_op_name(t->op), t->args[0]);
        break;
    }
}

static void
print_at(text *out, const term *t, int need)
{
    if (t->op == OP_BROADCAST && t->aux < 0) { /* NumPy broadcasts implicitly */
        print_at(out, t->args[0], need);
        return;
    }
    int paren = precedence(t) < need;
    if (paren)
        text_putc(out, '(');
    print_bare(out, t);
    if (paren)
        text_putc(out, ')');
}

void
print_term(text *out, const term *t)
{
    print_at(out, t, PREC_COMPARE);
}

static const char *
label_name(label_assumption a)
{
    switch (a) {
    case LABEL_BINARY:
        return " binary";
    case LABEL_ONEHOT:
        return " onehot";
    case LABEL_PROB:
        return " prob";
    default:
        return "";
    }
}

static void
print_declaration(text *out, const symbol *s)
{
    static const char *const keyword[] = {
        [SYM_INPUT] = "input", [SYM_LABEL] = "label", [SYM_PARAM] = "param"};
    text_printf(out, "%s %s", keyword[s->kind], s->name);
    if (s->shape.rank > 0) {
        text_putc(out, '[');
        dim_print(out, s->shape.d[0]);
        if (s->shape.rank == 2) {
            text_puts(out, ", ");
            dim_print(out, s->shape.d[1]);
        }
        text_putc(out, ']');
    }
    if (s->kind == SYM_LABEL)
        text_puts(out, label_name(s->label));
    text_putc(out, '\n');
}

/* "NAME = expression" padded to a column, then the shape as a comment. */
static void
print_definition(text *out, const char *prefix, const symbol *s)
{
    size_t start = out->len;
    text_printf(out, "%s%s = ", prefix, s->name);
    print_term(out, s->definition);
    size_t width = out->len - start;
    for (size_t i = width; i < 40; i++)
        text_putc(out, ' ');
    text_puts(out, "  # ");
    shape_print(out, &s->definition->shape);
    text_putc(out, '\n');
}

static void
print_dims(text *out, const model *m)
{
    int any = 0;
    for (size_t i = 0; i < m->nsymbols; i++) {
        const symbol *s = m->symbols[i];
        if (s->kind != SYM_DIM)
            continue;
        text_puts(out, any ? ", " : "dims ");
        text_puts(out, s->name);
        if (s->value > 0)
            text_printf(out, " = %ld", s->value);
        any = 1;
    }
    if (any)
        text_putc(out, '\n');
    if (m->batch != NULL) {
        text_printf(out, "batch %s", m->batch->name);
        if (m->batch->value > 0)
            text_printf(out, " = %ld", m->batch->value);
        text_putc(out, '\n');
    } else if (m->batch_is_one)
        text_puts(out, "batch 1\n");
}

void
print_model(text *out, const model *m)
{
    print_dims(out, m);
    for (size_t i = 0; i < m->nsymbols; i++) {
        const symbol *s = m->symbols[i];
        if (s->kind == SYM_INPUT || s->kind == SYM_LABEL || s->kind == SYM_PARAM)
            print_declaration(out, s);
    }
    for (size_t i = 0; i < m->nsymbols; i++) {
        const symbol *s = m->symbols[i];
        if (s->kind == SYM_DEF)
            print_definition(out, s == m->loss ? "loss " : "", s);
    }
    text_printf(out, "convention %s\n", model_convention_name(m->convention));
    for (size_t i = 0; i < m->nsymbols; i++)
        if (m->symbols[i]->kind == SYM_CLAIM)
            print_definition(out, "", m->symbols[i]);
}

/* ---- LaTeX ---- */

static void latex_at(text *out, const term *t, int need);

void
print_latex_name(text *out, const char *s)
{
    for (; *s; s++) {
        if (*s == '_' || *s == '&' || *s == '%' || *s == '$' || *s == '#' || *s == '{' || *s == '}')
            text_putc(out, '\\');
        text_putc(out, *s);
    }
}

void
print_json_string(text *out, const char *s)
{
    text_putc(out, '"');
    for (; *s; s++) {
        unsigned char c = (unsigned char)*s;
        if (c == '"' || c == '\\')
            text_printf(out, "\\%c", c);
        else if (c == '\n')
            text_puts(out, "\\n");
        else if (c < 0x20)
            text_printf(out, "\\u%04x", c);
        else
            text_putc(out, (char)c);
    }
    text_putc(out, '"');
}

static void
latex_call(text *out, const char *name, const term *arg)
{
    text_printf(out, "%s\\left(", name);
    latex_at(out, arg, PREC_COMPARE);
    text_puts(out, "\\right)");
}

static void
latex_bare(text *out, const term *t)
{
    switch (t->op) {
    case OP_CONST:
        if (mpz_cmp_ui(mpq_denref(t->value), 1) == 0)
            print_const(out, t);
        else {
            mpz_srcptr num = mpq_numref(t->value);
            text_puts(out, mpz_sgn(num) < 0 ? "-\\frac{" : "\\frac{");
            char *s = mem_alloc(out->pool, mpz_sizeinbase(num, 10) +
                                               mpz_sizeinbase(mpq_denref(t->value), 10) + 3);
            mpz_get_str(s, 10, num);
            text_puts(out, s[0] == '-' ? s + 1 : s);
            text_puts(out, "}{");
            mpz_get_str(s, 10, mpq_denref(t->value));
            text_puts(out, s);
            text_putc(out, '}');
            mem_release(out->pool, s);
        }
        break;
    case OP_SYM:
        text_puts(out, "\\mathit{");
        print_latex_name(out, t->sym->name);
        text_putc(out, '}');
        break;
    case OP_ADD: {
        const term *r = t->args[1];
        latex_at(out, t->args[0], PREC_SUM);
        if (r->op == OP_NEG) {
            text_puts(out, " - ");
            latex_at(out, r->args[0], PREC_PRODUCT);
        } else {
            text_puts(out, " + ");
            latex_at(out, r, PREC_PRODUCT);
        }
        break;
    }
    case OP_MUL: {
        int both_matrices = t->args[0]->shape.rank > 0 && t->args[1]->shape.rank > 0;
        latex_at(out, t->args[0], PREC_PRODUCT);
        text_puts(out, both_matrices ? " \\odot " : " \\, ");
        latex_at(out, t->args[1], PREC_PRODUCT + 1);
        break;
    }
    case OP_DIV:
        text_puts(out, "\\frac{");
        latex_at(out, t->args[0], PREC_COMPARE);
        text_puts(out, "}{");
        latex_at(out, t->args[1], PREC_COMPARE);
        text_putc(out, '}');
        break;
    case OP_MATMUL:
        latex_at(out, t->args[0], PREC_PRODUCT);
        text_puts(out, " \\, ");
        latex_at(out, t->args[1], PREC_PRODUCT + 1);
        break;
    case OP_NEG:
        text_putc(out, '-');
        latex_at(out, t->args[0], PREC_UNARY);
        break;
    case OP_POW:
        latex_at(out, t->args[0], PREC_ATOM);
        text_puts(out, "^{");
        latex_at(out, t->args[1], PREC_COMPARE);
        text_putc(out, '}');
        break;
    case OP_TRANSPOSE:
        latex_at(out, t->args[0], PREC_ATOM);
        text_puts(out, "^{\\top}");
        break;
    case OP_STEP:
        text_puts(out, "\\left[");
        latex_at(out, t->args[0], PREC_SUM);
        text_puts(out, t->aux ? " \\geq " : " > ");
        latex_at(out, t->args[1], PREC_SUM);
        text_puts(out, "\\right]");
        break;
    case OP_SUM:
        if (t->aux >= 0)
            text_printf(out, "\\operatorname{sum}_{\\text{axis } %d}", t->aux);
        latex_call(out, t->aux >= 0 ? "" : "\\operatorname{sum}", t->args[0]);
        break;
    case OP_SOFTMAX:
        text_printf(out, "\\operatorname{softmax}_{\\text{axis } %d}", t->aux);
        latex_call(out, "", t->args[0]);
        break;
    case OP_EXP:
        latex_call(out, "\\exp", t->args[0]);
        break;
    case OP_LOG:
        latex_call(out, "\\log", t->args[0]);
        break;
    case OP_TANH:
        latex_call(out, "\\tanh", t->args[0]);
        break;
    case OP_SIGMOID:
        latex_call(out, "\\sigma", t->args[0]);
        break;
    case OP_RELU:
        latex_call(out, "\\operatorname{relu}", t->args[0]);
        break;
    case OP_BROADCAST:
        latex_at(out, t->args[0], PREC_ATOM);
        break;
    case OP_ABS:
        text_puts(out, "\\left\\lvert ");
        latex_at(out, t->args[0], PREC_COMPARE);
        text_puts(out, "\\right\\rvert");
        break;
    case OP_SQRT:
        text_puts(out, "\\sqrt{");
        latex_at(out, t->args[0], PREC_COMPARE);
        text_putc(out, '}');
        break;
    case OP_LOG1P:
        text_puts(out, "\\log\\left(1 + ");
        latex_at(out, t->args[0], PREC_SUM);
        text_puts(out, "\\right)");
        break;
    case OP_MAX:
        if (t->aux >= 0)
            text_printf(out, "\\max_{\\text{axis } %d}", t->aux);
        latex_call(out, t->aux >= 0 ? "" : "\\max", t->args[0]);
        break;
    case OP_MAXIMUM:
    case OP_MINIMUM:
        text_puts(out, t->op == OP_MAXIMUM ? "\\max\\left(" : "\\min\\left(");
        latex_at(out, t->args[0], PREC_COMPARE);
        text_puts(out, ", ");
        latex_at(out, t->args[1], PREC_COMPARE);
        text_puts(out, "\\right)");
        break;
    default:
        latex_call(out, term_op_name(t->op), t->args[0]);
        break;
    }
}

static void
latex_at(text *out, const term *t, int need)
{
    if (t->op == OP_BROADCAST) {
        latex_at(out, t->args[0], need);
        return;
    }
    int paren =
        precedence(t) < need && t->op != OP_DIV && !(t->op == OP_CONST && mpq_sgn(t->value) > 0);
    if (paren)
        text_puts(out, "\\left(");
    latex_bare(out, t);
    if (paren)
        text_puts(out, "\\right)");
}

void
print_latex(text *out, const term *t)
{
    latex_at(out, t, PREC_COMPARE);
}
