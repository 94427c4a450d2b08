"""Run derive's NumPy module of one model, derive's text and check's expected: lines, and compare them with eval.

usage: numpy_module.py DERIVCHECK MODEL SEED

The oracle is eval at 256 bits on the same arrays (given by --data), which
shares no code with the module's printing: the loss and every param
gradient of both conventions must agree with it to 1e-9 relative, and each
intermediate gradient of the absorbed convention must be 1/m times the
deferred one.

Then every formula line derive prints as text ("  dZ1 = W2.T @ dZ2 * (1 - A1**2)")
is run as it stands, in order, in Python with NumPy, after the course's
sigmoid, relu and softmax are defined here and the forward values bound: each
param gradient must agree with eval, each intermediate with the module.

And for a derivation file, every `expected:` line check prints for its claims
("expected: dW2 = 1/m * dZ2 @ A1.T") is evaluated as it stands, with the forward
values and the module's gradients of the claim's convention (either, for a
wrong claim under convention auto) bound under the
user's names (dZ3 for the module's dz3): against eval for a param, the module
for an intermediate. A file of mistakes (its name says mistake or wrong) must
have at least one such line. Exit 0 when they all agree, 1 with the
differences printed.
"""
import importlib.util
import json
import os
import re
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


def sigmoid(z):
    return 1 / (1 + np.exp(-z))


def relu(z):
    return np.where(z > 0, z, 0.0)


def softmax(z, axis):
    e = np.exp(z - z.max(axis=axis, keepdims=True))
    return e / e.sum(axis=axis, keepdims=True)


def forward_values(source, arrays):
    """The dims and every definition of the model at ARRAYS: the body of the
    module's forward(), run up to its return, with the course's functions
    defined here."""
    lines = source.split("\n")
    start = next(i for i, l in enumerate(lines) if l.startswith("def forward("))
    body = []
    for line in lines[start + 1:]:
        if line.strip().startswith("return"):
            break
        if not line.strip().startswith('"""'):
            body.append(line[4:])
    scope = {"np": np, "sigmoid": sigmoid, "relu": relu, "softmax": softmax}
    scope.update(arrays)
    exec("\n".join(body), scope)
    return scope


def text_sections(text):
    """derive's text: {section: [(name, line)]}, sections "deferred",
    "absorbed" (or "absorbed" for per-example notation) and "logits"."""
    sections, current = {}, None
    for line in text.split("\n"):
        if line.startswith("Deferred convention"):
            current = "deferred"
        elif line.startswith("Absorbed convention") or line.startswith("Per-example"):
            current = "absorbed"
        elif line.startswith("From the logits"):
            current = "logits"
        elif line.startswith("  d") and " = " in line and current is not None:
            sections.setdefault(current, []).append((line.split(" = ")[0].strip(), line.strip()))
        elif not line.startswith("  "):
            current = None
    return sections


def want_shape(name, ref, grads):
    """The shape of gradient NAME, from eval or the module; None if neither has it."""
    if name in ref["gradients"]:
        return np.shape(np.array(ref["gradients"][name], dtype=float))
    return np.shape(grads[name]) if name in grads else None


def check_text(derivcheck, model, arrays, source, ref, results, failures):
    """Every formula line of derive's text, run in NumPy, against eval and the module;
    returns how many lines ran."""
    text = subprocess.run([derivcheck, "derive", model], check=True, capture_output=True,
                          text=True).stdout
    base = forward_values(source, arrays)
    ran = 0
    for section, lines in text_sections(text).items():
        # the form from the logits is the same gradient as the deferred one
        convention = "deferred" if section == "logits" else section
        scope = dict(base)
        for name, line in lines:
            # a version of a reassigned name (A2'' for the third A2) is not a Python
            # identifier: the module writes its primes as underscores, and so does this
            name, line = name.replace("'", "_"), line.replace("'", "_")
            try:
                exec(line, scope)
            except Exception as e:  # the line does not run in NumPy
                failures.append("text %s: %r raises %s: %s" % (section, line, type(e).__name__, e))
                break
            ran += 1
            got = scope[name]
            if np.ndim(got) == 0 and want_shape(name, ref, results[convention][1]) is not None:
                # a gradient of constant entries is printed as the constant (dlogprobs = -1),
                # a scalar that broadcasts where it is used
                got = np.broadcast_to(got, want_shape(name, ref, results[convention][1]))
            if name in ref["gradients"]:
                want, oracle = np.array(ref["gradients"][name], dtype=float), "eval"
            else:
                want, oracle = results[convention][1].get(name), "the module"
            if want is None:
                failures.append("text %s: %s is in neither eval nor the module" % (section, name))
            elif not close(got, want):
                failures.append("text %s: %r gives\n%r\n%s:\n%r" % (section, line, got, oracle, want))
    if ran == 0:
        failures.append("text: no formula line found in derive's output")
    return ran


