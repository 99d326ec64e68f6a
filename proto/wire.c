/*
 * memberlist protocol 5 message codecs. See include/ovg/wire.h.
 *
 * What memberlist's Go codec (hashicorp/go-msgpack 0.5, MsgpackHandle) writes,
 * and so what we write:
 * - struct fields as a map with keys sorted bytewise by field name;
 * - fields tagged omitempty (ping/indirectPing Source*) left out when empty;
 * - a string as raw (fixstr/str16/str32), "" as 0xa0;
 * - a []byte as raw when non-nil, and as nil (0xc0) when nil. memberlist's own
 *   empty byte fields are nil slices (an ack without a Ping delegate, an alive
 *   without node meta), so an empty bytes field is written as 0xc0 here; Go reads
 *   0xc0 and 0xa0 alike as empty.
 */
#include "ovg/wire.h"
#include "ovg/mp.h"

static const uint8_t vsn_default[OVG_VSN_LEN] = OVG_VSN_DEFAULT;

/* ---- field readers ------------------------------------------------------ */

static int rd_uint_max(struct ovg_mp_reader *r, uint64_t max, uint64_t *v)
{
	int rc = ovg_mp_read_uint(r, v);
	if (rc)
		return rc;
	return *v > max ? -ERANGE : 0;
}

static int rd_u32(struct ovg_mp_reader *r, uint32_t *out)
{
	uint64_t v;
	int rc = rd_uint_max(r, UINT32_MAX, &v);
	if (!rc)
		*out = (uint32_t)v;
	return rc;
}

static int rd_u16(struct ovg_mp_reader *r, uint16_t *out)
{
	uint64_t v;
	int rc = rd_uint_max(r, UINT16_MAX, &v);
	if (!rc)
		*out = (uint16_t)v;
	return rc;
}

static int rd_u8(struct ovg_mp_reader *r, uint8_t *out)
{
	uint64_t v;
	int rc = rd_uint_max(r, UINT8_MAX, &v);
	if (!rc)
		*out = (uint8_t)v;
	return rc;
}

/* A non-negative length or count, at most OVG_STREAM_MAX. */
static int rd_len(struct ovg_mp_reader *r, int64_t *out)
{
	int64_t v;
	int rc = ovg_mp_read_int(r, &v);
	if (rc)
		return rc;
	if (v < 0)
		return -ERANGE;
	if (v > (int64_t)OVG_STREAM_MAX)
		return -EMSGSIZE;
	*out = v;
	return 0;
}

static int rd_capped(struct ovg_mp_reader *r, size_t max, struct ovg_bytes *out)
{
	int rc = ovg_mp_read_str(r, out);
	if (rc)
		return rc;
	return out->len > max ? -EMSGSIZE : 0;
}

static int rd_name(struct ovg_mp_reader *r, struct ovg_bytes *out)
{
	return rd_capped(r, OVG_NAME_MAX, out);
}

/* An address: empty, 4 or 16 bytes; callers needing one check for empty. */
static int rd_addr(struct ovg_mp_reader *r, struct ovg_bytes *out)
{
	int rc = ovg_mp_read_str(r, out);
	if (rc)
		return rc;
	return out->len == 0 || out->len == 4 || out->len == 16 ? 0 : -EBADMSG;
}

static int rd_vsn(struct ovg_mp_reader *r, uint8_t vsn[OVG_VSN_LEN], uint8_t *vsn_len)
{
	uint8_t scratch[OVG_VSN_LEN];
	struct ovg_bytes b;
	int rc = ovg_mp_read_bytes(r, &b, scratch, sizeof(scratch));
	if (rc)
		return rc;
	if (b.len == 0) {
		*vsn_len = 0;
		return 0;
	}
	if (b.len != OVG_VSN_LEN)
		return -EBADMSG;
	memcpy(vsn, b.p, OVG_VSN_LEN);
	*vsn_len = OVG_VSN_LEN;
	return 0;
}

static bool addr_len_ok(size_t len)
{
	return len == 4 || len == 16;
}

/* ---- decoders ----------------------------------------------------------- */

