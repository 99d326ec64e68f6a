#!/usr/bin/env bash
# Namespace test of simulations/cluster (and simulations/lib.sh), as root.
#  1. the underlay without agents (up --no-agents): namespaces, addresses, pings over the
#     switch, containers, partition/heal and loss measured with bounded ping counts, down
#     leaving nothing behind;
#  2. agent handling against a fake ovgossipd (a script): the agent command line, joins,
#     shared key, kill/start/restart, a failing agent and a cluster that never converges,
#     and down after each;
#  3. when $OVGOSSIPD has the agent command: up 3 with real agents, members converge, a
#     killed agent is noticed and a restarted one rejoins.
set -uo pipefail

HERE=$(cd "$(dirname "$0")" && pwd)
REPO=$(cd "$HERE/../.." && pwd)
CLUSTER=$REPO/simulations/cluster
REAL_OVGOSSIPD=${OVGOSSIPD:-$REPO/ovgossipd}
TAG=tct$$
TMP=$(mktemp -d "/tmp/$TAG.XXXXXX")
NAMES=()
pass=0 fail=0

if [ "$(id -u)" != 0 ]; then
	echo "test_cluster_tool: needs root, skipped"
	exit 0
fi
if ! command -v ping >/dev/null; then
	# The Makefile's deps list should carry it; install it here rather than fail.
	echo "test_cluster_tool: ping missing, installing iputils-ping"
	DEBIAN_FRONTEND=noninteractive apt-get install -y -qq iputils-ping >/dev/null 2>&1 ||
		{ apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq iputils-ping >/dev/null; }
fi

