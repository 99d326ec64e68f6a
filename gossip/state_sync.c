/*
 * Replicated state: Scuttlebutt reconciliation. Digests and their summaries,
 * deltas cut into pieces, eager pushes of our own records, and the receive
 * path.
 *
 * A section of a delta says "these are all of instance X's records with
 * version in (from, to]"; a receiver already holding everything up to from
 * may then advance its watermark for X to to. Pieces carry whole sections or
 * the front part of one (to = the last record's version), so any subset of
 * pieces, in any order, leaves the receiver with correct watermarks.
 */
#include "gossip/state_int.h"

static void put_env(struct ovg_mp_writer *w, uint8_t kind)
{
	uint8_t hdr[OVG_ENV_HDR_LEN] = { OVG_ENV_MAGIC, OVG_ENV_VERSION, kind };
	ovg_mp_write_verbatim(w, hdr, sizeof(hdr));
}

static int owner_idx_cmp(const void *a, const void *b, void *ctx)
{
	return owner_cmp(ctx, *(const uint32_t *)a, *(const uint32_t *)b);
}

/* ---- digest ---------------------------------------------------------------------------- */

/* The instances a digest (and a summary) lists: us, and every visible one. */
static bool owner_listed(const struct ovg_state *st, uint32_t i)
{
	return i == st->self || owner_visible(owner_get(st, i));
}

/* Their indexes into idx (room for nowners + 1), sorted; with self_first,
 * we come first (the receiver of a digest learns who speaks) and the rest
 * sorted. Returns how many. */
static uint32_t listed_owners(const struct ovg_state *st, uint32_t *idx, bool self_first)
{
	uint32_t n = 0, skip = self_first ? 1 : 0;

	if (self_first)
		idx[n++] = st->self;
	for (uint32_t i = 0; i < st->nowners; i++)
		if (owner_listed(st, i) && !(self_first && i == st->self))
			idx[n++] = i;
	qsort_r(idx + skip, n - skip, sizeof(*idx), owner_idx_cmp, (void *)st);
	return n;
}

int ovg_state_digest_encode(const struct ovg_state *st, uint8_t kind, uint8_t *buf, size_t cap, size_t *len)
{
	struct ovg_mp_writer w;
	uint32_t *idx;
	int rc;

	*len = 0;
	if (kind != OVG_ENV_STATE_DIGEST && kind != OVG_ENV_STATE_REQUEST)
		return -EINVAL;
	idx = malloc((st->nowners + 1) * sizeof(*idx));
	if (!idx)
		return -ENOMEM;
	uint32_t n = listed_owners(st, idx, true);
	ovg_mp_writer_init(&w, buf, cap);
	put_env(&w, kind);
	ovg_mp_write_array(&w, n);
	for (uint32_t i = 0; i < n; i++) {
		const struct owner *o = owner_get(st, idx[i]);
		ovg_mp_write_array(&w, 3);
		ovg_mp_write_cstr(&w, o->name);
		ovg_mp_write_uint(&w, o->inst);
		ovg_mp_write_uint(&w, o->wm);
	}
	free(idx);
	rc = ovg_mp_writer_finish(&w, len);
	if (rc)
		*len = 0;
	return rc;
}

/* ---- summary --------------------------------------------------------------------------- */

#define SUM_SEED 0x6f76672d73756d31ull          /* "ovg-sum1" */

/* One step of the summary hash: a bijection of h for a fixed w (and of w
 * for a fixed h): an odd multiply and an add, then murmur3's finaliser. So
 * two sequences of words of the same length that differ in exactly one word
 * never hash the same; other differences collide with ~2^-64. */
static uint64_t sum_step(uint64_t h, uint64_t w)
{
	uint64_t x = (h ^ w) * 0x9e3779b97f4a7c15ull + 0x632be59bd9b4e019ull;
	x ^= x >> 33;
	x *= 0xff51afd7ed558ccdull;
	x ^= x >> 33;
	x *= 0xc4ceb9fe1a85ec53ull;
	x ^= x >> 33;
	return x;
}

