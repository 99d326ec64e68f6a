/*
 * Control-socket framing between the CLI and the agent.
 *
 * Frame: u32 big-endian body length, then a msgpack body of that length
 * (1..OVG_CTL_FRAME_MAX bytes). Written with the same raw-family msgpack as the
 * wire (see mp.h); read leniently, unknown keys skipped, keys in any order.
 *
 * Request body:  {"argv": [str, ...], "v": 1}
 *   argv: the command-line words after the global options, at most
 *   OVG_CTL_ARGC_MAX words of at most OVG_CTL_ARG_MAX bytes each.
 * Response body: {"err": raw, "out": raw, "status": int}
 *   status: the CLI's exit status (int32); out/err: text for stdout/stderr.
 */
#ifndef OVG_CTL_H
#define OVG_CTL_H

#include "ovg/common.h"

#define OVG_CTL_VERSION    1
#define OVG_CTL_HDR_LEN    4
#define OVG_CTL_FRAME_MAX  (16u << 20)  /* largest body, bytes */
#define OVG_CTL_ARGC_MAX   64
#define OVG_CTL_ARG_MAX    4096         /* bytes per argv word */

struct ovg_ctl_request {
	uint32_t argc;
	struct ovg_bytes argv[OVG_CTL_ARGC_MAX]; /* borrowed; not NUL-terminated */
};

struct ovg_ctl_response {
	int status;
	struct ovg_bytes out;                    /* borrowed */
	struct ovg_bytes err;                    /* borrowed */
};

/* Is a whole frame at the start of buf? *frame_len is set to the whole
 * frame's length (prefix + body) as soon as the 4-byte prefix is there.
 * 0: buf holds at least *frame_len bytes. -EAGAIN: read more (*frame_len is
 * set if len >= 4). -EMSGSIZE: body over OVG_CTL_FRAME_MAX. -EBADMSG: empty
 * body. */
int ovg_ctl_frame_len(const uint8_t *buf, size_t len, size_t *frame_len);

/* Encode a whole frame (prefix included) into buf. 0 with *len, -ENOSPC (buf
 * too small), -E2BIG (argc > OVG_CTL_ARGC_MAX), -EMSGSIZE (a word over
 * OVG_CTL_ARG_MAX, or a body over OVG_CTL_FRAME_MAX), -EINVAL (argc < 0). */
int ovg_ctl_encode_request(int argc, const char *const argv[], uint8_t *buf, size_t cap,
			   size_t *len);
/* Decode exactly one whole frame [buf, buf+len) (prefix included; the prefix
 * must match len). Views borrow from buf. 0, -EBADMSG (malformed, wrong type,
 * trailing bytes, "v" missing or 0), -EMSGSIZE (truncated or over a bound),
 * -E2BIG (too many words), -EPROTONOSUPPORT ("v" newer than ours). */
int ovg_ctl_decode_request(const uint8_t *buf, size_t len, struct ovg_ctl_request *out);

int ovg_ctl_encode_response(const struct ovg_ctl_response *r, uint8_t *buf, size_t cap,
			    size_t *len);
/* As decode_request; status must fit an int32 (-ERANGE otherwise). */
int ovg_ctl_decode_response(const uint8_t *buf, size_t len, struct ovg_ctl_response *out);

#endif
