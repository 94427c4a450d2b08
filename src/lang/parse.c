/* parse.c: the recursive-descent parser of .dc files; see parse.h. */
#include "lang/parse.h"

#include <ctype.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "lang/lex.h"

typedef struct parser {
    model *m;          /* where names are declared and terms built */
    const source *src; /* the text being parsed */
    int rule_mode;     /* a rule file: unknown names are pattern variables */
    lexer lx;
    token tok;         /* the current token */
    token prev;        /* the one before it */
    int depth;         /* expression nesting */
    int in_definition; /* parsing a forward definition: claims are out of reach */
    int statements;    /* how many non-empty statements so far */
    dc_error *err;
    mem_pool *err_pool;
    jmp_buf fail; /* where an input error or an allocation failure lands */
} parser;

/* Report an input error at byte OFFSET and abandon the parse. */
static void fail_at(parser *p, size_t offset, const char *fmt, ...)
    __attribute__((format(printf, 3, 4), noreturn));

static void
fail_at(parser *p, size_t offset, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    diag_vat(p->err, p->err_pool, p->src, offset, fmt, ap);
    va_end(ap);
    longjmp(p->fail, 1);
}

static int
line_of(parser *p, size_t offset)
{
    int line, col;
    source_position(p->src, offset, &line, &col);
    return line;
}

/* Report that a documented cap was exceeded (DC_ELIMIT) at OFFSET. */
static void fail_cap(parser *p, size_t offset, const char *fmt, ...)
    __attribute__((format(printf, 3, 4), noreturn));

static void
fail_cap(parser *p, size_t offset, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    diag_vat(p->err, p->err_pool, p->src, offset, fmt, ap);
    va_end(ap);
    p->err->status = DC_ELIMIT;
    longjmp(p->fail, 1);
}

static const char *
tok_text(parser *p, token t, char *buf, size_t size)
{
    size_t n = t.len < size - 1 ? t.len : size - 1;
    memcpy(buf, p->src->text + t.offset, n);
    buf[n] = '\0';
    return buf;
}

/* "found 'x'" or "found end of line" for messages. */
static const char *
found(parser *p, token t, char *buf, size_t size)
{
    if (t.kind == TOK_IDENT || t.kind == TOK_NUMBER) {
        char word[64];
        tok_text(p, t, word, sizeof word);
        snprintf(buf, size, "'%s'%s", word, t.len >= sizeof word ? "..." : "");
        return buf;
    }
    return lex_describe(t.kind);
}

static void
advance(parser *p)
{
    p->prev = p->tok;
    p->tok = lex_next(&p->lx);
    if (p->tok.kind == TOK_ERROR)
        fail_at(p, p->tok.offset, "%s", p->lx.error);
}

static int
is_word(parser *p, token t, const char *w)
{
    return t.kind == TOK_IDENT && t.len == strlen(w) &&
           memcmp(p->src->text + t.offset, w, t.len) == 0;
}

static int
accept(parser *p, token_kind kind)
{
    if (p->tok.kind != kind)
        return 0;
    advance(p);
    return 1;
}

static void
expect(parser *p, token_kind kind, const char *what)
{
    if (p->tok.kind != kind) {
        char buf[96];
        fail_at(p, p->tok.offset, "expected %s, found %s", what, found(p, p->tok, buf, sizeof buf));
    }
    advance(p);
}

/* The closing bracket of one opened at OPEN: an end of file instead points
   back at the bracket that is never closed. */
static void
expect_close(parser *p, token_kind kind, size_t open)
{
    if (p->tok.kind == kind) {
        advance(p);
        return;
    }
    /* a statement on a later line (or the end) means the bracket was left open */
    int starts_line = p->tok.kind == TOK_EOF;
    for (size_t i = p->tok.offset; !starts_line && i > 0; i--) {
        char c = p->src->text[i - 1];
        if (c == '\n')
            starts_line = 1;
        else if (c != ' ' && c != '\t' && c != '\r')
            break;
    }
    if (starts_line)
        fail_at(p, open, "'%c' is never closed", kind == TOK_RPAREN ? '(' : '[');
    expect(p, kind, lex_describe(kind));
}

static const char *
ident_copy(parser *p, token t)
{
    return mem_strndup(p->m->pool, p->src->text + t.offset, t.len);
}

/* ---- names ---- */

static const char *const keywords[] = {"dims",       "batch", "input", "label", "param", "loss",
                                       "convention", "np",    "True",  "False", "None"};

static int
is_keyword(parser *p, token t)
{
    for (size_t i = 0; i < sizeof keywords / sizeof keywords[0]; i++)
        if (is_word(p, t, keywords[i]))
            return 1;
    return 0;
}

static const char *
kind_name(symbol_kind k)
{
    switch (k) {
    case SYM_DIM:
        return "dim";
    case SYM_BATCH:
        return "batch dim";
    case SYM_INPUT:
        return "input";
    case SYM_LABEL:
        return "label";
    case SYM_PARAM:
        return "param";
    case SYM_DEF:
        return "definition";
    case SYM_CLAIM:
        return "claim";
    case SYM_VAR:
        return "pattern variable";
    case SYM_GRAD:
        return "gradient";
    }
    return "name";
}

/* A new symbol for the identifier token T, refusing a name already taken. */
static symbol *
declare(parser *p, token t, symbol_kind kind)
{
    if (is_keyword(p, t)) {
        char buf[64];
        fail_at(p, t.offset, "'%s' is a keyword and cannot name a %s",
                tok_text(p, t, buf, sizeof buf), kind_name(kind));
    }
    const symbol *old = model_lookup(p->m, p->src->text + t.offset, t.len);
    if (old != NULL) {
        int line, col;
        source_position(p->src, old->offset, &line, &col);
        if (kind == SYM_CLAIM && old->kind == SYM_CLAIM)
            fail_at(p, t.offset, "second claim for '%s' (the first is at line %d)", old->name,
                    line);
        const char *kind_of = kind_name(old->kind);
        fail_at(p, t.offset, "redefinition of '%s' (declared as %s %s at line %d)", old->name,
                strchr("aeiou", kind_of[0]) ? "an" : "a", kind_of, line);
    }
    symbol *s = mem_zalloc(p->m->pool, sizeof *s);
    s->name = ident_copy(p, t);
    s->kind = kind;
    s->offset = t.offset;
    return s;
}

