#!/bin/sh
# run.sh: run one libFuzzer target with its dictionary, its -max_len and its seeds.
#
#   tests/fuzz/run.sh OUTDIR TARGET SECONDS [libFuzzer options...]
#
# OUTDIR is build.sh's (fuzz-build): the target is OUTDIR/TARGET, what it finds
# goes to OUTDIR/corpus/TARGET, the seeds are read from tests/fuzz/corpus/TARGET.
# -max_len is large enough for an input to reach the caps the target can meet:
# the nesting cap (256 levels: about 1 KB of `x + x + ...`) and the height cap
# (8192 levels of definitions: about 100 KB) in fuzz_parse, the 256 KiB of rule
# files in fuzz_rules, a shard of about 20 KB in fuzz_merge; fuzz_check and
# fuzz_error take models of at most 4 KiB (each input runs the whole pipeline),
# whose declared sizes reach the caps on memory and work (set low in fuzz_error).
set -eu
out=${1:?usage: run.sh OUTDIR TARGET SECONDS [options]}
target=${2:?usage: run.sh OUTDIR TARGET SECONDS [options]}
seconds=${3:?usage: run.sh OUTDIR TARGET SECONDS [options]}
shift 3
here=$(cd "$(dirname "$0")" && pwd)
case $target in
fuzz_parse) dict=dc.dict max_len=262144 ;;
fuzz_check | fuzz_error) dict=dc.dict max_len=4096 ;;
fuzz_rules) dict=rules.dict max_len=327680 ;;
fuzz_data) dict=json.dict max_len=65536 ;;
fuzz_merge) dict=json.dict max_len=65536 ;;
*) echo "run.sh: no target '$target'" >&2; exit 2 ;;
esac
mkdir -p "$out/corpus/$target"
exec "$out/$target" -max_total_time="$seconds" -rss_limit_mb=2048 -timeout=30 \
    -max_len="$max_len" -dict="$here/$dict" -print_final_stats=1 "$@" \
    "$out/corpus/$target" "$here/corpus/$target"
