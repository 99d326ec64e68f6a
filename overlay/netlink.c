/*
 * The real overlay ops: netlink through libnl-3 / libnl-route-3.
 *
 * Each open sandbox has two NETLINK_ROUTE sockets opened inside it (by a
 * thread that entered it, see netns.c): `req` for requests and dumps, and
 * `evt`, subscribed to RTNLGRP_NEIGH and RTNLGRP_LINK, non-blocking, whose fd
 * the reconciler polls. Links, addresses and veths go through rtnl_link_* /
 * rtnl_addr_*. vxlan0 is built with libnl's message API rather than
 * rtnl_link_vxlan_set_port(): libnl 3.7 writes IFLA_VXLAN_PORT as 4 bytes and
 * the kernel logs "attribute type 15 has an invalid length".
 *
 * Neighbour and FDB writes are batched: many requests in one sendmsg, only
 * the last asking for an ACK, errors (which the kernel always reports) matched
 * back by sequence number. Dumps and notifications are parsed with libnl's
 * attribute parser from our own receive loop (no per-message allocation).
 */
#include <dirent.h>
#include <fcntl.h>
#include <poll.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/vfs.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <linux/if_bridge.h>
#include <linux/if_link.h>
#include <linux/magic.h>
#include <linux/neighbour.h>
#include <linux/net_namespace.h>
#include <linux/netlink.h>
#include <linux/nsfs.h>
#include <linux/rtnetlink.h>

#include <netlink/netlink.h>
#include <netlink/socket.h>
#include <netlink/msg.h>
#include <netlink/attr.h>
#include <netlink/cache.h>
#include <netlink/route/link.h>
#include <netlink/route/addr.h>
#include <netlink/route/link/veth.h>
#include <netlink/route/link/vxlan.h>

#include "ovg/overlay.h"

#define RBUF_LEN        (64 * 1024)
#define SEND_CHUNK      (128 * 1024)        /* bytes per sendmsg of a batch */
#define REQ_RCVBUF      (4 * 1024 * 1024)
#define REQ_SNDBUF      (1024 * 1024)
#define EVT_RCVBUF      (16 * 1024 * 1024)
#define ACK_TIMEOUT_MS  5000
#define ETH_MAX_TRY     1024                /* ethN candidates */
#define EVT_VLEN        64                  /* datagrams per recvmmsg */

struct nlx {
	int home_fd;                /* the agent's own network namespace */
	struct nl_sock *home;       /* requests there (vxlan creation) */
	uint32_t tmp_seq;
	uint8_t *rbuf;              /* RBUF_LEN */
	uint8_t *wbuf;              /* SEND_CHUNK + one message */
	uint8_t *ebuf;              /* EVT_VLEN * RBUF_LEN / 16 */
};

struct nsb {
	char path[OVG_OVERLAY_PATH_MAX];
	struct nl_sock *req;
	struct nl_sock *evt;
	struct nl_cache *links;     /* snapshot from the last ensure_devices */
	int br_ifindex;
	int vx_ifindex;
	uint32_t mtu;               /* of vxlan0 and veths, from ensure_devices */
	int home_nsid;              /* the agent's namespace as seen from here; -1 unknown */
	uint32_t seq;               /* our own sequence space on req */
};

#define EBUF_SLOT (RBUF_LEN / 16)   /* notifications are small */

/* ---- errors --------------------------------------------------------------- */

static int nle_errno(int nle)
{
	switch (nle < 0 ? -nle : nle) {
	case 0: return 0;
	case NLE_INTR: return -EINTR;
	case NLE_BAD_SOCK: return -EBADF;
	case NLE_AGAIN: return -EAGAIN;
	case NLE_NOMEM: return -ENOMEM;
	case NLE_EXIST: return -EEXIST;
	case NLE_INVAL: return -EINVAL;
	case NLE_RANGE: return -ERANGE;
	case NLE_MSGSIZE: return -EMSGSIZE;
	case NLE_OPNOTSUPP: return -EOPNOTSUPP;
	case NLE_AF_NOSUPPORT: return -EAFNOSUPPORT;
	case NLE_OBJ_NOTFOUND: return -ENOENT;
	case NLE_NOATTR: return -ENOENT;
	case NLE_MISSING_ATTR: return -EINVAL;
	case NLE_AF_MISMATCH: return -EINVAL;
	case NLE_SEQ_MISMATCH: return -EILSEQ;
	case NLE_MSG_OVERFLOW: return -EOVERFLOW;
	case NLE_MSG_TRUNC: return -EMSGSIZE;
	case NLE_NOADDR: return -EADDRNOTAVAIL;
	case NLE_SRCRT_NOSUPPORT: return -EOPNOTSUPP;
	case NLE_MSG_TOOSHORT: return -EBADMSG;
	case NLE_MSGTYPE_NOSUPPORT: return -EOPNOTSUPP;
	case NLE_OBJ_MISMATCH: return -EINVAL;
	case NLE_NOCACHE: return -ENOENT;
	case NLE_BUSY: return -EBUSY;
	case NLE_PROTO_MISMATCH: return -EPROTONOSUPPORT;
	case NLE_NOACCESS: return -EACCES;
	case NLE_PERM: return -EPERM;
	case NLE_PKTLOC_FILE: return -ENOENT;
	case NLE_PARSE_ERR: return -EBADMSG;
	case NLE_NODEV: return -ENODEV;
	case NLE_IMMUTABLE: return -EPERM;
	case NLE_DUMP_INTR: return -EINTR;
	case NLE_ATTRSIZE: return -EMSGSIZE;
	default: return -EIO;
	}
}

/* ---- sockets in namespaces ------------------------------------------------- */

static void setsockopt_int(int fd, int level, int opt, int v)
{
	(void)setsockopt(fd, level, opt, &v, sizeof(v));
}

static int sock_open(bool events, struct nl_sock **out)
{
	struct nl_sock *sk = nl_socket_alloc();
	int e;

	if (!sk)
		return -ENOMEM;
	if (events)
		nl_socket_disable_seq_check(sk);
	e = nl_connect(sk, NETLINK_ROUTE);
	if (e < 0) {
		nl_socket_free(sk);
		return nle_errno(e);
	}
	int fd = nl_socket_get_fd(sk);
	if (events) {
		e = nl_socket_add_memberships(sk, RTNLGRP_NEIGH, RTNLGRP_LINK, 0);
		if (e < 0) {
			nl_socket_free(sk);
			return nle_errno(e);
		}
		nl_socket_set_nonblocking(sk);
		setsockopt_int(fd, SOL_SOCKET, SO_RCVBUF, EVT_RCVBUF);
		setsockopt_int(fd, SOL_SOCKET, SO_RCVBUFFORCE, EVT_RCVBUF);
	} else {
		nl_socket_set_buffer_size(sk, REQ_RCVBUF, REQ_SNDBUF);
		setsockopt_int(fd, SOL_SOCKET, SO_RCVBUFFORCE, REQ_RCVBUF);
		setsockopt_int(fd, SOL_SOCKET, SO_SNDBUFFORCE, REQ_SNDBUF);
		setsockopt_int(fd, SOL_NETLINK, NETLINK_EXT_ACK, 1);
		setsockopt_int(fd, SOL_NETLINK, NETLINK_CAP_ACK, 1);
		nl_socket_enable_msg_peek(sk);
	}
	*out = sk;
	return 0;
}

struct sock_arg {
	struct nl_sock *req;
	struct nl_sock *evt;        /* only if want_evt */
	bool want_evt;
};

