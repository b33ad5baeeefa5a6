/*
 * test_fcgi_record.c - the FastCGI record codec: encodings compared byte for
 * byte with hand-written records, the PARAMS builder (pair boundaries, the
 * 65535 split, padding, driven by the CGI builder), the evbuffer helpers,
 * and the decoder on every split point of PHP-FPM and libfcgi style
 * response streams.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <event2/buffer.h>

#include "foyer/cgi.h"
#include "foyer/core.h"
#include "foyer/fcgi.h"
#include "foyer/http.h"

#define U (const unsigned char *)

/* ---- Encoders ---------------------------------------------------------- */

static void test_header_padding(void **state)
{
	static const struct {
		size_t len;
		unsigned char b4, b5, pad;
	} cases[] = {
	    {0, 0x00, 0x00, 0},	    {1, 0x00, 0x01, 7},
	    {7, 0x00, 0x07, 1},	    {8, 0x00, 0x08, 0},
	    {9, 0x00, 0x09, 7},	    {300, 0x01, 0x2c, 4},
	    {65528, 0xff, 0xf8, 0}, {65529, 0xff, 0xf9, 0},
	    {65534, 0xff, 0xfe, 0}, {65535, 0xff, 0xff, 0},
	};
	unsigned char h[8];

	(void)state;
	for (size_t i = 0; i < FY_ARRAY_SIZE(cases); i++) {
		unsigned char want[8] = {
		    1,		 FCGI_STDIN,   0, 1, cases[i].b4,
		    cases[i].b5, cases[i].pad, 0};

		memset(h, 0xee, sizeof(h));
		assert_int_equal(fy_fcgi_header(h, FCGI_STDIN, cases[i].len),
				 cases[i].pad);
		assert_memory_equal(h, want, 8);
	}
	/* Over the limit is clamped, never wrapped. */
	assert_int_equal(fy_fcgi_header(h, FCGI_STDIN, 70000), 0);
	assert_int_equal(h[4], 0xff);
	assert_int_equal(h[5], 0xff);
}

static void test_begin_abort_end(void **state)
{
	static const unsigned char keep[16] = {1, 1, 0, 1, 0, 8, 0, 0,
					       0, 1, 1, 0, 0, 0, 0, 0};
	static const unsigned char close[16] = {1, 1, 0, 1, 0, 8, 0, 0,
						0, 1, 0, 0, 0, 0, 0, 0};
	static const unsigned char abort_rec[8] = {1, 2, 0, 1, 0, 0, 0, 0};
	static const unsigned char end_params[8] = {1, 4, 0, 1, 0, 0, 0, 0};
	static const unsigned char end_stdin[8] = {1, 5, 0, 1, 0, 0, 0, 0};
	unsigned char out[16];

	(void)state;
	memset(out, 0xee, sizeof(out));
	fy_fcgi_begin_request(out, 1);
	assert_memory_equal(out, keep, 16);
	memset(out, 0xee, sizeof(out));
	fy_fcgi_begin_request(out, 0);
	assert_memory_equal(out, close, 16);
	fy_fcgi_abort_request(out);
	assert_memory_equal(out, abort_rec, 8);
	fy_fcgi_end_stream(out, FCGI_PARAMS);
	assert_memory_equal(out, end_params, 8);
	fy_fcgi_end_stream(out, FCGI_STDIN);
	assert_memory_equal(out, end_stdin, 8);
}

static char *filled(size_t n, char c)
{
	char *s = malloc(n ? n : 1);

	assert_non_null(s);
	memset(s, c, n);
	return s;
}

static void test_pair_lengths(void **state)
{
	unsigned char out[600];
	char *v127 = filled(127, 'v'), *v128 = filled(128, 'v');
	char *n128 = filled(128, 'n');

	(void)state;
	/* Short name and value: one length byte each. */
	assert_int_equal(
	    fy_fcgi_pair_encode(out, sizeof(out), "AB", 2, "xyz", 3), 7);
	assert_memory_equal(out,
			    "\x02\x03"
			    "ABxyz",
			    7);

	/* 127 is the last 1-byte length. */
	assert_int_equal(fy_fcgi_pair_size(1, 127), 1 + 1 + 1 + 127);
	assert_int_equal(
	    fy_fcgi_pair_encode(out, sizeof(out), "N", 1, v127, 127), 130);
	assert_memory_equal(out,
			    "\x01\x7f"
			    "N",
			    3);
	assert_memory_equal(out + 3, v127, 127);

	/* 128 takes 4 bytes, top bit set, big-endian. */
	assert_int_equal(fy_fcgi_pair_size(1, 128), 1 + 4 + 1 + 128);
	assert_int_equal(
	    fy_fcgi_pair_encode(out, sizeof(out), "N", 1, v128, 128), 134);
	assert_memory_equal(out,
			    "\x01\x80\x00\x00\x80"
			    "N",
			    6);
	assert_memory_equal(out + 6, v128, 128);

	/* Long name, short value. */
	assert_int_equal(
	    fy_fcgi_pair_encode(out, sizeof(out), n128, 128, "", 0),
	    4 + 1 + 128);
	assert_memory_equal(out, "\x80\x00\x00\x80\x00", 5);
	assert_memory_equal(out + 5, n128, 128);

	/* Both long. */
	assert_int_equal(
	    fy_fcgi_pair_encode(out, sizeof(out), n128, 128, v128, 128),
	    4 + 4 + 256);
	assert_memory_equal(out, "\x80\x00\x00\x80\x80\x00\x00\x80", 8);

	/* 31-bit limit, checked on sizes only. */
	assert_int_equal(fy_fcgi_pair_size(1, 0x7fffffff),
			 1 + 4 + 1 + 0x7fffffffULL);
	assert_int_equal(fy_fcgi_pair_size(1, 0x80000000ULL), 0);
	assert_int_equal(fy_fcgi_pair_size(0x80000000ULL, 1), 0);
	assert_int_equal(fy_fcgi_pair_size(0, 1), 0);

	/* Does not fit: nothing written. */
	memset(out, 0xee, 8);
	assert_int_equal(fy_fcgi_pair_encode(out, 6, "AB", 2, "xyz", 3), 0);
	assert_int_equal(out[0], 0xee);
	assert_int_equal(fy_fcgi_pair_encode(out, sizeof(out), "", 0, "x", 1),
			 0);
	free(v127);
	free(v128);
	free(n128);
}

