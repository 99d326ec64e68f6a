/*
 * Internals of the replicated state, shared by gossip/state*.c and
 * gossip/ipam.c only. See include/ovg/state.h for the model.
 */
#ifndef OVG_STATE_INT_H
#define OVG_STATE_INT_H

#include <assert.h>
#include <stdlib.h>
#include "ovg/state.h"

#define NO_OWNER UINT32_MAX
#define IPAM_REQ_MAX 64          /* pending block requests */
#define TOUCH_MAX OVG_STATE_MAX_NETS

struct net;

/* A stored record. The key (owner, kind, net/name/block/gen/target) is unique
 * in the key table; the owner list keeps each owner's records by version. */
struct rec {
	struct rec *prev, *next;        /* owner's list, version ascending */
	struct rec *knext;              /* key table chain */
	struct rec *inext;              /* EP: (net, ip) chain; XFER: block list */
	struct rec *nnext;              /* EP: (net, name) chain */
	struct rec *lprev, *lnext;      /* EP: the network's endpoint list */
	struct net *net;                /* NET, NETDEL, EP, XFER */
	uint64_t khash;
	uint64_t version;
	uint64_t ms;
	uint64_t target_version;        /* NODERM */
	uint32_t owner;                 /* writer */
	uint32_t target;                /* XFER: to; NODERM: removed instance */
	uint32_t vni, subnet, gateway;  /* NET */
	uint32_t ip;                    /* EP */
	uint32_t block, gen;            /* XFER: block, gen; EP: gen */
	uint8_t kind;
	uint8_t prefix;
	uint8_t flags;
	bool attachable;
	bool detached;
	bool in_block;                  /* XFER: in net->blocks[] (else pending) */
	uint8_t name_len;
	char name[];                    /* NET, EP; NUL-terminated */
};

struct owner {
	char name[OVG_STATE_NAME_MAX + 1];
	uint64_t inst;
	uint64_t wm;                    /* holds all records with version <= wm */
	uint64_t adv;                   /* highest watermark a peer's digest showed */
	struct rec *head, *tail;
	struct rec *node;               /* its NODE record, if known */
	uint32_t rm_count;              /* NODERM records naming it */
	uint32_t nrecs;
};

struct net {
	uint8_t id[16];
	struct net *hnext;              /* id table chain */
	struct net *lnext;              /* list of all nets, newest first */
	struct rec *def;                /* best NET record; NULL: not known */
	struct rec *eps;                /* EP records (lnext) */
	struct rec **blocks;            /* per block: XFERs of the highest gen, best first */
	struct rec *pending;            /* XFERs seen before the definition (inext) */
	uint32_t ndefs;                 /* NET records held for this id (normally 1) */
	uint32_t nblocks, bsize;
	uint32_t neps;
	bool deleted;
	bool touched;
};

/* A chained hash table of records through the link at link_off. */
struct rtab {
	struct rec **b;
	size_t mask;                    /* buckets - 1 */
	size_t n;
	size_t link_off;
	uint64_t (*hash)(const struct rec *r);
};

struct ipam_req {
	struct net *net;
	uint32_t owner;                 /* ask this instance */
	int32_t block;                  /* -1 any */
	uint32_t count;
	uint64_t next_ms, expire_ms;
	bool used;
};

struct ovg_state {
	char name[OVG_STATE_NAME_MAX + 1];
	struct ovg_rng rng;
	void (*net_changed)(void *ctx, const uint8_t net_id[16]);
	bool (*node_alive)(void *ctx, const char *node_name);
	void *ctx;

	uint32_t self;                  /* our owner index */
	uint64_t pushed;                /* own versions handed to push_next */
	bool dirty;                     /* needs save */
	bool superseded;
	bool self_removed;              /* seen a NODERM for us: start a new instance */
	bool check_owners;              /* look for removed owners' blocks / our old instances */
	bool caught_up;                 /* since the restart, a peer's digest showed nothing we lack */
	/* the last SUMMARY/DIGEST that showed a peer holding exactly what we
	 * held: when, and our summary then (ovg_state_in_sync_since) */
	bool in_sync;
	uint64_t in_sync_ms;
	uint32_t in_sync_count;
	uint64_t in_sync_hash;

	struct owner *owners;
	uint32_t nowners, owners_cap;

	struct net **nettab;
	size_t netmask;
	uint32_t nnets, nnets_deleted;
	struct net *nets;

	struct rtab ktab, iptab, nametab;
	uint32_t nrecs, neps;

