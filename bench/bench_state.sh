#!/usr/bin/env bash
# bench/bench_state.sh: the replicated state at cluster scale (run by `make bench`, as root).
#
#  (a) propagation: time from sending `network create` to one agent until every one of the
#      N agents lists the network; p50/p99/max over CREATES creates (origin rotates over the
#      hosts), in an empty cluster and again with the endpoints of (b) in place.
#      Method: a small python client speaks the control-socket protocol itself (no fork per
#      request). It sends the create, then sweeps every agent that has not shown the network
#      yet with `network inspect ID`, all requests in flight at once, until all have; an
#      agent's time is the reply time of its first successful inspect. Resolution = one
#      sweep (printed, ~1-2 ms).
#  (b) anti-entropy cost when nothing differs, with EP endpoints in the cluster: N hosts x
#      CONTAINERS container namespaces, each connected to NETS networks (EP = N x CONTAINERS
#      x NETS; real veths, real namespaces). tcpdump in the switch namespace records every
#      gossip packet (UDP and TCP port 7946, each once, as it leaves its sender) over IDLE
#      seconds. The cluster runs --insecure so that every datagram can be classified by its
#      plaintext (state DIGEST / REQUEST / DELTA vs SWIM); encryption adds exactly 29 bytes
#      per datagram (version, 12-byte nonce, 16-byte tag: reference/memberlist-wire.md),
#      which the table adds back. A round is one agent's periodic DIGEST to one peer plus
#      whatever answers it draws (none when nothing differs).
#  (c) VmRSS of every agent holding the EP endpoints.
#
# Environment: BENCH_STATE_HOSTS (20), BENCH_STATE_CREATES (50), BENCH_STATE_CONTAINERS (25
# per host), BENCH_STATE_NETS (20), BENCH_STATE_IDLE (20 s), OVGOSSIPD.
set -uo pipefail
REPO=$(cd "$(dirname "$0")/.." && pwd)
# shellcheck source=../simulations/lib.sh
. "$REPO/simulations/lib.sh"

N=${BENCH_STATE_HOSTS:-20}
CREATES=${BENCH_STATE_CREATES:-50}
CONTAINERS=${BENCH_STATE_CONTAINERS:-25}
NETS=${BENCH_STATE_NETS:-20}
IDLE=${BENCH_STATE_IDLE:-20}
EP=$((N * CONTAINERS * NETS))

die() { echo "bench_state: $*" >&2; exit 1; }
say() { echo "bench_state: $*" >&2; }

if [ "$(id -u)" != 0 ]; then
	echo "bench_state: needs root (network namespaces): skipped"
	exit 0
fi
for t in python3 tcpdump jq; do
	command -v "$t" >/dev/null || die "needs $t"
done
[ $((N * CONTAINERS)) -le 4000 ] || die "N x CONTAINERS must be at most 4000 (one /20 per network)"
[ "$NETS" -le 150 ] || die "at most 150 networks"

