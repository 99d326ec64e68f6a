/*
 * IPAM without a store. A network's subnet is cut into at most 256 blocks of
 * max(4, size / 256) addresses. Generation 0 of every block belongs to the
 * network's creator; generation g + 1 is whatever the owner of generation g
 * handed it to with an XFER record (or, for a node removed with node rm, what
 * its remover took). Only a block's owner allocates from it, and it hands a
 * block on only when it holds no live endpoint in it, so the next owner starts
 * empty. An endpoint remembers the generation it was allocated under, and is
 * live only while its block has not moved on (see ep_base_live): no two nodes
 * ever hand out the same address, partitioned or not.
 */
#include <stdio.h>
#include "gossip/state_int.h"

bool st_is_primary_remover(const struct ovg_state *st, uint32_t target);

void ipam_geometry(uint8_t prefix, uint32_t *bsize, uint32_t *nblocks)
{
	uint64_t size = 1ull << (32 - prefix);
	uint64_t b = size / OVG_STATE_MAX_BLOCKS;
	if (b < 4)
		b = 4;
	if (b > size)
		b = size;
	*bsize = (uint32_t)b;
	*nblocks = (uint32_t)(size / b);
}

bool ipam_block_of(const struct net *n, uint32_t ip, uint32_t *block)
{
	const struct rec *d = n->def;
	uint32_t mask = ~0u << (32 - d->prefix);
	if ((ip & mask) != d->subnet)
		return false;
	*block = (ip - d->subnet) / n->bsize;
	return *block < n->nblocks;
}

uint32_t ipam_block_owner(const struct net *n, uint32_t block, uint32_t *gen)
{
	const struct rec *x = n->blocks[block];
	if (x) {
		*gen = x->gen;
		return x->target;
	}
	*gen = 0;
	return n->def->owner;
}

bool ipam_reserved(const struct net *n, uint32_t ip)
{
	const struct rec *d = n->def;
	uint32_t mask = ~0u << (32 - d->prefix);
	return ip == d->subnet || ip == (d->subnet | ~mask) || ip == d->gateway;
}

uint32_t ipam_blocks_of(const struct net *n, uint32_t owner)
{
	uint32_t cnt = 0, gen;
	for (uint32_t b = 0; n->def && b < n->nblocks; b++)
		cnt += ipam_block_owner(n, b, &gen) == owner;
	return cnt;
}

static const struct rec *addr_user(const struct ovg_state *st, struct net *n, uint32_t ip)
{
	for (const struct rec *e = ip_chain(st, n, ip); e; e = e->inext)
		if (e->net == n && e->ip == ip && ep_base_live(st, e))
			return e;
	return NULL;
}

bool ipam_block_has_live(const struct ovg_state *st, struct net *n, uint32_t block, uint32_t owner)
{
	(void)owner;    /* anyone's live endpoint counts: stale views err on the safe side */
	uint32_t first = n->def->subnet + block * n->bsize;
	if (n->bsize <= 64 || n->bsize <= n->neps) {
		for (uint32_t i = 0; i < n->bsize; i++)
			if (addr_user(st, n, first + i))
				return true;
		return false;
	}
	for (const struct rec *e = n->eps; e; e = e->lnext)
		if (e->ip - first < n->bsize && ep_base_live(st, e))
			return true;
	return false;
}

static bool alive(const struct ovg_state *st, uint32_t owner)
{
	const struct owner *o = owner_get(st, owner);
	if (o->rm_count)
		return false;
	return !st->node_alive || st->node_alive(st->ctx, o->name);
}

/* Queue a block request; requests for the same network and block merge. */
static void request(struct ovg_state *st, uint64_t now_ms, struct net *n, uint32_t owner, int32_t block,
		    uint32_t count)
{
	struct ipam_req *free_slot = NULL;
	for (int i = 0; i < IPAM_REQ_MAX; i++) {
		struct ipam_req *q = &st->reqs[i];
		if (!q->used) {
			if (!free_slot)
				free_slot = q;
			continue;
		}
		if (q->net == n && q->block == block && q->owner == owner) {
			q->count = OVG_MAX(q->count, count);
			return;         /* already asking; keep its retry schedule */
		}
	}
	if (!free_slot)
		return;                 /* bounded: the caller retries later anyway */
	free_slot->used = true;
	free_slot->net = n;
	free_slot->owner = owner;
	free_slot->block = block;
	free_slot->count = count;
	free_slot->next_ms = now_ms;
	free_slot->expire_ms = now_ms + OVG_STATE_IPAM_EXPIRE_MS;
}

