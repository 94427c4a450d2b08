/* lex.h: the tokens of the .dc language (also used for rule files). */
#ifndef DC_LEX_H
#define DC_LEX_H

#include <gmp.h>
#include <stddef.h>

#include "base/diag.h"

typedef enum token_kind {
    TOK_EOF,
    TOK_NEWLINE, /* ends a statement; not produced inside ( ) or [ ] */
    TOK_IDENT,
    TOK_NUMBER, /* 12, 1., 0.5, .5, 1e-3: an exact rational */
    TOK_PLUS,
    TOK_MINUS,
    TOK_STAR,
    TOK_SLASH,
    TOK_AT,
    TOK_POW, /* ** or ^ */
    TOK_LPAREN,
    TOK_RPAREN,
    TOK_LBRACKET,
    TOK_RBRACKET,
    TOK_COMMA,
    TOK_ASSIGN,
    TOK_DOT,
    TOK_COLON,
    TOK_GT,
    TOK_LT,
    TOK_GE,
    TOK_LE,
    TOK_ARROW,  /* => */
    TOK_STRING, /* 'W1' or "W1": a key of pasted Python (parameters["W1"]), on one line */
    TOK_ERROR   /* a byte the language does not have; lex_error says why */
} token_kind;

typedef struct token {
    token_kind kind;
    size_t offset; /* of its first byte in the source */
    size_t len;
} token;

typedef struct lexer {
    const source *src;
    size_t pos;
    int depth;         /* open ( and [: newlines inside them do not end statements */
    const char *error; /* the message of the last TOK_ERROR */
    char message[48];  /* room for a message naming the character */
} lexer;

void lex_init(lexer *lx, const source *src);
/* The next token. Comments (# to end of line) and a backslash before a
   newline are skipped. */
token lex_next(lexer *lx);
/* A short description of a token for "expected X, found Y" messages. */
const char *lex_describe(token_kind kind);

/* What lex_decimal read. */
typedef enum lex_decimal_status {
    LEX_DECIMAL_OK,
    LEX_DECIMAL_MALFORMED, /* not a decimal */
    LEX_DECIMAL_HUGE,      /* its exponent is beyond the cap */
} lex_decimal_status;

/* Read S[0..N) as an exact rational into Q: a decimal
   [+-]digits[.digits][(e|E)[+-]digits], with digits on at least one side of
   the point (a number token is one: 12, 1., .5, 1e-3). The decimal exponent
   written is capped: beyond MAX_EXPONENT either way the result is
   LEX_DECIMAL_HUGE. Q is set only on LEX_DECIMAL_OK; Z is scratch. The
   digits are copied into POOL for GMP and released before the return; an
   allocation failure jumps to POOL's on_oom target. */
lex_decimal_status lex_decimal(mpq_t q, mpz_t z, mem_pool *pool, const char *s, size_t n,
                               long max_exponent);

#endif