static void test_pair_4byte_value(void **state)
{
	size_t n = 0x12345;
	char *v = filled(n, 'q');
	unsigned char *out = malloc(n + 16);

	(void)state;
	assert_non_null(out);
	assert_int_equal(fy_fcgi_pair_encode(out, n + 16, "X", 1, v, n),
			 1 + 4 + 1 + n);
	assert_memory_equal(out,
			    "\x01\x80\x01\x23\x45"
			    "X",
			    6);
	assert_int_equal(out[6 + n - 1], 'q');
	free(v);
	free(out);
}

/* Expected stream records built by hand: header, data, zero padding. */
static size_t put_record(unsigned char *p, unsigned type, const char *data,
			 size_t n, size_t pad)
{
	p[0] = 1;
	p[1] = (unsigned char)type;
	p[2] = 0;
	p[3] = 1;
	p[4] = (unsigned char)(n >> 8);
	p[5] = (unsigned char)n;
	p[6] = (unsigned char)pad;
	p[7] = 0;
	memcpy(p + 8, data, n);
	memset(p + 8 + n, 0, pad);
	return 8 + n + pad;
}

static void test_stream_encode(void **state)
{
	unsigned char out[64], want[64];
	size_t n;

	(void)state;
	memset(out, 0xee, sizeof(out));
	n = put_record(want, FCGI_STDIN, "hello", 5, 3);
	assert_int_equal(fy_fcgi_stream_size(5), 16);
	assert_int_equal(
	    fy_fcgi_stream_encode(out, sizeof(out), FCGI_STDIN, "hello", 5), n);
	assert_memory_equal(out, want, n);

	n = put_record(want, FCGI_STDIN, "12345678", 8, 0);
	assert_int_equal(
	    fy_fcgi_stream_encode(out, sizeof(out), FCGI_STDIN, "12345678", 8),
	    16);
	assert_memory_equal(out, want, n);

	assert_int_equal(fy_fcgi_stream_size(0), 0);
	assert_int_equal(
	    fy_fcgi_stream_encode(out, sizeof(out), FCGI_STDIN, "", 0), 0);
	/* Too small a buffer: nothing. */
	assert_int_equal(fy_fcgi_stream_encode(out, 15, FCGI_STDIN, "hello", 5),
			 0);
}

static void test_stream_split(void **state)
{
	size_t len = 65528 + 65528 + 1;
	char *data = malloc(len);
	unsigned char *out, *want;
	size_t n = 0, total;

	(void)state;
	assert_non_null(data);
	for (size_t i = 0; i < len; i++)
		data[i] = (char)(i * 7);
	total = 8 + 65528 + 8 + 65528 + 8 + 1 + 7;
	assert_int_equal(fy_fcgi_stream_size(len), total);
	assert_int_equal(fy_fcgi_stream_size(65528), 8 + 65528);
	assert_int_equal(fy_fcgi_stream_size(65529), 8 + 65528 + 8 + 1 + 7);
	out = malloc(total);
	want = malloc(total);
	assert_non_null(out);
	assert_non_null(want);
	n += put_record(want + n, FCGI_STDIN, data, 65528, 0);
	n += put_record(want + n, FCGI_STDIN, data + 65528, 65528, 0);
	n += put_record(want + n, FCGI_STDIN, data + 2 * 65528, 1, 7);
	assert_int_equal(n, total);
	assert_int_equal(
	    fy_fcgi_stream_encode(out, total, FCGI_STDIN, data, len), total);
	assert_memory_equal(out, want, total);
	assert_int_equal(
	    fy_fcgi_stream_encode(out, total - 1, FCGI_STDIN, data, len), 0);
	free(data);
	free(out);
	free(want);
}

/* ---- PARAMS builder ---------------------------------------------------- */

struct pair {
	const char *name, *value;
	size_t name_len, value_len;
};

static size_t get_length(const unsigned char **p, const unsigned char *end)
{
	size_t n;

	assert_true(*p < end);
	if (**p < 128)
		return *(*p)++;
	assert_true(end - *p >= 4);
	n = ((size_t)((*p)[0] & 0x7f) << 24) | ((size_t)(*p)[1] << 16) |
	    ((size_t)(*p)[2] << 8) | (*p)[3];
	*p += 4;
	return n;
}

/*
 * Walks PARAMS records the way PHP-FPM does (each record's content parsed
 * on its own, so a pair may not cross records) up to the empty terminator;
 * returns the number of pairs and checks the framing rules on the way.
 */
