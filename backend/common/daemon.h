/* What clab-controller and clab-engine do alike as processes: SIGTERM and
 * SIGINT ask for a clean stop, SIGPIPE is ignored (a vanished peer is an
 * error return, not a death), and an embedded daemon dies with its parent. */
#ifndef CLAB_DAEMON_H
#define CLAB_DAEMON_H

#include <signal.h>

/* Set by SIGTERM and SIGINT; the main loop stops when it sees it. */
extern volatile sig_atomic_t clab_stop_requested;

/* Installs the handlers. With with_parent, the process gets SIGTERM when
 * its parent dies (an embedded controller must not outlive a clabfs killed
 * with -9: the next mount would start a second one on the same queue).
 * Returns -ESRCH when the parent is already gone. */
int clab_daemon_init(int with_parent);

#endif
