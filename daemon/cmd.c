/* Commands the agent runs for the CLI. Each writes its output into the reply;
 * errors are one line beginning "ovgossipd: " and exit status 1. */
#include <errno.h>
#include <jansson.h>
#include <sodium.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "daemon/agent.h"

void sbuf_printf(struct sbuf *b, const char *fmt, ...)
{
	va_list ap;
	int n;

	if (b->oom)
		return;
	for (;;) {
		size_t room = b->cap - b->len;
		va_start(ap, fmt);
		n = vsnprintf(b->p ? b->p + b->len : NULL, b->p ? room : 0, fmt, ap);
		va_end(ap);
		if (n < 0) {
			b->oom = true;
			return;
		}
		if (b->p && (size_t)n < room) {
			b->len += (size_t)n;
			return;
		}
		size_t ncap = b->cap ? b->cap * 2 : 1024;
		while (ncap < b->len + (size_t)n + 1)
			ncap *= 2;
		char *np = realloc(b->p, ncap);
		if (!np) {
			b->oom = true;
			return;
		}
		b->p = np;
		b->cap = ncap;
	}
}

void sbuf_free(struct sbuf *b)
{
	free(b->p);
	memset(b, 0, sizeof(*b));
}

static void reply_sbuf(struct ctl_conn *c, struct sbuf *b)
{
	if (b->oom)
		ctl_replyf(c, 1, "ovgossipd: out of memory\n");
	else
		ctl_reply(c, 0, b->p, b->len, NULL, 0);
	sbuf_free(b);
}

static void reply_json(struct ctl_conn *c, json_t *j)
{
	char *txt = j ? json_dumps(j, JSON_INDENT(2) | JSON_PRESERVE_ORDER) : NULL;
	if (!txt) {
		ctl_replyf(c, 1, "ovgossipd: out of memory\n");
	} else {
		struct sbuf b = { 0 };
		sbuf_printf(&b, "%s\n", txt);
		reply_sbuf(c, &b);
	}
	free(txt);
	json_decref(j);
}

static const char *state_name(enum ovg_node_state s)
{
	switch (s) {
	case OVG_STATE_ALIVE: return "alive";
	case OVG_STATE_SUSPECT: return "suspect";
	case OVG_STATE_DEAD: return "dead";
	case OVG_STATE_LEFT: return "left";
	}
	return "unknown";
}

/* Parse "--format json|table"; returns 1 json, 0 table, -1 error (replied). */
static int parse_format(struct ctl_conn *c, int argc, char **argv, const char *cmd)
{
	int json = 0;
	for (int i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "--format") && i + 1 < argc) {
			if (!strcmp(argv[i + 1], "json"))
				json = 1;
			else if (strcmp(argv[i + 1], "table")) {
				ctl_replyf(c, 1, "ovgossipd: %s: unknown format '%s' (json or table)\n", cmd, argv[i + 1]);
				return -1;
			}
			i++;
		} else if (!strncmp(argv[i], "--format=", 9)) {
			if (!strcmp(argv[i] + 9, "json"))
				json = 1;
			else if (strcmp(argv[i] + 9, "table")) {
				ctl_replyf(c, 1, "ovgossipd: %s: unknown format '%s' (json or table)\n", cmd, argv[i] + 9);
				return -1;
			}
		} else {
			ctl_replyf(c, 1, "ovgossipd: %s: unexpected argument '%s'\n", cmd, argv[i]);
			return -1;
		}
	}
	return json;
}

static int member_cmp(const void *x, const void *y)
{
	const struct ovg_swim_member *a = x, *b = y;
	return strcmp(a->name, b->name);
}

