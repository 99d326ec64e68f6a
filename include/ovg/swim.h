/*
 * SWIM membership (memberlist protocol 5 semantics) as a pure state machine.
 *
 * No sockets, no clock reads, no rand(), no globals: time comes in as `now_ms`
 * on every call, randomness from struct ovg_rng, and everything that leaves the
 * node goes out through the callbacks in struct ovg_swim_io. The daemon feeds
 * it decoded packets (ovg_packet_open output, one message per view), TCP ping
 * results and push-pull streams, and calls ovg_swim_tick() at
 * ovg_swim_next_deadline_ms(). The simulator does the same with a virtual clock.
 *
 * What it does, following hashicorp/memberlist (state.go, suspicion.go,
 * awareness.go, queue.go, net.go), except where said:
 * - Probing (see enum ovg_swim_schedule). Default, paired rounds: every
 *   probe_interval (on the cluster clock) the live members, sorted by a
 *   fixed hash of their names, are paired up by the round-robin tournament
 *   method, so every member meets every other once per n - 1 rounds and is
 *   checked by one partner per round (n odd: the member without a partner
 *   pings its ring successor); one of the pair pings, the
 *   other counts any packet from it as its check and probes it only when
 *   none came by round start + interval/8 + probe_timeout/3. memberlist's
 *   schedule (each member probes its own shuffled round-robin order every
 *   interval) is OVG_SWIM_SCHED_SHUFFLED. Dead/left members past
 *   gossip_to_the_dead are reaped every n rounds / at every wrap. A probe:
 *   ping -> after probe_timeout indirect pings through indirect_checks alive
 *   members (asking for nacks from peers with pmax >= 4) plus a TCP fallback
 *   ping (pmax >= 3) -> no ack by the probe's end (paired: 3 probe timeouts
 *   after its start; shuffled: the end of the interval): suspect. Pings to
 *   a suspect member carry the suspect message. Our pings carry no
 *   SourceAddr/Port/Node, so they are answered to their datagram's source.
 * - Lifeguard: suspicion timeout min = suspicion_mult * max(1, log10 n) *
 *   suspicion_interval (memberlist: probe_interval), max =
 *   suspicion_max_mult * min, shrinking from max towards min as
 *   ln(c+1)/ln(k+1) with c independent confirmations (distinct From names)
 *   out of k = suspicion_mult - 2. Local health awareness score
 *   0..awareness_max-1 multiplies the probe timeout by score+1, and the
 *   probe interval (shuffled) or sits score rounds out of score+1, only
 *   listening (paired).
 * - Incarnation numbers, refutation, dead versus left (dead with From == Node),
 *   reaping, restarted nodes rejoining (an alive with a new address and a
 *   higher incarnation replaces a dead/left member's address).
 * - Dissemination: a bounded broadcast queue (newer news about a member
 *   replaces queued older news; retransmit limit retransmit_mult *
 *   ceil(log10(n+1))), piggybacked on every ping/ack/nack/indirect ping and
 *   gossiped every gossip_interval to gossip_nodes random alive/suspect/
 *   recently dead members. Eager push: news that changed our state (and only
 *   that, so duplicates never travel further) is also sent at once, batched in
 *   one packet, to eager_fanout random alive members, who do the same on first
 *   receipt. Each node pushes a piece of news at most once, so a flood costs
 *   at most n * eager_fanout packets and cannot loop.
 * - Push-pull anti-entropy on join and every push_pull_interval (scaled by
 *   ceil(log2 n - 5) + 1 above 32 members) with memberlist's merge rules; the
 *   TCP exchange is the daemon's (push_pull callback, then
 *   ovg_swim_push_pull_build / ovg_swim_push_pull_merge).
 *
 * Defaults (ovg_swim_config_default) and why. Targets: a failed node declared
 * dead by every member within 3 s at n = 20 (and 3x faster than Docker's
 * ~6 s with 3 hosts), no false dead declaration at 10% packet loss, and
 * fewer bytes per node at rest than serf (memberlist's LAN profile: 1 s
 * probes, suspicion mult 4, 6-8 s to detect at n = 20). Detection time is
 *   (wait for the victim's next round: < 1 interval)
 *   + (its partner's ping: jitter up to interval/8, or the responder's wait
 *      interval/8 + probe_timeout/3) + 3 probe timeouts to suspect
 *   + suspicion min + dissemination (~10 ms).
 * The suspicion runs at min at once when a helper of the failed probe
 * answered with a nack: that helper failed to reach the victim too, an
 * independent confirmation (k = 1). Without one it waits for the next
 * round's partner to fail as well. With memberlist's shuffled schedule the
 * first term is the minimum over n - 1 random round-robin phases, with a
 * tail of several intervals; that is why the shuffled schedule needed
 * 300 ms probes (3.3 pings and acks per member per second) to stay under 3 s.
 * Hence:
 * - paired, probe_interval 500 ms, probe_timeout 150 ms: one ping + ack per
 *   pair per round (and one more per round when n is odd), 2 pings per
 *   member per second sent or answered. On a LAN an ack is back in well
 *   under 10 ms; 150 ms is ample and leaves 300 ms for the indirect acks and
 *   the TCP ping. (Awareness scales the timeout, as Lifeguard's LHA-Probe
 *   does.)
 * - suspicion_mult 3, suspicion_interval 250 ms: min = 3 * log10(20) * 250 ms
 *   = 0.98 s (n <= 10: 0.75 s) once confirmed. A false suspicion (the
 *   victim alive but its packets lost) is sent straight to the victim, whose
 *   refutation goes straight back to the accuser as well as by gossip: tens
 *   of milliseconds on a LAN, so min leaves ample time; an unconfirmed one
 *   runs towards max = 6 * min. Measured on the fake network
 *   (tests/unit/test_swim_sim.c, n = 20): mean 1.66 s, max 2.04 s to "dead
 *   at every member" over 30 kills; mean 1.72 s, max 1.95 s at 10% loss.
 * - gossip_interval 100 ms, gossip_nodes 3, retransmit_mult 4 (limit 8 at
 *   n = 20), eager_fanout 3: news reaches everyone in ~10-50 ms.
 * - At 10% loss a probe fails falsely when the direct round trip (19%), all
 *   indirect round trips and the TCP ping fail: ~0.3% of probes. Each is
 *   refuted; a member that misses the refutation (gossip reaches each member
 *   only with high probability) is corrected directly by whoever gets its
 *   stale suspect message (see `corrections`). Measured: 2 runs x 300 s x 20
 *   nodes at 10% loss: 13195 probes, 36 failed, 36 refutations, 0 false dead
 *   declarations.
 * - push_pull_interval 30 s, gossip_to_the_dead 30 s, awareness_max 8,
 *   indirect_checks 3, suspicion_max_mult 6: memberlist LAN.
 * - packet_budget 1366 = OVG_UDP_MAX - OVG_CRYPT_OVERHEAD - 5 (CRC).
 *
 * Beyond memberlist (all wire compatible): paired rounds; slim pings; eager
 * push; answering a stale suspect/dead message with the newer alive; UPDATE
 * events for suspect -> alive; REAP events; awareness also scales
 * probe_timeout.
 *
 * The daemon's side, in short:
 * - UDP in: ovg_packet_open -> ovg_swim_handle_msgs(from, msgs) (also the
 *   complete messages before an -EMSGSIZE, as memberlist does).
 * - UDP out: send_packet -> ovg_packet_seal(crc) -> sendto.
 * - TCP ping in (stream type 00): if its Node is empty or ovg_swim_name(),
 *   answer an ack {SeqNo} on the stream (memberlist does not involve its
 *   state machine either). TCP ping out: tcp_ping callback, send `ping`,
 *   wait for an ack with that SeqNo until deadline_ms, report the result.
 * - Push-pull: dialer (push_pull callback): send build(join), read the reply,
 *   merge it. Listener: merge the request (it yields the peer's Join), then
 *   send build(join) back (memberlist replies before merging; either order is
 *   fine). User messages by TCP (type 08 stream) go to the application.
 * - Timers: call ovg_swim_tick at ovg_swim_next_deadline_ms (recompute it
 *   after every call). Persist ovg_swim_incarnation() and pass it back as
 *   config.incarnation on restart.
 *
 * Callbacks: they run synchronously from inside ovg_swim_* calls. A callback
 * may call the read-only functions (members, stats, ...), ovg_swim_user_broadcast
 * and ovg_swim_set_meta, but not handle_msg, tick, merge, join, leave or
 * destroy on the same instance.
 */
