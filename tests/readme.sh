#!/bin/sh
# readme.sh: README.md's example is true: its .dc file has 15 lines, and what the README
# says check prints for it is what check prints, byte for byte, with the exit status it says.
# Environment (set by make check): DERIVCHECK, DC_DOCS_DIR (README.md is in its parent).
set -u
: "${DERIVCHECK:?}" "${DC_DOCS_DIR:?}"
readme=$DC_DOCS_DIR/../README.md
tmp=$(mktemp -d "${TMPDIR:-/tmp}/dc-readme.XXXXXX") || exit 99
trap 'rm -rf "$tmp"' EXIT
failures=0

fail() {
    echo "FAIL: $*"
    failures=$((failures + 1))
}

# block MARK: the fenced block after the line "<!-- readme: MARK -->" of the README
block() {
    awk -v mark="<!-- readme: $1 -->" '
        $0 == mark { found = 1; next }
        found == 1 && /^```/ { found = 2; next }
        found == 2 && /^```/ { exit }
        found == 2 { print }' "$readme"
}

block two_layer.dc >"$tmp/two_layer.dc"
block "check two_layer.dc" >"$tmp/want"
[ -s "$tmp/want" ] || fail "README.md has no output of check two_layer.dc"
lines=$(wc -l <"$tmp/two_layer.dc")
[ "$lines" = 15 ] || fail "README.md's two_layer.dc has $lines lines, not 15"
(cd "$tmp" && "$DERIVCHECK" check two_layer.dc >got 2>err)
status=$?
[ "$status" = 1 ] || fail "check two_layer.dc exited $status, not 1 as README.md says: $(cat "$tmp/err")"
if ! cmp -s "$tmp/want" "$tmp/got"; then
    fail "README.md's output of check two_layer.dc is not what check prints:"
    diff "$tmp/want" "$tmp/got" | sed 's/^/    /'
fi
# the README links only to files of the repository
for link in $(grep -o '](\([^)#]*\))' "$readme" | sed 's/^](//; s/)$//' | grep -v '^https\?:'); do
    [ -e "$DC_DOCS_DIR/../$link" ] || fail "README.md links to $link, which is not in the repository"
done
echo "readme.sh: $failures failures"
[ "$failures" = 0 ]
