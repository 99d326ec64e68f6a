/*
 * Fake kernel for the overlay reconciler: sandboxes, devices, veths and the
 * vxlan0 tables in memory, with the kernel's replace/delete semantics and a
 * notification echo for every change, plus counters of every call.
 */
#include <stdio.h>
#include <stdlib.h>

#include "ovg/overlay.h"

static const char *base_name(const char *p)
{
	const char *s = strrchr(p, '/');

	return s ? s + 1 : p;
}

struct ovg_overlay_fake *ovg_overlay_fake_new(void)
{
	struct ovg_overlay_fake *f = calloc(1, sizeof(*f));

	if (!f)
		return NULL;
	f->next_ifindex = 10;
	return f;
}

static void sb_clear(struct ovg_overlay_fake_sb *s)
{
	free(s->ent);
	free(s->ev);
	memset(s, 0, sizeof(*s));
}

void ovg_overlay_fake_free(struct ovg_overlay_fake *f)
{
	if (!f)
		return;
	for (size_t i = 0; i < OVG_OVERLAY_FAKE_SB_MAX; i++)
		sb_clear(&f->sb[i]);
	free(f);
}

struct ovg_overlay_fake_sb *ovg_overlay_fake_find(struct ovg_overlay_fake *f, const char *path)
{
	for (size_t i = 0; i < OVG_OVERLAY_FAKE_SB_MAX; i++)
		if (f->sb[i].exists && strcmp(f->sb[i].path, path) == 0)
			return &f->sb[i];
	return NULL;
}

size_t ovg_overlay_fake_count(const struct ovg_overlay_fake_sb *s, uint8_t kind)
{
	size_t n = 0;

	for (size_t i = 0; i < s->n_ent; i++)
		n += s->ent[i].kind == kind;
	return n;
}

static int ev_push(struct ovg_overlay_fake_sb *s, const struct ovg_overlay_entry *e, bool del)
{
	if (s->n_ev == s->cap_ev) {
		size_t cap = s->cap_ev ? s->cap_ev * 2 : 64;
		struct ovg_overlay_entry *p = realloc(s->ev, cap * sizeof(*p));
		if (!p)
			return -ENOMEM;
		s->ev = p;
		s->cap_ev = cap;
	}
	s->ev[s->n_ev] = *e;
	s->ev[s->n_ev].deleted = del;
	s->n_ev++;
	return 0;
}

static bool same_key(const struct ovg_overlay_entry *a, const struct ovg_overlay_entry *b)
{
	if (a->kind != b->kind)
		return false;
	if (a->kind == OVG_OVERLAY_NEIGH)
		return a->ip.s_addr == b->ip.s_addr;
	return memcmp(a->mac, b->mac, 6) == 0 && a->ip.s_addr == b->ip.s_addr;
}

static void ent_remove(struct ovg_overlay_fake_sb *s, size_t i, bool notify)
{
	if (notify)
		ev_push(s, &s->ent[i], true);
	s->ent[i] = s->ent[--s->n_ent];
}

int ovg_overlay_fake_put(struct ovg_overlay_fake_sb *s, const struct ovg_overlay_entry *e, bool notify)
{
	for (size_t i = 0; i < s->n_ent; i++) {
		if (same_key(&s->ent[i], e)) {
			s->ent[i] = *e;
			s->ent[i].deleted = false;
			return notify ? ev_push(s, e, false) : 0;
		}
	}
	if (s->n_ent == s->cap_ent) {
		size_t cap = s->cap_ent ? s->cap_ent * 2 : 64;
		struct ovg_overlay_entry *p = realloc(s->ent, cap * sizeof(*p));
		if (!p)
			return -ENOMEM;
		s->ent = p;
		s->cap_ent = cap;
	}
	s->ent[s->n_ent] = *e;
	s->ent[s->n_ent].deleted = false;
	s->n_ent++;
	return notify ? ev_push(s, e, false) : 0;
}

