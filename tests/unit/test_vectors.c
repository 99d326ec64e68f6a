/*
 * Real serf agent bytes (tests/vectors, see its README.md) through proto/:
 * every UDP vector is opened with ovg_packet_open and each message decoded with
 * ovg_wire_decode; every TCP vector is framed with ovg_stream_frame_len, opened
 * with ovg_stream_open and its push-pull parsed. The decoded content is compared
 * with MANIFEST, which an independent reference decoder (pcap2vec.py) wrote, and
 * everything serf encodes deterministically is re-encoded and compared byte for
 * byte: messages, compounds, LZW, CRC and the AES-GCM seal (nonce taken from the
 * vector). Runs from the repository root (make unit).
 */
#include <check.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ovg/crypt.h"
#include "ovg/frame.h"
#include "ovg/wire.h"

#define VEC_DIR      "tests/vectors"
#define VEC_MAX      256
#define NODE_MAX     16
#define FIELD_MAX    2048
#define SCRATCH_LEN  (1u << 20)
#define MSGS_MAX     OVG_PACKET_MSGS_MAX

static const uint8_t serf_vsn[OVG_VSN_LEN] = { 1, 5, 2, 2, 5, 5 };

struct vec_node {
	char name[64];
	uint8_t ip[4];
	uint16_t port;
};

struct vec {
	char name[128];
	bool tcp;
	bool enc;
	char key[OVG_KEY_B64_MAX];
	unsigned type;
	char src[64], dst[64];
	size_t len;
	char layers[64];
	char msgs[FIELD_MAX];
	char pp[64];
	char nodes[FIELD_MAX];
};

static struct vec_node nodes[NODE_MAX];
static size_t n_nodes;
static struct vec vecs[VEC_MAX];
static size_t n_vecs;
static size_t udp_idx[VEC_MAX], n_udp;
static size_t tcp_idx[VEC_MAX], n_tcp;
static bool have_crypt;
static uint8_t scratch_buf[SCRATCH_LEN];
static uint8_t work_buf[SCRATCH_LEN];
static uint8_t work2_buf[SCRATCH_LEN];

/* ---- manifest ----------------------------------------------------------- */

static int parse_ipv4(const char *s, uint8_t ip[4])
{
	unsigned a, b, c, d;
	char tail;

	if (sscanf(s, "%u.%u.%u.%u%c", &a, &b, &c, &d, &tail) != 4 || a > 255 || b > 255 ||
	    c > 255 || d > 255)
		return -EINVAL;
	ip[0] = a, ip[1] = b, ip[2] = c, ip[3] = d;
	return 0;
}

static void copy_field(char *dst, size_t cap, const char *src)
{
	size_t n = strlen(src);

	if (n >= cap) {
		fprintf(stderr, "MANIFEST: field too long: %.40s...\n", src);
		exit(2);
	}
	memcpy(dst, src, n + 1);
}

static int parse_vec_line(char *line, struct vec *v)
{
	char *tok[16], *save = NULL;
	size_t n = 0;

	for (char *t = strtok_r(line, " \t\n", &save); t && n < OVG_ARRAY_SIZE(tok);
	     t = strtok_r(NULL, " \t\n", &save))
		tok[n++] = t;
	if (n < 10)
		return -EINVAL;
	memset(v, 0, sizeof(*v));
	copy_field(v->name, sizeof(v->name), tok[0]);
	v->tcp = strcmp(tok[1], "tcp") == 0;
	v->enc = strcmp(tok[2], "y") == 0;
	copy_field(v->key, sizeof(v->key), tok[3]);
	v->type = (unsigned)strtoul(tok[4], NULL, 16);
	copy_field(v->src, sizeof(v->src), tok[5]);
	copy_field(v->dst, sizeof(v->dst), tok[6]);
	v->len = strtoul(tok[7], NULL, 10);
	for (size_t i = 8; i < n; i++) {
		if (!strncmp(tok[i], "layers=", 7))
			copy_field(v->layers, sizeof(v->layers), tok[i] + 7);
		else if (!strncmp(tok[i], "msgs=", 5))
			copy_field(v->msgs, sizeof(v->msgs), tok[i] + 5);
		else if (!strncmp(tok[i], "pp=", 3))
			copy_field(v->pp, sizeof(v->pp), tok[i] + 3);
		else if (!strncmp(tok[i], "nodes=", 6))
			copy_field(v->nodes, sizeof(v->nodes), tok[i] + 6);
	}
	return 0;
}