/* A rule's pattern variable, declared where it is first used. */
static symbol *
declare_variable(parser *p, token t)
{
    symbol *s = declare(p, t, SYM_VAR);
    s->shape = shape_any;
    model_add(p->m, s);
    return s;
}

/* Edit distance, bounded, for "did you mean" suggestions. */
static size_t
edit_distance(const char *a, size_t la, const char *b, size_t lb)
{
    size_t row[33];
    if (la > 32 || lb > 32)
        return SIZE_MAX;
    for (size_t j = 0; j <= lb; j++)
        row[j] = j;
    for (size_t i = 1; i <= la; i++) {
        size_t diag = row[0];
        row[0] = i;
        for (size_t j = 1; j <= lb; j++) {
            size_t up = row[j];
            size_t cost = a[i - 1] == b[j - 1] ? 0 : 1;
            size_t best = diag + cost;
            if (up + 1 < best)
                best = up + 1;
            if (row[j - 1] + 1 < best)
                best = row[j - 1] + 1;
            row[j] = best;
            diag = up;
        }
    }
    return row[lb];
}

static void
fail_undefined(parser *p, token t)
{
    const char *name = p->src->text + t.offset;
    const symbol *best = NULL;
    /* suggest only names close for their length: Z3 for Z2, not n for Q */
    size_t best_d = (t.len + 2) / 3 + 1;
    if (best_d > t.len)
        best_d = t.len;
    best_d *= 2; /* in half steps: a difference of letter case costs one half */
    for (size_t i = 0; i < p->m->nsymbols; i++) {
        const symbol *s = p->m->symbols[i];
        size_t len = strlen(s->name);
        size_t d = len == t.len && strncasecmp(name, s->name, len) == 0
                       ? 1
                       : 2 * edit_distance(name, t.len, s->name, len);
        if (d < best_d)
            best = s, best_d = d;
    }
    char buf[64];
    tok_text(p, t, buf, sizeof buf);
    if (best != NULL)
        fail_at(p, t.offset, "undefined name '%s'; did you mean '%s'?", buf, best->name);
    fail_at(p, t.offset, "undefined name '%s'", buf);
}

/* ---- numbers ---- */

/* The exact rational a number token spells: digits, an optional fraction
   and an optional decimal exponent. The table's own numbers are used, so
   that a failed allocation leaks none. */
static const term *
number_term(parser *p, token t)
{
    mpq_ptr q = term_table_scratch(p->m->terms);
    mpz_ptr z = term_table_scratch_z(p->m->terms);
    /* a number token is a decimal: only its exponent can be refused */
    if (lex_decimal(q, z, p->m->pool, p->src->text + t.offset, t.len, PARSE_MAX_EXPONENT) !=
        LEX_DECIMAL_OK)
        fail_cap(p, t.offset, "decimal exponent beyond the cap of %d", PARSE_MAX_EXPONENT);
    return term_const(p->m->terms, q);
}

/* A small nonnegative integer literal (a dim, an axis). */
static long
small_integer(parser *p, token t, long max, const char *what)
{
    const char *s = p->src->text + t.offset;
    long v = 0;
    for (size_t i = 0; i < t.len; i++) {
        if (!isdigit((unsigned char)s[i]))
            fail_at(p, t.offset, "%s must be a whole number", what);
        v = v * 10 + (s[i] - '0');
        if (v > max)
            fail_cap(p, t.offset, "%s is larger than the cap of %ld", what, max);
    }
    return v;
}

/* ---- expressions ---- */

static const term *parse_expr(parser *p);

/* How far constant_value follows a constant expression. */
enum { CONSTANT_MAX_DEPTH = 64, CONSTANT_MAX_BITS = 1 << 16 };

/* The exact value of T into Q (initialised) when T is made of rational
   constants alone by +, -, *, / and integer powers, as a constant written
   with operators is (2 - 2, 0.5 * 0); 0 when it is not, or is deeper than
   CONSTANT_MAX_DEPTH or bigger than CONSTANT_MAX_BITS: the evaluators
   meet it then. */
static int
constant_value(const term *t, mpq_t q, int depth)
{
    if (t->op == OP_CONST) {
        mpq_set(q, t->value);
        return 1;
    }
    if (depth >= CONSTANT_MAX_DEPTH || (t->op != OP_NEG && t->op != OP_ADD && t->op != OP_MUL &&
                                        t->op != OP_DIV && t->op != OP_POW))
        return 0;
    mpq_t b;
    mpq_init(b);
    int ok = constant_value(t->args[0], q, depth + 1) &&
             (t->nargs == 1 || constant_value(t->args[1], b, depth + 1));
    if (ok && t->op == OP_NEG)
        mpq_neg(q, q);
    else if (ok && t->op == OP_ADD)
        mpq_add(q, q, b);
    else if (ok && t->op == OP_MUL)
        mpq_mul(q, q, b);
    else if (ok && t->op == OP_DIV) {
        ok = mpq_sgn(b) != 0;
        if (ok)
            mpq_div(q, q, b);
    } else if (ok) { /* an integer power, of a size worth computing */
        size_t bits = mpz_sizeinbase(mpq_numref(q), 2) + mpz_sizeinbase(mpq_denref(q), 2);
        ok = mpz_cmp_ui(mpq_denref(b), 1) == 0 &&
             mpz_cmpabs_ui(mpq_numref(b), CONSTANT_MAX_BITS) <= 0 &&
             bits * mpz_get_ui(mpq_numref(b)) <= CONSTANT_MAX_BITS &&
             (mpq_sgn(q) != 0 || mpq_sgn(b) >= 0);
        if (ok) {
            unsigned long n = mpz_get_ui(mpq_numref(b)); /* |b| */
            mpz_pow_ui(mpq_numref(q), mpq_numref(q), n);
            mpz_pow_ui(mpq_denref(q), mpq_denref(q), n);
            if (mpq_sgn(b) < 0)
                mpq_inv(q, q);
        }
    }
    mpq_clear(b);
    return ok &&
           mpz_sizeinbase(mpq_numref(q), 2) + mpz_sizeinbase(mpq_denref(q), 2) <= CONSTANT_MAX_BITS;
}

