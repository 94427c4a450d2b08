#!/bin/sh
# doc_latex.sh: the LaTeX document of every built-in model (and of a file with
# claims) compiles with pdflatex as written. Skipped (77) without pdflatex.
# Environment (set by make check): DERIVCHECK, DC_EXAMPLES_DIR.
set -u
: "${DERIVCHECK:?}" "${DC_EXAMPLES_DIR:?}"
command -v pdflatex >/dev/null 2>&1 || { echo "pdflatex not installed: skipped"; exit 77; }
tmp=$(mktemp -d "${TMPDIR:-/tmp}/dc-latex.XXXXXX") || exit 99
trap 'rm -rf "$tmp"' EXIT
failures=0
for model in $("$DERIVCHECK" models) "$DC_EXAMPLES_DIR/ng_sigmoid_wrong.dc"; do
    name=$(basename "$model" .dc)
    "$DERIVCHECK" doc "$model" --format latex -o "$tmp/$name.tex"
    st=$?
    [ "$st" = 0 ] || [ "$st" = 1 ] || { echo "FAIL: doc $model exited $st"; failures=$((failures + 1)); continue; }
    if LC_ALL=C grep -q '[^ -~	]' "$tmp/$name.tex"; then
        echo "FAIL: $name.tex is not plain ASCII"
        failures=$((failures + 1))
    fi
    if ! (cd "$tmp" && pdflatex -interaction=nonstopmode -halt-on-error "$name.tex" >/dev/null 2>&1); then
        echo "FAIL: pdflatex $name.tex:"
        grep -A3 '^!' "$tmp/$name.log" | head -20
        failures=$((failures + 1))
    elif [ ! -s "$tmp/$name.pdf" ]; then
        echo "FAIL: pdflatex wrote no $name.pdf"
        failures=$((failures + 1))
    fi
done
[ "$failures" -eq 0 ] || exit 1
echo "doc_latex: every document compiles"
