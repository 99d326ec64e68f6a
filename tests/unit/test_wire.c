/* proto/wire.c: memberlist message codecs, byte-exact against what serf sends. */
#include <check.h>

#include "helper_hex.h"
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "ovg/mp.h"
#include "ovg/wire.h"

static uint64_t g_seed;

#define hx ovg_test_hex

static bool beq(struct ovg_bytes a, struct ovg_bytes b)
{
	return a.len == b.len && (a.len == 0 || memcmp(a.p, b.p, a.len) == 0);
}

static bool beq_hex(struct ovg_bytes a, const char *hex)
{
	uint8_t b[64];
	size_t n = hx(hex, b, sizeof(b));
	return beq(a, ovg_bytes_make(b, n));
}

static const uint8_t ip4[4] = { 127, 0, 0, 1 };
static const uint8_t ip4b[4] = { 10, 0, 0, 1 };
static const uint8_t ip4c[4] = { 10, 0, 0, 3 };

#define B(s) ovg_bytes_make(s, sizeof(s) - 1)

/* Encode m and compare with the hex vector; then decode the vector and
 * re-encode: the same bytes again. */
static void check_vector(const struct ovg_msg *m, const char *hex)
{
	uint8_t want[512], got[512], again[512];
	size_t wlen = hx(hex, want, sizeof(want)), len, len2;
	struct ovg_msg d;

	ck_assert_int_eq(ovg_wire_encode(m, got, sizeof(got), &len), 0);
	ck_assert_uint_eq(len, wlen);
	ck_assert_mem_eq(got, want, wlen);
	ck_assert_int_eq(ovg_wire_decode(want, wlen, &d), 0);
	ck_assert_int_eq(d.type, m->type);
	ck_assert_int_eq(ovg_wire_encode(&d, again, sizeof(again), &len2), 0);
	ck_assert_uint_eq(len2, wlen);
	ck_assert_mem_eq(again, want, wlen);
	/* every shorter buffer: -ENOSPC */
	for (size_t cap = 0; cap < wlen; cap++)
		ck_assert_int_eq(ovg_wire_encode(m, got, cap, &len), -ENOSPC);
	/* every truncation of the wire bytes is refused (USER has no framing) */
	if (m->type != OVG_MSG_USER)
		for (size_t cut = 0; cut < wlen; cut++)
			ck_assert_msg(ovg_wire_decode(want, cut, &d) != 0, "%s cut at %zu",
				      ovg_wire_type_name(m->type), cut);
}

static struct ovg_msg decode_hex(const char *hex, int want_rc)
{
	static uint8_t b[1024];
	struct ovg_msg m;
	size_t n = hx(hex, b, sizeof(b));
	int rc = ovg_wire_decode(b, n, &m);
	ck_assert_msg(rc == want_rc, "decode %s: %d, want %d", hex, rc, want_rc);
	return m;
}

/* ---- exact bytes -------------------------------------------------------- */

START_TEST(alive_matches_serf_bytes_keys_sorted)
{
	struct ovg_msg m = { .type = OVG_MSG_ALIVE };
	m.u.alive = (struct ovg_alive){ .incarnation = 1, .node = B("n1"),
					.addr = ovg_bytes_make(ip4, 4), .port = 7946,
					.vsn = OVG_VSN_DEFAULT, .vsn_len = 6 };
	check_vector(&m, "04 86 a4'Addr' a4 7f000001 ab'Incarnation' 01 a4'Meta' c0"
			 " a4'Node' a2'n1' a4'Port' cd 1f0a a3'Vsn' a6 01 05 02 02 05 05");
	/* vsn_len 0 still sends the 6-byte default */
	m.u.alive.vsn_len = 0;
	memset(m.u.alive.vsn, 0, sizeof(m.u.alive.vsn));
	m.u.alive.meta = B("\xff\x80");
	check_vector(&m, "04 86 a4'Addr' a4 7f000001 ab'Incarnation' 01 a4'Meta' a2 ff80"
			 " a4'Node' a2'n1' a4'Port' cd 1f0a a3'Vsn' a6 01 05 02 02 05 05");
}
END_TEST

START_TEST(ping_leaves_out_empty_source_fields)
{
	struct ovg_msg m = { .type = OVG_MSG_PING };
	m.u.ping = (struct ovg_ping){ .seq_no = 5, .node = B("n2") };
	check_vector(&m, "00 82 a4'Node' a2'n2' a5'SeqNo' 05");
	m.u.ping.node = ovg_bytes_make(NULL, 0);
	check_vector(&m, "00 82 a4'Node' a0 a5'SeqNo' 05");
	m.u.ping = (struct ovg_ping){ .seq_no = 300, .node = B("n2"),
				      .source_addr = ovg_bytes_make(ip4b, 4), .source_port = 7946,
				      .source_node = B("n1") };
	check_vector(&m, "00 85 a4'Node' a2'n2' a5'SeqNo' cd 012c aa'SourceAddr' a4 0a000001"
			 " aa'SourceNode' a2'n1' aa'SourcePort' cd 1f0a");
	m.u.ping.source_addr.len = 0;
	m.u.ping.source_node.len = 0;
	check_vector(&m, "00 83 a4'Node' a2'n2' a5'SeqNo' cd 012c aa'SourcePort' cd 1f0a");
}
END_TEST