/* A division by a constant 0 (1/0, x / (2 - 2), divide(x, 0)) or 0 to a
   negative power has no value: refused where it is written (at OFFSET),
   rather than evaluated into a NaN. OP over A and B is about to be made. */
static void
refuse_division_by_zero(parser *p, size_t offset, term_op op, const term *a, const term *b)
{
    if (op != OP_DIV && op != OP_POW)
        return;
    mpq_t x, y;
    mpq_inits(x, y, (mpq_ptr)0);
    int zero = op == OP_DIV ? constant_value(b, y, 0) && mpq_sgn(y) == 0
                            : constant_value(a, x, 0) && mpq_sgn(x) == 0 &&
                                  constant_value(b, y, 0) && mpq_sgn(y) < 0;
    mpq_clears(x, y, (mpq_ptr)0);
    if (zero && op == OP_DIV)
        fail_at(p, offset,
                "division by zero: the divisor is the constant 0; expected a nonzero "
                "divisor");
    if (zero)
        fail_at(p, offset,
                "0 to a negative power is a division by zero; expected a nonzero "
                "base or an exponent of at least 0");
}

/* term_make, turning a shape error into an input error at OFFSET. */
static const term *
make(parser *p, size_t offset, term_op op, int aux, int keepdims, const term *a, const term *b)
{
    refuse_division_by_zero(p, offset, op, a, b);
    const term *args[2] = {a, b};
    char why[SHAPE_WHY];
    const term *t = term_make(p->m->terms, op, aux, keepdims, args, b ? 2 : 1, why);
    if (t == NULL)
        fail_at(p, offset, "%s", why);
    return t;
}

static void
enter(parser *p)
{
    if (++p->depth > PARSE_MAX_DEPTH)
        fail_cap(p, p->tok.offset, "expression nested more than %d levels deep (the cap)",
                 PARSE_MAX_DEPTH);
}

/* A call's arguments: up to 2 positional and the keywords axis= and
   keepdims=. */
typedef struct call_args {
    const term *pos[2];
    size_t pos_offset[2];
    int npos;
    int has_axis, axis, has_keepdims, keepdims;
    size_t axis_offset;
} call_args;

/* The value of a keyword argument: an integer (possibly negative), True,
   False or None (axis=None: over every axis). */
static void
parse_keyword(parser *p, token key, call_args *a)
{
    char name[64];
    tok_text(p, key, name, sizeof name);
    int is_axis = is_word(p, key, "axis"), is_keepdims = is_word(p, key, "keepdims");
    if (!is_axis && !is_keepdims)
        fail_at(p, key.offset, "unknown keyword argument '%s'; expected axis= or keepdims=", name);
    if ((is_axis && a->has_axis) || (is_keepdims && a->has_keepdims))
        fail_at(p, key.offset, "keyword argument '%s' given twice", name);
    size_t at = p->tok.offset;
    if (is_keepdims) {
        if (is_word(p, p->tok, "True"))
            a->keepdims = 1;
        else if (is_word(p, p->tok, "False"))
            a->keepdims = 0;
        else
            fail_at(p, at, "keepdims must be True or False");
        a->has_keepdims = 1;
        advance(p);
        return;
    }
    a->has_axis = 1;
    a->axis_offset = at;
    if (is_word(p, p->tok, "None")) {
        a->axis = -100; /* no axis: the whole array */
        advance(p);
        return;
    }
    int negative = accept(p, TOK_MINUS);
    if (p->tok.kind != TOK_NUMBER)
        fail_at(p, at, "axis must be 0, 1, -1, -2 or None");
    long v = small_integer(p, p->tok, 2, "an axis");
    a->axis = negative ? -(int)v : (int)v;
    if (a->axis > 1 || a->axis < -2)
        fail_at(p, at, "axis must be 0, 1, -1, -2 or None");
    advance(p);
}

static void
parse_call_args(parser *p, call_args *a, size_t open)
{
    memset(a, 0, sizeof *a);
    if (accept(p, TOK_RPAREN))
        return;
    do {
        if (p->tok.kind == TOK_IDENT) {
            lexer save = p->lx;
            token key = p->tok, before = p->prev;
            advance(p);
            if (accept(p, TOK_ASSIGN)) {
                parse_keyword(p, key, a);
                continue;
            }
            p->lx = save; /* not a keyword: parse the name as an expression */
            p->tok = key;
            p->prev = before;
        }
        if (a->has_axis || a->has_keepdims)
            fail_at(p, p->tok.offset, "positional argument after a keyword argument");
        if (a->npos == 2)
            fail_at(p, p->tok.offset, "too many arguments");
        a->pos_offset[a->npos] = p->tok.offset;
        a->pos[a->npos++] = parse_expr(p);
    } while (accept(p, TOK_COMMA));
    expect_close(p, TOK_RPAREN, open);
}

/* The functions of the language; an "np." prefix is accepted on each. */
typedef enum fn_kind {
    FN_UNARY,
    FN_SQUARE,
    FN_BINARY,
    FN_SUM,
    FN_SOFTMAX,
    FN_MAXIMUM,
    FN_TEMPLATE, /* rule files only: broadcast(G, a[, axis=k]), unbroadcast(G, a) */
} fn_kind;

static const struct function {
    const char *name;
    fn_kind kind;
    term_op op;
} functions[] = {
    {"exp", FN_UNARY, OP_EXP},
    {"log", FN_UNARY, OP_LOG},
    {"tanh", FN_UNARY, OP_TANH},
    {"sigmoid", FN_UNARY, OP_SIGMOID},
    {"relu", FN_UNARY, OP_RELU},
    {"transpose", FN_UNARY, OP_TRANSPOSE},
    {"square", FN_SQUARE, OP_POW},
    {"power", FN_BINARY, OP_POW},
    {"multiply", FN_BINARY, OP_MUL},
    {"divide", FN_BINARY, OP_DIV},
    {"dot", FN_BINARY, OP_MATMUL},
    {"matmul", FN_BINARY, OP_MATMUL},
    {"sum", FN_SUM, OP_SUM},
    {"softmax", FN_SOFTMAX, OP_SOFTMAX},
    {"maximum", FN_MAXIMUM, OP_RELU},
    {"broadcast", FN_TEMPLATE, OP_BROADCAST_LIKE},
    {"unbroadcast", FN_TEMPLATE, OP_UNBROADCAST},
};

