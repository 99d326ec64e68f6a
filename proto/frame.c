/*
 * memberlist's framing: compound messages, the hasCrc wrapper, LZW compress
 * messages, and the packet and stream pipelines that layer them with
 * encryption (memberlist net.go: ingestPacket, handleCommand, readStream).
 */
#include "ovg/frame.h"
#include "ovg/mp.h"

#define T_PUSH_PULL 6
#define T_COMPOUND  7
#define T_USER      8
#define T_COMPRESS  9
#define T_ENCRYPT   10
#define T_HAS_CRC   12
#define T_ERR       13
#define T_LABEL     244

#define CRC_HDR_LEN     5      /* 0c | be32 */
#define STREAM_HDR_LEN  5      /* 0a | be32 */
#define COMPOUND_HDR    2      /* 07 | count */
#define FRAME_NEST_MAX  4      /* compound/compress levels inside one packet */
#define LZW_ALGO        0

/* ---- scratch: a bump allocator over the caller's buffer -------------------- */

struct arena {
	uint8_t *p;
	size_t used;
	size_t cap;
};

static struct arena arena_of(struct ovg_frame_scratch *s)
{
	struct arena a = { s ? s->buf : NULL, 0, s && s->buf ? s->cap : 0 };
	return a;
}

static inline uint8_t *arena_top(const struct arena *a) { return a->p + a->used; }
static inline size_t arena_left(const struct arena *a) { return a->cap - a->used; }

/* ---- compound -------------------------------------------------------------- */

int ovg_compound_build(const struct ovg_bytes *msgs, size_t n, size_t budget,
		       uint8_t *out, size_t cap, size_t *out_len, size_t *used)
{
	size_t k = 0, total = COMPOUND_HDR, limit = OVG_MIN(budget, cap), off;

	if (n == 0)
		return -EINVAL;
	if (msgs[0].len > budget)
		return -EMSGSIZE;
	if (msgs[0].len > cap)
		return -ENOSPC;
	/* take messages while the compound still fits */
	while (k < n && k < OVG_COMPOUND_MAX && msgs[k].len <= UINT16_MAX &&
	       total + 2 + msgs[k].len <= limit) {
		total += 2 + msgs[k].len;
		k++;
	}
	if (k <= 1 || n == 1) {
		memcpy(out, msgs[0].p, msgs[0].len);
		*out_len = msgs[0].len;
		*used = 1;
		return 0;
	}
	out[0] = T_COMPOUND;
	out[1] = (uint8_t)k;
	off = COMPOUND_HDR + 2 * k;
	for (size_t i = 0; i < k; i++) {
		ovg_put_be16(out + COMPOUND_HDR + 2 * i, (uint16_t)msgs[i].len);
		if (msgs[i].len)
			memcpy(out + off, msgs[i].p, msgs[i].len);
		off += msgs[i].len;
	}
	*out_len = off;
	*used = k;
	return 0;
}

/*
 * Walk a compound body (after the 07 byte) calling fn for each complete part.
 * Like memberlist's decodeCompoundMessage: a short length table is an error;
 * parts cut off at the end stop the walk with -EMSGSIZE after the complete
 * ones were handed out; bytes after the last part are ignored.
 */
typedef int (*part_fn)(void *ctx, const uint8_t *p, size_t len);

static int compound_walk(const uint8_t *buf, size_t len, part_fn fn, void *ctx)
{
	size_t count, off;

	if (len < 1)
		return -EBADMSG;
	count = buf[0];
	if (len - 1 < 2 * count)
		return -EBADMSG;
	off = 1 + 2 * count;
	for (size_t i = 0; i < count; i++) {
		size_t plen = ovg_get_be16(buf + 1 + 2 * i);
		int rc;

		if (plen > len - off)
			return -EMSGSIZE;
		rc = fn(ctx, buf + off, plen);
		if (rc)
			return rc;
		off += plen;
	}
	return 0;
}

struct parts_ctx {
	struct ovg_bytes *parts;
	size_t max;
	size_t n;
};