START_TEST(indirect_ping_exact_bytes)
{
	struct ovg_msg m = { .type = OVG_MSG_INDIRECT_PING };
	m.u.indirect_ping = (struct ovg_indirect_ping){
		.seq_no = 7, .target = ovg_bytes_make(ip4c, 4), .port = 7946, .node = B("n3"),
		.nack = true, .source_addr = ovg_bytes_make(ip4b, 4), .source_port = 7946,
		.source_node = B("n1") };
	check_vector(&m, "01 88 a4'Nack' c3 a4'Node' a2'n3' a4'Port' cd 1f0a a5'SeqNo' 07"
			 " aa'SourceAddr' a4 0a000001 aa'SourceNode' a2'n1' aa'SourcePort' cd 1f0a"
			 " a6'Target' a4 0a000003");
	m.u.indirect_ping.source_addr.len = 0;
	m.u.indirect_ping.source_node.len = 0;
	m.u.indirect_ping.source_port = 0;
	m.u.indirect_ping.nack = false;
	check_vector(&m, "01 85 a4'Nack' c2 a4'Node' a2'n3' a4'Port' cd 1f0a a5'SeqNo' 07"
			 " a6'Target' a4 0a000003");
}
END_TEST

START_TEST(ack_nack_err_exact_bytes_empty_payload_is_nil)
{
	struct ovg_msg m = { .type = OVG_MSG_ACK };
	m.u.ack = (struct ovg_ack){ .seq_no = 5 };
	check_vector(&m, "02 82 a7'Payload' c0 a5'SeqNo' 05");
	m.u.ack.payload = B("\x01\x02\x03");
	check_vector(&m, "02 82 a7'Payload' a3 010203 a5'SeqNo' 05");
	m = (struct ovg_msg){ .type = OVG_MSG_NACK, .u.nack.seq_no = 0xffffffffu };
	check_vector(&m, "0b 81 a5'SeqNo' ce ffffffff");
	m = (struct ovg_msg){ .type = OVG_MSG_ERR, .u.err.error = B("boom") };
	check_vector(&m, "0d 81 a5'Error' a4'boom'");
	m.u.err.error.len = 0;
	check_vector(&m, "0d 81 a5'Error' a0");
}
END_TEST

START_TEST(suspect_dead_compress_user_exact_bytes)
{
	struct ovg_msg m = { .type = OVG_MSG_SUSPECT };
	m.u.suspect = (struct ovg_suspect){ .incarnation = 3, .node = B("n2"), .from = B("n1") };
	check_vector(&m, "03 83 a4'From' a2'n1' ab'Incarnation' 03 a4'Node' a2'n2'");
	m.type = OVG_MSG_DEAD;
	m.u.suspect.from = B("n2");
	check_vector(&m, "05 83 a4'From' a2'n2' ab'Incarnation' 03 a4'Node' a2'n2'");
	m = (struct ovg_msg){ .type = OVG_MSG_COMPRESS };
	m.u.compress = (struct ovg_compress){ .algo = 0, .buf = B("\x01\x02\x03") };
	check_vector(&m, "09 82 a4'Algo' 00 a3'Buf' a3 010203");
	m = (struct ovg_msg){ .type = OVG_MSG_USER, .u.user = B("hello") };
	check_vector(&m, "08 'hello'");
	m.u.user.len = 0;
	check_vector(&m, "08");
}
END_TEST

START_TEST(decode_serf_alive_fields)
{
	struct ovg_msg m = decode_hex(
		"04 86 a4'Addr' a4 7f000001 ab'Incarnation' cd 0102 a4'Meta' a8 ff 81 a4'role' a0"
		" a4'Node' a6'serf-1' a4'Port' cd 1f0a a3'Vsn' a6 01 05 02 02 05 05", 0);
	ck_assert_int_eq(m.type, OVG_MSG_ALIVE);
	ck_assert_uint_eq(m.u.alive.incarnation, 0x102);
	ck_assert(beq(m.u.alive.addr, ovg_bytes_make(ip4, 4)));
	ck_assert(beq_hex(m.u.alive.meta, "ff 81 a4'role' a0"));
	ck_assert(ovg_bytes_eq_str(m.u.alive.node, "serf-1"));
	ck_assert_uint_eq(m.u.alive.port, 7946);
	ck_assert_uint_eq(m.u.alive.vsn_len, 6);
	ck_assert_mem_eq(m.u.alive.vsn, "\x01\x05\x02\x02\x05\x05", 6);
}
END_TEST

/* ---- leniency ----------------------------------------------------------- */

