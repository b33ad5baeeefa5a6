/*
 * cgi_response.c - the CGI header block of a gateway response.
 */
#include <string.h>
#include <strings.h>

#include "foyer/cgi_response.h"
#include "foyer/core.h"

enum field_kind {
	FIELD_FORWARD = 0,
	FIELD_STATUS,
	FIELD_LOCATION,
	FIELD_CONTENT_LENGTH,
	FIELD_X_SENDFILE,
	FIELD_X_ACCEL_REDIRECT,
	FIELD_DROP,
};

static const struct {
	const char *name;
	enum field_kind kind;
} special_fields[] = {
    {"Status", FIELD_STATUS},
    {"Location", FIELD_LOCATION},
    {"Content-Length", FIELD_CONTENT_LENGTH},
    {"X-Sendfile", FIELD_X_SENDFILE},
    {"X-Accel-Redirect", FIELD_X_ACCEL_REDIRECT},
    {"Connection", FIELD_DROP},
    {"Keep-Alive", FIELD_DROP},
    {"Proxy-Connection", FIELD_DROP},
    {"Transfer-Encoding", FIELD_DROP},
    {"TE", FIELD_DROP},
    {"Trailer", FIELD_DROP},
    {"Upgrade", FIELD_DROP},
};

void fy_cgi_response_init(struct fy_cgi_response *r, char *buf, size_t cap,
			  struct fy_http_header *headers, size_t max_headers)
{
	memset(r, 0, sizeof(*r));
	r->buf = buf;
	r->cap = cap;
	r->headers = headers;
	r->max_headers = max_headers;
	r->content_length = -1;
}

static int fail(struct fy_cgi_response *r, enum fy_cgi_response_error err)
{
	r->error = err;
	return FY_ERROR;
}

/* RFC 9110 tchar. */
static int is_tchar(unsigned char c)
{
	if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
	    (c >= '0' && c <= '9'))
		return 1;
	return c != '\0' && strchr("!#$%&'*+-.^_`|~", c) != NULL;
}

static enum field_kind kind_of(const char *name, size_t len)
{
	for (size_t i = 0; i < FY_ARRAY_SIZE(special_fields); i++)
		if (strlen(special_fields[i].name) == len &&
		    strncasecmp(special_fields[i].name, name, len) == 0)
			return special_fields[i].kind;
	return FIELD_FORWARD;
}

static int parse_status(struct fy_cgi_response *r, const char *v, size_t n)
{
	int code = 0;

	if (r->has_status || n < 3 || (n > 3 && v[3] != ' '))
		return fail(r, FY_CGI_RESPONSE_BAD_STATUS);
	for (size_t i = 0; i < 3; i++) {
		if (v[i] < '0' || v[i] > '9')
			return fail(r, FY_CGI_RESPONSE_BAD_STATUS);
		code = code * 10 + (v[i] - '0');
	}
	/* A final response only: a 1xx here could never be followed by the
	 * real one. */
	if (code < 200 || code > 599)
		return fail(r, FY_CGI_RESPONSE_BAD_STATUS);
	r->status = code;
	r->has_status = 1;
	if (n > 4) {
		r->reason = v + 4;
		r->reason_len = n - 4;
	}
	return FY_OK;
}

static int parse_length(struct fy_cgi_response *r, const char *v, size_t n)
{
	int64_t cl = 0;

	if (n == 0 || n > 18)
		return fail(r, FY_CGI_RESPONSE_BAD_LENGTH);
	for (size_t i = 0; i < n; i++) {
		if (v[i] < '0' || v[i] > '9')
			return fail(r, FY_CGI_RESPONSE_BAD_LENGTH);
		cl = cl * 10 + (v[i] - '0');
	}
	if (r->content_length >= 0 && r->content_length != cl)
		return fail(r, FY_CGI_RESPONSE_BAD_LENGTH);
	r->content_length = cl;
	return FY_OK;
}

static int add_field(struct fy_cgi_response *r, const char *name,
		     size_t name_len, const char *value, size_t value_len)
{
	struct fy_http_header *h;

	if (r->n_headers == r->max_headers)
		return fail(r, FY_CGI_RESPONSE_TOO_MANY);
	h = &r->headers[r->n_headers++];
	h->name = name;
	h->name_len = name_len;
	h->value = value;
	h->value_len = value_len;
	return FY_OK;
}

