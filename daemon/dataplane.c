/* The kernel side of the agent. The desired state of every network is built
 * from the converged view (ovg_state), membership (only alive owners' remote
 * endpoints) and the local attachments (which container namespace each local
 * endpoint lives in, kept in the state dir); overlay/ makes the kernel match
 * it with the fewest netlink changes. Reconciles run on every change
 * (coalesced), on netlink notifications of changes made by others, and on a
 * timer that repairs drift. */
#include <arpa/inet.h>
#include <errno.h>
#include <ifaddrs.h>
#include <net/if.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include "daemon/agent.h"
#include "daemon/dataplane.h"
#include "ovg/overlay.h"
#include "ovg/state.h"

#define ATTACH_MAX         4096
#define DIRTY_MAX          256      /* more changed networks at once: reconcile all */
#define PENDING_MAX        64
#define CONNECT_WAIT_MS    5000     /* an address block asked of another node */
#define REPAIR_INTERVAL_S  10.0
#define COALESCE_S         0.001
#define SETTLE_MAX_S       10.0     /* restart: wait this long at most for the cluster */
#define SETTLE_AFTER_JOIN_S 5.0     /* then at most this long for the state sync to land */

struct attach {
	uint8_t net_id[16];
	char name[OVG_STATE_NAME_MAX + 1];     /* raw endpoint name */
	char netns[OVG_OVERLAY_PATH_MAX];
	char ifname[IFNAMSIZ];
};

struct pending {
	struct ctl_conn *c;
	uint8_t net_id[16];
	char ip[64];
	char name[OVG_STATE_NAME_MAX + 1];
	char netns[OVG_OVERLAY_PATH_MAX];
	uint64_t deadline_ms;
	bool used;
};

struct dataplane {
	struct ovg_overlay *ov;
	void *nl;
	ev_timer coalesce, repair, retry;
	ev_io watch;
	ev_timer settle;
	bool dirty, full, settled;
	/* networks to reconcile next (PARTIAL), unless dirty_all */
	uint8_t (*dirty_ids)[16];
	size_t ndirty;
	bool dirty_all;
	bool awaiting_sync;
	bool settle_soon;       /* caught up: the settle timer is due now */
	struct attach *att;
	size_t natt;
	struct pending pend[PENDING_MAX];
	uint64_t reconciles;
	uint64_t changes;
};

static void mark_dirty(struct dataplane *dp, const uint8_t net_id[16]);

/* ---- attachments (state dir) ---------------------------------------------- */

static void hex16(const uint8_t id[16], char out[33])
{
	for (int i = 0; i < 16; i++)
		snprintf(out + 2 * i, 3, "%02x", id[i]);
}

static int unhex16(const char *s, uint8_t id[16])
{
	for (int i = 0; i < 16; i++) {
		unsigned v;
		if (sscanf(s + 2 * i, "%2x", &v) != 1)
			return -EINVAL;
		id[i] = (uint8_t)v;
	}
	return 0;
}

static int save_attachments(struct agent *a)
{
	struct dataplane *dp = a->dp;
	char path[PATH_MAX], hex[33];
	struct sbuf b = { 0 };
	int rc;

	for (size_t i = 0; i < dp->natt; i++) {
		hex16(dp->att[i].net_id, hex);
		sbuf_printf(&b, "%s %s %s %s\n", hex, dp->att[i].name,
			    dp->att[i].ifname[0] ? dp->att[i].ifname : "-", dp->att[i].netns);
	}
	if (b.oom)
		return -ENOMEM;
	snprintf(path, sizeof(path), "%s/attachments", a->cfg.state_dir);
	rc = ovg_file_write_atomic(path, b.p ? b.p : "", b.len, 0600);
	sbuf_free(&b);
	if (rc < 0)
		log_errx("cannot save %s: %s", path, strerror(-rc));
	return rc;
}