static int parts_add(void *ctx, const uint8_t *p, size_t len)
{
	struct parts_ctx *c = ctx;

	if (c->n == c->max)
		return -ENOSPC;
	c->parts[c->n++] = ovg_bytes_make(p, len);
	return 0;
}

int ovg_compound_parse(const uint8_t *buf, size_t len, struct ovg_bytes *parts,
		       size_t max, size_t *n)
{
	struct parts_ctx c = { parts, max, 0 };
	int rc = compound_walk(buf, len, parts_add, &c);

	*n = c.n;
	return rc;
}

/* ---- compress message ------------------------------------------------------ */

/* The map after the 09 byte: {Algo: 0, Buf: bytes}. Keys in any order,
 * unknown keys skipped, missing Algo is 0 (Go's zero value). A Buf sent as an
 * array of ints is copied into the arena. Bytes after the map are ignored, as
 * Go's decoder leaves them unread. */
static int compress_read(const uint8_t *body, size_t len, struct arena *a,
			 struct ovg_bytes *lzw)
{
	struct ovg_mp_reader r;
	uint32_t n;
	uint64_t algo = LZW_ALGO;
	int rc;

	*lzw = ovg_bytes_make(NULL, 0);
	ovg_mp_reader_init(&r, body, len);
	rc = ovg_mp_read_map(&r, &n);
	if (rc)
		return -EBADMSG;
	for (uint32_t i = 0; i < n; i++) {
		struct ovg_bytes key;

		if (ovg_mp_read_str(&r, &key))
			return -EBADMSG;
		if (ovg_bytes_eq_str(key, "Algo")) {
			rc = ovg_mp_read_uint(&r, &algo);
		} else if (ovg_bytes_eq_str(key, "Buf")) {
			rc = ovg_mp_read_bytes(&r, lzw, arena_top(a), arena_left(a));
			if (rc == 0 && lzw->len && lzw->p == arena_top(a))
				a->used += lzw->len;
		} else {
			rc = ovg_mp_skip(&r);
		}
		if (rc)
			return -EBADMSG;
	}
	if (algo != LZW_ALGO)
		return -EPROTONOSUPPORT;
	return 0;
}

/* Decompress the body of a compress message into the arena. */
static int compress_open(const uint8_t *body, size_t len, struct arena *a,
			 struct ovg_bytes *out)
{
	struct ovg_bytes lzw;
	size_t n = 0;
	int rc;

	rc = compress_read(body, len, a, &lzw);
	if (rc)
		return rc;
	rc = ovg_lzw_decode(lzw.p, lzw.len, arena_top(a),
			    OVG_MIN(arena_left(a), (size_t)OVG_LZW_OUT_MAX), &n);
	if (rc)
		return rc;
	*out = ovg_bytes_make(arena_top(a), n);
	a->used += n;
	return 0;
}

/* 09 | {Algo: 0, Buf: <raw>} exactly as memberlist's Go codec writes it:
 * fields in struct order, the bytes as an old-style raw string. */
static const uint8_t compress_prefix[] = {
	T_COMPRESS, 0x82, 0xa4, 'A', 'l', 'g', 'o', LZW_ALGO, 0xa3, 'B', 'u', 'f',
};
#define COMPRESS_HDR_MAX (sizeof(compress_prefix) + 5)

/* Header of the raw string (fixstr, str16, str32; never str8). */
static size_t raw_hdr(uint8_t *p, size_t len)
{
	if (len < 32) {
		p[0] = (uint8_t)(0xa0 | len);
		return 1;
	}
	if (len <= UINT16_MAX) {
		p[0] = 0xda;
		ovg_put_be16(p + 1, (uint16_t)len);
		return 3;
	}
	p[0] = 0xdb;
	ovg_put_be32(p + 1, (uint32_t)len);
	return 5;
}

