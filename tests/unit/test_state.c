/* Replicated state: local operations, resolution rules, persistence, sync. */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include "ovg/state.h"

/* ---- a tiny direct-delivery cluster ---------------------------------------------- */

struct tnode {
	char name[16];
	struct ovg_splitmix rng;
	struct ovg_state *st;
	bool dead[8];           /* node_alive answers for names n0..n7 */
	int changed;            /* net_changed calls */
	uint8_t last_changed[16];
};

static bool t_alive(void *ctx, const char *name)
{
	struct tnode *n = ctx;
	if (name[0] == 'n' && name[1] >= '0' && name[1] <= '7' && !name[2])
		return !n->dead[name[1] - '0'];
	return true;
}

static void t_changed(void *ctx, const uint8_t id[16])
{
	struct tnode *n = ctx;
	n->changed++;
	memcpy(n->last_changed, id, 16);
}

static struct ovg_state *t_open(struct tnode *n, const uint8_t *saved, size_t len, uint64_t now)
{
	struct ovg_state_config cfg = { .node_name = n->name,
					.rng = { ovg_splitmix_next, &n->rng },
					.net_changed = t_changed, .node_alive = t_alive, .ctx = n };
	return ovg_state_new(&cfg, now, saved, len);
}

static void t_init(struct tnode *n, const char *name, uint64_t seed)
{
	memset(n, 0, sizeof(*n));
	snprintf(n->name, sizeof(n->name), "%s", name);
	n->rng.s = seed;
	n->st = t_open(n, NULL, 0, 1000);
	ck_assert_ptr_nonnull(n->st);
}

static uint64_t g_now = 1500;     /* attach and the measurement's IPAM rounds */
static uint8_t buf[1 << 20];
static uint8_t buf2[1 << 20];

/* b learns everything a has that b lacks (one direction). */
static void t_pull(struct tnode *b, struct tnode *a, size_t piece)
{
	size_t len, plen;
	struct ovg_state_rx rx;
	ck_assert_int_eq(ovg_state_digest_encode(b->st, OVG_ENV_STATE_REQUEST, buf, sizeof(buf), &len), 0);
	ck_assert_int_eq(ovg_state_receive(a->st, 2000, buf, len, &rx), 0);
	struct ovg_state_sync *s = ovg_state_sync_new(a->st, buf, len);
	ck_assert_ptr_nonnull(s);
	for (;;) {
		ck_assert_int_eq(ovg_state_sync_next(s, buf2, piece, &plen), 0);
		if (!plen)
			break;
		ck_assert_uint_le(plen, piece);
		ck_assert_int_eq(ovg_state_receive(b->st, 2000, buf2, plen, &rx), 0);
	}
	ovg_state_sync_free(s);
}

static void t_sync(struct tnode *a, struct tnode *b)
{
	t_pull(a, b, sizeof(buf2));
	t_pull(b, a, sizeof(buf2));
}

/* Deliver every due IPAM request from a to its target, then the grant back. */
static void t_ipam(struct tnode **nodes, int count, uint64_t now)
{
	for (int i = 0; i < count; i++) {
		char to[OVG_STATE_NAME_MAX + 1];
		size_t len;
		for (;;) {
			ck_assert_int_eq(ovg_state_ipam_next(nodes[i]->st, now, to, buf, sizeof(buf), &len), 0);
			if (!len)
				break;
			for (int j = 0; j < count; j++) {
				if (strcmp(nodes[j]->name, to) != 0)
					continue;
				struct ovg_state_rx rx;
				ck_assert_int_eq(ovg_state_receive(nodes[j]->st, now, buf, len, &rx), 0);
				ck_assert_int_eq(rx.kind, OVG_ENV_IPAM);
			}
		}
	}
}

static void uncreate(struct tnode *n, const char *name, const char *subnet, const char *gw, uint32_t vni,
		     int want, const char *msg_part)
{
	char err[256] = "";
	struct ovg_state_net_spec spec = { .name = name, .subnet = subnet, .gateway = gw, .vni = vni,
					   .attachable = true };
	int rc = ovg_state_net_create(n->st, 1000, &spec, NULL, err, sizeof(err));
	ck_assert_msg(rc == want, "create %s: rc %d want %d (%s)", name, rc, want, err);
	if (msg_part)
		ck_assert_msg(strstr(err, msg_part), "error \"%s\" does not mention \"%s\"", err, msg_part);
}

static void mknet(struct tnode *n, const char *name, const char *subnet, uint32_t vni, uint8_t id[16],
		  uint64_t now)
{
	char err[256] = "";
	struct ovg_state_net_spec spec = { .name = name, .subnet = subnet, .vni = vni, .attachable = true };
	int rc = ovg_state_net_create(n->st, now, &spec, id, err, sizeof(err));
	ck_assert_msg(rc == 0, "create %s: %d %s", name, rc, err);
}

static int attach(struct tnode *n, const uint8_t id[16], const char *name, const char *ip,
		  struct ovg_state_ep *out)
{
	char err[256] = "";
	return ovg_state_ep_attach(n->st, g_now, id, name, ip, out, err, sizeof(err));
}

/* ---- networks ---------------------------------------------------------------------- */

START_TEST(create_defaults_next_free_24_first_gateway_auto_vni)
{
	struct tnode a;
	struct ovg_state_net v;
	uint8_t id[16], id2[16];
	t_init(&a, "n0", 1);
	mknet(&a, "ov1", NULL, 0, id, 1000);
	ck_assert_int_eq(ovg_state_net_get(a.st, id, &v), 0);
	ck_assert_str_eq(v.name, "ov1");
	ck_assert_uint_eq(v.subnet, 0x0a000000);
	ck_assert_uint_eq(v.prefix, 24);
	ck_assert_uint_eq(v.gateway, 0x0a000001);
	ck_assert_uint_ge(v.vni, OVG_STATE_VNI_AUTO_MIN);
	ck_assert_uint_le(v.vni, OVG_STATE_VNI_MAX);
	ck_assert(v.live);
	ck_assert_uint_eq(v.conflict, 0);
	ck_assert_uint_eq(v.block_count, 64);
	ck_assert_uint_eq(v.block_size, 4);
	ck_assert_uint_eq(v.blocks_local, 64);
	mknet(&a, "ov2", NULL, 0, id2, 1000);
	ck_assert_int_eq(ovg_state_net_get(a.st, id2, &v), 0);
	ck_assert_uint_eq(v.subnet, 0x0a000100);
	ck_assert_int_gt(a.changed, 0);
	ovg_state_free(a.st);
}
END_TEST

