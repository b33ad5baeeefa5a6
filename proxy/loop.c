/*
 * loop.c - an event loop that accepts connections and runs them; the
 * recycling of input buffers and arenas between requests.
 */
#include <errno.h>
#include <event2/event.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "foyer/arena.h"
#include "foyer/core.h"
#include "foyer/fcgi_client.h"
#include "foyer/file_cache.h"
#include "foyer/scoreboard.h"
#include "proxy.h"

/* How many connections one wake-up of a listener may accept, so that one
 * busy listener cannot starve the connections already held. */
#define ACCEPT_BATCH 64
/* Recycled input buffers and arenas kept per loop. */
#define POOL_MAX 64
#define ARENA_BLOCK 4096
/* Seconds a closing connection drains the client's input. */
#define LINGER_SECONDS 2

struct fy_conn *fy_conn_new(struct fy_loop *loop, int fd,
			    const struct sockaddr *peer, socklen_t peerlen,
			    const struct fy_listener *l);
void fy_conn_close_now(struct fy_conn *c);
void fy_conn_stop(struct fy_conn *c);
void fy_loop_conn_gone(struct fy_loop *loop, struct fy_conn *c);
char *fy_loop_get_ibuf(struct fy_loop *loop);
void fy_loop_put_ibuf(struct fy_loop *loop, char *buf);
struct fy_arena *fy_loop_get_arena(struct fy_loop *loop);
void fy_loop_put_arena(struct fy_loop *loop, struct fy_arena *a);

struct loop_pools {
	struct fy_arena *arenas[POOL_MAX];
	size_t n_arenas;
};

static void set_accepting(struct fy_loop *loop, int on)
{
	if (loop->accepting == on)
		return;
	/* "accepting: no" on the status page, as Apache's event MPM. */
	if (loop->sb_proc != NULL && loop->n_listeners > 0)
		fy_scoreboard_proc_set_accepting(loop->sb_proc, on);
	for (size_t i = 0; i < loop->n_listeners; i++) {
		if (on)
			event_add(&loop->listeners[i].ev, NULL);
		else
			event_del(&loop->listeners[i].ev);
	}
	loop->accepting = on;
}

static void on_accept_retry(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	struct fy_loop *loop = arg;
	if (!loop->stopping && loop->nconns < loop->max_conns)
		set_accepting(loop, 1);
}

static void on_accept(evutil_socket_t lfd, short what, void *arg)
{
	(void)what;
	struct fy_listen_ev *le = arg;
	struct fy_loop *loop = le->loop;

	for (int i = 0; i < ACCEPT_BATCH; i++) {
		if (loop->nconns >= loop->max_conns) {
			/* Admission: the rest wait in the kernel backlog. */
			set_accepting(loop, 0);
			return;
		}
		struct sockaddr_storage ss;
		socklen_t sl = sizeof(ss);
		int fd = accept4(lfd, (struct sockaddr *)&ss, &sl,
				 SOCK_NONBLOCK | SOCK_CLOEXEC);
		if (fd < 0) {
			if (errno == EAGAIN || errno == EWOULDBLOCK ||
			    errno == EINTR || errno == ECONNABORTED)
				return;
			if (errno == EMFILE || errno == ENFILE ||
			    errno == ENOBUFS || errno == ENOMEM) {
				fy_log(FY_LOG_ERR, "core", NULL,
				       "accept on %s failed: %s; pausing "
				       "accept for a second (raise the open "
				       "files limit, ulimit -n)",
				       le->l->name, strerror(errno));
				set_accepting(loop, 0);
				struct timeval tv = {1, 0};
				event_add(&loop->accept_retry, &tv);
				return;
			}
			fy_log(FY_LOG_ERR, "core", NULL, "accept on %s: %s",
			       le->l->name, strerror(errno));
			return;
		}
		fy_loop_add(loop, fd, (struct sockaddr *)&ss, sl, le->l);
		if (loop->accept_left > 0 && --loop->accept_left == 0) {
			/* MaxConnectionsPerChild: finish what we hold, then
			 * end the loop. */
			fy_loop_stop(loop, 1);
			return;
		}
	}
}

void fy_loop_set_accept_limit(struct fy_loop *loop, long n)
{
	loop->accept_left = n;
}

