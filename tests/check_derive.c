/* check_derive.c: derived gradients against closed forms from the literature and finite
 * differences. */
#include <check.h>
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "sym/canon.h"
#include "sym/derive.h"
#include "num/eval.h"
#include "lang/parse.h"
#include "lang/print.h"
#include "sym/rules.h"
#include "testutil.h"

/* T with every derived gradient name of D replaced by the model's claim of
   the same name, so that a derived formula and a claim can be compared. */
static const term *
in_claim_names(model *m, const derivation *d, const term *t, convention c)
{
    if (t->op == OP_SYM) {
        for (size_t i = 0; i < d->n; i++) {
            const symbol *name =
                c == CONVENTION_DEFERRED ? d->g[i].deferred_name : d->g[i].absorbed_name;
            if (t->sym == name) {
                const symbol *claim = model_lookup(m, name->name, strlen(name->name));
                if (claim != NULL && claim->kind == SYM_CLAIM)
                    return term_symbol(m->terms, claim);
            }
        }
        return t;
    }
    if (t->nargs == 0)
        return t;
    const term *args[2];
    for (unsigned k = 0; k < t->nargs; k++)
        args[k] = in_claim_names(m, d, t->args[k], c);
    char why[SHAPE_WHY];
    const term *out = t->op == OP_BROADCAST
                          ? term_broadcast(m->terms, args[0], &t->shape, t->aux, why)
                          : term_make(m->terms, t->op, t->aux, t->keepdims, args, t->nargs, why);
    ck_assert_msg(out != NULL, "rebuilding: %s", why);
    return out;
}

static const char *
show(const term *t)
{
    text out;
    text_init(&out, tu_pool);
    print_term(&out, t);
    return text_str(&out);
}

/* Every claim of M equals the derived gradient under convention C: both
   reduce to one normal form. Returns the number of claims compared. */
static int
claims_hold(model *m, const derivation *d, convention c)
{
    int n = 0;
    for (size_t i = 0; i < m->nsymbols; i++) {
        const symbol *claim = m->symbols[i];
        if (claim->kind != SYM_CLAIM)
            continue;
        const gradient *g = derive_find(d, claim->target);
        ck_assert_msg(g != NULL, "no gradient for %s", claim->name);
        const term *derived = c == CONVENTION_DEFERRED ? g->deferred : g->absorbed;
        const term *a = canon_normal_form(m->terms, in_claim_names(m, d, derived, c));
        const term *b = canon_normal_form(m->terms, claim->definition);
        ck_assert_msg(a == b, "%s: derived %s, the literature has %s", claim->name,
                      show(derive_pretty(d, g, c)), show(claim->definition));
        n++;
    }
    return n;
}

static const char sigmoid_model[] =
    "dims n_x = 2, n_h = 4, n_y = 1\nbatch m = 8\n"
    "input X[n_x, m]\nlabel Y[n_y, m] binary\n"
    "param W1[n_h, n_x], b1[n_h, 1]\nparam W2[n_y, n_h], b2[n_y, 1]\n"
    "Z1 = W1 @ X + b1\nA1 = tanh(Z1)\nZ2 = W2 @ A1 + b2\nA2 = sigmoid(Z2)\n"
    "loss J = -1/m * sum(Y * log(A2) + (1 - Y) * log(1 - A2))\n";

/* Ng's course notes (deferred 1/m). */
START_TEST(sigmoid_deferred_matches_the_course)
{
    char textp[4096];
    snprintf(textp, sizeof textp, "%s%s", sigmoid_model,
             "dZ2 = A2 - Y\n"
             "dW2 = 1/m * dZ2 @ A1.T\n"
             "db2 = 1/m * sum(dZ2, axis=1, keepdims=True)\n"
             "dZ1 = W2.T @ dZ2 * (1 - A1^2)\n"
             "dW1 = 1/m * dZ1 @ X.T\n"
             "db1 = 1/m * sum(dZ1, axis=1, keepdims=True)\n");
    model *m = tu_parse_text("test.dc", textp);
    derivation *d = tu_derive(m, tu_rules);
    ck_assert_int_eq(claims_hold(m, d, CONVENTION_DEFERRED), 6);
    /* the course's dZ2 and dZ1 are named; dA2 and dA1 are written into them */
    ck_assert(derive_find(d, tu_symbol(m, "Z2"))->named);
    ck_assert(derive_find(d, tu_symbol(m, "Z1"))->named);
    ck_assert(!derive_find(d, tu_symbol(m, "A2"))->named);
    ck_assert_str_eq(
        show(derive_pretty(d, derive_find(d, tu_symbol(m, "Z2")), CONVENTION_DEFERRED)), "A2 - Y");
    ck_assert_str_eq(
        show(derive_pretty(d, derive_find(d, tu_symbol(m, "W2")), CONVENTION_DEFERRED)),
        "1/m * dZ2 @ A1.T");
    model_free(m);
}
END_TEST

