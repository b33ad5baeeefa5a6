/*
 * pool.c - backends of PHP-FPM pools: addresses, the counters all children
 * share (connections, waiters, health), balancing, and each thread's kept
 * connections.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <event2/event.h>
#include <event2/event_struct.h>
#include <netdb.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "foyer/config.h"
#include "foyer/core.h"
#include "foyer/fcgi_client.h"
#include "foyer/log.h"
#include "pool.h"

/* Seconds between sweeps of kept connections while requests wait. */
#define SWEEP_MS 50

static long long now_sec(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec;
}

/* Parses "unix:/path", "host:port" or "[v6]:port" into b. */
static int parse_backend(const char *spec, struct backend *b, char *err,
			 size_t errlen)
{
	memset(b, 0, sizeof(*b));
	snprintf(b->name, sizeof(b->name), "%s", spec);
	if (strncmp(spec, "unix:", 5) == 0) {
		struct sockaddr_un *un = (struct sockaddr_un *)&b->sa;
		const char *path = spec + 5;
		if (strlen(path) >= sizeof(un->sun_path)) {
			snprintf(err, errlen, "unix socket path too long: %s", path);
			return FY_ERROR;
		}
		un->sun_family = AF_UNIX;
		strcpy(un->sun_path, path);
		b->salen = sizeof(*un);
		return FY_OK;
	}
	char host[256];
	const char *colon = strrchr(spec, ':');
	if (colon == NULL || (size_t)(colon - spec) >= sizeof(host)) {
		snprintf(err, errlen, "bad backend address %s", spec);
		return FY_ERROR;
	}
	const char *h = spec;
	size_t hl = (size_t)(colon - spec);
	if (hl >= 2 && h[0] == '[' && h[hl - 1] == ']') {
		h++;
		hl -= 2;
	}
	memcpy(host, h, hl);
	host[hl] = '\0';
	struct addrinfo hints = {.ai_socktype = SOCK_STREAM,
				 .ai_flags = AI_NUMERICSERV};
	struct addrinfo *ai;
	int rc = getaddrinfo(host, colon + 1, &hints, &ai);
	if (rc != 0) {
		snprintf(err, errlen, "backend %s: %s", spec, gai_strerror(rc));
		return FY_ERROR;
	}
	memcpy(&b->sa, ai->ai_addr, ai->ai_addrlen);
	b->salen = ai->ai_addrlen;
	freeaddrinfo(ai);
	return FY_OK;
}

static int wq_init(struct waitq *q)
{
	pthread_mutexattr_t a;
	if (pthread_mutexattr_init(&a) != 0)
		return FY_ERROR;
	int rc = pthread_mutexattr_setpshared(&a, PTHREAD_PROCESS_SHARED);
	if (rc == 0)
		rc = pthread_mutexattr_setrobust(&a, PTHREAD_MUTEX_ROBUST);
	if (rc == 0)
		rc = pthread_mutex_init(&q->lock, &a);
	pthread_mutexattr_destroy(&a);
	return rc == 0 ? FY_OK : FY_ERROR;
}

/* This process has no row in a pool's table of slot holders yet, or
 * found the table full (it then holds slots nobody can give back). */
#define ROW_NONE (-1)
#define ROW_FULL (-2)

/* Rows of a pool's table of slot holders: every process that may hold a
 * slot at once. All generations of children together never exceed
 * ServerLimit (the master has that many places for them), and a row is
 * freed when its child is reaped. */
static int owner_rows(struct fy_config *cfg)
{
	const struct fy_mpm_config *mpm = fy_config_mpm(cfg);
	return mpm != NULL && mpm->server_limit > 1 ? mpm->server_limit : 1;
}

/* Names this server's doorbells: set once, before the first fork, so that
 * every generation of children shares it (queues are per configuration,
 * thread ids are unique). */
static unsigned long long bell_instance;

/* The pools of this process's configuration: a connection handed over
 * names its pool by address, and is taken only if the address is one of
 * these. */
static struct pool_rt **known_rt;
static size_t n_known_rt, cap_known_rt;

static int rt_register(struct pool_rt *rt)
{
	if (n_known_rt == cap_known_rt) {
		size_t cap = cap_known_rt ? 2 * cap_known_rt : 8;
		struct pool_rt **a = realloc(known_rt, cap * sizeof(*a));
		if (a == NULL)
			return FY_ERROR;
		known_rt = a;
		cap_known_rt = cap;
	}
	known_rt[n_known_rt++] = rt;
	return FY_OK;
}

static void rt_unregister(const struct pool_rt *rt)
{
	for (size_t k = 0; k < n_known_rt; k++)
		if (known_rt[k] == rt) {
			known_rt[k] = known_rt[--n_known_rt];
			return;
		}
}

static int rt_known(const struct pool_rt *rt)
{
	for (size_t k = 0; k < n_known_rt; k++)
		if (known_rt[k] == rt)
			return 1;
	return 0;
}

