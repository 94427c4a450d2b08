#!/bin/sh
# json.sh: every command's JSON has the keys docs/json.md documents, and its codes mean what the
# examples say (Python's json module reads it: an independent parser).
# Environment (set by make check): DERIVCHECK, DC_EXAMPLES_DIR, DC_DOCS_DIR, DC_TEST_DATADIR.
set -u
: "${DERIVCHECK:?}" "${DC_EXAMPLES_DIR:?}" "${DC_DOCS_DIR:?}" "${DC_TEST_DATADIR:?}"
command -v python3 >/dev/null 2>&1 || {
    echo "json.sh: python3 not found; skipped"
    exit 77
}
tmp=$(mktemp -d "${TMPDIR:-/tmp}/dc-json.XXXXXX") || exit 99
trap 'rm -rf "$tmp"' EXIT

# out NAME STATUS ARGS...: the program's standard output into $tmp/NAME.json, its exit
# status checked.
failures=0
out() {
    name=$1 want=$2
    shift 2
    "$DERIVCHECK" "$@" >"$tmp/$name.json" 2>"$tmp/$name.err"
    got=$?
    if [ "$got" != "$want" ]; then
        echo "FAIL: derivcheck $* exited $got, expected $want"
        failures=$((failures + 1))
    fi
}

