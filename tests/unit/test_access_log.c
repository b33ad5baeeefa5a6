/*
 * test_access_log.c - LogFormat compilation, line rendering and the shared
 * access log files.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "foyer/core.h"
#include "foyer/log.h"

/* 27/Nov/2026:04:40:50.123456 UTC */
#define START_USEC 1795754450123456LL

struct header {
	const char *name;
	const char *value;
};

struct header_table {
	const struct header *h;
	size_t n;
};

static const struct header request_headers[] = {
    {"Referer", "http://example.test/ref"},
    {"User-Agent", "Mozilla/5.0 (X11; Linux x86_64) test"},
    {"X-Empty", ""},
};

static const struct header_table request_table = {
    request_headers, FY_ARRAY_SIZE(request_headers)};

static const char *lookup_header(void *arg, const char *name, size_t *len)
{
	const struct header_table *t = arg;

	for (size_t i = 0; i < t->n; i++) {
		if (strcasecmp(t->h[i].name, name) == 0) {
			*len = strlen(t->h[i].value);
			return t->h[i].value;
		}
	}
	return NULL;
}

/* The request line and method point into a larger buffer: the renderer must
 * honour their lengths. */
static const char raw_request[] = "GET /index.html?q=1 HTTP/1.1\r\nHost: x";

static struct fy_access_entry full_entry(void)
{
	struct fy_access_entry e = {
	    .client_ip = "127.0.0.1",
	    .client_port = 5555,
	    .local_ip = "192.0.2.1",
	    .local_port = 8080,
	    .site = "example.test",
	    .host = "www.example.test",
	    .request_line = raw_request,
	    .request_line_len = 28,
	    .method = raw_request,
	    .method_len = 3,
	    .path = "/index.html",
	    .query = "q=1",
	    .query_len = 3,
	    .protocol = "HTTP/1.1",
	    .filename = "/var/www/html/index.html",
	    .user = "alice",
	    .status = 200,
	    .bytes_body = 228,
	    .bytes_sent = 500,
	    .bytes_received = 321,
	    .start_usec = START_USEC,
	    .duration_usec = 2500123,
	    .content_type = "text/html",
	    .location = "/next",
	    .header = lookup_header,
	    .header_arg = (void *)&request_table,
	};
	return e;
}

static char line[8192];

/* Renders one line with fmt, without its '\n'. */
static const char *render(const char *fmt, const struct fy_access_entry *e)
{
	char err[256] = "";
	struct fy_access_format *f =
	    fy_access_format_compile(fmt, err, sizeof(err));
	size_t n;

	if (!f)
		fail_msg("compile \"%s\": %s", fmt, err);
	n = fy_access_format_render(f, e, line, sizeof(line));
	fy_access_format_free(f);
	assert_true(n >= 1);
	assert_int_equal(line[n - 1], '\n');
	assert_int_equal(line[n], '\0');
	assert_int_equal(strlen(line), n);
	line[n - 1] = '\0';
	return line;
}

