/*
 * xsendfile.h - X-Sendfile and X-Accel-Redirect: a gateway (PHP) answers
 * with a header naming a file, and foyer sends the file itself, with the
 * static handler's validators and ranges, instead of the gateway's body.
 * Off unless a site sets x_sendfile = on, and then confined to the site's
 * x_sendfile_root.
 *
 * The two headers name the file differently:
 *   X-Sendfile: /srv/private/a.pdf      a file system path, as lighttpd and
 *                                       Apache's mod_xsendfile take it; it
 *                                       must lie under x_sendfile_root;
 *   X-Accel-Redirect: /a.pdf            a URI path, as nginx takes it,
 *                                       relative to x_sendfile_root (nginx
 *                                       maps it through an internal
 *                                       location; foyer's one location is
 *                                       the root).
 */
#ifndef FOYER_XSENDFILE_H
#define FOYER_XSENDFILE_H

#include <stddef.h>
#include <sys/stat.h>

struct fy_site;

/*
 * Pure: maps a header value value[0..len) to a path relative to root, in
 * out (cap bytes, NUL-terminated, beginning with '/').
 *   accel 0 (X-Sendfile): an absolute path, taken as written (no
 *     percent-decoding); it must be root itself followed by '/' and more,
 *     and hold no ".." segment.
 *   accel 1 (X-Accel-Redirect): a URI path beginning with '/'; a query or
 *     fragment is ignored; decoded and normalised as a request path
 *     (fy_router_normalize: a ".." above the root is refused); dot-files
 *     refused as the router refuses them.
 * Returns 0, or the status to answer (403 refused, 404 cannot exist) with
 * *why set to a few words for the error log. Symlinks are not looked at
 * here: fy_xsendfile_open has the kernel refuse those that leave the root.
 */
int fy_xsendfile_map(const char *root, int accel, const char *value,
		     size_t len, char *out, size_t cap, const char **why);

/*
 * Opens the file a header value (NUL-terminated) names, for site (whose
 * x_sendfile_root is set), read-only: fy_xsendfile_map, then an open
 * beneath x_sendfile_root that the kernel refuses if it leaves the root
 * through a symlink (whatever follow_symlinks says). It must be a regular
 * file. Returns the descriptor (the caller closes it) with st filled and
 * the file's full path in fs_path (cap bytes), or -1 with *status (403,
 * 404) and *why set.
 */
int fy_xsendfile_open(const struct fy_site *site, int accel, const char *value,
		      char *fs_path, size_t cap, struct stat *st, int *status,
		      const char **why);

#endif
