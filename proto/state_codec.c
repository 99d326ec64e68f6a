/*
 * Wire encoding of the replicated state's messages (see include/ovg/state.h):
 * positional msgpack arrays, decoded with the bounded cursor of ovg/mp.h.
 * The decoders check structure, types and caps; whether a record makes sense
 * (a subnet aligned to its prefix, say) is for the state to judge.
 */
#include "ovg/state.h"

/* Minimum array lengths per record kind (version and kind included). */
static const uint8_t rec_fields[OVG_REC_KIND_MAX + 1] = {
	[OVG_REC_NODE] = 4,
	[OVG_REC_NET] = 10,
	[OVG_REC_NETDEL] = 4,
	[OVG_REC_EP] = 8,
	[OVG_REC_XFER] = 7,
	[OVG_REC_NODERM] = 6,
};

/* ---- reading helpers ------------------------------------------------------- */

static int read_u32(struct ovg_mp_reader *r, uint32_t *v)
{
	uint64_t x;
	int rc = ovg_mp_read_uint(r, &x);
	if (rc)
		return rc;
	if (x > UINT32_MAX)
		return -EBADMSG;
	*v = (uint32_t)x;
	return 0;
}

static int read_u8(struct ovg_mp_reader *r, uint8_t *v)
{
	uint64_t x;
	int rc = ovg_mp_read_uint(r, &x);
	if (rc)
		return rc;
	if (x > UINT8_MAX)
		return -EBADMSG;
	*v = (uint8_t)x;
	return 0;
}

static int read_name(struct ovg_mp_reader *r, struct ovg_bytes *out)
{
	int rc = ovg_mp_read_str(r, out);
	if (rc)
		return rc;
	if (out->len > OVG_STATE_NAME_MAX)
		return -EBADMSG;
	return 0;
}

static int read_id(struct ovg_mp_reader *r, uint8_t id[16])
{
	struct ovg_bytes b;
	int rc = ovg_mp_read_str(r, &b);
	if (rc)
		return rc;
	if (b.len != 16)
		return -EBADMSG;
	memcpy(id, b.p, 16);
	return 0;
}

static int skip_n(struct ovg_mp_reader *r, uint32_t n)
{
	for (uint32_t i = 0; i < n; i++) {
		int rc = ovg_mp_skip(r);
		if (rc)
			return rc;
	}
	return 0;
}

/* ---- records ----------------------------------------------------------------- */

static int rec_decode(struct ovg_mp_reader *r, struct ovg_state_wrec *out)
{
	uint32_t n;
	int rc;

	memset(out, 0, sizeof(*out));
	rc = ovg_mp_read_array(r, &n);
	if (rc)
		return rc;
	if (n < 2)
		return -EBADMSG;
	if ((rc = ovg_mp_read_uint(r, &out->version)) || (rc = read_u8(r, &out->kind)))
		return rc;
	if (out->version == 0 || out->kind > OVG_REC_KIND_MAX || n < rec_fields[out->kind])
		return -EBADMSG;
	switch (out->kind) {
	case OVG_REC_NODE:
		if ((rc = ovg_mp_read_uint(r, &out->ms)) || (rc = read_u8(r, &out->flags)))
			return rc;
		break;
	case OVG_REC_NET:
		if ((rc = read_id(r, out->id)) || (rc = read_name(r, &out->name)) ||
		    (rc = read_u32(r, &out->vni)) || (rc = read_u32(r, &out->subnet)) ||
		    (rc = read_u8(r, &out->prefix)) || (rc = read_u32(r, &out->gateway)) ||
		    (rc = ovg_mp_read_bool(r, &out->attachable)) || (rc = ovg_mp_read_uint(r, &out->ms)))
			return rc;
		break;
	case OVG_REC_NETDEL:
		if ((rc = read_id(r, out->id)) || (rc = ovg_mp_read_uint(r, &out->ms)))
			return rc;
		break;
	case OVG_REC_EP:
		if ((rc = read_id(r, out->id)) || (rc = read_name(r, &out->name)) ||
		    (rc = read_u32(r, &out->ip)) || (rc = read_u32(r, &out->gen)) ||
		    (rc = ovg_mp_read_uint(r, &out->ms)) || (rc = ovg_mp_read_bool(r, &out->detached)))
			return rc;
		break;
	case OVG_REC_XFER:
		if ((rc = read_id(r, out->id)) || (rc = read_u32(r, &out->block)) ||
		    (rc = read_u32(r, &out->gen)) || (rc = read_name(r, &out->name)) ||
		    (rc = ovg_mp_read_uint(r, &out->instance)))
			return rc;
		break;
	case OVG_REC_NODERM:
		if ((rc = read_name(r, &out->name)) || (rc = ovg_mp_read_uint(r, &out->instance)) ||
		    (rc = ovg_mp_read_uint(r, &out->target_version)) || (rc = ovg_mp_read_uint(r, &out->ms)))
			return rc;
		break;
	default:
		return -EBADMSG;
	}
	return skip_n(r, n - rec_fields[out->kind]);
}