void ipam_block_arrived(struct ovg_state *st, struct net *n)
{
	for (int i = 0; i < IPAM_REQ_MAX; i++)
		if (st->reqs[i].used && st->reqs[i].net == n)
			st->reqs[i].used = false;
}

void ipam_forget_net(struct ovg_state *st, struct net *n)
{
	ipam_block_arrived(st, n);
}

static int free_in_block(const struct ovg_state *st, struct net *n, uint32_t b, uint32_t *ip)
{
	uint32_t first = n->def->subnet + b * n->bsize;
	for (uint32_t i = 0; i < n->bsize; i++) {
		uint32_t a = first + i;
		if (!ipam_reserved(n, a) && !addr_user(st, n, a)) {
			*ip = a;
			return 0;
		}
	}
	return -ENOSPC;
}

int ipam_alloc(struct ovg_state *st, uint64_t now_ms, struct net *n, const char *want, uint32_t *ip,
	       uint32_t *gen, char *err, size_t errlen)
{
	char a[16], s[16];
	uint32_t b, g, owner;
	const struct rec *d = n->def;

	format_ipv4(d->subnet, s);
	if (want && *want) {
		if (parse_ipv4(want, ip)) {
			seterr(err, errlen, "invalid address %s", want);
			return -EINVAL;
		}
		format_ipv4(*ip, a);
		if (!ipam_block_of(n, *ip, &b)) {
			seterr(err, errlen, "address %s is outside subnet %s/%u of network %s", a, s, d->prefix,
			       d->name);
			return -EINVAL;
		}
		if (ipam_reserved(n, *ip)) {
			seterr(err, errlen, "address %s is reserved in network %s (network, broadcast or gateway)",
			       a, d->name);
			return -EINVAL;
		}
		const struct rec *u = addr_user(st, n, *ip);
		if (u) {
			seterr(err, errlen, "address %s is in use by endpoint %s on node %s", a, u->name,
			       owner_get(st, u->owner)->name);
			return -EADDRINUSE;
		}
		owner = ipam_block_owner(n, b, &g);
		if (owner == st->self) {
			*gen = g;
			return 0;
		}
		if (ipam_block_has_live(st, n, b, owner)) {
			seterr(err, errlen, "address %s lies in an address block node %s is using", a,
			       owner_get(st, owner)->name);
			return -EADDRINUSE;
		}
		if (!alive(st, owner)) {
			seterr(err, errlen, "address %s is held by node %s, which is not reachable", a,
			       owner_get(st, owner)->name);
			return -EADDRINUSE;
		}
		request(st, now_ms, n, owner, (int32_t)b, 1);
		seterr(err, errlen, "address block of %s requested from node %s", a, owner_get(st, owner)->name);
		return -EAGAIN;
	}

	uint32_t mine = 0;
	for (b = 0; b < n->nblocks; b++) {
		if (ipam_block_owner(n, b, &g) != st->self)
			continue;
		mine++;
		if (free_in_block(st, n, b, ip) == 0) {
			*gen = g;
			return 0;
		}
	}

	/* Short of addresses: ask the live owner holding the most empty blocks. */
	uint32_t *empty = calloc(st->nowners, sizeof(*empty));
	uint32_t best = NO_OWNER, dead = NO_OWNER;
	if (!empty)
		return -ENOMEM;
	for (b = 0; b < n->nblocks; b++) {
		owner = ipam_block_owner(n, b, &g);
		if (owner == st->self || ipam_block_has_live(st, n, b, owner))
			continue;
		if (!alive(st, owner)) {
			dead = owner;
			continue;
		}
		empty[owner]++;
		if (best == NO_OWNER || empty[owner] > empty[best] ||
		    (empty[owner] == empty[best] && owner_cmp(st, owner, best) < 0))
			best = owner;
	}
	free(empty);
	if (best == NO_OWNER) {
		if (dead != NO_OWNER)
			seterr(err, errlen,
			       "no free address in network %s: the rest is held by unreachable node %s "
			       "(node rm reclaims it)", d->name, owner_get(st, dead)->name);
		else
			seterr(err, errlen, "no free address in network %s", d->name);
		return -ENOSPC;
	}
	request(st, now_ms, n, best, -1, OVG_MIN(16u, OVG_MAX(1u, mine)));
	seterr(err, errlen, "waiting for an address block of network %s from node %s", d->name,
	       owner_get(st, best)->name);
	return -EAGAIN;
}

