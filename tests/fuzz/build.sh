#!/bin/sh
# build.sh: build the libFuzzer targets with clang (make fuzz runs it).
#
#   tests/fuzz/build.sh SRCDIR OUTDIR
#
# Compiles the library sources (all of src/ and its folders but main.c) with
# -fsanitize=fuzzer-no-link,address,undefined and links each
# tests/fuzz/fuzz_*.c against them. Not part of make check: needs clang.
# Run a target with its seed corpus, e.g.
#   OUTDIR/fuzz_parse -max_total_time=600 -rss_limit_mb=2048 -timeout=10 \
#     OUTDIR/corpus/fuzz_parse SRCDIR/tests/fuzz/corpus/fuzz_parse
set -eu
srcdir=$(cd "${1:-.}" && pwd)
out=${2:-fuzz-build}
CLANG=${CLANG:-clang}
if ! command -v "$CLANG" >/dev/null 2>&1; then
    echo "build.sh: $CLANG not found; the fuzz targets need clang (apt-get install clang)" >&2
    exit 77
fi
mkdir -p "$out/obj" "$out/corpus"
out=$(cd "$out" && pwd)
version=$(sed -n 's/^AC_INIT(\[derivcheck\], *\[\([^]]*\)\].*/\1/p' "$srcdir/configure.ac")
SAN="-fsanitize=address,undefined -fno-sanitize-recover=undefined -fno-omit-frame-pointer"
CFLAGS="-std=gnu11 -g -O1 -ffp-contract=off $SAN -I$srcdir/src"
CFLAGS="$CFLAGS -DPACKAGE_VERSION=\"${version:-0}\" -DDC_RULES_DIR=\"$srcdir/rules\""
# Arb: Debian's libflint-arb; with FLINT >= 3, ARB_LIBS=-lflint and CFLAGS_ARB=-DDC_ARB_IN_FLINT
CFLAGS="$CFLAGS ${CFLAGS_ARB:-} -DDC_RULES_DEFAULT=\"$srcdir/rules\""
LIBS="${ARB_LIBS:--lflint-arb -lflint} -lmpfi -lmpfr -lgmp -ljansson -lm"
objs=
for c in "$srcdir"/src/*.c "$srcdir"/src/*/*.c; do
    case $c in */main.c) continue ;; esac
    o="$out/obj/$(basename "$c" .c).o"
    echo "  CC $c"
    $CLANG $CFLAGS -fsanitize=fuzzer-no-link -c "$c" -o "$o"
    objs="$objs $o"
done
for t in "$srcdir"/tests/fuzz/fuzz_*.c; do
    name=$(basename "$t" .c)
    echo "  CCLD $out/$name"
    $CLANG $CFLAGS -fsanitize=fuzzer "$t" $objs $LIBS -o "$out/$name"
    mkdir -p "$out/corpus/$name"
done
echo "build.sh: fuzz targets in $out"
