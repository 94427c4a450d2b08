/* parse.c: the recursive-descent parser of .dc files; see parse.h. */
#include "lang/parse.h"

#include <ctype.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "lang/lex.h"

/* A function of the file (def NAME(PARAMS): BODY) that the file calls:
   each call reads BODY again, its parameters bound to the call's
   arguments. */
/* A name of a body being read by a call: a parameter or a name assigned
   in the body. It shadows the model's names and never becomes one. Where
   it is used, its value stands as if written out in place: SIZE tokens
   (at most) nested DEPTH levels deep (as parse_expr counts them). */
typedef struct local {
    token name;
    const term *value;
    size_t size;
    int depth;
} local;

typedef struct function_def {
    token name;
    size_t def_offset;      /* of the def keyword */
    int nparams, nrequired; /* the parameters without a default come first */
    local *param;           /* each parameter, with its default as the value (NULL: none) */
    size_t body, body_end;  /* BODY: from past the header's ':' to the end of its last line */
} function_def;

/* A call being read: the function's body with its own names. */
typedef struct frame {
    const function_def *def;
    size_t call; /* the call's name */
    local *locals;
    int nlocals, cap;
    const struct frame *outer; /* the caller's call; NULL at the top level */
} frame;

/* A name a def line gives, the first and last of its calls in the file
   (NAME( outside comments and strings, not after a dot), and the function
   its last def read so far records (NULL: none). */
typedef struct def_use {
    const char *name;
    size_t len, first, last;
    int called;
    const function_def *def;
} def_use;

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
    int claims;        /* how many claims so far */
    token loss_name;   /* "loss NAME": the loss is NAME's last assignment */
    int loss_declared;
    /* while a claim's right side is parsed: where a shape error lands, and
       the error (a claim that does not type-check is reported by check, on
       its line, and the other claims are still judged) */
    jmp_buf *claim_shape;
    const char *claim_shape_why;
    /* tuples of pasted code (cache = (Z1, A1, W1)), for their unpacking */
    struct tuple {
        const char *name;
        const symbol **item; /* each item's symbol; NULL where it is not a name */
        int n;
    } * tuples;
    size_t ntuples;
    def_use *uses; /* sorted by name, once a def needs them (scanned) */
    size_t nuses;
    int scanned;
    const frame *frame; /* the call whose body is being read; NULL: none */
    size_t inlined;     /* bytes of bodies read by calls so far (PARSE_MAX_INLINED) */
    size_t tokens;      /* tokens read so far */
    size_t expanded;    /* tokens of locals' values written out where used (PARSE_MAX_EXPANDED) */
    int peak;           /* the deepest nesting since a measure began (measure_begin) */
    dc_error *err;
    mem_pool *err_pool;
    jmp_buf fail; /* where an input error or an allocation failure lands */
} parser;

static int
line_of(const parser *p, size_t offset)
{
    int line, col;
    source_position(p->src, offset, &line, &col);
    return line;
}

/* Fill ERR with the message FMT, AP at byte OFFSET. In the body of a call
   the place is the body's line, and the message says which calls read
   it, the innermost first (the last one at the top level). */
static void
report(parser *p, size_t offset, const char *fmt, va_list ap)
{
    if (p->frame == NULL) {
        diag_vat(p->err, p->err_pool, p->src, offset, fmt, ap);
        return;
    }
    text t;
    text_init(&t, p->err_pool);
    text_vprintf(&t, fmt, ap);
    int n = 0;
    for (const frame *f = p->frame; f != NULL; f = f->outer, n++) {
        if (n == 2 && f->outer != NULL) { /* a long chain: the innermost two and the first */
            while (f->outer != NULL)
                f = f->outer;
            text_puts(&t, ", ...");
        }
        text_printf(&t, "%s the call of '%.*s' at line %d", n == 0 ? " (in" : ", from",
                    (int)f->def->name.len, p->src->text + f->def->name.offset, line_of(p, f->call));
    }
    text_putc(&t, ')');
    diag_at(p->err, p->err_pool, p->src, offset, "%s", text_str(&t));
}

/* Report an input error at byte OFFSET and abandon the parse. */
static void fail_at(parser *p, size_t offset, const char *fmt, ...)
    __attribute__((format(printf, 3, 4), noreturn));

static void
fail_at(parser *p, size_t offset, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    report(p, offset, fmt, ap);
    va_end(ap);
    longjmp(p->fail, 1);
}

/* Report that a documented cap was exceeded (DC_ELIMIT) at OFFSET. */
static void fail_cap(parser *p, size_t offset, const char *fmt, ...)
    __attribute__((format(printf, 3, 4), noreturn));

