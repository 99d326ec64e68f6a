/* The CLI's side of the control socket. */
#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "daemon/client.h"
#include "daemon/util.h"
#include "ovg/ctl.h"

static int write_all(int fd, const uint8_t *p, size_t len)
{
	while (len > 0) {
		ssize_t w = write(fd, p, len);
		if (w < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		p += w;
		len -= (size_t)w;
	}
	return 0;
}

int ovg_client_run(const char *socket_path, int argc, char **argv, int timeout_s)
{
	struct sockaddr_un sun = { .sun_family = AF_UNIX };
	size_t cap = 4096, len = 0, flen = 0, rcap = 65536;
	uint8_t *req = NULL, *resp = NULL;
	struct ovg_ctl_response r;
	uint64_t deadline = ovg_now_ms() + (uint64_t)timeout_s * 1000;
	int fd = -1, rc, status = 1;

	if (strlen(socket_path) >= sizeof(sun.sun_path)) {
		fprintf(stderr, "ovgossipd: socket path too long: %s\n", socket_path);
		return 1;
	}
	memcpy(sun.sun_path, socket_path, strlen(socket_path) + 1);
	for (int i = 0; i < argc; i++)
		cap += strlen(argv[i]) + 8;
	req = malloc(cap);
	resp = malloc(rcap);
	if (!req || !resp) {
		fprintf(stderr, "ovgossipd: out of memory\n");
		goto out;
	}
	rc = ovg_ctl_encode_request(argc, (const char *const *)argv, req, cap, &len);
	if (rc < 0) {
		fprintf(stderr, "ovgossipd: arguments too long or too many: %s\n", strerror(-rc));
		goto out;
	}
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0 || connect(fd, (struct sockaddr *)&sun, sizeof(sun)) < 0) {
		fprintf(stderr, "ovgossipd: cannot reach the agent at %s: %s (is 'ovgossipd agent' running? --socket selects another)\n",
			socket_path, strerror(errno));
		goto out;
	}
	if ((rc = write_all(fd, req, len)) < 0) {
		fprintf(stderr, "ovgossipd: sending to the agent: %s\n", strerror(-rc));
		goto out;
	}
	len = 0;
	for (;;) {
		struct pollfd p = { .fd = fd, .events = POLLIN };
		uint64_t now = ovg_now_ms();
		ssize_t n;

		rc = ovg_ctl_frame_len(resp, len, &flen);
		if (rc == 0)
			break;
		if (rc != -EAGAIN) {
			fprintf(stderr, "ovgossipd: malformed reply from the agent\n");
			goto out;
		}
		if (flen > rcap) {
			uint8_t *nr = realloc(resp, flen);
			if (!nr) {
				fprintf(stderr, "ovgossipd: out of memory\n");
				goto out;
			}
			resp = nr;
			rcap = flen;
		}
		if (now >= deadline || poll(&p, 1, (int)(deadline - now)) == 0) {
			fprintf(stderr, "ovgossipd: the agent did not answer within %d s\n", timeout_s);
			goto out;
		}
		n = read(fd, resp + len, rcap - len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			fprintf(stderr, "ovgossipd: the agent closed the connection without an answer\n");
			goto out;
		}
		len += (size_t)n;
	}
	if (ovg_ctl_decode_response(resp, flen, &r) < 0) {
		fprintf(stderr, "ovgossipd: malformed reply from the agent\n");
		goto out;
	}
	fwrite(r.out.p, 1, r.out.len, stdout);
	fwrite(r.err.p, 1, r.err.len, stderr);
	fflush(stdout);
	status = r.status;
out:
	if (fd >= 0)
		close(fd);
	free(req);
	free(resp);
	return status;
}