/* One field line, without its line ending. */
static int parse_line(struct fy_cgi_response *r, const char *line, size_t len)
{
	size_t name_len = 0, i;
	const char *v;
	size_t n;

	while (name_len < len && is_tchar((unsigned char)line[name_len]))
		name_len++;
	if (name_len == 0 || name_len == len || line[name_len] != ':')
		return fail(r, FY_CGI_RESPONSE_MALFORMED);
	v = line + name_len + 1;
	n = len - name_len - 1;
	for (i = 0; i < n; i++) {
		unsigned char c = (unsigned char)v[i];

		if ((c < 0x20 && c != '\t') || c == 0x7f)
			return fail(r, FY_CGI_RESPONSE_MALFORMED);
	}
	while (n > 0 && (v[0] == ' ' || v[0] == '\t')) {
		v++;
		n--;
	}
	while (n > 0 && (v[n - 1] == ' ' || v[n - 1] == '\t'))
		n--;

	switch (kind_of(line, name_len)) {
	case FIELD_STATUS:
		return parse_status(r, v, n);
	case FIELD_CONTENT_LENGTH:
		return parse_length(r, v, n);
	case FIELD_LOCATION:
		if (n == 0 || r->location)
			return fail(r, FY_CGI_RESPONSE_BAD_LOCATION);
		r->location = v;
		r->location_len = n;
		return add_field(r, line, name_len, v, n);
	case FIELD_X_SENDFILE:
		r->x_sendfile = v;
		r->x_sendfile_len = n;
		return FY_OK;
	case FIELD_X_ACCEL_REDIRECT:
		r->x_accel_redirect = v;
		r->x_accel_redirect_len = n;
		return FY_OK;
	case FIELD_DROP:
		return FY_OK;
	case FIELD_FORWARD:
		break;
	}
	return add_field(r, line, name_len, v, n);
}

static void finish(struct fy_cgi_response *r)
{
	r->done = 1;
	if (r->has_status)
		return;
	if (r->location) {
		r->status = 302;
		r->local_redirect =
		    r->location[0] == '/' &&
		    (r->location_len == 1 || r->location[1] != '/');
		return;
	}
	r->status = 200;
}

int fy_cgi_response_parse(struct fy_cgi_response *r, const char *in, size_t len,
			  size_t *consumed)
{
	size_t off = 0;

	*consumed = 0;
	if (r->done)
		return FY_DONE;
	if (r->error != FY_CGI_RESPONSE_OK)
		return FY_ERROR;
	while (off < len) {
		const char *nl = memchr(in + off, '\n', len - off);
		size_t n = nl ? (size_t)(nl - (in + off)) + 1 : len - off;
		char *line;
		size_t line_len;

		if (n > r->cap - r->len) {
			*consumed = off;
			return fail(r, FY_CGI_RESPONSE_TOO_BIG);
		}
		memcpy(r->buf + r->len, in + off, n);
		r->len += n;
		off += n;
		if (!nl)
			break;
		line = r->buf + r->line;
		line_len = r->len - r->line - 1;
		r->line = r->len;
		if (line_len > 0 && line[line_len - 1] == '\r')
			line_len--;
		*consumed = off;
		if (line_len == 0) {
			finish(r);
			return FY_DONE;
		}
		if (parse_line(r, line, line_len) != FY_OK)
			return FY_ERROR;
	}
	*consumed = off;
	return FY_AGAIN;
}

const char *fy_cgi_response_strerror(enum fy_cgi_response_error err)
{
	switch (err) {
	case FY_CGI_RESPONSE_OK:
		return "no error";
	case FY_CGI_RESPONSE_TOO_BIG:
		return "response header too big";
	case FY_CGI_RESPONSE_TOO_MANY:
		return "too many response header fields";
	case FY_CGI_RESPONSE_MALFORMED:
		return "malformed response header";
	case FY_CGI_RESPONSE_BAD_STATUS:
		return "invalid Status in response header";
	case FY_CGI_RESPONSE_BAD_LENGTH:
		return "invalid Content-Length in response header";
	case FY_CGI_RESPONSE_BAD_LOCATION:
		return "invalid Location in response header";
	}
	return "unknown error";
}
