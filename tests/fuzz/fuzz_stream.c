/* ovg_stream_frame_len on every prefix-like cut of the input, then
 * ovg_stream_open on the measured frame, with the serf vectors' key and
 * without keys. A measured frame never exceeds the input; -EAGAIN always asks
 * for more than it was given. */
#include <stdlib.h>

#include "ovg/frame.h"

static uint8_t scratch_buf[4 << 20];

static void check_len(const uint8_t *data, size_t size)
{
	size_t fl = 0;
	int rc = ovg_stream_frame_len(data, size, &fl);

	if (rc == 0 && (fl == 0 || fl > size))
		abort();
	if (rc == -EAGAIN && fl <= size)
		abort();
}

static void open_frame(const struct ovg_keyring *kr, const uint8_t *data, size_t size)
{
	struct ovg_frame_scratch s = { scratch_buf, sizeof(scratch_buf) };
	struct ovg_bytes plain;
	size_t fl = 0;

	if (ovg_stream_frame_len(data, size, &fl) != 0)
		fl = size;              /* open must cope with unmeasured input too */
	if (ovg_stream_open(kr, data, fl, &s, &plain) == 0) {
		if (plain.len == 0)
			abort();
		if (!((plain.p >= data && plain.p + plain.len <= data + size) ||
		      (plain.p >= scratch_buf && plain.p + plain.len <= scratch_buf + sizeof(scratch_buf))))
			abort();
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct ovg_keyring kr;
	static bool init;

	if (!init) {
		kr.n = 1;
		for (int i = 0; i < OVG_KEY_LEN; i++)
			kr.keys[0][i] = (uint8_t)i;
		init = true;
	}
	if (size > (1 << 20))
		return 0;
	check_len(data, size);
	check_len(data, size / 2);
	if (size)
		check_len(data, size - 1);
	open_frame(&kr, data, size);
	open_frame(NULL, data, size);
	return 0;
}
