/*
 * config.c - foyer.ini: a declarative key table, an inih handler that only
 * looks keys up in it, includes, defaults and the cross-field checks.
 */
#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <glob.h>
#include <inttypes.h>
#include <limits.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <ini.h>

#include "foyer/cgi.h"
#include "foyer/config.h"
#include "foyer/core.h"
#include "foyer/log.h"
#include "foyer/mpm_config.h"

#define CONF_MAX_ERRORS	       25
#define CONF_MAX_INCLUDE_DEPTH 16
/* sun_path's size, the NUL included */
#define CONF_UNIX_PATH_SIZE sizeof(((struct sockaddr_un *)0)->sun_path)

enum conf_section {
	SEC_NONE,    /* before the first section header of the main file */
	SEC_SERVER,  /* [server] */
	SEC_SITE,    /* [site NAME] */
	SEC_POOL,    /* [pool NAME] */
	SEC_PREFORK, /* [prefork] */
	SEC_WORKER,  /* [worker] */
	SEC_EVENT,   /* [event] */
	SEC_STATUS,  /* [status] */
	SEC_MPM,     /* table rows only: the MPM sections of the row's mpms */
	SEC_ANY,     /* table rows only: allowed everywhere */
	SEC_BROKEN,  /* after a bad header: its keys are skipped silently */
};

enum conf_type {
	CT_INT,	      /* int, decimal, [min, max] */
	CT_SIZE,      /* int64_t bytes, optional k/m/g suffix, [min, max] */
	CT_BOOL,      /* int 0/1 */
	CT_STRING,    /* char * */
	CT_PATH,      /* char *, relative to the file's directory */
	CT_ENUM,      /* char *, one of choices, stored as the choice */
	CT_LOG_LEVEL, /* int, enum fy_log_level */
	CT_LIST,      /* char ** at offset, size_t at count_offset */
	CT_LISTEN,    /* struct fy_listen_spec[] at offset, count */
	CT_PHP,	      /* char *: off | inprocess | fpm:POOL */
	CT_URI_PATH,  /* char *, must start with '/' */
	CT_POSITIVE,  /* double, a decimal number above 0 */
	CT_ADDRS,     /* char ** list of IPs or CIDRs at offset, count */
	CT_BACKEND,   /* char ** list of unix:PATH, HOST:PORT, [IPV6]:PORT */
	CT_PROGRAM,   /* char *, a program name, or a path if it has a '/' */
	CT_EXTENSIONS, /* char ** list of ".ext" words at offset, count */
	CT_INCLUDE,   /* not a field: a glob of files read at that point */
};

#define CK_REPEAT   0x01 /* may be given more than once */
#define CK_LOWER    0x02 /* stored lower case */
#define CK_OFF_NULL 0x04 /* "off" stores NULL */
#define CK_REQUIRED 0x08 /* no default: the section must say it */
#define CK_STDERR   0x10 /* "stderr" is kept, not taken as a path */
#define CK_ALIAS    0x20 /* another name of the row just above */
#define CK_IN_MPM   0x40 /* a [server] key also allowed in MPM sections */

/* The MPM sections a SEC_MPM row belongs to. */
#define MPM_PREFORK  0x1
#define MPM_WORKER   0x2
#define MPM_EVENT    0x4
#define MPM_ALL	     (MPM_PREFORK | MPM_WORKER | MPM_EVENT)
#define MPM_THREADED (MPM_WORKER | MPM_EVENT)

struct conf_key {
	enum conf_section section;
	const char *name;
	enum conf_type type;
	size_t offset;
	size_t count_offset;
	const char *def; /* parsed like a value from the file */
	int64_t min, max;
	const char *const *choices;
	unsigned flags;
	unsigned mpms; /* SEC_MPM rows */
};

static const char *const mpm_choices[] = {"prefork", "worker", "event", NULL};
static const char *const tokens_choices[] = {"full", "prod", NULL};
static const char *const balance_choices[] = {"round-robin", "least-conn",
					      NULL};

#define SERVER(key, field, type, def, min, max, choices, flags)                \
	{                                                                      \
		SEC_SERVER, key, type, offsetof(struct fy_config, field), 0,   \
		    def, min, max, choices, flags, 0                           \
	}
#define SITE(key, field, type, def, flags)                                     \
	{                                                                      \
		SEC_SITE, key, type, offsetof(struct fy_site, field), 0, def,  \
		    0, 0, NULL, flags, 0                                       \
	}
#define SITE_LIST(key, field, count, def, flags)                               \
	{                                                                      \
		SEC_SITE, key, CT_LIST, offsetof(struct fy_site, field),       \
		    offsetof(struct fy_site, count), def, 0, 0, NULL,          \
		    (flags) | CK_REPEAT, 0                                     \
	}

#define POOL(key, field, type, def, min, max, choices, flags)                  \
	{                                                                      \
		SEC_POOL, key, type, offsetof(struct fy_pool, field), 0, def,  \
		    min, max, choices, flags, 0                                \
	}
#define POOL_INT(key, field, def, min, max)                                    \
	POOL(key, field, CT_INT, def, min, max, NULL, 0)

/* Apache clamps the MPM numbers with warnings (fy_mpm_check) rather than
 * refusing them, so the loader takes any int and leaves the ranges to it. */
#define MPM(key, field, type, min, max, mpms, flags)                           \
	{                                                                      \
		SEC_MPM, key, type, offsetof(struct fy_mpm_config, field), 0,  \
		    NULL, min, max, NULL, flags, mpms                          \
	}
#define MPM_INT(key, field, mpms, flags)                                       \
	MPM(key, field, CT_INT, INT_MIN, INT_MAX, mpms, flags)

/* Names are written as users write them in foyer.ini; lookups ignore case
 * and '_', so Apache's spelling of the same directive matches. */
static const struct conf_key conf_keys[] = {
    {SEC_ANY, "include", CT_INCLUDE, 0, 0, NULL, 0, 0, NULL, CK_REPEAT, 0},

    SERVER("mpm", mpm, CT_ENUM, "event", 0, 0, mpm_choices, 0),
    {SEC_SERVER, "listen", CT_LISTEN, offsetof(struct fy_config, listen),
     offsetof(struct fy_config, n_listen), "80", 1, 65535, NULL, CK_REPEAT, 0},
    SERVER("user", user, CT_STRING, "www-data", 0, 0, NULL, 0),
    SERVER("group", group, CT_STRING, "www-data", 0, 0, NULL, 0),
    SERVER("pid_file", pid_file, CT_PATH, "/run/foyer/foyer.pid", 0, 0, NULL,
	   0),
    SERVER("error_log", error_log, CT_PATH, "/var/log/foyer/error.log", 0, 0,
	   NULL, CK_STDERR),
    SERVER("log_level", log_level, CT_LOG_LEVEL, "warn", 0, 0, NULL, 0),
    SERVER("server_tokens", server_tokens, CT_ENUM, "full", 0, 0,
	   tokens_choices, 0),
    SERVER("timeout", timeout, CT_INT, "60", 1, 86400, NULL, 0),
    SERVER("keep_alive", keep_alive, CT_BOOL, "on", 0, 0, NULL, 0),
    SERVER("keep_alive_timeout", keep_alive_timeout, CT_INT, "5", 0, 3600, NULL,
	   0),
    SERVER("max_keep_alive_requests", max_keep_alive_requests, CT_INT, "100", 0,
	   1000000, NULL, 0),
    SERVER("request_header_timeout", request_header_timeout, CT_INT, "20", 1,
	   3600, NULL, 0),
    SERVER("request_body_timeout", request_body_timeout, CT_INT, "20", 1, 3600,
	   NULL, 0),
    SERVER("limit_request_line", limit_request_line, CT_INT, "8190", 1, 65536,
	   NULL, 0),
    SERVER("limit_request_fields", limit_request_fields, CT_INT, "100", 1,
	   10000, NULL, 0),
    SERVER("limit_request_field_size", limit_request_field_size, CT_INT, "8190",
	   1, 65536, NULL, 0),
    SERVER("limit_request_body", limit_request_body, CT_SIZE, "1g", 0,
	   INT64_C(1) << 62, NULL, 0),
    SERVER("client_body_buffer_size", client_body_buffer_size, CT_SIZE, "64k",
	   0, INT64_C(1) << 30, NULL, 0),
    SERVER("client_body_temp_path", client_body_temp_path, CT_PATH, "/var/tmp",
	   0, 0, NULL, 0),
    SERVER("file_cache_size", file_cache_size, CT_SIZE, "1m", 0,
	   INT64_C(1) << 32, NULL, 0),
    SERVER("mime_types", mime_types, CT_PATH, "/etc/mime.types", 0, 0, NULL, 0),
    SERVER("listen_backlog", listen_backlog, CT_INT, "511", 1, 65535, NULL, 0),
    SERVER("graceful_shutdown_timeout", graceful_shutdown_timeout, CT_INT, "0",
	   0, INT_MAX, NULL, CK_IN_MPM),

    /* defaults: fy_mpm_defaults(), per MPM */
    MPM_INT("start_servers", start_servers, MPM_ALL, 0),
    MPM_INT("min_spare_servers", min_spare_servers, MPM_PREFORK, 0),
    MPM_INT("max_spare_servers", max_spare_servers, MPM_PREFORK, 0),
    MPM_INT("min_spare_threads", min_spare_threads, MPM_THREADED, 0),
    MPM_INT("max_spare_threads", max_spare_threads, MPM_THREADED, 0),
    MPM_INT("threads_per_child", threads_per_child, MPM_THREADED, 0),
    MPM_INT("thread_limit", thread_limit, MPM_THREADED, 0),
    MPM_INT("server_limit", server_limit, MPM_ALL, 0),
    MPM_INT("max_request_workers", max_request_workers, MPM_ALL, 0),
    MPM_INT("max_clients", max_request_workers, MPM_ALL, CK_ALIAS),
    MPM_INT("max_connections_per_child", max_connections_per_child, MPM_ALL, 0),
    MPM_INT("max_requests_per_child", max_connections_per_child, MPM_ALL,
	    CK_ALIAS),
    MPM("async_request_worker_factor", async_request_worker_factor, CT_POSITIVE,
	0, 0, MPM_EVENT, 0),
    MPM("event_loops", event_loops, CT_INT, 1, 64, MPM_EVENT, 0),

    {SEC_STATUS, "path", CT_URI_PATH, offsetof(struct fy_config, status_path),
     0, "/server-status", 0, 0, NULL, CK_OFF_NULL, 0},
    {SEC_STATUS, "allow", CT_ADDRS, offsetof(struct fy_config, status_allow),
     offsetof(struct fy_config, n_status_allow), "127.0.0.1 ::1", 0, 0, NULL,
     CK_REPEAT, 0},

    {SEC_POOL, "backend", CT_BACKEND, offsetof(struct fy_pool, backends),
     offsetof(struct fy_pool, n_backends), NULL, 0, 0, NULL, CK_REPEAT, 0},
    POOL("balance", balance, CT_ENUM, "round-robin", 0, 0, balance_choices,
	 0),
    POOL_INT("keep_alive", keep_alive, "4", 0, 1024),
    POOL_INT("keep_alive_timeout", keep_alive_timeout, "30", 1, 3600),
    POOL_INT("max_connections", max_connections, "0", 0, 100000),
    POOL_INT("queue_timeout", queue_timeout, "30", 1, 3600),
    POOL_INT("max_fails", max_fails, "1", 0, 1000),
    POOL_INT("fail_timeout", fail_timeout, "10", 1, 3600),
    POOL_INT("connect_timeout", connect_timeout, "5", 1, 86400),
    POOL_INT("send_timeout", send_timeout, "60", 1, 86400),
    POOL_INT("read_timeout", read_timeout, "60", 1, 86400),
    POOL("spawn", spawn, CT_PROGRAM, NULL, 0, 0, NULL, 0),
    POOL_INT("spawn_children", spawn_children, "4", 1, 1024),

    SITE_LIST("server_name", server_names, n_server_names, NULL, CK_LOWER),
    SITE("document_root", document_root, CT_PATH, NULL, CK_REQUIRED),
    SITE_LIST("index", index, n_index, "index.html index.htm index.php", 0),
    SITE("php", php, CT_PHP, "off", 0),
    {SEC_SITE, "php_extensions", CT_EXTENSIONS,
     offsetof(struct fy_site, php_extensions),
     offsetof(struct fy_site, n_php_extensions), ".php", 0, 0, NULL, CK_REPEAT,
     0},
    SITE("pass_authorization", pass_authorization, CT_BOOL, "on", 0),
    SITE("x_sendfile", x_sendfile, CT_BOOL, "off", 0),
    SITE("x_sendfile_root", x_sendfile_root, CT_PATH, NULL, 0),
    SITE("front_controller", front_controller, CT_URI_PATH, NULL, 0),
    SITE("access_log", access_log, CT_PATH, "off", CK_OFF_NULL),
    SITE("log_format", log_format, CT_STRING, "combined", 0),
    SITE("follow_symlinks", follow_symlinks, CT_BOOL, "off", 0),
};

