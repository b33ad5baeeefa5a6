/*
 * router.c - site selection by Host, safe path resolution inside a document
 * root, index files and the front controller.
 */
#include <errno.h>
#include <stdio.h>
#include <fcntl.h>
#include <linux/openat2.h>
#include <sys/syscall.h>
#include <unistd.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>

#include "foyer/config.h"
#include "foyer/core.h"
#include "foyer/file_cache.h"
#include "foyer/router.h"

/* Reduces a host name to what is compared: no brackets around an IPv6
 * literal, no ":port", no single trailing dot. */
static void host_view(const char *s, size_t len, const char **name,
		      size_t *name_len)
{
	const char *end;

	if (len > 0 && s[0] == '[') {
		end = memchr(s, ']', len);
		if (end == NULL) {
			/* A malformed literal matches no site. */
			*name = s;
			*name_len = 0;
			return;
		}
		*name = s + 1;
		*name_len = (size_t)(end - s) - 1;
		return;
	}
	end = memchr(s, ':', len);
	/* More than one colon: a bare IPv6 literal (as a server name may be
	 * written), which has no port to strip. */
	if (end != NULL &&
	    memchr(end + 1, ':', len - (size_t)(end - s) - 1) == NULL)
		len = (size_t)(end - s);
	if (len > 0 && s[len - 1] == '.')
		len--;
	*name = s;
	*name_len = len;
}

const struct fy_site *fy_router_site(const struct fy_config *cfg,
				     const char *host, size_t host_len)
{
	const struct fy_site *best = NULL;
	size_t best_len = 0;
	const char *h;
	size_t hlen;

	if (cfg == NULL || cfg->n_sites == 0)
		return NULL;
	if (host == NULL)
		return cfg->sites[0];
	host_view(host, host_len, &h, &hlen);
	if (hlen == 0)
		return cfg->sites[0];

	for (size_t i = 0; i < cfg->n_sites; i++) {
		const struct fy_site *site = cfg->sites[i];

		for (size_t j = 0; j < site->n_server_names; j++) {
			const char *sn = site->server_names[j];
			const char *n;
			size_t nlen;

			host_view(sn, strlen(sn), &n, &nlen);
			if (nlen >= 2 && n[0] == '*' && n[1] == '.') {
				/* The suffix keeps its dot, so a wildcard
				 * never matches the bare domain. */
				const char *suffix = n + 1;
				size_t slen = nlen - 1;

				if (hlen > slen && slen > best_len &&
				    strncasecmp(h + hlen - slen, suffix,
						slen) == 0) {
					best = site;
					best_len = slen;
				}
				continue;
			}
			if (nlen == hlen && strncasecmp(h, n, hlen) == 0)
				return site;
		}
	}
	return best != NULL ? best : cfg->sites[0];
}

