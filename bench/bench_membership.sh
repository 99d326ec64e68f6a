#!/usr/bin/env bash
# bench/bench_membership.sh: SWIM membership benchmark, ovgossipd against the real serf
# agent (Debian package serf, LAN defaults), in the same run and the same layout: N host
# namespaces on one underlay bridge (simulations/lib.sh), one agent per host, both
# encrypted with the same 32-byte key. For each N and each system:
#   1. join convergence   every agent but h1 joins h1 at once; time until all N agents list
#                         all N members alive (polled); BENCH_JOIN_TRIALS fresh clusters
#   2. failure detection  kill -9 one agent; time until every survivor lists it failed
#                         (ovgossipd "dead", serf "failed"); several trials, other victims
#   3. false failures     10% random loss on INPUT of every host (UDP and TCP) for
#                         BENCH_LOSS_SECONDS; distinct (observer, member) pairs ever listed
#                         dead/failed while every agent runs, and failure lines in the logs
#   4. bytes/s per node   switch-port counters over BENCH_IDLE_SECONDS of an idle cluster
#   5. RSS per agent      VmRSS, median over the agents
# Prints a markdown table per N and writes it to bench/README-membership.md (BENCH_OUT).
#
# Environment: OVGOSSIPD (binary), BENCH_NS ("20 50"), BENCH_SYSTEMS ("serf ovg"),
# BENCH_LOSS_SECONDS (300), BENCH_LOSS_PERCENT (10), BENCH_IDLE_SECONDS (60),
# BENCH_SETTLE_SECONDS (10), BENCH_FD_TRIALS (5), BENCH_JOIN_TRIALS (5), BENCH_QUIET_WAIT
# (120: seconds to wait for the machine to be less than BENCH_QUIET_BUSY=50 % busy before
# the join and failure-detection phases), BENCH_OUT (file for the figures; "-" for
# none), BENCH_LOGS (a directory to keep the agents' logs in), BENCH_STRICT (1: exit 1
# when a target is missed), BENCH_STATIC_ARP (1: permanent neighbor entries, see the
# report). Exit status 1 when a measurement
# could not be taken (an agent did not start, a cluster did not converge, ...).
set -uo pipefail

BENCH_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=simulations/lib.sh
. "$BENCH_DIR/../simulations/lib.sh"
# shellcheck source=bench/lib_bench.sh
. "$BENCH_DIR/lib_bench.sh"

: "${BENCH_NS:=20 50}"
: "${BENCH_SYSTEMS:=serf ovg}"
: "${BENCH_LOSS_SECONDS:=300}"
: "${BENCH_LOSS_PERCENT:=10}"
: "${BENCH_IDLE_SECONDS:=60}"
: "${BENCH_SETTLE_SECONDS:=10}"
: "${BENCH_FD_TRIALS:=5}"
: "${BENCH_JOIN_TRIALS:=5}"
: "${BENCH_QUIET_WAIT:=120}"
: "${BENCH_QUIET_BUSY:=50}"
: "${BENCH_STATIC_ARP:=1}"
: "${BENCH_OUT:=$BENCH_DIR/README-membership.md}"
: "${BENCH_STRICT:=0}"
BENCH_LOSS_POLL_MS=500
BENCH_TAG=bm$$

log() { printf '[%s] %s\n' "$(date +%T)" "$*" >&2; }

if [[ ! $BENCH_STATIC_ARP =~ ^[01]$ ]]; then
	bench_err "BENCH_STATIC_ARP must be 0 or 1"
	exit 2
fi
for v in BENCH_LOSS_SECONDS BENCH_IDLE_SECONDS BENCH_SETTLE_SECONDS BENCH_FD_TRIALS BENCH_JOIN_TRIALS BENCH_QUIET_WAIT BENCH_QUIET_BUSY; do
	if [[ ! ${!v} =~ ^[0-9]+$ ]]; then
		bench_err "$v must be a whole number of seconds (trials)"
		exit 2
	fi
done
for n in $BENCH_NS; do
	if [[ ! $n =~ ^[0-9]+$ ]] || [ "$n" -lt 3 ] || [ "$n" -gt 200 ]; then
		bench_err "BENCH_NS: each N must be 3..200"
		exit 2
	fi
done
for sys in $BENCH_SYSTEMS; do
	case $sys in ovg | serf) ;; *) bench_err "BENCH_SYSTEMS: ovg and/or serf"; exit 2 ;; esac
done
if [ "$(id -u)" != 0 ]; then
	echo "bench_membership: needs root (network namespaces): skipped"
	exit 0
fi
for c in jq iptables nsenter "$SERF"; do
	command -v "$c" >/dev/null 2>&1 || { bench_err "missing command: $c"; exit 1; }
done

# ---- cleanup on every path ---------------------------------------------------------------

TMP=$(mktemp -d "/tmp/$BENCH_TAG.XXXXXX") || exit 1
CLEANED=0
cleanup() {
	[ "$CLEANED" = 1 ] && return
	CLEANED=1
	local j
	for j in $(jobs -p); do kill "$j" 2>/dev/null; done
	wait 2>/dev/null
	if [ -n "$SIM_NAME" ] && [ -e "$SIM_WORK" ]; then
		sim_down >/dev/null || bench_err "cleanup of cluster $SIM_NAME incomplete"
	fi
	rm -rf "$TMP"
}
trap cleanup EXIT
trap 'log "interrupted"; exit 130' INT TERM HUP

# ---- results -------------------------------------------------------------------------------

declare -A R=()   # R[sys,n,key]
ALLH=()           # h1..hN of the current cluster
ERRORS=()

fail() {
	ERRORS+=("$*")
	log "ERROR: $*"
}

put() { R[$1,$2,$3]=$4; }
get() { printf '%s\n' "${R[$1,$2,$3]:-}"; }

# ---- poll helpers --------------------------------------------------------------------------

# alive_counts FILE N: "OBSERVER COUNT" of distinct h1..hN members it lists alive.
alive_counts() {
	awk -v n="$2" '$2 ~ /^h[0-9]+$/ && $3 == "alive" && substr($2, 2) + 0 <= n && !seen[$1 " " $2]++ { c[$1]++ }
		{ obs[$1] = 1 } END { for (o in obs) print o, c[o] + 0 }' "$1"
}

# observers in FILE that list all N members alive, one a line
full_views() { alive_counts "$1" "$2" | awk -v n="$2" '$2 == n { print $1 }'; }

# detected FILE VICTIM FAILSTATUS: observers that answered and list VICTIM failed (or no
# longer list it).
detected() {
	awk -v v="$2" -v fs="$3" '$3 == "noanswer" { next } { ans[$1] = 1 }
		$2 == v { found[$1] = 1; if ($3 == fs) det[$1] = 1 }
		END { for (o in ans) if (det[o] || !found[o]) print o }' "$1"
}

# ---- measurements --------------------------------------------------------------------------

# start_agents SYS: every agent up (no joins), answering.
start_agents() {
	local sys=$1 h key
	key=$(head -n 1 "$SIM_WORK/key")
	for h in $(sim_hosts); do
		bench_sys_start "$sys" "$h" "$key" || return 1
	done
	for h in $(sim_hosts); do
		bench_sys_wait_ready "$sys" "$h" 20 || return 1
	done
}

stop_agents() {
	local sys=$1 h rc=0
	for h in $(sim_hosts); do
		bench_sys_kill "$sys" "$h" || rc=1
	done
	return "$rc"
}

