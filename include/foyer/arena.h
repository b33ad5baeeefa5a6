/*
 * arena.h - region allocation. One arena per request (and one per
 * connection for what outlives a request); everything allocated from it is
 * released together by fy_arena_destroy() or fy_arena_reset(). Objects that
 * hold descriptors register a cleanup, which runs (last registered first)
 * when the arena is reset or destroyed.
 */
#ifndef FOYER_ARENA_H
#define FOYER_ARENA_H

#include <stddef.h>

struct fy_arena;

/* Creates an arena whose first block holds block_size bytes (0: a default).
 * Returns NULL when out of memory. */
struct fy_arena *fy_arena_create(size_t block_size);

/* Runs the cleanups and frees every block. NULL is accepted. */
void fy_arena_destroy(struct fy_arena *a);

/* Runs the cleanups and frees all but the first block, which is kept for the
 * next request: a keep-alive connection reuses its arena without malloc. */
void fy_arena_reset(struct fy_arena *a);

/* Allocates size bytes aligned for any type; NULL when out of memory. The
 * memory is not zeroed (fy_arena_calloc is). */
void *fy_arena_alloc(struct fy_arena *a, size_t size);
void *fy_arena_calloc(struct fy_arena *a, size_t n, size_t size);

/* Copies len bytes and a terminating NUL. */
char *fy_arena_strndup(struct fy_arena *a, const char *s, size_t len);
char *fy_arena_strdup(struct fy_arena *a, const char *s);

/* printf into the arena. */
char *fy_arena_printf(struct fy_arena *a, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/* Registers fn(data) to run at reset/destroy. Returns FY_OK or FY_ERROR. */
int fy_arena_cleanup(struct fy_arena *a, void (*fn)(void *data), void *data);

/* Bytes currently held in blocks (for tests and the status page). */
size_t fy_arena_size(const struct fy_arena *a);

#endif
