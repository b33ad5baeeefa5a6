/*
 * mpm_config.c - Apache's MPM defaults and check_config clamping, with
 * Apache's warning texts.
 */
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "foyer/config.h"
#include "foyer/core.h"
#include "foyer/mpm_config.h"

struct mpm_desc {
	const char *name;
	int max_server_limit;
	int max_thread_limit;
	struct fy_mpm_config defaults;
};

static const struct mpm_desc mpm_descs[] = {
    {
	.name = "prefork",
	.max_server_limit = FY_MPM_PREFORK_MAX_SERVER_LIMIT,
	.max_thread_limit = 1,
	.defaults =
	    {
		.start_servers = 5,
		.min_spare_servers = 5,
		.max_spare_servers = 10,
		.threads_per_child = 1,
		.thread_limit = 1,
		.server_limit = 256,
		/* prefork's pre_config sets the daemons limit to the
		 * ServerLimit default before any directive is read */
		.max_request_workers = 256,
		.event_loops = 1,
	    },
    },
    {
	.name = "worker",
	.max_server_limit = FY_MPM_WORKER_MAX_SERVER_LIMIT,
	.max_thread_limit = FY_MPM_WORKER_MAX_THREAD_LIMIT,
	.defaults =
	    {
		.start_servers = 3,
		.min_spare_threads = 75,
		.max_spare_threads = 250,
		.threads_per_child = 25,
		.thread_limit = 64,
		.server_limit = 16,
		.max_request_workers = 400,
		.event_loops = 1,
	    },
    },
    {
	.name = "event",
	.max_server_limit = FY_MPM_EVENT_MAX_SERVER_LIMIT,
	.max_thread_limit = FY_MPM_EVENT_MAX_THREAD_LIMIT,
	.defaults =
	    {
		.start_servers = 3,
		.min_spare_threads = 75,
		.max_spare_threads = 250,
		.threads_per_child = 25,
		.thread_limit = 64,
		.server_limit = 16,
		.max_request_workers = 400,
		.async_request_worker_factor = 2.0,
		.event_loops = 1,
	    },
    },
};

struct warn_out {
	char *buf;
	size_t len;
	size_t pos;
	int n;
};

static const struct mpm_desc *mpm_desc_find(const char *name)
{
	if (name == NULL)
		return NULL;
	for (size_t i = 0; i < FY_ARRAY_SIZE(mpm_descs); i++)
		if (strcmp(name, mpm_descs[i].name) == 0)
			return &mpm_descs[i];
	return NULL;
}

int fy_mpm_known(const char *name)
{
	return mpm_desc_find(name) != NULL;
}

int fy_mpm_defaults(const char *mpm, struct fy_mpm_config *m)
{
	const struct mpm_desc *d = mpm_desc_find(mpm);

	if (d == NULL)
		return FY_ERROR;
	*m = d->defaults;
	return FY_OK;
}

/* max(v, floor), where a floor beyond INT_MAX (from a huge minimum) stops
 * at INT_MAX rather than wrapping */
static int at_least(int v, long long floor)
{
	if (floor > INT_MAX)
		floor = INT_MAX;
	return v < floor ? (int)floor : v;
}

__attribute__((format(printf, 2, 3))) static void say(struct warn_out *w,
						      const char *fmt, ...)
{
	va_list ap;
	int n;

	w->n++;
	if (w->buf == NULL || w->len == 0 || w->pos >= w->len - 1)
		return;
	va_start(ap, fmt);
	n = vsnprintf(w->buf + w->pos, w->len - w->pos, fmt, ap);
	va_end(ap);
	if (n < 0)
		return;
	w->pos += (size_t)n < w->len - w->pos ? (size_t)n : w->len - w->pos - 1;
	if (w->pos < w->len - 1) {
		w->buf[w->pos++] = '\n';
		w->buf[w->pos] = '\0';
	}
}

/* Checks 1-3 of every MPM: the scoreboard's process dimension. */
static void server_limit_check(const struct mpm_desc *d,
			       struct fy_mpm_config *m, int restart,
			       const struct fy_mpm_config *previous,
			       struct warn_out *w)
{
	if (m->server_limit > d->max_server_limit) {
		if (restart)
			say(w,
			    "ServerLimit of %d exceeds compile-time limit of "
			    "%d, decreasing to match",
			    m->server_limit, d->max_server_limit);
		else
			say(w,
			    "WARNING: ServerLimit of %d exceeds compile-time "
			    "limit of %d servers, decreasing to %d.",
			    m->server_limit, d->max_server_limit,
			    d->max_server_limit);
		m->server_limit = d->max_server_limit;
	} else if (m->server_limit < 1) {
		if (restart)
			say(w, "ServerLimit of %d not allowed, increasing to 1",
			    m->server_limit);
		else
			say(w,
			    "WARNING: ServerLimit of %d not allowed, "
			    "increasing to 1.",
			    m->server_limit);
		m->server_limit = 1;
	}
	if (restart && previous != NULL &&
	    m->server_limit != previous->server_limit) {
		say(w,
		    "changing ServerLimit to %d from original value of %d not "
		    "allowed during restart",
		    m->server_limit, previous->server_limit);
		m->server_limit = previous->server_limit;
	}
}

