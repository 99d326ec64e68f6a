#!/usr/bin/env bash
# bench/bench_docker.sh: ovgossipd against Docker 20.10 swarm's overlay networks (and serf
# for membership alone), in the same run on the same machine, the same layout for all:
# N host namespaces hN on one underlay bridge (simulations/lib.sh), one daemon per host.
#
#   Docker:    one dockerd (+ its containerd) per host namespace, swarm init on h1 and the
#              others join as workers, `docker network create -d overlay --attachable`,
#              containers `docker run -d --network ovnet busybox sleep` (bench/lib_docker.sh)
#   ovgossipd: simulations/lib.sh's cluster (an agent per host, shared key), `network
#              create --attachable`, containers = sim_container + `network connect`
#   serf:      a serf agent per host namespace (encrypted, LAN defaults), membership only
#
# Host A = h2 pings from its container; host B = h$N gets new containers and is cut off.
# Figures (medians and p99 over BENCH_DK_RUNS / BENCH_DK_CUT_RUNS trials, the two systems
# interleaved trial by trial so machine load hits both alike):
#   1a create on B (docker run -d / network connect) -> permanent neighbor on A
#   1  create on B -> first ping reply from A's container
#   2  remove (docker rm -f / network disconnect) -> neighbor gone on A
#   3  B's switch port drops everything -> B's container's neighbor gone on A
#   4  port passes frames again -> first ping reply from A's container to B's container
#   4b the same after a cut of BENCH_DK_LONG_CUT_SECS (both sides declared the other failed)
#   5  control-plane bytes per second per host at rest (iptables counters on 7946, 2377)
#   6  RSS (and CPU at rest) per host of the control plane
# Results: BENCH_DK_OUT (default bench/README-docker.md), also printed.
#
# Environment: OVGOSSIPD, BENCH_DK_HOSTS (3), BENCH_DK_RUNS (20), BENCH_DK_CUT_RUNS (12),
# BENCH_DK_LONG_RUNS (2), BENCH_DK_LONG_CUT_SECS (15), BENCH_DK_LONG_WAIT (40),
# BENCH_DK_REST_SECS (60), BENCH_DK_SETTLE_SECS (15, before the rest window),
# BENCH_DK_HEAL_WAIT (30), BENCH_DK_SETTLE_WAIT (60), BENCH_DK_MAX_SECS (780: no new cut
# trial after that), BENCH_DK_OUT, SERF (serf). Needs root and Debian's docker.io,
# containerd, runc, busybox-static and serf; skips (exit 0) without them.
set -uo pipefail

REPO=$(cd "$(dirname "$(readlink -f "$0")")/.." && pwd)
export OVGOSSIPD=${OVGOSSIPD:-$REPO/ovgossipd}
# shellcheck source=simulations/lib.sh
. "$REPO/simulations/lib.sh"
# shellcheck source=bench/lib_docker.sh
. "$REPO/bench/lib_docker.sh"

: "${BENCH_DK_HOSTS:=3}"
: "${BENCH_DK_RUNS:=20}"
: "${BENCH_DK_CUT_RUNS:=12}"
: "${BENCH_DK_LONG_RUNS:=2}"
: "${BENCH_DK_LONG_CUT_SECS:=15}"
: "${BENCH_DK_LONG_WAIT:=40}"
: "${BENCH_DK_REST_SECS:=60}"
: "${BENCH_DK_SETTLE_SECS:=15}"
: "${BENCH_DK_OUT:=$REPO/bench/README-docker.md}"
: "${SERF:=serf}"
SERF_RPC=127.0.0.1:7373
OV_NET=ovnet
# Seconds before a single measurement counts as a timeout (recorded as "> WAIT" and kept in
# the medians and percentiles, never dropped). The heal wait is shorter to bound the run.
WAIT_SECS=60
: "${BENCH_DK_HEAL_WAIT:=30}"
# Seconds a system may take after a heal before the next cut (B pings h1's container too).
: "${BENCH_DK_SETTLE_WAIT:=60}"
# The cut phases start no trial that would likely end after this many seconds from the
# start (the run then reports fewer trials); cleanup comes on top.
: "${BENCH_DK_MAX_SECS:=780}"

CL_DK=bdk$$ CL_OV=bov$$ CL_SF=bsf$$
RES=
T_START=$(sim_now_ms)

say() { printf '%s\n' "$*" >&2; }
die() {
	say "bench_docker: $*"
	exit 1
}

for v in BENCH_DK_HOSTS BENCH_DK_RUNS BENCH_DK_CUT_RUNS BENCH_DK_REST_SECS BENCH_DK_SETTLE_SECS BENCH_DK_HEAL_WAIT BENCH_DK_SETTLE_WAIT BENCH_DK_LONG_CUT_SECS BENCH_DK_LONG_WAIT BENCH_DK_MAX_SECS; do
	[[ ${!v} =~ ^[1-9][0-9]*$ ]] || die "$v must be a positive integer"
done
[[ $BENCH_DK_LONG_RUNS =~ ^[0-9]+$ ]] || die "BENCH_DK_LONG_RUNS must be a number"
if [ "$BENCH_DK_HOSTS" -lt 3 ] || [ "$BENCH_DK_HOSTS" -gt 20 ]; then
	die "BENCH_DK_HOSTS: 3..20"
fi
HA=h2 HB=h$BENCH_DK_HOSTS

if [ "$(id -u)" != 0 ]; then
	say "bench_docker: SKIP (needs root: network namespaces, dockerd)"
	exit 0
fi
if ! dk_installed || ! command -v "$SERF" >/dev/null 2>&1; then
	say "bench_docker: SKIP (needs Debian packages: apt-get install docker.io containerd runc busybox-static serf)"
	exit 0
fi
sim_agent_supported || die "$OVGOSSIPD has no agent command (run make first)"

# ---- cleanup, also on interruption --------------------------------------------------------

# A trap runs with the redirections of whatever it interrupted (often 2>/dev/null), so
# cleanup writes to a copy of the original stderr.
exec {ERRFD}>&2
CLEANED=0
cleanup() {
	[ "$CLEANED" = 1 ] && return 0
	CLEANED=1
	trap '' INT TERM HUP
	{
		say "== cleanup"
		sim_use "$CL_DK" && dk_down
		sim_use "$CL_OV" && sim_down >/dev/null
		sim_use "$CL_SF" && sim_down >/dev/null
		[ -n "$RES" ] && rm -rf "$RES"
	} 2>&"$ERRFD" >&2
}
trap 'cleanup; exit 130' INT
trap 'cleanup; exit 143' TERM
trap 'cleanup; exit 129' HUP
trap cleanup EXIT

RES=$(mktemp -d /tmp/bench-docker.XXXXXX) || die "mktemp failed"

