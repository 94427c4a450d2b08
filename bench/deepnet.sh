#!/bin/sh
# deepnet.sh: writes an N-layer network as a .dc model: N-1 tanh layers and a sigmoid output.
#
# usage: deepnet.sh [-w WIDTH] [-m BATCH] N [claims]
# Sizes 4-16-...-16-1 with batch m = 64 (WIDTH and BATCH change the 16 and
# the 64), binary labels and the cross-entropy loss, as in issue 15. Layer l has W<l>, b<l>, Z<l> = W<l> @ A<l-1> + b<l>
# (A0 is X) and A<l> = tanh(Z<l>), the last A<N> = sigmoid(Z<N>). With the
# word "claims", the absorbed convention's gradients follow as claims, each
# written the way a learner writes them (dZ<N> = 1/m * (A<N> - Y), dZ<l> =
# W<l+1>.T @ dZ<l+1> * (1 - A<l> ** 2)), so that check has N * 3 claims.
width=16
batch=64
while getopts w:m: opt; do
    case $opt in
    w) width=$OPTARG ;;
    m) batch=$OPTARG ;;
    *) echo "usage: deepnet.sh [-w WIDTH] [-m BATCH] N [claims]" >&2; exit 2 ;;
    esac
done
shift $((OPTIND - 1))
n=${1:?usage: deepnet.sh [-w WIDTH] [-m BATCH] N [claims]}
case $n in
'' | *[!0-9]*) echo "deepnet.sh: N must be a positive integer, not '$n'" >&2; exit 2 ;;
esac
if [ "$n" -lt 1 ]; then
    echo "deepnet.sh: N must be at least 1" >&2
    exit 2
fi
awk -v n="$n" -v w="$width" -v b="$batch" -v claims="${2:-}" 'BEGIN {
    printf "# A %d-layer network: tanh hidden layers, sigmoid output (bench/deepnet.sh %d)\n", n, n
    printf "dims n_x = 4, n_h = %d, n_y = 1\n", w
    printf "batch m = %d\n", b
    print ""
    print "input X[n_x, m]"
    print "label Y[n_y, m] binary"
    for (l = 1; l <= n; l++) {
        rows = l == n ? "n_y" : "n_h"
        cols = l == 1 ? "n_x" : "n_h"
        printf "param W%d[%s, %s], b%d[%s, 1]\n", l, rows, cols, l, rows
    }
    print ""
    for (l = 1; l <= n; l++) {
        prev = l == 1 ? "X" : "A" (l - 1)
        printf "Z%d = W%d @ %s + b%d\n", l, l, prev, l
        printf "A%d = %s(Z%d)\n", l, l == n ? "sigmoid" : "tanh", l
    }
    printf "loss J = -1/m * sum(Y * log(A%d) + (1 - Y) * log(1 - A%d))\n", n, n
    if (claims != "claims")
        exit
    print ""
    print "convention absorbed"
    for (l = n; l >= 1; l--) {
        if (l == n)
            printf "dZ%d = 1/m * (A%d - Y)\n", l, l
        else
            printf "dZ%d = W%d.T @ dZ%d * (1 - A%d ** 2)\n", l, l + 1, l + 1, l
        prev = l == 1 ? "X" : "A" (l - 1)
        printf "dW%d = dZ%d @ %s.T\n", l, l, prev
        printf "db%d = np.sum(dZ%d, axis=1, keepdims=True)\n", l, l
    }
}'
