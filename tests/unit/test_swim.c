/* gossip/swim.c: SWIM membership, one behaviour per test, on a fake clock and
 * an in-process fake network (test_swim_net.h) or a single instance fed
 * hand-made messages. */
#include "test_swim_net.h"

/* ---- a lone instance with a recording transport ------------------------- */

#define REC_MAX 512
struct rec {
	struct ovg_addr to[REC_MAX];
	uint8_t *pkt[REC_MAX];
	size_t len[REC_MAX];
	size_t n;
	size_t events[6];
	uint8_t user[64];
	size_t user_len, merges;
	char merged[64];
};

static int rec_send(void *ctx, const struct ovg_addr *to, const uint8_t *p, size_t len, bool crc)
{
	struct rec *r = ctx;

	(void)crc;
	if (r->n < REC_MAX) {
		r->to[r->n] = *to;
		r->pkt[r->n] = malloc(len);
		memcpy(r->pkt[r->n], p, len);
		r->len[r->n++] = len;
	}
	return 0;
}

static void rec_event(void *ctx, enum ovg_swim_event ev, const struct ovg_swim_member *m)
{
	struct rec *r = ctx;

	(void)m;
	r->events[ev]++;
}

static int rec_local_state(void *ctx, bool join, uint8_t **buf, size_t *len)
{
	(void)ctx;
	(void)join;
	*buf = malloc(5);
	memcpy(*buf, "state", 5);
	*len = 5;
	return 0;
}

static void rec_merge_state(void *ctx, const uint8_t *buf, size_t len, bool join, uint64_t now)
{
	struct rec *r = ctx;

	(void)join;
	(void)now;
	r->merges++;
	snprintf(r->merged, sizeof(r->merged), "%.*s", (int)len, (const char *)buf);
}

static bool rec_user(void *ctx, const uint8_t *msg, size_t len, uint64_t now)
{
	struct rec *r = ctx;

	(void)now;
	r->user_len = OVG_MIN(len, sizeof(r->user));
	memcpy(r->user, msg, r->user_len);
	return len > 0 && msg[0] == 'F';    /* "F..." asks to be forwarded */
}

static void rec_clear(struct rec *r)
{
	for (size_t i = 0; i < r->n; i++)
		free(r->pkt[i]);
	r->n = 0;
}

static struct ovg_splitmix lone_rng_state;

static struct ovg_swim *lone(struct rec *r, struct ovg_swim_config *cfg, uint64_t now)
{
	struct ovg_swim_io io = { 0 };
	struct ovg_rng rng = { ovg_splitmix_next, &lone_rng_state };
	struct ovg_swim *s;

	memset(r, 0, sizeof(*r));
	lone_rng_state.s = 7;
	io.ctx = r;
	io.send_packet = rec_send;
	io.event = rec_event;
	io.local_state = rec_local_state;
	io.merge_state = rec_merge_state;
	io.user_msg = rec_user;
	if (!cfg->name) {
		cfg->name = "a";
		cfg->addr.len = 4;
		cfg->addr.ip[0] = 10;
		cfg->addr.ip[3] = 1;
		cfg->addr.port = 7946;
	}
	s = ovg_swim_create(cfg, &io, &rng, now);
	ck_assert_ptr_nonnull(s);
	return s;
}

static size_t enc_alive(uint8_t *buf, const char *name, uint8_t ip_last, uint32_t inc,
			const char *meta)
{
	struct ovg_msg m;
	uint8_t ip[4] = { 10, 0, 0, ip_last };
	static const uint8_t vsn[OVG_VSN_LEN] = OVG_VSN_DEFAULT;
	size_t len;

	memset(&m, 0, sizeof(m));
	m.type = OVG_MSG_ALIVE;
	m.u.alive.incarnation = inc;
	m.u.alive.node = ovg_bytes_make(name, strlen(name));
	m.u.alive.addr = ovg_bytes_make(ip, 4);
	m.u.alive.port = 7946;
	m.u.alive.meta = ovg_bytes_make(meta, meta ? strlen(meta) : 0);
	memcpy(m.u.alive.vsn, vsn, OVG_VSN_LEN);
	m.u.alive.vsn_len = OVG_VSN_LEN;
	ck_assert_int_eq(ovg_wire_encode(&m, buf, 2048, &len), 0);
	return len;
}

static size_t enc_sd(uint8_t *buf, uint8_t type, const char *node, uint32_t inc,
		     const char *from)
{
	struct ovg_msg m;
	size_t len;

	memset(&m, 0, sizeof(m));
	m.type = type;
	m.u.suspect.incarnation = inc;
	m.u.suspect.node = ovg_bytes_make(node, strlen(node));
	m.u.suspect.from = ovg_bytes_make(from, strlen(from));
	ck_assert_int_eq(ovg_wire_encode(&m, buf, 2048, &len), 0);
	return len;
}

static const struct ovg_addr some_addr = { 4, { 10, 0, 0, 99 }, 7946 };

static void feed(struct ovg_swim *s, const uint8_t *msg, size_t len, uint64_t now)
{
	ck_assert_int_eq(ovg_swim_handle_msg(s, &some_addr, msg, len, now), 0);
}

static void feed_alive(struct ovg_swim *s, const char *name, uint8_t ip, uint32_t inc,
		       uint64_t now)
{
	uint8_t buf[2048];

	feed(s, buf, enc_alive(buf, name, ip, inc, NULL), now);
}

static int lone_state(struct ovg_swim *s, const char *name)
{
	struct ovg_swim_member m;

	if (ovg_swim_member_find(s, name, &m) < 0)
		return -1;
	return (int)m.state;
}

static uint32_t lone_inc(struct ovg_swim *s, const char *name)
{
	struct ovg_swim_member m;

	ck_assert_int_eq(ovg_swim_member_find(s, name, &m), 0);
	return m.incarnation;
}

/* ---- tests ----------------------------------------------------------------- */

START_TEST(probes_are_acked_and_a_healthy_cluster_suspects_nobody)
{
	static struct net n;
	struct ovg_swim_stats st;

	net_init(&n, 1);
	net_cluster(&n, 3, 5000);
	net_run(&n, n.now + 10000);
	for (int i = 0; i < 3; i++) {
		ovg_swim_get_stats(n.nodes[i].s, &st);
		/* 20 rounds of 500 ms; with 3 members each checks its partner,
		 * or on its bye its ring successor, every round */
		ck_assert_uint_ge(st.rounds, 19);
		ck_assert_uint_ge(st.probes + st.partner_heard, 17);
		ck_assert_uint_eq(st.probes_failed, 0);
		ck_assert_uint_eq(st.indirect_probes, 0);
		ck_assert_int_eq(ovg_swim_health_score(n.nodes[i].s), 0);
		ck_assert_uint_eq(net_count_events(&n, i, OVG_SWIM_EV_SUSPECT, NULL), 0);
	}
	net_free(&n);
}
END_TEST

