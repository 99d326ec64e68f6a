/* ovgossipd agent: sockets, timers and persistence around the pure cores. */
#include <arpa/inet.h>
#include <errno.h>
#include <getopt.h>
#include <ifaddrs.h>
#include <net/if.h>
#include <signal.h>
#include <sodium.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "daemon/agent.h"
#include "daemon/dataplane.h"
#include "ovg/env.h"
#include "ovg/frame.h"
#include "ovg/mp.h"
#include <time.h>
#include "ovg/state.h"
#include "ovg/wire.h"

#define SCRATCH_CAP (OVG_STREAM_MAX * 2 + 4096)

/* ---- randomness ----------------------------------------------------------- */

static uint64_t rng_sodium(void *ctx)
{
	uint64_t v;
	(void)ctx;
	randombytes_buf(&v, sizeof(v));
	return v;
}

/* serf-style tags {"ovg": "1"}: 0xff + msgpack fixmap */
const uint8_t agent_meta[] = { 0xff, 0x81, 0xa3, 'o', 'v', 'g', 0xa1, '1' };
const size_t agent_meta_len = sizeof(agent_meta);

bool agent_member_is_ovg(const struct ovg_swim_member *m)
{
	return m->meta.len >= 6 && m->meta.p[0] == 0xff &&
	       memmem(m->meta.p, m->meta.len, "\xa3ovg", 4) != NULL;
}

/* ---- persistence ---------------------------------------------------------- */

static void state_path(const struct agent *a, const char *name, char *buf, size_t len)
{
	snprintf(buf, len, "%s/%s", a->cfg.state_dir, name);
}

static int save_incarnation(struct agent *a)
{
	char path[PATH_MAX], txt[32];
	uint32_t inc = ovg_swim_incarnation(a->swim);
	int n = snprintf(txt, sizeof(txt), "%u\n", inc);
	int rc;

	if (inc == a->saved_incarnation)
		return 0;
	state_path(a, "incarnation", path, sizeof(path));
	rc = ovg_file_write_atomic(path, txt, (size_t)n, 0600);
	if (rc < 0) {
		errno = -rc;
		log_warn("cannot save %s", path);
		return rc;
	}
	a->saved_incarnation = inc;
	return 0;
}

static uint32_t load_incarnation(struct agent *a)
{
	char path[PATH_MAX];
	uint8_t *buf;
	size_t len;
	uint32_t inc = 0;

	state_path(a, "incarnation", path, sizeof(path));
	if (ovg_file_read(path, 64, &buf, &len) == 0) {
		inc = (uint32_t)strtoul((char *)buf, NULL, 10);
		free(buf);
	}
	return inc;
}

/* Keys: base64, one per line, the first is the primary. */
static int parse_keys(const char *text, struct ovg_keyring *kr, const char *what, char *err,
		      size_t errlen)
{
	char line[256];
	const char *p = text;
	int lineno = 0;

	memset(kr, 0, sizeof(*kr));
	while (*p) {
		const char *nl = strchr(p, '\n');
		size_t n = nl ? (size_t)(nl - p) : strlen(p);
		uint8_t key[OVG_KEY_LEN];
		int rc;

		lineno++;
		while (n > 0 && (p[n - 1] == '\r' || p[n - 1] == ' ' || p[n - 1] == '\t'))
			n--;
		if (n > 0 && p[0] != '#') {
			if (n >= sizeof(line)) {
				snprintf(err, errlen, "%s line %d: not a key", what, lineno);
				return -EINVAL;
			}
			memcpy(line, p, n);
			line[n] = '\0';
			rc = ovg_key_decode(line, key);
			if (rc == -EOPNOTSUPP) {
				snprintf(err, errlen,
					 "%s line %d: 16- and 24-byte keys are not supported, use a 32-byte key (ovgossipd keygen)",
					 what, lineno);
				return rc;
			}
			if (rc < 0) {
				snprintf(err, errlen,
					 "%s line %d: not a base64 32-byte key (ovgossipd keygen makes one)",
					 what, lineno);
				return rc;
			}
			if (ovg_keyring_install(kr, key) < 0) {
				snprintf(err, errlen, "%s: more than %d keys", what, OVG_KEYRING_MAX);
				return -ENOSPC;
			}
			sodium_memzero(key, sizeof(key));
		}
		p += n;
		while (*p == '\r' || *p == ' ' || *p == '\t')
			p++;
		if (*p == '\n')
			p++;
	}
	return 0;
}

static int load_keys(struct agent *a, char *err, size_t errlen)
{
	char path[PATH_MAX];
	uint8_t *buf = NULL;
	size_t len;
	int rc;

	state_path(a, "keyring", path, sizeof(path));
	rc = ovg_file_read(path, 64 * 1024, &buf, &len);
	if (rc == 0 && !a->cfg.insecure) {
		/* The state dir's ring reflects live rotations: it wins. */
		rc = parse_keys((char *)buf, &a->keyring, path, err, errlen);
		free(buf);
		if (rc == 0 && a->keyring.n > 0) {
			log_info("using keyring %s (%zu keys)", path, a->keyring.n);
			return 0;
		}
		if (rc < 0)
			return rc;
	} else {
		free(buf);
	}
	if (a->cfg.insecure) {
		memset(&a->keyring, 0, sizeof(a->keyring));
		return 0;
	}
	rc = ovg_file_read(a->cfg.key_file, 64 * 1024, &buf, &len);
	if (rc < 0) {
		snprintf(err, errlen, "cannot read key file %s: %s", a->cfg.key_file, strerror(-rc));
		return rc;
	}
	rc = parse_keys((char *)buf, &a->keyring, a->cfg.key_file, err, errlen);
	sodium_memzero(buf, len);
	free(buf);
	if (rc < 0)
		return rc;
	if (a->keyring.n == 0) {
		snprintf(err, errlen, "key file %s holds no key", a->cfg.key_file);
		return -EINVAL;
	}
	return 0;
}

