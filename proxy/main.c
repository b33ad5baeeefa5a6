/*
 * main.c - the foyer command line.
 */
#include <errno.h>
#include <event2/event.h>
#include <getopt.h>
#include <openssl/opensslv.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/utsname.h>
#include <unistd.h>

#include "foyer/config.h"
#include "foyer/core.h"
#include "foyer/log.h"
#include "foyer/server.h"

#define DEFAULT_CONFIG "/etc/foyer/foyer.ini"
#define ERRBUF 16384

/* Connections one -X loop may hold: bounded by the descriptors we have,
 * keeping some for files and logs. */
#define FD_RESERVE 64

static void usage(FILE *f)
{
	fprintf(f,
		"Usage: foyer [-f FILE] [-t] [-X] [-V] [-v] [-h]\n"
		"  -f FILE  configuration file (default " DEFAULT_CONFIG ")\n"
		"  -t       check the configuration and exit\n"
		"  -X       run one process in the foreground (debugging)\n"
		"  -V       show version and build settings\n"
		"  -v       show version\n"
		"  -h       this help\n");
}

static void show_version(void)
{
	printf("Server version: " FY_SERVER_TOKEN "\n");
}

static void show_settings(void)
{
	struct utsname u;
	show_version();
	printf("Server built:   " __DATE__ " " __TIME__ "\n");
	printf("Server's Module Magic Number: none\n");
	printf("Server loaded:  libevent %s, %s\n", event_get_version(),
	       OPENSSL_VERSION_TEXT);
	if (uname(&u) == 0)
		printf("Architecture:   %s\n", u.machine);
	printf("Server MPM:     none (single process, -X)\n");
	printf("Server compiled with....\n");
	printf(" -D DEFAULT_CONFIG=\"" DEFAULT_CONFIG "\"\n");
}

struct run_state {
	struct fy_loop *loop;
};

static void on_stop(evutil_socket_t sig, short what, void *arg)
{
	(void)what;
	struct run_state *rs = arg;
	fy_log(FY_LOG_NOTICE, "core", NULL, "caught %s, shutting down",
	       sig == SIGINT ? "SIGINT" : "SIGTERM");
	fy_loop_stop(rs->loop, 0);
}

static void on_reopen(evutil_socket_t sig, short what, void *arg)
{
	(void)sig;
	(void)what;
	(void)arg;
	fy_log_reopen_all();
	fy_log(FY_LOG_NOTICE, "core", NULL, "logs reopened");
}

/* Raises the soft limit on descriptors to the hard limit; returns what the
 * process may open. */
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

/* Writes our pid for foyer -k and init scripts. Returns 1 if written. */
static int write_pid_file(const char *path)
{
	if (path == NULL || path[0] == '\0')
		return 0;
	char tmp[4096];
	if (snprintf(tmp, sizeof(tmp), "%s.tmp", path) >= (int)sizeof(tmp))
		return 0;
	FILE *f = fopen(tmp, "we");
	if (f == NULL) {
		fy_log(FY_LOG_WARN, "core", NULL, "could not write pid file %s: %s",
		       path, strerror(errno));
		return 0;
	}
	fprintf(f, "%d\n", (int)getpid());
	/* rename: a reader never sees a half-written file */
	if (fclose(f) != 0 || rename(tmp, path) != 0) {
		fy_log(FY_LOG_WARN, "core", NULL, "could not write pid file %s: %s",
		       path, strerror(errno));
		unlink(tmp);
		return 0;
	}
	return 1;
}

