/*
 * conn.c - the connection state machine: read a request head, parse it,
 * route it, read or discard its body, run its handler, write the response,
 * then keep-alive (pipelined requests in order) or a lingering close.
 *
 * Every MPM runs this same code; only how many connections a loop may hold
 * differs.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "foyer/arena.h"
#include "foyer/core.h"
#include "foyer/file_cache.h"
#include "foyer/scoreboard.h"
#include "foyer/status.h"
#include "proxy.h"

/* Bytes of the first request line shown in logs when the head is invalid. */
#define BAD_LINE_MAX 1024
/* Request bytes a closing connection still reads and drops before it
 * gives up on a clean close. */
#define LINGER_MAX (256 * 1024)

static void process(struct fy_conn *c);
static void conn_close(struct fy_conn *c);
static void conn_linger(struct fy_conn *c);
static int response_queued(struct fy_conn *c);
static void run_handler(struct fy_request *r);

/* Defined in loop.c: the connection list, buffer and arena recycling. */
void fy_loop_conn_gone(struct fy_loop *loop, struct fy_conn *c);
char *fy_loop_get_ibuf(struct fy_loop *loop);
void fy_loop_put_ibuf(struct fy_loop *loop, char *buf);
struct fy_arena *fy_loop_get_arena(struct fy_loop *loop);
void fy_loop_put_arena(struct fy_loop *loop, struct fy_arena *a);
struct fy_conn *fy_conn_new(struct fy_loop *loop, int fd,
			    const struct sockaddr *peer, socklen_t peerlen,
			    const struct fy_listener *l);
void fy_conn_close_now(struct fy_conn *c);
void fy_conn_stop(struct fy_conn *c);

