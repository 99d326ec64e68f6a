/*
 * Property test of the replicated state: the real state code on 3 to 30
 * replicas over a fake network that loses, duplicates and reorders messages,
 * partitions and heals, with crashes (also between a state call and its
 * save), restarts from the saved bytes, lost state dirs, graceful leaves and
 * node rm. Thousands of random operations; after each step the safety
 * properties are checked on every replica, and after a final quiescence
 * (heal, restart everybody, lossless anti-entropy) convergence is checked:
 *
 *   every step, every replica: no two live endpoints of a network share an
 *     address or a (resolved) name; a deleted network never shows again; an
 *     endpoint seen detached never shows live again at that version;
 *   every step, across replicas: no two running nodes own the same block,
 *     and no two running nodes hold live local endpoints on the same address
 *     (nodes whose instance was removed while down are exempt: they learn it
 *     and start over);
 *   after quiescence: equal digests, equal stored state, equal views, no
 *     address clash at all, no block left with a removed instance, every
 *     endpoint a node attached (and did not lose to a crash before its save,
 *     a removal or a network delete) live with the address it was given.
 *
 * Run directly: test_state_prop --seed N [--ops M] [--nodes K]. Prints SEED=
 * first and, on failure, how to reproduce.
 */
#include <check.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include "ovg/state.h"

#define MAX_NODES 30
#define MAX_TRACK 256
#define QUEUE_MAX 200000
#define NET_NAMES 6
#define EP_NAMES 24
#define SET_MAX 4096

struct tracked {
	uint8_t net[16];
	char name[OVG_STATE_NAME_MAX + 1];
	uint32_t ip;
};

struct idset {
	uint32_t n;
	uint8_t id[SET_MAX][16];
};

/* endpoint tombstones a replica has seen in its current run */
struct tomb {
	uint64_t key;
	uint64_t version;
};

struct pnode {
	int idx;
	char name[8];
	struct ovg_splitmix rng;
	struct ovg_state *st;           /* NULL: down */
	uint8_t *saved;
	size_t saved_len;
	int part;
	uint64_t inst;                  /* current instance */
	uint64_t saved_version;         /* our version in the saved bytes */
	bool removed;                   /* node rm'd: comes back only as a new install */
	bool wiped;                     /* this instance replaced one whose state dir was lost */
	int rm_by;                      /* ... once every running node heard it from rm_by */
	uint64_t rm_by_inst, rm_version;
	int rm_step;
	uint64_t reinstanced;
	struct tracked track[MAX_TRACK];
	int ntrack;
	struct idset seen, gone;        /* networks seen this run / seen deleted */
	struct tomb *tombs;
	uint32_t ntombs, tombs_cap;
	struct world *w;
};

struct msg {
	int from, to;
	int step;                       /* when it was sent */
	size_t len;
	uint8_t *data;
};

struct world {
	uint64_t seed;
	int ops, nnodes;
	struct ovg_splitmix rng;
	uint64_t now;
	int step;
	struct pnode nodes[MAX_NODES];
	struct msg *q;
	size_t nq;
	double loss, dup;
	uint64_t removed[4 * MAX_NODES * 8];    /* instances removed (oracle) */
	int nremoved;
	struct idset deleted;                   /* networks deleted (oracle) */
	bool failed;
	char why[512];
	int dump_a, dump_b;
	uint8_t dump_net[4];
	/* counters for the summary */
	uint64_t suppressed;
	uint64_t sent, delivered, creates, removes, attaches, detaches, crashes, rms, leaves, wipes;
};

static uint8_t big[1 << 20];
static bool trace;
#define TRACE(...) do { if (trace) printf(__VA_ARGS__); } while (0)

/* ---- helpers --------------------------------------------------------------------- */

static uint32_t rnd(struct world *w, uint32_t n)
{
	return (uint32_t)(ovg_splitmix_next(&w->rng) % n);
}

static bool chance(struct world *w, double p)
{
	return (double)(ovg_splitmix_next(&w->rng) >> 11) / (double)(1ull << 53) < p;
}

#define FAIL(w, ...)                                                                   \
	do {                                                                           \
		if (!(w)->failed) {                                                    \
			(w)->failed = true;                                            \
			snprintf((w)->why, sizeof((w)->why), __VA_ARGS__);             \
		}                                                                      \
	} while (0)

static bool idset_has(const struct idset *s, const uint8_t id[16])
{
	for (uint32_t i = 0; i < s->n; i++)
		if (memcmp(s->id[i], id, 16) == 0)
			return true;
	return false;
}

static void idset_add(struct idset *s, const uint8_t id[16])
{
	if (!idset_has(s, id) && s->n < SET_MAX)
		memcpy(s->id[s->n++], id, 16);
}

static bool removed_inst(const struct world *w, uint64_t inst)
{
	for (int i = 0; i < w->nremoved; i++)
		if (w->removed[i] == inst)
			return true;
	return false;
}

static void mark_removed(struct world *w, uint64_t inst)
{
	if (!removed_inst(w, inst) && w->nremoved < (int)OVG_ARRAY_SIZE(w->removed))
		w->removed[w->nremoved++] = inst;
}

static struct pnode *by_name(struct world *w, const char *name)
{
	for (int i = 0; i < w->nnodes; i++)
		if (strcmp(w->nodes[i].name, name) == 0)
			return &w->nodes[i];
	return NULL;
}

static bool p_alive(void *ctx, const char *name)
{
	struct pnode *me = ctx;
	struct pnode *o = by_name(me->w, name);
	return o && o->st && o->part == me->part;
}

static void p_changed(void *ctx, const uint8_t id[16])
{
	(void)ctx;
	(void)id;
}

static struct ovg_state *p_open(struct pnode *n, bool fresh)
{
	struct ovg_state_config cfg = { .node_name = n->name, .rng = { ovg_splitmix_next, &n->rng },
					.net_changed = p_changed, .node_alive = p_alive, .ctx = n };
	return ovg_state_new(&cfg, n->w->now, fresh ? NULL : n->saved, fresh ? 0 : n->saved_len);
}

static void run_reset(struct pnode *n)
{
	n->seen.n = 0;
	n->ntombs = 0;
}

/* ---- the network ------------------------------------------------------------------- */