static int sock_open_fn(void *p)
{
	struct sock_arg *a = p;
	int e = sock_open(false, &a->req);

	if (e == 0 && a->want_evt && (e = sock_open(true, &a->evt)) < 0) {
		nl_socket_free(a->req);
		a->req = NULL;
	}
	return e;
}

/* A request socket (and an event socket if evt) inside nsfd, from one
 * thread that entered it. */
static int sock_in_ns(int nsfd, struct nl_sock **req, struct nl_sock **evt)
{
	struct sock_arg a = { .want_evt = evt != NULL };
	int e = ovg_overlay_netns_run(nsfd, sock_open_fn, &a);

	if (e < 0)
		return e;
	*req = a.req;
	if (evt)
		*evt = a.evt;
	return 0;
}

/* Open a network namespace file. -ENOENT absent; -ENOTNAM not a namespace. */
static int netns_open(const char *path, int *fd_out, char *err, size_t errlen)
{
	struct statfs sfs;
	int fd, e;

	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		e = -errno;
		if (e == -ENOENT)
			ovg_overlay_errf(err, errlen, "namespace %s not found", path);
		else
			ovg_overlay_errf(err, errlen, "namespace %s: %s", path, strerror(-e));
		return e;
	}
	if (fstatfs(fd, &sfs) < 0 || (unsigned long)sfs.f_type != NSFS_MAGIC) {
		close(fd);
		ovg_overlay_errf(err, errlen, "%s is not a namespace", path);
		return -ENOTNAM;
	}
	e = ioctl(fd, NS_GET_NSTYPE);
	if (e >= 0 && e != CLONE_NEWNET) {
		close(fd);
		ovg_overlay_errf(err, errlen, "%s is not a network namespace", path);
		return -ENOTNAM;
	}
	*fd_out = fd;
	return 0;
}

/* ---- context ----------------------------------------------------------------- */

void ovg_overlay_nl_free(void *ctx)
{
	struct nlx *x = ctx;

	if (!x)
		return;
	if (x->home)
		nl_socket_free(x->home);
	if (x->home_fd >= 0)
		close(x->home_fd);
	free(x->rbuf);
	free(x->wbuf);
	free(x->ebuf);
	free(x);
}

void *ovg_overlay_nl_new(char *err, size_t errlen)
{
	struct nlx *x = calloc(1, sizeof(*x));
	int e;

	if (!x) {
		ovg_overlay_errf(err, errlen, "overlay: out of memory");
		errno = ENOMEM;
		return NULL;
	}
	x->home_fd = open("/proc/thread-self/ns/net", O_RDONLY | O_CLOEXEC);
	if (x->home_fd < 0) {
		e = -errno;
		ovg_overlay_errf(err, errlen, "overlay: own namespace: %s", strerror(-e));
		goto fail;
	}
	x->rbuf = malloc(RBUF_LEN);
	x->wbuf = malloc(SEND_CHUNK + 256);
	x->ebuf = malloc((size_t)EVT_VLEN * EBUF_SLOT);
	if (!x->rbuf || !x->wbuf || !x->ebuf) {
		e = -ENOMEM;
		ovg_overlay_errf(err, errlen, "overlay: out of memory");
		goto fail;
	}
	e = sock_open(false, &x->home);
	if (e < 0) {
		ovg_overlay_errf(err, errlen, "overlay: netlink socket: %s", strerror(-e));
		goto fail;
	}
	x->tmp_seq = (uint32_t)getpid();
	return x;
fail:
	ovg_overlay_nl_free(x);
	errno = -e;
	return NULL;
}

/* ---- raw netlink: our own sequence space, our own receive loop -------------- */

/* Parse an error/ACK: the code and, with NETLINK_EXT_ACK, the kernel's text. */
static int ack_error(struct nlmsghdr *h, const char **ext)
{
	struct nlmsgerr *me;

	*ext = NULL;
	if (h->nlmsg_len < NLMSG_LENGTH(sizeof(*me)))
		return -EBADMSG;
	me = NLMSG_DATA(h);
	if (me->error && (h->nlmsg_flags & NLM_F_ACK_TLVS)) {
		size_t off = NLMSG_LENGTH(sizeof(*me));
		if (!(h->nlmsg_flags & NLM_F_CAPPED))
			off += NLMSG_ALIGN(me->msg.nlmsg_len) - NLMSG_HDRLEN;
		if (off < h->nlmsg_len) {
			struct nlattr *tb[NLMSGERR_ATTR_MAX + 1];
			if (nla_parse(tb, NLMSGERR_ATTR_MAX, (struct nlattr *)((uint8_t *)h + off),
				      (int)(h->nlmsg_len - off), NULL) == 0 &&
			    tb[NLMSGERR_ATTR_MSG] && nla_len(tb[NLMSGERR_ATTR_MSG]) > 0) {
				char *m = nla_data(tb[NLMSGERR_ATTR_MSG]);
				if (m[nla_len(tb[NLMSGERR_ATTR_MSG]) - 1] == 0)
					*ext = m;
			}
		}
	}
	return me->error > 0 ? -me->error : me->error;
}

static int raw_send(struct nl_sock *sk, const void *buf, size_t len)
{
	struct sockaddr_nl kernel = { .nl_family = AF_NETLINK };
	ssize_t n;

	do {
		n = sendto(nl_socket_get_fd(sk), buf, len, 0, (struct sockaddr *)&kernel,
			   sizeof(kernel));
	} while (n < 0 && errno == EINTR);
	if (n < 0)
		return -errno;
	return (size_t)n == len ? 0 : -EMSGSIZE;
}

/* Receive one datagram from a blocking request socket, bounded in time. */
static ssize_t raw_recv(struct nl_sock *sk, uint8_t *buf, size_t cap)
{
	struct pollfd p = { .fd = nl_socket_get_fd(sk), .events = POLLIN };
	ssize_t n;
	int k;

	do {
		k = poll(&p, 1, ACK_TIMEOUT_MS);
	} while (k < 0 && errno == EINTR);
	if (k < 0)
		return -errno;
	if (k == 0)
		return -ETIMEDOUT;
	do {
		n = recv(p.fd, buf, cap, 0);
	} while (n < 0 && errno == EINTR);
	return n < 0 ? -errno : n;
}

/* ---- neighbour / FDB messages ----------------------------------------------------- */

static bool parse_neigh(struct nlmsghdr *h, int vx, struct ovg_overlay_entry *e)
{
	struct nlattr *tb[NDA_MAX + 1];
	struct ndmsg *nd;

	if (h->nlmsg_len < NLMSG_LENGTH(sizeof(*nd)))
		return false;
	nd = NLMSG_DATA(h);
	if (vx <= 0 || nd->ndm_ifindex != vx)
		return false;
	if (nlmsg_parse(h, sizeof(*nd), tb, NDA_MAX, NULL) < 0)
		return false;
	memset(e, 0, sizeof(*e));
	e->deleted = h->nlmsg_type == RTM_DELNEIGH;
	e->permanent = (nd->ndm_state & NUD_PERMANENT) != 0;
	if (tb[NDA_LLADDR] && nla_len(tb[NDA_LLADDR]) == 6)
		memcpy(e->mac, nla_data(tb[NDA_LLADDR]), 6);
	if (nd->ndm_family == AF_INET) {
		if (!tb[NDA_DST] || nla_len(tb[NDA_DST]) != 4)
			return false;
		e->kind = OVG_OVERLAY_NEIGH;
		memcpy(&e->ip, nla_data(tb[NDA_DST]), 4);
		return true;
	}
	if (nd->ndm_family == AF_BRIDGE) {
		if (!(nd->ndm_flags & NTF_SELF) || !tb[NDA_LLADDR] || nla_len(tb[NDA_LLADDR]) != 6)
			return false;
		if (tb[NDA_DST]) {
			if (nla_len(tb[NDA_DST]) != 4)
				return false;   /* IPv6 VTEPs are not ours */
			memcpy(&e->ip, nla_data(tb[NDA_DST]), 4);
		}
		e->kind = OVG_OVERLAY_FDB;
		return true;
	}
	return false;
}

