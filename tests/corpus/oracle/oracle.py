#!/usr/bin/env python3
"""oracle.py: an independent check of the corpus's expected verdicts, by finite differences.

It shares no code and no output with derivcheck. It reads a .dc file with its
own small interpreter of the language (docs/language.md), evaluates the
forward pass at random points whose sizes vary (every dim and the batch size
take several values, never the declared ones alone, never only powers of
two), computes dJ/dV for each parameter and each claimed intermediate by
central finite differences of the loss (an intermediate is perturbed and
everything after it recomputed), and decides each claim's verdict:

  shape    the claim's shape is not its variable's, or its formula does not
           type-check (symbolic shapes: every dim gets a distinct size >= 2, so a
           numeric mismatch is a symbolic one)
  holds    equal to dJ/dV (a param), or to dJ/dV or m * dJ/dV (an intermediate,
           as the file's convention allows) at every point
  given    not holding, but equal to it once the earlier wrong claims are
           replaced by the true gradients (in one convention)
  refuted  otherwise

and the exit status (0 iff every claim holds and the conventions are not
mixed). It then compares these with the file's "#> " lines. A model file
(#> prove equal) is only evaluated: its loss and gradients must be finite.

Usage: oracle.py FILE.dc...   exit 0 if every expectation agrees.
Pure Python, no NumPy: the matrices are small.
"""

import math
import random
import re
import sys


class DcError(Exception):
    """An input error (parse or shape), as derivcheck must report with exit 2."""


# ---------------------------------------------------------------- arrays


class Arr:
    """A 0-, 1- or 2-D array of floats, row-major."""

    __slots__ = ("shape", "data")

    def __init__(self, shape, data):
        self.shape = tuple(shape)
        self.data = data

    @staticmethod
    def scalar(x):
        return Arr((), [float(x)])

    def copy(self):
        return Arr(self.shape, list(self.data))


def _strides(shape):
    st, acc = [], 1
    for n in reversed(shape):
        st.append(acc)
        acc *= n
    return list(reversed(st))


def broadcast_shape(a, b):
    n = max(len(a), len(b))
    a2 = (1,) * (n - len(a)) + a
    b2 = (1,) * (n - len(b)) + b
    out = []
    for x, y in zip(a2, b2):
        if x == y or y == 1:
            out.append(x)
        elif x == 1:
            out.append(y)
        else:
            raise DcError("cannot broadcast %s and %s" % (a, b))
    return tuple(out)


def _expand(a, shape):
    """A's data laid out over SHAPE (broadcast)."""
    if a.shape == shape:
        return a.data
    n = len(shape)
    ash = (1,) * (n - len(a.shape)) + a.shape
    ast = _strides(ash)
    out = []
    if n == 0:
        return list(a.data)
    if n == 1:
        s0 = ast[0] if ash[0] != 1 else 0
        return [a.data[i * s0] for i in range(shape[0])]
    s0 = ast[0] if ash[0] != 1 else 0
    s1 = ast[1] if ash[1] != 1 else 0
    for i in range(shape[0]):
        for j in range(shape[1]):
            out.append(a.data[i * s0 + j * s1])
    return out


def elementwise(f, a, b):
    shape = broadcast_shape(a.shape, b.shape)
    da, db = _expand(a, shape), _expand(b, shape)
    return Arr(shape, [f(x, y) for x, y in zip(da, db)])


def amap(f, a):
    return Arr(a.shape, [f(x) for x in a.data])


def matmul(a, b):
    if len(a.shape) != 2 or len(b.shape) != 2:
        raise DcError("@ needs two matrices, got %s @ %s" % (a.shape, b.shape))
    (p, k), (k2, q) = a.shape, b.shape
    if k != k2:
        raise DcError("inner sizes differ: %s @ %s" % (a.shape, b.shape))
    out = []
    for i in range(p):
        row = a.data[i * k:(i + 1) * k]
        for j in range(q):
            out.append(sum(row[t] * b.data[t * q + j] for t in range(k)))
    return Arr((p, q), out)


def transpose(a):
    if len(a.shape) != 2:
        return a
    p, q = a.shape
    return Arr((q, p), [a.data[i * q + j] for j in range(q) for i in range(p)])