static void send_msg(struct world *w, int from, int to, const uint8_t *data, size_t len)
{
	if (from == to || to < 0)
		return;
	w->sent++;
	if (chance(w, w->loss))
		return;
	int copies = chance(w, w->dup) ? 2 : 1;
	for (int c = 0; c < copies && w->nq < QUEUE_MAX; c++) {
		struct msg *m = &w->q[w->nq++];
		m->from = from;
		m->to = to;
		m->step = w->step;
		m->len = len;
		m->data = malloc(len);
		memcpy(m->data, data, len);
	}
}

static int random_peer(struct world *w, int self)
{
	if (w->nnodes < 2)
		return -1;
	int j = (int)rnd(w, (uint32_t)w->nnodes - 1);
	return j >= self ? j + 1 : j;
}

static void track_reinstance(struct pnode *n)
{
	struct ovg_state_stats s;
	ovg_state_get_stats(n->st, &s);
	if (s.reinstanced != n->reinstanced || s.instance != n->inst) {
		/* removed while away: starts over with nothing */
		n->reinstanced = s.reinstanced;
		n->inst = s.instance;
		n->ntrack = 0;
	}
}

/* What the daemon does after every state call: save, then send. */
static void post(struct world *w, struct pnode *n)
{
	size_t len;
	char to[OVG_STATE_NAME_MAX + 1];
	if (ovg_state_needs_save(n->st)) {
		free(n->saved);
		if (ovg_state_save(n->st, &n->saved, &n->saved_len))
			FAIL(w, "save failed on %s", n->name);
		struct ovg_state_stats s;
		ovg_state_get_stats(n->st, &s);
		n->saved_version = s.version;
	}
	track_reinstance(n);
	for (;;) {
		if (ovg_state_push_next(n->st, big, OVG_STATE_PIECE_MAX, &len)) {
			FAIL(w, "push_next failed on %s", n->name);
			break;
		}
		if (!len)
			break;
		for (int k = 0; k < 3; k++)
			send_msg(w, n->idx, random_peer(w, n->idx), big, len);
	}
	for (;;) {
		if (ovg_state_ipam_next(n->st, w->now, to, big, sizeof(big), &len)) {
			FAIL(w, "ipam_next failed on %s", n->name);
			break;
		}
		if (!len)
			break;
		struct pnode *t = by_name(w, to);
		if (!t)
			FAIL(w, "ipam request to unknown node %s", to);
		else
			send_msg(w, n->idx, t->idx, big, len);
	}
}

static void crash(struct world *w, struct pnode *n)
{
	TRACE("%d crash %s\n", w->step, n->name);
	ovg_state_free(n->st);
	n->st = NULL;
	w->crashes++;
}

static void receive(struct world *w, struct pnode *n, const struct msg *m)
{
	struct ovg_state_rx rx;
	size_t len;
	int rc = ovg_state_receive(n->st, w->now, m->data, m->len, &rx);
	if (rc && rc != -ESTALE) {
		FAIL(w, "receive on %s from n%d failed: %d", n->name, m->from, rc);
		return;
	}
	w->delivered++;
	if (rx.summary_differs) {
		/* the daemon answers a summary that differs with its digest */
		if (ovg_state_digest_encode(n->st, OVG_ENV_STATE_DIGEST, big, sizeof(big), &len) == 0)
			send_msg(w, n->idx, m->from, big, len);
		else
			FAIL(w, "digest encode failed");
	}
	if (rx.granted)
		TRACE("%d %s granted %u blocks to n%d\n", w->step, n->name, rx.granted, m->from);
	if (rx.forward)
		for (int k = 0; k < 2; k++)
			send_msg(w, n->idx, random_peer(w, n->idx), m->data, m->len);
	if (rx.send_request) {
		if (ovg_state_digest_encode(n->st, OVG_ENV_STATE_REQUEST, big, sizeof(big), &len) == 0)
			send_msg(w, n->idx, m->from, big, len);
		else
			FAIL(w, "digest encode failed");
	}
	if (rx.peer_lacks) {
		struct ovg_state_sync *s = ovg_state_sync_new(n->st, m->data, m->len);
		size_t cap = chance(w, 0.5) ? OVG_STATE_PIECE_MAX : 65536;
		if (!s) {
			FAIL(w, "sync_new failed");
			return;
		}
		for (;;) {
			if (ovg_state_sync_next(s, big, cap, &len)) {
				FAIL(w, "sync_next failed");
				break;
			}
			if (!len)
				break;
			if (len > cap)
				FAIL(w, "piece of %zu bytes over %zu", len, cap);
			send_msg(w, n->idx, m->from, big, len);
		}
		ovg_state_sync_free(s);
	}
	post(w, n);
}

static void deliver(struct world *w, int count)
{
	for (int i = 0; i < count && w->nq && !w->failed; i++) {
		size_t k = rnd(w, (uint32_t)w->nq);
		struct msg m = w->q[k];
		w->q[k] = w->q[--w->nq];
		struct pnode *to = &w->nodes[m.to], *from = &w->nodes[m.from];
		if (to->st && to->part == from->part)
			receive(w, to, &m);
		free(m.data);
	}
}

/* The daemon's tick: a summary, skipped when a peer matched us lately; now
 * and then a full digest instead (push-pull, sync-now). */
static void gossip_tick(struct world *w, struct pnode *n)
{
	size_t len;
	int j = random_peer(w, n->idx);
	if (j < 0)
		return;
	if (chance(w, 0.2)) {
		if (ovg_state_digest_encode(n->st, OVG_ENV_STATE_DIGEST, big, sizeof(big), &len))
			FAIL(w, "digest encode failed on %s", n->name);
		else
			send_msg(w, n->idx, j, big, len);
		return;
	}
	if (w->now >= 2000 && ovg_state_in_sync_since(n->st, w->now - 2000)) {
		w->suppressed++;
		return;
	}
	if (ovg_state_summary_encode(n->st, big, sizeof(big), &len))
		FAIL(w, "summary encode failed on %s", n->name);
	else
		send_msg(w, n->idx, j, big, len);
}

/* ---- operations ----------------------------------------------------------------------- */

struct netlist {
	int n;
	struct ovg_state_net v[64];
};

static int collect_net(void *ctx, const struct ovg_state_net *v)
{
	struct netlist *l = ctx;
	if (l->n < 64)
		l->v[l->n++] = *v;
	return 0;
}

static struct pnode *random_up(struct world *w)
{
	int up[MAX_NODES], n = 0;
	for (int i = 0; i < w->nnodes; i++)
		if (w->nodes[i].st)
			up[n++] = i;
	return n ? &w->nodes[up[rnd(w, (uint32_t)n)]] : NULL;
}

