/*
 * child.c - what every forked child shares: signals, stop requests and the
 * accept-then-serve runner of prefork processes and worker threads.
 */
#include <errno.h>
#include <event2/event.h>
#include <poll.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "foyer/config.h"
#include "foyer/core.h"
#include "foyer/fcgi_client.h"
#include "foyer/log.h"
#include "foyer/master.h"
#include "foyer/scoreboard.h"
#include "foyer/server.h"
#include "mpm_child.h"

/* How often a busy loop looks for a stop request. */
#define STOP_CHECK_MS 200

static atomic_int stop_graceful;
static atomic_int orphan_logged;
static pid_t master_pid;

static void on_usr1(int sig)
{
	(void)sig;
	atomic_store(&stop_graceful, 1);
	/* A stop that lands between the check and a blocking accept(2) is
	 * not seen until the master sends it again (maintain()). A dead
	 * master sends nothing: the alarm interrupts that accept instead. */
	if (getppid() != master_pid)
		alarm(1);
}

static void on_wake(int sig)
{
	(void)sig; /* only interrupts accept(2) */
}

void fy_mpm_child_signals(const struct fy_child *child, int threaded)
{
	master_pid = child->master;
	struct sigaction sa;
	memset(&sa, 0, sizeof(sa));
	sigemptyset(&sa.sa_mask);
	/* No SA_RESTART: a blocked accept(2) must return EINTR. */
	sa.sa_handler = on_usr1;
	sigaction(SIGUSR1, &sa, NULL);
	sa.sa_handler = on_wake;
	sigaction(SIGUSR2, &sa, NULL);
	sigaction(SIGALRM, &sa, NULL);
	signal(SIGTERM, SIG_DFL);
	signal(SIGINT, SIG_IGN);

	sigset_t set;
	sigemptyset(&set);
	sigaddset(&set, SIGUSR1);
	sigaddset(&set, SIGTERM);
	if (threaded) {
		/* The main thread takes USR1/TERM with sigwait; worker
		 * threads inherit this mask and unblock USR2 only. */
		sigaddset(&set, SIGUSR2);
		pthread_sigmask(SIG_BLOCK, &set, NULL);
	} else {
		pthread_sigmask(SIG_UNBLOCK, &set, NULL);
	}
}

/* Says once why the child stops when its master died: the master logs
 * every other stop, and nobody else will log this one. Called where a stop
 * is seen, not in the signal handler. */
static void log_if_orphaned(void)
{
	if (getppid() != master_pid && !atomic_exchange(&orphan_logged, 1))
		fy_log(FY_LOG_WARN, "mpm", NULL,
		       "parent process %d went away, exiting gracefully",
		       (int)master_pid);
}

int fy_mpm_wait_signals(pthread_t *wake, size_t n)
{
	sigset_t set;
	sigemptyset(&set);
	sigaddset(&set, SIGUSR1);
	sigaddset(&set, SIGTERM);
	int sig = 0;
	while (sigwait(&set, &sig) != 0 || (sig != SIGUSR1 && sig != SIGTERM))
		;
	if (sig == SIGTERM)
		return 0;
	atomic_store(&stop_graceful, 1);
	log_if_orphaned();
	for (size_t i = 0; i < n; i++)
		pthread_kill(wake[i], SIGUSR2);
	return 1;
}

void fy_mpm_request_stop(void)
{
	if (!atomic_exchange(&stop_graceful, 1))
		kill(getpid(), SIGUSR1);
}

int fy_mpm_stopping(void)
{
	if (!atomic_load(&stop_graceful))
		return 0;
	log_if_orphaned();
	return 1;
}

struct watch {
	struct fy_loop *loop;
	struct fy_scoreboard_proc *proc;
	int ticks;
};

static void on_check(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	struct watch *w = arg;
	if (fy_mpm_stopping())
		fy_loop_stop(w->loop, 1);
	/* CPU times for the status page, about once a second. */
	if (w->proc != NULL && ++w->ticks * STOP_CHECK_MS >= 1000) {
		w->ticks = 0;
		fy_scoreboard_proc_sample_cpu(w->proc);
	}
}

