#!/bin/sh
# expected.sh: every "expected:" formula derivcheck check prints is a line the parser reads,
# and, put in place of the wrong claim, one that holds (issue 13: "dW = 1 @ X.T" was printed,
# a product of a scalar, and "dw = 1/m * (X @ (dA.T ...))" with dA named in no claim).
#
# For every refuted or wrong-shape claim of tests/corpus/derivations, examples/ and
# tests/data/good/expected-*.dc, the file is copied with the claim's line replaced by
# "NAME = EXPECTED"; derivcheck parse must read the copy, and derivcheck check must then say
# the claim holds (a claim is one line in these files, so its line is the claim).
# Environment (set by make check): DERIVCHECK, DC_CORPUS_DIR, DC_EXAMPLES_DIR, DC_TEST_DATADIR.
set -u
: "${DERIVCHECK:?}" "${DC_CORPUS_DIR:?}" "${DC_EXAMPLES_DIR:?}" "${DC_TEST_DATADIR:?}"
tmp=$(mktemp -d "${TMPDIR:-/tmp}/dc-expected.XXXXXX") || exit 99
trap 'rm -rf "$tmp"' EXIT
failures=0
checked=0

# wrong JSON: "NAME LINE EXPECTED" for each refuted or wrong-shape claim.
wrong() {
    awk '/^ *\{"name": / && /"verdict": "(wrong|shape)"/ {
        name = $0; sub(/^[^"]*"name": "/, "", name); sub(/".*/, "", name)
        line = $0; sub(/^.*"line": /, "", line); sub(/,.*/, "", line)
        e = $0; if (!sub(/^.*"expected": "/, "", e)) next; sub(/", "counterexample".*/, "", e)
        print name, line, e
    }' "$1"
}

for f in "$DC_CORPUS_DIR"/derivations/*.dc "$DC_EXAMPLES_DIR"/*.dc "$DC_TEST_DATADIR"/good/expected-*.dc; do
    grep -q '^#> input-error' "$f" && continue
    "$DERIVCHECK" check --format json "$f" >"$tmp/out" 2>/dev/null
    wrong "$tmp/out" >"$tmp/wrong"
    while read -r name line expected; do
        checked=$((checked + 1))
        awk -v n="$line" -v text="$name = $expected" 'NR == n { print text; next } { print }' \
            "$f" >"$tmp/copy.dc"
        if ! "$DERIVCHECK" parse "$tmp/copy.dc" >/dev/null 2>"$tmp/err"; then
            echo "FAIL: ${f##*/}: expected line does not parse: $name = $expected"
            sed 's/^/    /' "$tmp/err"
            failures=$((failures + 1))
            continue
        fi
        "$DERIVCHECK" check --format json "$tmp/copy.dc" >"$tmp/again" 2>/dev/null
        grep -q "{\"name\": \"$name\", \"line\": $line, \"verdict\": \"ok\"" "$tmp/again" || {
            echo "FAIL: ${f##*/}: $name = $expected, in place of line $line, does not hold"
            failures=$((failures + 1))
        }
    done <"$tmp/wrong"
done

echo "$checked expected formulas, $failures failures"
[ "$checked" -ge 30 ] || { echo "FAIL: only $checked expected formulas"; exit 1; }
[ "$failures" = 0 ]
