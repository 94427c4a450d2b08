/* lex.c: the lexer of the .dc language; see lex.h. */
#include "lang/lex.h"

#include <ctype.h>
#include <stdio.h>
#include <string.h>

void
lex_init(lexer *lx, const source *src)
{
    lx->src = src;
    lx->pos = source_bom(src);
    lx->depth = 0;
    lx->error = NULL;
}

const char *
lex_describe(token_kind kind)
{
    switch (kind) {
    case TOK_EOF:
        return "end of file";
    case TOK_NEWLINE:
        return "end of line";
    case TOK_IDENT:
        return "a name";
    case TOK_NUMBER:
        return "a number";
    case TOK_PLUS:
        return "'+'";
    case TOK_MINUS:
        return "'-'";
    case TOK_STAR:
        return "'*'";
    case TOK_SLASH:
        return "'/'";
    case TOK_AT:
        return "'@'";
    case TOK_POW:
        return "'**'";
    case TOK_LPAREN:
        return "'('";
    case TOK_RPAREN:
        return "')'";
    case TOK_LBRACKET:
        return "'['";
    case TOK_RBRACKET:
        return "']'";
    case TOK_COMMA:
        return "','";
    case TOK_ASSIGN:
        return "'='";
    case TOK_DOT:
        return "'.'";
    case TOK_COLON:
        return "':'";
    case TOK_GT:
        return "'>'";
    case TOK_LT:
        return "'<'";
    case TOK_GE:
        return "'>='";
    case TOK_LE:
        return "'<='";
    case TOK_ARROW:
        return "'=>'";
    case TOK_STRING:
        return "a string";
    case TOK_ERROR:
        return "an invalid character";
    }
    return "a token";
}

static int
peek(const lexer *lx, size_t ahead)
{
    size_t i = lx->pos + ahead;
    return i < lx->src->len ? (unsigned char)lx->src->text[i] : -1;
}

/* Skip blanks, comments and escaped newlines; stop at a newline that ends a
   statement. */
static void
skip_space(lexer *lx)
{
    for (;;) {
        int c = peek(lx, 0);
        if (c == ' ' || c == '\t' || c == '\r' || c == '\f' || c == '\v')
            lx->pos++;
        else if (c == '#')
            while (peek(lx, 0) != -1 && peek(lx, 0) != '\n')
                lx->pos++;
        else if (c == '\\' && peek(lx, 1) == '\n')
            lx->pos += 2;
        else if (c == '\\' && peek(lx, 1) == '\r' && peek(lx, 2) == '\n')
            lx->pos += 3;
        else if (c == '\n' && lx->depth > 0)
            lx->pos++;
        else
            return;
    }
}

/* Digits, an optional fraction and an optional exponent. The parser turns
   the text into an exact rational. */
static void
scan_number(lexer *lx)
{
    while (isdigit(peek(lx, 0)))
        lx->pos++;
    if (peek(lx, 0) == '.' && !isalpha(peek(lx, 1)) && peek(lx, 1) != '_') {
        lx->pos++;
        while (isdigit(peek(lx, 0)))
            lx->pos++;
    }
    int e = peek(lx, 0);
    if (e == 'e' || e == 'E') {
        size_t sign = peek(lx, 1) == '+' || peek(lx, 1) == '-';
        if (isdigit(peek(lx, 1 + sign))) {
            lx->pos += 1 + sign;
            while (isdigit(peek(lx, 0)))
                lx->pos++;
        }
    }
}

