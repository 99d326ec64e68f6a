/*
 * Fuzz the memberlist message decoders: ovg_wire_decode on the whole input,
 * and the stream body decoders (push-pull header, node records, user header)
 * from offset 0. Whatever decodes must re-encode, decode again, and re-encode
 * to the same bytes (the encoding is canonical).
 */
#include <assert.h>
#include <stdlib.h>

#include "ovg/wire.h"

static void check_msg(const struct ovg_msg *m, size_t in_len)
{
	size_t cap = 2 * in_len + 64, l1, l2;
	uint8_t *a = malloc(cap), *b = malloc(cap);
	struct ovg_msg d;

	assert(a && b);
	assert(ovg_wire_encode(m, a, cap, &l1) == 0);
	assert(ovg_wire_decode(a, l1, &d) == 0);
	assert(d.type == m->type);
	assert(ovg_wire_encode(&d, b, cap, &l2) == 0);
	assert(l1 == l2 && memcmp(a, b, l1) == 0);
	free(a);
	free(b);
}

static void check_node(const struct ovg_push_node *n)
{
	uint8_t a[1024], b[1024];
	size_t l1, l2, pos = 0;
	struct ovg_push_node d;

	assert(ovg_wire_encode_push_node(n, a, sizeof(a), &l1) == 0);
	assert(ovg_wire_decode_push_node(a, l1, &pos, &d) == 0 && pos == l1);
	assert(ovg_wire_encode_push_node(&d, b, sizeof(b), &l2) == 0);
	assert(l1 == l2 && memcmp(a, b, l1) == 0);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct ovg_msg m;
	struct ovg_push_pull_header h;
	struct ovg_push_node n;
	struct ovg_user_header u;
	uint8_t buf[64];
	size_t pos = 0, len, l2;

	if (ovg_wire_decode(data, size, &m) == 0)
		check_msg(&m, size);

	if (ovg_wire_decode_push_pull_header(data, size, &pos, &h) == 0) {
		struct ovg_push_pull_header d;
		size_t p2 = 0;
		assert(pos <= size && h.nodes >= 0 && h.user_state_len >= 0);
		assert(ovg_wire_encode_push_pull_header(&h, buf, sizeof(buf), &len) == 0);
		assert(ovg_wire_decode_push_pull_header(buf, len, &p2, &d) == 0 && p2 == len);
		assert(d.nodes == h.nodes && d.user_state_len == h.user_state_len && d.join == h.join);
		for (int64_t i = 0; i < h.nodes && i < 256; i++) {
			size_t before = pos;
			if (ovg_wire_decode_push_node(data, size, &pos, &n) != 0) {
				assert(pos == before);
				break;
			}
			assert(pos > before && pos <= size);
			check_node(&n);
		}
	}

	pos = 0;
	if (ovg_wire_decode_user_header(data, size, &pos, &u) == 0) {
		struct ovg_user_header d;
		size_t p2 = 0;
		assert(ovg_wire_encode_user_header(&u, buf, sizeof(buf), &l2) == 0);
		assert(ovg_wire_decode_user_header(buf, l2, &p2, &d) == 0);
		assert(d.user_msg_len == u.user_msg_len);
	}
	return 0;
}