static size_t read_params(const unsigned char *buf, size_t len,
			  struct pair *pairs, size_t max, size_t *records)
{
	const unsigned char *p = buf, *end = buf + len;
	size_t n = 0;

	*records = 0;
	for (;;) {
		size_t clen, pad;
		const unsigned char *c, *cend;

		assert_true(end - p >= 8);
		assert_int_equal(p[0], 1);
		assert_int_equal(p[1], FCGI_PARAMS);
		assert_int_equal(p[2], 0);
		assert_int_equal(p[3], 1);
		clen = (size_t)p[4] << 8 | p[5];
		pad = p[6];
		assert_int_equal(p[7], 0);
		assert_true(clen + pad <= 0xffff);
		if (clen <= FY_FCGI_STREAM_CHUNK)
			assert_int_equal((clen + pad) % 8, 0);
		p += 8;
		if (clen == 0) {
			assert_int_equal(pad, 0);
			assert_ptr_equal(p, end);
			return n;
		}
		(*records)++;
		assert_true((size_t)(end - p) >= clen + pad);
		c = p;
		cend = p + clen;
		while (c < cend) {
			size_t nl = get_length(&c, cend);
			size_t vl = get_length(&c, cend);

			assert_true((size_t)(cend - c) >= nl + vl);
			assert_true(n < max);
			pairs[n].name = (const char *)c;
			pairs[n].name_len = nl;
			pairs[n].value = (const char *)c + nl;
			pairs[n].value_len = vl;
			n++;
			c += nl + vl;
		}
		for (size_t i = 0; i < pad; i++)
			assert_int_equal(cend[i], 0);
		p = cend + pad;
	}
}

static void test_params_small_exact(void **state)
{
	unsigned char buf[64];
	struct fy_fcgi_params p;
	size_t len = 0;
	static const unsigned char want[] = {
	    1,	 4,   0,   1,	0,   0x13, 5,	0, /* 19 bytes, pad 5 */
	    14,	 3,   'R', 'E', 'Q', 'U',  'E', 'S', 'T', '_', 'M',
	    'E', 'T', 'H', 'O', 'D', 'G',  'E', 'T', 0,	  0,   0,
	    0,	 0,   1,   4,	0,   1,	   0,	0,   0,	  0, /* terminator */
	};

	(void)state;
	fy_fcgi_params_init(&p, buf, sizeof(buf));
	assert_int_equal(fy_fcgi_params_add(&p, "REQUEST_METHOD", 14, "GET", 3),
			 FY_OK);
	/* 2 length bytes + 14 + 3 = 19 bytes of content. */
	assert_int_equal(fy_fcgi_params_finish(&p, &len), FY_OK);
	assert_int_equal(len, sizeof(want));
	assert_memory_equal(buf, want, sizeof(want));
	assert_int_equal(p.pairs, 1);
}

static void test_params_empty(void **state)
{
	unsigned char buf[8];
	struct fy_fcgi_params p;
	size_t len = 0;

	(void)state;
	fy_fcgi_params_init(&p, buf, sizeof(buf));
	assert_int_equal(fy_fcgi_params_finish(&p, &len), FY_OK);
	assert_int_equal(len, 8);
	assert_memory_equal(buf, "\x01\x04\x00\x01\x00\x00\x00\x00", 8);
	/* Twice is an error. */
	assert_int_equal(fy_fcgi_params_finish(&p, &len), FY_ERROR);
	assert_int_equal(p.error, FY_FCGI_PARAMS_FINISHED);
}

static void test_params_split_at_pair_boundary(void **state)
{
	/* Pairs of 1 + 4 + 4 + 9995 = 10004 bytes: six fit in 65535
	 * (60024), the seventh would make 70028 and opens a new record. */
	size_t cap = 3 * 65536, len = 0, records = 0, n;
	unsigned char *buf = malloc(cap);
	char *value = filled(9995, 'z');
	struct pair pairs[20];
	struct fy_fcgi_params p;
	char name[5];

	(void)state;
	assert_non_null(buf);
	fy_fcgi_params_init(&p, buf, cap);
	for (int i = 0; i < 13; i++) {
		snprintf(name, sizeof(name), "P%03d", i);
		assert_int_equal(fy_fcgi_params_add(&p, name, 4, value, 9995),
				 FY_OK);
	}
	assert_int_equal(fy_fcgi_params_finish(&p, &len), FY_OK);
	n = read_params(buf, len, pairs, FY_ARRAY_SIZE(pairs), &records);
	assert_int_equal(n, 13);
	assert_int_equal(records, 3);
	/* First record: exactly six pairs, 60024 bytes, already a multiple
	 * of 8 so no padding. */
	assert_int_equal(buf[4] << 8 | buf[5], 60024);
	assert_int_equal(buf[6], 0);
	for (int i = 0; i < 13; i++) {
		snprintf(name, sizeof(name), "P%03d", i);
		assert_int_equal(pairs[i].name_len, 4);
		assert_memory_equal(pairs[i].name, name, 4);
		assert_int_equal(pairs[i].value_len, 9995);
	}
	free(buf);
	free(value);
}

