/* lex.c: the lexer of the .dc language; see lex.h. */
#include "lang/lex.h"

#include <ctype.h>
#include <stdio.h>

void
lex_init(lexer *lx, const source *src)
{
    lx->src = src;
    lx->pos = 0;
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
