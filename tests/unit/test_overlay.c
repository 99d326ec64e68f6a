/* The overlay reconciler against the fake kernel: minimal diffs, idempotence,
 * lazy sandboxes, adoption, drift repair, notifications. */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <arpa/inet.h>

#include "ovg/overlay.h"

#define RUN "/run/test-ovg"
#define MAXR 4096

static struct ovg_overlay_fake *f;
static struct ovg_overlay *ov;
static struct ovg_overlay_local locals[4];
static struct ovg_overlay_remote remotes[MAXR];
static struct ovg_overlay_net net;
static char err[OVG_OVERLAY_ERR_MAX];

static struct in_addr ip4(uint32_t host)
{
	struct in_addr a = { htonl(host) };
	return a;
}

static struct ovg_overlay *mk(void)
{
	struct ovg_overlay_cfg cfg = { .run_dir = RUN, .ops = &ovg_overlay_fake_ops, .ops_ctx = f };
	struct ovg_overlay *o = ovg_overlay_new(&cfg, err, sizeof(err));
	ck_assert_msg(o != NULL, "%s", err);
	return o;
}

/* remote i: 10.1.1.(10+i) on VTEP 192.168.0.(2 + i % 3) */
static void set_remotes(size_t n)
{
	for (size_t i = 0; i < n; i++) {
		remotes[i].ip = ip4(0x0a010000 + 10 + (uint32_t)i);
		ovg_overlay_mac_from_ip(remotes[i].ip, remotes[i].mac);
		remotes[i].vtep = ip4(0xc0a80002 + (uint32_t)(i % 3));
	}
	net.remotes = remotes;
	net.n_remotes = n;
}

static void set_locals(size_t n)
{
	for (size_t i = 0; i < n; i++) {
		memset(&locals[i], 0, sizeof(locals[i]));
		snprintf(locals[i].name, sizeof(locals[i].name), "c%zu", i);
		locals[i].ip = ip4(0x0a010002 + (uint32_t)i);
		ovg_overlay_mac_from_ip(locals[i].ip, locals[i].mac);
		snprintf(locals[i].netns, sizeof(locals[i].netns), "/var/run/netns/c%zu", i);
	}
	net.locals = locals;
	net.n_locals = n;
}

static void setup(void)
{
	f = ovg_overlay_fake_new();
	ck_assert_ptr_nonnull(f);
	ov = mk();
	memset(&net, 0, sizeof(net));
	for (int i = 0; i < OVG_OVERLAY_ID_LEN; i++)
		net.id[i] = (uint8_t)(0xa0 + i);
	net.vni = 4097;
	net.subnet = ip4(0x0a010000);
	net.prefix = 16;
	net.gateway = ip4(0x0a010001);
	set_locals(1);
	set_remotes(0);
}

static void teardown(void)
{
	ovg_overlay_free(ov);
	ovg_overlay_fake_free(f);
	ov = NULL;
	f = NULL;
}

static int rec(unsigned flags, struct ovg_overlay_stats *st)
{
	memset(st, 0, sizeof(*st));
	return ovg_overlay_reconcile(ov, &net, 1, flags, st, err, sizeof(err));
}

static struct ovg_overlay_fake_sb *sb(void)
{
	char path[OVG_OVERLAY_PATH_MAX];
	ck_assert_int_eq(ovg_overlay_sandbox_path(ov, net.id, path, sizeof(path)), 0);
	return ovg_overlay_fake_find(f, path);
}

static struct ovg_overlay_entry neigh(uint32_t host_ip, bool perm)
{
	struct ovg_overlay_entry e = { .kind = OVG_OVERLAY_NEIGH, .permanent = perm };
	e.ip = ip4(host_ip);
	ovg_overlay_mac_from_ip(e.ip, e.mac);
	return e;
}

static struct ovg_overlay_entry fdb(uint32_t host_ip_for_mac, uint32_t vtep, bool perm)
{
	struct ovg_overlay_entry e = { .kind = OVG_OVERLAY_FDB, .permanent = perm };
	ovg_overlay_mac_from_ip(ip4(host_ip_for_mac), e.mac);
	e.ip = ip4(vtep);
	return e;
}

static bool has(const struct ovg_overlay_fake_sb *s, const struct ovg_overlay_entry *e)
{
	for (size_t i = 0; i < s->n_ent; i++) {
		const struct ovg_overlay_entry *x = &s->ent[i];
		if (x->kind == e->kind && x->ip.s_addr == e->ip.s_addr &&
		    memcmp(x->mac, e->mac, 6) == 0 && x->permanent == e->permanent)
			return true;
	}
	return false;
}

