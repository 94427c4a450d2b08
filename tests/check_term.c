/* check_term.c: hash-consing of terms and the shape of every operator. */
#include <check.h>
#include <stdlib.h>
#include <string.h>

#include "lang/term.h"
#include "testutil.h"

static term_table *tab;
static symbol n_x = {.name = "n_x", .kind = SYM_DIM};
static symbol n_h = {.name = "n_h", .kind = SYM_DIM};
static symbol n_y = {.name = "n_y", .kind = SYM_DIM, .value = 1};
static symbol m = {.name = "m", .kind = SYM_BATCH};

static void
setup(void)
{
    tu_setup();
    tab = term_table_new(tu_pool);
}

static void
teardown(void)
{
    term_table_free(tab);
    tu_teardown();
}

/* A matrix-valued input symbol of the given shape. */
static const term *
matrix(const char *name, dim rows, dim cols)
{
    symbol *s = mem_zalloc(tu_pool, sizeof *s);
    s->name = name;
    s->kind = SYM_INPUT;
    s->shape.rank = 2;
    s->shape.d[0] = rows;
    s->shape.d[1] = cols;
    return term_symbol(tab, s);
}

static const term *
vector(const char *name, dim n)
{
    symbol *s = mem_zalloc(tu_pool, sizeof *s);
    s->name = name;
    s->kind = SYM_INPUT;
    s->shape.rank = 1;
    s->shape.d[0] = n;
    return term_symbol(tab, s);
}

static const term *
op2(term_op op, const term *a, const term *b, char *why)
{
    const term *args[2] = {a, b};
    return term_make(tab, op, 0, 0, args, 2, why);
}

static const term *
op1(term_op op, int aux, int keepdims, const term *a, char *why)
{
    return term_make(tab, op, aux, keepdims, &a, 1, why);
}

/* Assert that T has shape S, printed as the reference spelling. */
static void
assert_shape(const term *t, const char *expected)
{
    ck_assert_ptr_nonnull(t);
    text out;
    text_init(&out, tu_pool);
    shape_print(&out, &t->shape);
    ck_assert_str_eq(text_str(&out), expected);
}

static dim
D(symbol *s)
{
    return dim_symbol(s);
}

START_TEST(equal_terms_are_one_pointer)
{
    char why[SHAPE_WHY];
    const term *X = matrix("X", D(&n_x), D(&m));
    const term *W = matrix("W", D(&n_h), D(&n_x));
    const term *a = op2(OP_MATMUL, W, X, why);
    const term *b = op2(OP_MATMUL, W, X, why);
    ck_assert_ptr_eq(a, b);
    ck_assert_ptr_eq(op1(OP_TANH, 0, 0, a, why), op1(OP_TANH, 0, 0, b, why));
    ck_assert_ptr_ne(op1(OP_TANH, 0, 0, a, why), op1(OP_SIGMOID, 0, 0, a, why));
    /* the axis and keepdims are part of a term's identity */
    ck_assert_ptr_ne(op1(OP_SUM, 0, 0, a, why), op1(OP_SUM, 1, 0, a, why));
    ck_assert_ptr_ne(op1(OP_SUM, 1, 1, a, why), op1(OP_SUM, 1, 0, a, why));
    size_t before = term_table_count(tab);
    op2(OP_MATMUL, W, X, why);
    ck_assert_uint_eq(term_table_count(tab), before);
}
END_TEST

START_TEST(constants_are_canonical_rationals)
{
    char why[SHAPE_WHY];
    ck_assert_ptr_eq(term_const_si(tab, 1, 2), term_const_si(tab, 2, 4));
    ck_assert_ptr_eq(term_const_si(tab, -3, 6), term_const_si(tab, -1, 2));
    ck_assert_ptr_ne(term_const_si(tab, 1, 2), term_const_si(tab, -1, 2));
    /* -c and c1/c2 fold, so a literal is one term however it is written */
    ck_assert_ptr_eq(op1(OP_NEG, 0, 0, term_const_si(tab, 1, 3), why), term_const_si(tab, -1, 3));
    ck_assert_ptr_eq(op2(OP_DIV, term_const_si(tab, 1, 1), term_const_si(tab, 4, 1), why),
                     term_const_si(tab, 1, 4));
    /* division by the constant 0 is kept as written, not folded */
    const term *z = op2(OP_DIV, term_const_si(tab, 1, 1), term_const_si(tab, 0, 1), why);
    ck_assert_int_eq(z->op, OP_DIV);
    /* big numbers hash and compare by value */
    mpq_t big;
    mpq_init(big);
    mpq_set_str(big, "123456789012345678901234567890/7", 10);
    mpq_canonicalize(big);
    const term *b1 = term_const(tab, big);
    mpq_set_str(big, "246913578024691357802469135780/14", 10);
    mpq_canonicalize(big);
    ck_assert_ptr_eq(term_const(tab, big), b1);
    mpq_clear(big);
}
END_TEST

