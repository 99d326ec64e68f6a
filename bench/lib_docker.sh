# shellcheck shell=bash
# bench/lib_docker.sh: a Docker 20.10 swarm on a simulations/lib.sh underlay, for benchmarks.
#
# Source simulations/lib.sh first, select a cluster with sim_use, then:
#   dk_up N               sim_up N --no-agents; one dockerd (with its own containerd) per
#                         host namespace; swarm init on h1, join h2..hN as workers; the
#                         busybox image imported everywhere; overlay network $DK_NET
#   dk_down               containers, daemons, cgroups, mounts, namespaces, dirs; then sim_down
#   dk HOST ARGS...       /usr/bin/docker against HOST's daemon (bounded)
#   dk_run HOST NAME [IP] a busybox container on $DK_NET (docker run -d), prints its id
#   dk_container_ns HOST NAME    its network namespace as a path (/proc/PID/ns/net)
#   dk_sandbox HOST       the sandbox namespace of $DK_NET on HOST (EXEC_ROOT/netns/1-<id>)
#   dk_dockerd_pid HOST, dk_containerd_pid HOST
#
# Layout (per host, under the cluster's work dir, so sim_down removes what is left):
#   hosts/hN/docker/daemon.json       --config-file (the trust key path is in there)
#   hosts/hN/docker/{data,x}          --data-root, --exec-root (sandboxes under x/netns)
#   hosts/hN/docker/docker.sock, launch.pid, dockerd.pid, dockerd.log
# Daemons run with --iptables=false, --ip-forward=false, --bridge=none: Docker touches no
# netfilter table, not even inside the host namespaces (so byte counters there are ours).
# Containers go in cgroups under /ovgdk-PREFIX-hN (--cgroup-parent), which dk_down empties
# and removes. Outside the work dir, dockerd and its containerd create /run/docker/plugins,
# /opt/containerd/{bin,lib} and /run/containerd/s (empty dirs); dk_down removes those it
# finds empty that did not exist before the first dk_up, once no dockerd or containerd
# runs on the machine any more.
#
# Functions return nonzero with a one-line "docker: ..." message on stderr; they never exit.

: "${DK_DOCKERD:=/usr/sbin/dockerd}"
: "${DK_DOCKER:=/usr/bin/docker}"
: "${DK_BUSYBOX:=/bin/busybox}"
: "${DK_NET:=ovnet}"
: "${DK_SUBNET:=10.10.0.0/24}"
: "${DK_IMAGE:=ovgbench/busybox:1}"
# Seconds one docker client call may take.
: "${DK_CLI_TIMEOUT:=60}"
DK_SWARM_PORT=2377
DK_OUTSIDE_DIRS="/run/docker/plugins /run/docker /opt/containerd/bin /opt/containerd/lib /opt/containerd /run/containerd/s /run/containerd"
# Outside dirs that existed before our first dockerd started (never removed).
DK_OUTSIDE_PRE=

dk_err() { printf 'docker: %s\n' "$*" >&2; }

dk_dir() { printf '%s/docker\n' "$(sim_hostdir "$1")"; }
dk_sock() { printf '%s/docker.sock\n' "$(dk_dir "$1")"; }
dk_cgparent() { printf 'ovgdk-%s-%s\n' "$SIM_PREFIX" "$1"; }

# True if the Debian packages are there: dockerd, the client, containerd, runc, busybox.
dk_installed() {
	[ -x "$DK_DOCKERD" ] && [ -x "$DK_DOCKER" ] && command -v containerd >/dev/null 2>&1 &&
		command -v runc >/dev/null 2>&1 && [ -x "$DK_BUSYBOX" ] &&
		"$DK_BUSYBOX" --list 2>/dev/null | grep -qx sleep
}

dk_version() { "$DK_DOCKERD" --version 2>/dev/null | head -n 1; }

# dk HOST ARGS...: the docker client against HOST's daemon, bounded by DK_CLI_TIMEOUT.
dk() {
	local h=$1 d rc
	shift
	d=$(dk_dir "$h")
	DOCKER_CONFIG=$d/cli timeout "$DK_CLI_TIMEOUT" "$DK_DOCKER" -H "unix://$d/docker.sock" "$@"
	rc=$?
	[ "$rc" = 124 ] && dk_err "'docker $*' on $h timed out after $DK_CLI_TIMEOUT s"
	return "$rc"
}

