/*
 * Replicated overlay state: networks, endpoints and IPAM block ownership as
 * CRDTs reconciled Scuttlebutt-style (DESIGN.md "Replicated state").
 *
 * Model. Every node *instance* (node name + random 64-bit instance id, made
 * when a state dir is first initialised) owns the records it wrote, each
 * stamped with its own strictly increasing version. A record is replaced only
 * by a record with the same key and a higher version, so applying records is
 * idempotent and order-free. A digest is one (name, instance, version) triple
 * per instance: the "watermark" up to which we hold all its records. A delta is,
 * per instance, the records with version in (peer's watermark, ours].
 *
 * Records (writer = the instance that wrote it):
 *   NODE    one per instance, written when it is created: announces it.
 *   NET     a network definition, immutable; writer = creator.
 *   NETDEL  a permanent network tombstone (any node may write one; remove
 *           wins; ids are random 128-bit and never reused). Every other record
 *           of a deleted network is dropped on sight.
 *   EP      an endpoint; writer = the node it is attached on (single writer);
 *           detach = the same key re-written as a tombstone.
 *   XFER    "block B of network N passes to instance I at generation G",
 *           written by the block's owner at generation G-1 ("hand-over"), or
 *           by whoever takes over from a removed owner ("reclaim", I = the
 *           writer). Keyed by (writer, network, block): each writer's latest
 *           transfer of a block is kept, so a node that handed a block on
 *           still knows it after a restart. The block's owner is the target
 *           of its best transfer: highest G, then a reclaim before a
 *           hand-over, then by writer; no transfer: the creator, G = 0.
 *   NODERM  "instance I is removed" (node rm, or a node retiring an older
 *           instance of its own name after its state dir was lost). Its
 *           endpoints are dropped; its blocks pass to its first remover by
 *           name (or, if that one is removed too, to whoever took over from
 *           it), once that remover holds all the removed instance did before
 *           its removal (the NODERM's target_version).
 *
 * Resolution (identical on every node, so `network ls` agrees everywhere):
 *   - Networks order by (created_ms, creator name, creator instance, id);
 *     "better" = smaller. Among live networks with the same name the best keeps
 *     the name and the others are shown as "name@<first 8 hex of id>"
 *     (OVG_STATE_CONFLICT_NAME). Among live networks with the same VNI only
 *     the best is usable: the others have OVG_STATE_CONFLICT_VNI set and
 *     live = false (keep them out of the data plane). Overlapping subnets made
 *     in a partition are only flagged (OVG_STATE_CONFLICT_SUBNET).
 *   - IPAM: a subnet of prefix P is split into blocks of
 *     max(4, 2^(32-P) / 256) addresses (so at most 256 blocks: a /24 has 64
 *     blocks of 4, a /16 256 blocks of 256). Gen 0 of every block belongs to
 *     the creator. A block is handed on only when its owner holds no live
 *     endpoint in it, so a new owner starts from an empty block. An endpoint
 *     records the generation it was allocated under; it is live only if no
 *     higher generation of its block is known and, at its generation, its
 *     node owned the block. Two nodes therefore never allocate the same
 *     address, even while partitioned.
 *   - Endpoints: live = not detached, network live-or-conflicted, node not
 *     removed, the IPAM rule above, and not the loser of an address clash
 *     (only possible transiently or after misuse of node rm; higher
 *     generation wins, then the newer record of the same node, then
 *     (created_ms, node name, instance)). Among live endpoints with the same
 *     name in a network the best by (created_ms, node name, instance) keeps
 *     the name; the others are shown as "name@<node>" and stay live
 *     (OVG_STATE_CONFLICT_NAME). '@' is refused in local names.
 *   - A failed node's endpoints stay live here; the daemon keeps them out of
 *     its data plane by membership (DESIGN guarantee 6).
 *   - A node whose state dir was lost comes back as a new instance; once it
 *     holds everything peers' digests showed it, it retires (NODERM) older
 *     instances of its own name: their endpoints go, their blocks become its.
 *   - A node removed with node rm that comes back with its old state dir
 *     learns of the removal from the first peer that knows it, drops its
 *     endpoints and starts over as a new instance. Until it has caught up
 *     with a peer after a restart, a node grants no blocks.
 *
 * Limits (races no store-less design escapes; each converges the same way on
 * every node, and only costs addresses, never a duplicate live one):
 *   - Two removals of one instance made in separate partitions (node rm on
 *     two nodes, or node rm racing that node's reinstall), or a node rm made
 *     before the remover received a hand-over the dead node made at the very
 *     end, can leave two nodes believing they own a block until they meet;
 *     then the better transfer wins, and endpoints allocated under the losing
 *     one stop being live (the IPAM rule). Keep to node rm's precondition.
 *   - A removed node that returns with its old state dir while cut off from
 *     every node that knows of the removal may hand out blocks it no longer
 *     owns (same outcome). Reinstall removed nodes instead.
 * Everything here is pure: time comes in as now_ms, randomness through the
 * injected rng, and bytes in and out through caller buffers.
 */