/* Each decoder reads one map; unknown keys are skipped, later duplicates win
 * (as in Go). KEY(name) compares the current key. */
#define KEY(s) ovg_bytes_eq_str(k, s)

#define MAP_LOOP(r, body)                                         \
	do {                                                      \
		uint32_t n_;                                      \
		int rc_ = ovg_mp_read_map(r, &n_);                \
		if (rc_)                                          \
			return rc_;                               \
		for (uint32_t i_ = 0; i_ < n_; i_++) {            \
			struct ovg_bytes k;                       \
			int rc;                                   \
			rc_ = ovg_mp_read_str(r, &k);             \
			if (rc_)                                  \
				return rc_;                       \
			body                                      \
			else rc = ovg_mp_skip(r);                 \
			if (rc)                                   \
				return rc;                        \
		}                                                 \
	} while (0)

static int dec_ping(struct ovg_mp_reader *r, struct ovg_ping *m)
{
	MAP_LOOP(r,
		if (KEY("SeqNo")) rc = rd_u32(r, &m->seq_no);
		else if (KEY("Node")) rc = rd_name(r, &m->node);
		else if (KEY("SourceAddr")) rc = rd_addr(r, &m->source_addr);
		else if (KEY("SourcePort")) rc = rd_u16(r, &m->source_port);
		else if (KEY("SourceNode")) rc = rd_name(r, &m->source_node);
	);
	return 0;
}

static int dec_indirect_ping(struct ovg_mp_reader *r, struct ovg_indirect_ping *m)
{
	MAP_LOOP(r,
		if (KEY("SeqNo")) rc = rd_u32(r, &m->seq_no);
		else if (KEY("Target")) rc = rd_addr(r, &m->target);
		else if (KEY("Port")) rc = rd_u16(r, &m->port);
		else if (KEY("Node")) rc = rd_name(r, &m->node);
		else if (KEY("Nack")) rc = ovg_mp_read_bool(r, &m->nack);
		else if (KEY("SourceAddr")) rc = rd_addr(r, &m->source_addr);
		else if (KEY("SourcePort")) rc = rd_u16(r, &m->source_port);
		else if (KEY("SourceNode")) rc = rd_name(r, &m->source_node);
	);
	return addr_len_ok(m->target.len) ? 0 : -EBADMSG;
}

static int dec_ack(struct ovg_mp_reader *r, struct ovg_ack *m)
{
	MAP_LOOP(r,
		if (KEY("SeqNo")) rc = rd_u32(r, &m->seq_no);
		else if (KEY("Payload")) rc = ovg_mp_read_str(r, &m->payload);
	);
	return 0;
}

static int dec_nack(struct ovg_mp_reader *r, struct ovg_nack *m)
{
	MAP_LOOP(r,
		if (KEY("SeqNo")) rc = rd_u32(r, &m->seq_no);
	);
	return 0;
}

static int dec_err(struct ovg_mp_reader *r, struct ovg_err *m)
{
	MAP_LOOP(r,
		if (KEY("Error")) rc = ovg_mp_read_str(r, &m->error);
	);
	return 0;
}

static int dec_suspect(struct ovg_mp_reader *r, struct ovg_suspect *m)
{
	MAP_LOOP(r,
		if (KEY("Incarnation")) rc = rd_u32(r, &m->incarnation);
		else if (KEY("Node")) rc = rd_name(r, &m->node);
		else if (KEY("From")) rc = rd_name(r, &m->from);
	);
	return 0;
}

static int dec_alive(struct ovg_mp_reader *r, struct ovg_alive *m)
{
	MAP_LOOP(r,
		if (KEY("Incarnation")) rc = rd_u32(r, &m->incarnation);
		else if (KEY("Node")) rc = rd_name(r, &m->node);
		else if (KEY("Addr")) rc = rd_addr(r, &m->addr);
		else if (KEY("Port")) rc = rd_u16(r, &m->port);
		else if (KEY("Meta")) rc = rd_capped(r, OVG_META_MAX, &m->meta);
		else if (KEY("Vsn")) rc = rd_vsn(r, m->vsn, &m->vsn_len);
	);
	return addr_len_ok(m->addr.len) ? 0 : -EBADMSG;
}

