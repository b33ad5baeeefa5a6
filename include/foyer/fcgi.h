/*
 * fcgi.h - the FastCGI 1.0 record codec, client side (web server towards
 * PHP-FPM). Pure functions over caller buffers: no I/O, no allocation, no
 * globals. The connection state machine lives elsewhere and only moves
 * bytes; everything here can be tested byte for byte.
 *
 * Wire constants and structs come from libfcgi's <fastcgi.h>. The client
 * never multiplexes: every record it sends and accepts carries request id
 * FY_FCGI_REQUEST_ID (PHP-FPM serves one request per connection, and nginx,
 * Apache, h2o and lighttpd all use id 1).
 *
 * Padding: records are padded to a multiple of 8 bytes as the spec
 * recommends, except where the padding would push content plus padding past
 * 65535. PHP-FPM refuses a PARAMS record whose content length plus padding
 * exceeds 0xffff, so a record is never padded beyond that.
 */
#ifndef FOYER_FCGI_H
#define FOYER_FCGI_H

#include <fastcgi.h>
#include <stddef.h>
#include <stdint.h>

#define FY_FCGI_REQUEST_ID 1

/* Stream data (STDIN) per record: the largest multiple of 8 that fits, so
 * full records need no padding (PHP-FPM cuts its STDOUT the same way). */
#define FY_FCGI_STREAM_CHUNK 0xfff8

/* Longest name or value one pair may carry (31-bit length). */
#define FY_FCGI_PAIR_LEN_MAX 0x7fffffffu

/* ---- Encoding ---------------------------------------------------------- */

/*
 * Writes the 8-byte header of a record of type with content_len bytes of
 * content (at most FCGI_MAX_LENGTH) for request FY_FCGI_REQUEST_ID, and
 * returns the padding length the caller must send after the content (0..7,
 * see above). Passing more than FCGI_MAX_LENGTH is a caller error: the
 * length is clamped.
 */
size_t fy_fcgi_header(unsigned char out[FCGI_HEADER_LEN], unsigned type,
		      size_t content_len);

/*
 * Writes a complete BEGIN_REQUEST record (16 bytes): role FCGI_RESPONDER,
 * flags FCGI_KEEP_CONN when keep_conn is non-zero, reserved bytes zero.
 */
void fy_fcgi_begin_request(unsigned char out[16], int keep_conn);

/* Writes an ABORT_REQUEST record (8 bytes). PHP-FPM ignores it (closing the
 * connection is the abort it honours); offered for other backends. */
void fy_fcgi_abort_request(unsigned char out[FCGI_HEADER_LEN]);

/* Writes the empty record that ends a stream of type (FCGI_PARAMS or
 * FCGI_STDIN): 8 bytes. */
void fy_fcgi_end_stream(unsigned char out[FCGI_HEADER_LEN], unsigned type);

/*
 * Size of one encoded name-value pair: each length takes 1 byte below 128
 * and 4 bytes from 128 on. Returns 0 when the name is empty or a length
 * exceeds FY_FCGI_PAIR_LEN_MAX.
 */
size_t fy_fcgi_pair_size(size_t name_len, size_t value_len);

/*
 * Encodes one pair (nameLength, valueLength, name, value) into out.
 * Returns the bytes written, or 0 when the pair is invalid (see
 * fy_fcgi_pair_size) or does not fit in cap; nothing is written then.
 */
size_t fy_fcgi_pair_encode(unsigned char *out, size_t cap, const char *name,
			   size_t name_len, const char *value,
			   size_t value_len);

/*
 * Bytes needed to send len bytes of stream data as records of at most
 * FY_FCGI_STREAM_CHUNK content each, headers and padding included, without
 * the empty terminator. 0 for len 0.
 */
size_t fy_fcgi_stream_size(size_t len);

/*
 * Encodes len bytes of data as consecutive stream records of type (usually
 * FCGI_STDIN) into out, split every FY_FCGI_STREAM_CHUNK bytes, padding
 * zeroed. Does not add the terminator (fy_fcgi_end_stream). Returns the
 * bytes written (fy_fcgi_stream_size(len)), or 0 when cap is too small; len
 * 0 writes nothing and returns 0.
 */
size_t fy_fcgi_stream_encode(unsigned char *out, size_t cap, unsigned type,
			     const void *data, size_t len);

/*
 * PARAMS builder: pairs are appended into the caller's buffer as
 * ready-to-send PARAMS records. A pair is never split across two records
 * (PHP-FPM resets the connection when it is); a record is closed and a new
 * one opened when the next pair does not fit in FCGI_MAX_LENGTH bytes of
 * content. fy_fcgi_params_finish() closes the last record and appends the
 * empty PARAMS terminator, so buf[0..len) is exactly what goes on the wire
 * after BEGIN_REQUEST.
 */
enum fy_fcgi_params_error {
	FY_FCGI_PARAMS_OK = 0,
	FY_FCGI_PARAMS_BAD_PAIR,  /* empty name, or a length over 2^31-1 */
	FY_FCGI_PARAMS_PAIR_SIZE, /* encoded pair longer than one record */
	FY_FCGI_PARAMS_NO_SPACE,  /* the caller's buffer is full */
	FY_FCGI_PARAMS_FINISHED,  /* pair added after finish */
};

struct fy_fcgi_params {
	unsigned char *buf;
	size_t cap;
	size_t len;   /* bytes written so far, open record included */
	size_t rec;   /* offset of the open record's header */
	int open;     /* a record is open at rec */
	int finished; /* terminator written */
	size_t pairs; /* pairs added */
	enum fy_fcgi_params_error error; /* first failure; sticky */
};

