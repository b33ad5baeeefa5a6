/*
 * response.c - framing of responses: the status line and the headers every
 * response carries, bodies (Content-Length, chunked or close-delimited),
 * error pages, and HTTP dates.
 */
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "foyer/core.h"
#include "proxy.h"

static const char *const wkday[] = {"Sun", "Mon", "Tue", "Wed",
				    "Thu", "Fri", "Sat"};
static const char *const month[] = {"Jan", "Feb", "Mar", "Apr",
				    "May", "Jun", "Jul", "Aug",
				    "Sep", "Oct", "Nov", "Dec"};

static char *put2(char *p, int v)
{
	*p++ = (char)('0' + v / 10);
	*p++ = (char)('0' + v % 10);
	return p;
}

size_t fy_http_date(time_t t, char *buf)
{
	struct tm tm;
	gmtime_r(&t, &tm);
	/* By hand: no locale, and it runs for every Last-Modified. */
	char *p = buf;
	memcpy(p, wkday[tm.tm_wday], 3);
	p += 3;
	*p++ = ',';
	*p++ = ' ';
	p = put2(p, tm.tm_mday);
	*p++ = ' ';
	memcpy(p, month[tm.tm_mon], 3);
	p += 3;
	*p++ = ' ';
	int y = tm.tm_year + 1900;
	p = put2(p, (y / 100) % 100);
	p = put2(p, y % 100);
	*p++ = ' ';
	p = put2(p, tm.tm_hour);
	*p++ = ':';
	p = put2(p, tm.tm_min);
	*p++ = ':';
	p = put2(p, tm.tm_sec);
	memcpy(p, " GMT", 5);
	return (size_t)(p + 4 - buf);
}

static int parse_month(const char *s)
{
	for (int i = 0; i < 12; i++)
		if (strncmp(s, month[i], 3) == 0)
			return i;
	return -1;
}

time_t fy_http_date_parse(const char *s, size_t len)
{
	char buf[64];
	if (len == 0 || len >= sizeof(buf))
		return -1;
	memcpy(buf, s, len);
	buf[len] = '\0';
	struct tm tm;
	memset(&tm, 0, sizeof(tm));
	char mon[4] = {0}, wd[16] = {0};
	int d, y, h, mi, sec, n = 0;

	/* IMF-fixdate: Sun, 06 Nov 1994 08:49:37 GMT */
	if (sscanf(buf, "%3s, %2d %3s %4d %2d:%2d:%2d GMT%n", wd, &d, mon, &y,
		   &h, &mi, &sec, &n) == 7 &&
	    n == (int)len) {
		/* fallthrough to fill */
	} else if (n = 0, sscanf(buf, "%15[A-Za-z], %2d-%3s-%2d %2d:%2d:%2d GMT%n",
				 wd, &d, mon, &y, &h, &mi, &sec, &n) == 7 &&
		   n == (int)len) {
		/* rfc850-date: Sunday, 06-Nov-94 08:49:37 GMT */
		y += y < 70 ? 2000 : 1900;
	} else if (n = 0, sscanf(buf, "%3s %3s %2d %2d:%2d:%2d %4d%n", wd, mon,
				 &d, &h, &mi, &sec, &y, &n) == 7 &&
		   n == (int)len) {
		/* asctime-date: Sun Nov  6 08:49:37 1994 */
	} else {
		return -1;
	}
	int m = parse_month(mon);
	if (m < 0 || d < 1 || d > 31 || h > 23 || mi > 59 || sec > 60 ||
	    y < 1970)
		return -1;
	tm.tm_year = y - 1900;
	tm.tm_mon = m;
	tm.tm_mday = d;
	tm.tm_hour = h;
	tm.tm_min = mi;
	tm.tm_sec = sec;
	return timegm(&tm);
}

/* One cached Date line per thread (worker and event MPMs run loops in
 * threads), refreshed when the second changes. */
static __thread time_t date_sec = -1;
static __thread char date_line[48];
static __thread size_t date_len;

const char *fy_response_date_line(size_t *len)
{
	time_t now = time(NULL);
	if (now != date_sec) {
		memcpy(date_line, "Date: ", 6);
		size_t n = fy_http_date(now, date_line + 6);
		memcpy(date_line + 6 + n, "\r\n", 3);
		date_len = 6 + n + 2;
		date_sec = now;
	}
	*len = date_len;
	return date_line;
}