static int dec_compress(struct ovg_mp_reader *r, struct ovg_compress *m)
{
	MAP_LOOP(r,
		if (KEY("Algo")) rc = rd_u8(r, &m->algo);
		else if (KEY("Buf")) rc = ovg_mp_read_str(r, &m->buf);
	);
	return 0;
}

static int dec_push_pull_header(struct ovg_mp_reader *r, struct ovg_push_pull_header *m)
{
	MAP_LOOP(r,
		if (KEY("Nodes")) rc = rd_len(r, &m->nodes);
		else if (KEY("UserStateLen")) rc = rd_len(r, &m->user_state_len);
		else if (KEY("Join")) rc = ovg_mp_read_bool(r, &m->join);
	);
	return 0;
}

static int dec_push_node(struct ovg_mp_reader *r, struct ovg_push_node *m)
{
	MAP_LOOP(r,
		if (KEY("Name")) rc = rd_name(r, &m->name);
		else if (KEY("Addr")) rc = rd_addr(r, &m->addr);
		else if (KEY("Port")) rc = rd_u16(r, &m->port);
		else if (KEY("Meta")) rc = rd_capped(r, OVG_META_MAX, &m->meta);
		else if (KEY("Incarnation")) rc = rd_u32(r, &m->incarnation);
		else if (KEY("State")) rc = rd_u8(r, &m->state);
		else if (KEY("Vsn")) rc = rd_vsn(r, m->vsn, &m->vsn_len);
	);
	return addr_len_ok(m->addr.len) ? 0 : -EBADMSG;
}

static int dec_user_header(struct ovg_mp_reader *r, struct ovg_user_header *m)
{
	MAP_LOOP(r,
		if (KEY("UserMsgLen")) rc = rd_len(r, &m->user_msg_len);
	);
	return 0;
}

int ovg_wire_decode(const uint8_t *buf, size_t len, struct ovg_msg *out)
{
	struct ovg_mp_reader r;
	int rc;

	memset(out, 0, sizeof(*out));
	if (len < 1)
		return -EMSGSIZE;
	out->type = buf[0];
	ovg_mp_reader_init(&r, buf + 1, len - 1);
	switch (buf[0]) {
	case OVG_MSG_PING: rc = dec_ping(&r, &out->u.ping); break;
	case OVG_MSG_INDIRECT_PING: rc = dec_indirect_ping(&r, &out->u.indirect_ping); break;
	case OVG_MSG_ACK: rc = dec_ack(&r, &out->u.ack); break;
	case OVG_MSG_NACK: rc = dec_nack(&r, &out->u.nack); break;
	case OVG_MSG_ERR: rc = dec_err(&r, &out->u.err); break;
	case OVG_MSG_SUSPECT:
	case OVG_MSG_DEAD: rc = dec_suspect(&r, &out->u.suspect); break;
	case OVG_MSG_ALIVE: rc = dec_alive(&r, &out->u.alive); break;
	case OVG_MSG_COMPRESS: rc = dec_compress(&r, &out->u.compress); break;
	case OVG_MSG_USER:
		out->u.user = ovg_bytes_make(buf + 1, len - 1);
		return 0;
	case OVG_MSG_PUSH_PULL:
	case OVG_MSG_COMPOUND:
	case OVG_MSG_ENCRYPT:
	case OVG_MSG_HAS_CRC:
	case OVG_MSG_HAS_LABEL:
		return -EPROTONOSUPPORT;
	default:
		return -EBADMSG;
	}
	if (rc)
		return rc;
	return ovg_mp_remaining(&r) == 0 ? 0 : -EBADMSG;
}

/* Body-only decoders over buf[*pos, len). */
#define STREAM_DECODER(fn, type, dec)                                         \
	int fn(const uint8_t *buf, size_t len, size_t *pos, type *out)        \
	{                                                                     \
		struct ovg_mp_reader r;                                       \
		int rc;                                                       \
		memset(out, 0, sizeof(*out));                                 \
		if (*pos > len)                                               \
			return -EINVAL;                                       \
		ovg_mp_reader_init(&r, buf + *pos, len - *pos);               \
		rc = dec(&r, out);                                            \
		if (rc)                                                       \
			return rc;                                            \
		*pos = len - ovg_mp_remaining(&r);                            \
		return 0;                                                     \
	}