	struct ipam_req reqs[IPAM_REQ_MAX];

	struct net **touched;           /* nets to report at the end of a call */
	uint32_t ntouched;
	int in_callback;

	uint64_t mem;
	uint64_t applied, dropped, bad_messages, reinstanced;
};

/* ---- state.c: store ------------------------------------------------------------- */
void *st_alloc(struct ovg_state *st, size_t size);
void st_free(struct ovg_state *st, void *p);
struct owner *owner_get(const struct ovg_state *st, uint32_t idx);
uint32_t owner_find(const struct ovg_state *st, const char *name, size_t len, uint64_t inst);
int owner_intern(struct ovg_state *st, const char *name, size_t len, uint64_t inst, uint32_t *idx);
bool owner_removed(const struct ovg_state *st, uint32_t idx);
/* Known only by name (no records, no watermark, not removed): left out of
 * digests and hashes, so garbage naming instances leaves no trace there. */
static inline bool owner_visible(const struct owner *o)
{
	return o->wm || o->head || o->rm_count;
}
int owner_cmp(const struct ovg_state *st, uint32_t a, uint32_t b);
struct net *net_find(const struct ovg_state *st, const uint8_t id[16]);
int net_intern(struct ovg_state *st, const uint8_t id[16], struct net **out);
void net_touch(struct ovg_state *st, struct net *n);
void net_touch_related(struct ovg_state *st, struct net *n);
void flush_touched(struct ovg_state *st);
/* Apply one record of owner oi: 0 (stored, ignored as old, or dropped by a
 * rule), -ENOSPC (caps: the section's watermark must not advance), -ENOMEM. */
int apply_rec(struct ovg_state *st, uint32_t oi, const struct ovg_state_wrec *w, bool *changed);
/* Write our own record: version = ++ours. 0 or -errno. */
int emit(struct ovg_state *st, struct ovg_state_wrec *w);
void rec_to_wire(const struct ovg_state *st, const struct rec *r, struct ovg_state_wrec *w);
void after_changes(struct ovg_state *st, uint64_t now_ms);
struct rec *ep_find(const struct ovg_state *st, struct net *n, uint32_t owner, const char *name, size_t len);
struct rec *ip_chain(const struct ovg_state *st, struct net *n, uint32_t ip);
struct rec *name_chain(const struct ovg_state *st, struct net *n, const char *name, size_t len);
uint64_t hash_bytes(uint64_t h, const void *p, size_t len);

/* ---- state_view.c ------------------------------------------------------------------ */
bool net_usable(const struct net *n);          /* definition known, not deleted */
int net_order(const struct ovg_state *st, const struct net *a, const struct net *b);
bool ep_base_live(const struct ovg_state *st, const struct rec *e);
bool ep_live(const struct ovg_state *st, const struct rec *e);
void net_fill(const struct ovg_state *st, const struct net *n, struct ovg_state_net *out);
void ep_fill(const struct ovg_state *st, const struct rec *e, struct ovg_state_ep *out);
bool net_name_taken(const struct ovg_state *st, const char *name);
void id_hex(const uint8_t id[16], char out[33]);
int parse_ipv4(const char *s, uint32_t *ip);
void format_ipv4(uint32_t ip, char out[16]);
void seterr(char *err, size_t errlen, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

/* ---- ipam.c --------------------------------------------------------------------------- */
void ipam_geometry(uint8_t prefix, uint32_t *bsize, uint32_t *nblocks);
bool ipam_block_of(const struct net *n, uint32_t ip, uint32_t *block);
/* Owner and generation of a block (the definition must be known). */
uint32_t ipam_block_owner(const struct net *n, uint32_t block, uint32_t *gen);
bool ipam_reserved(const struct net *n, uint32_t ip);
bool ipam_block_has_live(const struct ovg_state *st, struct net *n, uint32_t block, uint32_t owner);
int ipam_alloc(struct ovg_state *st, uint64_t now_ms, struct net *n, const char *want, uint32_t *ip,
	       uint32_t *gen, char *err, size_t errlen);
int ipam_handle_request(struct ovg_state *st, const struct ovg_state_wipam *req, uint32_t *granted);
int ipam_handoff(struct ovg_state *st);
int ipam_reclaim(struct ovg_state *st);
void ipam_block_arrived(struct ovg_state *st, struct net *n);
void ipam_forget_net(struct ovg_state *st, struct net *n);
uint32_t ipam_blocks_of(const struct net *n, uint32_t owner);

#endif