int ovg_state_summary_hash(const struct ovg_state *st, uint32_t *count, uint64_t *hash)
{
	uint32_t *idx = malloc((st->nowners + 1) * sizeof(*idx)), n;
	uint64_t h;

	*count = 0;
	*hash = 0;
	if (!idx)
		return -ENOMEM;
	n = listed_owners(st, idx, false);   /* exactly the instances a digest lists */
	h = sum_step(SUM_SEED, n);
	for (uint32_t i = 0; i < n; i++) {
		const struct owner *o = owner_get(st, idx[i]);
		size_t len = strlen(o->name);
		h = sum_step(h, len);
		for (size_t off = 0; off < len; off += 8) {
			uint64_t word = 0;  /* little endian whatever the host */
			for (size_t k = 0; k < 8 && off + k < len; k++)
				word |= (uint64_t)(uint8_t)o->name[off + k] << (8 * k);
			h = sum_step(h, word);
		}
		h = sum_step(h, o->inst);
		h = sum_step(h, o->wm);
	}
	free(idx);
	*count = n;
	*hash = h;
	return 0;
}

int ovg_state_summary_encode(const struct ovg_state *st, uint8_t *buf, size_t cap, size_t *len)
{
	const struct owner *me = owner_get(st, st->self);
	struct ovg_mp_writer w;
	uint32_t count;
	uint64_t hash;
	int rc;

	*len = 0;
	rc = ovg_state_summary_hash(st, &count, &hash);
	if (rc)
		return rc;
	ovg_mp_writer_init(&w, buf, cap);
	put_env(&w, OVG_ENV_STATE_SUMMARY);
	ovg_mp_write_array(&w, 4);
	ovg_mp_write_cstr(&w, me->name);
	ovg_mp_write_uint(&w, me->inst);
	ovg_mp_write_uint(&w, count);
	ovg_mp_write_uint(&w, hash);
	rc = ovg_mp_writer_finish(&w, len);
	if (rc)
		*len = 0;
	return rc;
}

int ovg_state_wsummary_decode(const uint8_t *buf, size_t len, struct ovg_state_wsummary *out)
{
	struct ovg_mp_reader r;
	uint64_t count;
	uint32_t n;

	/* any damage is -EBADMSG (truncation too: a summary is never cut) */
	memset(out, 0, sizeof(*out));
	ovg_mp_reader_init(&r, buf, len);
	if (ovg_mp_read_array(&r, &n) || n < 4)
		return -EBADMSG;
	if (ovg_mp_read_str(&r, &out->name) || ovg_mp_read_uint(&r, &out->instance) ||
	    ovg_mp_read_uint(&r, &count) || ovg_mp_read_uint(&r, &out->hash))
		goto bad;
	for (uint32_t i = 4; i < n; i++)        /* fields appended later */
		if (ovg_mp_skip(&r))
			goto bad;
	if (out->name.len == 0 || out->name.len > OVG_STATE_NAME_MAX ||
	    memchr(out->name.p, 0, out->name.len) || out->instance == 0 || count == 0 ||
	    count > OVG_STATE_MAX_OWNERS || ovg_mp_remaining(&r) != 0)
		goto bad;
	out->count = (uint32_t)count;
	return 0;
bad:
	memset(out, 0, sizeof(*out));
	return -EBADMSG;
}

static void note_in_sync(struct ovg_state *st, uint64_t now_ms, uint32_t count, uint64_t hash,
			 struct ovg_state_rx *rx)
{
	rx->in_sync = true;
	st->in_sync = true;
	st->in_sync_ms = now_ms;
	st->in_sync_count = count;
	st->in_sync_hash = hash;
}

bool ovg_state_in_sync_since(const struct ovg_state *st, uint64_t since_ms)
{
	uint32_t count;
	uint64_t hash;

	if (!st->in_sync || st->in_sync_ms < since_ms)
		return false;
	if (ovg_state_summary_hash(st, &count, &hash))
		return false;
	return count == st->in_sync_count && hash == st->in_sync_hash;
}

/* ---- pieces ---------------------------------------------------------------------------- */

/* Which owners to send and from which version; shared by sync and push. */
struct cursor {
	uint32_t n;
	uint32_t cur;
	uint32_t *owner;
	uint64_t *from;
};

#define PIECE_MIN 512
#define REC_MAX 256             /* largest encoded record (NET: ~130 bytes) */

static void patch_u32(uint8_t *p, uint32_t v)
{
	p[0] = 0xdd;
	ovg_put_be32(p + 1, v);
}

