#!/bin/sh
# w3_errors.sh: workload W3, the error sweep per sample on an MNIST-sized network.
#
#   bench/w3_errors.sh NEW_DERIVCHECK [OLD_DERIVCHECK] [SAMPLES]
#
# W3: a 784-128-10 network, relu hidden layer and softmax output over
# one-hot labels, m = 256, regime typical: `derivcheck error` per sample
# (CPU time of the whole process divided by the samples), for NEW and, when
# given, OLD (an earlier build, e.g. one with MPFI references: it runs a
# single sample, as it is slow), and NEW's wall time at -j 2 against -j 1.
# Prints seconds and ratios; asserts nothing. Not part of make check.
set -eu
new=$1
old=${2:-}
n=${3:-4}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
cat >"$tmp/mnist.dc" <<'DC'
# W3: MNIST-sized classifier, relu hidden layer, softmax output
dims n_x = 784, n_h = 128, n_y = 10
batch m = 256

input X[n_x, m]
label Y[n_y, m] onehot
param W1[n_h, n_x], b1[n_h, 1]
param W2[n_y, n_h], b2[n_y, 1]

Z1 = W1 @ X + b1
A1 = relu(Z1)
Z2 = W2 @ A1 + b2
A2 = softmax(Z2, axis=0)
loss J = -1/m * sum(Y * log(A2))
DC

# CPU seconds (user + system) and wall seconds of one run: "cpu wall".
run() {
    /usr/bin/env time -f '%U %S %e' -o "$tmp/time" "$@" >/dev/null
    awk '{printf "%.2f %.2f\n", $1 + $2, $3}' "$tmp/time"
}

echo "W3: derivcheck error, 784-128-10 relu + softmax, m = 256, regime typical"
set -- $(run "$new" error "$tmp/mnist.dc" --regime typical --samples "$n" -j 1 -q)
new_cpu=$1 new_wall1=$2
new_per=$(awk -v c="$new_cpu" -v n="$n" 'BEGIN {printf "%.2f", c / n}')
echo "new -j 1: $n samples, $new_cpu s CPU, $new_per s per sample"
if [ -n "$old" ]; then
    set -- $(run "$old" error "$tmp/mnist.dc" --regime typical --samples 1 -j 1 -q)
    echo "old -j 1: 1 sample, $1 s CPU per sample; new is $(awk -v o="$1" -v p="$new_per" \
        'BEGIN {printf "%.1f", o / p}')x faster (target >= 5x)"
fi
set -- $(run "$new" error "$tmp/mnist.dc" --regime typical --samples "$n" -j 2 -q)
echo "new -j 2: $2 s wall against $new_wall1 s at -j 1: $(awk -v a="$new_wall1" -v b="$2" \
    'BEGIN {printf "%.2f", a / b}')x (target about 2x; 2 cores shared)"
