/*
 * router.h - from a request to what answers it: the site (by Host), then
 * the file inside the site's document root (safe path resolution, index
 * files, try-files with a front controller).
 */
#ifndef FOYER_ROUTER_H
#define FOYER_ROUTER_H

#include <limits.h>
#include <stddef.h>
#include <sys/stat.h>

struct fy_config;
struct fy_site;

/*
 * Picks the site for a Host header value (may include ":port", may be an
 * IPv6 literal in brackets, may end in '.'; compared case-insensitively).
 * Exact names win over wildcards ("*.example.com" matches "a.example.com"
 * and "a.b.example.com" but not "example.com"); the longest wildcard wins.
 * No match, or host NULL: the first site. Never returns NULL when the config
 * has a site.
 */
const struct fy_site *fy_router_site(const struct fy_config *cfg,
				     const char *host, size_t host_len);

/*
 * Pure: turns the path part of an origin-form request-target (no query) into
 * a normalised, percent-decoded path in out (outcap bytes, NUL-terminated).
 * Rules: must start with '/'; %XX decoded (bad escapes: 400); decoded NUL or
 * an encoded '/' (%2F): 404 as Apache does with AllowEncodedSlashes Off;
 * raw control octets: 400; "//" collapsed; "." and ".." segments removed
 * (RFC 3986 5.2.4), a ".." that would climb above "/" is 400. A trailing
 * '/' is kept. Returns 0 with the output length in *outlen, or the HTTP
 * status to answer.
 */
int fy_router_normalize(const char *path, size_t len, char *out,
			size_t outcap, size_t *outlen);

/* Pure: true if any segment of a normalised path starts with '.' (dot-files
 * such as .htaccess, .git/, .env are never served: 403). "/.well-known/" is
 * allowed (ACME, security.txt). */
int fy_router_is_hidden(const char *path, size_t len);

enum fy_route_kind {
	FY_ROUTE_FILE,		   /* serve fs_path */
	FY_ROUTE_REDIRECT_SLASH,   /* 301 to uri + "/" (+ query) */
	FY_ROUTE_ERROR,		   /* answer status */
};

struct fy_fcache_entry;

struct fy_route {
	enum fy_route_kind kind;
	int status;		/* FY_ROUTE_ERROR: 400, 403, 404 */
	char uri[PATH_MAX];	/* normalised decoded path that was asked for */
	char script[PATH_MAX];	/* the URI of what is served (after index or
				   front controller): SCRIPT_NAME's source */
	char fs_path[PATH_MAX]; /* file system path of what is served */
	struct stat st;		/* stat of fs_path (FY_ROUTE_FILE) */
	const char *path_info;	/* points into uri after the script
				   ("/2024/hello"); NULL if none */
	int fd;			/* FY_ROUTE_FILE: fs_path open for reading,
				   owned by the caller; else -1 */
	int front_controller;	/* 1 when the front controller was chosen */
	/* FY_ROUTE_FILE straight from the URI (no index, path info or front
	 * controller): the file may be kept in the file cache under uri. */
	int cacheable;
	/* Set instead of fd when the file cache holds the file: a reference
	 * the caller gives back with fy_fcache_put(). st is current. */
	struct fy_fcache_entry *cached;
};

/* Pure: true when path[0..len) ends in one of the site's php_extensions
 * (case-insensitive; ".php" alone is not a script). */
int fy_router_is_php(const struct fy_site *site, const char *path,
		     size_t len);

/* Opens the site's document root once (O_PATH) into site->root_fd, so that
 * every lookup resolves relative to it. Returns FY_OK, or FY_ERROR with
 * errno set. */
int fy_router_open_root(struct fy_site *site);

/*
 * Opens path, taken relative to the directory rootfd (leading '/' ignored,
 * "" is the directory itself), read-only, and stats it into st. With
 * beneath, any resolution that leaves rootfd, through ".." or a symlink,
 * is refused by the kernel (openat2 RESOLVE_BENEATH; where openat2 is
 * missing, the opened file's real path is checked). Returns the descriptor
 * (the caller closes it), or -1 with *status set (404 missing, 414 name too
 * long, 403 refused) and errno from the call that failed (EXDEV: the path
 * escapes rootfd).
 */
int fy_router_open_beneath(int rootfd, const char *path, int beneath,
			   struct stat *st, int *status);

/*
 * Resolves a request path for a site. path/len is the raw path of the
 * request-target (percent-encoded, without '?query').
 *
 * Steps: normalise (above); refuse hidden segments (403); map into
 * document_root; a regular file is served; a directory without a trailing
 * '/' is a redirect; a directory with one is served by its first existing
 * index file, else 403; a missing path goes to front_controller when the site
 * has one (404 if that is missing too), else 404. Unless follow_symlinks is
 * on, resolution may not leave the document root, through ".." or symlinks
 * (else 403): the kernel enforces it (openat2 with RESOLVE_BENEATH relative
 * to site->root_fd, or to the root opened for the call when root_fd is -1).
 * For FY_ROUTE_FILE the file is left open in out->fd, which the caller
 * closes: the file that was checked is the file that is served.
 *
 * On a site with a PHP pool, a path that continues past a PHP script
 * ("/index.php/a/b") resolves to the script with path_info "/a/b": the
 * leftmost prefix ending in a php extension that is a regular file.
 */
int fy_router_resolve(const struct fy_site *site, const char *path,
		      size_t len, struct fy_route *out);

#endif