/* The fake's tables hold exactly the desired remotes, permanent. */
static void assert_tables_exact(void)
{
	struct ovg_overlay_fake_sb *s = sb();
	ck_assert_ptr_nonnull(s);
	ck_assert_uint_eq(ovg_overlay_fake_count(s, OVG_OVERLAY_NEIGH), net.n_remotes);
	ck_assert_uint_eq(ovg_overlay_fake_count(s, OVG_OVERLAY_FDB), net.n_remotes);
	for (size_t i = 0; i < net.n_remotes; i++) {
		struct ovg_overlay_entry n = { .kind = OVG_OVERLAY_NEIGH, .permanent = true,
					       .ip = remotes[i].ip };
		struct ovg_overlay_entry d = { .kind = OVG_OVERLAY_FDB, .permanent = true,
					       .ip = remotes[i].vtep };
		memcpy(n.mac, remotes[i].mac, 6);
		memcpy(d.mac, remotes[i].mac, 6);
		ck_assert_msg(has(s, &n), "neighbour %zu missing", i);
		ck_assert_msg(has(s, &d), "fdb %zu missing", i);
	}
}

START_TEST(test_mac_from_ip)
{
	uint8_t mac[6];
	ovg_overlay_mac_from_ip(ip4(0x0a000203), mac);
	const uint8_t want[6] = { 0x02, 0x42, 10, 0, 2, 3 };
	ck_assert_mem_eq(mac, want, 6);
}
END_TEST

START_TEST(test_sandbox_lazy_and_removed_with_last_endpoint)
{
	struct ovg_overlay_stats st;
	char path[OVG_OVERLAY_PATH_MAX];

	set_locals(0);
	set_remotes(5);
	ck_assert_int_eq(rec(0, &st), 0);
	ck_assert_uint_eq(f->n_create, 0);
	ck_assert_ptr_null(sb());
	ck_assert_uint_eq(ovg_overlay_stats_changes(&st), 0);

	set_locals(2);
	ck_assert_int_eq(rec(0, &st), 0);
	ck_assert_uint_eq(st.sandboxes_created, 1);
	ck_assert_int_eq(ovg_overlay_sandbox_path(ov, net.id, path, sizeof(path)), 0);
	ck_assert_str_eq(path, RUN "/netns/a0a1a2a3a4a5");
	ck_assert_ptr_nonnull(sb());
	ck_assert_uint_eq(st.veths_added, 2);
	ck_assert_str_eq(locals[0].ifname, "eth0");
	assert_tables_exact();

	set_locals(1);
	ck_assert_int_eq(rec(0, &st), 0);
	ck_assert_uint_eq(st.veths_deleted, 1);
	ck_assert_uint_eq(st.sandboxes_removed, 0);

	set_locals(0);
	ck_assert_int_eq(rec(0, &st), 0);
	ck_assert_uint_eq(st.sandboxes_removed, 1);
	ck_assert_ptr_null(sb());
	ck_assert_uint_eq(f->n_remove, 1);
}
END_TEST