static void patch_u64(uint8_t *p, uint64_t v)
{
	p[0] = 0xcf;
	ovg_put_be32(p + 1, (uint32_t)(v >> 32));
	ovg_put_be32(p + 5, (uint32_t)v);
}

/* First record of o with version > from. */
static const struct rec *first_after(const struct owner *o, uint64_t from)
{
	const struct rec *r = o->tail;
	if (!r || r->version <= from)
		return NULL;
	while (r->prev && r->prev->version > from)
		r = r->prev;
	return r;
}

/* One DELTA message of at most cap bytes from the cursor; *len 0 when done. */
static int piece_build(const struct ovg_state *st, struct cursor *c, uint8_t *buf, size_t cap, size_t *len)
{
	static const uint8_t arr32[5] = { 0xdd, 0, 0, 0, 0 };
	static const uint8_t u64[9] = { 0xcf, 0, 0, 0, 0, 0, 0, 0, 0 };
	struct ovg_mp_writer w;
	uint8_t scratch[REC_MAX];
	uint32_t nsec = 0;
	size_t top;

	*len = 0;
	if (cap < PIECE_MIN)
		return -ENOSPC;
	ovg_mp_writer_init(&w, buf, cap);
	put_env(&w, OVG_ENV_STATE_DELTA);
	top = w.len;
	ovg_mp_write_verbatim(&w, arr32, sizeof(arr32));

	while (c->cur < c->n) {
		uint32_t oi = c->owner[c->cur];
		const struct owner *o = owner_get(st, oi);
		uint64_t from = c->from[c->cur], wm = o->wm, last = from;
		uint32_t count = 0;
		bool complete = true;

		if (wm <= from) {
			c->cur++;
			continue;
		}
		if (cap - w.len < OVG_STATE_WSECTION_HDR_MAX + 16 + REC_MAX)
			break;          /* no room for another section: next piece */
		size_t sec_start = w.len;
		ovg_mp_write_array(&w, 5);
		ovg_mp_write_cstr(&w, o->name);
		ovg_mp_write_uint(&w, o->inst);
		ovg_mp_write_uint(&w, from);
		size_t to_at = w.len;
		ovg_mp_write_verbatim(&w, u64, sizeof(u64));
		size_t cnt_at = w.len;
		ovg_mp_write_verbatim(&w, arr32, sizeof(arr32));
		for (const struct rec *r = first_after(o, from); r && r->version <= wm; r = r->next) {
			struct ovg_state_wrec wr;
			struct ovg_mp_writer sw;
			size_t rlen;
			rec_to_wire(st, r, &wr);
			ovg_mp_writer_init(&sw, scratch, sizeof(scratch));
			ovg_state_wrec_encode(&sw, &wr);
			if (ovg_mp_writer_finish(&sw, &rlen))
				return -EMSGSIZE;       /* cannot happen: names are bounded */
			if (rlen > cap - w.len) {
				complete = false;
				break;
			}
			ovg_mp_write_verbatim(&w, scratch, rlen);
			count++;
			last = r->version;
		}
		if (w.overflow)
			return -ENOSPC;
		if (!complete && count == 0) {
			w.len = sec_start;      /* nothing of it fit: leave it for the next piece */
			break;
		}
		uint64_t to = complete ? wm : last;
		patch_u64(w.buf + to_at, to);
		patch_u32(w.buf + cnt_at, count);
		nsec++;
		c->from[c->cur] = to;
		if (!complete)
			break;
		c->cur++;
	}
	if (nsec == 0) {
		if (c->cur < c->n)
			return -ENOSPC;         /* a lone record did not fit */
		return 0;
	}
	patch_u32(w.buf + top, nsec);
	return ovg_mp_writer_finish(&w, len);
}

/* ---- sync ------------------------------------------------------------------------------ */

struct ovg_state_sync {
	const struct ovg_state *st;
	struct cursor c;
};

struct ovg_state_sync *ovg_state_sync_new(const struct ovg_state *st, const uint8_t *msg, size_t len)
{
	struct ovg_state_wdigest *d = NULL;
	struct ovg_state_sync *s = NULL;
	struct ovg_env env;
	int rc = ovg_env_decode(msg, len, &env);

