/*
 * test_cgi.c - the CGI environment builder: the standard variables and
 * their order, HTTP_* mapping and filtering, joined duplicates, extra
 * params, scratch limits and emit failures.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "foyer/cgi.h"
#include "foyer/core.h"
#include "foyer/http.h"

#define MAX_VARS      64
#define NAME_MAX_LEN  128
#define VALUE_MAX_LEN 1024
#define SCRATCH_LEN   4096

struct var {
	char name[NAME_MAX_LEN];
	char value[VALUE_MAX_LEN];
};

struct collect {
	struct var vars[MAX_VARS];
	size_t n;
	size_t calls;
	size_t fail_at; /* 1-based call that fails; 0: none */
};

static int on_var(void *arg, const char *name, size_t name_len,
		  const char *value, size_t value_len)
{
	struct collect *c = arg;
	struct var *v;

	c->calls++;
	if (c->fail_at != 0 && c->calls == c->fail_at)
		return FY_ERROR;
	assert_true(c->n < MAX_VARS);
	assert_true(name_len < NAME_MAX_LEN);
	assert_true(value_len < VALUE_MAX_LEN);
	v = &c->vars[c->n++];
	memcpy(v->name, name, name_len);
	v->name[name_len] = '\0';
	memcpy(v->value, value, value_len);
	v->value[value_len] = '\0';
	return FY_OK;
}

static int index_of(const struct collect *c, const char *name)
{
	size_t i;

	for (i = 0; i < c->n; i++)
		if (strcmp(c->vars[i].name, name) == 0)
			return (int)i;
	return -1;
}

static size_t count_of(const struct collect *c, const char *name)
{
	size_t i, k = 0;

	for (i = 0; i < c->n; i++)
		if (strcmp(c->vars[i].name, name) == 0)
			k++;
	return k;
}

static void assert_var(const struct collect *c, const char *name,
		       const char *value)
{
	int i = index_of(c, name);

	if (i < 0)
		fail_msg("%s missing", name);
	assert_int_equal(count_of(c, name), 1);
	assert_string_equal(c->vars[i].value, value);
}

static void assert_no_var(const struct collect *c, const char *name)
{
	if (index_of(c, name) >= 0)
		fail_msg("%s unexpectedly present", name);
}

/* The names emitted, exactly and in this order. */
static void assert_names(const struct collect *c, const char *const *names,
			 size_t n)
{
	size_t i;

	for (i = 0; i < n && i < c->n; i++)
		if (strcmp(c->vars[i].name, names[i]) != 0)
			fail_msg("variable %zu: %s, expected %s", i,
				 c->vars[i].name, names[i]);
	assert_int_equal(c->n, n);
}

static struct fy_http_header hdr(const char *name, const char *value)
{
	struct fy_http_header h = {name, strlen(name), value, strlen(value)};

	return h;
}

static struct fy_cgi_param param(const char *name, const char *value)
{
	struct fy_cgi_param p = {name, strlen(name), value, strlen(value)};

	return p;
}

#define REQUEST_URI "/blog/index.php?a=1&b=%20"

static void base_request(struct fy_cgi_request *r)
{
	memset(r, 0, sizeof(*r));
	r->method = "GET";
	r->method_len = 3;
	r->request_uri = REQUEST_URI;
	r->request_uri_len = strlen(REQUEST_URI);
	r->query = strchr(REQUEST_URI, '?') + 1;
	r->query_len = strlen(r->query);
	r->document_root = "/var/www/html";
	r->script_name = "/blog/index.php";
	r->script_filename = "/var/www/html/blog/index.php";
	r->path_info = NULL;
	r->document_uri = "/blog/index.php";
	r->server_name = "www.example.org";
	r->server_addr = "192.0.2.1";
	r->server_port = 80;
	r->remote_addr = "198.51.100.7";
	r->remote_port = 51234;
	r->protocol = "HTTP/1.1";
	r->server_software = FY_SERVER_TOKEN;
	r->https = 0;
	r->content_length = -1;
}

static int build(const struct fy_cgi_request *r, struct collect *c)
{
	static char scratch[SCRATCH_LEN];

	return fy_cgi_build(r, on_var, c, scratch, sizeof(scratch));
}

