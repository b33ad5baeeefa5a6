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
#include <sys/utsname.h>
#include <unistd.h>

#include "foyer/config.h"
#include "foyer/core.h"
#include "foyer/log.h"
#include "foyer/mpm.h"
#include "foyer/server.h"

#define DEFAULT_CONFIG "/etc/foyer/foyer.ini"
#define ERRBUF 16384

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
	printf("Server MPM:     single (one process; prefork, worker and event are not in this build yet)\n");
	printf("Server compiled with....\n");
	printf(" -D DEFAULT_CONFIG=\"" DEFAULT_CONFIG "\"\n");
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

/* Opens the listeners and logs, runs the MPM, cleans up. */
static int serve(struct fy_config **cfgp, const struct fy_mpm *mpm)
{
	struct fy_config *cfg = *cfgp;
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
	int have_pid = write_pid_file(cfg->pid_file);
	char *pid_file = have_pid ? strdup(cfg->pid_file) : NULL;
	int rc = mpm->run(cfgp, &ls, &nls);
	cfg = *cfgp;
	fy_listeners_close(ls, nls);
	fy_server_fini(cfg);
	if (pid_file != NULL)
		unlink(pid_file);
	free(pid_file);
	fy_log(FY_LOG_NOTICE, "core", NULL, "stopped");
	return rc;
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
	const struct fy_mpm *mpm = &fy_mpm_single;
	if (!single) {
		mpm = fy_mpm_find(cfg->mpm);
		if (mpm == NULL) {
			fy_log(FY_LOG_NOTICE, "core", NULL,
			       "mpm = %s is not in this build yet; running one "
			       "process as with -X",
			       cfg->mpm);
			mpm = &fy_mpm_single;
		}
	}
	int rc = serve(&cfg, mpm);
	fy_config_free(cfg);
	return rc;
}
