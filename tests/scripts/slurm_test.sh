#!/usr/bin/env bash
# Test of a real Slurm on this machine (issue 18): scripts/slurm-local starts a single-node
# cluster (munged, slurmctld, slurmd; every file under one directory, free ports), then
#   1. `srun -n 2` runs two tasks: SLURM_PROCID 0 and 1, SLURM_NTASKS=2;
#   2. `sbatch --array=0-1 --wait` runs both array tasks, at the same time (one core each);
#   3. `srun -n 2 tinynas train --config configs/tiny.yaml`: two data-parallel ranks, exit 0,
#      exactly one checkpoint (rank 0 writes it);
#   4. `tinynas sweep --submit-slurm` over configs/sweeps/tiny-array.yaml (an array of 2 tasks,
#      one run each, into a shared results store, and a dependent merge job) gives the same
#      sweep.csv as the same sweep in one process.
# 3 and 4 run only when the program has the options (`train --nproc`, `sweep --array-task`); until
# then they print "skipped: ...". The cluster is stopped on every exit (trap); a cluster left by
# a killed earlier run of this build's test is stopped first.
#   tests/scripts/slurm_test.sh [SOURCE_DIR [TINYNAS_BINARY]]
set -euo pipefail
root="${1:-$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)}"
tinynas="${2-$root/build/tinynas}"  # "" (no program built): the tinynas steps are skipped
slurm_local="$root/scripts/slurm-local"
tmp="$(mktemp -d "${TMPDIR:-/tmp}/slurm-test.XXXXXX")"
# The cluster's directory: short (the munge socket path must stay under 108 bytes) and the same
# for every run of this build's test, so a cluster a killed run left behind is found and stopped.
cluster="/tmp/tinynas-slurm-test-$(id -u)-$(printf '%s' "$tinynas" | md5sum | cut -c1-8)"
cleanup() {
  local rc=$?
  "$slurm_local" stop --dir "$cluster" > /dev/null 2>&1 || true
  rm -rf "$tmp" "$cluster"
  exit $rc
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM
source "$(dirname "${BASH_SOURCE[0]}")/check.sh"

for t in slurmctld slurmd munged srun sbatch squeue scontrol; do
  command -v "$t" > /dev/null || { echo "FAIL $t not found: install slurm-wlm and munge (scripts/setup)" >&2; exit 1; }
done

# Two free consecutive TCP ports (slurmctld, slurmd): another build's test may run a cluster now.
port="$(/usr/bin/python3 - <<'PY'
import random, socket
def free(p):
    s = socket.socket()
    try:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        s.bind(("", p))
        return True
    except OSError:
        return False
    finally:
        s.close()
for p in random.sample(range(20000, 30000, 2), 200):
    if free(p) and free(p + 1):
        print(p)
        break
PY
)"
[ -n "$port" ] || { echo "FAIL no two free ports in 20000-30000" >&2; exit 1; }

"$slurm_local" stop --dir "$cluster" > /dev/null 2>&1 || true
start=$(date +%s)
if ! env_line="$(TINYNAS_SLURM_PORT=$port "$slurm_local" start --dir "$cluster")"; then
  echo "FAIL scripts/slurm-local start (logs in $cluster/log)" >&2
  exit 1
fi
export SLURM_CONF="${env_line#export SLURM_CONF=}"
echo "cluster up in $(( $(date +%s) - start )) s: $SLURM_CONF (port $port)"
cd "$tmp"

# Every job this test submits has finished in the state COMPLETED with exit code 0 (the jobs
# numbered above $1; without accounting, slurmctld keeps finished jobs for MinJobAge = 300 s).
jobs_completed() {
  local after="$1" bad
  bad="$(scontrol show job -o 2>/dev/null | awk -v after="$after" '
    { id = ""; st = ""; ec = ""
      for (i = 1; i <= NF; i++) {
        if ($i ~ /^JobId=/) id = substr($i, 7)
        if ($i ~ /^JobState=/) st = substr($i, 10)
        if ($i ~ /^ExitCode=/) ec = substr($i, 10) }
      if (id + 0 > after + 0 && (st != "COMPLETED" || ec != "0:0")) print "job " id " " st " exit " ec }')"
  [ -z "$bad" ] || { echo "$bad" >&2; return 1; }
}
last_job() { scontrol show job -o 2>/dev/null | sed -n 's/^JobId=\([0-9]*\).*/\1/p' | sort -n | tail -n 1; }
# Wait until no job is pending or running (this cluster runs this test's jobs alone), a job
# waiting on a failed one (DependencyNeverSatisfied) aside: it never runs.
wait_idle() {
  local limit="$1" t0 q; t0=$(date +%s)
  while ! q="$(squeue -h -o '%i %r' 2>/dev/null)" || [ -n "$(grep -v DependencyNeverSatisfied <<< "$q")" ]; do
    if [ $(( $(date +%s) - t0 )) -ge "$limit" ]; then
      echo "jobs still queued after $limit s:" >&2; squeue >&2 || true
      return 1
    fi
    sleep 2
  done
}