static void test_get_standard_set(void **state)
{
	static const char *const names[] = {
	    "SCRIPT_FILENAME",	 "SCRIPT_NAME",	    "DOCUMENT_ROOT",
	    "DOCUMENT_URI",	 "REQUEST_URI",	    "QUERY_STRING",
	    "REQUEST_METHOD",	 "SERVER_NAME",	    "SERVER_ADDR",
	    "SERVER_PORT",	 "SERVER_PROTOCOL", "SERVER_SOFTWARE",
	    "REMOTE_ADDR",	 "REMOTE_PORT",	    "REQUEST_SCHEME",
	    "GATEWAY_INTERFACE", "REDIRECT_STATUS", "HTTP_HOST",
	    "HTTP_USER_AGENT",
	};
	struct fy_http_header h[2];
	struct fy_cgi_request r;
	struct collect c = {0};

	(void)state;
	base_request(&r);
	h[0] = hdr("Host", "www.example.org");
	h[1] = hdr("User-Agent", "curl/7.88.1");
	r.headers = h;
	r.n_headers = 2;
	assert_int_equal(build(&r, &c), FY_OK);
	assert_names(&c, names, FY_ARRAY_SIZE(names));
	assert_var(&c, "SCRIPT_FILENAME", "/var/www/html/blog/index.php");
	assert_var(&c, "SCRIPT_NAME", "/blog/index.php");
	assert_var(&c, "DOCUMENT_ROOT", "/var/www/html");
	assert_var(&c, "DOCUMENT_URI", "/blog/index.php");
	assert_var(&c, "REQUEST_URI", REQUEST_URI);
	assert_var(&c, "QUERY_STRING", "a=1&b=%20");
	assert_var(&c, "REQUEST_METHOD", "GET");
	assert_var(&c, "SERVER_NAME", "www.example.org");
	assert_var(&c, "SERVER_ADDR", "192.0.2.1");
	assert_var(&c, "SERVER_PORT", "80");
	assert_var(&c, "SERVER_PROTOCOL", "HTTP/1.1");
	assert_var(&c, "SERVER_SOFTWARE", "foyer/" FY_VERSION);
	assert_var(&c, "REMOTE_ADDR", "198.51.100.7");
	assert_var(&c, "REMOTE_PORT", "51234");
	assert_var(&c, "REQUEST_SCHEME", "http");
	assert_var(&c, "GATEWAY_INTERFACE", "CGI/1.1");
	assert_var(&c, "REDIRECT_STATUS", "200");
	assert_var(&c, "HTTP_HOST", "www.example.org");
	assert_var(&c, "HTTP_USER_AGENT", "curl/7.88.1");
}

static void test_post_standard_set(void **state)
{
	static const char *const names[] = {
	    "SCRIPT_FILENAME", "SCRIPT_NAME",	  "DOCUMENT_ROOT",
	    "DOCUMENT_URI",    "REQUEST_URI",	  "QUERY_STRING",
	    "REQUEST_METHOD",  "CONTENT_TYPE",	  "CONTENT_LENGTH",
	    "SERVER_NAME",     "SERVER_ADDR",	  "SERVER_PORT",
	    "SERVER_PROTOCOL", "SERVER_SOFTWARE", "REMOTE_ADDR",
	    "REMOTE_PORT",     "REQUEST_SCHEME",  "GATEWAY_INTERFACE",
	    "REDIRECT_STATUS", "HTTP_HOST",	  "HTTP_ACCEPT",
	};
	struct fy_http_header h[4];
	struct fy_cgi_request r;
	struct collect c = {0};

	(void)state;
	base_request(&r);
	r.method = "POST";
	r.method_len = 4;
	r.content_length = 11;
	h[0] = hdr("Host", "www.example.org");
	h[1] = hdr("Content-Type", "application/x-www-form-urlencoded");
	h[2] = hdr("Content-Length", "11");
	h[3] = hdr("Accept", "*/*");
	r.headers = h;
	r.n_headers = 4;
	assert_int_equal(build(&r, &c), FY_OK);
	assert_names(&c, names, FY_ARRAY_SIZE(names));
	assert_var(&c, "REQUEST_METHOD", "POST");
	assert_var(&c, "CONTENT_TYPE", "application/x-www-form-urlencoded");
	assert_var(&c, "CONTENT_LENGTH", "11");
	assert_no_var(&c, "HTTP_CONTENT_TYPE");
	assert_no_var(&c, "HTTP_CONTENT_LENGTH");
}

