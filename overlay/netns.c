/*
 * Network namespaces as files: create one bind-mounted at a path (what
 * `ip netns add` does), remove it, and run code inside one. The calling
 * thread never changes namespace: whatever must happen inside runs in a
 * short-lived thread that enters it (namespaces are per thread), so a failure
 * can never leave the agent stuck in the wrong namespace. Sockets opened in
 * there stay bound to it after the thread is gone.
 */
#include <fcntl.h>
#include <pthread.h>
#include <sched.h>
#include <stdio.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <unistd.h>

#include "ovg/overlay.h"

struct run_arg {
	int nsfd;
	int (*fn)(void *arg);
	void *arg;
	int ret;
};

static void *run_thread(void *p)
{
	struct run_arg *a = p;

	if (setns(a->nsfd, CLONE_NEWNET) < 0) {
		a->ret = -errno;
		return NULL;
	}
	a->ret = a->fn(a->arg);
	return NULL;
}

static int in_thread(void *(*body)(void *), void *arg)
{
	pthread_t t;
	int e;

	e = pthread_create(&t, NULL, body, arg);
	if (e != 0)
		return -e;
	e = pthread_join(t, NULL);
	return e ? -e : 0;
}

int ovg_overlay_netns_run(int nsfd, int (*fn)(void *arg), void *arg)
{
	struct run_arg a = { .nsfd = nsfd, .fn = fn, .arg = arg, .ret = 0 };
	int e = in_thread(run_thread, &a);

	return e < 0 ? e : a.ret;
}

struct create_arg {
	const char *path;
	int ret;
};

static void *create_thread(void *p)
{
	struct create_arg *a = p;
	char self[64];

	if (unshare(CLONE_NEWNET) < 0) {
		a->ret = -errno;
		return NULL;
	}
	snprintf(self, sizeof(self), "/proc/self/task/%d/ns/net", (int)gettid());
	if (mount(self, a->path, "none", MS_BIND, NULL) < 0) {
		a->ret = -errno;
		return NULL;
	}
	a->ret = 0;
	return NULL;
}

int ovg_overlay_netns_create(const char *path, char *err, size_t errlen)
{
	struct create_arg a = { .path = path, .ret = 0 };
	int fd, e;

	fd = open(path, O_RDONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0);
	if (fd < 0) {
		e = -errno;
		ovg_overlay_errf(err, errlen, "cannot create %s: %s", path, strerror(-e));
		return e;
	}
	close(fd);
	e = in_thread(create_thread, &a);
	if (e == 0)
		e = a.ret;
	if (e < 0) {
		ovg_overlay_errf(err, errlen, "cannot create network namespace %s: %s", path,
				 strerror(-e));
		unlink(path);
		return e;
	}
	return 0;
}

int ovg_overlay_netns_remove(const char *path, char *err, size_t errlen)
{
	if (umount2(path, MNT_DETACH) < 0 && errno != EINVAL && errno != ENOENT) {
		int e = -errno;
		ovg_overlay_errf(err, errlen, "cannot unmount %s: %s", path, strerror(-e));
		return e;
	}
	if (unlink(path) < 0 && errno != ENOENT) {
		int e = -errno;
		ovg_overlay_errf(err, errlen, "cannot remove %s: %s", path, strerror(-e));
		return e;
	}
	return 0;
}
