/*
 * test_http_parser.c - request head parser and framing checks.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include <cmocka.h>

#include "foyer/core.h"
#include "foyer/http.h"

static const struct fy_http_limits default_limits = {8190, 100, 8190};

struct parsed {
	struct fy_http_request_head req;
	struct fy_http_header headers[101];
	int status;
	int rc;
};

static int parse_lim(struct parsed *p, const char *buf, size_t len,
		     const struct fy_http_limits *lim)
{
	memset(p, 0, sizeof(*p));
	p->req.headers = p->headers;
	p->req.num_headers = FY_ARRAY_SIZE(p->headers);
	p->rc = fy_http_parse_request(buf, len, &p->req, lim, &p->status);
	return p->rc;
}

static int parse(struct parsed *p, const char *s)
{
	return parse_lim(p, s, strlen(s), &default_limits);
}

static void assert_span(const char *ptr, size_t len, const char *want)
{
	assert_non_null(ptr);
	assert_int_equal(len, strlen(want));
	assert_memory_equal(ptr, want, len);
}

static void assert_header(const struct parsed *p, size_t i, const char *name,
			  const char *value)
{
	assert_true(i < p->req.num_headers);
	assert_span(p->req.headers[i].name, p->req.headers[i].name_len, name);
	assert_span(p->req.headers[i].value, p->req.headers[i].value_len,
		    value);
}

/* Inputs with explicit lengths, so that NUL octets can be part of them. */
struct sample {
	const char *s;
	size_t len;
	int status; /* 0: valid, else the expected error */
};

#define VALID(str)                                                             \
	{                                                                      \
		str, sizeof(str) - 1, 0                                        \
	}
#define BAD(str, st)                                                           \
	{                                                                      \
		str, sizeof(str) - 1, st                                       \
	}

static const struct sample valid_samples[] = {
    VALID("GET / HTTP/1.1\r\nHost: a\r\n\r\n"),
    VALID("GET / HTTP/1.0\r\n\r\n"),
    VALID("POST /form HTTP/1.1\r\nHost: example.com\r\nContent-Length: "
	  "3\r\n\r\n"),
    VALID("OPTIONS * HTTP/1.1\r\nHost: a\r\n\r\n"),
    VALID("GET http://example.com:8080/a?b=c HTTP/1.1\r\nHost: "
	  "example.com:8080\r\n\r\n"),
    VALID("CONNECT example.com:443 HTTP/1.1\r\nHost: "
	  "example.com:443\r\n\r\n"),
    VALID("M-SEARCH * HTTP/1.1\r\nHost: a\r\n\r\n"),
    VALID("\r\n\r\nGET / HTTP/1.1\r\nHost: a\r\n\r\n"),
    VALID("GET /caf\xc3\xa9 HTTP/1.1\r\nHost: a\r\nX: \xff\x80 "
	  "obs\r\n\r\n"),
    VALID("GET / HTTP/1.1\r\nHost: a\r\nEmpty:\r\nSpaces:  \t \r\n"
	  "X-Y:\t v  w \t\r\n\r\n"),
    VALID("GET /?q=a%20b&x=!$&'()*+,;= HTTP/1.1\r\nhost:a\r\n\r\n"),
};

static const struct sample bad_samples[] = {
    BAD("GET  / HTTP/1.1\r\n\r\n", 400),
    BAD("GET /  HTTP/1.1\r\n\r\n", 400),
    BAD(" GET / HTTP/1.1\r\n\r\n", 400),
    BAD("G(T / HTTP/1.1\r\n\r\n", 400),
    BAD("GET\t/ HTTP/1.1\r\n\r\n", 400),
    BAD("/ HTTP/1.1\r\n\r\n", 400),
    BAD("GET /a\x01 HTTP/1.1\r\n\r\n", 400),
    BAD("GET /a\x7f HTTP/1.1\r\n\r\n", 400),
    BAD("GET /a\0b HTTP/1.1\r\n\r\n", 400),
    BAD("GET /\tx HTTP/1.1\r\n\r\n", 400),
    BAD("GET /\r\n\r\n", 400),
    BAD("GET / \r\n\r\n", 400),
    BAD("GET / HTTP/1.1 \r\n\r\n", 400),
    BAD("GET / HTTP/1.10\r\n\r\n", 400),
    BAD("GET / HTTP/11.1\r\n\r\n", 400),
    BAD("GET / http/1.1\r\n\r\n", 400),
    BAD("GET / HTTP/1,1\r\n\r\n", 400),
    BAD("GET / HTTP/1.x\r\n\r\n", 400),
    BAD("GET / HTTP/1.1\n\n", 400),
    BAD("GET / HTTP/1.1\rX\n\r\n", 400),
    BAD("GET / HTTP/1.1\r\nHost: a\n\r\n", 400),
    BAD("GET / HTTP/1.1\r\nHost: a\r\n\n", 400),
    BAD("GET / HTTP/1.1\r\nHost: a\r\n\rX", 400),
    BAD("GET / HTTP/1.1\r\nHost: a\rb\r\n\r\n", 400),
    BAD("GET / HTTP/1.1\r\n folded\r\n\r\n", 400),
    BAD("GET / HTTP/1.1\r\nHost: a\r\n b\r\n\r\n", 400),
    BAD("GET / HTTP/1.1\r\nHost: a\r\n\tb\r\n\r\n", 400),
    BAD("GET / HTTP/1.1\r\nHost : a\r\n\r\n", 400),
    BAD("GET / HTTP/1.1\r\nHost\t: a\r\n\r\n", 400),
    BAD("GET / HTTP/1.1\r\n: a\r\n\r\n", 400),
    BAD("GET / HTTP/1.1\r\nHo st: a\r\n\r\n", 400),
    BAD("GET / HTTP/1.1\r\nHo\x01st: a\r\n\r\n", 400),
    BAD("GET / HTTP/1.1\r\nHost\r\n\r\n", 400),
    BAD("GET / HTTP/1.1\r\nX: a\0b\r\n\r\n", 400),
    BAD("GET / HTTP/1.1\r\nX: a\x01\r\n\r\n", 400),
    BAD("GET / HTTP/1.1\r\nX: a\x7f\r\n\r\n", 400),
    BAD("GET / HTTP/1.1\r\nX: a\x1f\r\n\r\n", 400),
    BAD("GET / HTTP/1.1\r\n\0X: a\r\n\r\n", 400),
    BAD("\r\r\nGET / HTTP/1.1\r\n\r\n", 400),
    BAD("\nGET / HTTP/1.1\r\n\r\n", 400),
    BAD("GET / HTTP/2.0\r\n\r\n", 505),
    BAD("GET / HTTP/1.2\r\n\r\n", 505),
    BAD("GET / HTTP/0.9\r\n\r\n", 505),
    BAD("GET / HTTP/3.0\r\nHost: a\r\n\r\n", 505),
};