START_TEST(missed_ack_goes_indirect_then_suspect_then_dead)
{
	static struct net n;
	struct ovg_swim_stats st;
	uint64_t indirect = 0, tcp = 0, t_kill, t_sus, t_dead;

	net_init(&n, 2);
	net_cluster(&n, 4, 5000);
	t_kill = n.now;
	net_kill(&n, 3);
	net_run(&n, n.now + 8000);
	for (int i = 0; i < 3; i++) {
		ovg_swim_get_stats(n.nodes[i].s, &st);
		indirect += st.indirect_probes;
		tcp += st.tcp_pings;
		ck_assert_int_eq(net_state(&n, i, "n3"), OVG_STATE_DEAD);
		t_sus = net_first_event(&n, i, OVG_SWIM_EV_SUSPECT, "n3", t_kill);
		t_dead = net_first_event(&n, i, OVG_SWIM_EV_DEAD, "n3", t_kill);
		ck_assert_uint_gt(t_sus, 0);
		ck_assert_uint_gt(t_dead, t_sus);
		ck_assert_uint_eq(net_count_events(&n, i, OVG_SWIM_EV_LEFT, "n3"), 0);
		/* helpers answered with nacks, so the probers kept perfect health */
		ck_assert_int_eq(ovg_swim_health_score(n.nodes[i].s), 0);
	}
	ck_assert_uint_gt(indirect, 0);
	ck_assert_uint_gt(tcp, 0);
	net_free(&n);
}
END_TEST

START_TEST(tcp_fallback_ping_saves_a_node_whose_udp_is_lost)
{
	static struct net n;
	struct ovg_swim_stats st;

	/* every UDP packet lost, TCP fine: probes fail over UDP but are saved */
	net_init(&n, 3);
	net_cluster(&n, 3, 5000);
	n.loss = 1.0;
	net_run(&n, n.now + 5000);
	for (int i = 0; i < 3; i++) {
		ovg_swim_get_stats(n.nodes[i].s, &st);
		ck_assert_uint_gt(st.tcp_pings, 0);
		ck_assert_uint_eq(st.probes_failed, 0);
		ck_assert_uint_eq(net_count_events(&n, i, OVG_SWIM_EV_SUSPECT, NULL), 0);
	}
	/* without TCP they are suspected */
	n.no_tcp = true;
	net_run(&n, n.now + 2000);
	ovg_swim_get_stats(n.nodes[0].s, &st);
	ck_assert_uint_gt(st.probes_failed, 0);
	net_free(&n);
}
END_TEST

START_TEST(suspected_node_refutes_with_a_higher_incarnation)
{
	static struct net n;
	struct ovg_swim_stats st;
	uint8_t buf[2048];
	uint32_t inc;

	net_init(&n, 4);
	net_cluster(&n, 3, 5000);
	inc = ovg_swim_incarnation(n.nodes[1].s);
	/* n0 hears that n2 suspects n1 */
	ck_assert_int_eq(ovg_swim_handle_msg(n.nodes[0].s, &n.nodes[2].addr, buf,
					     enc_sd(buf, OVG_MSG_SUSPECT, "n1", inc, "n2"), n.now),
			 0);
	ck_assert_int_eq(net_state(&n, 0, "n1"), OVG_STATE_SUSPECT);
	net_run(&n, n.now + 3000);
	ck_assert_uint_gt(ovg_swim_incarnation(n.nodes[1].s), inc);
	ovg_swim_get_stats(n.nodes[1].s, &st);
	ck_assert_uint_eq(st.refutes, 1);
	/* +1 refute, -1 per round whose partner answered or pinged us */
	ck_assert_int_eq(ovg_swim_health_score(n.nodes[1].s), 0);
	for (int i = 0; i < 3; i++)
		ck_assert_int_eq(net_state(&n, i, "n1"), OVG_STATE_ALIVE);
	ck_assert_uint_eq(net_count_events(&n, 0, OVG_SWIM_EV_UPDATE, "n1"), 1);

	/* a dead message about ourselves is refuted too, beating its incarnation */
	inc = ovg_swim_incarnation(n.nodes[2].s);
	ck_assert_int_eq(ovg_swim_handle_msg(n.nodes[2].s, &n.nodes[0].addr, buf,
					     enc_sd(buf, OVG_MSG_DEAD, "n2", inc + 5, "n0"), n.now),
			 0);
	ck_assert_uint_eq(ovg_swim_incarnation(n.nodes[2].s), inc + 6);
	net_run(&n, n.now + 1000);
	for (int i = 0; i < 3; i++) {
		ck_assert_int_eq(net_state(&n, i, "n2"), OVG_STATE_ALIVE);
		ck_assert_uint_eq(net_count_events(&n, i, OVG_SWIM_EV_DEAD, NULL), 0);
	}
	net_free(&n);
}
END_TEST

START_TEST(suspicion_math_matches_memberlist)
{
	/* min = mult * max(1, log10 n) * interval, 3 decimals of the scale kept */
	ck_assert_uint_eq(ovg_swim_suspicion_min_ms(3, 20, 400), 1561);
	ck_assert_uint_eq(ovg_swim_suspicion_min_ms(4, 20, 1000), 5204);
	ck_assert_uint_eq(ovg_swim_suspicion_min_ms(4, 3, 1000), 4000);
	ck_assert_uint_eq(ovg_swim_suspicion_min_ms(5, 1000, 1000), 15000);
	/* max - ln(c+1)/ln(k+1) * (max - min), floored, never below min */
	ck_assert_uint_eq(ovg_swim_suspicion_timeout_ms(0, 4, 2400, 14400), 14400);
	ck_assert_uint_eq(ovg_swim_suspicion_timeout_ms(1, 4, 2400, 14400), 9231);
	ck_assert_uint_eq(ovg_swim_suspicion_timeout_ms(2, 4, 2400, 14400), 6208);
	ck_assert_uint_eq(ovg_swim_suspicion_timeout_ms(4, 4, 2400, 14400), 2400);
	ck_assert_uint_eq(ovg_swim_suspicion_timeout_ms(9, 4, 2400, 14400), 2400);
	ck_assert_uint_eq(ovg_swim_suspicion_timeout_ms(0, 0, 2400, 14400), 2400);
	ck_assert_uint_eq(ovg_swim_retransmit_limit(4, 20), 8);
	ck_assert_uint_eq(ovg_swim_retransmit_limit(4, 9), 4);
	ck_assert_uint_eq(ovg_swim_retransmit_limit(3, 10000), 15);
	ck_assert_uint_eq(ovg_swim_push_pull_scale_ms(30000, 32), 30000);
	ck_assert_uint_eq(ovg_swim_push_pull_scale_ms(30000, 33), 60000);
	ck_assert_uint_eq(ovg_swim_push_pull_scale_ms(30000, 65), 90000);
}
END_TEST

/* Lone node knowing a..j (n = 10, k = 4 with mult 6): suspect x from the
 * first accuser at t0, then `c` confirmations from distinct others (plus
 * duplicates that must not count); x must die exactly at t0 + expected. */
