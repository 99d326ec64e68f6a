#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "daemon/conn.h"

static void conn_free(struct conn *c, int err)
{
	ev_io_stop(c->loop, &c->rw);
	ev_io_stop(c->loop, &c->ww);
	ev_timer_stop(c->loop, &c->to);
	if (c->fd >= 0)
		close(c->fd);
	c->fd = -1;
	if (c->ops->on_close)
		c->ops->on_close(c, err);
	free(c->rbuf);
	free(c->wbuf);
	free(c);
}

void conn_close(struct conn *c, int err)
{
	if (c->closing)
		return;
	c->closing = true;
	if (c->in_callback) {
		/* freed when the callback returns */
		ev_io_stop(c->loop, &c->rw);
		ev_io_stop(c->loop, &c->ww);
		c->close_err = err;
		return;
	}
	conn_free(c, err);
}

static void flush(struct conn *c)
{
	while (c->woff < c->wlen) {
		ssize_t w = send(c->fd, c->wbuf + c->woff, c->wlen - c->woff, MSG_NOSIGNAL);
		if (w < 0) {
			if (errno == EINTR)
				continue;
			if (errno == EAGAIN || errno == EWOULDBLOCK) {
				ev_io_start(c->loop, &c->ww);
				return;
			}
			conn_close(c, -errno);
			return;
		}
		c->woff += (size_t)w;
	}
	c->woff = c->wlen = 0;
	ev_io_stop(c->loop, &c->ww);
	if (c->close_after_write)
		conn_close(c, 0);
}

int conn_write(struct conn *c, const void *buf, size_t len)
{
	if (c->closing)
		return -EPIPE;
	if (c->wlen + len > c->wcap) {
		size_t ncap = c->wcap ? c->wcap : 4096;
		while (ncap < c->wlen + len)
			ncap *= 2;
		uint8_t *n = realloc(c->wbuf, ncap);
		if (!n)
			return -ENOMEM;
		c->wbuf = n;
		c->wcap = ncap;
	}
	memcpy(c->wbuf + c->wlen, buf, len);
	c->wlen += len;
	if (!c->connecting)
		flush(c);
	return 0;
}

void conn_close_after_write(struct conn *c)
{
	c->close_after_write = true;
	if (!c->connecting && c->wlen == c->woff)
		conn_close(c, 0);
}

static void finish_callback(struct conn *c)
{
	c->in_callback = false;
	if (c->closing)
		conn_free(c, c->close_err);
}

static void on_read(struct ev_loop *loop, ev_io *w, int revents)
{
	struct conn *c = w->data;
	(void)loop; (void)revents;

	c->in_callback = true;
	for (;;) {
		if (c->rlen == c->rcap) {
			if (c->rcap >= c->rmax) {
				conn_close(c, -EMSGSIZE);
				break;
			}
			size_t ncap = c->rcap ? c->rcap * 2 : 4096;
			if (ncap > c->rmax)
				ncap = c->rmax;
			uint8_t *n = realloc(c->rbuf, ncap);
			if (!n) {
				conn_close(c, -ENOMEM);
				break;
			}
			c->rbuf = n;
			c->rcap = ncap;
		}
		ssize_t r = recv(c->fd, c->rbuf + c->rlen, c->rcap - c->rlen, 0);
		if (r < 0) {
			if (errno == EINTR)
				continue;
			if (errno != EAGAIN && errno != EWOULDBLOCK)
				conn_close(c, -errno);
			break;
		}
		if (r == 0) {
			conn_close(c, -ECONNRESET);
			break;
		}
		c->rlen += (size_t)r;
		/* deliver every complete frame */
		while (!c->closing && c->rlen > 0) {
			size_t flen = 0;
			int rc = c->ops->frame_len(c->rbuf, c->rlen, &flen);
			if (rc == -EAGAIN)
				break;
			if (rc < 0 || flen == 0 || flen > c->rlen) {
				conn_close(c, rc < 0 ? rc : -EBADMSG);
				break;
			}
			c->ops->on_frame(c, c->rbuf, flen);
			if (c->closing)
				break;
			memmove(c->rbuf, c->rbuf + flen, c->rlen - flen);
			c->rlen -= flen;
		}
		if (c->closing)
			break;
	}
	finish_callback(c);
}

static void on_write(struct ev_loop *loop, ev_io *w, int revents)
{
	struct conn *c = w->data;
	(void)loop; (void)revents;

	c->in_callback = true;
	if (c->connecting) {
		int err = 0;
		socklen_t sl = sizeof(err);
		getsockopt(c->fd, SOL_SOCKET, SO_ERROR, &err, &sl);
		if (err) {
			conn_close(c, -err);
			finish_callback(c);
			return;
		}
		c->connecting = false;
		ev_io_start(c->loop, &c->rw);
		if (c->ops->on_connected)
			c->ops->on_connected(c);
	}
	if (!c->closing)
		flush(c);
	finish_callback(c);
}

static void on_timeout(struct ev_loop *loop, ev_timer *w, int revents)
{
	struct conn *c = w->data;
	(void)loop; (void)revents;
	conn_close(c, -ETIMEDOUT);
}

struct conn *conn_new(struct ev_loop *loop, int fd, bool connecting, size_t rmax,
		      double timeout_s, const struct conn_ops *ops, void *ctx)
{
	struct conn *c = calloc(1, sizeof(*c));

	if (!c) {
		close(fd);
		errno = ENOMEM;
		return NULL;
	}
	c->loop = loop;
	c->fd = fd;
	c->rmax = rmax;
	c->ops = ops;
	c->ctx = ctx;
	c->connecting = connecting;
	ev_io_init(&c->rw, on_read, fd, EV_READ);
	ev_io_init(&c->ww, on_write, fd, EV_WRITE);
	c->rw.data = c->ww.data = c;
	ev_timer_init(&c->to, on_timeout, timeout_s, 0);
	c->to.data = c;
	if (timeout_s > 0)
		ev_timer_start(loop, &c->to);
	if (connecting)
		ev_io_start(loop, &c->ww);
	else
		ev_io_start(loop, &c->rw);
	return c;
}
