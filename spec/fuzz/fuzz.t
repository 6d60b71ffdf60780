#!/bin/sh
# make test's short fuzzing run: every libFuzzer target (spec/fuzz/fz_*.c)
# for FUZZ_TEST_SECONDS (default 8) from its seeds and the corpus earlier
# runs left; a crash, leak or timeout fails it.  `make fuzz` runs longer.
here=$(dirname "$0")
root=$(cd "$here/../.." && pwd)
python3 "$here/seeds.py" "$root/build/fuzz/seeds" > /dev/null || exit 1
exec python3 "$here/run" --tap --seconds "${FUZZ_TEST_SECONDS:-8}"
