/* gossip/swim.c: ovg_swim_preload, the bulk bootstrap of a fresh instance
 * into the state a long-standing member of a cluster has. A lone instance
 * with a recording transport that acks every probe ping at once. */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ovg/swim.h"
#include "ovg/wire.h"
#include "ovg/frame.h"

#define NREC   300
#define PKTS   4096

struct rec {
	struct ovg_addr to[PKTS];
	uint8_t type[PKTS];             /* first message type in the packet */
	bool has_alive[PKTS];           /* an alive message anywhere in it */
	uint32_t ping_seq[PKTS];
	size_t n;
	size_t events[6];
};

static void note_msg(struct rec *r, const uint8_t *p, size_t len, bool first)
{
	struct ovg_msg m;

	if (len == 0)
		return;
	if (first)
		r->type[r->n] = p[0];
	if (p[0] == OVG_MSG_ALIVE)
		r->has_alive[r->n] = true;
	if (first && p[0] == OVG_MSG_PING && ovg_wire_decode(p, len, &m) == 0)
		r->ping_seq[r->n] = m.u.ping.seq_no;
}

static int rec_send(void *ctx, const struct ovg_addr *to, const uint8_t *p, size_t len, bool crc)
{
	struct rec *r = ctx;
	struct ovg_bytes parts[OVG_COMPOUND_MAX];
	size_t n = 0;

	(void)crc;
	if (r->n >= PKTS)
		return 0;
	r->to[r->n] = *to;
	r->type[r->n] = 0;
	r->has_alive[r->n] = false;
	if (len && p[0] == OVG_MSG_COMPOUND &&
	    ovg_compound_parse(p + 1, len - 1, parts, OVG_COMPOUND_MAX, &n) == 0) {
		for (size_t i = 0; i < n; i++)
			note_msg(r, parts[i].p, parts[i].len, i == 0);
	} else {
		note_msg(r, p, len, true);
	}
	r->n++;
	return 0;
}

static void rec_event(void *ctx, enum ovg_swim_event ev, const struct ovg_swim_member *m)
{
	struct rec *r = ctx;

	(void)m;
	r->events[ev]++;
}

struct inst {
	struct rec r;
	struct ovg_splitmix rs;
	struct ovg_swim *s;
};

static struct ovg_swim *make(struct inst *in, uint32_t members_max)
{
	struct ovg_swim_config cfg;
	struct ovg_swim_io io = { 0 };
	struct ovg_rng rng = { ovg_splitmix_next, &in->rs };

	memset(in, 0, sizeof(*in));
	in->rs.s = 42;
	ovg_swim_config_default(&cfg);
	cfg.name = "m0";
	cfg.addr.len = 4;
	cfg.addr.ip[0] = 10;
	cfg.addr.port = 7946;
	cfg.meta = (const uint8_t *)"m0";
	cfg.meta_len = 2;
	if (members_max)
		cfg.members_max = members_max;
	io.ctx = &in->r;
	io.send_packet = rec_send;
	io.event = rec_event;
	in->s = ovg_swim_create(&cfg, &io, &rng, 1000);
	ck_assert_ptr_nonnull(in->s);
	return in->s;
}

/* Member i: name m<i>, 10.0.(i>>8).(i&255), incarnation 1 + i % 7 (self,
 * m0, at 1: what create gives it), meta "m<i>". */
static char names[NREC][8];
static uint8_t ips[NREC][4];
static const uint8_t vsn[OVG_VSN_LEN] = OVG_VSN_DEFAULT;

static void records(struct ovg_push_node *r, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		snprintf(names[i], sizeof(names[i]), "m%zu", i);
		ips[i][0] = 10;
		ips[i][1] = 0;
		ips[i][2] = (uint8_t)(i >> 8);
		ips[i][3] = (uint8_t)i;
		memset(&r[i], 0, sizeof(r[i]));
		r[i].name = ovg_bytes_make(names[i], strlen(names[i]));
		r[i].addr = ovg_bytes_make(ips[i], 4);
		r[i].port = 7946;
		r[i].meta = ovg_bytes_make(names[i], strlen(names[i]));
		r[i].incarnation = (uint32_t)(1 + i % 7);
		r[i].state = OVG_STATE_ALIVE;
		memcpy(r[i].vsn, vsn, OVG_VSN_LEN);
		r[i].vsn_len = OVG_VSN_LEN;
	}
}