static void load_attachments(struct agent *a)
{
	struct dataplane *dp = a->dp;
	char path[PATH_MAX];
	uint8_t *buf;
	size_t len;
	char *save = NULL, *line;

	snprintf(path, sizeof(path), "%s/attachments", a->cfg.state_dir);
	if (ovg_file_read(path, 16u << 20, &buf, &len) < 0)
		return;
	for (line = strtok_r((char *)buf, "\n", &save); line && dp->natt < ATTACH_MAX;
	     line = strtok_r(NULL, "\n", &save)) {
		struct attach at = { 0 };
		char hex[40], name[80], ifn[40], ns[OVG_OVERLAY_PATH_MAX];
		if (sscanf(line, "%39s %79s %39s %255[^\n]", hex, name, ifn, ns) != 4 || strlen(hex) != 32 ||
		    unhex16(hex, at.net_id) < 0 || strlen(name) > OVG_STATE_NAME_MAX || strlen(ifn) >= IFNAMSIZ)
			continue;
		snprintf(at.name, sizeof(at.name), "%s", name);
		snprintf(at.ifname, sizeof(at.ifname), "%s", strcmp(ifn, "-") ? ifn : "");
		snprintf(at.netns, sizeof(at.netns), "%s", ns);
		dp->att[dp->natt++] = at;
	}
	free(buf);
}

static struct attach *find_attach(struct dataplane *dp, const uint8_t net_id[16], const char *name)
{
	for (size_t i = 0; i < dp->natt; i++)
		if (!memcmp(dp->att[i].net_id, net_id, 16) && !strcmp(dp->att[i].name, name))
			return &dp->att[i];
	return NULL;
}

static void drop_attach(struct dataplane *dp, struct attach *at)
{
	size_t i = (size_t)(at - dp->att);
	memmove(&dp->att[i], &dp->att[i + 1], (dp->natt - i - 1) * sizeof(*at));
	dp->natt--;
}

/* ---- building the desired state ------------------------------------------- */

struct build {
	struct agent *a;
	struct ovg_overlay_net *nets;
	size_t n, cap;
	struct ovg_overlay_local *locals;   /* all networks', one array */
	size_t nl, capl;
	struct ovg_overlay_remote *remotes;
	size_t nr, capr;
	/* per network being built */
	size_t l0, r0;
	int err;
	bool partial;     /* list a network even without local endpoints (removal) */
};

static bool grow(void **p, size_t *cap, size_t need, size_t sz)
{
	if (need <= *cap)
		return true;
	size_t nc = *cap ? *cap * 2 : 64;
	while (nc < need)
		nc *= 2;
	void *np = realloc(*p, nc * sz);
	if (!np)
		return false;
	*p = np;
	*cap = nc;
	return true;
}

static bool owner_vtep(struct agent *a, const char *node, struct in_addr *vtep)
{
	struct ovg_swim_member m;

	if (ovg_swim_member_find(a->swim, node, &m) < 0)
		return false;
	/* A failed owner's endpoints leave the data plane. One that left keeps
	 * them until it is reaped: a stopped agent (SIGTERM, a restart) leaves
	 * its host's kernel forwarding, and `ovgossipd leave` has already
	 * deleted its endpoints through the state. */
	if (m.state == OVG_STATE_DEAD)
		return false;
	if (m.addr.len != 4)
		return false;
	memcpy(&vtep->s_addr, m.addr.ip, 4);
	return true;
}

static int build_ep(void *ctx, const struct ovg_state_ep *ep)
{
	struct build *b = ctx;
	struct dataplane *dp = b->a->dp;

	if (ep->local) {
		struct attach *at = find_attach(dp, ep->net_id, ep->raw_name);
		if (!at)
			return 0;   /* being attached or detached right now */
		if (!grow((void **)&b->locals, &b->capl, b->nl + 1, sizeof(*b->locals)))
			return -ENOMEM;
		struct ovg_overlay_local *l = &b->locals[b->nl++];
		memset(l, 0, sizeof(*l));
		snprintf(l->name, sizeof(l->name), "%s", ep->raw_name);
		l->ip.s_addr = htonl(ep->ip);
		memcpy(l->mac, ep->mac, 6);
		snprintf(l->netns, sizeof(l->netns), "%s", at->netns);
		snprintf(l->ifname, sizeof(l->ifname), "%s", at->ifname);
		return 0;
	}
	struct in_addr vtep;
	if (!owner_vtep(b->a, ep->node, &vtep))
		return 0;   /* failed or departed owner: out of the data plane */
	if (!grow((void **)&b->remotes, &b->capr, b->nr + 1, sizeof(*b->remotes)))
		return -ENOMEM;
	struct ovg_overlay_remote *r = &b->remotes[b->nr++];
	r->ip.s_addr = htonl(ep->ip);
	memcpy(r->mac, ep->mac, 6);
	r->vtep = vtep;
	return 0;
}

