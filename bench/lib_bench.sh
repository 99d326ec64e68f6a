# shellcheck shell=bash
# bench/lib_bench.sh: helpers for benchmarks that run on a simulations/lib.sh cluster.
#
# Source simulations/lib.sh first; this file only adds what that library lacks:
#   bench_launch HOST TAG CMD...   any long-running process in HOST's namespace (pid file
#                                  hosts/HOST/TAG.pid, log hosts/HOST/TAG.log)
#   bench_pid HOST TAG             its pid while it runs there; bench_kill HOST TAG
#   bench_serf_* / bench_sys_*     the same operations for ovgossipd ("ovg") and serf
#   bench_poll SYS OUT HOST...     one parallel poll of the members views of HOSTs
#   bench_netdev_sw                byte counters of every switch port
#   bench_rss_kb PID, bench_median, bench_max, bench_fmt_s
#
# Like lib.sh, functions return nonzero with a one-line message on stderr and never exit.

: "${SERF:=serf}"
BENCH_SERF_RPC=127.0.0.1:7373
# Seconds a single client command (members, join) may take before it counts as no answer.
: "${BENCH_CLIENT_TIMEOUT:=5}"
: "${BENCH_JOIN_TIMEOUT:=30}"

bench_err() { printf 'bench: %s\n' "$*" >&2; }

# ---- generic processes in host namespaces -----------------------------------------------

# bench_launch HOST TAG CMD...: start CMD in HOST's namespace, detached, stdout and stderr
# appended to hosts/HOST/TAG.log; waits (bounded) until it runs inside the namespace.
bench_launch() {
	local h=$1 tag=$2 dir ns pidf log pid
	shift 2
	sim_need_up && sim_need_host "$h" || return 1
	dir=$(sim_hostdir "$h")
	ns=$SIM_PREFIX-$h
	pidf=$dir/$tag.pid
	log=$dir/$tag.log
	mkdir -p "$dir" || return 1
	rm -f "$pidf"
	printf '=== %s bench: starting %s\n' "$(date '+%F %T')" "$*" >>"$log"
	# Same scheme as sim_agent_launch: the shell writes its pid, then execs nsenter, which
	# execs CMD, so the pid file names CMD itself.
	# shellcheck disable=SC2016
	setsid -f bash -c 'cd / && echo $$ >"$1.tmp" && mv -f "$1.tmp" "$1" && shift &&
		exec nsenter --net="$@"' _ "$pidf" "$SIM_NETNS_DIR/$ns" -- "$@" \
		</dev/null >>"$log" 2>&1
	if ! sim_wait_until 5 test -s "$pidf"; then
		bench_err "$tag on $h did not start"
		return 1
	fi
	pid=$(cat "$pidf")
	if ! sim_wait_until 5 sim_pid_settled "$pid" "$ns" || ! sim_pid_in_ns "$pid" "$ns"; then
		bench_err "$tag on $h (pid $pid) exited at start; log $log:"
		tail -n 10 "$log" | sed 's/^/    /' >&2
		return 1
	fi
}

bench_pid() {
	local pidf pid
	pidf=$(sim_hostdir "$1")/$2.pid
	[ -f "$pidf" ] || return 1
	pid=$(cat "$pidf" 2>/dev/null) || return 1
	sim_pid_in_ns "$pid" "$SIM_PREFIX-$1" || return 1
	printf '%s\n' "$pid"
}

# bench_kill HOST TAG [SIGNAL]: signal it and wait (bounded) until it is gone.
bench_kill() {
	local h=$1 tag=$2 sig=${3:-KILL} pid
	pid=$(bench_pid "$h" "$tag") || return 0
	kill "-$sig" "$pid" 2>/dev/null
	if ! sim_wait_until 10 sim_pid_gone "$pid" "$SIM_PREFIX-$h"; then
		bench_err "$tag on $h (pid $pid) survived SIG$sig"
		return 1
	fi
	rm -f "$(sim_hostdir "$h")/$tag.pid"
}

# ---- serf -----------------------------------------------------------------------------

# bench_serf_start HOST KEY: serf agent with LAN defaults on HOST's underlay address.
bench_serf_start() {
	local h=$1 key=$2 addr
	addr=$(sim_addr "$h") || return 1
	bench_launch "$h" serf "$SERF" agent -node="$h" -bind="$addr:$SIM_PORT" \
		-rpc-addr="$BENCH_SERF_RPC" -encrypt="$key" -log-level=info
}

# bench_serf HOST ARGS...: a serf client command against HOST's agent (bounded).
bench_serf() {
	local h=$1 cmd
	shift
	[ $# -ge 1 ] || return 2
	cmd=$1
	shift
	timeout "$BENCH_CLIENT_TIMEOUT" nsenter --net="$SIM_NETNS_DIR/$SIM_PREFIX-$h" -- \
		"$SERF" "$cmd" -rpc-addr="$BENCH_SERF_RPC" "$@"
}

# ---- the two systems behind one interface (SYS: ovg or serf) ----------------------------

bench_sys_name() {
	case $1 in
	ovg) printf 'ovgossipd\n' ;;
	serf) printf 'serf\n' ;;
	*) printf '%s\n' "$1" ;;
	esac
}

