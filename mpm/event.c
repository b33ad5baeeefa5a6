/*
 * event.c - Apache's event model on foyer's engine: a few loop threads per
 * child each multiplex many connections. MaxRequestWorkers keeps Apache's
 * meaning (requests in progress: ThreadsPerChild scoreboard slots per
 * child); an idle keep-alive connection holds no slot; a loop stops
 * accepting beyond (AsyncRequestWorkerFactor + 1) x its share of
 * ThreadsPerChild connections, and the kernel backlog or the other children
 * take the rest.
 */
#include <errno.h>
#include <event2/event.h>
#include <pthread.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "foyer/config.h"
#include "foyer/core.h"
#include "foyer/fcgi_client.h"
#include "foyer/log.h"
#include "foyer/master.h"
#include "foyer/mpm.h"
#include "foyer/scoreboard.h"
#include "foyer/server.h"
#include "mpm_child.h"

struct event_thread {
	pthread_t tid;
	struct fy_loop *loop;
	struct event *check;
};

static void *event_main(void *arg)
{
	struct event_thread *t = arg;
	fy_loop_run(t->loop);
	/* The loop's kept FastCGI connections end with it: closed here, they
	 * give their connection slots back to the other children at once. */
	fy_fcgi_close_idle();
	/* A loop ends on a stop request or when its share of
	 * MaxConnectionsPerChild is used up: either way the child stops
	 * gracefully (the other loops finish what they hold). */
	fy_mpm_request_stop();
	return NULL;
}

static int event_child(const struct fy_child *child)
{
	const struct fy_mpm_config *m = child->mpm;
	int loops = m->event_loops > 0 ? m->event_loops : 1;
	if (loops > m->threads_per_child)
		loops = m->threads_per_child;
	fy_mpm_child_signals(child, 1);
	/* Every slot of the process is free for a request. */
	for (int i = 0; i < m->threads_per_child; i++)
		fy_scoreboard_set_status(fy_scoreboard_slot(child->sb, child->slot, i),
					 FY_SLOT_READY);

	/* One loop thread does all the I/O of the process: see
	 * fy_loop_use_changelist(). */
	fy_loop_use_changelist(loops == 1);
	struct event_thread *t = calloc((size_t)loops, sizeof(*t));
	if (t == NULL)
		return 1;
	int per_loop_slots = m->threads_per_child / loops;
	int limit = m->max_connections_per_child;
	for (int i = 0; i < loops; i++) {
		int slots = per_loop_slots +
			    (i < m->threads_per_child % loops ? 1 : 0);
		size_t max_conns =
		    (size_t)((m->async_request_worker_factor + 1.0) * slots);
		t[i].loop = fy_loop_create(child->cfg, child->ls,
					   child->n_listeners, max_conns);
		if (t[i].loop == NULL)
			return 1;
		fy_loop_set_scoreboard(t[i].loop, child->sb, child->slot, -1);
		if (limit > 0)
			fy_loop_set_accept_limit(t[i].loop,
						 (limit + loops - 1) / loops);
		t[i].check = fy_mpm_watch_stop(
		    t[i].loop,
		    i == 0 ? fy_scoreboard_proc(child->sb, child->slot) : NULL);
	}
	pthread_t *tids = calloc((size_t)loops, sizeof(*tids));
	if (tids == NULL)
		return 1;
	for (int i = 0; i < loops; i++) {
		if (pthread_create(&t[i].tid, NULL, event_main, &t[i]) != 0) {
			fy_log(FY_LOG_ALERT, "mpm", NULL,
			       "could not create loop thread %d", i);
			return 1;
		}
		tids[i] = t[i].tid;
	}
	/* The loops end by themselves when MaxConnectionsPerChild is used
	 * up; the main thread waits for signals in the meantime. */
	if (!fy_mpm_wait_signals(NULL, 0))
		_exit(0);
	for (int i = 0; i < loops; i++) {
		pthread_join(t[i].tid, NULL);
		fy_mpm_unwatch_stop(t[i].check);
		fy_loop_free(t[i].loop);
	}
	free(tids);
	free(t);
	return 0;
}

static const struct fy_child_ops event_ops = {
	.name = "event",
	.count_threads = 1,
	.blocking_accept = 0,
	.child_main = event_child,
};

static int event_run(struct fy_config **cfg, struct fy_listener **ls,
		     size_t *n)
{
	return fy_master_run(cfg, ls, n, &event_ops);
}

const struct fy_mpm fy_mpm_event = {
	.name = "event",
	.threaded = 1,
	.forked = 1,
	.run = event_run,
};
