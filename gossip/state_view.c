/*
 * Replicated state: the resolved view. Everything here is a function of the
 * stored records only, so every node holding the same records shows the same
 * names, conflicts and live endpoints.
 */
#include <stdarg.h>
#include <stdio.h>
#include "gossip/state_int.h"

void seterr(char *err, size_t errlen, const char *fmt, ...)
{
	va_list ap;
	if (!err || !errlen)
		return;
	va_start(ap, fmt);
	vsnprintf(err, errlen, fmt, ap);
	va_end(ap);
}

void id_hex(const uint8_t id[16], char out[33])
{
	static const char hex[] = "0123456789abcdef";
	for (int i = 0; i < 16; i++) {
		out[2 * i] = hex[id[i] >> 4];
		out[2 * i + 1] = hex[id[i] & 15];
	}
	out[32] = 0;
}

/* Dotted quad, no leading zeros games: "a.b.c.d", each 0..255. */
int parse_ipv4(const char *s, uint32_t *ip)
{
	uint32_t v = 0;
	for (int part = 0; part < 4; part++) {
		unsigned x = 0, digits = 0;
		while (*s >= '0' && *s <= '9' && digits < 4) {
			x = x * 10 + (unsigned)(*s++ - '0');
			digits++;
		}
		if (digits == 0 || digits > 3 || x > 255)
			return -EINVAL;
		v = v << 8 | x;
		if (part < 3 && *s++ != '.')
			return -EINVAL;
	}
	if (*s)
		return -EINVAL;
	*ip = v;
	return 0;
}

void format_ipv4(uint32_t ip, char out[16])
{
	snprintf(out, 16, "%u.%u.%u.%u", ip >> 24, (ip >> 16) & 255, (ip >> 8) & 255, ip & 255);
}

bool net_usable(const struct net *n)
{
	return n && n->def && !n->deleted;
}

int net_order(const struct ovg_state *st, const struct net *a, const struct net *b)
{
	const struct rec *x = a->def, *y = b->def;
	if (x->ms != y->ms)
		return x->ms < y->ms ? -1 : 1;
	int c = owner_cmp(st, x->owner, y->owner);
	if (c)
		return c;
	return memcmp(a->id, b->id, 16);
}

static bool subnets_overlap(const struct rec *a, const struct rec *b)
{
	uint8_t p = OVG_MIN(a->prefix, b->prefix);
	uint32_t mask = ~0u << (32 - p);
	return (a->subnet & mask) == (b->subnet & mask);
}

bool ep_base_live(const struct ovg_state *st, const struct rec *e)
{
	uint32_t b, gen, owner;
	if (e->detached || !net_usable(e->net) || owner_removed(st, e->owner))
		return false;
	if (!ipam_block_of(e->net, e->ip, &b))
		return false;
	owner = ipam_block_owner(e->net, b, &gen);
	if (e->gen < gen)
		return false;   /* the block moved on after this was allocated */
	if (e->gen == gen && e->owner != owner)
		return false;   /* allocated by a node that did not own the block */
	return true;
}

/* Who keeps an address both claim: a smaller result means a wins. */
static int ip_order(const struct ovg_state *st, const struct rec *a, const struct rec *b)
{
	if (a->gen != b->gen)
		return a->gen > b->gen ? -1 : 1;
	if (a->owner == b->owner)
		return a->version > b->version ? -1 : a->version < b->version;
	if (a->ms != b->ms)
		return a->ms < b->ms ? -1 : 1;
	return owner_cmp(st, a->owner, b->owner);
}

static int name_order(const struct ovg_state *st, const struct rec *a, const struct rec *b)
{
	if (a->ms != b->ms)
		return a->ms < b->ms ? -1 : 1;
	int c = owner_cmp(st, a->owner, b->owner);
	if (c)
		return c;
	return a->version < b->version ? -1 : a->version > b->version;
}

bool ep_live(const struct ovg_state *st, const struct rec *e)
{
	if (!ep_base_live(st, e))
		return false;
	for (const struct rec *o = ip_chain(st, e->net, e->ip); o; o = o->inext) {
		if (o == e || o->net != e->net || o->ip != e->ip || !ep_base_live(st, o))
			continue;
		if (ip_order(st, o, e) < 0)
			return false;
	}
	return true;
}

