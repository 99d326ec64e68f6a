/*
 * The reconciler: desired state of all networks -> the fewest kernel changes,
 * through struct ovg_overlay_ops.
 *
 * Per open sandbox it keeps an exact view of vxlan0's neighbour and FDB
 * tables: filled by a dump, then kept exact by the results of our own writes
 * and by the notifications the ops deliver (which also carry changes made by
 * others). So a reconcile that finds nothing to do makes no dump and no write,
 * and a single added endpoint costs two writes. The view is dropped (and the
 * next reconcile dumps) when notifications were lost, a write failed, vxlan0
 * was recreated, or the caller asks for a FULL reconcile.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/epoll.h>
#include <unistd.h>
#include <arpa/inet.h>

#include "ovg/overlay.h"

/* ---- small helpers ------------------------------------------------------- */

void ovg_overlay_errf(char *err, size_t errlen, const char *fmt, ...)
{
	va_list ap;

	if (!err || errlen == 0)
		return;
	va_start(ap, fmt);
	vsnprintf(err, errlen, fmt, ap);
	va_end(ap);
}

void ovg_overlay_mac_from_ip(struct in_addr ip, uint8_t mac[6])
{
	const uint8_t *b = (const uint8_t *)&ip.s_addr;

	mac[0] = 0x02;
	mac[1] = 0x42;
	memcpy(mac + 2, b, 4);
}

uint32_t ovg_overlay_stats_changes(const struct ovg_overlay_stats *st)
{
	return st->sandboxes_created + st->sandboxes_removed + st->devices_changed +
	       st->veths_added + st->veths_fixed + st->veths_deleted + st->neigh_replaced +
	       st->neigh_deleted + st->fdb_replaced + st->fdb_deleted;
}

static uint64_t mac48(const uint8_t mac[6])
{
	uint64_t v = 0;

	for (int i = 0; i < 6; i++)
		v = v << 8 | mac[i];
	return v;
}

static void mac_of(uint64_t v, uint8_t mac[6])
{
	for (int i = 5; i >= 0; i--) {
		mac[i] = (uint8_t)v;
		v >>= 8;
	}
}

static const char *ip_str(struct in_addr a, char buf[INET_ADDRSTRLEN])
{
	return inet_ntop(AF_INET, &a, buf, INET_ADDRSTRLEN);
}

/* ---- an open-addressing hash map: key (a, b) -> (v, flag) ------------------ */

struct omap_slot {
	uint64_t a;
	uint64_t v;
	uint32_t b;
	uint8_t used;
	uint8_t flag;
};

struct omap {
	struct omap_slot *s;
	size_t cap;     /* power of two, or 0 */
	size_t n;
};

static size_t omap_hash(uint64_t a, uint32_t b)
{
	uint64_t h = a * 0x9e3779b97f4a7c15ull ^ (uint64_t)b * 0xc2b2ae3d27d4eb4full;

	h ^= h >> 29;
	h *= 0xbf58476d1ce4e5b9ull;
	h ^= h >> 32;
	return (size_t)h;
}

static void omap_free(struct omap *m)
{
	free(m->s);
	m->s = NULL;
	m->cap = m->n = 0;
}

static void omap_clear(struct omap *m)
{
	if (m->s)
		memset(m->s, 0, m->cap * sizeof(*m->s));
	m->n = 0;
}

static struct omap_slot *omap_find(const struct omap *m, uint64_t a, uint32_t b)
{
	if (m->n == 0)
		return NULL;
	for (size_t i = omap_hash(a, b) & (m->cap - 1);; i = (i + 1) & (m->cap - 1)) {
		struct omap_slot *s = &m->s[i];

		if (!s->used)
			return NULL;
		if (s->a == a && s->b == b)
			return s;
	}
}

static int omap_grow(struct omap *m, size_t want)
{
	size_t cap = 64;
	struct omap_slot *old = m->s;
	size_t old_cap = m->cap;

	while (cap < want * 2)
		cap <<= 1;
	if (cap <= m->cap)
		return 0;
	m->s = calloc(cap, sizeof(*m->s));
	if (!m->s) {
		m->s = old;
		return -ENOMEM;
	}
	m->cap = cap;
	for (size_t i = 0; i < old_cap; i++) {
		if (!old[i].used)
			continue;
		size_t j = omap_hash(old[i].a, old[i].b) & (cap - 1);
		while (m->s[j].used)
			j = (j + 1) & (cap - 1);
		m->s[j] = old[i];
	}
	free(old);
	return 0;
}

/* Insert or overwrite. 0, -ENOMEM. */
static int omap_put(struct omap *m, uint64_t a, uint32_t b, uint64_t v, uint8_t flag)
{
	struct omap_slot *s = omap_find(m, a, b);

	if (s) {
		s->v = v;
		s->flag = flag;
		return 0;
	}
	if ((m->n + 1) * 10 > m->cap * 7) {
		int r = omap_grow(m, m->n + 1);
		if (r < 0)
			return r;
	}
	size_t i = omap_hash(a, b) & (m->cap - 1);
	while (m->s[i].used)
		i = (i + 1) & (m->cap - 1);
	m->s[i] = (struct omap_slot){ .a = a, .b = b, .v = v, .used = 1, .flag = flag };
	m->n++;
	return 0;
}

