/* print.h: terms and models printed back in the .dc language. */
#ifndef DC_PRINT_H
#define DC_PRINT_H

#include "base/text.h"
#include "lang/model.h"
#include "lang/term.h"

/* How a notation spells each construct: print_math walks a term once for
   every notation (the text and the NumPy module in lang/print.c, LaTeX
   below, MathML in out/mathml.c) and puts these strings around the
   operands it prints. The parentheses follow one precedence table, except
   that a quotient or a positive constant, which a fraction bar groups,
   never needs them. */
typedef struct print_style {
    /* a notation on one line (NumPy), whose fractions, quotients and
       powers group nothing: the precedence alone decides parentheses, and
       an axis is an argument after the operand */
    int linear;
    const char *group[2]; /* around every subterm */
    const char *paren[2]; /* around a subterm that binds too loosely */
    void (*symbol)(text *out, const char *name);
    void (*operation)(text *out, const char *name); /* one without a function[] name */
    const char *number[2];                          /* around the digits of a whole number */
    const char *negative[2];    /* around a negative constant, its sign included */
    const char *fraction[3];    /* a rational constant: [0] numerator [1] denominator [2] */
    const char *quotient[3];    /* a / b: [0] a [1] b [2] */
    const char *close_quotient; /* if not NULL, quotient[1] between two names or whole
                                   numbers (1/m) */
    const char *plus, *minus, *negate;
    const char *times, *odot;   /* a product; odot: elementwise, of two matrices */
    const char *matmul;         /* a matrix product */
    const char *superscript[3]; /* a^b: [0] a [1] b [2] */
    const char *close_power;    /* if not NULL, superscript[1] between two names or whole
                                   numbers (A1**2) */
    const char *transpose;      /* a^T: superscript[0] a transpose */
    /* if not NULL, a name of letters then digits (W1) written as the course
       writes a layer, W^{[1]}: [0] W [1] 1 [2] transpose_mark if transposed [3] */
    const char *layer[4];
    const char *transpose_mark;
    const char *bracket[2]; /* the step function [a > b] */
    const char *gt, *ge, *lt, *le;
    const char *call[3];            /* f(a): [0] f [1] a [2] */
    const char *comma;              /* between the arguments of max(a, b) */
    const char *axis[3];            /* a function's name with its axis: [0] f [1] K [2]; linear:
                                       [0] and [1] before K, after the operand, [2] keepdims */
    const char *expand[3];          /* linear: a broadcast along an axis, [0] a [1] K [2] */
    const char *broadcast[3];       /* linear, if not NULL: a matrix product's operand, or a
                                       whole term, broadcast to a shape NumPy's implicit
                                       broadcasting would not give, [0] a [1] the dims [2] */
    const char *abs[2];             /* |a|: [0] a [1] */
    const char *root[2];            /* the square root of a: [0] a [1] */
    const char *function[OP_COUNT]; /* the names of functions, by operation */
} print_style;

/* Append T as mathematics in the notation ST. */
void print_math(text *out, const term *t, const print_style *st);

/* Append the name NAME (of a symbol or a gradient) as ST writes a symbol:
   W1 as W^{[1]} where ST writes layers. */
void print_math_name(text *out, const char *name, const print_style *st);

/* Append T in the text notation, which is NumPy (import numpy as np) and
   which the language reads as well: np.tanh, np.sum(a, axis=K,
   keepdims=True), @ for every matrix product, .T, ** for powers, a - b for
   a + -b, a step as the comparison (A1 > 0); sigmoid, relu and softmax(a,
   axis=K), which NumPy has not, by the names the course defines them by.
   Only the parentheses the precedence needs (Python's and the language's
   agree), so that parsing the text gives a term equal to T. */
void print_term(text *out, const term *t);

/* Append T as LaTeX mathematics: \frac for quotients, \odot for
   elementwise products of matrices, ^{\top} for transposes, \sigma. */
void print_latex(text *out, const term *t);

/* Append NAME as print_latex writes a symbol: \mathit{dW}^{[1]} for dW1. */
void print_latex_symbol(text *out, const char *name);

/* Append T as a NumPy expression (import numpy as np): ** for powers,
   np.sum(a, axis=K, keepdims=True), (a > b).astype(float) for a step, and
   the activations sigmoid, relu and softmax(a, axis=K) called by name, as
   a module that defines them calls them (out/numpy.h writes one). Where
   NumPy's implicit broadcasting would give a smaller array than WANT (T's
   shape if NULL; a gradient's, where T is 1) or an operand of @ needs,
   np.broadcast_to says the shape, in the names of its dims. */
void print_numpy(text *out, const term *t, const shape *want);

/* Append NAME as a Python identifier: a version's primes (A1') become
   underscores (A1_). */
void print_python_name(text *out, const char *name);

/* Append S with the characters JSON or LaTeX need escaped. */
void print_json_string(text *out, const char *s);
void print_latex_name(text *out, const char *s);

/* Append the whole model, one declaration or definition per line, with the
   shape of every definition and claim in a comment. */
void print_model(text *out, const model *m);

#endif