# bench_sys_start SYS HOST KEY: start the agent, not joined to anyone.
bench_sys_start() {
	case $1 in
	ovg) sim_agent_launch "$2" "" ;;
	serf) bench_serf_start "$2" "$3" ;;
	*) bench_err "unknown system '$1'"; return 2 ;;
	esac
}

# bench_sys_members SYS HOST: the members view as JSON (bounded).
bench_sys_members() {
	case $1 in
	ovg)
		OVGOSSIPD_SOCKET=$(sim_hostdir "$2")/agent.sock timeout "$BENCH_CLIENT_TIMEOUT" \
			nsenter --net="$SIM_NETNS_DIR/$SIM_PREFIX-$2" -- "$OVGOSSIPD" members --format json
		;;
	serf) bench_serf "$2" members -format=json ;;
	*) return 2 ;;
	esac
}

bench_sys_answers() { bench_sys_members "$1" "$2" >/dev/null 2>&1; }

bench_sys_pid() {
	case $1 in
	ovg) sim_agent_pid "$2" ;;
	serf) bench_pid "$2" serf ;;
	*) return 2 ;;
	esac
}

bench_sys_running() { bench_sys_pid "$1" "$2" >/dev/null; }

bench_sys_ready_or_dead() {
	bench_sys_answers "$1" "$2" && return 0
	bench_sys_running "$1" "$2" || return 0
	return 1
}

# bench_sys_wait_ready SYS HOST SECONDS
bench_sys_wait_ready() {
	if ! sim_wait_until "$3" bench_sys_ready_or_dead "$1" "$2" || ! bench_sys_running "$1" "$2"; then
		bench_err "$(bench_sys_name "$1") agent on $2 is not answering (log $(bench_sys_log "$1" "$2"))"
		tail -n 10 "$(bench_sys_log "$1" "$2")" 2>/dev/null | sed 's/^/    /' >&2
		return 1
	fi
}

# bench_sys_join SYS HOST ADDR:PORT (bounded by BENCH_JOIN_TIMEOUT: a join waits for its
# push-pull, which both systems time out by themselves after about 10 s)
bench_sys_join() {
	case $1 in
	ovg)
		OVGOSSIPD_SOCKET=$(sim_hostdir "$2")/agent.sock timeout "$BENCH_JOIN_TIMEOUT" \
			nsenter --net="$SIM_NETNS_DIR/$SIM_PREFIX-$2" -- "$OVGOSSIPD" join "$3"
		;;
	serf)
		timeout "$BENCH_JOIN_TIMEOUT" nsenter --net="$SIM_NETNS_DIR/$SIM_PREFIX-$2" -- \
			"$SERF" join -rpc-addr="$BENCH_SERF_RPC" "$3"
		;;
	*) return 2 ;;
	esac
}

bench_sys_log() {
	case $1 in
	ovg) printf '%s/agent.log\n' "$(sim_hostdir "$2")" ;;
	serf) printf '%s/serf.log\n' "$(sim_hostdir "$2")" ;;
	esac
}

# bench_sys_kill SYS HOST: SIGKILL, wait until gone.
bench_sys_kill() {
	case $1 in
	ovg) sim_agent_running "$2" || return 0; sim_agent_signal "$2" KILL 10 ;;
	serf) bench_kill "$2" serf KILL ;;
	*) return 2 ;;
	esac
}

# A member status that means "failed": ovgossipd "dead", serf "failed".
bench_sys_failed_status() {
	case $1 in
	ovg) printf 'dead\n' ;;
	serf) printf 'failed\n' ;;
	esac
}

# ---- polling --------------------------------------------------------------------------

