/*
 * cgi.h - the CGI environment (RFC 3875 meta-variables plus HTTP_*), built
 * by one function for every gateway: the FastCGI client sends it as PARAMS,
 * the in-process PHP SAPI registers it as $_SERVER, so a PHP application
 * sees the same variables either way.
 */
#ifndef FOYER_CGI_H
#define FOYER_CGI_H

#include <stddef.h>
#include <stdint.h>

struct fy_http_header;

/* A name/value pair set by the administrator (fastcgi_param.NAME,
 * php_value.NAME ...). Not NUL-terminated. */
struct fy_cgi_param {
	const char *name;
	size_t name_len;
	const char *value;
	size_t value_len;
};

/* What the builder needs to know about one request. Strings are
 * NUL-terminated unless a length is given; NULL means absent. */
struct fy_cgi_request {
	const char *method;	      /* "GET" */
	size_t method_len;
	const char *request_uri;      /* raw request-target as sent, with query */
	size_t request_uri_len;
	const char *query;	      /* after '?', without it; NULL: none */
	size_t query_len;
	const char *document_root;    /* "/var/www/html" */
	const char *script_name;      /* "/blog/index.php" (URI space) */
	const char *script_filename;  /* "/var/www/html/blog/index.php" */
	const char *path_info;	      /* "/2024/hello" or NULL/"" */
	const char *document_uri;     /* decoded, normalised path of the request */
	const char *server_name;      /* the site's canonical name */
	const char *server_addr;      /* local IP */
	int server_port;
	const char *remote_addr;
	int remote_port;
	const char *protocol;	      /* "HTTP/1.1" */
	const char *server_software;  /* "foyer/0.1.0" */
	int https;		      /* request came over TLS */
	int64_t content_length;	      /* exact body length; -1: no body */
	const struct fy_http_header *headers; /* request headers, in order */
	size_t n_headers;
	int pass_authorization;	      /* send HTTP_AUTHORIZATION */
	/* administrator's extra params, sent after the standard ones and
	 * overriding any HTTP_* of the same name */
	const struct fy_cgi_param *extra;
	size_t n_extra;
};

/* Receives one variable; the strings are not NUL-terminated and live only
 * for the duration of the call. Returns FY_OK, or FY_ERROR to stop. */
typedef int (*fy_cgi_emit_fn)(void *arg, const char *name, size_t name_len,
			      const char *value, size_t value_len);

/*
 * Emits the environment for req, in this order: the RFC 3875 and PHP
 * variables (SCRIPT_FILENAME, SCRIPT_NAME, PATH_INFO and PATH_TRANSLATED only
 * when path_info is non-empty, DOCUMENT_ROOT, DOCUMENT_URI, REQUEST_URI,
 * QUERY_STRING (always, "" when none), REQUEST_METHOD, CONTENT_TYPE and
 * CONTENT_LENGTH (only when there is a body or a Content-Type), SERVER_NAME,
 * SERVER_ADDR, SERVER_PORT, SERVER_PROTOCOL, SERVER_SOFTWARE, REMOTE_ADDR,
 * REMOTE_PORT, REQUEST_SCHEME, HTTPS=on (only under TLS),
 * GATEWAY_INTERFACE=CGI/1.1, REDIRECT_STATUS=200), then HTTP_* for each
 * request header, then the extra params.
 *
 * Precisely: CONTENT_TYPE is the first Content-Type header's value, sent
 * when there is one; CONTENT_LENGTH is content_length in decimal, sent when
 * content_length >= 0 (so -1 is how a caller says "no body"); PATH_TRANSLATED
 * is DOCUMENT_ROOT followed by PATH_INFO, left out when document_root is
 * NULL. Any other standard variable whose string is NULL is left out (never
 * sent empty); ports are always sent, in decimal.
 *
 * Header rules: the name upper-cased with '-' turned into '_'; a name with
 * any octet outside [A-Za-z0-9-] is dropped (so "X_Forwarded_For" cannot
 * pose as "X-Forwarded-For"); Proxy is dropped (httpoxy); Content-Type and
 * Content-Length are not repeated as HTTP_*, and Transfer-Encoding is not
 * passed (the body arrives decoded); Authorization (and, as in
 * Apache's CGIPassAuth, Proxy-Authorization) only when
 * pass_authorization; repeated headers are joined with ", " (Cookie with
 * "; ") into one variable at the place of the first; a header whose
 * HTTP_ name equals an extra param's name is dropped. Names that a client
 * could use to reach the PHP engine itself (PHP_VALUE, PHP_ADMIN_VALUE,
 * REQUEST_BODY_FILE) can never come from a header: the HTTP_ prefix
 * guarantees it.
 *
 * scratch/scratch_len is working memory for upper-cased names and joined
 * values; the caller sizes it from its header limits. Returns FY_OK, or
 * FY_ERROR when emit failed or a variable did not fit in scratch. Pure: no
 * I/O, no allocation.
 */
int fy_cgi_build(const struct fy_cgi_request *req, fy_cgi_emit_fn emit,
		 void *arg, char *scratch, size_t scratch_len);

#endif