STREAM_DECODER(ovg_wire_decode_push_pull_header, struct ovg_push_pull_header, dec_push_pull_header)
STREAM_DECODER(ovg_wire_decode_push_node, struct ovg_push_node, dec_push_node)
STREAM_DECODER(ovg_wire_decode_user_header, struct ovg_user_header, dec_user_header)

/* ---- encoders ----------------------------------------------------------- */

static void wr_key(struct ovg_mp_writer *w, const char *k)
{
	ovg_mp_write_cstr(w, k);
}

/* A Go string: always raw, "" as 0xa0. */
static void wr_str(struct ovg_mp_writer *w, const char *k, struct ovg_bytes v)
{
	wr_key(w, k);
	ovg_mp_write_raw(w, v.p, v.len);
}

/* A Go []byte: an empty one is written as Go writes a nil slice. */
static void wr_bytes(struct ovg_mp_writer *w, const char *k, struct ovg_bytes v)
{
	wr_key(w, k);
	if (v.len == 0)
		ovg_mp_write_nil(w);
	else
		ovg_mp_write_raw(w, v.p, v.len);
}

static void wr_uint(struct ovg_mp_writer *w, const char *k, uint64_t v)
{
	wr_key(w, k);
	ovg_mp_write_uint(w, v);
}

static void wr_int(struct ovg_mp_writer *w, const char *k, int64_t v)
{
	wr_key(w, k);
	ovg_mp_write_int(w, v);
}

static void wr_bool(struct ovg_mp_writer *w, const char *k, bool v)
{
	wr_key(w, k);
	ovg_mp_write_bool(w, v);
}

static int wr_vsn(struct ovg_mp_writer *w, const uint8_t vsn[OVG_VSN_LEN], uint8_t vsn_len)
{
	if (vsn_len != 0 && vsn_len != OVG_VSN_LEN)
		return -EINVAL;
	wr_key(w, "Vsn");
	ovg_mp_write_raw(w, vsn_len ? vsn : vsn_default, OVG_VSN_LEN);
	return 0;
}

static int chk_name(struct ovg_bytes b)
{
	return b.len > OVG_NAME_MAX ? -EMSGSIZE : 0;
}

static int chk_opt_addr(struct ovg_bytes b)
{
	return b.len == 0 || addr_len_ok(b.len) ? 0 : -EINVAL;
}

static int enc_ping(struct ovg_mp_writer *w, const struct ovg_ping *m)
{
	if (chk_name(m->node) || chk_name(m->source_node))
		return -EMSGSIZE;
	if (chk_opt_addr(m->source_addr))
		return -EINVAL;
	bool sa = m->source_addr.len, sn = m->source_node.len, sp = m->source_port;
	ovg_mp_write_map(w, 2 + sa + sn + sp);
	wr_str(w, "Node", m->node);
	wr_uint(w, "SeqNo", m->seq_no);
	if (sa)
		wr_bytes(w, "SourceAddr", m->source_addr);
	if (sn)
		wr_str(w, "SourceNode", m->source_node);
	if (sp)
		wr_uint(w, "SourcePort", m->source_port);
	return 0;
}

static int enc_indirect_ping(struct ovg_mp_writer *w, const struct ovg_indirect_ping *m)
{
	if (chk_name(m->node) || chk_name(m->source_node))
		return -EMSGSIZE;
	if (chk_opt_addr(m->source_addr) || !addr_len_ok(m->target.len))
		return -EINVAL;
	bool sa = m->source_addr.len, sn = m->source_node.len, sp = m->source_port;
	ovg_mp_write_map(w, 5 + sa + sn + sp);
	wr_bool(w, "Nack", m->nack);
	wr_str(w, "Node", m->node);
	wr_uint(w, "Port", m->port);
	wr_uint(w, "SeqNo", m->seq_no);
	if (sa)
		wr_bytes(w, "SourceAddr", m->source_addr);
	if (sn)
		wr_str(w, "SourceNode", m->source_node);
	if (sp)
		wr_uint(w, "SourcePort", m->source_port);
	wr_bytes(w, "Target", m->target);
	return 0;
}

