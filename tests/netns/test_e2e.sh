#!/usr/bin/env bash
# End-to-end tests of ovgossipd on clusters of network namespaces (simulations/lib.sh),
# with the data-plane checker (tests/netns/lib_check.sh) after every phase:
#   demo   2 hosts: ov_net1 attachable, containers on both ping each other, ov_net2 is
#          isolated, a container on both networks reaches ov_net1;
#   then 5 hosts, 3 networks, 6 churn containers and 2 traffic containers per host:
#   churn     random connect/disconnect on every host in parallel;
#   restart   graceful restart and kill -9 + start of agents while containers ping;
#   partition h1 h2 | h3 h4 h5 with network creates (one name on both sides) and attaches
#             on both sides, then heal: names resolved the same way everywhere;
#   loss      10% underlay loss on every host with connects and disconnects.
# After every phase: the checker (agents agree; every sandbox's FDB and neighbors and every
# container's interfaces are exactly the live endpoints) and the invariants (no two live
# endpoints of a network share an IP or a name; network names and VNIs unique).
#
# Run as root: `make netns` (or `bash tests/netns/test_e2e.sh`). E2E_SEED fixes the random
# choices (default 1); E2E_KEEP=1 leaves the cluster up after a failure. Agent logs of a
# failed run are copied to /tmp/ovg-e2e-logs.<pid>/. E2E_PARTITION_UNTIL=suspect heals the
# partition as soon as each side stops seeing the other alive (default: once each side
# has declared the other dead, which is what a real partition of some seconds does).
#
# tests/soak/soak_e2e.sh sources this file (E2E_SOURCED=1) to loop the same phases.
set -uo pipefail

E2E_HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
E2E_REPO=$(cd "$E2E_HERE/../.." && pwd)
export OVGOSSIPD=${OVGOSSIPD:-$E2E_REPO/ovgossipd}
# shellcheck source=simulations/lib.sh
. "$E2E_REPO/simulations/lib.sh"
# shellcheck source=tests/netns/lib_check.sh
. "$E2E_HERE/lib_check.sh"

E2E_PASS=0
E2E_FAIL=0
E2E_CLUSTERS=()
E2E_LOGDIR=/tmp/ovg-e2e-logs.$$
E2E_TMP=
E2E_NETS=(n1 n2 n3)   # the networks the churn works on
E2E_K=${E2E_K:-4}     # churn containers per host: cIxJ, J = 1..E2E_K
E2E_BG=()             # background jobs to reap

e2e_ok() {
	E2E_PASS=$((E2E_PASS + 1))
	printf 'ok - %s\n' "$*"
	[ -n "${E2E_TIMING:-}" ] && e2e_note "(timing)"
	return 0
}
e2e_notok() {
	E2E_FAIL=$((E2E_FAIL + 1))
	printf 'not ok - %s\n' "$*"
	e2e_save_logs
	e2e_env_note
}

# The kernel's ARP table is one for all namespaces (gc_thresh3, default 1024, counts the
# non-permanent entries of every namespace on the machine): on a machine crowded with
# other namespaces it overflows, and then pings and TCP connects inside fresh namespaces fail with ENOBUFS
# or time out. Say so when it happens, since it is no fault of ovgossipd.
e2e_env_note() {
	local n last
	read -r n last < <(dmesg 2>/dev/null | awk -v t0="$E2E_UP0" -F '[][]' \
		'/arp_cache: neighbor table overflow/ && $2 + 0 >= t0 { n++; last = $2 + 0 } END { print n + 0, last + 0 }')
	[ "${n:-0}" -gt 0 ] && e2e_note "environment: $n 'arp_cache: neighbor table overflow' kernel messages since" \
		"the start, the last $(awk -v a="$last" -v b="$E2E_UP0" 'BEGIN { printf "%.0f", a - b }') s into the run" \
		"(the machine's ARP table is full: pings and connects in new namespaces may fail)"
	return 0
}
e2e_uptime() { awk '{ print $1 }' /proc/uptime; }
E2E_UP0=0
E2E_T0=
e2e_note() {
	local t=''
	[ -n "$E2E_T0" ] && t=$(($(sim_now_ms) - E2E_T0)) && t="[$((t / 1000)).$((t % 1000 / 100)) s] "
	printf '# %s%s\n' "$t" "$*"
}

# e2e_check DESCRIPTION CMD...: ok or not ok, by CMD's status.
e2e_check() {
	local d=$1
	shift
	if "$@"; then
		e2e_ok "$d"
	else
		e2e_notok "$d"
		return 1
	fi
}

# Agent logs of the current cluster, kept after `down`.
e2e_save_logs() {
	local h d
	[ -n "$SIM_WORK" ] && [ -d "$SIM_WORK/hosts" ] || return 0
	d=$E2E_LOGDIR/$SIM_NAME
	mkdir -p "$d" || return 0
	for h in $(sim_hosts); do
		cp -f "$(sim_hostdir "$h")/agent.log" "$d/$h.log" 2>/dev/null
	done
	e2e_note "agent logs copied to $d/"
}

e2e_cleanup() {
	local rc=$? n j
	trap - EXIT INT TERM
	for j in "${E2E_BG[@]}"; do kill "$j" 2>/dev/null; done
	wait 2>/dev/null
	for n in "${E2E_CLUSTERS[@]}"; do
		if [ "${E2E_KEEP:-0}" = 1 ] && [ "$E2E_FAIL" -gt 0 ]; then
			e2e_note "cluster $n kept: simulations/cluster --name $n status|down"
			continue
		fi
		sim_use "$n" >/dev/null 2>&1 && sim_down >/dev/null 2>&1 ||
			echo "e2e: cleanup of cluster $n failed; run: simulations/cluster --name $n down" >&2
	done
	[ -n "$E2E_TMP" ] && rm -rf "$E2E_TMP"
	exit "$rc"
}

# e2e_up NAME N: bring up a cluster (registered for cleanup) and select it.
e2e_up() {
	E2E_CLUSTERS+=("$1")
	sim_use "$1" || return 1
	sim_up "$2" >/dev/null
}

