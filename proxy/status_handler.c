/*
 * status_handler.c - the "status" handler: the allow list, the method, the
 * query options, then one snapshot of the scoreboard rendered as a
 * complete response.
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "foyer/arena.h"
#include "foyer/core.h"
#include "foyer/status.h"
#include "proxy.h"

/* Set by the master before the loops start and read by every loop thread;
 * atomic so that a set after threads exist is still race free. */
static _Atomic(struct fy_scoreboard *) scoreboard;

void fy_status_set_scoreboard(struct fy_scoreboard *sb)
{
	atomic_store_explicit(&scoreboard, sb, memory_order_release);
}

struct fy_scoreboard *fy_status_scoreboard(void)
{
	return atomic_load_explicit(&scoreboard, memory_order_acquire);
}

static int peer_allowed(const struct fy_request *r)
{
	const struct fy_config *cfg = r->conn->loop->cfg;
	struct sockaddr_storage ss;
	memset(&ss, 0, sizeof(ss));
	struct sockaddr_in *s4 = (struct sockaddr_in *)&ss;
	struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)&ss;
	/* The engine keeps the peer as text (IPv4-mapped addresses already
	 * unmapped); the allow list works on addresses. */
	if (inet_pton(AF_INET, r->conn->client_ip, &s4->sin_addr) == 1)
		s4->sin_family = AF_INET;
	else if (inet_pton(AF_INET6, r->conn->client_ip, &s6->sin6_addr) == 1)
		s6->sin6_family = AF_INET6;
	else
		return 0;
	return fy_status_allowed((const char **)cfg->status_allow,
				 cfg->n_status_allow,
				 (const struct sockaddr *)&ss);
}

/* The server name as mod_status shows it: the Host the client asked for
 * (without the port), else the site's first name, else the local address. */
static const char *server_name(struct fy_request *r)
{
	size_t len;
	const char *h = fy_request_header(r, "Host", &len);
	if (h != NULL && len > 0) {
		size_t n = len;
		if (h[0] == '[') {
			const char *e = memchr(h, ']', len);
			if (e != NULL)
				n = (size_t)(e - h) + 1;
		} else {
			const char *c = memchr(h, ':', len);
			if (c != NULL)
				n = (size_t)(c - h);
		}
		char *s = fy_arena_strndup(r->arena, h, n);
		if (s != NULL)
			return s;
	}
	if (r->site != NULL && r->site->n_server_names > 0)
		return r->site->server_names[0];
	return r->conn->local_ip;
}

static int method_not_allowed(struct fy_request *r)
{
	static const char body[] =
	    "<!DOCTYPE html>\n<html><head>\n<title>405 Method Not "
	    "Allowed</title>\n</head><body>\n<h1>Method Not Allowed</h1>\n"
	    "<p>The server-status page answers GET and HEAD only.</p>\n"
	    "</body></html>\n";
	fy_response_add_header(r, "Allow", "GET, HEAD");
	r->content_type = "text/html; charset=utf-8";
	fy_response_head(r, 405, (int64_t)(sizeof(body) - 1));
	if (fy_response_body_add(r, body, sizeof(body) - 1) != FY_OK)
		return FY_ERROR;
	return FY_OK;
}

static int status_start(struct fy_request *r)
{
	if (!peer_allowed(r))
		return 403;
	if (r->method != FY_METHOD_GET && r->method != FY_METHOD_HEAD)
		return method_not_allowed(r);
	struct fy_scoreboard *sb = fy_status_scoreboard();
	if (sb == NULL)
		return 503;

	struct fy_status_query q;
	fy_status_parse_query(r->query, r->query != NULL ? r->query_len : 0,
			      &q);

	/* The serving process's own CPU time is fresh; the others' are as
	 * fresh as their last sample. */
	pid_t self = getpid();
	for (int i = 0; i < fy_scoreboard_server_limit(sb); i++) {
		struct fy_scoreboard_proc *p = fy_scoreboard_proc(sb, i);
		if (fy_scoreboard_proc_pid(p) == self) {
			fy_scoreboard_proc_sample_cpu(p);
			break;
		}
	}

	struct fy_status_snapshot *snap = fy_scoreboard_snapshot(sb);
	if (snap == NULL)
		return 500;
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	struct fy_status_env env = {
	    .server_name = server_name(r),
	    .local_ip = r->conn->local_ip,
	    .now_us = (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000,
	};
	if (getloadavg(env.load, 3) != 3)
		env.load[0] = env.load[1] = env.load[2] = 0;

	size_t len = 0;
	char *text = fy_status_render(q.format, snap, &env, &len);
	fy_scoreboard_snapshot_free(snap);
	if (text == NULL)
		return 500;
	if (fy_arena_cleanup(r->arena, free, text) != FY_OK) {
		free(text);
		return 500;
	}

	switch (q.format) {
	case FY_STATUS_AUTO:
		r->content_type = "text/plain; charset=ISO-8859-1";
		break;
	case FY_STATUS_JSON:
		r->content_type = "application/json";
		break;
	default:
		r->content_type = "text/html; charset=ISO-8859-1";
		break;
	}
	fy_response_add_header(r, "Cache-Control", "no-cache");
	if (q.refresh > 0) {
		char *v = fy_arena_printf(r->arena, "%d", q.refresh);
		if (v != NULL)
			fy_response_add_header(r, "Refresh", v);
	}
	fy_response_head(r, 200, (int64_t)len);
	return fy_response_body_add(r, text, len) == FY_OK ? FY_OK : FY_ERROR;
}

const struct fy_handler fy_handler_status = {
    .name = "status",
    .wants_body = 0,
    .start = status_start,
};