static void test_method_uses_its_length(void **state)
{
	struct fy_cgi_request r;
	struct collect c = {0};

	(void)state;
	base_request(&r);
	r.method = "DELETEME";
	r.method_len = 6;
	assert_int_equal(build(&r, &c), FY_OK);
	assert_var(&c, "REQUEST_METHOD", "DELETE");
}

static void test_content_length_rules(void **state)
{
	struct fy_http_header h[2];
	struct fy_cgi_request r;
	struct collect c = {0};

	(void)state;
	/* An empty body is a body: PHP must be told it is 0 bytes. */
	base_request(&r);
	r.content_length = 0;
	assert_int_equal(build(&r, &c), FY_OK);
	assert_var(&c, "CONTENT_LENGTH", "0");
	assert_no_var(&c, "CONTENT_TYPE");

	/* Beyond 32 bits. */
	memset(&c, 0, sizeof(c));
	r.content_length = 5000000000LL;
	assert_int_equal(build(&r, &c), FY_OK);
	assert_var(&c, "CONTENT_LENGTH", "5000000000");

	/* A Content-Type without a body: the type, no length. */
	memset(&c, 0, sizeof(c));
	r.content_length = -1;
	h[0] = hdr("content-type", "text/plain");
	h[1] = hdr("Content-Type", "text/html");
	r.headers = h;
	r.n_headers = 2;
	assert_int_equal(build(&r, &c), FY_OK);
	assert_var(&c, "CONTENT_TYPE", "text/plain");
	assert_no_var(&c, "CONTENT_LENGTH");
	assert_no_var(&c, "HTTP_CONTENT_TYPE");
}

static void test_path_info(void **state)
{
	struct fy_cgi_request r;
	struct collect c = {0};
	int sn, pi, pt, dr;

	(void)state;
	base_request(&r);
	r.path_info = "/2024/hello";
	assert_int_equal(build(&r, &c), FY_OK);
	assert_var(&c, "PATH_INFO", "/2024/hello");
	assert_var(&c, "PATH_TRANSLATED", "/var/www/html/2024/hello");
	sn = index_of(&c, "SCRIPT_NAME");
	pi = index_of(&c, "PATH_INFO");
	pt = index_of(&c, "PATH_TRANSLATED");
	dr = index_of(&c, "DOCUMENT_ROOT");
	assert_int_equal(pi, sn + 1);
	assert_int_equal(pt, pi + 1);
	assert_int_equal(dr, pt + 1);

	/* Empty path info is never sent (CVE-2019-11043). */
	memset(&c, 0, sizeof(c));
	r.path_info = "";
	assert_int_equal(build(&r, &c), FY_OK);
	assert_no_var(&c, "PATH_INFO");
	assert_no_var(&c, "PATH_TRANSLATED");

	memset(&c, 0, sizeof(c));
	r.path_info = NULL;
	assert_int_equal(build(&r, &c), FY_OK);
	assert_no_var(&c, "PATH_INFO");
	assert_no_var(&c, "PATH_TRANSLATED");

	/* Nothing to translate into. */
	memset(&c, 0, sizeof(c));
	r.path_info = "/x";
	r.document_root = NULL;
	assert_int_equal(build(&r, &c), FY_OK);
	assert_var(&c, "PATH_INFO", "/x");
	assert_no_var(&c, "PATH_TRANSLATED");
	assert_no_var(&c, "DOCUMENT_ROOT");
}

