/*
 * client.c - one FastCGI request on libevent: connect (or reuse a kept
 * connection), send BEGIN_REQUEST, PARAMS and STDIN, parse the records that
 * come back, hand the CGI header block and the body to the caller with
 * back-pressure, end on END_REQUEST.
 */
#include <errno.h>
#include <stddef.h>
#include <event2/buffer.h>
#include <event2/event.h>
#include <event2/event_struct.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "foyer/cgi_response.h"
#include "foyer/config.h"
#include "foyer/core.h"
#include "foyer/fcgi.h"
#include "foyer/fcgi_client.h"
#include "foyer/log.h"
#include "pool.h"

/* Bytes of the CGI header block PHP may send (above: 502). */
#define HEADER_MAX (32 * 1024)
#define HEADER_FIELDS 100
/* How often a queued request looks for a free connection slot on its own;
 * a freed slot rings the oldest waiter's thread at once, so this only
 * bounds a lost ring. */
#define QUEUE_POLL_MS 100
#define READ_CHUNK (64 * 1024)
/* Bytes of one STDERR record gathered for its log line (the line is cut
 * before this anyway). */
#define STDERR_MAX 2048

enum x_state {
	X_QUEUED,     /* waiting for a connection slot */
	X_CONNECTING, /* non-blocking connect in progress */
	X_SENDING,    /* request bytes going out (responses may come early) */
	X_READING,    /* all sent, reading the response */
};

struct fy_fcgi_exchange {
	struct event_base *base;
	struct pool_rt *rt;
	const struct fy_fcgi_callbacks *cb;
	void *arg;
	enum x_state state;
	int backend;
	int fd;
	int reused;	   /* fd is a kept connection */
	int got_bytes;	   /* the backend answered something */
	int headers_done;
	int paused;	   /* caller's output full */
	int ended;	   /* END_REQUEST seen */
	uint64_t tried;	   /* backends tried (bitmask) */
	int waiting;	   /* counted in the backend's waiters */
	int unanswered;	   /* a new connection FPM has not answered yet */
	int in_queue;	   /* in this thread's FIFO of waiting requests */
	int in_wq;	   /* in the backend's shared wait queue, at wq_pos */
	uint64_t wq_pos;
	struct fy_fcgi_exchange *qnext, *qprev;
	long long queued_until_ms;
	struct event rev, wev, timer;
	struct evbuffer *request; /* every byte to send, kept for a retry */
	struct evbuffer *out;	  /* what is left to send on this attempt */
	/* A body in a file goes out after request, read as the backend takes
	 * it; each attempt starts again from offset 0. */
	int body_fd;		  /* -1: the body (if any) is in request */
	uint64_t body_len;
	uint64_t body_off;	  /* bytes of it queued on this attempt */
	int body_ended;		  /* its empty STDIN record queued */
	struct fy_fcgi_parser parser;
	struct fy_cgi_response resp;
	struct fy_log_ctx log;
	size_t elen; /* bytes of the STDERR record so far in ebuf */
	/* Scratch, not cleared: zeroing 35 KiB per request showed up as the
	 * top user-space cost of hello.php. */
	struct fy_http_header hdrs[HEADER_FIELDS];
	char ebuf[STDERR_MAX];
	char hbuf[HEADER_MAX];
};

static void on_read(evutil_socket_t fd, short what, void *arg);
static void on_write(evutil_socket_t fd, short what, void *arg);
static void on_timer(evutil_socket_t fd, short what, void *arg);
static void attempt(struct fy_fcgi_exchange *x);
static void set_unanswered(struct fy_fcgi_exchange *x, int on);
static void wake_waiter(struct pool_rt *rt, int i);
static void start_io(struct fy_fcgi_exchange *x);
static void on_ring(void);
static int on_conn(struct pool_rt *rt, int i, uint64_t pos, int fd);
static struct fy_fcgi_exchange *first_waiting(struct pool_rt *rt, int i);
static void finish(struct fy_fcgi_exchange *x, int status);

static long long now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void set_timeout(struct fy_fcgi_exchange *x, int seconds)
{
	struct timeval tv = {seconds, 0};
	event_add(&x->timer, &tv);
}