#define CONF_N_KEYS FY_ARRAY_SIZE(conf_keys)

/* Where a key was first given, to refuse a second one and say where. */
struct conf_seen {
	const char *file;
	int line;
};

/* What a [site] or [pool] section has said so far. params runs parallel
 * to the site's params (php_value.NAME ...), which repeat by NAME. */
struct conf_block_seen {
	struct conf_seen key[CONF_N_KEYS];
	struct conf_seen *params;
};

struct conf_loader {
	struct fy_config *cfg;
	char *err;
	size_t errlen;
	size_t errpos;
	int n_errors;
	int stopped;
	struct conf_seen server_seen[CONF_N_KEYS]; /* [server], [status] */
	struct conf_seen mpm_seen[3][CONF_N_KEYS]; /* prefork, worker, event */
	struct conf_block_seen *site_seen;	   /* parallel to cfg->sites */
	struct conf_block_seen *pool_seen;	   /* parallel to cfg->pools */
	char **names; /* file and directory names, alive until the end */
	size_t n_names;
};

/* One file (or string) being read. Included files start in the section of
 * the line that includes them; the includer goes on in its own section. */
struct conf_frame {
	struct conf_loader *ld;
	const struct conf_frame *parent;
	const char *file;
	const char *dir;
	const char *text;
	size_t len;
	size_t pos;
	int line;
	int depth;
	int has_id;
	dev_t dev;
	ino_t ino;
	enum conf_section section;
	size_t site;
	size_t pool;
};

struct conf_where {
	const char *file;
	const char *dir;
	int line;
};

static void out_vappend(char *buf, size_t buflen, size_t *pos, const char *fmt,
			va_list ap)
{
	int n;

	if (buf == NULL || buflen == 0 || *pos >= buflen - 1)
		return;
	n = vsnprintf(buf + *pos, buflen - *pos, fmt, ap);
	if (n < 0)
		return;
	*pos += (size_t)n < buflen - *pos ? (size_t)n : buflen - *pos - 1;
}

__attribute__((format(printf, 4, 5))) static void
out_append(char *buf, size_t buflen, size_t *pos, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	out_vappend(buf, buflen, pos, fmt, ap);
	va_end(ap);
}

/* One error line: "FILE:LINE: message", or "FILE: message" when line is 0.
 * Past CONF_MAX_ERRORS the loader stops reading: a wrong file can produce
 * hundreds and the first ones are the useful ones. */
__attribute__((format(printf, 4, 5))) static void
conf_error(struct conf_loader *ld, const char *file, int line, const char *fmt,
	   ...)
{
	va_list ap;

	if (ld->stopped)
		return;
	ld->n_errors++;
	if (line > 0)
		out_append(ld->err, ld->errlen, &ld->errpos, "%s:%d: ", file,
			   line);
	else
		out_append(ld->err, ld->errlen, &ld->errpos, "%s: ", file);
	va_start(ap, fmt);
	out_vappend(ld->err, ld->errlen, &ld->errpos, fmt, ap);
	va_end(ap);
	out_append(ld->err, ld->errlen, &ld->errpos, "\n");
	if (ld->n_errors >= CONF_MAX_ERRORS) {
		out_append(ld->err, ld->errlen, &ld->errpos,
			   "%s: too many errors, stopping\n", file);
		ld->stopped = 1;
	}
}

static const char *conf_intern(struct conf_loader *ld, const char *s)
{
	char **names;
	char *copy;

	names = realloc(ld->names, (ld->n_names + 1) * sizeof(*names));
	if (names == NULL)
		return NULL;
	ld->names = names;
	copy = strdup(s);
	if (copy == NULL)
		return NULL;
	ld->names[ld->n_names++] = copy;
	return copy;
}

static void key_normalise(const char *name, char *out, size_t outlen)
{
	size_t n = 0;

	for (; *name != '\0' && n + 1 < outlen; name++)
		if (*name != '_')
			out[n++] = (char)tolower((unsigned char)*name);
	out[n] = '\0';
	/* a name too long to fit matches nothing */
	if (*name != '\0' && n > 0)
		out[0] = '\0';
}

static int key_allowed(const struct conf_key *k, enum conf_section s);

/* The row for name in section s; if no row of that name is allowed there,
 * the first row of that name (to say where it belongs); NULL if none.
 * Names can repeat across sections: keep_alive is [server]'s and [pool]'s. */
static const struct conf_key *key_lookup(const char *name,
					 enum conf_section s)
{
	const struct conf_key *first = NULL;
	char want[64], have[64];

	key_normalise(name, want, sizeof(want));
	if (want[0] == '\0')
		return NULL;
	for (size_t i = 0; i < CONF_N_KEYS; i++) {
		key_normalise(conf_keys[i].name, have, sizeof(have));
		if (strcmp(want, have) != 0)
			continue;
		if (key_allowed(&conf_keys[i], s))
			return &conf_keys[i];
		if (first == NULL)
			first = &conf_keys[i];
	}
	return first;
}

/* Lexical clean-up of an absolute path: "//" and "/./" collapse and the
 * trailing '/' goes. ".." is kept: with symlinks it is not lexical. */
static void path_tidy(char *p)
{
	char *out = p;
	const char *in = p;

	while (*in != '\0') {
		const char *seg;
		size_t n;

		while (*in == '/')
			in++;
		seg = in;
		while (*in != '\0' && *in != '/')
			in++;
		n = (size_t)(in - seg);
		if (n == 0 || (n == 1 && seg[0] == '.'))
			continue;
		*out++ = '/';
		memmove(out, seg, n);
		out += n;
	}
	if (out == p)
		*out++ = '/';
	*out = '\0';
}

static char *path_resolve(const char *dir, const char *value)
{
	char *p;

	if (value[0] == '/') {
		p = strdup(value);
	} else if (asprintf(&p, "%s/%s", dir, value) < 0) {
		p = NULL;
	}
	if (p != NULL)
		path_tidy(p);
	return p;
}

/* The absolute directory of path ("" means the current one). */
static char *dir_of(const char *path)
{
	char cwd[4096];
	char *abs;
	char *slash;

	if (path[0] == '/') {
		abs = strdup(path);
	} else {
		if (getcwd(cwd, sizeof(cwd)) == NULL)
			return NULL;
		if (asprintf(&abs, "%s/%s", cwd, path) < 0)
			abs = NULL;
	}
	if (abs == NULL)
		return NULL;
	slash = strrchr(abs, '/');
	if (slash == abs)
		slash[1] = '\0';
	else
		*slash = '\0';
	path_tidy(abs);
	return abs;
}

static int parse_int64(const char *s, int64_t *out)
{
	char *end;
	long long v;

	if (!isdigit((unsigned char)s[0]) && s[0] != '-')
		return FY_ERROR;
	errno = 0;
	v = strtoll(s, &end, 10);
	if (errno != 0 || end == s || *end != '\0')
		return FY_ERROR;
	*out = v;
	return FY_OK;
}

static int parse_size(const char *s, int64_t *out)
{
	char *end;
	unsigned long long v;
	int shift = 0;

	if (!isdigit((unsigned char)s[0]))
		return FY_ERROR;
	errno = 0;
	v = strtoull(s, &end, 10);
	if (errno != 0)
		return FY_ERROR;
	switch (tolower((unsigned char)*end)) {
	case '\0':
		break;
	case 'k':
		shift = 10;
		break;
	case 'm':
		shift = 20;
		break;
	case 'g':
		shift = 30;
		break;
	default:
		return FY_ERROR;
	}
	if (shift != 0 && end[1] != '\0')
		return FY_ERROR;
	if (v > (unsigned long long)INT64_MAX >> shift)
		return FY_ERROR;
	*out = (int64_t)(v << shift);
	return FY_OK;
}

