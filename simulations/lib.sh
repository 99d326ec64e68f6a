# shellcheck shell=bash
# simulations/lib.sh: multi-host ovgossipd clusters in network namespaces.
#
# Source this file (bash); simulations/cluster is a thin command-line front end to it, and
# the namespace tests, e2e tests and benchmarks call the same functions.
#
#   sim_use NAME             select a cluster (work dir $OVG_SIM_ROOT/NAME) and load it
#   sim_up N [--insecure] [--no-agents]
#   sim_down                 agents, namespaces (hosts, switch, containers), mounts, dirs
#   sim_exec HOST CMD...     run CMD in HOST's namespace (HOST: hN, sw or a container name)
#   sim_ovg HOST ARGS...     the ovgossipd CLI against HOST's agent
#   sim_container HOST NAME  make a container namespace for HOST, print its netns name
#   sim_agent_start|stop|kill|restart HOST, sim_agent_pid HOST
#   sim_partition HOST..., sim_heal, sim_loss HOST PERCENT
#   sim_wait_converged [SECONDS], sim_wait_until SECONDS CMD..., sim_ping_count ...
#
# Functions return nonzero with a one-line "cluster: ..." message on stderr; they never
# exit, so a sourcing script keeps control (and its traps).
#
# Layout of a cluster's work dir:
#   cluster.env                 NAME PREFIX N NET MODE STATE (written before anything else,
#                               so `down` can clean up even after a failed `up`)
#   key                         shared gossip key (ovgossipd keygen), mode 0600
#   hosts/hN/{state,run}/       the agent's --state-dir and --run-dir
#   hosts/hN/agent.sock         its --socket
#   hosts/hN/agent.log          its stdout and stderr (appended across restarts)
#   hosts/hN/agent.pid
#   containers/NAME             the host a container namespace belongs to
#   partition                   blocked host pairs, one "hA hB" a line
# Namespaces: PREFIX-sw (the switch: bridge br0, one port hN per host), PREFIX-hN (eth0 with
# NET.N/24), PREFIX-NAME for containers. PREFIX is random per `up` ("ovs" + 6 hex digits).

SIM_LIB_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
SIM_REPO=$(dirname "$SIM_LIB_DIR")
if [ -z "${OVGOSSIPD:-}" ]; then
	if [ -x "$SIM_REPO/ovgossipd" ]; then
		OVGOSSIPD=$SIM_REPO/ovgossipd
	else
		OVGOSSIPD=ovgossipd
	fi
fi
: "${OVG_SIM_ROOT:=/run/ovg-sim}"
: "${OVG_SIM_NET:=192.168.77}"
SIM_PORT=7946
SIM_NETNS_DIR=/run/netns
SIM_MAX_HOSTS=250
SIM_CHAIN_PART=OVGSIM-PART
SIM_CHAIN_LOSS=OVGSIM-LOSS

SIM_NAME='' SIM_WORK='' SIM_PREFIX='' SIM_N=0 SIM_NET='' SIM_MODE='' SIM_STATE=''

sim_err() { printf 'cluster: %s\n' "$*" >&2; }
sim_say() { printf '%s\n' "$*"; }

# ---- time and polling ------------------------------------------------------------------

# Milliseconds since the epoch, without a fork.
sim_now_ms() {
	local t=${EPOCHREALTIME/[.,]/}
	printf '%s\n' "$((t / 1000))"
}

# Seconds (may be fractional) to milliseconds.
sim_secs_to_ms() {
	awk -v s="$1" 'BEGIN { if (s !~ /^[0-9]+(\.[0-9]+)?$/) exit 1; printf "%d\n", s * 1000 }'
}

# sim_wait_until SECONDS CMD...: run CMD every 0.1 s until it succeeds (0) or SECONDS pass (1).
sim_wait_until() {
	local ms deadline
	ms=$(sim_secs_to_ms "$1") || { sim_err "bad timeout '$1'"; return 2; }
	shift
	deadline=$(($(sim_now_ms) + ms))
	while :; do
		"$@" && return 0
		[ "$(sim_now_ms)" -ge "$deadline" ] && return 1
		sleep 0.1
	done
}

# ---- selecting and describing a cluster ------------------------------------------------

sim_valid_name() { [[ $1 =~ ^[A-Za-z0-9][A-Za-z0-9_.-]{0,31}$ ]]; }

# sim_use NAME: select the cluster NAME; loads its state if it exists.
sim_use() {
	local name=${1:-${OVG_SIM_NAME:-default}}
	if ! sim_valid_name "$name"; then
		sim_err "bad cluster name '$name' (letters, digits, _ . -; at most 32)"
		return 1
	fi
	SIM_NAME=$name
	SIM_WORK=$OVG_SIM_ROOT/$name
	SIM_PREFIX='' SIM_N=0 SIM_NET='' SIM_MODE='' SIM_STATE=''
	if [ -f "$SIM_WORK/cluster.env" ]; then
		sim_load || return 1
	fi
	return 0
}