static void logx(struct fy_fcgi_exchange *x, enum fy_log_level level,
		 const char *what, const char *detail)
{
	fy_log(level, "fastcgi", &x->log, "%s (pool %s, backend %s)%s%s", what,
	       x->rt->pool->name, x->backend >= 0 ? x->rt->b[x->backend].name : "-",
	       detail != NULL ? ": " : "", detail != NULL ? detail : "");
}

/* Closes the backend connection of this attempt (its slot is released). */
static void drop_connection(struct fy_fcgi_exchange *x)
{
	set_unanswered(x, 0);
	if (x->fd < 0)
		return;
	event_del(&x->rev);
	event_del(&x->wev);
	close(x->fd);
	fy_pool_release(x->rt, x->backend);
	x->fd = -1;
	wake_waiter(x->rt, x->backend);
}

static void stop_waiting(struct fy_fcgi_exchange *x)
{
	if (x->waiting) {
		fy_pool_waiting(x->rt, x->backend, -1);
		x->waiting = 0;
	}
	if (x->in_wq) {
		x->in_wq = 0;
		fy_pool_wq_leave(x->rt, x->backend, x->wq_pos);
	}
}

/*
 * A new connection may sit in FPM's listen backlog while every FPM child is
 * held by a kept connection of ours, and then nothing moves until a timeout
 * (nginx with fastcgi_keep_conn does exactly that). While any request waits
 * so, kept connections are closed instead of kept: the "waiting" counter,
 * shared by all children, says so.
 */
static void set_unanswered(struct fy_fcgi_exchange *x, int on)
{
	if (on == x->unanswered)
		return;
	fy_pool_waiting(x->rt, x->backend, on ? 1 : -1);
	x->unanswered = on;
}

/*
 * Requests of this thread waiting for a connection slot, oldest first. A
 * connection that ends cleanly goes straight to the oldest one, and a new
 * request queues behind them, so that no request waits while later ones
 * take kept connections (with max_connections at FPM's children, polling
 * alone let fresh requests jump the queue and left others waiting for
 * seconds).
 */
static __thread struct fy_fcgi_exchange *queue_head, *queue_tail;

static void enqueue(struct fy_fcgi_exchange *x)
{
	if (x->in_queue)
		return;
	x->in_queue = 1;
	x->qnext = NULL;
	x->qprev = queue_tail;
	if (queue_tail != NULL)
		queue_tail->qnext = x;
	else
		queue_head = x;
	queue_tail = x;
}

static void dequeue(struct fy_fcgi_exchange *x)
{
	if (!x->in_queue)
		return;
	if (x->qprev != NULL)
		x->qprev->qnext = x->qnext;
	else
		queue_head = x->qnext;
	if (x->qnext != NULL)
		x->qnext->qprev = x->qprev;
	else
		queue_tail = x->qprev;
	x->in_queue = 0;
}

/* Waits for a connection slot: counted as a waiter (kept connections of
 * every child close while there are any), in the backend's shared queue
 * and this thread's FIFO, until rung or queue_timeout. */
static void queue_wait(struct fy_fcgi_exchange *x)
{
	if (!x->waiting) {
		fy_pool_waiting(x->rt, x->backend, 1);
		x->waiting = 1;
		x->queued_until_ms = now_ms() + 1000LL * x->rt->pool->queue_timeout;
	}
	enqueue(x);
	x->state = X_QUEUED;
	struct timeval tv = {0, QUEUE_POLL_MS * 1000};
	event_add(&x->timer, &tv);
}

/* Sends x's request on fd, a connection that already served one. */
static void use_kept(struct fy_fcgi_exchange *x, int fd)
{
	dequeue(x);
	stop_waiting(x);
	x->fd = fd;
	x->reused = 1;
	x->tried |= 1ull << (x->backend & 63);
	x->state = X_SENDING;
	start_io(x);
}

/* The oldest request of this thread waiting for backend i of rt. */
static struct fy_fcgi_exchange *first_waiting(struct pool_rt *rt, int i)
{
	for (struct fy_fcgi_exchange *q = queue_head; q != NULL; q = q->qnext)
		if (q->rt == rt && q->backend == i)
			return q;
	return NULL;
}

/* A slot was freed: the oldest waiter looks again now, not at its next
 * poll. */
static void wake_waiter(struct pool_rt *rt, int i)
{
	struct fy_fcgi_exchange *q = first_waiting(rt, i);
	if (q != NULL)
		event_active(&q->timer, EV_TIMEOUT, 0);
}