# 1. srun -n 2: two tasks, ranks 0 and 1 of 2.
if out="$(timeout 120 srun -n 2 bash -c 'echo "$SLURM_PROCID $SLURM_NTASKS"' 2>&1)" \
   && [ "$(sort <<< "$out" | tr '\n' ';')" = "0 2;1 2;" ]; then
  pass "srun -n 2: SLURM_PROCID 0 and 1, SLURM_NTASKS=2"
else
  fail "srun -n 2: '$out'"
fi

# 2. sbatch --array=0-1 --wait: both tasks ran, and at the same time (each sleeps 3 s; each
# starts before the other ends), i.e. the two cores are two consumable slots (CR_Core).
if timeout 180 sbatch --array=0-1 --wait --quiet -o "$tmp/array-%a.out" \
     --wrap 'echo "task $SLURM_ARRAY_TASK_ID of $SLURM_ARRAY_TASK_COUNT"; date +%s.%N; sleep 3; date +%s.%N'; then
  if [ "$(head -n 1 "$tmp/array-0.out" 2>/dev/null)" = "task 0 of 2" ] \
     && [ "$(head -n 1 "$tmp/array-1.out" 2>/dev/null)" = "task 1 of 2" ]; then
    pass "sbatch --array=0-1 --wait: both tasks' outputs"
  else
    fail "sbatch array outputs: $(cat "$tmp"/array-*.out 2>&1)"
  fi
  if /usr/bin/python3 - "$tmp/array-0.out" "$tmp/array-1.out" <<'PY'
import sys
(s0, e0), (s1, e1) = [tuple(float(x) for x in open(p).read().split("\n")[1:3]) for p in sys.argv[1:]]
sys.exit(0 if s0 < e1 and s1 < e0 else 1)
PY
  then pass "the two array tasks ran at the same time"; else fail "the array tasks ran one after the other"; fi
else
  fail "sbatch --array=0-1 --wait (exit $?)"
fi

# 3. Data-parallel training through srun (rank and world from SLURM_PROCID / SLURM_NTASKS).
checkpoint=""
if [ ! -x "$tinynas" ]; then
  skip "tinynas train under srun: no program at $tinynas"
elif ! "$tinynas" train --help 2>/dev/null | grep -q -- '--nproc'; then
  skip "srun -n 2 tinynas train: this tinynas has no distributed training yet (train --help has no --nproc)"
else
  mkdir -p "$tmp/train"
  # Rank 0's rendezvous port: a free one, not the default 29500 another job may hold.
  export MASTER_PORT=$((port + 2))
  t0=$(date +%s)
  if timeout 600 srun -n 2 "$tinynas" train --config "$root/configs/tiny.yaml" \
       --checkpoint "$tmp/train/supernet.pt" > "$tmp/train.log" 2>&1; then
    n="$(find "$tmp/train" -name '*.pt' | wc -l)"
    if [ "$n" -eq 1 ]; then
      pass "srun -n 2 tinynas train: exit 0, one checkpoint ($(( $(date +%s) - t0 )) s)"
      checkpoint="$tmp/train/supernet.pt"
    else
      fail "srun -n 2 tinynas train wrote $n checkpoint files: $(find "$tmp/train" -name '*.pt')"
    fi
  else
    fail "srun -n 2 tinynas train (exit $?): $(tail -n 20 "$tmp/train.log")"
  fi
  unset MASTER_PORT
fi

# 4. The sweep as a Slurm array of 2 tasks and a merge job, against the same sweep in one process.
sweep="$root/configs/sweeps/tiny-array.yaml"
if [ ! -x "$tinynas" ]; then
  skip "tinynas sweep through Slurm: no program at $tinynas"