static int64_t now_usec(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

static void addr_to_text(const struct sockaddr *sa, char *ip, size_t iplen,
			 int *port)
{
	if (sa->sa_family == AF_INET6) {
		const struct sockaddr_in6 *s6 = (const void *)sa;
		if (IN6_IS_ADDR_V4MAPPED(&s6->sin6_addr))
			inet_ntop(AF_INET, &s6->sin6_addr.s6_addr[12], ip,
				  (socklen_t)iplen);
		else
			inet_ntop(AF_INET6, &s6->sin6_addr, ip, (socklen_t)iplen);
		*port = ntohs(s6->sin6_port);
	} else if (sa->sa_family == AF_INET) {
		const struct sockaddr_in *s4 = (const void *)sa;
		inet_ntop(AF_INET, &s4->sin_addr, ip, (socklen_t)iplen);
		*port = ntohs(s4->sin_port);
	} else {
		snprintf(ip, iplen, "unix");
		*port = 0;
	}
}

static void set_timer(struct fy_conn *c, const struct timeval *tv)
{
	event_add(&c->timer, tv);
}

/* ---- scoreboard ---------------------------------------------------------
 * Under the forked MPMs the loop reports what its connections do: prefork
 * and worker loops own one worker slot, event loops take a slot per request
 * in progress and count their connections by state. */

static enum fy_proc_conns state_counter(enum fy_conn_state s, int *counted)
{
	*counted = 1;
	switch (s) {
	case FY_CONN_IDLE:
		return FY_PROC_CONNS_KEEPALIVE;
	case FY_CONN_FLUSH:
		return FY_PROC_CONNS_WRITING;
	case FY_CONN_LINGER:
		return FY_PROC_CONNS_CLOSING;
	default:
		*counted = 0;
		return FY_PROC_CONNS_TOTAL;
	}
}

static void set_state(struct fy_conn *c, enum fy_conn_state s)
{
	struct fy_loop *loop = c->loop;
	if (loop->sb_proc != NULL && c->state != s) {
		int in, out;
		enum fy_proc_conns from = state_counter(c->state, &out);
		enum fy_proc_conns to = state_counter(s, &in);
		/* A fresh connection is IDLE before its first request but is
		 * not a keep-alive connection yet. */
		if (out && (c->state != FY_CONN_IDLE || c->requests > 0))
			fy_scoreboard_proc_conns_add(loop->sb_proc, from, -1);
		if (in && (s != FY_CONN_IDLE || c->requests > 0))
			fy_scoreboard_proc_conns_add(loop->sb_proc, to, 1);
	}
	if (loop->sb_fixed != NULL) {
		static const enum fy_slot_status map[] = {
		    [FY_CONN_IDLE] = FY_SLOT_KEEPALIVE,
		    [FY_CONN_HEAD] = FY_SLOT_READ,
		    [FY_CONN_BODY] = FY_SLOT_READ,
		    [FY_CONN_HANDLER] = FY_SLOT_WRITE,
		    [FY_CONN_FLUSH] = FY_SLOT_WRITE,
		    [FY_CONN_LINGER] = FY_SLOT_CLOSING,
		};
		fy_scoreboard_set_status(loop->sb_fixed, map[s]);
	}
	c->state = s;
}

static void sb_request_begin(struct fy_request *r)
{
	struct fy_loop *loop = r->conn->loop;
	if (loop->sb == NULL)
		return;
	r->slot = loop->sb_fixed;
	if (r->slot == NULL)
		r->slot = fy_scoreboard_slot_claim(loop->sb, loop->sb_proc_index);
	if (r->slot == NULL)
		return; /* every slot busy: the request goes unrecorded */
	/* "site:port", without snprintf: this runs for every request */
	char vhost[FY_SCOREBOARD_VHOST_LEN];
	const char *name = r->site != NULL ? r->site->name : "";
	size_t nl = strnlen(name, sizeof(vhost) - 8);
	memcpy(vhost, name, nl);
	vhost[nl] = ':';
	char *end = fy_put_u64(vhost + nl + 1, (uint64_t)(unsigned)r->conn->local_port);
	*end = '\0';
	const char *proto = r->head.minor_version == 1 ? "HTTP/1.1" : "HTTP/1.0";
	/* Apache shows the client's address without the port. */
	fy_scoreboard_request_begin(r->slot, r->conn->client_ip, vhost,
				    r->head.request_line,
				    r->head.request_line_len,
				    r->head.method != NULL ? proto : "");
}

static void sb_request_end(struct fy_request *r, uint64_t bytes, int64_t dur)
{
	if (r->slot == NULL)
		return;
	fy_scoreboard_request_end(r->slot, r->method == FY_METHOD_HEAD ? 0 : bytes,
				  dur > 0 ? (uint64_t)dur : 0);
	if (r->slot != r->conn->loop->sb_fixed)
		fy_scoreboard_slot_release(r->slot);
	r->slot = NULL;
}

void fy_loop_set_scoreboard(struct fy_loop *loop, struct fy_scoreboard *sb,
			    int proc, int thread)
{
	loop->sb = sb;
	loop->sb_proc_index = proc;
	loop->sb_proc = sb != NULL ? fy_scoreboard_proc(sb, proc) : NULL;
	loop->sb_fixed = sb != NULL && thread >= 0
			     ? fy_scoreboard_slot(sb, proc, thread)
			     : NULL;
}

static void on_read(evutil_socket_t fd, short what, void *arg);
static void on_write(evutil_socket_t fd, short what, void *arg);
static void on_timer(evutil_socket_t fd, short what, void *arg);

struct fy_conn *fy_conn_new(struct fy_loop *loop, int fd,
			    const struct sockaddr *peer, socklen_t peerlen,
			    const struct fy_listener *l)
{
	(void)peerlen;
	struct fy_conn *c = calloc(1, sizeof(*c));
	if (c == NULL)
		return NULL;
	c->out = evbuffer_new();
	if (c->out == NULL) {
		free(c);
		return NULL;
	}
	/* The output goes straight to a socket: libevent may then use
	 * sendfile(2) for file segments instead of reading them. */
	evbuffer_set_flags(c->out, EVBUFFER_FLAG_DRAINS_TO_FD);
	c->fd = fd;
	c->loop = loop;
	c->transport = &fy_transport_plain;
	c->state = FY_CONN_IDLE;
	c->keep_alive = 1;

	addr_to_text(peer, c->client_ip, sizeof(c->client_ip), &c->client_port);
	snprintf(c->client, sizeof(c->client), "%s:%d", c->client_ip,
		 c->client_port);
	if (l != NULL && l->local_ip[0] != '\0') {
		memcpy(c->local_ip, l->local_ip, sizeof(l->local_ip));
		c->local_port = l->local_port;
	} else {
		struct sockaddr_storage local;
		socklen_t llen = sizeof(local);
		if (getsockname(fd, (struct sockaddr *)&local, &llen) == 0)
			addr_to_text((struct sockaddr *)&local, c->local_ip,
				     sizeof(c->local_ip), &c->local_port);
	}

	if (peer->sa_family != AF_UNIX) {
		/* Responses go out in one write each; Nagle would only hold the
		 * last segment of a keep-alive response back. */
		int one = 1;
		setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	}

	struct event_base *base = loop->base;
	event_assign(&c->rev, base, fd, EV_READ | EV_PERSIST, on_read, c);
	event_assign(&c->wev, base, fd, EV_WRITE | EV_PERSIST, on_write, c);
	evtimer_assign(&c->timer, base, on_timer, c);
	event_add(&c->rev, NULL);
	if (loop->sb_proc != NULL)
		fy_scoreboard_proc_conns_add(loop->sb_proc, FY_PROC_CONNS_TOTAL, 1);
	/* A new connection has request_header_timeout to send its first
	 * request; one that sends nothing is closed without an answer. */
	set_timer(c, loop->tv_header);
	return c;
}

/* ---- requests ---------------------------------------------------------- */

static struct fy_request *request_new(struct fy_conn *c)
{
	struct fy_arena *a = fy_loop_get_arena(c->loop);
	if (a == NULL)
		return NULL;
	struct fy_request *r = fy_arena_calloc(a, 1, sizeof(*r));
	if (r == NULL) {
		fy_loop_put_arena(c->loop, a);
		return NULL;
	}
	r->arena = a;
	r->conn = c;
	r->fd = -1;
	r->body_fd = -1;
	r->keep_alive = 0;
	r->out_before = evbuffer_get_length(c->out);
	r->start_usec = now_usec();
	clock_gettime(CLOCK_MONOTONIC, &r->start_mono);
	c->req = r;
	return r;
}

/* The one place a request's memory is released. */
static void request_free(struct fy_conn *c)
{
	struct fy_request *r = c->req;
	if (r == NULL)
		return;
	c->req = NULL;
	if (r->slot != NULL && r->slot != c->loop->sb_fixed)
		fy_scoreboard_slot_release(r->slot);
	if (r->body != NULL)
		evbuffer_free(r->body);
	fy_loop_put_arena(c->loop, r->arena);
}

void fy_log_ctx_fill(const struct fy_request *r, struct fy_log_ctx *ctx)
{
	ctx->client = r->conn->client;
	ctx->site = r->site != NULL ? r->site->name : NULL;
	ctx->request_line = r->head.request_line;
	ctx->request_line_len = r->head.request_line_len;
}

const char *fy_request_header(const struct fy_request *r, const char *name,
			      size_t *len)
{
	ssize_t i = fy_http_find_header(&r->head, name, strlen(name));
	if (i < 0)
		return NULL;
	if (len != NULL)
		*len = r->head.headers[i].value_len;
	return r->head.headers[i].value;
}

static const char *header_cb(void *arg, const char *name, size_t *len)
{
	return fy_request_header(arg, name, len);
}

static void access_log(struct fy_request *r)
{
	if (r->site == NULL || r->site->access == NULL)
		return;
	struct fy_conn *c = r->conn;
	struct timespec now;
	clock_gettime(CLOCK_MONOTONIC, &now);
	int64_t dur = (now.tv_sec - r->start_mono.tv_sec) * 1000000 +
		      (now.tv_nsec - r->start_mono.tv_nsec) / 1000;
	size_t unsent = evbuffer_get_length(c->out);
	uint64_t queued = r->bytes_header + r->bytes_body;
	char proto[9] = "HTTP/1.0";
	proto[7] = r->head.minor_version == 1 ? '1' : '0';

	struct fy_access_entry e = {
		.client_ip = c->client_ip,
		.client_port = c->client_port,
		.local_ip = c->local_ip,
		.local_port = c->local_port,
		/* %v: the canonical name, as Apache's ServerName */
		.site = r->site->n_server_names > 0 ? r->site->server_names[0]
						    : r->site->name,
		.request_line = r->head.request_line,
		.request_line_len = r->head.request_line_len,
		.method = r->head.method,
		.method_len = r->head.method_len,
		.path = r->uri,
		.query = r->query,
		.query_len = r->query_len,
		.protocol = r->head.request_line != NULL ? proto : NULL,
		.filename = r->filename,
		.status = r->status,
		.bytes_body = r->bytes_body,
		.bytes_sent = queued > unsent ? queued - unsent : 0,
		.bytes_received = r->head_len + r->body_received,
		.start_usec = r->start_usec,
		.duration_usec = dur,
		.content_type = r->content_type,
		.location = r->location,
		.header = header_cb,
		.header_arg = r,
	};
	size_t hl = 0;
	const char *host = fy_request_header(r, "Host", &hl);
	e.host = host != NULL ? fy_arena_strndup(r->arena, host, hl) : r->site->name;
	fy_access_log_write(r->site->access, &e);
}

/* Reading was paused while a response was in progress (pipelined bytes
 * waiting in the kernel); the connection reads again. */
static void resume_reading(struct fy_conn *c)
{
	if (c->read_paused) {
		event_add(&c->rev, NULL);
		c->read_paused = 0;
	}
}

/* Whether the kernel holds no unread byte from the client (its close
 * counts as nothing). */
static int nothing_pending(struct fy_conn *c)
{
	char b;
	ssize_t n = recv(c->fd, &b, 1, MSG_PEEK | MSG_DONTWAIT);
	return n == 0 || (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK));
}

