#!/usr/bin/env bash
# Test of scripts/make-machine-sounds: a tiny synthetic corpus (1 machine type, 2 ids, 2 s clips)
# in a temp folder, checked for the DCASE 2020 Task 2 layout and file names, the WAV format and
# length, byte-identical reproduction whatever the number of workers, resuming from DIR.partial,
# the up-to-date second call, and exit code 2 on bad arguments or a DIR made with other
# parameters. Needs /usr/bin/python3 with numpy.
set -euo pipefail
root="${1:-$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)}"
gen="$root/scripts/make-machine-sounds"
tmp="$(mktemp -d "${TMPDIR:-/tmp}/machine-sounds-test.XXXXXX")"
trap 'rm -rf "$tmp"' EXIT
source "$(dirname "${BASH_SOURCE[0]}")/check.sh"

small=(--seed 5 --machine-types ToyCar --ids 01,03 --train 3 --test-normal 2 --test-anomaly 2
       --clip-seconds 2)

start=$(date +%s)
"$gen" "$tmp/a" "${small[@]}" -j 2 -q || { echo "FAIL generation (exit $?)" >&2; exit 1; }
echo "generated in $(( $(date +%s) - start )) s"

# Layout, names, WAV format and length, not silent (Python: standard library only).
if /usr/bin/python3 - "$tmp/a" <<'PY'
import array, json, math, os, sys, wave
d = sys.argv[1]
errors = []
def check(cond, msg):
    if not cond:
        errors.append(msg)
check(sorted(os.listdir(d)) == [".anomalies.tsv", ".machines.tsv", ".make-machine-sounds.json",
                                "README.md", "ToyCar"], f"top level {sorted(os.listdir(d))}")
check(not os.path.exists(d + ".partial"), "DIR.partial left behind")
check(sorted(os.listdir(os.path.join(d, "ToyCar"))) == ["test", "train"], "ToyCar/{train,test}")
want = {"train": [f"normal_id_{i}_{k:08d}.wav" for i in ("01", "03") for k in range(3)],
        "test": [f"{lab}_id_{i}_{k:08d}.wav" for lab in ("normal", "anomaly")
                 for i in ("01", "03") for k in range(2)]}
for split, names in want.items():
    got = sorted(os.listdir(os.path.join(d, "ToyCar", split)))
    check(got == sorted(names), f"{split}: {got}")
    for name in names:
        p = os.path.join(d, "ToyCar", split, name)
        if not os.path.exists(p):
            continue
        with open(p, "rb") as fh:
            head = fh.read(44)
        check(head[:4] == b"RIFF" and head[8:16] == b"WAVEfmt " and head[36:40] == b"data",
              f"{name}: not a plain RIFF WAVE")
        check(int.from_bytes(head[20:22], "little") == 1, f"{name}: not PCM")
        with wave.open(p) as w:
            fmt = (w.getframerate(), w.getnchannels(), w.getsampwidth(), w.getnframes())
            data = array.array("h", w.readframes(w.getnframes()))
        check(fmt == (16000, 1, 2, 32000), f"{name}: {fmt} (expected 16 kHz mono 16-bit, 2 s)")
        if sys.byteorder == "big":
            data.byteswap()
        r = math.sqrt(sum(v * v for v in data) / max(1, len(data)))
        check(300 < r < 10000, f"{name}: RMS {r:.0f} (expected a machine at -40..-10 dBFS)")
stamp = json.load(open(os.path.join(d, ".make-machine-sounds.json")))
check(stamp.get("ids") == {"ToyCar": ["01", "03"]} and stamp.get("clip_seconds") == 2.0
      and stamp.get("seed") == 5, f"stamp {stamp}")