START_TEST(create_refuses_bad_input_naming_the_problem)
{
	struct tnode a;
	t_init(&a, "n0", 2);
	uncreate(&a, "x", "10.1.0.0/33", NULL, 0, -EINVAL, "invalid subnet");
	uncreate(&a, "x", "10.1.0/24", NULL, 0, -EINVAL, "invalid subnet");
	uncreate(&a, "x", "banana", NULL, 0, -EINVAL, "invalid subnet");
	uncreate(&a, "x", "10.1.0.0/31", NULL, 0, -EINVAL, "prefix length");
	uncreate(&a, "x", "10.1.0.5/24", NULL, 0, -EINVAL, "host bits");
	uncreate(&a, "x", "10.1.0.0/24", "10.2.0.1", 0, -EINVAL, "outside subnet");
	uncreate(&a, "x", "10.1.0.0/24", "10.1.0.255", 0, -EINVAL, "broadcast");
	uncreate(&a, "x", "10.1.0.0/24", "nope", 0, -EINVAL, "invalid gateway");
	uncreate(&a, "x", "10.1.0.0/24", NULL, 1u << 24, -EINVAL, "out of range");
	uncreate(&a, "a@b", NULL, NULL, 0, -EINVAL, "invalid network name");
	uncreate(&a, "", NULL, NULL, 0, -EINVAL, "network name");
	uncreate(&a, "x", "10.1.0.0/24", "10.1.0.254", 77, 0, NULL);
	uncreate(&a, "x", "10.9.0.0/24", NULL, 0, -EEXIST, "network with name x already exists");
	uncreate(&a, "y", "10.1.0.128/25", NULL, 0, -EADDRINUSE, "overlaps network x");
	uncreate(&a, "y", "10.0.0.0/8", NULL, 0, -EADDRINUSE, "overlaps");
	uncreate(&a, "y", "10.2.0.0/24", NULL, 77, -EEXIST, "VNI 77 is already used by network x");
	uncreate(&a, "y", "10.2.0.0/24", NULL, 1, 0, NULL);
	ovg_state_free(a.st);
}
END_TEST

static int collect_names(void *ctx, const struct ovg_state_net *n)
{
	strcat(ctx, n->name);
	strcat(ctx, n->live ? " " : "! ");
	return 0;
}

START_TEST(remove_refuses_endpoints_then_deletes_for_good)
{
	struct tnode a, b;
	uint8_t id[16], x[16];
	char err[256];
	t_init(&a, "n0", 3);
	t_init(&b, "n1", 4);
	mknet(&a, "ov1", "10.5.0.0/24", 0, id, 1000);
	ck_assert_int_eq(attach(&a, id, "c1", NULL, NULL), 0);
	ck_assert_int_eq(attach(&a, id, "c2", NULL, NULL), 0);
	ck_assert_int_eq(ovg_state_net_remove(a.st, 1000, id, err, sizeof(err)), -EBUSY);
	ck_assert_msg(strstr(err, "c1") && strstr(err, "c2"), "%s", err);
	memset(x, 0x55, sizeof(x));
	ck_assert_int_eq(ovg_state_net_remove(a.st, 1000, x, err, sizeof(err)), -ENOENT);
	t_sync(&a, &b);
	ck_assert_int_eq(ovg_state_ep_detach(a.st, 1000, id, "c1", err, sizeof(err)), 0);
	ck_assert_int_eq(ovg_state_ep_detach(a.st, 1000, id, "c1", err, sizeof(err)), -ENOENT);
	ck_assert_int_eq(ovg_state_ep_detach(a.st, 1000, id, "c2", err, sizeof(err)), 0);
	ck_assert_int_eq(ovg_state_net_remove(a.st, 1000, id, err, sizeof(err)), 0);
	ck_assert_int_eq(ovg_state_net_lookup(a.st, "ov1", x), -ENOENT);
	/* b still holds the old definition and live endpoints: syncing both ways
	 * must not bring them back on a */
	t_sync(&a, &b);
	ck_assert_int_eq(ovg_state_net_lookup(a.st, "ov1", x), -ENOENT);
	ck_assert_int_eq(ovg_state_net_lookup(b.st, "ov1", x), -ENOENT);
	ck_assert_uint_eq(ovg_state_hash(a.st), ovg_state_hash(b.st));
	/* the name is free again, under a new id */
	mknet(&a, "ov1", "10.5.0.0/24", 0, x, 1000);
	ck_assert(memcmp(x, id, 16) != 0);
	ovg_state_free(a.st);
	ovg_state_free(b.st);
}
END_TEST

START_TEST(lookup_by_name_and_id_prefix)
{
	struct tnode a;
	uint8_t id[16], out[16];
	struct ovg_state_net v;
	t_init(&a, "n0", 5);
	mknet(&a, "alpha", NULL, 0, id, 1000);
	ovg_state_net_get(a.st, id, &v);
	ck_assert_int_eq(ovg_state_net_lookup(a.st, "alpha", out), 0);
	ck_assert_mem_eq(out, id, 16);
	char pre[13];
	memcpy(pre, v.id_hex, 12);
	pre[12] = 0;
	ck_assert_int_eq(ovg_state_net_lookup(a.st, pre, out), 0);
	ck_assert_mem_eq(out, id, 16);
	ck_assert_int_eq(ovg_state_net_lookup(a.st, "beta", out), -ENOENT);
	ovg_state_free(a.st);
}
END_TEST

/* ---- endpoints ------------------------------------------------------------------------ */