/* The response is written out: log it, release it, and decide what the
 * connection does next. Returns 1 when the connection waits for (or already
 * has) the next request, 0 when it is closing. */
static int request_done(struct fy_conn *c)
{
	struct fy_request *r = c->req;
	/* A response that promised keep-alive keeps it, even in a stopping
	 * loop: the connection then waits a short while only. */
	int keep = r->keep_alive && !c->eof;
	/* The client said it sends nothing more (Connection: close, or
	 * HTTP/1.0 without keep-alive) and everything it sent was read. */
	int client_done = !keep && r->input_done && !r->framing.keep_alive &&
			  c->ipos == c->ilen;
	access_log(r);
	if (r->slot != NULL) {
		struct timespec now;
		clock_gettime(CLOCK_MONOTONIC, &now);
		sb_request_end(r, r->bytes_header + r->bytes_body,
			       (now.tv_sec - r->start_mono.tv_sec) * 1000000 +
				   (now.tv_nsec - r->start_mono.tv_nsec) / 1000);
	}
	c->requests++;
	request_free(c);
	if (!keep) {
		if (client_done && nothing_pending(c)) {
			/* No unread byte can turn the close into a reset:
			 * close now, without a lingering round trip (which
			 * holds a prefork process or a worker thread until
			 * the client closes too). */
			conn_close(c);
			return 0;
		}
		conn_linger(c);
		return 0;
	}
	set_state(c, FY_CONN_IDLE);
	resume_reading(c);
	if (c->ipos == c->ilen) {
		c->ipos = c->ilen = 0;
		/* An idle keep-alive connection holds no input buffer. */
		if (c->ibuf != NULL) {
			fy_loop_put_ibuf(c->loop, c->ibuf);
			c->ibuf = NULL;
			c->icap = 0;
		}
	}
	set_timer(c, c->loop->stopping ? c->loop->tv_linger
				       : c->loop->tv_keep_alive);
	return 1;
}