# ---- helpers ------------------------------------------------------------------------------

# ns_wait NSPATH SECS MODE ARG: poll the overlay neighbors in a namespace (every 5 ms) until
#   absent IP  no neighbor entry for IP on vxlan0
#   present IP a permanent one for IP
#   more N     more than N permanent entries on vxlan0
# prints the time (ms since the epoch) it was first seen true; 1 on timeout.
ns_wait() {
	local ns=$1 secs=$2 mode=$3 arg=$4
	# shellcheck disable=SC2016
	nsenter --net="$ns" -- bash -c '
		secs=$1 mode=$2 arg=$3
		now() { local t=${EPOCHREALTIME/[.,]/}; echo $((t / 1000)); }
		end=$(($(now) + secs * 1000))
		exec 3<> <(:)
		while :; do
			case $mode in
			absent) [ -z "$(ip neigh show to "$arg" dev vxlan0)" ] && break ;;
			present) [ -n "$(ip neigh show to "$arg" dev vxlan0 nud permanent)" ] && break ;;
			more) [ "$(ip neigh show dev vxlan0 nud permanent | grep -c .)" -gt "$arg" ] && break ;;
			esac
			[ "$(now)" -ge "$end" ] && exit 1
			read -r -t 0.005 -u 3
		done
		now' _ "$secs" "$mode" "$arg"
}

neigh_count() {
	nsenter --net="$1" -- ip neigh show dev vxlan0 nud permanent | grep -c .
}

# ping_until NSPATH IP SECS: ping every 10 ms until the first reply; 0 on a reply. A ping
# ends at its first error too (a failed ARP: "Destination Host Unreachable"), so a loop
# starts another until the deadline.
ping_until() {
	# shellcheck disable=SC2016
	nsenter --net="$1" -- bash -c '
		now() { local t=${EPOCHREALTIME/[.,]/}; echo $((t / 1000)); }
		end=$(($(now) + $2 * 1000))
		while :; do
			ping -n -q -c 1 -i 0.01 -W 1 -w 1 "$1" >/dev/null 2>&1 && exit 0
			[ "$(now)" -ge "$end" ] && exit 1
		done' _ "$2" "$3"
}

# Forget what a container's kernel learned (ARP), and retry ARP every 10 ms rather than
# every second: the ping then measures the overlay, not the ARP timers. Same for both.
probe_prepare() { nsenter --net="$1" -- sysctl -q -w net.ipv4.neigh.eth0.retrans_time_ms=10; }
probe_flush() { nsenter --net="$1" -- ip neigh flush dev eth0 2>/dev/null; }

rec() { printf '%s\n' "$3" >>"$RES/$1.$2"; }
recfail() { printf 'inf\n' >>"$RES/$1.$2"; }

load1() { cut -d' ' -f1 /proc/loadavg; }

# Seconds left of BENCH_DK_MAX_SECS since the start.
time_left() { printf '%s\n' $((BENCH_DK_MAX_SECS - ($(sim_now_ms) - T_START) / 1000)); }
BUDGET_CUT=0 BUDGET_LONG=0

rss_kb() {
	awk '$1 == "VmRSS:" { print $2; f = 1 } END { if (!f) exit 1 }' "/proc/$1/status" 2>/dev/null
}

cpu_ticks() {
	local st
	st=$(cat "/proc/$1/stat" 2>/dev/null) || return 1
	st=${st##*) }
	awk '{ print $12 + $13 }' <<<"$st"
}

# ---- the three clusters -------------------------------------------------------------------

# Docker: swarm, one container cI on every host with a fixed address.
DK_A_NS='' DK_A_SB='' DK_B_IP=''
setup_docker() {
	local h i
	say "== Docker: $BENCH_DK_HOSTS dockerd, swarm, overlay network $DK_NET"
	sim_use "$CL_DK" || return 1
	dk_up "$BENCH_DK_HOSTS" || return 1
	for ((i = 1; i <= BENCH_DK_HOSTS; i++)); do
		h=h$i
		dk_run "$h" "c$i" "10.10.0.$((10 + i))" >/dev/null 2>&1 || {
			say "docker run on $h failed"
			return 1
		}
	done
	DK_A_NS=$(dk_container_ns "$HA" "c${HA#h}") || return 1
	DK_A_SB=$(dk_sandbox "$HA") || return 1
	DK_B_IP=10.10.0.$((10 + BENCH_DK_HOSTS))
	probe_prepare "$DK_A_NS" || return 1
	ping_until "$DK_A_NS" "$DK_B_IP" 30 || { say "Docker: c2 cannot ping $DK_B_IP"; return 1; }
	say "   $(dk h1 node ls --format '{{.Hostname}}:{{.Status}}' | tr '\n' ' ')"
	say "   storage driver $(dk h1 info -f '{{.Driver}}'), cgroups $(dk h1 info -f '{{.CgroupDriver}}') v$(dk h1 info -f '{{.CgroupVersion}}')"
}

OV_A_NS='' OV_A_SB='' OV_B_IP=''
ov_connect() {
	local h=$1 name=$2 ns out
	ns=$(sim_container "$h" "$name") || return 1
	out=$(sim_ovg "$h" network connect --name "$name" "$OV_NET" "$ns") || return 1
	out=${out#* }
	printf '%s\n' "${out%%/*}"
}

setup_ovg() {
	local i ip
	say "== ovgossipd: $BENCH_DK_HOSTS agents, network $OV_NET"
	sim_use "$CL_OV" || return 1
	sim_up "$BENCH_DK_HOSTS" >/dev/null || return 1
	sim_ovg h1 network create --attachable "$OV_NET" >/dev/null || return 1
	for ((i = 1; i <= BENCH_DK_HOSTS; i++)); do
		ip=$(ov_connect "h$i" "c$i") || { say "ovgossipd: connect on h$i failed"; return 1; }
		[ "h$i" = "$HB" ] && OV_B_IP=$ip
	done
	OV_A_NS=$SIM_NETNS_DIR/$(sim_netns "c${HA#h}") || return 1
	OV_A_SB=$(sim_ovg "$HA" network inspect "$OV_NET" | jq -r .sandbox) || return 1
	[ -e "$OV_A_SB" ] || { say "ovgossipd: no sandbox '$OV_A_SB' on $HA"; return 1; }
	probe_prepare "$OV_A_NS" || return 1
	ping_until "$OV_A_NS" "$OV_B_IP" 30 || { say "ovgossipd: c2 cannot ping $OV_B_IP"; return 1; }
}

serf_pid() {
	local pid
	pid=$(cat "$(sim_hostdir "$1")/serf.pid" 2>/dev/null) || return 1
	sim_pid_in_ns "$pid" "$SIM_PREFIX-$1" || return 1
	printf '%s\n' "$pid"
}

serf_cli() {
	local h=$1
	shift
	timeout 10 nsenter --net="$SIM_NETNS_DIR/$SIM_PREFIX-$h" -- "$SERF" "$@" -rpc-addr="$SERF_RPC"
}

serf_alive_count() { serf_cli "$1" members -status=alive | grep -c .; }
serf_all_alive() {
	local h
	for h in $(sim_hosts); do
		[ "$(serf_alive_count "$h")" = "$SIM_N" ] || return 1
	done
}

# serf needs no lib of ours: a detached agent per host, the same launch scheme as lib.sh's.
setup_serf() {
	local h key dir pid
	say "== serf: $BENCH_DK_HOSTS agents (membership only)"
	sim_use "$CL_SF" || return 1
	sim_up "$BENCH_DK_HOSTS" --no-agents >/dev/null || return 1
	key=$("$SERF" keygen) || return 1
	for h in $(sim_hosts); do
		dir=$(sim_hostdir "$h")
		# shellcheck disable=SC2016
		setsid -f bash -c 'cd / && echo $$ >"$1" && shift && exec nsenter --net="$@"' _ \
			"$dir/serf.pid" "$SIM_NETNS_DIR/$SIM_PREFIX-$h" -- "$SERF" agent -node="$h" \
			-bind="$(sim_addr "$h"):$SIM_PORT" -rpc-addr="$SERF_RPC" -encrypt="$key" \
			</dev/null >>"$dir/serf.log" 2>&1
		sim_wait_until 5 test -s "$dir/serf.pid" || return 1
		pid=$(cat "$dir/serf.pid")
		sim_wait_until 5 sim_pid_settled "$pid" "$SIM_PREFIX-$h" || return 1
		sim_wait_until 10 serf_cli "$h" members >/dev/null 2>&1 || { say "serf on $h not answering"; return 1; }
	done
	for h in $(sim_hosts); do
		[ "$h" = h1 ] && continue
		serf_cli "$h" join "$(sim_addr h1)" >/dev/null || return 1
	done
	sim_wait_until 30 serf_all_alive || { say "serf members not all alive"; return 1; }
}

# ---- figures 1, 1a, 2: create, then remove, one endpoint on B ------------------------------

# sys_create SYS K: create endpoint K on B; prints its IP.
sys_create() {
	case $1 in
	dk) dk_run "$HB" "t$2" "10.10.0.$((100 + $2))" >/dev/null 2>&1 && printf '10.10.0.%s\n' $((100 + $2)) ;;
	ov) ov_connect "$HB" "t$2" ;;
	esac
}