# wait_full SYS N SECONDS: every host lists all N alive; prints the ms it took.
wait_full() {
	local sys=$1 n=$2 secs=$3 t0 full
	t0=$(sim_now_ms)
	while :; do
		bench_poll "$sys" "$TMP/wf" "${ALLH[@]}"
		full=$(full_views "$TMP/wf" "$n" | wc -l)
		if [ "$full" -eq "$n" ]; then
			echo $(($(sim_now_ms) - t0))
			return 0
		fi
		[ $(($(sim_now_ms) - t0)) -ge $((secs * 1000)) ] && return 1
		sleep 0.2
	done
}

# lacks FILE HOST N: " hX(status)" for each of h1..hN that HOST does not list alive.
lacks() {
	awk -v o="$2" -v n="$3" '$1 == o { st[$2] = $3 }
		END { for (i = 1; i <= n; i++) { k = "h" i; if (!(k in st)) printf " %s(absent)", k;
			else if (st[k] != "alive") printf " %s(%s)", k, st[k] } }' "$1"
}

# not_full_views N: from the last wait_full poll, "hX lists as not alive: ..." lines.
not_full_views() {
	awk -v n="$1" '$2 ~ /^h[0-9]+$/ && substr($2, 2) + 0 <= n { v[$1] = v[$1] " " $2 "=" $3 }
		$3 == "noanswer" { print $1 " did not answer" }
		END { for (o in v) print o, v[o] }' "$TMP/wf" |
		awk '{ s = ""; for (i = 2; i <= NF; i++) if ($i !~ /=alive$/) s = s " " $i;
			if (s != "") print $1 " lists" s; }' | sort -V
}

# without "A B ..." HOST...: the HOSTs not in the space-separated list, one a line.
without() {
	local ok=" $1 " h
	shift
	for h in "$@"; do [[ $ok == *" $h "* ]] || printf '%s\n' "$h"; done
	return 0
}

# Per-host bounds from a poll: for each host in OK (a list of hosts whose view passed), the
# end of its first passing call; for the others, the start of their latest failing call.
# The moment a host's view began to pass lies between the two. Uses and fills the
# associative arrays PASS_END and FAIL_START of the caller.
track_round() {
	local times=$1 ok=" $2 " h s e
	while read -r h s e; do
		if [[ $ok == *" $h "* ]]; then
			[ -n "${PASS_END[$h]:-}" ] || PASS_END[$h]=$e
		else
			unset "PASS_END[$h]"
			FAIL_START[$h]=$s
		fi
	done <"$times"
}

# max over hosts of PASS_END - T0 (upper) and FAIL_START - T0 (lower bound): "UPPER LOWER"
bounds() {
	local t0=$1 h up=0 lo=0
	for h in "${!PASS_END[@]}"; do [ $((PASS_END[$h] - t0)) -gt "$up" ] && up=$((PASS_END[$h] - t0)); done
	for h in "${!FAIL_START[@]}"; do [ $((FAIL_START[$h] - t0)) -gt "$lo" ] && lo=$((FAIL_START[$h] - t0)); done
	[ "$lo" -gt "$up" ] && lo=$up
	printf '%s %s\n' "$up" "$lo"
}

# measure_join SYS N: h2..hN join h1 at once; until all N list all N alive.
measure_join() {
	local sys=$1 n=$2 h t0 a b deadline target rounds=() pending=() ok conv='' up lo slow
	local -A PASS_END=() FAIL_START=() LACKS=()
	target=$(sim_addr h1):$SIM_PORT
	rm -f "$TMP"/join.*
	put "$sys" "$n" join_load "$(bench_load1)"
	for h in $(sim_hosts); do
		LOGOFF[$h]=$(stat -c %s "$(bench_sys_log "$sys" "$h")" 2>/dev/null || echo 0)
	done
	t0=$(sim_now_ms)
	for h in $(sim_hosts); do
		[ "$h" = h1 ] && continue
		{ bench_sys_join "$sys" "$h" "$target" >"$TMP/join.$h.out" 2>&1
			echo "$? $(sim_now_ms)" >"$TMP/join.$h"; } &
	done
	pending=("${ALLH[@]}")
	deadline=$((t0 + (60 + n) * 1000))
	while :; do
		a=$(sim_now_ms)
		# Only hosts that have not seen everyone yet; a full round confirms at the end.
		bench_poll "$sys" "$TMP/jp" "${pending[@]}"
		b=$(sim_now_ms)
		rounds+=($((b - a)))
		ok=$(full_views "$TMP/jp" "$n" | tr '\n' ' ')
		track_round "$TMP/jp.times" "$ok"
		mapfile -t pending < <(without "$ok" "${pending[@]}")
		for h in "${pending[@]}"; do
			LACKS[$h]=$(lacks "$TMP/jp" "$h" "$n")
		done
		if [ "${#pending[@]}" -eq 0 ]; then
			bench_poll "$sys" "$TMP/jp" "${ALLH[@]}"
			ok=$(full_views "$TMP/jp" "$n" | tr '\n' ' ')
			mapfile -t pending < <(without "$ok" "${ALLH[@]}")
			if [ "${#pending[@]}" -eq 0 ]; then
				conv=$(bounds "$t0")
				break
			fi
			track_round "$TMP/jp.times" "$ok"
			log "$(bench_sys_name "$sys"): ${pending[*]} lost their full view again; polling on"
		fi
		[ "$(sim_now_ms)" -ge "$deadline" ] && break
	done
	wait
	local jfail=0 jlast=0 st tm jfailed=()
	for h in $(sim_hosts); do
		[ "$h" = h1 ] && continue
		if [ -f "$TMP/join.$h" ] && read -r st tm <"$TMP/join.$h"; then
			[ "$st" = 0 ] || { jfail=$((jfail + 1)); jfailed+=("$h(exit $st: $(tr '\n' ' ' <"$TMP/join.$h.out" | cut -c1-120))"); }
			[ $((tm - t0)) -gt "$jlast" ] && jlast=$((tm - t0))
		else
			jfail=$((jfail + 1))
			jfailed+=("$h(no status)")
		fi
	done
	put "$sys" "$n" join_cmd_ms "$jlast"
	put "$sys" "$n" join_cmd_fail "$jfail"
	put "$sys" "$n" join_poll_ms "$(printf '%s\n' "${rounds[@]}" | bench_median)"
	if [ "$jfail" -gt 0 ]; then
		log "$(bench_sys_name "$sys") N=$n: $jfail join commands failed: ${jfailed[*]:0:4}"
		put "$sys" "$n" join_cmd_failed "${jfailed[*]:0:4}"
	fi
	if [ -z "$conv" ]; then
		fail "$(bench_sys_name "$sys") N=$n: no convergence within $(((deadline - t0) / 1000)) s after the joins; hosts without a full view: ${pending[*]}${jfailed[*]:+; $jfail join commands failed, e.g. ${jfailed[*]:0:3}}"
		for h in "${pending[@]:0:3}"; do
			log "  $h lists alive: $(awk -v o="$h" '$1 == o && $3 == "alive" { printf "%s ", $2 }' "$TMP/jp")"
		done
		return 1
	fi
	read -r up lo <<<"$conv"
	log_join_times "$sys" "$t0" "$n" >"$TMP/jl"
	if awk '$2 == "-" { bad = 1 } END { exit bad }' "$TMP/jl"; then
		put "$sys" "$n" join_log_from_ms "$(awk '{ print $2 }' "$TMP/jl" | bench_max)"
		put "$sys" "$n" join_log_ms "$(awk '{ print $3 }' "$TMP/jl" | bench_max)"
	else
		put "$sys" "$n" join_log_from_ms ""
		put "$sys" "$n" join_log_ms ""
		log "$(bench_sys_name "$sys") N=$n: some joins missing from the logs of: $(awk '$2 == "-" { printf "%s ", $1 }' "$TMP/jl")"
	fi
	slow=
	for h in "${!PASS_END[@]}"; do
		[ $((PASS_END[$h] - t0)) -eq "$up" ] && slow=$h
	done
	if [ -n "$slow" ]; then
		put "$sys" "$n" join_slowest "$slow, lacking before:${LACKS[$slow]:- (never polled without)}"
		[ "$up" -gt 5000 ] && log "$(bench_sys_name "$sys") N=$n: slow join: last full view at $slow, which before lacked:${LACKS[$slow]:-?}"
	fi
	put "$sys" "$n" join_ms "$up"
	put "$sys" "$n" join_lo_ms "$lo"
	log "$(bench_sys_name "$sys") N=$n: join convergence $(bench_fmt_s "$up") s (at least $(bench_fmt_s "$lo") s; poll round $(get "$sys" "$n" join_poll_ms) ms, join commands done after $jlast ms)"
}

