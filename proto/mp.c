/*
 * msgpack in memberlist's dialect: a bounded, allocation-free reader and a
 * writer on msgpack-c's packer. See include/ovg/mp.h.
 */
#include "ovg/mp.h"

/* ---- reader ------------------------------------------------------------- */

static int need(const struct ovg_mp_reader *r, size_t n)
{
	return ovg_mp_remaining(r) >= n ? 0 : -EMSGSIZE;
}

static uint64_t get_be(const uint8_t *p, unsigned n)
{
	uint64_t v = 0;
	for (unsigned i = 0; i < n; i++)
		v = v << 8 | p[i];
	return v;
}

/* Read a header holding a length of n big-endian bytes after the tag byte. */
static int read_len(struct ovg_mp_reader *r, unsigned n, uint32_t *len)
{
	int rc = need(r, 1 + (size_t)n);
	if (rc)
		return rc;
	*len = (uint32_t)get_be(r->p + 1, n);
	r->p += 1 + n;
	return 0;
}

/* A container header: map (is_map) or array; nil reads as empty. The count is
 * checked against what is left (each element takes at least one byte), so a
 * caller looping over it is bounded by the input. */
static int read_container(struct ovg_mp_reader *r, bool is_map, uint32_t *n)
{
	int rc = need(r, 1);
	if (rc)
		return rc;
	uint8_t b = r->p[0];
	if (b == 0xc0) {
		r->p++;
		*n = 0;
		return 0;
	}
	if (is_map) {
		if ((b & 0xf0) == 0x80) {
			*n = b & 0x0f;
			r->p++;
		} else if (b == 0xde) {
			rc = read_len(r, 2, n);
		} else if (b == 0xdf) {
			rc = read_len(r, 4, n);
		} else {
			return -EBADMSG;
		}
	} else {
		if ((b & 0xf0) == 0x90) {
			*n = b & 0x0f;
			r->p++;
		} else if (b == 0xdc) {
			rc = read_len(r, 2, n);
		} else if (b == 0xdd) {
			rc = read_len(r, 4, n);
		} else {
			return -EBADMSG;
		}
	}
	if (rc)
		return rc;
	uint64_t min = (uint64_t)*n * (is_map ? 2 : 1);
	if (min > ovg_mp_remaining(r))
		return -EMSGSIZE;
	return 0;
}

int ovg_mp_read_map(struct ovg_mp_reader *r, uint32_t *n)
{
	return read_container(r, true, n);
}

int ovg_mp_read_array(struct ovg_mp_reader *r, uint32_t *n)
{
	return read_container(r, false, n);
}

int ovg_mp_read_str(struct ovg_mp_reader *r, struct ovg_bytes *out)
{
	int rc = need(r, 1);
	if (rc)
		return rc;
	uint8_t b = r->p[0];
	uint32_t len;
	if (b == 0xc0) {
		r->p++;
		*out = ovg_bytes_make(r->p, 0);
		return 0;
	}
	if ((b & 0xe0) == 0xa0) {
		len = b & 0x1f;
		r->p++;
	} else if (b == 0xd9 || b == 0xc4) {
		rc = read_len(r, 1, &len);
	} else if (b == 0xda || b == 0xc5) {
		rc = read_len(r, 2, &len);
	} else if (b == 0xdb || b == 0xc6) {
		rc = read_len(r, 4, &len);
	} else {
		return -EBADMSG;
	}
	if (rc)
		return rc;
	if (len > ovg_mp_remaining(r))
		return -EMSGSIZE;
	*out = ovg_bytes_make(r->p, len);
	r->p += len;
	return 0;
}