static void test_params_largest_pair(void **state)
{
	/* 1 + 4 + 1 + 65529 = 65535: the largest pair, alone in its record,
	 * unpadded since padding would pass 0xffff. */
	size_t cap = 2 * 65536 + 64, len = 0, records = 0;
	unsigned char *buf = malloc(cap);
	char *value = filled(65530, 'w');
	struct pair pairs[4];
	struct fy_fcgi_params p;

	(void)state;
	assert_non_null(buf);
	fy_fcgi_params_init(&p, buf, cap);
	assert_int_equal(fy_fcgi_params_add(&p, "A", 1, "b", 1), FY_OK);
	assert_int_equal(fy_fcgi_params_add(&p, "X", 1, value, 65529), FY_OK);
	assert_int_equal(fy_fcgi_params_add(&p, "C", 1, "d", 1), FY_OK);
	assert_int_equal(fy_fcgi_params_finish(&p, &len), FY_OK);
	assert_int_equal(read_params(buf, len, pairs, 4, &records), 3);
	assert_int_equal(records, 3);
	/* A:b (4 bytes + 4 padding), then the big one. */
	assert_memory_equal(buf, "\x01\x04\x00\x01\x00\x04\x04\x00", 8);
	assert_memory_equal(buf + 16, "\x01\x04\x00\x01\xff\xff\x00\x00", 8);
	assert_int_equal(len, 16 + 8 + 65535 + 16 + 8);

	/* One byte more can never be sent. */
	fy_fcgi_params_init(&p, buf, cap);
	assert_int_equal(fy_fcgi_params_add(&p, "X", 1, value, 65530),
			 FY_ERROR);
	assert_int_equal(p.error, FY_FCGI_PARAMS_PAIR_SIZE);
	/* Sticky. */
	assert_int_equal(fy_fcgi_params_add(&p, "A", 1, "b", 1), FY_ERROR);
	assert_int_equal(fy_fcgi_params_finish(&p, &len), FY_ERROR);
	assert_int_equal(p.error, FY_FCGI_PARAMS_PAIR_SIZE);
	free(buf);
	free(value);
}

static void test_params_no_space(void **state)
{
	unsigned char buf[64];
	struct fy_fcgi_params p;
	size_t len = 0;

	(void)state;
	/* Pair fits, terminator does not. */
	fy_fcgi_params_init(&p, buf, 24);
	assert_int_equal(fy_fcgi_params_add(&p, "ABCDEF", 6, "12345678", 8),
			 FY_OK);
	assert_int_equal(p.len, 24);
	assert_int_equal(fy_fcgi_params_finish(&p, &len), FY_ERROR);
	assert_int_equal(p.error, FY_FCGI_PARAMS_NO_SPACE);

	/* Padding does not fit. */
	fy_fcgi_params_init(&p, buf, 20);
	assert_int_equal(fy_fcgi_params_add(&p, "A", 1, "b", 1), FY_OK);
	assert_int_equal(fy_fcgi_params_finish(&p, &len), FY_ERROR);
	assert_int_equal(p.error, FY_FCGI_PARAMS_NO_SPACE);

	/* Not even a header. */
	fy_fcgi_params_init(&p, buf, 7);
	assert_int_equal(fy_fcgi_params_add(&p, "A", 1, "b", 1), FY_ERROR);
	assert_int_equal(p.error, FY_FCGI_PARAMS_NO_SPACE);

	/* Bad pair, and add after finish. */
	fy_fcgi_params_init(&p, buf, sizeof(buf));
	assert_int_equal(fy_fcgi_params_add(&p, "", 0, "b", 1), FY_ERROR);
	assert_int_equal(p.error, FY_FCGI_PARAMS_BAD_PAIR);
	fy_fcgi_params_init(&p, buf, sizeof(buf));
	assert_int_equal(fy_fcgi_params_finish(&p, &len), FY_OK);
	assert_int_equal(fy_fcgi_params_add(&p, "A", 1, "b", 1), FY_ERROR);
	assert_int_equal(p.error, FY_FCGI_PARAMS_FINISHED);
}

/* Index of the pair called name; fails the test when there is none. */
static size_t find_pair(const struct pair *pairs, size_t n, const char *name)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (pairs[i].name_len == strlen(name) &&
		    memcmp(pairs[i].name, name, pairs[i].name_len) == 0)
			break;
	assert_true(i < n);
	return i;
}

static void assert_pair(const struct pair *pairs, size_t n, const char *name,
			const char *value)
{
	size_t i = find_pair(pairs, n, name);

	assert_int_equal(pairs[i].value_len, strlen(value));
	assert_memory_equal(pairs[i].value, value, pairs[i].value_len);
}