static void
fail_cap(parser *p, size_t offset, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    report(p, offset, fmt, ap);
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
    p->tokens++;
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

/* The local of the body being read that T names, or NULL. */
static local *
find_local(const parser *p, token t)
{
    if (p->frame == NULL)
        return NULL;
    for (int i = 0; i < p->frame->nlocals; i++) {
        local *l = &p->frame->locals[i];
        if (l->name.len == t.len &&
            memcmp(p->src->text + l->name.offset, p->src->text + t.offset, t.len) == 0)
            return l;
    }
    return NULL;
}

/* What measure_end needs from the start of a value's text. */
typedef struct measure {
    size_t size;
    int depth, peak;
} measure;

static measure
measure_begin(parser *p)
{
    measure m = {p->tokens + p->expanded, p->depth, p->peak};
    p->peak = p->depth;
    return m;
}

/* The value parsed since M began, into L's size and depth: the tokens read
   and written out, and the nesting reached below M's. */
static void
measure_end(parser *p, measure m, local *l)
{
    l->size = p->tokens + p->expanded - m.size;
    l->depth = p->peak - m.depth;
    if (m.peak > p->peak)
        p->peak = m.peak;
}

/* L's value used at T, as if written out there: refused past the caps of
   nesting (PARSE_MAX_DEPTH) and of tokens written out by all uses
   (PARSE_MAX_EXPANDED), so that a value used twice in each of nested
   calls (return x + x) stays as small as the text it stands for. */
static void
use_local(parser *p, token t, const local *l)
{
    char buf[64];
    tok_text(p, t, buf, sizeof buf);
    if (p->depth + l->depth > PARSE_MAX_DEPTH)
        fail_cap(p, t.offset,
                 "expression nested more than %d levels deep (the cap) once the calls of the "
                 "file's own functions are written out: '%s' stands for a value %d levels deep",
                 PARSE_MAX_DEPTH, buf, l->depth);
    if (l->size > PARSE_MAX_EXPANDED - p->expanded)
        fail_cap(p, t.offset,
                 "the values of the calls of the file's own functions, written out in place, take "
                 "more than the cap of %d Ki tokens (PARSE_MAX_EXPANDED)",
                 PARSE_MAX_EXPANDED >> 10);
    p->expanded += l->size;
    if (p->depth + l->depth > p->peak)
        p->peak = p->depth + l->depth;
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

/* The line (from 1) of the first statement after byte FROM that assigns
   NAME (LEN bytes): a line that starts, after its indentation, with NAME
   then '=' (not '=='); 0 when there is none. */
static int
assigned_later(const parser *p, const char *name, size_t len, size_t from)
{
    const char *s = p->src->text;
    size_t n = p->src->len;
    int line = 1;
    for (size_t i = 0; i < from && i < n; i++)
        line += s[i] == '\n';
    for (size_t i = from; i < n; i++) {
        if (s[i] != '\n')
            continue;
        line++;
        size_t k = i + 1;
        while (k < n && (s[k] == ' ' || s[k] == '\t'))
            k++;
        if (k + len >= n || memcmp(s + k, name, len) != 0 || isalnum((unsigned char)s[k + len]) ||
            s[k + len] == '_')
            continue;
        k += len;
        while (k < n && (s[k] == ' ' || s[k] == '\t'))
            k++;
        if (k + 1 < n && s[k] == '=' && s[k + 1] != '=')
            return line;
    }
    return 0;
}

/* Fail at AT with an undefined name, NAME (LEN bytes), where the file
   assigns it below, saying so; else return. */
static void
fail_assigned_below(parser *p, size_t at, const char *name, size_t len)
{
    int below = assigned_later(p, name, len, at);
    if (below > 0)
        fail_at(p, at,
                "'%.*s' is not defined yet: it is assigned at line %d, below; a derivation is "
                "read from the top, so the forward pass comes before the lines that use it",
                (int)len, name, below);
}

static void
fail_undefined(parser *p, token t)
{
    fail_assigned_below(p, t.offset, p->src->text + t.offset, t.len);
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
                       : 2 * text_edit_distance(name, t.len, s->name, len);
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
    if (t != NULL)
        return t;
    if (p->claim_shape == NULL)
        fail_at(p, offset, "%s", why);
    text w;
    text_init(&w, p->m->pool);
    text_puts(&w, why);
    if (op == OP_MATMUL) { /* would a transpose of one side fit? */
        shape ta, tb, out;
        char ignored[SHAPE_WHY];
        shape_transpose(&ta, &a->shape);
        shape_transpose(&tb, &b->shape);
        if (shape_matmul(&out, &a->shape, &tb, ignored))
            text_puts(&w, " (a .T is missing on the right operand?)");
        else if (shape_matmul(&out, &ta, &b->shape, ignored))
            text_puts(&w, " (a .T is missing on the left operand?)");
    }
    p->claim_shape_why = text_str(&w);
    longjmp(*p->claim_shape, 1);
}

/* One more level of nesting. Every walk over terms recurses as deep as the
   term is high, so the cap bounds the height: an operator of a chain
   (a + b + c, x.T.T) is a level as a parenthesis is. */
static void
enter(parser *p)
{
    if (++p->depth > p->peak)
        p->peak = p->depth;
    if (p->depth > PARSE_MAX_DEPTH)
        fail_cap(p, p->tok.offset,
                 "expression nested more than %d levels deep (the cap); each operator of a "
                 "chain such as a + b + c counts as a level: split a long chain into "
                 "definitions",
                 PARSE_MAX_DEPTH);
}

/* A call's arguments: up to 3 positional and the keywords axis= and
   keepdims=. */
typedef struct call_args {
    const term *pos[3];
    size_t pos_offset[3];
    int npos;
    int has_axis, axis, has_keepdims, keepdims;
    size_t axis_offset;
    int has_copy; /* np.array(X, copy=True): a copy has X's values */
    size_t copy_offset;
} call_args;

/* The value of a keyword argument: an integer (possibly negative), True,
   False or None (axis=None: over every axis). */
static void
parse_keyword(parser *p, token key, call_args *a)
{
    char name[64];
    tok_text(p, key, name, sizeof name);
    int is_axis = is_word(p, key, "axis"), is_keepdims = is_word(p, key, "keepdims");
    int is_copy = is_word(p, key, "copy");
    if (!is_axis && !is_keepdims && !is_copy)
        fail_at(p, key.offset, "unknown keyword argument '%s'; expected axis= or keepdims=", name);
    if ((is_axis && a->has_axis) || (is_keepdims && a->has_keepdims) || (is_copy && a->has_copy))
        fail_at(p, key.offset, "keyword argument '%s' given twice", name);
    size_t at = p->tok.offset;
    if (is_copy) {
        if (!is_word(p, p->tok, "True") && !is_word(p, p->tok, "False"))
            fail_at(p, at, "copy must be True or False");
        a->has_copy = 1;
        a->copy_offset = key.offset;
        advance(p);
        return;
    }
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
        if (a->has_axis || a->has_keepdims || a->has_copy)
            fail_at(p, p->tok.offset, "positional argument after a keyword argument");
        if (a->npos == 3)
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
    FN_SUBTRACT, /* np.subtract(a, b): a + -b */
    FN_SUM,
    FN_MAX,  /* np.max: the reduction OP_MAX */
    FN_MIN,  /* np.min(X) is -max(-X) */
    FN_MEAN, /* np.mean: the sum over the number of entries summed */
    FN_SOFTMAX,
    FN_MAXIMUM,  /* maximum(0, Z) is relu(Z); otherwise OP_MAXIMUM */
    FN_MINIMUM,  /* OP_MINIMUM */
    FN_CLIP,     /* clip(x, lo, hi): minimum(maximum(x, lo), hi) */
    FN_WHERE,    /* where(c, a, b) for a 0/1 c: c * a + (1 - c) * b */
    FN_IDENTITY, /* np.array(X), np.asarray(X), X.copy(), np.float64(X): X itself */
    FN_SQUEEZE,  /* np.squeeze: axes of size 1 summed away */
    FN_FLOAT,    /* Python's float(X): the one entry of X, a scalar */
    FN_INT_CAST, /* np.int64(mask): a 0/1 mask stays what it is */
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
    /* the functions of pasted notebook code */
    {"add", FN_BINARY, OP_ADD},
    {"subtract", FN_SUBTRACT, OP_ADD},
    {"true_divide", FN_BINARY, OP_DIV},
    {"negative", FN_UNARY, OP_NEG},
    {"abs", FN_UNARY, OP_ABS},
    {"absolute", FN_UNARY, OP_ABS},
    {"sqrt", FN_UNARY, OP_SQRT},
    {"log1p", FN_UNARY, OP_LOG1P},
    {"minimum", FN_MINIMUM, OP_MINIMUM},
    {"max", FN_MAX, OP_MAX},
    {"amax", FN_MAX, OP_MAX},
    {"min", FN_MIN, OP_MAX},
    {"amin", FN_MIN, OP_MAX},
    {"mean", FN_MEAN, OP_SUM},
    {"nansum", FN_SUM, OP_SUM}, /* the sum, read where no entry is NaN */
    {"clip", FN_CLIP, OP_MINIMUM},
    {"where", FN_WHERE, OP_ADD},
    {"array", FN_IDENTITY, OP_COUNT},
    {"asarray", FN_IDENTITY, OP_COUNT},
    {"copy", FN_IDENTITY, OP_COUNT},
    {"float64", FN_IDENTITY, OP_COUNT},
    {"float32", FN_IDENTITY, OP_COUNT},
    {"squeeze", FN_SQUEEZE, OP_SUM},
    {"float", FN_FLOAT, OP_SUM},
    {"int64", FN_INT_CAST, OP_COUNT},
    {"int32", FN_INT_CAST, OP_COUNT},
    {"int_", FN_INT_CAST, OP_COUNT},
};

/* Functions of NumPy the language does not have, and what to write
   instead. */
static const struct refused {
    const char *name;
    const char *instead;
} refused_functions[] = {
    {"argmax", "np.argmax gives indices, which the language has not: declare the labels "
               "one-hot (label Y[n_y, m] onehot)"},
    {"reshape", "shapes are declared, not computed: declare the value with the shape it needs"},
    {"zeros", "a value of zeros: write 0 * X for zeros shaped like X"},
    {"zeros_like", "write 0 * X for zeros shaped like X"},
    {"ones_like", "write 0 * X + 1 for ones shaped like X"},
    {"var", "np.var(X, axis=k) is np.mean((X - np.mean(X, axis=k, keepdims=True)) ** 2, axis=k)"},
    {"std", "np.std(X, axis=k) is np.sqrt(np.mean((X - np.mean(X, axis=k, keepdims=True)) ** 2, "
            "axis=k))"},
    {"log10", "np.log10(X) is np.log(X) / np.log(10)"},
    {"log2", "np.log2(X) is np.log(X) / np.log(2)"},
    {"len", "len(X) is X.shape[0]"},
    {"range", "integer labels and range(N) indexing are not in the language: declare the labels "
              "one-hot (label Y[N, C] onehot) and write np.sum(Y * np.log(probs))"},
    {"outer", "np.outer(a, b) is a @ b.T for column vectors a and b"},
    {"einsum", "write the product with @, .T and np.sum"},
    {"tensordot", "write the product with @ and .T"},
    {"int", "int() truncates; a 0/1 mask is written (Z > 0), and float(X) takes one entry"},
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

/* The size D as a scalar term: a dim's symbol or the literal. */
static const term *
dim_term(parser *p, dim d)
{
    return d.sym != NULL ? term_symbol(p->m->terms, d.sym) : term_const_si(p->m->terms, d.n, 1);
}

/* Whether T holds only 0 and 1: a comparison, a product of such, a mask
   declared binary, or a definition that is one of these. */
static int
is_indicator(const term *t)
{
    switch (t->op) {
    case OP_STEP:
        return 1;
    case OP_CONST:
        return mpq_sgn(t->value) == 0 || mpq_cmp_ui(t->value, 1, 1) == 0;
    case OP_MUL:
        return is_indicator(t->args[0]) && is_indicator(t->args[1]);
    case OP_SYM:
        if (t->sym->kind == SYM_DEF && t->sym->definition != NULL)
            return is_indicator(t->sym->definition);
        return (t->sym->kind == SYM_INPUT || t->sym->kind == SYM_LABEL) &&
               t->sym->label == LABEL_BINARY;
    default:
        return 0;
    }
}

/* 1 - C for the 0/1 value C: a comparison turned around ((a > b) becomes
   (b >= a)), so that a mask's complement is a mask again. */
static const term *
complement(parser *p, size_t at, const term *c)
{
    if (c->op == OP_STEP)
        return make(p, at, OP_STEP, !c->aux, 0, c->args[1], c->args[0]);
    return make(p, at, OP_ADD, 0, 0, term_const_si(p->m->terms, 1, 1),
                make(p, at, OP_NEG, 0, 0, c, NULL));
}

/* where(C, A, B) for a 0/1 C: C * A + B * (1 - C), a zero side left out
   (so that dZ[Z <= 0] = 0 reads dZ * (Z > 0)). */
static const term *
select_where(parser *p, size_t at, const term *c, const term *a, const term *b)
{
    const term *yes = is_zero(a) ? NULL : make(p, at, OP_MUL, 0, 0, c, a);
    const term *no = is_zero(b) ? NULL : make(p, at, OP_MUL, 0, 0, b, complement(p, at, c));
    if (yes == NULL && no == NULL)
        return make(p, at, OP_MUL, 0, 0, c, a);
    if (yes == NULL || no == NULL) {
        const term *one = yes != NULL ? yes : no;
        const term *other = yes != NULL ? b : a;
        if (other->op == OP_CONST)
            return one;
        /* the side left out still takes part in the broadcast */
        return make(p, at, OP_ADD, 0, 0, one,
                    make(p, at, OP_MUL, 0, 0, term_const_si(p->m->terms, 0, 1), other));
    }
    return make(p, at, OP_ADD, 0, 0, yes, no);
}

/* np.squeeze(X): X with its axes of literal size 1 summed away (the sum of
   one entry is that entry), as NumPy drops them. */
static const term *
squeeze(parser *p, size_t at, const term *x)
{
    if (x->shape.rank <= 0)
        return x;
    if (shape_is_one_entry(&x->shape))
        return make(p, at, OP_SUM, -1, 0, x, NULL);
    if (x->shape.rank == 2 && x->shape.d[0].sym == NULL && x->shape.d[0].n == 1)
        return make(p, at, OP_SUM, 0, 0, x, NULL);
    if (x->shape.rank == 2 && x->shape.d[1].sym == NULL && x->shape.d[1].n == 1)
        return make(p, at, OP_SUM, 1, 0, x, NULL);
    return x;
}

/* np.maximum(A, B): relu when one side is the literal 0. */
static const term *
maximum(parser *p, size_t at, const term *a, const term *b)
{
    if (is_zero(a))
        return make(p, at, OP_RELU, 0, 0, b, NULL);
    if (is_zero(b))
        return make(p, at, OP_RELU, 0, 0, a, NULL);
    return make(p, at, OP_MAXIMUM, 0, 0, a, b);
}

/* Apply function F at NAME to its arguments. */
static const term *
apply_function(parser *p, const struct function *f, token name, call_args *a)
{
    char fname[32];
    tok_text(p, name, fname, sizeof fname);
    if (f->kind == FN_TEMPLATE && !p->rule_mode)
        fail_at(p, name.offset, "%s() exists only in rule files", fname);
    int want = 1;
    if (f->kind == FN_BINARY || f->kind == FN_SUBTRACT || f->kind == FN_MAXIMUM ||
        f->kind == FN_MINIMUM || f->kind == FN_TEMPLATE)
        want = 2;
    else if (f->kind == FN_CLIP || f->kind == FN_WHERE)
        want = 3;
    int reduction =
        f->kind == FN_SUM || f->kind == FN_MAX || f->kind == FN_MIN || f->kind == FN_MEAN;
    int keywords_ok = reduction || f->kind == FN_SOFTMAX ||
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
    if (a->has_copy && f->kind != FN_IDENTITY)
        fail_at(p, a->copy_offset, "%s() takes no copy argument", fname);
    if ((f->kind == FN_SOFTMAX || f->kind == FN_TEMPLATE) && a->has_keepdims)
        fail_at(p, name.offset, "softmax() takes no keepdims argument");
    const term *x = a->pos[0];
    size_t at = name.offset;
    int axis = reduction && a->has_axis ? normal_axis(p, a, x->shape.rank) : -1;
    switch (f->kind) {
    case FN_UNARY:
        return make(p, at, f->op, 0, 0, x, NULL);
    case FN_SQUARE:
        return make(p, at, OP_POW, 0, 0, x, term_const_si(p->m->terms, 2, 1));
    case FN_BINARY:
        return make(p, at, f->op, 0, 0, x, a->pos[1]);
    case FN_SUBTRACT:
        return make(p, at, OP_ADD, 0, 0, x, make(p, at, OP_NEG, 0, 0, a->pos[1], NULL));
    case FN_SUM:
        return make(p, at, OP_SUM, axis, a->keepdims, x, NULL);
    case FN_MAX:
        return make(p, at, OP_MAX, axis, a->keepdims, x, NULL);
    case FN_MIN: /* min(X) = -max(-X) */
        return make(
            p, at, OP_NEG, 0, 0,
            make(p, at, OP_MAX, axis, a->keepdims, make(p, at, OP_NEG, 0, 0, x, NULL), NULL), NULL);
    case FN_MEAN: {
        const term *count = term_const_si(p->m->terms, 1, 1);
        for (int i = 0; i < x->shape.rank; i++)
            if (axis < 0 || axis == i)
                count = count->op == OP_CONST && mpq_cmp_ui(count->value, 1, 1) == 0
                            ? dim_term(p, x->shape.d[i])
                            : make(p, at, OP_MUL, 0, 0, count, dim_term(p, x->shape.d[i]));
        return make(p, at, OP_DIV, 0, 0, make(p, at, OP_SUM, axis, a->keepdims, x, NULL), count);
    }
    case FN_SOFTMAX:
        if (x->shape.rank == 0)
            fail_at(p, a->pos_offset[0], "softmax of a scalar: it needs a 1-D or 2-D value");
        if (a->has_axis && a->axis == -100)
            fail_at(p, a->axis_offset, "softmax needs an axis, not None");
        return make(p, at, OP_SOFTMAX, a->has_axis ? normal_axis(p, a, x->shape.rank) : 0, 0, x,
                    NULL);
    case FN_TEMPLATE:
        return make(p, at, f->op, a->has_axis ? a->axis : -1, 0, x, a->pos[1]);
    case FN_MAXIMUM:
        return maximum(p, at, x, a->pos[1]);
    case FN_MINIMUM:
        return make(p, at, OP_MINIMUM, 0, 0, x, a->pos[1]);
    case FN_CLIP:
        return make(p, at, OP_MINIMUM, 0, 0, maximum(p, at, x, a->pos[1]), a->pos[2]);
    case FN_WHERE:
        if (!is_indicator(x))
            fail_at(p, a->pos_offset[0],
                    "where() needs a 0/1 condition: a comparison such as (Z > 0), or a mask "
                    "declared binary");
        return select_where(p, at, x, a->pos[1], a->pos[2]);
    case FN_IDENTITY:
        return x;
    case FN_SQUEEZE:
        return squeeze(p, at, x);
    case FN_FLOAT:
        if (!shape_is_one_entry(&x->shape)) {
            text t;
            text_init(&t, p->m->pool);
            shape_print(&t, &x->shape);
            fail_at(p, a->pos_offset[0],
                    "float() of a %s value: it needs one entry (a scalar or a (1, 1) value)",
                    text_str(&t));
        }
        return x->shape.rank == 0 ? x : make(p, at, OP_SUM, -1, 0, x, NULL);
    case FN_INT_CAST:
        if (!is_indicator(x))
            fail_at(p, at,
                    "%s() truncates to whole numbers; it is supported only on a 0/1 mask such as "
                    "np.int64(A > 0)",
                    fname);
        return x;
    }
    return NULL;
}

/* The line (from 1) of the "def NAME(" the source has before NAME's call,
   or 0 when it has none. */
static int
def_line_of(const parser *p, token name)
{
    const char *s = p->src->text;
    int line = 1, found = 0;
    for (size_t i = 0; i < name.offset; i++) {
        if (i == 0 || s[i - 1] == '\n') {
            size_t k = i;
            while (k < name.offset && (s[k] == ' ' || s[k] == '\t'))
                k++;
            if (k + 4 + name.len < name.offset && memcmp(s + k, "def ", 4) == 0) {
                k += 4;
                while (s[k] == ' ')
                    k++;
                if (memcmp(s + k, s + name.offset, name.len) == 0 && s[k + name.len] == '(')
                    found = line;
            }
        }
        if (s[i] == '\n')
            line++;
    }
    return found;
}

/* name(args...), with NAME the function's token (after any "np."). */
static const term *
parse_call(parser *p, token name, const term *receiver)
{
    const struct function *f = find_function(p, name);
    char buf[64];
    if (f == NULL) {
        tok_text(p, name, buf, sizeof buf);
        for (size_t i = 0; i < sizeof refused_functions / sizeof refused_functions[0]; i++)
            if (strcmp(buf, refused_functions[i].name) == 0)
                fail_at(p, name.offset, "%s() is not supported: %s", buf,
                        refused_functions[i].instead);
        int def = def_line_of(p, name);
        if (def > 0) /* not called outside its own body (called_outside) */
            fail_at(p, name.offset,
                    "'%s' is the file's own function (def at line %d), called only in its own "
                    "body, which is read as lines of the derivation: a recursive function cannot "
                    "be inlined",
                    buf, def);
        fail_at(p, name.offset,
                "unknown function '%s'; expected one of exp, log, log1p, sqrt, abs, tanh, "
                "sigmoid, relu, softmax, sum, mean, max, min, maximum, minimum, clip, where, dot, "
                "matmul, transpose, multiply, divide, add, subtract, power, square, squeeze, "
                "array, float, int64",
                buf);
    }
    size_t open = p->tok.offset;
    expect(p, TOK_LPAREN, "'('");
    call_args a;
    parse_call_args(p, &a, open);
    if (receiver != NULL) { /* X.sum(axis=1): the receiver is the first argument */
        if (a.npos == 3)
            fail_at(p, name.offset, "too many arguments to the method %s()", f->name);
        for (int i = a.npos; i > 0; i--) {
            a.pos[i] = a.pos[i - 1];
            a.pos_offset[i] = a.pos_offset[i - 1];
        }
        a.pos[0] = receiver;
        a.npos++;
    }
    return apply_function(p, f, name, &a);
}

/* X.astype(float), X.astype(int), X.astype(np.float64): the type in
   parentheses, a name, a dotted name or a string. Casting to a float is
   the value itself; to an integer or a bool, only a 0/1 mask keeps its
   values. */
static const term *
parse_astype(parser *p, token name, const term *x)
{
    size_t open = p->tok.offset;
    expect(p, TOK_LPAREN, "'(' after astype");
    int to_float = 0, any = 0;
    while (p->tok.kind == TOK_IDENT || p->tok.kind == TOK_STRING || p->tok.kind == TOK_DOT) {
        char buf[32];
        tok_text(p, p->tok, buf, sizeof buf);
        to_float |= strstr(buf, "float") != NULL;
        any = 1;
        advance(p);
    }
    if (!any)
        fail_at(p, p->tok.offset, "expected a type after astype(, such as float");
    expect_close(p, TOK_RPAREN, open);
    if (!to_float && !is_indicator(x))
        fail_at(p, name.offset,
                "astype() to an integer or bool type changes the values; it is supported only "
                "on a 0/1 mask such as (A > 0).astype(int)");
    return x;
}

/* After X.shape: "[k]", the size of axis k of X as a scalar. */
static const term *
parse_shape_index(parser *p, token name, const term *x)
{
    size_t open = p->tok.offset;
    if (p->tok.kind != TOK_LBRACKET)
        fail_at(p, name.offset, "X.shape is a tuple: use X.shape[0] or X.shape[1]");
    advance(p);
    int negative = accept(p, TOK_MINUS);
    token k = p->tok;
    expect(p, TOK_NUMBER, "an axis number");
    long v = small_integer(p, k, 2, "an axis");
    expect_close(p, TOK_RBRACKET, open);
    int rank = x->shape.rank, axis = negative ? rank - (int)v : (int)v;
    if (axis < 0 || axis >= rank)
        fail_at(p, k.offset, "shape[%s%ld] is out of bounds for a %d-D value", negative ? "-" : "",
                v, rank);
    return dim_term(p, x->shape.d[axis]);
}

/* The string token T without its quotes. */
static const char *
string_contents(parser *p, token t, size_t *len)
{
    *len = t.len - 2;
    return p->src->text + t.offset + 1;
}

/* NAME["KEY"], a dict of pasted code (parameters["W1"], cache["A1"]): the
   value of the name KEY, which must be declared or defined. */
static const term *
parse_dict_lookup(parser *p, token dict)
{
    size_t open = p->tok.offset;
    advance(p); /* '[' */
    token key = p->tok;
    if (key.kind != TOK_STRING) {
        char buf[64];
        fail_at(p, dict.offset,
                "undefined name '%s' (a dict such as parameters[\"W1\"] is read by its keys, "
                "which must be names of the model)",
                tok_text(p, dict, buf, sizeof buf));
    }
    advance(p);
    expect_close(p, TOK_RBRACKET, open);
    size_t len;
    const char *name = string_contents(p, key, &len);
    const symbol *s = model_lookup(p->m, name, len);
    if (s == NULL) {
        fail_assigned_below(p, key.offset, name, len);
        fail_at(p, key.offset,
                "no '%.*s' in the model: the keys of a dict must be declared or defined names",
                (int)len, name);
    }
    return term_symbol(p->m->terms, model_current(s));
}

static const function_def *find_def(const parser *p, token name);
static const term *inline_call(parser *p, const function_def *d, token name);

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
        if (is_word(p, name, "random"))
            fail_at(p, name.offset,
                    "np.random: random values are data, not computations: declare them (a "
                    "dropout mask: input D1[n_1, m] binary) and leave out the lines that draw "
                    "them");
        if (is_word(p, name, "linalg")) {
            expect(p, TOK_DOT, "'.' after np.linalg");
            token fn = p->tok;
            expect(p, TOK_IDENT, "norm after np.linalg.");
            if (!is_word(p, fn, "norm"))
                fail_at(p, fn.offset, "np.linalg offers only norm (the Frobenius norm) here");
            size_t open = p->tok.offset;
            expect(p, TOK_LPAREN, "'('");
            call_args a;
            parse_call_args(p, &a, open);
            if (a.npos != 1 || a.has_axis || a.has_keepdims)
                fail_at(p, fn.offset,
                        "np.linalg.norm takes one matrix (the Frobenius norm); for norms along an "
                        "axis write np.sqrt(np.sum(X ** 2, axis=k))");
            const term *sq =
                make(p, fn.offset, OP_POW, 0, 0, a.pos[0], term_const_si(p->m->terms, 2, 1));
            return make(p, fn.offset, OP_SQRT, 0, 0, make(p, fn.offset, OP_SUM, -1, 0, sq, NULL),
                        NULL);
        }
        return parse_call(p, name, NULL);
    }
    if (p->tok.kind == TOK_LPAREN) {
        const function_def *d = find_function(p, t) == NULL ? find_def(p, t) : NULL;
        return d != NULL ? inline_call(p, d, t) : parse_call(p, t, NULL);
    }
    if (is_word(p, t, "True") || is_word(p, t, "False") || is_word(p, t, "None"))
        fail_at(p, t.offset, "True, False and None are values of keyword arguments only");
    const local *l = find_local(p, t);
    if (l != NULL) {
        use_local(p, t, l);
        return l->value;
    }
    const symbol *s = model_lookup(p->m, p->src->text + t.offset, t.len);
    if (s == NULL && p->rule_mode)
        s = declare_variable(p, t);
    if (s == NULL && p->tok.kind == TOK_LBRACKET)
        return parse_dict_lookup(p, t);
    if (s == NULL)
        fail_undefined(p, t);
    s = model_current(s);
    if (s->kind == SYM_CLAIM && p->in_definition)
        fail_at(p, t.offset, "the forward pass cannot use the claim '%s'", s->name);
    return term_symbol(p->m->terms, s);
}

/* X.reshape(NAME.shape), as the course writes Y = Y.reshape(AL.shape): X
   itself when NAME's shape is X's; a reshape that changes the shape is
   refused (shapes are declared, not computed). */
static const term *
parse_reshape(parser *p, token name, const term *x)
{
    size_t open = p->tok.offset;
    expect(p, TOK_LPAREN, "'(' after reshape");
    token like = p->tok;
    expect(p, TOK_IDENT, "NAME.shape, the shape of a name");
    const local *l = find_local(p, like);
    const symbol *s = l != NULL ? NULL : model_lookup(p->m, p->src->text + like.offset, like.len);
    if (l == NULL && s == NULL)
        fail_undefined(p, like);
    expect(p, TOK_DOT, "'.shape'");
    if (!is_word(p, p->tok, "shape"))
        fail_at(p, p->tok.offset, "expected '.shape': reshape takes NAME.shape");
    advance(p);
    expect_close(p, TOK_RPAREN, open);
    if (!shape_equal(l != NULL ? &l->value->shape : &model_current(s)->shape, &x->shape))
        fail_at(p, name.offset,
                "reshape to another shape: shapes are declared, not computed; declare the value "
                "with the shape it needs");
    return x;
}

/* A primary followed by .T, .shape[k], .reshape(NAME.shape), the methods .sum(...), .dot(...),
   .transpose(), .mean(...), .max(...), .min(...), .clip(...),
   .squeeze(), .copy(), .astype(...); an index [...] is refused, naming
   what to write. */
static const term *
parse_postfix(parser *p)
{
    static const char *const methods[] = {"sum", "dot",  "transpose", "mean", "max",
                                          "min", "clip", "squeeze",   "copy"};
    const term *e = parse_primary(p);
    int levels = 0;
    for (;;) {
        if (p->tok.kind == TOK_LBRACKET && !p->rule_mode)
            fail_at(p, p->tok.offset,
                    "indexing is not supported: with one-hot labels (label Y[N, C] onehot) "
                    "probs[range(N), y] is written Y * probs, and a masked assignment "
                    "X[Z <= 0] = 0 may stand on a line by itself");
        if (p->tok.kind != TOK_DOT)
            break;
        size_t dot = p->tok.offset;
        enter(p);
        levels++;
        advance(p);
        token name = p->tok;
        expect(p, TOK_IDENT, "an attribute after '.'");
        int method = 0;
        for (size_t i = 0; i < sizeof methods / sizeof methods[0]; i++)
            method |= is_word(p, name, methods[i]);
        if (is_word(p, name, "T"))
            e = make(p, dot, OP_TRANSPOSE, 0, 0, e, NULL);
        else if (is_word(p, name, "shape"))
            e = parse_shape_index(p, name, e);
        else if (is_word(p, name, "astype"))
            e = parse_astype(p, name, e);
        else if (is_word(p, name, "reshape"))
            e = parse_reshape(p, name, e);
        else if (method)
            e = parse_call(p, name, e);
        else {
            char buf[64];
            fail_at(p, name.offset,
                    "unknown attribute '.%s'; expected .T, .shape[k], .sum(), .mean(), .max(), "
                    ".min(), .dot(), .transpose(), .clip(), .squeeze(), .copy(), .astype() or "
                    ".reshape(NAME.shape)",
                    tok_text(p, name, buf, sizeof buf));
        }
    }
    p->depth -= levels;
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
    for (int levels = 0;; levels++) {
        token op = p->tok;
        term_op o = op.kind == TOK_STAR    ? OP_MUL
                    : op.kind == TOK_SLASH ? OP_DIV
                    : op.kind == TOK_AT    ? OP_MATMUL
                                           : OP_COUNT;
        if (o == OP_COUNT) {
            p->depth -= levels;
            return e;
        }
        enter(p);
        advance(p);
        e = make(p, op.offset, o, 0, 0, e, parse_unary(p));
    }
}

static const term *
parse_sum(parser *p)
{
    const term *e = parse_product(p);
    for (int levels = 0;; levels++) {
        token op = p->tok;
        if (op.kind != TOK_PLUS && op.kind != TOK_MINUS) {
            p->depth -= levels;
            return e;
        }
        enter(p);
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
    do {
        symbol *s = parse_declaration(p, kind);
        /* a dropout mask: data whose entries are 0 or 1, as a binary label's */
        if (kind == SYM_INPUT && is_word(p, p->tok, "binary")) {
            s->label = LABEL_BINARY;
            advance(p);
        } else if (kind == SYM_INPUT &&
                   (is_word(p, p->tok, "onehot") || is_word(p, p->tok, "prob")))
            fail_at(p, p->tok.offset,
                    "an input may be declared binary (a 0/1 mask); onehot and prob are "
                    "assumptions of labels (label Y[n_y, m] onehot)");
    } while (accept(p, TOK_COMMA));
    end_of_statement(p, what);
}

static void
parse_label(parser *p)
{
    symbol *s = parse_declaration(p, SYM_LABEL);
    s->label = LABEL_ANY;
    /* batch-first, Y[m, n_y]: each row is an example, so its entries are
       the ones that sum to 1 */
    const symbol *b = p->m->batch;
    s->class_axis =
        b != NULL && s->shape.rank == 2 && s->shape.d[0].sym == b && s->shape.d[1].sym != b;
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

/* A new version of OLD, assigned at NAME: a definition's is named with
   primes (A1', A1''), a claim's keeps the name as written (they are its
   working steps). The caller sets its formula, adds it to the model and
   then links it (link_version), so that the formula's own uses of the
   name are of OLD, as in Python. */
static symbol *
new_version(parser *p, const symbol *old, token name)
{
    symbol *s = mem_zalloc(p->m->pool, sizeof *s);
    s->kind = old->kind;
    s->offset = name.offset;
    s->version = old->version + 1;
    s->earlier = old;
    s->target = old->target;
    if (old->kind == SYM_CLAIM)
        s->name = old->name;
    else {
        text t;
        text_init(&t, p->m->pool);
        text_putn(&t, p->src->text + name.offset, name.len);
        for (int i = 0; i < s->version; i++)
            text_putc(&t, '\'');
        s->name = text_str(&t);
    }
    return s;
}

static void
link_version(parser *p, symbol *s)
{
    model_add(p->m, s);
    if (s->earlier != NULL)
        ((symbol *)s->earlier)->later = s;
}

/* A loss of one entry (the course's (1, 1) cost, np.dot(Y, np.log(A).T))
   is that entry, its sum; anything else must be a scalar. */
static const term *
scalar_loss(parser *p, const char *name, const term *t, size_t at)
{
    if (shape_is_scalar(&t->shape))
        return t;
    if (shape_is_one_entry(&t->shape))
        return make(p, at, OP_SUM, -1, 0, t, NULL);
    text s;
    text_init(&s, p->m->pool);
    shape_print(&s, &t->shape);
    int ones = 1; /* every size 1 by its number only: n_y = 1 is a symbol */
    for (int i = 0; i < t->shape.rank; i++)
        ones &= t->shape.d[i].sym != NULL ? t->shape.d[i].sym->value == 1 : t->shape.d[i].n == 1;
    fail_at(p, at, "the loss '%s' has shape %s; a loss must be a scalar (sum it)%s", name,
            text_str(&s),
            ones ? "; a dim declared = 1 is still a symbol: write 1 in the declarations "
                   "(label Y[1, m]) for a (1, 1) cost"
                 : "");
}

/* S's definition, parsed from AT, checked against PARSE_MAX_HEIGHT: a
   chain of definitions (A2 = A1 + X, A3 = A2 + X, ...) makes terms as deep
   as a chain of operators once derive and eval write them out. */
static void
check_height(parser *p, size_t at, symbol *s)
{
    s->height = s->definition->height;
    if (s->height > PARSE_MAX_HEIGHT)
        fail_cap(p, at,
                 "'%s' is %d levels deep once the definitions it uses are written out, more "
                 "than the cap of %d levels (PARSE_MAX_HEIGHT)",
                 s->name, s->height, PARSE_MAX_HEIGHT);
}

static void
parse_loss(parser *p, token kw)
{
    if (p->m->loss != NULL || p->loss_declared) {
        int line, col;
        size_t first = p->m->loss != NULL ? p->m->loss->offset : p->loss_name.offset;
        char buf[64];
        source_position(p->src, first, &line, &col);
        fail_at(p, kw.offset, "a second loss (the loss '%s' is at line %d)",
                p->m->loss != NULL ? p->m->loss->name : tok_text(p, p->loss_name, buf, sizeof buf),
                line);
    }
    /* loss = ...: pasted code names its loss loss */
    int self_named = p->tok.kind == TOK_ASSIGN;
    token name = self_named ? kw : p->tok;
    if (!self_named)
        expect(p, TOK_IDENT, "the loss's name");
    if (!self_named && p->tok.kind != TOK_ASSIGN && is_word(p, name, "loss"))
        fail_at(p, name.offset,
                "'loss loss' is not needed: pasted code's 'loss = ...' names the loss 'loss' "
                "by itself");
    if (p->tok.kind != TOK_ASSIGN && !is_keyword(p, name)) {
        /* loss NAME: the loss is the last assignment to NAME, as pasted code
           computes it */
        end_of_statement(p, "the loss's name ('loss J' names it; 'loss J = ...' defines it)");
        p->loss_name = name;
        p->loss_declared = 1;
        return;
    }
    const symbol *old = model_lookup(p->m, p->src->text + name.offset, name.len);
    symbol *s;
    if (old != NULL && model_current(old)->kind == SYM_DEF)
        s = new_version(p, model_current(old), name);
    else if (self_named && old == NULL) {
        s = mem_zalloc(p->m->pool, sizeof *s);
        s->name = "loss";
        s->kind = SYM_DEF;
        s->offset = name.offset;
    } else
        s = declare(p, name, SYM_DEF);
    expect(p, TOK_ASSIGN, "'='");
    size_t at = p->tok.offset;
    p->in_definition = 1;
    s->definition = scalar_loss(p, s->name, parse_expr(p), at);
    p->in_definition = 0;
    check_height(p, at, s);
    s->shape = shape_scalar;
    link_version(p, s);
    p->m->loss = s;
    end_of_statement(p, "the loss");
}

/* The newline that ends the statement going on at byte FROM outside
   brackets (or the end of the text), whatever the statement holds (Python
   the language does not read: strings, braces). *OPEN_AT, when not NULL, is
   set to the offset of the first bracket still open at the end of the
   text (Python's "never closed"), or to the text's length when none is. */
static size_t
statement_end_open(const parser *p, size_t from, size_t *open_at)
{
    const char *s = p->src->text;
    size_t n = p->src->len, i = from, open = n;
    int depth = 0;
    char quote = 0;
    for (; i < n; i++) {
        char c = s[i];
        if (quote != 0) {
            if (c == quote || c == '\n')
                quote = 0;
            if (c == '\n' && depth == 0)
                break;
        } else if (c == '\'' || c == '"')
            quote = c;
        else if (c == '#')
            while (i + 1 < n && s[i + 1] != '\n')
                i++;
        else if (c == '\\' && i + 1 < n && s[i + 1] == '\n')
            i++;
        else if (c == '(' || c == '[' || c == '{') {
            if (depth++ == 0)
                open = i;
        } else if ((c == ')' || c == ']' || c == '}') && depth > 0)
            depth--;
        else if (c == '\n' && depth == 0)
            break;
    }
    if (open_at != NULL)
        *open_at = depth > 0 ? open : n;
    return i;
}

/* statement_end_open without the bracket. */
static size_t
statement_end(const parser *p, size_t from)
{
    return statement_end_open(p, from, NULL);
}

/* Skip the rest of a statement from byte FROM (statement_end_open); then
   read the next token. Returns the offset of the first bracket the
   statement leaves open to the end of the text, or the text's length. */
static size_t
skip_statement(parser *p, size_t from)
{
    size_t open;
    p->lx.pos = statement_end_open(p, from, &open);
    p->lx.depth = 0;
    advance(p);
    return open;
}

/* The first byte at or after OFFSET that is not a blank. */
static char
next_byte(const parser *p, size_t offset)
{
    while (offset < p->src->len && (p->src->text[offset] == ' ' || p->src->text[offset] == '\t'))
        offset++;
    return offset < p->src->len ? p->src->text[offset] : '\0';
}

/* Whether the right side from OFFSET is a dict ({...}) or a tuple of
   values ((A1, Z1, W1)), with which pasted code collects its results. */
static int
collects_results(const parser *p, size_t offset)
{
    char c = next_byte(p, offset);
    if (c == '{')
        return 1;
    if (c != '(')
        return 0;
    int depth = 0;
    for (size_t i = offset; i < p->src->len; i++) {
        char b = p->src->text[i];
        depth += (b == '(' || b == '[') - (b == ')' || b == ']');
        if (depth == 0 && b == ')')
            return 0;
        if (depth == 1 && b == ',')
            return 1;
    }
    return 0;
}

/* The items of a comma-separated list from byte FROM to the first '=' or
   ')' outside brackets (or the end of the line): for each, its offset and
   length when it is one name, else length 0. Returns their number (at
   most MAX), and where the list stopped in *END. */
static int
list_names(const parser *p, size_t from, size_t *start, size_t *len, int max, size_t *end)
{
    const char *s = p->src->text;
    size_t i = from, n = p->src->len;
    int count = 0;
    while (i < n && count < max) {
        while (i < n &&
               (s[i] == ' ' || s[i] == '\t' || s[i] == '\\' || s[i] == '\n' || s[i] == '\r'))
            i++;
        size_t b = i;
        int depth = 0;
        while (i < n &&
               (depth > 0 || (s[i] != ',' && s[i] != ')' && s[i] != '=' && s[i] != '\n'))) {
            depth += (s[i] == '(' || s[i] == '[') - (s[i] == ')' || s[i] == ']');
            i++;
        }
        size_t e = i;
        while (e > b && (s[e - 1] == ' ' || s[e - 1] == '\t'))
            e--;
        size_t k = b;
        while (k < e && (isalnum((unsigned char)s[k]) || s[k] == '_'))
            k++;
        int is_name = e > b && k == e && !isdigit((unsigned char)s[b]);
        start[count] = b;
        len[count] = is_name ? e - b : 0;
        count++;
        if (i >= n || s[i] != ',')
            break;
        i++;
        if (next_byte(p, i) == ')' || next_byte(p, i) == '=') /* a trailing comma */
            break;
    }
    *end = i;
    return count;
}

enum { TUPLE_MAX = 64 };

/* NAME = (A, B, C): a tuple of values pasted code keeps (a forward pass's
   cache), remembered so that (A, B, C) = NAME may unpack it. The rest of
   the statement is skipped from OFFSET, before the '('. */
static void
remember_tuple(parser *p, token name, size_t offset)
{
    size_t start[TUPLE_MAX], len[TUPLE_MAX], end;
    while (p->src->text[offset] != '(')
        offset++;
    int n = list_names(p, offset + 1, start, len, TUPLE_MAX, &end);
    struct tuple t = {ident_copy(p, name), mem_zalloc(p->m->pool, (size_t)n * sizeof *t.item), n};
    for (int i = 0; i < n; i++) {
        const symbol *s = len[i] > 0 ? model_lookup(p->m, p->src->text + start[i], len[i]) : NULL;
        t.item[i] = s != NULL ? model_current(s) : NULL;
    }
    p->tuples = mem_realloc(p->m->pool, p->tuples, (p->ntuples + 1) * sizeof *p->tuples);
    p->tuples[p->ntuples++] = t;
    skip_statement(p, offset);
}

/* Whether the right side from OFFSET draws random numbers (np.random.rand). */
static int
random_draw(const parser *p, size_t offset)
{
    while (offset < p->src->len && (p->src->text[offset] == ' ' || p->src->text[offset] == '\t'))
        offset++;
    return p->src->len - offset > 10 && strncmp(p->src->text + offset, "np.random.", 10) == 0;
}

/* How an assignment combines its right side with the name's old value:
   NAME = e, NAME op= e (augmented), or NAME[mask] = e (masked). */
typedef struct assign_form {
    term_op aug;      /* OP_ADD (+= and -=), OP_MUL, OP_DIV, OP_POW; OP_COUNT for = */
    int negate;       /* -= */
    const term *mask; /* NAME[mask]: only where the 0/1 mask is 1; NULL: everywhere */
    size_t at;        /* the operator, for shape errors */
} assign_form;

/* After NAME: '[' mask ']', where the mask is a comparison or a 0/1 mask
   (dhidden[hidden <= 0] = 0). */
static void
parse_mask(parser *p, assign_form *f)
{
    size_t open = p->tok.offset;
    advance(p);
    if (is_word(p, p->tok, "range"))
        fail_at(p, p->tok.offset,
                "X[range(N), y] picks each example's class by an integer label, which the "
                "language has not: with one-hot labels (label Y[N, C] onehot) write X -= Y, "
                "and Y * X for the picked entries");
    f->at = p->tok.offset;
    f->mask = parse_expr(p);
    if (!is_indicator(f->mask))
        fail_at(p, f->at,
                "an index is supported only as a 0/1 mask, as in dhidden[hidden <= 0] = 0");
    expect_close(p, TOK_RBRACKET, open);
}

/* op= right after NAME: the operation, or OP_COUNT when there is none. */
static void
parse_augmented(parser *p, assign_form *f)
{
    token op = p->tok;
    if (op.offset + op.len >= p->src->len || p->src->text[op.offset + op.len] != '=')
        return;
    switch (op.kind) {
    case TOK_PLUS:
    case TOK_MINUS:
        f->aug = OP_ADD;
        f->negate = op.kind == TOK_MINUS;
        break;
    case TOK_STAR:
        f->aug = OP_MUL;
        break;
    case TOK_SLASH:
        f->aug = OP_DIV;
        break;
    case TOK_POW:
        f->aug = OP_POW;
        break;
    default:
        return;
    }
    f->at = op.offset;
    advance(p);
}

/* The new value of a name whose old value is OLD (NULL: none), by form F
   with the right side RHS. */
static const term *
assigned_value(parser *p, const term *old, const assign_form *f, const term *rhs)
{
    const term *v = rhs;
    if (f->aug != OP_COUNT)
        v = make(p, f->at, f->aug, 0, 0, old,
                 f->negate ? make(p, f->at, OP_NEG, 0, 0, rhs, NULL) : rhs);
    if (f->mask != NULL)
        v = select_where(p, f->at, f->mask, v, old);
    return v;
}

/* Whether T uses a claim. */
static int
uses_claim(const term *t)
{
    if (t->op == OP_SYM)
        return t->sym->kind == SYM_CLAIM;
    for (unsigned i = 0; i < t->nargs; i++)
        if (uses_claim(t->args[i]))
            return 1;
    return 0;
}

/* A claim's right side, by form F over the name's old value OLD. A shape
   error in it (np.dot(dZ2, A1), a .T missing) does not refuse the file:
   the statement is skipped, *SHAPE_ERROR says why, and the value is 0 of
   the shape of TARGET, so that later claims may use the claim; check
   reports it on its line. NAME is the claim's name token. */
static const term *
claim_value(parser *p, const term *old, const assign_form *f, const symbol *target, token name,
            const char **shape_error)
{
    jmp_buf here;
    int depth = p->depth;
    const frame *outer = p->frame;
    const term *volatile value = NULL;
    p->claim_shape = &here;
    if (setjmp(here) == 0)
        value = assigned_value(p, old, f, parse_expr(p));
    p->claim_shape = NULL;
    if (value != NULL)
        return value;
    p->depth = depth;
    p->frame = outer; /* a shape error in the body of a call of the claim */
    *shape_error = p->claim_shape_why;
    /* Python reads the lines after a bracket left open as the claim's: the
       file does not parse, whatever the shapes */
    size_t open = skip_statement(p, name.offset + name.len);
    if (open < p->src->len)
        fail_at(p, open, "'%c' is never closed", p->src->text[open]);
    return make(p, name.offset, OP_MUL, 0, 0, term_const_si(p->m->terms, 0, 1),
                term_symbol(p->m->terms, target));
}

/* NAME = expr, NAME op= expr or NAME[mask] = expr: a claim when NAME is d
   followed by a param or definition (a later one is a working step of
   it), a new version of NAME when NAME is a definition already, otherwise
   a new forward definition. An assignment that gives a name the value it
   has (m = X.shape[1], W1 = parameters["W1"], cost = np.squeeze(cost) of
   a scalar) changes nothing. */
static void
parse_assignment(parser *p, token name)
{
    const char *text = p->src->text + name.offset;
    const symbol *found = model_lookup(p->m, text, name.len);
    symbol *cur = found != NULL ? model_current(found) : NULL;
    const symbol *target = NULL;
    if (name.len > 1 && text[0] == 'd' && (cur == NULL || cur->kind == SYM_CLAIM)) {
        const symbol *t = model_lookup(p->m, text + 1, name.len - 1);
        target = t != NULL ? model_current(t) : NULL;
    }
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
    assign_form form = {OP_COUNT, 0, NULL, name.offset};
    if (p->tok.kind == TOK_LBRACKET) {
        if (cur == NULL)
            fail_undefined(p, name);
        parse_mask(p, &form);
    }
    parse_augmented(p, &form);
    if ((form.aug != OP_COUNT || form.mask != NULL) && cur == NULL)
        fail_undefined(p, name);
    size_t rhs = p->tok.offset + p->tok.len;
    if (p->tok.kind == TOK_ASSIGN && cur == NULL && target == NULL && collects_results(p, rhs)) {
        if (next_byte(p, rhs) == '(')
            remember_tuple(p, name, rhs);
        else
            skip_statement(p, rhs); /* grads = {"dW1": dW1, ...}: nothing new */
        return;
    }
    /* D1 = np.random.rand(...) for a mask declared as data: the data is
       drawn by the tool */
    if (p->tok.kind == TOK_ASSIGN && cur != NULL && cur->kind == SYM_INPUT &&
        form.aug == OP_COUNT && form.mask == NULL && random_draw(p, rhs)) {
        skip_statement(p, rhs);
        return;
    }
    expect(p, TOK_ASSIGN, "'='");
    /* after a loss defined in place, only claims (or what changes nothing) */
    int after_loss = target == NULL && p->m->loss != NULL;
    /* pasted code's backward pass may hold values that are the gradient of
       no name (dhidden for hidden_layer): working values, which later
       claims use, unjudged themselves */
    int working =
        target == NULL && ((cur != NULL && cur->kind == SYM_CLAIM) ||
                           (cur == NULL && p->claims > 0 && (after_loss || p->loss_declared)));
    p->in_definition = target == NULL && !working;
    const term *old = cur != NULL ? term_symbol(p->m->terms, cur) : NULL;
    const char *shape_error = NULL;
    size_t at = p->tok.offset;
    const term *value = target != NULL ? claim_value(p, old, &form, target, name, &shape_error)
                                       : assigned_value(p, old, &form, parse_expr(p));
    p->in_definition = 0;
    if (cur == NULL && target == NULL && !(working && uses_claim(value))) {
        if ((after_loss || (p->claims > 0 && !p->loss_declared)) && name.len > 1 && text[0] == 'd')
            fail_at(p, name.offset, "claim '%s', but the model has no '%s'", ident_copy(p, name),
                    ident_copy(p, name) + 1);
        if (after_loss)
            fail_at(p, name.offset,
                    "a definition after the loss; only claims 'dV = ...' may follow "
                    "the loss");
    }
    if (value == old) { /* the value the name has */
        end_of_statement(p, "the expression");
        return;
    }
    if (cur != NULL && cur->kind == SYM_INPUT && cur->label == LABEL_BINARY &&
        is_indicator(value) && term_occurrences(value, cur) > 0) {
        /* D1 = (D1 < keep_prob).astype(int): how a mask declared as data
           is drawn; it stays the data */
        end_of_statement(p, "the expression");
        return;
    }
    if (after_loss && cur == p->m->loss)
        declare(p, name, SYM_DEF); /* reports the redefinition */
    if (after_loss && cur != NULL && cur->kind == SYM_DEF)
        fail_at(p, name.offset,
                "a definition after the loss; only claims 'dV = ...' may follow "
                "the loss");
    symbol *s;
    if (cur == NULL && target == NULL && value->op == OP_SYM) {
        /* num_train = X.shape[0], a3 = A3: another name of the same value,
           as Python binds it */
        model_add_alias(p->m, text, name.len, value->sym);
        end_of_statement(p, "the expression");
        return;
    }
    if (cur == NULL)
        s = declare(p, name,
                    target != NULL || (working && uses_claim(value)) ? SYM_CLAIM : SYM_DEF);
    else if (cur->kind == SYM_DEF || cur->kind == SYM_CLAIM)
        s = new_version(p, cur, name);
    else
        s = declare(p, name, SYM_DEF); /* a declared name: reports the redefinition */
    if (s->kind == SYM_CLAIM) {
        s->target = target;
        s->shape_error = shape_error;
        p->claims++;
    }
    s->definition = value;
    check_height(p, at, s);
    s->shape = value->shape;
    link_version(p, s);
    end_of_statement(p, "the expression");
}

/* Python's statements that compute nothing (skipped), and those whose
   meaning the language cannot follow (refused). */
static const char *const python_skipped[] = {"def",  "return", "assert", "import",  "from",
                                             "pass", "print",  "global", "nonlocal"};
static const char *const python_refused[] = {"for",  "while", "if",    "elif", "else",
                                             "with", "try",   "class", "del",  "lambda"};

/* The name of the function a 'def' at T defines, as a token (kind
   TOK_IDENT, or TOK_EOF where no name follows). */
static token
def_name(parser *p, token t)
{
    const char *s = p->src->text;
    size_t n = p->src->len, i = t.offset + t.len;
    while (i < n && (s[i] == ' ' || s[i] == '\t'))
        i++;
    token name = {TOK_EOF, i, 0};
    while (i + name.len < n && (isalnum((unsigned char)s[i + name.len]) || s[i + name.len] == '_'))
        name.len++;
    if (name.len > 0)
        name.kind = TOK_IDENT;
    return name;
}

/* The end of the block of the def at DEF whose header ends at the newline
   FROM: the end of the last of the lines after it indented deeper than
   the def, blank lines, comments and docstrings among them (FROM itself
   when there is none). */
static size_t
block_end(const parser *p, size_t def, size_t from)
{
    const char *s = p->src->text;
    size_t n = p->src->len, line = def;
    while (line > 0 && s[line - 1] != '\n')
        line--;
    size_t indent = def - line;
    size_t i = from, body_end = i;
    int in_docstring = 0;
    while (i < n) {
        size_t col = 0;
        i++; /* past the newline that ends the line before */
        while (i < n && (s[i] == ' ' || s[i] == '\t'))
            i++, col++;
        size_t text = i;
        while (i < n && s[i] != '\n')
            i++;
        int quotes = 0; /* triple quotes on the line: an odd count opens or closes */
        for (size_t k = text; k + 2 < i; k++)
            if ((s[k] == '"' || s[k] == '\'') && s[k + 1] == s[k] && s[k + 2] == s[k])
                quotes++, k += 2;
        int blank = text == i || s[text] == '#' || s[text] == '\r';
        if (!in_docstring && !blank && col <= indent)
            break;
        in_docstring ^= quotes & 1;
        body_end = i;
    }
    return body_end;
}

/* Skip a pasted definition of a function the language has (def
   sigmoid(z): s = 1 / (1 + np.exp(-z)); return s): its header at T and its
   body (block_end). The language's own function is used where it is
   called; the body's names (z, s) are the function's, not the model's. */
static void
skip_function_body(parser *p, token t)
{
    p->lx.pos = block_end(p, t.offset, statement_end(p, t.offset + t.len));
    p->lx.depth = 0;
    advance(p);
}

/* ---- the file's own functions ---- */

/* The end of the string literal that opens at byte I of S[0..N): past its
   closing quotes, or the end of its line (one quote) or of the text
   (three) when it is not closed. */
static size_t
string_end(const char *s, size_t n, size_t i)
{
    char q = s[i];
    int triple = i + 2 < n && s[i + 1] == q && s[i + 2] == q;
    for (i += triple ? 3 : 1; i < n; i++) {
        if (s[i] == '\\')
            i++;
        else if (!triple && s[i] == '\n')
            return i;
        else if (s[i] == q && (!triple || (i + 2 < n && s[i + 1] == q && s[i + 2] == q)))
            return i + (triple ? 3 : 1);
    }
    return n;
}

/* The next name of code at or after byte *AT into *NAME, *AT past it;
   comments, strings and numbers (1e5) are passed over. 0 at the end. */
static int
next_code_name(const parser *p, size_t *at, token *name)
{
    const char *s = p->src->text;
    size_t n = p->src->len, i = *at;
    while (i < n) {
        unsigned char c = (unsigned char)s[i];
        if (c == '#')
            while (i < n && s[i] != '\n')
                i++;
        else if (c == '\'' || c == '"')
            i = string_end(s, n, i);
        else if (isalnum(c) || c == '_') {
            size_t b = i;
            while (i < n && (isalnum((unsigned char)s[i]) || s[i] == '_'))
                i++;
            if (!isdigit(c)) {
                *name = (token){TOK_IDENT, b, i - b};
                *at = i;
                return 1;
            }
        } else
            i++;
    }
    *at = n;
    return 0;
}

/* qsort's order of def_use: by name, bytewise. */
static int
compare_uses(const void *a, const void *b)
{
    const def_use *x = a, *y = b;
    int c = memcmp(x->name, y->name, x->len < y->len ? x->len : y->len);
    return c != 0 ? c : (x->len > y->len) - (x->len < y->len);
}

/* Whether only blanks come before byte OFFSET on its line. */
static int
first_on_line(const parser *p, size_t offset)
{
    while (offset > 0 && (p->src->text[offset - 1] == ' ' || p->src->text[offset - 1] == '\t'))
        offset--;
    return offset == 0 || p->src->text[offset - 1] == '\n';
}

/* The entry of P's uses for NAME, or NULL. */
static def_use *
find_use(const parser *p, token name)
{
    def_use key = {p->src->text + name.offset, name.len, 0, 0, 0, NULL};
    return p->nuses == 0 ? NULL : bsearch(&key, p->uses, p->nuses, sizeof key, compare_uses);
}

/* Fill P's uses, in one pass over the file for the names def lines give
   and one for their calls. A call on a print or assert line, which the
   parser skips, is none. */
static void
scan_def_uses(parser *p)
{
    size_t at = source_bom(p->src), n = 0, cap = 0;
    token w;
    int after_def = 0;
    while (next_code_name(p, &at, &w)) {
        if (after_def) {
            if (n == cap) {
                cap = cap == 0 ? 16 : 2 * cap;
                p->uses = mem_realloc(p->m->pool, p->uses, cap * sizeof *p->uses);
            }
            p->uses[n++] = (def_use){p->src->text + w.offset, w.len, 0, 0, 0, NULL};
        }
        after_def = is_word(p, w, "def");
    }
    if (n == 0)
        return;
    qsort(p->uses, n, sizeof *p->uses, compare_uses);
    for (size_t i = 0; i < n; i++)
        if (p->nuses == 0 || compare_uses(&p->uses[p->nuses - 1], &p->uses[i]) != 0)
            p->uses[p->nuses++] = p->uses[i];
    at = source_bom(p->src);
    after_def = 0;
    while (next_code_name(p, &at, &w)) {
        int named = after_def; /* the name of a def line, not a call */
        after_def = is_word(p, w, "def");
        if ((is_word(p, w, "print") || is_word(p, w, "assert")) && first_on_line(p, w.offset)) {
            at = statement_end(p, at);
            continue;
        }
        if (named || (w.offset > 0 && p->src->text[w.offset - 1] == '.') || next_byte(p, at) != '(')
            continue;
        def_use *u = find_use(p, w);
        if (u != NULL) {
            if (!u->called)
                u->first = w.offset;
            u->last = w.offset;
            u->called = 1;
        }
    }
}

/* Whether the file calls the function that the def at DEF names NAME
   outside the def's own lines (before it, after its body, or in another
   def): then its body is the function's, read where it is called, rather
   than lines of the derivation. */
static int
called_outside(parser *p, token def, token name)
{
    if (!p->scanned) {
        scan_def_uses(p);
        p->scanned = 1;
    }
    const def_use *u = find_use(p, name);
    if (u == NULL || !u->called)
        return 0;
    size_t end = block_end(p, def.offset, statement_end(p, def.offset + def.len));
    return u->first < def.offset || u->last >= end;
}

/* The function the file calls NAME, as its last def read so far records
   it, or NULL. */
static const function_def *
find_def(const parser *p, token name)
{
    const def_use *u = find_use(p, name);
    return u != NULL ? u->def : NULL;
}

/* Skip a type annotation (x: np.ndarray, -> float) up to the first ',',
   '=', ')' or ':' outside brackets. */
static void
skip_annotation(parser *p)
{
    int depth = 0;
    while (p->tok.kind != TOK_EOF && p->tok.kind != TOK_NEWLINE &&
           (depth > 0 || (p->tok.kind != TOK_COMMA && p->tok.kind != TOK_ASSIGN &&
                          p->tok.kind != TOK_RPAREN && p->tok.kind != TOK_COLON))) {
        depth += (p->tok.kind == TOK_LPAREN || p->tok.kind == TOK_LBRACKET) -
                 (p->tok.kind == TOK_RPAREN || p->tok.kind == TOK_RBRACKET);
        advance(p);
    }
}

/* Whether T is a name Python code cannot bind (np here is NumPy). */
static int
unbindable(parser *p, token t)
{
    return is_word(p, t, "np") || is_word(p, t, "True") || is_word(p, t, "False") ||
           is_word(p, t, "None");
}

/* The def at T of a function the file calls (def NAME(A, B=0.5):):
   recorded, with its parameters and the span of its body, which is
   skipped here. Defaults are read here, with the file's names at this
   point, as Python reads them. */
static void
record_function(parser *p, token t)
{
    advance(p); /* def */
    function_def *d = mem_zalloc(p->m->pool, sizeof *d);
    d->def_offset = t.offset;
    d->name = p->tok;
    expect(p, TOK_IDENT, "the function's name");
    size_t open = p->tok.offset;
    expect(p, TOK_LPAREN, "'(' after the function's name");
    int cap = 0;
    while (p->tok.kind != TOK_RPAREN) {
        char buf[64];
        if (p->tok.kind == TOK_STAR || p->tok.kind == TOK_POW)
            fail_at(p, p->tok.offset,
                    "*args and **kwargs are not supported in a function the file calls: name "
                    "each parameter");
        token name = p->tok;
        expect(p, TOK_IDENT, "a parameter name");
        tok_text(p, name, buf, sizeof buf);
        if (unbindable(p, name))
            fail_at(p, name.offset, "'%s' cannot name a parameter", buf);
        for (int i = 0; i < d->nparams; i++)
            if (d->param[i].name.len == name.len &&
                memcmp(p->src->text + d->param[i].name.offset, p->src->text + name.offset,
                       name.len) == 0)
                fail_at(p, name.offset, "a second parameter '%s'", buf);
        if (d->nparams == PARSE_MAX_LOCALS)
            fail_cap(p, name.offset, "more than %d parameters (the cap, PARSE_MAX_LOCALS)",
                     PARSE_MAX_LOCALS);
        if (d->nparams == cap) {
            cap = cap == 0 ? 4 : 2 * cap;
            d->param = mem_realloc(p->m->pool, d->param, (size_t)cap * sizeof *d->param);
        }
        local *param = &d->param[d->nparams++];
        *param = (local){name, NULL, 0, 0};
        if (accept(p, TOK_COLON))
            skip_annotation(p);
        if (accept(p, TOK_ASSIGN)) { /* a claim, which the forward pass cannot use, is none */
            measure m = measure_begin(p);
            p->in_definition = 1;
            param->value = parse_expr(p);
            p->in_definition = 0;
            measure_end(p, m, param);
        } else if (d->nparams > d->nrequired + 1)
            fail_at(p, name.offset, "the parameter '%s' has no default, but one before it has",
                    buf);
        d->nrequired += param->value == NULL;
        if (!accept(p, TOK_COMMA))
            break;
    }
    expect_close(p, TOK_RPAREN, open);
    if (p->tok.kind == TOK_MINUS) /* -> type */
        skip_annotation(p);
    expect(p, TOK_COLON, "':' after the parameters");
    d->body = p->prev.offset + p->prev.len;
    d->body_end = block_end(p, t.offset, statement_end(p, d->body));
    find_use(p, d->name)->def = d;
    p->lx.pos = d->body_end;
    p->lx.depth = 0;
    advance(p);
}

/* The number of arguments D takes, for messages: "1 argument", "2 to 3
   arguments". */
static const char *
takes(parser *p, const function_def *d)
{
    text t;
    text_init(&t, p->err_pool);
    if (d->nrequired < d->nparams)
        text_printf(&t, "%d to ", d->nrequired);
    text_printf(&t, "%d argument%s", d->nparams, d->nparams == 1 ? "" : "s");
    return text_str(&t);
}

/* The index of D's parameter named T, or -1. */
static int
param_index(const parser *p, const function_def *d, token t)
{
    for (int i = 0; i < d->nparams; i++)
        if (d->param[i].name.len == t.len &&
            memcmp(p->src->text + d->param[i].name.offset, p->src->text + t.offset, t.len) == 0)
            return i;
    return -1;
}

/* The argument at the current token, into ARG (its value, size and depth). */
static void
parse_argument(parser *p, local *arg)
{
    measure m = measure_begin(p);
    arg->value = parse_expr(p);
    measure_end(p, m, arg);
}

/* The arguments of D's call at NAME, from its '(' on, into ARG (one per
   parameter, zeroed): positional, then NAME=value; a parameter left out
   has its default. */
static void
parse_arguments(parser *p, const function_def *d, token name, local *arg)
{
    char fname[64];
    tok_text(p, name, fname, sizeof fname);
    int def_line = line_of(p, d->def_offset);
    size_t open = p->tok.offset;
    expect(p, TOK_LPAREN, "'('");
    int npos = 0, keyword = 0;
    size_t extra = 0; /* the first argument too many */
    if (!accept(p, TOK_RPAREN)) {
        do {
            token key = p->tok;
            if (key.kind == TOK_IDENT) {
                lexer save = p->lx;
                token before = p->prev;
                advance(p);
                if (accept(p, TOK_ASSIGN)) {
                    int i = param_index(p, d, key);
                    char kname[64];
                    tok_text(p, key, kname, sizeof kname);
                    if (i < 0)
                        fail_at(p, key.offset, "%s() has no parameter '%s' (def at line %d)", fname,
                                kname, def_line);
                    if (arg[i].value != NULL)
                        fail_at(p, key.offset, "%s() is given '%s' twice", fname, kname);
                    parse_argument(p, &arg[i]);
                    keyword = 1;
                    continue;
                }
                p->lx = save; /* not a keyword: the name begins an expression */
                p->tok = key;
                p->prev = before;
            }
            if (keyword)
                fail_at(p, p->tok.offset, "positional argument after a keyword argument");
            if (npos == d->nparams && extra == 0)
                extra = p->tok.offset;
            if (npos < d->nparams)
                parse_argument(p, &arg[npos]);
            else
                parse_expr(p); /* one too many, counted for the message */
            npos++;
        } while (accept(p, TOK_COMMA));
        expect_close(p, TOK_RPAREN, open);
    }
    if (npos > d->nparams)
        fail_at(p, extra, "%s() takes %s, got %d (def at line %d)", fname, takes(p, d), npos,
                def_line);
    for (int i = 0; i < d->nparams; i++) {
        if (arg[i].value == NULL)
            arg[i] = d->param[i];
        arg[i].name = d->param[i].name;
        if (arg[i].value != NULL)
            continue;
        if (!keyword)
            fail_at(p, name.offset, "%s() takes %s, got %d (def at line %d)", fname, takes(p, d),
                    npos, def_line);
        fail_at(p, name.offset, "%s() is given no value for its parameter '%.*s' (def at line %d)",
                fname, (int)d->param[i].name.len, p->src->text + d->param[i].name.offset, def_line);
    }
}

/* NAME = expr, NAME op= expr or NAME[mask] = expr in the body of the call
   FR, after NAME: NAME is bound in FR to the value, and never becomes a
   name of the model. */
static void
local_assignment(parser *p, frame *fr, token name)
{
    char buf[64], fname[64];
    tok_text(p, name, buf, sizeof buf);
    tok_text(p, fr->def->name, fname, sizeof fname);
    if (unbindable(p, name))
        fail_at(p, name.offset, "'%s' cannot be assigned", buf);
    if (p->tok.kind == TOK_COMMA)
        fail_at(p, name.offset,
                "one name per assignment in the body of '%s', a function the file calls (a "
                "tuple of values cannot be inlined)",
                fname);
    local *l = find_local(p, name);
    assign_form form = {OP_COUNT, 0, NULL, name.offset};
    if (p->tok.kind == TOK_LBRACKET && l != NULL)
        parse_mask(p, &form);
    parse_augmented(p, &form);
    if (l == NULL && (form.aug != OP_COUNT || p->tok.kind == TOK_LBRACKET))
        fail_at(p, name.offset,
                "'%s' is changed before it is assigned in the body of '%s' (the names a "
                "function assigns are its own)",
                buf, fname);
    size_t rhs = p->tok.offset + p->tok.len;
    if (p->tok.kind == TOK_ASSIGN && collects_results(p, rhs))
        fail_at(p, name.offset,
                "a tuple or a dict in the body of '%s', a function the file calls: only the "
                "one value it returns is read",
                fname);
    expect(p, TOK_ASSIGN, "'='");
    /* NAME op= e and NAME[mask] = e use NAME's old value, written out */
    if (l != NULL && (form.aug != OP_COUNT || form.mask != NULL))
        use_local(p, name, l);
    local value;
    measure m = measure_begin(p);
    value.value = assigned_value(p, l != NULL ? l->value : NULL, &form, parse_expr(p));
    measure_end(p, m, &value);
    if (l != NULL && (form.aug != OP_COUNT || form.mask != NULL)) { /* (old) op (e) */
        value.size += l->size;
        value.depth = 2 + (value.depth > l->depth ? value.depth : l->depth);
    }
    if (l == NULL) {
        if (fr->nlocals == PARSE_MAX_LOCALS)
            fail_cap(p, name.offset,
                     "more than %d names in the body of '%s' (the cap, "
                     "PARSE_MAX_LOCALS)",
                     PARSE_MAX_LOCALS, fname);
        if (fr->nlocals == fr->cap) {
            fr->cap *= 2;
            fr->locals = mem_realloc(p->m->pool, fr->locals, (size_t)fr->cap * sizeof *fr->locals);
        }
        l = &fr->locals[fr->nlocals++];
    }
    value.name = name;
    *l = value;
    end_of_statement(p, "the expression");
}

static void skip_string_statement(parser *p, token t);
static int skip_python(parser *p, token t);
static void refuse_control_flow(parser *p, token t);

/* One statement of the body of the call FR, at the current token: a name
   assigned (local_assignment), Python that computes nothing (skipped), or
   'return EXPR', whose value it returns; NULL for the others. */
static const term *
body_statement(parser *p, frame *fr)
{
    token t = p->tok;
    char fname[64];
    tok_text(p, fr->def->name, fname, sizeof fname);
    if (t.kind == TOK_NEWLINE) {
        advance(p);
        return NULL;
    }
    if (t.kind == TOK_STRING) {
        skip_string_statement(p, t);
        return NULL;
    }
    if (is_word(p, t, "return")) {
        advance(p);
        if (p->tok.kind == TOK_NEWLINE || p->tok.kind == TOK_EOF)
            fail_at(p, t.offset, "'%s' returns no value; expected 'return EXPR'", fname);
        const term *v = parse_expr(p);
        if (p->tok.kind == TOK_COMMA)
            fail_at(p, p->tok.offset,
                    "'%s' returns more than one value; a function the file calls must return "
                    "one value (write the others' lines in place)",
                    fname);
        end_of_statement(p, "the returned value");
        return v;
    }
    if (is_word(p, t, "def"))
        fail_at(p, t.offset, "a def inside the body of '%s': define each function at the top level",
                fname);
    refuse_control_flow(p, t);
    if (skip_python(p, t))
        return NULL;
    if (t.kind != TOK_IDENT) {
        char buf[96];
        fail_at(p, t.offset, "expected an assignment or a return in the body of '%s', found %s",
                fname, found(p, t, buf, sizeof buf));
    }
    advance(p);
    local_assignment(p, fr, t);
    return NULL;
}

/* D's call at NAME, with its arguments after NAME: the value D's body
   returns, read with D's parameters bound to the arguments and the body's
   own names shadowing the model's. Refused: recursion, calls inside calls
   more than PARSE_MAX_CALL_DEPTH deep, and a body that would take the
   bytes read by all calls past PARSE_MAX_INLINED (checked before it is
   read, so that calls that call a function twice, level upon level, stop
   early). */
static const term *
inline_call(parser *p, const function_def *d, token name)
{
    char fname[64];
    tok_text(p, name, fname, sizeof fname);
    int depth = 0;
    for (const frame *f = p->frame; f != NULL; f = f->outer, depth++)
        if (f->def == d && f == p->frame)
            fail_at(p, name.offset, "'%s' calls itself: a recursive function cannot be inlined",
                    fname);
        else if (f->def == d)
            fail_at(p, name.offset,
                    "'%s' calls itself, through '%.*s': a recursive function cannot be inlined",
                    fname, (int)p->frame->def->name.len, p->src->text + p->frame->def->name.offset);
    if (depth == PARSE_MAX_CALL_DEPTH)
        fail_cap(p, name.offset,
                 "calls of the file's own functions nested more than %d levels deep (the cap, "
                 "PARSE_MAX_CALL_DEPTH)",
                 PARSE_MAX_CALL_DEPTH);
    frame fr = {d, name.offset, NULL, d->nparams, d->nparams + 8, p->frame};
    fr.locals = mem_zalloc(p->m->pool, (size_t)fr.cap * sizeof *fr.locals);
    parse_arguments(p, d, name, fr.locals);
    size_t size = d->body_end - d->body;
    if (size > PARSE_MAX_INLINED - p->inlined)
        fail_cap(p, name.offset,
                 "the calls of the file's own functions read more than the cap of %d KiB of "
                 "their bodies (PARSE_MAX_INLINED); each call reads its function's body again",
                 PARSE_MAX_INLINED >> 10);
    p->inlined += size;
    lexer lx = p->lx;
    token tok = p->tok, prev = p->prev;
    p->frame = &fr;
    p->lx.pos = d->body;
    p->lx.depth = 0;
    advance(p);
    const term *value = NULL;
    while (value == NULL && p->tok.kind != TOK_EOF && p->tok.offset < d->body_end)
        value = body_statement(p, &fr);
    if (value == NULL)
        fail_at(p, d->name.offset,
                "'%s' returns no value; expected a line 'return EXPR' in its body", fname);
    p->frame = fr.outer;
    mem_release(p->m->pool, fr.locals);
    p->lx = lx;
    p->tok = tok;
    p->prev = prev;
    return value;
}

/* Skip the statement at T when it is one of Python's that compute nothing
   (python_skipped, np.random.seed(1)): returns 1; else 0. */
static int
skip_python(parser *p, token t)
{
    for (size_t i = 0; i < sizeof python_skipped / sizeof python_skipped[0]; i++)
        if (is_word(p, t, python_skipped[i])) {
            skip_statement(p, t.offset + t.len);
            return 1;
        }
    if (is_word(p, t, "np") && random_draw(p, t.offset)) { /* np.random.seed(1) */
        skip_statement(p, t.offset + t.len);
        return 1;
    }
    return 0;
}

/* Refuse the statement at T when it is Python control flow. */
static void
refuse_control_flow(parser *p, token t)
{
    for (size_t i = 0; i < sizeof python_refused / sizeof python_refused[0]; i++)
        if (is_word(p, t, python_refused[i]))
            fail_at(p, t.offset,
                    "'%s' is Python control flow, which a derivation does not follow: unroll "
                    "loops into one line per layer, and keep the lines of the branch that runs",
                    python_refused[i]);
}

/* A statement of pasted Python that starts with T: skipped (returns 1),
   refused, or none of these (returns 0). The def of a function the
   language has is skipped with its body; that of a function the file
   calls is recorded (record_function); any other def line is skipped, and
   its body read as lines of the derivation. */
static int
python_statement(parser *p, token t)
{
    if (is_word(p, t, "def")) {
        token name = def_name(p, t);
        const struct function *f = find_function(p, name);
        if (f != NULL && (f->kind == FN_UNARY || f->kind == FN_SOFTMAX)) {
            skip_function_body(p, t);
            return 1;
        }
        if (f == NULL && name.kind == TOK_IDENT && called_outside(p, t, name)) {
            record_function(p, t);
            return 1;
        }
    }
    if (skip_python(p, t))
        return 1;
    refuse_control_flow(p, t);
    return 0;
}

/* (Z1, D1, A1) = cache, or Z1, A1 = cache, starting at T: unpacking the
   values a forward pass kept. Each name must be one the model has; the
   statement then changes nothing. Returns 0 when the statement is not an
   unpacking. */
static int
unpacking(parser *p, token t)
{
    const char *s = p->src->text;
    size_t n = p->src->len, start[TUPLE_MAX], len[TUPLE_MAX], end;
    if (t.kind != TOK_LPAREN && !(t.kind == TOK_IDENT && next_byte(p, t.offset + t.len) == ','))
        return 0;
    int count = list_names(p, t.offset + (t.kind == TOK_LPAREN), start, len, TUPLE_MAX, &end);
    size_t eq = end + (end < n && s[end] == ')');
    while (eq < n && (s[eq] == ' ' || s[eq] == '\t'))
        eq++;
    if (eq >= n || s[eq] != '=' || (eq + 1 < n && s[eq + 1] == '='))
        return 0;
    /* the right side: a tuple remembered, or values the model has */
    size_t r = eq + 1;
    while (r < n && (s[r] == ' ' || s[r] == '\t'))
        r++;
    size_t rl = 0;
    while (r + rl < n && (isalnum((unsigned char)s[r + rl]) || s[r + rl] == '_'))
        rl++;
    const struct tuple *tu = NULL;
    for (size_t k = 0; k < p->ntuples && rl > 0; k++)
        if (strlen(p->tuples[k].name) == rl && memcmp(p->tuples[k].name, s + r, rl) == 0)
            tu = &p->tuples[k];
    if (rl > 0 && next_byte(p, r + rl) == '(')
        fail_at(p, r,
                "the results of a call to '%.*s' cannot be unpacked: paste the lines of the "
                "function's body, with its names",
                (int)rl, s + r);
    for (int i = 0; i < count; i++) {
        if (len[i] == 0)
            fail_at(p, start[i], "only names may be unpacked");
        const symbol *have = model_lookup(p->m, s + start[i], len[i]);
        const symbol *item = tu != NULL && tu->n == count ? tu->item[i] : NULL;
        if (have == NULL && item != NULL) /* cache = (z1, a1); (Z1, A1) = cache */
            model_add_alias(p->m, s + start[i], len[i], item);
        else if (have == NULL)
            fail_at(p, start[i],
                    "unpacking '%.*s', which the model does not have: declare or define it",
                    (int)len[i], s + start[i]);
        else if (item != NULL && model_current(have) != item)
            fail_at(p, start[i], "unpacking '%.*s' gives it the value of '%s', another value",
                    (int)len[i], s + start[i], item->name);
    }
    skip_statement(p, eq + 1);
    return 1;
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
        if (text_edit_distance(buf, strlen(buf), statements[i], strlen(statements[i])) <= 2)
            fail_at(p, t.offset, "unknown statement '%s'; did you mean '%s'?", buf, statements[i]);
    char found_buf[96];
    fail_at(p, p->tok.offset,
            "expected '=' after '%s' (a definition is NAME = expression), "
            "found %s",
            buf, found(p, p->tok, found_buf, sizeof found_buf));
}

/* A docstring or another string on a line by itself, which computes
   nothing: skipped, a triple-quoted one to its closing quotes. */
static void
skip_string_statement(parser *p, token t)
{
    const char *s = p->src->text;
    size_t n = p->src->len, i = t.offset;
    if (i + 2 < n && s[i + 1] == s[i] && s[i + 2] == s[i]) {
        char q = s[i];
        for (i += 3; i + 2 < n && !(s[i] == q && s[i + 1] == q && s[i + 2] == q); i++)
            ;
        if (i + 2 >= n)
            fail_at(p, t.offset, "a docstring is never closed");
        skip_statement(p, i + 3);
        return;
    }
    skip_statement(p, t.offset + t.len);
}

static void
parse_statement(parser *p)
{
    token t = p->tok;
    if (t.kind == TOK_NEWLINE) {
        advance(p);
        return;
    }
    if (t.kind == TOK_STRING && !p->rule_mode) {
        skip_string_statement(p, t);
        return;
    }
    if (!p->rule_mode && (python_statement(p, t) || unpacking(p, t)))
        return;
    if (t.kind != TOK_IDENT) {
        char buf[96];
        fail_at(p, t.offset, "expected a declaration or a definition, found %s",
                found(p, t, buf, sizeof buf));
    }
    p->statements++;
    advance(p);
    int assigns =
        p->tok.kind == TOK_ASSIGN || p->tok.kind == TOK_LBRACKET ||
        ((p->tok.kind == TOK_PLUS || p->tok.kind == TOK_MINUS || p->tok.kind == TOK_STAR ||
          p->tok.kind == TOK_SLASH || p->tok.kind == TOK_POW) &&
         p->tok.offset + p->tok.len < p->src->len &&
         p->src->text[p->tok.offset + p->tok.len] == '=');
    if (assigns && !is_keyword(p, t))
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

/* "loss NAME": the loss is NAME's last assignment, made a scalar (a (1, 1)
   value's one entry, as a new version when it is not one already). */
static void
declared_loss(parser *p)
{
    token name = p->loss_name;
    const symbol *s = model_lookup(p->m, p->src->text + name.offset, name.len);
    char buf[64];
    if (s == NULL || model_current(s)->kind != SYM_DEF)
        fail_at(p, name.offset, "the loss '%s' is never assigned: expected a line '%s = ...'",
                tok_text(p, name, buf, sizeof buf), buf);
    symbol *last = model_current(s);
    if (!shape_is_scalar(&last->shape)) {
        symbol *one = new_version(p, last, name);
        one->definition = scalar_loss(p, last->name, term_symbol(p->m->terms, last), last->offset);
        one->offset = last->offset;
        link_version(p, one);
        last = one;
    }
    last->shape = shape_scalar;
    const symbol *first = last;
    while (first->earlier != NULL)
        first = first->earlier;
    last->name = first->name; /* cost = np.squeeze(cost): the loss is cost, not cost' */
    for (size_t i = 0; i < p->m->nsymbols; i++) {
        const symbol *c = p->m->symbols[i];
        for (const symbol *v = last; c->kind == SYM_CLAIM && v != NULL; v = v->earlier)
            if (c->target == v)
                fail_at(p, c->offset,
                        "'%s' claims the loss's gradient with respect to itself, "
                        "which is 1",
                        c->name);
    }
    p->m->loss = last;
}

static void
parse_file(parser *p)
{
    if (p->src->len > PARSE_MAX_BYTES)
        fail_cap(p, 0, "the file is larger than the cap of %d MiB", PARSE_MAX_BYTES >> 20);
    advance(p);
    while (p->tok.kind != TOK_EOF)
        parse_statement(p);
    const symbol *cost = model_lookup(p->m, "cost", 4);
    if (!p->loss_declared && p->m->loss == NULL && cost != NULL && cost->kind == SYM_DEF) {
        /* the course's code computes its loss as cost, without naming it a
           loss: 'loss cost' is understood */
        p->loss_name = (token){TOK_IDENT, cost->offset, 4};
        p->loss_declared = 1;
    }
    if (p->loss_declared)
        declared_loss(p);
    if (p->statements == 0)
        fail_at(p, p->tok.offset,
                "the file has no model: expected declarations and a "
                "'loss J = ...' line");
    if (p->m->loss == NULL)
        fail_at(p, end_of_last_line(p),
                "the model has no loss: expected a 'loss J = ...' line (or a 'loss NAME' line "
                "naming the value pasted code computes as its loss; 'cost' is one by itself)");
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
