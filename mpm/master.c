/*
 * master.c - the master process of the forked MPMs: children, spare
 * capacity, signals, restarts and generations, as Apache's MPMs do them.
 */
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <pwd.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "foyer/config.h"
#include "foyer/core.h"
#include "foyer/fcgi_client.h"
#include "foyer/log.h"
#include "foyer/master.h"
#include "foyer/scoreboard.h"
#include "foyer/server.h"
#include "foyer/status.h"

/* Apache's MAX_SPAWN_RATE: children forked per second at most. */
#define MAX_SPAWN_RATE 32
/* Seconds a stopping child is given before SIGKILL (Apache: 9). */
#define RECLAIM_KILL_AFTER 9
#define ERRBUF 16384

struct child_rec {
	pid_t pid; /* 0: free slot */
	int generation;
	int pools_epoch; /* the FastCGI pools it was forked with */
	int quiescing; /* told to stop gracefully */
};

struct master {
	struct fy_config *cfg;
	struct fy_mpm_config *mpm;
	struct fy_listener *ls;
	size_t n;
	const struct fy_child_ops *ops;
	struct fy_scoreboard *sb;
	struct child_rec *children;
	int server_limit; /* fixed at first start, as Apache's scoreboard */
	int thread_limit;
	int generation;	  /* MPM generation: +1 per restart */
	int config_generation;
	/* +1 each time fy_server_init maps new FastCGI pools: the master
	 * unmaps the old ones then, while old children may still use them,
	 * so it can only settle the accounts of children of this epoch. */
	int pools_epoch;
	/* Children are told to stop now (SIGTERM): they exit without closing
	 * their FastCGI connections, and nobody will wait for those slots. */
	int reclaiming;
	int spawn_rate;
	int hold_off;	  /* spawning cycles without doubling after restart */
	int reached_max_logged;
	int drop_privileges;
	uid_t uid;
	gid_t gid;
	sigset_t blocked;
};

struct fy_mpm_config *fy_master_mpm_config(struct fy_config *cfg)
{
	return fy_config_mpm(cfg);
}

/* ---- privileges and limits ------------------------------------------- */

static int resolve_user(struct master *m)
{
	if (geteuid() != 0) {
		/* Not root: children run as whoever started us, as Apache. */
		m->drop_privileges = 0;
		return FY_OK;
	}
	struct passwd *pw = getpwnam(m->cfg->user);
	if (pw == NULL) {
		fy_log(FY_LOG_EMERG, "mpm", NULL, "user %s does not exist",
		       m->cfg->user);
		return FY_ERROR;
	}
	struct group *gr = getgrnam(m->cfg->group);
	if (gr == NULL) {
		fy_log(FY_LOG_EMERG, "mpm", NULL, "group %s does not exist",
		       m->cfg->group);
		return FY_ERROR;
	}
	if (pw->pw_uid == 0) {
		fy_log(FY_LOG_EMERG, "mpm", NULL,
		       "refusing to run children as root (user = %s): set user "
		       "to an unprivileged account such as www-data",
		       m->cfg->user);
		return FY_ERROR;
	}
	m->uid = pw->pw_uid;
	m->gid = gr->gr_gid;
	m->drop_privileges = 1;
	return FY_OK;
}

static int drop_privileges(const struct master *m)
{
	if (!m->drop_privileges)
		return FY_OK;
	if (setgid(m->gid) != 0 || initgroups(m->cfg->user, m->gid) != 0 ||
	    setuid(m->uid) != 0) {
		fy_log(FY_LOG_EMERG, "mpm", NULL,
		       "could not switch to user %s, group %s: %s", m->cfg->user,
		       m->cfg->group, strerror(errno));
		return FY_ERROR;
	}
	/* setuid(0) must fail now, or the drop did not happen. */
	if (setuid(0) == 0) {
		fy_log(FY_LOG_EMERG, "mpm", NULL, "still root after setuid");
		return FY_ERROR;
	}
	return FY_OK;
}

/* Descriptors one child may need: its connections (and, per connection, a
 * file or a backend socket), plus logs and listeners. */
static rlim_t fds_needed(const struct master *m)
{
	const struct fy_mpm_config *c = m->mpm;
	rlim_t conns;
	if (strcmp(m->ops->name, "event") == 0)
		conns = (rlim_t)((c->async_request_worker_factor + 1.0) *
				 c->threads_per_child) + 1;
	else
		conns = (rlim_t)c->threads_per_child;
	return conns * 2 + m->n + m->cfg->n_sites + 64;
}

