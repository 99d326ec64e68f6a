#!/usr/bin/env bash
# Long random simulator runs (make soak): random scenario, size, seed, loss, latency,
# stalls, churn and partitions, one run after another for SOAK_SECONDS (default 600).
# Every run checks safety and liveness itself; the first failing run stops the soak and
# its reproduce: line is printed. SOAK_SEED fixes the sequence of runs.
set -uo pipefail
REPO=$(cd "$(dirname "$0")/../.." && pwd)
SIM=${SIMDIR:-$REPO/build/sim}/swimsim
SOAK_SECONDS=${SOAK_SECONDS:-600}
[ -x "$SIM" ] || { echo "soak_swimsim: $SIM not built (make all-tests)"; exit 1; }
RANDOM=${SOAK_SEED:-$$}
LOG=$(mktemp /tmp/soak-swimsim.XXXXXX)
trap 'rm -f "$LOG"' EXIT INT TERM
end=$((SECONDS + SOAK_SECONDS))
runs=0 fail=0

pick() { local a=("$@"); echo "${a[RANDOM % ${#a[@]}]}"; }
# Join news that gossip lost (loss, stalls) is repaired by the next push-pull, every
# 30 s x (ceil(log2 n - 5) + 1) above 32 nodes: the quiet tail must cover one.
pp_quiet() {
	local n=$1 m=1 p=32
	while [ "$n" -gt "$p" ]; do m=$((m + 1)); p=$((p * 2)); done
	echo $((30 * m + 15))
}

while [ "$SECONDS" -lt "$end" ]; do
	seed=$(( (RANDOM << 15 | RANDOM) + 1 ))
	sc=$(pick fail1 fail10pct partition churn statewrites steady join)
	n=$(pick 8 20 50 100 200)
	args=(--scenario "$sc" --nodes "$n" --seed "$seed")
	args+=(--loss "$(pick 0 0 0.01 0.05 0.1)")
	args+=(--lat-base-us "$(pick 50 200 1000)" --lat-jitter-us "$(pick 20 150 2000)")
	case $sc in
	partition)
		# shorter than failure detection: the cluster must heal by itself (a partition
		# outlasting it does not heal: see SIMULATION.md)
		args+=(--part-s "$(pick 0.3 0.5 1)" --part-frac "$(pick 0.1 0.3 0.5)")
		[ $((RANDOM % 3)) = 0 ] && args+=(--part-asym)
		;;
	churn)
		args+=(--churn-rate "$(pick 0.2 0.5 1)")
		args+=(--quiet "$(pp_quiet "$n")" --duration $((120 + $(pp_quiet "$n"))))
		;;
	statewrites)
		# above ~50 nodes a digest no longer fits a datagram and goes by TCP, where
		# the daemon never answers it (SIMULATION.md): larger runs model the fix
		if [ "$n" -gt 40 ]; then
			[ "$n" -gt 100 ] && n=100 && args[3]=100
			args+=(--state-tcp-reply)
		fi
		args+=(--writes "$(pick 20 100)" --write-window 10 --duration 90)
		;;
	join) args+=(--quiet "$(pp_quiet "$n")" --duration $((15 + $(pp_quiet "$n")))) ;;
	*) args+=(--duration "$(pick 60 120)") ;;
	esac
	# CPU stalls shorter than the minimum suspicion timeout: nobody may be declared dead
	# for longer than the bound, and the end must converge
	if [ $((RANDOM % 3)) = 0 ]; then
		args+=(--stall-frac "$(pick 0.05 0.1)" --stall-ms "$(pick 200 500)" --stall-gap-ms 5000)
	fi
	runs=$((runs + 1))
	if ! timeout 900 "$SIM" "${args[@]}" >"$LOG" 2>&1; then
		fail=$((fail + 1))
		echo "soak_swimsim: run $runs FAILED: $SIM ${args[*]}"
		grep -E '^(VIOLATION|reproduce:)' "$LOG" | head -n 12
		tail -n 3 "$LOG"
		break
	fi
done
echo "soak_swimsim: $((runs - fail)) passed, $fail failed"
[ "$fail" -eq 0 ]
