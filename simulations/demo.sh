#!/usr/bin/env bash
# demo.sh (`make demo`): the story of Docker's overlay networking tutorials, told with
# ovgossipd on two hosts simulated in network namespaces:
#   two hosts gossiping; an attachable overlay network; a container on each host pinging
#   the other; the VXLAN packets on the underlay; a second network isolated from the first;
#   a container on both networks; what the kernel holds (network inspect, the sandbox's
#   bridge fdb and ip neigh). Everything is removed at the end, also on failure.
set -uo pipefail

REPO=$(cd "$(dirname "$(readlink -f "$0")")/.." && pwd)
export OVGOSSIPD=${OVGOSSIPD:-$REPO/ovgossipd}
# shellcheck source=simulations/lib.sh
. "$REPO/simulations/lib.sh"

NAME=demo$$
export OVG_SIM_NAME=$NAME
TCPDUMP_OUT=
TCPDUMP_PID=
T0=$(sim_now_ms)

if [ -t 1 ]; then
	B=$'\033[1m' D=$'\033[2m' P=$'\033[36m' R=$'\033[31m' N=$'\033[0m'
else
	B='' D='' P='' R='' N=''
fi

header() { printf '\n%s== %s%s\n' "$B" "$*" "$N"; }
say() { printf '%s%s%s\n' "$D" "$*" "$N"; }
die() {
	printf '%sdemo: %s%s\n' "$R" "$*" "$N" >&2
	exit 1
}
# show WHERE CMD...: print the command as typed at WHERE's prompt
show() {
	local where=$1
	shift
	printf '%s%s$%s %s\n' "$P" "$where" "$N" "$*"
}

# run WHERE CMD...: show and run CMD in a host's or container's namespace
run() {
	local where=$1
	shift
	show "$where" "$*"
	sim_exec "$where" "$@" || die "'$*' failed on $where"
}
# ovg HOST ARGS...: show and run an ovgossipd command on HOST (talks to HOST's agent)
ovg() {
	local h=$1
	shift
	show "$h" "ovgossipd $*"
	sim_ovg "$h" "$@" || die "'ovgossipd $*' failed on $h (agent log: $(sim_hostdir "$h")/agent.log)"
}
# cluster ARGS...: show and run the simulation tool itself
cluster() {
	show "" "simulations/cluster $*"
	"$REPO/simulations/cluster" "$@" || die "'simulations/cluster $*' failed"
}