void ovg_state_wrec_encode(struct ovg_mp_writer *w, const struct ovg_state_wrec *rec)
{
	if (rec->kind > OVG_REC_KIND_MAX) {
		w->overflow = true;     /* a programming error: make the message fail */
		return;
	}
	ovg_mp_write_array(w, rec_fields[rec->kind]);
	ovg_mp_write_uint(w, rec->version);
	ovg_mp_write_uint(w, rec->kind);
	switch (rec->kind) {
	case OVG_REC_NODE:
		ovg_mp_write_uint(w, rec->ms);
		ovg_mp_write_uint(w, rec->flags);
		break;
	case OVG_REC_NET:
		ovg_mp_write_raw(w, rec->id, 16);
		ovg_mp_write_raw(w, rec->name.p, rec->name.len);
		ovg_mp_write_uint(w, rec->vni);
		ovg_mp_write_uint(w, rec->subnet);
		ovg_mp_write_uint(w, rec->prefix);
		ovg_mp_write_uint(w, rec->gateway);
		ovg_mp_write_bool(w, rec->attachable);
		ovg_mp_write_uint(w, rec->ms);
		break;
	case OVG_REC_NETDEL:
		ovg_mp_write_raw(w, rec->id, 16);
		ovg_mp_write_uint(w, rec->ms);
		break;
	case OVG_REC_EP:
		ovg_mp_write_raw(w, rec->id, 16);
		ovg_mp_write_raw(w, rec->name.p, rec->name.len);
		ovg_mp_write_uint(w, rec->ip);
		ovg_mp_write_uint(w, rec->gen);
		ovg_mp_write_uint(w, rec->ms);
		ovg_mp_write_bool(w, rec->detached);
		break;
	case OVG_REC_XFER:
		ovg_mp_write_raw(w, rec->id, 16);
		ovg_mp_write_uint(w, rec->block);
		ovg_mp_write_uint(w, rec->gen);
		ovg_mp_write_raw(w, rec->name.p, rec->name.len);
		ovg_mp_write_uint(w, rec->instance);
		break;
	case OVG_REC_NODERM:
		ovg_mp_write_raw(w, rec->name.p, rec->name.len);
		ovg_mp_write_uint(w, rec->instance);
		ovg_mp_write_uint(w, rec->target_version);
		ovg_mp_write_uint(w, rec->ms);
		break;
	}
}

/* ---- digest ---------------------------------------------------------------------- */

int ovg_state_wdigest_decode(const uint8_t *buf, size_t len, struct ovg_state_wdigest *out)
{
	struct ovg_mp_reader r;
	uint32_t n, m;
	int rc;

	out->count = 0;
	ovg_mp_reader_init(&r, buf, len);
	if ((rc = ovg_mp_read_array(&r, &n)))
		return rc;
	if (n > OVG_STATE_MAX_OWNERS)
		return -EMSGSIZE;
	for (uint32_t i = 0; i < n; i++) {
		struct ovg_state_wdigest_entry *e = &out->entries[i];
		if ((rc = ovg_mp_read_array(&r, &m)))
			return rc;
		if (m < 3)
			return -EBADMSG;
		if ((rc = read_name(&r, &e->name)) || (rc = ovg_mp_read_uint(&r, &e->instance)) ||
		    (rc = ovg_mp_read_uint(&r, &e->version)) || (rc = skip_n(&r, m - 3)))
			return rc;
		if (e->name.len == 0)
			return -EBADMSG;
		out->count = i + 1;
	}
	return 0;
}