int agent_save_keyring(struct agent *a)
{
	char path[PATH_MAX], b64[OVG_KEY_B64_MAX];
	struct sbuf b = { 0 };
	int rc;

	for (size_t i = 0; i < a->keyring.n; i++) {
		ovg_key_encode(a->keyring.keys[i], b64);
		sbuf_printf(&b, "%s\n", b64);
	}
	sodium_memzero(b64, sizeof(b64));
	if (b.oom)
		return -ENOMEM;
	state_path(a, "keyring", path, sizeof(path));
	rc = ovg_file_write_atomic(path, b.p ? b.p : "", b.len, 0600);
	if (b.p)
		sodium_memzero(b.p, b.len);
	sbuf_free(&b);
	return rc;
}

static void save_peers(struct agent *a)
{
	char path[PATH_MAX], addr[80];
	struct sbuf b = { 0 };
	size_t n = ovg_swim_member_count(a->swim), saved = 0;

	for (size_t i = 0; i < n && saved < AGENT_PEERS_MAX; i++) {
		struct ovg_swim_member m;
		if (ovg_swim_member_get(a->swim, i, &m) < 0 || m.is_self)
			continue;
		if (m.state != OVG_STATE_ALIVE && m.state != OVG_STATE_SUSPECT)
			continue;
		ovg_addr_format(&m.addr, addr, sizeof(addr));
		sbuf_printf(&b, "%s %s\n", m.name, addr);
		saved++;
	}
	if (saved == 0 || b.oom) {
		/* keep the last known peers: an empty view is no news */
		sbuf_free(&b);
		return;
	}
	state_path(a, "peers", path, sizeof(path));
	if (ovg_file_write_atomic(path, b.p, b.len, 0600) < 0)
		log_warn("cannot save %s", path);
	sbuf_free(&b);
	a->peers_dirty = false;
}

static size_t load_peers(struct agent *a, struct ovg_addr *out, size_t max)
{
	char path[PATH_MAX], err[OVG_ERRBUF];
	uint8_t *buf;
	size_t len, n = 0;
	char *save = NULL, *line;

	state_path(a, "peers", path, sizeof(path));
	if (ovg_file_read(path, 64 * 1024, &buf, &len) < 0)
		return 0;
	for (line = strtok_r((char *)buf, "\n", &save); line && n < max;
	     line = strtok_r(NULL, "\n", &save)) {
		char *sp = strchr(line, ' ');
		if (!sp)
			continue;
		if (ovg_addr_parse(sp + 1, OVG_DEFAULT_PORT, &out[n], err, sizeof(err)) == 0)
			n++;
	}
	free(buf);
	return n;
}

/* ---- UDP ------------------------------------------------------------------ */

static int swim_send_packet(void *ctx, const struct ovg_addr *to, const uint8_t *payload,
			    size_t len, bool crc)
{
	struct agent *a = ctx;
	uint8_t out[OVG_UDP_RECV_MAX], nonce[OVG_NONCE_LEN];
	struct sockaddr_storage ss;
	socklen_t sl;
	size_t olen;
	int rc;

	randombytes_buf(nonce, sizeof(nonce));
	rc = ovg_packet_seal(&a->keyring, nonce, crc, payload, len, out, sizeof(out), &olen);
	if (rc < 0)
		return rc;
	sl = ovg_addr_to_sockaddr(to, &ss);
	if (sendto(a->udp_fd, out, olen, 0, (struct sockaddr *)&ss, sl) < 0) {
		if (errno != EAGAIN)
			log_debug("sendto: %s", strerror(errno));
		return -errno;
	}
	return 0;
}

int agent_send_udp(struct agent *a, const struct ovg_addr *to, const uint8_t *payload, size_t len)
{
	return swim_send_packet(a, to, payload, len, true);
}

static void note_decrypt_failure(struct agent *a, const struct ovg_addr *from, int rc)
{
	uint64_t now = ovg_now_ms();
	char b[80];

	a->decrypt_failures++;
	if (now - a->last_decrypt_log_ms < 5000 && a->last_decrypt_log_ms)
		return;
	a->last_decrypt_log_ms = now;
	ovg_addr_format(from, b, sizeof(b));
	log_warnx("rejected gossip from %s: %s (%llu so far)", b,
		  rc == -EACCES ? (a->keyring.n ? "cannot decrypt: wrong encryption key or unencrypted peer"
						: "encrypted packet but this agent runs --insecure")
				: "malformed packet",
		  (unsigned long long)a->decrypt_failures);
}

static void reschedule(struct agent *a);
static void reconnect_done(struct agent *a, const struct ovg_addr *to);

static void on_udp(struct ev_loop *loop, ev_io *w, int revents)
{
	struct agent *a = w->data;
	uint8_t buf[OVG_UDP_RECV_MAX];
	struct ovg_bytes msgs[OVG_PACKET_MSGS_MAX];
	(void)loop; (void)revents;

	for (int burst = 0; burst < 64; burst++) {
		struct sockaddr_storage ss;
		socklen_t sl = sizeof(ss);
		struct ovg_frame_scratch scr = { a->scratch, a->scratch_cap };
		struct ovg_addr from;
		size_t n = 0;
		ssize_t r = recvfrom(a->udp_fd, buf, sizeof(buf), 0, (struct sockaddr *)&ss, &sl);
		int rc;

		if (r < 0)
			break;
		ovg_addr_from_sockaddr((struct sockaddr *)&ss, &from);
		rc = ovg_packet_open(&a->keyring, buf, (size_t)r, &scr, msgs, OVG_ARRAY_SIZE(msgs), &n);
		if (rc == -EACCES) {
			note_decrypt_failure(a, &from, rc);
			continue;
		}
		if (rc < 0 && n == 0) {
			a->bad_packets++;
			log_debug("bad packet (%d bytes): %s", (int)r, strerror(-rc));
			continue;
		}
		/* ovgossipd's own user messages go to the replicated state with
		 * their sender; the rest (membership, serf's user messages) to swim */
		size_t k = 0;
		for (size_t i = 0; i < n; i++) {
			if (msgs[i].len > 1 && msgs[i].p[0] == OVG_MSG_USER && msgs[i].p[1] == OVG_ENV_MAGIC)
				replica_receive(a, &from, msgs[i].p + 1, msgs[i].len - 1);
			else
				msgs[k++] = msgs[i];
		}
		if (k > 0)
			ovg_swim_handle_msgs(a->swim, &from, msgs, k, ovg_now_ms());
	}
	save_incarnation(a);
	reschedule(a);
}

/* ---- TCP streams ---------------------------------------------------------- */