/* The learner's derivation (1/m absorbed into dZ2). */
START_TEST(sigmoid_absorbed_moves_one_over_m_into_dz)
{
    char textp[4096];
    snprintf(textp, sizeof textp, "%s%s", sigmoid_model,
             "dZ2 = 1/m * (A2 - Y)\n"
             "dW2 = dZ2 @ A1.T\n"
             "db2 = sum(dZ2, axis=1, keepdims=True)\n"
             "dZ1 = W2.T @ dZ2 * (1 - A1^2)\n"
             "dW1 = dZ1 @ X.T\n"
             "db1 = sum(dZ1, axis=1, keepdims=True)\n"
             "dA2 = -1/m * (Y / A2 - (1 - Y) / (1 - A2))\n");
    model *m = tu_parse_text("test.dc", textp);
    derivation *d = tu_derive(m, tu_rules);
    ck_assert_int_eq(claims_hold(m, d, CONVENTION_ABSORBED), 7);
    model_free(m);
}
END_TEST

static const char softmax_model[] =
    "dims n_x = 2, n_h = 4, n_y = 3\nbatch m = 5\n"
    "input X[n_x, m]\nlabel Y[n_y, m]%s\n"
    "param W1[n_h, n_x], b1[n_h, 1]\nparam W2[n_y, n_h], b2[n_y, 1]\n"
    "Z1 = W1 @ X + b1\nA1 = tanh(Z1)\nZ2 = W2 @ A1 + b2\nA2 = softmax(Z2, axis=0)\n"
    "loss J = -1/m * sum(Y * log(A2))\n%s";

/* Whether the steps of G apply the rule named NAME. */
static int
uses_rule(const gradient *g, const char *name)
{
    for (size_t i = 0; i < g->steps.n; i++)
        if (g->steps.steps[i].rule != NULL && strcmp(g->steps.steps[i].rule->name, name) == 0)
            return 1;
    return 0;
}

START_TEST(softmax_with_onehot_labels_gives_a_minus_y)
{
    char textp[4096];
    snprintf(textp, sizeof textp, softmax_model, " onehot",
             "dZ2 = A2 - Y\ndW2 = 1/m * dZ2 @ A1.T\ndZ1 = W2.T @ dZ2 * (1 - A1^2)\n");
    model *m = tu_parse_text("test.dc", textp);
    derivation *d = tu_derive(m, tu_rules);
    ck_assert_int_eq(claims_hold(m, d, CONVENTION_DEFERRED), 3);
    ck_assert(uses_rule(derive_find(d, tu_symbol(m, "Z2")), "onehot.colsum"));
    model_free(m);
}
END_TEST

START_TEST(softmax_with_probability_labels_gives_a_minus_y)
{
    char textp[4096];
    snprintf(textp, sizeof textp, softmax_model, " prob", "dZ2 = A2 - Y\n");
    model *m = tu_parse_text("test.dc", textp);
    derivation *d = tu_derive(m, tu_rules);
    ck_assert_int_eq(claims_hold(m, d, CONVENTION_DEFERRED), 1);
    ck_assert(uses_rule(derive_find(d, tu_symbol(m, "Z2")), "prob.colsum"));
    model_free(m);
}
END_TEST

