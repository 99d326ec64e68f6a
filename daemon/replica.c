/* Replicated state on the wire: a summary of our Scuttlebutt digest to a
 * random peer every DIGEST_INTERVAL (skipped when a peer showed us within the
 * last interval that it holds what we hold), our full digest to a peer whose
 * summary differs, eager push of every change, syncs of what a peer lacks
 * over TCP, IPAM block requests to their owners. Only ovgossipd members
 * (tagged in their meta) are ever sent state messages. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "daemon/agent.h"
#include "daemon/dataplane.h"
#include "ovg/env.h"
#include "ovg/state.h"
#include "ovg/wire.h"

#define DIGEST_INTERVAL_MS 2000u
#define DIGEST_INTERVAL_S  (DIGEST_INTERVAL_MS / 1000.0)
#define EAGER_ORIGIN_MAX   32     /* a change we make goes straight to this many peers */
#define EAGER_FORWARD      3      /* a change new to us is passed on to this many */
#define SYNC_PIECE_MAX     (4u << 20)
#define PEERS_MAX          1024

static void replica_net_changed(void *ctx, const uint8_t net_id[16])
{
	struct agent *a = ctx;
	dataplane_net_changed(a, net_id);
}

bool replica_node_alive(void *ctx, const char *node)
{
	struct agent *a = ctx;
	struct ovg_swim_member m;

	if (!a->swim)
		return true;
	if (ovg_swim_member_find(a->swim, node, &m) < 0)
		return false;
	return m.state == OVG_STATE_ALIVE || m.state == OVG_STATE_SUSPECT;
}

static void state_path(struct agent *a, char *buf, size_t len)
{
	snprintf(buf, len, "%s/state", a->cfg.state_dir);
}

int replica_init(struct agent *a, char *err, size_t errlen)
{
	struct ovg_state_config sc = {
		.node_name = a->cfg.name,
		.rng = a->rng,
		.net_changed = replica_net_changed,
		.node_alive = replica_node_alive,
		.ctx = a,
	};
	char path[PATH_MAX];
	uint8_t *saved = NULL;
	size_t len = 0;
	int rc;

	state_path(a, path, sizeof(path));
	rc = ovg_file_read(path, 256u << 20, &saved, &len);
	if (rc < 0 && rc != -ENOENT) {
		snprintf(err, errlen, "cannot read %s: %s", path, strerror(-rc));
		return rc;
	}
	a->state = ovg_state_new(&sc, ovg_now_ms(), saved, len);
	free(saved);
	if (!a->state) {
		if (errno == EBADMSG)
			snprintf(err, errlen, "%s is corrupt (move it away to start afresh)", path);
		else if (errno == EINVAL)
			snprintf(err, errlen, "%s belongs to another node name, or the name '%s' is not valid here (1-%d bytes, no '@')",
				 path, a->cfg.name, OVG_STATE_NAME_MAX);
		else
			snprintf(err, errlen, "cannot load the replicated state: %s", strerror(errno));
		return -errno;
	}
	if (ovg_state_needs_save(a->state)) {
		uint8_t *buf = NULL;
		size_t blen = 0;
		rc = ovg_state_save(a->state, &buf, &blen);
		if (rc == 0)
			rc = ovg_file_write_atomic(path, buf, blen, 0600);
		free(buf);
		if (rc < 0) {
			snprintf(err, errlen, "cannot write %s: %s", path, strerror(-rc));
			return rc;
		}
	}
	return 0;
}

void replica_free(struct agent *a)
{
	ovg_state_free(a->state);
	a->state = NULL;
}

/* ---- peers ---------------------------------------------------------------- */

struct peer {
	struct ovg_addr addr;
};

