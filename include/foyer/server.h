/*
 * server.h - what an MPM needs from the HTTP front end: listeners opened once
 * (before any fork), and event loops that accept from them and run the
 * connections. An MPM owns processes, threads and admission only; it calls
 * these functions and nothing below them.
 */
#ifndef FOYER_SERVER_H
#define FOYER_SERVER_H

#include <stddef.h>
#include <sys/socket.h>

struct fy_config;
struct fy_loop;
struct fy_scoreboard;

struct fy_listener {
	int fd;
	int tls;
	char name[80]; /* "127.0.0.1:8080", "[::]:80" */
	/* Bound to one address: every connection's local end, so no
	 * getsockname(2) per connection. Empty for a wildcard. */
	char local_ip[46];
	int local_port;
};

/*
 * Opens (socket, SO_REUSEADDR, bind, listen with cfg->listen_backlog,
 * non-blocking) every "listen" of the config. On failure closes what it
 * opened, writes "could not bind to address X: reason" into err and returns
 * FY_ERROR. *out is malloc'ed.
 */
int fy_listeners_open(const struct fy_config *cfg, struct fy_listener **out,
		      size_t *n, char *err, size_t errlen);
void fy_listeners_close(struct fy_listener *ls, size_t n);

/*
 * Process-wide setup done once before any loop runs, after the config is
 * loaded: MIME table, access logs of every site, SIGPIPE ignored. Returns
 * FY_OK or FY_ERROR (logged).
 */
int fy_server_init(struct fy_config *cfg);
void fy_server_fini(struct fy_config *cfg);

/*
 * Creates an event loop accepting from the listeners. max_conns bounds the
 * connections it holds at once (admission): when full it stops accepting
 * until one closes, leaving new connections in the kernel backlog.
 */
struct fy_loop *fy_loop_create(const struct fy_config *cfg,
			       const struct fy_listener *ls, size_t n,
			       size_t max_conns);

/*
 * Whether loops created from now on fold their epoll changes into one
 * epoll_ctl per descriptor per pass (libevent's changelist). Only for a
 * process with a single loop thread (-X, prefork, event with one loop):
 * a change is applied at the next pass, after the descriptor may have been
 * closed, and another thread of the process may by then have the same
 * number for a socket of its own. Off by default.
 */
void fy_loop_use_changelist(int on);

/* Runs until fy_loop_stop(); returns FY_OK or FY_ERROR. */
int fy_loop_run(struct fy_loop *loop);

/*
 * For MPMs that accept themselves (prefork, worker: a blocking accept(2) on
 * the shared listener wakes exactly one idle process or thread): hands an
 * accepted, non-blocking socket to the loop. Returns FY_OK, or FY_ERROR
 * (the socket is closed).
 */
int fy_loop_add(struct fy_loop *loop, int fd, const struct sockaddr *peer,
		socklen_t peerlen, const struct fy_listener *l);

/* Runs until the loop holds no connection any more (or is stopped). */
int fy_loop_run_until_idle(struct fy_loop *loop);

/* Makes the loop report to the scoreboard as process proc: thread >= 0 is
 * the worker slot it owns (prefork, worker); -1 takes a slot per request in
 * progress (event). */
void fy_loop_set_scoreboard(struct fy_loop *loop, struct fy_scoreboard *sb,
			    int proc, int thread);

/* The loop accepts n connections (MaxConnectionsPerChild), then stops
 * gracefully: fy_loop_run() returns once they are done. 0: no limit. */
void fy_loop_set_accept_limit(struct fy_loop *loop, long n);

/* Stops accepting and ends the loop: graceful (finish requests in progress,
 * close idle connections) or not (close everything now). Safe to call from
 * the loop's own callbacks. */
void fy_loop_stop(struct fy_loop *loop, int graceful);

/* Frees the loop and closes its connections. */
void fy_loop_free(struct fy_loop *loop);

/* Number of open connections (for tests and the status page). */
size_t fy_loop_connections(const struct fy_loop *loop);

/* The loop's libevent base, for an MPM that adds its own events (signals,
 * timers). */
struct event_base *fy_loop_base(struct fy_loop *loop);

#endif
