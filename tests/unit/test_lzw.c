/* proto/lzw.c: Go compress/lzw compatibility (LSB, literal width 8). */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>

#include "ovg/frame.h"

static uint8_t *xmalloc(size_t n)
{
	uint8_t *p = malloc(n ? n : 1);
	ck_assert_ptr_nonnull(p);
	return p;
}

static void fill_random(uint8_t *p, size_t n, uint64_t seed, unsigned alphabet)
{
	struct ovg_splitmix m = { seed };
	for (size_t i = 0; i < n; i++)
		p[i] = (uint8_t)(ovg_splitmix_next(&m) % alphabet);
}

static void round_trip(const uint8_t *in, size_t len)
{
	size_t ecap = len * 2 + 16, elen = 0, dlen = 0;
	uint8_t *enc = xmalloc(ecap), *dec = xmalloc(len + 1);

	ck_assert_int_eq(ovg_lzw_encode(in, len, enc, ecap, &elen), 0);
	ck_assert_int_eq(ovg_lzw_decode(enc, elen, dec, len + 1, &dlen), 0);
	ck_assert_uint_eq(dlen, len);
	ck_assert(len == 0 || memcmp(dec, in, len) == 0);
	free(enc);
	free(dec);
}

/* Reads codes of given widths, LSB first: an independent view of the bits. */
struct bits {
	const uint8_t *p;
	size_t len, bitpos;
};

static uint32_t take(struct bits *b, unsigned width)
{
	uint32_t v = 0;

	ck_assert_uint_le(b->bitpos + width, b->len * 8);
	for (unsigned i = 0; i < width; i++, b->bitpos++)
		v |= (uint32_t)((b->p[b->bitpos / 8] >> (b->bitpos % 8)) & 1) << i;
	return v;
}

/* Bytes in which no two adjacent pairs repeat, so Go's writer sends each one
 * as a literal code (greedy walk over unused byte pairs). */
static void unique_pairs(uint8_t *p, size_t n)
{
	static uint8_t used[256][256];
	memset(used, 0, sizeof(used));
	p[0] = 0;
	for (size_t i = 1; i < n; i++) {
		unsigned prev = p[i - 1], b = (prev * 7 + i) & 0xff;
		while (used[prev][b])
			b = (b + 1) & 0xff;
		used[prev][b] = 1;
		p[i] = (uint8_t)b;
	}
}

/* What Go's lzw.NewWriter(w, lzw.LSB, 8) produces (current Go, as seen from
 * the Debian serf), worked out by hand from its code-width and table rules. */
START_TEST(lzw_encoder_produces_go_streams_for_small_inputs)
{
	static const struct {
		const char *in;
		const char *hex;
	} v[] = {
		{ "", "000302" },               /* clear (256), end (257): 9 bits each */
		{ "a", "00c30404" },            /* clear, 97, end */
		{ "aa", "00c3840908" },         /* clear, 97, 97, end */
		{ "aaa", "00c3080c08" },        /* clear, 97, 258 (= "aa", made as it is used), end */
		{ "aaaaaaaaaa", "00c3081c483020" },
		{ "abababab", "00c3881148504c40" },
		{ "TOBEORNOTTOBEORTOBEORNOT", "00a93c1152e48914274fa80824687061c183090302" },
	};

	for (size_t i = 0; i < OVG_ARRAY_SIZE(v); i++) {
		uint8_t out[64], want[64];
		size_t n = 0, wn = strlen(v[i].hex) / 2;

		for (size_t j = 0; j < wn; j++) {
			unsigned x;
			sscanf(v[i].hex + 2 * j, "%2x", &x);
			want[j] = (uint8_t)x;
		}
		ck_assert_int_eq(ovg_lzw_encode((const uint8_t *)v[i].in, strlen(v[i].in),
						out, sizeof(out), &n), 0);
		ck_assert_uint_eq(n, wn);
		ck_assert_mem_eq(out, want, wn);

		uint8_t dec[64];
		size_t dn = 0;
		ck_assert_int_eq(ovg_lzw_decode(want, wn, dec, sizeof(dec), &dn), 0);
		ck_assert_uint_eq(dn, strlen(v[i].in));
		ck_assert(dn == 0 || memcmp(dec, v[i].in, dn) == 0);
	}
}
END_TEST