static int enc_ack(struct ovg_mp_writer *w, const struct ovg_ack *m)
{
	ovg_mp_write_map(w, 2);
	wr_bytes(w, "Payload", m->payload);
	wr_uint(w, "SeqNo", m->seq_no);
	return 0;
}

static int enc_nack(struct ovg_mp_writer *w, const struct ovg_nack *m)
{
	ovg_mp_write_map(w, 1);
	wr_uint(w, "SeqNo", m->seq_no);
	return 0;
}

static int enc_err(struct ovg_mp_writer *w, const struct ovg_err *m)
{
	ovg_mp_write_map(w, 1);
	wr_str(w, "Error", m->error);
	return 0;
}

static int enc_suspect(struct ovg_mp_writer *w, const struct ovg_suspect *m)
{
	if (chk_name(m->node) || chk_name(m->from))
		return -EMSGSIZE;
	ovg_mp_write_map(w, 3);
	wr_str(w, "From", m->from);
	wr_uint(w, "Incarnation", m->incarnation);
	wr_str(w, "Node", m->node);
	return 0;
}

static int enc_alive(struct ovg_mp_writer *w, const struct ovg_alive *m)
{
	if (chk_name(m->node) || m->meta.len > OVG_META_MAX)
		return -EMSGSIZE;
	if (!addr_len_ok(m->addr.len))
		return -EINVAL;
	ovg_mp_write_map(w, 6);
	wr_bytes(w, "Addr", m->addr);
	wr_uint(w, "Incarnation", m->incarnation);
	wr_bytes(w, "Meta", m->meta);
	wr_str(w, "Node", m->node);
	wr_uint(w, "Port", m->port);
	return wr_vsn(w, m->vsn, m->vsn_len);
}

static int enc_compress(struct ovg_mp_writer *w, const struct ovg_compress *m)
{
	ovg_mp_write_map(w, 2);
	wr_uint(w, "Algo", m->algo);
	wr_bytes(w, "Buf", m->buf);
	return 0;
}

static int enc_push_pull_header(struct ovg_mp_writer *w, const struct ovg_push_pull_header *m)
{
	if (m->nodes < 0 || m->user_state_len < 0)
		return -EINVAL;
	ovg_mp_write_map(w, 3);
	wr_bool(w, "Join", m->join);
	wr_int(w, "Nodes", m->nodes);
	wr_int(w, "UserStateLen", m->user_state_len);
	return 0;
}

static int enc_push_node(struct ovg_mp_writer *w, const struct ovg_push_node *m)
{
	if (chk_name(m->name) || m->meta.len > OVG_META_MAX)
		return -EMSGSIZE;
	if (!addr_len_ok(m->addr.len))
		return -EINVAL;
	ovg_mp_write_map(w, 7);
	wr_bytes(w, "Addr", m->addr);
	wr_uint(w, "Incarnation", m->incarnation);
	wr_bytes(w, "Meta", m->meta);
	wr_str(w, "Name", m->name);
	wr_uint(w, "Port", m->port);
	wr_uint(w, "State", m->state);
	return wr_vsn(w, m->vsn, m->vsn_len);
}

static int enc_user_header(struct ovg_mp_writer *w, const struct ovg_user_header *m)
{
	if (m->user_msg_len < 0)
		return -EINVAL;
	ovg_mp_write_map(w, 1);
	wr_int(w, "UserMsgLen", m->user_msg_len);
	return 0;
}

static int finish(struct ovg_mp_writer *w, int rc, size_t *len)
{
	if (rc)
		return rc;
	return ovg_mp_writer_finish(w, len);
}