/* Alive ovgossipd members other than us, in random order; returns how many. */
static size_t pick_peers(struct agent *a, struct peer *out, size_t max, const struct ovg_addr *exclude)
{
	size_t n = ovg_swim_member_count(a->swim), k = 0;

	for (size_t i = 0; i < n && k < PEERS_MAX; i++) {
		struct ovg_swim_member m;
		if (ovg_swim_member_get(a->swim, i, &m) < 0 || m.is_self)
			continue;
		if (m.state != OVG_STATE_ALIVE && m.state != OVG_STATE_SUSPECT)
			continue;
		if (!agent_member_is_ovg(&m))
			continue;
		if (exclude && ovg_addr_eq(exclude, &m.addr))
			continue;
		if (k < max) {
			out[k++].addr = m.addr;
		} else {
			/* reservoir sampling keeps the pick uniform */
			uint32_t j = ovg_rng_below(&a->rng, (uint32_t)(k + 1));
			if (j < max)
				out[j].addr = m.addr;
			k++;
		}
	}
	k = OVG_MIN(k, max);
	for (size_t i = k; i > 1; i--) {
		uint32_t j = ovg_rng_below(&a->rng, (uint32_t)i);
		struct peer t = out[i - 1];
		out[i - 1] = out[j];
		out[j] = t;
	}
	return k;
}

/* A user message by UDP: 08 | msg. */
static void send_user_udp(struct agent *a, const struct ovg_addr *to, const uint8_t *msg, size_t len)
{
	uint8_t pkt[OVG_UDP_MAX];

	if (len + 1 > sizeof(pkt))
		return;
	pkt[0] = OVG_MSG_USER;
	memcpy(pkt + 1, msg, len);
	if (agent_send_udp(a, to, pkt, len + 1) == 0) {
		a->state_msgs_out++;
		a->state_bytes_out += len + 1;
	}
}

static void fanout(struct agent *a, const uint8_t *msg, size_t len, size_t count,
		   const struct ovg_addr *exclude)
{
	struct peer peers[EAGER_ORIGIN_MAX];
	size_t n = pick_peers(a, peers, OVG_MIN(count, OVG_ARRAY_SIZE(peers)), exclude);

	for (size_t i = 0; i < n; i++)
		send_user_udp(a, &peers[i].addr, msg, len);
}

/* ---- saving and pushing --------------------------------------------------- */

static int save_state(struct agent *a)
{
	char path[PATH_MAX];
	uint8_t *buf = NULL;
	size_t len = 0;
	int rc;

	if (!ovg_state_needs_save(a->state))
		return 0;
	rc = ovg_state_save(a->state, &buf, &len);
	if (rc == 0) {
		state_path(a, path, sizeof(path));
		rc = ovg_file_write_atomic(path, buf, len, 0600);
	}
	free(buf);
	if (rc < 0)
		log_errx("cannot save the replicated state: %s", strerror(-rc));
	return rc;
}

void replica_after(struct agent *a)
{
	uint8_t buf[OVG_STATE_PIECE_MAX + 64];
	char node[OVG_STATE_NAME_MAX + 1];
	size_t len;

	/* versions must never be reused: nothing leaves before it is on disk */
	if (save_state(a) < 0)
		return;
	for (int i = 0; i < 4096; i++) {
		if (ovg_state_push_next(a->state, buf, OVG_STATE_PIECE_MAX, &len) < 0 || len == 0)
			break;
		fanout(a, buf, len, EAGER_ORIGIN_MAX, NULL);
	}
	for (int i = 0; i < 256; i++) {
		struct ovg_swim_member m;
		if (ovg_state_ipam_next(a->state, ovg_now_ms(), node, buf, sizeof(buf), &len) < 0 || len == 0)
			break;
		if (ovg_swim_member_find(a->swim, node, &m) == 0)
			send_user_udp(a, &m.addr, buf, len);
	}
}

/* ---- syncs over TCP ------------------------------------------------------- */

static void send_sync(struct agent *a, const struct ovg_addr *to, const uint8_t *digest, size_t dlen)
{
	struct ovg_state_sync *sync = ovg_state_sync_new(a->state, digest, dlen);
	uint8_t *buf;
	size_t len = 0;

	if (!sync)
		return;
	buf = malloc(SYNC_PIECE_MAX + 64);
	if (!buf)
		goto out;
	for (int i = 0; i < 64; i++) {
		if (ovg_state_sync_next(sync, buf, SYNC_PIECE_MAX, &len) < 0 || len == 0)
			break;
		if (len <= OVG_STATE_PIECE_MAX)
			send_user_udp(a, to, buf, len);
		else if (agent_send_user_tcp(a, to, buf, len) == 0) {
			a->state_msgs_out++;
			a->state_bytes_out += len;
		}
	}
out:
	free(buf);
	ovg_state_sync_free(sync);
}