/* Compress msg into dst as a whole compress message. */
static int compress_seal(const uint8_t *msg, size_t len, uint8_t *dst, size_t cap,
			 size_t *out_len)
{
	uint8_t hdr[COMPRESS_HDR_MAX];
	size_t n = 0, hl;
	int rc;

	if (cap < COMPRESS_HDR_MAX)
		return -ENOSPC;
	rc = ovg_lzw_encode(msg, len, dst + COMPRESS_HDR_MAX, cap - COMPRESS_HDR_MAX, &n);
	if (rc)
		return rc;
	if (n > UINT32_MAX)
		return -EMSGSIZE;
	memcpy(hdr, compress_prefix, sizeof(compress_prefix));
	hl = sizeof(compress_prefix) + raw_hdr(hdr + sizeof(compress_prefix), n);
	if (hl < COMPRESS_HDR_MAX)
		memmove(dst + hl, dst + COMPRESS_HDR_MAX, n);
	memcpy(dst, hdr, hl);
	*out_len = hl + n;
	return 0;
}

/* ---- packets --------------------------------------------------------------- */

struct flat {
	struct ovg_bytes *msgs;
	size_t max;
	size_t n;
	struct arena a;
	unsigned depth;
	bool truncated;
};

static int flat_add(void *ctx, const uint8_t *p, size_t len);

static int flat_compound(struct flat *f, const uint8_t *body, size_t len)
{
	int rc;

	f->depth++;
	rc = compound_walk(body, len, flat_add, f);
	f->depth--;
	if (rc == -EMSGSIZE) {      /* memberlist keeps the complete parts */
		f->truncated = true;
		rc = 0;
	}
	return rc;
}

/* One message of a packet: containers are opened, anything else is kept. */
static int flat_add(void *ctx, const uint8_t *p, size_t len)
{
	struct flat *f = ctx;
	struct ovg_bytes inner;
	int rc;

	if (len == 0)               /* an empty compound part: nothing to handle */
		return 0;
	switch (p[0]) {
	case T_COMPOUND:
		if (f->depth >= FRAME_NEST_MAX)
			return -EBADMSG;
		return flat_compound(f, p + 1, len - 1);
	case T_COMPRESS:
		if (f->depth >= FRAME_NEST_MAX)
			return -EBADMSG;
		rc = compress_open(p + 1, len - 1, &f->a, &inner);
		if (rc)
			return rc;
		f->depth++;
		rc = flat_add(f, inner.p, inner.len);
		f->depth--;
		return rc;
	default:
		if (f->n == f->max)
			return -ENOSPC;
		f->msgs[f->n++] = ovg_bytes_make(p, len);
		return 0;
	}
}

int ovg_packet_open(const struct ovg_keyring *kr, const uint8_t *pkt, size_t len,
		    struct ovg_frame_scratch *scratch, struct ovg_bytes *msgs,
		    size_t max, size_t *n)
{
	struct flat f = { msgs, max, 0, arena_of(scratch), 0, false };
	const uint8_t *p = pkt;
	size_t plen = len;
	int rc;

	*n = 0;
	if (len == 0)
		return -EBADMSG;
	if (pkt[0] == T_LABEL)
		return -EPROTONOSUPPORT;
	if (kr && kr->n > 0) {
		/* A keyed member takes nothing that does not decrypt: plaintext,
		 * foreign keys, damaged or short envelopes all end here. */
		rc = ovg_crypt_open(kr, NULL, 0, pkt, len, arena_top(&f.a), arena_left(&f.a),
				    &plen);
		if (rc)
			return rc == -ENOSPC ? rc : -EACCES;
		p = arena_top(&f.a);
		f.a.used += plen;
		if (plen == 0)
			return -EBADMSG;
	}
	if (plen >= CRC_HDR_LEN && p[0] == T_HAS_CRC) {
		if (ovg_crc32(p + CRC_HDR_LEN, plen - CRC_HDR_LEN) != ovg_get_be32(p + 1))
			return -EBADMSG;
		p += CRC_HDR_LEN;
		plen -= CRC_HDR_LEN;
		if (plen == 0)
			return -EBADMSG;
	}
	rc = flat_add(&f, p, plen);
	*n = f.n;
	if (rc == 0 && f.truncated)
		rc = -EMSGSIZE;
	return rc;
}

