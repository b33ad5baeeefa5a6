/*
 * proxy.h - private to proxy/: the connection, the request, the handler and
 * transport interfaces, and the response helpers they share.
 */
#ifndef FOYER_PROXY_H
#define FOYER_PROXY_H

#include <event2/buffer.h>
#include <event2/event.h>
#include <event2/event_struct.h>
#include <netinet/in.h>
#include <stdint.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <time.h>

#include "foyer/config.h"
#include "foyer/http.h"
#include "foyer/log.h"
#include "foyer/router.h"
#include "foyer/server.h"

struct fy_conn;
struct fy_request;
struct fy_scoreboard;
struct fy_scoreboard_proc;
struct fy_scoreboard_slot;

/*
 * A transport moves bytes between a connection's buffers and its socket:
 * plain TCP now, TLS with the TLS issue. Both return like recv/send: > 0
 * bytes moved, 0 end of stream (read only), -1 with errno (EAGAIN: wait).
 */
struct fy_transport {
	const char *name;
	ssize_t (*read)(struct fy_conn *c, void *buf, size_t len);
	ssize_t (*write)(struct fy_conn *c, struct evbuffer *out);
	void (*close)(struct fy_conn *c);
};

extern const struct fy_transport fy_transport_plain;

/*
 * A handler produces the response for a routed request.
 *
 * start() is called once the whole request body has been received (or
 * discarded, when wants_body is 0). It returns FY_OK when the whole response
 * is queued (fy_response_* below), FY_AGAIN when it goes on asynchronously
 * and will call fy_request_finish() itself, or an HTTP status >= 400 for
 * the engine to answer with an error page.
 *
 * resume(), if set, is called when the output buffer has drained below the
 * low-water mark while the handler is still producing (back-pressure).
 * abort(), if set, is called when the connection dies before the handler
 * finished; the handler must release what it holds (the request arena's
 * cleanups run right after).
 */
struct fy_handler {
	const char *name;
	int wants_body;
	int (*start)(struct fy_request *r);
	void (*resume)(struct fy_request *r);
	void (*abort)(struct fy_request *r);
};

extern const struct fy_handler fy_handler_static;
extern const struct fy_handler fy_handler_fastcgi;

/* static.c: sends the regular file r->fd (stat in r->st, name in
 * r->filename) for a GET or HEAD, with the static handler's validators,
 * conditional requests and single ranges; takes r->fd over. Keeps a
 * content_type already set (else one from the file name). Returns like a
 * handler's start(): FY_OK with the response queued, or a status. */
int fy_static_serve(struct fy_request *r);

/* The handler called name, NULL if this build has none. */
const struct fy_handler *fy_handler_find(const char *name);
/* Who answers a request routed to a file of site. Never NULL. */
const struct fy_handler *fy_handler_for(const struct fy_site *site,
					const struct fy_route *route);

enum fy_method {
	FY_METHOD_OTHER,
	FY_METHOD_GET,
	FY_METHOD_HEAD,
	FY_METHOD_POST,
	FY_METHOD_PUT,
	FY_METHOD_DELETE,
	FY_METHOD_OPTIONS,
	FY_METHOD_PATCH,
	FY_METHOD_TRACE,
	FY_METHOD_CONNECT,
};

/* A header the handler adds to the response. */
struct fy_resp_header {
	const char *name;
	const char *value;
};

#define FY_RESP_MAX_HEADERS 64

struct fy_request {
	struct fy_conn *conn;
	struct fy_arena *arena;
	struct fy_http_request_head head; /* copied into the arena */
	struct fy_http_framing framing;
	enum fy_method method;
	const char *path; /* raw path of the target, without the query */
	size_t path_len;
	const char *query; /* after '?', NULL if none */
	size_t query_len;
	const struct fy_site *site;
	const char *filename; /* what was served (%f), in the arena */
	char *uri;	      /* decoded, normalised path (%U), in the arena */
	char *script;	      /* URI of what is served (index, controller) */
	char *path_info;      /* after a PHP script in the path; NULL: none */
	struct stat st;	      /* of filename, from the router */
	int fd;		      /* filename, open for reading; -1 if none */
	/* Instead of fd: filename's content from the file cache (a
	 * reference, given back when the request ends). */
	struct fy_fcache_entry *cached;
	/* The file may be kept in the file cache under uri. */
	int cacheable;
	int front_controller;
	int redirects;	    /* internal redirects so far (Location: /...) */
	int pending_status; /* error decided before the body was read */
	size_t head_len;    /* bytes of the request head */

