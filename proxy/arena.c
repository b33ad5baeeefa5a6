/*
 * arena.c - region allocation with cleanups.
 */
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "foyer/arena.h"
#include "foyer/core.h"

#define ARENA_ALIGN 16
#define ARENA_DEFAULT_BLOCK 4096

struct block {
	struct block *next; /* older block; the first block ends the chain */
	size_t size; /* bytes usable after the header */
	size_t used;
	/* data follows, aligned */
};

struct cleanup {
	struct cleanup *next;
	void (*fn)(void *data);
	void *data;
};

struct fy_arena {
	struct block *head; /* the block being filled */
	struct block *first;
	struct block *large; /* allocations too big for a block */
	struct cleanup *cleanups;
	size_t block_size;
	size_t total;
};

#define BLOCK_HDR ((sizeof(struct block) + ARENA_ALIGN - 1) & ~(size_t)(ARENA_ALIGN - 1))

static inline char *block_data(struct block *b)
{
	return (char *)b + BLOCK_HDR;
}

static struct block *block_new(size_t size)
{
	struct block *b = malloc(BLOCK_HDR + size);
	if (b == NULL)
		return NULL;
	b->next = NULL;
	b->size = size;
	b->used = 0;
	return b;
}

struct fy_arena *fy_arena_create(size_t block_size)
{
	if (block_size == 0)
		block_size = ARENA_DEFAULT_BLOCK;
	struct fy_arena *a = malloc(sizeof(*a));
	if (a == NULL)
		return NULL;
	a->first = block_new(block_size);
	if (a->first == NULL) {
		free(a);
		return NULL;
	}
	a->head = a->first;
	a->large = NULL;
	a->cleanups = NULL;
	a->block_size = block_size;
	a->total = block_size;
	return a;
}

static void run_cleanups(struct fy_arena *a)
{
	/* A cleanup may register another one (rare); loop until none is left. */
	while (a->cleanups != NULL) {
		struct cleanup *c = a->cleanups;
		a->cleanups = c->next;
		c->fn(c->data);
	}
}

void fy_arena_reset(struct fy_arena *a)
{
	run_cleanups(a);
	struct block *b = a->head;
	while (b != a->first) {
		struct block *next = b->next;
		free(b);
		b = next;
	}
	while (a->large != NULL) {
		struct block *next = a->large->next;
		free(a->large);
		a->large = next;
	}
	a->head = a->first;
	a->first->used = 0;
	a->total = a->first->size;
}

void fy_arena_destroy(struct fy_arena *a)
{
	if (a == NULL)
		return;
	fy_arena_reset(a);
	free(a->first);
	free(a);
}

void *fy_arena_alloc(struct fy_arena *a, size_t size)
{
	size = (size + ARENA_ALIGN - 1) & ~(size_t)(ARENA_ALIGN - 1);
	if (size == 0)
		size = ARENA_ALIGN;
	struct block *b = a->head;
	if (fy_likely(b->size - b->used >= size)) {
		void *p = block_data(b) + b->used;
		b->used += size;
		return p;
	}
	/* Large requests get a block of their own, kept on a separate list, so
	 * that the tail of the current block stays usable for small ones. */
	if (size > a->block_size / 4) {
		struct block *lb = block_new(size);
		if (lb == NULL)
			return NULL;
		lb->used = size;
		lb->next = a->large;
		a->large = lb;
		a->total += size;
		return block_data(lb);
	}
	struct block *nb = block_new(a->block_size);
	if (nb == NULL)
		return NULL;
	a->total += a->block_size;
	nb->next = b;
	a->head = nb;
	nb->used = size;
	return block_data(nb);
}

void *fy_arena_calloc(struct fy_arena *a, size_t n, size_t size)
{
	if (size != 0 && n > SIZE_MAX / size)
		return NULL;
	void *p = fy_arena_alloc(a, n * size);
	if (p != NULL)
		memset(p, 0, n * size);
	return p;
}

char *fy_arena_strndup(struct fy_arena *a, const char *s, size_t len)
{
	char *p = fy_arena_alloc(a, len + 1);
	if (p == NULL)
		return NULL;
	memcpy(p, s, len);
	p[len] = '\0';
	return p;
}

char *fy_arena_strdup(struct fy_arena *a, const char *s)
{
	return fy_arena_strndup(a, s, strlen(s));
}

char *fy_arena_printf(struct fy_arena *a, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	int n = vsnprintf(NULL, 0, fmt, ap);
	va_end(ap);
	if (n < 0)
		return NULL;
	char *p = fy_arena_alloc(a, (size_t)n + 1);
	if (p == NULL)
		return NULL;
	va_start(ap, fmt);
	vsnprintf(p, (size_t)n + 1, fmt, ap);
	va_end(ap);
	return p;
}

int fy_arena_cleanup(struct fy_arena *a, void (*fn)(void *data), void *data)
{
	struct cleanup *c = fy_arena_alloc(a, sizeof(*c));
	if (c == NULL)
		return FY_ERROR;
	c->fn = fn;
	c->data = data;
	c->next = a->cleanups;
	a->cleanups = c;
	return FY_OK;
}

size_t fy_arena_size(const struct fy_arena *a)
{
	return a->total;
}
