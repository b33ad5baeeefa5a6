/*
 * single.c - "foyer -X": one process, one event loop, in the foreground,
 * for debugging and for the test suite. The loop holds as many connections
 * as the descriptor limit allows.
 */
#include <event2/event.h>
#include <signal.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include "foyer/config.h"
#include "foyer/core.h"
#include "foyer/fcgi_client.h"
#include "foyer/log.h"
#include "foyer/mpm.h"
#include "foyer/scoreboard.h"
#include "foyer/server.h"
#include "foyer/status.h"

/* Descriptors kept back from connections for files, logs and backends. */
#define FD_RESERVE 64

struct single {
	struct fy_loop *loop;
};

static void on_stop(evutil_socket_t sig, short what, void *arg)
{
	(void)what;
	struct single *s = arg;
	fy_log(FY_LOG_NOTICE, "mpm", NULL, "caught %s, shutting down",
	       sig == SIGINT ? "SIGINT" : "SIGTERM");
	fy_loop_stop(s->loop, 0);
}

/* A managed PHP-FPM is this process's child: reap it, start it again. */
static void on_child(evutil_socket_t sig, short what, void *arg)
{
	(void)sig;
	(void)what;
	(void)arg;
	int status;
	pid_t pid;
	while ((pid = waitpid(-1, &status, WNOHANG)) > 0)
		fy_fcgi_spawn_reaped(pid, status);
}

static void on_reopen(evutil_socket_t sig, short what, void *arg)
{
	(void)sig;
	(void)what;
	(void)arg;
	fy_log_reopen_all();
	fy_log(FY_LOG_NOTICE, "mpm", NULL, "logs reopened");
}

/* Raises the soft descriptor limit to the hard one; returns the limit. */
static size_t raise_nofile(void)
{
	struct rlimit rl;
	if (getrlimit(RLIMIT_NOFILE, &rl) != 0)
		return 1024;
	if (rl.rlim_cur < rl.rlim_max) {
		rl.rlim_cur = rl.rlim_max;
		setrlimit(RLIMIT_NOFILE, &rl);
		getrlimit(RLIMIT_NOFILE, &rl);
	}
	return rl.rlim_cur == RLIM_INFINITY ? 1u << 20 : (size_t)rl.rlim_cur;
}

static int single_run(struct fy_config **cfgp, struct fy_listener **lsp,
		      size_t *np)
{
	struct fy_config *cfg = *cfgp;
	struct fy_listener *ls = *lsp;
	size_t n = *np;
	size_t nofile = raise_nofile();
	size_t max_conns =
	    nofile > 2 * FD_RESERVE ? nofile - FD_RESERVE : FD_RESERVE;

	struct single s;
	fy_loop_use_changelist(1); /* the one loop of the process */
	s.loop = fy_loop_create(cfg, ls, n, max_conns);
	/* A scoreboard of one slot, so that the status page works in -X. */
	struct fy_scoreboard *sb = fy_scoreboard_create(1, 1);
	if (s.loop == NULL || sb == NULL) {
		fy_log(FY_LOG_EMERG, "mpm", NULL,
		       "could not create the event loop");
		fy_loop_free(s.loop);
		if (sb != NULL)
			fy_scoreboard_destroy(sb);
		return 1;
	}
	/* As httpd -X: the status page names the configured MPM, which is
	 * what tooling keys its dashboards on, even though -X runs it as
	 * one process with one loop. */
	fy_scoreboard_set_server(sb, FY_SERVER_TOKEN, __DATE__ " " __TIME__,
				 cfg->mpm);
	fy_scoreboard_set_limits(sb, 1, 1);
	fy_scoreboard_set_generations(sb, 1, 0);
	fy_scoreboard_proc_start(fy_scoreboard_proc(sb, 0), getpid(), 0);
	fy_scoreboard_set_status(fy_scoreboard_slot(sb, 0, 0), FY_SLOT_READY);
	fy_status_set_scoreboard(sb);
	fy_loop_set_scoreboard(s.loop, sb, 0, -1);
	struct event_base *base = fy_loop_base(s.loop);
	static const struct {
		int sig;
		void (*fn)(evutil_socket_t, short, void *);
	} handlers[] = {
		{SIGTERM, on_stop},
		{SIGINT, on_stop},
		{SIGUSR1, on_reopen},
		{SIGHUP, on_reopen},
		{SIGCHLD, on_child},
	};
	struct event *sigs[FY_ARRAY_SIZE(handlers)];
	for (size_t i = 0; i < FY_ARRAY_SIZE(handlers); i++) {
		sigs[i] = evsignal_new(base, handlers[i].sig, handlers[i].fn, &s);
		if (sigs[i] != NULL)
			evsignal_add(sigs[i], NULL);
	}
	for (size_t i = 0; i < n; i++)
		fy_log(FY_LOG_NOTICE, "mpm", NULL,
		       FY_SERVER_TOKEN " listening on %s (pid %d, one process)",
		       ls[i].name, (int)getpid());

	int rc = fy_loop_run(s.loop);

	for (size_t i = 0; i < FY_ARRAY_SIZE(handlers); i++)
		if (sigs[i] != NULL)
			event_free(sigs[i]);
	fy_loop_free(s.loop);
	fy_status_set_scoreboard(NULL);
	fy_scoreboard_destroy(sb);
	return rc == FY_OK ? 0 : 1;
}

const struct fy_mpm fy_mpm_single = {
	.name = "single",
	.threaded = 0,
	.forked = 0,
	.run = single_run,
};