static void check_timeout_after(uint32_t c, uint64_t expected)
{
	struct ovg_swim_config cfg;
	struct rec r;
	struct ovg_swim *s;
	uint8_t buf[2048];
	uint64_t t0 = 5000;
	char name[8];

	ovg_swim_config_default(&cfg);
	cfg.disable_probes = true;
	cfg.gossip_interval_ms = 0;
	cfg.suspicion_mult = 6;
	cfg.probe_interval_ms = 400;
	cfg.probe_timeout_ms = 200;
	cfg.suspicion_interval_ms = 0;   /* memberlist: the probe interval */
	s = lone(&r, &cfg, 0);
	for (int i = 0; i < 9; i++) {
		snprintf(name, sizeof(name), "%c", 'b' + i);
		feed_alive(s, name, (uint8_t)(10 + i), 1, 0);
	}
	ck_assert_uint_eq(ovg_swim_member_count(s), 10);
	feed(s, buf, enc_sd(buf, OVG_MSG_SUSPECT, "j", 1, "b"), t0);
	feed(s, buf, enc_sd(buf, OVG_MSG_SUSPECT, "j", 1, "b"), t0 + 1);   /* the accuser again */
	for (uint32_t i = 0; i < c; i++) {
		snprintf(name, sizeof(name), "%c", 'c' + i);
		feed(s, buf, enc_sd(buf, OVG_MSG_SUSPECT, "j", 1, name), t0 + 2 + i);
		feed(s, buf, enc_sd(buf, OVG_MSG_SUSPECT, "j", 1, name), t0 + 2 + i); /* dup */
	}
	ck_assert_int_eq(lone_state(s, "j"), OVG_STATE_SUSPECT);
	ck_assert_uint_eq(ovg_swim_next_deadline_ms(s), t0 + expected);
	ovg_swim_tick(s, t0 + expected - 1);
	ck_assert_int_eq(lone_state(s, "j"), OVG_STATE_SUSPECT);
	ovg_swim_tick(s, t0 + expected);
	ck_assert_int_eq(lone_state(s, "j"), OVG_STATE_DEAD);
	ck_assert_uint_eq(r.events[OVG_SWIM_EV_DEAD], 1);
	rec_clear(&r);
	ovg_swim_destroy(s);
}

START_TEST(lifeguard_confirmations_shrink_the_suspicion_timeout)
{
	/* min = 6 * 1 * 400 = 2400, max = 6 * min = 14400 */
	check_timeout_after(0, 14400);
	check_timeout_after(1, 9231);
	check_timeout_after(2, 6208);
	check_timeout_after(3, 4063);
	check_timeout_after(4, 2400);
	check_timeout_after(6, 2400);    /* beyond k: ignored */
}
END_TEST

START_TEST(few_members_means_no_confirmations_are_awaited)
{
	struct ovg_swim_config cfg;
	struct rec r;
	struct ovg_swim *s;
	uint8_t buf[2048];

	/* n = 3 and k = 4: n - 2 < k, so the timer runs at min from the start */
	ovg_swim_config_default(&cfg);
	cfg.disable_probes = true;
	cfg.suspicion_mult = 6;
	cfg.probe_interval_ms = 400;
	cfg.probe_timeout_ms = 200;
	cfg.suspicion_interval_ms = 0;
	s = lone(&r, &cfg, 0);
	feed_alive(s, "b", 10, 1, 0);
	feed_alive(s, "c", 11, 1, 0);
	feed(s, buf, enc_sd(buf, OVG_MSG_SUSPECT, "c", 1, "b"), 1000);
	ovg_swim_tick(s, 1000 + 2399);
	ck_assert_int_eq(lone_state(s, "c"), OVG_STATE_SUSPECT);
	ovg_swim_tick(s, 1000 + 2400);
	ck_assert_int_eq(lone_state(s, "c"), OVG_STATE_DEAD);
	rec_clear(&r);
	ovg_swim_destroy(s);
}
END_TEST

START_TEST(ping_to_a_suspect_carries_the_suspect_message)
{
	struct ovg_swim_config cfg;
	struct rec r;
	struct ovg_swim *s;
	uint8_t buf[2048];
	struct ovg_bytes parts[OVG_COMPOUND_MAX];
	struct ovg_msg m;
	size_t np = 0;
	bool found = false;

	ovg_swim_config_default(&cfg);
	cfg.gossip_interval_ms = 0;
	cfg.eager_fanout = 0;
	s = lone(&r, &cfg, 0);
	feed_alive(s, "b", 10, 3, 0);
	feed(s, buf, enc_sd(buf, OVG_MSG_SUSPECT, "b", 3, "c"), 0);
	rec_clear(&r);
	for (uint64_t t = 0; t < 1000 && !found; t += 10) {
		ovg_swim_tick(s, t);
		for (size_t i = 0; i < r.n && !found; i++) {
			if (r.pkt[i][0] != OVG_MSG_COMPOUND)
				continue;
			ck_assert_int_eq(ovg_compound_parse(r.pkt[i] + 1, r.len[i] - 1, parts,
							    OVG_COMPOUND_MAX, &np), 0);
			ck_assert_int_eq(ovg_wire_decode(parts[0].p, parts[0].len, &m), 0);
			if (m.type != OVG_MSG_PING)
				continue;
			ck_assert(ovg_bytes_eq_str(m.u.ping.node, "b"));
			/* slim ping: the ack goes back to the datagram's source */
			ck_assert_uint_eq(m.u.ping.source_node.len, 0);
			ck_assert_uint_eq(m.u.ping.source_port, 0);
			ck_assert_int_eq(ovg_wire_decode(parts[1].p, parts[1].len, &m), 0);
			ck_assert_int_eq(m.type, OVG_MSG_SUSPECT);
			ck_assert(ovg_bytes_eq_str(m.u.suspect.node, "b"));
			ck_assert(ovg_bytes_eq_str(m.u.suspect.from, "a"));
			ck_assert_uint_eq(m.u.suspect.incarnation, 3);
			found = true;
		}
	}
	ck_assert(found);
	rec_clear(&r);
	ovg_swim_destroy(s);
}
END_TEST