/* This thread's doorbell rang: a slot was freed, or someone waits for the
 * connections this thread keeps. The oldest local waiter of each backend
 * looks again (it may be the oldest of all); then kept connections that
 * others wait for go to the oldest waiter (or are closed). */
static void on_ring(void)
{
	/* One pass: the first waiter met for each backend is its oldest
	 * here. A thread rarely waits on more than a few backends; past the
	 * table's size, every waiter looks (a wasted look costs one lock). */
	struct {
		struct pool_rt *rt;
		int backend;
	} seen[16];
	size_t n = 0;
	for (struct fy_fcgi_exchange *q = queue_head; q != NULL; q = q->qnext) {
		size_t k = 0;
		while (k < n && (seen[k].rt != q->rt || seen[k].backend != q->backend))
			k++;
		if (k < n)
			continue;
		if (n < FY_ARRAY_SIZE(seen)) {
			seen[n].rt = q->rt;
			seen[n].backend = q->backend;
			n++;
		}
		event_active(&q->timer, EV_TIMEOUT, 0);
	}
	fy_pool_idle_pressure();
}

static void x_free(struct fy_fcgi_exchange *x)
{
	dequeue(x);
	stop_waiting(x);
	drop_connection(x);
	event_del(&x->timer);
	evbuffer_free(x->request);
	if (x->out != NULL)
		evbuffer_free(x->out);
	free(x);
}

/* The waiting request of this thread at position pos of backend i's
 * shared queue, or NULL. */
static struct fy_fcgi_exchange *waiting_at(struct pool_rt *rt, int i,
					   uint64_t pos)
{
	for (struct fy_fcgi_exchange *q = queue_head; q != NULL; q = q->qnext)
		if (q->rt == rt && q->backend == i && q->in_wq &&
		    q->wq_pos == pos)
			return q;
	return NULL;
}

/* A connection for the request at pos, which the giver took out of the
 * queue: from another thread, or from this one. */
static int on_conn(struct pool_rt *rt, int i, uint64_t pos, int fd)
{
	struct fy_fcgi_exchange *q = waiting_at(rt, i, pos);
	if (q == NULL)
		return 0;
	q->in_wq = 0;
	use_kept(q, fd);
	return 1;
}

/*
 * A connection that ended cleanly serves the next request: with
 * max_connections, the oldest one waiting for the backend in any thread
 * of any child, handed over rather than closed and opened again (a
 * younger request of this thread may take it first, but only a bounded
 * number of times: unbounded, one child's requests passed another's
 * forever); otherwise the oldest waiting in this thread. Else it is
 * kept, or closed.
 */
static void pass_on(struct fy_fcgi_exchange *x)
{
	if (x->rt->b[x->backend].wq != NULL) {
		fy_pool_pass_on(x->base, x->rt, x->backend, x->fd);
		return;
	}
	struct fy_fcgi_exchange *q = first_waiting(x->rt, x->backend);
	if (q != NULL)
		use_kept(q, x->fd);
	else
		fy_pool_put_idle(x->base, x->rt, x->backend, x->fd);
}

/* Ends the exchange and tells the caller. */
static void finish(struct fy_fcgi_exchange *x, int status)
{
	const struct fy_fcgi_callbacks *cb = x->cb;
	void *arg = x->arg;
	set_unanswered(x, 0);
	if (status == 0 && x->fd >= 0 && x->ended) {
		event_del(&x->rev);
		event_del(&x->wev);
		pass_on(x);
		x->fd = -1;
	}
	x_free(x);
	cb->on_done(arg, status);
}

/* A failure before anything reached the caller: another backend (or a
 * fresh connection) may still answer, if nothing was sent that could have
 * run the script. */
static void fail(struct fy_fcgi_exchange *x, int status, const char *why,
		 int retryable)
{
	int was_reused = x->reused;
	if (x->backend >= 0 && !was_reused)
		fy_pool_failed(x->rt, x->backend);
	drop_connection(x);
	if (retryable && !x->headers_done) {
		if (was_reused) {
			/* FPM closed a kept connection under us: one more try
			 * on a fresh connection to the same backend. */
			logx(x, FY_LOG_INFO, "kept connection closed, retrying",
			     why);
			x->reused = 0;
			x->tried &= ~(1ull << (x->backend & 63));
			x->state = X_QUEUED;
			attempt(x);
			return;
		}
		if (fy_pool_pick(x->rt, x->tried) >= 0) {
			logx(x, FY_LOG_ERR, "backend failed, trying the next", why);
			x->state = X_QUEUED;
			attempt(x);
			return;
		}
	}
	logx(x, FY_LOG_ERR, status == 504 ? "backend timed out"
					  : "backend failed", why);
	finish(x, status);
}