# Times the kernel's IPv4 neighbour table was full, all CPUs. The table is shared by every
# namespace on the machine (net.ipv4.neigh.default.gc_thresh3, 1024 by default, counts the
# non-permanent entries of all of them): each agent's ARP entries for its peers count, and
# so do those of any other cluster running at the same time. When it is full, new ARP
# resolutions fail and agents miss probes.
arp_fulls() {
	local n=0 f
	while read -r -a f; do
		[[ ${f[12]:-} =~ ^[0-9a-f]+$ ]] && n=$((n + 16#${f[12]}))
	done </proc/net/stat/arp_cache
	echo "$n"
}

sim_use "bst$$" || exit 1
trap 'sim_down >/dev/null 2>&1' EXIT INT TERM
CLIENT=$SIM_WORK/state_client.py

T_START=$(sim_now_ms)
ARP_START=$(arp_fulls)
LOAD_START=$(cut -d' ' -f1-3 /proc/loadavg)
say "cluster of $N agents"
if ! sim_up "$N" --insecure >/dev/null; then
	n=$(($(arp_fulls) - ARP_START))
	[ "$n" -gt 0 ] && say "the kernel's shared IPv4 neighbour table overflowed $n times meanwhile (another large cluster on this machine?): ARP fails; raise net.ipv4.neigh.default.gc_thresh1..3"
	die "cluster up failed"
fi
mkdir -p "$SIM_WORK/bench"

# ---- the control-socket client ------------------------------------------------------------
cat >"$CLIENT" <<'PY'
"""Control-socket client for the benchmark: u32 BE length + msgpack {"argv": [...], "v": 1},
one request per connection; the reply is {"err", "out", "status"}.

  latency ROUNDS PREFIX SOCK...      SOCK i is host h(i+1); see bench_state.sh (a)
  connect SOCK NETNS_FILE NET...     connect every netns (one a line) to every NET, in order
"""
import select
import socket
import struct
import sys
import time


def mp_str(s):
    b = s.encode()
    if len(b) < 32:
        return bytes([0xA0 | len(b)]) + b
    return b"\xda" + struct.pack(">H", len(b)) + b   # raw16 = str16 in both msgpack dialects


def request(argv):
    body = b"\x82" + mp_str("argv") + bytes([0x90 | len(argv)])
    body += b"".join(mp_str(a) for a in argv) + mp_str("v") + b"\x01"
    return struct.pack(">I", len(body)) + body


def mp_decode(b, i):
    t = b[i]
    if t <= 0x7F:
        return t, i + 1
    if t >= 0xE0:
        return t - 256, i + 1
    if 0xA0 <= t <= 0xBF:
        n = t & 0x1F
        return b[i + 1:i + 1 + n], i + 1 + n
    if 0x80 <= t <= 0x8F:
        return mp_map(b, i + 1, t & 0x0F)
    if t in (0xD9, 0xC4):
        n = b[i + 1]
        return b[i + 2:i + 2 + n], i + 2 + n
    if t in (0xDA, 0xC5):
        n = struct.unpack_from(">H", b, i + 1)[0]
        return b[i + 3:i + 3 + n], i + 3 + n
    if t in (0xDB, 0xC6):
        n = struct.unpack_from(">I", b, i + 1)[0]
        return b[i + 5:i + 5 + n], i + 5 + n
    if t == 0xDE:
        return mp_map(b, i + 3, struct.unpack_from(">H", b, i + 1)[0])
    ints = {0xCC: ">B", 0xCD: ">H", 0xCE: ">I", 0xCF: ">Q", 0xD0: ">b", 0xD1: ">h", 0xD2: ">i", 0xD3: ">q"}
    if t in ints:
        f = ints[t]
        return struct.unpack_from(f, b, i + 1)[0], i + 1 + struct.calcsize(f)
    raise ValueError("unexpected msgpack byte 0x%02x" % t)


def mp_map(b, i, n):
    m = {}
    for _ in range(n):
        k, i = mp_decode(b, i)
        v, i = mp_decode(b, i)
        m[bytes(k).decode()] = v
    return m, i


def response(buf):
    if len(buf) < 5:
        return 1, "", "no reply"
    m, _ = mp_decode(buf, 4)
    return m.get("status", 1), bytes(m.get("out", b"")).decode(), bytes(m.get("err", b"")).decode()


def call(path, argv):
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.connect(path)
    s.sendall(request(argv))
    buf = b""
    while True:
        d = s.recv(65536)
        if not d:
            break
        buf += d
    s.close()
    return response(buf)


def sweep(paths, hosts, argv, deadline):
    """Send argv to every host at once; {host: (status, time of the reply)}."""
    req = request(argv)
    conns = {}
    for h in hosts:
        s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        s.connect(paths[h])
        s.sendall(req)
        conns[s.fileno()] = (h, s, [b""])
    out = {}
    while conns:
        left = deadline - time.monotonic()
        if left <= 0:
            break
        r, _, _ = select.select(list(conns), [], [], left)
        for fd in r:
            h, s, buf = conns[fd]
            d = s.recv(65536)
            if d:
                buf[0] += d
                continue
            out[h] = (response(buf[0])[0], time.monotonic())
            s.close()
            del conns[fd]
    for h, s, _ in conns.values():
        s.close()
    return out


def latency(rounds, prefix, paths):
    n = len(paths)
    sweeps, sweep_time, timeouts = 0, 0.0, 0
    for r in range(rounds):
        origin = r % n
        t0 = time.monotonic()
        st, out, err = call(paths[origin], ["network", "create", "%s-%d" % (prefix, r)])
        if st != 0:
            sys.exit("create on h%d failed: %s" % (origin + 1, err.strip()))
        nid = out.strip()
        seen = {origin: time.monotonic()}
        pending = [h for h in range(n) if h != origin]
        deadline = t0 + 10.0
        while pending and time.monotonic() < deadline:
            s0 = time.monotonic()
            res = sweep(paths, pending, ["network", "inspect", nid], deadline)
            sweeps += 1
            sweep_time += time.monotonic() - s0
            for h, (status, t) in res.items():
                if status == 0:
                    seen[h] = t
            pending = [h for h in pending if h not in seen]
        for h in pending:   # not within 10 s: counted as 10 s (and reported)
            seen[h] = deadline
            timeouts += 1
        ms = [(seen[h] - t0) * 1000 for h in range(n)]
        print("%d h%d %.3f %s" % (r, origin + 1, max(ms), " ".join("%.3f" % x for x in ms)), flush=True)
        time.sleep(0.05)   # the next create starts from a quiet cluster
    print("sweep_ms %.3f" % (1000 * sweep_time / max(sweeps, 1)))
    print("timeouts %d" % timeouts)


def connect(path, nsfile, nets):
    with open(nsfile) as f:
        namespaces = [l.strip() for l in f if l.strip()]
    for net in nets:
        for ns in namespaces:
            for attempt in range(20):
                st, out, err = call(path, ["network", "connect", net, ns])
                if st == 0 or (attempt > 0 and "already connected" in err):
                    break
                # transient: "too many connects waiting", an address block not granted in time
                time.sleep(0.2)
            else:
                sys.exit("connect %s %s: %s" % (net, ns, err.strip()))


def pcap(path):
    """Classify the gossip datagrams of an --insecure cluster by their plaintext: a state
    message is [0x0c crc32] 0x08 (user) 0x6f (ovgossipd) version kind body."""
    kinds = {1: "delta", 2: "digest", 3: "request", 4: "ipam", 5: "summary"}
    count, size = {}, {}
    with open(path, "rb") as f:
        hdr = f.read(24)
        magic = struct.unpack("<I", hdr[:4])[0]
        e = "<" if magic in (0xA1B2C3D4, 0xA1B23C4D) else ">"
        link = struct.unpack(e + "I", hdr[20:24])[0]
        l2 = {1: 14, 113: 16, 276: 20}[link]
        while True:
            rec = f.read(16)
            if len(rec) < 16:
                break
            _, _, incl, orig = struct.unpack(e + "IIII", rec)
            pkt = f.read(incl)
            ip = pkt[l2:]
            if len(ip) < 20 or ip[0] >> 4 != 4:
                continue
            ihl, proto, tot = (ip[0] & 15) * 4, ip[9], struct.unpack(">H", ip[2:4])[0]
            if proto == 6:
                doff = (ip[ihl + 12] >> 4) * 4
                cls, n = "tcp", tot - ihl - doff
            elif proto == 17:
                n = struct.unpack(">H", ip[ihl + 4:ihl + 6])[0] - 8
                p = ip[ihl + 8:]
                if p[:1] == b"\x0c":
                    p = p[5:]
                if p[:2] == b"\x08\x6f" and len(p) >= 4:
                    cls = kinds.get(p[3], "state-other")
                else:
                    cls = "swim"
            else:
                continue
            count[cls] = count.get(cls, 0) + 1
            size[cls] = size.get(cls, 0) + n
    for cls in ("summary", "digest", "request", "delta", "ipam", "state-other", "swim", "tcp"):
        print(cls, count.get(cls, 0), size.get(cls, 0))


if sys.argv[1] == "pcap":
    pcap(sys.argv[2])
elif sys.argv[1] == "latency":
    latency(int(sys.argv[2]), sys.argv[3], sys.argv[4:])
elif sys.argv[1] == "connect":
    connect(sys.argv[2], sys.argv[3], sys.argv[4:])
else:
    sys.exit("unknown mode")
PY

SOCKS=()
for h in $(sim_hosts); do SOCKS+=("$(sim_hostdir "$h")/agent.sock"); done

# ---- helpers ------------------------------------------------------------------------------

# pct FILE P: the P-th percentile (nearest rank) of the numbers in FILE, one a line
pct() { sort -n "$1" | awk -v p="$2" '{ v[NR] = $1 } END { r = int((p * NR + 99) / 100); if (r < 1) r = 1; printf "%.1f", v[r] }'; }

# latency TAG: runs (a), leaves $SIM_WORK/bench/TAG.{all,agent} and sets LAT_<...>
latency() {
	local tag=$1 raw=$SIM_WORK/bench/$1.raw
	python3 "$CLIENT" latency "$CREATES" "bench-$tag" "${SOCKS[@]}" >"$raw" ||
		die "latency run ($tag) failed: $(tail -n 1 "$raw")"
	awk '$1 ~ /^[0-9]+$/ { print $3 }' "$raw" >"$SIM_WORK/bench/$tag.all"
	awk '$1 ~ /^[0-9]+$/ { for (i = 4; i <= NF; i++) if ("h" (i - 3) != $2) print $i }' "$raw" >"$SIM_WORK/bench/$tag.agent"
	LAT_P50=$(pct "$SIM_WORK/bench/$tag.all" 50)
	LAT_P99=$(pct "$SIM_WORK/bench/$tag.all" 99)
	LAT_MAX=$(pct "$SIM_WORK/bench/$tag.all" 100)
	LAT_AGENT_P50=$(pct "$SIM_WORK/bench/$tag.agent" 50)
	LAT_SWEEP=$(awk '$1 == "sweep_ms" { printf "%.1f", $2 }' "$raw")
	LAT_TIMEOUTS=$(awk '$1 == "timeouts" { print $2 }' "$raw")
}

# suspicions: "member X suspect" lines in every agent log so far (a health indicator: an
# agent whose event loop stalls misses probes and is suspected)
suspicions() { cat "$SIM_WORK"/hosts/h*/agent.log 2>/dev/null | grep -c ' suspect ('; }

# idle_capture TAG: (b) over IDLE seconds; sets DIG_*, ROUND_*, IDLE_*
idle_capture() {
	local tag=$1 cap=$SIM_WORK/bench/$1.pcap sw s0 cls c b
	sw=$(sim_netns sw) || die "no switch namespace"
	s0=$(suspicions)
	# -i any -Q in: each packet once, as it enters the switch from its sender
	nsenter --net="$SIM_NETNS_DIR/$sw" -- timeout "$IDLE" tcpdump -i any -Q in -s 128 -w "$cap" \
		'port 7946' 2>"$cap.err"
	IDLE_SUSPECT=$(($(suspicions) - s0))
	python3 "$CLIENT" pcap "$cap" >"$cap.txt" || die "reading $cap failed"
	declare -gA CNT=() BYT=()
	while read -r cls c b; do CNT[$cls]=$c BYT[$cls]=$b; done <"$cap.txt"
	# the 2 s tick sends a SUMMARY (a digest only answers a differing one)
	DIG_N=$((${CNT[summary]} + ${CNT[digest]}))
	BYT[digest]=$((${BYT[summary]} + ${BYT[digest]}))
	[ "$DIG_N" -gt 0 ] || die "no state summary or digest in ${IDLE}s of gossip (see $cap)"
	DIG_EXPECT=$((N * IDLE / 2))
	ANSWERS="${CNT[request]} requests, ${CNT[delta]} deltas"
	read -r _ ROUND_B ROUND_ENC IDLE_BPS < <(awk -v dn="$DIG_N" -v db="${BYT[digest]}" \
		-v rn="${CNT[request]}" -v rb="${BYT[request]}" -v xn="${CNT[delta]}" -v xb="${BYT[delta]}" \
		-v sb="${BYT[swim]}" -v sn="${CNT[swim]}" -v tb="${BYT[tcp]}" -v w="$IDLE" -v h="$N" 'BEGIN {
			round = (db + rb + xb) / dn
			printf "%.1f %.1f %.1f %.0f\n", db / dn, round, round + 29 * (dn + rn + xn) / dn,
				(db + rb + xb + sb + tb + 29 * (dn + rn + xn + sn)) / w / h }')
}

rss_all() { # prints "max median" in kB of every agent's VmRSS
	local h pid
	for h in $(sim_hosts); do
		pid=$(sim_agent_pid "$h") || die "agent on $h is not running"
		awk '/^VmRSS:/ { print $2 }' "/proc/$pid/status"
	done | sort -n | awk '{ v[NR] = $1 } END { printf "%d %d\n", v[NR], v[int((NR + 1) / 2)] }'
}

endpoints_on() { # HOST: live endpoints over all bench networks, as HOST sees them
	local k total=0 n
	for ((k = 1; k <= NETS; k++)); do
		n=$(sim_ovg "$1" network inspect "bn$k" 2>/dev/null | jq '.endpoints | length') || return 1
		total=$((total + n))
	done
	printf '%s\n' "$total"
}

# ---- (a) and (b) in the empty cluster -----------------------------------------------------

say "(a) $CREATES creates, empty cluster"
latency empty
E_P50=$LAT_P50 E_P99=$LAT_P99 E_MAX=$LAT_MAX E_AGENT=$LAT_AGENT_P50 E_SWEEP=$LAT_SWEEP E_TO=$LAT_TIMEOUTS
say "    all $N list it: p50 $E_P50 ms, p99 $E_P99 ms (sweep $E_SWEEP ms)"
say "(b) ${IDLE}s idle capture, no endpoints"
idle_capture empty
E_DIG_N=$DIG_N E_ROUND=$ROUND_B E_ROUND_ENC=$ROUND_ENC E_ANS=$ANSWERS E_IDLE_BPS=$IDLE_BPS E_SUSP=$IDLE_SUSPECT
read -r E_RSS_MAX E_RSS_MED < <(rss_all)

# ---- build EP endpoints ---------------------------------------------------------------------

say "building $EP endpoints: $NETS networks x $N hosts x $CONTAINERS containers"
t0=$(sim_now_ms)
for ((k = 1; k <= NETS; k++)); do
	h=h$(((k - 1) % N + 1))
	sim_ovg "$h" network create --attachable --subnet "10.$((100 + k)).0.0/20" "bn$k" >/dev/null ||
		die "network create bn$k on $h failed"
done
for h in $(sim_hosts); do
	: >"$SIM_WORK/bench/$h.ns"
	for ((i = 1; i <= CONTAINERS; i++)); do
		sim_container "$h" "$h-c$i" >>"$SIM_WORK/bench/$h.ns" || die "container $h-c$i"
	done
done
nets=()
for ((k = 1; k <= NETS; k++)); do nets+=("bn$k"); done
pids=()
for h in $(sim_hosts); do
	python3 "$CLIENT" connect "$(sim_hostdir "$h")/agent.sock" "$SIM_WORK/bench/$h.ns" "${nets[@]}" \
		2>"$SIM_WORK/bench/$h.connect.err" &
	pids+=($!)
done
rc=0
for p in "${pids[@]}"; do wait "$p" || rc=1; done
[ "$rc" = 0 ] || die "connects failed: $(cat "$SIM_WORK"/bench/*.connect.err | head -n 3)"
all_hold() {
	local h
	for h in h1 "h$N" "h$(((N + 1) / 2))"; do
		[ "$(endpoints_on "$h")" = "$EP" ] || return 1
	done
}
sim_wait_until 120 all_hold || die "not every agent shows $EP endpoints (h1: $(endpoints_on h1))"
BUILD_S=$(( ($(sim_now_ms) - t0) / 1000 ))
say "    built in $BUILD_S s"
# let the data planes finish programming the remote endpoints before measuring idle cost
sleep 5
read -r RSS_MAX RSS_MED < <(rss_all)

say "(b) ${IDLE}s idle capture, $EP endpoints"
idle_capture full
F_DIG_N=$DIG_N F_ROUND=$ROUND_B F_ROUND_ENC=$ROUND_ENC F_ANS=$ANSWERS F_IDLE_BPS=$IDLE_BPS F_SUSP=$IDLE_SUSPECT F_EXPECT=$DIG_EXPECT

say "(a) $CREATES creates, $EP endpoints"
latency full
F_P50=$LAT_P50 F_P99=$LAT_P99 F_MAX=$LAT_MAX F_AGENT=$LAT_AGENT_P50 F_SWEEP=$LAT_SWEEP F_TO=$LAT_TIMEOUTS

# ---- report ---------------------------------------------------------------------------------

verdict() { awk -v v="$1" -v t="$2" 'BEGIN { print (v + 0 < t + 0) ? "yes" : "NO" }'; }
cat <<EOF

### bench_state: replicated state, $N agents (simulations/lib.sh namespaces)

machine: $(nproc) CPU ($(awk -F': ' '/model name/ { print $2; exit }' /proc/cpuinfo)), $(awk '/MemTotal/ { printf "%.0f GiB", $2 / 1048576 }' /proc/meminfo), kernel $(uname -r); load average at start $LOAD_START
endpoints: $EP = $N hosts x $CONTAINERS container namespaces x $NETS attachable networks (real veths), built in $BUILD_S s

| measure | empty cluster | $EP endpoints | target | met |
|---|---|---|---|---|
| (a) create -> all $N agents list it, p50 | $E_P50 ms | $F_P50 ms | | |
| (a) create -> all $N agents list it, p99 ($CREATES creates) | $E_P99 ms | $F_P99 ms | < 50 ms | $(verdict "$F_P99" 50) |
| (a) same, max | $E_MAX ms | $F_MAX ms | | |
| (a) create -> one agent lists it, p50 | $E_AGENT ms | $F_AGENT ms | | |
| (a) poll resolution (one sweep of all agents) | $E_SWEEP ms | $F_SWEEP ms | | |
| (a) agents that did not list a network within 10 s (counted as 10 s) | $E_TO | $F_TO | 0 | |
| (b) bytes of one idle anti-entropy round, as sent encrypted (digest + any answer, UDP payload incl. 29 B AES-GCM) | $E_ROUND_ENC B | $F_ROUND_ENC B | < 2048 B | $(verdict "$F_ROUND_ENC" 2048) |
| (b) the same in plaintext (--insecure, as captured) | $E_ROUND B | $F_ROUND B | | |
| (b) summaries + digests in ${IDLE} s (at most one per agent per 2 s tick: $F_EXPECT; a tick after a matching one sends none), and answers to them | $E_DIG_N; $E_ANS | $F_DIG_N; $F_ANS | | |
| (b) all gossip bytes per agent per second, idle (SWIM + digests + TCP push-pull; +29 B per datagram) | $E_IDLE_BPS B/s | $F_IDLE_BPS B/s | | |
| membership suspicions logged during those ${IDLE} s (all agents) | $E_SUSP | $F_SUSP | 0 | |
| (c) agent VmRSS, max over $N agents (median) | $E_RSS_MAX kB ($E_RSS_MED) | $RSS_MAX kB ($RSS_MED) | < 20480 kB | $(verdict "$RSS_MAX" 20480) |

total run time $(( ($(sim_now_ms) - T_START) / 1000 )) s; the kernel's shared IPv4 neighbour table (gc_thresh3 $(cat /proc/sys/net/ipv4/neigh/default/gc_thresh3 2>/dev/null)) was full $(($(arp_fulls) - ARP_START)) times during the run
EOF
