/* network create/ls/inspect/rm/connect/disconnect and node rm. */
#include <arpa/inet.h>
#include <errno.h>
#include <jansson.h>
#include <stdlib.h>
#include <string.h>

#include "daemon/agent.h"
#include "daemon/dataplane.h"
#include "ovg/state.h"

static void ip4_str(uint32_t ip_host, char *buf, size_t len)
{
	struct in_addr in = { .s_addr = htonl(ip_host) };
	inet_ntop(AF_INET, &in, buf, (socklen_t)len);
}

static void mac_str(const uint8_t mac[6], char *buf, size_t len)
{
	snprintf(buf, len, "%02x:%02x:%02x:%02x:%02x:%02x", mac[0], mac[1], mac[2], mac[3], mac[4], mac[5]);
}

static void reply_err(struct ctl_conn *c, const char *err)
{
	ctl_replyf(c, 1, "ovgossipd: %s\n", err);
}

/* Options of the form --opt VALUE or --opt=VALUE; flags without value.
 * Fills positional[]; returns count, or -1 after replying an error. */
struct opt {
	const char *name;
	bool has_value;
	const char **value;   /* set for has_value */
	bool *flag;           /* set for flags */
};

static int parse_opts(struct ctl_conn *c, const char *cmd, int argc, char **argv, struct opt *opts,
		      size_t nopts, char **positional, int maxpos)
{
	int npos = 0;

	for (int i = 0; i < argc; i++) {
		const char *arg = argv[i];
		if (arg[0] == '-' && arg[1] == '-' && arg[2]) {
			const char *eq = strchr(arg, '=');
			size_t nl = eq ? (size_t)(eq - arg - 2) : strlen(arg + 2);
			size_t k;
			for (k = 0; k < nopts; k++)
				if (strlen(opts[k].name) == nl && !strncmp(arg + 2, opts[k].name, nl))
					break;
			if (k == nopts) {
				ctl_replyf(c, 1, "ovgossipd: %s: unknown option '%s'\n", cmd, arg);
				return -1;
			}
			if (opts[k].has_value) {
				if (eq) {
					*opts[k].value = eq + 1;
				} else if (i + 1 < argc) {
					*opts[k].value = argv[++i];
				} else {
					ctl_replyf(c, 1, "ovgossipd: %s: option --%s needs a value\n", cmd, opts[k].name);
					return -1;
				}
			} else {
				if (eq) {
					ctl_replyf(c, 1, "ovgossipd: %s: option --%s takes no value\n", cmd, opts[k].name);
					return -1;
				}
				*opts[k].flag = true;
			}
			continue;
		}
		if (npos >= maxpos) {
			ctl_replyf(c, 1, "ovgossipd: %s: unexpected argument '%s'\n", cmd, arg);
			return -1;
		}
		positional[npos++] = argv[i];
	}
	return npos;
}

static int lookup_net(struct agent *a, struct ctl_conn *c, const char *what, uint8_t id[16])
{
	int rc = ovg_state_net_lookup(a->state, what, id);
	if (rc == -ENOENT)
		ctl_replyf(c, 1, "ovgossipd: network %s not found\n", what);
	else if (rc == -ENOTUNIQ)
		ctl_replyf(c, 1, "ovgossipd: network %s is ambiguous: give more of its id\n", what);
	else if (rc < 0)
		ctl_replyf(c, 1, "ovgossipd: network %s: %s\n", what, strerror(-rc));
	return rc;
}