sys_remove() {
	case $1 in
	dk) dk "$HB" rm -f "t$2" >/dev/null ;;
	ov) sim_ovg "$HB" network disconnect "$OV_NET" "$SIM_PREFIX-t$2" >/dev/null ;;
	esac
}

# After the measurement (untimed): what a removal leaves (ovgossipd: the namespace).
sys_remove_after() {
	case $1 in
	ov) sim_container_rm "t$2" ;;
	esac
	return 0
}

sys_use() {
	case $1 in
	dk) sim_use "$CL_DK" && A_NS=$DK_A_NS A_SB=$DK_A_SB B_IP=$DK_B_IP ;;
	ov) sim_use "$CL_OV" && A_NS=$OV_A_NS A_SB=$OV_A_SB B_IP=$OV_B_IP ;;
	esac
}

trial_create() {
	local sys=$1 k=$2 base t0 ip t1 tn pf t2 t3
	sys_use "$sys" || return 1
	probe_flush "$A_NS"
	base=$(neigh_count "$A_SB")
	pf=$RES/poll.$sys.$k
	ns_wait "$A_SB" "$WAIT_SECS" more "$base" >"$pf" &
	local poller=$!
	t0=$(sim_now_ms)
	if ! ip=$(sys_create "$sys" "$k") || [ -z "$ip" ]; then
		say "   $sys trial $k: create failed"
		kill "$poller" 2>/dev/null
		wait "$poller" 2>/dev/null
		recfail "$sys" create_reply
		return 1
	fi
	if ping_until "$A_NS" "$ip" "$WAIT_SECS"; then
		t1=$(sim_now_ms)
		rec "$sys" create_reply $((t1 - t0))
	else
		recfail "$sys" create_reply
	fi
	if wait "$poller" && tn=$(<"$pf") && [ -n "$tn" ]; then
		rec "$sys" create_neigh $((tn - t0))
	else
		recfail "$sys" create_neigh
	fi
	t2=$(sim_now_ms)
	sys_remove "$sys" "$k" || { recfail "$sys" remove; sys_remove_after "$sys" "$k"; return 1; }
	if t3=$(ns_wait "$A_SB" "$WAIT_SECS" absent "$ip"); then
		rec "$sys" remove $((t3 - t2))
	else
		recfail "$sys" remove
	fi
	sys_remove_after "$sys" "$k"
	say "   $sys trial $k: neigh $((${tn:-0} - t0)) ms, reply $((${t1:-0} - t0)) ms, removal $((${t3:-0} - t2)) ms (load $(load1))"
}

# ---- figures 3, 4: B cut off at its switch port, then back -------------------------------

# port down|up: B's switch port drops every frame in and out (an nftables bridge table in the
# switch namespace, added and deleted in one transaction each), or passes them again. Not a
# link down: carrier changes go through the kernel's linkwatch, which delays them by up to a
# second and would add that to figure 4; nothing inside the host namespaces changes.
port() {
	case $1 in
	down)
		printf 'table bridge ovgbench_cut {\n\tchain cut {\n\t\ttype filter hook forward priority 0; policy accept;\n\t\tiifname "%s" drop\n\t\toifname "%s" drop\n\t}\n}\n' \
			"$HB" "$HB" | sim_exec sw nft -f -
		;;
	up) sim_exec sw nft delete table bridge ovgbench_cut ;;
	esac
}

# Ready for the next cut: A's container reaches B's, B's reaches h1's, and (ovgossipd) the
# members agree. Not timed; bounded by BENCH_DK_SETTLE_WAIT.
settled() {
	local sys=$1 b_ns ip1 h
	if ! ping_until "$A_NS" "$B_IP" "$BENCH_DK_SETTLE_WAIT"; then
		say "   $sys: A's container does not reach B's ($B_IP)"
		return 1
	fi
	case $sys in
	dk) b_ns=$(dk_container_ns "$HB" "c${HB#h}") || return 1 ;;
	ov) b_ns=$SIM_NETNS_DIR/$(sim_netns "c${HB#h}") || return 1 ;;
	esac
	ip1=$(sys_ip_of "$sys" 1)
	if [ -z "$ip1" ] || ! ping_until "$b_ns" "$ip1" "$BENCH_DK_SETTLE_WAIT"; then
		say "   $sys: B's container does not reach h1's (${ip1:-no address})"
		return 1
	fi
	if [ "$sys" = ov ] && ! sim_wait_converged "$BENCH_DK_SETTLE_WAIT" >/dev/null 2>&1; then
		for h in $(sim_hosts); do
			say "   $sys: $h sees $(sim_ovg "$h" members --format json 2>/dev/null |
				jq -r '[.[] | "\(.name)=\(.status)/\(.incarnation)"] | join(" ")' 2>/dev/null)"
		done
		return 1
	fi
	return 0
}