void fy_response_add_header(struct fy_request *r, const char *name,
			    const char *value)
{
	if (r->n_resp_headers < FY_RESP_MAX_HEADERS) {
		r->resp_headers[r->n_resp_headers].name = name;
		r->resp_headers[r->n_resp_headers].value = value;
		r->n_resp_headers++;
	}
}

static int status_has_body(int status)
{
	return !(status < 200 || status == 204 || status == 304);
}

/* Appends s to the head being built; the head buffer is sized so that only
 * handler headers can overflow it, in which case they are cut. */
struct head_buf {
	char *p;
	size_t len, cap;
	int overflow;
};

static void put(struct head_buf *b, const char *s, size_t n)
{
	if (b->len + n > b->cap) {
		b->overflow = 1;
		return;
	}
	memcpy(b->p + b->len, s, n);
	b->len += n;
}

static void puts_(struct head_buf *b, const char *s)
{
	put(b, s, strlen(s));
}

void fy_response_head(struct fy_request *r, int status, int64_t content_length)
{
	struct fy_conn *c = r->conn;
	char stack[4096];
	struct head_buf b = {.p = stack, .cap = sizeof(stack)};
	char num[32];

	r->status = status;
	if (content_length == -1) {
		if (r->head.minor_version == 1 && status_has_body(status) &&
		    r->method != FY_METHOD_HEAD)
			r->chunked_out = 1;
		else if (status_has_body(status) && r->method != FY_METHOD_HEAD)
			r->keep_alive = 0; /* the close ends the body */
	}

	char *e = num;
	memcpy(e, "HTTP/1.1 ", 9);
	e = fy_put_u64(e + 9, (uint64_t)(status > 0 && status < 1000 ? status : 500));
	*e++ = ' ';
	put(&b, num, (size_t)(e - num));
	puts_(&b, r->reason != NULL ? r->reason : fy_http_reason(status));
	put(&b, "\r\n", 2);
	size_t dl;
	const char *date = fy_response_date_line(&dl);
	put(&b, date, dl);
	if (c->loop->cfg->server_tokens != NULL &&
	    strcmp(c->loop->cfg->server_tokens, "prod") == 0)
		puts_(&b, "Server: foyer\r\n");
	else
		puts_(&b, "Server: " FY_SERVER_TOKEN "\r\n");
	for (size_t i = 0; i < r->n_resp_headers; i++) {
		puts_(&b, r->resp_headers[i].name);
		put(&b, ": ", 2);
		puts_(&b, r->resp_headers[i].value);
		put(&b, "\r\n", 2);
	}
	if (r->content_type != NULL) {
		puts_(&b, "Content-Type: ");
		puts_(&b, r->content_type);
		put(&b, "\r\n", 2);
	}
	if (r->location != NULL) {
		puts_(&b, "Location: ");
		puts_(&b, r->location);
		put(&b, "\r\n", 2);
	}
	if (content_length >= 0) {
		put(&b, "Content-Length: ", 16);
		e = fy_put_u64(num, (uint64_t)content_length);
		*e++ = '\r';
		*e++ = '\n';
		put(&b, num, (size_t)(e - num));
	} else if (r->chunked_out) {
		puts_(&b, "Transfer-Encoding: chunked\r\n");
	}
	if (!r->keep_alive)
		puts_(&b, "Connection: close\r\n");
	else if (r->head.minor_version == 0)
		puts_(&b, "Connection: keep-alive\r\n");
	put(&b, "\r\n", 2);
	if (b.overflow) {
		struct fy_log_ctx ctx;
		fy_log_ctx_fill(r, &ctx);
		fy_log(FY_LOG_ERR, "http", &ctx,
		       "response head over %zu bytes was cut", sizeof(stack));
		/* still end the head properly */
		b.len = b.len > b.cap - 2 ? b.cap - 2 : b.len;
		memcpy(b.p + b.len, "\r\n", 2);
		b.len += 2;
	}
	evbuffer_add(c->out, b.p, b.len);
	r->bytes_header += b.len;
	r->head_sent = 1;
}

