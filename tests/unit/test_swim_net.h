/*
 * In-process fake network and virtual clock for SWIM tests: several struct
 * ovg_swim instances, packets delivered through their send callbacks after a
 * seeded random latency, with configurable random loss, partitions (a node's
 * links cut), crashes and restarts. TCP pings and push-pull exchanges are
 * simulated too. Everything is driven by one seed, so runs reproduce.
 *
 * Packets go through the real framing: ovg_packet_seal (CRC when asked, no
 * encryption) on send and ovg_packet_open on receive.
 */
#ifndef TEST_SWIM_NET_H
#define TEST_SWIM_NET_H

#include <check.h>
#include <stdio.h>
#include <stdlib.h>

#include "ovg/frame.h"
#include "ovg/swim.h"

#define NET_NODES_MAX 64
#define NET_EVLOG_MAX 4096

enum net_ev_kind { NET_PKT, NET_TCP_RESULT, NET_PP_REQ, NET_PP_REPLY };

struct net_ev {
	uint64_t at;
	enum net_ev_kind kind;
	int to;                       /* node index */
	int gen;                      /* generation of `to` when sent */
	struct ovg_addr from;
	uint32_t seq;
	bool ok, join;
	int from_node;
	uint8_t *data;
	size_t len;
};

struct net_evlog {
	uint64_t at;
	enum ovg_swim_event ev;
	char name[32];
	uint32_t inc;
};

struct net;

struct net_node {
	struct net *net;
	int id;
	int gen;                      /* bumps on every restart */
	char name[32];
	struct ovg_addr addr;
	struct ovg_swim *s;
	bool up;
	bool cut;                     /* partitioned: all its packets dropped */
	struct ovg_splitmix rng_state;
	/* observations */
	struct net_evlog log[NET_EVLOG_MAX];
	size_t nlog;
	uint64_t pings_sent;          /* probe pings we saw leave this node */
	uint64_t user_msgs;
	uint8_t user_seen[256];       /* dedup for the user message test */
};

struct net {
	struct net_node nodes[NET_NODES_MAX];
	int n;
	uint64_t now;
	struct ovg_splitmix rng;
	double loss;
	double tcp_loss;              /* chance a TCP ping fails although the peer is up */
	struct net_ev *evs;           /* binary heap on `at` */
	size_t nevs, capevs;
	uint64_t pkts_sent, pkts_lost;
	struct ovg_swim_config base;  /* config for new nodes */
	bool no_tcp;
	bool no_push_pull;
};

static double net_rand01(struct net *n)
{
	return (double)(ovg_splitmix_next(&n->rng) >> 11) / 9007199254740992.0;
}

static void net_push(struct net *n, struct net_ev *e)
{
	size_t i;

	if (n->nevs == n->capevs) {
		n->capevs = n->capevs ? n->capevs * 2 : 1024;
		n->evs = realloc(n->evs, n->capevs * sizeof(*n->evs));
		ck_assert_ptr_nonnull(n->evs);
	}
	i = n->nevs++;
	while (i > 0 && n->evs[(i - 1) / 2].at > e->at) {
		n->evs[i] = n->evs[(i - 1) / 2];
		i = (i - 1) / 2;
	}
	n->evs[i] = *e;
}

static struct net_ev net_pop(struct net *n)
{
	struct net_ev top = n->evs[0], last = n->evs[--n->nevs];
	size_t i = 0;

	for (;;) {
		size_t l = 2 * i + 1, r = l + 1, c;
		if (l >= n->nevs)
			break;
		c = (r < n->nevs && n->evs[r].at < n->evs[l].at) ? r : l;
		if (n->evs[c].at >= last.at)
			break;
		n->evs[i] = n->evs[c];
		i = c;
	}
	if (n->nevs)
		n->evs[i] = last;
	return top;
}

static int net_find(struct net *n, const struct ovg_addr *a)
{
	for (int i = 0; i < n->n; i++) {
		struct ovg_addr *b = &n->nodes[i].addr;
		if (b->len == a->len && b->port == a->port && memcmp(b->ip, a->ip, a->len) == 0)
			return i;
	}
	return -1;
}

static uint64_t net_latency(struct net *n)
{
	return 1 + ovg_splitmix_next(&n->rng) % 4;
}