START_TEST(attach_allocates_skipping_reserved_and_refuses_conflicts)
{
	struct tnode a;
	uint8_t id[16], na[16];
	struct ovg_state_ep ep;
	char err[256];
	t_init(&a, "n0", 6);
	mknet(&a, "ov1", "10.7.0.0/24", 0, id, 1000);
	ck_assert_int_eq(attach(&a, id, "c1", NULL, &ep), 0);
	ck_assert_uint_eq(ep.ip, 0x0a070002);   /* .0 network, .1 gateway */
	ck_assert_uint_eq(ep.prefix, 24);
	ck_assert_uint_eq(ep.mac[0], 0x02);
	ck_assert_uint_eq(ep.mac[1], 0x42);
	ck_assert_uint_eq(ep.mac[2], 10);
	ck_assert_uint_eq(ep.mac[5], 2);
	ck_assert(ep.local && ep.live);
	ck_assert_str_eq(ep.node, "n0");
	ck_assert_int_eq(attach(&a, id, "c2", NULL, &ep), 0);
	ck_assert_uint_eq(ep.ip, 0x0a070003);
	ck_assert_int_eq(ovg_state_ep_attach(a.st, 1, id, "c1", NULL, NULL, err, sizeof(err)), -EEXIST);
	ck_assert_str_eq(err, "endpoint with name c1 already exists in network ov1");
	ck_assert_int_eq(ovg_state_ep_attach(a.st, 1, id, "c3", "10.8.0.9", NULL, err, sizeof(err)), -EINVAL);
	ck_assert_msg(strstr(err, "outside subnet"), "%s", err);
	ck_assert_int_eq(ovg_state_ep_attach(a.st, 1, id, "c3", "10.7.0.1", NULL, err, sizeof(err)), -EINVAL);
	ck_assert_int_eq(ovg_state_ep_attach(a.st, 1, id, "c3", "10.7.0.255", NULL, err, sizeof(err)), -EINVAL);
	ck_assert_int_eq(ovg_state_ep_attach(a.st, 1, id, "c3", "10.7.0.3", NULL, err, sizeof(err)), -EADDRINUSE);
	ck_assert_msg(strstr(err, "c2"), "%s", err);
	ck_assert_int_eq(ovg_state_ep_attach(a.st, 1, id, "c3", "10.7.0.77", &ep, err, sizeof(err)), 0);
	ck_assert_uint_eq(ep.ip, 0x0a07004d);
	/* detach frees the address and the name */
	ck_assert_int_eq(ovg_state_ep_detach(a.st, 1, id, "c2", err, sizeof(err)), 0);
	ck_assert_int_eq(attach(&a, id, "c2", NULL, &ep), 0);
	ck_assert_uint_eq(ep.ip, 0x0a070003);
	/* non-attachable networks refuse */
	struct ovg_state_net_spec spec = { .name = "plain", .subnet = "10.8.0.0/24" };
	ck_assert_int_eq(ovg_state_net_create(a.st, 1, &spec, na, err, sizeof(err)), 0);
	ck_assert_int_eq(ovg_state_ep_attach(a.st, 1, na, "c1", NULL, NULL, err, sizeof(err)), -EPERM);
	ck_assert_msg(strstr(err, "attachable"), "%s", err);
	ovg_state_free(a.st);
}
END_TEST

static int count_cb(void *ctx, const struct ovg_state_ep *ep)
{
	(void)ep;
	(*(int *)ctx)++;
	return 0;
}

START_TEST(small_subnet_runs_out_with_enospc)
{
	struct tnode a;
	uint8_t id[16];
	char name[8];
	t_init(&a, "n0", 7);
	mknet(&a, "tiny", "10.9.0.0/29", 0, id, 1000);   /* 8 addresses: 5 usable */
	for (int i = 0; i < 5; i++) {
		snprintf(name, sizeof(name), "c%d", i);
		ck_assert_int_eq(attach(&a, id, name, NULL, NULL), 0);
	}
	ck_assert_int_eq(attach(&a, id, "c9", NULL, NULL), -ENOSPC);
	int n = 0;
	ck_assert_int_eq(ovg_state_ep_foreach(a.st, id, false, count_cb, &n), 0);
	ck_assert_int_eq(n, 5);
	ovg_state_free(a.st);
}
END_TEST

/* ---- two nodes: IPAM requests ---------------------------------------------------------- */

START_TEST(second_node_gets_a_block_from_the_creator)
{
	struct tnode a, b;
	struct tnode *all[2] = { &a, &b };
	uint8_t id[16];
	struct ovg_state_ep ep;
	char err[256];
	t_init(&a, "n0", 8);
	t_init(&b, "n1", 9);
	mknet(&a, "ov1", "10.10.0.0/24", 0, id, 1000);
	t_sync(&a, &b);
	int rc = ovg_state_ep_attach(b.st, 1500, id, "c1", NULL, NULL, err, sizeof(err));
	ck_assert_int_eq(rc, -EAGAIN);
	ck_assert_msg(strstr(err, "n0"), "%s", err);
	t_ipam(all, 2, 1500);
	t_sync(&a, &b);
	ck_assert_int_eq(attach(&b, id, "c1", NULL, &ep), 0);
	/* granted from the top of the subnet */
	ck_assert_uint_eq(ep.ip, 0x0a0a00fc);
	ck_assert_int_eq(attach(&b, id, "c2", NULL, &ep), 0);
	ck_assert_uint_eq(ep.ip, 0x0a0a00fd);
	/* requesting a free address in a block the owner is not using */
	rc = ovg_state_ep_attach(b.st, 1500, id, "c3", "10.10.0.100", NULL, err, sizeof(err));
	ck_assert_int_eq(rc, -EAGAIN);
	t_ipam(all, 2, 1600);
	t_sync(&a, &b);
	ck_assert_int_eq(attach(&b, id, "c3", "10.10.0.100", &ep), 0);
	/* a used block is not handed over */
	ck_assert_int_eq(attach(&a, id, "a1", NULL, &ep), 0);
	ck_assert_uint_eq(ep.ip, 0x0a0a0002);
	t_sync(&a, &b);
	rc = ovg_state_ep_attach(b.st, 1500, id, "c4", "10.10.0.3", NULL, err, sizeof(err));
	ck_assert_int_eq(rc, -EADDRINUSE);
	t_sync(&a, &b);
	ck_assert_uint_eq(ovg_state_hash(a.st), ovg_state_hash(b.st));
	ovg_state_free(a.st);
	ovg_state_free(b.st);
}
END_TEST

/* ---- persistence ------------------------------------------------------------------------- */

