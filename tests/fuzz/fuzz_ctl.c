/*
 * Fuzz the control-socket frames: frame_len, then request and response
 * decoding of the first frame. Whatever decodes must re-encode to a frame that
 * decodes to the same values.
 */
#include <assert.h>
#include <stdlib.h>

#include "ovg/ctl.h"

static bool same(struct ovg_bytes a, struct ovg_bytes b)
{
	return a.len == b.len && (a.len == 0 || memcmp(a.p, b.p, a.len) == 0);
}

static void check_request(const struct ovg_ctl_request *req)
{
	char *words[OVG_CTL_ARGC_MAX];
	const char *argv[OVG_CTL_ARGC_MAX];
	size_t cap = OVG_CTL_ARGC_MAX * (OVG_CTL_ARG_MAX + 8) + 64, len;
	uint8_t *buf = malloc(cap);
	struct ovg_ctl_request d;
	bool has_nul = false;

	assert(buf && req->argc <= OVG_CTL_ARGC_MAX);
	for (uint32_t i = 0; i < req->argc; i++) {
		assert(req->argv[i].len <= OVG_CTL_ARG_MAX);
		words[i] = calloc(1, req->argv[i].len + 1);
		assert(words[i]);
		if (req->argv[i].len)
			memcpy(words[i], req->argv[i].p, req->argv[i].len);
		has_nul |= strlen(words[i]) != req->argv[i].len;
		argv[i] = words[i];
	}
	/* C strings cannot carry a NUL: such words do not round-trip */
	if (!has_nul) {
		assert(ovg_ctl_encode_request((int)req->argc, argv, buf, cap, &len) == 0);
		assert(ovg_ctl_decode_request(buf, len, &d) == 0);
		assert(d.argc == req->argc);
		for (uint32_t i = 0; i < req->argc; i++)
			assert(same(d.argv[i], req->argv[i]));
	}
	for (uint32_t i = 0; i < req->argc; i++)
		free(words[i]);
	free(buf);
}

static void check_response(const struct ovg_ctl_response *r, size_t in_len)
{
	size_t cap = in_len + 64, len;
	uint8_t *buf = malloc(cap);
	struct ovg_ctl_response d;

	assert(buf);
	assert(ovg_ctl_encode_response(r, buf, cap, &len) == 0);
	assert(ovg_ctl_decode_response(buf, len, &d) == 0);
	assert(d.status == r->status && same(d.out, r->out) && same(d.err, r->err));
	free(buf);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	size_t flen = 0;
	struct ovg_ctl_request req;
	struct ovg_ctl_response resp;
	int rc = ovg_ctl_frame_len(data, size, &flen);

	assert(rc == 0 || rc == -EAGAIN || rc == -EMSGSIZE || rc == -EBADMSG);
	if (rc != 0)
		return 0;
	assert(flen > OVG_CTL_HDR_LEN && flen <= size);
	if (ovg_ctl_decode_request(data, flen, &req) == 0)
		check_request(&req);
	if (ovg_ctl_decode_response(data, flen, &resp) == 0)
		check_response(&resp, flen);
	return 0;
}
