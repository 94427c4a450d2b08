/* print.c: terms and models printed back in the .dc language; see print.h. */
#include "print.h"

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
        if (mpq_sgn(t->value) < 0)
            return PREC_UNARY;
        return mpz_cmp_ui(mpq_denref(t->value), 1) == 0 ? PREC_ATOM : PREC_PRODUCT;
    case OP_ADD: return PREC_SUM;
    case OP_MUL: case OP_DIV: case OP_MATMUL: return PREC_PRODUCT;
    case OP_NEG: return PREC_UNARY;
    case OP_POW: return PREC_POWER;
    default: return PREC_ATOM;
    }
}

/* A name or a whole number: what may stand unspaced around '/'. */
static int
is_atom(const term *t)
{
    return t->op == OP_SYM ||
           (t->op == OP_CONST && mpz_cmp_ui(mpq_denref(t->value), 1) == 0);
}

static void
print_const(text *out, const term *t)
{
    char *s = mpq_get_str(NULL, 10, t->value);
    text_puts(out, s);
    void (*free_fn)(void *, size_t);
    mp_get_memory_functions(NULL, NULL, &free_fn);
    free_fn(s, strlen(s) + 1);
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
        mpq_t q;
        mpq_init(q);
        mpq_neg(q, r->value);
        char *s = mpq_get_str(NULL, 10, q);
        text_puts(out, " - "); /* a - 1/2 reads back as a + (-1/2) */
        text_puts(out, s);
        void (*free_fn)(void *, size_t);
        mp_get_memory_functions(NULL, NULL, &free_fn);
        free_fn(s, strlen(s) + 1);
        mpq_clear(q);
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
    case OP_CONST: print_const(out, t); break;
    case OP_SYM: text_puts(out, t->sym->name); break;
    case OP_ADD: print_add(out, t); break;
    case OP_MUL: print_binary(out, t, " * ", PREC_PRODUCT); break;
    case OP_DIV:
        /* 1/m, as a formula reads; spaces around anything longer */
        print_binary(out, t, is_atom(t->args[0]) && is_atom(t->args[1]) ? "/" : " / ",
                     PREC_PRODUCT);
        break;
    case OP_MATMUL: print_binary(out, t, " @ ", PREC_PRODUCT); break;
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
    case OP_SOFTMAX:
        text_puts(out, "softmax(");
        print_at(out, t->args[0], PREC_COMPARE);
        text_printf(out, ", axis=%d)", t->aux);
        break;
    default: print_call(out, term_op_name(t->op), t->args[0]); break;
    }
}

static void
print_at(text *out, const term *t, int need)
{
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
    case LABEL_BINARY: return " binary";
    case LABEL_ONEHOT: return " onehot";
    case LABEL_PROB: return " prob";
    default: return "";
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
