/*
 * Replicated state: local operations (what the CLI asks for). Each checks
 * against the current view, then writes our own records; on error nothing is
 * written and err names the problem.
 */
#include <stdio.h>
#include "gossip/state_int.h"

bool st_caught_up_all(const struct ovg_state *st);

static int check_name(const char *what, const char *name, char *err, size_t errlen)
{
	size_t len = name ? strlen(name) : 0;
	if (len == 0 || len > OVG_STATE_NAME_MAX) {
		seterr(err, errlen, "%s name must be 1 to %d bytes", what, OVG_STATE_NAME_MAX);
		return -EINVAL;
	}
	for (size_t i = 0; i < len; i++) {
		unsigned char c = (unsigned char)name[i];
		if (c <= ' ' || c == 0x7f || c == '@' || c == '/') {
			seterr(err, errlen, "invalid %s name \"%s\": no spaces, control characters, '@' or '/'",
			       what, name);
			return -EINVAL;
		}
	}
	return 0;
}

static int parse_cidr(const char *s, uint32_t *addr, uint8_t *prefix)
{
	char buf[32];
	const char *slash = strchr(s, '/');
	if (!slash || (size_t)(slash - s) >= sizeof(buf))
		return -EINVAL;
	memcpy(buf, s, (size_t)(slash - s));
	buf[slash - s] = 0;
	if (parse_ipv4(buf, addr))
		return -EINVAL;
	const char *p = slash + 1;
	unsigned v = 0, digits = 0;
	while (*p >= '0' && *p <= '9' && digits < 3) {
		v = v * 10 + (unsigned)(*p++ - '0');
		digits++;
	}
	if (digits == 0 || *p || v > 32)
		return -EINVAL;
	*prefix = (uint8_t)v;
	return 0;
}

static const struct net *overlapping(const struct ovg_state *st, uint32_t subnet, uint8_t prefix)
{
	for (const struct net *m = st->nets; m; m = m->lnext) {
		if (!net_usable(m))
			continue;
		uint8_t p = OVG_MIN(prefix, m->def->prefix);
		uint32_t mask = ~0u << (32 - p);
		if ((m->def->subnet & mask) == (subnet & mask))
			return m;
	}
	return NULL;
}

static const struct net *vni_user(const struct ovg_state *st, uint32_t vni)
{
	for (const struct net *m = st->nets; m; m = m->lnext)
		if (net_usable(m) && m->def->vni == vni)
			return m;
	return NULL;
}

