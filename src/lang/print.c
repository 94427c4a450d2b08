/* print.c: the one term printer, a style per notation (text, NumPy, LaTeX;
   MathML's is in out/mathml.c), and models printed back in the .dc
   language; see print.h. */
#include "lang/print.h"

#include <ctype.h>
#include <string.h>

void
print_python_name(text *out, const char *name)
{
    for (; *name; name++)
        text_putc(out, *name == '\'' ? '_' : *name);
}

/* NumPy as the text notation and the NumPy module both write it: ** for
   powers, np.sum(a, axis=K, keepdims=True), @, .T, a - b for a + -b;
   sigmoid, relu and softmax(a, axis=K), which NumPy has not, by the names
   the course defines them by. */
#define NUMPY_SPELLING                                                                             \
    .linear = 1, .group = {"", ""}, .paren = {"(", ")"}, .operation = text_puts,                   \
    .number = {"", ""}, .negative = {"-", ""}, .fraction = {"", "/", ""},                          \
    .quotient = {"", " / ", ""}, .close_quotient = "/", .plus = " + ", .minus = " - ",             \
    .negate = "-", .times = " * ", .odot = " * ", .matmul = " @ ",                                 \
    .superscript = {"", " ** ", ""}, .close_power = "**", .transpose = ".T", .gt = " > ",          \
    .ge = " >= ", .lt = " < ", .le = " <= ", .call = {"", "(", ")"},                               \
    .axis = {", axis=", "", ", keepdims=True"}, .expand = {"np.expand_dims(", ", axis=", ")"},     \
    .comma = ", ", .abs = {"np.abs(", ")"}, .root = {"np.sqrt(", ")"},                             \
    .function = {                                                                                  \
        [OP_EXP] = "np.exp",         [OP_LOG] = "np.log",         [OP_LOG1P] = "np.log1p",         \
        [OP_TANH] = "np.tanh",       [OP_SUM] = "np.sum",         [OP_MAX] = "np.max",             \
        [OP_MAXIMUM] = "np.maximum", [OP_MINIMUM] = "np.minimum", [OP_ABS] = "np.abs",             \
        [OP_SQRT] = "np.sqrt"}

/* The text notation: what the language reads back, so a step stays the
   comparison it is and NumPy's implicit broadcasting is left implicit. */
static const print_style text_style = {
    NUMPY_SPELLING,
    .symbol = text_puts,
    .bracket = {"(", ")"},
};

/* A NumPy module's: a version's name as a Python identifier, a step as a
   float array (a boolean array has no unary minus in NumPy), and an
   operand of @ broadcast where NumPy would keep a smaller shape. */
static const print_style numpy_style = {
    NUMPY_SPELLING,
    .symbol = print_python_name,
    .bracket = {"(", ").astype(float)"},
    .broadcast = {"np.broadcast_to(", ", (", "))"},
};

/* Binding strength, loosest first; a child printed where a tighter one is
   needed gets parentheses. */
enum { PREC_COMPARE = 1, PREC_SUM, PREC_PRODUCT, PREC_UNARY, PREC_POWER, PREC_ATOM };

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

/* Whether the matrix product T has a scalar operand (or one broadcast
   from a scalar, as the normal form's 1 of [1, 1]), which NumPy's @
   refuses: it is then written as the product it is. */
static int
is_scalar_product(const term *t)
{
    for (int k = 0; k < 2; k++) {
        const term *a = t->args[k];
        while (a->op == OP_BROADCAST)
            a = a->args[0];
        if (a->shape.rank == 0)
            return 1;
    }
    return 0;
}

void
print_term(text *out, const term *t)
{
    print_math(out, t, &text_style);
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
    if (s->label != LABEL_ANY) /* a label's assumption, or a 0/1 input's (a mask) */
        text_printf(out, " %s", term_label_name(s->label));
    text_putc(out, '\n');
}

/* NAME without a version's primes (Z1 for Z1'): the name the user
   assigned, which the listing writes, as Python reads a reassignment. */
static void
assigned_name(text *out, const char *name)
{
    for (; *name; name++)
        if (*name != '\'')
            text_putc(out, *name);
}

