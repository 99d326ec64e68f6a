/* ovg_lzw_decode on arbitrary input (bounded output, never a crash), and
 * encode -> decode of the input must give it back unchanged. */
#include <stdlib.h>

#include "ovg/frame.h"

static uint8_t out[1 << 20];
static uint8_t enc[(1 << 17) * 2 + 16];

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	size_t n = 0, en = 0;
	int rc;

	if (size > (1 << 17))
		return 0;
	rc = ovg_lzw_decode(data, size, out, sizeof(out), &n);
	if (rc != 0 && rc != -EBADMSG && rc != -ENOSPC)
		abort();
	if (rc == 0 && n > sizeof(out))
		abort();

	if (ovg_lzw_encode(data, size, enc, sizeof(enc), &en) != 0)
		abort();
	if (ovg_lzw_decode(enc, en, out, sizeof(out), &n) != 0 || n != size ||
	    (size && memcmp(out, data, size) != 0))
		abort();
	return 0;
}
