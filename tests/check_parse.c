/* check_parse.c: the parser on every construct, NumPy spellings, and the round trip. */
#include <check.h>
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "derivcheck.h"
#include "lang/parse.h"
#include "lang/print.h"
#include "sym/canon.h"
#include "out/mathml.h"
#include "testutil.h"

static const term *
def(const model *m, const char *name)
{
    return tu_symbol(m, name)->definition;
}

static const char spec_example[] = "# Ng's one-hidden-layer network, binary output\n"
                                   "dims n_x = 2, n_h = 4, n_y = 1   # symbolic sizes\n"
                                   "batch m = 8\n"
                                   "\n"
                                   "input X[n_x, m]\n"
                                   "label Y[n_y, m] binary\n"
                                   "param W1[n_h, n_x], b1[n_h, 1]\n"
                                   "param W2[n_y, n_h], b2[n_y, 1]\n"
                                   "\n"
                                   "Z1 = W1 @ X + b1\n"
                                   "A1 = tanh(Z1)\n"
                                   "Z2 = W2 @ A1 + b2\n"
                                   "A2 = sigmoid(Z2)\n"
                                   "loss J = -1/m * sum(Y * log(A2) + (1 - Y) * log(1 - A2))\n"
                                   "\n"
                                   "convention auto\n"
                                   "dZ2 = A2 - Y\n"
                                   "dW2 = 1/m * dZ2 @ A1.T\n"
                                   "db2 = 1/m * np.sum(dZ2, axis=1, keepdims=True)\n"
                                   "dZ1 = W2.T @ dZ2 * (1 - np.power(A1, 2))\n"
                                   "dW1 = 1/m * np.dot(dZ1, X.T)\n"
                                   "db1 = 1/m * np.sum(dZ1, axis=1, keepdims=True)\n";

START_TEST(spec_example_declarations)
{
    model *m = tu_parse_text("test.dc", spec_example);
    ck_assert_int_eq(tu_symbol(m, "n_x")->kind, SYM_DIM);
    ck_assert_int_eq(tu_symbol(m, "n_h")->value, 4);
    ck_assert_ptr_eq(m->batch, tu_symbol(m, "m"));
    ck_assert_int_eq(m->batch->value, 8);
    ck_assert_int_eq(tu_symbol(m, "X")->kind, SYM_INPUT);
    ck_assert_int_eq(tu_symbol(m, "Y")->kind, SYM_LABEL);
    ck_assert_int_eq(tu_symbol(m, "Y")->label, LABEL_BINARY);
    ck_assert_int_eq(tu_symbol(m, "b1")->kind, SYM_PARAM);
    ck_assert_ptr_eq(tu_symbol(m, "b1")->shape.d[0].sym, tu_symbol(m, "n_h"));
    ck_assert_int_eq(tu_symbol(m, "b1")->shape.d[1].n, 1);
    ck_assert_ptr_eq(m->loss, tu_symbol(m, "J"));
    ck_assert_int_eq(m->loss->definition->shape.rank, 0);
    ck_assert_int_eq(m->convention, CONVENTION_AUTO);
    ck_assert_int_eq(m->convention_given, 1);
    ck_assert_int_eq(tu_symbol(m, "dW2")->kind, SYM_CLAIM);
    ck_assert_ptr_eq(tu_symbol(m, "dW2")->target, tu_symbol(m, "W2"));
    ck_assert_ptr_eq(tu_symbol(m, "dZ1")->target, tu_symbol(m, "Z1"));
    /* a claim may use an earlier claim */
    const term *dW2 = def(m, "dW2");
    ck_assert_int_eq(dW2->op, OP_MATMUL);
    ck_assert_ptr_eq(dW2->args[0]->args[1]->sym, tu_symbol(m, "dZ2"));
    /* shapes of claims follow NumPy: keepdims keeps [n_h, 1] */
    ck_assert_int_eq(def(m, "db1")->shape.rank, 2);
    ck_assert_ptr_eq(def(m, "db1")->shape.d[0].sym, tu_symbol(m, "n_h"));
    model_free(m);
}
END_TEST