cleanup() {
	local n
	for n in "${NAMES[@]}"; do
		OVGOSSIPD=$REAL_OVGOSSIPD "$CLUSTER" --name "$n" down >/dev/null 2>&1
	done
	rm -rf "$TMP"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

ok() { pass=$((pass + 1)); echo "  ok   $*"; }
bad() { fail=$((fail + 1)); echo "  FAIL $*"; }
check() { # check DESCRIPTION CMD...
	local d=$1
	shift
	if "$@"; then
		ok "$d"
	else
		bad "$d"
		return 1
	fi
}

# A cluster name registered for cleanup.
new_name() { NAMES+=("$TAG$1"); printf '%s%s\n' "$TAG" "$1"; }

# shellcheck source=simulations/lib.sh
. "$REPO/simulations/lib.sh"

no_ns_with_prefix() { ! ip netns list | awk '{ print $1 }' | grep -q "^$1-"; }
root_ipt_clean() { ! iptables-save 2>/dev/null | grep -q OVGSIM; }
pings_ok() { [ "$(sim_ping_count "$1" "$2" 1 0.2)" = 1 ]; }
hosts_ipt_clean() {
	local h
	for h in "$@"; do
		sim_exec "$h" iptables -S | grep -q OVGSIM && return 1
	done
	return 0
}
quiet() { "$@" >/dev/null; }
has_pids() { [ -n "$(ip netns pids "$1")" ]; }
# contains TEXT REGEX: some line of TEXT matches REGEX
contains() { grep -q -- "$2" <<<"$1"; }
# gone PID: no such process any more (or a zombie nobody reaped)
gone() { ! kill -0 "$1" 2>/dev/null || grep -q '^State:.*Z' "/proc/$1/status" 2>/dev/null; }
all_gone() {
	local p
	for p in "$@"; do gone "$p" || return 1; done
	return 0
}
# cluster_gone PREFIX WORKDIR: no namespace with the prefix, no work dir
cluster_gone() { no_ns_with_prefix "$1" && [ ! -e "$2" ]; }
root_ipt_was_clean=0
root_ipt_clean && root_ipt_was_clean=1

# ---- 1. underlay only --------------------------------------------------------------
echo "== underlay (up --no-agents)"
C1=$(new_name u)
out=$("$CLUSTER" --name "$C1" up 3 --no-agents 2>&1)
check "up 3 --no-agents succeeds" test $? = 0
sim_use "$C1"
P=$SIM_PREFIX
check "cluster.env records 3 hosts and a prefix" test "$SIM_N" = 3 -a -n "$P"
for ns in sw h1 h2 h3; do
	check "namespace $P-$ns exists" sim_ns_exists "$P-$ns"
done
check "switch bridge br0 has three ports" \
	test "$(ip -n "$P-sw" -o link show master br0 | wc -l)" = 3
for i in 1 2 3; do
	check "h$i has 192.168.77.$i/24 on eth0" \
		bash -c "ip -n $P-h$i -o -4 addr show dev eth0 | grep -q ' 192.168.77.$i/24 '"
	check "h$i loopback is up" bash -c "ip -n $P-h$i link show lo | grep -q LOWER_UP"
done
# what the underlay looked like, when a ping over it failed
diag() {
	local h
	echo "  -- diagnostics (load: $(cut -d' ' -f1-3 /proc/loadavg))"
	for h in h1 h2 h3; do
		echo "  $h: $(sim_exec "$h" ip -br link show eth0) / neigh: $(sim_exec "$h" ip neigh show dev eth0 | tr '\n' ';')"
	done
	ip -n "$P-sw" -br link show master br0 | sed 's/^/  sw: /'
	sim_exec h1 ping -n -c 2 -W 1 192.168.77.2 2>&1 | sed 's/^/  h1: /'
}
check "h1 pings h2 over the switch" sim_wait_until 10 pings_ok h1 192.168.77.2 || diag
check "h3 pings h1 over the switch" sim_wait_until 10 pings_ok h3 192.168.77.1 || diag
check "h2 pings h3 over the switch" sim_wait_until 10 pings_ok h2 192.168.77.3 || diag
out=$("$CLUSTER" --name "$C1" up 3 --no-agents 2>&1)
check "up again on an existing cluster succeeds" test $? = 0
check "up again on an existing cluster says so" contains "$out" "already up"
"$CLUSTER" --name "$C1" up 4 --no-agents >/dev/null 2>&1
check "up with another size on an existing cluster is refused" test $? != 0
check "addr prints the underlay address" test "$("$CLUSTER" --name "$C1" addr h2)" = 192.168.77.2
check "exec runs in the host namespace" \
	contains "$("$CLUSTER" --name "$C1" exec h2 ip -o -4 addr show dev eth0)" " 192.168.77.2/24 "
"$CLUSTER" --name "$C1" exec h9 true 2>/dev/null
check "exec on an unknown host fails" test $? != 0

# containers
cname=$("$CLUSTER" --name "$C1" container h1 c1)
check "container prints its netns name" test "$cname" = "$P-c1"
check "container namespace exists under /run/netns" test -e "/run/netns/$P-c1"
check "container loopback is up and it has no other link" \
	test "$(sim_exec c1 ip -o link show | awk -F': ' '{ print $2 }' | tr '\n' ' ')" = "lo "
check "netns resolves a container name" test "$("$CLUSTER" --name "$C1" netns c1)" = "$P-c1"
"$CLUSTER" --name "$C1" container h2 c1 >/dev/null 2>&1
check "a second container with the same name is refused" test $? != 0
"$CLUSTER" --name "$C1" container h1 h2 >/dev/null 2>&1
check "a container named like a host is refused" test $? != 0
"$CLUSTER" --name "$C1" container h7 c7 >/dev/null 2>&1
check "a container on an unknown host is refused" test $? != 0
"$CLUSTER" --name "$C1" container h2 c2 >/dev/null
"$CLUSTER" --name "$C1" container-rm c2
check "container-rm deletes the namespace" test ! -e "/run/netns/$P-c2"
"$CLUSTER" --name "$C1" kill h1 >/dev/null 2>&1
check "kill without an agent fails" test $? != 0
status=$("$CLUSTER" --name "$C1" status)
check "status lists hosts with addresses and namespaces" contains "$status" "^h3 *192.168.77.3 *$P-h3 "
check "status lists containers and their hosts" contains "$status" "^c1 .*container on h1"

# partition and heal, measured with bounded ping counts
"$CLUSTER" --name "$C1" partition h1 >/dev/null
check "partition h1: h1 -> h2 gets 0 of 5 replies" test "$(sim_ping_count h1 192.168.77.2 5 0.05)" = 0
check "partition h1: h3 -> h1 gets 0 of 5 replies" test "$(sim_ping_count h3 192.168.77.1 5 0.05)" = 0
check "partition h1: h2 -> h3 still gets 5 of 5" test "$(sim_ping_count h2 192.168.77.3 5 0.05)" = 5
"$CLUSTER" --name "$C1" partition h1 h1 >/dev/null
check "partitioning again adds no duplicate rules" \
	test "$(sim_exec h1 iptables -S OVGSIM-PART | grep -c -- '-j DROP')" = 4
"$CLUSTER" --name "$C1" partition h1 h2 h3 >/dev/null 2>&1
check "partitioning every host from nobody is refused" test $? != 0
"$CLUSTER" --name "$C1" heal >/dev/null
check "heal: h1 -> h2 gets 5 of 5" test "$(sim_ping_count h1 192.168.77.2 5 0.05)" = 5
check "heal: h3 -> h1 gets 5 of 5" test "$(sim_ping_count h3 192.168.77.1 5 0.05)" = 5
check "heal leaves no rules in h1, h2, h3" hosts_ipt_clean h1 h2 h3
"$CLUSTER" --name "$C1" partition h1 h2 >/dev/null
check "partition h1 h2: h1 -> h2 gets 5 of 5" test "$(sim_ping_count h1 192.168.77.2 5 0.05)" = 5
check "partition h1 h2: h2 -> h3 gets 0 of 5" test "$(sim_ping_count h2 192.168.77.3 5 0.05)" = 0
"$CLUSTER" --name "$C1" heal >/dev/null

# loss: 50% on h2's input; 400 requests, replies unaffected: expect ~200 (sd 10)
"$CLUSTER" --name "$C1" loss h2 50 >/dev/null
got=$(sim_ping_count h1 192.168.77.2 400 0.002)
check "loss h2 50: h1 -> h2 gets 120..280 of 400 replies (got $got)" test "$got" -ge 120 -a "$got" -le 280
"$CLUSTER" --name "$C1" loss h2 100 >/dev/null
check "loss h2 100: 0 of 20 replies" test "$(sim_ping_count h1 192.168.77.2 20 0.01)" = 0
check "loss h2 100 replaces the 50% rule (one rule)" \
	test "$(sim_exec h2 iptables -S OVGSIM-LOSS | grep -c statistic)" = 1
check "loss only touches h2 (h1 -> h3 gets 20 of 20)" test "$(sim_ping_count h1 192.168.77.3 20 0.01)" = 20
"$CLUSTER" --name "$C1" loss h2 0 >/dev/null
check "loss h2 0 removes the rule" hosts_ipt_clean h2
check "loss h2 0: 200 of 200 replies" test "$(sim_ping_count h1 192.168.77.2 200 0.002)" = 200
"$CLUSTER" --name "$C1" loss h2 abc >/dev/null 2>&1
check "loss with a bad percentage is refused" test $? != 0
"$CLUSTER" --name "$C1" partition h3 >/dev/null
"$CLUSTER" --name "$C1" loss h1 10 >/dev/null
# down with rules, a container, a running process in a namespace, and a sandbox namespace
# bind-mounted under a run dir (as an agent killed with SIGKILL leaves it)
sb=$SIM_WORK/hosts/h1/run/netns
mkdir -p "$sb" && touch "$sb/0123456789ab" && unshare --net="$sb/0123456789ab" true
check "a sandbox-like namespace is mounted under h1's run dir" grep -q " $sb/0123456789ab " /proc/self/mountinfo
sim_exec c1 sleep 300 </dev/null >/dev/null 2>&1 &
bgpid=$!
sim_wait_until 5 has_pids "$P-c1"
"$CLUSTER" --name "$C1" down >/dev/null
check "down succeeds" test $? = 0
check "down leaves no namespace with the prefix" no_ns_with_prefix "$P"
check "down leaves no work dir" test ! -e "$OVG_SIM_ROOT/$C1"
check "down leaves no mounts under the work dir" test "$(grep -c " $OVG_SIM_ROOT/$C1/" /proc/self/mountinfo)" = 0
check "down ends processes inside the namespaces" sim_wait_until 5 gone "$bgpid"
wait "$bgpid" 2>/dev/null
if [ "$root_ipt_was_clean" = 1 ]; then
	check "no OVGSIM rules in the root namespace" root_ipt_clean
fi
out=$("$CLUSTER" --name "$C1" down 2>&1)
check "down when there is no cluster is no error" test $? = 0
check "down when there is no cluster says so" contains "$out" "no cluster"
"$CLUSTER" --name "$C1" status >/dev/null 2>&1
check "status of a cluster that is not up fails" test $? != 0

# ---- 2. agent handling, against a fake ovgossipd ---------------------------------
echo "== agent handling (fake ovgossipd)"
FAKE=$TMP/ovgossipd
cat >"$FAKE" <<'FAKE_EOF'
#!/usr/bin/env bash
# Fake ovgossipd: keygen, agent (checks where and how it was started, then idles) and
# members (every sibling host dir's "socket" file holds its agent's pid: alive if it runs).
sock=${OVGOSSIPD_SOCKET:-}
if [ "${1:-}" = --socket ]; then sock=$2; shift 2; fi
cmd=${1:-}
shift
case $cmd in
keygen) echo "ZmFrZS1rZXktZmFrZS1rZXktZmFrZS1rZXktZmFrZS0="; exit 0 ;;
agent)
	name= bind= key= insecure=0 state= run= sock= join=
	printf '%s\n' "$@" >"$TMPDIR_FAKE/args.$$"
	while [ $# -gt 0 ]; do
		case $1 in
		--name) name=$2; shift ;;
		--bind) bind=$2; shift ;;
		--key-file) key=$2; shift ;;
		--insecure) insecure=1 ;;
		--state-dir) state=$2; shift ;;
		--run-dir) run=$2; shift ;;
		--socket) sock=$2; shift ;;
		--join) join=$2; shift ;;
		--log-level) shift ;;
		*) echo "fake: unknown agent argument $1" >&2; exit 2 ;;
		esac
		shift
	done
	[ -n "$name" ] && [ -n "$bind" ] && [ -n "$state" ] && [ -n "$run" ] && [ -n "$sock" ] ||
		{ echo "fake: missing argument" >&2; exit 2; }
	[ -d "$state" ] && [ -d "$run" ] || { echo "fake: state/run dir missing" >&2; exit 2; }
	if [ "$insecure" = 1 ]; then
		[ -z "$key" ] || { echo "fake: both --insecure and --key-file" >&2; exit 2; }
	else
		[ -s "$key" ] || { echo "fake: no key file" >&2; exit 2; }
	fi
	# started inside its host's namespace: the bind address is on our eth0
	ip -o -4 addr show dev eth0 2>/dev/null | grep -q " ${bind%:*}/" ||
		{ echo "fake: ${bind%:*} is not an address of this namespace" >&2; exit 2; }
	if [ "${FAKE_FAIL:-}" = "$name" ]; then echo "fake: boom on $name" >&2; exit 3; fi
	cp "$TMPDIR_FAKE/args.$$" "$run/args"
	echo $$ >"$sock"
	echo "fake agent $name listening on $bind${join:+, joined $join}" >&2
	exec -a ovgossipd-fake-agent sleep 600
	;;