#ifndef OVG_STATE_H
#define OVG_STATE_H

#include "ovg/common.h"
#include "ovg/env.h"
#include "ovg/mp.h"

/* ---- bounds ----------------------------------------------------------------- */
#define OVG_STATE_NAME_MAX     64        /* node, network, endpoint names, bytes */
#define OVG_STATE_NET_DISPLAY_MAX (OVG_STATE_NAME_MAX + 9)   /* "name@1234abcd" */
#define OVG_STATE_EP_DISPLAY_MAX  (2 * OVG_STATE_NAME_MAX + 1) /* "name@node" */
#define OVG_STATE_MAX_OWNERS   1024      /* node instances ever seen */
#define OVG_STATE_MAX_NETS     16384     /* network ids incl. tombstones */
#define OVG_STATE_MAX_RECORDS  (1u << 20)
#define OVG_STATE_MAX_BLOCKS   256       /* per network */
#define OVG_STATE_PIECE_MAX    1300      /* default delta piece for a UDP user message */
#define OVG_STATE_VNI_MIN      1u
#define OVG_STATE_VNI_MAX      ((1u << 24) - 1)
#define OVG_STATE_VNI_AUTO_MIN 4096u
#define OVG_STATE_PREFIX_MIN   8         /* subnets /8 .. /30 */
#define OVG_STATE_PREFIX_MAX   30
#define OVG_STATE_IPAM_RETRY_MS   1000   /* resend an unanswered block request */
#define OVG_STATE_IPAM_EXPIRE_MS  10000  /* then give up on it */

/* ---- instance ---------------------------------------------------------------- */
struct ovg_state;

struct ovg_state_config {
	const char *node_name;          /* this node, 1..OVG_STATE_NAME_MAX bytes, no '@' */
	struct ovg_rng rng;             /* ids, instance ids, auto VNIs */
	/* Called once per network whose converged view (definition, resolved name,
	 * endpoints, liveness) may have changed, at the end of the state call that
	 * changed it. Never called re-entrantly; may call any ovg_state_ getter,
	 * must not modify the state. May be NULL. */
	void (*net_changed)(void *ctx, const uint8_t net_id[16]);
	/* Membership view for IPAM choices (whom to ask for blocks, whom to hand
	 * blocks to on leave). NULL: everybody is alive. */
	bool (*node_alive)(void *ctx, const char *node_name);
	void *ctx;
};

/* A new state. saved/saved_len: bytes from ovg_state_save() (restart), or
 * NULL/0 for a fresh node (new random instance, NODE record at version 1).
 * Borrows cfg strings only during the call. NULL + errno: EINVAL (bad name;
 * saved state of another node name), EBADMSG (corrupt saved state), ENOMEM. */
struct ovg_state *ovg_state_new(const struct ovg_state_config *cfg, uint64_t now_ms,
				const uint8_t *saved, size_t saved_len);
void ovg_state_free(struct ovg_state *st);   /* NULL ok */