/* Each pair of definitions is one NumPy spelling and its normal form, which
   must give the very same term. */
static const char spellings[] =
    "dims n = 3, k = 2\n"
    "batch m = 4\n"
    "input X[n, m]\n"
    "param W[k, n], b[k, 1]\n"
    "Z = W @ X + b\n"
    "a1 = np.dot(W, X)\n            b1_ = W @ X\n"
    "a2 = W.dot(X)\n                b2_ = W @ X\n"
    "a3 = np.matmul(W, X)\n         b3_ = W @ X\n"
    "a4 = np.multiply(Z, Z)\n       b4_ = Z * Z\n"
    "a5 = np.power(Z, 2)\n          b5_ = Z ^ 2\n"
    "a6 = Z ** 2\n                  b6_ = Z ^ 2\n"
    "a7 = np.square(Z)\n            b7_ = Z ^ 2\n"
    "a8 = np.transpose(Z)\n         b8_ = Z.T\n"
    "a9 = np.sum(Z, axis=1, keepdims=True)\n  b9_ = Z.sum(axis=1, keepdims=True)\n"
    "a10 = np.sum(Z, 1, keepdims=True)\n      b10_ = sum(Z, axis=-1, keepdims=True)\n"
    "a11 = 1./m * Z\n               b11_ = 1/m * Z\n"
    "a12 = 0.5 * Z\n                b12_ = 1/2 * Z\n"
    "a13 = np.maximum(0, Z)\n       b13_ = relu(Z)\n"
    "a14 = np.maximum(Z, 0)\n       b14_ = relu(Z)\n"
    "a15 = (0 < Z)\n                b15_ = (Z > 0)\n"
    "a16 = -Z ** 2\n                b16_ = -(Z ^ 2)\n"
    "a17 = Z + Z * Z\n              b17_ = Z + (Z * Z)\n"
    "a18 = Z - Z - Z\n              b18_ = (Z - Z) - Z\n"
    "a19 = Z ** 3 ** 2\n            b19_ = Z ^ (3 ^ 2)\n"
    "a20 = np.divide(Z, 2)\n        b20_ = Z / 2\n"
    "a21 = 2.5e-1 * Z\n             b21_ = 1/4 * Z\n"
    "a22 = np.sum(Z, axis=None)\n   b22_ = sum(Z)\n"
    "a23 = softmax(Z)\n             b23_ = softmax(Z, axis=0)\n"
    "a24 = np.exp(Z) / np.sum(np.exp(Z), axis=0)\n  b24_ = exp(Z) / sum(exp(Z), axis=0)\n"
    "a25 = (Z\n  + b)\n             b25_ = Z + b\n"
    "a26 = Z - 3\n                  b26_ = Z + -3\n"
    "a27 = +Z\n                     b27_ = Z\n"
    "loss J = sum(Z)\n";

START_TEST(numpy_spellings_give_one_term)
{
    /* the statements above are two per line: split them */
    char *copy = strdup(spellings);
    for (char *p = copy; (p = strstr(p, "            ")) != NULL;)
        *p = '\n';
    for (char *p = copy; *p; p++)
        if (p[0] == '\n' && p[1] == ' ')
            p[1] = '\n';
    model *m = tu_parse_text("test.dc", copy);
    for (int i = 1; i <= 27; i++) {
        char a[8], b[8];
        snprintf(a, sizeof a, "a%d", i);
        snprintf(b, sizeof b, "b%d_", i);
        ck_assert_msg(def(m, a) == def(m, b), "%s and %s differ", a, b);
    }
    /* and different things stay different */
    ck_assert_ptr_ne(def(m, "a9"), def(m, "a22"));
    ck_assert_ptr_ne(def(m, "a15"), def(m, "a13"));
    model_free(m);
    free(copy);
}
END_TEST

/* Each pair: a construct of pasted notebook code and the normal form it
   denotes, written in the language's own notation; both must give the
   very same term. */