enum stream_kind { STREAM_IN, STREAM_PUSH_PULL, STREAM_TCP_PING, STREAM_USER_OUT };

struct stream {
	struct agent *a;
	enum stream_kind kind;
	struct ovg_addr to;
	bool join;
	bool done;
	uint32_t seq;
	struct join_req *jr;
	bool reconnect;        /* an attempt to reach a failed member */
	uint8_t *out;          /* what to send once connected */
	size_t out_len;
};

int agent_stream_send(struct agent *a, struct conn *c, const uint8_t *msg, size_t len)
{
	uint8_t nonce[OVG_NONCE_LEN];
	struct ovg_frame_scratch scr = { a->scratch, a->scratch_cap };
	size_t cap = len + 1024 + len / 8, olen;
	uint8_t *out = malloc(cap);
	int rc;

	if (!out)
		return -ENOMEM;
	randombytes_buf(nonce, sizeof(nonce));
	/* compress only what is worth it; the reader takes both */
	rc = ovg_stream_seal(&a->keyring, nonce, len > 512, msg, len, &scr, out, cap, &olen);
	if (rc == 0)
		rc = conn_write(c, out, olen);
	free(out);
	return rc;
}

static void stream_frame(struct conn *c, const uint8_t *frame, size_t len);
static void stream_connected(struct conn *c);
static void stream_closed(struct conn *c, int err);

static const struct conn_ops stream_ops = {
	.frame_len = ovg_stream_frame_len,
	.on_frame = stream_frame,
	.on_connected = stream_connected,
	.on_close = stream_closed,
};

static void handle_inbound(struct agent *a, struct conn *c, struct stream *st,
			   const uint8_t *msg, size_t len)
{
	uint64_t now = ovg_now_ms();
	char peer[80];

	ovg_addr_format(&st->to, peer, sizeof(peer));
	switch (msg[0]) {
	case OVG_MSG_PUSH_PULL: {
		bool join = false;
		uint8_t *reply = NULL;
		size_t rlen = 0;
		int rc = ovg_swim_push_pull_merge(a->swim, msg, len, now, &join);
		if (rc < 0) {
			log_warnx("push-pull from %s refused: %s", peer, strerror(-rc));
			conn_close(c, rc);
			return;
		}
		rc = ovg_swim_push_pull_build(a->swim, join, &reply, &rlen);
		if (rc == 0)
			rc = agent_stream_send(a, c, reply, rlen);
		free(reply);
		if (rc < 0)
			conn_close(c, rc);
		else
			conn_close_after_write(c);
		break;
	}
	case OVG_MSG_PING: {
		struct ovg_msg m, ack = { .type = OVG_MSG_ACK };
		uint8_t out[256];
		size_t olen;
		if (ovg_wire_decode(msg, len, &m) < 0) {
			conn_close(c, -EBADMSG);
			return;
		}
		if (m.u.ping.node.len && !ovg_bytes_eq_str(m.u.ping.node, a->cfg.name)) {
			log_debug("tcp ping for %.*s, we are %s", (int)m.u.ping.node.len,
				  (const char *)m.u.ping.node.p, a->cfg.name);
			conn_close(c, -EINVAL);
			return;
		}
		ack.u.ack.seq_no = m.u.ping.seq_no;
		if (ovg_wire_encode(&ack, out, sizeof(out), &olen) == 0 &&
		    agent_stream_send(a, c, out, olen) == 0)
			conn_close_after_write(c);
		else
			conn_close(c, -EIO);
		break;
	}
	case OVG_MSG_USER: {
		/* 08 | {UserMsgLen} | bytes: hand the bytes to swim as a UDP user message */
		size_t pos = 1;
		struct ovg_user_header h;
		if (ovg_wire_decode_user_header(msg, len, &pos, &h) < 0 || h.user_msg_len < 0 ||
		    (size_t)h.user_msg_len != len - pos) {
			conn_close(c, -EBADMSG);
			return;
		}
		if (len > pos && msg[pos] == OVG_ENV_MAGIC) {
			replica_receive(a, NULL, msg + pos, len - pos);
			conn_close(c, 0);
			return;
		}
		uint8_t *u = malloc(len - pos + 1);
		if (u) {
			u[0] = OVG_MSG_USER;
			memcpy(u + 1, msg + pos, len - pos);
			ovg_swim_handle_msg(a->swim, &st->to, u, len - pos + 1, now);
			free(u);
		}
		conn_close(c, 0);
		break;
	}
	case OVG_MSG_ERR: {
		struct ovg_msg m;
		if (ovg_wire_decode(msg, len, &m) == 0)
			log_warnx("error from %s: %.*s", peer, (int)m.u.err.error.len,
				  (const char *)m.u.err.error.p);
		conn_close(c, -EPROTO);
		break;
	}
	default:
		log_debug("unexpected stream message %u from %s", msg[0], peer);
		conn_close(c, -EBADMSG);
	}
}

static void stream_frame(struct conn *c, const uint8_t *frame, size_t len)
{
	struct stream *st = c->ctx;
	struct agent *a = st->a;
	struct ovg_frame_scratch scr = { a->scratch, a->scratch_cap };
	struct ovg_bytes plain;
	char peer[80];
	int rc = ovg_stream_open(&a->keyring, frame, len, &scr, &plain);

	ovg_addr_format(&st->to, peer, sizeof(peer));
	if (rc < 0) {
		if (rc == -EACCES)
			note_decrypt_failure(a, &st->to, rc);
		else
			log_debug("bad stream from %s: %s", peer, strerror(-rc));
		conn_close(c, rc);
		return;
	}
	if (plain.len == 0) {
		conn_close(c, -EBADMSG);
		return;
	}
	switch (st->kind) {
	case STREAM_IN:
		handle_inbound(a, c, st, plain.p, plain.len);
		break;
	case STREAM_PUSH_PULL: {
		if (plain.p[0] == OVG_MSG_ERR) {
			handle_inbound(a, c, st, plain.p, plain.len);
			return;
		}
		/* bound the start-up wait first: the merge may settle it sooner */
		if (st->join)
			dataplane_joined(a);
		a->pp_peer = &st->to;
		rc = ovg_swim_push_pull_merge(a->swim, plain.p, plain.len, ovg_now_ms(), NULL);
		a->pp_peer = NULL;
		if (rc < 0)
			log_warnx("push-pull reply from %s refused: %s", peer, strerror(-rc));
		else {
			st->done = true;
			a->joined_any = true;
		}
		conn_close(c, rc);
		break;
	}
	case STREAM_USER_OUT:
		conn_close(c, -EBADMSG);   /* nothing is expected back */
		break;
	case STREAM_TCP_PING: {
		struct ovg_msg m;
		bool ok = ovg_wire_decode(plain.p, plain.len, &m) == 0 && m.type == OVG_MSG_ACK &&
			  m.u.ack.seq_no == st->seq;
		st->done = true;
		ovg_swim_tcp_ping_result(a->swim, st->seq, ok, ovg_now_ms());
		conn_close(c, 0);
		break;
	}
	}
}

