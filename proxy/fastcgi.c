/*
 * fastcgi.c - the handler that sends PHP requests to a PHP-FPM pool: the
 * CGI environment (the one builder shared with in-process PHP), the body,
 * and the response streamed back with back-pressure.
 */
#include <stdio.h>
#include <string.h>

#include "foyer/arena.h"
#include "foyer/cgi.h"
#include "foyer/cgi_response.h"
#include "foyer/core.h"
#include "foyer/fcgi.h"
#include "foyer/fcgi_client.h"
#include "proxy.h"

struct fcgi_ctx {
	struct fy_request *r;
	struct fy_fcgi_exchange *x;
	struct fy_log_ctx log; /* points into the request: lives as long */
};

static void on_headers(void *arg, const struct fy_cgi_response *resp)
{
	struct fcgi_ctx *fc = arg;
	struct fy_request *r = fc->r;
	for (size_t i = 0; i < resp->n_headers; i++) {
		const struct fy_http_header *h = &resp->headers[i];
		/* The exchange's buffer goes away with it: copy. */
		char *name = fy_arena_strndup(r->arena, h->name, h->name_len);
		char *value = fy_arena_strndup(r->arena, h->value, h->value_len);
		if (name == NULL || value == NULL)
			continue;
		if (strcasecmp(name, "Content-Type") == 0)
			r->content_type = value;
		else if (strcasecmp(name, "Location") == 0)
			r->location = value;
		else
			fy_response_add_header(r, name, value);
	}
	if (resp->reason != NULL && resp->reason_len > 0)
		r->reason = fy_arena_strndup(r->arena, resp->reason,
					     resp->reason_len);
	/* The body's length is known only at END_REQUEST: chunked for
	 * HTTP/1.1, close-delimited for HTTP/1.0. */
	fy_response_head(r, resp->status, -1);
	fy_conn_want_write(r->conn);
}

static int on_body(void *arg, const char *data, size_t len)
{
	struct fcgi_ctx *fc = arg;
	struct fy_request *r = fc->r;
	if (fy_response_body_add(r, data, len) != FY_OK)
		return 1;
	fy_conn_want_write(r->conn);
	return evbuffer_get_length(r->conn->out) > FY_OUT_HIGH_WATER;
}

static void on_stderr(void *arg, const char *data, size_t len)
{
	struct fcgi_ctx *fc = arg;
	struct fy_log_ctx ctx;
	fy_log_ctx_fill(fc->r, &ctx);
	while (len > 0 && (data[len - 1] == '\n' || data[len - 1] == '\r'))
		len--;
	fy_log(FY_LOG_ERR, "fastcgi", &ctx, "FastCGI sent in stderr: \"%.*s\"",
	       (int)(len > 2000 ? 2000 : len), data);
}

static void on_done(void *arg, int status)
{
	struct fcgi_ctx *fc = arg;
	struct fy_request *r = fc->r;
	fc->x = NULL;
	if (!r->head_sent) {
		fy_response_error(r, status != 0 ? status : 502);
	} else if (status != 0) {
		/* Truncated: no last chunk, and the connection closes, so the
		 * client cannot take a partial body for a whole one. */
		r->keep_alive = 0;
	} else {
		fy_response_body_end(r);
	}
	fy_request_finish(r);
}

static const struct fy_fcgi_callbacks callbacks = {
	.on_headers = on_headers,
	.on_body = on_body,
	.on_stderr = on_stderr,
	.on_done = on_done,
};

static void release(void *arg)
{
	struct fcgi_ctx *fc = arg;
	if (fc->x != NULL) {
		fy_fcgi_abort(fc->x);
		fc->x = NULL;
	}
}

