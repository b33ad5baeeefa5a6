/*
 * spawn.c - managed PHP-FPM pools ("[pool NAME] spawn = php-fpm8.2"): foyer
 * writes a pool configuration, starts PHP-FPM in the foreground as its own
 * child, points the pool at its socket, restarts it when it dies and stops
 * it on shutdown.
 */
#include <errno.h>
#include <fcntl.h>
#include <pwd.h>
#include <signal.h>
#include <sys/prctl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "foyer/config.h"
#include "foyer/core.h"
#include "foyer/fcgi_client.h"
#include "foyer/log.h"

/* How long PHP-FPM gets to create its socket, and to stop. */
#define START_WAIT_MS 10000
#define STOP_WAIT_MS 5000

struct managed {
	char name[64];
	char program[256];
	int children;
	pid_t pid;
	char conf[600];
	char sock[300];
	char log[600];
	int seen; /* still in the configuration (restart bookkeeping) */
	int root; /* started with -R */
};

static struct managed managed[32];
static size_t n_managed;

static void sleep_ms(int ms)
{
	struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000L};
	nanosleep(&ts, NULL);
}

/* The directory of the pid file: foyer's runtime directory. */
static void runtime_dir(const struct fy_config *cfg, char *out, size_t len)
{
	const char *pf = cfg->pid_file != NULL ? cfg->pid_file : "/run/foyer/x";
	const char *slash = strrchr(pf, '/');
	size_t n = slash != NULL ? (size_t)(slash - pf) : 0;
	if (n == 0)
		snprintf(out, len, "%s", slash != NULL ? "/" : ".");
	else
		snprintf(out, len, "%.*s", (int)n, pf);
}

/* foyer -X started by root with user = root (a demo): PHP-FPM must then be
 * told that root is meant (-R). The MPMs never run children as root. */
static int as_root(const struct fy_config *cfg)
{
	struct passwd *pw = getpwnam(cfg->user);
	return pw != NULL && pw->pw_uid == 0;
}

static int write_conf(const struct fy_config *cfg, struct managed *m)
{
	FILE *f = fopen(m->conf, "we");
	if (f == NULL)
		return FY_ERROR;
	fprintf(f,
		"; written by foyer for [pool %s]; changes are overwritten\n"
		"[global]\n"
		"error_log = %s\n"
		"daemonize = no\n"
		"[%s]\n"
		"listen = %s\n"
		"listen.mode = 0660\n"
		"pm = static\n"
		"pm.max_children = %d\n"
		"catch_workers_output = yes\n",
		m->name, m->log, m->name, m->sock, m->children);
	if (geteuid() == 0 && !as_root(cfg))
		/* PHP runs as the user foyer's children run as, and the
		 * socket belongs to it. */
		fprintf(f,
			"user = %s\ngroup = %s\n"
			"listen.owner = %s\nlisten.group = %s\n",
			cfg->user, cfg->group, cfg->user, cfg->group);
	return fclose(f) == 0 ? FY_OK : FY_ERROR;
}

static pid_t start_fpm(struct managed *m, int root)
{
	unlink(m->sock);
	pid_t parent = getpid();
	pid_t pid = fork();
	if (pid < 0)
		return -1;
	if (pid == 0) {
		sigset_t none;
		sigemptyset(&none);
		sigprocmask(SIG_SETMASK, &none, NULL);
		setpgid(0, 0); /* a Ctrl-C on foyer's terminal is foyer's */
		/* If foyer dies without stopping it (SIGKILL, a crash),
		 * PHP-FPM stops too instead of holding its socket forever. */
		prctl(PR_SET_PDEATHSIG, SIGTERM);
		if (getppid() != parent)
			_exit(1); /* it died before prctl */
		char *argv[] = {m->program, "-F", "-y", m->conf, NULL, NULL};
		if (root)
			argv[4] = "-R";
		execvp(m->program, argv);
		if (strchr(m->program, '/') == NULL) {
			/* Debian installs it in /usr/sbin, outside most
			 * users' PATH. */
			char path[300];
			snprintf(path, sizeof(path), "/usr/sbin/%s", m->program);
			execv(path, argv);
		}
		fprintf(stderr, "foyer: could not run %s: %s\n", m->program,
			strerror(errno));
		_exit(127);
	}
	/* Ready when the socket exists (or the process died). */
	for (int waited = 0; waited < START_WAIT_MS; waited += 20) {
		struct stat st;
		if (stat(m->sock, &st) == 0 && S_ISSOCK(st.st_mode))
			return pid;
		int status;
		if (waitpid(pid, &status, WNOHANG) == pid)
			return -1;
		sleep_ms(20);
	}
	return pid; /* slow, but alive: requests will wait or fail */
}

static struct managed *find(const char *name)
{
	for (size_t i = 0; i < n_managed; i++)
		if (strcmp(managed[i].name, name) == 0)
			return &managed[i];
	return NULL;
}

static void stop_one(struct managed *m)
{
	if (m->pid <= 0)
		return;
	/* SIGQUIT: PHP-FPM's graceful stop. */
	kill(m->pid, SIGQUIT);
	for (int waited = 0; waited < STOP_WAIT_MS; waited += 20) {
		if (waitpid(m->pid, NULL, WNOHANG) == m->pid) {
			m->pid = 0;
			break;
		}
		sleep_ms(20);
	}
	if (m->pid > 0) {
		kill(m->pid, SIGKILL);
		waitpid(m->pid, NULL, 0);
		m->pid = 0;
	}
	unlink(m->sock);
}

