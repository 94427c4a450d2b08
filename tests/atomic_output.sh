#!/bin/sh
# atomic_output.sh: -o FILE holds its old content or the whole new one, even when the program is killed mid-write.
# A long output (derive --trace of a 150-layer model, as JSON) is written with
# every write(2) held back 3 s by strace, and the program is killed while it
# writes its temporary file: with SIGKILL the old file must be intact (the
# temporary file cannot be removed); with SIGTERM the temporary file must be
# gone too.
# Without a usable strace, kills at spread-out times check the same invariant.
# Environment (set by make check): DERIVCHECK.
set -u
: "${DERIVCHECK:?}"
tmp=$(mktemp -d "${TMPDIR:-/tmp}/dc-atomic.XXXXXX") || exit 99
trap 'rm -rf "$tmp"' EXIT
failures=0

fail() {
    echo "FAIL: $*"
    failures=$((failures + 1))
}

# a deep model: its traced derivation is some hundreds of kilobytes
{
    echo "dims n = 3"
    echo "batch m = 4"
    echo "input X[n, m]"
    echo "label Y[n, m] binary"
    i=1
    while [ $i -le 150 ]; do echo "param W$i[n, n], b$i[n, 1]"; i=$((i + 1)); done
    echo "A0 = X"
    i=1
    while [ $i -le 150 ]; do
        echo "Z$i = W$i @ A$((i - 1)) + b$i"
        echo "A$i = tanh(Z$i)"
        i=$((i + 1))
    done
    echo "A = sigmoid(A150)"
    echo "loss J = -1/m * sum(Y * log(A) + (1 - Y) * log(1 - A))"
} >"$tmp/deep.dc"
set -- derive "$tmp/deep.dc" --trace --format json
"$DERIVCHECK" "$@" -o "$tmp/whole.json" || { echo "FAIL: derive $tmp/deep.dc"; exit 1; }
size=$(wc -c <"$tmp/whole.json")
[ "$size" -gt 100000 ] || fail "the output is only $size bytes"
echo "old content" >"$tmp/old"

# check_after WHAT: out.json is the old file or the whole new one
check_after() {
    if cmp -s "$tmp/out.json" "$tmp/old"; then
        return 0
    elif cmp -s "$tmp/out.json" "$tmp/whole.json"; then
        return 1
    fi
    fail "$1: out.json is neither the old file nor the whole new one ($(wc -c <"$tmp/out.json") bytes)"
    return 2
}

temp_files() {
    ls "$tmp" | grep -c '^out\.json\.'
}

# the process traced by strace PID (the libtool wrapper execs the program)
tracee() {
    ps -o pid= --ppid "$1" 2>/dev/null | tr -d ' ' | head -n 1
}

# strace slows the program's writes only: run the real binary, not the
# libtool wrapper script (whose shell writes too)
program=$DERIVCHECK
real=$(dirname "$DERIVCHECK")/.libs/$(basename "$DERIVCHECK")
if [ -x "$real" ] && head -c 200 "$DERIVCHECK" | grep -q '^#!.*sh'; then
    program=$real
    LD_LIBRARY_PATH=$(dirname "$real")${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}
    export LD_LIBRARY_PATH
fi

if command -v strace >/dev/null 2>&1 && strace -f -o /dev/null -e trace=write \
    -e inject=write:delay_enter=1000 true 2>/dev/null; then
    for sig in KILL TERM; do
        cp "$tmp/old" "$tmp/out.json"
        strace -f -o /dev/null -e trace=write -e inject=write:delay_enter=3000000 \
            "$program" "$@" -o "$tmp/out.json" 2>/dev/null &
        tracer=$!
        # wait for the temporary file to be created (at most 60 s), then for
        # the program to be inside its slowed write
        waited=0 part=
        while [ $waited -lt 600 ] && [ -z "$part" ]; do
            sleep 0.1
            part=$(ls "$tmp" | grep '^out\.json\.' | head -n 1)
            waited=$((waited + 1))
        done
        sleep 1
        [ -n "$part" ] || fail "SIG$sig: no temporary file appeared"
        pid=$(tracee "$tracer")
        kill -s "$sig" "$pid" 2>/dev/null || fail "SIG$sig: no process to kill"
        wait "$tracer"
        partial=$(cat "$tmp/$part" 2>/dev/null | wc -c)
        check_after "SIG$sig mid-write"
        [ $? = 0 ] || fail "SIG$sig mid-write: out.json is not the old file"
        if [ "$sig" = KILL ]; then
            # the kill landed mid-write: the temporary file is there, incomplete
            [ "$(temp_files)" = 1 ] || fail "SIGKILL: expected the temporary file"
            [ "$partial" -lt "$size" ] || fail "SIGKILL: the temporary file is complete"
            echo "SIGKILL with $partial of $size bytes written: old file intact"
            rm -f "$tmp"/out.json.*
        else
            [ "$(temp_files)" = 0 ] || fail "SIGTERM: the temporary file was left behind"
            echo "SIGTERM mid-write: old file intact, temporary file removed"
        fi
    done
else
    echo "strace cannot slow the writes here; timed kills only"
fi

# kills at spread-out times: never a partial out.json
old=0 new=0 d=0
for delay in 0.01 0.02 0.03 0.05 0.08 0.1 0.12 0.15 0.2 0.25 0.3 0.4 0.5 0.7 1; do
    cp "$tmp/old" "$tmp/out.json"
    "$DERIVCHECK" "$@" -o "$tmp/out.json" 2>/dev/null &
    pid=$!
    sleep "$delay"
    kill -s KILL "$pid" 2>/dev/null
    wait "$pid" 2>/dev/null
    check_after "SIGKILL after ${delay}s"
    case $? in 0) old=$((old + 1)) ;; 1) new=$((new + 1)) ;; esac
    rm -f "$tmp"/out.json.*
done
echo "timed SIGKILLs: $old left the old file, $new the whole new one"

# a run that is not killed replaces the file whole and leaves no temporary file
cp "$tmp/old" "$tmp/out.json"
"$DERIVCHECK" "$@" -o "$tmp/out.json" || fail "the last run failed"
cmp -s "$tmp/out.json" "$tmp/whole.json" || fail "the last run did not write the whole file"
[ "$(temp_files)" = 0 ] || fail "a temporary file was left behind"

echo "$failures failures"
[ "$failures" = 0 ]