START_TEST(decode_is_lenient_like_go_codec)
{
	/* keys reversed, str8 and bin keys/values, every int width, Vsn as an
	 * array, nil Meta, unknown keys with nested values anywhere */
	struct ovg_msg m = decode_hex(
		"04 88 d9 03'Vsn' 96 01 05 02 02 05 cc 05"
		" a5'Extra' 82 a1'a' 91 c0 a1'b' ca 00000000"
		" a4'Port' d3 0000000000001f0a a4'Node' d9 02'n1' a4'Meta' c0"
		" c4 0b'Incarnation' d2 00000009 a4'Addr' c4 04 7f000001 a0 c3", 0);
	ck_assert_uint_eq(m.u.alive.incarnation, 9);
	ck_assert_uint_eq(m.u.alive.port, 7946);
	ck_assert(ovg_bytes_eq_str(m.u.alive.node, "n1"));
	ck_assert_uint_eq(m.u.alive.meta.len, 0);
	ck_assert(beq(m.u.alive.addr, ovg_bytes_make(ip4, 4)));
	ck_assert_uint_eq(m.u.alive.vsn_len, 6);
	ck_assert_mem_eq(m.u.alive.vsn, "\x01\x05\x02\x02\x05\x05", 6);

	/* bool as fixint 1, str16 Target, uint16 SeqNo */
	m = decode_hex("01 84 a4'Nack' 01 a6'Target' da 0004 0a000003 a5'SeqNo' cd 0007"
		       " a4'Port' cd 1f0a", 0);
	ck_assert(m.u.indirect_ping.nack);
	ck_assert_uint_eq(m.u.indirect_ping.seq_no, 7);
	ck_assert(beq(m.u.indirect_ping.target, ovg_bytes_make(ip4c, 4)));
	ck_assert_uint_eq(m.u.indirect_ping.node.len, 0);

	/* absent Vsn; 16-byte IPv4-mapped address; map16 header */
	m = decode_hex("04 de 0003 a4'Addr' b0 00000000000000000000ffff7f000001 a4'Node' a2'n1'"
		       " a4'Port' 00", 0);
	ck_assert_uint_eq(m.u.alive.vsn_len, 0);
	ck_assert_uint_eq(m.u.alive.addr.len, 16);
	ck_assert(ovg_wire_addr_is_v4mapped(m.u.alive.addr));

	/* nil Payload; an empty map is an all-zero message; duplicates: last wins */
	m = decode_hex("02 82 a7'Payload' c0 a5'SeqNo' 05", 0);
	ck_assert_uint_eq(m.u.ack.payload.len, 0);
	m = decode_hex("00 80", 0);
	ck_assert_uint_eq(m.u.ping.seq_no, 0);
	m = decode_hex("0b 82 a5'SeqNo' 01 a5'SeqNo' 02", 0);
	ck_assert_uint_eq(m.u.nack.seq_no, 2);
}
END_TEST

/* ---- rejection ---------------------------------------------------------- */

START_TEST(decode_refuses_types_it_does_not_handle)
{
	static const struct { uint8_t t; int rc; } cases[] = {
		{ OVG_MSG_PUSH_PULL, -EPROTONOSUPPORT }, { OVG_MSG_COMPOUND, -EPROTONOSUPPORT },
		{ OVG_MSG_ENCRYPT, -EPROTONOSUPPORT }, { OVG_MSG_HAS_CRC, -EPROTONOSUPPORT },
		{ OVG_MSG_HAS_LABEL, -EPROTONOSUPPORT }, { 14, -EBADMSG }, { 99, -EBADMSG },
		{ 255, -EBADMSG },
	};
	for (size_t i = 0; i < OVG_ARRAY_SIZE(cases); i++) {
		uint8_t b[2] = { cases[i].t, 0x80 };
		struct ovg_msg m;
		ck_assert_int_eq(ovg_wire_decode(b, sizeof(b), &m), cases[i].rc);
	}
	struct ovg_msg m;
	ck_assert_int_eq(ovg_wire_decode(NULL, 0, &m), -EMSGSIZE);
	m.type = OVG_MSG_PUSH_PULL;
	uint8_t buf[16];
	size_t len;
	ck_assert_int_eq(ovg_wire_encode(&m, buf, sizeof(buf), &len), -EINVAL);
}
END_TEST

START_TEST(decode_refuses_trailing_bytes_except_user)
{
	decode_hex("0b 81 a5'SeqNo' 05", 0);
	decode_hex("0b 81 a5'SeqNo' 05 00", -EBADMSG);
	decode_hex("0b 81 a5'SeqNo' 05 81 a5'SeqNo' 05", -EBADMSG);
	decode_hex("08 0b 81 a5'SeqNo' 05 00", 0);
}
END_TEST