static void start_io(struct fy_fcgi_exchange *x)
{
	event_assign(&x->rev, x->base, x->fd, EV_READ | EV_PERSIST, on_read, x);
	event_assign(&x->wev, x->base, x->fd, EV_WRITE | EV_PERSIST, on_write, x);
	if (x->out != NULL)
		evbuffer_free(x->out);
	x->out = evbuffer_new();
	/* A reference: a retry sends the same bytes again. */
	if (x->out == NULL || evbuffer_add_buffer_reference(x->out, x->request) != 0) {
		fail(x, 502, "out of memory", 0);
		return;
	}
	x->body_off = 0;
	x->body_ended = 0;
	fy_fcgi_parser_init(&x->parser);
	x->elen = 0;
	fy_cgi_response_init(&x->resp, x->hbuf, sizeof(x->hbuf), x->hdrs,
			     HEADER_FIELDS);
	x->got_bytes = 0;
	set_timeout(x, x->state == X_CONNECTING ? x->rt->pool->connect_timeout
						: x->rt->pool->send_timeout);
	event_add(&x->rev, NULL);
	if (x->state == X_SENDING && x->body_fd < 0 &&
	    evbuffer_write(x->out, x->fd) > 0 &&
	    evbuffer_get_length(x->out) == 0) {
		/* A kept connection takes a small request at once: no write
		 * event to add and delete. A failed write is left to on_write,
		 * which meets the same error from the loop. */
		x->state = X_READING;
		set_timeout(x, x->rt->pool->read_timeout);
		return;
	}
	event_add(&x->wev, NULL);
}

static int connect_backend(struct fy_fcgi_exchange *x)
{
	const struct backend *b = &x->rt->b[x->backend];
	int fd = socket(b->sa.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC,
			0);
	if (fd < 0)
		return -1;
	if (connect(fd, (const struct sockaddr *)&b->sa, b->salen) != 0 &&
	    errno != EINPROGRESS) {
		int e = errno;
		close(fd);
		errno = e;
		return -1;
	}
	return fd;
}

/* Enters the backend's shared wait queue. A full queue (WQ_CAP requests
 * already wait) is 503 at once: the queue is bounded. Returns FY_OK, or
 * FY_ERROR when x is finished. */
static int join_queue(struct fy_fcgi_exchange *x)
{
	if (x->in_wq)
		return FY_OK;
	if (fy_pool_bell_init(x->base, on_ring, on_conn) != FY_OK ||
	    fy_pool_wq_join(x->rt, x->backend, &x->wq_pos) != 0) {
		logx(x, FY_LOG_ERR, "wait queue full", NULL);
		finish(x, 503);
		return FY_ERROR;
	}
	x->in_wq = 1;
	return FY_OK;
}

/* One try at getting a connection and sending. */
static void attempt(struct fy_fcgi_exchange *x)
{
	for (;;) {
		if (x->state == X_QUEUED && !x->waiting && !x->in_wq) {
			x->backend = fy_pool_pick(x->rt, x->tried);
			if (x->backend < 0) {
				finish(x, 502);
				return;
			}
		}
		/* Behind the requests already waiting, here and in every
		 * other thread and child, in order. */
		if (x->rt->b[x->backend].wq != NULL) {
			if (!x->in_wq ? fy_pool_wq_busy(x->rt, x->backend)
				      : fy_pool_wq_rank(x->rt, x->backend,
							x->wq_pos) != 0) {
				if (join_queue(x) != FY_OK)
					return;
				queue_wait(x);
				return;
			}
		}
		int fd = fy_pool_take_idle(x->rt, x->backend);
		if (fd >= 0) {
			use_kept(x, fd);
			return;
		}
		if (!fy_pool_acquire(x->rt, x->backend)) {
			/* max_connections reached across all children: wait
			 * here, in a bounded queue, instead of in FPM's
			 * backlog. */
			if (!x->in_wq) {
				/* Join, then look once more: a slot freed
				 * before we joined rang nobody. */
				if (join_queue(x) != FY_OK)
					return;
				continue;
			}
			queue_wait(x);
			/* Only closing a kept connection can free a slot
			 * now: ask those who keep one. */
			fy_pool_ring_idle_holders(x->rt, x->backend);
			return;
		}
		dequeue(x);
		stop_waiting(x);
		x->tried |= 1ull << (x->backend & 63);
		x->reused = 0;
		fd = connect_backend(x);
		if (fd < 0) {
			int e = errno;
			fy_pool_release(x->rt, x->backend);
			if (e == EAGAIN) {
				/* A unix socket whose listen backlog is full:
				 * FPM is saturated. */
				logx(x, FY_LOG_ERR, "backend backlog full",
				     strerror(e));
				finish(x, 503);
				return;
			}
			fy_pool_failed(x->rt, x->backend);
			logx(x, FY_LOG_ERR, "could not connect", strerror(e));
			x->state = X_QUEUED;
			if (fy_pool_pick(x->rt, x->tried) >= 0)
				continue;
			finish(x, 502);
			return;
		}
		x->fd = fd;
		x->state = X_CONNECTING;
		set_unanswered(x, 1);
		start_io(x);
		return;
	}
}