dk_answers() { dk "$1" version >/dev/null 2>&1; }

dk_pidfile_pid() {
	local pid
	[ -f "$1" ] || return 1
	pid=$(cat "$1" 2>/dev/null) || return 1
	[[ $pid =~ ^[0-9]+$ ]] || return 1
	printf '%s\n' "$pid"
}

# The pid of HOST's dockerd while it runs in HOST's namespace.
dk_dockerd_pid() {
	local pid
	pid=$(dk_pidfile_pid "$(dk_dir "$1")/launch.pid") || return 1
	sim_pid_in_ns "$pid" "$SIM_PREFIX-$1" || return 1
	printf '%s\n' "$pid"
}

# The containerd dockerd started for HOST (it writes its pid under the exec-root).
dk_containerd_pid() {
	local pid
	pid=$(dk_pidfile_pid "$(dk_dir "$1")/x/containerd/containerd.pid") || return 1
	sim_pid_in_ns "$pid" "$SIM_PREFIX-$1" || return 1
	printf '%s\n' "$pid"
}

dk_dockerd_running() { dk_dockerd_pid "$1" >/dev/null; }

dk_ready_or_dead() {
	dk_answers "$1" && return 0
	dk_dockerd_running "$1" || return 0
	return 1
}

dk_log_tail() {
	dk_err "dockerd log $(dk_dir "$1")/dockerd.log (last lines):"
	grep -v '\[core\]' "$(dk_dir "$1")/dockerd.log" 2>/dev/null | tail -n "${2:-12}" |
		cut -c1-240 | sed 's/^/    /' >&2
}

dk_note_outside() {
	local p
	[ -n "$DK_OUTSIDE_PRE" ] && return 0
	DK_OUTSIDE_PRE=' '
	for p in $DK_OUTSIDE_DIRS; do
		[ -e "$p" ] && DK_OUTSIDE_PRE+="$p "
	done
}

# dk_launch HOST: start dockerd in HOST's namespace (own UTS namespace, hostname HOST).
# nsenter --net keeps our mount namespace, so /sys and the cgroup mounts stay as they are
# (ip netns exec would remount /sys) and the sandboxes dockerd mounts are visible here.
dk_launch() {
	local h=$1 d ns pid
	d=$(dk_dir "$h")
	ns=$SIM_PREFIX-$h
	mkdir -p "$d/cli" || return 1
	printf '{ "deprecated-key-path": "%s/key.json" }\n' "$d" >"$d/daemon.json" || return 1
	rm -f "$d/launch.pid" "$d/dockerd.pid"
	printf '=== %s bench: starting dockerd for %s\n' "$(date '+%F %T')" "$h" >>"$d/dockerd.log"
	# The inner shells keep one pid from bash to dockerd (exec all the way), so the pid in
	# launch.pid is dockerd's (dockerd refuses to start if its own --pidfile names a
	# running process, hence two files).
	# shellcheck disable=SC2016
	setsid -f bash -c 'cd / && echo $$ >"$1.tmp" && mv -f "$1.tmp" "$1" && shift &&
		exec nsenter --net="$@"' _ "$d/launch.pid" "$SIM_NETNS_DIR/$ns" -- \
		unshare --uts -- bash -c 'hostname "$1" && shift && exec "$@"' _ "$h" \
		"$DK_DOCKERD" --config-file "$d/daemon.json" --data-root "$d/data" \
		--exec-root "$d/x" --pidfile "$d/dockerd.pid" -H "unix://$d/docker.sock" \
		--iptables=false --ip-forward=false --ip-masq=false --bridge=none \
		--userland-proxy=false --exec-opt native.cgroupdriver=cgroupfs \
		--cgroup-parent="/$(dk_cgparent "$h")" ${DK_STORAGE_DRIVER:+--storage-driver "$DK_STORAGE_DRIVER"} \
		</dev/null >>"$d/dockerd.log" 2>&1
	if ! sim_wait_until 5 test -s "$d/launch.pid"; then
		dk_err "dockerd on $h did not start"
		return 1
	fi
	pid=$(cat "$d/launch.pid")
	if ! sim_wait_until 5 sim_pid_settled "$pid" "$ns" || ! sim_pid_in_ns "$pid" "$ns"; then
		dk_err "dockerd on $h (pid $pid) exited at start"
		dk_log_tail "$h"
		return 1
	fi
}