/* --- valid requests --- */

static void test_simple_get(void **state)
{
	static const char s[] = "GET /index.php?a=1 HTTP/1.1\r\n"
				"Host: example.com\r\n"
				"Accept: */*\r\n\r\n";
	struct parsed p;

	(void)state;
	assert_int_equal(parse(&p, s), (int)strlen(s));
	assert_span(p.req.method, p.req.method_len, "GET");
	assert_span(p.req.target, p.req.target_len, "/index.php?a=1");
	assert_int_equal(p.req.minor_version, 1);
	assert_span(p.req.request_line, p.req.request_line_len,
		    "GET /index.php?a=1 HTTP/1.1");
	assert_int_equal(p.req.num_headers, 2);
	assert_header(&p, 0, "Host", "example.com");
	assert_header(&p, 1, "Accept", "*/*");
	/* Outputs point into the input. */
	assert_ptr_equal(p.req.method, s);
	assert_ptr_equal(p.req.headers[0].name, s + 29);
}

static void test_methods(void **state)
{
	static const char *const methods[] = {
	    "GET",
	    "HEAD",
	    "POST",
	    "PUT",
	    "DELETE",
	    "OPTIONS",
	    "PATCH",
	    "CONNECT",
	    "TRACE",
	    "PROPFIND",
	    "M-SEARCH",
	    "x",
	    "!#$%&'*+-.^_`|~09azAZ",
	};
	char buf[128];

	(void)state;
	for (size_t i = 0; i < FY_ARRAY_SIZE(methods); i++) {
		struct parsed p;
		int n =
		    snprintf(buf, sizeof(buf),
			     "%s / HTTP/1.1\r\nHost: a\r\n\r\n", methods[i]);

		assert_int_equal(parse(&p, buf), n);
		assert_span(p.req.method, p.req.method_len, methods[i]);
	}
}

static void test_targets(void **state)
{
	static const char *const targets[] = {
	    "*",
	    "/",
	    "http://example.com:8080/a/b?c=d",
	    "https://[::1]:8443/",
	    "example.com:443",
	    "/a%20b?x=%00&y=\"q\"#frag",
	    "/\x80\xff",
	};
	char buf[256];

	(void)state;
	for (size_t i = 0; i < FY_ARRAY_SIZE(targets); i++) {
		struct parsed p;
		int n =
		    snprintf(buf, sizeof(buf),
			     "GET %s HTTP/1.1\r\nHost: a\r\n\r\n", targets[i]);

		assert_int_equal(parse(&p, buf), n);
		assert_span(p.req.target, p.req.target_len, targets[i]);
	}
}

static void test_http10_no_headers(void **state)
{
	struct parsed p;

	(void)state;
	assert_int_equal(parse(&p, "HEAD /x HTTP/1.0\r\n\r\n"), 20);
	assert_int_equal(p.req.minor_version, 0);
	assert_int_equal(p.req.num_headers, 0);
}

static void test_ows_trimming(void **state)
{
	struct parsed p;
	static const char s[] = "GET / HTTP/1.1\r\n"
				"A:b\r\n"
				"B:  two words \t \r\n"
				"C:\t\ttab\t\r\n"
				"D:\r\n"
				"E:   \t\r\n"
				"F: \xc3\xa9t\xe9 \r\n"
				"G: in\tner \r\n\r\n";

	(void)state;
	assert_int_equal(parse(&p, s), (int)strlen(s));
	assert_int_equal(p.req.num_headers, 7);
	assert_header(&p, 0, "A", "b");
	assert_header(&p, 1, "B", "two words");
	assert_header(&p, 2, "C", "tab");
	assert_header(&p, 3, "D", "");
	assert_header(&p, 4, "E", "");
	assert_header(&p, 5, "F", "\xc3\xa9t\xe9");
	assert_header(&p, 6, "G", "in\tner");
}

