#!/usr/bin/env python3
"""Turn pcaps of serf agents (see capture.sh) into test vectors.

Standard library only (plus libsodium through ctypes to decrypt the encrypted
run; without it encrypted vectors are written unclassified).

Reads classic pcap files (Ethernet, IPv4, UDP/TCP), merges them by time,
takes every UDP payload on port 7946 and every TCP connection's per-direction
byte stream (reassembled by sequence number), decodes them with an independent
reference decoder (memberlist framing, Go LZW, msgpack) and writes:
  OUT/<mode>-udp-<kind>-NNN.bin   one UDP payload
  OUT/<mode>-tcp-<kind>-NNN.bin   one direction of one TCP connection
  OUT/MANIFEST                    one line per file, format in README.md
  --wire-seeds DIR                single decrypted plain messages serf-<type>-N
"""
import argparse
import ctypes
import ctypes.util
import os
import struct
import sys
import zlib

PORT = 7946
TYPE_NAMES = {
    0: "ping", 1: "indirect-ping", 2: "ack", 3: "suspect", 4: "alive",
    5: "dead", 6: "pushpull", 7: "compound", 8: "user", 9: "compress",
    10: "encrypt", 11: "nack", 12: "crc", 13: "err",
}


class DecodeError(Exception):
    pass


# ---- pcap ----------------------------------------------------------------------
def read_pcap(path):
    """Yield (ts, frame bytes) from a classic pcap with Ethernet link type."""
    with open(path, "rb") as f:
        data = f.read()
    if len(data) < 24:
        return
    magic = data[:4]
    if magic in (b"\xd4\xc3\xb2\xa1", b"\x4d\x3c\xb2\xa1"):
        end = "<"
    elif magic in (b"\xa1\xb2\xc3\xd4", b"\xa1\xb2\x3c\x4d"):
        end = ">"
    else:
        raise DecodeError(f"{path}: not a classic pcap")
    nsec = magic in (b"\x4d\x3c\xb2\xa1", b"\xa1\xb2\x3c\x4d")
    linktype = struct.unpack(end + "I", data[20:24])[0]
    if linktype != 1:
        raise DecodeError(f"{path}: link type {linktype}, want Ethernet (1)")
    off = 24
    while off + 16 <= len(data):
        sec, frac, incl, _orig = struct.unpack(end + "IIII", data[off:off + 16])
        off += 16
        frame = data[off:off + incl]
        off += incl
        yield sec + frac / (1e9 if nsec else 1e6), frame


def parse_frame(frame):
    """Ethernet/IPv4 -> (proto, src, sport, dst, dport, tcpinfo, payload) or None."""
    if len(frame) < 14:
        return None
    etype = struct.unpack(">H", frame[12:14])[0]
    ip = frame[14:]
    if etype != 0x0800 or len(ip) < 20 or ip[0] >> 4 != 4:
        return None
    ihl = (ip[0] & 15) * 4
    total = struct.unpack(">H", ip[2:4])[0]
    frag = struct.unpack(">H", ip[6:8])[0]
    if frag & 0x3FFF:
        print("pcap2vec: skipping an IP fragment", file=sys.stderr)
        return None
    proto = ip[9]
    src = ".".join(str(b) for b in ip[12:16])
    dst = ".".join(str(b) for b in ip[16:20])
    l4 = ip[ihl:total]
    if proto == 17 and len(l4) >= 8:
        sport, dport, ulen = struct.unpack(">HHH", l4[:6])
        return ("udp", src, sport, dst, dport, None, l4[8:ulen])
    if proto == 6 and len(l4) >= 20:
        sport, dport, seq = struct.unpack(">HHI", l4[:8])
        doff = (l4[12] >> 4) * 4
        flags = l4[13]
        return ("tcp", src, sport, dst, dport, (seq, flags), l4[doff:])
    return None