int fy_fcgi_pools_init(struct fy_config *cfg)
{
	if (bell_instance == 0) {
		struct timespec ts;
		clock_gettime(CLOCK_REALTIME, &ts);
		bell_instance = ((unsigned long long)getpid() << 32) ^
				(unsigned long long)ts.tv_nsec;
	}
	for (size_t p = 0; p < cfg->n_pools; p++) {
		struct fy_pool *pool = cfg->pools[p];
		struct pool_rt *rt = calloc(1, sizeof(*rt));
		if (rt == NULL)
			return FY_ERROR;
		rt->pool = pool;
		rt->n = pool->n_backends;
		rt->b = calloc(rt->n ? rt->n : 1, sizeof(*rt->b));
		size_t wq_off = 64 + rt->n * sizeof(struct backend_shared);
		wq_off = (wq_off + 63) & ~(size_t)63;
		size_t owners_off = wq_off;
		if (pool->max_connections > 0)
			owners_off += rt->n * sizeof(struct waitq);
		rt->rows = owner_rows(cfg);
		size_t held_off = owners_off + (size_t)rt->rows * sizeof(atomic_int);
		held_off = (held_off + 63) & ~(size_t)63;
		rt->shm_len = held_off + (size_t)rt->rows * (rt->n ? rt->n : 1) *
						 sizeof(struct held);
		rt->shm = mmap(NULL, rt->shm_len, PROT_READ | PROT_WRITE,
			       MAP_SHARED | MAP_ANONYMOUS, -1, 0);
		if (rt->b == NULL || rt->shm == MAP_FAILED) {
			free(rt->b);
			free(rt);
			return FY_ERROR;
		}
		rt->rr = rt->shm;
		rt->owners = (atomic_int *)((char *)rt->shm + owners_off);
		rt->held = (struct held *)((char *)rt->shm + held_off);
		atomic_init(&rt->row, ROW_NONE);
		struct backend_shared *sh =
		    (struct backend_shared *)((char *)rt->shm + 64);
		for (size_t i = 0; i < rt->n; i++) {
			char err[256];
			if (parse_backend(pool->backends[i], &rt->b[i], err,
					  sizeof(err)) != FY_OK) {
				fy_log(FY_LOG_EMERG, "fastcgi", NULL,
				       "pool %s: %s", pool->name, err);
				munmap(rt->shm, rt->shm_len);
				free(rt->b);
				free(rt);
				return FY_ERROR;
			}
			rt->b[i].sh = &sh[i];
			if (pool->max_connections > 0) {
				struct waitq *q =
				    (struct waitq *)((char *)rt->shm + wq_off) + i;
				if (wq_init(q) != FY_OK) {
					munmap(rt->shm, rt->shm_len);
					free(rt->b);
					free(rt);
					return FY_ERROR;
				}
				rt->b[i].wq = q;
			}
		}
		if (rt_register(rt) != FY_OK) {
			munmap(rt->shm, rt->shm_len);
			free(rt->b);
			free(rt);
			return FY_ERROR;
		}
		pool->runtime = rt;
	}
	return FY_OK;
}

void fy_fcgi_pools_fini(struct fy_config *cfg)
{
	for (size_t p = 0; p < cfg->n_pools; p++) {
		struct pool_rt *rt = cfg->pools[p]->runtime;
		if (rt == NULL)
			continue;
		/* No pthread_mutex_destroy of the queue locks: children of
		 * this configuration may still use them in their own mapping
		 * (the master lets them finish after a restart), and glibc's
		 * destroy marks the shared mutex invalid, after which their
		 * locking fails with EINVAL and the queue goes unguarded. */
		rt_unregister(rt);
		munmap(rt->shm, rt->shm_len);
		free(rt->b);
		free(rt);
		cfg->pools[p]->runtime = NULL;
	}
}

int fy_pool_pick(struct pool_rt *rt, uint64_t tried)
{
	long long now = now_sec();
	int best = -1, any = -1;
	int least = rt->pool->balance != NULL &&
		    strcmp(rt->pool->balance, "least-conn") == 0;
	unsigned start = least ? 0 : atomic_fetch_add(rt->rr, 1);
	for (size_t k = 0; k < rt->n; k++) {
		size_t i = (start + k) % rt->n;
		if (i < 64 && (tried & (1ull << i)))
			continue;
		if (any < 0)
			any = (int)i;
		if (atomic_load(&rt->b[i].sh->down_until) > now)
			continue;
		if (!least)
			return (int)i;
		if (best < 0 || atomic_load(&rt->b[i].sh->conns) <
				    atomic_load(&rt->b[best].sh->conns))
			best = (int)i;
	}
	/* Every untried backend is down: try one anyway rather than fail
	 * without asking. */
	return best >= 0 ? best : any;
}

/* Serialises the first look for a row among this process's threads. */
static pthread_mutex_t row_lock = PTHREAD_MUTEX_INITIALIZER;

/*
 * What this process holds of backend i, in its row of rt's shared table,
 * which it takes on first use: NULL when the table is full. The master
 * never takes a row, so a child starts with none (rt->row is copied at
 * fork with ROW_NONE in it).
 */
