#!/bin/sh
# make-reports.sh: write the document of every built-in model into OUTDIR as
# MODEL.md, MODEL.html and MODEL.tex (make docs; tests/docs.sh checks them).
# Usage: make-reports.sh DERIVCHECK RULES_DIR OUTDIR
set -eu
dc=$1
rules=$2
outdir=$3
mkdir -p "$outdir"
for model in $("$dc" --rules "$rules" models); do
    for pair in md:markdown html:html tex:latex; do
        "$dc" --rules "$rules" --seed 1 doc "$model" --format "${pair#*:}" \
            -o "$outdir/$model.${pair%%:*}"
    done
done