cleanup() {
	local rc=$?
	trap - EXIT INT TERM
	if [ -n "$TCPDUMP_PID" ]; then
		kill "$TCPDUMP_PID" 2>/dev/null
		wait "$TCPDUMP_PID" 2>/dev/null
	fi
	[ -n "$TCPDUMP_OUT" ] && rm -f "$TCPDUMP_OUT"
	if [ -d "$OVG_SIM_ROOT/$NAME" ]; then
		if [ "$rc" != 0 ]; then
			say "(failed: agent logs were in $OVG_SIM_ROOT/$NAME/hosts/*/agent.log)"
			for f in "$OVG_SIM_ROOT/$NAME"/hosts/*/agent.log; do
				[ -f "$f" ] || continue
				printf '%s--- %s (last lines)%s\n' "$D" "$f" "$N" >&2
				tail -n 8 "$f" >&2
			done
		fi
		"$REPO/simulations/cluster" --name "$NAME" down >/dev/null ||
			echo "demo: cleanup failed; run: simulations/cluster --name $NAME down" >&2
	fi
	exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# ---- preconditions -------------------------------------------------------------------
[ "$(id -u)" = 0 ] || die "run as root (network namespaces)"
[ -x "$OVGOSSIPD" ] || die "no ovgossipd binary at $OVGOSSIPD (run make)"
sim_agent_supported || die "$OVGOSSIPD has no agent command yet: the demo needs the daemon"
if ! command -v ping >/dev/null; then
	say "installing iputils-ping"
	DEBIAN_FRONTEND=noninteractive apt-get install -y -qq iputils-ping >/dev/null 2>&1 ||
		die "ping is missing (apt-get install iputils-ping)"
fi
for c in ip bridge nsenter tcpdump jq iptables; do
	command -v "$c" >/dev/null || die "$c is missing (make deps)"
done

# endpoint_ip NETWORK ENDPOINT [HOST]: the endpoint's address, as HOST's agent knows it
endpoint_ip() {
	sim_ovg "${3:-h1}" network inspect "$1" 2>/dev/null |
		jq -r --arg n "$2" '.endpoints[]? | select(.name == $n) | .ip' 2>/dev/null |
		head -n 1 | sed 's,/.*,,'
}
has_endpoint() { [ -n "$(endpoint_ip "$1" "$2" "$3")" ]; }
has_network() { sim_ovg "$1" network ls --format json 2>/dev/null | jq -e --arg n "$2" 'any(.[]; .name == $n)' >/dev/null 2>&1; }
# await SECONDS WHAT CMD...: bounded wait for something gossip carries, narrated
await() {
	local secs=$1 what=$2
	shift 2
	sim_wait_until "$secs" "$@" || die "$what did not happen within ${secs}s"
}
exited() { ! kill -0 "$1" 2>/dev/null; }
# container HOST NAME: show and run `simulations/cluster container`; sets CONTAINER_NS
CONTAINER_NS=
container() {
	show "" "simulations/cluster container $1 $2    # a container on $1"
	CONTAINER_NS=$(sim_container "$1" "$2") || die "cannot create container $2"
	printf '%s\n' "$CONTAINER_NS"
}
# ping_fails WHERE ADDR: two pings from WHERE to ADDR all go unanswered (shown)
ping_fails() {
	show "$1" "ping -c 2 -W 1 $2"
	if sim_exec "$1" ping -n -c 2 -W 1 "$2"; then
		die "$1 reached $2, but the networks should be isolated"
	fi
	say "(no reply, as expected)"
}

# ---- the story -------------------------------------------------------------------------
header "Two hosts on one underlay, each running ovgossipd"
say "Two network namespaces stand in for two machines on a LAN (192.168.77.0/24). Each runs"
say "'ovgossipd agent' with the same gossip key; h2's agent joined h1's."
cluster --name "$NAME" up 2
sim_use "$NAME" || die "cannot load cluster $NAME"
ovg h1 members

header "An attachable overlay network, created on h1, known on h2"
ovg h1 network create --attachable ov_net1
await 10 "ov_net1 reaching h2" has_network h2 ov_net1
ovg h2 network ls

header "A container on each host, connected to ov_net1"
say "A container here is a network namespace; the agent moves a veth end into it."
container h1 c1
ovg h1 network connect --name c1 ov_net1 "$CONTAINER_NS"
container h2 c2
ovg h2 network connect --name c2 ov_net1 "$CONTAINER_NS"
run c1 ip -br addr show
await 10 "c2's endpoint reaching h1" has_endpoint ov_net1 c2 h1
ip1=$(endpoint_ip ov_net1 c1 h1)
ip2=$(endpoint_ip ov_net1 c2 h1)
{ [ -n "$ip1" ] && [ -n "$ip2" ]; } || die "network inspect shows no addresses for c1 and c2"

header "c1 (on h1) pings c2 (on h2) across the overlay"
run c1 ping -n -c 3 "$ip2"

header "What the underlay carries: ICMP inside VXLAN (UDP 4789) between the hosts"
TCPDUMP_OUT=$(mktemp "/tmp/ovg-demo-tcpdump.XXXXXX")
show h1 "tcpdump -n -l -i eth0 -c 4 udp port 4789 &"
# nsenter execs timeout, so $! is the process to stop; timeout passes the signal on.
nsenter --net="$SIM_NETNS_DIR/$(sim_netns h1)" -- \
	timeout 15 tcpdump -n -l -i eth0 -c 4 udp port 4789 >"$TCPDUMP_OUT" 2>&1 &
TCPDUMP_PID=$!
await 5 "tcpdump starting" grep -q "listening on" "$TCPDUMP_OUT"
run c1 ping -n -c 2 "$ip2"
await 15 "tcpdump finishing" exited "$TCPDUMP_PID"
wait "$TCPDUMP_PID" 2>/dev/null
TCPDUMP_PID=
grep -v -e "listening on" -e "verbose output suppressed" -e "packets captured" \
	-e "packets received by filter" -e "packets dropped by kernel" "$TCPDUMP_OUT"
grep -q "VXLAN" "$TCPDUMP_OUT" || die "tcpdump saw no VXLAN packets"
vni=$(sim_ovg h1 network inspect ov_net1 | jq -r .vni)
say "Outer header: host to host, UDP port 4789, VNI $vni (ov_net1); inner: the containers' ICMP."

header "A second network, ov_net2, isolated from ov_net1"
ovg h2 network create --attachable ov_net2
await 10 "ov_net2 reaching h1" has_network h1 ov_net2
container h1 c3
ns3=$CONTAINER_NS
ovg h1 network connect --name c3 ov_net2 "$ns3"
container h2 c4
ovg h2 network connect --name c4 ov_net2 "$CONTAINER_NS"
await 10 "c4's endpoint reaching h1" has_endpoint ov_net2 c4 h1
ip4=$(endpoint_ip ov_net2 c4 h1)
run c3 ping -n -c 2 "$ip4"
say "c3 and c4 talk on ov_net2; neither reaches ov_net1's containers:"
ping_fails c3 "$ip1"
ping_fails c3 "$ip2"
ping_fails c4 "$ip1"

header "Connect c3 to ov_net1 as well: now it reaches ov_net1's containers"
ovg h1 network connect --name c3 ov_net1 "$ns3"
run c3 ip -br addr show
await 10 "c3's ov_net1 endpoint reaching h2" has_endpoint ov_net1 c3 h2
run c3 ping -n -c 2 "$ip1"
run c3 ping -n -c 2 "$ip2"

header "What h1 holds for ov_net1"
show h1 "ovgossipd network inspect ov_net1"
sim_ovg h1 network inspect ov_net1 | jq . || die "network inspect failed"
sandbox=$(sim_ovg h1 network inspect ov_net1 | jq -r '.sandbox // empty')
{ [ -n "$sandbox" ] && [ -e "$sandbox" ]; } || die "network inspect shows no sandbox path on h1"
say "The sandbox namespace holds br0 and vxlan0; every remote endpoint has a permanent FDB"
say "entry (its MAC -> its host's underlay address) and a permanent neighbor (IP -> MAC)."
show h1 "nsenter --net=$sandbox ip -d link show vxlan0 | head -n 3"
sim_exec h1 nsenter --net="$sandbox" ip -d link show vxlan0 | head -n 3
run h1 nsenter --net="$sandbox" bridge fdb show dev vxlan0
run h1 nsenter --net="$sandbox" ip neigh show dev vxlan0

header "Cleanup"
cluster --name "$NAME" down
T1=$(sim_now_ms)
say "demo finished in $(((T1 - T0) / 1000)).$(((T1 - T0) % 1000 / 100)) s"