static struct held *my_held(struct pool_rt *rt, int i)
{
	int row = atomic_load(&rt->row);
	if (row == ROW_NONE) {
		pthread_mutex_lock(&row_lock);
		row = atomic_load(&rt->row);
		if (row == ROW_NONE) {
			pid_t me = getpid();
			row = ROW_FULL;
			for (int k = 0; k < rt->rows; k++) {
				int none = 0;
				if (atomic_compare_exchange_strong(&rt->owners[k],
								   &none, me)) {
					row = k;
					break;
				}
			}
			if (row == ROW_FULL)
				fy_log(FY_LOG_WARN, "fastcgi", NULL,
				       "pool %s: more than %d processes hold "
				       "connections; those of pid %d cannot be "
				       "given back if it dies",
				       rt->pool->name, rt->rows, (int)me);
			atomic_store(&rt->row, row);
		}
		pthread_mutex_unlock(&row_lock);
	}
	return row >= 0 ? &rt->held[(size_t)row * rt->n + (size_t)i] : NULL;
}

/*
 * Each process counts in its row what it takes before taking it, and what
 * it gives back after giving it: killed between the two steps, it leaves
 * one slot too many for the master to give back (one connection more than
 * max_connections may open, and FPM's backlog takes it) rather than one
 * slot taken by nobody for good.
 */
int fy_pool_acquire(struct pool_rt *rt, int i)
{
	atomic_int *c = &rt->b[i].sh->conns;
	struct held *h = my_held(rt, i);
	int max = rt->pool->max_connections;
	if (h != NULL)
		atomic_fetch_add(&h->conns, 1);
	if (max <= 0) {
		atomic_fetch_add(c, 1);
		return 1;
	}
	int cur = atomic_load(c);
	while (cur < max)
		if (atomic_compare_exchange_weak(c, &cur, cur + 1))
			return 1;
	if (h != NULL)
		atomic_fetch_sub(&h->conns, 1);
	return 0;
}

void fy_pool_waiting(struct pool_rt *rt, int i, int delta)
{
	struct held *h = my_held(rt, i);
	if (delta > 0 && h != NULL)
		atomic_fetch_add(&h->waiting, delta);
	atomic_fetch_add(&rt->b[i].sh->waiting, delta);
	if (delta < 0 && h != NULL)
		atomic_fetch_add(&h->waiting, delta);
}

static void ring_head_locked(struct waitq *q);
static void wq_lock(struct waitq *q);
static void wq_unlock(struct waitq *q);
static int holder_add(struct pool_rt *rt, int i, int delta);

void fy_pool_release(struct pool_rt *rt, int i)
{
	struct held *h = my_held(rt, i);
	atomic_fetch_sub(&rt->b[i].sh->conns, 1);
	if (h != NULL)
		atomic_fetch_sub(&h->conns, 1);
	struct waitq *q = rt->b[i].wq;
	if (q != NULL) {
		/* A slot is free: the oldest waiter, wherever it is, takes
		 * it now rather than at its next look. */
		wq_lock(q);
		ring_head_locked(q);
		wq_unlock(q);
	}
}

void fy_pool_failed(struct pool_rt *rt, int i)
{
	struct backend_shared *sh = rt->b[i].sh;
	int max_fails = rt->pool->max_fails;
	/* A lone backend is never out of rotation (there is nowhere else to
	 * go), so it is not marked down either: the warning would only
	 * mislead (nginx ignores max_fails for a lone server too). */
	if (max_fails <= 0 || rt->n <= 1)
		return;
	long long now = now_sec();
	if (now - atomic_load(&sh->fail_since) >= rt->pool->fail_timeout) {
		atomic_store(&sh->fail_since, now);
		atomic_store(&sh->fails, 0);
	}
	if (atomic_fetch_add(&sh->fails, 1) + 1 >= max_fails) {
		atomic_store(&sh->down_until, now + rt->pool->fail_timeout);
		fy_log(FY_LOG_WARN, "fastcgi", NULL,
		       "pool %s: backend %s marked down for %d seconds",
		       rt->pool->name, rt->b[i].name, rt->pool->fail_timeout);
	}
}

void fy_pool_succeeded(struct pool_rt *rt, int i)
{
	struct backend_shared *sh = rt->b[i].sh;
	if (atomic_load(&sh->fails) != 0)
		atomic_store(&sh->fails, 0);
}

/* ---- kept connections (per thread) ------------------------------------ */

/* Takes a connection handed over to a waiting request of this thread
 * (fy_pool_bell_init). */
static __thread int (*bell_conn_cb)(struct pool_rt *, int, uint64_t, int);

/* Connections to hand over from the next pass of this thread's loop. */
struct pass {
	struct pool_rt *rt;
	int backend;
	int fd;
};

