#!/usr/bin/env bash
# Test of scripts/make-speech-corpus: a tiny synthetic corpus (3 clips per keyword, 3 unknown
# words) in a temp folder, checked for the Speech Commands v2 layout, the WAV format, the lists,
# voice-disjoint splits, byte-identical reproduction, caching, and exit code 2 on bad arguments.
set -euo pipefail
root="${1:-$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)}"
gen="$root/scripts/make-speech-corpus"
tmp="$(mktemp -d "${TMPDIR:-/tmp}/speech-corpus-test.XXXXXX")"
trap 'rm -rf "$tmp"' EXIT
source "$(dirname "${BASH_SOURCE[0]}")/check.sh"

small=(--clips-per-word 3 --unknown-words bed,marvin,wow --clips-per-unknown 2 --voices 12
       --noise-seconds 2)

start=$(date +%s)
"$gen" "$tmp/a" --seed 7 "${small[@]}" -q || { echo "FAIL generation (exit $?)" >&2; exit 1; }
echo "generated in $(( $(date +%s) - start )) s"

# 1-5: layout, names, WAV format, lists, voice-disjoint splits (Python: standard library only)
if /usr/bin/python3 - "$tmp/a" <<'PY'
import hashlib, os, re, sys, wave
d = sys.argv[1]
keywords = "yes no up down left right on off stop go".split()
unknown = ["bed", "marvin", "wow"]
errors = []
def check(cond, msg):
    if not cond:
        errors.append(msg)
entries = sorted(os.listdir(d))
folders = sorted(e for e in entries if os.path.isdir(os.path.join(d, e)))
check(folders == sorted(keywords + unknown + ["_background_noise_"]), f"folders {folders}")
for f in ("validation_list.txt", "testing_list.txt", "README.md", ".make-speech-corpus.json"):
    check(os.path.isfile(os.path.join(d, f)), f"missing {f}")
check(not os.path.exists(d + ".partial"), "DIR.partial left behind")
name_re = re.compile(r"^[0-9a-f]{8}_nohash_[0-9]+\.wav$")
clips = []
for w in keywords + unknown:
    files = sorted(os.listdir(os.path.join(d, w)))
    check(len(files) == (3 if w in keywords else 2), f"{w}: {len(files)} clips")
    for f in files:
        check(bool(name_re.match(f)), f"bad name {w}/{f}")
        clips.append(f"{w}/{f}")
def fmt(path):
    with open(path, "rb") as fh:
        head = fh.read(44)
    check(head[:4] == b"RIFF" and head[8:16] == b"WAVEfmt ", f"{path}: not a RIFF WAVE")
    check(int.from_bytes(head[20:22], "little") == 1, f"{path}: not PCM")
    with wave.open(path) as wv:
        return wv.getframerate(), wv.getnchannels(), wv.getsampwidth(), wv.getnframes()
for c in clips:
    r, ch, sw, n = fmt(os.path.join(d, c))
    check((r, ch, sw) == (16000, 1, 2), f"{c}: {r} Hz {ch} ch {8 * sw} bit")
    check(8000 <= n <= 16000, f"{c}: {n} samples (expected 0.5-1 s)")
noise = sorted(os.listdir(os.path.join(d, "_background_noise_")))
check(len(noise) >= 4 and all(f.endswith(".wav") for f in noise), f"noise files {noise}")
for f in noise:
    r, ch, sw, n = fmt(os.path.join(d, "_background_noise_", f))
    check((r, ch, sw, n) == (16000, 1, 2, 32000), f"noise {f}: {r} {ch} {sw} {n}")
lists = {}
for sp in ("validation", "testing"):
    with open(os.path.join(d, f"{sp}_list.txt")) as fh:
        lines = fh.read().splitlines()
    check(len(lines) > 0, f"{sp}_list.txt is empty")
    check(len(set(lines)) == len(lines), f"{sp}_list.txt has duplicates")
    for p in lines:
        check(os.path.isfile(os.path.join(d, p)) and p in clips, f"{sp}_list.txt: no file {p}")
    lists[sp] = set(lines)
check(not (lists["validation"] & lists["testing"]), "a clip in both lists")
split = {c: ("validation" if c in lists["validation"] else
             "testing" if c in lists["testing"] else "training") for c in clips}
voices = {}
for c, sp in split.items():
    voices.setdefault(sp, set()).add(c.split("/")[1].split("_nohash_")[0])