dk_wait_ready() {
	local h=$1
	if ! sim_wait_until "${2:-60}" dk_ready_or_dead "$h" || ! dk_answers "$h"; then
		dk_err "dockerd on $h does not answer on $(dk_sock "$h")"
		dk_log_tail "$h"
		return 1
	fi
}

# A tarball holding /bin/busybox and links for the applets we use.
dk_image_tar() {
	local out=$1 root a
	root=$(dirname "$out")/rootfs
	rm -rf "$root" && mkdir -p "$root/bin" "$root/tmp" || return 1
	cp "$DK_BUSYBOX" "$root/bin/busybox" || return 1
	for a in sh sleep ip ping cat ls ps; do ln -s busybox "$root/bin/$a" || return 1; done
	tar -C "$root" -cf "$out" . || return 1
	rm -rf "$root"
}

# dk_up N: the underlay (sim_up N --no-agents), daemons, swarm, image and overlay network.
dk_up() {
	local n=$1 h i tok tar errs
	dk_installed || {
		dk_err "needs Debian's docker.io, containerd, runc and busybox-static"
		return 1
	}
	sim_up "$n" --no-agents >/dev/null || return 1
	dk_note_outside
	for h in $(sim_hosts); do dk_launch "$h" || return 1; done
	for h in $(sim_hosts); do dk_wait_ready "$h" 90 || return 1; done

	dk h1 swarm init --advertise-addr "$(sim_addr h1)" \
		--listen-addr "$(sim_addr h1):$DK_SWARM_PORT" >/dev/null || {
		dk_err "swarm init on h1 failed"
		return 1
	}
	tok=$(dk h1 swarm join-token -q worker) || return 1
	for ((i = 2; i <= SIM_N; i++)); do
		dk "h$i" swarm join --advertise-addr "$(sim_addr "h$i")" \
			--listen-addr "$(sim_addr "h$i"):$DK_SWARM_PORT" --token "$tok" \
			"$(sim_addr h1):$DK_SWARM_PORT" >/dev/null || {
			dk_err "swarm join of h$i failed"
			return 1
		}
	done
	if ! sim_wait_until 60 dk_all_nodes_ready; then
		dk_err "swarm nodes not all Ready: $(dk h1 node ls --format '{{.Hostname}}={{.Status}}' | tr '\n' ' ')"
		return 1
	fi

	tar=$SIM_WORK/busybox.tar
	dk_image_tar "$tar" || { dk_err "building the busybox tarball failed"; return 1; }
	errs=0
	for h in $(sim_hosts); do
		dk "$h" import "$tar" "$DK_IMAGE" >/dev/null || { dk_err "docker import on $h failed"; errs=1; }
	done
	[ "$errs" = 0 ] || return 1
	dk h1 network create -d overlay --attachable --subnet "$DK_SUBNET" "$DK_NET" >/dev/null || {
		dk_err "network create $DK_NET failed"
		return 1
	}
}

dk_all_nodes_ready() {
	local st
	st=$(dk h1 node ls --format '{{.Status}}' 2>/dev/null) || return 1
	[ "$(grep -c '^Ready$' <<<"$st")" = "$SIM_N" ]
}

# dk_run HOST NAME [IP]: `docker run -d` a sleeping busybox on $DK_NET; prints the id.
dk_run() {
	local h=$1 name=$2 ip=${3:-}
	dk "$h" run -d --name "$name" --network "$DK_NET" ${ip:+--ip "$ip"} "$DK_IMAGE" \
		sleep 100000000
}

dk_container_ip() {
	dk "$1" inspect -f "{{(index .NetworkSettings.Networks \"$DK_NET\").IPAddress}}" "$2"
}

# dk_container_ns HOST NAME: /proc/PID/ns/net of the container's process.
dk_container_ns() {
	local pid
	pid=$(dk "$1" inspect -f '{{.State.Pid}}' "$2") || return 1
	if [[ ! $pid =~ ^[1-9][0-9]*$ ]]; then
		dk_err "container $2 on $1 has no process"
		return 1
	fi
	printf '/proc/%s/ns/net\n' "$pid"
}