int fy_loop_add(struct fy_loop *loop, int fd, const struct sockaddr *peer,
		socklen_t peerlen, const struct fy_listener *l)
{
	struct fy_conn *c = fy_conn_new(loop, fd, peer, peerlen, l);
	if (c == NULL) {
		close(fd);
		return FY_ERROR;
	}
	c->next = loop->conns;
	if (loop->conns != NULL)
		loop->conns->prev = c;
	loop->conns = c;
	loop->nconns++;
	return FY_OK;
}

int fy_loop_run_until_idle(struct fy_loop *loop)
{
	if (loop->nconns == 0)
		return FY_OK;
	loop->break_when_idle = 1;
	int rc = event_base_dispatch(loop->base);
	loop->break_when_idle = 0;
	/* A FastCGI connection the last request handed on leaves from the
	 * next pass (fy_pool_pass_later): run it, rather than close the
	 * connection before the thread blocks in accept. */
	if (rc >= 0 && fy_fcgi_passes_pending())
		event_base_loop(loop->base, EVLOOP_ONCE | EVLOOP_NONBLOCK);
	return rc < 0 ? FY_ERROR : FY_OK;
}

void fy_loop_conn_gone(struct fy_loop *loop, struct fy_conn *c)
{
	if (c->prev != NULL)
		c->prev->next = c->next;
	else
		loop->conns = c->next;
	if (c->next != NULL)
		c->next->prev = c->prev;
	loop->nconns--;
	if (loop->break_when_idle && loop->nconns == 0) {
		event_base_loopbreak(loop->base);
		return;
	}
	if (loop->stopping) {
		if (loop->nconns == 0)
			event_base_loopbreak(loop->base);
		return;
	}
	if (!loop->accepting && loop->nconns < loop->max_conns)
		set_accepting(loop, 1);
}

char *fy_loop_get_ibuf(struct fy_loop *loop)
{
	if (loop->n_free_bufs > 0)
		return loop->free_bufs[--loop->n_free_bufs];
	return malloc(FY_IBUF_SIZE);
}

/* Takes back a buffer of FY_IBUF_SIZE or larger (a grown one is freed). */
void fy_loop_put_ibuf(struct fy_loop *loop, char *buf)
{
	if (loop->n_free_bufs < POOL_MAX)
		loop->free_bufs[loop->n_free_bufs++] = buf;
	else
		free(buf);
}

struct fy_arena *fy_loop_get_arena(struct fy_loop *loop)
{
	struct loop_pools *p = (struct loop_pools *)loop->pools;
	if (p->n_arenas > 0)
		return p->arenas[--p->n_arenas];
	return fy_arena_create(ARENA_BLOCK);
}

void fy_loop_put_arena(struct fy_loop *loop, struct fy_arena *a)
{
	struct loop_pools *p = (struct loop_pools *)loop->pools;
	fy_arena_reset(a);
	if (p->n_arenas < POOL_MAX)
		p->arenas[p->n_arenas++] = a;
	else
		fy_arena_destroy(a);
}

static atomic_int use_changelist;

void fy_loop_use_changelist(int on)
{
	atomic_store(&use_changelist, on);
}

