/*
 * test_router.c - path normalisation, hidden segments, site selection and
 * resolution against a real directory tree.
 */
#include <fcntl.h>
#include <ftw.h>
#include <limits.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "foyer/config.h"
#include "foyer/core.h"
#include "foyer/router.h"

/* ---- normalize ---- */

struct norm_case {
	const char *in;
	size_t len; /* 0: strlen(in) */
	int status; /* 0: ok */
	const char *out;
};

static const struct norm_case norm_cases[] = {
    {"/", 0, 0, "/"},
    {"/index.html", 0, 0, "/index.html"},
    {"/a/b/", 0, 0, "/a/b/"},
    /* RFC 3986 5.2.4 examples */
    {"/a/b/c/./../../g", 0, 0, "/a/g"},
    {"/mid/content=5/../6", 0, 0, "/mid/6"},
    /* dot segments */
    {"/.", 0, 0, "/"},
    {"/./", 0, 0, "/"},
    {"/a/b/c/.", 0, 0, "/a/b/c/"},
    {"/a/b/c/./", 0, 0, "/a/b/c/"},
    {"/a/b/c/..", 0, 0, "/a/b/"},
    {"/a/b/c/../", 0, 0, "/a/b/"},
    {"/a/b/../../", 0, 0, "/"},
    {"/a/..", 0, 0, "/"},
    {"/a/./b/./c", 0, 0, "/a/b/c"},
    {"/a/../b/../c/d/..", 0, 0, "/c/"},
    {"/..", 0, 400, NULL},
    {"/../", 0, 400, NULL},
    {"/../a", 0, 400, NULL},
    {"/a/../..", 0, 400, NULL},
    {"/a/../../b", 0, 400, NULL},
    {"/./../a", 0, 400, NULL},
    /* segments that only look like dot segments */
    {"/a/..b", 0, 0, "/a/..b"},
    {"/a/b..", 0, 0, "/a/b.."},
    {"/a/...", 0, 0, "/a/..."},
    {"/.a", 0, 0, "/.a"},
    {"/a./b", 0, 0, "/a./b"},
    /* empty segments */
    {"//", 0, 0, "/"},
    {"///a//b//", 0, 0, "/a/b/"},
    {"/a//../b", 0, 0, "/b"},
    /* decoding */
    {"/%41%42c", 0, 0, "/ABc"},
    {"/%7e%7E", 0, 0, "/~~"},
    {"/a%20b", 0, 0, "/a b"},
    {"/%C3%A9t%c3%a9", 0, 0, "/\xc3\xa9t\xc3\xa9"},
    {"/\xc3\xa9", 0, 0, "/\xc3\xa9"},
    {"/%25", 0, 0, "/%"},
    {"/%2525", 0, 0, "/%25"},
    {"/a%3fb", 0, 0, "/a?b"},
    {"/%0a", 0, 0, "/\n"},
    {"/a\\..\\b", 0, 0, "/a\\..\\b"},
    /* encoded dot segments are dot segments */
    {"/%2e%2e", 0, 400, NULL},
    {"/%2E%2E/etc/passwd", 0, 400, NULL},
    {"/a/%2e%2E/b", 0, 0, "/b"},
    {"/a/.%2e/b", 0, 0, "/b"},
    {"/a/%2e./b", 0, 0, "/b"},
    {"/%2e/a", 0, 0, "/a"},
    {"/a/%2e", 0, 0, "/a/"},
    {"/a/b/%2e%2e", 0, 0, "/a/"},
    /* encoded slash and NUL */
    {"/a%2Fb", 0, 404, NULL},
    {"/a%2fb", 0, 404, NULL},
    {"/..%2f..%2fetc/passwd", 0, 404, NULL},
    {"/%00", 0, 404, NULL},
    {"/index.php%00.txt", 0, 404, NULL},
    /* bad escapes */
    {"/%", 0, 400, NULL},
    {"/a%", 0, 400, NULL},
    {"/%4", 0, 400, NULL},
    {"/%4/", 0, 400, NULL},
    {"/%zz", 0, 400, NULL},
    {"/%4g", 0, 400, NULL},
    {"/%g4", 0, 400, NULL},
    {"/%%41", 0, 400, NULL},
    /* raw control octets */
    {"/a\x01", 0, 400, NULL},
    {"/a\x1f", 0, 400, NULL},
    {"/a\x7f", 0, 400, NULL},
    {"/a\tb", 0, 400, NULL},
    {"/a\nb", 0, 400, NULL},
    {"/a\rb", 0, 400, NULL},
    {"/a\0b", 4, 400, NULL},
    /* not origin-form */
    {"", 0, 400, NULL},
    {"a/b", 0, 400, NULL},
    {"*", 0, 400, NULL},
    {"%2Fa", 0, 400, NULL},
    {"http://x/", 0, 400, NULL},
    /* len is honoured: the rest of the buffer is not path */
    {"/a/b?q=1", 4, 0, "/a/b"},
    {"/a/..XYZ", 5, 0, "/"},
    {"/%41", 3, 400, NULL},
};