# bench_poll SYS OUT HOST...: ask every HOST for its members view, all at once, and write
# "OBSERVER MEMBER STATUS" lines to OUT; an observer that did not answer (within
# BENCH_CLIENT_TIMEOUT) gets one line "OBSERVER - noanswer". Works for both JSON shapes:
# ovgossipd's array and serf's {"members": [...]}. OUT.times gets "OBSERVER START END"
# (ms): the view was taken between the client's start and its return.
bench_poll() {
	local sys=$1 out=$2 dir h j pids=()
	shift 2
	dir=$out.d
	mkdir -p "$dir" || return 1
	for h in "$@"; do
		{
			local s
			s=$(sim_now_ms)
			bench_sys_members "$sys" "$h" >"$dir/$h" 2>/dev/null || : >"$dir/$h"
			printf '%s %s %s\n' "$h" "$s" "$(sim_now_ms)" >"$dir/$h.t"
		} &
		pids+=($!)
	done
	# Only our own jobs: the caller may have others running (join commands).
	wait "${pids[@]}"
	for h in "$@"; do cat "$dir/$h.t" 2>/dev/null; done >"$out.times"
	for h in "$@"; do
		j=$(<"$dir/$h")
		# JSON strings hold no raw newlines, so joining lines keeps the document intact.
		printf '%s\t%s\n' "$h" "${j//$'\n'/}"
	done | jq -R -r '
		(split("\t")) as $f
		| ($f[1] | fromjson? // null) as $d
		| if ($d | type) == "object" and ($d.members | type) == "array" then $d.members
		  elif ($d | type) == "array" then $d
		  else null end
		| if . == null then "\($f[0]) - noanswer"
		  else .[] | "\($f[0]) \(.name) \(.status)" end' >"$out" 2>/dev/null
	rm -rf "$dir"
}

# ---- counters and numbers -------------------------------------------------------------

# bench_netdev_sw: "PORT RX_BYTES TX_BYTES" for every host port of the switch (the switch
# end of each host's veth: RX = what the host sent, TX = what it received; L2 bytes).
bench_netdev_sw() {
	sim_nsenter "$SIM_PREFIX-sw" cat /proc/net/dev |
		awk 'NR > 2 { gsub(/:/, " "); if ($1 ~ /^h[0-9]+$/) print $1, $2, $10 }'
}

bench_rss_kb() {
	awk '$1 == "VmRSS:" { print $2; found = 1 } END { if (!found) exit 1 }' "/proc/$1/status" 2>/dev/null
}

# Median (rounded to a whole number) and maximum of the numbers on stdin (one a line);
# nothing if none.
bench_median() {
	sort -g | awk '{ v[NR] = $1 } END { if (NR == 0) exit 1;
		if (NR % 2) m = v[(NR + 1) / 2]; else m = (v[NR / 2] + v[NR / 2 + 1]) / 2;
		printf "%d\n", m + 0.5 }'
}

bench_max() {
	sort -g | awk '{ m = $1 } END { if (NR == 0) exit 1; print m }'
}

# Milliseconds to seconds with two decimals.
bench_fmt_s() { awk -v m="$1" 'BEGIN { printf "%.2f\n", m / 1000 }'; }

# CPU time (utime + stime, clock ticks) used so far by PID; 1 if it is gone.
bench_cpu_ticks() {
	local st
	st=$(cat "/proc/$1/stat" 2>/dev/null) || return 1
	st=${st##*) }
	awk '{ print $12 + $13 }' <<<"$st"
}

# Busy and total jiffies of the whole machine ("BUSY TOTAL"), from /proc/stat.
bench_machine_ticks() {
	awk '$1 == "cpu" { t = 0; for (i = 2; i <= NF; i++) t += $i; print t - $5 - $6, t; exit }' /proc/stat
}

# bench_busy_pct "BUSY0 TOTAL0" "BUSY1 TOTAL1": machine CPU busy percentage in between.
bench_busy_pct() {
	awk -v a="$1" -v b="$2" 'BEGIN { split(a, x, " "); split(b, y, " ");
		d = y[2] - x[2]; p = 0; if (d > 0) p = 100 * (y[1] - x[1]) / d; printf "%.0f\n", p }'
}

bench_load1() { cut -d' ' -f1 /proc/loadavg; }

# Packets the kernel dropped because a CPU's input backlog (net.core.netdev_max_backlog)
# was full, summed over CPUs, machine-wide (all namespaces, also other users' traffic).
bench_softnet_drops() {
	local x sum=0
	while read -r _ x _; do sum=$((sum + 16#$x)); done </proc/net/softnet_stat
	printf '%s\n' "$sum"
}

# bench_static_arp: a permanent neighbor entry in every host for every other host's
# underlay address, so that N hosts starting to talk to each other at once do not flood
# the one software bridge with N*(N-1) ARP broadcasts (at N = 50 that made joins fail).
bench_static_arp() {
	local h i mac macs=()
	sim_need_up || return 1
	for ((i = 1; i <= SIM_N; i++)); do
		mac=$(ip -n "$SIM_PREFIX-h$i" -o link show eth0 2>/dev/null |
			awk '{ for (j = 1; j < NF; j++) if ($j == "link/ether") print $(j + 1) }')
		if [[ ! $mac =~ ^[0-9a-f]{2}(:[0-9a-f]{2}){5}$ ]]; then
			bench_err "no MAC address for h$i"
			return 1
		fi
		macs[i]=$mac
	done
	for h in $(sim_hosts); do
		for ((i = 1; i <= SIM_N; i++)); do
			[ "h$i" = "$h" ] && continue
			printf 'neigh replace %s.%s lladdr %s dev eth0 nud permanent\n' "$SIM_NET" "$i" "${macs[i]}"
		done | ip -n "$SIM_PREFIX-$h" -batch - || { bench_err "static neighbors in $h failed"; return 1; }
	done
}