START_TEST(restart_keeps_endpoints_instance_and_version)
{
	struct tnode a, b;
	struct tnode *all[2] = { &a, &b };
	uint8_t id[16], *saved;
	size_t len;
	struct ovg_state_stats s1, s2;
	struct ovg_state_ep ep, ep2;
	char err[256];
	t_init(&a, "n0", 10);
	t_init(&b, "n1", 11);
	mknet(&a, "ov1", "10.11.0.0/24", 0, id, 1000);
	t_sync(&a, &b);
	ck_assert_int_eq(attach(&b, id, "c1", NULL, NULL), -EAGAIN);
	t_ipam(all, 2, 1500);
	t_sync(&a, &b);
	ck_assert_int_eq(attach(&b, id, "c1", NULL, &ep), 0);
	ck_assert(ovg_state_needs_save(b.st));
	ck_assert_int_eq(ovg_state_save(b.st, &saved, &len), 0);
	ck_assert(!ovg_state_needs_save(b.st));
	ovg_state_get_stats(b.st, &s1);
	ovg_state_free(b.st);

	b.st = t_open(&b, saved, len, 5000);
	ck_assert_ptr_nonnull(b.st);
	free(saved);
	ovg_state_get_stats(b.st, &s2);
	ck_assert_uint_eq(s1.instance, s2.instance);
	ck_assert_uint_eq(s1.version, s2.version);
	/* without any peer: the network, the endpoint and the block are known */
	ck_assert_int_eq(ovg_state_ep_foreach(b.st, id, false, count_cb, &(int){ 0 }), 0);
	ck_assert_int_eq(attach(&b, id, "c1", NULL, NULL), -EEXIST);
	ck_assert_int_eq(attach(&b, id, "c2", NULL, &ep2), 0);
	ck_assert_uint_eq(ep2.ip, ep.ip + 1);
	ovg_state_get_stats(b.st, &s2);
	ck_assert_uint_eq(s2.version, s1.version + 1);
	t_sync(&a, &b);
	ck_assert_uint_eq(ovg_state_hash(a.st), ovg_state_hash(b.st));
	/* a saved state of another name is refused */
	ck_assert_int_eq(ovg_state_save(b.st, &saved, &len), 0);
	struct tnode c;
	memset(&c, 0, sizeof(c));
	strcpy(c.name, "n2");
	ck_assert_ptr_null(t_open(&c, saved, len, 1));
	ck_assert_int_eq(errno, EINVAL);
	saved[len / 2] ^= 0xff;
	strcpy(c.name, "n1");
	struct ovg_state *x = t_open(&c, saved, len / 2, 1);
	ck_assert_ptr_null(x);
	free(saved);
	(void)err;
	ovg_state_free(a.st);
	ovg_state_free(b.st);
}
END_TEST

/* ---- partitions: deterministic resolution ---------------------------------------------------- */

START_TEST(concurrent_same_name_and_vni_resolve_identically)
{
	struct tnode a, b;
	uint8_t ida[16], idb[16], x[16];
	char la[512] = "", lb[512] = "";
	struct ovg_state_net va, vb;
	t_init(&a, "n0", 12);
	t_init(&b, "n1", 13);
	mknet(&a, "web", "10.20.0.0/24", 500, ida, 1000);
	mknet(&b, "web", "10.21.0.0/24", 500, idb, 2000);     /* later: loses */
	t_sync(&a, &b);
	ovg_state_net_foreach(a.st, collect_names, la);
	ovg_state_net_foreach(b.st, collect_names, lb);
	ck_assert_str_eq(la, lb);
	ck_assert_int_eq(ovg_state_net_get(a.st, idb, &vb), 0);
	ck_assert_int_eq(ovg_state_net_get(b.st, ida, &va), 0);
	ck_assert_str_eq(va.name, "web");
	ck_assert(va.live);
	char want[32];
	snprintf(want, sizeof(want), "web@%.8s", vb.id_hex);
	ck_assert_str_eq(vb.name, want);
	ck_assert(!vb.live);
	ck_assert(vb.conflict & OVG_STATE_CONFLICT_NAME);
	ck_assert(vb.conflict & OVG_STATE_CONFLICT_VNI);
	ck_assert_int_eq(ovg_state_net_lookup(b.st, "web", x), 0);
	ck_assert_mem_eq(x, ida, 16);
	ck_assert_int_eq(ovg_state_net_lookup(b.st, want, x), 0);
	ck_assert_mem_eq(x, idb, 16);
	/* the loser cannot be attached to; new creates see both names taken */
	ck_assert_int_eq(attach(&b, idb, "c", NULL, NULL), -EPERM);
	uncreate(&a, "web", "10.30.0.0/24", NULL, 0, -EEXIST, "already exists");
	uncreate(&a, want, "10.30.0.0/24", NULL, 0, -EINVAL, NULL);  /* '@' */
	ovg_state_free(a.st);
	ovg_state_free(b.st);
}
END_TEST

static int find_ep(void *ctx, const struct ovg_state_ep *ep)
{
	struct ovg_state_ep *want = ctx;
	if (strcmp(ep->raw_name, want->raw_name) == 0 && strcmp(ep->node, want->node) == 0) {
		*want = *ep;
		return 1;
	}
	return 0;
}