static int build_net(void *ctx, const struct ovg_state_net *n)
{
	struct build *b = ctx;
	int rc;

	b->l0 = b->nl;
	b->r0 = b->nr;
	if (n->live) {
		rc = ovg_state_ep_foreach(b->a->state, n->id, false, build_ep, b);
		if (rc < 0 && rc != -ENOENT)
			return rc;
	}
	if (b->nl == b->l0) {
		b->nr = b->r0;   /* no local endpoint: no sandbox, remotes not needed */
		if (!b->partial)
			return 0;   /* a full reconcile removes unlisted sandboxes */
	}
	if (!grow((void **)&b->nets, &b->cap, b->n + 1, sizeof(*b->nets)))
		return -ENOMEM;
	struct ovg_overlay_net *o = &b->nets[b->n++];
	memset(o, 0, sizeof(*o));
	memcpy(o->id, n->id, 16);
	o->vni = n->vni;
	o->subnet.s_addr = htonl(n->subnet);
	o->prefix = n->prefix;
	o->gateway.s_addr = htonl(n->gateway);
	/* pointers fixed up after the arrays stop moving */
	o->locals = (void *)(uintptr_t)b->l0;
	o->n_locals = b->nl - b->l0;
	o->remotes = (void *)(uintptr_t)b->r0;
	o->n_remotes = b->nr - b->r0;
	return 0;
}

static void build_free(struct build *b)
{
	free(b->nets);
	free(b->locals);
	free(b->remotes);
}

/* Reconcile everything now. Returns the first error (err filled). */
static int reconcile(struct agent *a, bool full, char *err, size_t errlen)
{
	struct dataplane *dp = a->dp;
	struct build b = { .a = a };
	struct ovg_overlay_stats st = { 0 };
	int rc;

	dp->dirty = false;
	/* container namespaces that vanished take their endpoints with them */
	for (size_t i = 0; i < dp->natt;) {
		struct stat sb;
		if (stat(dp->att[i].netns, &sb) < 0 && errno == ENOENT) {
			char e[256];
			log_info("namespace %s is gone: detaching endpoint %s", dp->att[i].netns, dp->att[i].name);
			ovg_state_ep_detach(a->state, ovg_now_ms(), dp->att[i].net_id, dp->att[i].name, e, sizeof(e));
			drop_attach(dp, &dp->att[i]);
			save_attachments(a);
			replica_after(a);
			continue;
		}
		i++;
	}
	b.partial = !full && !dp->dirty_all;
	if (b.partial) {
		rc = 0;
		for (size_t i = 0; i < dp->ndirty && rc == 0; i++) {
			struct ovg_state_net n;
			if (ovg_state_net_get(a->state, dp->dirty_ids[i], &n) < 0) {
				/* deleted: a placeholder that only removes the sandbox */
				memset(&n, 0, sizeof(n));
				memcpy(n.id, dp->dirty_ids[i], 16);
				n.vni = 1;
				n.prefix = 24;
				n.gateway = 1;
			}
			rc = build_net(&b, &n);
		}
	} else {
		rc = ovg_state_net_foreach(a->state, build_net, &b);
	}
	dp->ndirty = 0;
	dp->dirty_all = false;
	if (rc < 0) {
		snprintf(err, errlen, "building the desired state: %s", strerror(-rc));
		build_free(&b);
		return rc;
	}
	for (size_t i = 0; i < b.n; i++) {
		b.nets[i].locals = b.locals + (uintptr_t)b.nets[i].locals;
		b.nets[i].remotes = b.remotes + (uintptr_t)b.nets[i].remotes;
	}
	rc = ovg_overlay_reconcile(dp->ov, b.nets, b.n,
				   (full ? OVG_OVERLAY_FULL : 0) | (b.partial ? OVG_OVERLAY_PARTIAL : 0), &st, err, errlen);
	dp->reconciles++;
	dp->changes += ovg_overlay_stats_changes(&st);
	if (rc < 0)
		log_warnx("reconcile: %s (%u errors)", err, st.errors);
	else if (ovg_overlay_stats_changes(&st) > 0)
		log_debug("reconcile: %u changes (%u neigh, %u fdb, %u veth added, %u sandboxes created, %u removed)",
			  ovg_overlay_stats_changes(&st), st.neigh_replaced + st.neigh_deleted,
			  st.fdb_replaced + st.fdb_deleted, st.veths_added, st.sandboxes_created, st.sandboxes_removed);
	/* remember the container-side names the kernel gave */
	bool changed = false;
	for (size_t i = 0; i < b.n; i++)
		for (size_t k = 0; k < b.nets[i].n_locals; k++) {
			struct ovg_overlay_local *l = &b.nets[i].locals[k];
			struct attach *at = find_attach(dp, b.nets[i].id, l->name);
			if (at && strcmp(at->ifname, l->ifname)) {
				snprintf(at->ifname, sizeof(at->ifname), "%s", l->ifname);
				changed = true;
			}
		}
	if (changed)
		save_attachments(a);
	build_free(&b);
	return rc;
}