START_TEST(decode_refuses_wrong_types_and_ranges)
{
	decode_hex("0b 81 a5'SeqNo' a1'5'", -EBADMSG);           /* SeqNo as string */
	decode_hex("0b 81 a5'SeqNo' ff", -ERANGE);               /* negative fixint */
	decode_hex("0b 81 a5'SeqNo' cf 0000000100000000", -ERANGE); /* > u32 */
	decode_hex("0b 91 05", -EBADMSG);                       /* array, not map */
	decode_hex("0b 81 05 05", -EBADMSG);                    /* int key */
	decode_hex("0b 81 a5'SeqNo' ca 00000000", -EBADMSG);   /* float */
	decode_hex("03 81 a4'Node' 05", -EBADMSG);              /* Node as int */
	decode_hex("01 82 a6'Target' a4 0a000003 a4'Port' ce 00010000", -ERANGE);
	decode_hex("01 81 a4'Nack' 02", -EBADMSG);
	decode_hex("09 81 a4'Algo' cd 0100", -ERANGE);
	/* addresses: 4 or 16 bytes only, and required where memberlist needs one */
	decode_hex("04 81 a4'Addr' a5 7f00000101", -EBADMSG);
	decode_hex("04 81 a4'Node' a2'n1'", -EBADMSG);
	decode_hex("04 81 a4'Addr' 05", -EBADMSG);
	decode_hex("01 81 a4'Port' 01", -EBADMSG);
	decode_hex("00 81 aa'SourceAddr' a3 0a0000", -EBADMSG);
	decode_hex("00 81 aa'SourceAddr' c0", 0);
	/* Vsn: absent or exactly 6 */
	decode_hex("04 82 a4'Addr' a4 7f000001 a3'Vsn' a5 0105020205", -EBADMSG);
	decode_hex("04 82 a4'Addr' a4 7f000001 a3'Vsn' a7 01050202050505", -EBADMSG);
	decode_hex("04 82 a4'Addr' a4 7f000001 a3'Vsn' 97 01 05 02 02 05 05 05", -EMSGSIZE);
	decode_hex("04 82 a4'Addr' a4 7f000001 a3'Vsn' a0", 0);
	decode_hex("04 82 a4'Addr' a4 7f000001 a3'Vsn' 96 01 05 02 02 05 cd 0100", -ERANGE);
}
END_TEST

START_TEST(decode_refuses_too_deep_unknown_values)
{
	uint8_t b[64];
	size_t n = hx("0b 82 a5'SeqNo' 05 a1'x'", b, sizeof(b));
	struct ovg_msg m;

	/* an unknown key's value nested OVG_MP_MAX_DEPTH deep is skipped... */
	memset(b + n, 0x91, OVG_MP_MAX_DEPTH - 1);
	b[n + OVG_MP_MAX_DEPTH - 1] = 0x90;
	ck_assert_int_eq(ovg_wire_decode(b, n + OVG_MP_MAX_DEPTH, &m), 0);
	ck_assert_uint_eq(m.u.nack.seq_no, 5);
	/* ... one deeper is refused */
	memset(b + n, 0x91, OVG_MP_MAX_DEPTH);
	b[n + OVG_MP_MAX_DEPTH] = 0x90;
	ck_assert_int_eq(ovg_wire_decode(b, n + OVG_MP_MAX_DEPTH + 1, &m), -EBADMSG);
}
END_TEST

/* Build an alive (or push node) with a name and meta of given lengths. */
static size_t alive_with(uint8_t *b, size_t cap, size_t name_len, size_t meta_len)
{
	static uint8_t fill[70000];
	struct ovg_mp_writer w;
	size_t len;
	memset(fill, 'x', sizeof(fill));
	ovg_mp_writer_init(&w, b, cap);
	ovg_mp_write_verbatim(&w, "\x04", 1);
	ovg_mp_write_map(&w, 3);
	ovg_mp_write_cstr(&w, "Addr");
	ovg_mp_write_raw(&w, ip4, 4);
	ovg_mp_write_cstr(&w, "Node");
	ovg_mp_write_raw(&w, fill, name_len);
	ovg_mp_write_cstr(&w, "Meta");
	ovg_mp_write_raw(&w, fill, meta_len);
	ck_assert_int_eq(ovg_mp_writer_finish(&w, &len), 0);
	return len;
}

START_TEST(names_and_meta_capped_both_ways)
{
	static uint8_t b[80000], out[80000];
	struct ovg_msg m;
	size_t len;

	len = alive_with(b, sizeof(b), OVG_NAME_MAX, OVG_META_MAX);
	ck_assert_int_eq(ovg_wire_decode(b, len, &m), 0);
	ck_assert_uint_eq(m.u.alive.node.len, OVG_NAME_MAX);
	ck_assert_uint_eq(m.u.alive.meta.len, OVG_META_MAX);
	ck_assert_int_eq(ovg_wire_encode(&m, out, sizeof(out), &len), 0);

	len = alive_with(b, sizeof(b), OVG_NAME_MAX + 1, 0);
	ck_assert_int_eq(ovg_wire_decode(b, len, &m), -EMSGSIZE);
	len = alive_with(b, sizeof(b), 0, OVG_META_MAX + 1);
	ck_assert_int_eq(ovg_wire_decode(b, len, &m), -EMSGSIZE);
	len = alive_with(b, sizeof(b), 70000, 0);
	ck_assert_int_eq(ovg_wire_decode(b, len, &m), -EMSGSIZE);

	/* and the encoders refuse to write them */
	static uint8_t fill[OVG_META_MAX + 1];
	m = (struct ovg_msg){ .type = OVG_MSG_ALIVE };
	m.u.alive.addr = ovg_bytes_make(ip4, 4);
	m.u.alive.node = ovg_bytes_make(fill, OVG_NAME_MAX + 1);
	ck_assert_int_eq(ovg_wire_encode(&m, out, sizeof(out), &len), -EMSGSIZE);
	m.u.alive.node.len = 1;
	m.u.alive.meta = ovg_bytes_make(fill, OVG_META_MAX + 1);
	ck_assert_int_eq(ovg_wire_encode(&m, out, sizeof(out), &len), -EMSGSIZE);
	m.u.alive.meta.len = 0;
	m.u.alive.addr.len = 5;
	ck_assert_int_eq(ovg_wire_encode(&m, out, sizeof(out), &len), -EINVAL);
	m.u.alive.addr.len = 4;
	m.u.alive.vsn_len = 3;
	ck_assert_int_eq(ovg_wire_encode(&m, out, sizeof(out), &len), -EINVAL);
	m = (struct ovg_msg){ .type = OVG_MSG_SUSPECT };
	m.u.suspect.from = ovg_bytes_make(fill, OVG_NAME_MAX + 1);
	ck_assert_int_eq(ovg_wire_encode(&m, out, sizeof(out), &len), -EMSGSIZE);
	m = (struct ovg_msg){ .type = OVG_MSG_INDIRECT_PING };
	m.u.indirect_ping.target = ovg_bytes_make(ip4, 3);
	ck_assert_int_eq(ovg_wire_encode(&m, out, sizeof(out), &len), -EINVAL);
}
END_TEST