readme = open(os.path.join(d, "README.md")).read()
check("NOT recorded" in readme and "synthes" in readme and "DCASE 2020" in readme, "README")
rows = open(os.path.join(d, ".anomalies.tsv")).read().split("\n")[1:-1]
check(len(rows) == 4 and all(r.split("\t")[1] in ("bearing", "imbalance", "rubbing",
      "drifting-resonance") for r in rows), f".anomalies.tsv {rows}")
if errors:
    print("\n".join(errors[:10]), file=sys.stderr)
    sys.exit(1)
PY
then pass "layout, DCASE names, 16 kHz mono 16-bit 2 s WAVs, README, stamp"; else fail "layout"; fi

"$gen" "$tmp/b" "${small[@]}" -j 1 -q || fail "second build (exit $?)"
if diff -r "$tmp/a" "$tmp/b" > /dev/null; then pass "byte-identical with 1 or 2 workers"
else fail "reproduction"; fi

# Resume: a DIR.partial with clips missing and a half-written one is completed, same bytes.
cp -r "$tmp/a" "$tmp/r.partial"
rm "$tmp/r.partial/ToyCar/train/normal_id_03_00000001.wav" "$tmp/r.partial/ToyCar/test/anomaly_id_01_00000000.wav" \
   "$tmp/r.partial/README.md"
echo junk > "$tmp/r.partial/ToyCar/test/normal_id_01_00000000.wav.tmp"
"$gen" "$tmp/r" "${small[@]}" -q || fail "resume (exit $?)"
if [[ ! -e "$tmp/r.partial" ]] && diff -r "$tmp/a" "$tmp/r" > /dev/null; then pass "resumed from DIR.partial"
else fail "resume"; fi

t0=$(date +%s%N)
out=$("$gen" "$tmp/a" "${small[@]}" 2>&1) && [[ "$out" == *"up to date"* ]] \
  && (( ($(date +%s%N) - t0) / 1000000 < 3000 )) \
  && pass "second call is up to date ($(( ($(date +%s%N) - t0) / 1000000 )) ms)" || fail "second call: $out"

expect2() {  # expect2 NAME MESSAGE ARGS...: exit 2 and MESSAGE on stderr
  local name="$1" msg="$2"; shift 2
  local rc=0
  "$gen" "$@" -q 2>"$tmp/err" || rc=$?
  if [[ $rc == 2 && "$(cat "$tmp/err")" == *"$msg"* ]]; then pass "$name: exit 2"
  else fail "$name: exit $rc $(cat "$tmp/err")"; fi
}
expect2 "other parameters on an existing DIR" "was made with other parameters" \
  "$tmp/a" "${small[@]}" --train 4
expect2 "other seed on an existing DIR" "was made with other parameters" \
  "$tmp/a" --seed 6 --machine-types ToyCar --ids 01,03 --train 3 --test-normal 2 --test-anomaly 2 --clip-seconds 2
cmp -s "$tmp/a/ToyCar/train/normal_id_01_00000000.wav" "$tmp/b/ToyCar/train/normal_id_01_00000000.wav" \
  && [[ ! -e "$tmp/a.partial" ]] && pass "refused DIR left as it was" || fail "refused DIR changed"
expect2 "bad --ids" "--ids: expected 'dev' or two-digit machine ids" "$tmp/c" --ids 1,2
expect2 "bad --clip-seconds" "--clip-seconds: expected seconds from 0.5 to 60" "$tmp/c" --clip-seconds 0.1
expect2 "bad --machine-types" "--machine-types: expected machine type names" "$tmp/c" --machine-types "Toy Car"
expect2 "bad --train" "--train: expected an integer 1..100000" "$tmp/c" --train 0
expect2 "missing parent" "expected a folder whose parent exists" "$tmp/no/such/dir"
mkdir -p "$tmp/other" && touch "$tmp/other/x"
expect2 "foreign DIR" "has no .make-machine-sounds.json" "$tmp/other"
[[ ! -e "$tmp/c" && ! -e "$tmp/c.partial" ]] && pass "nothing made on bad arguments" || fail "bad arguments made files"

exit $fails