static void test_params_from_cgi_build(void **state)
{
	char long_ua[300], scratch[4096];
	struct fy_http_header headers[] = {
	    {"Host", 4, "example.com", 11},
	    {"User-Agent", 10, long_ua, sizeof(long_ua)},
	};
	struct fy_cgi_request req = {
	    .method = "POST",
	    .method_len = 4,
	    .request_uri = "/index.php?a=1",
	    .request_uri_len = 14,
	    .query = "a=1",
	    .query_len = 3,
	    .document_root = "/srv/www",
	    .script_name = "/index.php",
	    .script_filename = "/srv/www/index.php",
	    .document_uri = "/index.php",
	    .server_name = "example.com",
	    .server_addr = "127.0.0.1",
	    .server_port = 80,
	    .remote_addr = "127.0.0.1",
	    .remote_port = 50000,
	    .protocol = "HTTP/1.1",
	    .server_software = "foyer/test",
	    .content_length = 5,
	    .headers = headers,
	    .n_headers = FY_ARRAY_SIZE(headers),
	};
	unsigned char buf[8192];
	struct pair pairs[64];
	struct fy_fcgi_params p;
	size_t len = 0, records = 0, n, ua;

	(void)state;
	memset(long_ua, 'u', sizeof(long_ua));
	fy_fcgi_params_init(&p, buf, sizeof(buf));
	assert_int_equal(fy_cgi_build(&req, fy_fcgi_params_emit, &p, scratch,
				      sizeof(scratch)),
			 FY_OK);
	assert_int_equal(fy_fcgi_params_finish(&p, &len), FY_OK);
	n = read_params(buf, len, pairs, FY_ARRAY_SIZE(pairs), &records);
	assert_int_equal(n, p.pairs);
	assert_int_equal(records, 1);
	assert_pair(pairs, n, "SCRIPT_FILENAME", "/srv/www/index.php");
	assert_pair(pairs, n, "REQUEST_METHOD", "POST");
	assert_pair(pairs, n, "CONTENT_LENGTH", "5");
	assert_pair(pairs, n, "QUERY_STRING", "a=1");
	assert_pair(pairs, n, "HTTP_HOST", "example.com");
	ua = find_pair(pairs, n, "HTTP_USER_AGENT");
	assert_int_equal(pairs[ua].value_len, sizeof(long_ua));

	/* A builder too small makes the CGI builder stop with an error. */
	fy_fcgi_params_init(&p, buf, 100);
	assert_int_equal(fy_cgi_build(&req, fy_fcgi_params_emit, &p, scratch,
				      sizeof(scratch)),
			 FY_ERROR);
	assert_int_equal(p.error, FY_FCGI_PARAMS_NO_SPACE);
}

/* ---- evbuffer helpers -------------------------------------------------- */

static void test_evbuffer_stream(void **state)
{
	static const size_t sizes[] = {0, 5, 8, 65528, 65529, 200000};
	size_t max = 200000;
	char *data = malloc(max);
	unsigned char *want = malloc(fy_fcgi_stream_size(max));

	(void)state;
	assert_non_null(data);
	assert_non_null(want);
	for (size_t i = 0; i < max; i++)
		data[i] = (char)(i % 251);
	for (size_t k = 0; k < FY_ARRAY_SIZE(sizes); k++) {
		size_t len = sizes[k], wlen = fy_fcgi_stream_size(len);
		struct evbuffer *out = evbuffer_new(), *src = evbuffer_new();

		assert_non_null(out);
		assert_non_null(src);
		assert_int_equal(
		    fy_fcgi_stream_encode(want, wlen, FCGI_STDIN, data, len),
		    wlen);

		assert_int_equal(
		    fy_fcgi_evbuffer_add_stream(out, FCGI_STDIN, data, len),
		    FY_OK);
		assert_int_equal(evbuffer_get_length(out), wlen);
		if (wlen)
			assert_memory_equal(evbuffer_pullup(out, -1), want,
					    wlen);
		evbuffer_drain(out, wlen);

		/* src holds the body plus one byte that must stay. */
		assert_int_equal(evbuffer_add(src, data, len), 0);
		assert_int_equal(evbuffer_add(src, "!", 1), 0);
		assert_int_equal(
		    fy_fcgi_evbuffer_move_stream(out, FCGI_STDIN, src, len),
		    FY_OK);
		assert_int_equal(evbuffer_get_length(out), wlen);
		if (wlen)
			assert_memory_equal(evbuffer_pullup(out, -1), want,
					    wlen);
		assert_int_equal(evbuffer_get_length(src), 1);
		/* Asking for more than src holds moves nothing. */
		assert_int_equal(
		    fy_fcgi_evbuffer_move_stream(out, FCGI_STDIN, src, 2),
		    FY_ERROR);
		assert_int_equal(evbuffer_get_length(src), 1);
		assert_int_equal(evbuffer_get_length(out), wlen);
		evbuffer_free(out);
		evbuffer_free(src);
	}
	free(data);
	free(want);
}

/* ---- Decoder ----------------------------------------------------------- */

struct collected {
	char out[1 << 17];
	size_t out_len;
	char err[4096];
	size_t err_len;
	int ends;
	int ignored;
	int empty_stdout, empty_stderr;
	uint32_t app_status;
	uint8_t protocol_status;
	uint8_t unknown_type;
	size_t consumed;
	int rc; /* FY_DONE, FY_AGAIN or FY_ERROR at the end */
};

/* Feeds in[0..len) to p as one read; stops at FY_DONE or FY_ERROR. */
static int feed(struct fy_fcgi_parser *p, const char *in, size_t len,
		struct collected *c)
{
	size_t off = 0;

