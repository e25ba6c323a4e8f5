# Shared set-up for the bats tests: the binaries of the build under test
# (MK_BUILD, default build) come first on PATH; bats-support/bats-assert are
# loaded from the Debian packages; each test gets a scratch directory.
bats_load_library bats-support
bats_load_library bats-assert

MK_BUILD=${MK_BUILD:-build}
ROOT=$(cd "$BATS_TEST_DIRNAME/.." && pwd)
case $MK_BUILD in /*) ;; *) MK_BUILD=$ROOT/$MK_BUILD ;; esac
PATH=$MK_BUILD/bin:$MK_BUILD/test:$PATH
FIX=$ROOT/tests/fixtures

setup() {
    T=$(mktemp -d "${BATS_TMPDIR:-/tmp}/mk.XXXXXX")
    cd "$T" || return 1
}

teardown() {
    cd / && rm -rf "$T"
}

# flip_byte FILE OFFSET: corrupt one byte in place.
flip_byte() {
    local b
    b=$(od -An -tu1 -j "$2" -N1 "$1" | tr -d ' ')
    printf "$(printf '\\%03o' $(( (b + 1) % 256 )))" | dd of="$1" bs=1 seek="$2" conv=notrunc status=none
}