static void test_every_code(void **state)
{
	static const struct {
		const char *fmt;
		const char *want;
	} cases[] = {
	    {"%%", "%"},
	    {"%a", "127.0.0.1"},
	    {"%{c}a", "127.0.0.1"},
	    {"%A", "192.0.2.1"},
	    {"%b", "228"},
	    {"%B", "228"},
	    {"%D", "2500123"},
	    {"%f", "/var/www/html/index.html"},
	    {"%h", "127.0.0.1"},
	    {"%H", "HTTP/1.1"},
	    {"%l", "-"},
	    {"%m", "GET"},
	    {"%p", "8080"},
	    {"%{canonical}p", "8080"},
	    {"%{local}p", "8080"},
	    {"%{remote}p", "5555"},
	    {"%q", "?q=1"},
	    {"%r", "GET /index.html?q=1 HTTP/1.1"},
	    {"%s", "200"},
	    {"%>s", "200"},
	    {"%<s", "200"},
	    {"%T", "2"},
	    {"%{s}T", "2"},
	    {"%{sec}T", "2"},
	    {"%{ms}T", "2500"},
	    {"%{msec}T", "2500"},
	    {"%{us}T", "2500123"},
	    {"%{usec}T", "2500123"},
	    {"%u", "alice"},
	    {"%U", "/index.html"},
	    {"%v", "example.test"},
	    {"%V", "www.example.test"},
	    {"%O", "500"},
	    {"%I", "321"},
	    {"%{Referer}i", "http://example.test/ref"},
	    {"%{user-agent}i", "Mozilla/5.0 (X11; Linux x86_64) test"},
	    {"%{X-Missing}i", "-"},
	    {"%{X-Empty}i", ""},
	    {"%{Content-Type}o", "text/html"},
	    {"%{content-type}o", "text/html"},
	    {"%{Location}o", "/next"},
	    {"%{X-Powered-By}o", "-"},
	    {"[%h|%>s]", "[127.0.0.1|200]"},
	    {"", ""},
	};
	struct fy_access_entry e = full_entry();

	(void)state;
	for (size_t i = 0; i < FY_ARRAY_SIZE(cases); i++) {
		const char *got = render(cases[i].fmt, &e);

		if (strcmp(got, cases[i].want) != 0)
			fail_msg("\"%s\": got \"%s\", want \"%s\"",
				 cases[i].fmt, got, cases[i].want);
	}
}

static void test_time_codes(void **state)
{
	static const struct {
		const char *fmt;
		const char *want;
	} cases[] = {
	    {"%t", "[27/Nov/2026:04:40:50 +0000]"},
	    {"%{}t", "[27/Nov/2026:04:40:50 +0000]"},
	    {"%{%Y-%m-%dT%H:%M:%S}t", "2026-11-27T04:40:50"},
	    {"%{end:%H:%M:%S}t", "04:40:52"},
	    {"%{sec}t", "1795754450"},
	    {"%{msec}t", "1795754450123"},
	    {"%{usec}t", "1795754450123456"},
	    {"%{msec_frac}t", "123"},
	    {"%{usec_frac}t", "123456"},
	    {"%{begin:sec}t", "1795754450"},
	    {"%{end:sec}t", "1795754452"},
	    {"%{end:usec_frac}t", "623579"},
	    {"%{%d/%b/%Y %T}t.%{msec_frac}t", "27/Nov/2026 04:40:50.123"},
	};
	struct fy_access_entry e = full_entry();

	(void)state;
	for (size_t i = 0; i < FY_ARRAY_SIZE(cases); i++) {
		const char *got = render(cases[i].fmt, &e);

		if (strcmp(got, cases[i].want) != 0)
			fail_msg("\"%s\": got \"%s\", want \"%s\"",
				 cases[i].fmt, got, cases[i].want);
	}

	/* Leading zeros in the fractions. */
	e.start_usec = 1795754450000042LL;
	assert_string_equal(render("%{msec_frac}t %{usec_frac}t", &e),
			    "000 000042");
}

static void set_tz(const char *tz)
{
	setenv("TZ", tz, 1);
	tzset();
}

/* %t is in local time with the numeric offset, like Apache's. Each zone gets
 * its own second so that the per-second cache cannot answer. */
static void test_time_zone_offset(void **state)
{
	struct fy_access_entry e = full_entry();

	(void)state;
	set_tz("XST-05:30");
	e.start_usec = START_USEC + 100 * 1000000LL;
	assert_string_equal(render("%t", &e), "[27/Nov/2026:10:12:30 +0530]");
	set_tz("YST+03");
	e.start_usec = START_USEC + 200 * 1000000LL;
	assert_string_equal(render("%t", &e), "[27/Nov/2026:01:44:10 -0300]");
	set_tz("UTC");
	e.start_usec = START_USEC + 300 * 1000000LL;
	assert_string_equal(render("%t", &e), "[27/Nov/2026:04:45:50 +0000]");
	/* The cached second still follows the entry's time. */
	e.start_usec = START_USEC + 301 * 1000000LL;
	assert_string_equal(render("%t", &e), "[27/Nov/2026:04:45:51 +0000]");
}

