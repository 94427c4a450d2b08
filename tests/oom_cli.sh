#!/bin/sh
# oom_cli.sh: whole CLI runs with the n-th allocation failing (DERIVCHECK_TEST_FAIL_ALLOC=n).
# For each command below (derive, prove, check, eval --data, merge), n runs from 1 past the last allocation of a clean
# run. Every run must either fail cleanly (exit 2, "out of memory" as the
# only thing on stderr, nothing on stdout, and with -o FILE no FILE and no
# temporary file left) or, once n is beyond the run, do exactly what the
# clean run does (same exit status, same bytes). A signal, exit 1, or exit 0
# with other output fails the test. The runs' total allocations are found by
# bisection; the start, the end and a spread between them are tried (every n
# with DC_OOM_EXHAUSTIVE=1). Under ASan a leak or a memory error fails the
# run with an exit status the test does not accept.
# Environment (set by make check): DERIVCHECK, DC_EXAMPLES_DIR, DC_TEST_DATADIR.
set -u
: "${DERIVCHECK:?}" "${DC_EXAMPLES_DIR:?}" "${DC_TEST_DATADIR:?}"
tmp=$(mktemp -d "${TMPDIR:-/tmp}/dc-oomcli.XXXXXX") || exit 99
trap 'rm -rf "$tmp"' EXIT
failures=0
runs=0

fail() {
    echo "FAIL: $*"
    failures=$((failures + 1))
}

# run N ARGS...: the program with the N-th allocation failing (N 0: none);
# its status in $status, its output in out/ (or in file with -o).
run() {
    n=$1
    shift
    rm -rf "$tmp/out" && mkdir "$tmp/out" || exit 99
    runs=$((runs + 1))
    if [ "$n" = 0 ]; then
        "$DERIVCHECK" "$@" >"$tmp/stdout" 2>"$tmp/stderr"
    else
        DERIVCHECK_TEST_FAIL_ALLOC=$n "$DERIVCHECK" "$@" >"$tmp/stdout" 2>"$tmp/stderr"
    fi
    status=$?
}

# succeeds N ARGS...: whether the run with the N-th allocation failing
# completes (does not stop for want of memory)
succeeds() {
    run "$@"
    [ "$status" != 2 ]
}

# judge N WHAT OUTPUT ARGS...: the run with the N-th allocation failing did
# one of the two things allowed. OUTPUT is "-" (standard output) or the
# file given with -o.
judge() {
    n=$1 what=$2 output=$3
    shift 3
    run "$n" "$@"
    if [ "$output" = - ]; then got=$tmp/stdout; else got=$tmp/out/$output; fi
    if [ "$status" = 2 ]; then
        if ! grep -Eqx 'derivcheck: (error: )?out of memory' "$tmp/stderr" ||
            [ "$(wc -l <"$tmp/stderr")" != 1 ]; then
            fail "$what, allocation $n: exit 2 without the out-of-memory message: $(head -c 300 "$tmp/stderr")"
        fi
        [ -s "$tmp/stdout" ] && fail "$what, allocation $n: exit 2 with output on stdout"
        if [ "$output" != - ] && [ -n "$(ls "$tmp/out")" ]; then
            fail "$what, allocation $n: exit 2 left $(ls "$tmp/out" | tr '\n' ' ')"
        fi
        return 0
    fi
    if [ "$status" != "$want_status" ]; then
        fail "$what, allocation $n: exit $status (the clean run exits $want_status): $(head -c 300 "$tmp/stderr")"
    elif ! cmp -s "$got" "$tmp/want"; then
        fail "$what, allocation $n: exit $status with output that differs from the clean run's"
    elif [ -s "$tmp/stderr" ]; then
        fail "$what, allocation $n: exit $status with a message: $(head -c 300 "$tmp/stderr")"
    fi
    return 1
}

# sweep WHAT ARGS...: judge every n (sampled) of the command
sweep() {
    what=$1
    shift
    run 0 "$@"
    want_status=$status
    cp "$tmp/stdout" "$tmp/want"
    if [ "$want_status" != 0 ] && [ "$want_status" != 1 ] || [ ! -s "$tmp/want" ]; then
        fail "$what: the clean run exits $want_status"
        return
    fi
    # the total: the last n that fails (the run makes total allocations)
    hi=64
    while ! succeeds $hi "$@"; do hi=$((hi * 2)); done
    lo=0
    while [ $((hi - lo)) -gt 1 ]; do
        mid=$(((lo + hi) / 2))
        if succeeds $mid "$@"; then hi=$mid; else lo=$mid; fi
    done
    total=$lo
    [ "$total" -gt 100 ] || fail "$what: only $total allocations"
    # every n up to 64 and in the last 64, about 160 spread between, and
    # a few beyond the end
    step=$((total / 160))
    [ "$step" -ge 1 ] || step=1
    [ -n "${DC_OOM_EXHAUSTIVE:-}" ] && step=1
    n=1 k=0 failed=0 passed=0
    while [ $n -le $((total + 3)) ]; do
        # alternate standard output and -o FILE
        if [ $((k % 2)) = 0 ]; then
            judge $n "$what" - "$@" && failed=$((failed + 1)) || passed=$((passed + 1))
        else
            judge $n "$what" result.txt "$@" -o "$tmp/out/result.txt" &&
                failed=$((failed + 1)) || passed=$((passed + 1))
        fi
        if [ $n -le $total ] && [ "$status" != 2 ]; then
            fail "$what: allocation $n of $total failed and the run went on to exit $status"
        fi
        if [ $n -gt $total ] && [ "$status" = 2 ]; then
            fail "$what: allocation $n (beyond the $total of a clean run) still fails"
        fi
        k=$((k + 1))
        if [ $n -lt 64 ] || [ $n -ge $((total - 64)) ]; then
            n=$((n + 1))
        else
            n=$((n + step))
            [ $n -gt $((total - 64)) ] && n=$((total - 64))
        fi
    done
    echo "$what: $total allocations; $failed runs failed cleanly, $passed completed"
}

sweep "derive sigmoid" derive sigmoid
sweep "prove sigmoid" prove sigmoid
sweep "check ng_sigmoid_deferred.dc" check "$DC_EXAMPLES_DIR/ng_sigmoid_deferred.dc"
sweep "check mistake_sign.dc" check "$DC_EXAMPLES_DIR/mistake_sign.dc"
# JSON read by jansson, whose allocations are the library's too
sweep "eval --data" eval sigmoid --data "$DC_TEST_DATADIR/json/good-sigmoid.json"
for k in 1 2; do
    "$DERIVCHECK" error sigmoid --regime typical --samples 2 --format json --shard $k/2 \
        -o "$tmp/shard$k.json" || fail "error sigmoid --shard $k/2"
done
sweep "merge" merge "$tmp/shard1.json" "$tmp/shard2.json"

# a malformed hook value is a usage error, not ignored
run 0 derive sigmoid
DERIVCHECK_TEST_FAIL_ALLOC=x "$DERIVCHECK" derive sigmoid >"$tmp/stdout" 2>"$tmp/stderr"
status=$?
[ "$status" = 2 ] && grep -q "DERIVCHECK_TEST_FAIL_ALLOC takes a positive integer, not 'x'" "$tmp/stderr" ||
    fail "DERIVCHECK_TEST_FAIL_ALLOC=x: exit $status, $(cat "$tmp/stderr")"

echo "$runs runs, $failures failures"
[ "$failures" = 0 ]
