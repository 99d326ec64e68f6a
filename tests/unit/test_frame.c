/* proto/frame.c: compound, CRC, compress, and the packet and stream pipelines;
 * plus real serf traffic from tests/vectors decoded through them. */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>

#include "ovg/frame.h"
#include "ovg/mp.h"
#include "ovg/wire.h"

#define SCRATCH_CAP (1u << 20)

static uint8_t scratch_buf[SCRATCH_CAP];
static struct ovg_frame_scratch scratch = { scratch_buf, SCRATCH_CAP };
static const uint8_t nonce0[OVG_NONCE_LEN] = { 9, 8, 7, 6, 5, 4, 3, 2, 1, 0, 1, 2 };

static void make_ring(struct ovg_keyring *kr, size_t n, uint8_t seed)
{
	memset(kr, 0, sizeof(*kr));
	for (size_t i = 0; i < n; i++) {
		uint8_t k[OVG_KEY_LEN];
		for (int j = 0; j < OVG_KEY_LEN; j++)
			k[j] = (uint8_t)(seed + 17 * i + j);
		ck_assert_int_eq(ovg_keyring_install(kr, k), 0);
	}
}

/* A plausible memberlist message: type byte + a small msgpack map. */
static size_t make_msg(uint8_t *buf, size_t cap, uint8_t type, uint32_t seq)
{
	struct ovg_mp_writer w;
	size_t n = 0;

	ovg_mp_writer_init(&w, buf, cap);
	ovg_mp_write_verbatim(&w, &type, 1);
	ovg_mp_write_map(&w, 2);
	ovg_mp_write_cstr(&w, "Node");
	ovg_mp_write_cstr(&w, "node-with-a-longish-name");
	ovg_mp_write_cstr(&w, "SeqNo");
	ovg_mp_write_uint(&w, seq);
	ck_assert_int_eq(ovg_mp_writer_finish(&w, &n), 0);
	return n;
}

/* 09 | {Algo, Buf} of data, via the stream sealer with no keys. */
static size_t make_compressed(const uint8_t *data, size_t len, uint8_t *out, size_t cap)
{
	size_t n = 0;
	ck_assert_int_eq(ovg_stream_seal(NULL, nonce0, true, data, len, &scratch, out, cap, &n), 0);
	return n;
}

/* ---- compound ----------------------------------------------------------------- */

START_TEST(compound_build_lays_out_count_lengths_then_messages)
{
	uint8_t a[3] = { 4, 0xaa, 0xbb }, b[1] = { 8 }, c[2] = { 3, 0xcc };
	struct ovg_bytes msgs[3] = { { a, 3 }, { b, 1 }, { c, 2 } };
	static const uint8_t want[] = { 7, 3, 0, 3, 0, 1, 0, 2, 4, 0xaa, 0xbb, 8, 3, 0xcc };
	uint8_t out[64];
	size_t n = 0, used = 0;

	ck_assert_int_eq(ovg_compound_build(msgs, 3, 1400, out, sizeof(out), &n, &used), 0);
	ck_assert_uint_eq(used, 3);
	ck_assert_uint_eq(n, sizeof(want));
	ck_assert_mem_eq(out, want, n);
	/* budget for exactly two: header 2 + (2+3) + (2+1) = 10 */
	ck_assert_int_eq(ovg_compound_build(msgs, 3, 10, out, sizeof(out), &n, &used), 0);
	ck_assert_uint_eq(used, 2);
	ck_assert_uint_eq(n, 10);
	ck_assert_uint_eq(out[1], 2);
	/* only the first fits: sent bare */
	ck_assert_int_eq(ovg_compound_build(msgs, 3, 9, out, sizeof(out), &n, &used), 0);
	ck_assert_uint_eq(used, 1);
	ck_assert_uint_eq(n, 3);
	ck_assert_mem_eq(out, a, 3);
	/* a single message is never wrapped */
	ck_assert_int_eq(ovg_compound_build(msgs + 1, 1, 1400, out, sizeof(out), &n, &used), 0);
	ck_assert_uint_eq(n, 1);
	ck_assert_uint_eq(out[0], 8);
}
END_TEST

START_TEST(compound_build_errors_and_limits)
{
	static uint8_t big[300];
	struct ovg_bytes many[300];
	uint8_t out[4096];
	size_t n = 0, used = 0;

	for (size_t i = 0; i < 300; i++)
		many[i] = ovg_bytes_make(big + i, 1);
	ck_assert_int_eq(ovg_compound_build(many, 0, 1400, out, sizeof(out), &n, &used), -EINVAL);
	ck_assert_int_eq(ovg_compound_build(many, 300, 1400, out, sizeof(out), &n, &used), 0);
	ck_assert_uint_eq(used, OVG_COMPOUND_MAX);
	ck_assert_uint_eq(out[1], 255);
	ck_assert_uint_eq(n, 2 + 255 * 3);

	many[0] = ovg_bytes_make(big, sizeof(big));
	ck_assert_int_eq(ovg_compound_build(many, 2, 299, out, sizeof(out), &n, &used), -EMSGSIZE);
	ck_assert_int_eq(ovg_compound_build(many, 2, 1400, out, 299, &n, &used), -ENOSPC);
	/* cap binds before budget: only the first goes */
	ck_assert_int_eq(ovg_compound_build(many, 2, 1400, out, 300, &n, &used), 0);
	ck_assert_uint_eq(used, 1);
}
END_TEST