static void test_pipelined_not_consumed(void **state)
{
	static const char first[] = "GET /1 HTTP/1.1\r\nHost: a\r\n\r\n";
	static const char s[] = "GET /1 HTTP/1.1\r\nHost: a\r\n\r\n"
				"GET /2 HTTP/1.1\r\nHost: a\r\n\r\n";
	static const char body[] = "POST / HTTP/1.1\r\nHost: a\r\n"
				   "Content-Length: 5\r\n\r\nhello";
	struct parsed p;

	(void)state;
	assert_int_equal(parse(&p, s), (int)strlen(first));
	assert_span(p.req.target, p.req.target_len, "/1");
	assert_int_equal(parse(&p, s + strlen(first)), (int)strlen(first));
	assert_span(p.req.target, p.req.target_len, "/2");
	assert_int_equal(parse(&p, body), (int)strlen(body) - 5);
	/* Garbage after the head is not the parser's business. */
	assert_int_equal(parse(&p, "GET / HTTP/1.0\r\n\r\n\0\x01\n"), 18);
}

static void test_leading_empty_lines(void **state)
{
	char buf[1024];
	struct parsed p;
	size_t n = 0;

	(void)state;
	assert_int_equal(parse(&p, "\r\n\r\nGET / HTTP/1.0\r\n\r\n"), 22);
	assert_span(p.req.request_line, p.req.request_line_len,
		    "GET / HTTP/1.0");
	assert_int_equal(parse(&p, "\r\n\r\n"), FY_HTTP_INCOMPLETE);
	assert_int_equal(parse(&p, "\r\n\r"), FY_HTTP_INCOMPLETE);

	/* 256 empty lines are tolerated, 257 are not. */
	for (int i = 0; i < 256; i++) {
		memcpy(buf + n, "\r\n", 2);
		n += 2;
	}
	memcpy(buf + n, "GET / HTTP/1.0\r\n\r\n", 18);
	assert_int_equal(parse_lim(&p, buf, n + 18, &default_limits),
			 (int)n + 18);
	memmove(buf + 2, buf, n + 18);
	assert_int_equal(parse_lim(&p, buf, n + 20, &default_limits),
			 FY_HTTP_ERROR);
	assert_int_equal(p.status, 400);
	/* Refused as soon as the excess is seen, not after the head. */
	assert_int_equal(parse_lim(&p, buf, n + 2, &default_limits),
			 FY_HTTP_ERROR);
	assert_int_equal(p.status, 400);
}

static void test_incomplete_status_untouched_rc(void **state)
{
	struct parsed p;

	(void)state;
	assert_int_equal(parse(&p, ""), FY_HTTP_INCOMPLETE);
	assert_int_equal(parse(&p, "G"), FY_HTTP_INCOMPLETE);
	assert_int_equal(parse(&p, "GET / HTTP/1.1\r\nHost: a\r\n"),
			 FY_HTTP_INCOMPLETE);
	assert_int_equal(parse(&p, "GET / HTTP/1.1\r\nHost: a\r\n\r"),
			 FY_HTTP_INCOMPLETE);
}

/* --- errors --- */

static void test_error_statuses(void **state)
{
	(void)state;
	for (size_t i = 0; i < FY_ARRAY_SIZE(bad_samples); i++) {
		const struct sample *b = &bad_samples[i];
		struct parsed p;
		int rc = parse_lim(&p, b->s, b->len, &default_limits);

		if (rc != FY_HTTP_ERROR || p.status != b->status)
			fail_msg("sample %zu: rc %d status %d, want %d", i, rc,
				 p.status, b->status);
	}
}

/* Every prefix of a valid head is incomplete, then the whole gives the same
 * result as in one piece; every prefix of a bad one is incomplete or already
 * the same error. */
static void test_every_split_point(void **state)
{
	(void)state;
	for (size_t i = 0; i < FY_ARRAY_SIZE(valid_samples); i++) {
		const struct sample *v = &valid_samples[i];
		struct parsed whole, part;

		assert_int_equal(
		    parse_lim(&whole, v->s, v->len, &default_limits),
		    (int)v->len);
		for (size_t k = 0; k < v->len; k++)
			if (parse_lim(&part, v->s, k, &default_limits) !=
			    FY_HTTP_INCOMPLETE)
				fail_msg("valid %zu cut at %zu: rc %d", i, k,
					 part.rc);
		assert_int_equal(
		    parse_lim(&part, v->s, v->len, &default_limits),
		    (int)v->len);
		assert_int_equal(part.req.num_headers, whole.req.num_headers);
		assert_ptr_equal(part.req.target, whole.req.target);
		for (size_t h = 0; h < whole.req.num_headers; h++) {
			assert_ptr_equal(part.headers[h].value,
					 whole.headers[h].value);
			assert_int_equal(part.headers[h].value_len,
					 whole.headers[h].value_len);
		}
	}
	for (size_t i = 0; i < FY_ARRAY_SIZE(bad_samples); i++) {
		const struct sample *b = &bad_samples[i];

		for (size_t k = 0; k < b->len; k++) {
			struct parsed p;
			int rc = parse_lim(&p, b->s, k, &default_limits);

			if (rc != FY_HTTP_INCOMPLETE &&
			    !(rc == FY_HTTP_ERROR && p.status == b->status))
				fail_msg("bad %zu cut at %zu: rc %d status %d",
					 i, k, rc, p.status);
		}
	}
}