static void cmd_members(struct agent *a, struct ctl_conn *c, int argc, char **argv)
{
	size_t n = ovg_swim_member_count(a->swim), k = 0;
	struct ovg_swim_member *ms = calloc(n ? n : 1, sizeof(*ms));
	int json = parse_format(c, argc, argv, "members");
	char addr[80];

	if (json < 0)
		goto out;
	if (!ms) {
		ctl_replyf(c, 1, "ovgossipd: out of memory\n");
		goto out;
	}
	for (size_t i = 0; i < n; i++)
		if (ovg_swim_member_get(a->swim, i, &ms[k]) == 0)
			k++;
	qsort(ms, k, sizeof(*ms), member_cmp);
	if (json) {
		json_t *arr = json_array();
		for (size_t i = 0; i < k; i++) {
			ovg_addr_format(&ms[i].addr, addr, sizeof(addr));
			json_array_append_new(arr, json_pack("{s:s, s:s, s:s, s:I}", "name", ms[i].name,
							     "addr", addr, "status", state_name(ms[i].state),
							     "incarnation", (json_int_t)ms[i].incarnation));
		}
		reply_json(c, arr);
	} else {
		struct sbuf b = { 0 };
		size_t w = 4;
		for (size_t i = 0; i < k; i++)
			w = OVG_MAX(w, strlen(ms[i].name));
		sbuf_printf(&b, "%-*s  %-22s  %-7s  %s\n", (int)w, "NAME", "ADDRESS", "STATUS", "INCARNATION");
		for (size_t i = 0; i < k; i++) {
			ovg_addr_format(&ms[i].addr, addr, sizeof(addr));
			sbuf_printf(&b, "%-*s  %-22s  %-7s  %u\n", (int)w, ms[i].name, addr,
				    state_name(ms[i].state), ms[i].incarnation);
		}
		reply_sbuf(c, &b);
	}
out:
	free(ms);
}

/* ---- join ----------------------------------------------------------------- */

struct join_req {
	struct ctl_conn *c;
	unsigned pending, ok;
	struct sbuf errs;
	bool started;    /* all push-pulls issued */
};

static void join_req_finish(struct join_req *j)
{
	if (j->pending > 0 || !j->started)
		return;
	if (j->ok > 0) {
		struct sbuf b = { 0 };
		sbuf_printf(&b, "joined %u peer%s\n", j->ok, j->ok == 1 ? "" : "s");
		if (j->errs.len)
			ctl_reply(j->c, 0, b.p, b.len, j->errs.p, j->errs.len);
		else
			ctl_reply(j->c, 0, b.p, b.len, NULL, 0);
		sbuf_free(&b);
	} else {
		ctl_reply(j->c, 1, NULL, 0, j->errs.p, j->errs.len);
	}
	sbuf_free(&j->errs);
	free(j);
}

void join_req_done(struct agent *a, struct join_req *j, const struct ovg_addr *to, int err,
		   const char *why)
{
	char addr[80];
	(void)a;

	if (err == 0) {
		j->ok++;
	} else {
		ovg_addr_format(to, addr, sizeof(addr));
		sbuf_printf(&j->errs, "ovgossipd: failed to join %s: %s\n", addr,
			    why ? why : strerror(err < 0 ? -err : err));
	}
	if (j->pending > 0)
		j->pending--;
	join_req_finish(j);
}

static void cmd_join(struct agent *a, struct ctl_conn *c, int argc, char **argv)
{
	struct ovg_addr addrs[AGENT_JOIN_MAX];
	char err[OVG_ERRBUF];
	struct join_req *j;
	size_t n = 0;

	if (argc < 2) {
		ctl_replyf(c, 1, "ovgossipd: join needs at least one PEER[:PORT]\n");
		return;
	}
	if (a->leaving) {
		ctl_replyf(c, 1, "ovgossipd: the agent is leaving the cluster\n");
		return;
	}
	for (int i = 1; i < argc; i++) {
		if (n >= AGENT_JOIN_MAX) {
			ctl_replyf(c, 1, "ovgossipd: join takes at most %d peers\n", AGENT_JOIN_MAX);
			return;
		}
		if (ovg_addr_parse(argv[i], OVG_DEFAULT_PORT, &addrs[n], err, sizeof(err)) < 0) {
			ctl_replyf(c, 1, "ovgossipd: %s\n", err);
			return;
		}
		n++;
	}
	j = calloc(1, sizeof(*j));
	if (!j) {
		ctl_replyf(c, 1, "ovgossipd: out of memory\n");
		return;
	}
	j->c = c;
	j->pending = (unsigned)n;
	a->cur_join = j;
	ovg_swim_join(a->swim, addrs, n, ovg_now_ms());
	a->cur_join = NULL;
	j->started = true;
	join_req_finish(j);
}

static void cmd_leave(struct agent *a, struct ctl_conn *c, int argc, char **argv)
{
	(void)argv;
	if (argc > 1) {
		ctl_replyf(c, 1, "ovgossipd: leave takes no arguments\n");
		return;
	}
	agent_begin_leave(a, c, true);
}

/* ---- keys ----------------------------------------------------------------- */

