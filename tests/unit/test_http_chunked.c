/*
 * test_http_chunked.c - the chunked transfer-coding decoder.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include <cmocka.h>

#include "foyer/core.h"
#include "foyer/http.h"

struct run {
	struct fy_http_chunked dec;
	char out[32768];
	size_t out_len;
	size_t used; /* input bytes consumed */
	int rc;
};

/*
 * Feeds in[0..len) as a connection would: the bytes arrive step at a time,
 * and after each arrival the decoder is called on what is buffered and not
 * yet consumed until it needs more, finishes or fails.
 */
static int feed(struct run *r, const char *in, size_t len, size_t step)
{
	size_t avail = 0;

	memset(r, 0, sizeof(*r));
	r->rc = FY_AGAIN;
	while (r->rc == FY_AGAIN && avail < len) {
		avail = avail + step < len ? avail + step : len;
		while (r->used < avail) {
			size_t consumed = 0, dlen = 0;
			const char *data = NULL;

			r->rc = fy_http_chunked_decode(&r->dec, in + r->used,
						       avail - r->used,
						       &consumed, &data, &dlen);
			assert_true(consumed <= avail - r->used);
			if (dlen) {
				assert_true(data >= in + r->used);
				assert_true(data + dlen <=
					    in + r->used + consumed);
				assert_true(r->out_len + dlen <=
					    sizeof(r->out));
				memcpy(r->out + r->out_len, data, dlen);
				r->out_len += dlen;
			}
			r->used += consumed;
			if (r->rc != FY_AGAIN)
				break;
			/* Progress is guaranteed while input remains. */
			assert_true(consumed > 0);
		}
	}
	return r->rc;
}

static void assert_body(const char *in, const char *next, const char *body)
{
	size_t len = strlen(in);

	for (size_t step = 1; step <= len; step++) {
		struct run r;

		assert_int_equal(feed(&r, in, len, step), FY_DONE);
		assert_int_equal(r.used, len - strlen(next));
		assert_int_equal(r.out_len, strlen(body));
		assert_memory_equal(r.out, body, r.out_len);
		assert_int_equal(r.dec.total, strlen(body));
	}
}

static void assert_fails(const char *in, size_t len)
{
	for (size_t step = 1; step <= len; step++) {
		struct run r;

		if (feed(&r, in, len, step) != FY_ERROR)
			fail_msg("\"%.*s\" step %zu: rc %d", (int)len, in, step,
				 r.rc);
	}
}

#define FAILS(lit) assert_fails(lit, sizeof(lit) - 1)

static void test_simple(void **state)
{
	(void)state;
	assert_body("5\r\nhello\r\n6\r\n world\r\n0\r\n\r\n", "",
		    "hello world");
	assert_body("0\r\n\r\n", "", "");
	assert_body("1\r\nx\r\n0\r\n\r\n", "", "x");
}

static void test_hex_sizes(void **state)
{
	(void)state;
	assert_body("A\r\n0123456789\r\nb\r\nabcdefghijk\r\n00\r\n\r\n", "",
		    "0123456789abcdefghijk");
	assert_body("0005\r\nhello\r\n000\r\n\r\n", "", "hello");
	assert_body("1F\r\n0123456789012345678901234567890\r\n0\r\n\r\n", "",
		    "0123456789012345678901234567890");
}

static void test_extensions_ignored(void **state)
{
	(void)state;
	assert_body("5;name=value;x=\"q s\"\r\nhello\r\n0;last\r\n\r\n", "",
		    "hello");
	assert_body("5 ; a=b\r\nhello\r\n0\t;x\r\n\r\n", "", "hello");
	assert_body("5;\xc3\xa9\r\nhello\r\n0\r\n\r\n", "", "hello");
}