static struct pnode *random_down(struct world *w)
{
	int down[MAX_NODES], n = 0;
	for (int i = 0; i < w->nnodes; i++)
		if (!w->nodes[i].st)
			down[n++] = i;
	return n ? &w->nodes[down[rnd(w, (uint32_t)n)]] : NULL;
}

static int count_up(struct world *w)
{
	int n = 0;
	for (int i = 0; i < w->nnodes; i++)
		n += w->nodes[i].st != NULL;
	return n;
}

/* A state call's records are lost if the node dies before saving. */
static bool crash_before_save(struct world *w, struct pnode *n)
{
	if (count_up(w) > 1 && chance(w, 0.02)) {
		crash(w, n);
		return true;
	}
	return false;
}

static void op_create(struct world *w, struct pnode *n)
{
	char name[16], subnet[32], err[256];
	static const uint8_t prefixes[] = { 24, 26, 27, 28 };
	snprintf(name, sizeof(name), "net%u", rnd(w, NET_NAMES));
	struct ovg_state_net_spec spec = { .name = name, .attachable = !chance(w, 0.1) };
	if (chance(w, 0.5)) {
		uint8_t p = prefixes[rnd(w, sizeof(prefixes))];
		uint32_t base = 10u << 24 | (100 + rnd(w, 8)) << 16 | rnd(w, 4) << 8;
		base &= ~0u << (32 - p);
		snprintf(subnet, sizeof(subnet), "%u.%u.%u.%u/%u", base >> 24, (base >> 16) & 255,
			 (base >> 8) & 255, base & 255, p);
		spec.subnet = subnet;
	}
	if (chance(w, 0.5))
		spec.vni = 1 + rnd(w, 8);
	uint8_t id[16];
	int rc = ovg_state_net_create(n->st, w->now, &spec, id, err, sizeof(err));
	TRACE("%d %s create %s: %d %s %02x%02x%02x%02x\n", w->step, n->name, name, rc, err, id[0], id[1], id[2], id[3]);
	if (rc == 0) {
		if (crash_before_save(w, n))
			return;
		w->creates++;
	}
	post(w, n);
}

static void op_remove(struct world *w, struct pnode *n)
{
	struct netlist l = { 0 };
	char err[256];
	ovg_state_net_foreach(n->st, collect_net, &l);
	if (!l.n)
		return;
	const struct ovg_state_net *v = &l.v[rnd(w, (uint32_t)l.n)];
	int rc = ovg_state_net_remove(n->st, w->now, v->id, err, sizeof(err));
	if (rc == 0) {
		if (crash_before_save(w, n))
			return;
		w->removes++;
		idset_add(&w->deleted, v->id);
	} else if (rc != -EBUSY) {
		FAIL(w, "remove of %s on %s: %d %s", v->name, n->name, rc, err);
	}
	post(w, n);
}

static void op_attach(struct world *w, struct pnode *n)
{
	struct netlist l = { 0 };
	char name[16], ipbuf[16], err[256];
	struct ovg_state_ep ep;
	ovg_state_net_foreach(n->st, collect_net, &l);
	if (!l.n)
		return;
	const struct ovg_state_net *v = &l.v[rnd(w, (uint32_t)l.n)];
	snprintf(name, sizeof(name), "ep%u", rnd(w, EP_NAMES));
	const char *ip = NULL;
	if (chance(w, 0.1)) {
		uint32_t a = v->subnet + rnd(w, 1u << (32 - v->prefix));
		snprintf(ipbuf, sizeof(ipbuf), "%u.%u.%u.%u", a >> 24, (a >> 16) & 255, (a >> 8) & 255, a & 255);
		ip = ipbuf;
	}
	int rc = ovg_state_ep_attach(n->st, w->now, v->id, name, ip, &ep, err, sizeof(err));
	TRACE("%d %s attach %s to %s: %d %s %08x g%u\n", w->step, n->name, name, v->name, rc, rc ? err : "", rc ? 0 : ep.ip, rc ? 0 : ep.block_gen);
	if (rc == 0) {
		if (crash_before_save(w, n))
			return;
		w->attaches++;
		post(w, n);
		if (n->ntrack < MAX_TRACK && n->st) {
			struct tracked *t = &n->track[n->ntrack++];
			memcpy(t->net, v->id, 16);
			snprintf(t->name, sizeof(t->name), "%s", name);
			t->ip = ep.ip;
		}
		return;
	}
	if (rc != -EAGAIN && rc != -EEXIST && rc != -EADDRINUSE && rc != -ENOSPC && rc != -EPERM &&
	    rc != -EINVAL)
		FAIL(w, "attach %s on %s: %d %s", name, n->name, rc, err);
	post(w, n);
}

static void op_detach(struct world *w, struct pnode *n)
{
	char err[256];
	if (!n->ntrack)
		return;
	int k = (int)rnd(w, (uint32_t)n->ntrack);
	struct tracked t = n->track[k];
	int rc = ovg_state_ep_detach(n->st, w->now, t.net, t.name, err, sizeof(err));
	TRACE("%d %s detach %s: %d\n", w->step, n->name, t.name, rc);
	if (rc == 0 && crash_before_save(w, n))
		return;
	if (rc == 0 || rc == -ENOENT) {
		struct ovg_state_net v;
		/* -ENOENT only because its network was deleted meanwhile */
		if (rc == -ENOENT && ovg_state_net_get(n->st, t.net, &v) == 0)
			FAIL(w, "detach %s on %s: endpoint vanished from a live network %s", t.name, n->name, v.name);
		n->track[k] = n->track[--n->ntrack];
		w->detaches += rc == 0;
	} else {
		FAIL(w, "detach %s on %s: %d %s", t.name, n->name, rc, err);
	}
	post(w, n);
}