# dk_sandbox HOST: the network's sandbox on HOST (exists while HOST has an endpoint on it).
dk_sandbox() {
	local id p
	id=$(dk "$1" network inspect -f '{{.Id}}' "$DK_NET") || return 1
	p=$(dk_dir "$1")/x/netns/1-${id:0:10}
	if [ ! -e "$p" ]; then
		dk_err "no sandbox $p on $1"
		return 1
	fi
	printf '%s\n' "$p"
}

# ---- down ------------------------------------------------------------------------------

dk_cgroup_dirs() {
	local h=$1 cg
	cg=$(dk_cgparent "$h")
	for d in /sys/fs/cgroup/*/"$cg" /sys/fs/cgroup/"$cg"; do
		[ -d "$d" ] && printf '%s\n' "$d"
	done
	return 0
}

# Pids in HOST's container cgroups (any hierarchy, any depth).
dk_cgroup_pids() {
	local d
	for d in $(dk_cgroup_dirs "$1"); do
		find "$d" -name cgroup.procs -exec cat {} + 2>/dev/null
	done | sort -u
}

dk_cgroups_empty() { [ -z "$(dk_cgroup_pids "$1")" ]; }

# Kill what is left in HOST's container cgroups, then remove them (deepest first).
dk_cgroups_remove() {
	local h=$1 pid d rc=0
	for pid in $(dk_cgroup_pids "$h"); do kill -KILL "$pid" 2>/dev/null; done
	sim_wait_until 10 dk_cgroups_empty "$h" || { dk_err "processes left in cgroups of $h"; rc=1; }
	for d in $(dk_cgroup_dirs "$h"); do
		find "$d" -depth -type d -exec rmdir {} + 2>/dev/null
		[ -d "$d" ] && { dk_err "cannot remove cgroup $d"; rc=1; }
	done
	return "$rc"
}

dk_dockerd_gone() { ! dk_dockerd_running "$1"; }

# Stop HOST's daemon: remove its containers, SIGTERM (it stops its containerd and unmounts
# its sandboxes), SIGKILL after 20 s.
dk_stop() {
	local h=$1 ids pid
	if pid=$(dk_dockerd_pid "$h"); then
		if dk_answers "$h"; then
			ids=$(DK_CLI_TIMEOUT=10 dk "$h" ps -aq 2>/dev/null)
			# shellcheck disable=SC2086
			[ -n "$ids" ] && DK_CLI_TIMEOUT=30 dk "$h" rm -f $ids >/dev/null 2>&1
		fi
		kill -TERM "$pid" 2>/dev/null
		if ! sim_wait_until 20 dk_dockerd_gone "$h"; then
			dk_err "dockerd on $h ignored SIGTERM for 20 s; killing it"
			kill -KILL "$pid" 2>/dev/null
			sim_wait_until 5 dk_dockerd_gone "$h"
		fi
	fi
	dk_cgroups_remove "$h"
}

dk_machine_has() {
	local p exe
	for p in /proc/[0-9]*; do
		exe=$(readlink "$p/exe" 2>/dev/null) || continue
		case $exe in "$1" | "$1 (deleted)") return 0 ;; esac
	done
	return 1
}

# Remove the empty outside dirs our daemons created (see the header).
dk_outside_cleanup() {
	local p
	[ -n "$DK_OUTSIDE_PRE" ] || return 0
	dk_machine_has "$DK_DOCKERD" && return 0
	dk_machine_has "$(command -v containerd)" && return 0
	for p in $DK_OUTSIDE_DIRS; do
		[[ $DK_OUTSIDE_PRE == *" $p "* ]] && continue
		[ -d "$p" ] && rmdir "$p" 2>/dev/null
	done
	return 0
}

# dk_down: everything of the selected cluster, Docker's parts first, then sim_down.
dk_down() {
	local h rc=0
	[ -e "$SIM_WORK" ] || return 0
	if [ -n "$SIM_PREFIX" ]; then
		for h in $(sim_hosts); do
			[ -d "$(dk_dir "$h")" ] || continue
			dk_stop "$h" || rc=1
		done
	fi
	sim_down >/dev/null || rc=1
	dk_outside_cleanup
	return "$rc"
}
