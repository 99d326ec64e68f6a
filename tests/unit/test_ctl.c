/* proto/ctl.c: control-socket frames between CLI and agent. */
#include <check.h>

#include "helper_hex.h"
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "ovg/ctl.h"
#include "ovg/mp.h"

static uint64_t g_seed;

#define hx ovg_test_hex

/* A frame from a hex body: the length prefix is computed. */
static size_t frame(const char *body_hex, uint8_t *out, size_t cap)
{
	size_t n = hx(body_hex, out + 4, cap - 4);
	ovg_put_be32(out, (uint32_t)n);
	return n + 4;
}

static struct ovg_ctl_request g_req;

static int dec_req(const char *body_hex)
{
	static uint8_t b[1024];
	return ovg_ctl_decode_request(b, frame(body_hex, b, sizeof(b)), &g_req);
}

START_TEST(request_exact_bytes_and_round_trip)
{
	const char *argv[] = { "network", "create", "blue" };
	uint8_t buf[256], want[256];
	size_t len, wlen;

	ck_assert_int_eq(ovg_ctl_encode_request(3, argv, buf, sizeof(buf), &len), 0);
	wlen = frame("82 a4'argv' 93 a7'network' a6'create' a4'blue' a1'v' 01", want, sizeof(want));
	ck_assert_uint_eq(len, wlen);
	ck_assert_mem_eq(buf, want, wlen);

	struct ovg_ctl_request req;
	ck_assert_int_eq(ovg_ctl_decode_request(buf, len, &req), 0);
	ck_assert_uint_eq(req.argc, 3);
	for (int i = 0; i < 3; i++)
		ck_assert(ovg_bytes_eq_str(req.argv[i], argv[i]));

	ck_assert_int_eq(ovg_ctl_encode_request(0, NULL, buf, sizeof(buf), &len), 0);
	ck_assert_int_eq(ovg_ctl_decode_request(buf, len, &req), 0);
	ck_assert_uint_eq(req.argc, 0);
	for (size_t cap = 0; cap < wlen; cap++)
		ck_assert_int_eq(ovg_ctl_encode_request(3, argv, buf, cap, &len), -ENOSPC);
}
END_TEST

START_TEST(response_exact_bytes_and_round_trip)
{
	struct ovg_ctl_response r = { .status = 2, .out = ovg_bytes_make("ok\n", 3),
				      .err = ovg_bytes_make(NULL, 0) }, d;
	uint8_t buf[256], want[256];
	size_t len, wlen;

	ck_assert_int_eq(ovg_ctl_encode_response(&r, buf, sizeof(buf), &len), 0);
	wlen = frame("83 a3'err' a0 a3'out' a3 'ok' 0a a6'status' 02", want, sizeof(want));
	ck_assert_uint_eq(len, wlen);
	ck_assert_mem_eq(buf, want, wlen);
	ck_assert_int_eq(ovg_ctl_decode_response(buf, len, &d), 0);
	ck_assert_int_eq(d.status, 2);
	ck_assert(ovg_bytes_eq_str(d.out, "ok\n"));
	ck_assert_uint_eq(d.err.len, 0);

	r.status = -1;
	r.err = ovg_bytes_make("bad", 3);
	ck_assert_int_eq(ovg_ctl_encode_response(&r, buf, sizeof(buf), &len), 0);
	ck_assert_int_eq(ovg_ctl_decode_response(buf, len, &d), 0);
	ck_assert_int_eq(d.status, -1);
	ck_assert(ovg_bytes_eq_str(d.err, "bad"));
	for (size_t cap = 0; cap < len; cap++)
		ck_assert_int_eq(ovg_ctl_encode_response(&r, buf, cap, &len), -ENOSPC);
}
END_TEST