static void test_query_string(void **state)
{
	struct fy_cgi_request r;
	struct collect c = {0};

	(void)state;
	base_request(&r);
	r.request_uri = "/index.php";
	r.request_uri_len = strlen(r.request_uri);
	r.query = NULL;
	r.query_len = 0;
	assert_int_equal(build(&r, &c), FY_OK);
	assert_var(&c, "QUERY_STRING", "");
	assert_var(&c, "REQUEST_URI", "/index.php");

	/* "?" alone: present and empty. */
	memset(&c, 0, sizeof(c));
	r.request_uri = "/index.php?";
	r.request_uri_len = strlen(r.request_uri);
	r.query = r.request_uri + r.request_uri_len;
	assert_int_equal(build(&r, &c), FY_OK);
	assert_var(&c, "QUERY_STRING", "");
	assert_var(&c, "REQUEST_URI", "/index.php?");
}

static void test_https(void **state)
{
	struct fy_cgi_request r;
	struct collect c = {0};

	(void)state;
	base_request(&r);
	r.https = 1;
	r.server_port = 443;
	assert_int_equal(build(&r, &c), FY_OK);
	assert_var(&c, "HTTPS", "on");
	assert_var(&c, "REQUEST_SCHEME", "https");
	assert_var(&c, "SERVER_PORT", "443");
	assert_int_equal(index_of(&c, "HTTPS"),
			 index_of(&c, "REQUEST_SCHEME") + 1);
	assert_int_equal(index_of(&c, "GATEWAY_INTERFACE"),
			 index_of(&c, "HTTPS") + 1);

	memset(&c, 0, sizeof(c));
	r.https = 0;
	assert_int_equal(build(&r, &c), FY_OK);
	assert_no_var(&c, "HTTPS");
	assert_var(&c, "REQUEST_SCHEME", "http");
}

static void test_absent_strings_left_out(void **state)
{
	struct fy_cgi_request r;
	struct collect c = {0};

	(void)state;
	base_request(&r);
	r.server_addr = NULL;
	r.remote_addr = NULL;
	r.document_uri = NULL;
	r.remote_port = 0;
	assert_int_equal(build(&r, &c), FY_OK);
	assert_no_var(&c, "SERVER_ADDR");
	assert_no_var(&c, "REMOTE_ADDR");
	assert_no_var(&c, "DOCUMENT_URI");
	assert_var(&c, "REMOTE_PORT", "0");
	assert_var(&c, "SERVER_NAME", "www.example.org");
}

static void test_header_mapping(void **state)
{
	struct fy_http_header h[4];
	struct fy_cgi_request r;
	struct collect c = {0};

	(void)state;
	base_request(&r);
	h[0] = hdr("User-Agent", "Mozilla/5.0 (X11; Linux x86_64)");
	h[1] = hdr("x-request-id-2", "abc");
	h[2] = hdr("DNT", "1");
	h[3] = hdr("X-Empty", "");
	r.headers = h;
	r.n_headers = 4;
	assert_int_equal(build(&r, &c), FY_OK);
	assert_var(&c, "HTTP_USER_AGENT", "Mozilla/5.0 (X11; Linux x86_64)");
	assert_var(&c, "HTTP_X_REQUEST_ID_2", "abc");
	assert_var(&c, "HTTP_DNT", "1");
	assert_var(&c, "HTTP_X_EMPTY", "");
	/* In arrival order, after the standard set. */
	assert_int_equal(index_of(&c, "HTTP_USER_AGENT"),
			 index_of(&c, "REDIRECT_STATUS") + 1);
	assert_int_equal(index_of(&c, "HTTP_X_EMPTY"), (int)c.n - 1);
}

static void test_dropped_names(void **state)
{
	struct fy_http_header h[9];
	struct fy_cgi_request r;
	struct collect c = {0};
	size_t i, n_http = 0;

	(void)state;
	base_request(&r);
	h[0] = hdr("Proxy", "http://evil.example:8080");
	h[1] = hdr("pRoXy", "http://evil.example:8081");
	h[2] = hdr("X_Forwarded_For", "10.0.0.1");
	h[3] = hdr("X.Foo", "1");
	h[4] = hdr("X Foo", "1");
	h[5] = hdr("", "1");
	h[6] = hdr("X-F\xc3\xa9", "1");
	h[7] = hdr("X-Forwarded-For", "203.0.113.9");
	h[8] = hdr("Proxy-Connection", "keep-alive");
	r.headers = h;
	r.n_headers = 9;
	assert_int_equal(build(&r, &c), FY_OK);
	assert_no_var(&c, "HTTP_PROXY");
	assert_no_var(&c, "HTTP_X_FOO");
	assert_no_var(&c, "HTTP_X.FOO");
	assert_no_var(&c, "HTTP_X FOO");
	assert_no_var(&c, "HTTP_");
	/* The real header survives, unjoined with the lookalike. */
	assert_var(&c, "HTTP_X_FORWARDED_FOR", "203.0.113.9");
	/* Only Proxy itself is httpoxy. */
	assert_var(&c, "HTTP_PROXY_CONNECTION", "keep-alive");
	for (i = 0; i < c.n; i++)
		if (strncmp(c.vars[i].name, "HTTP_", 5) == 0)
			n_http++;
	assert_int_equal(n_http, 2);
}