/* ---- events ------------------------------------------------------------ */

static void on_timer(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	struct fy_fcgi_exchange *x = arg;
	switch (x->state) {
	case X_QUEUED:
		/* The first attempt, or a queued one looking again. */
		if (x->waiting && now_ms() >= x->queued_until_ms) {
			logx(x, FY_LOG_ERR,
			     "no connection slot within queue_timeout", NULL);
			finish(x, 503);
			return;
		}
		attempt(x);
		return;
	case X_CONNECTING:
		fail(x, 504, "connect timeout", 1);
		return;
	case X_SENDING:
		fail(x, 504, "send timeout", 0);
		return;
	case X_READING:
		if (x->headers_done) {
			logx(x, FY_LOG_ERR, "read timeout in the response body",
			     NULL);
			finish(x, 504);
			return;
		}
		fail(x, 504, "read timeout", 0);
		return;
	}
}

/*
 * Queues the next STDIN record of a body held in a file, or the empty one
 * that ends the stream; nothing once that is queued (or when the body is
 * not in a file). One record at a time, as the backend takes them: a large
 * body never sits in memory, and a slow backend holds back the reading.
 * Returns FY_OK, or FY_ERROR with errno.
 */
static int queue_file_body(struct fy_fcgi_exchange *x)
{
	if (x->body_fd < 0 || x->body_ended)
		return FY_OK;
	if (x->body_off == x->body_len) {
		unsigned char end[FCGI_HEADER_LEN];
		fy_fcgi_end_stream(end, FCGI_STDIN);
		if (evbuffer_add(x->out, end, sizeof(end)) != 0) {
			errno = ENOMEM;
			return FY_ERROR;
		}
		x->body_ended = 1;
		return FY_OK;
	}
	uint64_t left = x->body_len - x->body_off;
	size_t n = left < FY_FCGI_STREAM_CHUNK ? (size_t)left
					       : FY_FCGI_STREAM_CHUNK;
	unsigned char hdr[FCGI_HEADER_LEN];
	size_t pad = fy_fcgi_header(hdr, FCGI_STDIN, n);
	struct evbuffer_iovec v;
	if (evbuffer_reserve_space(x->out, sizeof(hdr) + n + pad, &v, 1) != 1) {
		errno = ENOMEM;
		return FY_ERROR;
	}
	unsigned char *p = v.iov_base;
	memcpy(p, hdr, sizeof(hdr));
	size_t got = 0;
	while (got < n) {
		ssize_t r = pread(x->body_fd, p + sizeof(hdr) + got, n - got,
				  (off_t)(x->body_off + got));
		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0) {
			if (r == 0)
				errno = ENODATA; /* the file shrank */
			return FY_ERROR;
		}
		got += (size_t)r;
	}
	memset(p + sizeof(hdr) + n, 0, pad);
	v.iov_len = sizeof(hdr) + n + pad;
	if (evbuffer_commit_space(x->out, &v, 1) != 0) {
		errno = ENOMEM;
		return FY_ERROR;
	}
	x->body_off += n;
	return FY_OK;
}

