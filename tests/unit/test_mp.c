/* proto/mp.c: memberlist-dialect msgpack reader and writer. */
#include <check.h>

#include "helper_hex.h"
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "ovg/mp.h"

static uint64_t g_seed;

#define hx ovg_test_hex

static struct ovg_mp_reader rd(const uint8_t *b, size_t n)
{
	struct ovg_mp_reader r;
	ovg_mp_reader_init(&r, b, n);
	return r;
}

/* ---- writer ------------------------------------------------------------- */

START_TEST(write_raw_uses_fixstr_str16_str32_never_str8_or_bin)
{
	static uint8_t src[70000], buf[70010];
	static const struct { size_t len; size_t hdr; uint8_t b0; } cases[] = {
		{ 0, 1, 0xa0 }, { 1, 1, 0xa1 }, { 31, 1, 0xbf }, { 32, 3, 0xda },
		{ 255, 3, 0xda }, { 256, 3, 0xda }, { 65535, 3, 0xda }, { 65536, 5, 0xdb },
	};
	for (size_t i = 0; i < sizeof(src); i++)
		src[i] = (uint8_t)i;
	for (size_t i = 0; i < OVG_ARRAY_SIZE(cases); i++) {
		struct ovg_mp_writer w;
		size_t len;
		ovg_mp_writer_init(&w, buf, sizeof(buf));
		ovg_mp_write_raw(&w, src, cases[i].len);
		ck_assert_int_eq(ovg_mp_writer_finish(&w, &len), 0);
		ck_assert_uint_eq(len, cases[i].hdr + cases[i].len);
		ck_assert_uint_eq(buf[0], cases[i].b0);
		ck_assert_mem_eq(buf + cases[i].hdr, src, cases[i].len);

		struct ovg_mp_reader r = rd(buf, len);
		struct ovg_bytes b;
		ck_assert_int_eq(ovg_mp_read_str(&r, &b), 0);
		ck_assert_uint_eq(b.len, cases[i].len);
		ck_assert_uint_eq(ovg_mp_remaining(&r), 0);
	}
}
END_TEST

START_TEST(write_ints_in_smallest_form_like_go)
{
	static const struct { int64_t v; bool is_signed; const char *hex; } cases[] = {
		{ 0, false, "00" }, { 127, false, "7f" }, { 128, false, "cc 80" },
		{ 255, false, "cc ff" }, { 256, false, "cd 01 00" }, { 65535, false, "cd ff ff" },
		{ 65536, false, "ce 00 01 00 00" }, { 4294967296, false, "cf 00 00 00 01 00 00 00 00" },
		{ 5, true, "05" }, { 200, true, "cc c8" }, { -1, true, "ff" }, { -32, true, "e0" },
		{ -33, true, "d0 df" }, { -128, true, "d0 80" }, { -129, true, "d1 ff 7f" },
		{ -32769, true, "d2 ff ff 7f ff" }, { INT64_MIN, true, "d3 80 00 00 00 00 00 00 00" },
	};
	for (size_t i = 0; i < OVG_ARRAY_SIZE(cases); i++) {
		uint8_t buf[16], want[16];
		size_t len, wlen = hx(cases[i].hex, want, sizeof(want));
		struct ovg_mp_writer w;
		ovg_mp_writer_init(&w, buf, sizeof(buf));
		if (cases[i].is_signed)
			ovg_mp_write_int(&w, cases[i].v);
		else
			ovg_mp_write_uint(&w, (uint64_t)cases[i].v);
		ck_assert_int_eq(ovg_mp_writer_finish(&w, &len), 0);
		ck_assert_uint_eq(len, wlen);
		ck_assert_mem_eq(buf, want, wlen);
	}
}
END_TEST