int ovg_overlay_fake_del(struct ovg_overlay_fake_sb *s, const struct ovg_overlay_entry *e, bool notify)
{
	for (size_t i = 0; i < s->n_ent; i++) {
		if (same_key(&s->ent[i], e)) {
			ent_remove(s, i, notify);
			return 0;
		}
	}
	return -ENOENT;
}

/* ---- ops ------------------------------------------------------------------------ */

static int f_sandbox_list(void *ctx, const char *dir, ovg_overlay_name_cb cb, void *arg,
			  char *err, size_t errlen)
{
	struct ovg_overlay_fake *f = ctx;
	size_t dl = strlen(dir);

	(void)err;
	(void)errlen;
	for (size_t i = 0; i < OVG_OVERLAY_FAKE_SB_MAX; i++) {
		struct ovg_overlay_fake_sb *s = &f->sb[i];
		if (s->exists && strncmp(s->path, dir, dl) == 0 && s->path[dl] == '/')
			cb(arg, base_name(s->path));
	}
	return 0;
}

static bool f_sandbox_exists(void *ctx, const char *path)
{
	return ovg_overlay_fake_find(ctx, path) != NULL;
}

static int f_sandbox_open(void *ctx, const char *path, bool create, void **sb, bool *created,
			  char *err, size_t errlen)
{
	struct ovg_overlay_fake *f = ctx;
	struct ovg_overlay_fake_sb *s = ovg_overlay_fake_find(f, path);

	f->n_open++;
	*created = false;
	if (!s) {
		if (!create) {
			ovg_overlay_errf(err, errlen, "sandbox %s not found", path);
			return -ENOENT;
		}
		for (size_t i = 0; i < OVG_OVERLAY_FAKE_SB_MAX && !s; i++)
			if (!f->sb[i].exists)
				s = &f->sb[i];
		if (!s) {
			ovg_overlay_errf(err, errlen, "fake: too many sandboxes");
			return -ENOSPC;
		}
		s->exists = true;
		snprintf(s->path, sizeof(s->path), "%s", path);
		*created = true;
		f->n_create++;
	}
	s->open = true;
	*sb = s;
	return 0;
}

static void f_sandbox_close(void *ctx, void *sb)
{
	struct ovg_overlay_fake_sb *s = sb;

	(void)ctx;
	if (s)
		s->open = false;
}

static int f_sandbox_remove(void *ctx, const char *path, char *err, size_t errlen)
{
	struct ovg_overlay_fake *f = ctx;
	struct ovg_overlay_fake_sb *s = ovg_overlay_fake_find(f, path);

	if (!s)
		return 0;
	if (s->open) {
		ovg_overlay_errf(err, errlen, "sandbox %s still open", path);
		return -EBUSY;
	}
	sb_clear(s);
	f->n_remove++;
	return 0;
}

static int f_ensure_devices(void *ctx, void *sb, const struct ovg_overlay_dev_cfg *cfg,
			    uint32_t *changes, int *vxlan_ifindex, char *err, size_t errlen)
{
	struct ovg_overlay_fake *f = ctx;
	struct ovg_overlay_fake_sb *s = sb;

	(void)err;
	(void)errlen;
	f->n_ensure++;
	bool same = s->dev.vni == cfg->vni && s->dev.port == cfg->port && s->dev.mtu == cfg->mtu &&
		    s->dev.gateway.s_addr == cfg->gateway.s_addr && s->dev.prefix == cfg->prefix;

	if (!s->devices_ok || !same) {
		/* a new vxlan0 starts with empty tables */
		if (s->vxlan_ifindex == 0 || s->dev.vni != cfg->vni || s->dev.port != cfg->port) {
			s->vxlan_ifindex = f->next_ifindex++;
			s->n_ent = 0;
			s->n_ev = 0;
		}
		s->devices_ok = true;
		s->dev = *cfg;
		(*changes)++;
	}
	*vxlan_ifindex = s->vxlan_ifindex;
	return 0;
}

