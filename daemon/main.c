/* ovgossipd: one binary, a subcommand table. */
#include <stdio.h>
#include <string.h>

#include "daemon/cli.h"

int main(int argc, char **argv)
{
	return ovg_cli_main(argc, argv);
}
