/*
 * Transmit-limited broadcast queue (memberlist queue.go semantics), private to
 * gossip/. Items are kept in tiers by transmit count; a take visits the least
 * transmitted tiers first, newest first inside a tier, and moves what it took
 * one tier up (or finishes it at the retransmit limit). A named item has an
 * owner slot (the member it is about): queueing news for the same slot
 * finishes the older item, so newer news replaces older news in O(1).
 * Bounded: beyond `max` items the most transmitted, oldest item is dropped.
 */
#ifndef OVG_GOSSIP_BCAST_H
#define OVG_GOSSIP_BCAST_H

#include "ovg/common.h"

#define OVG_BCAST_TIERS      64      /* retransmit limits are clamped to this */
#define OVG_BCAST_MSG_MAX    2048    /* one queued message */

struct ovg_bcast {
	struct ovg_bcast *prev, *next;       /* tier list */
	struct ovg_bcast *eprev, *enext;     /* eager list */
	struct ovg_bcast **owner;            /* slot pointing at us, or NULL */
	uint32_t transmits;
	bool in_eager;
	bool notify;                         /* call on_finish when done */
	size_t len;
	uint8_t msg[];
};

struct ovg_bcast_list {
	struct ovg_bcast *head, *tail;
};

struct ovg_bcast_queue {
	struct ovg_bcast_list tiers[OVG_BCAST_TIERS];
	struct ovg_bcast_list eager;
	size_t n, n_eager, max, eager_max;
	uint64_t dropped;
	/* Invoked for items queued with notify = true when they finish
	 * (sent to the limit, replaced, dropped or the queue is freed). */
	void (*on_finish)(void *ctx, struct ovg_bcast *b);
	void *ctx;
};

void ovg_bcast_init(struct ovg_bcast_queue *q, size_t max);
void ovg_bcast_free(struct ovg_bcast_queue *q);

/* Queue a copy of msg. owner (may be NULL): slot that names the item; an item
 * already in *owner is finished (replaced). eager: also put it on the eager
 * list (dropped silently when that list is full). 0, -EMSGSIZE, -ENOMEM. */
int ovg_bcast_push(struct ovg_bcast_queue *q, const uint8_t *msg, size_t len,
		   struct ovg_bcast **owner, bool eager, bool notify);

/* Withdraw the item in *owner (if any) unsent, as if replaced: counts
 * neither as dropped nor as sent. */
void ovg_bcast_cancel(struct ovg_bcast_queue *q, struct ovg_bcast **owner);

/* Forget an owner slot (its member is going away); the item stays queued. */
static inline void ovg_bcast_disown(struct ovg_bcast **owner)
{
	if (*owner) {
		(*owner)->owner = NULL;
		*owner = NULL;
	}
}

/* Take broadcasts for one packet: copies messages into buf (cap bytes) while
 * `overhead` + len fits in `limit` bytes total, at most max_msgs; views[i]
 * point into buf. Each taken item counts one transmit. Returns the count. */
size_t ovg_bcast_take(struct ovg_bcast_queue *q, uint32_t transmit_limit, size_t overhead,
		      size_t limit, uint8_t *buf, size_t cap, struct ovg_bytes *views,
		      size_t max_msgs);

/* Eager batch: copies eager-listed items (newest first) that fit as above
 * and empties the eager list (items that did not fit just stay queued). The
 * taken items are returned in items[] for ovg_bcast_charge. */
size_t ovg_bcast_take_eager(struct ovg_bcast_queue *q, size_t overhead, size_t limit,
			    uint8_t *buf, size_t cap, struct ovg_bytes *views,
			    struct ovg_bcast **items, size_t max_msgs);
/* Count `times` transmits on each item (from take_eager). */
void ovg_bcast_charge(struct ovg_bcast_queue *q, struct ovg_bcast **items, size_t n,
		      uint32_t times, uint32_t transmit_limit);
void ovg_bcast_clear_eager(struct ovg_bcast_queue *q);

#endif