static void on_write(evutil_socket_t fd, short what, void *arg)
{
	(void)what;
	struct fy_fcgi_exchange *x = arg;
	if (x->state == X_CONNECTING) {
		int err = 0;
		socklen_t len = sizeof(err);
		getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len);
		if (err != 0) {
			fail(x, 502, strerror(err), 1);
			return;
		}
		fy_pool_succeeded(x->rt, x->backend);
		x->state = X_SENDING;
		set_timeout(x, x->rt->pool->send_timeout);
	}
	for (;;) {
		if (evbuffer_get_length(x->out) == 0) {
			if (queue_file_body(x) != FY_OK) {
				/* Our own disk failed us, not the backend:
				 * no failover, no health mark. */
				logx(x, FY_LOG_ERR,
				     "could not read the request body from its "
				     "temp file", strerror(errno));
				finish(x, 500);
				return;
			}
			if (evbuffer_get_length(x->out) == 0)
				break;
		}
		int n = evbuffer_write(x->out, fd);
		if (n > 0) {
			set_timeout(x, x->rt->pool->send_timeout);
			continue;
		}
		if (n < 0 && (errno == EAGAIN || errno == EINTR))
			return;
		/* Nothing came back yet: the script may not have run, but
		 * it may have; only a kept connection is retried (FPM
		 * closed it while idle). */
		fail(x, 502, n < 0 ? strerror(errno) : "connection closed",
		     x->reused && !x->got_bytes);
		return;
	}
	event_del(&x->wev);
	x->state = X_READING;
	set_timeout(x, x->rt->pool->read_timeout);
}

/* Handles what one read brought. Returns FY_OK to go on, FY_DONE when the
 * exchange ended (and is freed). */
static int consume(struct fy_fcgi_exchange *x, const char *p, size_t len)
{
	while (len > 0) {
		struct fy_fcgi_event ev;
		size_t used = 0;
		int rc = fy_fcgi_parse(&x->parser, p, len, &used, &ev);
		p += used;
		len -= used;
		if (rc == FY_ERROR) {
			const char *why = fy_fcgi_parse_strerror(x->parser.error);
			if (x->headers_done) {
				logx(x, FY_LOG_ERR, "bad record in the response",
				     why);
				finish(x, 502);
			} else {
				fail(x, 502, why, 0);
			}
			return FY_DONE;
		}
		if (rc == FY_AGAIN)
			return FY_OK;
		if (rc == FY_DONE) {
			x->ended = 1;
			if (len > 0 || !x->headers_done ||
			    x->state != X_READING) {
				/* Bytes after END_REQUEST, an answer without
				 * a header block, or one that came before the
				 * whole request went out: not reusable. */
				drop_connection(x);
				if (!x->headers_done) {
					fail(x, 502, "no response header", 0);
					return FY_DONE;
				}
			}
			finish(x, 0);
			return FY_DONE;
		}
		if (ev.type == FY_FCGI_EV_STDERR) {
			/* One call per record, however the reads cut it: a
			 * record in many reads would otherwise make as many
			 * log lines of a few bytes each. */
			size_t room = sizeof(x->ebuf) - x->elen;
			size_t n = ev.len < room ? ev.len : room;
			if (n > 0) /* an empty record has no data at all */
				memcpy(x->ebuf + x->elen, ev.data, n);
			x->elen += n;
			if (x->parser.content_left == 0 && x->elen > 0) {
				x->cb->on_stderr(x->arg, x->ebuf, x->elen);
				x->elen = 0;
			}
			continue;
		}
		if (ev.type != FY_FCGI_EV_STDOUT || ev.len == 0)
			continue;
		const char *d = ev.data;
		size_t dl = ev.len;
		if (!x->headers_done) {
			size_t hu = 0;
			int hr = fy_cgi_response_parse(&x->resp, d, dl, &hu);
			if (hr == FY_ERROR) {
				fail(x, 502,
				     fy_cgi_response_strerror(x->resp.error), 0);
				return FY_DONE;
			}
			if (hr == FY_AGAIN)
				continue;
			x->headers_done = 1;
			x->cb->on_headers(x->arg, &x->resp);
			d += hu;
			dl -= hu;
		}
		if (dl > 0 && x->cb->on_body(x->arg, d, dl))
			x->paused = 1;
	}
	return FY_OK;
}