static void on_settle(struct ev_loop *loop, ev_timer *w, int revents)
{
	struct agent *a = w->data;
	char err[OVG_OVERLAY_ERR_MAX];
	(void)loop; (void)revents;
	a->dp->settled = true;
	log_info("data plane: reconciling the kernel with the converged state");
	reconcile(a, true, err, sizeof(err));
	ev_feed_event(a->loop, &a->dp->retry, EV_TIMER);
}

struct orphan_scan {
	struct agent *a;
	uint8_t (*ids)[16];
	char (*names)[OVG_STATE_NAME_MAX + 1];
	size_t n, cap;
};

static int orphan_ep(void *ctx, const struct ovg_state_ep *ep)
{
	struct orphan_scan *o = ctx;
	if (!ep->local || find_attach(o->a->dp, ep->net_id, ep->raw_name) || o->n >= o->cap)
		return 0;
	memcpy(o->ids[o->n], ep->net_id, 16);
	snprintf(o->names[o->n], sizeof(o->names[0]), "%s", ep->raw_name);
	o->n++;
	return 0;
}

static int orphan_net(void *ctx, const struct ovg_state_net *n)
{
	struct orphan_scan *o = ctx;
	ovg_state_ep_foreach(o->a->state, n->id, false, orphan_ep, o);
	return 0;
}

/* Local endpoints the state holds but no attachment places (a crash between
 * the two writes) cannot be placed in any container: detach them. */
static void detach_orphans(struct agent *a)
{
	struct orphan_scan o = { .a = a, .cap = 256 };
	char err[256];

	o.ids = calloc(o.cap, sizeof(*o.ids));
	o.names = calloc(o.cap, sizeof(*o.names));
	if (o.ids && o.names) {
		ovg_state_net_foreach(a->state, orphan_net, &o);
		for (size_t i = 0; i < o.n; i++) {
			log_warnx("endpoint %s has no container namespace on record: detaching it", o.names[i]);
			ovg_state_ep_detach(a->state, ovg_now_ms(), o.ids[i], o.names[i], err, sizeof(err));
		}
		if (o.n)
			replica_after(a);
	}
	free(o.ids);
	free(o.names);
}

static void on_coalesce(struct ev_loop *loop, ev_timer *w, int revents)
{
	struct agent *a = w->data;
	char err[OVG_OVERLAY_ERR_MAX];
	(void)loop; (void)revents;
	reconcile(a, a->dp->full, err, sizeof(err));
	a->dp->full = false;
}

static void schedule(struct agent *a)
{
	struct dataplane *dp = a->dp;

	if (!dp || dp->dirty || !dp->settled)
		return;
	dp->dirty = true;
	ev_timer_set(&dp->coalesce, COALESCE_S, 0.0);
	ev_timer_start(a->loop, &dp->coalesce);
}

static void on_repair(struct ev_loop *loop, ev_timer *w, int revents)
{
	struct agent *a = w->data;
	(void)loop; (void)revents;
	a->dp->full = true;
	schedule(a);
}

static void on_watch(struct ev_loop *loop, ev_io *w, int revents)
{
	struct agent *a = w->data;
	uint8_t ids[64][OVG_OVERLAY_ID_LEN];
	size_t n = 0;
	(void)loop; (void)revents;

	if (ovg_overlay_watch_read(a->dp->ov, ids, 64, &n) == 0 && n > 0) {
		log_debug("kernel state of %zu network(s) changed by someone else: reconciling", n);
		for (size_t i = 0; i < n; i++)
			mark_dirty(a->dp, ids[i]);
		if (n == 64)
			a->dp->dirty_all = true;
		schedule(a);
	}
}