struct idle {
	struct idle *next, *prev;
	struct pool_rt *rt;
	int backend;
	int fd;
	struct event ev;    /* readable: FPM closed it (or spoke out of turn) */
	struct event sweep; /* idle timeout, and pressure checks */
	long long since;
};

static __thread struct idle *idle_list;

static void idle_unlink(struct idle *it)
{
	if (it->prev != NULL)
		it->prev->next = it->next;
	else
		idle_list = it->next;
	if (it->next != NULL)
		it->next->prev = it->prev;
	event_del(&it->ev);
	event_del(&it->sweep);
	if (it->rt->b[it->backend].wq != NULL)
		holder_add(it->rt, it->backend, -1);
}

static void idle_close(struct idle *it)
{
	idle_unlink(it);
	close(it->fd);
	fy_pool_release(it->rt, it->backend);
	free(it);
}

/*
 * Someone waits for the backend of kept connection it. With a wait
 * queue, the connection goes to its oldest request: at once when that one
 * is in this thread, from the next loop pass when it is elsewhere.
 * Otherwise it is closed, so that a new one can reach a free FPM child.
 */
static void idle_give_up(struct idle *it)
{
	struct pool_rt *rt = it->rt;
	int i = it->backend, fd = it->fd;
	if (rt->b[i].wq == NULL) {
		idle_close(it);
		return;
	}
	struct event_base *base = event_get_base(&it->ev);
	idle_unlink(it); /* fd goes on with its slot */
	free(it);
	fy_pool_pass_on(base, rt, i, fd);
}

static void on_idle_event(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	idle_close(arg);
}

static void on_idle_sweep(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	struct idle *it = arg;
	if (now_sec() - it->since >= it->rt->pool->keep_alive_timeout)
		idle_close(it);
	else if (atomic_load(&it->rt->b[it->backend].sh->waiting) > 0)
		idle_give_up(it);
}

static __thread struct pass *passes;
static __thread size_t n_passes, cap_passes;
static __thread struct event pass_ev;
static __thread struct event_base *pass_base;

void fy_fcgi_close_idle(void)
{
	while (idle_list != NULL)
		idle_close(idle_list);
	/* Connections still to hand over: the loop that was to do it will
	 * not run before this thread blocks. */
	while (n_passes > 0) {
		struct pass p = passes[--n_passes];
		close(p.fd);
		fy_pool_release(p.rt, p.backend);
	}
	if (pass_base != NULL)
		event_del(&pass_ev);
}

int fy_fcgi_passes_pending(void)
{
	return n_passes > 0;
}

void fy_pool_idle_pressure(void)
{
	struct idle *it = idle_list;
	while (it != NULL) {
		struct idle *next = it->next;
		if (atomic_load(&it->rt->b[it->backend].sh->waiting) > 0)
			idle_give_up(it);
		it = next;
	}
}

int fy_pool_take_idle(struct pool_rt *rt, int i)
{
	for (struct idle *it = idle_list; it != NULL; it = it->next) {
		if (it->rt != rt || it->backend != i)
			continue;
		int fd = it->fd;
		idle_unlink(it);
		free(it);
		return fd; /* its connection slot goes with it */
	}
	return -1;
}

void fy_pool_put_idle(struct event_base *base, struct pool_rt *rt, int i,
		      int fd)
{
	int kept = 0;
	for (struct idle *it = idle_list; it != NULL; it = it->next)
		if (it->rt == rt && it->backend == i)
			kept++;
	struct idle *it = NULL;
	if (rt->pool->keep_alive > 0 && kept < rt->pool->keep_alive &&
	    atomic_load(&rt->b[i].sh->waiting) == 0)
		it = calloc(1, sizeof(*it));
	if (it != NULL && rt->b[i].wq != NULL && holder_add(rt, i, 1) != 0) {
		free(it);
		it = NULL;
	}
	if (it == NULL) {
		close(fd);
		fy_pool_release(rt, i);
		return;
	}
	it->rt = rt;
	it->backend = i;
	it->fd = fd;
	it->since = now_sec();
	event_assign(&it->ev, base, fd, EV_READ, on_idle_event, it);
	event_assign(&it->sweep, base, -1, EV_PERSIST, on_idle_sweep, it);
	event_add(&it->ev, NULL);
	struct timeval tv = {0, SWEEP_MS * 1000};
	event_add(&it->sweep, &tv);
	it->next = idle_list;
	if (idle_list != NULL)
		idle_list->prev = it;
	idle_list = it;
}

/* ---- the shared wait queue -------------------------------------------- */

static __thread pid_t my_tid, my_pid;

pid_t fy_pool_tid(void)
{
	if (my_tid == 0) {
		my_tid = (pid_t)syscall(SYS_gettid);
		my_pid = getpid();
	}
	return my_tid;
}

/* This thread's process, recorded beside its id in the shared queue. */
static pid_t my_process(void)
{
	fy_pool_tid();
	return my_pid;
}

static void wq_lock(struct waitq *q)
{
	/* The owner died inside a few stores: the queue is still usable,
	 * and entries of dead threads are dropped when ringing them fails. */
	if (pthread_mutex_lock(&q->lock) == EOWNERDEAD)
		pthread_mutex_consistent(&q->lock);
}