/* ---- IPAM request ------------------------------------------------------------------ */

int ovg_state_wipam_decode(const uint8_t *buf, size_t len, struct ovg_state_wipam *out)
{
	struct ovg_mp_reader r;
	uint32_t n;
	int64_t block;
	int rc;

	memset(out, 0, sizeof(*out));
	ovg_mp_reader_init(&r, buf, len);
	if ((rc = ovg_mp_read_array(&r, &n)))
		return rc;
	if (n < 5)
		return -EBADMSG;
	if ((rc = read_name(&r, &out->name)) || (rc = ovg_mp_read_uint(&r, &out->instance)) ||
	    (rc = read_id(&r, out->net_id)) || (rc = ovg_mp_read_int(&r, &block)) ||
	    (rc = read_u32(&r, &out->count)) || (rc = skip_n(&r, n - 5)))
		return rc;
	if (out->name.len == 0 || block < -1 || block >= OVG_STATE_MAX_BLOCKS || out->count < 1 ||
	    out->count > 16)
		return -EBADMSG;
	out->block = (int32_t)block;
	return 0;
}

void ovg_state_wipam_encode(struct ovg_mp_writer *w, const struct ovg_state_wipam *req)
{
	ovg_mp_write_array(w, 5);
	ovg_mp_write_raw(w, req->name.p, req->name.len);
	ovg_mp_write_uint(w, req->instance);
	ovg_mp_write_raw(w, req->net_id, 16);
	ovg_mp_write_int(w, req->block);
	ovg_mp_write_uint(w, req->count);
}

/* ---- delta ----------------------------------------------------------------------------- */

void ovg_state_wsection_encode(struct ovg_mp_writer *w, const struct ovg_state_wsection *sec)
{
	ovg_mp_write_array(w, 5);
	ovg_mp_write_raw(w, sec->name.p, sec->name.len);
	ovg_mp_write_uint(w, sec->instance);
	ovg_mp_write_uint(w, sec->from);
	ovg_mp_write_uint(w, sec->to);
	ovg_mp_write_array(w, sec->records);
}

int ovg_state_wdelta_begin(const uint8_t *buf, size_t len, struct ovg_state_wdelta_iter *it)
{
	memset(it, 0, sizeof(*it));
	ovg_mp_reader_init(&it->r, buf, len);
	return ovg_mp_read_array(&it->r, &it->sections_left);
}

int ovg_state_wdelta_section(struct ovg_state_wdelta_iter *it, struct ovg_state_wsection *out)
{
	uint32_t n;
	int rc;

	memset(out, 0, sizeof(*out));
	if ((rc = skip_n(&it->r, it->records_left)))
		return rc;
	it->records_left = 0;
	if ((rc = skip_n(&it->r, it->skip_left)))
		return rc;
	it->skip_left = 0;
	if (it->sections_left == 0)
		return -ENOENT;
	it->sections_left--;
	if ((rc = ovg_mp_read_array(&it->r, &n)))
		return rc;
	if (n < 5)
		return -EBADMSG;
	if ((rc = read_name(&it->r, &out->name)) || (rc = ovg_mp_read_uint(&it->r, &out->instance)) ||
	    (rc = ovg_mp_read_uint(&it->r, &out->from)) || (rc = ovg_mp_read_uint(&it->r, &out->to)) ||
	    (rc = ovg_mp_read_array(&it->r, &out->records)))
		return rc;
	if (out->name.len == 0)
		return -EBADMSG;
	it->records_left = out->records;
	it->skip_left = n - 5;
	return 0;
}

int ovg_state_wdelta_record(struct ovg_state_wdelta_iter *it, struct ovg_state_wrec *out)
{
	if (it->records_left == 0)
		return -ENOENT;
	it->records_left--;
	return rec_decode(&it->r, out);
}