/* ---- receiving ------------------------------------------------------------ */

/* A digest or summary that came by TCP has no usable source address: it
 * names its sender first, whose gossip address membership knows. */
static bool digest_sender(struct agent *a, const uint8_t *msg, size_t len, struct ovg_addr *out)
{
	struct ovg_state_wdigest *d;
	struct ovg_state_wsummary sum;
	struct ovg_swim_member m;
	struct ovg_env env;
	struct ovg_bytes who = { 0 };
	char name[OVG_STATE_NAME_MAX + 1];
	bool ok = false;

	if (ovg_env_decode(msg, len, &env) < 0)
		return false;
	if (env.kind == OVG_ENV_STATE_SUMMARY) {
		if (ovg_state_wsummary_decode(env.body.p, env.body.len, &sum) < 0)
			return false;
		who = sum.name;
		d = NULL;
	} else if (env.kind == OVG_ENV_STATE_DIGEST || env.kind == OVG_ENV_STATE_REQUEST) {
		d = malloc(sizeof(*d));
		if (!d)
			return false;
		if (ovg_state_wdigest_decode(env.body.p, env.body.len, d) == 0 && d->count > 0)
			who = d->entries[0].name;
	} else {
		return false;
	}
	if (who.len > 0 && who.len <= OVG_STATE_NAME_MAX) {
		memcpy(name, who.p, who.len);
		name[who.len] = '\0';
		if (ovg_swim_member_find(a->swim, name, &m) == 0 && !m.is_self) {
			*out = m.addr;
			ok = true;
		}
	}
	free(d);
	return ok;
}

static void send_digest(struct agent *a, const struct ovg_addr *to);

void replica_receive(struct agent *a, const struct ovg_addr *from, const uint8_t *msg, size_t len)
{
	struct ovg_addr sender;
	struct ovg_state_rx rx;
	uint8_t buf[OVG_UDP_MAX];
	size_t blen;
	int rc = ovg_state_receive(a->state, ovg_now_ms(), msg, len, &rx);

	if (rc < 0) {
		if (rc != -ENOMSG)
			log_debug("state message refused: %s", strerror(-rc));
		replica_after(a);
		return;
	}
	/* save before anything (forwarding included) goes out */
	replica_after(a);
	if (rx.kind == OVG_ENV_STATE_DELTA && rx.forward)
		fanout(a, msg, len, EAGER_FORWARD, from);
	if (rx.kind == OVG_ENV_STATE_DELTA && (!from || (a->sync_from.len && ovg_addr_eq(from, &a->sync_from))))
		dataplane_sync_state(a, false);   /* a sync we asked for (TCP, or from that peer) */
	if (a->pp_peer)
		log_debug("push-pull state: kind %u, request %d, lacks %d", rx.kind, rx.send_request, rx.peer_lacks);
	if (a->pp_peer && rx.kind == OVG_ENV_STATE_DIGEST) {
		if (rx.send_request) {
			a->sync_from = *a->pp_peer;
			dataplane_sync_state(a, true);
		} else {
			dataplane_caught_up(a);
		}
	}
	if (!from && (rx.send_request || rx.peer_lacks || rx.summary_differs) && !a->pp_peer &&
	    digest_sender(a, msg, len, &sender))
		from = &sender;
	if (!from)
		return;
	if (rx.summary_differs) {
		/* our full digest: the peer asks back or sends what we lack */
		send_digest(a, from);
		return;
	}
	if (rx.send_request &&
	    ovg_state_digest_encode(a->state, OVG_ENV_STATE_REQUEST, buf, sizeof(buf) - 1, &blen) == 0)
		send_user_udp(a, from, buf, blen);
	if (rx.peer_lacks)
		send_sync(a, from, msg, len);
}