/* A bad octet is found wherever it sits in a long target or value, and
 * obs-text or HTAB there is not mistaken for one. */
static void test_octet_at_every_position(void **state)
{
	static const unsigned char bad_target[] = {0x00, 0x01, 0x09,
						   0x1f, 0x20, 0x7f};
	static const unsigned char bad_value[] = {0x00, 0x01, 0x0a, 0x1f, 0x7f};
	static const unsigned char good[] = {0x21, 0x7e, 0x80, 0xa0, 0xff};
	char buf[256];
	struct parsed p;

	(void)state;
	for (size_t pos = 0; pos < 40; pos++) {
		size_t n = (size_t)snprintf(buf, sizeof(buf), "GET /");
		size_t at = n + pos;

		memset(buf + n, 'a', 48);
		n += 48;
		n += (size_t)snprintf(buf + n, sizeof(buf) - n,
				      " HTTP/1.0\r\n\r\n");
		for (size_t i = 0; i < FY_ARRAY_SIZE(bad_target); i++) {
			buf[at] = (char)bad_target[i];
			assert_int_equal(parse_lim(&p, buf, n, &default_limits),
					 FY_HTTP_ERROR);
			assert_int_equal(p.status, 400);
		}
		for (size_t i = 0; i < FY_ARRAY_SIZE(good); i++) {
			buf[at] = (char)good[i];
			assert_int_equal(parse_lim(&p, buf, n, &default_limits),
					 (int)n);
			assert_int_equal(p.req.target_len, 49);
		}

		n = (size_t)snprintf(buf, sizeof(buf), "GET / HTTP/1.0\r\nX: ");
		at = n + pos;
		memset(buf + n, 'v', 48);
		n += 48;
		n += (size_t)snprintf(buf + n, sizeof(buf) - n, "\r\n\r\n");
		for (size_t i = 0; i < FY_ARRAY_SIZE(bad_value); i++) {
			buf[at] = (char)bad_value[i];
			assert_int_equal(parse_lim(&p, buf, n, &default_limits),
					 FY_HTTP_ERROR);
			assert_int_equal(p.status, 400);
		}
		for (size_t i = 0; i < FY_ARRAY_SIZE(good); i++) {
			buf[at] = (char)good[i];
			assert_int_equal(parse_lim(&p, buf, n, &default_limits),
					 (int)n);
			assert_int_equal(p.headers[0].value_len, 48);
		}
		buf[at] = '\t';
		assert_int_equal(parse_lim(&p, buf, n, &default_limits),
				 (int)n);
		assert_int_equal(p.headers[0].value_len, pos == 0 ? 47 : 48);
	}
}

/* --- limits --- */

static void test_request_line_limit(void **state)
{
	/* "GET /aaaaaaaaaaaa HTTP/1.0" is 3 + 1 + 13 + 1 + 8 = 26 bytes. */
	static const char ok10[] = "GET /aaaaaaaaaaaa HTTP/1.0\r\n\r\n";
	static const char over10[] = "GET /aaaaaaaaaaaaa HTTP/1.0\r\n\r\n";
	const struct fy_http_limits lim = {26, 10, 100};
	struct parsed p;

	(void)state;
	assert_int_equal(parse_lim(&p, ok10, strlen(ok10), &lim),
			 (int)strlen(ok10));
	assert_int_equal(p.req.request_line_len, 26);
	assert_int_equal(parse_lim(&p, over10, strlen(over10), &lim),
			 FY_HTTP_ERROR);
	assert_int_equal(p.status, 414);

	/* While incomplete: 26 bytes and a CR may still be a good line... */
	assert_int_equal(parse_lim(&p, ok10, 27, &lim), FY_HTTP_INCOMPLETE);
	assert_int_equal(parse_lim(&p, ok10, 26, &lim), FY_HTTP_INCOMPLETE);
	/* ...but 27 bytes of line without its end cannot be. */
	assert_int_equal(parse_lim(&p, over10, 27, &lim), FY_HTTP_ERROR);
	assert_int_equal(p.status, 414);
	assert_int_equal(
	    parse_lim(&p, "GETGETGETGETGETGETGETGETGETGET", 27, &lim),
	    FY_HTTP_ERROR);
	assert_int_equal(p.status, 414);
	assert_int_equal(
	    parse_lim(&p, "GET /aaaaaaaaaaaaaaaaaaaaaaaaaa", 27, &lim),
	    FY_HTTP_ERROR);
	assert_int_equal(p.status, 414);
	assert_int_equal(
	    parse_lim(&p, "GET /aaaaaaaaaaaaaaaaaaaaaaaaa", 26, &lim),
	    FY_HTTP_INCOMPLETE);
	/* Leading empty lines do not count toward the line. */
	assert_int_equal(parse_lim(&p,
				   "\r\n\r\nGET /aaaaaaaaaaaa HTTP/1.0\r\n\r\n",
				   34, &lim),
			 34);
}

