/* ovg_packet_open on arbitrary datagrams, with a fixed two-key keyring (the
 * first is the key of the serf vectors, so the serf-enc-* seeds decrypt) and
 * with no keys. Every message handed out must be a non-empty view inside the
 * packet or the scratch. */
#include <stdlib.h>

#include "ovg/frame.h"
#include "ovg/wire.h"

static uint8_t scratch_buf[1 << 20];

static bool inside(struct ovg_bytes m, const uint8_t *p, size_t len)
{
	return m.p >= p && m.len <= len && (size_t)(m.p - p) <= len - m.len;
}

static void run(const struct ovg_keyring *kr, const uint8_t *data, size_t size)
{
	struct ovg_frame_scratch s = { scratch_buf, sizeof(scratch_buf) };
	struct ovg_bytes msgs[OVG_PACKET_MSGS_MAX];
	size_t n = 0;
	int rc = ovg_packet_open(kr, data, size, &s, msgs, OVG_PACKET_MSGS_MAX, &n);

	if (rc > 0 || n > OVG_PACKET_MSGS_MAX)
		abort();
	for (size_t i = 0; i < n; i++) {
		struct ovg_msg m;
		if (msgs[i].len == 0)
			abort();
		if (!inside(msgs[i], data, size) && !inside(msgs[i], scratch_buf, sizeof(scratch_buf)))
			abort();
		(void)ovg_wire_decode(msgs[i].p, msgs[i].len, &m);
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct ovg_keyring kr;
	static bool init;

	if (!init) {
		kr.n = 2;
		for (int i = 0; i < OVG_KEY_LEN; i++) {
			kr.keys[0][i] = (uint8_t)i;
			kr.keys[1][i] = (uint8_t)(0xA5 ^ i);
		}
		init = true;
	}
	if (size > OVG_UDP_RECV_MAX)
		return 0;
	run(&kr, data, size);
	run(NULL, data, size);
	return 0;
}
