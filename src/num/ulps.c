/* ulps.c: doubles counted between two values; see ulps.h. */
#include "num/ulps.h"

#include <math.h>
#include <stdint.h>
#include <string.h>

#include "base/text.h"

double
ulps_between(double x, double y)
{
    if (isnan(x) || isnan(y))
        return INFINITY;
    int64_t a, b;
    memcpy(&a, &x, sizeof a);
    memcpy(&b, &y, sizeof b);
    /* doubles in order as integers: negative ones mirrored below zero */
    if (a < 0)
        a = INT64_MIN - a;
    if (b < 0)
        b = INT64_MIN - b;
    /* subtract as integers: as doubles, a few units of 2^62 would vanish */
    uint64_t gap = a > b ? (uint64_t)a - (uint64_t)b : (uint64_t)b - (uint64_t)a;
    return (double)gap;
}

double
ulps_bits(double computed, double reference)
{
    double bits = log2(1.0 + ulps_between(computed, reference));
    return bits > ULPS_NAN_BITS ? ULPS_NAN_BITS : bits;
}

const char *
ulps_words(mem_pool *pool, double ulps)
{
    text s;
    text_init(&s, pool);
    if (isnan(ulps))
        text_puts(&s, "n/a");
    else if (isinf(ulps))
        text_puts(&s, "NaN");
    else
        text_printf(&s, "%.0f ulp%s", ulps, ulps == 1 ? "" : "s");
    return text_str(&s);
}