int ovg_state_net_create(struct ovg_state *st, uint64_t now_ms, const struct ovg_state_net_spec *spec,
			 uint8_t id_out[16], char *err, size_t errlen)
{
	uint32_t subnet, gateway, vni = spec->vni, mask;
	uint8_t prefix, id[16];
	char a[16], b[16];
	const struct net *m;
	int rc;

	if (st->superseded) {
		seterr(err, errlen, "this node was replaced by a newer instance of %s", st->name);
		return -ESTALE;
	}
	if ((rc = check_name("network", spec->name, err, errlen)))
		return rc;
	if (net_name_taken(st, spec->name)) {
		seterr(err, errlen, "network with name %s already exists", spec->name);
		return -EEXIST;
	}
	if (spec->subnet && *spec->subnet) {
		if (parse_cidr(spec->subnet, &subnet, &prefix)) {
			seterr(err, errlen, "invalid subnet %s: expected an IPv4 CIDR such as 10.1.0.0/24",
			       spec->subnet);
			return -EINVAL;
		}
		if (prefix < OVG_STATE_PREFIX_MIN || prefix > OVG_STATE_PREFIX_MAX) {
			seterr(err, errlen, "invalid subnet %s: prefix length must be /%d to /%d", spec->subnet,
			       OVG_STATE_PREFIX_MIN, OVG_STATE_PREFIX_MAX);
			return -EINVAL;
		}
		mask = ~0u << (32 - prefix);
		if (subnet & ~mask) {
			format_ipv4(subnet & mask, a);
			seterr(err, errlen, "invalid subnet %s: host bits set (network address is %s/%u)",
			       spec->subnet, a, prefix);
			return -EINVAL;
		}
		if ((m = overlapping(st, subnet, prefix))) {
			format_ipv4(m->def->subnet, a);
			seterr(err, errlen, "subnet %s overlaps network %s (%s/%u)", spec->subnet, m->def->name, a,
			       m->def->prefix);
			return -EADDRINUSE;
		}
	} else {
		bool found = false;
		prefix = 24;
		mask = ~0u << 8;
		for (uint32_t i = 0; i < 65536 && !found; i++) {
			subnet = 10u << 24 | i << 8;
			found = !overlapping(st, subnet, prefix);
		}
		if (!found) {
			seterr(err, errlen, "no free /24 left in 10.0.0.0/8: give --subnet");
			return -ENOSPC;
		}
	}
	format_ipv4(subnet, b);
	if (spec->gateway && *spec->gateway) {
		if (parse_ipv4(spec->gateway, &gateway)) {
			seterr(err, errlen, "invalid gateway %s", spec->gateway);
			return -EINVAL;
		}
		if ((gateway & mask) != subnet) {
			seterr(err, errlen, "gateway %s is outside subnet %s/%u", spec->gateway, b, prefix);
			return -EINVAL;
		}
		if (gateway == subnet || gateway == (subnet | ~mask)) {
			seterr(err, errlen, "gateway %s is the network or broadcast address of %s/%u", spec->gateway,
			       b, prefix);
			return -EINVAL;
		}
	} else {
		gateway = subnet + 1;
	}
	if (vni) {
		if (vni < OVG_STATE_VNI_MIN || vni > OVG_STATE_VNI_MAX) {
			seterr(err, errlen, "VNI %u out of range %u..%u", vni, OVG_STATE_VNI_MIN, OVG_STATE_VNI_MAX);
			return -EINVAL;
		}
		if ((m = vni_user(st, vni))) {
			seterr(err, errlen, "VNI %u is already used by network %s", vni, m->def->name);
			return -EEXIST;
		}
	} else {
		uint32_t span = OVG_STATE_VNI_MAX - OVG_STATE_VNI_AUTO_MIN + 1;
		for (int tries = 0; tries < 64 && !vni; tries++) {
			uint32_t v = OVG_STATE_VNI_AUTO_MIN + ovg_rng_below(&st->rng, span);
			if (!vni_user(st, v))
				vni = v;
		}
		for (uint32_t v = OVG_STATE_VNI_AUTO_MIN; !vni && v <= OVG_STATE_VNI_MAX; v++)
			if (!vni_user(st, v))
				vni = v;
		if (!vni) {
			seterr(err, errlen, "no free VNI left");
			return -ENOSPC;
		}
	}
	do {
		uint64_t x = ovg_rng_next(&st->rng), y = ovg_rng_next(&st->rng);
		memcpy(id, &x, 8);
		memcpy(id + 8, &y, 8);
	} while (net_find(st, id));

	struct ovg_state_wrec w = { .kind = OVG_REC_NET, .name = ovg_bytes_make(spec->name, strlen(spec->name)),
				    .vni = vni, .subnet = subnet, .prefix = prefix, .gateway = gateway,
				    .attachable = spec->attachable, .ms = now_ms };
	memcpy(w.id, id, 16);
	rc = emit(st, &w);
	if (rc) {
		seterr(err, errlen, "cannot store network %s: %s", spec->name, strerror(-rc));
		return rc;
	}
	if (id_out)
		memcpy(id_out, id, 16);
	after_changes(st, now_ms);
	return 0;
}

