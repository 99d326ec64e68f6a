#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <netdb.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "daemon/util.h"

static int parse_port(const char *s, uint16_t *port)
{
	char *end;
	long v;

	errno = 0;
	v = strtol(s, &end, 10);
	if (errno || *s == '\0' || *end != '\0' || v < 1 || v > 65535)
		return -EINVAL;
	*port = (uint16_t)v;
	return 0;
}

int ovg_addr_parse(const char *s, uint16_t default_port, struct ovg_addr *out, char *err, size_t errlen)
{
	char host[256];
	const char *port_s = NULL;
	struct in_addr a4;
	struct in6_addr a6;
	size_t n;

	memset(out, 0, sizeof(*out));
	out->port = default_port;
	if (!s || !*s || strlen(s) >= sizeof(host)) {
		snprintf(err, errlen, "invalid address '%s'", s ? s : "");
		return -EINVAL;
	}
	if (s[0] == '[') {
		const char *close = strchr(s, ']');
		if (!close) {
			snprintf(err, errlen, "invalid address '%s': missing ']'", s);
			return -EINVAL;
		}
		n = (size_t)(close - s - 1);
		memcpy(host, s + 1, n);
		host[n] = '\0';
		if (close[1] == ':')
			port_s = close + 2;
		else if (close[1] != '\0') {
			snprintf(err, errlen, "invalid address '%s'", s);
			return -EINVAL;
		}
	} else {
		const char *colon = strchr(s, ':');
		if (colon && strchr(colon + 1, ':')) {
			/* bare IPv6 without port */
			snprintf(host, sizeof(host), "%s", s);
		} else if (colon) {
			n = (size_t)(colon - s);
			memcpy(host, s, n);
			host[n] = '\0';
			port_s = colon + 1;
		} else {
			snprintf(host, sizeof(host), "%s", s);
		}
	}
	if (port_s && parse_port(port_s, &out->port) < 0) {
		snprintf(err, errlen, "invalid port in '%s'", s);
		return -EINVAL;
	}
	if (inet_pton(AF_INET, host, &a4) == 1) {
		out->len = 4;
		memcpy(out->ip, &a4, 4);
		return 0;
	}
	if (inet_pton(AF_INET6, host, &a6) == 1) {
		out->len = 16;
		memcpy(out->ip, &a6, 16);
		return 0;
	}
	{
		struct addrinfo hints = { .ai_socktype = SOCK_DGRAM }, *res = NULL, *r;
		int rc = getaddrinfo(host, NULL, &hints, &res);
		if (rc != 0 || !res) {
			snprintf(err, errlen, "cannot resolve '%s': %s", host, gai_strerror(rc));
			return -EINVAL;
		}
		for (r = res; r; r = r->ai_next)
			if (r->ai_family == AF_INET)
				break;
		if (!r)
			r = res;
		uint16_t port = out->port;
		ovg_addr_from_sockaddr(r->ai_addr, out);
		out->port = port;
		freeaddrinfo(res);
	}
	return 0;
}

void ovg_addr_format_ip(const struct ovg_addr *a, char *buf, size_t len)
{
	if (a->len == 4)
		inet_ntop(AF_INET, a->ip, buf, (socklen_t)len);
	else if (a->len == 16)
		inet_ntop(AF_INET6, a->ip, buf, (socklen_t)len);
	else
		snprintf(buf, len, "?");
}

void ovg_addr_format(const struct ovg_addr *a, char *buf, size_t len)
{
	char ip[INET6_ADDRSTRLEN];

	ovg_addr_format_ip(a, ip, sizeof(ip));
	if (a->len == 16)
		snprintf(buf, len, "[%s]:%u", ip, a->port);
	else
		snprintf(buf, len, "%s:%u", ip, a->port);
}