START_TEST(softmax_without_a_label_assumption_keeps_the_column_sum)
{
    char textp[4096];
    snprintf(textp, sizeof textp, softmax_model, "",
             "dZ2 = A2 * sum(Y, axis=0, keepdims=True) - Y\n");
    model *m = tu_parse_text("test.dc", textp);
    derivation *d = tu_derive(m, tu_rules);
    ck_assert_int_eq(claims_hold(m, d, CONVENTION_DEFERRED), 1);
    const gradient *g = derive_find(d, tu_symbol(m, "Z2"));
    ck_assert(!uses_rule(g, "onehot.colsum"));
    /* and it is not A2 - Y */
    const term *a_minus_y = canon_normal_form(
        m->terms,
        term_make(
            m->terms, OP_ADD, 0, 0,
            (const term *[]){term_symbol(m->terms, tu_symbol(m, "A2")),
                             term_make(m->terms, OP_NEG, 0, 0,
                                       (const term *[]){term_symbol(m->terms, tu_symbol(m, "Y"))},
                                       1, (char[SHAPE_WHY]){0})},
            2, (char[SHAPE_WHY]){0}));
    ck_assert_ptr_ne(g->deferred, a_minus_y);
    model_free(m);
}
END_TEST

/* The activations notebook code writes out are recognised by the rules of
   recognise.rules: dZ = A - Y follows symbolically for the course's
   1 / (1 + np.exp(-Z)), for softmax as exp / sum(exp) over the classes of
   column or batch-first one-hot labels (through a named exp, with the
   stable max shift), and for log-softmax written out. */
static const char *const written_out[] = {
    "dims n_x = 2, n_y = 1\nbatch m = 5\ninput X[n_x, m]\nlabel Y[n_y, m] binary\n"
    "param W[n_y, n_x], b[n_y, 1]\nZ = np.dot(W, X) + b\nA = 1 / (1 + np.exp(-Z))\n"
    "loss J = -1/m * np.sum(Y * np.log(A) + (1 - Y) * np.log(1 - A))\n"
    "dZ = A - Y\ndW = 1/m * np.dot(dZ, X.T)\n",
    "dims n_x = 2, n_y = 3\nbatch m = 5\ninput X[n_x, m]\nlabel Y[n_y, m] onehot\n"
    "param W[n_y, n_x]\nZ = np.dot(W, X)\n"
    "A = np.exp(Z) / np.sum(np.exp(Z), axis=0, keepdims=True)\n"
    "loss J = -1/m * np.sum(Y * np.log(A))\ndZ = A - Y\n",
    "dims D = 2, C = 3\nbatch N = 5\ninput X[N, D]\nlabel Y[N, C] onehot\nparam W[D, C]\n"
    "S = X.dot(W)\nE = np.exp(S - np.max(S, axis=1, keepdims=True))\n"
    "P = E / np.sum(E, axis=1, keepdims=True)\nloss L = -np.sum(Y * np.log(P)) / N\n"
    "dS = (P - Y) / N\n",
    "dims n_x = 2, n_y = 3\nbatch m = 5\ninput X[n_x, m]\nlabel Y[n_y, m] onehot\n"
    "param W[n_y, n_x]\nZ = np.dot(W, X)\n"
    "loss J = -1/m * np.sum(Y * (Z - np.log(np.sum(np.exp(Z), axis=0, keepdims=True))))\n"
    "dZ = softmax(Z, axis=0) - Y\n",
};

START_TEST(written_out_activations_are_recognised)
{
    model *m = tu_parse_text("test.dc", written_out[_i]);
    derivation *d = tu_derive(m, tu_rules);
    ck_assert_int_ge(claims_hold(m, d, _i == 2 ? CONVENTION_ABSORBED : CONVENTION_DEFERRED), 1);
    model_free(m);
}
END_TEST

START_TEST(relu_network_closed_forms)
{
    char textp[4096];
    snprintf(textp, sizeof textp, "%s",
             "dims n_x = 3, n_h1 = 5, n_h2 = 4, n_y = 1\nbatch m = 8\n"
             "input X[n_x, m]\nlabel Y[n_y, m] binary\n"
             "param W1[n_h1, n_x], b1[n_h1, 1]\nparam W2[n_h2, n_h1], b2[n_h2, 1]\n"
             "param W3[n_y, n_h2], b3[n_y, 1]\n"
             "Z1 = W1 @ X + b1\nA1 = relu(Z1)\nZ2 = W2 @ A1 + b2\nA2 = relu(Z2)\n"
             "Z3 = W3 @ A2 + b3\nA3 = sigmoid(Z3)\n"
             "loss J = -1/m * sum(Y * log(A3) + (1 - Y) * log(1 - A3))\n"
             "dZ3 = A3 - Y\ndW3 = 1/m * dZ3 @ A2.T\ndb3 = 1/m * sum(dZ3, axis=1, keepdims=True)\n"
             "dZ2 = W3.T @ dZ3 * (Z2 > 0)\ndW2 = 1/m * dZ2 @ A1.T\n"
             "dZ1 = W2.T @ dZ2 * (Z1 > 0)\ndW1 = 1/m * dZ1 @ X.T\n"
             "db1 = 1/m * sum(dZ1, axis=1, keepdims=True)\n");
    model *m = tu_parse_text("test.dc", textp);
    derivation *d = tu_derive(m, tu_rules);
    ck_assert_int_eq(claims_hold(m, d, CONVENTION_DEFERRED), 8);
    model_free(m);
}
END_TEST

