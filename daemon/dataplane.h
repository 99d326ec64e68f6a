/* The kernel side of the agent: local attachments and the reconciler that
 * keeps every sandbox matching the converged state (overlay/). */
#ifndef OVG_DAEMON_DATAPLANE_H
#define OVG_DAEMON_DATAPLANE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct agent;
struct ctl_conn;

int dataplane_init(struct agent *a, char *err, size_t errlen);
void dataplane_start(struct agent *a, bool have_peers);
/* The first join push-pull succeeded. */
void dataplane_joined(struct agent *a);
void dataplane_free(struct agent *a);
/* Converged view of one network / of all (membership) changed: reconcile soon. */
void dataplane_net_changed(struct agent *a, const uint8_t net_id[16]);
void dataplane_all_changed(struct agent *a);
/* Membership of one node changed: the networks where it has endpoints. */
void dataplane_node_changed(struct agent *a, const char *node);
/* Restart: the state sync we asked a peer for is on its way (true) or has
 * landed (false); caught_up: a peer's digest showed nothing we lack. */
void dataplane_sync_state(struct agent *a, bool awaiting);
void dataplane_caught_up(struct agent *a);
/* `leave`: detach every local endpoint and remove the sandboxes. */
void dataplane_depart(struct agent *a);
/* Sandbox path of a network on this host ("" if none). */
void dataplane_sandbox_path(struct agent *a, const uint8_t net_id[16], char *buf, size_t len);
/* network connect / disconnect (reply on c, possibly later). */
void dataplane_connect(struct agent *a, struct ctl_conn *c, const uint8_t net_id[16],
		       const char *ip, const char *name, const char *netns);
void dataplane_disconnect(struct agent *a, struct ctl_conn *c, const uint8_t net_id[16],
			  const char *netns);

#endif