START_TEST(awareness_slows_probes_when_nacks_do_not_come_back)
{
	static struct net n;
	uint64_t before, healthy, degraded;

	/* memberlist's schedule: one probe per (scaled) interval */
	net_init(&n, 5);
	n.base.probe_schedule = OVG_SWIM_SCHED_SHUFFLED;
	n.base.probe_interval_ms = 400;
	net_cluster(&n, 5, 5000);
	before = n.nodes[0].pings_sent;
	net_run(&n, n.now + 8000);
	healthy = n.nodes[0].pings_sent - before;
	/* cut n0 off: its probes fail and no helper's nack comes back */
	n.nodes[0].cut = true;
	before = n.nodes[0].pings_sent;
	net_run(&n, n.now + 8000);
	degraded = n.nodes[0].pings_sent - before;
	ck_assert_int_eq(ovg_swim_health_score(n.nodes[0].s), 7);   /* awareness_max - 1 */
	ck_assert_uint_ge(healthy, 18);
	ck_assert_uint_le(degraded, 6);
	/* a short cut: score climbs, then falls by one per successful probe */
	net_free(&n);

	net_init(&n, 6);
	n.base.probe_schedule = OVG_SWIM_SCHED_SHUFFLED;
	n.base.probe_interval_ms = 400;
	n.base.suspicion_interval_ms = 0;   /* suspicion min 1.2 s: outlasts the cut */
	net_cluster(&n, 5, 5000);
	n.nodes[0].cut = true;
	net_run(&n, n.now + 1000);
	ck_assert_int_gt(ovg_swim_health_score(n.nodes[0].s), 0);
	n.nodes[0].cut = false;
	net_run(&n, n.now + 15000);
	ck_assert_int_eq(ovg_swim_health_score(n.nodes[0].s), 0);
	for (int i = 0; i < 5; i++)
		ck_assert_uint_eq(net_count_events(&n, i, OVG_SWIM_EV_DEAD, NULL), 0);
	net_free(&n);
}
END_TEST

START_TEST(round_partners_form_a_perfect_matching_and_meet_everyone_once)
{
	for (uint32_t m = 2; m <= 41; m++) {
		uint32_t rounds = m - 1 + (m & 1);
		static uint8_t met[41][41];

		memset(met, 0, sizeof(met));
		for (uint64_t r = 1000; r < 1000 + rounds; r++) {
			uint32_t byes = 0;
			for (uint32_t i = 0; i < m; i++) {
				uint32_t p = ovg_swim_round_partner(i, m, r);
				if (p == m) {
					byes++;
					continue;
				}
				ck_assert_uint_lt(p, m);
				ck_assert_uint_ne(p, i);
				ck_assert_uint_eq(ovg_swim_round_partner(p, m, r), i);
				met[i][p]++;
			}
			ck_assert_uint_eq(byes, m & 1);
		}
		for (uint32_t i = 0; i < m; i++)
			for (uint32_t j = 0; j < m; j++)
				ck_assert_uint_eq(met[i][j], i != j);
	}
	ck_assert_uint_eq(ovg_swim_round_partner(0, 1, 5), 1);   /* alone: a bye */
}
END_TEST

START_TEST(paired_rounds_cost_one_ping_per_pair_and_check_everyone)
{
	static struct net n;
	struct ovg_swim_stats st;
	uint64_t pings = 0, rounds = 0, checks = 0;

	net_init(&n, 11);
	net_cluster(&n, 10, 5000);
	for (int i = 0; i < 10; i++)
		n.nodes[i].pings_sent = 0;
	for (int i = 0; i < 10; i++) {
		ovg_swim_get_stats(n.nodes[i].s, &st);
		rounds -= st.rounds;
		checks -= st.probes + st.partner_heard;
	}
	net_run(&n, n.now + 40000);
	for (int i = 0; i < 10; i++) {
		ovg_swim_get_stats(n.nodes[i].s, &st);
		rounds += st.rounds;
		checks += st.probes + st.partner_heard;
		pings += n.nodes[i].pings_sent;
		ck_assert_uint_eq(net_count_events(&n, i, OVG_SWIM_EV_SUSPECT, NULL), 0);
	}
	/* 10 members: 5 pairs a round, one ping each (memberlist: 10) */
	ck_assert_uint_ge(rounds, 10 * 49);
	ck_assert_uint_le(pings, rounds / 2 + rounds / 20);
	ck_assert_uint_ge(pings, rounds / 2 - rounds / 20);
	/* every member checked its partner every round: by its ping or by the
	 * partner's ping arriving */
	ck_assert_uint_ge(checks, rounds - rounds / 50);
	net_free(&n);
}
END_TEST

START_TEST(paired_awareness_sits_rounds_out_when_nacks_do_not_come_back)
{
	static struct net n;
	uint64_t before, healthy, degraded;

	net_init(&n, 12);
	/* suspicion min 60 s: nobody is declared dead during the long cut, so
	 * only n0's own health is at stake */
	n.base.suspicion_interval_ms = 20000;
	net_cluster(&n, 5, 5000);
	before = n.nodes[0].pings_sent;
	net_run(&n, n.now + 32000);
	healthy = n.nodes[0].pings_sent - before;
	n.nodes[0].cut = true;
	net_run(&n, n.now + 12000);       /* its probes fail: +3 each (no nacks) */
	ck_assert_int_ge(ovg_swim_health_score(n.nodes[0].s), 6);
	before = n.nodes[0].pings_sent;
	net_run(&n, n.now + 32000);
	degraded = n.nodes[0].pings_sent - before;
	/* 64 rounds: healthy, n0 pings as initiator (about 2 rounds in 5 with
	 * 5 members) or on its bye; unhealthy, it acts in one round of 7 or 8 */
	ck_assert_uint_ge(healthy, 16);
	ck_assert_uint_le(degraded * 2, healthy);
	/* back: its partners' pings count as evidence too, about one step a round */
	n.nodes[0].cut = false;
	net_run(&n, n.now + 20000);
	ck_assert_int_eq(ovg_swim_health_score(n.nodes[0].s), 0);
	for (int i = 1; i < 5; i++)
		ck_assert_uint_eq(net_count_events(&n, i, OVG_SWIM_EV_DEAD, "n0"), 0);
	net_free(&n);
}
END_TEST

START_TEST(graceful_leave_is_left_and_a_crash_is_dead)
{
	static struct net n;
	uint64_t t0;

	net_init(&n, 7);
	net_cluster(&n, 6, 5000);
	t0 = n.now;
	ck_assert_int_eq(ovg_swim_leave(n.nodes[5].s, n.now), 0);
	ck_assert_int_eq(ovg_swim_leave(n.nodes[5].s, n.now), -EALREADY);
	while (!ovg_swim_leave_done(n.nodes[5].s) && n.now - t0 < 3000)
		net_run(&n, n.now + 10);
	ck_assert(ovg_swim_leave_done(n.nodes[5].s));
	ck_assert_uint_lt(n.now - t0, 1000);
	net_kill(&n, 5);
	net_kill(&n, 4);
	net_run(&n, n.now + 10000);
	for (int i = 0; i < 4; i++) {
		ck_assert_int_eq(net_state(&n, i, "n5"), OVG_STATE_LEFT);
		ck_assert_int_eq(net_state(&n, i, "n4"), OVG_STATE_DEAD);
		ck_assert_uint_eq(net_count_events(&n, i, OVG_SWIM_EV_LEFT, "n5"), 1);
		ck_assert_uint_eq(net_count_events(&n, i, OVG_SWIM_EV_DEAD, "n5"), 0);
		ck_assert_uint_eq(net_count_events(&n, i, OVG_SWIM_EV_SUSPECT, "n5"), 0);
		ck_assert_uint_eq(net_count_events(&n, i, OVG_SWIM_EV_DEAD, "n4"), 1);
		ck_assert_uint_eq(net_count_events(&n, i, OVG_SWIM_EV_LEFT, "n4"), 0);
	}
	/* after gossip_to_the_dead both are forgotten (REAP) */
	net_run(&n, n.now + 35000);
	for (int i = 0; i < 4; i++) {
		ck_assert_int_eq(net_state(&n, i, "n5"), -1);
		ck_assert_int_eq(net_state(&n, i, "n4"), -1);
		ck_assert_uint_eq(net_count_events(&n, i, OVG_SWIM_EV_REAP, NULL), 2);
		ck_assert_uint_eq(ovg_swim_member_count(n.nodes[i].s), 4);
	}
	net_free(&n);
}
END_TEST