static size_t put_attr(uint8_t *p, uint16_t type, const void *data, uint16_t len)
{
	struct nlattr *a = (struct nlattr *)p;
	size_t total = NLA_ALIGN(NLA_HDRLEN + len);

	memset(p, 0, total);
	a->nla_type = type;
	a->nla_len = (uint16_t)(NLA_HDRLEN + len);
	memcpy(p + NLA_HDRLEN, data, len);
	return total;
}

#define CHANGE_MSG_MAX 64   /* bytes: header 16 + ndmsg 12 + 2 attributes <= 20 */

static size_t build_change(uint8_t *buf, const struct ovg_overlay_change *c, int ifindex,
			   uint32_t seq, bool ack)
{
	struct nlmsghdr *h = (struct nlmsghdr *)buf;
	struct ndmsg *nd = (struct ndmsg *)(buf + NLMSG_HDRLEN);
	bool rep = c->op == OVG_OVERLAY_REPLACE;
	size_t len = NLMSG_HDRLEN + NLMSG_ALIGN(sizeof(*nd));

	memset(buf, 0, len);
	h->nlmsg_type = rep ? RTM_NEWNEIGH : RTM_DELNEIGH;
	h->nlmsg_flags = NLM_F_REQUEST | (rep ? NLM_F_CREATE | NLM_F_REPLACE : 0) |
			 (ack ? NLM_F_ACK : 0);
	h->nlmsg_seq = seq;
	nd->ndm_ifindex = ifindex;
	nd->ndm_state = rep ? NUD_PERMANENT : 0;
	if (c->e.kind == OVG_OVERLAY_NEIGH) {
		nd->ndm_family = AF_INET;
		len += put_attr(buf + len, NDA_DST, &c->e.ip, 4);
		if (rep)
			len += put_attr(buf + len, NDA_LLADDR, c->e.mac, 6);
	} else {
		nd->ndm_family = AF_BRIDGE;
		nd->ndm_flags = NTF_SELF;
		len += put_attr(buf + len, NDA_LLADDR, c->e.mac, 6);
		len += put_attr(buf + len, NDA_DST, &c->e.ip, 4);
	}
	h->nlmsg_len = (uint32_t)len;
	return len;
}

static void describe(const struct ovg_overlay_change *c, char *buf, size_t cap)
{
	char a[INET_ADDRSTRLEN];
	const uint8_t *m = c->e.mac;

	inet_ntop(AF_INET, &c->e.ip, a, sizeof(a));
	if (c->e.kind == OVG_OVERLAY_NEIGH)
		snprintf(buf, cap, "neigh %s %s lladdr %02x:%02x:%02x:%02x:%02x:%02x",
			 c->op == OVG_OVERLAY_REPLACE ? "replace" : "del", a, m[0], m[1], m[2],
			 m[3], m[4], m[5]);
	else
		snprintf(buf, cap, "fdb %s %02x:%02x:%02x:%02x:%02x:%02x dst %s",
			 c->op == OVG_OVERLAY_REPLACE ? "replace" : "del", m[0], m[1], m[2], m[3],
			 m[4], m[5], a);
}

static int n_apply(void *ctx, void *sbp, const struct ovg_overlay_change *c, size_t n, int *res,
		   char *err, size_t errlen)
{
	struct nlx *x = ctx;
	struct nsb *s = sbp;
	int first = 0;
	size_t i = 0;

	if (s->vx_ifindex <= 0) {
		ovg_overlay_errf(err, errlen, "%s: no vxlan0", s->path);
		for (size_t k = 0; k < n; k++)
			res[k] = -ENODEV;
		return -ENODEV;
	}
	while (i < n) {
		uint32_t seq0 = s->seq;
		size_t start = i, len = 0;
		int e;

		/* one chunk: as many requests as fit, the last one asks for an ACK */
		while (i < n && len + CHANGE_MSG_MAX <= SEND_CHUNK) {
			bool last = i + 1 == n || len + 2 * CHANGE_MSG_MAX > SEND_CHUNK;
			len += build_change(x->wbuf + len, &c[i], s->vx_ifindex, s->seq++, last);
			res[i] = 1;   /* pending */
			i++;
		}
		uint32_t seq_last = s->seq - 1;
		e = raw_send(s->req, x->wbuf, len);
		bool done = e < 0;
		while (!done) {
			ssize_t got = raw_recv(s->req, x->rbuf, RBUF_LEN);
			if (got < 0) {
				if (got == -ENOBUFS)
					continue;   /* some errors lost: they stay pending */
				e = (int)got;
				break;
			}
			for (struct nlmsghdr *h = (struct nlmsghdr *)x->rbuf; NLMSG_OK(h, (size_t)got);
			     h = NLMSG_NEXT(h, got)) {
				uint32_t k = h->nlmsg_seq - seq0;
				const char *ext;
				int code;

				if (h->nlmsg_type != NLMSG_ERROR || k >= i - start)
					continue;
				code = ack_error(h, &ext);
				if (code == -ENOENT && c[start + k].op == OVG_OVERLAY_DELETE)
					code = 0;   /* already gone */
				res[start + k] = code;
				if (code < 0 && first == 0) {
					char what[96];
					first = code;
					describe(&c[start + k], what, sizeof(what));
					ovg_overlay_errf(err, errlen, "%s: vxlan0 %s: %s%s%s", s->path, what,
							 strerror(-code), ext ? ": " : "", ext ? ext : "");
				}
				if (h->nlmsg_seq == seq_last)
					done = true;
			}
		}
		/* no error reported means success; a failed send or wait fails all */
		for (size_t k = start; k < i; k++) {
			if (res[k] != 1)
				continue;
			res[k] = e < 0 ? e : 0;
			if (e < 0 && first == 0) {
				first = e;
				ovg_overlay_errf(err, errlen, "%s: vxlan0 batch: %s", s->path, strerror(-e));
			}
		}
	}
	return first;
}