START_TEST(test_minimal_diff_exact_adds_and_deletes)
{
	struct ovg_overlay_stats st;
	struct ovg_overlay_fake_sb *s;

	/* make the sandbox, then give it a history the next agent must adopt */
	ck_assert_int_eq(rec(0, &st), 0);
	ovg_overlay_free(ov);
	ov = mk();
	s = sb();
	ck_assert_ptr_nonnull(s);
	set_remotes(10);
	/* remotes 0-3 present and right */
	for (int i = 0; i < 4; i++) {
		struct ovg_overlay_entry n = neigh(0x0a01000a + i, true);
		struct ovg_overlay_entry d = fdb(0x0a01000a + i, 0xc0a80002 + i % 3, true);
		ovg_overlay_fake_put(s, &n, false);
		ovg_overlay_fake_put(s, &d, false);
	}
	/* remote 4: neighbour with a wrong MAC, FDB right */
	struct ovg_overlay_entry n4 = neigh(0x0a01000e, true);
	n4.mac[5] ^= 0xff;
	ovg_overlay_fake_put(s, &n4, false);
	struct ovg_overlay_entry d4 = fdb(0x0a01000e, 0xc0a80003, true);
	ovg_overlay_fake_put(s, &d4, false);
	/* remote 5: neighbour right, FDB to the wrong VTEP */
	struct ovg_overlay_entry n5 = neigh(0x0a01000f, true);
	ovg_overlay_fake_put(s, &n5, false);
	struct ovg_overlay_entry d5 = fdb(0x0a01000f, 0xc0a80063, true);
	ovg_overlay_fake_put(s, &d5, false);
	/* remote 6: both present but not permanent */
	struct ovg_overlay_entry n6 = neigh(0x0a010010, false);
	struct ovg_overlay_entry d6 = fdb(0x0a010010, 0xc0a80002, false);
	ovg_overlay_fake_put(s, &n6, false);
	ovg_overlay_fake_put(s, &d6, false);
	/* three stale endpoints */
	for (int i = 0; i < 3; i++) {
		struct ovg_overlay_entry n = neigh(0x0a010100 + i, true);
		struct ovg_overlay_entry d = fdb(0x0a010100 + i, 0xc0a80009, true);
		ovg_overlay_fake_put(s, &n, false);
		ovg_overlay_fake_put(s, &d, false);
	}
	/* remotes 7-9 absent */

	uint32_t repl0 = f->n_replaced, del0 = f->n_deleted;
	ck_assert_int_eq(rec(0, &st), 0);
	ck_assert_uint_eq(st.dumps, 1);           /* a new agent reads the tables once */
	ck_assert_uint_eq(st.sandboxes_created, 0);
	/* neigh: 4 (wrong MAC), 6 (not permanent), 7, 8, 9 */
	ck_assert_uint_eq(st.neigh_replaced, 5);
	ck_assert_uint_eq(st.neigh_deleted, 3);
	/* fdb: 5 (after deleting its wrong dst), 6, 7, 8, 9 */
	ck_assert_uint_eq(st.fdb_replaced, 5);
	ck_assert_uint_eq(st.fdb_deleted, 3 + 1);
	ck_assert_uint_eq(f->n_replaced - repl0, 10);
	ck_assert_uint_eq(f->n_deleted - del0, 7);
	ck_assert_uint_eq(st.apply_calls, 1);
	assert_tables_exact();
}
END_TEST

START_TEST(test_repeat_is_free_and_incremental_add_costs_two_writes)
{
	struct ovg_overlay_stats st;

	set_remotes(100);
	ck_assert_int_eq(rec(0, &st), 0);
	ck_assert_uint_eq(st.neigh_replaced, 100);
	ck_assert_uint_eq(st.fdb_replaced, 100);

	uint32_t dumps = f->n_dump, applies = f->n_apply, checks = f->n_veth_check;
	for (int k = 0; k < 3; k++) {
		ck_assert_int_eq(rec(0, &st), 0);
		ck_assert_uint_eq(ovg_overlay_stats_changes(&st), 0);
		ck_assert_uint_eq(st.dumps, 0);
		ck_assert_uint_eq(st.apply_calls, 0);
	}
	ck_assert_uint_eq(f->n_dump, dumps);
	ck_assert_uint_eq(f->n_apply, applies);
	ck_assert_uint_eq(f->n_veth_check, checks);   /* ifname known: no deep check */

	uint32_t repl0 = f->n_replaced;
	set_remotes(101);
	ck_assert_int_eq(rec(0, &st), 0);
	ck_assert_uint_eq(st.neigh_replaced, 1);
	ck_assert_uint_eq(st.fdb_replaced, 1);
	ck_assert_uint_eq(st.dumps, 0);
	ck_assert_uint_eq(f->n_replaced - repl0, 2);

	/* removing one: exactly its two entries go */
	uint32_t del0 = f->n_deleted;
	set_remotes(100);
	ck_assert_int_eq(rec(0, &st), 0);
	ck_assert_uint_eq(st.neigh_deleted, 1);
	ck_assert_uint_eq(st.fdb_deleted, 1);
	ck_assert_uint_eq(f->n_deleted - del0, 2);
	assert_tables_exact();
}
END_TEST

START_TEST(test_large_set_goes_in_batches)
{
	struct ovg_overlay_stats st;

	set_remotes(3000);
	ck_assert_int_eq(rec(0, &st), 0);
	ck_assert_uint_eq(st.neigh_replaced + st.fdb_replaced, 6000);
	ck_assert_uint_eq(st.apply_calls, (6000 + OVG_OVERLAY_BATCH_MAX - 1) / OVG_OVERLAY_BATCH_MAX);
	assert_tables_exact();
	ck_assert_int_eq(rec(0, &st), 0);
	ck_assert_uint_eq(ovg_overlay_stats_changes(&st), 0);
}
END_TEST