START_TEST(activation_derivatives_come_from_the_adjoint_rules)
{
    model *m = tu_parse_text("test.dc", "dims n = 3\nbatch m = 4\ninput X[n, m]\nparam W[n, n]\n"
                                        "Z = W @ X\nA = tanh(Z)\nloss J = sum(A)\n");
    const term *z = term_symbol(m->terms, tu_symbol(m, "Z")),
               *a = term_symbol(m->terms, tu_symbol(m, "A"));
    /* in the output's name where the rule uses it, G * ... without G */
    ck_assert_str_eq(show(derive_activation_derivative(m->terms, tu_rules, OP_TANH, z, a)),
                     "1 - A**2");
    ck_assert_str_eq(show(derive_activation_derivative(m->terms, tu_rules, OP_SIGMOID, z, a)),
                     "A * (1 - A)");
    ck_assert_str_eq(show(derive_activation_derivative(m->terms, tu_rules, OP_RELU, z, a)),
                     "(Z > 0)");
    /* log's rule is G / a: no factor to take G out of */
    ck_assert_ptr_null(derive_activation_derivative(m->terms, tu_rules, OP_LOG, z, a));
    model_free(m);
}
END_TEST

START_TEST(per_example_notation_has_one_convention)
{
    model *m = tu_parse_text("test.dc", "dims n_x = 3, n_y = 1\nbatch 1\ninput x[n_x, 1]\n"
                                        "label y[n_y, 1] binary\nparam w[n_y, n_x], c[n_y, 1]\n"
                                        "z = w @ x + c\na = sigmoid(z)\n"
                                        "loss L = -sum(y * log(a) + (1 - y) * log(1 - a))\n"
                                        "dz = a - y\ndw = dz @ x.T\ndc = dz\n");
    derivation *d = tu_derive(m, tu_rules);
    ck_assert_int_eq(claims_hold(m, d, CONVENTION_DEFERRED), 3);
    ck_assert_int_eq(claims_hold(m, d, CONVENTION_ABSORBED), 3);
    model_free(m);
}
END_TEST

START_TEST(the_calculus_is_in_the_rule_files)
{
    /* without the sigmoid adjoint rule, derive cannot go through sigmoid */
    char *dir = tu_copy_rules("sigmoid:");
    rule_set *partial = tu_rules_load(dir);
    model *m = tu_parse_text("test.dc", sigmoid_model);
    ck_assert_ptr_null(derive(m, partial, NULL, &tu_err, tu_pool));
    ck_assert_str_eq(tu_err.message,
                     "no adjoint rule for the operation 'sigmoid' (argument 1): "
                     "the rule files say nothing of how a gradient flows through it");
    model_free(m);
    rules_free(partial);
    tu_remove_dir(dir);
    /* without the label rules, onehot labels no longer simplify */
    dir = tu_copy_rules("onehot.colsum");
    partial = rules_load(dir, &tu_err, tu_pool);
    char textp[4096];
    snprintf(textp, sizeof textp, softmax_model, " onehot",
             "dZ2 = A2 * sum(Y, axis=0, keepdims=True) - Y\n");
    m = tu_parse_text("test.dc", textp);
    derivation *d = tu_derive(m, partial);
    ck_assert_int_eq(claims_hold(m, d, CONVENTION_DEFERRED), 1);
    model_free(m);
    rules_free(partial);
    tu_remove_dir(dir);
}
END_TEST