/* Starts an empty builder over buf[0..cap). */
void fy_fcgi_params_init(struct fy_fcgi_params *p, void *buf, size_t cap);

/*
 * Appends one pair. Returns FY_OK, or FY_ERROR with p->error set; after a
 * failure every further add and finish fails too, so the caller checks only
 * the last call. A client maps FY_FCGI_PARAMS_PAIR_SIZE caused by a request
 * header to 431, the others to 500.
 */
int fy_fcgi_params_add(struct fy_fcgi_params *p, const char *name,
		       size_t name_len, const char *value, size_t value_len);

/* fy_cgi_emit_fn for fy_cgi_build(): arg is a struct fy_fcgi_params *. */
int fy_fcgi_params_emit(void *arg, const char *name, size_t name_len,
			const char *value, size_t value_len);

/*
 * Closes the open record (padding zeroed) and appends the empty PARAMS
 * record. Returns FY_OK with *len set to the total bytes in the buffer, or
 * FY_ERROR (earlier failure, no space, or already finished).
 */
int fy_fcgi_params_finish(struct fy_fcgi_params *p, size_t *len);

/* ---- Decoding ---------------------------------------------------------- */

/* What one call of fy_fcgi_parse() found. */
enum fy_fcgi_event_type {
	FY_FCGI_EV_STDOUT = 1, /* data: a span of STDOUT content */
	FY_FCGI_EV_STDERR,     /* data: a span of STDERR content */
	FY_FCGI_EV_END,	       /* END_REQUEST: app_status, protocol_status */
	FY_FCGI_EV_IGNORED,    /* GET_VALUES_RESULT or UNKNOWN_TYPE, skipped */
};

struct fy_fcgi_event {
	enum fy_fcgi_event_type type;
	/* STDOUT/STDERR: points into the input given to fy_fcgi_parse(). A
	 * record is reported in as many spans as the reads cut it into; a
	 * span of length 0 (data NULL) reports an empty record, the stream's
	 * end marker (libfcgi sends it, PHP-FPM does not). */
	const char *data;
	size_t len;
	uint32_t app_status;	 /* END */
	uint8_t protocol_status; /* END: FCGI_REQUEST_COMPLETE ... */
	uint8_t record_type;	 /* the record's type, for every event */
	uint8_t unknown_type;	 /* UNKNOWN_TYPE: the type the app refused */
};

enum fy_fcgi_parse_error {
	FY_FCGI_ERR_NONE = 0,
	FY_FCGI_ERR_VERSION,	/* version byte other than 1 */
	FY_FCGI_ERR_REQUEST_ID, /* not FY_FCGI_REQUEST_ID (0 for management) */
	FY_FCGI_ERR_TYPE,	/* a type an application never sends */
	FY_FCGI_ERR_LENGTH,	/* END_REQUEST/UNKNOWN_TYPE body not 8 bytes */
	FY_FCGI_ERR_AFTER_END,	/* called again after END_REQUEST */
};

/* Decoder state; fy_fcgi_parser_init() before the first call and before
 * each new request on a kept connection. */
struct fy_fcgi_parser {
	int state;
	unsigned char hdr[FCGI_HEADER_LEN];
	unsigned char body[8]; /* END_REQUEST / UNKNOWN_TYPE body */
	size_t have;	       /* bytes of hdr or body collected */
	size_t content_left;
	size_t padding_left;
	uint8_t type;
	int reported; /* the record's data went out as spans */
	enum fy_fcgi_parse_error error;
};

void fy_fcgi_parser_init(struct fy_fcgi_parser *p);

/*
 * Decodes application records from in[0..len), fed in pieces of any size.
 * Sets *consumed to the input bytes used and returns:
 *   FY_OK    an event in *ev (STDOUT, STDERR or IGNORED); call again with
 *            the rest of the input;
 *   FY_DONE  END_REQUEST, padding included, in *ev; the input after
 *            *consumed is not part of this request (a client that sees
 *            trailing bytes must not pool the connection); further calls
 *            fail with FY_FCGI_ERR_AFTER_END;
 *   FY_AGAIN all input consumed (*consumed == len) and no event yet;
 *   FY_ERROR p->error says why; the connection is unusable.
 * Padding is skipped; END_REQUEST's reserved bytes are ignored (PHP-FPM
 * leaves them uninitialised). Accepted: STDOUT, STDERR and END_REQUEST with
 * id 1; GET_VALUES_RESULT and UNKNOWN_TYPE with id 0 (reported IGNORED).
 * Anything else is an error. Never allocates; data spans point into in.
 */
int fy_fcgi_parse(struct fy_fcgi_parser *p, const char *in, size_t len,
		  size_t *consumed, struct fy_fcgi_event *ev);

/* A short English description of an error code, for logs. */
const char *fy_fcgi_parse_strerror(enum fy_fcgi_parse_error err);

/* ---- libevent helpers (fcgi/record_evbuffer.c) ------------------------- */

struct evbuffer;

/*
 * Appends len bytes of data to out as stream records of type (FCGI_STDIN),
 * split and padded like fy_fcgi_stream_encode(), without the terminator.
 * Returns FY_OK or FY_ERROR (libevent out of memory; out may then hold a
 * partial record and must be discarded).
 */
int fy_fcgi_evbuffer_add_stream(struct evbuffer *out, unsigned type,
				const void *data, size_t len);

/*
 * Moves len bytes from the front of src to out as stream records of type,
 * without copying the data (evbuffer_remove_buffer). Fails when src holds
 * fewer than len bytes (nothing moved then) or libevent fails.
 */
int fy_fcgi_evbuffer_move_stream(struct evbuffer *out, unsigned type,
				 struct evbuffer *src, size_t len);

#endif
