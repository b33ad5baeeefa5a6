/*
 * http_parser.c - HTTP/1.1 request head parser and framing checks.
 */
#include <stdint.h>
#include <string.h>

#include "foyer/core.h"
#include "foyer/http.h"

/* Empty lines tolerated before the request line (RFC 9112 2.2 asks for at
 * least one); beyond this a client is only wasting our time. */
#define MAX_LEADING_EMPTY_LINES 256

/* RFC 9110 5.6.2 tchar. */
static const uint8_t tchar[256] = {
    ['!'] = 1, ['#' ... '\''] = 1, ['*'] = 1,	      ['+'] = 1, ['-'] = 1,
    ['.'] = 1, ['0' ... '9'] = 1,  ['A' ... 'Z'] = 1, ['^'] = 1, ['_'] = 1,
    ['`'] = 1, ['a' ... 'z'] = 1,  ['|'] = 1,	      ['~'] = 1,
};

/* Octets allowed in a request-target: no SP, no CTL, no DEL. */
static const uint8_t target_ok[256] = {
    [0x21 ... 0x7e] = 1,
    [0x80 ... 0xff] = 1,
};

/* Octets allowed in a field value: VCHAR, obs-text, SP and HTAB. */
static const uint8_t value_ok[256] = {
    ['\t'] = 1,
    [0x20 ... 0x7e] = 1,
    [0x80 ... 0xff] = 1,
};

static inline unsigned char lower(unsigned char c)
{
	return (c >= 'A' && c <= 'Z') ? (unsigned char)(c | 0x20) : c;
}

/* b is already lower case. */
static int equal_nocase(const char *a, const char *b, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (lower((unsigned char)a[i]) != (unsigned char)b[i])
			return 0;
	return 1;
}

static inline int is_ows(char c)
{
	return c == ' ' || c == '\t';
}

/*
 * Skips eight octets at a time while none of them is below lo or DEL, then
 * hands the rest to the caller's exact table loop. Octets 0x80-0xff have the
 * high bit set and never trip the test (Hacker's Delight, "has less").
 */
static inline const unsigned char *
skip_text(const unsigned char *p, const unsigned char *end, unsigned char lo)
{
	const uint64_t ones = 0x0101010101010101ull;
	const uint64_t highs = 0x8080808080808080ull;

	while (end - p >= 8) {
		uint64_t x, del;

		memcpy(&x, p, 8);
		del = x ^ (ones * 0x7f);
		if (((x - ones * lo) & ~x & highs) ||
		    ((del - ones) & ~del & highs))
			break;
		p += 8;
	}
	return p;
}

static int fail(int *status, int code)
{
	*status = code;
	return FY_HTTP_ERROR;
}

/* "HTTP/" DIGIT "." DIGIT, checked octet by octet so that a bad prefix is
 * refused before the rest arrives. 'D' stands for a digit. */
static const char version_shape[8] = {'H', 'T', 'T', 'P', '/', 'D', '.', 'D'};