static void test_authorization(void **state)
{
	struct fy_http_header h[2];
	struct fy_cgi_request r;
	struct collect c = {0};

	(void)state;
	base_request(&r);
	h[0] = hdr("Authorization", "Basic dXNlcjpwYXNz");
	h[1] = hdr("Proxy-Authorization", "Basic cHJveHk6cHc=");
	r.headers = h;
	r.n_headers = 2;
	r.pass_authorization = 0;
	assert_int_equal(build(&r, &c), FY_OK);
	assert_no_var(&c, "HTTP_AUTHORIZATION");
	assert_no_var(&c, "HTTP_PROXY_AUTHORIZATION");

	memset(&c, 0, sizeof(c));
	r.pass_authorization = 1;
	assert_int_equal(build(&r, &c), FY_OK);
	assert_var(&c, "HTTP_AUTHORIZATION", "Basic dXNlcjpwYXNz");
	assert_var(&c, "HTTP_PROXY_AUTHORIZATION", "Basic cHJveHk6cHc=");
}

static void test_duplicates_joined(void **state)
{
	static const char *const tail[] = {
	    "HTTP_ACCEPT",
	    "HTTP_COOKIE",
	    "HTTP_HOST",
	    "HTTP_X_ONE",
	};
	struct fy_http_header h[7];
	struct fy_cgi_request r;
	struct collect c = {0};
	int first;
	size_t i;

	(void)state;
	base_request(&r);
	h[0] = hdr("Accept", "text/html");
	h[1] = hdr("Cookie", "a=1");
	h[2] = hdr("Host", "www.example.org");
	h[3] = hdr("accept", "application/xml;q=0.9");
	h[4] = hdr("COOKIE", "b=2, c=3");
	h[5] = hdr("X-One", "only");
	h[6] = hdr("ACCEPT", "*/*;q=0.8");
	r.headers = h;
	r.n_headers = 7;
	assert_int_equal(build(&r, &c), FY_OK);
	assert_var(&c, "HTTP_ACCEPT",
		   "text/html, application/xml;q=0.9, */*;q=0.8");
	assert_var(&c, "HTTP_COOKIE", "a=1; b=2, c=3");
	assert_var(&c, "HTTP_HOST", "www.example.org");
	assert_var(&c, "HTTP_X_ONE", "only");
	/* Each at the place of its first header, nothing re-emitted. */
	first = index_of(&c, "HTTP_ACCEPT");
	assert_int_equal(first + FY_ARRAY_SIZE(tail), c.n);
	for (i = 0; i < FY_ARRAY_SIZE(tail); i++)
		assert_string_equal(c.vars[first + i].name, tail[i]);
}