def asum(a, axis=None, keepdims=False):
    if axis is None or len(a.shape) == 0:
        return Arr.scalar(sum(a.data))
    nd = len(a.shape)
    if axis < 0:
        axis += nd
    if not 0 <= axis < nd:
        raise DcError("axis %d out of range for %s" % (axis, a.shape))
    if nd == 1:
        s = sum(a.data)
        return Arr((1,), [s]) if keepdims else Arr.scalar(s)
    p, q = a.shape
    if axis == 0:
        data = [sum(a.data[i * q + j] for i in range(p)) for j in range(q)]
        return Arr((1, q), data) if keepdims else Arr((q,), data)
    data = [sum(a.data[i * q:(i + 1) * q]) for i in range(p)]
    return Arr((p, 1), data) if keepdims else Arr((p,), data)


def softmax(z, axis=0):
    e = amap(math.exp, z)
    return elementwise(lambda x, y: x / y, e, asum(e, axis, True))


def _sigmoid(x):
    return 1.0 / (1.0 + math.exp(-x))


def _pow(x, y):
    if y == 2:
        return x * x
    return x ** y


UNARY = {"exp": math.exp, "log": math.log, "tanh": math.tanh, "sigmoid": _sigmoid,
         "relu": lambda x: x if x > 0 else 0.0, "square": lambda x: x * x}
BINARY = {"+": lambda x, y: x + y, "-": lambda x, y: x - y, "*": lambda x, y: x * y,
          "/": lambda x, y: x / y, "**": _pow, ">": lambda x, y: float(x > y),
          "<": lambda x, y: float(x < y), ">=": lambda x, y: float(x >= y),
          "<=": lambda x, y: float(x <= y)}

# ---------------------------------------------------------------- lexer and parser

TOKEN = re.compile(r"\s*(?:(?P<num>(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?)|(?P<name>[A-Za-z_]\w*)"
                   r"|(?P<op>\*\*|>=|<=|[-+*/@^()\[\],=.<>]))")


def tokenize(s):
    toks, pos = [], 0
    s = s.rstrip()
    while pos < len(s):
        m = TOKEN.match(s, pos)
        if not m or m.end() == pos:
            raise DcError("cannot read %r" % s[pos:])
        pos = m.end()
        kind = m.lastgroup
        toks.append((kind, m.group(kind)))
    return toks


class Parser:
    """Recursive descent over one statement's tokens; builds tuples."""

    def __init__(self, toks):
        self.t, self.i = toks, 0

    def peek(self, k=0):
        return self.t[self.i + k] if self.i + k < len(self.t) else (None, None)

    def take(self, val=None):
        tok = self.peek()
        if tok[0] is None or (val is not None and tok[1] != val):
            raise DcError("expected %r, found %r" % (val, tok[1]))
        self.i += 1
        return tok

    def at(self, val):
        return self.peek()[1] == val and self.peek()[0] == "op"

    def expr(self):
        a = self.additive()
        for op in (">=", "<=", ">", "<"):
            if self.at(op):
                self.take()
                return ("bin", op, a, self.additive())
        return a

    def additive(self):
        a = self.term()
        while self.at("+") or self.at("-"):
            op = self.take()[1]
            a = ("bin", op, a, self.term())
        return a

    def term(self):
        a = self.unary()
        while self.at("*") or self.at("/") or self.at("@"):
            op = self.take()[1]
            b = self.unary()
            a = ("matmul", a, b) if op == "@" else ("bin", op, a, b)
        return a

    def unary(self):
        if self.at("-"):
            self.take()
            return ("neg", self.unary())
        if self.at("+"):
            self.take()
            return self.unary()
        return self.power()

    def power(self):
        a = self.postfix()
        if self.at("**") or self.at("^"):
            self.take()
            return ("bin", "**", a, self.unary())
        return a

    def postfix(self):
        a = self.primary()
        while self.at("."):
            self.take()
            name = self.take()[1]
            if name == "T":
                a = ("T", a)
            else:
                args, kw = self.arguments()
                a = ("call", name, [a] + args, kw)
        return a

    def arguments(self):
        self.take("(")
        args, kw = [], {}
        while not self.at(")"):
            if self.peek()[1] in ("axis", "keepdims") and self.peek(1)[1] == "=":
                key = self.take()[1]
                self.take("=")
                neg = self.at("-")
                if neg:
                    self.take()
                val = self.take()[1]
                if key == "axis":
                    kw[key] = None if val == "None" else (-int(val) if neg else int(val))
                else:
                    kw[key] = val == "True"
            else:
                args.append(self.expr())
            if not self.at(")"):
                self.take(",")
        self.take(")")
        return args, kw

    def primary(self):
        kind, val = self.peek()
        if kind == "num":
            self.take()
            return ("num", float(val))
        if self.at("("):
            self.take()
            e = self.expr()
            self.take(")")
            return e
        if kind == "name":
            self.take()
            if val == "np" and self.at("."):
                self.take()
                val = self.take()[1]
            if self.at("("):
                args, kw = self.arguments()
                return ("call", val, args, kw)
            return ("name", val)
        raise DcError("unexpected %r" % val)


