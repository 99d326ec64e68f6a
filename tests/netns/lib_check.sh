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
#                            by the last passing chk_once
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
# Requires jq, ip, bridge, nsenter.

CHK_DIFF=()
CHK_LAST_SUMMARY=
CHK_EXTRA_ALIVE=${CHK_EXTRA_ALIVE:-}

chk_bad() { CHK_DIFF+=("$*"); }

# chk_sorted_words WORDS...: the words sorted, space separated.
chk_sorted_words() { printf '%s\n' "$@" | sed '/^$/d' | sort -u | tr '\n' ' ' | sed 's/ $//'; }

# chk_setdiff LABEL EXPECTED ACTUAL: report lines missing from ACTUAL and extra in it.
chk_setdiff() {
	local label=$1 exp=$2 act=$3 l
	while IFS= read -r l; do
		[ -n "$l" ] && chk_bad "$lbl: missing: $l"
	done < <(comm -23 <(sed '/^$/d' <<<"$exp" | sort -u) <(sed '/^$/d' <<<"$act" | sort -u))
	while IFS= read -r l; do
		[ -n "$l" ] && chk_bad "$lbl: extra: $l"
	done < <(comm -13 <(sed '/^$/d' <<<"$exp" | sort -u) <(sed '/^$/d' <<<"$act" | sort -u))
	# duplicates in ACTUAL are extras too
	while IFS= read -r l; do
		[ -n "$l" ] && chk_bad "$lbl: duplicate: $l"
	done < <(sed '/^$/d' <<<"$act" | sort | uniq -d)
}

# chk_underlay NODE MEMBERS_JSON: the underlay address of NODE (its host's address in the
# cluster, else the address its members entry shows).
chk_underlay() {
	if sim_is_host "$1"; then
		printf '%s.%s\n' "$SIM_NET" "${1#h}"
	else
		jq -r --arg n "$1" '.[] | select(.name == $n) | .addr | sub(":[0-9]+$"; "")' <<<"$2"
	fi
}

# chk_sandbox_dump PATH: vxlan0's VNI, self FDB entries and neighbors, as normalized lines
#   vni N
#   fdb MAC dst ADDR [FLAGS...]   (only entries with "self"; "permanent" kept as a flag)
#   neigh IP lladdr MAC STATE
chk_sandbox_dump() {
	nsenter --net="$1" -- sh -c 'ip -d -o link show vxlan0; echo "@@fdb"; bridge fdb show dev vxlan0;
		echo "@@neigh"; ip neigh show dev vxlan0' 2>&1 | awk '
		/^@@fdb/ { s = "fdb"; next }
		/^@@neigh/ { s = "neigh"; next }
		s == "" { for (i = 1; i < NF; i++) if ($i == "vxlan" && $(i + 1) == "id") print "vni", $(i + 2); next }
		s == "fdb" {
			self = 0; dst = "-"; fl = ""
			for (i = 2; i <= NF; i++) {
				if ($i == "self") self = 1
				else if ($i == "dst") { dst = $(i + 1); i++ }
				else if ($i == "link-netnsid" || $i == "master" || $i == "vlan" || $i == "port" || $i == "vni" || $i == "via" || $i == "src_vni" || $i == "nhid") i++
				else fl = fl " " $i
			}
			if (self) print "fdb", $1, "dst", dst fl
			next
		}
		s == "neigh" { $1 = $1; if ($0 != "") print "neigh", $0 }'
}