START_TEST(concurrent_endpoint_names_renamed_not_dropped)
{
	struct tnode a, b;
	struct tnode *all[2] = { &a, &b };
	uint8_t id[16];
	struct ovg_state_ep e1 = { 0 }, e2 = { 0 };
	char err[256];
	t_init(&a, "n0", 14);
	t_init(&b, "n1", 15);
	mknet(&a, "ov", "10.40.0.0/24", 0, id, 1000);
	t_sync(&a, &b);
	ck_assert_int_eq(attach(&b, id, "x", NULL, NULL), -EAGAIN);
	t_ipam(all, 2, 1500);
	t_sync(&a, &b);
	/* partitioned: both attach "web" */
	ck_assert_int_eq(ovg_state_ep_attach(a.st, 1600, id, "web", NULL, NULL, err, sizeof(err)), 0);
	ck_assert_int_eq(ovg_state_ep_attach(b.st, 1700, id, "web", NULL, NULL, err, sizeof(err)), 0);
	t_sync(&a, &b);
	for (int i = 0; i < 2; i++) {
		strcpy(e1.raw_name, "web");
		strcpy(e1.node, "n0");
		strcpy(e2.raw_name, "web");
		strcpy(e2.node, "n1");
		ck_assert_int_eq(ovg_state_ep_foreach(all[i]->st, id, false, find_ep, &e1), 1);
		ck_assert_int_eq(ovg_state_ep_foreach(all[i]->st, id, false, find_ep, &e2), 1);
		ck_assert_str_eq(e1.name, "web");
		ck_assert_str_eq(e2.name, "web@n1");
		ck_assert(e1.live && e2.live);
		ck_assert_uint_eq(e2.conflict, OVG_STATE_CONFLICT_NAME);
	}
	/* a third "web" is refused anywhere */
	ck_assert_int_eq(ovg_state_ep_attach(b.st, 1800, id, "web", NULL, NULL, err, sizeof(err)), -EEXIST);
	ovg_state_free(a.st);
	ovg_state_free(b.st);
}
END_TEST

START_TEST(delete_wins_over_concurrent_attach)
{
	struct tnode a, b;
	uint8_t id[16], x[16];
	char err[256];
	t_init(&a, "n0", 16);
	t_init(&b, "n1", 17);
	mknet(&a, "ov", "10.41.0.0/24", 0, id, 1000);
	t_sync(&a, &b);
	ck_assert_int_eq(ovg_state_net_remove(b.st, 2000, id, err, sizeof(err)), 0);
	ck_assert_int_eq(attach(&a, id, "late", NULL, NULL), 0);
	t_sync(&a, &b);
	ck_assert_int_eq(ovg_state_net_lookup(a.st, "ov", x), -ENOENT);
	ck_assert_int_eq(ovg_state_ep_foreach(a.st, id, true, count_cb, &(int){ 0 }), -ENOENT);
	ck_assert_uint_eq(ovg_state_hash(a.st), ovg_state_hash(b.st));
	ovg_state_free(a.st);
	ovg_state_free(b.st);
}
END_TEST

/* ---- departures ----------------------------------------------------------------------------- */

static int owner_of(void *ctx, const struct ovg_state_block *b)
{
	char *out = ctx;
	strcat(out, b->owner);
	strcat(out, b->local ? "* " : " ");
	return 0;
}

START_TEST(leave_detaches_and_hands_blocks_to_live_nodes)
{
	struct tnode a, b, c;
	uint8_t id[16];
	char la[1024] = "", lc[1024] = "", err[256];
	t_init(&a, "n0", 18);
	t_init(&b, "n1", 19);
	t_init(&c, "n2", 20);
	mknet(&a, "ov", "10.42.0.0/28", 0, id, 1000);   /* 4 blocks of 4 */
	ck_assert_int_eq(attach(&a, id, "c1", NULL, NULL), 0);
	t_sync(&a, &b);
	t_sync(&a, &c);
	ck_assert_int_eq(ovg_state_leave(a.st, 3000, err, sizeof(err)), 0);
	t_sync(&a, &b);
	t_sync(&a, &c);
	t_sync(&b, &c);
	ck_assert_int_eq(ovg_state_ep_foreach(c.st, id, false, count_cb, &(int){ 0 }), 0);
	int live = 0;
	ovg_state_ep_foreach(c.st, id, false, count_cb, &live);
	ck_assert_int_eq(live, 0);
	ovg_state_block_foreach(a.st, id, owner_of, la);
	ovg_state_block_foreach(c.st, id, owner_of, lc);
	ck_assert_str_eq(la, "n1 n2 n1 n2 ");
	ck_assert_str_eq(lc, "n1 n2* n1 n2* ");
	ovg_state_free(a.st);
	ovg_state_free(b.st);
	ovg_state_free(c.st);
}
END_TEST

START_TEST(node_rm_drops_endpoints_reclaims_blocks_and_returning_node_starts_over)
{
	struct tnode a, b;
	struct tnode *all[2] = { &a, &b };
	uint8_t id[16], *saved;
	size_t len;
	char err[256], lb[1024] = "";
	struct ovg_state_stats s0, s1;
	t_init(&a, "n0", 21);
	t_init(&b, "n1", 22);
	mknet(&a, "ov", "10.43.0.0/28", 0, id, 1000);
	t_sync(&a, &b);
	ck_assert_int_eq(attach(&b, id, "bx", NULL, NULL), -EAGAIN);
	t_ipam(all, 2, 1500);
	t_sync(&a, &b);
	ck_assert_int_eq(attach(&b, id, "bx", NULL, NULL), 0);
	t_sync(&a, &b);
	ovg_state_get_stats(b.st, &s0);
	ck_assert_int_eq(ovg_state_save(b.st, &saved, &len), 0);
	ovg_state_free(b.st);          /* b fails */
	a.dead[1] = true;

	ck_assert_int_eq(ovg_state_node_rm(a.st, 5000, "n0", err, sizeof(err)), -EINVAL);
	ck_assert_int_eq(ovg_state_node_rm(a.st, 5000, "zz", err, sizeof(err)), -ENOENT);
	ck_assert_int_eq(ovg_state_node_rm(a.st, 5000, "n1", err, sizeof(err)), 0);
	ck_assert_int_eq(ovg_state_node_rm(a.st, 5000, "n1", err, sizeof(err)), -EALREADY);
	int live = 0;
	ovg_state_ep_foreach(a.st, id, true, count_cb, &live);
	ck_assert_int_eq(live, 0);
	/* every block is a's again, and a can use the whole subnet */
	char la[1024] = "";
	ovg_state_block_foreach(a.st, id, owner_of, la);
	ck_assert_str_eq(la, "n0* n0* n0* n0* ");
	for (int i = 0; i < 13; i++) {
		char nm[8];
		snprintf(nm, sizeof(nm), "a%d", i);
		ck_assert_int_eq(attach(&a, id, nm, NULL, NULL), 0);
	}
	/* b comes back with its old state, learns it was removed, starts over */
	a.dead[1] = false;
	b.st = t_open(&b, saved, len, 6000);
	free(saved);
	ck_assert_ptr_nonnull(b.st);
	t_sync(&a, &b);
	ovg_state_get_stats(b.st, &s1);
	ck_assert_uint_ne(s1.instance, s0.instance);
	ck_assert_uint_eq(s1.reinstanced, 1);
	ck_assert(ovg_state_needs_save(b.st));
	t_sync(&a, &b);
	ck_assert_uint_eq(ovg_state_hash(a.st), ovg_state_hash(b.st));
	ovg_state_block_foreach(b.st, id, owner_of, lb);
	ck_assert_str_eq(lb, "n0 n0 n0 n0 ");
	ovg_state_free(a.st);
	ovg_state_free(b.st);
}
END_TEST

