/*
 * overlay: the kernel side. One sandbox network namespace per overlay network
 * with local endpoints, holding br0 (gateway address) and vxlan0, veth pairs
 * into the containers, and a permanent neighbour plus a `self` FDB entry on
 * vxlan0 for every remote endpoint. A reconciler turns the desired state of all
 * networks into the fewest netlink changes.
 *
 * Kernel layout per network with local endpoints (DESIGN.md "Kernel layout"):
 *   <run_dir>/netns/<first 12 hex of the network id>   bind-mounted netns
 *   br0     bridge, gateway/prefix, up
 *   vxlan0  created in the agent's own namespace (its UDP socket binds the
 *           underlay), moved in and renamed; VNI, dstport (4789), learning off,
 *           proxy on, no group/remote, MTU = underlay MTU - 50, on br0, up
 *   vh<8 hex of the endpoint IPv4>  host end of an endpoint's veth, on br0, up;
 *           the peer is ethN (first free) in the container namespace with the
 *           endpoint's IP/prefix, MAC and MTU, up
 *   neigh   IP -> MAC permanent on vxlan0, per remote endpoint
 *   fdb     MAC -> dst VTEP self permanent on vxlan0, per remote endpoint
 * IPv4 only (overlay addresses and VTEPs).
 *
 * All kernel work goes through struct ovg_overlay_ops: the real one talks
 * netlink (libnl-3/libnl-route-3), a fake keeps everything in memory for tests.
 *
 * Errors: functions return 0 or -errno and write a one-line message naming
 * the problem into the caller's buffer (err, errlen; err may be NULL).
 */
#ifndef OVG_OVERLAY_H
#define OVG_OVERLAY_H

#include <net/if.h>
#include <netinet/in.h>
#include "ovg/common.h"

#define OVG_OVERLAY_ID_LEN        16
#define OVG_OVERLAY_SB_NAME_LEN   12          /* hex chars of the id in the sandbox name */
#define OVG_OVERLAY_PATH_MAX      256         /* namespace paths, incl. NUL */
#define OVG_OVERLAY_ERR_MAX       256         /* suggested size of error buffers */
#define OVG_OVERLAY_NETS_MAX      4096        /* networks in one reconcile */
#define OVG_OVERLAY_LOCALS_MAX    4096        /* local endpoints of one network */
#define OVG_OVERLAY_REMOTES_MAX   (1u << 20)  /* remote endpoints of one network */
#define OVG_OVERLAY_VXLAN_PORT    4789
#define OVG_OVERLAY_VXLAN_OVERHEAD 50         /* outer Ethernet + IPv4 + UDP + VXLAN */
#define OVG_OVERLAY_UNDERLAY_MTU  1500
#define OVG_OVERLAY_BATCH_MAX     1024        /* changes per ops->apply call */

/* ---- desired state --------------------------------------------------------- */

struct ovg_overlay_local {
	char name[OVG_NAME_MAX + 1];        /* endpoint name, for messages */
	struct in_addr ip;                  /* network byte order */
	uint8_t mac[6];                     /* normally ovg_overlay_mac_from_ip(ip) */
	char netns[OVG_OVERLAY_PATH_MAX];   /* /var/run/netns/X or /proc/PID/ns/net */
	char ifname[IFNAMSIZ];              /* OUT: ethN in the container once attached;
	                                     * pass back what you got (persist it): an
	                                     * empty one makes reconcile verify the pair */
};

struct ovg_overlay_remote {
	struct in_addr ip;                  /* the endpoint's overlay address */
	uint8_t mac[6];
	struct in_addr vtep;                /* its owner's underlay address */
};

/* One network. Give remotes only of owners that are alive. */
struct ovg_overlay_net {
	uint8_t id[OVG_OVERLAY_ID_LEN];
	uint32_t vni;                       /* 1 .. 2^24-1 */
	struct in_addr subnet;
	uint8_t prefix;                     /* 1 .. 31 */
	struct in_addr gateway;             /* held by br0 */
	struct ovg_overlay_local *locals;   /* borrowed; ifname written back */
	size_t n_locals;                    /* 0: no sandbox (removed if there) */
	const struct ovg_overlay_remote *remotes; /* borrowed */
	size_t n_remotes;
};

/* What a reconcile did. Zero it before the call; reconcile adds to it. */
struct ovg_overlay_stats {
	uint32_t sandboxes_created;
	uint32_t sandboxes_removed;
	uint32_t devices_changed;           /* br0/vxlan0 created, recreated or fixed */
	uint32_t veths_added;
	uint32_t veths_fixed;               /* existing pair corrected (MTU, up, address...) */
	uint32_t veths_deleted;
	uint32_t neigh_replaced;
	uint32_t neigh_deleted;
	uint32_t fdb_replaced;
	uint32_t fdb_deleted;
	uint32_t errors;                    /* failed operations (first one in err) */
	uint32_t dumps;                     /* neighbour/FDB tables read from the kernel */
	uint32_t apply_calls;               /* batched writes sent */
};

