/*
 * swimsim: a deterministic discrete-event simulator running the real gossip/
 * code. Every virtual node is a real struct ovg_swim (and, for the state
 * scenarios, a real struct ovg_state); packets are the bytes swim builds with
 * the real encoders, sealed with the real framing (CRC when swim asks for it,
 * no encryption: its 29 bytes are counted in the byte figures) and opened with
 * ovg_packet_open on arrival. Time is virtual (microseconds; swim sees
 * milliseconds), randomness comes from one seed, so a run replays exactly.
 *
 * Model:
 * - scheduler: one binary min-heap of events keyed by (time, insertion
 *   sequence); one pending tick per node, at ovg_swim_next_deadline_ms().
 * - network: node i is 10.(i>>16).(i>>8).(i):7946, so an address maps to a
 *   node by arithmetic. One-way latency = base + lognormal (or uniform)
 *   jitter; independent random loss per datagram; partitions as blocked
 *   group pairs (asymmetric allowed); TCP (push-pull, TCP ping, state syncs)
 *   is a reliable exchange costing a handshake plus transfer time (plus a
 *   retransmission timeout per lost segment: 1 s SYN, 200 ms data), failing
 *   only when the peer is down or a direction is blocked.
 * - nodes: CPU stalls (a stalled node handles nothing; what arrives waits in
 *   a bounded receive queue, as in a socket buffer, and is handled when the
 *   stall ends), crash (instance destroyed, in-flight traffic to it lost),
 *   restart (a fresh instance with the incarnation saved on "disk" after
 *   every call, as the daemon does; state from its saved bytes), graceful
 *   leave, join through a random live member.
 * - bootstrap "preload": every initial node gets the whole member list through
 *   ovg_swim_preload (push-pull records merged by the push-pull rules, with
 *   no news queued about them: the cluster learned it long ago), then a few
 *   ticks with the network muted set its timers' phases (see preload), so the
 *   measured run starts from the steady state of a cluster that formed long
 *   ago.
 *   Bootstrap "join": nodes start one by one and join node 0 for real.
 *
 * Checks (exit status 1 on violation, with a `reproduce:` line):
 * - safety, all along: a live node falsely marked dead (by a member that can
 *   reach it both ways) must be alive again there within --dead-bound;
 *   state scenarios: no two live endpoints of a network share an address or
 *   a resolved name, no two networks share a resolved name, no two live
 *   networks share a VNI (DESIGN.md guarantees 2 and 3), at every node.
 * - liveness, at the end (after a quiet period): every live node sees exactly
 *   the live nodes alive and nothing suspect; every failure and join was
 *   learned by every live node; state scenarios: equal state hashes.
 */
#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <malloc.h>
#include <sys/resource.h>

#include "ovg/crypt.h"
#include "ovg/env.h"
#include "ovg/frame.h"
#include "ovg/state.h"
#include "ovg/swim.h"
#include "ovg/wire.h"

#define SIM_PORT          7946
#define SIM_NODES_MAX     (1u << 20)
#define T0_US             (100ull * 1000000ull)   /* virtual start: 100 s */
#define KEY_SEQ_BITS      20
#define LAT_TABLE         4096
#define STATE_NODES_MAX   1000                     /* ovg_state tracks 1024 owners */
#define STATE_DIGEST_US   2000000ull               /* daemon/replica.c DIGEST_INTERVAL_S */
#define STATE_EAGER_ORIGIN 32                      /* replica.c EAGER_ORIGIN_MAX */
#define STATE_EAGER_FWD   3                        /* replica.c EAGER_FORWARD */
#define STATE_SYNC_MAX    (4u << 20)               /* replica.c SYNC_PIECE_MAX */
#define IPUDP_HDR         28
#define TCP_FAILED        (UINT64_MAX / 4)          /* beyond any run's end */

static const uint8_t sim_meta[] = { 0xff, 0x81, 0xa3, 'o', 'v', 'g', 0xa1, '1' };


/* ---- memory ---------------------------------------------------------------
 * N nodes each holding N members make N^2 small heap objects (member records,
 * meta copies, queued broadcasts): 10^8 at N = 10,000. glibc's malloc adds a
 * 16-byte header and rounds to 32-byte chunks; this simulator-only allocator
 * serves blocks up to 256 bytes from one size class each (8 bytes, which is
 * all a block of at most 8 bytes must be aligned to, then 16-byte steps; no
 * header: the class is the address range), and bigger blocks up to 64 MiB
 * (swim instances, member arrays, hash tables) from quarter-octave classes
 * (2^k * 5/4, 6/4, 7/4, 8/4: at most 25% slack, 64-byte aligned). All are
 * bump-allocated from one large reserved mapping with transparent huge pages
 * (at 10,000 nodes the run is bound by TLB misses on cold nodes), freed
 * blocks on a LIFO list per class. Beyond 64 MiB: glibc (__libc_*).
 * SWIMSIM_MALLOC=libc turns it off, SWIMSIM_THP=0 the huge pages.
 * Not built under AddressSanitizer, which must own malloc.
 */
#if !defined(__SANITIZE_ADDRESS__)
#include <sys/mman.h>

extern void *__libc_malloc(size_t);
extern void *__libc_calloc(size_t, size_t);
extern void *__libc_realloc(void *, size_t);
extern void __libc_free(void *);
extern void *__libc_memalign(size_t, size_t);

#define SA_SMALL     17                 /* 8 bytes, then 16, 32, ... 256 */
#define SA_STEP      16
#define SA_SMALL_MAX ((SA_SMALL - 1) * SA_STEP)
#define SA_OCT_LO    8                  /* large classes: (2^8, 2^26] */
#define SA_OCT_HI    26
#define SA_CLASSES   (SA_SMALL + 4 * (SA_OCT_HI - SA_OCT_LO))
#define SA_MAX       ((size_t)1 << SA_OCT_HI)
#define SA_SPAN_BITS 34                 /* 16 GiB of address space per class */

static uint8_t *sa_base;
static int sa_state;                    /* 0 unknown, 1 on, -1 off */
static uint8_t *sa_bump[SA_CLASSES];
static void *sa_free[SA_CLASSES];
size_t swimsim_heap_bytes;