static int n_dump_one(struct nlx *x, struct nsb *s, bool fdb, ovg_overlay_entry_cb cb, void *arg,
		      char *err, size_t errlen)
{
	uint8_t req[NLMSG_HDRLEN + sizeof(struct ifinfomsg) + 8] = { 0 };
	struct nlmsghdr *h = (struct nlmsghdr *)req;
	uint32_t seq = s->seq++;
	size_t len = NLMSG_HDRLEN;
	int e;

	h->nlmsg_type = RTM_GETNEIGH;
	h->nlmsg_flags = NLM_F_REQUEST | NLM_F_DUMP;
	h->nlmsg_seq = seq;
	if (fdb) {
		/* the legacy form `bridge fdb show dev X` uses: ifinfomsg with
		 * the port's index filters by port */
		struct ifinfomsg *ifi = (struct ifinfomsg *)(req + len);
		ifi->ifi_family = AF_BRIDGE;
		ifi->ifi_index = s->vx_ifindex;
		len += NLMSG_ALIGN(sizeof(*ifi));
	} else {
		struct ndmsg *nd = (struct ndmsg *)(req + len);
		uint32_t idx = (uint32_t)s->vx_ifindex;
		nd->ndm_family = AF_INET;
		len += NLMSG_ALIGN(sizeof(*nd));
		len += put_attr(req + len, NDA_IFINDEX, &idx, 4);
	}
	h->nlmsg_len = (uint32_t)len;
	e = raw_send(s->req, req, len);
	while (e == 0) {
		ssize_t got = raw_recv(s->req, x->rbuf, RBUF_LEN);
		if (got < 0) {
			e = (int)got;
			break;
		}
		for (struct nlmsghdr *m = (struct nlmsghdr *)x->rbuf; NLMSG_OK(m, (size_t)got);
		     m = NLMSG_NEXT(m, got)) {
			struct ovg_overlay_entry ent;
			const char *ext;

			if (m->nlmsg_seq != seq)
				continue;
			if (m->nlmsg_type == NLMSG_DONE)
				return 0;
			if (m->nlmsg_type == NLMSG_ERROR) {
				e = ack_error(m, &ext);
				if (e == 0)
					return 0;
				break;
			}
			if (m->nlmsg_flags & NLM_F_DUMP_INTR) {
				/* still exact: notifications carry what changed */
			}
			if (m->nlmsg_type == RTM_NEWNEIGH && parse_neigh(m, s->vx_ifindex, &ent) &&
			    ent.kind == (fdb ? OVG_OVERLAY_FDB : OVG_OVERLAY_NEIGH))
				cb(arg, &ent);
		}
	}
	ovg_overlay_errf(err, errlen, "%s: %s dump: %s", s->path, fdb ? "fdb" : "neigh",
			 strerror(-e));
	return e;
}

static int n_dump(void *ctx, void *sbp, ovg_overlay_entry_cb cb, void *arg, char *err,
		  size_t errlen)
{
	struct nsb *s = sbp;
	int e;

	if (s->vx_ifindex <= 0)
		return 0;
	e = n_dump_one(ctx, s, false, cb, arg, err, errlen);
	if (e == 0)
		e = n_dump_one(ctx, s, true, cb, arg, err, errlen);
	return e;
}

/* A link notification worth a reconcile: one of ours deleted, down, off br0
 * or with the wrong MTU. Carrier and statistics updates are not. */
static bool link_wrong(const struct nsb *s, struct nlmsghdr *h)
{
	struct nlattr *tb[IFLA_MAX + 1];
	struct ifinfomsg *ifi;

	if (h->nlmsg_len < NLMSG_LENGTH(sizeof(*ifi)))
		return true;
	ifi = NLMSG_DATA(h);
	if (ifi->ifi_flags & IFF_LOOPBACK)
		return false;
	if (h->nlmsg_type == RTM_DELLINK || !(ifi->ifi_flags & IFF_UP))
		return true;
	if (ifi->ifi_index == s->br_ifindex)
		return false;
	if (nlmsg_parse(h, sizeof(*ifi), tb, IFLA_MAX, NULL) < 0)
		return true;
	if (!tb[IFLA_MASTER] || nla_len(tb[IFLA_MASTER]) != 4 ||
	    (int)nla_get_u32(tb[IFLA_MASTER]) != s->br_ifindex)
		return true;
	return tb[IFLA_MTU] && nla_len(tb[IFLA_MTU]) == 4 && nla_get_u32(tb[IFLA_MTU]) != s->mtu;
}

static int n_events(void *ctx, void *sbp, ovg_overlay_entry_cb cb, void *arg, char *err,
		    size_t errlen)
{
	struct nlx *x = ctx;
	struct nsb *s = sbp;
	struct mmsghdr mm[EVT_VLEN];
	struct iovec iov[EVT_VLEN];
	bool lost = false;
	int fd = nl_socket_get_fd(s->evt);

	for (;;) {
		memset(mm, 0, sizeof(mm));
		for (int k = 0; k < EVT_VLEN; k++) {
			iov[k].iov_base = x->ebuf + (size_t)k * EBUF_SLOT;
			iov[k].iov_len = EBUF_SLOT;
			mm[k].msg_hdr.msg_iov = &iov[k];
			mm[k].msg_hdr.msg_iovlen = 1;
		}
		int got = recvmmsg(fd, mm, EVT_VLEN, MSG_DONTWAIT, NULL);
		if (got < 0) {
			if (errno == EINTR)
				continue;
			if (errno == ENOBUFS) {
				lost = true;
				continue;
			}
			if (errno == EAGAIN || errno == EWOULDBLOCK)
				break;
			int e = -errno;
			ovg_overlay_errf(err, errlen, "%s: notifications: %s", s->path, strerror(-e));
			return e;
		}
		for (int k = 0; k < got; k++) {
			size_t len = mm[k].msg_len;

			if (mm[k].msg_hdr.msg_flags & MSG_TRUNC) {
				lost = true;    /* a notification bigger than a slot */
				continue;
			}
			for (struct nlmsghdr *h = iov[k].iov_base; NLMSG_OK(h, len);
			     h = NLMSG_NEXT(h, len)) {
				struct ovg_overlay_entry ent;

				switch (h->nlmsg_type) {
				case RTM_NEWNEIGH:
				case RTM_DELNEIGH:
					if (parse_neigh(h, s->vx_ifindex, &ent))
						cb(arg, &ent);
					break;
				case RTM_NEWLINK:
				case RTM_DELLINK:
					if (!link_wrong(s, h))
						break;
					memset(&ent, 0, sizeof(ent));
					ent.kind = OVG_OVERLAY_LINK;
					ent.deleted = h->nlmsg_type == RTM_DELLINK;
					cb(arg, &ent);
					break;
				default:
					break;
				}
			}
		}
		if (got < EVT_VLEN)
			break;
	}
	if (lost) {
		ovg_overlay_errf(err, errlen, "%s: notifications lost", s->path);
		return -ENOBUFS;
	}
	return 0;
}

static int n_watch_fd(void *ctx, void *sbp)
{
	struct nsb *s = sbp;

	(void)ctx;
	return nl_socket_get_fd(s->evt);
}

/* ---- sandboxes -------------------------------------------------------------------- */

static int mkdir_p(const char *dir)
{
	char tmp[OVG_OVERLAY_PATH_MAX];

	if ((size_t)snprintf(tmp, sizeof(tmp), "%s", dir) >= sizeof(tmp))
		return -ENAMETOOLONG;
	for (char *p = tmp + 1; *p; p++) {
		if (*p != '/')
			continue;
		*p = 0;
		if (mkdir(tmp, 0755) < 0 && errno != EEXIST)
			return -errno;
		*p = '/';
	}
	if (mkdir(tmp, 0755) < 0 && errno != EEXIST)
		return -errno;
	return 0;
}

static int n_sandbox_list(void *ctx, const char *dir, ovg_overlay_name_cb cb, void *arg,
			  char *err, size_t errlen)
{
	DIR *d;
	struct dirent *de;

	(void)ctx;
	d = opendir(dir);
	if (!d) {
		if (errno == ENOENT)
			return 0;
		int e = -errno;
		ovg_overlay_errf(err, errlen, "%s: %s", dir, strerror(-e));
		return e;
	}
	while ((de = readdir(d)) != NULL) {
		if (de->d_name[0] == '.')
			continue;
		cb(arg, de->d_name);
	}
	closedir(d);
	return 0;
}

static bool n_sandbox_exists(void *ctx, const char *path)
{
	struct stat st;

	(void)ctx;
	return lstat(path, &st) == 0;
}

static void n_sandbox_close(void *ctx, void *sbp)
{
	struct nsb *s = sbp;

	(void)ctx;
	if (!s)
		return;
	if (s->links)
		nl_cache_free(s->links);
	if (s->req)
		nl_socket_free(s->req);
	if (s->evt)
		nl_socket_free(s->evt);
	free(s);
}