def user_bindings(model, scope):
    """SCOPE (the module's forward values) with the other names the user's file gives
    them at its claims, read from the file itself: a reassigned name means its last
    value (A1 for the module's A1__), NAME = OTHER binds another name (A3 = a3), and a
    tuple unpacked from a tuple binds its names (Z1, A1 = cache after cache = (z1, a1))."""
    scope = dict(scope)
    for name in list(scope):
        last = name
        while last + "_" in scope:
            last += "_"
        scope[name] = scope[last]
    with open(model) as f:
        text = f.read()
    tuples = {}
    for line in text.split("\n"):
        line = line.split("#")[0].strip()
        alias = re.match(r"^(\w+)\s*=\s*(\w+)$", line)
        packed = re.match(r"^(\w+)\s*=\s*\(([\w\s,]+)\)$", line)
        unpacked = re.match(r"^\(?([\w\s,]+?)\)?\s*=\s*(\w+)$", line)
        if alias and alias.group(2) in scope and alias.group(1) not in scope:
            scope[alias.group(1)] = scope[alias.group(2)]
        elif packed:
            tuples[packed.group(1)] = [n.strip() for n in packed.group(2).split(",")]
        elif unpacked and unpacked.group(2) in tuples:
            names = [n.strip() for n in unpacked.group(1).split(",")]
            for name, value in zip(names, tuples[unpacked.group(2)]):
                if name not in scope and value in scope:
                    scope[name] = scope[value]
    return scope


def check_expected(derivcheck, model, arrays, source, ref, results, failures):
    """Every `expected:` line check prints for the claims of MODEL, run as it stands
    in NumPy with the forward values and the gradients of the claim's convention
    bound under the user's names: a param's against eval, an intermediate's against
    the module. Returns how many lines ran."""
    if not model.endswith(".dc"):
        return 0
    run = subprocess.run([derivcheck, "check", model], capture_output=True, text=True)
    if run.returncode == 2 and "has no claims" in run.stderr:
        return 0
    if run.returncode not in (0, 1):
        failures.append("check exited %d: %s" % (run.returncode, run.stderr))
        return 0
    report = json.loads(subprocess.run([derivcheck, "check", model, "--format", "json"],
                                       capture_output=True, text=True).stdout)
    users = {c["name"] for c in report["claims"]}
    # the convention a claim's expected line is in: the claim's own, else the file's;
    # a wrong claim in a file of convention auto has none, and its line may be in either
    conventions = {}
    for c in report["claims"]:
        if c["convention"] in results:
            conventions[(c["name"], c["line"])] = {c["convention"]}
        elif report["convention"] in results:
            conventions[(c["name"], c["line"])] = {report["convention"]}
        else:
            conventions[(c["name"], c["line"])] = set(results)
    base = user_bindings(model, forward_values(source, arrays))
    # and the expected lines of the claims that hold or are right given wrong ones, which
    # the text does not print (written with the earlier claims' names, and the aliases):
    # each in the claim's convention, for the version of the name it is the gradient of
    lines = []
    for c in report["claims"]:
        if c["verdict"] in ("ok", "given") and c["expected"] is not None:
            of = c.get("gradient_of")
            target = "d" + of.replace("'", "_") if of is not None else None
            lines.append(((c["name"], c["line"]), "expected: %s = %s" % (c["name"], c["expected"]),
                          target))
    claim = None
    for line in run.stdout.split("\n"):
        head = re.match(r"^  \S+\s+(\S+)\s+line (\d+)\s", line)
        if head:
            claim = (head.group(1), int(head.group(2)))
            continue
        if re.match(r"^\s+expected: ", line):
            lines.append((claim, line, None))
    ran = 0
    for claim, line, version in lines:
        found = re.match(r"^\s*expected: (\S+) = (.*)$", line)
        if not found:
            continue
        name, formula = found.groups()
        ran += 1
        agree, tried = False, []
        for convention in sorted(conventions.get(claim, set(results))):
            grads = results[convention][1]
            # the gradients under the names the user gave them (dZ3 for the module's dz3)
            scope = dict(base)
            own = {}
            for user in users:
                for g in grads:
                    if g.lower() == user.lower().replace("'", "_"):
                        scope[user] = grads[g]
                        own[user] = g
            try:
                got = eval(formula, scope)
            except Exception as e:  # the line does not run in NumPy
                tried.append("%s: raises %s: %s" % (convention, type(e).__name__, e))
                continue
            target = version if version is not None else own.get(name, name)
            if target in ref["gradients"]:
                want = np.array(ref["gradients"][target], dtype=float)
            else:
                want = grads.get(target)
            if want is None:
                tried.append("%s: %s is in neither eval nor the module" % (convention, name))
            elif np.ndim(got) == 0 and np.ndim(want) > 0:
                got = np.broadcast_to(got, np.shape(want))
            if want is not None and close(got, want):
                agree = True
            elif want is not None:
                tried.append("%s: gives\n%r\nwhere it is\n%r" % (convention, got, want))
        if not agree:
            failures.append("check's %r: %s" % (line.strip(), "; ".join(tried)))
    return ran


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
        with open(path) as f:
            source = f.read()
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
    lines = check_text(derivcheck, model, arrays, source, ref, results, failures)
    expected = check_expected(derivcheck, model, arrays, source, ref, results, failures)
    if expected == 0 and re.search(r"(mistake|wrong)[^/]*\.dc$", model):
        failures.append("check printed no expected: line for a file of mistakes")
    for f in failures:
        print("%s: %s" % (model, f))
    print("%s: %d gradients, %d text lines and %d expected: lines run, %s"
          % (model, len(deferred), lines, expected, "FAIL" if failures else "ok"))
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