/* Copies the parsed head into the request arena so that the input buffer
 * can be compacted or reused while the request lives. */
static int copy_head(struct fy_request *r, const char *base,
		     const struct fy_http_request_head *h, size_t len)
{
	char *copy = fy_arena_alloc(r->arena, len);
	struct fy_http_header *hdrs =
	    fy_arena_alloc(r->arena, (h->num_headers + 1) * sizeof(*hdrs));
	if (copy == NULL || hdrs == NULL)
		return FY_ERROR;
	memcpy(copy, base, len);
#define REBASE(p) ((p) != NULL ? copy + ((p)-base) : NULL)
	r->head = *h;
	r->head.method = REBASE(h->method);
	r->head.target = REBASE(h->target);
	r->head.request_line = REBASE(h->request_line);
	for (size_t i = 0; i < h->num_headers; i++) {
		hdrs[i].name = REBASE(h->headers[i].name);
		hdrs[i].name_len = h->headers[i].name_len;
		hdrs[i].value = REBASE(h->headers[i].value);
		hdrs[i].value_len = h->headers[i].value_len;
	}
#undef REBASE
	r->head.headers = hdrs;
	return FY_OK;
}

/* For a head that did not parse: keep its first line for the logs. */
static void keep_bad_line(struct fy_request *r, const char *p, size_t len)
{
	size_t n = 0;
	while (n < len && n < BAD_LINE_MAX && p[n] != '\r' && p[n] != '\n')
		n++;
	r->head.request_line = fy_arena_strndup(r->arena, p, n);
	r->head.request_line_len = r->head.request_line != NULL ? n : 0;
}

/* Queues an error response for r and closes the connection afterwards
 * unless the error leaves it in a known state. */
static void fail(struct fy_request *r, int status, int keep)
{
	if (!keep)
		r->keep_alive = 0;
	fy_response_error(r, status);
}

/* The routed file's descriptor lives as long as the request, unless a
 * handler took it (and set r->fd to -1). */
static void close_request_fd(void *arg)
{
	struct fy_request *r = arg;
	if (r->fd >= 0) {
		close(r->fd);
		r->fd = -1;
	}
	if (r->cached != NULL) {
		fy_fcache_put(r->cached);
		r->cached = NULL;
	}
}

int fy_request_route(struct fy_request *r, struct fy_route *rt)
{
	r->uri = fy_arena_strdup(r->arena, rt->uri);
	if (rt->kind == FY_ROUTE_ERROR) {
		r->pending_status = rt->status;
	} else if (rt->kind == FY_ROUTE_REDIRECT_SLASH) {
		/* Location keeps the client's own encoding of the path */
		r->location = fy_arena_printf(
		    r->arena, "%.*s/%s%.*s", (int)r->path_len, r->path,
		    r->query != NULL ? "?" : "", (int)r->query_len,
		    r->query != NULL ? r->query : "");
		r->pending_status = 301;
	} else {
		/* An internal redirect routes a request a second time: the
		 * file of the first route is done with. */
		close_request_fd(r);
		r->fd = rt->fd;
		rt->fd = -1;
		r->cached = rt->cached;
		rt->cached = NULL;
		r->cacheable = rt->cacheable;
		if (fy_arena_cleanup(r->arena, close_request_fd, r) != FY_OK) {
			close_request_fd(r);
			return FY_ERROR;
		}
		r->filename = fy_arena_strdup(r->arena, rt->fs_path);
		r->script = fy_arena_strdup(r->arena, rt->script);
		if (rt->path_info != NULL)
			r->path_info = fy_arena_strdup(r->arena, rt->path_info);
		r->st = rt->st;
		r->front_controller = rt->front_controller;
		r->handler = fy_handler_for(r->site, rt);
	}
	return FY_OK;
}

/* The request head is complete: decide who answers and how the body is
 * read. Returns FY_OK to go on in process(), FY_DONE when a response was
 * queued (the caller flushes it). */
