/*
 * The overlay against the real kernel (root only; skipped otherwise).
 * Check forks every test; the test first unshares a private network and mount
 * namespace (like libnl's cksuite-all-netns), so everything it creates -
 * sandboxes, container namespaces, "hosts" - dies with it. What the kernel
 * holds is checked with the real `ip` and `bridge` commands through nsenter.
 */
#include <check.h>
#include <fcntl.h>
#include <poll.h>
#include <sched.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>
#include <arpa/inet.h>

#include "ovg/overlay.h"

static char base[64];           /* mkdtemp, made by main */
static char dir[256];           /* this test's directory */
static char run_dir[300];
static char err[OVG_OVERLAY_ERR_MAX];

static struct ovg_overlay_local locals[4];
static struct ovg_overlay_remote remotes[256];
static struct ovg_overlay_net net;

static int sh(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static int sh(const char *fmt, ...)
{
	char cmd[2048];
	va_list ap;
	int st;

	va_start(ap, fmt);
	vsnprintf(cmd, sizeof(cmd), fmt, ap);
	va_end(ap);
	st = system(cmd);
	return st == -1 || !WIFEXITED(st) ? -1 : WEXITSTATUS(st);
}

/* Output of a shell command (caller frees). */
static char *out(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static char *out(const char *fmt, ...)
{
	char cmd[2048];
	va_list ap;
	size_t cap = 1 << 16, len = 0;
	char *buf = malloc(cap);
	FILE *p;

	va_start(ap, fmt);
	vsnprintf(cmd, sizeof(cmd), fmt, ap);
	va_end(ap);
	ck_assert_ptr_nonnull(buf);
	p = popen(cmd, "r");
	ck_assert_ptr_nonnull(p);
	while (len + 1 < cap) {
		size_t n = fread(buf + len, 1, cap - 1 - len, p);
		if (n == 0)
			break;
		len += n;
	}
	buf[len] = 0;
	pclose(p);
	return buf;
}

static struct in_addr ip4(uint32_t host)
{
	struct in_addr a = { htonl(host) };
	return a;
}

static const char *ntoa(struct in_addr a, char *buf)
{
	return inet_ntop(AF_INET, &a, buf, INET_ADDRSTRLEN);
}

static void mac_str(const uint8_t m[6], char *buf)
{
	sprintf(buf, "%02x:%02x:%02x:%02x:%02x:%02x", m[0], m[1], m[2], m[3], m[4], m[5]);
}

static void ns_path(const char *name, char *buf, size_t cap)
{
	snprintf(buf, cap, "%s/%s", dir, name);
}

static void mkns(const char *name, char *path, size_t cap)
{
	ns_path(name, path, cap);
	ck_assert_msg(ovg_overlay_netns_create(path, err, sizeof(err)) == 0, "%s", err);
}

static void setup(void)
{
	static unsigned n;

	ck_assert_int_eq(unshare(CLONE_NEWNET | CLONE_NEWNS), 0);
	ck_assert_int_eq(mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL), 0);
	snprintf(dir, sizeof(dir), "%s/t%d-%u", base, (int)getpid(), n++);
	ck_assert_int_eq(mkdir(dir, 0755), 0);
	snprintf(run_dir, sizeof(run_dir), "%s/run", dir);

	memset(&net, 0, sizeof(net));
	for (int i = 0; i < OVG_OVERLAY_ID_LEN; i++)
		net.id[i] = (uint8_t)(0x5a + i);
	net.vni = 0x1001;
	net.subnet = ip4(0x0a010000);
	net.prefix = 24;
	net.gateway = ip4(0x0a010001);
}

static struct ovg_overlay *mk(void)
{
	struct ovg_overlay_cfg cfg = { .run_dir = run_dir };
	struct ovg_overlay *o = ovg_overlay_new(&cfg, err, sizeof(err));
	ck_assert_msg(o != NULL, "%s", err);
	return o;
}

static void add_local(size_t i, const char *ns, uint32_t host_ip)
{
	memset(&locals[i], 0, sizeof(locals[i]));
	snprintf(locals[i].name, sizeof(locals[i].name), "ep%zu", i);
	locals[i].ip = ip4(host_ip);
	ovg_overlay_mac_from_ip(locals[i].ip, locals[i].mac);
	snprintf(locals[i].netns, sizeof(locals[i].netns), "%s", ns);
	net.locals = locals;
	net.n_locals = i + 1;
}

/* remote i: 10.1.0.(10+i), VTEP 192.168.0.(2 + i % 3) */
static void set_remotes(size_t n)
{
	for (size_t i = 0; i < n; i++) {
		remotes[i].ip = ip4(0x0a01000a + (uint32_t)i);
		ovg_overlay_mac_from_ip(remotes[i].ip, remotes[i].mac);
		remotes[i].vtep = ip4(0xc0a80002 + (uint32_t)(i % 3));
	}
	net.remotes = remotes;
	net.n_remotes = n;
}

static int rec(struct ovg_overlay *o, unsigned flags, struct ovg_overlay_stats *st)
{
	memset(st, 0, sizeof(*st));
	return ovg_overlay_reconcile(o, &net, 1, flags, st, err, sizeof(err));
}

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* The lines `ip neigh` and `bridge fdb` must show for the remotes, sorted. */
static char *expected(bool fdb)
{
	char *lines[256] = { 0 };
	size_t cap = 1 << 16, len = 0;
	char *s = malloc(cap);

	ck_assert_ptr_nonnull(s);
	ck_assert_uint_le(net.n_remotes, OVG_ARRAY_SIZE(lines));
	for (size_t i = 0; i < net.n_remotes; i++) {
		char a[INET_ADDRSTRLEN], m[18];
		lines[i] = malloc(128);
		mac_str(remotes[i].mac, m);
		if (fdb)
			snprintf(lines[i], 128, "%s dst %s self permanent\n", m, ntoa(remotes[i].vtep, a));
		else
			snprintf(lines[i], 128, "%s lladdr %s PERMANENT\n", ntoa(remotes[i].ip, a), m);
	}
	qsort(lines, net.n_remotes, sizeof(lines[0]), cmp_str);
	s[0] = 0;
	for (size_t i = 0; i < net.n_remotes; i++) {
		len += (size_t)snprintf(s + len, cap - len, "%s", lines[i]);
		free(lines[i]);
	}
	return s;
}

static void assert_kernel_tables(const char *sb)
{
	char *want_n = expected(false), *want_f = expected(true);
	char *have_n = out("nsenter --net=%s ip neigh show dev vxlan0 | sed 's/ *$//' | LC_ALL=C sort",
			   sb);
	char *have_f = out("nsenter --net=%s bridge fdb show dev vxlan0 2>/dev/null | grep ' self' | "
			   "sed 's/ link-netnsid [0-9]*//; s/ *$//' | LC_ALL=C sort", sb);
	ck_assert_str_eq(have_n, want_n);
	ck_assert_str_eq(have_f, want_f);
	free(want_n);
	free(want_f);
	free(have_n);
	free(have_f);
}

static void sandbox(char *path, size_t cap, struct ovg_overlay *o)
{
	ck_assert_int_eq(ovg_overlay_sandbox_path(o, net.id, path, cap), 0);
}

/* Reconcile in a new process (a restarted agent); returns its change count. */
static int changes_in_fresh_process(unsigned flags)
{
	pid_t pid = fork();
	int st;

	ck_assert_int_ge(pid, 0);
	if (pid == 0) {
		struct ovg_overlay_cfg cfg = { .run_dir = run_dir };
		struct ovg_overlay_stats s = { 0 };
		struct ovg_overlay *o = ovg_overlay_new(&cfg, err, sizeof(err));
		if (!o || ovg_overlay_reconcile(o, &net, 1, flags, &s, err, sizeof(err)) < 0) {
			fprintf(stderr, "fresh process: %s\n", err);
			_exit(255);
		}
		ovg_overlay_free(o);
		_exit((int)OVG_MIN(ovg_overlay_stats_changes(&s), 200u));
	}
	ck_assert_int_eq(waitpid(pid, &st, 0), pid);
	ck_assert(WIFEXITED(st));
	return WEXITSTATUS(st);
}

START_TEST(test_sandbox_create_adopt_remove)
{
	struct ovg_overlay_stats st;
	char c1[300], sb[OVG_OVERLAY_PATH_MAX], *s;

	mkns("c1", c1, sizeof(c1));
	add_local(0, c1, 0x0a010002);
	set_remotes(3);
	struct ovg_overlay *o = mk();
	sandbox(sb, sizeof(sb), o);
	/* a plain file where the sandbox goes (left over from before a reboot) */
	ck_assert_int_eq(sh("mkdir -p %s/netns && touch %s", run_dir, sb), 0);

	ck_assert_msg(rec(o, 0, &st) == 0, "%s", err);
	ck_assert_uint_eq(st.sandboxes_created, 1);
	ck_assert_uint_eq(st.veths_added, 1);
	ck_assert_str_eq(locals[0].ifname, "eth0");

	s = out("nsenter --net=%s ip -o link show vxlan0", sb);
	ck_assert_msg(strstr(s, "mtu 1450") && strstr(s, "master br0") && strstr(s, ",UP"),
		      "vxlan0: %s", s);
	free(s);
	s = out("nsenter --net=%s ip -d -o link show vxlan0 | grep -o 'vxlan id.*bridge_slave'", sb);
	ck_assert_msg(strstr(s, "vxlan id 4097 ") && strstr(s, "dstport 4789") &&
		      strstr(s, "nolearning") && strstr(s, "proxy") && !strstr(s, "group") &&
		      !strstr(s, "remote"), "vxlan0: %s", s);
	free(s);
	s = out("nsenter --net=%s ip -o -4 addr show dev br0", sb);
	ck_assert_msg(strstr(s, "inet 10.1.0.1/24"), "br0: %s", s);
	free(s);
	s = out("nsenter --net=%s ip -o link show vh0a010002", sb);
	ck_assert_msg(strstr(s, "master br0") && strstr(s, "mtu 1450") && strstr(s, ",UP"), "%s", s);
	free(s);
	char *idx0 = out("nsenter --net=%s ip -o link show vxlan0 | cut -d: -f1", sb);

	/* the same state again: nothing to do, nothing read */
	ck_assert_int_eq(rec(o, 0, &st), 0);
	ck_assert_uint_eq(ovg_overlay_stats_changes(&st), 0);
	ck_assert_uint_eq(st.dumps, 0);
	ovg_overlay_free(o);

	/* a restarted agent adopts everything, also when verifying deeply */
	ck_assert_int_eq(changes_in_fresh_process(0), 0);
	ck_assert_int_eq(changes_in_fresh_process(OVG_OVERLAY_FULL), 0);
	locals[0].ifname[0] = 0;
	ck_assert_int_eq(changes_in_fresh_process(0), 0);
	char *idx1 = out("nsenter --net=%s ip -o link show vxlan0 | cut -d: -f1", sb);
	ck_assert_str_eq(idx0, idx1);
	free(idx0);
	free(idx1);
	assert_kernel_tables(sb);

	/* the last endpoint goes: so do the sandbox and the container's end */
	o = mk();
	net.n_locals = 0;
	ck_assert_msg(rec(o, 0, &st) == 0, "%s", err);
	ck_assert_uint_eq(st.sandboxes_removed, 1);
	ck_assert_int_ne(access(sb, F_OK), 0);
	s = out("nsenter --net=%s ip -o link show", c1);
	ck_assert_msg(!strstr(s, "eth0"), "%s", s);
	free(s);
	ovg_overlay_free(o);
}
END_TEST

static bool wait_readable(int fd, int ms)
{
	struct pollfd p = { .fd = fd, .events = POLLIN };
	return poll(&p, 1, ms) == 1;
}

START_TEST(test_remote_entries_exact_and_drift_repaired)
{
	struct ovg_overlay_stats st;
	char c1[300], sb[OVG_OVERLAY_PATH_MAX], *s;
	uint8_t ids[2][OVG_OVERLAY_ID_LEN];
	size_t n;

	mkns("c1", c1, sizeof(c1));
	add_local(0, c1, 0x0a010002);
	set_remotes(40);
	struct ovg_overlay *o = mk();
	sandbox(sb, sizeof(sb), o);
	ck_assert_msg(rec(o, 0, &st) == 0, "%s", err);
	ck_assert_uint_eq(st.neigh_replaced, 40);
	ck_assert_uint_eq(st.fdb_replaced, 40);
	assert_kernel_tables(sb);
	ck_assert_int_eq(ovg_overlay_watch_read(o, ids, 2, &n), 0);
	ck_assert_uint_eq(n, 0);   /* our own echoes */

	/* by hand: two entries removed, one pointed elsewhere, two bogus ones */
	ck_assert_int_eq(sh("nsenter --net=%s sh -e -c '"
			    "ip neigh del 10.1.0.12 dev vxlan0; "
			    /* iproute2 6.1's bridge prints a spurious netns warning on this kernel */
			    "bridge fdb del 02:42:0a:01:00:0d dev vxlan0 self 2>/dev/null; "
			    "bridge fdb replace 02:42:0a:01:00:0e dev vxlan0 dst 192.168.0.77 self permanent 2>/dev/null; "
			    "ip neigh add 10.1.0.250 lladdr 02:42:0a:01:00:fa dev vxlan0 nud permanent; "
			    "bridge fdb add 02:42:0a:01:00:fb dev vxlan0 dst 192.168.0.99 self permanent 2>/dev/null'",
			    sb), 0);
	ck_assert(wait_readable(ovg_overlay_watch_fd(o), 2000));
	ck_assert_int_eq(ovg_overlay_watch_read(o, ids, 2, &n), 0);
	ck_assert_uint_eq(n, 1);
	ck_assert_mem_eq(ids[0], net.id, OVG_OVERLAY_ID_LEN);

	ck_assert_msg(rec(o, OVG_OVERLAY_PARTIAL, &st) == 0, "%s", err);
	ck_assert_uint_eq(st.dumps, 0);             /* known from notifications */
	ck_assert_uint_eq(st.neigh_replaced, 1);
	ck_assert_uint_eq(st.neigh_deleted, 1);
	ck_assert_uint_eq(st.fdb_replaced, 2);
	ck_assert_uint_eq(st.fdb_deleted, 2);       /* the bogus one and the wrong dst */
	assert_kernel_tables(sb);
	ck_assert_int_eq(rec(o, 0, &st), 0);
	ck_assert_uint_eq(ovg_overlay_stats_changes(&st), 0);

	/* a full repair reads the kernel again and agrees */
	ck_assert_int_eq(ovg_overlay_repair(o, &net, 1, &st, err, sizeof(err)), 0);
	ck_assert_uint_eq(st.dumps, 1);
	ck_assert_uint_eq(ovg_overlay_stats_changes(&st), 0);

	/* fewer remotes: exactly the gone ones leave */
	set_remotes(30);
	ck_assert_int_eq(rec(o, 0, &st), 0);
	ck_assert_uint_eq(st.neigh_deleted, 10);
	ck_assert_uint_eq(st.fdb_deleted, 10);
	ck_assert_uint_eq(ovg_overlay_stats_changes(&st), 20);
	assert_kernel_tables(sb);

	/* a look-alike vxlan0 made inside the sandbox (its socket would not be on
	 * the underlay) is not adopted */
	ck_assert_int_eq(sh("nsenter --net=%s sh -e -c 'ip link del vxlan0; "
			    "ip link add vxlan0 mtu 1450 type vxlan id 4097 dstport 4789 nolearning proxy; "
			    "ip link set vxlan0 master br0 up'", sb), 0);
	ck_assert_msg(rec(o, 0, &st) == 0, "%s", err);
	ck_assert_uint_eq(st.devices_changed, 3);   /* deleted, created, enslaved */
	ck_assert_uint_eq(st.neigh_replaced, 30);
	s = out("nsenter --net=%s ip -o link show vxlan0", sb);
	ck_assert_msg(strstr(s, "link-netnsid"), "%s", s);
	free(s);

	/* vxlan0 deleted by hand: recreated and refilled */
	ck_assert_int_eq(sh("nsenter --net=%s ip link del vxlan0", sb), 0);
	ck_assert_msg(rec(o, 0, &st) == 0, "%s", err);
	ck_assert_uint_ge(st.devices_changed, 1);
	ck_assert_uint_eq(st.neigh_replaced, 30);
	assert_kernel_tables(sb);
	ovg_overlay_free(o);
}
END_TEST

START_TEST(test_attach_first_free_eth_and_detach)
{
	struct ovg_overlay_stats st;
	char c1[300], c2[300], sb[OVG_OVERLAY_PATH_MAX], *s;

	mkns("c1", c1, sizeof(c1));
	mkns("c2", c2, sizeof(c2));
	/* the container already has an eth0 */
	ck_assert_int_eq(sh("nsenter --net=%s ip link add eth0 type veth peer name other0", c1), 0);
	add_local(0, c1, 0x0a010002);
	add_local(1, c2, 0x0a010003);
	struct ovg_overlay *o = mk();
	sandbox(sb, sizeof(sb), o);
	ck_assert_msg(rec(o, 0, &st) == 0, "%s", err);
	ck_assert_uint_eq(st.veths_added, 2);
	ck_assert_str_eq(locals[0].ifname, "eth1");
	ck_assert_str_eq(locals[1].ifname, "eth0");

	s = out("nsenter --net=%s ip -o link show eth1", c1);
	ck_assert_msg(strstr(s, "mtu 1450") && strstr(s, "link/ether 02:42:0a:01:00:02") &&
		      strstr(s, ",UP"), "%s", s);
	free(s);
	s = out("nsenter --net=%s ip -o -4 addr show dev eth1", c1);
	ck_assert_msg(strstr(s, "inet 10.1.0.2/24"), "%s", s);
	free(s);
	/* two local containers talk through br0 */
	ck_assert_int_eq(sh("for i in 1 2 3 4 5; do nsenter --net=%s ping -c1 -W1 10.1.0.3 "
			    ">/dev/null && exit 0; done; exit 1", c1), 0);
	ck_assert_int_eq(sh("nsenter --net=%s ping -c1 -W1 10.1.0.1 >/dev/null", c2), 0);

	/* someone downs and re-addresses the container end: a deep check fixes it */
	ck_assert_int_eq(sh("nsenter --net=%s sh -c 'ip link set eth0 down mtu 1400; "
			    "ip addr flush dev eth0'", c2), 0);
	ck_assert_msg(rec(o, OVG_OVERLAY_FULL, &st) == 0, "%s", err);
	ck_assert_uint_eq(st.veths_fixed, 1);
	s = out("nsenter --net=%s ip -o -4 addr show dev eth0", c2);
	ck_assert_msg(strstr(s, "inet 10.1.0.3/24"), "%s", s);
	free(s);
	s = out("nsenter --net=%s ip -o link show eth0", c2);
	ck_assert_msg(strstr(s, "mtu 1450") && strstr(s, ",UP"), "%s", s);
	free(s);

	/* detach one: its pair is gone on both sides */
	locals[0] = locals[1];
	net.n_locals = 1;
	ck_assert_msg(rec(o, 0, &st) == 0, "%s", err);
	ck_assert_uint_eq(st.veths_deleted, 1);
	s = out("nsenter --net=%s ip -o link show", c1);
	ck_assert_msg(!strstr(s, "eth1"), "%s", s);
	free(s);
	s = out("nsenter --net=%s ip -o link show", sb);
	ck_assert_msg(!strstr(s, "vh0a010002") && strstr(s, "vh0a010003"), "%s", s);
	free(s);

	/* a namespace that does not exist is named in the error */
	char gone[300];
	ns_path("nosuch", gone, sizeof(gone));
	add_local(1, gone, 0x0a010004);
	ck_assert_int_eq(rec(o, 0, &st), -ENOENT);
	char want[400];
	snprintf(want, sizeof(want), "namespace %s not found", gone);
	ck_assert_str_eq(err, want);
	ovg_overlay_free(o);
}
END_TEST

START_TEST(test_stale_temporary_vxlan_does_not_block)
{
	struct ovg_overlay_stats st;
	char c1[300], *s;

	mkns("c1", c1, sizeof(c1));
	add_local(0, c1, 0x0a010002);
	/* a crash between create and move left one holding the VNI */
	ck_assert_int_eq(sh("ip link add vx-001001-dead0 type vxlan id 4097 dstport 4789 "
			    "nolearning proxy"), 0);
	struct ovg_overlay *o = mk();
	ck_assert_msg(rec(o, 0, &st) == 0, "%s", err);
	s = out("ip -o link show");
	ck_assert_msg(!strstr(s, "vx-001001-dead0"), "%s", s);
	free(s);
	ovg_overlay_free(o);
}
END_TEST

START_TEST(test_orphan_sandboxes_removed_by_a_fresh_agent)
{
	struct ovg_overlay_stats st;
	char c1[300], sb[OVG_OVERLAY_PATH_MAX], stale[400], foreign[400], *s;

	mkns("c1", c1, sizeof(c1));
	add_local(0, c1, 0x0a010002);
	set_remotes(2);
	struct ovg_overlay *o = mk();
	sandbox(sb, sizeof(sb), o);
	ck_assert_msg(rec(o, 0, &st) == 0, "%s", err);
	ovg_overlay_free(o);
	/* also a stale plain file with a sandbox name, and a foreign file */
	snprintf(stale, sizeof(stale), "%s/netns/0123456789ab", run_dir);
	snprintf(foreign, sizeof(foreign), "%s/netns/keep-me", run_dir);
	ck_assert_int_eq(sh("touch %s %s", stale, foreign), 0);

	/* the network is gone from the cluster while the agent was down */
	o = mk();
	memset(&st, 0, sizeof(st));
	ck_assert_msg(ovg_overlay_reconcile(o, NULL, 0, 0, &st, err, sizeof(err)) == 0, "%s", err);
	ck_assert_uint_eq(st.sandboxes_removed, 2);
	ck_assert_int_ne(access(sb, F_OK), 0);
	ck_assert_int_ne(access(stale, F_OK), 0);
	ck_assert_int_eq(access(foreign, F_OK), 0);
	s = out("nsenter --net=%s ip -o link show", c1);
	ck_assert_msg(!strstr(s, "eth0"), "%s", s);
	free(s);
	ovg_overlay_free(o);
}
END_TEST

/* Run one "host": enter its namespace (this child is single-threaded), make
 * an agent there and reconcile. Exit status 0 on success. */
static void host_reconcile(const char *host_ns)
{
	pid_t pid = fork();
	int st;

	ck_assert_int_ge(pid, 0);
	if (pid == 0) {
		int fd = open(host_ns, O_RDONLY | O_CLOEXEC);
		struct ovg_overlay_stats s = { 0 };
		if (fd < 0 || setns(fd, CLONE_NEWNET) < 0)
			_exit(2);
		struct ovg_overlay_cfg cfg = { .run_dir = run_dir };
		struct ovg_overlay *o = ovg_overlay_new(&cfg, err, sizeof(err));
		if (!o || ovg_overlay_reconcile(o, &net, 1, 0, &s, err, sizeof(err)) < 0) {
			fprintf(stderr, "%s: %s\n", host_ns, err);
			_exit(1);
		}
		ovg_overlay_free(o);
		_exit(s.veths_added == 1 && s.neigh_replaced == 1 && s.fdb_replaced == 1 ? 0 : 3);
	}
	ck_assert_int_eq(waitpid(pid, &st, 0), pid);
	ck_assert_msg(WIFEXITED(st) && WEXITSTATUS(st) == 0, "host %s failed", host_ns);
}

START_TEST(test_two_hosts_ping_over_vxlan)
{
	char ha[300], hb[300], ca[300], cb[300];

	mkns("hostA", ha, sizeof(ha));
	mkns("hostB", hb, sizeof(hb));
	mkns("cA", ca, sizeof(ca));
	mkns("cB", cb, sizeof(cb));
	/* the underlay: one veth between the two hosts */
	ck_assert_int_eq(sh("ip link add uA type veth peer name uB && "
			    "ip link set uA netns %s && ip link set uB netns %s && "
			    "nsenter --net=%s sh -e -c 'ip addr add 192.168.50.1/24 dev uA; ip link set uA up' && "
			    "nsenter --net=%s sh -e -c 'ip addr add 192.168.50.2/24 dev uB; ip link set uB up'",
			    ha, hb, ha, hb), 0);

	struct ovg_overlay_remote r;
	net.remotes = &r;
	net.n_remotes = 1;

	/* host A: container 10.1.0.2 here, 10.1.0.3 behind 192.168.50.2 */
	snprintf(run_dir, sizeof(run_dir), "%s/runA", dir);
	add_local(0, ca, 0x0a010002);
	r.ip = ip4(0x0a010003);
	ovg_overlay_mac_from_ip(r.ip, r.mac);
	r.vtep = ip4(0xc0a83202);
	host_reconcile(ha);

	snprintf(run_dir, sizeof(run_dir), "%s/runB", dir);
	add_local(0, cb, 0x0a010003);
	r.ip = ip4(0x0a010002);
	ovg_overlay_mac_from_ip(r.ip, r.mac);
	r.vtep = ip4(0xc0a83201);
	host_reconcile(hb);

	ck_assert_int_eq(sh("for i in 1 2 3 4 5; do nsenter --net=%s ping -c1 -W1 10.1.0.3 "
			    ">/dev/null && exit 0; done; exit 1", ca), 0);
	ck_assert_int_eq(sh("nsenter --net=%s ping -c1 -W1 10.1.0.2 >/dev/null", cb), 0);
	/* a full-size overlay packet (MTU 1450) crosses the 1500 underlay unfragmented */
	ck_assert_int_eq(sh("nsenter --net=%s ping -c1 -W1 -M do -s 1422 10.1.0.3 >/dev/null", ca), 0);
	/* and it really went through VXLAN on UDP 4789 of host A's namespace */
	char *s = out("nsenter --net=%s ss -uan 'sport = :4789'", ha);
	ck_assert_msg(strstr(s, ":4789"), "%s", s);
	free(s);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("overlay_kernel");
	TCase *tc = tcase_create("netns");
	SRunner *sr;
	int failed;

	if (geteuid() != 0 || system("command -v ip bridge nsenter ping ss >/dev/null") != 0) {
		printf("overlay_kernel: skipped (needs root, ip, bridge, nsenter, ping, ss)\n");
		return EXIT_SUCCESS;
	}
	snprintf(base, sizeof(base), "/tmp/ovgk.XXXXXX");
	if (!mkdtemp(base)) {
		perror("mkdtemp");
		return EXIT_FAILURE;
	}
	tcase_add_checked_fixture(tc, setup, NULL);
	tcase_set_timeout(tc, 30);
	tcase_add_test(tc, test_sandbox_create_adopt_remove);
	tcase_add_test(tc, test_remote_entries_exact_and_drift_repaired);
	tcase_add_test(tc, test_attach_first_free_eth_and_detach);
	tcase_add_test(tc, test_stale_temporary_vxlan_does_not_block);
	tcase_add_test(tc, test_orphan_sandboxes_removed_by_a_fresh_agent);
	tcase_add_test(tc, test_two_hosts_ping_over_vxlan);
	suite_add_tcase(s, tc);
	sr = srunner_create(s);
	srunner_set_fork_status(sr, CK_FORK);   /* the namespaces need a process each */
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	char cmd[128];
	snprintf(cmd, sizeof(cmd), "rm -rf %s", base);
	if (system(cmd) != 0)
		fprintf(stderr, "could not remove %s\n", base);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