static int give(struct ovg_state *st, struct net *n, uint32_t b, uint32_t to)
{
	uint32_t g;
	const struct owner *o = owner_get(st, to);
	(void)ipam_block_owner(n, b, &g);
	struct ovg_state_wrec w = { .kind = OVG_REC_XFER, .block = b, .gen = g + 1,
				    .name = ovg_bytes_make(o->name, strlen(o->name)), .instance = o->inst };
	memcpy(w.id, n->id, 16);
	return emit(st, &w);
}

int ipam_handle_request(struct ovg_state *st, const struct ovg_state_wipam *req, uint32_t *granted)
{
	struct net *n = net_find(st, req->net_id);
	uint32_t to, g;
	int rc;

	*granted = 0;
	/* Restarted and not yet caught up with a peer: we might have been
	 * removed (node rm) meanwhile and no longer own what we think we own. */
	if (!net_usable(n) || !st->caught_up)
		return 0;
	rc = owner_intern(st, (const char *)req->name.p, req->name.len, req->instance, &to);
	if (rc)
		return rc == -EINVAL ? -EBADMSG : rc;
	if (to == st->self || owner_removed(st, to))
		return 0;
	if (req->block >= 0) {
		uint32_t b = (uint32_t)req->block;
		if (b >= n->nblocks || ipam_block_owner(n, b, &g) != st->self || ipam_block_has_live(st, n, b, st->self))
			return 0;
		rc = give(st, n, b, to);
		*granted = rc == 0;
		return rc;
	}
	/* Any blocks: hand out empty ones from the top, keeping the low ones
	 * (gateway) with us as long as we can. */
	for (uint32_t b = n->nblocks; b-- > 0 && *granted < req->count;) {
		if (ipam_block_owner(n, b, &g) != st->self || ipam_block_has_live(st, n, b, st->self))
			continue;
		rc = give(st, n, b, to);
		if (rc)
			return rc;
		(*granted)++;
	}
	return 0;
}

/* Leaving: every owned block goes to a live node, round robin by name. */
int ipam_handoff(struct ovg_state *st)
{
	uint32_t *succ = malloc((st->nowners + 1) * sizeof(*succ));
	uint32_t ns = 0, next = 0;
	int rc = 0;

	if (!succ)
		return -ENOMEM;
	for (uint32_t i = 0; i < st->nowners; i++) {
		const struct owner *o = owner_get(st, i);
		if (i == st->self || !o->node || strcmp(o->name, st->name) == 0 || !alive(st, i))
			continue;
		/* one instance per name: the newest */
		bool dup = false;
		for (uint32_t j = 0; j < ns; j++) {
			const struct owner *p = owner_get(st, succ[j]);
			if (strcmp(p->name, o->name) == 0) {
				dup = true;
				if (o->node->ms > p->node->ms)
					succ[j] = i;
			}
		}
		if (!dup)
			succ[ns++] = i;
	}
	for (uint32_t i = 1; i < ns; i++)          /* insertion sort by name */
		for (uint32_t j = i; j > 0 && owner_cmp(st, succ[j], succ[j - 1]) < 0; j--) {
			uint32_t t = succ[j];
			succ[j] = succ[j - 1];
			succ[j - 1] = t;
		}
	for (struct net *n = st->nets; n && ns && rc == 0; n = n->lnext) {
		uint32_t g;
		if (!net_usable(n))
			continue;
		for (uint32_t b = 0; b < n->nblocks && rc == 0; b++) {
			if (ipam_block_owner(n, b, &g) != st->self || ipam_block_has_live(st, n, b, st->self))
				continue;
			rc = give(st, n, b, succ[next++ % ns]);
		}
	}
	free(succ);
	return rc;
}

