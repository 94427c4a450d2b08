"""Run derive's NumPy module of one model and compare it with eval.

usage: numpy_module.py DERIVCHECK MODEL SEED

The oracle is eval at 256 bits on the same arrays (given by --data), which
shares no code with the module's printing: the loss and every param
gradient of both conventions must agree with it to 1e-9 relative, and each
intermediate gradient of the absorbed convention must be 1/m times the
deferred one. Exit 0 when they agree, 1 with the differences printed.
"""
import importlib.util
import json
import os
import subprocess
import sys
import tempfile

import numpy as np


def draw(shapes, labels, rng):
    """Arrays of the declared sizes (3 for an unset one); labels obey LABELS."""
    arrays = {}
    for name, dims in shapes.items():
        dims = tuple(3 if d is None else d for d in dims)
        kind, axis = labels.get(name, (None, None))
        if kind == "binary":
            a = rng.integers(0, 2, size=dims).astype(float)
        elif kind in ("onehot", "prob"):
            if axis == 1:  # examples are rows: draw them as columns, then transpose
                dims = tuple(reversed(dims))
            rows = dims[0]
            cols = dims[1] if len(dims) > 1 else 1
            if kind == "onehot":
                a = np.zeros((rows, cols))
                a[rng.integers(0, rows, size=cols), np.arange(cols)] = 1.0
            else:  # columns of dyadic rationals that sum to exactly 1
                k = rng.integers(1, 9, size=(rows, cols))
                k[-1] += 64 - k.sum(axis=0)
                a = k / 64.0
            a = a.reshape(dims)
            if axis == 1:
                a = a.T
        elif kind == "none":
            a = rng.uniform(0.05, 0.95, size=dims)
        else:
            a = rng.normal(0.0, 0.7, size=dims)
        arrays[name] = a
    return arrays


def close(a, b):
    a = np.asarray(a, dtype=float)
    b = np.asarray(b, dtype=float)
    if a.shape != b.shape and a.size == b.size:
        a = a.reshape(b.shape)
    return a.shape == b.shape and np.allclose(a, b, rtol=1e-9, atol=1e-12)


def main():
    derivcheck, model, seed = sys.argv[1], sys.argv[2], int(sys.argv[3])
    with tempfile.TemporaryDirectory() as tmp:
        path = os.path.join(tmp, "generated.py")
        subprocess.run([derivcheck, "derive", model, "--format", "numpy", "-o", path], check=True)
        spec = importlib.util.spec_from_file_location("generated", path)
        mod = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(mod)
        arrays = draw(mod.SHAPES, mod.LABELS, np.random.default_rng(seed))
        data = os.path.join(tmp, "data.json")
        with open(data, "w") as f:
            json.dump({k: v.tolist() for k, v in arrays.items()}, f)
        out = subprocess.run([derivcheck, "eval", model, "--data", data, "--format", "json"],
                             check=True, capture_output=True, text=True).stdout
    ref = json.loads(out)
    failures = []
    loss = mod.forward(**arrays)
    if not close(loss, float(ref["loss"])):
        failures.append("loss: module %r, eval %s" % (loss, ref["loss"]))
    results = {c: mod.forward_backward(convention=c, **arrays) for c in ("deferred", "absorbed")}
    m = float(ref["dims"][mod.BATCH]) if mod.BATCH is not None else 1.0
    for c, (l, grads) in results.items():
        if not close(l, loss):
            failures.append("%s: loss %r differs from forward's %r" % (c, l, loss))
        for name, value in ref["gradients"].items():
            want = np.array(value, dtype=float)
            if name not in grads:
                failures.append("%s: no %s" % (c, name))
            elif not close(grads[name], want):
                failures.append("%s %s:\n%r\neval:\n%r" % (c, name, grads[name], want))
    deferred, absorbed = results["deferred"][1], results["absorbed"][1]
    for name in deferred:
        if name not in ref["gradients"] and not close(absorbed[name] * m, deferred[name]):
            failures.append("%s: absorbed * m differs from deferred" % name)
    for f in failures:
        print("%s: %s" % (model, f))
    print("%s: %d gradients, %s" % (model, len(deferred), "FAIL" if failures else "ok"))
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