/* ---- persistence (guarantee 5) ------------------------------------------------ */
/* True when our own records changed (or a block came to us, or a network
 * delete or node removal arrived) since the last save. The daemon must save
 * (crash-safely) before it sends anything after a state call that made this
 * true: versions must never be reused. */
bool ovg_state_needs_save(const struct ovg_state *st);
/* Everything held: our instance and version counter, and every instance's
 * records with our watermark for it (so a restart forgets only what came
 * after the save, which anti-entropy brings back, and the logs of instances
 * gone for good survive while any node saved them). About 70 bytes per
 * endpoint record. *out is malloc'ed, caller frees. Clears needs_save.
 * 0, -ENOMEM. */
int ovg_state_save(struct ovg_state *st, uint8_t **out, size_t *out_len);

/* ---- local operations (CLI) ---------------------------------------------------------
 * All return 0 or -errno and, on error, write one line naming the problem into
 * err (errlen bytes, may be NULL/0); nothing is changed on error. */
struct ovg_state_net_spec {
	const char *name;       /* 1..OVG_STATE_NAME_MAX bytes, no '@' */
	const char *subnet;     /* "A.B.C.D/P", NULL or "": next free /24 of 10.0.0.0/8 */
	const char *gateway;    /* NULL or "": first address of the subnet */
	uint32_t vni;           /* 0: random free one in 4096..2^24-1 */
	bool attachable;
};
/* -EINVAL malformed name/CIDR/gateway, gateway outside subnet (or its network/
 * broadcast address), prefix outside /8../30, VNI outside 1..2^24-1;
 * -EEXIST taken name or VNI; -EADDRINUSE overlapping subnet; -ENOSPC no free
 * /24 or VNI or record space. id_out may be NULL. */
int ovg_state_net_create(struct ovg_state *st, uint64_t now_ms, const struct ovg_state_net_spec *spec,
			 uint8_t id_out[16], char *err, size_t errlen);
/* -ENOENT unknown or deleted network; -EBUSY it has live endpoints (named in err). */
int ovg_state_net_remove(struct ovg_state *st, uint64_t now_ms, const uint8_t id[16], char *err,
			 size_t errlen);
/* NETWORK as the CLI takes it: resolved name, then a raw name held by exactly
 * one live network, then a unique prefix of the 32-hex id. -ENOENT, -ENOTUNIQ. */
int ovg_state_net_lookup(const struct ovg_state *st, const char *name_or_id, uint8_t id_out[16]);

struct ovg_state_ep {
	uint8_t net_id[16];
	char name[OVG_STATE_EP_DISPLAY_MAX + 1];   /* resolved ("name" or "name@node") */
	char raw_name[OVG_STATE_NAME_MAX + 1];
	char node[OVG_STATE_NAME_MAX + 1];         /* owner node name */
	uint64_t node_instance;
	uint32_t ip;                               /* host byte order */
	uint8_t prefix;                            /* the network's prefix length */
	uint8_t mac[6];                            /* 02:42:<ip octets> */
	uint64_t created_ms;
	uint64_t version;                          /* of the record (owner's version) */
	uint32_t block_gen;                        /* IPAM generation it was allocated under */
	bool local;                                /* attached on this node */
	bool detached;                             /* a tombstone (listed with all = true) */
	bool live;
	unsigned conflict;                         /* OVG_STATE_CONFLICT_* */
};
/* Attach an endpoint on this node: allocate an address and register it.
 * ip: "A.B.C.D" to request one, or NULL/"" for any. out may be NULL.
 * -ENOENT unknown network; -EPERM network not attachable or not usable (VNI
 * conflict); -EINVAL bad name / bad address / address outside the subnet or
 * reserved (network, broadcast, gateway); -EEXIST name taken in the network
 * (cluster-wide, current view); -EADDRINUSE address taken (or inside a block
 * another node is using); -EAGAIN an address block was requested from another
 * node (see ovg_state_ipam_next): retry after a net_changed callback for this
 * network, with a bounded wait; -ENOSPC no free address in the network
 * (err says when the rest sits with unreachable nodes: node rm reclaims). */