static int n_sandbox_open(void *ctx, const char *path, bool create, void **sbp, bool *created,
			  char *err, size_t errlen)
{
	struct nsb *s;
	int e, fd = -1;

	(void)ctx;
	*created = false;
	e = netns_open(path, &fd, err, errlen);
	if (e == -ENOTNAM && create) {
		/* a plain file left from before a reboot: not a sandbox */
		if (unlink(path) < 0) {
			e = -errno;
			ovg_overlay_errf(err, errlen, "cannot remove stale %s: %s", path, strerror(-e));
			return e;
		}
		e = -ENOENT;
	}
	if (e == -ENOENT && create) {
		char dir[OVG_OVERLAY_PATH_MAX];
		snprintf(dir, sizeof(dir), "%s", path);
		char *slash = strrchr(dir, '/');
		if (slash && slash != dir) {
			*slash = 0;
			e = mkdir_p(dir);
			if (e < 0) {
				ovg_overlay_errf(err, errlen, "cannot create %s: %s", dir, strerror(-e));
				return e;
			}
		}
		e = ovg_overlay_netns_create(path, err, errlen);
		if (e < 0)
			return e;
		*created = true;
		e = netns_open(path, &fd, err, errlen);
	}
	if (e < 0)
		return e;
	s = calloc(1, sizeof(*s));
	if (!s) {
		close(fd);
		ovg_overlay_errf(err, errlen, "%s: out of memory", path);
		return -ENOMEM;
	}
	snprintf(s->path, sizeof(s->path), "%s", path);
	s->home_nsid = -1;
	s->seq = 0x40000000u;
	/* the sockets keep the namespace alive; the fd is reopened when needed */
	e = sock_in_ns(fd, &s->req, &s->evt);
	close(fd);
	if (e < 0) {
		ovg_overlay_errf(err, errlen, "%s: netlink socket: %s", path, strerror(-e));
		n_sandbox_close(ctx, s);
		return e;
	}
	*sbp = s;
	return 0;
}

struct del_links {
	struct nl_sock *sk;
	int err;
};

static void del_link_cb(struct nl_object *o, void *arg)
{
	struct rtnl_link *l = (struct rtnl_link *)o;
	struct del_links *d = arg;
	int e;

	if (rtnl_link_get_flags(l) & IFF_LOOPBACK)
		return;
	e = rtnl_link_delete(d->sk, l);
	if (e < 0 && e != -NLE_NODEV && e != -NLE_OBJ_NOTFOUND && d->err == 0)
		d->err = nle_errno(e);
}

static int n_sandbox_remove(void *ctx, const char *path, char *err, size_t errlen)
{
	struct nl_sock *sk = NULL;
	struct nl_cache *links = NULL;
	int fd = -1, e;

	(void)ctx;
	e = netns_open(path, &fd, err, errlen);
	if (e == -ENOENT)
		return 0;
	if (e == 0) {
		/* delete the devices first: vxlan0's VNI and the containers' veth
		 * ends go now, not whenever the namespace is finally freed */
		e = sock_in_ns(fd, &sk, NULL);
		if (e == 0)
			e = nle_errno(rtnl_link_alloc_cache(sk, AF_UNSPEC, &links));
		if (e == 0) {
			struct del_links d = { .sk = sk };
			/* vxlan0 and veths before br0, which takes nothing with it */
			nl_cache_foreach(links, del_link_cb, &d);
			e = d.err;
		}
		if (links)
			nl_cache_free(links);
		if (sk)
			nl_socket_free(sk);
		close(fd);
		if (e < 0) {
			ovg_overlay_errf(err, errlen, "%s: deleting devices: %s", path, strerror(-e));
			return e;
		}
	}
	return ovg_overlay_netns_remove(path, err, errlen);
}

/* ---- devices --------------------------------------------------------------------- */

static int refill_links(struct nsb *s)
{
	if (!s->links)
		return nle_errno(rtnl_link_alloc_cache(s->req, AF_UNSPEC, &s->links));
	return nle_errno(nl_cache_refill(s->req, s->links));
}

static bool is_kind(struct rtnl_link *l, const char *kind)
{
	const char *t = rtnl_link_get_type(l);

	return t && strcmp(t, kind) == 0;
}

/* Set MTU, master, up on an existing link where they differ. */
static int link_fix(struct nl_sock *sk, struct rtnl_link *l, uint32_t mtu, int master,
		    uint32_t *changes)
{
	struct rtnl_link *c = rtnl_link_alloc();
	bool any = false;
	int e = 0;

	if (!c)
		return -ENOMEM;
	if (mtu && rtnl_link_get_mtu(l) != mtu) {
		rtnl_link_set_mtu(c, mtu);
		any = true;
	}
	if (master > 0 && rtnl_link_get_master(l) != master) {
		rtnl_link_set_master(c, master);
		any = true;
	}
	if (!(rtnl_link_get_flags(l) & IFF_UP)) {
		rtnl_link_set_flags(c, IFF_UP);
		any = true;
	}
	if (any) {
		e = nle_errno(rtnl_link_change(sk, l, c, 0));
		if (e == 0)
			(*changes)++;
	}
	rtnl_link_put(c);
	return e;
}

struct addr_find {
	int ifindex;
	struct in_addr ip;
	uint8_t prefix;
	bool found;
};

static void addr_find_cb(struct nl_object *o, void *arg)
{
	struct rtnl_addr *a = (struct rtnl_addr *)o;
	struct addr_find *f = arg;
	struct nl_addr *local = rtnl_addr_get_local(a);

	if (rtnl_addr_get_family(a) != AF_INET || rtnl_addr_get_ifindex(a) != f->ifindex || !local)
		return;
	if (nl_addr_get_len(local) == 4 &&
	    memcmp(nl_addr_get_binary_addr(local), &f->ip, 4) == 0 &&
	    rtnl_addr_get_prefixlen(a) == f->prefix)
		f->found = true;
}

/* Make sure ip/prefix is on ifindex. */
static int addr_ensure(struct nl_sock *sk, int ifindex, struct in_addr ip, uint8_t prefix,
		       uint32_t *changes)
{
	struct nl_cache *cache = NULL;
	struct addr_find f = { .ifindex = ifindex, .ip = ip, .prefix = prefix };
	struct rtnl_addr *a = NULL;
	struct nl_addr *local = NULL;
	int e;

	e = nle_errno(rtnl_addr_alloc_cache(sk, &cache));
	if (e < 0)
		return e;
	nl_cache_foreach(cache, addr_find_cb, &f);
	nl_cache_free(cache);
	if (f.found)
		return 0;
	a = rtnl_addr_alloc();
	local = nl_addr_build(AF_INET, &ip, 4);
	if (!a || !local) {
		e = -ENOMEM;
		goto out;
	}
	nl_addr_set_prefixlen(local, prefix);
	rtnl_addr_set_ifindex(a, ifindex);
	rtnl_addr_set_family(a, AF_INET);
	rtnl_addr_set_local(a, local);
	rtnl_addr_set_prefixlen(a, prefix);
	e = nle_errno(rtnl_addr_add(sk, a, NLM_F_CREATE | NLM_F_REPLACE));
	if (e == 0)
		(*changes)++;
out:
	nl_addr_put(local);
	rtnl_addr_put(a);
	return e;
}