sim_load() {
	local k v
	while IFS='=' read -r k v; do
		case $k in
		PREFIX) SIM_PREFIX=$v ;;
		N) SIM_N=$v ;;
		NET) SIM_NET=$v ;;
		MODE) SIM_MODE=$v ;;
		STATE) SIM_STATE=$v ;;
		esac
	done <"$SIM_WORK/cluster.env"
	if [[ ! $SIM_PREFIX =~ ^[a-z0-9]+$ || ! $SIM_N =~ ^[0-9]+$ ]]; then
		sim_err "corrupt $SIM_WORK/cluster.env"
		return 1
	fi
}

# Write cluster.env atomically (values are plain tokens: no quoting needed).
sim_save() {
	local tmp=$SIM_WORK/cluster.env.tmp
	printf 'NAME=%s\nPREFIX=%s\nN=%s\nNET=%s\nMODE=%s\nSTATE=%s\n' \
		"$SIM_NAME" "$SIM_PREFIX" "$SIM_N" "$SIM_NET" "$SIM_MODE" "$SIM_STATE" >"$tmp" &&
		mv -f "$tmp" "$SIM_WORK/cluster.env"
}

sim_is_up() { [ -n "$SIM_PREFIX" ] && [ -f "$SIM_WORK/cluster.env" ]; }

sim_need_up() {
	if ! sim_is_up; then
		sim_err "no cluster '$SIM_NAME' (work dir $SIM_WORK); run: cluster --name $SIM_NAME up N"
		return 1
	fi
}

# Print shell assignments describing the selected cluster (eval-able).
sim_env() {
	sim_need_up || return 1
	printf 'SIM_NAME=%s\nSIM_WORK=%s\nSIM_PREFIX=%s\nSIM_N=%s\nSIM_NET=%s\nSIM_MODE=%s\n' \
		"$SIM_NAME" "$SIM_WORK" "$SIM_PREFIX" "$SIM_N" "$SIM_NET" "$SIM_MODE"
}

sim_hosts() {
	local i
	for ((i = 1; i <= SIM_N; i++)); do printf 'h%d\n' "$i"; done
}

sim_is_host() {
	[[ $1 =~ ^h([1-9][0-9]*)$ ]] && [ "${BASH_REMATCH[1]}" -le "$SIM_N" ]
}

sim_need_host() {
	if ! sim_is_host "$1"; then
		sim_err "no host '$1' in cluster '$SIM_NAME' (hosts h1..h$SIM_N)"
		return 1
	fi
}

# Underlay address of hN.
sim_addr() {
	sim_need_host "$1" || return 1
	printf '%s.%s\n' "$SIM_NET" "${1#h}"
}

sim_container_host() {
	[ -f "$SIM_WORK/containers/$1" ] && cat "$SIM_WORK/containers/$1"
}

# Netns name (under /run/netns) of a host, the switch ("sw") or a container.
sim_netns() {
	sim_need_up || return 1
	if [ "$1" = sw ] || sim_is_host "$1"; then
		printf '%s-%s\n' "$SIM_PREFIX" "$1"
	elif sim_valid_name "$1" && [ -f "$SIM_WORK/containers/$1" ]; then
		printf '%s-%s\n' "$SIM_PREFIX" "$1"
	else
		sim_err "no host or container '$1' in cluster '$SIM_NAME'"
		return 1
	fi
}

sim_hostdir() { printf '%s/hosts/%s\n' "$SIM_WORK" "$1"; }

# ---- running things in namespaces ------------------------------------------------------

# nsenter keeps our mount namespace (ip netns exec would make a private one), so mounts an
# agent makes (its sandbox namespaces) are visible to everyone, and /run/netns names resolve.
sim_nsenter() {
	local ns=$1
	shift
	nsenter --net="$SIM_NETNS_DIR/$ns" -- "$@"
}

