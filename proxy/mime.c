/*
 * mime.c - file name extension to media type, from a mime.types file or a
 * built-in table of the web's common types.
 */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "foyer/core.h"
#include "foyer/mime.h"

#define DEFAULT_TYPE "application/octet-stream"
/* Longer extensions exist in no table worth having; longer ones in a file
 * are skipped. */
#define EXT_MAX 32

struct mime_entry {
	const char *ext; /* lower case */
	const char *type;
};

/* Sorted by ext (strcmp); types follow Debian's media-types package. */
static const struct mime_entry builtin[] = {
    {"avif", "image/avif"},
    {"bmp", "image/bmp"},
    {"css", "text/css"},
    {"csv", "text/csv"},
    {"eot", "application/vnd.ms-fontobject"},
    {"gif", "image/gif"},
    {"gz", "application/gzip"},
    {"htm", "text/html"},
    {"html", "text/html"},
    {"ico", "image/vnd.microsoft.icon"},
    {"jpeg", "image/jpeg"},
    {"jpg", "image/jpeg"},
    {"js", "text/javascript"},
    {"json", "application/json"},
    {"jsonld", "application/ld+json"},
    {"m4a", "audio/mp4"},
    {"map", "application/json"},
    {"md", "text/markdown"},
    {"mjs", "text/javascript"},
    {"mp3", "audio/mpeg"},
    {"mp4", "video/mp4"},
    {"oga", "audio/ogg"},
    {"ogg", "audio/ogg"},
    {"ogv", "video/ogg"},
    {"otf", "font/otf"},
    {"pdf", "application/pdf"},
    {"png", "image/png"},
    {"svg", "image/svg+xml"},
    {"svgz", "image/svg+xml"},
    {"tar", "application/x-tar"},
    {"ttf", "font/ttf"},
    {"txt", "text/plain"},
    {"wasm", "application/wasm"},
    {"wav", "audio/wav"},
    {"webm", "video/webm"},
    {"webmanifest", "application/manifest+json"},
    {"webp", "image/webp"},
    {"woff", "font/woff"},
    {"woff2", "font/woff2"},
    {"xhtml", "application/xhtml+xml"},
    {"xml", "application/xml"},
    {"zip", "application/zip"},
};

/*
 * The loaded table: entries sorted by ext, strings in one pool. Loaded once
 * at startup before any thread or child exists; lookups only read it.
 */
static struct mime_entry *loaded;
static size_t n_loaded;
static char *pool;
static int have_file;

struct pending {
	size_t ext_off;
	size_t type_off;
	size_t seq; /* file order, so that the last definition wins */
};

static int cmp_pending(const void *a, const void *b, void *arg)
{
	const struct pending *x = a, *y = b;
	const char *strings = arg;
	int c = strcmp(strings + x->ext_off, strings + y->ext_off);

	if (c != 0)
		return c;
	return x->seq < y->seq ? -1 : x->seq > y->seq;
}

static int cmp_entry(const void *key, const void *elem)
{
	return strcmp(key, ((const struct mime_entry *)elem)->ext);
}

void fy_mime_free(void)
{
	free(loaded);
	free(pool);
	loaded = NULL;
	n_loaded = 0;
	pool = NULL;
	have_file = 0;
}

struct builder {
	char *pool;
	size_t pool_len, pool_cap;
	struct pending *items;
	size_t n, cap;
};

static int pool_add(struct builder *b, const char *s, size_t len, int lower,
		    size_t *off)
{
	if (b->pool_len + len + 1 > b->pool_cap) {
		size_t cap = b->pool_cap ? b->pool_cap * 2 : 16384;
		char *p;

		while (cap < b->pool_len + len + 1)
			cap *= 2;
		p = realloc(b->pool, cap);
		if (p == NULL)
			return FY_ERROR;
		b->pool = p;
		b->pool_cap = cap;
	}
	*off = b->pool_len;
	for (size_t i = 0; i < len; i++)
		b->pool[b->pool_len++] =
		    lower ? (char)tolower((unsigned char)s[i]) : s[i];
	b->pool[b->pool_len++] = '\0';
	return FY_OK;
}

static int item_add(struct builder *b, size_t ext_off, size_t type_off)
{
	if (b->n == b->cap) {
		size_t cap = b->cap ? b->cap * 2 : 1024;
		struct pending *p = realloc(b->items, cap * sizeof(*p));

		if (p == NULL)
			return FY_ERROR;
		b->items = p;
		b->cap = cap;
	}
	b->items[b->n].ext_off = ext_off;
	b->items[b->n].type_off = type_off;
	b->items[b->n].seq = b->n;
	b->n++;
	return FY_OK;
}