START_TEST(compound_parse_returns_parts_and_flags_truncation)
{
	static const uint8_t body[] = { 3, 0, 2, 0, 0, 0, 3, 0xa, 0xb, 0xc, 0xd, 0xe };
	struct ovg_bytes parts[4];
	size_t n = 0;

	ck_assert_int_eq(ovg_compound_parse(body, sizeof(body), parts, 4, &n), 0);
	ck_assert_uint_eq(n, 3);
	ck_assert_uint_eq(parts[0].len, 2);
	ck_assert_uint_eq(parts[0].p[0], 0xa);
	ck_assert_uint_eq(parts[1].len, 0);
	ck_assert_uint_eq(parts[2].len, 3);
	ck_assert_uint_eq(parts[2].p[2], 0xe);
	/* trailing bytes after the last part are ignored, as memberlist does */
	{
		uint8_t longer[sizeof(body) + 2];
		memcpy(longer, body, sizeof(body));
		longer[sizeof(body)] = longer[sizeof(body) + 1] = 0x55;
		ck_assert_int_eq(ovg_compound_parse(longer, sizeof(longer), parts, 4, &n), 0);
		ck_assert_uint_eq(n, 3);
	}
	/* last part cut short: the complete ones are still there */
	ck_assert_int_eq(ovg_compound_parse(body, sizeof(body) - 1, parts, 4, &n), -EMSGSIZE);
	ck_assert_uint_eq(n, 2);
	/* length table cut short, or no count at all */
	ck_assert_int_eq(ovg_compound_parse(body, 6, parts, 4, &n), -EBADMSG);
	ck_assert_int_eq(ovg_compound_parse(body, 0, parts, 4, &n), -EBADMSG);
	/* more parts than room */
	ck_assert_int_eq(ovg_compound_parse(body, sizeof(body), parts, 2, &n), -ENOSPC);
	ck_assert_uint_eq(n, 2);
}
END_TEST

/* ---- packets ------------------------------------------------------------------ */

static size_t make_compound(uint8_t *out, size_t cap, size_t count, uint32_t seq0)
{
	uint8_t bufs[8][128];
	struct ovg_bytes msgs[8];
	size_t n = 0, used = 0;

	ck_assert_uint_le(count, 8);
	for (size_t i = 0; i < count; i++)
		msgs[i] = ovg_bytes_make(bufs[i], make_msg(bufs[i], 128, (uint8_t)(i % 6), seq0 + (uint32_t)i));
	ck_assert_int_eq(ovg_compound_build(msgs, count, 1400, out, cap, &n, &used), 0);
	ck_assert_uint_eq(used, count);
	return n;
}

static void check_seq(struct ovg_bytes m, uint8_t type, uint32_t seq)
{
	uint8_t want[128];
	size_t n = make_msg(want, sizeof(want), type, seq);
	ck_assert_uint_eq(m.len, n);
	ck_assert_mem_eq(m.p, want, n);
}

START_TEST(packet_round_trips_with_and_without_crc_and_keys)
{
	struct ovg_keyring none = { 0 }, kr;
	uint8_t payload[1024], pkt[2048];
	struct ovg_bytes msgs[16];
	size_t plen, n = 0, got = 0;

	make_ring(&kr, 3, 1);
	plen = make_compound(payload, sizeof(payload), 5, 100);
	for (int keyed = 0; keyed < 2; keyed++)
		for (int crc = 0; crc < 2; crc++) {
			const struct ovg_keyring *k = keyed ? &kr : &none;
			ck_assert_int_eq(ovg_packet_seal(k, nonce0, crc, payload, plen, pkt,
							 sizeof(pkt), &n), 0);
			ck_assert_uint_eq(n, plen + (crc ? 5 : 0) + (keyed ? 29 : 0));
			if (!keyed)
				ck_assert_uint_eq(pkt[0], crc ? 12 : 7);
			else
				ck_assert_uint_eq(pkt[0], 1);
			ck_assert_int_eq(ovg_packet_open(k, pkt, n, &scratch, msgs, 16, &got), 0);
			ck_assert_uint_eq(got, 5);
			for (size_t i = 0; i < 5; i++)
				check_seq(msgs[i], (uint8_t)(i % 6), 100 + (uint32_t)i);
		}
	/* a NULL keyring is no keyring */
	ck_assert_int_eq(ovg_packet_seal(NULL, nonce0, true, payload, plen, pkt, sizeof(pkt), &n), 0);
	ck_assert_int_eq(ovg_packet_open(NULL, pkt, n, &scratch, msgs, 16, &got), 0);
	ck_assert_uint_eq(got, 5);
}
END_TEST

START_TEST(packet_opens_with_a_secondary_key)
{
	struct ovg_keyring sender, receiver;
	uint8_t payload[128], pkt[256];
	struct ovg_bytes msgs[4];
	size_t plen, n = 0, got = 0;

	make_ring(&receiver, 3, 1);
	memset(&sender, 0, sizeof(sender));
	ovg_keyring_install(&sender, receiver.keys[2]);
	plen = make_msg(payload, sizeof(payload), 0, 1);
	ck_assert_int_eq(ovg_packet_seal(&sender, nonce0, true, payload, plen, pkt, sizeof(pkt), &n), 0);
	ck_assert_int_eq(ovg_packet_open(&receiver, pkt, n, &scratch, msgs, 4, &got), 0);
	ck_assert_uint_eq(got, 1);
	check_seq(msgs[0], 0, 1);
}
END_TEST

START_TEST(packet_keyed_member_refuses_plaintext_and_foreign_keys)
{
	struct ovg_keyring kr, other;
	uint8_t payload[128], pkt[256];
	struct ovg_bytes msgs[4];
	size_t plen, n = 0, got = 0;

	make_ring(&kr, 2, 1);
	make_ring(&other, 1, 99);
	plen = make_msg(payload, sizeof(payload), 0, 1);
	ck_assert_int_eq(ovg_packet_seal(NULL, nonce0, true, payload, plen, pkt, sizeof(pkt), &n), 0);
	ck_assert_int_eq(ovg_packet_open(&kr, pkt, n, &scratch, msgs, 4, &got), -EACCES);
	/* a bare ping starts with 0, which looks like encryption version 0 */
	ck_assert_int_eq(ovg_packet_open(&kr, payload, plen, &scratch, msgs, 4, &got), -EACCES);
	ck_assert_int_eq(ovg_packet_seal(&other, nonce0, true, payload, plen, pkt, sizeof(pkt), &n), 0);
	ck_assert_int_eq(ovg_packet_open(&kr, pkt, n, &scratch, msgs, 4, &got), -EACCES);
	ck_assert_int_eq(ovg_packet_open(&other, pkt, n, &scratch, msgs, 4, &got), 0);
}
END_TEST

