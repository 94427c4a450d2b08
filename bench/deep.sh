#!/bin/sh
# deep.sh: time and output size of prove and check on N-layer networks (issue 15).
#
# usage: bench/deep.sh [DERIVCHECK]   (default: ./derivcheck)
# For N = 2, 4, 8, 16, 32, 64 it writes the network with bench/deepnet.sh
# (4-16-...-16-1, m = 64), runs `prove` on it (as it is, and with
# --numeric-depth 0, the certificate alone, where DERIVCHECK has the
# option) and `check` on the same network with the absorbed convention's
# claims, and prints the CPU time and the bytes each prints; then the
# ratios of 32 layers to 2 (target: at most 20) and whether prove at 32
# layers took under 1 s. A run that
# takes longer than LIMIT seconds (default 300) is stopped and shown as
# such. No time is asserted: the machines are shared, and this is not
# part of make check.
dc=${1:-./derivcheck}
limit=${LIMIT:-300}
here=$(dirname "$0")
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

# "SECONDS BYTES" of one run, or "timeout BYTES" or "crash(STATUS) BYTES":
# the CPU time (task-clock by perf stat, to the microsecond, where
# installed; else user + system by time(1), to 10 ms), which other
# processes on a shared machine disturb far less than wall time
measure() {
    # perf stat exits 0 when the program crashes: a shell in between keeps
    # the program's status
    echo 0 >"$tmp/status"
    set -- sh -c '"$@"; echo $? >"$0"' "$tmp/status" "$@"
    if command -v perf >/dev/null 2>&1; then
        timeout "$limit" perf stat -x, -e task-clock -o "$tmp/time" "$@" >"$tmp/out" 2>"$tmp/err"
    else
        timeout "$limit" /usr/bin/time -f '%U %S' -o "$tmp/time" "$@" >"$tmp/out" 2>"$tmp/err"
    fi
    status=$?
    [ "$status" = 0 ] && status=$(cat "$tmp/status")
    bytes=$(wc -c <"$tmp/out")
    if [ "$status" = 124 ]; then
        echo "timeout $bytes"
    elif [ "$status" -gt 2 ]; then
        echo "crash($status) $bytes"
    elif grep -q task-clock "$tmp/time"; then
        echo "$(awk -F, '/task-clock/ { printf "%.3f", $1 / 1000 }' "$tmp/time") $bytes"
    else
        echo "$(tail -1 "$tmp/time" | awk '{ printf "%.2f", $1 + $2 }') $bytes"
    fi
}

certificate_only=
# the option is listed in prove's own help (and, in older builds, the general one)
if { "$dc" prove --help; "$dc" --help; } 2>&1 | grep -q -- --numeric-depth; then
    certificate_only=yes
fi
printf '%6s  %9s %9s  %9s %9s  %9s %9s\n' layers prove_s prove_B cert_s cert_B check_s check_B
for n in 2 4 8 16 32 64; do
    sh "$here/deepnet.sh" "$n" >"$tmp/net$n.dc"
    sh "$here/deepnet.sh" "$n" claims >"$tmp/claims$n.dc"
    set -- $(measure "$dc" prove "$tmp/net$n.dc")
    pt=$1 pb=$2
    zt=n/a zb=n/a
    if [ -n "$certificate_only" ]; then
        set -- $(measure "$dc" prove --numeric-depth 0 "$tmp/net$n.dc")
        zt=$1 zb=$2
    fi
    set -- $(measure "$dc" check "$tmp/claims$n.dc")
    ct=$1 cb=$2
    # a run that did not finish has no size to compare
    case "$pt" in *[!0-9.]*) pb=n/a ;; esac
    case "$ct" in *[!0-9.]*) cb=n/a ;; esac
    printf '%6s  %9s %9s  %9s %9s  %9s %9s\n' "$n" "$pt" "$pb" "$zt" "$zb" "$ct" "$cb"
    eval "pt$n=\$pt pb$n=\$pb zt$n=\$zt zb$n=\$zb ct$n=\$ct cb$n=\$cb"
done
ratio() {
    case "$1$2" in
    *[!0-9.]*) echo n/a ;;
    *) echo "scale=2; $1 / $2" | bc ;;
    esac
}
echo "ratio 32/2 layers (target <= 20): prove time $(ratio "$pt32" "$pt2"), size $(ratio "$pb32" "$pb2");" \
    "certificate alone time $(ratio "$zt32" "$zt2"), size $(ratio "$zb32" "$zb2");" \
    "check time $(ratio "$ct32" "$ct2"), size $(ratio "$cb32" "$cb2")"
echo "at 32 layers (target < 1 s): prove $pt32 s, certificate alone $zt32 s"
