#!/bin/sh
# doc_latex.sh: the LaTeX document of every built-in model and every example,
# and derive --format latex of each, compile with pdflatex as written, with
# nothing more than 20 pt past the right margin (an 'Overfull \hbox' of
# more), and no caret typeset as text (2^30 is mathematics). Skipped (77) without pdflatex.
# Environment (set by make check): DERIVCHECK, DC_EXAMPLES_DIR.
set -u
: "${DERIVCHECK:?}" "${DC_EXAMPLES_DIR:?}"
command -v pdflatex >/dev/null 2>&1 || { echo "pdflatex not installed: skipped"; exit 77; }
tmp=$(mktemp -d "${TMPDIR:-/tmp}/dc-latex.XXXXXX") || exit 99
trap 'rm -rf "$tmp"' EXIT
failures=0
# compile NAME: $tmp/NAME.tex compiles, is plain ASCII, has nothing more
# than 20 pt past the margin and no power typeset as text
compile() {
    name=$1
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
    # TeX's log wraps at 79 columns: join the lines before reading the widths
    wide=$(tr -d '\n' <"$tmp/$name.log" | grep -o 'Overfull \\hbox ([0-9.]*pt too wide)[^0-9]*[0-9-]*' |
        awk '{ w = $3; sub(/^\(/, "", w); sub(/pt$/, "", w); if (w + 0 > 20) print }')
    if [ -n "$wide" ]; then
        echo "FAIL: $name.tex has formulas past the margin:"
        echo "$wide"
        failures=$((failures + 1))
    fi
    # outside \texttt code, a ^ in text is typeset as a caret, not a power
    if sed 's/\\texttt{[^}]*}//g' "$tmp/$name.tex" | grep -qF '\textasciicircum'; then
        echo "FAIL: $name.tex writes a power as text:"
        sed 's/\\texttt{[^}]*}//g' "$tmp/$name.tex" | grep -F '\textasciicircum' | head -3
        failures=$((failures + 1))
    fi
}

for model in $("$DERIVCHECK" models) "$DC_EXAMPLES_DIR"/*.dc "$DC_EXAMPLES_DIR"/course/*.dc; do
    name=$(basename "$model" .dc)
    "$DERIVCHECK" doc "$model" --format latex -o "$tmp/$name.tex"
    st=$?
    if [ "$st" = 0 ] || [ "$st" = 1 ]; then
        compile "$name"
    else
        echo "FAIL: doc $model exited $st"
        failures=$((failures + 1))
    fi
    # derive's LaTeX breaks its long formulas as the document does
    if "$DERIVCHECK" derive "$model" --format latex -o "$tmp/derive_$name.tex"; then
        compile "derive_$name"
    else
        echo "FAIL: derive $model --format latex exited $?"
        failures=$((failures + 1))
    fi
done
[ "$failures" -eq 0 ] || exit 1
echo "doc_latex: every document and derive's LaTeX compile, nothing past the margin by more than 20 pt"