START_TEST(lone_leave_is_done_at_once)
{
	struct ovg_swim_config cfg;
	struct rec r;
	struct ovg_swim *s;

	ovg_swim_config_default(&cfg);
	s = lone(&r, &cfg, 0);
	ck_assert(!ovg_swim_leave_done(s));
	ck_assert_int_eq(ovg_swim_leave(s, 10), 0);
	ck_assert(ovg_swim_leave_done(s));
	ck_assert(ovg_swim_has_left(s));
	rec_clear(&r);
	ovg_swim_destroy(s);
}
END_TEST

static void restart_case(uint64_t seed, bool new_addr, bool keep_incarnation)
{
	static struct net n;
	uint32_t dead_inc, inc;
	uint64_t t0;
	struct ovg_swim_member m;

	net_init(&n, seed);
	net_cluster(&n, 5, 5000);
	/* make n2's incarnation interesting: a refute bumps it */
	dead_inc = ovg_swim_incarnation(n.nodes[2].s);
	net_kill(&n, 2);
	net_run(&n, n.now + 10000);
	for (int i = 0; i < 5; i++)
		if (i != 2)
			ck_assert_int_eq(net_state(&n, i, "n2"), OVG_STATE_DEAD);
	if (new_addr)
		n.nodes[2].addr.ip[3] += 100;
	net_start_node(&n, 2, keep_incarnation ? dead_inc : 0);
	t0 = n.now;
	net_join(&n, 2, 0);
	while (!net_converged(&n, 5) && n.now - t0 < 5000)
		net_run(&n, n.now + 10);
	ck_assert_msg(net_converged(&n, 5), "restarted n2 not seen alive by all");
	ck_assert_uint_lt(n.now - t0, 1000);
	net_run(&n, n.now + 1000);          /* a refutation may still be spreading */
	inc = ovg_swim_incarnation(n.nodes[2].s);
	for (int i = 0; i < 5; i++) {
		ck_assert_int_eq(ovg_swim_member_find(n.nodes[i].s, "n2", &m), 0);
		ck_assert_int_eq(m.state, OVG_STATE_ALIVE);
		ck_assert_uint_eq(m.incarnation, inc);
		ck_assert_uint_eq(m.addr.ip[3], n.nodes[2].addr.ip[3]);
		if (i != 2)
			ck_assert_uint_ge(net_count_events(&n, i, OVG_SWIM_EV_JOIN, "n2"), 2);
	}
	if (!new_addr && !keep_incarnation)
		ck_assert_uint_gt(inc, dead_inc);   /* had to refute its own death */
	net_run(&n, n.now + 10000);
	for (int i = 0; i < 5; i++)
		ck_assert_uint_eq(net_count_events(&n, i, OVG_SWIM_EV_DEAD, NULL), i == 2 ? 0 : 1);
	net_free(&n);
}

START_TEST(restarted_node_rejoins_at_the_same_address)
{
	restart_case(8, false, false);
	restart_case(9, false, true);
}
END_TEST

START_TEST(restarted_node_rejoins_at_a_new_address)
{
	restart_case(10, true, false);
}
END_TEST

START_TEST(new_address_for_a_live_member_is_a_conflict)
{
	struct ovg_swim_config cfg;
	struct rec r;
	struct ovg_swim *s;
	struct ovg_swim_member m;
	uint8_t buf[2048];

	ovg_swim_config_default(&cfg);
	cfg.disable_probes = true;
	s = lone(&r, &cfg, 0);
	feed_alive(s, "b", 10, 1, 0);
	feed_alive(s, "b", 200, 9, 10);                 /* alive: refused */
	ck_assert_int_eq(ovg_swim_member_find(s, "b", &m), 0);
	ck_assert_uint_eq(m.addr.ip[3], 10);
	ck_assert_uint_eq(m.incarnation, 1);
	feed(s, buf, enc_sd(buf, OVG_MSG_DEAD, "b", 1, "c"), 20);
	feed_alive(s, "b", 200, 1, 30);                 /* dead, same incarnation: stale */
	ck_assert_int_eq(ovg_swim_member_find(s, "b", &m), 0);
	ck_assert_uint_eq(m.addr.ip[3], 10);
	ck_assert_int_eq(m.state, OVG_STATE_DEAD);
	feed_alive(s, "b", 200, 2, 30);                 /* dead, newer: moves */
	ck_assert_int_eq(ovg_swim_member_find(s, "b", &m), 0);
	ck_assert_uint_eq(m.addr.ip[3], 200);
	ck_assert_int_eq(m.state, OVG_STATE_ALIVE);
	ck_assert_uint_eq(r.events[OVG_SWIM_EV_JOIN], 3);   /* self, b, b again */
	/* the same for a left member; and an alive about ourselves elsewhere is refused */
	feed(s, buf, enc_sd(buf, OVG_MSG_DEAD, "b", 2, "b"), 40);
	ck_assert_int_eq(lone_state(s, "b"), OVG_STATE_LEFT);
	feed_alive(s, "b", 201, 3, 50);
	ck_assert_int_eq(ovg_swim_member_find(s, "b", &m), 0);
	ck_assert_uint_eq(m.addr.ip[3], 201);
	feed_alive(s, "a", 77, 50, 60);
	ck_assert_int_eq(ovg_swim_member_find(s, "a", &m), 0);
	ck_assert_uint_eq(m.addr.ip[3], 1);
	ck_assert_uint_eq(m.incarnation, 1);
	rec_clear(&r);
	ovg_swim_destroy(s);
}
END_TEST

/* Build a push-pull message from records, as a peer would send it. */
static size_t build_pp(uint8_t *buf, size_t cap, const struct ovg_push_node *nodes, size_t n,
		       const char *user, bool join)
{
	struct ovg_push_pull_header h = { (int64_t)n, user ? (int64_t)strlen(user) : 0, join };
	size_t pos = 1, l;

	buf[0] = OVG_MSG_PUSH_PULL;
	ck_assert_int_eq(ovg_wire_encode_push_pull_header(&h, buf + pos, cap - pos, &l), 0);
	pos += l;
	for (size_t i = 0; i < n; i++) {
		ck_assert_int_eq(ovg_wire_encode_push_node(&nodes[i], buf + pos, cap - pos, &l), 0);
		pos += l;
	}
	if (user) {
		memcpy(buf + pos, user, strlen(user));
		pos += strlen(user);
	}
	return pos;
}

