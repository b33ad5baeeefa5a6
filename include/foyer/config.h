/*
 * config.h - foyer.ini, loaded with inih into one struct fy_config.
 *
 * Keys are case-insensitive and '_' is ignored, so Apache's directive names
 * work as written (MaxKeepAliveRequests = max_keep_alive_requests). Every key
 * is one row of a declarative table in conf/config.c: section, key, type,
 * field offset, default, range. Unknown sections and keys, bad values and
 * out-of-range numbers are errors that name the file and line; the MPM
 * numbers excepted, which Apache clamps with warnings instead (see
 * mpm_config.h).
 */
#ifndef FOYER_CONFIG_H
#define FOYER_CONFIG_H

#include <stddef.h>
#include <stdint.h>

struct fy_access_log;
struct fy_cgi_param;

#define FY_CONFIG_MAX_LISTEN 16

/* One "listen =" line: "8080", "127.0.0.1:8080", "[::]:80", "443 tls". */
struct fy_listen_spec {
	char host[64]; /* "" = every address (IPv6 dual-stack where possible) */
	int port;
	int tls;
	const char *file; /* where it was written, for error messages; owned
			     by the config */
	int line;
};

/* [pool NAME]: a PHP-FPM pool, one or more backends. */
struct fy_pool {
	char *name;
	char **backends;	/* "unix:/run/php/php8.2-fpm.sock", "10.0.0.7:9000",
				   "[::1]:9000"; repeatable; at least one */
	size_t n_backends;
	char *balance;		/* "round-robin" (default) | "least-conn" */
	int keep_alive;		/* idle connections kept per child and backend;
				   default 4; 0 = close after each request */
	int keep_alive_timeout;	/* seconds an idle backend connection is kept;
				   default 30 */
	int max_connections;	/* per backend, across all children (set it to
				   FPM's pm.max_children); 0 = no limit;
				   default 0 */
	int queue_timeout;	/* seconds a request waits for a connection
				   slot before 503; default 30 */
	int max_fails;		/* passive health: failures within
				   fail_timeout that mark a backend down;
				   default 1; 0 = never */
	int fail_timeout;	/* seconds; default 10 */
	int connect_timeout;	/* seconds; default 5 */
	int send_timeout;	/* seconds; default 60 */
	int read_timeout;	/* seconds; default 60 */
	char *spawn;		/* "php-fpm8.2": foyer starts and watches it;
				   NULL: an external FPM */
	int spawn_children;	/* managed pool: pm.max_children (static);
				   default 4 */
	const char *file;	/* where the section starts */
	int line;
	void *runtime;		/* fcgi/pool.c's state, filled at startup */
};

/* [site NAME]: a virtual host. The first site is the default. */
struct fy_site {
	char *name;
	char **server_names; /* "example.com", "*.example.com"; lower case */
	size_t n_server_names;
	char *document_root; /* absolute, no trailing '/' (except "/") */
	char **index;	     /* default: index.html index.htm index.php */
	size_t n_index;
	char *php;		/* "off" (default) | "fpm:POOL" | "inprocess" */
	struct fy_pool *pool;	/* php = fpm:POOL, resolved by the check */
	char **php_extensions;	/* scripts that go to PHP; default ".php" */
	size_t n_php_extensions;
	/* php_value.NAME / php_admin_value.NAME / fastcgi_param.NAME, in file
	 * order; the check composes them into fcgi_params */
	struct fy_site_param {
		int kind; /* 0 php_value, 1 php_admin_value, 2 fastcgi_param */
		char *name;
		char *value;
	} *params;
	size_t n_params;
	/* what the FastCGI handler sends after the standard variables:
	 * PHP_VALUE and PHP_ADMIN_VALUE ("name=value" lines joined with
	 * '\n') and each fastcgi_param; built by fy_config_check */
	struct fy_cgi_param *fcgi_params;
	size_t n_fcgi_params;
	int pass_authorization;	/* send HTTP_AUTHORIZATION; default on */
	int x_sendfile;		/* honour X-Sendfile/X-Accel-Redirect; off */
	char *x_sendfile_root;	/* the directory they may name */
	char *front_controller; /* "/index.php" or NULL */
	char *access_log;	/* path, or NULL/"off" */
	char *log_format;	/* default "combined" */
	int follow_symlinks;	/* default off */
	const char *file;	/* where the section starts; owned by the config */
	int line;
	/* filled at startup, not by the loader */
	struct fy_access_log *access;
	int root_fd; /* document_root opened O_PATH; -1 until then */
};

/* [prefork], [worker], [event]: Apache's MPM directives. Values are as
 * written (or Apache's defaults for that MPM) after loading, and clamped by
 * fy_mpm_check() (mpm/mpm_config.c) with Apache's warnings. Keys that do
 * not apply to an MPM are refused in its section. */
struct fy_mpm_config {
	int start_servers;
	int min_spare_servers;	/* prefork */
	int max_spare_servers;	/* prefork */
	int min_spare_threads;	/* worker, event */
	int max_spare_threads;	/* worker, event */
	int threads_per_child;	/* worker, event; 1 for prefork */
	int thread_limit;	/* worker, event; 1 for prefork */
	int server_limit;
	int max_request_workers; /* alias MaxClients */
	int max_connections_per_child; /* alias MaxRequestsPerChild */
	double async_request_worker_factor; /* event */
	int event_loops;	/* event: loop threads per child (foyer's own) */
	/* derived by fy_mpm_check() */
	int daemons_limit;	/* most children at once (MRW / TPC) */
};

