#!/usr/bin/env bash
# test.sh - installs what is missing, builds memscope with warnings as errors, and runs every test
# through ctest: unit, integration, browser, container, fuzz smoke and the short benchmark.
#   --sanitize   the same in an AddressSanitizer + UndefinedBehaviorSanitizer build (build-asan/)
#   extra arguments go to ctest (e.g. -L unit, -R api); the fuzz stage then does not run (it says so)
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/deps.sh --test
dir=build
# What ships (scripts/run.sh, the image) is a Release build: the tests run that optimisation level,
# with debug information for backtraces, so a warning only -O3 gives fails here too.
flags=(-DMEMSCOPE_WERROR=ON -DCMAKE_BUILD_TYPE=Release "-DCMAKE_C_FLAGS_RELEASE=-O3 -g -DNDEBUG")
if [[ "${1:-}" == "--sanitize" ]]; then
  shift
  dir=build-asan
  flags=(-DMEMSCOPE_WERROR=ON -DCMAKE_BUILD_TYPE=RelWithDebInfo -DMEMSCOPE_SANITIZE=ON)
  export ASAN_OPTIONS=detect_leaks=1:abort_on_error=1:strict_string_checks=1
  export UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1
fi
cmake -S . -B "$dir" "${flags[@]}" >/dev/null
cmake --build "$dir" -j"$(nproc)"
ctest --test-dir "$dir" --output-on-failure -j2 "$@"
if [[ $dir == build && $# -eq 0 ]]; then
  # The fuzzers need clang's libFuzzer: a build of their own (of everything, so clang's warnings
  # are checked too), each fuzzer run for a short time.
  cmake -S . -B build-fuzz -DCMAKE_C_COMPILER=clang -DMEMSCOPE_FUZZ=ON -DMEMSCOPE_WERROR=ON >/dev/null
  cmake --build build-fuzz -j"$(nproc)"
  ctest --test-dir build-fuzz -L fuzz --output-on-failure
elif [[ $dir == build ]]; then
  echo "test.sh: the fuzz stage did not run: ctest arguments were given ($*); run scripts/test.sh alone for it"
fi