static void mark_dirty(struct dataplane *dp, const uint8_t net_id[16])
{
	if (dp->dirty_all)
		return;
	for (size_t i = 0; i < dp->ndirty; i++)
		if (!memcmp(dp->dirty_ids[i], net_id, 16))
			return;
	if (dp->ndirty >= DIRTY_MAX) {
		dp->dirty_all = true;
		return;
	}
	memcpy(dp->dirty_ids[dp->ndirty++], net_id, 16);
}

struct node_scan {
	struct agent *a;
	const char *node;
	bool hit;
};

static int node_scan_ep(void *ctx, const struct ovg_state_ep *ep)
{
	struct node_scan *ns = ctx;
	if (!strcmp(ep->node, ns->node)) {
		ns->hit = true;
		return 1;   /* stop: this network is affected */
	}
	return 0;
}

static int node_scan_net(void *ctx, const struct ovg_state_net *n)
{
	struct node_scan *ns = ctx;
	ns->hit = false;
	ovg_state_ep_foreach(ns->a->state, n->id, false, node_scan_ep, ns);
	if (ns->hit)
		mark_dirty(ns->a->dp, n->id);
	return 0;
}

/* Membership of `node` changed: only networks where it has endpoints. */
void dataplane_node_changed(struct agent *a, const char *node)
{
	struct node_scan ns = { .a = a, .node = node };

	if (!a->dp || !a->state)
		return;
	ovg_state_net_foreach(a->state, node_scan_net, &ns);
	if (a->dp->ndirty || a->dp->dirty_all)
		schedule(a);
}

void dataplane_net_changed(struct agent *a, const uint8_t net_id[16])
{
	if (!a->dp)
		return;
	mark_dirty(a->dp, net_id);
	schedule(a);
	/* a connect waiting for an address block may go on now */
	if (a->dp)
		ev_feed_event(a->loop, &a->dp->retry, EV_TIMER);
}

void dataplane_all_changed(struct agent *a)
{
	if (!a->dp)
		return;
	a->dp->dirty_all = true;
	schedule(a);
}

/* ---- connect / disconnect ------------------------------------------------- */

static void netns_path(const char *arg, char *out, size_t len)
{
	if (strchr(arg, '/'))
		snprintf(out, len, "%s", arg);
	else
		snprintf(out, len, "/var/run/netns/%s", arg);
}

static void default_name(const char *arg, char *out, size_t len)
{
	int pid;
	if (sscanf(arg, "/proc/%d/ns/net", &pid) == 1)
		snprintf(out, len, "pid%d", pid);
	else {
		const char *slash = strrchr(arg, '/');
		snprintf(out, len, "%s", slash ? slash + 1 : arg);
	}
}

static bool same_ns(const char *p1, const char *p2)
{
	struct stat a, b;
	if (!strcmp(p1, p2))
		return true;
	return stat(p1, &a) == 0 && stat(p2, &b) == 0 && a.st_dev == b.st_dev && a.st_ino == b.st_ino;
}

