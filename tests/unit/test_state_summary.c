/* Replicated state: the SUMMARY message (a digest's count and canonical hash)
 * and the anti-entropy that runs through it. */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include "ovg/state.h"

/* ---- a tiny direct-delivery cluster ---------------------------------------------- */

struct tnode {
	char name[OVG_STATE_NAME_MAX + 1];
	struct ovg_splitmix rng;
	struct ovg_state *st;
};

static struct ovg_state *t_open(struct tnode *n, const uint8_t *saved, size_t len, uint64_t now)
{
	struct ovg_state_config cfg = { .node_name = n->name, .rng = { ovg_splitmix_next, &n->rng } };
	return ovg_state_new(&cfg, now, saved, len);
}

static void t_init_at(struct tnode *n, const char *name, uint64_t seed, uint64_t now)
{
	memset(n, 0, sizeof(*n));
	snprintf(n->name, sizeof(n->name), "%s", name);
	n->rng.s = seed;
	n->st = t_open(n, NULL, 0, now);
	ck_assert_ptr_nonnull(n->st);
}

static void t_init(struct tnode *n, const char *name, uint64_t seed)
{
	t_init_at(n, name, seed, 1000);
}

static uint8_t buf[1 << 20];
static uint8_t buf2[1 << 20];

/* b learns everything a has that b lacks (b's REQUEST, a's pieces). */
static void t_pull(struct tnode *b, struct tnode *a)
{
	size_t len, plen;
	struct ovg_state_rx rx;
	ck_assert_int_eq(ovg_state_digest_encode(b->st, OVG_ENV_STATE_REQUEST, buf, sizeof(buf), &len), 0);
	ck_assert_int_eq(ovg_state_receive(a->st, 2000, buf, len, &rx), 0);
	struct ovg_state_sync *s = ovg_state_sync_new(a->st, buf, len);
	ck_assert_ptr_nonnull(s);
	for (;;) {
		ck_assert_int_eq(ovg_state_sync_next(s, buf2, sizeof(buf2), &plen), 0);
		if (!plen)
			break;
		ck_assert_int_eq(ovg_state_receive(b->st, 2000, buf2, plen, &rx), 0);
	}
	ovg_state_sync_free(s);
}

static void t_sync(struct tnode *a, struct tnode *b)
{
	t_pull(a, b);
	t_pull(b, a);
}

static uint64_t sum_hash(struct tnode *n, uint32_t *count)
{
	uint64_t h;
	ck_assert_int_eq(ovg_state_summary_hash(n->st, count, &h), 0);
	return h;
}

static size_t summary_of(struct tnode *n, uint8_t *out, size_t cap)
{
	size_t len;
	ck_assert_int_eq(ovg_state_summary_encode(n->st, out, cap, &len), 0);
	ck_assert_uint_gt(len, OVG_ENV_HDR_LEN);
	ck_assert_uint_eq(out[2], OVG_ENV_STATE_SUMMARY);
	return len;
}

/* Deliver from's summary to `to`; nothing else. */
static struct ovg_state_rx deliver_summary(struct tnode *from, struct tnode *to, uint64_t now)
{
	uint8_t s[OVG_STATE_SUMMARY_MAX];
	struct ovg_state_rx rx;
	size_t len = summary_of(from, s, sizeof(s));
	ck_assert_int_eq(ovg_state_receive(to->st, now, s, len, &rx), 0);
	ck_assert_uint_eq(rx.kind, OVG_ENV_STATE_SUMMARY);
	ck_assert(!rx.send_request && !rx.peer_lacks && !rx.forward);
	return rx;
}

/* ---- the daemon's message flow between two nodes, lossless ---------------------------- */

struct qmsg {
	struct tnode *from, *to;
	size_t len;
	uint8_t *data;
};

struct flow {
	struct qmsg q[4096];
	int nq;
	int by_kind[8];         /* messages delivered, per envelope kind */
};