static const struct function *
find_function(parser *p, token t)
{
    for (size_t i = 0; i < sizeof functions / sizeof functions[0]; i++)
        if (is_word(p, t, functions[i].name))
            return &functions[i];
    return NULL;
}

static int
is_zero(const term *t)
{
    return t->op == OP_CONST && mpq_sgn(t->value) == 0;
}

/* Normalise a NumPy axis (negative counts from the end) against a rank. */
static int
normal_axis(parser *p, const call_args *a, int rank)
{
    if (a->axis == -100)
        return -1;
    if (rank == SHAPE_ANY_RANK) {
        if (a->axis < 0)
            fail_at(p, a->axis_offset, "a pattern's axis must be 0 or 1: its rank is unknown");
        return a->axis;
    }
    int axis = a->axis < 0 ? a->axis + rank : a->axis;
    if (axis < 0 || axis >= rank)
        fail_at(p, a->axis_offset, "axis %d is out of bounds for a %d-D value", a->axis, rank);
    return axis;
}

/* Apply function F at NAME to its arguments. */
static const term *
apply_function(parser *p, const struct function *f, token name, call_args *a)
{
    char fname[32];
    tok_text(p, name, fname, sizeof fname);
    if (f->kind == FN_TEMPLATE && !p->rule_mode)
        fail_at(p, name.offset, "%s() exists only in rule files", fname);
    int want = f->kind == FN_BINARY || f->kind == FN_MAXIMUM || f->kind == FN_TEMPLATE ? 2 : 1;
    int keywords_ok = f->kind == FN_SUM || f->kind == FN_SOFTMAX ||
                      (f->kind == FN_TEMPLATE && f->op == OP_BROADCAST_LIKE);
    /* sum(X, 1) and softmax(Z, 0): a second positional argument is the axis */
    if (keywords_ok && a->npos == 2 && !a->has_axis && a->pos[1]->op == OP_CONST &&
        mpz_cmp_ui(mpq_denref(a->pos[1]->value), 1) == 0 &&
        mpz_cmpabs_ui(mpq_numref(a->pos[1]->value), 2) <= 0) {
        a->has_axis = 1;
        a->axis = (int)mpz_get_si(mpq_numref(a->pos[1]->value));
        a->axis_offset = a->pos_offset[1];
        a->npos = 1;
    }
    if (a->npos != want)
        fail_at(p, a->npos > want ? a->pos_offset[want] : name.offset,
                "%s() takes %d argument%s, got %d", fname, want, want == 1 ? "" : "s", a->npos);
    if (!keywords_ok && (a->has_axis || a->has_keepdims))
        fail_at(p, a->has_axis ? a->axis_offset : name.offset, "%s() takes no keyword arguments",
                fname);
    if ((f->kind == FN_SOFTMAX || f->kind == FN_TEMPLATE) && a->has_keepdims)
        fail_at(p, name.offset, "softmax() takes no keepdims argument");
    const term *x = a->pos[0];
    switch (f->kind) {
    case FN_UNARY:
        return make(p, name.offset, f->op, 0, 0, x, NULL);
    case FN_SQUARE:
        return make(p, name.offset, OP_POW, 0, 0, x, term_const_si(p->m->terms, 2, 1));
    case FN_BINARY:
        return make(p, name.offset, f->op, 0, 0, x, a->pos[1]);
    case FN_SUM:
        return make(p, name.offset, OP_SUM, a->has_axis ? normal_axis(p, a, x->shape.rank) : -1,
                    a->keepdims, x, NULL);
    case FN_SOFTMAX:
        if (x->shape.rank == 0)
            fail_at(p, a->pos_offset[0], "softmax of a scalar: it needs a 1-D or 2-D value");
        if (a->has_axis && a->axis == -100)
            fail_at(p, a->axis_offset, "softmax needs an axis, not None");
        return make(p, name.offset, OP_SOFTMAX, a->has_axis ? normal_axis(p, a, x->shape.rank) : 0,
                    0, x, NULL);
    case FN_TEMPLATE:
        return make(p, name.offset, f->op, a->has_axis ? a->axis : -1, 0, x, a->pos[1]);
    case FN_MAXIMUM:
        if (is_zero(a->pos[0]))
            return make(p, name.offset, OP_RELU, 0, 0, a->pos[1], NULL);
        if (is_zero(a->pos[1]))
            return make(p, name.offset, OP_RELU, 0, 0, x, NULL);
        fail_at(p, a->pos_offset[0],
                "maximum() is supported only as maximum(0, Z), which is "
                "relu(Z)");
    }
    return NULL;
}

/* name(args...), with NAME the function's token (after any "np."). */
static const term *
parse_call(parser *p, token name, const term *receiver)
{
    const struct function *f = find_function(p, name);
    char buf[64];
    if (f == NULL)
        fail_at(p, name.offset,
                "unknown function '%s'; expected one of exp, log, tanh, sigmoid, relu, softmax, "
                "sum, dot, matmul, transpose, multiply, divide, power, square, maximum",
                tok_text(p, name, buf, sizeof buf));
    size_t open = p->tok.offset;
    expect(p, TOK_LPAREN, "'('");
    call_args a;
    parse_call_args(p, &a, open);
    if (receiver != NULL) { /* X.sum(axis=1): the receiver is the first argument */
        if (a.npos == 2)
            fail_at(p, name.offset, "too many arguments to the method %s()", f->name);
        a.pos[1] = a.pos[0];
        a.pos_offset[1] = a.pos_offset[0];
        a.pos[0] = receiver;
        a.npos++;
    }
    return apply_function(p, f, name, &a);
}