static int parse_bool(const char *s, int *out)
{
	static const char *const yes[] = {"on", "yes", "true", "1"};
	static const char *const no[] = {"off", "no", "false", "0"};

	for (size_t i = 0; i < FY_ARRAY_SIZE(yes); i++) {
		if (strcasecmp(s, yes[i]) == 0) {
			*out = 1;
			return FY_OK;
		}
		if (strcasecmp(s, no[i]) == 0) {
			*out = 0;
			return FY_OK;
		}
	}
	return FY_ERROR;
}

static void choices_format(const char *const *choices, char *out, size_t outlen)
{
	size_t pos = 0;
	size_t n = 0;

	while (choices[n] != NULL)
		n++;
	out[0] = '\0';
	for (size_t i = 0; i < n; i++)
		out_append(out, outlen, &pos, "%s%s",
			   i == 0	? ""
			   : i + 1 == n ? " or "
					: ", ",
			   choices[i]);
}

static int list_append(char ***list, size_t *n, const char *value, int lower)
{
	const char *p = value;

	while (*p != '\0') {
		const char *word;
		char **grown;
		char *copy;

		while (isspace((unsigned char)*p))
			p++;
		if (*p == '\0')
			break;
		word = p;
		while (*p != '\0' && !isspace((unsigned char)*p))
			p++;
		copy = strndup(word, (size_t)(p - word));
		if (copy == NULL)
			return FY_ERROR;
		if (lower)
			for (char *c = copy; *c != '\0'; c++)
				*c = (char)tolower((unsigned char)*c);
		grown = realloc(*list, (*n + 1) * sizeof(**list));
		if (grown == NULL) {
			free(copy);
			return FY_ERROR;
		}
		*list = grown;
		(*list)[(*n)++] = copy;
	}
	return FY_OK;
}

static int port_parse(const char *s, int *port)
{
	int64_t v;

	if (!isdigit((unsigned char)s[0]) || parse_int64(s, &v) != FY_OK ||
	    v < 1 || v > 65535)
		return FY_ERROR;
	*port = (int)v;
	return FY_OK;
}

static int host_set(struct fy_listen_spec *spec, const char *host)
{
	size_t n = strlen(host);

	if (n >= sizeof(spec->host))
		return FY_ERROR;
	memcpy(spec->host, host, n + 1);
	return FY_OK;
}

/* "8080", "127.0.0.1:8080", "[::1]:8080", "*:8080", then maybe "tls". */
static int listen_parse(const char *value, struct fy_listen_spec *spec)
{
	char addr[128], extra[16], more[2];
	unsigned char bin[sizeof(struct in6_addr)];
	char *colon;
	const char *port;
	int n;

	memset(spec, 0, sizeof(*spec));
	n = sscanf(value, "%127s %15s %1s", addr, extra, more);
	if (n < 1 || n > 2 || strlen(addr) >= sizeof(addr) - 1)
		return FY_ERROR;
	if (n == 2) {
		if (strcasecmp(extra, "tls") != 0)
			return FY_ERROR;
		spec->tls = 1;
	}
	if (addr[0] == '[') {
		colon = strstr(addr, "]:");
		if (colon == NULL)
			return FY_ERROR;
		*colon = '\0';
		port = colon + 2;
		if (inet_pton(AF_INET6, addr + 1, bin) != 1 ||
		    host_set(spec, addr + 1) != FY_OK)
			return FY_ERROR;
	} else if ((colon = strrchr(addr, ':')) != NULL) {
		*colon = '\0';
		port = colon + 1;
		if (strcmp(addr, "*") == 0)
			spec->host[0] = '\0';
		else if (inet_pton(AF_INET, addr, bin) != 1 ||
			 host_set(spec, addr) != FY_OK)
			return FY_ERROR;
	} else {
		port = addr;
	}
	return port_parse(port, &spec->port);
}

static int php_valid(const char *s)
{
	if (strcmp(s, "off") == 0 || strcmp(s, "inprocess") == 0)
		return 1;
	if (strncmp(s, "fpm:", 4) != 0 || s[4] == '\0')
		return 0;
	for (s += 4; *s != '\0'; s++)
		if (!isalnum((unsigned char)*s) && strchr("-_.", *s) == NULL)
			return 0;
	return 1;
}

/* Apache's AsyncRequestWorkerFactor takes strtod's whole syntax; a plain
 * decimal is all a factor needs, and hex, exponents or "inf" are more
 * likely typing mistakes than intent. */
static int parse_positive(const char *s, double *out)
{
	char *end;
	double d;

	if (strspn(s, "0123456789.") != strlen(s))
		return FY_ERROR;
	errno = 0;
	d = strtod(s, &end);
	if (errno != 0 || end == s || *end != '\0' || !isfinite(d) || d <= 0)
		return FY_ERROR;
	*out = d;
	return FY_OK;
}

/* One word of an allow list: an IPv4 or IPv6 address, optionally with a
 * /prefix no longer than the address. */
static int addr_valid(const char *word, size_t len)
{
	unsigned char bin[sizeof(struct in6_addr)];
	char addr[INET6_ADDRSTRLEN + 8];
	const char *slash = memchr(word, '/', len);
	size_t alen = slash ? (size_t)(slash - word) : len;
	int family, bits;

	if (alen == 0 || alen >= sizeof(addr))
		return 0;
	memcpy(addr, word, alen);
	addr[alen] = '\0';
	family = strchr(addr, ':') ? AF_INET6 : AF_INET;
	if (inet_pton(family, addr, bin) != 1)
		return 0;
	if (slash == NULL)
		return 1;
	bits = 0;
	if (slash + 1 == word + len || word + len - slash > 4)
		return 0;
	for (const char *p = slash + 1; p < word + len; p++) {
		if (!isdigit((unsigned char)*p))
			return 0;
		bits = bits * 10 + (*p - '0');
	}
	return bits <= (family == AF_INET6 ? 128 : 32);
}

/* On a bad word, copies it into bad (truncated) and fails. */
static int addrs_valid(const char *value, char *bad, size_t badlen)
{
	const char *p = value;

	while (*p != '\0') {
		const char *word;

		while (isspace((unsigned char)*p))
			p++;
		if (*p == '\0')
			break;
		word = p;
		while (*p != '\0' && !isspace((unsigned char)*p))
			p++;
		if (!addr_valid(word, (size_t)(p - word))) {
			snprintf(bad, badlen, "%.*s", (int)(p - word), word);
			return FY_ERROR;
		}
	}
	return FY_OK;
}

/* A DNS name (RFC 1123 labels) or, if it is made of digits and dots, an
 * IPv4 address: "10.0.0.7", "fpm.internal". */
static int host_valid(const char *host)
{
	unsigned char bin[sizeof(struct in_addr)];
	size_t len = strlen(host);
	const char *label = host;

	if (len == 0 || len > 253)
		return 0;
	if (strspn(host, "0123456789.") == len)
		return inet_pton(AF_INET, host, bin) == 1;
	for (const char *p = host;; p++) {
		if (*p == '.' || *p == '\0') {
			size_t n = (size_t)(p - label);

			if (n == 0 || n > 63 || label[0] == '-' || p[-1] == '-')
				return 0;
			if (*p == '\0')
				return 1;
			label = p + 1;
		} else if (!isalnum((unsigned char)*p) && *p != '-') {
			return 0;
		}
	}
}

/* "HOST:PORT" or "[IPV6]:PORT". */
static int backend_inet_valid(const char *s)
{
	unsigned char bin[sizeof(struct in6_addr)];
	char host[256];
	const char *colon;
	size_t n;
	int port;

	if (s[0] == '[') {
		colon = strstr(s, "]:");
		if (colon == NULL)
			return 0;
		n = (size_t)(colon - s - 1);
		if (n == 0 || n >= INET6_ADDRSTRLEN)
			return 0;
		memcpy(host, s + 1, n);
		host[n] = '\0';
		return inet_pton(AF_INET6, host, bin) == 1 &&
		       port_parse(colon + 2, &port) == FY_OK;
	}
	colon = strchr(s, ':');
	if (colon == NULL)
		return 0;
	n = (size_t)(colon - s);
	if (n >= sizeof(host))
		return 0;
	memcpy(host, s, n);
	host[n] = '\0';
	return host_valid(host) && port_parse(colon + 1, &port) == FY_OK;
}

/* On a bad word of a php_extensions value, copies it into bad and fails:
 * an extension is '.' and at least one more character, none of them '/'. */
static int extensions_valid(const char *value, char *bad, size_t badlen)
{
	const char *p = value;

	while (*p != '\0') {
		const char *word;
		size_t n;

		while (isspace((unsigned char)*p))
			p++;
		if (*p == '\0')
			break;
		word = p;
		while (*p != '\0' && !isspace((unsigned char)*p))
			p++;
		n = (size_t)(p - word);
		if (word[0] != '.' || n < 2 || memchr(word, '/', n) != NULL) {
			snprintf(bad, badlen, "%.*s", (int)n, word);
			return FY_ERROR;
		}
	}
	return FY_OK;
}

static int string_set(char **slot, const char *value, char *msg, size_t msglen)
{
	char *copy = strdup(value);

	if (copy == NULL) {
		snprintf(msg, msglen, "out of memory");
		return FY_ERROR;
	}
	free(*slot);
	*slot = copy;
	return FY_OK;
}

/*
 * Parses value for key k into obj (a struct fy_config for [server] and
 * [status] keys, a struct fy_site for [site] keys, a struct fy_mpm_config
 * for MPM keys). On error writes the reason into msg, naming the key as the
 * user wrote it and what it accepts.
 */