static void on_read(evutil_socket_t fd, short what, void *arg)
{
	(void)what;
	struct fy_fcgi_exchange *x = arg;
	char buf[READ_CHUNK];
	/* Read while the caller takes it; stop when its output is full. */
	while (!x->paused) {
		ssize_t n = recv(fd, buf, sizeof(buf), 0);
		if (n > 0) {
			x->got_bytes = 1;
			set_unanswered(x, 0);
			if (x->state == X_READING)
				set_timeout(x, x->rt->pool->read_timeout);
			if (consume(x, buf, (size_t)n) == FY_DONE)
				return;
			continue;
		}
		if (n < 0 && (errno == EAGAIN || errno == EINTR))
			return;
		/* EOF or error before END_REQUEST. */
		const char *why = n == 0 ? "closed before END_REQUEST"
					 : strerror(errno);
		if (x->headers_done) {
			logx(x, FY_LOG_ERR, "response truncated", why);
			finish(x, 502);
		} else {
			fail(x, 502, why, x->reused && !x->got_bytes);
		}
		return;
	}
	event_del(&x->rev);
}

/* ---- API --------------------------------------------------------------- */

struct fy_fcgi_exchange *fy_fcgi_start(struct event_base *base,
				       struct fy_pool *pool,
				       const void *params, size_t params_len,
				       const struct fy_fcgi_body *body,
				       const struct fy_fcgi_callbacks *cb,
				       void *arg, const struct fy_log_ctx *log)
{
	struct pool_rt *rt = pool->runtime;
	if (rt == NULL || rt->n == 0)
		return NULL;
	struct fy_fcgi_exchange *x = malloc(sizeof(*x));
	if (x == NULL)
		return NULL;
	memset(x, 0, offsetof(struct fy_fcgi_exchange, hdrs));
	x->base = base;
	x->rt = rt;
	x->cb = cb;
	x->arg = arg;
	x->fd = -1;
	x->backend = -1;
	x->state = X_QUEUED;
	x->body_fd = body != NULL && body->mem == NULL ? body->fd : -1;
	x->body_len = x->body_fd >= 0 ? body->len : 0;
	if (log != NULL)
		x->log = *log;
	x->request = evbuffer_new();
	if (x->request == NULL) {
		free(x);
		return NULL;
	}
	unsigned char begin[16];
	fy_fcgi_begin_request(begin, pool->keep_alive > 0);
	unsigned char end_stdin[FCGI_HEADER_LEN];
	fy_fcgi_end_stream(end_stdin, FCGI_STDIN);
	struct evbuffer *mem = body != NULL ? body->mem : NULL;
	size_t mem_len = mem != NULL ? evbuffer_get_length(mem) : 0;
	/* A body in a file is framed as it goes out (queue_file_body). */
	if (evbuffer_add(x->request, begin, sizeof(begin)) != 0 ||
	    evbuffer_add(x->request, params, params_len) != 0 ||
	    (mem_len > 0 &&
	     fy_fcgi_evbuffer_move_stream(x->request, FCGI_STDIN, mem,
					  mem_len) != 0) ||
	    (x->body_fd < 0 &&
	     evbuffer_add(x->request, end_stdin, sizeof(end_stdin)) != 0)) {
		evbuffer_free(x->request);
		free(x);
		return NULL;
	}
	evtimer_assign(&x->timer, base, on_timer, x);
	/* With max_connections, this thread may wait for a slot or keep a
	 * connection others wait for: either way others must be able to
	 * ring it. Without a doorbell it still polls. */
	if (pool->max_connections > 0)
		fy_pool_bell_init(base, on_ring, on_conn);
	/* The first attempt runs from the loop, so that no callback reaches
	 * the caller before this function has returned. */
	struct timeval zero = {0, 0};
	event_add(&x->timer, &zero);
	return x;
}

void fy_fcgi_resume(struct fy_fcgi_exchange *x)
{
	if (!x->paused)
		return;
	x->paused = 0;
	if (x->fd >= 0)
		event_add(&x->rev, NULL);
	event_active(&x->rev, EV_READ, 0);
}

void fy_fcgi_abort(struct fy_fcgi_exchange *x)
{
	/* Closing is how FPM learns of an abort (it ignores
	 * FCGI_ABORT_REQUEST); a kept connection would carry the rest of
	 * this response into the next request. */
	x_free(x);
}

const char *fy_fcgi_backend_name(const struct fy_fcgi_exchange *x)
{
	return x->backend >= 0 ? x->rt->b[x->backend].name : "-";
}
