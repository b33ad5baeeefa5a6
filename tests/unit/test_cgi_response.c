/*
 * test_cgi_response.c - the CGI response header parser: Status, Location
 * and local redirects, dropped and reported fields, LF and CRLF, feeding at
 * every split point, the size cap, field count and malformed lines.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "foyer/cgi_response.h"
#include "foyer/core.h"

#define CAP	    1024
#define MAX_HEADERS 16

struct parse {
	struct fy_cgi_response r;
	char buf[CAP];
	struct fy_http_header headers[MAX_HEADERS];
	size_t consumed;
	int rc;
};

/* Parses s in one piece with a cap of CAP bytes. */
static struct parse *parse_all(const char *s)
{
	struct parse *p = calloc(1, sizeof(*p));

	assert_non_null(p);
	fy_cgi_response_init(&p->r, p->buf, CAP, p->headers, MAX_HEADERS);
	p->rc = fy_cgi_response_parse(&p->r, s, strlen(s), &p->consumed);
	return p;
}

static void assert_span(const char *ptr, size_t len, const char *want)
{
	assert_non_null(ptr);
	assert_int_equal(len, strlen(want));
	assert_memory_equal(ptr, want, len);
}

static void assert_header(const struct fy_cgi_response *r, size_t i,
			  const char *name, const char *value)
{
	assert_true(i < r->n_headers);
	assert_span(r->headers[i].name, r->headers[i].name_len, name);
	assert_span(r->headers[i].value, r->headers[i].value_len, value);
}

static void test_php_default(void **state)
{
	const char *s = "X-Powered-By: PHP/8.2.36\r\n"
			"Content-type: text/html; charset=UTF-8\r\n"
			"\r\n"
			"Hello";
	struct parse *p = parse_all(s);

	(void)state;
	assert_int_equal(p->rc, FY_DONE);
	assert_int_equal(p->consumed, strlen(s) - 5);
	assert_int_equal(p->r.status, 200);
	assert_false(p->r.has_status);
	assert_null(p->r.reason);
	assert_null(p->r.location);
	assert_false(p->r.local_redirect);
	assert_int_equal(p->r.content_length, -1);
	assert_int_equal(p->r.n_headers, 2);
	assert_header(&p->r, 0, "X-Powered-By", "PHP/8.2.36");
	assert_header(&p->r, 1, "Content-type", "text/html; charset=UTF-8");
	free(p);
}

static void test_status(void **state)
{
	struct parse *p;

	(void)state;
	p = parse_all(
	    "Status: 404 Not Found\r\nContent-type: text/html\r\n\r\n");
	assert_int_equal(p->rc, FY_DONE);
	assert_int_equal(p->r.status, 404);
	assert_true(p->r.has_status);
	assert_span(p->r.reason, p->r.reason_len, "Not Found");
	assert_int_equal(p->r.n_headers, 1);
	assert_header(&p->r, 0, "Content-type", "text/html");
	free(p);

	p = parse_all("status:503\n\n");
	assert_int_equal(p->rc, FY_DONE);
	assert_int_equal(p->r.status, 503);
	assert_null(p->r.reason);
	assert_int_equal(p->r.n_headers, 0);
	free(p);

	p = parse_all("STATUS: 299 Custom  Words \r\n\r\n");
	assert_int_equal(p->rc, FY_DONE);
	assert_int_equal(p->r.status, 299);
	assert_span(p->r.reason, p->r.reason_len, "Custom  Words");
	free(p);

	/* Status beats Location for the code. */
	p = parse_all(
	    "Status: 301 Moved Permanently\r\nLocation: /new\r\n\r\n");
	assert_int_equal(p->r.status, 301);
	assert_false(p->r.local_redirect);
	assert_span(p->r.location, p->r.location_len, "/new");
	assert_header(&p->r, 0, "Location", "/new");
	free(p);
}

