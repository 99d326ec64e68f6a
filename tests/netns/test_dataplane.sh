#!/usr/bin/env bash
# Data plane end to end on a 2-host cluster (simulations/lib.sh): an attachable network,
# one container namespace attached on each host; traffic both ways through VXLAN on the
# underlay; the sandbox's vxlan0, neighbour and FDB tables hold exactly the remote
# endpoints; hand-made drift is repaired; an agent killed with -9 and restarted while a
# 10 ms ping runs loses no reply and adopts the kernel untouched; a killed agent's
# endpoints leave the other kernel within the failure bound and come back; disconnect
# removes entries remotely and the sandbox with the last local endpoint; refusals.
set -uo pipefail
REPO=$(cd "$(dirname "$0")/../.." && pwd)
# shellcheck source=../../simulations/lib.sh
. "$REPO/simulations/lib.sh"

# Bounds (seconds). Repair is driven by netlink notifications (~10-20 ms on an idle
# machine; the full repair timer runs every 10 s, so 2 s still tells them apart); the
# failure bound is the DESIGN target for detecting a dead node (~3 s).
REPAIR_BOUND=${REPAIR_BOUND:-2}
FAIL_BOUND=${FAIL_BOUND:-3}
PROPAGATE_BOUND=${PROPAGATE_BOUND:-3}
# Debug logs let us check that a restarted agent makes no kernel change.
: "${OVG_SIM_AGENT_ARGS=--log-level debug}"
export OVG_SIM_AGENT_ARGS

TMP=$(mktemp -d /tmp/ovg-dpt.XXXXXX)
BG_PIDS=()
cleanup() {
	local p
	for p in "${BG_PIDS[@]}"; do kill "$p" 2>/dev/null; done
	sim_down >/dev/null 2>"$TMP/down.err" || { echo "cleanup: sim_down failed:" >&2; cat "$TMP/down.err" >&2; }
	rm -rf "$TMP"
}
fail() {
	echo "FAIL: $*" >&2
	sim_log_tail h1 25 2>/dev/null
	sim_log_tail h2 25 2>/dev/null
	exit 1
}
ok() { echo "ok - $*"; }

sim_use "dpt$$" || exit 1
trap cleanup EXIT
trap 'exit 1' INT TERM

sim_up 2 >/dev/null || fail "cluster up"
P=$SIM_PREFIX
A1=$(sim_addr h1) A2=$(sim_addr h2)

# ---- helpers -------------------------------------------------------------------------

ovg_ok() { # HOST ARGS...: the command must succeed; prints its stdout
	local out
	out=$(sim_ovg "$@" 2>"$TMP/err") || fail "ovgossipd ${*:2} on $1: $(cat "$TMP/err")"
	printf '%s\n' "$out"
}
sandbox_of() { sim_ovg "$1" network inspect "$2" 2>/dev/null | jq -r '.sandbox // ""'; }
# Entries on vxlan0 inside sandbox SB, sorted, one a line.
fdb_self() { # "MAC DST STATE" of the vxlan (self) FDB; bridge-learned (master) entries left out
	nsenter --net="$1" bridge -j fdb show dev vxlan0 2>/dev/null |
		jq -r '.[] | select((.flags // []) | index("self")) | "\(.mac) \(.dst // "-") \(.state // "-")"' | sort
}
neighs() { # "IP LLADDR STATE"
	nsenter --net="$1" ip -j neigh show dev vxlan0 2>/dev/null |
		jq -r '.[] | "\(.dst) \(.lladdr // "-") \((.state // []) | join(","))"' | sort
}
# The exact tables expected for a list of remote endpoints "IP MAC VTEP".
want_fdb() { local ip mac vt; while read -r ip mac vt; do [ -n "$ip" ] && echo "$mac $vt permanent"; done | sort; }
want_neigh() { local ip mac vt; while read -r ip mac vt; do [ -n "$ip" ] && echo "$ip $mac PERMANENT"; done | sort; }
tables_are() { # SB REMOTES: vxlan0's FDB and neighbours hold exactly these remote endpoints
	[ "$(fdb_self "$1")" = "$(want_fdb <<<"$2")" ] && [ "$(neighs "$1")" = "$(want_neigh <<<"$2")" ]
}
show_tables() {
	printf 'fdb (self) on vxlan0:\n%s\nneighbours on vxlan0:\n%s\nwanted:\n%s\n' \
		"$(fdb_self "$1")" "$(neighs "$1")" "$2" >&2
}
mac_of_ip() { printf '02:42:%02x:%02x:%02x:%02x\n' ${1//./ }; }
ifindex() { nsenter --net="$1" ip -j link show "$2" 2>/dev/null | jq -r '.[0].ifindex'; }
elapsed() { echo $(($(sim_now_ms) - $1)); }
# Log lines of HOST's agent since its last start.
log_since_start() { awk '/^=== .* cluster: starting /{ n = NR } { l[NR] = $0 } END { for (i = n; i <= NR; i++) print l[i] }' "$(sim_hostdir "$1")/agent.log"; }

# ---- networks and containers ---------------------------------------------------------

NET=dpnet SUBNET=10.211.0.0/24
ovg_ok h1 network create --attachable --subnet "$SUBNET" "$NET" >/dev/null
ovg_ok h1 network create --subnet 10.212.0.0/24 dpfixed >/dev/null
nets_on_h2() { sim_ovg h2 network inspect "$NET" >/dev/null 2>&1 && sim_ovg h2 network inspect dpfixed >/dev/null 2>&1; }
sim_wait_until 5 nets_on_h2 || fail "networks did not reach h2"
VNI=$(sim_ovg h1 network inspect "$NET" | jq -r .vni)
[[ $VNI =~ ^[0-9]+$ ]] || fail "no VNI in network inspect"

for c in c1 c2 c3 cx; do
	case $c in c2) h=h2 ;; *) h=h1 ;; esac
	sim_container "$h" "$c" >/dev/null || fail "container $c"