# sim_exec HOST CMD...: HOST is hN, sw or a container name.
sim_exec() {
	local ns
	[ $# -ge 2 ] || { sim_err "usage: exec HOST CMD..."; return 2; }
	ns=$(sim_netns "$1") || return 1
	shift
	sim_nsenter "$ns" "$@"
}

# sim_ovg HOST ARGS...: the CLI in HOST's namespace, against HOST's agent socket
# (`ovgossipd --socket PATH COMMAND ...`: --socket is a global option). Bounded by
# OVG_SIM_CLI_TIMEOUT seconds (default 30): a hung agent cannot hang a test.
sim_ovg() {
	local h=${1:-} ns sock rc
	[ $# -ge 1 ] || { sim_err "usage: ovg HOST ARGS..."; return 2; }
	sim_need_up && sim_need_host "$h" || return 1
	ns=$(sim_netns "$h") || return 1
	sock=$(sim_hostdir "$h")/agent.sock
	shift
	timeout "${OVG_SIM_CLI_TIMEOUT:-30}" nsenter --net="$SIM_NETNS_DIR/$ns" -- \
		"$OVGOSSIPD" --socket "$sock" "$@"
	rc=$?
	[ "$rc" = 124 ] && sim_err "'ovgossipd $*' on $h timed out after ${OVG_SIM_CLI_TIMEOUT:-30} s"
	return "$rc"
}

# True if the ovgossipd binary has the agent command.
sim_agent_supported() {
	"$OVGOSSIPD" help 2>&1 | grep -qw agent
}

# ---- namespaces ------------------------------------------------------------------------

sim_ns_exists() { [ -e "$SIM_NETNS_DIR/$1" ]; }

# Every namespace of the selected cluster (hosts, switch, containers), by prefix.
sim_list_ns() {
	[ -n "$SIM_PREFIX" ] || return 0
	ip netns list 2>/dev/null | awk -v p="$SIM_PREFIX-" 'index($1, p) == 1 { print $1 }'
}

sim_new_prefix() {
	local p i
	for ((i = 0; i < 20; i++)); do
		p=ovs$(od -An -N3 -tx1 /dev/urandom | tr -d ' \n')
		if ! ip netns list 2>/dev/null | awk '{ print $1 }' | grep -q "^$p-"; then
			printf '%s\n' "$p"
			return 0
		fi
	done
	sim_err "could not find an unused namespace prefix"
	return 1
}

# ---- up --------------------------------------------------------------------------------

sim_need_root() {
	if [ "$(id -u)" != 0 ]; then
		sim_err "needs root (network namespaces)"
		return 1
	fi
}

# sim_up N [--insecure] [--no-agents]
sim_up() {
	local n='' mode=key a
	for a in "$@"; do
		case $a in
		--insecure) [ "$mode" = none ] || mode=insecure ;;
		--no-agents) mode=none ;;
		*)
			if [[ $a =~ ^[0-9]+$ ]] && [ -z "$n" ]; then
				n=$((10#$a))
			else
				sim_err "usage: up N [--insecure] [--no-agents]"
				return 2
			fi
			;;
		esac
	done
	if [ -z "$n" ] || [ "$n" -lt 1 ] || [ "$n" -gt "$SIM_MAX_HOSTS" ]; then
		sim_err "up: N must be 1..$SIM_MAX_HOSTS"
		return 2
	fi
	sim_need_root || return 1
	if [ -f "$SIM_WORK/cluster.env" ]; then
		if [ "$SIM_STATE" = up ] && [ "$SIM_N" = "$n" ] && [ "$SIM_MODE" = "$mode" ]; then
			sim_say "cluster '$SIM_NAME' is already up ($SIM_N hosts, namespaces $SIM_PREFIX-*)"
			return 0
		fi
		sim_err "cluster '$SIM_NAME' exists (state $SIM_STATE, $SIM_N hosts, mode $SIM_MODE); run: cluster --name $SIM_NAME down"
		return 1
	fi
	if [[ ! $OVG_SIM_NET =~ ^[0-9]{1,3}\.[0-9]{1,3}\.[0-9]{1,3}$ ]]; then
		sim_err "OVG_SIM_NET must be the first three octets of a /24, e.g. 192.168.77"
		return 2
	fi
	if [ "$mode" != none ] && ! command -v "$OVGOSSIPD" >/dev/null 2>&1; then
		sim_err "ovgossipd binary '$OVGOSSIPD' not found (set OVGOSSIPD)"
		return 1
	fi
	# Unix socket paths are limited to 107 bytes.
	if [ $((${#SIM_WORK} + 22)) -gt 107 ]; then
		sim_err "work dir path too long for agent sockets: $SIM_WORK"
		return 1
	fi

	SIM_PREFIX=$(sim_new_prefix) || return 1
	SIM_N=$n SIM_NET=$OVG_SIM_NET SIM_MODE=$mode SIM_STATE=creating
	# Retried: a parallel `down` of another cluster may rmdir an empty $OVG_SIM_ROOT
	# between mkdir -p's steps.
	mkdir -p "$SIM_WORK/hosts" "$SIM_WORK/containers" 2>/dev/null ||
		mkdir -p "$SIM_WORK/hosts" "$SIM_WORK/containers" 2>/dev/null ||
		mkdir -p "$SIM_WORK/hosts" "$SIM_WORK/containers" || return 1
	sim_save || return 1

	if ! sim_up_underlay; then
		SIM_STATE=failed
		sim_save
		sim_err "up failed; run: cluster --name $SIM_NAME down"
		return 1
	fi
	if [ "$mode" != none ] && ! sim_up_agents; then
		SIM_STATE=failed
		sim_save
		sim_err "up failed; agent logs: $SIM_WORK/hosts/*/agent.log; run: cluster --name $SIM_NAME down"
		return 1
	fi
	SIM_STATE=up
	sim_save || return 1
	sim_say "cluster '$SIM_NAME' up: $n hosts on $SIM_NET.0/24, namespaces $SIM_PREFIX-*, work dir $SIM_WORK"
	return 0
}

# The switch namespace with a bridge, and one namespace per host with a veth into it.
sim_up_underlay() {
	local sw=$SIM_PREFIX-sw h ns i
	if ! { ip netns add "$sw" &&
		ip -n "$sw" link set lo up &&
		ip -n "$sw" link add br0 type bridge stp_state 0 forward_delay 0 &&
		ip -n "$sw" link set br0 up; }; then
		sim_err "creating switch namespace $sw failed"
		return 1
	fi
	for ((i = 1; i <= SIM_N; i++)); do
		h=h$i
		ns=$SIM_PREFIX-$h
		mkdir -p "$SIM_WORK/hosts/$h/state" "$SIM_WORK/hosts/$h/run" || return 1
		if ! { ip netns add "$ns" &&
			ip -n "$ns" link set lo up &&
			ip -n "$sw" link add "$h" type veth peer name eth0 netns "$ns" &&
			ip -n "$sw" link set "$h" master br0 up &&
			ip -n "$ns" addr add "$SIM_NET.$i/24" dev eth0 &&
			ip -n "$ns" link set eth0 up; }; then
			sim_err "creating host namespace $ns failed"
			return 1
		fi
	done
	return 0
}

sim_up_agents() {
	local h i
	if [ "$SIM_MODE" = key ]; then
		sim_ensure_key || return 1
	fi
	# h1 first; everyone else joins it once it answers.
	sim_agent_launch h1 "" || return 1
	sim_agent_wait_ready h1 || return 1
	for ((i = 2; i <= SIM_N; i++)); do
		sim_agent_launch "h$i" "$SIM_NET.1:$SIM_PORT" || return 1
	done
	for ((i = 2; i <= SIM_N; i++)); do
		sim_agent_wait_ready "h$i" || return 1
	done
	sim_wait_converged "$(sim_timeout)" || return 1
}

sim_ensure_key() {
	local key=$SIM_WORK/key k
	[ -s "$key" ] && return 0
	k=$("$OVGOSSIPD" keygen) || { sim_err "'$OVGOSSIPD keygen' failed"; return 1; }
	if [ -z "$k" ]; then
		sim_err "'$OVGOSSIPD keygen' printed nothing"
		return 1
	fi
	(umask 077 && printf '%s\n' "$k" >"$key.tmp") && mv -f "$key.tmp" "$key"
}

# Default bound for waits, scaled with the cluster size.
sim_timeout() { printf '%s\n' "${OVG_SIM_TIMEOUT:-$((30 + SIM_N / 2))}"; }

# ---- agents ----------------------------------------------------------------------------

sim_netns_inode() { stat -L -c %i "$1" 2>/dev/null; }

# sim_pid_in_ns PID NS: PID is a live (non-zombie) process in namespace NS. Comparing the
# namespace guards against a recycled pid.
sim_pid_in_ns() {
	local pid=$1 ns=$2 st want have
	[[ $pid =~ ^[0-9]+$ ]] || return 1
	st=$(awk '{ print $3 }' "/proc/$pid/stat" 2>/dev/null) || return 1
	[ -n "$st" ] && [ "$st" != Z ] && [ "$st" != X ] || return 1
	want=$(sim_netns_inode "$SIM_NETNS_DIR/$ns") || return 1
	have=$(sim_netns_inode "/proc/$pid/ns/net") || return 1
	[ "$want" = "$have" ]
}

# Print the pid of HOST's running agent; 1 if none.
sim_agent_pid() {
	local pidf pid
	pidf=$(sim_hostdir "$1")/agent.pid
	[ -f "$pidf" ] || return 1
	pid=$(cat "$pidf" 2>/dev/null) || return 1
	sim_pid_in_ns "$pid" "$SIM_PREFIX-$1" || return 1
	printf '%s\n' "$pid"
}

sim_agent_running() { sim_agent_pid "$1" >/dev/null; }

sim_pid_gone() { ! sim_pid_in_ns "$1" "$2"; }

# The launched process has either entered namespace NS or is gone.
sim_pid_settled() {
	sim_pid_in_ns "$1" "$2" && return 0
	[ ! -e "/proc/$1/ns/net" ] || [ "$(awk '{ print $3 }' "/proc/$1/stat" 2>/dev/null)" = Z ]
}

sim_log_tail() {
	local log
	log=$(sim_hostdir "$1")/agent.log
	sim_err "agent log $log (last lines):"
	tail -n "${2:-15}" "$log" 2>/dev/null | sed 's/^/    /' >&2
}

# sim_agent_launch HOST JOIN: start HOST's agent in the background (JOIN: ADDR:PORT or "").
sim_agent_launch() {
	local h=$1 join=$2 dir ns log pidf pid args extra
	dir=$(sim_hostdir "$h")
	ns=$SIM_PREFIX-$h
	log=$dir/agent.log
	pidf=$dir/agent.pid
	mkdir -p "$dir/state" "$dir/run" || return 1
	args=(agent --name "$h" --bind "$SIM_NET.${h#h}:$SIM_PORT")
	case $SIM_MODE in
	insecure) args+=(--insecure) ;;
	*) sim_ensure_key && args+=(--key-file "$SIM_WORK/key") || return 1 ;;
	esac
	args+=(--state-dir "$dir/state" --run-dir "$dir/run" --socket "$dir/agent.sock")
	[ -n "$join" ] && args+=(--join "$join")
	if [ -n "${OVG_SIM_AGENT_ARGS:-}" ]; then
		read -r -a extra <<<"$OVG_SIM_AGENT_ARGS"
		args+=("${extra[@]}")
	fi
	rm -f "$pidf"
	printf '=== %s cluster: starting %s %s\n' "$(date '+%F %T')" "$OVGOSSIPD" "${args[*]}" >>"$log"
	# setsid -f: the agent outlives this shell and is not in its process group. The inner
	# shell records its pid, then execs nsenter, which execs the agent: one pid throughout.
	# shellcheck disable=SC2016
	setsid -f bash -c 'cd / && echo $$ >"$1.tmp" && mv -f "$1.tmp" "$1" && shift &&
		exec nsenter --net="$@"' _ "$pidf" "$SIM_NETNS_DIR/$ns" -- "$OVGOSSIPD" "${args[@]}" \
		</dev/null >>"$log" 2>&1
	# Bounded wait for the pid file and for the exec into the namespace.
	if ! sim_wait_until 5 test -s "$pidf"; then
		sim_err "agent on $h did not start"
		sim_log_tail "$h"
		return 1
	fi
	pid=$(cat "$pidf")
	if ! sim_wait_until 5 sim_pid_settled "$pid" "$ns" || ! sim_pid_in_ns "$pid" "$ns"; then
		sim_err "agent on $h (pid $pid) exited at start"
		sim_log_tail "$h"
		return 1
	fi
	return 0
}

sim_agent_answers() { sim_ovg "$1" members --format json >/dev/null 2>&1; }

# Ready: its control socket answers. Fails at once if the agent dies meanwhile.
sim_agent_ready_or_dead() {
	sim_agent_answers "$1" && return 0
	sim_agent_running "$1" || return 0
	return 1
}

sim_agent_wait_ready() {
	local h=$1
	if ! sim_wait_until "${2:-$(sim_timeout)}" sim_agent_ready_or_dead "$h" || ! sim_agent_running "$h"; then
		if sim_agent_running "$h"; then
			sim_err "agent on $h does not answer on $(sim_hostdir "$h")/agent.sock"
		else
			sim_err "agent on $h exited"
		fi
		sim_log_tail "$h"
		return 1
	fi
	return 0
}

# First host other than $1 whose agent runs, as ADDR:PORT.
sim_join_target() {
	local h
	for h in $(sim_hosts); do
		[ "$h" = "$1" ] && continue
		if sim_agent_running "$h"; then
			printf '%s.%s:%s\n' "$SIM_NET" "${h#h}" "$SIM_PORT"
			return 0
		fi
	done
	return 1
}

# sim_agent_start HOST: start the agent, joined to the first running host; wait until it answers.
sim_agent_start() {
	local h=$1 pid join
	sim_need_up && sim_need_host "$h" && sim_need_root || return 1
	if pid=$(sim_agent_pid "$h"); then
		sim_err "agent on $h already running (pid $pid)"
		return 1
	fi
	join=$(sim_join_target "$h") || join=
	sim_agent_launch "$h" "$join" || return 1
	sim_agent_wait_ready "$h" || return 1
	sim_say "agent on $h started (pid $(sim_agent_pid "$h"))${join:+, joining $join}"
}

# sim_agent_signal HOST SIGNAL SECONDS: signal the agent and wait (bounded) until it is gone.
sim_agent_signal() {
	local h=$1 sig=$2 secs=$3 pid ns=$SIM_PREFIX-$1
	sim_need_up && sim_need_host "$h" || return 1
	if ! pid=$(sim_agent_pid "$h"); then
		sim_err "no agent running on $h"
		return 1
	fi
	kill "-$sig" "$pid" 2>/dev/null
	sim_wait_until "$secs" sim_pid_gone "$pid" "$ns" || return 1
	rm -f "$(sim_hostdir "$h")/agent.pid"
	return 0
}

sim_agent_kill() {
	sim_agent_signal "$1" KILL 5 || { sim_err "agent on $1 survived SIGKILL"; return 1; }
	sim_say "agent on $1 killed"
}

# Graceful stop: SIGTERM, then SIGKILL after 10 s.
sim_agent_stop() {
	sim_need_up && sim_need_host "$1" || return 1
	if ! sim_agent_running "$1"; then
		sim_err "no agent running on $1"
		return 1
	fi
	if ! sim_agent_signal "$1" TERM 10; then
		sim_err "agent on $1 ignored SIGTERM for 10 s; killing it"
		sim_agent_signal "$1" KILL 5 || return 1
	fi
	sim_say "agent on $1 stopped"
}

sim_agent_restart() {
	sim_need_up && sim_need_host "$1" || return 1
	if sim_agent_running "$1"; then
		sim_agent_stop "$1" || return 1
	fi
	sim_agent_start "$1"
}

# ---- membership ------------------------------------------------------------------------

# sim_members_alive HOST: names of the members HOST's agent reports alive, one a line.
sim_members_alive() {
	sim_ovg "$1" members --format json 2>/dev/null |
		jq -r '.[] | select(.status == "alive") | .name' 2>/dev/null
}

# sim_sees_alive HOST NAME...: HOST's agent reports every NAME alive.
sim_sees_alive() {
	local h=$1 json want
	shift
	json=$(sim_ovg "$h" members --format json 2>/dev/null) || return 1
	want=$(printf '%s\n' "$@" | jq -R . | jq -s .) || return 1
	jq -e --argjson want "$want" \
		'([.[] | select(.status == "alive") | .name]) as $a | ($want - $a) == []' \
		<<<"$json" >/dev/null 2>&1
}

# sim_sees_not_alive HOST NAME: HOST's agent reports NAME as anything but alive (or not at all).
sim_sees_not_alive() {
	local json
	json=$(sim_ovg "$1" members --format json 2>/dev/null) || return 1
	jq -e --arg n "$2" '[.[] | select(.name == $n and .status == "alive")] == []' \
		<<<"$json" >/dev/null 2>&1
}

sim_running_hosts() {
	local h
	for h in $(sim_hosts); do
		sim_agent_running "$h" && printf '%s\n' "$h"
	done
	return 0
}

# Converged: every running agent sees every running agent alive. Fails early if one dies.
SIM_CONV_DIED=
sim_converged_once() {
	local h run
	mapfile -t run < <(sim_running_hosts)
	for h in "${SIM_CONV_RUN[@]}"; do
		if ! sim_agent_running "$h"; then
			SIM_CONV_DIED=$h
			return 0
		fi
	done
	for h in "${run[@]}"; do
		sim_sees_alive "$h" "${run[@]}" || return 1
	done
	return 0
}

# sim_wait_converged [SECONDS]
sim_wait_converged() {
	local secs=${1:-$(sim_timeout)} h
	sim_need_up || return 1
	mapfile -t SIM_CONV_RUN < <(sim_running_hosts)
	if [ "${#SIM_CONV_RUN[@]}" -eq 0 ]; then
		sim_err "no agents running"
		return 1
	fi
	SIM_CONV_DIED=
	if sim_wait_until "$secs" sim_converged_once && [ -z "$SIM_CONV_DIED" ]; then
		return 0
	fi
	if [ -n "$SIM_CONV_DIED" ]; then
		sim_err "agent on $SIM_CONV_DIED exited while waiting for the cluster to converge"
		sim_log_tail "$SIM_CONV_DIED"
		return 1
	fi
	sim_err "members did not converge within ${secs}s (want alive: ${SIM_CONV_RUN[*]})"
	for h in "${SIM_CONV_RUN[@]}"; do
		sim_err "  $h sees alive: $(sim_members_alive "$h" | tr '\n' ' ')"
	done
	sim_err "agent logs: $SIM_WORK/hosts/*/agent.log"
	return 1
}

# ---- containers ------------------------------------------------------------------------

# sim_container HOST NAME: a namespace PREFIX-NAME for a container on HOST; prints its name.
sim_container() {
	local h=$1 name=$2 ns
	[ $# -eq 2 ] || { sim_err "usage: container HOST NAME"; return 2; }
	sim_need_up && sim_need_host "$h" || return 1
	if ! sim_valid_name "$name" || [ "$name" = sw ] || [[ $name =~ ^h[0-9]+$ ]]; then
		sim_err "bad container name '$name' (letters, digits, _ . -; not sw or hN)"
		return 2
	fi
	ns=$SIM_PREFIX-$name
	if [ -f "$SIM_WORK/containers/$name" ] || sim_ns_exists "$ns"; then
		sim_err "container '$name' exists"
		return 1
	fi
	printf '%s\n' "$h" >"$SIM_WORK/containers/$name" || return 1
	if ! { ip netns add "$ns" && ip -n "$ns" link set lo up; }; then
		sim_err "creating namespace $ns failed"
		return 1
	fi
	printf '%s\n' "$ns"
}

sim_container_rm() {
	local name=$1 ns
	sim_need_up || return 1
	if ! sim_valid_name "$name" || [ ! -f "$SIM_WORK/containers/$name" ]; then
		sim_err "no container '$name'"
		return 1
	fi
	ns=$SIM_PREFIX-$name
	sim_kill_ns_pids "$ns"
	if sim_ns_exists "$ns" && ! ip netns del "$ns"; then
		sim_err "deleting namespace $ns failed"
		return 1
	fi
	rm -f "$SIM_WORK/containers/$name"
}

sim_containers() {
	local f
	for f in "$SIM_WORK"/containers/*; do
		[ -f "$f" ] && printf '%s %s\n' "${f##*/}" "$(cat "$f")"
	done
	return 0
}

# ---- faults ----------------------------------------------------------------------------

sim_ipt() {
	local h=$1
	shift
	sim_nsenter "$SIM_PREFIX-$h" iptables -w "$@"
}

sim_ipt_has_chain() { sim_ipt "$1" -S "$2" >/dev/null 2>&1; }

# Remove CHAIN and the jumps to it from HOST's filter table.
sim_ipt_drop_chain() {
	local h=$1 chain=$2
	sim_ipt_has_chain "$h" "$chain" || return 0
	{
		printf '*filter\n'
		sim_ipt "$h" -S INPUT 2>/dev/null | grep -qx -- "-A INPUT -j $chain" &&
			printf -- '-D INPUT -j %s\n' "$chain"
		sim_ipt "$h" -S OUTPUT 2>/dev/null | grep -qx -- "-A OUTPUT -j $chain" &&
			printf -- '-D OUTPUT -j %s\n' "$chain"
		printf -- '-F %s\n-X %s\nCOMMIT\n' "$chain" "$chain"
	} | sim_nsenter "$SIM_PREFIX-$h" iptables-restore -w --noflush
}

# Rewrite HOST's partition chain from the pair list: one restore per host.
sim_partition_apply() {
	local h=$1 pf=$SIM_WORK/partition new=1 peer
	sim_ipt_has_chain "$h" "$SIM_CHAIN_PART" && new=0
	{
		printf '*filter\n:%s - [0:0]\n' "$SIM_CHAIN_PART"
		if [ "$new" = 1 ]; then
			printf -- '-I INPUT 1 -j %s\n-I OUTPUT 1 -j %s\n' "$SIM_CHAIN_PART" "$SIM_CHAIN_PART"
		fi
		awk -v h="$h" '$1 == h { print $2 } $2 == h { print $1 }' "$pf" | sort -u |
			while read -r peer; do
				printf -- '-A %s -s %s.%s -j DROP\n' "$SIM_CHAIN_PART" "$SIM_NET" "${peer#h}"
				printf -- '-A %s -d %s.%s -j DROP\n' "$SIM_CHAIN_PART" "$SIM_NET" "${peer#h}"
			done
		printf 'COMMIT\n'
	} | sim_nsenter "$SIM_PREFIX-$h" iptables-restore -w --noflush
}

# sim_partition HOST...: cut the given hosts off from all others (DROP both ways, inside the
# host namespaces). Cumulative: a second call cuts another group off; heal undoes all.
sim_partition() {
	local h r in_group hosts=() rest=() touched=() pf
	sim_need_up && sim_need_root || return 1
	[ $# -ge 1 ] || { sim_err "usage: partition HOST..."; return 2; }
	for h in "$@"; do
		sim_need_host "$h" || return 1
		[[ " ${hosts[*]} " == *" $h "* ]] || hosts+=("$h")
	done
	for h in $(sim_hosts); do
		in_group=0
		for r in "${hosts[@]}"; do [ "$r" = "$h" ] && in_group=1; done
		[ "$in_group" = 0 ] && rest+=("$h")
	done
	if [ "${#rest[@]}" -eq 0 ]; then
		sim_err "partition: no hosts left on the other side"
		return 2
	fi
	pf=$SIM_WORK/partition
	touch "$pf" || return 1
	for h in "${hosts[@]}"; do
		for r in "${rest[@]}"; do printf '%s %s\n' "$h" "$r"; done
	done | cat "$pf" - | sort -u >"$pf.tmp" && mv -f "$pf.tmp" "$pf" || return 1
	touched=("${hosts[@]}" "${rest[@]}")
	for h in "${touched[@]}"; do
		sim_partition_apply "$h" || { sim_err "partition: iptables in $h failed"; return 1; }
	done
	sim_say "partitioned ${hosts[*]} from ${rest[*]}"
}

# sim_heal: remove every partition rule.
sim_heal() {
	local h rc=0
	sim_need_up && sim_need_root || return 1
	for h in $(sim_hosts); do
		sim_ipt_drop_chain "$h" "$SIM_CHAIN_PART" || { sim_err "heal: iptables in $h failed"; rc=1; }
	done
	rm -f "$SIM_WORK/partition"
	[ "$rc" = 0 ] && sim_say "healed"
	return "$rc"
}

# sim_loss HOST PERCENT: drop PERCENT of the packets arriving on HOST's underlay (random,
# independent per packet); 0 removes the rule.
sim_loss() {
	local h=$1 pct=$2 p new=1
	[ $# -eq 2 ] || { sim_err "usage: loss HOST PERCENT"; return 2; }
	sim_need_up && sim_need_host "$h" && sim_need_root || return 1
	if ! p=$(awk -v x="$pct" 'BEGIN { if (x !~ /^[0-9]+(\.[0-9]+)?$/ || x > 100) exit 1;
			printf "%.4f\n", x / 100 }'); then
		sim_err "loss: PERCENT must be a number 0..100"
		return 2
	fi
	if [ "$p" = 0.0000 ]; then
		sim_ipt_drop_chain "$h" "$SIM_CHAIN_LOSS" || return 1
		sim_say "loss on $h removed"
		return 0
	fi
	sim_ipt_has_chain "$h" "$SIM_CHAIN_LOSS" && new=0
	{
		printf '*filter\n:%s - [0:0]\n' "$SIM_CHAIN_LOSS"
		[ "$new" = 1 ] && printf -- '-I INPUT 1 -j %s\n' "$SIM_CHAIN_LOSS"
		printf -- '-A %s -i eth0 -m statistic --mode random --probability %s -j DROP\nCOMMIT\n' \
			"$SIM_CHAIN_LOSS" "$p"
	} | sim_nsenter "$SIM_PREFIX-$h" iptables-restore -w --noflush ||
		{ sim_err "loss: iptables in $h failed"; return 1; }
	sim_say "loss on $h: $pct% of incoming underlay packets dropped"
}

# ---- measuring -------------------------------------------------------------------------

# sim_ping_count FROM ADDR COUNT [INTERVAL]: print how many of COUNT echo requests sent
# from FROM's namespace (host, sw or container) got a reply. Bounded: COUNT*INTERVAL + 1 s.
sim_ping_count() {
	local from=$1 addr=$2 count=${3:-5} ival=${4:-0.2} ns out limit
	ns=$(sim_netns "$from") || return 1
	limit=$(awk -v c="$count" -v i="$ival" 'BEGIN { printf "%d\n", c * i + 5 }')
	out=$(timeout "$limit" nsenter --net="$SIM_NETNS_DIR/$ns" -- \
		ping -n -q -c "$count" -i "$ival" -W 1 "$addr" 2>&1)
	if [[ $out =~ ([0-9]+)\ received ]]; then
		printf '%s\n' "${BASH_REMATCH[1]}"
	else
		printf '0\n'
	fi
}

# ---- status ----------------------------------------------------------------------------

sim_status() {
	local h ns pid log addr state c owner rules cnt
	if ! sim_is_up; then
		if [ -d "$SIM_WORK" ]; then
			sim_say "cluster '$SIM_NAME': incomplete work dir $SIM_WORK (run down)"
		else
			sim_say "cluster '$SIM_NAME': not up"
		fi
		return 1
	fi
	sim_say "cluster '$SIM_NAME': $SIM_STATE, $SIM_N hosts, underlay $SIM_NET.0/24, agents: $SIM_MODE"
	sim_say "work dir $SIM_WORK, namespaces $SIM_PREFIX-*"
	ns=$SIM_PREFIX-sw
	sim_ns_exists "$ns" && state=ok || state=MISSING
	printf '%-5s %-15s %-22s %s\n' sw - "$ns" "$state"
	for h in $(sim_hosts); do
		ns=$SIM_PREFIX-$h
		addr=$SIM_NET.${h#h}
		log=$(sim_hostdir "$h")/agent.log
		if ! sim_ns_exists "$ns"; then
			state="namespace MISSING"
		elif pid=$(sim_agent_pid "$h"); then
			state="agent running, pid $pid, log $log"
		elif [ -f "$(sim_hostdir "$h")/agent.pid" ]; then
			state="agent EXITED, log $log: $(tail -n 1 "$log" 2>/dev/null)"
		elif [ -f "$log" ]; then
			state="agent stopped, log $log"
		else
			state="no agent"
		fi
		rules=
		if sim_ns_exists "$ns"; then
			cnt=$(sim_ipt "$h" -S "$SIM_CHAIN_PART" 2>/dev/null | grep -c -- '^-A') &&
				rules+=" partition-rules=$cnt"
			sim_ipt_has_chain "$h" "$SIM_CHAIN_LOSS" &&
				rules+=" loss=$(sim_ipt "$h" -S "$SIM_CHAIN_LOSS" 2>/dev/null |
					awk '{ for (i = 1; i < NF; i++) if ($i == "--probability") print $(i + 1) * 100 "%" }')"
		fi
		printf '%-5s %-15s %-22s %s%s\n' "$h" "$addr" "$ns" "$state" "$rules"
	done
	while read -r c owner; do
		[ -n "$c" ] || continue
		ns=$SIM_PREFIX-$c
		sim_ns_exists "$ns" && state="container on $owner" || state="container on $owner, namespace MISSING"
		printf '%-5s %-15s %-22s %s\n' "$c" - "$ns" "$state"
	done < <(sim_containers)
	return 0
}

# ---- down ------------------------------------------------------------------------------

# Kill every process whose network namespace is NS (all of them were started for the
# cluster: agents, tcpdumps, container processes), and wait (bounded) until they are gone.
sim_kill_ns_pids() {
	local ns=$1 pids pid
	sim_ns_exists "$ns" || return 0
	pids=$(ip netns pids "$ns" 2>/dev/null) || return 0
	[ -n "$pids" ] || return 0
	for pid in $pids; do kill -KILL "$pid" 2>/dev/null; done
	sim_wait_until 5 sim_ns_empty "$ns"
}

sim_ns_empty() { [ -z "$(ip netns pids "$1" 2>/dev/null)" ]; }

# Mount points at or below DIR, deepest first.
sim_mounts_under() {
	awk -v d="$1" '{ m = $5; gsub(/\\040/, " ", m); if (m == d || index(m, d "/") == 1) print m }' \
		/proc/self/mountinfo | sort -r
}

sim_down() {
	local h pid ns m rc=0 left
	if [ ! -e "$SIM_WORK" ]; then
		sim_say "no cluster '$SIM_NAME' (nothing to do)"
		return 0
	fi
	sim_need_root || return 1
	# Agents first (by pid file), then anything else still inside our namespaces.
	if [ -n "$SIM_PREFIX" ]; then
		for h in $(sim_hosts); do
			if pid=$(sim_agent_pid "$h"); then
				kill -KILL "$pid" 2>/dev/null
			fi
		done
		for ns in $(sim_list_ns); do
			sim_kill_ns_pids "$ns" || { sim_err "processes in $ns survived SIGKILL"; rc=1; }
		done
	fi
	# Sandbox namespaces the agents bind-mounted under their run dirs.
	for m in $(sim_mounts_under "$SIM_WORK"); do
		umount "$m" 2>/dev/null || umount -l "$m" 2>/dev/null || { sim_err "cannot unmount $m"; rc=1; }
	done
	for ns in $(sim_list_ns); do
		ip netns del "$ns" 2>/dev/null || { sim_err "cannot delete namespace $ns"; rc=1; }
	done
	if [ -n "$(sim_mounts_under "$SIM_WORK")" ]; then
		sim_err "mounts left under $SIM_WORK; not removing it"
		return 1
	fi
	rm -rf --one-file-system "$SIM_WORK" || rc=1
	rmdir "$OVG_SIM_ROOT" 2>/dev/null
	left=$(sim_list_ns | tr '\n' ' ')
	if [ -n "$left" ]; then
		sim_err "namespaces left: $left"
		rc=1
	fi
	[ "$rc" = 0 ] && sim_say "cluster '$SIM_NAME' down"
	return "$rc"
}
