#!/bin/sh
# cli.sh: end-to-end tests of the derivcheck program: exit statuses, messages, files.
# Environment (set by make check): DERIVCHECK, DC_TEST_DATADIR, DC_RULES_DIR, DC_EXAMPLES_DIR.
set -u

: "${DERIVCHECK:?}" "${DC_TEST_DATADIR:?}" "${DC_RULES_DIR:?}" "${DC_EXAMPLES_DIR:?}"
tmp=$(mktemp -d "${TMPDIR:-/tmp}/dc-cli.XXXXXX") || exit 99
trap 'rm -rf "$tmp"' EXIT
failures=0
count=0

fail() {
    echo "FAIL: $*"
    failures=$((failures + 1))
}

# run EXPECTED_STATUS ARGS...: run the program, keep stdout and stderr in
# $tmp/out and $tmp/err, and check the exact exit status.
run() {
    want=$1
    shift
    count=$((count + 1))
    "$DERIVCHECK" "$@" >"$tmp/out" 2>"$tmp/err"
    got=$?
    if [ "$got" != "$want" ]; then
        fail "derivcheck $* exited $got, expected $want"
        sed 's/^/  stderr: /' "$tmp/err"
    fi
}

# has FILE TEXT: FILE contains the fixed string TEXT.
has() {
    grep -qF -- "$2" "$1" || fail "$1 lacks '$2' ($(head -c 300 "$1"))"
}

lacks() {
    if grep -qF -- "$2" "$1"; then fail "$1 has '$2'"; fi
}

# --version and --help, GNU style
run 0 --version
has "$tmp/out" "derivcheck 0.1.0"
run 0 --help
has "$tmp/out" "Usage: derivcheck COMMAND"
has "$tmp/out" "parse"
has "$tmp/out" "models"
run 0 parse --help
has "$tmp/out" "Usage: derivcheck parse [OPTION]... FILE|MODEL"
run 2
has "$tmp/err" "no command given"
run 2 frobnicate
has "$tmp/err" "unknown command 'frobnicate'"
run 2 parse --no-such-option sigmoid
has "$tmp/err" "unknown or incomplete option '--no-such-option'"
run 2 parse
has "$tmp/err" "parse takes one FILE or MODEL"
run 2 parse -o
has "$tmp/err" "option '-o' needs an argument"

# the built-in models, found in the source tree when uninstalled
run 0 models
printf 'logistic\nrelu3\nsigmoid\nsoftmax\n' >"$tmp/models.expected"
cmp -s "$tmp/out" "$tmp/models.expected" || fail "models listed $(cat "$tmp/out")"
run 0 parse sigmoid
has "$tmp/out" "A2 = sigmoid(Z2)"
has "$tmp/out" "loss J = -1/m * np.sum(Y * np.log(A2) + (1 - Y) * np.log(1 - A2))"
has "$tmp/out" "Z1 = W1 @ X + b1                          # [n_h, m]"
run 0 parse softmax
has "$tmp/out" "A2 = softmax(Z2, axis=0)"
has "$tmp/out" "label Y[n_y, m] onehot"

# the listing parses again to itself: a name assigned twice is written as assigned (Z1, not
# the version Z1'), in the order of the source, and a definition after the loss (the course's
# s = 1/(1+np.exp(-Z2)) in the backward pass) names the loss ahead (loss cost), and another
# name of a value ((Z3, A3) = cache where cache = (z3, a3)) is written after it (Z3 = z3)
printf 'dims n = 2\nbatch m = 3\ninput X[n, m]\nparam W[n, n]\nZ = W @ X\nZ = Z * 2\nloss J = np.sum(Z)\n' >"$tmp/twice.dc"
for f in "$tmp/twice.dc" "$DC_EXAMPLES_DIR/course/c1w4_deep_neural_network.dc" \
    "$DC_EXAMPLES_DIR/course/c2w1_regularization.dc"; do
    run 0 parse "$f"
    cp "$tmp/out" "$tmp/dump1.dc"
    run 0 parse "$tmp/dump1.dc"
    cmp -s "$tmp/out" "$tmp/dump1.dc" || fail "the listing of $f does not parse to itself"
done
run 0 parse "$tmp/twice.dc"
has "$tmp/out" "Z = Z * 2                                 # [n, m]"
has "$tmp/out" "loss J = np.sum(Z)"
run 0 parse "$DC_EXAMPLES_DIR/course/c2w1_regularization.dc"
has "$tmp/out" "Z3 = z3"
# a gradient that is a number (dL2_regularization_cost = m) is written in: the
# regularised gradient reads as the course writes it, 1/m * (dZ X^T + lambd W)
run 0 derive "$DC_EXAMPLES_DIR/course/c2w1_regularization.dc"
has "$tmp/out" "  dW1 = 1/m * (lambd * W1 + dz1 @ X.T)"
has "$tmp/out" "  dW1 = lambd/m * W1 + dz1 @ X.T"

# a file is parsed as given, its pasted spellings written in the one NumPy
# spelling: np.dot and np.multiply as @ and *, np.power as **, 1./m as 1/m
run 0 parse "$DC_TEST_DATADIR/good/numpy-pasted.dc"
has "$tmp/out" "dZ1 = W2.T @ dZ2 * (1 - A1**2)"
has "$tmp/out" "db1 = 1/m * np.sum(dZ1, axis=1, keepdims=True)"
lacks "$tmp/out" "np.dot"
lacks "$tmp/out" "np.multiply"
lacks "$tmp/out" "np.power"
lacks "$tmp/out" "1./m"
# -q: nothing but the status
run 0 -q parse sigmoid
[ -s "$tmp/out" ] && fail "-q printed something"

# input errors: file:line:col, the line, a caret, exit status 2
printf 'dims n = 2\nbatch m = 4\ninput X[n, m]\nZ = X @ X\nloss J = sum(Z)\n' >"$tmp/shape.dc"
run 2 parse "$tmp/shape.dc"
has "$tmp/err" "$tmp/shape.dc:4:7: error: [n, m] @ [n, m]: inner dims m and n differ"
has "$tmp/err" "    4 | Z = X @ X"
has "$tmp/err" "      |       ^"
[ -s "$tmp/out" ] && fail "a failed parse printed a model"
run 2 parse "$tmp/no-such-file.dc"
has "$tmp/err" "derivcheck: error: cannot read '$tmp/no-such-file.dc': No such file or directory"
run 2 parse no_such_model
has "$tmp/err" "'no_such_model' is neither a file nor a built-in model"

# -o writes the whole file, and a failed run leaves the old one untouched
run 0 parse sigmoid -o "$tmp/dump.dc"
has "$tmp/dump.dc" "A2 = sigmoid(Z2)"
run 0 parse "$tmp/dump.dc"
echo "old content" >"$tmp/keep.txt"
run 2 parse "$tmp/shape.dc" -o "$tmp/keep.txt"
has "$tmp/keep.txt" "old content"
[ "$(ls "$tmp" | grep -c 'keep.txt.')" = 0 ] || fail "a temporary output file was left behind"
# a new file gets the mode the umask gives, a replaced one keeps its own
(umask 022 && "$DERIVCHECK" models -o "$tmp/mode-new.txt" && chmod 640 "$tmp/keep.txt" &&
    "$DERIVCHECK" models -o "$tmp/keep.txt") || fail "models -o failed"
mode=$(ls -l "$tmp/mode-new.txt" | cut -c1-10)
[ "$mode" = "-rw-r--r--" ] || fail "a new -o file has mode $mode, not -rw-r--r-- (umask 022)"
mode=$(ls -l "$tmp/keep.txt" | cut -c1-10)
[ "$mode" = "-rw-r-----" ] || fail "a replaced -o file has mode $mode, not its old -rw-r-----"

# --rules and DERIVCHECK_RULES choose where models come from; --rules wins
mkdir -p "$tmp/rules/models" "$tmp/other/models"
cp "$DC_RULES_DIR/models/logistic.dc" "$tmp/rules/models/mine.dc"
cp "$DC_RULES_DIR/models/logistic.dc" "$tmp/other/models/theirs.dc"
run 0 --rules "$tmp/rules" models
has "$tmp/out" "mine"
lacks "$tmp/out" "sigmoid"
DERIVCHECK_RULES="$tmp/other" run 0 models
has "$tmp/out" "theirs"
DERIVCHECK_RULES="$tmp/other" run 0 --rules "$tmp/rules" parse mine
has "$tmp/out" "A = sigmoid(Z)"
run 2 --rules "$tmp/nowhere" models
has "$tmp/err" "cannot read the models folder '$tmp/nowhere/models'"