int fy_response_body_add(struct fy_request *r, const void *data, size_t len)
{
	if (len == 0 || r->method == FY_METHOD_HEAD || !status_has_body(r->status))
		return FY_OK;
	struct evbuffer *out = r->conn->out;
	if (r->chunked_out) {
		char sz[24];
		int n = snprintf(sz, sizeof(sz), "%zx\r\n", len);
		if (evbuffer_add(out, sz, (size_t)n) != 0 ||
		    evbuffer_add(out, data, len) != 0 ||
		    evbuffer_add(out, "\r\n", 2) != 0)
			return FY_ERROR;
		r->bytes_header += (uint64_t)n + 2;
	} else if (evbuffer_add(out, data, len) != 0) {
		return FY_ERROR;
	}
	r->bytes_body += len;
	return FY_OK;
}

int fy_response_body_end(struct fy_request *r)
{
	if (!r->chunked_out)
		return FY_OK;
	if (evbuffer_add(r->conn->out, "0\r\n\r\n", 5) != 0)
		return FY_ERROR;
	r->bytes_header += 5;
	return FY_OK;
}

static const char *error_text(int status)
{
	switch (status) {
	case 301:
		return "The document has moved.";
	case 400:
		return "Your browser sent a request that this server could not "
		       "understand.";
	case 403:
		return "You don't have permission to access this resource.";
	case 404:
		return "The requested URL was not found on this server.";
	case 405:
		return "The requested method is not allowed for this URL.";
	case 408:
		return "Server timeout waiting for the HTTP request from the "
		       "client.";
	case 411:
		return "A request of the requested method requires a valid "
		       "Content-length.";
	case 413:
		return "The request body is larger than this server allows.";
	case 414:
		return "The requested URL's length exceeds the capacity limit "
		       "for this server.";
	case 416:
		return "None of the range specifier values in the Range request "
		       "header field overlap the current extent of the selected "
		       "resource.";
	case 417:
		return "The expectation given in the Expect request header "
		       "field could not be met by this server.";
	case 431:
		return "Your browser sent a request whose header fields are "
		       "too large for this server.";
	case 501:
		return "This server does not support the method or "
		       "transfer-coding of the request.";
	case 505:
		return "This server does not support the HTTP version of the "
		       "request.";
	default:
		return "The server could not complete the request.";
	}
}

void fy_response_error(struct fy_request *r, int status)
{
	char body[1024];
	const char *reason = fy_http_reason(status);
	int n = snprintf(body, sizeof(body),
			 "<!DOCTYPE html>\n<html><head>\n<title>%d %s</title>\n"
			 "</head><body>\n<h1>%s</h1>\n<p>%s</p>\n"
			 "<hr>\n<address>" FY_SERVER_TOKEN "</address>\n"
			 "</body></html>\n",
			 status, reason, reason, error_text(status));
	if (n < 0 || (size_t)n >= sizeof(body))
		n = 0;
	/* Errors with a body we did not read, or a head we could not parse,
	 * leave the connection in an unknown state. */
	if (status == 400 || status == 408 || status == 413 || status == 414 ||
	    status == 431 || status == 501 || status == 505 || status >= 500)
		r->keep_alive = 0;
	if (status == 405)
		fy_response_add_header(r, "Allow", "GET, HEAD, OPTIONS");
	r->content_type = "text/html; charset=utf-8";
	fy_response_head(r, status, n);
	fy_response_body_add(r, body, (size_t)n);
	r->finished = 1;
}

enum fy_method fy_method_parse(const char *m, size_t len)
{
	switch (len) {
	case 3:
		if (memcmp(m, "GET", 3) == 0)
			return FY_METHOD_GET;
		if (memcmp(m, "PUT", 3) == 0)
			return FY_METHOD_PUT;
		break;
	case 4:
		if (memcmp(m, "HEAD", 4) == 0)
			return FY_METHOD_HEAD;
		if (memcmp(m, "POST", 4) == 0)
			return FY_METHOD_POST;
		break;
	case 5:
		if (memcmp(m, "PATCH", 5) == 0)
			return FY_METHOD_PATCH;
		if (memcmp(m, "TRACE", 5) == 0)
			return FY_METHOD_TRACE;
		break;
	case 6:
		if (memcmp(m, "DELETE", 6) == 0)
			return FY_METHOD_DELETE;
		break;
	case 7:
		if (memcmp(m, "OPTIONS", 7) == 0)
			return FY_METHOD_OPTIONS;
		if (memcmp(m, "CONNECT", 7) == 0)
			return FY_METHOD_CONNECT;
		break;
	}
	return FY_METHOD_OTHER;
}