static void stream_connected(struct conn *c)
{
	struct stream *st = c->ctx;

	if (st->out) {
		if (agent_stream_send(st->a, c, st->out, st->out_len) < 0)
			conn_close(c, -EIO);
		else if (st->kind == STREAM_USER_OUT)
			conn_close_after_write(c);
		free(st->out);
		st->out = NULL;
	}
}

static void stream_closed(struct conn *c, int err)
{
	struct stream *st = c->ctx;
	struct agent *a = st->a;
	char peer[80];

	a->nconns--;
	ovg_addr_format(&st->to, peer, sizeof(peer));
	if (st->kind == STREAM_PUSH_PULL && st->reconnect) {
		reconnect_done(a, &st->to);
		if (st->done)
			log_info("reconnected to %s", peer);
	} else if (st->kind == STREAM_PUSH_PULL) {
		if (!st->done)
			log_info("push-pull with %s failed: %s", peer,
				 err == -ECONNRESET ? "connection closed without a reply (wrong encryption key?)"
						    : strerror(err < 0 ? -err : EIO));
		if (st->jr)
			join_req_done(a, st->jr, &st->to, st->done ? 0 : (err ? err : -EIO),
				      err == -ECONNRESET ? "connection closed without a reply (wrong encryption key?)"
							 : NULL);
	} else if (st->kind == STREAM_TCP_PING && !st->done) {
		ovg_swim_tcp_ping_result(a->swim, st->seq, false, ovg_now_ms());
	}
	free(st->out);
	free(st);
	save_incarnation(a);
	reschedule(a);
}

static struct conn *stream_open(struct agent *a, const struct ovg_addr *to, enum stream_kind kind,
				uint8_t *out, size_t out_len, double timeout_s, struct stream **stp)
{
	char err[OVG_ERRBUF];
	struct stream *st;
	struct conn *c;
	int fd;

	if (a->nconns >= AGENT_CONNS_MAX) {
		free(out);
		errno = EMFILE;
		return NULL;
	}
	st = calloc(1, sizeof(*st));
	if (!st) {
		free(out);
		return NULL;
	}
	st->a = a;
	st->kind = kind;
	st->to = *to;
	st->out = out;
	st->out_len = out_len;
	fd = ovg_sock_tcp_connect(to, err, sizeof(err));
	if (fd < 0) {
		log_debug("%s", err);
		free(out);
		free(st);
		return NULL;
	}
	c = conn_new(a->loop, fd, true, OVG_STREAM_MAX + 64, timeout_s, &stream_ops, st);
	if (!c) {
		free(out);
		free(st);
		return NULL;
	}
	a->nconns++;
	*stp = st;
	return c;
}

static void swim_push_pull(void *ctx, const struct ovg_addr *to, const char *node, bool join)
{
	struct agent *a = ctx;
	struct stream *st = NULL;
	uint8_t *msg = NULL;
	size_t len = 0;
	(void)node;

	if (ovg_swim_push_pull_build(a->swim, join, &msg, &len) < 0) {
		if (a->cur_join)
			join_req_done(a, a->cur_join, to, -ENOMEM, NULL);
		return;
	}
	if (!stream_open(a, to, STREAM_PUSH_PULL, msg, len,
			 a->reconnecting ? AGENT_RECONNECT_TIMEOUT_S : AGENT_STREAM_TIMEOUT_S, &st)) {
		if (a->cur_join)
			join_req_done(a, a->cur_join, to, -errno, NULL);
		if (a->reconnecting)
			reconnect_done(a, to);
		return;
	}
	st->join = join;
	st->jr = a->cur_join;
	st->reconnect = a->reconnecting;
}

/* A memberlist TCP user message: 08 | {UserMsgLen} | msg. */
int agent_send_user_tcp(struct agent *a, const struct ovg_addr *to, const uint8_t *msg, size_t len)
{
	struct ovg_user_header h = { .user_msg_len = (int64_t)len };
	struct stream *st = NULL;
	struct conn *c;
	size_t hl = 0;
	uint8_t *out = malloc(len + 16);

	if (!out)
		return -ENOMEM;
	out[0] = OVG_MSG_USER;
	if (ovg_wire_encode_user_header(&h, out + 1, 15, &hl) < 0) {
		free(out);
		return -EINVAL;
	}
	memcpy(out + 1 + hl, msg, len);
	c = stream_open(a, to, STREAM_USER_OUT, out, 1 + hl + len, AGENT_STREAM_TIMEOUT_S, &st);
	if (!c)
		return -errno;
	st->done = true;
	return 0;
}

static void swim_tcp_ping(void *ctx, const struct ovg_addr *to, const char *node, uint32_t seq,
			  const uint8_t *ping, size_t ping_len, uint64_t deadline_ms)
{
	struct agent *a = ctx;
	struct stream *st = NULL;
	uint8_t *msg = malloc(ping_len);
	uint64_t now = ovg_now_ms();
	double timeout_s = deadline_ms > now ? (double)(deadline_ms - now) / 1000.0 : 0.05;
	(void)node;

	if (!msg)
		return;
	memcpy(msg, ping, ping_len);
	if (!stream_open(a, to, STREAM_TCP_PING, msg, ping_len, timeout_s, &st))
		return;
	st->seq = seq;
}