/* Try the attach; false if it must wait for an address block. */
static bool try_connect(struct agent *a, struct ctl_conn *c, const uint8_t net_id[16], const char *ip,
			const char *name, const char *netns, bool last_try)
{
	struct dataplane *dp = a->dp;
	struct ovg_state_ep ep;
	struct ovg_state_net n;
	char err[OVG_OVERLAY_ERR_MAX], ipbuf[16], mac[18];
	struct attach *at;
	int rc;

	rc = ovg_state_ep_attach(a->state, ovg_now_ms(), net_id, name, ip && *ip ? ip : NULL, &ep, err, sizeof(err));
	if (rc == -EAGAIN && !last_try) {
		replica_after(a);   /* sends the block request */
		return false;
	}
	if (rc < 0) {
		replica_after(a);
		if (rc == -EAGAIN)
			snprintf(err, sizeof(err), "no address block could be had from the other nodes in %d s",
				 CONNECT_WAIT_MS / 1000);
		ctl_replyf(c, 1, "ovgossipd: %s\n", err);
		return true;
	}
	if (dp->natt >= ATTACH_MAX) {
		ovg_state_ep_detach(a->state, ovg_now_ms(), net_id, name, err, sizeof(err));
		replica_after(a);
		ctl_replyf(c, 1, "ovgossipd: too many local endpoints (%d)\n", ATTACH_MAX);
		return true;
	}
	at = &dp->att[dp->natt++];
	memset(at, 0, sizeof(*at));
	memcpy(at->net_id, net_id, 16);
	snprintf(at->name, sizeof(at->name), "%s", ep.raw_name);
	snprintf(at->netns, sizeof(at->netns), "%s", netns);
	if (save_attachments(a) < 0) {
		drop_attach(dp, at);
		ovg_state_ep_detach(a->state, ovg_now_ms(), net_id, name, err, sizeof(err));
		replica_after(a);
		ctl_replyf(c, 1, "ovgossipd: cannot write the state dir (nothing changed)\n");
		return true;
	}
	replica_after(a);   /* saves the state, then pushes the endpoint */
	mark_dirty(dp, net_id);
	reconcile(a, false, err, sizeof(err));
	at = find_attach(dp, net_id, ep.raw_name);
	if (!at || !at->ifname[0]) {
		char e2[256];
		log_warnx("connect %s: %s", name, err);
		if (at)
			drop_attach(dp, at);
		save_attachments(a);
		ovg_state_ep_detach(a->state, ovg_now_ms(), net_id, name, e2, sizeof(e2));
		replica_after(a);
		schedule(a);
		ctl_replyf(c, 1, "ovgossipd: cannot attach %s: %s\n", netns, err[0] ? err : "kernel refused");
		return true;
	}
	ovg_state_net_get(a->state, net_id, &n);
	struct in_addr in = { .s_addr = htonl(ep.ip) };
	inet_ntop(AF_INET, &in, ipbuf, sizeof(ipbuf));
	snprintf(mac, sizeof(mac), "%02x:%02x:%02x:%02x:%02x:%02x", ep.mac[0], ep.mac[1], ep.mac[2], ep.mac[3],
		 ep.mac[4], ep.mac[5]);
	log_info("endpoint %s connected to %s: %s %s/%u %s", ep.name, n.name, at->ifname, ipbuf, ep.prefix, mac);
	ctl_replyf(c, 0, "%s %s/%u %s\n", at->ifname, ipbuf, ep.prefix, mac);
	return true;
}

static void on_retry(struct ev_loop *loop, ev_timer *w, int revents)
{
	struct agent *a = w->data;
	struct dataplane *dp = a->dp;
	uint64_t now = ovg_now_ms();
	(void)loop; (void)revents;

	if (!dp->settled)
		return;
	for (size_t i = 0; i < PENDING_MAX; i++) {
		struct pending *p = &dp->pend[i];
		if (!p->used)
			continue;
		if (try_connect(a, p->c, p->net_id, p->ip, p->name, p->netns, now >= p->deadline_ms))
			p->used = false;
	}
}

void dataplane_connect(struct agent *a, struct ctl_conn *c, const uint8_t net_id[16], const char *ip,
		       const char *name, const char *netns_arg)
{
	struct dataplane *dp = a->dp;
	char path[OVG_OVERLAY_PATH_MAX], ename[OVG_STATE_NAME_MAX + 2], netname[OVG_STATE_NET_DISPLAY_MAX + 1];
	struct ovg_state_net n;
	struct stat sb;

	if (ovg_state_net_get(a->state, net_id, &n) < 0) {
		ctl_replyf(c, 1, "ovgossipd: network not found\n");
		return;
	}
	snprintf(netname, sizeof(netname), "%s", n.name);
	if (!n.attachable) {
		ctl_replyf(c, 1, "ovgossipd: network %s is not attachable: create it with --attachable\n", netname);
		return;
	}
	netns_path(netns_arg, path, sizeof(path));
	if (stat(path, &sb) < 0) {
		ctl_replyf(c, 1, "ovgossipd: namespace %s not found (%s)\n", netns_arg, path);
		return;
	}
	for (size_t i = 0; i < dp->natt; i++)
		if (!memcmp(dp->att[i].net_id, net_id, 16) && same_ns(dp->att[i].netns, path)) {
			ctl_replyf(c, 1, "ovgossipd: namespace %s is already connected to network %s (as %s)\n", netns_arg,
				   netname, dp->att[i].name);
			return;
		}
	if (name && *name)
		snprintf(ename, sizeof(ename), "%s", name);
	else
		default_name(netns_arg, ename, sizeof(ename));
	if (strlen(ename) > OVG_STATE_NAME_MAX) {
		ctl_replyf(c, 1, "ovgossipd: endpoint name too long (at most %d bytes): give --name\n", OVG_STATE_NAME_MAX);
		return;
	}
	/* a restarted agent first hears from the cluster (see on_settle) */
	if (dp->settled && try_connect(a, c, net_id, ip, ename, path, false))
		return;
	for (size_t i = 0; i < PENDING_MAX; i++) {
		struct pending *p = &dp->pend[i];
		if (p->used)
			continue;
		p->used = true;
		p->c = c;
		memcpy(p->net_id, net_id, 16);
		snprintf(p->ip, sizeof(p->ip), "%s", ip ? ip : "");
		snprintf(p->name, sizeof(p->name), "%s", ename);
		snprintf(p->netns, sizeof(p->netns), "%s", path);
		p->deadline_ms = ovg_now_ms() + CONNECT_WAIT_MS + (dp->settled ? 0 : (uint64_t)(SETTLE_MAX_S * 1000));
		return;
	}
	ctl_replyf(c, 1, "ovgossipd: too many connects waiting for address blocks; try again\n");
}