int ovg_mp_read_bytes(struct ovg_mp_reader *r, struct ovg_bytes *out, uint8_t *scratch, size_t cap)
{
	int rc = need(r, 1);
	if (rc)
		return rc;
	uint8_t b = r->p[0];
	if ((b & 0xf0) != 0x90 && b != 0xdc && b != 0xdd)
		return ovg_mp_read_str(r, out);

	/* Go's codec also decodes an array of small integers into a []byte. */
	uint32_t n;
	rc = ovg_mp_read_array(r, &n);
	if (rc)
		return rc;
	if (n > cap)
		return -EMSGSIZE;
	for (uint32_t i = 0; i < n; i++) {
		uint64_t v;
		rc = ovg_mp_read_uint(r, &v);
		if (rc)
			return rc;
		if (v > UINT8_MAX)
			return -ERANGE;
		scratch[i] = (uint8_t)v;
	}
	*out = ovg_bytes_make(scratch, n);
	return 0;
}

/* Any int: *neg tells whether the value is negative (then *v holds it as
 * two's complement int64 bits). */
static int read_anyint(struct ovg_mp_reader *r, uint64_t *v, bool *neg)
{
	int rc = need(r, 1);
	if (rc)
		return rc;
	uint8_t b = r->p[0];
	*neg = false;
	if (b <= 0x7f) {
		*v = b;
		r->p++;
		return 0;
	}
	if (b >= 0xe0) {
		*v = (uint64_t)(int64_t)(int8_t)b;
		*neg = true;
		r->p++;
		return 0;
	}
	if (b == 0xc0) { /* nil: the zero value, as Go's codec decodes it */
		*v = 0;
		r->p++;
		return 0;
	}
	unsigned n;
	bool is_signed;
	switch (b) {
	case 0xcc: n = 1; is_signed = false; break;
	case 0xcd: n = 2; is_signed = false; break;
	case 0xce: n = 4; is_signed = false; break;
	case 0xcf: n = 8; is_signed = false; break;
	case 0xd0: n = 1; is_signed = true; break;
	case 0xd1: n = 2; is_signed = true; break;
	case 0xd2: n = 4; is_signed = true; break;
	case 0xd3: n = 8; is_signed = true; break;
	default: return -EBADMSG;
	}
	rc = need(r, 1 + (size_t)n);
	if (rc)
		return rc;
	uint64_t raw = get_be(r->p + 1, n);
	r->p += 1 + n;
	if (is_signed && n < 8 && (raw >> (8 * n - 1)) & 1)
		raw |= ~(uint64_t)0 << (8 * n); /* sign-extend */
	*v = raw;
	*neg = is_signed && (raw >> 63);
	return 0;
}

int ovg_mp_read_uint(struct ovg_mp_reader *r, uint64_t *v)
{
	bool neg;
	int rc = read_anyint(r, v, &neg);
	if (rc)
		return rc;
	return neg ? -ERANGE : 0;
}

int ovg_mp_read_int(struct ovg_mp_reader *r, int64_t *v)
{
	bool neg;
	uint64_t u;
	int rc = read_anyint(r, &u, &neg);
	if (rc)
		return rc;
	if (!neg && u > (uint64_t)INT64_MAX)
		return -ERANGE;
	*v = (int64_t)u;
	return 0;
}

int ovg_mp_read_bool(struct ovg_mp_reader *r, bool *v)
{
	int rc = need(r, 1);
	if (rc)
		return rc;
	switch (r->p[0]) {
	case 0xc2: case 0x00: case 0xc0: *v = false; break;
	case 0xc3: case 0x01: *v = true; break;
	default: return -EBADMSG;
	}
	r->p++;
	return 0;
}

bool ovg_mp_peek_nil(const struct ovg_mp_reader *r)
{
	return r->p < r->end && r->p[0] == 0xc0;
}

static int skip_n(struct ovg_mp_reader *r, size_t n)
{
	if (n > ovg_mp_remaining(r))
		return -EMSGSIZE;
	r->p += n;
	return 0;
}

