/* check_lex.c: the lexer, token by token. */
#include <check.h>
#include <stdlib.h>
#include <string.h>

#include "lang/lex.h"
#include "testutil.h"

/* Lex TEXT and compare the kinds (and the spelled text of each token) with
   the expected lists, which end at TOK_EOF. */
static void
expect_tokens(const char *textp, const token_kind *kinds, const char *const *spellings)
{
    source src = {"test", textp, strlen(textp)};
    lexer lx;
    lex_init(&lx, &src);
    for (size_t i = 0;; i++) {
        token t = lex_next(&lx);
        ck_assert_msg(t.kind == kinds[i], "'%s': token %zu is %s, expected %s", textp, i,
                      lex_describe(t.kind), lex_describe(kinds[i]));
        if (spellings != NULL && spellings[i] != NULL) {
            ck_assert_uint_eq(t.len, strlen(spellings[i]));
            ck_assert_int_eq(memcmp(textp + t.offset, spellings[i], t.len), 0);
        }
        if (kinds[i] == TOK_EOF)
            break;
    }
}

START_TEST(operators)
{
    static const token_kind k[] = {
        TOK_PLUS,   TOK_MINUS,  TOK_STAR,     TOK_SLASH,    TOK_AT,    TOK_POW,    TOK_POW,
        TOK_LPAREN, TOK_RPAREN, TOK_LBRACKET, TOK_RBRACKET, TOK_COMMA, TOK_ASSIGN, TOK_DOT,
        TOK_COLON,  TOK_GT,     TOK_LT,       TOK_GE,       TOK_LE,    TOK_ARROW,  TOK_EOF};
    static const char *const s[] = {"+", "-", "*", "/", "@", "**", "^",  "(",  ")",  "[", "]",
                                    ",", "=", ".", ":", ">", "<",  ">=", "<=", "=>", NULL};
    expect_tokens("+ - * / @ ** ^ ( ) [ ] , = . : > < >= <= =>", k, s);
}
END_TEST

START_TEST(numbers)
{
    static const token_kind k[] = {TOK_NUMBER, TOK_NUMBER, TOK_NUMBER, TOK_NUMBER,
                                   TOK_NUMBER, TOK_NUMBER, TOK_EOF};
    static const char *const s[] = {"12", "1.", "0.5", ".5", "1e-3", "2.5E+10", NULL};
    expect_tokens("12 1. 0.5 .5 1e-3 2.5E+10", k, s);
}
END_TEST

START_TEST(rational_literal_before_slash)
{
    /* 1./m is one over m, as NumPy code writes it */
    static const token_kind k[] = {TOK_NUMBER, TOK_SLASH, TOK_IDENT, TOK_EOF};
    static const char *const s[] = {"1.", "/", "m", NULL};
    expect_tokens("1./m", k, s);
}
END_TEST

START_TEST(transpose_and_np_prefix)
{
    static const token_kind k[] = {TOK_IDENT, TOK_DOT,    TOK_IDENT, TOK_IDENT,  TOK_DOT,
                                   TOK_IDENT, TOK_LPAREN, TOK_IDENT, TOK_RPAREN, TOK_EOF};
    static const char *const s[] = {"A1", ".", "T", "np", ".", "sum", "(", "x", ")", NULL};
    expect_tokens("A1.T np.sum(x)", k, s);
}
END_TEST

START_TEST(comments_and_newlines)
{
    static const token_kind k[] = {TOK_IDENT, TOK_NEWLINE, TOK_NEWLINE, TOK_IDENT, TOK_EOF};
    expect_tokens("a # comment with é and $\n# whole line\nb", k, NULL);
}
END_TEST

START_TEST(newlines_inside_brackets_and_continuations)
{
    /* a newline inside ( ) or [ ] or after a backslash does not end a statement */
    static const token_kind k[] = {TOK_IDENT,   TOK_LPAREN, TOK_IDENT, TOK_PLUS,
                                   TOK_IDENT,   TOK_RPAREN, TOK_PLUS,  TOK_IDENT,
                                   TOK_NEWLINE, TOK_IDENT,  TOK_EOF};
    expect_tokens("f(a\n+\nb) \\\n+ c\nd", k, NULL);
}
END_TEST

START_TEST(bad_characters)
{
    const char *cases[] = {"$", ";", "\x01", "\xc3\xa9", "!"};
    const char *messages[] = {"unexpected character '$'", "unexpected ';': one statement per line",
                              "unexpected control byte (is this a text file?)",
                              "unexpected non-ASCII byte outside a comment",
                              "unexpected '!': the language has no negation or '!='"};
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        source src = {"t", cases[i], strlen(cases[i])};
        lexer lx;
        lex_init(&lx, &src);
        token t = lex_next(&lx);
        ck_assert_int_eq(t.kind, TOK_ERROR);
        ck_assert_uint_eq(t.offset, 0);
        ck_assert_str_eq(lx.error, messages[i]);
    }
}
END_TEST

START_TEST(nul_byte_is_an_error_not_an_end)
{
    const char textp[] = "a\0b";
    source src = {"t", textp, 3};
    lexer lx;
    lex_init(&lx, &src);
    ck_assert_int_eq(lex_next(&lx).kind, TOK_IDENT);
    token t = lex_next(&lx);
    ck_assert_int_eq(t.kind, TOK_ERROR);
    ck_assert_uint_eq(t.offset, 1);
}
END_TEST

int
main(void)
{
    Suite *s = suite_create("lex");
    TCase *tc = tcase_create("tokens");
    tcase_add_test(tc, operators);
    tcase_add_test(tc, numbers);
    tcase_add_test(tc, rational_literal_before_slash);
    tcase_add_test(tc, transpose_and_np_prefix);
    tcase_add_test(tc, comments_and_newlines);
    tcase_add_test(tc, newlines_inside_brackets_and_continuations);
    tcase_add_test(tc, bad_characters);
    tcase_add_test(tc, nul_byte_is_an_error_not_an_end);
    suite_add_tcase(s, tc);
    return tu_run(s);
}