static int value_set(const struct conf_key *k, void *obj, const char *name,
		     const char *value, const struct conf_where *w, char *msg,
		     size_t msglen)
{
	char *field = (char *)obj + k->offset;
	char choices[128];
	int64_t v;
	int b;

	if (value[0] == '\0' && k->type != CT_LIST) {
		snprintf(msg, msglen, "%s: missing value", name);
		return FY_ERROR;
	}
	switch (k->type) {
	case CT_INT:
	case CT_SIZE:
		if ((k->type == CT_INT ? parse_int64(value, &v)
				       : parse_size(value, &v)) != FY_OK) {
			if (k->min == INT_MIN && k->max == INT_MAX) {
				snprintf(msg, msglen,
					 "%s = '%s': expected a whole number",
					 name, value);
				return FY_ERROR;
			}
			snprintf(msg, msglen,
				 "%s = '%s': expected %s from %" PRId64
				 " to %" PRId64 "%s",
				 name, value,
				 k->type == CT_INT ? "a whole number"
						   : "a size in bytes",
				 k->min, k->max,
				 k->type == CT_INT
				     ? ""
				     : ", with an optional k, m or g suffix");
			return FY_ERROR;
		}
		if (v < k->min || v > k->max) {
			snprintf(msg, msglen,
				 "%s = %s: out of range (%" PRId64 "..%" PRId64
				 ")",
				 name, value, k->min, k->max);
			return FY_ERROR;
		}
		if (k->type == CT_INT)
			*(int *)field = (int)v;
		else
			*(int64_t *)field = v;
		return FY_OK;
	case CT_BOOL:
		if (parse_bool(value, &b) != FY_OK) {
			snprintf(msg, msglen,
				 "%s = '%s': expected on, off, yes, no, true, "
				 "false, 1 or 0",
				 name, value);
			return FY_ERROR;
		}
		*(int *)field = b;
		return FY_OK;
	case CT_STRING:
		return string_set((char **)field, value, msg, msglen);
	case CT_PATH: {
		char *p;

		if (((k->flags & CK_OFF_NULL) &&
		     strcasecmp(value, "off") == 0)) {
			free(*(char **)field);
			*(char **)field = NULL;
			return FY_OK;
		}
		if ((k->flags & CK_STDERR) && strcmp(value, "stderr") == 0)
			return string_set((char **)field, value, msg, msglen);
		p = path_resolve(w->dir, value);
		if (p == NULL) {
			snprintf(msg, msglen, "out of memory");
			return FY_ERROR;
		}
		free(*(char **)field);
		*(char **)field = p;
		return FY_OK;
	}
	case CT_ENUM:
		for (size_t i = 0; k->choices[i] != NULL; i++)
			if (strcasecmp(value, k->choices[i]) == 0)
				return string_set((char **)field, k->choices[i],
						  msg, msglen);
		choices_format(k->choices, choices, sizeof(choices));
		snprintf(msg, msglen, "%s = '%s': expected %s", name, value,
			 choices);
		return FY_ERROR;
	case CT_LOG_LEVEL:
		b = fy_log_level_parse(value);
		if (b < 0) {
			snprintf(msg, msglen,
				 "%s = '%s': expected emerg, alert, crit, "
				 "error, warn, notice, info, debug or "
				 "trace1..trace8",
				 name, value);
			return FY_ERROR;
		}
		*(int *)field = b;
		return FY_OK;
	case CT_LIST:
		if (list_append((char ***)field,
				(size_t *)((char *)obj + k->count_offset),
				value, k->flags & CK_LOWER) != FY_OK) {
			snprintf(msg, msglen, "out of memory");
			return FY_ERROR;
		}
		return FY_OK;
	case CT_LISTEN: {
		struct fy_listen_spec *specs = (struct fy_listen_spec *)field;
		size_t *n = (size_t *)((char *)obj + k->count_offset);
		struct fy_listen_spec spec;

		if (*n >= FY_CONFIG_MAX_LISTEN) {
			snprintf(msg, msglen, "%s: at most %d listen lines",
				 name, FY_CONFIG_MAX_LISTEN);
			return FY_ERROR;
		}
		if (listen_parse(value, &spec) != FY_OK) {
			snprintf(msg, msglen,
				 "%s = '%s': expected PORT, IPV4:PORT, "
				 "[IPV6]:PORT or *:PORT (port 1-65535), "
				 "optionally followed by tls",
				 name, value);
			return FY_ERROR;
		}
		spec.file = strdup(w->file);
		if (spec.file == NULL) {
			snprintf(msg, msglen, "out of memory");
			return FY_ERROR;
		}
		spec.line = w->line;
		specs[(*n)++] = spec;
		return FY_OK;
	}
	case CT_PHP: {
		char php[128];
		size_t i;

		/* "fpm:" and the keywords ignore case; the pool name keeps its
		 * case, as it names a pool section */
		for (i = 0; value[i] != '\0' && i + 1 < sizeof(php); i++)
			php[i] = value[i];
		php[i] = '\0';
		if (strncasecmp(php, "fpm:", 4) == 0)
			memcpy(php, "fpm:", 4);
		else if (strcasecmp(php, "off") == 0)
			strcpy(php, "off");
		else if (strcasecmp(php, "inprocess") == 0)
			strcpy(php, "inprocess");
		if (value[i] != '\0' || !php_valid(php)) {
			snprintf(msg, msglen,
				 "%s = '%s': expected off, inprocess or "
				 "fpm:POOL",
				 name, value);
			return FY_ERROR;
		}
		return string_set((char **)field, php, msg, msglen);
	}
	case CT_URI_PATH:
		if ((k->flags & CK_OFF_NULL) && strcasecmp(value, "off") == 0) {
			free(*(char **)field);
			*(char **)field = NULL;
			return FY_OK;
		}
		if (value[0] != '/') {
			snprintf(msg, msglen,
				 "%s = '%s': expected a URL path starting "
				 "with '/'",
				 name, value);
			return FY_ERROR;
		}
		return string_set((char **)field, value, msg, msglen);
	case CT_POSITIVE: {
		double d;

		if (parse_positive(value, &d) != FY_OK) {
			snprintf(msg, msglen,
				 "%s = '%s': expected a positive number", name,
				 value);
			return FY_ERROR;
		}
		*(double *)field = d;
		return FY_OK;
	}
	case CT_ADDRS: {
		char bad[64];

		if (addrs_valid(value, bad, sizeof(bad)) != FY_OK) {
			snprintf(msg, msglen,
				 "%s: '%s' is not an IP address or a CIDR "
				 "block (127.0.0.1, ::1, 10.0.0.0/8, "
				 "fd00::/8)",
				 name, bad);
			return FY_ERROR;
		}
		if (list_append((char ***)field,
				(size_t *)((char *)obj + k->count_offset),
				value, 1) != FY_OK) {
			snprintf(msg, msglen, "out of memory");
			return FY_ERROR;
		}
		return FY_OK;
	}
	case CT_BACKEND: {
		char ***list = (char ***)field;
		size_t *n = (size_t *)((char *)obj + k->count_offset);
		char **grown;
		char *backend;

		if (strncasecmp(value, "unix:", 5) == 0 && value[5] != '\0') {
			char *path = path_resolve(w->dir, value + 5);

			if (path == NULL ||
			    asprintf(&backend, "unix:%s", path) < 0)
				backend = NULL;
			if (path != NULL &&
			    strlen(path) >= CONF_UNIX_PATH_SIZE) {
				snprintf(msg, msglen,
					 "%s = '%s': the socket path %s is "
					 "longer than %zu bytes",
					 name, value, path,
					 CONF_UNIX_PATH_SIZE - 1);
				free(path);
				free(backend);
				return FY_ERROR;
			}
			free(path);
		} else if (backend_inet_valid(value)) {
			backend = strdup(value);
		} else {
			snprintf(msg, msglen,
				 "%s = '%s': expected unix:/PATH, HOST:PORT "
				 "(an IPv4 address or a host name) or "
				 "[IPV6]:PORT, port 1-65535",
				 name, value);
			return FY_ERROR;
		}
		grown = backend ? realloc(*list, (*n + 1) * sizeof(**list))
				: NULL;
		if (grown == NULL) {
			free(backend);
			snprintf(msg, msglen, "out of memory");
			return FY_ERROR;
		}
		*list = grown;
		(*list)[(*n)++] = backend;
		return FY_OK;
	}
	case CT_PROGRAM: {
		char *p;

		if (strpbrk(value, " \t") != NULL) {
			snprintf(msg, msglen,
				 "%s = '%s': expected a program name or path, "
				 "without arguments",
				 name, value);
			return FY_ERROR;
		}
		/* a bare name is looked up at start-up; a path is a path */
		if (strchr(value, '/') == NULL)
			return string_set((char **)field, value, msg, msglen);
		p = path_resolve(w->dir, value);
		if (p == NULL) {
			snprintf(msg, msglen, "out of memory");
			return FY_ERROR;
		}
		free(*(char **)field);
		*(char **)field = p;
		return FY_OK;
	}
	case CT_EXTENSIONS: {
		char bad[64];

		if (extensions_valid(value, bad, sizeof(bad)) != FY_OK) {
			snprintf(msg, msglen,
				 "%s: '%s' is not a file extension: expected "
				 "words like .php or .phtml",
				 name, bad);
			return FY_ERROR;
		}
		if (list_append((char ***)field,
				(size_t *)((char *)obj + k->count_offset),
				value, 0) != FY_OK) {
			snprintf(msg, msglen, "out of memory");
			return FY_ERROR;
		}
		return FY_OK;
	}
	case CT_INCLUDE:
		break;
	}
	snprintf(msg, msglen, "%s: not a settable key", name);
	return FY_ERROR;
}

static void conf_read_frame(struct conf_frame *f);

static char *file_read(const char *path, size_t *len, struct stat *st)
{
	char *buf = NULL;
	size_t cap = 0, n = 0;
	int fd;

	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return NULL;
	if (fstat(fd, st) != 0)
		goto fail;
	if (S_ISDIR(st->st_mode)) {
		errno = EISDIR;
		goto fail;
	}
	for (;;) {
		ssize_t r;

		if (n + 1 >= cap) {
			char *grown = realloc(buf, cap ? cap * 2 : 4096);

			if (grown == NULL)
				goto fail;
			buf = grown;
			cap = cap ? cap * 2 : 4096;
		}
		r = read(fd, buf + n, cap - n - 1);
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0)
			goto fail;
		if (r == 0)
			break;
		n += (size_t)r;
	}
	close(fd);
	buf[n] = '\0';
	*len = n;
	return buf;
fail : {
	int saved = errno;

	close(fd);
	free(buf);
	errno = saved;
}
	return NULL;
}