# measure_idle SYS N: switch-port byte counters over BENCH_IDLE_SECONDS.
measure_idle() {
	local sys=$1 n=$2 t0 t1 h
	local -A rx0=() tx0=()
	local rx tx sent=0 recv=0
	local -A cpu0=()
	local m0 m1 ticks=0 pid c
	for h in $(sim_hosts); do
		pid=$(bench_sys_pid "$sys" "$h") && cpu0[$h]=$(bench_cpu_ticks "$pid")
	done
	m0=$(bench_machine_ticks)
	while read -r h rx tx; do rx0[$h]=$rx tx0[$h]=$tx; done < <(bench_netdev_sw)
	t0=$(sim_now_ms)
	sleep "$BENCH_IDLE_SECONDS"
	t1=$(sim_now_ms)
	m1=$(bench_machine_ticks)
	for h in $(sim_hosts); do
		pid=$(bench_sys_pid "$sys" "$h") && c=$(bench_cpu_ticks "$pid") && ticks=$((ticks + c - ${cpu0[$h]:-$c}))
	done
	put "$sys" "$n" idle_cpu_pct "$(awk -v t="$ticks" -v hz="$(getconf CLK_TCK)" -v n="$n" -v ms=$((t1 - t0)) \
		'BEGIN { printf "%.2f", 100 * t / hz / n / (ms / 1000) }')"
	put "$sys" "$n" idle_busy "$(bench_busy_pct "$m0" "$m1")"
	while read -r h rx tx; do
		[ -n "${rx0[$h]:-}" ] || continue
		sent=$((sent + rx - rx0[$h]))
		recv=$((recv + tx - tx0[$h]))
	done < <(bench_netdev_sw)
	for h in $(sim_hosts); do
		bench_sys_running "$sys" "$h" || { fail "$(bench_sys_name "$sys") N=$n: agent on $h died while idle"; return 1; }
	done
	put "$sys" "$n" bps_out "$(awk -v b="$sent" -v n="$n" -v ms=$((t1 - t0)) 'BEGIN { printf "%.0f", b / n / (ms / 1000) }')"
	put "$sys" "$n" bps_in "$(awk -v b="$recv" -v n="$n" -v ms=$((t1 - t0)) 'BEGIN { printf "%.0f", b / n / (ms / 1000) }')"
	put "$sys" "$n" bps "$(($(get "$sys" "$n" bps_out) + $(get "$sys" "$n" bps_in)))"
	log "$(bench_sys_name "$sys") N=$n: at rest $(get "$sys" "$n" bps_out) B/s out + $(get "$sys" "$n" bps_in) B/s in per node"
}

measure_rss() {
	local sys=$1 n=$2 h pid kb vals=()
	for h in $(sim_hosts); do
		pid=$(bench_sys_pid "$sys" "$h") && kb=$(bench_rss_kb "$pid") && vals+=("$kb")
	done
	if [ "${#vals[@]}" -ne "$n" ]; then
		fail "$(bench_sys_name "$sys") N=$n: RSS of ${#vals[@]} of $n agents only"
		return 1
	fi
	put "$sys" "$n" rss_kb "$(printf '%s\n' "${vals[@]}" | bench_median)"
	put "$sys" "$n" rss_max_kb "$(printf '%s\n' "${vals[@]}" | bench_max)"
	log "$(bench_sys_name "$sys") N=$n: RSS median $(get "$sys" "$n" rss_kb) kB, max $(get "$sys" "$n" rss_max_kb) kB"
}

# Log lines of every host written after the byte offsets in OFFS (assoc "host" -> offset).
logs_since() {
	local sys=$1 h f
	shift
	for h in $(sim_hosts); do
		f=$(bench_sys_log "$sys" "$h")
		tail -c +$((${LOGOFF[$h]:-0} + 1)) "$f" 2>/dev/null | sed "s/^/$h: /"
	done
}