def collect(pcaps):
    """Return (udp list of (ts, src, dst, payload), tcp list of streams)."""
    frames = []
    for p in pcaps:
        frames.extend(read_pcap(p))
    frames.sort(key=lambda x: x[0])
    udp = []
    conns = {}      # (src, sport, dst, dport) -> current stream dict
    streams = []
    for ts, fr in frames:
        r = parse_frame(fr)
        if r is None:
            continue
        proto, src, sport, dst, dport, tcp, payload = r
        if PORT not in (sport, dport):
            continue
        if proto == "udp":
            udp.append((ts, src, dst, bytes(payload)))
            continue
        seq, flags = tcp
        key = (src, sport, dst, dport)
        if flags & 0x02:  # SYN: a new direction of a new connection
            st = {"ts": ts, "src": src, "dst": dst, "sport": sport, "dport": dport,
                  "isn": (seq + 1) & 0xFFFFFFFF, "segs": {}}
            conns[key] = st
            streams.append(st)
            continue
        st = conns.get(key)
        if st is None or not payload:
            continue
        rel = (seq - st["isn"]) & 0xFFFFFFFF
        st["segs"].setdefault(rel, bytes(payload))
    out = []
    for st in streams:
        buf = bytearray()
        for rel in sorted(st["segs"]):
            seg = st["segs"][rel]
            if rel > len(buf):
                raise DecodeError(f"gap in TCP stream {st['src']}:{st['sport']}")
            buf[rel:rel + len(seg)] = seg
        if buf:
            st["data"] = bytes(buf)
            out.append(st)
    return udp, out


# ---- msgpack (reference reader, lenient) ---------------------------------------
class MP:
    def __init__(self, b, pos=0):
        self.b, self.p = b, pos

    def take(self, n):
        if self.p + n > len(self.b):
            raise DecodeError("msgpack truncated")
        r = self.b[self.p:self.p + n]
        self.p += n
        return r

    def u(self, fmt):
        return struct.unpack(">" + fmt, self.take(struct.calcsize(fmt)))[0]

    def obj(self):
        t = self.take(1)[0]
        if t <= 0x7F:
            return t
        if t >= 0xE0:
            return t - 256
        if 0x80 <= t <= 0x8F:
            return self.map(t & 15)
        if 0x90 <= t <= 0x9F:
            return [self.obj() for _ in range(t & 15)]
        if 0xA0 <= t <= 0xBF:
            return self.take(t & 31)
        simple = {0xC0: None, 0xC2: False, 0xC3: True}
        if t in simple:
            return simple[t]
        lens = {0xC4: "B", 0xC5: "H", 0xC6: "I", 0xD9: "B", 0xDA: "H", 0xDB: "I"}
        if t in lens:
            return self.take(self.u(lens[t]))
        ints = {0xCC: "B", 0xCD: "H", 0xCE: "I", 0xCF: "Q",
                0xD0: "b", 0xD1: "h", 0xD2: "i", 0xD3: "q", 0xCA: "f", 0xCB: "d"}
        if t in ints:
            return self.u(ints[t])
        if t in (0xDC, 0xDD):
            return [self.obj() for _ in range(self.u("H" if t == 0xDC else "I"))]
        if t in (0xDE, 0xDF):
            return self.map(self.u("H" if t == 0xDE else "I"))
        raise DecodeError(f"msgpack type 0x{t:02x} unsupported")

    def map(self, n):
        m = {}
        for _ in range(n):
            k = self.obj()
            m[k.decode() if isinstance(k, bytes) else k] = self.obj()
        return m


def mp_map(b, pos=0):
    r = MP(b, pos)
    m = r.obj()
    if not isinstance(m, dict):
        raise DecodeError("msgpack: not a map")
    return m, r.p


# ---- Go compress/lzw, LSB, literal width 8 (reference decoder) -----------------
def lzw_decode(data):
    clear, eof = 256, 257
    bits = nbits = pos = 0
    width = 9
    table = [bytes([i]) for i in range(256)] + [b"", b""]
    prev = None
    full = False
    out = bytearray()
    while True:
        while nbits < width:
            if pos >= len(data):
                raise DecodeError("lzw: unexpected end")
            bits |= data[pos] << nbits
            pos += 1
            nbits += 8
        code = bits & ((1 << width) - 1)
        bits >>= width
        nbits -= width
        if code == clear:
            table = table[:258]
            width, prev, full = 9, None, False
            continue
        if code == eof:
            return bytes(out)
        if code < len(table) and code not in (clear, eof):
            entry = table[code]
            if prev is not None and not full:
                table.append(prev + entry[:1])
        elif code == len(table) and prev is not None and not full:
            entry = prev + prev[:1]
            table.append(entry)
        else:
            raise DecodeError("lzw: bad code")
        out += entry
        prev = entry
        if len(table) >= (1 << width):
            if width == 12:
                full = True
            else:
                width += 1