static const char pasted[] =
    "dims k = 2\n"
    "batch m = 4\n"
    "input X[k, m], M[k, m] binary\n"
    "param W[k, k], c11[1, 1]\n"
    "Z = W @ X\n"
    "a1 = np.mean(Z, axis=1, keepdims=True)\n   b1_ = sum(Z, axis=1, keepdims=True) / m\n"
    "a2 = Z.mean()\n                 b2_ = sum(Z) / (k * m)\n"
    "a3 = np.mean(Z, axis=0)\n       b3_ = sum(Z, axis=0) / k\n"
    "a4 = np.maximum(0.01 * Z, Z)\n  b4_ = maximum(1/100 * Z, Z)\n"
    "a5 = np.max(Z, axis=1, keepdims=True)\n   b5_ = Z.max(axis=-1, keepdims=True)\n"
    "a6 = np.min(Z)\n                b6_ = -max(-Z)\n"
    "a7 = np.where(Z > 0, Z, 0)\n    b7_ = (Z > 0) * Z\n"
    "a8 = np.where(Z > 0, Z, 0.01 * Z)\n   b8_ = (Z > 0) * Z + 1/100 * Z * (0 >= Z)\n"
    "a9 = np.clip(Z, 0, 1)\n         b9_ = minimum(relu(Z), 1)\n"
    "a10 = np.int64(Z > 0)\n         b10_ = (Z > 0)\n"
    "a11 = (Z > 0).astype(float)\n   b11_ = (Z > 0)\n"
    "a12 = (Z > 0).astype(int) * M\n b12_ = (Z > 0) * M\n"
    "a13 = np.squeeze(np.array(c11))\n   b13_ = sum(c11)\n"
    "a14 = float(c11)\n              b14_ = sum(c11)\n"
    "a15 = 1.0 / X.shape[1]\n        b15_ = 1/m\n"
    "a16 = np.linalg.norm(W)\n       b16_ = sqrt(sum(W ** 2))\n"
    "a17 = parameters[\"W\"]\n         b17_ = W\n"
    "a18 = np.subtract(Z, 1)\n       b18_ = Z - 1\n"
    "a19 = np.array(Z, copy=True)\n  b19_ = Z.copy()\n"
    "a20 = np.abs(Z) + np.log1p(Z)\n b20_ = abs(Z) + log1p(Z)\n"
    "a21 = np.sqrt(np.square(Z))\n   b21_ = sqrt(Z ^ 2)\n"
    "a22 = np.where(M, Z, 0)\n       b22_ = M * Z\n"
    "a23 = float(X.shape[0])\n       b23_ = k\n"
    "a24 = X.reshape(M.shape)\n      b24_ = X\n"
    "loss J = sum(Z)\n";

START_TEST(pasted_constructs_give_their_normal_forms)
{
    char *copy = strdup(pasted);
    for (char *p = copy; *p; p++) /* two statements per line: split them */
        if (p[0] == ' ' && p[1] == ' ' && (p[2] == ' ' || p[2] == 'b'))
            p[0] = '\n';
    model *m = tu_parse_text("test.dc", copy);
    for (int i = 1; i <= 24; i++) {
        char a[8], b[8];
        snprintf(a, sizeof a, "a%d", i);
        snprintf(b, sizeof b, "b%d_", i);
        ck_assert_msg(def(m, a) == def(m, b), "%s and %s differ", a, b);
    }
    ck_assert_int_eq(def(m, "a4")->op, OP_MAXIMUM);
    ck_assert_int_eq(def(m, "a5")->op, OP_MAX);
    ck_assert_int_eq(def(m, "a5")->aux, 1);
    ck_assert_int_eq(def(m, "a5")->keepdims, 1);
    ck_assert_int_eq(def(m, "a16")->op, OP_SQRT);
    ck_assert_int_eq(def(m, "a13")->shape.rank, 0);
    ck_assert_int_eq(tu_symbol(m, "M")->label, LABEL_BINARY);
    model_free(m);
    free(copy);
}
END_TEST

