/*
 * http.h - the HTTP/1.1 request parser: pure functions over a caller's
 * buffer (picohttpparser's contract). They never allocate and never do I/O;
 * every pointer they return points into the input buffer.
 */
#ifndef FOYER_HTTP_H
#define FOYER_HTTP_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

struct fy_http_header {
	const char *name;
	size_t name_len;
	const char *value; /* leading and trailing OWS stripped */
	size_t value_len;
};

struct fy_http_request_head {
	const char *method;
	size_t method_len;
	const char *target; /* request-target as sent */
	size_t target_len;
	int minor_version; /* HTTP/1.<minor>: 0 or 1 */
	const char *request_line; /* "GET / HTTP/1.1" without CRLF */
	size_t request_line_len;
	struct fy_http_header *headers; /* caller's array */
	size_t num_headers;		/* in: capacity; out: count */
};

/* Apache's names and defaults: LimitRequestLine 8190, LimitRequestFields
 * 100, LimitRequestFieldSize 8190. */
struct fy_http_limits {
	size_t request_line; /* bytes of method SP target SP version */
	size_t fields;	     /* number of header fields */
	size_t field_size;   /* bytes of one "name: value" line */
};

#define FY_HTTP_INCOMPLETE -2
#define FY_HTTP_ERROR -1

/*
 * Parses a request head (request line, header fields, empty line) at the
 * start of buf. Leading empty lines (CRLF) before the request line are
 * skipped, as RFC 9112 2.2 allows.
 *
 * Returns the number of bytes consumed (> 0) when the head is complete,
 * FY_HTTP_INCOMPLETE when more bytes are needed (and none of the limits is
 * already exceeded), or FY_HTTP_ERROR with *status set to the HTTP status to
 * answer:
 *   400 malformed: bad method token, bad target (space, control octet), bare
 *       CR or LF, NUL anywhere, obs-fold (line starting with SP/HTAB),
 *       whitespace between field name and colon, empty field name, invalid
 *       octet in a field name or value;
 *   414 request line longer than lim->request_line (also detected while
 *       incomplete);
 *   431 more than lim->fields fields, or a field line longer than
 *       lim->field_size;
 *   505 a version other than HTTP/1.0 and HTTP/1.1 (HTTP/0.9 has no version
 *       and is 400); a malformed version is 400.
 * req->num_headers is the capacity of req->headers on input and the number of
 * fields on output; capacity below lim->fields + 1 is a caller error.
 */
int fy_http_parse_request(const char *buf, size_t len,
			  struct fy_http_request_head *req,
			  const struct fy_http_limits *lim, int *status);

/* What the header fields say about framing and the connection. */
struct fy_http_framing {
	int64_t content_length; /* -1: none */
	int chunked;		/* Transfer-Encoding: chunked (last coding) */
	int keep_alive;		/* by version and Connection */
	int expect_continue;	/* Expect: 100-continue */
	const char *host;	/* Host value (NULL if absent), port included */
	size_t host_len;
};

/*
 * Checks the fields of a parsed head for request smuggling and protocol
 * rules and fills out. Returns 0 when acceptable, else the HTTP status:
 *   400 Content-Length together with Transfer-Encoding; repeated or
 *       differing Content-Length (a list "5, 5" is also refused); a
 *       non-numeric or overflowing Content-Length; Transfer-Encoding whose
 *       last coding is not chunked, or "chunked" given twice; missing Host
 *       on HTTP/1.1; more than one Host; Transfer-Encoding on HTTP/1.0;
 *   501 a transfer-coding other than chunked (e.g. gzip, chunked);
 *   417 an Expect value other than 100-continue.
 */
int fy_http_check_framing(const struct fy_http_request_head *req,
			  struct fy_http_framing *out);

/* Finds a header (case-insensitive name); returns its index or -1. */
ssize_t fy_http_find_header(const struct fy_http_request_head *req,
			    const char *name, size_t name_len);

/* True if a comma-separated header value contains token (case-insensitive). */
int fy_http_value_has_token(const char *value, size_t len, const char *token);

/*
 * Chunked transfer-coding decoder (RFC 9112 7.1), fed as bytes arrive.
 * Zero-initialise the struct before the first call.
 */
struct fy_http_chunked {
	uint64_t chunk_left; /* data bytes left in the current chunk */
	uint64_t total;	     /* data bytes decoded so far */
	int state;
	size_t line_len; /* length of the size or trailer line so far */
	size_t trailer_bytes;
};

/*
 * Decodes from in[0..len). Sets *consumed to the bytes of input used; when
 * the step produced body data, *data points into in and *data_len is its
 * length (else *data_len is 0). Call again with the rest of the input while
 * it returns FY_AGAIN and *consumed < len.
 *
 * Returns FY_AGAIN (more to come), FY_DONE (the last chunk and the trailer
 * section were consumed; bytes after them belong to the next request and
 * are not consumed) or FY_ERROR (malformed: bad hex, size overflow, missing
 * CRLF after data, bare LF, chunk-size line or chunk extensions over 4096
 * bytes, trailers over 8190 bytes). Trailer fields are read and ignored.
 */
int fy_http_chunked_decode(struct fy_http_chunked *dec, const char *in,
			   size_t len, size_t *consumed, const char **data,
			   size_t *data_len);

/* Reason phrase for a status code ("Not Found"); "Unknown" if none. */
const char *fy_http_reason(int status);

#endif