# The comparisons of chk_once, in one jq run over every agent's answers: stdin is
# {"hosts": {"hN": {"m": members, "l": ls, "i": {ID: inspect}}}}. Prints tab-separated
#   BAD   MESSAGE                        a disagreement between agents (kernel not checked)
#   SB    HOST ID LABEL SANDBOX          HOST must hold a sandbox for ID
#   NOSB  HOST ID LABEL SANDBOX          HOST must not (SANDBOX: what inspect shows)
#   EXP   HOST ID LINE                   a line chk_sandbox_dump must print for ID on HOST
#   IF    HOST NAME ADDR/PREFIX MAC      a local endpoint's interface
CHK_JQ='
def eps: .endpoints | sort_by(.ip);
def ul($h; $o):
	if ($o | test("^h[1-9][0-9]*$")) and (($o[1:] | tonumber) <= ($nhosts | tonumber))
	then "\($net).\($o[1:])"
	else ([.hosts[$h].m[] | select(.name == $o) | .addr | sub(":[0-9]+$"; "")] | first // "?")
	end;
. as $top | .hosts as $H | ($H | keys) as $run | $run[0] as $h0 |
($alive | split(" ") | map(select(. != "")) | sort) as $want |
[ $run[] as $h | ($H[$h].m | map(select(.status == "alive") | .name) | sort) as $a |
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
end end end'

# Container interfaces: stdin is one {"c": NAME, "d": `ip -j addr show`} a line; prints
# "NAME ADDR/PREFIX MAC" per IPv4 address of each interface but lo, "NAME - MAC (IF without
# IPv4)" for an interface with none.
CHK_JQ_IF='
.c as $c | .d[] | select(.ifname != "lo") | . as $l |
([.addr_info[]? | select(.family == "inet")]) as $a |
if ($a | length) == 0 then "\($c)\t- \($l.address) (\($l.ifname) without IPv4)"
else $a[] | "\($c)\t\(.local)/\(.prefixlen) \($l.address)" end'

# Matching expected interfaces (IF lines, from chk_once) with the containers' (file 2):
# file 1: "C<TAB>c<TAB>host" container list, then IF lines; file 2: "c<TAB>ADDR MAC".
CHK_AWK_IF='
BEGIN { FS = "\t" }
FNR == NR && $1 == "C" { host[$2] = $3; next }
FNR == NR && $1 == "IF" {
	c = $3
	if (!(c in host) && (prefix "-" c) in host) c = prefix "-" c
	if (index(c, prefix "-") == 1 && !(c in host)) c = substr(c, length(prefix) + 2)
	if ((c in host) && host[c] == $2) want[c SUBSEP $4]++
	else anywhere[$2 SUBSEP $4]++
	next
}
FNR == NR { next }
{
	c = $1; v = $2; h = host[c]
	seen[c SUBSEP v]++
	if (seen[c SUBSEP v] > 1) { print h " container " c ": duplicate interface " v; next }
	if ((c SUBSEP v) in want) { got[c SUBSEP v] = 1; next }
	if (anywhere[h SUBSEP v] > 0) { anywhere[h SUBSEP v]--; next }
	print h " container " c ": interface " v " is no live local endpoint"
}
END {
	for (k in want) if (!(k in got)) { split(k, p, SUBSEP); print host[p[1]] " container " p[1] ": missing interface " p[2] }
	for (k in anywhere) if (anywhere[k] > 0) { split(k, p, SUBSEP); print p[1] ": no container has the interface " p[2] " of a local endpoint" }
}'

chk_once() {
	local -a run=() ids=()
	local -A mem=() ls=() insp=()
	local h h0 id exp_alive out kind a b c d e f want l nexp=0 nif=0 sep isep
	local exp_lines='' act_lines='' if_lines='' cont_list='' cont_act='' summary=''
	CHK_DIFF=()
	sim_need_up 2>/dev/null || { chk_bad "no cluster selected or up"; return 1; }
	mapfile -t run < <(sim_running_hosts)
	if [ "${#run[@]}" -eq 0 ]; then
		chk_bad "no agent is running"
		return 1
	fi
	h0=${run[0]}
	# shellcheck disable=SC2086
	exp_alive=$(chk_sorted_words "${run[@]}" $CHK_EXTRA_ALIVE)
	for h in "${run[@]}"; do
		mem[$h]=$(sim_ovg "$h" members --format json 2>&1) || { chk_bad "$h: members failed: ${mem[$h]}"; return 1; }
		ls[$h]=$(sim_ovg "$h" network ls --format json 2>&1) || { chk_bad "$h: network ls failed: ${ls[$h]}"; return 1; }
	done
	if ! out=$(jq -r '.[].id' <<<"${ls[$h0]}" 2>&1); then
		chk_bad "$h0: network ls is no JSON list: ${ls[$h0]}"
		return 1
	fi
	mapfile -t ids <<<"$out"
	[ -z "${ids[0]:-}" ] && ids=()
	for h in "${run[@]}"; do
		for id in "${ids[@]}"; do
			insp[$h/$id]=$(sim_ovg "$h" network inspect "$id" 2>&1) ||
				{ chk_bad "$h: network inspect $id failed: ${insp[$h/$id]}"; return 1; }
		done
	done
	# One document with everything the agents said.
	out=$({
		printf '{"hosts":{'
		sep=
		for h in "${run[@]}"; do
			printf '%s"%s":{"m":%s,"l":%s,"i":{' "$sep" "$h" "${mem[$h]}" "${ls[$h]}"
			isep=
			for id in "${ids[@]}"; do
				printf '%s"%s":%s' "$isep" "$id" "${insp[$h/$id]}"
				isep=,
			done
			printf '}}'
			sep=,
		done
		printf '}}\n'
	} | jq -r --arg alive "$exp_alive" --arg net "$SIM_NET" --arg nhosts "$SIM_N" "$CHK_JQ" 2>&1) || {
		chk_bad "the agents' answers are not the JSON expected: $out"
		return 1
	}
	while IFS=$'\t' read -r kind a b c d; do
		case $kind in
		BAD) chk_bad "$a" ;;
		SUM) summary=$a ;;
		NOSB)
			want=$(sim_hostdir "$a")/run/netns/${b:0:12}
			[ -n "$d" ] && chk_bad "$c: sandbox $d shown, but there should be none"
			[ -e "$want" ] && chk_bad "$c: $want exists, but there should be no sandbox"
			;;
		SB)
			want=$(sim_hostdir "$a")/run/netns/${b:0:12}
			if [ -z "$d" ]; then
				chk_bad "$c: no sandbox shown, but the host has local endpoints"
				continue
			fi
			[ "$d" = "$want" ] || chk_bad "$c: sandbox $d, want $want"
			if ! f=$(chk_sandbox_dump "$d"); then
				chk_bad "$c: cannot read sandbox $d: $f"
				continue
			fi
			while IFS= read -r l; do
				act_lines+="$a"$'\t'"$b"$'\t'"$l"$'\n'
			done <<<"$f"
			exp_lines+="$a"$'\t'"$b"$'\t'"SANDBOX-READ"$'\n'
			act_lines+="$a"$'\t'"$b"$'\t'"SANDBOX-READ"$'\n'
			;;
		EXP)
			exp_lines+="$a"$'\t'"$b"$'\t'"$c"$'\n'
			nexp=$((nexp + 1))
			;;
		IF)
			if_lines+="IF"$'\t'"$a"$'\t'"$b"$'\t'"$c"$'\n'
			nif=$((nif + 1))
			;;
		esac
	done <<<"$out"
	[ "${#CHK_DIFF[@]}" -eq 0 ] || [ -n "$summary" ] || return 1
	# Sandboxes: expected lines only count for sandboxes read (SANDBOX-READ in both).
	if [ -n "$exp_lines" ]; then
		if ! f=$(awk -F '\t' '
			FNR == NR { if ($3 == "SANDBOX-READ") rd[$1 FS $2] = 1; act[$0]++; next }
			{ if (!(($1 FS $2) in rd)) next; ex[$0]++ }
			END {
				for (k in ex) if (!(k in act)) { split(k, p, FS); print "missing" FS p[1] FS p[2] FS p[3] }
				for (k in act) {
					split(k, p, FS)
					if (!(k in ex)) print "extra" FS p[1] FS p[2] FS p[3]
					else if (act[k] > 1) print "duplicate" FS p[1] FS p[2] FS p[3]
				}
			}' <(printf '%s' "$act_lines") <(printf '%s' "$exp_lines") 2>&1); then
			chk_bad "internal: sandbox comparison failed: $f"
		fi
		while IFS=$'\t' read -r kind a b c; do
			[ -n "$kind" ] && chk_bad "$a net ${b:0:12}: $kind: $c"
		done < <(sort <<<"$f")
	fi
	# Containers of running hosts.
	while read -r c h; do
		[ -n "$c" ] || continue
		case " ${run[*]} " in *" $h "*) ;; *) continue ;; esac
		cont_list+="C"$'\t'"$c"$'\t'"$h"$'\n'
		if ! d=$(ip -n "$SIM_PREFIX-$c" -j addr show 2>&1); then
			chk_bad "$h container $c: cannot list interfaces: $d"
			continue
		fi
		cont_act+="{\"c\":\"$c\",\"d\":$d}"$'\n'
	done < <(sim_containers)
	if [ -n "$cont_act" ]; then
		if ! cont_act=$(jq -r "$CHK_JQ_IF" <<<"$cont_act" 2>&1); then
			chk_bad "container interfaces unreadable: $cont_act"
			cont_act=
		fi
	fi
	if ! f=$(awk -v prefix="$SIM_PREFIX" "$CHK_AWK_IF" <(printf '%s%s' "$cont_list" "$if_lines") \
		<(printf '%s\n' "$cont_act" | sed '/^$/d') 2>&1); then
		chk_bad "internal: interface comparison failed: $f"
	fi
	while IFS= read -r l; do
		[ -n "$l" ] && chk_bad "$l"
	done < <(sort <<<"$f")
	[ "${#CHK_DIFF[@]}" -eq 0 ] || return 1
	CHK_LAST_SUMMARY="$summary; $nexp sandbox entries and $nif container interfaces match"
	return 0
}