int fy_http_parse_request(const char *buf, size_t len,
			  struct fy_http_request_head *req,
			  const struct fy_http_limits *lim, int *status)
{
	const unsigned char *p = (const unsigned char *)buf;
	const unsigned char *end = p + len;
	const unsigned char *line, *lend, *tok, *fend;
	size_t capacity = req->num_headers;
	size_t max_fields = lim->fields < capacity ? lim->fields : capacity;
	size_t n = 0;
	int empty_lines = 0;

	req->num_headers = 0;

	while (p < end && *p == '\r') {
		if (p + 1 == end)
			return FY_HTTP_INCOMPLETE;
		if (p[1] != '\n' || ++empty_lines > MAX_LEADING_EMPTY_LINES)
			return fail(status, 400);
		p += 2;
	}

	/*
	 * The scan of the request line stops one octet past the limit: an
	 * octet of the line found there proves the line too long, whether or
	 * not its end has arrived.
	 */
	line = p;
	lend = (size_t)(end - line) > lim->request_line
		   ? line + lim->request_line + 1
		   : end;

	tok = p;
	while (p < lend && tchar[*p])
		p++;
	if (p == lend)
		goto line_short;
	if (*p != ' ' || p == tok)
		return fail(status, 400);
	req->method = (const char *)tok;
	req->method_len = (size_t)(p - tok);
	p++;

	tok = p;
	p = skip_text(p, lend, 0x21);
	while (p < lend && target_ok[*p])
		p++;
	if (p == lend)
		goto line_short;
	if (*p != ' ' || p == tok)
		return fail(status, 400);
	req->target = (const char *)tok;
	req->target_len = (size_t)(p - tok);
	p++;

	tok = p;
	for (int i = 0; i < 8; i++, p++) {
		if (p == lend)
			goto line_short;
		if (version_shape[i] == 'D'
			? (*p < '0' || *p > '9')
			: *p != (unsigned char)version_shape[i])
			return fail(status, 400);
	}
	if ((size_t)(p - line) > lim->request_line)
		return fail(status, 414);
	if (p == end)
		return FY_HTTP_INCOMPLETE;
	if (*p != '\r')
		return fail(status, 400);
	if (p + 1 == end)
		return FY_HTTP_INCOMPLETE;
	if (p[1] != '\n')
		return fail(status, 400);
	if (tok[5] != '1' || (tok[7] != '0' && tok[7] != '1'))
		return fail(status, 505);
	req->minor_version = tok[7] - '0';
	req->request_line = (const char *)line;
	req->request_line_len = (size_t)(p - line);
	p += 2;

	for (;;) {
		const unsigned char *name, *value, *vend;

		if (p == end)
			return FY_HTTP_INCOMPLETE;
		if (*p == '\r') {
			if (p + 1 == end)
				return FY_HTTP_INCOMPLETE;
			if (p[1] != '\n')
				return fail(status, 400);
			req->num_headers = n;
			return (int)(p + 2 - (const unsigned char *)buf);
		}
		/* Anything else that is not a tchar (obs-fold, bare LF, NUL,
		 * ':' alone) fails the name check below. */
		if (n == max_fields)
			return fail(status, 431);

		line = p;
		fend = (size_t)(end - line) > lim->field_size
			   ? line + lim->field_size + 1
			   : end;

		name = p;
		while (p < fend && tchar[*p])
			p++;
		if (p == fend)
			goto field_short;
		if (*p != ':' || p == name)
			return fail(status, 400);
		req->headers[n].name = (const char *)name;
		req->headers[n].name_len = (size_t)(p - name);
		p++;

		while (p < fend && is_ows((char)*p))
			p++;
		value = p;
		p = skip_text(p, fend, 0x20);
		while (p < fend && value_ok[*p])
			p++;
		if (p == fend)
			goto field_short;
		if (*p != '\r')
			return fail(status, 400);
		if (p + 1 == end)
			return FY_HTTP_INCOMPLETE;
		if (p[1] != '\n')
			return fail(status, 400);
		vend = p;
		while (vend > value && is_ows((char)vend[-1]))
			vend--;
		req->headers[n].value = (const char *)value;
		req->headers[n].value_len = (size_t)(vend - value);
		n++;
		p += 2;
	}

line_short:
	if ((size_t)(p - line) > lim->request_line)
		return fail(status, 414);
	return FY_HTTP_INCOMPLETE;

field_short:
	if ((size_t)(p - line) > lim->field_size)
		return fail(status, 431);
	return FY_HTTP_INCOMPLETE;
}

ssize_t fy_http_find_header(const struct fy_http_request_head *req,
			    const char *name, size_t name_len)
{
	for (size_t i = 0; i < req->num_headers; i++) {
		const struct fy_http_header *h = &req->headers[i];
		size_t k;

		if (h->name_len != name_len)
			continue;
		for (k = 0; k < name_len; k++)
			if (lower((unsigned char)h->name[k]) !=
			    lower((unsigned char)name[k]))
				break;
		if (k == name_len)
			return (ssize_t)i;
	}
	return -1;
}

/*
 * Calls fn for each element of a comma-separated list, OWS trimmed; empty
 * elements are skipped as RFC 9110 5.6.1 requires. Stops at the first
 * non-zero result and returns it.
 */
static int each_element(const char *v, size_t len,
			int (*fn)(const char *, size_t, void *), void *arg)
{
	const char *end = v + len;

	while (v < end) {
		const char *s = v, *e;
		int r;

		while (v < end && *v != ',')
			v++;
		e = v;
		if (v < end)
			v++;
		while (s < e && is_ows(*s))
			s++;
		while (e > s && is_ows(e[-1]))
			e--;
		if (s == e)
			continue;
		r = fn(s, (size_t)(e - s), arg);
		if (r)
			return r;
	}
	return 0;
}

struct token_match {
	const char *token;
	size_t len;
};

static int match_token(const char *s, size_t n, void *arg)
{
	const struct token_match *m = arg;
	size_t k;

	if (n != m->len)
		return 0;
	for (k = 0; k < n; k++)
		if (lower((unsigned char)s[k]) !=
		    lower((unsigned char)m->token[k]))
			return 0;
	return 1;
}

int fy_http_value_has_token(const char *value, size_t len, const char *token)
{
	struct token_match m = {token, strlen(token)};

	return each_element(value, len, match_token, &m);
}

/* What the Transfer-Encoding fields of one request say, all lines together. */
struct te_state {
	int codings;
	int chunked;	  /* times "chunked" was seen */
	int unknown;	  /* a coding we do not implement */
	int last_chunked; /* the last coding so far is chunked */
	int malformed;
};