START_TEST(lost_state_dir_retires_the_old_instance)
{
	struct tnode a, b;
	struct tnode *all[2] = { &a, &b };
	uint8_t id[16];
	struct ovg_state_stats s;
	t_init(&a, "n0", 23);
	t_init(&b, "n1", 24);
	mknet(&a, "ov", "10.44.0.0/28", 0, id, 1000);
	t_sync(&a, &b);
	ck_assert_int_eq(attach(&b, id, "bx", NULL, NULL), -EAGAIN);
	t_ipam(all, 2, 1500);
	t_sync(&a, &b);
	ck_assert_int_eq(attach(&b, id, "bx", NULL, NULL), 0);
	t_sync(&a, &b);
	ovg_state_free(b.st);
	b.rng.s = 999;
	b.st = t_open(&b, NULL, 0, 9000);      /* state dir wiped */
	t_sync(&a, &b);
	t_sync(&a, &b);
	ovg_state_get_stats(a.st, &s);
	ck_assert_uint_eq(s.owners, 3);
	ck_assert_uint_eq(s.owners_removed, 1);
	int live = 0;
	ovg_state_ep_foreach(a.st, id, false, count_cb, &live);
	ck_assert_int_eq(live, 0);
	/* the old instance's block came to the new one */
	ck_assert_int_eq(attach(&b, id, "bx", NULL, NULL), 0);
	t_sync(&a, &b);
	ck_assert_uint_eq(ovg_state_hash(a.st), ovg_state_hash(b.st));
	ovg_state_free(a.st);
	ovg_state_free(b.st);
}
END_TEST

/* ---- sync mechanics --------------------------------------------------------------------------- */

START_TEST(pieces_fit_udp_and_any_subset_keeps_watermarks_honest)
{
	struct tnode a, b, c;
	uint8_t id[16];
	char nm[32];
	size_t len, plen;
	t_init(&a, "n0", 25);
	t_init(&b, "n1", 26);
	t_init(&c, "n2", 27);
	mknet(&a, "ov", "10.50.0.0/16", 0, id, 1000);
	for (int i = 0; i < 300; i++) {
		snprintf(nm, sizeof(nm), "endpoint-with-a-long-name-%d", i);
		ck_assert_int_eq(attach(&a, id, nm, NULL, NULL), 0);
	}
	/* b gets pieces, loses every third one */
	ck_assert_int_eq(ovg_state_digest_encode(b.st, OVG_ENV_STATE_DIGEST, buf, sizeof(buf), &len), 0);
	struct ovg_state_sync *s = ovg_state_sync_new(a.st, buf, len);
	ck_assert_ptr_nonnull(s);
	int pieces = 0;
	for (;;) {
		struct ovg_state_rx rx;
		ck_assert_int_eq(ovg_state_sync_next(s, buf2, OVG_STATE_PIECE_MAX, &plen), 0);
		if (!plen)
			break;
		ck_assert_uint_le(plen, OVG_STATE_PIECE_MAX);
		if (pieces++ % 3 != 1)
			ck_assert_int_eq(ovg_state_receive(b.st, 2000, buf2, plen, &rx), 0);
	}
	ovg_state_sync_free(s);
	ck_assert_int_gt(pieces, 10);
	ck_assert_uint_ne(ovg_state_hash(a.st), ovg_state_hash(b.st));
	/* b's watermark stopped at the first gap: c pulling from b, then b and c
	 * pulling from a by digest alone, end complete (a dishonest watermark
	 * would hide the lost records for good) */
	t_pull(&c, &b, 600);
	t_pull(&b, &a, OVG_STATE_PIECE_MAX);
	t_pull(&c, &a, OVG_STATE_PIECE_MAX);
	t_sync(&a, &b);
	t_sync(&a, &c);
	t_sync(&b, &c);
	ck_assert_uint_eq(ovg_state_hash(a.st), ovg_state_hash(b.st));
	ck_assert_uint_eq(ovg_state_hash(a.st), ovg_state_hash(c.st));
	/* nothing differs: a digest exchange says so both ways */
	struct ovg_state_rx rx;
	ck_assert_int_eq(ovg_state_digest_encode(c.st, OVG_ENV_STATE_DIGEST, buf, sizeof(buf), &len), 0);
	ck_assert_int_eq(ovg_state_receive(a.st, 3000, buf, len, &rx), 0);
	ck_assert(!rx.send_request && !rx.peer_lacks);
	ovg_state_free(a.st);
	ovg_state_free(b.st);
	ovg_state_free(c.st);
}
END_TEST

START_TEST(push_then_forward_reaches_third_node)
{
	struct tnode a, b, c;
	uint8_t id[16], x[16];
	size_t len;
	struct ovg_state_rx rx;
	t_init(&a, "n0", 28);
	t_init(&b, "n1", 29);
	t_init(&c, "n2", 30);
	mknet(&a, "ov", NULL, 0, id, 1000);
	int n = 0;
	for (;;) {
		ck_assert_int_eq(ovg_state_push_next(a.st, buf, OVG_STATE_PIECE_MAX, &len), 0);
		if (!len)
			break;
		n++;
		ck_assert_int_eq(ovg_state_receive(b.st, 1000, buf, len, &rx), 0);
		ck_assert(rx.forward);
		ck_assert_int_eq(ovg_state_receive(c.st, 1000, buf, len, &rx), 0);
		ck_assert_int_eq(ovg_state_receive(c.st, 1000, buf, len, &rx), 0);   /* duplicate */
		ck_assert(!rx.forward);
	}
	ck_assert_int_eq(n, 1);
	ck_assert_int_eq(ovg_state_net_lookup(c.st, "ov", x), 0);
	ck_assert_int_eq(ovg_state_push_next(a.st, buf, OVG_STATE_PIECE_MAX, &len), 0);
	ck_assert_uint_eq(len, 0);
	/* c's watermark for a is complete: nothing left to pull from a */
	ck_assert_int_eq(ovg_state_digest_encode(c.st, OVG_ENV_STATE_DIGEST, buf, sizeof(buf), &len), 0);
	ck_assert_int_eq(ovg_state_receive(a.st, 3000, buf, len, &rx), 0);
	ck_assert(!rx.peer_lacks);
	ck_assert(rx.send_request);     /* c's own NODE record was never pushed */
	ovg_state_free(a.st);
	ovg_state_free(b.st);
	ovg_state_free(c.st);
}
END_TEST