static void prefork_check(const struct mpm_desc *d, struct fy_mpm_config *m,
			  int restart, const struct fy_mpm_config *previous,
			  struct warn_out *w)
{
	server_limit_check(d, m, restart, previous, w);

	if (m->max_request_workers > m->server_limit) {
		if (restart)
			say(w,
			    "MaxRequestWorkers of %d exceeds ServerLimit value "
			    "of %d, decreasing to match",
			    m->max_request_workers, m->server_limit);
		else
			say(w,
			    "WARNING: MaxRequestWorkers of %d exceeds "
			    "ServerLimit value of %d servers, decreasing "
			    "MaxRequestWorkers to %d. To increase, please see "
			    "the ServerLimit directive.",
			    m->max_request_workers, m->server_limit,
			    m->server_limit);
		m->max_request_workers = m->server_limit;
	} else if (m->max_request_workers < 1) {
		if (restart)
			say(w,
			    "MaxRequestWorkers of %d not allowed, increasing "
			    "to 1",
			    m->max_request_workers);
		else
			say(w,
			    "WARNING: MaxRequestWorkers of %d not allowed, "
			    "increasing to 1.",
			    m->max_request_workers);
		m->max_request_workers = 1;
	}

	if (m->start_servers < 1) {
		if (restart)
			say(w,
			    "StartServers of %d not allowed, increasing to 1",
			    m->start_servers);
		else
			say(w,
			    "WARNING: StartServers of %d not allowed, "
			    "increasing to 1.",
			    m->start_servers);
		m->start_servers = 1;
	}

	if (m->min_spare_servers < 1) {
		if (restart)
			say(w,
			    "MinSpareServers of %d not allowed, increasing to "
			    "1",
			    m->min_spare_servers);
		else
			say(w,
			    "WARNING: MinSpareServers of %d not allowed, "
			    "increasing to 1 to avoid almost certain server "
			    "failure. Please read the documentation.",
			    m->min_spare_servers);
		m->min_spare_servers = 1;
	}

	/* prefork_run, silently */
	m->max_spare_servers =
	    at_least(m->max_spare_servers, (long long)m->min_spare_servers + 1);
	m->threads_per_child = 1;
	m->thread_limit = 1;
	m->daemons_limit = m->max_request_workers;
}

static void threaded_check(const struct mpm_desc *d, struct fy_mpm_config *m,
			   int restart, const struct fy_mpm_config *previous,
			   struct warn_out *w)
{
	int multiple;

	server_limit_check(d, m, restart, previous, w);

	if (m->thread_limit > d->max_thread_limit) {
		if (restart)
			say(w,
			    "ThreadLimit of %d exceeds compile-time limit of "
			    "%d, decreasing to match",
			    m->thread_limit, d->max_thread_limit);
		else
			say(w,
			    "WARNING: ThreadLimit of %d exceeds compile-time "
			    "limit of %d threads, decreasing to %d.",
			    m->thread_limit, d->max_thread_limit,
			    d->max_thread_limit);
		m->thread_limit = d->max_thread_limit;
	} else if (m->thread_limit < 1) {
		if (restart)
			say(w, "ThreadLimit of %d not allowed, increasing to 1",
			    m->thread_limit);
		else
			say(w,
			    "WARNING: ThreadLimit of %d not allowed, "
			    "increasing to 1.",
			    m->thread_limit);
		m->thread_limit = 1;
	}
	if (restart && previous != NULL &&
	    m->thread_limit != previous->thread_limit) {
		say(w,
		    "changing ThreadLimit to %d from original value of %d not "
		    "allowed during restart",
		    m->thread_limit, previous->thread_limit);
		m->thread_limit = previous->thread_limit;
	}

	if (m->threads_per_child > m->thread_limit) {
		if (restart)
			say(w,
			    "ThreadsPerChild of %d exceeds ThreadLimit of %d, "
			    "decreasing to match",
			    m->threads_per_child, m->thread_limit);
		else
			say(w,
			    "WARNING: ThreadsPerChild of %d exceeds "
			    "ThreadLimit of %d threads, decreasing to %d. To "
			    "increase, please see the ThreadLimit directive.",
			    m->threads_per_child, m->thread_limit,
			    m->thread_limit);
		m->threads_per_child = m->thread_limit;
	} else if (m->threads_per_child < 1) {
		if (restart)
			say(w,
			    "ThreadsPerChild of %d not allowed, increasing to "
			    "1",
			    m->threads_per_child);
		else
			say(w,
			    "WARNING: ThreadsPerChild of %d not allowed, "
			    "increasing to 1.",
			    m->threads_per_child);
		m->threads_per_child = 1;
	}