struct fy_config {
	char *file; /* the main file */

	/* [server] */
	char *mpm; /* "prefork" | "worker" | "event"; default "event" */
	struct fy_listen_spec listen[FY_CONFIG_MAX_LISTEN];
	size_t n_listen; /* default: one, port 80 */
	char *user;	 /* default "www-data" */
	char *group;	 /* default "www-data" */
	char *pid_file;	 /* default "/run/foyer/foyer.pid" */
	char *error_log; /* default "/var/log/foyer/error.log"; "stderr" */
	int log_level;	 /* enum fy_log_level; default warn */
	char *server_tokens; /* "full" (default: foyer/VERSION) | "prod" (foyer) */
	int timeout;	     /* seconds; send timeout; default 60 */
	int keep_alive;	     /* bool; default on */
	int keep_alive_timeout;	     /* seconds; default 5 */
	int max_keep_alive_requests; /* default 100; 0 = unlimited */
	int request_header_timeout;  /* seconds to read a request head; 20 */
	int request_body_timeout;    /* seconds between body reads; 20 */
	int limit_request_line;	     /* default 8190 */
	int limit_request_fields;    /* default 100 */
	int limit_request_field_size; /* default 8190 */
	int64_t limit_request_body;   /* bytes; default 1 GiB; 0 = unlimited */
	/* Request bodies above this many bytes go to an unlinked file in
	 * client_body_temp_path instead of memory; default 64 KiB. */
	int64_t client_body_buffer_size;
	char *client_body_temp_path; /* default "/var/tmp" */
	/* Bytes of small static files each process keeps in memory (checked
	 * with one fstatat per request); default 1 MiB, 0 = off. */
	int64_t file_cache_size;
	char *mime_types;	      /* default "/etc/mime.types" */
	int listen_backlog;	      /* default 511 */

	int graceful_shutdown_timeout; /* seconds; 0 = wait forever */

	struct fy_mpm_config prefork;
	struct fy_mpm_config worker;
	struct fy_mpm_config event;

	/* [status]: the server-status page */
	char *status_path;	/* default "/server-status"; "off" = NULL */
	char **status_allow;	/* IPs or CIDRs; default 127.0.0.1 ::1 */
	size_t n_status_allow;

	struct fy_pool **pools; /* in file order */
	size_t n_pools;

	struct fy_site **sites; /* in file order; sites[0] is the default */
	size_t n_sites;
};

/*
 * Loads path (and what it includes) into a new config. On success returns
 * the config (free with fy_config_free). On failure returns NULL and prints
 * every error found, one per line as "FILE:LINE: message", into err (up to
 * errlen bytes; truncated if longer). Loading stops after 25 errors.
 *
 * Syntax: "key = value" (a " ;" starts a comment; surrounding "..." are
 * removed), "[server]", "[site NAME]", comment lines starting with ';' or
 * '#'. Indented lines are ordinary lines. A line longer than inih's limit
 * (197 characters) is an error; list keys can be repeated instead.
 * "include = GLOB" (anywhere) reads the matching files, sorted, at that
 * point, relative to the including file's directory; no match is not an
 * error. Relative paths in values are resolved the same way.
 */
struct fy_config *fy_config_load(const char *path, char *err, size_t errlen);

/*
 * Like fy_config_load but from a string (tests); name stands in for a file
 * name in messages and relative includes are resolved from the current
 * directory.
 */
struct fy_config *fy_config_load_string(const char *text, const char *name,
					char *err, size_t errlen);

/*
 * Cross-field checks run by "foyer -t" and at every start: at least one
 * site, document roots exist and are directories, unique site names, php
 * values known, etc. Writes its messages into err (emptied first), one per
 * line as "FILE:LINE: message", and returns the number of errors (0:
 * usable). Warnings (Apache prints them and goes on) go to warn if not
 * NULL, one per line: the selected MPM's numbers are clamped in place by
 * fy_mpm_check (mpm_config.h), with Apache's startup texts.
 */
int fy_config_check(struct fy_config *cfg, char *err, size_t errlen,
		    char *warn, size_t warnlen);

/*
 * fy_config_check for a graceful restart: running is the configuration in
 * use (already checked). The selected MPM's numbers are clamped by
 * fy_mpm_check (mpm_config.h) with Apache's restart texts, and ServerLimit
 * and ThreadLimit keep running's values (the scoreboard is not resized).
 * Changing mpm is an error, as in Apache. running NULL: first start, the
 * same as fy_config_check, whose MPM warnings are Apache's startup texts
 * ("WARNING: ...").
 */
int fy_config_check_restart(struct fy_config *cfg,
			    const struct fy_config *running, char *err,
			    size_t errlen, char *warn, size_t warnlen);

/* The [prefork], [worker] or [event] values of the MPM cfg->mpm names;
 * NULL if it names none. */
struct fy_mpm_config *fy_config_mpm(struct fy_config *cfg);

void fy_config_free(struct fy_config *cfg);

#endif
