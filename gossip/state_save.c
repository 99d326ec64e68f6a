/*
 * Replicated state: persistence. Everything we hold is saved, in the DELTA
 * encoding, with our watermarks:
 *
 *   "OVGS" 01 | msgpack [name, instance, version, [section...]]
 *
 * one section per instance: (0, watermark] and all its records we hold. So a
 * restart forgets only what arrived after the last save, which anti-entropy
 * brings back; and the logs of instances that are gone for good (removed,
 * or wiped) survive as long as any node saved them.
 */
#include "gossip/state_int.h"

static const uint8_t save_magic[5] = { 'O', 'V', 'G', 'S', 1 };


static void put_rec(const struct ovg_state *st, struct ovg_mp_writer *w, const struct rec *r)
{
	struct ovg_state_wrec wr;
	rec_to_wire(st, r, &wr);
	ovg_state_wrec_encode(w, &wr);
}

static size_t encode_all(const struct ovg_state *st, uint8_t *buf, size_t cap, int *rc)
{
	struct ovg_mp_writer w;
	const struct owner *me = owner_get(st, st->self);
	uint32_t nsec = 0;
	size_t len = 0;

	for (uint32_t i = 0; i < st->nowners; i++)
		nsec += owner_visible(owner_get(st, i));
	ovg_mp_writer_init(&w, buf, cap);
	ovg_mp_write_verbatim(&w, save_magic, sizeof(save_magic));
	ovg_mp_write_array(&w, 4);
	ovg_mp_write_cstr(&w, me->name);
	ovg_mp_write_uint(&w, me->inst);
	ovg_mp_write_uint(&w, me->wm);
	ovg_mp_write_array(&w, nsec);
	for (uint32_t i = 0; i < st->nowners; i++) {
		const struct owner *o = owner_get(st, i);
		if (!owner_visible(o))
			continue;
		struct ovg_state_wsection sec = { .name = ovg_bytes_make(o->name, strlen(o->name)),
						  .instance = o->inst, .from = 0, .to = o->wm, .records = o->nrecs };
		ovg_state_wsection_encode(&w, &sec);
		for (const struct rec *r = o->head; r; r = r->next)
			put_rec(st, &w, r);
	}
	*rc = ovg_mp_writer_finish(&w, &len);
	return w.overflow ? 0 : len;
}

int ovg_state_save(struct ovg_state *st, uint8_t **out, size_t *out_len)
{
	size_t cap = 4096;
	*out = NULL;
	*out_len = 0;
	for (;;) {
		int rc;
		uint8_t *buf = malloc(cap);
		if (!buf)
			return -ENOMEM;
		size_t len = encode_all(st, buf, cap, &rc);
		if (rc == 0) {
			*out = buf;
			*out_len = len;
			st->dirty = false;
			return 0;
		}
		free(buf);
		if (rc != -ENOSPC || cap > OVG_STREAM_MAX)
			return rc;
		cap *= 4;
	}
}

int state_load(struct ovg_state *st, const uint8_t *buf, size_t len);
int state_load(struct ovg_state *st, const uint8_t *buf, size_t len)
{
	struct ovg_mp_reader r;
	struct ovg_bytes name;
	uint64_t inst, version;
	uint32_t n;
	int rc;

	if (len < sizeof(save_magic) || memcmp(buf, save_magic, sizeof(save_magic)) != 0)
		return -EBADMSG;
	ovg_mp_reader_init(&r, buf + sizeof(save_magic), len - sizeof(save_magic));
	if ((rc = ovg_mp_read_array(&r, &n)))
		return rc;
	if (n < 4)
		return -EBADMSG;
	if ((rc = ovg_mp_read_str(&r, &name)) || (rc = ovg_mp_read_uint(&r, &inst)) ||
	    (rc = ovg_mp_read_uint(&r, &version)))
		return rc;
	if (name.len != strlen(st->name) || memcmp(name.p, st->name, name.len) != 0 || inst == 0)
		return -EINVAL;
	rc = owner_intern(st, st->name, name.len, inst, &st->self);
	if (rc)
		return rc;
	owner_get(st, st->self)->wm = version;

	/* the rest is a DELTA body */
	struct ovg_state_wdelta_iter it;
	struct ovg_state_wsection sec;
	struct ovg_state_wrec rec;
	const uint8_t *rest = r.p;
	rc = ovg_state_wdelta_begin(rest, (size_t)(r.end - rest), &it);
	if (rc)
		return rc;
	while ((rc = ovg_state_wdelta_section(&it, &sec)) == 0) {
		uint32_t oi;
		rc = owner_intern(st, (const char *)sec.name.p, sec.name.len, sec.instance, &oi);
		if (rc)
			return rc == -EINVAL ? -EBADMSG : rc;
		while ((rc = ovg_state_wdelta_record(&it, &rec)) == 0) {
			bool changed;
			rc = apply_rec(st, oi, &rec, &changed);
			if (rc)
				return rc;
			if (oi == st->self && rec.version > owner_get(st, oi)->wm)
				owner_get(st, oi)->wm = rec.version;
		}
		if (rc != -ENOENT)
			return rc;
		struct owner *o = owner_get(st, oi);
		o->wm = OVG_MAX(o->wm, sec.to);
	}
	if (rc != -ENOENT)
		return rc;
	st->dirty = false;
	st->self_removed = false;
	if (!owner_get(st, st->self)->node) {
		struct ovg_state_wrec w = { .kind = OVG_REC_NODE };
		rc = emit(st, &w);
		if (rc)
			return rc;
	}
	return 0;
}