/* Raises RLIMIT_NOFILE to what the configuration needs, or says in one
 * line why it cannot: the classic "ulimit -n" failure must not surface later
 * as accept errors. */
static void raise_fd_limit(const struct master *m)
{
	rlim_t need = fds_needed(m);
	struct rlimit rl;
	if (getrlimit(RLIMIT_NOFILE, &rl) != 0 || rl.rlim_cur >= need)
		return;
	struct rlimit want = rl;
	want.rlim_cur = need;
	if (want.rlim_max != RLIM_INFINITY && want.rlim_max < need)
		want.rlim_max = need; /* only root may raise the hard limit */
	if (setrlimit(RLIMIT_NOFILE, &want) == 0)
		return;
	want.rlim_cur = rl.rlim_max;
	want.rlim_max = rl.rlim_max;
	setrlimit(RLIMIT_NOFILE, &want);
	fy_log(FY_LOG_WARN, "mpm", NULL,
	       "open files limit (ulimit -n) is %llu, below the %llu this "
	       "configuration may need per child (%s): connections beyond it "
	       "will be refused; raise LimitNOFILE or the hard limit",
	       (unsigned long long)want.rlim_cur, (unsigned long long)need,
	       strerror(errno));
}

/* ---- children ---------------------------------------------------------- */

static int live_children(const struct master *m)
{
	int n = 0;
	for (int i = 0; i < m->server_limit; i++)
		if (m->children[i].pid != 0)
			n++;
	return n;
}

static int make_child(struct master *m, int slot)
{
	/* The master owns a dead process's slots until the fork. */
	int threads = m->ops->count_threads ? m->mpm->threads_per_child : 1;
	for (int t = 0; t < threads; t++)
		fy_scoreboard_set_status(fy_scoreboard_slot(m->sb, slot, t),
					 FY_SLOT_STARTING);
	pid_t master = getpid();
	pid_t pid = fork();
	if (pid < 0) {
		fy_log(FY_LOG_ALERT, "mpm", NULL, "fork: %s", strerror(errno));
		fy_scoreboard_proc_exit(m->sb, slot);
		return FY_ERROR;
	}
	if (pid == 0) {
		/* Child: the master's signal mask is kept (child_main
		 * decides how to take TERM and USR1); dispositions reset. */
		signal(SIGHUP, SIG_DFL);
		signal(SIGWINCH, SIG_DFL);
		signal(SIGCHLD, SIG_DFL);
		if (drop_privileges(m) != FY_OK)
			_exit(1);
		/* If the master dies without stopping it (SIGKILL, a crash),
		 * the child stops gracefully instead of accepting on as an
		 * orphan. After the privilege drop, which clears the setting;
		 * the kernel sends it when the forking thread ends, and the
		 * master forks from its only thread. */
		prctl(PR_SET_PDEATHSIG, SIGUSR1);
		if (getppid() != master) {
			/* it died before prctl */
			fy_log(FY_LOG_WARN, "mpm", NULL,
			       "parent process %d went away, exiting",
			       (int)master);
			_exit(0);
		}
		struct fy_child child = {
		    .cfg = m->cfg,
		    .mpm = m->mpm,
		    .ls = m->ls,
		    .n_listeners = m->n,
		    .sb = m->sb,
		    .slot = slot,
		    .generation = m->generation,
		    .master = master,
		};
		int rc = m->ops->child_main(&child);
		_exit(rc);
	}
	m->children[slot].pid = pid;
	m->children[slot].generation = m->generation;
	m->children[slot].pools_epoch = m->pools_epoch;
	m->children[slot].quiescing = 0;
	fy_scoreboard_proc_start(fy_scoreboard_proc(m->sb, slot), pid,
				 m->generation);
	return FY_OK;
}

static void signal_children(struct master *m, int sig, int old_only)
{
	for (int i = 0; i < m->server_limit; i++) {
		struct child_rec *c = &m->children[i];
		if (c->pid == 0 || (old_only && c->generation == m->generation))
			continue;
		if (sig == SIGUSR1) {
			if (c->quiescing)
				continue;
			c->quiescing = 1;
			fy_scoreboard_proc_set_quiescing(
			    fy_scoreboard_proc(m->sb, i), 1);
		}
		kill(c->pid, sig);
	}
}