int ovg_state_net_remove(struct ovg_state *st, uint64_t now_ms, const uint8_t id[16], char *err, size_t errlen)
{
	struct net *n = net_find(st, id);
	char names[256];
	size_t used = 0;
	uint32_t live = 0;
	int rc;

	if (st->superseded) {
		seterr(err, errlen, "this node was replaced by a newer instance of %s", st->name);
		return -ESTALE;
	}
	if (!net_usable(n)) {
		seterr(err, errlen, "network not found");
		return -ENOENT;
	}
	names[0] = 0;
	for (const struct rec *e = n->eps; e; e = e->lnext) {
		if (!ep_live(st, e))
			continue;
		live++;
		if (used < sizeof(names) - 1) {
			int k = snprintf(names + used, sizeof(names) - used, "%s%s", live > 1 ? ", " : "", e->name);
			used += k > 0 ? (size_t)k : 0;
			if (used >= sizeof(names))
				used = sizeof(names) - 1;
		}
	}
	if (live) {
		seterr(err, errlen, "network %s has active endpoints: %s", n->def->name, names);
		return -EBUSY;
	}
	struct ovg_state_wrec w = { .kind = OVG_REC_NETDEL, .ms = now_ms };
	memcpy(w.id, id, 16);
	rc = emit(st, &w);
	if (rc) {
		seterr(err, errlen, "cannot store the removal: %s", strerror(-rc));
		return rc;
	}
	after_changes(st, now_ms);
	return 0;
}

int ovg_state_ep_attach(struct ovg_state *st, uint64_t now_ms, const uint8_t net_id[16], const char *name,
			const char *ip, struct ovg_state_ep *out, char *err, size_t errlen)
{
	struct net *n = net_find(st, net_id);
	struct ovg_state_net view;
	uint32_t addr, gen;
	int rc;

	if (st->superseded) {
		seterr(err, errlen, "this node was replaced by a newer instance of %s", st->name);
		return -ESTALE;
	}
	if (!net_usable(n)) {
		seterr(err, errlen, "network not found");
		return -ENOENT;
	}
	net_fill(st, n, &view);
	if (!n->def->attachable) {
		seterr(err, errlen, "network %s is not manually attachable (create it with --attachable)", view.name);
		return -EPERM;
	}
	if (!view.live) {
		seterr(err, errlen, "network %s is unusable: VNI %u belongs to an older network", view.name, view.vni);
		return -EPERM;
	}
	if ((rc = check_name("endpoint", name, err, errlen)))
		return rc;
	size_t len = strlen(name);
	for (const struct rec *e = name_chain(st, n, name, len); e; e = e->nnext) {
		if (e->net == n && e->name_len == len && memcmp(e->name, name, len) == 0 && ep_live(st, e)) {
			seterr(err, errlen, "endpoint with name %s already exists in network %s", name, view.name);
			return -EEXIST;
		}
	}
	rc = ipam_alloc(st, now_ms, n, ip, &addr, &gen, err, errlen);
	if (rc) {
		after_changes(st, now_ms);
		return rc;
	}
	struct ovg_state_wrec w = { .kind = OVG_REC_EP, .name = ovg_bytes_make(name, len), .ip = addr, .gen = gen,
				    .ms = now_ms };
	memcpy(w.id, net_id, 16);
	rc = emit(st, &w);
	if (rc) {
		seterr(err, errlen, "cannot store endpoint %s: %s", name, strerror(-rc));
		return rc;
	}
	if (out)
		ep_fill(st, ep_find(st, n, st->self, name, len), out);
	after_changes(st, now_ms);
	return 0;
}

static int detach(struct ovg_state *st, struct rec *e)
{
	struct ovg_state_wrec w = { .kind = OVG_REC_EP, .name = ovg_bytes_make(e->name, e->name_len), .ip = e->ip,
				    .gen = e->gen, .ms = e->ms, .detached = true };
	memcpy(w.id, e->net->id, 16);
	return emit(st, &w);
}