static void test_trailers(void **state)
{
	(void)state;
	assert_body("3\r\nabc\r\n0\r\nX-Sum: 123\r\nY:\r\n\r\n", "", "abc");
	assert_body("0\r\nServer-Timing: a;dur=1\r\n\r\nGET / HTTP/1.1\r\n",
		    "GET / HTTP/1.1\r\n", "");
}

static void test_next_request_not_consumed(void **state)
{
	static const char in[] = "2\r\nab\r\n0\r\n\r\nPOST / HTTP/1.1\r\n";
	struct fy_http_chunked dec = {0};
	size_t consumed, dlen, off = 0;
	const char *data;
	int rc;

	(void)state;
	assert_body(in, "POST / HTTP/1.1\r\n", "ab");

	/* Whole input at once: one call per span, then the end. */
	rc = fy_http_chunked_decode(&dec, in, strlen(in), &consumed, &data,
				    &dlen);
	assert_int_equal(rc, FY_AGAIN);
	assert_int_equal(consumed, 5);
	assert_int_equal(dlen, 2);
	assert_ptr_equal(data, in + 3);
	off += consumed;
	rc = fy_http_chunked_decode(&dec, in + off, strlen(in) - off, &consumed,
				    &data, &dlen);
	assert_int_equal(rc, FY_DONE);
	assert_int_equal(dlen, 0);
	assert_null(data);
	off += consumed;
	assert_memory_equal(in + off, "POST", 4);
	/* Finished: nothing more is taken. */
	rc = fy_http_chunked_decode(&dec, in + off, strlen(in) - off, &consumed,
				    &data, &dlen);
	assert_int_equal(rc, FY_DONE);
	assert_int_equal(consumed, 0);
	assert_int_equal(dec.total, 2);
}

static void test_every_split_point(void **state)
{
	static const char in[] =
	    "4;a=b\r\nWiki\r\n5\r\npedia\r\nE\r\n in\r\n\r\nchunks.\r\n"
	    "0\r\nT: v\r\n\r\nNEXT";
	size_t len = strlen(in);

	(void)state;
	for (size_t cut = 0; cut <= len; cut++) {
		struct fy_http_chunked dec = {0};
		char out[64];
		size_t out_len = 0, off = 0, consumed, dlen;
		const char *data;
		int rc = FY_AGAIN;

		/* First piece up to cut, then the rest. */
		for (int piece = 0; piece < 2 && rc == FY_AGAIN; piece++) {
			size_t limit = piece == 0 ? cut : len;

			while (off < limit) {
				rc = fy_http_chunked_decode(
				    &dec, in + off, limit - off, &consumed,
				    &data, &dlen);
				memcpy(out + out_len, data ? data : "", dlen);
				out_len += dlen;
				off += consumed;
				if (rc != FY_AGAIN)
					break;
			}
		}
		assert_int_equal(rc, FY_DONE);
		assert_int_equal(off, len - 4);
		assert_int_equal(out_len, 23);
		assert_memory_equal(out, "Wikipedia in\r\n\r\nchunks.", 23);
	}
}

static void test_totals(void **state)
{
	struct fy_http_chunked dec = {0};
	size_t consumed, dlen;
	const char *data;

	(void)state;
	assert_int_equal(fy_http_chunked_decode(&dec, "10\r\n0123", 8,
						&consumed, &data, &dlen),
			 FY_AGAIN);
	/* The size line and the data that follows it in one call. */
	assert_int_equal(consumed, 8);
	assert_int_equal(dlen, 4);
	assert_memory_equal(data, "0123", 4);
	assert_int_equal(dec.chunk_left, 12);
	assert_int_equal(dec.total, 4);
	assert_int_equal(fy_http_chunked_decode(&dec, "456789abcdef\r\n1\r\nZ",
						18, &consumed, &data, &dlen),
			 FY_AGAIN);
	assert_int_equal(consumed, 12);
	assert_int_equal(dlen, 12);
	assert_int_equal(dec.chunk_left, 0);
	assert_int_equal(dec.total, 16);
	assert_int_equal(fy_http_chunked_decode(&dec, "\r\n1\r\nZ", 6,
						&consumed, &data, &dlen),
			 FY_AGAIN);
	assert_int_equal(consumed, 6);
	assert_int_equal(dlen, 1);
	assert_int_equal(dec.total, 17);
	/* The largest size that fits is accepted. */
	memset(&dec, 0, sizeof(dec));
	assert_int_equal(fy_http_chunked_decode(&dec, "ffffffffffffffff\r\nab",
						20, &consumed, &data, &dlen),
			 FY_AGAIN);
	assert_int_equal(consumed, 20);
	assert_int_equal(dlen, 2);
	assert_int_equal(dec.chunk_left, UINT64_MAX - 2);
}