START_TEST(packet_detects_crc_mismatch_and_other_damage)
{
	struct ovg_keyring kr;
	uint8_t payload[256], pkt[512];
	struct ovg_bytes msgs[8];
	size_t plen, n = 0, got = 0;

	make_ring(&kr, 1, 5);
	plen = make_compound(payload, sizeof(payload), 3, 7);
	ck_assert_int_eq(ovg_packet_seal(NULL, nonce0, true, payload, plen, pkt, sizeof(pkt), &n), 0);
	for (size_t i = 1; i < n; i++) {
		pkt[i] ^= 0x01;
		ck_assert_int_eq(ovg_packet_open(NULL, pkt, n, &scratch, msgs, 8, &got), -EBADMSG);
		pkt[i] ^= 0x01;
	}
	/* a CRC header over nothing */
	ck_assert_int_eq(ovg_packet_seal(NULL, nonce0, true, payload, plen, pkt, sizeof(pkt), &n), 0);
	ck_assert_int_eq(ovg_packet_open(NULL, pkt, n, &scratch, msgs, 8, &got), 0);
	{
		uint8_t only_crc[5] = { 12, 0, 0, 0, 0 };
		ck_assert_int_eq(ovg_packet_open(NULL, only_crc, 5, &scratch, msgs, 8, &got), -EBADMSG);
	}
	/* encrypted, then damaged: not authentic */
	ck_assert_int_eq(ovg_packet_seal(&kr, nonce0, true, payload, plen, pkt, sizeof(pkt), &n), 0);
	pkt[n / 2] ^= 0x80;
	ck_assert_int_eq(ovg_packet_open(&kr, pkt, n, &scratch, msgs, 8, &got), -EACCES);
	/* encrypted but cut below the minimum */
	ck_assert_int_eq(ovg_packet_open(&kr, pkt, 20, &scratch, msgs, 8, &got), -EACCES);
	/* empty and labelled packets */
	ck_assert_int_eq(ovg_packet_open(NULL, pkt, 0, &scratch, msgs, 8, &got), -EBADMSG);
	pkt[0] = 244;
	ck_assert_int_eq(ovg_packet_open(NULL, pkt, n, &scratch, msgs, 8, &got), -EPROTONOSUPPORT);
	ck_assert_int_eq(ovg_packet_open(&kr, pkt, n, &scratch, msgs, 8, &got), -EPROTONOSUPPORT);
}
END_TEST

START_TEST(packet_opens_compressed_compounds_and_nested_compounds)
{
	uint8_t inner[512], comp[1024], outer[2048], pkt[2048];
	uint8_t m0[128];
	struct ovg_bytes parts[2], msgs[16];
	size_t ilen, clen, olen, n = 0, got = 0, used = 0;

	/* compress(compound of 4) */
	ilen = make_compound(inner, sizeof(inner), 4, 50);
	clen = make_compressed(inner, ilen, comp, sizeof(comp));
	ck_assert_uint_eq(comp[0], 9);
	ck_assert_int_eq(ovg_packet_seal(NULL, nonce0, true, comp, clen, pkt, sizeof(pkt), &n), 0);
	ck_assert_int_eq(ovg_packet_open(NULL, pkt, n, &scratch, msgs, 16, &got), 0);
	ck_assert_uint_eq(got, 4);
	for (size_t i = 0; i < 4; i++)
		check_seq(msgs[i], (uint8_t)(i % 6), 50 + (uint32_t)i);

	/* compound(msg, compress(compound of 4)) -> 5 messages, in order */
	parts[0] = ovg_bytes_make(m0, make_msg(m0, sizeof(m0), 4, 1));
	parts[1] = ovg_bytes_make(comp, clen);
	ck_assert_int_eq(ovg_compound_build(parts, 2, 1400, outer, sizeof(outer), &olen, &used), 0);
	ck_assert_uint_eq(used, 2);
	ck_assert_int_eq(ovg_packet_open(NULL, outer, olen, &scratch, msgs, 16, &got), 0);
	ck_assert_uint_eq(got, 5);
	check_seq(msgs[0], 4, 1);
	check_seq(msgs[4], 3, 53);
	/* the messages' views into the scratch need room: too small a scratch */
	{
		uint8_t tiny[16];
		struct ovg_frame_scratch s = { tiny, sizeof(tiny) };
		ck_assert_int_eq(ovg_packet_open(NULL, outer, olen, &s, msgs, 16, &got), -ENOSPC);
	}
	/* too many messages for the caller's array */
	ck_assert_int_eq(ovg_packet_open(NULL, outer, olen, &scratch, msgs, 3, &got), -ENOSPC);
	ck_assert_uint_eq(got, 3);
}
END_TEST

START_TEST(packet_nesting_is_bounded)
{
	uint8_t a[256], b[256];
	struct ovg_bytes msgs[4];
	size_t len, got = 0;

	/* message wrapped in k compounds of one */
	len = make_msg(a, sizeof(a), 2, 1);
	for (int depth = 1; depth <= 6; depth++) {
		b[0] = 7;
		b[1] = 1;
		ovg_put_be16(b + 2, (uint16_t)len);
		memcpy(b + 4, a, len);
		len += 4;
		memcpy(a, b, len);
		int rc = ovg_packet_open(NULL, a, len, &scratch, msgs, 4, &got);
		if (depth <= 4) {
			ck_assert_int_eq(rc, 0);
			ck_assert_uint_eq(got, 1);
		} else {
			ck_assert_int_eq(rc, -EBADMSG);
		}
	}
}
END_TEST

START_TEST(packet_keeps_complete_parts_of_a_truncated_compound)
{
	uint8_t payload[1024];
	struct ovg_bytes msgs[8];
	size_t plen, got = 0;

	plen = make_compound(payload, sizeof(payload), 3, 10);
	ck_assert_int_eq(ovg_packet_open(NULL, payload, plen - 1, &scratch, msgs, 8, &got), -EMSGSIZE);
	ck_assert_uint_eq(got, 2);
	check_seq(msgs[1], 1, 11);
	/* empty parts are dropped silently */
	{
		uint8_t c[] = { 7, 3, 0, 0, 0, 1, 0, 0, 11 };
		ck_assert_int_eq(ovg_packet_open(NULL, c, sizeof(c), &scratch, msgs, 8, &got), 0);
		ck_assert_uint_eq(got, 1);
		ck_assert_uint_eq(msgs[0].p[0], 11);
	}
}
END_TEST

