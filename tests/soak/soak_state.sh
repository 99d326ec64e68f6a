#!/usr/bin/env bash
# Soak the replicated state: the property test with random seeds, replica
# counts and lengths, for SOAK_SECONDS (default 600). Each run prints SEED=
# first; a failing run prints "reproduce: ..." and the soak stops with it.
set -u
cd "$(dirname "$0")/../.."
bin=${STATE_PROP:-build/tests/test_state_prop}
[ -x "$bin" ] || { echo "soak_state: $bin missing (make all-tests)" >&2; exit 1; }
secs=${SOAK_SECONDS:-600}
end=$(( $(date +%s) + secs ))
runs=0
log=$(mktemp "${TMPDIR:-/tmp}/soak_state.XXXXXX")
trap 'rm -f "$log"' EXIT
while [ "$(date +%s)" -lt "$end" ]; do
	seed=$(od -An -N8 -tu8 /dev/urandom | tr -d ' ')
	nodes=$(( 3 + $(od -An -N2 -tu2 /dev/urandom | tr -d ' ') % 28 ))
	ops=$(( 1000 + $(od -An -N2 -tu2 /dev/urandom | tr -d ' ') % 5000 ))
	if ! "$bin" --seed "$seed" --ops "$ops" --nodes "$nodes" >"$log" 2>&1; then
		cat "$log"
		echo "soak_state: FAILED after $runs good runs"
		exit 1
	fi
	runs=$((runs + 1))
done
echo "soak_state: $runs runs passed in ${secs}s"
