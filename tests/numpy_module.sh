#!/bin/sh
# derive --format numpy: the module of every built-in model, example,
# corpus model and corpus derivation runs in NumPy and agrees with eval; and
# every formula line derive prints as text, and every expected: line check
# prints for a derivation file's claims, runs as it stands in NumPy and
# agrees with eval and the module (tests/numpy_module.py).
# Skipped (77) where no python3 with NumPy is found.
# Environment (set by make check): DERIVCHECK, DC_RULES_DIR, DC_EXAMPLES_DIR, DC_CORPUS_DIR.
: "${DERIVCHECK:?}" "${DC_RULES_DIR:?}" "${DC_EXAMPLES_DIR:?}" "${DC_CORPUS_DIR:?}"
dc=$DERIVCHECK
here=$(dirname "$0")
py=
for p in python3 /usr/bin/python3; do
    if "$p" -c 'import numpy' 2>/dev/null; then py=$p; break; fi
done
[ -n "$py" ] || { echo "SKIP: no python3 with numpy"; exit 77; }
export DERIVCHECK_RULES="$DC_RULES_DIR"
fail=0
n=0
for model in logistic relu3 sigmoid softmax "$DC_EXAMPLES_DIR"/*.dc "$DC_EXAMPLES_DIR"/course/*.dc \
    "$DC_CORPUS_DIR"/models/*.dc "$DC_CORPUS_DIR"/derivations/*.dc; do
    n=$((n + 1))
    "$py" "$here/numpy_module.py" "$dc" "$model" "$n" || fail=1
done
# the module refuses a convention it does not know, and derive refuses numpy elsewhere
tmp=${TMPDIR:-/tmp}/numpy_module.$$
mkdir -p "$tmp"
trap 'rm -rf "$tmp"' EXIT
"$dc" derive sigmoid --format numpy -o "$tmp/s.py" || fail=1
(cd "$tmp" && "$py" -c 'import numpy as np, s
a = {k: np.ones([3 if d is None else d for d in v]) for k, v in s.SHAPES.items()}
try:
    s.forward_backward(convention="both", **a)
except ValueError as e:
    assert "not '"'"'both'"'"'" in str(e), e
else:
    raise SystemExit("no ValueError")') || { echo "convention 'both' accepted"; fail=1; }
out=$("$dc" check "$DC_EXAMPLES_DIR/ng_sigmoid_deferred.dc" --format numpy 2>&1)
[ $? -eq 2 ] && echo "$out" | grep -q "not 'numpy'" || { echo "check --format numpy: $out"; fail=1; }
out=$("$dc" derive sigmoid --format numpy --trace 2>&1)
[ $? -eq 2 ] && echo "$out" | grep -q "not numpy" || { echo "derive --trace numpy: $out"; fail=1; }
exit $fail