# ---- AES-GCM through libsodium -------------------------------------------------
class Sodium:
    def __init__(self):
        name = ctypes.util.find_library("sodium") or "libsodium.so.23"
        self.lib = ctypes.CDLL(name)
        if self.lib.sodium_init() < 0 or not self.lib.crypto_aead_aes256gcm_is_available():
            raise OSError("libsodium AES-256-GCM unavailable")

    def open(self, key, ad, sealed):
        if len(sealed) < 1 + 12 + 16:
            raise DecodeError("encrypted: too short")
        ver, nonce, ct = sealed[0], sealed[1:13], sealed[13:]
        if ver not in (0, 1):
            raise DecodeError(f"encrypted: version {ver}")
        out = ctypes.create_string_buffer(len(ct))
        olen = ctypes.c_ulonglong(0)
        rc = self.lib.crypto_aead_aes256gcm_decrypt(
            out, ctypes.byref(olen), None, ct, ctypes.c_ulonglong(len(ct)),
            ad, ctypes.c_ulonglong(len(ad)), nonce, key)
        if rc != 0:
            raise DecodeError("encrypted: authentication failed")
        pt = out.raw[:olen.value]
        if ver == 0:
            pad = pt[-1] if pt else 0
            if pad == 0 or pad > 16 or pad > len(pt):
                raise DecodeError("encrypted: bad padding")
            pt = pt[:-pad]
        return pt


# ---- memberlist messages -------------------------------------------------------
def ip_str(b):
    if isinstance(b, bytes) and len(b) == 4:
        return ".".join(str(x) for x in b)
    if isinstance(b, bytes) and len(b) == 16 and b[:12] == b"\0" * 10 + b"\xff\xff":
        return ".".join(str(x) for x in b[12:])
    return b.hex() if isinstance(b, bytes) else "?"


def s(v):
    return v.decode("utf-8", "replace") if isinstance(v, bytes) else ("" if v is None else str(v))


def summarize(msg):
    """One-message token for the manifest (see README.md)."""
    t = msg[0]
    if t == 8:
        return f"08/l{len(msg) - 1}", None
    m, end = mp_map(msg, 1)
    if end != len(msg):
        raise DecodeError(f"type {t}: {len(msg) - end} trailing bytes")
    if t in (0, 1):
        return f"{t:02x}/s{m.get('SeqNo', 0)}/{s(m.get('Node'))}", m
    if t == 2:
        return f"02/s{m.get('SeqNo', 0)}/p{len(m.get('Payload') or b'')}", m
    if t in (3, 5):
        return f"{t:02x}/i{m.get('Incarnation', 0)}/{s(m.get('Node'))}/{s(m.get('From'))}", m
    if t == 4:
        return (f"04/i{m.get('Incarnation', 0)}/{s(m.get('Node'))}/"
                f"{ip_str(m.get('Addr'))}:{m.get('Port', 0)}"), m
    if t == 11:
        return f"0b/s{m.get('SeqNo', 0)}", m
    return f"{t:02x}", m


def open_packet(buf, layers, msgs, depth=0):
    """Flatten a plaintext UDP packet into msgs, recording layers (outer first)."""
    if depth > 8 or not buf:
        raise DecodeError("packet: empty or nested too deep")
    t = buf[0]
    if t == 12:
        if len(buf) < 5:
            raise DecodeError("crc: short")
        want = struct.unpack(">I", buf[1:5])[0]
        if zlib.crc32(buf[5:]) & 0xFFFFFFFF != want:
            raise DecodeError("crc: mismatch")
        layers.append("crc")
        return open_packet(buf[5:], layers, msgs, depth + 1)
    if t == 9:
        m, end = mp_map(buf, 1)
        if m.get("Algo") != 0:
            raise DecodeError("compress: unknown algo")
        layers.append("lzw")
        return open_packet(lzw_decode(m["Buf"]), layers, msgs, depth + 1)
    if t == 7:
        if len(buf) < 2:
            raise DecodeError("compound: short")
        n = buf[1]
        off = 2 + 2 * n
        if len(buf) < off:
            raise DecodeError("compound: short header")
        layers.append("compound")
        for i in range(n):
            ln = struct.unpack(">H", buf[2 + 2 * i:4 + 2 * i])[0]
            if off + ln > len(buf):
                raise DecodeError("compound: truncated part")
            open_packet(buf[off:off + ln], layers, msgs, depth + 1)
            off += ln
        return
    msgs.append(buf)