struct fy_loop *fy_loop_create(const struct fy_config *cfg,
			       const struct fy_listener *ls, size_t n,
			       size_t max_conns)
{
	struct fy_loop *loop = calloc(1, sizeof(*loop));
	if (loop == NULL)
		return NULL;
	loop->cfg = cfg;
	loop->max_conns = max_conns;
	fy_fcache_configure(cfg->file_cache_size);
	/* One base per thread, never shared: no locks. With a single loop
	 * in the process, the epoll changelist folds the add/delete pairs of
	 * one loop pass into at most one epoll_ctl per descriptor (a FastCGI
	 * connection handed from a finished request to a waiting one is
	 * deleted and re-added in the same pass). */
	struct event_config *ec = event_config_new();
	if (ec != NULL) {
		int flags = EVENT_BASE_FLAG_NOLOCK;
		if (atomic_load(&use_changelist))
			flags |= EVENT_BASE_FLAG_EPOLL_USE_CHANGELIST;
		event_config_set_flag(ec, flags);
		loop->base = event_base_new_with_config(ec);
		event_config_free(ec);
	}
	loop->listeners = calloc(n ? n : 1, sizeof(*loop->listeners));
	loop->free_bufs = calloc(POOL_MAX, sizeof(char *));
	loop->pools = calloc(1, sizeof(struct loop_pools));
	loop->hdr_cap = (size_t)cfg->limit_request_fields + 1;
	loop->hdr_scratch = calloc(loop->hdr_cap, sizeof(*loop->hdr_scratch));
	if (loop->base == NULL || loop->listeners == NULL ||
	    loop->free_bufs == NULL || loop->pools == NULL ||
	    loop->hdr_scratch == NULL) {
		fy_loop_free(loop);
		return NULL;
	}

	/* Timeouts shared by many connections use libevent's common-timeout
	 * queues: adding one costs O(1) instead of a heap insertion. */
	struct timeval tv;
	tv = (struct timeval){cfg->keep_alive_timeout, 0};
	loop->tv_keep_alive = event_base_init_common_timeout(loop->base, &tv);
	tv = (struct timeval){cfg->request_header_timeout, 0};
	loop->tv_header = event_base_init_common_timeout(loop->base, &tv);
	tv = (struct timeval){cfg->request_body_timeout, 0};
	loop->tv_body = event_base_init_common_timeout(loop->base, &tv);
	tv = (struct timeval){cfg->timeout, 0};
	loop->tv_send = event_base_init_common_timeout(loop->base, &tv);
	tv = (struct timeval){LINGER_SECONDS, 0};
	loop->tv_linger = event_base_init_common_timeout(loop->base, &tv);

	for (size_t i = 0; i < n; i++) {
		struct fy_listen_ev *le = &loop->listeners[i];
		le->l = &ls[i];
		le->loop = loop;
		event_assign(&le->ev, loop->base, ls[i].fd, EV_READ | EV_PERSIST,
			     on_accept, le);
	}
	loop->n_listeners = n;
	evtimer_assign(&loop->accept_retry, loop->base, on_accept_retry, loop);
	set_accepting(loop, 1);
	return loop;
}

int fy_loop_run(struct fy_loop *loop)
{
	return event_base_dispatch(loop->base) < 0 ? FY_ERROR : FY_OK;
}

void fy_loop_stop(struct fy_loop *loop, int graceful)
{
	if (loop->stopping && graceful) {
		/* Asked again (a stop watch runs often): the connections
		 * were told once; only see whether they are all done. */
		if (loop->nconns == 0)
			event_base_loopbreak(loop->base);
		return;
	}
	loop->stopping = 1;
	set_accepting(loop, 0);
	event_del(&loop->accept_retry);
	struct fy_conn *c = loop->conns;
	while (c != NULL) {
		struct fy_conn *next = c->next;
		if (graceful)
			fy_conn_stop(c);
		else
			fy_conn_close_now(c);
		c = next;
	}
	if (loop->nconns == 0)
		event_base_loopbreak(loop->base);
}

void fy_loop_free(struct fy_loop *loop)
{
	if (loop == NULL)
		return;
	loop->stopping = 1;
	while (loop->conns != NULL)
		fy_conn_close_now(loop->conns);
	for (size_t i = 0; i < loop->n_listeners; i++)
		event_del(&loop->listeners[i].ev);
	if (loop->base != NULL)
		event_del(&loop->accept_retry);
	if (loop->free_bufs != NULL)
		for (size_t i = 0; i < loop->n_free_bufs; i++)
			free(loop->free_bufs[i]);
	struct loop_pools *p = (struct loop_pools *)loop->pools;
	if (p != NULL)
		for (size_t i = 0; i < p->n_arenas; i++)
			fy_arena_destroy(p->arenas[i]);
	free(loop->pools);
	free(loop->free_bufs);
	free(loop->listeners);
	free(loop->hdr_scratch);
	if (loop->base != NULL)
		event_base_free(loop->base);
	free(loop);
}

size_t fy_loop_connections(const struct fy_loop *loop)
{
	return loop->nconns;
}

struct event_base *fy_loop_base(struct fy_loop *loop)
{
	return loop->base;
}
