/* Command-line front end: a table of {name, fn, help}. */
#include <stdio.h>
#include <string.h>
#include <sodium.h>

#include "daemon/cli.h"
#include "ovg/crypt.h"

struct cli_cmd {
	const char *name;
	int (*fn)(int argc, char **argv);
	const char *help;
};

static int cmd_version(int argc, char **argv);
static int cmd_keygen(int argc, char **argv);
static int cmd_help(int argc, char **argv);

static const struct cli_cmd cmds[] = {
	{ "keygen", cmd_keygen, "print a new base64 32-byte key" },
	{ "version", cmd_version, "print the version" },
	{ "help", cmd_help, "this text" },
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

static void usage(FILE *f)
{
	fprintf(f, "usage: ovgossipd COMMAND [ARGS]\n\ncommands:\n");
	for (size_t i = 0; i < sizeof(cmds) / sizeof(cmds[0]); i++)
		fprintf(f, "  %-10s %s\n", cmds[i].name, cmds[i].help);
}

static int cmd_help(int argc, char **argv)
{
	(void)argc; (void)argv;
	usage(stdout);
	return 0;
}

int ovg_cli_main(int argc, char **argv)
{
	if (argc < 2) {
		usage(stderr);
		return 1;
	}
	if (!strcmp(argv[1], "--help") || !strcmp(argv[1], "-h"))
		return cmd_help(0, NULL);
	if (!strcmp(argv[1], "--version"))
		return cmd_version(0, NULL);
	for (size_t i = 0; i < sizeof(cmds) / sizeof(cmds[0]); i++)
		if (!strcmp(argv[1], cmds[i].name))
			return cmds[i].fn(argc - 1, argv + 1);
	fprintf(stderr, "ovgossipd: unknown command '%s' (try 'ovgossipd help')\n", argv[1]);
	return 1;
}