static void q_send(struct flow *f, struct tnode *from, struct tnode *to, const uint8_t *data, size_t len)
{
	ck_assert_int_lt(f->nq, (int)OVG_ARRAY_SIZE(f->q));
	struct qmsg *m = &f->q[f->nq++];
	m->from = from;
	m->to = to;
	m->len = len;
	m->data = malloc(len);
	ck_assert_ptr_nonnull(m->data);
	memcpy(m->data, data, len);
}

/* What daemon/replica.c does on receipt, until nothing is left to send. */
static void pump(struct flow *f, uint64_t now)
{
	for (int guard = 0; f->nq > 0; guard++) {
		ck_assert_int_lt(guard, 100000);
		struct qmsg m = f->q[0];
		memmove(f->q, f->q + 1, (size_t)(f->nq - 1) * sizeof(f->q[0]));
		f->nq--;
		struct ovg_state_rx rx;
		size_t len;
		ck_assert_int_eq(ovg_state_receive(m.to->st, now, m.data, m.len, &rx), 0);
		f->by_kind[rx.kind & 7]++;
		if (rx.summary_differs) {
			ck_assert_int_eq(ovg_state_digest_encode(m.to->st, OVG_ENV_STATE_DIGEST, buf, sizeof(buf),
								 &len), 0);
			q_send(f, m.to, m.from, buf, len);
		}
		if (rx.send_request) {
			ck_assert_int_eq(ovg_state_digest_encode(m.to->st, OVG_ENV_STATE_REQUEST, buf, sizeof(buf),
								 &len), 0);
			q_send(f, m.to, m.from, buf, len);
		}
		if (rx.peer_lacks) {
			struct ovg_state_sync *s = ovg_state_sync_new(m.to->st, m.data, m.len);
			ck_assert_ptr_nonnull(s);
			for (;;) {
				ck_assert_int_eq(ovg_state_sync_next(s, buf2, OVG_STATE_PIECE_MAX, &len), 0);
				if (!len)
					break;
				q_send(f, m.to, m.from, buf2, len);
			}
			ovg_state_sync_free(s);
		}
		free(m.data);
	}
}

static void summary_round(struct flow *f, struct tnode *from, struct tnode *to, uint64_t now)
{
	uint8_t s[OVG_STATE_SUMMARY_MAX];
	size_t len = summary_of(from, s, sizeof(s));
	q_send(f, from, to, s, len);
	pump(f, now);
}

static void mknet(struct tnode *n, const char *name, const char *subnet, uint8_t id[16])
{
	char err[256] = "";
	struct ovg_state_net_spec spec = { .name = name, .subnet = subnet, .attachable = true };
	int rc = ovg_state_net_create(n->st, 1000, &spec, id, err, sizeof(err));
	ck_assert_msg(rc == 0, "create %s: %d %s", name, rc, err);
}

static int attach(struct tnode *n, const uint8_t id[16], const char *name)
{
	char err[256] = "";
	return ovg_state_ep_attach(n->st, 1500, id, name, NULL, NULL, err, sizeof(err));
}

/* Deliver every due IPAM request of `from` to `to`; blocks granted. */
static uint32_t ipam_to(struct tnode *from, struct tnode *to, uint64_t now)
{
	char node[OVG_STATE_NAME_MAX + 1];
	uint32_t granted = 0;
	size_t len;
	for (;;) {
		ck_assert_int_eq(ovg_state_ipam_next(from->st, now, node, buf, sizeof(buf), &len), 0);
		if (!len)
			break;
		ck_assert_str_eq(node, to->name);
		struct ovg_state_rx rx;
		ck_assert_int_eq(ovg_state_receive(to->st, now, buf, len, &rx), 0);
		granted += rx.granted;
	}
	return granted;
}

static uint32_t owners_removed(struct tnode *n)
{
	struct ovg_state_stats s;
	ovg_state_get_stats(n->st, &s);
	return s.owners_removed;
}

/* ---- the hash --------------------------------------------------------------------------- */