START_TEST(change_callback_names_the_network_on_receive)
{
	struct tnode a, b;
	uint8_t id[16];
	size_t len;
	struct ovg_state_rx rx;
	t_init(&a, "n0", 40);
	t_init(&b, "n1", 41);
	mknet(&a, "ov", NULL, 0, id, 1000);
	ck_assert_int_eq(ovg_state_push_next(a.st, buf, sizeof(buf), &len), 0);
	b.changed = 0;
	ck_assert_int_eq(ovg_state_receive(b.st, 1000, buf, len, &rx), 0);
	ck_assert_int_eq(b.changed, 1);
	ck_assert_mem_eq(b.last_changed, id, 16);
	/* a duplicate changes nothing and reports nothing */
	ck_assert_int_eq(ovg_state_receive(b.st, 1000, buf, len, &rx), 0);
	ck_assert_int_eq(b.changed, 1);
	ck_assert_int_eq(attach(&a, id, "c1", NULL, NULL), 0);
	ck_assert_int_eq(ovg_state_push_next(a.st, buf, sizeof(buf), &len), 0);
	ck_assert_int_eq(ovg_state_receive(b.st, 1000, buf, len, &rx), 0);
	ck_assert_int_eq(b.changed, 2);
	ovg_state_free(a.st);
	ovg_state_free(b.st);
}
END_TEST

START_TEST(node_rm_waits_for_records_peers_have_shown)
{
	struct tnode a, b, c;
	uint8_t id[16];
	size_t len;
	char err[256];
	struct ovg_state_rx rx;
	t_init(&a, "n0", 42);
	t_init(&b, "n1", 43);
	t_init(&c, "n2", 44);
	mknet(&c, "ov", NULL, 0, id, 1000);
	t_sync(&a, &c);
	ck_assert_int_eq(attach(&c, id, "late", NULL, NULL), 0);   /* only b will see this */
	t_sync(&b, &c);
	ovg_state_free(c.st);                  /* c dies */
	/* a hears b's digest: b holds more of c than a does */
	ck_assert_int_eq(ovg_state_digest_encode(b.st, OVG_ENV_STATE_DIGEST, buf, sizeof(buf), &len), 0);
	ck_assert_int_eq(ovg_state_receive(a.st, 2000, buf, len, &rx), 0);
	ck_assert(rx.send_request);
	ck_assert_int_eq(ovg_state_node_rm(a.st, 2000, "n2", err, sizeof(err)), -EAGAIN);
	ck_assert_msg(strstr(err, "retry"), "%s", err);
	t_pull(&a, &b, sizeof(buf2));
	ck_assert_int_eq(ovg_state_node_rm(a.st, 2000, "n2", err, sizeof(err)), 0);
	t_sync(&a, &b);
	ck_assert_uint_eq(ovg_state_hash(a.st), ovg_state_hash(b.st));
	ovg_state_free(a.st);
	ovg_state_free(b.st);
}
END_TEST

START_TEST(receive_rejects_garbage_without_harm)
{
	struct tnode a;
	struct ovg_state_rx rx;
	struct ovg_state_stats s;
	t_init(&a, "n0", 31);
	uint64_t h = ovg_state_hash(a.st);
	static const uint8_t serf[] = { 0x02, 0x01 };
	static const uint8_t bad1[] = { 'o', 1, 1, 0xc1 };
	static const uint8_t bad2[] = { 'o', 1, 1, 0x91, 0x95, 0xa1, 'x', 1, 0, 5, 0x91, 0x92, 1, 9 };
	static const uint8_t bad3[] = { 'o', 1, 9, 0x90 };
	ck_assert_int_eq(ovg_state_receive(a.st, 1, serf, sizeof(serf), &rx), -ENOMSG);
	ck_assert_int_eq(ovg_state_receive(a.st, 1, bad1, sizeof(bad1), &rx), -EBADMSG);
	ck_assert_int_eq(ovg_state_receive(a.st, 1, bad2, sizeof(bad2), &rx), -EBADMSG);
	ck_assert_int_eq(ovg_state_receive(a.st, 1, bad3, sizeof(bad3), &rx), -EBADMSG);
	ovg_state_get_stats(a.st, &s);
	ck_assert_uint_eq(s.bad_messages, 3);
	ck_assert_uint_eq(ovg_state_hash(a.st), h);
	ovg_state_free(a.st);
}
END_TEST

/* ---- measurements ---------------------------------------------------------------------------- */

