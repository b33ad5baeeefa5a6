/*
 * body.c - where a request body waits for its handler: in memory up to
 * client_body_buffer_size, beyond that in an unlinked temp file in
 * client_body_temp_path, so that a large upload costs disk, not memory.
 *
 * PHP-FPM needs the exact CONTENT_LENGTH before the first STDIN byte, and a
 * slow uploader must not pin an FPM child while it trickles: so the whole
 * body is stored before any backend connection is taken.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "foyer/arena.h"
#include "foyer/core.h"
#include "proxy.h"

/* Once a body is in its file, bytes are gathered up to this much and
 * written in one writev(2), instead of one write per socket read. */
#define STAGE_MAX (64 * 1024)

static void close_body_fd(void *arg)
{
	struct fy_request *r = arg;
	if (r->body_fd >= 0) {
		close(r->body_fd);
		r->body_fd = -1;
	}
}

/* An anonymous file in dir: O_TMPFILE where the file system has it (the
 * file never has a name, so nothing is left behind by a crash), else a
 * named file unlinked at once. */
static int temp_open(const char *dir)
{
	int fd = open(dir, O_TMPFILE | O_RDWR | O_CLOEXEC, 0600);
	if (fd >= 0 || (errno != EOPNOTSUPP && errno != EISDIR))
		return fd;
	char path[PATH_MAX];
	if (snprintf(path, sizeof(path), "%s/foyer-body-XXXXXX", dir) >=
	    (int)sizeof(path)) {
		errno = ENAMETOOLONG;
		return -1;
	}
	fd = mkostemp(path, O_CLOEXEC);
	if (fd >= 0)
		unlink(path);
	return fd;
}

static int body_error(struct fy_request *r, const char *what)
{
	struct fy_log_ctx ctx;
	fy_log_ctx_fill(r, &ctx);
	fy_log(FY_LOG_ERR, "http", &ctx, "%s %s: %s", what,
	       r->conn->loop->cfg->client_body_temp_path, strerror(errno));
	return 500;
}

/* Writes what is staged to the body's file. Returns 0 or 500 (logged). */
static int write_stage(struct fy_request *r)
{
	while (evbuffer_get_length(r->body) > 0) {
		int n = evbuffer_write(r->body, r->body_fd);
		if (n > 0)
			continue;
		if (n < 0 && errno == EINTR)
			continue;
		/* A full disk shows as a short write, then ENOSPC. */
		if (n == 0)
			errno = ENOSPC;
		return body_error(r, "could not write the request body to "
				     "its temp file in");
	}
	return 0;
}

int fy_body_add(struct fy_request *r, const char *p, size_t n)
{
	const struct fy_config *cfg = r->conn->loop->cfg;
	if (evbuffer_add(r->body, p, n) != 0) {
		errno = ENOMEM;
		return body_error(r, "could not hold the request body for");
	}
	size_t held = evbuffer_get_length(r->body);
	if (r->body_fd >= 0)
		return held >= STAGE_MAX ? write_stage(r) : 0;
	if (held <= (uint64_t)cfg->client_body_buffer_size)
		return 0;
	int fd = temp_open(cfg->client_body_temp_path);
	if (fd < 0)
		return body_error(r, "could not create a temp file for the "
				     "request body in");
	r->body_fd = fd;
	if (fy_arena_cleanup(r->arena, close_body_fd, r) != FY_OK) {
		close(fd);
		r->body_fd = -1;
		errno = ENOMEM;
		return body_error(r, "could not hold the request body for");
	}
	return write_stage(r);
}

int fy_body_finish(struct fy_request *r)
{
	if (r->body == NULL || r->body_fd < 0)
		return 0;
	return write_stage(r);
}
