/*
 * main.c - the foyer command line.
 */
#include <errno.h>
#include <event2/event-config.h>
#include <fcntl.h>
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
#include "foyer/fcgi_client.h"
#include "foyer/log.h"
#include "foyer/mpm.h"
#include "foyer/server.h"

#define DEFAULT_CONFIG "/etc/foyer/foyer.ini"
#define ERRBUF 16384

static void usage(FILE *f)
{
	fprintf(f,
		"Usage: foyer [-D FOREGROUND] [-f FILE]\n"
		"             [-k start|restart|graceful|graceful-stop|stop]\n"
		"             [-v] [-V] [-h] [-l] [-M] [-t] [-X]\n"
		"  -f FILE  configuration file (default " DEFAULT_CONFIG ")\n"
		"  -k CMD   signal the running server (through its pid file)\n"
		"  -D FOREGROUND  do not detach from the terminal\n"
		"  -t       check the configuration and exit\n"
		"  -X       run one process in the foreground (debugging)\n"
		"  -v       show version; -V with build settings and the MPM\n"
		"  -l       list compiled-in modules; -M loaded modules\n"
		"  -h       this help\n");
}

static void show_version(void)
{
	printf("Server version: " FY_SERVER_TOKEN "\n");
	printf("Server built:   " __DATE__ " " __TIME__ "\n");
}

/* Apache's -V layout; the MPM is the one the configuration selects. */
static void show_settings(const char *mpm_name)
{
	struct utsname u;
	const struct fy_mpm *mpm = fy_mpm_find(mpm_name);
	show_version();
	printf("Server's Module Magic Number: none\n");
	printf("Server loaded:  libevent %s, %s\n", event_get_version(),
	       OPENSSL_VERSION_TEXT);
	printf("Compiled using: libevent %s, %s\n", LIBEVENT_VERSION,
	       OPENSSL_VERSION_TEXT);
	if (uname(&u) == 0)
		printf("Architecture:   %s\n", u.machine);
	printf("Server MPM:     %s\n", mpm_name);
	printf("  threaded:     %s\n",
	       mpm != NULL && mpm->threaded ? "yes (fixed thread count)" : "no");
	printf("    forked:     %s\n", mpm != NULL && mpm->forked
					       ? "yes (variable process count)"
					       : "no");
	printf("Server compiled with....\n");
	printf(" -D HAVE_SENDFILE\n");
	printf(" -D HAVE_IPV6 (IPv4-mapped addresses enabled)\n");
	printf(" -D SINGLE_LISTEN_UNSERIALIZED_ACCEPT\n");
	printf(" -D SERVER_CONFIG_FILE=\"" DEFAULT_CONFIG "\"\n");
}

/* The modules of this build: Apache's names for what foyer has built in. */
static const char *const modules[] = {
	"core", "http", "mpm_prefork", "mpm_worker", "mpm_event",
	"log_config", "logio", "mime", "dir", "status", "unixd",
};

static void show_modules(int loaded, const char *mpm)
{
	if (!loaded) {
		printf("Compiled in modules:\n");
		for (size_t i = 0; i < FY_ARRAY_SIZE(modules); i++)
			printf("  %s.c\n", modules[i]);
		return;
	}
	printf("Loaded Modules:\n");
	for (size_t i = 0; i < FY_ARRAY_SIZE(modules); i++) {
		if (strncmp(modules[i], "mpm_", 4) == 0 &&
		    strcmp(modules[i] + 4, mpm) != 0)
			continue;
		printf(" %s_module (static)\n", modules[i]);
	}
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
static int daemonize(void);

static int serve(struct fy_config **cfgp, const struct fy_mpm *mpm,
		 int detach)
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
	/* Listeners first, so that "address in use" reaches the terminal. */
	if (detach && daemonize() != FY_OK) {
		fprintf(stderr, "foyer: could not detach: %s\n", strerror(errno));
		return 1;
	}
	int have_pid = write_pid_file(cfg->pid_file);
	char *pid_file = have_pid ? strdup(cfg->pid_file) : NULL;
	int rc = mpm->run(cfgp, &ls, &nls);
	cfg = *cfgp;
	fy_listeners_close(ls, nls);
	fy_server_fini(cfg);
	fy_fcgi_spawn_stop();
	if (pid_file != NULL)
		unlink(pid_file);
	free(pid_file);
	fy_log(FY_LOG_NOTICE, "core", NULL, "stopped");
	return rc;
}

/* The pid recorded in the pid file if that process is alive, else 0. */
static pid_t running_pid(const char *pid_file)
{
	FILE *f = pid_file != NULL ? fopen(pid_file, "re") : NULL;
	if (f == NULL)
		return 0;
	long pid = 0;
	if (fscanf(f, "%ld", &pid) != 1)
		pid = 0;
	fclose(f);
	if (pid <= 0 || kill((pid_t)pid, 0) != 0)
		return 0;
	return (pid_t)pid;
}

