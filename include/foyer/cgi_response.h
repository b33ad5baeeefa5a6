/*
 * cgi_response.h - the CGI header block at the start of a gateway's output
 * (RFC 3875 section 6), as PHP-FPM sends it on STDOUT: "Name: value" lines
 * ended by LF or CRLF, then an empty line, then the body.
 *
 * A pure parser fed incrementally: STDOUT records and socket reads cut the
 * block anywhere, so the bytes are copied into a caller buffer whose size is
 * also the cap on the whole block, and the results point into that buffer.
 * No I/O, no allocation.
 */
#ifndef FOYER_CGI_RESPONSE_H
#define FOYER_CGI_RESPONSE_H

#include <stddef.h>
#include <stdint.h>

#include "foyer/http.h"

enum fy_cgi_response_error {
	FY_CGI_RESPONSE_OK = 0,
	FY_CGI_RESPONSE_TOO_BIG,      /* the block is longer than cap */
	FY_CGI_RESPONSE_TOO_MANY,     /* more fields than max_headers */
	FY_CGI_RESPONSE_MALFORMED,    /* see fy_cgi_response_parse() */
	FY_CGI_RESPONSE_BAD_STATUS,   /* Status not "DDD[ reason]", 200..599 */
	FY_CGI_RESPONSE_BAD_LENGTH,   /* Content-Length not a number, or two
					 different values */
	FY_CGI_RESPONSE_BAD_LOCATION, /* empty, or given twice */
};

struct fy_cgi_response {
	/* Results, valid once fy_cgi_response_parse() returned FY_DONE.
	 * Every pointer points into buf. */
	int status;	    /* Status, else 302 with Location, else 200 */
	int has_status;	    /* a Status field was present */
	const char *reason; /* Status's reason phrase; NULL: none given */
	size_t reason_len;
	const char *location; /* Location's value (also in headers); NULL */
	size_t location_len;
	/* RFC 3875 6.2.2: Location is a local path ("/..." but not "//...")
	 * and there is no Status: the server re-processes the request for
	 * that path (foyer always does); status says 302 for a server that
	 * would not. */
	int local_redirect;
	int64_t content_length; /* -1: none; information only */
	const char *x_sendfile; /* X-Sendfile value; NULL: none */
	size_t x_sendfile_len;
	const char *x_accel_redirect; /* X-Accel-Redirect value; NULL */
	size_t x_accel_redirect_len;
	struct fy_http_header *headers; /* the fields to forward, in order */
	size_t n_headers;
	enum fy_cgi_response_error error;

	/* Private. */
	char *buf;
	size_t cap;
	size_t max_headers;
	size_t len;  /* bytes copied into buf */
	size_t line; /* offset in buf of the line being read */
	int done;
};

/*
 * Starts a parse. buf[0..cap) receives the header block and bounds it (e.g.
 * 64 KiB; a block of exactly cap bytes, empty line included, is accepted);
 * headers[0..max_headers) receives the fields to forward. Both must outlive
 * the use of the results.
 */
void fy_cgi_response_init(struct fy_cgi_response *r, char *buf, size_t cap,
			  struct fy_http_header *headers, size_t max_headers);

/*
 * Feeds in[0..len). Sets *consumed and returns:
 *   FY_DONE  the empty line was read; *consumed bytes were header, the
 *            input after them is the body (possibly empty);
 *   FY_AGAIN everything consumed, more header bytes needed;
 *   FY_ERROR r->error says why; a client answers 502.
 *
 * Lines end in LF or CRLF. A field is a token name, a colon right after it,
 * and a value with surrounding spaces and tabs stripped. Malformed: no
 * colon, empty or non-token name (also whitespace before the colon), a line
 * starting with whitespace (obs-fold), a control octet (CR, NUL ...) other
 * than HTAB in a value.
 *
 * What happens to each field (names compared case-insensitively):
 *   Status            parsed into status/reason, not forwarded;
 *   Location          forwarded and reported (see local_redirect);
 *   Content-Length    parsed into content_length, not forwarded: the server
 *                     frames the response itself, a client may use the
 *                     number to check the body it received;
 *   Connection, Keep-Alive, Proxy-Connection, Transfer-Encoding, TE,
 *   Trailer, Upgrade  hop-by-hop or framing: dropped (CVE-2024-24795);
 *   X-Sendfile, X-Accel-Redirect  reported, never forwarded (they name
 *                     server paths), whether or not the site honours them;
 *   anything else     forwarded in order, duplicates included.
 * Calling again after FY_DONE or FY_ERROR returns the same code and
 * consumes nothing.
 */
int fy_cgi_response_parse(struct fy_cgi_response *r, const char *in, size_t len,
			  size_t *consumed);

/* A short English description of an error code, for logs. */
const char *fy_cgi_response_strerror(enum fy_cgi_response_error err);

#endif
