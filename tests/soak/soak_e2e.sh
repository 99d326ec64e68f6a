#!/usr/bin/env bash
# Soak: the end-to-end phases of tests/netns/test_e2e.sh in a random loop, for
# SOAK_SECONDS (default 600), on one cluster of 4 to 6 hosts. Every random choice (cluster
# size, phase, hosts, durations, loss, partition split, container and network picks)
# derives from one seed, printed first as SEED=N; SOAK_SEED=N replays the same sequence
# of choices (timing still differs). A background monitor checks the invariants (no two
# live endpoints of a network share an IP or a name; network names and usable VNIs
# unique) every second on every agent, all along; the checker and the invariants run
# after every phase, and removed networks must never come back. Stops at the first
# failure with the seed and how to reproduce.
#
# Phases: churn (random connect/disconnect on every host), restart (graceful and kill -9
# during traffic, changes while a host is dead), loss (5-15% on random hosts with churn),
# partition (random split, creates and attaches on both sides, heal), netlife (create a
# network, connect, refuse rm while in use, disconnect, rm).
#
# Run as root: `make soak` or `bash tests/soak/soak_e2e.sh`. SOAK_PHASES (default "churn
# restart loss partition netlife") limits the phases drawn, e.g. to soak the others while
# a known partition bug is open; the draw itself stays the same for a given seed.
set -uo pipefail

SOAK_REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
export E2E_SOURCED=1
# shellcheck source=tests/netns/test_e2e.sh
. "$SOAK_REPO/tests/netns/test_e2e.sh"

SOAK_SECONDS=${SOAK_SECONDS:-600}
SOAK_PHASES=${SOAK_PHASES:-churn restart loss partition netlife}
if [ -n "${SOAK_SEED:-}" ]; then
	SEED=$SOAK_SEED
else
	SEED=$(($(od -An -N4 -tu4 /dev/urandom) % 1000000000))
fi
echo "SEED=$SEED"
if [[ ! $SEED =~ ^[0-9]+$ ]] || [[ ! $SOAK_SECONDS =~ ^[0-9]+$ ]]; then
	echo "soak: SOAK_SEED and SOAK_SECONDS must be numbers" >&2
	exit 2
fi
RANDOM=$SEED

SOAK_MON=
SOAK_ITER=0
SOAK_PHASE=setup
SOAK_PSEED=$SEED

soak_cleanup() {
	local rc=$?
	if [ -n "$SOAK_MON" ]; then
		kill "$SOAK_MON" 2>/dev/null
		wait "$SOAK_MON" 2>/dev/null
	fi
	(exit "$rc")
	e2e_cleanup
}

soak_failed() {
	echo "soak: FAILED in iteration $SOAK_ITER, phase $SOAK_PHASE (phase seed $SOAK_PSEED)," \
		"after $((($(sim_now_ms) - E2E_T0) / 1000)) s"
	echo "soak: SEED=$SEED; reproduce with: SOAK_SEED=$SEED make soak" \
		"(or SOAK_SEED=$SEED bash tests/soak/soak_e2e.sh; keep SOAK_PHASES='$SOAK_PHASES'):" \
		"the same choices in the same order"
	echo "soak: $E2E_PASS passed, $E2E_FAIL failed"
	exit 1
}

# The invariant monitor: a background loop writing violations to $E2E_TMP/monitor.
soak_monitor() {
	local n=0
	# the checker's temporary directories go under E2E_TMP: killing the monitor mid-check
	# leaves nothing behind once the soak removes E2E_TMP
	local TMPDIR=$E2E_TMP
	while :; do
		if ! chk_invariants; then
			printf '%s\n' "${CHK_DIFF[@]}" | sed "s/^/[check $n] /" >>"$E2E_TMP/monitor"
		fi
		n=$((n + 1))
		printf '%s\n' "$n" >"$E2E_TMP/monitor.count"
		sleep 1
	done
}

# After every phase: the monitor saw nothing, removed networks stayed removed.
soak_after_phase() {
	if [ -s "$E2E_TMP/monitor" ]; then
		sed 's/^/  /' "$E2E_TMP/monitor" | head -n 20
		e2e_notok "invariants broken while the monitor watched ($SOAK_PHASE)"
	fi
	e2e_check "$SOAK_PHASE: no removed network came back (${#E2E_REMOVED[@]} removed so far)" e2e_none_came_back
	[ "$E2E_FAIL" = 0 ] || soak_failed
}