#ifndef OVG_SWIM_H
#define OVG_SWIM_H

#include "ovg/common.h"
#include "ovg/wire.h"

struct ovg_swim;

enum ovg_swim_event {
	OVG_SWIM_EV_JOIN = 0,    /* new, or dead/left -> alive */
	OVG_SWIM_EV_UPDATE = 1,  /* alive with new meta or address, or suspect -> alive */
	OVG_SWIM_EV_SUSPECT = 2,
	OVG_SWIM_EV_DEAD = 3,    /* failed: declared dead by someone */
	OVG_SWIM_EV_LEFT = 4,    /* left gracefully (dead with From == Node) */
	OVG_SWIM_EV_REAP = 5,    /* dead/left member forgotten after gossip_to_the_dead */
};

/* A member as seen by us. All pointers borrow swim's memory and stay valid
 * until the next call into the instance that can change membership
 * (handle_msg, tick, merge, join, leave, set_meta, destroy). */
struct ovg_swim_member {
	const char *name;              /* NUL-terminated */
	struct ovg_addr addr;
	uint32_t incarnation;
	enum ovg_node_state state;
	struct ovg_bytes meta;
	uint8_t vsn[OVG_VSN_LEN];      /* pmin pmax pcur dmin dmax dcur (0s if unknown) */
	uint64_t state_change_ms;      /* when `state` was last entered */
	bool is_self;
};

