/* ball.h: Arb's midpoint-radius balls, the evaluator's certified numbers: the header configure
 * found, and a ball's ends. */
#ifndef DC_BALL_H
#define DC_BALL_H

#include <mpfr.h>

/* configure found Arb in FLINT >= 3 (DC_ARB_IN_FLINT) or as Debian's libflint-arb */
#ifdef DC_ARB_IN_FLINT
#include <flint/arb.h>
#else
#include <arb.h>
#endif

/* Drop the calling thread's FLINT and Arb caches (constants, tables of
   logarithms, FLINT's spare integers), as mpfr_free_cache does MPFR's:
   their blocks may belong to the pool GMP allocates from (mem_gmp_pool),
   so they must go before that pool does. */
void ball_free_cache(void);

/* The ends of X, rounded outward into LO and HI (MPFR numbers of any
   precision; LO rounds down, HI up; an unbounded ball has an infinite end).
   Returns 0, setting both to NaN, when X's midpoint is NaN: the ball came
   from a point where an operation has no value, and encloses nothing.
   (arb_is_finite says whether a ball encloses only finite numbers.) */
int ball_bounds(mpfr_ptr lo, mpfr_ptr hi, const arb_t x);

#endif
