#!/bin/sh
# docs.sh: derivcheck doc: the committed docs/reports are what the program
# writes now, documents are byte-identical for the same seed, and a failed
# write leaves nothing behind.
# Environment (set by make check): DERIVCHECK, DC_RULES_DIR, DC_EXAMPLES_DIR, DC_DOCS_DIR.
set -u
: "${DERIVCHECK:?}" "${DC_RULES_DIR:?}" "${DC_EXAMPLES_DIR:?}" "${DC_DOCS_DIR:?}"
tmp=$(mktemp -d "${TMPDIR:-/tmp}/dc-docs.XXXXXX") || exit 99
trap 'rm -rf "$tmp"' EXIT
failures=0

fail() {
    echo "FAIL: $*"
    failures=$((failures + 1))
}

# The reports cannot go stale: regenerate them and compare byte for byte.
if ! sh "$DC_DOCS_DIR/make-reports.sh" "$DERIVCHECK" "$DC_RULES_DIR" "$tmp/reports"; then
    fail "make-reports.sh failed"
fi
for f in "$tmp"/reports/*; do
    name=${f##*/}
    if [ ! -f "$DC_DOCS_DIR/reports/$name" ]; then
        fail "docs/reports/$name is missing: run make docs"
    elif ! cmp -s "$f" "$DC_DOCS_DIR/reports/$name"; then
        fail "docs/reports/$name is stale: run make docs"
        diff "$DC_DOCS_DIR/reports/$name" "$f" | head -20
    fi