def evaluate(e, env):
    k = e[0]
    if k == "num":
        return Arr.scalar(e[1])
    if k == "name":
        if e[1] not in env:
            raise DcError("unknown name %s" % e[1])
        return env[e[1]]
    if k == "neg":
        return amap(lambda x: -x, evaluate(e[1], env))
    if k == "T":
        return transpose(evaluate(e[1], env))
    if k == "matmul":
        return matmul(evaluate(e[1], env), evaluate(e[2], env))
    if k == "bin":
        return elementwise(BINARY[e[1]], evaluate(e[2], env), evaluate(e[3], env))
    name, args, kw = e[1], e[2], e[3]
    if name in UNARY:
        return amap(UNARY[name], evaluate(args[0], env))
    if name == "maximum":
        if args[0] != ("num", 0.0):
            raise DcError("maximum only with a literal 0")
        return amap(UNARY["relu"], evaluate(args[1], env))
    if name == "sum":
        axis = kw.get("axis")
        if len(args) > 1:
            axis = int(args[1][1]) if args[1][0] == "num" else -int(args[1][1][1])
        return asum(evaluate(args[0], env), axis, kw.get("keepdims", False))
    if name == "softmax":
        return softmax(evaluate(args[0], env), kw.get("axis", 0))
    if name in ("multiply", "divide", "power"):
        op = {"multiply": "*", "divide": "/", "power": "**"}[name]
        return elementwise(BINARY[op], evaluate(args[0], env), evaluate(args[1], env))
    if name == "dot":
        return matmul(evaluate(args[0], env), evaluate(args[1], env))
    if name == "transpose":
        return transpose(evaluate(args[0], env))
    raise DcError("unknown function %s" % name)


# ---------------------------------------------------------------- the file


class Model:
    def __init__(self, path):
        self.dims, self.batch, self.batch_one = {}, None, False
        self.inputs, self.labels, self.params = {}, {}, {}
        self.label_kind = {}
        self.defs, self.loss, self.claims = [], None, []
        self.convention = "auto"
        self.expect = []
        self.read(path)

    def read(self, path):
        with open(path) as f:
            raw = f.read().split("\n")
        stmt, depth, start = "", 0, None
        for no, line in enumerate(raw, 1):
            if line.startswith("#> "):
                self.expect.append(line[3:].split())
            code = line.split("#", 1)[0]
            if start is None:
                start = no
            cont = code.rstrip().endswith("\\")
            if cont:
                code = code.rstrip()[:-1]
            stmt += " " + code
            depth += code.count("(") + code.count("[") - code.count(")") - code.count("]")
            if cont or depth > 0:
                continue
            if stmt.strip():
                self.statement(stmt.strip(), start)
            stmt, start = "", None

    def tensor_list(self, rest, table, kinds=False):
        for part in re.finditer(r"([A-Za-z_]\w*)\s*(?:\[([^\]]*)\])?\s*(\w+)?", rest):
            name, sizes, kind = part.group(1), part.group(2), part.group(3)
            shape = tuple(s.strip() for s in sizes.split(",")) if sizes else ()
            table[name] = shape
            if kinds:
                self.label_kind[name] = kind

    def statement(self, s, line):
        word = s.split()[0]
        rest = s[len(word):].strip()
        if word == "dims":
            for part in rest.split(","):
                name, _, val = part.partition("=")
                self.dims[name.strip()] = int(val) if val.strip() else 3
        elif word == "batch":
            if rest == "1":
                self.batch_one = True
            else:
                self.batch = rest.split("=")[0].strip()
        elif word == "input":
            self.tensor_list(rest, self.inputs)
        elif word == "label":
            self.tensor_list(rest, self.labels, kinds=True)
        elif word == "param":
            for part in re.split(r",\s*(?![^\[]*\])", rest):
                self.tensor_list(part, self.params)
        elif word == "convention":
            self.convention = rest
        elif word == "loss":
            name, _, e = rest.partition("=")
            self.loss = (name.strip(), Parser(tokenize(e)).expr())
        else:
            name, _, e = s.partition("=")
            name = name.strip()
            p = Parser(tokenize(e))
            tree = p.expr()
            if p.i != len(p.t):
                raise DcError("line %d: trailing tokens" % line)
            target = name[1:] if name.startswith("d") else None
            known = set(self.params) | {d[0] for d in self.defs}
            if self.loss is not None or (target in known and target not in self.inputs):
                self.claims.append((name, target, tree, line))
            else:
                self.defs.append((name, tree))


