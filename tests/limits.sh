#!/bin/sh
# limits.sh: every documented cap (docs/limits.md) is refused with exit status 2 and a message naming it.
# Environment (set by make check): DERIVCHECK.
set -u
: "${DERIVCHECK:?}"
tmp=$(mktemp -d "${TMPDIR:-/tmp}/dc-limits.XXXXXX") || exit 99
trap 'rm -rf "$tmp"' EXIT
failures=0
count=0

# refused TEXT ARGS...: the program exits 2 and its error output has TEXT
refused() {
    want=$1
    shift
    count=$((count + 1))
    "$DERIVCHECK" "$@" >"$tmp/out" 2>"$tmp/err"
    got=$?
    [ "$got" = 2 ] || { echo "FAIL: derivcheck $* exited $got, expected 2"; failures=$((failures + 1)); }
    grep -qF -- "$want" "$tmp/err" ||
        { echo "FAIL: derivcheck $*: no '$want' in: $(head -c 300 "$tmp/err")"; failures=$((failures + 1)); }
}

model() { # model FILE EXPR: a one-input model whose loss is sum(EXPR)
    printf 'dims n = 2\nbatch m = 4\ninput X[n, m]\nloss J = sum(%s)\n' "$2" >"$1"
}

# nesting: 256 levels are accepted, 257 refused (sum( is one level, and the
# innermost operand X another)
open=$(printf '(%.0s' $(seq 254))
close=$(printf ')%.0s' $(seq 254))
model "$tmp/depth256.dc" "${open}X${close}"
"$DERIVCHECK" parse "$tmp/depth256.dc" >/dev/null 2>&1 || { echo "FAIL: 256 levels refused"; failures=$((failures + 1)); }
model "$tmp/depth257.dc" "(${open}X${close})"

refused "expression nested more than 256 levels deep (the cap)" parse "$tmp/depth257.dc"

# a dim's value, the batch, a literal's exponent
printf 'dims n = 1000001\nbatch m = 4\ninput X[n, m]\nloss J = sum(X)\n' >"$tmp/dim.dc"
refused "a dim's value is larger than the cap of 1000000" parse "$tmp/dim.dc"
printf 'dims n = 2\nbatch m = 1000001\ninput X[n, m]\nloss J = sum(X)\n' >"$tmp/batch.dc"
refused "larger than the cap of 1000000" parse "$tmp/batch.dc"
model "$tmp/exp.dc" "1e10001 * X"
refused "decimal exponent beyond the cap of 10000" parse "$tmp/exp.dc"
model "$tmp/nexp.dc" "1e-10001 * X"
refused "decimal exponent beyond the cap of 10000" parse "$tmp/nexp.dc"

# the file size
{
    printf 'dims n = 2\n'
    head -c 17000000 /dev/zero | tr '\0' '#'
    printf '\n'
} >"$tmp/huge.dc"
refused "is larger than the cap of 16 MiB for a .dc file" parse "$tmp/huge.dc"

# entries of one value
printf 'dims n = 5000\nbatch m = 5000\ninput X[n, m]\nparam W[n, n]\nloss J = sum(W @ X)\n' >"$tmp/big.dc"
refused "more than the cap of 16777216 entries on one value" eval "$tmp/big.dc"

# a data file: an exponent, and the size
printf '{"X": [["1e10001"]]}' >"$tmp/exp.json"
refused 'is beyond the cap of 10000' eval logistic --data "$tmp/exp.json"
{
    printf '{"X": [['
    head -c 68000000 /dev/zero | tr '\0' ' '
    printf '1]]}'
} >"$tmp/huge.json"
refused "is larger than the cap of 64 MiB for a data file" eval logistic --data "$tmp/huge.json"

# precision and samples
refused "--prec takes a precision from 64 to 10000 bits (the cap), not '10001'" eval sigmoid --prec 10001
refused "--prec takes a precision from 64 to 10000 bits (the cap), not '63'" rules --verify --prec 63
refused "--samples takes a number of points from 1 to 10000 (the cap), not '10001'" rules --verify --samples 10001
refused "--numeric-depth takes a number of backward steps from 0 to 1000000 (the cap), not '1000001'" prove sigmoid --numeric-depth 1000001

# rewrite steps: two rules that undo each other
mkdir -p "$tmp/cycle"
cp "$(dirname "$0")"/../rules/*.rules "$tmp/cycle/" 2>/dev/null ||
    cp "${DC_RULES_DIR:?}"/*.rules "$tmp/cycle/"
printf 'loop.a: a * b => b * a\n' >>"$tmp/cycle/algebra.rules"
refused "rules that kept firing" --rules "$tmp/cycle" derive "${DC_RULES_DIR:?}/models/logistic.dc"
grep -qF "rewriting did not settle after 20000 rule applications" "$tmp/err" ||
    { echo "FAIL: the rewrite cap is not named"; failures=$((failures + 1)); }

# formulations and quantities of error: 40 params (41 quantities), 22 tanh layers (over 64 formulations)
{
    printf 'dims n = 1\nbatch m = 4\ninput X[n, m]\nlabel Y[n, m]\nparam w1[n, n]'
    for i in $(seq 2 40); do printf ', w%d[n, n]' "$i"; done
    printf '\nZ = w1 @ X'
    for i in $(seq 2 40); do printf ' + w%d @ X' "$i"; done
    printf '\nloss J = 1/m * sum((Z - Y)^2)\n'
} >"$tmp/quantities.dc"
refused "than the cap of 32 per model (ROUNDOFF_MAX_QUANTITIES" error "$tmp/quantities.dc" --samples 1 --regime typical
{
    printf 'dims n = 1\nbatch m = 4\ninput X[n, m]\nlabel Y[n, m]\nparam w1[n, n]'
    for i in $(seq 2 22); do printf ', w%d[n, n]' "$i"; done
    printf '\nZ1 = w1 @ X\nA1 = tanh(Z1)\n'
    for i in $(seq 2 22); do printf 'Z%d = w%d @ A%d\nA%d = tanh(Z%d)\n' "$i" "$i" $((i - 1)) "$i" "$i"; done
    printf 'loss J = 1/m * sum((A22 - Y)^2)\n'
} >"$tmp/forms.dc"
refused "than the cap of 64 per model (ROUNDOFF_MAX_FORMS" error "$tmp/forms.dc" --samples 1 --regime typical

echo "$count caps exceeded, $failures failures"
[ "$failures" = 0 ]
