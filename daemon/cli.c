/* Command-line front end: a table of {name, fn, help}. Client commands are
 * carried whole to the agent over the control socket. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sodium.h>

#include "daemon/agent.h"
#include "daemon/cli.h"
#include "daemon/client.h"
#include "ovg/crypt.h"

#define DEFAULT_SOCKET "/run/ovgossipd/ovgossipd.sock"

struct cli_cmd {
	const char *name;
	int (*fn)(int argc, char **argv);
	const char *usage;
	const char *help;
};

static int cmd_version(int argc, char **argv);
static int cmd_keygen(int argc, char **argv);
static int cmd_help(int argc, char **argv);
static int cmd_agent(int argc, char **argv);

static const struct cli_cmd cmds[] = {
	{ "agent", cmd_agent, "agent [--name NODE] [--bind ADDR[:PORT]] [--advertise ADDR[:PORT]]\n"
			      "          [--join PEER[:PORT]]... [--key-file FILE | --insecure]\n"
			      "          [--state-dir DIR] [--run-dir DIR] [--socket PATH] [--vxlan-port N]\n"
			      "          [--log-level debug|info|warn|error]",
	  "run the agent" },
	{ "keygen", cmd_keygen, "keygen", "print a new base64 32-byte key" },
	{ "join", NULL, "join PEER[:PORT]...", "the local agent joins the peers' cluster" },
	{ "leave", NULL, "leave", "leave gracefully, then the agent exits" },
	{ "members", NULL, "members [--format json]", "list the cluster's members" },
	{ "keys", NULL, "keys list | install KEY | use KEY | remove KEY", "manage the gossip keyring" },
	{ "version", cmd_version, "version", "print the version" },
	{ "help", cmd_help, "help", "this text" },
};

static int cmd_version(int argc, char **argv)
{
	(void)argc; (void)argv;
	printf("ovgossipd %s (memberlist protocol 5)\n", OVG_VERSION);
	return 0;
}

static int cmd_keygen(int argc, char **argv)
{
	uint8_t key[OVG_KEY_LEN];
	char b64[OVG_KEY_B64_MAX];

	(void)argv;
	if (argc > 1) {
		fprintf(stderr, "ovgossipd: keygen takes no arguments\n");
		return 1;
	}
	if (sodium_init() < 0) {
		fprintf(stderr, "ovgossipd: libsodium failed to initialise\n");
		return 1;
	}
	randombytes_buf(key, sizeof(key));
	sodium_bin2base64(b64, sizeof(b64), key, sizeof(key), sodium_base64_VARIANT_ORIGINAL);
	sodium_memzero(key, sizeof(key));
	printf("%s\n", b64);
	return 0;
}

static int cmd_agent(int argc, char **argv)
{
	return agent_main(argc, argv);
}

static void usage(FILE *f)
{
	fprintf(f, "usage: ovgossipd [--socket PATH] COMMAND [ARGS]\n\ncommands:\n");
	for (size_t i = 0; i < OVG_ARRAY_SIZE(cmds); i++)
		fprintf(f, "  %-10s %s\n", cmds[i].name, cmds[i].help);
	fprintf(f, "\nClient commands reach the local agent through --socket PATH, else\n"
		   "$OVGOSSIPD_SOCKET, else " DEFAULT_SOCKET ".\n"
		   "'ovgossipd COMMAND --help' shows a command's usage.\n");
}

static int cmd_help(int argc, char **argv)
{
	if (argc > 1) {
		for (size_t i = 0; i < OVG_ARRAY_SIZE(cmds); i++)
			if (!strcmp(argv[1], cmds[i].name)) {
				printf("usage: ovgossipd %s\n  %s\n", cmds[i].usage, cmds[i].help);
				return 0;
			}
	}
	usage(stdout);
	return 0;
}

static bool wants_help(int argc, char **argv)
{
	for (int i = 1; i < argc; i++)
		if (!strcmp(argv[i], "--help") || !strcmp(argv[i], "-h"))
			return true;
	return false;
}

int ovg_cli_main(int argc, char **argv)
{
	const char *sock = getenv("OVGOSSIPD_SOCKET");
	char *args[256];
	int n = 0;

	if (!sock || !*sock)
		sock = DEFAULT_SOCKET;
	/* global --socket before the command */
	int i = 1;
	while (i < argc && argv[i][0] == '-') {
		if (!strcmp(argv[i], "--socket") && i + 1 < argc) {
			sock = argv[i + 1];
			i += 2;
		} else if (!strncmp(argv[i], "--socket=", 9)) {
			sock = argv[i] + 9;
			i++;
		} else if (!strcmp(argv[i], "--help") || !strcmp(argv[i], "-h")) {
			usage(stdout);
			return 0;
		} else if (!strcmp(argv[i], "--version")) {
			return cmd_version(0, NULL);
		} else {
			fprintf(stderr, "ovgossipd: unknown option '%s' (try 'ovgossipd help')\n", argv[i]);
			return 1;
		}
	}
	if (i >= argc) {
		usage(stderr);
		return 1;
	}
	for (size_t k = 0; k < OVG_ARRAY_SIZE(cmds); k++) {
		if (strcmp(argv[i], cmds[k].name))
			continue;
		if (cmds[k].fn == cmd_agent)
			return cmd_agent(argc - i, argv + i);
		if (wants_help(argc - i, argv + i)) {
			printf("usage: ovgossipd %s\n  %s\n", cmds[k].usage, cmds[k].help);
			return 0;
		}
		if (cmds[k].fn)
			return cmds[k].fn(argc - i, argv + i);
		break;
	}
	/* a client command: --socket may also follow the command */
	for (; i < argc && n < (int)OVG_ARRAY_SIZE(args); i++) {
		if (!strcmp(argv[i], "--socket") && i + 1 < argc) {
			sock = argv[++i];
			continue;
		}
		if (!strncmp(argv[i], "--socket=", 9)) {
			sock = argv[i] + 9;
			continue;
		}
		args[n++] = argv[i];
	}
	if (n == 0) {
		usage(stderr);
		return 1;
	}
	if (!strcmp(args[0], "network") || !strcmp(args[0], "node")) {
		if (wants_help(n, args)) {
			printf("usage: ovgossipd network create [--subnet CIDR] [--gateway IP] [--vni N] [--attachable] NAME\n"
			       "       ovgossipd network ls [--format json]\n"
			       "       ovgossipd network inspect NETWORK\n"
			       "       ovgossipd network rm NETWORK\n"
			       "       ovgossipd network connect [--ip IP] [--name NAME] NETWORK NETNS\n"
			       "       ovgossipd network disconnect NETWORK NETNS\n"
			       "       ovgossipd node rm NODE\n");
			return 0;
		}
	} else {
		bool known = false;
		for (size_t k = 0; k < OVG_ARRAY_SIZE(cmds); k++)
			known |= !strcmp(args[0], cmds[k].name);
		if (!known) {
			fprintf(stderr, "ovgossipd: unknown command '%s' (try 'ovgossipd help')\n", args[0]);
			return 1;
		}
	}
	return ovg_client_run(sock, n, args, 60);
}
