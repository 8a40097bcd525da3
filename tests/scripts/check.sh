# Sourced by the script tests here: a PASS or FAIL line per check and the count of failures
# (`fails`), which each test turns into its exit status.
fails=0
pass() { echo "PASS $1"; }
fail() { echo "FAIL $1" >&2; fails=$((fails + 1)); }
skip() { echo "skipped: $1"; }