static void on_tcp_accept(struct ev_loop *loop, ev_io *w, int revents)
{
	struct agent *a = w->data;
	(void)loop; (void)revents;

	for (;;) {
		struct sockaddr_storage ss;
		socklen_t sl = sizeof(ss);
		int fd = accept4(a->tcp_fd, (struct sockaddr *)&ss, &sl, SOCK_NONBLOCK | SOCK_CLOEXEC);
		struct stream *st;

		if (fd < 0)
			return;
		if (a->nconns >= AGENT_CONNS_MAX) {
			close(fd);
			continue;
		}
		st = calloc(1, sizeof(*st));
		if (!st) {
			close(fd);
			continue;
		}
		st->a = a;
		st->kind = STREAM_IN;
		ovg_addr_from_sockaddr((struct sockaddr *)&ss, &st->to);
		if (!conn_new(a->loop, fd, false, OVG_STREAM_MAX + 64, AGENT_STREAM_TIMEOUT_S,
			      &stream_ops, st)) {
			free(st);
			continue;
		}
		a->nconns++;
	}
}

/* ---- SWIM events ---------------------------------------------------------- */

static const char *ev_name(enum ovg_swim_event ev)
{
	static const char *n[] = { "joined", "updated", "suspect", "failed", "left", "reaped" };
	return (unsigned)ev < OVG_ARRAY_SIZE(n) ? n[ev] : "?";
}

/* ---- reconnecting to failed members -------------------------------------- */

static struct reconnect *reconnect_find(struct agent *a, const char *name)
{
	for (size_t i = 0; i < a->nreconnect; i++)
		if (!strcmp(a->reconnect[i].name, name))
			return &a->reconnect[i];
	return NULL;
}

static void reconnect_drop(struct agent *a, struct reconnect *r)
{
	*r = a->reconnect[--a->nreconnect];
}

static void reconnect_note(struct agent *a, enum ovg_swim_event ev, const struct ovg_swim_member *m)
{
	struct reconnect *r = reconnect_find(a, m->name);
	uint64_t now = ovg_now_ms();

	switch (ev) {
	case OVG_SWIM_EV_DEAD:
		if (!r) {
			if (a->nreconnect >= AGENT_RECONNECT_MAX)
				return;
			r = &a->reconnect[a->nreconnect++];
			memset(r, 0, sizeof(*r));
			snprintf(r->name, sizeof(r->name), "%s", m->name);
			r->since_ms = now;
		}
		r->addr = m->addr;
		r->next_ms = now;
		break;
	case OVG_SWIM_EV_JOIN:
	case OVG_SWIM_EV_UPDATE:
	case OVG_SWIM_EV_LEFT:
		if (r && !r->in_flight)
			reconnect_drop(a, r);
		else if (r)
			r->since_ms = 0;   /* dropped when the attempt ends */
		break;
	default:
		break;
	}
}

/* One attempt ended (stream closed). */
static void reconnect_done(struct agent *a, const struct ovg_addr *to)
{
	for (size_t i = 0; i < a->nreconnect; i++) {
		struct reconnect *r = &a->reconnect[i];
		if (!r->in_flight || !ovg_addr_eq(&r->addr, to))
			continue;
		r->in_flight = false;
		if (r->since_ms == 0)
			reconnect_drop(a, r);
		return;
	}
}

static void on_reconnect_timer(struct ev_loop *loop, ev_timer *w, int revents)
{
	struct agent *a = w->data;
	uint64_t now = ovg_now_ms();
	size_t tried = 0;
	(void)loop; (void)revents;

	if (a->swim)   /* follow the wall clock (NTP) for the probe rounds */
		ovg_swim_set_clock_offset(a->swim, ovg_clock_offset_ms());
	if (a->leaving || a->nreconnect == 0)
		return;
	for (size_t k = 0; k < a->nreconnect && tried < AGENT_RECONNECT_PER_TICK; k++) {
		size_t i = ovg_rng_below(&a->rng, (uint32_t)a->nreconnect);
		struct reconnect *r = &a->reconnect[i];
		if (now - r->since_ms > AGENT_RECONNECT_GIVEUP_MS && !r->in_flight) {
			log_info("giving up reconnecting to %s", r->name);
			reconnect_drop(a, r);
			continue;
		}
		if (r->in_flight || r->next_ms > now)
			continue;
		r->in_flight = true;
		r->next_ms = now + (uint64_t)(AGENT_RECONNECT_INTERVAL_S * 1000);
		a->reconnecting = true;
		ovg_swim_join(a->swim, &r->addr, 1, now);
		a->reconnecting = false;
		tried++;
	}
	save_incarnation(a);
	reschedule(a);
}

/* An agent whose join targets were all unreachable at start keeps trying. */
static void on_join_retry(struct ev_loop *loop, ev_timer *w, int revents)
{
	struct agent *a = w->data;
	(void)loop; (void)revents;

	if (a->joined_any || a->leaving || a->nstart_joins == 0) {
		ev_timer_stop(a->loop, w);
		return;
	}
	log_info("not joined yet: trying the %zu join address(es) again", a->nstart_joins);
	ovg_swim_join(a->swim, a->start_joins, a->nstart_joins, ovg_now_ms());
	reschedule(a);
}

static void swim_event(void *ctx, enum ovg_swim_event ev, const struct ovg_swim_member *m)
{
	struct agent *a = ctx;
	char addr[80];

	if (m->is_self || !a->swim)
		return;
	ovg_addr_format(&m->addr, addr, sizeof(addr));
	if (ev == OVG_SWIM_EV_UPDATE || ev == OVG_SWIM_EV_REAP)
		log_debug("member %s %s (%s, incarnation %u)", m->name, ev_name(ev), addr, m->incarnation);
	else
		log_info("member %s %s (%s, incarnation %u)", m->name, ev_name(ev), addr, m->incarnation);
	if (ev == OVG_SWIM_EV_JOIN) {
		a->peers_dirty = true;
		a->joined_any = true;
	}
	reconnect_note(a, ev, m);
	replica_member_event(a, ev, m);
}

static void swim_log(void *ctx, enum ovg_swim_log level, const char *msg)
{
	(void)ctx;
	switch (level) {
	case OVG_SWIM_LOG_DEBUG: log_debug("%s", msg); break;
	case OVG_SWIM_LOG_INFO: log_info("%s", msg); break;
	case OVG_SWIM_LOG_WARN: log_warnx("%s", msg); break;
	default: log_errx("%s", msg); break;
	}
}

/* ---- timers and signals --------------------------------------------------- */

