/*
 * static.c - the static file handler: GET and HEAD of regular files with
 * validators (ETag, Last-Modified), conditional requests, single byte
 * ranges, and sendfile for large bodies.
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include "foyer/arena.h"
#include "foyer/core.h"
#include "foyer/file_cache.h"
#include "foyer/mime.h"
#include "proxy.h"

/* Bodies up to this size are copied into the output with the head, so a
 * small file goes out in a single write; larger ones use sendfile. */
#define STATIC_COPY_MAX (32 * 1024)
/* Room reserved for a response head in front of a copied body. */
#define STATIC_HEAD_ROOM 512

/* nginx's form: "mtime-size" in hex. buf holds at least 40 bytes. */
static void make_etag(const struct stat *st, char *buf)
{
	char *p = buf;
	*p++ = '"';
	p = fy_put_hex(p, (uint64_t)st->st_mtime);
	*p++ = '-';
	p = fy_put_hex(p, (uint64_t)st->st_size);
	*p++ = '"';
	*p = '\0';
}

/* Does the If-None-Match list name our ETag? Weak comparison (RFC 9110
 * 13.1.2): "W/" prefixes are ignored. */
static int etag_listed(const char *v, size_t len, const char *etag)
{
	size_t el = strlen(etag);
	size_t i = 0;
	while (i < len) {
		while (i < len && (v[i] == ' ' || v[i] == '\t' || v[i] == ','))
			i++;
		if (i == len)
			break;
		if (v[i] == '*')
			return 1;
		if (i + 2 <= len && v[i] == 'W' && v[i + 1] == '/')
			i += 2;
		size_t start = i;
		if (i < len && v[i] == '"') {
			i++;
			while (i < len && v[i] != '"')
				i++;
			if (i < len)
				i++;
		} else {
			while (i < len && v[i] != ',')
				i++;
		}
		if (i - start == el && memcmp(v + start, etag, el) == 0)
			return 1;
	}
	return 0;
}

static int parse_u64(const char *p, const char *end, uint64_t *out)
{
	if (p == end)
		return -1;
	uint64_t v = 0;
	for (; p < end; p++) {
		if (*p < '0' || *p > '9')
			return -1;
		if (v > (UINT64_MAX - 9) / 10)
			return -1;
		v = v * 10 + (uint64_t)(*p - '0');
	}
	*out = v;
	return 0;
}

/* Parses one "bytes=" range against size. Returns 1 with [first, last] set,
 * 0 to ignore the header (invalid or several ranges: the whole file), -1
 * when unsatisfiable (416). */
static int parse_range(const char *v, size_t len, uint64_t size,
		       uint64_t *first, uint64_t *last)
{
	const char *end = v + len;
	if (len < 6 || strncasecmp(v, "bytes=", 6) != 0)
		return 0;
	const char *p = v + 6;
	while (p < end && (*p == ' ' || *p == '\t'))
		p++;
	const char *q = end;
	while (q > p && (q[-1] == ' ' || q[-1] == '\t'))
		q--;
	if (memchr(p, ',', (size_t)(q - p)) != NULL)
		return 0;
	const char *dash = memchr(p, '-', (size_t)(q - p));
	if (dash == NULL)
		return 0;
	uint64_t a, b;
	if (dash == p) {
		/* suffix: the last N bytes */
		if (parse_u64(dash + 1, q, &b) != 0)
			return 0;
		if (b == 0 || size == 0)
			return -1;
		*first = b >= size ? 0 : size - b;
		*last = size - 1;
		return 1;
	}
	if (parse_u64(p, dash, &a) != 0)
		return 0;
	if (dash + 1 == q) {
		b = UINT64_MAX;
	} else if (parse_u64(dash + 1, q, &b) != 0 || b < a) {
		return 0;
	}
	if (a >= size)
		return -1;
	*first = a;
	*last = b >= size ? size - 1 : b;
	return 1;
}

static int not_modified(struct fy_request *r, const char *etag)
{
	size_t len;
	const char *inm = fy_request_header(r, "If-None-Match", &len);
	if (inm != NULL)
		return etag_listed(inm, len, etag);
	const char *ims = fy_request_header(r, "If-Modified-Since", &len);
	if (ims != NULL) {
		time_t t = fy_http_date_parse(ims, len);
		return t != -1 && r->st.st_mtime <= t;
	}
	return 0;
}

static void close_fd(void *arg)
{
	close((int)(intptr_t)arg);
}

static void drop_fd(int fd)
{
	if (fd >= 0)
		close(fd);
}

static int static_start(struct fy_request *r)
{
	switch (r->method) {
	case FY_METHOD_GET:
	case FY_METHOD_HEAD:
		break;
	case FY_METHOD_OPTIONS:
		fy_response_add_header(r, "Allow", "GET, HEAD, OPTIONS");
		fy_response_head(r, 200, 0);
		return FY_OK;
	case FY_METHOD_OTHER:
		return 501;
	default:
		return 405;
	}
	if (strcmp(r->uri, "*") == 0)
		return 400;
	return fy_static_serve(r);
}