static int dispatch_head(struct fy_conn *c, struct fy_request *r)
{
	const struct fy_config *cfg = c->loop->cfg;
	struct fy_log_ctx ctx;

	r->method = fy_method_parse(r->head.method, r->head.method_len);
	int st = fy_http_check_framing(&r->head, &r->framing);
	/* A stopping loop says so in this response ("Connection: close")
	 * rather than closing behind the client's back. */
	r->keep_alive = r->framing.keep_alive && cfg->keep_alive &&
			!c->loop->stopping &&
			(cfg->max_keep_alive_requests == 0 ||
			 c->requests + 1 < (unsigned)cfg->max_keep_alive_requests);

	const char *host = r->framing.host;
	size_t host_len = r->framing.host_len;
	const char *t = r->head.target;
	size_t tl = r->head.target_len;
	if (st == 0 && tl > 0 && t[0] != '/') {
		/* absolute-form: the authority in the target replaces Host
		 * (RFC 9112 3.2.2); "*" is for OPTIONS only. */
		if (tl == 1 && t[0] == '*') {
			if (r->method != FY_METHOD_OPTIONS)
				st = 400;
		} else if (tl > 7 && (strncasecmp(t, "http://", 7) == 0 ||
				      (tl > 8 && strncasecmp(t, "https://", 8) == 0))) {
			size_t skip = t[4] == ':' ? 7 : 8;
			const char *auth = t + skip;
			const char *end = memchr(auth, '/', tl - skip);
			if (end == NULL)
				end = t + tl;
			host = auth;
			host_len = (size_t)(end - auth);
			t = end;
			tl = (size_t)(r->head.target + r->head.target_len - end);
			if (tl == 0) {
				t = "/";
				tl = 1;
			}
		} else {
			st = 400;
		}
	}
	r->site = fy_router_site(cfg, host, host_len);
	fy_log_ctx_fill(r, &ctx);
	sb_request_begin(r);

	if (st != 0) {
		fy_log(FY_LOG_INFO, "http", &ctx, "bad request framing: %d", st);
		fail(r, st, 0);
		return FY_DONE;
	}

	const char *q = memchr(t, '?', tl);
	r->path = t;
	r->path_len = q != NULL ? (size_t)(q - t) : tl;
	if (q != NULL) {
		r->query = q + 1;
		r->query_len = tl - r->path_len - 1;
	}

	/* Body framing and its limit, before any byte of it is read. */
	if (r->framing.chunked) {
		r->body_chunked = 1;
	} else if (r->framing.content_length > 0) {
		r->body_left = (uint64_t)r->framing.content_length;
		if (cfg->limit_request_body > 0 &&
		    r->framing.content_length > cfg->limit_request_body) {
			fy_log(FY_LOG_ERR, "http", &ctx,
			       "request body of %lld bytes exceeds the limit of "
			       "%lld (limit_request_body)",
			       (long long)r->framing.content_length,
			       (long long)cfg->limit_request_body);
			fail(r, 413, 0);
			return FY_DONE;
		}
	}
	int has_body = r->body_chunked || r->body_left > 0;

	/* Route, and pick the handler. */
	const char *sp = cfg->status_path;
	if (sp != NULL && r->path_len == strlen(sp) &&
	    memcmp(r->path, sp, r->path_len) == 0) {
		r->handler = &fy_handler_status;
		r->uri = fy_arena_strndup(r->arena, r->path, r->path_len);
	} else if (tl == 1 && t[0] == '*') {
		r->handler = &fy_handler_static; /* OPTIONS * */
		r->uri = "*";
	} else {
		struct fy_route *rt = &c->loop->route;
		fy_router_resolve(r->site, r->path, r->path_len, rt);
		if (fy_request_route(r, rt) != FY_OK) {
			fail(r, 500, 0);
			return FY_DONE;
		}
	}

	if (!has_body) {
		r->input_done = 1;
		run_handler(r);
		return FY_DONE;
	}

	r->body_discard = r->pending_status != 0 || r->handler == NULL ||
			  !r->handler->wants_body;
	if (r->framing.expect_continue && c->ipos == c->ilen) {
		if (r->pending_status != 0) {
			/* Do not invite a body we would only throw away. */
			fail(r, r->pending_status, 0);
			return FY_DONE;
		}
		static const char cont[] = "HTTP/1.1 100 Continue\r\n\r\n";
		evbuffer_add(c->out, cont, sizeof(cont) - 1);
		r->out_before += sizeof(cont) - 1;
		r->sent_continue = 1;
		fy_conn_want_write(c);
	}
	if (!r->body_discard) {
		r->body = evbuffer_new();
		if (r->body == NULL) {
			fail(r, 500, 0);
			return FY_DONE;
		}
	}
	set_state(c, FY_CONN_BODY);
	set_timer(c, c->loop->tv_body);
	return FY_OK;
}

void fy_request_run_handler(struct fy_request *r)
{
	run_handler(r);
}

static void run_handler(struct fy_request *r)
{
	struct fy_conn *c = r->conn;
	if (r->pending_status != 0) {
		if (r->pending_status >= 400) {
			struct fy_log_ctx ctx;
			fy_log_ctx_fill(r, &ctx);
			fy_log(FY_LOG_INFO, "router", &ctx, "%d %s: %s",
			       r->pending_status,
			       fy_http_reason(r->pending_status), r->uri);
		}
		fy_response_error(r, r->pending_status);
		return;
	}
	set_state(c, FY_CONN_HANDLER);
	c->in_handler_start = 1;
	int rc = r->handler->start(r);
	c->in_handler_start = 0;
	if (rc == FY_OK) {
		r->finished = 1;
		return;
	}
	if (rc == FY_AGAIN) {
		/* The handler's own timeouts govern until it produces. A
		 * synchronous answer needs no change: request_done or the
		 * send path sets the next timer. */
		event_del(&c->timer);
		return;
	}
	struct fy_log_ctx ctx;
	fy_log_ctx_fill(r, &ctx);
	if (rc < 400)
		rc = 500;
	fy_log(rc >= 500 ? FY_LOG_ERR : FY_LOG_INFO, r->handler->name, &ctx,
	       "answered %d %s", rc, fy_http_reason(rc));
	fy_response_error(r, rc);
}

static int body_add(struct fy_request *r, const char *p, size_t n)
{
	r->body_received += n;
	const struct fy_config *cfg = r->conn->loop->cfg;
	if (cfg->limit_request_body > 0 &&
	    r->body_received > (uint64_t)cfg->limit_request_body)
		return 413;
	if (r->body_discard)
		return 0;
	return fy_body_add(r, p, n);
}

/* Consumes body bytes from the input buffer. Returns FY_AGAIN (need more),
 * FY_OK (body complete) or an HTTP status. */