static void include_file(struct conf_frame *f, const char *path)
{
	struct conf_loader *ld = f->ld;
	struct conf_frame child;
	struct stat st;
	char *text;
	char *dir;
	size_t len;

	if (f->depth + 1 > CONF_MAX_INCLUDE_DEPTH) {
		conf_error(ld, f->file, f->line,
			   "include %s: nested deeper than %d files", path,
			   CONF_MAX_INCLUDE_DEPTH);
		return;
	}
	text = file_read(path, &len, &st);
	if (text == NULL) {
		conf_error(ld, f->file, f->line, "could not open %s: %s", path,
			   strerror(errno));
		return;
	}
	for (const struct conf_frame *p = f; p != NULL; p = p->parent) {
		if (p->has_id && p->dev == st.st_dev && p->ino == st.st_ino) {
			conf_error(ld, f->file, f->line,
				   "include loop: %s is already being read",
				   path);
			free(text);
			return;
		}
	}
	dir = dir_of(path);
	child = (struct conf_frame){
	    .ld = ld,
	    .parent = f,
	    .file = conf_intern(ld, path),
	    .dir = dir ? conf_intern(ld, dir) : NULL,
	    .text = text,
	    .len = len,
	    .depth = f->depth + 1,
	    .has_id = 1,
	    .dev = st.st_dev,
	    .ino = st.st_ino,
	    .section = f->section,
	    .site = f->site,
	    .pool = f->pool,
	};
	free(dir);
	if (child.file == NULL || child.dir == NULL)
		conf_error(ld, f->file, f->line, "out of memory");
	else
		conf_read_frame(&child);
	free(text);
}

static void include_glob(struct conf_frame *f, const char *pattern)
{
	glob_t g;
	char *full;
	int rc;

	if (pattern[0] == '/')
		full = strdup(pattern);
	else if (asprintf(&full, "%s/%s", f->dir, pattern) < 0)
		full = NULL;
	if (full == NULL) {
		conf_error(f->ld, f->file, f->line, "out of memory");
		return;
	}
	/* a pattern that matches nothing is fine (Apache's IncludeOptional):
	 * an empty sites-enabled/ is a normal state */
	rc = glob(full, 0, NULL, &g);
	if (rc == 0) {
		for (size_t i = 0; i < g.gl_pathc && !f->ld->stopped; i++)
			include_file(f, g.gl_pathv[i]);
	} else if (rc != GLOB_NOMATCH) {
		conf_error(f->ld, f->file, f->line,
			   "include = '%s': could not expand the pattern",
			   pattern);
	}
	if (rc == 0 || rc == GLOB_NOMATCH)
		globfree(&g);
	free(full);
}

static int site_find(const struct fy_config *cfg, const char *name)
{
	for (size_t i = 0; i < cfg->n_sites; i++)
		if (strcasecmp(cfg->sites[i]->name, name) == 0)
			return (int)i;
	return -1;
}

static void site_free(struct fy_site *s)
{
	if (s == NULL)
		return;
	free(s->name);
	for (size_t i = 0; i < s->n_php_extensions; i++)
		free(s->php_extensions[i]);
	free(s->php_extensions);
	for (size_t i = 0; i < s->n_params; i++) {
		free(s->params[i].name);
		free(s->params[i].value);
	}
	free(s->params);
	/* one block: the array, then the PHP_VALUE and PHP_ADMIN_VALUE texts */
	free(s->fcgi_params);
	free(s->x_sendfile_root);
	for (size_t i = 0; i < s->n_server_names; i++)
		free(s->server_names[i]);
	free(s->server_names);
	free(s->document_root);
	for (size_t i = 0; i < s->n_index; i++)
		free(s->index[i]);
	free(s->index);
	free(s->php);
	free(s->front_controller);
	free(s->access_log);
	free(s->log_format);
	free((char *)s->file);
	free(s);
}

static int site_add(struct conf_frame *f, const char *name)
{
	struct conf_loader *ld = f->ld;
	struct fy_config *cfg = ld->cfg;
	struct conf_block_seen *seen;
	struct fy_site **sites;
	struct fy_site *s;

	s = calloc(1, sizeof(*s));
	if (s == NULL)
		return FY_ERROR;
	s->root_fd = -1;
	s->name = strdup(name);
	s->file = strdup(f->file);
	s->line = f->line;
	sites = realloc(cfg->sites, (cfg->n_sites + 1) * sizeof(*sites));
	if (sites != NULL)
		cfg->sites = sites;
	seen = realloc(ld->site_seen, (cfg->n_sites + 1) * sizeof(*seen));
	if (seen != NULL)
		ld->site_seen = seen;
	if (s->name == NULL || s->file == NULL || sites == NULL ||
	    seen == NULL) {
		site_free(s);
		return FY_ERROR;
	}
	memset(&ld->site_seen[cfg->n_sites], 0, sizeof(*seen));
	cfg->sites[cfg->n_sites++] = s;
	return FY_OK;
}

static int pool_find(const struct fy_config *cfg, const char *name)
{
	for (size_t i = 0; i < cfg->n_pools; i++)
		if (strcasecmp(cfg->pools[i]->name, name) == 0)
			return (int)i;
	return -1;
}

static void pool_free(struct fy_pool *p)
{
	if (p == NULL)
		return;
	free(p->name);
	for (size_t i = 0; i < p->n_backends; i++)
		free(p->backends[i]);
	free(p->backends);
	free(p->balance);
	free(p->spawn);
	free((char *)p->file);
	free(p);
}

static int pool_add(struct conf_frame *f, const char *name)
{
	struct conf_loader *ld = f->ld;
	struct fy_config *cfg = ld->cfg;
	struct conf_block_seen *seen;
	struct fy_pool **pools;
	struct fy_pool *p;

	p = calloc(1, sizeof(*p));
	if (p == NULL)
		return FY_ERROR;
	p->name = strdup(name);
	p->file = strdup(f->file);
	p->line = f->line;
	pools = realloc(cfg->pools, (cfg->n_pools + 1) * sizeof(*pools));
	if (pools != NULL)
		cfg->pools = pools;
	seen = realloc(ld->pool_seen, (cfg->n_pools + 1) * sizeof(*seen));
	if (seen != NULL)
		ld->pool_seen = seen;
	if (p->name == NULL || p->file == NULL || pools == NULL ||
	    seen == NULL) {
		pool_free(p);
		return FY_ERROR;
	}
	memset(&ld->pool_seen[cfg->n_pools], 0, sizeof(*seen));
	cfg->pools[cfg->n_pools++] = p;
	return FY_OK;
}

/* php = fpm:POOL takes the same characters */
static int pool_name_valid(const char *name)
{
	for (; *name != '\0'; name++)
		if (!isalnum((unsigned char)*name) &&
		    strchr("-_.", *name) == NULL)
			return 0;
	return 1;
}

static const struct {
	const char *name;
	enum conf_section section;
} conf_plain_sections[] = {
    {"server", SEC_SERVER}, {"prefork", SEC_PREFORK}, {"worker", SEC_WORKER},
    {"event", SEC_EVENT},   {"status", SEC_STATUS},
};

/* "[server]", "[prefork]" ... or "[site NAME]"; the line has no leading
 * space. */
static void on_section(struct conf_frame *f, const char *line, size_t len)
{
	struct conf_loader *ld = f->ld;
	const char *close = memchr(line, ']', len);
	const char *p, *word, *rest, *end;
	size_t word_len;
	int other;

	f->section = SEC_BROKEN;
	if (close == NULL) {
		conf_error(ld, f->file, f->line,
			   "missing ']' in section header");
		return;
	}
	for (p = close + 1; p < line + len && isspace((unsigned char)*p); p++)
		;
	if (p < line + len && *p != ';' && *p != '#') {
		conf_error(ld, f->file, f->line, "unexpected text after ']'");
		return;
	}
	for (word = line + 1; word < close && isspace((unsigned char)*word);
	     word++)
		;
	for (rest = word; rest < close && !isspace((unsigned char)*rest);
	     rest++)
		;
	word_len = (size_t)(rest - word);
	while (rest < close && isspace((unsigned char)*rest))
		rest++;
	for (end = close; end > rest && isspace((unsigned char)end[-1]); end--)
		;

	for (size_t i = 0; i < FY_ARRAY_SIZE(conf_plain_sections); i++) {
		const char *want = conf_plain_sections[i].name;

		if (rest == end && word_len == strlen(want) &&
		    strncasecmp(word, want, word_len) == 0) {
			f->section = conf_plain_sections[i].section;
			return;
		}
	}
	if (word_len == 4 && (strncasecmp(word, "site", 4) == 0 ||
			      strncasecmp(word, "pool", 4) == 0)) {
		int is_pool = tolower((unsigned char)word[0]) == 'p';
		const char *kind = is_pool ? "pool" : "site";
		char name[128];

		if (rest == end || (size_t)(end - rest) >= sizeof(name)) {
			conf_error(ld, f->file, f->line,
				   "[%s] needs a name: [%s NAME]", kind, kind);
			return;
		}
		for (p = rest; p < end; p++) {
			if (isspace((unsigned char)*p)) {
				conf_error(ld, f->file, f->line,
					   "[%s %.*s]: a %s name is one word",
					   kind, (int)(end - rest), rest, kind);
				return;
			}
		}
		snprintf(name, sizeof(name), "%.*s", (int)(end - rest), rest);
		if (is_pool && !pool_name_valid(name)) {
			conf_error(ld, f->file, f->line,
				   "[pool %s]: a pool name is made of letters, "
				   "digits, '-', '_' and '.'",
				   name);
			return;
		}
		other = is_pool ? pool_find(ld->cfg, name)
				: site_find(ld->cfg, name);
		if (other >= 0) {
			const char *file = is_pool
					       ? ld->cfg->pools[other]->file
					       : ld->cfg->sites[other]->file;
			int at = is_pool ? ld->cfg->pools[other]->line
					 : ld->cfg->sites[other]->line;

			conf_error(ld, f->file, f->line,
				   "%s %s is already defined at %s:%d", kind,
				   name, file, at);
			return;
		}
		if ((is_pool ? pool_add(f, name) : site_add(f, name)) !=
		    FY_OK) {
			conf_error(ld, f->file, f->line, "out of memory");
			return;
		}
		if (is_pool) {
			f->section = SEC_POOL;
			f->pool = ld->cfg->n_pools - 1;
		} else {
			f->section = SEC_SITE;
			f->site = ld->cfg->n_sites - 1;
		}
		return;
	}
	conf_error(ld, f->file, f->line,
		   "unknown section [%.*s]: expected [server], [prefork], "
		   "[worker], [event], [status], [site NAME] or [pool NAME]",
		   (int)(close - line - 1), line + 1);
}