static bool net_drops(struct net *n, struct net_node *from, int to)
{
	if (from->cut || to < 0 || n->nodes[to].cut)
		return true;
	return n->loss > 0 && net_rand01(n) < n->loss;
}

static int net_send_packet(void *ctx, const struct ovg_addr *to, const uint8_t *payload,
			   size_t len, bool crc)
{
	struct net_node *me = ctx;
	struct net *n = me->net;
	int dst = net_find(n, to);
	struct ovg_keyring kr = { 0 };
	uint8_t nonce[OVG_NONCE_LEN] = { 0 };
	uint8_t out[OVG_UDP_MAX];
	size_t out_len = 0;
	struct net_ev e = { 0 };

	ck_assert_uint_le(len, me->net->base.packet_budget);
	ck_assert_int_eq(ovg_packet_seal(&kr, nonce, crc, payload, len, out, sizeof(out),
					 &out_len), 0);
	ck_assert_uint_le(out_len, OVG_UDP_MAX);
	if (payload[0] == OVG_MSG_PING || (payload[0] == OVG_MSG_COMPOUND && len > 4 &&
					   payload[2 + 2 * payload[1]] == OVG_MSG_PING))
		me->pings_sent++;
	n->pkts_sent++;
	if (net_drops(n, me, dst)) {
		n->pkts_lost++;
		return 0;
	}
	e.at = n->now + net_latency(n);
	e.kind = NET_PKT;
	e.to = dst;
	e.gen = n->nodes[dst].gen;
	e.from = me->addr;
	e.data = malloc(out_len);
	memcpy(e.data, out, out_len);
	e.len = out_len;
	net_push(n, &e);
	return 0;
}

static void net_tcp_ping(void *ctx, const struct ovg_addr *to, const char *node, uint32_t seq,
			 const uint8_t *ping, size_t ping_len, uint64_t deadline_ms)
{
	struct net_node *me = ctx;
	struct net *n = me->net;
	int dst = net_find(n, to);
	struct net_ev e = { 0 };
	struct ovg_msg m;

	(void)deadline_ms;
	ck_assert_int_eq(ovg_wire_decode(ping, ping_len, &m), 0);
	ck_assert_int_eq(m.type, OVG_MSG_PING);
	ck_assert_uint_eq(m.u.ping.seq_no, seq);
	ck_assert(ovg_bytes_eq_str(m.u.ping.node, node));
	if (n->no_tcp)
		return;
	e.at = n->now + 2 * net_latency(n);
	e.kind = NET_TCP_RESULT;
	e.to = me->id;
	e.gen = me->gen;
	e.seq = seq;
	e.ok = dst >= 0 && n->nodes[dst].up && !n->nodes[dst].cut && !me->cut &&
	       ovg_bytes_eq_str(m.u.ping.node, n->nodes[dst].name) &&
	       !(n->tcp_loss > 0 && net_rand01(n) < n->tcp_loss);
	net_push(n, &e);
}

static void net_push_pull(void *ctx, const struct ovg_addr *to, const char *node, bool join)
{
	struct net_node *me = ctx;
	struct net *n = me->net;
	int dst = net_find(n, to);
	struct net_ev e = { 0 };

	(void)node;
	if (n->no_push_pull || dst < 0 || me->cut || n->nodes[dst].cut)
		return;
	ck_assert_int_eq(ovg_swim_push_pull_build(me->s, join, &e.data, &e.len), 0);
	e.at = n->now + 2 * net_latency(n);
	e.kind = NET_PP_REQ;
	e.to = dst;
	e.gen = n->nodes[dst].gen;
	e.from_node = me->id;
	e.join = join;
	net_push(n, &e);
}

static void net_event(void *ctx, enum ovg_swim_event ev, const struct ovg_swim_member *m)
{
	struct net_node *me = ctx;
	struct net_evlog *l;

	if (me->nlog >= NET_EVLOG_MAX)
		return;
	l = &me->log[me->nlog++];
	l->at = me->net->now;
	l->ev = ev;
	snprintf(l->name, sizeof(l->name), "%s", m->name);
	l->inc = m->incarnation;
}