# netlife: a network's whole life while the others churn on.
soak_netlife() {
	local seed=$1 tag=$2 h creator n id i k conns=() c out ok_all=1
	RANDOM=$seed
	creator=h$((RANDOM % SIM_N + 1))
	n=life$tag
	e2e_note "netlife: $n created on $creator (seed $seed)"
	sim_ovg "$creator" network create --attachable "$n" >/dev/null &&
		sim_wait_until 15 e2e_all_have_net "$n"
	e2e_check "netlife: $n created on $creator is known everywhere" test $? = 0 || return 1
	id=$(e2e_net_id "$creator" "$n")
	k=$((RANDOM % 4 + 1))
	for ((i = 0; i < k; i++)); do
		h=h$((RANDOM % SIM_N + 1))
		c=c${h#h}x$((RANDOM % E2E_K + 1))
		[[ " ${conns[*]} " == *" $h:$c "* ]] && continue
		if out=$(e2e_connect "$h" "$c" "$id" 2>&1); then
			conns+=("$h:$c")
		else
			ok_all=0
			e2e_note "netlife: connect $c on $h: $out"
		fi
	done
	e2e_check "netlife: ${#conns[@]} containers connected to $n" test "$ok_all" = 1
	e2e_verify "netlife ($n in use)"
	h=h$((RANDOM % SIM_N + 1))
	if out=$(sim_ovg "$h" network rm "$id" 2>&1); then
		e2e_notok "netlife: rm of $n with endpoints succeeded on $h"
		E2E_REMOVED+=("$id")
		return 1
	fi
	e2e_check "netlife: rm of $n in use is refused on $h ($out)" grep -q '^ovgossipd: ' <<<"$out"
	e2e_check "netlife: the refused rm changed nothing" e2e_all_have_net "$n"
	for c in "${conns[@]}"; do
		sim_ovg "${c%%:*}" network disconnect "$id" "$SIM_PREFIX-${c#*:}" >/dev/null || ok_all=0
	done
	e2e_check "netlife: all disconnected from $n" test "$ok_all" = 1
	# the removal must wait until every agent knows the disconnects
	if ! sim_wait_until 20 eval 'out=$(sim_ovg "$h" network rm "$id" 2>&1)'; then
		e2e_notok "netlife: rm of $n on $h after the disconnects: $out"
		return 1
	fi
	E2E_REMOVED+=("$id")
	e2e_ok "netlife: $n removed on $h"
	e2e_verify "netlife ($n removed)"
	e2e_check "netlife: $n gone everywhere" sim_wait_until 15 eval '! e2e_all_have_net_anywhere "$n"'
}
e2e_all_have_net_anywhere() {
	local h
	for h in $(sim_running_hosts); do e2e_has_net "$h" "$1" && return 0; done
	return 1
}

soak_main() {
	local deadline n pick ps hosts=() h k
	e2e_setup soak_e2e
	trap soak_cleanup EXIT
	n=$((4 + RANDOM % 3))
	e2e_note "soak: $SOAK_SECONDS s, $n hosts, phases: $SOAK_PHASES, SEED=$SEED"
	e2e_cluster "${E2E_TAG}s" "$n" || soak_failed
	e2e_verify "cluster of $n set up"
	[ "$E2E_FAIL" = 0 ] || soak_failed
	: >"$E2E_TMP/monitor"
	soak_monitor &
	SOAK_MON=$!
	deadline=$((E2E_T0 + SOAK_SECONDS * 1000))
	while [ "$(sim_now_ms)" -lt "$deadline" ]; do
		SOAK_ITER=$((SOAK_ITER + 1))
		ps=$RANDOM
		SOAK_PSEED=$ps
		pick=$((RANDOM % 10))
		case $pick in 0 | 1 | 2) SOAK_PHASE=churn ;; 3 | 4) SOAK_PHASE=restart ;; 5 | 6) SOAK_PHASE=loss ;;
		7) SOAK_PHASE=partition ;; *) SOAK_PHASE=netlife ;; esac
		if [[ " $SOAK_PHASES " != *" $SOAK_PHASE "* ]]; then
			SOAK_ITER=$((SOAK_ITER - 1))
			continue
		fi
		case $pick in
		0 | 1 | 2)
			SOAK_PHASE=churn
			e2e_phase_churn "$ps" $((5 + RANDOM % 16))
			;;
		3 | 4)
			SOAK_PHASE=restart
			e2e_phase_restart "$ps"
			;;
		5 | 6)
			SOAK_PHASE=loss
			hosts=()
			for h in $(sim_hosts); do ((RANDOM % 2)) && hosts+=("$h"); done
			[ "${#hosts[@]}" -gt 0 ] || hosts=(h$((RANDOM % SIM_N + 1)))
			e2e_phase_loss "$ps" $((5 + RANDOM % 8)) $((5 + RANDOM % 11)) "${hosts[@]}"
			;;
		7)
			SOAK_PHASE=partition
			k=$((1 + RANDOM % (SIM_N - 1)))
			hosts=()
			while [ "${#hosts[@]}" -lt "$k" ]; do
				h=h$((RANDOM % SIM_N + 1))
				[[ " ${hosts[*]} " == *" $h "* ]] || hosts+=("$h")
			done
			e2e_phase_partition "$ps" "$SOAK_ITER" "${hosts[@]}"
			;;
		*)
			SOAK_PHASE=netlife
			soak_netlife "$ps" "$SOAK_ITER"
			;;
		esac
		soak_after_phase
		e2e_note "soak: iteration $SOAK_ITER ($SOAK_PHASE) done, $E2E_PASS checks passed," \
			"monitor ran $(cat "$E2E_TMP/monitor.count" 2>/dev/null || echo 0) times"
	done
	echo "soak: $SOAK_ITER iterations in $((($(sim_now_ms) - E2E_T0) / 1000)) s, $E2E_PASS passed, $E2E_FAIL failed (SEED=$SEED)"
	[ "$E2E_FAIL" = 0 ]
}

soak_main "$@"
