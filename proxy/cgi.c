/*
 * cgi.c - the CGI environment (RFC 3875 meta-variables, PHP's extras and
 * HTTP_* from the request headers), emitted variable by variable for the
 * FastCGI client and the in-process SAPI alike.
 */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "foyer/cgi.h"
#include "foyer/core.h"
#include "foyer/http.h"

#define HTTP_PREFIX	"HTTP_"
#define HTTP_PREFIX_LEN (sizeof(HTTP_PREFIX) - 1)

/* Room for INT64_MIN in decimal. */
#define DECIMAL_MAX 21

static int emit_str(fy_cgi_emit_fn emit, void *arg, const char *name,
		    const char *value, size_t value_len)
{
	if (emit(arg, name, strlen(name), value, value_len) != FY_OK)
		return FY_ERROR;
	return FY_OK;
}

/* NULL means the request does not have it, so the variable is left out
 * rather than sent empty (an empty PATH_INFO is what CVE-2019-11043 fed
 * on). */
static int emit_cstr(fy_cgi_emit_fn emit, void *arg, const char *name,
		     const char *value)
{
	if (value == NULL)
		return FY_OK;
	return emit_str(emit, arg, name, value, strlen(value));
}

static int emit_decimal(fy_cgi_emit_fn emit, void *arg, const char *name,
			int64_t n)
{
	char buf[DECIMAL_MAX];
	char *p = buf + sizeof(buf);
	/* Unsigned, so that INT64_MIN can be negated. */
	uint64_t u = n < 0 ? 0 - (uint64_t)n : (uint64_t)n;

	do {
		*--p = (char)('0' + u % 10);
		u /= 10;
	} while (u != 0);
	if (n < 0)
		*--p = '-';
	return emit_str(emit, arg, name, p, (size_t)(buf + sizeof(buf) - p));
}

static char ascii_lower(char c)
{
	return c >= 'A' && c <= 'Z' ? (char)(c - 'A' + 'a') : c;
}

static int name_equals(const char *a, size_t a_len, const char *b, size_t b_len)
{
	size_t i;

	if (a_len != b_len)
		return 0;
	for (i = 0; i < a_len; i++)
		if (ascii_lower(a[i]) != ascii_lower(b[i]))
			return 0;
	return 1;
}

static int header_is(const struct fy_http_header *h, const char *name)
{
	return name_equals(h->name, h->name_len, name, strlen(name));
}

/* Apache's http2env rule: anything but letters, digits and '-' could be
 * folded onto another header's variable ("X_Forwarded_For"). */