	/* body */
	int body_chunked;
	int input_done;	    /* the whole request, body included, was read */
	uint64_t body_left; /* Content-Length bytes still to read */
	struct fy_http_chunked chunked;
	uint64_t body_received;
	int body_discard;     /* handler wants no body: count and drop */
	/* The body, when the handler wants it: all of it while it fits in
	 * client_body_buffer_size; once it does not, body_fd is an unlinked
	 * temp file holding it from offset 0 and body only stages bytes on
	 * their way there (empty once the body is complete). */
	struct evbuffer *body;
	int body_fd; /* -1: the body is in memory */
	int sent_continue;

	/* response */
	const struct fy_handler *handler;
	void *handler_data;
	int status;
	int keep_alive;
	struct fy_resp_header resp_headers[FY_RESP_MAX_HEADERS];
	size_t n_resp_headers;
	const char *content_type;
	const char *location;
	const char *reason; /* the gateway's own reason phrase; NULL: ours */
	int chunked_out;       /* response body framed as chunked */
	uint64_t bytes_header; /* bytes of the response head */
	uint64_t bytes_body;   /* body bytes queued */
	size_t out_before;     /* output bytes pending before this response */
	int head_sent;
	int finished;

	struct fy_scoreboard_slot *slot; /* NULL: not recorded */
	int64_t start_usec; /* wall clock */
	struct timespec start_mono;
};

enum fy_conn_state {
	FY_CONN_IDLE,	   /* keep-alive: waiting for the next request */
	FY_CONN_HEAD,	   /* some bytes of a request head arrived */
	FY_CONN_BODY,	   /* reading the request body */
	FY_CONN_HANDLER,   /* the handler is producing the response */
	FY_CONN_FLUSH,	   /* response queued, writing it out */
	FY_CONN_LINGER,	   /* closing: draining input after our last write */
};

struct fy_loop;

struct fy_conn {
	int fd;
	struct fy_loop *loop;
	const struct fy_transport *transport;
	void *transport_data;
	enum fy_conn_state state;
	struct event rev;
	struct event wev;
	struct event timer;
	int writing; /* wev added */
	int in_handler_start; /* inside handler->start() */
	int read_paused;      /* rev removed while a response is in progress */

	/* input: bytes [ipos, ilen) of ibuf are unread */
	char *ibuf;
	size_t ipos, ilen, icap;

	struct evbuffer *out;
	struct fy_request *req;
	unsigned requests; /* served on this connection */
	int keep_alive;	   /* the connection will be reused */
	int closing;	   /* close once the output is flushed */
	int eof;	   /* the client closed its side */

	char client[INET6_ADDRSTRLEN + 8]; /* "ip:port" for logs */
	char client_ip[INET6_ADDRSTRLEN];
	int client_port;
	char local_ip[INET6_ADDRSTRLEN];
	int local_port;

	struct fy_conn *prev, *next; /* the loop's list */
};

struct fy_loop {
	struct event_base *base;
	const struct fy_config *cfg;
	struct fy_listen_ev {
		struct event ev;
		const struct fy_listener *l;
		struct fy_loop *loop;
	} *listeners;
	size_t n_listeners;
	int accepting;
	struct event accept_retry; /* after EMFILE */
	size_t nconns;
	size_t max_conns;
	int stopping;
	int break_when_idle; /* fy_loop_run_until_idle() is running */
	long accept_left;    /* connections still to accept; 0: no limit */
	struct fy_conn *conns;

	const struct timeval *tv_keep_alive;
	const struct timeval *tv_header;
	const struct timeval *tv_body;
	const struct timeval *tv_send;
	const struct timeval *tv_linger;

	/* recycled input buffers (FY_IBUF_SIZE each): an idle keep-alive
	 * connection gives its buffer back. */
	char **free_bufs;
	size_t n_free_bufs;
	void *pools; /* recycled arenas (loop.c) */

	/* scratch for the parser: limit_request_fields + 1 entries */
	struct fy_http_header *hdr_scratch;
	size_t hdr_cap;
	struct fy_route route; /* scratch for the router, valid in dispatch */

	/* scoreboard (forked MPMs; NULL otherwise) */
	struct fy_scoreboard *sb;
	struct fy_scoreboard_proc *sb_proc;
	int sb_proc_index;
	struct fy_scoreboard_slot *sb_fixed; /* prefork, worker: own slot */
};