/* 256 distinct bytes: after the leading clear, 255 literals go out at 9 bits;
 * the 255th fills slot 511, so the last literal and the end code are 10 bits
 * wide. */
START_TEST(lzw_width_grows_to_10_bits_after_255_codes)
{
	uint8_t in[256], out[512];
	size_t n = 0;
	struct bits b = { out, 0, 0 };

	for (unsigned i = 0; i < 256; i++)
		in[i] = (uint8_t)i;
	ck_assert_int_eq(ovg_lzw_encode(in, sizeof(in), out, sizeof(out), &n), 0);
	ck_assert_uint_eq(n, (9 + 255 * 9 + 10 + 10 + 7) / 8);
	b.len = n;
	ck_assert_uint_eq(take(&b, 9), 256);
	for (unsigned i = 0; i < 255; i++)
		ck_assert_uint_eq(take(&b, 9), i);
	ck_assert_uint_eq(take(&b, 10), 255);
	ck_assert_uint_eq(take(&b, 10), 257);
}
END_TEST

/* Literal-only input: after the leading clear, code k (1-based) is 9 bits up
 * to 255, 10 up to 767, 11 up to 1791, 12 after; after code 3838 the table is
 * at 4095 and a 12-bit clear follows, then widths start again at 9. */
START_TEST(lzw_clear_is_sent_at_12_bits_when_table_reaches_4095)
{
	enum { N = 3838 + 255 };
	uint8_t *in = xmalloc(N), *out = xmalloc(2 * N);
	size_t n = 0;
	struct bits b;

	unique_pairs(in, N);
	ck_assert_int_eq(ovg_lzw_encode(in, N, out, 2 * N, &n), 0);
	b = (struct bits){ out, n, 0 };
	ck_assert_uint_eq(take(&b, 9), 256);
	for (unsigned k = 1; k <= 3838; k++) {
		unsigned w = k <= 255 ? 9 : k <= 767 ? 10 : k <= 1791 ? 11 : 12;
		ck_assert_uint_eq(take(&b, w), in[k - 1]);
	}
	ck_assert_uint_eq(take(&b, 12), 256);
	for (unsigned k = 3839; k < N; k++)
		ck_assert_uint_eq(take(&b, 9), in[k - 1]);
	ck_assert_uint_eq(take(&b, 9), in[N - 1]);   /* 255th after the clear */
	ck_assert_uint_eq(take(&b, 10), 257);         /* which moved hi to 512 */
	ck_assert_uint_eq((b.bitpos + 7) / 8, n);
	round_trip(in, N);
	free(in);
	free(out);
}
END_TEST

/* A stream from an encoder that never clears: once slot 4095 is made the
 * table freezes and decoding goes on at 12 bits (as Go's reader does). */
START_TEST(lzw_decoder_keeps_going_with_a_full_table)
{
	enum { N = 5000 };
	uint8_t *in = xmalloc(N), *stream = xmalloc(2 * N), *dec = xmalloc(N);
	uint32_t acc = 0;
	unsigned nb = 0, width = 9, hi = 257;
	size_t sn = 0, dn = 0;

	unique_pairs(in, N);
	for (size_t k = 0; k <= N; k++) {
		uint32_t code = k < N ? in[k] : 257;

		acc |= code << nb;
		nb += width;
		while (nb >= 8) {
			stream[sn++] = (uint8_t)acc;
			acc >>= 8;
			nb -= 8;
		}
		/* the reader's schedule: width grows when hi reaches 1 << width,
		 * except at 12 bits, where hi stays put */
		hi++;
		if (hi == (1u << width)) {
			if (width == 12)
				hi--;
			else
				width++;
		}
	}
	if (nb)
		stream[sn++] = (uint8_t)acc;
	ck_assert_int_eq(ovg_lzw_decode(stream, sn, dec, N, &dn), 0);
	ck_assert_uint_eq(dn, N);
	ck_assert_mem_eq(dec, in, N);
	free(in);
	free(stream);
	free(dec);
}
END_TEST