static void test_bad_status(void **state)
{
	static const char *const bad[] = {
	    "Status:\r\n\r\n",
	    "Status: 4044\r\n\r\n",
	    "Status: 404Not Found\r\n\r\n",
	    "Status: 40\r\n\r\n",
	    "Status: abc\r\n\r\n",
	    "Status: 4x4 Bad\r\n\r\n",
	    "Status: 099 Low\r\n\r\n",
	    "Status: 100 Continue\r\n\r\n",
	    "Status: 600 High\r\n\r\n",
	    "Status: -20 Neg\r\n\r\n",
	    "Status: 200 OK\r\nStatus: 404 Not Found\r\n\r\n",
	};

	(void)state;
	for (size_t i = 0; i < FY_ARRAY_SIZE(bad); i++) {
		struct parse *p = parse_all(bad[i]);

		assert_int_equal(p->rc, FY_ERROR);
		assert_int_equal(p->r.error, FY_CGI_RESPONSE_BAD_STATUS);
		free(p);
	}
}

static void test_location(void **state)
{
	struct parse *p;

	(void)state;
	/* Absolute URI without Status: a client redirect. */
	p = parse_all("Location: https://example.com/x\r\n\r\n");
	assert_int_equal(p->rc, FY_DONE);
	assert_int_equal(p->r.status, 302);
	assert_false(p->r.local_redirect);
	assert_header(&p->r, 0, "Location", "https://example.com/x");
	free(p);

	/* Local path without Status: RFC 3875 local redirect. */
	p = parse_all("Location: /other.php?a=1\r\n\r\n");
	assert_int_equal(p->r.status, 302);
	assert_true(p->r.local_redirect);
	assert_span(p->r.location, p->r.location_len, "/other.php?a=1");
	free(p);

	p = parse_all("Location: /\n\n");
	assert_true(p->r.local_redirect);
	free(p);

	/* A network-path reference names another host: never local. */
	p = parse_all("Location: //evil.example/x\r\n\r\n");
	assert_int_equal(p->r.status, 302);
	assert_false(p->r.local_redirect);
	free(p);

	/* What PHP sends for header("Location: /x"): no local redirect. */
	p = parse_all("Status: 302 Found\r\nLocation: /x\r\n\r\n");
	assert_int_equal(p->r.status, 302);
	assert_false(p->r.local_redirect);
	free(p);

	p = parse_all("Status: 200\r\nLocation: /x\r\n\r\n");
	assert_int_equal(p->r.status, 200);
	assert_false(p->r.local_redirect);
	free(p);

	/* Relative reference: a client redirect, not local. */
	p = parse_all("Location: other.php\r\n\r\n");
	assert_int_equal(p->r.status, 302);
	assert_false(p->r.local_redirect);
	free(p);

	p = parse_all("Location:\r\n\r\n");
	assert_int_equal(p->rc, FY_ERROR);
	assert_int_equal(p->r.error, FY_CGI_RESPONSE_BAD_LOCATION);
	free(p);

	p = parse_all("Location: /a\r\nLocation: /b\r\n\r\n");
	assert_int_equal(p->rc, FY_ERROR);
	assert_int_equal(p->r.error, FY_CGI_RESPONSE_BAD_LOCATION);
	free(p);
}

static void test_dropped_and_reported(void **state)
{
	const char *s = "Connection: close\r\n"
			"keep-alive: timeout=5\r\n"
			"Proxy-Connection: keep-alive\r\n"
			"TRANSFER-ENCODING: chunked\r\n"
			"TE: trailers\r\n"
			"Trailer: X-Sum\r\n"
			"Upgrade: h2c\r\n"
			"Content-Length: 12\r\n"
			"X-Sendfile: /srv/files/big.iso\r\n"
			"X-Accel-Redirect: /protected/big.iso\r\n"
			"Set-Cookie: a=1\r\n"
			"Set-Cookie: b=2\r\n"
			"Cache-Control: no-store\r\n"
			"\r\n";
	struct parse *p = parse_all(s);

	(void)state;
	assert_int_equal(p->rc, FY_DONE);
	assert_int_equal(p->consumed, strlen(s));
	assert_int_equal(p->r.content_length, 12);
	assert_span(p->r.x_sendfile, p->r.x_sendfile_len, "/srv/files/big.iso");
	assert_span(p->r.x_accel_redirect, p->r.x_accel_redirect_len,
		    "/protected/big.iso");
	assert_int_equal(p->r.n_headers, 3);
	assert_header(&p->r, 0, "Set-Cookie", "a=1");
	assert_header(&p->r, 1, "Set-Cookie", "b=2");
	assert_header(&p->r, 2, "Cache-Control", "no-store");
	free(p);
}