/* foyer -k: Apache's httpd -k, through the pid file. Returns an exit status,
 * or -1 when the caller should go on and start the server. */
static int signal_server(const struct fy_config *cfg, const char *cmd)
{
	static const struct {
		const char *name;
		int sig;
	} cmds[] = {
		{"start", 0},	      {"stop", SIGTERM},
		{"restart", SIGHUP},  {"graceful", SIGUSR1},
		{"graceful-stop", SIGWINCH},
	};
	int sig = -1;
	for (size_t i = 0; i < FY_ARRAY_SIZE(cmds); i++)
		if (strcmp(cmd, cmds[i].name) == 0)
			sig = cmds[i].sig;
	if (sig < 0) {
		fprintf(stderr, "foyer: unknown -k command %s\n", cmd);
		return 1;
	}
	pid_t pid = running_pid(cfg->pid_file);
	if (sig == 0) {
		if (pid != 0) {
			fprintf(stderr, "foyer (pid %d) already running\n",
				(int)pid);
			return 0;
		}
		return -1;
	}
	if (pid == 0) {
		if (sig == SIGHUP || sig == SIGUSR1) {
			fprintf(stderr, "foyer not running, trying to start\n");
			return -1;
		}
		fprintf(stderr, "foyer (no pid file) not running\n");
		return 0;
	}
	if (kill(pid, sig) != 0) {
		fprintf(stderr, "foyer: could not signal pid %d: %s\n", (int)pid,
			strerror(errno));
		return 1;
	}
	return 0;
}

/* Detaches from the terminal: the parent exits, the child goes on in its
 * own session with standard streams on /dev/null (errors go to the error
 * log from here on). */
static int daemonize(void)
{
	pid_t pid = fork();
	if (pid < 0)
		return FY_ERROR;
	if (pid > 0)
		_exit(0);
	if (setsid() < 0)
		return FY_ERROR;
	int fd = open("/dev/null", O_RDWR | O_CLOEXEC);
	if (fd >= 0) {
		dup2(fd, STDIN_FILENO);
		dup2(fd, STDOUT_FILENO);
		if (fy_log_get_fd() != STDERR_FILENO)
			dup2(fd, STDERR_FILENO);
		if (fd > STDERR_FILENO)
			close(fd);
	}
	return FY_OK;
}

int main(int argc, char **argv)
{
	const char *file = DEFAULT_CONFIG;
	const char *kcmd = NULL;
	int test_only = 0, single = 0, foreground = 0;
	int show = 0; /* 'V', 'l', 'M' */
	int opt;

	while ((opt = getopt(argc, argv, "f:k:tXVvhD:lM")) != -1) {
		switch (opt) {
		case 'f':
			file = optarg;
			break;
		case 'k':
			kcmd = optarg;
			break;
		case 't':
			test_only = 1;
			break;
		case 'X':
			single = 1;
			break;
		case 'D':
			if (strcmp(optarg, "FOREGROUND") == 0)
				foreground = 1;
			break;
		case 'V':
		case 'M':
			show = opt;
			break;
		case 'l':
			show_modules(0, NULL);
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
	if (cfg == NULL && show == 'V') {
		/* -V without a readable config: the default MPM. */
		show_settings("event");
		free(err);
		free(warn);
		return 0;
	}
	if (cfg == NULL) {
		fputs(err, stderr);
		if (err[0] != '\0' && err[strlen(err) - 1] != '\n')
			fputc('\n', stderr);
		free(err);
		free(warn);
		return 1;
	}
	if (show == 'V') {
		show_settings(cfg->mpm);
		fy_config_free(cfg);
		free(err);
		free(warn);
		return 0;
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
	if (show == 'M') {
		show_modules(1, cfg->mpm);
		fy_config_free(cfg);
		return 0;
	}
	if (test_only) {
		fprintf(stderr, "Syntax OK\n");
		fy_config_free(cfg);
		return 0;
	}
	if (kcmd != NULL) {
		int rc = signal_server(cfg, kcmd);
		if (rc >= 0) {
			fy_config_free(cfg);
			return rc;
		}
	}

	if (fy_log_open(cfg->error_log, (enum fy_log_level)cfg->log_level) !=
	    FY_OK) {
		fprintf(stderr, "foyer: could not open error log %s: %s\n",
			cfg->error_log, strerror(errno));
		fy_config_free(cfg);
		return 1;
	}
	const struct fy_mpm *mpm = single ? &fy_mpm_single : fy_mpm_find(cfg->mpm);
	if (mpm == NULL) {
		fprintf(stderr, "foyer: mpm = %s is not in this build\n", cfg->mpm);
		fy_config_free(cfg);
		return 1;
	}
	int rc = serve(&cfg, mpm, !single && !foreground);
	fy_config_free(cfg);
	return rc;
}