static void on_swim_timer(struct ev_loop *loop, ev_timer *w, int revents)
{
	struct agent *a = w->data;
	(void)loop; (void)revents;
	ovg_swim_tick(a->swim, ovg_now_ms());
	save_incarnation(a);
	reschedule(a);
}

static void reschedule(struct agent *a)
{
	uint64_t now = ovg_now_ms(), next = ovg_swim_next_deadline_ms(a->swim);
	double after = next > now ? (double)(next - now) / 1000.0 : 0.0;

	if (after > 1.0)
		after = 1.0;
	ev_timer_stop(a->loop, &a->swim_timer);
	ev_timer_set(&a->swim_timer, after, 0.0);
	ev_timer_start(a->loop, &a->swim_timer);
}

static void on_persist_timer(struct ev_loop *loop, ev_timer *w, int revents)
{
	struct agent *a = w->data;
	(void)loop; (void)revents;
	if (a->peers_dirty)
		save_peers(a);
}

static void finish_leave(struct agent *a)
{
	if (a->leave_waiter)
		ctl_replyf(a->leave_waiter, 0, "left the cluster\n");
	a->leave_waiter = NULL;
	ev_break(a->loop, EVBREAK_ALL);
}

static void on_leave_timer(struct ev_loop *loop, ev_timer *w, int revents)
{
	struct agent *a = w->data;
	(void)loop; (void)revents;
	if (ovg_swim_leave_done(a->swim) || ovg_now_ms() >= a->leave_deadline_ms)
		finish_leave(a);
}

/* Serf shows a member as "left" (not "failed") only if a serf leave intent
 * (serf user message 0: {LTime, Node}) came with or before memberlist's
 * dead-from-self. The Lamport time must beat what serf holds for us: wall
 * seconds grow across our restarts. */
static void broadcast_serf_leave_intent(struct agent *a)
{
	uint8_t buf[OVG_NAME_MAX + 64];
	struct ovg_mp_writer w;
	size_t len;

	buf[0] = 0;   /* serf's messageLeaveType */
	ovg_mp_writer_init(&w, buf + 1, sizeof(buf) - 1);
	ovg_mp_write_map(&w, 2);
	ovg_mp_write_cstr(&w, "LTime");
	ovg_mp_write_uint(&w, (uint64_t)time(NULL));
	ovg_mp_write_cstr(&w, "Node");
	ovg_mp_write_cstr(&w, a->cfg.name);
	if (ovg_mp_writer_finish(&w, &len) == 0)
		ovg_swim_user_broadcast(a->swim, buf, len + 1, ovg_now_ms());
}

void agent_begin_leave(struct agent *a, struct ctl_conn *waiter, bool depart)
{
	if (a->leaving) {
		if (waiter)
			ctl_replyf(waiter, 0, "already leaving\n");
		return;
	}
	a->leaving = true;
	a->leave_waiter = waiter;
	log_info("leaving the cluster%s", depart ? " for good: detaching local endpoints, handing on address blocks" : "");
	save_peers(a);
	if (depart) {
		char err[OVG_ERRBUF];
		if (ovg_state_leave(a->state, ovg_now_ms(), err, sizeof(err)) < 0)
			log_warnx("leave: %s", err);
		replica_after(a);
		dataplane_depart(a);
	}
	broadcast_serf_leave_intent(a);
	ovg_swim_leave(a->swim, ovg_now_ms());
	/* bounded: the leave is gossiped for a few rounds, then we go anyway */
	a->leave_deadline_ms = ovg_now_ms() + 3000;
	ev_timer_init(&a->leave_timer, on_leave_timer, 0.05, 0.05);
	a->leave_timer.data = a;
	ev_timer_start(a->loop, &a->leave_timer);
	reschedule(a);
}

static void on_signal(struct ev_loop *loop, ev_signal *w, int revents)
{
	struct agent *a = w->data;
	(void)loop; (void)revents;
	if (w->signum == SIGPIPE)
		return;
	if (a->leaving) {
		log_info("second signal: exiting now");
		ev_break(a->loop, EVBREAK_ALL);
		return;
	}
	/* a stop (or restart) leaves the membership but keeps endpoints */
	agent_begin_leave(a, NULL, false);
}

/* ---- options -------------------------------------------------------------- */

static void agent_usage(FILE *f)
{
	fprintf(f,
		"usage: ovgossipd agent [options]\n"
		"  --name NODE            node name (default: host name)\n"
		"  --bind ADDR[:PORT]     gossip address, UDP and TCP (default 0.0.0.0:7946)\n"
		"  --advertise ADDR[:PORT] address others reach us at (default: bind address,\n"
		"                         or the first non-loopback IPv4 address)\n"
		"  --join PEER[:PORT]     join this peer at start (repeatable)\n"
		"  --key-file FILE        base64 32-byte keys, one per line, first is primary\n"
		"  --insecure             run without gossip encryption\n"
		"  --state-dir DIR        default /var/lib/ovgossipd\n"
		"  --run-dir DIR          default /run/ovgossipd\n"
		"  --socket PATH          control socket (default RUN-DIR/ovgossipd.sock)\n"
		"  --vxlan-port N         VXLAN UDP port (default 4789)\n"
		"  --log-level LEVEL      debug|info|warn|error (default info)\n");
}

static int first_ipv4(struct ovg_addr *out)
{
	struct ifaddrs *ifs, *i;
	int rc = -ENOENT;

	if (getifaddrs(&ifs) < 0)
		return -errno;
	for (i = ifs; i; i = i->ifa_next) {
		if (!i->ifa_addr || i->ifa_addr->sa_family != AF_INET)
			continue;
		if ((i->ifa_flags & IFF_LOOPBACK) || !(i->ifa_flags & IFF_UP))
			continue;
		uint16_t port = out->port;
		ovg_addr_from_sockaddr(i->ifa_addr, out);
		out->port = port;
		rc = 0;
		break;
	}
	freeifaddrs(ifs);
	return rc;
}