/* Log levels for the optional log callback. */
enum ovg_swim_log {
	OVG_SWIM_LOG_DEBUG = 0,
	OVG_SWIM_LOG_INFO = 1,
	OVG_SWIM_LOG_WARN = 2,
	OVG_SWIM_LOG_ERR = 3,
};

/* Everything leaving the node. Only send_packet is required. */
struct ovg_swim_io {
	void *ctx;

	/* Send one UDP payload: a plaintext memberlist message or compound (the
	 * daemon adds CRC if `crc` and encrypts: ovg_packet_seal). len <=
	 * config.packet_budget. Returns 0, or -errno if the send failed locally
	 * (a failed probe ping then goes straight to indirect probing). */
	int (*send_packet)(void *ctx, const struct ovg_addr *to, const uint8_t *payload,
			   size_t len, bool crc);

	/* Start a TCP fallback ping to `to` (member `node`). `ping` is the
	 * encoded ping message (type byte 00 + body) to send as a stream; the
	 * peer answers with an ack carrying `seq`. Report the outcome with
	 * ovg_swim_tcp_ping_result(seq) before deadline_ms (later results are
	 * ignored). Optional: NULL disables TCP fallback pings. */
	void (*tcp_ping)(void *ctx, const struct ovg_addr *to, const char *node, uint32_t seq,
			 const uint8_t *ping, size_t ping_len, uint64_t deadline_ms);

	/* Start a push-pull exchange with `to` (`node` may be NULL when joining by
	 * address): connect, send ovg_swim_push_pull_build(join), read the reply,
	 * ovg_swim_push_pull_merge() it. Optional (NULL: no anti-entropy). */
	void (*push_pull)(void *ctx, const struct ovg_addr *to, const char *node, bool join);

	/* Membership change of any member, including self (a JOIN at create). */
	void (*event)(void *ctx, enum ovg_swim_event ev, const struct ovg_swim_member *m);

	/* A user message (bytes after the 08 type byte) arrived by UDP gossip.
	 * Return true if it was new to the application and should be forwarded
	 * (queued for gossip and eager-pushed, exactly like
	 * ovg_swim_user_broadcast); false to drop it (duplicates, serf's
	 * messages). Optional. */
	bool (*user_msg)(void *ctx, const uint8_t *msg, size_t len, uint64_t now_ms);

	/* Push-pull user state. local_state: set *buf to malloc'd bytes (swim
	 * frees them) and *len, or *buf = NULL for none; 0 or -errno.
	 * merge_state: remote user state (only when non-empty). Optional. */
	int (*local_state)(void *ctx, bool join, uint8_t **buf, size_t *len);
	void (*merge_state)(void *ctx, const uint8_t *buf, size_t len, bool join,
			    uint64_t now_ms);

	/* Optional log line (no trailing newline). */
	void (*log)(void *ctx, enum ovg_swim_log level, const char *msg);
};