socklen_t ovg_addr_to_sockaddr(const struct ovg_addr *a, struct sockaddr_storage *ss)
{
	memset(ss, 0, sizeof(*ss));
	if (a->len == 16) {
		struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)ss;
		s6->sin6_family = AF_INET6;
		s6->sin6_port = htons(a->port);
		memcpy(&s6->sin6_addr, a->ip, 16);
		return sizeof(*s6);
	}
	struct sockaddr_in *s4 = (struct sockaddr_in *)ss;
	s4->sin_family = AF_INET;
	s4->sin_port = htons(a->port);
	memcpy(&s4->sin_addr, a->ip, 4);
	return sizeof(*s4);
}

void ovg_addr_from_sockaddr(const struct sockaddr *sa, struct ovg_addr *out)
{
	memset(out, 0, sizeof(*out));
	if (sa->sa_family == AF_INET) {
		const struct sockaddr_in *s4 = (const struct sockaddr_in *)sa;
		out->len = 4;
		memcpy(out->ip, &s4->sin_addr, 4);
		out->port = ntohs(s4->sin_port);
	} else if (sa->sa_family == AF_INET6) {
		const struct sockaddr_in6 *s6 = (const struct sockaddr_in6 *)sa;
		static const uint8_t mapped[12] = { 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff };
		if (!memcmp(&s6->sin6_addr, mapped, 12)) {
			out->len = 4;
			memcpy(out->ip, (const uint8_t *)&s6->sin6_addr + 12, 4);
		} else {
			out->len = 16;
			memcpy(out->ip, &s6->sin6_addr, 16);
		}
		out->port = ntohs(s6->sin6_port);
	}
}

bool ovg_addr_eq(const struct ovg_addr *a, const struct ovg_addr *b)
{
	return a->len == b->len && a->port == b->port && !memcmp(a->ip, b->ip, a->len);
}

bool ovg_addr_is_any(const struct ovg_addr *a)
{
	static const uint8_t zero[16];
	return a->len == 0 || !memcmp(a->ip, zero, a->len);
}

int ovg_sock_set_nonblock(int fd)
{
	int fl = fcntl(fd, F_GETFL);
	if (fl < 0 || fcntl(fd, F_SETFL, fl | O_NONBLOCK) < 0)
		return -errno;
	return 0;
}

static int sock_open(const struct ovg_addr *a, int type, char *err, size_t errlen)
{
	int fd = socket(a->len == 16 ? AF_INET6 : AF_INET, type | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0)
		snprintf(err, errlen, "socket: %s", strerror(errno));
	return fd;
}

int ovg_sock_udp_bind(const struct ovg_addr *a, char *err, size_t errlen)
{
	struct sockaddr_storage ss;
	socklen_t sl = ovg_addr_to_sockaddr(a, &ss);
	int fd = sock_open(a, SOCK_DGRAM, err, errlen), one = 1, rcv = 4 << 20;
	char b[64];

	if (fd < 0)
		return -1;
	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &rcv, sizeof(rcv));
	if (bind(fd, (struct sockaddr *)&ss, sl) < 0) {
		ovg_addr_format(a, b, sizeof(b));
		snprintf(err, errlen, "cannot bind UDP %s: %s", b, strerror(errno));
		close(fd);
		return -1;
	}
	return fd;
}

int ovg_sock_tcp_listen(const struct ovg_addr *a, char *err, size_t errlen)
{
	struct sockaddr_storage ss;
	socklen_t sl = ovg_addr_to_sockaddr(a, &ss);
	int fd = sock_open(a, SOCK_STREAM, err, errlen), one = 1;
	char b[64];

	if (fd < 0)
		return -1;
	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (bind(fd, (struct sockaddr *)&ss, sl) < 0 || listen(fd, 128) < 0) {
		ovg_addr_format(a, b, sizeof(b));
		snprintf(err, errlen, "cannot listen on TCP %s: %s", b, strerror(errno));
		close(fd);
		return -1;
	}
	return fd;
}

