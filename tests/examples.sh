#!/bin/sh
# examples.sh: derivcheck check on every examples/*.dc, against the verdicts written in it.
#
# Each example ends with lines "#> exit N" (the exit status) and
# "#> MARK NAME REASON" (a claim's line of the report: MARK is ok, WRONG,
# SHAPE, GIVEN or step, and REASON must begin the text after "line N"), or
# "#> mixing TEXT" (the report says the derivation mixes the conventions),
# or "#> note NAME TEXT" (the claim's note begins with TEXT). NAME may be
# NAME:LINE, for a name assigned on several lines (working steps).
# The examples are examples/*.dc and examples/course/*.dc (the course's and
# CS231n's notebook code, pasted), and tests/data/diagnoses/*.dc (fresh
# derivations, each with one of the usual mistakes, or two in one line, and
# the diagnosis it must get).
# Environment (set by make check): DERIVCHECK, DC_EXAMPLES_DIR, DC_TEST_DATADIR.
set -u
: "${DERIVCHECK:?}" "${DC_EXAMPLES_DIR:?}" "${DC_TEST_DATADIR:?}"
out=$(mktemp "${TMPDIR:-/tmp}/dc-examples.XXXXXX") || exit 99
trap 'rm -f "$out"' EXIT
failures=0
files=0
expectations=0

for f in "$DC_EXAMPLES_DIR"/*.dc "$DC_EXAMPLES_DIR"/course/*.dc "$DC_TEST_DATADIR"/diagnoses/*.dc \
    "$DC_TEST_DATADIR"/pasted/*.dc; do
    files=$((files + 1))
    "$DERIVCHECK" check "$f" >"$out" 2>&1
    status=$?
    while IFS= read -r line; do
        expectations=$((expectations + 1))
        set -f
        set -- $line
        set +f
        case "$1" in
        exit)
            [ "$status" = "$2" ] || { echo "FAIL: $f: exit $status, expected $2"; failures=$((failures + 1)); }
            ;;
        mixing)
            shift
            grep -qF "The derivation mixes the conventions: $*" "$out" ||
                { echo "FAIL: $f: no mixing report '$*'"; failures=$((failures + 1)); }
            ;;
        note)
            name=${2%%:*} at=${2#*:}
            [ "$at" = "$2" ] && at=
            shift 2
            # the line "        note: TEXT" under the claim's line
            got=$(awk -v name="$name" -v at="$at" '
                $3 == "line" { here = $2 == name && (at == "" || $4 == at); next }
                here && /^        note: / { sub(/^        note: /, ""); print; exit }' "$out")
            case "$got" in
            "$*"*) ;;
            *) echo "FAIL: $f: note $name: got '$got', expected '$*'"; failures=$((failures + 1)) ;;
            esac
            ;;
        *)
            mark=$1 name=${2%%:*} at=${2#*:}
            [ "$at" = "$2" ] && at=
            shift 2
            # the report line: "  MARK NAME line N REASON"
            got=$(awk -v mark="$mark" -v name="$name" -v at="$at" \
                '$1 == mark && $2 == name && $3 == "line" && (at == "" || $4 == at) { $1 = $2 = $3 = $4 = ""; sub(/^ +/, ""); print; exit }' "$out")
            case "$got" in
            "$*"*) ;;
            *) echo "FAIL: $f: $mark $name${at:+:$at}: got '$got', expected '$*'"; failures=$((failures + 1)) ;;
            esac
            ;;
        esac
    done <<EOT
$(sed -n 's/^#> //p' "$f")
EOT
done

echo "$files examples, $expectations expectations, $failures failures"
[ "$files" -ge 15 ] || { echo "FAIL: only $files examples"; exit 1; }
[ "$failures" = 0 ]
