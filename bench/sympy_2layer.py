#!/usr/bin/env python3
"""sympy_2layer.py: a reference for bench/deep.sh: the 2-layer proof (deferred and absorbed
placements of 1/m give the same parameter gradients) by SymPy normal forms, timed.

usage: python3 bench/sympy_2layer.py [N_X N_H M]   (default 4 16 64, the bench's sizes)

Every entry is a SymPy symbol: inputs, labels, params, and the activations A1, A2 as free
symbols (as derivcheck's exact test treats them). The two placements' gradients are built
entry by entry with explicit matrices, and each parameter gradient's difference is expanded
to its normal form, which must be 0. Prints the sizes, the CPU (and wall) seconds taken, and whether every
difference is 0. Needs python3-sympy (apt-get install python3-sympy); not part of make check.
"""
import sys
import time

import sympy as sp


def matrix(name, rows, cols):
    return sp.Matrix(rows, cols, lambda i, j: sp.Symbol(f"{name}_{i}_{j}"))


def rowsum(a):
    return sp.Matrix(a.rows, 1, lambda i, _: sum(a[i, j] for j in range(a.cols)))


def gradients(x, y, w2, a1, a2, m, absorbed):
    scale = sp.Rational(1, m)
    dz2 = (a2 - y) * (scale if absorbed else 1)
    dz1 = (w2.T * dz2).multiply_elementwise(a1.applyfunc(lambda v: 1 - v**2))
    outer = 1 if absorbed else scale
    return {
        "dW2": outer * dz2 * a1.T,
        "db2": outer * rowsum(dz2),
        "dW1": outer * dz1 * x.T,
        "db1": outer * rowsum(dz1),
    }


def main():
    n_x, n_h, m = (int(v) for v in sys.argv[1:4]) if len(sys.argv) >= 4 else (4, 16, 64)
    start, cpu = time.perf_counter(), time.process_time()
    x, y = matrix("X", n_x, m), matrix("Y", 1, m)
    w2 = matrix("W2", 1, n_h)
    a1, a2 = matrix("A1", n_h, m), matrix("A2", 1, m)
    deferred = gradients(x, y, w2, a1, a2, m, absorbed=False)
    absorbed = gradients(x, y, w2, a1, a2, m, absorbed=True)
    equal = all(
        sp.expand(d - a) == 0
        for name in deferred
        for d, a in zip(deferred[name], absorbed[name])
    )
    seconds, cpu = time.perf_counter() - start, time.process_time() - cpu
    print(f"sympy {sp.__version__}: 2-layer proof, n_x = {n_x}, n_h = {n_h}, m = {m}: "
          f"{cpu:.3f} s CPU ({seconds:.3f} s wall), every parameter gradient equal: {equal}")
    return 0 if equal else 1


if __name__ == "__main__":
    sys.exit(main())
