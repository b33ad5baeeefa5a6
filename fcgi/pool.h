/*
 * pool.h - private to fcgi/: backends of a pool, the counters every child
 * shares, and each thread's kept connections.
 */
#ifndef FOYER_FCGI_POOL_H
#define FOYER_FCGI_POOL_H

#include <stdatomic.h>
#include <pthread.h>
#include <stdint.h>
#include <sys/types.h>
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

/*
 * Requests waiting for a connection slot of one backend, across every
 * thread of every child, oldest first (only with max_connections). A
 * robust process-shared mutex guards it: a child killed while holding it
 * does not stop the others.
 */
#define WQ_CAP 4096
#define IDLE_HOLDERS 64

struct wq_entry {
	pid_t tid; /* the waiting thread; 0: left */
	pid_t pid; /* its process, for the master when that one dies */
	uint32_t seq;
};

struct idle_holder {
	pid_t tid;
	pid_t pid;
	int count;
};

struct waitq {
	pthread_mutex_t lock;
	uint64_t head, tail; /* positions; entry = ring[pos % WQ_CAP] */
	/* Times the waiter at position skipped_head was passed over by a
	 * younger one (at most max_connections - 1: take_younger in pool.c). */
	uint64_t skipped_head;
	int skips;
	struct wq_entry ring[WQ_CAP];
	struct idle_holder idle[IDLE_HOLDERS]; /* threads keeping conns */
};

/*
 * What one process holds of one backend, in a row per process of the
 * pool's shared table: a child killed while holding connection slots or
 * counted among the waiters cannot give them back itself, so the master
 * gives back what its row says when it reaps it.
 */
struct held {
	atomic_int conns;
	atomic_int waiting;
};

struct backend {
	struct sockaddr_storage sa;
	socklen_t salen;
	char name[112]; /* "unix:/run/php/php8.2-fpm.sock", "10.0.0.7:9000" */
	struct backend_shared *sh;
	struct waitq *wq; /* NULL without max_connections */
};

struct pool_rt {
	struct fy_pool *pool;
	struct backend *b;
	size_t n;
	atomic_uint *rr; /* shared round-robin cursor */
	void *shm;
	size_t shm_len;
	/* Shared: rows of processes holding slots (owner 0: free row), and
	 * what each holds, held[row * n + backend]. */
	atomic_int *owners;
	struct held *held;
	int rows;
	/* This process's row: ROW_NONE until it takes its first slot. */
	atomic_int row;
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
/* Adds delta to the requests of this process counted in backend i's
 * waiters (sh->waiting): only through here, so that the master can take
 * back those of a process that died. */
void fy_pool_waiting(struct pool_rt *rt, int i, int delta);

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

/* Gives this thread's idle connections to backends others wait for to the
 * oldest waiter (fy_pool_pass_on), or closes them. */
void fy_pool_idle_pressure(void);

/*
 * The shared wait queue (backends with max_connections). Positions are
 * ever-growing; a thread joins with its tid and leaves with the position.
 * join returns 0, or -1 when the queue is full.
 */
int fy_pool_wq_join(struct pool_rt *rt, int i, uint64_t *pos);
/* Leaves the queue; if a slot is free and others wait, rings the oldest. */
void fy_pool_wq_leave(struct pool_rt *rt, int i, uint64_t pos);
/* Rank of pos among the live waiters (0: the oldest), or -1. */
int fy_pool_wq_rank(struct pool_rt *rt, int i, uint64_t pos);
/* Whether anyone waits on backend i. */
int fy_pool_wq_busy(struct pool_rt *rt, int i);
/* Rings every thread keeping an idle connection to backend i: someone
 * waits and only their closing can free a slot. */
void fy_pool_ring_idle_holders(struct pool_rt *rt, int i);

/* This thread's doorbell: a datagram socket others ring to say a slot or
 * a connection may be free, and through which they hand over connections.
 * Created on first use on base; both callbacks run in the loop. on_conn
 * gets a connection to backend i of rt, with its slot, for the request
 * that waited at pos: it returns 1 when that request took it, 0 when it
 * is gone (the connection is then kept or closed like any other).
 * Returns FY_OK or FY_ERROR. */
int fy_pool_bell_init(struct event_base *base, void (*on_ring)(void),
		      int (*on_conn)(struct pool_rt *rt, int i, uint64_t pos,
				     int fd));
/*
 * fd, a connection to backend i (with a wait queue) that ended cleanly,
 * goes to the oldest request waiting for the backend, wherever it is, so
 * that the queue is served in order without reconnecting: at once to a
 * request of this thread, through the doorbell (SCM_RIGHTS, its slot with
 * it) from the next pass of base's loop to one elsewhere. With nobody
 * waiting it is kept or closed (fy_pool_put_idle).
 */
void fy_pool_pass_on(struct event_base *base, struct pool_rt *rt, int i,
		     int fd);
/* This thread's id as the wait queue records it. */
pid_t fy_pool_tid(void);

#endif
