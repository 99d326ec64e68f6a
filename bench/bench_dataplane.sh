#!/usr/bin/env bash
# Data plane latency on simulated clusters (simulations/lib.sh); see bench/README-dataplane.md.
#
# (a) attach -> remote kernel: a connect on host A (h1) until the permanent neighbour AND
#     the self FDB entry of the new endpoint are on vxlan0 in host B's sandbox (B = the
#     last host), and in every other host's. `ip -ts monitor neigh` runs inside each remote
#     sandbox (kernel notifications, stamped by ip on receipt, 1 us resolution). t0 is
#     the wall clock just before the request leaves: either the CLI process is started
#     (`ovgossipd network connect`, via nsenter, as a user would) or the request is written
#     to the agent's control socket by a client that is already running (no process start
#     in the measurement; needs python3).
# (b) connect -> first ping reply: a container on B pings (`ping -D -i 0.002`) the address
#     the new endpoint on A will get (--ip), started before the connect; latency = stamp
#     of the first echo reply - t0. The pinging container's ARP retransmit time is
#     lowered to 10 ms (the default 1 s retry, not the overlay, would dominate); a few runs
#     with the default are reported too.
#
# usage: bench_dataplane.sh [--attaches N] [--pings N] [--default-pings N] [--hosts "2 20"]
#                           [--root DIR] [--nice N] [--strict] [--out FILE]
# --root DIR puts the clusters' work dirs (the agents' state dirs) there instead of
# $OVG_SIM_ROOT (default /run/ovg-sim): a connect writes the state dir with fsync before
# the endpoint is announced, so the file system under it is part of what is measured.
# --nice N runs everything (agents, clients, monitors, pings) at niceness N.
# --strict: exit 1 when a target is missed (otherwise only when a measurement fails).
set -uo pipefail
REPO=$(cd "$(dirname "$0")/.." && pwd)
# shellcheck source=../simulations/lib.sh
. "$REPO/simulations/lib.sh"

ATTACHES=100 PINGS=30 DEFAULT_PINGS=10 HOSTS_LIST="2 20" STRICT=0 OUT='' NICE=''
ARGS=("$@")
usage() {
	echo "usage: $0 [--attaches N] [--pings N] [--default-pings N] [--hosts \"2 20\"] [--root DIR] [--nice N] [--strict] [--out FILE]" >&2
	exit 2
}
while [ $# -gt 0 ]; do
	case $1 in
	--attaches) ATTACHES=${2:-}; shift 2 || usage ;;
	--pings) PINGS=${2:-}; shift 2 || usage ;;
	--default-pings) DEFAULT_PINGS=${2:-}; shift 2 || usage ;;
	--hosts) HOSTS_LIST=${2:-}; shift 2 || usage ;;
	--root) OVG_SIM_ROOT=${2:-}; shift 2 || usage ;;
	--nice) NICE=${2:-}; shift 2 || usage ;;
	--strict) STRICT=1; shift ;;
	--out) OUT=${2:-}; shift 2 || usage ;;
	*) usage ;;
	esac
done
for v in "$ATTACHES" "$PINGS" "$DEFAULT_PINGS"; do
	[[ $v =~ ^[0-9]+$ ]] && [ "$v" -le 200 ] || { echo "bench_dataplane: counts must be 0..200" >&2; exit 2; }
done
for H in $HOSTS_LIST; do
	[[ $H =~ ^[0-9]+$ ]] && [ "$H" -ge 2 ] && [ "$H" -le 60 ] || { echo "bench_dataplane: --hosts: 2..60" >&2; exit 2; }
done
if [ "$(id -u)" != 0 ]; then
	echo "bench_dataplane: needs root (network namespaces): skipped"
	exit 0
fi
if [ -n "$NICE" ] && [ -z "${OVG_BENCH_NICED:-}" ]; then
	[[ $NICE =~ ^-?[0-9]+$ ]] || usage
	OVG_BENCH_NICED=1 exec nice -n "$NICE" bash "$0" "${ARGS[@]}"