static int read_body(struct fy_conn *c, struct fy_request *r)
{
	while (c->ipos < c->ilen) {
		const char *p = c->ibuf + c->ipos;
		size_t avail = c->ilen - c->ipos;
		if (!r->body_chunked) {
			size_t n = avail < r->body_left ? avail : (size_t)r->body_left;
			int st = body_add(r, p, n);
			c->ipos += n;
			r->body_left -= n;
			if (st != 0)
				return st;
			if (r->body_left == 0)
				return FY_OK;
			continue;
		}
		size_t used = 0, dlen = 0;
		const char *data = NULL;
		int rc = fy_http_chunked_decode(&r->chunked, p, avail, &used,
						&data, &dlen);
		c->ipos += used;
		if (dlen > 0) {
			int st = body_add(r, data, dlen);
			if (st != 0)
				return st;
		}
		if (rc == FY_DONE)
			return FY_OK;
		if (rc == FY_ERROR)
			return 400;
		if (used == 0 && dlen == 0)
			break;
	}
	if (r->body_chunked || r->body_left > 0)
		return FY_AGAIN;
	return FY_OK;
}

/* Turns what the input buffer holds into requests and responses, as far as
 * it can without waiting. */
static void process(struct fy_conn *c)
{
	const struct fy_config *cfg = c->loop->cfg;
	struct fy_loop *loop = c->loop;

	for (;;) {
		switch (c->state) {
		case FY_CONN_IDLE:
		case FY_CONN_HEAD: {
			if (c->ipos == c->ilen)
				return;
			int first = c->state == FY_CONN_IDLE;
			struct fy_http_request_head h;
			struct fy_http_limits lim = {
			    .request_line = (size_t)cfg->limit_request_line,
			    .fields = (size_t)cfg->limit_request_fields,
			    .field_size = (size_t)cfg->limit_request_field_size,
			};
			h.headers = loop->hdr_scratch;
			h.num_headers = loop->hdr_cap;
			int status = 0;
			const char *base = c->ibuf + c->ipos;
			size_t avail = c->ilen - c->ipos;
			int rc = fy_http_parse_request(base, avail, &h, &lim,
						       &status);
			if (rc == FY_HTTP_INCOMPLETE) {
				if (first) {
					/* The clock for the whole head starts
					 * with its first byte, so a slow
					 * sender cannot keep it open by
					 * trickling (slow-loris). A head that
					 * came whole never needs it. */
					set_state(c, FY_CONN_HEAD);
					set_timer(c, loop->tv_header);
				}
				return;
			}
			struct fy_request *r = request_new(c);
			if (r == NULL) {
				conn_close(c);
				return;
			}
			if (rc < 0) {
				keep_bad_line(r, base, avail);
				r->site = loop->cfg->n_sites ? loop->cfg->sites[0]
							     : NULL;
				sb_request_begin(r);
				struct fy_log_ctx ctx;
				fy_log_ctx_fill(r, &ctx);
				fy_log(FY_LOG_INFO, "http", &ctx,
				       "invalid request head: %d", status);
				/* The rest of the input is not trusted:
				 * answer and close. */
				c->ipos = c->ilen;
				fail(r, status ? status : 400, 0);
			} else {
				if (copy_head(r, base, &h, (size_t)rc) != FY_OK) {
					conn_close(c);
					return;
				}
				r->head_len = (size_t)rc;
				c->ipos += (size_t)rc;
				if (dispatch_head(c, r) == FY_OK)
					continue; /* read the body */
			}
			int q = response_queued(c);
			if (q <= 0)
				return;
			continue;
		}
		case FY_CONN_BODY: {
			struct fy_request *r = c->req;
			int rc = read_body(c, r);
			if (rc == FY_AGAIN)
				return;
			if (rc != FY_OK) {
				struct fy_log_ctx ctx;
				fy_log_ctx_fill(r, &ctx);
				if (rc == 413)
					fy_log(FY_LOG_ERR, "http", &ctx,
					       "request body exceeds the limit "
					       "of %lld bytes (limit_request_body)",
					       (long long)cfg->limit_request_body);
				else if (rc != 500) /* body.c said why */
					fy_log(FY_LOG_INFO, "http", &ctx,
					       "invalid request body: %d", rc);
				c->ipos = c->ilen;
				fail(r, rc, 0);
			} else if (fy_body_finish(r) != 0) {
				fail(r, 500, 0);
			} else {
				r->input_done = 1;
				run_handler(r);
			}
			int q = response_queued(c);
			if (q <= 0)
				return;
			continue;
		}
		case FY_CONN_HANDLER:
		case FY_CONN_FLUSH:
			/* Pipelined input waits in the buffer until the
			 * response in progress is out. */
			return;
		case FY_CONN_LINGER:
			c->ipos = c->ilen = 0;
			return;
		}
	}
}

/* ---- output ------------------------------------------------------------ */

void fy_conn_want_write(struct fy_conn *c)
{
	if (!c->writing) {
		event_add(&c->wev, NULL);
		c->writing = 1;
	}
}

static void stop_writing(struct fy_conn *c)
{
	if (c->writing) {
		event_del(&c->wev);
		c->writing = 0;
	}
}

/* Writes what it can. Returns FY_OK when the output is empty, FY_AGAIN
 * when the socket is full, FY_ERROR when the connection is dead. */