static void test_normalize_table(void **state)
{
	(void)state;
	for (size_t i = 0; i < FY_ARRAY_SIZE(norm_cases); i++) {
		const struct norm_case *c = &norm_cases[i];
		size_t len = c->len ? c->len : strlen(c->in);
		char out[256];
		size_t outlen = 12345;
		int rc;

		memset(out, 'X', sizeof(out));
		rc = fy_router_normalize(c->in, len, out, sizeof(out), &outlen);
		if (rc != c->status)
			fail_msg("case %zu \"%s\": status %d, want %d", i,
				 c->in, rc, c->status);
		if (c->status != 0)
			continue;
		if (strcmp(out, c->out) != 0)
			fail_msg("case %zu \"%s\": \"%s\", want \"%s\"", i,
				 c->in, out, c->out);
		assert_int_equal(outlen, strlen(c->out));
	}
}

/* The output buffer is exactly as large as needed: ASan catches any write
 * past it. One byte less is 414. */
static void test_normalize_outcap(void **state)
{
	static const struct {
		const char *in;
		size_t need;
	} cases[] = {
	    {"/abc", 5}, {"/abc/", 6},	   {"/a/b/c", 7},  {"/%41%42%43", 5},
	    {"/", 2},	 {"/a/../bcd", 5}, {"/x/./y/", 6},
	};

	(void)state;
	for (size_t i = 0; i < FY_ARRAY_SIZE(cases); i++) {
		size_t need = cases[i].need;
		size_t len = strlen(cases[i].in);
		size_t outlen;
		char *out = malloc(need);

		assert_non_null(out);
		assert_int_equal(
		    fy_router_normalize(cases[i].in, len, out, need, &outlen),
		    0);
		assert_int_equal(outlen, need - 1);
		free(out);

		out = malloc(need - 1);
		assert_non_null(out);
		assert_int_equal(fy_router_normalize(cases[i].in, len, out,
						     need - 1, &outlen),
				 414);
		free(out);
	}
}

static void test_normalize_tiny_outcap(void **state)
{
	char out[1];
	size_t outlen;

	(void)state;
	assert_int_equal(fy_router_normalize("/", 1, out, 0, &outlen), 414);
	assert_int_equal(fy_router_normalize("/", 1, out, 1, &outlen), 414);
}

static void test_normalize_long(void **state)
{
	size_t n = 3 * PATH_MAX;
	char *in = malloc(n);
	char *out = malloc(n + 1);
	size_t outlen;

	(void)state;
	assert_non_null(in);
	assert_non_null(out);
	in[0] = '/';
	memset(in + 1, 'a', n - 1);
	assert_int_equal(fy_router_normalize(in, n, out, PATH_MAX, &outlen),
			 414);
	assert_int_equal(fy_router_normalize(in, n, out, n + 1, &outlen), 0);
	assert_int_equal(outlen, n);

	/* Decoding shrinks: 3 input bytes per output byte fits. */
	for (size_t i = 0; i < PATH_MAX - 1; i++)
		memcpy(in + 1 + 3 * i, "%61", 3);
	assert_int_equal(fy_router_normalize(in, 1 + 3 * (PATH_MAX - 2), out,
					     PATH_MAX, &outlen),
			 0);
	assert_int_equal(outlen, PATH_MAX - 1);
	assert_int_equal(fy_router_normalize(in, 1 + 3 * (PATH_MAX - 1), out,
					     PATH_MAX, &outlen),
			 414);

	/* Many segments, each popped again. */
	for (size_t i = 0; i + 5 <= n; i += 5)
		memcpy(in + i, "/b/..", 5);
	assert_int_equal(fy_router_normalize(in, n - n % 5, out, 16, &outlen),
			 0);
	assert_string_equal(out, "/");
	free(in);
	free(out);
}