int ovg_packet_seal(const struct ovg_keyring *kr, const uint8_t nonce[OVG_NONCE_LEN],
		    bool add_crc, const uint8_t *payload, size_t len, uint8_t *out,
		    size_t cap, size_t *out_len)
{
	uint8_t tmp[CRC_HDR_LEN + OVG_UDP_RECV_MAX];
	size_t hl = add_crc ? CRC_HDR_LEN : 0;

	if (len == 0)
		return -EINVAL;
	if (len > OVG_UDP_RECV_MAX)
		return -EMSGSIZE;
	if (!kr || kr->n == 0) {
		if (cap < hl + len)
			return -ENOSPC;
		memmove(out + hl, payload, len);
		if (add_crc) {
			out[0] = T_HAS_CRC;
			ovg_put_be32(out + 1, ovg_crc32(out + hl, len));
		}
		*out_len = hl + len;
		return 0;
	}
	if (!add_crc)
		return ovg_crypt_seal(kr->keys[0], nonce, NULL, 0, payload, len, out, cap,
				      out_len);
	/* AES-GCM wants the CRC header and payload in one piece */
	tmp[0] = T_HAS_CRC;
	ovg_put_be32(tmp + 1, ovg_crc32(payload, len));
	memcpy(tmp + CRC_HDR_LEN, payload, len);
	return ovg_crypt_seal(kr->keys[0], nonce, NULL, 0, tmp, CRC_HDR_LEN + len, out, cap,
			      out_len);
}

/* ---- streams: measuring a frame -------------------------------------------- */

/*
 * While measuring, the input may simply not have arrived yet: the mp reader's
 * -EMSGSIZE (truncated) becomes -EAGAIN, everything else is malformed.
 * `need` collects a lower bound on the frame length for the caller's benefit.
 */
static int measure_err(int rc)
{
	if (rc == -EMSGSIZE)
		return -EAGAIN;
	return -EBADMSG;
}

/*
 * What the object at r declares about its size, once its header is in: for
 * str/bin the exact total, for maps and arrays a lower bound (one byte per
 * element). false if the header is incomplete or there is nothing to learn.
 */
static bool peek_min_len(const struct ovg_mp_reader *r, uint64_t *min)
{
	size_t left = ovg_mp_remaining(r);
	unsigned w, items_per;      /* length width; 0 = byte string, else 1/2 per item */
	uint64_t v = 0;
	uint8_t b;

	if (left < 1)
		return false;
	b = r->p[0];
	if ((b & 0xe0) == 0xa0) {
		*min = 1 + (uint64_t)(b & 0x1f);
		return true;
	}
	switch (b) {
	case 0xd9: case 0xc4: w = 1; items_per = 0; break;
	case 0xda: case 0xc5: w = 2; items_per = 0; break;
	case 0xdb: case 0xc6: w = 4; items_per = 0; break;
	case 0xdc: w = 2; items_per = 1; break;        /* array16/32 */
	case 0xdd: w = 4; items_per = 1; break;
	case 0xde: w = 2; items_per = 2; break;        /* map16/32: key + value */
	case 0xdf: w = 4; items_per = 2; break;
	default: return false;
	}
	if (left < 1 + (size_t)w)
		return false;
	for (unsigned i = 0; i < w; i++)
		v = v << 8 | r->p[1 + i];
	*min = 1 + w + (items_per ? v * items_per : v);
	return true;
}

/* Before reading an object: refuse one that declares more than a stream may
 * hold, and raise the lower bound of the frame length. */
static int measure_peek(const struct ovg_mp_reader *r, const uint8_t *base, uint64_t *need)
{
	uint64_t min;

	if (peek_min_len(r, &min)) {
		uint64_t end = (uint64_t)(r->p - base) + min;

		if (end > OVG_STREAM_MAX)
			return -EMSGSIZE;
		if (end > *need)
			*need = end;
	}
	return 0;
}

static int measure_skip(struct ovg_mp_reader *r, const uint8_t *base, uint64_t *need)
{
	int rc = measure_peek(r, base, need);

	if (rc)
		return rc;
	rc = ovg_mp_skip(r);
	return rc ? measure_err(rc) : 0;
}

/* Skip a map, reading the listed integer keys on the way. */
struct int_key {
	const char *name;
	int64_t *val;
};