# derive: both conventions, in the course's notation, on built-in models
run 0 derive sigmoid
has "$tmp/out" "Deferred convention: dV = m * dJ/dV for intermediates, dJ/dV for params"
has "$tmp/out" "  dZ2 = A2 - Y"
has "$tmp/out" "  dW2 = 1/m * dZ2 @ A1.T"
has "$tmp/out" "  db2 = 1/m * np.sum(dZ2, axis=1, keepdims=True)"
has "$tmp/out" "  dZ1 = W2.T @ dZ2 * (1 - A1**2)"
has "$tmp/out" "  dZ2 = 1/m * (A2 - Y)"
has "$tmp/out" "  dW2 = dZ2 @ A1.T"
has "$tmp/out" "Label assumptions used: none"
# the trace names the step where the 1/m enters (a param's gradient) and
# where it leaves (an intermediate's)
run 0 derive sigmoid --trace
has "$tmp/out" "    3. deferred convention (dU = m * dJ/dU for an intermediate U), where the 1/m enters: dJ/dZ2 = dZ2/m is written in"
has "$tmp/out" "      => dZ2/m @ A1.T"
has "$tmp/out" "    4. deferred convention (dU = m * dJ/dU for an intermediate U), where the 1/m leaves: dZ2 = m * dJ/dZ2"
has "$tmp/out" "      => m * (1/m * (A2 - Y))"
run 0 derive softmax --trace
has "$tmp/out" "  dZ2 = A2 - Y"
has "$tmp/out" "  dZ2: onehot(Y) by onehot.colsum (rules/labels.rules:"
has "$tmp/out" "softmax.axis0 (rules/adjoint.rules:"
sed 's/ onehot$//' "$DC_RULES_DIR/models/softmax.dc" >"$tmp/softmax-any.dc"
run 0 derive "$tmp/softmax-any.dc"
has "$tmp/out" "  dZ2 = A2 * np.sum(Y, axis=0, keepdims=True) - Y"
run 0 derive sigmoid --format json
has "$tmp/out" '"name": "dZ2", "of": "Z2", "kind": "definition", "named": true, "deferred": "A2 - Y", "absorbed": "1/m * (A2 - Y)"'
run 0 derive relu3 --format markdown
has "$tmp/out" '| `dZ2` | `W3.T @ dZ3 * (Z2 > 0)` | `W3.T @ dZ3 * (Z2 > 0)` |'
run 0 derive logistic --format latex
# one inline formula a paragraph, which TeX breaks over lines (align* would not)
lacks "$tmp/out" '\begin{align*}'
has "$tmp/out" '$\mathit{dZ} = \mathit{A} - \mathit{Y}$'
run 2 derive sigmoid --format yaml
has "$tmp/err" "derive writes text (default), json, markdown, latex or numpy, not 'yaml'"
run 2 derive "$tmp/shape.dc"
has "$tmp/err" "$tmp/shape.dc:4:7: error:"

# the calculus is in the rule files: without an adjoint rule, derive says which
mkdir -p "$tmp/norules"
grep -v '^sigmoid:' "$DC_RULES_DIR/adjoint.rules" >"$tmp/norules/adjoint.rules"
run 2 --rules "$tmp/norules" derive "$DC_RULES_DIR/models/sigmoid.dc"
has "$tmp/err" "no adjoint rule for the operation 'sigmoid' (argument 1)"
printf 'broken: a + => a\n' >"$tmp/norules/bad.rules"
run 2 --rules "$tmp/norules" derive "$DC_RULES_DIR/models/sigmoid.dc"
has "$tmp/err" "$tmp/norules/bad.rules:1:13: error: expected an expression, found '=>'"

# rules lists every rule with its file:line
run 0 rules
has "$tmp/out" "rules/adjoint.rules:"
has "$tmp/out" "C = sigmoid(a) => da = G * C * (1 - C)"
has "$tmp/out" "sum(y, axis=0, keepdims=True) => 1 if onehot(y)"

# prove: the placements of 1/m agree for params and differ by m for intermediates; each
# verdict says the method that decided it
run 0 prove sigmoid
has "$tmp/out" "Proven: every parameter gradient is the same in both placements (decided: 4 symbolic, 0 exact)."
has "$tmp/out" "dW2:  deferred 1/m * dZ2 @ A1.T"
has "$tmp/out" "  symbolic: lemma 3: absorbed dW2 = deferred dW2, from lemma 2 (dZ2), through add.left, matmul.left (linear in G)"
has "$tmp/out" "  symbolic: lemma 1: absorbed dA2 = 1/m * deferred dA2, the seed: the loss's 1/m, no earlier gradient"
# exact points at small sizes (2 to 5), every dim varied in turn, one at each size: the
# certificate proves the identity, so they confirm; MPFR at the first of those sizes whose m is
# no power of two
has "$tmp/out" "difference 0 at 4 of 4 random rational points with (n_x, n_h, n_y, m) = (2, 3, 4, 5), (3, 4, 5, 2), (4, 5, 2, 3), (5, 2, 3, 4) (activations free; only confirming: the certificate proves it)"
has "$tmp/out" "degree <= 6, 2^30 values per entry, 1 point at each size)"
has "$tmp/out" "  MPFR:     max |difference| / max |value| with n_x = 2, n_h = 3, n_y = 4, m = 5: 64 bits"
has "$tmp/out" "Against the loss: the derived gradients of the 4 params agree with the central difference of J along one random direction to 2^-"
lacks "$tmp/out" "  loss:"
has "$tmp/out" "  decided:  proven, symbolic: by the certificate, a proof for every size"
lacks "$tmp/out" "enclosure:"
run 0 prove softmax --format json
has "$tmp/out" '"proven": true, "verdict": "proven", "exact_batches": [5, 2, 3, 4], "exact_sizes": [{"n_x": 2, "n_h": 3, "n_y": 4, "m": 5}, {"n_x": 3, '
has "$tmp/out" '"verdict": "proven", "method": "symbolic", "disagree": false'
has "$tmp/out" '"loss": {"status": "agrees", "bits": 256'
run 0 prove relu3 --format markdown
has "$tmp/out" "| \`dW3\` |"
has "$tmp/out" "| proven (symbolic) |"
run 2 prove sigmoid --format latex
has "$tmp/err" "prove writes text (default), json or markdown, not 'latex'"
mkdir -p "$tmp/bogus"
cp "$DC_RULES_DIR"/*.rules "$tmp/bogus/"
echo 'bogus.scale: a^-1 * (b @ c) => b @ c' >>"$tmp/bogus/algebra.rules"
run 1 --rules "$tmp/bogus" prove "$DC_RULES_DIR/models/sigmoid.dc"
has "$tmp/out" "REFUTED: a parameter gradient differs between the placements: dW2 (exact), dW1 (exact)."
has "$tmp/out" "  decided:  REFUTED, exact: the difference is not 0 at entry [0, 0] of random point 0 (n_x = 2, n_h = 3, n_y = 4, m = 5)"
has "$tmp/out" "DISAGREE: the symbolic proof and the exact evaluation disagree"
# issue 15: a 1000-layer network written by bench/deepnet.sh is proven by its certificate,
# without a crash; the numeric tests left out (--numeric-depth 0), reported as not run
sh "$DC_TEST_DATADIR/../../bench/deepnet.sh" -w 2 -m 3 1000 >"$tmp/deep.dc" || fail "deepnet.sh failed"
run 0 prove --numeric-depth 0 "$tmp/deep.dc"
has "$tmp/out" "Proven: every parameter gradient is the same in both placements (decided: 2000 symbolic, 0 exact)."
has "$tmp/out" "  symbolic: lemma 3999: absorbed dW1 = deferred dW1, from lemma 3998 (dZ1), through add.left, matmul.left (linear in G)"
has "$tmp/out" "  numeric:  not run: dW1 is 1001 backward steps from the loss"
lacks "$tmp/out" "NOT shown"
# issue 13.2: a true identity with no exact point (exp of an unnamed argument) is proven by
# its normal forms, the exact test reported as not run, never REFUTED
inline="$DC_TEST_DATADIR/good/sigmoid-inline.dc"
run 0 prove "$inline"
has "$tmp/out" "  exact:    could not run at any of 4 random rational points with (n_x, n_h, m) = (2, 3, 4), (3, 4, 5), (4, 5, 2), (5, 2, 3): exact evaluation cannot compute exp"
has "$tmp/out" "  enclosure: no difference shown: at every entry the two enclosures overlap (Arb, 256 bits"
has "$tmp/out" "  decided:  proven, symbolic: by the certificate, a proof for every size"
has "$tmp/out" "Proven: every parameter gradient is the same in both placements (decided: 4 symbolic, 0 exact)."
lacks "$tmp/out" "REFUTED"
run 0 prove "$inline" --format json
has "$tmp/out" '"proven": true, "verdict": "proven"'
has "$tmp/out" '"exact_points": 0, "exact_equal": 0'
has "$tmp/out" '"enclosure": {"bits": 256, "status": "not_separated"'
# the unsound rule there: the symbolic side is fooled, no exact point exists, and the
# interval enclosure witnesses the difference (it drops the deferred 1/m: a factor m = 4 at the
# enclosure's first sizes)
run 1 --rules "$tmp/bogus" prove "$inline"
has "$tmp/out" "  enclosure: the enclosure of the difference excludes 0 at entry [0, 0] of random point 3000 (n_x = 2, n_h = 3, m = 4)"
has "$tmp/out" "  decided:  REFUTED, enclosure: the difference excludes 0 (Arb, 256 bits)"
has "$tmp/out" "DISAGREE: the symbolic proof and the enclosure evaluation disagree"
has "$tmp/out" "REFUTED: a parameter gradient differs between the placements: dW2 (enclosure), dW1 (enclosure)."
# an unsound adjoint (tanh' written 1 - C): both placements carry it, so they stay equal, but
# neither is the derivative of the loss any more (issue 18: the oracle, central differences of
# the loss that use no rule); prove must not say "Proven", and exits 2, naming the gradients and
# the rule: tanh at the line appended (counted here), first (sigmoid.dc's dZ1 is its own
# gradient, so the rule is named through it; sigmoid-inline.dc's tanh takes W1 @ X + b1
# unnamed, so the rules of dW1's and db1's own steps are named, tanh the first of them)
mkdir -p "$tmp/tanh"
for f in "$DC_RULES_DIR"/*.rules; do
    grep -v '^tanh:' "$f" >"$tmp/tanh/${f##*/}"
