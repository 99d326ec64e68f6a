#!/usr/bin/env bash
# Capture real serf agent traffic as test vectors (see README.md).
#
# Builds a private network: one "switch" namespace holding a bridge and one
# namespace per serf node, joined by veth pairs, addresses in 10.77.46.0/24
# that exist only inside those namespaces. Runs two scenarios with three real
# `serf agent` processes, once in plaintext and once with -encrypt=$KEY:
#   n2 joins n1, n3 joins n1 and n2 (three push-pull exchanges over TCP),
#   everyone gossips, n3 is SIGKILLed (suspect, dead), n2 leaves (dead with
#   From == Node, serf's leave intent).
# tcpdump captures, in the switch namespace, what enters the switch from every
# node port (each frame exactly once). pcap2vec.py turns the captures into
# tests/vectors/*.bin and tests/vectors/MANIFEST.
#
# Usage: sudo tests/vectors/capture.sh [--keep-pcap DIR] [OUTDIR]
# Needs: root, iproute2, tcpdump, serf (Debian package serf), python3, libsodium.
set -euo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
KEEP_PCAP=""
if [ "${1:-}" = "--keep-pcap" ]; then KEEP_PCAP=$2; shift 2; fi
OUT=${1:-$HERE}

# Fixed, documented test key: the 32 bytes 00 01 02 ... 1f. Never use it for real.
KEY="AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8="
NET=10.77.46
NODES=(n1 n2 n3)
declare -A IP=([n1]=$NET.11 [n2]=$NET.12 [n3]=$NET.13)

TAG=vcap$$
SW=$TAG-sw
BR=br$$
TMP=$(mktemp -d /tmp/$TAG.XXXXXX)
declare -A AGENT_PID=()
DUMP_PIDS=()

log() { echo "capture: $*" >&2; }