/* Who probes whom (config.probe_schedule). */
enum ovg_swim_schedule {
	/* Default. Time is cut into rounds of probe_interval on a cluster-wide
	 * clock (now_ms + clock_offset_ms). The live members (alive + suspect,
	 * self included) sorted by a fixed hash of their names form a ring;
	 * round r pairs them up by the round-robin tournament ("circle") method
	 * on that ring, so over n - 1 rounds every member meets every other
	 * once, and in every round every member is checked by exactly one
	 * partner. One of the two pings the other (its initiator role
	 * alternates); the other takes that ping as its own evidence and only
	 * probes the initiator itself if no packet from it arrived by
	 * round start + interval/8 + probe_timeout/3. With n odd, the member
	 * sitting the round out pings its ring successor. One ping/ack per pair
	 * per round instead of one per member, and no member waits more than
	 * about one round to be checked. Views that differ (joins, failures) only
	 * cost extra probes: everyone always checks the partner it computed. */
	OVG_SWIM_SCHED_PAIRED = 0,
	/* memberlist's: each member probes one member per interval in its own
	 * shuffled round-robin order. */
	OVG_SWIM_SCHED_SHUFFLED = 1,
};

struct ovg_swim_config {
	/* Self. name and meta are copied at create. */
	const char *name;                /* 1..OVG_NAME_MAX bytes, no NUL inside */
	struct ovg_addr addr;            /* advertised address and port */
	const uint8_t *meta;             /* may be NULL */
	size_t meta_len;                 /* <= OVG_META_MAX */
	uint8_t vsn[OVG_VSN_LEN];        /* default OVG_VSN_DEFAULT */
	uint32_t incarnation;            /* last incarnation used (persisted by the
					  * daemon); we start at incarnation + 1 */

	/* Timing (ms). */
	enum ovg_swim_schedule probe_schedule;   /* OVG_SWIM_SCHED_PAIRED */
	uint32_t probe_interval_ms;      /* 500: one round (paired) or one probe (shuffled) */
	uint32_t probe_timeout_ms;       /* 150: direct ack wait before indirect; paired:
					  * a failed probe ends 3 probe timeouts after
					  * its start, shuffled: at the interval's end */
	uint32_t suspicion_interval_ms;  /* 250: the time unit of suspicion timeouts
					  * (memberlist uses probe_interval); 0 = probe
					  * interval */
	int64_t clock_offset_ms;         /* paired rounds follow now_ms + this (the daemon:
					  * CLOCK_REALTIME - CLOCK_MONOTONIC, so rounds
					  * line up across hosts) */
	uint32_t gossip_interval_ms;     /* 100; 0 disables periodic gossip */
	uint32_t push_pull_interval_ms;  /* 30000; 0 disables periodic push-pull */
	uint32_t gossip_to_the_dead_ms;  /* 30000: dead kept (and gossiped to) this long */
	uint32_t dead_reclaim_ms;        /* 0: a dead member's name may move to a new
					  * address (alive with a higher incarnation)
					  * this long after it died; left: at once */

	/* Counts and multipliers. */
	uint32_t gossip_nodes;           /* 3: gossip fanout per gossip tick */
	uint32_t eager_fanout;           /* 3: eager push fanout; 0 disables eager push */
	uint32_t indirect_checks;        /* 3 */
	uint32_t retransmit_mult;        /* 4 */
	uint32_t suspicion_mult;         /* 3 (memberlist LAN: 4) */
	uint32_t suspicion_max_mult;     /* 6 */
	uint32_t awareness_max;          /* 8 */
	bool disable_tcp_pings;          /* false */
	bool disable_probes;             /* false; tests and simulations only (timeouts
					  * still derive from probe_interval_ms) */

	/* Bounds. */
	uint32_t bcast_queue_max;        /* 4096 queued broadcasts, oldest/most sent dropped */
	uint32_t members_max;            /* 131072 members; news about more is ignored */
	uint32_t relay_max;              /* 1024 indirect pings relayed at once */
	size_t packet_budget;            /* 1366 bytes per UDP payload before CRC+encryption */
};