static void load_manifest(void)
{
	char line[8192];
	FILE *f = fopen(VEC_DIR "/MANIFEST", "r");

	if (!f) {
		perror(VEC_DIR "/MANIFEST (run from the repository root)");
		exit(2);
	}
	while (fgets(line, sizeof(line), f)) {
		if (!strncmp(line, "#node ", 6)) {
			char name[64], ip[32];
			unsigned port;
			if (n_nodes >= NODE_MAX ||
			    sscanf(line + 6, "%63s %31s %u", name, ip, &port) != 3 ||
			    parse_ipv4(ip, nodes[n_nodes].ip) || port > 65535) {
				fprintf(stderr, "MANIFEST: bad node line: %s", line);
				exit(2);
			}
			copy_field(nodes[n_nodes].name, sizeof(nodes[n_nodes].name), name);
			nodes[n_nodes++].port = (uint16_t)port;
			continue;
		}
		if (line[0] == '#' || line[0] == '\n')
			continue;
		if (n_vecs >= VEC_MAX || parse_vec_line(line, &vecs[n_vecs])) {
			fprintf(stderr, "MANIFEST: bad or too many lines at: %s", line);
			exit(2);
		}
		if (vecs[n_vecs].tcp)
			tcp_idx[n_tcp++] = n_vecs;
		else
			udp_idx[n_udp++] = n_vecs;
		n_vecs++;
	}
	fclose(f);
}

static uint8_t *load_vec(const struct vec *v, size_t *len)
{
	char path[256];
	uint8_t *buf;
	FILE *f;

	snprintf(path, sizeof(path), VEC_DIR "/%s", v->name);
	f = fopen(path, "rb");
	ck_assert_msg(f != NULL, "%s: cannot open", path);
	buf = malloc(v->len + 1);
	ck_assert_ptr_nonnull(buf);
	*len = fread(buf, 1, v->len + 1, f);
	fclose(f);
	ck_assert_msg(*len == v->len, "%s: %zu bytes, MANIFEST says %zu", v->name, *len, v->len);
	return buf;
}

static const struct vec_node *node_by_name(struct ovg_bytes name)
{
	for (size_t i = 0; i < n_nodes; i++)
		if (ovg_bytes_eq_str(name, nodes[i].name))
			return &nodes[i];
	return NULL;
}

static bool has_layer(const struct vec *v, const char *layer)
{
	char buf[sizeof(v->layers)], *save = NULL;

	memcpy(buf, v->layers, sizeof(buf));
	for (char *t = strtok_r(buf, ",", &save); t; t = strtok_r(NULL, ",", &save))
		if (!strcmp(t, layer))
			return true;
	return false;
}

static void keyring_for(const struct vec *v, struct ovg_keyring *kr)
{
	uint8_t key[OVG_KEY_LEN];

	memset(kr, 0, sizeof(*kr));
	if (!v->enc)
		return;
	ck_assert_int_eq(ovg_key_decode(v->key, key), 0);
	ck_assert_int_eq(ovg_keyring_install(kr, key), 0);
}

static void wrong_keyring(struct ovg_keyring *kr)
{
	uint8_t key[OVG_KEY_LEN];

	memset(kr, 0, sizeof(*kr));
	memset(key, 0x5a, sizeof(key));
	ck_assert_int_eq(ovg_keyring_install(kr, key), 0);
}

/* The compress/lzw writer of the Go this serf was built with starts with a
 * clear code; LZW is deterministic, so ours must give serf's bytes exactly. */
static bool lzw_matches_serf(const uint8_t *ours, size_t ours_len, const uint8_t *serf,
			     size_t serf_len)
{
	return ours_len == serf_len && memcmp(ours, serf, ours_len) == 0;
}

/* ---- summaries in MANIFEST's token format (README.md) ------------------- */