static int skip_depth(struct ovg_mp_reader *r, unsigned depth)
{
	int rc = need(r, 1);
	if (rc)
		return rc;
	uint8_t b = r->p[0];
	uint32_t len, n;
	bool is_map = false;

	if (b <= 0x7f || b >= 0xe0 || b == 0xc0 || b == 0xc2 || b == 0xc3) {
		r->p++;
		return 0;
	}
	if ((b & 0xe0) == 0xa0 || b == 0xd9 || b == 0xda || b == 0xdb ||
	    b == 0xc4 || b == 0xc5 || b == 0xc6) {
		struct ovg_bytes s;
		return ovg_mp_read_str(r, &s);
	}
	switch (b) {
	case 0xcc: case 0xd0: return skip_n(r, 2);
	case 0xcd: case 0xd1: return skip_n(r, 3);
	case 0xca: case 0xce: case 0xd2: return skip_n(r, 5);
	case 0xcb: case 0xcf: case 0xd3: return skip_n(r, 9);
	case 0xd4: return skip_n(r, 3);  /* fixext 1: tag, type, data */
	case 0xd5: return skip_n(r, 4);
	case 0xd6: return skip_n(r, 6);
	case 0xd7: return skip_n(r, 10);
	case 0xd8: return skip_n(r, 18);
	case 0xc7: case 0xc8: case 0xc9:
		rc = read_len(r, b == 0xc7 ? 1 : b == 0xc8 ? 2 : 4, &len);
		if (rc)
			return rc;
		return skip_n(r, 1 + (size_t)len); /* ext type byte + data */
	case 0xc1:
		return -EBADMSG; /* never used */
	default:
		break;
	}

	/* map or array */
	if (depth >= OVG_MP_MAX_DEPTH)
		return -EBADMSG;
	is_map = (b & 0xf0) == 0x80 || b == 0xde || b == 0xdf;
	rc = read_container(r, is_map, &n);
	if (rc)
		return rc;
	uint64_t items = (uint64_t)n * (is_map ? 2 : 1);
	for (uint64_t i = 0; i < items; i++) {
		rc = skip_depth(r, depth + 1);
		if (rc)
			return rc;
	}
	return 0;
}

int ovg_mp_skip(struct ovg_mp_reader *r)
{
	return skip_depth(r, 0);
}

/* ---- writer ------------------------------------------------------------- */

static int writer_cb(void *data, const char *p, size_t len)
{
	struct ovg_mp_writer *w = data;
	if (w->overflow || len > w->cap - w->len) {
		w->overflow = true;
		return -1;
	}
	if (len)
		memcpy(w->buf + w->len, p, len);
	w->len += len;
	return 0;
}

void ovg_mp_writer_init(struct ovg_mp_writer *w, uint8_t *buf, size_t cap)
{
	w->buf = buf;
	w->len = 0;
	w->cap = buf ? cap : 0;
	w->overflow = false;
	msgpack_packer_init(&w->pk, w, writer_cb);
}

int ovg_mp_writer_finish(const struct ovg_mp_writer *w, size_t *len)
{
	if (w->overflow)
		return -ENOSPC;
	*len = w->len;
	return 0;
}

void ovg_mp_write_map(struct ovg_mp_writer *w, uint32_t n)
{
	(void)msgpack_pack_map(&w->pk, n);
}

void ovg_mp_write_array(struct ovg_mp_writer *w, uint32_t n)
{
	(void)msgpack_pack_array(&w->pk, n);
}

void ovg_mp_write_raw(struct ovg_mp_writer *w, const void *p, size_t len)
{
	if (len > UINT32_MAX) {
		w->overflow = true;
		return;
	}
	if (msgpack_pack_v4raw(&w->pk, len) == 0 && len)
		(void)msgpack_pack_v4raw_body(&w->pk, p, len);
}

void ovg_mp_write_uint(struct ovg_mp_writer *w, uint64_t v)
{
	(void)msgpack_pack_uint64(&w->pk, v);
}

void ovg_mp_write_int(struct ovg_mp_writer *w, int64_t v)
{
	(void)msgpack_pack_int64(&w->pk, v);
}

void ovg_mp_write_bool(struct ovg_mp_writer *w, bool v)
{
	(void)(v ? msgpack_pack_true(&w->pk) : msgpack_pack_false(&w->pk));
}

void ovg_mp_write_nil(struct ovg_mp_writer *w)
{
	(void)msgpack_pack_nil(&w->pk);
}

void ovg_mp_write_verbatim(struct ovg_mp_writer *w, const void *p, size_t len)
{
	(void)writer_cb(w, p, len);
}
