/*
 * 10,000 remote endpoints into one sandbox: the reconciler against
 * `ip -batch` (neigh replace) plus `bridge -batch` (fdb replace) of the same
 * entries, in the same run, each into a fresh sandbox of its own. Also a
 * single incremental add, a no-op reconcile and a full repair with 10,000
 * present. Needs root (skips otherwise); runs in private network and mount
 * namespaces, so it leaves nothing behind.
 *
 *   make bench            or   build/bench/bench_overlay [N] [rounds]
 */
#include <fcntl.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/mount.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include <arpa/inet.h>

#include "ovg/overlay.h"

static char dir[64], run_dir[128], err[OVG_OVERLAY_ERR_MAX];

static double now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

static int cmp_d(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return x < y ? -1 : x > y;
}

static double median(double *v, int n)
{
	qsort(v, (size_t)n, sizeof(*v), cmp_d);
	return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

/* `prog -batch file` inside the namespace at path, as `ip -n` would run. */
static int run_batch(const char *nspath, const char *prog, const char *file)
{
	pid_t pid = fork();
	int st;

	if (pid < 0)
		return -1;
	if (pid == 0) {
		int fd = open(nspath, O_RDONLY | O_CLOEXEC);
		if (fd < 0 || setns(fd, CLONE_NEWNET) < 0)
			_exit(127);
		execlp(prog, prog, "-batch", file, (char *)NULL);
		_exit(127);
	}
	if (waitpid(pid, &st, 0) != pid)
		return -1;
	return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

static long count_lines(const char *cmd)
{
	FILE *p = popen(cmd, "r");
	long n = -1;

	if (p) {
		if (fscanf(p, "%ld", &n) != 1)
			n = -1;
		pclose(p);
	}
	return n;
}

struct bnet {
	struct ovg_overlay_net net;
	struct ovg_overlay_local local;
	char sb[OVG_OVERLAY_PATH_MAX];
};

static void bnet_init(struct bnet *b, struct ovg_overlay *ov, uint8_t tag, uint32_t vni,
		      const char *cns, struct ovg_overlay_remote *r, size_t n)
{
	memset(b, 0, sizeof(*b));
	memset(b->net.id, tag, sizeof(b->net.id));
	b->net.vni = vni;
	b->net.subnet.s_addr = htonl(0x0a000000);
	b->net.prefix = 16;
	b->net.gateway.s_addr = htonl(0x0a000001);
	snprintf(b->local.name, sizeof(b->local.name), "bench%u", tag);
	b->local.ip.s_addr = htonl(0x0a000002);
	ovg_overlay_mac_from_ip(b->local.ip, b->local.mac);
	snprintf(b->local.netns, sizeof(b->local.netns), "%s", cns);
	b->net.locals = &b->local;
	b->net.n_locals = 1;
	b->net.remotes = r;
	b->net.n_remotes = n;
	ovg_overlay_sandbox_path(ov, b->net.id, b->sb, sizeof(b->sb));
}

static int rec(struct ovg_overlay *ov, struct bnet *b, unsigned flags, struct ovg_overlay_stats *st)
{
	memset(st, 0, sizeof(*st));
	int e = ovg_overlay_reconcile(ov, &b->net, 1, flags | OVG_OVERLAY_PARTIAL, st, err,
				      sizeof(err));
	if (e < 0)
		fprintf(stderr, "bench_overlay: reconcile: %s\n", err);
	return e;
}

int main(int argc, char **argv)
{
	size_t n = argc > 1 ? (size_t)atol(argv[1]) : 10000;
	int rounds = argc > 2 ? atoi(argv[2]) : 3;
	struct ovg_overlay_cfg cfg = { 0 };
	struct ovg_overlay_remote *r = NULL;
	struct ovg_overlay *ov;
	struct ovg_overlay_stats st;
	char c1[128], c2[128], fneigh[128], ffdb[128];
	double t_ours[16], t_ip[16], t_ipn[16], t_br[16], t_inc[16], t_noop[16], t_full[16];
	int rc = 1;

	if (geteuid() != 0) {
		printf("bench_overlay: skipped (needs root)\n");
		return 0;
	}
	if (n < 1 || n > 60000 || rounds < 1 || rounds > 16) {
		fprintf(stderr, "usage: bench_overlay [N<=60000] [rounds<=16]\n");
		return 2;
	}
	if (unshare(CLONE_NEWNET | CLONE_NEWNS) < 0 ||
	    mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) < 0) {
		perror("bench_overlay: unshare");
		return 1;
	}
	snprintf(dir, sizeof(dir), "/tmp/ovgbench.XXXXXX");
	if (!mkdtemp(dir)) {
		perror("mkdtemp");
		return 1;
	}
	snprintf(run_dir, sizeof(run_dir), "%s/run", dir);
	snprintf(c1, sizeof(c1), "%s/c1", dir);
	snprintf(c2, sizeof(c2), "%s/c2", dir);
	snprintf(fneigh, sizeof(fneigh), "%s/neigh.batch", dir);
	snprintf(ffdb, sizeof(ffdb), "%s/fdb.batch", dir);
	if (ovg_overlay_netns_create(c1, err, sizeof(err)) < 0 ||
	    ovg_overlay_netns_create(c2, err, sizeof(err)) < 0) {
		fprintf(stderr, "bench_overlay: %s\n", err);
		goto out;
	}

	/* n + 1 remotes: 10.0.x.y from 10.0.0.10 on, over 8 VTEPs */
	r = calloc(n + 1, sizeof(*r));
	if (!r)
		goto out;
	for (size_t i = 0; i <= n; i++) {
		r[i].ip.s_addr = htonl(0x0a00000a + (uint32_t)i);
		ovg_overlay_mac_from_ip(r[i].ip, r[i].mac);
		r[i].vtep.s_addr = htonl(0xc0a80002 + (uint32_t)(i % 8));
	}
	FILE *fn = fopen(fneigh, "w"), *ff = fopen(ffdb, "w");
	if (!fn || !ff)
		goto out;
	for (size_t i = 0; i < n; i++) {
		char a[INET_ADDRSTRLEN], v[INET_ADDRSTRLEN], m[18];
		const uint8_t *x = r[i].mac;
		inet_ntop(AF_INET, &r[i].ip, a, sizeof(a));
		inet_ntop(AF_INET, &r[i].vtep, v, sizeof(v));
		snprintf(m, sizeof(m), "%02x:%02x:%02x:%02x:%02x:%02x", x[0], x[1], x[2], x[3], x[4], x[5]);
		fprintf(fn, "neigh replace %s lladdr %s dev vxlan0 nud permanent\n", a, m);
		fprintf(ff, "fdb replace %s dev vxlan0 dst %s self permanent\n", m, v);
	}
	fclose(fn);
	fclose(ff);

	cfg.run_dir = run_dir;
	ov = ovg_overlay_new(&cfg, err, sizeof(err));
	if (!ov) {
		fprintf(stderr, "bench_overlay: %s\n", err);
		goto out;
	}

	for (int k = 0; k < rounds; k++) {
		struct bnet a, b;
		double t0;
		char cmd[512];

		/* ours: a fresh sandbox (devices made untimed), then the entries */
		bnet_init(&a, ov, 0xa1, 5001, c1, r, 0);
		if (rec(ov, &a, 0, &st) < 0)
			goto free_ov;
		a.net.n_remotes = n;
		t0 = now_ms();
		if (rec(ov, &a, 0, &st) < 0)
			goto free_ov;
		t_ours[k] = now_ms() - t0;
		if (st.neigh_replaced != n || st.fdb_replaced != n) {
			fprintf(stderr, "bench_overlay: wrote %u/%u, want %zu\n", st.neigh_replaced,
				st.fdb_replaced, n);
			goto free_ov;
		}
		t0 = now_ms();
		rec(ov, &a, 0, &st);
		t_noop[k] = now_ms() - t0;
		if (ovg_overlay_stats_changes(&st) != 0)
			goto free_ov;
		a.net.n_remotes = n + 1;
		t0 = now_ms();
		rec(ov, &a, 0, &st);
		t_inc[k] = now_ms() - t0;
		if (ovg_overlay_stats_changes(&st) != 2 || st.dumps != 0)
			goto free_ov;
		t0 = now_ms();
		rec(ov, &a, OVG_OVERLAY_FULL, &st);
		t_full[k] = now_ms() - t0;
		snprintf(cmd, sizeof(cmd), "nsenter --net=%s ip neigh show dev vxlan0 | wc -l", a.sb);
		long got_n = count_lines(cmd);
		snprintf(cmd, sizeof(cmd),
			 "nsenter --net=%s bridge fdb show dev vxlan0 2>/dev/null | grep -c ' self permanent'", a.sb);
		long got_f = count_lines(cmd);
		if (got_n != (long)n + 1 || got_f != (long)n + 1) {
			fprintf(stderr, "bench_overlay: kernel holds %ld/%ld entries\n", got_n, got_f);
			goto free_ov;
		}
		a.net.n_locals = 0;
		rec(ov, &a, 0, &st);    /* sandbox gone */

		/* ip/bridge -batch into a fresh sandbox made the same way */
		bnet_init(&b, ov, 0xb2, 5002, c2, r, 0);
		if (rec(ov, &b, 0, &st) < 0)
			goto free_ov;
		t0 = now_ms();
		int e1 = run_batch(b.sb, "ip", fneigh);
		double t1 = now_ms();
		int e2 = run_batch(b.sb, "bridge", ffdb);
		t_ip[k] = now_ms() - t0;
		t_ipn[k] = t1 - t0;
		t_br[k] = t_ip[k] - t_ipn[k];
		if (e1 != 0 || e2 != 0) {
			fprintf(stderr, "bench_overlay: ip -batch %d, bridge -batch %d\n", e1, e2);
			goto free_ov;
		}
		snprintf(cmd, sizeof(cmd), "nsenter --net=%s ip neigh show dev vxlan0 | wc -l", b.sb);
		if (count_lines(cmd) != (long)n) {
			fprintf(stderr, "bench_overlay: ip -batch left a wrong table\n");
			goto free_ov;
		}
		b.net.n_locals = 0;
		rec(ov, &b, 0, &st);
	}

	double mo = median(t_ours, rounds), mi = median(t_ip, rounds);
	printf("overlay bench: %zu remote endpoints (neighbour + FDB each) into one fresh sandbox, "
	       "median of %d rounds\n", n, rounds);
	printf("  reconciler (batched netlink)          %8.2f ms\n", mo);
	printf("  ip -batch + bridge -batch             %8.2f ms  (ip %.2f + bridge %.2f)\n", mi,
	       median(t_ipn, rounds), median(t_br, rounds));
	printf("  ratio reconciler / ip+bridge          %8.2f    (target <= 1.20: %s)\n", mo / mi,
	       mo / mi <= 1.2 ? "met" : "MISSED");
	printf("  one more endpoint, %zu present        %8.3f ms  (2 writes, no dump)\n", n,
	       median(t_inc, rounds));
	printf("  no-op reconcile, %zu present          %8.3f ms\n", n + 1, median(t_noop, rounds));
	printf("  full repair (dump + diff), %zu present%8.2f ms\n", n + 1, median(t_full, rounds));
	rc = 0;
free_ov:
	ovg_overlay_free(ov);
out:
	if (rc)
		fprintf(stderr, "bench_overlay: failed\n");
	free(r);
	ovg_overlay_netns_remove(c1, NULL, 0);
	ovg_overlay_netns_remove(c2, NULL, 0);
	char rm[128];
	snprintf(rm, sizeof(rm), "rm -rf %s", dir);
	if (system(rm) != 0)
		fprintf(stderr, "could not remove %s\n", dir);
	return rc;
}
