/*
 * Replicated state: the record store. Records live in per-owner version lists
 * (for deltas), a key table (for replacement by newer versions) and, for
 * endpoints, (network, address) and (network, name) indexes. Applying is
 * idempotent and order-free; the drop rules (records of deleted networks,
 * endpoints of removed instances, records that do not fit their network's
 * definition) depend only on records that are never dropped themselves, so
 * every node ends up holding the same records.
 */
#include "gossip/state_int.h"

/* ---- memory accounting --------------------------------------------------------- */

struct alloc_hdr {
	size_t size;
	size_t pad;                     /* keeps the payload 16-byte aligned */
};

void *st_alloc(struct ovg_state *st, size_t size)
{
	struct alloc_hdr *h = calloc(1, sizeof(*h) + size);
	if (!h)
		return NULL;
	h->size = size;
	st->mem += sizeof(*h) + size;
	return h + 1;
}

void st_free(struct ovg_state *st, void *p)
{
	if (!p)
		return;
	struct alloc_hdr *h = (struct alloc_hdr *)p - 1;
	st->mem -= sizeof(*h) + h->size;
	free(h);
}

/* ---- hashing --------------------------------------------------------------------- */

uint64_t hash_bytes(uint64_t h, const void *p, size_t len)
{
	const uint8_t *b = p;
	for (size_t i = 0; i < len; i++) {
		h ^= b[i];
		h *= 0x100000001b3ull;
	}
	return h;
}

static uint64_t hash_u64(uint64_t h, uint64_t v)
{
	return hash_bytes(h, &v, sizeof(v));
}

#define HASH_SEED 0xcbf29ce484222325ull

struct key {
	uint32_t owner;
	uint8_t kind;
	const struct net *net;
	const char *name;
	size_t nlen;
	uint32_t block, gen, target;
};

static uint64_t key_hash(const struct key *k)
{
	uint64_t h = hash_u64(HASH_SEED, (uint64_t)k->owner << 8 | k->kind);
	switch (k->kind) {
	case OVG_REC_NET:
	case OVG_REC_NETDEL:
		h = hash_u64(h, (uintptr_t)k->net);
		break;
	case OVG_REC_EP:
		h = hash_u64(h, (uintptr_t)k->net);
		h = hash_bytes(h, k->name, k->nlen);
		break;
	case OVG_REC_XFER:
		h = hash_u64(h, (uintptr_t)k->net);
		h = hash_u64(h, k->block);
		break;
	case OVG_REC_NODERM:
		h = hash_u64(h, k->target);
		break;
	}
	return h;
}

static void rec_key(const struct rec *r, struct key *k)
{
	k->owner = r->owner;
	k->kind = r->kind;
	k->net = r->net;
	k->name = r->name;
	k->nlen = r->name_len;
	k->block = r->block;
	k->gen = r->gen;
	k->target = r->target;
}

static bool rec_matches(const struct rec *r, const struct key *k)
{
	if (r->owner != k->owner || r->kind != k->kind)
		return false;
	switch (k->kind) {
	case OVG_REC_NET:
	case OVG_REC_NETDEL:
		return r->net == k->net;
	case OVG_REC_EP:
		return r->net == k->net && r->name_len == k->nlen && memcmp(r->name, k->name, k->nlen) == 0;
	case OVG_REC_XFER:
		return r->net == k->net && r->block == k->block;
	case OVG_REC_NODERM:
		return r->target == k->target;
	default:
		return true;
	}
}

static uint64_t rec_khash(const struct rec *r)
{
	struct key k;
	rec_key(r, &k);
	return key_hash(&k);
}

static uint64_t ip_hash(const struct net *n, uint32_t ip)
{
	return hash_u64(hash_u64(HASH_SEED, (uintptr_t)n), ip);
}

static uint64_t name_hash(const struct net *n, const char *name, size_t len)
{
	return hash_bytes(hash_u64(HASH_SEED ^ 1, (uintptr_t)n), name, len);
}

static uint64_t rec_ip_hash(const struct rec *r) { return ip_hash(r->net, r->ip); }
static uint64_t rec_name_hash(const struct rec *r) { return name_hash(r->net, r->name, r->name_len); }

/* ---- record tables ------------------------------------------------------------------ */

#define LINK(r, off) (*(struct rec **)((char *)(r) + (off)))

static int rtab_init(struct ovg_state *st, struct rtab *t, size_t link_off, uint64_t (*hash)(const struct rec *))
{
	t->b = st_alloc(st, 64 * sizeof(*t->b));
	if (!t->b)
		return -ENOMEM;
	t->mask = 63;
	t->n = 0;
	t->link_off = link_off;
	t->hash = hash;
	return 0;
}