elif ! "$tinynas" sweep --help 2>/dev/null | grep -q -- '--array-task'; then
  skip "tinynas sweep --submit-slurm: this tinynas has no array tasks yet (sweep --help has no --array-task)"
else
  if [ -z "$checkpoint" ]; then
    checkpoint="$tmp/tiny-supernet.pt"
    timeout 300 "$tinynas" train --config "$root/configs/tiny.yaml" --checkpoint "$checkpoint" \
      > "$tmp/train-one.log" 2>&1 || { fail "tinynas train (exit $?): $(tail -n 20 "$tmp/train-one.log")"; checkpoint=""; }
  fi
  if [ -n "$checkpoint" ]; then
    before="$(last_job)"
    t0=$(date +%s)
    if timeout 120 "$tinynas" sweep --config "$sweep" --out "$tmp/sweep-slurm" --checkpoint "$checkpoint" \
         --submit-slurm > "$tmp/submit.log" 2>&1; then
      if wait_idle 600 && jobs_completed "${before:-0}"; then
        [ -f "$tmp/sweep-slurm/sweep.sbatch" ] && pass "sweep --submit-slurm wrote sweep.sbatch" \
          || fail "no $tmp/sweep-slurm/sweep.sbatch"
        pass "sweep array + merge job completed ($(( $(date +%s) - t0 )) s)"
      else
        fail "sweep jobs through Slurm"
        for f in "$tmp"/sweep-slurm/slurm/* "$tmp"/*.out; do
          [ -f "$f" ] && { echo "== $f" >&2; tail -n 10 "$f" >&2; }
        done
      fi
    else
      fail "tinynas sweep --submit-slurm (exit $?): $(tail -n 20 "$tmp/submit.log")"
    fi
    t0=$(date +%s)
    if timeout 600 "$tinynas" sweep --config "$sweep" --out "$tmp/sweep-one" --checkpoint "$checkpoint" \
         > "$tmp/sweep-one.log" 2>&1; then
      pass "the same sweep in one process ($(( $(date +%s) - t0 )) s)"
    else
      fail "tinynas sweep in one process (exit $?): $(tail -n 20 "$tmp/sweep-one.log")"
    fi
    # Same rows, every column but three that legitimately differ:
    #  - seconds: wall time of the run;
    #  - supernet_evaluations, cache_hits: in one process the second run reads the accuracies the
    #    first one measured from the cache, while the two array tasks run at the same time and
    #    either may measure a subnet both need first (or both do). Which run pays for a shared
    #    measurement changes, the measured accuracies do not (a measurement is deterministic).
    if [ ! -f "$tmp/sweep-slurm/sweep.csv" ] || [ ! -f "$tmp/sweep-one/sweep.csv" ]; then
      fail "no sweep.csv to compare (the merge job or the one-process sweep did not write it)"
    elif /usr/bin/python3 - "$tmp/sweep-slurm/sweep.csv" "$tmp/sweep-one/sweep.csv" <<'PY'
import csv, sys
ignored = {"seconds", "supernet_evaluations", "cache_hits"}
def rows(path):
    with open(path, newline="") as f:
        return [{k: v for k, v in r.items() if k not in ignored} for r in csv.DictReader(f)]
a, b = rows(sys.argv[1]), rows(sys.argv[2])
if len(a) != 2 or a != b:
    print(f"array: {a}\none process: {b}", file=sys.stderr)
    sys.exit(1)
if any(r.get("error") for r in a):
    print(f"a run failed: {a}", file=sys.stderr)
    sys.exit(1)
PY
    then pass "sweep.csv of the Slurm array == sweep.csv of one process (2 runs)"
    else fail "sweep.csv differs between the Slurm array and one process"; fi
  fi
fi

if [ "$fails" -ne 0 ]; then
  echo "$fails check(s) failed; cluster logs were in $cluster/log" >&2
  # Keep the logs for a look: copy them out of the cluster directory the trap removes.
  cp -r "$cluster/log" "${TMPDIR:-/tmp}/slurm-test-logs.$$" 2>/dev/null \
    && echo "cluster logs copied to ${TMPDIR:-/tmp}/slurm-test-logs.$$" >&2
  exit 1
fi
echo "all Slurm checks passed"