/* Remove with backward shift, so lookups never need tombstones. */
static void omap_del(struct omap *m, uint64_t a, uint32_t b)
{
	struct omap_slot *s = omap_find(m, a, b);

	if (!s)
		return;
	size_t mask = m->cap - 1;
	size_t i = (size_t)(s - m->s);
	for (size_t j = (i + 1) & mask; m->s[j].used; j = (j + 1) & mask) {
		size_t home = omap_hash(m->s[j].a, m->s[j].b) & mask;
		/* move j back into the hole at i unless its home lies in (i, j] */
		bool in_range = i <= j ? (home > i && home <= j) : (home > i || home <= j);
		if (!in_range) {
			m->s[i] = m->s[j];
			i = j;
		}
	}
	m->s[i].used = 0;
	m->n--;
}

/* ---- state ------------------------------------------------------------------ */

struct sbx {
	uint8_t id[OVG_OVERLAY_ID_LEN];
	char path[OVG_OVERLAY_PATH_MAX];
	void *sb;               /* ops handle */
	int watch_fd;           /* registered in ov->epfd, or -1 */
	int vxlan_ifindex;
	bool known;             /* neigh/fdb are exactly the kernel's tables */
	bool has_want;          /* want_* hold the last desired state */
	uint32_t mark;          /* reconcile generation that last saw it */
	struct omap neigh;      /* (ip, 0) -> mac48, permanent */
	struct omap fdb;        /* (mac48, dst) -> -, permanent */
	struct omap want_neigh; /* (ip, 0) -> mac48 */
	struct omap want_fdb;   /* (mac48, 0) -> vtep */
};

struct ovg_overlay {
	char netns_dir[OVG_OVERLAY_PATH_MAX];
	uint16_t port;
	uint32_t mtu;                       /* of vxlan0 and veths */
	const struct ovg_overlay_ops *ops;
	void *ctx;
	bool own_ctx;
	struct sbx *sbx[OVG_OVERLAY_NETS_MAX];
	size_t n_sbx;
	int epfd;
	bool swept;                         /* orphan sandboxes looked for once */
	uint32_t gen;
	struct ovg_overlay_change *chg;     /* diff scratch */
	size_t n_chg, cap_chg;
	int res[OVG_OVERLAY_BATCH_MAX];
};

/* Error bookkeeping for one reconcile. */
struct run {
	struct ovg_overlay *ov;
	struct ovg_overlay_stats *st;
	unsigned flags;
	int first;
	char *err;
	size_t errlen;
	char msg[OVG_OVERLAY_ERR_MAX];
};