static void rtab_grow(struct ovg_state *st, struct rtab *t)
{
	size_t nb = (t->mask + 1) * 2;
	struct rec **b = st_alloc(st, nb * sizeof(*b));
	if (!b)
		return;                 /* stay at this size: longer chains, still correct */
	for (size_t i = 0; i <= t->mask; i++) {
		struct rec *r = t->b[i], *next;
		for (; r; r = next) {
			next = LINK(r, t->link_off);
			size_t j = t->hash(r) & (nb - 1);
			LINK(r, t->link_off) = b[j];
			b[j] = r;
		}
	}
	st_free(st, t->b);
	t->b = b;
	t->mask = nb - 1;
}

static void rtab_insert(struct ovg_state *st, struct rtab *t, struct rec *r, uint64_t h)
{
	if (t->n >= t->mask + 1)
		rtab_grow(st, t);
	size_t i = h & t->mask;
	LINK(r, t->link_off) = t->b[i];
	t->b[i] = r;
	t->n++;
}

static void rtab_remove(struct rtab *t, struct rec *r, uint64_t h)
{
	struct rec **pp = &t->b[h & t->mask];
	for (; *pp; pp = &LINK(*pp, t->link_off)) {
		if (*pp == r) {
			*pp = LINK(r, t->link_off);
			t->n--;
			return;
		}
	}
	assert(!"record missing from its table");
}

static struct rec *key_lookup(const struct ovg_state *st, const struct key *k)
{
	for (struct rec *r = st->ktab.b[key_hash(k) & st->ktab.mask]; r; r = r->knext)
		if (rec_matches(r, k))
			return r;
	return NULL;
}

struct rec *ip_chain(const struct ovg_state *st, struct net *n, uint32_t ip)
{
	return st->iptab.b[ip_hash(n, ip) & st->iptab.mask];
}

struct rec *name_chain(const struct ovg_state *st, struct net *n, const char *name, size_t len)
{
	return st->nametab.b[name_hash(n, name, len) & st->nametab.mask];
}

struct rec *ep_find(const struct ovg_state *st, struct net *n, uint32_t owner, const char *name, size_t len)
{
	struct key k = { .owner = owner, .kind = OVG_REC_EP, .net = n, .name = name, .nlen = len };
	return key_lookup(st, &k);
}

/* ---- owners ---------------------------------------------------------------------------- */

struct owner *owner_get(const struct ovg_state *st, uint32_t idx)
{
	assert(idx < st->nowners);
	return &st->owners[idx];
}

uint32_t owner_find(const struct ovg_state *st, const char *name, size_t len, uint64_t inst)
{
	for (uint32_t i = 0; i < st->nowners; i++) {
		const struct owner *o = &st->owners[i];
		if (o->inst == inst && strlen(o->name) == len && memcmp(o->name, name, len) == 0)
			return i;
	}
	return NO_OWNER;
}

int owner_intern(struct ovg_state *st, const char *name, size_t len, uint64_t inst, uint32_t *idx)
{
	uint32_t i = owner_find(st, name, len, inst);
	if (i != NO_OWNER) {
		*idx = i;
		return 0;
	}
	if (len == 0 || len > OVG_STATE_NAME_MAX || memchr(name, 0, len))
		return -EINVAL;
	if (st->nowners >= OVG_STATE_MAX_OWNERS)
		return -ENOSPC;
	if (st->nowners == st->owners_cap) {
		uint32_t cap = st->owners_cap ? st->owners_cap * 2 : 16;
		struct owner *o = st_alloc(st, cap * sizeof(*o));
		if (!o)
			return -ENOMEM;
		if (st->nowners)
			memcpy(o, st->owners, st->nowners * sizeof(*o));
		st_free(st, st->owners);
		st->owners = o;
		st->owners_cap = cap;
	}
	struct owner *o = &st->owners[st->nowners];
	memset(o, 0, sizeof(*o));
	memcpy(o->name, name, len);
	o->inst = inst;
	*idx = st->nowners++;
	return 0;
}

bool owner_removed(const struct ovg_state *st, uint32_t idx)
{
	return idx < st->nowners && st->owners[idx].rm_count > 0;
}

int owner_cmp(const struct ovg_state *st, uint32_t a, uint32_t b)
{
	const struct owner *x = owner_get(st, a), *y = owner_get(st, b);
	int c = strcmp(x->name, y->name);
	if (c)
		return c;
	return x->inst < y->inst ? -1 : x->inst > y->inst;
}

/* ---- networks ------------------------------------------------------------------------- */

static uint64_t id_hash(const uint8_t id[16])
{
	return hash_bytes(HASH_SEED, id, 16);
}

struct net *net_find(const struct ovg_state *st, const uint8_t id[16])
{
	for (struct net *n = st->nettab[id_hash(id) & st->netmask]; n; n = n->hnext)
		if (memcmp(n->id, id, 16) == 0)
			return n;
	return NULL;
}