/* Python's reassignment: each assignment a new version of the name, its
   right side reading the old one; working steps of a claim; augmented and
   masked assignments; assignments that change nothing; the loss named
   first and computed as (1, 1); Python lines that compute nothing. */
static const char reassigned[] =
    "dims n = 3\n"
    "batch m = 4\n"
    "input X[n, m], D[n, m] binary\n"
    "label Y[1, m] binary\n"
    "param W[n, n], w[1, n]\n"
    "loss cost\n"
    "def forward(X, parameters):\n"
    "    m = X.shape[1]\n"
    "    num = X.shape[1]\n"
    "    W = parameters[\"W\"]\n"
    "    keep_prob = 0.8\n"
    "    Z = np.dot(W, X)\n"
    "    A = np.maximum(0, Z)\n"
    "    A = A * D\n"
    "    A /= keep_prob\n"
    "    AL = sigmoid(np.dot(w, A))\n"
    "    cost = -1. / num * (np.dot(Y, np.log(AL).T) + np.dot(1 - Y, np.log(1 - AL).T))\n"
    "    cache = (Z, A, W)\n"
    "    return AL, cache\n"
    "(Z, A, W) = cache\n"
    "cost = np.squeeze(cost)\n"
    "assert(cost.shape == ())\n"
    "dZL = AL - Y\n"
    "dA = np.dot(w.T, dZL)\n"
    "dA = dA * D\n"
    "dA = dA / keep_prob\n"
    "dZ = np.array(dA, copy=True)\n"
    "dZ[Z <= 0] = 0\n"
    "grads = {\"dW\": 1. / m * np.dot(dZ, X.T)}\n";

START_TEST(reassignment_has_python_semantics)
{
    model *m = tu_parse_text("test.dc", reassigned);
    const symbol *a0 = tu_symbol(m, "A");
    const symbol *a2 = model_current(a0);
    ck_assert_str_eq(a2->name, "A''");
    ck_assert_int_eq(a2->version, 2);
    const symbol *a1 = a2->earlier;
    ck_assert_str_eq(a1->name, "A'");
    ck_assert_ptr_eq(a1->earlier, a0);
    ck_assert_ptr_eq(a0->later, a1);
    /* A = A * D reads the A before it; A /= keep_prob is A = A / keep_prob */
    ck_assert_int_eq(a1->definition->op, OP_MUL);
    ck_assert_ptr_eq(a1->definition->args[0]->sym, a0);
    ck_assert_int_eq(a2->definition->op, OP_DIV);
    ck_assert_ptr_eq(a2->definition->args[0]->sym, a1);
    ck_assert_ptr_eq(a2->definition->args[1]->sym, tu_symbol(m, "keep_prob"));
    /* m = X.shape[1] changes nothing; num = X.shape[1] is another name of m */
    ck_assert_ptr_eq(tu_symbol(m, "m"), m->batch);
    ck_assert_ptr_eq(tu_symbol(m, "num"), m->batch);
    ck_assert_int_eq(tu_symbol(m, "W")->kind, SYM_PARAM);
    /* the loss: cost is (1, 1), cost = np.squeeze(cost) its one entry, a
       later version that reports name as the user wrote it */
    ck_assert_str_eq(m->loss->name, "cost");
    ck_assert_int_eq(m->loss->version, 1);
    ck_assert_int_eq(m->loss->shape.rank, 0);
    ck_assert_int_eq(m->loss->definition->op, OP_SUM);
    ck_assert_ptr_eq(m->loss->definition->args[0]->sym, tu_symbol(m, "cost"));
    /* dA assigned three times: working steps of one claim, each reading
       the step before it, all about the last A */
    const symbol *d0 = tu_symbol(m, "dA"), *d2 = model_current(d0);
    ck_assert_int_eq(d0->kind, SYM_CLAIM);
    ck_assert_int_eq(d2->version, 2);
    ck_assert_str_eq(d2->name, "dA");
    ck_assert_ptr_eq(d2->target, a2);
    ck_assert_ptr_eq(d2->definition->args[0]->sym, d2->earlier);
    /* dZ[Z <= 0] = 0 keeps dZ where Z > 0 */
    const symbol *z1 = model_current(tu_symbol(m, "dZ"));
    ck_assert_int_eq(z1->version, 1);
    ck_assert_ptr_eq(z1->definition->args[0]->sym, z1->earlier);
    ck_assert_int_eq(z1->definition->args[1]->op, OP_STEP);
    ck_assert_ptr_eq(z1->definition->args[1]->args[0]->sym, tu_symbol(m, "Z"));
    ck_assert_int_eq(z1->definition->args[1]->aux, 0);
    /* neither forward nor grads nor cache is a name */
    ck_assert_ptr_null(model_lookup(m, "grads", 5));
    ck_assert_ptr_null(model_lookup(m, "cache", 5));
    ck_assert_ptr_null(model_lookup(m, "forward", 7));
    model_free(m);
}
END_TEST