def label_value(shape, kind, batch, rng):
    p, q = shape
    if kind == "binary":
        return [float(rng.random() < 0.5) for _ in range(p * q)]
    if kind in ("onehot", "prob"):
        # the class axis is the one that is not the batch dim (columns when neither)
        rows = shape[0] == batch if batch else False
        groups, width = (p, q) if rows else (q, p)
        data = [0.0] * (p * q)
        for g in range(groups):
            if kind == "onehot":
                w = [0.0] * width
                w[rng.randrange(width)] = 1.0
            else:
                w = [rng.random() + 0.1 for _ in range(width)]
                t = sum(w)
                w = [x / t for x in w]
            for c in range(width):
                data[g * width + c if rows else c * q + g] = w[c]
        return data
    return [rng.random() for _ in range(p * q)]


def configs(model, rng):
    """Three size assignments: every dim and the batch get distinct values
    >= 2, the batch 3, 6 and 7 (never the declared value alone, never only
    powers of two)."""
    names = sorted(model.dims)
    out = []
    for mb in (3, 6, 7):
        pool = [v for v in range(2, 9) if v != mb]
        rng.shuffle(pool)
        if len(names) > len(pool):
            raise DcError("too many dims for the oracle")
        c = dict(zip(names, pool))
        if model.batch:
            c[model.batch] = mb
        out.append(c)
    return out


def numeric_shape(shape, c):
    return tuple(1 if s == "1" else c[s] for s in shape)


class Point:
    """One random point of one size config: values of everything declared."""

    def __init__(self, model, c, rng):
        self.model, self.c = model, c
        self.m = c[model.batch] if model.batch else 1
        base = {}
        if model.batch:
            base[model.batch] = Arr.scalar(self.m)
        for name, shape in model.inputs.items():
            ns = numeric_shape(shape, c)
            n = 1
            for k in ns:
                n *= k
            lo = 0.1 if not ns else -1.0
            base[name] = Arr(ns, [rng.uniform(lo, 1.0) for _ in range(n)])
        for name, shape in model.labels.items():
            ns = numeric_shape(shape, c)
            base[name] = Arr(ns, label_value(ns, model.label_kind.get(name), c.get(model.batch), rng))
        for name, shape in model.params.items():
            ns = numeric_shape(shape, c)
            n = 1
            for k in ns:
                n *= k
            base[name] = Arr(ns, [rng.uniform(-1.0, 1.0) for _ in range(n)])
        self.base = base

    def forward(self, overrides=None):
        env = dict(self.base)
        if overrides:
            env.update({k: v for k, v in overrides.items() if k in self.model.params})
        for name, tree in self.model.defs:
            if overrides and name in overrides:
                env[name] = overrides[name]
            else:
                env[name] = evaluate(tree, env)
        loss = evaluate(self.model.loss[1], env)
        if loss.shape:
            raise DcError("the loss has shape %s; a loss must be a scalar" % (loss.shape,))
        return env, loss.data[0]

    def gradient(self, name, env, h=1e-5):
        """dJ/dNAME by central differences: NAME perturbed, all after it recomputed."""
        v = env[name]
        g = []
        for i in range(len(v.data)):
            up, dn = v.copy(), v.copy()
            up.data[i] += h
            dn.data[i] -= h
            g.append((self.forward({name: up})[1] - self.forward({name: dn})[1]) / (2 * h))
        return Arr(v.shape, g)


def close(a, b, tol=1e-6):
    if a.shape != b.shape:
        return False
    scale = max([1.0] + [abs(x) for x in b.data])
    return all(abs(x - y) <= tol * scale for x, y in zip(a.data, b.data))


def scaled(a, k):
    return Arr(a.shape, [k * x for x in a.data])


