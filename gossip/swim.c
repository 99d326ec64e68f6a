/*
 * SWIM membership core: see include/ovg/swim.h for the contract.
 *
 * Data structures, chosen so that per-event work is O(1) or O(log n):
 * - members: a hash table by name (chained, seeded FNV-1a) plus an array that
 *   is also the probe order; each member knows its array index, so insertion
 *   at a random offset and removal are O(1). The array is reshuffled (and
 *   expired dead/left members reaped) when the probe index wraps: O(n) once per
 *   n probes.
 * - suspicion timers: a binary min-heap of members by deadline.
 * - relayed indirect pings: a FIFO ring (same timeout for all, so expiry is
 *   at the head) with increasing sequence numbers (binary search on acks).
 * - broadcasts: gossip/bcast.c (tiers by transmit count, owner slot per
 *   member so newer news replaces older in O(1)).
 * - random member choice: random probes into the array (memberlist's
 *   kRandomNodes), O(k) expected.
 */
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>

#include "gossip/bcast.h"
#include "ovg/frame.h"
#include "ovg/swim.h"
#include "ovg/wire.h"

#define SUSP_CONFIRM_MAX 16      /* confirmations tracked per suspicion */
#define FANOUT_MAX       64      /* bound on every k in k-random-node picks */
#define MSG_BUF          2048    /* one encoded message (name 255 + meta 512 + ...) */
#define PACKET_MSGS      OVG_COMPOUND_MAX
#define COMPOUND_HDR     2       /* type + count */
#define COMPOUND_PER_MSG 2       /* u16 length */
#define NO_HEAP          UINT32_MAX

struct suspicion {
	uint64_t start_ms, min_ms, max_ms, deadline_ms, state_change_ms;
	uint32_t k, n, nfrom;
	uint64_t from[SUSP_CONFIRM_MAX + 1];   /* hashes of distinct From names */
};

struct member {
	struct member *hnext;
	uint64_t hash;
	uint32_t idx;                  /* position in s->nodes */
	uint32_t heap_idx;             /* position in s->heap or NO_HEAP */
	struct ovg_addr addr;
	uint32_t inc;
	uint8_t state;
	uint8_t vsn[OVG_VSN_LEN];
	bool vsn_known;                /* an alive carried Vsn (else zeros, sent as absent) */
	uint64_t state_change_ms;
	uint8_t *meta;
	struct ovg_bcast *bcast;       /* queued news about this member */
	struct suspicion *susp;
	uint64_t ring_key;             /* ovg_swim_ring_key(name) */
	bool in_ring, ring_pend;       /* in s->ring / in s->pend */
	uint16_t meta_len;             /* <= OVG_META_MAX */
	uint8_t name_len;              /* <= OVG_NAME_MAX (255) */
	char name[];
};

struct relay {
	uint32_t local_seq, orig_seq;
	struct ovg_addr reply_to;
	uint64_t deadline_ms;
	bool nack, done;
};

enum probe_phase { PROBE_IDLE, PROBE_DIRECT, PROBE_INDIRECT };

struct probe {
	enum probe_phase phase;
	uint32_t seq, inc;
	uint64_t t_timeout_ms, t_end_ms;
	uint32_t expected_nacks, nacks;
	char name[OVG_NAME_MAX + 1];
	size_t name_len;
};

enum pick { PICK_HELPER, PICK_GOSSIP, PICK_EAGER, PICK_ALIVE };

/* The current round of the paired schedule. */
struct slot {
	uint64_t act_ms;               /* when to ping the partner (if !done) */
	bool active, done, responder;
	bool passive;                  /* sitting out (awareness): only listen */
	struct ovg_addr addr;          /* partner */
	char name[OVG_NAME_MAX + 1];
	size_t name_len;
};

struct ovg_swim {
	struct ovg_swim_config cfg;
	struct ovg_swim_io io;
	struct ovg_rng rng;
	struct member *self;

	struct member **nodes;
	size_t n_nodes, nodes_cap;
	struct member **buckets;
	size_t n_buckets;
	uint64_t hash_seed;
	size_t n_live;                 /* alive + suspect, self included */

	struct member **heap;
	size_t heap_n, heap_cap;

	struct relay *relays;
	size_t relay_head, relay_n;

	struct probe probe;
	size_t probe_index;

	/* paired schedule: live members sorted by (ring_key, name); members
	 * that became live wait in pend until the next round merges them */
	struct member **ring, **pend;
	size_t ring_n, ring_cap, pend_n, pend_cap;
	bool ring_dirty;
	size_t self_pos;               /* where self was in the ring last time */
	uint32_t lha_pos;              /* ring walk of the rounds we act in when unhealthy */
	struct slot slot;
	uint64_t next_round_ms;
	uint32_t rounds_since_reap;
	uint64_t next_probe_ms, next_gossip_ms, next_pp_ms, last_now_ms;
	uint32_t seq;
	int awareness;
	bool left, leave_done;

	struct ovg_bcast_queue q;
	int depth;
	bool has_excl;
	struct ovg_addr excl;

	uint8_t *pkt;                  /* packet being built */
	uint8_t *scratch;              /* broadcast copies for one packet */
	struct ovg_swim_stats st;
};

/* ---- small helpers ------------------------------------------------------ */