int ovg_sock_tcp_connect(const struct ovg_addr *a, char *err, size_t errlen)
{
	struct sockaddr_storage ss;
	socklen_t sl = ovg_addr_to_sockaddr(a, &ss);
	int fd = sock_open(a, SOCK_STREAM, err, errlen), one = 1;
	char b[64];

	if (fd < 0)
		return -1;
	setsockopt(fd, IPPROTO_TCP, 1 /* TCP_NODELAY */, &one, sizeof(one));
	if (connect(fd, (struct sockaddr *)&ss, sl) < 0 && errno != EINPROGRESS) {
		ovg_addr_format(a, b, sizeof(b));
		snprintf(err, errlen, "cannot connect to %s: %s", b, strerror(errno));
		close(fd);
		return -1;
	}
	return fd;
}

int ovg_mkdir_p(const char *path, mode_t mode)
{
	char tmp[PATH_MAX];
	size_t n = strlen(path);

	if (n == 0 || n >= sizeof(tmp))
		return -ENAMETOOLONG;
	memcpy(tmp, path, n + 1);
	for (char *p = tmp + 1; *p; p++) {
		if (*p != '/')
			continue;
		*p = '\0';
		if (mkdir(tmp, mode) < 0 && errno != EEXIST)
			return -errno;
		*p = '/';
	}
	if (mkdir(tmp, mode) < 0 && errno != EEXIST)
		return -errno;
	return 0;
}

int ovg_file_write_atomic(const char *path, const void *buf, size_t len, mode_t mode)
{
	char tmp[PATH_MAX], dir[PATH_MAX];
	const uint8_t *p = buf;
	int fd, dfd, rc = 0;
	char *slash;

	if (snprintf(tmp, sizeof(tmp), "%s.tmp", path) >= (int)sizeof(tmp))
		return -ENAMETOOLONG;
	fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, mode);
	if (fd < 0)
		return -errno;
	while (len > 0) {
		ssize_t w = write(fd, p, len);
		if (w < 0) {
			if (errno == EINTR)
				continue;
			rc = -errno;
			goto out_close;
		}
		p += w;
		len -= (size_t)w;
	}
	if (fsync(fd) < 0) {
		rc = -errno;
		goto out_close;
	}
	if (close(fd) < 0) {
		rc = -errno;
		goto out_unlink;
	}
	if (rename(tmp, path) < 0) {
		rc = -errno;
		goto out_unlink;
	}
	snprintf(dir, sizeof(dir), "%s", path);
	slash = strrchr(dir, '/');
	if (slash) {
		if (slash == dir)
			slash[1] = '\0';
		else
			*slash = '\0';
	} else {
		snprintf(dir, sizeof(dir), ".");
	}
	dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (dfd >= 0) {
		fsync(dfd);
		close(dfd);
	}
	return 0;
out_close:
	close(fd);
out_unlink:
	unlink(tmp);
	return rc;
}

int ovg_file_read(const char *path, size_t max, uint8_t **buf, size_t *len)
{
	struct stat st;
	uint8_t *b = NULL;
	size_t got = 0;
	int fd, rc = 0;

	*buf = NULL;
	*len = 0;
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	if (fstat(fd, &st) < 0) {
		rc = -errno;
		goto out;
	}
	if ((size_t)st.st_size > max) {
		rc = -EFBIG;
		goto out;
	}
	b = malloc((size_t)st.st_size + 1);
	if (!b) {
		rc = -ENOMEM;
		goto out;
	}
	while (got < (size_t)st.st_size) {
		ssize_t r = read(fd, b + got, (size_t)st.st_size - got);
		if (r < 0) {
			if (errno == EINTR)
				continue;
			rc = -errno;
			goto out;
		}
		if (r == 0)
			break;
		got += (size_t)r;
	}
	b[got] = '\0';
	*buf = b;
	*len = got;
	b = NULL;
out:
	free(b);
	close(fd);
	return rc;
}

uint64_t ovg_now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

int64_t ovg_clock_offset_ms(void)
{
	struct timespec ts;
	int64_t mono = (int64_t)ovg_now_ms();

	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000 - mono;
}