static void test_content_length(void **state)
{
	static const char *const bad[] = {
	    "Content-Length:\r\n\r\n",
	    "Content-Length: 5x\r\n\r\n",
	    "Content-Length: -1\r\n\r\n",
	    "Content-Length: +5\r\n\r\n",
	    "Content-Length: 5, 5\r\n\r\n",
	    "Content-Length: 1234567890123456789\r\n\r\n",
	    "Content-Length: 5\r\nContent-Length: 6\r\n\r\n",
	};
	struct parse *p;

	(void)state;
	p = parse_all("Content-Length: 5\r\ncontent-length: 5\r\n\r\n");
	assert_int_equal(p->rc, FY_DONE);
	assert_int_equal(p->r.content_length, 5);
	assert_int_equal(p->r.n_headers, 0);
	free(p);

	p = parse_all("Content-Length: 0\r\n\r\n");
	assert_int_equal(p->r.content_length, 0);
	free(p);

	for (size_t i = 0; i < FY_ARRAY_SIZE(bad); i++) {
		p = parse_all(bad[i]);
		assert_int_equal(p->rc, FY_ERROR);
		assert_int_equal(p->r.error, FY_CGI_RESPONSE_BAD_LENGTH);
		free(p);
	}
}

static void test_line_endings_and_values(void **state)
{
	const char *s = "A: 1\n"
			"B:2\r\n"
			"C: \t spaced \t \r\n"
			"D:\n"
			"E: caf\xc3\xa9 \"q\" tab\there\n"
			"\n";
	struct parse *p = parse_all(s);

	(void)state;
	assert_int_equal(p->rc, FY_DONE);
	assert_int_equal(p->consumed, strlen(s));
	assert_int_equal(p->r.n_headers, 5);
	assert_header(&p->r, 0, "A", "1");
	assert_header(&p->r, 1, "B", "2");
	assert_header(&p->r, 2, "C", "spaced");
	assert_header(&p->r, 3, "D", "");
	assert_header(&p->r, 4, "E", "caf\xc3\xa9 \"q\" tab\there");
	free(p);

	/* The block may be empty, and the body may be empty. */
	p = parse_all("\r\nbody");
	assert_int_equal(p->rc, FY_DONE);
	assert_int_equal(p->consumed, 2);
	assert_int_equal(p->r.status, 200);
	assert_int_equal(p->r.n_headers, 0);
	free(p);

	p = parse_all("\n");
	assert_int_equal(p->rc, FY_DONE);
	assert_int_equal(p->consumed, 1);
	free(p);
}