static bool net_user_msg(void *ctx, const uint8_t *msg, size_t len, uint64_t now_ms)
{
	struct net_node *me = ctx;

	(void)now_ms;
	if (len < 1 || me->user_seen[msg[0]])
		return false;
	me->user_seen[msg[0]] = 1;
	me->user_msgs++;
	return true;
}

static void net_init(struct net *n, uint64_t seed)
{
	memset(n, 0, sizeof(*n));
	n->rng.s = seed;
	n->now = 1000000;
	ovg_swim_config_default(&n->base);
}

static void net_start_node(struct net *n, int i, uint32_t incarnation)
{
	struct net_node *nd = &n->nodes[i];
	struct ovg_swim_io io = { 0 };
	struct ovg_swim_config cfg = n->base;
	struct ovg_rng rng;

	io.ctx = nd;
	io.send_packet = net_send_packet;
	io.tcp_ping = net_tcp_ping;
	io.push_pull = net_push_pull;
	io.event = net_event;
	io.user_msg = net_user_msg;
	nd->rng_state.s = ovg_splitmix_next(&n->rng);
	rng.next = ovg_splitmix_next;
	rng.ctx = &nd->rng_state;
	cfg.name = nd->name;
	cfg.addr = nd->addr;
	cfg.incarnation = incarnation;
	nd->s = ovg_swim_create(&cfg, &io, &rng, n->now);
	ck_assert_ptr_nonnull(nd->s);
	nd->up = true;
	nd->cut = false;
	nd->gen++;
}

/* Add node i named n<i> at 10.0.<i/250>.<i%250+1>:7946 and start it. */
static int net_add(struct net *n)
{
	int i = n->n++;
	struct net_node *nd = &n->nodes[i];

	ck_assert_int_lt(i, NET_NODES_MAX);
	memset(nd, 0, sizeof(*nd));
	nd->net = n;
	nd->id = i;
	snprintf(nd->name, sizeof(nd->name), "n%d", i);
	nd->addr.len = 4;
	nd->addr.ip[0] = 10;
	nd->addr.ip[2] = (uint8_t)(i / 250);
	nd->addr.ip[3] = (uint8_t)(i % 250 + 1);
	nd->addr.port = 7946;
	net_start_node(n, i, 0);
	return i;
}

static void net_kill(struct net *n, int i)
{
	ovg_swim_destroy(n->nodes[i].s);
	n->nodes[i].s = NULL;
	n->nodes[i].up = false;
}

static void net_join(struct net *n, int i, int seed)
{
	ck_assert_int_eq(ovg_swim_join(n->nodes[i].s, &n->nodes[seed].addr, 1, n->now), 0);
}

/* Optional observer of every delivered message (debugging aid). */
static void (*net_trace)(struct net *n, int to, const struct ovg_addr *from,
			 const struct ovg_bytes *m);

static void net_deliver(struct net *n, struct net_ev *e)
{
	struct net_node *nd = &n->nodes[e->to];
	struct ovg_frame_scratch sc;
	struct ovg_keyring kr = { 0 };
	struct ovg_bytes msgs[OVG_PACKET_MSGS_MAX];
	static uint8_t scratch[65536];
	size_t nm = 0;
	bool join = false;

	if (!nd->up || nd->gen != e->gen)
		return;
	switch (e->kind) {
	case NET_PKT:
		sc.buf = scratch;
		sc.cap = sizeof(scratch);
		ck_assert_int_eq(ovg_packet_open(&kr, e->data, e->len, &sc, msgs,
						 OVG_PACKET_MSGS_MAX, &nm), 0);
		if (net_trace)
			for (size_t k = 0; k < nm; k++)
				net_trace(n, e->to, &e->from, &msgs[k]);
		ck_assert_int_eq(ovg_swim_handle_msgs(nd->s, &e->from, msgs, nm, n->now), 0);
		break;
	case NET_TCP_RESULT:
		ovg_swim_tcp_ping_result(nd->s, e->seq, e->ok, n->now);
		break;
	case NET_PP_REQ: {
		/* listener: read, reply with our state, then merge (memberlist order) */
		struct net_ev r = { 0 };
		ck_assert_int_eq(ovg_swim_push_pull_build(nd->s, e->join, &r.data, &r.len), 0);
		ck_assert_int_eq(ovg_swim_push_pull_merge(nd->s, e->data, e->len, n->now, &join),
				 0);
		ck_assert(join == e->join);
		r.at = n->now + 2 * net_latency(n);
		r.kind = NET_PP_REPLY;
		r.to = e->from_node;
		r.gen = n->nodes[e->from_node].gen;
		if (n->nodes[e->from_node].cut || nd->cut)
			free(r.data);
		else
			net_push(n, &r);
		break;
	}
	case NET_PP_REPLY:
		ck_assert_int_eq(ovg_swim_push_pull_merge(nd->s, e->data, e->len, n->now, &join),
				 0);
		break;
	}
}