START_TEST(equal_states_give_equal_summaries_whatever_the_order_learnt)
{
	struct tnode a, b, c, d;
	uint8_t id[16];
	uint32_t ca, cb, cc, cd;
	t_init(&a, "n0", 1);
	t_init(&b, "n1", 2);
	t_init(&c, "n2", 3);
	t_init(&d, "n3", 4);
	mknet(&a, "ova", "10.60.0.0/24", id);
	ck_assert_int_eq(attach(&a, id, "a1"), 0);
	mknet(&c, "ovc", "10.61.0.0/24", id);
	/* each learns the others in another order */
	t_sync(&a, &d);
	t_sync(&a, &c);
	t_sync(&c, &b);
	t_sync(&b, &d);
	t_sync(&d, &c);
	t_sync(&a, &b);
	t_sync(&c, &a);
	ck_assert_uint_eq(ovg_state_hash(a.st), ovg_state_hash(b.st));
	ck_assert_uint_eq(ovg_state_hash(a.st), ovg_state_hash(c.st));
	ck_assert_uint_eq(ovg_state_hash(a.st), ovg_state_hash(d.st));
	uint64_t h = sum_hash(&a, &ca);
	ck_assert_uint_eq(ca, 4);
	ck_assert_uint_eq(sum_hash(&b, &cb), h);
	ck_assert_uint_eq(sum_hash(&c, &cc), h);
	ck_assert_uint_eq(sum_hash(&d, &cd), h);
	ck_assert_uint_eq(cb, 4);
	ck_assert_uint_eq(cc, 4);
	ck_assert_uint_eq(cd, 4);
	/* every node's summary matches at every other node */
	struct tnode *all[4] = { &a, &b, &c, &d };
	for (int i = 0; i < 4; i++)
		for (int j = 0; j < 4; j++) {
			if (i == j)
				continue;
			struct ovg_state_rx rx = deliver_summary(all[i], all[j], 3000);
			ck_assert(rx.in_sync);
			ck_assert(!rx.summary_differs);
		}
	/* small: name, instance, count, hash */
	size_t len = summary_of(&a, buf, sizeof(buf));
	ck_assert_uint_le(len - OVG_ENV_HDR_LEN, 40);
	for (int i = 0; i < 4; i++)
		ovg_state_free(all[i]->st);
}
END_TEST

START_TEST(a_different_watermark_instance_or_extra_owner_changes_the_summary)
{
	struct tnode a, b, c, x, y;
	uint8_t id[16];
	uint32_t ca, cb, cx, cy;
	t_init(&a, "n0", 5);
	t_init(&b, "n1", 6);
	t_init(&c, "n2", 7);
	t_sync(&a, &b);
	ck_assert_uint_eq(sum_hash(&a, &ca), sum_hash(&b, &cb));

	/* a watermark: a writes a record b does not hold */
	mknet(&a, "ov", NULL, id);
	ck_assert_uint_ne(sum_hash(&a, &ca), sum_hash(&b, &cb));
	ck_assert_uint_eq(ca, cb);
	uint64_t hb = ovg_state_hash(b.st);
	struct ovg_state_rx rx = deliver_summary(&a, &b, 3000);
	ck_assert(rx.summary_differs);
	ck_assert(!rx.in_sync);
	ck_assert_uint_eq(ovg_state_hash(b.st), hb);        /* a differing summary changes nothing */
	rx = deliver_summary(&b, &a, 3000);
	ck_assert(rx.summary_differs);
	t_sync(&a, &b);
	ck_assert(deliver_summary(&a, &b, 3000).in_sync);

	/* an extra owner: a learns c, b does not */
	t_sync(&a, &c);
	ck_assert_uint_ne(sum_hash(&a, &ca), sum_hash(&b, &cb));
	ck_assert_uint_eq(ca, 3);
	ck_assert_uint_eq(cb, 2);
	ck_assert(deliver_summary(&a, &b, 3000).summary_differs);
	ck_assert(deliver_summary(&b, &a, 3000).summary_differs);

	/* an instance: same name, same records (NODE at version 1), another id */
	t_init(&x, "n5", 100);
	t_init(&y, "n5", 200);
	ck_assert_uint_ne(sum_hash(&x, &cx), sum_hash(&y, &cy));
	ck_assert_uint_eq(cx, 1);
	ck_assert_uint_eq(cy, 1);
	ck_assert(deliver_summary(&x, &y, 3000).summary_differs);

	ovg_state_free(a.st);
	ovg_state_free(b.st);
	ovg_state_free(c.st);
	ovg_state_free(x.st);
	ovg_state_free(y.st);
}
END_TEST