START_TEST(test_notified_drift_is_reported_and_repaired_without_dump)
{
	struct ovg_overlay_stats st;
	uint8_t ids[4][OVG_OVERLAY_ID_LEN];
	size_t n = 99;

	set_remotes(20);
	ck_assert_int_eq(rec(0, &st), 0);
	ck_assert_int_eq(ovg_overlay_watch_read(ov, ids, 4, &n), 0);
	ck_assert_uint_eq(n, 0);    /* our own writes' echoes do not count */

	/* someone rewrites an entry exactly as we want it: not a change */
	struct ovg_overlay_entry same = neigh(0x0a01000a, true);
	ovg_overlay_fake_put(sb(), &same, true);
	ck_assert_int_eq(ovg_overlay_watch_read(ov, ids, 4, &n), 0);
	ck_assert_uint_eq(n, 0);

	/* someone deletes a neighbour and adds a bogus FDB entry */
	struct ovg_overlay_entry gone = neigh(0x0a01000b, true);
	ck_assert_int_eq(ovg_overlay_fake_del(sb(), &gone, true), 0);
	struct ovg_overlay_entry bogus = fdb(0x0a0101ff, 0xc0a800ff, true);
	ck_assert_int_eq(ovg_overlay_fake_put(sb(), &bogus, true), 0);
	ck_assert_int_eq(ovg_overlay_watch_read(ov, ids, 4, &n), 0);
	ck_assert_uint_eq(n, 1);
	ck_assert_mem_eq(ids[0], net.id, OVG_OVERLAY_ID_LEN);

	uint32_t dumps = f->n_dump;
	ck_assert_int_eq(rec(OVG_OVERLAY_PARTIAL, &st), 0);
	ck_assert_uint_eq(st.neigh_replaced, 1);
	ck_assert_uint_eq(st.fdb_deleted, 1);
	ck_assert_uint_eq(ovg_overlay_stats_changes(&st), 2);
	ck_assert_uint_eq(f->n_dump, dumps);
	assert_tables_exact();
}
END_TEST

START_TEST(test_lost_notifications_force_a_dump)
{
	struct ovg_overlay_stats st;
	uint8_t ids[4][OVG_OVERLAY_ID_LEN];
	size_t n;

	set_remotes(10);
	ck_assert_int_eq(rec(0, &st), 0);
	struct ovg_overlay_entry gone = fdb(0x0a01000c, 0xc0a80004, true);
	ck_assert_int_eq(ovg_overlay_fake_del(sb(), &gone, false), 0);
	sb()->ev_lost = true;
	ck_assert_int_eq(ovg_overlay_watch_read(ov, ids, 4, &n), 0);
	ck_assert_uint_eq(n, 1);
	ck_assert_int_eq(rec(0, &st), 0);
	ck_assert_uint_eq(st.dumps, 1);
	ck_assert_uint_eq(st.fdb_replaced, 1);
	assert_tables_exact();
}
END_TEST

START_TEST(test_silent_drift_needs_full_repair)
{
	struct ovg_overlay_stats st;

	set_remotes(10);
	ck_assert_int_eq(rec(0, &st), 0);
	/* changed behind our back with no notification at all */
	struct ovg_overlay_entry gone = neigh(0x0a01000d, true);
	ck_assert_int_eq(ovg_overlay_fake_del(sb(), &gone, false), 0);
	ck_assert_int_eq(rec(0, &st), 0);
	ck_assert_uint_eq(ovg_overlay_stats_changes(&st), 0);   /* the view is trusted */

	memset(&st, 0, sizeof(st));
	ck_assert_int_eq(ovg_overlay_repair(ov, &net, 1, &st, err, sizeof(err)), 0);
	ck_assert_uint_eq(st.dumps, 1);
	ck_assert_uint_eq(st.neigh_replaced, 1);
	ck_assert_uint_eq(ovg_overlay_stats_changes(&st), 1);
	ck_assert_uint_eq(f->n_veth_check, 1);  /* FULL verifies every pair */
	assert_tables_exact();
}
END_TEST

