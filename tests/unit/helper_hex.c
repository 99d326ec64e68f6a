#include <check.h>
#include <stdio.h>

#include "helper_hex.h"

size_t ovg_test_hex(const char *s, uint8_t *out, size_t cap)
{
	size_t n = 0;
	while (*s) {
		if (*s == ' ') {
			s++;
		} else if (*s == '\'') {
			for (s++; *s && *s != '\''; s++) {
				ck_assert_uint_lt(n, cap);
				out[n++] = (uint8_t)*s;
			}
			ck_assert_int_eq(*s, '\'');
			s++;
		} else {
			unsigned v;
			ck_assert_int_eq(sscanf(s, "%2x", &v), 1);
			ck_assert_uint_lt(n, cap);
			out[n++] = (uint8_t)v;
			s += 2;
		}
	}
	return n;
}