static void test_named_formats(void **state)
{
	struct fy_access_entry e = full_entry();

	(void)state;
	assert_string_equal(render("combined", &e),
			    "127.0.0.1 - alice [27/Nov/2026:04:40:50 +0000] "
			    "\"GET /index.html?q=1 HTTP/1.1\" 200 500 "
			    "\"http://example.test/ref\" "
			    "\"Mozilla/5.0 (X11; Linux x86_64) test\"");
	assert_string_equal(render("common", &e),
			    "127.0.0.1 - alice [27/Nov/2026:04:40:50 +0000] "
			    "\"GET /index.html?q=1 HTTP/1.1\" 200 500");
	assert_string_equal(render("vhost_combined", &e),
			    "example.test:8080 127.0.0.1 - alice "
			    "[27/Nov/2026:04:40:50 +0000] "
			    "\"GET /index.html?q=1 HTTP/1.1\" 200 500 "
			    "\"http://example.test/ref\" "
			    "\"Mozilla/5.0 (X11; Linux x86_64) test\"");
	assert_string_equal(render("referer", &e),
			    "http://example.test/ref -> /index.html");
	assert_string_equal(render("agent", &e),
			    "Mozilla/5.0 (X11; Linux x86_64) test");
	/* A name that is not a named format is a format string. */
	assert_string_equal(render("combined2", &e), "combined2");
}

static const struct header ua_headers[] = {{"User-Agent", "curl/7.88.1"}};
static const struct header_table ua_table = {ua_headers, 1};

/* The real line from Debian's apache2 for a 404 with no Referer. */
static void test_combined_like_debian(void **state)
{
	static const char req[] = "GET /nothere.php HTTP/1.1";
	struct fy_access_entry e = {
	    .client_ip = "127.0.0.1",
	    .request_line = req,
	    .request_line_len = sizeof(req) - 1,
	    .status = 404,
	    .bytes_sent = 190,
	    .start_usec = 1795746370000000LL,
	    .header = lookup_header,
	    .header_arg = (void *)&ua_table,
	};

	(void)state;
	assert_string_equal(
	    render("combined", &e),
	    "127.0.0.1 - - [27/Nov/2026:02:26:10 +0000] "
	    "\"GET /nothere.php HTTP/1.1\" 404 190 \"-\" \"curl/7.88.1\"");
}

static const char *ua_only(void *arg, const char *name, size_t *len)
{
	(void)arg;
	if (strcasecmp(name, "User-Agent") != 0)
		return NULL;
	*len = 11;
	return "curl/7.88.1 and more";
}

static void test_header_length_honoured(void **state)
{
	struct fy_access_entry e = full_entry();

	(void)state;
	e.header = ua_only;
	assert_string_equal(render("\"%{Referer}i\" \"%{User-Agent}i\"", &e),
			    "\"-\" \"curl/7.88.1\"");
}

static void test_escaping(void **state)
{
	static const char req[] = "GET /a\"b\\c\n\r\t\b\v\x01\x7f\xc3\xa9 "
				  "HTTP/1.1";
	struct fy_access_entry e = full_entry();

	(void)state;
	e.request_line = req;
	e.request_line_len = sizeof(req) - 1;
	assert_string_equal(
	    render("%r", &e),
	    "GET /a\\\"b\\\\c\\n\\r\\t\\b\\v\\x01\\x7f\\xc3\\xa9 "
	    "HTTP/1.1");
	e.path = "/sp ace/\"q\"";
	assert_string_equal(render("%U", &e), "/sp ace/\\\"q\\\"");
	e.query = "a=\"1\"";
	e.query_len = 5;
	assert_string_equal(render("%q", &e), "?a=\\\"1\\\"");
	e.user = "bob\"";
	assert_string_equal(render("%u", &e), "bob\\\"");
	e.user = "";
	assert_string_equal(render("%u", &e), "\"\"");
}

static const char *evil_header(void *arg, const char *name, size_t *len)
{
	(void)arg;
	(void)name;
	/* Seven bytes: the last one is the string's NUL, which a header value
	 * may carry and the log must show. */
	*len = 7;
	return "a\"b\\\n\xff";
}