e2e_down() {
	local n=$SIM_NAME i
	sim_down >/dev/null || return 1
	for i in "${!E2E_CLUSTERS[@]}"; do
		[ "${E2E_CLUSTERS[$i]}" = "$n" ] && unset 'E2E_CLUSTERS[i]'
	done
	return 0
}

# ---- small helpers ------------------------------------------------------------------

# e2e_ep_ip HOST NETWORK NAME: the IP of endpoint NAME as HOST's agent shows it.
e2e_ep_ip() {
	sim_ovg "$1" network inspect "$2" 2>/dev/null |
		jq -r --arg n "$3" '.endpoints[]? | select(.name == $n) | .ip' 2>/dev/null | head -n 1
}
e2e_has_ep() { [ -n "$(e2e_ep_ip "$@")" ]; }
e2e_has_net() {
	sim_ovg "$1" network ls --format json 2>/dev/null | jq -e --arg n "$2" 'any(.[]; .name == $n)' >/dev/null 2>&1
}
e2e_all_have_net() {
	local h
	for h in $(sim_running_hosts); do e2e_has_net "$h" "$1" || return 1; done
}
# e2e_pings FROM ADDR: one echo request answered (bounded).
e2e_pings() { [ "$(sim_ping_count "$1" "$2" 1 0.2)" = 1 ]; }
e2e_ping_fails() { [ "$(sim_ping_count "$1" "$2" 2 0.2)" = 0 ]; }

# e2e_connect HOST CONTAINER NETWORK: connect with the container's name as endpoint name.
e2e_connect() {
	sim_ovg "$1" network connect --name "$2" "$3" "$SIM_PREFIX-$2"
}

# e2e_verify WHAT [SECONDS]: checker (bounded poll) and invariants, as two ok lines.
e2e_verify() {
	local what=$1 secs=${2:-30} t0 t1
	t0=$(sim_now_ms)
	if chk_wait "$secs"; then
		t1=$(sim_now_ms)
		e2e_ok "$what: data plane converged in $((t1 - t0)) ms ($(chk_summary))"
		# the checker's passing round checked the invariants on every agent's answers
		e2e_ok "$what: no two live endpoints share an IP or a name; network names and VNIs unique"
		return 0
	fi
	e2e_notok "$what: data plane converged within $secs s"
	if chk_invariants; then
		e2e_ok "$what: no two live endpoints share an IP or a name; network names and VNIs unique"
	else
		chk_print_diff
		e2e_notok "$what: invariants"
	fi
}

# e2e_ping_mesh WHAT: every traffic container tIa reaches the next host's t(I+1)a on n1.
e2e_ping_mesh() {
	local what=$1 i j n=$SIM_N bad=() ip
	for ((i = 1; i <= n; i++)); do
		j=$((i % n + 1))
		sim_agent_running "h$i" && sim_agent_running "h$j" || continue
		ip=$(e2e_ep_ip "h$i" n1 "t${j}a")
		if [ -z "$ip" ] || ! sim_wait_until 10 e2e_pings "t${i}a" "$ip"; then
			bad+=("t${i}a->t${j}a(${ip:-no ip})")
		fi
	done
	if [ "${#bad[@]}" -eq 0 ]; then
		e2e_ok "$what: traffic containers reach each other across hosts on n1"
	else
		e2e_notok "$what: pings failed: ${bad[*]}"
	fi
}

# ---- the checker checks ---------------------------------------------------------------