/* ---- streams ------------------------------------------------------------ */

START_TEST(push_pull_stream_decodes_in_sequence)
{
	uint8_t buf[1024], want[1024];
	size_t pos = 0, n, wlen;
	struct ovg_push_pull_header h = { .nodes = 2, .user_state_len = 3, .join = true };
	struct ovg_push_node nodes[2] = {
		{ .name = B("n1"), .addr = ovg_bytes_make(ip4, 4), .port = 7946,
		  .meta = B("\xff\x80"), .incarnation = 1, .state = OVG_STATE_ALIVE,
		  .vsn = OVG_VSN_DEFAULT, .vsn_len = 6 },
		{ .name = B("n2"), .addr = ovg_bytes_make(ip4b, 4), .port = 7947,
		  .incarnation = 70000, .state = OVG_STATE_LEFT, .vsn = { 1, 5, 5, 2, 5, 5 },
		  .vsn_len = 6 },
	};

	ck_assert_int_eq(ovg_wire_encode_push_pull_header(&h, buf, sizeof(buf), &n), 0);
	wlen = hx("83 a4'Join' c3 a5'Nodes' 02 ac'UserStateLen' 03", want, sizeof(want));
	ck_assert_uint_eq(n, wlen);
	ck_assert_mem_eq(buf, want, wlen);
	pos = n;
	ck_assert_int_eq(ovg_wire_encode_push_node(&nodes[0], buf + pos, sizeof(buf) - pos, &n), 0);
	wlen = hx("87 a4'Addr' a4 7f000001 ab'Incarnation' 01 a4'Meta' a2 ff80 a4'Name' a2'n1'"
		  " a4'Port' cd 1f0a a5'State' 00 a3'Vsn' a6 010502020505", want, sizeof(want));
	ck_assert_uint_eq(n, wlen);
	ck_assert_mem_eq(buf + pos, want, wlen);
	pos += n;
	ck_assert_int_eq(ovg_wire_encode_push_node(&nodes[1], buf + pos, sizeof(buf) - pos, &n), 0);
	pos += n;
	memcpy(buf + pos, "abc", 3);
	size_t total = pos + 3;

	struct ovg_push_pull_header dh;
	struct ovg_push_node dn;
	pos = 0;
	ck_assert_int_eq(ovg_wire_decode_push_pull_header(buf, total, &pos, &dh), 0);
	ck_assert_int_eq(dh.nodes, 2);
	ck_assert_int_eq(dh.user_state_len, 3);
	ck_assert(dh.join);
	for (int i = 0; i < 2; i++) {
		ck_assert_int_eq(ovg_wire_decode_push_node(buf, total, &pos, &dn), 0);
		ck_assert(beq(dn.name, nodes[i].name));
		ck_assert(beq(dn.addr, nodes[i].addr));
		ck_assert(beq(dn.meta, nodes[i].meta));
		ck_assert_uint_eq(dn.port, nodes[i].port);
		ck_assert_uint_eq(dn.incarnation, nodes[i].incarnation);
		ck_assert_uint_eq(dn.state, nodes[i].state);
		ck_assert_mem_eq(dn.vsn, nodes[i].vsn, 6);
	}
	ck_assert_uint_eq(pos, total - 3);
	ck_assert_mem_eq(buf + pos, "abc", 3);

	/* a truncated node leaves pos where it was */
	pos = 0;
	ck_assert_int_eq(ovg_wire_decode_push_pull_header(buf, total, &pos, &dh), 0);
	size_t at = pos;
	for (size_t cut = at; cut < at + wlen; cut++) {
		pos = at;
		ck_assert_int_eq(ovg_wire_decode_push_node(buf, cut, &pos, &dn), -EMSGSIZE);
		ck_assert_uint_eq(pos, at);
	}
	pos = total + 1;
	ck_assert_int_eq(ovg_wire_decode_push_node(buf, total, &pos, &dn), -EINVAL);
}
END_TEST