static void free_watch(struct event *ev)
{
	if (ev == NULL)
		return;
	free(event_get_callback_arg(ev));
	event_free(ev);
}

struct event *fy_mpm_watch_stop(struct fy_loop *loop,
				struct fy_scoreboard_proc *proc)
{
	struct watch *w = calloc(1, sizeof(*w));
	if (w == NULL)
		return NULL;
	w->loop = loop;
	w->proc = proc;
	struct event *ev = event_new(fy_loop_base(loop), -1, EV_PERSIST,
				     on_check, w);
	if (ev == NULL) {
		free(w);
		return NULL;
	}
	struct timeval tv = {0, STOP_CHECK_MS * 1000};
	event_add(ev, &tv);
	return ev;
}

void fy_mpm_unwatch_stop(struct event *ev)
{
	free_watch(ev);
}

int fy_mpm_runner_init(struct fy_mpm_runner *r, const struct fy_child *child,
		       int thread)
{
	r->child = child;
	r->thread = thread;
	r->loop = fy_loop_create(child->cfg, NULL, 0, 1);
	if (r->loop == NULL)
		return FY_ERROR;
	fy_loop_set_scoreboard(r->loop, child->sb, child->slot, thread);
	/* One thread of the process samples its CPU time. */
	r->check = fy_mpm_watch_stop(
	    r->loop, thread == 0 ? fy_scoreboard_proc(child->sb, child->slot)
				 : NULL);
	return FY_OK;
}

/* Waits for a connection on any listener. One listener: a blocking
 * accept(2), which the kernel hands to exactly one waiting process or
 * thread. Several: poll(2), then a non-blocking accept that may find the
 * connection taken by another child. */
static int accept_one(const struct fy_child *child, struct sockaddr *sa,
		      socklen_t *len, const struct fy_listener **l)
{
	*l = &child->ls[0];
	if (child->n_listeners == 1)
		return accept4(child->ls[0].fd, sa, len,
			       SOCK_NONBLOCK | SOCK_CLOEXEC);
	struct pollfd pfd[16];
	size_t n = child->n_listeners < 16 ? child->n_listeners : 16;
	for (size_t i = 0; i < n; i++) {
		pfd[i].fd = child->ls[i].fd;
		pfd[i].events = POLLIN;
	}
	if (poll(pfd, n, -1) <= 0)
		return -1;
	for (size_t i = 0; i < n; i++) {
		if (!(pfd[i].revents & POLLIN))
			continue;
		int fd = accept4(pfd[i].fd, sa, len, SOCK_NONBLOCK | SOCK_CLOEXEC);
		*l = &child->ls[i];
		if (fd >= 0 || errno != EAGAIN)
			return fd;
	}
	errno = EAGAIN;
	return -1;
}

int fy_mpm_runner_serve_one(struct fy_mpm_runner *r)
{
	struct sockaddr_storage ss;
	socklen_t len = sizeof(ss);
	fy_scoreboard_set_status(
	    fy_scoreboard_slot(r->child->sb, r->child->slot, r->thread),
	    FY_SLOT_READY);
	fy_fcgi_close_idle();
	const struct fy_listener *l;
	int fd = accept_one(r->child, (struct sockaddr *)&ss, &len, &l);
	if (fd < 0) {
		if (errno == EMFILE || errno == ENFILE) {
			fy_log(FY_LOG_ERR, "mpm", NULL,
			       "accept: %s; waiting a second (raise the open "
			       "files limit)", strerror(errno));
			sleep(1);
		}
		return FY_AGAIN;
	}
	if (fy_loop_add(r->loop, fd, (struct sockaddr *)&ss, len, l) != FY_OK)
		return FY_AGAIN;
	fy_loop_run_until_idle(r->loop);
	return FY_OK;
}

void fy_mpm_runner_fini(struct fy_mpm_runner *r)
{
	fy_mpm_unwatch_stop(r->check);
	fy_loop_free(r->loop);
}
