/* Control-socket frames between CLI and agent. See include/ovg/ctl.h. */
#include "ovg/ctl.h"
#include "ovg/mp.h"

int ovg_ctl_frame_len(const uint8_t *buf, size_t len, size_t *frame_len)
{
	if (len < OVG_CTL_HDR_LEN)
		return -EAGAIN;
	uint32_t body = ovg_get_be32(buf);
	if (body > OVG_CTL_FRAME_MAX)
		return -EMSGSIZE;
	if (body == 0)
		return -EBADMSG;
	*frame_len = OVG_CTL_HDR_LEN + (size_t)body;
	return len >= *frame_len ? 0 : -EAGAIN;
}

/* Check the prefix against len and set up a reader over the body. */
static int open_frame(const uint8_t *buf, size_t len, struct ovg_mp_reader *r)
{
	size_t flen;
	int rc = ovg_ctl_frame_len(buf, len, &flen);
	if (rc == -EAGAIN)
		return -EMSGSIZE; /* truncated */
	if (rc)
		return rc;
	if (flen != len)
		return -EBADMSG;
	ovg_mp_reader_init(r, buf + OVG_CTL_HDR_LEN, len - OVG_CTL_HDR_LEN);
	return 0;
}

/* Write the prefix once the body is complete. */
static int close_frame(struct ovg_mp_writer *w, size_t *len)
{
	size_t n;
	int rc = ovg_mp_writer_finish(w, &n);
	if (rc)
		return rc;
	if (n - OVG_CTL_HDR_LEN > OVG_CTL_FRAME_MAX)
		return -EMSGSIZE;
	ovg_put_be32(w->buf, (uint32_t)(n - OVG_CTL_HDR_LEN));
	*len = n;
	return 0;
}

int ovg_ctl_encode_request(int argc, const char *const argv[], uint8_t *buf, size_t cap,
			   size_t *len)
{
	static const uint8_t zero[OVG_CTL_HDR_LEN];
	struct ovg_mp_writer w;

	if (argc < 0)
		return -EINVAL;
	if (argc > OVG_CTL_ARGC_MAX)
		return -E2BIG;
	for (int i = 0; i < argc; i++)
		if (strlen(argv[i]) > OVG_CTL_ARG_MAX)
			return -EMSGSIZE;
	ovg_mp_writer_init(&w, buf, cap);
	ovg_mp_write_verbatim(&w, zero, sizeof(zero));
	ovg_mp_write_map(&w, 2);
	ovg_mp_write_cstr(&w, "argv");
	ovg_mp_write_array(&w, (uint32_t)argc);
	for (int i = 0; i < argc; i++)
		ovg_mp_write_cstr(&w, argv[i]);
	ovg_mp_write_cstr(&w, "v");
	ovg_mp_write_uint(&w, OVG_CTL_VERSION);
	return close_frame(&w, len);
}

static int read_argv(struct ovg_mp_reader *r, struct ovg_ctl_request *out)
{
	uint32_t n;
	int rc = ovg_mp_read_array(r, &n);
	if (rc)
		return rc;
	if (n > OVG_CTL_ARGC_MAX)
		return -E2BIG;
	for (uint32_t i = 0; i < n; i++) {
		rc = ovg_mp_read_str(r, &out->argv[i]);
		if (rc)
			return rc;
		if (out->argv[i].len > OVG_CTL_ARG_MAX)
			return -EMSGSIZE;
	}
	out->argc = n;
	return 0;
}

int ovg_ctl_decode_request(const uint8_t *buf, size_t len, struct ovg_ctl_request *out)
{
	struct ovg_mp_reader r;
	uint64_t version = 0;
	uint32_t n;
	int rc;

	memset(out, 0, sizeof(*out));
	rc = open_frame(buf, len, &r);
	if (rc)
		return rc;
	rc = ovg_mp_read_map(&r, &n);
	if (rc)
		return rc;
	for (uint32_t i = 0; i < n; i++) {
		struct ovg_bytes k;
		rc = ovg_mp_read_str(&r, &k);
		if (rc)
			return rc;
		if (ovg_bytes_eq_str(k, "v"))
			rc = ovg_mp_read_uint(&r, &version);
		else if (ovg_bytes_eq_str(k, "argv"))
			rc = read_argv(&r, out);
		else
			rc = ovg_mp_skip(&r);
		if (rc)
			return rc;
	}
	if (ovg_mp_remaining(&r))
		return -EBADMSG;
	if (version == 0)
		return -EBADMSG;
	if (version > OVG_CTL_VERSION)
		return -EPROTONOSUPPORT;
	return 0;
}

int ovg_ctl_encode_response(const struct ovg_ctl_response *resp, uint8_t *buf, size_t cap,
			    size_t *len)
{
	static const uint8_t zero[OVG_CTL_HDR_LEN];
	struct ovg_mp_writer w;

	if (resp->out.len > OVG_CTL_FRAME_MAX || resp->err.len > OVG_CTL_FRAME_MAX)
		return -EMSGSIZE;
	ovg_mp_writer_init(&w, buf, cap);
	ovg_mp_write_verbatim(&w, zero, sizeof(zero));
	ovg_mp_write_map(&w, 3);
	ovg_mp_write_cstr(&w, "err");
	ovg_mp_write_raw(&w, resp->err.p, resp->err.len);
	ovg_mp_write_cstr(&w, "out");
	ovg_mp_write_raw(&w, resp->out.p, resp->out.len);
	ovg_mp_write_cstr(&w, "status");
	ovg_mp_write_int(&w, resp->status);
	return close_frame(&w, len);
}

int ovg_ctl_decode_response(const uint8_t *buf, size_t len, struct ovg_ctl_response *out)
{
	struct ovg_mp_reader r;
	uint32_t n;
	int rc;

	memset(out, 0, sizeof(*out));
	rc = open_frame(buf, len, &r);
	if (rc)
		return rc;
	rc = ovg_mp_read_map(&r, &n);
	if (rc)
		return rc;
	for (uint32_t i = 0; i < n; i++) {
		struct ovg_bytes k;
		int64_t status;
		rc = ovg_mp_read_str(&r, &k);
		if (rc)
			return rc;
		if (ovg_bytes_eq_str(k, "status")) {
			rc = ovg_mp_read_int(&r, &status);
			if (!rc && (status < INT32_MIN || status > INT32_MAX))
				rc = -ERANGE;
			if (!rc)
				out->status = (int)status;
		} else if (ovg_bytes_eq_str(k, "out")) {
			rc = ovg_mp_read_str(&r, &out->out);
		} else if (ovg_bytes_eq_str(k, "err")) {
			rc = ovg_mp_read_str(&r, &out->err);
		} else {
			rc = ovg_mp_skip(&r);
		}
		if (rc)
			return rc;
	}
	return ovg_mp_remaining(&r) ? -EBADMSG : 0;
}
