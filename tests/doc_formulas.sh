#!/bin/sh
# doc_formulas.sh: the Markdown document says what derive says. Every
# formula of its table of gradients appears in derive's own output (the
# NumPy spelling in derive --format markdown, the mathematics in derive
# --format latex, in the same convention), and its step-by-step derivations
# cite the same rules, in the same order, as derive --format markdown --trace.
# Every trace (text, Markdown, JSON, the LaTeX document) writes its steps as the
# gradients are written, without the rules' internal forms.
# Environment (set by make check): DERIVCHECK, DC_EXAMPLES_DIR.
set -u
: "${DERIVCHECK:?}" "${DC_EXAMPLES_DIR:?}"
tmp=$(mktemp -d "${TMPDIR:-/tmp}/dc-formulas.XXXXXX") || exit 99
trap 'rm -rf "$tmp"' EXIT
failures=0

fail() {
    echo "FAIL: $*"
    failures=$((failures + 1))
}

for model in $("$DERIVCHECK" models) "$DC_EXAMPLES_DIR/ng_sigmoid_wrong.dc" \
    "$DC_EXAMPLES_DIR/relu_network.dc"; do
    name=$(basename "$model" .dc)
    "$DERIVCHECK" doc "$model" -o "$tmp/doc.md"
    "$DERIVCHECK" derive "$model" --format markdown --trace -o "$tmp/derive.md" ||
        fail "derive $model --format markdown"
    "$DERIVCHECK" derive "$model" --format latex -o "$tmp/derive.tex" ||
        fail "derive $model --format latex"

    # The doc's table of gradients: | `dV` | $math$<br>`dV = code` | $math$<br>`dV = code` |
    sed -n '/^## [0-9]\. The gradients in both/,/^## [0-9]\. Proof/p' "$tmp/doc.md" | grep '^| `d' >"$tmp/rows"
    [ -s "$tmp/rows" ] || fail "$name: the document has no table of gradients"
    # derive's formulas, as pairs "convention<TAB>formula"
    awk -F' \\| ' '/^\| `d/ {
            gsub(/^\| /, ""); gsub(/ \|$/, "");
            print "1\t" $1 " = " substr($2, 2, length($2) - 2);
            print "2\t" $1 " = " substr($3, 2, length($3) - 2) }' "$tmp/derive.md" |
        sed 's/^\([12]\)\t`\([^`]*\)`/\1\t\2/' >"$tmp/derive.code"
    # derive's LaTeX, in the spelling a Markdown document must use for GitHub
    # one inline formula a paragraph; the deferred convention's come first
    awk '/^\\subsection\*\{Absorbed/ { block = 1 }
        /^\$\\mathit\{d/ { print block + 1 "\t" $0 }' "$tmp/derive.tex" |
        sed 's/\\, //g; s/\\,/ /g; s/\\_/\\text{_}/g; s/>/\\gt/g; s/</\\lt/g' >"$tmp/derive.math"
    if ! grep -q '^\\subsection\*{Absorbed' "$tmp/derive.tex"; then # per-example: one block
        sed 's/^1/2/' "$tmp/derive.math" >"$tmp/block2"
        cat "$tmp/block2" >>"$tmp/derive.math"
    fi
    awk -F' \\| ' '{ gsub(/^\| /, ""); gsub(/ \|$/, "");
            for (c = 2; c <= 3; c++) {
                split($c, part, "<br>");
                code = part[2]; gsub(/`/, "", code);
                print (c - 1) "\t" code >"'"$tmp/doc.code"'";
                print (c - 1) "\t" part[1] >"'"$tmp/doc.math"'" } }' "$tmp/rows"
    while IFS= read -r line; do
        grep -qxF -- "$line" "$tmp/derive.code" ||
            fail "$name: the document's formula '$line' is not in derive --format markdown"
    done <"$tmp/doc.code"
    while IFS= read -r line; do
        grep -qxF -- "$line" "$tmp/derive.math" ||
            fail "$name: the document's formula '$line' is not in derive --format latex"
    done <"$tmp/doc.math"
    n_doc=$(wc -l <"$tmp/doc.code")
    n_derive=$(wc -l <"$tmp/derive.code")
    [ "$n_doc" = "$n_derive" ] || fail "$name: $n_doc formulas in the document, $n_derive in derive"

    # The steps: "dV<TAB>rule (file:line)" in order, from both.
    sed -n '/^## [0-9]\. Every gradient/,/^## [0-9]\. The gradients in both/p' "$tmp/doc.md" | awk '
        /^### d/ { g = $2 }
        /^[0-9]+\. \*\*/ { s = $0; sub(/^[0-9]+\. \*\*/, "", s); r = s; sub(/\*\*.*/, "", r);
            cite = ""; if (s ~ /^[^*]*\*\* \(`/) { cite = s; sub(/^[^`]*`/, "", cite); sub(/`.*/, "", cite) }
            gsub(/\\\*/, "*", r) # the document escapes a * of its words
            print g "\t" r "\t" cite }' >"$tmp/doc.steps"
    awk '
        /^## Steps for `d/ { g = $4; gsub(/`/, "", g) }
        /^[0-9]+\. / { s = $0; sub(/^[0-9]+\. /, "", s);
            if (s ~ /^`/) { r = s; sub(/^`/, "", r); sub(/`.*/, "", r);
                cite = s; sub(/^`[^`]*` \(/, "", cite); sub(/\).*/, "", cite) }
            else { r = s; sub(/: `.*/, "", r); cite = "" }
            print g "\t" r "\t" cite }' "$tmp/derive.md" >"$tmp/derive.steps"
    [ -s "$tmp/doc.steps" ] || fail "$name: the document has no steps"
    if ! cmp -s "$tmp/doc.steps" "$tmp/derive.steps"; then
        fail "$name: the document's steps differ from derive --trace"
        diff "$tmp/doc.steps" "$tmp/derive.steps" | head -10
    fi
done

# The steps read as the gradients do: no trace of a built-in model or an
# example, in derive --trace (text, Markdown, JSON) or in the LaTeX document,
# shows the rules' internal forms: 1 * (-1/m), + -1, m^-1, a -1 * or -1 (
# before a group, \frac{-1}{m} or 1 \frac{...}.
cat >"$tmp/internal" <<'EOF'
(^|[^A-Za-z0-9_.])1 \* \(
\+ -[0-9]
\^\{-1\}
\^-1
\*\*-1
 -1 \(
(^|[^A-Za-z0-9_.])-1 \* 
(^|[^A-Za-z0-9_.{])1 \\frac
\\frac\{-
EOF
# the patterns find what they are meant to, and not a name ending in 1
printf '         gives 1 * (-1/m) * Y\n' | grep -qE -f "$tmp/internal" || fail "the patterns miss 1 * (-1/m)"
printf 'x + -1 * A2\n' | grep -qE -f "$tmp/internal" || fail "the patterns miss + -1"
printf '\\bigl(1 + A2\\bigr)^{-1}\n' | grep -qE -f "$tmp/internal" || fail "the patterns miss ^{-1}"
printf '1 \\frac{-1}{m}\n' | grep -qE -f "$tmp/internal" || fail "the patterns miss 1 \\frac"
printf 'dA1 * (1 - A1**2)\n' | grep -qE -f "$tmp/internal" && fail "the patterns take dA1 * ( for 1 * ("
for model in $("$DERIVCHECK" models) "$DC_EXAMPLES_DIR"/*.dc "$DC_EXAMPLES_DIR"/course/*.dc; do
    name=$(basename "$model" .dc)
    "$DERIVCHECK" derive "$model" --trace >"$tmp/trace.txt"
    "$DERIVCHECK" derive "$model" --trace --format markdown >"$tmp/trace.md"
    "$DERIVCHECK" derive "$model" --trace --format json >"$tmp/trace.json"
    "$DERIVCHECK" doc "$model" --format latex >"$tmp/doc.tex"
    for f in trace.txt trace.md trace.json doc.tex; do
        if grep -E -f "$tmp/internal" "$tmp/$f" >"$tmp/found"; then
            fail "$name: $f shows internal forms:"
            head -3 "$tmp/found"
        fi
    done
done
[ "$failures" -eq 0 ] || exit 1
echo "doc_formulas: the documents agree with derive; no trace shows internal forms"