static void op_restart(struct world *w, struct pnode *n, bool wipe)
{
	/* The contract for node rm: a removed node does not come back with its
	 * old state dir (it would hand out blocks it no longer owns until it
	 * meets a node that knows of its removal). */
	bool reinstall = n->removed;
	n->removed = false;
	if (wipe || reinstall) {
		/* the state dir is lost: a new instance, which retires the old one */
		if (wipe)
			mark_removed(w, n->inst);
		n->wiped = wipe;
		free(n->saved);
		n->saved = NULL;
		n->saved_len = 0;
		n->gone.n = 0;
		n->ntrack = 0;
		w->wipes++;
	}
	n->st = p_open(n, n->saved == NULL);
	TRACE("%d restart %s%s\n", w->step, n->name, wipe ? " wiped" : "");
	if (!n->st) {
		FAIL(w, "restart of %s failed: %s", n->name, strerror(errno));
		return;
	}
	run_reset(n);
	struct ovg_state_stats s;
	ovg_state_get_stats(n->st, &s);
	if (!wipe && !reinstall && n->inst && s.instance != n->inst)
		FAIL(w, "restart of %s changed its instance", n->name);
	n->inst = s.instance;
	n->reinstanced = s.reinstanced;
	post(w, n);
}

/* Our watermark for an instance, from our digest. */
static uint64_t wm_of(struct ovg_state *st, uint64_t inst)
{
	static struct ovg_state_wdigest d;
	size_t len;
	if (ovg_state_digest_encode(st, OVG_ENV_STATE_DIGEST, big, sizeof(big), &len) ||
	    ovg_state_wdigest_decode(big + OVG_ENV_HDR_LEN, len - OVG_ENV_HDR_LEN, &d))
		return 0;
	for (uint32_t i = 0; i < d.count; i++)
		if (d.entries[i].instance == inst)
			return d.entries[i].version;
	return 0;
}

/* What a node, a down node's state dir or a digest on its way says it holds
 * of an instance: "stale" if it knows the instance (wm of it > 0) but not
 * up to a version (of the same or another instance). */
static uint64_t digest_wm(const struct ovg_state_wdigest *d, uint64_t inst)
{
	for (uint32_t i = 0; i < d->count; i++)
		if (d->entries[i].instance == inst)
			return d->entries[i].version;
	return 0;
}

static bool stale_digest(const struct ovg_state_wdigest *d, uint64_t knows, uint64_t inst, uint64_t version)
{
	return digest_wm(d, knows) > 0 && digest_wm(d, inst) < version;
}

/* Every node (up, or down and not removed), and every digest still on its
 * way, that knows instance `knows` holds `inst` up to `version`. */
static bool all_know(struct world *w, struct pnode *x, uint64_t knows, uint64_t inst, uint64_t version,
		     struct pnode *only, bool everyone)
{
	static struct ovg_state_wdigest d;
	for (size_t k = 0; k < w->nq && !only; k++) {
		const struct msg *m = &w->q[k];
		if (m->len < OVG_ENV_HDR_LEN || (m->data[2] != OVG_ENV_STATE_DIGEST && m->data[2] != OVG_ENV_STATE_REQUEST))
			continue;
		if (ovg_state_wdigest_decode(m->data + OVG_ENV_HDR_LEN, m->len - OVG_ENV_HDR_LEN, &d) == 0 &&
		    stale_digest(&d, knows, inst, version))
			return false;
	}
	for (int i = 0; i < w->nnodes; i++) {
		struct pnode *n = &w->nodes[i];
		struct ovg_state *st = n->st;
		size_t len;
		bool ok = true;
		if (n == x || (only && n != only) || (!st && n->removed))
			continue;       /* a removed node's state dir is never used again */
		if (!st && n->saved)     /* a down node: what its state dir says */
			st = p_open(n, false);
		if (!st)
			continue;
		if (ovg_state_digest_encode(st, OVG_ENV_STATE_DIGEST, big, sizeof(big), &len) == 0 &&
		    ovg_state_wdigest_decode(big + OVG_ENV_HDR_LEN, len - OVG_ENV_HDR_LEN, &d) == 0)
			ok = !stale_digest(&d, knows, inst, version) &&
			     (!(only || everyone) || digest_wm(&d, inst) >= version);
		if (st != n->st)
			ovg_state_free(st);
		if (!ok) {
			if (trace)
				printf("%d: %s does not know %016" PRIx64 " up to %" PRIu64 "\n", w->step, n->name, inst,
				       version);
			return false;
		}
	}
	return true;
}

/* The contract for node rm and for a lost state dir: the dead instance's last
 * records have spread (to the remover; to everyone, as the new instance will
 * learn them from anyone and retire the old one once caught up). */
static bool last_words_spread(struct world *w, struct pnode *x, struct pnode *to)
{
	return all_know(w, x, x->inst, x->inst, x->saved_version, to, to == NULL);
}

/* The contract for coming back after node rm (as a new install): everyone
 * who knows the removed instance has heard of the removal, so the new
 * instance does not retire the old one a second time, racing the remover. */
static bool rm_spread(struct world *w, struct pnode *x)
{
	return all_know(w, x, x->inst, x->rm_by_inst, x->rm_version, NULL, false);
}

/* node rm of a down node, from a running one; the oracle learns which
 * instance is gone only if the remover knew it. */
static void op_node_rm(struct world *w, struct pnode *r, struct pnode *x)
{
	char err[256];
	size_t len;
	/* operators do not run node rm for one node on two nodes at once: a
	 * second one comes after the first has spread (and gets -EALREADY) */
	if (!last_words_spread(w, x, r) || (x->removed && !rm_spread(w, x)))
		return;
	TRACE("%d %s node rm %s: wm %" PRIu64 " saved %" PRIu64 "\n", w->step, r->name, x->name, wm_of(r->st, x->inst), x->saved_version);
	int rc = ovg_state_node_rm(r->st, w->now, x->name, err, sizeof(err));
	TRACE("%d %s node rm %s: %d\n", w->step, r->name, x->name, rc);
	if (rc == 0) {
		static struct ovg_state_wdigest d;
		if (ovg_state_digest_encode(r->st, OVG_ENV_STATE_DIGEST, big, sizeof(big), &len) == 0 &&
		    ovg_state_wdigest_decode(big + OVG_ENV_HDR_LEN, len - OVG_ENV_HDR_LEN, &d) == 0) {
			for (uint32_t i = 0; i < d.count; i++)
				if (d.entries[i].instance == x->inst) {
					struct ovg_state_stats rs;
					ovg_state_get_stats(r->st, &rs);
					mark_removed(w, x->inst);
					x->removed = true;
					x->rm_by = r->idx;
					x->rm_by_inst = rs.instance;
					x->rm_version = rs.version;
					x->rm_step = w->step;
				}
		}
		w->rms++;
	} else if (rc != -ENOENT && rc != -EALREADY && rc != -EAGAIN) {
		FAIL(w, "node rm %s on %s: %d %s", x->name, r->name, rc, err);
	}
	post(w, r);
}