static int flush(struct fy_conn *c)
{
	while (evbuffer_get_length(c->out) > 0) {
		ssize_t n = c->transport->write(c, c->out);
		if (n > 0)
			continue;
		if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
			fy_conn_want_write(c);
			return FY_AGAIN;
		}
		if (n < 0 && errno == EINTR)
			continue;
		return FY_ERROR;
	}
	stop_writing(c);
	return FY_OK;
}

/* Called once a response is fully queued (or after a state change that may
 * have queued one). Returns 1 when the connection is ready for the next
 * request, 0 when it waits (writing, or a handler still running), -1 when
 * it is closed or closing. */
static int response_queued(struct fy_conn *c)
{
	struct fy_request *r = c->req;
	if (r == NULL)
		return c->state == FY_CONN_LINGER ? -1 : 1;
	if (c->state == FY_CONN_HANDLER && !r->finished) {
		/* Handler still producing: write what there is. */
		if (flush(c) == FY_ERROR) {
			conn_close(c);
			return -1;
		}
		return 0;
	}
	set_state(c, FY_CONN_FLUSH);
	int rc = flush(c);
	if (rc == FY_ERROR) {
		struct fy_log_ctx ctx;
		fy_log_ctx_fill(r, &ctx);
		fy_log(FY_LOG_INFO, "http", &ctx, "client went away: %s",
		       strerror(errno));
		c->eof = 1;
		access_log(r);
		conn_close(c);
		return -1;
	}
	if (rc == FY_AGAIN) {
		set_timer(c, c->loop->tv_send);
		return 0;
	}
	return request_done(c) ? 1 : -1;
}

void fy_request_finish(struct fy_request *r)
{
	struct fy_conn *c = r->conn;
	r->finished = 1;
	if (c->state != FY_CONN_HANDLER || c->in_handler_start)
		return; /* run_handler's caller flushes */
	if (response_queued(c) == 1)
		process(c);
}

/* ---- closing ----------------------------------------------------------- */

static void conn_close(struct fy_conn *c)
{
	if (c->req != NULL) {
		if (c->req->handler != NULL && c->req->handler->abort != NULL &&
		    !c->req->finished && c->state == FY_CONN_HANDLER)
			c->req->handler->abort(c->req);
		request_free(c);
	}
	event_del(&c->rev);
	event_del(&c->wev);
	event_del(&c->timer);
	if (c->loop->sb_proc != NULL) {
		int counted;
		enum fy_proc_conns which = state_counter(c->state, &counted);
		if (counted && (c->state != FY_CONN_IDLE || c->requests > 0))
			fy_scoreboard_proc_conns_add(c->loop->sb_proc, which, -1);
		fy_scoreboard_proc_conns_add(c->loop->sb_proc,
					     FY_PROC_CONNS_TOTAL, -1);
	}
	if (c->transport->close != NULL)
		c->transport->close(c);
	close(c->fd);
	evbuffer_free(c->out);
	if (c->ibuf != NULL)
		fy_loop_put_ibuf(c->loop, c->ibuf);
	fy_loop_conn_gone(c->loop, c);
	free(c);
}

void fy_conn_close_now(struct fy_conn *c)
{
	conn_close(c);
}

/* Closing after our last response: shut our side down and read what the
 * client still sends for a while, so that its unread requests do not turn
 * our close into a reset that destroys the response in flight. */
static void conn_linger(struct fy_conn *c)
{
	set_state(c, FY_CONN_LINGER);
	if (c->eof) {
		conn_close(c);
		return;
	}
	shutdown(c->fd, SHUT_WR);
	resume_reading(c);
	c->ipos = c->ilen = 0;
	set_timer(c, c->loop->tv_linger);
}

/* Graceful stop: idle connections close now, busy ones after their
 * response (request_done sees loop->stopping). */
void fy_conn_stop(struct fy_conn *c)
{
	/* An idle keep-alive connection is not closed under a client that
	 * may be sending its next request right now: it gets a short while,
	 * and a request that comes in it is answered with "Connection:
	 * close". */
	if (c->state == FY_CONN_IDLE && c->req == NULL)
		set_timer(c, c->loop->tv_linger);
}

/* ---- events ------------------------------------------------------------ */