members)
	[ -f "$sock" ] || { echo "ovgossipd: cannot connect to $sock" >&2; exit 1; }
	[ -n "${FAKE_NEVER:-}" ] && { echo '[]'; exit 0; }
	first=1
	printf '['
	for s in "$(dirname "$sock")"/../*/"$(basename "$sock")"; do
		[ -f "$s" ] || continue
		pid=$(cat "$s")
		st=$(awk '{ print $3 }' "/proc/$pid/stat" 2>/dev/null)
		status=dead
		[ -n "$st" ] && [ "$st" != Z ] && status=alive
		n=$(basename "$(dirname "$s")")
		[ $first = 1 ] || printf ','
		first=0
		printf '{"name":"%s","addr":"x:7946","status":"%s","incarnation":1}' "$n" "$status"
	done
	printf ']\n'
	;;
help) echo "commands: agent keygen members" ;;
*) echo "ovgossipd: fake has no '$cmd'" >&2; exit 1 ;;
esac
FAKE_EOF
chmod +x "$FAKE"
export TMPDIR_FAKE=$TMP

# has_args HOST "ARG VALUE"...: the agent's argument list holds each ARG followed by VALUE
has_args() {
	local h=$1 a line
	shift
	line=" $(tr '\n' ' ' <"$SIM_WORK/hosts/$h/run/args")"
	for a in "$@"; do
		[[ $line == *" $a "* ]] || return 1
	done
	return 0
}

C2=$(new_name a)
OVGOSSIPD=$FAKE OVG_SIM_AGENT_ARGS="--log-level debug" "$CLUSTER" --name "$C2" up 3 >"$TMP/up.out" 2>&1
check "up 3 with (fake) agents succeeds" test $? = 0 || cat "$TMP/up.out"
OVGOSSIPD=$FAKE
sim_use "$C2"
P=$SIM_PREFIX
for i in 1 2 3; do
	d=$SIM_WORK/hosts/h$i
	check "h$i agent: --name h$i --bind 192.168.77.$i:7946" \
		has_args "h$i" "--name h$i" "--bind 192.168.77.$i:7946"
	check "h$i agent: per-host --state-dir, --run-dir, --socket, shared --key-file" \
		has_args "h$i" "--state-dir $d/state" "--run-dir $d/run" "--socket $d/agent.sock" "--key-file $SIM_WORK/key"
	check "h$i agent: extra OVG_SIM_AGENT_ARGS passed" has_args "h$i" "--log-level debug"
	check "h$i agent runs in its namespace" sim_agent_running "h$i"
done
check "h1 joins nobody" test "$(grep -c -- --join "$SIM_WORK/hosts/h1/run/args")" = 0
check "h2 joins h1 (192.168.77.1:7946)" has_args h2 "--join 192.168.77.1:7946"
check "h3 joins h1 (192.168.77.1:7946)" has_args h3 "--join 192.168.77.1:7946"
check "the key comes from keygen" test "$(cat "$SIM_WORK/key")" = "$("$FAKE" keygen)"
check "the key file is private (0600)" test "$(stat -c %a "$SIM_WORK/key")" = 600
check "ovg HOST talks to that host's agent (members: 3 alive)" \
	test "$("$CLUSTER" --name "$C2" ovg h2 members --format json | jq '[.[] | select(.status == "alive")] | length')" = 3
check "agent log records the start" grep -q "fake agent h2 listening" "$SIM_WORK/hosts/h2/agent.log"
status=$("$CLUSTER" --name "$C2" status)
check "status shows running agents with pids and logs" \
	contains "$status" "^h2 .*agent running, pid [0-9]*, log $SIM_WORK/hosts/h2/agent.log"
pid2=$(sim_agent_pid h2)
"$CLUSTER" --name "$C2" kill h2 >/dev/null
check "kill h2: the agent is gone" gone "$pid2"
check "kill h2: h1 no longer sees h2 alive" sim_sees_not_alive h1 h2
"$CLUSTER" --name "$C2" start h2 >/dev/null 2>&1
check "start h2: runs again" sim_agent_running h2
check "start h2: joined to h1" has_args h2 "--join 192.168.77.1:7946"
"$CLUSTER" --name "$C2" start h2 >/dev/null 2>&1
check "start on a running agent is refused" test $? != 0
check "wait: converged after start" quiet "$CLUSTER" --name "$C2" wait 5
"$CLUSTER" --name "$C2" kill h1 >/dev/null
pid3=$(sim_agent_pid h3)
"$CLUSTER" --name "$C2" restart h3 >/dev/null 2>&1
check "restart h3: the old agent is gone" gone "$pid3"
check "restart h3: a new agent runs" sim_agent_running h3
check "restart h3: joined to the first running host (h2)" has_args h3 "--join 192.168.77.2:7946"
status=$("$CLUSTER" --name "$C2" status)
check "status shows h1's agent as stopped" contains "$status" "^h1 .*agent stopped"
pids=("$(sim_agent_pid h2)" "$(sim_agent_pid h3)")
"$CLUSTER" --name "$C2" down >/dev/null
check "down with agents: no namespaces, no dir" cluster_gone "$P" "$SIM_WORK"
check "down with agents: agent processes are gone" all_gone "${pids[@]}"

# a failing agent: up fails, points at the log, and down still cleans everything
C3=$(new_name f)
FAKE_FAIL=h2 "$CLUSTER" --name "$C3" up 2 --insecure >"$TMP/up3.out" 2>&1
check "up with an agent that exits fails" test $? != 0
sim_use "$C3"
P=$SIM_PREFIX
check "the failure names the agent log" grep -qF "$SIM_WORK/hosts/h2/agent.log" "$TMP/up3.out"
check "the failure shows the log's last lines" grep -q "boom on h2" "$TMP/up3.out"
check "--insecure reaches the agent" grep -qx -- --insecure "$SIM_WORK/hosts/h1/run/args"
"$CLUSTER" --name "$C3" up 2 --insecure >/dev/null 2>&1
check "up on a failed cluster is refused until down" test $? != 0
pid1=$(sim_agent_pid h1)
"$CLUSTER" --name "$C3" down >/dev/null
check "down after a failed up leaves no namespace and no dir" cluster_gone "$P" "$SIM_WORK"
check "down after a failed up ends the agent that did start" gone "$pid1"

# members that never converge: the wait is bounded and says what it saw
C4=$(new_name n)
t0=$(sim_now_ms)
FAKE_NEVER=1 OVG_SIM_TIMEOUT=2 "$CLUSTER" --name "$C4" up 2 >"$TMP/up4.out" 2>&1
rc=$?
t1=$(sim_now_ms)
check "up fails when members never converge" test "$rc" != 0
check "the convergence wait is bounded (< 10 s, took $((t1 - t0)) ms)" test $((t1 - t0)) -lt 10000
check "the failure says what each host sees" grep -q "h1 sees alive" "$TMP/up4.out"
sim_use "$C4"
P=$SIM_PREFIX
"$CLUSTER" --name "$C4" down >/dev/null
check "down after a timed-out up leaves nothing" cluster_gone "$P" "$SIM_WORK"

# ---- 3. real agents ----------------------------------------------------------------
OVGOSSIPD=$REAL_OVGOSSIPD
if [ -x "$OVGOSSIPD" ] && sim_agent_supported; then
	echo "== real agents ($OVGOSSIPD)"
	C5=$(new_name r)
	"$CLUSTER" --name "$C5" up 3 >"$TMP/up5.out" 2>&1
	check "up 3 with real agents converges" test $? = 0 || cat "$TMP/up5.out"
	sim_use "$C5"
	P=$SIM_PREFIX
	for h in h1 h2 h3; do
		check "$h sees h1 h2 h3 alive" sim_sees_alive "$h" h1 h2 h3
	done
	"$CLUSTER" --name "$C5" kill h3 >/dev/null
	check "a killed agent is noticed (h1 sees h3 not alive within 30 s)" \
		sim_wait_until 30 sim_sees_not_alive h1 h3
	"$CLUSTER" --name "$C5" start h3 >/dev/null
	check "a restarted agent rejoins (converged within 30 s)" quiet "$CLUSTER" --name "$C5" wait 30
	"$CLUSTER" --name "$C5" down >/dev/null
	check "down with real agents leaves nothing" cluster_gone "$P" "$SIM_WORK"
	C6=$(new_name i)
	"$CLUSTER" --name "$C6" up 2 --insecure >"$TMP/up6.out" 2>&1
	check "up 2 --insecure with real agents converges" test $? = 0 || cat "$TMP/up6.out"
	sim_use "$C6"
	P=$SIM_PREFIX
	check "insecure agents run without a key file" test ! -e "$SIM_WORK/key"
	"$CLUSTER" --name "$C6" down >/dev/null
	check "down of the insecure cluster leaves nothing" cluster_gone "$P" "$SIM_WORK"
else
	echo "== real agents: skipped ($OVGOSSIPD has no agent command yet)"
fi

echo "test_cluster_tool: $pass passed, $fail failed"
[ "$fail" = 0 ]