static int name_is_exportable(const char *name, size_t len)
{
	size_t i;

	if (len == 0)
		return 0;
	for (i = 0; i < len; i++) {
		char c = name[i];

		if (!((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') ||
		      (c >= '0' && c <= '9') || c == '-'))
			return 0;
	}
	return 1;
}

static int header_is_exported(const struct fy_cgi_request *req,
			      const struct fy_http_header *h)
{
	if (!name_is_exportable(h->name, h->name_len))
		return 0;
	/* httpoxy: HTTP_PROXY is read as an outbound proxy by many clients. */
	if (header_is(h, "Proxy"))
		return 0;
	if (header_is(h, "Content-Type") || header_is(h, "Content-Length"))
		return 0;
	/* The server decoded the body; the gateway gets it whole, with
	 * CONTENT_LENGTH, so a transfer-coding would only mislead it. */
	if (header_is(h, "Transfer-Encoding"))
		return 0;
	if (header_is(h, "Authorization") ||
	    header_is(h, "Proxy-Authorization"))
		return req->pass_authorization;
	return 1;
}

static int extra_has(const struct fy_cgi_request *req, const char *name,
		     size_t len)
{
	size_t i;

	for (i = 0; i < req->n_extra; i++) {
		const struct fy_cgi_param *p = &req->extra[i];

		if (p->name_len == len && memcmp(p->name, name, len) == 0)
			return 1;
	}
	return 0;
}

static const struct fy_http_header *
find_header(const struct fy_cgi_request *req, const char *name)
{
	size_t i;

	for (i = 0; i < req->n_headers; i++)
		if (header_is(&req->headers[i], name))
			return &req->headers[i];
	return NULL;
}

/* A header after the first of its name was already joined into the first. */
static int seen_before(const struct fy_cgi_request *req, size_t i)
{
	const struct fy_http_header *h = &req->headers[i];
	size_t j;

	for (j = 0; j < i; j++)
		if (name_equals(req->headers[j].name, req->headers[j].name_len,
				h->name, h->name_len))
			return 1;
	return 0;
}

static int has_repeat(const struct fy_cgi_request *req, size_t i)
{
	const struct fy_http_header *h = &req->headers[i];
	size_t j;

	for (j = i + 1; j < req->n_headers; j++)
		if (name_equals(req->headers[j].name, req->headers[j].name_len,
				h->name, h->name_len))
			return 1;
	return 0;
}

/* Appends src to buf[*used..len); FY_ERROR when it does not fit. */
static int append(char *buf, size_t len, size_t *used, const char *src,
		  size_t src_len)
{
	if (src_len > len - *used)
		return FY_ERROR;
	if (src_len == 0)
		return FY_OK;
	memcpy(buf + *used, src, src_len);
	*used += src_len;
	return FY_OK;
}

/*
 * The value of header i joined with the later headers of the same name,
 * written into buf. Cookie pairs are separated by "; " because a comma is a
 * legal octet inside a cookie value.
 */
static int join_values(const struct fy_cgi_request *req, size_t i, char *buf,
		       size_t len, size_t *out_len)
{
	const struct fy_http_header *h = &req->headers[i];
	const char *sep = header_is(h, "Cookie") ? "; " : ", ";
	size_t used = 0;
	size_t j;

	if (append(buf, len, &used, h->value, h->value_len) != FY_OK)
		return FY_ERROR;
	for (j = i + 1; j < req->n_headers; j++) {
		const struct fy_http_header *o = &req->headers[j];

		if (!name_equals(o->name, o->name_len, h->name, h->name_len))
			continue;
		if (append(buf, len, &used, sep, 2) != FY_OK ||
		    append(buf, len, &used, o->value, o->value_len) != FY_OK)
			return FY_ERROR;
	}
	*out_len = used;
	return FY_OK;
}

static int emit_header(const struct fy_cgi_request *req, size_t i,
		       fy_cgi_emit_fn emit, void *arg, char *scratch,
		       size_t scratch_len)
{
	const struct fy_http_header *h = &req->headers[i];
	const char *value = h->value;
	size_t value_len = h->value_len;
	size_t name_len;
	size_t k;

	if (scratch_len < HTTP_PREFIX_LEN ||
	    h->name_len > scratch_len - HTTP_PREFIX_LEN)
		return FY_ERROR;
	memcpy(scratch, HTTP_PREFIX, HTTP_PREFIX_LEN);
	name_len = HTTP_PREFIX_LEN + h->name_len;
	for (k = 0; k < h->name_len; k++) {
		char c = h->name[k];

		if (c >= 'a' && c <= 'z')
			c = (char)(c - 'a' + 'A');
		else if (c == '-')
			c = '_';
		scratch[HTTP_PREFIX_LEN + k] = c;
	}
	/* The administrator's value wins, and the client's is not sent at
	 * all: this is how HTTP_PROXY "" or a fixed HTTP_HOST is set. */
	if (extra_has(req, scratch, name_len))
		return FY_OK;
	if (has_repeat(req, i)) {
		if (join_values(req, i, scratch + name_len,
				scratch_len - name_len, &value_len) != FY_OK)
			return FY_ERROR;
		value = scratch + name_len;
	}
	if (emit(arg, scratch, name_len, value, value_len) != FY_OK)
		return FY_ERROR;
	return FY_OK;
}

/* PATH_TRANSLATED as Apache and PHP-FPM compute it: the path info mapped
 * into the document root. */
static int emit_path_translated(const struct fy_cgi_request *req,
				fy_cgi_emit_fn emit, void *arg, char *scratch,
				size_t scratch_len)
{
	size_t used = 0;

	if (append(scratch, scratch_len, &used, req->document_root,
		   strlen(req->document_root)) != FY_OK ||
	    append(scratch, scratch_len, &used, req->path_info,
		   strlen(req->path_info)) != FY_OK)
		return FY_ERROR;
	return emit_str(emit, arg, "PATH_TRANSLATED", scratch, used);
}

static int emit_standard(const struct fy_cgi_request *req, fy_cgi_emit_fn emit,
			 void *arg, char *scratch, size_t scratch_len)
{
	const struct fy_http_header *ctype = find_header(req, "Content-Type");
	int has_path_info = req->path_info != NULL && req->path_info[0] != '\0';

	if (emit_cstr(emit, arg, "SCRIPT_FILENAME", req->script_filename) ||
	    emit_cstr(emit, arg, "SCRIPT_NAME", req->script_name))
		return FY_ERROR;
	if (has_path_info) {
		if (emit_cstr(emit, arg, "PATH_INFO", req->path_info))
			return FY_ERROR;
		if (req->document_root != NULL &&
		    emit_path_translated(req, emit, arg, scratch, scratch_len))
			return FY_ERROR;
	}
	if (emit_cstr(emit, arg, "DOCUMENT_ROOT", req->document_root) ||
	    emit_cstr(emit, arg, "DOCUMENT_URI", req->document_uri))
		return FY_ERROR;
	if (req->request_uri != NULL &&
	    emit_str(emit, arg, "REQUEST_URI", req->request_uri,
		     req->request_uri_len))
		return FY_ERROR;
	if (emit_str(emit, arg, "QUERY_STRING", req->query ? req->query : "",
		     req->query ? req->query_len : 0))
		return FY_ERROR;
	if (req->method != NULL &&
	    emit_str(emit, arg, "REQUEST_METHOD", req->method, req->method_len))
		return FY_ERROR;
	if (ctype != NULL &&
	    emit_str(emit, arg, "CONTENT_TYPE", ctype->value, ctype->value_len))
		return FY_ERROR;
	/* Exactly the STDIN bytes to come: PHP-FPM ignores a body it is not
	 * told about and blocks on one announced longer than sent. */
	if (req->content_length >= 0 &&
	    emit_decimal(emit, arg, "CONTENT_LENGTH", req->content_length))
		return FY_ERROR;
	if (emit_cstr(emit, arg, "SERVER_NAME", req->server_name) ||
	    emit_cstr(emit, arg, "SERVER_ADDR", req->server_addr) ||
	    emit_decimal(emit, arg, "SERVER_PORT", req->server_port) ||
	    emit_cstr(emit, arg, "SERVER_PROTOCOL", req->protocol) ||
	    emit_cstr(emit, arg, "SERVER_SOFTWARE", req->server_software) ||
	    emit_cstr(emit, arg, "REMOTE_ADDR", req->remote_addr) ||
	    emit_decimal(emit, arg, "REMOTE_PORT", req->remote_port) ||
	    emit_cstr(emit, arg, "REQUEST_SCHEME",
		      req->https ? "https" : "http"))
		return FY_ERROR;
	if (req->https && emit_cstr(emit, arg, "HTTPS", "on"))
		return FY_ERROR;
	/* REDIRECT_STATUS: php-cgi's cgi.force_redirect refuses to run
	 * without it; PHP-FPM ignores it. */
	if (emit_cstr(emit, arg, "GATEWAY_INTERFACE", "CGI/1.1") ||
	    emit_cstr(emit, arg, "REDIRECT_STATUS", "200"))
		return FY_ERROR;
	return FY_OK;
}

int fy_cgi_build(const struct fy_cgi_request *req, fy_cgi_emit_fn emit,
		 void *arg, char *scratch, size_t scratch_len)
{
	size_t i;

	if (emit_standard(req, emit, arg, scratch, scratch_len) != FY_OK)
		return FY_ERROR;
	for (i = 0; i < req->n_headers; i++) {
		const struct fy_http_header *h = &req->headers[i];

		if (!header_is_exported(req, h) || seen_before(req, i))
			continue;
		if (emit_header(req, i, emit, arg, scratch, scratch_len) !=
		    FY_OK)
			return FY_ERROR;
	}
	for (i = 0; i < req->n_extra; i++) {
		const struct fy_cgi_param *p = &req->extra[i];

		if (emit(arg, p->name, p->name_len, p->value, p->value_len) !=
		    FY_OK)
			return FY_ERROR;
	}
	return FY_OK;
}
