/*
 * file_cache.c - small static files kept in memory, per process.
 *
 * Serving a 1 KiB file costs an openat2, an fstat, a pread and a close
 * besides the socket I/O. Here a file that was served whole stays in
 * memory, keyed by its site and normalised URI path; the next request for
 * that path makes one fstatat(2) and is answered from memory when the
 * path still names the same inode with the same size, mtime, ctime and
 * mode. Any write, chmod, rename over or replacement changes one of
 * those, so a changed file is read again on its next request.
 *
 * Safety of the lookup: the content was read once through the router's
 * checked open (openat2 RESOLVE_BENEATH unless follow_symlinks), and a hit
 * needs the very same inode, so a path that now leads elsewhere (a symlink
 * swapped in, say) misses and goes through the checked open again.
 *
 * File timestamps tick coarsely (a jiffy), so a file changed in place
 * twice within one tick keeps its mtime and ctime. Like git's "racily
 * clean" rule, a file whose ctime is less than FCACHE_SETTLE seconds old
 * is served but not kept.
 *
 * A PHP script gets an entry without content: one fstatat then tells the
 * router it is still the regular file that was checked, instead of an
 * openat2, an fstat and a close before each request goes to PHP-FPM.
 *
 * Entries are reference counted: a request holds its entry until the
 * request ends, so eviction never frees memory a response is copied from.
 * One mutex guards the table; it is held for a hash lookup or an insert,
 * never across a system call.
 */
#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include "foyer/core.h"
#include "foyer/file_cache.h"
#include "proxy.h"

#define FCACHE_BUCKETS 256
/* Only files up to this size are kept (larger ones go out by sendfile). */
#define FCACHE_FILE_MAX (32 * 1024)
#define FCACHE_SETTLE 2

struct fy_fcache_entry {
	struct fy_fcache_entry *next;	     /* hash chain */
	struct fy_fcache_entry *prev_lru, *next_lru;
	const void *site;
	uint32_t hash;
	int refs;	 /* the table's own reference counts as one */
	int in_table;
	int stat_only; /* a PHP script: known to be there, content not kept */
	struct stat st;
	size_t path_len;
	char *path;
	size_t len;
	char data[];
};

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static struct fy_fcache_entry *buckets[FCACHE_BUCKETS];
/* most recently used first */
static struct fy_fcache_entry *lru_head, *lru_tail;
static size_t held;   /* bytes of entries in the table */
static size_t budget; /* file_cache_size; 0: off */
static int nonempty;  /* read without the lock: a hint only */

void fy_fcache_configure(int64_t size)
{
	pthread_mutex_lock(&lock);
	__atomic_store_n(&budget, size > 0 ? (size_t)size : 0,
			 __ATOMIC_RELAXED);
	pthread_mutex_unlock(&lock);
}

static uint32_t hash_key(const void *site, const char *path, size_t len)
{
	/* FNV-1a over the path, mixed with the site's address */
	uint32_t h = 2166136261u ^ (uint32_t)((uintptr_t)site >> 4);
	for (size_t i = 0; i < len; i++) {
		h ^= (unsigned char)path[i];
		h *= 16777619u;
	}
	return h;
}

static void lru_unlink(struct fy_fcache_entry *e)
{
	if (e->prev_lru != NULL)
		e->prev_lru->next_lru = e->next_lru;
	else
		lru_head = e->next_lru;
	if (e->next_lru != NULL)
		e->next_lru->prev_lru = e->prev_lru;
	else
		lru_tail = e->prev_lru;
	e->prev_lru = e->next_lru = NULL;
}

static void lru_push(struct fy_fcache_entry *e)
{
	e->prev_lru = NULL;
	e->next_lru = lru_head;
	if (lru_head != NULL)
		lru_head->prev_lru = e;
	lru_head = e;
	if (lru_tail == NULL)
		lru_tail = e;
}

static size_t entry_bytes(const struct fy_fcache_entry *e)
{
	return sizeof(*e) + e->len + e->path_len + 1;
}

/* Under the lock: drops the table's reference. Returns the entry when
 * that was the last one (the caller frees it after unlocking). */
static struct fy_fcache_entry *unlink_entry(struct fy_fcache_entry *e)
{
	struct fy_fcache_entry **pp = &buckets[e->hash % FCACHE_BUCKETS];
	while (*pp != e)
		pp = &(*pp)->next;
	*pp = e->next;
	lru_unlink(e);
	e->in_table = 0;
	held -= entry_bytes(e);
	__atomic_store_n(&nonempty, lru_head != NULL, __ATOMIC_RELAXED);
	return --e->refs == 0 ? e : NULL;
}

/* Under the lock: unlinks e, and chains it on *dead when it is to be
 * freed (after unlocking). */
static void drop_entry(struct fy_fcache_entry *e, struct fy_fcache_entry **dead)
{
	if (unlink_entry(e) != NULL) {
		e->next = *dead;
		*dead = e;
	}
}

static void free_chain(struct fy_fcache_entry *dead)
{
	while (dead != NULL) {
		struct fy_fcache_entry *n = dead->next;
		free(dead);
		dead = n;
	}
}

/* Under the lock: the entry kept under site and path, or NULL. */
static struct fy_fcache_entry *find_locked(const void *site, uint32_t h,
					   const char *path, size_t len)
{
	struct fy_fcache_entry *e = buckets[h % FCACHE_BUCKETS];
	while (e != NULL && !(e->hash == h && e->site == site &&
			      e->path_len == len &&
			      memcmp(e->path, path, len) == 0))
		e = e->next;
	return e;
}