static void wq_unlock(struct waitq *q)
{
	pthread_mutex_unlock(&q->lock);
}

/* Skips entries that left. Called locked. */
static void wq_trim(struct waitq *q)
{
	while (q->head < q->tail && q->ring[q->head % WQ_CAP].tid == 0)
		q->head++;
}

static void bell_name(pid_t tid, struct sockaddr_un *un, socklen_t *len)
{
	memset(un, 0, sizeof(*un));
	un->sun_family = AF_UNIX;
	/* Abstract namespace: nothing in the file system to clean up. */
	int n = snprintf(un->sun_path + 1, sizeof(un->sun_path) - 1,
			 "foyer-fcgi-%llx-%d", bell_instance, (int)tid);
	*len = (socklen_t)(offsetof(struct sockaddr_un, sun_path) + 1 + n);
}

static __thread int bell_fd = -1;
static __thread struct event bell_ev;
static __thread struct event_base *bell_base;
static __thread void (*bell_cb)(void);
static __thread int send_fd = -1;

/* A connection handed over through a doorbell, with its descriptor. A
 * plain ring is one byte. */
struct handoff {
	uint32_t magic;
	int32_t backend;
	uint64_t pos;		/* the receiver's place in the wait queue */
	struct pool_rt *rt;	/* same address in every child of a generation */
};
#define HANDOFF_MAGIC 0x66796863u

static int bell_socket(void)
{
	if (send_fd < 0)
		send_fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC,
				 0);
	return send_fd;
}

/* Returns 0 when rung (or its queue is full: it has work to do anyway),
 * -1 when no such thread exists any more. my_tid, not fy_pool_tid(): the
 * master rings too, and must not take an id its children would inherit. */
static int ring(pid_t tid)
{
	if (tid == my_tid) {
		if (bell_fd >= 0)
			event_active(&bell_ev, EV_READ, 0);
		return 0;
	}
	if (bell_socket() < 0)
		return 0;
	struct sockaddr_un un;
	socklen_t len;
	bell_name(tid, &un, &len);
	char b = 1;
	if (sendto(send_fd, &b, 1, MSG_DONTWAIT, (struct sockaddr *)&un,
		   len) == 1)
		return 0;
	return errno == ECONNREFUSED || errno == ENOENT ? -1 : 0;
}

/* Sends fd to thread tid's doorbell. Returns 0 when sent, -1 with errno
 * (ECONNREFUSED or ENOENT: no such thread any more). */
static int send_conn(pid_t tid, const struct handoff *h, int fd)
{
	if (bell_socket() < 0)
		return -1;
	struct sockaddr_un un;
	socklen_t len;
	bell_name(tid, &un, &len);
	union {
		char buf[CMSG_SPACE(sizeof(int))];
		struct cmsghdr align;
	} ctl;
	memset(&ctl, 0, sizeof(ctl));
	struct iovec iov = {(void *)h, sizeof(*h)};
	struct msghdr m = {.msg_name = &un, .msg_namelen = len,
			   .msg_iov = &iov, .msg_iovlen = 1,
			   .msg_control = ctl.buf,
			   .msg_controllen = sizeof(ctl.buf)};
	struct cmsghdr *c = CMSG_FIRSTHDR(&m);
	c->cmsg_level = SOL_SOCKET;
	c->cmsg_type = SCM_RIGHTS;
	c->cmsg_len = CMSG_LEN(sizeof(int));
	memcpy(CMSG_DATA(c), &fd, sizeof(int));
	return sendmsg(send_fd, &m, MSG_DONTWAIT | MSG_NOSIGNAL) ==
			       (ssize_t)sizeof(*h)
		   ? 0
		   : -1;
}

static void give_local(struct event_base *base, struct pool_rt *rt, int i,
		       uint64_t pos, int fd);

/* A connection came through the doorbell: its waiter takes it, or, when
 * that one left meanwhile, this thread holds it like any it kept. */
static void got_conn(const struct handoff *h, int fd)
{
	struct pool_rt *rt = h->rt;
	if (h->magic != HANDOFF_MAGIC || !rt_known(rt) || h->backend < 0 ||
	    (size_t)h->backend >= rt->n) {
		/* Not ours to count: no slot moved with it. */
		close(fd);
		return;
	}
	give_local(bell_base, rt, h->backend, h->pos, fd);
}