done
echo 'tanh: C = tanh(a) => da = G * (1 - C)' >>"$tmp/tanh/adjoint.rules"
tanh_line=$(wc -l <"$tmp/tanh/adjoint.rules" | tr -d ' ')
unsound="the derived dW1, db1 are not the derivative of J (along a random direction U: sum(dW1 * U) = "
for model in "$DC_RULES_DIR/models/sigmoid.dc" "$inline"; do
    run 2 --rules "$tmp/tanh" prove "$model"
    has "$tmp/out" "  loss:     DIFFER: sum(dW1 * U) is "
    has "$tmp/out" "the derived dW1 is not the derivative of J, so a rule is unsound"
    has "$tmp/out" "NOT THE DERIVATIVE: $unsound"
    has "$tmp/out" "a rule they use is unsound: tanh (tanh/adjoint.rules:$tanh_line)"
    has "$tmp/out" "The exit status is 2: the rule base is unsound"
    has "$tmp/err" "$unsound"
    has "$tmp/err" "unsound: tanh (tanh/adjoint.rules:$tanh_line)"
    has "$tmp/err" "(run derivcheck rules --verify)"
    lacks "$tmp/out" "Proven"
    lacks "$tmp/out" "REFUTED"
done
run 2 --rules "$tmp/tanh" prove "$DC_RULES_DIR/models/sigmoid.dc"
has "$tmp/out" "a rule they use is unsound: tanh (tanh/adjoint.rules:$tanh_line), through dZ1. The exit status is 2"
run 2 --rules "$tmp/tanh" prove "$DC_RULES_DIR/models/sigmoid.dc" --format json
has "$tmp/out" '"proven": false, "verdict": "undecided"'
has "$tmp/out" '"oracle": {"status": "differs", "bits": 256, "params": 4, "points": 1'
has "$tmp/out" '"wrong": ["dZ1", "dW1", "db1"], "first_wrong": ["dZ1"], "rules": [{"name": "tanh", "file": "tanh/adjoint.rules", "line": '"$tanh_line"'}]'
has "$tmp/out" '"loss": {"status": "differs", "bits": 256'
# doc proves too: its document says so, and it exits 2 as prove does (it exited 1, REFUTED)
run 2 --rules "$tmp/tanh" doc "$DC_RULES_DIR/models/sigmoid.dc"
has "$tmp/out" "**NOT THE DERIVATIVE OF THE LOSS: **the derived dW1, db1 are not the derivative of J"
has "$tmp/err" "unsound: tanh (tanh/adjoint.rules:$tanh_line), through dZ1"
# check: the same unsound rule blessed mistake_tanh_derivative.dc (whose dZ1 uses 1 - A1 for
# tanh's derivative) as "2 of 2 claims hold", exit 0. Now the derivation is confirmed against
# the loss before any claim is judged: dZ1's own gradient is wrong, so its claim is undecided
# (unsound_rule), dZ2's gradient alone agrees, so its claim is judged; exit 2
run 2 --rules "$tmp/tanh" check "$DC_EXAMPLES_DIR/mistake_tanh_derivative.dc"
has "$tmp/out" "  UNDEC dZ1    line 17   undecided: the derived dZ1 is not the derivative of J (along a random direction U: sum(dZ1 * U) = "
has "$tmp/out" "  ok    dZ2    line 16   holds: deferred, m * dJ/dZ2"
has "$tmp/out" "NOT THE DERIVATIVE: $unsound"
has "$tmp/out" "a rule they use is unsound: tanh (tanh/adjoint.rules:$tanh_line), through dZ1."
has "$tmp/err" "tanh (tanh/adjoint.rules:$tanh_line), through dZ1 (run derivcheck rules --verify)"
lacks "$tmp/out" "  ok    dZ1"
lacks "$tmp/out" "2 of 2 claims hold"
run 2 --rules "$tmp/tanh" check --format json "$DC_EXAMPLES_DIR/mistake_tanh_derivative.dc"
has "$tmp/out" '"all_hold": false, "outcome": "undecided"'
has "$tmp/out" '"oracle": {"status": "differs", "bits": 256, "params": 4'
has "$tmp/out" '"verdict": "undecided", "convention": null, "diagnosis": "unsound_rule"'
# with the sound rules the same file's mistake is found, and the derivation confirmed
run 1 check "$DC_EXAMPLES_DIR/mistake_tanh_derivative.dc"
has "$tmp/out" "  WRONG dZ1    line 17   uses 1 - A1 where A1 = np.tanh(Z1) needs 1 - A1**2"
has "$tmp/out" "Against the loss: the derived gradients of the 4 params agree with the central difference of J along one random direction to 2^-"
# a clean run: one line says the derivation was confirmed, and JSON carries it
run 0 check "$DC_EXAMPLES_DIR/ng_sigmoid_deferred.dc"
has "$tmp/out" "Against the loss: the derived gradients of the 4 params agree with the central difference of J along one random direction to 2^-"
has "$tmp/out" "(MPFR, 256 bits)."
run 0 check --format json "$DC_EXAMPLES_DIR/ng_sigmoid_deferred.dc"
has "$tmp/out" '"oracle": {"status": "agrees", "bits": 256, "params": 4, "points": 1, "log2_gap": '
has "$tmp/out" '"loss_evaluations": 5,'
# relu: kinks everywhere in the loss, but a random point sits on none (at an exact kink the
# one-sided differences differ and another point is tried: tests/check_oracle.c); the three
# layers' 6 params are confirmed
run 0 prove relu3
has "$tmp/out" "Against the loss: the derived gradients of the 6 params agree with the central difference of J along one random direction to 2^-"
lacks "$tmp/out" "  loss:"
# a missing rules folder is named as missing, not as a model that is unknown
run 2 --rules "$tmp/no-such-folder" derive sigmoid
has "$tmp/err" "the rules folder '$tmp/no-such-folder' of the built-in models is missing"
lacks "$tmp/err" "unknown"
run 2 --rules "$tmp/no-such-folder" check "$DC_EXAMPLES_DIR/ng_sigmoid_deferred.dc"
has "$tmp/err" "the rules folder '$tmp/no-such-folder' is missing"

# rules --verify: every rule at random points; a planted wrong rule is named
run 0 rules --verify
has "$tmp/out" " 0 failed (seed 1, 16 points each, 256 bits)"
has "$tmp/out" "ok   sigmoid (rules/adjoint.rules:"
run 0 rules --verify --seed 99 --samples 3 --prec 64
has "$tmp/out" " 0 failed (seed 99, 3 points each, 64 bits)"
mkdir -p "$tmp/wrong"
for f in "$DC_RULES_DIR"/*.rules; do
    grep -v '^neg:' "$f" >"$tmp/wrong/${f##*/}"
