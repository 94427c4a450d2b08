#!/bin/sh
# deep.sh: time and output size of prove and check on N-layer networks (issue 15).
#
# usage: bench/deep.sh [DERIVCHECK]   (default: ./derivcheck)
# For N = 2, 4, 8, 16, 32, 64 it writes the network with bench/deepnet.sh
# (4-16-...-16-1, m = 64), runs `prove` on it and `check` on the same
# network with the absorbed convention's claims, and prints the wall time
# and the bytes each prints; then the ratios of 32 layers to 2 (target:
# at most 20) and whether prove at 32 layers took under 1 s. A run that
# takes longer than LIMIT seconds (default 300) is stopped and shown as
# such. No time is asserted: the machines are shared, and this is not
# part of make check.
dc=${1:-./derivcheck}
limit=${LIMIT:-300}
here=$(dirname "$0")
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

# "SECONDS BYTES" of one run, or "timeout BYTES"
measure() {
    start=$(date +%s.%N)
    timeout "$limit" "$@" >"$tmp/out" 2>"$tmp/err"
    status=$?
    end=$(date +%s.%N)
    bytes=$(wc -c <"$tmp/out")
    if [ "$status" = 124 ]; then
        echo "timeout $bytes"
    elif [ "$status" -gt 2 ]; then
        echo "crash($status) $bytes"
    else
        echo "$(echo "$end - $start" | bc) $bytes"
    fi
}

printf '%6s  %10s %10s  %10s %10s\n' layers prove_s prove_B check_s check_B
for n in 2 4 8 16 32 64; do
    sh "$here/deepnet.sh" "$n" >"$tmp/net$n.dc"
    sh "$here/deepnet.sh" "$n" claims >"$tmp/claims$n.dc"
    set -- $(measure "$dc" prove "$tmp/net$n.dc")
    pt=$1 pb=$2
    set -- $(measure "$dc" check "$tmp/claims$n.dc")
    ct=$1 cb=$2
    printf '%6s  %10s %10s  %10s %10s\n' "$n" "$pt" "$pb" "$ct" "$cb"
    eval "pt$n=\$pt pb$n=\$pb ct$n=\$ct cb$n=\$cb"
done
ratio() {
    case "$1$2" in
    *[!0-9.]*) echo n/a ;;
    *) echo "scale=2; $1 / $2" | bc ;;
    esac
}
echo "ratio 32/2 layers: prove time $(ratio "$pt32" "$pt2"), prove size $(ratio "$pb32" "$pb2"), check time $(ratio "$ct32" "$ct2"), check size $(ratio "$cb32" "$cb2") (target <= 20)"
echo "prove at 32 layers: $pt32 s (target < 1 s)"