/* Advance virtual time to `until`, delivering packets and ticking nodes. */
static void net_run(struct net *n, uint64_t until)
{
	for (;;) {
		uint64_t t = UINT64_MAX;
		for (int i = 0; i < n->n; i++)
			if (n->nodes[i].up)
				t = OVG_MIN(t, ovg_swim_next_deadline_ms(n->nodes[i].s));
		if (n->nevs)
			t = OVG_MIN(t, n->evs[0].at);
		if (t > until)
			break;
		if (t > n->now)
			n->now = t;
		while (n->nevs && n->evs[0].at <= n->now) {
			struct net_ev e = net_pop(n);
			net_deliver(n, &e);
			free(e.data);
		}
		for (int i = 0; i < n->n; i++)
			if (n->nodes[i].up && ovg_swim_next_deadline_ms(n->nodes[i].s) <= n->now)
				ovg_swim_tick(n->nodes[i].s, n->now);
	}
	n->now = until;
}

static void net_free(struct net *n)
{
	for (int i = 0; i < n->n; i++)
		ovg_swim_destroy(n->nodes[i].s);
	while (n->nevs) {
		struct net_ev e = net_pop(n);
		free(e.data);
	}
	free(n->evs);
}

/* State of `name` as node i sees it, or -1 if unknown. */
static int net_state(struct net *n, int i, const char *name)
{
	struct ovg_swim_member m;

	if (ovg_swim_member_find(n->nodes[i].s, name, &m) < 0)
		return -1;
	return (int)m.state;
}

/* Do all up nodes see exactly the up nodes as alive, and `want` members? */
static bool net_converged(struct net *n, size_t want)
{
	for (int i = 0; i < n->n; i++) {
		if (!n->nodes[i].up)
			continue;
		if (ovg_swim_member_count(n->nodes[i].s) != want)
			return false;
		for (int j = 0; j < n->n; j++) {
			int st = net_state(n, i, n->nodes[j].name);
			if (n->nodes[j].up && st != OVG_STATE_ALIVE)
				return false;
		}
	}
	return true;
}

/* First time node i logged event ev about name at or after t0, or 0. */
static uint64_t net_first_event(struct net *n, int i, enum ovg_swim_event ev, const char *name,
				uint64_t t0)
{
	struct net_node *nd = &n->nodes[i];

	for (size_t k = 0; k < nd->nlog; k++)
		if (nd->log[k].ev == ev && nd->log[k].at >= t0 && strcmp(nd->log[k].name, name) == 0)
			return nd->log[k].at;
	return 0;
}

static size_t net_count_events(struct net *n, int i, enum ovg_swim_event ev, const char *name)
{
	size_t c = 0;

	for (size_t k = 0; k < n->nodes[i].nlog; k++)
		if (n->nodes[i].log[k].ev == ev && (!name || strcmp(n->nodes[i].log[k].name, name) == 0))
			c++;
	return c;
}

/* Start `count` nodes and join all through node 0; run until converged. */
static void net_cluster(struct net *n, int count, uint64_t max_ms)
{
	uint64_t t0;

	for (int i = 0; i < count; i++)
		net_add(n);
	for (int i = 1; i < count; i++)
		net_join(n, i, 0);
	t0 = n->now;
	while (!net_converged(n, (size_t)count) && n->now - t0 < max_ms)
		net_run(n, n->now + 50);
	ck_assert_msg(net_converged(n, (size_t)count), "cluster of %d did not converge in %llu ms",
		      count, (unsigned long long)max_ms);
}

#endif