START_TEST(write_overflow_is_sticky_and_reported_at_finish)
{
	uint8_t buf[64];
	size_t full, len;
	struct ovg_mp_writer w;

	ovg_mp_writer_init(&w, buf, sizeof(buf));
	ovg_mp_write_map(&w, 2);
	ovg_mp_write_cstr(&w, "Node");
	ovg_mp_write_cstr(&w, "a-node-name");
	ovg_mp_write_cstr(&w, "Ok");
	ovg_mp_write_bool(&w, true);
	ovg_mp_write_nil(&w);
	ck_assert_int_eq(ovg_mp_writer_finish(&w, &full), 0);
	ck_assert_uint_eq(full, 1 + 5 + 12 + 3 + 1 + 1);
	for (size_t cap = 0; cap < full; cap++) {
		ovg_mp_writer_init(&w, buf, cap);
		ovg_mp_write_map(&w, 2);
		ovg_mp_write_cstr(&w, "Node");
		ovg_mp_write_cstr(&w, "a-node-name");
		ovg_mp_write_cstr(&w, "Ok");
		ovg_mp_write_bool(&w, true);
		ovg_mp_write_nil(&w);
		ck_assert_int_eq(ovg_mp_writer_finish(&w, &len), -ENOSPC);
		ck_assert_uint_le(w.len, cap);
	}
}
END_TEST

/* ---- reader ------------------------------------------------------------- */

START_TEST(read_uint_accepts_every_width)
{
	static const struct { const char *hex; uint64_t v; } cases[] = {
		{ "00", 0 }, { "7f", 127 }, { "cc 80", 128 }, { "cd 01 00", 256 },
		{ "ce 00 01 00 00", 65536 }, { "cf ff ff ff ff ff ff ff ff", UINT64_MAX },
		{ "d0 05", 5 }, { "d1 00 05", 5 }, { "d2 00 00 00 05", 5 },
		{ "d3 00 00 00 00 00 00 00 05", 5 }, { "c0", 0 },
	};
	for (size_t i = 0; i < OVG_ARRAY_SIZE(cases); i++) {
		uint8_t b[16];
		uint64_t v = 99;
		struct ovg_mp_reader r = rd(b, hx(cases[i].hex, b, sizeof(b)));
		ck_assert_int_eq(ovg_mp_read_uint(&r, &v), 0);
		ck_assert_uint_eq(v, cases[i].v);
		ck_assert_uint_eq(ovg_mp_remaining(&r), 0);
	}
}
END_TEST

START_TEST(read_int_sign_extends_and_uint_refuses_negatives)
{
	static const struct { const char *hex; int64_t v; } cases[] = {
		{ "ff", -1 }, { "e0", -32 }, { "d0 80", -128 }, { "d1 80 00", -32768 },
		{ "d2 80 00 00 00", INT32_MIN }, { "d3 80 00 00 00 00 00 00 00", INT64_MIN },
		{ "cf 7f ff ff ff ff ff ff ff", INT64_MAX }, { "d0 7f", 127 },
	};
	for (size_t i = 0; i < OVG_ARRAY_SIZE(cases); i++) {
		uint8_t b[16];
		int64_t v;
		uint64_t u;
		size_t n = hx(cases[i].hex, b, sizeof(b));
		struct ovg_mp_reader r = rd(b, n);
		ck_assert_int_eq(ovg_mp_read_int(&r, &v), 0);
		ck_assert_int_eq(v, cases[i].v);
		r = rd(b, n);
		ck_assert_int_eq(ovg_mp_read_uint(&r, &u), cases[i].v < 0 ? -ERANGE : 0);
	}
	uint8_t big[] = { 0xcf, 0x80, 0, 0, 0, 0, 0, 0, 0 };
	int64_t v;
	struct ovg_mp_reader r = rd(big, sizeof(big));
	ck_assert_int_eq(ovg_mp_read_int(&r, &v), -ERANGE);
}
END_TEST

START_TEST(read_int_refuses_non_ints)
{
	static const char *bad[] = { "a0", "c2", "c3", "90", "80", "ca 00 00 00 00", "c4 00", "c1" };
	for (size_t i = 0; i < OVG_ARRAY_SIZE(bad); i++) {
		uint8_t b[16];
		uint64_t u;
		struct ovg_mp_reader r = rd(b, hx(bad[i], b, sizeof(b)));
		ck_assert_int_eq(ovg_mp_read_uint(&r, &u), -EBADMSG);
	}
}
END_TEST