int net_intern(struct ovg_state *st, const uint8_t id[16], struct net **out)
{
	struct net *n = net_find(st, id);
	if (n) {
		*out = n;
		return 0;
	}
	if (st->nnets >= OVG_STATE_MAX_NETS)
		return -ENOSPC;
	n = st_alloc(st, sizeof(*n));
	if (!n)
		return -ENOMEM;
	memcpy(n->id, id, 16);
	size_t i = id_hash(id) & st->netmask;
	n->hnext = st->nettab[i];
	st->nettab[i] = n;
	n->lnext = st->nets;
	st->nets = n;
	st->nnets++;
	*out = n;
	return 0;
}

void net_touch(struct ovg_state *st, struct net *n)
{
	if (n->touched || st->ntouched >= TOUCH_MAX)
		return;
	n->touched = true;
	st->touched[st->ntouched++] = n;
}

/* A network's name or VNI arriving or leaving changes how its namesakes and
 * VNI-sharers resolve. */
void net_touch_related(struct ovg_state *st, struct net *n)
{
	net_touch(st, n);
	if (!n->def)
		return;
	for (struct net *m = st->nets; m; m = m->lnext) {
		if (m == n || !m->def)
			continue;
		if (strcmp(m->def->name, n->def->name) == 0 || m->def->vni == n->def->vni)
			net_touch(st, m);
	}
}

void flush_touched(struct ovg_state *st)
{
	/* Callbacks may call getters only, which never touch; still, loop on a
	 * snapshot so a misbehaving one cannot make this unbounded. */
	uint32_t n = st->ntouched;
	st->in_callback++;
	for (uint32_t i = 0; i < n; i++) {
		struct net *t = st->touched[i];
		t->touched = false;
		if (st->net_changed)
			st->net_changed(st->ctx, t->id);
	}
	st->in_callback--;
	st->ntouched = 0;
}

/* ---- records ---------------------------------------------------------------------------- */

static bool is_net_kind(uint8_t kind)
{
	return kind == OVG_REC_NET || kind == OVG_REC_NETDEL || kind == OVG_REC_EP || kind == OVG_REC_XFER;
}

/* Content checks every node makes the same way; a failing record is dropped. */
static bool wrec_valid(const struct ovg_state_wrec *w)
{
	switch (w->kind) {
	case OVG_REC_NODE:
	case OVG_REC_NETDEL:
		return true;
	case OVG_REC_NET: {
		if (w->name.len == 0 || memchr(w->name.p, 0, w->name.len))
			return false;
		if (w->vni < OVG_STATE_VNI_MIN || w->vni > OVG_STATE_VNI_MAX)
			return false;
		if (w->prefix < OVG_STATE_PREFIX_MIN || w->prefix > OVG_STATE_PREFIX_MAX)
			return false;
		uint32_t mask = ~0u << (32 - w->prefix);
		if (w->subnet & ~mask)
			return false;
		if ((w->gateway & mask) != w->subnet || w->gateway == w->subnet || w->gateway == (w->subnet | ~mask))
			return false;
		return true;
	}
	case OVG_REC_EP:
		return w->name.len > 0 && !memchr(w->name.p, 0, w->name.len) && w->ip != 0;
	case OVG_REC_XFER:
		return w->name.len > 0 && w->block < OVG_STATE_MAX_BLOCKS && w->gen > 0;
	case OVG_REC_NODERM:
		return w->name.len > 0;
	default:
		return false;
	}
}

/* Does a record fit its network's definition (address inside, block in range)? */
static bool rec_fits_def(const struct net *n, uint8_t kind, uint32_t ip, uint32_t block)
{
	uint32_t b;
	if (kind == OVG_REC_EP)
		return ipam_block_of(n, ip, &b) && !ipam_reserved(n, ip);
	if (kind == OVG_REC_XFER)
		return block < n->nblocks;
	return true;
}

static void owner_list_insert(struct ovg_state *st, struct rec *r)
{
	struct owner *o = owner_get(st, r->owner);
	struct rec *after = o->tail;
	while (after && after->version > r->version)
		after = after->prev;
	r->prev = after;
	r->next = after ? after->next : o->head;
	if (r->next)
		r->next->prev = r;
	else
		o->tail = r;
	if (after)
		after->next = r;
	else
		o->head = r;
	o->nrecs++;
}

static void owner_list_remove(struct ovg_state *st, struct rec *r)
{
	struct owner *o = owner_get(st, r->owner);
	if (r->prev)
		r->prev->next = r->next;
	else
		o->head = r->next;
	if (r->next)
		r->next->prev = r->prev;
	else
		o->tail = r->prev;
	r->prev = r->next = NULL;
	o->nrecs--;
}

static void ep_index(struct ovg_state *st, struct rec *r)
{
	struct net *n = r->net;
	r->lprev = NULL;
	r->lnext = n->eps;
	if (n->eps)
		n->eps->lprev = r;
	n->eps = r;
	n->neps++;
	st->neps++;
	rtab_insert(st, &st->iptab, r, rec_ip_hash(r));
	rtab_insert(st, &st->nametab, r, rec_name_hash(r));
}