static void test_header_escaping(void **state)
{
	struct fy_access_entry e = full_entry();

	(void)state;
	e.header = evil_header;
	assert_string_equal(render("%{Referer}i", &e),
			    "a\\\"b\\\\\\n\\xff\\x00");
}

static void test_missing_fields(void **state)
{
	struct fy_access_entry e = {0};

	(void)state;
	assert_string_equal(
	    render("%a %A %b %B %D %f %h %H %l %m %p %{remote}p [%q] %r %s %>s "
		   "%T %u %U %v %V %O %I %{Referer}i %{Content-Type}o "
		   "%{Location}o",
		   &e),
	    "- - - 0 0 - - - - - - - [] - - - 0 - - - - 0 0 - - -");
	assert_string_equal(render("%t", &e), "[01/Jan/1970:00:00:00 +0000]");

	/* A query pointer with nothing in it is no query. */
	e.query = "";
	assert_string_equal(render("[%q]", &e), "[]");
	/* Negative durations do not wrap around. */
	e.duration_usec = -5;
	assert_string_equal(render("%D %T", &e), "0 0");
}

static void test_format_string_escapes(void **state)
{
	struct fy_access_entry e = full_entry();

	(void)state;
	assert_string_equal(render("a\\tb\\n\\\"%s\\\"\\\\\\x", &e),
			    "a\tb\n\"200\"\\\\x");
	assert_string_equal(render("100%% %s", &e), "100% 200");
}

static void test_compile_errors(void **state)
{
	static const struct {
		const char *fmt;
		const char *want;
	} cases[] = {
	    {"%Z", "unknown log format code %Z"},
	    {"%h %X", "unknown log format code %X"},
	    {"%{foo}k", "unknown log format code %k"},
	    {"%\x01", "unknown log format code %\\x01"},
	    {"%400,501{User-agent}i", "not supported"},
	    {"%!200s", "not supported"},
	    {"%{Referer", "unterminated"},
	    {"abc%", "middle of a % directive"},
	    {"%>", "middle of a % directive"},
	    {"%{minutes}T", "unknown unit"},
	    {"%{peer}p", "unknown port type"},
	    {"%i", "header name"},
	    {"%{}o", "header name"},
	};
	char err[256];

	(void)state;
	for (size_t i = 0; i < FY_ARRAY_SIZE(cases); i++) {
		struct fy_access_format *f;

		err[0] = '\0';
		f = fy_access_format_compile(cases[i].fmt, err, sizeof(err));
		if (f)
			fail_msg("\"%s\" compiled", cases[i].fmt);
		if (!strstr(err, cases[i].want))
			fail_msg("\"%s\": error \"%s\", want \"%s\"",
				 cases[i].fmt, err, cases[i].want);
	}
	assert_null(fy_access_format_compile(NULL, err, sizeof(err)));
	/* A small or missing error buffer is not written past. */
	assert_null(fy_access_format_compile("%Z", err, 4));
	assert_string_equal(err, "unk");
	assert_null(fy_access_format_compile("%Z", NULL, 0));
}

/* Every buffer size from 0 up, each buffer exactly that big so that the
 * address sanitizer sees any write past it. */
static void test_truncation(void **state)
{
	struct fy_access_entry e = full_entry();
	struct fy_access_format *f =
	    fy_access_format_compile("combined", NULL, 0);
	char full[1024];
	size_t full_len;

	(void)state;
	assert_non_null(f);
	full_len = fy_access_format_render(f, &e, full, sizeof(full));
	assert_true(full_len > 100);
	for (size_t size = 0; size <= full_len + 2; size++) {
		char *buf = malloc(size ? size : 1);
		size_t n;

		assert_non_null(buf);
		n = fy_access_format_render(f, &e, buf, size);
		if (size < 2) {
			assert_int_equal(n, 0);
			if (size == 1)
				assert_int_equal(buf[0], '\0');
		} else {
			assert_true(n >= 1 && n <= size - 1);
			assert_int_equal(buf[n - 1], '\n');
			assert_int_equal(buf[n], '\0');
			assert_memory_equal(buf, full, n - 1);
			if (size > full_len)
				assert_int_equal(n, full_len);
			else
				assert_int_equal(n, size - 1);
		}
		free(buf);
	}
	fy_access_format_free(f);
}