# measure_loss SYS N: BENCH_LOSS_PERCENT loss on every host's INPUT for BENCH_LOSS_SECONDS.
declare -A LOGOFF=()
measure_loss() {
	local sys=$1 n=$2 h t0 t1 a b end fs nrounds=0 dropped=0 noans=0 missing=0 ms m0
	fs=$(bench_sys_failed_status "$sys")
	for h in $(sim_hosts); do
		LOGOFF[$h]=$(stat -c %s "$(bench_sys_log "$sys" "$h")" 2>/dev/null || echo 0)
	done
	: >"$TMP/sightings"
	for h in $(sim_hosts); do
		sim_loss "$h" "$BENCH_LOSS_PERCENT" >/dev/null || { fail "loss rule on $h"; return 1; }
	done
	t0=$(sim_now_ms)
	m0=$(bench_machine_ticks)
	end=$((t0 + BENCH_LOSS_SECONDS * 1000))
	while :; do
		a=$(sim_now_ms)
		[ "$a" -ge "$end" ] && break
		bench_poll "$sys" "$TMP/lp" "${ALLH[@]}"
		nrounds=$((nrounds + 1))
		awk -v t=$((a - t0)) '$3 != "alive" { print t, $0 }' "$TMP/lp" >>"$TMP/sightings"
		b=$(sim_now_ms)
		ms=$((BENCH_LOSS_POLL_MS - (b - a)))
		[ "$ms" -gt 0 ] && sleep "$(awk -v m="$ms" 'BEGIN { printf "%.3f", m / 1000 }')"
	done
	t1=$(sim_now_ms)
	put "$sys" "$n" loss_busy "$(bench_busy_pct "$m0" "$(bench_machine_ticks)")"
	put "$sys" "$n" loss_load "$(bench_load1)"
	for h in $(sim_hosts); do
		bench_sys_running "$sys" "$h" || missing=$((missing + 1))
	done
	for h in $(sim_hosts); do
		dropped=$((dropped + $(sim_ipt "$h" -L "$SIM_CHAIN_LOSS" -v -x -n 2>/dev/null |
			awk '$3 == "DROP" { s += $1 } END { print s + 0 }')))
	done
	for h in $(sim_hosts); do sim_loss "$h" 0 >/dev/null || fail "removing loss rule on $h"; done
	noans=$(awk '$4 == "noanswer"' "$TMP/sightings" | wc -l)
	put "$sys" "$n" loss_rounds "$nrounds"
	put "$sys" "$n" loss_poll_ms "$(((t1 - t0) / (nrounds > 0 ? nrounds : 1)))"
	put "$sys" "$n" loss_dropped "$dropped"
	put "$sys" "$n" loss_noanswer "$noans"
	put "$sys" "$n" false_fail "$(awk -v fs="$fs" '$4 == fs { print $2, $3 }' "$TMP/sightings" | sort -u | wc -l)"
	put "$sys" "$n" false_susp "$(awk '$4 == "suspect" { print $2, $3 }' "$TMP/sightings" | sort -u | wc -l)"
	put "$sys" "$n" false_fail_members "$(awk -v fs="$fs" '$4 == fs { print $3 }' "$TMP/sightings" | sort -u | tr '\n' ' ')"
	logs_since "$sys" >"$TMP/losslog"
	put "$sys" "$n" log_marked "$(grep -ciE 'marking .* as failed' "$TMP/losslog")"
	put "$sys" "$n" log_events "$(grep -cE 'EventMemberFailed|ovgossipd info: member [^ ]+ failed' "$TMP/losslog")"
	put "$sys" "$n" log_faildead "$(grep -iE 'failed|dead' "$TMP/losslog" | grep -cv 'agent.ipc')"
	cp "$TMP/losslog" "$TMP/losslog.$sys.$n"
	cp "$TMP/sightings" "$TMP/sightings.$sys.$n"
	if [ "$missing" -gt 0 ]; then
		fail "$(bench_sys_name "$sys") N=$n: $missing agents died during the loss period"
		return 1
	fi
	log "$(bench_sys_name "$sys") N=$n: ${BENCH_LOSS_SECONDS}s at $BENCH_LOSS_PERCENT% loss ($dropped packets dropped, $nrounds polls): $(get "$sys" "$n" false_fail) (observer, member) $fs sightings, $(get "$sys" "$n" false_susp) suspect, log lines 'marking .. as failed': $(get "$sys" "$n" log_marked)"
	if ms=$(wait_full "$sys" "$n" 60); then
		put "$sys" "$n" loss_reconv_ms "$ms"
	else
		put "$sys" "$n" loss_reconv_ms ">60000"
		log "$(bench_sys_name "$sys") N=$n: not all members alive everywhere 60 s after the loss ended:"
		not_full_views "$n" | head -n 5 | sed 's/^/    /' >&2
		put "$sys" "$n" loss_reconv_note "$(not_full_views "$n" | head -n 3 | tr '\n' ';')"
	fi
}

# log_fail_times SYS VICTIM T0 HOST...: for every HOST, when its log reports VICTIM failed
# (ovgossipd "member V failed", ms timestamps in UTC; serf "EventMemberFailed: V", whole
# seconds in local time), as "HOST FROM_MS TO_MS" after T0 (ms since the epoch); only log
# bytes past the offsets in LOGOFF are read. A host without such a line: "HOST - -".
log_fail_times() {
	local sys=$1 v=$2 t0=$3 h f line
	shift 3
	for h in "$@"; do
		f=$(bench_sys_log "$sys" "$h")
		case $sys in
		ovg)
			line=$(tail -c +$((${LOGOFF[$h]:-0} + 1)) "$f" 2>/dev/null |
				grep -m 1 -E "ovgossipd info: member $v failed " | cut -d' ' -f1)
			TZ=UTC awk -v h="$h" -v l="$line" -v t0="$t0" 'BEGIN {
				if (l !~ /^[0-9][0-9][0-9][0-9]-[0-9][0-9]-[0-9][0-9]T[0-9][0-9]:[0-9][0-9]:[0-9][0-9]\.[0-9][0-9][0-9]Z$/) { print h, "-", "-"; exit }
				gsub(/[-T:Z]/, " ", l); split(l, a, " "); split(a[6], sec, ".");
				ms = mktime(a[1] " " a[2] " " a[3] " " a[4] " " a[5] " " sec[1]) * 1000 + sec[2] - t0
				print h, ms, ms }'
			;;
		serf)
			line=$(tail -c +$((${LOGOFF[$h]:-0} + 1)) "$f" 2>/dev/null |
				grep -m 1 -E "serf: EventMemberFailed: $v " | awk '{ print $1, $2 }')
			awk -v h="$h" -v l="$line" -v t0="$t0" 'BEGIN {
				if (l !~ /^[0-9][0-9][0-9][0-9]\/[0-9][0-9]\/[0-9][0-9] [0-9][0-9]:[0-9][0-9]:[0-9][0-9]$/) { print h, "-", "-"; exit }
				gsub(/[\/:]/, " ", l); ms = mktime(l) * 1000 - t0
				print h, (ms < 0 ? 0 : ms), ms + 1000 }'
			;;
		esac
	done
}

# log_join_times SYS T0 N: for every host, when its log (past LOGOFF) has reported every
# other of h1..hN joined (ovgossipd "member hX joined", ms timestamps in UTC; serf
# "EventMemberJoin: hX", whole seconds): "HOST FROM_MS TO_MS" relative to T0, or
# "HOST - -" if some member never was.
log_join_times() {
	local sys=$1 t0=$2 n=$3 h f
	for h in $(sim_hosts); do
		f=$(bench_sys_log "$sys" "$h")
		tail -c +$((${LOGOFF[$h]:-0} + 1)) "$f" 2>/dev/null |
			TZ=UTC awk -v sys="$sys" -v h="$h" -v n="$n" -v t0="$t0" '
			function ms_ovg(ts,   a, sec) { gsub(/[-T:Z]/, " ", ts); split(ts, a, " "); split(a[6], sec, ".");
				return mktime(a[1] " " a[2] " " a[3] " " a[4] " " a[5] " " sec[1]) * 1000 + sec[2] }
			function ms_serf(d, t,   s) { s = d " " t; gsub(/[\/:]/, " ", s); return mktime(s) * 1000 }
			sys == "ovg" && $2 == "ovgossipd" && $3 == "info:" && $4 == "member" && $6 == "joined" {
				m = $5; if (m != h && !(m in seen)) { seen[m] = 1; cnt++; last = ms_ovg($1); span = 0 } }
			sys == "serf" && $4 == "serf:" && $5 == "EventMemberJoin:" {
				m = $6; if (m != h && !(m in seen)) { seen[m] = 1; cnt++; last = ms_serf($1, $2); span = 1000 } }
			END { if (cnt < n - 1) print h, "-", "-"; else print h, (last < t0 ? 0 : last - t0), last - t0 + span }'
	done
}