static void ep_unindex(struct ovg_state *st, struct rec *r)
{
	struct net *n = r->net;
	if (r->lprev)
		r->lprev->lnext = r->lnext;
	else
		n->eps = r->lnext;
	if (r->lnext)
		r->lnext->lprev = r->lprev;
	n->neps--;
	st->neps--;
	rtab_remove(&st->iptab, r, rec_ip_hash(r));
	rtab_remove(&st->nametab, r, rec_name_hash(r));
}

static void rec_unlink(struct ovg_state *st, struct rec *r);

/* Unlink and free. */
static void rec_purge(struct ovg_state *st, struct rec *r)
{
	rec_unlink(st, r);
	st_free(st, r);
}

/* Block transfers, best first: the higher generation; at one generation
 * (only possible around node rm) a reclaim (writer takes the block itself)
 * before a hand-over, as node rm is the operator's last word; then by name. */
static int xfer_order(const struct ovg_state *st, const struct rec *a, const struct rec *b)
{
	if (a->gen != b->gen)
		return a->gen > b->gen ? -1 : 1;
	bool ra = a->owner == a->target, rb = b->owner == b->target;
	if (ra != rb)
		return ra ? -1 : 1;
	int c = owner_cmp(st, a->owner, b->owner);
	if (c)
		return c;
	return owner_cmp(st, a->target, b->target);
}

/* Put an XFER into its block's list, best first. Every writer's latest
 * transfer of a block stays (keyed by writer and block, so at most one each):
 * a node that handed a block on must still know it after a restart, even
 * once the block has moved further. */
static void xfer_place(struct ovg_state *st, struct net *n, struct rec *r)
{
	struct rec **pp = &n->blocks[r->block];
	while (*pp && xfer_order(st, *pp, r) < 0)
		pp = &(*pp)->inext;
	r->inext = *pp;
	*pp = r;
	r->in_block = true;
}

static void xfer_unplace(struct net *n, struct rec *r)
{
	struct rec **pp = r->in_block ? &n->blocks[r->block] : &n->pending;
	for (; *pp; pp = &(*pp)->inext) {
		if (*pp == r) {
			*pp = r->inext;
			r->inext = NULL;
			r->in_block = false;
			return;
		}
	}
	assert(!"transfer missing from its block list");
}

static int net_order_defs(const struct ovg_state *st, const struct rec *a, const struct rec *b)
{
	if (a->ms != b->ms)
		return a->ms < b->ms ? -1 : 1;
	int c = owner_cmp(st, a->owner, b->owner);
	if (c)
		return c;
	return a->version < b->version ? -1 : a->version > b->version;
}

/* The definition became known: size the blocks, place waiting transfers, and
 * drop endpoints and transfers that do not fit. */
static int net_define(struct ovg_state *st, struct net *n, struct rec *def)
{
	uint32_t bsize, nblocks;
	ipam_geometry(def->prefix, &bsize, &nblocks);
	if (n->blocks && n->nblocks != nblocks) {
		/* a better definition of another size replaced the first (only a
		 * forged id clash gets here): re-place the transfers */
		for (uint32_t b = 0; b < n->nblocks; b++) {
			while (n->blocks[b]) {
				struct rec *x = n->blocks[b];
				n->blocks[b] = x->inext;
				x->in_block = false;
				x->inext = n->pending;
				n->pending = x;
			}
		}
		st_free(st, n->blocks);
		n->blocks = NULL;
	}
	if (!n->blocks) {
		n->blocks = st_alloc(st, nblocks * sizeof(*n->blocks));
		if (!n->blocks)
			return -ENOMEM;
	}
	n->def = def;
	n->bsize = bsize;
	n->nblocks = nblocks;
	struct rec *p = n->pending;
	n->pending = NULL;
	while (p) {
		struct rec *next = p->inext;
		p->inext = NULL;
		if (p->block < nblocks) {
			xfer_place(st, n, p);
		} else {
			/* not in any list now: unlink the rest by hand */
			owner_list_remove(st, p);
			rtab_remove(&st->ktab, p, p->khash);
			st->nrecs--;
			st_free(st, p);
		}
		p = next;
	}
	for (struct rec *e = n->eps, *next; e; e = next) {
		next = e->lnext;
		if (!rec_fits_def(n, OVG_REC_EP, e->ip, 0))
			rec_purge(st, e);
	}
	return 0;
}