START_TEST(lzw_round_trips_random_data_of_many_sizes)
{
	static const size_t sizes[] = { 0, 1, 2, 3, 7, 8, 9, 31, 255, 256, 257, 511, 512,
					1000, 4095, 4096, 4097, 10000, 65536, 300000 };
	static const unsigned alphabets[] = { 256, 16, 2 };

	for (size_t a = 0; a < OVG_ARRAY_SIZE(alphabets); a++)
		for (size_t i = 0; i < OVG_ARRAY_SIZE(sizes); i++) {
			uint8_t *p = xmalloc(sizes[i]);
			fill_random(p, sizes[i], sizes[i] * 31 + a, alphabets[a]);
			round_trip(p, sizes[i]);
			free(p);
		}
}
END_TEST

START_TEST(lzw_round_trips_repetitive_data_through_many_resets)
{
	enum { N = 2 << 20 };
	uint8_t *p = xmalloc(N);
	size_t sizes[] = { 1, 100, 4096, 100000, N };

	memset(p, 'z', N);                      /* longest possible codes */
	for (size_t i = 0; i < OVG_ARRAY_SIZE(sizes); i++)
		round_trip(p, sizes[i]);
	for (size_t i = 0; i < N; i++)          /* text-like, periodic */
		p[i] = (uint8_t)("Name Addr Port Meta Incarnation State Vsn "[i % 43]);
	for (size_t i = 0; i < OVG_ARRAY_SIZE(sizes); i++)
		round_trip(p, sizes[i]);
	for (size_t i = 0; i < N; i++)          /* slowly varying */
		p[i] = (uint8_t)(i / 1000 + (i % 3));
	round_trip(p, N);
	free(p);
}
END_TEST

START_TEST(lzw_compresses_repetitive_data)
{
	uint8_t in[20000], out[20000];
	size_t n = 0;

	memset(in, 0, sizeof(in));
	ck_assert_int_eq(ovg_lzw_encode(in, sizeof(in), out, sizeof(out), &n), 0);
	ck_assert_uint_lt(n, sizeof(in) / 20);
}
END_TEST

START_TEST(lzw_decode_rejects_corrupt_streams)
{
	uint8_t out[64];
	size_t n = 0;
	/* first code 258: nothing defined yet */
	const uint8_t undefined[] = { 0x02, 0x03, 0x02 };
	/* 97 then 259 (hi is 258) */
	const uint8_t beyond[] = { 0x61, 0x06, 0x06, 0x04 };
	/* "a" without the end code */
	const uint8_t no_end[] = { 0x61, 0x00 };
	/* clear then 258: the table is empty again */
	const uint8_t after_clear[] = { 0x00, 0x05, 0x02 };

	ck_assert_int_eq(ovg_lzw_decode(undefined, sizeof(undefined), out, sizeof(out), &n), -EBADMSG);
	ck_assert_int_eq(ovg_lzw_decode(beyond, sizeof(beyond), out, sizeof(out), &n), -EBADMSG);
	ck_assert_int_eq(ovg_lzw_decode(no_end, sizeof(no_end), out, sizeof(out), &n), -EBADMSG);
	ck_assert_int_eq(ovg_lzw_decode(after_clear, sizeof(after_clear), out, sizeof(out), &n), -EBADMSG);
	ck_assert_int_eq(ovg_lzw_decode(NULL, 0, out, sizeof(out), &n), -EBADMSG);
}
END_TEST

START_TEST(lzw_decode_accepts_streams_without_leading_clear_and_ignores_bytes_after_end)
{
	/* older Go writers: 'a', end, no clear first */
	uint8_t old[8] = { 0x61, 0x02, 0x02, 0xff, 0xff };
	/* "aaa" as 97, 258 without the clear */
	uint8_t old3[4] = { 0x61, 0x04, 0x06, 0x04 };
	uint8_t out[8];
	size_t n = 0;

	ck_assert_int_eq(ovg_lzw_decode(old, 5, out, sizeof(out), &n), 0);
	ck_assert_uint_eq(n, 1);
	ck_assert_uint_eq(out[0], 'a');
	ck_assert_int_eq(ovg_lzw_decode(old3, 4, out, sizeof(out), &n), 0);
	ck_assert_uint_eq(n, 3);
	ck_assert_mem_eq(out, "aaa", 3);
}
END_TEST