int ovg_state_ep_attach(struct ovg_state *st, uint64_t now_ms, const uint8_t net_id[16], const char *name,
			const char *ip, struct ovg_state_ep *out, char *err, size_t errlen);
/* Detach a local endpoint (tombstone). -ENOENT no such local endpoint. */
int ovg_state_ep_detach(struct ovg_state *st, uint64_t now_ms, const uint8_t net_id[16], const char *name,
			char *err, size_t errlen);

/* Graceful leave: tombstone every local endpoint and hand every owned block to
 * a live node (round robin over node names). Blocks stay ours when nobody else
 * is alive. Then persist, push, and leave the gossip. 0 or -ENOSPC. */
int ovg_state_leave(struct ovg_state *st, uint64_t now_ms, char *err, size_t errlen);
/* node rm NODE: remove every instance of that node name (never this node).
 * Its endpoints leave everyone's view; its blocks pass to this node (a
 * "reclaim", which wins over a hand-over the node might still have in
 * flight). Precondition, for the daemon to keep: the node is dead in the
 * membership view, nobody else is removing it, and this node has done an
 * anti-entropy round with the live peers first (push-pull), so it holds the
 * dead node's last records and any earlier removal of it. -EINVAL own
 * name; -ENOENT node unknown; -EALREADY already removed; -EAGAIN a peer's
 * digest showed records we do not hold yet (retry after that sync). */
int ovg_state_node_rm(struct ovg_state *st, uint64_t now_ms, const char *node, char *err, size_t errlen);

/* ---- views ---------------------------------------------------------------------- */
#define OVG_STATE_CONFLICT_NAME   1u   /* shown renamed */
#define OVG_STATE_CONFLICT_VNI    2u   /* network unusable (live = false) */
#define OVG_STATE_CONFLICT_SUBNET 4u   /* overlaps another network (informational) */
#define OVG_STATE_CONFLICT_IP     8u   /* endpoint lost an address clash (live = false) */

struct ovg_state_net {
	uint8_t id[16];
	char id_hex[33];
	char name[OVG_STATE_NET_DISPLAY_MAX + 1];  /* resolved */
	char raw_name[OVG_STATE_NAME_MAX + 1];
	uint32_t vni;
	uint32_t subnet;                           /* host byte order, network address */
	uint8_t prefix;
	uint32_t gateway;                          /* host byte order */
	bool attachable;
	char creator[OVG_STATE_NAME_MAX + 1];
	uint64_t created_ms;
	unsigned conflict;
	bool live;                                 /* usable for the data plane */
	uint32_t block_size;                       /* addresses per IPAM block */
	uint32_t block_count;
	uint32_t blocks_local;                     /* blocks this node owns */
	uint32_t endpoints;                        /* live endpoints */
};
/* Every network that is not deleted (definitions known), in resolved-name
 * order. cb returns 0 to go on; a nonzero return stops and is returned. */
int ovg_state_net_foreach(const struct ovg_state *st,
			  int (*cb)(void *ctx, const struct ovg_state_net *net), void *ctx);
/* -ENOENT: unknown or deleted. */
int ovg_state_net_get(const struct ovg_state *st, const uint8_t id[16], struct ovg_state_net *out);
/* Endpoints of one network in address order; all = false: live ones only.
 * -ENOENT unknown or deleted network; else 0 or cb's nonzero return. */
int ovg_state_ep_foreach(const struct ovg_state *st, const uint8_t net_id[16], bool all,
			 int (*cb)(void *ctx, const struct ovg_state_ep *ep), void *ctx);

/* IPAM blocks of one network in address order (for inspect and tests).
 * -ENOENT unknown or deleted network; else 0 or cb's nonzero return. */
