/*
 * file_cache.h - small static files kept in memory, per process, and
 * checked against the file system on every use (proxy/file_cache.c).
 */
#ifndef FOYER_FILE_CACHE_H
#define FOYER_FILE_CACHE_H

#include <stddef.h>
#include <stdint.h>
#include <sys/stat.h>

struct fy_fcache_entry;

/* Sets the bytes the process may keep (file_cache_size); 0 turns the
 * cache off for new entries. */
void fy_fcache_configure(int64_t size);

/*
 * The entry kept for site and the normalised URI path[0..len), if the file
 * that path names relative to rootfd (one fstatat, symlinks followed) is
 * still the same inode, with the same size, mode, mtime and ctime. On a
 * hit, st is the fresh stat and the caller holds a reference until
 * fy_fcache_put(). NULL on a miss, without a system call when nothing is
 * kept under that key.
 */
struct fy_fcache_entry *fy_fcache_get(const void *site, int rootfd,
				      const char *path, size_t len,
				      struct stat *st);
void fy_fcache_put(struct fy_fcache_entry *e);
/* The kept content; NULL for an entry made by fy_fcache_add_stat(). */
const char *fy_fcache_data(const struct fy_fcache_entry *e, size_t *len);

/* Keeps a copy of data under site and path, if it is the whole file
 * (len == st->st_size), small, and not changed in the last seconds;
 * evicts the least recently used entries to stay in budget. */
void fy_fcache_add(const void *site, const char *path, size_t path_len,
		   const struct stat *st, const void *data, size_t len);

/* Keeps only that the path names this (settled, regular) file: for PHP
 * scripts, whose content PHP-FPM reads itself. */
void fy_fcache_add_stat(const void *site, const char *path, size_t path_len,
			const struct stat *st);

#endif