START_TEST(measure_digest_exchange_and_memory_10k_endpoints_20_nodes)
{
	enum { NODES = 20, EPS = 10000 };
	static struct tnode nodes[NODES];
	uint8_t id[16];
	char nm[32];
	size_t len, reply = 0;
	for (int i = 0; i < NODES; i++) {
		snprintf(nm, sizeof(nm), "host-%02d", i);
		t_init(&nodes[i], nm, 100 + (uint64_t)i);
	}
	mknet(&nodes[0], "big", "10.128.0.0/16", 0, id, 1000);
	/* node 0 hands each node a share of blocks, as IPAM requests would */
	for (int i = 1; i < NODES; i++) {
		t_pull(&nodes[i], &nodes[0], sizeof(buf2));
		ck_assert_int_eq(attach(&nodes[i], id, "probe", NULL, NULL), -EAGAIN);
		struct tnode *pair[2] = { &nodes[i], &nodes[0] };
		for (int k = 0; k < 4; k++) {
			t_ipam(pair, 2, 1500 + (uint64_t)k * 2000);
			t_pull(&nodes[i], &nodes[0], sizeof(buf2));
			int rc = attach(&nodes[i], id, "probe", NULL, NULL);
			ck_assert_msg(rc == 0 || rc == -EAGAIN, "rc %d", rc);
			if (rc == 0)
				break;
		}
	}
	struct ovg_state_stats before;
	ovg_state_get_stats(nodes[0].st, &before);
	for (int i = 0, k = 0; k < EPS - (NODES - 1); i++) {
		struct tnode *t = &nodes[1 + i % (NODES - 1)];
		snprintf(nm, sizeof(nm), "c%d", k);
		g_now++;
		int rc = attach(t, id, nm, NULL, NULL);
		for (int tries = 0; rc == -EAGAIN && tries < 3; tries++) {
			struct tnode *all[NODES];
			for (int j = 0; j < NODES; j++)
				all[j] = &nodes[j];
			for (int j = 0; j < NODES; j++)
				if (&nodes[j] != t)
					t_pull(t, &nodes[j], sizeof(buf2));
			rc = attach(t, id, nm, NULL, NULL);
			if (rc != -EAGAIN)
				break;
			t_ipam(all, NODES, g_now);
			for (int j = 0; j < NODES; j++)
				if (&nodes[j] != t)
					t_pull(t, &nodes[j], sizeof(buf2));
			rc = attach(t, id, nm, NULL, NULL);
		}
		if (rc) {
			char err[256];
			ovg_state_ep_attach(t->st, 1500, id, nm, NULL, NULL, err, sizeof(err));
			ck_assert_msg(rc == 0, "attach %s on %s: %d %s", nm, t->name, rc, err);
		}
		k++;
	}
	for (int i = 1; i < NODES; i++)
		t_pull(&nodes[0], &nodes[i], sizeof(buf2));
	for (int i = 1; i < NODES; i++)
		t_pull(&nodes[i], &nodes[0], sizeof(buf2));
	int live = 0;
	ovg_state_ep_foreach(nodes[5].st, id, false, count_cb, &live);
	ck_assert_int_eq(live, EPS);
	for (int i = 1; i < NODES; i++)
		ck_assert_uint_eq(ovg_state_hash(nodes[0].st), ovg_state_hash(nodes[i].st));

	/* one anti-entropy exchange when nothing differs: a DIGEST one way; the
	 * receiver finds nothing to send and nothing to ask for */
	struct ovg_state_rx rx;
	ck_assert_int_eq(ovg_state_digest_encode(nodes[3].st, OVG_ENV_STATE_DIGEST, buf, sizeof(buf), &len), 0);
	ck_assert_int_eq(ovg_state_receive(nodes[7].st, 99999, buf, len, &rx), 0);
	ck_assert(!rx.send_request && !rx.peer_lacks);
	ck_assert_int_eq(ovg_state_digest_encode(nodes[7].st, OVG_ENV_STATE_REQUEST, buf, sizeof(buf), &reply), 0);
	struct ovg_state_stats s;
	ovg_state_get_stats(nodes[7].st, &s);
	printf("MEASURE state: digest exchange with %d endpoints on %d nodes, nothing differing: "
	       "%zu bytes one way, %zu bytes both ways (push-pull)\n", EPS, NODES, len, len + reply);
	printf("MEASURE state: memory of one replica holding %u records (%u endpoints): %.2f MiB "
	       "(%.0f bytes per endpoint)\n", s.records, s.endpoints, (double)s.memory_bytes / (1 << 20),
	       (double)s.memory_bytes / s.endpoints);
	ck_assert_uint_lt(len + reply, 2048);
	uint8_t *saved;
	size_t saved_len;
	ck_assert_int_eq(ovg_state_save(nodes[7].st, &saved, &saved_len), 0);
	printf("MEASURE state: saved state of that replica: %zu bytes\n", saved_len);
	struct ovg_state *again = t_open(&nodes[7], saved, saved_len, 100000);
	ck_assert_ptr_nonnull(again);
	ck_assert_uint_eq(ovg_state_hash(again), ovg_state_hash(nodes[7].st));
	ovg_state_free(again);
	free(saved);
	for (int i = 0; i < NODES; i++)
		ovg_state_free(nodes[i].st);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("state");
	TCase *tc = tcase_create("core");
	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, create_defaults_next_free_24_first_gateway_auto_vni);
	tcase_add_test(tc, create_refuses_bad_input_naming_the_problem);
	tcase_add_test(tc, remove_refuses_endpoints_then_deletes_for_good);
	tcase_add_test(tc, lookup_by_name_and_id_prefix);
	tcase_add_test(tc, attach_allocates_skipping_reserved_and_refuses_conflicts);
	tcase_add_test(tc, small_subnet_runs_out_with_enospc);
	tcase_add_test(tc, second_node_gets_a_block_from_the_creator);
	tcase_add_test(tc, restart_keeps_endpoints_instance_and_version);
	tcase_add_test(tc, concurrent_same_name_and_vni_resolve_identically);
	tcase_add_test(tc, concurrent_endpoint_names_renamed_not_dropped);
	tcase_add_test(tc, delete_wins_over_concurrent_attach);
	tcase_add_test(tc, leave_detaches_and_hands_blocks_to_live_nodes);
	tcase_add_test(tc, node_rm_drops_endpoints_reclaims_blocks_and_returning_node_starts_over);
	tcase_add_test(tc, lost_state_dir_retires_the_old_instance);
	tcase_add_test(tc, pieces_fit_udp_and_any_subset_keeps_watermarks_honest);
	tcase_add_test(tc, push_then_forward_reaches_third_node);
	tcase_add_test(tc, change_callback_names_the_network_on_receive);
	tcase_add_test(tc, node_rm_waits_for_records_peers_have_shown);
	tcase_add_test(tc, receive_rejects_garbage_without_harm);
	tcase_add_test(tc, measure_digest_exchange_and_memory_10k_endpoints_20_nodes);
	suite_add_tcase(s, tc);
	SRunner *sr = srunner_create(s);
	srunner_run_all(sr, CK_ENV);
	int failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? 1 : 0;
}