struct ovg_state_block {
	uint32_t index;
	uint32_t first;                            /* first address, host order */
	uint32_t size;                             /* addresses */
	uint32_t gen;                              /* transfers so far */
	char owner[OVG_STATE_NAME_MAX + 1];
	uint64_t owner_instance;
	bool local;                                /* owned by this node */
	uint32_t used;                             /* live endpoints in it */
	char from[OVG_STATE_NAME_MAX + 1];         /* who handed it over ("" at gen 0) */
	uint64_t from_instance;
	uint64_t from_version;                     /* that transfer record's version */
};
int ovg_state_block_foreach(const struct ovg_state *st, const uint8_t net_id[16],
			    int (*cb)(void *ctx, const struct ovg_state_block *b), void *ctx);

struct ovg_state_stats {
	uint64_t instance;          /* ours */
	uint64_t version;           /* our version counter */
	uint32_t owners;            /* instances known (digest entries) */
	uint32_t owners_removed;
	uint32_t networks;          /* definitions held, not deleted */
	uint32_t networks_deleted;  /* tombstoned ids */
	uint32_t records;           /* stored records of all kinds */
	uint32_t endpoints;         /* endpoint records incl. detached */
	uint64_t memory_bytes;      /* heap held by this state */
	uint64_t applied;           /* records that changed our state, ever */
	uint64_t dropped;           /* records refused (malformed content, caps) */
	uint64_t bad_messages;      /* undecodable messages */
	uint64_t reinstanced;       /* times we were removed and started a new instance */
	bool superseded;            /* a newer instance of our own name removed us:
	                               every write fails with -ESTALE */
};
void ovg_state_get_stats(const struct ovg_state *st, struct ovg_state_stats *out);
/* A 64-bit hash of everything stored (records and watermarks), canonical:
 * two states holding the same records hash the same. For tests/metrics. */
uint64_t ovg_state_hash(const struct ovg_state *st);

/* ---- gossip ------------------------------------------------------------------------
 * Every message is an ovgossipd envelope (ovg/env.h) + msgpack body:
 *   OVG_ENV_STATE_SUMMARY who we are, how many instances we know and one
 *                         64-bit hash of our whole digest: "is yours the
 *                         same?" (gossip tick to one peer; ~25 bytes +
 *                         the name)
 *   OVG_ENV_STATE_DIGEST  our digest: "send me what I lack; I will ask back
 *                         if you have more" (the answer to a SUMMARY that
 *                         differs, the push-pull user state, and the
 *                         daemon's sync-now)
 *   OVG_ENV_STATE_REQUEST our digest as an answer to a DIGEST that showed the
 *                         peer has more: "send me what I lack" (no answer back)
 *   OVG_ENV_STATE_DELTA   records, per instance a range (from, to]
 *   OVG_ENV_IPAM          a request for address blocks, sent to their owner
 *
 * Flow for the daemon:
 *   tick:      unless ovg_state_in_sync_since(one tick ago) (a peer showed
 *              it holds exactly what we hold), ovg_state_summary_encode()
 *              -> one random peer by UDP. Push-pull user state: our DIGEST.
 *   receive:   ovg_state_receive(); then
 *              rx.summary_differs  -> ovg_state_digest_encode(DIGEST) to the
 *                                     sender (UDP if it fits OVG_UDP_MAX,
 *                                     else TCP); the usual exchange follows
 *              rx.forward          -> eager push: pass the same DELTA bytes on
 *                                     to a few random peers (first receipt only)
 *              rx.send_request     -> ovg_state_digest_encode(REQUEST) to sender
 *              rx.peer_lacks       -> ovg_state_sync_new(msg) + _next() pieces
 *                                     to the sender (UDP pieces of <= 1300
 *                                     bytes, or one big piece over TCP)
 *   after any state call: ovg_state_needs_save() -> save first; then
 *              ovg_state_push_next() until len 0 -> eager push each piece to a
 *              few random peers; ovg_state_ipam_next() until len 0 -> send to
 *              the named node (also from a timer: requests are resent).
 *   push-pull: each side's user state is its DIGEST; each side hands the
 *              other's to ovg_state_receive() and acts on rx as above (the
 *              pieces can go back over TCP as one big DELTA).
 *   attach:    -EAGAIN means a block request is queued: run the ipam_next
 *              loop, wait (bounded, a few seconds) for net_changed on that
 *              network, retry.
 * Sizes: a digest is ~21 bytes per instance (20 nodes: ~430 bytes); a
 * summary ~25 bytes + the node name, whatever the cluster size; a record is
 * ~40-130 bytes. Nothing differing, one summary per node and tick (fewer: a
 * node that heard a matching one skips its own) is the whole cost of
 * anti-entropy, whatever the number of endpoints or nodes.
 *
 * A matching SUMMARY stands for the equal DIGEST the peer would have sent
 * at the same moment and has exactly its effects: our marks of what peers
 * hold (owner adv) rise to our own watermarks for every instance but the
 * sender's own, we count as caught up (blocks may be granted again after a
 * restart), and retiring old instances of our name / reclaiming is
 * re-checked. A summary that differs has no effect at all (the digest
 * exchange it starts does the rest). So whatever a summary makes us do, the
 * digest its sender would have sent instead makes us do too: retiring an
 * old instance (which waits until a peer other than that instance has shown
 * it, and until we hold all that any peer showed) never happens on a
 * summary where it would not on that digest, also when the summary is
 * stale or arrives late (it then matches only if we are as stale), and
 * node rm's -EAGAIN (a peer showed more than we hold) is never caused nor
 * cleared by a summary: the marks never rise above our own watermarks.
 * The only way a match can mislead is a collision of two different
 * digests' 64-bit hashes (~2^-64 per exchange; peers are authenticated by
 * the cluster key, and a member could as well lie in a digest). Nodes
 * without SUMMARY refuse it (-EBADMSG) but keep sending digests, which we
 * answer as before: mixed clusters still converge.
 */