static int same_file(const struct stat *a, const struct stat *b)
{
	return a->st_dev == b->st_dev && a->st_ino == b->st_ino &&
	       a->st_size == b->st_size && a->st_mode == b->st_mode &&
	       a->st_mtim.tv_sec == b->st_mtim.tv_sec &&
	       a->st_mtim.tv_nsec == b->st_mtim.tv_nsec &&
	       a->st_ctim.tv_sec == b->st_ctim.tv_sec &&
	       a->st_ctim.tv_nsec == b->st_ctim.tv_nsec;
}

struct fy_fcache_entry *fy_fcache_get(const void *site, int rootfd,
				      const char *path, size_t len,
				      struct stat *st)
{
	if (!__atomic_load_n(&nonempty, __ATOMIC_RELAXED))
		return NULL;
	uint32_t h = hash_key(site, path, len);
	pthread_mutex_lock(&lock);
	struct fy_fcache_entry *e = find_locked(site, h, path, len);
	if (e != NULL)
		e->refs++;
	pthread_mutex_unlock(&lock);
	if (e == NULL)
		return NULL;

	const char *rel = path;
	while (*rel == '/')
		rel++;
	if (*rel != '\0' && fstatat(rootfd, rel, st, 0) == 0 &&
	    same_file(st, &e->st)) {
		pthread_mutex_lock(&lock);
		if (e->in_table) {
			lru_unlink(e);
			lru_push(e);
		}
		pthread_mutex_unlock(&lock);
		return e;
	}
	/* Changed, gone or unreadable: the checked open decides. Our own
	 * reference keeps e alive through the unlink. */
	pthread_mutex_lock(&lock);
	if (e->in_table)
		unlink_entry(e);
	int last = --e->refs == 0;
	pthread_mutex_unlock(&lock);
	if (last)
		free(e);
	return NULL;
}

void fy_fcache_put(struct fy_fcache_entry *e)
{
	if (e == NULL)
		return;
	pthread_mutex_lock(&lock);
	int last = --e->refs == 0;
	pthread_mutex_unlock(&lock);
	if (last)
		free(e);
}

const char *fy_fcache_data(const struct fy_fcache_entry *e, size_t *len)
{
	*len = e->len;
	return e->stat_only ? NULL : e->data;
}

/* A regular file, cache on, not changed in the last seconds. */
static int settled(const struct stat *st)
{
	if (!S_ISREG(st->st_mode))
		return 0;
	/* budget is read without the lock: a stale answer only adds or
	 * skips one entry, which insert() checks again. */
	if (__atomic_load_n(&budget, __ATOMIC_RELAXED) == 0)
		return 0;
	struct timespec now;
	clock_gettime(CLOCK_REALTIME_COARSE, &now);
	return now.tv_sec - st->st_ctim.tv_sec >= FCACHE_SETTLE &&
	       now.tv_sec - st->st_mtim.tv_sec >= FCACHE_SETTLE;
}

static int wants(const struct stat *st)
{
	return st->st_size > 0 && st->st_size <= FCACHE_FILE_MAX &&
	       settled(st);
}

static void insert(const void *site, const char *path, size_t path_len,
		   const struct stat *st, const void *data, size_t len,
		   int stat_only);

void fy_fcache_add(const void *site, const char *path, size_t path_len,
		   const struct stat *st, const void *data, size_t len)
{
	if ((off_t)len != st->st_size || !wants(st))
		return;
	insert(site, path, path_len, st, data, len, 0);
}

void fy_fcache_add_stat(const void *site, const char *path, size_t path_len,
			const struct stat *st)
{
	if (settled(st))
		insert(site, path, path_len, st, NULL, 0, 1);
}

static void insert(const void *site, const char *path, size_t path_len,
		   const struct stat *st, const void *data, size_t len,
		   int stat_only)
{
	struct fy_fcache_entry *e = malloc(sizeof(*e) + len + path_len + 1);
	if (e == NULL)
		return;
	memset(e, 0, sizeof(*e));
	e->site = site;
	e->hash = hash_key(site, path, path_len);
	e->refs = 1;
	e->in_table = 1;
	e->stat_only = stat_only;
	e->st = *st;
	e->len = len;
	if (len > 0)
		memcpy(e->data, data, len);
	e->path = e->data + len;
	e->path_len = path_len;
	memcpy(e->path, path, path_len);
	e->path[path_len] = '\0';

	struct fy_fcache_entry *dead = NULL;
	pthread_mutex_lock(&lock);
	size_t need = entry_bytes(e);
	if (need > budget) {
		pthread_mutex_unlock(&lock);
		free(e);
		return;
	}
	/* An older entry for the same key goes. */
	struct fy_fcache_entry *o = find_locked(site, e->hash, path, path_len);
	if (o != NULL)
		drop_entry(o, &dead);
	/* Room: the least recently used go. */
	while (held + need > budget && lru_tail != NULL)
		drop_entry(lru_tail, &dead);
	e->next = buckets[e->hash % FCACHE_BUCKETS];
	buckets[e->hash % FCACHE_BUCKETS] = e;
	lru_push(e);
	held += need;
	__atomic_store_n(&nonempty, 1, __ATOMIC_RELAXED);
	pthread_mutex_unlock(&lock);
	free_chain(dead);
}