static void test_errors(void **state)
{
	(void)state;
	FAILS("g\r\n");
	FAILS("\r\n");
	FAILS(";x\r\n");
	FAILS(" 5\r\nhello\r\n0\r\n\r\n");
	FAILS("-5\r\nhello\r\n0\r\n\r\n");
	FAILS("0x5\r\nhello\r\n0\r\n\r\n");
	FAILS("5 6\r\nhello\r\n0\r\n\r\n");
	FAILS("10000000000000000\r\n");
	FAILS("fffffffffffffffff\r\n");
	FAILS("5\nhello\r\n0\r\n\r\n");
	FAILS("5\rhello\r\n0\r\n\r\n");
	FAILS("5\r\nhelloX\r\n0\r\n\r\n");
	FAILS("5\r\nhello\n0\r\n\r\n");
	FAILS("5\r\nhello\r\r\n0\r\n\r\n");
	FAILS("5\r\nhello0\r\n\r\n");
	FAILS("5;a\nhello\r\n0\r\n\r\n");
	FAILS("5;a\x01\r\nhello\r\n0\r\n\r\n");
	FAILS("5;a\0\r\nhello\r\n0\r\n\r\n");
	FAILS("0\r\n\n");
	FAILS("0\r\n\rX");
	FAILS("0\r\nX: a\n\r\n");
	FAILS("0\r\nX: a\rb\r\n\r\n");
	FAILS("0\r\nno-colon\r\n\r\n");
	FAILS("0\r\n: empty-name\r\n\r\n");
	FAILS("0\r\nX : a\r\n\r\n");
	FAILS("0\r\nX: a\r\n folded\r\n\r\n");
	FAILS("0\r\nX: a\0\r\n\r\n");
}

static void test_error_is_sticky(void **state)
{
	struct fy_http_chunked dec = {0};
	size_t consumed, dlen;
	const char *data;

	(void)state;
	assert_int_equal(
	    fy_http_chunked_decode(&dec, "zz", 2, &consumed, &data, &dlen),
	    FY_ERROR);
	assert_int_equal(fy_http_chunked_decode(&dec, "0\r\n\r\n", 5, &consumed,
						&data, &dlen),
			 FY_ERROR);
	assert_int_equal(
	    fy_http_chunked_decode(&dec, "", 0, &consumed, &data, &dlen),
	    FY_ERROR);
}

static char *repeat(char *p, int c, size_t n)
{
	memset(p, c, n);
	return p + n;
}