static const term *
parse_primary(parser *p)
{
    token t = p->tok;
    if (t.kind == TOK_NUMBER) {
        advance(p);
        return number_term(p, t);
    }
    if (t.kind == TOK_LPAREN) {
        advance(p);
        const term *e = parse_expr(p);
        expect_close(p, TOK_RPAREN, t.offset);
        return e;
    }
    if (t.kind != TOK_IDENT) {
        char buf[96];
        fail_at(p, t.offset, "expected an expression, found %s", found(p, t, buf, sizeof buf));
    }
    advance(p);
    if (is_word(p, t, "np")) {
        expect(p, TOK_DOT, "'.' after np");
        token name = p->tok;
        expect(p, TOK_IDENT, "a function name after np.");
        return parse_call(p, name, NULL);
    }
    if (p->tok.kind == TOK_LPAREN)
        return parse_call(p, t, NULL);
    if (is_word(p, t, "True") || is_word(p, t, "False") || is_word(p, t, "None"))
        fail_at(p, t.offset, "True, False and None are values of keyword arguments only");
    const symbol *s = model_lookup(p->m, p->src->text + t.offset, t.len);
    if (s == NULL && p->rule_mode)
        s = declare_variable(p, t);
    if (s == NULL)
        fail_undefined(p, t);
    if (s->kind == SYM_CLAIM && p->in_definition)
        fail_at(p, t.offset, "the forward pass cannot use the claim '%s'", s->name);
    return term_symbol(p->m->terms, s);
}

/* A primary followed by .T, .sum(...), .dot(...), .transpose(). */
static const term *
parse_postfix(parser *p)
{
    const term *e = parse_primary(p);
    while (p->tok.kind == TOK_DOT) {
        size_t dot = p->tok.offset;
        advance(p);
        token name = p->tok;
        expect(p, TOK_IDENT, "an attribute after '.'");
        if (is_word(p, name, "T"))
            e = make(p, dot, OP_TRANSPOSE, 0, 0, e, NULL);
        else if (is_word(p, name, "sum") || is_word(p, name, "dot") ||
                 is_word(p, name, "transpose"))
            e = parse_call(p, name, e);
        else {
            char buf[64];
            fail_at(p, name.offset,
                    "unknown attribute '.%s'; expected .T, .sum(), .dot() or "
                    ".transpose()",
                    tok_text(p, name, buf, sizeof buf));
        }
    }
    return e;
}

static const term *parse_unary(parser *p);

/* postfix [ ('**' | '^') unary ]: right-associative, tighter than a unary
   minus on its left (-x**2 is -(x**2)). */
static const term *
parse_power(parser *p)
{
    const term *base = parse_postfix(p);
    if (p->tok.kind != TOK_POW)
        return base;
    size_t at = p->tok.offset;
    advance(p);
    enter(p);
    const term *e = make(p, at, OP_POW, 0, 0, base, parse_unary(p));
    p->depth--;
    return e;
}

static const term *
parse_unary(parser *p)
{
    if (p->tok.kind != TOK_MINUS && p->tok.kind != TOK_PLUS)
        return parse_power(p);
    enter(p);
    const term *e;
    if (p->tok.kind == TOK_MINUS) {
        size_t at = p->tok.offset;
        advance(p);
        e = make(p, at, OP_NEG, 0, 0, parse_unary(p), NULL);
    } else {
        advance(p);
        e = parse_unary(p);
    }
    p->depth--;
    return e;
}

static const term *
parse_product(parser *p)
{
    const term *e = parse_unary(p);
    for (;;) {
        token op = p->tok;
        term_op o = op.kind == TOK_STAR    ? OP_MUL
                    : op.kind == TOK_SLASH ? OP_DIV
                    : op.kind == TOK_AT    ? OP_MATMUL
                                           : OP_COUNT;
        if (o == OP_COUNT)
            return e;
        advance(p);
        e = make(p, op.offset, o, 0, 0, e, parse_unary(p));
    }
}

static const term *
parse_sum(parser *p)
{
    const term *e = parse_product(p);
    for (;;) {
        token op = p->tok;
        if (op.kind != TOK_PLUS && op.kind != TOK_MINUS)
            return e;
        advance(p);
        const term *r = parse_product(p);
        if (op.kind == TOK_MINUS)
            r = make(p, op.offset, OP_NEG, 0, 0, r, NULL);
        e = make(p, op.offset, OP_ADD, 0, 0, e, r);
    }
}

/* sum [ ('>' | '<' | '>=' | '<=') sum ]: a 0/1 indicator. a < b is b > a. */
static const term *
parse_expr(parser *p)
{
    enter(p);
    const term *e = parse_sum(p);
    token op = p->tok;
    if (op.kind == TOK_GT || op.kind == TOK_LT || op.kind == TOK_GE || op.kind == TOK_LE) {
        advance(p);
        const term *r = parse_sum(p);
        int ge = op.kind == TOK_GE || op.kind == TOK_LE;
        if (op.kind == TOK_GT || op.kind == TOK_GE)
            e = make(p, op.offset, OP_STEP, ge, 0, e, r);
        else
            e = make(p, op.offset, OP_STEP, ge, 0, r, e);
        if (p->tok.kind == TOK_GT || p->tok.kind == TOK_LT || p->tok.kind == TOK_GE ||
            p->tok.kind == TOK_LE)
            fail_at(p, p->tok.offset, "comparisons cannot be chained; use parentheses");
    }
    p->depth--;
    return e;
}

/* ---- statements ---- */

static void
end_of_statement(parser *p, const char *after)
{
    if (p->tok.kind == TOK_NEWLINE || p->tok.kind == TOK_EOF)
        return;
    char buf[96];
    fail_at(p, p->tok.offset, "expected end of line after %s, found %s", after,
            found(p, p->tok, buf, sizeof buf));
}

/* dims n_x = 2, n_h [= 4], ... */
static void
parse_dims(parser *p)
{
    do {
        token name = p->tok;
        expect(p, TOK_IDENT, "a dim name");
        symbol *s = declare(p, name, SYM_DIM);
        if (accept(p, TOK_ASSIGN)) {
            token v = p->tok;
            expect(p, TOK_NUMBER, "the dim's numeric value");
            s->value = small_integer(p, v, PARSE_MAX_DIM, "a dim's value");
            if (s->value == 0)
                fail_at(p, v.offset, "a dim's value must be at least 1");
        }
        model_add(p->m, s);
    } while (accept(p, TOK_COMMA));
    end_of_statement(p, "the dims");
}