int fy_fcgi_spawn_start(struct fy_config *cfg)
{
	char dir[256];
	runtime_dir(cfg, dir, sizeof(dir));
	for (size_t i = 0; i < n_managed; i++)
		managed[i].seen = 0;
	for (size_t p = 0; p < cfg->n_pools; p++) {
		struct fy_pool *pool = cfg->pools[p];
		if (pool->spawn == NULL)
			continue;
		struct managed *m = find(pool->name);
		int children = pool->spawn_children > 0 ? pool->spawn_children : 4;
		if (m != NULL && m->pid > 0 &&
		    (strcmp(m->program, pool->spawn) != 0 || m->children != children)) {
			stop_one(m); /* changed: start it again below */
		}
		if (m == NULL) {
			if (n_managed == FY_ARRAY_SIZE(managed)) {
				fy_log(FY_LOG_EMERG, "fastcgi", NULL,
				       "too many managed pools");
				return FY_ERROR;
			}
			m = &managed[n_managed++];
			memset(m, 0, sizeof(*m));
			snprintf(m->name, sizeof(m->name), "%s", pool->name);
		}
		m->seen = 1;
		/* foyer knows how many children it gives PHP-FPM: requests
		 * beyond them wait in foyer's queue, in order, rather than in
		 * FPM's backlog behind kept connections. */
		if (pool->max_connections == 0)
			pool->max_connections = children;
		snprintf(m->program, sizeof(m->program), "%s", pool->spawn);
		m->children = children;
		snprintf(m->conf, sizeof(m->conf), "%s/php-fpm-%s.conf", dir,
			 pool->name);
		int sl = snprintf(m->sock, sizeof(m->sock), "%s/php-fpm-%s.sock",
				  dir, pool->name);
		if (sl < 0 || (size_t)sl >= 108) {
			/* sun_path holds 108 bytes */
			fy_log(FY_LOG_EMERG, "fastcgi", NULL,
			       "pool %s: the socket path in %s is too long; "
			       "move pid_file to a shorter directory",
			       pool->name, dir);
			return FY_ERROR;
		}
		snprintf(m->log, sizeof(m->log), "%s/php-fpm-%s.log", dir,
			 pool->name);
		if (m->pid <= 0) {
			if (write_conf(cfg, m) != FY_OK) {
				fy_log(FY_LOG_EMERG, "fastcgi", NULL,
				       "pool %s: could not write %s: %s",
				       pool->name, m->conf, strerror(errno));
				return FY_ERROR;
			}
			m->root = geteuid() == 0 && as_root(cfg);
			m->pid = start_fpm(m, m->root);
			if (m->pid <= 0) {
				fy_log(FY_LOG_EMERG, "fastcgi", NULL,
				       "pool %s: %s did not start (see %s)",
				       pool->name, pool->spawn, m->log);
				return FY_ERROR;
			}
			fy_log(FY_LOG_NOTICE, "fastcgi", NULL,
			       "pool %s: started %s (pid %d) on unix:%s",
			       pool->name, pool->spawn, (int)m->pid, m->sock);
		}
		/* The pool's only backend is the managed socket. */
		char **b = realloc(pool->backends, sizeof(char *));
		if (b == NULL)
			return FY_ERROR;
		for (size_t k = 0; k < pool->n_backends; k++)
			free(b[k]);
		pool->backends = b;
		pool->backends[0] = malloc(strlen(m->sock) + 6);
		if (pool->backends[0] == NULL)
			return FY_ERROR;
		sprintf(pool->backends[0], "unix:%s", m->sock);
		pool->n_backends = 1;
	}
	/* Pools gone from the configuration. */
	for (size_t i = 0; i < n_managed; i++)
		if (!managed[i].seen)
			stop_one(&managed[i]);
	return FY_OK;
}

int fy_fcgi_spawn_reaped(pid_t pid, int status)
{
	for (size_t i = 0; i < n_managed; i++) {
		struct managed *m = &managed[i];
		if (m->pid != pid)
			continue;
		fy_log(FY_LOG_ERR, "fastcgi", NULL,
		       "pool %s: %s (pid %d) exited (%s %d); starting it again",
		       m->name, m->program, (int)pid,
		       WIFSIGNALED(status) ? "signal" : "status",
		       WIFSIGNALED(status) ? WTERMSIG(status)
					   : WEXITSTATUS(status));
		/* Its workers, orphaned, would keep accepting on the old
		 * socket forever: they are in its process group. */
		kill(-pid, SIGKILL);
		m->pid = start_fpm(m, m->root);
		if (m->pid <= 0)
			fy_log(FY_LOG_ERR, "fastcgi", NULL,
			       "pool %s: %s did not start again (see %s)",
			       m->name, m->program, m->log);
		return 1;
	}
	return 0;
}

void fy_fcgi_spawn_stop(void)
{
	for (size_t i = 0; i < n_managed; i++)
		stop_one(&managed[i]);
	n_managed = 0;
}