	if (m->max_request_workers < m->threads_per_child) {
		if (restart)
			say(w,
			    "MaxRequestWorkers of %d is less than "
			    "ThreadsPerChild of %d, increasing to match",
			    m->max_request_workers, m->threads_per_child);
		else
			say(w,
			    "WARNING: MaxRequestWorkers of %d is less than "
			    "ThreadsPerChild of %d, increasing to %d. "
			    "MaxRequestWorkers must be at least as large as "
			    "the number of threads in a single server.",
			    m->max_request_workers, m->threads_per_child,
			    m->threads_per_child);
		m->max_request_workers = m->threads_per_child;
	}

	m->daemons_limit = m->max_request_workers / m->threads_per_child;
	if (m->max_request_workers % m->threads_per_child != 0) {
		multiple = m->daemons_limit * m->threads_per_child;
		if (restart)
			say(w,
			    "MaxRequestWorkers of %d is not an integer "
			    "multiple "
			    "of ThreadsPerChild of %d, decreasing to nearest "
			    "multiple %d",
			    m->max_request_workers, m->threads_per_child,
			    multiple);
		else
			say(w,
			    "WARNING: MaxRequestWorkers of %d is not an "
			    "integer multiple of ThreadsPerChild of %d, "
			    "decreasing to nearest multiple %d, for a maximum "
			    "of %d servers.",
			    m->max_request_workers, m->threads_per_child,
			    multiple, m->daemons_limit);
		m->max_request_workers = multiple;
	}

	if (m->daemons_limit > m->server_limit) {
		/* below max_request_workers, as server_limit is below
		 * daemons_limit: no overflow */
		multiple = m->server_limit * m->threads_per_child;
		if (restart)
			say(w,
			    "MaxRequestWorkers of %d would require %d servers "
			    "and exceed ServerLimit of %d, decreasing to %d",
			    m->max_request_workers, m->daemons_limit,
			    m->server_limit, multiple);
		else
			say(w,
			    "WARNING: MaxRequestWorkers of %d would require %d "
			    "servers and would exceed ServerLimit of %d, "
			    "decreasing to %d. To increase, please see the "
			    "ServerLimit directive.",
			    m->max_request_workers, m->daemons_limit,
			    m->server_limit, multiple);
		m->daemons_limit = m->server_limit;
		m->max_request_workers = multiple;
	}

	if (m->start_servers < 1) {
		if (restart)
			say(w,
			    "StartServers of %d not allowed, increasing to 1",
			    m->start_servers);
		else
			say(w,
			    "WARNING: StartServers of %d not allowed, "
			    "increasing to 1.",
			    m->start_servers);
		m->start_servers = 1;
	}

	if (m->min_spare_threads < 1) {
		if (restart)
			say(w,
			    "MinSpareThreads of %d not allowed, increasing to "
			    "1",
			    m->min_spare_threads);
		else
			say(w,
			    "WARNING: MinSpareThreads of %d not allowed, "
			    "increasing to 1 to avoid almost certain server "
			    "failure. Please read the documentation.",
			    m->min_spare_threads);
		m->min_spare_threads = 1;
	}

	/* worker_run / event_run, silently; with one bucket Apache's
	 * MinSpareThreads >= TPC * (N - 1) + N is the >= 1 above */
	m->max_spare_threads =
	    at_least(m->max_spare_threads, (long long)m->min_spare_threads +
					       m->threads_per_child + 1);
}

int fy_mpm_check(const char *mpm, struct fy_mpm_config *m, int restart,
		 const struct fy_mpm_config *previous, char *warn,
		 size_t warnlen)
{
	const struct mpm_desc *d = mpm_desc_find(mpm);
	struct warn_out w = {.buf = warn, .len = warnlen};

	if (d == NULL)
		return FY_ERROR;
	if (warn != NULL && warnlen > 0)
		w.pos = strnlen(warn, warnlen - 1);
	if (strcmp(d->name, "prefork") == 0)
		prefork_check(d, m, restart, previous, &w);
	else
		threaded_check(d, m, restart, previous, &w);
	if (m->start_servers > m->daemons_limit)
		m->start_servers = m->daemons_limit;
	if (strcmp(d->name, "event") == 0 &&
	    m->async_request_worker_factor < 1.0)
		m->async_request_worker_factor = 1.0;
	return w.n;
}