/* batch m = 8 | batch 1 */
static void
parse_batch(parser *p, token kw)
{
    if (p->m->batch != NULL || p->m->batch_is_one)
        fail_at(p, kw.offset, "a second batch line (the first is at line %d)",
                line_of(p, p->m->batch_line));
    if (p->tok.kind == TOK_NUMBER) {
        if (small_integer(p, p->tok, PARSE_MAX_DIM, "the batch") != 1)
            fail_at(p, p->tok.offset,
                    "a numeric batch must be 1 (per-example notation); name "
                    "a batch dim instead, as in 'batch m = 8'");
        p->m->batch_is_one = 1;
        p->m->batch_line = kw.offset;
        advance(p);
        end_of_statement(p, "the batch");
        return;
    }
    token name = p->tok;
    expect(p, TOK_IDENT, "the batch dim's name or 1");
    symbol *s = declare(p, name, SYM_BATCH);
    if (accept(p, TOK_ASSIGN)) {
        token v = p->tok;
        expect(p, TOK_NUMBER, "the batch size");
        s->value = small_integer(p, v, PARSE_MAX_DIM, "the batch size");
        if (s->value == 0)
            fail_at(p, v.offset, "the batch size must be at least 1");
    }
    model_add(p->m, s);
    p->m->batch = s;
    p->m->batch_line = kw.offset;
    end_of_statement(p, "the batch");
}

static dim
parse_dim(parser *p)
{
    token t = p->tok;
    if (t.kind == TOK_NUMBER) {
        advance(p);
        long n = small_integer(p, t, PARSE_MAX_DIM, "a literal dim");
        if (n == 0)
            fail_at(p, t.offset, "a dim must be at least 1");
        return dim_literal(n);
    }
    if (t.kind != TOK_IDENT) {
        char buf[96];
        fail_at(p, t.offset, "expected a dim (a name declared with dims, or a number), found %s",
                found(p, t, buf, sizeof buf));
    }
    advance(p);
    const symbol *s = model_lookup(p->m, p->src->text + t.offset, t.len);
    if (s == NULL || (s->kind != SYM_DIM && s->kind != SYM_BATCH)) {
        char buf[64];
        fail_at(p, t.offset, "'%s' is not a dim; declare it with 'dims %s = N'",
                tok_text(p, t, buf, sizeof buf), buf);
    }
    return dim_symbol(s);
}

/* NAME [ '[' dim [, dim] ']' ]: no brackets is a scalar. */
static symbol *
parse_declaration(parser *p, symbol_kind kind)
{
    token name = p->tok;
    expect(p, TOK_IDENT, kind == SYM_PARAM ? "a param name" : "a name");
    symbol *s = declare(p, name, kind);
    s->shape = shape_scalar;
    size_t open = p->tok.offset;
    if (accept(p, TOK_LBRACKET)) {
        do {
            if (s->shape.rank == 2)
                fail_at(p, p->tok.offset, "at most 2 dims: values are matrices");
            s->shape.d[s->shape.rank++] = parse_dim(p);
        } while (accept(p, TOK_COMMA));
        expect_close(p, TOK_RBRACKET, open);
    }
    model_add(p->m, s);
    return s;
}

static void
parse_declarations(parser *p, symbol_kind kind, const char *what)
{
    do
        parse_declaration(p, kind);
    while (accept(p, TOK_COMMA));
    end_of_statement(p, what);
}

static void
parse_label(parser *p)
{
    symbol *s = parse_declaration(p, SYM_LABEL);
    s->label = LABEL_ANY;
    if (p->tok.kind == TOK_IDENT) {
        if (is_word(p, p->tok, "binary"))
            s->label = LABEL_BINARY;
        else if (is_word(p, p->tok, "onehot"))
            s->label = LABEL_ONEHOT;
        else if (is_word(p, p->tok, "prob"))
            s->label = LABEL_PROB;
        else {
            char buf[64];
            fail_at(p, p->tok.offset,
                    "unknown label assumption '%s'; expected binary, onehot "
                    "or prob",
                    tok_text(p, p->tok, buf, sizeof buf));
        }
        advance(p);
    }
    end_of_statement(p, "the label");
}

static void
parse_convention(parser *p, token kw)
{
    if (p->m->convention_given)
        fail_at(p, kw.offset, "a second convention line");
    token t = p->tok;
    if (is_word(p, t, "deferred"))
        p->m->convention = CONVENTION_DEFERRED;
    else if (is_word(p, t, "absorbed"))
        p->m->convention = CONVENTION_ABSORBED;
    else if (is_word(p, t, "auto"))
        p->m->convention = CONVENTION_AUTO;
    else {
        char buf[96];
        fail_at(p, t.offset, "expected deferred, absorbed or auto, found %s",
                found(p, t, buf, sizeof buf));
    }
    p->m->convention_given = 1;
    advance(p);
    end_of_statement(p, "the convention");
}

static void
parse_loss(parser *p, token kw)
{
    if (p->m->loss != NULL) {
        int line, col;
        source_position(p->src, p->m->loss->offset, &line, &col);
        fail_at(p, kw.offset, "a second loss (the loss '%s' is at line %d)", p->m->loss->name,
                line);
    }
    token name = p->tok;
    expect(p, TOK_IDENT, "the loss's name");
    symbol *s = declare(p, name, SYM_DEF);
    expect(p, TOK_ASSIGN, "'='");
    size_t at = p->tok.offset;
    p->in_definition = 1;
    s->definition = parse_expr(p);
    p->in_definition = 0;
    if (!shape_is_scalar(&s->definition->shape)) {
        text t;
        text_init(&t, p->m->pool);
        shape_print(&t, &s->definition->shape);
        fail_at(p, at, "the loss '%s' has shape %s; a loss must be a scalar (sum it)", s->name,
                text_str(&t));
    }
    s->shape = shape_scalar;
    model_add(p->m, s);
    p->m->loss = s;
    end_of_statement(p, "the loss");
}