sys_ip_of() {
	case $1 in
	dk) printf '10.10.0.%s\n' $((10 + $2)) ;;
	ov) sim_ovg h1 network inspect "$OV_NET" | jq -r --arg n "c$2" '.endpoints[] | select(.name == $n) | .ip' ;;
	esac
}

REJOINS_OV=0 RESTARTS_OV=0 LATE_DK=0 UNSETTLED_dk='' UNSETTLED_ov=''
# heal SYS K METRIC WAIT LABEL: B's port up, time until A's container pings B's again
# (recorded as METRIC), then wait until settled.
heal() {
	local sys=$1 k=$2 metric=$3 wait=$4 label=$5 t2 t3 msg
	probe_flush "$A_NS"
	t2=$(sim_now_ms)
	port up || return 1
	if ping_until "$A_NS" "$B_IP" "$wait"; then
		t3=$(sim_now_ms)
		rec "$sys" "$metric" $((t3 - t2))
		msg="$((t3 - t2)) ms"
	else
		t3=''
		recfail "$sys" "$metric"
		msg="TIMEOUT ($wait s)"
	fi
	say "   $sys $label $k: ping again after $msg (load $(load1))"
	# ovgossipd split for good (no ping within the wait): join B to h1 by hand, counted in
	# the report, so the next trials still run; the timeout above stays in the figures.
	if [ -z "$t3" ] && [ "$sys" = ov ]; then
		say "   $sys: ovgossipd join from $HB to h1 by hand"
		REJOINS_OV=$((REJOINS_OV + 1))
		sim_ovg "$HB" join "$(sim_addr h1):$SIM_PORT" >/dev/null
	fi
	if settled "$sys"; then
		[ -z "$t3" ] && [ "$sys" = dk ] && LATE_DK=$((LATE_DK + 1))
	else
		if [ "$sys" != ov ]; then
			say "   $sys: not settled after $label $k"
			UNSETTLED_dk="$label $k"
			return 1
		fi
		# Last resort, counted in the report: restart B's agent (it keeps its state).
		say "   $sys: not settled after $label $k; restarting the agent on $HB by hand"
		RESTARTS_OV=$((RESTARTS_OV + 1))
		if ! sim_agent_restart "$HB" >/dev/null || ! settled "$sys"; then
			say "   $sys: not settled after a restart either"
			UNSETTLED_ov="$label $k"
			return 1
		fi
	fi
	sleep 1
}

# Figures 3, 4: cut until A dropped B's entries, then heal.
trial_cut() {
	local sys=$1 k=$2 t0 t1
	sys_use "$sys" || return 1
	t0=$(sim_now_ms)
	port down || return 1
	if t1=$(ns_wait "$A_SB" "$WAIT_SECS" absent "$B_IP"); then
		rec "$sys" cut $((t1 - t0))
		say "   $sys cut $k: entries gone on A after $((t1 - t0)) ms"
	else
		recfail "$sys" cut
		say "   $sys cut $k: entries still on A after $WAIT_SECS s"
	fi
	heal "$sys" "$k" heal "$BENCH_DK_HEAL_WAIT" cut
}

# Figure 4b: cut for BENCH_DK_LONG_CUT_SECS, longer than either side needs to declare the
# other failed, then heal.
trial_long() {
	local sys=$1 k=$2
	sys_use "$sys" || return 1
	port down || return 1
	say "   $sys long cut $k: port down for $BENCH_DK_LONG_CUT_SECS s"
	sleep "$BENCH_DK_LONG_CUT_SECS" &
	wait $!
	heal "$sys" "$k" long_heal "$BENCH_DK_LONG_WAIT" "long cut"
}

# The floor of figure 4: the same port down/up on the serf cluster's underlay, timed until
# host A's namespace pings host B's underlay address (ARP and the kernel's carrier handling).
underlay_floor() {
	local k t0 t1 a_ns
	sim_use "$CL_SF" || return 1
	a_ns=$SIM_NETNS_DIR/$SIM_PREFIX-$HA
	for ((k = 1; k <= 5; k++)); do
		port down || return 1
		sleep 1 &
		wait $!
		t0=$(sim_now_ms)
		port up || return 1
		if ping_until "$a_ns" "$(sim_addr "$HB")" 10; then
			t1=$(sim_now_ms)
			rec ul heal $((t1 - t0))
		else
			recfail ul heal
		fi
		sleep 1 &
		wait $!
	done
	say "   underlay alone: port up -> ping between the host namespaces, median $(fmt_ms "$(figure ul.heal median)"), max $(fmt_ms "$(figure ul.heal max)")"
}

# ---- figures 5, 6: at rest -----------------------------------------------------------------

ACCT_IN=OVGB-IN ACCT_OUT=OVGB-OUT
# Counting rules (no target) in two chains jumped to first from INPUT and OUTPUT.
acct_install() {
	local h c
	for h in $(sim_hosts); do
		{
			printf '*filter\n:%s - [0:0]\n:%s - [0:0]\n' "$ACCT_IN" "$ACCT_OUT"
			printf -- '-I INPUT 1 -j %s\n-I OUTPUT 1 -j %s\n' "$ACCT_IN" "$ACCT_OUT"
			for c in "$ACCT_IN" "$ACCT_OUT"; do
				printf -- '-A %s -p udp -m multiport --ports 7946\n' "$c"
				printf -- '-A %s -p tcp -m multiport --ports 7946\n' "$c"
				printf -- '-A %s -p tcp -m multiport --ports 2377\n' "$c"
			done
			printf 'COMMIT\n'
		} | sim_nsenter "$SIM_PREFIX-$h" iptables-restore -w --noflush || return 1
	done
}

# acct_read: "HOST CHAIN UDP7946 TCP7946 TCP2377" (bytes) for every host.
acct_read() {
	local h c
	for h in $(sim_hosts); do
		for c in "$ACCT_IN" "$ACCT_OUT"; do
			printf '%s %s %s\n' "$h" "$c" "$(sim_ipt "$h" -nvxL "$c" | awk 'NR > 2 { printf "%s ", $2 }')"
		done
	done
}