def verdicts(model, seed=7):
    """The claims' verdicts, the mixing flag and the exit status, by the definitions above."""
    rng = random.Random(seed)
    param_names = set(model.params)
    allowed = {"auto": ("absorbed", "deferred"), "absorbed": ("absorbed",),
               "deferred": ("deferred",)}[model.convention]

    def factor(target, conv, m):
        return 1 if target in param_names or conv == "absorbed" else m

    points = []
    shape_bad = set()
    holds = {name: set(allowed) for name, _, _, _ in model.claims}
    for c in configs(model, rng):
        pt = Point(model, c, rng)
        env, _ = pt.forward()
        truth = {}
        for name, target, tree, line in model.claims:
            if target not in truth:
                truth[target] = pt.gradient(target, env)
        user = dict(env)
        for name, target, tree, line in model.claims:
            try:
                val = evaluate(tree, user)
            except DcError:
                # a claim that does not type-check is a wrong shape (issue 14), the
                # others are judged: it stands for zeros of its variable's shape
                shape_bad.add(name)
                user[name] = Arr(env[target].shape, [0.0] * len(env[target].data))
                continue
            user[name] = val
            if val.shape != env[target].shape:
                shape_bad.add(name)
                continue
            for conv in allowed:
                if not close(val, scaled(truth[target], factor(target, conv, pt.m))):
                    holds[name].discard(conv)
        points.append((pt, env, truth, user))
    wrong = {name for name, _, _, _ in model.claims if name in shape_bad or not holds[name]}
    # "given": the earlier wrong claims replaced by the truth in one convention
    given = {name: set(allowed) for name in wrong}
    for pt, env, truth, user in points:
        for conv in allowed:
            sub = dict(env)
            for name, target, tree, line in model.claims:
                right = scaled(truth[target], factor(target, conv, pt.m))
                if name in given and name not in shape_bad:
                    if not close(evaluate(tree, sub), right):
                        given[name].discard(conv)
                sub[name] = right if name in wrong else user[name]
    out, used = {}, set()
    for name, target, tree, line in model.claims:
        if name in shape_bad:
            out[name] = ("shape", None)
        elif holds[name]:
            conv = None
            if target not in param_names and model.batch and len(holds[name]) == 1:
                conv = next(iter(holds[name]))
                used.add(conv)
            out[name] = ("holds", conv)
        elif given[name]:
            out[name] = ("given", None)
        else:
            out[name] = ("refuted", None)
    mixing = len(used) == 2
    ok = all(v[0] == "holds" for v in out.values()) and not mixing
    return out, mixing, 0 if ok else 1


def check_file(path):
    """Compare PATH's expectations with the oracle's verdicts; returns a list of problems."""
    problems = []
    try:
        model = Model(path)
    except DcError as e:
        return ["%s: the oracle cannot read it: %s" % (path, e)]
    exp = model.expect
    kinds = {e[0] for e in exp}
    if "prove" in kinds:
        if exp != [["prove", "equal"]]:
            problems.append("%s: a model has exactly the line '#> prove equal'" % path)
        if model.claims:
            problems.append("%s: a model has no claims" % path)
        try:
            rng = random.Random(11)
            for c in configs(model, rng):
                pt = Point(model, c, rng)
                env, j = pt.forward()
                grads = [pt.gradient(p, env) for p in model.params]
                if not math.isfinite(j) or any(not math.isfinite(x) for g in grads for x in g.data):
                    problems.append("%s: not finite at a random point" % path)
        except (DcError, ValueError, OverflowError, ZeroDivisionError) as e:
            problems.append("%s: %s" % (path, e))
        return problems
    if "input-error" in kinds:
        try:
            verdicts(model)
        except DcError:
            return []
        return ["%s: expected an input error, but the oracle reads it" % path]
    try:
        got, mixing, status = verdicts(model)
    except DcError as e:
        return ["%s: %s" % (path, e)]
    seen = set()
    for e in exp:
        if e[0] == "exit":
            if int(e[1]) != status:
                problems.append("%s: exit %s expected, oracle says %d" % (path, e[1], status))
        elif e[0] == "mixing":
            seen.add("#mixing")
            if not mixing:
                problems.append("%s: mixing expected, oracle says no" % path)
        elif e[0] in ("holds", "refuted", "shape", "given"):
            name = e[1]
            seen.add(name)
            if name not in got:
                problems.append("%s: no claim %s" % (path, name))
                continue
            v, conv = got[name]
            if v != e[0]:
                problems.append("%s: %s %s expected, oracle says %s" % (path, e[0], name, v))
            elif len(e) > 2 and e[2] != conv:
                problems.append("%s: %s %s %s expected, oracle says %s" % (path, e[0], name, e[2], conv))
        else:
            problems.append("%s: unknown expectation %s" % (path, " ".join(e)))
    for name in got:
        if name not in seen:
            problems.append("%s: claim %s has no expectation (oracle: %s)" % (path, name, got[name][0]))
    if mixing and "#mixing" not in seen:
        problems.append("%s: the oracle finds mixed conventions, not expected" % path)
    return problems


def main(argv):
    problems = []
    for path in argv[1:]:
        problems += check_file(path)
    for p in problems:
        print("ORACLE: " + p)
    print("oracle: %d files, %d disagreements" % (len(argv) - 1, len(problems)))
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