def stream_frames(data):
    """Split a TCP direction into messages: (raw frame, first byte)."""
    out = []
    pos = 0
    while pos < len(data):
        t = data[pos]
        if t == 10:
            if pos + 5 > len(data):
                raise DecodeError("stream: short encrypt header")
            ln = struct.unpack(">I", data[pos + 1:pos + 5])[0]
            end = pos + 5 + ln
        else:
            # plaintext: one message runs to the end of what the sender wrote
            # (memberlist writes one message per stream direction)
            end = len(data)
        if end > len(data):
            raise DecodeError("stream: truncated")
        out.append(data[pos:end])
        pos = end
    return out


def open_stream_frame(fr, key, sodium, layers, first):
    if fr[0] == 10:
        if sodium is None:
            raise DecodeError("no libsodium")
        layers.append("enc")
        fr = sodium.open(key, fr[:5], fr[5:])
    first.append(fr[0])
    if fr[0] == 9:
        m, end = mp_map(fr, 1)
        if m.get("Algo") != 0:
            raise DecodeError("compress: unknown algo")
        layers.append("lzw")
        fr = lzw_decode(m["Buf"])
    return fr


def summarize_pushpull(msg, names):
    h, pos = mp_map(msg, 1)
    nodes = []
    for _ in range(h.get("Nodes", 0)):
        n, pos = mp_map(msg, pos)
        vsn = n.get("Vsn")
        if isinstance(vsn, bytes) and list(vsn) != [1, 5, 2, 2, 5, 5]:
            print(f"pcap2vec: note: {s(n.get('Name'))} Vsn {list(vsn)}", file=sys.stderr)
        nodes.append(f"{s(n.get('Name'))}/i{n.get('Incarnation', 0)}/st{n.get('State', 0)}/"
                     f"{ip_str(n.get('Addr'))}:{n.get('Port', 0)}")
    us = h.get("UserStateLen", 0)
    if pos + us != len(msg):
        raise DecodeError(f"pushpull: {len(msg) - pos} bytes after nodes, UserStateLen {us}")
    return (f"pp=j{1 if h.get('Join') else 0}/n{h.get('Nodes', 0)}/u{us}",
            "nodes=" + ";".join(nodes))


# ---- main ----------------------------------------------------------------------
def is_leave(msg):
    """A dead message with From == Node: the node left."""
    if msg[0] != 5:
        return False
    m, _ = mp_map(msg, 1)
    return m.get("Node") == m.get("From")


def kind_of(layers, msgs):
    if "compound" in layers:
        base = "compound"
    elif len(msgs) == 1:
        base = "leave" if is_leave(msgs[0]) else TYPE_NAMES.get(msgs[0][0], f"type{msgs[0][0]}")
    else:
        base = "empty"
    if "lzw" in layers:
        base += "-lzw"
    if "crc" in layers:
        base += "-crc"
    return base


def pick(items, cap):
    """Round-robin over signatures, in time order, up to cap items."""
    groups = {}
    for it in items:
        groups.setdefault(it["sig"], []).append(it)
    chosen = []
    order = sorted(groups, key=lambda g: groups[g][0]["ts"])
    i = 0
    while len(chosen) < cap and any(i < len(groups[g]) for g in order):
        for g in order:
            if i < len(groups[g]) and len(chosen) < cap:
                chosen.append(groups[g][i])
        i += 1
    return sorted(chosen, key=lambda it: it["ts"])