done

# c1: default endpoint name (the netns name) and address; c2: --name and --ip.
out1=$(ovg_ok h1 network connect "$NET" "$P-c1")
read -r if1 cidr1 mac1 <<<"$out1"
IP1=${cidr1%/*}
IP2=10.211.0.50
out2=$(ovg_ok h2 network connect --ip "$IP2" --name web2 "$NET" "$P-c2")
read -r if2 cidr2 mac2 <<<"$out2"
[ "$if1" = eth0 ] && [ "$if2" = eth0 ] || fail "container interfaces: '$out1' / '$out2' (want eth0)"
[ "$cidr2" = "$IP2/24" ] || fail "c2 got $cidr2, asked for $IP2"
MAC1=$(mac_of_ip "$IP1") MAC2=$(mac_of_ip "$IP2")
[ "$mac1" = "$MAC1" ] && [ "$mac2" = "$MAC2" ] || fail "connect printed MACs $mac1 $mac2, want $MAC1 $MAC2"
for c in c1 c2; do
	[ $c = c1 ] && { ip=$IP1 mac=$MAC1; } || { ip=$IP2 mac=$MAC2; }
	j=$(sim_exec $c ip -j addr show eth0) || fail "$c has no eth0"
	[ "$(jq -r '.[0].address' <<<"$j")" = "$mac" ] || fail "$c eth0 MAC $(jq -r '.[0].address' <<<"$j"), want $mac"
	[ "$(jq -r '.[0].mtu' <<<"$j")" = 1450 ] || fail "$c eth0 MTU $(jq -r '.[0].mtu' <<<"$j"), want 1450"
	jq -e --arg ip "$ip" '[.[0].addr_info[] | select(.family == "inet" and .local == $ip and .prefixlen == 24)] | length == 1' \
		<<<"$j" >/dev/null || fail "$c eth0 lacks $ip/24"
	jq -e '.[0].operstate == "UP"' <<<"$j" >/dev/null || fail "$c eth0 is not up"
done
names=$(sim_ovg h1 network inspect "$NET" | jq -r '[.endpoints[].name] | sort | join(" ")')
[ "$names" = "$P-c1 web2" ] || fail "endpoint names '$names', want '$P-c1 web2'"
ok "connect: c1 ($IP1, default name) on h1 and c2 (--ip $IP2 --name web2) on h2 get eth0, MAC 02:42:<ip octets>, MTU 1450"

SB1=$(sandbox_of h1 "$NET") SB2=$(sandbox_of h2 "$NET")
[ -n "$SB1" ] && [ -e "$SB1" ] && [ -n "$SB2" ] && [ -e "$SB2" ] || fail "network inspect shows no sandbox: '$SB1' '$SB2'"
grep -q " $SB1 " /proc/self/mountinfo || fail "sandbox $SB1 is not a mount point"

# ---- the sandbox ---------------------------------------------------------------------

R1="$IP2 $MAC2 $A2"   # what h1 must hold: c2 behind h2
R2="$IP1 $MAC1 $A1"   # what h2 must hold: c1 behind h1
sim_wait_until "$PROPAGATE_BOUND" tables_are "$SB1" "$R1" || { show_tables "$SB1" "$R1"; fail "h1's vxlan0 tables"; }
sim_wait_until "$PROPAGATE_BOUND" tables_are "$SB2" "$R2" || { show_tables "$SB2" "$R2"; fail "h2's vxlan0 tables"; }
ok "each sandbox's vxlan0 holds exactly the remote endpoint: permanent neighbour and self FDB entry, dst = the other host"

for sb in "$SB1" "$SB2"; do
	j=$(nsenter --net="$sb" ip -d -j link show vxlan0) || fail "no vxlan0 in $sb"
	jq -e --argjson vni "$VNI" '.[0] | .mtu == 1450 and .linkinfo.info_kind == "vxlan" and
		.linkinfo.info_data.id == $vni and .linkinfo.info_data.port == 4789 and
		.linkinfo.info_data.learning == false and .linkinfo.info_data.proxy == true and
		.master == "br0" and (.flags | index("UP")) != null' <<<"$j" >/dev/null ||
		fail "vxlan0 in $sb: $(jq -c '.[0] | {mtu, master, flags, d: .linkinfo.info_data}' <<<"$j")"
	nsenter --net="$sb" ip -j addr show br0 | jq -e '[.[0].addr_info[] | select(.local == "10.211.0.1" and .prefixlen == 24)] | length == 1' \
		>/dev/null || fail "br0 in $sb does not hold the gateway 10.211.0.1/24"
done
ok "vxlan0: VNI $VNI, port 4789, learning off, proxy on, MTU 1450, on br0 (gateway 10.211.0.1/24)"

# ---- traffic -------------------------------------------------------------------------

capture() { # start tcpdump on the switch's bridge; waits until it listens
	sim_exec sw timeout 20 tcpdump -i br0 -nn -l -c "$1" udp port 4789 >"$TMP/cap" 2>"$TMP/cap.err" &
	CAP_PID=$!
	BG_PIDS+=("$CAP_PID")
	sim_wait_until 5 grep -q "listening on" "$TMP/cap.err" || fail "tcpdump did not start: $(cat "$TMP/cap.err")"
}
capture 8
n=$(sim_ping_count c1 "$IP2" 3 0.1)
[ "$n" = 3 ] || fail "c1 -> c2 ($IP2): $n of 3 replies"
n=$(sim_ping_count c2 "$IP1" 3 0.1)
[ "$n" = 3 ] || fail "c2 -> c1 ($IP1): $n of 3 replies"
ok "ping both ways between c1 (h1) and c2 (h2)"
wait "$CAP_PID" 2>/dev/null
fwd=$(grep -c "IP $A1\.[0-9]* > $A2\.4789: VXLAN, flags \[I\] (0x08), vni $VNI\$" "$TMP/cap")
rev=$(grep -c "IP $A2\.[0-9]* > $A1\.4789: VXLAN, flags \[I\] (0x08), vni $VNI\$" "$TMP/cap")
[ "$fwd" -ge 1 ] && [ "$rev" -ge 1 ] && [ $((fwd + rev)) = 8 ] ||
	fail "underlay capture (want VXLAN vni $VNI between $A1 and $A2 both ways):$(printf '\n%s' "$(cat "$TMP/cap")")"
grep -q "IP $IP1 > $IP2: ICMP echo request" "$TMP/cap" || fail "capture shows no inner echo request $IP1 > $IP2"
ok "underlay capture: UDP 4789 between $A1 and $A2 carrying VNI $VNI ($fwd + $rev packets)"

# ---- repair of hand-made drift -------------------------------------------------------

t=$(sim_now_ms)
nsenter --net="$SB1" bridge fdb del "$MAC2" dev vxlan0 self || fail "bridge fdb del"
sim_wait_until "$REPAIR_BOUND" tables_are "$SB1" "$R1" || { show_tables "$SB1" "$R1"; fail "FDB entry deleted by hand not restored within ${REPAIR_BOUND}s"; }
d1=$(elapsed "$t")
t=$(sim_now_ms)
nsenter --net="$SB1" ip neigh del "$IP2" dev vxlan0 || fail "ip neigh del"
sim_wait_until "$REPAIR_BOUND" tables_are "$SB1" "$R1" || { show_tables "$SB1" "$R1"; fail "neighbour deleted by hand not restored within ${REPAIR_BOUND}s"; }
d2=$(elapsed "$t")
t=$(sim_now_ms)
nsenter --net="$SB1" ip neigh replace "$IP2" lladdr 02:42:de:ad:be:ef dev vxlan0 nud permanent || fail "ip neigh replace"
nsenter --net="$SB1" bridge fdb replace "$MAC2" dev vxlan0 dst 192.168.77.250 self permanent || fail "bridge fdb replace"
sim_wait_until "$REPAIR_BOUND" tables_are "$SB1" "$R1" || { show_tables "$SB1" "$R1"; fail "entries changed by hand not corrected within ${REPAIR_BOUND}s"; }
d3=$(elapsed "$t")
t=$(sim_now_ms)
nsenter --net="$SB1" ip neigh add 10.211.0.99 lladdr 02:42:0a:d3:00:63 dev vxlan0 nud permanent || fail "ip neigh add"
nsenter --net="$SB1" bridge fdb add 02:42:0a:d3:00:63 dev vxlan0 dst 192.168.77.250 self permanent || fail "bridge fdb add"
sim_wait_until "$REPAIR_BOUND" tables_are "$SB1" "$R1" || { show_tables "$SB1" "$R1"; fail "bogus entries added by hand not removed within ${REPAIR_BOUND}s"; }
d4=$(elapsed "$t")
ok "drift repaired within ${REPAIR_BOUND}s: FDB deleted ${d1} ms, neighbour deleted ${d2} ms, both altered ${d3} ms, bogus pair added ${d4} ms (100 ms poll)"

# ---- refusals --------------------------------------------------------------------------

eps_before=$(sim_ovg h1 network inspect "$NET" | jq -c '.endpoints | sort_by(.name)')
refuse() { # WHAT HOST ARGS...: exit 1, one line "ovgossipd: ..." on stderr, nothing on stdout
	local what=$1 out rc err
	shift
	out=$(sim_ovg "$@" 2>"$TMP/err")
	rc=$?
	err=$(cat "$TMP/err")
	[ "$rc" = 1 ] || fail "$what: exit $rc, want 1 (stdout '$out', stderr '$err')"
	[ -z "$out" ] || fail "$what: printed '$out' on stdout"
	[ "$(wc -l <"$TMP/err")" = 1 ] && [[ $err == "ovgossipd: "* ]] || fail "$what: stderr '$err', want one line 'ovgossipd: ...'"
	printf '    %-34s %s\n' "$what:" "$err"
}
refuse "unknown namespace" h1 network connect "$NET" "$P-nosuch"
refuse "network not attachable" h1 network connect dpfixed "$P-cx"
refuse "address outside the subnet" h1 network connect --ip 10.99.0.5 "$NET" "$P-cx"
refuse "address taken (remote endpoint)" h1 network connect --ip "$IP2" "$NET" "$P-cx"
refuse "address taken (local endpoint)" h1 network connect --ip "$IP1" "$NET" "$P-cx"
refuse "name taken (remote endpoint)" h1 network connect --name web2 "$NET" "$P-cx"
refuse "name taken (local endpoint)" h1 network connect --name "$P-c1" "$NET" "$P-cx"
refuse "namespace already on the network" h1 network connect "$NET" "$P-c1"
refuse "same, under another name" h1 network connect --name other "$NET" "$P-c1"
refuse "unknown network" h1 network connect nosuchnet "$P-cx"
[ "$(sim_ovg h1 network inspect "$NET" | jq -c '.endpoints | sort_by(.name)')" = "$eps_before" ] ||
	fail "a refused connect changed the endpoints"
[ "$(sim_exec cx ip -j link show | jq -r '[.[].ifname] | join(" ")')" = lo ] || fail "a refused connect left an interface in cx"
tables_are "$SB1" "$R1" && tables_are "$SB2" "$R2" || fail "a refused connect changed the vxlan0 tables"
ok "refusals: exit 1, one 'ovgossipd: ' line each, endpoints, container and tables unchanged"

# ---- kill -9 and restart under a 10 ms ping ------------------------------------------

snapshot() { # everything an agent touching the kernel would change on h1
	printf 'sb %s\n' "$(stat -L -c %i "$SB1")"
	printf 'br0 %s vxlan0 %s veth %s\n' "$(ifindex "$SB1" br0)" "$(ifindex "$SB1" vxlan0)" \
		"$(nsenter --net="$SB1" ip -j link show master br0 | jq -r '[.[] | "\(.ifname)=\(.ifindex)"] | sort | join(",")')"
	printf 'eth0 %s\n' "$(sim_exec c1 ip -j link show eth0 | jq -c '.[0] | [.ifindex, .address, .mtu, .operstate]')"
	fdb_self "$SB1"
	neighs "$SB1"
}
before=$(snapshot)
[[ $before =~ sb\ [0-9]+ && $before == *"veth vh"*=[0-9]* && $before == *"$MAC2 $A2 permanent"* ]] ||
	fail "kernel snapshot incomplete: $before"
PING_COUNT=600
sim_exec c1 ping -n -q -i 0.01 -W 1 -c "$PING_COUNT" "$IP2" >"$TMP/ping" 2>&1 &
PING_PID=$!
BG_PIDS+=("$PING_PID")
rx_packets() { sim_exec c1 ip -s -j link show eth0 | jq '.[0].stats64.rx.packets'; }
rx0=$(rx_packets)
replies_flow() { [ "$(rx_packets)" -ge $((rx0 + 20)) ]; }
sim_wait_until 3 replies_flow || fail "ping did not start"

t=$(sim_now_ms)
sim_agent_kill h1 >/dev/null || fail "kill -9 h1's agent"
sim_agent_start h1 >/dev/null || fail "restart h1's agent"
dr=$(elapsed "$t")
# The restarted agent settles (reconciles with the converged state) about 1 s after it
# joins; the ping must still run then.
settled() { log_since_start h1 | grep -q "data plane: reconciling the kernel"; }
sim_wait_until 12 settled || fail "restarted agent on h1 never reconciled"
# One loop thread: once it answers a command, the reconcile it logged is done.
sim_ovg h1 members >/dev/null 2>&1 || fail "restarted agent on h1 does not answer"
kill -0 "$PING_PID" 2>/dev/null || fail "the ping ended before the restarted agent settled; raise PING_COUNT"
after=$(snapshot)
wait "$PING_PID"
rx=$(sed -n 's/.* \([0-9]*\) received.*/\1/p' "$TMP/ping") tx=$(sed -n 's/^\([0-9]*\) packets transmitted.*/\1/p' "$TMP/ping")
[ -n "$tx" ] && [ "$tx" = "$PING_COUNT" ] && [ "$rx" = "$tx" ] || fail "ping across the restart: $(grep transmitted "$TMP/ping")"
[ "$after" = "$before" ] || fail "the restarted agent changed the kernel:$(diff <(echo "$before") <(echo "$after"))"
if [[ $OVG_SIM_AGENT_ARGS == *debug* ]]; then
	! log_since_start h1 | grep -E "reconcile: [1-9][0-9]* changes" >&2 || fail "the restarted agent made kernel changes (log above)"
fi
ok "kill -9 + restart of h1's agent (${dr} ms) under ping -i 0.01: $rx/$tx replies; sandbox, links, tables untouched"

# ---- failure bound ---------------------------------------------------------------------

# A light poll (one fork pair) so the measurement costs little on a loaded machine; the
# exact tables are checked right after.
neigh_gone() { ! nsenter --net="$SB1" ip neigh show dev vxlan0 | grep -q PERMANENT; }
# cx joins now and leaves while h2 is down; c3 joins while h2 is down.
IPX=10.211.0.60 IP3=10.211.0.70
MACX=$(mac_of_ip "$IPX") MAC3=$(mac_of_ip "$IP3")
ovg_ok h1 network connect --ip "$IPX" "$NET" "$P-cx" >/dev/null
R2x=$(printf '%s\n%s %s %s' "$R2" "$IPX" "$MACX" "$A1")
sim_wait_until "$PROPAGATE_BOUND" tables_are "$SB2" "$R2x" || { show_tables "$SB2" "$R2x"; fail "h2 with cx"; }
t=$(sim_now_ms)
sim_agent_kill h2 >/dev/null || fail "kill -9 h2's agent"
sim_wait_until "$FAIL_BOUND" neigh_gone || { show_tables "$SB1" ""; fail "killed h2's endpoint still in h1's kernel after ${FAIL_BOUND}s"; }
df=$(elapsed "$t")
sim_wait_until 1 tables_are "$SB1" "" || { show_tables "$SB1" ""; fail "killed h2's FDB entry stays on h1"; }
ovg_ok h1 network disconnect "$NET" "$P-cx" >/dev/null
ovg_ok h1 network connect --ip "$IP3" "$NET" "$P-c3" >/dev/null
R2b=$(printf '%s\n%s %s %s' "$R2" "$IP3" "$MAC3" "$A1")
t=$(sim_now_ms)
sim_agent_start h2 >/dev/null || fail "restart h2's agent"
sim_wait_until "$FAIL_BOUND" tables_are "$SB1" "$R1" || { show_tables "$SB1" "$R1"; fail "restarted h2's endpoint not back in h1's kernel within ${FAIL_BOUND}s"; }
db=$(elapsed "$t")
n=$(sim_ping_count c1 "$IP2" 3 0.1)
[ "$n" = 3 ] || fail "c1 -> c2 after h2's restart: $n of 3"
# The restarted agent adopts its kernel (still holding cx) and, once settled (~1 s after
# it joins), applies what changed while it was down.
sim_wait_until "$PROPAGATE_BOUND" tables_are "$SB2" "$R2b" || { show_tables "$SB2" "$R2b"; fail "h2 after its restart: cx left and c3 joined while it was down"; }
ok "kill -9 h2's agent: its endpoint leaves h1's kernel after ${df} ms; restarted, back after ${db} ms (incl. start); ping works; changes made meanwhile (cx left, c3 joined) reach h2's kernel"

# ---- disconnect ------------------------------------------------------------------------

[ "$(sandbox_of h1 "$NET")" = "$SB1" ] || fail "more local endpoints changed the sandbox"

t=$(sim_now_ms)
o=$(ovg_ok h1 network disconnect "$NET" "$P-c1")
sim_wait_until "$PROPAGATE_BOUND" tables_are "$SB2" "$IP3 $MAC3 $A1" || { show_tables "$SB2" "$IP3 $MAC3 $A1"; fail "c1's entries not removed on h2 after disconnect"; }
dd=$(elapsed "$t")
[ "$(sim_exec c1 ip -j link show | jq -r '[.[].ifname] | join(" ")')" = lo ] || fail "c1 still has an interface after disconnect"
[ -e "$SB1" ] && [ "$(sandbox_of h1 "$NET")" = "$SB1" ] || fail "sandbox gone while c3 is still attached on h1"
[ "$(sim_ping_count c2 "$IP3" 2 0.1)" = 2 ] || fail "c2 -> c3 after c1's disconnect"
ok "disconnect c1 ('$o'): gone from h2's kernel after ${dd} ms (incl. the CLI); c1 left with lo; sandbox stays for c3"

vxsock() { [ -n "$(sim_exec h1 ss -Hnul 'sport = :4789')" ]; }
vxsock || fail "no UDP 4789 socket in h1's namespace while the sandbox exists"
ovg_ok h1 network disconnect "$NET" "$P-c3" >/dev/null
[ ! -e "$SB1" ] || fail "sandbox $SB1 still there after the last local endpoint left"
! grep -q " $SB1 " /proc/self/mountinfo || fail "sandbox $SB1 still mounted"
[ -z "$(sandbox_of h1 "$NET")" ] || fail "network inspect still shows a sandbox on h1"
sim_wait_until "$PROPAGATE_BOUND" tables_are "$SB2" "" || { show_tables "$SB2" ""; fail "h2 still holds entries of h1's departed endpoints"; }
# the namespace goes asynchronously once unmounted; vxlan0 and its socket with it
sim_wait_until 5 eval '! vxsock' || fail "h1 still listens on UDP 4789 after its sandbox went"
refuse "disconnect a namespace not on it" h1 network disconnect "$NET" "$P-c3"
ok "last local endpoint gone: h1's sandbox unmounted and removed (vxlan socket closed), inspect shows none; h2's vxlan0 is empty"

echo "dataplane: all passed"
