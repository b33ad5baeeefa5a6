/*
 * xsendfile.c - X-Sendfile and X-Accel-Redirect: a gateway's response
 * names a file under the site's x_sendfile_root, and foyer sends that file
 * itself instead of the gateway's body.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "foyer/config.h"
#include "foyer/core.h"
#include "foyer/router.h"
#include "foyer/xsendfile.h"

/* Does path[0..len) hold a ".." segment? */
static int has_dotdot(const char *path, size_t len)
{
	size_t i = 0;
	while (i < len) {
		size_t start = i;
		while (i < len && path[i] != '/')
			i++;
		if (i - start == 2 && path[start] == '.' && path[start + 1] == '.')
			return 1;
		i++;
	}
	return 0;
}

int fy_xsendfile_map(const char *root, int accel, const char *value,
		     size_t len, char *out, size_t cap, const char **why)
{
	size_t rl = strlen(root);
	while (rl > 1 && root[rl - 1] == '/')
		rl--;
	if (len == 0 || value[0] != '/') {
		*why = accel ? "not a path beginning with '/'"
			     : "not an absolute path";
		return 403;
	}
	if (memchr(value, '\0', len) != NULL) {
		*why = "NUL in the path";
		return 403;
	}

	if (accel) {
		/* A URI path: its query and fragment do not name the file;
		 * decoding and dot segments as for a request (a ".." that
		 * climbs above the root is refused by the normaliser). */
		size_t n = 0;
		while (n < len && value[n] != '?' && value[n] != '#')
			n++;
		size_t ol;
		int st = fy_router_normalize(value, n, out, cap, &ol);
		if (st != 0) {
			*why = st == 404 ? "encoded '/' or NUL in the URI"
			     : st == 414 ? "URI too long"
					 : "'..' above x_sendfile_root or a bad "
					   "escape";
			return st == 404 ? 404 : 403;
		}
		if (fy_router_is_hidden(out, ol)) {
			*why = "names a dot-file";
			return 403;
		}
		return 0;
	}

	/* A file system path, taken as written (no percent-decoding): it must
	 * lie under the root, textually first. */
	if (rl > 1 && (len <= rl || memcmp(value, root, rl) != 0 ||
		       value[rl] != '/')) {
		*why = "outside x_sendfile_root";
		return 403;
	}
	const char *rel = rl > 1 ? value + rl : value;
	size_t rel_len = len - (size_t)(rel - value);
	if (has_dotdot(rel, rel_len)) {
		*why = "'..' in the path";
		return 403;
	}
	if (rel_len + 1 > cap) {
		*why = "path too long";
		return 403;
	}
	memcpy(out, rel, rel_len);
	out[rel_len] = '\0';
	return 0;
}

int fy_xsendfile_open(const struct fy_site *site, int accel, const char *value,
		      char *fs_path, size_t cap, struct stat *st, int *status,
		      const char **why)
{
	char rel[PATH_MAX];
	*status = fy_xsendfile_map(site->x_sendfile_root, accel, value,
				   strlen(value), rel, sizeof(rel), why);
	if (*status != 0)
		return -1;
	/* Opened for each response: a root replaced by a deploy (a symlink
	 * switched to a new release) is followed at once, and the cost is
	 * one O_PATH open next to the file's own. */
	int rootfd = open(site->x_sendfile_root, O_PATH | O_DIRECTORY | O_CLOEXEC);
	if (rootfd < 0) {
		*status = 404;
		*why = "x_sendfile_root cannot be opened";
		return -1;
	}
	/* Beneath the root whatever follow_symlinks says: the name comes
	 * from the gateway, whose output an attacker may steer. */
	int fd = fy_router_open_beneath(rootfd, rel, 1, st, status);
	int e = errno;
	close(rootfd);
	if (fd < 0) {
		*why = e == EXDEV ? "resolves outside x_sendfile_root (symlink)"
		     : e == ELOOP ? "symlink loop"
		     : *status == 404 ? "no such file"
				      : "not permitted";
		return -1;
	}
	if (!S_ISREG(st->st_mode)) {
		close(fd);
		*status = 403;
		*why = "not a regular file";
		return -1;
	}
	size_t rl = strlen(site->x_sendfile_root);
	while (rl > 1 && site->x_sendfile_root[rl - 1] == '/')
		rl--;
	const char *r0 = rel;
	while (*r0 == '/')
		r0++;
	/* A root of "/" adds no prefix of its own. */
	int n = snprintf(fs_path, cap, "%.*s/%s", rl > 1 ? (int)rl : 0,
			 site->x_sendfile_root, r0);
	if (n < 0 || (size_t)n >= cap) {
		close(fd);
		*status = 403;
		*why = "path too long";
		return -1;
	}
	return fd;
}
