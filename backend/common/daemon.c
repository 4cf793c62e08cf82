/* Signal handling shared by the daemons. */
#include "daemon.h"

#include <errno.h>
#include <sys/prctl.h>
#include <unistd.h>

volatile sig_atomic_t clab_stop_requested;

static void on_signal(int sig)
{
    (void)sig;
    clab_stop_requested = 1;
}

int clab_daemon_init(int with_parent)
{
    struct sigaction sa = {.sa_handler = on_signal};
    sigaction(SIGTERM, &sa, NULL);
    sigaction(SIGINT, &sa, NULL);
    signal(SIGPIPE, SIG_IGN);
    if (with_parent) {
        prctl(PR_SET_PDEATHSIG, SIGTERM);
        /* The parent may have died before the prctl: we were adopted. */
        if (getppid() == 1)
            return -ESRCH;
    }
    return 0;
}