START_TEST(stream_headers_bound_counts_and_lengths)
{
	uint8_t b[64], out[64];
	size_t n, pos;
	struct ovg_push_pull_header h;
	struct ovg_user_header u;

	n = hx("83 a4'Join' 00 a5'Nodes' ff ac'UserStateLen' 00", b, sizeof(b));
	pos = 0;
	ck_assert_int_eq(ovg_wire_decode_push_pull_header(b, n, &pos, &h), -ERANGE);
	ck_assert_uint_eq(pos, 0);
	n = hx("81 ac'UserStateLen' ce 01400001", b, sizeof(b)); /* 20 MiB + 1 */
	pos = 0;
	ck_assert_int_eq(ovg_wire_decode_push_pull_header(b, n, &pos, &h), -EMSGSIZE);
	n = hx("81 ac'UserStateLen' ce 01400000", b, sizeof(b));
	pos = 0;
	ck_assert_int_eq(ovg_wire_decode_push_pull_header(b, n, &pos, &h), 0);
	ck_assert_int_eq(h.user_state_len, OVG_STREAM_MAX);
	ck_assert_uint_eq(pos, n);

	u.user_msg_len = 5;
	ck_assert_int_eq(ovg_wire_encode_user_header(&u, out, sizeof(out), &n), 0);
	size_t wlen = hx("81 aa'UserMsgLen' 05", b, sizeof(b));
	ck_assert_uint_eq(n, wlen);
	ck_assert_mem_eq(out, b, wlen);
	pos = 0;
	ck_assert_int_eq(ovg_wire_decode_user_header(out, n, &pos, &u), 0);
	ck_assert_int_eq(u.user_msg_len, 5);
	n = hx("81 aa'UserMsgLen' d0 80", b, sizeof(b));
	pos = 0;
	ck_assert_int_eq(ovg_wire_decode_user_header(b, n, &pos, &u), -ERANGE);
	u.user_msg_len = -1;
	ck_assert_int_eq(ovg_wire_encode_user_header(&u, out, sizeof(out), &n), -EINVAL);
	h = (struct ovg_push_pull_header){ .nodes = -1 };
	ck_assert_int_eq(ovg_wire_encode_push_pull_header(&h, out, sizeof(out), &n), -EINVAL);
}
END_TEST

START_TEST(addr_helpers_keep_the_received_form)
{
	struct ovg_addr a;
	static const uint8_t mapped[16] = { 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff, 10, 0, 0, 1 };
	ck_assert_int_eq(ovg_wire_addr_from_bytes(ovg_bytes_make(ip4, 4), 7946, &a), 0);
	ck_assert_uint_eq(a.len, 4);
	ck_assert_uint_eq(a.port, 7946);
	ck_assert(beq(ovg_wire_addr_bytes(&a), ovg_bytes_make(ip4, 4)));
	ck_assert_int_eq(ovg_wire_addr_from_bytes(ovg_bytes_make(mapped, 16), 1, &a), 0);
	ck_assert_uint_eq(a.len, 16);
	ck_assert(ovg_wire_addr_is_v4mapped(ovg_wire_addr_bytes(&a)));
	ck_assert(!ovg_wire_addr_is_v4mapped(ovg_bytes_make(ip4, 4)));
	ck_assert_int_eq(ovg_wire_addr_from_bytes(ovg_bytes_make(mapped, 5), 1, &a), -EINVAL);
	ck_assert_str_eq(ovg_wire_type_name(OVG_MSG_INDIRECT_PING), "indirectPing");
	ck_assert_str_eq(ovg_wire_type_name(200), "unknown");
}
END_TEST

/* ---- randomized round trips --------------------------------------------- */

static uint8_t pool[4096];

static struct ovg_bytes rbytes(const struct ovg_rng *r, size_t max)
{
	size_t len = ovg_rng_below(r, (uint32_t)max + 1);
	size_t off = ovg_rng_below(r, (uint32_t)(sizeof(pool) - len + 1));
	return ovg_bytes_make(pool + off, len);
}

static struct ovg_bytes raddr(const struct ovg_rng *r)
{
	size_t len = ovg_rng_below(r, 2) ? 4 : 16;
	return ovg_bytes_make(pool + ovg_rng_below(r, sizeof(pool) - len + 1), len);
}

static uint32_t ru32(const struct ovg_rng *r)
{
	return (uint32_t)(ovg_rng_next(r) >> ovg_rng_below(r, 64));
}

static void rvsn(const struct ovg_rng *r, uint8_t vsn[6], uint8_t *vsn_len)
{
	for (int i = 0; i < 6; i++)
		vsn[i] = (uint8_t)ovg_rng_next(r);
	*vsn_len = ovg_rng_below(r, 4) ? 6 : 0;
}