/* ---- periodic summary ----------------------------------------------------- */

static void send_digest(struct agent *a, const struct ovg_addr *to)
{
	uint8_t buf[OVG_UDP_MAX];
	size_t len;

	if (ovg_state_digest_encode(a->state, OVG_ENV_STATE_DIGEST, buf, sizeof(buf) - 1, &len) == 0) {
		send_user_udp(a, to, buf, len);
		return;
	}
	/* too many nodes for one datagram: the digest goes by TCP */
	uint8_t *big = malloc(OVG_STREAM_MAX);
	if (big && ovg_state_digest_encode(a->state, OVG_ENV_STATE_DIGEST, big, OVG_STREAM_MAX, &len) == 0)
		agent_send_user_tcp(a, to, big, len);
	free(big);
}

/* Ask a few peers for what we lack (node rm waits for this). */
void replica_sync_now(struct agent *a)
{
	struct peer p[3];
	size_t n = pick_peers(a, p, 3, NULL);

	for (size_t i = 0; i < n; i++)
		send_digest(a, &p[i].addr);
}

/* Every DIGEST_INTERVAL: our summary to one random peer, unless a peer's
 * summary or digest within the last interval matched what we hold (then a
 * summary of ours would tell nobody anything; differences still surface
 * through the summaries the others send, and the eager push is untouched). */
static void on_digest_timer(struct ev_loop *loop, ev_timer *w, int revents)
{
	struct agent *a = w->data;
	uint8_t buf[OVG_STATE_SUMMARY_MAX];
	uint64_t now = ovg_now_ms();
	struct peer p;
	size_t len;
	(void)loop; (void)revents;

	if (a->leaving)
		return;
	replica_after(a);   /* due IPAM retries */
	if (now >= DIGEST_INTERVAL_MS && ovg_state_in_sync_since(a->state, now - DIGEST_INTERVAL_MS))
		return;
	if (pick_peers(a, &p, 1, NULL) == 1 &&
	    ovg_state_summary_encode(a->state, buf, sizeof(buf), &len) == 0)
		send_user_udp(a, &p.addr, buf, len);
}

void replica_start(struct agent *a)
{
	ev_timer_init(&a->digest_timer, on_digest_timer, DIGEST_INTERVAL_S, DIGEST_INTERVAL_S);
	a->digest_timer.data = a;
	ev_timer_start(a->loop, &a->digest_timer);
}

/* ---- push-pull user state --------------------------------------------------- */

int replica_local_state(void *ctx, bool join, uint8_t **buf, size_t *len)
{
	struct agent *a = ctx;
	uint8_t *b = malloc(OVG_STREAM_MAX);
	int rc;
	(void)join;

	*buf = NULL;
	*len = 0;
	if (!b)
		return -ENOMEM;
	rc = ovg_state_digest_encode(a->state, OVG_ENV_STATE_DIGEST, b, OVG_STREAM_MAX, len);
	if (rc < 0) {
		free(b);
		return rc;
	}
	*buf = b;
	return 0;
}

void replica_merge_state(void *ctx, const uint8_t *buf, size_t len, bool join, uint64_t now_ms)
{
	struct agent *a = ctx;
	(void)join; (void)now_ms;
	/* Only the dialer knows the peer's gossip address: it answers the digest
	 * (REQUEST and/or sync); the listener waits for the dialer's REQUEST. */
	replica_receive(a, a->pp_peer, buf, len);
}

void replica_member_event(struct agent *a, enum ovg_swim_event ev, const struct ovg_swim_member *m)
{
	/* suspect and left owners keep their endpoints in the data plane */
	if (ev == OVG_SWIM_EV_JOIN || ev == OVG_SWIM_EV_DEAD || ev == OVG_SWIM_EV_REAP ||
	    ev == OVG_SWIM_EV_UPDATE)
		dataplane_node_changed(a, m->name);
	if (ev == OVG_SWIM_EV_JOIN)
		replica_after(a);   /* IPAM requests waiting for that node */
}