/* Sum of all changes made (everything above but errors, dumps, apply_calls). */
uint32_t ovg_overlay_stats_changes(const struct ovg_overlay_stats *st);

/* 02:42:a:b:c:d for IPv4 a.b.c.d, as Docker does. */
void ovg_overlay_mac_from_ip(struct in_addr ip, uint8_t mac[6]);

/* ---- kernel operations table ---------------------------------------------- */

enum ovg_overlay_kind {
	OVG_OVERLAY_NEIGH = 1,              /* ip -> mac on vxlan0 */
	OVG_OVERLAY_FDB = 2,                /* mac -> dst ip (self) on vxlan0 */
	OVG_OVERLAY_LINK = 3,               /* events only: some link changed */
};

struct ovg_overlay_entry {
	uint8_t kind;                       /* enum ovg_overlay_kind */
	bool deleted;                       /* events: the entry is gone */
	bool permanent;                     /* NUD_PERMANENT */
	uint8_t mac[6];
	struct in_addr ip;                  /* NEIGH: overlay IP; FDB: dst (VTEP) */
};

enum ovg_overlay_op { OVG_OVERLAY_REPLACE = 1, OVG_OVERLAY_DELETE = 2 };

struct ovg_overlay_change {
	uint8_t op;                         /* enum ovg_overlay_op */
	struct ovg_overlay_entry e;         /* REPLACE writes it permanent */
};

struct ovg_overlay_dev_cfg {
	uint32_t vni;
	uint16_t port;                      /* vxlan dstport */
	uint32_t mtu;                       /* vxlan0 and both veth ends */
	struct in_addr gateway;
	uint8_t prefix;
};

struct ovg_overlay_veth_cfg {
	char host[IFNAMSIZ];                /* host end in the sandbox: vh<hex ip> */
	const char *netns;                  /* container namespace path */
	struct in_addr ip;
	uint8_t prefix;
	uint8_t mac[6];
	uint32_t mtu;
};

/* A veth end found in a sandbox. */
struct ovg_overlay_veth_info {
	char name[IFNAMSIZ];
	bool up;
	bool on_bridge;                     /* enslaved to br0 */
	uint32_t mtu;
};

typedef void (*ovg_overlay_entry_cb)(void *arg, const struct ovg_overlay_entry *e);
typedef void (*ovg_overlay_veth_cb)(void *arg, const struct ovg_overlay_veth_info *v);
typedef void (*ovg_overlay_name_cb)(void *arg, const char *name);

/*
 * `sb` is the ops' handle of an open sandbox. Every function returns 0 or
 * -errno with a message in err. The reconciler calls, per network:
 * sandbox_open, ensure_devices, events, veth_list, veth_add/check/del, dump
 * (only when its view of the tables is not known to be exact), apply.
 */
struct ovg_overlay_ops {
	/* Names of the entries of dir (<run_dir>/netns); none if dir is absent. */
	int (*sandbox_list)(void *ctx, const char *dir, ovg_overlay_name_cb cb, void *arg,
			    char *err, size_t errlen);
	bool (*sandbox_exists)(void *ctx, const char *path);
	/* Open the sandbox at path, creating it (and its directory) if absent
	 * and create is set; -ENOENT if absent and !create. */
	int (*sandbox_open)(void *ctx, const char *path, bool create, void **sb,
			    bool *created, char *err, size_t errlen);
	void (*sandbox_close)(void *ctx, void *sb);   /* accepts NULL */
	/* Delete its devices (so the VNI is free at once), unmount, unlink.
	 * The sandbox must not be open. Absent is success. */
	int (*sandbox_remove)(void *ctx, const char *path, char *err, size_t errlen);
	/* br0 and vxlan0 as cfg says: leave correct ones alone, fix or recreate
	 * others. *changes += what was done; *vxlan_ifindex = vxlan0's ifindex
	 * (a new one means its tables are new). Also snapshots the links for
	 * veth_list. */
	int (*ensure_devices)(void *ctx, void *sb, const struct ovg_overlay_dev_cfg *cfg,
			      uint32_t *changes, int *vxlan_ifindex, char *err, size_t errlen);
	/* veth ends in the sandbox, as of the last ensure_devices. */
	int (*veth_list)(void *ctx, void *sb, ovg_overlay_veth_cb cb, void *arg,
			 char *err, size_t errlen);
	/* Create the pair: host end on br0, peer as the first free ethN in
	 * cfg->netns, configured and up; its name in ifname. */
	int (*veth_add)(void *ctx, void *sb, const struct ovg_overlay_veth_cfg *cfg,
			char ifname[IFNAMSIZ], char *err, size_t errlen);
	/* Verify an existing pair end to end and fix what differs (*changes +=).
	 * -ESTALE: the peer is not in cfg->netns (delete and add again). */
	int (*veth_check)(void *ctx, void *sb, const struct ovg_overlay_veth_cfg *cfg,
			  char ifname[IFNAMSIZ], uint32_t *changes, char *err, size_t errlen);
	int (*veth_del)(void *ctx, void *sb, const char *host, char *err, size_t errlen);
	/* Every IPv4 neighbour and every `self` FDB entry (IPv4 dst) on vxlan0. */
	int (*dump)(void *ctx, void *sb, ovg_overlay_entry_cb cb, void *arg,
		    char *err, size_t errlen);
	/* Changes on vxlan0 (neigh/fdb) and to links since the last call, in
	 * kernel order, without blocking. -ENOBUFS: some were lost (dump again). */
	int (*events)(void *ctx, void *sb, ovg_overlay_entry_cb cb, void *arg,
		      char *err, size_t errlen);
	/* Pollable fd that is readable when events() has something; -1 if none. */
	int (*watch_fd)(void *ctx, void *sb);
	/* Apply changes in order, as one batch. res[i] = 0 or -errno for each
	 * (deleting what is absent is success). Returns the first error. */
	int (*apply)(void *ctx, void *sb, const struct ovg_overlay_change *c, size_t n,
		     int *res, char *err, size_t errlen);
};