int fy_static_serve(struct fy_request *r)
{
	struct fy_log_ctx ctx;
	/* The router (or X-Sendfile) opened the file it checked; the
	 * handler takes the descriptor over. */
	int fd = r->fd;
	r->fd = -1;
	/* Or the file cache has it (st.st_size bytes: the router compared
	 * them); the request keeps that reference. */
	size_t cached_len;
	const char *cached = r->cached != NULL
				 ? fy_fcache_data(r->cached, &cached_len)
				 : NULL;
	if (fd < 0 && cached == NULL)
		return 404;
	const struct stat st = r->st;

	char etag[48], lm[32];
	make_etag(&st, etag);
	fy_http_date(st.st_mtime, lm);
	char *etag_a = fy_arena_strdup(r->arena, etag);
	char *lm_a = fy_arena_strdup(r->arena, lm);
	if (etag_a == NULL || lm_a == NULL) {
		drop_fd(fd);
		return 500;
	}
	fy_response_add_header(r, "Last-Modified", lm_a);
	fy_response_add_header(r, "ETag", etag_a);
	fy_response_add_header(r, "Accept-Ranges", "bytes");
	/* A gateway that had the file sent (X-Sendfile) chose its type. */
	if (r->content_type == NULL)
		r->content_type = fy_mime_type(r->filename);

	if (not_modified(r, etag)) {
		drop_fd(fd);
		fy_response_head(r, 304, -2);
		return FY_OK;
	}

	uint64_t size = (uint64_t)st.st_size;
	uint64_t first = 0, last = size ? size - 1 : 0;
	int status = 200;
	size_t rl;
	const char *range =
	    r->method == FY_METHOD_GET ? fy_request_header(r, "Range", &rl) : NULL;
	if (range != NULL) {
		/* If-Range: the range applies only to the representation the
		 * client already has. */
		size_t irl;
		const char *ir = fy_request_header(r, "If-Range", &irl);
		int applies = 1;
		if (ir != NULL) {
			if (irl > 0 && (ir[0] == '"' || ir[0] == 'W'))
				applies = irl == strlen(etag) &&
					  memcmp(ir, etag, irl) == 0;
			else
				applies = fy_http_date_parse(ir, irl) == st.st_mtime;
		}
		int pr = applies ? parse_range(range, rl, size, &first, &last) : 0;
		if (pr < 0) {
			drop_fd(fd);
			char *cr = fy_arena_printf(r->arena, "bytes */%" PRIu64,
						   size);
			fy_response_add_header(r, "Content-Range", cr);
			return 416;
		}
		if (pr > 0) {
			status = 206;
			char *cr = fy_arena_printf(r->arena,
						   "bytes %" PRIu64 "-%" PRIu64
						   "/%" PRIu64,
						   first, last, size);
			fy_response_add_header(r, "Content-Range", cr);
		}
	}
	uint64_t len = size == 0 ? 0 : last - first + 1;
	int copy = r->method != FY_METHOD_HEAD && len > 0 &&
		   (len <= STATIC_COPY_MAX || cached != NULL);
	if (copy)
		/* one buffer chain (one allocation) for the head and body */
		evbuffer_expand(r->conn->out, STATIC_HEAD_ROOM + len);
	fy_response_head(r, status, (int64_t)len);
	if (r->method == FY_METHOD_HEAD || len == 0) {
		drop_fd(fd);
		return FY_OK;
	}

	struct evbuffer *out = r->conn->out;
	if (copy) {
		struct evbuffer_iovec v;
		if (evbuffer_reserve_space(out, (ev_ssize_t)len, &v, 1) < 1) {
			drop_fd(fd);
			return FY_ERROR;
		}
		if (cached != NULL) {
			/* the router checked it is the file's current content */
			memcpy(v.iov_base, cached + first, len);
			v.iov_len = len;
			evbuffer_commit_space(out, &v, 1);
			r->bytes_body += len;
			return FY_OK;
		}
		size_t got = 0;
		while (got < len) {
			ssize_t n = pread(fd, (char *)v.iov_base + got, len - got,
					  (off_t)(first + got));
			if (n < 0 && errno == EINTR)
				continue;
			if (n <= 0)
				break;
			got += (size_t)n;
		}
		close(fd);
		if (got == len && r->cacheable && first == 0)
			fy_fcache_add(r->site, r->uri, strlen(r->uri), &st,
				      v.iov_base, len);
		if (got != len) {
			/* The file shrank under us: the head is gone already,
			 * so the only honest end is a short close. */
			r->keep_alive = 0;
			fy_log_ctx_fill(r, &ctx);
			fy_log(FY_LOG_ERR, "static", &ctx,
			       "%s changed while being read", r->filename);
		}
		v.iov_len = got;
		evbuffer_commit_space(out, &v, 1);
		r->bytes_body += got;
		return FY_OK;
	}
	/* A file segment owns the descriptor (closed once sent, or when the
	 * buffer is freed). Without EVBUF_FS_DISABLE_MMAP libevent maps the
	 * file and writev()s it: an mmap and munmap per response instead of
	 * one sendfile(2). */
	struct evbuffer_file_segment *seg = evbuffer_file_segment_new(
	    fd, (ev_off_t)first, (ev_off_t)len,
	    EVBUF_FS_DISABLE_MMAP | EVBUF_FS_CLOSE_ON_FREE);
	if (seg == NULL) {
		close_fd((void *)(intptr_t)fd);
		return FY_ERROR;
	}
	int rc = evbuffer_add_file_segment(out, seg, 0, (ev_off_t)len);
	evbuffer_file_segment_free(seg); /* the buffer holds its reference */
	if (rc != 0)
		return FY_ERROR;
	r->bytes_body += len;
	return FY_OK;
}

const struct fy_handler fy_handler_static = {
	.name = "static",
	.wants_body = 0,
	.start = static_start,
};