static int decode_key_arg(struct ctl_conn *c, const char *s, uint8_t key[OVG_KEY_LEN])
{
	int rc = ovg_key_decode(s, key);
	if (rc == -EOPNOTSUPP)
		ctl_replyf(c, 1, "ovgossipd: 16- and 24-byte keys are not supported: use a 32-byte key (ovgossipd keygen)\n");
	else if (rc < 0)
		ctl_replyf(c, 1, "ovgossipd: '%s' is not a base64 32-byte key (ovgossipd keygen makes one)\n", s);
	return rc;
}

static void cmd_keys(struct agent *a, struct ctl_conn *c, int argc, char **argv)
{
	uint8_t key[OVG_KEY_LEN];
	char b64[OVG_KEY_B64_MAX];
	struct ovg_keyring saved = a->keyring;
	int rc;

	if (argc < 2) {
		ctl_replyf(c, 1, "ovgossipd: keys needs list, install KEY, use KEY or remove KEY\n");
		return;
	}
	if (a->keyring.n == 0) {
		ctl_replyf(c, 1, "ovgossipd: encryption is off on this agent (started with --insecure)\n");
		return;
	}
	if (!strcmp(argv[1], "list")) {
		struct sbuf b = { 0 };
		if (argc != 2) {
			ctl_replyf(c, 1, "ovgossipd: keys list takes no arguments\n");
			return;
		}
		for (size_t i = 0; i < a->keyring.n; i++) {
			ovg_key_encode(a->keyring.keys[i], b64);
			sbuf_printf(&b, "%s%s\n", b64, i == 0 ? "  (primary)" : "");
		}
		sodium_memzero(b64, sizeof(b64));
		reply_sbuf(c, &b);
		return;
	}
	if (argc != 3 || (strcmp(argv[1], "install") && strcmp(argv[1], "use") && strcmp(argv[1], "remove"))) {
		ctl_replyf(c, 1, "ovgossipd: keys needs list, install KEY, use KEY or remove KEY\n");
		return;
	}
	if (decode_key_arg(c, argv[2], key) < 0)
		return;
	if (!strcmp(argv[1], "install")) {
		rc = ovg_keyring_install(&a->keyring, key);
		if (rc == -ENOSPC) {
			ctl_replyf(c, 1, "ovgossipd: the keyring is full (%d keys): remove one first\n", OVG_KEYRING_MAX);
			goto out;
		}
	} else if (!strcmp(argv[1], "use")) {
		rc = ovg_keyring_use(&a->keyring, key);
		if (rc == -ENOENT) {
			ctl_replyf(c, 1, "ovgossipd: that key is not installed: install it first\n");
			goto out;
		}
	} else {
		rc = ovg_keyring_remove(&a->keyring, key);
		if (rc == -EBUSY) {
			ctl_replyf(c, 1, "ovgossipd: cannot remove the primary key: 'keys use' another key first\n");
			goto out;
		}
		if (rc == -ENOENT) {
			ctl_replyf(c, 1, "ovgossipd: that key is not installed\n");
			goto out;
		}
	}
	rc = agent_save_keyring(a);
	if (rc < 0) {
		a->keyring = saved;
		ctl_replyf(c, 1, "ovgossipd: cannot save the keyring: %s (nothing changed)\n", strerror(-rc));
		goto out;
	}
	log_info("keyring: %s done (%zu keys)", argv[1], a->keyring.n);
	ctl_replyf(c, 0, "%s: done\n", argv[1]);
out:
	sodium_memzero(key, sizeof(key));
	sodium_memzero(&saved, sizeof(saved));
}

/* ---- dispatch ------------------------------------------------------------- */

struct agent_cmd {
	const char *name;
	void (*fn)(struct agent *a, struct ctl_conn *c, int argc, char **argv);
};

void cmd_network(struct agent *a, struct ctl_conn *c, int argc, char **argv);
void cmd_node(struct agent *a, struct ctl_conn *c, int argc, char **argv);

static const struct agent_cmd agent_cmds[] = {
	{ "network", cmd_network },
	{ "node", cmd_node },
	{ "members", cmd_members },
	{ "join", cmd_join },
	{ "leave", cmd_leave },
	{ "keys", cmd_keys },
};

void cmd_dispatch(struct agent *a, struct ctl_conn *c, int argc, char **argv)
{
	if (argc < 1) {
		ctl_replyf(c, 1, "ovgossipd: empty command\n");
		return;
	}
	for (size_t i = 0; i < OVG_ARRAY_SIZE(agent_cmds); i++)
		if (!strcmp(argv[0], agent_cmds[i].name)) {
			agent_cmds[i].fn(a, c, argc, argv);
			return;
		}
	ctl_replyf(c, 1, "ovgossipd: unknown command '%s'\n", argv[0]);
}
