/*
 * fuzz_http_parser.c - libFuzzer target: request head, framing checks, then
 * the rest of the input through the chunked decoder in several pieces.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "foyer/core.h"
#include "foyer/http.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check(int ok)
{
	if (!ok)
		abort();
}

static int inside(const char *p, size_t n, const char *buf, size_t len)
{
	return p >= buf && n <= len && (size_t)(p - buf) <= len - n;
}

static void check_head(const struct fy_http_request_head *req, const char *buf,
		       size_t consumed)
{
	check(req->method_len > 0 &&
	      inside(req->method, req->method_len, buf, consumed));
	check(req->target_len > 0 &&
	      inside(req->target, req->target_len, buf, consumed));
	check(inside(req->request_line, req->request_line_len, buf, consumed));
	check(req->request_line_len <= 8190);
	check(req->minor_version == 0 || req->minor_version == 1);
	check(req->num_headers <= 100);
	for (size_t i = 0; i < req->num_headers; i++) {
		const struct fy_http_header *h = &req->headers[i];

		check(h->name_len > 0 &&
		      inside(h->name, h->name_len, buf, consumed));
		check(inside(h->value, h->value_len, buf, consumed));
		check(h->name + h->name_len < h->value);
		check(fy_http_find_header(req, h->name, h->name_len) >= 0);
		if (h->value_len) {
			check(h->value[0] != ' ' && h->value[0] != '\t');
			check(h->value[h->value_len - 1] != ' ' &&
			      h->value[h->value_len - 1] != '\t');
		}
		for (size_t k = 0; k < h->value_len; k++)
			check(h->value[k] != '\r' && h->value[k] != '\n' &&
			      h->value[k] != '\0');
	}
}

/* The body, fed in pieces whose sizes come from the input itself. */
static void run_chunked(const char *in, size_t len, uint8_t seed)
{
	struct fy_http_chunked dec = {0};
	size_t off = 0, avail = 0, step = (size_t)(seed % 7) + 1;
	uint64_t total = 0;
	int rc = FY_AGAIN;

	while (rc == FY_AGAIN && avail < len) {
		avail = avail + step < len ? avail + step : len;
		step = step * 3 % 11 + 1;
		while (off < avail) {
			size_t consumed = 0, dlen = 0;
			const char *d = NULL;

			rc = fy_http_chunked_decode(&dec, in + off, avail - off,
						    &consumed, &d, &dlen);
			check(consumed <= avail - off);
			if (dlen) {
				check(rc == FY_AGAIN);
				check(inside(d, dlen, in + off, consumed));
			}
			total += dlen;
			check(dec.total == total);
			off += consumed;
			if (rc != FY_AGAIN)
				break;
			check(consumed > 0);
		}
	}
	check(rc == FY_AGAIN || rc == FY_DONE || rc == FY_ERROR);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const struct fy_http_limits lim = {8190, 100, 8190};
	struct fy_http_header headers[101];
	struct fy_http_request_head req = {.headers = headers,
					   .num_headers = 101};
	struct fy_http_framing f;
	const char *buf;
	char *copy;
	int status = 0, rc;

	/* An exact-size copy so that the sanitizer sees any over-read. */
	copy = malloc(size ? size : 1);
	if (!copy)
		return 0;
	memcpy(copy, data, size);
	buf = copy;

	rc = fy_http_parse_request(buf, size, &req, &lim, &status);
	if (rc == FY_HTTP_ERROR) {
		check(status == 400 || status == 414 || status == 431 ||
		      status == 505);
	} else if (rc == FY_HTTP_INCOMPLETE) {
		/* Nothing. */
	} else {
		check(rc > 0 && (size_t)rc <= size);
		check(buf[rc - 1] == '\n' && buf[rc - 2] == '\r');
		check_head(&req, buf, (size_t)rc);
		status = fy_http_check_framing(&req, &f);
		check(status == 0 || status == 400 || status == 417 ||
		      status == 501);
		if (status == 0) {
			check(f.content_length >= -1);
			check(!(f.chunked && f.content_length >= 0));
			check(f.host == NULL ||
			      inside(f.host, f.host_len, buf, (size_t)rc));
		}
		run_chunked(buf + rc, size - (size_t)rc, data[0]);
	}
	/* The decoder on its own, from the very first byte. */
	run_chunked(buf, size, size ? data[size - 1] : 0);
	free(copy);
	return 0;
}