chk_summary() { printf '%s\n' "$CHK_LAST_SUMMARY"; }

# chk_print_diff [PREFIX]: CHK_DIFF on stderr.
chk_print_diff() {
	local l
	for l in "${CHK_DIFF[@]}"; do printf '%s%s\n' "${1:-  }" "$l" >&2; done
}

# chk_wait [SECONDS]: bounded poll of chk_once.
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

# chk_invariants: no duplicate IP or name among the live endpoints of a network, no
# duplicate network name, no duplicate VNI among usable networks, on every running agent.
chk_invariants() {
	local h out ids id insp bad l
	CHK_DIFF=()
	for h in $(sim_running_hosts); do
		out=$(sim_ovg "$h" network ls --format json 2>/dev/null) || continue # agent may be stopping
		bad=$(jq -r '(group_by(.name)[] | select(length > 1) | "network name \(.[0].name) held by \([.[].id[0:12]] | join(","))"),
			([.[] | select(.usable != false)] | group_by(.vni)[] | select(length > 1) |
				"VNI \(.[0].vni) held by usable networks \([.[].id[0:12]] | join(","))")' <<<"$out" 2>&1)
		[ -n "$bad" ] && while IFS= read -r l; do chk_bad "$h: $l"; done <<<"$bad"
		mapfile -t ids < <(jq -r '.[].id' <<<"$out" 2>/dev/null)
		for id in "${ids[@]}"; do
			insp=$(sim_ovg "$h" network inspect "$id" 2>/dev/null) || continue # removed meanwhile
			bad=$(jq -r '.name as $n | (.endpoints | group_by(.ip)[] | select(length > 1) |
					"network \($n): IP \(.[0].ip) held by \([.[] | "\(.name)@\(.node)"] | join(", "))"),
				(.endpoints | group_by(.name)[] | select(length > 1) |
					"network \($n): name \(.[0].name) held by endpoints on \([.[].node] | join(", "))")' <<<"$insp" 2>&1)
			[ -n "$bad" ] && while IFS= read -r l; do chk_bad "$h: $l"; done <<<"$bad"
		done
	done
	[ "${#CHK_DIFF[@]}" -eq 0 ]
}