/* The course computes its loss as cost without a loss line: 'loss cost'
   is understood, and Y = Y.reshape(AL.shape) changes nothing. */
START_TEST(cost_is_the_loss_by_itself)
{
    model *m = tu_parse_text("test.dc",
                             "dims n = 2\n"
                             "batch m = 3\n"
                             "input X[n, m]\n"
                             "label Y[1, m] binary\n"
                             "param w[1, n]\n"
                             "AL = sigmoid(np.dot(w, X))\n"
                             "cost = -1 / m * np.sum(Y * np.log(AL) + (1 - Y) * np.log(1 - AL))\n"
                             "Y = Y.reshape(AL.shape)\n"
                             "dAL = -(np.divide(Y, AL) - np.divide(1 - Y, 1 - AL))\n");
    ck_assert_str_eq(m->loss->name, "cost");
    ck_assert_int_eq(m->loss->shape.rank, 0);
    ck_assert_ptr_eq(model_current(tu_symbol(m, "Y")), tu_symbol(m, "Y"));
    ck_assert_ptr_eq(tu_symbol(m, "dAL")->target, tu_symbol(m, "AL"));
    model_free(m);
}
END_TEST

START_TEST(comparisons_and_non_strict_steps)
{
    model *m =
        tu_parse_text("test.dc", "dims n\nbatch m\ninput X[n, m]\n"
                                 "a = (X >= 0)\nb = (0 <= X)\nc = (X > 0)\nloss J = sum(X)\n");
    ck_assert_ptr_eq(def(m, "a"), def(m, "b"));
    ck_assert_ptr_ne(def(m, "a"), def(m, "c"));
    ck_assert_int_eq(def(m, "a")->op, OP_STEP);
    ck_assert_int_eq(def(m, "a")->aux, 1);
    model_free(m);
}
END_TEST

START_TEST(per_example_notation_and_defaults)
{
    model *m = tu_parse_text("test.dc", "dims n_x, n_y\nbatch 1\ninput x[n_x, 1]\nlabel y[n_y, 1]\n"
                                        "param w[n_y, n_x]\nparam c\n"
                                        "a = sigmoid(w @ x + c)\nloss J = -sum(y * log(a))\n");
    ck_assert_int_eq(m->batch_is_one, 1);
    ck_assert_ptr_null(m->batch);
    ck_assert_int_eq(tu_symbol(m, "n_x")->value, 0);
    ck_assert_int_eq(tu_symbol(m, "y")->label, LABEL_ANY);
    ck_assert_int_eq(tu_symbol(m, "c")->shape.rank, 0);
    ck_assert_int_eq(m->convention, CONVENTION_AUTO);
    ck_assert_int_eq(m->convention_given, 0);
    model_free(m);
}
END_TEST