static void random_msg(const struct ovg_rng *r, struct ovg_msg *m)
{
	static const uint8_t types[] = {
		OVG_MSG_PING, OVG_MSG_INDIRECT_PING, OVG_MSG_ACK, OVG_MSG_NACK, OVG_MSG_ERR,
		OVG_MSG_SUSPECT, OVG_MSG_DEAD, OVG_MSG_ALIVE, OVG_MSG_COMPRESS, OVG_MSG_USER,
	};
	memset(m, 0, sizeof(*m));
	m->type = types[ovg_rng_below(r, OVG_ARRAY_SIZE(types))];
	switch (m->type) {
	case OVG_MSG_PING:
		m->u.ping.seq_no = ru32(r);
		m->u.ping.node = rbytes(r, OVG_NAME_MAX);
		if (ovg_rng_below(r, 2)) {
			m->u.ping.source_addr = raddr(r);
			m->u.ping.source_port = (uint16_t)ru32(r);
			m->u.ping.source_node = rbytes(r, OVG_NAME_MAX);
		}
		break;
	case OVG_MSG_INDIRECT_PING:
		m->u.indirect_ping.seq_no = ru32(r);
		m->u.indirect_ping.target = raddr(r);
		m->u.indirect_ping.port = (uint16_t)ru32(r);
		m->u.indirect_ping.node = rbytes(r, OVG_NAME_MAX);
		m->u.indirect_ping.nack = ovg_rng_below(r, 2);
		if (ovg_rng_below(r, 2)) {
			m->u.indirect_ping.source_addr = raddr(r);
			m->u.indirect_ping.source_port = (uint16_t)ru32(r);
			m->u.indirect_ping.source_node = rbytes(r, OVG_NAME_MAX);
		}
		break;
	case OVG_MSG_ACK:
		m->u.ack.seq_no = ru32(r);
		m->u.ack.payload = rbytes(r, 200);
		break;
	case OVG_MSG_NACK:
		m->u.nack.seq_no = ru32(r);
		break;
	case OVG_MSG_ERR:
		m->u.err.error = rbytes(r, 100);
		break;
	case OVG_MSG_SUSPECT:
	case OVG_MSG_DEAD:
		m->u.suspect.incarnation = ru32(r);
		m->u.suspect.node = rbytes(r, OVG_NAME_MAX);
		m->u.suspect.from = rbytes(r, OVG_NAME_MAX);
		break;
	case OVG_MSG_ALIVE:
		m->u.alive.incarnation = ru32(r);
		m->u.alive.node = rbytes(r, OVG_NAME_MAX);
		m->u.alive.addr = raddr(r);
		m->u.alive.port = (uint16_t)ru32(r);
		m->u.alive.meta = rbytes(r, OVG_META_MAX);
		rvsn(r, m->u.alive.vsn, &m->u.alive.vsn_len);
		break;
	case OVG_MSG_COMPRESS:
		m->u.compress.algo = (uint8_t)ru32(r);
		m->u.compress.buf = rbytes(r, 3000);
		break;
	case OVG_MSG_USER:
		m->u.user = rbytes(r, 1400);
		break;
	}
}

static void assert_msg_eq(const struct ovg_msg *a, const struct ovg_msg *b)
{
	ck_assert_int_eq(a->type, b->type);
	switch (a->type) {
	case OVG_MSG_PING:
		ck_assert_uint_eq(a->u.ping.seq_no, b->u.ping.seq_no);
		ck_assert(beq(a->u.ping.node, b->u.ping.node));
		ck_assert(beq(a->u.ping.source_addr, b->u.ping.source_addr));
		ck_assert_uint_eq(a->u.ping.source_port, b->u.ping.source_port);
		ck_assert(beq(a->u.ping.source_node, b->u.ping.source_node));
		break;
	case OVG_MSG_INDIRECT_PING: {
		const struct ovg_indirect_ping *x = &a->u.indirect_ping, *y = &b->u.indirect_ping;
		ck_assert_uint_eq(x->seq_no, y->seq_no);
		ck_assert(beq(x->target, y->target));
		ck_assert_uint_eq(x->port, y->port);
		ck_assert(beq(x->node, y->node));
		ck_assert_int_eq(x->nack, y->nack);
		ck_assert(beq(x->source_addr, y->source_addr));
		ck_assert_uint_eq(x->source_port, y->source_port);
		ck_assert(beq(x->source_node, y->source_node));
		break;
	}
	case OVG_MSG_ACK:
		ck_assert_uint_eq(a->u.ack.seq_no, b->u.ack.seq_no);
		ck_assert(beq(a->u.ack.payload, b->u.ack.payload));
		break;
	case OVG_MSG_NACK:
		ck_assert_uint_eq(a->u.nack.seq_no, b->u.nack.seq_no);
		break;
	case OVG_MSG_ERR:
		ck_assert(beq(a->u.err.error, b->u.err.error));
		break;
	case OVG_MSG_SUSPECT:
	case OVG_MSG_DEAD:
		ck_assert_uint_eq(a->u.suspect.incarnation, b->u.suspect.incarnation);
		ck_assert(beq(a->u.suspect.node, b->u.suspect.node));
		ck_assert(beq(a->u.suspect.from, b->u.suspect.from));
		break;
	case OVG_MSG_ALIVE: {
		const struct ovg_alive *x = &a->u.alive, *y = &b->u.alive;
		static const uint8_t def[6] = OVG_VSN_DEFAULT;
		ck_assert_uint_eq(x->incarnation, y->incarnation);
		ck_assert(beq(x->node, y->node));
		ck_assert(beq(x->addr, y->addr));
		ck_assert_uint_eq(x->port, y->port);
		ck_assert(beq(x->meta, y->meta));
		ck_assert_uint_eq(y->vsn_len, 6); /* always sent */
		ck_assert_mem_eq(y->vsn, x->vsn_len ? x->vsn : def, 6);
		break;
	}
	case OVG_MSG_COMPRESS:
		ck_assert_uint_eq(a->u.compress.algo, b->u.compress.algo);
		ck_assert(beq(a->u.compress.buf, b->u.compress.buf));
		break;
	case OVG_MSG_USER:
		ck_assert(beq(a->u.user, b->u.user));
		break;
	}
}

