/*
 * fcgi_client.h - FastCGI exchanges with PHP-FPM pools: backend choice
 * (round-robin or least connections, passive health, failover), connection
 * limits shared by every child, kept-alive connections, and the
 * non-blocking state machine of one request on libevent.
 *
 * PHP-FPM facts that shape it (../shared/reference/fastcgi.md): no
 * multiplexing, one request per connection at a time; END_REQUEST is the
 * only end marker; aborting means closing; every kept connection pins one
 * FPM child, so kept connections count against max_connections.
 */
#ifndef FOYER_FCGI_CLIENT_H
#define FOYER_FCGI_CLIENT_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

struct event_base;
struct evbuffer;
struct fy_config;
struct fy_pool;
struct fy_cgi_response;
struct fy_log_ctx;

/*
 * Creates the state shared by all children for every pool of cfg (backend
 * addresses, connection counts, health), in memory mapped before fork.
 * Call once per configuration, in the master (or the single process),
 * before forking. Returns FY_OK or FY_ERROR (logged).
 */
int fy_fcgi_pools_init(struct fy_config *cfg);
/* Releases what fy_fcgi_pools_init made for cfg (and this process's kept
 * connections to its pools). */
void fy_fcgi_pools_fini(struct fy_config *cfg);

/*
 * The master reaped child pid, which used the pools of cfg (the
 * configuration it was forked with, whose pools are still mapped): gives
 * back every connection slot and waiter count it still held, as a child
 * killed by a signal or crashing leaves them (warns with the number of
 * slots, per backend), drops its threads from the wait queues and from
 * the holders of kept connections, and rings the oldest waiter of each
 * backend so that freed slots are used at once. Nothing to do, and no log
 * line, for a child that exited normally. Returns the slots given back.
 */
int fy_fcgi_pools_reaped(struct fy_config *cfg, pid_t pid);

/*
 * Managed pools (spawn = php-fpm8.2): for each such pool of cfg, writes a
 * PHP-FPM configuration next to the pid file (socket, static children, the
 * user foyer's children run as), starts PHP-FPM as a child of this process
 * unless it already runs unchanged from a previous configuration, waits for
 * its socket and makes it the pool's only backend. Stops managed pools the
 * configuration no longer has. Call before fy_fcgi_pools_init. Returns
 * FY_OK or FY_ERROR (logged).
 */
int fy_fcgi_spawn_start(struct fy_config *cfg);
/* The process that reaped pid calls this: a managed PHP-FPM that died is
 * logged and started again. Returns 1 if pid was one. */
int fy_fcgi_spawn_reaped(pid_t pid, int status);
/* Stops every managed PHP-FPM (gracefully, then SIGKILL). */
void fy_fcgi_spawn_stop(void);

/* Closes every backend connection this thread keeps. A thread about to
 * block outside its loop (prefork and worker wait in accept(2)) calls it:
 * nobody would watch their timeouts, and each pins an FPM child. */
void fy_fcgi_close_idle(void);
/* Whether this thread has connections to hand to other threads from its
 * loop's next pass (a loop about to stop runs that pass first). */
int fy_fcgi_passes_pending(void);

/* What an exchange reports to its caller (the HTTP handler). Every
 * callback runs in the loop's thread; arg is the caller's. */
struct fy_fcgi_callbacks {
	/* The CGI header block is complete. */
	void (*on_headers)(void *arg, const struct fy_cgi_response *resp);
	/* Body bytes (valid during the call). Return 1 when the caller's
	 * output is full: the exchange stops reading the backend until
	 * fy_fcgi_resume(). */
	int (*on_body)(void *arg, const char *data, size_t len);
	/* STDERR bytes, one call per record (its first 2 KiB). */
	void (*on_stderr)(void *arg, const char *data, size_t len);
	/* The end. status 0: END_REQUEST after a complete response. Else the
	 * HTTP status to answer when no header was delivered yet (502 bad
	 * gateway, 503 no capacity, 504 timeout), or, after on_headers, a
	 * non-zero status means the response is truncated. The exchange is
	 * freed after this call returns. */
	void (*on_done)(void *arg, int status);
	/* A one-line description for logs ("backend unix:/run/php.sock"). */
};

struct fy_fcgi_exchange;

/* A request body: in memory (mem; its bytes are moved out), or, when mem
 * is NULL, the first len bytes of the file fd, read with pread(2) one
 * record at a time as the backend takes them and read again from offset
 * 0 by a retry. fd stays the caller's and must stay open as long as the
 * exchange. */
struct fy_fcgi_body {
	struct evbuffer *mem;
	int fd;
	uint64_t len;
};

/*
 * Starts one request on pool: params is the PARAMS stream (records and
 * terminator, as fy_fcgi_params_finish() leaves it), body the request body
 * (NULL: none). log says whose request it is in
 * every log line; what it points to must outlive the exchange. Picks a
 * backend, reuses a kept
 * connection or connects, sends, and reports through cb. Never calls a
 * callback before it returns. Returns NULL when out of memory.
 */
struct fy_fcgi_exchange *fy_fcgi_start(struct event_base *base,
				       struct fy_pool *pool,
				       const void *params, size_t params_len,
				       const struct fy_fcgi_body *body,
				       const struct fy_fcgi_callbacks *cb,
				       void *arg, const struct fy_log_ctx *log);

/* The caller's output drained: read the backend again. */
void fy_fcgi_resume(struct fy_fcgi_exchange *x);

/* The client went away: close the backend connection (FPM sees the abort),
 * free the exchange, call nothing. */
void fy_fcgi_abort(struct fy_fcgi_exchange *x);

/* The backend the exchange talks to, for logs ("unix:/run/php.sock"). */
const char *fy_fcgi_backend_name(const struct fy_fcgi_exchange *x);

#endif