START_TEST(exact_rational_literals)
{
    model *m =
        tu_parse_text("test.dc", "dims n\nbatch m\ninput X[n, m]\n"
                                 "a = 0.125 * X\nb = 1e-3 * X\nc = 12.50 * X\nloss J = sum(X)\n");
    mpq_t q;
    mpq_init(q);
    mpq_set_si(q, 1, 8);
    ck_assert(mpq_equal(def(m, "a")->args[0]->value, q));
    mpq_set_si(q, 1, 1000);
    ck_assert(mpq_equal(def(m, "b")->args[0]->value, q));
    mpq_set_si(q, 25, 2);
    ck_assert(mpq_equal(def(m, "c")->args[0]->value, q));
    mpq_clear(q);
    model_free(m);
}
END_TEST

START_TEST(dump_of_a_small_model)
{
    /* the normal form, written by hand from the language reference */
    model *m = tu_parse_text(
        "test.dc", "dims n_x=2,n_y=1\nbatch m=8\ninput X[n_x,m]\n"
                   "label Y[n_y, m] onehot\nparam W[n_y,n_x], b[n_y,1]\n"
                   "Z = np.dot(W,X)+b\nA = np.exp(Z)/np.sum(np.exp(Z),axis=0,keepdims=True)\n"
                   "loss J = -1./m*np.sum(Y*np.log(A))\nconvention deferred\n"
                   "dZ = A-Y\ndW = 1./m*dZ.dot(X.T)\n");
    text t;
    text_init(&t, tu_pool);
    print_model(&t, m);
    ck_assert_str_eq(text_str(&t),
                     "dims n_x = 2, n_y = 1\n"
                     "batch m = 8\n"
                     "input X[n_x, m]\n"
                     "label Y[n_y, m] onehot\n"
                     "param W[n_y, n_x]\n"
                     "param b[n_y, 1]\n"
                     "Z = W @ X + b                             # [n_y, m]\n"
                     "A = np.exp(Z) / np.sum(np.exp(Z), axis=0, keepdims=True)  # [n_y, m]\n"
                     "loss J = -1/m * np.sum(Y * np.log(A))     # scalar\n"
                     "convention deferred\n"
                     "dZ = A - Y                                # [n_y, m]\n"
                     "dW = 1/m * (dZ @ X.T)                     # [n_y, n_x]\n");
    model_free(m);
}
END_TEST

/* The text, LaTeX and MathML printers decide precedence alike: a negative
   fraction reads as a quotient, so as a factor it keeps its parentheses in
   every notation. */
START_TEST(printers_share_one_precedence)
{
    model *m = tu_parse_text("test.dc", "dims n = 2\ninput X[n, 1]\nparam w\nZ = w * (-3/4) * X\n"
                                        "loss J = sum(Z)\n");
    const term *z = def(m, "Z");
    text t, latex, mathml;
    text_init(&t, tu_pool);
    text_init(&latex, tu_pool);
    text_init(&mathml, tu_pool);
    print_term(&t, z);
    print_latex(&latex, z);
    mathml_term(&mathml, z);
    ck_assert_str_eq(text_str(&t), "w * (-3/4) * X");
    ck_assert_str_eq(text_str(&latex),
                     "\\mathit{w} \\, \\bigl(-\\frac{3}{4}\\bigr) \\, \\mathit{X}");
    ck_assert_msg(strstr(text_str(&mathml), "<mo>(</mo><mrow><mrow><mo>&#x2212;</mo><mfrac>") !=
                      NULL,
                  "no parentheses around -3/4 in %s", text_str(&mathml));
    model_free(m);
}
END_TEST

/* The text and the NumPy module are one walk in two styles: both
   subtract a negative product and write 1/m and A**2 unspaced; only the
   module turns a step into floats and says a broadcast @ cannot do. */
START_TEST(text_and_numpy_styles)
{
    model *m =
        tu_parse_text("test.dc", "dims n = 2\nbatch m = 3\ninput X[n, m]\nparam w[n, n]\nparam c\n"
                                 "Z = w @ X + -0.5 * c * (X > 0) / m\nloss J = np.sum(Z ** 2)\n");
    text t, py;
    text_init(&t, tu_pool);
    text_init(&py, tu_pool);
    print_term(&t, def(m, "Z"));
    print_numpy(&py, def(m, "Z"), NULL);
    ck_assert_str_eq(text_str(&t), "w @ X - 1/2 * c * (X > 0) / m");
    ck_assert_str_eq(text_str(&py), "w @ X - 1/2 * c * (X > 0).astype(float) / m");
    text_init(&t, tu_pool);
    print_term(&t, def(m, "J"));
    ck_assert_str_eq(text_str(&t), "np.sum(Z**2)");
    model_free(m);
}
END_TEST

