/* Daemon helpers: addresses, sockets, crash-safe files. Errors go into the
 * caller's buffer (like Redis' anet), never to the log. */
#ifndef OVG_DAEMON_UTIL_H
#define OVG_DAEMON_UTIL_H

#include <netinet/in.h>
#include <sys/socket.h>
#include <stddef.h>
#include <stdint.h>

#include "ovg/common.h"

#define OVG_ERRBUF 256
#define OVG_DEFAULT_PORT 7946

/* "ADDR", "ADDR:PORT", "[V6]", "[V6]:PORT", "host:port" (resolved, first
 * IPv4 result preferred). 0 or -EINVAL with err set. */
int ovg_addr_parse(const char *s, uint16_t default_port, struct ovg_addr *out, char *err, size_t errlen);
/* "IP:PORT" or "[IP]:PORT" */
void ovg_addr_format(const struct ovg_addr *a, char *buf, size_t len);
void ovg_addr_format_ip(const struct ovg_addr *a, char *buf, size_t len);
socklen_t ovg_addr_to_sockaddr(const struct ovg_addr *a, struct sockaddr_storage *ss);
void ovg_addr_from_sockaddr(const struct sockaddr *sa, struct ovg_addr *out);
bool ovg_addr_eq(const struct ovg_addr *a, const struct ovg_addr *b);
bool ovg_addr_is_any(const struct ovg_addr *a);

int ovg_sock_udp_bind(const struct ovg_addr *a, char *err, size_t errlen);
int ovg_sock_tcp_listen(const struct ovg_addr *a, char *err, size_t errlen);
int ovg_sock_tcp_connect(const struct ovg_addr *a, char *err, size_t errlen); /* nonblocking */
int ovg_sock_set_nonblock(int fd);

/* Write whole file crash-safely: tmp + fsync + rename + fsync(dir). 0/-errno. */
int ovg_file_write_atomic(const char *path, const void *buf, size_t len, mode_t mode);
/* Read a whole file of at most max bytes; *buf malloc'd, caller frees. 0/-errno
 * (-ENOENT if missing, -EFBIG if larger than max). */
int ovg_file_read(const char *path, size_t max, uint8_t **buf, size_t *len);
/* mkdir -p with mode. 0/-errno */
int ovg_mkdir_p(const char *path, mode_t mode);

uint64_t ovg_now_ms(void);   /* CLOCK_MONOTONIC */
/* CLOCK_REALTIME - CLOCK_MONOTONIC in ms: swim's paired probe rounds follow
 * the wall clock, so they line up across (NTP-synced) hosts. */
int64_t ovg_clock_offset_ms(void);

#endif