/* ---- the effects of a match ------------------------------------------------------------ */

/* The lost-state-dir scenario of test_state.c, up to the point where the new
 * instance holds exactly what a holds but no peer has shown it the old
 * instance yet. */
static void lost_dir_setup(struct tnode *a, struct tnode *b)
{
	uint8_t id[16];
	t_init(a, "n0", 23);
	t_init(b, "n1", 24);
	mknet(a, "ov", "10.44.0.0/28", id);
	t_sync(a, b);
	ck_assert_int_eq(attach(b, id, "bx"), -EAGAIN);
	ck_assert_uint_eq(ipam_to(b, a, 1500), 1);
	t_sync(a, b);
	ck_assert_int_eq(attach(b, id, "bx"), 0);
	t_sync(a, b);
	ovg_state_free(b->st);
	b->rng.s = 999;
	b->st = t_open(b, NULL, 0, 9000);      /* state dir wiped: a new instance */
	ck_assert_ptr_nonnull(b->st);
	t_pull(a, b);           /* a learns the new instance; b knows nothing of a yet */
	t_pull(b, a);           /* b learns everything a holds, by pieces only */
	ck_assert_uint_eq(ovg_state_hash(a->st), ovg_state_hash(b->st));
	ck_assert_uint_eq(owners_removed(b), 0);     /* nobody has shown b the old one */
}

START_TEST(matching_summary_retires_the_old_instance_as_an_equal_digest_does)
{
	for (int mode = 0; mode < 2; mode++) {
		struct tnode a, b;
		struct ovg_state_rx rx;
		size_t len;
		lost_dir_setup(&a, &b);
		if (mode == 0) {
			rx = deliver_summary(&a, &b, 9500);
		} else {
			ck_assert_int_eq(ovg_state_digest_encode(a.st, OVG_ENV_STATE_DIGEST, buf, sizeof(buf), &len), 0);
			ck_assert_int_eq(ovg_state_receive(b.st, 9500, buf, len, &rx), 0);
			ck_assert(!rx.send_request && !rx.peer_lacks);
		}
		ck_assert_msg(rx.in_sync, "mode %d", mode);
		ck_assert_msg(owners_removed(&b) == 1, "mode %d: old instance not retired", mode);
		/* and the rest converges through summaries */
		struct flow *f = calloc(1, sizeof(*f));
		summary_round(f, &b, &a, 9600);
		ck_assert_uint_eq(ovg_state_hash(a.st), ovg_state_hash(b.st));
		ck_assert_uint_eq(owners_removed(&a), 1);
		ck_assert(deliver_summary(&a, &b, 9700).in_sync);
		free(f);
		ovg_state_free(a.st);
		ovg_state_free(b.st);
	}
}
END_TEST

START_TEST(old_instance_matching_summary_does_not_retire_itself)
{
	/* The sender's own entry says nothing of what others hold of it (its
	 * last records may die with it): as in a digest, it raises nothing. */
	struct tnode old, neu;
	struct ovg_state_rx rx;
	size_t len;
	t_init_at(&old, "n1", 31, 1000);
	t_init_at(&neu, "n1", 32, 9000);
	t_pull(&neu, &old);
	t_pull(&old, &neu);
	ck_assert_uint_eq(ovg_state_hash(old.st), ovg_state_hash(neu.st));
	ck_assert_uint_eq(owners_removed(&neu), 0);
	rx = deliver_summary(&old, &neu, 9500);
	ck_assert(rx.in_sync);
	ck_assert_uint_eq(owners_removed(&neu), 0);
	ck_assert_int_eq(ovg_state_digest_encode(old.st, OVG_ENV_STATE_DIGEST, buf, sizeof(buf), &len), 0);
	ck_assert_int_eq(ovg_state_receive(neu.st, 9500, buf, len, &rx), 0);
	ck_assert(rx.in_sync);
	ck_assert_uint_eq(owners_removed(&neu), 0);  /* the equal digest agrees */
	ovg_state_free(old.st);
	ovg_state_free(neu.st);
}
END_TEST