START_TEST(frame_len_waits_for_whole_frames_and_caps_size)
{
	uint8_t b[16] = { 0, 0, 0, 3, 0x80, 0x80, 0x80, 0xff };
	size_t flen = 0;

	for (size_t len = 0; len < 4; len++)
		ck_assert_int_eq(ovg_ctl_frame_len(b, len, &flen), -EAGAIN);
	ck_assert_int_eq(ovg_ctl_frame_len(b, 5, &flen), -EAGAIN);
	ck_assert_uint_eq(flen, 7);
	ck_assert_int_eq(ovg_ctl_frame_len(b, 7, &flen), 0);
	ck_assert_int_eq(ovg_ctl_frame_len(b, 8, &flen), 0); /* next frame's bytes follow */
	ck_assert_uint_eq(flen, 7);
	ovg_put_be32(b, OVG_CTL_FRAME_MAX);
	ck_assert_int_eq(ovg_ctl_frame_len(b, 8, &flen), -EAGAIN);
	ck_assert_uint_eq(flen, 4 + OVG_CTL_FRAME_MAX);
	ovg_put_be32(b, OVG_CTL_FRAME_MAX + 1);
	ck_assert_int_eq(ovg_ctl_frame_len(b, 8, &flen), -EMSGSIZE);
	ovg_put_be32(b, 0xffffffffu);
	ck_assert_int_eq(ovg_ctl_frame_len(b, 8, &flen), -EMSGSIZE);
	ovg_put_be32(b, 0);
	ck_assert_int_eq(ovg_ctl_frame_len(b, 8, &flen), -EBADMSG);
}
END_TEST

START_TEST(request_argc_and_word_bounds)
{
	static char word[OVG_CTL_ARG_MAX + 2];
	static const char *argv[OVG_CTL_ARGC_MAX + 1];
	static uint8_t buf[OVG_CTL_ARGC_MAX * (OVG_CTL_ARG_MAX + 8) + 64];
	size_t len;
	struct ovg_ctl_request req;

	memset(word, 'w', OVG_CTL_ARG_MAX);
	for (int i = 0; i <= OVG_CTL_ARGC_MAX; i++)
		argv[i] = word;
	ck_assert_int_eq(ovg_ctl_encode_request(OVG_CTL_ARGC_MAX, argv, buf, sizeof(buf), &len), 0);
	ck_assert_int_eq(ovg_ctl_decode_request(buf, len, &req), 0);
	ck_assert_uint_eq(req.argc, OVG_CTL_ARGC_MAX);
	ck_assert_uint_eq(req.argv[63].len, OVG_CTL_ARG_MAX);
	ck_assert_int_eq(ovg_ctl_encode_request(OVG_CTL_ARGC_MAX + 1, argv, buf, sizeof(buf), &len),
			 -E2BIG);
	ck_assert_int_eq(ovg_ctl_encode_request(-1, argv, buf, sizeof(buf), &len), -EINVAL);
	word[OVG_CTL_ARG_MAX] = 'w';
	ck_assert_int_eq(ovg_ctl_encode_request(1, argv, buf, sizeof(buf), &len), -EMSGSIZE);

	/* the decoder refuses the same things written by someone else */
	struct ovg_mp_writer w;
	ovg_mp_writer_init(&w, buf, sizeof(buf));
	ovg_mp_write_verbatim(&w, "\0\0\0\0", 4);
	ovg_mp_write_map(&w, 2);
	ovg_mp_write_cstr(&w, "v");
	ovg_mp_write_uint(&w, 1);
	ovg_mp_write_cstr(&w, "argv");
	ovg_mp_write_array(&w, 1);
	ovg_mp_write_raw(&w, word, OVG_CTL_ARG_MAX + 1);
	ck_assert_int_eq(ovg_mp_writer_finish(&w, &len), 0);
	ovg_put_be32(buf, (uint32_t)(len - 4));
	ck_assert_int_eq(ovg_ctl_decode_request(buf, len, &req), -EMSGSIZE);

	/* 65 words, each an empty string */
	ovg_mp_writer_init(&w, buf, sizeof(buf));
	ovg_mp_write_verbatim(&w, "\0\0\0\0", 4);
	ovg_mp_write_map(&w, 2);
	ovg_mp_write_cstr(&w, "v");
	ovg_mp_write_uint(&w, 1);
	ovg_mp_write_cstr(&w, "argv");
	ovg_mp_write_array(&w, OVG_CTL_ARGC_MAX + 1);
	for (int i = 0; i <= OVG_CTL_ARGC_MAX; i++)
		ovg_mp_write_raw(&w, "", 0);
	ck_assert_int_eq(ovg_mp_writer_finish(&w, &len), 0);
	ovg_put_be32(buf, (uint32_t)(len - 4));
	ck_assert_int_eq(ovg_ctl_decode_request(buf, len, &req), -E2BIG);
}
END_TEST

