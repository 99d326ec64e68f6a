/*
 * memberlist protocol 5 messages: one type byte, then one msgpack map keyed by
 * the Go field names (see ../shared/reference/memberlist-wire.md).
 *
 * Decoded structs BORROW from the input buffer (struct ovg_bytes views), except
 * small fixed fields copied inline. Encoders read the same structs, so a decoded
 * message re-encodes from the same views. Maps are written with keys in bytewise
 * order, as serf writes them; fields marked optional are left out when empty.
 *
 * Empty values on write, as memberlist's Go codec writes its own: an empty
 * string field (Node, From, Error...) is 0xa0; an empty bytes field (Payload,
 * Meta, Buf) is nil 0xc0, which is how Go writes the nil []byte memberlist
 * leaves there (ack without a Ping delegate, alive without meta).
 *
 * Decoding is lenient like the Go codec: keys in any order, unknown keys
 * skipped, any int width, str8/bin for strings and bytes, nil as empty/zero,
 * bool also as fixint 0/1, Vsn also as an array of uints. Validation: names
 * (Node, From, Name, SourceNode) <= OVG_NAME_MAX and Meta <= OVG_META_MAX else
 * -EMSGSIZE; Addr/Target must be 4 or 16 bytes and SourceAddr empty, 4 or 16,
 * else -EBADMSG; Vsn absent/empty (vsn_len 0) or exactly 6 bytes, else
 * -EBADMSG; integers beyond their field's width, negative counts -> -ERANGE.
 * Bytes fields other than Vsn must be str/bin/nil (Go never writes []byte as an
 * array; a borrowed view cannot point into a copy).
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
	struct ovg_bytes payload;       /* may be empty: then written as nil (0xc0) */
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
	uint8_t vsn_len;                /* 0 if absent, else 6; on write 0 sends
					   OVG_VSN_DEFAULT (Vsn is always 6 bytes) */
};

struct ovg_push_pull_header {
	int64_t nodes;                  /* decoded: 0..OVG_STREAM_MAX, else -ERANGE/-EMSGSIZE */
	int64_t user_state_len;         /* same bound */
	bool join;
};

struct ovg_push_node {
	struct ovg_bytes name;
	struct ovg_bytes addr;
	uint16_t port;
	struct ovg_bytes meta;
	uint32_t incarnation;
	uint8_t state;                  /* enum ovg_node_state; values > 3 are passed
					   through (memberlist ignores them) */
	uint8_t vsn[OVG_VSN_LEN];
	uint8_t vsn_len;
};

struct ovg_user_header {
	int64_t user_msg_len;           /* decoded: 0..OVG_STREAM_MAX */
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
 * -EMSGSIZE (name/meta over the cap), or -EINVAL (a type this cannot encode,
 * an address not 4/16 bytes, vsn_len not 0/6, a negative count). */
int ovg_wire_encode(const struct ovg_msg *m, uint8_t *buf, size_t cap, size_t *len);

/* Body-only codecs used by streams (push-pull, TCP user message): each reads
 * exactly one msgpack map from *pos forward and advances *pos (unchanged on
 * error). The encoders write the map only, no type byte. */
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

/* A wire address (4 or 16 bytes, kept in the form received) plus port into
 * struct ovg_addr; -EINVAL for another length. */
int ovg_wire_addr_from_bytes(struct ovg_bytes b, uint16_t port, struct ovg_addr *out);
/* View of an ovg_addr's address bytes (empty if unset). Borrows from *a. */
struct ovg_bytes ovg_wire_addr_bytes(const struct ovg_addr *a);
/* ::ffff:a.b.c.d form of an IPv4 address. */
bool ovg_wire_addr_is_v4mapped(struct ovg_bytes b);

const char *ovg_wire_type_name(uint8_t type);

#endif
