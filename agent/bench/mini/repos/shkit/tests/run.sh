# The test runner: runs test files (default: every tests/test_*.sh) and prints one line per
# test, "PASSED name" or "FAILED name". Exits 1 when a test failed.
#
#     bash tests/run.sh [tests/test_strings.sh ...]

cd "$(dirname "$0")/.." || exit 2
for lib in lib/*.sh; do
    # shellcheck source=/dev/null
    source "$lib"
done

# assert_eq ACTUAL EXPECTED: ends the test (run in a subshell) when they differ.
assert_eq() {
    if [[ $1 != "$2" ]]; then
        printf '  expected %q, got %q\n' "$2" "$1" >&2
        exit 1
    fi
}

failed=0
files=("$@")
((${#files[@]})) || files=(tests/test_*.sh)
for file in "${files[@]}"; do
    # shellcheck source=/dev/null
    source "$file" || exit 2
    for name in $(grep -oE '^test_[A-Za-z0-9_]+' "$file"); do
        if ("$name"); then
            echo "PASSED $name"
        else
            echo "FAILED $name"
            failed=1
        fi
    done
done
exit "$failed"
