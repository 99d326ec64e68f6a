#!/usr/bin/env bash
# Membership end to end: 5 agents in 5 namespaces joined through one; convergence;
# kill -9 and failure detection; restart with a higher incarnation; graceful leave;
# an agent with the wrong key cannot join.
set -uo pipefail
REPO=$(cd "$(dirname "$0")/../.." && pwd)
# shellcheck source=../../simulations/lib.sh
. "$REPO/simulations/lib.sh"

fail() { echo "FAIL: $*" >&2; for h in h1 h2 h3 h4 h5; do sim_log_tail "$h" 2>/dev/null; done; exit 1; }
ok() { echo "ok - $*"; }

sim_use "mem$$" || exit 1
trap 'sim_down >/dev/null 2>&1' EXIT INT TERM

sim_up 5 >/dev/null || fail "cluster up"
sim_wait_converged 20 || fail "5 members did not converge"
ok "5 agents joined through h1 converge (everyone sees 5 alive)"

status_of() { # HOST NAME -> status
	sim_ovg "$1" members --format json 2>/dev/null | jq -r --arg n "$2" '.[] | select(.name == $n) | .status'
}
incarnation_of() {
	sim_ovg "$1" members --format json 2>/dev/null | jq -r --arg n "$2" '.[] | select(.name == $n) | .incarnation'
}
all_see() { # STATUS NAME HOSTS...
	local want=$1 name=$2 h
	shift 2
	for h in "$@"; do [ "$(status_of "$h" "$name")" = "$want" ] || return 1; done
}

inc_before=$(incarnation_of h1 h3)
t0=$(sim_now_ms)
sim_agent_kill h3 >/dev/null || fail "kill h3"
sim_wait_until 10 all_see dead h3 h1 h2 h4 h5 || fail "h3 not marked dead everywhere within 10 s"
t1=$(sim_now_ms)
ok "kill -9 h3: all survivors mark it dead after $((t1 - t0)) ms"

sim_agent_start h3 >/dev/null || fail "restart h3"
sim_wait_until 10 all_see alive h3 h1 h2 h4 h5 || fail "h3 not alive again everywhere"
inc_after=$(incarnation_of h1 h3)
[ "$inc_after" -gt "$inc_before" ] || fail "incarnation did not grow: $inc_before -> $inc_after"
ok "restarted h3 is alive again with incarnation $inc_before -> $inc_after"

out=$(sim_ovg h5 leave 2>&1) || fail "leave: $out"
sim_wait_until 10 all_see left h5 h1 h2 h3 h4 || fail "h5 not shown as left everywhere"
sim_wait_until 5 sim_pid_gone "$(cat "$(sim_hostdir h5)/agent.pid")" "$SIM_PREFIX-h5" || fail "h5 agent did not exit after leave"
ok "graceful leave of h5 is seen as left (not failed) everywhere and the agent exits"

# Wrong key: h4 restarts with another key and an empty state dir, then tries to join h1.
sim_agent_stop h4 >/dev/null 2>&1 || sim_agent_kill h4 >/dev/null
dir=$(sim_hostdir h4)
"$OVGOSSIPD" keygen >"$dir/otherkey"
rm -rf "$dir/state" && mkdir -p "$dir/state"
nsenter --net="$SIM_NETNS_DIR/$SIM_PREFIX-h4" "$OVGOSSIPD" agent --name h4x --bind "$SIM_NET.4:7946" \
	--key-file "$dir/otherkey" --state-dir "$dir/state" --run-dir "$dir/run" --socket "$dir/x.sock" \
	</dev/null >>"$dir/agentx.log" 2>&1 &
xpid=$!
trap 'kill $xpid 2>/dev/null; sim_down >/dev/null 2>&1' EXIT INT TERM
sim_wait_until 5 test -S "$dir/x.sock" || fail "wrong-key agent did not start"
if out=$(OVGOSSIPD_SOCKET=$dir/x.sock nsenter --net="$SIM_NETNS_DIR/$SIM_PREFIX-h4" "$OVGOSSIPD" join "$SIM_NET.1:7946" 2>&1); then
	fail "join with the wrong key succeeded: $out"
fi
echo "$out" | grep -q "^ovgossipd: failed to join $SIM_NET.1:7946" || fail "unclear join error: $out"
sim_wait_until 5 grep -q "rejected gossip from $SIM_NET.4.*wrong encryption key" "$(sim_hostdir h1)/agent.log" ||
	fail "no log line on h1 about the wrong key"
[ "$(status_of h1 h4x)" = "" ] || fail "h4x appears in h1's members"
ok "agent with the wrong key cannot join: '$out'; h1 logs the rejection"
kill $xpid 2>/dev/null
echo "membership: all passed"