static int parse_agent_args(struct agent_config *cfg, int argc, char **argv, char *err, size_t errlen)
{
	enum { O_NAME = 1, O_BIND, O_ADV, O_JOIN, O_KEY, O_INSECURE, O_STATE, O_RUN, O_SOCK,
	       O_VXPORT, O_LOG, O_HELP };
	static const struct option opts[] = {
		{ "name", required_argument, NULL, O_NAME },
		{ "bind", required_argument, NULL, O_BIND },
		{ "advertise", required_argument, NULL, O_ADV },
		{ "join", required_argument, NULL, O_JOIN },
		{ "key-file", required_argument, NULL, O_KEY },
		{ "insecure", no_argument, NULL, O_INSECURE },
		{ "state-dir", required_argument, NULL, O_STATE },
		{ "run-dir", required_argument, NULL, O_RUN },
		{ "socket", required_argument, NULL, O_SOCK },
		{ "vxlan-port", required_argument, NULL, O_VXPORT },
		{ "log-level", required_argument, NULL, O_LOG },
		{ "help", no_argument, NULL, O_HELP },
		{ NULL, 0, NULL, 0 },
	};
	bool have_adv = false, have_sock = false;
	const char *env_sock = getenv("OVGOSSIPD_SOCKET");
	int o;

	memset(cfg, 0, sizeof(*cfg));
	if (gethostname(cfg->name, sizeof(cfg->name) - 1) < 0)
		snprintf(cfg->name, sizeof(cfg->name), "ovgossipd");
	ovg_addr_parse("0.0.0.0", OVG_DEFAULT_PORT, &cfg->bind, err, errlen);
	snprintf(cfg->state_dir, sizeof(cfg->state_dir), "/var/lib/ovgossipd");
	snprintf(cfg->run_dir, sizeof(cfg->run_dir), "/run/ovgossipd");
	cfg->vxlan_port = 4789;
	cfg->log_level = LOG_LVL_INFO;
	optind = 1;
	opterr = 0;
	while ((o = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (o) {
		case O_NAME:
			if (!*optarg || strlen(optarg) > OVG_NAME_MAX) {
				snprintf(err, errlen, "--name must be 1 to %d bytes", OVG_NAME_MAX);
				return -EINVAL;
			}
			snprintf(cfg->name, sizeof(cfg->name), "%s", optarg);
			break;
		case O_BIND:
			if (ovg_addr_parse(optarg, OVG_DEFAULT_PORT, &cfg->bind, err, errlen) < 0)
				return -EINVAL;
			break;
		case O_ADV:
			if (ovg_addr_parse(optarg, OVG_DEFAULT_PORT, &cfg->advertise, err, errlen) < 0)
				return -EINVAL;
			have_adv = true;
			break;
		case O_JOIN:
			if (cfg->njoins >= AGENT_JOIN_MAX) {
				snprintf(err, errlen, "at most %d --join peers", AGENT_JOIN_MAX);
				return -EINVAL;
			}
			if (ovg_addr_parse(optarg, OVG_DEFAULT_PORT, &cfg->joins[cfg->njoins], err, errlen) < 0)
				return -EINVAL;
			cfg->njoins++;
			break;
		case O_KEY:
			snprintf(cfg->key_file, sizeof(cfg->key_file), "%s", optarg);
			break;
		case O_INSECURE:
			cfg->insecure = true;
			break;
		case O_STATE:
			snprintf(cfg->state_dir, sizeof(cfg->state_dir), "%s", optarg);
			break;
		case O_RUN:
			snprintf(cfg->run_dir, sizeof(cfg->run_dir), "%s", optarg);
			break;
		case O_SOCK:
			snprintf(cfg->socket_path, sizeof(cfg->socket_path), "%s", optarg);
			have_sock = true;
			break;
		case O_VXPORT: {
			char *end;
			long v = strtol(optarg, &end, 10);
			if (*end || v < 1 || v > 65535) {
				snprintf(err, errlen, "--vxlan-port must be 1-65535");
				return -EINVAL;
			}
			cfg->vxlan_port = (uint16_t)v;
			break;
		}
		case O_LOG:
			if (log_level_parse(optarg, &cfg->log_level) < 0) {
				snprintf(err, errlen, "--log-level must be debug, info, warn or error");
				return -EINVAL;
			}
			break;
		case O_HELP:
			agent_usage(stdout);
			exit(0);
		default:
			snprintf(err, errlen, "agent: unknown or incomplete option '%s' (see ovgossipd agent --help)",
				 argv[optind - 1]);
			return -EINVAL;
		}
	}
	if (optind < argc) {
		snprintf(err, errlen, "agent: unexpected argument '%s'", argv[optind]);
		return -EINVAL;
	}
	if (cfg->insecure && cfg->key_file[0]) {
		snprintf(err, errlen, "--key-file and --insecure exclude each other");
		return -EINVAL;
	}
	if (!have_sock) {
		if (env_sock && *env_sock)
			snprintf(cfg->socket_path, sizeof(cfg->socket_path), "%s", env_sock);
		else
			snprintf(cfg->socket_path, sizeof(cfg->socket_path), "%s/ovgossipd.sock",
				 cfg->run_dir);
	}
	if (!have_adv) {
		cfg->advertise = cfg->bind;
		if (ovg_addr_is_any(&cfg->advertise)) {
			cfg->advertise.len = 4;
			if (first_ipv4(&cfg->advertise) < 0) {
				snprintf(err, errlen, "no address to advertise: give --advertise ADDR");
				return -EINVAL;
			}
		}
	} else if (ovg_addr_is_any(&cfg->advertise)) {
		snprintf(err, errlen, "--advertise must be a routable address, not 0.0.0.0");
		return -EINVAL;
	}
	return 0;
}

/* ---- main ----------------------------------------------------------------- */

int agent_main(int argc, char **argv)
{
	static struct agent agent;
	struct agent *a = &agent;
	char err[OVG_ERRBUF];
	struct ovg_swim_config sc;
	struct ovg_swim_io io = {
		.ctx = a,
		.send_packet = swim_send_packet,
		.tcp_ping = swim_tcp_ping,
		.push_pull = swim_push_pull,
		.event = swim_event,
		.local_state = replica_local_state,
		.merge_state = replica_merge_state,
		.log = swim_log,
	};
	struct ovg_addr joins[AGENT_JOIN_MAX + AGENT_PEERS_MAX];
	size_t njoins;
	int rc = 1;

	memset(a, 0, sizeof(*a));
	a->udp_fd = a->tcp_fd = a->ctl_fd = -1;
	if (parse_agent_args(&a->cfg, argc, argv, err, sizeof(err)) < 0)
		goto fail;
	log_init(a->cfg.log_level, "ovgossipd");
	if (!a->cfg.insecure && !a->cfg.key_file[0]) {
		snprintf(err, sizeof(err),
			 "gossip is encrypted by default: give --key-file FILE (keys from 'ovgossipd keygen') or --insecure");
		goto fail;
	}
	if (!a->cfg.insecure && !ovg_crypt_available()) {
		snprintf(err, sizeof(err),
			 "this CPU lacks AES-GCM support (AES-NI), which encrypted gossip needs; run with --insecure on a trusted network");
		goto fail;
	}
	if (sodium_init() < 0) {
		snprintf(err, sizeof(err), "libsodium failed to initialise");
		goto fail;
	}
	if ((rc = ovg_mkdir_p(a->cfg.state_dir, 0700)) < 0 || (rc = ovg_mkdir_p(a->cfg.run_dir, 0755)) < 0) {
		snprintf(err, sizeof(err), "cannot create state or run dir: %s", strerror(-rc));
		rc = 1;
		goto fail;
	}
	rc = 1;
	if (load_keys(a, err, sizeof(err)) < 0)
		goto fail;
	a->scratch_cap = SCRATCH_CAP;
	a->scratch = malloc(a->scratch_cap);
	if (!a->scratch) {
		snprintf(err, sizeof(err), "out of memory");
		goto fail;
	}
	a->loop = EV_DEFAULT;
	a->udp_fd = ovg_sock_udp_bind(&a->cfg.bind, err, sizeof(err));
	if (a->udp_fd < 0)
		goto fail;
	a->tcp_fd = ovg_sock_tcp_listen(&a->cfg.bind, err, sizeof(err));
	if (a->tcp_fd < 0)
		goto fail;
	if (ctl_listen(a, err, sizeof(err)) < 0)
		goto fail;

	a->rng.next = rng_sodium;
	if (dataplane_init(a, err, sizeof(err)) < 0)
		goto fail;
	if (replica_init(a, err, sizeof(err)) < 0)
		goto fail;
	a->saved_incarnation = load_incarnation(a);
	ovg_swim_config_default(&sc);
	sc.name = a->cfg.name;
	sc.addr = a->cfg.advertise;
	sc.meta = agent_meta;
	sc.meta_len = agent_meta_len;
	sc.incarnation = a->saved_incarnation;
	sc.clock_offset_ms = ovg_clock_offset_ms();
	a->swim = ovg_swim_create(&sc, &io, &a->rng, ovg_now_ms());
	if (!a->swim) {
		snprintf(err, sizeof(err), "cannot start membership: %s", strerror(errno));
		goto fail;
	}
	a->saved_incarnation = (uint32_t)-1; /* force the first save */
	if (save_incarnation(a) < 0) {
		snprintf(err, sizeof(err), "cannot write the state dir %s", a->cfg.state_dir);
		goto fail;
	}

	ev_io_init(&a->udp_w, on_udp, a->udp_fd, EV_READ);
	a->udp_w.data = a;
	ev_io_start(a->loop, &a->udp_w);
	ev_io_init(&a->tcp_w, on_tcp_accept, a->tcp_fd, EV_READ);
	a->tcp_w.data = a;
	ev_io_start(a->loop, &a->tcp_w);
	ev_timer_init(&a->swim_timer, on_swim_timer, 0.0, 0.0);
	a->swim_timer.data = a;
	ev_timer_init(&a->reconnect_timer, on_reconnect_timer, AGENT_RECONNECT_INTERVAL_S,
		      AGENT_RECONNECT_INTERVAL_S);
	a->reconnect_timer.data = a;
	ev_timer_start(a->loop, &a->reconnect_timer);
	ev_timer_init(&a->persist_timer, on_persist_timer, 2.0, 2.0);
	a->persist_timer.data = a;
	ev_timer_start(a->loop, &a->persist_timer);
	ev_signal_init(&a->sigterm_w, on_signal, SIGTERM);
	ev_signal_init(&a->sigint_w, on_signal, SIGINT);
	ev_signal_init(&a->sigpipe_w, on_signal, SIGPIPE);
	a->sigterm_w.data = a->sigint_w.data = a->sigpipe_w.data = a;
	ev_signal_start(a->loop, &a->sigterm_w);
	ev_signal_start(a->loop, &a->sigint_w);
	ev_signal_start(a->loop, &a->sigpipe_w);

	{
		char adv[80];
		ovg_addr_format(&a->cfg.advertise, adv, sizeof(adv));
		log_info("agent %s up: gossip %s (%s), incarnation %u, control socket %s", a->cfg.name, adv,
			 a->keyring.n ? "encrypted" : "UNENCRYPTED", ovg_swim_incarnation(a->swim),
			 a->cfg.socket_path);
	}
	replica_start(a);
	/* join --join peers and the peers known from before a restart */
	njoins = 0;
	for (size_t i = 0; i < a->cfg.njoins; i++)
		joins[njoins++] = a->cfg.joins[i];
	njoins += load_peers(a, joins + njoins, AGENT_PEERS_MAX);
	dataplane_start(a, njoins > 0);
	if (njoins > 0) {
		memcpy(a->start_joins, joins, njoins * sizeof(joins[0]));
		a->nstart_joins = njoins;
		ovg_swim_join(a->swim, joins, njoins, ovg_now_ms());
		ev_timer_init(&a->join_retry_timer, on_join_retry, 2.0, 2.0);
		a->join_retry_timer.data = a;
		ev_timer_start(a->loop, &a->join_retry_timer);
	}
	reschedule(a);

	ev_run(a->loop, 0);

	save_incarnation(a);
	ctl_shutdown(a);
	log_info("agent %s stopped", a->cfg.name);
	rc = 0;
	goto out;
fail:
	fprintf(stderr, "ovgossipd: %s\n", err);
out:
	dataplane_free(a);
	replica_free(a);
	ovg_swim_destroy(a->swim);
	if (a->udp_fd >= 0)
		close(a->udp_fd);
	if (a->tcp_fd >= 0)
		close(a->tcp_fd);
	free(a->scratch);
	sodium_memzero(&a->keyring, sizeof(a->keyring));
	return rc;
}
