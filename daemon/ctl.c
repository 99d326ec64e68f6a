/* The agent's side of the control socket: a unix stream socket, mode 0600,
 * callers' credentials checked, one request and one reply per connection. */
#include <errno.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "daemon/agent.h"
#include "ovg/ctl.h"

struct ctl_conn {
	struct agent *a;
	struct conn *c;      /* NULL once closed */
	bool replied;
};

static void ctl_frame(struct conn *c, const uint8_t *frame, size_t len);
static void ctl_closed(struct conn *c, int err);

static const struct conn_ops ctl_ops = {
	.frame_len = ovg_ctl_frame_len,
	.on_frame = ctl_frame,
	.on_close = ctl_closed,
};

void ctl_reply(struct ctl_conn *cc, int status, const char *out, size_t out_len,
	       const char *err, size_t err_len)
{
	struct ovg_ctl_response r = {
		.status = status,
		.out = ovg_bytes_make(out, out_len),
		.err = ovg_bytes_make(err, err_len),
	};
	size_t cap = out_len + err_len + 64, len;
	uint8_t *buf;

	if (cc->replied)
		return;
	cc->replied = true;
	if (!cc->c) {
		free(cc);
		return;
	}
	buf = malloc(cap);
	if (buf && ovg_ctl_encode_response(&r, buf, cap, &len) == 0 && conn_write(cc->c, buf, len) == 0)
		conn_close_after_write(cc->c);
	else
		conn_close(cc->c, -EIO);
	free(buf);
}

void ctl_replyf(struct ctl_conn *cc, int status, const char *fmt, ...)
{
	char *txt = NULL;
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vasprintf(&txt, fmt, ap);
	va_end(ap);
	if (n < 0) {
		txt = NULL;
		n = 0;
	}
	if (status == 0)
		ctl_reply(cc, status, txt, (size_t)n, NULL, 0);
	else
		ctl_reply(cc, status, NULL, 0, txt, (size_t)n);
	free(txt);
}

static void ctl_frame(struct conn *c, const uint8_t *frame, size_t len)
{
	struct ctl_conn *cc = c->ctx;
	struct ovg_ctl_request req;
	char *argv[OVG_CTL_ARGC_MAX + 1];
	int argc, rc;

	ev_io_stop(c->loop, &c->rw);   /* one request per connection */
	rc = ovg_ctl_decode_request(frame, len, &req);
	if (rc < 0) {
		ctl_replyf(cc, 1, "ovgossipd: malformed control request: %s\n", strerror(-rc));
		return;
	}
	for (argc = 0; argc < (int)req.argc; argc++) {
		argv[argc] = strndup((const char *)req.argv[argc].p, req.argv[argc].len);
		if (!argv[argc] || strlen(argv[argc]) != req.argv[argc].len) {
			free(argv[argc]);
			for (int i = 0; i < argc; i++)
				free(argv[i]);
			ctl_replyf(cc, 1, "ovgossipd: malformed control request\n");
			return;
		}
	}
	argv[argc] = NULL;
	cmd_dispatch(cc->a, cc, argc, argv);
	for (int i = 0; i < argc; i++)
		free(argv[i]);
}

static void ctl_closed(struct conn *c, int err)
{
	struct ctl_conn *cc = c->ctx;
	(void)err;
	cc->a->nctl--;
	cc->c = NULL;
	if (cc->replied)
		free(cc);
	/* otherwise a pending operation still holds cc and frees it on reply */
}

static void on_ctl_accept(struct ev_loop *loop, ev_io *w, int revents)
{
	struct agent *a = w->data;
	(void)loop; (void)revents;

	for (;;) {
		struct ucred cred;
		socklen_t cl = sizeof(cred);
		struct ctl_conn *cc;
		int fd = accept4(a->ctl_fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);

		if (fd < 0)
			return;
		if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &cl) < 0 ||
		    (cred.uid != 0 && cred.uid != geteuid())) {
			log_warnx("control socket: refused uid %d", (int)cred.uid);
			close(fd);
			continue;
		}
		if (a->nctl >= AGENT_CTL_CONNS_MAX) {
			close(fd);
			continue;
		}
		cc = calloc(1, sizeof(*cc));
		if (!cc) {
			close(fd);
			continue;
		}
		cc->a = a;
		cc->c = conn_new(a->loop, fd, false, OVG_CTL_FRAME_MAX + OVG_CTL_HDR_LEN, 60.0, &ctl_ops, cc);
		if (!cc->c) {
			free(cc);
			continue;
		}
		a->nctl++;
	}
}

int ctl_listen(struct agent *a, char *err, size_t errlen)
{
	struct sockaddr_un sun = { .sun_family = AF_UNIX };
	char dir[PATH_MAX], *slash;
	int fd, probe;

	if (strlen(a->cfg.socket_path) >= sizeof(sun.sun_path)) {
		snprintf(err, errlen, "socket path too long: %s", a->cfg.socket_path);
		return -ENAMETOOLONG;
	}
	snprintf(dir, sizeof(dir), "%s", a->cfg.socket_path);
	slash = strrchr(dir, '/');
	if (slash && slash != dir) {
		*slash = '\0';
		ovg_mkdir_p(dir, 0755);
	}
	memcpy(sun.sun_path, a->cfg.socket_path, strlen(a->cfg.socket_path) + 1);
	/* a live agent on this socket? then refuse; a stale file goes */
	probe = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (probe >= 0) {
		if (connect(probe, (struct sockaddr *)&sun, sizeof(sun)) == 0) {
			close(probe);
			snprintf(err, errlen, "another agent is running on %s", a->cfg.socket_path);
			return -EADDRINUSE;
		}
		close(probe);
	}
	unlink(a->cfg.socket_path);
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0) {
		snprintf(err, errlen, "control socket: %s", strerror(errno));
		return -errno;
	}
	if (bind(fd, (struct sockaddr *)&sun, sizeof(sun)) < 0 || chmod(a->cfg.socket_path, 0600) < 0 ||
	    listen(fd, 64) < 0) {
		snprintf(err, errlen, "control socket %s: %s", a->cfg.socket_path, strerror(errno));
		close(fd);
		return -errno;
	}
	a->ctl_fd = fd;
	ev_io_init(&a->ctl_w, on_ctl_accept, fd, EV_READ);
	a->ctl_w.data = a;
	ev_io_start(a->loop, &a->ctl_w);
	return 0;
}

void ctl_shutdown(struct agent *a)
{
	if (a->ctl_fd < 0)
		return;
	ev_io_stop(a->loop, &a->ctl_w);
	close(a->ctl_fd);
	a->ctl_fd = -1;
	unlink(a->cfg.socket_path);
}