static void net_delete(struct ovg_state *st, struct net *n)
{
	if (n->deleted)
		return;
	net_touch_related(st, n);
	n->deleted = true;
	st->nnets_deleted++;
	while (n->eps)
		rec_purge(st, n->eps);
	while (n->pending)
		rec_purge(st, n->pending);
	for (uint32_t b = 0; n->blocks && b < n->nblocks; b++)
		while (n->blocks[b])
			rec_purge(st, n->blocks[b]);
	/* NET records: possibly from several writers; find them by key. */
	for (uint32_t o = 0; o < st->nowners && n->ndefs; o++) {
		struct key k = { .owner = o, .kind = OVG_REC_NET, .net = n };
		struct rec *d = key_lookup(st, &k);
		if (d)
			rec_purge(st, d);
	}
	n->def = NULL;
	st_free(st, n->blocks);
	n->blocks = NULL;
	n->nblocks = 0;
	ipam_forget_net(st, n);
}

static void owner_purge_eps(struct ovg_state *st, uint32_t oi)
{
	struct owner *o = owner_get(st, oi);
	for (struct rec *r = o->head, *next; r; r = next) {
		next = r->next;
		if (r->kind == OVG_REC_EP) {
			net_touch(st, r->net);
			rec_purge(st, r);
		}
	}
}

/* Remove every trace of r from the indexes, undoing its effects. */
static void rec_unlink(struct ovg_state *st, struct rec *r)
{
	owner_list_remove(st, r);
	rtab_remove(&st->ktab, r, r->khash);
	st->nrecs--;
	switch (r->kind) {
	case OVG_REC_NODE:
		if (owner_get(st, r->owner)->node == r)
			owner_get(st, r->owner)->node = NULL;
		break;
	case OVG_REC_NET:
		r->net->ndefs--;
		if (r->net->def == r)
			r->net->def = NULL;
		break;
	case OVG_REC_EP:
		ep_unindex(st, r);
		break;
	case OVG_REC_XFER:
		xfer_unplace(r->net, r);
		break;
	case OVG_REC_NODERM:
		owner_get(st, r->target)->rm_count--;
		break;
	}
}

/* Link a new record and apply its effects. 0 or -ENOMEM. */
static int rec_link(struct ovg_state *st, struct rec *r)
{
	struct net *n = r->net;
	int rc = 0;

	r->khash = rec_khash(r);
	owner_list_insert(st, r);
	rtab_insert(st, &st->ktab, r, r->khash);
	st->nrecs++;
	switch (r->kind) {
	case OVG_REC_NODE: {
		struct owner *o = owner_get(st, r->owner);
		o->node = r;
		if (r->owner != st->self && strcmp(o->name, st->name) == 0)
			st->check_owners = true;
		break;
	}
	case OVG_REC_NET:
		n->ndefs++;
		if (!n->def) {
			rc = net_define(st, n, r);
			if (rc)
				break;
		} else {
			n->def = r;     /* the caller made sure r is the better one */
		}
		net_touch_related(st, n);
		st->check_owners = true;
		break;
	case OVG_REC_NETDEL:
		net_delete(st, n);
		st->dirty = true;       /* saved tombstones keep a restart from showing it */
		break;
	case OVG_REC_EP:
		ep_index(st, r);
		net_touch(st, n);
		break;
	case OVG_REC_XFER:
		if (n->def) {
			xfer_place(st, n, r);
		} else {
			r->inext = n->pending;
			n->pending = r;
			r->in_block = false;
		}
		net_touch(st, n);
		st->check_owners = true;
		if (r->target == st->self) {
			st->dirty = true;
			ipam_block_arrived(st, n);
		}
		break;
	case OVG_REC_NODERM: {
		struct owner *t = owner_get(st, r->target);
		if (t->rm_count++ == 0) {
			owner_purge_eps(st, r->target);
			/* their blocks change hands: every network may look different */
			for (struct net *m = st->nets; m; m = m->lnext)
				if (m->def)
					net_touch(st, m);
		}
		st->check_owners = true;
		st->dirty = true;
		if (r->target == st->self)
			st->self_removed = true;
		break;
	}
	}
	return rc;
}

static struct rec *rec_new(struct ovg_state *st, uint32_t oi, const struct ovg_state_wrec *w, struct net *n,
			   uint32_t target)
{
	bool named = w->kind == OVG_REC_NET || w->kind == OVG_REC_EP;
	size_t nlen = named ? w->name.len : 0;
	struct rec *r = st_alloc(st, sizeof(*r) + nlen + 1);
	if (!r)
		return NULL;
	r->owner = oi;
	r->kind = w->kind;
	r->version = w->version;
	r->net = is_net_kind(w->kind) ? n : NULL;
	r->target = target;
	r->ms = w->ms;
	r->target_version = w->target_version;
	r->vni = w->vni;
	r->subnet = w->subnet;
	r->gateway = w->gateway;
	r->prefix = w->prefix;
	r->attachable = w->attachable;
	r->ip = w->ip;
	r->gen = w->gen;
	r->block = w->block;
	r->detached = w->detached;
	r->flags = w->flags;
	r->name_len = (uint8_t)nlen;
	if (nlen)
		memcpy(r->name, w->name.p, nlen);
	r->name[nlen] = 0;
	return r;
}

