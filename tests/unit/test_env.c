/* proto/env.c: ovgossipd's envelope for memberlist user messages and state. */
#include <check.h>
#include <stdlib.h>

#include "ovg/env.h"

START_TEST(envelope_exact_bytes_and_round_trip)
{
	uint8_t buf[16];
	size_t len;
	struct ovg_env e;

	ck_assert_int_eq(ovg_env_encode(OVG_ENV_STATE_DIGEST, "xyz", 3, buf, sizeof(buf), &len), 0);
	ck_assert_uint_eq(len, 6);
	ck_assert_mem_eq(buf, "\x6f\x01\x02xyz", 6);
	ck_assert_int_eq(ovg_env_decode(buf, len, &e), 0);
	ck_assert_uint_eq(e.version, OVG_ENV_VERSION);
	ck_assert_uint_eq(e.kind, OVG_ENV_STATE_DIGEST);
	ck_assert_ptr_eq(e.body.p, buf + 3);
	ck_assert_uint_eq(e.body.len, 3);

	/* empty body; a kind we do not know yet still decodes (the caller decides) */
	ck_assert_int_eq(ovg_env_encode(200, NULL, 0, buf, sizeof(buf), &len), 0);
	ck_assert_uint_eq(len, OVG_ENV_HDR_LEN);
	ck_assert_int_eq(ovg_env_decode(buf, len, &e), 0);
	ck_assert_uint_eq(e.kind, 200);
	ck_assert_uint_eq(e.body.len, 0);
}
END_TEST

START_TEST(serf_messages_are_told_apart)
{
	/* serf's user messages and user state start with its type byte 0-9 */
	for (unsigned t = 0; t <= 9; t++) {
		uint8_t b[4] = { (uint8_t)t, 1, 1, 0 };
		struct ovg_env e;
		ck_assert_int_eq(ovg_env_decode(b, 1, &e), -ENOMSG);
		ck_assert_int_eq(ovg_env_decode(b, sizeof(b), &e), -ENOMSG);
	}
}
END_TEST

START_TEST(bad_envelopes_refused)
{
	struct ovg_env e;
	ck_assert_int_eq(ovg_env_decode(NULL, 0, &e), -EBADMSG);
	ck_assert_int_eq(ovg_env_decode((const uint8_t *)"o", 1, &e), -EBADMSG);
	ck_assert_int_eq(ovg_env_decode((const uint8_t *)"o\x01", 2, &e), -EBADMSG);
	ck_assert_int_eq(ovg_env_decode((const uint8_t *)"p\x01\x01", 3, &e), -EBADMSG);
	ck_assert_int_eq(ovg_env_decode((const uint8_t *)"\x0a\x01\x01", 3, &e), -EBADMSG);
	ck_assert_int_eq(ovg_env_decode((const uint8_t *)"o\x00\x01", 3, &e), -EBADMSG);
	ck_assert_int_eq(ovg_env_decode((const uint8_t *)"o\x01\x00", 3, &e), -EBADMSG);
	ck_assert_int_eq(ovg_env_decode((const uint8_t *)"o\x02\x01zz", 5, &e), -EPROTONOSUPPORT);
	ck_assert_uint_eq(e.version, 2);
	ck_assert_uint_eq(e.kind, 1);
}
END_TEST

START_TEST(encode_checks_kind_and_space)
{
	uint8_t buf[8];
	size_t len;
	ck_assert_int_eq(ovg_env_encode(0, "x", 1, buf, sizeof(buf), &len), -EINVAL);
	for (size_t cap = 0; cap < 6; cap++)
		ck_assert_int_eq(ovg_env_encode(OVG_ENV_IPAM, "xyz", 3, buf, cap, &len), -ENOSPC);
	ck_assert_int_eq(ovg_env_encode(OVG_ENV_IPAM, "xyz", 3, buf, 6, &len), 0);
	ck_assert_int_eq(ovg_env_encode(OVG_ENV_IPAM, buf, (size_t)OVG_ENV_BODY_MAX + 1, buf,
					SIZE_MAX, &len), -EMSGSIZE);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("env");
	TCase *tc = tcase_create("core");
	tcase_add_test(tc, envelope_exact_bytes_and_round_trip);
	tcase_add_test(tc, serf_messages_are_told_apart);
	tcase_add_test(tc, bad_envelopes_refused);
	tcase_add_test(tc, encode_checks_kind_and_space);
	suite_add_tcase(s, tc);
	SRunner *sr = srunner_create(s);
	srunner_run_all(sr, CK_ENV);
	int failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
