/*
 * fuzz_fcgi_record.c - libFuzzer target: the FastCGI record decoder fed in
 * pieces, its STDOUT fed to the CGI response header parser; the header
 * parser on the raw input; and a round trip through the stream encoder.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "foyer/cgi_response.h"
#include "foyer/core.h"
#include "foyer/fcgi.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define MAX_HEADERS 32

static void check(int ok)
{
	if (!ok)
		abort();
}

static int inside(const char *p, size_t n, const char *buf, size_t len)
{
	return p >= buf && n <= len && (size_t)(p - buf) <= len - n;
}

static void check_response(const struct fy_cgi_response *r, const char *buf,
			   size_t cap)
{
	check(r->status >= 200 && r->status <= 599);
	check(!r->local_redirect || (r->location && r->location[0] == '/'));
	check(!r->local_redirect || !r->has_status);
	check(r->content_length >= -1);
	check(r->n_headers <= MAX_HEADERS);
	check(!r->reason || inside(r->reason, r->reason_len, buf, cap));
	check(!r->location || inside(r->location, r->location_len, buf, cap));
	for (size_t i = 0; i < r->n_headers; i++) {
		const struct fy_http_header *h = &r->headers[i];

		check(h->name_len > 0 &&
		      inside(h->name, h->name_len, buf, cap));
		check(inside(h->value, h->value_len, buf, cap));
		for (size_t k = 0; k < h->value_len; k++)
			check(h->value[k] != '\r' && h->value[k] != '\n' &&
			      h->value[k] != '\0');
		check(h->name_len != 6 ||
		      strncasecmp(h->name, "Status", 6) != 0);
		check(h->name_len != 17 ||
		      strncasecmp(h->name, "Transfer-Encoding", 17) != 0);
	}
}

/* The header parser alone over in, cut every step bytes. */
static void run_headers(const char *in, size_t len, size_t step, size_t cap)
{
	struct fy_http_header headers[MAX_HEADERS];
	struct fy_cgi_response r;
	char *buf = malloc(cap ? cap : 1);
	size_t off = 0, total = 0;
	int rc = FY_AGAIN;

	if (!buf)
		return;
	fy_cgi_response_init(&r, buf, cap, headers, MAX_HEADERS);
	while (rc == FY_AGAIN && off < len) {
		size_t n = len - off < step ? len - off : step, used = 0;

		rc = fy_cgi_response_parse(&r, in + off, n, &used);
		check(used <= n);
		check(rc != FY_AGAIN || used == n);
		off += used;
		total += used;
	}
	check(total <= cap);
	if (rc == FY_DONE)
		check_response(&r, buf, cap);
	else if (rc == FY_ERROR)
		check(r.error != FY_CGI_RESPONSE_OK);
	free(buf);
}

/* The record decoder over in, cut into pieces whose sizes vary with seed;
 * STDOUT goes to the header parser until its block ends. */
static void run_records(const char *in, size_t len, uint8_t seed)
{
	struct fy_http_header headers[MAX_HEADERS];
	struct fy_cgi_response r;
	struct fy_fcgi_parser p;
	size_t cap = 256 + (size_t)seed * 64, avail = 0, off = 0;
	size_t step = (size_t)(seed % 13) + 1;
	char *buf = malloc(cap);
	int rc = FY_AGAIN, hrc = FY_AGAIN;

	if (!buf)
		return;
	fy_fcgi_parser_init(&p);
	fy_cgi_response_init(&r, buf, cap, headers, MAX_HEADERS);
	while (rc != FY_DONE && rc != FY_ERROR && off < len) {
		avail = avail + step < len ? avail + step : len;
		step = step * 5 % 17 + 1;
		while (off < avail) {
			struct fy_fcgi_event ev;
			size_t used = 0;

			rc = fy_fcgi_parse(&p, in + off, avail - off, &used,
					   &ev);
			check(used <= avail - off);
			if (rc == FY_OK &&
			    (ev.type == FY_FCGI_EV_STDOUT ||
			     ev.type == FY_FCGI_EV_STDERR) &&
			    ev.len > 0)
				check(inside(ev.data, ev.len, in + off, used));
			if (rc == FY_OK && ev.type == FY_FCGI_EV_STDOUT &&
			    hrc == FY_AGAIN) {
				size_t hused = 0;

				hrc = fy_cgi_response_parse(&r, ev.data, ev.len,
							    &hused);
				check(hused <= ev.len);
			}
			if (rc == FY_DONE) {
				check(ev.type == FY_FCGI_EV_END);
				check(ev.record_type == FCGI_END_REQUEST);
			}
			if (rc == FY_ERROR)
				check(p.error != FY_FCGI_ERR_NONE);
			off += used;
			if (rc != FY_OK)
				break;
			check(used > 0);
		}
	}
	if (hrc == FY_DONE)
		check_response(&r, buf, cap);
	if (rc == FY_DONE) {
		struct fy_fcgi_event ev;
		size_t used = 1;

		check(fy_fcgi_parse(&p, in + off, len - off, &used, &ev) ==
		      FY_ERROR);
		check(used == 0 && p.error == FY_FCGI_ERR_AFTER_END);
	}
	free(buf);
}

/* Encoding the input as STDOUT records and decoding them gives it back. */
static void run_round_trip(const char *in, size_t len)
{
	size_t n = fy_fcgi_stream_size(len), off = 0, got = 0;
	unsigned char *enc;
	struct fy_fcgi_parser p;

	if (len == 0)
		return;
	enc = malloc(n);
	if (!enc)
		return;
	check(fy_fcgi_stream_encode(enc, n, FCGI_STDOUT, in, len) == n);
	fy_fcgi_parser_init(&p);
	while (off < n) {
		struct fy_fcgi_event ev;
		size_t used = 0;
		int rc = fy_fcgi_parse(&p, (const char *)enc + off, n - off,
				       &used, &ev);

		off += used;
		if (rc == FY_AGAIN)
			break;
		check(rc == FY_OK && ev.type == FY_FCGI_EV_STDOUT);
		check(ev.len <= len - got &&
		      memcmp(ev.data, in + got, ev.len) == 0);
		got += ev.len;
	}
	check(off == n && got == len);
	free(enc);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *copy;
	uint8_t seed;

	if (size == 0)
		return 0;
	seed = data[0];
	/* An exact-size copy so that the sanitizer sees any over-read. */
	copy = malloc(size - 1 ? size - 1 : 1);
	if (!copy)
		return 0;
	memcpy(copy, data + 1, size - 1);
	run_records(copy, size - 1, seed);
	run_headers(copy, size - 1, (size_t)(seed % 7) + 1,
		    (size_t)seed * 4 + 16);
	run_headers(copy, size - 1, size, 65536);
	run_round_trip(copy, size - 1);
	free(copy);
	return 0;
}