START_TEST(test_restart_adopts_without_changes)
{
	struct ovg_overlay_stats st;

	set_locals(2);
	set_remotes(50);
	ck_assert_int_eq(rec(0, &st), 0);
	ovg_overlay_free(ov);
	ov = mk();
	/* the daemon persisted the ifnames */
	uint32_t checks = f->n_veth_check;
	ck_assert_int_eq(rec(0, &st), 0);
	ck_assert_uint_eq(ovg_overlay_stats_changes(&st), 0);
	ck_assert_uint_eq(st.dumps, 1);
	ck_assert_uint_eq(f->n_veth_check, checks);

	/* without them, each pair is verified (and nothing rebuilt) */
	ovg_overlay_free(ov);
	ov = mk();
	locals[0].ifname[0] = locals[1].ifname[0] = 0;
	ck_assert_int_eq(rec(0, &st), 0);
	ck_assert_uint_eq(ovg_overlay_stats_changes(&st), 0);
	ck_assert_uint_eq(f->n_veth_check, checks + 2);
	ck_assert_str_eq(locals[1].ifname, "eth0");
}
END_TEST

START_TEST(test_orphan_sandboxes_swept_once_and_not_when_partial)
{
	struct ovg_overlay_stats st;
	void *h;
	bool created;

	/* left by an earlier run: one of ours, one foreign name */
	ck_assert_int_eq(ovg_overlay_fake_ops.sandbox_open(f, RUN "/netns/0123456789ab", true, &h,
							    &created, err, sizeof(err)), 0);
	ovg_overlay_fake_ops.sandbox_close(f, h);
	ck_assert_int_eq(ovg_overlay_fake_ops.sandbox_open(f, RUN "/netns/notours", true, &h,
							    &created, err, sizeof(err)), 0);
	ovg_overlay_fake_ops.sandbox_close(f, h);

	ck_assert_int_eq(rec(OVG_OVERLAY_PARTIAL, &st), 0);
	ck_assert_ptr_nonnull(ovg_overlay_fake_find(f, RUN "/netns/0123456789ab"));
	ck_assert_int_eq(rec(0, &st), 0);
	ck_assert_uint_eq(st.sandboxes_removed, 1);
	ck_assert_ptr_null(ovg_overlay_fake_find(f, RUN "/netns/0123456789ab"));
	ck_assert_ptr_nonnull(ovg_overlay_fake_find(f, RUN "/netns/notours"));
	ck_assert_ptr_nonnull(sb());

	/* a network that disappears from the list loses its sandbox */
	memset(&st, 0, sizeof(st));
	ck_assert_int_eq(ovg_overlay_reconcile(ov, NULL, 0, 0, &st, err, sizeof(err)), 0);
	ck_assert_uint_eq(st.sandboxes_removed, 1);
	ck_assert_ptr_null(sb());
}
END_TEST

START_TEST(test_endpoint_moved_to_another_namespace_gets_a_new_pair)
{
	struct ovg_overlay_stats st;

	ck_assert_int_eq(rec(0, &st), 0);
	ck_assert_uint_eq(st.veths_added, 1);
	snprintf(locals[0].netns, sizeof(locals[0].netns), "/proc/4242/ns/net");
	locals[0].ifname[0] = 0;
	ck_assert_int_eq(rec(0, &st), 0);
	ck_assert_uint_eq(st.veths_deleted, 1);
	ck_assert_uint_eq(st.veths_added, 1);
	ck_assert_str_eq(sb()->veth[0].netns, "/proc/4242/ns/net");
}
END_TEST

START_TEST(test_broken_veth_fixed_on_full)
{
	struct ovg_overlay_stats st;

	ck_assert_int_eq(rec(0, &st), 0);
	sb()->veth[0].info.mtu = 1500;       /* visible in the listing: fixed at once */
	ck_assert_int_eq(rec(0, &st), 0);
	ck_assert_uint_eq(st.veths_fixed, 1);
	ck_assert_uint_eq(sb()->veth[0].info.mtu, 1450);
	sb()->veth[0].broken = true;         /* only a deep check sees it */
	ck_assert_int_eq(rec(0, &st), 0);
	ck_assert_uint_eq(st.veths_fixed, 0);
	ck_assert_int_eq(rec(OVG_OVERLAY_FULL, &st), 0);
	ck_assert_uint_eq(st.veths_fixed, 1);
}
END_TEST

