#!/usr/bin/env bash
# Test of scripts/make-image-folder synthetic-rgb: a tiny set (32x32, 20 + 10 images) in a temp
# folder, checked for the class-folder layout, RGB PNG files of the asked size, byte-identical
# reproduction whatever the number of workers, the up-to-date second call, and exit code 2 on
# bad arguments or a folder made with other parameters. (The fashion-mnist mode is checked
# against the IDX files by the C++ suite, ImageFolder.FashionMnistAsPngFoldersIsTheIdxFilesBytes.)
set -euo pipefail
root="${1:-$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)}"
gen="$root/scripts/make-image-folder"
tmp="$(mktemp -d "${TMPDIR:-/tmp}/image-folder-test.XXXXXX")"
trap 'rm -rf "$tmp"' EXIT
source "$(dirname "${BASH_SOURCE[0]}")/check.sh"

small=(--size 32 --train 20 --test 10 --seed 3)
"$gen" synthetic-rgb "$tmp/a" "${small[@]}" --workers 2 -q || { echo "FAIL generation (exit $?)" >&2; exit 1; }
"$gen" synthetic-rgb "$tmp/b" "${small[@]}" --workers 1 -q || { echo "FAIL generation (exit $?)" >&2; exit 1; }

if /usr/bin/python3 - "$tmp/a" <<'PY'
import os, struct, sys, zlib
d = sys.argv[1]
errors = []
def check(cond, msg):
    if not cond:
        errors.append(msg)
check(sorted(os.listdir(d)) == [".make-image-folder.json", "test", "train"], f"top level {os.listdir(d)}")
check(not os.path.exists(d + ".partial"), "DIR.partial left behind")
counts = {}
for split, want in (("train", 20), ("test", 10)):
    classes = sorted(os.listdir(os.path.join(d, split)))
    check(len(classes) == 10 and classes[0] == "0-t-shirt-top" and classes[9] == "9-ankle-boot", f"{split} classes {classes}")
    files = [os.path.join(d, split, c, f) for c in classes for f in os.listdir(os.path.join(d, split, c))]
    check(len(files) == want, f"{split}: {len(files)} files, expected {want}")
    for p in files:
        data = open(p, "rb").read()
        check(data[:8] == b"\x89PNG\r\n\x1a\n", f"{p}: not a PNG")
        w, h, depth, colour = struct.unpack(">IIBB", data[16:26])
        check((w, h, depth, colour) == (32, 32, 8, 2), f"{p}: {w}x{h} depth {depth} colour type {colour}")
        check(zlib.crc32(data[12:29]) & 0xFFFFFFFF == struct.unpack(">I", data[29:33])[0], f"{p}: IHDR CRC")
if errors:
    print("\n".join(errors[:10]), file=sys.stderr)
    sys.exit(1)
PY
then pass "layout, 10 class folders, 32x32 RGB PNGs"; else fail "layout"; fi

if diff -r "$tmp/a" "$tmp/b" > /dev/null; then pass "byte-identical with 1 or 2 workers"; else fail "reproduction"; fi

out=$("$gen" synthetic-rgb "$tmp/a" "${small[@]}" 2>&1) && [[ "$out" == *"up to date"* ]] \
  && pass "second call is up to date" || fail "second call: $out"

set +e
"$gen" synthetic-rgb "$tmp/a" --size 48 --train 20 --test 10 -q 2>"$tmp/err"; rc=$?
set -e
[[ $rc == 2 && "$(cat "$tmp/err")" == *"not made with these parameters"* ]] && pass "other parameters: exit 2" \
  || fail "other parameters: exit $rc $(cat "$tmp/err")"
set +e
"$gen" synthetic-rgb "$tmp/c" --size 8 2>"$tmp/err"; rc=$?
set -e
[[ $rc == 2 && "$(cat "$tmp/err")" == *"--size: expected 32..1024, got 8"* ]] && pass "bad --size: exit 2" \
  || fail "bad --size: exit $rc $(cat "$tmp/err")"

exit $fails
