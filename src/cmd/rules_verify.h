/* rules_verify.h: every rule of a rule base checked at random points in MPFR. */
#ifndef DC_RULES_VERIFY_H
#define DC_RULES_VERIFY_H

#include "base/diag.h"
#include "base/text.h"
#include "sym/rules.h"

enum {
    RULES_VERIFY_DEFAULT_PREC = 256, /* MPFR bits when the caller gives 0 */
    RULES_VERIFY_MIN_SAMPLES = 1,    /* the caps rules_verify accepts */
    RULES_VERIFY_MAX_SAMPLES = 10000,
    RULES_VERIFY_MIN_PREC = 64,
    RULES_VERIFY_MAX_PREC = 10000,
    RULES_VERIFY_DISTINCT_SHAPES =
        3, /* shape draws per rule that differ, when the rule fits them */
};

/* Check every rule of RS at random points, in MPFR at PREC bits (0: the
   default, 256).

   Each point draws shapes for the rule's pattern variables (rank 0 to 2,
   dims from three symbolic dims of sizes 2, 3 and 4 and the literal 1;
   rank 0 for scalar(x), a rational constant for const(x), a label of the
   named assumption for onehot, binary and prob), builds both sides with
   rule_instantiate, and draws rational values from a GMP generator seeded
   from SEED and the rule's name, so a rule's points do not depend on the
   other rules. A rule gets max(SAMPLES, 3) points, the first three on
   distinct shapes when it fits that many.
   - A rewrite rule holds at a point when every entry of its two sides
     (the replacement broadcast to the pattern's shape, as rewriting does)
     agrees to a relative 2^-(PREC-56). It fails only where, besides, an
     interval enclosure (MPFI, at PREC bits and then 4 PREC) of the
     difference of the sides at that entry excludes 0: a rigorous witness.
   - An adjoint rule C = f(..., a, ...) => da = F (C bound to f(...)
     itself) holds when, for random G (of C's shape) and V (of a's shape),
     sum(F * V) agrees with the central difference D(h) = (sum(G * f(a +
     hV)) - sum(G * f(a - hV))) / 2h, h = 2^-(PREC/4), to a relative
     2^-(PREC/3) of the largest of the two and sum(|F * V|); F must have
     a's shape. D is Richardson-extrapolated, (4 D(h) - D(2h)) / 3, so
     that 64 bits stay clear of truncation error; where D(h) and D(2h)
     disagree, f has a kink or a jump within 2h (relu near 0, a step near
     its threshold) and the point is drawn again. It fails only where the
     gap is also above 2^-(PREC/2) sum(|G * f|), far above the 2^-(3PREC/4)
     of it that rounding leaves in D.
   A point where a side is NaN or infinite, or whose gap is not shown to
   exceed rounding, is drawn again with positive values; such draws are
   counted and reported as skipped. A NaN is never agreement.

   REPORT gets one line per rule, "ok   NAME (FILE:LINE): N points",
   "FAIL NAME (FILE:LINE): ..." with a counterexample, or "n/a  NAME
   (FILE:LINE): could not run: WHY" for a rule that could not be checked
   at any point (no shapes fit, a side the evaluator cannot compute, no
   point with finite sides): neither ok nor failed. Then a summary line
   "N rules: K ok, F failed[, U could not run] (...)". Returns the number
   of rules that failed (0: none), with the rules that could not run in
   *UNRUN; or -1 with ERR filled (its strings in ERR_POOL): out of memory,
   SAMPLES or PREC outside the caps. Allocation failures in REPORT's pool
   are caught here too; REPORT then holds a partial report. Nothing is
   kept after the call. */
int rules_verify(const rule_set *rs, unsigned long seed, int samples, long prec, text *report,
                 int *unrun, dc_error *err, mem_pool *err_pool);

#endif
