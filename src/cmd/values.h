/* values.h: the loss and every param gradient as numbers, with the digits the precision carries.
 */
#ifndef DC_VALUES_H
#define DC_VALUES_H

#include "base/format.h"
#include "sym/derive.h"
#include "num/data.h"

enum {
    VALUES_MIN_PREC = 64, /* the precisions values_report accepts */
    VALUES_MAX_PREC = 10000,
    VALUES_DEFAULT_PREC = 256, /* when the caller gives 0 */
    VALUES_GUARD_BITS = 64,    /* the finite differences' extra bits */
};

/* What to evaluate and how to write it. */
typedef struct values_request {
    long prec;              /* interval bits, VALUES_MIN_PREC..VALUES_MAX_PREC; 0: the default */
    unsigned long seed;     /* draws what DATA leaves out (data_bind) */
    const data_set *data;   /* NULL: every input, label and param drawn at random */
    const rule_set *rules;  /* to derive again where the data break a label's assumption */
    const char *data_name;  /* DATA's file, for the report */
    const char *model_name; /* the model's file, for the report */
    int check_fd;           /* compare with central finite differences */
    format_kind format;     /* FORMAT_TEXT or FORMAT_JSON */
    /* called as the evaluation goes with the thousandths of its estimated
       multiply-adds done and 1000, and with 1, 1 at the end (NULL: none) */
    void (*progress)(void *ctx, long done, long total);
    void *progress_ctx;
} values_request;

/* Evaluate the loss and the gradient of every param of D's model (the
   absorbed formulas, through the derived names they use) at the point
   RQ->data and RQ->seed give (data_bind), and append the report to OUT.

   Labels. D's formulas may use what a label's declaration promises (a prob
   label's columns sum to 1). Where the data keep that promise only
   approximately (data_label_exact: a column summing to 1 + 5e-13, which
   the reader accepts), the gradients are derived again with RQ->rules,
   assuming nothing of those labels, so that what is printed is the
   gradient of the loss as written at the data as given; the report names
   each such label, the column and its sum.

   Digits. Everything is evaluated in Arb's ball arithmetic at P =
   RQ->prec bits, which encloses each exact value in [lo, hi], and each
   number is printed with the most significant digits (at most
   floor(P log10 2)) on which lo and hi, each rounded to nearest to that
   many digits, agree. Rounding is monotonic, so the exact value rounds to
   the same digits: every printed digit is proved correct (the decimal is
   the exact value correctly rounded), and an entry that lost digits to
   cancellation shows fewer. Ends that agree on no digit give "0eQ": zero,
   to within half a unit of 10^Q. An exact 0 (both ends 0) is "0". Numbers
   are decimal strings: "-0.0123", "1.5e-7". An entry that is not a finite
   number has no digits: the same infinity at both ends is "inf" or "-inf"
   (log(0)), and a NaN or an unbounded enclosure is "nan" (no value, as at
   1/0 or 0 * log(0), or one the precision cannot bound); the report
   counts them per quantity ("not finite").

   Exponent range. The evaluation runs in MPFR's widest exponent range (the
   caller's is put back), so exp(1e9) has digits; a value beyond even that
   range (an overflow or underflow, exp(1e30)) has none that can be proved,
   and the call is refused (DC_ELIMIT) naming the quantity.

   Finite differences (RQ->check_fd): for every entry of every param, the
   central difference (J(w + h) - J(w - h)) / 2h with h = 2^-floor(P/3),
   at P + 64 bits, against the derived gradient at P + 64 bits: the
   relative difference |fd - g| / |g| (|fd| / max |g| of the param where g
   is 0), its maximum per param and overall. Truncation error is about
   h^2 = 2^-(2P/3) relative, so the derived gradients agree when the
   maximum is at most h; at a kink of relu or a step ((Z > 0) exactly at
   Z = 0) the one-sided derivative the rules give and the difference
   quotient differ, and the report shows it.

   Returns DC_OK; DC_REFUTED when the finite differences disagree;
   DC_UNDECIDED (the report written, ERR naming them) when an entry is nan
   or infinite, which has no proved digit; or an
   error with ERR filled (its strings in POOL): a precision outside the
   caps, a format other than text or json, a value that cannot be drawn or
   evaluated, one beyond the exponent range, gradients that cannot be
   derived without a label assumption the data break. Allocation failures in POOL jump to its on_oom
   target after releasing the evaluators. */
dc_status values_report(text *out, const derivation *d, const values_request *rq, dc_error *err,
                        mem_pool *pool);

#endif