START_TEST(read_str_accepts_str8_str16_str32_bin_and_nil)
{
	static const char *forms[] = {
		"a3 'abc'", "d9 03 'abc'", "da 00 03 'abc'", "db 00 00 00 03 'abc'",
		"c4 03 'abc'", "c5 00 03 'abc'", "c6 00 00 00 03 'abc'",
	};
	for (size_t i = 0; i < OVG_ARRAY_SIZE(forms); i++) {
		uint8_t b[16];
		struct ovg_bytes s;
		struct ovg_mp_reader r = rd(b, hx(forms[i], b, sizeof(b)));
		ck_assert_int_eq(ovg_mp_read_str(&r, &s), 0);
		ck_assert(ovg_bytes_eq_str(s, "abc"));
		ck_assert_uint_eq(ovg_mp_remaining(&r), 0);
	}
	uint8_t nil = 0xc0;
	struct ovg_bytes s;
	struct ovg_mp_reader r = rd(&nil, 1);
	ck_assert(ovg_mp_peek_nil(&r));
	ck_assert_int_eq(ovg_mp_read_str(&r, &s), 0);
	ck_assert_uint_eq(s.len, 0);
	ck_assert(!ovg_mp_peek_nil(&r));
	uint8_t num = 0x05;
	r = rd(&num, 1);
	ck_assert_int_eq(ovg_mp_read_str(&r, &s), -EBADMSG);
}
END_TEST

START_TEST(read_str_refuses_length_beyond_input)
{
	static const char *forms[] = { "a4 'abc'", "d9 04 'abc'", "db ff ff ff ff 'abc'",
				       "c6 80 00 00 00 'abc'", "da 00" };
	for (size_t i = 0; i < OVG_ARRAY_SIZE(forms); i++) {
		uint8_t b[16];
		struct ovg_bytes s;
		struct ovg_mp_reader r = rd(b, hx(forms[i], b, sizeof(b)));
		ck_assert_int_eq(ovg_mp_read_str(&r, &s), -EMSGSIZE);
	}
}
END_TEST

START_TEST(read_bytes_copies_uint_arrays_into_scratch)
{
	uint8_t b[32], scratch[6];
	struct ovg_bytes out;
	struct ovg_mp_reader r = rd(b, hx("96 01 05 02 02 05 cc 05", b, sizeof(b)));
	ck_assert_int_eq(ovg_mp_read_bytes(&r, &out, scratch, sizeof(scratch)), 0);
	ck_assert_ptr_eq(out.p, scratch);
	ck_assert_uint_eq(out.len, 6);
	ck_assert_mem_eq(out.p, "\x01\x05\x02\x02\x05\x05", 6);

	r = rd(b, hx("97 01 05 02 02 05 05 05", b, sizeof(b)));
	ck_assert_int_eq(ovg_mp_read_bytes(&r, &out, scratch, sizeof(scratch)), -EMSGSIZE);
	r = rd(b, hx("92 01 cd 01 00", b, sizeof(b)));
	ck_assert_int_eq(ovg_mp_read_bytes(&r, &out, scratch, sizeof(scratch)), -ERANGE);
	r = rd(b, hx("92 01 ff", b, sizeof(b)));
	ck_assert_int_eq(ovg_mp_read_bytes(&r, &out, scratch, sizeof(scratch)), -ERANGE);
	r = rd(b, hx("a2 01 02", b, sizeof(b)));
	ck_assert_int_eq(ovg_mp_read_bytes(&r, &out, scratch, sizeof(scratch)), 0);
	ck_assert_ptr_eq(out.p, b + 1);
}
END_TEST

START_TEST(read_bool_accepts_fixint_zero_one_and_nil)
{
	static const struct { uint8_t b; int rc; bool v; } cases[] = {
		{ 0xc2, 0, false }, { 0xc3, 0, true }, { 0x00, 0, false }, { 0x01, 0, true },
		{ 0xc0, 0, false }, { 0x02, -EBADMSG, false }, { 0xa0, -EBADMSG, false },
	};
	for (size_t i = 0; i < OVG_ARRAY_SIZE(cases); i++) {
		bool v = !cases[i].v;
		struct ovg_mp_reader r = rd(&cases[i].b, 1);
		ck_assert_int_eq(ovg_mp_read_bool(&r, &v), cases[i].rc);
		if (cases[i].rc == 0)
			ck_assert_int_eq(v, cases[i].v);
	}
	struct ovg_mp_reader r = rd(NULL, 0);
	bool v;
	ck_assert_int_eq(ovg_mp_read_bool(&r, &v), -EMSGSIZE);
}
END_TEST