void dataplane_disconnect(struct agent *a, struct ctl_conn *c, const uint8_t net_id[16], const char *netns_arg)
{
	struct dataplane *dp = a->dp;
	char path[OVG_OVERLAY_PATH_MAX], err[256], name[OVG_STATE_NAME_MAX + 1];
	struct ovg_state_net n;

	ovg_state_net_get(a->state, net_id, &n);
	netns_path(netns_arg, path, sizeof(path));
	for (size_t i = 0; i < dp->natt; i++) {
		struct attach *at = &dp->att[i];
		if (memcmp(at->net_id, net_id, 16) || !same_ns(at->netns, path))
			continue;
		snprintf(name, sizeof(name), "%s", at->name);
		ovg_state_ep_detach(a->state, ovg_now_ms(), net_id, name, err, sizeof(err));
		drop_attach(dp, at);
		save_attachments(a);
		replica_after(a);
		mark_dirty(dp, net_id);
		if (dp->settled)
			reconcile(a, false, err, sizeof(err));
		log_info("endpoint %s disconnected from %s", name, n.name);
		ctl_replyf(c, 0, "disconnected %s from %s\n", name, n.name);
		return;
	}
	ctl_replyf(c, 1, "ovgossipd: namespace %s is not connected to network %s on this host\n", netns_arg, n.name);
}

void dataplane_depart(struct agent *a)
{
	struct dataplane *dp = a->dp;
	char err[OVG_OVERLAY_ERR_MAX];

	if (!dp)
		return;
	dp->natt = 0;
	save_attachments(a);
	dp->dirty_all = true;
	reconcile(a, false, err, sizeof(err));
}

void dataplane_sandbox_path(struct agent *a, const uint8_t net_id[16], char *buf, size_t len)
{
	buf[0] = '\0';
	if (!a->dp || ovg_overlay_sandbox_path(a->dp->ov, net_id, buf, len) < 0 || access(buf, F_OK) < 0)
		buf[0] = '\0';
}

/* ---- life cycle ------------------------------------------------------------ */

static uint32_t underlay_mtu(const struct ovg_addr *adv)
{
	struct ifaddrs *ifs, *i;
	uint32_t mtu = 1500;

	if (adv->len != 4 || getifaddrs(&ifs) < 0)
		return mtu;
	for (i = ifs; i; i = i->ifa_next) {
		if (!i->ifa_addr || i->ifa_addr->sa_family != AF_INET)
			continue;
		if (memcmp(&((struct sockaddr_in *)i->ifa_addr)->sin_addr, adv->ip, 4))
			continue;
		struct ifreq ifr = { 0 };
		int fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
		snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "%s", i->ifa_name);
		if (fd >= 0 && ioctl(fd, SIOCGIFMTU, &ifr) == 0 && ifr.ifr_mtu > 100)
			mtu = (uint32_t)ifr.ifr_mtu;
		if (fd >= 0)
			close(fd);
		break;
	}
	freeifaddrs(ifs);
	return mtu;
}