	for (;;) {
		struct fy_fcgi_event ev;
		size_t used = 0;
		int rc = fy_fcgi_parse(p, in + off, len - off, &used, &ev);

		assert_true(used <= len - off);
		if (rc == FY_OK || rc == FY_DONE) {
			switch (ev.type) {
			case FY_FCGI_EV_STDOUT:
				if (ev.len == 0)
					c->empty_stdout++;
				assert_true(
				    ev.len == 0 ||
				    (ev.data >= in + off &&
				     ev.data + ev.len <= in + off + used));
				assert_true(c->out_len + ev.len <=
					    sizeof(c->out));
				if (ev.len)
					memcpy(c->out + c->out_len, ev.data,
					       ev.len);
				c->out_len += ev.len;
				break;
			case FY_FCGI_EV_STDERR:
				if (ev.len == 0)
					c->empty_stderr++;
				assert_true(c->err_len + ev.len <=
					    sizeof(c->err));
				if (ev.len)
					memcpy(c->err + c->err_len, ev.data,
					       ev.len);
				c->err_len += ev.len;
				break;
			case FY_FCGI_EV_END:
				assert_int_equal(rc, FY_DONE);
				c->ends++;
				c->app_status = ev.app_status;
				c->protocol_status = ev.protocol_status;
				break;
			case FY_FCGI_EV_IGNORED:
				c->ignored++;
				c->unknown_type = ev.unknown_type;
				break;
			}
		}
		off += used;
		c->consumed += used;
		if (rc == FY_AGAIN) {
			assert_int_equal(off, len);
			return c->rc = FY_AGAIN;
		}
		if (rc == FY_DONE || rc == FY_ERROR)
			return c->rc = rc;
		/* An event always makes progress. */
		assert_true(used > 0);
	}
}

/* Appends a record with explicit id and padding. */
static size_t rec(unsigned char *p, unsigned type, unsigned id,
		  const char *data, size_t n, size_t pad)
{
	p[0] = 1;
	p[1] = (unsigned char)type;
	p[2] = (unsigned char)(id >> 8);
	p[3] = (unsigned char)id;
	p[4] = (unsigned char)(n >> 8);
	p[5] = (unsigned char)n;
	p[6] = (unsigned char)pad;
	p[7] = 0;
	if (n)
		memcpy(p + 8, data, n);
	memset(p + 8 + n, 'P', pad); /* padding need not be zero */
	return 8 + n + pad;
}

#define HDRS "Content-type: text/html; charset=UTF-8\r\n\r\n"

/* What PHP-FPM sends: padded STDOUT, STDERR in between, no empty STDOUT,
 * END_REQUEST with garbage in its reserved bytes. */
static size_t fpm_stream(unsigned char *s)
{
	static const char msg[] = "PHP message: PHP Warning:  oops in "
				  "/srv/www/index.php on line 3";
	size_t n = 0;

	n += rec(s + n, FCGI_STDOUT, 1, HDRS "Hel", strlen(HDRS "Hel"),
		 (8 - strlen(HDRS "Hel") % 8) % 8);
	n += rec(s + n, FCGI_STDERR, 1, msg, strlen(msg),
		 (8 - strlen(msg) % 8) % 8);
	n += rec(s + n, FCGI_STDOUT, 1, "lo, world", 9, 7);
	n += rec(s + n, FCGI_END_REQUEST, 1, "\0\0\0\0\0FO=", 8, 0);
	return n;
}

static void check_fpm(const struct collected *c, size_t len)
{
	assert_int_equal(c->rc, FY_DONE);
	assert_int_equal(c->consumed, len);
	assert_int_equal(c->out_len, strlen(HDRS "Hello, world"));
	assert_memory_equal(c->out, HDRS "Hello, world", c->out_len);
	assert_int_equal(c->err_len, strlen("PHP message: PHP Warning:  oops "
					    "in /srv/www/index.php on line 3"));
	assert_int_equal(c->ends, 1);
	assert_int_equal(c->app_status, 0);
	assert_int_equal(c->protocol_status, FCGI_REQUEST_COMPLETE);
	assert_int_equal(c->empty_stdout, 0);
}

static void test_decode_fpm_whole(void **state)
{
	unsigned char s[256];
	size_t len = fpm_stream(s);
	struct fy_fcgi_parser p;
	struct collected *c = calloc(1, sizeof(*c));

	(void)state;
	assert_non_null(c);
	fy_fcgi_parser_init(&p);
	feed(&p, (const char *)s, len, c);
	check_fpm(c, len);
	free(c);
}

static void test_decode_fpm_every_split(void **state)
{
	unsigned char s[256];
	size_t len = fpm_stream(s);
	struct collected *c = malloc(sizeof(*c));

	(void)state;
	assert_non_null(c);
	/* Every pair of cut points: three reads. */
	for (size_t i = 0; i <= len; i++) {
		for (size_t j = i; j <= len; j++) {
			struct fy_fcgi_parser p;
			/* Exact-size copies so any over-read is caught. */
			char *a = malloc(i + 1), *b = malloc(j - i + 1),
			     *d = malloc(len - j + 1);

			assert_non_null(a);
			assert_non_null(b);
			assert_non_null(d);
			memcpy(a, s, i);
			memcpy(b, s + i, j - i);
			memcpy(d, s + j, len - j);
			memset(c, 0, sizeof(*c));
			fy_fcgi_parser_init(&p);
			if (feed(&p, a, i, c) == FY_AGAIN &&
			    feed(&p, b, j - i, c) == FY_AGAIN)
				feed(&p, d, len - j, c);
			check_fpm(c, len);
			free(a);
			free(b);
			free(d);
		}
	}
	/* One byte at a time. */
	{
		struct fy_fcgi_parser p;

		memset(c, 0, sizeof(*c));
		fy_fcgi_parser_init(&p);
		for (size_t i = 0; i < len && c->rc != FY_DONE; i++)
			feed(&p, (const char *)s + i, 1, c);
		check_fpm(c, len);
	}
	free(c);
}

/* libfcgi style: empty STDOUT and STDERR terminators, exit status, no
 * padding; a management record in between. */
