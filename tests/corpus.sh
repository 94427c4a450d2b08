#!/bin/sh
# corpus.sh: derivcheck check and prove on the literature corpus (tests/corpus), against the
# verdicts written in each file and decided from the mathematics (issue 13), not from the tool.
#
# tests/corpus/derivations/*.dc end with "#> exit N", one "#> KIND NAME [CONVENTION]" per
# claim (KIND: holds, refuted, shape, given; CONVENTION, for an intermediate that holds:
# deferred or absorbed), "#> mixing" when the claims mix the conventions, or
# "#> input-error LINE" (with "#> exit 2") when the file must be refused at LINE.
# tests/corpus/models/*.dc end with "#> prove equal": prove must establish, exit 0, that
# the deferred and absorbed placements of 1/m give equal parameter gradients.
#
# tests/corpus/KNOWN-WRONG lists the cases the tool gets wrong today, one a line:
#     FILE WHAT TODAY RIGHT ITEM EXPLANATION...
# (WHAT: a claim's name, exit, mixing or prove). Such a case is an XFAIL while the tool
# still answers TODAY; if it answers RIGHT the test fails until the line is removed, and
# any other answer fails too. Every case not listed must pass.
#
# tests/corpus/oracle/oracle.py re-derives every expected verdict by finite differences at
# varied sizes (independent of derivcheck); it runs when python3 is on PATH.
# The JSON is read line by line: derivcheck writes one claim per line.
# Environment (set by make check): DERIVCHECK, DC_CORPUS_DIR.
set -u
: "${DERIVCHECK:?}" "${DC_CORPUS_DIR:?}"
tmp=$(mktemp -d "${TMPDIR:-/tmp}/dc-corpus.XXXXXX") || exit 99
trap 'rm -rf "$tmp"' EXIT
known="$DC_CORPUS_DIR/KNOWN-WRONG"
cases="$tmp/cases"
: >"$cases"
derivations=0
models=0

# case FILE WHAT GOT WANT: one answer of the tool and the right one, judged at the end.
case_() {
    printf '%s %s %s %s\n' "$1" "$2" "$3" "$4" >>"$cases"
}

# claims JSON: "NAME VERDICT CONVENTION" per claim line (verdicts as the "#> " kinds;
# docs/json.md's codes ok and wrong are holds and refuted there).
claims() {
    awk '/^ *\{"name": / {
        name = $0; sub(/^[^"]*"name": "/, "", name); sub(/".*/, "", name)
        v = $0; if (!sub(/^.*"verdict": "/, "", v)) v = "?\""; sub(/".*/, "", v)
        c = $0; if (sub(/^.*"convention": "/, "", c)) sub(/".*/, "", c); else c = "null"
        if (v == "ok") v = "holds"
        else if (v == "wrong") v = "refuted"
        print name, v, c
    }' "$1"
}

for f in "$DC_CORPUS_DIR"/derivations/*.dc; do
    derivations=$((derivations + 1))
    rel=derivations/${f##*/}
    sed -n 's/^#> //p' "$f" >"$tmp/expect"
    "$DERIVCHECK" check --format json "$f" >"$tmp/out" 2>"$tmp/err"
    status=$?
    line=$(awk '$1 == "input-error" { print $2 }' "$tmp/expect")
    if [ -n "$line" ]; then
        case_ "$rel" exit "exit:$status" "exit:$(awk '$1 == "exit" { print $2 }' "$tmp/expect")"
        if grep -qF "${f##*/}:$line:" "$tmp/err"; then got="line:$line"; else got="line:?"; fi
        case_ "$rel" input-error "$got" "line:$line"
        continue
    fi
    claims "$tmp/out" >"$tmp/claims"
    mixing=none
    grep -q '"mixing": "' "$tmp/out" && mixing=mixing
    want_mixing=none
    while read -r kind name conv; do
        case "$kind" in
        exit) case_ "$rel" exit "exit:$status" "exit:$name" ;;
        mixing) want_mixing=mixing ;;
        holds | refuted | shape | given)
            got=$(awk -v n="$name" -v conv="${conv:-}" '$1 == n {
                print ($2 == "holds" && conv != "") ? $2 ":" $3 : $2; found = 1; exit }
                END { if (!found) print "missing" }' "$tmp/claims")
            case_ "$rel" "$name" "$got" "$kind${conv:+:$conv}"
            ;;
        *) case_ "$rel" "#>$kind" unknown-expectation none ;;
        esac
    done <"$tmp/expect"
    case_ "$rel" mixing "$mixing" "$want_mixing"
    # a claim the tool reports but the file does not judge
    while read -r name v c; do
        awk -v n="$name" '$2 == n { found = 1 } END { exit !found }' "$tmp/expect" ||
            case_ "$rel" "$name" "$v" no-expectation
    done <"$tmp/claims"
