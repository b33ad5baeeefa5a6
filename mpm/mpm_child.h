/*
 * mpm_child.h - private to mpm/: what the children of prefork, worker and
 * event share: stop requests, and a "runner" that accepts one connection
 * at a time and serves it on its own loop (a prefork process, a worker
 * thread).
 */
#ifndef FOYER_MPM_CHILD_H
#define FOYER_MPM_CHILD_H

#include <pthread.h>

struct fy_child;
struct fy_loop;
struct event;
struct fy_scoreboard_proc;

/* Installs the child's handling of SIGUSR1 (graceful stop: finish what is
 * in progress; sent by the master, or by the kernel when the master dies)
 * and SIGTERM (stop now). threaded: the calling (main) thread will wait for
 * them with fy_mpm_wait_signals(); else they interrupt accept(2) in this
 * single thread. A stop because child->master died is logged once, when
 * it is seen. */
void fy_mpm_child_signals(const struct fy_child *child, int threaded);

/* Blocks the main thread of a threaded child until a stop is asked, then
 * wakes the threads in wake[] (blocked in accept) with a signal. Returns 1
 * for a graceful stop, 0 for an immediate one. */
int fy_mpm_wait_signals(pthread_t *wake, size_t n);

/* Asks this child to stop gracefully (MaxConnectionsPerChild reached). */
void fy_mpm_request_stop(void);

/* True once a graceful stop was asked (by the master, its death, or
 * fy_mpm_request_stop()). */
int fy_mpm_stopping(void);

struct fy_mpm_runner {
	const struct fy_child *child;
	struct fy_loop *loop;
	struct event *check; /* notices a stop request during a connection */
	int thread;	     /* worker slot within the process */
};

int fy_mpm_runner_init(struct fy_mpm_runner *r, const struct fy_child *child,
		       int thread);
/* Accepts one connection and serves it to the end. Returns FY_OK when one
 * was served, FY_AGAIN when interrupted (check fy_mpm_stopping()). */
int fy_mpm_runner_serve_one(struct fy_mpm_runner *r);
void fy_mpm_runner_fini(struct fy_mpm_runner *r);

/* Adds a timer to loop that stops it gracefully once a stop is asked, and
 * samples the process's CPU time into proc (if not NULL) once a second.
 * Free it with fy_mpm_unwatch_stop(). */
struct event *fy_mpm_watch_stop(struct fy_loop *loop,
				struct fy_scoreboard_proc *proc);
void fy_mpm_unwatch_stop(struct event *ev);

#endif
