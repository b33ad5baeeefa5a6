/*
 * fcgi_codec_client.c - a minimal blocking FastCGI client built only from
 * foyer's codec (fy_cgi_build, the PARAMS builder, the stream encoder, the
 * record decoder and the CGI response parser), used by test_fcgi_codec.py
 * to talk to a real php-fpm8.2. Not part of the server.
 *
 *   fcgi_codec_client SOCKET SCRIPT_FILENAME QUERY BODY_LEN EXTRAS
 *                     EXTRA_LEN REQUESTS
 *
 * Sends REQUESTS requests on one connection (KEEP_CONN on all but the
 * last), each a POST with BODY_LEN bytes of body (byte i is i % 251), a
 * 300-byte X-Long header and EXTRAS administrator params FOYER_EXTRA_<n> of
 * EXTRA_LEN bytes each. For each response it prints
 *   === response <n>
 *   status <code> [reason]
 *   header <name>: <value>     (one per forwarded field)
 *   stderr <bytes> <text on one line>
 *   end <app status> <protocol status> spans <STDOUT data spans>
 *   body <length>
 * followed by the body bytes and a newline. Exits non-zero on any error.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "foyer/cgi.h"
#include "foyer/cgi_response.h"
#include "foyer/core.h"
#include "foyer/fcgi.h"
#include "foyer/http.h"

#define PARAMS_CAP (1 << 20)
#define HEADER_CAP (64 * 1024)

static void die(const char *what)
{
	fprintf(stderr, "fcgi_codec_client: %s: %s\n", what,
		errno ? strerror(errno) : "failed");
	exit(1);
}

static void write_all(int fd, const void *buf, size_t len)
{
	const char *p = buf;

	while (len > 0) {
		ssize_t n = write(fd, p, len);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			die("write");
		p += n;
		len -= (size_t)n;
	}
}

static void send_request(int fd, const char *script, const char *query,
			 size_t body_len, size_t extras, size_t extra_len,
			 int keep_conn)
{
	static unsigned char params_buf[PARAMS_CAP];
	static char scratch[64 * 1024];
	char long_value[300], request_uri[512], docroot[512];
	struct fy_http_header headers[] = {
	    {"Host", 4, "localhost", 9},
	    {"X-Long", 6, long_value, sizeof(long_value)},
	    {"Content-Type", 12, "application/octet-stream", 24},
	};
	struct fy_cgi_param *extra = calloc(extras + 1, sizeof(*extra));
	char *extra_names = calloc(extras + 1, 48);
	char *extra_value = malloc(extra_len + 1);
	struct fy_cgi_request req = {0};
	struct fy_fcgi_params params;
	unsigned char begin[16], end_stdin[FCGI_HEADER_LEN];
	const char *slash = strrchr(script, '/');
	unsigned char *body_rec;
	char *body;
	size_t len = 0, n;

	if (!extra || !extra_names || !extra_value || !slash)
		die("setup");
	memset(long_value, 'L', sizeof(long_value));
	memset(extra_value, 'e', extra_len);
	for (size_t i = 0; i < extras; i++) {
		char *name = extra_names + 48 * i;

		snprintf(name, 48, "FOYER_EXTRA_%zu", i);
		extra[i].name = name;
		extra[i].name_len = strlen(name);
		extra[i].value = extra_value;
		extra[i].value_len = extra_len;
	}
	if ((size_t)(slash - script) >= sizeof(docroot))
		die("script path too long");
	memcpy(docroot, script, (size_t)(slash - script));
	docroot[slash - script] = '\0';
	snprintf(request_uri, sizeof(request_uri), "%s?%s", slash, query);

	req.method = "POST";
	req.method_len = 4;
	req.request_uri = request_uri;
	req.request_uri_len = strlen(request_uri);
	req.query = query;
	req.query_len = strlen(query);
	req.document_root = docroot;
	req.script_name = slash;
	req.script_filename = script;
	req.document_uri = slash;
	req.server_name = "localhost";
	req.server_addr = "127.0.0.1";
	req.server_port = 80;
	req.remote_addr = "127.0.0.1";
	req.remote_port = 40000;
	req.protocol = "HTTP/1.1";
	req.server_software = FY_SERVER_TOKEN;
	req.content_length = (int64_t)body_len;
	req.headers = headers;
	req.n_headers = FY_ARRAY_SIZE(headers);
	req.extra = extra;
	req.n_extra = extras;

	fy_fcgi_params_init(&params, params_buf, sizeof(params_buf));
	if (fy_cgi_build(&req, fy_fcgi_params_emit, &params, scratch,
			 sizeof(scratch)) != FY_OK ||
	    fy_fcgi_params_finish(&params, &len) != FY_OK)
		die("params");

	fy_fcgi_begin_request(begin, keep_conn);
	write_all(fd, begin, sizeof(begin));
	write_all(fd, params_buf, len);

	body = malloc(body_len + 1);
	n = fy_fcgi_stream_size(body_len);
	body_rec = malloc(n + 1);
	if (!body || !body_rec)
		die("malloc");
	for (size_t i = 0; i < body_len; i++)
		body[i] = (char)(i % 251);
	if (body_len > 0 &&
	    fy_fcgi_stream_encode(body_rec, n, FCGI_STDIN, body, body_len) != n)
		die("stdin encode");
	write_all(fd, body_rec, n);
	fy_fcgi_end_stream(end_stdin, FCGI_STDIN);
	write_all(fd, end_stdin, sizeof(end_stdin));

	free(body);
	free(body_rec);
	free(extra);
	free(extra_names);
	free(extra_value);
}

struct growbuf {
	char *p;
	size_t len, cap;
};

static void append(struct growbuf *g, const char *data, size_t len)
{
	if (g->len + len > g->cap) {
		size_t cap = g->cap ? g->cap : 4096;
		char *p;

		while (cap < g->len + len)
			cap *= 2;
		p = realloc(g->p, cap);
		if (!p)
			die("realloc");
		g->p = p;
		g->cap = cap;
	}
	memcpy(g->p + g->len, data, len);
	g->len += len;
}

static void read_response(int fd, int index)
{
	static char hbuf[HEADER_CAP];
	struct fy_http_header headers[100];
	struct fy_cgi_response r;
	struct fy_fcgi_parser p;
	struct growbuf body = {0}, err = {0};
	char in[4096];
	int hrc = FY_AGAIN, done = 0;
	size_t spans = 0;
	struct fy_fcgi_event ev = {0};

	fy_fcgi_parser_init(&p);
	fy_cgi_response_init(&r, hbuf, sizeof(hbuf), headers,
			     FY_ARRAY_SIZE(headers));
	while (!done) {
		/* Short reads on purpose: records arrive cut anywhere. */
		ssize_t got = read(fd, in, 1000 + 7 * (size_t)index);
		size_t off = 0;

		if (got < 0 && errno == EINTR)
			continue;
		if (got <= 0)
			die(got == 0 ? "EOF before END_REQUEST" : "read");
		while (off < (size_t)got && !done) {
			size_t used = 0, hused = 0;
			int rc = fy_fcgi_parse(&p, in + off, (size_t)got - off,
					       &used, &ev);

			off += used;
			if (rc == FY_ERROR) {
				fprintf(stderr, "decode: %s\n",
					fy_fcgi_parse_strerror(p.error));
				exit(1);
			}
			if (rc == FY_DONE) {
				if (off != (size_t)got) {
					fprintf(stderr,
						"bytes after END_REQUEST\n");
					exit(1);
				}
				done = 1;
				break;
			}
			if (rc == FY_AGAIN)
				break;
			if (ev.type == FY_FCGI_EV_STDERR) {
				append(&err, ev.data, ev.len);
				continue;
			}
			if (ev.type != FY_FCGI_EV_STDOUT || ev.len == 0)
				continue;
			spans++;
			if (hrc == FY_AGAIN) {
				hrc = fy_cgi_response_parse(&r, ev.data, ev.len,
							    &hused);
				if (hrc == FY_ERROR) {
					fprintf(
					    stderr, "header: %s\n",
					    fy_cgi_response_strerror(r.error));
					exit(1);
				}
			}
			if (hrc == FY_DONE)
				append(&body, ev.data + hused, ev.len - hused);
		}
	}
	if (hrc != FY_DONE) {
		fprintf(stderr, "END_REQUEST before the header block ended\n");
		exit(1);
	}
	printf("=== response %d\n", index);
	printf("status %d", r.status);
	if (r.reason)
		printf(" %.*s", (int)r.reason_len, r.reason);
	printf("\n");
	for (size_t i = 0; i < r.n_headers; i++)
		printf("header %.*s: %.*s\n", (int)r.headers[i].name_len,
		       r.headers[i].name, (int)r.headers[i].value_len,
		       r.headers[i].value);
	for (size_t i = 0; i < err.len; i++)
		if (err.p[i] == '\n')
			err.p[i] = ' ';
	printf("stderr %zu %.*s\n", err.len, (int)err.len, err.p ? err.p : "");
	printf("end %u %u spans %zu\n", ev.app_status, ev.protocol_status,
	       spans);
	printf("body %zu\n", body.len);
	fwrite(body.p ? body.p : "", 1, body.len, stdout);
	printf("\n");
	free(body.p);
	free(err.p);
}

int main(int argc, char **argv)
{
	struct sockaddr_un sun = {.sun_family = AF_UNIX};
	size_t body_len, extras, extra_len;
	int fd, requests;

	if (argc != 8) {
		fprintf(stderr,
			"usage: %s SOCKET SCRIPT_FILENAME QUERY "
			"BODY_LEN EXTRAS EXTRA_LEN REQUESTS\n",
			argv[0]);
		return 2;
	}
	body_len = strtoul(argv[4], NULL, 10);
	extras = strtoul(argv[5], NULL, 10);
	extra_len = strtoul(argv[6], NULL, 10);
	requests = atoi(argv[7]);
	if (strlen(argv[1]) >= sizeof(sun.sun_path))
		die("socket path too long");
	strcpy(sun.sun_path, argv[1]);
	fd = socket(AF_UNIX, SOCK_STREAM, 0);
	if (fd < 0 || connect(fd, (struct sockaddr *)&sun, sizeof(sun)) != 0)
		die("connect");
	for (int i = 0; i < requests; i++) {
		send_request(fd, argv[2], argv[3], body_len, extras, extra_len,
			     i + 1 < requests);
		read_response(fd, i);
	}
	close(fd);
	return 0;
}