/* Blocks of removed instances pass to the (first, by name) node that removed
 * them: at node rm time, and again whenever one shows up later. */
int ipam_reclaim(struct ovg_state *st)
{
	bool any = false;
	int rc = 0;
	/* whose blocks are ours to take, decided once per owner */
	bool *mine = calloc(st->nowners + 1, sizeof(*mine));
	if (!mine)
		return -ENOMEM;
	for (uint32_t i = 0; i < st->nowners; i++) {
		mine[i] = i != st->self && st->owners[i].rm_count && st_is_primary_remover(st, i);
		any |= mine[i];
	}
	for (struct net *n = st->nets; n && any && rc == 0; n = n->lnext) {
		uint32_t g;
		if (!net_usable(n))
			continue;
		for (uint32_t b = 0; b < n->nblocks && rc == 0; b++)
			if (mine[ipam_block_owner(n, b, &g)])
				rc = give(st, n, b, st->self);
	}
	free(mine);
	return rc;
}

int ovg_state_ipam_next(struct ovg_state *st, uint64_t now_ms, char node[OVG_STATE_NAME_MAX + 1], uint8_t *buf,
			size_t cap, size_t *len)
{
	*len = 0;
	node[0] = 0;
	for (int i = 0; i < IPAM_REQ_MAX; i++) {
		struct ipam_req *q = &st->reqs[i];
		if (!q->used)
			continue;
		if (now_ms >= q->expire_ms || !net_usable(q->net) || !alive(st, q->owner)) {
			q->used = false;
			continue;
		}
		if (now_ms < q->next_ms)
			continue;
		const struct owner *me = owner_get(st, st->self), *to = owner_get(st, q->owner);
		struct ovg_state_wipam w = { .name = ovg_bytes_make(me->name, strlen(me->name)), .instance = me->inst,
					     .block = q->block, .count = q->count };
		struct ovg_mp_writer mw;
		uint8_t hdr[OVG_ENV_HDR_LEN] = { OVG_ENV_MAGIC, OVG_ENV_VERSION, OVG_ENV_IPAM };
		memcpy(w.net_id, q->net->id, 16);
		ovg_mp_writer_init(&mw, buf, cap);
		ovg_mp_write_verbatim(&mw, hdr, sizeof(hdr));
		ovg_state_wipam_encode(&mw, &w);
		int rc = ovg_mp_writer_finish(&mw, len);
		if (rc) {
			*len = 0;
			return rc;
		}
		snprintf(node, OVG_STATE_NAME_MAX + 1, "%s", to->name);
		q->next_ms = now_ms + OVG_STATE_IPAM_RETRY_MS;
		return 0;
	}
	return 0;
}

int ovg_state_block_foreach(const struct ovg_state *st, const uint8_t net_id[16],
			    int (*cb)(void *ctx, const struct ovg_state_block *b), void *ctx)
{
	struct net *n = net_find(st, net_id);
	int rc = 0;
	if (!net_usable(n))
		return -ENOENT;
	for (uint32_t b = 0; b < n->nblocks && rc == 0; b++) {
		struct ovg_state_block v = { .index = b, .first = n->def->subnet + b * n->bsize, .size = n->bsize };
		uint32_t owner = ipam_block_owner(n, b, &v.gen);
		const struct owner *o = owner_get(st, owner);
		snprintf(v.owner, sizeof(v.owner), "%s", o->name);
		v.owner_instance = o->inst;
		v.local = owner == st->self;
		if (n->blocks[b]) {
			const struct owner *f = owner_get(st, n->blocks[b]->owner);
			snprintf(v.from, sizeof(v.from), "%s", f->name);
			v.from_instance = f->inst;
			v.from_version = n->blocks[b]->version;
		}
		for (uint32_t i = 0; i < n->bsize; i++)
			v.used += addr_user(st, n, v.first + i) != NULL;
		rc = cb(ctx, &v);
	}
	return rc;
}