START_TEST(request_version_and_shape_checked)
{
	ck_assert_int_eq(dec_req("82 a1'v' 01 a4'argv' 91 a1'x'"), 0);
	ck_assert(ovg_bytes_eq_str(g_req.argv[0], "x"));
	/* lenient: order, str8/bin words, unknown keys, int widths */
	ck_assert_int_eq(dec_req("83 a4'argv' 92 d9 01'x' c4 01'y' a5'extra' 81 00 91 00 a1'v' cd 0001"), 0);
	ck_assert_uint_eq(g_req.argc, 2);
	ck_assert(ovg_bytes_eq_str(g_req.argv[1], "y"));
	ck_assert_int_eq(dec_req("81 a4'argv' 90"), -EBADMSG);                 /* no v */
	ck_assert_int_eq(dec_req("81 a1'v' 00"), -EBADMSG);                     /* v 0 */
	ck_assert_int_eq(dec_req("81 a1'v' 02"), -EPROTONOSUPPORT);
	ck_assert_int_eq(dec_req("81 a1'v' ff"), -ERANGE);
	ck_assert_int_eq(dec_req("82 a1'v' 01 a4'argv' 91 01"), -EBADMSG);     /* word not str */
	ck_assert_int_eq(dec_req("82 a1'v' 01 a4'argv' a1'x'"), -EBADMSG);     /* argv not array */
	ck_assert_int_eq(dec_req("92 01 02"), -EBADMSG);                       /* not a map */
	ck_assert_int_eq(dec_req("81 a1'v' 01 00"), -EBADMSG);                  /* trailing */
	ck_assert_int_eq(dec_req("81 a1'v' 01 a1'x' 91 91 91 91 91 91 91 91 91 91 91 91 91 91 91 91 90"),
			 -EBADMSG); /* trailing */
	ck_assert_int_eq(dec_req("82 a1'v' 01 a1'x' 91 91 91 91 91 91 91 91 91 91 91 91 91 91 91 91 90"),
			 -EBADMSG); /* too deep */

	/* the prefix must match the buffer */
	uint8_t b[64];
	size_t n = frame("81 a1'v' 01", b, sizeof(b));
	ck_assert_int_eq(ovg_ctl_decode_request(b, n, &g_req), 0);
	b[n] = 0;
	ck_assert_int_eq(ovg_ctl_decode_request(b, n + 1, &g_req), -EBADMSG);
	for (size_t cut = 0; cut < n; cut++)
		ck_assert_int_eq(ovg_ctl_decode_request(b, cut, &g_req), -EMSGSIZE);
	/* a prefix that agrees with a cut body: the body itself is truncated */
	for (size_t cut = 5; cut < n; cut++) {
		ovg_put_be32(b, (uint32_t)(cut - 4));
		ck_assert_int_eq(ovg_ctl_decode_request(b, cut, &g_req), -EMSGSIZE);
	}
}
END_TEST

START_TEST(response_shape_checked)
{
	static uint8_t b[256];
	struct ovg_ctl_response r;
	size_t n;

	n = frame("83 a6'status' d2 ffffff80 a3'out' c0 a3'err' c4 01 'e'", b, sizeof(b));
	ck_assert_int_eq(ovg_ctl_decode_response(b, n, &r), 0);
	ck_assert_int_eq(r.status, -128);
	ck_assert(ovg_bytes_eq_str(r.err, "e"));
	n = frame("81 a6'status' ce 80000000", b, sizeof(b));
	ck_assert_int_eq(ovg_ctl_decode_response(b, n, &r), -ERANGE);
	n = frame("81 a6'status' d3 ffffffff7fffffff", b, sizeof(b));
	ck_assert_int_eq(ovg_ctl_decode_response(b, n, &r), -ERANGE);
	n = frame("81 a3'out' 05", b, sizeof(b));
	ck_assert_int_eq(ovg_ctl_decode_response(b, n, &r), -EBADMSG);
	n = frame("81 a3'out' a1'x' c0", b, sizeof(b));
	ck_assert_int_eq(ovg_ctl_decode_response(b, n, &r), -EBADMSG);
	n = frame("83 a3'err' a0 a3'out' a3 'ok' 0a a6'status' 02", b, sizeof(b));
	for (size_t cut = 0; cut < n; cut++) {
		ovg_put_be32(b, (uint32_t)(n - 4));
		ck_assert_int_eq(ovg_ctl_decode_response(b, cut, &r), -EMSGSIZE);
		if (cut > 4) {
			ovg_put_be32(b, (uint32_t)(cut - 4));
			ck_assert_int_eq(ovg_ctl_decode_response(b, cut, &r), -EMSGSIZE);
		}
	}
}
END_TEST