static struct ovg_push_node pn(const char *name, uint8_t ip_last, uint32_t inc, uint8_t state)
{
	static uint8_t ips[256][4];
	static const uint8_t vsn[OVG_VSN_LEN] = OVG_VSN_DEFAULT;
	struct ovg_push_node p;

	memset(&p, 0, sizeof(p));
	ips[ip_last][0] = 10;
	ips[ip_last][3] = ip_last;
	p.name = ovg_bytes_make(name, strlen(name));
	p.addr = ovg_bytes_make(ips[ip_last], 4);
	p.port = 7946;
	p.incarnation = inc;
	p.state = state;
	memcpy(p.vsn, vsn, OVG_VSN_LEN);
	p.vsn_len = OVG_VSN_LEN;
	return p;
}

START_TEST(push_pull_merge_follows_memberlist_rules)
{
	struct ovg_swim_config cfg;
	struct rec r;
	struct ovg_swim *s;
	struct ovg_swim_member m;
	struct ovg_push_node nodes[8];
	static uint8_t buf[8192];
	uint32_t my_inc;
	size_t len;
	bool join = false;

	ovg_swim_config_default(&cfg);
	cfg.disable_probes = true;
	s = lone(&r, &cfg, 0);
	feed_alive(s, "x", 10, 1, 0);
	feed_alive(s, "y", 11, 1, 0);
	feed_alive(s, "z", 12, 1, 0);
	feed_alive(s, "w", 13, 1, 0);
	my_inc = ovg_swim_incarnation(s);

	nodes[0] = pn("x", 10, 5, OVG_STATE_ALIVE);
	nodes[0].meta = ovg_bytes_make("role", 4);
	nodes[1] = pn("y", 11, 1, OVG_STATE_LEFT);
	nodes[2] = pn("z", 12, 1, OVG_STATE_DEAD);
	nodes[3] = pn("w", 13, 1, OVG_STATE_SUSPECT);
	nodes[4] = pn("v", 14, 1, OVG_STATE_ALIVE);
	nodes[5] = pn("u", 15, 1, OVG_STATE_DEAD);
	nodes[6] = pn("a", 1, my_inc, OVG_STATE_DEAD);
	len = build_pp(buf, sizeof(buf), nodes, 7, "remote", true);
	ck_assert_int_eq(ovg_swim_push_pull_merge(s, buf, len, 100, &join), 0);
	ck_assert(join);

	ck_assert_int_eq(ovg_swim_member_find(s, "x", &m), 0);
	ck_assert_int_eq(m.state, OVG_STATE_ALIVE);
	ck_assert_uint_eq(m.incarnation, 5);
	ck_assert(ovg_bytes_eq_str(m.meta, "role"));
	ck_assert_int_eq(lone_state(s, "y"), OVG_STATE_LEFT);     /* left -> dead From=Name */
	ck_assert_int_eq(lone_state(s, "z"), OVG_STATE_SUSPECT);  /* dead -> only suspect */
	ck_assert_int_eq(lone_state(s, "w"), OVG_STATE_SUSPECT);
	ck_assert_int_eq(lone_state(s, "v"), OVG_STATE_ALIVE);
	ck_assert_int_eq(lone_state(s, "u"), -1);                 /* unknown + suspect: ignored */
	ck_assert_uint_gt(ovg_swim_incarnation(s), my_inc);       /* refuted our "death" */
	ck_assert_int_eq(lone_state(s, "a"), OVG_STATE_ALIVE);
	ck_assert_uint_eq(r.events[OVG_SWIM_EV_UPDATE], 1);       /* x's meta */
	ck_assert_uint_eq(r.events[OVG_SWIM_EV_LEFT], 1);
	ck_assert_uint_eq(r.events[OVG_SWIM_EV_SUSPECT], 2);
	ck_assert_uint_eq(r.merges, 1);
	ck_assert_str_eq(r.merged, "remote");

	/* empty user state is not handed over */
	len = build_pp(buf, sizeof(buf), nodes, 1, NULL, false);
	ck_assert_int_eq(ovg_swim_push_pull_merge(s, buf, len, 200, &join), 0);
	ck_assert(!join);
	ck_assert_uint_eq(r.merges, 1);

	/* a node whose delegate version is outside everyone's range: refused whole */
	nodes[0] = pn("t", 16, 1, OVG_STATE_ALIVE);
	nodes[1] = pn("q", 17, 1, OVG_STATE_ALIVE);
	nodes[1].vsn[5] = 0;
	len = build_pp(buf, sizeof(buf), nodes, 2, "x", false);
	ck_assert_int_eq(ovg_swim_push_pull_merge(s, buf, len, 300, NULL), -EPROTO);
	ck_assert_int_eq(lone_state(s, "t"), -1);
	ck_assert_uint_eq(r.merges, 1);

	/* malformed: wrong type, truncated, lying counts */
	buf[0] = OVG_MSG_PING;
	ck_assert_int_lt(ovg_swim_push_pull_merge(s, buf, len, 300, NULL), 0);
	len = build_pp(buf, sizeof(buf), nodes, 1, "userstate", false);
	for (size_t cut = 0; cut < len - 9; cut++)
		ck_assert_int_lt(ovg_swim_push_pull_merge(s, buf, cut, 300, NULL), 0);
	rec_clear(&r);
	ovg_swim_destroy(s);
}
END_TEST

START_TEST(push_pull_build_round_trips_through_merge)
{
	struct ovg_swim_config cfg;
	struct rec r1, r2;
	struct ovg_swim *a, *b;
	uint8_t *out = NULL;
	size_t len = 0;

	ovg_swim_config_default(&cfg);
	cfg.disable_probes = true;
	a = lone(&r1, &cfg, 0);
	feed_alive(a, "x", 10, 4, 0);
	feed_alive(a, "y", 11, 2, 0);
	ck_assert_int_eq(ovg_swim_push_pull_build(a, true, &out, &len), 0);
	ovg_swim_config_default(&cfg);
	cfg.disable_probes = true;
	cfg.name = "b";
	cfg.addr.len = 4;
	cfg.addr.ip[3] = 2;
	cfg.addr.port = 7946;
	b = lone(&r2, &cfg, 0);
	ck_assert_int_eq(ovg_swim_push_pull_merge(b, out, len, 10, NULL), 0);
	ck_assert_uint_eq(ovg_swim_member_count(b), 4);
	ck_assert_uint_eq(lone_inc(b, "x"), 4);
	ck_assert_uint_eq(lone_inc(b, "a"), 1);
	ck_assert_int_eq(lone_state(b, "a"), OVG_STATE_ALIVE);
	ck_assert_str_eq(r2.merged, "state");
	free(out);
	rec_clear(&r1);
	rec_clear(&r2);
	ovg_swim_destroy(a);
	ovg_swim_destroy(b);
}
END_TEST

