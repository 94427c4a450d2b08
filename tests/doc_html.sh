#!/bin/sh
# doc_html.sh: the HTML document of every built-in model (and of a file with
# claims) is well-formed XML with MathML. Skipped (77) without xmllint.
# Environment (set by make check): DERIVCHECK, DC_EXAMPLES_DIR.
set -u
: "${DERIVCHECK:?}" "${DC_EXAMPLES_DIR:?}"
command -v xmllint >/dev/null 2>&1 || { echo "xmllint not installed: skipped"; exit 77; }
tmp=$(mktemp -d "${TMPDIR:-/tmp}/dc-html.XXXXXX") || exit 99
trap 'rm -rf "$tmp"' EXIT
failures=0
for model in $("$DERIVCHECK" models) "$DC_EXAMPLES_DIR/ng_sigmoid_wrong.dc"; do
    name=$(basename "$model" .dc)
    "$DERIVCHECK" doc "$model" --format html -o "$tmp/$name.html"
    st=$?
    [ "$st" = 0 ] || [ "$st" = 1 ] || { echo "FAIL: doc $model exited $st"; failures=$((failures + 1)); continue; }
    if ! xmllint --noout --nonet "$tmp/$name.html"; then
        echo "FAIL: $name.html is not well-formed XML"
        failures=$((failures + 1))
    fi
    # the formulas are MathML: at least one <math> per gradient, none empty
    n=$(xmllint --nonet --xpath 'count(//*[local-name()="math"])' "$tmp/$name.html")
    if [ "${n:-0}" -lt 10 ]; then
        echo "FAIL: $name.html has only ${n:-0} MathML formulas"
        failures=$((failures + 1))
    fi
    e=$(xmllint --nonet --xpath 'count(//*[local-name()="math" and not(*)])' "$tmp/$name.html")
    if [ "${e:-1}" != 0 ]; then
        echo "FAIL: $name.html has $e empty <math> elements"
        failures=$((failures + 1))
    fi
done
# the course's notation: a layer as a superscript in brackets (dW^[2], the
# transpose inside it: A^[1]T), and a matrix product has a visible operator,
# the dot (U+22C5), never the invisible times that made dZ2 A1^T read as one
# name
"$DERIVCHECK" doc sigmoid --format html -o "$tmp/s.html"
if ! grep -qF '<msup><mi>dW</mi><mrow><mo>[</mo><mn>2</mn><mo>]</mo></mrow></msup><mo>=</mo><mrow><mrow><msup><mi>dZ</mi><mrow><mo>[</mo><mn>2</mn><mo>]</mo></mrow></msup></mrow><mo>&#x22C5;</mo><mrow><msup><mi>A</mi><mrow><mo>[</mo><mn>1</mn><mo>]</mo><mo>&#x22A4;</mo></mrow></msup>' "$tmp/s.html"; then
    echo "FAIL: sigmoid.html does not write dW2 = dZ2 . A1^T with a visible product"
    failures=$((failures + 1))
fi
if grep -qF '<mi>dZ2</mi></mrow><mo>&#x2062;</mo><mrow><msup><mrow><mrow><mi>A1</mi>' "$tmp/s.html"; then
    echo "FAIL: sigmoid.html juxtaposes the matrices dZ2 and A1^T"
    failures=$((failures + 1))
fi
[ "$failures" -eq 0 ] || exit 1
echo "doc_html: every document is well-formed"