void rec_to_wire(const struct ovg_state *st, const struct rec *r, struct ovg_state_wrec *w)
{
	memset(w, 0, sizeof(*w));
	w->version = r->version;
	w->kind = r->kind;
	if (r->net)
		memcpy(w->id, r->net->id, 16);
	if (r->kind == OVG_REC_XFER || r->kind == OVG_REC_NODERM) {
		const struct owner *t = owner_get(st, r->target);
		w->name = ovg_bytes_make(t->name, strlen(t->name));
		w->instance = t->inst;
	} else {
		w->name = ovg_bytes_make(r->name, r->name_len);
	}
	w->ms = r->ms;
	w->target_version = r->target_version;
	w->vni = r->vni;
	w->subnet = r->subnet;
	w->gateway = r->gateway;
	w->prefix = r->prefix;
	w->attachable = r->attachable;
	w->ip = r->ip;
	w->gen = r->gen;
	w->block = r->block;
	w->detached = r->detached;
	w->flags = r->flags;
}

int apply_rec(struct ovg_state *st, uint32_t oi, const struct ovg_state_wrec *w, bool *changed)
{
	struct net *n = NULL;
	uint32_t target = NO_OWNER;
	int rc;

	*changed = false;
	if (!wrec_valid(w)) {
		st->dropped++;
		return 0;
	}
	if (is_net_kind(w->kind) && (rc = net_intern(st, w->id, &n)))
		return rc;
	if (w->kind == OVG_REC_XFER || w->kind == OVG_REC_NODERM) {
		rc = owner_intern(st, (const char *)w->name.p, w->name.len, w->instance, &target);
		if (rc == -EINVAL) {
			st->dropped++;
			return 0;
		}
		if (rc)
			return rc;
	}

	/* drop rules */
	if (n && n->deleted && w->kind != OVG_REC_NETDEL)
		return 0;
	if (w->kind == OVG_REC_EP && owner_removed(st, oi))
		return 0;
	if (n && n->def && !rec_fits_def(n, w->kind, w->ip, w->block)) {
		st->dropped++;
		return 0;
	}

	struct key k = { .owner = oi, .kind = w->kind, .net = n, .name = (const char *)w->name.p,
			 .nlen = w->name.len, .block = w->block, .gen = w->gen, .target = target };
	struct rec *old = key_lookup(st, &k);
	if (old && old->version >= w->version)
		return 0;
	if (!old && st->nrecs >= OVG_STATE_MAX_RECORDS)
		return -ENOSPC;

	struct rec *r = rec_new(st, oi, w, n, target);
	if (!r)
		return -ENOMEM;

	/* Two creators claiming one random id cannot happen by chance; keep the
	 * better definition so every node keeps the same one. */
	if (w->kind == OVG_REC_NET && n->def && n->def != old) {
		if (net_order_defs(st, r, n->def) > 0) {
			st_free(st, r);
			return 0;
		}
		rec_purge(st, n->def);
	}
	if (old)
		rec_purge(st, old);
	rc = rec_link(st, r);
	if (rc) {
		rec_purge(st, r);
		return rc;
	}
	*changed = true;
	st->applied++;
	return 0;
}

int emit(struct ovg_state *st, struct ovg_state_wrec *w)
{
	bool changed;
	struct owner *me = owner_get(st, st->self);
	if (st->superseded)
		return -ESTALE;
	w->version = me->wm + 1;
	int rc = apply_rec(st, st->self, w, &changed);
	if (rc)
		return rc;
	me = owner_get(st, st->self);
	me->wm = w->version;
	st->dirty = true;
	return 0;
}

/* ---- housekeeping after every call ------------------------------------------------------- */

static int write_node(struct ovg_state *st, uint64_t now_ms)
{
	struct ovg_state_wrec w = { .kind = OVG_REC_NODE, .ms = now_ms };
	return emit(st, &w);
}

/* Start over as a new instance of our name: our old one was removed. */
static void reinstance(struct ovg_state *st, uint64_t now_ms)
{
	uint32_t idx;
	for (int tries = 0; tries < 8; tries++) {
		uint64_t inst = ovg_rng_next(&st->rng);
		if (inst == 0 || owner_find(st, st->name, strlen(st->name), inst) != NO_OWNER)
			continue;
		if (owner_intern(st, st->name, strlen(st->name), inst, &idx))
			break;
		st->self = idx;
		st->pushed = 0;
		st->reinstanced++;
		memset(st->reqs, 0, sizeof(st->reqs));
		(void)write_node(st, now_ms);
		for (struct net *n = st->nets; n; n = n->lnext)
			if (n->def)
				net_touch(st, n);
		return;
	}
	st->superseded = true;          /* no room for a new instance: stop writing */
}

/* Which instance wrote a NODERM for target, smallest name first; removers
 * removed themselves step aside (unless all are). */