/*
 * The ini_reader: hands inih one line at a time, like fgets(). Doing it here
 * gives every line a number (Debian's inih calls the handler without one),
 * lets section headers be handled in order (an empty or repeated section
 * never reaches the handler) and turns lines inih would reject or split
 * into errors naming the line. Lines are passed without leading blanks so
 * that inih's multi-line continuation never applies: an indented key is a
 * key, not a continuation of the previous value.
 */
static char *on_read_line(char *buf, int size, void *stream)
{
	struct conf_frame *f = stream;
	const char *line, *nl, *start, *end;
	int was_space = 0;

	if (f->ld->stopped || f->pos >= f->len)
		return NULL;
	line = f->text + f->pos;
	nl = memchr(line, '\n', f->len - f->pos);
	end = nl ? nl : f->text + f->len;
	f->pos = (size_t)(end - f->text) + (nl ? 1 : 0);
	f->line++;

	start = line;
	if (f->line == 1 && end - start >= 3 &&
	    memcmp(start, "\xEF\xBB\xBF", 3) == 0)
		start += 3;
	while (start < end && isspace((unsigned char)*start))
		start++;
	while (end > start && isspace((unsigned char)end[-1]))
		end--;

	buf[0] = '\n';
	buf[1] = '\0';
	if (start == end || *start == ';' || *start == '#')
		return buf;
	if (memchr(start, '\0', (size_t)(end - start)) != NULL) {
		conf_error(f->ld, f->file, f->line, "NUL byte in the line");
		return buf;
	}
	if (*start == '[') {
		on_section(f, start, (size_t)(end - start));
		return buf;
	}
	if (end - start + 2 > size) {
		conf_error(f->ld, f->file, f->line,
			   "line too long (at most %d characters)", size - 3);
		return buf;
	}
	/* inih's rule: '=' or ':' separates, " ;" starts a comment */
	for (const char *p = start; p < end; p++) {
		if (*p == '=' || *p == ':')
			goto pass;
		if (was_space && *p == ';')
			break;
		was_space = isspace((unsigned char)*p);
	}
	conf_error(f->ld, f->file, f->line,
		   "expected 'key = value', a [section] or a comment");
	return buf;
pass:
	memcpy(buf, start, (size_t)(end - start));
	buf[end - start] = '\n';
	buf[end - start + 1] = '\0';
	return buf;
}

static const char *const mpm_names[] = {"prefork", "worker", "event"};

/* 0, 1, 2 for [prefork], [worker], [event]; -1 for other sections. */
static int section_mpm(enum conf_section s)
{
	switch (s) {
	case SEC_PREFORK:
		return 0;
	case SEC_WORKER:
		return 1;
	case SEC_EVENT:
		return 2;
	default:
		return -1;
	}
}

static struct fy_mpm_config *mpm_of(struct fy_config *cfg, int m)
{
	return m == 0 ? &cfg->prefork : m == 1 ? &cfg->worker : &cfg->event;
}

static int key_allowed(const struct conf_key *k, enum conf_section s)
{
	int m = section_mpm(s);

	switch (k->section) {
	case SEC_ANY:
		return 1;
	case SEC_MPM:
		return m >= 0 && (k->mpms & (1u << m));
	case SEC_SERVER:
		return s == SEC_SERVER || (m >= 0 && (k->flags & CK_IN_MPM));
	default:
		return s == k->section;
	}
}

static void homes_add(const char **names, size_t *n, size_t max,
		      const char *name)
{
	for (size_t i = 0; i < *n; i++)
		if (strcmp(names[i], name) == 0)
			return;
	if (*n < max)
		names[(*n)++] = name;
}

/* Where a key of k's name may be written: "[server]", "[worker] and
 * [event]", "[server] and [pool NAME]" ... */
static void key_home(const struct conf_key *k, char *out, size_t outlen)
{
	const char *names[8];
	char want[64], have[64];
	size_t n = 0, pos = 0;

	key_normalise(k->name, want, sizeof(want));
	for (size_t i = 0; i < CONF_N_KEYS; i++) {
		const struct conf_key *r = &conf_keys[i];

		key_normalise(r->name, have, sizeof(have));
		if (strcmp(want, have) != 0)
			continue;
		if (r->section == SEC_SITE)
			homes_add(names, &n, FY_ARRAY_SIZE(names), "site NAME");
		else if (r->section == SEC_POOL)
			homes_add(names, &n, FY_ARRAY_SIZE(names), "pool NAME");
		else if (r->section == SEC_STATUS)
			homes_add(names, &n, FY_ARRAY_SIZE(names), "status");
		else if (r->section == SEC_SERVER)
			homes_add(names, &n, FY_ARRAY_SIZE(names), "server");
		for (int m = 0; m < 3; m++)
			if ((r->section == SEC_MPM && (r->mpms & (1u << m))) ||
			    (r->flags & CK_IN_MPM))
				homes_add(names, &n, FY_ARRAY_SIZE(names),
					  mpm_names[m]);
	}
	out[0] = '\0';
	for (size_t i = 0; i < n; i++)
		out_append(out, outlen, &pos, "%s[%s]",
			   i == 0	? ""
			   : i + 1 == n ? " and "
					: ", ",
			   names[i]);
}

static const char *section_name(const struct conf_frame *f, char *out,
				size_t outlen)
{
	int m = section_mpm(f->section);

	if (f->section == SEC_SITE)
		snprintf(out, outlen, "[site %s]",
			 f->ld->cfg->sites[f->site]->name);
	else if (f->section == SEC_POOL)
		snprintf(out, outlen, "[pool %s]",
			 f->ld->cfg->pools[f->pool]->name);
	else if (m >= 0)
		snprintf(out, outlen, "[%s]", mpm_names[m]);
	else if (f->section == SEC_STATUS)
		snprintf(out, outlen, "[status]");
	else
		snprintf(out, outlen, "[server]");
	return out;
}

/* "value" without its surrounding quotes, allocated. */
static char *value_unquote(const char *value)
{
	size_t vlen = strlen(value);

	if (vlen >= 2 && value[0] == '"' && value[vlen - 1] == '"')
		return strndup(value + 1, vlen - 2);
	return strdup(value);
}

static const char *const param_prefixes[] = {"php_value", "php_admin_value",
					     "fastcgi_param"};

/* The kind of a prefixed key (0 php_value.NAME, 1 php_admin_value.NAME,
 * 2 fastcgi_param.NAME) with *pname set to NAME, or -1. Only the prefix is
 * spelled freely: PHP's ini names are case- and '_'-sensitive, and FastCGI
 * names are compared exactly by PHP-FPM. */
static int param_kind(const char *name, const char **pname)
{
	const char *dot = strchr(name, '.');
	char prefix[64], want[64];

	if (dot == NULL || (size_t)(dot - name) >= sizeof(prefix))
		return -1;
	memcpy(prefix, name, (size_t)(dot - name));
	prefix[dot - name] = '\0';
	key_normalise(prefix, prefix, sizeof(prefix));
	for (int i = 0; i < (int)FY_ARRAY_SIZE(param_prefixes); i++) {
		key_normalise(param_prefixes[i], want, sizeof(want));
		if (strcmp(prefix, want) == 0) {
			*pname = dot + 1;
			return i;
		}
	}
	return -1;
}

/* php_value.NAME, php_admin_value.NAME, fastcgi_param.NAME = VALUE (the
 * quotes already gone): checked, then appended to the site's params. */
static void param_add(struct conf_frame *f, const char *name, int kind,
		      const char *pname, const char *value)
{
	struct conf_loader *ld = f->ld;
	struct conf_block_seen *seen;
	struct fy_site_param *grown;
	struct conf_seen *grown_seen;
	struct fy_site *s;
	char where[160];
	size_t n;

	if (f->section != SEC_SITE) {
		if (f->section == SEC_NONE)
			conf_error(ld, f->file, f->line,
				   "'%s' outside any section: it belongs in "
				   "[site NAME]",
				   name);
		else
			conf_error(ld, f->file, f->line,
				   "'%s' is not allowed in %s: it belongs in "
				   "[site NAME]",
				   name, section_name(f, where, sizeof(where)));
		return;
	}
	if (pname[0] == '\0' ||
	    strspn(pname, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
			  "0123456789_.-") != strlen(pname)) {
		conf_error(ld, f->file, f->line,
			   "'%s': expected %s.NAME = VALUE, NAME made of "
			   "letters, digits, '_', '.' and '-'",
			   name, param_prefixes[kind]);
		return;
	}
	if (kind == 2 && (strcasecmp(pname, "PHP_VALUE") == 0 ||
			  strcasecmp(pname, "PHP_ADMIN_VALUE") == 0)) {
		conf_error(ld, f->file, f->line,
			   "'%s': PHP settings are not sent this way: write "
			   "%s.NAME = VALUE, one line per setting",
			   name,
			   strcasecmp(pname, "PHP_VALUE") == 0
			       ? "php_value"
			       : "php_admin_value");
		return;
	}
	/* PHP-FPM would read the request body from the file it names */
	if (kind == 2 && strcasecmp(pname, "REQUEST_BODY_FILE") == 0) {
		conf_error(ld, f->file, f->line,
			   "'%s' is never allowed: PHP-FPM reads the request "
			   "body from the file it names",
			   name);
		return;
	}
	/* PHP_VALUE is an ini text where CR and LF end a setting: one in a
	 * value would smuggle in another */
	for (const char *c = value; *c != '\0'; c++) {
		if ((unsigned char)*c < 0x20 && *c != '\t') {
			conf_error(ld, f->file, f->line,
				   "'%s': the value may not contain a line "
				   "break or a control character",
				   name);
			return;
		}
	}

	s = ld->cfg->sites[f->site];
	seen = &ld->site_seen[f->site];
	for (size_t i = 0; i < s->n_params; i++) {
		if (s->params[i].kind == kind &&
		    strcmp(s->params[i].name, pname) == 0) {
			conf_error(ld, f->file, f->line,
				   "'%s' is already set at %s:%d", name,
				   seen->params[i].file, seen->params[i].line);
			return;
		}
	}
	n = s->n_params;
	grown = realloc(s->params, (n + 1) * sizeof(*grown));
	if (grown != NULL)
		s->params = grown;
	grown_seen = realloc(seen->params, (n + 1) * sizeof(*grown_seen));
	if (grown_seen != NULL)
		seen->params = grown_seen;
	if (grown == NULL || grown_seen == NULL) {
		conf_error(ld, f->file, f->line, "out of memory");
		return;
	}
	s->params[n].kind = kind;
	s->params[n].name = strdup(pname);
	s->params[n].value = strdup(value);
	if (s->params[n].name == NULL || s->params[n].value == NULL) {
		free(s->params[n].name);
		free(s->params[n].value);
		conf_error(ld, f->file, f->line, "out of memory");
		return;
	}
	seen->params[n] = (struct conf_seen){f->file, f->line};
	s->n_params = n + 1;
}