static void net_create(struct agent *a, struct ctl_conn *c, int argc, char **argv)
{
	const char *subnet = NULL, *gateway = NULL, *vni_s = NULL;
	bool attachable = false;
	struct opt opts[] = {
		{ "subnet", true, &subnet, NULL },
		{ "gateway", true, &gateway, NULL },
		{ "vni", true, &vni_s, NULL },
		{ "attachable", false, NULL, &attachable },
	};
	char *pos[1], err[256], hex[33];
	struct ovg_state_net_spec spec = { 0 };
	uint8_t id[16];
	int n = parse_opts(c, "network create", argc, argv, opts, OVG_ARRAY_SIZE(opts), pos, 1);

	if (n < 0)
		return;
	if (n != 1) {
		ctl_replyf(c, 1, "ovgossipd: network create needs a NAME\n");
		return;
	}
	if (vni_s) {
		char *end;
		unsigned long v;
		errno = 0;
		v = strtoul(vni_s, &end, 10);
		if (errno || !*vni_s || *end || vni_s[0] == '-' || v < OVG_STATE_VNI_MIN || v > OVG_STATE_VNI_MAX) {
			ctl_replyf(c, 1, "ovgossipd: invalid VNI '%s': must be a number from %u to %u\n", vni_s,
				   OVG_STATE_VNI_MIN, OVG_STATE_VNI_MAX);
			return;
		}
		spec.vni = (uint32_t)v;
	}
	spec.name = pos[0];
	spec.subnet = subnet;
	spec.gateway = gateway;
	spec.attachable = attachable;
	if (ovg_state_net_create(a->state, ovg_now_ms(), &spec, id, err, sizeof(err)) < 0) {
		replica_after(a);
		reply_err(c, err);
		return;
	}
	replica_after(a);
	for (int i = 0; i < 16; i++)
		snprintf(hex + 2 * i, 3, "%02x", id[i]);
	log_info("network %s created (%s)", pos[0], hex);
	ctl_replyf(c, 0, "%s\n", hex);
}

struct ls_ctx {
	json_t *arr;
	struct sbuf *b;
};

static json_t *net_json(const struct ovg_state_net *n)
{
	char sub[32], gw[16];
	ip4_str(n->subnet, sub, sizeof(sub));
	snprintf(sub + strlen(sub), sizeof(sub) - strlen(sub), "/%u", n->prefix);
	ip4_str(n->gateway, gw, sizeof(gw));
	json_t *j = json_pack("{s:s, s:s, s:I, s:s, s:s, s:b}", "id", n->id_hex, "name", n->name, "vni",
			      (json_int_t)n->vni, "subnet", sub, "gateway", gw, "attachable", n->attachable);
	if (j && n->conflict) {
		json_t *cf = json_array();
		if (n->conflict & OVG_STATE_CONFLICT_NAME)
			json_array_append_new(cf, json_string("name"));
		if (n->conflict & OVG_STATE_CONFLICT_VNI)
			json_array_append_new(cf, json_string("vni"));
		if (n->conflict & OVG_STATE_CONFLICT_SUBNET)
			json_array_append_new(cf, json_string("subnet"));
		json_object_set_new(j, "conflicts", cf);
	}
	if (j) {
		json_object_set_new(j, "creator", json_string(n->creator));
		json_object_set_new(j, "usable", json_boolean(n->live));
	}
	return j;
}

static int ls_json_cb(void *ctx, const struct ovg_state_net *n)
{
	struct ls_ctx *l = ctx;
	json_array_append_new(l->arr, net_json(n));
	return 0;
}

static int ls_table_cb(void *ctx, const struct ovg_state_net *n)
{
	struct ls_ctx *l = ctx;
	char sub[32], gw[16], note[64] = "";
	ip4_str(n->subnet, sub, sizeof(sub));
	snprintf(sub + strlen(sub), sizeof(sub) - strlen(sub), "/%u", n->prefix);
	ip4_str(n->gateway, gw, sizeof(gw));
	if (n->conflict & OVG_STATE_CONFLICT_VNI)
		snprintf(note, sizeof(note), "  (VNI conflict: unusable)");
	else if (n->conflict & OVG_STATE_CONFLICT_NAME)
		snprintf(note, sizeof(note), "  (name conflict: renamed)");
	else if (n->conflict & OVG_STATE_CONFLICT_SUBNET)
		snprintf(note, sizeof(note), "  (subnet overlaps another network)");
	sbuf_printf(l->b, "%-12.12s  %-20s  %-8u  %-18s  %-15s  %-10s  %u%s\n", n->id_hex, n->name, n->vni, sub,
		    gw, n->attachable ? "true" : "false", n->endpoints, note);
	return 0;
}