out derive 0 derive --trace --format json sigmoid
out check_sign 1 check --format json "$DC_EXAMPLES_DIR/mistake_sign.dc"
out check_ok 0 check --format json "$DC_EXAMPLES_DIR/ng_sigmoid_deferred.dc"
out prove 0 prove --format json logistic
out eval 0 eval --format json --check-fd logistic
out error 0 error --format json --regime saturated --samples 2 sigmoid
out rules 0 rules --format json
out models 0 models --format json
printf 'dims n = 2\nbatch m = 4\ninput X[n, m]\nZ = X @ X\nloss J = sum(Z)\n' >"$tmp/bad.dc"
out input_error 2 check --format json "$tmp/bad.dc"
for f in "$DC_EXAMPLES_DIR"/mistake_*.dc; do
    b=${f##*/}
    "$DERIVCHECK" check --format json "$f" >"$tmp/mistake.${b%.dc}.json" 2>/dev/null
done

python3 - "$tmp" "$DC_DOCS_DIR/json.md" <<'EOF' || failures=$((failures + 1))
import glob, json, os, sys

tmp, doc_path = sys.argv[1], sys.argv[2]
doc = open(doc_path, encoding="utf-8").read()
failures = []

def fail(what):
    failures.append(what)

def load(name):
    with open(os.path.join(tmp, name + ".json"), encoding="utf-8") as f:
        return json.load(f)

# keys(WHERE, OBJ, REQUIRED, OPTIONAL): OBJ has every REQUIRED key, no key beyond
# REQUIRED and OPTIONAL, and docs/json.md names each of them as `key`.
def keys(where, obj, required, optional=()):
    if not isinstance(obj, dict):
        fail(f"{where}: not an object: {obj!r}"[:200])
        return
    for k in required:
        if k not in obj:
            fail(f"{where}: no key {k!r}")
    for k in obj:
        if k not in required and k not in optional:
            fail(f"{where}: key {k!r} is not documented")
    for k in list(required) + list(optional):
        if f"`{k}`" not in doc:
            fail(f"docs/json.md does not document {k!r} ({where})")

HEAD = ("schema_version", "command")

def head(where, obj, command):
    if obj.get("schema_version") != 1:
        fail(f"{where}: schema_version is {obj.get('schema_version')!r}, not 1")
    if obj.get("command") != command:
        fail(f"{where}: command is {obj.get('command')!r}, not {command!r}")

# derive
d = load("derive")
head("derive", d, "derive")
keys("derive", d, HEAD + ("model", "loss", "batch", "gradients"))
for g in d["gradients"]:
    keys("derive gradient", g, ("name", "of", "kind", "named", "deferred", "absorbed",
                                "assumptions", "trace"))
    if g["kind"] not in ("param", "definition"):
        fail(f"derive: kind {g['kind']!r}")
    for st in g["trace"]:
        keys("derive step", st, ("rule", "file", "line", "before", "after"))
if [g["name"] for g in d["gradients"] if g["kind"] == "param"] != ["dW2", "db2", "dW1", "db1"]:
    fail("derive: the params of sigmoid are not dW2, db2, dW1, db1")

# the oracle: the derivation against the loss without the rules (check and prove)
def oracle(where, o, status):
    keys(where + " oracle", o, ("status", "bits", "params", "points", "log2_gap",
                                "loss_evaluations", "summary", "wrong", "first_wrong", "rules"))
    if o.get("status") != status:
        fail(f"{where}: oracle status {o.get('status')!r}, not {status!r}")
    if status == "agrees" and not (o["log2_gap"] is None or o["log2_gap"] <= -o["bits"] / 3):
        fail(f"{where}: oracle agrees at 2^{o['log2_gap']}, above 2^-(bits/3)")
    # the words name a power of two the gap is below: log2_gap -194.1 is "to 2^-194"
    if status == "agrees" and o["log2_gap"] is not None:
        import math
        bound = f"to 2^{math.ceil(o['log2_gap'])} "
        if bound not in o["summary"]:
            fail(f"{where}: oracle summary {o['summary']!r} does not say {bound!r}")
    for r in o.get("rules", []):
        keys(where + " oracle rule", r, ("name", "file", "line"))

# check
VERDICTS = {"ok", "wrong", "shape", "given", "undecided", "step"}
DIAGNOSES = {"missing_inv_m", "extra_inv_m", "hard_coded_batch", "sign", "transpose", "axis",
             "keepdims", "activation_derivative", "label_assumption", "zero_gradient",
             "wrong_earlier_claims", "unsound_rule", "not_decidable", "unknown",
             "hyperparameter_factor", "relu_mask", "regularisation", "gradient_of_other",
             "two_mistakes", "constant_factor"}
for code in VERDICTS | DIAGNOSES:
    if f"`{code}`" not in doc:
        fail(f"docs/json.md does not document the code {code!r}")
CLAIM = ("name", "line", "verdict", "convention", "diagnosis", "reason", "method", "evidence",
         "expected", "counterexample")
for name, outcome in (("check_sign", "wrong"), ("check_ok", "ok")):
    c = load(name)
    head(name, c, "check")
    keys(name, c, HEAD + ("file", "convention", "mixing", "all_hold", "outcome", "summary",
                          "oracle", "claims"))
    oracle(name, c["oracle"], "agrees")
    if c["outcome"] != outcome or c["all_hold"] != (outcome == "ok"):
        fail(f"{name}: outcome {c['outcome']!r}, all_hold {c['all_hold']!r}")
    for r in c["claims"]:
        keys(name + " claim", r, CLAIM, ("note", "gradient_of"))
        if r["verdict"] not in VERDICTS:
            fail(f"{name}: verdict {r['verdict']!r} is no code")
        if (r["verdict"] == "ok") != (r["diagnosis"] is None) or \
                (r["diagnosis"] is not None and r["diagnosis"] not in DIAGNOSES):
            fail(f"{name}: {r['name']} has verdict {r['verdict']!r}, diagnosis {r['diagnosis']!r}")
        if r["evidence"] is not None:
            keys(name + " evidence", r["evidence"], ("sizes",), ("point", "points", "bits"))
ok = load("check_ok")
if [r["verdict"] for r in ok["claims"]] != ["ok"] * 6:
    fail("check_ok: ng_sigmoid_deferred.dc's six claims do not all hold")
sign = load("check_sign")
if [(r["name"], r["verdict"], r["diagnosis"]) for r in sign["claims"]] != \
        [("dZ2", "wrong", "sign"), ("dW2", "given", "wrong_earlier_claims")]:
    fail(f"check_sign: {[(r['name'], r['verdict'], r['diagnosis']) for r in sign['claims']]}")

# each mistake_*.dc example has one mistake, named by its file: its diagnosis
EXPECTED = {"axis": "axis", "keepdims": "keepdims", "transpose": "transpose", "sign": "sign",
            "missing_one_over_m": "missing_inv_m", "extra_one_over_m": "extra_inv_m",
            "tanh_derivative": "activation_derivative",
            "sigmoid_derivative_for_tanh": "activation_derivative",
            "label_assumption": "label_assumption"}
seen = 0
for path in sorted(glob.glob(os.path.join(tmp, "mistake.mistake_*.json"))):
    kind = os.path.basename(path)[len("mistake.mistake_"):-len(".json")]
    with open(path, encoding="utf-8") as f:
        c = json.load(f)
    wrong = [r for r in c["claims"] if r["verdict"] in ("wrong", "shape")]
    if kind not in EXPECTED:
        fail(f"mistake_{kind}.dc: no expected diagnosis in json.sh")
    elif not wrong or wrong[0]["diagnosis"] != EXPECTED[kind]:
        fail(f"mistake_{kind}.dc: first wrong claim diagnosed "
             f"{wrong[0]['diagnosis'] if wrong else None!r}, not {EXPECTED[kind]!r}")
    seen += 1
if seen < 9:
    fail(f"only {seen} mistake_*.dc examples checked")

# prove
p = load("prove")
head("prove", p, "prove")
keys("prove", p, HEAD + ("model", "seed", "proven", "verdict", "exact_batches", "exact_sizes",
                         "oracle", "gradients"))
# logistic's dims n_x, n_y and m at each size assignment, each from 2 to 5; the batch sizes are m's
if [sorted(s) for s in p["exact_sizes"]] != [["m", "n_x", "n_y"]] * 4 or \
        [s["m"] for s in p["exact_sizes"]] != p["exact_batches"] or \
        sorted(s["n_x"] for s in p["exact_sizes"]) != [2, 3, 4, 5]:
    fail(f"prove: exact_sizes {p['exact_sizes']!r}, exact_batches {p['exact_batches']!r}")
oracle("prove", p["oracle"], "agrees")
if p["verdict"] not in ("proven", "numeric", "refuted", "undecided"):
    fail(f"prove: verdict {p['verdict']!r}")
for g in p["gradients"]:
    keys("prove gradient", g, ("name", "relation", "deferred", "absorbed", "symbolic",
                               "lemma", "lemma_depth", "numeric_ran", "exact_points", "exact_equal", "degree",
                               "log2_chance", "exact_per_size", "exact_confirms", "mpfr", "double", "verdict", "method", "disagree",
                               "exact_tried", "exact_why", "exact_witness", "enclosure",
                               "mpfr_batch", "mpfr_why", "mpfr_again", "loss", "certificate"))
    if g["relation"] not in ("equal", "differ_by_m"):
        fail(f"prove: relation {g['relation']!r}")
    keys("prove certificate", g["certificate"], ("lemma", "uses", "rules", "deferred",
                                                  "absorbed_substituted"))

# eval
e = load("eval")
head("eval", e, "eval")
keys("eval", e, HEAD + ("model", "data", "seed", "precision", "digits", "max_digits", "dims",
                        "loss_name", "loss", "gradients", "finite_differences"),
     ("labels_not_assumed", "not_finite"))
keys("eval finite_differences", e["finite_differences"],
     ("h", "precision", "tolerance", "max_relative_difference", "max", "agree"))
if e["finite_differences"]["agree"] is not True:
    fail("eval: the finite differences disagree on logistic")

# error: a row without a finite entry has max_rel null
r = load("error")
head("error", r, "error")
keys("error", r, HEAD + ("model", "seed", "samples_asked", "shard", "nshards", "shards", "model_hash", "rules_hash", "bits",
                         "reference", "regimes"))
if r["model"] != "sigmoid":
    fail(f"error: model {r['model']!r}, not the name given, 'sigmoid'")
nan_rows = 0
for t in r["regimes"]:
    keys("error regime", t, ("regime", "draws", "batch", "samples", "max_prec", "rows"))
    for row in t["rows"]:
        keys("error row", row, ("quantity", "formulation", "formula", "entries",
                                "unsampleable", "micro_bits", "mean_bits", "max_bits",
                                "max_rel", "nan", "inf", "histogram"), ("worst",))
        if len(row["histogram"]) != 65 or sum(row["histogram"]) != row["entries"]:
            fail(f"error: {row['quantity']} {row['formulation']}: histogram")
        if row["nan"] == row["entries"]:
            nan_rows += 1
            if row["max_rel"] is not None:
                fail(f"error: {row['quantity']} {row['formulation']} is all NaN but max_rel "
                     f"is {row['max_rel']!r}")
        elif not isinstance(row["max_rel"], (int, float, str)):
            fail(f"error: {row['quantity']} {row['formulation']}: max_rel {row['max_rel']!r}")
if nan_rows == 0:
    fail("error: saturated sigmoid has no all-NaN row (the naive chain divides by 0)")

# rules, models
r = load("rules")
head("rules", r, "rules")
keys("rules", r, HEAD + ("rules",))
for rule in r["rules"]:
    keys("rule", rule, ("name", "group", "file", "line", "rule"))
m = load("models")
head("models", m, "models")
keys("models", m, HEAD + ("models",))
if m["models"] != ["logistic", "relu3", "sigmoid", "softmax"]:
    fail(f"models: {m['models']!r}")

# an input error
x = load("input_error")
keys("input error", x, ("schema_version", "error"))
keys("input error's error", x["error"], ("status", "file", "line", "column", "message"))
if (x["error"]["status"], x["error"]["line"], x["error"]["column"]) != ("input", 4, 7) or \
        not x["error"]["file"].endswith("/bad.dc"):
    fail(f"input error: {x!r}")

for f in failures:
    print("FAIL:", f)
sys.exit(1 if failures else 0)
EOF

echo "json.sh: $failures failures"
[ "$failures" = 0 ]