START_TEST(packet_rejects_bad_compress_messages)
{
	uint8_t buf[512], lzw[64];
	struct ovg_bytes msgs[4];
	struct ovg_mp_writer w;
	size_t n = 0, got = 0, ln = 0;

	ck_assert_int_eq(ovg_lzw_encode((const uint8_t *)"\x08hi", 3, lzw, sizeof(lzw), &ln), 0);
	/* Algo 1: unknown algorithm */
	ovg_mp_writer_init(&w, buf, sizeof(buf));
	ovg_mp_write_verbatim(&w, "\x09", 1);
	ovg_mp_write_map(&w, 2);
	ovg_mp_write_cstr(&w, "Algo");
	ovg_mp_write_uint(&w, 1);
	ovg_mp_write_cstr(&w, "Buf");
	ovg_mp_write_raw(&w, lzw, ln);
	ck_assert_int_eq(ovg_mp_writer_finish(&w, &n), 0);
	ck_assert_int_eq(ovg_packet_open(NULL, buf, n, &scratch, msgs, 4, &got), -EPROTONOSUPPORT);
	/* keys in another order, an unknown key, Algo left out: fine */
	ovg_mp_writer_init(&w, buf, sizeof(buf));
	ovg_mp_write_verbatim(&w, "\x09", 1);
	ovg_mp_write_map(&w, 2);
	ovg_mp_write_cstr(&w, "Buf");
	ovg_mp_write_raw(&w, lzw, ln);
	ovg_mp_write_cstr(&w, "Extra");
	ovg_mp_write_array(&w, 1);
	ovg_mp_write_nil(&w);
	ck_assert_int_eq(ovg_mp_writer_finish(&w, &n), 0);
	ck_assert_int_eq(ovg_packet_open(NULL, buf, n, &scratch, msgs, 4, &got), 0);
	ck_assert_uint_eq(got, 1);
	ck_assert_uint_eq(msgs[0].len, 3);
	ck_assert_mem_eq(msgs[0].p, "\x08hi", 3);
	/* damaged LZW: 09, map, "Buf" (4 bytes), fixstr header, then the stream */
	buf[1 + 1 + 4 + 1 + ln - 1] ^= 0xff;
	ck_assert_int_eq(ovg_packet_open(NULL, buf, n, &scratch, msgs, 4, &got), -EBADMSG);
	/* not a map; a map without Buf (empty LZW stream) */
	ck_assert_int_eq(ovg_packet_open(NULL, (const uint8_t *)"\x09\x93", 2, &scratch, msgs, 4, &got), -EBADMSG);
	ck_assert_int_eq(ovg_packet_open(NULL, (const uint8_t *)"\x09\x80", 2, &scratch, msgs, 4, &got), -EBADMSG);
	/* truncated map */
	ck_assert_int_eq(ovg_packet_open(NULL, buf, 8, &scratch, msgs, 4, &got), -EBADMSG);
}
END_TEST

START_TEST(packet_seal_checks_sizes)
{
	struct ovg_keyring kr;
	static uint8_t big[OVG_UDP_RECV_MAX + 1];
	uint8_t out[256];
	size_t n = 0;

	make_ring(&kr, 1, 3);
	ck_assert_int_eq(ovg_packet_seal(&kr, nonce0, true, big, 0, out, sizeof(out), &n), -EINVAL);
	ck_assert_int_eq(ovg_packet_seal(&kr, nonce0, true, big, sizeof(big), out, sizeof(out), &n), -EMSGSIZE);
	ck_assert_int_eq(ovg_packet_seal(&kr, nonce0, true, big, 100, out, 133, &n), -ENOSPC);
	ck_assert_int_eq(ovg_packet_seal(&kr, nonce0, true, big, 100, out, 134, &n), 0);
	ck_assert_int_eq(ovg_packet_seal(&kr, nonce0, false, big, 100, out, 128, &n), -ENOSPC);
	ck_assert_int_eq(ovg_packet_seal(NULL, nonce0, true, big, 100, out, 104, &n), -ENOSPC);
	ck_assert_int_eq(ovg_packet_seal(NULL, nonce0, false, big, 100, out, 100, &n), 0);
}
END_TEST

/* ---- streams ------------------------------------------------------------------ */

/* 06 | header | nodes | user state, built with wire.h's encoders. */
static size_t make_push_pull(uint8_t *buf, size_t cap, int nodes, size_t user_len)
{
	struct ovg_push_pull_header h = { nodes, (int64_t)user_len, true };
	size_t off = 1, n = 0;

	buf[0] = 6;
	ck_assert_int_eq(ovg_wire_encode_push_pull_header(&h, buf + off, cap - off, &n), 0);
	off += n;
	for (int i = 0; i < nodes; i++) {
		char name[32];
		uint8_t addr[4] = { 10, 0, 0, (uint8_t)i };
		struct ovg_push_node pn = { 0 };

		snprintf(name, sizeof(name), "node-%d", i);
		pn.name = ovg_bytes_make(name, strlen(name));
		pn.addr = ovg_bytes_make(addr, 4);
		pn.port = 7946;
		pn.incarnation = (uint32_t)i;
		pn.vsn_len = 6;
		memcpy(pn.vsn, (uint8_t[])OVG_VSN_DEFAULT, 6);
		ck_assert_int_eq(ovg_wire_encode_push_node(&pn, buf + off, cap - off, &n), 0);
		off += n;
	}
	ck_assert_uint_le(off + user_len, cap);
	for (size_t i = 0; i < user_len; i++)
		buf[off++] = (uint8_t)(0x30 + i % 40);
	return off;
}

static void check_all_prefixes_wait(const uint8_t *buf, size_t len)
{
	size_t fl = 0;

	for (size_t k = 0; k < len; k++) {
		ck_assert_int_eq(ovg_stream_frame_len(buf, k, &fl), -EAGAIN);
		ck_assert_uint_gt(fl, k);
		ck_assert_uint_le(fl, len);
	}
	ck_assert_int_eq(ovg_stream_frame_len(buf, len, &fl), 0);
	ck_assert_uint_eq(fl, len);
}