/* ---- the reconciler --------------------------------------------------------- */

struct ovg_overlay_cfg {
	const char *run_dir;                /* copied; sandboxes in <run_dir>/netns/ */
	uint16_t vxlan_port;                /* 0: 4789 */
	uint32_t underlay_mtu;              /* 0: 1500; vxlan0/veth MTU is this - 50 */
	const struct ovg_overlay_ops *ops;  /* NULL: the real netlink ops */
	void *ops_ctx;                      /* borrowed; ignored when ops is NULL */
};

struct ovg_overlay;

/* NULL + errno (message in err) on failure. With the real ops, the calling
 * thread's network namespace at this moment is "the agent's own namespace"
 * (where vxlan sockets bind). Nothing is touched in the kernel here. */
struct ovg_overlay *ovg_overlay_new(const struct ovg_overlay_cfg *cfg, char *err, size_t errlen);
/* Closes sockets; leaves every sandbox and device in place (adoption). NULL ok. */
void ovg_overlay_free(struct ovg_overlay *ov);

enum {
	/* Re-read the neighbour/FDB tables from the kernel, verify every veth
	 * pair end to end (entering each container namespace) and look for
	 * orphan sandboxes again, instead of trusting what is known. For the
	 * periodic drift repair and the first reconcile after a restart. */
	OVG_OVERLAY_FULL = 1u << 0,
	/* nets is a subset: leave sandboxes of unlisted networks alone.
	 * Without it, sandboxes of networks not in nets are removed. */
	OVG_OVERLAY_PARTIAL = 1u << 1,
};

/*
 * Make the kernel match nets. Per network: a sandbox while it has local
 * endpoints (created lazily, removed with the last), br0/vxlan0, one veth pair
 * per local endpoint, and exactly the remotes' neighbours and FDB entries on
 * vxlan0 (stale removed, missing or wrong replaced). Writes are batched; what
 * already matches is never rewritten, so a repeat makes no changes and costs
 * no dump (the tables are tracked through a netlink notification socket per
 * sandbox). Existing sandboxes and devices are adopted, never torn down.
 *
 * One failing network or endpoint does not stop the others: the first error
 * is returned (and written to err), all are counted in st->errors.
 * nets: ifname of each local endpoint is written. st may be NULL.
 *
 * Adoption: br0 is kept if it is a bridge; vxlan0 if VNI, port, learning off,
 * proxy on, no group and born in the agent's namespace (else recreated, and
 * its tables refilled); a veth vh<ip> if it is on br0, up, with the MTU (and,
 * when verified, its peer is in the endpoint's namespace and points back).
 * A plain file where a sandbox should be is replaced. Per sandbox the real
 * ops keep 2 fds (request and notification sockets).
 */
int ovg_overlay_reconcile(struct ovg_overlay *ov, struct ovg_overlay_net *nets, size_t n,
			  unsigned flags, struct ovg_overlay_stats *st, char *err, size_t errlen);

/* Drift repair for a timer: reconcile(nets, OVG_OVERLAY_FULL). */
int ovg_overlay_repair(struct ovg_overlay *ov, struct ovg_overlay_net *nets, size_t n,
		       struct ovg_overlay_stats *st, char *err, size_t errlen);

/* <run_dir>/netns/<12 hex> for a network id (whether or not it exists).
 * 0, -ENAMETOOLONG. */