check(set(voices) == {"training", "validation", "testing"}, f"splits present: {sorted(voices)}")
for a in voices:
    for b in voices:
        if a < b:
            check(not (voices[a] & voices[b]), f"voices shared by {a} and {b}: {voices[a] & voices[b]}")
for w in keywords:  # every keyword in every split
    check(all(any(c.startswith(w + "/") and split[c] == sp for c in clips)
              for sp in ("training", "validation", "testing")), f"{w} missing from a split")
M = 2 ** 27 - 1  # the real corpus's which_set() agrees with the lists
for sp, hs in voices.items():
    for h in hs:
        p = (int(hashlib.sha1(h.encode()).hexdigest(), 16) % (M + 1)) * (100.0 / M)
        got = "validation" if p < 10 else "testing" if p < 20 else "training"
        check(got == sp, f"speaker {h}: lists say {sp}, which_set() says {got}")
for e in errors:
    print("  " + e, file=sys.stderr)
sys.exit(1 if errors else 0)
PY
then pass "layout, names, 16 kHz mono 16-bit <= 1 s, lists, voice-disjoint splits"
else fail "layout, names, 16 kHz mono 16-bit <= 1 s, lists, voice-disjoint splits"; fi

# 6: a second call with the same parameters returns at once
t0=$(date +%s%N)
msg=$("$gen" "$tmp/a" --seed 7 "${small[@]}" 2>&1)
ms=$(( ($(date +%s%N) - t0) / 1000000 ))
if [[ "$msg" == *"up to date"* && $ms -lt 3000 ]]; then pass "cached: second call in $ms ms"
else fail "cached: second call took $ms ms, said: $msg"; fi

sums() { (cd "$1" && find . -type f -print0 | sort -z | xargs -0 md5sum); }
# 7: the same seed gives byte-identical files (with one worker instead of all)
"$gen" "$tmp/b" --seed 7 "${small[@]}" -q -j 1
if [ "$(sums "$tmp/a")" == "$(sums "$tmp/b")" ]; then pass "same seed: byte-identical ($(sums "$tmp/a" | wc -l) files)"
else fail "same seed: files differ"; diff <(sums "$tmp/a") <(sums "$tmp/b") | head >&2 || true; fi

# 8: another seed gives other clips
"$gen" "$tmp/c" --seed 8 "${small[@]}" -q
same=$(comm -12 <(sums "$tmp/a" | grep '\.wav$' | cut -d' ' -f1 | sort) \
                <(sums "$tmp/c" | grep '\.wav$' | cut -d' ' -f1 | sort) | wc -l)
if [ "$same" -eq 0 ]; then pass "other seed: no WAV in common"
else fail "other seed: $same identical WAV files"; fi

# 9: bad arguments exit 2 and name the argument
expect2() {  # expect2 NAME-IN-MESSAGE ARGS...
  local want="$1"; shift
  local out rc=0
  out=$("$gen" "$@" 2>&1) || rc=$?
  if [ $rc -eq 2 ] && [[ "$out" == *"$want"* ]]; then pass "exit 2: $*"
  else fail "expected exit 2 naming '$want' for: $* (got $rc: $out)"; fi
}
expect2 "DIR" 
expect2 "--clips-per-word" "$tmp/x" --clips-per-word 0
expect2 "--clips-per-word" "$tmp/x" --clips-per-word many
expect2 "--seed" "$tmp/x" --seed -1
expect2 "--noise-fraction" "$tmp/x" --noise-fraction 1.5
expect2 "--unknown-words" "$tmp/x" --unknown-words 'Bed!'
expect2 "--unknown-words" "$tmp/x" --unknown-words yes,bed
expect2 "--engines" "$tmp/x" --engines espeak-ng,mbrola
expect2 "--voices" "$tmp/x" --voices 2
expect2 "--bogus" "$tmp/x" --bogus
mkdir -p "$tmp/notcorpus" && touch "$tmp/notcorpus/keep.txt"
expect2 "DIR" "$tmp/notcorpus"
[ -f "$tmp/notcorpus/keep.txt" ] && pass "a foreign folder is left alone" || fail "foreign folder touched"
[ ! -e "$tmp/x" ] && pass "nothing written on bad arguments" || fail "$tmp/x written"

echo "speech corpus test: $fails failure(s), $(( $(date +%s) - start )) s"
[ $fails -eq 0 ]