START_TEST(stream_frame_len_measures_every_message_kind)
{
	static uint8_t buf[8192], body[1024];
	struct ovg_user_header uh = { 11 };
	size_t n, hn = 0, fl = 0;

	/* push-pull with and without nodes and user state */
	n = make_push_pull(buf, sizeof(buf), 3, 50);
	check_all_prefixes_wait(buf, n);
	n = make_push_pull(buf, sizeof(buf), 0, 0);
	check_all_prefixes_wait(buf, n);
	/* user message: 08 | {UserMsgLen} | bytes */
	buf[0] = 8;
	ck_assert_int_eq(ovg_wire_encode_user_header(&uh, buf + 1, sizeof(buf) - 1, &hn), 0);
	memcpy(buf + 1 + hn, "hello world", 11);
	check_all_prefixes_wait(buf, 1 + hn + 11);
	/* ping (TCP fallback), err, and compress: one map each */
	n = make_msg(buf, sizeof(buf), 0, 77);
	check_all_prefixes_wait(buf, n);
	n = make_msg(buf, sizeof(buf), 13, 0);
	check_all_prefixes_wait(buf, n);
	n = make_push_pull(body, sizeof(body), 2, 10);
	n = make_compressed(body, n, buf, sizeof(buf));
	check_all_prefixes_wait(buf, n);
	/* encrypted: 0a | len | body */
	buf[0] = 10;
	ovg_put_be32(buf + 1, 100);
	check_all_prefixes_wait(buf, 105);
	/* the frame is measured, whatever follows it */
	n = make_msg(buf, sizeof(buf), 2, 5);
	ck_assert_int_eq(ovg_stream_frame_len(buf, n + 40, &fl), 0);
	ck_assert_uint_eq(fl, n);
}
END_TEST

START_TEST(stream_frame_len_refuses_oversized_and_malformed)
{
	uint8_t buf[256];
	size_t fl = 0, n;
	struct ovg_mp_writer w;

	buf[0] = 10;
	ovg_put_be32(buf + 1, OVG_STREAM_MAX + 1);
	ck_assert_int_eq(ovg_stream_frame_len(buf, 5, &fl), -EMSGSIZE);
	ovg_put_be32(buf + 1, OVG_STREAM_MAX);
	ck_assert_int_eq(ovg_stream_frame_len(buf, 5, &fl), -EMSGSIZE);   /* + header */
	/* push-pull claiming a huge or negative user state */
	ovg_mp_writer_init(&w, buf, sizeof(buf));
	ovg_mp_write_verbatim(&w, "\x06", 1);
	ovg_mp_write_map(&w, 2);
	ovg_mp_write_cstr(&w, "Nodes");
	ovg_mp_write_int(&w, 0);
	ovg_mp_write_cstr(&w, "UserStateLen");
	ovg_mp_write_int(&w, (int64_t)OVG_STREAM_MAX + 1);
	ck_assert_int_eq(ovg_mp_writer_finish(&w, &n), 0);
	ck_assert_int_eq(ovg_stream_frame_len(buf, n, &fl), -EMSGSIZE);
	ovg_mp_writer_init(&w, buf, sizeof(buf));
	ovg_mp_write_verbatim(&w, "\x06", 1);
	ovg_mp_write_map(&w, 1);
	ovg_mp_write_cstr(&w, "Nodes");
	ovg_mp_write_int(&w, -1);
	ck_assert_int_eq(ovg_mp_writer_finish(&w, &n), 0);
	ck_assert_int_eq(ovg_stream_frame_len(buf, n, &fl), -EBADMSG);
	/* a compress Buf promising 4 GiB is refused before it arrives */
	{
		static const uint8_t c[] = { 9, 0x82, 0xa4, 'A', 'l', 'g', 'o', 0, 0xa3, 'B', 'u',
					     'f', 0xdb, 0xff, 0xff, 0xff, 0xff, 1, 2, 3 };
		ck_assert_int_eq(ovg_stream_frame_len(c, sizeof(c), &fl), -EMSGSIZE);
	}
	/* a map or array promising billions of items */
	{
		static const uint8_t m[] = { 0, 0xdf, 0x10, 0, 0, 0, 0xa1 };
		static const uint8_t a[] = { 13, 0x81, 0xa1, 'x', 0xdd, 0x7f, 0, 0, 0, 1 };
		ck_assert_int_eq(ovg_stream_frame_len(m, sizeof(m), &fl), -EMSGSIZE);
		ck_assert_int_eq(ovg_stream_frame_len(a, sizeof(a), &fl), -EMSGSIZE);
	}
	/* user message with a huge length */
	ovg_mp_writer_init(&w, buf, sizeof(buf));
	ovg_mp_write_verbatim(&w, "\x08", 1);
	ovg_mp_write_map(&w, 1);
	ovg_mp_write_cstr(&w, "UserMsgLen");
	ovg_mp_write_uint(&w, 1ull << 40);
	ck_assert_int_eq(ovg_mp_writer_finish(&w, &n), 0);
	ck_assert_int_eq(ovg_stream_frame_len(buf, n, &fl), -EMSGSIZE);
	/* framing that only packets use, labels, unknown types, non-maps */
	ck_assert_int_eq(ovg_stream_frame_len((const uint8_t *)"\x07\x01", 2, &fl), -EBADMSG);
	ck_assert_int_eq(ovg_stream_frame_len((const uint8_t *)"\x0c\x01", 2, &fl), -EBADMSG);
	ck_assert_int_eq(ovg_stream_frame_len((const uint8_t *)"\xf4\x01", 2, &fl), -EPROTONOSUPPORT);
	ck_assert_int_eq(ovg_stream_frame_len((const uint8_t *)"\x20\x80", 2, &fl), -EBADMSG);
	ck_assert_int_eq(ovg_stream_frame_len((const uint8_t *)"\x00\x93", 2, &fl), -EBADMSG);
	ck_assert_int_eq(ovg_stream_frame_len((const uint8_t *)"\x06\x81\x01\x01", 4, &fl), -EBADMSG);
	ck_assert_int_eq(ovg_stream_frame_len((const uint8_t *)"\x06\x81\xa5Nodes\xa1x", 9, &fl), -EBADMSG);
}
END_TEST