static void test_decode_libfcgi_style(void **state)
{
	unsigned char s[256];
	size_t n = 0;
	struct fy_fcgi_parser p;
	struct collected *c = calloc(1, sizeof(*c));

	(void)state;
	assert_non_null(c);
	n += rec(s + n, FCGI_STDOUT, 1, "Status: 500\r\n\r\n", 15, 0);
	n += rec(s + n, FCGI_STDERR, 1, "bad", 3, 0);
	n += rec(s + n, FCGI_UNKNOWN_TYPE, 0, "\x0c\0\0\0\0\0\0\0", 8, 0);
	n += rec(s + n, FCGI_GET_VALUES_RESULT, 0,
		 "\x0f\x01"
		 "FCGI_MPXS_CONNS0",
		 18, 6);
	n += rec(s + n, FCGI_STDERR, 1, NULL, 0, 0);
	n += rec(s + n, FCGI_STDOUT, 1, NULL, 0, 0);
	n += rec(s + n, FCGI_END_REQUEST, 1, "\0\0\0\x03\0\0\0\0", 8, 0);
	for (size_t i = 0; i <= n; i++) {
		memset(c, 0, sizeof(*c));
		fy_fcgi_parser_init(&p);
		if (feed(&p, (const char *)s, i, c) == FY_AGAIN)
			feed(&p, (const char *)s + i, n - i, c);
		assert_int_equal(c->rc, FY_DONE);
		assert_int_equal(c->consumed, n);
		assert_int_equal(c->out_len, 15);
		assert_int_equal(c->err_len, 3);
		assert_int_equal(c->empty_stdout, 1);
		assert_int_equal(c->empty_stderr, 1);
		assert_int_equal(c->ignored, 2);
		assert_int_equal(c->app_status, 3);
		assert_int_equal(c->unknown_type, 0);
	}
	free(c);
}

static void test_decode_unknown_type_reported(void **state)
{
	unsigned char s[32];
	size_t n = rec(s, FCGI_UNKNOWN_TYPE, 0, "\x0c\0\0\0\0\0\0\0", 8, 0);
	struct fy_fcgi_parser p;
	struct fy_fcgi_event ev;
	size_t used;

	(void)state;
	fy_fcgi_parser_init(&p);
	assert_int_equal(fy_fcgi_parse(&p, (const char *)s, n, &used, &ev),
			 FY_OK);
	assert_int_equal(used, n);
	assert_int_equal(ev.type, FY_FCGI_EV_IGNORED);
	assert_int_equal(ev.record_type, FCGI_UNKNOWN_TYPE);
	assert_int_equal(ev.unknown_type, 12);
}

static void test_decode_big_record_and_padding(void **state)
{
	size_t big = 65535, n = 0;
	unsigned char *s = malloc(big + 512);
	char *data = filled(big, 'B');
	struct fy_fcgi_parser p;
	struct collected *c = calloc(1, sizeof(*c));

	(void)state;
	assert_non_null(s);
	assert_non_null(c);
	n += rec(s + n, FCGI_STDOUT, 1, data, big, 255 - 16);
	n +=
	    rec(s + n, FCGI_END_REQUEST, 1, "\x01\x02\x03\x04\x02\0\0\0", 8, 3);
	fy_fcgi_parser_init(&p);
	feed(&p, (const char *)s, n, c);
	assert_int_equal(c->rc, FY_DONE);
	assert_int_equal(c->out_len, big);
	assert_int_equal(c->app_status, 0x01020304);
	assert_int_equal(c->protocol_status, FCGI_OVERLOADED);
	assert_int_equal(c->consumed, n);
	free(s);
	free(data);
	free(c);
}

static void test_decode_end_then_trailing(void **state)
{
	unsigned char s[64];
	size_t n = 0, used = 0;
	struct fy_fcgi_parser p;
	struct fy_fcgi_event ev;

	(void)state;
	n += rec(s + n, FCGI_END_REQUEST, 1, "\0\0\0\0\0\0\0\0", 8, 0);
	n += rec(s + n, FCGI_STDOUT, 1, "late", 4, 4);
	fy_fcgi_parser_init(&p);
	assert_int_equal(fy_fcgi_parse(&p, (const char *)s, n, &used, &ev),
			 FY_DONE);
	assert_int_equal(used, 16);
	assert_int_equal(ev.type, FY_FCGI_EV_END);
	assert_int_equal(
	    fy_fcgi_parse(&p, (const char *)s + 16, n - 16, &used, &ev),
	    FY_ERROR);
	assert_int_equal(p.error, FY_FCGI_ERR_AFTER_END);
	assert_int_equal(used, 0);

	/* A kept connection starts the next request with a fresh parser. */
	fy_fcgi_parser_init(&p);
	assert_int_equal(
	    fy_fcgi_parse(&p, (const char *)s + 16, n - 16, &used, &ev), FY_OK);
	assert_int_equal(ev.type, FY_FCGI_EV_STDOUT);
	assert_int_equal(ev.len, 4);
	assert_memory_equal(ev.data, "late", 4);
}

static void test_decode_padding_before_end(void **state)
{
	/* END is reported only once its padding is in. */
	unsigned char s[64];
	size_t n = rec(s, FCGI_END_REQUEST, 1, "\0\0\0\0\0\0\0\0", 8, 8);
	struct fy_fcgi_parser p;
	struct fy_fcgi_event ev;
	size_t used = 0;

	(void)state;
	fy_fcgi_parser_init(&p);
	assert_int_equal(fy_fcgi_parse(&p, (const char *)s, n - 1, &used, &ev),
			 FY_AGAIN);
	assert_int_equal(used, n - 1);
	assert_int_equal(
	    fy_fcgi_parse(&p, (const char *)s + n - 1, 1, &used, &ev), FY_DONE);
	assert_int_equal(used, 1);
}

