/*
 * log.h - the error log and the access log.
 *
 * Error log lines follow Apache 2.4's layout so that log tools read them:
 *   [Fri Nov 27 04:40:50.123456 2026] [core:error] [pid 123] [client 127.0.0.1:5555] message
 * followed, when a request is known, by ", site NAME, request: \"GET / HTTP/1.1\"".
 */
#ifndef FOYER_LOG_H
#define FOYER_LOG_H

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

/* Apache's levels, most severe first. trace1..8 collapse into FY_LOG_TRACE. */
enum fy_log_level {
	FY_LOG_EMERG,
	FY_LOG_ALERT,
	FY_LOG_CRIT,
	FY_LOG_ERR,
	FY_LOG_WARN,
	FY_LOG_NOTICE,
	FY_LOG_INFO,
	FY_LOG_DEBUG,
	FY_LOG_TRACE,
};

/* What a log line says about where it comes from. Every field may be NULL or
 * empty; request_line is not NUL-terminated (request_line_len). */
struct fy_log_ctx {
	const char *client; /* "127.0.0.1:5555" */
	const char *site;   /* site name */
	const char *request_line;
	size_t request_line_len;
};

/* Parses "warn", "error", "trace3"... Returns the level or -1. */
int fy_log_level_parse(const char *s);
const char *fy_log_level_name(enum fy_log_level level);

/* Opens path for appending (creating it 0640) as the error log; NULL or
 * "stderr" logs to standard error. Keeps the previous log open on failure.
 * Returns FY_OK or FY_ERROR (errno set). */
int fy_log_open(const char *path, enum fy_log_level level);

/* Reopens the error log file (after logrotate moved it). */
int fy_log_reopen(void);

void fy_log_set_level(enum fy_log_level level);
/* The error log's descriptor (STDERR_FILENO when logging to stderr). */
int fy_log_get_fd(void);
enum fy_log_level fy_log_get_level(void);

/* Writes one line if level is at or above the configured level. module is a
 * short tag ("core", "http", "static", "config"); ctx may be NULL. The line
 * is written with one write(2) so lines from several processes never mix. */
void fy_log(enum fy_log_level level, const char *module,
	    const struct fy_log_ctx *ctx, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
void fy_vlog(enum fy_log_level level, const char *module,
	     const struct fy_log_ctx *ctx, const char *fmt, va_list ap)
    __attribute__((format(printf, 4, 0)));

/*
 * Access log.
 *
 * A format is compiled once from Apache's LogFormat syntax. Supported codes:
 * %% %a %A %b %B %D %f %h %H %l %m %p %q %r %s %>s %<s %t %T %u %U %v %V %O %I
 * %{NAME}i (request header) %{NAME}o (response header, from the facts below:
 * only Content-Type and Location are known) %{format}t (strftime) and
 * %{sec|msec|usec}T. Unknown codes are a compile error naming the code.
 */
struct fy_access_format;

/* Named formats as Debian ships them: "combined", "common", "vhost_combined",
 * "referer", "agent". Anything else is compiled as a format string. On error
 * returns NULL and writes a message to err (errlen bytes). The format is
 * malloc'ed: free with fy_access_format_free(). */
struct fy_access_format *fy_access_format_compile(const char *fmt, char *err,
						 size_t errlen);
void fy_access_format_free(struct fy_access_format *f);

/* What one finished request tells the access log. Strings may be NULL. */
struct fy_access_entry {
	const char *client_ip;	  /* %a %h */
	int client_port;
	const char *local_ip;	  /* %A */
	int local_port;		  /* %p */
	const char *site;	  /* %v */
	const char *host;	  /* %V: Host header or site name */
	const char *request_line; /* %r, not NUL-terminated */
	size_t request_line_len;
	const char *method; /* %m */
	size_t method_len;
	const char *path; /* %U: the decoded path */
	const char *query; /* %q: without '?' */
	size_t query_len;
	const char *protocol; /* %H: "HTTP/1.1" */
	const char *filename; /* %f */
	const char *user;     /* %u */
	int status;	      /* %s %>s */
	uint64_t bytes_body;  /* %b %B */
	uint64_t bytes_sent;  /* %O: headers + body */
	uint64_t bytes_received; /* %I */
	int64_t start_usec;	  /* wall clock at request start, microseconds */
	int64_t duration_usec;	  /* %D %T */
	const char *content_type; /* %{Content-Type}o */
	const char *location;	  /* %{Location}o */
	/* looks up a request header by name (case-insensitive); may be NULL */
	const char *(*header)(void *arg, const char *name, size_t *len);
	void *header_arg;
};

/* Formats one line (with '\n') into buf. Returns the length written, which
 * is truncated to buflen - 1 when too long (the line still ends in '\n'). */
size_t fy_access_format_render(const struct fy_access_format *f,
			       const struct fy_access_entry *e, char *buf,
			       size_t buflen);

/* An open access log: a file and a compiled format. Logs with the same path
 * share one descriptor. Opened with O_APPEND so that a line written with one
 * write(2) never interleaves with another process's line. */
struct fy_access_log;

/* Opens (or shares) the log at path with format fmt (see compile above);
 * "off" or NULL path returns NULL with no error. On error returns NULL and
 * writes a message into err. */
struct fy_access_log *fy_access_log_open(const char *path, const char *fmt,
					 char *err, size_t errlen);
void fy_access_log_write(struct fy_access_log *log,
			 const struct fy_access_entry *e);
/* Reopens every access log and the error log (SIGUSR1 in -X mode, logrotate's
 * postrotate). */
void fy_log_reopen_all(void);
/* Closes every access log (shutdown, tests). */
void fy_access_log_close_all(void);

#endif
