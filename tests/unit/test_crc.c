/* proto/crc32.c: CRC-32/IEEE as Go's crc32.ChecksumIEEE computes it. */
#include <check.h>
#include <stdlib.h>

#include "ovg/frame.h"

/* One bit at a time, straight from the definition. */
static uint32_t crc_bitwise(const uint8_t *p, size_t len)
{
	uint32_t c = 0xffffffffu;

	for (size_t i = 0; i < len; i++) {
		c ^= p[i];
		for (int k = 0; k < 8; k++)
			c = (c & 1) ? (c >> 1) ^ 0xEDB88320u : c >> 1;
	}
	return ~c;
}

START_TEST(crc_matches_published_check_values)
{
	const char *s = "123456789";
	const char *fox = "The quick brown fox jumps over the lazy dog";

	ck_assert_uint_eq(ovg_crc32((const uint8_t *)s, 9), 0xCBF43926u);
	ck_assert_uint_eq(ovg_crc32((const uint8_t *)fox, strlen(fox)), 0x414FA339u);
	ck_assert_uint_eq(ovg_crc32(NULL, 0), 0);
	ck_assert_uint_eq(ovg_crc32((const uint8_t *)"a", 1), 0xE8B7BE43u);
}
END_TEST

START_TEST(crc_slice_by_8_agrees_with_bitwise_at_every_length_and_alignment)
{
	struct ovg_splitmix m = { 42 };
	uint8_t buf[600];

	for (size_t i = 0; i < sizeof(buf); i++)
		buf[i] = (uint8_t)ovg_splitmix_next(&m);
	for (size_t off = 0; off < 9; off++)
		for (size_t len = 0; len + off <= sizeof(buf); len += (len < 40 ? 1 : 37))
			ck_assert_uint_eq(ovg_crc32(buf + off, len), crc_bitwise(buf + off, len));
}
END_TEST

START_TEST(crc_detects_single_bit_flips)
{
	uint8_t buf[200];
	uint32_t ref;

	for (size_t i = 0; i < sizeof(buf); i++)
		buf[i] = (uint8_t)(i * 7);
	ref = ovg_crc32(buf, sizeof(buf));
	for (size_t bit = 0; bit < sizeof(buf) * 8; bit++) {
		buf[bit / 8] ^= (uint8_t)(1u << (bit % 8));
		ck_assert_uint_ne(ovg_crc32(buf, sizeof(buf)), ref);
		buf[bit / 8] ^= (uint8_t)(1u << (bit % 8));
	}
}
END_TEST

int main(void)
{
	Suite *s = suite_create("crc32");
	TCase *tc = tcase_create("core");
	SRunner *sr;
	int failed;

	tcase_add_test(tc, crc_matches_published_check_values);
	tcase_add_test(tc, crc_slice_by_8_agrees_with_bitwise_at_every_length_and_alignment);
	tcase_add_test(tc, crc_detects_single_bit_flips);
	suite_add_tcase(s, tc);
	sr = srunner_create(s);
	srunner_run_all(sr, CK_ENV);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
