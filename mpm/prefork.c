/*
 * prefork.c - one connection per child process, Apache's prefork: children
 * block in accept(2) on the shared listener (the kernel wakes one), serve the
 * connection (keep-alive included) and go back to accept.
 */
#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "foyer/config.h"
#include "foyer/core.h"
#include "foyer/log.h"
#include "foyer/master.h"
#include "foyer/mpm.h"
#include "foyer/scoreboard.h"
#include "foyer/server.h"
#include "mpm_child.h"

static int prefork_child(const struct fy_child *child)
{
	struct fy_mpm_runner r;
	fy_mpm_child_signals(child, 0);
	fy_loop_use_changelist(1); /* one connection, one thread */
	if (fy_mpm_runner_init(&r, child, 0) != FY_OK)
		return 1;
	int limit = child->mpm->max_connections_per_child;
	int served = 0;
	while (!fy_mpm_stopping()) {
		if (fy_mpm_runner_serve_one(&r) == FY_OK) {
			served++;
			if (limit > 0 && served >= limit)
				break;
		}
	}
	fy_mpm_runner_fini(&r);
	return 0;
}

static const struct fy_child_ops prefork_ops = {
	.name = "prefork",
	.count_threads = 0,
	.blocking_accept = 1,
	.child_main = prefork_child,
};

static int prefork_run(struct fy_config **cfg, struct fy_listener **ls,
		       size_t *n)
{
	return fy_master_run(cfg, ls, n, &prefork_ops);
}

const struct fy_mpm fy_mpm_prefork = {
	.name = "prefork",
	.threaded = 0,
	.forked = 1,
	.run = prefork_run,
};
