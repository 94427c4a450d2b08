#!/bin/sh
# mutations.sh: wrong claims of each kind planted in a derivation whose claims all hold
# (examples/ng_sigmoid_deferred.dc) are caught, each with its diagnosis (issue 13).
#
# Each case replaces one claim line (or a declaration) and names the report line it must
# give: "MARK NAME REASON...". The batch size written as a number (0.125 or / 8 at the
# declared m = 8) and a missing 1/m under "batch m = 1" hold at the declared sizes: they
# are caught only if the numeric evidence varies the sizes, so this test fails when the
# points are drawn at the declared sizes alone.
# Environment (set by make check): DERIVCHECK, DC_EXAMPLES_DIR.
set -u
: "${DERIVCHECK:?}" "${DC_EXAMPLES_DIR:?}"
tmp=$(mktemp -d "${TMPDIR:-/tmp}/dc-mutations.XXXXXX") || exit 99
trap 'rm -rf "$tmp"' EXIT
base="$DC_EXAMPLES_DIR/ng_sigmoid_deferred.dc"
failures=0
cases=0

# plant FROM TO MARK NAME REASON: the file with the line FROM replaced by TO must exit 1
# and report "MARK NAME line N REASON...".
plant() {
    cases=$((cases + 1))
    from=$1 to=$2 mark=$3 name=$4
    shift 4
    awk -v from="$from" -v to="$to" '$0 == from { print to; found = 1; next } { print }
        END { exit !found }' "$base" >"$tmp/m.dc" ||
        { echo "FAIL: no line '$from' in $base"; failures=$((failures + 1)); return; }
    "$DERIVCHECK" check "$tmp/m.dc" >"$tmp/out" 2>&1
    status=$?
    got=$(awk -v mark="$mark" -v name="$name" \
        '$1 == mark && $2 == name && $3 == "line" { $1 = $2 = $3 = $4 = ""; sub(/^ +/, ""); print; exit }' "$tmp/out")
    case "$got" in
    "$*"*) [ "$status" = 1 ] || { echo "FAIL: $to: exit $status, expected 1"; failures=$((failures + 1)); } ;;
    *)
        echo "FAIL: $to: expected '$mark $name $*', got:"
        sed 's/^/    /' "$tmp/out"
        failures=$((failures + 1))
        ;;
    esac
}

plant 'dW2 = 1/m * dZ2 @ A1.T' 'dW2 = 0.125 * dZ2 @ A1.T' \
    WRONG dW2 'hard-codes the batch size 8: write 1/m'
plant 'db2 = 1/m * np.sum(dZ2, axis=1, keepdims=True)' 'db2 = np.sum(dZ2, axis=1, keepdims=True) / 8' \
    WRONG db2 'hard-codes the batch size 8: write 1/m'
plant 'dW1 = 1/m * np.dot(dZ1, X.T)' 'dW1 = np.dot(dZ1, X.T)' \
    WRONG dW1 'has a factor m too many (a 1/m is missing)'
plant 'dZ2 = A2 - Y' 'dZ2 = 1/m * (A2 - Y)' WRONG dZ2 'has a factor 1/m too many'
plant 'dZ2 = A2 - Y' 'dZ2 = Y - A2' WRONG dZ2 'has the wrong sign'
plant 'dW2 = 1/m * dZ2 @ A1.T' 'dW2 = 1/m * A1 @ dZ2.T' \
    SHAPE dW2 'has shape [n_h, n_y] but W2 is [n_y, n_h]: it is the transpose of the gradient'
plant 'db1 = 1/m * np.sum(dZ1, axis=1, keepdims=True)' 'db1 = 1/m * np.sum(dZ1, axis=0, keepdims=True)' \
    SHAPE db1 'has shape [1, m] but b1 is [n_h, 1]: it sums over axis 0 where axis 1 is needed'
plant 'db1 = 1/m * np.sum(dZ1, axis=1, keepdims=True)' 'db1 = 1/m * np.sum(dZ1, axis=1)' \
    SHAPE db1 'has shape [n_h] but b1 is [n_h, 1]: it loses keepdims=True'
plant 'dZ1 = W2.T @ dZ2 * (1 - np.power(A1, 2))' 'dZ1 = W2.T @ dZ2 * (1 - A1)' \
    WRONG dZ1 'uses 1 - A1 where A1 = np.tanh(Z1) needs 1 - A1**2'
plant 'dZ1 = W2.T @ dZ2 * (1 - np.power(A1, 2))' 'dZ1 = W2.T @ dZ2 * A1 * (1 - A1)' \
    WRONG dZ1 "uses A1 * (1 - A1) where A1 = np.tanh(Z1) needs 1 - A1**2 (sigmoid's derivative used for tanh)"
plant 'dZ1 = W2.T @ dZ2 * (1 - np.power(A1, 2))' 'dZ1 = W2.T @ dZ2 * (1 - np.power(Z1, 2))' \
    WRONG dZ1 'uses 1 - Z1**2 where A1 = np.tanh(Z1) needs 1 - A1**2 (Z1 where A1 belongs)'

# batch m = 1: m is still the batch dim; a deferred dW2 without 1/m is m * dJ/dW2
sed 's/^batch m = 8$/batch m = 1/' "$base" >"$tmp/m1.dc"
base="$tmp/m1.dc"
plant 'dW2 = 1/m * dZ2 @ A1.T' 'dW2 = dZ2 @ A1.T' \
    WRONG dW2 'has a factor m too many (a 1/m is missing)'

echo "$cases planted mistakes, $failures not caught"
[ "$failures" = 0 ]
