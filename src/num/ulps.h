/* ulps.h: how far apart two doubles are, counted in doubles, in bits of error and in words. */
#ifndef DC_ULPS_H
#define DC_ULPS_H

#include "base/mem.h"

/* The bits of error of a NaN: more than any two other doubles are apart. */
enum { ULPS_NAN_BITS = 64 };

/* How many doubles lie between X and Y, counted exactly as integers
   (infinite when either is NaN). */
double ulps_between(double x, double y);

/* Bits of error of COMPUTED against the correctly rounded REFERENCE:
   log2(1 + ulps between them), 0 when equal, ULPS_NAN_BITS for a NaN. */
double ulps_bits(double computed, double reference);

/* A count of ulps in words, in POOL: "3 ulps", "1 ulp", "NaN" for an
   infinite count (a NaN was met), "n/a" for NaN (nothing was measured). */
const char *ulps_words(mem_pool *pool, double ulps);

#endif
