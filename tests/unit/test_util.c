/* daemon/util.c: address parsing and crash-safe files. */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "daemon/util.h"

START_TEST(addr_parse_ipv4_with_and_without_port)
{
	struct ovg_addr a;
	char err[OVG_ERRBUF], buf[64];

	ck_assert_int_eq(ovg_addr_parse("10.1.2.3", 7946, &a, err, sizeof(err)), 0);
	ck_assert_int_eq(a.len, 4);
	ck_assert_int_eq(a.port, 7946);
	ovg_addr_format(&a, buf, sizeof(buf));
	ck_assert_str_eq(buf, "10.1.2.3:7946");
	ck_assert_int_eq(ovg_addr_parse("10.1.2.3:8000", 7946, &a, err, sizeof(err)), 0);
	ck_assert_int_eq(a.port, 8000);
}
END_TEST

START_TEST(addr_parse_ipv6_bracketed)
{
	struct ovg_addr a;
	char err[OVG_ERRBUF], buf[64];

	ck_assert_int_eq(ovg_addr_parse("[fd00::1]:9000", 7946, &a, err, sizeof(err)), 0);
	ck_assert_int_eq(a.len, 16);
	ck_assert_int_eq(a.port, 9000);
	ovg_addr_format(&a, buf, sizeof(buf));
	ck_assert_str_eq(buf, "[fd00::1]:9000");
	ck_assert_int_eq(ovg_addr_parse("fd00::2", 7946, &a, err, sizeof(err)), 0);
	ck_assert_int_eq(a.port, 7946);
}
END_TEST

START_TEST(addr_parse_rejects_bad_ports_and_garbage)
{
	struct ovg_addr a;
	char err[OVG_ERRBUF];

	ck_assert_int_eq(ovg_addr_parse("10.0.0.1:0", 7946, &a, err, sizeof(err)), -EINVAL);
	ck_assert_int_eq(ovg_addr_parse("10.0.0.1:70000", 7946, &a, err, sizeof(err)), -EINVAL);
	ck_assert_int_eq(ovg_addr_parse("10.0.0.1:x", 7946, &a, err, sizeof(err)), -EINVAL);
	ck_assert_int_eq(ovg_addr_parse("[fd00::1", 7946, &a, err, sizeof(err)), -EINVAL);
	ck_assert_int_eq(ovg_addr_parse("", 7946, &a, err, sizeof(err)), -EINVAL);
	ck_assert_ptr_nonnull(strstr(err, "invalid"));
}
END_TEST

START_TEST(file_write_atomic_replaces_and_reads_back)
{
	char dir[] = "/tmp/ovgtestXXXXXX", path[128];
	uint8_t *buf;
	size_t len;

	ck_assert_ptr_nonnull(mkdtemp(dir));
	snprintf(path, sizeof(path), "%s/sub", dir);
	ck_assert_int_eq(ovg_mkdir_p(path, 0700), 0);
	snprintf(path, sizeof(path), "%s/sub/state", dir);
	ck_assert_int_eq(ovg_file_read(path, 100, &buf, &len), -ENOENT);
	ck_assert_int_eq(ovg_file_write_atomic(path, "hello", 5, 0600), 0);
	ck_assert_int_eq(ovg_file_write_atomic(path, "world!", 6, 0600), 0);
	ck_assert_int_eq(ovg_file_read(path, 100, &buf, &len), 0);
	ck_assert_uint_eq(len, 6);
	ck_assert_mem_eq(buf, "world!", 6);
	free(buf);
	ck_assert_int_eq(ovg_file_read(path, 3, &buf, &len), -EFBIG);
	unlink(path);
	snprintf(path, sizeof(path), "%s/sub", dir);
	rmdir(path);
	rmdir(dir);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("util");
	TCase *tc = tcase_create("core");
	tcase_add_test(tc, addr_parse_ipv4_with_and_without_port);
	tcase_add_test(tc, addr_parse_ipv6_bracketed);
	tcase_add_test(tc, addr_parse_rejects_bad_ports_and_garbage);
	tcase_add_test(tc, file_write_atomic_replaces_and_reads_back);
	suite_add_tcase(s, tc);
	SRunner *sr = srunner_create(s);
	srunner_run_all(sr, CK_NORMAL);
	int failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