static void on_bell(evutil_socket_t fd, short what, void *arg)
{
	(void)what;
	(void)arg;
	for (;;) {
		struct handoff h;
		union {
			char buf[CMSG_SPACE(sizeof(int))];
			struct cmsghdr align;
		} ctl;
		struct iovec iov = {&h, sizeof(h)};
		struct msghdr m = {.msg_iov = &iov, .msg_iovlen = 1,
				   .msg_control = ctl.buf,
				   .msg_controllen = sizeof(ctl.buf)};
		ssize_t n = recvmsg(fd, &m, MSG_DONTWAIT | MSG_CMSG_CLOEXEC);
		if (n < 0)
			break;
		int conn = -1;
		for (struct cmsghdr *c = CMSG_FIRSTHDR(&m); c != NULL;
		     c = CMSG_NXTHDR(&m, c))
			if (c->cmsg_level == SOL_SOCKET &&
			    c->cmsg_type == SCM_RIGHTS &&
			    c->cmsg_len == CMSG_LEN(sizeof(int)))
				memcpy(&conn, CMSG_DATA(c), sizeof(int));
		if (conn < 0)
			continue;
		if (n == (ssize_t)sizeof(h) && !(m.msg_flags & MSG_TRUNC))
			got_conn(&h, conn);
		else
			close(conn);
	}
	if (bell_cb != NULL)
		bell_cb();
}

int fy_pool_bell_init(struct event_base *base, void (*on_ring)(void),
		      int (*on_conn)(struct pool_rt *, int, uint64_t, int))
{
	/* The callbacks first: a connection handed to a request of this
	 * thread reaches it through on_conn even without a doorbell. */
	bell_cb = on_ring;
	bell_conn_cb = on_conn;
	if (bell_fd >= 0)
		return FY_OK;
	int fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return FY_ERROR;
	struct sockaddr_un un;
	socklen_t len;
	bell_name(fy_pool_tid(), &un, &len);
	if (bind(fd, (struct sockaddr *)&un, len) != 0) {
		close(fd);
		return FY_ERROR;
	}
	bell_fd = fd;
	bell_base = base;
	event_assign(&bell_ev, base, fd, EV_READ | EV_PERSIST, on_bell, NULL);
	event_add(&bell_ev, NULL);
	return FY_OK;
}

/* The table row of process pid in rt, or -1. */
static int row_of(struct pool_rt *rt, pid_t pid)
{
	for (int k = 0; k < rt->rows; k++)
		if (atomic_load(&rt->owners[k]) == pid)
			return k;
	return -1;
}

/*
 * Whether a request of this thread, among the oldest max waiters, may take
 * the connection before the oldest (in another thread): sending it there
 * costs both threads several system calls and the receiver a wakeup,
 * while one of ours takes it at once. Each waiter is passed over fewer
 * than max times, so it is still served within a few rounds of the
 * connections; one of ours found is taken out of the queue, at *pos.
 * Called locked, the oldest live entry at q->head.
 */
static int take_younger(struct waitq *q, int max, uint64_t *pos)
{
	if (q->skipped_head != q->head) {
		q->skipped_head = q->head;
		q->skips = 0;
	}
	if (q->skips >= max - 1)
		return 0;
	int live = 1;
	for (uint64_t p = q->head + 1; p < q->tail && live < max; p++) {
		struct wq_entry *e = &q->ring[p % WQ_CAP];
		if (e->tid == 0)
			continue;
		live++;
		if (e->tid == my_tid) {
			q->skips++;
			e->tid = 0;
			*pos = p;
			return 1;
		}
	}
	return 0;
}

/*
 * Gives fd, a connection to backend i that ended cleanly, to the oldest
 * request waiting for the backend (or, take_younger, to a slightly younger
 * one of this thread). Returns HAND_NONE when nobody waits or the oldest
 * waiter's doorbell is full: the caller still has fd; HAND_LOCAL when the
 * request is in this thread, at *pos: it is out of the queue now, and the
 * caller gives it fd; HAND_SENT when fd went through the doorbell of
 * another thread, with its slot, and is closed here; with may_send 0,
 * HAND_LATER instead of sending (see pass_later).
 */
enum { HAND_NONE, HAND_LOCAL, HAND_SENT, HAND_LATER };

static int hand_over(struct pool_rt *rt, int i, int fd, int may_send,
		     uint64_t *pos)
{
	struct waitq *q = rt->b[i].wq;
	int rc = HAND_NONE;
	fy_pool_tid();
	wq_lock(q);
	for (;;) {
		wq_trim(q);
		if (q->head == q->tail)
			break;
		struct wq_entry *e = &q->ring[q->head % WQ_CAP];
		if (e->tid == my_tid) {
			*pos = q->head;
			e->tid = 0; /* served: out of the queue */
			wq_trim(q);
			rc = HAND_LOCAL;
			break;
		}
		if (take_younger(q, rt->pool->max_connections, pos)) {
			rc = HAND_LOCAL;
			break;
		}
		if (!may_send) {
			rc = HAND_LATER;
			break;
		}
		/* Its slot moves to the receiver's row before it can arrive:
		 * if the receiver dies with it unread, the master gives the
		 * slot back from that row. */
		int to = row_of(rt, e->pid);
		struct held *mine = my_held(rt, i);
		if (to < 0 || mine == NULL)
			break;
		struct held *theirs = &rt->held[(size_t)to * rt->n + (size_t)i];
		struct handoff h = {HANDOFF_MAGIC, i, q->head, rt};
		atomic_fetch_add(&theirs->conns, 1);
		if (send_conn(e->tid, &h, fd) == 0) {
			atomic_fetch_sub(&mine->conns, 1);
			e->tid = 0; /* served: out of the queue */
			wq_trim(q);
			rc = HAND_SENT;
			break;
		}
		int err = errno;
		atomic_fetch_sub(&theirs->conns, 1);
		if (err != ECONNREFUSED && err != ENOENT)
			break; /* its doorbell is full: the caller keeps fd */
		e->tid = 0; /* a thread that is gone */
	}
	wq_unlock(q);
	if (rc == HAND_SENT)
		close(fd);
	return rc;
}


