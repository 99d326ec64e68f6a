/*
 * memberlist protocol 5 messages: one type byte, then one msgpack map keyed by
 * the Go field names (see ../shared/reference/memberlist-wire.md).
 *
 * Decoded structs BORROW from the input buffer (struct ovg_bytes views), except
 * small fixed fields copied inline. Encoders read the same structs, so a decoded
 * message re-encodes from the same views. Maps are written with keys in bytewise
 * order, as serf writes them; fields marked optional are left out when empty.
 */
#ifndef OVG_WIRE_H
#define OVG_WIRE_H

#include "ovg/common.h"

enum ovg_msg_type {
	OVG_MSG_PING = 0,
	OVG_MSG_INDIRECT_PING = 1,
	OVG_MSG_ACK = 2,
	OVG_MSG_SUSPECT = 3,
	OVG_MSG_ALIVE = 4,
	OVG_MSG_DEAD = 5,
	OVG_MSG_PUSH_PULL = 6,
	OVG_MSG_COMPOUND = 7,
	OVG_MSG_USER = 8,
	OVG_MSG_COMPRESS = 9,
	OVG_MSG_ENCRYPT = 10,
	OVG_MSG_NACK = 11,
	OVG_MSG_HAS_CRC = 12,
	OVG_MSG_ERR = 13,
	OVG_MSG_HAS_LABEL = 244, /* memberlist 0.3+: refused */
};

#define OVG_VSN_LEN 6
/* [pmin, pmax, pcur, dmin, dmax, dcur]; what we advertise. */
#define OVG_VSN_DEFAULT { 1, 5, 2, 2, 5, 5 }

enum ovg_node_state {
	OVG_STATE_ALIVE = 0,
	OVG_STATE_SUSPECT = 1,
	OVG_STATE_DEAD = 2,
	OVG_STATE_LEFT = 3,
};

struct ovg_ping {
	uint32_t seq_no;
	struct ovg_bytes node;          /* target's name, may be empty */
	struct ovg_bytes source_addr;   /* optional */
	uint16_t source_port;           /* optional (0 = absent) */
	struct ovg_bytes source_node;   /* optional */
};

struct ovg_indirect_ping {
	uint32_t seq_no;
	struct ovg_bytes target;        /* 4 or 16 address bytes */
	uint16_t port;
	struct ovg_bytes node;
	bool nack;
	struct ovg_bytes source_addr;   /* optional */
	uint16_t source_port;           /* optional */
	struct ovg_bytes source_node;   /* optional */
};

struct ovg_ack {
	uint32_t seq_no;
	struct ovg_bytes payload;       /* may be empty: written as nil? see wire.c */
};

struct ovg_nack {
	uint32_t seq_no;
};

struct ovg_err {
	struct ovg_bytes error;
};

/* suspect and dead share a shape; dead with from == node means "left". */
struct ovg_suspect {
	uint32_t incarnation;
	struct ovg_bytes node;
	struct ovg_bytes from;
};

struct ovg_alive {
	uint32_t incarnation;
	struct ovg_bytes node;
	struct ovg_bytes addr;
	uint16_t port;
	struct ovg_bytes meta;
	uint8_t vsn[OVG_VSN_LEN];
	uint8_t vsn_len;                /* 0 if absent, else 6 */
};

struct ovg_push_pull_header {
	int64_t nodes;
	int64_t user_state_len;
	bool join;
};

struct ovg_push_node {
	struct ovg_bytes name;
	struct ovg_bytes addr;
	uint16_t port;
	struct ovg_bytes meta;
	uint32_t incarnation;
	uint8_t state;                  /* enum ovg_node_state */
	uint8_t vsn[OVG_VSN_LEN];
	uint8_t vsn_len;
};

struct ovg_user_header {
	int64_t user_msg_len;
};

struct ovg_compress {
	uint8_t algo;                   /* 0 = LZW */
	struct ovg_bytes buf;
};

/* One message of any type. For USER (UDP form) `user` is the bytes after the
 * type byte. */
struct ovg_msg {
	uint8_t type;                   /* enum ovg_msg_type */
	union {
		struct ovg_ping ping;
		struct ovg_indirect_ping indirect_ping;
		struct ovg_ack ack;
		struct ovg_nack nack;
		struct ovg_err err;
		struct ovg_suspect suspect;  /* also DEAD */
		struct ovg_alive alive;
		struct ovg_compress compress;
		struct ovg_bytes user;
	} u;
};

/* Decode one message: type byte + body, all of [buf, buf+len) (trailing bytes
 * after the map are an error except for USER). PUSH_PULL, COMPOUND, HAS_CRC and
 * ENCRYPT are not handled here (framing, see frame.h and stream functions below)
 * and give -EPROTONOSUPPORT; unknown types -EBADMSG; HAS_LABEL -EPROTONOSUPPORT.
 * Returns 0, -EBADMSG, -EMSGSIZE, -ERANGE. Borrows from buf. */
int ovg_wire_decode(const uint8_t *buf, size_t len, struct ovg_msg *out);

/* Encode one message (type byte + body) into buf. 0 with *len, or -ENOSPC,
 * or -EINVAL for a type this cannot encode. */
int ovg_wire_encode(const struct ovg_msg *m, uint8_t *buf, size_t cap, size_t *len);

/* Body-only codecs used by streams (push-pull, TCP user message): each reads
 * exactly one msgpack map from *pos forward and advances *pos. */
int ovg_wire_decode_push_pull_header(const uint8_t *buf, size_t len, size_t *pos,
				     struct ovg_push_pull_header *out);
int ovg_wire_decode_push_node(const uint8_t *buf, size_t len, size_t *pos,
			      struct ovg_push_node *out);
int ovg_wire_decode_user_header(const uint8_t *buf, size_t len, size_t *pos,
				struct ovg_user_header *out);
int ovg_wire_encode_push_pull_header(const struct ovg_push_pull_header *h, uint8_t *buf,
				     size_t cap, size_t *len);
int ovg_wire_encode_push_node(const struct ovg_push_node *n, uint8_t *buf, size_t cap,
			      size_t *len);
int ovg_wire_encode_user_header(const struct ovg_user_header *h, uint8_t *buf, size_t cap,
				size_t *len);

const char *ovg_wire_type_name(uint8_t type);

#endif
