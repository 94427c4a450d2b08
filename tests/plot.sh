#!/bin/sh
# plot.sh: error and merge --plot FILE.svg: histograms drawn by gnuplot, refused early, never half-written.
# The checks that need no gnuplot run first, with stand-in programs as
# DERIVCHECK_GNUPLOT (missing, failing, writing nothing); the SVG checks need
# gnuplot on PATH and are skipped (exit 77) without it.
# Environment (set by make check): DERIVCHECK.
set -u
: "${DERIVCHECK:?}"
tmp=$(mktemp -d "${TMPDIR:-/tmp}/dc-plot.XXXXXX") || exit 99
trap 'rm -rf "$tmp"' EXIT
failures=0
unset DERIVCHECK_GNUPLOT

fail() {
    echo "FAIL: $*"
    failures=$((failures + 1))
}

# A refusal must come before the sweep: --samples 10000 over every regime
# would run for hours, so a run that is not refused at once is killed.
limit=
if command -v timeout >/dev/null 2>&1; then limit="$(command -v timeout) 120"; fi

# run EXPECTED_STATUS ARGS...: the program's stdout and stderr in $tmp/out
# and $tmp/err, and its exact exit status; DERIVCHECK_GNUPLOT is $gnuplot_as.
gnuplot_as=
run() {
    want=$1
    shift
    DERIVCHECK_GNUPLOT=$gnuplot_as $limit "$DERIVCHECK" "$@" >"$tmp/out" 2>"$tmp/err"
    got=$?
    if [ "$got" != "$want" ]; then
        fail "derivcheck $* exited $got, expected $want"
        sed 's/^/  stderr: /' "$tmp/err"
    fi
}

has() {
    grep -qF -- "$2" "$1" || fail "$1 lacks '$2' ($(head -c 300 "$1"))"
}

# no_file DIR NAME: neither DIR/NAME nor a temporary DIR/NAME.XXXXXX is left.
no_file() {
    left=$(ls -A "$1" | grep -F -- "$2")
    [ -z "$left" ] || fail "left in $1: $left"
}

out=$tmp/out-dir
mkdir "$out"

# ---------------------------------------------------------------- refusals, before the sweep
run 2 error sigmoid --samples 10000 --plot "$out/h.png"
has "$tmp/err" "--plot writes SVG: its file name must end in .svg, not '$out/h.png'"
no_file "$out" h.png
run 2 merge "$tmp/none.json" --plot "$out/h.svgz"
has "$tmp/err" "must end in .svg"
run 2 parse sigmoid --plot "$out/h.svg"
has "$tmp/err" "parse does not take --plot FILE.svg; it applies to error, merge"

run 2 error sigmoid --samples 10000 --plot "$tmp/no-such-dir/h.svg"
has "$tmp/err" "--plot: cannot write '$tmp/no-such-dir/h.svg': cannot create a file in '$tmp/no-such-dir': No such file or directory"
if [ "$(id -u)" != 0 ]; then
    # root may write anywhere: only another user can be refused by the mode
    mkdir "$tmp/readonly" && chmod 555 "$tmp/readonly"
    run 2 error sigmoid --samples 10000 --plot "$tmp/readonly/h.svg"
    has "$tmp/err" "in '$tmp/readonly': Permission denied"
    no_file "$tmp/readonly" h.svg
    chmod 755 "$tmp/readonly"
fi

# gnuplot missing: named, with what to do; nothing written
gnuplot_as=/nonexistent/gnuplot
run 2 error sigmoid --samples 10000 --plot "$out/h.svg"
has "$tmp/err" "derivcheck: --plot needs gnuplot, which was not found as '/nonexistent/gnuplot' (DERIVCHECK_GNUPLOT); install gnuplot-nox (Debian) or omit --plot"
no_file "$out" h.svg