static void test_field_count_limit(void **state)
{
	static const char three[] =
	    "GET / HTTP/1.0\r\nA: 1\r\nB: 2\r\nC: 3\r\n\r\n";
	static const char four[] = "GET / HTTP/1.0\r\nA: 1\r\nB: 2\r\nC: 3\r\n"
				   "D: 4\r\n\r\n";
	const struct fy_http_limits lim = {100, 3, 100};
	struct parsed p;

	(void)state;
	assert_int_equal(parse_lim(&p, three, strlen(three), &lim),
			 (int)strlen(three));
	assert_int_equal(p.req.num_headers, 3);
	assert_int_equal(parse_lim(&p, four, strlen(four), &lim),
			 FY_HTTP_ERROR);
	assert_int_equal(p.status, 431);
	/* Known as soon as the fourth field starts. */
	assert_int_equal(parse_lim(&p, four, strlen(three) - 2, &lim),
			 FY_HTTP_INCOMPLETE);
	assert_int_equal(parse_lim(&p, four, strlen(three) - 1, &lim),
			 FY_HTTP_ERROR);
	assert_int_equal(p.status, 431);
}

static void test_field_count_capacity(void **state)
{
	static const char s[] =
	    "GET / HTTP/1.0\r\nA: 1\r\nB: 2\r\nC: 3\r\n\r\n";
	struct fy_http_header h[3];
	struct fy_http_request_head req = {.headers = h, .num_headers = 2};
	int status = 0;

	(void)state;
	/* A caller error, but it must not write past the array. */
	assert_int_equal(
	    fy_http_parse_request(s, strlen(s), &req, &default_limits, &status),
	    FY_HTTP_ERROR);
	assert_int_equal(status, 431);
}

static void test_field_size_limit(void **state)
{
	/* "X-Field: 0123456" is 16 bytes. */
	static const char ok[] = "GET / HTTP/1.0\r\nX-Field: 0123456\r\n\r\n";
	static const char over[] =
	    "GET / HTTP/1.0\r\nX-Field: 01234567\r\n\r\n";
	static const char name_over[] = "GET / HTTP/1.0\r\nX-Field-Long-Nam: "
					"\r\n\r\n";
	const struct fy_http_limits lim = {100, 10, 16};
	struct parsed p;

	(void)state;
	assert_int_equal(parse_lim(&p, ok, strlen(ok), &lim), (int)strlen(ok));
	assert_header(&p, 0, "X-Field", "0123456");
	assert_int_equal(parse_lim(&p, over, strlen(over), &lim),
			 FY_HTTP_ERROR);
	assert_int_equal(p.status, 431);
	assert_int_equal(parse_lim(&p, name_over, strlen(name_over), &lim),
			 FY_HTTP_ERROR);
	assert_int_equal(p.status, 431);
	/* While incomplete: 16 bytes and a CR may still end well... */
	assert_int_equal(parse_lim(&p, ok, 16 + 17, &lim), FY_HTTP_INCOMPLETE);
	assert_int_equal(parse_lim(&p, ok, 16 + 16, &lim), FY_HTTP_INCOMPLETE);
	/* ...17 bytes of one field cannot. */
	assert_int_equal(parse_lim(&p, over, 16 + 17, &lim), FY_HTTP_ERROR);
	assert_int_equal(p.status, 431);
	/* Trailing OWS counts toward the line as sent. */
	assert_int_equal(
	    parse_lim(&p, "GET / HTTP/1.0\r\nX-Field: 012345  \r\n\r\n", 36,
		      &lim),
	    FY_HTTP_ERROR);
	assert_int_equal(p.status, 431);
}

/* --- framing --- */

static int framing(const char *s, struct fy_http_framing *f)
{
	static struct parsed p;
	int rc = parse(&p, s);

	assert_int_equal(rc, (int)strlen(s));
	return fy_http_check_framing(&p.req, f);
}

static void test_framing_defaults(void **state)
{
	struct fy_http_framing f;

	(void)state;
	assert_int_equal(
	    framing("GET / HTTP/1.1\r\nHost: ex.org:81\r\n\r\n", &f), 0);
	assert_int_equal(f.content_length, -1);
	assert_int_equal(f.chunked, 0);
	assert_int_equal(f.keep_alive, 1);
	assert_int_equal(f.expect_continue, 0);
	assert_span(f.host, f.host_len, "ex.org:81");

	assert_int_equal(framing("GET / HTTP/1.0\r\n\r\n", &f), 0);
	assert_int_equal(f.keep_alive, 0);
	assert_null(f.host);
	assert_int_equal(f.host_len, 0);
}

static void test_framing_host_syntax(void **state)
{
	static const char *const good[] = {
	    "example.com", "EXAMPLE.com:8080", "[::1]:80", "127.0.0.1",
	    "a-b_c~d.example", "xn--bcher-kva.example", "",
	};
	static const char *const bad[] = {
	    "a b", "a/b", "a\\b", "user@host", "host?x", "host#x", "\"q\"",
	    "<x>",
	};
	struct fy_http_framing f;
	char req[256];

	(void)state;
	for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
		snprintf(req, sizeof(req), "GET / HTTP/1.1\r\nHost: %s\r\n\r\n",
			 good[i]);
		if (framing(req, &f) != 0)
			fail_msg("Host \"%s\" refused", good[i]);
	}
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		snprintf(req, sizeof(req), "GET / HTTP/1.1\r\nHost: %s\r\n\r\n",
			 bad[i]);
		if (framing(req, &f) != 400)
			fail_msg("Host \"%s\" accepted", bad[i]);
	}
}

