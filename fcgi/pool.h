/*
 * pool.h - private to fcgi/: backends of a pool, the counters every child
 * shares, and each thread's kept connections.
 */
#ifndef FOYER_FCGI_POOL_H
#define FOYER_FCGI_POOL_H

#include <stdatomic.h>
#include <stdint.h>
#include <sys/socket.h>
#include <time.h>

struct event_base;
struct fy_pool;

/* Shared by every child (MAP_SHARED before fork). */
struct backend_shared {
	atomic_int conns;	 /* open connections, busy or kept */
	atomic_int waiting;	 /* requests queued for a connection */
	atomic_int fails;	 /* failures in the current window */
	atomic_llong fail_since; /* start of that window, seconds */
	atomic_llong down_until; /* not chosen before, seconds */
};

struct backend {
	struct sockaddr_storage sa;
	socklen_t salen;
	char name[112]; /* "unix:/run/php/php8.2-fpm.sock", "10.0.0.7:9000" */
	struct backend_shared *sh;
};

struct pool_rt {
	struct fy_pool *pool;
	struct backend *b;
	size_t n;
	atomic_uint *rr; /* shared round-robin cursor */
	void *shm;
	size_t shm_len;
};

/* Picks a backend for a new request, skipping those marked down unless all
 * are; tried is a bitmask of backends already tried by this request (up to
 * 64). Returns the index or -1. */
int fy_pool_pick(struct pool_rt *rt, uint64_t tried);

/* Takes a connection slot on backend i (max_connections across children).
 * Returns 1 when taken, 0 when the backend is full. */
int fy_pool_acquire(struct pool_rt *rt, int i);
/* Gives one back (the connection was closed). */
void fy_pool_release(struct pool_rt *rt, int i);

/* Passive health. */
void fy_pool_failed(struct pool_rt *rt, int i);
void fy_pool_succeeded(struct pool_rt *rt, int i);

/* A kept connection of this thread to backend i, or -1. */
int fy_pool_take_idle(struct pool_rt *rt, int i);
/* Keeps fd (a connection to backend i that ended cleanly) for the next
 * request of this thread, or closes it and releases its slot when the
 * pool keeps none, the cache is full, or requests are waiting for a slot
 * (a kept connection pins an FPM child others may need). */
void fy_pool_put_idle(struct event_base *base, struct pool_rt *rt, int i,
		      int fd);

#endif
