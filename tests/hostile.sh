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

# a chain of definitions (A2 = A1 + X, ...) is as deep once written out:
# 8192 levels are accepted, more refused where the definition is
{
    printf 'dims n = 2\nbatch m = 4\ninput X[n, m]\nA1 = X + X\n'
    awk 'BEGIN { for (i = 2; i <= 20000; i++) printf "A%d = A%d + X\n", i, i - 1 }'
    printf 'loss J = sum(A20000)\n'
} >"$tmp/defs.dc"
expect 2 "defs.dc:8195:9: error: 'A8192' is 8193 levels deep once the definitions it uses are written out, more than the cap of 8192 levels (PARSE_MAX_HEIGHT)" \
    eval "$tmp/defs.dc"
{
    printf 'dims n = 2\nbatch m = 4\ninput X[n, m]\nA1 = X + X\n'
    awk 'BEGIN { for (i = 2; i <= 8190; i++) printf "A%d = A%d + X\n", i, i - 1 }'
    printf 'loss J = sum(A8190)\n'
} >"$tmp/defs-cap.dc"
# A8190 is 8191 X's: with X all ones, J = 8191 * 8 = 65528
printf '{"X": [[1, 1, 1, 1], [1, 1, 1, 1]]}' >"$tmp/ones.json"
expect 0 "" eval "$tmp/defs-cap.dc" --data "$tmp/ones.json"
grep -qx 'J = 65528\.0*' "$tmp/out" || fail "eval of 8190 definitions: $(grep '^J' "$tmp/out")"

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
nfiles=$(ls "$tmp/many" | wc -l)
expect 2 "has $nfiles rule files, more than the cap of 64; DERIVCHECK_RULES_MAX_FILES raises it" \
    --rules "$tmp/many" derive "$sigmoid"
export DERIVCHECK_RULES_MAX_FILES=$nfiles
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

# far beyond double's exponents: 0.5 ** 1e9 = 10^-301029995.66398... is
# 2.16779796761693400217...e-301029996 (bc: e((1 - frac(1e9 log10 2)) l(10))),
# never 0 (MPFR's exponent range is widened, not underflowed)
printf 'dims n = 1\nbatch m = 1\ninput X[n, m]\nparam W[1, n]\nloss J = sum((W @ X) ** 1e9)\n' >"$tmp/pow.dc"
printf '{"X": [[1]], "W": [[0.5]]}' >"$tmp/pow.json"
expect 0 "" eval "$tmp/pow.dc" --data "$tmp/pow.json"
grep -q '^J = 2\.16779796761693400217[0-9]*e-301029996$' "$tmp/out" ||
    fail "0.5 ** 1e9 is not 2.16779796761693400217e-301029996: $(grep '^J' "$tmp/out")"
# a string "1e400" in --data is read exactly: sum(X) is 1e400, no nan
printf 'dims n = 1\nbatch m = 1\ninput X[n, m]\nloss J = sum(X)\n' >"$tmp/sum.dc"
printf '{"X": [["1e400"]]}' >"$tmp/big.json"
expect 0 "" eval "$tmp/sum.dc" --data "$tmp/big.json"
grep -q '^J = 1\.0*e400$' "$tmp/out" || fail "sum of 1e400 is not 1e400: $(grep '^J' "$tmp/out")"

# ---------------------------------------------------------------- outputs
# every write error is an exit status 2, --help and --version included
if [ -w /dev/full ]; then
    for args in --help --version "parse $tmp/bom.dc"; do
        count=$((count + 1))
        # shellcheck disable=SC2086
        "$DERIVCHECK" $args >/dev/full 2>"$tmp/err"
        got=$?
        [ "$got" = 2 ] || fail "derivcheck $args >/dev/full: exit status $got, expected 2"
        grep -qF "cannot write the output: No space left on device" "$tmp/err" ||
            fail "derivcheck $args >/dev/full: $(head -c 300 "$tmp/err")"
    done
fi
# an input named as the output is refused, and left as it was
cp "$tmp/bom.dc" "$tmp/mine.dc"
cp "$tmp/mine.dc" "$tmp/mine.orig"
expect 2 "-o: will not write '$tmp/mine.dc': it is the input '$tmp/mine.dc', which would be lost" \
    parse "$tmp/mine.dc" -o "$tmp/mine.dc"