static int run_single(struct fy_config *cfg)
{
	char err[1024] = "";
	struct fy_listener *ls = NULL;
	size_t nls = 0;
	if (fy_listeners_open(cfg, &ls, &nls, err, sizeof(err)) != FY_OK) {
		fy_log(FY_LOG_EMERG, "core", NULL, "%s", err);
		fprintf(stderr, "foyer: %s\n", err);
		return 1;
	}
	if (fy_server_init(cfg) != FY_OK) {
		fy_listeners_close(ls, nls);
		return 1;
	}
	size_t nofile = raise_nofile();
	size_t max_conns = nofile > 2 * FD_RESERVE ? nofile - FD_RESERVE : FD_RESERVE;

	struct run_state rs;
	rs.loop = fy_loop_create(cfg, ls, nls, max_conns);
	if (rs.loop == NULL) {
		fy_log(FY_LOG_EMERG, "core", NULL, "could not create the event loop");
		fy_listeners_close(ls, nls);
		fy_server_fini(cfg);
		return 1;
	}
	struct event_base *base = fy_loop_base(rs.loop);
	struct event *sigs[4];
	sigs[0] = evsignal_new(base, SIGTERM, on_stop, &rs);
	sigs[1] = evsignal_new(base, SIGINT, on_stop, &rs);
	sigs[2] = evsignal_new(base, SIGUSR1, on_reopen, &rs);
	sigs[3] = evsignal_new(base, SIGHUP, on_reopen, &rs);
	for (size_t i = 0; i < FY_ARRAY_SIZE(sigs); i++)
		if (sigs[i] != NULL)
			evsignal_add(sigs[i], NULL);

	int have_pid = write_pid_file(cfg->pid_file);
	for (size_t i = 0; i < nls; i++)
		fy_log(FY_LOG_NOTICE, "core", NULL, FY_SERVER_TOKEN
		       " listening on %s (pid %d, one process)", ls[i].name,
		       (int)getpid());
	int rc = fy_loop_run(rs.loop);

	for (size_t i = 0; i < FY_ARRAY_SIZE(sigs); i++)
		if (sigs[i] != NULL)
			event_free(sigs[i]);
	fy_loop_free(rs.loop);
	fy_listeners_close(ls, nls);
	fy_server_fini(cfg);
	if (have_pid)
		unlink(cfg->pid_file);
	fy_log(FY_LOG_NOTICE, "core", NULL, "stopped");
	return rc == FY_OK ? 0 : 1;
}

int main(int argc, char **argv)
{
	const char *file = DEFAULT_CONFIG;
	int test_only = 0, single = 0;
	int opt;

	while ((opt = getopt(argc, argv, "f:tXVvhD:")) != -1) {
		switch (opt) {
		case 'f':
			file = optarg;
			break;
		case 't':
			test_only = 1;
			break;
		case 'X':
			single = 1;
			break;
		case 'D':
			/* -D FOREGROUND: this build always stays in the
			 * foreground. */
			break;
		case 'V':
			show_settings();
			return 0;
		case 'v':
			show_version();
			return 0;
		case 'h':
			usage(stdout);
			return 0;
		default:
			usage(stderr);
			return 1;
		}
	}
	if (optind != argc) {
		usage(stderr);
		return 1;
	}
	(void)single; /* the MPMs will make the difference; today -X is all */

	char *err = calloc(1, ERRBUF);
	char *warn = calloc(1, ERRBUF);
	if (err == NULL || warn == NULL)
		return 1;
	struct fy_config *cfg = fy_config_load(file, err, ERRBUF);
	if (cfg == NULL) {
		fputs(err, stderr);
		if (err[0] != '\0' && err[strlen(err) - 1] != '\n')
			fputc('\n', stderr);
		free(err);
		free(warn);
		return 1;
	}
	if (fy_config_check(cfg, err, ERRBUF, warn, ERRBUF) != 0) {
		fputs(warn, stderr);
		fputs(err, stderr);
		if (err[0] != '\0' && err[strlen(err) - 1] != '\n')
			fputc('\n', stderr);
		fy_config_free(cfg);
		free(err);
		free(warn);
		return 1;
	}
	fputs(warn, stderr);
	free(err);
	free(warn);
	if (test_only) {
		fprintf(stderr, "Syntax OK\n");
		fy_config_free(cfg);
		return 0;
	}

	if (fy_log_open(cfg->error_log, (enum fy_log_level)cfg->log_level) !=
	    FY_OK) {
		fprintf(stderr, "foyer: could not open error log %s: %s\n",
			cfg->error_log, strerror(errno));
		fy_config_free(cfg);
		return 1;
	}
	int rc = run_single(cfg);
	fy_config_free(cfg);
	return rc;
}
