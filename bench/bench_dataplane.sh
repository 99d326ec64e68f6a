#!/usr/bin/env bash
# Data plane latency on simulated clusters (simulations/lib.sh), see bench/README-dataplane.md.
#
# (a) attach -> remote kernel: `network connect` on host A (h1) until the permanent
#     neighbour AND the self FDB entry of the new endpoint are on vxlan0 in host B's sandbox
#     (B = the last host), and on every other host's. Measured with `ip -ts monitor neigh`
#     running inside each remote sandbox (kernel notifications, stamped by ip at receipt,
#     1 us resolution); t0 is taken in this shell just before the CLI is started, so the
#     latency includes the CLI (nsenter + ovgossipd client + control socket), the local
#     attach, gossip to B and B's netlink write.
# (b) connect -> first ping reply: a container on B pings (`ping -D -i 0.002`) the address
#     the new endpoint on A will get (--ip), started before the connect; latency = time
#     stamp of the first echo reply - t0. The pinging container's ARP retransmit time is
#     lowered to 10 ms (its kernel's minimum; default 1 s), otherwise the wait for the next
#     ARP retry dominates; a few runs with the default are reported too.
#
# usage: bench_dataplane.sh [--attaches N] [--pings N] [--default-pings N] [--hosts "2 20"]
#                           [--root DIR] [--nice N] [--strict] [--out FILE]
# --root DIR puts the clusters' work dirs (the agents' state dirs) there instead of
# $OVG_SIM_ROOT (default /run/ovg-sim): a connect writes the state dir with fsync before
# the endpoint is announced, so the file system under it is part of what is measured.
# --nice N runs everything (agents, CLI, monitors, pings) at niceness N, e.g. -15 to shield
# the measurement from other work on a shared machine. --strict: exit 1 if a target is missed.
set -uo pipefail
REPO=$(cd "$(dirname "$0")/.." && pwd)
# shellcheck source=../simulations/lib.sh
. "$REPO/simulations/lib.sh"

ATTACHES=100 PINGS=30 DEFAULT_PINGS=10 HOSTS_LIST="2 20" STRICT=0 OUT='' NICE=''
ARGS=("$@")
while [ $# -gt 0 ]; do
	case $1 in
	--attaches) ATTACHES=$2; shift 2 ;;
	--pings) PINGS=$2; shift 2 ;;
	--default-pings) DEFAULT_PINGS=$2; shift 2 ;;
	--hosts) HOSTS_LIST=$2; shift 2 ;;
	--strict) STRICT=1; shift ;;
	--nice) NICE=$2; shift 2 ;;
	--root) OVG_SIM_ROOT=$2; shift 2 ;;
	--out) OUT=$2; shift 2 ;;
	*) echo "usage: $0 [--attaches N] [--pings N] [--default-pings N] [--hosts \"2 20\"] [--root DIR] [--nice N] [--strict] [--out FILE]" >&2; exit 2 ;;
	esac
done
for v in "$ATTACHES" "$PINGS" "$DEFAULT_PINGS"; do
	[[ $v =~ ^[0-9]+$ ]] && [ "$v" -le 200 ] || { echo "bench_dataplane: counts must be 0..200" >&2; exit 2; }
done
if [ "$(id -u)" != 0 ]; then
	echo "bench_dataplane: needs root (network namespaces): skipped"
	exit 0
fi
if [ -n "$NICE" ] && [ -z "${OVG_BENCH_NICED:-}" ]; then
	[[ $NICE =~ ^-?[0-9]+$ ]] || { echo "bench_dataplane: --nice N" >&2; exit 2; }
	OVG_BENCH_NICED=1 exec nice -n "$NICE" bash "$0" "${ARGS[@]}"
fi