# e2e_fixture DIR: what chk_collect would write for a healthy 2-host cluster: network na
# (VNI 100) with a1 on h1 (10.0.0.2) and a2 on h2 (10.0.0.252), a container each.
E2E_FX_ID=0123456789abcdef0123456789abcdef
e2e_fixture() {
	local d=$1 h other ip omac oip c sb
	for h in h1 h2; do
		printf '[{"name":"h1","addr":"192.168.77.1:7946","status":"alive","incarnation":1},
{"name":"h2","addr":"192.168.77.2:7946","status":"alive","incarnation":1}]\n' >"$d/$h.m"
		printf '[{"id":"%s","name":"na","vni":100,"subnet":"10.0.0.0/24","gateway":"10.0.0.1","attachable":true,"creator":"h1","usable":true}]\n' \
			"$E2E_FX_ID" >"$d/$h.l"
		sb=$SIM_WORK/hosts/$h/run/netns/${E2E_FX_ID:0:12}
		printf '{"id":"%s","name":"na","vni":100,"subnet":"10.0.0.0/24","gateway":"10.0.0.1","attachable":true,"creator":"h1","usable":true,"sandbox":"%s","endpoints":[
{"name":"a1","node":"h1","ip":"10.0.0.2","mac":"02:42:0a:00:00:02","prefix":24},
{"name":"a2","node":"h2","ip":"10.0.0.252","mac":"02:42:0a:00:00:fc","prefix":24}]}\n' \
			"$E2E_FX_ID" "$sb" >"$d/$h.i.$E2E_FX_ID"
		if [ "$h" = h1 ]; then
			other=2 ip=10.0.0.2/24 omac=02:42:0a:00:00:fc oip=10.0.0.252 c=a1
		else
			other=1 ip=10.0.0.252/24 omac=02:42:0a:00:00:02 oip=10.0.0.2 c=a2
		fi
		cat >"$d/$h.raw" <<-EOF
		@@path $h $E2E_FX_ID
		@@sb $h $E2E_FX_ID
		[{"ifindex":3,"ifname":"vxlan0","linkinfo":{"info_kind":"vxlan","info_data":{"id":100,"port":4789}}}]

		@@neigh
		$oip lladdr $omac PERMANENT
		@@fdb
		7a:1b:63:90:6e:87 master br0 permanent
		$omac master br0
		$omac dst 192.168.77.$other link-netnsid 0 self permanent
		@@c $h $c
		lo               UNKNOWN        00:00:00:00:00:00 <LOOPBACK,UP,LOWER_UP>
		eth0@if4         UP             02:42:$(e2e_mac_tail "$ip") <BROADCAST,MULTICAST,UP,LOWER_UP>
		lo               UNKNOWN        127.0.0.1/8 ::1/128
		eth0@if4         UP             $ip fe80::42:aff:fe00:2/64
		EOF
	done
}
# the last four octets of the MAC of ADDR/PREFIX, hex
e2e_mac_tail() {
	local a=${1%/*} o1 o2 o3 o4
	IFS=. read -r o1 o2 o3 o4 <<<"$a"
	printf '%02x:%02x:%02x:%02x' "$o1" "$o2" "$o3" "$o4"
}

# e2e_selftest_case WHAT ALIVE EXPECT SCRIPT: on a fresh fixture, run SCRIPT (bash, $d is
# the directory), then chk_compare with ALIVE must fail with a line matching EXPECT (an
# extended regex), or pass if EXPECT is "".
e2e_selftest_case() {
	local what=$1 alive=$2 expect=$3 script=$4 d rc all
	d=$(mktemp -d "$E2E_TMP/fx.XXXXXX")
	e2e_fixture "$d"
	(cd "$d" && eval "$script") || { e2e_notok "checker self-test: $what: fixture edit failed"; return 1; }
	CHK_DIFF=()
	chk_compare "$d" "$alive"
	rc=$?
	all=$(printf '%s\n' "${CHK_DIFF[@]}")
	if [ -z "$expect" ]; then
		[ "$rc" = 0 ] && { e2e_ok "checker self-test: $what passes"; return 0; }
		e2e_notok "checker self-test: $what: reported $all"
		return 1
	fi
	if [ "$rc" != 0 ] && grep -Eq -- "$expect" <<<"$all"; then
		e2e_ok "checker self-test: $what is reported (${CHK_DIFF[0]})"
	else
		e2e_notok "checker self-test: $what: want a line matching '$expect', got rc $rc: $all"
	fi
}

# The checker reports what it should, on synthetic answers and kernel dumps.
e2e_checker_selftest() {
	local SIM_NET=192.168.77 SIM_N=2 SIM_WORK=/nonexistent/ovg-e2e SIM_PREFIX=ovsfx
	e2e_selftest_case "a healthy cluster" "h1 h2" "" ":"
	e2e_selftest_case "a missing FDB entry" "h1 h2" \
		'^h1 net na \(0123456789ab\): missing: fdb 02:42:0a:00:00:fc dst 192.168.77.2 permanent$' \
		"sed -i '/self permanent/d' h1.raw"
	e2e_selftest_case "an extra FDB entry" "h1 h2" 'extra: fdb 02:42:0a:00:00:99 dst 192.168.77.2 permanent$' \
		"sed -i 's/^@@fdb\$/@@fdb\n02:42:0a:00:00:99 dst 192.168.77.2 self permanent/' h1.raw"
	e2e_selftest_case "an FDB entry to the wrong host" "h1 h2" 'extra: fdb 02:42:0a:00:00:fc dst 192.168.77.9 permanent$' \
		"sed -i 's/dst 192.168.77.2 /dst 192.168.77.9 /' h1.raw"
	e2e_selftest_case "an FDB entry that is not permanent" "h1 h2" 'extra: fdb 02:42:0a:00:00:fc dst 192.168.77.2$' \
		"sed -i 's/ self permanent/ self/' h1.raw"
	e2e_selftest_case "a stale neighbor" "h1 h2" 'missing: neigh 10.0.0.252 lladdr 02:42:0a:00:00:fc PERMANENT' \
		"sed -i 's/ PERMANENT/ STALE/' h1.raw"
	e2e_selftest_case "an extra neighbor" "h1 h2" 'h2 net na .*extra: neigh 10.0.0.7 lladdr 02:42:0a:00:00:07 PERMANENT' \
		"sed -i 's/^@@neigh\$/@@neigh\n10.0.0.7 lladdr 02:42:0a:00:00:07 PERMANENT/' h2.raw"
	e2e_selftest_case "a wrong VNI" "h1 h2" 'missing: vni 100' "sed -i 's/\"id\":100/\"id\":101/' h2.raw"
	e2e_selftest_case "a missing sandbox" "h1 h2" 'no sandbox shown, but the host has local endpoints' \
		"sed -i 's,\"sandbox\":\"[^\"]*\",\"sandbox\":\"\",' h2.i.*"
	e2e_selftest_case "a sandbox at the wrong path" "h1 h2" 'sandbox /elsewhere, want /nonexistent/ovg-e2e/hosts/h1/run/netns/0123456789ab' \
		"sed -i 's,\"sandbox\":\"[^\"]*\",\"sandbox\":\"/elsewhere\",' h1.i.*"
	e2e_selftest_case "a sandbox left without local endpoints" "h1 h2" \
		'h2 net na .*/nonexistent/ovg-e2e/hosts/h2/run/netns/0123456789ab exists, but there should be no sandbox' \
		"sed -i 's/\"node\":\"h2\"/\"node\":\"h1\"/' h1.i.* h2.i.*; sed -i '/^@@sb/,\$d' h2.raw; echo '@@c h2 a2' >>h2.raw"
	e2e_selftest_case "a stale container interface" "h1 h2" 'h1 container a1: interface 10.0.0.9/24 02:42:0a:00:00:09 is no live local endpoint' \
		"printf 'eth1 UP 02:42:0a:00:00:09 <UP>\neth1 UP 10.0.0.9/24\n' >>h1.raw"
	e2e_selftest_case "a missing container interface" "h1 h2" 'h2 container a2: missing interface 10.0.0.252/24 02:42:0a:00:00:fc' \
		"sed -i '/^eth0/d' h2.raw"
	e2e_selftest_case "agents disagreeing on endpoints" "h1 h2" 'endpoints on h2 differ from h1' \
		"sed -i 's/\"10.0.0.252\"/\"10.0.0.253\"/' h2.i.*"
	e2e_selftest_case "agents disagreeing on networks" "h1 h2" 'network ls on h2 differs from h1' \
		"sed -i 's/\"vni\":100/\"vni\":102/' h2.l"
	e2e_selftest_case "a member not alive" "h1 h2" 'h1: members alive: \[h1\], want \[h1 h2\] \(others: h2=suspect\)' \
		"sed -i 's/\"status\":\"alive\",\"incarnation\":1}]/\"status\":\"suspect\",\"incarnation\":1}]/' h1.m"
	e2e_selftest_case "two live endpoints with one IP" "h1 h2" \
		'h1: invariant: network na: IP 10.0.0.252 held by a3@h1, a2@h2' \
		"sed -i 's/^{\"name\":\"a2\"/{\"name\":\"a3\",\"node\":\"h1\",\"ip\":\"10.0.0.252\",\"mac\":\"02:42:0a:00:00:fc\",\"prefix\":24},\n&/' h1.i.*"
	e2e_selftest_case "two live endpoints with one name" "h1 h2" 'h2: invariant: network na: name a1 held by endpoints on h1, h2' \
		"sed -i 's/\"name\":\"a2\"/\"name\":\"a1\"/' h2.i.*"
	e2e_selftest_case "two networks with one name" "h1 h2" 'h1: invariant: network name na held by 0123456789ab,ffffffffffff' \
		"sed -i 's/^\[\(.*\)\]\$/[\1,{\"id\":\"ffffffffffffffffffffffffffffffff\",\"name\":\"na\",\"vni\":200,\"usable\":true}]/' h1.l"
	e2e_selftest_case "two usable networks with one VNI" "h1 h2" 'h2: invariant: VNI 100 held by usable networks 0123456789ab,ffffffffffff' \
		"sed -i 's/^\[\(.*\)\]\$/[\1,{\"id\":\"ffffffffffffffffffffffffffffffff\",\"name\":\"nb\",\"vni\":100,\"usable\":true}]/' h2.l"
	e2e_selftest_case "a dead owner's endpoints left in the data plane" "h1" \
		"h1 net na .*extra: fdb 02:42:0a:00:00:fc dst 192.168.77.2 permanent" \
		"rm h2.*; sed -i 's/\"status\":\"alive\",\"incarnation\":1}]/\"status\":\"dead\",\"incarnation\":1}]/' h1.m"
}

# ---- the demo's story ------------------------------------------------------------------

e2e_demo() {
	local ip1 ip2 ip4 out
	e2e_note "demo: 2 hosts"
	e2e_up "${E2E_TAG}d" 2 || { e2e_notok "demo: cluster up"; return 1; }
	sim_wait_converged 20 || { e2e_notok "demo: members converge"; return 1; }
	e2e_ok "demo: 2 agents up and joined"
	sim_ovg h1 network create --attachable ov_net1 >/dev/null &&
		sim_wait_until 10 e2e_has_net h2 ov_net1
	e2e_check "demo: ov_net1 created on h1 is known on h2" test $? = 0 || return 1
	sim_container h1 c1 >/dev/null && sim_container h2 c2 >/dev/null || return 1
	e2e_connect h1 c1 ov_net1 >/dev/null && e2e_connect h2 c2 ov_net1 >/dev/null
	e2e_check "demo: c1 on h1 and c2 on h2 connected to ov_net1" test $? = 0 || return 1
	sim_wait_until 10 e2e_has_ep h1 ov_net1 c2 && sim_wait_until 10 e2e_has_ep h2 ov_net1 c1
	ip1=$(e2e_ep_ip h1 ov_net1 c1) ip2=$(e2e_ep_ip h1 ov_net1 c2)
	e2e_check "demo: c1 ($ip1) pings c2 ($ip2) across hosts" sim_wait_until 10 e2e_pings c1 "$ip2"
	e2e_check "demo: c2 pings c1" sim_wait_until 10 e2e_pings c2 "$ip1"

	sim_ovg h2 network create ov_net0 >/dev/null && sim_wait_until 10 e2e_has_net h1 ov_net0
	sim_container h1 c0 >/dev/null || return 1
	if out=$(e2e_connect h1 c0 ov_net0 2>&1); then
		e2e_notok "demo: connect to a network created without --attachable succeeded"
	else
		e2e_check "demo: connect to a non-attachable network is refused ($out)" \
			grep -q '^ovgossipd: ' <<<"$out"
	fi

	sim_ovg h2 network create --attachable ov_net2 >/dev/null && sim_wait_until 10 e2e_has_net h1 ov_net2
	e2e_check "demo: ov_net2 created on h2 is known on h1" test $? = 0 || return 1
	sim_container h1 c3 >/dev/null && sim_container h2 c4 >/dev/null || return 1
	e2e_connect h1 c3 ov_net2 >/dev/null && e2e_connect h2 c4 ov_net2 >/dev/null &&
		sim_wait_until 10 e2e_has_ep h1 ov_net2 c4
	e2e_check "demo: c3 on h1 and c4 on h2 connected to ov_net2" test $? = 0 || return 1
	ip4=$(e2e_ep_ip h1 ov_net2 c4)
	e2e_check "demo: c3 pings c4 on ov_net2" sim_wait_until 10 e2e_pings c3 "$ip4"
	e2e_check "demo: c3 (ov_net2) cannot reach c1 or c2 (ov_net1)" \
		eval 'e2e_ping_fails c3 "$ip1" && e2e_ping_fails c3 "$ip2"'
	e2e_check "demo: c4 (ov_net2) cannot reach c1 (ov_net1)" e2e_ping_fails c4 "$ip1"
	e2e_connect h1 c3 ov_net1 >/dev/null && sim_wait_until 10 e2e_has_ep h2 ov_net1 c3
	e2e_check "demo: c3 connected to ov_net1 as well" test $? = 0
	e2e_check "demo: c3 now reaches c1 and c2 on ov_net1" \
		eval 'sim_wait_until 10 e2e_pings c3 "$ip1" && sim_wait_until 10 e2e_pings c3 "$ip2"'
	e2e_check "demo: c4 still cannot reach c1" e2e_ping_fails c4 "$ip1"
	e2e_verify "demo"
	e2e_down || e2e_notok "demo: cluster down"
}

# ---- the 5-host cluster -------------------------------------------------------------------

# e2e_cluster NAME N: N hosts (N >= 3), networks n1 n2 n3 (created on h1 h2 h3), churn
# containers cIxJ, traffic containers tIa tIb connected to n1 for good.
e2e_cluster() {
	local i j h n=$2
	e2e_up "$1" "$n" || { e2e_notok "cluster of $n: up"; return 1; }
	sim_wait_converged 30 || { e2e_notok "cluster of $n: members converge"; return 1; }
	for i in 1 2 3; do
		sim_ovg "h$i" network create --attachable "n$i" >/dev/null || { e2e_notok "network create n$i"; return 1; }
	done
	sim_wait_until 15 eval 'e2e_all_have_net n1 && e2e_all_have_net n2 && e2e_all_have_net n3' ||
		{ e2e_notok "cluster of $n: networks n1 n2 n3 known everywhere"; return 1; }
	for ((i = 1; i <= SIM_N; i++)); do
		h=h$i
		for ((j = 1; j <= E2E_K; j++)); do
			sim_container "$h" "c${i}x$j" >/dev/null || return 1
		done
		sim_container "$h" "t${i}a" >/dev/null && sim_container "$h" "t${i}b" >/dev/null || return 1
		e2e_connect "$h" "t${i}a" n1 >/dev/null && e2e_connect "$h" "t${i}b" n1 >/dev/null ||
			{ e2e_notok "cluster of $n: traffic containers on $h connected"; return 1; }
	done
	e2e_ok "cluster of $n: up, networks n1 n2 n3, $((SIM_N * (E2E_K + 2))) containers"
}

# e2e_sync_conn HOST: the connected (container network) pairs of HOST, from its agent.
e2e_sync_conn() {
	local h=$1 net
	for net in "${E2E_NETS[@]}"; do
		sim_ovg "$h" network inspect "$net" 2>/dev/null |
			jq -r --arg h "$h" --arg net "$net" '.endpoints[]? | select(.node == $h) |
				select(.name | test("^c[0-9]+x[0-9]+")) | "\(.name | sub("@.*"; "")) \($net)"'
	done
}

# e2e_churn_worker HOST SEED SECONDS OUT: random connect/disconnect of HOST's churn
# containers on E2E_NETS until SECONDS pass; writes "ops N fails M" and failure messages
# to OUT.
e2e_churn_worker() {
	local h=$1 seed=$2 secs=$3 outf=$4 i=${1#h} deadline c net key out ops=0 fails=0 line
	local -A conn=()
	RANDOM=$seed
	while read -r c net; do [ -n "$c" ] && conn[$c/$net]=1; done < <(e2e_sync_conn "$h")
	deadline=$(($(sim_now_ms) + secs * 1000))
	: >"$outf.msg"
	while [ "$(sim_now_ms)" -lt "$deadline" ]; do
		c=c${i}x$((RANDOM % E2E_K + 1))
		net=${E2E_NETS[RANDOM % ${#E2E_NETS[@]}]}
		key=$c/$net
		ops=$((ops + 1))
		if [ -n "${conn[$key]:-}" ]; then
			if out=$(sim_ovg "$h" network disconnect "$net" "$SIM_PREFIX-$c" 2>&1); then
				unset 'conn[$key]'
			else
				fails=$((fails + 1))
				printf '%s: disconnect %s %s: %s\n' "$h" "$net" "$c" "$out" >>"$outf.msg"
			fi
		else
			if out=$(e2e_connect "$h" "$c" "$net" 2>&1); then
				conn[$key]=1
			else
				fails=$((fails + 1))
				printf '%s: connect %s %s: %s\n' "$h" "$net" "$c" "$out" >>"$outf.msg"
			fi
		fi
		if [ "$fails" -gt 0 ] && [ -n "$out" ] && [[ $out == *"timed out"* ]]; then
			# unknown outcome: ask the agent
			conn=()
			while read -r c net; do [ -n "$c" ] && conn[$c/$net]=1; done < <(e2e_sync_conn "$h")
		fi
	done
	line="ops $ops fails $fails"
	printf '%s\n' "$line" >"$outf"
}

# e2e_churn WHAT SEED SECONDS HOSTS...: workers on HOSTS in parallel, invariants checked
# meanwhile. Sets E2E_OPS, E2E_FAILS; failure messages in E2E_FAILMSG.
E2E_OPS=0 E2E_FAILS=0 E2E_FAILMSG='' E2E_INV_BAD=0
e2e_churn() {
	local what=$1 seed=$2 secs=$3 h pids=() k=0 o f n_inv=0
	shift 3
	E2E_OPS=0 E2E_FAILS=0 E2E_FAILMSG='' E2E_INV_BAD=0
	for h in "$@"; do
		k=$((k + 1))
		e2e_churn_worker "$h" "$((seed * 100 + k))" "$secs" "$E2E_TMP/churn.$h" &
		pids+=($!)
		E2E_BG+=($!)
	done
	# invariants all along, while the workers run
	while :; do
		local alive=0 p
		for p in "${pids[@]}"; do kill -0 "$p" 2>/dev/null && alive=1; done
		[ "$alive" = 1 ] || break
		n_inv=$((n_inv + 1))
		if ! chk_invariants; then
			E2E_INV_BAD=$((E2E_INV_BAD + 1))
			chk_print_diff "  during $what: "
		fi
		sleep 0.5
	done
	wait "${pids[@]}" 2>/dev/null
	E2E_BG=()
	for h in "$@"; do
		read -r _ o _ f <"$E2E_TMP/churn.$h" 2>/dev/null || { o=0 f=1; E2E_FAILMSG+="$h: worker wrote no result"$'\n'; }
		E2E_OPS=$((E2E_OPS + o)) E2E_FAILS=$((E2E_FAILS + f))
		[ -s "$E2E_TMP/churn.$h.msg" ] && E2E_FAILMSG+=$(cat "$E2E_TMP/churn.$h.msg")$'\n'
	done
	if [ "$E2E_INV_BAD" = 0 ]; then
		e2e_ok "$what: invariants held in $n_inv checks during the churn"
	else
		e2e_notok "$what: invariants broken in $E2E_INV_BAD of $n_inv checks during the churn"
	fi
}

# (a) churn with no faults: every connect and disconnect must succeed.
e2e_phase_churn() {
	local seed=$1 secs=${2:-20}
	e2e_note "churn: $secs s of connect/disconnect on every host (seed $seed)"
	# shellcheck disable=SC2046 # host names are single words
	e2e_churn "churn" "$seed" "$secs" $(sim_hosts)
	if [ "$E2E_FAILS" = 0 ]; then
		e2e_ok "churn: $E2E_OPS connects/disconnects on $SIM_N hosts in parallel, all succeeded"
	else
		printf '%s' "$E2E_FAILMSG" | head -n 20 | sed 's/^/  /'
		e2e_notok "churn: $E2E_FAILS of $E2E_OPS connects/disconnects failed"
	fi
	e2e_verify "churn"
	e2e_ping_mesh "churn"
}

# e2e_ping_bg FROM ADDR SECONDS OUT: count echo replies (10 a second) into OUT.
e2e_ping_bg() {
	local n=$(($3 * 10))
	sim_ping_count "$1" "$2" "$n" 0.1 >"$4" 2>/dev/null &
	E2E_BG+=($!)
	printf '%s\n' "$n" >"$4.sent"
}

# e2e_restart_one HOW HOST: restart HOST's agent (HOW: graceful or kill) while
# containers ping: locally on HOST (tRa -> tRb), from HOST to another host, between two
# other hosts. Local and other-host traffic must lose nothing.
e2e_restart_one() {
	local how=$1 r=$2 ri=${2#h} o oi o2 o2i ipl ipo ipoo secs=5 got sent t0 t1
	oi=$((ri % SIM_N + 1)) o2i=$(((ri + 1) % SIM_N + 1))
	o=h$oi o2=h$o2i
	ipl=$(e2e_ep_ip "$r" n1 "t${ri}b") ipo=$(e2e_ep_ip "$r" n1 "t${oi}a") ipoo=$(e2e_ep_ip "$o" n1 "t${o2i}a")
	if [ -z "$ipl" ] || [ -z "$ipo" ] || [ -z "$ipoo" ]; then
		e2e_notok "restart: traffic containers' addresses known ($ipl $ipo $ipoo)"
		return 1
	fi
	e2e_ping_bg "t${ri}a" "$ipl" "$secs" "$E2E_TMP/ping.local"
	e2e_ping_bg "t${oi}a" "$ipoo" "$secs" "$E2E_TMP/ping.other"
	e2e_ping_bg "t${ri}a" "$ipo" "$secs" "$E2E_TMP/ping.cross"
	sleep 1
	t0=$(sim_now_ms)
	case $how in
	graceful) sim_agent_restart "$r" >/dev/null ;;
	kill) sim_agent_kill "$r" >/dev/null && sim_agent_start "$r" >/dev/null ;;
	esac
	e2e_check "restart ($how) of $r: agent back" test $? = 0 || return 1
	t1=$(sim_now_ms)
	wait "${E2E_BG[@]}" 2>/dev/null
	E2E_BG=()
	got=$(cat "$E2E_TMP/ping.local") sent=$(cat "$E2E_TMP/ping.local.sent")
	e2e_check "restart ($how) of $r: container traffic inside $r lost nothing ($got/$sent replies)" \
		test "$got" = "$sent"
	got=$(cat "$E2E_TMP/ping.other") sent=$(cat "$E2E_TMP/ping.other.sent")
	e2e_check "restart ($how) of $r: traffic between $o and $o2 lost nothing ($got/$sent replies)" \
		test "$got" = "$sent"
	got=$(cat "$E2E_TMP/ping.cross") sent=$(cat "$E2E_TMP/ping.cross.sent")
	e2e_note "restart ($how) of $r took $((t1 - t0)) ms; traffic $r -> $o: $got/$sent replies"
	sim_wait_converged 30 >/dev/null
	e2e_check "restart ($how) of $r: members converge again" test $? = 0
}

# (b) agent restarts while containers ping; changes elsewhere while an agent is down.
e2e_phase_restart() {
	local seed=$1 r1 r2 r3 out held other
	RANDOM=$seed
	r1=h$((RANDOM % SIM_N + 1))
	r2=h$((RANDOM % SIM_N + 1))
	e2e_note "restart: graceful restart of $r1, kill -9 and start of $r2 (seed $seed)"
	e2e_restart_one graceful "$r1"
	e2e_verify "restart (graceful $r1)"
	e2e_restart_one kill "$r2"
	e2e_verify "restart (kill -9 $r2)"
	# Changes made while an agent is dead reach it when it is back.
	r3=h$((RANDOM % SIM_N + 1))
	sim_agent_kill "$r3" >/dev/null || { e2e_notok "kill $r3"; return 1; }
	# shellcheck disable=SC2046 # host names are single words
	e2e_churn "restart (while $r3 is dead)" "$seed" 4 $(sim_running_hosts)
	# By design a dead node keeps its address blocks: a connect that needs one of them fails
	# with a message saying so. Any other failure is one.
	held=$(printf '%s' "$E2E_FAILMSG" | grep -c "no free address in network .*: the rest is held by unreachable node $r3 ")
	other=$(printf '%s' "$E2E_FAILMSG" | grep -v "no free address in network .*: the rest is held by unreachable node $r3 " | sed '/^$/d')
	[ -z "$other" ] || printf '%s\n' "$other" | head -n 10 | sed 's/^/  /'
	e2e_check "restart: $E2E_OPS connects/disconnects with $r3 dead succeeded but $held refused for blocks held by $r3" \
		test -z "$other"
	e2e_verify "restart ($r3 dead: its endpoints out of the others' data plane)" 40
	out=$(sim_agent_start "$r3" 2>&1) || e2e_notok "start $r3: $out"
	e2e_verify "restart ($r3 back)"
	e2e_ping_mesh "restart"
}

# e2e_sees_none_alive HOST OTHERS...: HOST's agent shows none of OTHERS alive.
e2e_sees_none_alive() {
	local h=$1 o
	shift
	for o in "$@"; do sim_sees_not_alive "$h" "$o" || return 1; done
}

# e2e_sees_failed HOST OTHERS...: HOST's agent shows each of OTHERS as dead (or no more).
e2e_sees_failed() {
	local h=$1 json want
	shift
	json=$(sim_ovg "$h" members --format json 2>/dev/null) || return 1
	want=$(printf '%s\n' "$@" | jq -R . | jq -s .) || return 1
	jq -e --argjson w "$want" '[.[] | select(.status != "dead" and (.name as $n | any($w[]; . == $n)))] == []' \
		<<<"$json" >/dev/null 2>&1
}

# e2e_net_id HOST NAME: the id of the network HOST shows as NAME.
e2e_net_id() {
	sim_ovg "$1" network ls --format json 2>/dev/null | jq -r --arg n "$2" '.[] | select(.name == $n) | .id'
}

# (c) e2e_phase_partition SEED TAG HOST...: cut HOST... off from the rest until each side
# sees the other dead; meanwhile create networks on both sides (pnetTAG on both, paTAG on
# the first side, pbTAG on the other), connect containers to them, take the endpoint name
# twinTAG on n1 on both sides, churn; then heal: the agents must agree again, the earlier
# pnetTAG keeps its name and the other shows as pnetTAG@<id8>, the later twinTAG as
# twinTAG@<node>. Everything it created is removed at the end (and checked again).
e2e_phase_partition() {
	local seed=$1 tag=$2 a=() b=() h i ok_all n out ls0 t0 id ids=() eps=() e
	shift 2
	a=("$@")
	for h in $(sim_hosts); do
		[[ " ${a[*]} " == *" $h "* ]] || b+=("$h")
	done
	e2e_note "partition: ${a[*]} | ${b[*]} (seed $seed)"
	sim_partition "${a[@]}" >/dev/null || { e2e_notok "partition: iptables"; return 1; }
	ok_all=1
	if [ "${E2E_PARTITION_UNTIL:-dead}" = suspect ]; then
		for h in "${a[@]}"; do sim_wait_until 30 e2e_sees_none_alive "$h" "${b[@]}" || ok_all=0; done
		for h in "${b[@]}"; do sim_wait_until 30 e2e_sees_none_alive "$h" "${a[@]}" || ok_all=0; done
		e2e_check "partition: each side sees the other as not alive" test "$ok_all" = 1
	else
		for h in "${a[@]}"; do sim_wait_until 30 e2e_sees_failed "$h" "${b[@]}" || ok_all=0; done
		for h in "${b[@]}"; do sim_wait_until 30 e2e_sees_failed "$h" "${a[@]}" || ok_all=0; done
		e2e_check "partition: each side sees the other as dead" test "$ok_all" = 1
	fi
	# The same network name created on both sides (side a first), plus one name per side.
	sim_ovg "${a[0]}" network create --attachable "pnet$tag" >/dev/null &&
		sim_ovg "${b[0]}" network create --attachable "pnet$tag" >/dev/null &&
		{ [ "${#a[@]}" -lt 2 ] || sim_ovg "${a[1]}" network create --attachable "pa$tag" >/dev/null; } &&
		{ [ "${#b[@]}" -lt 2 ] || sim_ovg "${b[1]}" network create --attachable "pb$tag" >/dev/null; }
	e2e_check "partition: network creates on both sides (pnet$tag on both, pa$tag, pb$tag)" test $? = 0
	ok_all=1
	for h in "${a[@]}"; do
		sim_wait_until 10 e2e_has_net "$h" "pnet$tag" || ok_all=0
		[ "${#a[@]}" -lt 2 ] || sim_wait_until 10 e2e_has_net "$h" "pa$tag" || ok_all=0
	done
	for h in "${b[@]}"; do
		sim_wait_until 10 e2e_has_net "$h" "pnet$tag" || ok_all=0
		[ "${#b[@]}" -lt 2 ] || sim_wait_until 10 e2e_has_net "$h" "pb$tag" || ok_all=0
	done
	e2e_check "partition: each side's creates reach its side" test "$ok_all" = 1
	# Attaches on both sides to the new networks.
	ok_all=1
	for h in $(sim_hosts); do
		i=${h#h}
		n=pnet$tag
		[ "${#a[@]}" -ge 2 ] && [ "$h" = "${a[1]}" ] && n=pa$tag
		[ "${#b[@]}" -ge 2 ] && [ "$h" = "${b[1]}" ] && n=pb$tag
		if out=$(e2e_connect "$h" "c${i}x1" "$n" 2>&1); then
			eps+=("$h $(e2e_net_id "$h" "$n") c${i}x1")
		else
			ok_all=0
			e2e_note "connect c${i}x1 $n on $h: $out"
		fi
	done
	e2e_check "partition: connects to the new networks on both sides" test "$ok_all" = 1
	# One endpoint name on n1 on both sides, side a first.
	{ sim_container "${a[0]}" "wa$tag" && sim_container "${b[0]}" "wb$tag"; } >/dev/null &&
		sim_ovg "${a[0]}" network connect --name "twin$tag" n1 "$SIM_PREFIX-wa$tag" >/dev/null &&
		sim_ovg "${b[0]}" network connect --name "twin$tag" n1 "$SIM_PREFIX-wb$tag" >/dev/null
	e2e_check "partition: endpoint name twin$tag taken on n1 on both sides" test $? = 0
	# shellcheck disable=SC2046 # host names are single words
	e2e_churn "partition" "$seed" 6 $(sim_hosts)
	[ "$E2E_FAILS" = 0 ] || printf '%s' "$E2E_FAILMSG" | head -n 10 | sed 's/^/  # /'
	e2e_note "partition: $E2E_OPS connects/disconnects, $E2E_FAILS failed"
	if chk_invariants; then
		e2e_ok "partition: invariants hold on both sides"
	else
		chk_print_diff
		e2e_notok "partition: invariants on both sides"
	fi
	sim_heal >/dev/null || { e2e_notok "heal"; return 1; }
	t0=$(sim_now_ms)
	if ! sim_wait_converged 45 >/dev/null; then
		e2e_notok "partition: healed, members converge within 45 s"
		# the rest cannot pass: show what differs once, fail without waiting
		chk_once || chk_print_diff
		e2e_notok "partition healed: data plane converged (members did not)"
		e2e_notok "partition healed: network ls identical, conflicts resolved (members did not converge)"
		return 1
	fi
	e2e_ok "partition: healed, members converge in $(($(sim_now_ms) - t0)) ms"
	e2e_verify "partition healed" 40
	ls0=$(sim_ovg "${a[0]}" network ls --format json 2>/dev/null | jq -c 'sort_by(.id)')
	ok_all=1
	for h in $(sim_hosts); do
		[ "$(sim_ovg "$h" network ls --format json 2>/dev/null | jq -c 'sort_by(.id)')" = "$ls0" ] || ok_all=0
	done
	e2e_check "partition healed: network ls --format json identical on all $SIM_N hosts" test "$ok_all" = 1
	out=$(jq -r --arg p "pnet$tag" '[.[] | select(.name == $p or (.name | startswith($p + "@"))) |
		"\(.name)/\(.creator)"] | sort | join(" ")' <<<"$ls0")
	e2e_check "partition healed: the earlier pnet$tag (${a[0]}'s) keeps the name, the other is pnet$tag@<id8> ($out)" \
		eval '[[ "$out" =~ ^pnet$tag/${a[0]}\ pnet$tag@[0-9a-f]{8}/${b[0]}$ ]]'
	out=$(sim_ovg "${b[0]}" network inspect n1 2>/dev/null |
		jq -r --arg p "twin$tag" '[.endpoints[] | select(.name == $p or (.name | startswith($p + "@"))) | "\(.name)/\(.node)"] | sort | join(" ")')
	e2e_check "partition healed: the earlier twin$tag keeps the name, the other is twin$tag@${b[0]} ($out)" \
		eval '[[ "$out" == "twin$tag/${a[0]} twin$tag@${b[0]}/${b[0]}" ]]'
	# Clean up what the partition made: endpoints, the twins, the networks.
	ok_all=1
	for e in "${eps[@]}"; do
		read -r h id i <<<"$e"
		sim_ovg "$h" network disconnect "$id" "$SIM_PREFIX-$i" >/dev/null || ok_all=0
	done
	sim_ovg "${a[0]}" network disconnect n1 "$SIM_PREFIX-wa$tag" >/dev/null &&
		sim_ovg "${b[0]}" network disconnect n1 "$SIM_PREFIX-wb$tag" >/dev/null &&
		sim_container_rm "wa$tag" && sim_container_rm "wb$tag" || ok_all=0
	mapfile -t ids < <(jq -r --arg a "pnet$tag" --arg b "pa$tag" --arg c "pb$tag" \
		'.[] | select(.name | (. == $a or . == $b or . == $c or startswith($a + "@"))) | .id' <<<"$ls0")
	for id in "${ids[@]}"; do
		if sim_ovg "${a[0]}" network rm "$id" >/dev/null; then
			E2E_REMOVED+=("$id")
		else
			ok_all=0
		fi
	done
	e2e_check "partition healed: its endpoints disconnected, its ${#ids[@]} networks removed" test "$ok_all" = 1
	e2e_verify "partition cleaned up"
	e2e_check "partition cleaned up: no removed network came back" e2e_none_came_back
	e2e_ping_mesh "partition healed"
}

# Networks removed by the phases: guarantee 4, a deleted record never comes back.
E2E_REMOVED=()
e2e_none_came_back() {
	local h out id nbad=0
	[ "${#E2E_REMOVED[@]}" -eq 0 ] && return 0
	for h in $(sim_running_hosts); do
		out=$(sim_ovg "$h" network ls --format json 2>/dev/null) || return 1
		for id in "${E2E_REMOVED[@]}"; do
			if [[ $out == *"\"$id\""* ]]; then
				echo "  $h lists removed network $id" >&2
				nbad=1
			fi
		done
	done
	[ "$nbad" = 0 ]
}

# (d) e2e_phase_loss SEED SECONDS PERCENT [HOST...]: PERCENT loss on the underlay of HOST...
# (default all) during SECONDS of churn; the checker with the loss on, then without.
e2e_phase_loss() {
	local seed=$1 secs=$2 pct=$3 h hosts=()
	shift 3
	hosts=("$@")
	[ "${#hosts[@]}" -gt 0 ] || mapfile -t hosts < <(sim_hosts)
	e2e_note "loss: $pct% on ${hosts[*]}, $secs s of churn (seed $seed)"
	for h in "${hosts[@]}"; do sim_loss "$h" "$pct" >/dev/null || { e2e_notok "loss: iptables on $h"; return 1; }; done
	# shellcheck disable=SC2046 # host names are single words
	e2e_churn "loss" "$seed" "$secs" $(sim_hosts)
	[ "$E2E_FAILS" = 0 ] || printf '%s' "$E2E_FAILMSG" | head -n 10 | sed 's/^/  # /'
	e2e_check "loss: $E2E_OPS connects/disconnects under $pct% loss, $E2E_FAILS failed" test "$E2E_FAILS" = 0
	e2e_verify "loss ($pct% still on)" 60
	for h in "${hosts[@]}"; do sim_loss "$h" 0 >/dev/null; done
	e2e_verify "loss removed"
	e2e_ping_mesh "loss removed"
}

# e2e_setup WHO: preconditions (root, tools, daemon), temp dir, cleanup trap.
e2e_setup() {
	local c
	if [ "$(id -u)" != 0 ]; then
		echo "$1: needs root, skipped"
		exit 0
	fi
	for c in jq ip bridge nsenter iptables ping; do
		command -v "$c" >/dev/null || { echo "$1: $c missing (make deps)"; exit 1; }
	done
	sim_agent_supported || { echo "$1: $OVGOSSIPD has no agent command"; exit 1; }
	E2E_TAG=e2e$$
	E2E_TMP=$(mktemp -d "/tmp/ovg-e2e.XXXXXX")
	trap e2e_cleanup EXIT
	trap 'exit 130' INT TERM
	E2E_T0=$(sim_now_ms)
	E2E_UP0=$(e2e_uptime)
}

e2e_main() {
	local seed=${E2E_SEED:-1}
	e2e_setup test_e2e
	e2e_note "e2e: seed $seed"
	e2e_note "checker self-test"
	e2e_checker_selftest
	e2e_demo
	e2e_note "cluster of 5"
	if e2e_cluster "${E2E_TAG}c" 5; then
		e2e_verify "cluster of 5 set up"
		e2e_phase_churn "$seed" 20
		e2e_phase_restart "$seed"
		e2e_phase_loss "$seed" 10 10
		e2e_phase_partition "$seed" "" h1 h2
	fi
	echo "# e2e took $((($(sim_now_ms) - E2E_T0) / 1000)) s"
	echo "e2e: $E2E_PASS passed, $E2E_FAIL failed"
	[ "$E2E_FAIL" = 0 ]
}

if [ -z "${E2E_SOURCED:-}" ]; then
	e2e_main "$@"
fi