/* Digest message (kind OVG_ENV_STATE_DIGEST or _REQUEST). 0, -EINVAL kind,
 * -ENOSPC (cap too small: use TCP and a bigger buffer). */
int ovg_state_digest_encode(const struct ovg_state *st, uint8_t kind, uint8_t *buf, size_t cap,
			    size_t *len);

struct ovg_state_rx {
	uint8_t kind;           /* enum ovg_env_kind of the message */
	uint32_t applied;       /* DELTA: records that changed our state */
	bool forward;           /* DELTA: new to us: pass it on (eager push) */
	bool send_request;      /* DIGEST: the peer holds records we lack */
	bool peer_lacks;        /* DIGEST/REQUEST: we hold records the peer lacks */
	bool summary_differs;   /* SUMMARY: the peer's digest is not ours: answer
	                           it with our DIGEST */
	bool in_sync;           /* SUMMARY/DIGEST: the peer holds what we hold */
	uint32_t granted;       /* IPAM: blocks we handed to the requester */
};
/* Summary message (kind OVG_ENV_STATE_SUMMARY): our name and instance, the
 * number of instances our digest lists and ovg_state_summary_hash(). At most
 * OVG_STATE_SUMMARY_MAX bytes. 0, -ENOSPC (cap too small), -ENOMEM. */
#define OVG_STATE_SUMMARY_MAX (OVG_ENV_HDR_LEN + 1 + 3 + OVG_STATE_NAME_MAX + 9 + 3 + 9)
int ovg_state_summary_encode(const struct ovg_state *st, uint8_t *buf, size_t cap, size_t *len);
/* The canonical hash of our digest: over every instance a digest lists (us
 * included), sorted by (name bytes, instance) as the digest sorts the rest,
 * each as (name length, name, instance, watermark), folded through a 64-bit
 * bijective mixer seeded with the count. States whose digests list the same
 * triples hash the same, whatever order they learnt them in; a single
 * differing value always changes the hash. 0 with *count and *hash; -ENOMEM. */
int ovg_state_summary_hash(const struct ovg_state *st, uint32_t *count, uint64_t *hash);
/* True when a SUMMARY or DIGEST received with now_ms >= since_ms showed that
 * its sender held exactly what we hold, and we still hold just that (the
 * daemon skips its own summary then: at rest each node sends one about every
 * other tick). */