token
lex_next(lexer *lx)
{
    skip_space(lx);
    token t = {TOK_EOF, lx->pos, 0};
    int c = peek(lx, 0);
    if (c == -1)
        return t;
    if (isalpha(c) || c == '_') {
        while (isalnum(peek(lx, 0)) || peek(lx, 0) == '_')
            lx->pos++;
        t.kind = TOK_IDENT;
    } else if (isdigit(c) || (c == '.' && isdigit(peek(lx, 1)))) {
        scan_number(lx);
        t.kind = TOK_NUMBER;
    } else {
        int d = peek(lx, 1);
        size_t n = 1;
        switch (c) {
        case '\n':
            t.kind = TOK_NEWLINE;
            break;
        case '+':
            t.kind = TOK_PLUS;
            break;
        case '-':
            t.kind = TOK_MINUS;
            break;
        case '*':
            t.kind = d == '*' ? TOK_POW : TOK_STAR;
            n = d == '*' ? 2 : 1;
            break;
        case '^':
            t.kind = TOK_POW;
            break;
        case '/':
            t.kind = TOK_SLASH;
            break;
        case '@':
            t.kind = TOK_AT;
            break;
        case '(':
            t.kind = TOK_LPAREN;
            lx->depth++;
            break;
        case '[':
            t.kind = TOK_LBRACKET;
            lx->depth++;
            break;
        case ')':
            t.kind = TOK_RPAREN;
            lx->depth -= lx->depth > 0;
            break;
        case ']':
            t.kind = TOK_RBRACKET;
            lx->depth -= lx->depth > 0;
            break;
        case ',':
            t.kind = TOK_COMMA;
            break;
        case '.':
            t.kind = TOK_DOT;
            break;
        case ':':
            t.kind = TOK_COLON;
            break;
        case '=':
            t.kind = d == '>' ? TOK_ARROW : TOK_ASSIGN;
            n = d == '>' ? 2 : 1;
            break;
        case '>':
            t.kind = d == '=' ? TOK_GE : TOK_GT;
            n = d == '=' ? 2 : 1;
            break;
        case '<':
            t.kind = d == '=' ? TOK_LE : TOK_LT;
            n = d == '=' ? 2 : 1;
            break;
        case '\'':
        case '"':
            while (peek(lx, n) != -1 && peek(lx, n) != '\n' && peek(lx, n) != c)
                n++;
            if (peek(lx, n) == c) {
                t.kind = TOK_STRING;
                n++;
            } else {
                t.kind = TOK_ERROR;
                lx->error = "a string is not closed on its line";
            }
            break;
        default:
            t.kind = TOK_ERROR;
            if (c == ';')
                lx->error = "unexpected ';': one statement per line";
            else if (c == '!')
                lx->error = "unexpected '!': the language has no negation or '!='";
            else if (c >= 0x20 && c < 0x7f) {
                snprintf(lx->message, sizeof lx->message, "unexpected character '%c'", c);
                lx->error = lx->message;
            } else if (c >= 0x80)
                lx->error = "unexpected non-ASCII byte outside a comment";
            else
                lx->error = "unexpected control byte (is this a text file?)";
            break;
        }
        lx->pos += n;
    }
    t.len = lx->pos - t.offset;
    return t;
}

/* The end of the run of decimal digits of S[I..N). */
static size_t
skip_digits(const char *s, size_t i, size_t n)
{
    while (i < n && s[i] >= '0' && s[i] <= '9')
        i++;
    return i;
}

lex_decimal_status
lex_decimal(mpq_t q, mpz_t z, mem_pool *pool, const char *s, size_t n, long max_exponent)
{
    size_t i = 0;
    int negative = 0;
    if (i < n && (s[i] == '+' || s[i] == '-'))
        negative = s[i++] == '-';
    size_t int_start = i, int_end = skip_digits(s, i, n);
    size_t frac_start = int_end, frac_end = int_end;
    i = int_end;
    if (i < n && s[i] == '.') {
        frac_start = i + 1;
        frac_end = i = skip_digits(s, frac_start, n);
    }
    if (int_end == int_start && frac_end == frac_start)
        return LEX_DECIMAL_MALFORMED;
    long exponent = 0;
    if (i < n && (s[i] == 'e' || s[i] == 'E')) {
        i++;
        int exp_negative = 0;
        if (i < n && (s[i] == '+' || s[i] == '-'))
            exp_negative = s[i++] == '-';
        size_t exp_start = i;
        for (; i < n && s[i] >= '0' && s[i] <= '9'; i++)
            if (exponent <= max_exponent) /* past the cap, more digits change nothing */
                exponent = exponent * 10 + (s[i] - '0');
        if (i == exp_start)
            return LEX_DECIMAL_MALFORMED;
        if (exponent > max_exponent)
            return LEX_DECIMAL_HUGE;
        if (exp_negative)
            exponent = -exponent;
    }
    if (i != n)
        return LEX_DECIMAL_MALFORMED;
    /* the digits without the point, as one integer; then times 10^scale */
    size_t nint = int_end - int_start, nfrac = frac_end - frac_start;
    char *digits = mem_alloc(pool, nint + nfrac + 1);
    memcpy(digits, s + int_start, nint);
    memcpy(digits + nint, s + frac_start, nfrac);
    digits[nint + nfrac] = '\0';
    mpz_set_str(mpq_numref(q), digits, 10);
    mem_release(pool, digits);
    mpz_set_ui(mpq_denref(q), 1);
    long scale = exponent - (long)nfrac;
    mpz_ui_pow_ui(z, 10, (unsigned long)(scale < 0 ? -scale : scale));
    if (scale >= 0)
        mpz_mul(mpq_numref(q), mpq_numref(q), z);
    else
        mpz_set(mpq_denref(q), z);
    mpq_canonicalize(q);
    if (negative)
        mpq_neg(q, q);
    return LEX_DECIMAL_OK;
}