/* Gives fd to the waiting request of this thread at pos, or keeps it
 * (or closes it) when that request is gone. */
static void give_local(struct event_base *base, struct pool_rt *rt, int i,
		       uint64_t pos, int fd)
{
	if (bell_conn_cb == NULL || !bell_conn_cb(rt, i, pos, fd))
		fy_pool_put_idle(base, rt, i, fd);
}

static void pass_later(struct event_base *base, struct pool_rt *rt, int i,
		       int fd);

/* Hands fd on (sending it only when may_send), else keeps or closes it. */
static void pass_on(struct event_base *base, struct pool_rt *rt, int i,
		    int fd, int may_send)
{
	uint64_t pos;
	switch (hand_over(rt, i, fd, may_send, &pos)) {
	case HAND_SENT:
		return;
	case HAND_LATER:
		pass_later(base, rt, i, fd);
		return;
	case HAND_LOCAL:
		give_local(base, rt, i, pos, fd);
		return;
	default:
		fy_pool_put_idle(base, rt, i, fd);
		return;
	}
}

void fy_pool_pass_on(struct event_base *base, struct pool_rt *rt, int i,
		     int fd)
{
	pass_on(base, rt, i, fd, 0);
}

static void on_pass(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	struct event_base *base = arg;
	/* What is handed over now may add more: take the batch first. */
	while (n_passes > 0) {
		struct pass p = passes[--n_passes];
		pass_on(base, p.rt, p.backend, p.fd, 1);
	}
}

/*
 * Hands fd over from the next pass of base's loop. A descriptor this
 * loop watched may be sent to another process only once the loop has
 * told epoll to stop watching it, and the epoll changelist defers that
 * to the next pass: an epoll item lives as long as its open file, not
 * its descriptor, so closing ours after sending would leave it in our
 * epoll set, ready on every wait for as long as the receiver keeps it.
 */
static void pass_later(struct event_base *base, struct pool_rt *rt, int i,
		       int fd)
{
	if (n_passes == cap_passes) {
		size_t cap = cap_passes ? 2 * cap_passes : 16;
		struct pass *a = realloc(passes, cap * sizeof(*a));
		if (a == NULL) {
			/* Not handed over: closed, its slot given back. */
			close(fd);
			fy_pool_release(rt, i);
			return;
		}
		passes = a;
		cap_passes = cap;
	}
	if (pass_base != base) {
		if (pass_base != NULL)
			event_del(&pass_ev);
		evtimer_assign(&pass_ev, base, on_pass, base);
		pass_base = base;
	}
	passes[n_passes++] = (struct pass){rt, i, fd};
	/* A timer, not event_active: active events run in this same pass,
	 * timers only after the next epoll_wait, which applies the
	 * changelist first. */
	struct timeval zero = {0, 0};
	event_add(&pass_ev, &zero);
}

int fy_pool_wq_join(struct pool_rt *rt, int i, uint64_t *pos)
{
	struct waitq *q = rt->b[i].wq;
	int rc = -1;
	wq_lock(q);
	wq_trim(q);
	if (q->tail - q->head < WQ_CAP) {
		*pos = q->tail;
		q->ring[q->tail % WQ_CAP].tid = fy_pool_tid();
		q->ring[q->tail % WQ_CAP].pid = my_process();
		q->tail++;
		rc = 0;
	}
	wq_unlock(q);
	return rc;
}

/* The oldest live waiter's thread, dropping those whose thread is gone
 * (a child killed while its requests waited). Called locked; rings it. */
static void ring_head_locked(struct waitq *q)
{
	for (;;) {
		wq_trim(q);
		if (q->head == q->tail)
			return;
		struct wq_entry *e = &q->ring[q->head % WQ_CAP];
		if (ring(e->tid) == 0)
			return;
		e->tid = 0;
	}
}

void fy_pool_wq_leave(struct pool_rt *rt, int i, uint64_t pos)
{
	struct waitq *q = rt->b[i].wq;
	wq_lock(q);
	if (pos >= q->head && pos < q->tail)
		q->ring[pos % WQ_CAP].tid = 0;
	wq_trim(q);
	int max = rt->pool->max_connections;
	if (q->head < q->tail && atomic_load(&rt->b[i].sh->conns) < max)
		ring_head_locked(q);
	wq_unlock(q);
}