START_TEST(read_map_and_array_headers_and_counts_bounded_by_input)
{
	uint8_t b[32];
	uint32_t n;
	struct ovg_mp_reader r = rd(b, hx("82 00 00 00 00", b, sizeof(b)));
	ck_assert_int_eq(ovg_mp_read_map(&r, &n), 0);
	ck_assert_uint_eq(n, 2);
	r = rd(b, hx("de 00 01 00 00", b, sizeof(b)));
	ck_assert_int_eq(ovg_mp_read_map(&r, &n), 0);
	ck_assert_uint_eq(n, 1);
	r = rd(b, hx("dd 00 00 00 02 00 00", b, sizeof(b)));
	ck_assert_int_eq(ovg_mp_read_array(&r, &n), 0);
	ck_assert_uint_eq(n, 2);
	r = rd(b, hx("c0", b, sizeof(b)));
	ck_assert_int_eq(ovg_mp_read_map(&r, &n), 0);
	ck_assert_uint_eq(n, 0);
	/* claims more entries than bytes left */
	r = rd(b, hx("df ff ff ff ff 00 00", b, sizeof(b)));
	ck_assert_int_eq(ovg_mp_read_map(&r, &n), -EMSGSIZE);
	r = rd(b, hx("83 00 00 00 00", b, sizeof(b)));
	ck_assert_int_eq(ovg_mp_read_map(&r, &n), -EMSGSIZE);
	/* wrong type */
	r = rd(b, hx("92 00 00", b, sizeof(b)));
	ck_assert_int_eq(ovg_mp_read_map(&r, &n), -EBADMSG);
	r = rd(b, hx("81 00 00", b, sizeof(b)));
	ck_assert_int_eq(ovg_mp_read_array(&r, &n), -EBADMSG);
}
END_TEST

static int skip_hex(const char *hex, size_t *left)
{
	static uint8_t b[256];
	struct ovg_mp_reader r = rd(b, hx(hex, b, sizeof(b)));
	int rc = ovg_mp_skip(&r);
	*left = ovg_mp_remaining(&r);
	return rc;
}

START_TEST(skip_passes_over_every_type)
{
	static const char *objs[] = {
		"00", "ff", "c0", "c2", "c3", "cc 01", "cd 01 02", "ce 01 02 03 04",
		"cf 01 02 03 04 05 06 07 08", "d0 01", "d1 01 02", "d2 01 02 03 04",
		"d3 01 02 03 04 05 06 07 08", "ca 01 02 03 04", "cb 01 02 03 04 05 06 07 08",
		"a2 'ab'", "d9 02 'ab'", "da 00 02 'ab'", "db 00 00 00 02 'ab'", "c4 02 'ab'",
		"c5 00 02 'ab'", "c6 00 00 00 02 'ab'", "d4 01 02", "d5 01 02 03",
		"d6 01 02 03 04 05", "d7 01 0102030405060708", "d8 01 0102030405060708 0102030405060708",
		"c7 02 01 aabb", "c8 00 02 01 aabb", "c9 00 00 00 02 01 aabb",
		"92 01 a1 'x'", "dc 00 02 01 02", "dd 00 00 00 01 c0", "82 a1 'a' 90 a1 'b' 80",
		"de 00 01 01 02", "df 00 00 00 01 01 02", "81 a1 'k' 81 a1 'k' 91 91 00",
	};
	for (size_t i = 0; i < OVG_ARRAY_SIZE(objs); i++) {
		size_t left;
		char hex[256];
		snprintf(hex, sizeof(hex), "%s 2a", objs[i]); /* plus one trailing byte */
		ck_assert_msg(skip_hex(hex, &left) == 0, "skip %s", objs[i]);
		ck_assert_msg(left == 1, "skip %s left %zu", objs[i], left);
	}
	size_t left;
	ck_assert_int_eq(skip_hex("c1", &left), -EBADMSG);
}
END_TEST