# measure_fd SYS N: kill -9 hN, hN-1, ... (BENCH_FD_TRIALS); time until all survivors agree.
measure_fd() {
	local sys=$1 n=$2 fs i v pid t0 a b deadline survivors=() pending=() times=() lows=() rounds=() firsts=()
	local ok first done_ up lo h lfrom=() lto=()
	fs=$(bench_sys_failed_status "$sys")
	mapfile -t survivors < <(sim_hosts)
	for ((i = 0; i < BENCH_FD_TRIALS; i++)); do
		v=h$((n - i))
		mapfile -t survivors < <(printf '%s\n' "${survivors[@]}" | grep -vx -- "$v")
		pid=$(bench_sys_pid "$sys" "$v") || { fail "$(bench_sys_name "$sys") N=$n: no agent on $v to kill"; return 1; }
		local -A PASS_END=() FAIL_START=()
		pending=("${survivors[@]}")
		first='' done_=''
		for h in "${survivors[@]}"; do
			LOGOFF[$h]=$(stat -c %s "$(bench_sys_log "$sys" "$h")" 2>/dev/null || echo 0)
		done
		t0=$(sim_now_ms)
		kill -KILL "$pid"
		deadline=$((t0 + 60000))
		while :; do
			a=$(sim_now_ms)
			# A survivor that lists the victim failed keeps doing so: poll the others only.
			bench_poll "$sys" "$TMP/fp" "${pending[@]}"
			b=$(sim_now_ms)
			rounds+=($((b - a)))
			ok=$(detected "$TMP/fp" "$v" "$fs" | tr '\n' ' ')
			track_round "$TMP/fp.times" "$ok"
			mapfile -t pending < <(without "$ok" "${pending[@]}")
			if [ "${#pending[@]}" -eq 0 ]; then
				done_=$(bounds "$t0")
				break
			fi
			[ "$b" -ge "$deadline" ] && break
		done
		if [ -z "$done_" ]; then
			fail "$(bench_sys_name "$sys") N=$n: $v killed, ${#pending[@]} of ${#survivors[@]} survivors still do not list it $fs after 60 s: ${pending[*]:0:5}"
			return 1
		fi
		read -r up lo <<<"$done_"
		first=$up
		for h in "${!PASS_END[@]}"; do [ $((PASS_END[$h] - t0)) -lt "$first" ] && first=$((PASS_END[$h] - t0)); done
		times+=("$up")
		lows+=("$lo")
		firsts+=("$first")
		# The same from the agents' own logs (not disturbed by the polling).
		log_fail_times "$sys" "$v" "$t0" "${survivors[@]}" >"$TMP/fl"
		if awk '$2 == "-" { bad = 1 } END { exit bad }' "$TMP/fl"; then
			lfrom+=("$(awk '{ print $2 }' "$TMP/fl" | bench_max)")
			lto+=("$(awk '{ print $3 }' "$TMP/fl" | bench_max)")
		else
			log "$(bench_sys_name "$sys") N=$n: no failure line for $v in the logs of: $(awk '$2 == "-" { printf "%s ", $1 }' "$TMP/fl")"
			lfrom+=("") lto+=("")
		fi
		log "$(bench_sys_name "$sys") N=$n: trial $((i + 1)): $v killed, first survivor lists it $fs after $(bench_fmt_s "$first") s, all after $(bench_fmt_s "$up") s (at least $(bench_fmt_s "$lo") s)"
	done
	put "$sys" "$n" fd_ms "$(printf '%s\n' "${times[@]}" | bench_median)"
	put "$sys" "$n" fd_max_ms "$(printf '%s\n' "${times[@]}" | bench_max)"
	put "$sys" "$n" fd_first_ms "$(printf '%s\n' "${firsts[@]}" | bench_median)"
	put "$sys" "$n" fd_all "$(for i in "${!times[@]}"; do printf '%s (>=%s) ' "$(bench_fmt_s "${times[$i]}")" "$(bench_fmt_s "${lows[$i]}")"; done)"
	put "$sys" "$n" fd_poll_ms "$(printf '%s\n' "${rounds[@]}" | bench_median)"
	if [[ " ${lfrom[*]} " != *"  "* ]] && [ "${#lfrom[@]}" -eq "${#times[@]}" ]; then
		put "$sys" "$n" fd_log_ms "$(printf '%s\n' "${lto[@]}" | bench_median)"
		put "$sys" "$n" fd_log_from_ms "$(printf '%s\n' "${lfrom[@]}" | bench_median)"
		put "$sys" "$n" fd_log_max_ms "$(printf '%s\n' "${lto[@]}" | bench_max)"
		put "$sys" "$n" fd_log_all "$(for i in "${!lto[@]}"; do
			if [ "${lfrom[$i]}" = "${lto[$i]}" ]; then printf '%s ' "$(bench_fmt_s "${lto[$i]}")"
			else printf '%s-%s ' "$(bench_fmt_s "${lfrom[$i]}")" "$(bench_fmt_s "${lto[$i]}")"; fi
		done)"
	fi
}

# wait_quiet: wait (at most BENCH_QUIET_WAIT s) until the machine's CPUs are less than
# BENCH_QUIET_BUSY % busy over 3 s, so other work on the machine disturbs less.
wait_quiet() {
	local t0 m0 m1 busy
	t0=$(sim_now_ms)
	while :; do
		m0=$(bench_machine_ticks)
		sleep 3
		m1=$(bench_machine_ticks)
		busy=$(bench_busy_pct "$m0" "$m1")
		[ "$busy" -lt "$BENCH_QUIET_BUSY" ] && return 0
		if [ $(($(sim_now_ms) - t0)) -ge $((BENCH_QUIET_WAIT * 1000)) ]; then
			log "machine still ${busy}% busy after ${BENCH_QUIET_WAIT} s; measuring anyway"
			return 1
		fi
	done
}

# keep_logs SYS N: copy the agents' logs to BENCH_LOGS/nN/SYS/ (if BENCH_LOGS is set).
keep_logs() {
	local sys=$1 n=$2 h d
	[ -n "${BENCH_LOGS:-}" ] || return 0
	d=$BENCH_LOGS/n$n/$sys
	mkdir -p "$d" || return 1
	for h in $(sim_hosts); do cp "$(bench_sys_log "$sys" "$h")" "$d/$h.log" 2>/dev/null; done
	return 0
}

wipe_state() {
	local h d
	for h in $(sim_hosts); do
		d=$(sim_hostdir "$h")
		rm -rf "${d:?}/state" && mkdir -p "$d/state"
		rm -f "$d/agent.sock"
	done
}