static int ring_order(const void *pa, const void *pb)
{
	const struct ovg_push_node *a = pa, *b = pb;
	uint64_t ka = ovg_swim_ring_key((const char *)a->name.p, a->name.len);
	uint64_t kb = ovg_swim_ring_key((const char *)b->name.p, b->name.len);
	size_t n = OVG_MIN(a->name.len, b->name.len);
	int c;

	if (ka != kb)
		return ka < kb ? -1 : 1;
	c = memcmp(a->name.p, b->name.p, n);
	return c ? c : (a->name.len > b->name.len) - (a->name.len < b->name.len);
}

/* Tick every 10 ms until `until`, acking each probe ping at once from its
 * destination (everybody is healthy). */
static void run(struct inst *in, uint64_t from, uint64_t until)
{
	for (uint64_t t = from; t <= until; t += 10) {
		size_t first = in->r.n;
		ovg_swim_tick(in->s, t);
		for (size_t i = first; i < in->r.n; i++) {
			struct ovg_msg m;
			uint8_t ack[32];
			size_t alen;
			if (in->r.type[i] != OVG_MSG_PING)
				continue;
			memset(&m, 0, sizeof(m));
			m.type = OVG_MSG_ACK;
			m.u.ack.seq_no = in->r.ping_seq[i];
			ck_assert_int_eq(ovg_wire_encode(&m, ack, sizeof(ack), &alen), 0);
			ovg_swim_handle_msg(in->s, &in->r.to[i], ack, alen, t);
		}
	}
}

START_TEST(preload_leaves_no_news_and_every_member_alive_at_its_incarnation)
{
	static struct inst in;
	static struct ovg_push_node r[NREC];
	struct ovg_swim *s = make(&in, 0);

	records(r, NREC);
	ck_assert_int_eq(ovg_swim_preload(s, r, NREC, 1000), 0);
	ck_assert_uint_eq(ovg_swim_bcast_queued(s), 0);
	ck_assert_uint_eq(ovg_swim_member_count(s), NREC);
	ck_assert_uint_eq(ovg_swim_num_alive(s), NREC);
	ck_assert_uint_eq(ovg_swim_incarnation(s), 1);
	ck_assert_uint_eq(in.r.events[OVG_SWIM_EV_JOIN], NREC);   /* self at create + the rest */
	for (size_t i = 0; i < NREC; i++) {
		struct ovg_swim_member m;
		ck_assert_int_eq(ovg_swim_member_find(s, names[i], &m), 0);
		ck_assert_int_eq(m.state, OVG_STATE_ALIVE);
		ck_assert_uint_eq(m.incarnation, r[i].incarnation);
		ck_assert_uint_eq(m.meta.len, r[i].meta.len);
		ck_assert_mem_eq(m.meta.p, r[i].meta.p, m.meta.len);
		ck_assert_mem_eq(m.addr.ip, ips[i], 4);
	}
	/* nothing queued means nothing rides the probes and nothing is gossiped */
	ck_assert_uint_eq(in.r.n, 0);
	run(&in, 1000, 11000);
	ck_assert_uint_ge(in.r.n, 15);
	for (size_t i = 0; i < in.r.n; i++)
		ck_assert_msg(!in.r.has_alive[i], "packet %zu carries an alive", i);
	ck_assert_uint_eq(ovg_swim_num_alive(s), NREC);
	ovg_swim_destroy(s);
}
END_TEST