/* Counters, for metrics and tests. */
struct ovg_swim_stats {
	uint64_t msgs_in;
	uint64_t msgs_bad;               /* undecodable or unexpected messages */
	uint64_t packets_out;
	uint64_t probes;
	uint64_t probes_failed;          /* ended in a suspicion */
	uint64_t indirect_probes;        /* probes that went indirect */
	uint64_t tcp_pings;
	uint64_t refutes;
	uint64_t corrections;            /* newer alive sent back to a stale accuser */
	uint64_t suspects_started;       /* members we moved to suspect */
	uint64_t deaths_declared;        /* suspicion timeouts that fired here */
	uint64_t bcast_queued;
	uint64_t bcast_dropped;          /* dropped by the queue bound */
	uint64_t eager_packets;
	uint64_t gossip_packets;
	uint64_t push_pulls;             /* push_pull callbacks issued */
	uint64_t relays;                 /* indirect pings relayed */
	uint64_t relays_dropped;         /* refused: relay table full */
	uint64_t rounds;                 /* paired rounds begun */
	uint64_t partner_heard;          /* paired: partner's packet was our evidence */
};

void ovg_swim_config_default(struct ovg_swim_config *cfg);

/* Create: self becomes alive at cfg->incarnation + 1 (a JOIN event for self).
 * cfg, io and rng are copied (cfg->name and cfg->meta too). NULL + errno
 * (EINVAL bad config, ENOMEM). */
struct ovg_swim *ovg_swim_create(const struct ovg_swim_config *cfg,
				 const struct ovg_swim_io *io, const struct ovg_rng *rng,
				 uint64_t now_ms);
void ovg_swim_destroy(struct ovg_swim *s);     /* NULL ok */

/* Inbound UDP messages from one packet (each view one message starting with
 * its type byte, as ovg_packet_open returns them). `from` is the datagram's
 * source. Handles ping, indirect ping, ack, nack, suspect, alive, dead, user;
 * anything else counts as bad. Returns the number of messages that failed to
 * decode or were unexpected (0 = all fine), or -EINVAL (from NULL). */
int ovg_swim_handle_msgs(struct ovg_swim *s, const struct ovg_addr *from,
			 const struct ovg_bytes *msgs, size_t n, uint64_t now_ms);
/* One message: 0, or -EBADMSG / -EPROTONOSUPPORT etc. */
int ovg_swim_handle_msg(struct ovg_swim *s, const struct ovg_addr *from,
			const uint8_t *msg, size_t len, uint64_t now_ms);

/* A user message that came by TCP (the bytes after the stream's user
 * header): handed to user_msg, and forwarded by gossip if that returns true
 * and it fits in a packet. */
void ovg_swim_handle_stream_user(struct ovg_swim *s, const uint8_t *msg, size_t len,
				 uint64_t now_ms);

/* Result of a tcp_ping callback. */
void ovg_swim_tcp_ping_result(struct ovg_swim *s, uint32_t seq, bool ok, uint64_t now_ms);

/* Run everything due at now_ms: probe steps, gossip, push-pull, suspicion
 * timeouts, relay timeouts (nacks). */
void ovg_swim_tick(struct ovg_swim *s, uint64_t now_ms);
/* Earliest time tick() has something to do (always finite). */
uint64_t ovg_swim_next_deadline_ms(const struct ovg_swim *s);

/* Begin joining: one push_pull(join = true) callback per address. The
 * daemon performs the exchanges and merges the replies. 0 or -EINVAL. */
int ovg_swim_join(struct ovg_swim *s, const struct ovg_addr *addrs, size_t n,
		  uint64_t now_ms);

/* Graceful leave: broadcast dead-about-self with From == self, stop probing
 * and periodic push-pull (gossip, acks and relays go on). 0, or -EALREADY. */
int ovg_swim_leave(struct ovg_swim *s, uint64_t now_ms);
/* True once the leave broadcast has been sent its full retransmit count or
 * there is nobody alive to tell; the daemon waits for this (bounded), then
 * shuts down. */
bool ovg_swim_leave_done(const struct ovg_swim *s);

/* Change our meta: new incarnation, alive broadcast. 0, -EMSGSIZE, -ENOMEM. */
int ovg_swim_set_meta(struct ovg_swim *s, const uint8_t *meta, size_t len, uint64_t now_ms);

/* Broadcast a user message (the bytes after the 08 type byte) through the
 * gossip queue, eager-pushed too. Copies msg. 0; -EMSGSIZE if it can never
 * fit in a packet (len + 1 + 4 > packet_budget); -ENOMEM. */