static void slog(struct ovg_swim *s, enum ovg_swim_log lvl, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
static void slog(struct ovg_swim *s, enum ovg_swim_log lvl, const char *fmt, ...)
{
	char buf[384];
	va_list ap;

	if (!s->io.log)
		return;
	va_start(ap, fmt);
	vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	s->io.log(s->io.ctx, lvl, buf);
}

static bool addr_eq(const struct ovg_addr *a, const struct ovg_addr *b)
{
	return a->len == b->len && a->port == b->port && memcmp(a->ip, b->ip, a->len) == 0;
}

static bool addr_from_bytes(struct ovg_addr *out, struct ovg_bytes ip, uint16_t port)
{
	if (ip.len != 4 && ip.len != 16)
		return false;
	memset(out, 0, sizeof(*out));
	out->len = (uint8_t)ip.len;
	memcpy(out->ip, ip.p, ip.len);
	out->port = port;
	return true;
}

static bool valid_name(struct ovg_bytes n)
{
	return n.len >= 1 && n.len <= OVG_NAME_MAX && !memchr(n.p, 0, n.len);
}

static bool dead_or_left(const struct member *m)
{
	return m->state == OVG_STATE_DEAD || m->state == OVG_STATE_LEFT;
}

static bool seq_lt(uint32_t a, uint32_t b)
{
	return (int32_t)(a - b) < 0;
}

static uint64_t hash_bytes(uint64_t seed, const void *p, size_t len)
{
	const uint8_t *b = p;
	uint64_t h = 0xcbf29ce484222325ull ^ seed;

	for (size_t i = 0; i < len; i++) {
		h ^= b[i];
		h *= 0x100000001b3ull;
	}
	/* final avalanche so low bits are usable as bucket index */
	h ^= h >> 33;
	h *= 0xff51afd7ed558ccdull;
	h ^= h >> 33;
	return h;
}

static uint32_t scaled(const struct ovg_swim *s, uint32_t ms)
{
	return ms * (uint32_t)(s->awareness + 1);
}

static void awareness_delta(struct ovg_swim *s, int delta)
{
	int max = (int)s->cfg.awareness_max - 1;

	s->awareness += delta;
	if (s->awareness < 0)
		s->awareness = 0;
	else if (s->awareness > max)
		s->awareness = max;
}

static void member_view(const struct ovg_swim *s, const struct member *m,
			struct ovg_swim_member *out)
{
	out->name = m->name;
	out->addr = m->addr;
	out->incarnation = m->inc;
	out->state = (enum ovg_node_state)m->state;
	out->meta = ovg_bytes_make(m->meta, m->meta_len);
	memcpy(out->vsn, m->vsn, OVG_VSN_LEN);
	out->state_change_ms = m->state_change_ms;
	out->is_self = m == s->self;
}

static void emit(struct ovg_swim *s, enum ovg_swim_event ev, const struct member *m)
{
	struct ovg_swim_member v;

	if (!s->io.event)
		return;
	member_view(s, m, &v);
	s->io.event(s->io.ctx, ev, &v);
}

/* ---- math shared with memberlist (util.go, suspicion.go) ---------------- */

uint64_t ovg_swim_suspicion_min_ms(uint32_t mult, size_t n, uint32_t interval_ms)
{
	double scale = fmax(1.0, log10(fmax(1.0, (double)n)));

	/* memberlist keeps three decimals of the node scale */
	return (uint64_t)mult * (uint64_t)(scale * 1000.0) * interval_ms / 1000;
}

uint64_t ovg_swim_suspicion_timeout_ms(uint32_t c, uint32_t k, uint64_t min_ms,
				       uint64_t max_ms)
{
	double frac, raw;
	uint64_t t;

	if (k < 1)
		return min_ms;
	frac = log((double)c + 1.0) / log((double)k + 1.0);
	raw = (double)max_ms - frac * ((double)max_ms - (double)min_ms);
	t = raw <= 0 ? 0 : (uint64_t)floor(raw);
	return t < min_ms ? min_ms : t;
}

uint32_t ovg_swim_retransmit_limit(uint32_t mult, size_t n)
{
	return mult * (uint32_t)ceil(log10((double)n + 1.0));
}

uint64_t ovg_swim_push_pull_scale_ms(uint32_t interval_ms, size_t n)
{
	double mult;

	if (n <= 32)
		return interval_ms;
	mult = ceil(log2((double)n) - log2(32.0)) + 1.0;
	return (uint64_t)mult * interval_ms;
}

/* ---- member table ------------------------------------------------------- */

static struct member *lookup(const struct ovg_swim *s, const void *name, size_t len)
{
	uint64_t h = hash_bytes(s->hash_seed, name, len);
	struct member *m;

	for (m = s->buckets[h & (s->n_buckets - 1)]; m; m = m->hnext) {
		if (m->hash == h && m->name_len == len && memcmp(m->name, name, len) == 0)
			return m;
	}
	return NULL;
}

static struct member *lookup_b(const struct ovg_swim *s, struct ovg_bytes name)
{
	if (name.len == 0 || name.len > OVG_NAME_MAX)
		return NULL;
	return lookup(s, name.p, name.len);
}

/* Rehash into nb buckets (a power of two, more than now). */
static int grow_buckets_to(struct ovg_swim *s, size_t nb)
{
	struct member **b = calloc(nb, sizeof(*b));

	if (!b)
		return -ENOMEM;
	for (size_t i = 0; i < s->n_buckets; i++) {
		struct member *m = s->buckets[i], *next;
		for (; m; m = next) {
			next = m->hnext;
			m->hnext = b[m->hash & (nb - 1)];
			b[m->hash & (nb - 1)] = m;
		}
	}
	free(s->buckets);
	s->buckets = b;
	s->n_buckets = nb;
	return 0;
}

static int grow_buckets(struct ovg_swim *s)
{
	return grow_buckets_to(s, s->n_buckets * 2);
}

static void hash_remove(struct ovg_swim *s, struct member *m)
{
	struct member **pp = &s->buckets[m->hash & (s->n_buckets - 1)];

	while (*pp && *pp != m)
		pp = &(*pp)->hnext;
	if (*pp)
		*pp = m->hnext;
}

static void nodes_swap(struct ovg_swim *s, size_t i, size_t j)
{
	struct member *t = s->nodes[i];

	s->nodes[i] = s->nodes[j];
	s->nodes[j] = t;
	s->nodes[i]->idx = (uint32_t)i;
	s->nodes[j]->idx = (uint32_t)j;
}

static int set_meta_bytes(struct member *m, const uint8_t *meta, size_t len)
{
	uint8_t *p = NULL;

	if (len) {
		p = malloc(len);
		if (!p)
			return -ENOMEM;
		memcpy(p, meta, len);
	}
	free(m->meta);
	m->meta = p;
	m->meta_len = len;
	return 0;
}

/* New member in state DEAD (memberlist's "not yet alive"), inserted at a
 * random offset of the probe order so failure detection stays fair. */
static struct member *member_add(struct ovg_swim *s, struct ovg_bytes name,
				 const struct ovg_addr *addr, uint64_t now)
{
	struct member *m;
	size_t off;

	if (s->n_nodes >= s->cfg.members_max)
		return NULL;
	if (s->n_nodes == s->nodes_cap) {
		size_t nc = s->nodes_cap ? s->nodes_cap * 2 : 64;
		struct member **n;
		if (nc > s->cfg.members_max)
			nc = s->cfg.members_max;
		n = realloc(s->nodes, nc * sizeof(*n));
		if (!n)
			return NULL;
		s->nodes = n;
		s->nodes_cap = nc;
	}
	if (s->n_nodes + 1 > s->n_buckets && grow_buckets(s) < 0)
		return NULL;
	m = calloc(1, sizeof(*m) + name.len + 1);
	if (!m)
		return NULL;
	memcpy(m->name, name.p, name.len);
	m->name[name.len] = 0;
	m->name_len = name.len;
	m->hash = hash_bytes(s->hash_seed, name.p, name.len);
	m->ring_key = ovg_swim_ring_key((const char *)name.p, name.len);
	m->heap_idx = NO_HEAP;
	m->addr = *addr;
	m->state = OVG_STATE_DEAD;
	m->state_change_ms = now;
	m->hnext = s->buckets[m->hash & (s->n_buckets - 1)];
	s->buckets[m->hash & (s->n_buckets - 1)] = m;

	m->idx = (uint32_t)s->n_nodes;
	s->nodes[s->n_nodes++] = m;
	off = s->n_nodes > 1 ? ovg_rng_below(&s->rng, (uint32_t)s->n_nodes) : 0;
	nodes_swap(s, off, m->idx);
	return m;
}

/* ---- the ring of live members (paired schedule) ------------------------- */

uint64_t ovg_swim_ring_key(const char *name, size_t len)
{
	return hash_bytes(0x6f7667726e67ull, name, len);   /* fixed: same everywhere */
}

static bool is_live(const struct member *m)
{
	return m->state == OVG_STATE_ALIVE || m->state == OVG_STATE_SUSPECT;
}

static int ring_cmp(const struct member *a, const struct member *b)
{
	size_t n = OVG_MIN(a->name_len, b->name_len);
	int c;

	if (a->ring_key != b->ring_key)
		return a->ring_key < b->ring_key ? -1 : 1;
	c = memcmp(a->name, b->name, n);
	if (c)
		return c;
	return a->name_len < b->name_len ? -1 : a->name_len > b->name_len;
}

static int ring_qsort_cmp(const void *a, const void *b)
{
	return ring_cmp(*(struct member *const *)a, *(struct member *const *)b);
}

static bool ptrs_reserve(struct member ***arr, size_t *cap, size_t need)
{
	struct member **n;
	size_t nc;

	if (need <= *cap)
		return true;
	nc = *cap < 32 ? 64 : *cap * 2;
	if (nc < need)
		nc = need;                 /* a big batch (a preload): exactly */
	n = realloc(*arr, nc * sizeof(*n));
	if (!n)
		return false;
	*arr = n;
	*cap = nc;
	return true;
}

/* A member became live: it joins the ring at the next rebuild. */
static void ring_note_live(struct ovg_swim *s, struct member *m)
{
	s->ring_dirty = true;
	if (m->in_ring || m->ring_pend)
		return;
	if (!ptrs_reserve(&s->pend, &s->pend_cap, s->pend_n + 1))
		return;   /* out of memory: it stays out of the ring until it changes state */
	s->pend[s->pend_n++] = m;
	m->ring_pend = true;
}

static size_t ring_find(const struct ovg_swim *s, const struct member *m)
{
	size_t lo = 0, hi = s->ring_n;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		int c = ring_cmp(s->ring[mid], m);
		if (c == 0)
			return mid;
		if (c < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	return SIZE_MAX;
}

/* Before a member is freed. */
static void ring_forget(struct ovg_swim *s, struct member *m)
{
	if (m->in_ring) {
		size_t i = ring_find(s, m);
		if (i != SIZE_MAX) {
			memmove(&s->ring[i], &s->ring[i + 1], (s->ring_n - i - 1) * sizeof(*s->ring));
			s->ring_n--;
		}
		m->in_ring = false;
	}
	if (m->ring_pend) {
		for (size_t i = 0; i < s->pend_n; i++) {
			if (s->pend[i] == m) {
				s->pend[i] = s->pend[--s->pend_n];
				break;
			}
		}
		m->ring_pend = false;
	}
}

/* Drop members no longer live, merge the pending ones in: O(ring + pending
 * log pending), only in rounds after a change. */
static void ring_rebuild(struct ovg_swim *s)
{
	size_t a = 0, b = 0, i, j, k;

	if (!s->ring_dirty)
		return;
	for (i = 0; i < s->ring_n; i++) {
		struct member *m = s->ring[i];
		if (is_live(m))
			s->ring[a++] = m;
		else
			m->in_ring = false;
	}
	s->ring_n = a;
	for (i = 0; i < s->pend_n; i++) {
		struct member *m = s->pend[i];
		m->ring_pend = false;
		if (is_live(m) && !m->in_ring)
			s->pend[b++] = m;
	}
	s->pend_n = 0;
	if (!ptrs_reserve(&s->ring, &s->ring_cap, a + b)) {
		for (i = 0; i < b; i++)          /* keep them for the next try */
			ring_note_live(s, s->pend[i]);
		return;
	}
	for (i = 1; i < b; i++) {          /* records often come in ring order */
		if (ring_cmp(s->pend[i - 1], s->pend[i]) > 0) {
			qsort(s->pend, b, sizeof(*s->pend), ring_qsort_cmp);
			break;
		}
	}
	/* merge from the back, in place */
	i = a;
	j = b;
	k = a + b;
	while (j > 0) {
		if (i > 0 && ring_cmp(s->ring[i - 1], s->pend[j - 1]) > 0)
			s->ring[--k] = s->ring[--i];
		else
			s->ring[--k] = s->pend[--j];
		s->ring[k]->in_ring = true;
	}
	s->ring_n = a + b;
	s->ring_dirty = false;
	if (s->pend_cap > 1024) {          /* a big batch is merged: give its buffer back */
		free(s->pend);
		s->pend = NULL;
		s->pend_cap = 0;
	}
}

uint32_t ovg_swim_round_partner(uint32_t i, uint32_t m, uint64_t r)
{
	uint32_t e = m + (m & 1);        /* even; index m is the bye */
	uint32_t last = e - 1, rr, p;

	if (m < 2)
		return m;
	rr = (uint32_t)(r % last);
	if (i == last)
		return rr;
	p = (uint32_t)((2ull * rr + last - i) % last);
	return p == i ? last : p;
}

static void set_state(struct ovg_swim *s, struct member *m, uint8_t state, uint64_t now)
{
	bool was = m->state == OVG_STATE_ALIVE || m->state == OVG_STATE_SUSPECT;
	bool is = state == OVG_STATE_ALIVE || state == OVG_STATE_SUSPECT;

	if (was && !is) {
		s->n_live--;
		s->ring_dirty = true;
	} else if (!was && is) {
		s->n_live++;
		ring_note_live(s, m);
	}
	if (m->state != state)
		m->state_change_ms = now;
	m->state = state;
}

/* ---- suspicion heap ----------------------------------------------------- */

static uint64_t hkey(const struct ovg_swim *s, size_t i)
{
	return s->heap[i]->susp->deadline_ms;
}

static void heap_set(struct ovg_swim *s, size_t i, struct member *m)
{
	s->heap[i] = m;
	m->heap_idx = (uint32_t)i;
}

static void heap_up(struct ovg_swim *s, size_t i)
{
	struct member *m = s->heap[i];

	while (i > 0) {
		size_t p = (i - 1) / 2;
		if (hkey(s, p) <= m->susp->deadline_ms)
			break;
		heap_set(s, i, s->heap[p]);
		i = p;
	}
	heap_set(s, i, m);
}

static void heap_down(struct ovg_swim *s, size_t i)
{
	struct member *m = s->heap[i];

	for (;;) {
		size_t l = 2 * i + 1, r = l + 1, c;
		if (l >= s->heap_n)
			break;
		c = (r < s->heap_n && hkey(s, r) < hkey(s, l)) ? r : l;
		if (hkey(s, c) >= m->susp->deadline_ms)
			break;
		heap_set(s, i, s->heap[c]);
		i = c;
	}
	heap_set(s, i, m);
}

static int heap_push(struct ovg_swim *s, struct member *m)
{
	if (s->heap_n == s->heap_cap) {
		size_t nc = s->heap_cap ? s->heap_cap * 2 : 16;
		struct member **h = realloc(s->heap, nc * sizeof(*h));
		if (!h)
			return -ENOMEM;
		s->heap = h;
		s->heap_cap = nc;
	}
	s->heap[s->heap_n] = m;
	m->heap_idx = (uint32_t)s->heap_n++;
	heap_up(s, m->heap_idx);
	return 0;
}

static void heap_remove(struct ovg_swim *s, struct member *m)
{
	size_t i = m->heap_idx;
	struct member *mv;

	if (i == NO_HEAP)
		return;
	m->heap_idx = NO_HEAP;
	if (i == --s->heap_n)
		return;
	mv = s->heap[s->heap_n];
	heap_set(s, i, mv);
	heap_down(s, i);
	heap_up(s, mv->heap_idx);
}

static void suspicion_clear(struct ovg_swim *s, struct member *m)
{
	if (!m->susp)
		return;
	heap_remove(s, m);
	free(m->susp);
	m->susp = NULL;
}

/* Raise the confirmation count by c (bounded by k) and move the deadline. */
static void suspicion_add_confirmations(struct ovg_swim *s, struct member *m, uint32_t c)
{
	struct suspicion *sp = m ? m->susp : NULL;

	if (!sp || sp->n >= sp->k)
		return;
	sp->n = OVG_MIN(sp->k, sp->n + c);
	sp->deadline_ms = sp->start_ms +
			  ovg_swim_suspicion_timeout_ms(sp->n, sp->k, sp->min_ms, sp->max_ms);
	heap_down(s, m->heap_idx);
	heap_up(s, m->heap_idx);
}

/* suspicion.go Confirm: true if this From is a new independent confirmation. */
static bool suspicion_confirm(struct ovg_swim *s, struct member *m, struct ovg_bytes from)
{
	struct suspicion *sp = m->susp;
	uint64_t h = hash_bytes(s->hash_seed ^ 0x5bd1e995u, from.p, from.len);

	if (sp->n >= sp->k)
		return false;
	for (uint32_t i = 0; i < sp->nfrom; i++) {
		if (sp->from[i] == h)
			return false;
	}
	if (sp->nfrom < OVG_ARRAY_SIZE(sp->from))
		sp->from[sp->nfrom++] = h;
	suspicion_add_confirmations(s, m, 1);
	return true;
}

/* ---- encoding and sending ---------------------------------------------- */

static struct ovg_bytes self_ip(const struct ovg_swim *s)
{
	return ovg_bytes_make(s->cfg.addr.ip, s->cfg.addr.len);
}

static int enc_ping(uint32_t seq, const char *node, size_t node_len,
		    uint8_t *buf, size_t cap, size_t *len)
{
	struct ovg_msg m;

	memset(&m, 0, sizeof(m));
	m.type = OVG_MSG_PING;
	m.u.ping.seq_no = seq;
	m.u.ping.node = ovg_bytes_make(node, node_len);
	/* No SourceAddr/SourcePort/SourceNode: memberlist then acks the
	 * datagram's source address (as before protocol 5), and every ping we
	 * send is answered straight back to us. 44 bytes less per ping. */
	return ovg_wire_encode(&m, buf, cap, len);
}

static int enc_susdead(uint8_t type, uint32_t inc, struct ovg_bytes node, struct ovg_bytes from,
		       uint8_t *buf, size_t cap, size_t *len)
{
	struct ovg_msg m;

	memset(&m, 0, sizeof(m));
	m.type = type;
	m.u.suspect.incarnation = inc;
	m.u.suspect.node = node;
	m.u.suspect.from = from;
	return ovg_wire_encode(&m, buf, cap, len);
}

static int enc_alive_member(const struct member *mb, uint8_t *buf, size_t cap, size_t *len)
{
	struct ovg_msg m;

	memset(&m, 0, sizeof(m));
	m.type = OVG_MSG_ALIVE;
	m.u.alive.incarnation = mb->inc;
	m.u.alive.node = ovg_bytes_make(mb->name, mb->name_len);
	m.u.alive.addr = ovg_bytes_make(mb->addr.ip, mb->addr.len);
	m.u.alive.port = mb->addr.port;
	m.u.alive.meta = ovg_bytes_make(mb->meta, mb->meta_len);
	memcpy(m.u.alive.vsn, mb->vsn, OVG_VSN_LEN);
	m.u.alive.vsn_len = mb->vsn_known ? OVG_VSN_LEN : 0;
	return ovg_wire_encode(&m, buf, cap, len);
}

static uint32_t transmit_limit(const struct ovg_swim *s)
{
	return ovg_swim_retransmit_limit(s->cfg.retransmit_mult, s->n_nodes);
}

static bool wants_crc(const struct ovg_swim *s, const struct member *m)
{
	(void)s;
	return m && m->vsn[1] >= 5;
}

/* Send msgs[0..n) as one packet, filling the rest of the budget with queued
 * broadcasts (memberlist sendMsg piggybacking). */
static int send_msgs(struct ovg_swim *s, const struct ovg_addr *to, bool crc,
		     const struct ovg_bytes *msgs, size_t n, bool piggyback)
{
	struct ovg_bytes views[PACKET_MSGS];
	size_t used = COMPOUND_HDR, len = 0, taken = 0;
	int rc;

	if (n == 0 || n > PACKET_MSGS)
		return -EINVAL;
	for (size_t i = 0; i < n; i++) {
		views[i] = msgs[i];
		used += COMPOUND_PER_MSG + msgs[i].len;
	}
	if (piggyback && used < s->cfg.packet_budget && s->q.n > 0)
		n += ovg_bcast_take(&s->q, transmit_limit(s), COMPOUND_PER_MSG,
				    s->cfg.packet_budget - used, s->scratch,
				    s->cfg.packet_budget, views + n, PACKET_MSGS - n);
	rc = ovg_compound_build(views, n, s->cfg.packet_budget, s->pkt, s->cfg.packet_budget,
				&len, &taken);
	if (rc < 0) {
		slog(s, OVG_SWIM_LOG_ERR, "swim: cannot build packet: %d", rc);
		return rc;
	}
	s->st.packets_out++;
	return s->io.send_packet(s->io.ctx, to, s->pkt, len, crc);
}

static int send_one(struct ovg_swim *s, const struct ovg_addr *to, bool crc,
		    const uint8_t *msg, size_t len)
{
	struct ovg_bytes v = ovg_bytes_make(msg, len);

	return send_msgs(s, to, crc, &v, 1, true);
}

/* ---- random member choice (memberlist kRandomNodes) --------------------- */

static bool pick_ok(const struct ovg_swim *s, const struct member *m, enum pick how,
		    const struct member *exclude, uint64_t now)
{
	if (m == s->self || m == exclude)
		return false;
	switch (how) {
	case PICK_HELPER:
	case PICK_ALIVE:
		return m->state == OVG_STATE_ALIVE;
	case PICK_EAGER:
		if (s->has_excl && addr_eq(&m->addr, &s->excl))
			return false;
		return m->state == OVG_STATE_ALIVE || m->state == OVG_STATE_SUSPECT;
	case PICK_GOSSIP:
		if (m->state == OVG_STATE_ALIVE || m->state == OVG_STATE_SUSPECT)
			return true;
		return m->state == OVG_STATE_DEAD &&
		       now - m->state_change_ms <= s->cfg.gossip_to_the_dead_ms;
	}
	return false;
}

static size_t k_random(struct ovg_swim *s, size_t k, enum pick how,
		       const struct member *exclude, uint64_t now, struct member **out)
{
	size_t n = s->n_nodes, got = 0;

	if (k > FANOUT_MAX)
		k = FANOUT_MAX;
	if (k == 0 || n == 0)
		return 0;
	if (n < 3 * k) {
		/* small: exhaustive walk in shuffled order */
		struct member *tmp[3 * FANOUT_MAX];
		memcpy(tmp, s->nodes, n * sizeof(*tmp));
		for (size_t i = 0; i < n && got < k; i++) {
			size_t j = i + ovg_rng_below(&s->rng, (uint32_t)(n - i));
			struct member *t = tmp[i];
			tmp[i] = tmp[j];
			tmp[j] = t;
			if (pick_ok(s, tmp[i], how, exclude, now))
				out[got++] = tmp[i];
		}
		return got;
	}
	/* large: random probes, then a linear sweep from a random start if
	 * eligible members are scarce, so the cost stays O(k) when most are */
	for (size_t tries = 0; tries < 8 * k + 16 && got < k; tries++) {
		struct member *m = s->nodes[ovg_rng_below(&s->rng, (uint32_t)n)];
		bool dup = false;
		if (!pick_ok(s, m, how, exclude, now))
			continue;
		for (size_t j = 0; j < got; j++)
			dup |= out[j] == m;
		if (!dup)
			out[got++] = m;
	}
	if (got < k) {
		size_t start = ovg_rng_below(&s->rng, (uint32_t)n);
		for (size_t i = 0; i < n && got < k; i++) {
			struct member *m = s->nodes[(start + i) % n];
			bool dup = false;
			if (!pick_ok(s, m, how, exclude, now))
				continue;
			for (size_t j = 0; j < got; j++)
				dup |= out[j] == m;
			if (!dup)
				out[got++] = m;
		}
	}
	return got;
}

/* ---- broadcasts ---------------------------------------------------------- */

static void queue_msg(struct ovg_swim *s, struct member *about, const uint8_t *msg,
		      size_t len, bool notify)
{
	int rc = ovg_bcast_push(&s->q, msg, len, about ? &about->bcast : NULL,
				s->cfg.eager_fanout > 0, notify);

	if (rc < 0) {
		slog(s, OVG_SWIM_LOG_ERR, "swim: cannot queue broadcast: %d", rc);
		return;
	}
	s->st.bcast_queued++;
}

static void queue_alive(struct ovg_swim *s, struct member *m)
{
	uint8_t buf[MSG_BUF];
	size_t len;

	if (enc_alive_member(m, buf, sizeof(buf), &len) == 0)
		queue_msg(s, m, buf, len, false);
}

static void queue_susdead(struct ovg_swim *s, struct member *m, uint8_t type, uint32_t inc,
			  struct ovg_bytes from, bool notify)
{
	uint8_t buf[MSG_BUF];
	size_t len;

	if (enc_susdead(type, inc, ovg_bytes_make(m->name, m->name_len), from, buf,
			sizeof(buf), &len) == 0)
		queue_msg(s, m, buf, len, notify);
}

static void on_bcast_finish(void *ctx, struct ovg_bcast *b)
{
	struct ovg_swim *s = ctx;

	(void)b;
	s->leave_done = true;   /* only the leave broadcast asks for notify */
}

/* Eager push: one packet of fresh news to eager_fanout members. */
static void flush_eager(struct ovg_swim *s, uint64_t now)
{
	struct member *peers[FANOUT_MAX];
	struct ovg_bytes views[PACKET_MSGS];
	struct ovg_bcast *items[PACKET_MSGS];
	size_t np, n, len = 0, taken = 0;

	if (s->q.n_eager == 0)
		return;
	np = k_random(s, s->cfg.eager_fanout, PICK_EAGER, NULL, now, peers);
	if (np == 0) {
		ovg_bcast_clear_eager(&s->q);
		return;
	}
	n = ovg_bcast_take_eager(&s->q, COMPOUND_PER_MSG, s->cfg.packet_budget - COMPOUND_HDR,
				 s->scratch, s->cfg.packet_budget, views, items, PACKET_MSGS);
	if (n == 0)
		return;
	if (ovg_compound_build(views, n, s->cfg.packet_budget, s->pkt, s->cfg.packet_budget,
			       &len, &taken) < 0)
		return;
	for (size_t i = 0; i < np; i++) {
		s->io.send_packet(s->io.ctx, &peers[i]->addr, s->pkt, len,
				  wants_crc(s, peers[i]));
		s->st.packets_out++;
		s->st.eager_packets++;
	}
	ovg_bcast_charge(&s->q, items, taken, (uint32_t)np, transmit_limit(s));
}

static void enter(struct ovg_swim *s, uint64_t now)
{
	if (s->depth++ == 0 && now > s->last_now_ms)
		s->last_now_ms = now;
}

static void leave_call(struct ovg_swim *s, uint64_t now)
{
	if (--s->depth == 0) {
		flush_eager(s, now);
		s->has_excl = false;
	}
}

/* ---- state transitions (memberlist state.go) ---------------------------- */

static void dead_node(struct ovg_swim *s, uint32_t inc, struct ovg_bytes node,
		      struct ovg_bytes from, const struct ovg_addr *src, uint64_t now);

/* A peer told us stale news: a suspect or dead message about a member we know
 * alive at a newer incarnation (often ourselves, after a refutation). That
 * peer missed the refutation, which gossip delivers to each member only with
 * high probability; answer it directly with the newer alive so its suspicion
 * timer cannot fire on old news. Costs one packet per stale message, and the
 * peer stops spreading the stale news once it has the alive. */
static void correct_stale(struct ovg_swim *s, const struct member *m,
			  const struct ovg_addr *src)
{
	uint8_t buf[MSG_BUF];
	size_t len;

	if (!src || m->state != OVG_STATE_ALIVE || (m == s->self && s->left))
		return;
	if (enc_alive_member(m, buf, sizeof(buf), &len) == 0) {
		s->st.corrections++;
		send_one(s, src, false, buf, len);
	}
}

/* Accused at incarnation `accused` by `accuser`: a higher incarnation,
 * broadcast, and sent straight to the accuser too, whose suspicion timer is
 * the one running. */
static void refute(struct ovg_swim *s, uint32_t accused, struct ovg_bytes accuser)
{
	struct member *me = s->self, *acc;
	uint32_t inc = me->inc + 1;
	uint8_t buf[MSG_BUF];
	size_t len;

	if (accused >= inc)
		inc = accused + 1;
	me->inc = inc;
	awareness_delta(s, 1);
	s->st.refutes++;
	queue_alive(s, me);
	acc = lookup_b(s, accuser);
	if (acc && acc != me && is_live(acc) &&
	    enc_alive_member(me, buf, sizeof(buf), &len) == 0)
		send_one(s, &acc->addr, wants_crc(s, acc), buf, len);
}

/* alive_node_f flags. BOOTSTRAP: our own alive at create (no refutation).
 * QUIET: a bulk bootstrap (ovg_swim_preload): what we learn is old news to
 * the cluster, so no alive broadcast is queued about it. */
#define AN_BOOTSTRAP 1u
#define AN_QUIET     2u

static void alive_node_f(struct ovg_swim *s, const struct ovg_alive *a, unsigned flags,
			 uint64_t now)
{
	bool bootstrap = flags & AN_BOOTSTRAP;
	struct ovg_addr addr;
	struct member *m;
	bool is_new = false, updates = false, is_local, meta_changed;
	uint8_t old_state;

	if (!valid_name(a->node))
		goto bad;
	if (a->vsn_len >= 3 && (a->vsn[0] == 0 || a->vsn[1] == 0 || a->vsn[0] > a->vsn[1]))
		goto bad;
	if (!addr_from_bytes(&addr, a->addr, a->port ? a->port : s->cfg.addr.port))
		goto bad;
	if (a->meta.len > OVG_META_MAX)
		goto bad;
	m = lookup_b(s, a->node);
	if (s->left && m == s->self)
		return;
	if (!m) {
		m = member_add(s, a->node, &addr, now);
		if (!m) {
			slog(s, OVG_SWIM_LOG_WARN, "swim: member table full, ignoring %.*s",
			     (int)a->node.len, (const char *)a->node.p);
			return;
		}
		is_new = true;
		if (a->vsn_len >= OVG_VSN_LEN) {
			memcpy(m->vsn, a->vsn, OVG_VSN_LEN);
			m->vsn_known = true;
		}
	} else if (!addr_eq(&m->addr, &addr)) {
		/* memberlist takes any incarnation here; we want a newer one, so
		 * stale gossip cannot move a dead member back to an old address
		 * (a restarted node that reset its incarnation refutes its own
		 * death from the join push-pull and comes back newer) */
		bool reclaim = (m->state == OVG_STATE_LEFT ||
				(m->state == OVG_STATE_DEAD &&
				 now - m->state_change_ms >= s->cfg.dead_reclaim_ms)) &&
			       a->incarnation > m->inc;
		if (!reclaim || m == s->self) {
			slog(s, OVG_SWIM_LOG_WARN,
			     "swim: conflicting address for %s (state %d), ignoring alive",
			     m->name, m->state);
			return;
		}
		slog(s, OVG_SWIM_LOG_INFO, "swim: %s comes back at a new address", m->name);
		updates = true;
	}

	is_local = m == s->self;
	if (a->incarnation <= m->inc && !is_local && !updates && !is_new)
		return;
	if (a->incarnation < m->inc && is_local)
		return;

	suspicion_clear(s, m);
	old_state = m->state;

	if (!bootstrap && is_local) {
		if (a->incarnation == m->inc && a->meta.len == m->meta_len &&
		    (m->meta_len == 0 || memcmp(a->meta.p, m->meta, m->meta_len) == 0) &&
		    a->vsn_len == OVG_VSN_LEN && memcmp(a->vsn, m->vsn, OVG_VSN_LEN) == 0)
			return;
		refute(s, a->incarnation, ovg_bytes_make(NULL, 0));
		slog(s, OVG_SWIM_LOG_WARN, "swim: refuting an alive message about us");
		return;
	}

	meta_changed = a->meta.len != m->meta_len ||
		       (m->meta_len && memcmp(a->meta.p, m->meta, m->meta_len) != 0);
	if (meta_changed && set_meta_bytes(m, a->meta.p, a->meta.len) < 0)
		return;
	if (a->vsn_len >= OVG_VSN_LEN) {
		memcpy(m->vsn, a->vsn, OVG_VSN_LEN);
		m->vsn_known = true;
	}
	m->inc = a->incarnation;
	m->addr = addr;
	set_state(s, m, OVG_STATE_ALIVE, now);
	if (!(flags & AN_QUIET))
		queue_alive(s, m);

	if (old_state == OVG_STATE_DEAD || old_state == OVG_STATE_LEFT)
		emit(s, OVG_SWIM_EV_JOIN, m);
	else if (meta_changed || old_state == OVG_STATE_SUSPECT)
		emit(s, OVG_SWIM_EV_UPDATE, m);
	return;
bad:
	s->st.msgs_bad++;
}

static void alive_node(struct ovg_swim *s, const struct ovg_alive *a, bool bootstrap,
		       uint64_t now)
{
	alive_node_f(s, a, bootstrap ? AN_BOOTSTRAP : 0, now);
}

static void suspect_node(struct ovg_swim *s, uint32_t inc, struct ovg_bytes node,
			 struct ovg_bytes from, const struct ovg_addr *src, uint64_t now)
{
	struct member *m = lookup_b(s, node);
	struct suspicion *sp;
	uint32_t k;
	size_t n;

	if (!m)
		return;
	if (inc < m->inc) {
		correct_stale(s, m, src);
		return;
	}
	if (m->susp) {
		if (suspicion_confirm(s, m, from))
			queue_susdead(s, m, OVG_MSG_SUSPECT, inc, from, false);
		return;
	}
	if (m->state != OVG_STATE_ALIVE)
		return;
	if (m == s->self) {
		refute(s, inc, from);
		slog(s, OVG_SWIM_LOG_WARN, "swim: refuting a suspect message from %.*s",
		     (int)from.len, (const char *)from.p);
		return;
	}
	sp = calloc(1, sizeof(*sp));
	if (!sp)
		return;
	queue_susdead(s, m, OVG_MSG_SUSPECT, inc, from, false);
	m->inc = inc;
	set_state(s, m, OVG_STATE_SUSPECT, now);
	s->st.suspects_started++;

	/* k confirmations wanted; none if there are not enough other members */
	n = s->n_nodes;
	k = s->cfg.suspicion_mult >= 2 ? s->cfg.suspicion_mult - 2 : 0;
	if (k > SUSP_CONFIRM_MAX)
		k = SUSP_CONFIRM_MAX;
	if (n < 2 || n - 2 < k)
		k = 0;
	sp->k = k;
	sp->start_ms = now;
	sp->state_change_ms = m->state_change_ms;
	sp->min_ms = ovg_swim_suspicion_min_ms(s->cfg.suspicion_mult, n,
					       s->cfg.suspicion_interval_ms ?
					       s->cfg.suspicion_interval_ms :
					       s->cfg.probe_interval_ms);
	sp->max_ms = (uint64_t)s->cfg.suspicion_max_mult * sp->min_ms;
	sp->deadline_ms = now + (k < 1 ? sp->min_ms : sp->max_ms);
	sp->from[0] = hash_bytes(s->hash_seed ^ 0x5bd1e995u, from.p, from.len);
	sp->nfrom = 1;
	m->susp = sp;
	if (heap_push(s, m) < 0) {
		free(sp);
		m->susp = NULL;
	}
	emit(s, OVG_SWIM_EV_SUSPECT, m);
}

static void dead_node(struct ovg_swim *s, uint32_t inc, struct ovg_bytes node,
		      struct ovg_bytes from, const struct ovg_addr *src, uint64_t now)
{
	struct member *m = lookup_b(s, node);
	bool left;

	if (!m)
		return;
	if (inc < m->inc) {
		correct_stale(s, m, src);
		return;
	}
	suspicion_clear(s, m);
	if (dead_or_left(m))
		return;
	if (m == s->self) {
		if (!s->left) {
			refute(s, inc, from);
			slog(s, OVG_SWIM_LOG_WARN, "swim: refuting a dead message from %.*s",
			     (int)from.len, (const char *)from.p);
			return;
		}
		queue_susdead(s, m, OVG_MSG_DEAD, inc, from, true);
	} else {
		queue_susdead(s, m, OVG_MSG_DEAD, inc, from, false);
	}
	m->inc = inc;
	left = node.len == from.len && memcmp(node.p, from.p, node.len) == 0;
	set_state(s, m, left ? OVG_STATE_LEFT : OVG_STATE_DEAD, now);
	emit(s, left ? OVG_SWIM_EV_LEFT : OVG_SWIM_EV_DEAD, m);
}

static void run_suspicions(struct ovg_swim *s, uint64_t now)
{
	while (s->heap_n && s->heap[0]->susp->deadline_ms <= now) {
		struct member *m = s->heap[0];
		bool valid = m->state == OVG_STATE_SUSPECT &&
			     m->state_change_ms == m->susp->state_change_ms;
		uint32_t nconf = m->susp->n;

		suspicion_clear(s, m);
		if (!valid)
			continue;
		slog(s, OVG_SWIM_LOG_INFO,
		     "swim: marking %s as failed, suspect timeout reached (%u confirmations)",
		     m->name, nconf);
		s->st.deaths_declared++;
		dead_node(s, m->inc, ovg_bytes_make(m->name, m->name_len),
			  ovg_bytes_make(s->self->name, s->self->name_len), NULL, now);
	}
}

/* ---- removal ------------------------------------------------------------ */

static void member_free(struct member *m)
{
	if (!m)
		return;
	free(m->susp);
	free(m->meta);
	free(m);
}

static void member_remove(struct ovg_swim *s, struct member *m)
{
	size_t last = s->n_nodes - 1;

	emit(s, OVG_SWIM_EV_REAP, m);
	if (m->idx != last)
		nodes_swap(s, m->idx, last);
	s->n_nodes--;
	hash_remove(s, m);
	ring_forget(s, m);
	suspicion_clear(s, m);
	ovg_bcast_disown(&m->bcast);
	if (m->state == OVG_STATE_ALIVE || m->state == OVG_STATE_SUSPECT)
		s->n_live--;
	member_free(m);
}

/* Forget members dead/left for longer than gossip_to_the_dead. */
static void reap(struct ovg_swim *s, uint64_t now)
{
	size_t i = 0;

	while (i < s->n_nodes) {
		struct member *m = s->nodes[i];
		if (m != s->self && dead_or_left(m) &&
		    now - m->state_change_ms > s->cfg.gossip_to_the_dead_ms)
			member_remove(s, m);   /* the last one moved into i */
		else
			i++;
	}
}

/* Probe index wrapped: reap, reshuffle the rest (memberlist resetNodes). */
static void reset_nodes(struct ovg_swim *s, uint64_t now)
{
	reap(s, now);
	for (size_t i = s->n_nodes; i > 1; i--)
		nodes_swap(s, i - 1, ovg_rng_below(&s->rng, (uint32_t)i));
}

/* ---- probing ------------------------------------------------------------ */

static void probe_go_indirect(struct ovg_swim *s, uint64_t now)
{
	struct probe *p = &s->probe;
	struct member *m = lookup(s, p->name, p->name_len);
	struct member *peers[FANOUT_MAX];
	uint8_t buf[MSG_BUF];
	size_t np, len;

	if (!m) {                       /* forgotten meanwhile: nothing to judge */
		p->phase = PROBE_IDLE;
		return;
	}
	p->phase = PROBE_INDIRECT;
	s->st.indirect_probes++;
	np = k_random(s, s->cfg.indirect_checks, PICK_HELPER, m, now, peers);
	for (size_t i = 0; i < np; i++) {
		struct ovg_msg msg;

		memset(&msg, 0, sizeof(msg));
		msg.type = OVG_MSG_INDIRECT_PING;
		msg.u.indirect_ping.seq_no = p->seq;
		msg.u.indirect_ping.target = ovg_bytes_make(m->addr.ip, m->addr.len);
		msg.u.indirect_ping.port = m->addr.port;
		msg.u.indirect_ping.node = ovg_bytes_make(m->name, m->name_len);
		msg.u.indirect_ping.nack = peers[i]->vsn[1] >= 4;
		msg.u.indirect_ping.source_addr = self_ip(s);
		msg.u.indirect_ping.source_port = s->cfg.addr.port;
		msg.u.indirect_ping.source_node = ovg_bytes_make(s->self->name,
								 s->self->name_len);
		if (msg.u.indirect_ping.nack)
			p->expected_nacks++;
		if (ovg_wire_encode(&msg, buf, sizeof(buf), &len) == 0)
			send_one(s, &peers[i]->addr, wants_crc(s, peers[i]), buf, len);
	}
	/* TCP fallback beside the indirect probes (memberlist: pmax >= 3) */
	if (!s->cfg.disable_tcp_pings && s->io.tcp_ping && m->vsn[1] >= 3 &&
	    enc_ping(p->seq, m->name, m->name_len, buf, sizeof(buf), &len) == 0) {
		s->st.tcp_pings++;
		s->io.tcp_ping(s->io.ctx, &m->addr, m->name, p->seq, buf, len, p->t_end_ms);
	}
}

static void probe_member(struct ovg_swim *s, struct member *m, uint64_t now)
{
	struct probe *p = &s->probe;
	uint8_t ping[MSG_BUF], sus[MSG_BUF];
	struct ovg_bytes msgs[2];
	size_t n = 0, len;
	uint32_t interval = scaled(s, s->cfg.probe_interval_ms);

	p->seq = ++s->seq;
	p->inc = m->inc;
	p->expected_nacks = p->nacks = 0;
	memcpy(p->name, m->name, m->name_len + 1);
	p->name_len = m->name_len;
	p->phase = PROBE_DIRECT;
	p->t_timeout_ms = now + scaled(s, s->cfg.probe_timeout_ms);
	if (s->cfg.probe_schedule == OVG_SWIM_SCHED_PAIRED)
		p->t_end_ms = now + OVG_MIN(interval, 3 * scaled(s, s->cfg.probe_timeout_ms));
	else
		p->t_end_ms = now + interval;
	s->next_probe_ms = now + interval;
	s->st.probes++;

	if (enc_ping(p->seq, m->name, m->name_len, ping, sizeof(ping), &len) < 0) {
		p->phase = PROBE_IDLE;
		return;
	}
	msgs[n++] = ovg_bytes_make(ping, len);
	/* a suspect target hears of it in the same packet and can refute */
	if (m->state != OVG_STATE_ALIVE &&
	    enc_susdead(OVG_MSG_SUSPECT, m->inc, ovg_bytes_make(m->name, m->name_len),
			ovg_bytes_make(s->self->name, s->self->name_len), sus, sizeof(sus),
			&len) == 0)
		msgs[n++] = ovg_bytes_make(sus, len);
	if (send_msgs(s, &m->addr, wants_crc(s, m), msgs, n, true) < 0)
		probe_go_indirect(s, now);   /* our send failed: do not wait */
}

static void probe_success(struct ovg_swim *s)
{
	s->probe.phase = PROBE_IDLE;
	awareness_delta(s, -1);
}

static void probe_fail(struct ovg_swim *s, uint64_t now)
{
	struct probe *p = &s->probe;
	struct member *m;
	uint8_t buf[MSG_BUF];
	size_t len;
	int delta;

	p->phase = PROBE_IDLE;
	if (p->expected_nacks > 0)
		delta = p->nacks < p->expected_nacks ? (int)(p->expected_nacks - p->nacks) : 0;
	else
		delta = 1;
	awareness_delta(s, delta);
	s->st.probes_failed++;
	slog(s, OVG_SWIM_LOG_INFO, "swim: suspect %s has failed, no acks received", p->name);
	suspect_node(s, p->inc, ovg_bytes_make(p->name, p->name_len),
		     ovg_bytes_make(s->self->name, s->self->name_len), NULL, now);
	m = lookup(s, p->name, p->name_len);
	/* every nack is another member that failed to reach it just now: an
	 * independent confirmation (Lifeguard counts suspect messages from
	 * other members; a nack is the same evidence, one round sooner) */
	if (p->nacks)
		suspicion_add_confirmations(s, m, p->nacks);
	/* and it hears of the suspicion at once, if it can hear at all */
	if (m && m->susp &&
	    enc_susdead(OVG_MSG_SUSPECT, m->inc, ovg_bytes_make(m->name, m->name_len),
			ovg_bytes_make(s->self->name, s->self->name_len), buf, sizeof(buf),
			&len) == 0)
		send_one(s, &m->addr, wants_crc(s, m), buf, len);
}

static void probe_start(struct ovg_swim *s, uint64_t now)
{
	size_t checked = 0;

	for (;;) {
		struct member *m;

		if (checked >= s->n_nodes)
			break;
		if (s->probe_index >= s->n_nodes) {
			reset_nodes(s, now);
			s->probe_index = 0;
			checked++;
			continue;
		}
		m = s->nodes[s->probe_index++];
		if (m == s->self || dead_or_left(m)) {
			checked++;
			continue;
		}
		probe_member(s, m, now);
		return;
	}
	s->next_probe_ms = now + scaled(s, s->cfg.probe_interval_ms);
}

/* ---- paired schedule ---------------------------------------------------- */

static uint64_t cluster_ms(const struct ovg_swim *s, uint64_t now)
{
	int64_t t = (int64_t)now + s->cfg.clock_offset_ms;

	return t < 0 ? 0 : (uint64_t)t;
}

/* Local time at which cluster time t falls. */
static uint64_t local_ms(const struct ovg_swim *s, uint64_t t)
{
	int64_t l = (int64_t)t - s->cfg.clock_offset_ms;

	return l < 0 ? 0 : (uint64_t)l;
}

static uint32_t self_in_ring(struct ovg_swim *s)
{
	size_t i = s->self_pos;

	if (i < s->ring_n && s->ring[i] == s->self)
		return (uint32_t)i;
	i = ring_find(s, s->self);
	s->self_pos = i;
	return i == SIZE_MAX ? UINT32_MAX : (uint32_t)i;
}

static void round_begin(struct ovg_swim *s, uint64_t now)
{
	struct slot *sl = &s->slot;
	uint32_t P = s->cfg.probe_interval_ms;
	uint64_t round = cluster_ms(s, now) / P;
	uint64_t start = local_ms(s, round * P);
	uint32_t m, i, pi, rounds;
	struct member *partner;
	bool lo_starts;

	s->next_round_ms = local_ms(s, (round + 1) * P);
	sl->active = false;
	s->st.rounds++;
	if (++s->rounds_since_reap >= s->n_nodes) {
		reap(s, now);
		s->rounds_since_reap = 0;
	}
	ring_rebuild(s);
	m = (uint32_t)s->ring_n;
	i = self_in_ring(s);
	if (m < 2 || i >= m)
		return;
	pi = ovg_swim_round_partner(i, m, round);
	rounds = m - 1 + (m & 1);
	lo_starts = ((round / rounds) + round) % 2 == 0;
	if (pi >= m) {
		/* our bye (m odd): ping our ring successor anyway, so that every
		 * member is checked every round, one of them twice */
		partner = s->ring[(i + 1) % m];
		sl->responder = false;
	} else {
		partner = s->ring[pi];
		sl->responder = (i < pi) != lo_starts;
	}
	sl->active = true;
	sl->done = false;
	/* Lifeguard's slower probing when we are unhealthy: sit rounds out,
	 * only listening (our partner then checks us, and its packets still
	 * count as evidence that we hear again) */
	sl->passive = s->awareness > 0 && round % (uint64_t)(s->awareness + 1) != 0;
	if (s->awareness > 0 && !sl->passive) {
		/* the rounds we act in would alias with the pairing cycle (with 3
		 * members and a score of 2, always the same partner): walk the
		 * ring instead, so every member is probed within m - 1 of them */
		s->lha_pos = (s->lha_pos + 1) % m;
		if (s->lha_pos == i)
			s->lha_pos = (s->lha_pos + 1) % m;
		partner = s->ring[s->lha_pos];
		sl->responder = false;
	}
	sl->addr = partner->addr;
	memcpy(sl->name, partner->name, partner->name_len + 1);
	sl->name_len = partner->name_len;
	if (sl->responder)
		/* the initiator pings within P/8 of the round's start; a third of
		 * a probe timeout more covers the trip and small clock skew (more
		 * skew only costs a redundant probe) */
		sl->act_ms = start + P / 8 + s->cfg.probe_timeout_ms / 3;
	else
		sl->act_ms = start + ovg_rng_below(&s->rng, P / 8 + 1);
}

/* Any packet from this round's partner is our evidence that it is alive. */
static void slot_heard(struct ovg_swim *s, const struct ovg_addr *from, struct ovg_bytes name)
{
	struct slot *sl = &s->slot;

	if (!sl->active || sl->done || (!sl->responder && !sl->passive))
		return;
	if ((from && addr_eq(from, &sl->addr)) ||
	    (name.len == sl->name_len && memcmp(name.p, sl->name, name.len) == 0)) {
		sl->done = true;
		s->st.partner_heard++;
		awareness_delta(s, -1);   /* as for an ack: we hear and are heard */
	}
}

static void run_round(struct ovg_swim *s, uint64_t now)
{
	struct slot *sl = &s->slot;
	struct member *m;

	if (now >= s->next_round_ms)
		round_begin(s, now);
	if (!sl->active || sl->done || sl->passive || now < sl->act_ms ||
	    s->probe.phase != PROBE_IDLE)
		return;
	sl->done = true;
	m = lookup(s, sl->name, sl->name_len);
	if (m && m != s->self && is_live(m))
		probe_member(s, m, now);
}

static void run_probe(struct ovg_swim *s, uint64_t now)
{
	struct probe *p = &s->probe;

	if (p->phase == PROBE_DIRECT && now >= p->t_timeout_ms)
		probe_go_indirect(s, now);
	if (p->phase == PROBE_INDIRECT && now >= p->t_end_ms)
		probe_fail(s, now);
	if (s->left || s->cfg.disable_probes)
		return;
	if (s->cfg.probe_schedule == OVG_SWIM_SCHED_PAIRED)
		run_round(s, now);
	else if (p->phase == PROBE_IDLE && now >= s->next_probe_ms)
		probe_start(s, now);
}

/* ---- relays (indirect pings we run for others) -------------------------- */

static struct relay *relay_at(struct ovg_swim *s, size_t i)
{
	return &s->relays[(s->relay_head + i) % s->cfg.relay_max];
}

static struct relay *relay_find(struct ovg_swim *s, uint32_t seq)
{
	size_t lo = 0, hi = s->relay_n;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		struct relay *r = relay_at(s, mid);
		if (r->local_seq == seq)
			return r;
		if (seq_lt(r->local_seq, seq))
			lo = mid + 1;
		else
			hi = mid;
	}
	return NULL;
}

static void send_ack_or_nack(struct ovg_swim *s, uint8_t type, uint32_t seq,
			     const struct ovg_addr *to)
{
	struct ovg_msg m;
	uint8_t buf[64];
	size_t len;

	memset(&m, 0, sizeof(m));
	m.type = type;
	if (type == OVG_MSG_ACK)
		m.u.ack.seq_no = seq;
	else
		m.u.nack.seq_no = seq;
	if (ovg_wire_encode(&m, buf, sizeof(buf), &len) == 0)
		send_one(s, to, false, buf, len);
}

static void run_relays(struct ovg_swim *s, uint64_t now)
{
	while (s->relay_n && relay_at(s, 0)->deadline_ms <= now) {
		struct relay r = *relay_at(s, 0);

		s->relay_head = (s->relay_head + 1) % s->cfg.relay_max;
		s->relay_n--;
		if (!r.done && r.nack)
			send_ack_or_nack(s, OVG_MSG_NACK, r.orig_seq, &r.reply_to);
	}
}

/* ---- periodic gossip and push-pull -------------------------------------- */

static void gossip(struct ovg_swim *s, uint64_t now)
{
	struct member *peers[FANOUT_MAX];
	struct ovg_bytes views[PACKET_MSGS];
	size_t np, n, len, taken;

	if (s->q.n == 0)
		return;
	np = k_random(s, s->cfg.gossip_nodes, PICK_GOSSIP, NULL, now, peers);
	for (size_t i = 0; i < np; i++) {
		n = ovg_bcast_take(&s->q, transmit_limit(s), COMPOUND_PER_MSG,
				   s->cfg.packet_budget - COMPOUND_HDR, s->scratch,
				   s->cfg.packet_budget, views, PACKET_MSGS);
		if (n == 0)
			return;
		if (ovg_compound_build(views, n, s->cfg.packet_budget, s->pkt,
				       s->cfg.packet_budget, &len, &taken) < 0)
			continue;
		s->st.packets_out++;
		s->st.gossip_packets++;
		s->io.send_packet(s->io.ctx, &peers[i]->addr, s->pkt, len,
				  wants_crc(s, peers[i]));
	}
}

static void push_pull_tick(struct ovg_swim *s, uint64_t now)
{
	struct member *peer;

	if (k_random(s, 1, PICK_ALIVE, NULL, now, &peer) == 1) {
		s->st.push_pulls++;
		s->io.push_pull(s->io.ctx, &peer->addr, peer->name, false);
	}
}

/* ---- public: lifecycle --------------------------------------------------- */

void ovg_swim_config_default(struct ovg_swim_config *cfg)
{
	static const uint8_t vsn[OVG_VSN_LEN] = OVG_VSN_DEFAULT;

	memset(cfg, 0, sizeof(*cfg));
	memcpy(cfg->vsn, vsn, sizeof(vsn));
	cfg->probe_schedule = OVG_SWIM_SCHED_PAIRED;
	cfg->probe_interval_ms = 500;
	cfg->probe_timeout_ms = 150;
	cfg->suspicion_interval_ms = 250;
	cfg->gossip_interval_ms = 100;
	cfg->push_pull_interval_ms = 30000;
	cfg->gossip_to_the_dead_ms = 30000;
	cfg->dead_reclaim_ms = 0;
	cfg->gossip_nodes = 3;
	cfg->eager_fanout = 3;
	cfg->indirect_checks = 3;
	cfg->retransmit_mult = 4;
	cfg->suspicion_mult = 3;
	cfg->suspicion_max_mult = 6;
	cfg->awareness_max = 8;
	cfg->bcast_queue_max = 4096;
	cfg->members_max = 131072;
	cfg->relay_max = 1024;
	cfg->packet_budget = OVG_UDP_MAX - 29 - 5;
}

static bool config_ok(const struct ovg_swim_config *c, const struct ovg_swim_io *io)
{
	size_t nl;

	if (!c->name || !io || !io->send_packet)
		return false;
	nl = strlen(c->name);
	if (nl < 1 || nl > OVG_NAME_MAX)
		return false;
	if (c->addr.len != 4 && c->addr.len != 16)
		return false;
	if (c->meta_len > OVG_META_MAX || (c->meta_len && !c->meta))
		return false;
	if (c->probe_interval_ms == 0 || c->probe_timeout_ms == 0 ||
	    c->probe_timeout_ms >= c->probe_interval_ms)
		return false;
	if (c->probe_schedule != OVG_SWIM_SCHED_PAIRED &&
	    c->probe_schedule != OVG_SWIM_SCHED_SHUFFLED)
		return false;
	if (c->suspicion_mult < 1 || c->suspicion_max_mult < 1 || c->awareness_max < 1 ||
	    c->retransmit_mult < 1)
		return false;
	if (c->gossip_nodes > FANOUT_MAX || c->eager_fanout > FANOUT_MAX ||
	    c->indirect_checks > FANOUT_MAX)
		return false;
	if (c->packet_budget < 128 || c->packet_budget > 65000)
		return false;
	if (c->members_max < 1 || c->members_max > (1u << 30) || c->bcast_queue_max < 1 ||
	    c->relay_max < 1)
		return false;
	return true;
}

struct ovg_swim *ovg_swim_create(const struct ovg_swim_config *cfg,
				 const struct ovg_swim_io *io, const struct ovg_rng *rng,
				 uint64_t now_ms)
{
	struct ovg_swim *s;
	struct ovg_alive a;

	if (!cfg || !rng || !rng->next || !config_ok(cfg, io)) {
		errno = EINVAL;
		return NULL;
	}
	s = calloc(1, sizeof(*s));
	if (!s)
		goto nomem;
	s->cfg = *cfg;
	s->cfg.name = NULL;
	s->cfg.meta = NULL;
	s->io = *io;
	s->rng = *rng;
	s->hash_seed = ovg_rng_next(&s->rng);
	s->n_buckets = 64;
	s->buckets = calloc(s->n_buckets, sizeof(*s->buckets));
	s->relays = calloc(cfg->relay_max, sizeof(*s->relays));
	s->pkt = malloc(cfg->packet_budget);
	s->scratch = malloc(cfg->packet_budget);
	if (!s->buckets || !s->relays || !s->pkt || !s->scratch)
		goto nomem_free;
	ovg_bcast_init(&s->q, cfg->bcast_queue_max);
	s->q.on_finish = on_bcast_finish;
	s->q.ctx = s;
	s->last_now_ms = now_ms;

	s->self = member_add(s, ovg_bytes_make(cfg->name, strlen(cfg->name)), &cfg->addr,
			     now_ms);
	if (!s->self || set_meta_bytes(s->self, cfg->meta, cfg->meta_len) < 0)
		goto nomem_free;
	memcpy(s->self->vsn, cfg->vsn, OVG_VSN_LEN);
	s->self->vsn_known = true;
	s->self->inc = cfg->incarnation;

	/* setAlive: we are alive at the next incarnation */
	memset(&a, 0, sizeof(a));
	a.incarnation = cfg->incarnation + 1;
	a.node = ovg_bytes_make(s->self->name, s->self->name_len);
	a.addr = ovg_bytes_make(cfg->addr.ip, cfg->addr.len);
	a.port = cfg->addr.port;
	a.meta = ovg_bytes_make(s->self->meta, s->self->meta_len);
	memcpy(a.vsn, cfg->vsn, OVG_VSN_LEN);
	a.vsn_len = OVG_VSN_LEN;
	s->depth = 1;
	alive_node(s, &a, true, now_ms);
	s->depth = 0;
	ovg_bcast_clear_eager(&s->q);   /* nobody to push to yet */

	/* random stagger so nodes started together do not tick together */
	s->next_probe_ms = now_ms + ovg_rng_below(&s->rng, cfg->probe_interval_ms);
	s->next_round_ms = now_ms;
	s->next_gossip_ms = now_ms + (cfg->gossip_interval_ms ?
				      ovg_rng_below(&s->rng, cfg->gossip_interval_ms) : 0);
	s->next_pp_ms = now_ms + (cfg->push_pull_interval_ms ?
				  ovg_rng_below(&s->rng, cfg->push_pull_interval_ms) : 0);
	return s;

nomem_free:
	ovg_swim_destroy(s);
nomem:
	errno = ENOMEM;
	return NULL;
}

void ovg_swim_destroy(struct ovg_swim *s)
{
	if (!s)
		return;
	s->q.on_finish = NULL;
	for (size_t i = 0; i < s->n_nodes; i++) {
		ovg_bcast_disown(&s->nodes[i]->bcast);
		member_free(s->nodes[i]);
	}
	ovg_bcast_free(&s->q);
	free(s->nodes);
	free(s->buckets);
	free(s->heap);
	free(s->ring);
	free(s->pend);
	free(s->relays);
	free(s->pkt);
	free(s->scratch);
	free(s);
}

/* ---- public: inbound ------------------------------------------------------ */

static void handle_ping(struct ovg_swim *s, const struct ovg_ping *p,
			const struct ovg_addr *from)
{
	struct ovg_addr to = *from;

	if (p->node.len && !(p->node.len == s->self->name_len &&
			     memcmp(p->node.p, s->self->name, p->node.len) == 0)) {
		slog(s, OVG_SWIM_LOG_WARN, "swim: ping for unexpected node %.*s",
		     (int)p->node.len, (const char *)p->node.p);
		return;
	}
	if (p->source_port > 0)
		addr_from_bytes(&to, p->source_addr, p->source_port);
	if (p->source_node.len)
		slot_heard(s, NULL, p->source_node);
	send_ack_or_nack(s, OVG_MSG_ACK, p->seq_no, &to);
}

static int handle_indirect(struct ovg_swim *s, const struct ovg_indirect_ping *ind,
			   const struct ovg_addr *from, uint64_t now)
{
	struct ovg_addr target, reply = *from;
	struct relay *r;
	uint8_t buf[MSG_BUF];
	size_t len;

	if (!addr_from_bytes(&target, ind->target, ind->port ? ind->port : s->cfg.addr.port) ||
	    ind->node.len > OVG_NAME_MAX)
		return -EBADMSG;
	if (ind->source_port > 0)
		addr_from_bytes(&reply, ind->source_addr, ind->source_port);
	if (s->relay_n >= s->cfg.relay_max) {
		s->st.relays_dropped++;
		return 0;
	}
	r = relay_at(s, s->relay_n);
	r->local_seq = ++s->seq;
	r->orig_seq = ind->seq_no;
	r->reply_to = reply;
	r->deadline_ms = now + s->cfg.probe_timeout_ms;
	r->nack = ind->nack;
	r->done = false;
	s->relay_n++;
	s->st.relays++;
	if (enc_ping(r->local_seq, (const char *)ind->node.p, ind->node.len, buf,
		     sizeof(buf), &len) == 0)
		send_one(s, &target, wants_crc(s, lookup_b(s, ind->node)), buf, len);
	return 0;
}

static void handle_ack(struct ovg_swim *s, uint32_t seq, uint64_t now)
{
	struct probe *p = &s->probe;
	struct relay *r;

	if (p->phase != PROBE_IDLE && seq == p->seq) {
		if (now <= p->t_end_ms)
			probe_success(s);
		return;
	}
	r = relay_find(s, seq);
	if (r && !r->done) {
		r->done = true;
		send_ack_or_nack(s, OVG_MSG_ACK, r->orig_seq, &r->reply_to);
	}
}

static bool user_fits(const struct ovg_swim *s, size_t len_with_type)
{
	return len_with_type + COMPOUND_HDR + COMPOUND_PER_MSG <= s->cfg.packet_budget &&
	       len_with_type <= OVG_BCAST_MSG_MAX;
}

/* msg starts with the 08 type byte. */
static void handle_user(struct ovg_swim *s, const uint8_t *msg, size_t len, uint64_t now)
{
	if (!s->io.user_msg)
		return;
	if (s->io.user_msg(s->io.ctx, msg + 1, len - 1, now) && user_fits(s, len))
		queue_msg(s, NULL, msg, len, false);
}

static int handle_one(struct ovg_swim *s, const struct ovg_addr *from, const uint8_t *buf,
		      size_t len, uint64_t now, int nest);

static int handle_compound(struct ovg_swim *s, const struct ovg_addr *from,
			   const uint8_t *buf, size_t len, uint64_t now, int nest)
{
	struct ovg_bytes parts[OVG_COMPOUND_MAX];
	size_t n = 0;
	int rc = ovg_compound_parse(buf + 1, len - 1, parts, OVG_COMPOUND_MAX, &n);

	if (nest > 2)
		return -EBADMSG;
	for (size_t i = 0; i < n; i++)
		handle_one(s, from, parts[i].p, parts[i].len, now, nest + 1);
	return rc < 0 ? rc : 0;
}

static int handle_one(struct ovg_swim *s, const struct ovg_addr *from, const uint8_t *buf,
		      size_t len, uint64_t now, int nest)
{
	struct ovg_msg m;
	int rc = -EBADMSG;

	s->st.msgs_in++;
	if (len < 1)
		goto bad;
	if (buf[0] == OVG_MSG_USER) {
		handle_user(s, buf, len, now);
		return 0;
	}
	if (buf[0] == OVG_MSG_COMPOUND) {
		rc = handle_compound(s, from, buf, len, now, nest);
		if (rc < 0)
			goto bad;
		return 0;
	}
	rc = ovg_wire_decode(buf, len, &m);
	if (rc < 0)
		goto bad;
	switch (m.type) {
	case OVG_MSG_PING:
		handle_ping(s, &m.u.ping, from);
		return 0;
	case OVG_MSG_INDIRECT_PING:
		rc = handle_indirect(s, &m.u.indirect_ping, from, now);
		if (rc < 0)
			goto bad;
		return 0;
	case OVG_MSG_ACK:
		handle_ack(s, m.u.ack.seq_no, now);
		return 0;
	case OVG_MSG_NACK:
		if (s->probe.phase == PROBE_INDIRECT && m.u.nack.seq_no == s->probe.seq &&
		    s->probe.nacks < s->probe.expected_nacks)
			s->probe.nacks++;
		return 0;
	case OVG_MSG_SUSPECT:
		if (m.u.suspect.from.len > OVG_NAME_MAX)
			goto bad;
		suspect_node(s, m.u.suspect.incarnation, m.u.suspect.node, m.u.suspect.from,
			     from, now);
		return 0;
	case OVG_MSG_ALIVE:
		alive_node(s, &m.u.alive, false, now);
		return 0;
	case OVG_MSG_DEAD:
		if (m.u.suspect.from.len > OVG_NAME_MAX)
			goto bad;
		dead_node(s, m.u.suspect.incarnation, m.u.suspect.node, m.u.suspect.from, from,
			  now);
		return 0;
	case OVG_MSG_ERR:
		return 0;
	default:
		rc = -EPROTONOSUPPORT;
		goto bad;
	}
bad:
	s->st.msgs_bad++;
	return rc;
}

int ovg_swim_handle_msgs(struct ovg_swim *s, const struct ovg_addr *from,
			 const struct ovg_bytes *msgs, size_t n, uint64_t now_ms)
{
	int bad = 0;

	if (!from || (n && !msgs))
		return -EINVAL;
	enter(s, now_ms);
	if (s->depth == 1 && from) {
		s->excl = *from;
		s->has_excl = true;
	}
	slot_heard(s, from, ovg_bytes_make(NULL, 0));
	for (size_t i = 0; i < n; i++) {
		if (handle_one(s, from, msgs[i].p, msgs[i].len, now_ms, 0) < 0)
			bad++;
	}
	run_suspicions(s, now_ms);   /* confirmations may have expired a timer */
	leave_call(s, now_ms);
	return bad;
}

int ovg_swim_handle_msg(struct ovg_swim *s, const struct ovg_addr *from, const uint8_t *msg,
			size_t len, uint64_t now_ms)
{
	struct ovg_bytes v = ovg_bytes_make(msg, len);
	uint64_t bad_before = s->st.msgs_bad;
	int rc;

	if (!from || (len && !msg))
		return -EINVAL;
	enter(s, now_ms);
	if (s->depth == 1 && from) {
		s->excl = *from;
		s->has_excl = true;
	}
	slot_heard(s, from, ovg_bytes_make(NULL, 0));
	rc = handle_one(s, from, v.p, v.len, now_ms, 0);
	run_suspicions(s, now_ms);
	leave_call(s, now_ms);
	if (rc == 0 && s->st.msgs_bad != bad_before)
		rc = -EBADMSG;
	return rc;
}

void ovg_swim_handle_stream_user(struct ovg_swim *s, const uint8_t *msg, size_t len,
				 uint64_t now_ms)
{
	uint8_t *buf;

	if (!s->io.user_msg)
		return;
	enter(s, now_ms);
	if (s->io.user_msg(s->io.ctx, msg, len, now_ms) && user_fits(s, len + 1)) {
		buf = malloc(len + 1);
		if (buf) {
			buf[0] = OVG_MSG_USER;
			memcpy(buf + 1, msg, len);
			queue_msg(s, NULL, buf, len + 1, false);
			free(buf);
		}
	}
	leave_call(s, now_ms);
}

void ovg_swim_tcp_ping_result(struct ovg_swim *s, uint32_t seq, bool ok, uint64_t now_ms)
{
	struct probe *p = &s->probe;

	enter(s, now_ms);
	if (ok && p->phase != PROBE_IDLE && seq == p->seq && now_ms <= p->t_end_ms) {
		slog(s, OVG_SWIM_LOG_WARN,
		     "swim: reached %s over TCP but UDP probes failed, network may be misconfigured",
		     p->name);
		probe_success(s);
	}
	leave_call(s, now_ms);
}

/* ---- public: timers ------------------------------------------------------- */

void ovg_swim_tick(struct ovg_swim *s, uint64_t now_ms)
{
	enter(s, now_ms);
	run_suspicions(s, now_ms);
	run_relays(s, now_ms);
	run_probe(s, now_ms);
	if (s->cfg.gossip_interval_ms && now_ms >= s->next_gossip_ms) {
		gossip(s, now_ms);
		s->next_gossip_ms += s->cfg.gossip_interval_ms;
		if (s->next_gossip_ms <= now_ms)   /* missed ticks are skipped */
			s->next_gossip_ms = now_ms + s->cfg.gossip_interval_ms;
	}
	if (s->cfg.push_pull_interval_ms && s->io.push_pull && now_ms >= s->next_pp_ms) {
		if (!s->left)
			push_pull_tick(s, now_ms);
		s->next_pp_ms = now_ms + ovg_swim_push_pull_scale_ms(s->cfg.push_pull_interval_ms,
								     s->n_nodes);
	}
	leave_call(s, now_ms);
}

uint64_t ovg_swim_next_deadline_ms(const struct ovg_swim *s)
{
	const struct probe *p = &s->probe;
	uint64_t t = s->last_now_ms + 60000;

	if (p->phase == PROBE_DIRECT)
		t = OVG_MIN(t, p->t_timeout_ms);
	else if (p->phase == PROBE_INDIRECT)
		t = OVG_MIN(t, p->t_end_ms);
	else if (!s->left && !s->cfg.disable_probes &&
		 s->cfg.probe_schedule == OVG_SWIM_SCHED_SHUFFLED)
		t = OVG_MIN(t, s->next_probe_ms);
	if (!s->left && !s->cfg.disable_probes &&
	    s->cfg.probe_schedule == OVG_SWIM_SCHED_PAIRED) {
		t = OVG_MIN(t, s->next_round_ms);
		if (s->slot.active && !s->slot.done && !s->slot.passive &&
		    p->phase == PROBE_IDLE)
			t = OVG_MIN(t, s->slot.act_ms);
	}
	if (s->cfg.gossip_interval_ms)
		t = OVG_MIN(t, s->next_gossip_ms);
	if (s->cfg.push_pull_interval_ms && s->io.push_pull)
		t = OVG_MIN(t, s->next_pp_ms);
	if (s->heap_n)
		t = OVG_MIN(t, s->heap[0]->susp->deadline_ms);
	if (s->relay_n)
		t = OVG_MIN(t, s->relays[s->relay_head].deadline_ms);
	return t;
}

void ovg_swim_set_clock_offset(struct ovg_swim *s, int64_t offset_ms)
{
	s->cfg.clock_offset_ms = offset_ms;
}

/* ---- public: join, leave, meta, user messages ---------------------------- */

int ovg_swim_join(struct ovg_swim *s, const struct ovg_addr *addrs, size_t n,
		  uint64_t now_ms)
{
	if (!s->io.push_pull || (n && !addrs))
		return -EINVAL;
	enter(s, now_ms);
	for (size_t i = 0; i < n; i++) {
		s->st.push_pulls++;
		s->io.push_pull(s->io.ctx, &addrs[i], NULL, true);
	}
	leave_call(s, now_ms);
	return 0;
}

int ovg_swim_leave(struct ovg_swim *s, uint64_t now_ms)
{
	struct ovg_bytes me = ovg_bytes_make(s->self->name, s->self->name_len);

	if (s->left)
		return -EALREADY;
	enter(s, now_ms);
	s->left = true;
	s->probe.phase = PROBE_IDLE;
	dead_node(s, s->self->inc, me, me, NULL, now_ms);
	if (s->n_live == 0)          /* nobody alive to tell (self is LEFT now) */
		s->leave_done = true;
	leave_call(s, now_ms);
	return 0;
}

bool ovg_swim_leave_done(const struct ovg_swim *s)
{
	return s->left && s->leave_done;
}

int ovg_swim_set_meta(struct ovg_swim *s, const uint8_t *meta, size_t len, uint64_t now_ms)
{
	int rc;

	if (len > OVG_META_MAX)
		return -EMSGSIZE;
	if (s->left)
		return -EALREADY;
	enter(s, now_ms);
	rc = set_meta_bytes(s->self, meta, len);
	if (rc == 0) {
		s->self->inc++;
		queue_alive(s, s->self);
		emit(s, OVG_SWIM_EV_UPDATE, s->self);
	}
	leave_call(s, now_ms);
	return rc;
}

int ovg_swim_user_broadcast(struct ovg_swim *s, const uint8_t *msg, size_t len,
			    uint64_t now_ms)
{
	uint8_t *buf;
	int rc;

	if (!user_fits(s, len + 1))
		return -EMSGSIZE;
	buf = malloc(len + 1);
	if (!buf)
		return -ENOMEM;
	buf[0] = OVG_MSG_USER;
	if (len)
		memcpy(buf + 1, msg, len);
	enter(s, now_ms);
	rc = ovg_bcast_push(&s->q, buf, len + 1, NULL, s->cfg.eager_fanout > 0, false);
	if (rc == 0)
		s->st.bcast_queued++;
	leave_call(s, now_ms);
	free(buf);
	return rc;
}

/* ---- public: push-pull ---------------------------------------------------- */

struct growbuf {
	uint8_t *p;
	size_t len, cap;
};

static int gb_reserve(struct growbuf *b, size_t more)
{
	size_t nc;
	uint8_t *p;

	if (b->len + more <= b->cap)
		return 0;
	nc = b->cap ? b->cap : 256;
	while (nc < b->len + more)
		nc *= 2;
	if (nc > OVG_STREAM_MAX * 2)
		return -EMSGSIZE;
	p = realloc(b->p, nc);
	if (!p)
		return -ENOMEM;
	b->p = p;
	b->cap = nc;
	return 0;
}

/* Encode with a body codec, growing the buffer on -ENOSPC. */
#define GB_ENCODE(b, fn, obj)                                                        \
	({                                                                           \
		int _rc;                                                             \
		size_t _l = 0;                                                       \
		for (;;) {                                                           \
			_rc = fn((obj), (b)->p + (b)->len, (b)->cap - (b)->len, &_l); \
			if (_rc != -ENOSPC)                                          \
				break;                                               \
			_rc = gb_reserve((b), (b)->cap + 256);                       \
			if (_rc < 0)                                                 \
				break;                                               \
		}                                                                    \
		if (_rc == 0)                                                        \
			(b)->len += _l;                                              \
		_rc;                                                                 \
	})

int ovg_swim_push_pull_build(struct ovg_swim *s, bool join, uint8_t **out, size_t *out_len)
{
	struct growbuf b = { 0 };
	struct ovg_push_pull_header h;
	uint8_t *user = NULL;
	size_t user_len = 0, est = 64;
	int rc;

	*out = NULL;
	*out_len = 0;
	if (s->io.local_state) {
		rc = s->io.local_state(s->io.ctx, join, &user, &user_len);
		if (rc < 0)
			return rc;
		if (!user)
			user_len = 0;
	}
	for (size_t i = 0; i < s->n_nodes; i++)
		est += 96 + s->nodes[i]->name_len + s->nodes[i]->meta_len;
	rc = gb_reserve(&b, est + user_len);
	if (rc < 0)
		goto fail;
	b.p[b.len++] = OVG_MSG_PUSH_PULL;
	h.nodes = (int64_t)s->n_nodes;
	h.user_state_len = (int64_t)user_len;
	h.join = join;
	rc = GB_ENCODE(&b, ovg_wire_encode_push_pull_header, &h);
	if (rc < 0)
		goto fail;
	for (size_t i = 0; i < s->n_nodes; i++) {
		const struct member *m = s->nodes[i];
		struct ovg_push_node pn;

		memset(&pn, 0, sizeof(pn));
		pn.name = ovg_bytes_make(m->name, m->name_len);
		pn.addr = ovg_bytes_make(m->addr.ip, m->addr.len);
		pn.port = m->addr.port;
		pn.meta = ovg_bytes_make(m->meta, m->meta_len);
		pn.incarnation = m->inc;
		pn.state = m->state;
		memcpy(pn.vsn, m->vsn, OVG_VSN_LEN);
		pn.vsn_len = m->vsn_known ? OVG_VSN_LEN : 0;
		rc = GB_ENCODE(&b, ovg_wire_encode_push_node, &pn);
		if (rc < 0)
			goto fail;
	}
	if (user_len) {
		rc = gb_reserve(&b, user_len);
		if (rc < 0)
			goto fail;
		memcpy(b.p + b.len, user, user_len);
		b.len += user_len;
	}
	free(user);
	*out = b.p;
	*out_len = b.len;
	return 0;
fail:
	free(user);
	free(b.p);
	return rc;
}

/* memberlist verifyProtocol: every node's current protocol and delegate
 * versions must lie within the range all alive nodes understand. */
static bool verify_protocol(const struct ovg_swim *s, const struct ovg_push_node *r, size_t n)
{
	unsigned maxpmin = 0, minpmax = 255, maxdmin = 0, mindmax = 255;

	for (size_t i = 0; i < n; i++) {
		if (r[i].state != OVG_STATE_ALIVE || r[i].vsn_len < 5)
			continue;
		maxpmin = OVG_MAX(maxpmin, r[i].vsn[0]);
		minpmax = OVG_MIN(minpmax, r[i].vsn[1]);
		maxdmin = OVG_MAX(maxdmin, r[i].vsn[3]);
		mindmax = OVG_MIN(mindmax, r[i].vsn[4]);
	}
	for (size_t i = 0; i < s->n_nodes; i++) {
		const struct member *m = s->nodes[i];
		if (m->state != OVG_STATE_ALIVE)
			continue;
		maxpmin = OVG_MAX(maxpmin, m->vsn[0]);
		minpmax = OVG_MIN(minpmax, m->vsn[1]);
		maxdmin = OVG_MAX(maxdmin, m->vsn[3]);
		mindmax = OVG_MIN(mindmax, m->vsn[4]);
	}
	for (size_t i = 0; i < n; i++) {
		unsigned pc = r[i].vsn_len >= 6 ? r[i].vsn[2] : 0;
		unsigned dc = r[i].vsn_len >= 6 ? r[i].vsn[5] : 0;
		if (pc < maxpmin || pc > minpmax || dc < maxdmin || dc > mindmax)
			return false;
	}
	for (size_t i = 0; i < s->n_nodes; i++) {
		const struct member *m = s->nodes[i];
		if (m->vsn[2] < maxpmin || m->vsn[2] > minpmax || m->vsn[5] < maxdmin ||
		    m->vsn[5] > mindmax)
			return false;
	}
	return true;
}

static void reserve_members(struct ovg_swim *s, size_t total);

/* an_flags: AN_QUIET for a preload, which also withdraws the news that
 * suspect/dead/left records queue about others (old news to the cluster). */
static void merge_records(struct ovg_swim *s, const struct ovg_push_node *r, size_t n,
			  uint64_t now, unsigned an_flags)
{
	struct ovg_bytes me = ovg_bytes_make(s->self->name, s->self->name_len);

	/* a join brings the whole cluster: size the tables once (a periodic
	 * push-pull, mostly members we know, finds them big enough) */
	reserve_members(s, OVG_MAX(s->n_nodes, n) + 1);
	for (size_t i = 0; i < n; i++) {
		struct ovg_alive a;
		struct member *m;

		switch (r[i].state) {
		case OVG_STATE_ALIVE:
			memset(&a, 0, sizeof(a));
			a.incarnation = r[i].incarnation;
			a.node = r[i].name;
			a.addr = r[i].addr;
			a.port = r[i].port;
			a.meta = r[i].meta;
			memcpy(a.vsn, r[i].vsn, OVG_VSN_LEN);
			a.vsn_len = r[i].vsn_len;
			alive_node_f(s, &a, an_flags & AN_QUIET, now);
			continue;
		case OVG_STATE_LEFT:
			dead_node(s, r[i].incarnation, r[i].name, r[i].name, NULL, now);
			break;
		case OVG_STATE_DEAD:     /* a peer's "dead" is only a suspicion here */
		case OVG_STATE_SUSPECT:
			suspect_node(s, r[i].incarnation, r[i].name, me, NULL, now);
			break;
		default:
			continue;
		}
		if ((an_flags & AN_QUIET) && (m = lookup_b(s, r[i].name)) != NULL && m != s->self)
			ovg_bcast_cancel(&s->q, &m->bcast);
	}
}

static void merge_nodes(struct ovg_swim *s, const struct ovg_push_node *r, size_t n,
			uint64_t now)
{
	merge_records(s, r, n, now, 0);
}

void ovg_swim_merge_nodes(struct ovg_swim *s, const struct ovg_push_node *nodes, size_t n,
			  uint64_t now_ms)
{
	enter(s, now_ms);
	merge_nodes(s, nodes, n, now_ms);
	run_suspicions(s, now_ms);
	leave_call(s, now_ms);
}

int ovg_swim_push_pull_merge(struct ovg_swim *s, const uint8_t *msg, size_t len,
			     uint64_t now_ms, bool *join)
{
	struct ovg_push_pull_header h;
	struct ovg_push_node *nodes = NULL;
	size_t pos = 1, n;
	int rc;

	if (len < 1 || msg[0] != OVG_MSG_PUSH_PULL)
		return -EBADMSG;
	rc = ovg_wire_decode_push_pull_header(msg, len, &pos, &h);
	if (rc < 0)
		return rc;
	/* every node record takes more than one byte: never allocate beyond that */
	if (h.nodes < 0 || (uint64_t)h.nodes > len - pos || (uint64_t)h.nodes > s->cfg.members_max)
		return -EMSGSIZE;
	if (h.user_state_len < 0 || (uint64_t)h.user_state_len > len)
		return -EMSGSIZE;
	n = (size_t)h.nodes;
	if (n) {
		nodes = calloc(n, sizeof(*nodes));
		if (!nodes)
			return -ENOMEM;
	}
	for (size_t i = 0; i < n; i++) {
		rc = ovg_wire_decode_push_node(msg, len, &pos, &nodes[i]);
		if (rc < 0)
			goto out;
	}
	if (len - pos < (size_t)h.user_state_len) {
		rc = -EBADMSG;
		goto out;
	}
	if (!verify_protocol(s, nodes, n)) {
		slog(s, OVG_SWIM_LOG_ERR, "swim: push-pull refused: incompatible protocol versions");
		rc = -EPROTO;
		goto out;
	}
	if (join)
		*join = h.join;
	enter(s, now_ms);
	merge_nodes(s, nodes, n, now_ms);
	if (h.user_state_len > 0 && s->io.merge_state)
		s->io.merge_state(s->io.ctx, msg + pos, (size_t)h.user_state_len, h.join, now_ms);
	run_suspicions(s, now_ms);
	leave_call(s, now_ms);
	rc = 0;
out:
	free(nodes);
	return rc;
}

/* ---- public: queries ------------------------------------------------------ */

size_t ovg_swim_member_count(const struct ovg_swim *s)
{
	return s->n_nodes;
}

int ovg_swim_member_get(const struct ovg_swim *s, size_t i, struct ovg_swim_member *out)
{
	if (i >= s->n_nodes)
		return -ENOENT;
	member_view(s, s->nodes[i], out);
	return 0;
}

int ovg_swim_member_find(const struct ovg_swim *s, const char *name,
			 struct ovg_swim_member *out)
{
	size_t len = strlen(name);
	struct member *m = len && len <= OVG_NAME_MAX ? lookup(s, name, len) : NULL;

	if (!m)
		return -ENOENT;
	if (out)
		member_view(s, m, out);
	return 0;
}

size_t ovg_swim_num_alive(const struct ovg_swim *s)
{
	return s->n_live;
}

const char *ovg_swim_name(const struct ovg_swim *s)
{
	return s->self->name;
}

uint32_t ovg_swim_incarnation(const struct ovg_swim *s)
{
	return s->self->inc;
}

int ovg_swim_health_score(const struct ovg_swim *s)
{
	return s->awareness;
}

bool ovg_swim_has_left(const struct ovg_swim *s)
{
	return s->left;
}

void ovg_swim_get_stats(const struct ovg_swim *s, struct ovg_swim_stats *out)
{
	*out = s->st;
	out->bcast_dropped = s->q.dropped;
}

size_t ovg_swim_bcast_queued(const struct ovg_swim *s)
{
	return s->q.n;
}

/* ---- bulk bootstrap (ovg_swim_preload) ------------------------------------ */

/* Room for `total` members (bounded by members_max) in the member array and
 * the hash table, so a merge of a whole cluster does not regrow them step by
 * step. Best effort: member_add still grows them as needed. */
static void reserve_members(struct ovg_swim *s, size_t total)
{
	size_t nb = s->n_buckets;

	if (total > s->cfg.members_max)
		total = s->cfg.members_max;
	if (total > s->nodes_cap) {
		struct member **n = realloc(s->nodes, total * sizeof(*n));
		if (n) {
			s->nodes = n;
			s->nodes_cap = total;
		}
	}
	while (nb < total)
		nb *= 2;
	if (nb > s->n_buckets)
		(void)grow_buckets_to(s, nb);
}

int ovg_swim_preload(struct ovg_swim *s, const struct ovg_push_node *nodes, size_t n,
		     uint64_t now_ms)
{
	uint32_t self_inc;
	size_t want;
	bool known = false;

	if (!s || (n && !nodes))
		return -EINVAL;
	if (s->n_nodes != 1 || s->left)
		return -EALREADY;
	enter(s, now_ms);
	self_inc = s->self->inc;
	ring_rebuild(s);                   /* self: the records alone are pending */
	/* size the pending list once, exactly; in ring order (as push-pull
	 * records often are) ring_rebuild merges them without a sort */
	want = s->pend_n + OVG_MIN(n, (size_t)s->cfg.members_max);
	if (want > s->pend_cap) {
		struct member **pp = realloc(s->pend, want * sizeof(*pp));
		if (pp) {
			s->pend = pp;
			s->pend_cap = want;
		}
	}
	reserve_members(s, n + 1);
	merge_records(s, nodes, n, now_ms, AN_QUIET);
	/* the cluster already knows us at this incarnation: our announcement
	 * from create is old news too (a refutation is not, and stays) */
	for (size_t i = 0; i < n && !known; i++)
		known = nodes[i].state == OVG_STATE_ALIVE &&
			nodes[i].incarnation == self_inc &&
			nodes[i].name.len == s->self->name_len &&
			memcmp(nodes[i].name.p, s->self->name, s->self->name_len) == 0;
	if (known && s->self->inc == self_inc)
		ovg_bcast_cancel(&s->q, &s->self->bcast);
	ring_rebuild(s);
	run_suspicions(s, now_ms);
	leave_call(s, now_ms);
	return 0;
}