fi

TMP=$(mktemp -d /tmp/ovg-dpb.XXXXXX)
BG_PIDS=()
BASE_NS=ovgdpb$$-base
MONFD='' CTL_IN='' CTL_OUT=''
stop_bg() {
	local p
	[ -n "$MONFD" ] && exec {MONFD}<&-
	[ -n "$CTL_IN" ] && exec {CTL_IN}>&-
	[ -n "$CTL_OUT" ] && exec {CTL_OUT}<&-
	MONFD='' CTL_IN='' CTL_OUT=''
	for p in "${BG_PIDS[@]}"; do kill "$p" 2>/dev/null; done
	for p in "${BG_PIDS[@]}"; do wait "$p" 2>/dev/null; done
	BG_PIDS=()
}
cleanup() {
	stop_bg
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

wait_fast() { # SECONDS CMD...: poll every 2 ms
	local deadline=$(($(sim_now_ms) + $1 * 1000))
	shift
	until "$@"; do
		[ "$(sim_now_ms)" -ge "$deadline" ] && return 1
		sleep 0.002
	done
}

# ---- the control-socket client -------------------------------------------------------
# A python3 process that stays up: for each line "SOCKET<TAB>WORD<TAB>WORD..." on its
# stdin it writes the request frame (u32 big-endian length, msgpack {"argv": [...],
# "v": 1}, include/ovg/ctl.h), reads the whole response and prints
# "T_SENT T_REPLY STATUS" (wall clock, like $EPOCHREALTIME).
cat >"$TMP/ctl.py" <<'PY'
import socket, struct, sys, time
def raw(b):
    if len(b) < 32:
        return bytes([0xa0 | len(b)]) + b
    return b"\xda" + struct.pack(">H", len(b)) + b
for line in sys.stdin:
    parts = line.rstrip("\n").split("\t")
    path, argv = parts[0], [p.encode() for p in parts[1:]]
    body = b"\x82" + raw(b"argv") + bytes([0x90 | len(argv)]) + b"".join(raw(a) for a in argv) + raw(b"v") + b"\x01"
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    t0 = time.time()
    s.connect(path)
    s.sendall(struct.pack(">I", len(body)) + body)
    buf = b""
    while True:
        d = s.recv(65536)
        if not d:
            break
        buf += d
        if len(buf) >= 4 and len(buf) >= 4 + struct.unpack(">I", buf[:4])[0]:
            break
    t1 = time.time()
    s.close()
    st = 0 if b"\xa6status\x00" in buf else 1
    print("%.6f %.6f %d" % (t0, t1, st), flush=True)
PY
HAVE_PY=0
command -v python3 >/dev/null 2>&1 && HAVE_PY=1

ctl_start() {
	mkfifo "$TMP/ctl.in" "$TMP/ctl.out" || die "mkfifo"
	python3 -u "$TMP/ctl.py" <"$TMP/ctl.in" >"$TMP/ctl.out" &
	BG_PIDS+=("$!")
	exec {CTL_IN}>"$TMP/ctl.in" {CTL_OUT}<"$TMP/ctl.out"
}
# ctl HOST WORD...: run a command through the socket client; sets CTL_T0 CTL_T1.
ctl() {
	local h=$1 st
	shift
	local IFS=$'\t'
	printf '%s\t%s\n' "$(sim_hostdir "$h")/agent.sock" "$*" >&"$CTL_IN"
	IFS=' ' read -r -t 10 -u "$CTL_OUT" CTL_T0 CTL_T1 st || die "control-socket client: no answer"
	[ "$st" = 0 ]
}
# cli HOST WORD...: the same through the CLI process; sets CTL_T0 CTL_T1.
cli() {
	local h=$1
	shift
	CTL_T0=$EPOCHREALTIME
	sim_ovg "$h" "$@" >/dev/null || return 1
	CTL_T1=$EPOCHREALTIME
}

# ---- machine baselines ---------------------------------------------------------------
# One `ip neigh replace` process (fork, exec, one netlink write under the rtnl lock) in a
# scratch namespace, and one small write + fsync where the state dirs live. On a quiet
# machine the first is ~1-3 ms; much more means other work contends, and every number
# below is inflated by it.
baseline() {
	local i t0
	ip netns add "$BASE_NS" && ip -n "$BASE_NS" link add br9 type bridge && ip -n "$BASE_NS" link set br9 up ||
		die "baseline namespace"
	: >"$TMP/base"
	for ((i = 1; i <= 20; i++)); do
		t0=$EPOCHREALTIME
		nsenter --net="$SIM_NETNS_DIR/$BASE_NS" ip neigh replace "10.1.0.$i" lladdr 02:00:00:00:00:01 dev br9 nud permanent ||
			die "baseline neigh"
		ms_between "$t0" "$EPOCHREALTIME" >>"$TMP/base"
	done
	ip netns del "$BASE_NS"
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

# ---- monitors ------------------------------------------------------------------------
# B's monitor feeds a FIFO this shell reads (blocking read: no polling while B works) and
# copies to a file; the others write files.
monitor_file() {
	nsenter --net="$1" ip -ts monitor neigh >"$2" 2>&1 &
	BG_PIDS+=("$!")
}
monitor_fifo() {
	mkfifo "$TMP/monB" || die "mkfifo"
	nsenter --net="$1" ip -ts monitor neigh >"$TMP/monB" 2>&1 &
	BG_PIDS+=("$!")
	exec {MONFD}<"$TMP/monB"
	MONB_FILE=$2
	: >"$MONB_FILE"
}
# Read B's notifications until both entries of (IP, MAC) behind VTEP came.
wait_B() {
	local ip=$1 mac=$2 vt=$3 n=0 f=0 line
	while [ $n = 0 ] || [ $f = 0 ]; do
		IFS= read -r -t 10 -u "$MONFD" line || return 1
		printf '%s\n' "$line" >>"$MONB_FILE"
		case $line in
		*"] $ip dev vxlan0 lladdr $mac PERMANENT"*) n=1 ;;
		*"] $vt dev vxlan0 lladdr $mac PERMANENT"*) f=1 ;;
		esac
	done
}
# Every other monitor file holds both entries.
others_have() { # IP MAC VTEP COUNT FILE...
	local ip=$1 mac=$2 vt=$3 want=$4
	shift 4
	[ "$want" = 0 ] && return 0
	[ "$(grep -lF "] $ip dev vxlan0 lladdr $mac PERMANENT" "$@" | wc -l)" = "$want" ] &&
		[ "$(grep -lF "] $vt dev vxlan0 lladdr $mac PERMANENT" "$@" | wc -l)" = "$want" ]
}
# First stamps in a monitor file as "HOST N IP EPOCH" / "HOST F MAC EPOCH" (FDB: the
# address field is the VTEP VT). ip -ts prints local time; mktime reads local time.
stamps() { # HOST FILE VT
	awk -v host="$1" -v vt="$3" '
		$1 ~ /^\[/ && $3 == "dev" && $4 == "vxlan0" && $5 == "lladdr" && $7 == "PERMANENT" {
			s = substr($1, 2, length($1) - 2)
			split(s, dt, "T"); split(dt[1], d, "-"); split(dt[2], t, ":")
			sec = int(t[3]); frac = t[3] - sec
			ep = mktime(d[1] " " d[2] " " d[3] " " t[1] " " t[2] " " sec) + frac
			if ($2 == vt) { k = "F " $6 } else { k = "N " $2 }
			if (!(k in seen)) { seen[k] = 1; printf "%s %s %.6f\n", host, k, ep }
		}' "$2"
}

# The ARP table is one for the whole machine: its dynamic entries (every namespace's, e.g.
# n(n-1) underlay entries of an n-host simulation) are capped by gc_thresh3 (default
# 1024); beyond it new neighbours fail with ENOBUFS and the agents' joins time out.
arp_table_fulls() { # summed over CPUs (hex in the file)
	local s=0 x
	while read -r x; do s=$((s + 16#$x)); done < <(awk 'NR > 1 { print $NF }' /proc/net/stat/arp_cache 2>/dev/null)
	echo "$s"
}
arp_full_check() {
	local now
	now=$(arp_table_fulls)
	[ "$now" = "$1" ] && return 0
	die "the machine-wide ARP table overflowed ($((now - $1)) times; net.ipv4.neigh.default.gc_thresh3 = $(sysctl -n net.ipv4.neigh.default.gc_thresh3)), so the underlay does not work: other namespaces hold too many neighbours. Wait for them to go, or raise gc_thresh1/2/3 (Docker uses 8192/49152/65536)."
}

A=h1
declare -A RES
LOAD0=$(cut -d' ' -f1-3 /proc/loadavg)
baseline

run_cluster() {
	local H=$1 B=h$1 net=dpb h i ns sb ip mac va mode files=() k j rt
	sim_use "dpb$$-$H" || die "sim_use"
	note "cluster of $H hosts: up"
	# An agent whose --join fails at start stays alone (no retry; see the README), which a
	# loaded machine causes now and then: one more try before giving up.
	local full0
	full0=$(arp_table_fulls)
	if ! OVG_SIM_TIMEOUT=$((30 + H)) sim_up "$H" >/dev/null; then
		arp_full_check "$full0"
		note "cluster of $H hosts did not converge; trying once more"
		sim_down >/dev/null 2>&1
		sim_use "dpb$$-$H-2" || die "sim_use"
		full0=$(arp_table_fulls)
		OVG_SIM_TIMEOUT=$((30 + H)) sim_up "$H" >/dev/null || { arp_full_check "$full0"; die "cluster of $H hosts did not come up"; }
	fi
	sim_ovg h1 network create --attachable --subnet 10.220.0.0/16 "$net" >/dev/null || die "network create"
	va=$(sim_addr "$A")
	# Every host but A gets a container on the network, so it has a sandbox to program
	# (each in its own address block: h1, the creator, hands blocks on).
	for h in $(sim_hosts); do
		[ "$h" = "$A" ] && continue
		ns=$(sim_container "$h" "x$h") || die "container on $h"
		sim_wait_until 10 eval "sim_ovg $h network inspect $net >/dev/null 2>&1" || die "network not on $h"
		sim_ovg "$h" network connect --ip "10.220.$((100 + ${h#h})).2" "$net" "$ns" >/dev/null || die "connect on $h"
		sb=$(sim_ovg "$h" network inspect "$net" | jq -r .sandbox)
		[ -e "$sb" ] || die "no sandbox on $h"
		if [ "$h" = "$B" ]; then
			monitor_fifo "$sb" "$TMP/mon-$H-$h"
		else
			monitor_file "$sb" "$TMP/mon-$H-$h"
			files+=("$TMP/mon-$H-$h")
		fi
	done
	note "$H hosts: creating container namespaces on $A"
	for ((i = 0; i <= 2 * ATTACHES + 2 * PINGS + DEFAULT_PINGS; i++)); do
		sim_container "$A" "a$i" >/dev/null || die "container a$i"
	done
	[ "$HAVE_PY" = 1 ] && ctl_start

	# Warm-up attach (not counted); also proves every monitor is listening.
	ip=$(ip_of 0) mac=$(mac_of "$(ip_of 0)")
	cli "$A" network connect --ip "$ip" "$net" "$SIM_PREFIX-a0" || die "warm-up connect"
	wait_B "$ip" "$mac" "$va" || die "warm-up endpoint not seen on $B"
	wait_fast 10 others_have "$ip" "$mac" "$va" "${#files[@]}" "${files[@]}" || die "warm-up endpoint not seen everywhere"

	# The client's own cost: a command that does no kernel work.
	: >"$TMP/members-cli-$H"
	: >"$TMP/members-sock-$H"
	for ((i = 0; i < 20; i++)); do
		cli "$A" members || die "members"
		ms_between "$CTL_T0" "$CTL_T1" >>"$TMP/members-cli-$H"
		if [ "$HAVE_PY" = 1 ]; then
			ctl "$A" members || die "members (socket)"
			ms_between "$CTL_T0" "$CTL_T1" >>"$TMP/members-sock-$H"
		fi
	done

	# (a) one attach at a time; the next once every remote host has both entries.
	: >"$TMP/attaches-$H"
	i=0
	for mode in sock cli; do
		[ $mode = sock ] && [ "$HAVE_PY" = 0 ] && continue
		note "$H hosts: (a) $ATTACHES attaches on $A via the $mode"
		for ((j = 1; j <= ATTACHES; j++)); do
			i=$((i + 1))
			ip=$(ip_of "$i") mac=$(mac_of "$(ip_of "$i")")
			if [ $mode = sock ]; then
				ctl "$A" network connect --ip "$ip" "$net" "$SIM_PREFIX-a$i" || die "connect a$i (socket)"
			else
				cli "$A" network connect --ip "$ip" "$net" "$SIM_PREFIX-a$i" || die "connect a$i"
			fi
			wait_B "$ip" "$mac" "$va" || die "endpoint $ip not on $B within 10 s"
			wait_fast 10 others_have "$ip" "$mac" "$va" "${#files[@]}" "${files[@]}" ||
				die "endpoint $ip not on every host within 10 s"
			echo "$mode $ip $mac $CTL_T0 $CTL_T1" >>"$TMP/attaches-$H"
		done
	done
	{
		stamps "$B" "$TMP/mon-$H-$B" "$va"
		for h in $(sim_hosts); do
			[ "$h" = "$A" ] || [ "$h" = "$B" ] || stamps "$h" "$TMP/mon-$H-$h" "$va"
		done
	} >"$TMP/stamps-$H"
	# Per attach: on B (later of the two stamps - t0), the slowest and fastest remote
	# host, the gap between B's two stamps, the client's wall time.
	awk -v B="$B" -v dir="$TMP" -v H="$H" '
		FNR == NR { key = $1 " " $2 " " $3; if (!(key in ts)) ts[key] = $4; hosts[$1] = 1; next }
		{
			mode = $1; ip = $2; mac = $3; t0 = $4; t1 = $5
			lo = ""; hi = ""
			for (h in hosts) {
				n = ts[h " N " ip]; f = ts[h " F " mac]
				if (n == "" || f == "") { print "missing stamp " h " " ip > "/dev/stderr"; exit 1 }
				l = (n > f ? n : f) - t0
				if (hi == "" || l > hi) hi = l
				if (lo == "" || l < lo) lo = l
				if (h == B) { lb = l; gap = (n > f ? n - f : f - n) }
			}
			out = dir "/a-" mode "-" H
			printf "%.3f\n", lb * 1000 > (out "-B")
			printf "%.3f\n", hi * 1000 > (out "-all")
			printf "%.3f\n", (hi - lo) * 1000 > (out "-spread")
			printf "%.3f\n", gap * 1000 > (out "-pair")
			printf "%.3f\n", (t1 - t0) * 1000 > (out "-client")
		}' "$TMP/stamps-$H" "$TMP/attaches-$H" || die "evaluating the stamps"

	# (b) a container on B pings the address the next endpoint on A will get.
	local xns pingf pp tr
	xns=$SIM_NETNS_DIR/$(sim_netns "x$B")
	for mode in sock cli default; do
		case $mode in
		sock) k=$PINGS rt=10; [ "$HAVE_PY" = 1 ] || k=0 ;;
		cli) k=$PINGS rt=10 ;;
		default) k=$DEFAULT_PINGS rt=1000; [ "$H" = "${HOSTS_LIST%% *}" ] || k=0 ;;
		esac
		[ "$k" -gt 0 ] || continue
		note "$H hosts: (b) $k connects via the ${mode/default/cli}, first ping reply from $B (ARP retransmit $rt ms)"
		nsenter --net="$xns" sysctl -qw "net.ipv4.neigh.eth0.retrans_time_ms=$rt" || die "sysctl"
		: >"$TMP/b-$mode-$H"
		for ((j = 0; j < k; j++)); do
			i=$((i + 1))
			ip=$(ip_of "$i")
			pingf=$TMP/ping-$H-$i
			# no -w: with a deadline ping quits at the first "Host Unreachable"
			nsenter --net="$xns" ping -D -n -i 0.002 -c 100000 "$ip" >"$pingf" 2>&1 &
			pp=$!
			wait_fast 5 grep -qs "^PING" "$pingf" || die "ping did not start"
			if [ $mode = sock ]; then
				ctl "$A" network connect --ip "$ip" "$net" "$SIM_PREFIX-a$i" || die "connect a$i (socket)"
			else
				cli "$A" network connect --ip "$ip" "$net" "$SIM_PREFIX-a$i" || die "connect a$i"
			fi
			wait_fast 10 grep -qs "bytes from $ip" "$pingf" || die "no reply from $ip within 10 s"
			kill "$pp" 2>/dev/null
			wait "$pp" 2>/dev/null
			tr=$(grep -m1 "bytes from $ip" "$pingf" | sed -n 's/^\[\([0-9.]*\)\].*/\1/p')
			[ -n "$tr" ] || die "unparsable ping output"
			ms_between "$CTL_T0" "$tr" >>"$TMP/b-$mode-$H"
		done
	done

	stop_bg
	rm -f "$TMP/monB" "$TMP/ctl.in" "$TMP/ctl.out"
	sim_down >/dev/null || die "cluster down"
	SIM_NAME=
}