done
for f in "$DC_DOCS_DIR"/reports/*; do
    [ -f "$tmp/reports/${f##*/}" ] || fail "docs/reports/${f##*/} belongs to no built-in model"
done

# The tutorial's output blocks: each ```console block starts with
# "$ derivcheck ARGS"; every other line of it but "..." must be a line of
# what that command prints now (run from the source tree's top).
awk -v dir="$tmp/blocks" '
    /^```console$/ { n++; inblock = 1; file = sprintf("%s.%03d", dir, n); next }
    /^```$/ { inblock = 0; next }
    inblock { print > file }' "$DC_DOCS_DIR/tutorial.md"
blocks=0
for b in "$tmp"/blocks.*; do
    [ -f "$b" ] || continue
    blocks=$((blocks + 1))
    cmd=$(head -1 "$b")
    case "$cmd" in
    '$ derivcheck '*) ;;
    *) fail "tutorial block $b does not start with '\$ derivcheck': $cmd"; continue ;;
    esac
    set -f
    # shellcheck disable=SC2086
    (cd "$DC_DOCS_DIR/.." && "$DERIVCHECK" ${cmd#\$ derivcheck }) >"$tmp/actual" 2>&1
    set +f
    tail -n +2 "$b" | while IFS= read -r line; do
        [ "$line" = "..." ] && continue
        grep -qxF -- "$line" "$tmp/actual" || echo "$cmd: '$line'"
    done >"$tmp/missing"
    if [ -s "$tmp/missing" ]; then
        fail "docs/tutorial.md shows output the program no longer prints:"
        cat "$tmp/missing"
    fi
done
[ "$blocks" -ge 5 ] || fail "docs/tutorial.md has only $blocks checked output blocks"

# docs/errors.md's tables: each between "<!-- $ derivcheck ARGS -->" and
# "<!-- end -->"; every line of it must be a line of what the command prints.
awk -v dir="$tmp/tables" '
    /^<!-- \$ derivcheck .* -->$/ { n++; file = sprintf("%s.%03d", dir, n); print > file; inblock = 1; next }
    /^<!-- end -->$/ { inblock = 0; next }
    inblock { print > file }' "$DC_DOCS_DIR/errors.md"
tables=0
for b in "$tmp"/tables.*; do
    [ -f "$b" ] || continue
    tables=$((tables + 1))
    cmd=$(head -1 "$b" | sed 's/^<!-- \$ derivcheck //; s/ -->$//')
    set -f
    # shellcheck disable=SC2086
    (cd "$DC_DOCS_DIR/.." && "$DERIVCHECK" $cmd) >"$tmp/actual" 2>&1
    set +f
    tail -n +2 "$b" | while IFS= read -r line; do
        grep -qxF -- "$line" "$tmp/actual" || echo "$cmd: '$line'"
    done >"$tmp/missing"
    if [ -s "$tmp/missing" ]; then
        fail "docs/errors.md shows a table the program no longer prints:"
        head -5 "$tmp/missing"
    fi
done
[ "$tables" -ge 2 ] || fail "docs/errors.md has only $tables checked tables"
# the reports carry the confident regime's table of the sigmoid and softmax models
for model in sigmoid softmax; do
    grep -qF '**confident**: 16 samples' "$DC_DOCS_DIR/reports/$model.md" ||
        fail "docs/reports/$model.md has no confident table"
done

# Same seed, same bytes; no absolute paths, no dates.
for fmt in markdown latex html; do
    "$DERIVCHECK" doc "$DC_EXAMPLES_DIR/ng_sigmoid_wrong.dc" --format $fmt -o "$tmp/a" --seed 7
    "$DERIVCHECK" doc "$DC_EXAMPLES_DIR/ng_sigmoid_wrong.dc" --format $fmt -o "$tmp/b" --seed 7
    cmp -s "$tmp/a" "$tmp/b" || fail "doc --format $fmt differs between two runs with seed 7"
    if grep -qF -e "$DC_EXAMPLES_DIR" -e "$DC_RULES_DIR" "$tmp/a"; then
        fail "doc --format $fmt has an absolute path"
    fi
    if grep -qE '20[0-9][0-9]-[01][0-9]-[0-3][0-9]' "$tmp/a"; then
        fail "doc --format $fmt has a date"
    fi
done

# A file with claims: the verdicts are in the document, and exit 1 says one is wrong.
"$DERIVCHECK" doc "$DC_EXAMPLES_DIR/ng_sigmoid_wrong.dc" -o "$tmp/wrong.md"
st=$?
[ "$st" = 1 ] || fail "doc of a file with wrong claims exited $st, expected 1"
# it opens with the verdicts and the answer in words, the certificates after
grep -qF '## 1. The claims of the file' "$tmp/wrong.md" || fail "the claims are not section 1"
grep -qF '## 2. Where the 1/m goes, in plain words' "$tmp/wrong.md" || fail "the answer is not section 2"
grep -qF '## 3. The model' "$tmp/wrong.md" || fail "the model is not section 3"
grep -qF 'in exact arithmetic they are equal (section 6)' "$tmp/wrong.md" ||
    fail "the answer does not refer to the proof, section 6"
grep -qF 'Why, in plain words: section 2.' "$tmp/wrong.md" || fail "section 7 does not point to the answer"
grep -qF '**REFUTED**' "$tmp/wrong.md" || fail "no refuted claim in the claims section"
grep -qF 'has a factor m too many' "$tmp/wrong.md" || fail "no reason for the wrong dW2"
"$DERIVCHECK" doc "$DC_EXAMPLES_DIR/ng_sigmoid_deferred.dc" -o "$tmp/right.md"
st=$?
[ "$st" = 0 ] || fail "doc of a file whose claims hold exited $st, expected 0"
if grep -qF '**REFUTED**' "$tmp/right.md"; then fail "a refuted claim in a right file"; fi
# the double-precision error tables: saturated outputs break the naive chain
# (NaN in every entry: 64 bits) and leave the deferred form near 0 bits
grep -qF '**saturated**: 16 samples' "$tmp/right.md" || fail "no saturated error table"
grep -qE '^\| dW2 \| naive chain \| 64\.00 \| 64\.00 \| 64 \|' "$tmp/right.md" ||
    fail "the naive chain is not NaN under saturation"
grep -qE '^\| dW2 \| deferred \| [0-9]\.[0-9][0-9] \|' "$tmp/right.md" ||
    fail "no error row for the deferred dW2"

# The trace has a step where the 1/m enters: from matmul.left's dZ2 A1^T to
# dZ2/m A1^T, the deferred convention's dZ2 = m dJ/dZ2 written in.
"$DERIVCHECK" doc sigmoid -o "$tmp/sig.md" || fail "doc sigmoid failed"
sed -n '/^### dW2 /,/^Result/p' "$tmp/sig.md" >"$tmp/dw2"
grep -qF 'where the 1/m enters: dJ/dZ2 = dZ2/m is written in**: $\mathit{dZ}^{[2]} \mathit{A}^{[1]\top}$ becomes' "$tmp/dw2" ||
    fail "dW2's trace does not name the step where the 1/m enters"
grep -qF '$\frac{\mathit{dZ}^{[2]}}{\mathit{m}} \mathit{A}^{[1]\top}$' "$tmp/dw2" || fail "dW2's trace does not show dZ2/m A1^T"
sed -n '/^### dZ2 /,/^Result/p' "$tmp/sig.md" | grep -qF 'where the 1/m leaves: dZ2 = m \* dJ/dZ2' ||
    fail "dZ2's trace does not say where the 1/m leaves"
# a power -1 is a fraction, 1/m, never m^{-1}
if grep -qF '^{-1}' "$tmp/sig.md"; then fail "the sigmoid document writes a power -1"; fi

# The format follows -o's extension unless --format says otherwise.
"$DERIVCHECK" doc sigmoid -o "$tmp/s.html" || fail "doc -o s.html failed"
head -1 "$tmp/s.html" | grep -qF '<!DOCTYPE html>' || fail "-o s.html did not write HTML"
"$DERIVCHECK" doc sigmoid -o "$tmp/s.tex" || fail "doc -o s.tex failed"
head -1 "$tmp/s.tex" | grep -qF '\documentclass' || fail "-o s.tex did not write LaTeX"
grep -qE '<script|<link|<img|src=|href=|@import|url\(' "$tmp/s.html" &&
    fail "the HTML has a script or loads something"

# Usage errors: exit 2.
"$DERIVCHECK" doc sigmoid --format text >/dev/null 2>"$tmp/err"
st=$?
[ "$st" = 2 ] || fail "doc --format text exited $st, expected 2"
grep -qF "doc writes markdown (default), latex, html or pdf, not 'text'" "$tmp/err" || fail "message: $(cat "$tmp/err")"
"$DERIVCHECK" doc >/dev/null 2>&1
[ $? = 2 ] || fail "doc without a model did not exit 2"

# -o to a place that cannot be written: exit 2, and nothing half-written.
mkdir "$tmp/ro" "$tmp/ro/target.md"
: >"$tmp/ro/plainfile"
for out in "$tmp/ro/no/such/dir/x.md" "$tmp/ro/plainfile/x.md" "$tmp/ro/target.md"; do
    "$DERIVCHECK" doc sigmoid -o "$out" >/dev/null 2>"$tmp/err"
    st=$?
    [ "$st" = 2 ] || fail "doc -o $out exited $st, expected 2"
    grep -qF "cannot write" "$tmp/err" || fail "no message for -o $out: $(cat "$tmp/err")"
done
left=$(ls -A "$tmp/ro" | tr '\n' ' ')
[ "$left" = "plainfile target.md " ] || fail "a failed write left files behind: $left"
[ -z "$(ls -A "$tmp/ro/target.md")" ] || fail "a failed write wrote into a directory"
[ -s "$tmp/ro/plainfile" ] && fail "a failed write changed a file"

# A derivation file's own claims are rows of the document's error tables:
# ng_sigmoid_deferred.dc claims dW2 on line 18 and db1 on line 22.
"$DERIVCHECK" doc "$DC_EXAMPLES_DIR/ng_sigmoid_deferred.dc" -o "$tmp/claims.md" >/dev/null 2>&1 ||
    fail "doc of ng_sigmoid_deferred.dc failed"
for row in '| dW2 | yours (line 18) |' '| db1 | yours (line 22) |'; do
    grep -qF "$row" "$tmp/claims.md" || fail "the document has no error row '$row'"
done

if [ "$failures" -ne 0 ]; then
    echo "$failures failure(s)"
    exit 1
fi
echo "docs: all checks passed"
