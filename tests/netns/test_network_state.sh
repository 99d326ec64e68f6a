#!/usr/bin/env bash
# Replicated network state end to end: 3 agents in 3 namespaces (simulations/lib.sh).
#  - a network made on one agent is listed by the others with identical inspect output
#    (minus the host-specific "sandbox"), and `network ls --format json` is equal everywhere
#  - rm propagates; the name is reusable afterwards with a new id
#  - every bad input is refused: one `ovgossipd: ...` line on stderr, exit 1, nothing changed
#  - connect into container namespaces, and what connect and rm refuse
#  - an agent restart keeps its endpoints, addresses and the container's interface
#  - concurrent creates of one name (and one VNI) in a partition resolve identically
#  - node rm: refused for an alive node; for a killed one its endpoints leave every view
set -uo pipefail
REPO=$(cd "$(dirname "$0")/../.." && pwd)
# shellcheck source=../../simulations/lib.sh
. "$REPO/simulations/lib.sh"

HOSTS=(h1 h2 h3)
T0=$(sim_now_ms)

# Times the kernel's IPv4 neighbour table was full (it is shared by every namespace on the
# machine, gc_thresh3 counts all their non-permanent entries): when it overflows, ARP
# between the hosts fails and agents cannot reach each other, whatever ovgossipd does.
arp_fulls() {
	local n=0 f
	while read -r -a f; do
		[[ ${f[12]:-} =~ ^[0-9a-f]+$ ]] && n=$((n + 16#${f[12]}))
	done </proc/net/stat/arp_cache
	echo "$n"
}
ARP0=$(arp_fulls)

fail() {
	local h n
	echo "FAIL: $*" >&2
	n=$(($(arp_fulls) - ARP0))
	[ "$n" -gt 0 ] && echo "  note: the kernel's shared IPv4 neighbour table overflowed $n times during this test (another large cluster on this machine?)" >&2
	for h in "${HOSTS[@]}"; do sim_log_tail "$h" 20 2>&1 | sed 's/^/  /' >&2; done
	exit 1
}
ok() { echo "ok - $* ($(( ($(sim_now_ms) - T0) / 1000 )) s)"; }

sim_use "nst$$" || exit 1
trap 'sim_down >/dev/null 2>&1' EXIT INT TERM
sim_up 3 >/dev/null || fail "cluster up"
sim_wait_converged 20 || fail "3 members did not converge"

# ---- helpers ---------------------------------------------------------------------------

ls_json() { sim_ovg "$1" network ls --format json 2>/dev/null; }
ls_table() { sim_ovg "$1" network ls 2>/dev/null; }
# inspect without the host-specific key, keys sorted
inspect_norm() {
	local out
	out=$(sim_ovg "$1" network inspect "$2" 2>/dev/null) || return 1
	jq -S 'del(.sandbox)' <<<"$out"
}

# same_on_all CMD ARG...: CMD HOST ARG... succeeds on every host with identical output.
same_on_all() {
	local cmd=$1 first='' out h
	shift
	for h in "${HOSTS[@]}"; do
		out=$("$cmd" "$h" "$@") || return 1
		if [ "$h" = "${HOSTS[0]}" ]; then
			first=$out
		elif [ "$out" != "$first" ]; then
			return 1
		fi
	done
	return 0
}

# listed_on_all ID: every host's `network ls` holds the network ID.
listed_on_all() {
	local h
	for h in "${HOSTS[@]}"; do
		ls_json "$h" | jq -e --arg id "$1" 'any(.[]; .id == $id)' >/dev/null 2>&1 || return 1
	done
}
gone_on_all() {
	local h
	for h in "${HOSTS[@]}"; do
		ls_json "$h" | jq -e --arg id "$1" 'all(.[]; .id != $id)' >/dev/null 2>&1 || return 1
	done
}

# What "nothing changed" compares: every host's `network ls` table (ids, names, VNIs,
# subnets, gateways, endpoint counts, conflict notes), h1's `network ls --format json`
# and, given container names, their addresses.
snapshot() {
	local h c
	ls_json h1
	for h in "${HOSTS[@]}"; do
		printf '== %s\n' "$h"
		ls_table "$h"
	done
	for c in "$@"; do
		printf '== %s\n' "$c"
		sim_exec "$c" ip -o addr show 2>&1
	done
}

# refused DESC REGEX [--ns C...] -- HOST ARGS...: the command exits 1 with nothing on
# stdout and exactly one line on stderr, starting "ovgossipd: " and matching REGEX
# (extended, case-insensitive); snapshot() is the same before and after.
refused() {
	local desc=$1 re=$2 ns=() before after out err rc
	shift 2
	if [ "${1:-}" = --ns ]; then
		shift
		while [ "$1" != -- ]; do ns+=("$1"); shift; done
	fi
	[ "${1:-}" = -- ] && shift
	before=$(snapshot "${ns[@]}")
	out=$(sim_ovg "$@" 2>"$SIM_WORK/stderr")
	rc=$?
	err=$(cat "$SIM_WORK/stderr")
	after=$(snapshot "${ns[@]}")
	[ "$rc" = 1 ] || fail "$desc: '$*' exited $rc (want 1); stdout '$out' stderr '$err'"
	[ -z "$out" ] || fail "$desc: '$*' printed on stdout: $out"
	[ "$(printf '%s\n' "$err" | wc -l)" = 1 ] || fail "$desc: '$*': stderr is not one line: $err"
	[[ $err == "ovgossipd: "* ]] || fail "$desc: '$*': stderr does not start with 'ovgossipd: ': $err"
	grep -Eqi -- "$re" <<<"$err" || fail "$desc: '$*': message '$err' does not match /$re/"
	[ "$before" = "$after" ] || fail "$desc: '$*' changed something:
$(diff <(printf '%s\n' "$before") <(printf '%s\n' "$after"))"
	echo "   refused: $desc -> $err"
}

create() { # HOST ARGS...: prints the new id
	local id
	id=$(sim_ovg "$@") || fail "network create on $1 (${*:2}) failed"
	[[ $id =~ ^[0-9a-f]{32}$ ]] || fail "network create on $1 printed '$id', not a 32-hex id"
	printf '%s\n' "$id"
}

status_of() { # HOST NAME -> membership status
	sim_ovg "$1" members --format json 2>/dev/null | jq -r --arg n "$2" '.[] | select(.name == $n) | .status'
}

# ---- create, ls, inspect ---------------------------------------------------------------

id_a=$(create h1 network create --subnet 10.61.0.0/24 --gateway 10.61.0.254 --vni 6100 --attachable nst-a)
sim_wait_until 5 listed_on_all "$id_a" || fail "network nst-a ($id_a) not listed everywhere within 5 s"
sim_wait_until 5 same_on_all ls_json || fail "network ls --format json differs between hosts"
same_on_all inspect_norm nst-a || fail "network inspect nst-a differs between hosts"
same_on_all inspect_norm "${id_a:0:12}" || fail "network inspect by id prefix differs between hosts"
insp=$(inspect_norm h3 nst-a)
jq -e --arg id "$id_a" '.id == $id and .name == "nst-a" and .vni == 6100 and .subnet == "10.61.0.0/24"
	and .gateway == "10.61.0.254" and .attachable == true and .endpoints == []' <<<"$insp" >/dev/null ||
	fail "inspect nst-a on h3 does not show what h1 created: $insp"
# defaults: next free /24 of 10.0.0.0/8, first address as gateway, an automatic VNI
id_d=$(create h2 network create nst-d)
sim_wait_until 5 listed_on_all "$id_d" || fail "network nst-d not listed everywhere"
insp=$(inspect_norm h1 nst-d)
jq -e '(.subnet | test("^10\\.[0-9]+\\.[0-9]+\\.0/24$")) and (.gateway == (.subnet | sub("0/24$"; "1")))
	and .vni >= 1 and .vni <= 16777215 and .attachable == false' <<<"$insp" >/dev/null ||
	fail "nst-d does not have the default subnet/gateway/VNI: $insp"
sim_wait_until 5 same_on_all ls_json || fail "network ls --format json differs between hosts"
ok "network created on h1/h2 is listed by all 3 with identical inspect (minus sandbox) and ls --format json"

# ---- rm propagates; the name is reusable -------------------------------------------------

id_g=$(create h1 network create --subnet 10.62.0.0/24 nst-gone)
sim_wait_until 5 listed_on_all "$id_g" || fail "nst-gone not listed everywhere"
out=$(sim_ovg h2 network rm nst-gone 2>&1) || fail "network rm nst-gone on h2 (not its creator): $out"
sim_wait_until 5 gone_on_all "$id_g" || fail "removed nst-gone still listed somewhere after 5 s"
refused "inspect of a removed network" "not found" -- h3 network inspect nst-gone
refused "inspect of a removed network by id" "not found" -- h1 network inspect "$id_g"
id_g2=$(create h3 network create --subnet 10.62.0.0/24 nst-gone)
[ "$id_g2" != "$id_g" ] || fail "re-created nst-gone got the old id $id_g"
sim_wait_until 5 listed_on_all "$id_g2" || fail "re-created nst-gone not listed everywhere"
sim_wait_until 5 same_on_all ls_json || fail "ls differs after rm and re-create"
ls_json h1 | jq -e --arg id "$id_g" --arg id2 "$id_g2" \
	'all(.[]; .id != $id) and ([.[] | select(.name == "nst-gone") | .id] == [$id2])' >/dev/null ||
	fail "after re-create, ls shows: $(ls_json h1)"
ok "rm on h2 of h1's network is gone everywhere; the name is reused with a new id on h3"

# ---- bad input to create, inspect, rm ----------------------------------------------------

for cidr in 10.0.0.0/33 10.0.0/24 abc 10.63.0.0/ 10.63.0.0/-1 300.1.2.0/24 10.63.0.1/24; do
	refused "malformed subnet $cidr" "subnet" -- h1 network create --subnet "$cidr" nst-bad
done
refused "gateway outside the subnet" "gateway.*outside" -- h2 network create --subnet 10.63.0.0/24 --gateway 10.64.0.1 nst-bad
refused "malformed gateway" "gateway" -- h2 network create --subnet 10.63.0.0/24 --gateway 10.63.0.300 nst-bad
refused "subnet overlapping another network's (inside)" "overlap.*nst-a" -- h3 network create --subnet 10.61.0.128/25 nst-bad
refused "subnet overlapping another network's (around)" "overlap.*nst-a" -- h2 network create --subnet 10.60.0.0/15 nst-bad
refused "taken name" "nst-a.*exists|exists.*nst-a" -- h2 network create --subnet 10.63.0.0/24 nst-a
refused "taken VNI" "VNI.*6100" -- h3 network create --subnet 10.63.0.0/24 --vni 6100 nst-bad
for vni in 0 16777216 -1 abc 1e3 ''; do
	refused "VNI '$vni' out of range" "VNI" -- h1 network create --subnet 10.63.0.0/24 --vni "$vni" nst-bad
done
refused "inspect of an unknown network" "nst-nope.*not found" -- h2 network inspect nst-nope
refused "rm of an unknown network" "nst-nope.*not found" -- h3 network rm nst-nope
refused "create without a name" "name|NAME" -- h1 network create --subnet 10.63.0.0/24
refused "unknown option" "option" -- h1 network create --subnett 10.63.0.0/24 nst-bad
ok "bad create/inspect/rm input refused with one 'ovgossipd:' line, exit 1, nothing changed"

# ---- endpoints: connect, and what connect and rm refuse -----------------------------------

c1=$(sim_container h2 c1) || fail "container c1"
c2=$(sim_container h3 c2) || fail "container c2"
c3=$(sim_container h3 c3) || fail "container c3"
out=$(sim_ovg h2 network connect nst-a "$c1" 2>&1) || fail "connect c1 to nst-a on h2: $out"
ip1=$(sim_ovg h2 network inspect nst-a | jq -r --arg n "$c1" '.endpoints[] | select(.name == $n) | .ip')
[[ $ip1 =~ ^10\.61\.0\.[0-9]+$ ]] || fail "c1's endpoint has no address in nst-a: '$ip1'"
sim_exec c1 ip -o -4 addr show | grep -q " $ip1/24 " || fail "c1's namespace does not hold $ip1/24"
out=$(sim_ovg h3 network connect --ip 10.61.0.20 nst-a "$c2" 2>&1) || fail "connect c2 --ip 10.61.0.20: $out"
has_eps() { inspect_norm "$1" nst-a | jq -e --arg a "$c1" --arg b "$c2" --arg ip "$ip1" \
	'[.endpoints[] | select((.name == $a and .node == "h2" and .ip == $ip) or
		(.name == $b and .node == "h3" and .ip == "10.61.0.20"))] | length == 2' >/dev/null; }
for h in "${HOSTS[@]}"; do sim_wait_until 5 has_eps "$h" || fail "$h does not show both endpoints: $(inspect_norm "$h" nst-a)"; done
sim_wait_until 5 same_on_all inspect_norm nst-a || fail "inspect nst-a with endpoints differs between hosts"
sim_wait_until 5 same_on_all ls_table || fail "network ls (endpoint counts) differs between hosts"
[ "$(sim_ping_count c1 10.61.0.20 3 0.1)" -ge 1 ] || fail "c1 ($ip1, h2) cannot reach c2 (10.61.0.20, h3)"
ok "connect on h2 and h3 (--ip): both endpoints in every inspect, identical; c1 reaches c2"

id_p=$(create h1 network create --subnet 10.65.0.0/24 nst-plain)
sim_wait_until 5 listed_on_all "$id_p" || fail "nst-plain not listed everywhere"
refused "connect to a non-attachable network" "attachable" --ns c3 -- h3 network connect nst-plain "$c3"
refused "connect with --ip outside the subnet" "outside" --ns c3 -- h3 network connect --ip 10.66.0.5 nst-a "$c3"
refused "connect with --ip taken (by h2's endpoint)" "in use|taken" --ns c3 -- h3 network connect --ip "$ip1" nst-a "$c3"
refused "connect with --ip taken (gateway)" "reserved|in use|gateway" --ns c3 -- h3 network connect --ip 10.61.0.254 nst-a "$c3"
refused "connect with a malformed --ip" "address|ip" --ns c3 -- h3 network connect --ip 10.61.0 nst-a "$c3"
refused "connect with a taken endpoint name" "endpoint with name $c1 already exists in network nst-a" \
	--ns c3 -- h3 network connect --name "$c1" nst-a "$c3"
refused "connect of a namespace already on the network" "already connected" --ns c2 -- h3 network connect nst-a "$c2"
refused "connect of an unknown namespace" "nst-nons.*not found" -- h3 network connect nst-a "nst-nons$$"
refused "connect to an unknown network" "nst-nope.*not found" --ns c3 -- h3 network connect nst-nope "$c3"
refused "rm of a network with endpoints" "$c2|$c1" -- h1 network rm nst-a
refused "rm of a network with endpoints (by the endpoint's node)" "$c1|$c2" -- h2 network rm nst-a
ok "connect and rm refusals: one 'ovgossipd:' line, exit 1, nothing changed (ls, container interfaces)"

# ---- restart keeps endpoints and addresses (guarantee 5) ----------------------------------

# a crash (kill -9) and start: c1 (h2) keeps reaching c2 (h3) without losing a packet
before=$(inspect_norm h3 nst-a)
link_before=$(sim_exec c2 ip -o link show eth0) || fail "c2 has no eth0"
sim_ping_count c1 10.61.0.20 250 0.02 >"$SIM_WORK/ping" &
ping_pid=$!
# shellcheck disable=SC2016 # eval'd later
sim_wait_until 2 eval '[ -n "$(ip netns pids "$SIM_PREFIX-c1")" ]' || fail "ping in c1 did not start"
sleep 0.3   # some echoes before the kill
sim_agent_kill h3 >/dev/null || fail "kill h3"
sim_agent_start h3 >/dev/null || fail "start h3 after kill -9"
wait "$ping_pid"
[ "$(cat "$SIM_WORK/ping")" = 250 ] || fail "c1 -> c2 lost packets across h3's kill -9 and start: $(cat "$SIM_WORK/ping")/250 answered"
sim_wait_converged 10 || fail "cluster did not converge after h3's start"
[ "$(inspect_norm h3 nst-a)" = "$before" ] || fail "h3 after kill -9 + start shows: $(inspect_norm h3 nst-a)
before: $before"
ok "kill -9 and start of h3: endpoint and address kept, 250/250 pings c1 -> c2 (20 ms apart) answered"

# a graceful restart (SIGTERM, start)
sim_agent_restart h3 >/dev/null || fail "restart of h3's agent"
sim_wait_converged 10 || fail "cluster did not converge after h3's restart"
[ "$(inspect_norm h3 nst-a)" = "$before" ] || fail "h3 after restart shows: $(inspect_norm h3 nst-a)
before: $before"
sim_wait_until 5 same_on_all inspect_norm nst-a || fail "inspect nst-a differs between hosts after h3's restart"
[ "$(sim_exec c2 ip -o link show eth0)" = "$link_before" ] || fail "c2's eth0 changed across the restarts"
sim_exec c2 ip -o -4 addr show dev eth0 | grep -q " 10.61.0.20/24 " || fail "c2 lost 10.61.0.20 across the restarts"
[ "$(sim_ping_count c1 10.61.0.20 3 0.1)" -ge 1 ] || fail "c1 cannot reach c2 after h3's restart"
ok "SIGTERM restart of h3 keeps its endpoint (10.61.0.20), the container's eth0, and identical views"

# ---- concurrent creates in a partition -----------------------------------------------------

sim_partition h3 >/dev/null || fail "partition"
split_seen() {
	[ "$(status_of h1 h3)" != alive ] && [ "$(status_of h2 h3)" != alive ] &&
		[ "$(status_of h3 h1)" != alive ] && [ "$(status_of h3 h2)" != alive ]
}
sim_wait_until 10 split_seen || fail "the partition was not noticed by membership within 10 s"
id_s1=$(create h1 network create --subnet 10.67.0.0/24 nst-split)
id_v1=$(create h2 network create --subnet 10.68.0.0/24 --vni 6800 nst-vni-a)
id_s3=$(create h3 network create --subnet 10.69.0.0/24 nst-split)
id_v3=$(create h3 network create --subnet 10.70.0.0/24 --vni 6800 nst-vni-b)
ls_json h3 | jq -e 'all(.[]; .name != "nst-vni-a")' >/dev/null || fail "h3 saw h2's network across the partition"
sim_heal >/dev/null || fail "heal"
sim_wait_converged 20 || fail "members did not converge after heal"
all_four() { local i; for i in "$id_s1" "$id_s3" "$id_v1" "$id_v3"; do listed_on_all "$i" || return 1; done; }
sim_wait_until 10 all_four || fail "the 4 networks made in the partition are not listed everywhere 10 s after heal"
sim_wait_until 5 same_on_all ls_json || fail "network ls --format json differs after heal"
sim_wait_until 5 same_on_all ls_table || fail "network ls differs after heal"
ls=$(ls_json h2)
# exactly one keeps the name, the other is shown renamed; h1 created first: its one wins
jq -e --arg w "$id_s1" --arg l "$id_s3" '
	([.[] | select(.name == "nst-split")] | map(.id)) == [$w] and
	([.[] | select(.id == $l)][0].name) == ("nst-split@" + $l[0:8])' <<<"$ls" >/dev/null ||
	fail "name conflict not resolved as expected: $ls"
# one VNI, one usable network: the earlier (h2's)
jq -e --arg w "$id_v1" --arg l "$id_v3" '
	([.[] | select(.vni == 6800 and .usable)] | map(.id)) == [$w] and
	([.[] | select(.id == $l)][0].usable) == false' <<<"$ls" >/dev/null ||
	fail "VNI conflict not resolved as expected: $ls"
for i in "$id_s1" "$id_s3"; do same_on_all inspect_norm "$i" || fail "inspect $i differs after heal"; done
ok "partition: nst-split and VNI 6800 created on both sides resolve identically on all 3 after heal"

# ---- node rm ----------------------------------------------------------------------------

refused "node rm of an alive node" "alive" -- h1 node rm h2
refused "node rm of an unknown node" "unknown|not found" -- h1 node rm nst-nobody
sim_agent_kill h2 >/dev/null || fail "kill h2"
HOSTS=(h1 h3)
# shellcheck disable=SC2016 # eval'd later
sim_wait_until 15 eval '[ "$(status_of h1 h2)" = dead ] && [ "$(status_of h3 h2)" = dead ]' ||
	fail "h2 not dead on h1 and h3 within 15 s"
out=$(sim_ovg h1 node rm h2 2>&1) || fail "node rm h2 (dead) on h1: $out"
no_h2_eps() { inspect_norm "$1" nst-a | jq -e 'all(.endpoints[]; .node != "h2") and
	any(.endpoints[]; .node == "h3")' >/dev/null; }
for h in h1 h3; do sim_wait_until 5 no_h2_eps "$h" || fail "$h still shows h2's endpoints: $(inspect_norm "$h" nst-a)"; done
sim_wait_until 5 same_on_all inspect_norm nst-a || fail "inspect nst-a differs between h1 and h3 after node rm"
refused "node rm of a removed node" "already removed" -- h3 node rm h2
ok "node rm: refused while h2 is alive; after kill -9 it is accepted and h2's endpoint leaves every inspect"

echo "network state: all passed in $(( ($(sim_now_ms) - T0) / 1000 )) s"