static int fastcgi_start(struct fy_request *r)
{
	struct fy_conn *c = r->conn;
	const struct fy_site *site = r->site;

	if (r->path_info != NULL)
		for (const char *p = r->path_info; *p != '\0'; p++)
			if ((unsigned char)*p < 0x20 || *p == 0x7f) {
				/* CVE-2019-11043's shape: a line break in
				 * PATH_INFO never reaches PHP-FPM. */
				struct fy_log_ctx ctx;
				fy_log_ctx_fill(r, &ctx);
				fy_log(FY_LOG_ERR, "fastcgi", &ctx,
				       "control character in PATH_INFO refused");
				return 400;
			}

	size_t hdr_bytes = 0;
	for (size_t i = 0; i < r->head.num_headers; i++)
		hdr_bytes += r->head.headers[i].name_len +
			     r->head.headers[i].value_len + 16;
	for (size_t i = 0; i < site->n_fcgi_params; i++)
		hdr_bytes += site->fcgi_params[i].name_len +
			     site->fcgi_params[i].value_len + 16;
	size_t scratch_len = hdr_bytes + 2 * 4096 + 2 * strlen(site->document_root);
	size_t params_cap = 2 * scratch_len + 8192;
	char *scratch = fy_arena_alloc(r->arena, scratch_len);
	unsigned char *pbuf = fy_arena_alloc(r->arena, params_cap);
	struct fcgi_ctx *fc = fy_arena_calloc(r->arena, 1, sizeof(*fc));
	if (scratch == NULL || pbuf == NULL || fc == NULL)
		return 500;

	char proto[9] = "HTTP/1.0";
	proto[7] = r->head.minor_version == 1 ? '1' : '0';
	/* Every byte received was stored, in memory or in the file. */
	int64_t clen = r->body != NULL ? (int64_t)r->body_received : -1;
	if (clen < 0 && (r->framing.content_length >= 0 || r->body_chunked))
		clen = 0;
	struct fy_cgi_request cr = {
		.method = r->head.method,
		.method_len = r->head.method_len,
		.request_uri = r->head.target,
		.request_uri_len = r->head.target_len,
		.query = r->query,
		.query_len = r->query_len,
		.document_root = site->document_root,
		.script_name = r->script,
		.script_filename = r->filename,
		.path_info = r->path_info,
		.document_uri = r->uri,
		.server_name = site->n_server_names > 0 ? site->server_names[0]
							: site->name,
		.server_addr = c->local_ip,
		.server_port = c->local_port,
		.remote_addr = c->client_ip,
		.remote_port = c->client_port,
		.protocol = proto,
		.server_software = FY_SERVER_TOKEN,
		.https = 0,
		.content_length = clen,
		.headers = r->head.headers,
		.n_headers = r->head.num_headers,
		.pass_authorization = site->pass_authorization,
		.extra = site->fcgi_params,
		.n_extra = site->n_fcgi_params,
	};
	struct fy_fcgi_params params;
	fy_fcgi_params_init(&params, pbuf, params_cap);
	size_t plen = 0;
	if (fy_cgi_build(&cr, fy_fcgi_params_emit, &params, scratch,
			 scratch_len) != FY_OK ||
	    fy_fcgi_params_finish(&params, &plen) != FY_OK) {
		struct fy_log_ctx ctx;
		fy_log_ctx_fill(r, &ctx);
		fy_log(FY_LOG_ERR, "fastcgi", &ctx,
		       "request too large for FastCGI params");
		return params.error == FY_FCGI_PARAMS_PAIR_SIZE ? 431 : 500;
	}

	fc->r = r;
	fy_log_ctx_fill(r, &fc->log);
	r->handler_data = fc;
	struct fy_fcgi_body body = {
		.mem = r->body_fd < 0 ? r->body : NULL,
		.fd = r->body_fd,
		.len = r->body_received,
	};
	fc->x = fy_fcgi_start(c->loop->base, site->pool, pbuf, plen,
			      r->body != NULL ? &body : NULL, &callbacks, fc,
			      &fc->log);
	if (fc->x == NULL)
		return 502;
	/* Runs at the request's end whatever happens (client gone too). */
	if (fy_arena_cleanup(r->arena, release, fc) != FY_OK) {
		fy_fcgi_abort(fc->x);
		fc->x = NULL;
		return 500;
	}
	return FY_AGAIN;
}

static void fastcgi_resume(struct fy_request *r)
{
	struct fcgi_ctx *fc = r->handler_data;
	if (fc != NULL && fc->x != NULL)
		fy_fcgi_resume(fc->x);
}

static void fastcgi_abort(struct fy_request *r)
{
	struct fcgi_ctx *fc = r->handler_data;
	if (fc != NULL && fc->x != NULL) {
		fy_fcgi_abort(fc->x);
		fc->x = NULL;
	}
}

const struct fy_handler fy_handler_fastcgi = {
	.name = "fastcgi",
	.wants_body = 1,
	.start = fastcgi_start,
	.resume = fastcgi_resume,
	.abort = fastcgi_abort,
};