static int add_coding(const char *s, size_t n, void *arg)
{
	struct te_state *te = arg;
	size_t k = 0;

	/* A coding may carry parameters; only its name matters here. */
	size_t j;

	while (k < n && tchar[(unsigned char)s[k]])
		k++;
	for (j = k; j < n && is_ows(s[j]); j++)
		;
	if (k == 0 || (j < n && s[j] != ';')) {
		te->malformed = 1;
		return 1;
	}
	te->codings++;
	if (k == 7 && equal_nocase(s, "chunked", 7)) {
		te->chunked++;
		te->last_chunked = 1;
	} else {
		te->unknown = 1;
		te->last_chunked = 0;
	}
	return 0;
}

/* 1*DIGIT into a non-negative int64; -1 when empty, not digits or too big. */
static int64_t parse_length(const char *s, size_t n)
{
	int64_t v = 0;

	if (n == 0)
		return -1;
	for (size_t i = 0; i < n; i++) {
		unsigned d = (unsigned char)s[i] - '0';

		if (d > 9 || v > (INT64_MAX - (int64_t)d) / 10)
			return -1;
		v = v * 10 + (int64_t)d;
	}
	return v;
}

/*
 * Host is uri-host [ ":" port ] (RFC 9110 7.2): reg-name or IP-literal
 * octets only. The value picks the site and reaches logs and PHP as
 * SERVER_NAME material, so whitespace, '/', '\\' or '@' are refused here
 * rather than trusted later. An empty value is allowed (RFC 9112 3.2).
 */
static int valid_host(const char *v, size_t len)
{
	for (size_t i = 0; i < len; i++) {
		unsigned char c = (unsigned char)v[i];
		if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
		    (c >= '0' && c <= '9'))
			continue;
		switch (c) {
		case '-': case '.': case '_': case '~': case '!': case '$':
		case '&': case '\'': case '(': case ')': case '*': case '+':
		case ',': case ';': case '=': case '%': case ':': case '[':
		case ']':
			continue;
		default:
			return 0;
		}
	}
	return 1;
}

int fy_http_check_framing(const struct fy_http_request_head *req,
			  struct fy_http_framing *out)
{
	struct te_state te = {0};
	int te_fields = 0, cl_fields = 0, hosts = 0;
	int conn_close = 0, conn_keep_alive = 0;
	int bad_expect = 0, expect_continue = 0;
	int cl_bad = 0;
	int64_t cl = -1;

	out->content_length = -1;
	out->chunked = 0;
	out->keep_alive = 0;
	out->expect_continue = 0;
	out->host = NULL;
	out->host_len = 0;

	for (size_t i = 0; i < req->num_headers; i++) {
		const struct fy_http_header *h = &req->headers[i];
		const char *v = h->value;
		size_t vl = h->value_len;

		switch (h->name_len) {
		case 4:
			if (equal_nocase(h->name, "host", 4)) {
				hosts++;
				out->host = v;
				out->host_len = vl;
			}
			break;
		case 6:
			if (equal_nocase(h->name, "expect", 6)) {
				if (vl == 12 &&
				    equal_nocase(v, "100-continue", 12))
					expect_continue = 1;
				else
					bad_expect = 1;
			}
			break;
		case 10:
			if (equal_nocase(h->name, "connection", 10)) {
				conn_close |=
				    fy_http_value_has_token(v, vl, "close");
				conn_keep_alive |= fy_http_value_has_token(
				    v, vl, "keep-alive");
			}
			break;
		case 14:
			if (equal_nocase(h->name, "content-length", 14)) {
				cl_fields++;
				cl = parse_length(v, vl);
				if (cl < 0)
					cl_bad = 1;
			}
			break;
		case 17:
			if (equal_nocase(h->name, "transfer-encoding", 17)) {
				te_fields++;
				each_element(v, vl, add_coding, &te);
			}
			break;
		default:
			break;
		}
	}

	if (hosts > 1 || (hosts == 0 && req->minor_version == 1))
		return 400;
	if (hosts == 1 && !valid_host(out->host, out->host_len))
		return 400;
	if (cl_bad || cl_fields > 1)
		return 400;
	if (te_fields) {
		if (req->minor_version == 0 || cl_fields)
			return 400;
		if (te.malformed || te.codings == 0 || te.chunked > 1)
			return 400;
		if (te.chunked && !te.last_chunked)
			return 400;
		if (te.unknown)
			return 501;
	}
	if (bad_expect)
		return 417;

	out->content_length = te_fields ? -1 : cl;
	out->chunked = te_fields != 0;
	if (req->minor_version == 1)
		out->keep_alive = !conn_close;
	else
		out->keep_alive = conn_keep_alive && !conn_close;
	/* RFC 9110 10.1.1: a 100-continue expectation in HTTP/1.0 is
	 * ignored. */
	out->expect_continue = expect_continue && req->minor_version == 1;
	return 0;
}