TMP=$(mktemp -d /tmp/ovg-dpb.XXXXXX)
MON_PIDS=()
cleanup() {
	local p
	for p in "${MON_PIDS[@]}"; do kill "$p" 2>/dev/null; done
	ip netns del "$BASE_NS" 2>/dev/null
	[ -n "$SIM_NAME" ] && [ -z "${KEEP:-}" ] && sim_down >/dev/null 2>&1
	[ -n "${KEEP:-}" ] || rm -rf "$TMP"
}
trap cleanup EXIT
trap 'exit 1' INT TERM
die() { echo "bench_dataplane: $*" >&2; exit 1; }
note() { echo "  $*" >&2; }

# Seconds.micro (EPOCHREALTIME) difference in ms with 3 decimals.
ms_between() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.3f\n", (b - a) * 1000 }'; }
# Percentiles (nearest rank) of the numbers in FILE: "n p50 p99 max".
stats() {
	sort -n "$1" | awk '{ v[NR] = $1 } END {
		if (NR == 0) { print "0 - - -"; exit }
		i50 = int(NR * 0.50); if (i50 < NR * 0.50) i50++; if (i50 < 1) i50 = 1
		i99 = int(NR * 0.99); if (i99 < NR * 0.99) i99++; if (i99 < 1) i99 = 1
		printf "%d %.1f %.1f %.1f\n", NR, v[i50], v[i99], v[NR] }'
}
verdict() { awk -v x="$1" -v t="$2" 'BEGIN { if (x == "-") print "-"; else if (x + 0 < t + 0) print "yes"; else print "**no**" }'; }

