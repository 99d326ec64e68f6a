/*
 * ovgossipd's envelope for memberlist user messages and push-pull user state.
 *
 *   byte 0: OVG_ENV_MAGIC 'o' (0x6f), outside serf's user-message types 0-9,
 *           so serf drops ours as unknown and we recognise (and ignore) serf's;
 *   byte 1: format version, OVG_ENV_VERSION;
 *   byte 2: kind (enum ovg_env_kind; open for the replicated-state messages);
 *   then the body, whose format the kind defines.
 */
#ifndef OVG_ENV_H
#define OVG_ENV_H

#include "ovg/common.h"

#define OVG_ENV_MAGIC    0x6f
#define OVG_ENV_VERSION  1
#define OVG_ENV_HDR_LEN  3
#define OVG_ENV_BODY_MAX OVG_STREAM_MAX

enum ovg_env_kind {
	OVG_ENV_STATE_DELTA = 1,
	OVG_ENV_STATE_DIGEST = 2,
	OVG_ENV_STATE_REQUEST = 3,
	OVG_ENV_IPAM = 4,
	OVG_ENV_STATE_SUMMARY = 5,
};

struct ovg_env {
	uint8_t version;
	uint8_t kind;                   /* any nonzero value; the caller checks */
	struct ovg_bytes body;          /* borrowed from the input */
};

/* 0; -ENOMSG: byte 0 is 0-9, a serf message (ignore it); -EPROTONOSUPPORT:
 * version newer than ours (out->version/kind are filled in); -EBADMSG: empty,
 * shorter than the header, another first byte, version 0 or kind 0. Callers
 * skip an empty push-pull user state before calling. */
int ovg_env_decode(const uint8_t *buf, size_t len, struct ovg_env *out);

/* Header + body into buf. 0 with *len; -EINVAL (kind 0); -EMSGSIZE (body over
 * OVG_ENV_BODY_MAX); -ENOSPC (cap too small). body may be NULL if body_len 0. */
int ovg_env_encode(uint8_t kind, const void *body, size_t body_len, uint8_t *buf, size_t cap,
		   size_t *len);

#endif
