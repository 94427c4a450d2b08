#!/bin/sh
# hostile.sh: the red team's inputs (issue 18) are refused with exit status 2 and a message, or handled; none crashes or hangs.
# Environment (set by make check): DERIVCHECK, DC_RULES_DIR.
set -u
: "${DERIVCHECK:?}" "${DC_RULES_DIR:?}"
tmp=$(mktemp -d "${TMPDIR:-/tmp}/dc-hostile.XXXXXX") || exit 99
trap 'rm -rf "$tmp"' EXIT
failures=0
count=0

fail() {
    echo "FAIL: $*"
    failures=$((failures + 1))
}

# expect STATUS TEXT ARGS...: the program (at most 60 s) exits STATUS and its
# error output has TEXT (TEXT empty: anything)
expect() {
    want_status=$1 want=$2
    shift 2
    count=$((count + 1))
    timeout 60 "$DERIVCHECK" "$@" >"$tmp/out" 2>"$tmp/err"
    got=$?
    [ "$got" = "$want_status" ] || fail "derivcheck $*: exit status $got, expected $want_status; $(head -c 300 "$tmp/err")"
    [ -z "$want" ] || grep -qF -- "$want" "$tmp/err" ||
        fail "derivcheck $*: no '$want' in: $(head -c 300 "$tmp/err")"
}

# chain FILE N OP: a model whose loss is sum(X OP X OP ... X), N operands
chain() {
    {
        printf 'dims n = 2\nbatch m = 4\ninput X[n, m]\nloss J = sum(X'
        awk -v n="$2" -v op="$3" 'BEGIN { s = " " op " X"; for (i = 1; i < n; i++) printf "%s", s }'
        printf ')\n'
    } >"$1"
}

# deep expressions: every operator of a chain is a level of nesting, so a
# chain longer than the cap is refused when parsed, before any walk
depth="expression nested more than 256 levels deep (the cap); each operator of a chain"
chain "$tmp/chain1m.dc" 1000000 +
[ "$(wc -c <"$tmp/chain1m.dc")" -gt 4000000 ] || fail "the 1,000,000-operator chain is too short"
chain "$tmp/chain20k.dc" 20000 +
chain "$tmp/product.dc" 20000 '*'
for cmd in parse derive eval check prove doc; do
    expect 2 "$depth" "$cmd" "$tmp/chain1m.dc"
done
for cmd in derive eval; do
    expect 2 "$depth" "$cmd" "$tmp/chain20k.dc"
    expect 2 "$depth" "$cmd" "$tmp/product.dc"
done
expect 2 "$depth" error "$tmp/chain20k.dc" --samples 1 --regime typical
# the caret is at the operator past the cap: sum's argument is a level, so
# the 255th '+' (X at column 14, each ' + X' 4 more: 16 + 4 * 254)
expect 2 "chain1m.dc:4:1032:" parse "$tmp/chain1m.dc"
# a chain within the cap is accepted; X.T.T... counts as a chain too
chain "$tmp/chain200.dc" 200 +
expect 0 "" derive "$tmp/chain200.dc"
{
    printf 'dims n = 2\nbatch m = 4\ninput X[n, n]\nloss J = sum(X'
    awk 'BEGIN { for (i = 0; i < 100000; i++) printf ".T" }'
    printf ')\n'
} >"$tmp/transposes.dc"
expect 2 "$depth" parse "$tmp/transposes.dc"

# a rule that grows stops at the rewriting depth cap, not in a crash
mkdir "$tmp/grow"
cp "$DC_RULES_DIR"/*.rules "$tmp/grow/"
printf 'grow3: tanh(x) => tanh(x + 1) + tanh(x - 1)\n' >"$tmp/grow/zz.rules"
printf 'dims n = 2\nbatch m = 4\ninput X[n, m]\nparam W[n, n]\nloss J = sum(tanh(W @ X) * X)\n' >"$tmp/tanh.dc"
expect 2 "rewriting went deeper than 4096 nested terms (the cap, REWRITE_MAX_DEPTH)" \
    --rules "$tmp/grow" derive "$tmp/tanh.dc"
grep -qF "grow3 (grow/zz.rules:1)" "$tmp/err" || fail "the growing rule is not named: $(head -c 300 "$tmp/err")"

# a UTF-8 byte-order mark opens a file: accepted, and columns count after it
printf '\357\273\277dims n = 2\nbatch m = 4\ninput X[n, m]\nloss J = sum(X)\n' >"$tmp/bom.dc"
expect 0 "" parse "$tmp/bom.dc"
grep -qx 'dims n = 2' "$tmp/out" || fail "the BOM file is not printed back: $(head -c 200 "$tmp/out")"
printf '\357\273\277dims n = $\n' >"$tmp/bom2.dc"
expect 2 "bom2.dc:1:10: error: unexpected character '\$'" parse "$tmp/bom2.dc"

# rule folders (the model as a file: these folders hold no models/): a FIFO named *.rules is refused at once, not waited on
sigmoid=$DC_RULES_DIR/models/sigmoid.dc
mkdir "$tmp/fifo"
cp "$DC_RULES_DIR"/*.rules "$tmp/fifo/"
mkfifo "$tmp/fifo/zz.rules" || exit 99
expect 2 "zz.rules' is not a regular file" --rules "$tmp/fifo" derive "$sigmoid"
# a missing folder is named as missing
expect 2 "the rules folder '$tmp/none' is missing" --rules "$tmp/none" derive "$tmp/bom.dc"
expect 2 "the rules folder '$tmp/none' of the built-in models is missing" --rules "$tmp/none" derive sigmoid
# the caps on a folder, and the variables that raise them
mkdir "$tmp/many"
cp "$DC_RULES_DIR"/*.rules "$tmp/many/"
i=0
while [ $i -lt 64 ]; do printf '# empty\n' >"$tmp/many/x$i.rules"; i=$((i + 1)); done
expect 2 "has 67 rule files, more than the cap of 64; DERIVCHECK_RULES_MAX_FILES raises it" \
    --rules "$tmp/many" derive "$sigmoid"
export DERIVCHECK_RULES_MAX_FILES=67
expect 0 "" --rules "$tmp/many" derive "$sigmoid"
unset DERIVCHECK_RULES_MAX_FILES
awk 'BEGIN { for (i = 0; i < 10000; i++) printf "big%d: log(exp(x)) => x\n", i }' >"$tmp/grow/zz.rules"
expect 2 "the rule files are larger than the cap of 262144 bytes in all" --rules "$tmp/grow" derive "$sigmoid"
export DERIVCHECK_RULES_MAX_BYTES=x
expect 2 "DERIVCHECK_RULES_MAX_BYTES takes a whole number from 1 to 67108864, not 'x'" derive "$sigmoid"
export DERIVCHECK_RULES_MAX_BYTES=400000
expect 0 "" --rules "$tmp/grow" derive "$sigmoid"
unset DERIVCHECK_RULES_MAX_BYTES

# a nan is never a proved digit: log(1 - 2) has no value
printf 'dims n = 1\nbatch m = 1\ninput X[n, m]\nloss J = sum(log(X - 2))\n' >"$tmp/nan.dc"
printf '{"X": [[1]]}' >"$tmp/one.json"
expect 2 "1 entry of J not finite (nan or inf): no digit of it is proved" eval "$tmp/nan.dc" --data "$tmp/one.json"
grep -qx 'J = nan' "$tmp/out" || fail "eval of log(-1) does not print J = nan: $(head -c 300 "$tmp/out")"

echo "$count hostile inputs, $failures failures"
[ "$failures" = 0 ]