static void test_framing_content_length(void **state)
{
	struct fy_http_framing f;

	(void)state;
	assert_int_equal(framing("POST / HTTP/1.1\r\nHost: a\r\n"
				 "content-length: 42\r\n\r\n",
				 &f),
			 0);
	assert_int_equal(f.content_length, 42);
	assert_int_equal(framing("POST / HTTP/1.1\r\nHost: a\r\n"
				 "Content-Length: 0\r\n\r\n",
				 &f),
			 0);
	assert_int_equal(f.content_length, 0);
	assert_int_equal(framing("POST / HTTP/1.1\r\nHost: a\r\n"
				 "Content-Length: 9223372036854775807\r\n\r\n",
				 &f),
			 0);
	assert_int_equal(f.content_length, INT64_MAX);
	assert_int_equal(framing("POST / HTTP/1.1\r\nHost: a\r\n"
				 "Content-Length: 9223372036854775808\r\n\r\n",
				 &f),
			 400);
	assert_int_equal(
	    framing("POST / HTTP/1.1\r\nHost: a\r\n"
		    "Content-Length: 99999999999999999999999\r\n\r\n",
		    &f),
	    400);
	assert_int_equal(framing("POST / HTTP/1.1\r\nHost: a\r\n"
				 "Content-Length: 5, 5\r\n\r\n",
				 &f),
			 400);
	assert_int_equal(
	    framing("POST / HTTP/1.1\r\nHost: a\r\n"
		    "Content-Length: 5\r\nContent-Length: 5\r\n\r\n",
		    &f),
	    400);
	assert_int_equal(
	    framing("POST / HTTP/1.1\r\nHost: a\r\n"
		    "Content-Length: 5\r\nContent-Length: 6\r\n\r\n",
		    &f),
	    400);
	assert_int_equal(framing("POST / HTTP/1.1\r\nHost: a\r\n"
				 "Content-Length: -1\r\n\r\n",
				 &f),
			 400);
	assert_int_equal(framing("POST / HTTP/1.1\r\nHost: a\r\n"
				 "Content-Length: +1\r\n\r\n",
				 &f),
			 400);
	assert_int_equal(framing("POST / HTTP/1.1\r\nHost: a\r\n"
				 "Content-Length: 0x10\r\n\r\n",
				 &f),
			 400);
	assert_int_equal(framing("POST / HTTP/1.1\r\nHost: a\r\n"
				 "Content-Length:\r\n\r\n",
				 &f),
			 400);
	assert_int_equal(framing("POST / HTTP/1.1\r\nHost: a\r\n"
				 "Content-Length: 1 2\r\n\r\n",
				 &f),
			 400);
}

static void test_framing_transfer_encoding(void **state)
{
	struct fy_http_framing f;

	(void)state;
	assert_int_equal(framing("POST / HTTP/1.1\r\nHost: a\r\n"
				 "Transfer-Encoding: chunked\r\n\r\n",
				 &f),
			 0);
	assert_int_equal(f.chunked, 1);
	assert_int_equal(f.content_length, -1);
	assert_int_equal(framing("POST / HTTP/1.1\r\nHost: a\r\n"
				 "transfer-encoding: CHUNKED\r\n\r\n",
				 &f),
			 0);
	assert_int_equal(f.chunked, 1);
	/* Empty list elements are allowed. */
	assert_int_equal(framing("POST / HTTP/1.1\r\nHost: a\r\n"
				 "Transfer-Encoding: , chunked ,\r\n\r\n",
				 &f),
			 0);
	assert_int_equal(f.chunked, 1);

	/* CL + TE is the classic smuggling shape. */
	assert_int_equal(framing("POST / HTTP/1.1\r\nHost: a\r\n"
				 "Content-Length: 4\r\n"
				 "Transfer-Encoding: chunked\r\n\r\n",
				 &f),
			 400);
	assert_int_equal(framing("POST / HTTP/1.1\r\nHost: a\r\n"
				 "Transfer-Encoding: chunked\r\n"
				 "Content-Length: 4\r\n\r\n",
				 &f),
			 400);
	assert_int_equal(framing("POST / HTTP/1.1\r\nHost: a\r\n"
				 "Transfer-Encoding: chunked, chunked\r\n\r\n",
				 &f),
			 400);
	assert_int_equal(framing("POST / HTTP/1.1\r\nHost: a\r\n"
				 "Transfer-Encoding: chunked\r\n"
				 "Transfer-Encoding: chunked\r\n\r\n",
				 &f),
			 400);
	assert_int_equal(framing("POST / HTTP/1.1\r\nHost: a\r\n"
				 "Transfer-Encoding: chunked, gzip\r\n\r\n",
				 &f),
			 400);
	assert_int_equal(framing("POST / HTTP/1.1\r\nHost: a\r\n"
				 "Transfer-Encoding: chunked\r\n"
				 "Transfer-Encoding: gzip\r\n\r\n",
				 &f),
			 400);
	assert_int_equal(framing("POST / HTTP/1.1\r\nHost: a\r\n"
				 "Transfer-Encoding: gzip\r\n\r\n",
				 &f),
			 501);
	assert_int_equal(framing("POST / HTTP/1.1\r\nHost: a\r\n"
				 "Transfer-Encoding: gzip, chunked\r\n\r\n",
				 &f),
			 501);
	assert_int_equal(framing("POST / HTTP/1.1\r\nHost: a\r\n"
				 "Transfer-Encoding: gzip\r\n"
				 "Transfer-Encoding: chunked\r\n\r\n",
				 &f),
			 501);
	assert_int_equal(framing("POST / HTTP/1.1\r\nHost: a\r\n"
				 "Transfer-Encoding: chunkedx\r\n\r\n",
				 &f),
			 501);
	assert_int_equal(framing("POST / HTTP/1.1\r\nHost: a\r\n"
				 "Transfer-Encoding:\r\n\r\n",
				 &f),
			 400);
	assert_int_equal(framing("POST / HTTP/1.1\r\nHost: a\r\n"
				 "Transfer-Encoding: \"chunked\"\r\n\r\n",
				 &f),
			 400);
	assert_int_equal(framing("POST / HTTP/1.1\r\nHost: a\r\n"
				 "Transfer-Encoding: chunked x\r\n\r\n",
				 &f),
			 400);
	assert_int_equal(framing("POST / HTTP/1.0\r\n"
				 "Transfer-Encoding: chunked\r\n\r\n",
				 &f),
			 400);
}