/* Apache's php_flag and php_admin_flag are values in PHP_VALUE's ini
 * text, so they have no key of their own: say which one to use. */
static const char *flag_hint(const char *name)
{
	const char *dot = strchr(name, '.');
	char prefix[64];

	if (dot == NULL || (size_t)(dot - name) >= sizeof(prefix))
		return "";
	memcpy(prefix, name, (size_t)(dot - name));
	prefix[dot - name] = '\0';
	key_normalise(prefix, prefix, sizeof(prefix));
	if (strcmp(prefix, "phpflag") == 0)
		return ": a flag is a value here, write php_value.NAME = on "
		       "(or off)";
	if (strcmp(prefix, "phpadminflag") == 0)
		return ": a flag is a value here, write php_admin_value.NAME = "
		       "on (or off)";
	return "";
}

static int on_key(void *user, const char *section, const char *name,
		  const char *value)
{
	struct conf_frame *f = user;
	struct conf_loader *ld = f->ld;
	const struct conf_key *k;
	struct conf_seen *seen;
	struct conf_where w = {f->file, f->dir, f->line};
	char msg[512], where[160], want[128];
	const char *pname;
	char *v;
	size_t row;
	void *obj;
	int kind;

	(void)section; /* sections are tracked by on_read_line */
	if (ld->stopped || f->section == SEC_BROKEN)
		return 1;
	if (name[0] == '\0') {
		conf_error(ld, f->file, f->line, "missing key before '='");
		return 1;
	}
	kind = param_kind(name, &pname);
	if (kind >= 0) {
		v = value_unquote(value);
		if (v == NULL)
			conf_error(ld, f->file, f->line, "out of memory");
		else
			param_add(f, name, kind, pname, v);
		free(v);
		return 1;
	}
	k = key_lookup(name, f->section);
	if (k == NULL) {
		if (f->section == SEC_NONE)
			conf_error(ld, f->file, f->line,
				   "unknown key '%s' outside any section",
				   name);
		else
			conf_error(ld, f->file, f->line,
				   "unknown key '%s' in %s%s", name,
				   section_name(f, where, sizeof(where)),
				   flag_hint(name));
		return 1;
	}
	if (!key_allowed(k, f->section)) {
		key_home(k, want, sizeof(want));
		if (k->section == SEC_MPM && section_mpm(f->section) >= 0)
			conf_error(
			    ld, f->file, f->line,
			    "%s is not %s %s directive (it belongs in %s)",
			    name, f->section == SEC_EVENT ? "an" : "a",
			    mpm_names[section_mpm(f->section)], want);
		else if (f->section == SEC_NONE)
			conf_error(ld, f->file, f->line,
				   "'%s' outside any section: it belongs in %s",
				   name, want);
		else
			conf_error(
			    ld, f->file, f->line,
			    "'%s' is not allowed in %s: it belongs in %s", name,
			    section_name(f, where, sizeof(where)), want);
		return 1;
	}

	v = value_unquote(value);
	if (v == NULL) {
		conf_error(ld, f->file, f->line, "out of memory");
		return 1;
	}
	if (k->type == CT_INCLUDE) {
		if (v[0] == '\0')
			conf_error(ld, f->file, f->line, "%s: missing value",
				   name);
		else
			include_glob(f, v);
		free(v);
		return 1;
	}

	/* an alias shares its row's field and its "already set" */
	row = (size_t)(k - conf_keys) - ((k->flags & CK_ALIAS) ? 1 : 0);
	if (k->section == SEC_SERVER || k->section == SEC_STATUS) {
		obj = ld->cfg;
		seen = &ld->server_seen[row];
	} else if (k->section == SEC_MPM) {
		int m = section_mpm(f->section);

		obj = mpm_of(ld->cfg, m);
		seen = &ld->mpm_seen[m][row];
	} else if (k->section == SEC_POOL) {
		obj = ld->cfg->pools[f->pool];
		seen = &ld->pool_seen[f->pool].key[row];
	} else {
		obj = ld->cfg->sites[f->site];
		seen = &ld->site_seen[f->site].key[row];
	}
	if (seen->file != NULL && !(k->flags & CK_REPEAT)) {
		conf_error(ld, f->file, f->line, "'%s' is already set at %s:%d",
			   name, seen->file, seen->line);
	} else if (value_set(k, obj, name, v, &w, msg, sizeof(msg)) != FY_OK) {
		conf_error(ld, f->file, f->line, "%s", msg);
	} else if (seen->file == NULL) {
		seen->file = f->file;
		seen->line = f->line;
	}
	free(v);
	return 1;
}

static void conf_read_frame(struct conf_frame *f)
{
	if (ini_parse_stream(on_read_line, f, on_key, f) < 0)
		conf_error(f->ld, f->file, 0, "out of memory");
}

static const struct conf_seen *row_seen(const struct conf_seen *seen,
					const char *key, enum conf_section s)
{
	return &seen[key_lookup(key, s) - conf_keys];
}

/* spawn starts a PHP-FPM and makes its socket the pool's only backend, so
 * a backend written next to it would be a second, unrelated one. */
static void pool_spawn_check(struct conf_loader *ld, const struct fy_pool *p,
			     const struct conf_seen *seen)
{
	const struct conf_seen *spawn = row_seen(seen, "spawn", SEC_POOL);
	const struct conf_seen *backend = row_seen(seen, "backend", SEC_POOL);

	if (spawn->file == NULL || backend->file == NULL)
		return;
	conf_error(ld, backend->file, backend->line,
		   "pool %s: backend cannot be combined with spawn (%s:%d), "
		   "which starts PHP-FPM itself and uses its socket",
		   p->name, spawn->file, spawn->line);
}

/* Fills what section did not say. file and line are where the section
 * starts (line 0 for [server] and [status]); site names a [site]. */
static void defaults_apply(struct conf_loader *ld, void *obj,
			   enum conf_section section, struct conf_seen *seen,
			   const char *file, int line, const char *site)
{
	struct conf_where w = {file, "/", line};
	char msg[512];

	for (size_t i = 0; i < CONF_N_KEYS; i++) {
		const struct conf_key *k = &conf_keys[i];

		if (k->section != section || seen[i].file != NULL)
			continue;
		if (k->flags & CK_REQUIRED) {
			conf_error(ld, file, line, "site %s: %s is required",
				   site ? site : "?", k->name);
			continue;
		}
		if (k->def == NULL)
			continue;
		if (value_set(k, obj, k->name, k->def, &w, msg, sizeof(msg)) !=
		    FY_OK)
			conf_error(ld, file, line, "default: %s", msg);
	}
}

static struct fy_config *conf_load(const char *name, const char *text,
				   size_t len, const struct stat *st, char *err,
				   size_t errlen)
{
	struct conf_loader ld = {.err = err, .errlen = errlen};
	struct conf_frame top;
	char *dir;

	if (err != NULL && errlen > 0)
		err[0] = '\0';
	ld.cfg = calloc(1, sizeof(*ld.cfg));
	dir = dir_of(name);
	top = (struct conf_frame){
	    .ld = &ld,
	    .file = conf_intern(&ld, name),
	    .dir = dir ? conf_intern(&ld, dir) : NULL,
	    .text = text,
	    .len = len,
	    .has_id = st != NULL,
	    .dev = st ? st->st_dev : 0,
	    .ino = st ? st->st_ino : 0,
	    .section = SEC_NONE,
	};
	free(dir);
	if (ld.cfg != NULL) {
		fy_mpm_defaults("prefork", &ld.cfg->prefork);
		fy_mpm_defaults("worker", &ld.cfg->worker);
		fy_mpm_defaults("event", &ld.cfg->event);
	}
	if (ld.cfg == NULL || top.file == NULL || top.dir == NULL ||
	    (ld.cfg->file = strdup(name)) == NULL) {
		conf_error(&ld, name, 0, "out of memory");
	} else {
		conf_read_frame(&top);
		if (!ld.stopped) {
			defaults_apply(&ld, ld.cfg, SEC_SERVER, ld.server_seen,
				       ld.cfg->file, 0, NULL);
			defaults_apply(&ld, ld.cfg, SEC_STATUS, ld.server_seen,
				       ld.cfg->file, 0, NULL);
			for (size_t i = 0; i < ld.cfg->n_pools; i++) {
				struct fy_pool *p = ld.cfg->pools[i];

				pool_spawn_check(&ld, p, ld.pool_seen[i].key);
				defaults_apply(&ld, p, SEC_POOL,
					       ld.pool_seen[i].key, p->file,
					       p->line, NULL);
			}
			for (size_t i = 0; i < ld.cfg->n_sites; i++) {
				struct fy_site *s = ld.cfg->sites[i];

				defaults_apply(&ld, s, SEC_SITE,
					       ld.site_seen[i].key, s->file,
					       s->line, s->name);
			}
		}
	}
	for (size_t i = 0; i < ld.n_names; i++)
		free(ld.names[i]);
	free(ld.names);
	for (size_t i = 0; ld.cfg != NULL && i < ld.cfg->n_sites; i++)
		free(ld.site_seen[i].params);
	free(ld.site_seen);
	free(ld.pool_seen);
	if (ld.n_errors > 0) {
		fy_config_free(ld.cfg);
		return NULL;
	}
	return ld.cfg;
}

struct fy_config *fy_config_load(const char *path, char *err, size_t errlen)
{
	struct fy_config *cfg;
	struct stat st;
	size_t len;
	char *text;

	text = file_read(path, &len, &st);
	if (text == NULL) {
		size_t pos = 0;

		if (err != NULL && errlen > 0)
			err[0] = '\0';
		out_append(err, errlen, &pos, "could not open %s: %s\n", path,
			   strerror(errno));
		return NULL;
	}
	cfg = conf_load(path, text, len, &st, err, errlen);
	free(text);
	return cfg;
}