static int f_veth_list(void *ctx, void *sb, ovg_overlay_veth_cb cb, void *arg, char *err,
		       size_t errlen)
{
	struct ovg_overlay_fake_sb *s = sb;

	(void)ctx;
	(void)err;
	(void)errlen;
	for (size_t i = 0; i < s->n_veth; i++)
		cb(arg, &s->veth[i].info);
	return 0;
}

static struct ovg_overlay_fake_veth *veth_find(struct ovg_overlay_fake_sb *s, const char *name)
{
	for (size_t i = 0; i < s->n_veth; i++)
		if (strcmp(s->veth[i].info.name, name) == 0)
			return &s->veth[i];
	return NULL;
}

static int f_veth_add(void *ctx, void *sb, const struct ovg_overlay_veth_cfg *cfg,
		      char ifname[IFNAMSIZ], char *err, size_t errlen)
{
	struct ovg_overlay_fake *f = ctx;
	struct ovg_overlay_fake_sb *s = sb;
	struct ovg_overlay_fake_veth *v;
	unsigned n = 0;

	f->n_veth_add++;
	if (strcmp(cfg->netns, f->missing_netns) == 0) {
		ovg_overlay_errf(err, errlen, "namespace %s not found", cfg->netns);
		return -ENOENT;
	}
	if (veth_find(s, cfg->host)) {
		ovg_overlay_errf(err, errlen, "%s exists", cfg->host);
		return -EEXIST;
	}
	if (s->n_veth == OVG_OVERLAY_FAKE_VETH_MAX) {
		ovg_overlay_errf(err, errlen, "fake: too many veths");
		return -ENOSPC;
	}
	for (size_t i = 0; i < s->n_veth; i++)
		n += strcmp(s->veth[i].netns, cfg->netns) == 0;
	v = &s->veth[s->n_veth++];
	memset(v, 0, sizeof(*v));
	snprintf(v->info.name, sizeof(v->info.name), "%s", cfg->host);
	v->info.up = true;
	v->info.on_bridge = true;
	v->info.mtu = cfg->mtu;
	snprintf(v->netns, sizeof(v->netns), "%s", cfg->netns);
	snprintf(v->ifname, sizeof(v->ifname), "eth%u", n);
	memcpy(ifname, v->ifname, IFNAMSIZ);
	return 0;
}

static int f_veth_check(void *ctx, void *sb, const struct ovg_overlay_veth_cfg *cfg,
			char ifname[IFNAMSIZ], uint32_t *changes, char *err, size_t errlen)
{
	struct ovg_overlay_fake *f = ctx;
	struct ovg_overlay_fake_veth *v = veth_find(sb, cfg->host);

	f->n_veth_check++;
	if (!v) {
		ovg_overlay_errf(err, errlen, "%s not found", cfg->host);
		return -ENOENT;
	}
	if (strcmp(cfg->netns, f->missing_netns) == 0) {
		ovg_overlay_errf(err, errlen, "namespace %s not found", cfg->netns);
		return -ENOENT;
	}
	if (strcmp(v->netns, cfg->netns) != 0) {
		ovg_overlay_errf(err, errlen, "%s: peer is not in %s", cfg->host, cfg->netns);
		return -ESTALE;
	}
	if (v->broken || !v->info.up || !v->info.on_bridge || v->info.mtu != cfg->mtu) {
		v->broken = false;
		v->info.up = v->info.on_bridge = true;
		v->info.mtu = cfg->mtu;
		(*changes)++;
	}
	memcpy(ifname, v->ifname, IFNAMSIZ);
	return 0;
}

static int f_veth_del(void *ctx, void *sb, const char *host, char *err, size_t errlen)
{
	struct ovg_overlay_fake *f = ctx;
	struct ovg_overlay_fake_sb *s = sb;
	struct ovg_overlay_fake_veth *v = veth_find(s, host);

	(void)err;
	(void)errlen;
	f->n_veth_del++;
	if (v)
		*v = s->veth[--s->n_veth];
	return 0;
}