cmp -s "$tmp/mine.dc" "$tmp/mine.orig" || fail "the input was changed by -o"
expect 2 "it is the input '$tmp/one.json'" eval "$tmp/nan.dc" --data "$tmp/one.json" -o "$tmp/one.json"
ln -s mine.dc "$tmp/alias.dc"
expect 2 "it is the input '$tmp/mine.dc'" parse "$tmp/mine.dc" -o "$tmp/alias.dc"
expect 2 "it is in the rules folder '$tmp/grow'" --rules "$tmp/grow" parse "$tmp/mine.dc" \
    -o "$tmp/grow/zz.rules"
# a bad path is found before the work: this sweep would run for hours
expect 2 "-o: cannot write '$tmp/nowhere/r.txt': cannot create a file in '$tmp/nowhere': No such file or directory" \
    error sigmoid --samples 10000 -o "$tmp/nowhere/r.txt"
expect 2 "-o: cannot write '$tmp': it is a folder" error sigmoid --samples 10000 -o "$tmp"
# the plot and the table cannot be one file
expect 2 "-o: will not write '$tmp/h.svg' twice: -o and --plot name the same file" \
    error sigmoid --samples 10000 --plot "$tmp/h.svg" -o "$tmp/h.svg"
[ ! -e "$tmp/h.svg" ] || fail "h.svg was written"
# a symlink is followed: its target gets the output, the link stays
"$DERIVCHECK" parse "$tmp/mine.dc" >"$tmp/parsed" || fail "parse $tmp/mine.dc"
printf 'old\n' >"$tmp/target.txt"
ln -s target.txt "$tmp/link.txt"
ln -s made.txt "$tmp/dangling.txt"
expect 0 "" parse "$tmp/mine.dc" -o "$tmp/link.txt"
[ -L "$tmp/link.txt" ] || fail "the symlink -o named was replaced"
cmp -s "$tmp/target.txt" "$tmp/parsed" || fail "the symlink's target does not hold the output"
expect 0 "" parse "$tmp/mine.dc" -o "$tmp/dangling.txt"
[ -L "$tmp/dangling.txt" ] && cmp -s "$tmp/made.txt" "$tmp/parsed" ||
    fail "a dangling symlink's target was not created with the output"