done

for f in "$DC_CORPUS_DIR"/models/*.dc; do
    models=$((models + 1))
    rel=models/${f##*/}
    want=$(sed -n 's/^#> prove //p' "$f")
    "$DERIVCHECK" prove --format json "$f" >"$tmp/out" 2>"$tmp/err"
    status=$?
    if [ "$status" = 0 ] && grep -q '"proven": true' "$tmp/out"; then
        got=equal
    elif [ "$status" = 1 ] && grep -q '"proven": false' "$tmp/out"; then
        got=refuted
    else
        got="error:$status"
    fi
    case_ "$rel" prove "$got" "${want:-none}"
done

# Judge every case against KNOWN-WRONG; a KNOWN-WRONG line that matches no case fails too.
awk -v known="$known" '
    BEGIN {
        while ((getline line < known) > 0) {
            if (line ~ /^[ \t]*(#|$)/) continue
            split(line, w, " ")
            key = w[1] " " w[2]
            if (key in today) { print "FAIL: KNOWN-WRONG lists " key " twice"; fails++ }
            today[key] = w[3]; right[key] = w[4]
        }
    }
    {
        key = $1 " " $2; got = $3; want = $4; n++
        if (key in today) {
            used[key] = 1
            if (right[key] != want) {
                print "FAIL: " key ": KNOWN-WRONG says the right answer is " right[key] \
                    ", the file says " want; fails++
            } else if (got == want) {
                print "FAIL: " key ": now right (" got "): remove from KNOWN-WRONG"; fails++
            } else if (got == today[key]) {
                print "XFAIL: " key ": " got ", should be " want; xfails++
            } else {
                print "FAIL: " key ": " got ", should be " want \
                    " (KNOWN-WRONG says today " today[key] ")"; fails++
            }
        } else if (got != want) {
            print "FAIL: " key ": " got ", should be " want; fails++
        }
    }
    END {
        for (key in today)
            if (!(key in used)) { print "FAIL: KNOWN-WRONG names " key ", no such case"; fails++ }
        printf "%d cases, %d XFAIL (KNOWN-WRONG), %d failures\n", n, xfails, fails
        exit fails > 0
    }' "$cases"
judged=$?

kinds=$(cat "$DC_CORPUS_DIR"/derivations/*.dc | awk '/^#> (holds|refuted|shape|given) / {
        k[$2]++; n++; if (NF > 3) k[$2 " " $4]++ }
    END { printf "%d claims: %d holds (%d deferred, %d absorbed), %d refuted, %d shape, %d given",
          n, k["holds"], k["holds deferred"], k["holds absorbed"], k["refuted"], k["shape"], k["given"] }')
echo "$derivations derivations, $models models; $kinds"

status=$judged
[ "$derivations" -ge 40 ] || { echo "FAIL: only $derivations derivations"; status=1; }
[ "$models" -ge 25 ] || { echo "FAIL: only $models models"; status=1; }

if command -v python3 >/dev/null 2>&1; then
    python3 "$DC_CORPUS_DIR/oracle/oracle.py" "$DC_CORPUS_DIR"/derivations/*.dc \
        "$DC_CORPUS_DIR"/models/*.dc || { echo "FAIL: the oracle disagrees"; status=1; }
else
    echo "python3 not found: the oracle's re-derivation of the expectations is skipped"
fi
exit "$status"