static void op_leave(struct world *w, struct pnode *n)
{
	char err[256];
	int rc = ovg_state_leave(n->st, w->now, err, sizeof(err));
	TRACE("%d %s leave: %d\n", w->step, n->name, rc);
	if (rc) {
		FAIL(w, "leave of %s: %d %s", n->name, rc, err);
		return;
	}
	post(w, n);
	n->ntrack = 0;
	w->leaves++;
	crash(w, n);
}

static void op_partition(struct world *w)
{
	if (chance(w, 0.5)) {
		for (int i = 0; i < w->nnodes; i++)
			w->nodes[i].part = 0;
		TRACE("%d heal\n", w->step);
		return;
	}
	for (int i = 0; i < w->nnodes; i++)
		w->nodes[i].part = (int)rnd(w, 2);
	TRACE("%d partition\n", w->step);
}

/* ---- checks ------------------------------------------------------------------------- */

struct eplist {
	int n;
	struct ovg_state_ep v[1024];
};

static int collect_ep(void *ctx, const struct ovg_state_ep *e)
{
	struct eplist *l = ctx;
	if (l->n < 1024)
		l->v[l->n++] = *e;
	return 0;
}

static uint64_t tomb_key(const struct ovg_state_ep *e)
{
	uint64_t h = 0xcbf29ce484222325ull;
	const uint8_t *p = e->net_id;
	for (int i = 0; i < 16; i++)
		h = (h ^ p[i]) * 0x100000001b3ull;
	for (const char *c = e->raw_name; *c; c++)
		h = (h ^ (uint8_t)*c) * 0x100000001b3ull;
	return (h ^ e->node_instance) * 0x9e3779b97f4a7c15ull;
}

static void check_tomb(struct world *w, struct pnode *n, const struct ovg_state_ep *e)
{
	uint64_t key = tomb_key(e);
	for (uint32_t i = 0; i < n->ntombs; i++) {
		if (n->tombs[i].key != key)
			continue;
		if (e->detached) {
			if (e->version > n->tombs[i].version)
				n->tombs[i].version = e->version;
		} else if (e->version <= n->tombs[i].version) {
			FAIL(w, "%s: endpoint %s of %s came back after its detach (version %" PRIu64 ")", n->name,
			     e->raw_name, e->node, e->version);
		}
		return;
	}
	if (!e->detached)
		return;
	if (n->ntombs == n->tombs_cap) {
		n->tombs_cap = n->tombs_cap ? 2 * n->tombs_cap : 256;
		n->tombs = realloc(n->tombs, n->tombs_cap * sizeof(*n->tombs));
	}
	n->tombs[n->ntombs++] = (struct tomb){ key, e->version };
}

/* addresses and blocks claimed by running nodes, per network */
struct claim {
	uint8_t net[16];
	uint32_t gen;
	bool retired;           /* taken from an own lost instance (documented race) */
	char from[16];
	uint32_t key;           /* ip, or block index */
	bool block;
	int node;
};

static struct claim claims[1 << 16];
static int nclaims;

static void claim(struct world *w, const uint8_t net[16], uint32_t key, bool block, int node, uint32_t gen,
		  const char *from, bool retired)
{
	for (int i = 0; i < nclaims; i++) {
		struct claim *c = &claims[i];
		if (c->block == block && c->key == key && memcmp(c->net, net, 16) == 0 && c->node != node &&
		    !c->retired && !retired) {
			if (!w->failed) {
				w->dump_a = c->node;
				w->dump_b = node;
				memcpy(w->dump_net, net, 4);
			}
			FAIL(w, "%s and %s both own %s %u (gen %u from %s / %u from %s) of network %02x%02x%02x%02x",
			     w->nodes[c->node].name, w->nodes[node].name, block ? "block" : "address", key, c->gen,
			     c->from, gen, from, net[0], net[1], net[2], net[3]);
			return;
		}
	}
	if (nclaims < (int)OVG_ARRAY_SIZE(claims)) {
		claims[nclaims] = (struct claim){ .key = key, .block = block, .node = node, .gen = gen,
						  .retired = retired };
		snprintf(claims[nclaims].from, sizeof(claims[nclaims].from), "%s", from);
		memcpy(claims[nclaims].net, net, 16);
		nclaims++;
	}
}

struct block_ctx {
	struct pnode *n;
	const uint8_t *net;
};

static int claim_block(void *ctx, const struct ovg_state_block *b)
{
	struct block_ctx *c = ctx;
	if (b->local)
		claim(c->n->w, c->net, b->index, true, c->n->idx, b->gen, b->from,
		      c->n->wiped && b->from_instance == b->owner_instance);
	return 0;
}

/* Is this address in a block we took back from our own lost instance? */
struct rb_ctx {
	uint32_t ip;
	bool yes;
};

static int rb_cb(void *ctx, const struct ovg_state_block *b)
{
	struct rb_ctx *c = ctx;
	if (c->ip - b->first < b->size)
		c->yes = b->from_instance == b->owner_instance;
	return 0;
}

static bool retired_block(struct pnode *n, const struct ovg_state_net *v, uint32_t ip)
{
	struct rb_ctx c = { ip, false };
	ovg_state_block_foreach(n->st, v->id, rb_cb, &c);
	return c.yes;
}

