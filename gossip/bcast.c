/* Transmit-limited broadcast queue: see bcast.h. */
#include <stdlib.h>

#include "gossip/bcast.h"

/* A take gives up after this many queued items that did not fit, so one call
 * costs O(items taken + BCAST_SKIP_MAX) whatever the queue length. */
#define BCAST_SKIP_MAX 32
#define BCAST_EAGER_MAX 256

static unsigned tier_of(const struct ovg_bcast *b)
{
	return b->transmits < OVG_BCAST_TIERS ? b->transmits : OVG_BCAST_TIERS - 1;
}

static void list_unlink(struct ovg_bcast_list *l, struct ovg_bcast *b)
{
	if (b->prev)
		b->prev->next = b->next;
	else
		l->head = b->next;
	if (b->next)
		b->next->prev = b->prev;
	else
		l->tail = b->prev;
	b->prev = b->next = NULL;
}

static void list_push_head(struct ovg_bcast_list *l, struct ovg_bcast *b)
{
	b->prev = NULL;
	b->next = l->head;
	if (l->head)
		l->head->prev = b;
	else
		l->tail = b;
	l->head = b;
}

static void eager_unlink(struct ovg_bcast_queue *q, struct ovg_bcast *b)
{
	if (!b->in_eager)
		return;
	if (b->eprev)
		b->eprev->enext = b->enext;
	else
		q->eager.head = b->enext;
	if (b->enext)
		b->enext->eprev = b->eprev;
	else
		q->eager.tail = b->eprev;
	b->eprev = b->enext = NULL;
	b->in_eager = false;
	q->n_eager--;
}

/* b must already be out of its tier list. */
static void finish(struct ovg_bcast_queue *q, struct ovg_bcast *b)
{
	eager_unlink(q, b);
	if (b->owner) {
		*b->owner = NULL;
		b->owner = NULL;
	}
	if (b->notify && q->on_finish)
		q->on_finish(q->ctx, b);
	q->n--;
	free(b);
}

static void remove_and_finish(struct ovg_bcast_queue *q, struct ovg_bcast *b)
{
	list_unlink(&q->tiers[tier_of(b)], b);
	finish(q, b);
}

void ovg_bcast_init(struct ovg_bcast_queue *q, size_t max)
{
	memset(q, 0, sizeof(*q));
	q->max = max ? max : 1;
	q->eager_max = BCAST_EAGER_MAX;
}

void ovg_bcast_free(struct ovg_bcast_queue *q)
{
	if (!q)
		return;
	for (unsigned t = 0; t < OVG_BCAST_TIERS; t++) {
		while (q->tiers[t].head)
			remove_and_finish(q, q->tiers[t].head);
	}
}

static void drop_one(struct ovg_bcast_queue *q)
{
	for (int t = OVG_BCAST_TIERS - 1; t >= 0; t--) {
		struct ovg_bcast *b = q->tiers[t].tail;
		if (b) {
			q->dropped++;
			remove_and_finish(q, b);
			return;
		}
	}
}

int ovg_bcast_push(struct ovg_bcast_queue *q, const uint8_t *msg, size_t len,
		   struct ovg_bcast **owner, bool eager, bool notify)
{
	struct ovg_bcast *b;

	if (len == 0 || len > OVG_BCAST_MSG_MAX)
		return -EMSGSIZE;
	b = calloc(1, sizeof(*b) + len);
	if (!b)
		return -ENOMEM;
	memcpy(b->msg, msg, len);
	b->len = len;
	b->notify = notify;
	if (owner) {
		if (*owner)
			remove_and_finish(q, *owner);
		*owner = b;
		b->owner = owner;
	}
	list_push_head(&q->tiers[0], b);
	q->n++;
	if (eager && q->n_eager < q->eager_max) {
		b->in_eager = true;
		b->eprev = NULL;
		b->enext = q->eager.head;
		if (q->eager.head)
			q->eager.head->eprev = b;
		else
			q->eager.tail = b;
		q->eager.head = b;
		q->n_eager++;
	}
	while (q->n > q->max)
		drop_one(q);
	return 0;
}

void ovg_bcast_cancel(struct ovg_bcast_queue *q, struct ovg_bcast **owner)
{
	if (*owner)
		remove_and_finish(q, *owner);
}

static void requeue(struct ovg_bcast_queue *q, struct ovg_bcast *b, uint32_t times,
		    uint32_t transmit_limit)
{
	b->transmits += times;
	if (b->transmits >= transmit_limit) {
		finish(q, b);
		return;
	}
	list_push_head(&q->tiers[tier_of(b)], b);
}

static uint32_t clamp_limit(uint32_t transmit_limit)
{
	if (transmit_limit < 1)
		return 1;
	return transmit_limit > OVG_BCAST_TIERS ? OVG_BCAST_TIERS : transmit_limit;
}

size_t ovg_bcast_take(struct ovg_bcast_queue *q, uint32_t transmit_limit, size_t overhead,
		      size_t limit, uint8_t *buf, size_t cap, struct ovg_bytes *views,
		      size_t max_msgs)
{
	struct ovg_bcast *taken = NULL, *b, *nb;
	size_t used = 0, pos = 0, nout = 0, skips = 0;

	transmit_limit = clamp_limit(transmit_limit);
	for (unsigned t = 0; t < OVG_BCAST_TIERS && nout < max_msgs; t++) {
		for (b = q->tiers[t].head; b && nout < max_msgs; b = nb) {
			nb = b->next;
			if (used + overhead + b->len > limit || pos + b->len > cap) {
				if (++skips > BCAST_SKIP_MAX)
					goto done;
				continue;
			}
			memcpy(buf + pos, b->msg, b->len);
			views[nout++] = ovg_bytes_make(buf + pos, b->len);
			pos += b->len;
			used += overhead + b->len;
			list_unlink(&q->tiers[t], b);
			b->next = taken;   /* reuse the link for the taken list */
			taken = b;
		}
		if (used + overhead + 2 > limit)
			break;
	}
done:
	/* Reinsert after the walk so nothing taken is seen twice. */
	while (taken) {
		b = taken;
		taken = b->next;
		b->next = NULL;
		requeue(q, b, 1, transmit_limit);
	}
	return nout;
}

size_t ovg_bcast_take_eager(struct ovg_bcast_queue *q, size_t overhead, size_t limit,
			    uint8_t *buf, size_t cap, struct ovg_bytes *views,
			    struct ovg_bcast **items, size_t max_msgs)
{
	size_t used = 0, pos = 0, nout = 0;
	struct ovg_bcast *b;

	while ((b = q->eager.head) != NULL) {
		eager_unlink(q, b);
		if (nout >= max_msgs || used + overhead + b->len > limit || pos + b->len > cap)
			continue;
		memcpy(buf + pos, b->msg, b->len);
		views[nout] = ovg_bytes_make(buf + pos, b->len);
		items[nout++] = b;
		pos += b->len;
		used += overhead + b->len;
	}
	return nout;
}

void ovg_bcast_charge(struct ovg_bcast_queue *q, struct ovg_bcast **items, size_t n,
		      uint32_t times, uint32_t transmit_limit)
{
	transmit_limit = clamp_limit(transmit_limit);
	for (size_t i = 0; i < n; i++) {
		list_unlink(&q->tiers[tier_of(items[i])], items[i]);
		requeue(q, items[i], times, transmit_limit);
	}
}

void ovg_bcast_clear_eager(struct ovg_bcast_queue *q)
{
	while (q->eager.head)
		eager_unlink(q, q->eager.head);
}