int ovg_swim_user_broadcast(struct ovg_swim *s, const uint8_t *msg, size_t len,
			    uint64_t now_ms);

/* Push-pull. build: our whole stream message, plaintext
 * (06 | header | node records | user state from local_state), malloc'd into
 * *out (caller frees). merge: a peer's message starting with 06 (as
 * ovg_stream_open returns it): checks protocol versions like memberlist
 * (-EPROTO, nothing merged), merges nodes (alive -> alive, left -> dead with
 * From = Name, dead/suspect -> suspect), hands non-empty user state to
 * merge_state. *join (may be NULL) gets the peer's Join flag: a listener
 * replies with build(join) of that flag. 0, -EBADMSG, -EMSGSIZE, -EPROTO. */
int ovg_swim_push_pull_build(struct ovg_swim *s, bool join, uint8_t **out, size_t *out_len);
int ovg_swim_push_pull_merge(struct ovg_swim *s, const uint8_t *msg, size_t len,
			     uint64_t now_ms, bool *join);
/* Merge already-decoded node records (same rules, no version check). */
void ovg_swim_merge_nodes(struct ovg_swim *s, const struct ovg_push_node *nodes, size_t n,
			  uint64_t now_ms);

/* Members, self included, dead/left ones until reaped. Index order is
 * arbitrary and changes with membership. get: 0 or -ENOENT. */
size_t ovg_swim_member_count(const struct ovg_swim *s);
int ovg_swim_member_get(const struct ovg_swim *s, size_t i, struct ovg_swim_member *out);
int ovg_swim_member_find(const struct ovg_swim *s, const char *name,
			 struct ovg_swim_member *out);
size_t ovg_swim_num_alive(const struct ovg_swim *s);   /* alive + suspect, self included */

const char *ovg_swim_name(const struct ovg_swim *s);
uint32_t ovg_swim_incarnation(const struct ovg_swim *s);  /* persist this */
int ovg_swim_health_score(const struct ovg_swim *s);
bool ovg_swim_has_left(const struct ovg_swim *s);
void ovg_swim_get_stats(const struct ovg_swim *s, struct ovg_swim_stats *out);
size_t ovg_swim_bcast_queued(const struct ovg_swim *s);

/* Paired schedule: follow a new cluster clock offset (the daemon re-reads
 * CLOCK_REALTIME - CLOCK_MONOTONIC now and then to follow NTP). */
void ovg_swim_set_clock_offset(struct ovg_swim *s, int64_t offset_ms);

/* Helpers exposed for tests and the simulator. */
/* Paired schedule: the partner of ring position i among m in round r (the
 * circle method); m itself when i sits the round out (m odd). i < m. */
uint32_t ovg_swim_round_partner(uint32_t i, uint32_t m, uint64_t r);
/* The fixed ring position key of a member name (same on every node). */
uint64_t ovg_swim_ring_key(const char *name, size_t len);
uint64_t ovg_swim_suspicion_min_ms(uint32_t mult, size_t n, uint32_t interval_ms);
/* Suspicion timeout measured from its start after c confirmations of k. */
uint64_t ovg_swim_suspicion_timeout_ms(uint32_t c, uint32_t k, uint64_t min_ms,
				       uint64_t max_ms);
uint32_t ovg_swim_retransmit_limit(uint32_t mult, size_t n);
uint64_t ovg_swim_push_pull_scale_ms(uint32_t interval_ms, size_t n);

/* Bulk bootstrap: give a freshly created instance (no member but self, no
 * other call since create) the view a long-standing member of that cluster
 * has. Records are merged by push-pull rules (ovg_swim_merge_nodes) with
 * events as usual, but no news about them is queued or pushed: the cluster
 * learned it long ago. If the records list us alive at our incarnation, our
 * own announcement from create is withdrawn too (a refutation of a record
 * that accuses us is real news and stays queued). Tables are sized once for
 * n members; records sorted by (ovg_swim_ring_key(name), name) build the
 * probe ring in O(n), any other order costs a sort. For simulators and
 * tests; the daemon joins. 0, -EINVAL, -EALREADY (not a fresh instance). */
int ovg_swim_preload(struct ovg_swim *s, const struct ovg_push_node *nodes, size_t n,
		     uint64_t now_ms);

#endif