int dataplane_init(struct agent *a, char *err, size_t errlen)
{
	struct dataplane *dp = calloc(1, sizeof(*dp));
	struct ovg_overlay_cfg oc = { 0 };

	if (!dp || !(dp->att = calloc(ATTACH_MAX, sizeof(*dp->att))) ||
	    !(dp->dirty_ids = calloc(DIRTY_MAX, sizeof(*dp->dirty_ids)))) {
		if (dp)
			free(dp->att);
		free(dp);
		snprintf(err, errlen, "out of memory");
		return -ENOMEM;
	}
	a->dp = dp;
	dp->nl = ovg_overlay_nl_new(err, errlen);
	if (!dp->nl)
		return -errno;
	oc.run_dir = a->cfg.run_dir;
	oc.vxlan_port = a->cfg.vxlan_port;
	oc.underlay_mtu = underlay_mtu(&a->cfg.advertise);
	oc.ops = &ovg_overlay_nl_ops;
	oc.ops_ctx = dp->nl;
	dp->ov = ovg_overlay_new(&oc, err, errlen);
	if (!dp->ov)
		return -errno;
	load_attachments(a);
	return 0;
}

void dataplane_start(struct agent *a, bool have_peers)
{
	struct dataplane *dp = a->dp;
	char err[OVG_OVERLAY_ERR_MAX];
	int fd;

	ev_timer_init(&dp->coalesce, on_coalesce, COALESCE_S, 0.0);
	dp->coalesce.data = a;
	ev_timer_init(&dp->repair, on_repair, REPAIR_INTERVAL_S, REPAIR_INTERVAL_S);
	dp->repair.data = a;
	ev_timer_start(a->loop, &dp->repair);
	ev_timer_init(&dp->retry, on_retry, 0.2, 0.2);
	dp->retry.data = a;
	ev_timer_start(a->loop, &dp->retry);
	fd = ovg_overlay_watch_fd(dp->ov);
	if (fd >= 0) {
		ev_io_init(&dp->watch, on_watch, fd, EV_READ);
		dp->watch.data = a;
		ev_io_start(a->loop, &dp->watch);
	}
	detach_orphans(a);
	/* A restarted agent adopts what the kernel holds and touches nothing
	 * until it has heard from the cluster (membership and state), so the
	 * containers attached here lose no packet; a first node settles now. */
	ev_timer_init(&dp->settle, on_settle, have_peers ? SETTLE_MAX_S : 0.0, 0.0);
	dp->settle.data = a;
	ev_timer_start(a->loop, &dp->settle);
	(void)err;
}

void dataplane_joined(struct agent *a)
{
	struct dataplane *dp = a->dp;

	if (!dp || dp->settled || dp->settle_soon)
		return;
	/* membership is here; the state sync follows (dataplane_caught_up),
	 * this bounds the wait for it */
	ev_timer_stop(a->loop, &dp->settle);
	ev_timer_set(&dp->settle, SETTLE_AFTER_JOIN_S, 0.0);
	ev_timer_start(a->loop, &dp->settle);
}

void dataplane_sync_state(struct agent *a, bool awaiting)
{
	struct dataplane *dp = a->dp;

	if (!dp || dp->settled)
		return;
	if (awaiting) {
		dp->awaiting_sync = true;
		return;
	}
	if (dp->awaiting_sync && !awaiting) {
		/* what we asked for has arrived: settle right away */
		dp->awaiting_sync = false;
		dp->settle_soon = true;
		ev_timer_stop(a->loop, &dp->settle);
		ev_timer_set(&dp->settle, 0.0, 0.0);
		ev_timer_start(a->loop, &dp->settle);
	}
}

void dataplane_caught_up(struct agent *a)
{
	struct dataplane *dp = a->dp;

	if (!dp || dp->settled || dp->awaiting_sync)
		return;
	dp->settle_soon = true;
	ev_timer_stop(a->loop, &dp->settle);
	ev_timer_set(&dp->settle, 0.0, 0.0);
	ev_timer_start(a->loop, &dp->settle);
}

void dataplane_free(struct agent *a)
{
	struct dataplane *dp = a->dp;

	if (!dp)
		return;
	ovg_overlay_free(dp->ov);
	if (dp->nl)
		ovg_overlay_nl_free(dp->nl);
	free(dp->att);
	free(dp->dirty_ids);
	free(dp);
	a->dp = NULL;
}