static const char *signame(int sig)
{
	const char *s = sigabbrev_np(sig);
	return s != NULL ? s : "?";
}

/* Reaps every child that exited. Returns how many did. */
static int reap(struct master *m)
{
	int count = 0;
	for (;;) {
		int st;
		pid_t pid = waitpid(-1, &st, WNOHANG);
		if (pid <= 0)
			return count;
		count++;
		if (fy_fcgi_spawn_reaped(pid, st))
			continue;
		int slot = -1;
		for (int i = 0; i < m->server_limit; i++)
			if (m->children[i].pid == pid) {
				slot = i;
				break;
			}
		if (WIFSIGNALED(st))
			fy_log(FY_LOG_NOTICE, "mpm", NULL,
			       "child pid %d exit signal %s (%d)%s", (int)pid,
			       signame(WTERMSIG(st)), WTERMSIG(st),
			       WCOREDUMP(st) ? ", possible coredump" : "");
		else if (WIFEXITED(st) && WEXITSTATUS(st) != 0)
			fy_log(FY_LOG_ERR, "mpm", NULL,
			       "child pid %d exited with status %d", (int)pid,
			       WEXITSTATUS(st));
		if (slot >= 0) {
			struct child_rec *ch = &m->children[slot];
			/* A child killed or crashed while holding FastCGI
			 * connection slots: give them back before anyone
			 * (its replacement too) waits for them. */
			if (ch->pools_epoch == m->pools_epoch && !m->reclaiming)
				fy_fcgi_pools_reaped(m->cfg, pid);
			int respawn = WIFSIGNALED(st) && m->ops->count_threads &&
				      !ch->quiescing &&
				      ch->generation == m->generation;
			ch->pid = 0;
			fy_scoreboard_proc_exit(m->sb, slot);
			/* worker and event replace a killed child at once,
			 * as Apache's do; prefork leaves it to the spare
			 * maintenance. */
			if (respawn)
				make_child(m, slot);
		}
		struct rusage ru;
		if (getrusage(RUSAGE_CHILDREN, &ru) == 0)
			fy_scoreboard_set_children_cpu(
			    m->sb,
			    (uint64_t)ru.ru_utime.tv_sec * 1000000 +
				(uint64_t)ru.ru_utime.tv_usec,
			    (uint64_t)ru.ru_stime.tv_sec * 1000000 +
				(uint64_t)ru.ru_stime.tv_usec);
	}
}

/* Stops every child: TERM now, then SIGKILL for those that linger. */
static void reclaim_children(struct master *m)
{
	m->reclaiming = 1;
	signal_children(m, SIGTERM, 0);
	for (int tick = 0; live_children(m) > 0; tick++) {
		struct timespec ts = {0, 100 * 1000 * 1000};
		nanosleep(&ts, NULL);
		reap(m);
		if (tick == 30 || tick == 50 || tick == 70)
			for (int i = 0; i < m->server_limit; i++)
				if (m->children[i].pid != 0) {
					fy_log(FY_LOG_WARN, "mpm", NULL,
					       "child process %d still did not "
					       "exit, sending a SIGTERM",
					       (int)m->children[i].pid);
					kill(m->children[i].pid, SIGTERM);
				}
		if (tick == RECLAIM_KILL_AFTER * 10) {
			for (int i = 0; i < m->server_limit; i++)
				if (m->children[i].pid != 0) {
					fy_log(FY_LOG_ERR, "mpm", NULL,
					       "child process %d still did not "
					       "exit, sending a SIGKILL",
					       (int)m->children[i].pid);
					kill(m->children[i].pid, SIGKILL);
				}
		}
		if (tick > RECLAIM_KILL_AFTER * 10 + 10)
			break;
	}
	m->reclaiming = 0;
}

static int free_slot(const struct master *m, int limit)
{
	for (int i = 0; i < limit && i < m->server_limit; i++)
		if (m->children[i].pid == 0)
			return i;
	return -1;
}

/* Idle worker slots of process proc: waiting for a connection, or still
 * starting (Apache counts both). */
static int idle_workers(const struct fy_status_snapshot *snap, int proc,
			int threads)
{
	int n = 0;
	for (int t = 0; t < threads && t < snap->thread_limit; t++) {
		enum fy_slot_status st =
		    snap->slots[proc * snap->thread_limit + t].status;
		if (st == FY_SLOT_READY || st == FY_SLOT_STARTING)
			n++;
	}
	return n;
}

