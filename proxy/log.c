/*
 * log.c - the error log, in Apache 2.4's line layout.
 */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

#include "foyer/core.h"
#include "foyer/log.h"

static const char *const level_names[] = {
	[FY_LOG_EMERG] = "emerg", [FY_LOG_ALERT] = "alert",
	[FY_LOG_CRIT] = "crit",	  [FY_LOG_ERR] = "error",
	[FY_LOG_WARN] = "warn",	  [FY_LOG_NOTICE] = "notice",
	[FY_LOG_INFO] = "info",	  [FY_LOG_DEBUG] = "debug",
	[FY_LOG_TRACE] = "trace",
};

static int log_fd = STDERR_FILENO;
static char log_path[4096];
static enum fy_log_level log_level = FY_LOG_WARN;

int fy_log_level_parse(const char *s)
{
	for (size_t i = 0; i < FY_ARRAY_SIZE(level_names); i++)
		if (strcasecmp(s, level_names[i]) == 0)
			return (int)i;
	/* Apache's trace1 .. trace8 */
	if (strncasecmp(s, "trace", 5) == 0 && s[5] >= '1' && s[5] <= '8' &&
	    s[6] == '\0')
		return FY_LOG_TRACE;
	return -1;
}

const char *fy_log_level_name(enum fy_log_level level)
{
	if ((unsigned)level >= FY_ARRAY_SIZE(level_names))
		return "unknown";
	return level_names[level];
}

int fy_log_get_fd(void)
{
	return log_fd;
}

void fy_log_set_level(enum fy_log_level level)
{
	log_level = level;
}

enum fy_log_level fy_log_get_level(void)
{
	return log_level;
}

static int open_log(const char *path)
{
	return open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0640);
}

int fy_log_open(const char *path, enum fy_log_level level)
{
	log_level = level;
	if (path == NULL || strcmp(path, "stderr") == 0) {
		if (log_fd != STDERR_FILENO)
			close(log_fd);
		log_fd = STDERR_FILENO;
		log_path[0] = '\0';
		return FY_OK;
	}
	if (strlen(path) >= sizeof(log_path)) {
		errno = ENAMETOOLONG;
		return FY_ERROR;
	}
	int fd = open_log(path);
	if (fd < 0)
		return FY_ERROR;
	if (log_fd != STDERR_FILENO)
		close(log_fd);
	log_fd = fd;
	snprintf(log_path, sizeof(log_path), "%s", path);
	return FY_OK;
}

int fy_log_reopen(void)
{
	if (log_path[0] == '\0')
		return FY_OK;
	int fd = open_log(log_path);
	if (fd < 0) {
		fy_log(FY_LOG_ERR, "core", NULL, "could not reopen %s: %s",
		       log_path, strerror(errno));
		return FY_ERROR;
	}
	/* dup2 keeps the descriptor number, so a thread writing at this very
	 * moment writes to the old file or the new one, never to a closed fd. */
	dup2(fd, log_fd);
	close(fd);
	return FY_OK;
}

/* The timestamp is formatted once per second and shared; the lock keeps the
 * cache coherent when worker threads log at once. */
static pthread_mutex_t stamp_lock = PTHREAD_MUTEX_INITIALIZER;
static time_t stamp_sec = -1;
static char stamp_buf[32]; /* "Fri Nov 27 04:40:50" and " 2026" apart */
static char stamp_year[8];

void fy_vlog(enum fy_log_level level, const char *module,
	     const struct fy_log_ctx *ctx, const char *fmt, va_list ap)
{
	if (level > log_level)
		return;

	struct timeval tv;
	gettimeofday(&tv, NULL);
	char day[32], year[8];
	pthread_mutex_lock(&stamp_lock);
	if (tv.tv_sec != stamp_sec) {
		struct tm tm;
		localtime_r(&tv.tv_sec, &tm);
		strftime(stamp_buf, sizeof(stamp_buf), "%a %b %d %H:%M:%S", &tm);
		strftime(stamp_year, sizeof(stamp_year), "%Y", &tm);
		stamp_sec = tv.tv_sec;
	}
	memcpy(day, stamp_buf, sizeof(day));
	memcpy(year, stamp_year, sizeof(year));
	pthread_mutex_unlock(&stamp_lock);

	char line[8192];
	size_t n = 0;
	int r = snprintf(line, sizeof(line), "[%s.%06ld %s] [%s:%s] [pid %d] ",
			 day, (long)tv.tv_usec, year, module ? module : "core",
			 fy_log_level_name(level), (int)getpid());
	n = r > 0 ? (size_t)r : 0;
	if (ctx != NULL && ctx->client != NULL && n < sizeof(line)) {
		r = snprintf(line + n, sizeof(line) - n, "[client %s] ",
			     ctx->client);
		n += r > 0 ? (size_t)r : 0;
	}
	if (n < sizeof(line)) {
		/* The message may carry client or application text (a path,
		 * PHP's stderr): control characters are escaped so that one
		 * entry stays one line, as Apache's ap_escape_logitem does. */
		char msg[4096];
		r = vsnprintf(msg, sizeof(msg), fmt, ap);
		size_t ml = r < 0 ? 0 : (size_t)r < sizeof(msg) ? (size_t)r
							       : sizeof(msg) - 1;
		for (size_t i = 0; i < ml && n + 5 < sizeof(line); i++) {
			unsigned char ch = (unsigned char)msg[i];
			if (ch >= 0x20 && ch != 0x7f) {
				line[n++] = (char)ch;
			} else if (ch == '\n') {
				line[n++] = '\\';
				line[n++] = 'n';
			} else if (ch == '\t') {
				line[n++] = '\t';
			} else {
				n += (size_t)snprintf(line + n, sizeof(line) - n,
						      "\\x%02x", ch);
			}
		}
	}
	if (ctx != NULL && ctx->site != NULL && n < sizeof(line)) {
		r = snprintf(line + n, sizeof(line) - n, ", site %s", ctx->site);
		n += r > 0 ? (size_t)r : 0;
	}
	if (ctx != NULL && ctx->request_line != NULL && n < sizeof(line)) {
		/* The request line is client data: keep it printable so one log
		 * line stays one line. */
		const char *pre = ", request: \"";
		size_t pl = strlen(pre);
		if (n + pl < sizeof(line)) {
			memcpy(line + n, pre, pl);
			n += pl;
		}
		size_t max = ctx->request_line_len > 1024 ? 1024
							  : ctx->request_line_len;
		for (size_t i = 0; i < max && n + 5 < sizeof(line); i++) {
			unsigned char c = (unsigned char)ctx->request_line[i];
			if (c < 0x20 || c >= 0x7f || c == '"' || c == '\\') {
				n += (size_t)snprintf(line + n, sizeof(line) - n,
						      "\\x%02x", c);
			} else {
				line[n++] = (char)c;
			}
		}
		if (n < sizeof(line))
			line[n++] = '"';
	}
	if (n >= sizeof(line))
		n = sizeof(line) - 1;
	line[n++] = '\n';
	ssize_t w = write(log_fd, line, n);
	(void)w;
}

void fy_log(enum fy_log_level level, const char *module,
	    const struct fy_log_ctx *ctx, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	fy_vlog(level, module, ctx, fmt, ap);
	va_end(ap);
}
