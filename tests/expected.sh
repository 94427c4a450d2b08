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

# issue 16: the expected lines are in the user's names at the claim (dZ3 for the derivation's
# dz3, A2 for the a2 the backward pass unpacked as A2), simplified where a gradient name is a
# product written in (no "1 *" of dmargins = 1, no "m / m" of dL2_regularization_cost = m),
# the user's own operand order and names of definitions ((h1 > 0) for the mask of h1 =
# np.maximum(0, X.dot(W1) + b1)), and in the convention the claim is read in, as the claims
# after it (dscores = (probs - Y) / N is read absorbed, as dW = dscores @ X.T is right in).
# expected_of FILE NAME LINE: the JSON "expected" of the claim NAME at LINE.
expected_of() {
    "$DERIVCHECK" check --format json "$1" 2>/dev/null |
        awk -v n="\"name\": \"$2\", \"line\": $3," 'index($0, n) {
            e = $0; sub(/^.*"expected": "/, "", e); sub(/", "counterexample".*/, "", e); print e }'
}
assert_expected() {
    got=$(expected_of "$1" "$2" "$3")
    checked=$((checked + 1))
    [ "$got" = "$4" ] || {
        echo "FAIL: ${1##*/}: $2 (line $3) expected: $got, not $4"
        failures=$((failures + 1))
    }
}
course=$DC_EXAMPLES_DIR/course
assert_expected "$course/c2w1_regularization.dc" dZ3 87 "A3 - Y"
assert_expected "$course/c2w1_regularization.dc" dW3 91 "1/m * (lambd * W3 + dZ3 @ A2.T)"
assert_expected "$course/c2w1_regularization.dc" dZ1 105 "W2.T @ dZ2 * (Z1 > 0)"
assert_expected "$course/c2w1_regularization_wrong.dc" dW2 97 \
    "1/m * (lambd * W2 + (A3 - Y) * (Z2 > 0) * W3.T @ A1.T)"
assert_expected "$course/c2w1_dropout.dc" dW3 120 "1/m * dZ3 @ A2.T"
svm_mask="(scores - correct + 1 > 0)"
svm_dscores="Y * np.sum(Y * $svm_mask, axis=0, keepdims=True) + $svm_mask - Y * $svm_mask - Y * np.sum($svm_mask, axis=0, keepdims=True)"
assert_expected "$DC_CORPUS_DIR/derivations/cs231n_svm_correct_class_forgotten.dc" dscores 16 \
    "1/N * ($svm_dscores)"
assert_expected "$DC_CORPUS_DIR/derivations/cs231n_svm_correct_class_forgotten.dc" dW 17 \
    "2 * reg * W + 1/N * ($svm_dscores) @ X.T"
assert_expected "$DC_CORPUS_DIR/derivations/cs231n_softmax_wrong_axis.dc" dscores 16 \
    "1/N * (probs - Y)"
assert_expected "$DC_CORPUS_DIR/derivations/cs231n_two_layer_net.dc" dW1 22 \
    "2 * reg * W1 + X.T @ (dh1 * (h1 > 0))"
# and no expected line of the corpus or the examples has a factor 1 or m / m
for f in "$DC_CORPUS_DIR"/derivations/*.dc "$DC_EXAMPLES_DIR"/*.dc "$course"/*.dc; do
    grep -q '^#> input-error' "$f" && continue
    "$DERIVCHECK" check --format json "$f" 2>/dev/null | grep -o '"expected": "[^"]*"' |
        grep -E '["( ]1 \*|m / m' | sed "s|^|FAIL: ${f##*/}: |" >"$tmp/ones"
    [ -s "$tmp/ones" ] && { cat "$tmp/ones"; failures=$((failures + 1)); }
done

echo "$checked expected formulas, $failures failures"
[ "$checked" -ge 30 ] || { echo "FAIL: only $checked expected formulas"; exit 1; }
[ "$failures" = 0 ]