START_TEST(rules_that_cycle_hit_the_step_bound_and_are_named)
{
    char *dir = tu_copy_rules("#");
    char path[4200];
    snprintf(path, sizeof path, "%s/cycle.rules", dir);
    FILE *f = fopen(path, "w");
    fputs("swap: a * b => b * a\n", f);
    fclose(f);
    rule_set *cycling = tu_rules_load(dir);
    model *m = tu_parse_text("test.dc", sigmoid_model);
    ck_assert_ptr_null(derive(m, cycling, NULL, &tu_err, tu_pool));
    ck_assert_int_eq(tu_err.status, DC_ELIMIT);
    ck_assert_msg(strstr(tu_err.message, "did not settle after 20000 rule applications") != NULL &&
                      strstr(tu_err.message, "/cycle.rules:1)") != NULL &&
                      strstr(tu_err.message, "firing: swap (") != NULL,
                  "%s", tu_err.message);
    model_free(m);
    rules_free(cycling);
    tu_remove_dir(dir);
}
END_TEST

START_TEST(a_one_dimensional_matrix_product_has_no_adjoint_rule)
{
    /* w @ x with a 1-D w needs an outer product for dw: the rules say so */
    model *m = tu_parse_text("test.dc", "dims n = 3\nbatch 1\ninput x[n, 1]\nparam w[n]\n"
                                        "loss L = sum(w @ x)\n");
    ck_assert_ptr_null(derive(m, tu_rules, NULL, &tu_err, tu_pool));
    ck_assert_str_eq(tu_err.message, "no adjoint rule applies to the operation 'matmul' (argument "
                                     "1) here: its rules' conditions do not hold for these shapes "
                                     "or labels");
    model_free(m);
}
END_TEST

START_TEST(symbolic_work_does_not_depend_on_the_numbers)
{
    char a[4096], b[4096];
    snprintf(a, sizeof a, "%s", sigmoid_model);
    snprintf(b, sizeof b, "%s", sigmoid_model);
    memcpy(strstr(b, "n_h = 4"), "n_h = 9", 7);
    memcpy(strstr(b, "m = 8"), "m = 3", 5);
    model *ma = tu_parse_text("test.dc", a), *mb = tu_parse_text("test.dc", b);
    derivation *da = tu_derive(ma, tu_rules), *db = tu_derive(mb, tu_rules);
    ck_assert_uint_eq(da->n, db->n);
    for (size_t i = 0; i < da->n; i++)
        for (int c = CONVENTION_DEFERRED; c <= CONVENTION_ABSORBED; c++)
            ck_assert_str_eq(show(derive_pretty(da, &da->g[i], c)),
                             show(derive_pretty(db, &db->g[i], c)));
    model_free(ma);
    model_free(mb);
}
END_TEST

/* ---- the oracle: central finite differences in MPFR ---- */

static long
numeric(dim d)
{
    return d.sym != NULL ? d.sym->value : d.n;
}

/* A value of SYM's shape with random entries obeying its label assumption. */
static value *
random_value(evaluator *ev, const symbol *s, gmp_randstate_t rng)
{
    long rows = 1, cols = 1;
    if (s->shape.rank == 1)
        cols = numeric(s->shape.d[0]);
    if (s->shape.rank == 2)
        rows = numeric(s->shape.d[0]), cols = numeric(s->shape.d[1]);
    value *v = eval_new_value(ev, s->shape.rank, rows, cols);
    for (long j = 0; j < cols; j++) {
        long hot = (long)gmp_urandomm_ui(rng, (unsigned long)rows);
        mpfr_t total;
        mpfr_init2(total, 256);
        mpfr_set_ui(total, 0, MPFR_RNDN);
        for (long i = 0; i < rows; i++) {
            mpfr_t *x = eval_fr(v, i, j);
            mpfr_urandomb(*x, rng);
            if (s->kind == SYM_LABEL && s->label == LABEL_BINARY)
                mpfr_set_ui(*x, gmp_urandomb_ui(rng, 1), MPFR_RNDN);
            else if (s->kind == SYM_LABEL && s->label == LABEL_ONEHOT)
                mpfr_set_ui(*x, i == hot, MPFR_RNDN);
            else if (s->kind != SYM_LABEL) {
                mpfr_mul_2ui(*x, *x, 1, MPFR_RNDN);
                mpfr_sub_ui(*x, *x, 1, MPFR_RNDN); /* in (-1, 1) */
            }
            mpfr_add(total, total, *x, MPFR_RNDN);
        }
        if (s->kind == SYM_LABEL && s->label == LABEL_PROB)
            for (long i = 0; i < rows; i++)
                mpfr_div(*eval_fr(v, i, j), *eval_fr(v, i, j), total, MPFR_RNDN);
        mpfr_clear(total);
    }
    return v;
}