static void append(char *out, size_t cap, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
static void append(char *out, size_t cap, const char *fmt, ...)
{
	size_t n = strlen(out);
	va_list ap;
	int w;

	va_start(ap, fmt);
	w = vsnprintf(out + n, cap - n, fmt, ap);
	va_end(ap);
	ck_assert_msg(w >= 0 && (size_t)w < cap - n, "summary overflow");
}

static void fmt_addr(char *out, size_t cap, struct ovg_bytes a, unsigned port)
{
	const uint8_t *p = a.p;

	if (a.len == 16)
		p += 12;    /* IPv4-mapped; the reference prints those as IPv4 too */
	if (a.len == 4 || a.len == 16)
		snprintf(out, cap, "%u.%u.%u.%u:%u", p[0], p[1], p[2], p[3], port);
	else
		snprintf(out, cap, "?:%u", port);
}

/* The node table agrees with a (name, address, port) triple from the wire. */
static void check_node_addr(const char *vname, struct ovg_bytes name, struct ovg_bytes addr,
			    uint16_t port)
{
	const struct vec_node *nd = node_by_name(name);

	ck_assert_msg(nd != NULL, "%s: unknown node %.*s", vname, (int)name.len, name.p);
	ck_assert_msg(addr.len == 4 && memcmp(addr.p, nd->ip, 4) == 0,
		      "%s: %s has a different address", vname, nd->name);
	ck_assert_msg(port == nd->port, "%s: %s port %u", vname, nd->name, port);
}

static void summarize_msg(const struct vec *v, const struct ovg_msg *m, char *out, size_t cap)
{
	char a[64];

	switch (m->type) {
	case OVG_MSG_PING:
		append(out, cap, "00/s%u/%.*s", m->u.ping.seq_no, (int)m->u.ping.node.len,
		       m->u.ping.node.p);
		if (m->u.ping.source_node.len) {
			ck_assert_msg(ovg_bytes_eq_str(m->u.ping.source_node, v->src),
				      "%s: ping SourceNode is not the sender %s", v->name, v->src);
			check_node_addr(v->name, m->u.ping.source_node, m->u.ping.source_addr,
					m->u.ping.source_port);
		}
		break;
	case OVG_MSG_INDIRECT_PING:
		append(out, cap, "01/s%u/%.*s", m->u.indirect_ping.seq_no,
		       (int)m->u.indirect_ping.node.len, m->u.indirect_ping.node.p);
		check_node_addr(v->name, m->u.indirect_ping.node, m->u.indirect_ping.target,
				m->u.indirect_ping.port);
		break;
	case OVG_MSG_ACK:
		append(out, cap, "02/s%u/p%zu", m->u.ack.seq_no, m->u.ack.payload.len);
		break;
	case OVG_MSG_NACK:
		append(out, cap, "0b/s%u", m->u.nack.seq_no);
		break;
	case OVG_MSG_SUSPECT:
	case OVG_MSG_DEAD:
		append(out, cap, "%02x/i%u/%.*s/%.*s", m->type, m->u.suspect.incarnation,
		       (int)m->u.suspect.node.len, m->u.suspect.node.p,
		       (int)m->u.suspect.from.len, m->u.suspect.from.p);
		break;
	case OVG_MSG_ALIVE:
		fmt_addr(a, sizeof(a), m->u.alive.addr, m->u.alive.port);
		append(out, cap, "04/i%u/%.*s/%s", m->u.alive.incarnation,
		       (int)m->u.alive.node.len, m->u.alive.node.p, a);
		ck_assert_msg(m->u.alive.vsn_len == OVG_VSN_LEN &&
			      memcmp(m->u.alive.vsn, serf_vsn, OVG_VSN_LEN) == 0,
			      "%s: alive Vsn is not [1,5,2,2,5,5]", v->name);
		/* serf's node meta: 0xff then its msgpack tag map */
		ck_assert_msg(m->u.alive.meta.len >= 1 && m->u.alive.meta.p[0] == 0xff,
			      "%s: alive Meta is not serf tags", v->name);
		check_node_addr(v->name, m->u.alive.node, m->u.alive.addr, m->u.alive.port);
		break;
	case OVG_MSG_USER:
		append(out, cap, "08/l%zu", m->u.user.len);
		break;
	default:
		append(out, cap, "%02x", m->type);
		break;
	}
}

/* ---- UDP ---------------------------------------------------------------- */

/* Decode every message, compare with MANIFEST, re-encode byte-identically. */
static void check_messages(const struct vec *v, const struct ovg_bytes *msgs, size_t n)
{
	char sum[FIELD_MAX] = "";

	for (size_t i = 0; i < n; i++) {
		struct ovg_msg m;
		size_t elen = 0;
		int rc = ovg_wire_decode(msgs[i].p, msgs[i].len, &m);

		ck_assert_msg(rc == 0, "%s: message %zu (type %u, %zu bytes): ovg_wire_decode %d",
			      v->name, i, msgs[i].len ? msgs[i].p[0] : 0, msgs[i].len, rc);
		if (i)
			append(sum, sizeof(sum), ";");
		summarize_msg(v, &m, sum, sizeof(sum));
		rc = ovg_wire_encode(&m, work_buf, sizeof(work_buf), &elen);
		ck_assert_msg(rc == 0, "%s: message %zu: ovg_wire_encode %d", v->name, i, rc);
		ck_assert_msg(elen == msgs[i].len && memcmp(work_buf, msgs[i].p, elen) == 0,
			      "%s: message %zu (%s) re-encodes to different bytes (%zu vs %zu)",
			      v->name, i, ovg_wire_type_name(m.type), elen, msgs[i].len);
	}
	ck_assert_msg(strcmp(sum, v->msgs) == 0, "%s: decoded\n  %s\nMANIFEST\n  %s", v->name,
		      sum, v->msgs);
}

/* Rebuild the packet from the opened messages: compound, LZW, CRC, seal. */
static void check_udp_rebuild(const struct vec *v, const struct ovg_keyring *kr,
			      const uint8_t *raw, size_t len, const struct ovg_bytes *msgs,
			      size_t n)
{
	static uint8_t pt_buf[OVG_UDP_RECV_MAX], lz_buf[OVG_UDP_RECV_MAX];
	uint8_t nonce[OVG_NONCE_LEN] = { 0 };
	const uint8_t *pt = raw, *body, *inner;
	size_t pt_len = len, body_len, inner_len, out_len, used;
	bool crc;
	int rc;

	if (v->enc) {
		ck_assert_int_eq(ovg_crypt_open(kr, NULL, 0, raw, len, pt_buf, sizeof(pt_buf),
						&pt_len), 0);
		ck_assert_int_eq(raw[0], 1);   /* serf seals with version 1 */
		memcpy(nonce, raw + 1, OVG_NONCE_LEN);
		pt = pt_buf;
	}
	ck_assert_msg(pt_len > 0 && pt[0] == v->type, "%s: first byte %02x, MANIFEST %02x",
		      v->name, pt_len ? pt[0] : 0, v->type);
	crc = pt[0] == OVG_MSG_HAS_CRC;
	ck_assert_int_eq(crc, has_layer(v, "crc"));
	body = crc ? pt + 5 : pt;
	body_len = crc ? pt_len - 5 : pt_len;
	if (crc)
		ck_assert_uint_eq(ovg_get_be32(pt + 1), ovg_crc32(body, body_len));

	inner = body;
	inner_len = body_len;
	ck_assert_int_eq(body[0] == OVG_MSG_COMPRESS, has_layer(v, "lzw"));
	if (body[0] == OVG_MSG_COMPRESS) {
		struct ovg_msg cm;
		ck_assert_int_eq(ovg_wire_decode(body, body_len, &cm), 0);
		ck_assert_int_eq(cm.u.compress.algo, 0);
		ck_assert_int_eq(ovg_lzw_decode(cm.u.compress.buf.p, cm.u.compress.buf.len,
						lz_buf, sizeof(lz_buf), &inner_len), 0);
		inner = lz_buf;
		rc = ovg_lzw_encode(inner, inner_len, work2_buf, sizeof(work2_buf), &out_len);
		ck_assert_msg(rc == 0 && lzw_matches_serf(work2_buf, out_len, cm.u.compress.buf.p,
							  cm.u.compress.buf.len),
			      "%s: ovg_lzw_encode differs from serf's LZW (%d, %zu vs %zu bytes)",
			      v->name, rc, out_len, cm.u.compress.buf.len);
	}
	ck_assert_int_eq(inner[0] == OVG_MSG_COMPOUND, has_layer(v, "compound"));
	if (inner[0] == OVG_MSG_COMPOUND && inner[1] == n && n > 1) {
		rc = ovg_compound_build(msgs, n, inner_len, work2_buf, sizeof(work2_buf),
					&out_len, &used);
		ck_assert_msg(rc == 0 && used == n && out_len == inner_len &&
			      memcmp(work2_buf, inner, out_len) == 0,
			      "%s: ovg_compound_build differs from serf's compound", v->name);
	} else if (inner[0] != OVG_MSG_COMPOUND) {
		ck_assert_uint_eq(n, 1);
		ck_assert(msgs[0].len == inner_len && memcmp(msgs[0].p, inner, inner_len) == 0);
	}

	rc = ovg_packet_seal(kr, nonce, crc, body, body_len, work2_buf, sizeof(work2_buf),
			     &out_len);
	ck_assert_msg(rc == 0 && out_len == len && memcmp(work2_buf, raw, len) == 0,
		      "%s: ovg_packet_seal does not reproduce serf's packet (%d, %zu vs %zu)",
		      v->name, rc, out_len, len);
}

START_TEST(udp_vector_opens_decodes_and_reencodes)
{
	const struct vec *v = &vecs[udp_idx[_i]];
	struct ovg_frame_scratch sc = { scratch_buf, sizeof(scratch_buf) };
	static struct ovg_bytes msgs[MSGS_MAX];
	struct ovg_keyring kr, bad;
	size_t len, n = 0;
	uint8_t *raw;
	int rc;

	if (v->enc && !have_crypt) {
		fprintf(stderr, "%s: skipped, no AES-GCM on this CPU\n", v->name);
		return;
	}
	raw = load_vec(v, &len);
	keyring_for(v, &kr);
	rc = ovg_packet_open(&kr, raw, len, &sc, msgs, MSGS_MAX, &n);
	ck_assert_msg(rc == 0, "%s: ovg_packet_open %d", v->name, rc);
	check_messages(v, msgs, n);
	check_udp_rebuild(v, &kr, raw, len, msgs, n);

	/* the other side of the key rules */
	if (have_crypt) {
		wrong_keyring(&bad);
		ck_assert_msg(ovg_packet_open(&bad, raw, len, &sc, msgs, MSGS_MAX, &n) == -EACCES,
			      "%s: opened with a wrong key (or plaintext under a keyring)",
			      v->name);
	}
	/* a CRC packet with one bit flipped after the header must fail */
	if (!v->enc && raw[0] == OVG_MSG_HAS_CRC) {
		raw[len - 1] ^= 0x01;
		ck_assert_int_eq(ovg_packet_open(&kr, raw, len, &sc, msgs, MSGS_MAX, &n), -EBADMSG);
	}
	free(raw);
}
END_TEST

/* ---- TCP ---------------------------------------------------------------- */

static void check_push_pull(const struct vec *v, const uint8_t *p, size_t len)
{
	struct ovg_push_pull_header h;
	char sum[FIELD_MAX] = "", pp[64];
	size_t pos = 1, start, elen;
	int rc;

	ck_assert_msg(len > 1 && p[0] == OVG_MSG_PUSH_PULL, "%s: not a push-pull", v->name);
	start = pos;
	rc = ovg_wire_decode_push_pull_header(p, len, &pos, &h);
	ck_assert_msg(rc == 0, "%s: push-pull header %d", v->name, rc);
	ck_assert_int_eq(ovg_wire_encode_push_pull_header(&h, work_buf, sizeof(work_buf), &elen), 0);
	ck_assert_msg(elen == pos - start && memcmp(work_buf, p + start, elen) == 0,
		      "%s: push-pull header re-encodes differently", v->name);
	snprintf(pp, sizeof(pp), "j%d/n%lld/u%lld", h.join ? 1 : 0, (long long)h.nodes,
		 (long long)h.user_state_len);
	ck_assert_msg(strcmp(pp, v->pp) == 0, "%s: header %s, MANIFEST %s", v->name, pp, v->pp);
	ck_assert(h.nodes >= 0 && h.nodes <= (int64_t)n_nodes);
	for (int64_t i = 0; i < h.nodes; i++) {
		struct ovg_push_node nd;
		char a[64];

		start = pos;
		rc = ovg_wire_decode_push_node(p, len, &pos, &nd);
		ck_assert_msg(rc == 0, "%s: push-pull node %lld: %d", v->name, (long long)i, rc);
		ck_assert_int_eq(ovg_wire_encode_push_node(&nd, work_buf, sizeof(work_buf), &elen), 0);
		ck_assert_msg(elen == pos - start && memcmp(work_buf, p + start, elen) == 0,
			      "%s: push-pull node %lld re-encodes differently", v->name,
			      (long long)i);
		ck_assert_msg(nd.vsn_len == OVG_VSN_LEN && !memcmp(nd.vsn, serf_vsn, OVG_VSN_LEN),
			      "%s: node Vsn is not [1,5,2,2,5,5]", v->name);
		check_node_addr(v->name, nd.name, nd.addr, nd.port);
		fmt_addr(a, sizeof(a), nd.addr, nd.port);
		append(sum, sizeof(sum), "%s%.*s/i%u/st%u/%s", i ? ";" : "", (int)nd.name.len,
		       nd.name.p, nd.incarnation, nd.state, a);
	}
	ck_assert_msg(strcmp(sum, v->nodes) == 0, "%s: nodes\n  %s\nMANIFEST\n  %s", v->name, sum,
		      v->nodes);
	/* what is left is serf's user state, which starts with its pushPull type 02 */
	ck_assert_uint_eq(len - pos, (size_t)h.user_state_len);
	if (h.user_state_len > 0)
		ck_assert_int_eq(p[pos], 2);
}

START_TEST(tcp_vector_frames_opens_and_reseals)
{
	const struct vec *v = &vecs[tcp_idx[_i]];
	struct ovg_frame_scratch sc = { scratch_buf, sizeof(scratch_buf) };
	struct ovg_keyring kr, bad;
	struct ovg_bytes plain;
	uint8_t nonce[OVG_NONCE_LEN] = { 0 };
	size_t len, flen, out_len;
	uint8_t *raw;
	int rc;

	if (v->enc && !have_crypt) {
		fprintf(stderr, "%s: skipped, no AES-GCM on this CPU\n", v->name);
		return;
	}
	raw = load_vec(v, &len);
	keyring_for(v, &kr);

	/* memberlist writes one message per direction: one frame, the whole vector;
	 * a shorter prefix asks for more bytes or already knows the full length */
	rc = ovg_stream_frame_len(raw, len, &flen);
	ck_assert_msg(rc == 0 && flen == len, "%s: ovg_stream_frame_len %d, %zu of %zu bytes",
		      v->name, rc, flen, len);
	for (size_t cut = 0; cut < len; cut++) {
		flen = 0;
		rc = ovg_stream_frame_len(raw, cut, &flen);
		ck_assert_msg(rc == -EAGAIN || (rc == 0 && flen == len),
			      "%s: prefix of %zu bytes gives %d (frame_len %zu)", v->name, cut, rc,
			      flen);
	}
	ck_assert_int_eq(raw[0], v->enc ? OVG_MSG_ENCRYPT : v->type);

	rc = ovg_stream_open(&kr, raw, len, &sc, &plain);
	ck_assert_msg(rc == 0, "%s: ovg_stream_open %d", v->name, rc);
	ck_assert_str_eq(v->msgs, "06");
	check_push_pull(v, plain.p, plain.len);

	/* serf compressed it: check the LZW layer and the seal */
	{
		static uint8_t pt_buf[1 << 16];
		const uint8_t *pt = raw;
		size_t pt_len = len;
		struct ovg_msg cm;

		if (v->enc) {
			ck_assert_uint_ge(len, 5 + OVG_CRYPT_OVERHEAD);
			ck_assert_uint_eq(ovg_get_be32(raw + 1), len - 5);
			ck_assert_int_eq(ovg_crypt_open(&kr, raw, 5, raw + 5, len - 5, pt_buf,
							sizeof(pt_buf), &pt_len), 0);
			ck_assert_int_eq(raw[5], 1);
			memcpy(nonce, raw + 6, OVG_NONCE_LEN);
			pt = pt_buf;
		}
		ck_assert_int_eq(pt[0], v->type);
		ck_assert_int_eq(pt[0] == OVG_MSG_COMPRESS, has_layer(v, "lzw"));
		ck_assert_msg(pt[0] == OVG_MSG_COMPRESS, "%s: serf's push-pull is not compressed",
			      v->name);
		ck_assert_int_eq(ovg_wire_decode(pt, pt_len, &cm), 0);
		rc = ovg_lzw_encode(plain.p, plain.len, work2_buf, sizeof(work2_buf), &out_len);
		ck_assert_msg(rc == 0 && lzw_matches_serf(work2_buf, out_len, cm.u.compress.buf.p,
							  cm.u.compress.buf.len),
			      "%s: ovg_lzw_encode differs from serf's LZW (%d, %zu vs %zu bytes)",
			      v->name, rc, out_len, cm.u.compress.buf.len);

		/* sealing serf's compressed message with serf's nonce gives serf's bytes */
		memcpy(work_buf, pt, pt_len);
		rc = ovg_stream_seal(&kr, nonce, false, work_buf, pt_len, &sc, work2_buf,
				     sizeof(work2_buf), &out_len);
		ck_assert_msg(rc == 0 && out_len == len && !memcmp(work2_buf, raw, len),
			      "%s: ovg_stream_seal does not reproduce serf's stream (%d, %zu vs %zu)",
			      v->name, rc, out_len, len);

		/* and so does compressing and sealing the push-pull ourselves
		 * (plain is a view into scratch: copy it out first) */
		memcpy(work_buf, plain.p, plain.len);
		rc = ovg_stream_seal(&kr, nonce, true, work_buf, plain.len, &sc, work2_buf,
				     sizeof(work2_buf), &out_len);
		ck_assert_msg(rc == 0 && out_len == len && !memcmp(work2_buf, raw, len),
			      "%s: compress+seal does not reproduce serf's stream (%d, %zu vs %zu)",
			      v->name, rc, out_len, len);
	}

	if (have_crypt) {
		wrong_keyring(&bad);
		ck_assert_int_eq(ovg_stream_open(&bad, raw, len, &sc, &plain), -EACCES);
	}
	free(raw);
}
END_TEST

/* The committed capture covers what the issue asks for. */
START_TEST(manifest_covers_the_required_kinds)
{
	static const char *const need[] = {
		"plain-udp-ping-", "plain-udp-ack", "plain-udp-compound-lzw-crc-",
		"plain-udp-compound-crc-", "plain-udp-suspect-crc-", "plain-udp-dead-crc-",
		"plain-udp-leave-crc-", "plain-tcp-pushpull-",
		"enc-udp-ping-", "enc-udp-ack", "enc-udp-compound-lzw-crc-", "enc-tcp-pushpull-",
	};
	bool alive = false;

	for (size_t i = 0; i < OVG_ARRAY_SIZE(need); i++) {
		bool found = false;
		for (size_t j = 0; j < n_vecs && !found; j++)
			found = !strncmp(vecs[j].name, need[i], strlen(need[i]));
		ck_assert_msg(found, "no vector named %s*", need[i]);
	}
	for (size_t j = 0; j < n_vecs; j++)
		alive = alive || (vecs[j].enc && strstr(vecs[j].msgs, "04/"));
	ck_assert_msg(alive, "no encrypted alive message");
	ck_assert_uint_ge(n_nodes, 2);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("vectors");
	TCase *tc = tcase_create("serf");
	SRunner *sr;
	int failed;

	load_manifest();
	have_crypt = ovg_crypt_available();
	tcase_set_timeout(tc, 20);
	tcase_add_test(tc, manifest_covers_the_required_kinds);
	tcase_add_loop_test(tc, udp_vector_opens_decodes_and_reencodes, 0, (int)n_udp);
	tcase_add_loop_test(tc, tcp_vector_frames_opens_and_reseals, 0, (int)n_tcp);
	suite_add_tcase(s, tc);
	sr = srunner_create(s);
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
