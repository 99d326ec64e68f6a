# shellcheck shell=bash
# tests/netns/lib_check.sh: the data-plane checker for clusters made with simulations/lib.sh.
#
# Source simulations/lib.sh, select a cluster (sim_use), then source this file.
#
#   chk_once                 one pass over the cluster; 0 if everything matches, else 1
#                            with the differences in CHK_DIFF (one line each)
#   chk_wait [SECONDS]       chk_once every 0.3 s until it passes (0) or SECONDS pass (1,
#                            the last differences printed on stderr); default CHK_TIMEOUT
#                            or 20
#   chk_invariants           guarantees 2 and 3 as every running agent sees them right now
#                            (valid at any time, also mid-churn or partitioned): in every
#                            network no two live endpoints share an IP or a name; no two
#                            networks share a name; no two usable networks share a VNI.
#                            0 or 1 with CHK_DIFF
#   chk_summary              one line: hosts, networks, endpoints, kernel entries checked
#                            by the last passing chk_once (CHK_LAST_MS: how long it took)
#   chk_collect, chk_compare the two halves of chk_once (collect files, compare them)
#   chk_sandbox_dump PATH    a sandbox's VNI, FDB and neighbors as chk_once compares them
#
# What chk_once compares (the running agents are the hosts whose agent process runs):
#   1. membership: every running agent reports exactly the running agents alive (plus
#      CHK_EXTRA_ALIVE, names of members that are not hosts of the cluster, e.g. serf);
#   2. `network ls --format json` is the same on every running agent;
#   3. `network inspect` of every network lists the same endpoints on every running agent;
#   4. on every running host and every usable network: the sandbox (path from that
#      host's `network inspect`) exists iff the host has local endpoints there, and is
#      <run-dir>/netns/<id12>; in it vxlan0 carries the network's VNI,
#      `bridge fdb show dev vxlan0` has exactly one `self permanent` entry
#      MAC dst UNDERLAY for every endpoint of that network owned by another alive node
#      (MAC 02:42:<ip octets>, UNDERLAY the owner host's address) and no other `self`
#      entry, and `ip neigh show dev vxlan0` is exactly `IP lladdr MAC PERMANENT` for the
#      same endpoints; unusable networks (VNI conflict) have no sandbox anywhere;
#   5. every local endpoint of a running host is an interface with its IP/prefix and MAC
#      in the container whose name is the endpoint's (raw) name, or with no such
#      container, in some container of that host; and no container of a running host
#      has an interface (other than lo) that is no live local endpoint.
#
# Each pass collects from all running hosts in parallel (one background job per host) into
# a temporary directory, then compares with one jq and one awk run.
# Requires jq, ip, bridge, nsenter.

CHK_DIFF=()
CHK_LAST_SUMMARY=
CHK_LAST_MS=0
CHK_EXTRA_ALIVE=${CHK_EXTRA_ALIVE:-}

chk_bad() { CHK_DIFF+=("$*"); }