/* An escape that does not fit is left out whole, and nothing comes after. */
static void test_truncation_keeps_escapes_whole(void **state)
{
	static const char req[] = "a\"bcdef";
	struct fy_access_entry e = {
	    .request_line = req,
	    .request_line_len = sizeof(req) - 1,
	    .status = 200,
	};
	struct fy_access_format *f = fy_access_format_compile("%r%s", NULL, 0);
	char buf[4];

	(void)state;
	assert_non_null(f);
	/* Room for two bytes before '\n': "a" fits, "\\\"" does not. */
	assert_int_equal(fy_access_format_render(f, &e, buf, sizeof(buf)), 2);
	assert_string_equal(buf, "a\n");
	fy_access_format_free(f);

	e.request_line = "\x01";
	e.request_line_len = 1;
	f = fy_access_format_compile("%r", NULL, 0);
	assert_non_null(f);
	char small[5]; /* three bytes of room: "\\x01" needs four */
	assert_int_equal(fy_access_format_render(f, &e, small, sizeof(small)),
			 1);
	assert_string_equal(small, "\n");
	fy_access_format_free(f);
}

/* Files. */

static char tmpdir[256];

static int setup_dir(void **state)
{
	(void)state;
	snprintf(tmpdir, sizeof(tmpdir), "%s/foyer-access-XXXXXX",
		 getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp");
	return mkdtemp(tmpdir) ? 0 : -1;
}

static int teardown_dir(void **state)
{
	DIR *d;
	struct dirent *de;
	char p[512];

	(void)state;
	fy_access_log_close_all();
	d = opendir(tmpdir);
	if (!d)
		return -1;
	while ((de = readdir(d))) {
		if (de->d_name[0] == '.')
			continue;
		snprintf(p, sizeof(p), "%s/%s", tmpdir, de->d_name);
		unlink(p);
	}
	closedir(d);
	return rmdir(tmpdir);
}

static char *slurp(const char *path)
{
	static char buf[65536];
	FILE *fp = fopen(path, "r");
	size_t n;

	if (!fp)
		return NULL;
	n = fread(buf, 1, sizeof(buf) - 1, fp);
	fclose(fp);
	buf[n] = '\0';
	return buf;
}

static int count_fds(void)
{
	DIR *d = opendir("/proc/self/fd");
	struct dirent *de;
	int n = 0;

	assert_non_null(d);
	while ((de = readdir(d)))
		if (de->d_name[0] != '.')
			n++;
	closedir(d);
	return n;
}

static mode_t current_umask(void)
{
	mode_t m = umask(022);

	umask(m);
	return m;
}

/* The descriptor flags of the one open descriptor on path, or -1. */
static int fd_flags_of(const char *path)
{
	DIR *d = opendir("/proc/self/fd");
	struct dirent *de;
	char link[300], target[512];
	int flags = -1;

	assert_non_null(d);
	while ((de = readdir(d))) {
		ssize_t n;

		if (de->d_name[0] == '.')
			continue;
		snprintf(link, sizeof(link), "/proc/self/fd/%s", de->d_name);
		n = readlink(link, target, sizeof(target) - 1);
		if (n < 0)
			continue;
		target[n] = '\0';
		if (strcmp(target, path) == 0)
			flags = fcntl(atoi(de->d_name), F_GETFD);
	}
	closedir(d);
	return flags;
}

static void test_open_off(void **state)
{
	char err[128] = "stale";

	(void)state;
	assert_null(fy_access_log_open(NULL, "combined", err, sizeof(err)));
	assert_string_equal(err, "");
	strcpy(err, "stale");
	assert_null(fy_access_log_open("off", "combined", err, sizeof(err)));
	assert_string_equal(err, "");
	/* Writing to no log is a no-op. */
	struct fy_access_entry e = full_entry();
	fy_access_log_write(NULL, &e);
}

static void test_open_errors(void **state)
{
	char path[512];
	char err[256] = "";
	struct stat st;

	(void)state;
	snprintf(path, sizeof(path), "%s/missing/access.log", tmpdir);
	assert_null(fy_access_log_open(path, "combined", err, sizeof(err)));
	assert_non_null(strstr(err, "cannot open access log"));
	assert_non_null(strstr(err, "missing/access.log"));

	snprintf(path, sizeof(path), "%s/bad.log", tmpdir);
	assert_null(fy_access_log_open(path, "%h %Z", err, sizeof(err)));
	assert_string_equal(err, "unknown log format code %Z");
	/* A bad format creates no file. */
	assert_int_equal(stat(path, &st), -1);
}

static void test_write_and_reopen(void **state)
{
	char path[512], moved[512], err[256] = "";
	struct fy_access_entry e = full_entry();
	struct fy_access_log *log;
	struct stat st;
	char *text;

	(void)state;
	snprintf(path, sizeof(path), "%s/access.log", tmpdir);
	snprintf(moved, sizeof(moved), "%s/access.log.1", tmpdir);
	log = fy_access_log_open(path, "%>s %U", err, sizeof(err));
	assert_non_null(log);
	assert_int_equal(stat(path, &st), 0);
	assert_int_equal(st.st_mode & 0777, 0640 & ~current_umask());

	fy_access_log_write(log, &e);
	assert_string_equal(slurp(path), "200 /index.html\n");

	assert_int_equal(rename(path, moved), 0);
	e.status = 404;
	e.path = "/after-rename";
	fy_access_log_write(log, &e);
	/* Before the reopen the line follows the file to its new name. */
	assert_string_equal(slurp(moved),
			    "200 /index.html\n404 /after-rename\n");

	fy_log_reopen_all();
	e.status = 500;
	e.path = "/after-reopen";
	fy_access_log_write(log, &e);
	text = slurp(path);
	assert_non_null(text);
	assert_string_equal(text, "500 /after-reopen\n");
	assert_string_equal(slurp(moved),
			    "200 /index.html\n404 /after-rename\n");

	/* The descriptor keeps close-on-exec across the reopen. */
	assert_true(fd_flags_of(path) & FD_CLOEXEC);
	fy_access_log_close_all();
	unlink(moved);
}

static void test_shared_descriptor(void **state)
{
	char path[512], other[512], err[256] = "";
	struct fy_access_entry e = full_entry();
	struct fy_access_log *a, *b, *c, *d;
	int fds;

	(void)state;
	snprintf(path, sizeof(path), "%s/shared.log", tmpdir);
	snprintf(other, sizeof(other), "%s/./shared.log", tmpdir);
	a = fy_access_log_open(path, "a %s", err, sizeof(err));
	assert_non_null(a);
	fds = count_fds();
	b = fy_access_log_open(path, "b %U", err, sizeof(err));
	assert_non_null(b);
	assert_int_equal(count_fds(), fds);
	/* Another spelling of the same file shares too. */
	c = fy_access_log_open(other, "c %m", err, sizeof(err));
	assert_non_null(c);
	assert_int_equal(count_fds(), fds);
	assert_ptr_not_equal(a, b);

	fy_access_log_write(a, &e);
	fy_access_log_write(b, &e);
	fy_access_log_write(c, &e);
	assert_string_equal(slurp(path), "a 200\nb /index.html\nc GET\n");

	/* A different file is a different descriptor. */
	snprintf(other, sizeof(other), "%s/other.log", tmpdir);
	d = fy_access_log_open(other, "common", err, sizeof(err));
	assert_non_null(d);
	assert_int_equal(count_fds(), fds + 1);

	fy_access_log_close_all();
	assert_int_equal(count_fds(), fds - 1);
}

#define WRITER_THREADS 4
#define WRITER_LINES   300

static void *writer(void *arg)
{
	struct fy_access_log *log = arg;
	struct fy_access_entry e = full_entry();

	for (int i = 0; i < WRITER_LINES; i++)
		fy_access_log_write(log, &e);
	return NULL;
}

/* Lines written from several threads never mix. */
static void test_threads_write_whole_lines(void **state)
{
	char path[512], err[256] = "";
	pthread_t t[WRITER_THREADS];
	struct fy_access_log *log;
	const char *want = "127.0.0.1 - alice [27/Nov/2026:04:40:50 +0000] "
			   "\"GET /index.html?q=1 HTTP/1.1\" 200 500 "
			   "\"http://example.test/ref\" "
			   "\"Mozilla/5.0 (X11; Linux x86_64) test\"";
	FILE *fp;
	char buf[1024];
	int lines = 0;

	(void)state;
	snprintf(path, sizeof(path), "%s/threads.log", tmpdir);
	log = fy_access_log_open(path, "combined", err, sizeof(err));
	assert_non_null(log);
	for (int i = 0; i < WRITER_THREADS; i++)
		assert_int_equal(pthread_create(&t[i], NULL, writer, log), 0);
	for (int i = 0; i < WRITER_THREADS; i++)
		pthread_join(t[i], NULL);

	fp = fopen(path, "r");
	assert_non_null(fp);
	while (fgets(buf, sizeof(buf), fp)) {
		buf[strcspn(buf, "\n")] = '\0';
		assert_string_equal(buf, want);
		lines++;
	}
	fclose(fp);
	assert_int_equal(lines, WRITER_THREADS * WRITER_LINES);
	fy_access_log_close_all();
}

static void test_long_line_is_cut(void **state)
{
	char path[512], err[256] = "";
	static char longpath[20000];
	struct fy_access_entry e = full_entry();
	struct fy_access_log *log;
	char *text;
	size_t n;

	(void)state;
	memset(longpath, 'p', sizeof(longpath) - 1);
	e.path = longpath;
	snprintf(path, sizeof(path), "%s/long.log", tmpdir);
	log = fy_access_log_open(path, "%U", err, sizeof(err));
	assert_non_null(log);
	fy_access_log_write(log, &e);
	fy_access_log_write(log, &e);
	text = slurp(path);
	n = strlen(text);
	/* Two lines, each cut to fit the write buffer, each ending in '\n'. */
	assert_true(n > 8000 && n < 2 * 8192);
	assert_int_equal(text[n - 1], '\n');
	assert_int_equal(text[n / 2 - 1], '\n');
	assert_int_equal(strchr(text, '\n') - text, n / 2 - 1);
	fy_access_log_close_all();
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_every_code),
	    cmocka_unit_test(test_time_codes),
	    cmocka_unit_test(test_time_zone_offset),
	    cmocka_unit_test(test_named_formats),
	    cmocka_unit_test(test_combined_like_debian),
	    cmocka_unit_test(test_header_length_honoured),
	    cmocka_unit_test(test_escaping),
	    cmocka_unit_test(test_header_escaping),
	    cmocka_unit_test(test_missing_fields),
	    cmocka_unit_test(test_format_string_escapes),
	    cmocka_unit_test(test_compile_errors),
	    cmocka_unit_test(test_truncation),
	    cmocka_unit_test(test_truncation_keeps_escapes_whole),
	    cmocka_unit_test(test_open_off),
	    cmocka_unit_test_setup_teardown(test_open_errors, setup_dir,
					    teardown_dir),
	    cmocka_unit_test_setup_teardown(test_write_and_reopen, setup_dir,
					    teardown_dir),
	    cmocka_unit_test_setup_teardown(test_shared_descriptor, setup_dir,
					    teardown_dir),
	    cmocka_unit_test_setup_teardown(test_threads_write_whole_lines,
					    setup_dir, teardown_dir),
	    cmocka_unit_test_setup_teardown(test_long_line_is_cut, setup_dir,
					    teardown_dir),
	};

	set_tz("UTC");
	return cmocka_run_group_tests(tests, NULL, NULL);
}