static int measure_map(struct ovg_mp_reader *r, const uint8_t *base, uint64_t *need,
		       const struct int_key *keys, size_t nkeys)
{
	uint32_t n;
	int rc;

	rc = measure_peek(r, base, need);
	if (rc)
		return rc;
	rc = ovg_mp_read_map(r, &n);
	if (rc)
		return measure_err(rc);
	for (uint32_t i = 0; i < n; i++) {
		struct ovg_bytes key;
		size_t k;

		rc = ovg_mp_read_str(r, &key);
		if (rc)
			return measure_err(rc);
		for (k = 0; k < nkeys; k++)
			if (ovg_bytes_eq_str(key, keys[k].name))
				break;
		if (k < nkeys) {
			rc = ovg_mp_read_int(r, keys[k].val);
			if (rc)
				return rc == -ERANGE ? -EBADMSG : measure_err(rc);
		} else {
			rc = measure_skip(r, base, need);
			if (rc)
				return rc;
		}
	}
	return 0;
}

/* A length field from the peer: negative is malformed, over the limit too big. */
static int check_len(int64_t v)
{
	if (v < 0)
		return -EBADMSG;
	if ((uint64_t)v > OVG_STREAM_MAX)
		return -EMSGSIZE;
	return 0;
}

static int measure(const uint8_t *buf, size_t len, uint64_t *need)
{
	struct ovg_mp_reader r;
	int64_t nodes = 0, user_len = 0;
	uint64_t pos;
	int rc;

	ovg_mp_reader_init(&r, buf + 1, len - 1);
	switch (buf[0]) {
	case T_ENCRYPT:
		if (len < STREAM_HDR_LEN) {
			*need = STREAM_HDR_LEN;
			return -EAGAIN;
		}
		if (ovg_get_be32(buf + 1) > OVG_STREAM_MAX)
			return -EMSGSIZE;
		*need = STREAM_HDR_LEN + (uint64_t)ovg_get_be32(buf + 1);
		return 0;

	case T_PUSH_PULL: {
		const struct int_key keys[] = { { "Nodes", &nodes }, { "UserStateLen", &user_len } };

		rc = measure_map(&r, buf, need, keys, OVG_ARRAY_SIZE(keys));
		if (rc)
			return rc;
		if ((rc = check_len(nodes)) || (rc = check_len(user_len)))
			return rc;
		for (int64_t i = 0; i < nodes; i++) {
			/* every node record takes at least one byte */
			pos = (uint64_t)(r.p - buf);
			if (pos + (uint64_t)(nodes - i) + (uint64_t)user_len > *need)
				*need = pos + (uint64_t)(nodes - i) + (uint64_t)user_len;
			if (*need > OVG_STREAM_MAX)
				return -EMSGSIZE;
			rc = measure_skip(&r, buf, need);
			if (rc)
				return rc;
		}
		*need = (uint64_t)(r.p - buf) + (uint64_t)user_len;
		return 0;
	}

	case T_USER: {
		const struct int_key keys[] = { { "UserMsgLen", &user_len } };

		rc = measure_map(&r, buf, need, keys, OVG_ARRAY_SIZE(keys));
		if (rc)
			return rc;
		if ((rc = check_len(user_len)))
			return rc;
		*need = (uint64_t)(r.p - buf) + (uint64_t)user_len;
		return 0;
	}

	case T_COMPOUND:
	case T_HAS_CRC:
		return -EBADMSG;        /* packet-only framing */
	case T_LABEL:
		return -EPROTONOSUPPORT;

	default:
		/* ping, ack and the rest: one map, e.g. a TCP fallback ping and
		 * its ack, the compress wrapper, or an err reply. */
		if (buf[0] > T_ERR)
			return -EBADMSG;
		rc = measure_map(&r, buf, need, NULL, 0);
		if (rc)
			return rc;
		*need = (uint64_t)(r.p - buf);
		return 0;
	}
}

int ovg_stream_frame_len(const uint8_t *buf, size_t len, size_t *frame_len)
{
	uint64_t need = 0;
	int rc;

	if (len == 0) {
		*frame_len = 1;
		return -EAGAIN;
	}
	rc = measure(buf, len, &need);
	if (rc == 0 && need > len)
		rc = -EAGAIN;
	if (rc == 0 || rc == -EAGAIN) {
		if (need > OVG_STREAM_MAX || (rc == -EAGAIN && len >= OVG_STREAM_MAX))
			return -EMSGSIZE;
		*frame_len = rc == 0 ? (size_t)need : (size_t)OVG_MAX(need, (uint64_t)len + 1);
	}
	return rc;
}