static uint32_t primary_remover(const struct ovg_state *st, uint32_t target)
{
	uint32_t best = NO_OWNER;
	for (uint32_t o = 0; o < st->nowners; o++) {
		struct key k = { .owner = o, .kind = OVG_REC_NODERM, .target = target };
		if (!key_lookup(st, &k))
			continue;
		if (best == NO_OWNER || owner_removed(st, best) > owner_removed(st, o) ||
		    (owner_removed(st, best) == owner_removed(st, o) && owner_cmp(st, o, best) < 0))
			best = o;
	}
	return best;
}

/* Retire older instances of our own name (their state dir is gone: we are
 * what runs under this name now). */
bool st_caught_up_all(const struct ovg_state *st);
bool st_caught_up_all(const struct ovg_state *st)
{
	for (uint32_t i = 0; i < st->nowners; i++)
		if (i != st->self && st->owners[i].wm < st->owners[i].adv)
			return false;
	return true;
}

static void retire_old_selves(struct ovg_state *st, uint64_t now_ms)
{
	const struct owner *me = owner_get(st, st->self);
	/* Only once we hold everything peers have shown us: the old instance's
	 * last records, and any node rm of it (which makes ours unneeded). */
	if (!me->node || !st_caught_up_all(st))
		return;
	uint64_t my_ms = me->node->ms, my_inst = me->inst;
	for (uint32_t i = 0; i < st->nowners; i++) {
		const struct owner *o = owner_get(st, i);
		if (i == st->self || o->rm_count || !o->node || strcmp(o->name, st->name) != 0)
			continue;
		if (!o->adv)
			continue;       /* no peer has shown it to us yet */
		if (o->node->ms > my_ms || (o->node->ms == my_ms && o->inst > my_inst))
			continue;
		struct ovg_state_wrec w = { .kind = OVG_REC_NODERM, .ms = now_ms,
					    .name = ovg_bytes_make(o->name, strlen(o->name)),
					    .instance = o->inst, .target_version = o->wm };
		(void)emit(st, &w);
	}
}

/* Who takes over a removed instance's blocks: its primary remover, or if
 * that one was removed too, whoever takes over from it (bounded). */
bool st_is_primary_remover(const struct ovg_state *st, uint32_t target);
bool st_is_primary_remover(const struct ovg_state *st, uint32_t target)
{
	for (int depth = 0; depth < 16; depth++) {
		uint32_t r = primary_remover(st, target);
		if (r == NO_OWNER)
			return false;
		/* Only with all the removed one did before its removal in hand
		 * (a restart forgets it): else a hand-over of its we have not
		 * seen yet would be taken back. */
		struct key k = { .owner = r, .kind = OVG_REC_NODERM, .target = target };
		const struct rec *rm = key_lookup(st, &k);
		if (owner_get(st, target)->wm < rm->target_version)
			return false;
		if (!owner_removed(st, r))
			return r == st->self;
		target = r;
	}
	return false;
}

void after_changes(struct ovg_state *st, uint64_t now_ms)
{
	if (st->self_removed) {
		st->self_removed = false;
		uint32_t by = primary_remover(st, st->self);
		if (by != NO_OWNER && strcmp(owner_get(st, by)->name, st->name) == 0)
			st->superseded = true;
		else if (!st->superseded)
			reinstance(st, now_ms);
	}
	if (st->check_owners && !st->superseded) {
		st->check_owners = false;
		retire_old_selves(st, now_ms);
		(void)ipam_reclaim(st);
	}
	if (!st->in_callback)
		flush_touched(st);
}

/* ---- life cycle ---------------------------------------------------------------------------- */

int state_load(struct ovg_state *st, const uint8_t *buf, size_t len);

struct ovg_state *ovg_state_new(const struct ovg_state_config *cfg, uint64_t now_ms, const uint8_t *saved,
				size_t saved_len)
{
	struct ovg_state *st = NULL;
	size_t nlen = cfg && cfg->node_name ? strlen(cfg->node_name) : 0;
	int rc = -EINVAL;

	if (!cfg || !cfg->rng.next || nlen == 0 || nlen > OVG_STATE_NAME_MAX || strchr(cfg->node_name, '@'))
		goto fail;
	rc = -ENOMEM;
	st = calloc(1, sizeof(*st));
	if (!st)
		goto fail;
	st->mem = sizeof(*st);
	memcpy(st->name, cfg->node_name, nlen);
	st->rng = cfg->rng;
	st->net_changed = cfg->net_changed;
	st->node_alive = cfg->node_alive;
	st->ctx = cfg->ctx;
	st->netmask = 1023;
	st->nettab = st_alloc(st, (st->netmask + 1) * sizeof(*st->nettab));
	st->touched = st_alloc(st, TOUCH_MAX * sizeof(*st->touched));
	if (!st->nettab || !st->touched)
		goto fail;
	if (rtab_init(st, &st->ktab, offsetof(struct rec, knext), rec_khash) ||
	    rtab_init(st, &st->iptab, offsetof(struct rec, inext), rec_ip_hash) ||
	    rtab_init(st, &st->nametab, offsetof(struct rec, nnext), rec_name_hash))
		goto fail;
	if (saved && saved_len) {
		rc = state_load(st, saved, saved_len);
		if (rc)
			goto fail;
	} else {
		st->caught_up = true;
		uint64_t inst = 0;
		while (inst == 0)
			inst = ovg_rng_next(&st->rng);
		rc = owner_intern(st, st->name, nlen, inst, &st->self);
		if (rc)
			goto fail;
		rc = write_node(st, now_ms);
		if (rc)
			goto fail;
	}
	st->ntouched = 0;
	for (struct net *n = st->nets; n; n = n->lnext)
		n->touched = false;
	st->check_owners = false;
	st->pushed = owner_get(st, st->self)->wm;
	if (!saved || !saved_len)
		st->pushed = 0;         /* announce the NODE record */
	return st;
fail:
	ovg_state_free(st);
	errno = -rc;
	return NULL;
}