START_TEST(skip_caps_nesting_at_max_depth)
{
	uint8_t b[64];
	size_t left;
	struct ovg_mp_reader r;

	/* OVG_MP_MAX_DEPTH nested arrays: fine; one more: refused */
	memset(b, 0x91, OVG_MP_MAX_DEPTH);
	b[OVG_MP_MAX_DEPTH - 1] = 0x90;
	r = rd(b, OVG_MP_MAX_DEPTH);
	ck_assert_int_eq(ovg_mp_skip(&r), 0);
	ck_assert_uint_eq(ovg_mp_remaining(&r), 0);
	memset(b, 0x91, OVG_MP_MAX_DEPTH + 1);
	b[OVG_MP_MAX_DEPTH] = 0x90;
	r = rd(b, OVG_MP_MAX_DEPTH + 1);
	ck_assert_int_eq(ovg_mp_skip(&r), -EBADMSG);
	/* maps count too */
	for (int i = 0; i < OVG_MP_MAX_DEPTH + 1; i++) {
		b[2 * i] = 0x81;
		b[2 * i + 1] = 0x00;
	}
	b[2 * (OVG_MP_MAX_DEPTH + 1)] = 0x00;
	r = rd(b, 2 * (OVG_MP_MAX_DEPTH + 1) + 1);
	ck_assert_int_eq(ovg_mp_skip(&r), -EBADMSG);
	ck_assert_int_eq(skip_hex("91 91 91 00", &left), 0);
}
END_TEST

START_TEST(skip_refuses_every_truncation)
{
	static const char *objs[] = {
		"cd 01 02", "cf 01 02 03 04 05 06 07 08", "a2 'ab'", "da 00 02 'ab'",
		"c6 00 00 00 02 'ab'", "d8 01 0102030405060708 0102030405060708",
		"c8 00 02 01 aabb", "82 a1 'a' 90 a1 'b' 93 01 02 03", "dd 00 00 00 02 c0 c3",
	};
	for (size_t i = 0; i < OVG_ARRAY_SIZE(objs); i++) {
		uint8_t b[64];
		size_t n = hx(objs[i], b, sizeof(b));
		for (size_t cut = 0; cut < n; cut++) {
			struct ovg_mp_reader r = rd(b, cut);
			ck_assert_msg(ovg_mp_skip(&r) == -EMSGSIZE, "%s cut at %zu", objs[i], cut);
		}
	}
}
END_TEST

/* Random sequences of values written then read back, in the writer's forms. */
enum kind { K_UINT, K_INT, K_RAW, K_BOOL, K_NIL, K_MAP, K_ARRAY, K_COUNT };