# Normalizing what the kernel shows (mawk-compatible awk). Input: sections introduced
# by marker lines
#   @@sb HOST ID    in a sandbox: `ip -d -j link show dev vxlan0`, "@@neigh",
#                   `ip neigh show dev vxlan0`, "@@fdb", `bridge fdb show dev vxlan0`
#   @@c HOST NAME   in a container: `ip -br -batch` of "link show" and "addr show"
# (JSON and -br because plain `ip link` looks up the name of every namespace in /run/netns
# for link-netnsid, which is slow with hundreds of them.)
# sb_rec() turns one sandbox line into "vni N", "fdb MAC dst ADDR FLAGS..." (only "self"
# entries; "permanent" is a flag) or "neigh IP lladdr MAC STATE", or "" to skip.
CHK_AWK_NORM='
function sb_rec(   i, self, dst, fl, v) {
	if ($0 == "@@neigh") { sbsec = "neigh"; return "" }
	if ($0 == "@@fdb") { sbsec = "fdb"; return "" }
	if (sbsec == "link") {
		if (!match($0, /"info_kind":"vxlan","info_data":\{"id":[0-9]+/)) return ""
		v = substr($0, RSTART, RLENGTH); sub(/.*:/, "", v)
		return "vni " v
	}
	if (sbsec == "neigh") {
		if (NF == 0) return ""
		$1 = $1
		return "neigh " $0
	}
	self = 0; dst = "-"; fl = ""
	for (i = 2; i <= NF; i++) {
		if ($i == "self") self = 1
		else if ($i == "dst") { dst = $(i + 1); i++ }
		else if ($i == "link-netnsid" || $i == "master" || $i == "vlan" || $i == "port" || $i == "vni" || $i == "via" || $i == "src_vni" || $i == "nhid") i++
		else fl = fl " " $i
	}
	return self ? "fdb " $1 " dst " dst fl : ""
}
# one container line: remembers links (name -> MAC) and their IPv4 addresses
function if_rec(   k, i) {
	if (NF < 2) return
	k = $1; sub(/@.*/, "", k); k = cur SUBSEP k
	if (NF >= 4 && $3 ~ /^[0-9a-f][0-9a-f](:[0-9a-f][0-9a-f])+$/ && $4 ~ /^</) {
		if (!(k in ifmac)) iforder[++nifo] = k
		ifmac[k] = $3
		return
	}
	for (i = 3; i <= NF; i++) if ($i ~ /^[0-9]+\.[0-9]+\.[0-9]+\.[0-9]+\//) ifaddr[k] = ifaddr[k] " " $i
}'

CHK_SB_CMD='ip -d -j link show dev vxlan0 && echo && echo @@neigh && ip neigh show dev vxlan0 &&
	echo @@fdb && bridge fdb show dev vxlan0'

# chk_sandbox_dump PATH: a sandbox's vxlan0 VNI, self FDB entries and neighbors, normalized
# as chk_once compares them (for diagnostics).
chk_sandbox_dump() {
	local out
	out=$(nsenter --net="$1" -- sh -c "$CHK_SB_CMD" 2>&1) || { printf '%s\n' "$out" >&2; return 1; }
	awk "$CHK_AWK_NORM"'
		BEGIN { sbsec = "link" }
		{ r = sb_rec(); if (r != "") print r }' <<<"$out"
}

# chk_collect HOST DIR CONTAINER...: what chk_once needs from one host, in files of DIR:
#   HOST.m, HOST.l     members, network ls (JSON)
#   HOST.i.ID          network inspect of every network HOST lists
#   HOST.raw           "@@sb HOST ID" sections for the sandboxes inspect shows, "@@c HOST
#                      NAME" sections for the containers, "@@path HOST ID" lines for the IDs
#                      whose <run-dir>/netns/<id12> exists (see CHK_AWK_NORM)
#   HOST.err           what failed, one line each
# Few processes on purpose: the JSON is scanned with bash regexes.
chk_collect() {
	local h=$1 d=$2 id sb out c nsdir re ids=() sbs=()
	shift 2
	if ! out=$(sim_ovg "$h" members --format json 2>&1); then
		printf '%s: members failed: %s\n' "$h" "$out" >>"$d/$h.err"
		return 1
	fi
	printf '%s\n' "$out" >"$d/$h.m"
	if ! out=$(sim_ovg "$h" network ls --format json 2>&1); then
		printf '%s: network ls failed: %s\n' "$h" "$out" >>"$d/$h.err"
		return 1
	fi
	printf '%s\n' "$out" >"$d/$h.l"
	re='"id": *"([0-9a-f]{32})"'
	while [[ $out =~ $re ]]; do
		ids+=("${BASH_REMATCH[1]}")
		out=${out#*"${BASH_REMATCH[0]}"}
	done
	re='"sandbox": *"([^"]*)"'
	for id in "${ids[@]}"; do
		if ! out=$(sim_ovg "$h" network inspect "$id" 2>&1); then
			printf '%s: network inspect %s failed: %s\n' "$h" "$id" "$out" >>"$d/$h.err"
			return 1
		fi
		printf '%s\n' "$out" >"$d/$h.i.$id"
		[[ $out =~ $re ]] && [ -n "${BASH_REMATCH[1]}" ] && sbs+=("$id ${BASH_REMATCH[1]}")
	done
	nsdir=$(sim_hostdir "$h")/run/netns
	{
		for id in "${ids[@]}"; do
			[ -e "$nsdir/${id:0:12}" ] && printf '@@path %s %s\n' "$h" "$id"
		done
		for sb in "${sbs[@]}"; do
			id=${sb%% *} sb=${sb#* }
			if ! out=$(nsenter --net="$sb" -- sh -c "$CHK_SB_CMD" 2>&1); then
				printf '%s: cannot read sandbox %s of %s: %s\n' "$h" "$sb" "$id" "$(tr '\n' ' ' <<<"$out")" >>"$d/$h.err"
				continue
			fi
			printf '@@sb %s %s\n%s\n' "$h" "$id" "$out"
		done
		for c in "$@"; do
			if ! out=$(printf 'link show\naddr show\n' |
				nsenter --net="$SIM_NETNS_DIR/$SIM_PREFIX-$c" -- ip -br -batch - 2>&1); then
				printf '%s container %s: cannot list its interfaces: %s\n' "$h" "$c" "$(tr '\n' ' ' <<<"$out")" >>"$d/$h.err"
				continue
			fi
			printf '@@c %s %s\n%s\n' "$h" "$c" "$out"
		done
	} >"$d/$h.raw"
	return 0
}

# The invariants as jq functions: inv_ls on a `network ls` array, inv_eps on a `network
# inspect` object; each yields one message per violation.
CHK_JQ_INV='
def inv_ls:
	(group_by(.name)[] | select(length > 1) | "network name \(.[0].name) held by \([.[].id[0:12]] | join(","))"),
	([.[] | select(.usable != false)] | group_by(.vni)[] | select(length > 1) |
		"VNI \(.[0].vni) held by usable networks \([.[].id[0:12]] | join(","))");
def inv_eps:
	.name as $n |
	(.endpoints | group_by(.ip)[] | select(length > 1) |
		"network \($n): IP \(.[0].ip) held by \([.[] | "\(.name)@\(.node)"] | join(", "))"),
	(.endpoints | group_by(.name)[] | select(length > 1) |
		"network \($n): name \(.[0].name) held by endpoints on \([.[].node] | join(", "))");
'

# The agents' answers compared, in one jq run over the files chk_collect wrote (HOST.m,
# HOST.l, HOST.i.ID). Prints tab-separated
#   BAD   MESSAGE                        a disagreement between agents (kernel not checked)
#   SB    HOST ID LABEL SANDBOX          HOST must hold a sandbox for ID (SANDBOX: shown)
#   NOSB  HOST ID LABEL SANDBOX          HOST must not
#   EXP   HOST ID LINE                   a line chk_sandbox_dump must print for ID on HOST
#   IF    HOST NAME ADDR/PREFIX MAC      a local endpoint's interface (NAME: raw name)
#   SUM   TEXT
CHK_JQ=$CHK_JQ_INV'
def eps: .endpoints | sort_by(.ip);
def ul($h; $o):
	if ($o | test("^h[1-9][0-9]*$")) and (($o[1:] | tonumber) <= ($nhosts | tonumber))
	then "\($net).\($o[1:])"
	else ([.hosts[$h].m[] | select(.name == $o) | .addr | sub(":[0-9]+$"; "")] | first // "?")
	end;
reduce inputs as $x ({hosts: {}};
	(input_filename | split("/") | last | capture("^(?<h>[^.]+)\\.(?<k>[mli])(\\.(?<id>.*))?$")) as $p |
	if $p.k == "i" then .hosts[$p.h].i[$p.id] = $x else .hosts[$p.h][$p.k] = $x end) |
. as $top | .hosts as $H | ($H | keys) as $run | $run[0] as $h0 |
($alive | split(" ") | map(select(. != "")) | sort) as $want |
( $run[] as $h | ($H[$h].l // []) | inv_ls | "BAD\t\($h): invariant: \(.)" ),
( $run[] as $h | ($H[$h].i // {})[] | inv_eps | "BAD\t\($h): invariant: \(.)" ),
([ $run[] as $h | ($H[$h].m | map(select(.status == "alive") | .name) | sort) as $a |
  select($a != $want) |
  "BAD\t\($h): members alive: [\($a | join(" "))], want [\($want | join(" "))] (others: \([$H[$h].m[] | select(.status != "alive") | "\(.name)=\(.status)"] | join(" ") | if . == "" then "none" else . end))"
] as $b1 |
if ($b1 | length) > 0 then $b1[] else
($H[$h0].l | sort_by(.id)) as $nets |
[ $run[] as $h | ($H[$h].l | sort_by(.id)) as $x | select($x != $nets) |
  "BAD\tnetwork ls on \($h) differs from \($h0)'"'"'s: only on \($h0): \($nets - $x | map(tojson) | join(" ")); only on \($h): \($x - $nets | map(tojson) | join(" "))"
] as $b2 |
if ($b2 | length) > 0 then $b2[] else
[ $nets[] as $n | ($H[$h0].i[$n.id] | eps) as $y | $run[] as $h | $H[$h].i[$n.id] as $xi |
  if $xi == null then "BAD\t\($h): no network inspect of \($n.id)"
  else ($xi | eps) as $x | select($x != $y) |
    "BAD\tnetwork \($n.name) (\($n.id[0:12])): endpoints on \($h) differ from \($h0)'"'"'s: only on \($h0): \($y - $x | map(tojson) | join(" ")); only on \($h): \($x - $y | map(tojson) | join(" "))"
  end
] as $b3 |
if ($b3 | length) > 0 then $b3[] else
( $nets[] as $n | $run[] as $h | $H[$h].i[$n.id] as $x |
  ([$x.endpoints[] | select(.node == $h)]) as $loc |
  "\($h) net \($n.name) (\($n.id[0:12]))" as $lbl |
  if $n.usable == false or ($loc | length) == 0 then
    "NOSB\t\($h)\t\($n.id)\t\($lbl) (usable=\($n.usable != false), local endpoints \($loc | length))\t\($x.sandbox // "")"
  else
    "SB\t\($h)\t\($n.id)\t\($lbl)\t\($x.sandbox // "")",
    "EXP\t\($h)\t\($n.id)\tvni \($x.vni)",
    ( $x.endpoints[] | select(.node != $h) | . as $e | select(any($want[]; . == $e.node)) |
      ($top | ul($h; $e.node)) as $dst |
      "EXP\t\($h)\t\($n.id)\tfdb \($e.mac) dst \($dst) permanent",
      "EXP\t\($h)\t\($n.id)\tneigh \($e.ip) lladdr \($e.mac) PERMANENT" ),
    ( $loc[] | "IF\t\($h)\t\(.name | if endswith("@" + $h) then .[0:length - ($h | length) - 1] else . end)\t\(.ip)/\(.prefix) \(.mac)" )
  end ),
  "SUM\t\($run | length) agents agree on \($nets | length) networks and \([$nets[] as $n | $H[$h0].i[$n.id].endpoints | length] | add // 0) endpoints"
end end end)'

# The kernel compared with the expectations: the jq output (file "exp"), then every
# HOST.sb.ID, HOST.paths and HOST.if. Prints "D<TAB>difference" lines and one
# "N<TAB>entries<TAB>interfaces" line with what matched.
CHK_AWK=$CHK_AWK_NORM'
BEGIN { FS = "\t" }
FNR == 1 { f = FILENAME; sub(/.*\//, "", f); sec = "" }
f == "exp" {
	if ($1 == "SB" || $1 == "NOSB") { k = $2 SUBSEP $3; kind[k] = $1; lbl[k] = $4; shown[k] = $5; order[++nk] = k }
	else if ($1 == "EXP") ex[$2 SUBSEP $3 SUBSEP $4]++
	else if ($1 == "IF") ifw[++ni] = $2 FS $3 FS $4
	next
}
/^@@path / { split($0, w, " "); exists[w[2] SUBSEP w[3]] = 1; next }
/^@@sb / { split($0, w, " "); sec = "sb"; sbsec = "link"; sk = w[2] SUBSEP w[3]; rd[sk] = 1; next }
/^@@c / { split($0, w, " "); sec = "c"; cur = w[3]; host[cur] = w[2]; next }
sec == "sb" { FS = " "; $0 = $0; r = sb_rec(); FS = "\t"; if (r != "") act[sk SUBSEP r]++; next }
sec == "c" { FS = " "; $0 = $0; if_rec(); FS = "\t"; next }
END {
	for (i = 1; i <= nk; i++) {
		k = order[i]; split(k, p, SUBSEP)
		want = work "/hosts/" p[1] "/run/netns/" substr(p[2], 1, 12)
		if (kind[k] == "NOSB") {
			if (shown[k] != "") print "D\t" lbl[k] ": sandbox " shown[k] " shown, but there should be none"
			if (k in exists) print "D\t" lbl[k] ": " want " exists, but there should be no sandbox"
			continue
		}
		if (shown[k] == "") { print "D\t" lbl[k] ": no sandbox shown, but the host has local endpoints"; continue }
		if (shown[k] != want) print "D\t" lbl[k] ": sandbox " shown[k] ", want " want
		if (!(k in rd)) { print "D\t" lbl[k] ": sandbox " shown[k] " was not read"; continue }
		checked[k] = 1
	}
	nent = 0
	for (e in ex) {
		split(e, p, SUBSEP); k = p[1] SUBSEP p[2]
		if (!(k in checked)) continue
		if (!(e in act)) print "D\t" lbl[k] ": missing: " p[3]
		else if (act[e] > ex[e]) print "D\t" lbl[k] ": duplicate: " p[3]
		else nent++
	}
	for (a in act) {
		split(a, p, SUBSEP); k = p[1] SUBSEP p[2]
		if ((k in checked) && !(a in ex)) print "D\t" lbl[k] ": extra: " p[3]
	}
	# interfaces: in the container named like the endpoint, else in any container of its host
	for (i = 1; i <= ni; i++) {
		split(ifw[i], p, FS); h = p[1]; c = p[2]
		if (!(c in host) && index(c, prefix "-") == 1) c = substr(c, length(prefix) + 2)
		if ((c in host) && host[c] == h) want2[c SUBSEP p[3]]++
		else anywhere[h SUBSEP p[3]]++
	}
	na = 0
	for (i = 1; i <= nifo; i++) {
		split(iforder[i], p, SUBSEP)
		if (p[2] == "lo") continue
		if (ifaddr[iforder[i]] == "") { ifa[++na] = p[1] FS "- " ifmac[iforder[i]] " (" p[2] " without IPv4)"; continue }
		nw = split(ifaddr[iforder[i]], w, " ")
		for (j = 1; j <= nw; j++) ifa[++na] = p[1] FS w[j] " " ifmac[iforder[i]]
	}
	nif = 0
	for (i = 1; i <= na; i++) {
		split(ifa[i], p, FS); c = p[1]; v = p[2]; h = host[c]
		if (++seen[c SUBSEP v] > 1) { print "D\t" h " container " c ": duplicate interface " v; continue }
		if ((c SUBSEP v) in want2) { got[c SUBSEP v] = 1; nif++; continue }
		if (anywhere[h SUBSEP v] > 0) { anywhere[h SUBSEP v]--; nif++; continue }
		print "D\t" h " container " c ": interface " v " is no live local endpoint"
	}
	for (k in want2) if (!(k in got)) { split(k, p, SUBSEP); print "D\t" host[p[1]] " container " p[1] ": missing interface " p[2] }
	for (k in anywhere) if (anywhere[k] > 0) { split(k, p, SUBSEP); print "D\t" p[1] ": no container has the interface " p[2] " of a local endpoint" }
	print "N\t" nent "\t" nif
}'

# chk_files DIR GLOB: the files matching DIR/GLOB, one a line (none: nothing).
chk_files() {
	local f
	for f in "$1"/$2; do [ -e "$f" ] && printf '%s\n' "$f"; done
	return 0
}

# chk_compare DIR ALIVE: compare what chk_collect wrote into DIR (errors in *.err, agents'
# answers, kernel state), ALIVE being the names that must be alive (space separated).
# Uses SIM_NET, SIM_N, SIM_WORK, SIM_PREFIX of the selected cluster. Appends to CHK_DIFF;
# 0 if nothing differs. Sets CHK_LAST_SUMMARY when it passes.
chk_compare() {
	local d=$1 alive=$2 out kind a b summary='' nent=0 nif=0 n0=${#CHK_DIFF[@]}
	local -a files=()
	while IFS= read -r out; do
		[ -n "$out" ] && chk_bad "$out"
	done < <(cat "$d"/*.err 2>/dev/null)
	[ "${#CHK_DIFF[@]}" -eq "$n0" ] || return 1
	mapfile -t files < <(chk_files "$d" '*.m'; chk_files "$d" '*.l'; chk_files "$d" '*.i.*')
	if [ "${#files[@]}" -eq 0 ]; then
		chk_bad "nothing collected in $d"
		return 1
	fi
	if ! jq -n -r --arg alive "$alive" --arg net "$SIM_NET" --arg nhosts "$SIM_N" "$CHK_JQ" \
		"${files[@]}" >"$d/exp" 2>&1; then
		chk_bad "the agents' answers are not the JSON expected: $(head -c 500 "$d/exp")"
		return 1
	fi
	while IFS=$'\t' read -r kind a; do
		case $kind in
		BAD) chk_bad "$a" ;;
		SUM) summary=$a ;;
		esac
	done < <(grep -E '^(BAD|SUM)' "$d/exp")
	[ "${#CHK_DIFF[@]}" -eq "$n0" ] || return 1
	mapfile -t files < <(chk_files "$d" '*.raw')
	if ! out=$(awk -v work="$SIM_WORK" -v prefix="$SIM_PREFIX" "$CHK_AWK" "$d/exp" "${files[@]}" 2>&1); then
		chk_bad "internal: comparison failed: $out"
		return 1
	fi
	while IFS=$'\t' read -r kind a b; do
		case $kind in
		D) chk_bad "$a" ;;
		N) nent=$a nif=$b ;;
		esac
	done < <(sort <<<"$out")
	[ "${#CHK_DIFF[@]}" -eq "$n0" ] || return 1
	CHK_LAST_SUMMARY="$summary; $nent sandbox entries and $nif container interfaces match"
	return 0
}

chk_once() {
	local -a run=() pids=()
	local -A conts=()
	local h d c owner alive t0 rc
	t0=$(sim_now_ms)
	CHK_DIFF=()
	sim_need_up 2>/dev/null || { chk_bad "no cluster selected or up"; return 1; }
	mapfile -t run < <(sim_running_hosts)
	if [ "${#run[@]}" -eq 0 ]; then
		chk_bad "no agent is running"
		return 1
	fi
	# shellcheck disable=SC2086
	alive=$(printf '%s\n' "${run[@]}" $CHK_EXTRA_ALIVE | sort -u | tr '\n' ' ')
	while read -r c owner; do
		[ -n "$c" ] && conts[$owner]+=" $c"
	done < <(sim_containers)
	d=$(mktemp -d "${TMPDIR:-/tmp}/ovg-chk.XXXXXX") || { chk_bad "mktemp failed"; return 1; }
	for h in "${run[@]}"; do
		# shellcheck disable=SC2086
		chk_collect "$h" "$d" ${conts[$h]:-} &
		pids+=($!)
	done
	wait "${pids[@]}"
	chk_compare "$d" "$alive"
	rc=$?
	rm -rf "$d"
	# shellcheck disable=SC2034 # for the caller
	CHK_LAST_MS=$(($(sim_now_ms) - t0))
	return "$rc"
}

chk_summary() { printf '%s\n' "$CHK_LAST_SUMMARY"; }

# chk_print_diff [PREFIX]: CHK_DIFF on stderr.
# shellcheck disable=SC2120 # PREFIX is optional
chk_print_diff() {
	local l
	for l in "${CHK_DIFF[@]}"; do printf '%s%s\n' "${1:-  }" "$l" >&2; done
}

# chk_wait [SECONDS]: bounded poll of chk_once; prints the last differences on failure.
chk_wait() {
	local secs=${1:-${CHK_TIMEOUT:-20}} ms deadline
	ms=$(sim_secs_to_ms "$secs") || return 2
	deadline=$(($(sim_now_ms) + ms))
	while :; do
		chk_once && return 0
		[ "$(sim_now_ms)" -ge "$deadline" ] && break
		sleep 0.3
	done
	printf 'check: not converged after %s s; differences:\n' "$secs" >&2
	chk_print_diff
	return 1
}

# chk_inv_host HOST DIR: the invariants as HOST's agent sees them, violations into
# DIR/HOST.inv. Networks or agents that vanish meanwhile are skipped.
chk_inv_host() {
	local h=$1 d=$2 out id re='"id": *"([0-9a-f]{32})"' ids=()
	out=$(sim_ovg "$h" network ls --format json 2>/dev/null) || return 0
	printf '%s\n' "$out" >"$d/$h.invl"
	while [[ $out =~ $re ]]; do
		ids+=("${BASH_REMATCH[1]}")
		out=${out#*"${BASH_REMATCH[0]}"}
	done
	for id in "${ids[@]}"; do
		sim_ovg "$h" network inspect "$id" 2>/dev/null
	done >"$d/$h.invi"
	jq -n -r --arg h "$h" "$CHK_JQ_INV"'(input | inv_ls), (inputs | inv_eps) | "\($h): invariant: \(.)"' \
		"$d/$h.invl" "$d/$h.invi" >>"$d/$h.inv" 2>&1
}

# chk_invariants: no duplicate IP or name among the live endpoints of a network, no
# duplicate network name, no duplicate VNI among usable networks, on every running agent.
chk_invariants() {
	local h d l pids=()
	CHK_DIFF=()
	d=$(mktemp -d "${TMPDIR:-/tmp}/ovg-inv.XXXXXX") || { chk_bad "mktemp failed"; return 1; }
	for h in $(sim_running_hosts); do
		chk_inv_host "$h" "$d" &
		pids+=($!)
	done
	[ "${#pids[@]}" -eq 0 ] || wait "${pids[@]}"
	while IFS= read -r l; do
		[ -n "$l" ] && chk_bad "$l"
	done < <(cat "$d"/*.inv 2>/dev/null)
	rm -rf "$d"
	[ "${#CHK_DIFF[@]}" -eq 0 ]
}