static int bridge_ensure(struct nsb *s, const struct ovg_overlay_dev_cfg *cfg, uint32_t *changes,
			 char *err, size_t errlen)
{
	struct rtnl_link *br = rtnl_link_get_by_name(s->links, "br0");
	int e = 0;

	if (br && !is_kind(br, "bridge")) {
		e = nle_errno(rtnl_link_delete(s->req, br));
		rtnl_link_put(br);
		br = NULL;
		if (e < 0) {
			ovg_overlay_errf(err, errlen, "%s: deleting foreign br0: %s", s->path,
					 strerror(-e));
			return e;
		}
		(*changes)++;
	}
	if (!br) {
		struct rtnl_link *l = rtnl_link_alloc();
		if (!l)
			return -ENOMEM;
		rtnl_link_set_name(l, "br0");
		e = nle_errno(rtnl_link_set_type(l, "bridge"));
		if (e == 0) {
			rtnl_link_set_flags(l, IFF_UP);
			e = nle_errno(rtnl_link_add(s->req, l, NLM_F_CREATE | NLM_F_EXCL));
		}
		rtnl_link_put(l);
		if (e == 0)
			e = refill_links(s);
		if (e == 0)
			br = rtnl_link_get_by_name(s->links, "br0");
		if (e == 0 && !br)
			e = -ENODEV;
		if (e < 0) {
			ovg_overlay_errf(err, errlen, "%s: creating br0: %s", s->path, strerror(-e));
			if (br)
				rtnl_link_put(br);
			return e;
		}
		(*changes)++;
	} else {
		e = link_fix(s->req, br, 0, 0, changes);
	}
	s->br_ifindex = rtnl_link_get_ifindex(br);
	rtnl_link_put(br);
	if (e == 0)
		e = addr_ensure(s->req, s->br_ifindex, cfg->gateway, cfg->prefix, changes);
	if (e < 0) {
		char a[INET_ADDRSTRLEN];
		inet_ntop(AF_INET, &cfg->gateway, a, sizeof(a));
		ovg_overlay_errf(err, errlen, "%s: br0 up with %s/%u: %s", s->path, a, cfg->prefix,
				 strerror(-e));
	}
	return e;
}

/* The id the namespace nsfd has inside sandbox s (RTM_GETNSID), or -1. */
static int nsid_of(struct nlx *x, struct nsb *s, int nsfd)
{
	uint8_t req[NLMSG_HDRLEN + NLMSG_ALIGN(sizeof(struct rtgenmsg)) + 8] = { 0 };
	struct nlmsghdr *h = (struct nlmsghdr *)req;
	struct rtgenmsg *g = (struct rtgenmsg *)(req + NLMSG_HDRLEN);
	uint32_t fd = (uint32_t)nsfd, seq = s->seq++;
	size_t len = NLMSG_HDRLEN + NLMSG_ALIGN(sizeof(*g));

	h->nlmsg_type = RTM_GETNSID;
	h->nlmsg_flags = NLM_F_REQUEST;
	h->nlmsg_seq = seq;
	g->rtgen_family = AF_UNSPEC;
	len += put_attr(req + len, NETNSA_FD, &fd, 4);
	h->nlmsg_len = (uint32_t)len;
	if (raw_send(s->req, req, len) < 0)
		return -1;
	for (;;) {
		ssize_t got = raw_recv(s->req, x->rbuf, RBUF_LEN);
		if (got < 0)
			return -1;
		for (struct nlmsghdr *m = (struct nlmsghdr *)x->rbuf; NLMSG_OK(m, (size_t)got);
		     m = NLMSG_NEXT(m, got)) {
			struct nlattr *tb[NETNSA_MAX + 1];

			if (m->nlmsg_seq != seq)
				continue;
			if (m->nlmsg_type != RTM_NEWNSID ||
			    nlmsg_parse(m, sizeof(struct rtgenmsg), tb, NETNSA_MAX, NULL) < 0 ||
			    !tb[NETNSA_NSID] || nla_len(tb[NETNSA_NSID]) != 4)
				return -1;
			return (int32_t)nla_get_u32(tb[NETNSA_NSID]);
		}
	}
}

/* Ours and right: the parameters, and born in the agent's namespace (its
 * link-netns), where its UDP socket then listens on the underlay. */
static bool vxlan_ok(struct nlx *x, struct nsb *s, struct rtnl_link *l,
		     const struct ovg_overlay_dev_cfg *cfg)
{
	uint32_t id = 0, port = 0;
	struct nl_addr *group = NULL;
	int32_t link_nsid;
	bool ok;

	if (!rtnl_link_is_vxlan(l))
		return false;
	if (rtnl_link_get_link_netnsid(l, &link_nsid) < 0 || link_nsid < 0)
		return false;
	if (s->home_nsid < 0)
		s->home_nsid = nsid_of(x, s, x->home_fd);   /* fixed while both live */
	if (link_nsid != s->home_nsid)
		return false;
	if (rtnl_link_vxlan_get_id(l, &id) < 0 || id != cfg->vni)
		return false;
	if (rtnl_link_vxlan_get_port(l, &port) < 0 || port != cfg->port)
		return false;
	if (rtnl_link_vxlan_get_learning(l) != 0 || rtnl_link_vxlan_get_proxy(l) != 1)
		return false;
	ok = rtnl_link_vxlan_get_group(l, &group) < 0 || !group || nl_addr_iszero(group);
	nl_addr_put(group);
	return ok;
}

struct stale_vx {
	struct nl_sock *sk;
	char prefix[16];
	int deleted;
};

static void stale_vx_cb(struct nl_object *o, void *arg)
{
	struct rtnl_link *l = (struct rtnl_link *)o;
	struct stale_vx *v = arg;
	const char *name = rtnl_link_get_name(l);

	if (name && rtnl_link_is_vxlan(l) && strncmp(name, v->prefix, strlen(v->prefix)) == 0 &&
	    rtnl_link_delete(v->sk, l) == 0)
		v->deleted++;
}

/* vxlan0 is born in the agent's namespace under a unique temporary name. */
static int vxlan_create_tmp(struct nlx *x, const struct ovg_overlay_dev_cfg *cfg, const char *tmp)
{
	struct ifinfomsg ifi = { .ifi_family = AF_UNSPEC };
	struct nl_msg *msg = nlmsg_alloc_simple(RTM_NEWLINK, NLM_F_CREATE | NLM_F_EXCL);
	struct nlattr *info, *data;
	int e = -ENOMEM;

	if (!msg)
		return -ENOMEM;
	if (nlmsg_append(msg, &ifi, sizeof(ifi), NLMSG_ALIGNTO) < 0 ||
	    nla_put_string(msg, IFLA_IFNAME, tmp) < 0 || nla_put_u32(msg, IFLA_MTU, cfg->mtu) < 0)
		goto out;
	if (!(info = nla_nest_start(msg, IFLA_LINKINFO)) ||
	    nla_put_string(msg, IFLA_INFO_KIND, "vxlan") < 0 ||
	    !(data = nla_nest_start(msg, IFLA_INFO_DATA)) ||
	    nla_put_u32(msg, IFLA_VXLAN_ID, cfg->vni) < 0 ||
	    nla_put_u16(msg, IFLA_VXLAN_PORT, htons(cfg->port)) < 0 ||
	    nla_put_u8(msg, IFLA_VXLAN_LEARNING, 0) < 0 ||
	    nla_put_u8(msg, IFLA_VXLAN_PROXY, 1) < 0)
		goto out;
	nla_nest_end(msg, data);
	nla_nest_end(msg, info);
	e = nle_errno(nl_send_sync(x->home, msg));  /* frees msg */
	return e;
out:
	nlmsg_free(msg);
	return e;
}