static void test_size_line_limit(void **state)
{
	static char in[8192];
	char *p;
	struct run r;

	(void)state;
	/* 4096 bytes of size line (extension included) pass... */
	p = in;
	*p++ = '1';
	*p++ = ';';
	p = repeat(p, 'a', 4094);
	memcpy(p, "\r\nx\r\n0\r\n\r\n", 10);
	p += 10;
	assert_int_equal(feed(&r, in, (size_t)(p - in), 4096), FY_DONE);
	assert_int_equal(r.out_len, 1);

	/* ...4097 do not, whether the CRLF came or not. */
	p = in;
	*p++ = '1';
	*p++ = ';';
	p = repeat(p, 'a', 4095);
	assert_int_equal(feed(&r, in, (size_t)(p - in), 1000), FY_ERROR);
	memcpy(p, "\r\nx\r\n0\r\n\r\n", 10);
	p += 10;
	assert_int_equal(feed(&r, in, (size_t)(p - in), 1), FY_ERROR);

	/* Leading zeros count toward the line too. */
	p = repeat(in, '0', 4095);
	memcpy(p, "1\r\nx\r\n0\r\n\r\n", 11);
	assert_int_equal(feed(&r, in, 4095 + 11, 7), FY_DONE);
	p = repeat(in, '0', 4096);
	memcpy(p, "1\r\nx\r\n0\r\n\r\n", 11);
	assert_int_equal(feed(&r, in, 4096 + 11, 7), FY_ERROR);
}

static void test_trailer_limit(void **state)
{
	static char in[16384];
	char *p;
	struct run r;

	(void)state;
	/* One trailer line of 8188 bytes plus its CRLF: 8190 bytes. */
	p = in;
	memcpy(p, "0\r\nX: ", 6);
	p = repeat(p + 6, 'v', 8185);
	memcpy(p, "\r\n\r\n", 4);
	p += 4;
	assert_int_equal(feed(&r, in, (size_t)(p - in), 1000), FY_DONE);
	assert_int_equal(r.used, (size_t)(p - in));

	p = in;
	memcpy(p, "0\r\nX: ", 6);
	p = repeat(p + 6, 'v', 8186);
	memcpy(p, "\r\n\r\n", 4);
	p += 4;
	assert_int_equal(feed(&r, in, (size_t)(p - in), 1000), FY_ERROR);

	/* Many small lines add up. */
	p = in;
	memcpy(p, "0\r\n", 3);
	p += 3;
	for (int i = 0; i < 2000; i++) {
		memcpy(p, "A: b\r\n", 6);
		p += 6;
	}
	memcpy(p, "\r\n", 2);
	p += 2;
	assert_int_equal(feed(&r, in, (size_t)(p - in), 512), FY_ERROR);
}

/* The decoder reads nothing past the length it is given. */
static void test_guard_page(void **state)
{
	static const char *const inputs[] = {
	    "5\r\nhello\r\n6;e=1\r\n world\r\n0\r\nT: x\r\n\r\n",
	    "ffffffffffffffff\r\nabc",
	    "5\r\nhello\r\r",
	    "0\r\nX: a\r\n",
	};
	long pagesize = sysconf(_SC_PAGESIZE);
	char *map, *page_end;

	(void)state;
	map = mmap(NULL, (size_t)pagesize * 2, PROT_READ | PROT_WRITE,
		   MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	assert_true(map != MAP_FAILED);
	assert_int_equal(mprotect(map + pagesize, (size_t)pagesize, PROT_NONE),
			 0);
	page_end = map + pagesize;
	for (size_t i = 0; i < FY_ARRAY_SIZE(inputs); i++) {
		size_t len = strlen(inputs[i]);

		for (size_t k = 0; k <= len; k++) {
			struct run r;

			memcpy(page_end - k, inputs[i], k);
			feed(&r, page_end - k, k, 1);
			feed(&r, page_end - k, k, k ? k : 1);
			assert_true(r.used <= k);
		}
	}
	munmap(map, (size_t)pagesize * 2);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_simple),
	    cmocka_unit_test(test_hex_sizes),
	    cmocka_unit_test(test_extensions_ignored),
	    cmocka_unit_test(test_trailers),
	    cmocka_unit_test(test_next_request_not_consumed),
	    cmocka_unit_test(test_every_split_point),
	    cmocka_unit_test(test_totals),
	    cmocka_unit_test(test_errors),
	    cmocka_unit_test(test_error_is_sticky),
	    cmocka_unit_test(test_size_line_limit),
	    cmocka_unit_test(test_trailer_limit),
	    cmocka_unit_test(test_guard_page),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