/* "NAME = expression" padded to a column, then the shape as a comment; the
   comment goes on the line above where the line would pass 88 columns (a
   typeset listing fits about that many). Versions are written with the
   names the user assigned (assigned_name), so that the listing parses
   again. */
static void
print_definition(text *out, const char *prefix, const symbol *s)
{
    text line, comment;
    text_init(&line, out->pool);
    text_init(&comment, out->pool);
    print_style listing = text_style;
    listing.symbol = assigned_name;
    text_puts(&line, prefix);
    assigned_name(&line, s->name);
    text_puts(&line, " = ");
    print_math(&line, s->definition, &listing);
    text_puts(&comment, "# ");
    shape_print(&comment, &s->definition->shape);
    size_t column = line.len < 40 ? 40 : line.len;
    if (column + 2 + comment.len > 88) {
        text_printf(out, "%s\n%s\n", text_str(&comment), text_str(&line));
        return;
    }
    text_puts(out, text_str(&line));
    for (size_t i = line.len; i < column + 2; i++)
        text_putc(out, ' ');
    text_printf(out, "%s\n", text_str(&comment));
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

/* The other names of S the source gave it (a3 = A3; (Z1, A1) = cache), one
   "NAME = S" line each, which the parser reads back as the same aliases:
   a claim may be named after one (dZ3 for z3 where Z3 = z3). */
static void
print_aliases(text *out, const model *m, const symbol *s)
{
    for (size_t i = 0; i < m->naliases; i++)
        if (m->aliases[i].sym == s) {
            text_printf(out, "%s = ", m->aliases[i].name);
            assigned_name(out, s->name);
            text_putc(out, '\n');
        }
}

void
print_model(text *out, const model *m)
{
    print_dims(out, m);
    for (size_t i = 0; i < m->nsymbols; i++)
        if (m->symbols[i]->kind == SYM_DIM)
            print_aliases(out, m, m->symbols[i]);
    for (size_t i = 0; i < m->nsymbols; i++) {
        const symbol *s = m->symbols[i];
        if (s->kind == SYM_INPUT || s->kind == SYM_LABEL || s->kind == SYM_PARAM) {
            print_declaration(out, s);
            print_aliases(out, m, s);
        }
    }
    /* definitions and claims in the order of the source (a name then means
       the version it meant there), the convention before the first claim */
    const symbol **order = mem_alloc(out->pool, (m->nsymbols + 1) * sizeof *order);
    size_t n = 0;
    for (size_t i = 0; i < m->nsymbols; i++) {
        const symbol *s = m->symbols[i];
        if (s->kind != SYM_DEF && s->kind != SYM_CLAIM)
            continue;
        size_t at = n++;
        for (; at > 0 && order[at - 1]->offset > s->offset; at--)
            order[at] = order[at - 1];
        order[at] = s;
    }
    /* the loss defined in place (loss J = ...), unless a definition follows
       it (the course's s = 1/(1+np.exp(-Z2)) in a backward pass), which
       only a loss named ahead (loss cost) allows; a loss named loss is
       always defined in place, its name being the keyword */
    int in_place = 1;
    for (size_t i = 0; m->loss != NULL && i < n; i++)
        if (order[i]->kind == SYM_DEF && order[i]->offset > m->loss->offset)
            in_place = 0;
    if (m->loss != NULL && strcmp(m->loss->name, "loss") == 0)
        in_place = 1;
    if (!in_place)
        text_printf(out, "loss %s\n", m->loss->name);
    int convention = 0;
    for (size_t i = 0; i < n; i++) {
        if (!convention && order[i]->kind == SYM_CLAIM) {
            text_printf(out, "convention %s\n", model_convention_name(m->convention));
            convention = 1;
        }
        const char *prefix = order[i] == m->loss && in_place ? "loss " : "";
        if (strcmp(order[i]->name, "loss") == 0)
            prefix = ""; /* loss = data_loss + reg_loss: the loss, in place */
        print_definition(out, prefix, order[i]);
        print_aliases(out, m, order[i]);
    }
    if (!convention)
        text_printf(out, "convention %s\n", model_convention_name(m->convention));
}

/* ---- LaTeX ---- */

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

/* ---- typeset mathematics: one walk, a style per notation ---- */

static void math_at(text *out, const term *t, int need, const print_style *st);
static void math_full(text *out, const term *t, int need, const print_style *st);

/* The decimal digits of |Z| between the style's number tags. */
static void
math_digits(text *out, mpz_srcptr z, const print_style *st)
{
    char *s = mem_alloc(out->pool, mpz_sizeinbase(z, 10) + 2);
    mpz_get_str(s, 10, z);
    text_puts(out, st->number[0]);
    text_puts(out, s[0] == '-' ? s + 1 : s);
    text_puts(out, st->number[1]);
    mem_release(out->pool, s);
}

/* A rational constant: its sign, then digits or a fraction of them. */
static void
math_const(text *out, const term *t, const print_style *st)
{
    int negative = mpq_sgn(t->value) < 0;
    if (negative)
        text_puts(out, st->negative[0]);
    if (mpz_cmp_ui(mpq_denref(t->value), 1) == 0)
        math_digits(out, mpq_numref(t->value), st);
    else {
        text_puts(out, st->fraction[0]);
        math_digits(out, mpq_numref(t->value), st);
        text_puts(out, st->fraction[1]);
        math_digits(out, mpq_denref(t->value), st);
        text_puts(out, st->fraction[2]);
    }
    if (negative)
        text_puts(out, st->negative[1]);
}

/* A function applied to T's first argument; sum, softmax and max carry
   their axis under the name, or in a linear notation as an argument after
   the operand, with keepdims. */
static void
math_call(text *out, const term *t, const print_style *st)
{
    int axis = (t->op == OP_SUM || t->op == OP_SOFTMAX || t->op == OP_MAX) && t->aux >= 0;
    text_puts(out, st->call[0]);
    if (axis && !st->linear)
        text_puts(out, st->axis[0]);
    if (st->function[t->op] != NULL)
        text_puts(out, st->function[t->op]);
    else
        st->operation(out, term_op_name(t->op));
    if (axis && !st->linear)
        text_printf(out, "%s%d%s", st->axis[1], t->aux, st->axis[2]);
    text_puts(out, st->call[1]);
    math_at(out, t->args[0], PREC_COMPARE, st);
    if (axis && st->linear)
        text_printf(out, "%s%d%s", st->axis[0], t->aux, st->axis[1]);
    if (st->linear && (t->op == OP_SUM || t->op == OP_MAX) && t->keepdims) {
        if (t->aux < 0) /* keepdims over every axis, as np.sum reads it */
            text_printf(out, "%sNone%s", st->axis[0], st->axis[1]);
        text_puts(out, st->axis[2]);
    }
    text_puts(out, st->call[2]);
}

/* A binary operator between operands; the right one binds tighter, as
   a * b * c reads (a * b) * c. */
static void
math_binary(text *out, const term *t, const char *op, const print_style *st)
{
    math_at(out, t->args[0], PREC_PRODUCT, st);
    text_puts(out, op);
    math_at(out, t->args[1], PREC_PRODUCT + 1, st);
}

/* Whether NumPy, broadcasting implicitly, computes T at T's full shape:
   not where a broadcast of fewer rows or columns (or an expand_dims) is
   the largest operand, so that NumPy keeps the smaller shape. Errs
   towards "no", where saying so costs only a no-op np.broadcast_to. */
static int
numpy_full(const term *t)
{
    switch (t->op) {
    case OP_BROADCAST:
        return t->aux < 0 && shape_equal(&t->shape, &t->args[0]->shape) && numpy_full(t->args[0]);
    case OP_ADD:
    case OP_MUL:
    case OP_DIV:
    case OP_POW:
    case OP_STEP:
    case OP_MAXIMUM:
    case OP_MINIMUM:
        for (unsigned k = 0; k < t->nargs; k++)
            if (shape_equal(&t->args[k]->shape, &t->shape) && numpy_full(t->args[k]))
                return 1;
        return 0;
    case OP_NEG:
    case OP_EXP:
    case OP_LOG:
    case OP_LOG1P:
    case OP_TANH:
    case OP_SIGMOID:
    case OP_RELU:
    case OP_ABS:
    case OP_SQRT:
        return numpy_full(t->args[0]);
    default: /* names, constants, sums, products, transposes, softmax */
        return 1;
    }
}

/* Whether T is a matrix as written: a scalar broadcast to a matrix's shape
   is written as the scalar (1/m Y, not 1/m ⊙ Y). */
static int
is_matrix(const term *t)
{
    while (t->op == OP_BROADCAST && t->aux < 0)
        t = t->args[0];
    return t->shape.rank > 0;
}

/* Whether T is written with a leading minus that a subtraction before it
   can take: -a, a negative constant, or a product or quotient whose first
   operand is such. */
static int
leading_minus(const term *t, const print_style *st)
{
    switch (t->op) {
    case OP_BROADCAST: /* written as its operand, unless along an axis */
        return (!st->linear || t->aux < 0) && leading_minus(t->args[0], st);
    case OP_NEG:
        return 1;
    case OP_CONST:
        return mpq_sgn(t->value) < 0;
    case OP_MUL:
    case OP_DIV:
        return leading_minus(t->args[0], st);
    case OP_MATMUL: /* unless its operand needs np.broadcast_to around it */
        return (st->broadcast[0] == NULL || numpy_full(t->args[0])) &&
               leading_minus(t->args[0], st);
    default:
        return 0;
    }
}

/* -T, for T with a leading minus, written without it at the precedence of
   a product: what follows a subtraction's minus ("a - 2/m * b" for
   a + (-2/m) * b, never "a + -2/m * b"). */
static void
math_negated(text *out, const term *t, const print_style *st)
{
    switch (t->op) {
    case OP_BROADCAST:
        math_negated(out, t->args[0], st);
        break;
    case OP_NEG:
        math_at(out, t->args[0], PREC_PRODUCT, st);
        break;
    case OP_CONST:
        if (mpz_cmp_ui(mpq_denref(t->value), 1) == 0)
            math_digits(out, mpq_numref(t->value), st);
        else {
            text_puts(out, st->fraction[0]);
            math_digits(out, mpq_numref(t->value), st);
            text_puts(out, st->fraction[1]);
            math_digits(out, mpq_denref(t->value), st);
            text_puts(out, st->fraction[2]);
        }
        break;
    case OP_MUL: {
        const term *a = t->args[0];
        int both_matrices = is_matrix(a) && is_matrix(t->args[1]);
        if (a->op == OP_CONST && mpq_cmp_si(a->value, -1, 1) == 0) { /* -1 * b: b */
            math_at(out, t->args[1], PREC_PRODUCT, st);
            break;
        }
        math_negated(out, a, st);
        text_puts(out, both_matrices ? st->odot : st->times);
        math_at(out, t->args[1], PREC_PRODUCT + 1, st);
        break;
    }
    case OP_MATMUL:
        math_negated(out, t->args[0], st);
        text_puts(out, is_scalar_product(t) ? st->times : st->matmul);
        math_full(out, t->args[1], PREC_PRODUCT + 1, st);
        break;
    default: /* OP_DIV */
        text_puts(out, st->quotient[0]);
        math_negated(out, t->args[0], st);
        text_puts(out, st->quotient[1]);
        math_at(out, t->args[1], st->linear ? PREC_PRODUCT + 1 : PREC_COMPARE, st);
        text_puts(out, st->quotient[2]);
        break;
    }
}

/* T, and where NumPy would keep a smaller shape (numpy_full) than WANT
   (T's own shape, or a gradient's where T is a scalar such as 1), T
   broadcast to WANT: what an operand of @, which does not broadcast, and a
   whole gradient need. */
static void
math_shaped(text *out, const term *t, const shape *want, int need, const print_style *st)
{
    if (st->broadcast[0] == NULL || (numpy_full(t) && shape_equal(&t->shape, want))) {
        math_at(out, t, need, st);
        return;
    }
    text_puts(out, st->broadcast[0]);
    math_at(out, t, PREC_COMPARE, st);
    text_puts(out, st->broadcast[1]);
    for (int k = 0; k < want->rank; k++) {
        dim_print(out, want->d[k]);
        text_puts(out, want->rank == 1 ? "," : k + 1 < want->rank ? ", " : "");
    }
    text_puts(out, st->broadcast[2]);
}

static void
math_full(text *out, const term *t, int need, const print_style *st)
{
    math_shaped(out, t, &t->shape, need, st);
}

/* The digits that end NAME where NAME is letters then digits (W1, dZ2,
   a3): the layer the course writes as a superscript, W^{[1]}; else NULL. */
static const char *
layer_of(const char *name)
{
    size_t letters = 0;
    while (isalpha((unsigned char)name[letters]))
        letters++;
    size_t digits = letters;
    while (isdigit((unsigned char)name[digits]))
        digits++;
    return letters > 0 && digits > letters && name[digits] == '\0' ? name + letters : NULL;
}

/* NAME in the notation ST: where ST writes layers and NAME has one, the
   letters with the layer as a superscript in brackets, MARK (a transpose)
   after the bracket when not NULL. */
static void
math_symbol(text *out, const char *name, const char *mark, const print_style *st)
{
    const char *layer = st->layer[0] != NULL ? layer_of(name) : NULL;
    if (layer == NULL) {
        st->symbol(out, name);
        return;
    }
    char base[64];
    size_t n = (size_t)(layer - name) < sizeof base ? (size_t)(layer - name) : sizeof base - 1;
    memcpy(base, name, n);
    base[n] = '\0';
    text_puts(out, st->layer[0]);
    st->symbol(out, base);
    text_printf(out, "%s%s%s%s%s", st->layer[1], st->number[0], layer, st->number[1], st->layer[2]);
    if (mark != NULL)
        text_puts(out, mark);
    text_puts(out, st->layer[3]);
}

/* The precedence the base B of a superscript needs: a base that carries a
   superscript itself (a transpose, a power) gets parentheses in a typeset
   notation, where X^{\top}^{\top} is a double superscript. */
static int
superscript_base(const term *b, const print_style *st)
{
    while (b->op == OP_BROADCAST)
        b = b->args[0];
    int raised = b->op == OP_TRANSPOSE || b->op == OP_POW ||
                 (b->op == OP_SYM && st->layer[0] != NULL && layer_of(b->sym->name) != NULL);
    return !st->linear && raised ? PREC_ATOM + 1 : PREC_ATOM;
}

static void
math_bare(text *out, const term *t, const print_style *st)
{
    switch (t->op) {
    case OP_CONST:
        math_const(out, t, st);
        break;
    case OP_SYM:
        math_symbol(out, t->sym->name, NULL, st);
        break;
    case OP_ADD: {
        const term *r = t->args[1];
        math_at(out, t->args[0], PREC_SUM, st);
        if (leading_minus(r, st)) {
            text_puts(out, st->minus);
            math_negated(out, r, st);
        } else {
            text_puts(out, st->plus);
            math_at(out, r, PREC_PRODUCT, st);
        }
        break;
    }
    case OP_MUL: {
        int both_matrices = is_matrix(t->args[0]) && is_matrix(t->args[1]);
        math_binary(out, t, both_matrices ? st->odot : st->times, st);
        break;
    }
    case OP_MATMUL:
        if (is_scalar_product(t)) {
            math_binary(out, t, st->times, st);
            break;
        }
        math_full(out, t->args[0], PREC_PRODUCT, st);
        text_puts(out, st->matmul);
        math_full(out, t->args[1], PREC_PRODUCT + 1, st);
        break;
    case OP_DIV: /* a fraction bar groups its parts; a linear '/' does not */
        if (!st->linear && leading_minus(t->args[0], st)) { /* -\frac{1}{m}, not \frac{-1}{m} */
            text_puts(out, st->negate);
            math_negated(out, t, st);
            break;
        }
        text_puts(out, st->quotient[0]);
        math_at(out, t->args[0], st->linear ? PREC_PRODUCT : PREC_COMPARE, st);
        /* 1/m, as a formula reads; spaces around anything longer */
        text_puts(out, st->close_quotient != NULL && is_atom(t->args[0]) && is_atom(t->args[1])
                           ? st->close_quotient
                           : st->quotient[1]);
        math_at(out, t->args[1], st->linear ? PREC_PRODUCT + 1 : PREC_COMPARE, st);
        text_puts(out, st->quotient[2]);
        break;
    case OP_NEG:
        text_puts(out, st->negate);
        math_at(out, t->args[0], PREC_UNARY, st);
        break;
    case OP_POW:
        if (!st->linear && t->args[1]->op == OP_CONST &&
            mpq_cmp_si(t->args[1]->value, -1, 1) == 0) {
            /* x^{-1} as the fraction 1/x, as the course writes 1/m */
            text_puts(out, st->quotient[0]);
            text_printf(out, "%s1%s", st->number[0], st->number[1]);
            text_puts(out, st->quotient[1]);
            math_at(out, t->args[0], PREC_COMPARE, st);
            text_puts(out, st->quotient[2]);
            break;
        }
        text_puts(out, st->superscript[0]);
        math_at(out, t->args[0], superscript_base(t->args[0], st), st);
        /* A1**2, m**-1, as Python's formatters write a power of such */
        text_puts(out, st->close_power != NULL && is_atom(t->args[0]) && is_atom(t->args[1])
                           ? st->close_power
                           : st->superscript[1]);
        math_at(out, t->args[1], st->linear ? PREC_UNARY : PREC_COMPARE, st);
        text_puts(out, st->superscript[2]);
        break;
    case OP_TRANSPOSE:
        if (st->layer[0] != NULL && t->args[0]->op == OP_SYM &&
            layer_of(t->args[0]->sym->name) != NULL) { /* A^{[1]\top}, one superscript */
            math_symbol(out, t->args[0]->sym->name, st->transpose_mark, st);
            break;
        }
        text_puts(out, st->superscript[0]);
        math_at(out, t->args[0], superscript_base(t->args[0], st), st);
        text_puts(out, st->transpose);
        break;
    case OP_STEP: {
        /* a number on the left reads as the comparison the other way:
           (Z1 <= 0), as written, for (0 >= Z1) */
        int flip = t->args[0]->op == OP_CONST && t->args[1]->op != OP_CONST;
        text_puts(out, st->bracket[0]);
        math_at(out, t->args[flip], PREC_SUM, st);
        text_puts(out, flip ? (t->aux ? st->le : st->lt) : (t->aux ? st->ge : st->gt));
        math_at(out, t->args[!flip], PREC_SUM, st);
        text_puts(out, st->bracket[1]);
        break;
    }
    case OP_ABS:
        text_puts(out, st->abs[0]);
        math_at(out, t->args[0], PREC_COMPARE, st);
        text_puts(out, st->abs[1]);
        break;
    case OP_SQRT:
        text_puts(out, st->root[0]);
        math_at(out, t->args[0], PREC_COMPARE, st);
        text_puts(out, st->root[1]);
        break;
    case OP_LOG1P: /* log(1 + a), where there is no log1p */
        if (st->function[OP_LOG1P] != NULL) {
            math_call(out, t, st);
            break;
        }
        text_puts(out, st->call[0]);
        text_puts(out, st->function[OP_LOG]);
        text_puts(out, st->call[1]);
        text_printf(out, "%s1%s%s", st->number[0], st->number[1], st->plus);
        math_at(out, t->args[0], PREC_PRODUCT, st);
        text_puts(out, st->call[2]);
        break;
    case OP_MAXIMUM:
    case OP_MINIMUM: /* max(a, b), min(a, b) */
    case OP_UNBROADCAST:
    case OP_BROADCAST_LIKE: /* a rule's template: broadcast(G, a[, axis=K]) */
        text_puts(out, st->call[0]);
        if (st->function[t->op] != NULL)
            text_puts(out, st->function[t->op]);
        else
            st->operation(out, term_op_name(t->op));
        text_puts(out, st->call[1]);
        math_at(out, t->args[0], PREC_COMPARE, st);
        text_puts(out, st->comma);
        math_at(out, t->args[1], PREC_COMPARE, st);
        if (t->op == OP_BROADCAST_LIKE && t->aux >= 0 && st->linear)
            text_printf(out, "%s%d%s", st->axis[0], t->aux, st->axis[1]);
        text_puts(out, st->call[2]);
        break;
    default:
        math_call(out, t, st);
        break;
    }
}

static void
math_at(text *out, const term *t, int need, const print_style *st)
{
    if (t->op == OP_BROADCAST && st->linear && t->aux >= 0) { /* along an axis a sum removed */
        text_puts(out, st->expand[0]);
        math_at(out, t->args[0], PREC_COMPARE, st);
        text_printf(out, "%s%d%s", st->expand[1], t->aux, st->expand[2]);
        return;
    }
    if (t->op == OP_BROADCAST) { /* NumPy broadcasts implicitly */
        math_at(out, t->args[0], need, st);
        return;
    }
    /* a fraction bar groups by itself: neither a quotient nor a positive
       constant (a whole number or a fraction) needs parentheses */
    int grouped = !st->linear && ((t->op == OP_DIV && !leading_minus(t->args[0], st)) ||
                                  (t->op == OP_CONST && mpq_sgn(t->value) > 0));
    int paren = precedence(t) < need && !grouped;
    text_puts(out, paren ? st->paren[0] : st->group[0]);
    math_bare(out, t, st);
    text_puts(out, paren ? st->paren[1] : st->group[1]);
}

void
print_math_name(text *out, const char *name, const print_style *st)
{
    math_symbol(out, name, NULL, st);
}

void
print_math(text *out, const term *t, const print_style *st)
{
    math_at(out, t, PREC_COMPARE, st);
}

/* \mathit{NAME}: a symbol in LaTeX, italic as a whole word. */
static void
latex_symbol(text *out, const char *name)
{
    text_puts(out, "\\mathit{");
    print_latex_name(out, name);
    text_putc(out, '}');
}

/* Delimiters are \bigl and \bigr, not \left and \right: these would make
   their contents one unbreakable box, so a long formula ran past the margin;
   a formula's + and - at any depth of parentheses may end a line. */
static const print_style latex_style = {
    .group = {"", ""},
    .paren = {"\\bigl(", "\\bigr)"},
    .symbol = latex_symbol,
    .operation = text_puts,
    .number = {"", ""},
    .negative = {"-", ""},
    .fraction = {"\\frac{", "}{", "}"},
    .quotient = {"\\frac{", "}{", "}"},
    .plus = " + ",
    .minus = " - ",
    .negate = "-",
    .times = " \\, ",
    .odot = " \\odot ",
    .matmul = " \\, ",
    .superscript = {"", "^{", "}"},
    .transpose = "^{\\top}",
    .transpose_mark = "\\top",
    .layer = {"", "^{[", "]", "}"},
    .bracket = {"\\bigl[", "\\bigr]"},
    .gt = " > ",
    .ge = " \\geq ",
    .lt = " < ",
    .le = " \\leq ",
    .call = {"", "\\bigl(", "\\bigr)"},
    .comma = ", ",
    .axis = {"", "_{\\text{axis } ", "}"},
    .abs = {"\\bigl\\lvert ", "\\bigr\\rvert"},
    .root = {"\\sqrt{", "}"},
    .function = {[OP_EXP] = "\\exp",
                 [OP_LOG] = "\\log",
                 [OP_TANH] = "\\tanh",
                 [OP_SIGMOID] = "\\sigma",
                 [OP_RELU] = "\\operatorname{relu}",
                 [OP_SUM] = "\\operatorname{sum}",
                 [OP_SOFTMAX] = "\\operatorname{softmax}",
                 [OP_MAX] = "\\max",
                 [OP_MAXIMUM] = "\\max",
                 [OP_MINIMUM] = "\\min"},
};

void
print_latex_symbol(text *out, const char *name)
{
    print_math_name(out, name, &latex_style);
}

void
print_latex(text *out, const term *t)
{
    print_math(out, t, &latex_style);
}

void
print_numpy(text *out, const term *t, const shape *want)
{
    math_shaped(out, t, want != NULL ? want : &t->shape, PREC_COMPARE, &numpy_style);
}