START_TEST(our_announcement_stays_unless_the_records_know_us)
{
	static struct inst in;
	static struct ovg_push_node r[NREC];
	struct ovg_swim *s = make(&in, 0);

	records(r, NREC);
	/* the cluster in r[1..] has never heard of us: our alive must go out */
	ck_assert_int_eq(ovg_swim_preload(s, r + 1, NREC - 1, 1000), 0);
	ck_assert_uint_eq(ovg_swim_bcast_queued(s), 1);
	ck_assert_uint_eq(ovg_swim_member_count(s), NREC);
	ovg_swim_destroy(s);

	/* it knows us, but at an older incarnation: still news */
	s = make(&in, 0);
	records(r, NREC);
	r[0].incarnation = 0;
	ck_assert_int_eq(ovg_swim_preload(s, r, NREC, 1000), 0);
	ck_assert_uint_eq(ovg_swim_bcast_queued(s), 1);
	ovg_swim_destroy(s);
}
END_TEST

START_TEST(an_accusation_in_the_records_is_refuted_and_the_refutation_queued)
{
	static struct inst in;
	static struct ovg_push_node r[NREC];
	struct ovg_swim *s = make(&in, 0);

	records(r, NREC);
	r[0].state = OVG_STATE_SUSPECT;
	ck_assert_int_eq(ovg_swim_preload(s, r, NREC, 1000), 0);
	ck_assert_uint_eq(ovg_swim_incarnation(s), 2);
	ck_assert_uint_eq(ovg_swim_bcast_queued(s), 1);    /* the new alive about us */
	ovg_swim_destroy(s);
}
END_TEST

START_TEST(later_records_follow_merge_rules_without_news)
{
	static struct inst in;
	static struct ovg_push_node r[NREC + 2];
	struct ovg_swim_member m;
	struct ovg_swim *s = make(&in, 0);

	records(r, NREC);
	/* a second record about m5: suspect (the merge rules start a suspicion);
	 * about m6: left. Both known from their alive records just before. */
	r[NREC] = r[5];
	r[NREC].state = OVG_STATE_SUSPECT;
	r[NREC + 1] = r[6];
	r[NREC + 1].state = OVG_STATE_LEFT;
	ck_assert_int_eq(ovg_swim_preload(s, r, NREC + 2, 1000), 0);
	ck_assert_uint_eq(ovg_swim_bcast_queued(s), 0);
	ck_assert_int_eq(ovg_swim_member_find(s, "m5", &m), 0);
	ck_assert_int_eq(m.state, OVG_STATE_SUSPECT);
	ck_assert_int_eq(ovg_swim_member_find(s, "m6", &m), 0);
	ck_assert_int_eq(m.state, OVG_STATE_LEFT);
	ck_assert_uint_eq(in.r.events[OVG_SWIM_EV_SUSPECT], 1);
	ck_assert_uint_eq(in.r.events[OVG_SWIM_EV_LEFT], 1);
	ovg_swim_destroy(s);
}
END_TEST

START_TEST(only_a_fresh_instance_takes_a_preload)
{
	static struct inst in;
	static struct ovg_push_node r[NREC];
	struct ovg_swim *s = make(&in, 0);

	records(r, NREC);
	ck_assert_int_eq(ovg_swim_preload(s, NULL, 3, 1000), -EINVAL);
	ck_assert_int_eq(ovg_swim_preload(s, r, 10, 1000), 0);
	ck_assert_int_eq(ovg_swim_preload(s, r, NREC, 1000), -EALREADY);
	ck_assert_uint_eq(ovg_swim_member_count(s), 10);
	ovg_swim_destroy(s);

	s = make(&in, 0);
	ovg_swim_merge_nodes(s, r, 10, 1000);
	ck_assert_int_eq(ovg_swim_preload(s, r, NREC, 1000), -EALREADY);
	ovg_swim_destroy(s);

	s = make(&in, 0);
	ck_assert_int_eq(ovg_swim_preload(s, r, 0, 1000), 0);
	ck_assert_uint_eq(ovg_swim_member_count(s), 1);
	ovg_swim_destroy(s);
}
END_TEST