static void test_framing_host(void **state)
{
	struct fy_http_framing f;

	(void)state;
	assert_int_equal(framing("GET / HTTP/1.1\r\n\r\n", &f), 400);
	assert_int_equal(
	    framing("GET / HTTP/1.1\r\nHost: a\r\nHost: a\r\n\r\n", &f), 400);
	assert_int_equal(
	    framing("GET / HTTP/1.0\r\nHost: a\r\nhost: b\r\n\r\n", &f), 400);
	/* An empty Host is allowed (RFC 9112 3.2). */
	assert_int_equal(framing("GET / HTTP/1.1\r\nHost:\r\n\r\n", &f), 0);
	assert_non_null(f.host);
	assert_int_equal(f.host_len, 0);
	assert_int_equal(framing("GET / HTTP/1.0\r\nHOST: b\r\n\r\n", &f), 0);
	assert_span(f.host, f.host_len, "b");
}

static void test_framing_keep_alive(void **state)
{
	struct fy_http_framing f;

	(void)state;
	assert_int_equal(framing("GET / HTTP/1.1\r\nHost: a\r\n"
				 "Connection: close\r\n\r\n",
				 &f),
			 0);
	assert_int_equal(f.keep_alive, 0);
	assert_int_equal(framing("GET / HTTP/1.1\r\nHost: a\r\n"
				 "Connection: Upgrade, CLOSE\r\n\r\n",
				 &f),
			 0);
	assert_int_equal(f.keep_alive, 0);
	assert_int_equal(framing("GET / HTTP/1.1\r\nHost: a\r\n"
				 "Connection: closed\r\n\r\n",
				 &f),
			 0);
	assert_int_equal(f.keep_alive, 1);
	assert_int_equal(framing("GET / HTTP/1.1\r\nHost: a\r\n"
				 "Connection: keep-alive\r\n\r\n",
				 &f),
			 0);
	assert_int_equal(f.keep_alive, 1);
	assert_int_equal(framing("GET / HTTP/1.0\r\n"
				 "Connection: Keep-Alive\r\n\r\n",
				 &f),
			 0);
	assert_int_equal(f.keep_alive, 1);
	assert_int_equal(
	    framing("GET / HTTP/1.0\r\n"
		    "Connection: te\r\nConnection: keep-alive\r\n\r\n",
		    &f),
	    0);
	assert_int_equal(f.keep_alive, 1);
	assert_int_equal(framing("GET / HTTP/1.0\r\n"
				 "Connection: keep-alive, close\r\n\r\n",
				 &f),
			 0);
	assert_int_equal(f.keep_alive, 0);
	assert_int_equal(framing("GET / HTTP/1.0\r\n"
				 "Connection: keep-alivex\r\n\r\n",
				 &f),
			 0);
	assert_int_equal(f.keep_alive, 0);
}

static void test_framing_expect(void **state)
{
	struct fy_http_framing f;

	(void)state;
	assert_int_equal(framing("POST / HTTP/1.1\r\nHost: a\r\n"
				 "Content-Length: 3\r\n"
				 "Expect: 100-Continue\r\n\r\n",
				 &f),
			 0);
	assert_int_equal(f.expect_continue, 1);
	assert_int_equal(f.content_length, 3);
	assert_int_equal(framing("POST / HTTP/1.1\r\nHost: a\r\n"
				 "Expect: 100-continue, foo\r\n\r\n",
				 &f),
			 417);
	assert_int_equal(framing("POST / HTTP/1.1\r\nHost: a\r\n"
				 "Expect: 200-ok\r\n\r\n",
				 &f),
			 417);
	assert_int_equal(framing("POST / HTTP/1.1\r\nHost: a\r\n"
				 "Expect:\r\n\r\n",
				 &f),
			 417);
	/* RFC 9110 10.1.1: ignored in HTTP/1.0. */
	assert_int_equal(framing("POST / HTTP/1.0\r\n"
				 "Expect: 100-continue\r\n\r\n",
				 &f),
			 0);
	assert_int_equal(f.expect_continue, 0);
}

/* --- helpers --- */

