#ifndef OVG_DAEMON_CLI_H
#define OVG_DAEMON_CLI_H
int ovg_cli_main(int argc, char **argv);
#endif