static void check_node(struct world *w, struct pnode *n)
{
	static struct netlist l;
	static struct eplist e;
	bool exempt = removed_inst(w, n->inst);
	l.n = 0;
	ovg_state_net_foreach(n->st, collect_net, &l);
	for (uint32_t i = 0; i < n->seen.n; i++) {
		bool present = false;
		for (int k = 0; k < l.n; k++)
			present |= memcmp(l.v[k].id, n->seen.id[i], 16) == 0;
		if (!present)
			idset_add(&n->gone, n->seen.id[i]);
	}
	for (int k = 0; k < l.n; k++) {
		const struct ovg_state_net *v = &l.v[k];
		if (idset_has(&n->gone, v->id))
			FAIL(w, "%s: deleted network %s (%s) is back", n->name, v->name, v->id_hex);
		for (int j = 0; j < k; j++)
			if (strcmp(l.v[j].name, v->name) == 0)
				FAIL(w, "%s: two networks shown as %s", n->name, v->name);
		for (int j = 0; j < k; j++)
			if (l.v[j].live && v->live && l.v[j].vni == v->vni)
				FAIL(w, "%s: two live networks with VNI %u", n->name, v->vni);
		idset_add(&n->seen, v->id);
		e.n = 0;
		ovg_state_ep_foreach(n->st, v->id, true, collect_ep, &e);
		uint32_t mask = ~0u << (32 - v->prefix);
		for (int a = 0; a < e.n; a++) {
			const struct ovg_state_ep *x = &e.v[a];
			check_tomb(w, n, x);
			if (!x->live)
				continue;
			if ((x->ip & mask) != v->subnet || x->ip == v->subnet || x->ip == (v->subnet | ~mask) ||
			    x->ip == v->gateway)
				FAIL(w, "%s: endpoint %s has address %08x outside or reserved in %s", n->name, x->name,
				     x->ip, v->name);
			for (int b = 0; b < a; b++) {
				const struct ovg_state_ep *y = &e.v[b];
				if (!y->live)
					continue;
				if (y->ip == x->ip)
					FAIL(w, "%s: live endpoints %s and %s share address %08x in %s", n->name, x->name,
					     y->name, x->ip, v->name);
				if (strcmp(y->name, x->name) == 0)
					FAIL(w, "%s: two live endpoints named %s in %s", n->name, x->name, v->name);
			}
			if (x->local && !exempt)
				claim(w, v->id, x->ip, false, n->idx, 0, "", n->wiped && retired_block(n, v, x->ip));
		}
		if (!exempt) {
			struct block_ctx c = { n, v->id };
			ovg_state_block_foreach(n->st, v->id, claim_block, &c);
		}
	}
}

static void check_step(struct world *w)
{
	nclaims = 0;
	for (int i = 0; i < w->nnodes && !w->failed; i++)
		if (w->nodes[i].st)
			check_node(w, &w->nodes[i]);
}

/* Debugging: every record a replica holds (of one network, and node
 * removals), through a full sync against an empty digest. */
static void dump_records(struct pnode *n, const uint8_t net[4])
{
	static uint8_t piece[1 << 20];
	uint8_t empty[] = { OVG_ENV_MAGIC, OVG_ENV_VERSION, OVG_ENV_STATE_DIGEST, 0x90 };
	struct ovg_state_sync *s = ovg_state_sync_new(n->st, empty, sizeof(empty));
	size_t len;
	printf("  records held by %s:\n", n->name);
	{
		static struct ovg_state_wdigest d;
		size_t dl;
		if (ovg_state_digest_encode(n->st, OVG_ENV_STATE_DIGEST, piece, sizeof(piece), &dl) == 0 &&
		    ovg_state_wdigest_decode(piece + 3, dl - 3, &d) == 0) {
			printf("   digest:");
			for (uint32_t i = 0; i < d.count; i++)
				printf(" %.*s/%04" PRIx64 "=%" PRIu64, (int)d.entries[i].name.len, d.entries[i].name.p,
				       d.entries[i].instance & 0xffff, d.entries[i].version);
			printf("\n");
		}
	}
	while (s && ovg_state_sync_next(s, piece, sizeof(piece), &len) == 0 && len) {
		struct ovg_state_wdelta_iter it;
		struct ovg_state_wsection sec;
		struct ovg_state_wrec r;
		ovg_state_wdelta_begin(piece + 3, len - 3, &it);
		while (ovg_state_wdelta_section(&it, &sec) == 0) {
			printf("   %.*s/%04" PRIx64 " (%" PRIu64 ", %" PRIu64 "]:", (int)sec.name.len, sec.name.p,
			       sec.instance & 0xffff, sec.from, sec.to);
			while (ovg_state_wdelta_record(&it, &r) == 0) {
				if (r.kind == OVG_REC_XFER && memcmp(r.id, net, 4) == 0)
					printf(" v%" PRIu64 ":xfer b%u g%u->%.*s/%04" PRIx64, r.version, r.block, r.gen,
					       (int)r.name.len, r.name.p, r.instance & 0xffff);
				else if (r.kind == OVG_REC_NODERM)
					printf(" v%" PRIu64 ":rm %.*s/%04" PRIx64 "@%" PRIu64, r.version, (int)r.name.len,
					       r.name.p, r.instance & 0xffff, r.target_version);
				else if ((r.kind == OVG_REC_NET || r.kind == OVG_REC_NETDEL) && memcmp(r.id, net, 4) == 0)
					printf(" v%" PRIu64 ":%s", r.version, r.kind == OVG_REC_NET ? "net" : "netdel");
			}
			printf("\n");
		}
	}
	ovg_state_sync_free(s);
}

/* ---- quiescence and convergence ---------------------------------------------------------- */

static void drain(struct world *w)
{
	size_t budget = 5000000;
	while (w->nq && budget-- && !w->failed)
		deliver(w, 1);
}

static bool rm_spread(struct world *w, struct pnode *x);

/* Digests list the sender first: compare them as sets. */
static int entry_cmp(const void *a, const void *b)
{
	const struct ovg_state_wdigest_entry *x = a, *y = b;
	return x->instance < y->instance ? -1 : x->instance > y->instance ? 1 :
	       x->version < y->version ? -1 : x->version > y->version;
}

static bool digests_equal(struct world *w)
{
	static struct ovg_state_wdigest d0, di;
	static uint8_t b0[1 << 16];
	size_t len;
	for (int i = 0; i < w->nnodes; i++) {
		struct ovg_state_wdigest *d = i ? &di : &d0;
		uint8_t *b = i ? big : b0;
		if (ovg_state_digest_encode(w->nodes[i].st, OVG_ENV_STATE_DIGEST, b, sizeof(b0), &len) ||
		    ovg_state_wdigest_decode(b + OVG_ENV_HDR_LEN, len - OVG_ENV_HDR_LEN, d))
			return false;
		qsort(d->entries, d->count, sizeof(d->entries[0]), entry_cmp);
		if (i && (di.count != d0.count ||
			  memcmp(di.entries, d0.entries, d0.count * sizeof(d0.entries[0])) != 0)) {
			/* names are views into different buffers: compare fields */
			if (di.count != d0.count)
				return false;
			for (uint32_t k = 0; k < d0.count; k++)
				if (di.entries[k].instance != d0.entries[k].instance ||
				    di.entries[k].version != d0.entries[k].version)
					return false;
		}
	}
	return true;
}

