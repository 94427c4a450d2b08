#!/bin/sh
# slurm.sh: docs/errors.md's Slurm job array on a real single-node Slurm; merged shards = one sweep.
#
# Starts its own munged and a one-node Slurm (slurmctld -D, slurmd -D) in a
# temporary folder on unused ports, submits the job array of docs/errors.md
# (taken from the document, with fewer samples, tasks and CPUs), waits for
# it, runs the document's merge and checks that the merge of the shards is
# byte for byte the sweep run on this machine alone, in JSON and in the
# Markdown the recipe writes. Then stops its daemons. Skipped (77) where
# Slurm or munge is not installed or the test does not run as root.
set -u
: "${DERIVCHECK:?}" "${DC_DOCS_DIR:?}"
for p in slurmctld slurmd munged mungekey sbatch sinfo; do
    command -v "$p" >/dev/null 2>&1 || { echo "slurm.sh: $p not installed; skipped"; exit 77; }
done
[ "$(id -u)" = 0 ] || { echo "slurm.sh: Slurm's daemons need root here; skipped"; exit 77; }

tmp=$(mktemp -d /tmp/dc-slurm.XXXXXX)
pids=
stop() {
    for p in $pids; do kill "$p" 2>/dev/null; done
    [ -f "$tmp/munged.pid" ] && kill "$(cat "$tmp/munged.pid")" 2>/dev/null
    sleep 1
    rm -rf "$tmp"
}
trap stop EXIT
fail() {
    echo "FAIL: $*"
    for f in "$tmp"/*.log "$tmp"/work/slurm-*.out; do
        [ -f "$f" ] && { echo "== $f"; tail -20 "$f"; }
    done
    exit 1
}

# A TCP port nobody listens on, from a range above the usual services.
used=$(cat /proc/net/tcp /proc/net/tcp6 2>/dev/null | awk 'NR > 1 {split($2, a, ":"); print a[2]}')
free_port() {
    p=$1
    while echo "$used" | grep -qix "$(printf '%04X' "$p")"; do p=$((p + 1)); done
    echo "$p"
}
base=$((20000 + $$ % 20000))
ctld_port=$(free_port "$base")
slurmd_port=$(free_port $((ctld_port + 1)))

# munge: a key of our own, munged on its own socket (as root: --force)
mkdir -p "$tmp/munge" "$tmp/state" "$tmp/spool" "$tmp/work"
chmod 700 "$tmp/munge"
mungekey --create --keyfile="$tmp/munge/munge.key" || fail "mungekey --create"
munged --force --socket="$tmp/munge/munge.socket" --key-file="$tmp/munge/munge.key" \
    --pid-file="$tmp/munged.pid" --log-file="$tmp/munged.log" \
    --seed-file="$tmp/munge/munge.seed" || fail "munged did not start"

host=$(hostname -s)
cat >"$tmp/slurm.conf" <<CONF
ClusterName=dctest
SlurmctldHost=$host
SlurmctldPort=$ctld_port
SlurmdPort=$slurmd_port
SlurmUser=root
SlurmdUser=root
AuthType=auth/munge
AuthInfo=socket=$tmp/munge/munge.socket
CredType=cred/munge
StateSaveLocation=$tmp/state
SlurmdSpoolDir=$tmp/spool
SlurmctldPidFile=$tmp/slurmctld.pid
SlurmdPidFile=$tmp/slurmd.pid
SlurmctldLogFile=$tmp/slurmctld.log
SlurmdLogFile=$tmp/slurmd.log
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
JobAcctGatherType=jobacct_gather/none
SelectType=select/cons_tres
SelectTypeParameters=CR_CPU
MpiDefault=none
ReturnToService=2
NodeName=$host CPUs=$(nproc) State=UNKNOWN
PartitionName=dc Nodes=$host Default=YES MaxTime=INFINITE State=UP
CONF
SLURM_CONF=$tmp/slurm.conf
export SLURM_CONF
slurmctld -D -i >"$tmp/slurmctld.out.log" 2>&1 &
pids="$pids $!"
slurmd -D -N "$host" >"$tmp/slurmd.out.log" 2>&1 &
pids="$pids $!"
n=0
until sinfo -h -o %t 2>/dev/null | grep -qx idle; do
    n=$((n + 1))
    [ $n -le 60 ] || fail "the node is not idle after 30 s: $(sinfo 2>&1)"
    sleep 0.5
done

# The job script of docs/errors.md: the first sh block after "A Slurm job
# array", with 6 samples, 3 tasks and one CPU each on this small node.
tasks=3
awk '/^A Slurm job array/ {f = 1} f && /^```sh/ {b = 1; next} b && /^```/ {exit} b' \
    "$DC_DOCS_DIR/errors.md" >"$tmp/recipe.sh"
grep -q 'sbatch\|SBATCH --array' "$tmp/recipe.sh" || fail "no job array recipe in errors.md"
sed -e "s/--samples [0-9]*/--samples 6/" -e "s/--array=1-16/--array=1-$tasks/" \
    -e "s|/16\"|/$tasks\"|" -e "s/--cpus-per-task=[0-9]*/--cpus-per-task=1/" \
    "$tmp/recipe.sh" >"$tmp/work/job.sh"
grep -q -- "--array=1-$tasks" "$tmp/work/job.sh" && grep -q "/$tasks\"" "$tmp/work/job.sh" ||
    fail "the recipe changed shape: $(cat "$tmp/work/job.sh")"

# derivcheck on the tasks' PATH (sbatch passes the environment on)
PATH=$(dirname "$DERIVCHECK"):$PATH
export PATH
cd "$tmp/work" || fail "cd"
timeout 600 sbatch --wait job.sh >"$tmp/sbatch.log" 2>&1 || fail "sbatch --wait: $(cat "$tmp/sbatch.log")"
for k in $(seq 1 $tasks); do
    [ -s "shard-$k.json" ] || fail "task $k wrote no shard-$k.json"
done

# the document's merge, then both formats against the single-machine sweep
merge=$(awk '/^Then, once all tasks are done/ {f = 1} f && /^```sh/ {b = 1; next} b && /^```/ {exit} b' \
    "$DC_DOCS_DIR/errors.md" | sed 's/ --plot [^ ]*//')
sh -c "$merge" || fail "the merge failed: $merge"
"$DERIVCHECK" error sigmoid --samples 6 --seed 1 --format markdown -o whole.md || fail "sweep"
"$DERIVCHECK" merge shard-*.json --format json -o merged.json || fail "merge to json"
"$DERIVCHECK" error sigmoid --samples 6 --seed 1 --format json -o whole.json || fail "sweep json"
cmp errors.md whole.md || fail "merged Markdown differs from the single-machine sweep"
cmp merged.json whole.json || fail "merged JSON differs from the single-machine sweep"
echo "slurm.sh: $tasks array tasks on a one-node Slurm; merged shards = the whole sweep, byte for byte"
exit 0