int ovg_wire_encode(const struct ovg_msg *m, uint8_t *buf, size_t cap, size_t *len)
{
	struct ovg_mp_writer w;
	uint8_t type = m->type;
	int rc;

	ovg_mp_writer_init(&w, buf, cap);
	ovg_mp_write_verbatim(&w, &type, 1);
	switch (m->type) {
	case OVG_MSG_PING: rc = enc_ping(&w, &m->u.ping); break;
	case OVG_MSG_INDIRECT_PING: rc = enc_indirect_ping(&w, &m->u.indirect_ping); break;
	case OVG_MSG_ACK: rc = enc_ack(&w, &m->u.ack); break;
	case OVG_MSG_NACK: rc = enc_nack(&w, &m->u.nack); break;
	case OVG_MSG_ERR: rc = enc_err(&w, &m->u.err); break;
	case OVG_MSG_SUSPECT:
	case OVG_MSG_DEAD: rc = enc_suspect(&w, &m->u.suspect); break;
	case OVG_MSG_ALIVE: rc = enc_alive(&w, &m->u.alive); break;
	case OVG_MSG_COMPRESS: rc = enc_compress(&w, &m->u.compress); break;
	case OVG_MSG_USER:
		ovg_mp_write_verbatim(&w, m->u.user.p, m->u.user.len);
		rc = 0;
		break;
	default:
		return -EINVAL;
	}
	return finish(&w, rc, len);
}

int ovg_wire_encode_push_pull_header(const struct ovg_push_pull_header *h, uint8_t *buf,
				     size_t cap, size_t *len)
{
	struct ovg_mp_writer w;
	ovg_mp_writer_init(&w, buf, cap);
	return finish(&w, enc_push_pull_header(&w, h), len);
}

int ovg_wire_encode_push_node(const struct ovg_push_node *n, uint8_t *buf, size_t cap,
			      size_t *len)
{
	struct ovg_mp_writer w;
	ovg_mp_writer_init(&w, buf, cap);
	return finish(&w, enc_push_node(&w, n), len);
}

int ovg_wire_encode_user_header(const struct ovg_user_header *h, uint8_t *buf, size_t cap,
				size_t *len)
{
	struct ovg_mp_writer w;
	ovg_mp_writer_init(&w, buf, cap);
	return finish(&w, enc_user_header(&w, h), len);
}

/* ---- helpers ------------------------------------------------------------ */

int ovg_wire_addr_from_bytes(struct ovg_bytes b, uint16_t port, struct ovg_addr *out)
{
	if (!addr_len_ok(b.len))
		return -EINVAL;
	memset(out, 0, sizeof(*out));
	out->len = (uint8_t)b.len;
	memcpy(out->ip, b.p, b.len);
	out->port = port;
	return 0;
}

struct ovg_bytes ovg_wire_addr_bytes(const struct ovg_addr *a)
{
	return ovg_bytes_make(a->ip, a->len == 4 || a->len == 16 ? a->len : 0);
}

bool ovg_wire_addr_is_v4mapped(struct ovg_bytes b)
{
	static const uint8_t prefix[12] = { 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff };
	return b.len == 16 && memcmp(b.p, prefix, sizeof(prefix)) == 0;
}

const char *ovg_wire_type_name(uint8_t type)
{
	switch (type) {
	case OVG_MSG_PING: return "ping";
	case OVG_MSG_INDIRECT_PING: return "indirectPing";
	case OVG_MSG_ACK: return "ack";
	case OVG_MSG_SUSPECT: return "suspect";
	case OVG_MSG_ALIVE: return "alive";
	case OVG_MSG_DEAD: return "dead";
	case OVG_MSG_PUSH_PULL: return "pushPull";
	case OVG_MSG_COMPOUND: return "compound";
	case OVG_MSG_USER: return "user";
	case OVG_MSG_COMPRESS: return "compress";
	case OVG_MSG_ENCRYPT: return "encrypt";
	case OVG_MSG_NACK: return "nack";
	case OVG_MSG_HAS_CRC: return "hasCrc";
	case OVG_MSG_ERR: return "err";
	case OVG_MSG_HAS_LABEL: return "hasLabel";
	default: return "unknown";
	}
}