/* Does a live endpoint other than e hold e's name and come first? */
static bool ep_renamed(const struct ovg_state *st, const struct rec *e)
{
	for (const struct rec *o = name_chain(st, e->net, e->name, e->name_len); o; o = o->nnext) {
		if (o == e || o->net != e->net || o->name_len != e->name_len ||
		    memcmp(o->name, e->name, e->name_len) != 0 || !ep_live(st, o))
			continue;
		if (name_order(st, o, e) < 0)
			return true;
	}
	return false;
}

void ep_fill(const struct ovg_state *st, const struct rec *e, struct ovg_state_ep *out)
{
	const struct owner *o = owner_get(st, e->owner);
	memset(out, 0, sizeof(*out));
	memcpy(out->net_id, e->net->id, 16);
	memcpy(out->raw_name, e->name, e->name_len + 1);
	snprintf(out->node, sizeof(out->node), "%s", o->name);
	out->node_instance = o->inst;
	out->ip = e->ip;
	out->prefix = e->net->def ? e->net->def->prefix : 0;
	out->mac[0] = 0x02;
	out->mac[1] = 0x42;
	out->mac[2] = e->ip >> 24;
	out->mac[3] = e->ip >> 16;
	out->mac[4] = e->ip >> 8;
	out->mac[5] = e->ip;
	out->created_ms = e->ms;
	out->version = e->version;
	out->block_gen = e->gen;
	out->local = e->owner == st->self;
	out->detached = e->detached;
	out->live = ep_live(st, e);
	if (!out->live && ep_base_live(st, e))
		out->conflict |= OVG_STATE_CONFLICT_IP;
	if (out->live && ep_renamed(st, e)) {
		out->conflict |= OVG_STATE_CONFLICT_NAME;
		snprintf(out->name, sizeof(out->name), "%s@%s", e->name, o->name);
	} else {
		memcpy(out->name, e->name, e->name_len + 1);
	}
}

void net_fill(const struct ovg_state *st, const struct net *n, struct ovg_state_net *out)
{
	const struct rec *d = n->def;
	memset(out, 0, sizeof(*out));
	memcpy(out->id, n->id, 16);
	id_hex(n->id, out->id_hex);
	memcpy(out->raw_name, d->name, d->name_len + 1);
	out->vni = d->vni;
	out->subnet = d->subnet;
	out->prefix = d->prefix;
	out->gateway = d->gateway;
	out->attachable = d->attachable;
	snprintf(out->creator, sizeof(out->creator), "%s", owner_get(st, d->owner)->name);
	out->created_ms = d->ms;
	out->live = true;
	for (const struct net *m = st->nets; m; m = m->lnext) {
		if (m == n || !net_usable(m))
			continue;
		bool better = net_order(st, m, n) < 0;
		if (better && strcmp(m->def->name, d->name) == 0)
			out->conflict |= OVG_STATE_CONFLICT_NAME;
		if (better && m->def->vni == d->vni) {
			out->conflict |= OVG_STATE_CONFLICT_VNI;
			out->live = false;
		}
		if (subnets_overlap(m->def, d))
			out->conflict |= OVG_STATE_CONFLICT_SUBNET;
	}
	if (out->conflict & OVG_STATE_CONFLICT_NAME)
		snprintf(out->name, sizeof(out->name), "%s@%.8s", d->name, out->id_hex);
	else
		memcpy(out->name, d->name, d->name_len + 1);
	out->block_size = n->bsize;
	out->block_count = n->nblocks;
	out->blocks_local = ipam_blocks_of(n, st->self);
	for (const struct rec *e = n->eps; e; e = e->lnext)
		out->endpoints += ep_live(st, e);
}

bool net_name_taken(const struct ovg_state *st, const char *name)
{
	for (const struct net *m = st->nets; m; m = m->lnext) {
		if (!net_usable(m))
			continue;
		if (strcmp(m->def->name, name) == 0)
			return true;
		struct ovg_state_net v;
		net_fill(st, m, &v);
		if (strcmp(v.name, name) == 0)
			return true;
	}
	return false;
}

/* ---- iteration ----------------------------------------------------------------------- */