START_TEST(broadcast_queue_is_bounded_and_newer_news_replaces_older)
{
	struct ovg_swim_config cfg;
	struct rec r;
	struct ovg_swim *s;
	struct ovg_swim_stats st;
	uint8_t buf[2048];
	char name[16];
	size_t q;

	ovg_swim_config_default(&cfg);
	cfg.disable_probes = true;
	cfg.gossip_interval_ms = 0;
	cfg.eager_fanout = 0;
	cfg.bcast_queue_max = 16;
	s = lone(&r, &cfg, 0);
	for (int i = 0; i < 100; i++) {
		snprintf(name, sizeof(name), "m%d", i);
		feed_alive(s, name, (uint8_t)(10 + i), 1, 0);
		ck_assert_uint_le(ovg_swim_bcast_queued(s), 16);
	}
	ovg_swim_get_stats(s, &st);
	ck_assert_uint_eq(st.bcast_dropped, 101 - 16);   /* self's alive too */
	q = ovg_swim_bcast_queued(s);
	feed_alive(s, "m99", 109, 2, 1);
	feed(s, buf, enc_sd(buf, OVG_MSG_SUSPECT, "m99", 2, "m1"), 2);
	feed(s, buf, enc_sd(buf, OVG_MSG_DEAD, "m99", 2, "m1"), 3);
	ck_assert_uint_eq(ovg_swim_bcast_queued(s), q);   /* one item about m99, replaced */
	/* old news is not queued at all */
	feed_alive(s, "m99", 109, 1, 4);
	ck_assert_uint_eq(ovg_swim_bcast_queued(s), q);
	ovg_swim_get_stats(s, &st);
	ck_assert_uint_eq(st.bcast_dropped, 101 - 16);
	rec_clear(&r);
	ovg_swim_destroy(s);
}
END_TEST

START_TEST(user_messages_reach_everyone_once_by_eager_push)
{
	static struct net n;
	struct ovg_swim_stats st;
	uint64_t eager_before = 0, eager_after = 0, t0;
	uint8_t msg[3] = { 42, 'h', 'i' };
	bool all;

	net_init(&n, 11);
	n.base.gossip_interval_ms = 1000;   /* so only eager push can be this fast */
	net_cluster(&n, 20, 10000);
	net_run(&n, n.now + 30000);          /* let join news retire */
	for (int i = 0; i < 20; i++) {
		ovg_swim_get_stats(n.nodes[i].s, &st);
		eager_before += st.eager_packets;
	}
	t0 = n.now;
	ck_assert_int_eq(ovg_swim_user_broadcast(n.nodes[0].s, msg, sizeof(msg), n.now), 0);
	n.nodes[0].user_seen[42] = 1;
	n.nodes[0].user_msgs = 1;
	/* a flood with fanout 3 misses a given node with chance (16/19)^19 ~ 4%:
	 * most nodes have it at once, the rest by gossip or a probe's piggyback */
	uint64_t t90 = 0;
	do {
		int have = 0;
		net_run(&n, n.now + 1);
		for (int i = 0; i < 20; i++)
			have += n.nodes[i].user_msgs == 1;
		all = have == 20;
		if (!t90 && have >= 18)
			t90 = n.now - t0;
	} while (!all && n.now - t0 < 3000);
	ck_assert(all);
	ck_assert_uint_lt(t90, 100);
	net_run(&n, n.now + 5000);
	for (int i = 0; i < 20; i++) {
		ck_assert_uint_eq(n.nodes[i].user_msgs, 1);
		ovg_swim_get_stats(n.nodes[i].s, &st);
		eager_after += st.eager_packets;
	}
	/* each node pushes a piece of news at most once: <= n * eager_fanout */
	ck_assert_uint_le(eager_after - eager_before, 20 * 3);
	ck_assert_int_eq(ovg_swim_user_broadcast(n.nodes[0].s, msg, 2000, n.now), -EMSGSIZE);
	net_free(&n);
}
END_TEST

/* Find an alive message about `name` in what was sent to `to`. */
static bool sent_alive(struct rec *r, const struct ovg_addr *to, const char *name, uint32_t inc)
{
	struct ovg_bytes parts[OVG_COMPOUND_MAX];
	struct ovg_msg m;

	for (size_t i = 0; i < r->n; i++) {
		size_t np = 1;
		if (r->to[i].ip[3] != to->ip[3])
			continue;
		parts[0] = ovg_bytes_make(r->pkt[i], r->len[i]);
		if (r->pkt[i][0] == OVG_MSG_COMPOUND)
			ck_assert_int_eq(ovg_compound_parse(r->pkt[i] + 1, r->len[i] - 1, parts,
							    OVG_COMPOUND_MAX, &np), 0);
		for (size_t k = 0; k < np; k++)
			if (ovg_wire_decode(parts[k].p, parts[k].len, &m) == 0 &&
			    m.type == OVG_MSG_ALIVE && ovg_bytes_eq_str(m.u.alive.node, name) &&
			    m.u.alive.incarnation == inc)
				return true;
	}
	return false;
}

START_TEST(stale_accusation_is_answered_with_the_newer_alive)
{
	struct ovg_swim_config cfg;
	struct rec r;
	struct ovg_swim *s;
	struct ovg_swim_stats st;
	uint8_t buf[2048];
	uint32_t my_inc;

	ovg_swim_config_default(&cfg);
	cfg.disable_probes = true;
	cfg.gossip_interval_ms = 0;
	cfg.eager_fanout = 0;
	s = lone(&r, &cfg, 0);
	feed_alive(s, "b", 10, 5, 0);
	my_inc = ovg_swim_incarnation(s);
	rec_clear(&r);
	/* someone still spreads an older suspicion of b, and of us */
	feed(s, buf, enc_sd(buf, OVG_MSG_SUSPECT, "b", 4, "c"), 10);
	feed(s, buf, enc_sd(buf, OVG_MSG_DEAD, "b", 3, "c"), 10);
	ck_assert_int_eq(lone_state(s, "b"), OVG_STATE_ALIVE);
	ck_assert(sent_alive(&r, &some_addr, "b", 5));
	rec_clear(&r);
	feed(s, buf, enc_sd(buf, OVG_MSG_SUSPECT, "a", my_inc - 1, "c"), 20);
	ck_assert(sent_alive(&r, &some_addr, "a", my_inc));
	ck_assert_uint_eq(ovg_swim_incarnation(s), my_inc);    /* no refute needed */
	ovg_swim_get_stats(s, &st);
	ck_assert_uint_eq(st.corrections, 3);
	ck_assert_uint_eq(st.refutes, 0);
	/* current news is not "corrected" */
	rec_clear(&r);
	feed(s, buf, enc_sd(buf, OVG_MSG_SUSPECT, "b", 5, "c"), 30);
	ck_assert_int_eq(lone_state(s, "b"), OVG_STATE_SUSPECT);
	ovg_swim_get_stats(s, &st);
	ck_assert_uint_eq(st.corrections, 3);
	rec_clear(&r);
	ovg_swim_destroy(s);
}
END_TEST