START_TEST(members_max_bounds_a_preload)
{
	static struct inst in;
	static struct ovg_push_node r[NREC];
	struct ovg_swim *s = make(&in, 100);

	records(r, NREC);
	ck_assert_int_eq(ovg_swim_preload(s, r, NREC, 1000), 0);
	ck_assert_uint_eq(ovg_swim_member_count(s), 100);
	ck_assert_uint_eq(ovg_swim_num_alive(s), 100);
	ck_assert_uint_eq(ovg_swim_bcast_queued(s), 0);
	run(&in, 1000, 6000);
	ck_assert_uint_ge(in.r.n, 8);
	ovg_swim_destroy(s);
}
END_TEST

/* The ring the preload builds (in O(n) from ring-ordered records, or by a
 * sort) is the ring a normal merge ends up with: the same partners are
 * probed round after round. */
START_TEST(any_record_order_probes_the_partners_a_merge_would)
{
	static struct inst a, b, c;
	static struct ovg_push_node sorted[NREC], rev[NREC];
	size_t pa = 0, pb = 0, pc = 0, distinct = 0;
	static struct ovg_addr da[PKTS], db[PKTS], dc[PKTS];

	records(sorted, NREC);
	qsort(sorted, NREC, sizeof(*sorted), ring_order);
	for (size_t i = 0; i < NREC; i++)
		rev[i] = sorted[NREC - 1 - i];
	make(&a, 0);
	make(&b, 0);
	make(&c, 0);
	ck_assert_int_eq(ovg_swim_preload(a.s, sorted, NREC, 1000), 0);
	ck_assert_int_eq(ovg_swim_preload(b.s, rev, NREC, 1000), 0);
	ovg_swim_merge_nodes(c.s, sorted, NREC, 1000);
	ck_assert_uint_gt(ovg_swim_bcast_queued(c.s), 0);
	run(&a, 1000, 21000);
	run(&b, 1000, 21000);
	run(&c, 1000, 21000);
	for (size_t i = 0; i < a.r.n; i++)
		if (a.r.type[i] == OVG_MSG_PING)
			da[pa++] = a.r.to[i];
	for (size_t i = 0; i < b.r.n; i++)
		if (b.r.type[i] == OVG_MSG_PING)
			db[pb++] = b.r.to[i];
	for (size_t i = 0; i < c.r.n; i++)
		if (c.r.type[i] == OVG_MSG_PING)
			dc[pc++] = c.r.to[i];
	ck_assert_uint_ge(pa, 35);     /* ~40 rounds of 500 ms */
	ck_assert_uint_eq(pa, pb);
	ck_assert_uint_eq(pa, pc);
	for (size_t i = 0; i < pa; i++) {
		ck_assert_mem_eq(&da[i], &db[i], sizeof(da[i]));
		ck_assert_mem_eq(&da[i], &dc[i], sizeof(da[i]));
		distinct += i == 0 || memcmp(&da[i], &da[i - 1], sizeof(da[i])) != 0;
	}
	ck_assert_uint_ge(distinct, pa / 2);
	ovg_swim_destroy(a.s);
	ovg_swim_destroy(b.s);
	ovg_swim_destroy(c.s);
}
END_TEST

int main(void)
{
	Suite *su = suite_create("swim_preload");
	TCase *tc = tcase_create("preload");
	SRunner *sr;
	int failed;

	tcase_add_test(tc, preload_leaves_no_news_and_every_member_alive_at_its_incarnation);
	tcase_add_test(tc, our_announcement_stays_unless_the_records_know_us);
	tcase_add_test(tc, an_accusation_in_the_records_is_refuted_and_the_refutation_queued);
	tcase_add_test(tc, later_records_follow_merge_rules_without_news);
	tcase_add_test(tc, only_a_fresh_instance_takes_a_preload);
	tcase_add_test(tc, members_max_bounds_a_preload);
	tcase_add_test(tc, any_record_order_probes_the_partners_a_merge_would);
	suite_add_tcase(su, tc);
	sr = srunner_create(su);
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? 1 : 0;
}