/* NAME = expr: a claim when NAME is d followed by a param or definition,
   otherwise a forward definition (which must precede the loss). */
static void
parse_assignment(parser *p, token name)
{
    const char *text = p->src->text + name.offset;
    const symbol *target = NULL;
    if (name.len > 1 && text[0] == 'd')
        target = model_lookup(p->m, text + 1, name.len - 1);
    if (target != NULL && target == p->m->loss)
        fail_at(p, name.offset,
                "'%s' claims the loss's gradient with respect to itself, "
                "which is 1",
                ident_copy(p, name));
    if (target != NULL && target->kind != SYM_PARAM && target->kind != SYM_DEF) {
        fail_at(p, name.offset,
                "'%s' would be a gradient with respect to the %s '%s'; claims "
                "are for params and definitions",
                ident_copy(p, name), kind_name(target->kind), target->name);
    }
    if (target == NULL && model_lookup(p->m, text, name.len) != NULL)
        declare(p, name, SYM_DEF); /* reports the redefinition */
    if (target == NULL && p->m->loss != NULL) {
        if (name.len > 1 && text[0] == 'd')
            fail_at(p, name.offset, "claim '%s', but the model has no '%s'", ident_copy(p, name),
                    ident_copy(p, name) + 1);
        fail_at(p, name.offset,
                "a definition after the loss; only claims 'dV = ...' may follow "
                "the loss");
    }
    symbol *s = declare(p, name, target != NULL ? SYM_CLAIM : SYM_DEF);
    s->target = target;
    expect(p, TOK_ASSIGN, "'='");
    p->in_definition = target == NULL;
    s->definition = parse_expr(p);
    p->in_definition = 0;
    s->shape = s->definition->shape;
    model_add(p->m, s);
    end_of_statement(p, "the expression");
}

/* A statement that starts with a name but is none of the statements: a
   misspelt keyword, or a definition without its '='. */
static void
fail_unknown_statement(parser *p, token t)
{
    static const char *const statements[] = {"dims",  "batch", "input",     "label",
                                             "param", "loss",  "convention"};
    char buf[64];
    tok_text(p, t, buf, sizeof buf);
    for (size_t i = 0; i < sizeof statements / sizeof statements[0]; i++)
        if (edit_distance(buf, strlen(buf), statements[i], strlen(statements[i])) <= 2)
            fail_at(p, t.offset, "unknown statement '%s'; did you mean '%s'?", buf, statements[i]);
    char found_buf[96];
    fail_at(p, p->tok.offset,
            "expected '=' after '%s' (a definition is NAME = expression), "
            "found %s",
            buf, found(p, p->tok, found_buf, sizeof found_buf));
}

static void
parse_statement(parser *p)
{
    token t = p->tok;
    if (t.kind == TOK_NEWLINE) {
        advance(p);
        return;
    }
    if (t.kind != TOK_IDENT) {
        char buf[96];
        fail_at(p, t.offset, "expected a declaration or a definition, found %s",
                found(p, t, buf, sizeof buf));
    }
    p->statements++;
    advance(p);
    if (p->tok.kind == TOK_ASSIGN && !is_keyword(p, t))
        parse_assignment(p, t);
    else if (is_word(p, t, "dims"))
        parse_dims(p);
    else if (is_word(p, t, "batch"))
        parse_batch(p, t);
    else if (is_word(p, t, "input"))
        parse_declarations(p, SYM_INPUT, "the inputs");
    else if (is_word(p, t, "label"))
        parse_label(p);
    else if (is_word(p, t, "param"))
        parse_declarations(p, SYM_PARAM, "the params");
    else if (is_word(p, t, "loss"))
        parse_loss(p, t);
    else if (is_word(p, t, "convention"))
        parse_convention(p, t);
    else if (p->tok.kind == TOK_ASSIGN)
        fail_at(p, t.offset, "'%s' is a keyword and cannot be assigned", ident_copy(p, t));
    else
        fail_unknown_statement(p, t);
}

/* Where the text ends, on its last line rather than past its final newline,
   so that a report quotes a line the user wrote. */
static size_t
end_of_last_line(const parser *p)
{
    size_t end = p->src->len;
    while (end > 0 && (p->src->text[end - 1] == '\n' || p->src->text[end - 1] == '\r'))
        end--;
    return end;
}

static void
parse_file(parser *p)
{
    if (p->src->len > PARSE_MAX_BYTES)
        fail_cap(p, 0, "the file is larger than the cap of %d MiB", PARSE_MAX_BYTES >> 20);
    advance(p);
    while (p->tok.kind != TOK_EOF)
        parse_statement(p);
    if (p->statements == 0)
        fail_at(p, p->tok.offset,
                "the file has no model: expected declarations and a "
                "'loss J = ...' line");
    if (p->m->loss == NULL)
        fail_at(p, end_of_last_line(p), "the model has no loss: expected a 'loss J = ...' line");
}

/* Everything parse_model does once its failure target is set. */
static void
parse_into(parser *p, mem_pool *pool, const source *src)
{
    model *m = model_new(pool);
    p->m = m;
    m->src.name = mem_strdup(pool, src->name);
    char *copy = mem_alloc(pool, src->len + 1);
    if (src->len > 0)
        memcpy(copy, src->text, src->len);
    copy[src->len] = '\0';
    m->src.text = copy;
    m->src.len = src->len;
    p->src = &m->src;
    lex_init(&p->lx, p->src);
    parse_file(p);
}