/* Structural equality across two models: same operations, same constants,
   symbols with the same names and shapes. */
static int
same_term(const term *a, const term *b)
{
    if (a->op != b->op || a->aux != b->aux || a->keepdims != b->keepdims || a->nargs != b->nargs ||
        a->shape.rank != b->shape.rank)
        return 0;
    if (a->op == OP_CONST)
        return mpq_equal(a->value, b->value);
    if (a->op == OP_SYM)
        return strcmp(a->sym->name, b->sym->name) == 0;
    for (unsigned i = 0; i < a->nargs; i++)
        if (!same_term(a->args[i], b->args[i]))
            return 0;
    return 1;
}

/* Whether A of M1 and B of M2 are one value: the same term, or terms the
   printer wrote differently (a + -1/2 * b as a - 1/2 * b) whose normal
   forms are the same. */
static int
same_value(model *m1, const term *a, model *m2, const term *b)
{
    if (same_term(a, b))
        return 1;
    const term *na = canon_normal_form(m1->terms, a), *nb = canon_normal_form(m2->terms, b);
    return na != NULL && nb != NULL && same_term(na, nb);
}

/* Parse PATH, print it, parse the print: the same symbols and the same
   values (same_value), and printing again gives the same text. */
static void
round_trip(const char *path)
{
    FILE *f = fopen(path, "rb");
    ck_assert_msg(f != NULL, "cannot open %s", path);
    char *buf = malloc(1 << 20);
    size_t n = fread(buf, 1, (1 << 20) - 1, f);
    fclose(f);
    source src = {path, buf, n};
    model *m1 = parse_model(&src, &tu_err, tu_pool);
    ck_assert_msg(m1 != NULL, "%s: %s", path, m1 ? "" : tu_err.formatted);
    text t1;
    text_init(&t1, tu_pool);
    print_model(&t1, m1);
    source again = {"printed", text_str(&t1), t1.len};
    model *m2 = parse_model(&again, &tu_err, tu_pool);
    ck_assert_msg(m2 != NULL, "%s printed does not parse: %s\n%s", path, m2 ? "" : tu_err.formatted,
                  text_str(&t1));
    ck_assert_uint_eq(m1->nsymbols, m2->nsymbols);
    for (size_t i = 0; i < m1->nsymbols; i++) {
        const symbol *s1 = m1->symbols[i];
        const symbol *s2 = model_lookup(m2, s1->name, strlen(s1->name));
        ck_assert_msg(s2 != NULL && s2->kind == s1->kind, "%s: '%s' lost", path, s1->name);
        if (s1->definition != NULL)
            ck_assert_msg(same_value(m1, s1->definition, m2, s2->definition), "%s: '%s' changed",
                          path, s1->name);
    }
    text t2;
    text_init(&t2, tu_pool);
    print_model(&t2, m2);
    ck_assert_str_eq(text_str(&t1), text_str(&t2));
    model_free(m1);
    model_free(m2);
    free(buf);
}

/* Round-trip every .dc file of DIR; returns how many. */
static int
round_trip_dir(const char *dir)
{
    DIR *d = opendir(dir);
    ck_assert_msg(d != NULL, "cannot open %s", dir);
    int count = 0;
    struct dirent *e;
    while ((e = readdir(d)) != NULL) {
        size_t len = strlen(e->d_name);
        if (len < 4 || strcmp(e->d_name + len - 3, ".dc") != 0)
            continue;
        char path[4096];
        snprintf(path, sizeof path, "%s/%s", dir, e->d_name);
        round_trip(path);
        count++;
    }
    closedir(d);
    return count;
}