START_TEST(test_missing_container_namespace_is_named_and_others_proceed)
{
	struct ovg_overlay_stats st;

	set_locals(2);
	set_remotes(5);
	snprintf(f->missing_netns, sizeof(f->missing_netns), "%s", locals[0].netns);
	ck_assert_int_eq(rec(0, &st), -ENOENT);
	ck_assert_str_eq(err, "namespace /var/run/netns/c0 not found");
	ck_assert_uint_eq(st.errors, 1);
	ck_assert_uint_eq(st.veths_added, 1);
	ck_assert_str_eq(locals[0].ifname, "");
	ck_assert_str_eq(locals[1].ifname, "eth0");
	assert_tables_exact();
}
END_TEST

START_TEST(test_invalid_input_refused_with_message)
{
	struct ovg_overlay_stats st;

	net.vni = 0;
	ck_assert_int_eq(rec(0, &st), -EINVAL);
	ck_assert_ptr_nonnull(strstr(err, "VNI 0 out of range"));
	ck_assert_uint_eq(f->n_create, 0);

	net.vni = 77;
	set_remotes(4);
	remotes[1].mac[0] = 0x01;            /* multicast */
	remotes[2].ip = locals[0].ip;        /* collides with a local endpoint */
	ck_assert_int_eq(rec(0, &st), -EINVAL);
	ck_assert_uint_eq(st.errors, 2);
	ck_assert_uint_eq(st.neigh_replaced, 2);
	ck_assert_uint_eq(ovg_overlay_fake_count(sb(), OVG_OVERLAY_NEIGH), 2);
}
END_TEST

START_TEST(test_vxlan_recreated_tables_rewritten)
{
	struct ovg_overlay_stats st;

	set_remotes(8);
	ck_assert_int_eq(rec(0, &st), 0);
	sb()->devices_ok = false;            /* someone deleted vxlan0 */
	sb()->vxlan_ifindex = 0;
	ck_assert_int_eq(rec(0, &st), 0);
	ck_assert_uint_eq(st.devices_changed, 1);
	ck_assert_uint_eq(st.dumps, 1);
	ck_assert_uint_eq(st.neigh_replaced + st.fdb_replaced, 16);
	assert_tables_exact();
}
END_TEST

START_TEST(test_fdb_any_destination_of_wanted_mac)
{
	struct ovg_overlay_stats st;

	set_remotes(3);
	ck_assert_int_eq(rec(0, &st), 0);
	/* an extra 0.0.0.0 destination on a wanted MAC: deleting it removes the
	 * whole MAC in the kernel, so the wanted one must be written again */
	struct ovg_overlay_entry any = fdb(0x0a01000a, 0, true);
	ovg_overlay_fake_put(sb(), &any, true);
	ck_assert_int_eq(rec(0, &st), 0);
	ck_assert_uint_eq(st.fdb_deleted, 1);
	ck_assert_uint_eq(st.fdb_replaced, 1);
	assert_tables_exact();
}
END_TEST

int main(void)
{
	Suite *s = suite_create("overlay");
	TCase *tc = tcase_create("fake");
	SRunner *sr;
	int failed;

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, test_mac_from_ip);
	tcase_add_test(tc, test_sandbox_lazy_and_removed_with_last_endpoint);
	tcase_add_test(tc, test_minimal_diff_exact_adds_and_deletes);
	tcase_add_test(tc, test_repeat_is_free_and_incremental_add_costs_two_writes);
	tcase_add_test(tc, test_large_set_goes_in_batches);
	tcase_add_test(tc, test_notified_drift_is_reported_and_repaired_without_dump);
	tcase_add_test(tc, test_lost_notifications_force_a_dump);
	tcase_add_test(tc, test_silent_drift_needs_full_repair);
	tcase_add_test(tc, test_restart_adopts_without_changes);
	tcase_add_test(tc, test_orphan_sandboxes_swept_once_and_not_when_partial);
	tcase_add_test(tc, test_endpoint_moved_to_another_namespace_gets_a_new_pair);
	tcase_add_test(tc, test_broken_veth_fixed_on_full);
	tcase_add_test(tc, test_missing_container_namespace_is_named_and_others_proceed);
	tcase_add_test(tc, test_invalid_input_refused_with_message);
	tcase_add_test(tc, test_vxlan_recreated_tables_rewritten);
	tcase_add_test(tc, test_fdb_any_destination_of_wanted_mac);
	suite_add_tcase(s, tc);
	sr = srunner_create(s);
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