START_TEST(random_messages_round_trip)
{
	struct ovg_splitmix sm = { g_seed };
	struct ovg_rng r = { ovg_splitmix_next, &sm };
	static uint8_t buf[8192];

	for (size_t i = 0; i < sizeof(pool); i++)
		pool[i] = (uint8_t)ovg_rng_next(&r);
	for (int iter = 0; iter < 20000; iter++) {
		struct ovg_msg m, d;
		size_t len;
		random_msg(&r, &m);
		ck_assert_int_eq(ovg_wire_encode(&m, buf, sizeof(buf), &len), 0);
		ck_assert_int_eq(ovg_wire_decode(buf, len, &d), 0);
		assert_msg_eq(&m, &d);
	}
}
END_TEST

START_TEST(random_push_nodes_round_trip)
{
	struct ovg_splitmix sm = { g_seed ^ 0x5555 };
	struct ovg_rng r = { ovg_splitmix_next, &sm };
	static uint8_t buf[2048];
	static const uint8_t def[6] = OVG_VSN_DEFAULT;

	for (size_t i = 0; i < sizeof(pool); i++)
		pool[i] = (uint8_t)ovg_rng_next(&r);
	for (int iter = 0; iter < 5000; iter++) {
		struct ovg_push_node n = { 0 }, d;
		size_t len, pos = 0;
		n.name = rbytes(&r, OVG_NAME_MAX);
		n.addr = raddr(&r);
		n.port = (uint16_t)ru32(&r);
		n.meta = rbytes(&r, OVG_META_MAX);
		n.incarnation = ru32(&r);
		n.state = (uint8_t)ovg_rng_below(&r, 4);
		rvsn(&r, n.vsn, &n.vsn_len);
		ck_assert_int_eq(ovg_wire_encode_push_node(&n, buf, sizeof(buf), &len), 0);
		ck_assert_int_eq(ovg_wire_decode_push_node(buf, len, &pos, &d), 0);
		ck_assert_uint_eq(pos, len);
		ck_assert(beq(n.name, d.name) && beq(n.addr, d.addr) && beq(n.meta, d.meta));
		ck_assert_uint_eq(n.port, d.port);
		ck_assert_uint_eq(n.incarnation, d.incarnation);
		ck_assert_uint_eq(n.state, d.state);
		ck_assert_mem_eq(d.vsn, n.vsn_len ? n.vsn : def, 6);

		struct ovg_push_pull_header h = { .nodes = ovg_rng_below(&r, 100000),
						  .user_state_len = ovg_rng_below(&r, OVG_STREAM_MAX),
						  .join = ovg_rng_below(&r, 2) }, dh;
		pos = 0;
		ck_assert_int_eq(ovg_wire_encode_push_pull_header(&h, buf, sizeof(buf), &len), 0);
		ck_assert_int_eq(ovg_wire_decode_push_pull_header(buf, len, &pos, &dh), 0);
		ck_assert(h.nodes == dh.nodes && h.user_state_len == dh.user_state_len &&
			  h.join == dh.join);
	}
}
END_TEST

static Suite *suite(void)
{
	Suite *s = suite_create("wire");
	TCase *tc = tcase_create("core");
	tcase_set_timeout(tc, 20);
	tcase_add_test(tc, alive_matches_serf_bytes_keys_sorted);
	tcase_add_test(tc, ping_leaves_out_empty_source_fields);
	tcase_add_test(tc, indirect_ping_exact_bytes);
	tcase_add_test(tc, ack_nack_err_exact_bytes_empty_payload_is_nil);
	tcase_add_test(tc, suspect_dead_compress_user_exact_bytes);
	tcase_add_test(tc, decode_serf_alive_fields);
	tcase_add_test(tc, decode_is_lenient_like_go_codec);
	tcase_add_test(tc, decode_refuses_types_it_does_not_handle);
	tcase_add_test(tc, decode_refuses_trailing_bytes_except_user);
	tcase_add_test(tc, decode_refuses_wrong_types_and_ranges);
	tcase_add_test(tc, decode_refuses_too_deep_unknown_values);
	tcase_add_test(tc, names_and_meta_capped_both_ways);
	tcase_add_test(tc, push_pull_stream_decodes_in_sequence);
	tcase_add_test(tc, stream_headers_bound_counts_and_lengths);
	tcase_add_test(tc, addr_helpers_keep_the_received_form);
	tcase_add_test(tc, random_messages_round_trip);
	tcase_add_test(tc, random_push_nodes_round_trip);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	const char *env = getenv("OVG_SEED");
	g_seed = env ? strtoull(env, NULL, 0) : 0x77697265u ^ (uint64_t)getpid() << 32;
	printf("test_wire: SEED=%" PRIu64 " (rerun with OVG_SEED=%" PRIu64 ")\n", g_seed, g_seed);
	SRunner *sr = srunner_create(suite());
	srunner_run_all(sr, CK_ENV);
	int failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