void ovg_state_free(struct ovg_state *st)
{
	if (!st)
		return;
	for (uint32_t i = 0; i < st->nowners; i++) {
		struct rec *r = st->owners[i].head, *next;
		for (; r; r = next) {
			next = r->next;
			st_free(st, r);
		}
	}
	for (size_t i = 0; st->nettab && i <= st->netmask; i++) {
		struct net *n = st->nettab[i], *next;
		for (; n; n = next) {
			next = n->hnext;
			st_free(st, n->blocks);
			st_free(st, n);
		}
	}
	st_free(st, st->nettab);
	st_free(st, st->touched);
	st_free(st, st->owners);
	st_free(st, st->ktab.b);
	st_free(st, st->iptab.b);
	st_free(st, st->nametab.b);
	free(st);
}

bool ovg_state_needs_save(const struct ovg_state *st)
{
	return st->dirty;
}

void ovg_state_get_stats(const struct ovg_state *st, struct ovg_state_stats *out)
{
	memset(out, 0, sizeof(*out));
	const struct owner *me = owner_get(st, st->self);
	out->instance = me->inst;
	out->version = me->wm;
	out->owners = st->nowners;
	for (uint32_t i = 0; i < st->nowners; i++)
		out->owners_removed += st->owners[i].rm_count > 0;
	for (const struct net *n = st->nets; n; n = n->lnext)
		out->networks += n->def && !n->deleted;
	out->networks_deleted = st->nnets_deleted;
	out->records = st->nrecs;
	out->endpoints = st->neps;
	out->memory_bytes = st->mem;
	out->applied = st->applied;
	out->dropped = st->dropped;
	out->bad_messages = st->bad_messages;
	out->reinstanced = st->reinstanced;
	out->superseded = st->superseded;
}

/* Canonical hash: owners sorted by (name, instance), each with its watermark
 * and its records in version order. Equal stores hash equal. */
static int owner_sort_cmp(const void *a, const void *b, void *ctx)
{
	return owner_cmp(ctx, *(const uint32_t *)a, *(const uint32_t *)b);
}

uint64_t ovg_state_hash(const struct ovg_state *st)
{
	uint32_t *idx = malloc(st->nowners * sizeof(*idx) + 1);
	uint64_t h = HASH_SEED;
	if (!idx)
		return 0;
	for (uint32_t i = 0; i < st->nowners; i++)
		idx[i] = i;
	qsort_r(idx, st->nowners, sizeof(*idx), owner_sort_cmp, (void *)st);
	for (uint32_t i = 0; i < st->nowners; i++) {
		const struct owner *o = owner_get(st, idx[i]);
		if (!owner_visible(o))
			continue;
		h = hash_bytes(h, o->name, strlen(o->name) + 1);
		h = hash_u64(h, o->inst);
		h = hash_u64(h, o->wm);
		for (const struct rec *r = o->head; r; r = r->next) {
			struct ovg_state_wrec w;
			rec_to_wire(st, r, &w);
			h = hash_u64(h, w.version);
			h = hash_u64(h, w.kind);
			h = hash_bytes(h, w.id, 16);
			h = hash_bytes(h, w.name.p, w.name.len);
			h = hash_u64(h, w.instance);
			h = hash_u64(h, w.ms);
			h = hash_u64(h, w.target_version);
			h = hash_u64(h, (uint64_t)w.vni << 32 | w.subnet);
			h = hash_u64(h, (uint64_t)w.gateway << 32 | w.ip);
			h = hash_u64(h, (uint64_t)w.block << 32 | w.gen);
			h = hash_u64(h, (uint64_t)w.prefix << 24 | (uint64_t)w.flags << 16 |
					    (uint64_t)w.attachable << 8 | w.detached);
		}
	}
	free(idx);
	return h;
}