run_system() {
	local sys=$1 n=$2 name ms
	name=$(bench_sys_name "$sys")
	log "$name N=$n: starting $n agents"
	if [ "$sys" = ovg ] && ! sim_agent_supported; then
		fail "$name: '$OVGOSSIPD' has no agent command"
		return 1
	fi
	local t joins=() jlows=() polls=() slows=() jlf=() jlt=() d0
	wait_quiet || put "$sys" "$n" noisy "yes"
	d0=$(bench_softnet_drops)
	for ((t = 1; t <= BENCH_JOIN_TRIALS; t++)); do
		if [ "$t" -gt 1 ]; then
			# A fresh cluster: no agent may remember the last one (ovgossipd keeps its
			# peers in the state dir and would rejoin them by itself).
			stop_agents "$sys" || { fail "$name N=$n: agents survived SIGKILL"; return 1; }
			wipe_state
		fi
		start_agents "$sys" || { fail "$name N=$n: agents did not start"; return 1; }
		if ! measure_join "$sys" "$n"; then
			put "$sys" "$n" drops_join $(($(bench_softnet_drops) - d0))
			return 1
		fi
		joins+=("$(get "$sys" "$n" join_ms)")
		jlf+=("$(get "$sys" "$n" join_log_from_ms)")
		jlt+=("$(get "$sys" "$n" join_log_ms)")
		slows+=("$(get "$sys" "$n" join_slowest)")
		jlows+=("$(get "$sys" "$n" join_lo_ms)")
		polls+=("$(get "$sys" "$n" join_poll_ms)")
	done
	put "$sys" "$n" join_ms "$(printf '%s\n' "${joins[@]}" | bench_median)"
	put "$sys" "$n" join_max_ms "$(printf '%s\n' "${joins[@]}" | bench_max)"
	put "$sys" "$n" join_all "$(for t in "${!joins[@]}"; do printf '%s (>=%s) ' "$(bench_fmt_s "${joins[$t]}")" "$(bench_fmt_s "${jlows[$t]}")"; done)"
	put "$sys" "$n" join_poll_ms "$(printf '%s\n' "${polls[@]}" | bench_median)"
	put "$sys" "$n" join_slowest "$(printf '%s; ' "${slows[@]}")"
	put "$sys" "$n" join_log_ms ""
	if [[ " ${jlt[*]} " != *"  "* ]]; then
		put "$sys" "$n" join_log_ms "$(printf '%s\n' "${jlt[@]}" | bench_median)"
		put "$sys" "$n" join_log_all "$(for t in "${!jlt[@]}"; do
			if [ "${jlf[$t]}" = "${jlt[$t]}" ]; then printf '%s ' "$(bench_fmt_s "${jlt[$t]}")"
			else printf '%s-%s ' "$(bench_fmt_s "${jlf[$t]}")" "$(bench_fmt_s "${jlt[$t]}")"; fi
		done)"
	fi
	put "$sys" "$n" drops_join $(($(bench_softnet_drops) - d0))
	sleep "$BENCH_SETTLE_SECONDS"
	if ! ms=$(wait_full "$sys" "$n" 30); then
		fail "$name N=$n: cluster not converged before the idle window"
		return 1
	fi
	d0=$(bench_softnet_drops)
	measure_idle "$sys" "$n" || return 1
	put "$sys" "$n" drops_idle $(($(bench_softnet_drops) - d0))
	measure_rss "$sys" "$n" || return 1
	d0=$(bench_softnet_drops)
	measure_loss "$sys" "$n" || return 1
	put "$sys" "$n" drops_loss $(($(bench_softnet_drops) - d0))
	if [ "$(get "$sys" "$n" loss_reconv_ms)" = ">60000" ]; then
		if ms=$(wait_full "$sys" "$n" 120); then
			log "$name N=$n: all alive everywhere again after another $ms ms"
			put "$sys" "$n" loss_reconv_ms ">60000 (all alive again $ms ms later)"
		else
			fail "$name N=$n: views still not all-alive 180 s after the loss ended: $(not_full_views "$n" | head -n 3 | tr '\n' ';'); failure detection measured anyway"
		fi
	fi
	wait_quiet || put "$sys" "$n" noisy "yes"
	d0=$(bench_softnet_drops)
	measure_fd "$sys" "$n" || return 1
	put "$sys" "$n" drops_fd $(($(bench_softnet_drops) - d0))
	return 0
}

# ---- report --------------------------------------------------------------------------------

num_or_na() { [ -n "$1" ] && printf '%s\n' "$1" || printf 'n/a\n'; }

ratio() {
	if [ -n "$1" ] && [ -n "$2" ]; then
		awk -v a="$1" -v b="$2" 'BEGIN { if (b == 0) print (a == 0 ? "1.00" : "inf"); else printf "%.2f\n", a / b }'
	else
		echo n/a
	fi
}

verdict() { # verdict CONDITION-RESULT(0/1/"") -> PASS/FAIL/n/a
	case $1 in 0) echo PASS ;; 1) echo FAIL ;; *) echo n/a ;; esac
}

MISSED=0
table() {
	local n=$1 o s v
	printf '| figure (N = %s) | ovgossipd | serf | ovgossipd/serf | target |\n' "$n"
	printf '|---|---|---|---|---|\n'
	o=$(get ovg "$n" join_ms) s=$(get serf "$n" join_ms)
	v=; [ -n "$o" ] && [ -n "$s" ] && { [ $((2 * o)) -le "$s" ] && v=0 || v=1; }
	row "join convergence, median of $BENCH_JOIN_TRIALS (s)" "$(fmt_ms "$o")" "$(fmt_ms "$s")" "$(ratio "$o" "$s")" "at most half of serf's: $(verdict "$v")" "$v"
	o=$(get ovg "$n" join_log_ms) s=$(get serf "$n" join_log_ms)
	v=; [ -n "$o" ] && [ -n "$s" ] && { [ $((2 * o)) -le "$s" ] && v=0 || v=1; }
	row "join convergence from the agents' logs, median of $BENCH_JOIN_TRIALS (s; serf logs whole seconds: upper end)" \
		"$(fmt_ms "$o")" "$(fmt_ms "$s")" "$(ratio "$o" "$s")" "at most half of serf's: $(verdict "$v")" "$v"
	o=$(get ovg "$n" fd_ms) s=$(get serf "$n" fd_ms)
	v=; [ "$n" = 20 ] && [ -n "$o" ] && { [ "$o" -lt 3000 ] && v=0 || v=1; }
	row "failure detection, median of $BENCH_FD_TRIALS (s)" "$(fmt_ms "$o")" "$(fmt_ms "$s")" "$(ratio "$o" "$s")" \
		"$([ "$n" = 20 ] && echo "under 3 s: $(verdict "$v")" || echo "(3 s target is for N = 20)")" "$v"
	o=$(get ovg "$n" fd_max_ms) s=$(get serf "$n" fd_max_ms)
	v=; [ "$n" = 20 ] && [ -n "$o" ] && { [ "$o" -lt 3000 ] && v=0 || v=1; }
	row "failure detection, max of $BENCH_FD_TRIALS (s)" "$(fmt_ms "$o")" "$(fmt_ms "$s")" "$(ratio "$o" "$s")" \
		"$([ "$n" = 20 ] && echo "under 3 s: $(verdict "$v")" || echo "(3 s target is for N = 20)")" "$v"
	o=$(get ovg "$n" fd_log_ms) s=$(get serf "$n" fd_log_ms)
	v=; [ "$n" = 20 ] && [ -n "$o" ] && { [ "$o" -lt 3000 ] && v=0 || v=1; }
	row "failure detection from the agents' logs, median of $BENCH_FD_TRIALS (s; serf logs whole seconds: upper end)" \
		"$(fmt_ms "$o")" "$(fmt_ms "$s")" "$(ratio "$o" "$s")" \
		"$([ "$n" = 20 ] && echo "under 3 s: $(verdict "$v")" || echo "(3 s target is for N = 20)")" "$v"
	o=$(get ovg "$n" false_fail) s=$(get serf "$n" false_fail)
	v=; [ -n "$o" ] && { [ "$o" -eq 0 ] && v=0 || v=1; }
	row "false failures at $BENCH_LOSS_PERCENT% loss, ${BENCH_LOSS_SECONDS} s (distinct observer/member dead/failed)" \
		"$(num_or_na "$o")" "$(num_or_na "$s")" "-" "zero: $(verdict "$v")" "$v"
	o=$(get ovg "$n" false_susp) s=$(get serf "$n" false_susp)
	row "  same period: distinct observer/member suspect sightings" "$(num_or_na "$o")" \
		"$(num_or_na "$s")" "-" "(info; serf does not expose suspect)" ""
	o=$(get ovg "$n" log_marked) s=$(get serf "$n" log_marked)
	row "  same period: log lines \"marking X as failed\" (suspicion timeouts)" "$(num_or_na "$o")" "$(num_or_na "$s")" "-" "(info)" ""
	o=$(get ovg "$n" log_events) s=$(get serf "$n" log_events)
	row "  same period: member-failed events in the logs" "$(num_or_na "$o")" "$(num_or_na "$s")" "-" "(info)" ""
	o=$(get ovg "$n" bps) s=$(get serf "$n" bps)
	v=; [ -n "$o" ] && [ -n "$s" ] && { [ "$o" -le "$s" ] && v=0 || v=1; }
	row "bytes/s per node at rest, in + out" "$(num_or_na "$o")" "$(num_or_na "$s")" "$(ratio "$o" "$s")" \
		"no more than serf's: $(verdict "$v")" "$v"
	o=$(get ovg "$n" idle_cpu_pct) s=$(get serf "$n" idle_cpu_pct)
	row "CPU per agent at rest (% of one CPU)" "$(num_or_na "$o")" "$(num_or_na "$s")" "$(ratio "$o" "$s")" "(info)" ""
	o=$(get ovg "$n" rss_kb) s=$(get serf "$n" rss_kb)
	v=; [ -n "$o" ] && { [ $((o * 1024)) -lt 5000000 ] && v=0 || v=1; }
	row "RSS per agent, median (MB)" "$(fmt_kb "$o")" "$(fmt_kb "$s")" "$(ratio "$o" "$s")" "under 5 MB: $(verdict "$v")" "$v"
}