START_TEST(lzw_decode_stops_at_output_cap)
{
	uint8_t in[5000], enc[5000], out[5000];
	size_t n = 0, dn = 0;

	memset(in, 'q', sizeof(in));
	ck_assert_int_eq(ovg_lzw_encode(in, sizeof(in), enc, sizeof(enc), &n), 0);
	ck_assert_int_eq(ovg_lzw_decode(enc, n, out, 4999, &dn), -ENOSPC);
	ck_assert_int_eq(ovg_lzw_decode(enc, n, out, 0, &dn), -ENOSPC);
	ck_assert_int_eq(ovg_lzw_decode(enc, n, out, 5000, &dn), 0);
	ck_assert_uint_eq(dn, 5000);
}
END_TEST

START_TEST(lzw_encode_reports_small_output_buffer)
{
	uint8_t in[1000], out[2000];
	size_t n = 0, full = 0;

	fill_random(in, sizeof(in), 7, 256);
	ck_assert_int_eq(ovg_lzw_encode(in, sizeof(in), out, sizeof(out), &full), 0);
	for (size_t cap = 0; cap < full; cap += 97)
		ck_assert_int_eq(ovg_lzw_encode(in, sizeof(in), out, cap, &n), -ENOSPC);
	ck_assert_int_eq(ovg_lzw_encode(in, sizeof(in), out, full - 1, &n), -ENOSPC);
	ck_assert_int_eq(ovg_lzw_encode(in, sizeof(in), out, full, &n), 0);
	ck_assert_uint_eq(n, full);
}
END_TEST

START_TEST(lzw_decode_survives_random_and_mutated_input)
{
	struct ovg_splitmix m = { 99 };
	uint8_t src[3000], enc[6000], buf[6000], *out = xmalloc(1 << 20);
	size_t n = 0, dn;

	fill_random(src, sizeof(src), 5, 4);
	ck_assert_int_eq(ovg_lzw_encode(src, sizeof(src), enc, sizeof(enc), &n), 0);
	for (int iter = 0; iter < 3000; iter++) {
		size_t len = ovg_splitmix_next(&m) % n + 1;
		memcpy(buf, enc, len);
		for (int k = 0; k < 4; k++)
			buf[ovg_splitmix_next(&m) % len] ^= (uint8_t)ovg_splitmix_next(&m);
		int r = ovg_lzw_decode(buf, len, out, 1 << 20, &dn);
		ck_assert(r == 0 || r == -EBADMSG);
		for (size_t i = 0; i < len; i++)
			buf[i] = (uint8_t)ovg_splitmix_next(&m);
		r = ovg_lzw_decode(buf, len, out, 1 << 20, &dn);
		ck_assert(r == 0 || r == -EBADMSG);
	}
	free(out);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("lzw");
	TCase *tc = tcase_create("core");
	SRunner *sr;
	int failed;

	tcase_set_timeout(tc, 30);
	tcase_add_test(tc, lzw_encoder_produces_go_streams_for_small_inputs);
	tcase_add_test(tc, lzw_width_grows_to_10_bits_after_255_codes);
	tcase_add_test(tc, lzw_clear_is_sent_at_12_bits_when_table_reaches_4095);
	tcase_add_test(tc, lzw_decoder_keeps_going_with_a_full_table);
	tcase_add_test(tc, lzw_round_trips_random_data_of_many_sizes);
	tcase_add_test(tc, lzw_round_trips_repetitive_data_through_many_resets);
	tcase_add_test(tc, lzw_compresses_repetitive_data);
	tcase_add_test(tc, lzw_decode_rejects_corrupt_streams);
	tcase_add_test(tc, lzw_decode_accepts_streams_without_leading_clear_and_ignores_bytes_after_end);
	tcase_add_test(tc, lzw_decode_stops_at_output_cap);
	tcase_add_test(tc, lzw_encode_reports_small_output_buffer);
	tcase_add_test(tc, lzw_decode_survives_random_and_mutated_input);
	suite_add_tcase(s, tc);
	sr = srunner_create(s);
	srunner_run_all(sr, CK_ENV);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