	if (rc == 0 && env.kind != OVG_ENV_STATE_DIGEST && env.kind != OVG_ENV_STATE_REQUEST)
		rc = -EBADMSG;
	if (rc)
		goto fail;
	rc = -ENOMEM;
	d = malloc(sizeof(*d));
	s = calloc(1, sizeof(*s));
	if (!d || !s)
		goto fail;
	s->c.owner = calloc(st->nowners + 1, sizeof(*s->c.owner));
	s->c.from = calloc(st->nowners + 1, sizeof(*s->c.from));
	if (!s->c.owner || !s->c.from)
		goto fail;
	rc = ovg_state_wdigest_decode(env.body.p, env.body.len, d);
	if (rc)
		goto fail;
	s->st = st;
	for (uint32_t i = 0; i < st->nowners; i++) {
		const struct owner *o = owner_get(st, i);
		uint64_t from = 0;
		for (uint32_t j = 0; j < d->count; j++) {
			const struct ovg_state_wdigest_entry *e = &d->entries[j];
			if (e->instance == o->inst && e->name.len == strlen(o->name) &&
			    memcmp(e->name.p, o->name, e->name.len) == 0) {
				from = e->version;
				break;
			}
		}
		if (o->wm > from) {
			s->c.owner[s->c.n] = i;
			s->c.from[s->c.n] = from;
			s->c.n++;
		}
	}
	free(d);
	return s;
fail:
	free(d);
	ovg_state_sync_free(s);
	errno = -rc;
	return NULL;
}

int ovg_state_sync_next(struct ovg_state_sync *sync, uint8_t *buf, size_t cap, size_t *len)
{
	return piece_build(sync->st, &sync->c, buf, cap, len);
}

void ovg_state_sync_free(struct ovg_state_sync *sync)
{
	if (!sync)
		return;
	free(sync->c.owner);
	free(sync->c.from);
	free(sync);
}

int ovg_state_push_next(struct ovg_state *st, uint8_t *buf, size_t cap, size_t *len)
{
	uint32_t self = st->self;
	uint64_t from = st->pushed;
	struct cursor c = { .n = 1, .owner = &self, .from = &from };
	int rc = piece_build(st, &c, buf, cap, len);
	if (rc == 0)
		st->pushed = from;
	return rc;
}

/* ---- receive ----------------------------------------------------------------------------- */

static int apply_delta(struct ovg_state *st, const uint8_t *body, size_t len, struct ovg_state_rx *rx)
{
	struct ovg_state_wdelta_iter it;
	struct ovg_state_wsection sec;
	struct ovg_state_wrec rec;
	int rc = ovg_state_wdelta_begin(body, len, &it);

	if (rc)
		return rc;
	while ((rc = ovg_state_wdelta_section(&it, &sec)) == 0) {
		uint32_t oi;
		bool complete = true;
		rc = owner_intern(st, (const char *)sec.name.p, sec.name.len, sec.instance, &oi);
		if (rc == -EINVAL)
			return -EBADMSG;
		if (rc) {
			st->dropped += sec.records;
			continue;       /* no room for another instance: skip it */
		}
		while ((rc = ovg_state_wdelta_record(&it, &rec)) == 0) {
			bool changed;
			int arc = apply_rec(st, oi, &rec, &changed);
			if (arc) {
				complete = false;
				st->dropped++;
			}
			rx->applied += changed;
			if (oi == st->self && rec.version > owner_get(st, oi)->wm) {
				/* our own records from before a save that never happened:
				 * never reuse those versions */
				owner_get(st, oi)->wm = rec.version;
				st->dirty = true;
			}
		}
		if (rc != -ENOENT)
			return rc;
		struct owner *o = owner_get(st, oi);
		if (complete && oi != st->self && o->wm >= sec.from && sec.to > o->wm)
			o->wm = sec.to;
	}
	return rc == -ENOENT ? 0 : rc;
}

static int compare_digest(struct ovg_state *st, uint64_t now_ms, const uint8_t *body, size_t len,
			  struct ovg_state_rx *rx)
{
	struct ovg_state_wdigest *d = malloc(sizeof(*d));
	bool *seen = calloc(st->nowners + 1, sizeof(*seen));
	int rc = -ENOMEM;