# Control-plane pids of a host, one a line (Docker: dockerd and its containerd).
cp_pids() {
	case $1 in
	dk) dk_dockerd_pid "$2" && dk_containerd_pid "$2" ;;
	ov) sim_agent_pid "$2" ;;
	sf) serf_pid "$2" ;;
	esac
}

shim_rss_kb() {
	local p pid sum=0 exe
	for pid in $(ip netns pids "$SIM_PREFIX-$1" 2>/dev/null); do
		p=/proc/$pid
		exe=$(readlink "$p/exe" 2>/dev/null) || continue
		case $exe in */containerd-shim*) sum=$((sum + $(rss_kb "$pid" || echo 0))) ;; esac
	done
	printf '%s\n' "$sum"
}

sys_cluster() {
	case $1 in dk) printf '%s\n' "$CL_DK" ;; ov) printf '%s\n' "$CL_OV" ;; sf) printf '%s\n' "$CL_SF" ;; esac
}

measure_rest() {
	local s h pid secs=$BENCH_DK_REST_SECS hz t0 t1
	hz=$(getconf CLK_TCK)
	say "== at rest: ${BENCH_DK_SETTLE_SECS} s to settle, then ${secs} s measured, all three clusters side by side (load $(load1))"
	sleep "$BENCH_DK_SETTLE_SECS" &
	wait $!
	for s in dk ov sf; do
		sim_use "$(sys_cluster "$s")" && acct_install || return 1
	done
	for s in dk ov sf; do
		sim_use "$(sys_cluster "$s")" || return 1
		acct_read >"$RES/acct0.$s"
		for h in $(sim_hosts); do
			for pid in $(cp_pids "$s" "$h"); do
				printf '%s %s %s\n' "$h" "$pid" "$(cpu_ticks "$pid")"
			done
		done >"$RES/cpu0.$s"
	done
	t0=$(sim_now_ms)
	# In the background: a signal to this shell runs the trap at once, not after the sleep.
	sleep "$secs" &
	wait $!
	t1=$(sim_now_ms)
	for s in dk ov sf; do
		sim_use "$(sys_cluster "$s")" || return 1
		acct_read >"$RES/acct1.$s"
		for h in $(sim_hosts); do
			local r=0 c=0 c0 p
			for pid in $(cp_pids "$s" "$h"); do
				r=$((r + $(rss_kb "$pid" || echo 0)))
				p=$(cpu_ticks "$pid" || echo 0)
				c0=$(awk -v h="$h" -v p="$pid" '$1 == h && $2 == p { print $3 }' "$RES/cpu0.$s")
				c=$((c + p - ${c0:-$p}))
			done
			rec "$s" rss_kb "$r"
			# CPU: percent of one CPU over the window.
			rec "$s" cpu_pct "$(awk -v c="$c" -v hz="$hz" -v ms=$((t1 - t0)) 'BEGIN { printf "%.2f\n", 100 * c / hz / (ms / 1000) }')"
			[ "$s" = dk ] && rec dk shim_rss_kb "$(shim_rss_kb "$h")"
		done
		# bytes per second per host, sent (OUT) and by port
		awk -v ms=$((t1 - t0)) -v out="$ACCT_OUT" -v dir="$RES" -v s="$s" '
			NR == FNR { u0[$1 " " $2] = $3; t0[$1 " " $2] = $4; w0[$1 " " $2] = $5; next }
			$2 == out { k = $1 " " $2; sec = ms / 1000
				u = $3 - u0[k]; t = $4 - t0[k]; w = $5 - w0[k]
				printf "%.1f\n", (u + t + w) / sec >> (dir "/" s ".bps")
				printf "%.1f\n", (u + t) / sec >> (dir "/" s ".bps_gossip")
				printf "%.1f\n", w / sec >> (dir "/" s ".bps_2377") }' "$RES/acct0.$s" "$RES/acct1.$s"
	done
	say "   done (load $(load1))"
}

# ---- numbers --------------------------------------------------------------------------------

# figure NAME FIELD: median|p99|min|max|mean|n|fails of the values in $RES/NAME; a timeout is
# "inf" and counts as larger than any value (p99 nearest-rank; min over finite values).
figure() {
	local f=$RES/$1
	[ -s "$f" ] || { printf -- '-\n'; return 0; }
	sort -g "$f" | awk -v w="$2" '{ v[NR] = $1; if ($1 != "inf") { s += $1; fin++ } else inf++ } END {
		n = NR
		if (w == "n") { print n; exit }
		if (w == "fails") { print inf + 0; exit }
		if (w == "median") {
			if (n % 2) x = v[(n + 1) / 2]
			else if (v[n / 2 + 1] == "inf") x = "inf"
			else x = (v[n / 2] + v[n / 2 + 1]) / 2
		}
		if (w == "p99") { r = int(0.99 * n); if (r < 0.99 * n) r++; x = v[r] }
		if (w == "min") x = fin ? v[1] : "inf"
		if (w == "max") x = v[n]
		if (w == "mean") x = fin ? s / fin : "-"
		print x }'
}

# ms -> "0.123 s" or "12 ms"
fmt_ms() {
	[ "$1" = - ] && { printf -- '-\n'; return; }
	[ "$1" = inf ] && { printf 'timeout\n'; return; }
	awk -v m="$1" 'BEGIN { if (m >= 1000) printf "%.2f s\n", m / 1000; else printf "%d ms\n", m + 0.5 }'
}

ratio() {
	awk -v a="$1" -v b="$2" 'BEGIN { if (a == "-" || b == "-" || a == "inf" || b == "inf" || b + 0 <= 0) { print "-"; exit }
		r = a / b; if (r >= 10) printf "%.0fx\n", r; else printf "%.1fx\n", r }'
}

# verdict DOCKER OURS: Docker's figure at least 3 times ours (times, memory)?
verdict3() {
	awk -v a="$1" -v b="$2" 'BEGIN { if (a == "-" || b == "-") { print "n/a"; exit }
		if (b == "inf") { print "NOT met"; exit }
		if (a == "inf") { print "met"; exit }
		if (b + 0 <= 0 || a / b >= 3) print "met"; else print "NOT met" }'
}