START_TEST(user_messages_by_udp_or_tcp_reach_the_application_and_forward_on_request)
{
	struct ovg_swim_config cfg;
	struct rec r;
	struct ovg_swim *s;
	size_t q0;

	ovg_swim_config_default(&cfg);
	cfg.disable_probes = true;
	cfg.gossip_interval_ms = 0;
	s = lone(&r, &cfg, 0);
	q0 = ovg_swim_bcast_queued(s);
	feed(s, (const uint8_t *)"\x08" "drop", 5, 1);
	ck_assert_uint_eq(r.user_len, 4);
	ck_assert(memcmp(r.user, "drop", 4) == 0);
	ck_assert_uint_eq(ovg_swim_bcast_queued(s), q0);
	feed(s, (const uint8_t *)"\x08" "Fwd", 4, 2);
	ck_assert_uint_eq(ovg_swim_bcast_queued(s), q0 + 1);
	ovg_swim_handle_stream_user(s, (const uint8_t *)"Ftcp", 4, 3);
	ck_assert(memcmp(r.user, "Ftcp", 4) == 0);
	ck_assert_uint_eq(ovg_swim_bcast_queued(s), q0 + 2);
	ovg_swim_handle_stream_user(s, (const uint8_t *)"tcp", 3, 3);
	ck_assert_uint_eq(ovg_swim_bcast_queued(s), q0 + 2);
	ck_assert_int_eq(ovg_swim_user_broadcast(s, (const uint8_t *)"x", 1, 4), 0);
	ck_assert_uint_eq(ovg_swim_bcast_queued(s), q0 + 3);
	rec_clear(&r);
	ovg_swim_destroy(s);
}
END_TEST

START_TEST(malformed_messages_are_counted_not_fatal)
{
	struct ovg_swim_config cfg;
	struct rec r;
	struct ovg_swim *s;
	struct ovg_swim_stats st;
	uint8_t buf[2048];
	size_t len;

	ovg_swim_config_default(&cfg);
	s = lone(&r, &cfg, 0);
	ck_assert_int_lt(ovg_swim_handle_msg(s, &some_addr, (const uint8_t *)"", 0, 1), 0);
	ck_assert_int_lt(ovg_swim_handle_msg(s, &some_addr, (const uint8_t *)"\x63zz", 3, 1), 0);
	len = enc_alive(buf, "b", 10, 1, NULL);
	for (size_t cut = 1; cut < len; cut++)
		ck_assert_int_lt(ovg_swim_handle_msg(s, &some_addr, buf, cut, 1), 0);
	ck_assert_int_lt(ovg_swim_handle_msg(s, &some_addr, (const uint8_t *)"\x07\x05", 2, 1), 0);
	ovg_swim_get_stats(s, &st);
	ck_assert_uint_ge(st.msgs_bad, len + 2);
	ck_assert_uint_eq(ovg_swim_member_count(s), 1);
	rec_clear(&r);
	ovg_swim_destroy(s);
}
END_TEST

START_TEST(config_is_validated)
{
	struct ovg_swim_config cfg;
	struct ovg_swim_io io = { 0 };
	struct ovg_splitmix sm = { 1 };
	struct ovg_rng rng = { ovg_splitmix_next, &sm };
	struct ovg_swim *ok;

	io.send_packet = rec_send;
	ovg_swim_config_default(&cfg);
	cfg.name = "a";
	cfg.addr.len = 4;
	ok = ovg_swim_create(&cfg, &io, &rng, 0);
	ck_assert_ptr_nonnull(ok);
	ovg_swim_destroy(ok);
	cfg.probe_timeout_ms = cfg.probe_interval_ms;
	errno = 0;
	ck_assert_ptr_null(ovg_swim_create(&cfg, &io, &rng, 0));
	ck_assert_int_eq(errno, EINVAL);
	ovg_swim_config_default(&cfg);
	cfg.name = "";
	cfg.addr.len = 4;
	ck_assert_ptr_null(ovg_swim_create(&cfg, &io, &rng, 0));
	cfg.name = "a";
	cfg.addr.len = 5;
	ck_assert_ptr_null(ovg_swim_create(&cfg, &io, &rng, 0));
	cfg.addr.len = 4;
	cfg.meta_len = OVG_META_MAX + 1;
	cfg.meta = (const uint8_t *)"x";
	ck_assert_ptr_null(ovg_swim_create(&cfg, &io, &rng, 0));
	ovg_swim_destroy(NULL);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("swim");
	TCase *tc = tcase_create("core");
	SRunner *sr;
	int failed;

	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, probes_are_acked_and_a_healthy_cluster_suspects_nobody);
	tcase_add_test(tc, missed_ack_goes_indirect_then_suspect_then_dead);
	tcase_add_test(tc, tcp_fallback_ping_saves_a_node_whose_udp_is_lost);
	tcase_add_test(tc, suspected_node_refutes_with_a_higher_incarnation);
	tcase_add_test(tc, suspicion_math_matches_memberlist);
	tcase_add_test(tc, lifeguard_confirmations_shrink_the_suspicion_timeout);
	tcase_add_test(tc, few_members_means_no_confirmations_are_awaited);
	tcase_add_test(tc, ping_to_a_suspect_carries_the_suspect_message);
	tcase_add_test(tc, awareness_slows_probes_when_nacks_do_not_come_back);
	tcase_add_test(tc, round_partners_form_a_perfect_matching_and_meet_everyone_once);
	tcase_add_test(tc, paired_rounds_cost_one_ping_per_pair_and_check_everyone);
	tcase_add_test(tc, paired_awareness_sits_rounds_out_when_nacks_do_not_come_back);
	tcase_add_test(tc, graceful_leave_is_left_and_a_crash_is_dead);
	tcase_add_test(tc, lone_leave_is_done_at_once);
	tcase_add_test(tc, restarted_node_rejoins_at_the_same_address);
	tcase_add_test(tc, restarted_node_rejoins_at_a_new_address);
	tcase_add_test(tc, new_address_for_a_live_member_is_a_conflict);
	tcase_add_test(tc, push_pull_merge_follows_memberlist_rules);
	tcase_add_test(tc, push_pull_build_round_trips_through_merge);
	tcase_add_test(tc, broadcast_queue_is_bounded_and_newer_news_replaces_older);
	tcase_add_test(tc, user_messages_reach_everyone_once_by_eager_push);
	tcase_add_test(tc, stale_accusation_is_answered_with_the_newer_alive);
	tcase_add_test(tc, user_messages_by_udp_or_tcp_reach_the_application_and_forward_on_request);
	tcase_add_test(tc, malformed_messages_are_counted_not_fatal);
	tcase_add_test(tc, config_is_validated);
	suite_add_tcase(s, tc);
	sr = srunner_create(s);
	srunner_run_all(sr, CK_ENV);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