int fy_pool_wq_rank(struct pool_rt *rt, int i, uint64_t pos)
{
	struct waitq *q = rt->b[i].wq;
	int rank = -1;
	wq_lock(q);
	wq_trim(q);
	if (pos >= q->head && pos < q->tail &&
	    q->ring[pos % WQ_CAP].tid != 0) {
		rank = 0;
		for (uint64_t p = q->head; p < pos; p++)
			if (q->ring[p % WQ_CAP].tid != 0)
				rank++;
	}
	wq_unlock(q);
	return rank;
}

int fy_pool_wq_busy(struct pool_rt *rt, int i)
{
	struct waitq *q = rt->b[i].wq;
	wq_lock(q);
	wq_trim(q);
	int busy = q->head < q->tail;
	wq_unlock(q);
	return busy;
}

/* Counts this thread's idle connections to backend i in the shared list
 * of holders. Returns 0, or -1 when the list is full (then the
 * connection is not kept). */
static int holder_add(struct pool_rt *rt, int i, int delta)
{
	struct waitq *q = rt->b[i].wq;
	pid_t me = fy_pool_tid();
	int rc = -1;
	wq_lock(q);
	struct idle_holder *free_h = NULL;
	for (int k = 0; k < IDLE_HOLDERS; k++) {
		struct idle_holder *h = &q->idle[k];
		if (h->tid == me) {
			h->count += delta;
			if (h->count <= 0)
				h->tid = 0, h->count = 0;
			rc = 0;
			free_h = NULL;
			break;
		}
		if (h->tid == 0 && free_h == NULL)
			free_h = h;
	}
	if (rc != 0 && delta > 0 && free_h != NULL) {
		free_h->tid = me;
		free_h->pid = my_process();
		free_h->count = delta;
		rc = 0;
	}
	wq_unlock(q);
	return rc;
}

void fy_pool_ring_idle_holders(struct pool_rt *rt, int i)
{
	struct waitq *q = rt->b[i].wq;
	wq_lock(q);
	for (int k = 0; k < IDLE_HOLDERS; k++) {
		struct idle_holder *h = &q->idle[k];
		if (h->tid != 0 && ring(h->tid) != 0)
			h->tid = 0, h->count = 0;
	}
	wq_unlock(q);
}

/* ---- a child that died -------------------------------------------------- */

/* Drops what the threads of dead process pid left in q: their waiting
 * requests and their kept connections, which died with them. Ringing a
 * dead thread would drop them too, but only once someone rings, and the
 * thread id of a dead process may already belong to a live one. Called
 * locked. Returns how many entries were dropped. */
static int wq_drop_process(struct waitq *q, pid_t pid)
{
	int dropped = 0;
	for (uint64_t p = q->head; p < q->tail; p++) {
		struct wq_entry *e = &q->ring[p % WQ_CAP];
		if (e->tid != 0 && e->pid == pid) {
			e->tid = 0;
			dropped++;
		}
	}
	for (int k = 0; k < IDLE_HOLDERS; k++) {
		struct idle_holder *h = &q->idle[k];
		if (h->tid != 0 && h->pid == pid) {
			h->tid = 0, h->count = 0;
			dropped++;
		}
	}
	wq_trim(q);
	return dropped;
}

int fy_fcgi_pools_reaped(struct fy_config *cfg, pid_t pid)
{
	int total = 0;
	for (size_t p = 0; p < cfg->n_pools; p++) {
		struct pool_rt *rt = cfg->pools[p]->runtime;
		if (rt == NULL)
			continue;
		int row = row_of(rt, pid);
		for (size_t i = 0; i < rt->n; i++) {
			struct backend *b = &rt->b[i];
			int conns = 0;
			if (row >= 0) {
				struct held *h = &rt->held[(size_t)row * rt->n + i];
				conns = atomic_exchange(&h->conns, 0);
				int waiting = atomic_exchange(&h->waiting, 0);
				if (conns != 0)
					atomic_fetch_sub(&b->sh->conns, conns);
				if (waiting != 0)
					atomic_fetch_sub(&b->sh->waiting, waiting);
			}
			if (conns > 0) {
				fy_log(FY_LOG_WARN, "fastcgi", NULL,
				       "pool %s: backend %s: %d connection "
				       "slot%s of pid %d given back",
				       rt->pool->name, b->name, conns,
				       conns == 1 ? "" : "s", (int)pid);
				total += conns;
			}
			if (b->wq == NULL)
				continue;
			/* The slots are free now: the oldest live waiter
			 * takes one at once, not at its next look. */
			wq_lock(b->wq);
			if (wq_drop_process(b->wq, pid) > 0 || conns > 0)
				ring_head_locked(b->wq);
			wq_unlock(b->wq);
		}
		if (row >= 0)
			atomic_store(&rt->owners[row], 0);
	}
	/* The master forks again after this: its children must not inherit
	 * the socket it rang with. */
	if (send_fd >= 0) {
		close(send_fd);
		send_fd = -1;
	}
	return total;
}
