/* The agent: the only place with I/O. One libev loop drives the SWIM core,
 * the replicated state and the kernel reconciler. */
#ifndef OVG_DAEMON_AGENT_H
#define OVG_DAEMON_AGENT_H

#include <ev.h>
#include <limits.h>
#include <stdio.h>

#include "daemon/conn.h"
#include "daemon/log.h"
#include "daemon/util.h"
#include "ovg/crypt.h"
#include "ovg/swim.h"

struct ovg_state;
struct dataplane;

#define AGENT_JOIN_MAX      32
#define AGENT_PEERS_MAX     64     /* known peers persisted for rejoin */
#define AGENT_CONNS_MAX     256    /* concurrent TCP streams */
#define AGENT_CTL_CONNS_MAX 64
#define AGENT_STREAM_TIMEOUT_S 10.0
#define AGENT_RECONNECT_MAX    256
#define AGENT_RECONNECT_INTERVAL_S 1.0      /* how often we try */
#define AGENT_RECONNECT_PER_TICK   2        /* failed members tried per try */
#define AGENT_RECONNECT_TIMEOUT_S  2.0      /* one attempt's bound */
#define AGENT_RECONNECT_GIVEUP_MS  (24ull * 3600 * 1000)   /* as serf's reconnect_timeout */

struct agent_config {
	char name[OVG_NAME_MAX + 1];
	struct ovg_addr bind;
	struct ovg_addr advertise;
	struct ovg_addr joins[AGENT_JOIN_MAX];
	size_t njoins;
	char key_file[PATH_MAX];
	bool insecure;
	char state_dir[PATH_MAX];
	char run_dir[PATH_MAX];
	char socket_path[PATH_MAX];
	uint16_t vxlan_port;
	enum log_level log_level;
};

struct ctl_conn;
struct join_req;

struct agent {
	struct agent_config cfg;
	struct ev_loop *loop;
	int udp_fd, tcp_fd, ctl_fd;
	ev_io udp_w, tcp_w, ctl_w;
	ev_timer swim_timer, persist_timer, leave_timer;
	ev_signal sigterm_w, sigint_w, sigpipe_w;
	struct ovg_keyring keyring;
	struct ovg_swim *swim;
	struct ovg_rng rng;
	uint32_t saved_incarnation;
	bool peers_dirty;
	/* failed (not left) members we keep trying to reach, so partitions heal
	 * after memberlist has stopped gossiping to the dead (serf's reconnect) */
	struct reconnect {
		char name[OVG_NAME_MAX + 1];
		struct ovg_addr addr;
		uint64_t since_ms;
		uint64_t next_ms;
		bool in_flight;
	} reconnect[AGENT_RECONNECT_MAX];
	size_t nreconnect;
	ev_timer reconnect_timer;
	bool leaving;
	uint64_t leave_deadline_ms;
	struct ctl_conn *leave_waiter;
	struct join_req *cur_join;     /* set while ovg_swim_join runs */
	bool reconnecting;             /* set while a reconnect's ovg_swim_join runs */
	/* start-up join targets, retried until one push-pull succeeds */
	struct ovg_addr start_joins[AGENT_JOIN_MAX + AGENT_PEERS_MAX];
	size_t nstart_joins;
	bool joined_any;
	ev_timer join_retry_timer;
	unsigned nconns, nctl;
	uint8_t *scratch;              /* frame pipeline scratch */
	size_t scratch_cap;
	uint64_t bad_packets, decrypt_failures;
	uint64_t last_decrypt_log_ms;
	/* replicated state (daemon/replica.c) */
	struct ovg_state *state;
	ev_timer digest_timer;
	const struct ovg_addr *pp_peer;   /* gossip address of the push-pull peer we dialed */
	struct ovg_addr sync_from;        /* the peer we asked for a sync at start-up */
	uint64_t state_bytes_out, state_msgs_out;
	/* kernel side (daemon/dataplane.c) */
	struct dataplane *dp;
};

/* ovgossipd nodes carry this serf-style tag in their memberlist meta
 * (0xff + msgpack map), so state traffic goes only to them, never to serf. */
extern const uint8_t agent_meta[];
extern const size_t agent_meta_len;
bool agent_member_is_ovg(const struct ovg_swim_member *m);
int agent_send_udp(struct agent *a, const struct ovg_addr *to, const uint8_t *payload, size_t len);
/* A memberlist TCP user message (08 | {UserMsgLen} | msg) on its own connection. */
int agent_send_user_tcp(struct agent *a, const struct ovg_addr *to, const uint8_t *msg, size_t len);

/* Replicated state glue (daemon/replica.c). */
int replica_init(struct agent *a, char *err, size_t errlen);
void replica_free(struct agent *a);
void replica_start(struct agent *a);
void replica_sync_now(struct agent *a);
/* After every state call: save (before anything is sent), then push. */
void replica_after(struct agent *a);
void replica_receive(struct agent *a, const struct ovg_addr *from, const uint8_t *msg, size_t len);
int replica_local_state(void *ctx, bool join, uint8_t **buf, size_t *len);
void replica_merge_state(void *ctx, const uint8_t *buf, size_t len, bool join, uint64_t now_ms);
void replica_member_event(struct agent *a, enum ovg_swim_event ev, const struct ovg_swim_member *m);
bool replica_node_alive(void *ctx, const char *node);

int agent_main(int argc, char **argv);

/* Seal and send one stream message on c (compress + encrypt as configured). */
int agent_stream_send(struct agent *a, struct conn *c, const uint8_t *msg, size_t len);
/* Persist the keyring to the state dir. */
int agent_save_keyring(struct agent *a);

/* Control socket (daemon/ctl.c). */
int ctl_listen(struct agent *a, char *err, size_t errlen);
void ctl_reply(struct ctl_conn *c, int status, const char *out, size_t out_len,
	       const char *err, size_t err_len);
void ctl_replyf(struct ctl_conn *c, int status, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
void ctl_shutdown(struct agent *a);

/* Growing text buffer for command output. */
struct sbuf {
	char *p;
	size_t len, cap;
	bool oom;
};
void sbuf_printf(struct sbuf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void sbuf_free(struct sbuf *b);

/* Commands run by the agent for the CLI (daemon/cmd.c). */
void cmd_dispatch(struct agent *a, struct ctl_conn *c, int argc, char **argv);
/* Completes join requests when their push-pulls end. */
void join_req_done(struct agent *a, struct join_req *j, const struct ovg_addr *to, int err,
		   const char *why);
void agent_begin_leave(struct agent *a, struct ctl_conn *waiter, bool depart);

#endif