static int vxlan_create(struct nlx *x, struct nsb *s, const struct ovg_overlay_dev_cfg *cfg,
			char *err, size_t errlen)
{
	char tmp[IFNAMSIZ];
	struct rtnl_link *orig = NULL, *chg = NULL;
	int e;

	snprintf(tmp, sizeof(tmp), "vx-%06x-%05x", cfg->vni & 0xffffff, ++x->tmp_seq & 0xfffff);
	e = vxlan_create_tmp(x, cfg, tmp);
	if (e == -EEXIST) {
		/* a temporary device left by a crash between create and move
		 * holds the VNI: remove ours of that VNI and try once more */
		struct nl_cache *c = NULL;
		struct stale_vx v = { .sk = x->home };
		snprintf(v.prefix, sizeof(v.prefix), "vx-%06x-", cfg->vni & 0xffffff);
		if (rtnl_link_alloc_cache(x->home, AF_UNSPEC, &c) == 0) {
			nl_cache_foreach(c, stale_vx_cb, &v);
			nl_cache_free(c);
		}
		if (v.deleted)
			e = vxlan_create_tmp(x, cfg, tmp);
	}
	if (e < 0) {
		ovg_overlay_errf(err, errlen, "creating vxlan VNI %u port %u: %s%s", cfg->vni, cfg->port,
				 strerror(-e),
				 e == -EEXIST ? " (VNI in use by another vxlan device)" : "");
		return e;
	}
	int nsfd = -1;
	e = nle_errno(rtnl_link_get_kernel(x->home, 0, tmp, &orig));
	if (e == 0 && !(chg = rtnl_link_alloc()))
		e = -ENOMEM;
	if (e == 0)
		e = netns_open(s->path, &nsfd, err, errlen);
	if (e == 0) {
		rtnl_link_set_ns_fd(chg, nsfd);
		rtnl_link_set_name(chg, "vxlan0");
		e = nle_errno(rtnl_link_change(x->home, orig, chg, 0));
	}
	if (e < 0) {
		struct rtnl_link *d = rtnl_link_alloc();
		if (d) {
			rtnl_link_set_name(d, tmp);
			rtnl_link_delete(x->home, d);
			rtnl_link_put(d);
		}
		ovg_overlay_errf(err, errlen, "%s: moving %s in as vxlan0: %s", s->path, tmp,
				 strerror(-e));
	}
	if (nsfd >= 0)
		close(nsfd);
	if (orig)
		rtnl_link_put(orig);
	if (chg)
		rtnl_link_put(chg);
	return e;
}

static int n_ensure_devices(void *ctx, void *sbp, const struct ovg_overlay_dev_cfg *cfg,
			    uint32_t *changes, int *vxlan_ifindex, char *err, size_t errlen)
{
	struct nlx *x = ctx;
	struct nsb *s = sbp;
	struct rtnl_link *vx;
	int e;

	s->mtu = cfg->mtu;
	e = refill_links(s);
	if (e < 0) {
		ovg_overlay_errf(err, errlen, "%s: reading links: %s", s->path, strerror(-e));
		return e;
	}
	e = bridge_ensure(s, cfg, changes, err, errlen);
	if (e < 0)
		return e;

	vx = rtnl_link_get_by_name(s->links, "vxlan0");
	if (vx && !vxlan_ok(x, s, vx, cfg)) {
		e = nle_errno(rtnl_link_delete(s->req, vx));
		rtnl_link_put(vx);
		vx = NULL;
		if (e < 0) {
			ovg_overlay_errf(err, errlen, "%s: deleting wrong vxlan0: %s", s->path,
					 strerror(-e));
			return e;
		}
		(*changes)++;
	}
	if (!vx) {
		e = vxlan_create(x, s, cfg, err, errlen);
		if (e < 0)
			return e;
		(*changes)++;
		e = refill_links(s);
		if (e == 0 && !(vx = rtnl_link_get_by_name(s->links, "vxlan0")))
			e = -ENODEV;
		if (e < 0) {
			ovg_overlay_errf(err, errlen, "%s: vxlan0 vanished: %s", s->path, strerror(-e));
			return e;
		}
	}
	e = link_fix(s->req, vx, cfg->mtu, s->br_ifindex, changes);
	s->vx_ifindex = rtnl_link_get_ifindex(vx);
	rtnl_link_put(vx);
	if (e < 0) {
		ovg_overlay_errf(err, errlen, "%s: vxlan0 on br0, up: %s", s->path, strerror(-e));
		return e;
	}
	if (*changes)
		refill_links(s);   /* veth_list must see the current state */
	*vxlan_ifindex = s->vx_ifindex;
	return 0;
}

/* ---- veths ------------------------------------------------------------------------- */

struct veth_iter {
	struct nsb *s;
	ovg_overlay_veth_cb cb;
	void *arg;
};

static void veth_iter_cb(struct nl_object *o, void *arg)
{
	struct rtnl_link *l = (struct rtnl_link *)o;
	struct veth_iter *it = arg;
	struct ovg_overlay_veth_info v = { 0 };
	const char *name = rtnl_link_get_name(l);

	if (!is_kind(l, "veth") || !name)
		return;
	snprintf(v.name, sizeof(v.name), "%s", name);
	v.up = (rtnl_link_get_flags(l) & IFF_UP) != 0;
	v.on_bridge = it->s->br_ifindex > 0 && rtnl_link_get_master(l) == it->s->br_ifindex;
	v.mtu = rtnl_link_get_mtu(l);
	it->cb(it->arg, &v);
}

static int n_veth_list(void *ctx, void *sbp, ovg_overlay_veth_cb cb, void *arg, char *err,
		       size_t errlen)
{
	struct nsb *s = sbp;
	struct veth_iter it = { .s = s, .cb = cb, .arg = arg };

	(void)ctx;
	if (!s->links) {
		ovg_overlay_errf(err, errlen, "%s: links not read", s->path);
		return -EINVAL;
	}
	nl_cache_foreach(s->links, veth_iter_cb, &it);
	return 0;
}

/* A request socket inside a container's namespace. */
struct cns {
	int fd;
	struct nl_sock *sk;
};

static void cns_close(struct cns *c)
{
	if (c->sk)
		nl_socket_free(c->sk);
	if (c->fd >= 0)
		close(c->fd);
	c->sk = NULL;
	c->fd = -1;
}

static int cns_open(const char *path, struct cns *c, char *err, size_t errlen)
{
	int e;

	c->fd = -1;
	c->sk = NULL;
	e = netns_open(path, &c->fd, err, errlen);
	if (e < 0)
		return e;
	e = sock_in_ns(c->fd, &c->sk, NULL);
	if (e < 0) {
		ovg_overlay_errf(err, errlen, "namespace %s: netlink socket: %s", path, strerror(-e));
		cns_close(c);
	}
	return e;
}

static int free_eth(struct nl_sock *sk, char out[IFNAMSIZ])
{
	struct nl_cache *c = NULL;
	int e = nle_errno(rtnl_link_alloc_cache(sk, AF_UNSPEC, &c));

	if (e < 0)
		return e;
	e = -ENOSPC;
	for (unsigned n = 0; n < ETH_MAX_TRY; n++) {
		struct rtnl_link *l;
		snprintf(out, IFNAMSIZ, "eth%u", n);
		l = rtnl_link_get_by_name(c, out);
		if (!l) {
			e = 0;
			break;
		}
		rtnl_link_put(l);
	}
	nl_cache_free(c);
	return e;
}