START_TEST(matching_summary_counts_as_caught_up_after_a_restart)
{
	struct tnode a, b, c;
	uint8_t id[16], *saved;
	size_t len;
	t_init(&a, "n0", 41);
	t_init(&b, "n1", 42);
	t_init(&c, "n2", 43);
	mknet(&a, "ov", "10.45.0.0/28", id);
	t_sync(&a, &b);
	t_sync(&a, &c);
	t_sync(&b, &c);
	ck_assert_int_eq(ovg_state_save(a.st, &saved, &len), 0);
	ovg_state_free(a.st);
	a.st = t_open(&a, saved, len, 2000);     /* restarted: grants nothing until caught up */
	free(saved);
	ck_assert_ptr_nonnull(a.st);
	ck_assert_int_eq(attach(&b, id, "bx"), -EAGAIN);
	ck_assert_uint_eq(ipam_to(&b, &a, 2000), 0);
	/* a summary that differs (c wrote something since) proves nothing */
	mknet(&c, "other", "10.46.0.0/28", id);
	ck_assert(deliver_summary(&c, &a, 2100).summary_differs);
	ck_assert_uint_eq(ipam_to(&b, &a, 3100), 0);
	/* b's matches: a is caught up */
	ck_assert(deliver_summary(&b, &a, 3200).in_sync);
	ck_assert_uint_eq(ipam_to(&b, &a, 4200), 1);
	ovg_state_free(a.st);
	ovg_state_free(b.st);
	ovg_state_free(c.st);
}
END_TEST

START_TEST(in_sync_since_follows_matches_and_local_changes)
{
	struct tnode a, b;
	uint8_t id[16];
	struct ovg_state_rx rx;
	size_t len;
	t_init(&a, "n0", 51);
	t_init(&b, "n1", 52);
	ck_assert(!ovg_state_in_sync_since(b.st, 0));
	t_sync(&a, &b);
	ck_assert(deliver_summary(&a, &b, 5000).in_sync);
	ck_assert(ovg_state_in_sync_since(b.st, 4000));
	ck_assert(ovg_state_in_sync_since(b.st, 5000));
	ck_assert(!ovg_state_in_sync_since(b.st, 5001));   /* older than asked */
	/* a differing summary neither sets nor clears it */
	mknet(&a, "ov", NULL, id);
	ck_assert(deliver_summary(&a, &b, 5500).summary_differs);
	ck_assert(ovg_state_in_sync_since(b.st, 4000));
	/* b learns a's record: what matched is no longer what b holds */
	t_pull(&b, &a);
	ck_assert(!ovg_state_in_sync_since(b.st, 4000));
	/* an equal digest counts too; a local write ends it */
	ck_assert_int_eq(ovg_state_digest_encode(a.st, OVG_ENV_STATE_DIGEST, buf, sizeof(buf), &len), 0);
	ck_assert_int_eq(ovg_state_receive(b.st, 6000, buf, len, &rx), 0);
	ck_assert(rx.in_sync);
	ck_assert(ovg_state_in_sync_since(b.st, 6000));
	ck_assert_int_eq(attach(&b, id, "b1"), -EAGAIN);   /* a block request: no record */
	ck_assert(ovg_state_in_sync_since(b.st, 6000));
	mknet(&b, "ov2", NULL, id);
	ck_assert(!ovg_state_in_sync_since(b.st, 6000));
	ovg_state_free(a.st);
	ovg_state_free(b.st);
}
END_TEST

/* ---- repair ------------------------------------------------------------------------------ */