struct fy_config *fy_config_load_string(const char *text, const char *name,
					char *err, size_t errlen)
{
	/* a bare name has the current directory as its directory */
	return conf_load(name ? name : "<string>", text, strlen(text), NULL,
			 err, errlen);
}

static int mpm_index(const char *name)
{
	for (int m = 0; m < 3; m++)
		if (name != NULL && strcmp(name, mpm_names[m]) == 0)
			return m;
	return -1;
}

struct fy_mpm_config *fy_config_mpm(struct fy_config *cfg)
{
	int m = mpm_index(cfg->mpm);

	return m < 0 ? NULL : mpm_of(cfg, m);
}

/*
 * Composes s->fcgi_params from s->params: PHP_VALUE with every php_value as
 * "name=value" lines joined by '\n' (only if there is one), PHP_ADMIN_VALUE
 * likewise, then each fastcgi_param. One allocation holds the array and,
 * after it, the two joined texts; fastcgi_param entries point into
 * s->params. Replaces what an earlier check built.
 */
static int site_fcgi_params_build(struct fy_site *s)
{
	static const char *const names[2] = {"PHP_VALUE", "PHP_ADMIN_VALUE"};
	size_t text_len[2] = {0, 0};
	size_t n_php[2] = {0, 0};
	struct fy_cgi_param *out;
	size_t n = 0;
	char *text;

	free(s->fcgi_params);
	s->fcgi_params = NULL;
	s->n_fcgi_params = 0;
	for (size_t i = 0; i < s->n_params; i++) {
		const struct fy_site_param *p = &s->params[i];

		if (p->kind == 2) {
			n++;
			continue;
		}
		text_len[p->kind] += (n_php[p->kind] > 0 ? 1 : 0) +
				     strlen(p->name) + 1 + strlen(p->value);
		n_php[p->kind]++;
	}
	n += (n_php[0] > 0) + (n_php[1] > 0);
	if (n == 0)
		return FY_OK;
	out = malloc(n * sizeof(*out) + text_len[0] + text_len[1]);
	if (out == NULL)
		return FY_ERROR;
	text = (char *)(out + n);
	n = 0;
	for (int kind = 0; kind < 2; kind++) {
		char *start = text;

		if (n_php[kind] == 0)
			continue;
		for (size_t i = 0; i < s->n_params; i++) {
			const struct fy_site_param *p = &s->params[i];
			size_t name_len = strlen(p->name);
			size_t value_len = strlen(p->value);

			if (p->kind != kind)
				continue;
			if (text != start)
				*text++ = '\n';
			memcpy(text, p->name, name_len);
			text += name_len;
			*text++ = '=';
			memcpy(text, p->value, value_len);
			text += value_len;
		}
		out[n++] = (struct fy_cgi_param){
		    .name = names[kind],
		    .name_len = strlen(names[kind]),
		    .value = start,
		    .value_len = (size_t)(text - start),
		};
	}
	for (size_t i = 0; i < s->n_params; i++) {
		const struct fy_site_param *p = &s->params[i];

		if (p->kind == 2)
			out[n++] = (struct fy_cgi_param){
			    .name = p->name,
			    .name_len = strlen(p->name),
			    .value = p->value,
			    .value_len = strlen(p->value),
			};
	}
	s->fcgi_params = out;
	s->n_fcgi_params = n;
	return FY_OK;
}

int fy_config_check(struct fy_config *cfg, char *err, size_t errlen, char *warn,
		    size_t warnlen)
{
	return fy_config_check_restart(cfg, NULL, err, errlen, warn, warnlen);
}

int fy_config_check_restart(struct fy_config *cfg,
			    const struct fy_config *running, char *err,
			    size_t errlen, char *warn, size_t warnlen)
{
	int m = mpm_index(cfg->mpm);
	size_t pos = 0;
	int n = 0;

	if (err != NULL && errlen > 0)
		err[0] = '\0';
	if (warn != NULL && warnlen > 0)
		warn[0] = '\0';
	if (cfg->n_sites == 0) {
		out_append(err, errlen, &pos,
			   "%s: no site: add a [site NAME] section\n",
			   cfg->file ? cfg->file : "config");
		n++;
	}
	for (size_t i = 0; i < cfg->n_pools; i++) {
		const struct fy_pool *p = cfg->pools[i];

		if (p->n_backends > 0 || p->spawn != NULL)
			continue;
		out_append(err, errlen, &pos,
			   "%s:%d: pool %s has no backend: add backend = "
			   "unix:/PATH or HOST:PORT (or spawn = php-fpm8.2 to "
			   "have foyer start PHP-FPM)\n",
			   p->file ? p->file : "config", p->line, p->name);
		n++;
	}
	for (size_t i = 0; i < cfg->n_sites; i++) {
		struct fy_site *s = cfg->sites[i];
		const char *file = s->file ? s->file : "config";
		struct stat st;

		for (size_t j = 0; j < i; j++) {
			if (strcasecmp(cfg->sites[j]->name, s->name) == 0) {
				out_append(err, errlen, &pos,
					   "%s:%d: site %s is defined twice\n",
					   file, s->line, s->name);
				n++;
				break;
			}
		}
		if (s->document_root == NULL) {
			out_append(err, errlen, &pos,
				   "%s:%d: site %s: document_root is "
				   "required\n",
				   file, s->line, s->name);
			n++;
		} else if (stat(s->document_root, &st) != 0) {
			out_append(err, errlen, &pos,
				   "%s:%d: site %s: document_root %s: %s\n",
				   file, s->line, s->name, s->document_root,
				   strerror(errno));
			n++;
		} else if (!S_ISDIR(st.st_mode)) {
			out_append(err, errlen, &pos,
				   "%s:%d: site %s: document_root %s is not "
				   "a directory\n",
				   file, s->line, s->name, s->document_root);
			n++;
		}
		s->pool = NULL;
		if (s->php != NULL && strncmp(s->php, "fpm:", 4) == 0) {
			int at = pool_find(cfg, s->php + 4);

			if (at >= 0) {
				s->pool = cfg->pools[at];
			} else {
				out_append(err, errlen, &pos,
					   "%s:%d: site %s: php = %s: there is "
					   "no pool %s (add a [pool %s] "
					   "section)\n",
					   file, s->line, s->name, s->php,
					   s->php + 4, s->php + 4);
				n++;
			}
		}
		/* the in-process module lifts this when it lands */
		if (s->php != NULL && strcmp(s->php, "inprocess") == 0) {
			out_append(err, errlen, &pos,
				   "%s:%d: site %s: php = %s is not supported "
				   "by this build yet\n",
				   file, s->line, s->name, s->php);
			n++;
		}
		if (s->front_controller != NULL &&
		    s->front_controller[0] != '/') {
			out_append(err, errlen, &pos,
				   "%s:%d: site %s: front_controller must "
				   "start with '/'\n",
				   file, s->line, s->name);
			n++;
		}
		if (s->x_sendfile && s->x_sendfile_root == NULL) {
			out_append(err, errlen, &pos,
				   "%s:%d: site %s: x_sendfile = on needs "
				   "x_sendfile_root, the directory whose files "
				   "responses may name\n",
				   file, s->line, s->name);
			n++;
		} else if (s->x_sendfile && stat(s->x_sendfile_root, &st) != 0) {
			out_append(err, errlen, &pos,
				   "%s:%d: site %s: x_sendfile_root %s: %s\n",
				   file, s->line, s->name, s->x_sendfile_root,
				   strerror(errno));
			n++;
		} else if (s->x_sendfile && !S_ISDIR(st.st_mode)) {
			out_append(err, errlen, &pos,
				   "%s:%d: site %s: x_sendfile_root %s is not "
				   "a directory\n",
				   file, s->line, s->name, s->x_sendfile_root);
			n++;
		}
		if (site_fcgi_params_build(s) != FY_OK) {
			out_append(err, errlen, &pos, "%s:%d: out of memory\n",
				   file, s->line);
			n++;
		}
	}
	for (size_t i = 0; i < cfg->n_listen; i++) {
		const struct fy_listen_spec *l = &cfg->listen[i];

		for (size_t j = 0; j < i; j++) {
			const struct fy_listen_spec *o = &cfg->listen[j];

			if (o->port != l->port || strcmp(o->host, l->host) != 0)
				continue;
			out_append(err, errlen, &pos,
				   "%s:%d: listen %s%s%s:%d is given twice "
				   "(first at %s:%d)\n",
				   l->file ? l->file : "config", l->line,
				   strchr(l->host, ':') ? "[" : "",
				   l->host[0] ? l->host : "*",
				   strchr(l->host, ':') ? "]" : "", l->port,
				   o->file ? o->file : "config", o->line);
			n++;
			break;
		}
	}
	if (running != NULL && running->mpm != NULL && cfg->mpm != NULL &&
	    strcmp(running->mpm, cfg->mpm) != 0) {
		out_append(err, errlen, &pos,
			   "%s: The MPM cannot be changed during restart (%s "
			   "is running, the configuration says %s)\n",
			   cfg->file ? cfg->file : "config", running->mpm,
			   cfg->mpm);
		n++;
	} else if (m >= 0) {
		const struct fy_mpm_config *previous = NULL;

		if (running != NULL)
			previous = m == 0   ? &running->prefork
				   : m == 1 ? &running->worker
					    : &running->event;
		fy_mpm_check(cfg->mpm, mpm_of(cfg, m), running != NULL,
			     previous, warn, warnlen);
	}
	return n;
}

void fy_config_free(struct fy_config *cfg)
{
	if (cfg == NULL)
		return;
	free(cfg->file);
	free(cfg->mpm);
	for (size_t i = 0; i < cfg->n_listen; i++)
		free((char *)cfg->listen[i].file);
	free(cfg->user);
	free(cfg->group);
	free(cfg->pid_file);
	free(cfg->error_log);
	free(cfg->server_tokens);
	free(cfg->mime_types);
	free(cfg->client_body_temp_path);
	free(cfg->status_path);
	for (size_t i = 0; i < cfg->n_status_allow; i++)
		free(cfg->status_allow[i]);
	free(cfg->status_allow);
	for (size_t i = 0; i < cfg->n_sites; i++)
		site_free(cfg->sites[i]);
	free(cfg->sites);
	for (size_t i = 0; i < cfg->n_pools; i++)
		pool_free(cfg->pools[i]);
	free(cfg->pools);
	free(cfg);
}
