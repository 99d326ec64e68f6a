/* Shared by the unit tests (tests/unit/helper_*.c are linked into every one). */
#ifndef OVG_TEST_HELPER_HEX_H
#define OVG_TEST_HELPER_HEX_H

#include <stddef.h>
#include <stdint.h>

/* Parse "a4 'Addr' 7f000001": hex pairs, spaces ignored, '...' literal text.
 * Fails the running Check test on malformed input or overflow of cap. */
size_t ovg_test_hex(const char *s, uint8_t *out, size_t cap);

#endif