# a FIFO and /dev/null are written into, never replaced
mkfifo "$tmp/pipe" || exit 99
cat "$tmp/pipe" >"$tmp/from-pipe" &
reader=$!
expect 0 "" parse "$tmp/mine.dc" -o "$tmp/pipe"
wait "$reader"
[ -p "$tmp/pipe" ] || fail "the FIFO -o named was replaced"
cmp -s "$tmp/from-pipe" "$tmp/parsed" || fail "the FIFO's reader did not get the output"
expect 0 "" parse "$tmp/mine.dc" -o /dev/null
[ -c /dev/null ] || fail "/dev/null is no longer a device"
# an inherited SIG_IGN for SIGHUP (nohup) stays while the output is
# written: gnuplot, run then, inherits what is ignored (a caught signal is
# reset to the default across exec)
if [ -r /proc/self/status ]; then
    printf '#!/bin/sh\ncat >/dev/null\ngrep "^SigIgn:" /proc/self/status\n' >"$tmp/gnuplot"
    chmod +x "$tmp/gnuplot"
    count=$((count + 1))
    DERIVCHECK_GNUPLOT=$tmp/gnuplot sh -c 'trap "" HUP; exec "$@"' sh "$DERIVCHECK" \
        error sigmoid --samples 1 --regime typical -q --plot "$tmp/hup.svg" 2>"$tmp/err" ||
        fail "error --plot with a stand-in gnuplot: $(head -c 300 "$tmp/err")"
    mask=$(sed -n 's/^SigIgn:[[:space:]]*//p' "$tmp/hup.svg")
    last=${mask#"${mask%?}"}
    [ -n "$last" ] && [ $((0x$last & 1)) = 1 ] || fail "SIGHUP was not ignored while writing (SigIgn: $mask)"
fi

# ---------------------------------------------------------------- merge
# three shards of one sweep, and the whole sweep they must add up to
for k in 1 2 3; do
    "$DERIVCHECK" error sigmoid --regime typical --samples 9 --format json --shard $k/3 \
        -o "$tmp/t$k.json" || fail "error --shard $k/3"
done
"$DERIVCHECK" error sigmoid --regime typical --samples 9 --format json -o "$tmp/whole.json" ||
    fail "error sigmoid"
expect 2 "merge was given shards 1, 2 of 3, without 3" merge "$tmp/t1.json" "$tmp/t2.json"
expect 0 "" merge "$tmp/t1.json" "$tmp/t2.json" --partial --format json -o "$tmp/p12.json"
grep -qF '"shards": [1, 2]' "$tmp/p12.json" || fail "a partial merge does not say which shards it holds"
expect 0 "" merge "$tmp/t1.json" "$tmp/t2.json" --partial
grep -qF "shards 1, 2 of 3 (a partial merge" "$tmp/out" || fail "a partial merge is not labelled: $(head -1 "$tmp/out")"
expect 0 "" merge "$tmp/t2.json" "$tmp/t3.json" --partial --format json -o "$tmp/p23.json"
expect 2 "shard 2 of 3 is in both $tmp/p12.json and $tmp/p23.json: it would be counted twice" \
    merge "$tmp/p12.json" "$tmp/p23.json" --partial
expect 2 "shard 1 of 3 is in both" merge "$tmp/t1.json" "$tmp/t1.json" "$tmp/t2.json" "$tmp/t3.json"
# a partial merge and the shard it lacks are the whole sweep, byte for byte
expect 0 "" merge "$tmp/p12.json" "$tmp/t3.json" --format json -o "$tmp/merged.json"
cmp -s "$tmp/merged.json" "$tmp/whole.json" || fail "shards 1 and 2, then 3, differ from the whole sweep"
# a model edited between the shards, other rules: not one sweep
printf '# edited\n' | cat - "$DC_RULES_DIR/models/sigmoid.dc" >"$tmp/sigmoid.dc"
"$DERIVCHECK" error "$tmp/sigmoid.dc" --regime typical --samples 9 --format json --shard 1/2 \
    -o "$tmp/e1.json" || fail "error --shard 1/2"
printf '# edited\n' >>"$tmp/sigmoid.dc"
"$DERIVCHECK" error "$tmp/sigmoid.dc" --regime typical --samples 9 --format json --shard 2/2 \
    -o "$tmp/e2.json" || fail "error --shard 2/2"
expect 2 "is not a shard of the same sweep as $tmp/e1.json: their model texts differ" \
    merge "$tmp/e1.json" "$tmp/e2.json"
mkdir "$tmp/other"
cp "$DC_RULES_DIR"/*.rules "$tmp/other/"
printf '# another comment\n' >>"$tmp/other/algebra.rules"
"$DERIVCHECK" --rules "$tmp/other" error "$DC_RULES_DIR/models/sigmoid.dc" --regime typical \
    --samples 9 --format json --shard 3/3 -o "$tmp/r3.json" || fail "error --rules other"
expect 2 "their rule files differ" merge "$tmp/p12.json" "$tmp/r3.json"
# every number is checked against its range
sed 's/"micro_bits": [0-9]*/"micro_bits": 1000000000000000/' "$tmp/t3.json" >"$tmp/micro.json"
expect 2 "\"micro_bits\" is 1000000000000000, outside its range 0 to" merge "$tmp/p12.json" "$tmp/micro.json"
sed 's/"samples": 3,/"samples": -5,/' "$tmp/t3.json" >"$tmp/minus.json"
grep -qF '"samples": -5,' "$tmp/minus.json" || fail "the tampered shard was not made"
expect 2 "regime typical: \"samples\" is -5, outside its range 0 to 1000000" merge "$tmp/p12.json" "$tmp/minus.json"
sed 's/"shards": \[3\]/"shards": [2, 3]/' "$tmp/t3.json" >"$tmp/claims.json"
expect 2 "shard 2 of 3 is in both" merge "$tmp/p12.json" "$tmp/claims.json"
sed '/"model_hash"/d' "$tmp/t3.json" >"$tmp/old.json"
expect 2 "\"model_hash\" is missing or malformed: the sweep's identity" merge "$tmp/p12.json" "$tmp/old.json"

# formats: rules as a Markdown table; LaTeX file names escaped
expect 0 "" rules --format markdown
grep -qx '| rule | group | where | pattern => replacement |' "$tmp/out" || fail "rules --format markdown has no table head"
grep -qF '| `add.left` | adjoint | rules/adjoint.rules:' "$tmp/out" || fail "rules --format markdown has no add.left row"
weird='a\b~c^d_e%f&g#h$i{j}.dc'
cp "$tmp/mine.dc" "$tmp/$weird"
expect 0 "" derive --format latex "$tmp/$weird"
grep -qF '\texttt{a\textbackslash{}b\textasciitilde{}c\textasciicircum{}d\_e\%f\&g\#h\$i\{j\}.dc}' "$tmp/out" ||
    fail "derive --format latex does not escape the file name: $(grep texttt "$tmp/out")"

echo "$count hostile inputs, $failures failures"
[ "$failures" = 0 ]