START_TEST(lost_eager_push_is_repaired_through_summaries_both_ways)
{
	struct tnode a, b, c;
	uint8_t id[16];
	size_t len;
	struct ovg_state_rx rx;
	struct flow *f = calloc(1, sizeof(*f));
	t_init(&a, "n0", 61);
	t_init(&b, "n1", 62);
	t_init(&c, "n2", 63);
	ck_assert_ptr_nonnull(f);
	summary_round(f, &a, &b, 2000);
	summary_round(f, &b, &c, 2000);
	summary_round(f, &c, &a, 2000);
	summary_round(f, &a, &b, 2000);
	ck_assert_uint_eq(ovg_state_hash(a.st), ovg_state_hash(b.st));
	ck_assert_uint_eq(ovg_state_hash(a.st), ovg_state_hash(c.st));

	/* a's push reaches c, not b; b's summary goes to c, which holds more */
	mknet(&a, "ov", NULL, id);
	for (;;) {
		ck_assert_int_eq(ovg_state_push_next(a.st, buf, OVG_STATE_PIECE_MAX, &len), 0);
		if (!len)
			break;
		ck_assert_int_eq(ovg_state_receive(c.st, 3000, buf, len, &rx), 0);
	}
	ck_assert_uint_ne(ovg_state_hash(b.st), ovg_state_hash(c.st));
	memset(f->by_kind, 0, sizeof(f->by_kind));
	summary_round(f, &b, &c, 3000);
	ck_assert_uint_eq(ovg_state_hash(b.st), ovg_state_hash(c.st));
	/* summary, c's digest, b's request, c's delta: one hop more than before */
	ck_assert_int_eq(f->by_kind[OVG_ENV_STATE_SUMMARY], 1);
	ck_assert_int_eq(f->by_kind[OVG_ENV_STATE_DIGEST], 1);
	ck_assert_int_eq(f->by_kind[OVG_ENV_STATE_REQUEST], 1);
	ck_assert_int_eq(f->by_kind[OVG_ENV_STATE_DELTA], 1);

	/* again, now the one holding more sends the summary */
	ck_assert_int_eq(attach(&a, id, "a1"), 0);
	for (;;) {
		ck_assert_int_eq(ovg_state_push_next(a.st, buf, OVG_STATE_PIECE_MAX, &len), 0);
		if (!len)
			break;
		ck_assert_int_eq(ovg_state_receive(c.st, 3000, buf, len, &rx), 0);
	}
	memset(f->by_kind, 0, sizeof(f->by_kind));
	summary_round(f, &c, &b, 4000);
	ck_assert_uint_eq(ovg_state_hash(b.st), ovg_state_hash(c.st));
	ck_assert_int_eq(f->by_kind[OVG_ENV_STATE_DIGEST], 1);
	ck_assert_int_eq(f->by_kind[OVG_ENV_STATE_REQUEST], 0);
	ck_assert_int_eq(f->by_kind[OVG_ENV_STATE_DELTA], 1);
	ck_assert_uint_eq(ovg_state_hash(a.st), ovg_state_hash(b.st));
	/* at rest: summaries match, nothing follows */
	memset(f->by_kind, 0, sizeof(f->by_kind));
	summary_round(f, &a, &b, 5000);
	summary_round(f, &b, &c, 5000);
	summary_round(f, &c, &a, 5000);
	ck_assert_int_eq(f->by_kind[OVG_ENV_STATE_SUMMARY], 3);
	ck_assert_int_eq(f->by_kind[OVG_ENV_STATE_DIGEST] + f->by_kind[OVG_ENV_STATE_REQUEST] +
			 f->by_kind[OVG_ENV_STATE_DELTA], 0);
	free(f);
	ovg_state_free(a.st);
	ovg_state_free(b.st);
	ovg_state_free(c.st);
}
END_TEST

/* ---- wire --------------------------------------------------------------------------------- */

START_TEST(summary_size_is_bounded_by_the_name)
{
	struct tnode a, l;
	char longname[OVG_STATE_NAME_MAX + 1];
	uint8_t s[OVG_STATE_SUMMARY_MAX];
	struct ovg_state_wsummary d;
	uint32_t count;
	size_t len;
	memset(longname, 'x', OVG_STATE_NAME_MAX);
	longname[OVG_STATE_NAME_MAX] = 0;
	t_init(&a, "n0", 71);
	t_init(&l, longname, 72);
	len = summary_of(&a, s, sizeof(s));
	ck_assert_int_eq(ovg_state_wsummary_decode(s + OVG_ENV_HDR_LEN, len - OVG_ENV_HDR_LEN, &d), 0);
	ck_assert_uint_eq(d.name.len, 2);
	ck_assert_mem_eq(d.name.p, "n0", 2);
	ck_assert_uint_eq(d.count, 1);
	ck_assert_uint_eq(d.hash, sum_hash(&a, &count));
	len = summary_of(&l, s, sizeof(s));
	ck_assert_uint_le(len, OVG_STATE_SUMMARY_MAX);
	ck_assert_int_eq(ovg_state_summary_encode(l.st, s, len - 1, &len), -ENOSPC);
	ck_assert_uint_eq(len, 0);
	ovg_state_free(a.st);
	ovg_state_free(l.st);
}
END_TEST

