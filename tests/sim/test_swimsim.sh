#!/usr/bin/env bash
# simulations/swimsim with fixed seeds and small clusters (run by `make sim-check`,
# $SIMDIR = build/sim). Each check names the behaviour it expects; the whole file
# takes a few seconds of CPU.
set -uo pipefail
SIM=${SIMDIR:-build/sim}/swimsim
[ -x "$SIM" ] || { echo "FAIL: $SIM not built"; exit 1; }
TMP=$(mktemp -d /tmp/swimsim-test.XXXXXX)
trap 'rm -rf "$TMP"' EXIT INT TERM
pass=0 fail=0

ok() { echo "ok - $*"; pass=$((pass + 1)); }
bad() { echo "not ok - $*"; fail=$((fail + 1)); }
# value KEY FILE: the value of KEY=... on the simulator's result lines
value() { grep -o "\b$1=[^ ]*" "$2" | tail -n 1 | cut -d= -f2; }
run() { # NAME ARGS...: run, keep output in $TMP/NAME, return the exit status
	local name=$1
	shift
	timeout 120 "$SIM" "$@" >"$TMP/$name" 2>&1
}

# 1. one failure in a cluster of 20 is detected by every member, quickly
for seed in 1 2 3; do
	if run fail1-$seed --scenario fail1 --nodes 20 --seed "$seed" --duration 60 &&
		[ "$(value fail_missed "$TMP/fail1-$seed")" = 0 ] &&
		[ "$(value fail_all_max_ms "$TMP/fail1-$seed")" -lt 6000 ]; then
		ok "fail1 n=20 seed $seed: every member marks the victim dead within 6 s ($(value fail_all_max_ms "$TMP/fail1-$seed") ms)"
	else
		bad "fail1 n=20 seed $seed"; tail -n 5 "$TMP/fail1-$seed"
	fi
done

# 2. the first line is SEED= and every derived parameter is printed
if head -n 1 "$TMP/fail1-1" | grep -qx 'SEED=1' && grep -q '^param derived suspicion_min_ms=' "$TMP/fail1-1"; then
	ok "output starts with SEED= and lists the derived parameters"
else
	bad "SEED/param lines missing"; head -n 3 "$TMP/fail1-1"
fi

# 3. a seed replays exactly; another seed gives another run
run det-a --scenario churn --nodes 30 --seed 7 --duration 80 --churn-rate 0.5
run det-b --scenario churn --nodes 30 --seed 7 --duration 80 --churn-rate 0.5
run det-c --scenario churn --nodes 30 --seed 8 --duration 80 --churn-rate 0.5
strip() { grep -v -e '^wall_s=' -e '^setup_wall_s=' "$1"; }
if cmp -s <(strip "$TMP/det-a") <(strip "$TMP/det-b"); then
	ok "same seed, same run (byte-identical results)"
else
	bad "seed 7 twice gave different results"; diff <(strip "$TMP/det-a") <(strip "$TMP/det-b") | head
fi
if ! cmp -s <(strip "$TMP/det-a") <(strip "$TMP/det-c"); then
	ok "another seed, another run"
else
	bad "seeds 7 and 8 gave identical results"
fi

# 4. churn (crash, restart with the disk incarnation, leave, join) ends converged
if grep -qx OK "$TMP/det-a" && [ "$(value join_missed "$TMP/det-a")" = 0 ]; then
	ok "churn n=30: converged at the end, every join and failure learned by all"
else
	bad "churn n=30"; tail -n 8 "$TMP/det-a"
fi

# 5. 10% failing at once, with 5% loss
if run f10 --scenario fail10pct --nodes 60 --seed 4 --loss 0.05 --duration 60 &&
	[ "$(value fail_missed "$TMP/f10")" = 0 ]; then
	ok "fail10pct n=60 at 5% loss: all 6 failures learned by every member"
else
	bad "fail10pct"; tail -n 8 "$TMP/f10"
fi

# 6. a join storm from nothing converges (bootstrap by real joins)
if run join --scenario join --nodes 12 --seed 5 --duration 60 && grep -qx OK "$TMP/join" &&
	[ "$(value join_missed "$TMP/join")" = 0 ]; then
	ok "join storm n=12 through one seed converges"
else
	bad "join storm"; tail -n 8 "$TMP/join"
fi

# 7. a partition shorter than failure detection heals by itself
if run part --scenario partition --nodes 30 --seed 6 --part-s 1 --duration 60 &&
	[ "$(value heal_s "$TMP/part")" != never ]; then
	ok "1 s partition of n=30 heals (heal_s=$(value heal_s "$TMP/part"))"
else
	bad "short partition"; tail -n 8 "$TMP/part"
fi

# 8. the liveness and safety checks fail a run that cannot converge, and say how
# to reproduce it (all datagrams lost: everyone declares everyone dead)
if run lossall --scenario steady --nodes 10 --seed 9 --duration 30 --quiet 5 --loss 1 --dead-bound 10 --no-tcp-ping; then
	bad "a cluster losing every packet passed the checks"
elif grep -q '^VIOLATION' "$TMP/lossall" && grep -q '^reproduce: build/sim/swimsim .*--seed 9' "$TMP/lossall"; then
	ok "100% loss is reported as violations with a reproduce: line (exit 1)"
else
	bad "violation output"; tail -n 5 "$TMP/lossall"
fi

# 9. replicated state: a write storm reaches every node; DESIGN invariants hold
if run state --scenario statewrites --nodes 16 --seed 3 --writes 40 --write-window 5 --duration 60 &&
	[ "$(value write_unseen "$TMP/state")" = 0 ] && [ "$(value writes "$TMP/state")" -gt 20 ]; then
	ok "statewrites n=16: $(value writes "$TMP/state") writes reached every node (p99 $(value write_everywhere_p99_ms "$TMP/state") ms), invariants held, hashes equal"
else
	bad "statewrites"; tail -n 8 "$TMP/state"
fi

# 10. CPU stalls: Lifeguard keeps stalled nodes from being declared dead
if run stall --scenario steady --nodes 30 --seed 11 --duration 90 --stall-frac 0.2 --stall-ms 1500 --stall-gap-ms 5000 &&
	[ "$(value stalls "$TMP/stall")" -gt 10 ]; then
	ok "stalls (20% of nodes, ~1.5 s): converged, $(value false_positive_declarations "$TMP/stall") false positives"
else
	bad "stalls"; tail -n 8 "$TMP/stall"
fi

# 11. CSV timeline and CDF files
if run csv --scenario fail1 --nodes 20 --seed 1 --duration 30 --csv "$TMP/t.csv" --cdf "$TMP/c.csv" &&
	head -n 1 "$TMP/t.csv" | grep -q '^t_s,pkts,bytes' && [ "$(wc -l <"$TMP/t.csv")" -gt 250 ] &&
	grep -q '^fail,' "$TMP/c.csv"; then
	ok "--csv writes a 100 ms timeline, --cdf the detection CDF"
else
	bad "csv output"
fi

echo "swimsim: $pass passed, $fail failed"
[ "$fail" -eq 0 ]