ip_of() { printf '10.220.%d.%d\n' $(($1 / 250)) $(($1 % 250 + 2)); }   # i = 0 .. 9999
mac_of() { printf '02:42:%02x:%02x:%02x:%02x\n' ${1//./ }; }

# Neighbour and FDB notifications in SB, stamped, to FILE (ip flushes after each).
monitor() {
	nsenter --net="$1" ip -ts monitor neigh >"$2" 2>&1 &
	MON_PIDS+=("$!")
}
# Both entries of (IP, MAC) behind VTEP seen in FILE.
seen() { # FILE IP MAC VTEP
	grep -qF "] $2 dev vxlan0 lladdr $3 PERMANENT" "$1" && grep -qF "] $4 dev vxlan0 lladdr $3 PERMANENT" "$1"
}
seen_all() { # IP MAC VTEP FILE...
	local ip=$1 mac=$2 vt=$3 f
	shift 3
	for f in "$@"; do seen "$f" "$ip" "$mac" "$vt" || return 1; done
}
wait_fast() { # SECONDS CMD...: poll every 2 ms
	local deadline=$(($(sim_now_ms) + $1 * 1000))
	shift
	until "$@"; do
		[ "$(sim_now_ms)" -ge "$deadline" ] && return 1
		sleep 0.002
	done
}
# Epoch time of the first line of FILE containing STRING (ip -ts local-time stamp).
first_ts() {
	local line
	line=$(grep -m1 -F "$2" "$1") || return 1
	line=${line#[}
	date -d "${line%%]*}" +%s.%6N
}

A=h1
declare -A RES
LOAD0=$(cut -d' ' -f1-3 /proc/loadavg)

# Baseline of the machine's own latency: one `ip neigh replace` process (fork, exec, one
# netlink write under the rtnl lock) in a scratch namespace, 20 times. On a quiet machine
# this is ~1-3 ms; much more means other work is contending and every number below is
# inflated by it.
BASE_NS=ovgdpb$$-base
baseline() {
	local i t0
	ip netns add "$BASE_NS" && ip -n "$BASE_NS" link add dummy0 type bridge && ip -n "$BASE_NS" link set dummy0 up ||
		die "baseline namespace"
	: >"$TMP/base"
	for ((i = 1; i <= 20; i++)); do
		t0=$EPOCHREALTIME
		nsenter --net="$SIM_NETNS_DIR/$BASE_NS" ip neigh replace "10.1.0.$i" lladdr 02:00:00:00:00:01 dev dummy0 nud permanent ||
			die "baseline neigh"
		ms_between "$t0" "$EPOCHREALTIME" >>"$TMP/base"
	done
	ip netns del "$BASE_NS"
	# and one small file written with fsync where the state dirs live
	mkdir -p "$OVG_SIM_ROOT" || die "mkdir $OVG_SIM_ROOT"
	: >"$TMP/fsync"
	for ((i = 1; i <= 20; i++)); do
		t0=$EPOCHREALTIME
		dd if=/dev/zero of="$OVG_SIM_ROOT/.fsync-$$" bs=256 count=1 conv=fsync status=none || die "dd"
		ms_between "$t0" "$EPOCHREALTIME" >>"$TMP/fsync"
	done
	rm -f "$OVG_SIM_ROOT/.fsync-$$"
	rmdir "$OVG_SIM_ROOT" 2>/dev/null
}
baseline

run_cluster() {
	local H=$1 B=h$1 net=dpb h i ns sb ip mac va t0 t1 tn tf tl f lat last files=()
	sim_use "dpb$$-$H" || die "sim_use"
	note "cluster of $H hosts: up"
	# An agent whose --join fails at start stays alone (no retry; see the README), which a
	# loaded machine can cause now and then: one more try before giving up.
	if ! OVG_SIM_TIMEOUT=$((30 + H)) sim_up "$H" >/dev/null; then
		note "cluster of $H hosts did not converge; trying once more"
		sim_down >/dev/null 2>&1
		sim_use "dpb$$-$H-2" || die "sim_use"
		OVG_SIM_TIMEOUT=$((30 + H)) sim_up "$H" >/dev/null || die "cluster of $H hosts did not come up"
	fi
	sim_ovg h1 network create --attachable --subnet 10.220.0.0/16 "$net" >/dev/null || die "network create"
	va=$(sim_addr "$A")
	# Every host but A gets a container on the network, so it has a sandbox to program.
	for h in $(sim_hosts); do
		[ "$h" = "$A" ] && continue
		ns=$(sim_container "$h" "x$h") || die "container on $h"
		sim_wait_until 10 eval "sim_ovg $h network inspect $net >/dev/null 2>&1" || die "network not on $h"
		sim_ovg "$h" network connect --ip "10.220.$((100 + ${h#h})).2" "$net" "$ns" >/dev/null || die "connect on $h"
		sb=$(sim_ovg "$h" network inspect "$net" | jq -r .sandbox)
		[ -e "$sb" ] || die "no sandbox on $h"
		monitor "$sb" "$TMP/mon-$H-$h"
		files+=("$TMP/mon-$H-$h")
	done
	note "$H hosts: creating $ATTACHES container namespaces on $A"
	for ((i = 0; i <= ATTACHES + PINGS + DEFAULT_PINGS; i++)); do
		sim_container "$A" "a$i" >/dev/null || die "container a$i"
	done
	# Warm-up attach (not counted); also proves every monitor is listening.
	ip=$(ip_of 0) mac=$(mac_of "$(ip_of 0)")
	sim_ovg "$A" network connect --ip "$ip" "$net" "$SIM_PREFIX-a0" >/dev/null || die "warm-up connect"
	wait_fast 10 seen_all "$ip" "$mac" "$va" "${files[@]}" || die "warm-up endpoint not seen on every host"

	note "$H hosts: (a) $ATTACHES attaches on $A"
	: >"$TMP/a-B-$H" ; : >"$TMP/a-all-$H" ; : >"$TMP/a-cli-$H" ; : >"$TMP/a-spread-$H" ; : >"$TMP/a-pair-$H"
	for ((i = 1; i <= ATTACHES; i++)); do
		ip=$(ip_of "$i") mac=$(mac_of "$(ip_of "$i")")
		t0=$EPOCHREALTIME
		sim_ovg "$A" network connect --ip "$ip" "$net" "$SIM_PREFIX-a$i" >/dev/null || die "connect a$i"
		t1=$EPOCHREALTIME
		wait_fast 10 seen_all "$ip" "$mac" "$va" "${files[@]}" || die "endpoint $ip not on every host within 10 s"
		ms_between "$t0" "$t1" >>"$TMP/a-cli-$H"
		last=0 first=
		for f in "${files[@]}"; do
			tn=$(first_ts "$f" "] $ip dev vxlan0 lladdr $mac PERMANENT") || die "no neighbour stamp"
			tf=$(first_ts "$f" "] $va dev vxlan0 lladdr $mac PERMANENT") || die "no FDB stamp"
			tl=$(awk -v a="$tn" -v b="$tf" 'BEGIN { printf "%.6f\n", (a > b ? a : b) }')
			lat=$(ms_between "$t0" "$tl")
			if [ "$f" = "$TMP/mon-$H-$B" ]; then
				echo "$lat" >>"$TMP/a-B-$H"
				ms_between "$(awk -v a="$tn" -v b="$tf" 'BEGIN { printf "%.6f\n", (a < b ? a : b) }')" "$tl" >>"$TMP/a-pair-$H"
			fi
			last=$(awk -v a="$last" -v b="$lat" 'BEGIN { print (b > a ? b : a) }')
			first=$(awk -v a="${first:-$lat}" -v b="$lat" 'BEGIN { print (b < a ? b : a) }')
		done
		echo "$last" >>"$TMP/a-all-$H"
		awk -v a="$first" -v b="$last" 'BEGIN { printf "%.3f\n", b - a }' >>"$TMP/a-spread-$H"
	done

	# (b) a container on B pings the address the next endpoint on A will get.
	local xns pingf pp tr k rt
	xns=$SIM_NETNS_DIR/$(sim_netns "x$B")
	i=$ATTACHES
	for mode in tuned default; do
		if [ $mode = tuned ]; then
			k=$PINGS rt=10
		else
			k=$DEFAULT_PINGS rt=1000
			[ "$H" = "${HOSTS_LIST%% *}" ] || k=0
		fi
		[ "$k" -gt 0 ] || continue
		note "$H hosts: (b) $k connects, first ping reply from $B (ARP retransmit $rt ms)"
		nsenter --net="$xns" sysctl -qw "net.ipv4.neigh.eth0.retrans_time_ms=$rt" || die "sysctl"
		: >"$TMP/b-$mode-$H"
		for ((j = 0; j < k; j++)); do
			i=$((i + 1))
			ip=$(ip_of "$i")
			pingf=$TMP/ping-$H-$i
			nsenter --net="$xns" ping -D -n -i 0.002 -c 100000 "$ip" >"$pingf" 2>&1 &
			pp=$!
			wait_fast 5 grep -qs "^PING" "$pingf" || die "ping did not start"
			t0=$EPOCHREALTIME
			sim_ovg "$A" network connect --ip "$ip" "$net" "$SIM_PREFIX-a$i" >/dev/null || die "connect a$i"
			# (no -w: with a deadline ping quits at the first "Host Unreachable")
			wait_fast 10 grep -qs "bytes from $ip" "$pingf" || die "no reply from $ip within 10 s"
			kill "$pp" 2>/dev/null
			wait "$pp" 2>/dev/null
			tr=$(grep -m1 "bytes from $ip" "$pingf" | sed -n 's/^\[\([0-9.]*\)\].*/\1/p')
			[ -n "$tr" ] || die "unparsable ping output"
			ms_between "$t0" "$tr" >>"$TMP/b-$mode-$H"
		done
	done

	for p in "${MON_PIDS[@]}"; do kill "$p" 2>/dev/null; done
	MON_PIDS=()
	sim_down >/dev/null || die "cluster down"
	SIM_NAME=
}

for H in $HOSTS_LIST; do
	[[ $H =~ ^[0-9]+$ ]] && [ "$H" -ge 2 ] && [ "$H" -le 60 ] || die "--hosts: 2..60"
	run_cluster "$H"
done

# ---- report ---------------------------------------------------------------------------
report() {
	local H n p50 p99 max t
	echo "### ovgossipd data plane latency"
	echo
	echo "$(date -u '+%F %T') UTC; $(nproc) CPU ($(lscpu | sed -n 's/^Model name: *//p' | head -1)); kernel $(uname -r);" \
		"$("$OVGOSSIPD" version 2>/dev/null | head -1); commit $(git -C "$REPO" rev-parse --short HEAD 2>/dev/null || echo ?)"
	echo
	echo "Load average (1/5/15 min) at start: $LOAD0; at end: $(cut -d' ' -f1-3 /proc/loadavg); niceness $(nice)."
	read -r n p50 p99 max < <(stats "$TMP/base")
	echo "Machine baseline: one \`ip neigh replace\` process in a namespace: p50 $p50 ms, max $max ms (n $n; ~1-3 ms when quiet)."
	read -r n p50 p99 max < <(stats "$TMP/fsync")
	echo "State dirs under $OVG_SIM_ROOT ($(stat -f -c %T "$(dirname "$OVG_SIM_ROOT")")): one 256-byte write + fsync (dd process): p50 $p50 ms, max $max ms (n $n)."
	echo
	echo "Command: \`bash bench/bench_dataplane.sh${ARGS[*]:+ ${ARGS[*]}}\`"

	echo
	echo "| measurement | hosts | n | p50 ms | p99 ms | max ms | target (p99) | met | Docker 20.10 |"
	echo "|---|---|---|---|---|---|---|---|---|"
	for H in $HOSTS_LIST; do
		t=50; [ "$H" -le 2 ] && t=20
		read -r n p50 p99 max < <(stats "$TMP/a-B-$H")
		echo "| (a) attach on A -> neighbour + FDB on B | $H | $n | $p50 | $p99 | $max | < $t | $(verdict "$p99" $t) | 6-148 |"
		RES[a$H]=$(verdict "$p99" $t)
		if [ "$H" -gt 2 ]; then
			read -r n p50 p99 max < <(stats "$TMP/a-all-$H")
			echo "| (a) ... on all $((H - 1)) other hosts (slowest) | $H | $n | $p50 | $p99 | $max | | | |"
			read -r n p50 p99 max < <(stats "$TMP/a-spread-$H")
			echo "| (a) slowest - fastest remote host | $H | $n | $p50 | $p99 | $max | | | |"
		fi
		read -r n p50 p99 max < <(stats "$TMP/a-pair-$H")
		echo "| (a) on B: neighbour and FDB stamps apart | $H | $n | $p50 | $p99 | $max | | | |"
		read -r n p50 p99 max < <(stats "$TMP/a-cli-$H")
		echo "| \`network connect\` command (CLI wall time) | $H | $n | $p50 | $p99 | $max | | | |"
	done
	for H in $HOSTS_LIST; do
		if [ -s "$TMP/b-tuned-$H" ]; then
			read -r n p50 p99 max < <(stats "$TMP/b-tuned-$H")
			echo "| (b) connect -> first ping reply from B, ARP retrans 10 ms | $H | $n | $p50 | $p99 | $max | < 100 | $(verdict "$p99" 100) | 790-960 |"
			RES[b$H]=$(verdict "$p99" 100)
		fi
		if [ -s "$TMP/b-default-$H" ]; then
			read -r n p50 p99 max < <(stats "$TMP/b-default-$H")
			echo "| (b) same, default ARP retrans (1 s) | $H | $n | $p50 | $p99 | $max | | | 790-960 |"
		fi
	done
}
if [ -n "$OUT" ]; then
	report | tee "$OUT"
else
	report
fi
if [ "$STRICT" = 1 ]; then
	for k in "${!RES[@]}"; do [ "${RES[$k]}" = yes ] || die "target missed ($k)"; done
fi
exit 0