static void expect_error(const unsigned char *s, size_t n,
			 enum fy_fcgi_parse_error err)
{
	struct fy_fcgi_parser p;
	struct collected *c = calloc(1, sizeof(*c));

	assert_non_null(c);
	fy_fcgi_parser_init(&p);
	assert_int_equal(feed(&p, (const char *)s, n, c), FY_ERROR);
	assert_int_equal(p.error, err);
	assert_string_not_equal(fy_fcgi_parse_strerror(err), "unknown error");
	/* Split anywhere: the same error, detected once the header is in. */
	for (size_t i = 0; i <= n; i++) {
		memset(c, 0, sizeof(*c));
		fy_fcgi_parser_init(&p);
		if (feed(&p, (const char *)s, i, c) == FY_AGAIN)
			feed(&p, (const char *)s + i, n - i, c);
		assert_int_equal(c->rc, FY_ERROR);
		assert_int_equal(p.error, err);
	}
	free(c);
}

static void test_decode_errors(void **state)
{
	static const unsigned bad_types[] = {
	    0,		FCGI_BEGIN_REQUEST, FCGI_ABORT_REQUEST, FCGI_PARAMS,
	    FCGI_STDIN, FCGI_DATA,	    FCGI_GET_VALUES,	12,
	    255,
	};
	unsigned char s[64];
	size_t n;

	(void)state;
	n = rec(s, FCGI_STDOUT, 1, "abc", 3, 5);
	s[0] = 2;
	expect_error(s, n, FY_FCGI_ERR_VERSION);
	s[0] = 0;
	expect_error(s, n, FY_FCGI_ERR_VERSION);

	n = rec(s, FCGI_STDOUT, 2, "abc", 3, 5);
	expect_error(s, n, FY_FCGI_ERR_REQUEST_ID);
	n = rec(s, FCGI_STDERR, 0, "abc", 3, 5);
	expect_error(s, n, FY_FCGI_ERR_REQUEST_ID);
	n = rec(s, FCGI_END_REQUEST, 0x101, "\0\0\0\0\0\0\0\0", 8, 0);
	expect_error(s, n, FY_FCGI_ERR_REQUEST_ID);
	n = rec(s, FCGI_GET_VALUES_RESULT, 1, NULL, 0, 0);
	expect_error(s, n, FY_FCGI_ERR_REQUEST_ID);
	n = rec(s, FCGI_UNKNOWN_TYPE, 1, "\x0c\0\0\0\0\0\0\0", 8, 0);
	expect_error(s, n, FY_FCGI_ERR_REQUEST_ID);

	for (size_t i = 0; i < FY_ARRAY_SIZE(bad_types); i++) {
		n = rec(s, bad_types[i], 1, "abcdefgh", 8, 0);
		expect_error(s, n, FY_FCGI_ERR_TYPE);
	}

	n = rec(s, FCGI_END_REQUEST, 1, "\0\0\0\0\0\0\0", 7, 1);
	expect_error(s, n, FY_FCGI_ERR_LENGTH);
	n = rec(s, FCGI_END_REQUEST, 1, "\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0", 16,
		0);
	expect_error(s, n, FY_FCGI_ERR_LENGTH);
	n = rec(s, FCGI_UNKNOWN_TYPE, 0, NULL, 0, 0);
	expect_error(s, n, FY_FCGI_ERR_LENGTH);

	/* An error after good records: what came before was reported. */
	n = rec(s, FCGI_STDOUT, 1, "ok", 2, 6);
	n += rec(s + n, FCGI_STDIN, 1, NULL, 0, 0);
	{
		struct fy_fcgi_parser p;
		struct collected *c = calloc(1, sizeof(*c));

		assert_non_null(c);
		fy_fcgi_parser_init(&p);
		assert_int_equal(feed(&p, (const char *)s, n, c), FY_ERROR);
		assert_int_equal(c->out_len, 2);
		assert_int_equal(p.error, FY_FCGI_ERR_TYPE);
		free(c);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_header_padding),
	    cmocka_unit_test(test_begin_abort_end),
	    cmocka_unit_test(test_pair_lengths),
	    cmocka_unit_test(test_pair_4byte_value),
	    cmocka_unit_test(test_stream_encode),
	    cmocka_unit_test(test_stream_split),
	    cmocka_unit_test(test_params_small_exact),
	    cmocka_unit_test(test_params_empty),
	    cmocka_unit_test(test_params_split_at_pair_boundary),
	    cmocka_unit_test(test_params_largest_pair),
	    cmocka_unit_test(test_params_no_space),
	    cmocka_unit_test(test_params_from_cgi_build),
	    cmocka_unit_test(test_evbuffer_stream),
	    cmocka_unit_test(test_decode_fpm_whole),
	    cmocka_unit_test(test_decode_fpm_every_split),
	    cmocka_unit_test(test_decode_libfcgi_style),
	    cmocka_unit_test(test_decode_unknown_type_reported),
	    cmocka_unit_test(test_decode_big_record_and_padding),
	    cmocka_unit_test(test_decode_end_then_trailing),
	    cmocka_unit_test(test_decode_padding_before_end),
	    cmocka_unit_test(test_decode_errors),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