static void test_malformed(void **state)
{
	static const struct {
		const char *s;
		size_t len;
	} bad[] = {
#define B(x) {x, sizeof(x) - 1}
	    B("no colon here\r\n\r\n"),	   B("Name : value\r\n\r\n"),
	    B(": value\r\n\r\n"),	   B("Na me: value\r\n\r\n"),
	    B("Name(x): value\r\n\r\n"),   B("A: 1\r\n folded\r\n\r\n"),
	    B("A: 1\r\n\tfolded\r\n\r\n"), B("A: b\rc\r\n\r\n"),
	    B("A: b\r\r\n\r\n"),	   B("A: b\0c\r\n\r\n"),
	    B("A\0: b\r\n\r\n"),	   B("A: \x01\r\n\r\n"),
	    B("A: \x7f\r\n\r\n"),	   B("\r\r\n\r\n"),
	    B("HTTP/1.1 200 OK\r\n\r\n"),  B("Hello world\n\n"),
#undef B
	};

	(void)state;
	for (size_t i = 0; i < FY_ARRAY_SIZE(bad); i++) {
		struct parse *p = calloc(1, sizeof(*p));

		assert_non_null(p);
		fy_cgi_response_init(&p->r, p->buf, CAP, p->headers,
				     MAX_HEADERS);
		p->rc = fy_cgi_response_parse(&p->r, bad[i].s, bad[i].len,
					      &p->consumed);
		assert_int_equal(p->rc, FY_ERROR);
		assert_int_equal(p->r.error, FY_CGI_RESPONSE_MALFORMED);
		assert_string_not_equal(fy_cgi_response_strerror(p->r.error),
					"unknown error");
		free(p);
	}
}

/* A realistic block, fed in two and three pieces cut everywhere. */
static const char split_input[] = "Status: 201 Created\r\n"
				  "X-Powered-By: PHP/8.2.36\r\n"
				  "Location: /items/7\n"
				  "Connection: close\r\n"
				  "Set-Cookie: PHPSESSID=abc; path=/\r\n"
				  "Content-Length: 4\r\n"
				  "Content-type: application/json\r\n"
				  "\r\n"
				  "{\"a\"";

static void check_split_result(const struct parse *p)
{
	assert_int_equal(p->rc, FY_DONE);
	assert_int_equal(p->consumed, sizeof(split_input) - 1 - 4);
	assert_int_equal(p->r.status, 201);
	assert_span(p->r.reason, p->r.reason_len, "Created");
	assert_span(p->r.location, p->r.location_len, "/items/7");
	assert_false(p->r.local_redirect);
	assert_int_equal(p->r.content_length, 4);
	assert_int_equal(p->r.n_headers, 4);
	assert_header(&p->r, 0, "X-Powered-By", "PHP/8.2.36");
	assert_header(&p->r, 1, "Location", "/items/7");
	assert_header(&p->r, 2, "Set-Cookie", "PHPSESSID=abc; path=/");
	assert_header(&p->r, 3, "Content-type", "application/json");
}

/* Feeds in[0..len) as a separate exact-size copy, then scribbles over it so
 * that results pointing into the input instead of buf would show. */
static void feed_piece(struct parse *p, const char *in, size_t len)
{
	char *copy;
	size_t used = 0;

	if (p->rc != FY_AGAIN)
		return;
	copy = malloc(len ? len : 1);
	assert_non_null(copy);
	memcpy(copy, in, len);
	p->rc = fy_cgi_response_parse(&p->r, copy, len, &used);
	assert_true(used <= len);
	if (p->rc == FY_AGAIN)
		assert_int_equal(used, len);
	p->consumed += used;
	memset(copy, '#', len);
	free(copy);
}

static void test_every_split(void **state)
{
	size_t len = sizeof(split_input) - 1;
	struct parse *p = malloc(sizeof(*p));

	(void)state;
	assert_non_null(p);
	for (size_t i = 0; i <= len; i++) {
		for (size_t j = i; j <= len; j++) {
			memset(p, 0, sizeof(*p));
			fy_cgi_response_init(&p->r, p->buf, CAP, p->headers,
					     MAX_HEADERS);
			p->rc = FY_AGAIN;
			feed_piece(p, split_input, i);
			feed_piece(p, split_input + i, j - i);
			feed_piece(p, split_input + j, len - j);
			check_split_result(p);
		}
	}
	/* One byte at a time. */
	memset(p, 0, sizeof(*p));
	fy_cgi_response_init(&p->r, p->buf, CAP, p->headers, MAX_HEADERS);
	p->rc = FY_AGAIN;
	for (size_t i = 0; i < len; i++)
		feed_piece(p, split_input + i, 1);
	check_split_result(p);
	free(p);
}

