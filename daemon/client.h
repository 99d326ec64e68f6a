#ifndef OVG_DAEMON_CLIENT_H
#define OVG_DAEMON_CLIENT_H
/* Send argv to the agent at socket_path, print its reply; returns the exit status. */
int ovg_client_run(const char *socket_path, int argc, char **argv, int timeout_s);
#endif