static int dump_net(void *ctx, const struct ovg_state_net *v)
{
	char *out = ctx;
	size_t len = strlen(out);
	snprintf(out + len, 65536 - len, "%s %s %u %08x/%u %08x %d %d %u|", v->id_hex, v->name, v->vni, v->subnet,
		 v->prefix, v->gateway, v->attachable, v->live, v->conflict);
	return 0;
}

static int dump_ep(void *ctx, const struct ovg_state_ep *e)
{
	char *out = ctx;
	size_t len = strlen(out);
	snprintf(out + len, 65536 - len, "%s %s %016" PRIx64 " %08x %d %d %u|", e->name, e->node, e->node_instance,
		 e->ip, e->live, e->detached, e->conflict);
	return 0;
}

static void dump_view(struct pnode *n, char *out)
{
	static struct netlist l;
	out[0] = 0;
	l.n = 0;
	ovg_state_net_foreach(n->st, dump_net, out);
	ovg_state_net_foreach(n->st, collect_net, &l);
	for (int k = 0; k < l.n; k++)
		ovg_state_ep_foreach(n->st, l.v[k].id, true, dump_ep, out);
}

static int print_block(void *ctx, const struct ovg_state_block *b)
{
	(void)ctx;
	printf(" b%u:%s/%04" PRIx64 "g%u", b->index, b->owner, b->owner_instance & 0xffff, b->gen);
	return 0;
}

static int find_tracked(void *ctx, const struct ovg_state_ep *e)
{
	struct ovg_state_ep *want = ctx;
	if (e->local && strcmp(e->raw_name, want->raw_name) == 0) {
		*want = *e;
		return 1;
	}
	return 0;
}

static int no_removed_owner(void *ctx, const struct ovg_state_block *b)
{
	struct world *w = ctx;
	if (removed_inst(w, b->owner_instance))
		FAIL(w, "block %u still with removed instance of %s", b->index, b->owner);
	return 0;
}

static void converge(struct world *w)
{
	w->loss = 0;
	w->dup = 0;
	for (int i = 0; i < w->nnodes; i++)
		w->nodes[i].part = 0;
	int rounds = 0;
	for (; rounds < 60 && !w->failed; rounds++) {
		bool all_up = true;
		for (int i = 0; i < w->nnodes && !w->failed; i++) {
			struct pnode *n = &w->nodes[i];
			if (!n->st && (!n->removed || rm_spread(w, n)))
				op_restart(w, n, false);
			all_up &= n->st != NULL;
		}
		drain(w);
		check_step(w);
		if (all_up && digests_equal(w) && rounds > 1)
			break;
		for (int i = 0; i < w->nnodes; i++)
			for (int j = 0; j < w->nnodes; j++) {
				size_t len;
				if (i == j || !w->nodes[i].st)
					continue;
				/* summaries only: a difference brings the digest */
				ovg_state_summary_encode(w->nodes[i].st, big, sizeof(big), &len);
				send_msg(w, i, j, big, len);
			}
		w->now += 1000;
	}
	if (w->failed)
		return;
	if (rounds >= 60)
		FAIL(w, "no convergence after %d anti-entropy rounds", rounds);
	uint64_t h0 = ovg_state_hash(w->nodes[0].st);
	static char v0[65536], vi[65536];
	dump_view(&w->nodes[0], v0);
	for (int i = 1; i < w->nnodes && !w->failed; i++) {
		if (ovg_state_hash(w->nodes[i].st) != h0) {
			FAIL(w, "stored state of %s differs from n0's after quiescence", w->nodes[i].name);
			w->dump_a = 0;
			w->dump_b = i;
		}
		dump_view(&w->nodes[i], vi);
		if (strcmp(v0, vi) != 0)
			FAIL(w, "view of %s differs from n0's after quiescence", w->nodes[i].name);
	}
	/* no address clash at all, no block left with a removed instance */
	static struct netlist l;
	static struct eplist e;
	l.n = 0;
	ovg_state_net_foreach(w->nodes[0].st, collect_net, &l);
	for (int k = 0; k < l.n && !w->failed; k++) {
		if (idset_has(&w->deleted, l.v[k].id))
			FAIL(w, "deleted network %s is listed after quiescence", l.v[k].name);
		e.n = 0;
		ovg_state_ep_foreach(w->nodes[0].st, l.v[k].id, true, collect_ep, &e);
		for (int a = 0; a < e.n; a++)
			if (e.v[a].conflict & OVG_STATE_CONFLICT_IP)
				FAIL(w, "endpoint %s of %s lost an address clash in %s", e.v[a].name, e.v[a].node,
				     l.v[k].name);
		ovg_state_block_foreach(w->nodes[0].st, l.v[k].id, no_removed_owner, w);
	}
	/* what was attached is there, with its address */
	for (int i = 0; i < w->nnodes && !w->failed; i++) {
		struct pnode *n = &w->nodes[i];
		for (int t = 0; t < n->ntrack; t++) {
			struct ovg_state_ep want = { 0 };
			struct ovg_state_net v;
			snprintf(want.raw_name, sizeof(want.raw_name), "%s", n->track[t].name);
			if (ovg_state_net_get(n->st, n->track[t].net, &v) != 0)
				continue;       /* its network was deleted */
			if (ovg_state_ep_foreach(n->st, n->track[t].net, false, find_tracked, &want) != 1) {
				struct ovg_state_ep any = { 0 };
				snprintf(any.raw_name, sizeof(any.raw_name), "%s", n->track[t].name);
				int found = ovg_state_ep_foreach(n->st, n->track[t].net, true, find_tracked, &any);
				if (!w->failed) {
					w->dump_a = n->idx;
					memcpy(w->dump_net, n->track[t].net, 4);
					printf("  net %s %08x/%u; blocks:", v.name, v.subnet, v.prefix);
					ovg_state_block_foreach(n->st, n->track[t].net, print_block, NULL);
					printf("\n");
				}
				FAIL(w, "%s: attached endpoint %s is not live in %s (held: %d, ip %08x gen %u v%" PRIu64
				     " detached %d conflict %u, attached with %08x)", n->name, n->track[t].name, v.name, found,
				     any.ip, any.block_gen, any.version, any.detached, any.conflict, n->track[t].ip);
			}
			else if (want.ip != n->track[t].ip)
				FAIL(w, "%s: endpoint %s changed address", n->name, want.name);
		}
	}
}

/* ---- a run ---------------------------------------------------------------------------------- */