static int hex_value(unsigned char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

int fy_router_normalize(const char *path, size_t len, char *out, size_t outcap,
			size_t *outlen)
{
	size_t i = 1;
	size_t o = 1;

	if (len == 0 || path[0] != '/')
		return 400;
	if (outcap < 2)
		return 414;
	out[0] = '/';

	/*
	 * out works as a stack of segments: each segment is decoded in place
	 * right after a '/', then dropped again if it turns out to be "." or
	 * "..". Dot segments are recognised after decoding so that %2e%2e
	 * cannot slip past. The first two decoded octets are kept aside so
	 * that a dot segment is recognised even where out has no room left.
	 */
	while (i < len) {
		size_t seg = o;
		size_t seg_len = 0;
		unsigned char first[2] = {0, 0};
		int more;

		while (i < len && path[i] != '/') {
			unsigned char c = (unsigned char)path[i];

			if (c == '%') {
				int hi, lo;

				if (len - i < 3)
					return 400;
				hi = hex_value((unsigned char)path[i + 1]);
				lo = hex_value((unsigned char)path[i + 2]);
				if (hi < 0 || lo < 0)
					return 400;
				c = (unsigned char)(hi << 4 | lo);
				if (c == '\0' || c == '/')
					return 404;
				i += 3;
			} else {
				if (c < 0x20 || c == 0x7f)
					return 400;
				i++;
			}
			if (seg_len < 2)
				first[seg_len] = c;
			seg_len++;
			if (o < outcap - 1)
				out[o++] = (char)c;
		}
		more = i < len;
		if (more)
			i++;

		if (seg_len == 0)
			continue;
		if (seg_len == 1 && first[0] == '.') {
			o = seg;
			continue;
		}
		if (seg_len == 2 && first[0] == '.' && first[1] == '.') {
			if (seg == 1)
				return 400;
			o = seg - 1;
			while (out[o - 1] != '/')
				o--;
			continue;
		}
		if (seg_len > outcap - 1 - seg)
			return 414;
		if (more) {
			if (o >= outcap - 1)
				return 414;
			out[o++] = '/';
		}
	}
	out[o] = '\0';
	*outlen = o;
	return 0;
}

int fy_router_is_hidden(const char *path, size_t len)
{
	static const char well_known[] = ".well-known";
	const size_t wk_len = sizeof(well_known) - 1;
	int first = 1;
	size_t i = 0;

	while (i < len) {
		size_t start, end;

		while (i < len && path[i] == '/')
			i++;
		if (i == len)
			break;
		start = i;
		while (i < len && path[i] != '/')
			i++;
		end = i;
		/* RFC 8615 places .well-known at the root only. */
		if (path[start] == '.' &&
		    !(first && end - start == wk_len &&
		      memcmp(path + start, well_known, wk_len) == 0))
			return 1;
		first = 0;
	}
	return 0;
}

/* Joins a document root and a normalised URI path (which starts with '/')
 * into dst. Returns 0 or 414 when the result does not fit. */
static int join_path(char *dst, size_t cap, const char *root, const char *uri,
		     size_t uri_len)
{
	size_t rlen = strlen(root);

	while (rlen > 0 && root[rlen - 1] == '/')
		rlen--;
	if (rlen + uri_len + 1 > cap)
		return 414;
	memcpy(dst, root, rlen);
	memcpy(dst + rlen, uri, uri_len);
	dst[rlen + uri_len] = '\0';
	return 0;
}

static int append(char *dst, size_t cap, const char *s)
{
	size_t dlen = strlen(dst);
	size_t slen = strlen(s);

	if (dlen + slen + 1 > cap)
		return 414;
	memcpy(dst + dlen, s, slen + 1);
	return 0;
}

static int no_openat2;

/* The real path of an open descriptor, from /proc. Returns its length or
 * -1. */
static ssize_t fd_path(int fd, char *buf, size_t len)
{
	char proc[32];
	snprintf(proc, sizeof(proc), "/proc/self/fd/%d", fd);
	ssize_t n = readlink(proc, buf, len - 1);
	if (n < 0 || (size_t)n >= len - 1)
		return -1;
	buf[n] = '\0';
	return n;
}

/* Where openat2(2) is missing: open, then ask the kernel where the opened
 * file really is and refuse it (EXDEV) if that is outside the root. */
static int open_checked(int rootfd, const char *rel, int beneath)
{
	int fd = openat(rootfd, rel, O_RDONLY | O_NONBLOCK | O_NOCTTY | O_CLOEXEC);
	if (fd < 0 || !beneath)
		return fd;
	char root[PATH_MAX], file[PATH_MAX];
	ssize_t rl = fd_path(rootfd, root, sizeof(root));
	ssize_t fl = fd_path(fd, file, sizeof(file));
	if (rl < 0 || fl < 0 ||
	    (rl > 1 && (fl < rl || memcmp(root, file, (size_t)rl) != 0 ||
			(file[rl] != '\0' && file[rl] != '/')))) {
		close(fd);
		errno = EXDEV;
		return -1;
	}
	return fd;
}

/*
 * One openat2(2) and one fstat(2), like a plain open. With beneath,
 * RESOLVE_BENEATH makes the kernel refuse any resolution that leaves the
 * root, through ".." or a symlink (EXDEV), so no realpath walk is needed.
 */
int fy_router_open_beneath(int rootfd, const char *path, int beneath,
			   struct stat *st, int *status)
{
	struct open_how how = {
	    .flags = O_RDONLY | O_NONBLOCK | O_NOCTTY | O_CLOEXEC,
	    .resolve = beneath ? RESOLVE_BENEATH : 0,
	};
	const char *rel = path;
	while (*rel == '/')
		rel++;
	if (*rel == '\0')
		rel = ".";
	int fd = -1;
	if (!no_openat2) {
		fd = (int)syscall(SYS_openat2, rootfd, rel, &how, sizeof(how));
		if (fd < 0 && errno == ENOSYS)
			no_openat2 = 1; /* old kernel, seccomp, valgrind */
	}
	if (no_openat2)
		fd = open_checked(rootfd, rel, beneath);
	if (fd < 0) {
		switch (errno) {
		case ENOENT:
		case ENOTDIR:
			*status = 404;
			break;
		case ENAMETOOLONG:
			*status = 414;
			break;
		case ENXIO: /* a socket */
		case EXDEV: /* escapes the root */
		case ELOOP:
		case EACCES:
		case EPERM:
		default:
			*status = 403;
			break;
		}
		return -1;
	}
	if (fstat(fd, st) != 0) {
		int e = errno;
		close(fd);
		errno = e;
		*status = 403;
		return -1;
	}
	return fd;
}

/* What a normalised URI names inside the site's document root, opened and
 * stated; symlinks may leave the root only with follow_symlinks. Returns
 * the descriptor, or -1 with *status set (404 missing, 403 refused). */
static int open_in_root(const struct fy_site *site, int rootfd,
			const char *uri, struct stat *st, int *status)
{
	return fy_router_open_beneath(rootfd, uri, !site->follow_symlinks, st,
				      status);
}

static void route_close(struct fy_route *out);

static int route_error(struct fy_route *out, int status)
{
	out->kind = FY_ROUTE_ERROR;
	out->status = status;
	return FY_ERROR;
}

static int route_file(struct fy_route *out)
{
	out->kind = FY_ROUTE_FILE;
	out->status = 200;
	return FY_OK;
}

static int resolve_front_controller(const struct fy_site *site, int rootfd,
				    struct fy_route *out)
{
	const char *fc = site->front_controller;
	size_t slen;
	int rc;

	/* A front controller that is no clean absolute path is a
	 * configuration mistake; the request still gets a plain 404. */
	if (fy_router_normalize(fc, strlen(fc), out->script,
				sizeof(out->script), &slen) != 0)
		return route_error(out, 404);
	if (join_path(out->fs_path, sizeof(out->fs_path), site->document_root,
		      out->script, slen) != 0)
		return route_error(out, 404);
	out->fd = open_in_root(site, rootfd, out->script, &out->st, &rc);
	if (out->fd < 0)
		return route_error(out, rc == 403 ? 403 : 404);
	if (!S_ISREG(out->st.st_mode)) {
		route_close(out);
		return route_error(out, 404);
	}
	out->front_controller = 1;
	return route_file(out);
}

static int resolve_index(const struct fy_site *site, int rootfd,
			 struct fy_route *out, size_t uri_len)
{
	size_t dir_len = strlen(out->fs_path);
	int rc;

	for (size_t i = 0; i < site->n_index; i++) {
		const char *name = site->index[i];
		size_t nlen = strlen(name);

		out->fs_path[dir_len] = '\0';
		if (append(out->fs_path, sizeof(out->fs_path), name) != 0)
			continue;
		if (uri_len + nlen + 1 > sizeof(out->script))
			return route_error(out, 414);
		memcpy(out->script, out->uri, uri_len);
		memcpy(out->script + uri_len, name, nlen + 1);
		out->fd = open_in_root(site, rootfd, out->script, &out->st, &rc);
		if (out->fd < 0) {
			/* An index that escapes the root is refused outright
			 * rather than skipped for the next name. */
			if (rc == 403)
				return route_error(out, 403);
			continue;
		}
		if (!S_ISREG(out->st.st_mode)) {
			route_close(out);
			continue;
		}
		return route_file(out);
	}
	out->fs_path[dir_len] = '\0';
	out->script[0] = '\0';
	return route_error(out, 403);
}

static void route_close(struct fy_route *out)
{
	if (out->fd >= 0) {
		close(out->fd);
		out->fd = -1;
	}
}

int fy_router_open_root(struct fy_site *site)
{
	site->root_fd = open(site->document_root,
			     O_PATH | O_DIRECTORY | O_CLOEXEC);
	return site->root_fd >= 0 ? FY_OK : FY_ERROR;
}

int fy_router_is_php(const struct fy_site *site, const char *path, size_t len)
{
	for (size_t i = 0; i < site->n_php_extensions; i++) {
		const char *ext = site->php_extensions[i];
		size_t el = strlen(ext);
		if (len > el && path[len - el - 1] != '/' &&
		    strncasecmp(path + len - el, ext, el) == 0)
			return 1;
	}
	return 0;
}

/*
 * "/app/index.php/2024/hello": a PHP script with path info after it. The
 * script is the leftmost prefix, ending at a '/', that names a PHP script
 * which exists as a regular file; foyer splits here itself, so that
 * "/uploads/x.jpg/y.php" (x.jpg is no script) never reaches PHP. Returns
 * 1 with out filled, 0 when there is no such prefix.
 */
static int split_path_info(const struct fy_site *site, int rootfd,
			   struct fy_route *out, size_t uri_len)
{
	if (site->pool == NULL)
		return 0;
	for (size_t k = 1; k < uri_len; k++) {
		if (out->uri[k] != '/' || !fy_router_is_php(site, out->uri, k))
			continue;
		char saved = out->uri[k];
		int rc;
		out->uri[k] = '\0';
		out->fd = open_in_root(site, rootfd, out->uri, &out->st, &rc);
		memcpy(out->script, out->uri, k + 1);
		out->uri[k] = saved;
		if (out->fd < 0)
			return 0; /* what follows cannot exist either */
		if (!S_ISREG(out->st.st_mode)) {
			route_close(out);
			continue;
		}
		out->path_info = out->uri + k;
		size_t rl = strlen(site->document_root);
		while (rl > 1 && site->document_root[rl - 1] == '/')
			rl--;
		out->fs_path[rl + k] = '\0';
		return 1;
	}
	return 0;
}

static int resolve_in(const struct fy_site *site, int rootfd,
		      struct fy_route *out, size_t uri_len)
{
	int rc;

	out->cached = fy_fcache_get(site, rootfd, out->uri, uri_len, &out->st);
	size_t kept;
	if (out->cached != NULL && fy_fcache_data(out->cached, &kept) == NULL &&
	    (site->pool == NULL || !fy_router_is_php(site, out->uri, uri_len))) {
		/* Only PHP-FPM may use a script known without its content. */
		fy_fcache_put(out->cached);
		out->cached = NULL;
	}
	if (out->cached != NULL) {
		memcpy(out->script, out->uri, uri_len + 1);
		out->cacheable = 1;
		return route_file(out);
	}
	out->fd = open_in_root(site, rootfd, out->uri, &out->st, &rc);
	if (out->fd < 0) {
		if (rc == 404 && errno == ENOTDIR &&
		    split_path_info(site, rootfd, out, uri_len))
			return route_file(out);
		if ((rc == 404) && site->front_controller != NULL)
			return resolve_front_controller(site, rootfd, out);
		return route_error(out, rc);
	}
	if (S_ISREG(out->st.st_mode)) {
		memcpy(out->script, out->uri, uri_len + 1);
		out->cacheable = 1;
		return route_file(out);
	}
	route_close(out);
	if (!S_ISDIR(out->st.st_mode))
		/* Devices, FIFOs and sockets are never served. */
		return route_error(out, 403);
	if (out->uri[uri_len - 1] != '/') {
		memcpy(out->script, out->uri, uri_len + 1);
		out->kind = FY_ROUTE_REDIRECT_SLASH;
		out->status = 301;
		return FY_OK;
	}
	return resolve_index(site, rootfd, out, uri_len);
}

int fy_router_resolve(const struct fy_site *site, const char *path, size_t len,
		      struct fy_route *out)
{
	size_t uri_len;
	int rc;

	out->kind = FY_ROUTE_ERROR;
	out->status = 0;
	out->fd = -1;
	out->path_info = NULL;
	out->uri[0] = '\0';
	out->script[0] = '\0';
	out->fs_path[0] = '\0';
	out->front_controller = 0;
	out->cacheable = 0;
	out->cached = NULL;
	memset(&out->st, 0, sizeof(out->st));

	rc = fy_router_normalize(path, len, out->uri, sizeof(out->uri),
				 &uri_len);
	if (rc != 0)
		return route_error(out, rc);
	if (fy_router_is_hidden(out->uri, uri_len))
		return route_error(out, 403);
	rc = join_path(out->fs_path, sizeof(out->fs_path), site->document_root,
		       out->uri, uri_len);
	if (rc != 0)
		return route_error(out, rc);

	if (site->root_fd >= 0)
		return resolve_in(site, site->root_fd, out, uri_len);
	/* A site whose root was not opened at startup (tests, tools): open
	 * it for this call. */
	int rootfd = open(site->document_root, O_PATH | O_DIRECTORY | O_CLOEXEC);
	if (rootfd < 0)
		return route_error(out, 404);
	rc = resolve_in(site, rootfd, out, uri_len);
	close(rootfd);
	return rc;
}