time_table() {
	local metric=$1 title=$2 wait=$3 dm om s n f
	printf '\n### %s\n\n' "$title"
	printf '| system | median | p99 | min | max | trials (timeouts after %s s) |\n|---|---|---|---|---|---|\n' "$wait"
	for s in dk ov; do
		n=$(figure "$s.$metric" n)
		f=$(figure "$s.$metric" fails)
		printf '| %s | %s | %s | %s | %s | %s (%s) |\n' "$(sysname "$s")" \
			"$(fmt_ms "$(figure "$s.$metric" median)")" "$(fmt_ms "$(figure "$s.$metric" p99)")" \
			"$(fmt_ms "$(figure "$s.$metric" min)")" "$(fmt_ms "$(figure "$s.$metric" max)")" \
			"$([ "$n" = - ] && echo 0 || echo "$n")" "$([ "$f" = - ] && echo 0 || echo "$f")"
	done
	dm=$(figure "dk.$metric" median) om=$(figure "ov.$metric" median)
	printf '| **Docker / ovgossipd** | **%s** | %s | | | target 3x: **%s** |\n' \
		"$(ratio "$dm" "$om")" "$(ratio "$(figure "dk.$metric" p99)" "$(figure "ov.$metric" p99)")" \
		"$(verdict3 "$dm" "$om")"
}

summary_time() {
	local dm om
	dm=$(figure "dk.$1" median) om=$(figure "ov.$1" median)
	printf '| %s | %s | %s | %s | 3x faster | **%s** |\n' "$2" "$(fmt_ms "$dm")" "$(fmt_ms "$om")" \
		"$(ratio "$dm" "$om")" "$(verdict3 "$dm" "$om")"
}

sysname() {
	case $1 in dk) printf 'Docker %s swarm\n' "$DK_VER" ;; ov) printf 'ovgossipd\n' ;; sf) printf 'serf %s\n' "$SF_VER" ;; esac
}

fmt_bps() {
	[ "$1" = - ] && { printf -- '-\n'; return; }
	awk -v b="$1" 'BEGIN { if (b >= 1000) printf "%.2f kB/s\n", b / 1000; else printf "%.0f B/s\n", b }'
}

fmt_kb() {
	[ "$1" = - ] && { printf -- '-\n'; return; }
	awk -v k="$1" 'BEGIN { printf "%.1f MiB\n", k / 1024 }'
}