static int64_t now_us(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

/* What the status page needs to tell disabled slots from dead ones:
 * Apache's MAX_DAEMONS per MPM. */
static void set_limits(struct master *m)
{
	int daemons = m->mpm->daemons_limit;
	if (strcmp(m->ops->name, "event") == 0)
		daemons = m->server_limit;
	fy_scoreboard_set_limits(m->sb, daemons,
				 m->ops->count_threads ? m->mpm->threads_per_child
						       : 1);
}

/* Keeps spare capacity between the MPM's limits, once a second, spawning
 * 1, 2, 4 ... 32 children per second while short (Apache's
 * perform_idle_server_maintenance). */
static void maintain(struct master *m)
{
	const struct fy_mpm_config *c = m->mpm;
	int idle = 0, active = 0, kill_slot = -1;
	struct fy_status_snapshot *snap = fy_scoreboard_snapshot(m->sb);
	if (snap == NULL)
		return;
	for (int i = 0; i < m->server_limit; i++) {
		struct child_rec *ch = &m->children[i];
		if (ch->pid == 0 || ch->quiescing || ch->generation != m->generation)
			continue;
		active++;
		/* A child that stopped accepting (event: its connections are
		 * at the AsyncRequestWorkerFactor limit) has no spare
		 * capacity for new connections, whatever its free slots say
		 * (Apache's event counts the same way). */
		if (snap->procs[i].not_accepting)
			continue;
		int n = idle_workers(snap, i, m->ops->count_threads
						  ? c->threads_per_child
						  : 1);
		idle += n;
		if (n > 0)
			kill_slot = i;
	}
	fy_scoreboard_snapshot_free(snap);
	/* A quiescing child that raced its stop signal with a blocking
	 * accept(2) gets it again. */
	for (int i = 0; i < m->server_limit; i++)
		if (m->children[i].pid != 0 && m->children[i].quiescing)
			kill(m->children[i].pid, SIGUSR1);
	int min_spare = m->ops->count_threads ? c->min_spare_threads
					      : c->min_spare_servers;
	int max_spare = m->ops->count_threads ? c->max_spare_threads
					      : c->max_spare_servers;

	if (idle > max_spare && kill_slot >= 0 &&
	    (!m->ops->count_threads ||
	     idle - c->threads_per_child >= min_spare)) {
		/* One at a time, as Apache: a burst may come back. */
		struct child_rec *ch = &m->children[kill_slot];
		ch->quiescing = 1;
		fy_scoreboard_proc_set_quiescing(fy_scoreboard_proc(m->sb, kill_slot),
						 1);
		kill(ch->pid, SIGUSR1);
		m->spawn_rate = 1;
		return;
	}
	if (idle >= min_spare) {
		m->spawn_rate = 1;
		return;
	}
	int to_spawn = m->spawn_rate;
	int spawned = 0;
	while (spawned < to_spawn && active + spawned < c->daemons_limit) {
		int slot = free_slot(m, m->server_limit);
		if (slot < 0)
			break;
		if (make_child(m, slot) != FY_OK)
			break;
		spawned++;
	}
	if (spawned == 0) {
		if (!m->reached_max_logged) {
			fy_log(FY_LOG_ERR, "mpm", NULL,
			       "server reached MaxRequestWorkers setting, "
			       "consider raising the MaxRequestWorkers setting");
			m->reached_max_logged = 1;
		}
		m->spawn_rate = 1;
		return;
	}
	if (m->spawn_rate >= 8)
		fy_log(FY_LOG_INFO, "mpm", NULL,
		       "server seems busy, (you may need to increase "
		       "StartServers, %s), spawning %d children, there are %d "
		       "idle, and %d total children",
		       m->ops->count_threads ? "ThreadsPerChild or "
					       "Min/MaxSpareThreads"
					     : "or Min/MaxSpareServers",
		       spawned, idle, active + spawned);
	if (m->hold_off > 0)
		m->hold_off--;
	else if (m->spawn_rate < MAX_SPAWN_RATE)
		m->spawn_rate *= 2;
}

static void start_children(struct master *m, int count)
{
	int active = 0;
	for (int i = 0; i < m->server_limit; i++)
		if (m->children[i].pid != 0 && !m->children[i].quiescing)
			active++;
	for (int i = 0; i < count && active < m->mpm->daemons_limit; i++) {
		int slot = free_slot(m, m->server_limit);
		if (slot < 0 || make_child(m, slot) != FY_OK)
			break;
		active++;
	}
}

/* ---- restarts ---------------------------------------------------------- */

static int same_listen(const struct fy_config *a, const struct fy_config *b)
{
	if (a->n_listen != b->n_listen)
		return 0;
	for (size_t i = 0; i < a->n_listen; i++)
		if (strcmp(a->listen[i].host, b->listen[i].host) != 0 ||
		    a->listen[i].port != b->listen[i].port ||
		    a->listen[i].tls != b->listen[i].tls)
			return 0;
	return 1;
}

static void set_listeners_blocking(struct master *m)
{
	if (!m->ops->blocking_accept || m->n != 1)
		return;
	int fl = fcntl(m->ls[0].fd, F_GETFL);
	if (fl >= 0)
		fcntl(m->ls[0].fd, F_SETFL, fl & ~O_NONBLOCK);
}

/* Loads the configuration again. Returns the new one, or NULL (logged)
 * when it has errors: the server goes on with the old one. */
static struct fy_config *reload(struct master *m)
{
	char *err = calloc(1, ERRBUF), *warn = calloc(1, ERRBUF);
	struct fy_config *cfg = NULL;
	if (err == NULL || warn == NULL)
		goto out;
	cfg = fy_config_load(m->cfg->file, err, ERRBUF);
	/* Apache's restart texts; ServerLimit and ThreadLimit keep the
	 * running values (the scoreboard is not resized). */
	if (cfg != NULL &&
	    fy_config_check_restart(cfg, m->cfg, err, ERRBUF, warn, ERRBUF) != 0) {
		fy_config_free(cfg);
		cfg = NULL;
	}
	if (cfg == NULL) {
		fy_log(FY_LOG_ERR, "mpm", NULL,
		       "configuration error, keeping the running one: %s", err);
		goto out;
	}
	char *save = NULL;
	for (char *line = strtok_r(warn, "\n", &save); line != NULL;
	     line = strtok_r(NULL, "\n", &save))
		fy_log(FY_LOG_WARN, "mpm", NULL, "%s", line);
	if (!same_listen(m->cfg, cfg)) {
		struct fy_listener *ls;
		size_t n;
		char e[512];
		if (fy_listeners_open(cfg, &ls, &n, e, sizeof(e)) != FY_OK) {
			fy_log(FY_LOG_ERR, "mpm", NULL,
			       "%s; keeping the running configuration", e);
			fy_config_free(cfg);
			cfg = NULL;
			goto out;
		}
		fy_listeners_close(m->ls, m->n);
		m->ls = ls;
		m->n = n;
		set_listeners_blocking(m);
	}
out:
	free(err);
	free(warn);
	return cfg;
}

static void restart(struct master *m, int graceful)
{
	if (graceful)
		fy_log(FY_LOG_NOTICE, "mpm", NULL,
		       "SIGUSR1 received.  Doing graceful restart");
	else
		fy_log(FY_LOG_NOTICE, "mpm", NULL,
		       "SIGHUP received.  Attempting to restart");
	struct fy_config *cfg = reload(m);
	if (cfg != NULL) {
		fy_server_fini(m->cfg);
		m->pools_epoch++;
		if (fy_server_init(cfg) != FY_OK) {
			fy_log(FY_LOG_ERR, "mpm", NULL,
			       "new configuration could not start; keeping "
			       "the running one");
			fy_server_fini(cfg);
			fy_config_free(cfg);
			fy_server_init(m->cfg);
		} else {
			/* Children already forked keep their own copy. */
			fy_config_free(m->cfg);
			m->cfg = cfg;
			m->mpm = fy_master_mpm_config(cfg);
			m->config_generation++;
		}
	}
	fy_log_reopen_all();
	if (graceful) {
		signal_children(m, SIGUSR1, 0);
	} else {
		reclaim_children(m);
		fy_scoreboard_reset(m->sb, now_us());
	}
	m->generation++;
	fy_scoreboard_set_generations(m->sb, m->config_generation, m->generation);
	set_limits(m);
	m->spawn_rate = 1;
	m->hold_off = graceful ? 10 : 0;
	start_children(m, m->mpm->start_servers);
	fy_log(FY_LOG_NOTICE, "mpm", NULL,
	       FY_SERVER_TOKEN " (%s) configured -- resuming normal operations",
	       m->ops->name);
}

/* Graceful stop: listeners closed, children finish what they hold, for at
 * most GracefulShutdownTimeout seconds (0: as long as it takes). */
static void graceful_stop(struct master *m)
{
	fy_log(FY_LOG_NOTICE, "mpm", NULL,
	       "caught SIGWINCH, shutting down gracefully");
	fy_listeners_close(m->ls, m->n);
	m->ls = NULL;
	m->n = 0;
	signal_children(m, SIGUSR1, 0);
	time_t deadline = m->cfg->graceful_shutdown_timeout > 0
			      ? time(NULL) + m->cfg->graceful_shutdown_timeout
			      : 0;
	while (live_children(m) > 0) {
		if (deadline != 0 && time(NULL) >= deadline)
			break;
		struct timespec ts = {0, 200 * 1000 * 1000};
		siginfo_t info;
		int sig = sigtimedwait(&m->blocked, &info, &ts);
		if (sig == SIGTERM || sig == SIGINT)
			break;
		reap(m);
	}
	reclaim_children(m);
}

int fy_master_run(struct fy_config **cfgp, struct fy_listener **lsp,
		  size_t *np, const struct fy_child_ops *ops)
{
	struct master m = {
	    .cfg = *cfgp,
	    .ls = *lsp,
	    .n = *np,
	    .ops = ops,
	    .spawn_rate = 1,
	    .config_generation = 1,
	};
	m.mpm = fy_master_mpm_config(m.cfg);
	m.server_limit = m.mpm->server_limit;
	m.thread_limit = ops->count_threads ? m.mpm->thread_limit : 1;
	int rc = 0;

	if (resolve_user(&m) != FY_OK)
		return 1;
	raise_fd_limit(&m);
	m.children = calloc((size_t)m.server_limit, sizeof(*m.children));
	m.sb = fy_scoreboard_create(m.server_limit, m.thread_limit);
	if (m.children == NULL || m.sb == NULL) {
		fy_log(FY_LOG_EMERG, "mpm", NULL,
		       "could not create the scoreboard for %d x %d slots",
		       m.server_limit, m.thread_limit);
		free(m.children);
		return 1;
	}
	fy_scoreboard_set_server(m.sb, FY_SERVER_TOKEN, __DATE__ " " __TIME__,
				 ops->name);
	set_limits(&m);
	fy_scoreboard_set_generations(m.sb, m.config_generation, m.generation);
	fy_status_set_scoreboard(m.sb);
	set_listeners_blocking(&m);

	sigemptyset(&m.blocked);
	int sigs[] = {SIGTERM, SIGINT, SIGHUP, SIGUSR1, SIGWINCH, SIGCHLD};
	for (size_t i = 0; i < FY_ARRAY_SIZE(sigs); i++)
		sigaddset(&m.blocked, sigs[i]);
	sigset_t old;
	sigprocmask(SIG_BLOCK, &m.blocked, &old);

	start_children(&m, m.mpm->start_servers);
	fy_log(FY_LOG_NOTICE, "mpm", NULL,
	       FY_SERVER_TOKEN " (%s) configured -- resuming normal operations",
	       ops->name);
	for (size_t i = 0; i < m.n; i++)
		fy_log(FY_LOG_NOTICE, "mpm", NULL, "listening on %s",
		       m.ls[i].name);

	struct timespec last = {0, 0};
	for (;;) {
		struct timespec ts = {1, 0};
		siginfo_t info;
		int sig = sigtimedwait(&m.blocked, &info, &ts);
		if (sig == SIGTERM || sig == SIGINT) {
			fy_log(FY_LOG_NOTICE, "mpm", NULL,
			       "caught %s, shutting down",
			       sig == SIGTERM ? "SIGTERM" : "SIGINT");
			reclaim_children(&m);
			break;
		}
		if (sig == SIGWINCH) {
			graceful_stop(&m);
			break;
		}
		if (sig == SIGHUP || sig == SIGUSR1) {
			restart(&m, sig == SIGUSR1);
			continue;
		}
		reap(&m);
		struct timespec now;
		clock_gettime(CLOCK_MONOTONIC, &now);
		if (now.tv_sec - last.tv_sec >= 1) {
			maintain(&m);
			last = now;
		}
	}

	sigprocmask(SIG_SETMASK, &old, NULL);
	fy_scoreboard_destroy(m.sb);
	free(m.children);
	*cfgp = m.cfg;
	*lsp = m.ls;
	*np = m.n;
	return rc;
}