/* ---- streams: open and seal ------------------------------------------------ */

int ovg_stream_open(const struct ovg_keyring *kr, const uint8_t *buf, size_t len,
		    struct ovg_frame_scratch *scratch, struct ovg_bytes *plain)
{
	struct arena a = arena_of(scratch);
	struct ovg_bytes m = ovg_bytes_make(buf, len);
	int rc;

	if (len == 0)
		return -EBADMSG;
	if (buf[0] == T_LABEL)
		return -EPROTONOSUPPORT;
	if (buf[0] == T_ENCRYPT) {
		size_t body;

		if (!kr || kr->n == 0)
			return -EACCES;     /* memberlist: encryption not configured */
		if (len < STREAM_HDR_LEN)
			return -EBADMSG;
		body = ovg_get_be32(buf + 1);
		if (body > OVG_STREAM_MAX)
			return -EMSGSIZE;
		if (body != len - STREAM_HDR_LEN)
			return -EBADMSG;
		rc = ovg_crypt_open(kr, buf, STREAM_HDR_LEN, buf + STREAM_HDR_LEN, body,
				    arena_top(&a), arena_left(&a), &m.len);
		if (rc)
			return rc;
		m.p = arena_top(&a);
		a.used += m.len;
		if (m.len == 0)
			return -EBADMSG;
	} else if (kr && kr->n > 0) {
		return -EACCES;
	}
	if (m.p[0] == T_COMPRESS) {
		rc = compress_open(m.p + 1, m.len - 1, &a, &m);
		if (rc)
			return rc;
		if (m.len == 0)
			return -EBADMSG;
	}
	switch (m.p[0]) {
	case T_COMPOUND: case T_COMPRESS: case T_ENCRYPT: case T_HAS_CRC:
		return -EBADMSG;
	case T_LABEL:
		return -EPROTONOSUPPORT;
	default:
		break;
	}
	*plain = m;
	return 0;
}

int ovg_stream_seal(const struct ovg_keyring *kr, const uint8_t nonce[OVG_NONCE_LEN],
		    bool compress, const uint8_t *msg, size_t len,
		    struct ovg_frame_scratch *scratch, uint8_t *out, size_t cap,
		    size_t *out_len)
{
	bool encrypt = kr && kr->n > 0;
	const uint8_t *body = msg;
	size_t blen = len, n = 0;
	int rc;

	if (len == 0)
		return -EINVAL;
	if (len > OVG_STREAM_MAX)
		return -EMSGSIZE;
	if (compress) {
		struct arena a = arena_of(scratch);
		uint8_t *dst = encrypt ? a.p : out;
		size_t dcap = encrypt ? a.cap : cap;

		rc = compress_seal(msg, len, dst, dcap, &blen);
		if (rc)
			return rc;
		body = dst;
	}
	if (!encrypt) {
		if (blen > OVG_STREAM_MAX)
			return -EMSGSIZE;
		if (!compress) {
			if (cap < len)
				return -ENOSPC;
			memmove(out, msg, len);
		}
		*out_len = blen;
		return 0;
	}
	if (blen + OVG_CRYPT_OVERHEAD > OVG_STREAM_MAX)
		return -EMSGSIZE;
	if (cap < STREAM_HDR_LEN + blen + OVG_CRYPT_OVERHEAD)
		return -ENOSPC;
	out[0] = T_ENCRYPT;
	ovg_put_be32(out + 1, (uint32_t)(blen + OVG_CRYPT_OVERHEAD));
	rc = ovg_crypt_seal(kr->keys[0], nonce, out, STREAM_HDR_LEN, body, blen,
			    out + STREAM_HDR_LEN, cap - STREAM_HDR_LEN, &n);
	if (rc)
		return rc;
	*out_len = STREAM_HDR_LEN + n;
	return 0;
}