START_TEST(malformed_summaries_are_refused_and_counted)
{
	struct tnode a;
	struct ovg_state_rx rx;
	struct ovg_state_stats st;
	struct ovg_state_wsummary d;
	uint8_t good[OVG_STATE_SUMMARY_MAX];
	t_init(&a, "n0", 81);
	uint64_t h = ovg_state_hash(a.st);
#define H 'o', 1, OVG_ENV_STATE_SUMMARY
	static const uint8_t bad_not_array[] = { H, 0xa2, 'n', '1' };
	static const uint8_t bad_short[] = { H, 0x93, 0xa2, 'n', '1', 0x07, 0x01 };
	static const uint8_t bad_empty_name[] = { H, 0x94, 0xa0, 0x07, 0x01, 0x05 };
	static const uint8_t bad_nil_name[] = { H, 0x94, 0xc0, 0x07, 0x01, 0x05 };
	static const uint8_t bad_nul_name[] = { H, 0x94, 0xa2, 'n', 0, 0x07, 0x01, 0x05 };
	static const uint8_t bad_inst0[] = { H, 0x94, 0xa2, 'n', '1', 0x00, 0x01, 0x05 };
	static const uint8_t bad_count0[] = { H, 0x94, 0xa2, 'n', '1', 0x07, 0x00, 0x05 };
	static const uint8_t bad_count_big[] = { H, 0x94, 0xa2, 'n', '1', 0x07, 0xcd, 0x04, 0x01, 0x05 };
	static const uint8_t bad_neg_count[] = { H, 0x94, 0xa2, 'n', '1', 0x07, 0xff, 0x05 };
	static const uint8_t bad_hash_str[] = { H, 0x94, 0xa2, 'n', '1', 0x07, 0x01, 0xa1, 'h' };
	static const uint8_t bad_float[] = { H, 0x94, 0xa2, 'n', '1', 0x07, 0x01, 0xca, 0, 0, 0, 0 };
	static const uint8_t bad_trailing[] = { H, 0x94, 0xa2, 'n', '1', 0x07, 0x01, 0x05, 0x00 };
	static const uint8_t bad_huge_array[] = { H, 0xdd, 0xff, 0xff, 0xff, 0xff, 0xa2, 'n', '1' };
	static const uint8_t bad_deep[] = { H, 0x95, 0xa2, 'n', '1', 0x07, 0x01, 0x05, 0x91, 0x91, 0x91, 0x91,
					    0x91, 0x91, 0x91, 0x91, 0x91, 0x91, 0x91, 0x91, 0x91, 0x91, 0x91,
					    0x91, 0x91, 0x91, 0x01 };
	static const uint8_t bad_empty[] = { H };
	static const uint8_t ok_extra[] = { H, 0x95, 0xa2, 'n', '1', 0x07, 0x01, 0x05, 0x92, 0x01, 0xa1, 'z' };
#undef H
	static const struct { const uint8_t *p; size_t len; } bad[] = {
		{ bad_not_array, sizeof(bad_not_array) }, { bad_short, sizeof(bad_short) },
		{ bad_empty_name, sizeof(bad_empty_name) }, { bad_nil_name, sizeof(bad_nil_name) },
		{ bad_nul_name, sizeof(bad_nul_name) }, { bad_inst0, sizeof(bad_inst0) },
		{ bad_count0, sizeof(bad_count0) }, { bad_count_big, sizeof(bad_count_big) },
		{ bad_neg_count, sizeof(bad_neg_count) }, { bad_hash_str, sizeof(bad_hash_str) },
		{ bad_float, sizeof(bad_float) }, { bad_trailing, sizeof(bad_trailing) },
		{ bad_huge_array, sizeof(bad_huge_array) }, { bad_deep, sizeof(bad_deep) },
		{ bad_empty, sizeof(bad_empty) },
	};
	uint64_t expect = 0;
	for (size_t i = 0; i < OVG_ARRAY_SIZE(bad); i++) {
		ck_assert_msg(ovg_state_receive(a.st, 1000, bad[i].p, bad[i].len, &rx) == -EBADMSG, "case %zu", i);
		ck_assert(!rx.summary_differs && !rx.in_sync);
		expect++;
	}
	/* a name over the cap */
	size_t n = 0;
	good[n++] = 'o';
	good[n++] = 1;
	good[n++] = OVG_ENV_STATE_SUMMARY;
	good[n++] = 0x94;
	good[n++] = 0xda;
	good[n++] = 0;
	good[n++] = OVG_STATE_NAME_MAX + 1;
	memset(good + n, 'x', OVG_STATE_NAME_MAX + 1);
	n += OVG_STATE_NAME_MAX + 1;
	uint8_t longer[sizeof(good) + 8];
	memcpy(longer, good, n);
	longer[n++] = 0x07;
	longer[n++] = 0x01;
	longer[n++] = 0x05;
	ck_assert_int_eq(ovg_state_receive(a.st, 1000, longer, n, &rx), -EBADMSG);
	expect++;
	/* every truncation of a good one */
	size_t glen = summary_of(&a, good, sizeof(good));
	for (size_t cut = OVG_ENV_HDR_LEN; cut < glen; cut++) {
		ck_assert_msg(ovg_state_receive(a.st, 1000, good, cut, &rx) == -EBADMSG, "cut at %zu", cut);
		expect++;
	}
	ovg_state_get_stats(a.st, &st);
	ck_assert_uint_eq(st.bad_messages, expect);
	ck_assert_uint_eq(ovg_state_hash(a.st), h);
	ck_assert(!ovg_state_in_sync_since(a.st, 0));
	/* fields appended later are skipped */
	ck_assert_int_eq(ovg_state_wsummary_decode(ok_extra + OVG_ENV_HDR_LEN, sizeof(ok_extra) - OVG_ENV_HDR_LEN,
						   &d), 0);
	ck_assert_uint_eq(d.instance, 7);
	ck_assert_uint_eq(d.count, 1);
	ck_assert_uint_eq(d.hash, 5);
	ck_assert_int_eq(ovg_state_receive(a.st, 1000, ok_extra, sizeof(ok_extra), &rx), 0);
	ck_assert(rx.summary_differs);
	/* the whole summary, whole: matches itself (a message from ourselves) */
	ck_assert_int_eq(ovg_state_receive(a.st, 1000, good, glen, &rx), 0);
	ck_assert(rx.in_sync);
	ovg_state_free(a.st);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("state_summary");
	TCase *tc = tcase_create("summary");
	tcase_set_timeout(tc, 20);
	tcase_add_test(tc, equal_states_give_equal_summaries_whatever_the_order_learnt);
	tcase_add_test(tc, a_different_watermark_instance_or_extra_owner_changes_the_summary);
	tcase_add_test(tc, matching_summary_retires_the_old_instance_as_an_equal_digest_does);
	tcase_add_test(tc, old_instance_matching_summary_does_not_retire_itself);
	tcase_add_test(tc, matching_summary_counts_as_caught_up_after_a_restart);
	tcase_add_test(tc, in_sync_since_follows_matches_and_local_changes);
	tcase_add_test(tc, lost_eager_push_is_repaired_through_summaries_both_ways);
	tcase_add_test(tc, summary_size_is_bounded_by_the_name);
	tcase_add_test(tc, malformed_summaries_are_refused_and_counted);
	suite_add_tcase(s, tc);
	SRunner *sr = srunner_create(s);
	srunner_run_all(sr, CK_ENV);
	int failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? 1 : 0;
}