bool ovg_state_in_sync_since(const struct ovg_state *st, uint64_t since_ms);

/* Handle one message (envelope included), e.g. a user message or a push-pull
 * user state. 0; -ENOMSG not ours (serf's); -EPROTONOSUPPORT newer envelope;
 * -EBADMSG / -EMSGSIZE malformed (counted; records before the damage may have
 * been applied, which is harmless); -ESTALE we were superseded. */
int ovg_state_receive(struct ovg_state *st, uint64_t now_ms, const uint8_t *msg, size_t len,
		      struct ovg_state_rx *rx);

/* Sending a peer what its digest shows it lacks, in pieces. The sync copies
 * what it needs from msg (a DIGEST or REQUEST message) and refers to st,
 * which must outlive it; st may change between pieces (the pieces stay
 * correct). NULL + errno: EBADMSG/EMSGSIZE malformed, ENOMEM. */
struct ovg_state_sync;
struct ovg_state_sync *ovg_state_sync_new(const struct ovg_state *st, const uint8_t *msg, size_t len);
/* Next DELTA message of at most cap bytes (OVG_STATE_PIECE_MAX for UDP;
 * anything up to OVG_STREAM_MAX for TCP). 0 with *len = 0 when done;
 * -ENOSPC cap too small for a single record (use >= 512). */
int ovg_state_sync_next(struct ovg_state_sync *sync, uint8_t *buf, size_t cap, size_t *len);
void ovg_state_sync_free(struct ovg_state_sync *sync);   /* NULL ok */

/* Our records not yet pushed, as DELTA pieces of at most cap bytes (>= 512).
 * 0 with *len = 0 when nothing is left. Call after every state call. */
int ovg_state_push_next(struct ovg_state *st, uint8_t *buf, size_t cap, size_t *len);

/* Next IPAM block request due now: the message, and the node to send it to
 * (by name). 0 with *len = 0 when nothing is due. Requests are resent every
 * OVG_STATE_IPAM_RETRY_MS while unanswered, for OVG_STATE_IPAM_EXPIRE_MS. */
int ovg_state_ipam_next(struct ovg_state *st, uint64_t now_ms, char node[OVG_STATE_NAME_MAX + 1],
			uint8_t *buf, size_t cap, size_t *len);

/* ---- wire encoding (proto/state_codec.c) ---------------------------------------------
 * Bodies are msgpack arrays (positional, compact):
 *   DIGEST/REQUEST  [ [name, instance, version]... ], the sender first
 *   SUMMARY         [ name, instance, instances, hash ] (the sender's; hash
 *                   a uint64, see ovg_state_summary_hash)
 *   DELTA           [ [name, instance, from, to, [record...]]... ]
 *   IPAM            [ name, instance, net_id, block (-1 = any), count ]
 *   record          [ version, kind, fields... ] (see enum ovg_state_rec_kind)
 * Strings and ids are msgpack raw (str family). Unknown trailing array
 * elements are skipped, so fields can be appended later. */
enum ovg_state_rec_kind {
	OVG_REC_NODE = 0,    /* [v, 0, created_ms, flags] */
	OVG_REC_NET = 1,     /* [v, 1, id, name, vni, subnet, prefix, gateway, attachable, created_ms] */
	OVG_REC_NETDEL = 2,  /* [v, 2, id, deleted_ms] */
	OVG_REC_EP = 3,      /* [v, 3, net_id, name, ip, gen, created_ms, detached] */
	OVG_REC_XFER = 4,    /* [v, 4, net_id, block, gen, to_name, to_instance] */
	OVG_REC_NODERM = 5,  /* [v, 5, target_name, target_instance, target_version, ms] */
	OVG_REC_KIND_MAX = 5,
};