static void test_extra_params(void **state)
{
	struct fy_http_header h[3];
	struct fy_cgi_param e[3];
	struct fy_cgi_request r;
	struct collect c = {0};

	(void)state;
	base_request(&r);
	h[0] = hdr("Foo-Bar", "from-client");
	h[1] = hdr("foo-bar", "again");
	h[2] = hdr("Accept", "*/*");
	e[0] = param("HTTP_FOO_BAR", "from-admin");
	e[1] = param("APP_ENV", "production");
	e[2] = param("HTTP_HOST", "fixed.example");
	r.headers = h;
	r.n_headers = 3;
	r.extra = e;
	r.n_extra = 3;
	assert_int_equal(build(&r, &c), FY_OK);
	assert_var(&c, "HTTP_FOO_BAR", "from-admin");
	assert_var(&c, "APP_ENV", "production");
	assert_var(&c, "HTTP_HOST", "fixed.example");
	assert_var(&c, "HTTP_ACCEPT", "*/*");
	/* Extras come last, in their order. */
	/* 17 standard, HTTP_ACCEPT, 3 extras. */
	assert_int_equal(c.n, 17 + 1 + 3);
	assert_string_equal(c.vars[c.n - 3].name, "HTTP_FOO_BAR");
	assert_string_equal(c.vars[c.n - 2].name, "APP_ENV");
	assert_string_equal(c.vars[c.n - 1].name, "HTTP_HOST");
	assert_string_equal(c.vars[c.n - 4].name, "HTTP_ACCEPT");
}

static void test_extra_name_compared_exactly(void **state)
{
	struct fy_http_header h[1];
	struct fy_cgi_param e[1];
	struct fy_cgi_request r;
	struct collect c = {0};

	(void)state;
	base_request(&r);
	h[0] = hdr("Foo", "client");
	e[0] = param("HTTP_FOO_", "admin");
	r.headers = h;
	r.n_headers = 1;
	r.extra = e;
	r.n_extra = 1;
	assert_int_equal(build(&r, &c), FY_OK);
	assert_var(&c, "HTTP_FOO", "client");
	assert_var(&c, "HTTP_FOO_", "admin");
}

static void test_engine_names_unreachable(void **state)
{
	struct fy_http_header h[4];
	struct fy_cgi_request r;
	struct collect c = {0};
	size_t i;

	(void)state;
	base_request(&r);
	h[0] = hdr("PHP-Value", "auto_prepend_file=php://input");
	h[1] = hdr("PHP_ADMIN_VALUE", "allow_url_include=1");
	h[2] = hdr("Request-Body-File", "/etc/passwd");
	h[3] = hdr("Script-Filename", "/tmp/evil.php");
	r.headers = h;
	r.n_headers = 4;
	assert_int_equal(build(&r, &c), FY_OK);
	assert_var(&c, "HTTP_PHP_VALUE", "auto_prepend_file=php://input");
	assert_var(&c, "HTTP_REQUEST_BODY_FILE", "/etc/passwd");
	assert_var(&c, "HTTP_SCRIPT_FILENAME", "/tmp/evil.php");
	assert_var(&c, "SCRIPT_FILENAME", "/var/www/html/blog/index.php");
	assert_no_var(&c, "HTTP_PHP_ADMIN_VALUE");
	assert_no_var(&c, "PHP_VALUE");
	assert_no_var(&c, "PHP_ADMIN_VALUE");
	assert_no_var(&c, "REQUEST_BODY_FILE");
	for (i = 0; i < c.n; i++)
		assert_null(strstr(c.vars[i].value, "allow_url_include"));
}

/*
 * Runs the build with a heap scratch of exactly len bytes (ASan sees any
 * write past it) followed by guard bytes checked afterwards (seen without
 * ASan too).
 */
static int build_in(const struct fy_cgi_request *r, struct collect *c,
		    size_t len)
{
	enum { GUARD = 32 };
	unsigned char *mem = malloc(len + GUARD);
	size_t i;
	int rc;

	assert_non_null(mem);
	memset(mem + len, 0xA5, GUARD);
	rc = fy_cgi_build(r, on_var, c, (char *)mem, len);
	for (i = 0; i < GUARD; i++)
		assert_int_equal(mem[len + i], 0xA5);
	free(mem);
	return rc;
}