/* request.c / conn.c */
void fy_request_finish(struct fy_request *r);
/* Makes what the router found (rt, from fy_router_resolve for r->path)
 * the request's: uri, file (its descriptor moves to r->fd, replacing and
 * closing any earlier one), script, path info and handler, or the pending
 * error or slash redirect. Returns FY_OK, or FY_ERROR (out of memory: the
 * file is closed). */
int fy_request_route(struct fy_request *r, struct fy_route *rt);
/* Runs r->handler (or answers r->pending_status) as for a request that
 * was just routed. A response queued at once leaves r->finished set: the
 * caller flushes it with fy_request_finish(). */
void fy_request_run_handler(struct fy_request *r);

/* redirect.c: answers r, whose handler produced no response yet, as a GET
 * (a HEAD stays a HEAD) without a body for location ("/path?query", in
 * memory that lives as long as r), routed again in r's site; beyond 10
 * redirects, 500 and a log line. The original request line stays for
 * the logs. Queues or starts the new response and flushes what is
 * queued (fy_request_finish). */
void fy_request_redirect(struct fy_request *r, const char *location);
void fy_conn_want_write(struct fy_conn *c);
void fy_log_ctx_fill(const struct fy_request *r, struct fy_log_ctx *ctx);
const char *fy_request_header(const struct fy_request *r, const char *name,
			      size_t *len);

/* body.c */
/* Stores n more bytes of r's body (r->body must exist): in memory up to
 * client_body_buffer_size, then in a temp file (r->body_fd, closed with
 * the request). Returns 0, or 500 (logged) when the file cannot be made
 * or written, a full disk included. */
int fy_body_add(struct fy_request *r, const char *p, size_t n);
/* The body is complete: writes what is still staged to its file. Returns
 * 0 or 500 (logged). */
int fy_body_finish(struct fy_request *r);

/* response.c */
/* Sets the status and queues the response head. content_length >= 0 is
 * sent as Content-Length; -1 means unknown: chunked for HTTP/1.1 clients,
 * close-delimited for HTTP/1.0; -2 means a response without a body and
 * without Content-Length (304). Adds Date, Server, Connection and the
 * handler's resp_headers. */
void fy_response_head(struct fy_request *r, int status, int64_t content_length);
/* Queues a complete error response (small HTML body) and decides whether
 * the connection can stay open. */
void fy_response_error(struct fy_request *r, int status);
/* Queues body bytes (framed as chunked when chunked_out; dropped for HEAD
 * and bodiless statuses). Returns FY_OK or FY_ERROR (out of memory). */
int fy_response_body_add(struct fy_request *r, const void *data, size_t len);
/* Ends a chunked body (the last-chunk); nothing for other framings. */
int fy_response_body_end(struct fy_request *r);
/* Adds a response header (both strings must outlive the request). */
void fy_response_add_header(struct fy_request *r, const char *name,
			    const char *value);
/* "Fri, 27 Nov 2026 04:40:50 GMT" for t; buf has at least 32 bytes. */
size_t fy_http_date(time_t t, char *buf);
/* Parses an IMF-fixdate (and the two obsolete formats); -1 if invalid. */
time_t fy_http_date_parse(const char *s, size_t len);
/* The cached "Date: ...\r\n" line for the current second. */
const char *fy_response_date_line(size_t *len);

enum fy_method fy_method_parse(const char *m, size_t len);

/* Writes v in decimal at p (no NUL); returns the end. snprintf costs more
 * than the rest of a static response, so the hot path formats by hand. */
static inline char *fy_put_u64(char *p, uint64_t v)
{
	char tmp[20];
	size_t n = 0;
	do {
		tmp[n++] = (char)('0' + v % 10);
		v /= 10;
	} while (v != 0);
	while (n > 0)
		*p++ = tmp[--n];
	return p;
}

/* Writes v in lower-case hexadecimal at p (no NUL); returns the end. */
static inline char *fy_put_hex(char *p, uint64_t v)
{
	static const char digits[] = "0123456789abcdef";
	char tmp[16];
	size_t n = 0;
	do {
		tmp[n++] = digits[v & 15];
		v >>= 4;
	} while (v != 0);
	while (n > 0)
		*p++ = tmp[--n];
	return p;
}

#define FY_IBUF_SIZE 8192
#define FY_OUT_HIGH_WATER (256 * 1024)

#endif