row() {
	printf '| %s | %s | %s | %s | %s |\n' "$1" "$2" "$3" "$4" "$5"
	[ "${6:-}" = 1 ] && MISSED=$((MISSED + 1))
	return 0
}

fmt_ms() { [ -n "$1" ] && bench_fmt_s "$1" || echo n/a; }
fmt_kb() { [ -n "$1" ] && awk -v k="$1" 'BEGIN { printf "%.1f\n", k * 1024 / 1e6 }' || echo n/a; }

details() {
	local n=$1 sys name
	for sys in $BENCH_SYSTEMS; do
		name=$(bench_sys_name "$sys")
		printf -- '- %s, N = %s: ' "$name" "$n"
		printf 'join per trial (s): %s(poll round %s ms, median; last host to see everyone, per trial: %s), from the logs: %s; last trial: join commands all returned after %s ms, %s failed; ' \
			"$(num_or_na "$(get "$sys" "$n" join_all)")" "$(num_or_na "$(get "$sys" "$n" join_poll_ms)")" \
			"$(get "$sys" "$n" join_slowest)" "$(num_or_na "$(get "$sys" "$n" join_log_all)")" "$(num_or_na "$(get "$sys" "$n" join_cmd_ms)")" \
			"$(num_or_na "$(get "$sys" "$n" join_cmd_fail)")"
		printf 'failure detection per trial (s): %s(poll round %s ms; first survivor to notice, median: %s s), from the logs: %s; ' \
			"$(num_or_na "$(get "$sys" "$n" fd_all)")" "$(num_or_na "$(get "$sys" "$n" fd_poll_ms)")" \
			"$(fmt_ms "$(get "$sys" "$n" fd_first_ms)")" "$(num_or_na "$(get "$sys" "$n" fd_log_all)")"
		printf 'loss: %s polls (one per %s ms), %s packets dropped, %s unanswered polls, members listed %s: [%s], all log lines matching failed|dead (without agent.ipc): %s, back to all-alive %s ms after the loss ended; ' \
			"$(num_or_na "$(get "$sys" "$n" loss_rounds)")" "$(num_or_na "$(get "$sys" "$n" loss_poll_ms)")" \
			"$(num_or_na "$(get "$sys" "$n" loss_dropped)")" "$(num_or_na "$(get "$sys" "$n" loss_noanswer)")" \
			"$(bench_sys_failed_status "$sys")" "$(get "$sys" "$n" false_fail_members)" \
			"$(num_or_na "$(get "$sys" "$n" log_faildead)")" \
			"$(num_or_na "$(get "$sys" "$n" loss_reconv_ms)")$(v=$(get "$sys" "$n" loss_reconv_note); [ -n "$v" ] && printf ' (at 60 s: %s)' "$v")"
		printf 'at rest: %s B/s out, %s B/s in per node; RSS max %s kB. ' \
			"$(num_or_na "$(get "$sys" "$n" bps_out)")" "$(num_or_na "$(get "$sys" "$n" bps_in)")" \
			"$(num_or_na "$(get "$sys" "$n" rss_max_kb)")"
		printf 'Packets dropped by the kernel (full CPU input backlog, machine-wide) during the joins/idle/loss/failure phases: %s/%s/%s/%s. ' \
			"$(num_or_na "$(get "$sys" "$n" drops_join)")" "$(num_or_na "$(get "$sys" "$n" drops_idle)")" \
			"$(num_or_na "$(get "$sys" "$n" drops_loss)")" "$(num_or_na "$(get "$sys" "$n" drops_fd)")"
		printf 'Machine: load average %s when the joins started; CPU busy %s%% during the idle window, %s%% during the loss period (load average %s at its end)%s.\n' \
			"$(num_or_na "$(get "$sys" "$n" join_load)")" "$(num_or_na "$(get "$sys" "$n" idle_busy)")" \
			"$(num_or_na "$(get "$sys" "$n" loss_busy)")" "$(num_or_na "$(get "$sys" "$n" loss_load)")" \
			"$([ -n "$(get "$sys" "$n" noisy)" ] && printf '; the machine was still over %s%% busy (other work) when the join or failure-detection phase began' "$BENCH_QUIET_BUSY")"
	done
}

# Log excerpts of failures during the loss period (if any), for the report.
excerpts() {
	local n=$1 sys f
	for sys in $BENCH_SYSTEMS; do
		f=$TMP/losslog.$sys.$n
		[ -f "$f" ] || continue
		# (no grep -q at the end of a pipe: its early exit would fail the pipe under pipefail)
		if [ "$(grep -iE 'failed|dead' "$f" | grep -cv agent.ipc)" -gt 0 ]; then
			printf '\n%s, N = %s, log lines matching failed|dead during the loss period, by kind (names, numbers and times masked):\n\n```\n' \
				"$(bench_sys_name "$sys")" "$n"
			grep -iE 'failed|dead' "$f" | grep -v agent.ipc | cut -d' ' -f2- |
				sed -E 's/h[0-9]+/hX/g; s/[0-9]+(\.[0-9]+)*/N/g' | sort | uniq -c | sort -rn | head -n 12
			printf '```\n'
		fi
		if grep -qiE 'marking .* as failed' "$f"; then
			printf '\n%s, N = %s, first "marking .. as failed" lines during the loss period:\n\n```\n' \
				"$(bench_sys_name "$sys")" "$n"
			grep -iE 'marking .* as failed' "$f" | head -n 8
			printf '```\n'
		fi
	done
}

# ---- main ----------------------------------------------------------------------------------

