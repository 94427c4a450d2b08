#!/bin/sh
# deep_check.sh: check on a 200-layer network's derivation (bench/deepnet.sh) holds claim by claim, and a planted mistake is refuted.
# Environment (set by make check): DERIVCHECK, DC_SRC_DIR.
# Every claim is compared with the earlier ones kept as names (issue 15):
# written out, dZ1 of 200 layers has a normal form of 2^200 terms, and the
# program used to run out of time at 16 layers and crash at 32. No time is
# asserted here (bench/deep.sh measures it); the verdicts are the
# mathematics: deepnet.sh writes each gradient as backpropagation has it.
set -u
: "${DERIVCHECK:?}" "${DC_SRC_DIR:?}"
deepnet="$DC_SRC_DIR/../bench/deepnet.sh"
tmp=$(mktemp -d "${TMPDIR:-/tmp}/dc-deep.XXXXXX") || exit 99
trap 'rm -rf "$tmp"' EXIT
failures=0

# expect STATUS LINE FILE: check on FILE exits STATUS and its last line is LINE
expect() {
    "$DERIVCHECK" check "$3" >"$tmp/out" 2>"$tmp/err"
    got=$?
    [ "$got" = "$1" ] || { echo "FAIL: check $3 exited $got, expected $1: $(head -c 300 "$tmp/err")"; failures=$((failures + 1)); }
    last=$(tail -n 1 "$tmp/out")
    [ "$last" = "$2" ] || { echo "FAIL: check $3 ends '$last', expected '$2'"; failures=$((failures + 1)); }
}

# 200 layers, 3 claims each (dZ, dW, db): all hold, each by a proof
sh "$deepnet" 200 claims >"$tmp/deep.dc" || exit 99
expect 0 "600 of 600 claims hold." "$tmp/deep.dc"
proofs=$(grep -c '^        method: symbolic' "$tmp/out")
[ "$proofs" = 600 ] || { echo "FAIL: $proofs of 600 claims proved symbolically"; failures=$((failures + 1)); }

# the output layer's db with its sign flipped: wrong, the sign named, and
# the counterexample's two values each other's negatives; nothing uses
# db200, so the other 599 claims still hold
sed 's/^db200 = np.sum/db200 = -np.sum/' "$tmp/deep.dc" >"$tmp/sign.dc"
expect 1 "599 of 600 claims hold." "$tmp/sign.dc"
grep -qF '  WRONG db200  line 613  has the wrong sign' "$tmp/out" ||
    { echo "FAIL: db200's sign not named: $(grep WRONG "$tmp/out")"; failures=$((failures + 1)); }
sed -n 's/.*db200\[0\]\[0\] is \([^ ]*\) by your formula but \([^ ]*\) by the derivation.*/\1 \2/p' "$tmp/out" >"$tmp/pair"
read -r yours right <"$tmp/pair" || yours=
[ -n "$yours" ] && [ "$yours" = "$(echo "$right" | sed 's/^-//;t;s/^/-/')" ] ||
    { echo "FAIL: the counterexample's values are not each other's negatives: $(cat "$tmp/pair")"; failures=$((failures + 1)); }

[ "$failures" = 0 ] && echo "deep_check: all passed"
exit $((failures > 0))