# shellcheck disable=SC2016 # backquotes are markdown
report() {
	local dm om s total_s
	total_s=$((($(sim_now_ms) - T_START) / 1000))
	printf '# ovgossipd vs Docker swarm overlay (and serf): measured side by side\n\n'
	printf 'Generated by `bench/bench_docker.sh` (run by `make bench`, or alone as root:\n'
	printf '`OVGOSSIPD=$PWD/ovgossipd bash bench/bench_docker.sh`). Every figure below comes\n'
	printf 'from one run, all systems on the same machine at the same time.\n\n'
	printf '## Machine and run\n\n'
	printf -- '- %s CPUs (`nproc`), kernel %s, %s; %s MiB RAM\n' "$(nproc)" "$(uname -r)" \
		"$(. /etc/os-release && printf '%s' "$PRETTY_NAME")" "$(awk '$1 == "MemTotal:" { printf "%d", $2 / 1024 }' /proc/meminfo)"
	printf -- '- load average (1 min) %s at the start, %s at the end (other jobs on the\n' "$LOAD_START" "$(load1)"
	printf '  machine count in it); the two systems ran interleaved, trial by trial, so load hit both alike\n'
	printf -- '- Docker: `%s` (Debian docker.io), containerd %s, runc %s; storage driver %s, cgroup driver %s (cgroup v%s)\n' \
		"$DK_VER_FULL" "$CTD_VER" "$RUNC_VER" "$DK_STORAGE" "$DK_CGDRV" "$DK_CGV"
	printf -- '- ovgossipd: `%s` (%s); serf: %s\n' "$OV_VER" "$OVGOSSIPD" "$SF_VER"
	printf -- '- command: `%s`\n' "$CMDLINE"
	printf -- '- %s hosts per system (network namespaces h1..h%s on one bridge, 192.168.77.0/24),\n' "$BENCH_DK_HOSTS" "$BENCH_DK_HOSTS"
	printf '  one container per host; host A = %s (its container pings), host B = %s (gets new\n' "$HA" "$HB"
	printf '  containers, is cut off); Docker: h1 swarm manager, the others workers\n'
	printf -- '- %s trials for figures 1, 2; %s for 3, 4%s; %s for 4b%s; at rest %s s; whole run %s s\n' \
		"$BENCH_DK_RUNS" "$BENCH_DK_CUT_RUNS" "$([ "$BUDGET_CUT" = 1 ] && printf ' planned (the time budget cut them short)')" \
		"$BENCH_DK_LONG_RUNS" "$([ "$BUDGET_LONG" = 1 ] && printf ' planned (cut short by the time budget)')" \
		"$BENCH_DK_REST_SECS" "$total_s"
	printf -- '- p99 is nearest-rank: with up to 100 trials it is the maximum; a timeout counts as\n'
	printf '  longer than any measured value and stays in the median and p99\n'

	printf '\n## Summary (medians; details and p99 below)\n\n'
	printf '| figure | Docker | ovgossipd | Docker / ovgossipd | target | |\n|---|---|---|---|---|---|\n'
	summary_time create_reply "1. new container on B -> ping reply from A"
	summary_time create_neigh "1a. new container on B -> neighbor on A"
	summary_time remove "2. container removed on B -> neighbor gone on A"
	summary_time cut "3. B cut off -> its entries gone on A"
	summary_time heal "4. B back -> ping again"
	[ "$BENCH_DK_LONG_RUNS" -gt 0 ] && summary_time long_heal "4b. B back after ${BENCH_DK_LONG_CUT_SECS} s -> ping again"
	dm=$(figure dk.bps mean) om=$(figure ov.bps mean)
	printf '| 5. bytes/s per host at rest | %s | %s | %s | no more than Docker | **%s** |\n' \
		"$(fmt_bps "$dm")" "$(fmt_bps "$om")" "$(ratio "$dm" "$om")" \
		"$(awk -v a="$dm" -v b="$om" 'BEGIN { if (a == "-" || b == "-") print "n/a"; else if (b <= a) print "met"; else print "NOT met" }')"
	dm=$(figure dk.rss_kb mean) om=$(figure ov.rss_kb mean)
	printf '| 6. RSS per host | %s | %s | %s | 3x less | **%s** |\n' \
		"$(fmt_kb "$dm")" "$(fmt_kb "$om")" "$(ratio "$dm" "$om")" "$(verdict3 "$dm" "$om")"

	printf '\n## Figures\n'
	time_table create_reply "1. New container on B until a ping reply from A's container (docker run -d / ip netns add + network connect)" "$WAIT_SECS"
	printf '\nTarget (issue): at least 3x faster than Docker (measured before: 0.79-0.96 s).\n'
	time_table create_neigh "1a. New container on B until its permanent neighbor is on A (the gossip, with the local work on B)" "$WAIT_SECS"
	printf '\nDocker measured before: 6-148 ms from the veth on B (here: from the start of the command).\n'
	time_table remove "2. Container removed on B (docker rm -f / network disconnect) until its neighbor is gone on A" "$WAIT_SECS"
	printf '\nDocker measured before: 0.32-0.36 s.\n'
	time_table cut "3. B cut off (its switch port drops everything) until its container's neighbor is gone on A" "$WAIT_SECS"
	printf '\nDocker measured before: 6.6 s.\n'
	time_table heal "4. B's port passes frames again until A's container gets a ping reply from B's container" "$BENCH_DK_HEAL_WAIT"
	printf '\nDocker measured before: 1.8 s. The floor, the underlay alone (the same cut for 1 s and\n'
	printf 'heal on an idle cluster, until host A pings host B'"'"'s underlay address): median %s,\n' \
		"$(fmt_ms "$(figure ul.heal median)")"
	printf 'max %s over %s trials.\n' "$(fmt_ms "$(figure ul.heal max)")" "$(figure ul.heal n)"
	[ -n "$UNSETTLED_dk" ] && printf '%s did not settle within %s s after %s; its later cuts were skipped.\n' \
		"$(sysname dk)" "$BENCH_DK_SETTLE_WAIT" "$UNSETTLED_dk"
	[ -n "$UNSETTLED_ov" ] && printf '%s did not settle within %s s after %s (even after the manual steps below); its later cuts were skipped.\n' \
		"$(sysname ov)" "$BENCH_DK_SETTLE_WAIT" "$UNSETTLED_ov"
	if [ "$BENCH_DK_LONG_RUNS" -gt 0 ]; then
		time_table long_heal "4b. B cut off for $BENCH_DK_LONG_CUT_SECS s (longer than either side needs to declare the other failed), then healed, until A's container gets a ping reply from B's" "$BENCH_DK_LONG_WAIT"
	fi
	if [ "$LATE_DK" -gt 0 ]; then
		printf '\nDocker healed by itself after %s of its timeouts in 4 and 4b, later than the wait\n' "$LATE_DK"
		printf '(within the %s s the bench then gives each system to settle).\n' "$BENCH_DK_SETTLE_WAIT"
	fi
	if [ "$REJOINS_OV" -gt 0 ]; then
		printf '\novgossipd did not heal by itself %s times (timeouts in 4 and 4b): A and B had\n' "$REJOINS_OV"
		printf 'declared each other failed and nothing brought them together again; the bench then ran\n'
		printf '`ovgossipd join` on B towards h1 by hand so that the next trials could run.\n'
	fi
	if [ "$RESTARTS_OV" -gt 0 ]; then
		printf '\nAfter %s cuts ovgossipd had not settled (A and B pinging both ways, all members\n' "$RESTARTS_OV"
		printf 'alive everywhere) within %s s even after that join; the bench restarted the agent\n' "$BENCH_DK_SETTLE_WAIT"
		printf 'on B by hand (the members views are in the run log).\n'
	fi

	printf '\n### 5. Control-plane bytes per second per host at rest (sent; %s s; IP bytes)\n\n' "$BENCH_DK_REST_SECS"
	printf '| system | mean per host | max host | of it: 7946 (gossip) | of it: 2377 (swarm) |\n|---|---|---|---|---|\n'
	for s in dk ov sf; do
		printf '| %s | %s | %s | %s | %s |\n' "$(sysname "$s")" "$(fmt_bps "$(figure "$s.bps" mean)")" \
			"$(fmt_bps "$(figure "$s.bps" max)")" "$(fmt_bps "$(figure "$s.bps_gossip" mean)")" \
			"$(fmt_bps "$(figure "$s.bps_2377" mean)")"
	done
	dm=$(figure dk.bps mean) om=$(figure ov.bps mean)
	printf '| **Docker / ovgossipd** | **%s** | | | |\n' "$(ratio "$dm" "$om")"
	printf '\nTarget: no more than Docker: **%s**.\n' \
		"$(awk -v a="$dm" -v b="$om" 'BEGIN { if (a == "-" || b == "-") print "n/a"; else if (b <= a) print "met"; else print "NOT met" }')"

	printf '\n### 6. Control plane per host: resident memory and CPU at rest\n\n'
	printf '| system | RSS mean per host | RSS max host | CPU at rest (%% of one CPU, mean per host) |\n|---|---|---|---|\n'
	for s in dk ov sf; do
		printf '| %s | %s | %s | %s%% |\n' "$(sysname "$s")$([ "$s" = dk ] && printf ' (dockerd + its containerd)')" \
			"$(fmt_kb "$(figure "$s.rss_kb" mean)")" "$(fmt_kb "$(figure "$s.rss_kb" max)")" \
			"$(figure "$s.cpu_pct" mean | awk '{ printf "%.2f", $1 }')"
	done
	dm=$(figure dk.rss_kb mean) om=$(figure ov.rss_kb mean)
	printf '| **Docker / ovgossipd** | **%s** | %s | %s |\n' "$(ratio "$dm" "$om")" \
		"$(ratio "$(figure dk.rss_kb max)" "$(figure ov.rss_kb max)")" \
		"$(ratio "$(figure dk.cpu_pct mean)" "$(figure ov.cpu_pct mean)")"
	printf '\nTarget 3x less memory than Docker: **%s**. Not counted for Docker: one\n' "$(verdict3 "$dm" "$om")"
	printf 'containerd-shim per container (%s per host on average here, with one container each);\n' \
		"$(fmt_kb "$(figure dk.shim_rss_kb mean)")"
	printf 'ovgossipd has no per-container process.\n'

	printf '\n## How each figure is measured\n\n'
	cat <<'EOF'
- Clusters: `simulations/lib.sh` builds each (`sim_up N` for ovgossipd with a shared key,
  `sim_up N --no-agents` for Docker and serf): a switch namespace with a bridge, host
  namespaces hN with eth0 = 192.168.77.N/24. Docker: one dockerd per host namespace,
  started with `nsenter --net` (and its own UTS namespace for the hostname), private
  `--data-root`, `--exec-root`, `--pidfile`, `-H unix://...`, `--config-file`,
  `--iptables=false --ip-forward=false --bridge=none`, `--exec-opt
  native.cgroupdriver=cgroupfs`, `--cgroup-parent`; dockerd starts its own containerd.
  `docker swarm init --advertise-addr` on h1, `swarm join` on the others, `docker network
  create -d overlay --attachable --subnet 10.10.0.0/24 ovnet`, an image imported from
  Debian's busybox-static, containers `docker run -d --network ovnet --ip ... sleep`.
  Gossip is encrypted in all three (swarm's networkdb keys, ovgossipd's key file, serf
  `-encrypt`).
- Probing: A's container pings with `ping -c 1 -i 0.01 -w 60` (first reply ends it). Before
  each probe its ARP cache is flushed, and its eth0 retries ARP every 10 ms
  (`retrans_time_ms`), so the figure shows the overlay, not ARP timers; same for both.
  Neighbor entries are polled every 5 ms inside A's sandbox (`ip neigh show ... dev
  vxlan0`): Docker's under its exec-root (`netns/1-<network id>`), ovgossipd's from
  `network inspect`.
- 1, 1a: the clock starts before `docker run -d --ip` (Docker chooses nothing: the address
  is given) or before `ip netns add` + `ovgossipd network connect` (which prints the
  address); the ping starts when the command returns; 1a is a poller started before the
  command, waiting for one more permanent neighbor on A. Docker's figure includes starting
  a process in the container (containerd, shim, runc); ovgossipd's "container" is a bare
  network namespace, as `network connect` takes any namespace: 1a is the fairer view of
  the network part.
- 2: from the start of `docker rm -f` / `network disconnect` to the neighbor's absence.
- 3, 4: B's port on the switch drops every frame in and out (an nftables bridge table in
  the switch namespace; the link stays up, nothing changes inside the hosts): time until
  A's sandbox loses the neighbor of B's container; then the port passes frames again: time until
  A's container gets a reply from B's container. Before the next cut A's container must
  reach B's and B's h1's container (and ovgossipd's members agree), then 1 s of rest.
- 4b: the same heal, after a fixed cut long enough for B to declare the others failed too
  (and the others B). Docker's networkdb tries a memberlist join with a random failed node
  every second (`reconnectNode` in libnetwork/networkdb/cluster.go), then bulk-syncs
  with it, so a healed link is found within about a second.
- 5: iptables counters inside every host namespace (INPUT and OUTPUT, UDP and TCP port
  7946, TCP port 2377) over the window, all three clusters at rest at the same time with
  one container per host; the table gives what each host sent (IP bytes; received is the
  same in sum). VXLAN data (4789) is not counted.
- 6: VmRSS at the end of that window (Docker: dockerd plus its containerd); CPU: utime +
  stime over the window.
EOF
}

# ---- main -------------------------------------------------------------------------------------

LOAD_START=$(load1)
CMDLINE="OVGOSSIPD=$OVGOSSIPD BENCH_DK_HOSTS=$BENCH_DK_HOSTS BENCH_DK_RUNS=$BENCH_DK_RUNS BENCH_DK_CUT_RUNS=$BENCH_DK_CUT_RUNS BENCH_DK_REST_SECS=$BENCH_DK_REST_SECS BENCH_DK_HEAL_WAIT=$BENCH_DK_HEAL_WAIT BENCH_DK_LONG_RUNS=$BENCH_DK_LONG_RUNS BENCH_DK_LONG_CUT_SECS=$BENCH_DK_LONG_CUT_SECS BENCH_DK_MAX_SECS=$BENCH_DK_MAX_SECS bash bench/bench_docker.sh"
DK_VER_FULL=$(dk_version)
DK_VER=$(awk '{ print $3 }' <<<"$DK_VER_FULL" | cut -d+ -f1 | tr -d ,)
CTD_VER=$(containerd --version 2>/dev/null | awk '{ print $3 }')
RUNC_VER=$(runc --version 2>/dev/null | awk 'NR == 1 { print $3 }')
SF_VER=$("$SERF" version 2>/dev/null | head -n 1 | awk '{ print $NF }')
OV_VER=$("$OVGOSSIPD" version 2>/dev/null | head -n 1)

say "bench_docker: $BENCH_DK_HOSTS hosts, $BENCH_DK_RUNS + $BENCH_DK_CUT_RUNS trials, load $LOAD_START"
setup_docker || die "Docker set-up failed (logs under /run/ovg-sim/$CL_DK/hosts/*/docker/ are removed at exit)"
sim_use "$CL_DK"
DK_STORAGE=$(dk h1 info -f '{{.Driver}}') DK_CGDRV=$(dk h1 info -f '{{.CgroupDriver}}') DK_CGV=$(dk h1 info -f '{{.CgroupVersion}}')
setup_ovg || die "ovgossipd set-up failed"
setup_serf || die "serf set-up failed"

measure_rest || die "at-rest measurement failed"

say "== 1, 1a, 2: create on $HB, ping from $HA, remove ($BENCH_DK_RUNS trials each, interleaved)"
for ((k = 1; k <= BENCH_DK_RUNS; k++)); do
	trial_create dk "$k"
	trial_create ov "$k"
done

underlay_floor || die "underlay baseline failed"
say "== 3, 4: $HB cut off and back ($BENCH_DK_CUT_RUNS trials each, interleaved)"
dk_ok=1 ov_ok=1
# Reserve for 4b: a typical pair (Docker heals in seconds, ovgossipd waits out the wait).
long_reserve=$((BENCH_DK_LONG_RUNS * (2 * BENCH_DK_LONG_CUT_SECS + BENCH_DK_LONG_WAIT + 25)))
for ((k = 1; k <= BENCH_DK_CUT_RUNS; k++)); do
	if [ "$(time_left)" -lt $((long_reserve + 45)) ]; then
		say "   time budget (BENCH_DK_MAX_SECS=$BENCH_DK_MAX_SECS) reached: $((k - 1)) cut trials"
		BUDGET_CUT=1
		break
	fi
	[ "$dk_ok" = 1 ] && { trial_cut dk "$k" || dk_ok=0; }
	[ "$ov_ok" = 1 ] && { trial_cut ov "$k" || ov_ok=0; }
	[ "$dk_ok" = 0 ] && [ "$ov_ok" = 0 ] && break
done
[ "$dk_ok" = 1 ] || say "   Docker did not settle; its later cut trials were skipped"
[ "$ov_ok" = 1 ] || say "   ovgossipd did not settle; its later cut trials were skipped"

if [ "$BENCH_DK_LONG_RUNS" -gt 0 ]; then
	say "== 4b: $HB cut off for $BENCH_DK_LONG_CUT_SECS s and back ($BENCH_DK_LONG_RUNS trials each)"
	for ((k = 1; k <= BENCH_DK_LONG_RUNS; k++)); do
		if [ "$(time_left)" -lt $((long_reserve / BENCH_DK_LONG_RUNS)) ]; then
			say "   time budget (BENCH_DK_MAX_SECS=$BENCH_DK_MAX_SECS) reached: $((k - 1)) long cut trials"
			BUDGET_LONG=1
			break
		fi
		[ "$dk_ok" = 1 ] && { trial_long dk "$k" || dk_ok=0; }
		[ "$ov_ok" = 1 ] && { trial_long ov "$k" || ov_ok=0; }
	done
fi

report >"$RES/report.md"
cp "$RES/report.md" "$BENCH_DK_OUT" || die "cannot write $BENCH_DK_OUT"
cat "$RES/report.md"
say "bench_docker: wrote $BENCH_DK_OUT"