for H in $HOSTS_LIST; do
	run_cluster "$H"
done

# ---- report ---------------------------------------------------------------------------
row() { # LABEL HOSTS FILE [TARGET DOCKER KEY]
	local n p50 p99 max v=''
	[ -s "$3" ] || return 0
	read -r n p50 p99 max < <(stats "$3")
	if [ -n "${4:-}" ]; then
		v=$(verdict "$p99" "$4")
		RES[${6:-x}]=$v
	fi
	echo "| $1 | $2 | $n | $p50 | $p99 | $max | ${4:+< $4} | $v | ${5:-} |"
}
report() {
	local H t n p50 p99 max
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
		t=50
		[ "$H" -le 2 ] && t=20
		row "(a) attach on A -> neighbour + FDB on B; request on the control socket" "$H" "$TMP/a-sock-$H-B" "$t" 6-148 "a-sock-$H"
		row "(a) same, through the CLI (\`ovgossipd network connect\` process)" "$H" "$TMP/a-cli-$H-B" "$t" 6-148 "a-cli-$H"
		if [ "$H" -gt 2 ]; then
			row "(a) control socket: slowest of the $((H - 1)) remote hosts" "$H" "$TMP/a-sock-$H-all"
			row "(a) CLI: slowest of the $((H - 1)) remote hosts" "$H" "$TMP/a-cli-$H-all"
			row "(a) slowest - fastest remote host (control socket)" "$H" "$TMP/a-sock-$H-spread"
		fi
		row "(a) on B: neighbour and FDB stamps apart" "$H" "$TMP/a-cli-$H-pair"
		row "connect request -> reply, control socket" "$H" "$TMP/a-sock-$H-client"
		row "\`network connect\` process wall time (CLI)" "$H" "$TMP/a-cli-$H-client"
		row "\`members\`, control socket (no kernel work)" "$H" "$TMP/members-sock-$H"
		row "\`members\` process wall time (CLI)" "$H" "$TMP/members-cli-$H"
	done
	for H in $HOSTS_LIST; do
		row "(b) connect -> first ping reply from B; control socket, ARP retrans 10 ms" "$H" "$TMP/b-sock-$H" 100 790-960 "b-sock-$H"
		row "(b) same, through the CLI" "$H" "$TMP/b-cli-$H" 100 790-960 "b-cli-$H"
		row "(b) through the CLI, default ARP retrans (1 s)" "$H" "$TMP/b-default-$H" "" 790-960
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
