/* plot.h: the histograms of bits of error of an error sweep, as a gnuplot script. */
#ifndef DC_PLOT_H
#define DC_PLOT_H

#include "base/text.h"
#include "cmd/roundoff.h"

/* Append to OUT a gnuplot script that draws RES's histograms as SVG on
   gnuplot's standard output: a grid with a row per quantity and a column
   per regime; in each panel a bar per formulation for each whole number of
   bits of error (0 to 63, and 64 for a NaN), the height the entries there
   on a log scale, with the formulations named in the key. The script names
   no file, so the caller decides where the SVG goes. Returns 0 (OUT
   untouched) when RES has no row to draw. */
int plot_histograms(text *out, const roundoff_result *res);

#endif