static void on_read(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	struct fy_conn *c = arg;
	struct fy_loop *loop = c->loop;

	if (c->state == FY_CONN_HANDLER || c->state == FY_CONN_FLUSH) {
		/* Busy with a response: leave pipelined bytes in the kernel
		 * (back-pressure) but notice a client that went away. */
		char probe;
		ssize_t n = recv(c->fd, &probe, 1, MSG_PEEK);
		if (n == 0 || (n < 0 && errno != EAGAIN && errno != EINTR)) {
			c->eof = 1;
			conn_close(c);
			return;
		}
		event_del(&c->rev);
		c->read_paused = 1;
		return;
	}

	if (c->state == FY_CONN_LINGER) {
		char sink[4096];
		for (int i = 0; i < LINGER_MAX / (int)sizeof(sink); i++) {
			ssize_t n = recv(c->fd, sink, sizeof(sink), 0);
			if (n > 0)
				continue;
			if (n < 0 && (errno == EAGAIN || errno == EINTR))
				return;
			break;
		}
		conn_close(c);
		return;
	}

	if (c->ibuf == NULL) {
		c->ibuf = fy_loop_get_ibuf(loop);
		if (c->ibuf == NULL) {
			conn_close(c);
			return;
		}
		c->icap = FY_IBUF_SIZE;
		c->ipos = c->ilen = 0;
	}
	if (c->ilen == c->icap) {
		if (c->ipos > 0) {
			memmove(c->ibuf, c->ibuf + c->ipos, c->ilen - c->ipos);
			c->ilen -= c->ipos;
			c->ipos = 0;
		} else {
			/* A head larger than the buffer: grow up to what the
			 * limits allow, after which the parser has answered
			 * 414 or 431 already. */
			const struct fy_config *cfg = loop->cfg;
			size_t max = (size_t)cfg->limit_request_line + 2 +
				     ((size_t)cfg->limit_request_fields) *
					 ((size_t)cfg->limit_request_field_size + 2) +
				     2;
			size_t ncap = c->icap * 2;
			if (ncap > max + FY_IBUF_SIZE)
				ncap = max + FY_IBUF_SIZE;
			if (ncap <= c->icap) {
				conn_close(c);
				return;
			}
			char *nb;
			if (c->icap == FY_IBUF_SIZE) {
				nb = malloc(ncap);
				if (nb != NULL) {
					memcpy(nb, c->ibuf, c->ilen);
					fy_loop_put_ibuf(loop, c->ibuf);
				}
			} else {
				nb = realloc(c->ibuf, ncap);
			}
			if (nb == NULL) {
				conn_close(c);
				return;
			}
			c->ibuf = nb;
			c->icap = ncap;
		}
	}

	ssize_t n = c->transport->read(c, c->ibuf + c->ilen, c->icap - c->ilen);
	if (n > 0) {
		c->ilen += (size_t)n;
		if (c->state == FY_CONN_BODY)
			set_timer(c, loop->tv_body);
		process(c);
		return;
	}
	if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR))
		return;
	/* End of stream or error. */
	c->eof = 1;
	if (c->state == FY_CONN_BODY && c->req != NULL) {
		struct fy_log_ctx ctx;
		fy_log_ctx_fill(c->req, &ctx);
		fy_log(FY_LOG_INFO, "http", &ctx,
		       "client closed the connection while sending the body");
	}
	conn_close(c);
}

static void on_write(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	struct fy_conn *c = arg;
	int rc = flush(c);
	if (rc == FY_ERROR) {
		c->eof = 1;
		if (c->req != NULL && c->state == FY_CONN_FLUSH)
			access_log(c->req);
		conn_close(c);
		return;
	}
	if (rc == FY_AGAIN) {
		if (c->state == FY_CONN_FLUSH || c->state == FY_CONN_HANDLER)
			set_timer(c, c->loop->tv_send);
		return;
	}
	/* Output empty. */
	switch (c->state) {
	case FY_CONN_FLUSH:
		if (request_done(c))
			process(c);
		return;
	case FY_CONN_HANDLER:
		event_del(&c->timer);
		if (c->req != NULL && c->req->handler->resume != NULL)
			c->req->handler->resume(c->req);
		return;
	default:
		/* 100 Continue went out; the body is read as it comes. */
		return;
	}
}

static void on_timer(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	struct fy_conn *c = arg;
	struct fy_log_ctx ctx = {.client = c->client};

	switch (c->state) {
	case FY_CONN_IDLE:
		/* keep-alive or a new connection that never spoke: close
		 * without a word, as browsers expect. */
		conn_close(c);
		return;
	case FY_CONN_HEAD:
	case FY_CONN_BODY: {
		struct fy_request *r = c->req;
		if (r == NULL) {
			r = request_new(c);
			if (r == NULL) {
				conn_close(c);
				return;
			}
			keep_bad_line(r, c->ibuf + c->ipos, c->ilen - c->ipos);
			r->site = c->loop->cfg->n_sites ? c->loop->cfg->sites[0]
							: NULL;
			sb_request_begin(r);
		}
		fy_log_ctx_fill(r, &ctx);
		fy_log(FY_LOG_INFO, "http", &ctx, "timeout reading the request %s",
		       c->state == FY_CONN_HEAD ? "head" : "body");
		c->ipos = c->ilen;
		fail(r, 408, 0);
		response_queued(c);
		return;
	}
	case FY_CONN_FLUSH:
	case FY_CONN_HANDLER:
		if (c->req != NULL)
			fy_log_ctx_fill(c->req, &ctx);
		fy_log(FY_LOG_INFO, "http", &ctx,
		       "timeout sending the response");
		if (c->req != NULL && c->state == FY_CONN_FLUSH)
			access_log(c->req);
		conn_close(c);
		return;
	case FY_CONN_LINGER:
		conn_close(c);
		return;
	}
}

/* ---- the plain transport ----------------------------------------------- */

static ssize_t plain_read(struct fy_conn *c, void *buf, size_t len)
{
	return recv(c->fd, buf, len, 0);
}

static ssize_t plain_write(struct fy_conn *c, struct evbuffer *out)
{
	int n = evbuffer_write(out, c->fd);
	if (n == 0 && evbuffer_get_length(out) > 0) {
		/* evbuffer_write reports 0 when the socket took nothing. */
		errno = EAGAIN;
		return -1;
	}
	return n;
}

const struct fy_transport fy_transport_plain = {
	.name = "plain",
	.read = plain_read,
	.write = plain_write,
	.close = NULL,
};