static int net_view_cmp(const void *a, const void *b)
{
	const struct ovg_state_net *x = a, *y = b;
	int c = strcmp(x->name, y->name);
	return c ? c : memcmp(x->id, y->id, 16);
}

int ovg_state_net_foreach(const struct ovg_state *st, int (*cb)(void *ctx, const struct ovg_state_net *net),
			  void *ctx)
{
	uint32_t n = 0, i = 0;
	int rc = 0;
	for (const struct net *m = st->nets; m; m = m->lnext)
		n += net_usable(m);
	struct ovg_state_net *v = malloc((n + 1) * sizeof(*v));
	if (!v)
		return -ENOMEM;
	for (const struct net *m = st->nets; m; m = m->lnext)
		if (net_usable(m))
			net_fill(st, m, &v[i++]);
	qsort(v, n, sizeof(*v), net_view_cmp);
	for (i = 0; i < n && rc == 0; i++)
		rc = cb(ctx, &v[i]);
	free(v);
	return rc;
}

int ovg_state_net_get(const struct ovg_state *st, const uint8_t id[16], struct ovg_state_net *out)
{
	const struct net *n = net_find(st, id);
	if (!net_usable(n))
		return -ENOENT;
	net_fill(st, n, out);
	return 0;
}

static int ep_view_cmp(const void *a, const void *b)
{
	const struct ovg_state_ep *x = a, *y = b;
	if (x->ip != y->ip)
		return x->ip < y->ip ? -1 : 1;
	if (x->live != y->live)
		return x->live ? -1 : 1;
	int c = strcmp(x->name, y->name);
	if (c)
		return c;
	c = strcmp(x->node, y->node);
	if (c)
		return c;
	return x->node_instance < y->node_instance ? -1 : x->node_instance > y->node_instance;
}

int ovg_state_ep_foreach(const struct ovg_state *st, const uint8_t net_id[16], bool all,
			 int (*cb)(void *ctx, const struct ovg_state_ep *ep), void *ctx)
{
	const struct net *n = net_find(st, net_id);
	uint32_t i = 0, cnt = 0;
	int rc = 0;
	if (!net_usable(n))
		return -ENOENT;
	struct ovg_state_ep *v = malloc((n->neps + 1) * sizeof(*v));
	if (!v)
		return -ENOMEM;
	for (const struct rec *e = n->eps; e; e = e->lnext) {
		if (!all && !ep_live(st, e))
			continue;
		ep_fill(st, e, &v[cnt++]);
	}
	qsort(v, cnt, sizeof(*v), ep_view_cmp);
	for (i = 0; i < cnt && rc == 0; i++)
		rc = cb(ctx, &v[i]);
	free(v);
	return rc;
}

int ovg_state_net_lookup(const struct ovg_state *st, const char *name_or_id, uint8_t id_out[16])
{
	const struct net *found = NULL;
	uint32_t raw = 0, pref = 0;
	size_t len = strlen(name_or_id);
	bool hex = len > 0 && len <= 32;

	for (size_t i = 0; i < len && hex; i++)
		hex = (name_or_id[i] >= '0' && name_or_id[i] <= '9') || (name_or_id[i] >= 'a' && name_or_id[i] <= 'f');
	for (const struct net *m = st->nets; m; m = m->lnext) {
		if (!net_usable(m))
			continue;
		struct ovg_state_net v;
		net_fill(st, m, &v);
		if (strcmp(v.name, name_or_id) == 0) {
			memcpy(id_out, m->id, 16);
			return 0;
		}
	}
	for (const struct net *m = st->nets; m; m = m->lnext) {
		if (net_usable(m) && strcmp(m->def->name, name_or_id) == 0) {
			raw++;
			found = m;
		}
	}
	if (raw == 1) {
		memcpy(id_out, found->id, 16);
		return 0;
	}
	if (!hex)
		return -ENOENT;
	for (const struct net *m = st->nets; m; m = m->lnext) {
		char h[33];
		if (!net_usable(m))
			continue;
		id_hex(m->id, h);
		if (strncmp(h, name_or_id, len) == 0) {
			pref++;
			found = m;
		}
	}
	if (pref > 1)
		return -ENOTUNIQ;
	if (pref == 0)
		return -ENOENT;
	memcpy(id_out, found->id, 16);
	return 0;
}