START_TEST(random_values_round_trip)
{
	struct ovg_splitmix sm = { g_seed };
	struct ovg_rng rng = { ovg_splitmix_next, &sm };
	static uint8_t buf[1 << 16], data[300];

	for (int iter = 0; iter < 2000; iter++) {
		enum kind kinds[32];
		uint64_t vals[32];
		size_t lens[32];
		int n = 1 + (int)ovg_rng_below(&rng, 32);
		struct ovg_mp_writer w;
		size_t len;

		for (size_t i = 0; i < sizeof(data); i++)
			data[i] = (uint8_t)ovg_rng_next(&rng);
		ovg_mp_writer_init(&w, buf, sizeof(buf));
		for (int i = 0; i < n; i++) {
			kinds[i] = (enum kind)ovg_rng_below(&rng, K_COUNT);
			/* widths spread over every encoding */
			vals[i] = ovg_rng_next(&rng) >> ovg_rng_below(&rng, 64);
			lens[i] = ovg_rng_below(&rng, sizeof(data));
			switch (kinds[i]) {
			case K_UINT: ovg_mp_write_uint(&w, vals[i]); break;
			case K_INT: ovg_mp_write_int(&w, (int64_t)vals[i]); break;
			case K_RAW: ovg_mp_write_raw(&w, data, lens[i]); break;
			case K_BOOL: ovg_mp_write_bool(&w, vals[i] & 1); break;
			case K_NIL: ovg_mp_write_nil(&w); break;
			case K_MAP: ovg_mp_write_map(&w, (uint32_t)(vals[i] & 0xffff)); break;
			case K_ARRAY: ovg_mp_write_array(&w, (uint32_t)vals[i]); break;
			default: break;
			}
		}
		ck_assert_int_eq(ovg_mp_writer_finish(&w, &len), 0);
		struct ovg_mp_reader r = rd(buf, len);
		for (int i = 0; i < n; i++) {
			uint64_t u;
			int64_t s;
			bool b;
			struct ovg_bytes by;
			uint32_t c;
			int rc;
			switch (kinds[i]) {
			case K_UINT:
				ck_assert_int_eq(ovg_mp_read_uint(&r, &u), 0);
				ck_assert_uint_eq(u, vals[i]);
				break;
			case K_INT:
				ck_assert_int_eq(ovg_mp_read_int(&r, &s), 0);
				ck_assert_int_eq(s, (int64_t)vals[i]);
				break;
			case K_RAW:
				/* never str8 or bin */
				ck_assert(*r.p != 0xd9 && (*r.p < 0xc4 || *r.p > 0xc6));
				ck_assert_int_eq(ovg_mp_read_str(&r, &by), 0);
				ck_assert_uint_eq(by.len, lens[i]);
				ck_assert_mem_eq(by.p, data, lens[i]);
				break;
			case K_BOOL:
				ck_assert_int_eq(ovg_mp_read_bool(&r, &b), 0);
				ck_assert_int_eq(b, vals[i] & 1);
				break;
			case K_NIL:
				ck_assert(ovg_mp_peek_nil(&r));
				r.p++;
				break;
			case K_MAP:
			case K_ARRAY: {
				/* the count cannot be checked against what follows here,
				 * so compare the raw header instead */
				struct ovg_mp_reader save = r;
				if (kinds[i] == K_MAP)
					rc = ovg_mp_read_map(&r, &c);
				else
					rc = ovg_mp_read_array(&r, &c);
				if (rc == -EMSGSIZE) {
					/* count > bytes left: step over the header by hand */
					uint8_t t = *save.p;
					r = save;
					r.p += (t & 0xf0) == 0x80 || (t & 0xf0) == 0x90 ? 1
					       : t == 0xde || t == 0xdc ? 3 : 5;
				} else {
					ck_assert_int_eq(rc, 0);
					ck_assert_uint_eq(c, kinds[i] == K_MAP ? (uint32_t)(vals[i] & 0xffff)
									     : (uint32_t)vals[i]);
				}
				break;
			}
			default:
				break;
			}
		}
		ck_assert_uint_eq(ovg_mp_remaining(&r), 0);
	}
}
END_TEST

static Suite *suite(void)
{
	Suite *s = suite_create("mp");
	TCase *tc = tcase_create("core");
	tcase_add_test(tc, write_raw_uses_fixstr_str16_str32_never_str8_or_bin);
	tcase_add_test(tc, write_ints_in_smallest_form_like_go);
	tcase_add_test(tc, write_overflow_is_sticky_and_reported_at_finish);
	tcase_add_test(tc, read_uint_accepts_every_width);
	tcase_add_test(tc, read_int_sign_extends_and_uint_refuses_negatives);
	tcase_add_test(tc, read_int_refuses_non_ints);
	tcase_add_test(tc, read_str_accepts_str8_str16_str32_bin_and_nil);
	tcase_add_test(tc, read_str_refuses_length_beyond_input);
	tcase_add_test(tc, read_bytes_copies_uint_arrays_into_scratch);
	tcase_add_test(tc, read_bool_accepts_fixint_zero_one_and_nil);
	tcase_add_test(tc, read_map_and_array_headers_and_counts_bounded_by_input);
	tcase_add_test(tc, skip_passes_over_every_type);
	tcase_add_test(tc, skip_caps_nesting_at_max_depth);
	tcase_add_test(tc, skip_refuses_every_truncation);
	tcase_add_test(tc, random_values_round_trip);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	const char *env = getenv("OVG_SEED");
	g_seed = env ? strtoull(env, NULL, 0) : 0x6d70u ^ (uint64_t)getpid() << 16;
	printf("test_mp: SEED=%" PRIu64 " (rerun with OVG_SEED=%" PRIu64 ")\n", g_seed, g_seed);
	SRunner *sr = srunner_create(suite());
	srunner_run_all(sr, CK_ENV);
	int failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