START_TEST(response_of_16_mib_fits_one_more_byte_does_not)
{
	size_t cap = OVG_CTL_FRAME_MAX + 64, len;
	uint8_t *buf = malloc(cap), *out = calloc(1, OVG_CTL_FRAME_MAX);
	ck_assert_ptr_nonnull(buf);
	ck_assert_ptr_nonnull(out);
	/* body overhead: map(1) + "err"(4) + nil raw(1) + "out"(4) + str32 hdr(5)
	 * + "status"(7) + fixint(1) = 23 */
	struct ovg_ctl_response r = { .out = ovg_bytes_make(out, OVG_CTL_FRAME_MAX - 23) }, d;
	ck_assert_int_eq(ovg_ctl_encode_response(&r, buf, cap, &len), 0);
	ck_assert_uint_eq(len, 4 + OVG_CTL_FRAME_MAX);
	ck_assert_int_eq(ovg_ctl_decode_response(buf, len, &d), 0);
	ck_assert_uint_eq(d.out.len, OVG_CTL_FRAME_MAX - 23);
	r.out.len++;
	ck_assert_int_eq(ovg_ctl_encode_response(&r, buf, cap, &len), -EMSGSIZE);
	free(buf);
	free(out);
}
END_TEST

START_TEST(random_requests_and_responses_round_trip)
{
	struct ovg_splitmix sm = { g_seed };
	struct ovg_rng rng = { ovg_splitmix_next, &sm };
	static char words[OVG_CTL_ARGC_MAX][200];
	static uint8_t buf[OVG_CTL_ARGC_MAX * 210 + 64];

	for (int iter = 0; iter < 2000; iter++) {
		const char *argv[OVG_CTL_ARGC_MAX];
		int argc = (int)ovg_rng_below(&rng, OVG_CTL_ARGC_MAX + 1);
		size_t len;
		for (int i = 0; i < argc; i++) {
			size_t wl = ovg_rng_below(&rng, sizeof(words[i]));
			for (size_t j = 0; j < wl; j++)
				words[i][j] = (char)(1 + ovg_rng_below(&rng, 255));
			words[i][wl] = 0;
			argv[i] = words[i];
		}
		struct ovg_ctl_request req;
		ck_assert_int_eq(ovg_ctl_encode_request(argc, argv, buf, sizeof(buf), &len), 0);
		ck_assert_int_eq(ovg_ctl_decode_request(buf, len, &req), 0);
		ck_assert_uint_eq(req.argc, (uint32_t)argc);
		for (int i = 0; i < argc; i++)
			ck_assert(ovg_bytes_eq_str(req.argv[i], argv[i]));

		struct ovg_ctl_response r = {
			.status = (int)(int32_t)ovg_rng_next(&rng),
			.out = ovg_bytes_make(words[0], ovg_rng_below(&rng, 200)),
			.err = ovg_bytes_make(words[1], ovg_rng_below(&rng, 200)),
		}, d;
		ck_assert_int_eq(ovg_ctl_encode_response(&r, buf, sizeof(buf), &len), 0);
		ck_assert_int_eq(ovg_ctl_decode_response(buf, len, &d), 0);
		ck_assert_int_eq(d.status, r.status);
		ck_assert_uint_eq(d.out.len, r.out.len);
		ck_assert_mem_eq(d.out.p, r.out.p, r.out.len);
		ck_assert_uint_eq(d.err.len, r.err.len);
		ck_assert_mem_eq(d.err.p, r.err.p, r.err.len);
	}
}
END_TEST

static Suite *suite(void)
{
	Suite *s = suite_create("ctl");
	TCase *tc = tcase_create("core");
	tcase_set_timeout(tc, 20);
	tcase_add_test(tc, request_exact_bytes_and_round_trip);
	tcase_add_test(tc, response_exact_bytes_and_round_trip);
	tcase_add_test(tc, frame_len_waits_for_whole_frames_and_caps_size);
	tcase_add_test(tc, request_argc_and_word_bounds);
	tcase_add_test(tc, request_version_and_shape_checked);
	tcase_add_test(tc, response_shape_checked);
	tcase_add_test(tc, response_of_16_mib_fits_one_more_byte_does_not);
	tcase_add_test(tc, random_requests_and_responses_round_trip);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	const char *env = getenv("OVG_SEED");
	g_seed = env ? strtoull(env, NULL, 0) : 0x63746cu ^ (uint64_t)getpid() << 24;
	printf("test_ctl: SEED=%" PRIu64 " (rerun with OVG_SEED=%" PRIu64 ")\n", g_seed, g_seed);
	SRunner *sr = srunner_create(suite());
	srunner_run_all(sr, CK_ENV);
	int failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
