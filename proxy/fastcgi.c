/*
 * fastcgi.c - the handler that sends PHP requests to a PHP-FPM pool: the
 * CGI environment (the one builder shared with in-process PHP), the body,
 * and the response streamed back with back-pressure; or, when PHP answers
 * with "Location: /path" and no Status, an internal redirect
 * (redirect.c), and with X-Sendfile or X-Accel-Redirect on a site that
 * allows them, the file it names (xsendfile.c).
 */
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "foyer/arena.h"
#include "foyer/cgi.h"
#include "foyer/cgi_response.h"
#include "foyer/core.h"
#include "foyer/fcgi.h"
#include "foyer/file_cache.h"
#include "foyer/fcgi_client.h"
#include "foyer/xsendfile.h"
#include "proxy.h"

/* What the response's end brings, when the backend's body is not the
 * answer: it is read to END_REQUEST and thrown away, so that the
 * connection stays usable and PHP finishes its work. */
enum after {
	AFTER_NOTHING, /* the body was the answer */
	AFTER_REDIRECT, /* Location: /path without Status */
	AFTER_SENDFILE, /* X-Sendfile or X-Accel-Redirect, site allowing */
};

struct fcgi_ctx {
	struct fy_request *r;
	struct fy_fcgi_exchange *x;
	struct fy_log_ctx log; /* points into the request: lives as long */
	enum after after;
	char *target; /* the Location, or the file named (arena) */
	int accel;    /* target came from X-Accel-Redirect */
};

/* Decides whether the backend's body is the answer (see enum after). */
static void choose_after(struct fcgi_ctx *fc, const struct fy_cgi_response *resp)
{
	struct fy_request *r = fc->r;
	const char *name = resp->x_sendfile != NULL ? "X-Sendfile"
						    : "X-Accel-Redirect";
	const char *v = resp->x_sendfile != NULL ? resp->x_sendfile
						 : resp->x_accel_redirect;
	size_t vl = resp->x_sendfile != NULL ? resp->x_sendfile_len
					     : resp->x_accel_redirect_len;
	if (v != NULL && !r->site->x_sendfile) {
		/* The parser never forwards it: the path stays on the
		 * server, and the body is the answer. */
		fy_log(FY_LOG_INFO, "fastcgi", &fc->log,
		       "%s ignored: x_sendfile is off for site %s", name,
		       r->site->name);
	} else if (v != NULL) {
		fc->after = AFTER_SENDFILE;
		fc->accel = resp->x_sendfile == NULL;
		fc->target = fy_arena_strndup(r->arena, v, vl);
	} else if (resp->local_redirect) {
		fc->after = AFTER_REDIRECT;
		fc->target = fy_arena_strndup(r->arena, resp->location,
					      resp->location_len);
	}
	if (fc->after != AFTER_NOTHING && fc->target == NULL)
		fc->after = AFTER_NOTHING; /* out of memory: the body it is */
}

/* Drops what on_headers kept of the backend's head. */
static void forget_headers(struct fy_request *r)
{
	r->n_resp_headers = 0;
	r->content_type = NULL;
	r->location = NULL;
	r->reason = NULL;
}

static void on_headers(void *arg, const struct fy_cgi_response *resp)
{
	struct fcgi_ctx *fc = arg;
	struct fy_request *r = fc->r;
	choose_after(fc, resp);
	if (fc->after == AFTER_REDIRECT)
		return; /* nothing of this response reaches the client */
	/* A sent file keeps the backend's headers (Content-Type,
	 * Content-Disposition, Cache-Control ...); the parser dropped its
	 * Content-Length. */
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
	if (fc->after == AFTER_SENDFILE)
		return; /* the file's status and head come at the end */
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
	if (fc->after != AFTER_NOTHING)
		return 0;
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

/* Sends the file an X-Sendfile or X-Accel-Redirect named, as the static
 * handler would send it for a GET (a HEAD stays a HEAD). */
static void send_file(struct fcgi_ctx *fc)
{
	struct fy_request *r = fc->r;
	const char *name = fc->accel ? "X-Accel-Redirect" : "X-Sendfile";
	char path[PATH_MAX];
	struct stat st;
	int status;
	const char *why;
	int fd = fy_xsendfile_open(r->site, fc->accel, fc->target, path,
				   sizeof(path), &st, &status, &why);
	if (fd < 0) {
		fy_log(FY_LOG_ERR, "fastcgi", &fc->log, "%s %s refused (%d): %s",
		       name, fc->target, status, why);
		forget_headers(r);
		fy_response_error(r, status);
		return;
	}
	/* The script's own descriptor, kept since routing, is done with. */
	if (r->fd >= 0)
		close(r->fd);
	r->fd = fd;
	/* Not the file the URI names: never kept under it. */
	r->cacheable = 0;
	fy_fcache_put(r->cached);
	r->cached = NULL;
	r->st = st;
	r->filename = fy_arena_strdup(r->arena, path);
	if (r->method != FY_METHOD_HEAD)
		r->method = FY_METHOD_GET;
	int rc = r->filename != NULL ? fy_static_serve(r) : 500;
	if (rc != FY_OK) {
		if (rc < 400)
			rc = 500;
		fy_log(rc >= 500 ? FY_LOG_ERR : FY_LOG_INFO, "fastcgi",
		       &fc->log, "%s %s answered %d", name, fc->target, rc);
		fy_response_error(r, rc);
	}
}

static void on_done(void *arg, int status)
{
	struct fcgi_ctx *fc = arg;
	struct fy_request *r = fc->r;
	fc->x = NULL;
	if (status == 0 && fc->after == AFTER_REDIRECT) {
		fy_request_redirect(r, fc->target);
		return;
	}
	if (status == 0 && fc->after == AFTER_SENDFILE) {
		send_file(fc);
		fy_request_finish(r);
		return;
	}
	if (!r->head_sent && fc->after != AFTER_NOTHING)
		forget_headers(r); /* an error page, not the file's head */
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

	/* The script was opened and checked: from now on one fstatat tells
	 * that the path still names it. */
	if (r->cacheable && r->cached == NULL && r->fd >= 0)
		fy_fcache_add_stat(site, r->uri, strlen(r->uri), &r->st);

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
	/* After an internal redirect: a GET (or HEAD) without a body. The
	 * request line and REQUEST_URI stay the client's, as with Apache. */
	struct evbuffer *body = r->body;
	const char *method = r->head.method;
	size_t method_len = r->head.method_len;
	if (r->redirects > 0) {
		body = NULL;
		clen = -1;
		method = r->method == FY_METHOD_HEAD ? "HEAD" : "GET";
		method_len = strlen(method);
	}
	struct fy_cgi_request cr = {
		.method = method,
		.method_len = method_len,
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
	struct fy_fcgi_body fbody = {
		.mem = r->body_fd < 0 ? body : NULL,
		.fd = r->body_fd,
		.len = r->body_received,
	};
	fc->x = fy_fcgi_start(c->loop->base, site->pool, pbuf, plen,
			      body != NULL ? &fbody : NULL, &callbacks, fc,
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