static int veth_create(struct nsb *s, const struct ovg_overlay_veth_cfg *cfg, struct cns *c,
		       const char *ifname)
{
	struct rtnl_link *l = rtnl_link_veth_alloc();
	struct rtnl_link *peer;
	struct nl_addr *mac;
	int e;

	if (!l)
		return -ENOMEM;
	peer = rtnl_link_veth_get_peer(l);
	mac = nl_addr_build(AF_LLC, cfg->mac, 6);
	if (!peer || !mac) {
		e = -ENOMEM;
		goto out;
	}
	rtnl_link_set_name(l, cfg->host);
	rtnl_link_set_mtu(l, cfg->mtu);
	rtnl_link_set_master(l, s->br_ifindex);
	rtnl_link_set_flags(l, IFF_UP);
	rtnl_link_set_name(peer, ifname);
	rtnl_link_set_mtu(peer, cfg->mtu);
	rtnl_link_set_addr(peer, mac);
	rtnl_link_set_ns_fd(peer, c->fd);
	/* not the peer's IFF_UP here: the kernel opens it before the pair
	 * is linked and answers ENOTCONN; it goes up from inside below */
	e = nle_errno(rtnl_link_add(s->req, l, NLM_F_CREATE | NLM_F_EXCL));
out:
	nl_addr_put(mac);
	if (peer)
		rtnl_link_put(peer);
	rtnl_link_veth_release(l);
	return e;
}

static int veth_del_name(struct nl_sock *sk, const char *name)
{
	struct rtnl_link *d = rtnl_link_alloc();
	int e;

	if (!d)
		return -ENOMEM;
	rtnl_link_set_name(d, name);
	e = nle_errno(rtnl_link_delete(sk, d));
	rtnl_link_put(d);
	return e == -ENODEV || e == -ENOENT ? 0 : e;
}

static int n_veth_add(void *ctx, void *sbp, const struct ovg_overlay_veth_cfg *cfg,
		      char ifname[IFNAMSIZ], char *err, size_t errlen)
{
	struct nsb *s = sbp;
	struct cns c;
	struct rtnl_link *peer = NULL;
	uint32_t changes = 0;
	int e;

	(void)ctx;
	if (s->br_ifindex <= 0) {
		ovg_overlay_errf(err, errlen, "%s: no br0", s->path);
		return -ENODEV;
	}
	e = cns_open(cfg->netns, &c, err, errlen);
	if (e < 0)
		return e;
	/* a half-made host end from an interrupted attach */
	veth_del_name(s->req, cfg->host);
	for (int tries = 0; tries < 3; tries++) {
		e = free_eth(c.sk, ifname);
		if (e == 0)
			e = veth_create(s, cfg, &c, ifname);
		if (e != -EEXIST)
			break;   /* EEXIST: ethN taken meanwhile, look again */
	}
	if (e < 0) {
		ovg_overlay_errf(err, errlen, "%s: veth %s -> %s %s: %s", s->path, cfg->host,
				 cfg->netns, ifname, strerror(-e));
		goto out;
	}
	e = nle_errno(rtnl_link_get_kernel(c.sk, 0, ifname, &peer));
	if (e == 0)
		e = addr_ensure(c.sk, rtnl_link_get_ifindex(peer), cfg->ip, cfg->prefix, &changes);
	if (e == 0)
		e = link_fix(c.sk, peer, 0, 0, &changes);
	if (e < 0) {
		char a[INET_ADDRSTRLEN];
		inet_ntop(AF_INET, &cfg->ip, a, sizeof(a));
		ovg_overlay_errf(err, errlen, "namespace %s: %s address %s/%u: %s", cfg->netns, ifname,
				 a, cfg->prefix, strerror(-e));
		veth_del_name(s->req, cfg->host);
	}
out:
	if (peer)
		rtnl_link_put(peer);
	cns_close(&c);
	return e;
}

static int n_veth_check(void *ctx, void *sbp, const struct ovg_overlay_veth_cfg *cfg,
			char ifname[IFNAMSIZ], uint32_t *changes, char *err, size_t errlen)
{
	struct nsb *s = sbp;
	struct rtnl_link *host = NULL, *peer = NULL;
	struct nl_addr *mac = NULL;
	struct cns c = { .fd = -1 };
	int e;

	(void)ctx;
	host = s->links ? rtnl_link_get_by_name(s->links, cfg->host) : NULL;
	if (!host || !is_kind(host, "veth")) {
		ovg_overlay_errf(err, errlen, "%s: %s is not a veth", s->path, cfg->host);
		e = -ESTALE;
		goto out;
	}
	e = cns_open(cfg->netns, &c, err, errlen);
	if (e < 0)
		goto out;
	/* the peer must be in this namespace and point back at our end */
	if (rtnl_link_get_kernel(c.sk, rtnl_link_get_link(host), NULL, &peer) < 0 ||
	    !is_kind(peer, "veth") || rtnl_link_get_link(peer) != rtnl_link_get_ifindex(host)) {
		ovg_overlay_errf(err, errlen, "%s: peer of %s is not in %s", s->path, cfg->host,
				 cfg->netns);
		e = -ESTALE;
		goto out;
	}
	e = link_fix(s->req, host, cfg->mtu, s->br_ifindex, changes);
	if (e < 0) {
		ovg_overlay_errf(err, errlen, "%s: fixing %s: %s", s->path, cfg->host, strerror(-e));
		goto out;
	}
	struct nl_addr *have = rtnl_link_get_addr(peer);
	if (!have || nl_addr_get_len(have) != 6 || memcmp(nl_addr_get_binary_addr(have), cfg->mac, 6)) {
		struct rtnl_link *chg = rtnl_link_alloc();
		mac = nl_addr_build(AF_LLC, cfg->mac, 6);
		e = -ENOMEM;
		if (chg && mac) {
			rtnl_link_set_addr(chg, mac);
			e = nle_errno(rtnl_link_change(c.sk, peer, chg, 0));
		}
		if (chg)
			rtnl_link_put(chg);
		if (e == 0)
			(*changes)++;
	}
	if (e == 0)
		e = link_fix(c.sk, peer, cfg->mtu, 0, changes);
	if (e == 0)
		e = addr_ensure(c.sk, rtnl_link_get_ifindex(peer), cfg->ip, cfg->prefix, changes);
	if (e < 0) {
		ovg_overlay_errf(err, errlen, "namespace %s: fixing %s: %s", cfg->netns,
				 rtnl_link_get_name(peer), strerror(-e));
		goto out;
	}
	snprintf(ifname, IFNAMSIZ, "%s", rtnl_link_get_name(peer));
out:
	nl_addr_put(mac);
	if (peer)
		rtnl_link_put(peer);
	if (host)
		rtnl_link_put(host);
	cns_close(&c);
	return e;
}

static int n_veth_del(void *ctx, void *sbp, const char *host, char *err, size_t errlen)
{
	struct nsb *s = sbp;
	int e;

	(void)ctx;
	e = veth_del_name(s->req, host);
	if (e < 0)
		ovg_overlay_errf(err, errlen, "%s: deleting %s: %s", s->path, host, strerror(-e));
	return e;
}

const struct ovg_overlay_ops ovg_overlay_nl_ops = {
	.sandbox_list = n_sandbox_list,
	.sandbox_exists = n_sandbox_exists,
	.sandbox_open = n_sandbox_open,
	.sandbox_close = n_sandbox_close,
	.sandbox_remove = n_sandbox_remove,
	.ensure_devices = n_ensure_devices,
	.veth_list = n_veth_list,
	.veth_add = n_veth_add,
	.veth_check = n_veth_check,
	.veth_del = n_veth_del,
	.dump = n_dump,
	.events = n_events,
	.watch_fd = n_watch_fd,
	.apply = n_apply,
};