	if (!d || !seen)
		goto out;
	rc = ovg_state_wdigest_decode(body, len, d);
	if (rc)
		goto out;
	for (uint32_t j = 0; j < d->count; j++) {
		const struct ovg_state_wdigest_entry *e = &d->entries[j];
		uint32_t oi = owner_find(st, (const char *)e->name.p, e->name.len, e->instance);
		if (oi == NO_OWNER) {
			if (e->version > 0)
				rx->send_request = true;
			continue;
		}
		seen[oi] = true;
		struct owner *o = owner_get(st, oi);
		/* what others hold of an instance, not what it says of itself:
		 * its own last records may die with it */
		if (j > 0 && e->version > o->adv)
			o->adv = e->version;
		if (e->version > owner_get(st, oi)->wm)
			rx->send_request = true;
		if (e->version < owner_get(st, oi)->wm)
			rx->peer_lacks = true;
	}
	for (uint32_t i = 0; i < st->nowners; i++)
		if (!seen[i] && owner_get(st, i)->wm > 0)
			rx->peer_lacks = true;
	if (!rx->send_request)
		st->caught_up = true;
	st->check_owners = true;        /* retiring waits for this */
	if (!rx->send_request && !rx->peer_lacks) {
		uint32_t count;
		uint64_t hash;
		if (ovg_state_summary_hash(st, &count, &hash) == 0)
			note_in_sync(st, now_ms, count, hash, rx);
	}
out:
	free(d);
	free(seen);
	return rc;
}

/* A summary that matches ours stands for the equal digest the sender would
 * have sent (see compare_digest, and ovg/state.h on why that is sound for
 * retiring and node rm): what others hold of every instance but the
 * sender's own is at least our watermark, we are caught up, and retiring /
 * reclaiming is re-checked. One that differs changes nothing. */
static int compare_summary(struct ovg_state *st, uint64_t now_ms, const uint8_t *body, size_t len,
			   struct ovg_state_rx *rx)
{
	struct ovg_state_wsummary sum;
	uint32_t count, from;
	uint64_t hash;
	int rc = ovg_state_wsummary_decode(body, len, &sum);

	if (rc)
		return rc;
	rc = ovg_state_summary_hash(st, &count, &hash);
	if (rc)
		return rc;
	from = owner_find(st, (const char *)sum.name.p, sum.name.len, sum.instance);
	/* the sender lists itself, so a true match knows it (and can only be
	 * us or visible); anything else is a collision: say it differs */
	if (sum.count != count || sum.hash != hash || from == NO_OWNER ||
	    !owner_listed(st, from)) {
		rx->summary_differs = true;
		return 0;
	}
	for (uint32_t i = 0; i < st->nowners; i++) {
		struct owner *o = owner_get(st, i);
		if (i != from && owner_listed(st, i) && o->wm > o->adv)
			o->adv = o->wm;
	}
	st->caught_up = true;
	st->check_owners = true;        /* retiring waits for this */
	note_in_sync(st, now_ms, count, hash, rx);
	return 0;
}

int ovg_state_receive(struct ovg_state *st, uint64_t now_ms, const uint8_t *msg, size_t len,
		      struct ovg_state_rx *rx)
{
	struct ovg_state_wipam req;
	struct ovg_env env;
	int rc;

	memset(rx, 0, sizeof(*rx));
	rc = ovg_env_decode(msg, len, &env);
	if (rc) {
		if (rc != -ENOMSG)
			st->bad_messages++;
		return rc;
	}
	rx->kind = env.kind;
	switch (env.kind) {
	case OVG_ENV_STATE_DELTA:
		rc = apply_delta(st, env.body.p, env.body.len, rx);
		rx->forward = rx->applied > 0;
		break;
	case OVG_ENV_STATE_DIGEST:
	case OVG_ENV_STATE_REQUEST:
		rc = compare_digest(st, now_ms, env.body.p, env.body.len, rx);
		if (env.kind == OVG_ENV_STATE_REQUEST)
			rx->send_request = false;
		break;
	case OVG_ENV_STATE_SUMMARY:
		rc = compare_summary(st, now_ms, env.body.p, env.body.len, rx);
		break;
	case OVG_ENV_IPAM:
		rc = ovg_state_wipam_decode(env.body.p, env.body.len, &req);
		if (rc == 0 && st->superseded)
			rc = -ESTALE;
		else if (rc == 0)
			rc = ipam_handle_request(st, &req, &rx->granted);
		break;
	default:
		rc = -EBADMSG;
		break;
	}
	if (rc == -EBADMSG || rc == -EMSGSIZE)
		st->bad_messages++;
	after_changes(st, now_ms);
	return rc;
}