START_TEST(stream_round_trips_with_every_layer_combination)
{
	struct ovg_keyring kr;
	static uint8_t msg[20000], out[70000], sbuf[70000];
	struct ovg_frame_scratch seal_scratch = { sbuf, sizeof(sbuf) };
	struct ovg_bytes plain;
	size_t mlen, n = 0, fl = 0;

	make_ring(&kr, 2, 40);
	mlen = make_push_pull(msg, sizeof(msg), 40, 3000);
	for (int keyed = 0; keyed < 2; keyed++)
		for (int comp = 0; comp < 2; comp++) {
			const struct ovg_keyring *k = keyed ? &kr : NULL;
			ck_assert_int_eq(ovg_stream_seal(k, nonce0, comp, msg, mlen, &seal_scratch,
							 out, sizeof(out), &n), 0);
			ck_assert_uint_eq(out[0], keyed ? 10 : comp ? 9 : 6);
			if (comp)
				ck_assert_uint_lt(n, mlen);
			if (keyed)
				ck_assert_uint_eq(ovg_get_be32(out + 1), n - 5);
			check_all_prefixes_wait(out, n);
			ck_assert_int_eq(ovg_stream_frame_len(out, n, &fl), 0);
			ck_assert_uint_eq(fl, n);
			ck_assert_int_eq(ovg_stream_open(k, out, n, &scratch, &plain), 0);
			ck_assert_uint_eq(plain.len, mlen);
			ck_assert_mem_eq(plain.p, msg, mlen);
		}
	/* a secondary key opens it too */
	ck_assert_int_eq(ovg_stream_seal(&kr, nonce0, true, msg, mlen, &seal_scratch, out,
					 sizeof(out), &n), 0);
	ck_assert_int_eq(ovg_keyring_use(&kr, kr.keys[1]), 0);
	ck_assert_int_eq(ovg_stream_open(&kr, out, n, &scratch, &plain), 0);
}
END_TEST

START_TEST(stream_open_enforces_keys_and_lengths)
{
	struct ovg_keyring kr, other;
	uint8_t msg[256], out[1024], sbuf[1024];
	struct ovg_frame_scratch ss = { sbuf, sizeof(sbuf) };
	struct ovg_bytes plain;
	size_t mlen, n = 0;

	make_ring(&kr, 1, 1);
	make_ring(&other, 1, 2);
	mlen = make_push_pull(msg, sizeof(msg), 1, 3);
	/* keyed member, plaintext stream */
	ck_assert_int_eq(ovg_stream_open(&kr, msg, mlen, &scratch, &plain), -EACCES);
	/* unkeyed member, encrypted stream */
	ck_assert_int_eq(ovg_stream_seal(&kr, nonce0, false, msg, mlen, &ss, out, sizeof(out), &n), 0);
	ck_assert_int_eq(ovg_stream_open(NULL, out, n, &scratch, &plain), -EACCES);
	ck_assert_int_eq(ovg_stream_open(&other, out, n, &scratch, &plain), -EACCES);
	/* the header is associated data: the frame must be exactly as long as it says */
	ck_assert_int_eq(ovg_stream_open(&kr, out, n - 1, &scratch, &plain), -EBADMSG);
	ck_assert_int_eq(ovg_stream_open(&kr, out, 4, &scratch, &plain), -EBADMSG);
	out[5 + 20] ^= 1;
	ck_assert_int_eq(ovg_stream_open(&kr, out, n, &scratch, &plain), -EACCES);
	out[5 + 20] ^= 1;
	ck_assert_int_eq(ovg_stream_open(&kr, out, n, &scratch, &plain), 0);
	/* scratch too small for the plaintext */
	{
		uint8_t tiny[8];
		struct ovg_frame_scratch s = { tiny, sizeof(tiny) };
		ck_assert_int_eq(ovg_stream_open(&kr, out, n, &s, &plain), -ENOSPC);
	}
	ck_assert_int_eq(ovg_stream_open(NULL, out, 0, &scratch, &plain), -EBADMSG);
	ck_assert_int_eq(ovg_stream_open(NULL, (const uint8_t *)"\xf4", 1, &scratch, &plain), -EPROTONOSUPPORT);
}
END_TEST

START_TEST(stream_open_refuses_nested_framing_and_empty_payloads)
{
	uint8_t inner[64], comp[256], enc[512];
	struct ovg_keyring kr;
	struct ovg_bytes plain;
	size_t n, cn, en = 0;

	make_ring(&kr, 1, 4);
	/* compress(compress(x)) */
	n = make_compressed((const uint8_t *)"\x06\x80", 2, inner, sizeof(inner));
	cn = make_compressed(inner, n, comp, sizeof(comp));
	ck_assert_int_eq(ovg_stream_open(NULL, comp, cn, &scratch, &plain), -EBADMSG);
	/* compress(compound) */
	cn = make_compressed((const uint8_t *)"\x07\x00", 2, comp, sizeof(comp));
	ck_assert_int_eq(ovg_stream_open(NULL, comp, cn, &scratch, &plain), -EBADMSG);
	/* compress of nothing */
	{
		uint8_t lzw[8], buf[64];
		size_t ln = 0;
		ck_assert_int_eq(ovg_lzw_encode(NULL, 0, lzw, sizeof(lzw), &ln), 0);
		memcpy(buf, "\x09\x82\xa4" "Algo" "\x00\xa3" "Buf", 12);
		buf[12] = (uint8_t)(0xa0 | ln);
		memcpy(buf + 13, lzw, ln);
		ck_assert_int_eq(ovg_stream_open(NULL, buf, 13 + ln, &scratch, &plain), -EBADMSG);
	}
	/* encrypt(encrypt-looking plaintext) and encrypt(nothing) */
	{
		uint8_t sb[512];
		struct ovg_frame_scratch ss = { sb, sizeof(sb) };
		ck_assert_int_eq(ovg_stream_seal(&kr, nonce0, false, (const uint8_t *)"\x0a\x00", 2,
						 &ss, enc, sizeof(enc), &en), 0);
		ck_assert_int_eq(ovg_stream_open(&kr, enc, en, &scratch, &plain), -EBADMSG);
		enc[0] = 10;
		ovg_put_be32(enc + 1, 29);
		ck_assert_int_eq(ovg_crypt_seal(kr.keys[0], nonce0, enc, 5, NULL, 0, enc + 5,
						sizeof(enc) - 5, &en), 0);
		ck_assert_int_eq(ovg_stream_open(&kr, enc, 5 + en, &scratch, &plain), -EBADMSG);
	}
}
END_TEST