START_TEST(matmul_shapes)
{
    char why[SHAPE_WHY];
    const term *W2 = matrix("W2", D(&n_y), D(&n_h));
    const term *A1 = matrix("A1", D(&n_h), D(&m));
    const term *Y = matrix("Y", D(&n_y), D(&m));
    assert_shape(op2(OP_MATMUL, W2, A1, why), "[n_y, m]");
    ck_assert_ptr_null(op2(OP_MATMUL, W2, Y, why));
    ck_assert_str_eq(why, "[n_y, n_h] @ [n_y, m]: inner dims n_h and n_y differ");
    const term *v = vector("v", D(&n_h));
    assert_shape(op2(OP_MATMUL, v, A1, why), "[m]");
    assert_shape(op2(OP_MATMUL, W2, v, why), "[n_y]");
    assert_shape(op2(OP_MATMUL, v, v, why), "scalar");
    ck_assert_ptr_null(op2(OP_MATMUL, term_const_si(tab, 2, 1), A1, why));
    ck_assert_str_eq(why, "scalar @ [n_h, m]: matrix product of a scalar (use * to scale)");
}
END_TEST

START_TEST(broadcasting_over_symbolic_dims)
{
    char why[SHAPE_WHY];
    const term *Z = matrix("Z", D(&n_h), D(&m));
    const term *b = matrix("b", D(&n_h), dim_literal(1));
    const term *row = matrix("r", dim_literal(1), D(&m));
    const term *c = term_const_si(tab, 1, 1);
    assert_shape(op2(OP_ADD, Z, b, why), "[n_h, m]");
    assert_shape(op2(OP_ADD, b, Z, why), "[n_h, m]");
    assert_shape(op2(OP_MUL, b, row, why), "[n_h, m]");
    assert_shape(op2(OP_DIV, c, Z, why), "[n_h, m]");
    assert_shape(op2(OP_POW, Z, term_const_si(tab, 2, 1), why), "[n_h, m]");
    /* a 1-D [m] lines up with the trailing axis */
    assert_shape(op2(OP_ADD, Z, vector("u", D(&m)), why), "[n_h, m]");
    ck_assert_ptr_null(op2(OP_ADD, Z, vector("w", D(&n_h)), why));
    ck_assert_str_eq(why, "[n_h, m] + [n_h]: dims m and n_h cannot broadcast");
    /* n_y is symbolic: it never broadcasts, whatever its numeric seed (1) */
    const term *Y = matrix("Y", D(&n_y), D(&m));
    ck_assert_ptr_null(op2(OP_ADD, Y, Z, why));
    ck_assert_str_eq(why, "[n_y, m] + [n_h, m]: dims n_y and n_h cannot broadcast");
    assert_shape(op2(OP_ADD, Y, row, why), "[n_y, m]");
    ck_assert_ptr_null(op2(OP_MUL, matrix("by", D(&n_y), dim_literal(1)), b, why));
    ck_assert_str_eq(why, "[n_y, 1] * [n_h, 1]: dims n_y and n_h cannot broadcast");
    /* comparisons broadcast too */
    const term *args[2] = {Z, term_const_si(tab, 0, 1)};
    assert_shape(term_make(tab, OP_STEP, 0, 0, args, 2, why), "[n_h, m]");
}
END_TEST

START_TEST(transpose_sum_softmax_shapes)
{
    char why[SHAPE_WHY];
    const term *Z = matrix("Z", D(&n_h), D(&m));
    assert_shape(op1(OP_TRANSPOSE, 0, 0, Z, why), "[m, n_h]");
    assert_shape(op1(OP_TRANSPOSE, 0, 0, vector("v", D(&n_h)), why), "[n_h]");
    assert_shape(op1(OP_SUM, -1, 0, Z, why), "scalar");
    assert_shape(op1(OP_SUM, -1, 1, Z, why), "[1, 1]");
    assert_shape(op1(OP_SUM, 0, 0, Z, why), "[m]");
    assert_shape(op1(OP_SUM, 0, 1, Z, why), "[1, m]");
    assert_shape(op1(OP_SUM, 1, 0, Z, why), "[n_h]");
    assert_shape(op1(OP_SUM, 1, 1, Z, why), "[n_h, 1]");
    const term *v = op1(OP_SUM, 1, 0, Z, why);
    assert_shape(op1(OP_SUM, 0, 0, v, why), "scalar");
    ck_assert_ptr_null(op1(OP_SUM, 1, 0, v, why));
    ck_assert_str_eq(why, "sum over axis 1 of [n_h]: the axis is out of bounds");
    assert_shape(op1(OP_SOFTMAX, 0, 0, Z, why), "[n_h, m]");
    assert_shape(op1(OP_EXP, 0, 0, Z, why), "[n_h, m]");
    assert_shape(op1(OP_RELU, 0, 0, Z, why), "[n_h, m]");
    assert_shape(op1(OP_NEG, 0, 0, Z, why), "[n_h, m]");
}
END_TEST

/* The NumPy functions of pasted code: maximum and minimum broadcast as
   any elementwise operation, abs, sqrt and log1p keep the shape, max
   reduces as sum does. */