static int is_blank(char c)
{
	return c == ' ' || c == '\t' || c == '\r' || c == '\n';
}

static int parse_line(struct builder *b, const char *line)
{
	const char *p = line;
	const char *type;
	size_t type_len, type_off;
	int have_type = 0;

	while (is_blank(*p))
		p++;
	type = p;
	while (*p != '\0' && *p != '#' && !is_blank(*p))
		p++;
	type_len = (size_t)(p - type);
	if (type_len == 0)
		return FY_OK;

	for (;;) {
		const char *ext;
		size_t ext_len, ext_off;

		while (is_blank(*p))
			p++;
		if (*p == '\0' || *p == '#')
			return FY_OK;
		ext = p;
		while (*p != '\0' && *p != '#' && !is_blank(*p))
			p++;
		ext_len = (size_t)(p - ext);
		if (ext_len > EXT_MAX)
			continue;
		/* The type is stored once per line, only if it has an
		 * extension at all (most lines of Debian's file have none). */
		if (!have_type) {
			if (pool_add(b, type, type_len, 0, &type_off) != FY_OK)
				return FY_ERROR;
			have_type = 1;
		}
		if (pool_add(b, ext, ext_len, 1, &ext_off) != FY_OK ||
		    item_add(b, ext_off, type_off) != FY_OK)
			return FY_ERROR;
	}
}

int fy_mime_load(const char *path)
{
	struct builder b = {0};
	struct mime_entry *entries = NULL;
	char *line = NULL;
	size_t line_cap = 0, n = 0;
	int rc = FY_OK;
	FILE *f;

	fy_mime_free();
	f = fopen(path, "re");
	if (f == NULL)
		return FY_ERROR;
	while (getline(&line, &line_cap, f) != -1) {
		if (parse_line(&b, line) != FY_OK) {
			rc = FY_ERROR;
			break;
		}
	}
	if (ferror(f))
		rc = FY_ERROR;
	fclose(f);
	free(line);

	if (rc == FY_OK && b.n > 0) {
		entries = malloc(b.n * sizeof(*entries));
		if (entries == NULL)
			rc = FY_ERROR;
	}
	if (rc != FY_OK) {
		free(b.items);
		free(b.pool);
		return FY_ERROR;
	}

	/* Sorted by extension then file order; of equal extensions the last
	 * one is kept, as Apache and nginx do. */
	if (b.n > 0)
		qsort_r(b.items, b.n, sizeof(*b.items), cmp_pending, b.pool);
	for (size_t i = 0; i < b.n; i++) {
		const char *ext = b.pool + b.items[i].ext_off;

		if (i + 1 < b.n &&
		    strcmp(ext, b.pool + b.items[i + 1].ext_off) == 0)
			continue;
		entries[n].ext = ext;
		entries[n].type = b.pool + b.items[i].type_off;
		n++;
	}
	free(b.items);
	loaded = entries;
	n_loaded = n;
	pool = b.pool;
	/* Even an empty file counts: the admin's table wins. */
	have_file = 1;
	return FY_OK;
}

const char *fy_mime_type(const char *path)
{
	char ext[EXT_MAX + 1];
	const struct mime_entry *hit;
	const char *base, *dot;
	size_t len;

	if (path == NULL)
		return DEFAULT_TYPE;
	base = strrchr(path, '/');
	base = base != NULL ? base + 1 : path;
	dot = strrchr(base, '.');
	/* A leading dot names a hidden file, not an extension. */
	if (dot == NULL || dot == base)
		return DEFAULT_TYPE;
	len = strlen(dot + 1);
	if (len == 0 || len > EXT_MAX)
		return DEFAULT_TYPE;
	for (size_t i = 0; i <= len; i++)
		ext[i] = (char)tolower((unsigned char)dot[1 + i]);

	if (have_file) {
		if (n_loaded == 0)
			return DEFAULT_TYPE;
		hit =
		    bsearch(ext, loaded, n_loaded, sizeof(*loaded), cmp_entry);
	} else {
		hit = bsearch(ext, builtin, FY_ARRAY_SIZE(builtin),
			      sizeof(*builtin), cmp_entry);
	}
	return hit != NULL ? hit->type : DEFAULT_TYPE;
}