static void test_after_done_and_error(void **state)
{
	struct parse *p = parse_all("A: 1\r\n\r\nbody");
	size_t used = 99;

	(void)state;
	assert_int_equal(p->rc, FY_DONE);
	assert_int_equal(fy_cgi_response_parse(&p->r, "B: 2\r\n\r\n", 8, &used),
			 FY_DONE);
	assert_int_equal(used, 0);
	assert_int_equal(p->r.n_headers, 1);
	free(p);

	p = parse_all("bad\r\n");
	assert_int_equal(p->rc, FY_ERROR);
	used = 99;
	assert_int_equal(fy_cgi_response_parse(&p->r, "\r\n", 2, &used),
			 FY_ERROR);
	assert_int_equal(used, 0);
	free(p);
}

static void test_size_cap(void **state)
{
	/* 14 + 14 + 2 = 30 bytes. */
	const char *s = "A: 123456789\r\nB: 123456789\r\n\r\nbody";
	struct fy_http_header headers[4];
	struct fy_cgi_response r;
	char buf[64];
	size_t used = 0;

	(void)state;
	fy_cgi_response_init(&r, buf, 30, headers, 4);
	assert_int_equal(fy_cgi_response_parse(&r, s, strlen(s), &used),
			 FY_DONE);
	assert_int_equal(used, 30);

	fy_cgi_response_init(&r, buf, 29, headers, 4);
	assert_int_equal(fy_cgi_response_parse(&r, s, strlen(s), &used),
			 FY_ERROR);
	assert_int_equal(r.error, FY_CGI_RESPONSE_TOO_BIG);
	assert_int_equal(used, 28);

	/* Detected before the line ends: a backend that never sends LF
	 * cannot make the parser wait forever. */
	fy_cgi_response_init(&r, buf, 10, headers, 4);
	assert_int_equal(fy_cgi_response_parse(&r, "X-Long: 12", 10, &used),
			 FY_AGAIN);
	assert_int_equal(fy_cgi_response_parse(&r, "3", 1, &used), FY_ERROR);
	assert_int_equal(r.error, FY_CGI_RESPONSE_TOO_BIG);

	/* Dropped fields count too. */
	fy_cgi_response_init(&r, buf, 20, headers, 4);
	assert_int_equal(
	    fy_cgi_response_parse(&r, "Connection: close, keep-alive\r\n\r\n",
				  33, &used),
	    FY_ERROR);
	assert_int_equal(r.error, FY_CGI_RESPONSE_TOO_BIG);
}

static void test_too_many(void **state)
{
	struct fy_http_header headers[2];
	struct fy_cgi_response r;
	char buf[128];
	size_t used = 0;
	const char *ok = "Status: 200\r\nA: 1\r\nB: 2\r\nConnection: x\r\n\r\n";
	const char *bad = "A: 1\r\nB: 2\r\nC: 3\r\n\r\n";

	(void)state;
	/* Status and dropped fields take no slot. */
	fy_cgi_response_init(&r, buf, sizeof(buf), headers, 2);
	assert_int_equal(fy_cgi_response_parse(&r, ok, strlen(ok), &used),
			 FY_DONE);
	assert_int_equal(r.n_headers, 2);

	fy_cgi_response_init(&r, buf, sizeof(buf), headers, 2);
	assert_int_equal(fy_cgi_response_parse(&r, bad, strlen(bad), &used),
			 FY_ERROR);
	assert_int_equal(r.error, FY_CGI_RESPONSE_TOO_MANY);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_php_default),
	    cmocka_unit_test(test_status),
	    cmocka_unit_test(test_bad_status),
	    cmocka_unit_test(test_location),
	    cmocka_unit_test(test_dropped_and_reported),
	    cmocka_unit_test(test_content_length),
	    cmocka_unit_test(test_line_endings_and_values),
	    cmocka_unit_test(test_malformed),
	    cmocka_unit_test(test_every_split),
	    cmocka_unit_test(test_after_done_and_error),
	    cmocka_unit_test(test_size_cap),
	    cmocka_unit_test(test_too_many),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
