/*
 * worker.c - Apache's worker: ThreadsPerChild threads per child process,
 * one connection per thread (keep-alive included). An idle thread waits in
 * accept(2), so when all threads are busy new connections wait in the
 * kernel backlog, as with Apache's listener thread.
 */
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "foyer/config.h"
#include "foyer/core.h"
#include "foyer/log.h"
#include "foyer/master.h"
#include "foyer/mpm.h"
#include "foyer/server.h"
#include "mpm_child.h"

struct worker_thread {
	pthread_t tid;
	const struct fy_child *child;
	int index;
	atomic_int done;
};

static atomic_int connections_left; /* MaxConnectionsPerChild; <0: none */

static void *worker_main(void *arg)
{
	struct worker_thread *t = arg;
	struct fy_mpm_runner r;
	/* The main thread wakes this one from accept(2) with SIGUSR2. */
	sigset_t usr2;
	sigemptyset(&usr2);
	sigaddset(&usr2, SIGUSR2);
	pthread_sigmask(SIG_UNBLOCK, &usr2, NULL);
	if (fy_mpm_runner_init(&r, t->child, t->index) != FY_OK) {
		fy_log(FY_LOG_ALERT, "mpm", NULL, "worker thread %d could not "
		       "start", t->index);
		atomic_store(&t->done, 1);
		return NULL;
	}
	while (!fy_mpm_stopping()) {
		if (fy_mpm_runner_serve_one(&r) != FY_OK)
			continue;
		if (atomic_load(&connections_left) >= 0 &&
		    atomic_fetch_sub(&connections_left, 1) <= 1)
			fy_mpm_request_stop();
	}
	fy_mpm_runner_fini(&r);
	atomic_store(&t->done, 1);
	return NULL;
}

static int worker_child(const struct fy_child *child)
{
	int n = child->mpm->threads_per_child;
	int limit = child->mpm->max_connections_per_child;
	atomic_store(&connections_left, limit > 0 ? limit : -1);
	fy_mpm_child_signals(child, 1);

	struct worker_thread *threads = calloc((size_t)n, sizeof(*threads));
	pthread_t *tids = calloc((size_t)n, sizeof(*tids));
	if (threads == NULL || tids == NULL)
		return 1;
	int started = 0;
	for (int i = 0; i < n; i++) {
		threads[i].child = child;
		threads[i].index = i;
		if (pthread_create(&threads[i].tid, NULL, worker_main,
				   &threads[i]) != 0) {
			fy_log(FY_LOG_ALERT, "mpm", NULL,
			       "could not create worker thread %d: %s", i,
			       strerror(errno));
			break;
		}
		tids[started++] = threads[i].tid;
	}
	if (started == 0)
		return 1;

	if (!fy_mpm_wait_signals(tids, (size_t)started))
		_exit(0); /* SIGTERM: stop now */

	/* Graceful: threads in accept(2) were woken; a signal that raced
	 * with a thread entering accept is sent again until all are done. */
	for (;;) {
		int pending = 0;
		for (int i = 0; i < started; i++)
			if (!atomic_load(&threads[i].done)) {
				pending++;
				pthread_kill(threads[i].tid, SIGUSR2);
			}
		if (pending == 0)
			break;
		struct timespec ts = {0, 100 * 1000 * 1000};
		nanosleep(&ts, NULL);
	}
	for (int i = 0; i < started; i++)
		pthread_join(threads[i].tid, NULL);
	free(threads);
	free(tids);
	return 0;
}

static const struct fy_child_ops worker_ops = {
	.name = "worker",
	.count_threads = 1,
	.blocking_accept = 1,
	.child_main = worker_child,
};

static int worker_run(struct fy_config **cfg, struct fy_listener **ls,
		      size_t *n)
{
	return fy_master_run(cfg, ls, n, &worker_ops);
}

const struct fy_mpm fy_mpm_worker = {
	.name = "worker",
	.threaded = 1,
	.forked = 1,
	.run = worker_run,
};