int ovg_state_ep_detach(struct ovg_state *st, uint64_t now_ms, const uint8_t net_id[16], const char *name,
			char *err, size_t errlen)
{
	struct net *n = net_find(st, net_id);
	struct rec *e = NULL;
	int rc;

	if (st->superseded) {
		seterr(err, errlen, "this node was replaced by a newer instance of %s", st->name);
		return -ESTALE;
	}
	if (n && !n->deleted && name)
		e = ep_find(st, n, st->self, name, strlen(name));
	if (!e || e->detached) {
		seterr(err, errlen, "no endpoint %s on this node in that network", name ? name : "");
		return -ENOENT;
	}
	rc = detach(st, e);
	if (rc) {
		seterr(err, errlen, "cannot store the detach: %s", strerror(-rc));
		return rc;
	}
	after_changes(st, now_ms);
	return 0;
}

int ovg_state_leave(struct ovg_state *st, uint64_t now_ms, char *err, size_t errlen)
{
	struct owner *me = owner_get(st, st->self);
	int rc = 0;

	if (st->superseded) {
		seterr(err, errlen, "this node was replaced by a newer instance of %s", st->name);
		return -ESTALE;
	}
	/* detaching moves records to the tail of our list: collect first */
	uint32_t cnt = 0, i = 0;
	for (struct rec *r = me->head; r; r = r->next)
		cnt += r->kind == OVG_REC_EP && !r->detached;
	struct rec **eps = malloc((cnt + 1) * sizeof(*eps));
	if (!eps)
		return -ENOMEM;
	for (struct rec *r = me->head; r; r = r->next)
		if (r->kind == OVG_REC_EP && !r->detached)
			eps[i++] = r;
	for (i = 0; i < cnt && rc == 0; i++)
		rc = detach(st, eps[i]);        /* each replaces (frees) its old record */
	free(eps);
	if (rc == 0)
		rc = ipam_handoff(st);
	if (rc == 0) {
		me = owner_get(st, st->self);
		struct ovg_state_wrec w = { .kind = OVG_REC_NODE, .ms = me->node ? me->node->ms : now_ms, .flags = 1 };
		rc = emit(st, &w);
	}
	if (rc)
		seterr(err, errlen, "cannot store the leave: %s", strerror(-rc));
	after_changes(st, now_ms);
	return rc;
}

int ovg_state_node_rm(struct ovg_state *st, uint64_t now_ms, const char *node, char *err, size_t errlen)
{
	uint32_t known = 0, removed = 0;
	int rc = 0;

	if (st->superseded) {
		seterr(err, errlen, "this node was replaced by a newer instance of %s", st->name);
		return -ESTALE;
	}
	if (!node || strcmp(node, st->name) == 0) {
		seterr(err, errlen, "cannot remove this node itself: use leave");
		return -EINVAL;
	}
	for (uint32_t i = 0; i < st->nowners; i++)
		known += strcmp(owner_get(st, i)->name, node) == 0;
	if (known && !st_caught_up_all(st)) {
		seterr(err, errlen, "still receiving records from peers: retry node rm %s in a moment", node);
		rc = -EAGAIN;
	}
	for (uint32_t i = 0; i < st->nowners && rc == 0; i++) {
		const struct owner *o = owner_get(st, i);
		if (strcmp(o->name, node) != 0 || o->rm_count)
			continue;
		struct ovg_state_wrec w = { .kind = OVG_REC_NODERM, .name = ovg_bytes_make(o->name, strlen(o->name)),
					    .instance = o->inst, .target_version = o->wm, .ms = now_ms };
		rc = emit(st, &w);
		if (rc)
			break;
		removed++;
	}
	if (rc == -EAGAIN) {
		/* err says why */
	} else if (rc) {
		seterr(err, errlen, "cannot store the removal of node %s: %s", node, strerror(-rc));
	} else if (!known) {
		seterr(err, errlen, "node %s is unknown", node);
		rc = -ENOENT;
	} else if (!removed) {
		seterr(err, errlen, "node %s is already removed", node);
		rc = -EALREADY;
	}
	after_changes(st, now_ms);
	return rc;
}