int ovg_overlay_sandbox_path(const struct ovg_overlay *ov, const uint8_t id[OVG_OVERLAY_ID_LEN],
			     char *buf, size_t cap);

/*
 * Changes made by others. ovg_overlay_watch_fd() is one pollable fd (epoll)
 * covering every open sandbox, stable for the life of ov: register it once
 * (EV_READ). When it is readable, call ovg_overlay_watch_read(): it drains the
 * notifications and writes the ids of the networks whose kernel state now
 * differs from what the last reconcile established (up to cap; *n = count).
 * Echoes of our own writes do not count. Reconcile those networks (PARTIAL is
 * fine) after a short debounce. Returns 0 or -errno.
 */
int ovg_overlay_watch_fd(const struct ovg_overlay *ov);
int ovg_overlay_watch_read(struct ovg_overlay *ov, uint8_t (*ids)[OVG_OVERLAY_ID_LEN],
			   size_t cap, size_t *n);

/* ---- the real ops (netlink) ------------------------------------------------ */

/* Context for the real ops: remembers the calling thread's network namespace
 * as the agent's own. NULL + errno. */
void *ovg_overlay_nl_new(char *err, size_t errlen);
void ovg_overlay_nl_free(void *ctx);
extern const struct ovg_overlay_ops ovg_overlay_nl_ops;

/* Namespace helpers (also for tests and tools). The calling thread never
 * changes namespace: work inside one runs in a short-lived thread. */
/* Create a new network namespace bind-mounted at path (like `ip netns add`);
 * -EEXIST if path exists. */
int ovg_overlay_netns_create(const char *path, char *err, size_t errlen);
/* Unmount (detached) and unlink; absent is success. */
int ovg_overlay_netns_remove(const char *path, char *err, size_t errlen);
/* Run fn(arg) in a thread that has entered the namespace nsfd; fn's result,
 * or -errno if entering failed. */
int ovg_overlay_netns_run(int nsfd, int (*fn)(void *arg), void *arg);

/* ---- the fake ops (in memory, for unit tests and simulations) -------------- */

#define OVG_OVERLAY_FAKE_SB_MAX 64
#define OVG_OVERLAY_FAKE_VETH_MAX 64

struct ovg_overlay_fake_veth {
	struct ovg_overlay_veth_info info;
	char netns[OVG_OVERLAY_PATH_MAX];
	char ifname[IFNAMSIZ];
	bool broken;                        /* veth_check must fix it */
};

struct ovg_overlay_fake_sb {
	bool exists;
	bool open;
	char path[OVG_OVERLAY_PATH_MAX];
	bool devices_ok;
	struct ovg_overlay_dev_cfg dev;
	int vxlan_ifindex;
	struct ovg_overlay_fake_veth veth[OVG_OVERLAY_FAKE_VETH_MAX];
	size_t n_veth;
	struct ovg_overlay_entry *ent;      /* the neigh/fdb tables */
	size_t n_ent, cap_ent;
	struct ovg_overlay_entry *ev;       /* pending events */
	size_t n_ev, cap_ev;
	bool ev_lost;                       /* next events() returns -ENOBUFS */
};

struct ovg_overlay_fake {
	struct ovg_overlay_fake_sb sb[OVG_OVERLAY_FAKE_SB_MAX];
	char missing_netns[OVG_OVERLAY_PATH_MAX]; /* veth_add/check fail -ENOENT for it */
	int next_ifindex;
	/* call counters */
	uint32_t n_open, n_create, n_remove, n_ensure, n_dump, n_events, n_apply;
	uint32_t n_veth_add, n_veth_check, n_veth_del;
	uint32_t n_replaced, n_deleted;     /* entries written by apply */
};

extern const struct ovg_overlay_ops ovg_overlay_fake_ops;
struct ovg_overlay_fake *ovg_overlay_fake_new(void);   /* NULL + errno */
void ovg_overlay_fake_free(struct ovg_overlay_fake *f);
/* The fake sandbox at path, or NULL. */
struct ovg_overlay_fake_sb *ovg_overlay_fake_find(struct ovg_overlay_fake *f, const char *path);
/* "By hand": put or remove a table entry (as someone else would), with
 * a notification when notify. 0, -ENOENT, -ENOMEM. */
int ovg_overlay_fake_put(struct ovg_overlay_fake_sb *s, const struct ovg_overlay_entry *e, bool notify);
int ovg_overlay_fake_del(struct ovg_overlay_fake_sb *s, const struct ovg_overlay_entry *e, bool notify);
/* Count entries of a kind. */
size_t ovg_overlay_fake_count(const struct ovg_overlay_fake_sb *s, uint8_t kind);

/* Formatting helper shared by the overlay files: writes into err if not NULL. */
void ovg_overlay_errf(char *err, size_t errlen, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

#endif
