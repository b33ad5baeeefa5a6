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
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
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

int fy_fcgi_pools_init(struct fy_config *cfg)
{
	for (size_t p = 0; p < cfg->n_pools; p++) {
		struct fy_pool *pool = cfg->pools[p];
		struct pool_rt *rt = calloc(1, sizeof(*rt));
		if (rt == NULL)
			return FY_ERROR;
		rt->pool = pool;
		rt->n = pool->n_backends;
		rt->b = calloc(rt->n ? rt->n : 1, sizeof(*rt->b));
		rt->shm_len = sizeof(atomic_uint) + 64 +
			      rt->n * sizeof(struct backend_shared);
		rt->shm = mmap(NULL, rt->shm_len, PROT_READ | PROT_WRITE,
			       MAP_SHARED | MAP_ANONYMOUS, -1, 0);
		if (rt->b == NULL || rt->shm == MAP_FAILED) {
			free(rt->b);
			free(rt);
			return FY_ERROR;
		}
		rt->rr = rt->shm;
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

int fy_pool_acquire(struct pool_rt *rt, int i)
{
	atomic_int *c = &rt->b[i].sh->conns;
	int max = rt->pool->max_connections;
	if (max <= 0) {
		atomic_fetch_add(c, 1);
		return 1;
	}
	int cur = atomic_load(c);
	while (cur < max)
		if (atomic_compare_exchange_weak(c, &cur, cur + 1))
			return 1;
	return 0;
}

void fy_pool_release(struct pool_rt *rt, int i)
{
	atomic_fetch_sub(&rt->b[i].sh->conns, 1);
}

void fy_pool_failed(struct pool_rt *rt, int i)
{
	struct backend_shared *sh = rt->b[i].sh;
	int max_fails = rt->pool->max_fails;
	if (max_fails <= 0)
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

static void idle_close(struct idle *it)
{
	if (it->prev != NULL)
		it->prev->next = it->next;
	else
		idle_list = it->next;
	if (it->next != NULL)
		it->next->prev = it->prev;
	event_del(&it->ev);
	event_del(&it->sweep);
	close(it->fd);
	fy_pool_release(it->rt, it->backend);
	free(it);
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
	if (atomic_load(&it->rt->b[it->backend].sh->waiting) > 0 ||
	    now_sec() - it->since >= it->rt->pool->keep_alive_timeout)
		idle_close(it);
}

void fy_fcgi_close_idle(void)
{
	while (idle_list != NULL)
		idle_close(idle_list);
}

int fy_pool_take_idle(struct pool_rt *rt, int i)
{
	for (struct idle *it = idle_list; it != NULL; it = it->next) {
		if (it->rt != rt || it->backend != i)
			continue;
		int fd = it->fd;
		if (it->prev != NULL)
			it->prev->next = it->next;
		else
			idle_list = it->next;
		if (it->next != NULL)
			it->next->prev = it->prev;
		event_del(&it->ev);
		event_del(&it->sweep);
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