# gnuplot not on PATH: the real program, not libtool's wrapper script (which
# needs programs from PATH itself)
program=$DERIVCHECK
real=$(dirname "$DERIVCHECK")/.libs/$(basename "$DERIVCHECK")
if [ -x "$real" ] && head -c 200 "$DERIVCHECK" | grep -q '^#!.*sh'; then
    program=$real
    LD_LIBRARY_PATH=$(dirname "$real")${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}
    export LD_LIBRARY_PATH
fi
mkdir "$tmp/empty-bin"
PATH=$tmp/empty-bin $limit "$program" error sigmoid --samples 10000 --plot "$out/h.svg" \
    >"$tmp/out" 2>"$tmp/err"
status=$?
[ "$status" = 2 ] || fail "without gnuplot on PATH: exit $status, expected 2"
has "$tmp/err" "derivcheck: --plot needs gnuplot, which was not found on PATH; install gnuplot-nox (Debian) or omit --plot"
no_file "$out" h.svg

# ---------------------------------------------------------------- gnuplot failing
# A stand-in that reads the script, complains and fails: its message is
# shown, the table is still printed, exit 2, and an existing file is kept.
cat >"$tmp/failing-gnuplot" <<'EOF'
#!/bin/sh
cat >/dev/null
echo "stand-in gnuplot: line 3: no such terminal" >&2
exit 1
EOF
cat >"$tmp/silent-gnuplot" <<'EOF'
#!/bin/sh
cat >/dev/null
exit 0
EOF
chmod +x "$tmp/failing-gnuplot" "$tmp/silent-gnuplot"
echo "old plot" >"$out/kept.svg"
gnuplot_as=$tmp/failing-gnuplot
run 2 error sigmoid --regime typical --samples 2 --plot "$out/kept.svg"
has "$tmp/err" "stand-in gnuplot: line 3: no such terminal"
has "$tmp/err" "derivcheck: gnuplot failed (exit status 1)"
has "$tmp/err" "derivcheck: '$out/kept.svg' was not written"
has "$tmp/out" "Regime typical: 2 samples"
[ "$(cat "$out/kept.svg")" = "old plot" ] || fail "a failing gnuplot replaced kept.svg"
[ "$(ls -A "$out" | grep -c 'kept\.svg\.')" = 0 ] || fail "a temporary file was left"

gnuplot_as=$tmp/silent-gnuplot
run 2 error sigmoid --regime typical --samples 2 --plot "$out/empty.svg"
has "$tmp/err" "derivcheck: gnuplot wrote nothing"
no_file "$out" empty.svg

# ---------------------------------------------------------------- with gnuplot
gnuplot_as=
if ! command -v gnuplot >/dev/null 2>&1; then
    echo "gnuplot not found: the SVG checks are skipped"
    [ "$failures" = 0 ] || exit 1
    exit 77
fi

# a folder and file name that a shell or gnuplot string would trip on
odd="$tmp/a 'quoted' \"dir\""
mkdir "$odd"
umask 022
set -- sigmoid --regime saturated --samples 5 --seed 3
run 0 error "$@" --format json -o "$tmp/e.json" --plot "$odd/h \$x'.svg"
svg="$odd/h \$x'.svg"
[ -s "$svg" ] || fail "no SVG written"
mode=$(ls -l "$svg" | cut -c1-10)
[ "$mode" = "-rw-r--r--" ] || fail "the SVG has mode $mode, not -rw-r--r-- (umask 022)"
[ "$(ls -A "$odd" | wc -l)" = 1 ] || fail "more than the SVG in the folder: $(ls -A "$odd")"
has "$svg" "<svg"
has "$svg" "</svg>"
if command -v xmllint >/dev/null 2>&1; then
    xmllint --noout "$svg" || fail "the SVG is not well-formed XML"
else
    echo "xmllint not found: the SVG's well-formedness is not checked"
fi

# every formulation named in a key, every quantity's panel titled
formulations=$(sed -n 's/.*"formulation": "\([^"]*\)".*/\1/p' "$tmp/e.json" | sort -u)
[ "$(echo "$formulations" | wc -l)" = 8 ] || fail "expected 8 formulations: $formulations"
echo "$formulations" | while IFS= read -r f; do
    grep -qF ">$f<" "$svg" || echo "$f" >>"$tmp/unnamed"