static void msgf(struct run *r, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void msgf(struct run *r, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(r->msg, sizeof(r->msg), fmt, ap);
	va_end(ap);
}

/* Keep the first error's code and message. */
static void run_note(struct run *r, int code)
{
	if (r->first == 0) {
		r->first = code;
		ovg_overlay_errf(r->err, r->errlen, "%s", r->msg);
	}
}

static void run_fail(struct run *r, int code)
{
	r->st->errors++;
	run_note(r, code);
}

struct ovg_overlay *ovg_overlay_new(const struct ovg_overlay_cfg *cfg, char *err, size_t errlen)
{
	struct ovg_overlay *ov;
	int e;

	if (!cfg || !cfg->run_dir || !cfg->run_dir[0]) {
		ovg_overlay_errf(err, errlen, "overlay: no run directory");
		errno = EINVAL;
		return NULL;
	}
	ov = calloc(1, sizeof(*ov));
	if (!ov) {
		ovg_overlay_errf(err, errlen, "overlay: out of memory");
		errno = ENOMEM;
		return NULL;
	}
	ov->epfd = -1;
	/* room for "/" + 12 hex + NUL after netns_dir */
	if ((size_t)snprintf(ov->netns_dir, sizeof(ov->netns_dir), "%s/netns", cfg->run_dir) >=
	    sizeof(ov->netns_dir) - 1 - OVG_OVERLAY_SB_NAME_LEN - 1) {
		ovg_overlay_errf(err, errlen, "overlay: run directory %s too long", cfg->run_dir);
		e = ENAMETOOLONG;
		goto fail;
	}
	ov->port = cfg->vxlan_port ? cfg->vxlan_port : OVG_OVERLAY_VXLAN_PORT;
	uint32_t underlay = cfg->underlay_mtu ? cfg->underlay_mtu : OVG_OVERLAY_UNDERLAY_MTU;
	if (underlay < 68 + OVG_OVERLAY_VXLAN_OVERHEAD || underlay > 65535) {
		ovg_overlay_errf(err, errlen, "overlay: underlay MTU %u out of range", underlay);
		e = EINVAL;
		goto fail;
	}
	ov->mtu = underlay - OVG_OVERLAY_VXLAN_OVERHEAD;
	ov->epfd = epoll_create1(EPOLL_CLOEXEC);
	if (ov->epfd < 0) {
		e = errno;
		ovg_overlay_errf(err, errlen, "overlay: epoll: %s", strerror(e));
		goto fail;
	}
	if (cfg->ops) {
		ov->ops = cfg->ops;
		ov->ctx = cfg->ops_ctx;
	} else {
		ov->ops = &ovg_overlay_nl_ops;
		ov->ctx = ovg_overlay_nl_new(err, errlen);
		if (!ov->ctx) {
			e = errno;
			goto fail;
		}
		ov->own_ctx = true;
	}
	return ov;
fail:
	if (ov->epfd >= 0)
		close(ov->epfd);
	free(ov);
	errno = e;
	return NULL;
}

static void sbx_close(struct ovg_overlay *ov, struct sbx *s)
{
	if (s->watch_fd >= 0) {
		epoll_ctl(ov->epfd, EPOLL_CTL_DEL, s->watch_fd, NULL);
		s->watch_fd = -1;
	}
	if (s->sb) {
		ov->ops->sandbox_close(ov->ctx, s->sb);
		s->sb = NULL;
	}
}

static void sbx_free(struct ovg_overlay *ov, struct sbx *s)
{
	if (!s)
		return;
	sbx_close(ov, s);
	omap_free(&s->neigh);
	omap_free(&s->fdb);
	omap_free(&s->want_neigh);
	omap_free(&s->want_fdb);
	free(s);
}

void ovg_overlay_free(struct ovg_overlay *ov)
{
	if (!ov)
		return;
	for (size_t i = 0; i < ov->n_sbx; i++)
		sbx_free(ov, ov->sbx[i]);
	if (ov->own_ctx)
		ovg_overlay_nl_free(ov->ctx);
	if (ov->epfd >= 0)
		close(ov->epfd);
	free(ov->chg);
	free(ov);
}

static void sb_name(const uint8_t id[OVG_OVERLAY_ID_LEN], char out[OVG_OVERLAY_SB_NAME_LEN + 1])
{
	static const char hex[] = "0123456789abcdef";

	for (int i = 0; i < OVG_OVERLAY_SB_NAME_LEN / 2; i++) {
		out[2 * i] = hex[id[i] >> 4];
		out[2 * i + 1] = hex[id[i] & 15];
	}
	out[OVG_OVERLAY_SB_NAME_LEN] = 0;
}

int ovg_overlay_sandbox_path(const struct ovg_overlay *ov, const uint8_t id[OVG_OVERLAY_ID_LEN],
			     char *buf, size_t cap)
{
	char name[OVG_OVERLAY_SB_NAME_LEN + 1];

	sb_name(id, name);
	if ((size_t)snprintf(buf, cap, "%s/%s", ov->netns_dir, name) >= cap)
		return -ENAMETOOLONG;
	return 0;
}

int ovg_overlay_watch_fd(const struct ovg_overlay *ov)
{
	return ov->epfd;
}

static struct sbx *sbx_find(struct ovg_overlay *ov, const uint8_t id[OVG_OVERLAY_ID_LEN])
{
	/* sandboxes are named by 6 bytes of the id: that is what must be unique */
	for (size_t i = 0; i < ov->n_sbx; i++)
		if (memcmp(ov->sbx[i]->id, id, OVG_OVERLAY_SB_NAME_LEN / 2) == 0)
			return ov->sbx[i];
	return NULL;
}

static void sbx_drop(struct ovg_overlay *ov, struct sbx *s)
{
	for (size_t i = 0; i < ov->n_sbx; i++) {
		if (ov->sbx[i] == s) {
			ov->sbx[i] = ov->sbx[--ov->n_sbx];
			break;
		}
	}
	sbx_free(ov, s);
}

/* ---- events ------------------------------------------------------------------ */

struct ev_ctx {
	struct sbx *s;
	bool diverged;          /* the tables now differ from the last desired state */
	bool link;              /* some link changed */
};

static bool want_neigh_ok(const struct sbx *s, struct in_addr ip, bool present,
			  const uint8_t mac[6], bool perm)
{
	const struct omap_slot *w = omap_find(&s->want_neigh, ip.s_addr, 0);

	if (!present)
		return w == NULL;
	return w && w->v == mac48(mac) && perm;
}

static bool want_fdb_ok(const struct sbx *s, const uint8_t mac[6], struct in_addr dst,
			bool present, bool perm)
{
	const struct omap_slot *w = omap_find(&s->want_fdb, mac48(mac), 0);

	if (!present)
		return !(w && w->v == dst.s_addr);
	return w && w->v == dst.s_addr && perm;
}

static void on_event(void *arg, const struct ovg_overlay_entry *e)
{
	struct ev_ctx *c = arg;
	struct sbx *s = c->s;
	int r = 0;

	switch (e->kind) {
	case OVG_OVERLAY_NEIGH:
		if (e->deleted)
			omap_del(&s->neigh, e->ip.s_addr, 0);
		else
			r = omap_put(&s->neigh, e->ip.s_addr, 0, mac48(e->mac), e->permanent);
		if (s->has_want && !want_neigh_ok(s, e->ip, !e->deleted, e->mac, e->permanent))
			c->diverged = true;
		break;
	case OVG_OVERLAY_FDB:
		if (e->deleted)
			omap_del(&s->fdb, mac48(e->mac), e->ip.s_addr);
		else
			r = omap_put(&s->fdb, mac48(e->mac), e->ip.s_addr, 0, e->permanent);
		if (s->has_want && !want_fdb_ok(s, e->mac, e->ip, !e->deleted, e->permanent))
			c->diverged = true;
		break;
	case OVG_OVERLAY_LINK:
		c->link = true;
		break;
	default:
		break;
	}
	if (r < 0)
		s->known = false;
}

/* Drain notifications into the view. Lost ones make the view unknown. */
static void drain(struct ovg_overlay *ov, struct sbx *s, struct ev_ctx *c)
{
	char e[OVG_OVERLAY_ERR_MAX];
	int r;

	c->s = s;
	r = ov->ops->events(ov->ctx, s->sb, on_event, c, e, sizeof(e));
	if (r < 0) {
		s->known = false;
		c->diverged = true;
	}
}

int ovg_overlay_watch_read(struct ovg_overlay *ov, uint8_t (*ids)[OVG_OVERLAY_ID_LEN],
			   size_t cap, size_t *n)
{
	struct epoll_event evs[64];
	size_t count = 0;
	int k;

	*n = 0;
	/* mark readable sandboxes, then drain every open one (fds of the fake
	 * are -1, and a drained one is simply empty) */
	do {
		k = epoll_wait(ov->epfd, evs, (int)OVG_ARRAY_SIZE(evs), 0);
	} while (k < 0 && errno == EINTR);
	if (k < 0)
		return -errno;
	for (size_t i = 0; i < ov->n_sbx; i++) {
		struct sbx *s = ov->sbx[i];
		struct ev_ctx c = { 0 };

		if (!s->sb)
			continue;
		drain(ov, s, &c);
		if (c.diverged || c.link || !s->known) {
			if (count < cap && ids)
				memcpy(ids[count], s->id, OVG_OVERLAY_ID_LEN);
			count++;
		}
	}
	*n = count;
	return 0;
}

/* ---- validation ---------------------------------------------------------------- */

static bool mac_unicast(const uint8_t mac[6])
{
	static const uint8_t zero[6];

	return !(mac[0] & 1) && memcmp(mac, zero, 6) != 0;
}

static bool in_subnet(struct in_addr ip, struct in_addr net, uint8_t prefix)
{
	uint32_t mask = prefix ? htonl(~0u << (32 - prefix)) : 0;

	return (ip.s_addr & mask) == (net.s_addr & mask);
}

static int check_net(struct run *r, const struct ovg_overlay_net *net, const char *name)
{
	char a[INET_ADDRSTRLEN];

	if (net->vni == 0 || net->vni > 0xffffff) {
		msgf(r, "network %s: VNI %u out of range", name, net->vni);
		return -EINVAL;
	}
	if (net->prefix < 1 || net->prefix > 31) {
		msgf(r, "network %s: prefix /%u out of range", name,
			 net->prefix);
		return -EINVAL;
	}
	if (!in_subnet(net->gateway, net->subnet, net->prefix)) {
		msgf(r, "network %s: gateway %s outside the subnet", name,
			 ip_str(net->gateway, a));
		return -EINVAL;
	}
	if (net->n_locals > OVG_OVERLAY_LOCALS_MAX || net->n_remotes > OVG_OVERLAY_REMOTES_MAX) {
		msgf(r, "network %s: too many endpoints", name);
		return -E2BIG;
	}
	if ((net->n_locals && !net->locals) || (net->n_remotes && !net->remotes)) {
		msgf(r, "network %s: endpoint array missing", name);
		return -EINVAL;
	}
	return 0;
}

/* ---- veths --------------------------------------------------------------------- */

struct veth_seen {
	struct ovg_overlay_veth_info info;
	bool used;
};

struct veth_list {
	struct veth_seen *v;
	size_t n, cap;
	bool overflow;
};

static void on_veth(void *arg, const struct ovg_overlay_veth_info *v)
{
	struct veth_list *l = arg;

	if (l->n == l->cap) {
		l->overflow = true;
		return;
	}
	l->v[l->n].info = *v;
	l->v[l->n].info.name[IFNAMSIZ - 1] = 0;
	l->v[l->n].used = false;
	l->n++;
}

static void local_cfg(const struct ovg_overlay *ov, const struct ovg_overlay_net *net,
		      const struct ovg_overlay_local *l, struct ovg_overlay_veth_cfg *c)
{
	memset(c, 0, sizeof(*c));
	snprintf(c->host, sizeof(c->host), "vh%08x", ntohl(l->ip.s_addr));
	c->netns = l->netns;
	c->ip = l->ip;
	c->prefix = net->prefix;
	memcpy(c->mac, l->mac, 6);
	c->mtu = ov->mtu;
}

static void reconcile_veths(struct run *r, struct sbx *s, struct ovg_overlay_net *net)
{
	struct ovg_overlay *ov = r->ov;
	const struct ovg_overlay_ops *ops = ov->ops;
	struct veth_list vl = { 0 };
	char a[INET_ADDRSTRLEN];
	int e;

	vl.cap = net->n_locals + 64;
	vl.v = calloc(vl.cap, sizeof(*vl.v));
	if (!vl.v) {
		msgf(r, "%s: out of memory", s->path);
		run_fail(r, -ENOMEM);
		return;
	}
	e = ops->veth_list(ov->ctx, s->sb, on_veth, &vl, r->msg, sizeof(r->msg));
	if (e < 0) {
		run_fail(r, e);
		goto out;
	}

	for (size_t i = 0; i < net->n_locals; i++) {
		struct ovg_overlay_local *l = &net->locals[i];
		struct ovg_overlay_veth_cfg c;
		struct veth_seen *have = NULL;
		char ifname[IFNAMSIZ] = "";
		bool dup = false;

		l->name[sizeof(l->name) - 1] = 0;
		if (l->ip.s_addr == 0 || !in_subnet(l->ip, net->subnet, net->prefix) ||
		    l->ip.s_addr == net->gateway.s_addr || !mac_unicast(l->mac) ||
		    !memchr(l->netns, 0, sizeof(l->netns)) || !l->netns[0]) {
			msgf(r, "endpoint %s: invalid address, MAC or namespace",
				 l->name);
			run_fail(r, -EINVAL);
			continue;
		}
		for (size_t j = 0; j < i; j++)
			dup |= net->locals[j].ip.s_addr == l->ip.s_addr;
		if (dup) {
			msgf(r, "endpoint %s: address %s used twice", l->name,
				 ip_str(l->ip, a));
			run_fail(r, -EEXIST);
			continue;
		}
		local_cfg(ov, net, l, &c);
		for (size_t j = 0; j < vl.n; j++) {
			if (strcmp(vl.v[j].info.name, c.host) == 0) {
				have = &vl.v[j];
				break;
			}
		}
		if (have) {
			bool ok = have->info.up && have->info.on_bridge && have->info.mtu == ov->mtu;
			uint32_t changes = 0;

			have->used = true;
			if (ok && !(r->flags & OVG_OVERLAY_FULL) && l->ifname[0])
				continue;
			e = ops->veth_check(ov->ctx, s->sb, &c, ifname, &changes, r->msg,
					    sizeof(r->msg));
			if (e == 0) {
				if (changes)
					r->st->veths_fixed++;
				memcpy(l->ifname, ifname, IFNAMSIZ);
				l->ifname[IFNAMSIZ - 1] = 0;
				continue;
			}
			if (e != -ESTALE) {
				run_fail(r, e);
				continue;
			}
			/* the peer is elsewhere: this endpoint needs a new pair */
			e = ops->veth_del(ov->ctx, s->sb, c.host, r->msg, sizeof(r->msg));
			if (e < 0) {
				run_fail(r, e);
				continue;
			}
			r->st->veths_deleted++;
		}
		e = ops->veth_add(ov->ctx, s->sb, &c, ifname, r->msg, sizeof(r->msg));
		if (e < 0) {
			run_fail(r, e);
			continue;
		}
		r->st->veths_added++;
		memcpy(l->ifname, ifname, IFNAMSIZ);
		l->ifname[IFNAMSIZ - 1] = 0;
	}

	if (vl.overflow)
		goto out;  /* not every veth was seen: delete nothing this time */
	for (size_t j = 0; j < vl.n; j++) {
		if (vl.v[j].used)
			continue;
		e = ops->veth_del(ov->ctx, s->sb, vl.v[j].info.name, r->msg, sizeof(r->msg));
		if (e < 0)
			run_fail(r, e);
		else
			r->st->veths_deleted++;
	}
out:
	free(vl.v);
}

/* ---- neighbours and FDB --------------------------------------------------------- */

static int want_build(struct run *r, struct sbx *s, const struct ovg_overlay_net *net)
{
	char a[INET_ADDRSTRLEN];
	int e;

	struct omap locals = { 0 };

	omap_clear(&s->want_neigh);
	omap_clear(&s->want_fdb);
	s->has_want = false;
	if ((e = omap_grow(&s->want_neigh, net->n_remotes)) < 0 ||
	    (e = omap_grow(&s->want_fdb, net->n_remotes)) < 0)
		goto nomem;
	for (size_t i = 0; i < net->n_locals; i++)
		if ((e = omap_put(&locals, net->locals[i].ip.s_addr, 0, 0, 0)) < 0)
			goto nomem;
	for (size_t i = 0; i < net->n_remotes; i++) {
		const struct ovg_overlay_remote *m = &net->remotes[i];
		const char *why = NULL;
		uint64_t mac = mac48(m->mac);
		const struct omap_slot *w;

		if (m->ip.s_addr == 0 || m->vtep.s_addr == 0 || !mac_unicast(m->mac))
			why = "invalid address, MAC or VTEP";
		else if (m->ip.s_addr == net->gateway.s_addr)
			why = "is the gateway address";
		else if ((w = omap_find(&s->want_neigh, m->ip.s_addr, 0)) != NULL)
			why = w->v == mac ? NULL : "address given twice";
		else if (omap_find(&s->want_fdb, mac, 0))
			why = "MAC given twice";
		else if (omap_find(&locals, m->ip.s_addr, 0))
			why = "collides with a local endpoint";
		if (why) {
			msgf(r, "remote endpoint %s: %s", ip_str(m->ip, a),
				 why);
			run_fail(r, -EINVAL);
			continue;
		}
		if (omap_find(&s->want_neigh, m->ip.s_addr, 0))
			continue;   /* an exact duplicate */
		if ((e = omap_put(&s->want_neigh, m->ip.s_addr, 0, mac, 0)) < 0 ||
		    (e = omap_put(&s->want_fdb, mac, 0, m->vtep.s_addr, 0)) < 0)
			goto nomem;
	}
	s->has_want = true;
	omap_free(&locals);
	return 0;
nomem:
	omap_free(&locals);
	msgf(r, "%s: out of memory", s->path);
	return e;
}

static void on_dump(void *arg, const struct ovg_overlay_entry *e)
{
	struct ev_ctx *c = arg;
	int r = 0;

	if (e->kind == OVG_OVERLAY_NEIGH)
		r = omap_put(&c->s->neigh, e->ip.s_addr, 0, mac48(e->mac), e->permanent);
	else if (e->kind == OVG_OVERLAY_FDB)
		r = omap_put(&c->s->fdb, mac48(e->mac), e->ip.s_addr, 0, e->permanent);
	if (r < 0)
		c->diverged = true;   /* marks the dump as failed */
}

static int chg_push(struct ovg_overlay *ov, uint8_t op, uint8_t kind, uint64_t mac,
		    uint32_t ip, bool perm)
{
	if (ov->n_chg == ov->cap_chg) {
		size_t cap = ov->cap_chg ? ov->cap_chg * 2 : 1024;
		struct ovg_overlay_change *p = realloc(ov->chg, cap * sizeof(*p));
		if (!p)
			return -ENOMEM;
		ov->chg = p;
		ov->cap_chg = cap;
	}
	struct ovg_overlay_change *c = &ov->chg[ov->n_chg++];
	memset(c, 0, sizeof(*c));
	c->op = op;
	c->e.kind = kind;
	c->e.permanent = perm;
	mac_of(mac, c->e.mac);
	c->e.ip.s_addr = ip;
	return 0;
}

/* Changes that turn the view into the desired state: deletes first (FDB,
 * then neighbours, as Docker removes them), then replaces (FDB first, so the
 * destination is known by the time ARP is answered). */
static int diff(struct ovg_overlay *ov, struct sbx *s)
{
	int e = 0;

	ov->n_chg = 0;
	for (size_t i = 0; i < s->fdb.cap && e == 0; i++) {
		const struct omap_slot *c = &s->fdb.s[i];
		const struct omap_slot *w;

		if (!c->used)
			continue;
		w = omap_find(&s->want_fdb, c->a, 0);
		if (!w || w->v != c->b)
			e = chg_push(ov, OVG_OVERLAY_DELETE, OVG_OVERLAY_FDB, c->a, c->b, c->flag);
	}
	for (size_t i = 0; i < s->neigh.cap && e == 0; i++) {
		const struct omap_slot *c = &s->neigh.s[i];

		if (c->used && !omap_find(&s->want_neigh, c->a, 0))
			e = chg_push(ov, OVG_OVERLAY_DELETE, OVG_OVERLAY_NEIGH, c->v, (uint32_t)c->a,
				     c->flag);
	}
	size_t n_del = ov->n_chg;
	for (size_t i = 0; i < s->want_fdb.cap && e == 0; i++) {
		const struct omap_slot *w = &s->want_fdb.s[i];
		const struct omap_slot *c;
		bool stale = false;

		if (!w->used)
			continue;
		c = omap_find(&s->fdb, w->a, (uint32_t)w->v);
		/* a deleted stale destination (0.0.0.0 deletes the whole MAC)
		 * means the MAC must be written again */
		for (size_t k = 0; k < n_del && !stale; k++)
			stale = ov->chg[k].e.kind == OVG_OVERLAY_FDB && mac48(ov->chg[k].e.mac) == w->a;
		if (!c || !c->flag || stale)
			e = chg_push(ov, OVG_OVERLAY_REPLACE, OVG_OVERLAY_FDB, w->a, (uint32_t)w->v,
				     true);
	}
	for (size_t i = 0; i < s->want_neigh.cap && e == 0; i++) {
		const struct omap_slot *w = &s->want_neigh.s[i];
		const struct omap_slot *c;

		if (!w->used)
			continue;
		c = omap_find(&s->neigh, w->a, 0);
		if (!c || !c->flag || c->v != w->v)
			e = chg_push(ov, OVG_OVERLAY_REPLACE, OVG_OVERLAY_NEIGH, w->v, (uint32_t)w->a,
				     true);
	}
	return e;
}

static void fdb_del_mac(struct omap *m, uint64_t mac)
{
	for (;;) {
		size_t k;

		for (k = 0; k < m->cap; k++)
			if (m->s[k].used && m->s[k].a == mac)
				break;
		if (k >= m->cap)
			return;
		omap_del(m, m->s[k].a, m->s[k].b);
	}
}

/* Apply ov->chg in batches; keep the view exact with each result. */
static int apply(struct run *r, struct sbx *s)
{
	struct ovg_overlay *ov = r->ov;
	int first = 0;

	for (size_t off = 0; off < ov->n_chg; off += OVG_OVERLAY_BATCH_MAX) {
		size_t n = OVG_MIN(ov->n_chg - off, (size_t)OVG_OVERLAY_BATCH_MAX);
		const struct ovg_overlay_change *c = &ov->chg[off];
		struct ev_ctx ec = { 0 };
		int e;

		for (size_t i = 0; i < n; i++)
			ov->res[i] = 0;
		e = ov->ops->apply(ov->ctx, s->sb, c, n, ov->res, r->msg, sizeof(r->msg));
		r->st->apply_calls++;
		for (size_t i = 0; i < n; i++) {
			const struct ovg_overlay_entry *x = &c[i].e;
			bool del = c[i].op == OVG_OVERLAY_DELETE;
			int pe = 0;

			if (ov->res[i] < 0) {
				r->st->errors++;
				s->known = false;
				continue;
			}
			if (x->kind == OVG_OVERLAY_NEIGH) {
				if (del) {
					omap_del(&s->neigh, x->ip.s_addr, 0);
					r->st->neigh_deleted++;
				} else {
					pe = omap_put(&s->neigh, x->ip.s_addr, 0, mac48(x->mac), 1);
					r->st->neigh_replaced++;
				}
			} else {
				if (del) {
					if (x->ip.s_addr == 0) {
						/* deleting dst 0.0.0.0 removes every dst of the
						 * MAC; what we rewrite follows in this batch */
						fdb_del_mac(&s->fdb, mac48(x->mac));
					} else {
						omap_del(&s->fdb, mac48(x->mac), x->ip.s_addr);
					}
					r->st->fdb_deleted++;
				} else {
					pe = omap_put(&s->fdb, mac48(x->mac), x->ip.s_addr, 0, 1);
					r->st->fdb_replaced++;
				}
			}
			if (pe < 0)
				s->known = false;
		}
		if (e < 0 && first == 0) {
			first = e;
			run_note(r, e);     /* counted per entry above */
		}
		/* keep the notification socket from overflowing during big batches */
		drain(ov, s, &ec);
	}
	return first;
}

static int reconcile_tables(struct run *r, struct sbx *s, const struct ovg_overlay_net *net)
{
	struct ovg_overlay *ov = r->ov;
	int e;

	e = want_build(r, s, net);
	if (e < 0)
		return e;
	for (int pass = 0; pass < 3; pass++) {
		struct ev_ctx c = { 0 };

		if (!s->known || ((r->flags & OVG_OVERLAY_FULL) && pass == 0)) {
			omap_clear(&s->neigh);
			omap_clear(&s->fdb);
			c.s = s;
			e = ov->ops->dump(ov->ctx, s->sb, on_dump, &c, r->msg, sizeof(r->msg));
			r->st->dumps++;
			if (e == 0 && c.diverged) {
				msgf(r, "%s: out of memory", s->path);
				e = -ENOMEM;
			}
			if (e < 0) {
				s->known = false;
				return e;
			}
			s->known = true;
		}
		e = diff(ov, s);
		if (e < 0) {
			msgf(r, "%s: out of memory", s->path);
			return e;
		}
		if (ov->n_chg == 0)
			return 0;
		e = apply(r, s);
		if (e < 0)
			return 0;   /* already counted; the next reconcile dumps again */
		/* someone may have changed the tables while we wrote */
		memset(&c, 0, sizeof(c));
		drain(ov, s, &c);
		if (!c.diverged && s->known)
			return 0;
	}
	return 0;
}

/* ---- networks ------------------------------------------------------------------- */

static int remove_sandbox(struct run *r, struct sbx *s, const char *path)
{
	struct ovg_overlay *ov = r->ov;
	int e;

	if (s)
		sbx_close(ov, s);
	e = ov->ops->sandbox_remove(ov->ctx, path, r->msg, sizeof(r->msg));
	if (s)
		sbx_drop(ov, s);
	if (e < 0)
		return e;
	r->st->sandboxes_removed++;
	return 0;
}

static int open_sandbox(struct run *r, const struct ovg_overlay_net *net, const char *path,
			struct sbx **out)
{
	struct ovg_overlay *ov = r->ov;
	struct sbx *s;
	bool created = false;
	int e;

	if (ov->n_sbx == OVG_OVERLAY_NETS_MAX) {
		msgf(r, "too many sandboxes");
		return -ENOSPC;
	}
	s = calloc(1, sizeof(*s));
	if (!s) {
		msgf(r, "%s: out of memory", path);
		return -ENOMEM;
	}
	memcpy(s->id, net->id, OVG_OVERLAY_ID_LEN);
	snprintf(s->path, sizeof(s->path), "%s", path);
	s->watch_fd = -1;
	e = ov->ops->sandbox_open(ov->ctx, path, true, &s->sb, &created, r->msg, sizeof(r->msg));
	if (e < 0) {
		free(s);
		return e;
	}
	if (created)
		r->st->sandboxes_created++;
	int fd = ov->ops->watch_fd(ov->ctx, s->sb);
	if (fd >= 0) {
		struct epoll_event ev = { .events = EPOLLIN, .data.ptr = s };
		if (epoll_ctl(ov->epfd, EPOLL_CTL_ADD, fd, &ev) == 0)
			s->watch_fd = fd;
	}
	ov->sbx[ov->n_sbx++] = s;
	*out = s;
	return 0;
}

static int reconcile_net(struct run *r, struct ovg_overlay_net *net)
{
	struct ovg_overlay *ov = r->ov;
	char path[OVG_OVERLAY_PATH_MAX];
	char name[OVG_OVERLAY_SB_NAME_LEN + 1];
	struct sbx *s;
	int e;

	sb_name(net->id, name);
	if ((e = check_net(r, net, name)) < 0)
		return e;
	if (ovg_overlay_sandbox_path(ov, net->id, path, sizeof(path)) < 0) {
		msgf(r, "network %s: sandbox path too long", name);
		return -ENAMETOOLONG;
	}
	s = sbx_find(ov, net->id);
	if (s && memcmp(s->id, net->id, OVG_OVERLAY_ID_LEN) != 0) {
		msgf(r, "network %s: sandbox name used by another network",
			 name);
		return -EEXIST;
	}
	if (s && s->mark == ov->gen) {
		msgf(r, "network %s given twice", name);
		return -EEXIST;
	}

	if (net->n_locals == 0) {
		if (!s && !ov->ops->sandbox_exists(ov->ctx, path))
			return 0;
		return remove_sandbox(r, s, path);
	}

	if (!s && (e = open_sandbox(r, net, path, &s)) < 0)
		return e;
	s->mark = ov->gen;

	struct ovg_overlay_dev_cfg dev = {
		.vni = net->vni, .port = ov->port, .mtu = ov->mtu,
		.gateway = net->gateway, .prefix = net->prefix,
	};
	uint32_t changes = 0;
	int ifindex = 0;
	e = ov->ops->ensure_devices(ov->ctx, s->sb, &dev, &changes, &ifindex, r->msg,
				    sizeof(r->msg));
	r->st->devices_changed += changes;
	if (e < 0)
		return e;
	if (ifindex != s->vxlan_ifindex) {
		s->vxlan_ifindex = ifindex;
		s->known = false;
	}
	reconcile_veths(r, s, net);
	/* catch up with notifications, including those of the device and
	 * veth work just done (ignored here: they were ours) */
	struct ev_ctx c = { 0 };
	drain(ov, s, &c);
	return reconcile_tables(r, s, net);
}

struct sweep {
	struct run *r;
	const struct ovg_overlay_net *nets;
	size_t n;
};

static bool is_sb_name(const char *n)
{
	if (strlen(n) != OVG_OVERLAY_SB_NAME_LEN)
		return false;
	for (const char *p = n; *p; p++)
		if (!((*p >= '0' && *p <= '9') || (*p >= 'a' && *p <= 'f')))
			return false;
	return true;
}

/* A sandbox on disk that belongs to no network with local endpoints. */
static void on_sweep_name(void *arg, const char *name)
{
	struct sweep *w = arg;
	struct ovg_overlay *ov = w->r->ov;
	char path[OVG_OVERLAY_PATH_MAX];
	char n2[OVG_OVERLAY_SB_NAME_LEN + 1];
	int e;

	if (!is_sb_name(name))
		return;
	for (size_t i = 0; i < w->n; i++) {
		sb_name(w->nets[i].id, n2);
		if (strcmp(n2, name) == 0 && w->nets[i].n_locals > 0)
			return;
	}
	for (size_t i = 0; i < ov->n_sbx; i++) {
		sb_name(ov->sbx[i]->id, n2);
		if (strcmp(n2, name) == 0)
			return;   /* handled by the generation sweep */
	}
	if ((size_t)snprintf(path, sizeof(path), "%s/%s", ov->netns_dir, name) >= sizeof(path))
		return;
	e = remove_sandbox(w->r, NULL, path);
	if (e < 0)
		run_fail(w->r, e);
}

int ovg_overlay_reconcile(struct ovg_overlay *ov, struct ovg_overlay_net *nets, size_t n,
			  unsigned flags, struct ovg_overlay_stats *st, char *err, size_t errlen)
{
	struct ovg_overlay_stats dummy = { 0 };
	struct run r = { .ov = ov, .st = st ? st : &dummy, .flags = flags, .err = err,
			 .errlen = errlen };
	int e;

	if (err && errlen)
		err[0] = 0;
	if (n > OVG_OVERLAY_NETS_MAX || (n && !nets)) {
		ovg_overlay_errf(err, errlen, "too many networks (%zu)", n);
		return -E2BIG;
	}
	ov->gen++;
	for (size_t i = 0; i < n; i++) {
		r.msg[0] = 0;
		e = reconcile_net(&r, &nets[i]);
		if (e < 0)
			run_fail(&r, e);
	}
	if (flags & OVG_OVERLAY_PARTIAL)
		return r.first;

	/* sandboxes of networks that are gone */
	for (size_t i = 0; i < ov->n_sbx;) {
		struct sbx *s = ov->sbx[i];
		if (s->mark == ov->gen) {
			i++;
			continue;
		}
		char path[OVG_OVERLAY_PATH_MAX];
		memcpy(path, s->path, sizeof(path));
		e = remove_sandbox(&r, s, path);   /* drops s from the array */
		if (e < 0)
			run_fail(&r, e);
	}
	/* and those left by an earlier run for networks we no longer know */
	if (!ov->swept || (flags & OVG_OVERLAY_FULL)) {
		struct sweep w = { .r = &r, .nets = nets, .n = n };
		r.msg[0] = 0;
		e = ov->ops->sandbox_list(ov->ctx, ov->netns_dir, on_sweep_name, &w, r.msg,
					  sizeof(r.msg));
		if (e < 0)
			run_fail(&r, e);
		else
			ov->swept = true;
	}
	return r.first;
}

int ovg_overlay_repair(struct ovg_overlay *ov, struct ovg_overlay_net *nets, size_t n,
		       struct ovg_overlay_stats *st, char *err, size_t errlen)
{
	return ovg_overlay_reconcile(ov, nets, n, OVG_OVERLAY_FULL, st, err, errlen);
}