done
echo 'neg: C = -a => da = G' >>"$tmp/wrong/adjoint.rules"
run 1 --rules "$tmp/wrong" rules --verify
has "$tmp/out" "FAIL neg (wrong/adjoint.rules:"
has "$tmp/out" " 1 failed "
# a rule that cannot be checked at any point (NaN at every draw) is neither ok nor failed:
# exit 2, the report written, the error saying why
mkdir -p "$tmp/unrun"
cp "$DC_RULES_DIR"/*.rules "$tmp/unrun/"
echo 'log.neg: log(-exp(x)) => x' >>"$tmp/unrun/algebra.rules"
run 2 --rules "$tmp/unrun" rules --verify
has "$tmp/out" "n/a  log.neg (unrun/algebra.rules:"
has "$tmp/out" "could not run: no point where the check can be made"
has "$tmp/out" " ok, 0 failed, 1 could not run (seed 1, 16 points each, 256 bits)"
lacks "$tmp/out" "FAIL"
has "$tmp/err" "rules --verify could not check 1 rule at any point (see the n/a lines)"
run 2 rules --verify --samples 0
has "$tmp/err" "--samples takes a number of points from 1 to 10000 (the cap), not '0'"
run 2 rules --verify --prec 10001
has "$tmp/err" "--prec takes a precision from 64 to 10000 bits (the cap), not '10001'"
run 2 rules --verify --seed -3
has "$tmp/err" "--seed takes a nonnegative integer, not '-3'"
run 2 rules --verify --format json
has "$tmp/err" "rules --verify writes text only"
run 0 rules
has "$tmp/out" "sigmoid"

# eval: the loss and gradients as numbers; every bad data file names file:line:col
run 0 eval sigmoid --format json
has "$tmp/out" '"loss": "'
has "$tmp/out" '"dW1": ['
run 0 eval logistic --data "$DC_TEST_DATADIR/json/good-logistic.json" --prec 64 --check-fd
has "$tmp/out" "dims: n_x = 3, n_y = 1, m = 4"
has "$tmp/out" "the derived gradients agree"
run 2 eval sigmoid --prec 5
has "$tmp/err" "--prec takes a precision from 64 to 10000 bits (the cap), not '5'"
run 2 eval sigmoid --data "$tmp/none.json"
has "$tmp/err" "cannot read the data file '$tmp/none.json'"
tab=$(printf '\t')
while IFS=$tab read -r file model place msg; do
    case $file in '#'* | '') continue ;; esac
    case $model in *.dc) model=$DC_TEST_DATADIR/json/$model ;; esac
    run 2 eval "$model" --data "$DC_TEST_DATADIR/json/$file"
    has "$tmp/err" "$DC_TEST_DATADIR/json/$file:$place: error: $msg"
done <"$DC_TEST_DATADIR/json/bad-cases.txt"
# the gradient of the loss as written at the data as given: a prob label whose
# columns sum to 1 only within the reader's tolerance is not assumed to sum to 1
run 0 eval "$DC_TEST_DATADIR/json/prob.dc" --data "$DC_TEST_DATADIR/json/good-prob-near-one.json" --check-fd
has "$tmp/out" "labels: Y is a prob label, but column 1 of its data sums to 1 + 5e-13, not exactly 1: the gradients are derived without assuming its columns sum to 1"
has "$tmp/out" "the derived gradients agree"
run 0 eval "$DC_TEST_DATADIR/json/prob.dc" --data "$DC_TEST_DATADIR/json/good-prob-smoothed-double.json" --format json
has "$tmp/out" '"labels_not_assumed": [{"label": "Y", "declared": "prob", "column": 0, "sum": "1 + 4.86e-17"}]'
run 0 eval "$DC_TEST_DATADIR/json/prob.dc" --data "$DC_TEST_DATADIR/json/good-prob-smoothed-exact.json"
lacks "$tmp/out" "labels:"
# nan and inf are marked and have no digits, and the exit status says so (2);
# beyond the exponent range eval refuses
run 2 eval "$DC_TEST_DATADIR/json/log0.dc" --data "$DC_TEST_DATADIR/json/good-log0.json"
has "$tmp/out" "J = nan"
has "$tmp/err" "2 entries of J, dV not finite (nan or inf): no digit of them is proved"
has "$tmp/out" "  not finite: 1 of 1 entry, without digits (nan: no value, or none the precision bounds; inf: infinite)"
run 2 eval "$DC_TEST_DATADIR/json/exp.dc" --data "$DC_TEST_DATADIR/json/exp-overflow.json"
has "$tmp/err" "cannot evaluate J: a value on the way overflows MPFR's exponent range even at its widest"
# a constant division by zero is an input error where it is written (eval
# printed nan and prove said REFUTED)
run 2 eval "$DC_TEST_DATADIR/bad/90-division-by-zero-literal.dc"
has "$tmp/err" "90-division-by-zero-literal.dc:14:61: error: division by zero: the divisor is the constant 0; expected a nonzero divisor"
run 2 prove "$DC_TEST_DATADIR/bad/93-zero-to-negative-power.dc"
has "$tmp/err" "93-zero-to-negative-power.dc:14:62: error: 0 to a negative power is a division by zero"

# check: a person's derivation, claim by claim
run 0 check "$DC_EXAMPLES_DIR/ng_sigmoid_deferred.dc"
has "$tmp/out" "6 of 6 claims hold."
# issue 19: dZ2 = A2 - Y holds, with a note giving the form from the logits in its convention
has "$tmp/out" "note: computed from A2, dZ2 loses accuracy for confident predictions"
has "$tmp/out" "from the logits it does not: dZ2 = (1 - Y) * sigmoid(Z2) - Y * sigmoid(-Z2)"
run 0 check "$DC_EXAMPLES_DIR/ng_sigmoid_absorbed.dc"
has "$tmp/out" "from the logits it does not: dZ2 = 1/m * ((1 - Y) * sigmoid(Z2) - Y * sigmoid(-Z2))"
run 0 check "$DC_EXAMPLES_DIR/softmax_onehot.dc"
has "$tmp/out" "dZ2 = A2 * (1 - Y) - Y * np.sum(A2 * (1 - Y), axis=0, keepdims=True)"
lacks "$tmp/out" "note: computed from A2, dW2"
# the same for a sigmoid written out in NumPy, as the course's notebooks write it: the note,
# derive's form from the logits, and error's "from logits" formulation in the confident regime
cat >"$tmp/written.dc" <<'EOF2'
dims n_x = 3, n_h = 4
batch m = 8
input X[n_x, m]
label Y[1, m] binary
param W1[n_h, n_x], b1[n_h, 1], W2[1, n_h], b2[1, 1]
Z1 = np.dot(W1, X) + b1
A1 = np.tanh(Z1)
Z2 = np.dot(W2, A1) + b2
A2 = 1 / (1 + np.exp(-Z2))
cost = -1 / m * np.sum(Y * np.log(A2) + (1 - Y) * np.log(1 - A2))
dZ2 = A2 - Y
dW2 = 1 / m * np.dot(dZ2, A1.T)
EOF2
run 0 check "$tmp/written.dc"
has "$tmp/out" "from the logits it does not: dZ2 = (1 - Y) * sigmoid(Z2) - Y * sigmoid(-Z2)"
run 0 derive "$tmp/written.dc"
has "$tmp/out" "From the logits (the same dZ2, accurate for confident predictions"
run 0 error "$tmp/written.dc" --regime confident --samples 1
has "$tmp/out" "then the logits Z2 drawn in place of Z2's formula"
has "$tmp/out" "  dZ2      from logits "
# a notebook's own sigmoid(), pasted with its docstring and body: the body's names (z, s) are
# the function's, and the language's sigmoid is used; the claims after it are read. The
# course's cost = np.squeeze(cost) keeps the name cost in reports (not cost')
cat >"$tmp/owndef.dc" <<'EOF2'
dims n_x = 3
batch m = 5
input X[n_x, m]
label Y[1, m] binary
param w[n_x, 1], b
def sigmoid(z):
    """
Compute the sigmoid of z
    """
    s = 1 / (1 + np.exp(-z))

    # the value
    return s
Z = np.dot(w.T, X) + b
A = sigmoid(Z)
cost = -1 / m * np.sum(Y * np.log(A) + (1 - Y) * np.log(1 - A))
cost = np.squeeze(np.array(cost))
dA = - (np.divide(Y, A) - np.divide(1 - Y, 1 - A))
s = 1 / (1 + np.exp(-Z))
dZ = dA * s * (1 - s)
dw = 1 / m * np.dot(X, dZ.T)
db = np.sum(dZ)
EOF2
run 1 check "$tmp/owndef.dc"
has "$tmp/out" "holds: dcost/dw, from deferred gradients"
has "$tmp/out" "WRONG db     line 22   has a factor m too many (a 1/m is missing)"
lacks "$tmp/out" "cost'"
# s, the sigmoid written out in the backward pass, is the A = sigmoid(Z) of the forward one:
# dZ = dA * s * (1 - s) is A - Y by a symbolic proof, not by numbers alone
sed -n '/^  ok    dZ /,/method/p' "$tmp/out" >"$tmp/dz"
has "$tmp/dz" "holds: deferred, m * dcost/dZ"
has "$tmp/dz" "method: symbolic: both sides reduce to one normal form"
# the file's own functions that it calls are inlined: a call stands for the value its body
# returns, its parameters bound to the call's arguments (here the expression W @ X)
printf 'dims n = 2\nbatch m = 3\ninput X[n, m]\nparam W[1, n]\n\ndef leaky(z):\n    return np.maximum(0.01 * z, z)\nA = leaky(W @ X)\nloss J = np.sum(A)\n' >"$tmp/owncall.dc"
run 0 parse "$tmp/owncall.dc"
has "$tmp/out" "A = np.maximum(1/100 * (W @ X), W @ X)"
lacks "$tmp/out" "leaky"
# a two-layer network whose backward pass calls sigmoid_backward (a docstring, locals s and dZ
# that shadow nothing of the model) and a one-line tanh_prime: every claim is proved
# symbolically, in the caller's names
cat >"$tmp/helpers.dc" <<'EOF2'
dims n_x = 3, n_h = 4
batch m = 5
input X[n_x, m]
label Y[1, m] binary
param W1[n_h, n_x], b1[n_h, 1], W2[1, n_h], b2[1, 1]

def sigmoid_backward(dA, Z):
    """The gradient of the sigmoid's input Z, given dA."""
    s = 1 / (1 + np.exp(-Z))
    dZ = dA * s * (1 - s)
    return dZ

def tanh_prime(a): return 1 - a ** 2  # a = tanh(z)

Z1 = W1 @ X + b1
A1 = np.tanh(Z1)
Z2 = W2 @ A1 + b2
A2 = 1 / (1 + np.exp(-Z2))
cost = -1 / m * np.sum(Y * np.log(A2) + (1 - Y) * np.log(1 - A2))
dA2 = -(Y / A2 - (1 - Y) / (1 - A2))
dZ2 = sigmoid_backward(dA2, Z2)
dW2 = 1 / m * dZ2 @ A1.T
db2 = 1 / m * np.sum(dZ2, axis=1, keepdims=True)
dZ1 = W2.T @ dZ2 * tanh_prime(A1)
dW1 = 1 / m * dZ1 @ X.T
db1 = 1 / m * np.sum(dZ1, axis=1, keepdims=True)
EOF2
run 0 check "$tmp/helpers.dc"
for c in "dZ2    line 21   holds: deferred, m * dcost/dZ2" "dW2    line 22   holds: dcost/dW2" \
    "db2    line 23   holds: dcost/db2" "dZ1    line 24   holds: deferred, m * dcost/dZ1" \
    "dW1    line 25   holds: dcost/dW1" "db1    line 26   holds: dcost/db1"; do
    has "$tmp/out" "  ok    $c"
done
[ "$(grep -c 'method: symbolic: both sides reduce to one normal form' "$tmp/out")" = 7 ] ||
    fail "helpers.dc: not all 7 claims proved symbolically"
has "$tmp/out" "7 of 7 claims hold."
run 0 parse "$tmp/helpers.dc"
has "$tmp/out" "dZ2 = dA2 * (1 / (1 + np.exp(-Z2))) * (1 - 1 / (1 + np.exp(-Z2)))"
has "$tmp/out" "dZ1 = W2.T @ dZ2 * (1 - A1**2)"
# the helper's body wrong (tanh' taken as 1 - a): the claim that calls it is wrong, named in
# the caller's names, and the claims after it are right given it
sed 's/return 1 - a \*\* 2/return 1 - a/' "$tmp/helpers.dc" >"$tmp/helpers_wrong.dc"
run 1 check "$tmp/helpers_wrong.dc"
has "$tmp/out" "  WRONG dZ1    line 24   uses 1 - A1 where A1 = np.tanh(Z1) needs 1 - A1**2"
has "$tmp/out" "expected: dZ1 = dZ2 * W2.T * (1 - A1**2)"
has "$tmp/out" "  GIVEN dW1    line 25"
has "$tmp/out" "  ok    dZ2    line 21"
has "$tmp/out" "4 of 7 claims hold."
# a forward helper gives the numbers of its body written in place
sed -n '1,5p' "$tmp/helpers.dc" >"$tmp/fwd_head"
{
    cat "$tmp/fwd_head"
    printf 'def leaky(z):\n    return np.maximum(0.01 * z, z)\nZ1 = W1 @ X + b1\nA1 = leaky(Z1)\n'
    printf 'Z2 = W2 @ A1 + b2\nA2 = 1 / (1 + np.exp(-Z2))\n'
    printf 'cost = -1 / m * np.sum(Y * np.log(A2) + (1 - Y) * np.log(1 - A2))\n'
} >"$tmp/leaky_call.dc"
{
    cat "$tmp/fwd_head"
    printf 'Z1 = W1 @ X + b1\nA1 = np.maximum(0.01 * Z1, Z1)\n'
    printf 'Z2 = W2 @ A1 + b2\nA2 = 1 / (1 + np.exp(-Z2))\n'
    printf 'cost = -1 / m * np.sum(Y * np.log(A2) + (1 - Y) * np.log(1 - A2))\n'
} >"$tmp/leaky_inplace.dc"
run 0 eval "$tmp/leaky_call.dc"
sed 1d "$tmp/out" >"$tmp/eval_call"
has "$tmp/eval_call" "dW1 [n_h, n_x], 4 x 3:"
run 0 eval "$tmp/leaky_inplace.dc"
sed 1d "$tmp/out" >"$tmp/eval_inplace"
cmp -s "$tmp/eval_call" "$tmp/eval_inplace" || fail "eval of leaky(Z1) differs from its body in place"
# relu_backward as the course writes it (a copy, a masked assignment of a local, an assert),
# called with keyword arguments; a parameter's default (k = 2) and annotations
cat >"$tmp/relu_backward.dc" <<'EOF2'
dims n = 2
batch m = 3
input X[n, m]
param W[1, n]
def relu_backward(dA, cache):
    Z = cache
    dZ = np.array(dA, copy=True)
    dZ[Z <= 0] = 0
    assert (dZ.shape == Z.shape)
    return dZ
def scale(v: np.ndarray, k: float = 2) -> np.ndarray:
    v *= k
    return v
Z = W @ X
A = np.maximum(0, Z)
loss J = np.sum(A)
dA = 0 * A + 1
dZ = relu_backward(cache=Z, dA=dA)
dW = scale(dZ @ X.T, 1)
EOF2
run 0 check "$tmp/relu_backward.dc"
has "$tmp/out" "  ok    dZ     line 18"
has "$tmp/out" "  ok    dW     line 19"
run 0 parse "$tmp/relu_backward.dc"
has "$tmp/out" "dZ = dA * (Z > 0)"
has "$tmp/out" "dW = dZ @ X.T * 1"
sed 's/dW = scale(dZ @ X.T, 1)/dW = scale(dZ @ X.T) \/ 2/' "$tmp/relu_backward.dc" >"$tmp/default.dc"
run 0 parse "$tmp/default.dc"
has "$tmp/out" "dW = dZ @ X.T * 2 / 2"
# a def named in comments, a docstring and a print line only is not called: its body is read
# as lines of the derivation, as before
cat >"$tmp/notcalled.dc" <<'EOF2'
dims n = 2
batch m = 3
input X[n, m]
param W[1, n]
def forward(X, W):
    """forward(X, W) computes the loss"""
    A = np.tanh(W @ X)  # forward(X, W)
    J = np.sum(A)
    return J
print(forward(X, W))
loss J
EOF2
run 0 parse "$tmp/notcalled.dc"
has "$tmp/out" "A = np.tanh(W @ X)"
# what a call cannot stand for is refused at its place, in the body with the call's line
own() { # own NAME BODY CALL: a model whose loss is np.sum(CALL), after the def(s) BODY
    printf 'dims n = 2\nbatch m = 3\ninput X[n, m]\nparam W[1, n]\n%bA = %s\nloss J = np.sum(A)\n' \
        "$2" "$3" >"$tmp/$1.dc"
}
own recursive 'def f(z):\n    return f(z) + 1\n' 'f(W @ X)'
run 2 parse "$tmp/recursive.dc"
has "$tmp/err" "recursive.dc:6:12: error: 'f' calls itself: a recursive function cannot be inlined (in the call of 'f' at line 7)"
own mutual 'def f(z):\n    return g(z)\ndef g(z):\n    return f(z) * 2\n' 'f(W @ X)'
run 2 parse "$tmp/mutual.dc"
has "$tmp/err" "mutual.dc:8:12: error: 'f' calls itself, through 'g': a recursive function cannot be inlined (in the call of 'g' at line 6, from the call of 'f' at line 9)"
own selfonly 'def f(z):\n    B = f(z)\n' 'W @ X'
run 2 parse "$tmp/selfonly.dc"
has "$tmp/err" "selfonly.dc:6:9: error: 'f' is the file's own function (def at line 5), called only in its own body"
own arity 'def f(z):\n    return z\n' 'f(W @ X, X)'
run 2 parse "$tmp/arity.dc"
has "$tmp/err" "arity.dc:7:14: error: f() takes 1 argument, got 2 (def at line 5)"
own arity2 'def f(z, y, k=1):\n    return z * k\n' 'f(W @ X)'
run 2 parse "$tmp/arity2.dc"
has "$tmp/err" "arity2.dc:7:5: error: f() takes 2 to 3 arguments, got 1 (def at line 5)"
own keyword 'def f(z):\n    return z\n' 'f(y=W @ X)'
run 2 parse "$tmp/keyword.dc"
has "$tmp/err" "keyword.dc:7:7: error: f() has no parameter 'y' (def at line 5)"
own tuple 'def f(z):\n    c = z\n    return z, c\n' 'f(W @ X)'
run 2 parse "$tmp/tuple.dc"
has "$tmp/err" "tuple.dc:7:13: error: 'f' returns more than one value; a function the file calls must return one value"
own noreturn 'def f(z):\n    y = z * 2\n' 'f(W @ X)'
run 2 parse "$tmp/noreturn.dc"
has "$tmp/err" "noreturn.dc:5:5: error: 'f' returns no value; expected a line 'return EXPR' in its body (in the call of 'f' at line 7)"
own branch 'def f(z):\n    if z > 0:\n        return z\n    return 0 * z\n' 'f(W @ X)'
run 2 parse "$tmp/branch.dc"
has "$tmp/err" "branch.dc:6:5: error: 'if' is Python control flow"
has "$tmp/err" "(in the call of 'f' at line 9)"
own local 'def f(z):\n    y = q * z\n    return y\n' 'f(W @ X)'
run 2 parse "$tmp/local.dc"
has "$tmp/err" "local.dc:6:9: error: undefined name 'q' (in the call of 'f' at line 8)"
# the caps: calls nested 33 deep; a value used twice in each of 25 nested calls (2^25 copies
# once written out); a chain f_k = f_(k-1) + f_(k-1) of 25 functions that read 2^25 bodies.
# Each is refused before the work it bounds, quickly
chain() { # chain NAME BODY_OF_F0 BODY_OF_FK LEVELS CALL
    {
        printf 'def f0(x):\n    return %s\n' "$2"
        for k in $(seq 1 "$4"); do
            printf "def f$k(x):\n    return $3\n" | sed "s/PREV/f$((k - 1))/g"
        done
    } >"$tmp/defs"
    own "$1" "$(cat "$tmp/defs")\n" "$5"
}
chain deep 'x' 'PREV(x)' 40 'f40(W @ X)'
run 2 parse "$tmp/deep.dc"
has "$tmp/err" "error: calls of the file's own functions nested more than 32 levels deep (the cap, PARSE_MAX_CALL_DEPTH)"
chain twice 'x + x' 'PREV(x)' 0 "$(printf 'f0(%.0s' $(seq 25))W @ X$(printf ')%.0s' $(seq 25))"
run 2 parse "$tmp/twice.dc"
has "$tmp/err" "error: the values of the calls of the file's own functions, written out in place, take more than the cap of 1024 Ki tokens (PARSE_MAX_EXPANDED)"
chain blowup '1' 'PREV(1) + PREV(1)' 25 'f25(1) * (W @ X)'
run 2 parse "$tmp/blowup.dc"
has "$tmp/err" "error: the calls of the file's own functions read more than the cap of 1024 KiB of their bodies (PARSE_MAX_INLINED); each call reads its function's body again"
has "$tmp/err" "from the call of 'f25' at line 57)"
own names "def f(x):\n$(for k in $(seq 256); do printf '    v%d = x\\n' "$k"; done)    return x\n" 'f(W @ X)'
run 2 parse "$tmp/names.dc"
has "$tmp/err" "names.dc:261:5: error: more than 256 names in the body of 'f' (the cap, PARSE_MAX_LOCALS)"
# a claim with a bracket left open (and a shape error inside it) is refused as Python refuses
# it, not judged as a wrong shape with the lines after it swallowed
printf 'dims n = 2\nbatch m = 3\ninput X[n, m]\nparam W[n, n]\nparam b[n, 1]\nZ = W @ X + b\nloss J = np.sum(Z)\ndW = np.dot(Z + X.T, X\ndb = np.sum(Z, axis=1, keepdims=True)\n' >"$tmp/open.dc"
run 2 check "$tmp/open.dc"
has "$tmp/err" "open.dc:8:12: error: '(' is never closed"
# the relu mask the other way round is named, as written ((Z1 <= 0), not (0 >= Z1)), and a
# counterexample's zero is 0, not the -0 of a product by a negative
printf 'dims n_x = 4, n_h = 3\nbatch m = 6\ninput X[n_x, m]\nlabel Y[1, m] binary\nparam W1[n_h, n_x], b1[n_h, 1], W2[1, n_h], b2[1, 1]\nZ1 = W1 @ X + b1\nA1 = np.maximum(0, Z1)\nZ2 = W2 @ A1 + b2\nA2 = 1 / (1 + np.exp(-Z2))\ncost = -1 / m * np.sum(Y * np.log(A2) + (1 - Y) * np.log(1 - A2))\ndZ2 = A2 - Y\ndZ1 = W2.T @ dZ2 * (Z1 <= 0)\n' >"$tmp/mask.dc"
run 1 check "$tmp/mask.dc"
has "$tmp/out" "by your formula but 0 by the derivation"
has "$tmp/out" "WRONG dZ1    line 12   uses the mask (Z1 <= 0), the other way round: it keeps the entries that A1 = relu(Z1) zeroes and drops the others; the mask is (Z1 > 0)"
run 1 check --format json "$tmp/mask.dc"
has "$tmp/out" '"diagnosis": "relu_mask"'
# a name used above the line that assigns it says so (a backward pass pasted above the forward)
printf 'dims n = 2\nbatch m = 3\ninput X[n, m]\nparam W[n, n]\ndZ = Z * 2\nZ = W @ X\nloss J = np.sum(Z)\n' >"$tmp/below.dc"
run 2 check "$tmp/below.dc"
has "$tmp/err" "below.dc:5:6: error: 'Z' is not defined yet: it is assigned at line 6, below"
# the 2 a square's derivative brings down, dropped: the mean squared error's gradient is
# 2/m (y_hat - Y), and (y_hat - Y)/m is named as half of it
printf 'dims n = 3\nbatch m = 20\ninput X[n, m]\nlabel Y[1, m]\nparam w[1, n]\nparam b\ny_hat = np.dot(w, X) + b\nloss = np.mean((y_hat - Y) ** 2)\ndy_hat = (y_hat - Y) / m\n' >"$tmp/mse.dc"
run 1 check "$tmp/mse.dc"
has "$tmp/out" "WRONG dy_hat line 9    lacks a factor 2: it is 1/2 of the gradient"
has "$tmp/out" "expected: dy_hat = 2/m * (y_hat - Y)"
run 1 check --format json "$tmp/mse.dc"
has "$tmp/out" '"diagnosis": "constant_factor"'
# a (1, 1) cost is summed to its one entry, and the report names it as written
cat >"$tmp/cost11.dc" <<'EOF2'
dims n_x = 2
batch m = 4
input X[n_x, m]
label Y[1, m] binary
param w[n_x, 1], b
A = 1 / (1 + np.exp(-(np.dot(w.T, X) + b)))
cost = (1./m) * (-np.dot(Y, np.log(A).T) - np.dot(1 - Y, np.log(1 - A).T))
dw = 1./m * np.dot(X, (A - Y).T)
EOF2
run 0 check "$tmp/cost11.dc"
has "$tmp/out" "holds: dcost/dw"
lacks "$tmp/out" "cost'"
# a batch-first network with row biases b1[1, H] and db1 = np.sum(dh, axis=0) of shape [H]:
# the same entries, which b1 - learning_rate * db1 keeps in b1's shape, so it holds with a note
# (for a column bias b1[n_h, 1], db1 [n_h] broadcasts to [n_h, n_h]: SHAPE, tests/mutations.sh);
# mistakes are named in the model's own batch name, N
cat >"$tmp/rowbias.dc" <<'EOF2'
dims D = 5, H = 7, C = 3
batch N = 6
input X[N, D]
label y[N, C] onehot
param W1[D, H], b1[1, H], W2[H, C], b2[1, C]
h = X @ W1 + b1
a = np.maximum(0, h)
scores = a @ W2 + b2
probs = np.exp(scores) / np.sum(np.exp(scores), axis=1, keepdims=True)
loss = -np.sum(y * np.log(probs)) / N
dscores = (probs - y) / N
dW2 = a.T @ dscores
dh = dscores @ W2.T * (h > 0)
db1 = np.sum(dh, axis=0)
EOF2
run 0 check "$tmp/rowbias.dc"
has "$tmp/out" "  ok    db1    line 14   holds: dloss/db1, from absorbed gradients"
has "$tmp/out" "note: db1 is [H] and b1 is [1, H]: the same entries, and NumPy's broadcasting keeps b1's shape in b1 - learning_rate * db1"
sed 's|^db1 = np.sum(dh, axis=0)$|db1 = np.sum(dh, axis=0) / N|' "$tmp/rowbias.dc" >"$tmp/rowbias2.dc"
run 1 check "$tmp/rowbias2.dc"
has "$tmp/out" "  WRONG db1    line 14   has a factor 1/N too many"
# the course's week 3 writes the loss through logprobs: the note on dZ2 = A2 - Y all the same
run 0 check "$DC_EXAMPLES_DIR/course/c1w3_planar_data.dc"
has "$tmp/out" "  ok    dZ2    line 129  holds: deferred, m * dcost/dZ2"
has "$tmp/out" "from the logits it does not: dZ2 = (1 - Y) * sigmoid(Z2) - Y * sigmoid(-Z2)"
run 0 check "$DC_EXAMPLES_DIR/course/cs231n_two_layer_net.dc"
has "$tmp/out" "  ok    dscores line 35   holds: deferred, N * dloss/dscores"
run 1 check "$DC_EXAMPLES_DIR/ng_sigmoid_wrong.dc"
has "$tmp/out" "  WRONG dW2    line 18   has a factor m too many (a 1/m is missing)"
has "$tmp/out" "        counterexample: at the random point 0 of seed 1, dW2["
run 1 check "$DC_EXAMPLES_DIR/mistake_sign.dc" --format json
has "$tmp/out" '"name": "dZ2", "line": 16, "verdict": "wrong", "convention": null, "diagnosis": "sign", "reason": "has the wrong sign"'
run 2 check sigmoid
has "$tmp/err" "has no claims to check"
# a loss that depends on none of the claims' targets: their gradients are 0
# (fuzz_check found check crashing on the missing gradient)
run 1 check "$DC_TEST_DATADIR/good/loss-constant.dc"
has "$tmp/out" "  WRONG dZ     line 12   is 0: the loss J does not depend on Z"
has "$tmp/out" "        expected: dZ = 0"
has "$tmp/out" "  GIVEN dW     line 13   right given your earlier claims, but they are wrong: dZ (line 12)"
has "$tmp/out" "  ok    db     line 14   holds: dJ/db"
# an unsound rule fools the normal forms, not the numbers: the two disagree, and the
# claim (right, in fact) is undecided, not refuted: exit 2, the report written all the same
run 2 --rules "$tmp/bogus" check "$DC_EXAMPLES_DIR/ng_sigmoid_deferred.dc"
has "$tmp/out" "  UNDEC dW2    line 18   undecided: the symbolic and the numeric checks disagree, so a rule is unsound"
has "$tmp/out" "        method: none decided"
has "$tmp/out" "4 of 6 claims hold, 2 undecided: nothing is refuted, but the derivation is not established."
has "$tmp/err" "no method decided dW2 (line 18), dW1 (line 21) (the report says why); nothing was refuted"
run 2 check "$DC_EXAMPLES_DIR/mistake_sign.dc" --format latex
has "$tmp/err" "check writes text (default) or json, not 'latex'"

# error: double-precision error of each formulation, per regime
run 0 error sigmoid --regime saturated --samples 4
has "$tmp/out" "Regime saturated: 4 samples"
has "$tmp/out" "  dW2      naive chain           64.00    64.00"
run 0 error sigmoid --regime typical --samples 6 --format json -o "$tmp/whole.json"
run 0 error sigmoid --regime typical --samples 6 --format json --shard 1/2 -o "$tmp/s1.json"
run 0 error sigmoid --regime typical --samples 6 --format json --shard 2/2 -j 2 -o "$tmp/s2.json"
run 0 merge "$tmp/s2.json" "$tmp/s1.json" --format json -o "$tmp/merged.json"
cmp -s "$tmp/whole.json" "$tmp/merged.json" || fail "merged shards differ from the whole sweep"
# -q quiets standard output, not a file asked for with -o (it used to write nothing)
rm -f "$tmp/q1.json"
run 0 error sigmoid --samples 6 --regime typical -q --shard 1/3 --format json -o "$tmp/q1.json"
[ -s "$tmp/q1.json" ] || fail "error -q -o wrote no file"
[ -s "$tmp/out" ] && fail "error -q -o printed to standard output"
run 0 merge --partial "$tmp/q1.json" --format json
has "$tmp/out" '"shard": 1'
has "$tmp/out" '"nshards": 3'
if command -v python3 >/dev/null 2>&1; then
    python3 -c 'import json, sys; json.load(open(sys.argv[1]))' "$tmp/q1.json" ||
        fail "error -q -o wrote a file that is not JSON"
fi
# the confident regimes say what they draw
run 0 error sigmoid --regime confident --samples 2
has "$tmp/out" "Regime confident: 2 samples"
has "$tmp/out" "margins log-uniform in [5, 700]"
has "$tmp/out" "dZ2 from logits: (1 - Y) * sigmoid(Z2) - Y * sigmoid(-Z2)"
has "$tmp/out" "which formulation to use here"
run 0 error softmax --regime confident-mixed --samples 2
has "$tmp/out" "every 4th example (j % 4 = 3) wrong by its margin instead"
has "$tmp/out" "dZ2 from logits: A2 * (1 - Y) - Y * np.sum(A2 * (1 - Y), axis=0, keepdims=True)"
run 0 error sigmoid --regime pow2-m --samples 3 --format markdown
has "$tmp/out" "## Regime pow2-m"
run 2 error sigmoid --regime warm
has "$tmp/err" "unknown regime 'warm'"
run 2 error sigmoid --shard 3/2
has "$tmp/err" "--shard takes K/N"
run 2 merge "$tmp/out"
has "$tmp/err" "not JSON"

# the caps on an evaluation's memory and work, estimated before anything is
# drawn (issue 18: eval of logistic regression at n_x = m = 4096 ran 74 s in
# 7.2 GB): refused at once, exit 2, the variable that raises the cap named,
# no output file written
printf '%s\n' 'dims n_x = 4' 'batch m = 6' 'input X[n_x, m]' 'label Y[1, m] binary' \
    'param w[n_x, 1], b' 'A = sigmoid(w.T @ X + b)' \
    'loss J = -1/m * sum(Y * log(A) + (1 - Y) * log(1 - A))' >"$tmp/lr.dc"
sed 's/n_x = 4$/n_x = 4096/; s/m = 6$/m = 4096/' "$tmp/lr.dc" >"$tmp/lr4096.dc"
rm -f "$tmp/lr4096.txt"
run 2 eval "$tmp/lr4096.dc" -o "$tmp/lr4096.txt"
has "$tmp/err" "evaluating the loss and gradients of lr4096.dc at n_x = 4096, m = 4096, 256 bits would hold about"
has "$tmp/err" "more than the cap of 2 GiB; nothing was evaluated. DERIVCHECK_MAX_MEMORY raises the cap"
[ -e "$tmp/lr4096.txt" ] && fail "a refused eval wrote its -o file"
# the small model passes: with w = 0 and b = 0, A = 1/2 everywhere and J = log 2
echo '{"w": [[0], [0], [0], [0]], "b": 0}' >"$tmp/w0.json"
run 0 eval "$tmp/lr.dc" --data "$tmp/w0.json"
has "$tmp/out" "J = 0.69314718055994530941723212145817656807550013436025525412068000949339362196"
# a cap lowered refuses it, naming the variable; raised, it passes
DERIVCHECK_MAX_MEMORY=1K run 2 eval "$tmp/lr.dc"
has "$tmp/err" "of numbers at once, more than the cap of 1 KiB; nothing was evaluated. DERIVCHECK_MAX_MEMORY raises the cap"
DERIVCHECK_MAX_MEMORY=1M run 0 eval "$tmp/lr.dc"
DERIVCHECK_MAX_WORK=10 run 2 eval "$tmp/lr.dc"
has "$tmp/err" "multiply-adds, more than the cap of 10; nothing was evaluated. DERIVCHECK_MAX_WORK raises the cap"
DERIVCHECK_MAX_MEMORY=lots run 2 eval "$tmp/lr.dc"
has "$tmp/err" "DERIVCHECK_MAX_MEMORY takes a whole number from 1 to 1099511627776, with an optional suffix K, M, G or T (powers of 1024), not 'lots'"
# W @ X @ X at n = 4096 (about a day's work): refused by eval and by error
printf 'dims n = 4096\nbatch m = 4\ninput X[n, n]\nparam W[n, n]\nloss J = sum(W @ X @ X)\n' >"$tmp/wxx.dc"
run 2 eval "$tmp/wxx.dc"
has "$tmp/err" "more than the cap of 2 GiB; nothing was evaluated"
run 2 error "$tmp/wxx.dc" --regime typical --samples 1
has "$tmp/err" "one sample of the typical regime of wxx.dc (m = 4) would hold about"
has "$tmp/err" "DERIVCHECK_MAX_MEMORY raises the cap (e.g. DERIVCHECK_MAX_MEMORY=8G), or declare smaller dims"
# a reference that has no value (the log of a negative number) is not
# refined up the ladder to 10,000 bits (one large-m sample took 198 s): the
# loss log(-A2) is NaN at every point, so each sample's J is unsampleable
# and the report says why; the gradients do not involve the log
sed 's/log(A2)/log(-1 * A2)/' "$DC_EXAMPLES_DIR/ng_sigmoid_absorbed.dc" >"$tmp/nan.dc"
run 0 error "$tmp/nan.dc" --regime typical --samples 4
has "$tmp/out" "Regime typical: 4 samples; references needed up to 80 bits"
has "$tmp/out" "  J        as written             0.00     0.00         n/a     0     0        0            4  -"
has "$tmp/out" "  J as written: 4 of the 4 unsampleable entries have no finite true value"
run 0 error "$tmp/nan.dc" --regime large-m --samples 1
has "$tmp/out" "  J as written: 1 of the 1 unsampleable entries have no finite true value"
# the count survives the shards and their merge
run 0 error "$tmp/nan.dc" --regime typical --samples 4 --format json -o "$tmp/nan_whole.json"
run 0 error "$tmp/nan.dc" --regime typical --samples 4 --format json --shard 1/2 -o "$tmp/nan1.json"
run 0 error "$tmp/nan.dc" --regime typical --samples 4 --format json --shard 2/2 -o "$tmp/nan2.json"
has "$tmp/nan1.json" '"unsampleable": 2, "undefined": 2,'
run 0 merge "$tmp/nan1.json" "$tmp/nan2.json" --format json -o "$tmp/nan_merged.json"
cmp -s "$tmp/nan_whole.json" "$tmp/nan_merged.json" || fail "merged NaN shards differ from the whole sweep"

# each command's own help: its usage, only the options that apply, two examples
run 0 check --help
has "$tmp/out" "Usage: derivcheck check [OPTION]... FILE"
has "$tmp/out" "      --format FORMAT  text (default) or json"
has "$tmp/out" "      --seed N         the random points' seed (default 1)"
has "$tmp/out" "  derivcheck check examples/mistake_sign.dc"
lacks "$tmp/out" "--regime"
lacks "$tmp/out" "--trace"
[ "$(grep -c '^  derivcheck ' "$tmp/out")" = 2 ] || fail "check --help has not two examples"
run 0 error --help
has "$tmp/out" "      --regime R       typical, saturated, tiny, large-m, pow2-m, odd-m,"
has "$tmp/out" "  -j, --jobs N         threads (OpenMP)"
lacks "$tmp/out" "--check-fd"
run 0 models --help
has "$tmp/out" "Usage: derivcheck models [OPTION]..."
lacks "$tmp/out" "--seed"
run 0 doc --help
has "$tmp/out" "      --format FORMAT  markdown (default), latex, html or pdf"
# the general help lists the commands and the options of all, and no others
run 0 --help
has "$tmp/out" "Run 'derivcheck COMMAND --help' for a command's own options and examples."
lacks "$tmp/out" "--regime"

# an option that does not apply is refused, not ignored
run 2 check --regime typical "$DC_EXAMPLES_DIR/mistake_sign.dc"
has "$tmp/err" "derivcheck: check does not take --regime R; it applies to error"
has "$tmp/err" "Try 'derivcheck check --help' for more information."
[ -s "$tmp/out" ] && fail "a refused option printed a report"
run 2 derive --seed 3 sigmoid
has "$tmp/err" "derive does not take --seed N; it applies to check, prove, eval, error, doc, rules"
run 2 models --trace
has "$tmp/err" "models does not take --trace"
run 2 rules --samples 4
has "$tmp/err" "rules takes --seed, --samples and --prec with --verify only"
run 2 derive --trace --format latex sigmoid
has "$tmp/err" "derive --trace writes text, json or markdown: the latex report has no steps"
run 2 prove --trace --format markdown sigmoid
has "$tmp/err" "prove --trace writes text or json"
run 2 parse --format json sigmoid
has "$tmp/err" "parse writes text (default), not 'json'"
# derive --trace --format json keeps the steps
run 0 derive --trace --format json sigmoid
has "$tmp/out" '"name": "dZ2", "of": "Z2"'
has "$tmp/out" '"trace": [{"rule": '
# models: text and JSON
run 0 models --format json
printf '{"schema_version": 1, "command": "models", "models": [\n "logistic",\n "relu3",\n "sigmoid",\n "softmax"\n]}\n' >"$tmp/models.json"
cmp -s "$tmp/out" "$tmp/models.json" || fail "models --format json printed $(cat "$tmp/out")"

# a mistyped command or option gets the nearest one
run 2 chek "$DC_EXAMPLES_DIR/mistake_sign.dc"
has "$tmp/err" "derivcheck: unknown command 'chek'; did you mean 'check'?"
run 2 dervie sigmoid
has "$tmp/err" "did you mean 'derive'?"
run 2 models --formt json
has "$tmp/err" "unknown option '--formt'; did you mean '--format'?"
run 2 xyzzy
has "$tmp/err" "derivcheck: unknown command 'xyzzy'"
lacks "$tmp/err" "did you mean"

# an input error with --format json: JSON on standard output, exit 2
run 2 check "$tmp/shape.dc" --format json
printf '{"schema_version": 1, "error": {"status": "input", "file": "%s", "line": 4, "column": 7, "message": "[n, m] @ [n, m]: inner dims m and n differ"}}\n' "$tmp/shape.dc" >"$tmp/error.json"
cmp -s "$tmp/out" "$tmp/error.json" || fail "check --format json on an input error printed $(cat "$tmp/out")"
has "$tmp/err" "shape.dc:4:7: error:"
run 2 derive "$tmp/no-such-file.dc" --format json
has "$tmp/out" '{"schema_version": 1, "error": {"status": "io", "file": null, "line": null, "column": null, "message": "cannot read '
run 2 check "$tmp/shape.dc"
[ -s "$tmp/out" ] && fail "an input error without --format json printed on stdout"

# doc -o FILE.pdf: the LaTeX compiled by pdflatex, or refused without it
if command -v pdflatex >/dev/null 2>&1; then
    run 0 doc sigmoid -o "$tmp/s.pdf"
    [ "$(head -c 5 "$tmp/s.pdf")" = "%PDF-" ] || fail "doc -o s.pdf did not write a PDF"
    [ "$(ls "$tmp" | grep -c 's.pdf.')" = 0 ] || fail "doc -o s.pdf left its folder behind"
fi
# a PATH with every program but pdflatex (DERIVCHECK may be a wrapper that
# runs valgrind, ls and the shell), set for the program alone: a function
# would keep it in some shells
mkdir -p "$tmp/nopath"
for d in $(echo "$PATH" | tr ':' ' '); do
    for f in "$d"/*; do
        n=${f##*/}
        [ "$n" = pdflatex ] || [ -e "$tmp/nopath/$n" ] || ln -s "$f" "$tmp/nopath/$n" 2>/dev/null
    done
done
count=$((count + 1))
PATH="$tmp/nopath" "$DERIVCHECK" doc sigmoid -o "$tmp/t.pdf" >"$tmp/out" 2>"$tmp/err"
[ $? = 2 ] || fail "doc -o t.pdf without pdflatex did not exit 2"
has "$tmp/err" "doc -o $tmp/t.pdf needs pdflatex, which was not found on PATH"
[ -e "$tmp/t.pdf" ] && fail "doc -o t.pdf without pdflatex wrote something"
run 2 doc sigmoid --format pdf
has "$tmp/err" "doc writes a PDF to a file only: give -o FILE.pdf"
run 2 doc sigmoid --format latex -o "$tmp/u.pdf"
has "$tmp/err" "doc -o $tmp/u.pdf writes a PDF, not latex"
[ -e "$tmp/u.pdf" ] && fail "doc --format latex -o u.pdf wrote LaTeX into a .pdf"

echo "$count runs, $failures failures"
[ "$failures" = 0 ]