START_TEST(round_trip_good_files) { ck_assert_int_ge(round_trip_dir(DC_TEST_DATADIR "/good"), 5); }
END_TEST

START_TEST(round_trip_builtin_models)
{
    ck_assert_int_ge(round_trip_dir(DC_RULES_DIR "/models"), 4);
}
END_TEST

START_TEST(round_trip_spelling_model)
{
    model *m = tu_parse_text("spec", spec_example);
    text t;
    text_init(&t, tu_pool);
    print_model(&t, m);
    /* one spelling, NumPy's: np.power and ^ become **, np.dot becomes @ */
    ck_assert_ptr_null(strstr(text_str(&t), "^"));
    ck_assert_ptr_null(strstr(text_str(&t), "power"));
    ck_assert_ptr_null(strstr(text_str(&t), "dot("));
    ck_assert_ptr_nonnull(strstr(text_str(&t), "dZ1 = W2.T @ dZ2 * (1 - A1**2)"));
    ck_assert_ptr_nonnull(strstr(text_str(&t), "db1 = 1/m * np.sum(dZ1, axis=1, keepdims=True)"));
    model_free(m);
}
END_TEST

START_TEST(failed_parse_leaves_no_model_and_a_placed_error)
{
    const char *textp = "dims n\nbatch m\ninput X[n, m]\nZ = X + Q\n";
    source src = {"x.dc", textp, strlen(textp)};
    ck_assert_ptr_null(parse_model(&src, &tu_err, tu_pool));
    ck_assert_int_eq(tu_err.status, DC_EINPUT);
    ck_assert_int_eq(tu_err.line, 4);
    ck_assert_int_eq(tu_err.column, 9);
    ck_assert_str_eq(tu_err.message, "undefined name 'Q'");
    ck_assert_str_eq(tu_err.formatted, "x.dc:4:9: error: undefined name 'Q'\n"
                                       "     4 | Z = X + Q\n"
                                       "       |         ^\n");
}
END_TEST

START_TEST(allocation_failure_anywhere_is_an_error_value)
{
    /* fail the n-th allocation for every n until a parse goes through: each
       failure must come back as DC_ENOMEM, with nothing leaked (ASan) */
    int failures = 0;
    for (long n = 1; n < 100000; n++) {
        mem_fail_after(n);
        source src = {"spec", spec_example, strlen(spec_example)};
        model *m = parse_model(&src, &tu_err, tu_pool);
        mem_fail_after(0);
        if (m != NULL) {
            model_free(m);
            break;
        }
        ck_assert_int_eq(tu_err.status, DC_ENOMEM);
        failures++;
    }
    ck_assert_int_gt(failures, 10);
}
END_TEST

int
main(void)
{
    Suite *s = suite_create("parse");
    TCase *tc = tcase_create("parse");
    tcase_add_checked_fixture(tc, tu_setup, tu_teardown);
    tcase_add_test(tc, spec_example_declarations);
    tcase_add_test(tc, numpy_spellings_give_one_term);
    tcase_add_test(tc, pasted_constructs_give_their_normal_forms);
    tcase_add_test(tc, reassignment_has_python_semantics);
    tcase_add_test(tc, cost_is_the_loss_by_itself);
    tcase_add_test(tc, comparisons_and_non_strict_steps);
    tcase_add_test(tc, per_example_notation_and_defaults);
    tcase_add_test(tc, exact_rational_literals);
    tcase_add_test(tc, dump_of_a_small_model);
    tcase_add_test(tc, printers_share_one_precedence);
    tcase_add_test(tc, text_and_numpy_styles);
    tcase_add_test(tc, round_trip_good_files);
    tcase_add_test(tc, round_trip_builtin_models);
    tcase_add_test(tc, round_trip_spelling_model);
    tcase_add_test(tc, failed_parse_leaves_no_model_and_a_placed_error);
    tcase_add_test(tc, allocation_failure_anywhere_is_an_error_value);
    suite_add_tcase(s, tc);
    return tu_run(s);
}
