#!/bin/sh
# layers.sh: no file in src/ includes a header of a higher layer.
# The layers, lowest first, are the folders of src/ (src/README.md):
# base < lang < sym < num < cmd < out < the top (api.c, main.c). A file
# may include its own layer and the ones below. The public header
# derivcheck.h declares the types every layer shares (dc_status, dc_error)
# and includes no project header, so any file may include it.
# Also fails on a project include that names no folder, or a folder
# that is not a layer, so a new file cannot slip past the check.
set -u
src=${DC_SRC_DIR:?DC_SRC_DIR must name the source tree src/}
rank() {
    case $1 in
    base) echo 0 ;; lang) echo 1 ;; sym) echo 2 ;; num) echo 3 ;;
    cmd) echo 4 ;; out) echo 5 ;; top) echo 6 ;; *) echo -1 ;;
    esac
}
status=0
files=0
for f in "$src"/*.[ch] "$src"/*/*.[ch]; do
    [ -f "$f" ] || continue
    files=$((files + 1))
    rel=${f#"$src"/}
    case $rel in */*) layer=${rel%%/*} ;; *) layer=top ;; esac
    mine=$(rank "$layer")
    if [ "$mine" -lt 0 ]; then
        echo "layers: src/$rel is in a folder that is no layer" >&2
        status=1
        continue
    fi
    for inc in $(sed -n 's/^#include "\([^"]*\)".*/\1/p' "$f"); do
        case $inc in
        derivcheck.h) theirs=0 ;;
        */*) theirs=$(rank "${inc%%/*}") ;;
        *) theirs=-1 ;;
        esac
        if [ "$theirs" -lt 0 ]; then
            echo "layers: src/$rel includes \"$inc\", which names no layer folder" >&2
            status=1
        elif [ "$theirs" -gt "$mine" ]; then
            echo "layers: src/$rel ($layer) includes $inc, a higher layer" >&2
            status=1
        fi
    done
done
if grep -q '^#include "' "$src/derivcheck.h"; then
    echo "layers: src/derivcheck.h includes a project header" >&2
    status=1
fi
if [ "$files" -lt 40 ]; then
    echo "layers: only $files files under $src; is DC_SRC_DIR right?" >&2
    status=1
fi
[ $status = 0 ] && echo "layers: $files files, every include at or below its own layer"
exit $status