done
[ ! -s "$tmp/unnamed" ] || fail "formulations missing from the SVG: $(cat "$tmp/unnamed")"
for q in J dZ2 dW2 db2 dW1 db1; do
    has "$svg" ">$q, saturated: 5 samples<"
done

# The oracle: the JSON's histogram of each row adds up to the entries the
# table reports for it (another run, markdown), and its last bin (64 bits)
# to the NaN count; the table still goes to standard output with --plot.
run 0 error "$@" --format markdown --plot "$tmp/md.svg"
has "$tmp/out" "## Regime saturated"
cp "$tmp/out" "$tmp/table.md"
sed -n 's/.*"quantity": "\([^"]*\)", "formulation": "\([^"]*\)".*"histogram": \[\([^]]*\)\].*/\1|\2|\3/p' \
    "$tmp/e.json" >"$tmp/rows"
[ "$(wc -l <"$tmp/rows")" = 29 ] || fail "expected 29 rows with a histogram, got $(wc -l <"$tmp/rows")"
checked=0
while IFS='|' read -r q f bins; do
    sum=$(echo "$bins" | tr ',' '\n' | awk '{ s += $1 } END { print s }')
    last=$(echo "$bins" | tr ',' '\n' | tail -n 1 | tr -d ' ')
    [ "$(echo "$bins" | tr ',' '\n' | wc -l)" = 65 ] || fail "$q $f: not 65 bins"
    row=$(awk -F' \\| ' -v q="$q" -v f="$f" '$1 == "| " q && $2 == f { print $8 "|" $6 }' \
        "$tmp/table.md")
    entries=${row%|*}
    nan=${row#*|}
    [ -n "$row" ] || { fail "$q $f: no row in the table"; continue; }
    [ "$sum" = "$entries" ] || fail "$q $f: histogram adds up to $sum, the table says $entries entries"
    [ "$last" = "$nan" ] || fail "$q $f: the 64-bit bin holds $last, the table says $nan NaN"
    [ "$entries" -gt 0 ] || fail "$q $f: no entries"
    checked=$((checked + 1))
done <"$tmp/rows"
[ "$checked" = 29 ] || fail "checked $checked rows against the table, expected 29"
cmp -s "$svg" "$tmp/md.svg" || fail "the same sweep drew two different SVGs"

# merge --plot: shards drawn together are the whole sweep's drawing
run 0 error "$@" --format json --shard 1/2 -o "$tmp/s1.json"
run 0 error "$@" --format json --shard 2/2 -j 2 -o "$tmp/s2.json"
run 0 merge "$tmp/s2.json" "$tmp/s1.json" --plot "$tmp/merged.svg"
has "$tmp/out" "Regime saturated: 5 samples"
cmp -s "$svg" "$tmp/merged.svg" || fail "merge --plot of the shards differs from the whole sweep's"
run 0 merge "$tmp/s1.json" --partial --plot "$tmp/half.svg"
has "$tmp/half.svg" "seed 3, shard 1 of 2"
has "$tmp/half.svg" ">J, saturated: 3 samples<"

# every regime: a column each
cat >"$tmp/unit.dc" <<'EOF'
dims n = 1
batch m = 4
input X[n, m]
label Y[n, m] binary
param w[n, n], c[n, 1]
Z = w @ X + c
A = sigmoid(Z)
loss J = -1/m * sum(Y * log(A) + (1 - Y) * log(1 - A))
EOF
run 0 error "$tmp/unit.dc" --samples 1 -q --plot "$tmp/all.svg"
[ ! -s "$tmp/out" ] || fail "-q printed the table"
for r in typical saturated tiny large-m pow2-m odd-m; do
    has "$tmp/all.svg" ">dc, $r: 1 sample<"
done

echo "$failures failures"
[ "$failures" = 0 ]