START_TEST(stream_seal_checks_sizes)
{
	struct ovg_keyring kr;
	uint8_t msg[100] = { 6, 0x80 }, out[200], sb[16];
	struct ovg_frame_scratch small = { sb, sizeof(sb) };
	size_t n = 0;

	make_ring(&kr, 1, 1);
	ck_assert_int_eq(ovg_stream_seal(&kr, nonce0, false, msg, 0, &scratch, out, sizeof(out), &n), -EINVAL);
	ck_assert_int_eq(ovg_stream_seal(&kr, nonce0, false, msg, 100, &scratch, out, 133, &n), -ENOSPC);
	ck_assert_int_eq(ovg_stream_seal(&kr, nonce0, false, msg, 100, &scratch, out, 134, &n), 0);
	ck_assert_uint_eq(n, 134);
	ck_assert_int_eq(ovg_stream_seal(&kr, nonce0, true, msg, 100, &small, out, sizeof(out), &n), -ENOSPC);
	ck_assert_int_eq(ovg_stream_seal(&kr, nonce0, true, msg, 100, NULL, out, sizeof(out), &n), -ENOSPC);
	ck_assert_int_eq(ovg_stream_seal(NULL, nonce0, false, msg, 100, NULL, out, 99, &n), -ENOSPC);
	ck_assert_int_eq(ovg_stream_seal(NULL, nonce0, true, msg, 100, NULL, out, 20, &n), -ENOSPC);
}
END_TEST

/* The compress message is byte-for-byte what memberlist's Go codec writes. */
START_TEST(stream_compress_message_has_memberlist_layout)
{
	uint8_t out[256], lzw[64];
	size_t n = 0, ln = 0;
	static const uint8_t head[] = { 9, 0x82, 0xa4, 'A', 'l', 'g', 'o', 0, 0xa3, 'B', 'u', 'f' };

	ck_assert_int_eq(ovg_stream_seal(NULL, nonce0, true, (const uint8_t *)"aaa", 3, NULL, out,
					 sizeof(out), &n), 0);
	ck_assert_int_eq(ovg_lzw_encode((const uint8_t *)"aaa", 3, lzw, sizeof(lzw), &ln), 0);
	ck_assert_mem_eq(out, head, sizeof(head));
	ck_assert_uint_eq(out[12], 0xa0 | ln);          /* fixstr */
	ck_assert_mem_eq(out + 13, lzw, ln);
	ck_assert_uint_eq(n, 13 + ln);
	/* 32..65535 bytes use str16 (0xda), never str8 */
	{
		static uint8_t big[200], o2[400];
		for (size_t i = 0; i < sizeof(big); i++)
			big[i] = (uint8_t)(i * 37);
		ck_assert_int_eq(ovg_stream_seal(NULL, nonce0, true, big, sizeof(big), NULL, o2,
						 sizeof(o2), &n), 0);
		ck_assert_uint_eq(o2[12], 0xda);
		ck_assert_uint_eq(ovg_get_be16(o2 + 13), n - 15);
	}
}
END_TEST

/* ---- serf's own traffic --------------------------------------------------------- */

#define VEC_DIR "tests/vectors/"

static size_t read_file(const char *name, uint8_t *buf, size_t cap)
{
	char path[256];
	FILE *f;
	size_t n;

	snprintf(path, sizeof(path), VEC_DIR "%s", name);
	f = fopen(path, "rb");
	ck_assert_msg(f != NULL, "cannot open %s", path);
	n = fread(buf, 1, cap, f);
	fclose(f);
	return n;
}

/* Re-compressing what serf compressed must give serf's exact bytes. */
static void check_go_lzw(const uint8_t *comp, size_t len)
{
	struct ovg_mp_reader r;
	struct ovg_bytes key, buf = { NULL, 0 };
	uint32_t n;
	static uint8_t plain[1 << 16], again[1 << 17];
	size_t pn = 0, an = 0;

	ck_assert_uint_eq(comp[0], 9);
	ovg_mp_reader_init(&r, comp + 1, len - 1);
	ck_assert_int_eq(ovg_mp_read_map(&r, &n), 0);
	for (uint32_t i = 0; i < n; i++) {
		ck_assert_int_eq(ovg_mp_read_str(&r, &key), 0);
		if (ovg_bytes_eq_str(key, "Buf"))
			ck_assert_int_eq(ovg_mp_read_str(&r, &buf), 0);
		else
			ck_assert_int_eq(ovg_mp_skip(&r), 0);
	}
	ck_assert_uint_gt(buf.len, 0);
	ck_assert_int_eq(ovg_lzw_decode(buf.p, buf.len, plain, sizeof(plain), &pn), 0);
	ck_assert_int_eq(ovg_lzw_encode(plain, pn, again, sizeof(again), &an), 0);
	ck_assert_uint_eq(an, buf.len);
	ck_assert_mem_eq(again, buf.p, an);
}

struct vec {
	char name[128], transport[8], enc[4], key[64], type[8], layers[64], msgs[1024], pp[64];
	unsigned len;
};

static int count_items(const char *s)
{
	int n = 1;
	for (; *s; s++)
		n += *s == ';';
	return n;
}

