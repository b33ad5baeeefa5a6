/*
 * redirect.c - internal redirects (RFC 3875 6.2.2, "local redirect"): a
 * gateway answered "Location: /path" without a Status, and the server
 * answers the client as if it had asked for /path.
 */
#include <string.h>

#include "foyer/arena.h"
#include "foyer/core.h"
#include "foyer/router.h"
#include "proxy.h"

/* Apache's LimitInternalRecursion default. */
#define REDIRECT_MAX 10

void fy_request_redirect(struct fy_request *r, const char *location)
{
	struct fy_log_ctx ctx;
	fy_log_ctx_fill(r, &ctx);
	if (r->redirects >= REDIRECT_MAX) {
		fy_log(FY_LOG_ERR, "redirect", &ctx,
		       "more than %d internal redirects, the last to %s",
		       REDIRECT_MAX, location);
		fy_response_error(r, 500);
		fy_request_finish(r);
		return;
	}
	r->redirects++;
	fy_log(FY_LOG_DEBUG, "redirect", &ctx, "internal redirect %d to %s",
	       r->redirects, location);

	/* Nothing of the response that redirected is kept. */
	r->n_resp_headers = 0;
	r->content_type = NULL;
	r->location = NULL;
	r->reason = NULL;
	r->handler = NULL;
	r->handler_data = NULL;
	r->filename = NULL;
	r->script = NULL;
	r->path_info = NULL;
	r->front_controller = 0;
	r->pending_status = 0;
	/* A GET without a body (a HEAD stays a HEAD, so that no body goes
	 * out); fastcgi.c sends PHP neither the method nor the body of the
	 * original request. */
	if (r->method != FY_METHOD_HEAD)
		r->method = FY_METHOD_GET;

	size_t n = strcspn(location, "?#");
	r->path = location;
	r->path_len = n;
	r->query = NULL;
	r->query_len = 0;
	if (location[n] == '?') {
		r->query = location + n + 1;
		r->query_len = strcspn(r->query, "#");
	}

	/* Only the router: no status page or other special path, since a
	 * gateway's output may be steered by an attacker (CVE-2024-38476). */
	struct fy_route *rt = &r->conn->loop->route;
	fy_router_resolve(r->site, r->path, r->path_len, rt);
	if (fy_request_route(r, rt) != FY_OK) {
		fy_response_error(r, 500);
		fy_request_finish(r);
		return;
	}
	fy_request_run_handler(r);
	if (r->finished)
		fy_request_finish(r);
}