static void
eval_scalar(evaluator *ev, const term *t, mpfr_t out)
{
    const value *v;
    char why[256];
    ck_assert_msg(eval_term(ev, t, &v, why, sizeof why), "eval: %s", why);
    mpfr_set(out, *eval_fr(v, 0, 0), MPFR_RNDN);
}

/* Every derived gradient of the model M (which it frees), called NAME,
   agrees with central finite differences of the loss, at 256 bits, to a
   relative 1e-30. */
static void
finite_differences_agree_on(model *m, const char *name)
{
    derivation *d = tu_derive(m, tu_rules);
    evaluator *ev = eval_new(tu_pool, NUMBER_MPFR, 256);
    gmp_randstate_t rng;
    gmp_randinit_default(rng);
    gmp_randseed_ui(rng, 20261129);
    for (size_t i = 0; i < m->nsymbols; i++) {
        const symbol *s = m->symbols[i];
        if (s->kind == SYM_INPUT || s->kind == SYM_LABEL || s->kind == SYM_PARAM)
            eval_bind(ev, s, random_value(ev, s, rng));
    }
    mpfr_t h, plus, minus, fd, diff, tol;
    mpfr_inits2(256, h, plus, minus, fd, diff, tol, (mpfr_ptr)0);
    mpfr_set_ui_2exp(h, 1, -100, MPFR_RNDN);
    const term *loss = term_symbol(m->terms, m->loss);
    int checked = 0;
    for (size_t i = 0; i < m->nsymbols; i++) {
        const symbol *p = m->symbols[i];
        if (p->kind != SYM_PARAM)
            continue;
        const gradient *g = derive_find(d, p);
        ck_assert_ptr_nonnull(g);
        const value *grad;
        char why[256];
        ck_assert_msg(eval_term(ev, g->absorbed, &grad, why, sizeof why), "%s", why);
        /* copy the gradient: rebinding invalidates results */
        value *gcopy = eval_new_value(ev, grad->rank, grad->rows, grad->cols);
        value *base = random_value(ev, p, rng), *moved = random_value(ev, p, rng);
        for (long r = 0; r < grad->rows; r++)
            for (long c = 0; c < grad->cols; c++)
                mpfr_set(*eval_fr(gcopy, r, c), *eval_fr(grad, r, c), MPFR_RNDN);
        /* the current value of the param, to perturb */
        const value *now;
        ck_assert(eval_term(ev, term_symbol(m->terms, p), &now, why, sizeof why));
        for (long r = 0; r < now->rows; r++)
            for (long c = 0; c < now->cols; c++)
                mpfr_set(*eval_fr(base, r, c), *eval_fr(now, r, c), MPFR_RNDN);
        for (long r = 0; r < base->rows; r++)
            for (long c = 0; c < base->cols; c++) {
                for (long rr = 0; rr < base->rows; rr++)
                    for (long cc = 0; cc < base->cols; cc++)
                        mpfr_set(*eval_fr(moved, rr, cc), *eval_fr(base, rr, cc), MPFR_RNDN);
                mpfr_add(*eval_fr(moved, r, c), *eval_fr(base, r, c), h, MPFR_RNDN);
                eval_bind(ev, p, moved);
                eval_scalar(ev, loss, plus);
                mpfr_sub(*eval_fr(moved, r, c), *eval_fr(base, r, c), h, MPFR_RNDN);
                eval_bind(ev, p, moved);
                eval_scalar(ev, loss, minus);
                mpfr_sub(fd, plus, minus, MPFR_RNDN);
                mpfr_mul_2ui(fd, fd, 99, MPFR_RNDN); /* / 2h, h = 2^-100 */
                mpfr_t *exact = eval_fr(gcopy, r, c);
                mpfr_sub(diff, fd, *exact, MPFR_RNDN);
                mpfr_abs(diff, diff, MPFR_RNDN);
                mpfr_abs(tol, *exact, MPFR_RNDN);
                if (mpfr_cmp_d(tol, 1e-20) < 0)
                    mpfr_set_d(tol, 1e-20, MPFR_RNDN);
                mpfr_mul_d(tol, tol, 1e-30, MPFR_RNDN);
                if (mpfr_cmp(diff, tol) > 0) {
                    char msg[512];
                    mpfr_snprintf(msg, sizeof msg,
                                  "%s: d%s[%ld][%ld]: derived %.20Rg, finite "
                                  "differences %.20Rg",
                                  name, p->name, r, c, *exact, fd);
                    ck_abort_msg("%s", msg);
                }
                checked++;
            }
        eval_bind(ev, p, base);
    }
    ck_assert_int_gt(checked, 3);
    mpfr_clears(h, plus, minus, fd, diff, tol, (mpfr_ptr)0);
    gmp_randclear(rng);
    eval_free(ev);
    model_free(m);
}