cleanup() {
	local rc=$?
	set +e
	for n in "${!AGENT_PID[@]}"; do
		kill -KILL "${AGENT_PID[$n]}" 2>/dev/null
		wait "${AGENT_PID[$n]}" 2>/dev/null
	done
	for p in "${DUMP_PIDS[@]}"; do
		kill -INT "$p" 2>/dev/null
		wait "$p" 2>/dev/null
	done
	for n in "${NODES[@]}"; do ip netns del "$TAG-$n" 2>/dev/null; done
	ip netns del "$SW" 2>/dev/null
	if [ $rc -ne 0 ]; then
		log "failed (rc=$rc); agent logs:"
		tail -n 15 "$TMP"/*.log >&2 2>/dev/null
	fi
	rm -rf "$TMP"
	exit $rc
}
trap cleanup EXIT
trap 'exit 130' INT TERM

[ "$(id -u)" = 0 ] || { log "must run as root"; exit 1; }
for c in ip tcpdump serf python3; do
	command -v $c >/dev/null || { log "missing $c"; exit 1; }
done

# wait_for SECONDS CMD...: poll CMD every 0.2 s until it succeeds.
wait_for() {
	local limit=$1; shift
	local deadline=$((SECONDS + limit))
	until "$@" >/dev/null 2>&1; do
		[ $SECONDS -lt $deadline ] || { log "timeout waiting for: $*"; return 1; }
		sleep 0.2
	done
}

# ---- network ------------------------------------------------------------------
ip netns add "$SW"
ip -n "$SW" link set lo up
ip -n "$SW" link add "$BR" type bridge
ip -n "$SW" link set "$BR" up
i=0
for n in "${NODES[@]}"; do
	i=$((i + 1))
	ns=$TAG-$n
	ip netns add "$ns"
	ip -n "$ns" link set lo up
	ip -n "$SW" link add "vs$$-$i" type veth peer name eth0 netns "$ns"
	ip -n "$SW" link set "vs$$-$i" master "$BR"
	ip -n "$SW" link set "vs$$-$i" up
	ip -n "$ns" addr add "${IP[$n]}/24" dev eth0
	ip -n "$ns" link set eth0 up
done

serfc() { # serfc NODE ARGS...: serf CLI against NODE's RPC
	local n=$1; shift
	ip netns exec "$TAG-$n" serf "$@" -rpc-addr=127.0.0.1:7373
}

start_agent() { # start_agent NODE [extra args]
	local n=$1; shift
	ip netns exec "$TAG-$n" serf agent -node="$n" -bind="${IP[$n]}:7946" \
		-rpc-addr=127.0.0.1:7373 -log-level=debug "$@" >"$TMP/$n-$RUN.log" 2>&1 &
	AGENT_PID[$n]=$!
	wait_for 10 serfc "$n" members
}

# member_status OBSERVER NODE STATUS: true if OBSERVER sees NODE in STATUS.
member_status() {
	serfc "$1" members | awk -v n="$2" -v s="$3" '$1 == n && $3 == s { f = 1 } END { exit !f }'
}

run_scenario() { # run_scenario NAME [agent args]
	RUN=$1; shift
	log "scenario $RUN"
	local j=0
	DUMP_PIDS=()
	for n in "${NODES[@]}"; do
		j=$((j + 1))
		ip netns exec "$SW" tcpdump -i "vs$$-$j" -Q in -U -s 0 -w "$TMP/$RUN-$j.pcap" \
			'(udp or tcp) and port 7946' 2>"$TMP/tcpdump-$RUN-$j.log" &
		DUMP_PIDS+=($!)
	done
	for j in 1 2 3; do wait_for 10 grep -q "listening on" "$TMP/tcpdump-$RUN-$j.log"; done

	for n in "${NODES[@]}"; do start_agent "$n" "$@"; done
	serfc n2 join "${IP[n1]}"
	wait_for 20 member_status n1 n2 alive
	serfc n3 join "${IP[n1]}" "${IP[n2]}"
	for o in n1 n2 n3; do for t in n1 n2 n3; do
		wait_for 20 member_status $o $t alive
	done; done
	sleep 3 # gossip rounds (probe interval 1 s): time is the point here
	kill -KILL "${AGENT_PID[n3]}"
	wait "${AGENT_PID[n3]}" 2>/dev/null || true
	unset 'AGENT_PID[n3]'
	wait_for 40 member_status n1 n3 failed
	wait_for 40 member_status n2 n3 failed
	serfc n2 leave
	wait "${AGENT_PID[n2]}" 2>/dev/null || true
	unset 'AGENT_PID[n2]'
	wait_for 20 member_status n1 n2 left
	kill -TERM "${AGENT_PID[n1]}"
	wait "${AGENT_PID[n1]}" 2>/dev/null || true
	unset 'AGENT_PID[n1]'
	for p in "${DUMP_PIDS[@]}"; do kill -INT "$p"; wait "$p" || true; done
	DUMP_PIDS=()
}

run_scenario plain
run_scenario enc -encrypt="$KEY"

if [ -n "$KEEP_PCAP" ]; then mkdir -p "$KEEP_PCAP"; cp "$TMP"/*.pcap "$KEEP_PCAP"/; fi

nodeargs=()
for n in "${NODES[@]}"; do nodeargs+=(--node "$n=${IP[$n]}"); done
python3 "$HERE/pcap2vec.py" --out "$OUT" --key "$KEY" "${nodeargs[@]}" \
	--wire-seeds "$TMP/wire" --plain "$TMP"/plain-*.pcap --enc "$TMP"/enc-*.pcap
log "vectors written to $OUT"

# Fuzz seeds, only when writing the committed vectors: one plain and one
# encrypted UDP packet of each kind, three push-pull streams, and single
# decrypted messages of each type.
if [ "$OUT" = "$HERE" ]; then
	CORPUS=$(dirname "$HERE")/fuzz/corpus
	mkdir -p "$CORPUS/packet" "$CORPUS/stream" "$CORPUS/wire"
	rm -f "$CORPUS"/packet/serf-* "$CORPUS"/stream/serf-* "$CORPUS"/wire/serf-*
	declare -A seen=()
	for f in "$OUT"/plain-udp-*.bin "$OUT"/enc-udp-*.bin; do
		b=$(basename "$f" .bin)
		k=${b%-*}
		[ -n "${seen[$k]:-}" ] && continue
		seen[$k]=1
		cp "$f" "$CORPUS/packet/serf-$b"
	done
	for b in plain-tcp-pushpull-001 plain-tcp-pushpull-005 enc-tcp-pushpull-005; do
		[ -f "$OUT/$b.bin" ] && cp "$OUT/$b.bin" "$CORPUS/stream/serf-$b"
	done
	cp "$TMP"/wire/serf-* "$CORPUS/wire/"
	log "fuzz seeds refreshed under $CORPUS"
fi