static void test_scratch_limits(void **state)
{
	struct fy_http_header h[2];
	struct fy_cgi_request r;
	struct collect c = {0};

	(void)state;
	base_request(&r);
	/* "HTTP_USER_AGENT" is 15 bytes; a single value needs no scratch. */
	h[0] = hdr("User-Agent", "a long enough user agent value");
	r.headers = h;
	r.n_headers = 1;
	assert_int_equal(build_in(&r, &c, 15), FY_OK);
	assert_var(&c, "HTTP_USER_AGENT", "a long enough user agent value");
	memset(&c, 0, sizeof(c));
	assert_int_equal(build_in(&r, &c, 14), FY_ERROR);
	assert_no_var(&c, "HTTP_USER_AGENT");
	memset(&c, 0, sizeof(c));
	assert_int_equal(build_in(&r, &c, 4), FY_ERROR);

	/* Joined: "HTTP_COOKIE" (11) + "a=1; b=2" (8). */
	h[0] = hdr("Cookie", "a=1");
	h[1] = hdr("Cookie", "b=2");
	r.n_headers = 2;
	memset(&c, 0, sizeof(c));
	assert_int_equal(build_in(&r, &c, 19), FY_OK);
	assert_var(&c, "HTTP_COOKIE", "a=1; b=2");
	memset(&c, 0, sizeof(c));
	assert_int_equal(build_in(&r, &c, 18), FY_ERROR);
	assert_no_var(&c, "HTTP_COOKIE");
	memset(&c, 0, sizeof(c));
	assert_int_equal(build_in(&r, &c, 13), FY_ERROR);

	/* PATH_TRANSLATED: "/var/www/html" (13) + "/p" (2). */
	r.n_headers = 0;
	r.path_info = "/p";
	memset(&c, 0, sizeof(c));
	assert_int_equal(build_in(&r, &c, 15), FY_OK);
	assert_var(&c, "PATH_TRANSLATED", "/var/www/html/p");
	memset(&c, 0, sizeof(c));
	assert_int_equal(build_in(&r, &c, 14), FY_ERROR);
	assert_no_var(&c, "PATH_TRANSLATED");

	/* No scratch at all is enough when nothing needs it. */
	r.path_info = NULL;
	memset(&c, 0, sizeof(c));
	assert_int_equal(fy_cgi_build(&r, on_var, &c, NULL, 0), FY_OK);
	assert_var(&c, "REQUEST_METHOD", "GET");
}

static void fill_everything(struct fy_cgi_request *r, struct fy_http_header *h,
			    struct fy_cgi_param *e)
{
	base_request(r);
	r->method = "POST";
	r->method_len = 4;
	r->content_length = 3;
	r->https = 1;
	r->path_info = "/a";
	h[0] = hdr("Content-Type", "text/plain");
	h[1] = hdr("Cookie", "a=1");
	h[2] = hdr("Host", "h");
	h[3] = hdr("Cookie", "b=2");
	r->headers = h;
	r->n_headers = 4;
	e[0] = param("APP_ENV", "test");
	r->extra = e;
	r->n_extra = 1;
}

static void test_emit_error_stops(void **state)
{
	struct fy_http_header h[4];
	struct fy_cgi_param e[1];
	struct fy_cgi_request r;
	struct collect c = {0};
	size_t total, k;

	(void)state;
	fill_everything(&r, h, e);
	assert_int_equal(build(&r, &c), FY_OK);
	total = c.calls;
	/* 22 standard (with PATH_*, CONTENT_*, HTTPS), 2 headers, 1 extra. */
	assert_int_equal(total, 25);
	for (k = 1; k <= total; k++) {
		memset(&c, 0, sizeof(c));
		c.fail_at = k;
		assert_int_equal(build(&r, &c), FY_ERROR);
		assert_int_equal(c.calls, k);
		assert_int_equal(c.n, k - 1);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_get_standard_set),
	    cmocka_unit_test(test_post_standard_set),
	    cmocka_unit_test(test_method_uses_its_length),
	    cmocka_unit_test(test_content_length_rules),
	    cmocka_unit_test(test_path_info),
	    cmocka_unit_test(test_query_string),
	    cmocka_unit_test(test_https),
	    cmocka_unit_test(test_absent_strings_left_out),
	    cmocka_unit_test(test_header_mapping),
	    cmocka_unit_test(test_dropped_names),
	    cmocka_unit_test(test_authorization),
	    cmocka_unit_test(test_duplicates_joined),
	    cmocka_unit_test(test_extra_params),
	    cmocka_unit_test(test_extra_name_compared_exactly),
	    cmocka_unit_test(test_engine_names_unreachable),
	    cmocka_unit_test(test_scratch_limits),
	    cmocka_unit_test(test_emit_error_stops),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