/* The same for the built-in model NAME. */
static void
finite_differences_agree(const char *name)
{
    finite_differences_agree_on(tu_parse_builtin(name), name);
}

/* A model in pasted notebook code, every NumPy function of it on the path
   from the params to the loss: leaky ReLU as np.maximum, np.sqrt, np.abs,
   np.log1p, np.clip, np.max, a (1, 1) cost through float(). */
static const char pasted_model[] =
    "dims n_x = 3, n_h = 4\nbatch m = 5\n"
    "input X[n_x, m]\nlabel Y[1, m] binary\n"
    "param W1[n_h, n_x], b1[n_h, 1], W2[1, n_h], b2[1, 1]\n"
    "Z1 = np.dot(W1, X) + b1\n"
    "A1 = np.maximum(0.01 * Z1, Z1)\n"
    "S = np.sqrt(1 + np.abs(A1)) + np.log1p(np.clip(Z1, -0.5, 2) ** 2)\n"
    "Z2 = np.dot(W2, S) + b2 - np.max(Z1, axis=0, keepdims=True) + np.mean(np.minimum(Z1, 0))\n"
    "A2 = 1 / (1 + np.exp(-Z2))\n"
    "loss cost = float(-1/m * (np.dot(Y, np.log(A2).T) + np.dot(1 - Y, np.log(1 - A2).T)))\n";

START_TEST(finite_differences_pasted_numpy)
{
    finite_differences_agree_on(tu_parse_text("test.dc", pasted_model), "pasted");
}
END_TEST

START_TEST(finite_differences_logistic) { finite_differences_agree("logistic"); }
END_TEST
START_TEST(finite_differences_sigmoid) { finite_differences_agree("sigmoid"); }
END_TEST
START_TEST(finite_differences_softmax) { finite_differences_agree("softmax"); }
END_TEST
START_TEST(finite_differences_relu3) { finite_differences_agree("relu3"); }
END_TEST

int
main(void)
{
    Suite *s = suite_create("derive");
    TCase *tc = tcase_create("closed forms");
    tcase_add_checked_fixture(tc, tu_setup_rules, tu_teardown);
    tcase_add_test(tc, sigmoid_deferred_matches_the_course);
    tcase_add_test(tc, sigmoid_absorbed_moves_one_over_m_into_dz);
    tcase_add_test(tc, softmax_with_onehot_labels_gives_a_minus_y);
    tcase_add_test(tc, softmax_with_probability_labels_gives_a_minus_y);
    tcase_add_test(tc, softmax_without_a_label_assumption_keeps_the_column_sum);
    tcase_add_loop_test(tc, written_out_activations_are_recognised, 0,
                        (int)(sizeof written_out / sizeof written_out[0]));
    tcase_add_test(tc, relu_network_closed_forms);
    tcase_add_test(tc, activation_derivatives_come_from_the_adjoint_rules);
    tcase_add_test(tc, per_example_notation_has_one_convention);
    tcase_add_test(tc, the_calculus_is_in_the_rule_files);
    tcase_add_test(tc, a_one_dimensional_matrix_product_has_no_adjoint_rule);
    tcase_add_test(tc, rules_that_cycle_hit_the_step_bound_and_are_named);
    tcase_add_test(tc, symbolic_work_does_not_depend_on_the_numbers);
    suite_add_tcase(s, tc);
    TCase *fd = tcase_create("finite differences");
    tcase_add_checked_fixture(fd, tu_setup_rules, tu_teardown);
    tcase_set_timeout(fd, 60);
    tcase_add_test(fd, finite_differences_logistic);
    tcase_add_test(fd, finite_differences_sigmoid);
    tcase_add_test(fd, finite_differences_softmax);
    tcase_add_test(fd, finite_differences_relu3);
    tcase_add_test(fd, finite_differences_pasted_numpy);
    suite_add_tcase(s, fd);
    return tu_run(s);
}
