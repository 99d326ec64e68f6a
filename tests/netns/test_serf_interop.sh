#!/usr/bin/env bash
# Interoperability with the real serf agent (Debian's serf, memberlist protocol 5),
# encrypted with a shared key and unencrypted:
#   - ovgossipd joins a serf cluster; a serf agent joins an ovgossipd cluster;
#   - `serf members` shows ovgossipd nodes alive, `ovgossipd members` shows serf nodes;
#   - a killed node of either kind is seen failed by the other kind;
#   - a graceful leave of either kind is seen as left by the other.
set -uo pipefail
REPO=$(cd "$(dirname "$0")/../.." && pwd)
# shellcheck source=../../simulations/lib.sh
. "$REPO/simulations/lib.sh"
command -v serf >/dev/null || { echo "serf not installed (make deps)"; exit 1; }

ok() { echo "ok - $*"; }
WORK=
fail() {
	echo "FAIL: $*" >&2
	for f in "$WORK"/*.log; do [ -f "$f" ] && { echo "--- $f"; tail -n 15 "$f"; } >&2; done
	exit 1
}

ns() { printf '%s/%s-%s' "$SIM_NETNS_DIR" "$SIM_PREFIX" "$1"; }
addr() { printf '%s.%s' "$SIM_NET" "${1#h}"; }

ovg_start() { # HOST [JOIN]
	local h=$1 join=${2:-} args
	args=(agent --name "ovg-$h" --bind "$(addr "$h"):7946" --state-dir "$WORK/$h/state"
		--run-dir "$WORK/$h/run" --socket "$WORK/$h.sock" --log-level debug)
	if [ "$MODE" = enc ]; then args+=(--key-file "$WORK/key"); else args+=(--insecure); fi
	[ -n "$join" ] && args+=(--join "$join:7946")
	mkdir -p "$WORK/$h"
	nsenter --net="$(ns "$h")" "$OVGOSSIPD" "${args[@]}" </dev/null >>"$WORK/ovg-$h.log" 2>&1 &
	echo $! >"$WORK/ovg-$h.pid"
	sim_wait_until 5 test -S "$WORK/$h.sock" || fail "ovgossipd on $h did not start"
}
ovg() { local h=$1; shift; OVGOSSIPD_SOCKET=$WORK/$h.sock nsenter --net="$(ns "$h")" "$OVGOSSIPD" "$@"; }
serf_start() { # HOST [JOIN]
	local h=$1 join=${2:-} args
	args=(agent -node="serf-$h" -bind="$(addr "$h"):7946" -rpc-addr=127.0.0.1:7373 -log-level=debug)
	[ "$MODE" = enc ] && args+=(-encrypt="$(cat "$WORK/key")")
	[ -n "$join" ] && args+=(-join="$join:7946")
	nsenter --net="$(ns "$h")" serf "${args[@]}" </dev/null >>"$WORK/serf-$h.log" 2>&1 &
	echo $! >"$WORK/serf-$h.pid"
	sim_wait_until 10 serf_cmd "$h" members || fail "serf on $h did not start"
}
serf_cmd() { local h=$1; shift; nsenter --net="$(ns "$h")" serf "$@" -rpc-addr=127.0.0.1:7373 >/dev/null 2>&1; }
serf_status() { # HOST NAME
	nsenter --net="$(ns "$1")" serf members -rpc-addr=127.0.0.1:7373 -format=json 2>/dev/null |
		jq -r --arg n "$2" '.members[] | select(.name == $n) | .status'
}
ovg_status() { # HOST NAME
	ovg "$1" members --format json 2>/dev/null | jq -r --arg n "$2" '.[] | select(.name == $n) | .status'
}
serf_sees() { [ "$(serf_status "$1" "$2")" = "$3" ]; }
ovg_sees() { [ "$(ovg_status "$1" "$2")" = "$3" ]; }
killpid() { [ -f "$WORK/$1.pid" ] && kill -9 "$(cat "$WORK/$1.pid")" 2>/dev/null; rm -f "$WORK/$1.pid"; }

cleanup() {
	for p in "$WORK"/*.pid; do [ -f "$p" ] && kill -9 "$(cat "$p")" 2>/dev/null; done
	sim_down >/dev/null 2>&1
	[ -n "$WORK" ] && rm -rf "$WORK"
}

run_mode() {
	MODE=$1
	sim_use "serf$$$MODE" || exit 1
	sim_up 4 --no-agents >/dev/null || fail "namespaces"
	WORK=$(mktemp -d /tmp/ovg-serf.XXXXXX)
	"$OVGOSSIPD" keygen >"$WORK/key"

	# ovgossipd joins a serf cluster
	serf_start h3
	ovg_start h1 "$(addr h3)"
	sim_wait_until 15 serf_sees h3 ovg-h1 alive || fail "[$MODE] serf does not see ovg-h1 alive"
	sim_wait_until 15 ovg_sees h1 serf-h3 alive || fail "[$MODE] ovgossipd does not see serf-h3 alive"
	ok "[$MODE] ovgossipd joins a serf cluster: each side sees the other alive"

	# a serf agent joins an ovgossipd cluster (through an ovgossipd node)
	ovg_start h2 "$(addr h1)"
	serf_start h4 "$(addr h2)"
	for who in ovg-h1 ovg-h2 serf-h3; do
		sim_wait_until 15 serf_sees h4 "$who" alive || fail "[$MODE] serf-h4 does not see $who alive"
	done
	for who in serf-h3 serf-h4 ovg-h1; do
		sim_wait_until 15 ovg_sees h2 "$who" alive || fail "[$MODE] ovg-h2 does not see $who alive"
	done
	ok "[$MODE] serf joins via an ovgossipd node: 4 members alive in both views"

	# failures of either kind
	killpid serf-h4
	sim_wait_until 20 ovg_sees h1 serf-h4 dead || fail "[$MODE] ovgossipd did not see killed serf-h4 fail"
	killpid ovg-h2
	sim_wait_until 30 serf_sees h3 ovg-h2 failed || fail "[$MODE] serf did not see killed ovg-h2 fail"
	ok "[$MODE] kill -9: ovgossipd sees serf fail (dead), serf sees ovgossipd fail (failed)"

	# graceful leaves of either kind
	serf_cmd h3 leave
	sim_wait_until 15 ovg_sees h1 serf-h3 left || fail "[$MODE] ovgossipd did not see serf-h3 leave"
	serf_start h4 "$(addr h1)"
	sim_wait_until 15 serf_sees h4 ovg-h1 alive || fail "[$MODE] serf-h4 did not rejoin"
	sim_wait_until 15 ovg_sees h1 serf-h4 alive || fail "[$MODE] ovgossipd does not see the restarted serf-h4"
	ovg h1 leave >/dev/null || fail "[$MODE] ovgossipd leave"
	sim_wait_until 15 serf_sees h4 ovg-h1 left || fail "[$MODE] serf did not see ovg-h1 leave"
	ok "[$MODE] graceful leave: each kind sees the other as left"

	cleanup
	WORK=
}

trap cleanup EXIT INT TERM
run_mode enc
run_mode plain
echo "serf interop: all passed"