/* One record as it travels; strings are borrowed views into the message. */
struct ovg_state_wrec {
	uint64_t version;
	uint8_t kind;
	uint8_t id[16];             /* NET, NETDEL: network id; EP, XFER: its network */
	struct ovg_bytes name;      /* NET, EP: name; XFER: to node; NODERM: target node */
	uint64_t instance;          /* XFER: to instance; NODERM: target instance */
	uint64_t ms;                /* NODE, NET, EP: created; NETDEL, NODERM: when */
	uint64_t target_version;    /* NODERM */
	uint32_t vni;
	uint32_t subnet;            /* NET, host order */
	uint32_t gateway;           /* NET */
	uint32_t ip;                /* EP */
	uint32_t block;             /* XFER */
	uint32_t gen;               /* EP, XFER */
	uint8_t prefix;             /* NET */
	uint8_t flags;              /* NODE */
	bool attachable;            /* NET */
	bool detached;              /* EP */
};

struct ovg_state_wdigest_entry {
	struct ovg_bytes name;
	uint64_t instance;
	uint64_t version;
};
struct ovg_state_wdigest {
	uint32_t count;
	struct ovg_state_wdigest_entry entries[OVG_STATE_MAX_OWNERS];
};

struct ovg_state_wsummary {
	struct ovg_bytes name;      /* sender */
	uint64_t instance;
	uint32_t count;             /* instances its digest lists, 1..OVG_STATE_MAX_OWNERS */
	uint64_t hash;
};

struct ovg_state_wipam {
	struct ovg_bytes name;      /* requester */
	uint64_t instance;
	uint8_t net_id[16];
	int32_t block;              /* -1: any block */
	uint32_t count;             /* blocks wanted, 1..16 */
};

/* A DELTA body read section by section, record by record; no allocation. */
struct ovg_state_wsection {
	struct ovg_bytes name;
	uint64_t instance;
	uint64_t from;              /* the sender held all records <= to; these are */
	uint64_t to;                /* all its records with version in (from, to] */
	uint32_t records;
};
struct ovg_state_wdelta_iter {
	struct ovg_mp_reader r;
	uint32_t sections_left;
	uint32_t records_left;
	uint32_t skip_left;         /* trailing elements of the current section */
};

/* Decoders: 0, -EBADMSG (wrong type, out-of-range value), -EMSGSIZE (truncated
 * or over a cap). Names over OVG_STATE_NAME_MAX and ids not 16 bytes are
 * -EBADMSG. Bodies only (after the envelope header). */
int ovg_state_wdigest_decode(const uint8_t *buf, size_t len, struct ovg_state_wdigest *out);
int ovg_state_wipam_decode(const uint8_t *buf, size_t len, struct ovg_state_wipam *out);
/* (gossip/state_sync.c) 0, or -EBADMSG for anything malformed, truncated
 * or trailed by bytes, a name empty, over OVG_STATE_NAME_MAX or holding a
 * NUL, instance 0, count 0 or over OVG_STATE_MAX_OWNERS. Further array
 * elements are skipped. */
int ovg_state_wsummary_decode(const uint8_t *buf, size_t len, struct ovg_state_wsummary *out);
int ovg_state_wdelta_begin(const uint8_t *buf, size_t len, struct ovg_state_wdelta_iter *it);
/* 0 and *out; -ENOENT no more sections (skips unread records of the last). */
int ovg_state_wdelta_section(struct ovg_state_wdelta_iter *it, struct ovg_state_wsection *out);
/* 0 and *out; -ENOENT no more records in this section. */
int ovg_state_wdelta_record(struct ovg_state_wdelta_iter *it, struct ovg_state_wrec *out);

/* Encoders append to an mp writer (ovg/mp.h); overflow is sticky there. */
void ovg_state_wrec_encode(struct ovg_mp_writer *w, const struct ovg_state_wrec *rec);
/* Upper bound of a section header's encoded size (excluding records). */
#define OVG_STATE_WSECTION_HDR_MAX (1 + 5 + OVG_STATE_NAME_MAX + 3 * 9 + 5)
void ovg_state_wsection_encode(struct ovg_mp_writer *w, const struct ovg_state_wsection *sec);
void ovg_state_wipam_encode(struct ovg_mp_writer *w, const struct ovg_state_wipam *req);

#endif
