/* ovgossipd's user-message envelope. See include/ovg/env.h. */
#include "ovg/env.h"

int ovg_env_decode(const uint8_t *buf, size_t len, struct ovg_env *out)
{
	memset(out, 0, sizeof(*out));
	if (len == 0)
		return -EBADMSG;
	if (buf[0] <= 9)
		return -ENOMSG;
	if (buf[0] != OVG_ENV_MAGIC || len < OVG_ENV_HDR_LEN)
		return -EBADMSG;
	out->version = buf[1];
	out->kind = buf[2];
	out->body = ovg_bytes_make(buf + OVG_ENV_HDR_LEN, len - OVG_ENV_HDR_LEN);
	if (out->version > OVG_ENV_VERSION)
		return -EPROTONOSUPPORT;
	if (out->version == 0 || out->kind == 0)
		return -EBADMSG;
	return 0;
}

int ovg_env_encode(uint8_t kind, const void *body, size_t body_len, uint8_t *buf, size_t cap,
		   size_t *len)
{
	if (kind == 0)
		return -EINVAL;
	if (body_len > OVG_ENV_BODY_MAX)
		return -EMSGSIZE;
	if (cap < OVG_ENV_HDR_LEN || body_len > cap - OVG_ENV_HDR_LEN)
		return -ENOSPC;
	buf[0] = OVG_ENV_MAGIC;
	buf[1] = OVG_ENV_VERSION;
	buf[2] = kind;
	if (body_len)
		memcpy(buf + OVG_ENV_HDR_LEN, body, body_len);
	*len = OVG_ENV_HDR_LEN + body_len;
	return 0;
}