model *
parse_model(const source *src, dc_error *err, mem_pool *err_pool)
{
    mem_pool *pool = mem_pool_new();
    if (pool == NULL) {
        diag_oom(err);
        return NULL;
    }
    parser p;
    memset(&p, 0, sizeof p);
    p.err = err;
    p.err_pool = err_pool;
    jmp_buf *outer = mem_pool_on_oom(err_pool, &p.fail);
    mem_pool_on_oom(pool, &p.fail);
    /* the model's constants outlive the call that parses it */
    mem_pool *gmp_outer = mem_gmp_pool(pool);
    /* p is written only by the callees, through its address, so its fields
       hold their last values after a longjmp. */
    int failed = setjmp(p.fail);
    if (!failed)
        parse_into(&p, pool, src);
    mem_gmp_pool(gmp_outer);
    mem_pool_on_oom(err_pool, outer);
    if (!failed) {
        mem_pool_on_oom(pool, NULL);
        return p.m;
    }
    if (mem_failed())
        diag_oom(err);
    if (p.m != NULL)
        model_free(p.m);
    else
        mem_pool_free(pool);
    return NULL;
}

/* ---- rule files ---- */

/* One rule's conditions: "if" predicate(var) { "and" predicate(var) }. */
static void
parse_conditions(parser *p, rule_syntax *r)
{
    do {
        if (r->ncond == RULE_MAX_CONDITIONS)
            fail_at(p, p->tok.offset, "at most %d conditions", RULE_MAX_CONDITIONS);
        token pred = p->tok;
        expect(p, TOK_IDENT, "a condition such as onehot(y) or scalar(c)");
        size_t open = p->tok.offset;
        expect(p, TOK_LPAREN, "'('");
        token var = p->tok;
        expect(p, TOK_IDENT, "a pattern variable");
        const symbol *s = model_lookup(p->m, p->src->text + var.offset, var.len);
        if (s == NULL || s->kind != SYM_VAR) {
            char buf[64];
            fail_at(p, var.offset, "'%s' is not a variable of the rule's pattern",
                    tok_text(p, var, buf, sizeof buf));
        }
        expect_close(p, TOK_RPAREN, open);
        r->cond[r->ncond].predicate = ident_copy(p, pred);
        r->cond[r->ncond].offset = pred.offset;
        r->cond[r->ncond].var = s;
        r->ncond++;
    } while (is_word(p, p->tok, "and") && (advance(p), 1));
}

/* Either side of a rule: [NAME "="] expression. */
static const term *
parse_rule_side(parser *p, const symbol **named, size_t *name_offset)
{
    *named = NULL;
    if (p->tok.kind == TOK_IDENT) {
        lexer save = p->lx;
        token name = p->tok, before = p->prev;
        advance(p);
        if (accept(p, TOK_ASSIGN)) {
            const symbol *s = model_lookup(p->m, p->src->text + name.offset, name.len);
            *named = s != NULL ? s : declare_variable(p, name);
            *name_offset = name.offset;
            return parse_expr(p);
        }
        p->lx = save;
        p->tok = name;
        p->prev = before;
    }
    return parse_expr(p);
}

/* "linear in" VAR, the claim that the formula is linear in VAR. */
static void
parse_linear(parser *p, rule_syntax *r)
{
    r->linear_offset = p->tok.offset;
    advance(p);
    if (!is_word(p, p->tok, "in"))
        fail_at(p, p->tok.offset, "expected 'in' after 'linear' (linear in G)");
    advance(p);
    token var = p->tok;
    expect(p, TOK_IDENT, "a pattern variable");
    r->linear_in = model_lookup(p->m, p->src->text + var.offset, var.len);
    if (r->linear_in == NULL || r->linear_in->kind != SYM_VAR) {
        char buf[64];
        fail_at(p, var.offset, "'%s' is not a variable of the rule",
                tok_text(p, var, buf, sizeof buf));
    }
}

/* NAME ":" side "=>" side ["linear in" VAR] ["if" conditions] */
static void
parse_rule(parser *p, rule_syntax *r)
{
    memset(r, 0, sizeof *r);
    token name = p->tok;
    expect(p, TOK_IDENT, "a rule name");
    r->offset = name.offset;
    text t; /* a name may have dots: matmul.left */
    text_init(&t, p->m->pool);
    text_putn(&t, p->src->text + name.offset, name.len);
    while (p->tok.kind == TOK_DOT) {
        advance(p);
        token part = p->tok;
        expect(p, TOK_IDENT, "the rest of the rule name after '.'");
        text_putc(&t, '.');
        text_putn(&t, p->src->text + part.offset, part.len);
    }
    r->name = text_str(&t);
    expect(p, TOK_COLON, "':' after the rule name");
    r->lhs_offset = p->tok.offset;
    r->lhs = parse_rule_side(p, &r->output, &r->output_offset);
    expect(p, TOK_ARROW, "'=>'");
    r->rhs_offset = p->tok.offset;
    r->rhs = parse_rule_side(p, &r->gradient, &r->gradient_offset);
    if (is_word(p, p->tok, "linear"))
        parse_linear(p, r);
    if (is_word(p, p->tok, "if")) {
        advance(p);
        parse_conditions(p, r);
    }
    end_of_statement(p, "the rule");
}

static void
parse_rule_lines(parser *p, void (*add)(void *ctx, const rule_syntax *r), void *ctx)
{
    if (p->src->len > PARSE_MAX_BYTES)
        fail_cap(p, 0, "the file is larger than the cap of %d MiB", PARSE_MAX_BYTES >> 20);
    lex_init(&p->lx, p->src);
    advance(p);
    while (p->tok.kind != TOK_EOF) {
        if (accept(p, TOK_NEWLINE))
            continue;
        rule_syntax r;
        parse_rule(p, &r);
        add(ctx, &r);
    }
}

int
parse_rules(const source *src, model *scope, void (*add)(void *ctx, const rule_syntax *r),
            void *ctx, dc_error *err, mem_pool *err_pool)
{
    parser p;
    memset(&p, 0, sizeof p);
    p.m = scope;
    p.src = src;
    p.rule_mode = 1;
    p.err = err;
    p.err_pool = err_pool;
    jmp_buf *outer_err = mem_pool_on_oom(err_pool, &p.fail);
    jmp_buf *outer_scope = mem_pool_on_oom(scope->pool, &p.fail);
    int failed = setjmp(p.fail);
    if (!failed)
        parse_rule_lines(&p, add, ctx);
    mem_pool_on_oom(err_pool, outer_err);
    mem_pool_on_oom(scope->pool, outer_scope);
    if (failed && mem_failed())
        diag_oom(err);
    return !failed;
}
