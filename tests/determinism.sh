#!/bin/sh
# determinism.sh: every command's output is byte-identical across two runs with the same seed, and error's across -j 1 and -j 2.
# Environment (set by make check): DERIVCHECK, DC_EXAMPLES_DIR.
set -u
: "${DERIVCHECK:?}" "${DC_EXAMPLES_DIR:?}"
tmp=$(mktemp -d "${TMPDIR:-/tmp}/dc-determinism.XXXXXX") || exit 99
trap 'rm -rf "$tmp"' EXIT
failures=0
count=0

# same ARGS...: run the program twice; outputs, errors and statuses must match.
same() {
    count=$((count + 1))
    "$DERIVCHECK" "$@" >"$tmp/out1" 2>"$tmp/err1"
    s1=$?
    "$DERIVCHECK" "$@" >"$tmp/out2" 2>"$tmp/err2"
    s2=$?
    if [ "$s1" != "$s2" ] || ! cmp -s "$tmp/out1" "$tmp/out2" || ! cmp -s "$tmp/err1" "$tmp/err2"; then
        echo "FAIL: derivcheck $* differs between two runs (exit $s1, $s2)"
        diff "$tmp/out1" "$tmp/out2" | head -5
        failures=$((failures + 1))
    elif [ "$s1" -gt 1 ] || [ ! -s "$tmp/out1" ]; then
        echo "FAIL: derivcheck $* exited $s1 with $(wc -c <"$tmp/out1") bytes of output"
        failures=$((failures + 1))
    fi
}

wrong=$DC_EXAMPLES_DIR/ng_sigmoid_wrong.dc
for format in text json; do
    same derive sigmoid --trace --format "$format"
    same derive softmax --format "$format"
    same prove sigmoid --seed 5 --trace --format "$format"
    same prove relu3 --seed 5 --format "$format"
    same check "$wrong" --seed 5 --format "$format"
    same check "$DC_EXAMPLES_DIR/softmax_onehot.dc" --seed 5 --format "$format"
    same eval sigmoid --seed 5 --check-fd --format "$format"
    same eval softmax --seed 5 --prec 128 --format "$format"
done
same derive relu3 --format markdown
same derive logistic --format latex
same prove sigmoid --seed 5 --format markdown
same rules --verify --seed 5 --samples 4

# error: the same with any thread count (each sample has its own stream)
for format in text json; do
    same error sigmoid --regime typical --samples 3 --seed 5 -j 1 --format "$format"
    count=$((count + 1))
    "$DERIVCHECK" error sigmoid --regime typical --samples 3 --seed 5 -j 2 --format "$format" \
        >"$tmp/j2" 2>&1
    cmp -s "$tmp/out1" "$tmp/j2" || {
        echo "FAIL: error --format $format differs between -j 1 and -j 2"
        failures=$((failures + 1))
    }
done

# another seed changes the random points, so the test above is not vacuous
"$DERIVCHECK" eval sigmoid --seed 5 >"$tmp/a" 2>&1
"$DERIVCHECK" eval sigmoid --seed 6 >"$tmp/b" 2>&1
if cmp -s "$tmp/a" "$tmp/b"; then
    echo "FAIL: eval gives the same numbers for seeds 5 and 6"
    failures=$((failures + 1))
fi

echo "$count commands run twice, $failures failures"
[ "$failures" = 0 ]
