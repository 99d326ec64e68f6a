/*
 * Fuzz the replicated state's decoders and receive path: the input is one
 * message (DIGEST, REQUEST, DELTA, IPAM, SUMMARY, or anything) handed to a replica
 * that already holds a network, endpoints and a block transfer; or, when the
 * first byte is 'O', a saved state to load. Afterwards the replica must still
 * answer every getter, save, and load its own save.
 */
#include <stdlib.h>
#include "ovg/state.h"

static uint64_t fixed_next(void *ctx)
{
	return ovg_splitmix_next(ctx);
}

static int net_cb(void *ctx, const struct ovg_state_net *n)
{
	(void)ctx;
	return n->name[0] == 0;         /* names are never empty */
}

static int ep_cb(void *ctx, const struct ovg_state_ep *e)
{
	(void)ctx;
	return e->name[0] == 0;
}

static int block_cb(void *ctx, const struct ovg_state_block *b)
{
	(void)ctx;
	return b->size == 0;
}

static int walk(const struct ovg_state *st, void *unused)
{
	(void)unused;
	return 0;
}

static struct ovg_state *populated(struct ovg_splitmix *rng)
{
	struct ovg_state_config cfg = { .node_name = "fuzz", .rng = { fixed_next, rng } };
	struct ovg_state *st = ovg_state_new(&cfg, 1000, NULL, 0);
	struct ovg_state_net_spec spec = { .name = "ov", .subnet = "10.9.0.0/24", .attachable = true };
	uint8_t id[16];
	if (!st)
		abort();
	if (ovg_state_net_create(st, 1000, &spec, id, NULL, 0) ||
	    ovg_state_ep_attach(st, 1000, id, "a", NULL, NULL, NULL, 0) ||
	    ovg_state_ep_attach(st, 1000, id, "b", "10.9.0.9", NULL, NULL, 0) ||
	    ovg_state_ep_detach(st, 1000, id, "a", NULL, 0))
		abort();
	return st;
}

static void check(struct ovg_state *st)
{
	struct ovg_splitmix rng2 = { 7 };
	struct ovg_state_config cfg = { .node_name = "fuzz", .rng = { fixed_next, &rng2 } };
	static uint8_t buf[1 << 16];
	uint8_t id[16], *saved;
	size_t len, saved_len;
	char node[OVG_STATE_NAME_MAX + 1];

	(void)walk(st, NULL);
	if (ovg_state_net_foreach(st, net_cb, NULL) > 0)
		abort();
	if (ovg_state_net_lookup(st, "ov", id) == 0) {
		if (ovg_state_ep_foreach(st, id, true, ep_cb, NULL) > 0)
			abort();
		if (ovg_state_block_foreach(st, id, block_cb, NULL) > 0)
			abort();
	}
	(void)ovg_state_hash(st);
	(void)ovg_state_digest_encode(st, OVG_ENV_STATE_DIGEST, buf, sizeof(buf), &len);
	/* our own summary decodes, and matches us */
	if (ovg_state_summary_encode(st, buf, OVG_STATE_SUMMARY_MAX, &len))
		abort();
	{
		struct ovg_state_wsummary sum;
		uint32_t count;
		uint64_t hash;
		if (ovg_state_wsummary_decode(buf + OVG_ENV_HDR_LEN, len - OVG_ENV_HDR_LEN, &sum) ||
		    ovg_state_summary_hash(st, &count, &hash) || sum.count != count || sum.hash != hash)
			abort();
	}
	while (ovg_state_push_next(st, buf, sizeof(buf), &len) == 0 && len)
		;
	while (ovg_state_ipam_next(st, 99999, node, buf, sizeof(buf), &len) == 0 && len)
		;
	if (ovg_state_save(st, &saved, &saved_len))
		abort();
	struct ovg_state *again = ovg_state_new(&cfg, 2000, saved, saved_len);
	if (!again)
		abort();               /* our own save must load */
	if (ovg_state_hash(again) != ovg_state_hash(st))
		abort();               /* and hold the same records */
	ovg_state_free(again);
	free(saved);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct ovg_splitmix rng = { 1 };
	static uint8_t piece[1 << 16];
	size_t len;

	if (size > 0 && data[0] == 'O') {
		struct ovg_state_config cfg = { .node_name = "fuzz", .rng = { fixed_next, &rng } };
		struct ovg_state *st = ovg_state_new(&cfg, 1000, data, size);
		if (st) {
			check(st);
			ovg_state_free(st);
		}
		return 0;
	}

	/* the bare decoders */
	if (size > OVG_ENV_HDR_LEN) {
		static struct ovg_state_wdigest d;
		struct ovg_state_wsummary sum;
		struct ovg_state_wipam req;
		struct ovg_state_wdelta_iter it;
		struct ovg_state_wsection sec;
		struct ovg_state_wrec rec;
		const uint8_t *b = data + OVG_ENV_HDR_LEN;
		size_t n = size - OVG_ENV_HDR_LEN;
		(void)ovg_state_wdigest_decode(b, n, &d);
		(void)ovg_state_wipam_decode(b, n, &req);
		if (ovg_state_wsummary_decode(b, n, &sum) == 0 &&
		    (sum.name.len == 0 || sum.name.len > OVG_STATE_NAME_MAX || sum.count == 0 ||
		     sum.count > OVG_STATE_MAX_OWNERS || sum.instance == 0))
			abort();        /* the decoder's bounds hold */
		if (ovg_state_wdelta_begin(b, n, &it) == 0)
			while (ovg_state_wdelta_section(&it, &sec) == 0)
				while (ovg_state_wdelta_record(&it, &rec) == 0)
					;
	}

	struct ovg_state *st = populated(&rng);
	struct ovg_state_rx rx;
	int rc = ovg_state_receive(st, 5000, data, size, &rx);
	if (rc == 0 && rx.kind == OVG_ENV_STATE_SUMMARY && rx.summary_differs == rx.in_sync)
		abort();        /* a summary either matches or differs */
	struct ovg_state_sync *s = ovg_state_sync_new(st, data, size);
	if (s) {
		int pieces = 0;
		while (ovg_state_sync_next(s, piece, OVG_STATE_PIECE_MAX, &len) == 0 && len) {
			if (len > OVG_STATE_PIECE_MAX)
				abort();
			if (++pieces > 100000)
				abort();
		}
		ovg_state_sync_free(s);
	}
	check(st);
	ovg_state_free(st);
	return 0;
}