static void test_find_header(void **state)
{
	struct parsed p;

	(void)state;
	assert_true(parse(&p, "GET / HTTP/1.1\r\nHost: a\r\nX-A: 1\r\n"
			      "x-a: 2\r\nX-AB: 3\r\n\r\n") > 0);
	assert_int_equal(fy_http_find_header(&p.req, "host", 4), 0);
	assert_int_equal(fy_http_find_header(&p.req, "X-a", 3), 1);
	assert_int_equal(fy_http_find_header(&p.req, "X-AB", 4), 3);
	assert_int_equal(fy_http_find_header(&p.req, "X-ABC", 5), -1);
	assert_int_equal(fy_http_find_header(&p.req, "X", 1), -1);
	/* The length given is what counts, not a terminator. */
	assert_int_equal(fy_http_find_header(&p.req, "hostname", 4), 0);
}

static void test_value_has_token(void **state)
{
	(void)state;
	assert_true(fy_http_value_has_token("close", 5, "close"));
	assert_true(
	    fy_http_value_has_token("Keep-Alive, Upgrade", 19, "upgrade"));
	assert_true(fy_http_value_has_token(" a ,\tb\t, c", 10, "b"));
	assert_true(fy_http_value_has_token(",,x,,", 5, "x"));
	assert_false(fy_http_value_has_token("closed", 6, "close"));
	assert_false(fy_http_value_has_token("xclose", 6, "close"));
	assert_false(fy_http_value_has_token("", 0, "close"));
	assert_false(fy_http_value_has_token("a b", 3, "a"));
	/* Only len bytes are read. */
	assert_false(fy_http_value_has_token("closeX", 4, "close"));
	assert_true(fy_http_value_has_token("close, x", 5, "close"));
}

/* --- no over-read: each input ends right before a PROT_NONE page --- */

static void run_guarded(char *page_end, const struct sample *smp)
{
	for (size_t k = 0; k <= smp->len; k++) {
		char *at = page_end - k;
		struct parsed p;
		int rc;

		memcpy(at, smp->s, k);
		rc = parse_lim(&p, at, k, &default_limits);
		if (k < smp->len) {
			if (rc != FY_HTTP_INCOMPLETE &&
			    !(smp->status && rc == FY_HTTP_ERROR &&
			      p.status == smp->status))
				fail_msg("guarded cut %zu: rc %d", k, rc);
		} else if (smp->status) {
			assert_int_equal(rc, FY_HTTP_ERROR);
			assert_int_equal(p.status, smp->status);
		} else {
			struct fy_http_framing f;

			assert_int_equal(rc, (int)k);
			fy_http_check_framing(&p.req, &f);
			for (size_t h = 0; h < p.req.num_headers; h++)
				fy_http_find_header(&p.req, p.headers[h].name,
						    p.headers[h].name_len);
		}
	}
}

static void test_guard_page(void **state)
{
	long pagesize = sysconf(_SC_PAGESIZE);
	char *map;

	(void)state;
	map = mmap(NULL, (size_t)pagesize * 2, PROT_READ | PROT_WRITE,
		   MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	assert_true(map != MAP_FAILED);
	assert_int_equal(mprotect(map + pagesize, (size_t)pagesize, PROT_NONE),
			 0);
	for (size_t i = 0; i < FY_ARRAY_SIZE(valid_samples); i++)
		run_guarded(map + pagesize, &valid_samples[i]);
	for (size_t i = 0; i < FY_ARRAY_SIZE(bad_samples); i++)
		run_guarded(map + pagesize, &bad_samples[i]);
	/* Limits at the guard too: the 414/431 probes stop at the end. */
	{
		const struct fy_http_limits lim = {10, 2, 10};
		static const char *const s[] = {
		    "GET /aaaaaa",
		    "GET / HTTP/1.0\r\nAbcdefghij",
		    "GET / HTTP/1.0\r\nA: 1\r\nB: 2\r\nC",
		};

		for (size_t i = 0; i < FY_ARRAY_SIZE(s); i++) {
			size_t n = strlen(s[i]);
			struct parsed p;

			for (size_t k = 0; k <= n; k++) {
				memcpy(map + pagesize - k, s[i], k);
				parse_lim(&p, map + pagesize - k, k, &lim);
			}
			assert_int_equal(p.rc, FY_HTTP_ERROR);
		}
	}
	munmap(map, (size_t)pagesize * 2);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_simple_get),
	    cmocka_unit_test(test_methods),
	    cmocka_unit_test(test_targets),
	    cmocka_unit_test(test_http10_no_headers),
	    cmocka_unit_test(test_ows_trimming),
	    cmocka_unit_test(test_pipelined_not_consumed),
	    cmocka_unit_test(test_leading_empty_lines),
	    cmocka_unit_test(test_incomplete_status_untouched_rc),
	    cmocka_unit_test(test_error_statuses),
	    cmocka_unit_test(test_every_split_point),
	    cmocka_unit_test(test_octet_at_every_position),
	    cmocka_unit_test(test_request_line_limit),
	    cmocka_unit_test(test_field_count_limit),
	    cmocka_unit_test(test_field_count_capacity),
	    cmocka_unit_test(test_field_size_limit),
	    cmocka_unit_test(test_framing_defaults),
	    cmocka_unit_test(test_framing_host_syntax),
	    cmocka_unit_test(test_framing_content_length),
	    cmocka_unit_test(test_framing_transfer_encoding),
	    cmocka_unit_test(test_framing_host),
	    cmocka_unit_test(test_framing_keep_alive),
	    cmocka_unit_test(test_framing_expect),
	    cmocka_unit_test(test_find_header),
	    cmocka_unit_test(test_value_has_token),
	    cmocka_unit_test(test_guard_page),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