static bool sa_on(void)
{
	if (sa_state == 0) {
		const char *e = getenv("SWIMSIM_MALLOC");
		const char *t = getenv("SWIMSIM_THP");
		void *p = MAP_FAILED;
		sa_state = -1;
		if (!e || strcmp(e, "libc") != 0)
			p = mmap(NULL, (size_t)SA_CLASSES << SA_SPAN_BITS, PROT_READ | PROT_WRITE,
				 MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
		if (p != MAP_FAILED) {
			sa_base = p;
			if (!t || strcmp(t, "0") != 0)
				madvise(p, (size_t)SA_CLASSES << SA_SPAN_BITS, MADV_HUGEPAGE);
			for (int c = 0; c < SA_CLASSES; c++)
				sa_bump[c] = sa_base + ((size_t)c << SA_SPAN_BITS);
			sa_state = 1;
		}
	}
	return sa_state > 0;
}

static bool sa_ours(const void *p)
{
	return sa_base && (const uint8_t *)p >= sa_base &&
	       (const uint8_t *)p < sa_base + ((size_t)SA_CLASSES << SA_SPAN_BITS);
}

static size_t sa_size(int c)
{
	int k, q;

	if (c < SA_SMALL)
		return c ? (size_t)c * SA_STEP : 8;
	k = SA_OCT_LO + (c - SA_SMALL) / 4;
	q = (c - SA_SMALL) % 4 + 1;
	return ((size_t)1 << k) + (size_t)q * ((size_t)1 << (k - 2));
}

/* n <= SA_MAX */
static int sa_class(size_t n)
{
	int k, c;

	if (n <= SA_SMALL_MAX)
		return n <= 8 ? 0 : (int)((n + SA_STEP - 1) / SA_STEP);
	k = 63 - __builtin_clzll((unsigned long long)(n - 1));    /* 2^k < n <= 2^(k+1) */
	c = SA_SMALL + (k - SA_OCT_LO) * 4;
	while (sa_size(c) < n)
		c++;
	return c;
}

static size_t sa_class_size(const void *p)
{
	return sa_size((int)(((const uint8_t *)p - sa_base) >> SA_SPAN_BITS));
}

static void *sa_alloc(size_t n, bool zero)
{
	int c = sa_class(n);
	size_t sz = sa_size(c);
	void *p = sa_free[c];

	if (p) {
		sa_free[c] = *(void **)p;
		if (zero)
			memset(p, 0, sz);
		return p;
	}
	if (sa_bump[c] + sz > sa_base + ((size_t)(c + 1) << SA_SPAN_BITS))
		return NULL;
	p = sa_bump[c];
	sa_bump[c] += sz;              /* fresh pages are zero */
	swimsim_heap_bytes += sz;
	return p;
}

void *malloc(size_t n)
{
	if (n <= SA_MAX && sa_on())
		return sa_alloc(n, false);
	return __libc_malloc(n);
}

void *calloc(size_t a, size_t b)
{
	size_t n;

	if (__builtin_mul_overflow(a, b, &n))
		return NULL;
	if (n <= SA_MAX && sa_on())
		return sa_alloc(n, true);
	return __libc_calloc(a, b);
}

void free(void *p)
{
	if (!p)
		return;
	if (sa_ours(p)) {
		int c = (int)(((uint8_t *)p - sa_base) >> SA_SPAN_BITS);
		*(void **)p = sa_free[c];
		sa_free[c] = p;
		return;
	}
	__libc_free(p);
}

void *realloc(void *p, size_t n)
{
	if (p && sa_ours(p)) {
		size_t old = sa_class_size(p);
		void *q;
		if (n <= old && n > 0)
			return p;
		q = malloc(n);
		if (!q)
			return NULL;
		memcpy(q, p, old < n ? old : n);
		free(p);
		return q;
	}
	if (!p)
		return malloc(n);
	return __libc_realloc(p, n);
}

void *memalign(size_t al, size_t n) { return __libc_memalign(al, n); }
void *aligned_alloc(size_t al, size_t n) { return __libc_memalign(al, n); }
void *valloc(size_t n) { return __libc_memalign(4096, n); }
int posix_memalign(void **out, size_t al, size_t n)
{
	void *p = __libc_memalign(al, n);

	if (!p)
		return ENOMEM;
	*out = p;
	return 0;
}
size_t malloc_usable_size(void *p);
size_t malloc_usable_size(void *p)
{
	extern size_t __malloc_usable_size(void *) __attribute__((weak));
	if (!p)
		return 0;
	if (sa_ours(p))
		return sa_class_size(p);
	return __malloc_usable_size ? __malloc_usable_size(p) : 0;
}
#endif

/* ---- options ------------------------------------------------------------ */

struct opts {
	uint64_t seed;
	const char *scenario;
	uint32_t nodes;
	double duration_s, settle_s, quiet_s;
	double loss;
	double lat_base_us, lat_jitter_us, lat_sigma;
	bool lat_uniform;
	double bw_bytes_per_us;
	/* swim knobs; < 0 = default */
	int probe_interval, probe_timeout, gossip_interval, gossip_nodes, eager_fanout;
	int suspicion_interval, probe_schedule;
	int suspicion_mult, suspicion_max_mult, awareness_max, retransmit_mult;
	int push_pull_interval, indirect_checks, gossip_to_the_dead;
	bool no_tcp_ping;
	bool lifeguard;
	bool lifeguard_off_min;
	const char *bootstrap;
	double join_stagger_ms;
	int join_count;
	double join_window_s;
	double fail_frac;
	double restart_after_s;
	double part_frac, part_s;
	bool part_asym;
	double churn_rate;
	double stall_frac, stall_ms, stall_gap_ms;
	uint32_t rcvbuf_pkts;
	uint32_t writes;
	double write_window_s;
	double state_kill_frac;
	double dead_bound_s;
	const char *csv, *cdf;
	uint32_t csv_step_ms;
	uint32_t track_max;
	uint32_t members_max;
	uint32_t preload_sample;
	bool state_tcp_reply;
	double reconnect_s;
	bool no_crc;
	bool verbose;
};

static struct opts O = {
	.seed = 1,
	.scenario = "fail1",
	.nodes = 100,
	.duration_s = -1,
	.settle_s = -1,
	.quiet_s = -1,
	.lat_base_us = 200,
	.lat_jitter_us = 150,
	.lat_sigma = 0.7,
	.bw_bytes_per_us = 125,     /* 1 Gbit/s */
	.probe_interval = -1, .probe_timeout = -1, .suspicion_interval = -1, .probe_schedule = -1, .gossip_interval = -1, .gossip_nodes = -1,
	.eager_fanout = -1, .suspicion_mult = -1, .suspicion_max_mult = -1, .awareness_max = -1,
	.retransmit_mult = -1, .push_pull_interval = -1, .indirect_checks = -1,
	.gossip_to_the_dead = -1,
	.lifeguard = true,
	.bootstrap = NULL,
	.join_stagger_ms = 20,
	.join_count = -1,
	.join_window_s = 1,
	.fail_frac = -1,
	.restart_after_s = -1,
	.part_frac = 0.5,
	.part_s = 20,
	.churn_rate = 1,
	.stall_gap_ms = 10000,
	.stall_ms = 2000,
	.rcvbuf_pkts = 256,
	.writes = 200,
	.write_window_s = 10,
	.dead_bound_s = 60,
	.csv_step_ms = 100,
	.track_max = 2000,
};

/* ---- random numbers ----------------------------------------------------- */

static uint64_t rnd(struct ovg_splitmix *r) { return ovg_splitmix_next(r); }
static double rnd01(struct ovg_splitmix *r) { return (double)(rnd(r) >> 11) / 9007199254740992.0; }
static uint32_t rnd_below(struct ovg_splitmix *r, uint32_t n)
{
	return (uint32_t)((rnd(r) >> 32) * (uint64_t)n >> 32);
}
static double rnd_exp(struct ovg_splitmix *r, double mean)
{
	return -mean * log(1.0 - rnd01(r));
}
static double rnd_normal(struct ovg_splitmix *r)
{
	double u1 = rnd01(r), u2 = rnd01(r);
	if (u1 < 1e-300)
		u1 = 1e-300;
	return sqrt(-2.0 * log(u1)) * cos(2.0 * M_PI * u2);
}

/* ---- nodes ------------------------------------------------------------- */

enum { PH_PRELOAD, PH_RUN, PH_END };

struct node {
	struct ovg_swim *s;
	struct ovg_state *st;
	struct ovg_splitmix rng;        /* swim's randomness */
	struct ovg_splitmix srng;       /* the state's */
	uint32_t gen;                   /* bumps at every start and kill */
	bool up, leaving, left, started, muted, flaky, in_pool;
	uint32_t tick_tok;
	uint64_t tick_at;               /* pending tick, UINT64_MAX if none */
	uint64_t stall_until, stall_end_last;
	uint32_t deferred;              /* events waiting for the stall to end */
	uint32_t disk_inc;              /* persisted incarnation */
	uint32_t start_inc;             /* incarnation of the current instance */
	uint8_t *disk_state;
	size_t disk_state_len;
	uint8_t group;
	int32_t track;                  /* tracked event about us, -1 */
	uint32_t fp_inc;                /* last incarnation counted as a false positive */
	uint64_t started_at, leave_deadline;
	int32_t pp_peer;                /* merge_state's peer (dialer side), -1 */
	uint32_t settle_seq;
	bool settle_ping, settle_want_ping;
	uint64_t pkts_out, bytes_out, msgs_out, tcp_bytes_out, pkts_in;
	uint32_t peers[64];             /* saved peers (daemon: AGENT_PEERS_MAX) */
	uint32_t npeers;
};

/* ---- events -------------------------------------------------------------- */

enum ev_kind {
	EV_TICK, EV_PKT, EV_TCPPING_REQ, EV_TCPPING_RES, EV_PP_DIAL, EV_PP_REQ, EV_PP_REPLY,
	EV_ST_TICK, EV_ST_TCP, EV_SCEN, EV_STALL, EV_SAMPLE, EV_CHECK, EV_LEAVE_END,
	EV_RECONNECT,
};

struct ev {
	uint8_t kind;
	uint8_t deferred;
	uint8_t join;
	uint32_t node;                  /* who handles it */
	uint32_t other;                 /* peer / action */
	uint32_t gen;                   /* node's generation when scheduled */
	uint32_t aux;                   /* seq, token, other's gen */
	uint32_t len;
	uint8_t *data;
};

struct hent {
	uint64_t key;
	uint32_t ev;
	uint32_t node;                  /* G.evs[ev].node, for prefetching */
};

/* ---- tracked events (failure, join, leave of a subject) ------------------ */

enum track_kind { TR_FAIL, TR_JOIN, TR_LEAVE };

struct track {
	enum track_kind kind;
	uint32_t subject;
	uint64_t t0;                    /* us */
	uint64_t t_first_suspect, t_first_dead;
	uint32_t nlearned;
	uint32_t *learned_ms;           /* per observer: ms after t0 + 1, 0 = not yet */
	bool closed;
};

/* ---- state writes ---------------------------------------------------------- */

enum write_kind { WR_NET, WR_EP };

struct write {
	enum write_kind kind;
	uint8_t net_id[16];
	char name[32];
	uint32_t origin;
	uint64_t t_issue, t_written, t_all;
	uint32_t nseen;
	uint8_t *seen;                  /* bitmap over nodes */
	bool written, failed;
};

struct pending_attach {
	uint32_t node, gen;
	uint8_t net_id[16];
	char name[32];
	uint64_t t_issue, deadline;
	bool active;
};

/* ---- false-dead pairs: (observer, subject) marked dead while reachable ---- */

struct fd_ent {
	uint64_t key;                   /* observer << 32 | subject, 0 = empty */
	uint64_t t_mark;
};

/* ---- the simulator ----------------------------------------------------------- */

struct sim {
	int phase;
	uint64_t now;                   /* us */
	uint64_t end;
	uint64_t seq;
	struct hent *heap;
	size_t heap_n, heap_cap;
	struct ev *evs;
	uint32_t *ev_free;
	size_t ev_cap, ev_nfree;

	struct node *nodes;
	uint32_t n;
	struct ovg_swim **sptr;         /* nodes[i].s, compact (stays in cache) */
	uint32_t s_bytes;               /* size of a swim instance, for prefetching */
	struct ovg_splitmix net_rng, scen_rng;
	double lat_table[LAT_TABLE];
	bool block[4][4];
	uint64_t last_heal;
	bool partitioned;

	bool state_mode;
	struct ovg_push_node *recs;
	char (*names)[12];
	uint8_t (*ips)[4];

	/* tracks */
	struct track *tracks;
	size_t ntracks, tracks_cap;

	/* false dead */
	struct fd_ent *fd;
	size_t fd_cap, fd_n;

	/* counters */
	uint64_t pkts, bytes, msgs, tcp_bytes, pkts_lost, pkts_blocked, pkts_to_down,
		 pkts_overflow, tcp_msgs;
	uint64_t ev_suspect, ev_dead, ev_left, ev_join, ev_update;
	uint64_t fp_declarations, fp_marks, part_marks, fp_healthy;
	uint64_t fp_dead_ms_total;
	uint64_t violations;
	uint64_t stalls;
	uint64_t events_processed;
	uint64_t checks;
	uint32_t nlive;
	uint64_t susp_max_us;
	bool partial;                   /* members_max < nodes: partial views */

	/* timeline */
	FILE *csv;
	uint64_t c_pkts, c_bytes, c_msgs, c_tcp, c_susp, c_dead;

	/* scenario bookkeeping */
	uint64_t t_action;
	uint64_t t_heal, t_healed;
	bool heal_pending;
	uint32_t pool_next;             /* next never-started node (join, churn) */
	uint64_t churn_stop;

	/* state */
	struct write *writes;
	size_t nwrites, writes_cap;
	struct pending_attach *pend;
	size_t npend, pend_cap;
	uint32_t net_counter, ep_counter;
	uint64_t wr_refused, wr_eagain, wr_failed;
	uint64_t st_msgs, st_bytes;

	char **argv;
	int argc;
};

static struct sim G;

static void violation(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* ---- small helpers ----------------------------------------------------------- */

static uint64_t now_ms(void) { return G.now / 1000; }
static double rel_s(uint64_t t) { return ((double)t - (double)T0_US) / 1e6; }

static struct ovg_addr addr_of(uint32_t i)
{
	struct ovg_addr a;

	memset(&a, 0, sizeof(a));
	a.len = 4;
	a.ip[0] = 10;
	a.ip[1] = (uint8_t)(i >> 16);
	a.ip[2] = (uint8_t)(i >> 8);
	a.ip[3] = (uint8_t)i;
	a.port = SIM_PORT;
	return a;
}

static int32_t node_of(const struct ovg_addr *a)
{
	uint32_t i;

	if (a->len != 4 || a->ip[0] != 10 || a->port != SIM_PORT)
		return -1;
	i = (uint32_t)a->ip[1] << 16 | (uint32_t)a->ip[2] << 8 | a->ip[3];
	return i < G.n ? (int32_t)i : -1;
}

static int32_t node_of_name(const char *name)
{
	uint32_t v = 0;

	if (name[0] != 'n' || !name[1])
		return -1;
	for (const char *p = name + 1; *p; p++) {
		if (*p < '0' || *p > '9' || v > SIM_NODES_MAX)
			return -1;
		v = v * 10 + (uint32_t)(*p - '0');
	}
	return v < G.n ? (int32_t)v : -1;
}

static uint32_t idx(const struct node *nd) { return (uint32_t)(nd - G.nodes); }

static bool live(const struct node *nd) { return nd->up && !nd->leaving; }
static bool stalled(const struct node *nd) { return G.now < nd->stall_until; }

static bool blocked(uint32_t from, uint32_t to)
{
	return G.block[G.nodes[from].group][G.nodes[to].group];
}

static bool reachable2(uint32_t a, uint32_t b) { return !blocked(a, b) && !blocked(b, a); }

static void die(const char *fmt, ...) __attribute__((format(printf, 1, 2), noreturn));
static void die(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	fprintf(stderr, "swimsim: ");
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fprintf(stderr, "\n");
	exit(2);
}

static void *xcalloc(size_t n, size_t sz)
{
	void *p = calloc(n ? n : 1, sz);

	if (!p)
		die("out of memory (%zu x %zu)", n, sz);
	return p;
}

static void *xrealloc(void *p, size_t sz)
{
	p = realloc(p, sz);
	if (!p)
		die("out of memory (%zu)", sz);
	return p;
}

/* ---- scheduler ------------------------------------------------------------------- */

static uint32_t ev_alloc(void)
{
	if (G.ev_nfree == 0) {
		size_t nc = G.ev_cap ? G.ev_cap * 2 : 4096;
		G.evs = xrealloc(G.evs, nc * sizeof(*G.evs));
		G.ev_free = xrealloc(G.ev_free, nc * sizeof(*G.ev_free));
		for (size_t i = nc; i > G.ev_cap; i--)
			G.ev_free[G.ev_nfree++] = (uint32_t)(i - 1);
		G.ev_cap = nc;
	}
	return G.ev_free[--G.ev_nfree];
}

static void heap_push(uint64_t at, uint32_t e)
{
	size_t i;
	uint64_t key;

	if (at < G.now)
		at = G.now;
	if (at > G.end + 1000000)
		at = G.end + 1000000;     /* never happens: keeps the key from overflowing */
	key = at << KEY_SEQ_BITS | (G.seq++ & ((1u << KEY_SEQ_BITS) - 1));
	if (G.heap_n == G.heap_cap) {
		G.heap_cap = G.heap_cap ? G.heap_cap * 2 : 4096;
		G.heap = xrealloc(G.heap, G.heap_cap * sizeof(*G.heap));
	}
	i = G.heap_n++;
	while (i > 0) {
		size_t p = (i - 1) / 2;
		if (G.heap[p].key <= key)
			break;
		G.heap[i] = G.heap[p];
		i = p;
	}
	G.heap[i].key = key;
	G.heap[i].ev = e;
	G.heap[i].node = G.evs[e].node;
}

static struct hent heap_pop(void)
{
	struct hent top = G.heap[0], last = G.heap[--G.heap_n];
	size_t i = 0, n = G.heap_n;

	for (;;) {
		size_t l = 2 * i + 1, r = l + 1, c;
		if (l >= n)
			break;
		c = (r < n && G.heap[r].key < G.heap[l].key) ? r : l;
		if (G.heap[c].key >= last.key)
			break;
		G.heap[i] = G.heap[c];
		i = c;
	}
	if (n)
		G.heap[i] = last;
	return top;
}

static struct ev *sched(uint64_t at, enum ev_kind kind, uint32_t node)
{
	uint32_t e = ev_alloc();
	struct ev *ev = &G.evs[e];

	memset(ev, 0, sizeof(*ev));
	ev->kind = (uint8_t)kind;
	ev->node = node;
	ev->gen = G.nodes ? G.nodes[node].gen : 0;
	heap_push(at, e);
	return ev;
}

/* Re-queue an event (same slot) at a later time: a stalled node's input. */
static void resched(uint32_t e, uint64_t at)
{
	heap_push(at, e);
}

/* ---- network model ------------------------------------------------------------- */

static void lat_init(void)
{
	for (int i = 0; i < LAT_TABLE; i++) {
		double j;
		if (O.lat_uniform)
			j = rnd01(&G.net_rng) * 2.0 * O.lat_jitter_us;
		else
			j = O.lat_jitter_us * exp(O.lat_sigma * rnd_normal(&G.net_rng));
		G.lat_table[i] = j;
	}
}

/* Faults (loss, stalls) stop for the quiet tail, so the end state can be judged. */
static double cur_loss(void)
{
	return G.now + (uint64_t)(O.quiet_s * 1e6) > G.end ? 0.0 : O.loss;
}

static uint64_t latency_us(void)
{
	double l = O.lat_base_us + G.lat_table[rnd(&G.net_rng) & (LAT_TABLE - 1)];

	return (uint64_t)(l < 1 ? 1 : l);
}

static uint64_t tcp_xfer_us(size_t bytes)
{
	return latency_us() + (uint64_t)((double)bytes / O.bw_bytes_per_us);
}

/* TCP is reliable but not free under loss: each lost segment of an exchange
 * costs a retransmission timeout (Linux: 1 s for SYN/SYN-ACK, 200 ms min RTO
 * for data). segs: how many segments the exchange needs in sequence. */
static uint64_t tcp_loss_delay_us(int syn_segs, int data_segs)
{
	uint64_t d = 0;

	double loss = cur_loss();

	if (loss <= 0)
		return 0;
	for (int i = 0; i < syn_segs + data_segs; i++) {
		int tries = 0;
		while (rnd01(&G.net_rng) < loss) {
			if (++tries > 6)
				return TCP_FAILED;     /* the connection gives up */
			d += i < syn_segs ? 1000000 : 200000;
		}
	}
	return d;
}

static uint32_t count_msgs(const uint8_t *p, size_t len)
{
	if (len >= 2 && p[0] == OVG_MSG_COMPOUND)
		return p[1];
	return 1;
}

static void account_out(struct node *nd, size_t wire_len, uint32_t msgs)
{
	nd->pkts_out++;
	nd->bytes_out += wire_len;
	nd->msgs_out += msgs;
	G.pkts++;
	G.bytes += wire_len;
	G.msgs += msgs;
	G.c_pkts++;
	G.c_bytes += wire_len;
	G.c_msgs += msgs;
}

/* Put one datagram (already sealed, owned by us) on the wire. */
static void wire_send(uint32_t from, int32_t to, uint8_t *data, size_t len)
{
	struct ev *ev;

	if (to < 0) {
		G.pkts_to_down++;
		free(data);
		return;
	}
	if (blocked(from, (uint32_t)to)) {
		G.pkts_blocked++;
		free(data);
		return;
	}
	if (O.loss > 0 && rnd01(&G.net_rng) < cur_loss()) {
		G.pkts_lost++;
		free(data);
		return;
	}
	ev = sched(G.now + latency_us(), EV_PKT, (uint32_t)to);
	ev->other = from;
	ev->data = data;
	ev->len = (uint32_t)len;
}

/* Settling (muted) nodes answer their own probe pings: remember the seq. */
static void settle_note_ping(struct node *nd, const uint8_t *p, size_t len)
{
	struct ovg_bytes parts[OVG_COMPOUND_MAX];
	size_t n = 0;
	struct ovg_msg m;

	if (len && p[0] == OVG_MSG_COMPOUND) {
		if (ovg_compound_parse(p + 1, len - 1, parts, OVG_COMPOUND_MAX, &n) < 0 || n == 0)
			return;
		p = parts[0].p;
		len = parts[0].len;
	}
	if (len && p[0] == OVG_MSG_PING && ovg_wire_decode(p, len, &m) == 0) {
		nd->settle_seq = m.u.ping.seq_no;
		nd->settle_ping = true;
	}
}

static int cb_send_packet(void *ctx, const struct ovg_addr *to, const uint8_t *payload,
			  size_t len, bool crc)
{
	struct node *nd = ctx;
	uint8_t *buf;
	size_t out_len = 0;
	bool add_crc = crc && !O.no_crc;

	if (nd->muted) {
		if (nd->settle_want_ping)
			settle_note_ping(nd, payload, len);
		return 0;
	}
	account_out(nd, len + (crc ? 5 : 0) + OVG_CRYPT_OVERHEAD, count_msgs(payload, len));
	buf = malloc(len + 8);
	if (!buf)
		die("out of memory");
	if (ovg_packet_seal(NULL, NULL, add_crc, payload, len, buf, len + 8, &out_len) < 0)
		die("packet seal failed (%zu bytes)", len);
	wire_send(idx(nd), node_of(to), buf, out_len);
	return 0;
}

static void cb_tcp_ping(void *ctx, const struct ovg_addr *to, const char *name, uint32_t seq,
			const uint8_t *ping, size_t ping_len, uint64_t deadline_ms)
{
	struct node *nd = ctx;
	int32_t dst = node_of(to);
	struct ev *ev;

	(void)deadline_ms;
	(void)ping;
	if (nd->muted)
		return;
	nd->tcp_bytes_out += ping_len + 5 + OVG_CRYPT_OVERHEAD;
	G.tcp_bytes += ping_len + 5 + OVG_CRYPT_OVERHEAD;
	G.c_tcp += ping_len + 5 + OVG_CRYPT_OVERHEAD;
	G.tcp_msgs++;
	if (dst < 0 || node_of_name(name) != dst)
		return;
	if (!reachable2(idx(nd), (uint32_t)dst) || !G.nodes[dst].up)
		return;              /* no answer: the ping times out */
	/* SYN, SYN-ACK, then the ping */
	ev = sched(G.now + 2 * latency_us() + tcp_xfer_us(ping_len) + tcp_loss_delay_us(2, 1),
		   EV_TCPPING_REQ, (uint32_t)dst);
	ev->other = idx(nd);
	ev->aux = seq;
	ev->len = nd->gen;           /* the origin's generation */
}

static void cb_push_pull(void *ctx, const struct ovg_addr *to, const char *name, bool join)
{
	struct node *nd = ctx;
	int32_t dst = node_of(to);
	struct ev *ev;

	(void)name;
	if (nd->muted || dst < 0)
		return;
	ev = sched(G.now + 2 * latency_us() + tcp_loss_delay_us(2, 0), EV_PP_DIAL, idx(nd));
	ev->other = (uint32_t)dst;
	ev->join = join;
}

/* ---- tracks ------------------------------------------------------------------ */

static int32_t track_new(enum track_kind kind, uint32_t subject)
{
	struct track *t;
	struct node *nd = &G.nodes[subject];

	if (nd->track >= 0)
		G.tracks[nd->track].closed = true;
	nd->track = -1;
	if (G.ntracks >= O.track_max)
		return -1;
	if (G.ntracks == G.tracks_cap) {
		G.tracks_cap = G.tracks_cap ? G.tracks_cap * 2 : 64;
		G.tracks = xrealloc(G.tracks, G.tracks_cap * sizeof(*G.tracks));
	}
	t = &G.tracks[G.ntracks];
	memset(t, 0, sizeof(*t));
	t->kind = kind;
	t->subject = subject;
	t->t0 = G.now;
	t->learned_ms = xcalloc(G.n, sizeof(uint32_t));
	nd->track = (int32_t)G.ntracks;
	return (int32_t)G.ntracks++;
}

static void track_learn(struct track *t, uint32_t observer)
{
	if (t->closed || t->learned_ms[observer])
		return;
	t->learned_ms[observer] = (uint32_t)((G.now - t->t0) / 1000) + 1;
	t->nlearned++;
	if (O.verbose && G.now - t->t0 > 5000000)
		printf("t=%.3f late: n%u learned %s of n%u after %.3f s\n", rel_s(G.now), observer,
		       t->kind == TR_JOIN ? "join" : "failure", t->subject, (double)(G.now - t->t0) / 1e6);
}

/* ---- false-dead pairs ------------------------------------------------------------ */

static uint64_t fd_hash(uint64_t k)
{
	k ^= k >> 33;
	k *= 0xff51afd7ed558ccdull;
	k ^= k >> 33;
	return k;
}

static struct fd_ent *fd_find(uint64_t key, bool insert)
{
	size_t i;

	if (insert && (G.fd_n + 1) * 2 > G.fd_cap) {
		size_t oc = G.fd_cap, nc = oc ? oc * 2 : 1024;
		struct fd_ent *old = G.fd;
		G.fd = xcalloc(nc, sizeof(*G.fd));
		G.fd_cap = nc;
		G.fd_n = 0;
		for (size_t j = 0; j < oc; j++)
			if (old[j].key) {
				struct fd_ent *e = fd_find(old[j].key, true);
				*e = old[j];
				G.fd_n++;
			}
		free(old);
	}
	if (!G.fd_cap)
		return NULL;
	for (i = fd_hash(key) & (G.fd_cap - 1);; i = (i + 1) & (G.fd_cap - 1)) {
		if (G.fd[i].key == key)
			return &G.fd[i];
		if (G.fd[i].key == 0)
			return insert ? &G.fd[i] : NULL;
	}
}

static void fd_rebuild_without(bool (*drop)(uint64_t key, void *arg), void *arg)
{
	size_t oc = G.fd_cap;
	struct fd_ent *old = G.fd;

	if (!G.fd_n)
		return;
	G.fd = xcalloc(oc, sizeof(*G.fd));
	G.fd_n = 0;
	for (size_t j = 0; j < oc; j++) {
		if (!old[j].key || drop(old[j].key, arg))
			continue;
		*fd_find(old[j].key, true) = old[j];
		G.fd_n++;
	}
	free(old);
}

static void fd_del(uint64_t key)
{
	struct fd_ent *e = fd_find(key, false);
	uint64_t k2 = key;

	if (!e)
		return;
	G.fp_dead_ms_total += (G.now - e->t_mark) / 1000;
	/* rehash the rest of the cluster (linear probing delete) */
	e->key = 0;
	G.fd_n--;
	(void)k2;
	for (size_t i = (size_t)(e - G.fd + 1) & (G.fd_cap - 1); G.fd[i].key;
	     i = (i + 1) & (G.fd_cap - 1)) {
		struct fd_ent t = G.fd[i];
		G.fd[i].key = 0;
		G.fd_n--;
		*fd_find(t.key, true) = t;
		G.fd_n++;
	}
}

static bool fd_drop_node(uint64_t key, void *arg)
{
	uint32_t i = *(uint32_t *)arg;

	return (uint32_t)key == i || (uint32_t)(key >> 32) == i;
}

static void fd_forget_node(uint32_t i)
{
	fd_rebuild_without(fd_drop_node, &i);
}

/* ---- swim callbacks: observations ------------------------------------------------ */

static void cb_event(void *ctx, enum ovg_swim_event ev, const struct ovg_swim_member *m)
{
	struct node *obs = ctx;
	uint32_t o = idx(obs);
	int32_t subj;
	struct node *sn;
	struct track *t;

	if (G.phase != PH_RUN || m->is_self)
		return;
	subj = node_of_name(m->name);
	if (subj < 0)
		return;
	sn = &G.nodes[subj];
	t = sn->track >= 0 ? &G.tracks[sn->track] : NULL;
	switch (ev) {
	case OVG_SWIM_EV_SUSPECT:
		G.ev_suspect++;
		G.c_susp++;
		if (t && t->kind == TR_FAIL && !t->t_first_suspect)
			t->t_first_suspect = G.now;
		break;
	case OVG_SWIM_EV_UPDATE:
		G.ev_update++;
		break;
	case OVG_SWIM_EV_JOIN:
		G.ev_join++;
		fd_del((uint64_t)o << 32 | (uint32_t)subj);
		if (t && t->kind == TR_JOIN)
			track_learn(t, o);
		break;
	case OVG_SWIM_EV_DEAD:
	case OVG_SWIM_EV_LEFT:
		if (ev == OVG_SWIM_EV_DEAD) {
			G.ev_dead++;
			G.c_dead++;
		} else {
			G.ev_left++;
		}
		if (live(sn) && m->incarnation >= sn->start_inc) {
			/* suspicions begun across a partition may end just after the heal */
			if (!reachable2(o, (uint32_t)subj) ||
			    (G.last_heal && G.now - G.last_heal < G.susp_max_us + 2000000)) {
				G.part_marks++;
			} else {
				struct fd_ent *e = fd_find((uint64_t)o << 32 | (uint32_t)subj, true);
				if (!e->key) {
					e->key = (uint64_t)o << 32 | (uint32_t)subj;
					e->t_mark = G.now;
					G.fd_n++;
				}
				G.fp_marks++;
				if (sn->fp_inc != m->incarnation) {
					sn->fp_inc = m->incarnation;
					G.fp_declarations++;
					/* the victim was responsive all through its suspicion:
					 * a healthy node, accused by a slow one (Lifeguard's case) */
					if (!stalled(sn) && sn->stall_end_last + G.susp_max_us < G.now)
						G.fp_healthy++;
					if (O.verbose)
						printf("t=%.3f false %s: n%d inc %u (by n%u)\n",
						       rel_s(G.now), ev == OVG_SWIM_EV_DEAD ? "dead" : "left",
						       subj, m->incarnation, o);
				}
			}
		}
		if (t && (t->kind == TR_FAIL || t->kind == TR_LEAVE)) {
			if (!t->t_first_dead)
				t->t_first_dead = G.now;
			track_learn(t, o);
		}
		break;
	case OVG_SWIM_EV_REAP:
		break;
	}
}

static bool cb_user_msg(void *ctx, const uint8_t *msg, size_t len, uint64_t now)
{
	struct node *nd = ctx;

	(void)msg; (void)len; (void)now;
	(void)nd;
	return false;                /* no application messages in these scenarios */
}

/* ---- replicated state plumbing (mirrors daemon/replica.c) ------------------------- */

static void node_after(struct node *nd);
static void st_after(struct node *nd);
static void writes_check_net(struct node *nd, const uint8_t net_id[16]);
static void writes_update_all(void);

static int pick_peers(struct node *nd, uint32_t *out, int max, int32_t exclude)
{
	size_t n = ovg_swim_member_count(nd->s);
	int got = 0;

	for (int tries = 0; tries < 8 * max + 16 && got < max && n > 1; tries++) {
		struct ovg_swim_member m;
		int32_t p;
		bool dup = false;
		if (ovg_swim_member_get(nd->s, rnd_below(&nd->srng, (uint32_t)n), &m) < 0 || m.is_self)
			continue;
		if (m.state != OVG_STATE_ALIVE && m.state != OVG_STATE_SUSPECT)
			continue;
		p = node_of(&m.addr);
		if (p < 0 || p == exclude)
			continue;
		for (int j = 0; j < got; j++)
			dup |= out[j] == (uint32_t)p;
		if (!dup)
			out[got++] = (uint32_t)p;
	}
	return got;
}

static void st_send_udp(struct node *nd, uint32_t to, const uint8_t *msg, size_t len)
{
	uint8_t *buf;

	if (len + 1 > OVG_UDP_MAX)         /* daemon/replica.c send_user_udp */
		return;
	buf = malloc(len + 1);
	if (!buf)
		die("out of memory");
	buf[0] = OVG_MSG_USER;
	memcpy(buf + 1, msg, len);
	account_out(nd, len + 1 + OVG_CRYPT_OVERHEAD, 1);
	G.st_msgs++;
	G.st_bytes += len + 1;
	wire_send(idx(nd), (int32_t)to, buf, len + 1);
}

static void st_send_tcp(struct node *nd, uint32_t to, const uint8_t *msg, size_t len)
{
	struct ev *ev;
	uint8_t *buf;

	nd->tcp_bytes_out += len + 5 + OVG_CRYPT_OVERHEAD;
	G.tcp_bytes += len + 5 + OVG_CRYPT_OVERHEAD;
	G.c_tcp += len + 5 + OVG_CRYPT_OVERHEAD;
	G.tcp_msgs++;
	G.st_msgs++;
	G.st_bytes += len;
	if (!reachable2(idx(nd), to) || !G.nodes[to].up)
		return;
	buf = malloc(len);
	if (!buf)
		die("out of memory");
	memcpy(buf, msg, len);
	ev = sched(G.now + 2 * latency_us() + tcp_xfer_us(len) + tcp_loss_delay_us(2, 1), EV_ST_TCP, to);
	ev->other = idx(nd);
	ev->data = buf;
	ev->len = (uint32_t)len;
}

static void st_fanout(struct node *nd, const uint8_t *msg, size_t len, int count, int32_t exclude)
{
	uint32_t peers[STATE_EAGER_ORIGIN];
	int n = pick_peers(nd, peers, OVG_MIN(count, STATE_EAGER_ORIGIN), exclude);

	for (int i = 0; i < n; i++)
		st_send_udp(nd, peers[i], msg, len);
}

static void st_save(struct node *nd)
{
	uint8_t *buf = NULL;
	size_t len = 0;

	if (!ovg_state_needs_save(nd->st))
		return;
	if (ovg_state_save(nd->st, &buf, &len) < 0)
		die("state save failed");
	free(nd->disk_state);
	nd->disk_state = buf;
	nd->disk_state_len = len;
}

static void st_after(struct node *nd)
{
	uint8_t buf[OVG_STATE_PIECE_MAX + 64];
	char peer[OVG_STATE_NAME_MAX + 1];
	size_t len;

	if (!nd->st || !nd->up)
		return;
	st_save(nd);
	for (int i = 0; i < 4096; i++) {
		if (ovg_state_push_next(nd->st, buf, OVG_STATE_PIECE_MAX, &len) < 0 || len == 0)
			break;
		st_fanout(nd, buf, len, STATE_EAGER_ORIGIN, -1);
	}
	for (int i = 0; i < 256; i++) {
		int32_t p;
		if (ovg_state_ipam_next(nd->st, now_ms(), peer, buf, sizeof(buf), &len) < 0 || len == 0)
			break;
		p = node_of_name(peer);
		if (p >= 0)
			st_send_udp(nd, (uint32_t)p, buf, len);
	}
}

static void st_send_sync(struct node *nd, uint32_t to, const uint8_t *digest, size_t dlen)
{
	struct ovg_state_sync *sync = ovg_state_sync_new(nd->st, digest, dlen);
	static uint8_t *buf;
	size_t len = 0;

	if (!sync)
		return;
	if (!buf)
		buf = xcalloc(1, STATE_SYNC_MAX + 64);
	for (int i = 0; i < 64; i++) {
		if (ovg_state_sync_next(sync, buf, STATE_SYNC_MAX, &len) < 0 || len == 0)
			break;
		if (len <= OVG_STATE_PIECE_MAX)
			st_send_udp(nd, to, buf, len);
		else
			st_send_tcp(nd, to, buf, len);
	}
	ovg_state_sync_free(sync);
}

static void st_receive(struct node *nd, int32_t from, const uint8_t *msg, size_t len)
{
	struct ovg_state_rx rx;
	uint8_t buf[OVG_UDP_MAX];
	size_t blen;
	int rc = ovg_state_receive(nd->st, now_ms(), msg, len, &rx);

	st_after(nd);
	if (rc < 0)
		return;
	if (rx.kind == OVG_ENV_STATE_DELTA && rx.forward)
		st_fanout(nd, msg, len, STATE_EAGER_FWD, from);
	if (from < 0)
		return;
	if (rx.send_request &&
	    ovg_state_digest_encode(nd->st, OVG_ENV_STATE_REQUEST, buf, sizeof(buf) - 1, &blen) == 0)
		st_send_udp(nd, (uint32_t)from, buf, blen);
	if (rx.peer_lacks)
		st_send_sync(nd, (uint32_t)from, msg, len);
}

static void st_digest_tick(struct node *nd)
{
	static uint8_t *big;
	uint8_t buf[OVG_UDP_MAX];
	uint32_t peer;
	size_t len;

	if (nd->leaving)
		return;
	st_after(nd);
	if (pick_peers(nd, &peer, 1, -1) != 1)
		return;
	if (ovg_state_digest_encode(nd->st, OVG_ENV_STATE_DIGEST, buf, sizeof(buf) - 1, &len) == 0) {
		st_send_udp(nd, peer, buf, len);
		return;
	}
	if (!big)
		big = xcalloc(1, OVG_STREAM_MAX);
	if (ovg_state_digest_encode(nd->st, OVG_ENV_STATE_DIGEST, big, OVG_STREAM_MAX, &len) == 0)
		st_send_tcp(nd, peer, big, len);
}

static int cb_local_state(void *ctx, bool join, uint8_t **buf, size_t *len)
{
	struct node *nd = ctx;
	uint8_t *b;
	int rc;

	(void)join;
	*buf = NULL;
	*len = 0;
	if (!nd->st)
		return 0;
	b = malloc(OVG_STREAM_MAX);
	if (!b)
		return -ENOMEM;
	rc = ovg_state_digest_encode(nd->st, OVG_ENV_STATE_DIGEST, b, OVG_STREAM_MAX, len);
	if (rc < 0) {
		free(b);
		return rc;
	}
	*buf = b;
	return 0;
}

static void cb_merge_state(void *ctx, const uint8_t *buf, size_t len, bool join, uint64_t now)
{
	struct node *nd = ctx;

	(void)join; (void)now;
	if (nd->st)
		st_receive(nd, nd->pp_peer, buf, len);
}

static void cb_net_changed(void *ctx, const uint8_t net_id[16])
{
	struct node *nd = ctx;

	if (G.phase == PH_RUN)
		writes_check_net(nd, net_id);
}

static bool cb_node_alive(void *ctx, const char *name)
{
	struct node *nd = ctx;
	struct ovg_swim_member m;

	if (!nd->s)
		return true;
	if (ovg_swim_member_find(nd->s, name, &m) < 0)
		return false;
	return m.state == OVG_STATE_ALIVE || m.state == OVG_STATE_SUSPECT;
}

/* ---- node lifecycle ---------------------------------------------------------------- */

static void swim_config(struct ovg_swim_config *c)
{
	ovg_swim_config_default(c);
#define OVR(f, v) do { if ((v) >= 0) c->f = (uint32_t)(v); } while (0)
	OVR(probe_interval_ms, O.probe_interval);
	OVR(suspicion_interval_ms, O.suspicion_interval);
	if (O.probe_schedule >= 0)
		c->probe_schedule = (enum ovg_swim_schedule)O.probe_schedule;
	OVR(probe_timeout_ms, O.probe_timeout);
	OVR(gossip_interval_ms, O.gossip_interval);
	OVR(gossip_nodes, O.gossip_nodes);
	OVR(eager_fanout, O.eager_fanout);
	OVR(suspicion_mult, O.suspicion_mult);
	OVR(suspicion_max_mult, O.suspicion_max_mult);
	OVR(awareness_max, O.awareness_max);
	OVR(retransmit_mult, O.retransmit_mult);
	OVR(push_pull_interval_ms, O.push_pull_interval);
	OVR(indirect_checks, O.indirect_checks);
	OVR(gossip_to_the_dead_ms, O.gossip_to_the_dead);
#undef OVR
	if (O.no_tcp_ping)
		c->disable_tcp_pings = true;
	if (O.members_max)
		c->members_max = O.members_max;
	if (!O.lifeguard) {
		/* no Lifeguard: a fixed suspicion timeout (confirmations cannot
		 * shorten it) and no local health awareness. "off": fixed at what
		 * its maximum was; "off-min": fixed at suspicion_mult * log10(n) *
		 * probe_interval, the pre-Lifeguard SWIM/memberlist timeout. */
		if (!O.lifeguard_off_min)
			c->suspicion_mult *= c->suspicion_max_mult;
		c->suspicion_max_mult = 1;
		c->awareness_max = 1;
	}
}

static void reschedule_tick(struct node *nd)
{
	uint64_t d;
	struct ev *ev;

	if (!nd->up || nd->muted)
		return;
	d = ovg_swim_next_deadline_ms(nd->s) * 1000;
	if (d < G.now)
		d = G.now;
	if (nd->stall_until > d)
		d = nd->stall_until;
	if (d >= nd->tick_at)
		return;
	nd->tick_at = d;
	ev = sched(d, EV_TICK, idx(nd));
	ev->aux = ++nd->tick_tok;
}

static void node_after(struct node *nd)
{
	if (!nd->up || nd->muted)
		return;
	if (nd->st)
		st_after(nd);
	if (nd->leaving && ovg_swim_leave_done(nd->s) && nd->leave_deadline > G.now) {
		nd->leave_deadline = G.now;
		sched(G.now, EV_LEAVE_END, idx(nd));
	}
	reschedule_tick(nd);
}

static void node_start(uint32_t i, int32_t join_via)
{
	struct node *nd = &G.nodes[i];
	struct ovg_swim_config c;
	struct ovg_swim_io io = {
		.ctx = nd,
		.send_packet = cb_send_packet,
		.tcp_ping = cb_tcp_ping,
		.push_pull = cb_push_pull,
		.event = cb_event,
		.user_msg = cb_user_msg,
		.local_state = cb_local_state,
		.merge_state = cb_merge_state,
	};
	struct ovg_rng r = { ovg_splitmix_next, &nd->rng };

	swim_config(&c);
	c.name = G.names[i];
	c.addr = addr_of(i);
	c.meta = sim_meta;
	c.meta_len = sizeof(sim_meta);
	c.incarnation = nd->disk_inc;
	nd->gen++;
	nd->pp_peer = -1;
	nd->tick_at = UINT64_MAX;
	nd->s = ovg_swim_create(&c, &io, &r, now_ms());
	if (!nd->s)
		die("ovg_swim_create(n%u): %s", i, strerror(errno));
	G.sptr[i] = nd->s;
	G.s_bytes = (uint32_t)OVG_MIN(malloc_usable_size(nd->s), (size_t)4096);
	nd->start_inc = nd->disk_inc + 1;
	G.nlive++;
	nd->up = true;
	nd->started = true;
	nd->leaving = nd->left = false;
	nd->in_pool = false;
	nd->started_at = G.now;
	if (G.state_mode) {
		struct ovg_state_config sc = {
			.node_name = G.names[i],
			.rng = { ovg_splitmix_next, &nd->srng },
			.net_changed = cb_net_changed,
			.node_alive = cb_node_alive,
			.ctx = nd,
		};
		nd->st = ovg_state_new(&sc, now_ms(), nd->disk_state, nd->disk_state_len);
		if (!nd->st)
			die("ovg_state_new(n%u): %s", i, strerror(errno));
		if (!nd->muted)
			sched(G.now + rnd_below(&nd->srng, STATE_DIGEST_US), EV_ST_TICK, i);
	}
	if (join_via >= 0) {
		struct ovg_addr a = addr_of((uint32_t)join_via);
		ovg_swim_join(nd->s, &a, 1, now_ms());
	}
	node_after(nd);
}

static void node_kill(uint32_t i)
{
	struct node *nd = &G.nodes[i];

	if (!nd->up)
		return;
	if (!nd->leaving)
		G.nlive--;
	/* the daemon persists up to 64 alive members and joins them on restart */
	nd->npeers = 0;
	for (size_t k = 0, c = ovg_swim_member_count(nd->s); k < c && nd->npeers < 64; k++) {
		struct ovg_swim_member m;
		int32_t p;
		if (ovg_swim_member_get(nd->s, k, &m) < 0 || m.is_self || m.state != OVG_STATE_ALIVE)
			continue;
		p = node_of(&m.addr);
		if (p >= 0)
			nd->peers[nd->npeers++] = (uint32_t)p;
	}
	/* the daemon persists the incarnation after every call; the last one
	 * written is the one the instance has now (read here, not after every
	 * event: that costs a cache miss per event at 10,000 nodes) */
	nd->disk_inc = ovg_swim_incarnation(nd->s);
	ovg_swim_destroy(nd->s);
	nd->s = NULL;
	G.sptr[i] = NULL;
	ovg_state_free(nd->st);
	nd->st = NULL;
	nd->up = false;
	nd->gen++;
	nd->tick_at = UINT64_MAX;
	nd->stall_until = 0;
	nd->deferred = 0;
	fd_forget_node(i);
	if (G.state_mode && G.phase == PH_RUN)
		writes_update_all();
}

static void node_leave(uint32_t i)
{
	struct node *nd = &G.nodes[i];
	char err[256];

	if (!live(nd))
		return;
	if (nd->st)
		ovg_state_leave(nd->st, now_ms(), err, sizeof(err));
	nd->leaving = true;
	G.nlive--;
	fd_forget_node(i);
	ovg_swim_leave(nd->s, now_ms());
	nd->leave_deadline = G.now + 5000000;   /* the daemon waits at most this long */
	sched(nd->leave_deadline, EV_LEAVE_END, i);
	node_after(nd);
}

/* ---- preload bootstrap --------------------------------------------------------- */

/*
 * A muted tick during the preload: the probe ping it sends (if any) is
 * answered at once, so the node enters the run with no probe pending.
 */
static void settle_tick(struct node *nd, uint64_t t_ms)
{
	nd->settle_ping = false;
	nd->settle_want_ping = true;
	ovg_swim_tick(nd->s, t_ms);
	nd->settle_want_ping = false;
	if (nd->settle_ping) {
		struct ovg_msg m;
		uint8_t ack[32];
		size_t alen;
		struct ovg_addr from = addr_of(G.n + 1);
		memset(&m, 0, sizeof(m));
		m.type = OVG_MSG_ACK;
		m.u.ack.seq_no = nd->settle_seq;
		if (ovg_wire_encode(&m, ack, sizeof(ack), &alen) == 0)
			ovg_swim_handle_msg(nd->s, &from, ack, alen, t_ms);
	}
}

/* swim's ring order: ovg_swim_ring_key, then the name bytes, then length */
static int rec_pos_cmp(const void *pa, const void *pb)
{
	const struct ovg_push_node *a = pa, *b = pb;
	uint64_t ka = ovg_swim_ring_key((const char *)a->name.p, a->name.len);
	uint64_t kb = ovg_swim_ring_key((const char *)b->name.p, b->name.len);
	size_t n = a->name.len < b->name.len ? a->name.len : b->name.len;
	int c;

	if (ka != kb)
		return ka < kb ? -1 : 1;
	c = memcmp(a->name.p, b->name.p, n);
	if (c)
		return c;
	return a->name.len < b->name.len ? -1 : a->name.len > b->name.len;
}

static void preload(uint32_t count)
{
	uint64_t t_create = T0_US / 1000 - 62000;
	struct ovg_splitmix r = { O.seed ^ 0x5eedull };
	struct ovg_push_node *ring = NULL;

	if (!G.partial) {
		ring = xcalloc(count, sizeof(*ring));
		memcpy(ring, G.recs, count * sizeof(*ring));
		qsort(ring, count, sizeof(*ring), rec_pos_cmp);
	}
	for (uint32_t i = 0; i < count; i++) {
		struct node *nd = &G.nodes[i];
		uint64_t t1 = T0_US / 1000 - 29500 + rnd_below(&r, 28500);
		uint64_t t2 = T0_US / 1000 - 450 + rnd_below(&r, 300);
		int rc;

		G.now = t_create * 1000;
		nd->muted = true;
		node_start(i, -1);
		nd->tick_at = UINT64_MAX;
		if (G.partial) {
			/* a random view of members_max members, self included */
			static struct ovg_push_node *sub;
			static uint32_t *stamp;
			uint32_t m = O.members_max, k = 0;
			if (!sub) {
				sub = xcalloc(m, sizeof(*sub));
				stamp = xcalloc(G.n, sizeof(*stamp));
			}
			sub[k++] = G.recs[i];
			stamp[i] = i + 1;
			while (k < m && k < count) {
				uint32_t j = rnd_below(&r, count);
				if (stamp[j] == i + 1)
					continue;
				stamp[j] = i + 1;
				sub[k++] = G.recs[j];
			}
			/* in ring order, as G.recs, so the preload builds the ring in O(k) */
			qsort(sub, k, sizeof(*sub), rec_pos_cmp);
			rc = ovg_swim_preload(nd->s, sub, k, t_create);
		} else {
			rc = ovg_swim_preload(nd->s, ring, count, t_create);
		}
		if (rc < 0)
			die("ovg_swim_preload(n%u): %s", i, strerror(-rc));
		G.now = t1 * 1000;
		settle_tick(nd, t1);
		G.now = t2 * 1000;
		settle_tick(nd, t2);
		/* run the node's own timers up to the start, so that its probe and
		 * gossip phases stay its own (not all due at the start together) */
		for (int k = 0; k < 1000; k++) {
			uint64_t d = ovg_swim_next_deadline_ms(nd->s);
			if (d >= T0_US / 1000)
				break;
			G.now = d * 1000;
			settle_tick(nd, d);
		}
		if (ovg_swim_bcast_queued(nd->s) != 0)
			die("n%u: queue not settled", i);
		nd->muted = false;
		nd->started_at = 0;
		if (O.verbose && (i + 1) % 1000 == 0)
			fprintf(stderr, "preload: %u/%u nodes\n", i + 1, count);
		if (O.preload_sample && i + 1 >= O.preload_sample) {
			struct rusage ru;
			getrusage(RUSAGE_SELF, &ru);
			printf("preload_sample=%u cpu_s=%.2f max_rss_mb=%ld\n", i + 1,
			       (double)ru.ru_utime.tv_sec + (double)ru.ru_utime.tv_usec / 1e6 +
				       (double)ru.ru_stime.tv_sec + (double)ru.ru_stime.tv_usec / 1e6,
			       ru.ru_maxrss / 1024);
			exit(0);
		}
	}
	free(ring);
	G.now = T0_US;
	for (uint32_t i = 0; i < count; i++) {
		G.nodes[i].tick_at = UINT64_MAX;
		node_after(&G.nodes[i]);
		if (G.state_mode)
			sched(G.now + rnd_below(&G.nodes[i].srng, STATE_DIGEST_US), EV_ST_TICK, i);
	}
}

/* ---- state writes ------------------------------------------------------------------ */

struct pick_net {
	uint8_t ids[64][16];
	int n;
};

static int pick_net_cb(void *ctx, const struct ovg_state_net *n)
{
	struct pick_net *p = ctx;

	if (n->live && p->n < 64)
		memcpy(p->ids[p->n++], n->id, 16);
	return 0;
}

struct ep_find {
	const char *name, *node;
	bool found;
};

static int ep_find_cb(void *ctx, const struct ovg_state_ep *ep)
{
	struct ep_find *f = ctx;

	if (strcmp(ep->raw_name, f->name) == 0 && strcmp(ep->node, f->node) == 0) {
		f->found = true;
		return 1;
	}
	return 0;
}

static bool write_seen_at(struct write *w, struct node *nd)
{
	struct ovg_state_net n;

	if (w->kind == WR_NET)
		return ovg_state_net_get(nd->st, w->net_id, &n) == 0;
	{
		struct ep_find f = { w->name, G.names[w->origin], false };
		ovg_state_ep_foreach(nd->st, w->net_id, true, ep_find_cb, &f);
		return f.found;
	}
}

static void write_all_check(struct write *w)
{
	if (w->t_all || w->nseen < G.nlive)
		return;
	for (uint32_t i = 0; i < G.n; i++)
		if (live(&G.nodes[i]) && !(w->seen[i / 8] & (1u << (i % 8))))
			return;
	w->t_all = G.now;
}

static void write_mark(struct write *w, uint32_t i)
{
	if (w->seen[i / 8] & (1u << (i % 8)))
		return;
	w->seen[i / 8] |= (uint8_t)(1u << (i % 8));
	w->nseen++;
	write_all_check(w);
}

static void writes_check_net(struct node *nd, const uint8_t net_id[16])
{
	uint32_t i = idx(nd);

	for (size_t k = 0; k < G.nwrites; k++) {
		struct write *w = &G.writes[k];
		if (!w->written || (w->seen[i / 8] & (1u << (i % 8))) ||
		    memcmp(w->net_id, net_id, 16) != 0)
			continue;
		if (write_seen_at(w, nd))
			write_mark(w, i);
	}
}

static struct write *write_new(enum write_kind kind, uint32_t origin, const char *name)
{
	struct write *w;

	if (G.nwrites == G.writes_cap) {
		G.writes_cap = G.writes_cap ? G.writes_cap * 2 : 64;
		G.writes = xrealloc(G.writes, G.writes_cap * sizeof(*G.writes));
	}
	w = &G.writes[G.nwrites++];
	memset(w, 0, sizeof(*w));
	w->kind = kind;
	w->origin = origin;
	snprintf(w->name, sizeof(w->name), "%s", name);
	w->t_issue = G.now;
	w->seen = xcalloc((G.n + 7) / 8, 1);
	return w;
}

static void write_done(struct write *w, uint64_t t_issue)
{
	w->written = true;
	w->t_issue = t_issue;
	w->t_written = G.now;
	write_mark(w, w->origin);
}

static int try_attach(uint32_t i, const uint8_t net_id[16], const char *name, uint64_t t_issue)
{
	struct node *nd = &G.nodes[i];
	struct ovg_state_ep ep;
	char err[256];
	int rc = ovg_state_ep_attach(nd->st, now_ms(), net_id, name, NULL, &ep, err, sizeof(err));

	if (rc == 0) {
		struct write *w = write_new(WR_EP, i, name);
		memcpy(w->net_id, net_id, 16);
		write_done(w, t_issue);
	}
	node_after(nd);
	return rc;
}

static void do_write(void)
{
	uint32_t i, tries = 0;
	struct node *nd;
	char name[32], err[256];

	do {
		i = rnd_below(&G.scen_rng, G.n);
		nd = &G.nodes[i];
	} while (!live(nd) && ++tries < 1000);
	if (!live(nd))
		return;
	if (G.net_counter == 0 || rnd01(&G.scen_rng) < 0.2) {
		struct ovg_state_net_spec spec = { 0 };
		uint8_t id[16];
		int rc;
		/* 5% reuse an earlier name: concurrent creations must resolve */
		if (G.net_counter > 0 && rnd01(&G.scen_rng) < 0.05)
			snprintf(name, sizeof(name), "net%u", rnd_below(&G.scen_rng, G.net_counter));
		else
			snprintf(name, sizeof(name), "net%u", G.net_counter++);
		spec.name = name;
		spec.attachable = true;
		rc = ovg_state_net_create(nd->st, now_ms(), &spec, id, err, sizeof(err));
		if (rc == 0) {
			struct write *w = write_new(WR_NET, i, name);
			memcpy(w->net_id, id, 16);
			write_done(w, G.now);
		} else {
			G.wr_refused++;
		}
		node_after(nd);
	} else {
		struct pick_net p = { .n = 0 };
		int rc;
		ovg_state_net_foreach(nd->st, pick_net_cb, &p);
		if (p.n == 0) {
			G.wr_refused++;
			return;
		}
		if (G.ep_counter > 0 && rnd01(&G.scen_rng) < 0.05)
			snprintf(name, sizeof(name), "ep%u", rnd_below(&G.scen_rng, G.ep_counter));
		else
			snprintf(name, sizeof(name), "ep%u", G.ep_counter++);
		{
			uint8_t id[16];
			memcpy(id, p.ids[rnd_below(&G.scen_rng, (uint32_t)p.n)], 16);
			rc = try_attach(i, id, name, G.now);
			if (rc == -EAGAIN) {
				struct pending_attach *pa;
				G.wr_eagain++;
				if (G.npend == G.pend_cap) {
					G.pend_cap = G.pend_cap ? G.pend_cap * 2 : 64;
					G.pend = xrealloc(G.pend, G.pend_cap * sizeof(*G.pend));
				}
				pa = &G.pend[G.npend++];
				memset(pa, 0, sizeof(*pa));
				pa->node = i;
				pa->gen = nd->gen;
				memcpy(pa->net_id, id, 16);
				snprintf(pa->name, sizeof(pa->name), "%s", name);
				pa->t_issue = G.now;
				pa->deadline = G.now + 15000000;
				pa->active = true;
			} else if (rc < 0) {
				G.wr_refused++;
			}
		}
	}
}

/* The daemon's connect retries after -EAGAIN (bounded); here every 200 ms. */
static void retry_attaches(void)
{
	for (size_t k = 0; k < G.npend; k++) {
		struct pending_attach *pa = &G.pend[k];
		int rc;
		if (!pa->active)
			continue;
		if (!live(&G.nodes[pa->node]) || G.nodes[pa->node].gen != pa->gen ||
		    G.now > pa->deadline) {
			pa->active = false;
			G.wr_failed++;
			continue;
		}
		rc = try_attach(pa->node, pa->net_id, pa->name, pa->t_issue);
		if (rc != -EAGAIN) {
			pa->active = false;
			if (rc < 0)
				G.wr_refused++;
		}
	}
}

/* DESIGN.md guarantees 2 and 3 as this node sees them. */
struct inv_ctx {
	struct node *nd;
	char names[512][OVG_STATE_NET_DISPLAY_MAX + 1];
	uint32_t vnis[512];
	int nnets;
	uint8_t ids[512][16];
	bool live[512];
	char epnames[1024][OVG_STATE_EP_DISPLAY_MAX + 1];
	uint32_t ips[1024];
	int neps;
	bool bad;
	char why[256];
};

static int inv_ep_cb(void *ctx, const struct ovg_state_ep *ep)
{
	struct inv_ctx *c = ctx;

	if (!ep->live)
		return 0;
	for (int k = 0; k < c->neps; k++) {
		if (c->ips[k] == ep->ip || strcmp(c->epnames[k], ep->name) == 0) {
			c->bad = true;
			snprintf(c->why, sizeof(c->why), "two live endpoints share %s: %s and %s",
				 c->ips[k] == ep->ip ? "an address" : "a name", c->epnames[k], ep->name);
			return 1;
		}
	}
	if (c->neps < 1024) {
		c->ips[c->neps] = ep->ip;
		snprintf(c->epnames[c->neps++], sizeof(c->epnames[0]), "%s", ep->name);
	}
	return 0;
}

static int inv_net_cb(void *ctx, const struct ovg_state_net *n)
{
	struct inv_ctx *c = ctx;

	for (int k = 0; k < c->nnets; k++) {
		if (strcmp(c->names[k], n->name) == 0) {
			c->bad = true;
			snprintf(c->why, sizeof(c->why), "two networks named %s", n->name);
			return 1;
		}
		if (n->live && c->live[k] && c->vnis[k] == n->vni) {
			c->bad = true;
			snprintf(c->why, sizeof(c->why), "two live networks with VNI %u", n->vni);
			return 1;
		}
	}
	if (c->nnets < 512) {
		snprintf(c->names[c->nnets], sizeof(c->names[0]), "%s", n->name);
		c->vnis[c->nnets] = n->vni;
		c->live[c->nnets] = n->live;
		memcpy(c->ids[c->nnets++], n->id, 16);
	}
	return 0;
}

static void check_state_invariants(struct node *nd)
{
	static struct inv_ctx c;

	memset(&c, 0, sizeof(c));
	c.nd = nd;
	ovg_state_net_foreach(nd->st, inv_net_cb, &c);
	for (int k = 0; k < c.nnets && !c.bad; k++) {
		c.neps = 0;
		ovg_state_ep_foreach(nd->st, c.ids[k], false, inv_ep_cb, &c);
	}
	if (c.bad)
		violation("state invariant at n%u: %s", idx(nd), c.why);
}

/* ---- checks ------------------------------------------------------------------------ */

static void violation(const char *fmt, ...)
{
	va_list ap;

	G.violations++;
	if (G.violations > 20)
		return;
	printf("VIOLATION t=%.3f: ", rel_s(G.now));
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	printf("\n");
}

static void check_false_dead(void)
{
	uint64_t bound = (uint64_t)(O.dead_bound_s * 1e6);

	for (size_t j = 0; j < G.fd_cap && G.fd_n; j++) {
		struct fd_ent *e = &G.fd[j];
		uint32_t o, s;
		uint64_t since;
		if (!e->key)
			continue;
		o = (uint32_t)(e->key >> 32);
		s = (uint32_t)e->key;
		if (!live(&G.nodes[o]) || !live(&G.nodes[s]) || !reachable2(o, s))
			continue;
		since = OVG_MAX(e->t_mark, G.last_heal);
		since = OVG_MAX(since, G.nodes[s].stall_end_last);
		since = OVG_MAX(since, G.nodes[o].stall_end_last);
		if (G.now > since + bound) {
			violation("live n%u is still marked dead at n%u %.1f s after it was (bound %.0f s)",
				  s, o, (double)(G.now - e->t_mark) / 1e6, O.dead_bound_s);
			e->t_mark = G.now;   /* report each pair once per bound */
		}
	}
}

/* Every live node sees exactly the live nodes alive (nothing suspect) and no
 * started-and-gone node alive. full: also scan for suspects (O(n^2)). */
static bool converged_partial(char *why, size_t whylen)
{
	for (uint32_t i = 0; i < G.n; i++) {
		struct node *nd = &G.nodes[i];
		if (!live(nd))
			continue;
		for (size_t k = 0, c = ovg_swim_member_count(nd->s); k < c; k++) {
			struct ovg_swim_member m;
			int32_t j;
			bool up;
			if (ovg_swim_member_get(nd->s, k, &m) < 0 || m.is_self)
				continue;
			j = node_of_name(m.name);
			if (j < 0)
				continue;
			up = live(&G.nodes[j]);
			if (up != (m.state == OVG_STATE_ALIVE) ||
			    (!up && m.state == OVG_STATE_SUSPECT)) {
				snprintf(why, whylen, "n%u sees %s %s as state %d", i,
					 up ? "live" : "gone", m.name, m.state);
				return false;
			}
		}
	}
	return true;
}

static bool converged(bool full, char *why, size_t whylen)
{
	uint32_t L = 0, *down = NULL, nd_down = 0;
	bool ok = true;

	if (G.partial)
		return full ? converged_partial(why, whylen) : true;

	for (uint32_t i = 0; i < G.n; i++)
		if (live(&G.nodes[i]))
			L++;
	for (uint32_t i = 0; i < G.n && ok; i++) {
		struct node *nd = &G.nodes[i];
		size_t a;
		if (!live(nd))
			continue;
		a = ovg_swim_num_alive(nd->s);
		if (a != L) {
			snprintf(why, whylen, "n%u sees %zu alive, %u are live", i, a, L);
			ok = false;
		}
	}
	if (!ok)
		return false;
	down = xcalloc(G.n, sizeof(*down));
	for (uint32_t i = 0; i < G.n; i++)
		if (G.nodes[i].started && !live(&G.nodes[i]))
			down[nd_down++] = i;
	for (uint32_t i = 0; i < G.n && ok; i++) {
		struct node *nd = &G.nodes[i];
		if (!live(nd))
			continue;
		for (uint32_t k = 0; k < nd_down && ok; k++) {
			struct ovg_swim_member m;
			if (ovg_swim_member_find(nd->s, G.names[down[k]], &m) == 0 &&
			    (m.state == OVG_STATE_ALIVE || m.state == OVG_STATE_SUSPECT)) {
				snprintf(why, whylen, "n%u sees gone n%u as %s", i, down[k],
					 m.state == OVG_STATE_ALIVE ? "alive" : "suspect");
				ok = false;
			}
		}
		if (!full)
			continue;
		for (size_t k = 0, c = ovg_swim_member_count(nd->s); k < c && ok; k++) {
			struct ovg_swim_member m;
			if (ovg_swim_member_get(nd->s, k, &m) == 0 && m.state == OVG_STATE_SUSPECT) {
				snprintf(why, whylen, "n%u still suspects %s", i, m.name);
				ok = false;
			}
		}
	}
	free(down);
	return ok;
}

/* ---- scenarios ---------------------------------------------------------------------- */

enum scen_action {
	SC_KILL, SC_RESTART, SC_PARTITION, SC_HEAL, SC_CHURN, SC_JOIN, SC_WRITE, SC_RETRY,
	SC_STATE_KILL, SC_STATE_RESTART,
};

static struct ev *sched_action(uint64_t at, enum scen_action a, uint32_t arg)
{
	struct ev *ev = sched(at, EV_SCEN, 0);

	ev->other = (uint32_t)a;
	ev->aux = arg;
	return ev;
}

static int32_t random_live(int32_t not)
{
	for (int tries = 0; tries < 100000; tries++) {
		uint32_t i = rnd_below(&G.scen_rng, G.n);
		if (live(&G.nodes[i]) && (int32_t)i != not)
			return (int32_t)i;
	}
	return -1;
}

static void act_kill(uint32_t i)
{
	if (!live(&G.nodes[i]))
		return;
	track_new(TR_FAIL, i);
	node_kill(i);
}

/* A restart joins the saved peers (as the daemon does); a new node joins one
 * random live member (its --join; the daemon does not retry a failed join). */
static void act_start(uint32_t i)
{
	struct node *nd = &G.nodes[i];
	int32_t via;

	if (nd->up)
		return;
	track_new(TR_JOIN, i);
	if (nd->npeers == 0) {
		via = random_live((int32_t)i);
		node_start(i, via);
		return;
	}
	node_start(i, -1);
	{
		struct ovg_addr a[64];
		for (uint32_t k = 0; k < nd->npeers; k++)
			a[k] = addr_of(nd->peers[k]);
		ovg_swim_join(nd->s, a, nd->npeers, now_ms());
		node_after(nd);
	}
}

static void churn_step(void)
{
	double r = rnd01(&G.scen_rng);
	uint32_t L = 0, dead = 0, pool = 0;
	int32_t i;

	for (uint32_t k = 0; k < G.n; k++) {
		L += live(&G.nodes[k]);
		dead += G.nodes[k].started && !G.nodes[k].up;
		pool += !G.nodes[k].started;
	}
	if (r < 0.30 && L > G.n / 2) {
		i = random_live(-1);
		if (i >= 0)
			act_kill((uint32_t)i);
	} else if (r < 0.55 && dead > 0) {
		for (int tries = 0; tries < 100000; tries++) {
			uint32_t k = rnd_below(&G.scen_rng, G.n);
			if (G.nodes[k].started && !G.nodes[k].up) {
				act_start(k);
				break;
			}
		}
	} else if (r < 0.75 && L > G.n / 2) {
		i = random_live(-1);
		if (i >= 0) {
			track_new(TR_LEAVE, (uint32_t)i);
			node_leave((uint32_t)i);
		}
	} else if (pool > 0) {
		for (uint32_t k = 0; k < G.n; k++)
			if (!G.nodes[k].started) {
				act_start(k);
				break;
			}
	}
}

static void do_action(struct ev *ev)
{
	uint32_t a = ev->other, arg = ev->aux;

	switch ((enum scen_action)a) {
	case SC_KILL:
		act_kill(arg);
		break;
	case SC_RESTART:
		act_start(arg);
		break;
	case SC_PARTITION:
		G.block[0][1] = true;
		if (!O.part_asym)
			G.block[1][0] = true;
		G.partitioned = true;
		break;
	case SC_HEAL:
		memset(G.block, 0, sizeof(G.block));
		G.partitioned = false;
		G.last_heal = G.now;
		G.t_heal = G.now;
		G.heal_pending = true;
		break;
	case SC_CHURN:
		if (G.now < G.churn_stop) {
			churn_step();
			sched_action(G.now + (uint64_t)(rnd_exp(&G.scen_rng, 1e6 / O.churn_rate)),
				     SC_CHURN, 0);
		}
		break;
	case SC_JOIN:
		act_start(arg);
		break;
	case SC_WRITE:
		do_write();
		break;
	case SC_RETRY:
		retry_attaches();
		if (G.now + 200000 < G.end)
			sched_action(G.now + 200000, SC_RETRY, 0);
		break;
	case SC_STATE_KILL:
		act_kill(arg);
		break;
	case SC_STATE_RESTART:
		act_start(arg);
		break;
	}
}

/* ---- event dispatch ------------------------------------------------------------------ */

/* A stalled node's input waits for the stall to end (bounded like a socket
 * buffer); returns true if the event was deferred or dropped. */
static bool defer_if_stalled(struct node *nd, uint32_t e, struct ev *ev)
{
	if (!stalled(nd)) {
		if (ev->deferred) {
			ev->deferred = 0;
			nd->deferred--;
		}
		return false;
	}
	if (!ev->deferred) {
		if (ev->kind == EV_PKT && nd->deferred >= O.rcvbuf_pkts) {
			G.pkts_overflow++;
			free(ev->data);
			ev->data = NULL;
			G.ev_free[G.ev_nfree++] = e;
			return true;
		}
		ev->deferred = 1;
		nd->deferred++;
	}
	G.evs[e] = *ev;
	resched(e, nd->stall_until);
	return true;
}

static void deliver_pkt(struct node *nd, struct ev *ev)
{
	static uint8_t scratch[OVG_UDP_RECV_MAX * 2];
	struct ovg_frame_scratch sc = { scratch, sizeof(scratch) };
	struct ovg_bytes msgs[OVG_PACKET_MSGS_MAX];
	struct ovg_addr from = addr_of(ev->other);
	size_t n = 0, k = 0;
	int rc = ovg_packet_open(NULL, ev->data, ev->len, &sc, msgs, OVG_PACKET_MSGS_MAX, &n);

	nd->pkts_in++;
	if (rc < 0 && n == 0)
		die("n%u: packet from n%u does not open: %d", idx(nd), ev->other, rc);
	if (nd->st) {
		for (size_t i = 0; i < n; i++) {
			if (msgs[i].len > 1 && msgs[i].p[0] == OVG_MSG_USER &&
			    msgs[i].p[1] == OVG_ENV_MAGIC)
				st_receive(nd, (int32_t)ev->other, msgs[i].p + 1, msgs[i].len - 1);
			else
				msgs[k++] = msgs[i];
		}
		n = k;
	}
	if (n > 0 && nd->up)
		ovg_swim_handle_msgs(nd->s, &from, msgs, n, now_ms());
	node_after(nd);
}

static void pp_dial(struct node *nd, struct ev *ev)
{
	uint8_t *req = NULL;
	size_t len = 0;
	struct ev *e2;
	uint32_t dst = ev->other;

	if (!reachable2(idx(nd), dst) || !G.nodes[dst].up)
		return;                      /* connect fails */
	if (ovg_swim_push_pull_build(nd->s, ev->join, &req, &len) < 0)
		return;
	nd->tcp_bytes_out += len + 5 + OVG_CRYPT_OVERHEAD;
	G.tcp_bytes += len + 5 + OVG_CRYPT_OVERHEAD;
	G.c_tcp += len + 5 + OVG_CRYPT_OVERHEAD;
	G.tcp_msgs++;
	e2 = sched(G.now + tcp_xfer_us(len) + tcp_loss_delay_us(0, 1), EV_PP_REQ, dst);
	e2->other = idx(nd);
	e2->aux = nd->gen;
	e2->data = req;
	e2->len = (uint32_t)len;
	e2->join = ev->join;
	node_after(nd);
}

static void pp_req(struct node *nd, struct ev *ev)
{
	uint8_t *rep = NULL;
	size_t len = 0;
	bool join = false;
	struct ev *e2;
	uint32_t dialer = ev->other;

	if (!reachable2(idx(nd), dialer))
		return;
	if (ovg_swim_push_pull_build(nd->s, ev->join, &rep, &len) < 0)
		return;
	nd->pp_peer = -1;              /* the listener does not answer digests */
	ovg_swim_push_pull_merge(nd->s, ev->data, ev->len, now_ms(), &join);
	nd->tcp_bytes_out += len + 5 + OVG_CRYPT_OVERHEAD;
	G.tcp_bytes += len + 5 + OVG_CRYPT_OVERHEAD;
	G.c_tcp += len + 5 + OVG_CRYPT_OVERHEAD;
	G.tcp_msgs++;
	node_after(nd);
	if (!G.nodes[dialer].up || G.nodes[dialer].gen != ev->aux) {
		free(rep);
		return;
	}
	e2 = sched(G.now + tcp_xfer_us(len) + tcp_loss_delay_us(0, 1), EV_PP_REPLY, dialer);
	e2->other = idx(nd);
	e2->gen = ev->aux;
	e2->data = rep;
	e2->len = (uint32_t)len;
}

static void pp_reply(struct node *nd, struct ev *ev)
{
	bool join = false;

	nd->pp_peer = (int32_t)ev->other;
	ovg_swim_push_pull_merge(nd->s, ev->data, ev->len, now_ms(), &join);
	nd->pp_peer = -1;
	node_after(nd);
}

static void sample_row(void)
{
	uint32_t L = 0, st = 0;
	uint64_t learned = 0, expect = 0;

	for (uint32_t i = 0; i < G.n; i++) {
		L += live(&G.nodes[i]);
		st += stalled(&G.nodes[i]);
	}
	for (size_t k = 0; k < G.ntracks; k++) {
		if (G.tracks[k].closed)
			continue;
		learned += G.tracks[k].nlearned;
		expect += L > 0 ? L - (G.tracks[k].kind == TR_JOIN) : 0;
	}
	if (G.csv)
		fprintf(G.csv, "%.3f,%" PRIu64 ",%" PRIu64 ",%" PRIu64 ",%" PRIu64 ",%u,%u,%zu,%" PRIu64
			",%" PRIu64 ",%.6f\n",
			rel_s(G.now), G.c_pkts, G.c_bytes, G.c_msgs, G.c_tcp, L, st, G.fd_n, G.c_susp,
			G.c_dead, expect ? (double)learned / (double)expect : 0.0);
	G.c_pkts = G.c_bytes = G.c_msgs = G.c_tcp = G.c_susp = G.c_dead = 0;
}

/* The next event's node is cold (at 10,000 nodes its swim instance was last
 * touched ~10,000 events ago): start fetching it, its struct node and the
 * event while this event runs. Nothing here waits for memory: the heap
 * entry names the node, G.sptr is small enough to stay in cache. */
static void prefetch_event(const struct hent *h)
{
	const char *p = (const char *)G.sptr[h->node];

	__builtin_prefetch(&G.evs[h->ev]);
	for (uint32_t off = 0; off < sizeof(struct node); off += 64)
		__builtin_prefetch((const char *)&G.nodes[h->node] + off);
	if (!p)
		return;
	for (uint32_t off = 0; off < G.s_bytes; off += 64)
		__builtin_prefetch(p + off);
}

static void dispatch(uint32_t e)
{
	struct ev cur = G.evs[e];
	struct ev *ev = &cur;
	struct node *nd = &G.nodes[ev->node];

	switch ((enum ev_kind)ev->kind) {
	case EV_TICK:
		if (!nd->up || ev->gen != nd->gen || ev->aux != nd->tick_tok)
			break;
		if (stalled(nd)) {
			resched(e, nd->stall_until);
			nd->tick_at = nd->stall_until;
			return;
		}
		nd->tick_at = UINT64_MAX;
		ovg_swim_tick(nd->s, now_ms());
		node_after(nd);
		break;
	case EV_PKT:
		if (!nd->up || ev->gen != nd->gen) {
			G.pkts_to_down++;
			if (ev->deferred)
				ev->deferred = 0;
			break;
		}
		if (defer_if_stalled(nd, e, ev))
			return;
		deliver_pkt(nd, ev);
		break;
	case EV_TCPPING_REQ:
		if (!nd->up || ev->gen != nd->gen)
			break;
		if (defer_if_stalled(nd, e, ev))
			return;
		if (reachable2(ev->node, ev->other) && G.nodes[ev->other].up &&
		    G.nodes[ev->other].gen == ev->len) {
			struct ev *r = sched(G.now + latency_us() + tcp_loss_delay_us(0, 1),
					     EV_TCPPING_RES, ev->other);
			r->aux = ev->aux;
			r->gen = ev->len;
		}
		break;
	case EV_TCPPING_RES:
		if (!nd->up || ev->gen != nd->gen)
			break;
		if (defer_if_stalled(nd, e, ev))
			return;
		ovg_swim_tcp_ping_result(nd->s, ev->aux, true, now_ms());
		node_after(nd);
		break;
	case EV_PP_DIAL:
		if (!nd->up || ev->gen != nd->gen)
			break;
		if (defer_if_stalled(nd, e, ev))
			return;
		pp_dial(nd, ev);
		break;
	case EV_PP_REQ:
		if (!nd->up || ev->gen != nd->gen)
			break;
		if (defer_if_stalled(nd, e, ev))
			return;
		pp_req(nd, ev);
		break;
	case EV_PP_REPLY:
		if (!nd->up || ev->gen != nd->gen)
			break;
		if (defer_if_stalled(nd, e, ev))
			return;
		pp_reply(nd, ev);
		break;
	case EV_ST_TICK:
		if (!nd->up || ev->gen != nd->gen)
			break;
		if (defer_if_stalled(nd, e, ev))
			return;
		st_digest_tick(nd);
		node_after(nd);
		sched(G.now + STATE_DIGEST_US, EV_ST_TICK, ev->node);
		break;
	case EV_ST_TCP:
		if (!nd->up || ev->gen != nd->gen || !nd->st)
			break;
		if (defer_if_stalled(nd, e, ev))
			return;
		/* the daemon hands TCP state messages over with no sender (from =
		 * NULL), so a digest that came by TCP is never answered;
		 * --state-tcp-reply models answering it at the sender's address */
		st_receive(nd, O.state_tcp_reply ? (int32_t)ev->other : -1, ev->data, ev->len);
		node_after(nd);
		break;
	case EV_SCEN:
		do_action(ev);
		break;
	case EV_STALL:
		if (!nd->up || ev->gen != nd->gen) {
			/* down or restarted since: a flaky host stays flaky */
			if (G.now + (uint64_t)(O.quiet_s * 1e6) <= G.end)
				sched(G.now + (uint64_t)(rnd_exp(&G.scen_rng, O.stall_gap_ms) * 1000),
				      EV_STALL, ev->node);
			break;
		}
		{
			double d = O.stall_ms * (0.5 + rnd01(&G.scen_rng));
			uint64_t until = G.now + (uint64_t)(d * 1000);
			if (G.now + (uint64_t)(O.quiet_s * 1e6) > G.end)
				break;          /* the quiet tail has no stalls */
			G.stalls++;
			nd->stall_until = until;
			nd->stall_end_last = until;
			nd->tick_at = UINT64_MAX;
			reschedule_tick(nd);
			sched(until + (uint64_t)(rnd_exp(&G.scen_rng, O.stall_gap_ms) * 1000), EV_STALL,
			      ev->node);
		}
		break;
	case EV_SAMPLE:
		sample_row();
		if (G.now + O.csv_step_ms * 1000ull <= G.end)
			sched(G.now + O.csv_step_ms * 1000ull, EV_SAMPLE, 0);
		break;
	case EV_CHECK: {
		char why[256];
		check_false_dead();
		if (G.heal_pending && !G.partitioned && converged(false, why, sizeof(why)) &&
		    converged(true, why, sizeof(why))) {
			G.heal_pending = false;
			G.t_healed = G.now;
			if (O.verbose)
				printf("t=%.3f healed after %.3f s\n", rel_s(G.now),
				       (double)(G.now - G.t_heal) / 1e6);
		}
		if (G.state_mode && ++G.checks % 20 == 0) {   /* every 5 s */
			for (uint32_t i = 0; i < G.n; i++)
				if (live(&G.nodes[i]))
					check_state_invariants(&G.nodes[i]);
		}
		if (G.now + 250000 <= G.end)
			sched(G.now + 250000, EV_CHECK, 0);
		break;
	}
	case EV_RECONNECT:
		/* serf-style reconnect: a join (push-pull) to one random failed member */
		for (uint32_t i = 0; i < G.n; i++) {
			struct node *x = &G.nodes[i];
			size_t c;
			if (!live(x) || stalled(x))
				continue;
			c = ovg_swim_member_count(x->s);
			for (int tries = 0; tries < 16 && c > 1; tries++) {
				struct ovg_swim_member m;
				if (ovg_swim_member_get(x->s, rnd_below(&x->srng, (uint32_t)c), &m) == 0 &&
				    m.state == OVG_STATE_DEAD) {
					struct ovg_addr a = m.addr;
					ovg_swim_join(x->s, &a, 1, now_ms());
					node_after(x);
					break;
				}
			}
		}
		if (G.now + (uint64_t)(O.reconnect_s * 1e6) <= G.end)
			sched(G.now + (uint64_t)(O.reconnect_s * 1e6), EV_RECONNECT, 0);
		break;
	case EV_LEAVE_END:
		if (!nd->up || ev->gen != nd->gen || !nd->leaving || G.now < nd->leave_deadline)
			break;
		node_kill(ev->node);
		nd->left = true;
		break;
	}
	free(ev->data);
	G.ev_free[G.ev_nfree++] = e;
}

/* ---- results -------------------------------------------------------------------------- */

static int cmp_u32(const void *a, const void *b)
{
	uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;

	return x < y ? -1 : x > y;
}

static uint32_t pct(const uint32_t *v, size_t n, double p)
{
	size_t k;

	if (!n)
		return 0;
	k = (size_t)ceil(p * (double)n) - 1;
	if (k >= n)
		k = n - 1;
	return v[k];
}

struct dist {
	uint32_t *v;
	size_t n, cap;
};

static void dist_add(struct dist *d, uint32_t x)
{
	if (d->n == d->cap) {
		d->cap = d->cap ? d->cap * 2 : 1024;
		d->v = xrealloc(d->v, d->cap * sizeof(uint32_t));
	}
	d->v[d->n++] = x;
}

static void dist_print(const char *name, struct dist *d)
{
	qsort(d->v, d->n, sizeof(uint32_t), cmp_u32);
	printf("%s_n=%zu %s_p50_ms=%u %s_p99_ms=%u %s_max_ms=%u\n", name, d->n, name,
	       pct(d->v, d->n, 0.5), name, pct(d->v, d->n, 0.99), name, d->n ? d->v[d->n - 1] : 0);
}

static bool results(void)
{
	static const char *kn[] = { "fail", "join", "leave" };
	struct dist obs[3] = { 0 }, all[3] = { 0 }, firstsus = { 0 }, spread = { 0 }, spread9999 = { 0 };
	uint64_t missed[3] = { 0 };
	double secs = (double)(G.end - T0_US) / 1e6;
	uint64_t live_end = 0;
	bool ok = true;
	FILE *cdf = O.cdf ? fopen(O.cdf, "w") : NULL;

	for (uint32_t i = 0; i < G.n; i++)
		live_end += live(&G.nodes[i]);
	for (size_t k = 0; k < G.ntracks; k++) {
		struct track *t = &G.tracks[k];
		uint32_t worst = 0, nmiss = 0;
		struct dist one = { 0 };
		bool ended = false;
		/* misses count only if the run went on long enough after it, and
		 * a later event about the same subject ends this one */
		ended = t->closed || G.end - t->t0 < (uint64_t)(O.quiet_s * 1e6);
		for (uint32_t o = 0; o < G.n; o++) {
			struct node *nd = &G.nodes[o];
			if (o == t->subject || !live(nd) || nd->started_at > t->t0)
				continue;
			/* a gone subject this observer does not know (partial view, or it
			 * only ever heard of it as dead/left) is as good as learned */
			if (!t->learned_ms[o] && (G.partial || t->kind != TR_JOIN) &&
			    ovg_swim_member_find(nd->s, G.names[t->subject], NULL) < 0)
				continue;
			if (!t->learned_ms[o] && O.verbose) {
				struct ovg_swim_member m;
				int rc = ovg_swim_member_find(nd->s, G.names[t->subject], &m);
				printf("missed: n%u about n%u (%s at %.3f): %s state %d inc %u since %.3f\n", o,
				       t->subject, kn[t->kind], rel_s(t->t0), rc ? "unknown" : "known",
				       rc ? -1 : (int)m.state, rc ? 0 : m.incarnation,
				       rc ? 0.0 : rel_s(m.state_change_ms * 1000));
			}
			if (!t->learned_ms[o]) {
				struct ovg_swim_member m;
				/* a restart before this observer saw the death: alive -> alive at a
				 * newer incarnation raises no event */
				if (t->kind == TR_JOIN && live(&G.nodes[t->subject]) &&
				    ovg_swim_member_find(nd->s, G.names[t->subject], &m) == 0 &&
				    m.state == OVG_STATE_ALIVE && m.incarnation >= G.nodes[t->subject].start_inc)
					continue;
				nmiss++;
				continue;
			}
			dist_add(&obs[t->kind], t->learned_ms[o] - 1);
			dist_add(&one, t->learned_ms[o] - 1);
			worst = OVG_MAX(worst, t->learned_ms[o] - 1);
		}
		if (nmiss && !ended) {
			missed[t->kind] += nmiss;
			ok = false;
			if (missed[t->kind] == nmiss)
				violation("%s of n%u at t=%.3f: %u live nodes never learned it", kn[t->kind],
					  t->subject, rel_s(t->t0), nmiss);
		}
		if (!nmiss && one.n)
			dist_add(&all[t->kind], worst);
		if (t->kind == TR_FAIL && t->t_first_suspect)
			dist_add(&firstsus, (uint32_t)((t->t_first_suspect - t->t0) / 1000));
		if (t->kind == TR_FAIL && t->t_first_dead && one.n) {
			uint32_t base = (uint32_t)((t->t_first_dead - t->t0) / 1000);
			qsort(one.v, one.n, sizeof(uint32_t), cmp_u32);
			dist_add(&spread, one.v[one.n - 1] - base);
			dist_add(&spread9999, pct(one.v, one.n, 0.9999) - base);
		}
		free(one.v);
	}
	printf("RESULT scenario=%s nodes=%u seed=%" PRIu64 " simulated_s=%.1f live_at_end=%" PRIu64 "\n",
	       O.scenario, G.n, O.seed, secs, live_end);
	for (int k = 0; k < 3; k++) {
		char nm[32];
		if (!obs[k].n && !missed[k])
			continue;
		snprintf(nm, sizeof(nm), "%s_observer", kn[k]);
		dist_print(nm, &obs[k]);
		snprintf(nm, sizeof(nm), "%s_all", kn[k]);
		dist_print(nm, &all[k]);
		printf("%s_missed=%" PRIu64 "\n", kn[k], missed[k]);
	}
	if (firstsus.n) {
		struct ovg_swim_config c;
		swim_config(&c);
		dist_print("first_suspect", &firstsus);
		{
			double mean = 0;
			for (size_t i = 0; i < firstsus.n; i++)
				mean += firstsus.v[i];
			mean /= (double)firstsus.n;
			printf("first_suspect_mean_ms=%.0f first_suspect_mean_periods=%.3f\n", mean,
			       mean / c.probe_interval_ms);
		}
	}
	if (spread.n) {
		dist_print("dissemination_all", &spread);
		dist_print("dissemination_9999", &spread9999);
	}
	if (cdf) {
		for (int k = 0; k < 3; k++) {
			if (!obs[k].n)
				continue;
			for (size_t i = 0; i < obs[k].n; i++)
				if (i + 1 == obs[k].n || obs[k].v[i + 1] != obs[k].v[i])
					fprintf(cdf, "%s,%u,%.6f\n", kn[k], obs[k].v[i],
						(double)(i + 1) / (double)obs[k].n);
		}
		fclose(cdf);
	}
	printf("false_positives_healthy=%" PRIu64 " ", G.fp_healthy);
	printf("false_positive_declarations=%" PRIu64 " false_dead_marks=%" PRIu64
	       " false_dead_pairs_open=%zu partition_dead_marks=%" PRIu64 " suspect_events=%" PRIu64
	       " dead_events=%" PRIu64 " stalls=%" PRIu64 "\n",
	       G.fp_declarations, G.fp_marks, G.fd_n, G.part_marks, G.ev_suspect, G.ev_dead, G.stalls);
	{
		double nps = (double)G.n * secs;
		uint64_t pn = 0;
		for (uint32_t i = 0; i < G.n; i++)
			pn += G.nodes[i].started;
		nps = (double)pn * secs;
		printf("udp_pkts_per_node_s=%.2f udp_msgs_per_node_s=%.2f udp_bytes_per_node_s=%.0f "
		       "tcp_bytes_per_node_s=%.0f lost=%" PRIu64 " blocked=%" PRIu64 " to_down=%" PRIu64
		       " rcvbuf_overflow=%" PRIu64 "\n",
		       G.pkts / nps, G.msgs / nps, G.bytes / nps, G.tcp_bytes / nps, G.pkts_lost,
		       G.pkts_blocked, G.pkts_to_down, G.pkts_overflow);
	}
	if (G.t_heal) {
		if (G.t_healed)
			printf("heal_s=%.3f\n", (double)(G.t_healed - G.t_heal) / 1e6);
		else
			printf("heal_s=never\n");
	}
	if (G.state_mode) {
		struct dist wa = { 0 }, wo = { 0 };
		uint64_t unseen = 0;
		for (size_t k = 0; k < G.nwrites; k++) {
			struct write *w = &G.writes[k];
			uint32_t need = 0, have = 0;
			for (uint32_t i = 0; i < G.n; i++) {
				if (!live(&G.nodes[i]))
					continue;
				need++;
				if (w->seen[i / 8] & (1u << (i % 8)))
					have++;
			}
			dist_add(&wo, (uint32_t)((w->t_written - w->t_issue) / 1000));
			if (have == need && w->t_all)
				dist_add(&wa, (uint32_t)((w->t_all - w->t_written) / 1000));
			else if (have < need)
				unseen++;
		}
		printf("writes=%zu refused=%" PRIu64 " eagain=%" PRIu64 " attach_failed=%" PRIu64
		       " state_msgs=%" PRIu64 " state_bytes=%" PRIu64 "\n",
		       G.nwrites, G.wr_refused, G.wr_eagain, G.wr_failed, G.st_msgs, G.st_bytes);
		dist_print("write_at_origin", &wo);
		dist_print("write_everywhere", &wa);
		printf("write_unseen=%" PRIu64 "\n", unseen);
		free(wa.v);
		free(wo.v);
	}
	for (int k = 0; k < 3; k++) {
		free(obs[k].v);
		free(all[k].v);
	}
	free(firstsus.v);
	free(spread.v);
	free(spread9999.v);
	return ok;
}

/* ---- setup ---------------------------------------------------------------------------- */

static void usage(void)
{
	printf(
"usage: swimsim [options]\n"
"  --seed N                 (default 1)\n"
"  --scenario S             join fail1 fail10pct partition churn statewrites steady\n"
"  --nodes N                node addresses (default 100)\n"
"  --duration S             simulated seconds after the start (default per scenario)\n"
"  --settle S               seconds before the scenario acts (default 5)\n"
"  --quiet S                quiet tail: no loss, no stalls, then liveness (default 40)\n"
"  --bootstrap preload|join (default preload, join for --scenario join with N <= 64)\n"
"  --loss P                 datagram loss probability (0..1)\n"
"  --lat-base-us U --lat-jitter-us U --lat-sigma S --lat-uniform\n"
"  --bandwidth-mbit M       TCP transfer rate (default 1000)\n"
"  --probe-schedule paired|shuffled  (default paired; shuffled = memberlist's)\n"
"  --probe-interval MS --probe-timeout MS --suspicion-interval MS (0 = probe interval)\n"
"  --gossip-interval MS --gossip-nodes K\n"
"  --eager-fanout K --suspicion-mult K --suspicion-max-mult K --awareness-max K\n"
"  --retransmit-mult K --push-pull-interval MS --indirect-checks K --no-tcp-ping\n"
"  --gossip-to-the-dead MS --members-max N\n"
"  --lifeguard on|off|off-min  off: suspicion fixed at its max, no awareness;\n"
"                           off-min: fixed at its min (pre-Lifeguard SWIM)\n"
"  --join-count J --join-window S --join-stagger-ms MS\n"
"  --fail-frac F            fail10pct: fraction failing at once (0.1)\n"
"  --restart-after S        fail1/fail10pct: restart the victims after S\n"
"  --part-frac F --part-s S --part-asym\n"
"  --churn-rate R           churn events per second (kill/restart/leave/join)\n"
"  --stall-frac F --stall-ms MS --stall-gap-ms MS --rcvbuf-pkts N\n"
"  --writes N --write-window S --state-kill-frac F\n"
"  --state-tcp-reply        answer state digests that came by TCP (the daemon does not)\n"
"  --reconnect-s S          every S, each node push-pulls with one member it holds dead\n"
"                           (serf's reconnect; the daemon has none)\n"
"  --dead-bound S           safety bound for a live node marked dead (60)\n"
"  --csv FILE --csv-step-ms MS --cdf FILE --track-max N --no-crc --verbose\n");
}

static double num(const char *s, const char *opt)
{
	char *end;
	double v = strtod(s, &end);

	if (!*s || *end)
		die("%s: not a number: '%s'", opt, s);
	return v;
}

static void parse(int argc, char **argv)
{
	for (int i = 1; i < argc; i++) {
		const char *a = argv[i];
		const char *v = i + 1 < argc ? argv[i + 1] : NULL;
#define ARG(name) (strcmp(a, name) == 0 && (v || (die("%s needs a value", name), 0)) && ++i)
		if (strcmp(a, "-h") == 0 || strcmp(a, "--help") == 0) {
			usage();
			exit(0);
		} else if (ARG("--seed")) {
			O.seed = strtoull(v, NULL, 0);
		} else if (ARG("--scenario")) {
			O.scenario = v;
		} else if (ARG("--nodes")) {
			O.nodes = (uint32_t)num(v, a);
		} else if (ARG("--duration")) {
			O.duration_s = num(v, a);
		} else if (ARG("--settle")) {
			O.settle_s = num(v, a);
		} else if (ARG("--quiet")) {
			O.quiet_s = num(v, a);
		} else if (ARG("--bootstrap")) {
			O.bootstrap = v;
		} else if (ARG("--loss")) {
			O.loss = num(v, a);
		} else if (ARG("--lat-base-us")) {
			O.lat_base_us = num(v, a);
		} else if (ARG("--lat-jitter-us")) {
			O.lat_jitter_us = num(v, a);
		} else if (ARG("--lat-sigma")) {
			O.lat_sigma = num(v, a);
		} else if (strcmp(a, "--lat-uniform") == 0) {
			O.lat_uniform = true;
		} else if (ARG("--bandwidth-mbit")) {
			O.bw_bytes_per_us = num(v, a) / 8.0;
		} else if (ARG("--probe-interval")) {
			O.probe_interval = (int)num(v, a);
		} else if (ARG("--suspicion-interval")) {
			O.suspicion_interval = (int)num(v, a);
		} else if (ARG("--probe-schedule")) {
			if (strcmp(v, "paired") == 0)
				O.probe_schedule = OVG_SWIM_SCHED_PAIRED;
			else if (strcmp(v, "shuffled") == 0)
				O.probe_schedule = OVG_SWIM_SCHED_SHUFFLED;
			else
				die("--probe-schedule: paired or shuffled");
		} else if (ARG("--probe-timeout")) {
			O.probe_timeout = (int)num(v, a);
		} else if (ARG("--gossip-interval")) {
			O.gossip_interval = (int)num(v, a);
		} else if (ARG("--gossip-nodes")) {
			O.gossip_nodes = (int)num(v, a);
		} else if (ARG("--eager-fanout")) {
			O.eager_fanout = (int)num(v, a);
		} else if (ARG("--suspicion-mult")) {
			O.suspicion_mult = (int)num(v, a);
		} else if (ARG("--suspicion-max-mult")) {
			O.suspicion_max_mult = (int)num(v, a);
		} else if (ARG("--awareness-max")) {
			O.awareness_max = (int)num(v, a);
		} else if (ARG("--retransmit-mult")) {
			O.retransmit_mult = (int)num(v, a);
		} else if (ARG("--push-pull-interval")) {
			O.push_pull_interval = (int)num(v, a);
		} else if (ARG("--indirect-checks")) {
			O.indirect_checks = (int)num(v, a);
		} else if (ARG("--gossip-to-the-dead")) {
			O.gossip_to_the_dead = (int)num(v, a);
		} else if (ARG("--members-max")) {
			O.members_max = (uint32_t)num(v, a);
		} else if (strcmp(a, "--no-tcp-ping") == 0) {
			O.no_tcp_ping = true;
		} else if (ARG("--lifeguard")) {
			if (strcmp(v, "on") && strcmp(v, "off") && strcmp(v, "off-min"))
				die("--lifeguard on|off|off-min");
			O.lifeguard = strcmp(v, "on") == 0;
			O.lifeguard_off_min = strcmp(v, "off-min") == 0;
		} else if (ARG("--join-count")) {
			O.join_count = (int)num(v, a);
		} else if (ARG("--join-window")) {
			O.join_window_s = num(v, a);
		} else if (ARG("--join-stagger-ms")) {
			O.join_stagger_ms = num(v, a);
		} else if (ARG("--fail-frac")) {
			O.fail_frac = num(v, a);
		} else if (ARG("--restart-after")) {
			O.restart_after_s = num(v, a);
		} else if (ARG("--part-frac")) {
			O.part_frac = num(v, a);
		} else if (ARG("--part-s")) {
			O.part_s = num(v, a);
		} else if (strcmp(a, "--part-asym") == 0) {
			O.part_asym = true;
		} else if (ARG("--churn-rate")) {
			O.churn_rate = num(v, a);
		} else if (ARG("--stall-frac")) {
			O.stall_frac = num(v, a);
		} else if (ARG("--stall-ms")) {
			O.stall_ms = num(v, a);
		} else if (ARG("--stall-gap-ms")) {
			O.stall_gap_ms = num(v, a);
		} else if (ARG("--rcvbuf-pkts")) {
			O.rcvbuf_pkts = (uint32_t)num(v, a);
		} else if (ARG("--writes")) {
			O.writes = (uint32_t)num(v, a);
		} else if (ARG("--write-window")) {
			O.write_window_s = num(v, a);
		} else if (ARG("--state-kill-frac")) {
			O.state_kill_frac = num(v, a);
		} else if (ARG("--dead-bound")) {
			O.dead_bound_s = num(v, a);
		} else if (ARG("--csv")) {
			O.csv = v;
		} else if (ARG("--csv-step-ms")) {
			O.csv_step_ms = (uint32_t)num(v, a);
		} else if (ARG("--cdf")) {
			O.cdf = v;
		} else if (ARG("--track-max")) {
			O.track_max = (uint32_t)num(v, a);
		} else if (ARG("--preload-sample")) {
			O.preload_sample = (uint32_t)num(v, a);
		} else if (ARG("--reconnect-s")) {
			O.reconnect_s = num(v, a);
		} else if (strcmp(a, "--state-tcp-reply") == 0) {
			O.state_tcp_reply = true;
		} else if (strcmp(a, "--no-crc") == 0) {
			O.no_crc = true;
		} else if (strcmp(a, "--verbose") == 0) {
			O.verbose = true;
		} else {
			die("unknown option '%s' (see --help)", a);
		}
#undef ARG
	}
}

static void print_params(void)
{
	struct ovg_swim_config c;
	uint64_t smin;

	swim_config(&c);
	smin = ovg_swim_suspicion_min_ms(c.suspicion_mult, O.nodes,
					 c.suspicion_interval_ms ? c.suspicion_interval_ms :
					 c.probe_interval_ms);
	printf("SEED=%" PRIu64 "\n", O.seed);
	if (O.members_max && O.members_max < O.nodes)
		printf("param PARTIAL VIEWS: each node knows %u random members (members_max), not all %u\n",
		       O.members_max, O.nodes);
	printf("param scenario=%s nodes=%u duration_s=%.1f settle_s=%.1f quiet_s=%.1f bootstrap=%s\n",
	       O.scenario, O.nodes, O.duration_s, O.settle_s, O.quiet_s, O.bootstrap);
	printf("param net loss=%.4f lat_base_us=%.0f lat_jitter_us=%.0f lat_sigma=%.2f lat_dist=%s "
	       "bandwidth_mbit=%.0f rcvbuf_pkts=%u crc=%s\n",
	       O.loss, O.lat_base_us, O.lat_jitter_us, O.lat_sigma,
	       O.lat_uniform ? "uniform" : "lognormal", O.bw_bytes_per_us * 8, O.rcvbuf_pkts,
	       O.no_crc ? "off" : "as-asked");
	printf("param swim probe_schedule=%s suspicion_interval_ms=%u\n",
	       c.probe_schedule == OVG_SWIM_SCHED_PAIRED ? "paired" : "shuffled",
	       c.suspicion_interval_ms);
	printf("param swim probe_interval_ms=%u probe_timeout_ms=%u gossip_interval_ms=%u "
	       "gossip_nodes=%u eager_fanout=%u indirect_checks=%u retransmit_mult=%u "
	       "suspicion_mult=%u suspicion_max_mult=%u awareness_max=%u push_pull_interval_ms=%u "
	       "gossip_to_the_dead_ms=%u tcp_pings=%s lifeguard=%s bcast_queue_max=%u members_max=%u\n",
	       c.probe_interval_ms, c.probe_timeout_ms, c.gossip_interval_ms, c.gossip_nodes,
	       c.eager_fanout, c.indirect_checks, c.retransmit_mult, c.suspicion_mult,
	       c.suspicion_max_mult, c.awareness_max, c.push_pull_interval_ms, c.gossip_to_the_dead_ms,
	       c.disable_tcp_pings ? "off" : "on",
	       O.lifeguard ? "on" : (O.lifeguard_off_min ? "off-min" : "off"), c.bcast_queue_max,
	       c.members_max);
	printf("param derived suspicion_min_ms=%" PRIu64 " suspicion_max_ms=%" PRIu64
	       " retransmit_limit=%u push_pull_scaled_ms=%" PRIu64 "\n",
	       smin, smin * c.suspicion_max_mult, ovg_swim_retransmit_limit(c.retransmit_mult, O.nodes),
	       ovg_swim_push_pull_scale_ms(c.push_pull_interval_ms, O.nodes));
	printf("param scen join_count=%d join_window_s=%.2f fail_frac=%.3f restart_after_s=%.1f "
	       "part_frac=%.2f part_s=%.1f part_asym=%d churn_rate=%.2f stall_frac=%.3f stall_ms=%.0f "
	       "stall_gap_ms=%.0f writes=%u write_window_s=%.1f state_kill_frac=%.2f dead_bound_s=%.0f "
	       "state_tcp_reply=%d reconnect_s=%.1f\n",
	       O.join_count, O.join_window_s, O.fail_frac, O.restart_after_s, O.part_frac, O.part_s,
	       O.part_asym, O.churn_rate, O.stall_frac, O.stall_ms, O.stall_gap_ms, O.writes,
	       O.write_window_s, O.state_kill_frac, O.dead_bound_s, O.state_tcp_reply,
	       O.reconnect_s);
	fflush(stdout);
}

static void reproduce(void)
{
	bool has_seed = false;

	printf("reproduce: build/sim/swimsim");
	for (int i = 1; i < G.argc; i++) {
		if (strcmp(G.argv[i], "--seed") == 0)
			has_seed = true;
		printf(" %s", G.argv[i]);
	}
	if (!has_seed)
		printf(" --seed %" PRIu64, O.seed);
	printf("\n");
}

static void setup_scenario(void)
{
	const char *s = O.scenario;
	uint64_t t_act = T0_US + (uint64_t)(O.settle_s * 1e6);
	uint32_t initial = G.n;

	G.t_action = t_act;
	if (strcmp(s, "join") == 0) {
		uint32_t j = (uint32_t)O.join_count;
		initial = G.n - j;
		if (strcmp(O.bootstrap, "preload") == 0)
			preload(initial);
		for (uint32_t k = 0; k < G.n; k++)
			G.nodes[k].in_pool = k >= initial;
		if (strcmp(O.bootstrap, "join") == 0) {
			/* node 0 first, the rest join it one after another */
			sched_action(t_act, SC_JOIN, 0);
			G.nodes[0].in_pool = false;
			for (uint32_t k = 1; k < G.n; k++)
				sched_action(t_act + (uint64_t)(k * O.join_stagger_ms * 1000), SC_JOIN, k);
			return;
		}
		for (uint32_t k = initial; k < G.n; k++)
			sched_action(t_act + (uint64_t)(rnd01(&G.scen_rng) * O.join_window_s * 1e6),
				     SC_JOIN, k);
		return;
	}
	if (strcmp(s, "churn") == 0)
		initial = G.n - G.n / 10;
	if (strcmp(O.bootstrap, "preload") == 0) {
		preload(initial);
	} else {
		/* join bootstrap: node 0, then everyone joins node 0 */
		G.now = T0_US;
		node_start(0, -1);
		for (uint32_t k = 1; k < initial; k++)
			sched_action(T0_US + (uint64_t)(k * O.join_stagger_ms * 1000), SC_JOIN, k);
	}
	if (strcmp(s, "fail1") == 0 || strcmp(s, "fail10pct") == 0) {
		double frac = O.fail_frac >= 0 ? O.fail_frac : (strcmp(s, "fail1") == 0 ? 0 : 0.1);
		uint32_t k = strcmp(s, "fail1") == 0 ? 1 : (uint32_t)(frac * G.n + 0.5);
		uint8_t *chosen = xcalloc(G.n, 1);
		if (k < 1)
			k = 1;
		for (uint32_t c = 0; c < k;) {
			uint32_t v = 1 + rnd_below(&G.scen_rng, G.n - 1);
			if (chosen[v])
				continue;
			chosen[v] = 1;
			c++;
			sched_action(t_act, SC_KILL, v);
			if (O.restart_after_s >= 0)
				sched_action(t_act + (uint64_t)(O.restart_after_s * 1e6), SC_RESTART, v);
		}
		free(chosen);
	} else if (strcmp(s, "partition") == 0) {
		uint32_t k = (uint32_t)(O.part_frac * G.n + 0.5);
		for (uint32_t c = 0; c < k;) {
			uint32_t v = rnd_below(&G.scen_rng, G.n);
			if (G.nodes[v].group)
				continue;
			G.nodes[v].group = 1;
			c++;
		}
		sched_action(t_act, SC_PARTITION, 0);
		sched_action(t_act + (uint64_t)(O.part_s * 1e6), SC_HEAL, 0);
	} else if (strcmp(s, "churn") == 0) {
		G.churn_stop = G.end - (uint64_t)(O.quiet_s * 1e6);
		sched_action(t_act, SC_CHURN, 0);
	} else if (strcmp(s, "statewrites") == 0) {
		for (uint32_t w = 0; w < O.writes; w++)
			sched_action(t_act + (uint64_t)(rnd01(&G.scen_rng) * O.write_window_s * 1e6),
				     SC_WRITE, 0);
		sched_action(t_act, SC_RETRY, 0);
		if (O.state_kill_frac > 0) {
			uint32_t k = (uint32_t)(O.state_kill_frac * G.n + 0.5);
			for (uint32_t c = 0; c < k; c++) {
				uint32_t v = rnd_below(&G.scen_rng, G.n);
				uint64_t t = t_act + (uint64_t)(rnd01(&G.scen_rng) * O.write_window_s * 1e6);
				sched_action(t, SC_STATE_KILL, v);
				sched_action(t + 2000000 + (uint64_t)(rnd01(&G.scen_rng) * 5e6),
					     SC_STATE_RESTART, v);
			}
		}
	} else if (strcmp(s, "steady") != 0) {
		die("unknown scenario '%s'", s);
	}
}

/* A node died or left: writes it alone was missing are now everywhere. */
static void writes_update_all(void)
{
	for (size_t k = 0; k < G.nwrites; k++)
		write_all_check(&G.writes[k]);
}

static void cpu_now(double *user, double *sys)
{
	struct rusage ru;

	getrusage(RUSAGE_SELF, &ru);
	*user = (double)ru.ru_utime.tv_sec + (double)ru.ru_utime.tv_usec / 1e6;
	*sys = (double)ru.ru_stime.tv_sec + (double)ru.ru_stime.tv_usec / 1e6;
}

int main(int argc, char **argv)
{
	struct timespec w0, w1;
	double u0, s0, u1, s1;
	char why[256];
	bool ok;

	G.argc = argc;
	G.argv = argv;
	parse(argc, argv);
	if (O.nodes < 2 || O.nodes > SIM_NODES_MAX - 2)
		die("--nodes must be 2..%u", SIM_NODES_MAX - 2);
	G.state_mode = strcmp(O.scenario, "statewrites") == 0;
	if (G.state_mode && O.nodes > STATE_NODES_MAX)
		die("statewrites: at most %u nodes (ovg_state tracks %u owners)", STATE_NODES_MAX,
		    OVG_STATE_MAX_OWNERS);
	if (!O.bootstrap)
		O.bootstrap = strcmp(O.scenario, "join") == 0 && O.nodes <= 64 ? "join" : "preload";
	if (strcmp(O.bootstrap, "preload") && strcmp(O.bootstrap, "join"))
		die("--bootstrap preload|join");
	if (O.join_count < 0)
		O.join_count = O.nodes <= 64 ? (int)O.nodes - 1 : (int)(O.nodes / 10);
	if (strcmp(O.scenario, "join") == 0 && strcmp(O.bootstrap, "join") == 0)
		O.join_count = (int)O.nodes - 1;
	if (O.join_count < 1 || O.join_count >= (int)O.nodes)
		die("--join-count must be 1..nodes-1");
	if (O.settle_s < 0)
		O.settle_s = G.state_mode ? 20 : (strcmp(O.bootstrap, "join") == 0 ? 10 : 5);
	if (strcmp(O.scenario, "join") == 0 && O.settle_s > 1 && strcmp(O.bootstrap, "join") == 0)
		O.settle_s = 0;
	if (O.quiet_s < 0)
		O.quiet_s = 40;
	if (O.duration_s < 0)
		O.duration_s = strcmp(O.scenario, "churn") == 0 ? 300 : 120;
	if (strcmp(O.scenario, "partition") == 0 && O.duration_s < O.settle_s + O.part_s + O.quiet_s)
		O.duration_s = O.settle_s + O.part_s + O.quiet_s;
	if (O.loss < 0 || O.loss > 1 || O.stall_frac < 0 || O.stall_frac > 1)
		die("probabilities must be in 0..1");
	print_params();
	{
		struct ovg_swim_config c;
		swim_config(&c);
		G.susp_max_us = 1000 * ovg_swim_suspicion_min_ms(c.suspicion_mult, O.nodes,
								  c.suspicion_interval_ms ?
								  c.suspicion_interval_ms :
								  c.probe_interval_ms) *
				c.suspicion_max_mult;
	}
	clock_gettime(CLOCK_MONOTONIC, &w0);

	G.n = O.nodes;
	G.partial = O.members_max && O.members_max < O.nodes;
	G.net_rng.s = O.seed * 0x9e3779b97f4a7c15ull + 1;
	G.scen_rng.s = O.seed * 0xbf58476d1ce4e5b9ull + 2;
	lat_init();
	G.end = T0_US + (uint64_t)(O.duration_s * 1e6);
	G.nodes = xcalloc(G.n, sizeof(*G.nodes));
	G.sptr = xcalloc(G.n, sizeof(*G.sptr));
	G.names = xcalloc(G.n + 2, sizeof(*G.names));
	G.ips = xcalloc(G.n + 2, sizeof(*G.ips));
	G.recs = xcalloc(G.n, sizeof(*G.recs));
	{
		struct ovg_splitmix seeds = { O.seed ^ 0x1234567ull };
		static const uint8_t vsn[OVG_VSN_LEN] = OVG_VSN_DEFAULT;
		for (uint32_t i = 0; i < G.n; i++) {
			struct node *nd = &G.nodes[i];
			struct ovg_addr a = addr_of(i);
			snprintf(G.names[i], sizeof(G.names[i]), "n%u", i);
			memcpy(G.ips[i], a.ip, 4);
			nd->rng.s = rnd(&seeds);
			nd->srng.s = rnd(&seeds);
			nd->track = -1;
			nd->pp_peer = -1;
			nd->tick_at = UINT64_MAX;
			G.recs[i].name = ovg_bytes_make(G.names[i], strlen(G.names[i]));
			G.recs[i].addr = ovg_bytes_make(G.ips[i], 4);
			G.recs[i].port = SIM_PORT;
			G.recs[i].meta = ovg_bytes_make(sim_meta, sizeof(sim_meta));
			G.recs[i].incarnation = 1;
			G.recs[i].state = OVG_STATE_ALIVE;
			memcpy(G.recs[i].vsn, vsn, OVG_VSN_LEN);
			G.recs[i].vsn_len = OVG_VSN_LEN;
		}
	}
	if (O.csv) {
		G.csv = fopen(O.csv, "w");
		if (!G.csv)
			die("cannot write %s", O.csv);
		fprintf(G.csv, "t_s,pkts,bytes,msgs,tcp_bytes,live,stalled,false_dead_pairs,"
			       "suspect_events,dead_events,learned_frac\n");
	}

	G.phase = PH_PRELOAD;
	setup_scenario();
	clock_gettime(CLOCK_MONOTONIC, &w1);
	cpu_now(&u0, &s0);
	{
		struct rusage ru;
		getrusage(RUSAGE_SELF, &ru);
		printf("setup_wall_s=%.2f setup_cpu_s=%.2f setup_user_s=%.2f setup_sys_s=%.2f "
		       "setup_rss_mb=%ld\n",
		       (double)(w1.tv_sec - w0.tv_sec) + (double)(w1.tv_nsec - w0.tv_nsec) / 1e9,
		       u0 + s0, u0, s0, ru.ru_maxrss / 1024);
	}
	fflush(stdout);
	G.phase = PH_RUN;
	G.now = T0_US;
	sched(T0_US, EV_CHECK, 0);
	if (G.csv)
		sched(T0_US + O.csv_step_ms * 1000ull, EV_SAMPLE, 0);
	if (O.reconnect_s > 0)
		sched(T0_US + (uint64_t)(O.reconnect_s * 1e6), EV_RECONNECT, 0);
	if (O.stall_frac > 0) {
		uint32_t k = (uint32_t)(O.stall_frac * G.n + 0.5);
		for (uint32_t c = 0; c < k;) {
			uint32_t v = rnd_below(&G.scen_rng, G.n);
			if (G.nodes[v].flaky)
				continue;
			G.nodes[v].flaky = true;
			c++;
			sched(T0_US + (uint64_t)(rnd_exp(&G.scen_rng, O.stall_gap_ms) * 1000), EV_STALL, v);
		}
	}

	while (G.heap_n) {
		struct hent h = G.heap[0];
		uint64_t t = h.key >> KEY_SEQ_BITS;
		if (t > G.end)
			break;
		heap_pop();
		G.now = t;
		if (G.heap_n)
			prefetch_event(&G.heap[0]);
		dispatch(h.ev);
		G.events_processed++;
	}
	G.now = G.end;
	G.phase = PH_END;
	clock_gettime(CLOCK_MONOTONIC, &w1);
	cpu_now(&u1, &s1);
	if (G.state_mode) {
		writes_update_all();
	}

	ok = results();
	if (!converged(false, why, sizeof(why)) || !converged(true, why, sizeof(why))) {
		violation("not converged at the end: %s", why);
		ok = false;
		if (O.verbose) {
			for (uint32_t i = 0; i < G.n && G.n <= 64; i++) {
				struct node *x = &G.nodes[i];
				printf("view n%u (%s):", i, live(x) ? "live" : "down");
				for (size_t k = 0; live(x) && k < ovg_swim_member_count(x->s); k++) {
					struct ovg_swim_member m;
					if (ovg_swim_member_get(x->s, k, &m) == 0)
						printf(" %s/%d/%u", m.name, m.state, m.incarnation);
				}
				printf("\n");
			}
		}
	}
	if (G.state_mode) {
		uint64_t h0 = 0;
		bool first = true;
		for (uint32_t i = 0; i < G.n; i++) {
			if (!live(&G.nodes[i]))
				continue;
			check_state_invariants(&G.nodes[i]);
			if (first) {
				h0 = ovg_state_hash(G.nodes[i].st);
				first = false;
			} else if (ovg_state_hash(G.nodes[i].st) != h0) {
				violation("state not converged: n%u differs", i);
				ok = false;
				break;
			}
		}
	}
	if (G.violations)
		ok = false;
	{
		struct rusage ru;
		getrusage(RUSAGE_SELF, &ru);
		double u2, s2;
		cpu_now(&u2, &s2);
		/* cpu_s: the whole process; run_*: the event loop only;
		 * end_checks_cpu_s: results and the final convergence checks */
		printf("wall_s=%.2f cpu_s=%.2f run_cpu_s=%.2f run_user_s=%.2f run_sys_s=%.2f "
		       "end_checks_cpu_s=%.2f events=%" PRIu64 " run_ns_per_event=%.0f "
		       "max_rss_mb=%ld\n",
		       (double)(w1.tv_sec - w0.tv_sec) + (double)(w1.tv_nsec - w0.tv_nsec) / 1e9,
		       u2 + s2, (u1 + s1) - (u0 + s0), u1 - u0, s1 - s0,
		       (u2 + s2) - (u1 + s1), G.events_processed,
		       G.events_processed ? ((u1 + s1) - (u0 + s0)) * 1e9 /
						    (double)G.events_processed : 0.0,
		       ru.ru_maxrss / 1024);
	}
	if (G.csv)
		fclose(G.csv);
	if (!ok) {
		printf("FAIL: %" PRIu64 " violation(s)\n", G.violations);
		reproduce();
		return 1;
	}
	printf("OK\n");
	return 0;
}