static int f_dump(void *ctx, void *sb, ovg_overlay_entry_cb cb, void *arg, char *err,
		  size_t errlen)
{
	struct ovg_overlay_fake *f = ctx;
	struct ovg_overlay_fake_sb *s = sb;

	(void)err;
	(void)errlen;
	f->n_dump++;
	for (size_t i = 0; i < s->n_ent; i++)
		cb(arg, &s->ent[i]);
	return 0;
}

static int f_events(void *ctx, void *sb, ovg_overlay_entry_cb cb, void *arg, char *err,
		    size_t errlen)
{
	struct ovg_overlay_fake *f = ctx;
	struct ovg_overlay_fake_sb *s = sb;

	f->n_events++;
	if (s->ev_lost) {
		s->ev_lost = false;
		s->n_ev = 0;
		ovg_overlay_errf(err, errlen, "%s: notifications lost", s->path);
		return -ENOBUFS;
	}
	for (size_t i = 0; i < s->n_ev; i++)
		cb(arg, &s->ev[i]);
	s->n_ev = 0;
	return 0;
}

static int f_watch_fd(void *ctx, void *sb)
{
	(void)ctx;
	(void)sb;
	return -1;
}

/* The kernel's semantics: neighbour replace by IP; FDB replace changes the
 * MAC's first destination in place unless the given one is already there;
 * FDB delete with dst 0.0.0.0 removes the whole MAC. */
static int f_apply(void *ctx, void *sb, const struct ovg_overlay_change *c, size_t n, int *res,
		   char *err, size_t errlen)
{
	struct ovg_overlay_fake *f = ctx;
	struct ovg_overlay_fake_sb *s = sb;
	int first = 0;

	f->n_apply++;
	for (size_t i = 0; i < n; i++) {
		struct ovg_overlay_entry e = c[i].e;
		int r = 0;

		e.deleted = false;
		if (c[i].op == OVG_OVERLAY_REPLACE) {
			e.permanent = true;
			f->n_replaced++;
			if (e.kind == OVG_OVERLAY_FDB) {
				bool have = false;
				for (size_t k = 0; k < s->n_ent && !have; k++)
					have = same_key(&s->ent[k], &e);
				for (size_t k = 0; k < s->n_ent && !have; k++) {
					if (s->ent[k].kind == OVG_OVERLAY_FDB &&
					    memcmp(s->ent[k].mac, e.mac, 6) == 0) {
						ev_push(s, &s->ent[k], true);
						s->ent[k].ip = e.ip;
						s->ent[k].permanent = true;
						ev_push(s, &s->ent[k], false);
						have = true;
						e.kind = 0;  /* done */
					}
				}
				if (e.kind)
					r = ovg_overlay_fake_put(s, &e, true);
			} else {
				r = ovg_overlay_fake_put(s, &e, true);
			}
		} else {
			f->n_deleted++;
			if (e.kind == OVG_OVERLAY_FDB && e.ip.s_addr == 0) {
				for (size_t k = 0; k < s->n_ent;) {
					if (s->ent[k].kind == OVG_OVERLAY_FDB &&
					    memcmp(s->ent[k].mac, e.mac, 6) == 0)
						ent_remove(s, k, true);
					else
						k++;
				}
			} else {
				(void)ovg_overlay_fake_del(s, &e, true);   /* absent is fine */
			}
		}
		res[i] = r;
		if (r < 0 && first == 0) {
			first = r;
			ovg_overlay_errf(err, errlen, "fake apply: %s", strerror(-r));
		}
	}
	return first;
}

const struct ovg_overlay_ops ovg_overlay_fake_ops = {
	.sandbox_list = f_sandbox_list,
	.sandbox_exists = f_sandbox_exists,
	.sandbox_open = f_sandbox_open,
	.sandbox_close = f_sandbox_close,
	.sandbox_remove = f_sandbox_remove,
	.ensure_devices = f_ensure_devices,
	.veth_list = f_veth_list,
	.veth_add = f_veth_add,
	.veth_check = f_veth_check,
	.veth_del = f_veth_del,
	.dump = f_dump,
	.events = f_events,
	.watch_fd = f_watch_fd,
	.apply = f_apply,
};