static int run(uint64_t seed, int ops, int nnodes, bool verbose)
{
	struct world *w = calloc(1, sizeof(*w));
	int rc;
	w->seed = seed;
	w->dump_a = w->dump_b = -1;
	w->ops = ops;
	w->nnodes = nnodes;
	w->rng.s = seed;
	w->now = 1000000;
	w->q = calloc(QUEUE_MAX, sizeof(*w->q));
	w->loss = 0.05 + 0.2 * (double)(seed % 4) / 4;
	w->dup = 0.05;
	printf("SEED=%" PRIu64 " ops=%d nodes=%d\n", seed, ops, nnodes);
	fflush(stdout);
	for (int i = 0; i < nnodes; i++) {
		struct pnode *n = &w->nodes[i];
		n->idx = i;
		n->w = w;
		snprintf(n->name, sizeof(n->name), "n%d", i % 100);
		n->rng.s = seed * 1000003 + (uint64_t)i;
		op_restart(w, n, false);
	}
	for (w->step = 0; w->step < ops && !w->failed; w->step++) {
		w->now += 1 + rnd(w, 60);
		uint32_t r = rnd(w, 1000);
		struct pnode *n = random_up(w);
		if (!n)
			n = &w->nodes[0];
		if (r < 300) {
			deliver(w, 1 + (int)rnd(w, 20));
		} else if (r < 400) {
			if (n->st)
				gossip_tick(w, n);
		} else if (r < 460) {
			if (n->st)
				op_create(w, n);
		} else if (r < 500) {
			if (n->st)
				op_remove(w, n);
		} else if (r < 720) {
			if (n->st)
				op_attach(w, n);
		} else if (r < 800) {
			if (n->st)
				op_detach(w, n);
		} else if (r < 815) {
			if (n->st && count_up(w) > 1)
				crash(w, n);
		} else if (r < 850) {
			struct pnode *d = random_down(w);
			if (d && (!d->removed || rm_spread(w, d)))
				op_restart(w, d, chance(w, 0.1) && last_words_spread(w, d, NULL));
		} else if (r < 865) {
			op_partition(w);
		} else if (r < 872) {
			struct pnode *d = random_down(w);
			if (d && n->st && d != n)
				op_node_rm(w, n, d);
		} else if (r < 877) {
			if (n->st && count_up(w) > 1)
				op_leave(w, n);
		} else {
			/* time passes: IPAM retries fall due */
			w->now += rnd(w, 1500);
			for (int i = 0; i < nnodes; i++)
				if (w->nodes[i].st)
					post(w, &w->nodes[i]);
		}
		if (!w->failed)
			check_step(w);
	}
	if (!w->failed)
		converge(w);
	if (verbose || w->failed) {
		struct ovg_state_stats s = { 0 };
		if (w->nodes[0].st)
			ovg_state_get_stats(w->nodes[0].st, &s);
		printf("  steps=%d sent=%" PRIu64 " delivered=%" PRIu64 " creates=%" PRIu64 " removes=%" PRIu64
		       " attaches=%" PRIu64 " detaches=%" PRIu64 " crashes=%" PRIu64 " rms=%" PRIu64
		       " leaves=%" PRIu64 " wipes=%" PRIu64 " records=%u owners=%u suppressed ticks=%" PRIu64 "\n",
		       w->step, w->sent, w->delivered, w->creates, w->removes, w->attaches, w->detaches, w->crashes,
		       w->rms, w->leaves, w->wipes, s.records, s.owners, w->suppressed);
	}
	if (w->failed && w->dump_a >= 0) {
		for (int i = 0; i < nnodes; i++)
			if ((i == w->dump_a || i == w->dump_b) && w->nodes[i].st)
				dump_records(&w->nodes[i], w->dump_net);
	}
	if (w->failed) {
		printf("FAILED at step %d: %s\n", w->step, w->why);
		printf("reproduce: build/tests/test_state_prop --seed %" PRIu64 " --ops %d --nodes %d\n", seed, ops,
		       nnodes);
	}
	rc = w->failed ? 1 : 0;
	for (int i = 0; i < nnodes; i++) {
		ovg_state_free(w->nodes[i].st);
		free(w->nodes[i].saved);
		free(w->nodes[i].tombs);
	}
	for (size_t i = 0; i < w->nq; i++)
		free(w->q[i].data);
	free(w->q);
	free(w);
	fflush(stdout);
	return rc;
}

/* ---- Check ---------------------------------------------------------------------------------- */

START_TEST(three_replicas_converge_safely)
{
	ck_assert_int_eq(run(1, 3000, 3, true), 0);
	ck_assert_int_eq(run(2, 3000, 3, true), 0);
}
END_TEST

START_TEST(ten_replicas_converge_safely)
{
	ck_assert_int_eq(run(3, 2500, 10, true), 0);
	ck_assert_int_eq(run(4, 2500, 10, true), 0);
}
END_TEST

START_TEST(thirty_replicas_converge_safely)
{
	ck_assert_int_eq(run(5, 1500, 30, true), 0);
}
END_TEST

int main(int argc, char **argv)
{
	trace = getenv("OVG_TRACE") != NULL;
	if (argc > 1) {
		uint64_t seed = 1;
		int ops = 3000, nodes = 10;
		for (int i = 1; i < argc; i++) {
			if (strcmp(argv[i], "--seed") == 0 && i + 1 < argc)
				seed = strtoull(argv[++i], NULL, 0);
			else if (strcmp(argv[i], "--ops") == 0 && i + 1 < argc)
				ops = atoi(argv[++i]);
			else if (strcmp(argv[i], "--nodes") == 0 && i + 1 < argc)
				nodes = atoi(argv[++i]);
			else {
				fprintf(stderr, "usage: %s [--seed N] [--ops M] [--nodes K]\n", argv[0]);
				return 2;
			}
		}
		if (nodes < 1 || nodes > MAX_NODES || ops < 0) {
			fprintf(stderr, "nodes 1..%d\n", MAX_NODES);
			return 2;
		}
		return run(seed, ops, nodes, true);
	}
	Suite *s = suite_create("state_prop");
	TCase *tc = tcase_create("prop");
	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, three_replicas_converge_safely);
	tcase_add_test(tc, ten_replicas_converge_safely);
	tcase_add_test(tc, thirty_replicas_converge_safely);
	suite_add_tcase(s, tc);
	SRunner *sr = srunner_create(s);
	srunner_run_all(sr, CK_ENV);
	int failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? 1 : 0;
}
