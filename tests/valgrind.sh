#!/bin/sh
# valgrind.sh: run the derivcheck program under valgrind memcheck (make check-valgrind).
# Used as DERIVCHECK by tests/cli.sh and tests/examples.sh. A memory error or a
# definite leak makes the run exit 99 (which no test expects) and leaves a report
# in DC_VALGRIND_LOGDIR. libtool --mode=execute runs the real binary, not the
# libtool wrapper script, with the uninstalled library on its path.
# Environment: DC_VALGRIND_PROGRAM (the built ./derivcheck), DC_LIBTOOL (./libtool),
# DC_VALGRIND_LOGDIR (a folder for the reports).
: "${DC_VALGRIND_PROGRAM:?}" "${DC_LIBTOOL:?}" "${DC_VALGRIND_LOGDIR:?}"
exec "$DC_LIBTOOL" --mode=execute valgrind -q --error-exitcode=99 \
    --leak-check=full --errors-for-leak-kinds=definite --show-leak-kinds=definite \
    --track-origins=yes --log-file="$DC_VALGRIND_LOGDIR/vg.%p.log" \
    "$DC_VALGRIND_PROGRAM" "$@"