static void net_ls(struct agent *a, struct ctl_conn *c, int argc, char **argv)
{
	const char *format = NULL;
	struct opt opts[] = { { "format", true, &format, NULL } };
	char *pos[1];
	int n = parse_opts(c, "network ls", argc, argv, opts, 1, pos, 0);

	if (n < 0)
		return;
	if (format && strcmp(format, "json") && strcmp(format, "table")) {
		ctl_replyf(c, 1, "ovgossipd: network ls: unknown format '%s' (json or table)\n", format);
		return;
	}
	if (format && !strcmp(format, "json")) {
		struct ls_ctx l = { .arr = json_array() };
		ovg_state_net_foreach(a->state, ls_json_cb, &l);
		char *txt = json_dumps(l.arr, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
		json_decref(l.arr);
		if (!txt) {
			ctl_replyf(c, 1, "ovgossipd: out of memory\n");
			return;
		}
		ctl_replyf(c, 0, "%s\n", txt);
		free(txt);
		return;
	}
	struct sbuf b = { 0 };
	struct ls_ctx l = { .b = &b };
	sbuf_printf(&b, "%-12s  %-20s  %-8s  %-18s  %-15s  %-10s  %s\n", "NETWORK ID", "NAME", "VNI", "SUBNET",
		    "GATEWAY", "ATTACHABLE", "ENDPOINTS");
	ovg_state_net_foreach(a->state, ls_table_cb, &l);
	if (b.oom)
		ctl_replyf(c, 1, "ovgossipd: out of memory\n");
	else
		ctl_reply(c, 0, b.p, b.len, NULL, 0);
	sbuf_free(&b);
}

static int inspect_ep_cb(void *ctx, const struct ovg_state_ep *ep)
{
	json_t *arr = ctx;
	char ip[16], mac[18];
	ip4_str(ep->ip, ip, sizeof(ip));
	mac_str(ep->mac, mac, sizeof(mac));
	json_array_append_new(arr, json_pack("{s:s, s:s, s:s, s:s, s:I}", "name", ep->name, "node", ep->node, "ip", ip,
					     "mac", mac, "prefix", (json_int_t)ep->prefix));
	return 0;
}

static void net_inspect(struct agent *a, struct ctl_conn *c, int argc, char **argv)
{
	struct ovg_state_net n;
	uint8_t id[16];
	char sandbox[PATH_MAX];
	json_t *j, *eps;
	char *txt;

	if (argc != 1) {
		ctl_replyf(c, 1, "ovgossipd: network inspect needs exactly one NETWORK\n");
		return;
	}
	if (lookup_net(a, c, argv[0], id) < 0)
		return;
	if (ovg_state_net_get(a->state, id, &n) < 0) {
		ctl_replyf(c, 1, "ovgossipd: network %s not found\n", argv[0]);
		return;
	}
	j = net_json(&n);
	dataplane_sandbox_path(a, id, sandbox, sizeof(sandbox));
	json_object_set_new(j, "sandbox", json_string(sandbox));
	eps = json_array();
	ovg_state_ep_foreach(a->state, id, false, inspect_ep_cb, eps);
	json_object_set_new(j, "endpoints", eps);
	txt = json_dumps(j, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
	json_decref(j);
	if (!txt) {
		ctl_replyf(c, 1, "ovgossipd: out of memory\n");
		return;
	}
	ctl_replyf(c, 0, "%s\n", txt);
	free(txt);
}

static void net_rm(struct agent *a, struct ctl_conn *c, int argc, char **argv)
{
	uint8_t id[16];
	char err[512];

	if (argc != 1) {
		ctl_replyf(c, 1, "ovgossipd: network rm needs exactly one NETWORK\n");
		return;
	}
	if (lookup_net(a, c, argv[0], id) < 0)
		return;
	if (ovg_state_net_remove(a->state, ovg_now_ms(), id, err, sizeof(err)) < 0) {
		replica_after(a);
		reply_err(c, err);
		return;
	}
	replica_after(a);
	log_info("network %s removed", argv[0]);
	ctl_replyf(c, 0, "%s\n", argv[0]);
}

static void net_connect(struct agent *a, struct ctl_conn *c, int argc, char **argv)
{
	const char *ip = NULL, *name = NULL;
	struct opt opts[] = { { "ip", true, &ip, NULL }, { "name", true, &name, NULL } };
	char *pos[2];
	uint8_t id[16];
	int n = parse_opts(c, "network connect", argc, argv, opts, 2, pos, 2);

	if (n < 0)
		return;
	if (n != 2) {
		ctl_replyf(c, 1, "ovgossipd: network connect needs NETWORK and NETNS\n");
		return;
	}
	if (lookup_net(a, c, pos[0], id) < 0)
		return;
	dataplane_connect(a, c, id, ip, name, pos[1]);
}

static void net_disconnect(struct agent *a, struct ctl_conn *c, int argc, char **argv)
{
	uint8_t id[16];

	if (argc != 2) {
		ctl_replyf(c, 1, "ovgossipd: network disconnect needs NETWORK and NETNS\n");
		return;
	}
	if (lookup_net(a, c, argv[0], id) < 0)
		return;
	dataplane_disconnect(a, c, id, argv[1]);
}

void cmd_network(struct agent *a, struct ctl_conn *c, int argc, char **argv)
{
	static const struct {
		const char *name;
		void (*fn)(struct agent *, struct ctl_conn *, int, char **);
	} sub[] = {
		{ "create", net_create }, { "ls", net_ls }, { "list", net_ls }, { "inspect", net_inspect },
		{ "rm", net_rm }, { "remove", net_rm }, { "connect", net_connect }, { "disconnect", net_disconnect },
	};

	if (argc < 2) {
		ctl_replyf(c, 1, "ovgossipd: network needs create, ls, inspect, rm, connect or disconnect\n");
		return;
	}
	for (size_t i = 0; i < OVG_ARRAY_SIZE(sub); i++)
		if (!strcmp(argv[1], sub[i].name)) {
			sub[i].fn(a, c, argc - 2, argv + 2);
			return;
		}
	ctl_replyf(c, 1, "ovgossipd: unknown network command '%s'\n", argv[1]);
}

/* node rm needs this node caught up with its peers (-EAGAIN until then):
 * ask for a sync and retry for a bounded time. One at a time. */
#define NODE_RM_WAIT_MS 5000
static struct {
	struct agent *a;
	struct ctl_conn *c;
	char node[OVG_STATE_NAME_MAX + 1];
	uint64_t deadline_ms;
	ev_timer w;
	bool busy;
} node_rm_pending;

static bool node_rm_try(struct agent *a, struct ctl_conn *c, const char *node, bool last)
{
	char err[256];
	int rc = ovg_state_node_rm(a->state, ovg_now_ms(), node, err, sizeof(err));

	replica_after(a);
	if (rc == -EAGAIN && !last) {
		replica_sync_now(a);
		return false;
	}
	if (rc < 0) {
		reply_err(c, err);
		return true;
	}
	log_info("node %s removed: its endpoints are gone and its address blocks are ours", node);
	ctl_replyf(c, 0, "node %s removed\n", node);
	return true;
}

static void on_node_rm_retry(struct ev_loop *loop, ev_timer *w, int revents)
{
	(void)revents;
	if (node_rm_try(node_rm_pending.a, node_rm_pending.c, node_rm_pending.node,
			ovg_now_ms() >= node_rm_pending.deadline_ms)) {
		ev_timer_stop(loop, w);
		node_rm_pending.busy = false;
	}
}

void cmd_node(struct agent *a, struct ctl_conn *c, int argc, char **argv)
{
	struct ovg_swim_member m;

	if (argc != 3 || (strcmp(argv[1], "rm") && strcmp(argv[1], "remove"))) {
		ctl_replyf(c, 1, "ovgossipd: usage: node rm NODE\n");
		return;
	}
	if (ovg_swim_member_find(a->swim, argv[2], &m) == 0 && !m.is_self &&
	    (m.state == OVG_STATE_ALIVE || m.state == OVG_STATE_SUSPECT)) {
		ctl_replyf(c, 1, "ovgossipd: node %s is %s: only a failed or departed node can be removed\n", argv[2],
			   m.state == OVG_STATE_ALIVE ? "alive" : "suspect");
		return;
	}
	if (strlen(argv[2]) > OVG_STATE_NAME_MAX) {
		ctl_replyf(c, 1, "ovgossipd: node %s not found\n", argv[2]);
		return;
	}
	if (node_rm_pending.busy) {
		ctl_replyf(c, 1, "ovgossipd: another node rm is in progress: try again in a moment\n");
		return;
	}
	if (node_rm_try(a, c, argv[2], false))
		return;
	node_rm_pending.a = a;
	node_rm_pending.c = c;
	snprintf(node_rm_pending.node, sizeof(node_rm_pending.node), "%s", argv[2]);
	node_rm_pending.deadline_ms = ovg_now_ms() + NODE_RM_WAIT_MS;
	node_rm_pending.busy = true;
	ev_timer_init(&node_rm_pending.w, on_node_rm_retry, 0.2, 0.2);
	ev_timer_start(a->loop, &node_rm_pending.w);
}