/* Inputs put against an unreadable page: any read past len crashes. */
static void test_normalize_guard_page(void **state)
{
	static const struct {
		const char *in;
		int status;
		int hidden;
	} cases[] = {
	    {"/%", 400, 0},  {"/%4", 400, 0}, {"/a/..", 0, 1},
	    {"/a/.", 0, 1},  {"/.", 0, 1},    {"/%2e%2e", 400, 0},
	    {"/abc", 0, 0},  {"/", 0, 0},     {"/a%2", 400, 0},
	    {"/.git", 0, 1},
	};
	long page = sysconf(_SC_PAGESIZE);
	char *mem;

	(void)state;
	mem = mmap(NULL, 2 * (size_t)page, PROT_READ | PROT_WRITE,
		   MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	assert_true(mem != MAP_FAILED);
	assert_int_equal(mprotect(mem + page, (size_t)page, PROT_NONE), 0);
	for (size_t i = 0; i < FY_ARRAY_SIZE(cases); i++) {
		size_t len = strlen(cases[i].in);
		char *in = mem + page - len;
		char out[64];
		size_t outlen;

		memcpy(in, cases[i].in, len);
		assert_int_equal(
		    fy_router_normalize(in, len, out, sizeof(out), &outlen),
		    cases[i].status);
		assert_int_equal(fy_router_is_hidden(in, len), cases[i].hidden);
	}
	munmap(mem, 2 * (size_t)page);
}

/* ---- is_hidden ---- */

static void test_is_hidden(void **state)
{
	static const struct {
		const char *path;
		int hidden;
	} cases[] = {
	    {"/", 0},
	    {"/a/b", 0},
	    {"/a.b/c.d", 0},
	    {"/a/b.", 0},
	    {"/a/b/", 0},
	    {"/.git/config", 1},
	    {"/.git/", 1},
	    {"/a/.env", 1},
	    {"/.htaccess", 1},
	    {"/a/b/.htpasswd", 1},
	    {"/.well-known/acme-challenge/x", 0},
	    {"/.well-known/security.txt", 0},
	    {"/.well-known", 0},
	    {"/.well-known/", 0},
	    {"/.well-knownx/a", 1},
	    {"/.well-know/a", 1},
	    {"/.WELL-KNOWN/a", 1},
	    {"/.well-known/.secret", 1},
	    {"/.well-known/a/.git/config", 1},
	    /* .well-known is a root-only name (RFC 8615). */
	    {"/a/.well-known/x", 1},
	};

	(void)state;
	for (size_t i = 0; i < FY_ARRAY_SIZE(cases); i++) {
		if (fy_router_is_hidden(cases[i].path, strlen(cases[i].path)) !=
		    cases[i].hidden)
			fail_msg("\"%s\": want hidden=%d", cases[i].path,
				 cases[i].hidden);
	}
	/* len is honoured */
	assert_false(fy_router_is_hidden("/a/.git", 2));
	assert_true(fy_router_is_hidden("/a/.git", 4));
	assert_false(fy_router_is_hidden("", 0));
}

/* ---- site ---- */

static char *names_default[] = {"default.test"};
static char *names_wild[] = {"*.example.com"};
static char *names_exact[] = {"example.com", "www.example.com"};
static char *names_deep[] = {"*.static.example.com"};
static char *names_v6[] = {"[::1]"};
static char *names_v6bare[] = {"2001:db8::1"};
static char *names_v4[] = {"127.0.0.1", "dotted.test."};

static struct fy_site site_default = {
    .name = "default", .server_names = names_default, .n_server_names = 1};
static struct fy_site site_wild = {
    .name = "wild", .server_names = names_wild, .n_server_names = 1};
static struct fy_site site_exact = {
    .name = "exact", .server_names = names_exact, .n_server_names = 2};
static struct fy_site site_deep = {
    .name = "deep", .server_names = names_deep, .n_server_names = 1};
static struct fy_site site_v6 = {
    .name = "v6", .server_names = names_v6, .n_server_names = 1};
static struct fy_site site_v6bare = {
    .name = "v6bare", .server_names = names_v6bare, .n_server_names = 1};
static struct fy_site site_v4 = {
    .name = "v4", .server_names = names_v4, .n_server_names = 2};

/* Wildcards come before the exact site so that order cannot be what makes
 * the exact name win. */
static struct fy_site *all_sites[] = {
    &site_default, &site_wild,	 &site_deep, &site_exact,
    &site_v6,	   &site_v6bare, &site_v4,
};

static const struct fy_config site_cfg = {
    .sites = all_sites,
    .n_sites = FY_ARRAY_SIZE(all_sites),
};

static const char *site_for(const char *host)
{
	const struct fy_site *s =
	    fy_router_site(&site_cfg, host, host ? strlen(host) : 0);

	return s != NULL ? s->name : "(null)";
}

static void test_site(void **state)
{
	static const struct {
		const char *host;
		const char *site;
	} cases[] = {
	    {"example.com", "exact"},
	    {"www.example.com", "exact"},
	    {"EXAMPLE.COM", "exact"},
	    {"Www.Example.Com", "exact"},
	    {"example.com:8080", "exact"},
	    {"example.com.", "exact"},
	    {"Example.COM.:443", "exact"},
	    {"example.com..", "default"},
	    {"a.example.com", "wild"},
	    {"A.EXAMPLE.COM:80", "wild"},
	    {"a.b.example.com", "wild"},
	    {"static.example.com", "wild"},
	    {"cdn.static.example.com", "deep"},
	    {"x.cdn.static.example.com", "deep"},
	    {"xexample.com", "default"},
	    {".example.com", "default"},
	    {"example.org", "default"},
	    {"default.test", "default"},
	    {"unknown.test", "default"},
	    {"", "default"},
	    {":80", "default"},
	    {"[::1]", "v6"},
	    {"[::1]:8080", "v6"},
	    {"[::1", "default"},
	    {"[::2]", "default"},
	    {"[2001:DB8::1]", "v6bare"},
	    {"[2001:db8::1]:443", "v6bare"},
	    {"127.0.0.1", "v4"},
	    {"127.0.0.1:80", "v4"},
	    {"127.0.0.10", "default"},
	    {"dotted.test", "v4"},
	    {"dotted.test.", "v4"},
	};

	(void)state;
	for (size_t i = 0; i < FY_ARRAY_SIZE(cases); i++) {
		const char *got = site_for(cases[i].host);

		if (strcmp(got, cases[i].site) != 0)
			fail_msg("host \"%s\": site %s, want %s", cases[i].host,
				 got, cases[i].site);
	}
	assert_string_equal(site_for(NULL), "default");
}

static void test_site_len(void **state)
{
	const struct fy_config empty = {0};

	(void)state;
	/* Not NUL-terminated: only host_len bytes count. */
	assert_ptr_equal(fy_router_site(&site_cfg, "example.comXYZ", 11),
			 &site_exact);
	assert_ptr_equal(fy_router_site(&site_cfg, "example.com", 7),
			 &site_default);
	assert_ptr_equal(fy_router_site(&site_cfg, "a.example.com:1", 13),
			 &site_wild);
	assert_null(fy_router_site(&empty, "example.com", 11));
}

/* The longest wildcard wins whichever order the sites come in. */
static void test_site_longest_wildcard(void **state)
{
	struct fy_site *fwd[] = {&site_default, &site_wild, &site_deep};
	struct fy_site *rev[] = {&site_default, &site_deep, &site_wild};
	struct fy_config cfg = {.sites = fwd, .n_sites = 3};
	const char *h = "a.static.example.com";

	(void)state;
	assert_ptr_equal(fy_router_site(&cfg, h, strlen(h)), &site_deep);
	assert_ptr_equal(fy_router_site(&cfg, "b.example.com", 13), &site_wild);
	cfg.sites = rev;
	assert_ptr_equal(fy_router_site(&cfg, h, strlen(h)), &site_deep);
	assert_ptr_equal(fy_router_site(&cfg, "b.example.com", 13), &site_wild);
}

/* ---- resolve ---- */

static char base[PATH_MAX];
static char root[PATH_MAX];

static void make_file(const char *rel, const char *text)
{
	char p[PATH_MAX];
	FILE *f;

	assert_true(snprintf(p, sizeof(p), "%s/%s", base, rel) <
		    (int)sizeof(p));
	f = fopen(p, "w");
	assert_non_null(f);
	fputs(text, f);
	fclose(f);
}

static void make_dir(const char *rel)
{
	char p[PATH_MAX];

	assert_true(snprintf(p, sizeof(p), "%s/%s", base, rel) <
		    (int)sizeof(p));
	assert_int_equal(mkdir(p, 0755), 0);
}

static void make_link(const char *target, const char *rel)
{
	char p[PATH_MAX];

	assert_true(snprintf(p, sizeof(p), "%s/%s", base, rel) <
		    (int)sizeof(p));
	assert_int_equal(symlink(target, p), 0);
}

static int tree_setup(void **state)
{
	char p[PATH_MAX];

	(void)state;
	/* Not $TMPDIR: a hidden segment in it would make every path of the
	 * "/" document-root case hidden. */
	strcpy(base, "/tmp/foyer-router-XXXXXX");
	if (mkdtemp(base) == NULL)
		return -1;
	assert_true(snprintf(root, sizeof(root), "%s/www", base) <
		    (int)sizeof(root));

	make_dir("www");
	make_file("www/file.txt", "file\n");
	make_file("www/index.php", "<?php\n");
	make_dir("www/dir");
	make_file("www/dir/a.txt", "a\n");
	make_dir("www/both");
	make_file("www/both/index.php", "<?php\n");
	make_file("www/both/index.html", "<p>\n");
	make_dir("www/onlyhtml");
	make_file("www/onlyhtml/index.html", "<p>\n");
	make_dir("www/idxdir");
	make_dir("www/idxdir/index.php");
	make_file("www/idxdir/index.html", "<p>\n");
	make_file("www/.env", "SECRET=1\n");
	make_dir("www/.git");
	make_file("www/.git/config", "[core]\n");
	make_dir("www/.well-known");
	make_dir("www/.well-known/acme-challenge");
	make_file("www/.well-known/acme-challenge/tok", "tok\n");
	make_dir("outside");
	make_file("outside/secret.txt", "secret\n");
	make_file("outside/index.html", "outside\n");
	/* A sibling whose name starts with the root's name. */
	make_dir("www-evil");
	make_file("www-evil/f.txt", "evil\n");

	make_link("file.txt", "www/link-in");
	make_link("../dir", "www/both/linkdir-in");
	make_link("../outside/secret.txt", "www/link-out");
	make_link("../outside", "www/linkdir-out");
	make_link("../www-evil/f.txt", "www/prefix-trick");
	make_link("../../outside/index.html", "www/onlyhtml/index.htm");
	make_link("www", "root-link");
	make_link("missing-target", "www/dangling");

	assert_true(snprintf(p, sizeof(p), "%s/fifo", root) < (int)sizeof(p));
	if (mkfifo(p, 0644) != 0)
		return -1;
	return 0;
}

static int remove_one(const char *path, const struct stat *st, int flag,
		      struct FTW *ftw)
{
	(void)st;
	(void)flag;
	(void)ftw;
	return remove(path);
}

static int tree_teardown(void **state)
{
	(void)state;
	if (nftw(base, remove_one, 16, FTW_DEPTH | FTW_PHYS) != 0)
		fprintf(stderr, "could not remove %s\n", base);
	return 0;
}

static char *index_php_html[] = {"index.php", "index.html"};
static char *index_html_php[] = {"index.html", "index.php"};
static char *index_htm[] = {"index.htm"};

static struct fy_site make_site(void)
{
	struct fy_site s = {
	    .name = "t",
	    .document_root = root,
	    .index = index_php_html,
	    .n_index = 2,
	    .root_fd = -1,
	};
	return s;
}

static struct fy_route route;

static int resolve(const struct fy_site *s, const char *path)
{
	int rc = fy_router_resolve(s, path, strlen(path), &route);

	if (route.kind == FY_ROUTE_FILE) {
		assert_true(route.fd >= 0);
		close(route.fd);
	} else {
		assert_int_equal(route.fd, -1);
	}

	if (route.kind == FY_ROUTE_ERROR)
		assert_int_equal(rc, FY_ERROR);
	else
		assert_int_equal(rc, FY_OK);
	return rc;
}

static void expect_error(const struct fy_site *s, const char *path, int status)
{
	resolve(s, path);
	if (route.kind != FY_ROUTE_ERROR || route.status != status)
		fail_msg("\"%s\": kind %d status %d, want error %d", path,
			 route.kind, route.status, status);
}

static void expect_file(const struct fy_site *s, const char *path,
			const char *script, const char *rel_fs)
{
	char want[PATH_MAX];

	resolve(s, path);
	if (route.kind != FY_ROUTE_FILE)
		fail_msg("\"%s\": kind %d status %d, want a file", path,
			 route.kind, route.status);
	assert_string_equal(route.script, script);
	assert_true(snprintf(want, sizeof(want), "%s%s", root, rel_fs) <
		    (int)sizeof(want));
	assert_string_equal(route.fs_path, want);
	assert_true(S_ISREG(route.st.st_mode));
}

static void test_resolve_file(void **state)
{
	struct fy_site s = make_site();

	(void)state;
	expect_file(&s, "/file.txt", "/file.txt", "/file.txt");
	assert_string_equal(route.uri, "/file.txt");
	assert_int_equal(route.front_controller, 0);
	assert_int_equal(route.st.st_size, 5);
	expect_file(&s, "/dir/a.txt", "/dir/a.txt", "/dir/a.txt");
	expect_file(&s, "/%66ile.txt", "/file.txt", "/file.txt");
	expect_file(&s, "//dir//./a.txt", "/dir/a.txt", "/dir/a.txt");
	expect_file(&s, "/dir/%2e%2e/file.txt", "/file.txt", "/file.txt");
	expect_error(&s, "/nope.txt", 404);
	expect_error(&s, "/file.txt/", 404);
	expect_error(&s, "/file.txt/more", 404);
	expect_error(&s, "/fifo", 403);
	expect_error(&s, "/dangling", 404);
}

static void test_resolve_directory(void **state)
{
	struct fy_site s = make_site();

	(void)state;
	resolve(&s, "/dir");
	assert_int_equal(route.kind, FY_ROUTE_REDIRECT_SLASH);
	assert_string_equal(route.uri, "/dir");
	resolve(&s, "/dir/../both");
	assert_int_equal(route.kind, FY_ROUTE_REDIRECT_SLASH);
	assert_string_equal(route.uri, "/both");

	expect_error(&s, "/dir/", 403);
	expect_file(&s, "/both/", "/both/index.php", "/both/index.php");
	assert_string_equal(route.uri, "/both/");
	expect_file(&s, "/onlyhtml/", "/onlyhtml/index.html",
		    "/onlyhtml/index.html");
	/* An index name that is a directory is skipped. */
	expect_file(&s, "/idxdir/", "/idxdir/index.html", "/idxdir/index.html");
	expect_file(&s, "/", "/index.php", "/index.php");
	expect_file(&s, "/dir/..", "/index.php", "/index.php");

	s.index = index_html_php;
	expect_file(&s, "/both/", "/both/index.html", "/both/index.html");
	expect_file(&s, "/", "/index.php", "/index.php");

	s.n_index = 0;
	expect_error(&s, "/both/", 403);
}

static void test_resolve_front_controller(void **state)
{
	struct fy_site s = make_site();

	(void)state;
	s.front_controller = "/index.php";
	expect_file(&s, "/2024/01/hello-world/", "/index.php", "/index.php");
	assert_int_equal(route.front_controller, 1);
	assert_string_equal(route.uri, "/2024/01/hello-world/");
	expect_file(&s, "/missing", "/index.php", "/index.php");
	assert_int_equal(route.front_controller, 1);
	expect_file(&s, "/file.txt/extra", "/index.php", "/index.php");
	assert_int_equal(route.front_controller, 1);

	/* What exists is served as itself. */
	expect_file(&s, "/file.txt", "/file.txt", "/file.txt");
	assert_int_equal(route.front_controller, 0);
	/* An existing directory without index stays forbidden. */
	expect_error(&s, "/dir/", 403);
	/* Hidden and malformed paths never reach the front controller. */
	expect_error(&s, "/.env", 403);
	expect_error(&s, "/.nothing", 403);
	expect_error(&s, "/%zz", 400);
	expect_error(&s, "/a%2fb", 404);

	s.front_controller = "/nope.php";
	expect_error(&s, "/missing", 404);
	s.front_controller = "/dir";
	expect_error(&s, "/missing", 404);
}

static void test_resolve_hidden(void **state)
{
	struct fy_site s = make_site();

	(void)state;
	expect_error(&s, "/.env", 403);
	expect_error(&s, "/.git/config", 403);
	expect_error(&s, "/%2egit/config", 403);
	expect_error(&s, "/dir/../.git/config", 403);
	expect_error(&s, "/.htaccess", 403);
	expect_file(&s, "/.well-known/acme-challenge/tok",
		    "/.well-known/acme-challenge/tok",
		    "/.well-known/acme-challenge/tok");
}

static void test_resolve_escape(void **state)
{
	struct fy_site s = make_site();

	(void)state;
	expect_error(&s, "/../outside/secret.txt", 400);
	expect_error(&s, "/%2e%2e/outside/secret.txt", 400);
	expect_error(&s, "/%2E%2e/outside/secret.txt", 400);
	expect_error(&s, "/.%2e/outside/secret.txt", 400);
	expect_error(&s, "/dir/../../outside/secret.txt", 400);
	expect_error(&s, "/..%2foutside/secret.txt", 404);
	expect_error(&s, "/..%2Foutside/secret.txt", 404);
	expect_error(&s, "/%2e%2e%2foutside%2fsecret.txt", 404);
	expect_error(&s, "/file.txt%00.php", 404);
	expect_error(&s, "relative", 400);
	expect_error(&s, "", 400);
	s.front_controller = "/index.php";
	expect_error(&s, "/%2e%2e/outside/secret.txt", 400);
}

static void test_resolve_symlinks(void **state)
{
	struct fy_site s = make_site();

	(void)state;
	/* Inside the root: allowed either way. */
	expect_file(&s, "/link-in", "/link-in", "/link-in");
	resolve(&s, "/both/linkdir-in");
	assert_int_equal(route.kind, FY_ROUTE_REDIRECT_SLASH);
	expect_error(&s, "/both/linkdir-in/", 403);
	expect_file(&s, "/both/linkdir-in/a.txt", "/both/linkdir-in/a.txt",
		    "/both/linkdir-in/a.txt");

	/* Escaping the root. */
	expect_error(&s, "/link-out", 403);
	expect_error(&s, "/linkdir-out", 403);
	expect_error(&s, "/linkdir-out/", 403);
	expect_error(&s, "/linkdir-out/secret.txt", 403);
	expect_error(&s, "/prefix-trick", 403);
	s.index = index_htm;
	s.n_index = 1;
	expect_error(&s, "/onlyhtml/", 403);

	s = make_site();
	s.follow_symlinks = 1;
	expect_file(&s, "/link-out", "/link-out", "/link-out");
	expect_file(&s, "/linkdir-out/secret.txt", "/linkdir-out/secret.txt",
		    "/linkdir-out/secret.txt");
	expect_file(&s, "/linkdir-out/", "/linkdir-out/index.html",
		    "/linkdir-out/index.html");
	expect_file(&s, "/prefix-trick", "/prefix-trick", "/prefix-trick");
	s.index = index_htm;
	s.n_index = 1;
	expect_file(&s, "/onlyhtml/", "/onlyhtml/index.htm",
		    "/onlyhtml/index.htm");
}

/* The document root may itself be reached through a symlink, or be written
 * with a trailing '/', or be "/". */
static void test_resolve_roots(void **state)
{
	struct fy_site s = make_site();
	char link_root[PATH_MAX];
	char slash_root[PATH_MAX];
	char uri[PATH_MAX];
	char want[PATH_MAX];

	(void)state;
	assert_true(snprintf(link_root, sizeof(link_root), "%s/root-link",
			     base) < (int)sizeof(link_root));
	s.document_root = link_root;
	resolve(&s, "/file.txt");
	assert_int_equal(route.kind, FY_ROUTE_FILE);
	assert_true(snprintf(want, sizeof(want), "%s/file.txt", link_root) <
		    (int)sizeof(want));
	assert_string_equal(route.fs_path, want);
	resolve(&s, "/link-out");
	assert_int_equal(route.status, 403);

	assert_true(snprintf(slash_root, sizeof(slash_root), "%s/", root) <
		    (int)sizeof(slash_root));
	s.document_root = slash_root;
	expect_file(&s, "/file.txt", "/file.txt", "/file.txt");

	s.document_root = "/";
	assert_true(snprintf(uri, sizeof(uri), "%s/file.txt", root) <
		    (int)sizeof(uri));
	resolve(&s, uri);
	assert_int_equal(route.kind, FY_ROUTE_FILE);
	assert_string_equal(route.fs_path, uri);
	assert_string_equal(route.script, uri);
}

static void test_resolve_long(void **state)
{
	struct fy_site s = make_site();
	char *p = malloc(2 * PATH_MAX);
	size_t rlen = strlen(root);

	(void)state;
	assert_non_null(p);
	/* Too long for uri[]. */
	p[0] = '/';
	memset(p + 1, 'a', 2 * PATH_MAX - 2);
	p[2 * PATH_MAX - 1] = '\0';
	expect_error(&s, p, 414);

	/* Fits uri[] but not fs_path[] once the root is prefixed. */
	p[PATH_MAX - 1] = '\0';
	for (size_t i = 200; i < PATH_MAX - 1; i += 200)
		p[i] = '/';
	expect_error(&s, p, 414);

	/* Fits fs_path[], but a segment is longer than NAME_MAX. */
	p[PATH_MAX - rlen - 1] = '\0';
	memset(p + 1, 'a', PATH_MAX - rlen - 2);
	expect_error(&s, p, 414);
	s.front_controller = "/index.php";
	expect_error(&s, p, 414);

	/* The longest path that fits: a plain 404. */
	for (size_t i = 200; i < PATH_MAX - rlen - 1; i += 200)
		p[i] = '/';
	s.front_controller = NULL;
	expect_error(&s, p, 404);
	assert_int_equal(strlen(route.fs_path), PATH_MAX - 1);
	free(p);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_normalize_table),
	    cmocka_unit_test(test_normalize_outcap),
	    cmocka_unit_test(test_normalize_tiny_outcap),
	    cmocka_unit_test(test_normalize_long),
	    cmocka_unit_test(test_normalize_guard_page),
	    cmocka_unit_test(test_is_hidden),
	    cmocka_unit_test(test_site),
	    cmocka_unit_test(test_site_len),
	    cmocka_unit_test(test_site_longest_wildcard),
	    cmocka_unit_test(test_resolve_file),
	    cmocka_unit_test(test_resolve_directory),
	    cmocka_unit_test(test_resolve_front_controller),
	    cmocka_unit_test(test_resolve_hidden),
	    cmocka_unit_test(test_resolve_escape),
	    cmocka_unit_test(test_resolve_symlinks),
	    cmocka_unit_test(test_resolve_roots),
	    cmocka_unit_test(test_resolve_long),
	};

	return cmocka_run_group_tests(tests, tree_setup, tree_teardown);
}
