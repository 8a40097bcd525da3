#!/usr/bin/env bash
# Measures the latency profile behind configs/calibration/qemu-mps2-an500.yaml: exports ten
# subnets of configs/spaces/fmnist-mbv2.yaml (configs/archs/fmnist-mid.yaml, largest,
# smallest and the seven below: kernels 3/5/7, expands 3/4/6, widths 0.5-1.0, resolutions
# 24-32, patch-based inference with 2x2 / 3x3 / 4x4 patches) with
#     tinynas export --config configs/stm32f746.yaml --arch A --qemu --profile
# (the firmware's per-layer profiler under QEMU mps2-an500 with -icount shift=0, so "cycles"
# are guest instructions), and concatenates their profile.csv rows into OUT/profile.csv,
# with OUT/models.txt naming the rows of each model. Then:
#     cp OUT/profile.csv configs/calibration/qemu-mps2-an500.profile.csv
#     build/tinynas calibrate --profile configs/calibration/qemu-mps2-an500.profile.csv \
#         --mcu configs/mcus/qemu-mps2-an500.yaml
# usage: scripts/qemu/perf/profile-archs.sh [OUT]   (default /tmp/tn-qemu-profile)
# env:   TINYNAS (default build/tinynas), CHECKPOINT (default models/fmnist-supernet.pt),
#        CONFIG (default configs/stm32f746.yaml; the profile does not depend on its data set
#        beyond the quantisation ranges, so a copy pointing at a few thousand training and a few
#        hundred test images saves the export's accuracy passes on a busy machine),
#        NICE (default "nice -n 19"),
#        REUSE=1: keep the models already exported to OUT and only rebuild and rerun their
#        firmware with the current runtime (scripts/run-on-qemu --profile; minutes, no LibTorch)
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../../.." && pwd)"
out="${1:-/tmp/tn-qemu-profile}"
tinynas="${TINYNAS:-$root/build/tinynas}"
checkpoint="${CHECKPOINT:-$root/models/fmnist-supernet.pt}"
config="${CONFIG:-$root/configs/stm32f746.yaml}"
nice_cmd=(${NICE:-nice -n 19})
space="$root/configs/spaces/fmnist-mbv2.yaml"
mkdir -p "$out/archs"

arch() { # name resolution width patches split stage1 .. stage4 ("k,k|e,e")
  local name=$1 res=$2 width=$3 patches=$4 split=$5
  shift 5
  {
    echo "space: $space"
    echo "resolution: $res"
    echo "width: $width"
    echo "stages:"
    echo "  - {kernels: [3], expands: [1]}"
    for st in "$@"; do
      echo "  - {kernels: [${st%|*}], expands: [${st#*|}]}"
    done
    echo "patch: {patches: $patches, split: $split}"
  } >"$out/archs/$name.yaml"
}
arch a4 28 1.0 1 0 "7, 7|3, 3" "7, 5, 3|6, 4, 3" "5, 7|4, 6" "3, 7, 5, 3|6, 3, 4, 6"
arch a5 24 0.75 2 2 "5, 5, 5|6, 6, 6" "5, 5, 5|6, 6, 6" "5, 5, 5|6, 6, 6" "5, 5, 5|6, 6, 6"
arch a6 32 0.5 3 3 "3, 5, 7, 3|6, 4, 3, 6" "7, 3|3, 6" "3, 3, 5|4, 4, 4" "5, 3|6, 3"
arch a7 28 0.75 4 4 "3, 3, 3|4, 4, 4" "3, 3, 3|4, 4, 4" "3, 3, 3|4, 4, 4" "3, 3, 3|4, 4, 4"
arch a8 32 1.0 2 5 "5, 3|3, 6" "3, 5, 7, 5|4, 3, 6, 4" "7, 3, 3|6, 3, 4" "3, 5, 5, 7|3, 4, 6, 3"
arch a9 24 1.0 1 0 "7, 7, 7, 7|3, 3, 3, 3" "7, 7|3, 4" "7, 7, 7|4, 3, 6" "7, 7|6, 6"
arch a10 28 0.5 1 0 "3, 7|6, 3" "5, 5, 5, 5|3, 4, 6, 3" "7, 3|6, 4" "3, 3, 3|4, 6, 3"

models=(mid:"$root/configs/archs/fmnist-mid.yaml" largest:largest smallest:smallest)
for a in a4 a5 a6 a7 a8 a9 a10; do models+=("$a:$out/archs/$a.yaml"); done

header="op,kh,kw,stride,h_in,w_in,c_in,h_out,w_out,c_out,macs,cycles"
echo "$header" >"$out/profile.csv"
: >"$out/models.txt"
row=1
for m in "${models[@]}"; do
  name=${m%%:*} spec=${m#*:}
  echo "profile-archs: $name" >&2
  if [ "${REUSE:-0}" = 1 ] && [ -f "$out/$name/model.c" ]; then
    # The exporter's QEMU run: same flags, the CSV is everything from its header on.
    TN_CFLAGS=-DTN_PROFILE_MAX_LAYERS=4096 "${nice_cmd[@]}" "$root/scripts/run-on-qemu" --profile \
      "$out/$name" >"$out/$name.qemu" 2>"$out/$name.qemu.err" ||
      { echo "profile-archs: QEMU run of $name failed, see $out/$name.qemu.err" >&2; exit 1; }
    grep -qE '^match ([0-9]+)/\1$' "$out/$name.qemu" ||
      { echo "profile-archs: $name does not match its reference outputs" >&2; exit 1; }
    sed -n '/^op,kh,kw,stride/,$p' "$out/$name.qemu" >"$out/$name/profile.csv"
  else
    (cd "$root" && "${nice_cmd[@]}" "$tinynas" export --config "$config" --arch "$spec" \
       --checkpoint "$checkpoint" --out "$out/$name" --qemu --profile) >"$out/$name.log" 2>&1 ||
      { echo "profile-archs: export of $name failed, see $out/$name.log" >&2; exit 1; }
  fi
  n=$(tail -n +2 "$out/$name/profile.csv" | grep -c .)
  tail -n +2 "$out/$name/profile.csv" | grep . >>"$out/profile.csv"
  arch_line=$(grep -m1 '^exported ' "$out/$name.log" | sed 's/^exported //; s/ to .*//')
  echo "$name: CSV lines $((row + 1))-$((row + n)) ($n rows): $arch_line" >>"$out/models.txt"
  row=$((row + n))
done
cat "$out/models.txt"
echo "profile-archs: $((row - 1)) rows in $out/profile.csv" >&2
