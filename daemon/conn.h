/* A nonblocking stream connection on libev: buffered writes, reads split into
 * frames by a length function, one deadline. Used for the control socket and
 * for memberlist's TCP streams. */
#ifndef OVG_DAEMON_CONN_H
#define OVG_DAEMON_CONN_H

#include <ev.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct conn;

struct conn_ops {
	/* 0 with *frame_len; -EAGAIN need more; other <0 = protocol error */
	int (*frame_len)(const uint8_t *buf, size_t len, size_t *frame_len);
	void (*on_frame)(struct conn *c, const uint8_t *frame, size_t len);
	void (*on_connected)(struct conn *c);          /* optional, outbound only */
	void (*on_close)(struct conn *c, int err);     /* always called once; then freed */
};

struct conn {
	struct ev_loop *loop;
	int fd;
	ev_io rw, ww;
	ev_timer to;
	uint8_t *rbuf;
	size_t rlen, rcap, rmax;
	uint8_t *wbuf;
	size_t wlen, woff, wcap;
	const struct conn_ops *ops;
	void *ctx;       /* owner's */
	uint64_t u64;    /* owner's */
	bool connecting;
	bool close_after_write;
	bool closing;
	bool in_callback;
	int close_err;
};

/* Takes ownership of fd. rmax bounds one frame. timeout_s for the whole
 * exchange (0 = none). NULL + errno on failure. */
struct conn *conn_new(struct ev_loop *loop, int fd, bool connecting, size_t rmax,
		      double timeout_s, const struct conn_ops *ops, void *ctx);
/* Queue bytes; 0 or -ENOMEM. */
int conn_write(struct conn *c, const void *buf, size_t len);
/* Close once the queued bytes are out. */
void conn_close_after_write(struct conn *c);
/* Close now (err passed to on_close). Safe inside callbacks. */
void conn_close(struct conn *c, int err);

#endif