def main():
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--out", required=True)
    ap.add_argument("--key", required=True, help="base64 key of the encrypted run")
    ap.add_argument("--node", action="append", default=[], help="NAME=IPv4")
    ap.add_argument("--plain", nargs="*", default=[])
    ap.add_argument("--enc", nargs="*", default=[])
    ap.add_argument("--max-udp", type=int, default=30)
    ap.add_argument("--max-tcp", type=int, default=6)
    ap.add_argument("--wire-seeds", help="directory for single-message fuzz seeds")
    a = ap.parse_args()

    import base64
    key = base64.b64decode(a.key)
    names = {}
    for nv in a.node:
        n, ip = nv.split("=", 1)
        names[ip] = n
    try:
        sodium = Sodium()
    except OSError as e:
        print(f"pcap2vec: {e}: encrypted vectors left unclassified", file=sys.stderr)
        sodium = None

    os.makedirs(a.out, exist_ok=True)
    for f in os.listdir(a.out):
        if f.endswith(".bin") and (f.startswith("plain-") or f.startswith("enc-")):
            os.unlink(os.path.join(a.out, f))
    lines = [
        "# serf agent test vectors: see README.md. Columns:",
        "# name transport enc key type src dst len layers=... msgs=... [pp=... nodes=...]",
    ]
    for ip in sorted(names, key=lambda x: names[x]):
        lines.append(f"#node {names[ip]} {ip} {PORT}")
    wire = {}
    total = 0
    for mode, pcaps in (("plain", a.plain), ("enc", a.enc)):
        if not pcaps:
            continue
        enc = mode == "enc"
        udp, tcp = collect(pcaps)
        items = []
        for ts, src, dst, payload in udp:
            layers, msgs = [], []
            try:
                pt = payload
                if enc:
                    if sodium is None:
                        raise DecodeError("no libsodium")
                    pt = sodium.open(key, b"", payload)
                    layers.append("enc")
                open_packet(pt, layers, msgs)
                toks = [summarize(m)[0] for m in msgs]
                ptype = pt[0]
            except DecodeError as e:
                print(f"pcap2vec: {mode} udp {src}->{dst}: {e}", file=sys.stderr)
                continue
            for m in msgs:
                wire.setdefault(m[0], [])
                if len(wire[m[0]]) < 2 and m not in wire[m[0]]:
                    wire[m[0]].append(m)
            k = kind_of(layers, msgs)
            items.append({"ts": ts, "src": src, "dst": dst, "data": payload, "kind": k,
                          "type": ptype, "layers": layers, "toks": toks,
                          "sig": (k, tuple(sorted({-1 if is_leave(m) else m[0]
                                                   for m in msgs})))})
        titems = []
        for st in tcp:
            layers, toks, extra = [], [], []
            try:
                frames = stream_frames(st["data"])
                first, inner = [], []
                for fr in frames:
                    plain = open_stream_frame(fr, key, sodium, layers, first)
                    inner.append(plain[0])
                    if plain[0] == 6:
                        toks.append("06")
                        extra.extend(summarize_pushpull(plain, names))
                    else:
                        toks.append(summarize(plain)[0])
            except DecodeError as e:
                print(f"pcap2vec: {mode} tcp {st['src']}->{st['dst']}: {e}", file=sys.stderr)
                continue
            k = TYPE_NAMES.get(inner[0], f"type{inner[0]}")
            titems.append({"ts": st["ts"], "src": st["src"], "dst": st["dst"],
                           "data": st["data"], "kind": k, "type": first[0],
                           "layers": layers, "toks": toks, "extra": extra,
                           "sig": (k, st["src"] < st["dst"], len(titems))})
        print(f"pcap2vec: {mode}: {len(items)} UDP packets, {len(titems)} TCP directions",
              file=sys.stderr)
        for transport, chosen in (("udp", pick(items, a.max_udp)),
                                  ("tcp", pick(titems, a.max_tcp))):
            for i, it in enumerate(chosen, 1):
                name = f"{mode}-{transport}-{it['kind']}-{i:03d}.bin"
                with open(os.path.join(a.out, name), "wb") as f:
                    f.write(it["data"])
                total += len(it["data"])
                cols = [name, transport, "y" if enc else "n", a.key if enc else "-",
                        f"{it['type']:02x}", names.get(it["src"], it["src"]),
                        names.get(it["dst"], it["dst"]), str(len(it["data"])),
                        "layers=" + (",".join(dict.fromkeys(it["layers"])) or "-"),
                        "msgs=" + ";".join(it["toks"])] + it.get("extra", [])
                lines.append(" ".join(cols))
    with open(os.path.join(a.out, "MANIFEST"), "w") as f:
        f.write("\n".join(lines) + "\n")
    if a.wire_seeds:
        os.makedirs(a.wire_seeds, exist_ok=True)
        for t, ms in sorted(wire.items()):
            for i, m in enumerate(ms, 1):
                with open(os.path.join(a.wire_seeds, f"serf-{TYPE_NAMES.get(t, t)}-{i}"), "wb") as f:
                    f.write(m)
    print(f"pcap2vec: wrote {len(lines)} manifest lines, {total} vector bytes", file=sys.stderr)


if __name__ == "__main__":
    main()
