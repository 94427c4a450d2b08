/* plot.c: the histograms of bits of error of an error sweep, as a gnuplot script; see plot.h. */
#include "out/plot.h"

#include <string.h>

#include "base/format.h"

enum {
    PANEL_WIDTH = 440, /* pixels of the SVG per panel */
    PANEL_HEIGHT = 300,
    TITLE_HEIGHT = 40 /* the figure's title above the grid */
};

/* S as a gnuplot single-quoted string: a quote doubled, control characters
   as spaces and bytes that are not UTF-8 as '?', so that any file name
   makes a valid script and valid XML in the SVG (gnuplot escapes & and <). */
static void
put_string(text *out, const char *s)
{
    text_putc(out, '\'');
    for (const unsigned char *c = (const unsigned char *)s; *c != '\0';) {
        size_t n = *c < 0x80 ? 1 : text_utf8_length(c);
        if (*c == '\'')
            text_puts(out, "''");
        else if (*c < 0x20 || *c == 0x7f)
            text_putc(out, ' ');
        else if (n == 0) {
            text_putc(out, '?');
            n = 1;
        } else
            text_putn(out, (const char *)c, n);
        c += n;
    }
    text_putc(out, '\'');
}

static int
has_entries(const roundoff_stat *st)
{
    for (int b = 0; b < ROUNDOFF_BINS; b++)
        if (st->histogram[b] > 0)
            return 1;
    return 0;
}

/* The distinct quantities of RES's tables into NAMES (room for every row),
   in the order they first appear; their count. */
static size_t
quantities(const roundoff_result *res, const char **names)
{
    size_t n = 0;
    for (size_t t = 0; t < res->ntables; t++)
        for (size_t k = 0; k < res->tables[t].n; k++) {
            const char *q = res->tables[t].stats[k].quantity;
            size_t i = 0;
            while (i < n && strcmp(names[i], q) != 0)
                i++;
            if (i == n)
                names[n++] = q;
        }
    return n;
}

/* The top of the y axis for quantity Q: a power of ten at least ten times
   its largest count in any regime, so that the key has room above the
   bars; every regime of Q shares it, so their panels compare by eye. */
static long
y_top(const roundoff_result *res, const char *q)
{
    long most = 1;
    for (size_t t = 0; t < res->ntables; t++)
        for (size_t k = 0; k < res->tables[t].n; k++) {
            const roundoff_stat *st = &res->tables[t].stats[k];
            if (strcmp(st->quantity, q) != 0)
                continue;
            for (int b = 0; b < ROUNDOFF_BINS; b++)
                if (st->histogram[b] > most)
                    most = st->histogram[b];
        }
    long top = 10;
    while (top < most)
        top *= 10;
    return top * 10;
}

/* Every row's nonzero bins as the data block $h_T_K ("bin count" lines). */
static void
write_data(text *out, const roundoff_result *res)
{
    for (size_t t = 0; t < res->ntables; t++)
        for (size_t k = 0; k < res->tables[t].n; k++) {
            const roundoff_stat *st = &res->tables[t].stats[k];
            if (!has_entries(st))
                continue;
            text_printf(out, "$h_%zu_%zu << EOD\n", t, k);
            for (int b = 0; b < ROUNDOFF_BINS; b++)
                if (st->histogram[b] > 0)
                    text_printf(out, "%d %ld\n", b, st->histogram[b]);
            text_puts(out, "EOD\n");
        }
}

/* The panel of quantity Q in table T: side by side in each bin, a bar per
   formulation of Q; a formulation without entries is still named in the
   key (plotted as NaN, which draws nothing). */
static void
write_panel(text *out, const roundoff_result *res, size_t t, const char *q, long top)
{
    const roundoff_table *tab = &res->tables[t];
    size_t nforms = 0;
    for (size_t k = 0; k < tab->n; k++)
        nforms += strcmp(tab->stats[k].quantity, q) == 0;
    text words;
    text_init(&words, out->pool);
    text_printf(&words, "%s, %s: %ld sample%s", q, roundoff_regime_name(tab->regime), tab->samples,
                tab->samples == 1 ? "" : "s");
    text_puts(out, "set title ");
    put_string(out, text_str(&words));
    double width = nforms > 0 ? 0.8 / (double)nforms : 0.8;
    text_printf(out, "\nset yrange [0.7:%ld]\nset boxwidth %.4f absolute\nplot ", top, width);
    if (nforms == 0) {
        /* a regime that measured no formulation of Q: an empty frame */
        text_puts(out, "NaN notitle\n");
        return;
    }
    size_t i = 0;
    for (size_t k = 0; k < tab->n; k++) {
        const roundoff_stat *st = &tab->stats[k];
        if (strcmp(st->quantity, q) != 0)
            continue;
        double shift = ((double)i - (double)(nforms - 1) / 2) * width;
        if (i++ > 0)
            text_puts(out, ", \\\n     ");
        if (has_entries(st))
            text_printf(out, "$h_%zu_%zu using ($1%+.4f):2 with boxes title ", t, k, shift);
        else
            text_puts(out, "NaN with boxes title ");
        put_string(out, st->formulation);
    }
    text_putc(out, '\n');
}

int
plot_histograms(text *out, const roundoff_result *res)
{
    size_t rows = 0;
    for (size_t t = 0; t < res->ntables; t++)
        rows += res->tables[t].n;
    if (rows == 0)
        return 0;
    const char **names = mem_zalloc(out->pool, rows * sizeof *names);
    size_t nq = quantities(res, names);
    size_t ncols = res->ntables;
    text title;
    text_init(&title, out->pool);
    text_printf(&title, "Bits of error per entry, log2(1 + ulps), 64 = NaN: %s, seed %lu",
                format_base_name(res->model_name), res->seed);
    roundoff_write_shards(&title, res);
    text_puts(out, "# derivcheck error --plot: a histogram per quantity (row) and regime "
                   "(column)\n");
    text_printf(out,
                "set terminal svg size %zu,%zu fixed noenhanced font 'sans,10' "
                "background '#ffffff' name 'derivcheck_error'\n"
                "set encoding utf8\n",
                ncols * PANEL_WIDTH, nq * PANEL_HEIGHT + TITLE_HEIGHT);
    write_data(out, res);
    text_puts(out, "set style fill solid 0.85 noborder\n"
                   "set logscale y\n"
                   "set xrange [-1:65]\n"
                   "set xtics 0, 8, 64\n"
                   "set xlabel 'bits of error (64: NaN)'\n"
                   "set ylabel 'entries'\n"
                   "set key top center samplen 1 font ',8'\n");
    text_printf(out, "set multiplot layout %zu,%zu title ", nq, ncols);
    put_string(out, text_str(&title));
    text_puts(out, " font ',12'\n");
    for (size_t q = 0; q < nq; q++) {
        long top = y_top(res, names[q]);
        for (size_t t = 0; t < ncols; t++)
            write_panel(out, res, t, names[q], top);
    }
    text_puts(out, "unset multiplot\n");
    return 1;
}