START_TEST(numpy_function_shapes)
{
    char why[SHAPE_WHY];
    const term *Z = matrix("Z", D(&n_h), D(&m));
    const term *b = matrix("b", D(&n_h), dim_literal(1));
    assert_shape(op2(OP_MAXIMUM, Z, b, why), "[n_h, m]");
    assert_shape(op2(OP_MINIMUM, b, term_const_si(tab, 1, 2), why), "[n_h, 1]");
    ck_assert_ptr_null(op2(OP_MAXIMUM, Z, matrix("W", D(&n_x), D(&m)), why));
    ck_assert_str_eq(why, "[n_h, m] maximum [n_x, m]: dims n_h and n_x cannot broadcast");
    assert_shape(op1(OP_ABS, 0, 0, Z, why), "[n_h, m]");
    assert_shape(op1(OP_SQRT, 0, 0, b, why), "[n_h, 1]");
    assert_shape(op1(OP_LOG1P, 0, 0, Z, why), "[n_h, m]");
    assert_shape(op1(OP_MAX, -1, 0, Z, why), "scalar");
    assert_shape(op1(OP_MAX, 0, 0, Z, why), "[m]");
    assert_shape(op1(OP_MAX, 1, 1, Z, why), "[n_h, 1]");
    assert_shape(op1(OP_MAX, -1, 1, Z, why), "[1, 1]");
    ck_assert_str_eq(term_op_name(OP_MAX), "max");
    ck_assert_str_eq(term_op_name(OP_LOG1P), "log1p");
}
END_TEST

START_TEST(dims_used_as_values_are_scalars)
{
    const term *mt = term_symbol(tab, &m);
    assert_shape(mt, "scalar");
    ck_assert_ptr_eq(mt, term_symbol(tab, &m));
}
END_TEST

/* A table layered over another finds the base's terms as they are, makes
   the others itself (constants included), and leaves the base unchanged:
   freeing the layer's pool leaves every base term whole. */
START_TEST(a_layer_over_a_table)
{
    char why[SHAPE_WHY];
    const term *X = matrix("X", D(&n_x), D(&m));
    const term *W = matrix("W", D(&n_h), D(&n_x));
    const term *WX = op2(OP_MATMUL, W, X, why);
    const term *half = term_const_si(tab, 1, 2);
    size_t base_count = term_table_count(tab);
    long long base_bytes = mem_bytes_in_use();

    /* as in a call: the layer's GMP numbers are its pool's (mem.h) */
    mem_pool *call = mem_pool_new();
    mem_pool *gmp_outer = mem_gmp_pool(call);
    term_table *layer = term_table_new_over(tab, call);
    ck_assert_uint_eq(term_table_count(layer), base_count);
    /* the base's terms, found through the layer */
    const term *args[2] = {W, X};
    ck_assert_ptr_eq(term_make(layer, OP_MATMUL, 0, 0, args, 2, why), WX);
    ck_assert_ptr_eq(term_const_si(layer, 2, 4), half);
    ck_assert_ptr_eq(term_symbol(layer, X->sym), X);
    /* new ones are the layer's, and one pointer each */
    const term *t = term_make(layer, OP_TANH, 0, 0, &WX, 1, why);
    ck_assert_ptr_eq(term_make(layer, OP_TANH, 0, 0, &WX, 1, why), t);
    const term *third = term_const_si(layer, 1, 3);
    ck_assert_ptr_eq(term_const_si(layer, 2, 6), third);
    const term *big = NULL;
    for (long k = 0; k < 2000; k++) /* enough to grow the layer's buckets */
        big = term_const_si(layer, k, 7);
    ck_assert_ptr_eq(term_const_si(layer, 1999, 7), big);
    ck_assert_uint_eq(term_table_count(layer), base_count + 2 + 2000);
    mem_gmp_pool(gmp_outer);
    /* the base did not change */
    ck_assert_uint_eq(term_table_count(tab), base_count);
    ck_assert_ptr_ne(term_make(tab, OP_TANH, 0, 0, &WX, 1, why), NULL);
    ck_assert_uint_eq(term_table_count(tab), base_count + 1);
    /* the layer's terms and numbers go with its pool */
    mem_pool_free(call);
    ck_assert(mpq_cmp_si(half->value, 1, 2) == 0);
    ck_assert_ptr_eq(op2(OP_MATMUL, W, X, why), WX);
    ck_assert_int_gt(mem_bytes_in_use(), base_bytes); /* the tanh made in the base */
}
END_TEST

int
main(void)
{
    Suite *s = suite_create("term");
    TCase *tc = tcase_create("terms");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_test(tc, equal_terms_are_one_pointer);
    tcase_add_test(tc, constants_are_canonical_rationals);
    tcase_add_test(tc, matmul_shapes);
    tcase_add_test(tc, broadcasting_over_symbolic_dims);
    tcase_add_test(tc, transpose_sum_softmax_shapes);
    tcase_add_test(tc, numpy_function_shapes);
    tcase_add_test(tc, dims_used_as_values_are_scalars);
    tcase_add_test(tc, a_layer_over_a_table);
    suite_add_tcase(s, tc);
    return tu_run(s);
}