START=$(date '+%F %T %Z')
LOAD0=$(cut -d' ' -f1-3 /proc/loadavg)
ENVS=
for v in BENCH_NS BENCH_SYSTEMS BENCH_LOSS_SECONDS BENCH_LOSS_PERCENT BENCH_IDLE_SECONDS \
	BENCH_SETTLE_SECONDS BENCH_FD_TRIALS BENCH_JOIN_TRIALS BENCH_QUIET_WAIT BENCH_QUIET_BUSY BENCH_STATIC_ARP; do
	ENVS+="$v=\"${!v}\" "
done
if [ -n "${MAKELEVEL:-}" ]; then
	CMD="make bench (which runs OVGOSSIPD=$OVGOSSIPD bash bench/bench_membership.sh; settings: $ENVS)"
else
	CMD="${ENVS}OVGOSSIPD=$OVGOSSIPD bash bench/bench_membership.sh"
fi

for n in $BENCH_NS; do
	sim_use "$BENCH_TAG-n$n" || exit 1
	mapfile -t ALLH < <(seq 1 "$n" | sed 's/^/h/')
	log "N=$n: building $n host namespaces on one bridge"
	if ! sim_up "$n" --no-agents >/dev/null; then
		fail "N=$n: underlay did not come up"
		sim_down >/dev/null
		continue
	fi
	if [ "$BENCH_STATIC_ARP" = 1 ] && ! bench_static_arp; then
		fail "N=$n: static neighbor entries could not be set"
	fi
	if [[ " $BENCH_SYSTEMS " == *" ovg "* ]] && sim_agent_supported; then
		sim_ensure_key || { fail "ovgossipd keygen"; }
	fi
	if [ ! -s "$SIM_WORK/key" ]; then
		(umask 077 && head -c 32 /dev/urandom | base64 >"$SIM_WORK/key")
	fi
	for sys in $BENCH_SYSTEMS; do
		run_system "$sys" "$n"
		keep_logs "$sys" "$n"
		stop_agents "$sys" || fail "$(bench_sys_name "$sys") N=$n: agents survived SIGKILL"
		for h in $(sim_hosts); do sim_loss "$h" 0 >/dev/null 2>&1; done
	done
	sim_down >/dev/null || fail "N=$n: cluster teardown incomplete"
done

REPORT=$TMP/report.md
{
	printf '# Membership benchmark: ovgossipd vs serf\n\n'
	# shellcheck disable=SC2016
	printf 'Generated by `bench/bench_membership.sh` (run by `make bench`). Started %s.\n\n' "$START"
	printf -- '- Machine: %s CPUs (%s), %s, kernel %s; load average at start %s\n' "$(nproc)" \
		"$(awk -F': ' '/^model name/ { print $2; exit }' /proc/cpuinfo)" \
		"$(awk '/^MemTotal/ { printf "%.1f GB RAM", $2 / 1e6 }' /proc/meminfo)" "$(uname -r)" "$LOAD0"
	# shellcheck disable=SC2016
	printf -- '- Command (as root, in the repository): `%s`\n' "$CMD"
	printf -- '- serf: %s (Debian package, LAN profile defaults); ovgossipd %s\n' \
		"$("$SERF" version 2>/dev/null | head -n 1)" "$("$OVGOSSIPD" version 2>/dev/null | head -n 1)"
	cat <<EOF
- Layout (simulations/lib.sh): one network namespace per host, each with a veth into one
  bridge in a switch namespace; one agent per host on 192.168.77.N:7946; both systems
  encrypted with the same 32-byte key (AES-256-GCM). The systems run one after the other
  on the same namespaces; every measurement below is taken the same way for both.
- Join convergence: all agents started unjoined; then h2..hN run their join command
  (\`ovgossipd join\` / \`serf join\`) against h1 at once; time from launching the joins
  until every agent lists all N members alive. Views are polled with the CLIs
  (\`members --format json\` / \`serf members -format=json\`), all hosts in parallel; a
  host is no longer polled once it has seen all N, and a final round over all hosts
  confirms. The time is taken at the end of the poll round (an upper bound; the round
  length is the granularity, listed below). ${BENCH_JOIN_TRIALS} trials, each with freshly started
  agents (ovgossipd state dirs wiped, so no agent remembers earlier peers). Cross-check
  from the agents' logs: per host, the line reporting the last of the other N-1 members
  joined (ovgossipd "member hX joined", ms timestamps; serf "EventMemberJoin: hX", whole
  seconds: the upper end of the second is used); the latest host counts.
- Failure detection: kill -9 of h(N), h(N-1), ... one per trial (not restarted); time
  until every survivor lists the victim as ovgossipd "dead" / serf "failed" (or no longer
  lists it), polled back to back (only survivors that have not noticed yet). Cross-check
  from the agents' logs: the latest survivor's "member hV failed" (ovgossipd, ms
  timestamps) / "EventMemberFailed: hV" (serf, whole-second timestamps: the upper end of
  the second is used) line, relative to the kill.
- False failures: ${BENCH_LOSS_PERCENT}% random loss (iptables statistic match, INPUT on eth0 of every
  host, all protocols) for ${BENCH_LOSS_SECONDS} s while every agent runs; every host's view is polled every
  ~${BENCH_LOSS_POLL_MS} ms; counted: distinct (observer, member) pairs ever listed dead/failed; also
  suspect sightings and agent log lines "marking X as failed" (both memberlist and
  ovgossipd log this wording when a suspicion times out).
- Neighbors: $([ "$BENCH_STATIC_ARP" = 1 ] && echo "every host has a permanent ARP entry for every other host (BENCH_STATIC_ARP=1).
  Without them, N agents starting to talk at once send N*(N-1) ARP broadcasts, each
  flooded to every port of the one software bridge, and at N = 50 joins failed (both
  systems had trouble converging; see the notes)." || echo "dynamic ARP (BENCH_STATIC_ARP=0).")
  Packets the kernel still dropped for a full input backlog are listed per phase below
  (machine-wide counter: includes other work on the machine).
- At rest: ${BENCH_SETTLE_SECONDS} s after convergence, then byte counters of the switch's ports over
  ${BENCH_IDLE_SECONDS} s (L2 bytes, including ARP and Ethernet headers), summed both directions,
  divided by N. No polling in that window. RSS: VmRSS of every agent right after.

EOF
	for n in $BENCH_NS; do
		table "$n"
		printf '\n'
		details "$n"
		excerpts "$n"
		printf '\n'
	done
	if [ "${#ERRORS[@]}" -gt 0 ]; then
		printf 'Measurements that could not be taken:\n\n'
		for e in "${ERRORS[@]}"; do printf -- '- %s\n' "$e"; done
		printf '\n'
	fi
} >"$REPORT"

# Hand-written notes below this marker in an existing report are kept across runs.
NOTES_MARK='<!-- notes below are written by hand and kept by bench_membership.sh -->'
if [ "$BENCH_OUT" != - ] && [ -f "$BENCH_OUT" ] && grep -qxF "$NOTES_MARK" "$BENCH_OUT"; then
	sed -n "\|^$NOTES_MARK\$|,\$p" "$BENCH_OUT" >>"$REPORT"
fi
cat "$REPORT"
if [ "$BENCH_OUT" != - ]; then
	cp "$REPORT" "$BENCH_OUT" && log "figures written to $BENCH_OUT"
fi
[ "${#ERRORS[@]}" -eq 0 ] || exit 1
[ "$BENCH_STRICT" = 1 ] && [ "$MISSED" -gt 0 ] && exit 1
exit 0