START_TEST(serf_vectors_decode_through_the_pipelines)
{
	FILE *f = fopen(VEC_DIR "MANIFEST", "r");
	char line[2048];
	int udp = 0, tcp = 0, lzw_checked = 0;
	static uint8_t buf[1 << 16], plain_buf[1 << 16];

	ck_assert_msg(f != NULL, "tests/vectors/MANIFEST missing");
	while (fgets(line, sizeof(line), f)) {
		struct vec v = { 0 };
		struct ovg_keyring kr = { 0 };
		char src[16], dst[16], extra[2][256] = { { 0 } };
		size_t n;

		if (line[0] == '#' || line[0] == '\n')
			continue;
		ck_assert_int_ge(sscanf(line, "%127s %7s %3s %63s %7s %15s %15s %u %63s %1023s %255s %255s",
					v.name, v.transport, v.enc, v.key, v.type, src, dst, &v.len,
					v.layers, v.msgs, extra[0], extra[1]), 10);
		n = read_file(v.name, buf, sizeof(buf));
		ck_assert_uint_eq(n, v.len);
		if (v.enc[0] == 'y') {
			uint8_t key[OVG_KEY_LEN];
			ck_assert_int_eq(ovg_key_decode(v.key, key), 0);
			ck_assert_int_eq(ovg_keyring_install(&kr, key), 0);
		}

		if (strcmp(v.transport, "udp") == 0) {
			struct ovg_bytes msgs[64];
			size_t got = 0, want = (size_t)count_items(v.msgs + 5);
			const char *m = v.msgs + 5;     /* after "msgs=" */

			ck_assert_int_eq(ovg_packet_open(&kr, buf, n, &scratch, msgs, 64, &got), 0);
			ck_assert_msg(got == want, "%s: %zu messages, want %zu", v.name, got, want);
			for (size_t i = 0; i < got; i++) {
				unsigned t;
				struct ovg_msg dm;
				ck_assert_int_eq(sscanf(m, "%2x", &t), 1);
				ck_assert_uint_eq(msgs[i].p[0], t);
				ck_assert_int_eq(ovg_wire_decode(msgs[i].p, msgs[i].len, &dm), 0);
				m = strchr(m, ';');
				m = m ? m + 1 : "";
			}
			if (strstr(v.layers, "lzw")) {
				const uint8_t *p = buf;
				size_t pl = n;
				if (kr.n) {
					ck_assert_int_eq(ovg_crypt_open(&kr, NULL, 0, buf, n, plain_buf,
									sizeof(plain_buf), &pl), 0);
					p = plain_buf;
				}
				if (p[0] == 12) {
					p += 5;
					pl -= 5;
				}
				check_go_lzw(p, pl);
				lzw_checked++;
			}
			/* a keyed member refuses serf's plaintext, and vice versa */
			if (!kr.n) {
				struct ovg_keyring k2;
				make_ring(&k2, 1, 1);
				ck_assert_int_eq(ovg_packet_open(&k2, buf, n, &scratch, msgs, 64, &got), -EACCES);
			}
			udp++;
		} else {
			struct ovg_bytes plain;
			struct ovg_push_pull_header h;
			struct ovg_push_node pn;
			size_t fl = 0, pos = 1;
			unsigned join, nodes, user;
			const char *pp = strstr(line, "pp=");
			const char *nl = strstr(line, "nodes=");

			ck_assert_ptr_nonnull(pp);
			ck_assert_ptr_nonnull(nl);
			ck_assert_int_eq(sscanf(pp, "pp=j%u/n%u/u%u", &join, &nodes, &user), 3);
			check_all_prefixes_wait(buf, n);
			ck_assert_int_eq(ovg_stream_frame_len(buf, n, &fl), 0);
			ck_assert_uint_eq(fl, n);
			ck_assert_int_eq(ovg_stream_open(&kr, buf, n, &scratch, &plain), 0);
			ck_assert_uint_eq(plain.p[0], 6);
			ck_assert_int_eq(ovg_wire_decode_push_pull_header(plain.p, plain.len, &pos, &h), 0);
			ck_assert_int_eq(h.join, join);
			ck_assert_int_eq(h.nodes, nodes);
			ck_assert_int_eq(h.user_state_len, user);
			ck_assert_int_eq(h.nodes, count_items(nl + 6));
			for (int64_t i = 0; i < h.nodes; i++)
				ck_assert_int_eq(ovg_wire_decode_push_node(plain.p, plain.len, &pos, &pn), 0);
			ck_assert_uint_eq(pos + (size_t)h.user_state_len, plain.len);
			/* serf's state starts with its pushPull type byte */
			ck_assert_uint_eq(plain.p[pos], 2);
			{
				const uint8_t *p = buf;
				size_t pl = n;
				if (kr.n) {
					ck_assert_int_eq(ovg_crypt_open(&kr, buf, 5, buf + 5, n - 5,
									plain_buf, sizeof(plain_buf), &pl), 0);
					p = plain_buf;
				}
				check_go_lzw(p, pl);
				lzw_checked++;
			}
			/* the same stream re-sealed by us opens to the same message */
			{
				static uint8_t out[1 << 16], sb[1 << 16];
				struct ovg_frame_scratch ss = { sb, sizeof(sb) };
				struct ovg_bytes again;
				size_t on = 0;
				ck_assert_int_eq(ovg_stream_seal(&kr, nonce0, true, plain.p, plain.len, &ss,
								 out, sizeof(out), &on), 0);
				if (!kr.n) {   /* no nonce: our bytes are serf's bytes */
					ck_assert_uint_eq(on, n);
					ck_assert_mem_eq(out, buf, n);
				}
				memcpy(sb, plain.p, plain.len);   /* plain lives in scratch */
				ck_assert_int_eq(ovg_stream_open(&kr, out, on, &scratch, &again), 0);
				ck_assert_uint_eq(again.len, plain.len);
				ck_assert_mem_eq(again.p, sb, plain.len);
			}
			tcp++;
		}
	}
	fclose(f);
	ck_assert_int_gt(udp, 10);
	ck_assert_int_gt(tcp, 2);
	ck_assert_int_gt(lzw_checked, 5);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("frame");
	TCase *tc = tcase_create("core");
	SRunner *sr;
	int failed;

	tcase_set_timeout(tc, 30);
	tcase_add_test(tc, compound_build_lays_out_count_lengths_then_messages);
	tcase_add_test(tc, compound_build_errors_and_limits);
	tcase_add_test(tc, compound_parse_returns_parts_and_flags_truncation);
	tcase_add_test(tc, packet_round_trips_with_and_without_crc_and_keys);
	tcase_add_test(tc, packet_opens_with_a_secondary_key);
	tcase_add_test(tc, packet_keyed_member_refuses_plaintext_and_foreign_keys);
	tcase_add_test(tc, packet_detects_crc_mismatch_and_other_damage);
	tcase_add_test(tc, packet_opens_compressed_compounds_and_nested_compounds);
	tcase_add_test(tc, packet_nesting_is_bounded);
	tcase_add_test(tc, packet_keeps_complete_parts_of_a_truncated_compound);
	tcase_add_test(tc, packet_rejects_bad_compress_messages);
	tcase_add_test(tc, packet_seal_checks_sizes);
	tcase_add_test(tc, stream_frame_len_measures_every_message_kind);
	tcase_add_test(tc, stream_frame_len_refuses_oversized_and_malformed);
	tcase_add_test(tc, stream_round_trips_with_every_layer_combination);
	tcase_add_test(tc, stream_open_enforces_keys_and_lengths);
	tcase_add_test(tc, stream_open_refuses_nested_framing_and_empty_payloads);
	tcase_add_test(tc, stream_seal_checks_sizes);
	tcase_add_test(tc, stream_compress_message_has_memberlist_layout);
	tcase_add_test(tc, serf_vectors_decode_through_the_pipelines);
	suite_add_tcase(s, tc);
	sr = srunner_create(s);
	srunner_run_all(sr, CK_ENV);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
