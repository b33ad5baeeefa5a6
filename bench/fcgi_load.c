/*
 * fcgi_load - a FastCGI load client: the no-proxy limit for PHP.
 *
 * Opens C connections to a FastCGI responder (php-fpm) and, on each, sends
 * BEGIN_REQUEST, PARAMS and an empty STDIN for one script, reads STDOUT until
 * END_REQUEST, and starts again, for D seconds. With -k the requests carry
 * FCGI_KEEP_CONN and reuse the connection (what a proxy with backend
 * keep-alive does); without it every request gets a new connection (what
 * nginx and Apache do by default). With -p N as well, N requests are in
 * flight on each connection: the next ones are written before the answer
 * to the first has come back (pipelining, which php-fpm allows since it
 * reads one record after another), so a php-fpm child finds its next
 * request waiting instead of sleeping in read(2) until it comes.
 *
 * It prints one line of key=value pairs that bench/run parses:
 *   requests=N errors=N non200=N stalled=N duration=S rps=R p50_ms=X p99_ms=X max_ms=X
 * A request counts when END_REQUEST arrives with FCGI_REQUEST_COMPLETE;
 * "non200" counts responses whose CGI "Status:" header is not 200 (php-fpm
 * answers 404 "File not found." when the script is missing). Requests still
 * in flight when the time is up are not counted, but those that have waited
 * longer than a second by then are reported as "stalled": with -k, php-fpm
 * serves a connection until it is closed, so connections beyond its children
 * wait in its backlog and never get an answer.
 *
 * Build: cc -O2 -Wall -o fcgi_load bench/fcgi_load.c   (fastcgi.h: libfcgi-dev)
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fastcgi.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#define REQUEST_ID 1
#define MAX_DEPTH 16
#define RBUF_SIZE (FCGI_HEADER_LEN + FCGI_MAX_LENGTH + 255 + 4096)

/*
 * Latencies go into a histogram rather than a list, so a long run at high
 * rate needs no growing memory: 1 µs buckets up to FINE_US, then 1 ms
 * buckets up to COARSE_MS; anything slower lands in the last bucket.
 */
#define FINE_US 100000
#define COARSE_MS 60000

enum conn_state { ST_CONNECTING, ST_WRITING, ST_READING };

struct conn {
	int fd;
	enum conn_state state;
	size_t woff;
	size_t rlen;
	uint64_t start_ns; /* when the oldest request in flight was sent */
	uint64_t sent_ns[MAX_DEPTH]; /* -p: each request in flight, oldest first */
	int oldest, inflight;
	int seen_stdout; /* the first STDOUT bytes hold the CGI headers */
	int status;	 /* CGI status of the current response */
	unsigned char rbuf[RBUF_SIZE];
};

struct target {
	int family;
	struct sockaddr_storage addr;
	socklen_t addrlen;
};

static struct target target;
static unsigned char *request;
static size_t request_len;
static unsigned char *burst; /* -p: depth requests, sent at once on a new connection */
static size_t burst_len;
static int keep_conn;
static int depth = 1;
static uint64_t timeout_ns = 10ull * 1000000000ull;
static int epfd;

static uint64_t n_ok, n_err, n_non200;
static uint32_t hist_fine[FINE_US];
static uint32_t hist_coarse[COARSE_MS + 1];

static uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

static void record_latency(uint64_t ns)
{
	uint64_t us = ns / 1000;

	if (us < FINE_US) {
		hist_fine[us]++;
		return;
	}
	uint64_t ms = us / 1000;
	hist_coarse[ms > COARSE_MS ? COARSE_MS : ms]++;
}

/* The latency (ms) below which a fraction q of the recorded requests fall. */
static double percentile_ms(double q)
{
	uint64_t total = n_ok + n_non200;
	uint64_t rank, seen = 0;

	if (total == 0)
		return 0.0;
	rank = (uint64_t)(q * (double)total);
	if (rank >= total)
		rank = total - 1;
	for (size_t i = 0; i < FINE_US; i++) {
		seen += hist_fine[i];
		if (seen > rank)
			return (double)i / 1000.0;
	}
	for (size_t i = 0; i <= COARSE_MS; i++) {
		seen += hist_coarse[i];
		if (seen > rank)
			return (double)i;
	}
	return (double)COARSE_MS;
}

static double max_ms(void)
{
	for (size_t i = COARSE_MS + 1; i-- > 0;)
		if (hist_coarse[i])
			return (double)i;
	for (size_t i = FINE_US; i-- > 0;)
		if (hist_fine[i])
			return (double)i / 1000.0;
	return 0.0;
}

static void put_header(unsigned char *p, int type, size_t len)
{
	FCGI_Header *h = (FCGI_Header *)p;

	h->version = FCGI_VERSION_1;
	h->type = (unsigned char)type;
	h->requestIdB1 = (REQUEST_ID >> 8) & 0xff;
	h->requestIdB0 = REQUEST_ID & 0xff;
	h->contentLengthB1 = (unsigned char)((len >> 8) & 0xff);
	h->contentLengthB0 = (unsigned char)(len & 0xff);
	h->paddingLength = 0;
	h->reserved = 0;
}

/* FastCGI name-value pair lengths: one byte below 128, else four bytes. */
static size_t put_length(unsigned char *p, size_t len)
{
	if (len < 128) {
		p[0] = (unsigned char)len;
		return 1;
	}
	p[0] = (unsigned char)(((len >> 24) & 0x7f) | 0x80);
	p[1] = (unsigned char)((len >> 16) & 0xff);
	p[2] = (unsigned char)((len >> 8) & 0xff);
	p[3] = (unsigned char)(len & 0xff);
	return 4;
}

static size_t put_param(unsigned char *p, const char *name, const char *value)
{
	size_t nl = strlen(name), vl = strlen(value), n = 0;

	n += put_length(p + n, nl);
	n += put_length(p + n, vl);
	memcpy(p + n, name, nl);
	n += nl;
	memcpy(p + n, value, vl);
	return n + vl;
}

/*
 * The request is the same for every connection and every repetition, so it
 * is encoded once: BEGIN_REQUEST, one PARAMS record, the empty PARAMS that
 * ends them, and the empty STDIN of a GET.
 */
static void build_request(const char *script, const char *uri, const char *docroot)
{
	unsigned char params[8192];
	size_t pl = 0;
	char script_name[1024];
	const char *slash = strrchr(script, '/');

	snprintf(script_name, sizeof(script_name), "%s", uri);
	char *q = strchr(script_name, '?');
	if (q)
		*q = '\0';

	pl += put_param(params + pl, "SCRIPT_FILENAME", script);
	pl += put_param(params + pl, "SCRIPT_NAME", script_name);
	pl += put_param(params + pl, "DOCUMENT_ROOT",
			docroot ? docroot : (slash ? "" : "."));
	pl += put_param(params + pl, "REQUEST_METHOD", "GET");
	pl += put_param(params + pl, "REQUEST_URI", uri);
	pl += put_param(params + pl, "QUERY_STRING", q ? q + 1 : "");
	pl += put_param(params + pl, "SERVER_PROTOCOL", "HTTP/1.1");
	pl += put_param(params + pl, "GATEWAY_INTERFACE", "CGI/1.1");
	pl += put_param(params + pl, "SERVER_SOFTWARE", "fcgi_load");
	pl += put_param(params + pl, "SERVER_NAME", "localhost");
	pl += put_param(params + pl, "SERVER_ADDR", "127.0.0.1");
	pl += put_param(params + pl, "SERVER_PORT", "80");
	pl += put_param(params + pl, "REMOTE_ADDR", "127.0.0.1");
	pl += put_param(params + pl, "REMOTE_PORT", "40000");
	pl += put_param(params + pl, "HTTP_HOST", "localhost");
	pl += put_param(params + pl, "CONTENT_LENGTH", "");
	pl += put_param(params + pl, "CONTENT_TYPE", "");

	request_len = FCGI_HEADER_LEN + sizeof(FCGI_BeginRequestBody) +
		      FCGI_HEADER_LEN + pl + FCGI_HEADER_LEN + FCGI_HEADER_LEN;
	request = calloc(1, request_len);
	if (!request) {
		perror("calloc");
		exit(2);
	}

	unsigned char *p = request;
	put_header(p, FCGI_BEGIN_REQUEST, sizeof(FCGI_BeginRequestBody));
	p += FCGI_HEADER_LEN;
	FCGI_BeginRequestBody *b = (FCGI_BeginRequestBody *)p;
	b->roleB1 = 0;
	b->roleB0 = FCGI_RESPONDER;
	b->flags = keep_conn ? FCGI_KEEP_CONN : 0;
	p += sizeof(*b);
	put_header(p, FCGI_PARAMS, pl);
	p += FCGI_HEADER_LEN;
	memcpy(p, params, pl);
	p += pl;
	put_header(p, FCGI_PARAMS, 0);
	p += FCGI_HEADER_LEN;
	put_header(p, FCGI_STDIN, 0);
}

/* "unix:/path", "/path" or "host:port". */
static int parse_target(const char *spec)
{
	memset(&target, 0, sizeof(target));
	if (strncmp(spec, "unix:", 5) == 0 || spec[0] == '/') {
		struct sockaddr_un *un = (struct sockaddr_un *)&target.addr;
		const char *path = spec[0] == '/' ? spec : spec + 5;

		if (strlen(path) >= sizeof(un->sun_path)) {
			fprintf(stderr, "fcgi_load: socket path too long: %s\n", path);
			return -1;
		}
		un->sun_family = AF_UNIX;
		strcpy(un->sun_path, path);
		target.family = AF_UNIX;
		target.addrlen = sizeof(*un);
		return 0;
	}

	char host[256];
	const char *colon = strrchr(spec, ':');
	if (!colon || (size_t)(colon - spec) >= sizeof(host)) {
		fprintf(stderr, "fcgi_load: bad target %s\n", spec);
		return -1;
	}
	memcpy(host, spec, (size_t)(colon - spec));
	host[colon - spec] = '\0';

	struct addrinfo hints = {.ai_socktype = SOCK_STREAM}, *res;
	int rc = getaddrinfo(host, colon + 1, &hints, &res);
	if (rc != 0) {
		fprintf(stderr, "fcgi_load: %s: %s\n", spec, gai_strerror(rc));
		return -1;
	}
	memcpy(&target.addr, res->ai_addr, res->ai_addrlen);
	target.addrlen = res->ai_addrlen;
	target.family = res->ai_family;
	freeaddrinfo(res);
	return 0;
}

static void set_events(struct conn *c, uint32_t events, int op)
{
	struct epoll_event ev = {.events = events, .data.ptr = c};

	if (epoll_ctl(epfd, op, c->fd, &ev) == -1) {
		perror("epoll_ctl");
		exit(2);
	}
}

static void conn_close(struct conn *c)
{
	if (c->fd >= 0)
		close(c->fd); /* also removes it from the epoll set */
	c->fd = -1;
}

static void conn_fail(struct conn *c);

/* Starts a request on c, opening a connection first if it has none. */
static void conn_start(struct conn *c)
{
	c->woff = 0;
	c->rlen = 0;
	c->seen_stdout = 0;
	c->status = 200;
	c->start_ns = now_ns();
	c->oldest = 0;
	c->inflight = depth;
	for (int i = 0; i < depth; i++)
		c->sent_ns[i] = c->start_ns;

	if (c->fd >= 0) {
		c->state = ST_WRITING;
		set_events(c, EPOLLOUT, EPOLL_CTL_MOD);
		return;
	}

	c->fd = socket(target.family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (c->fd == -1) {
		perror("socket");
		exit(2);
	}
	if (target.family != AF_UNIX) {
		int one = 1;
		setsockopt(c->fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	}
	if (connect(c->fd, (struct sockaddr *)&target.addr, target.addrlen) == 0) {
		c->state = ST_WRITING;
	} else if (errno == EINPROGRESS) {
		c->state = ST_CONNECTING;
	} else {
		/*
		 * Refused, or EAGAIN from a unix socket whose backlog is
		 * full: an error, and the sweep in main() tries again.
		 */
		conn_fail(c);
		return;
	}
	set_events(c, EPOLLOUT, EPOLL_CTL_ADD);
}

static void conn_fail(struct conn *c)
{
	n_err++;
	conn_close(c);
}

/* One response is complete: count it, and drop the connection unless -k. */
static void conn_done(struct conn *c)
{
	uint64_t lat = now_ns() - c->start_ns;

	record_latency(lat);
	if (c->status == 200)
		n_ok++;
	else
		n_non200++;
	if (!keep_conn)
		conn_close(c);
}

/*
 * -p: the oldest request in flight is answered. It is counted, and another
 * one goes out behind those still in flight. Returns -1 if it could not.
 */
static int pipelined_done(struct conn *c, int running)
{
	uint64_t now = now_ns();

	record_latency(now - c->sent_ns[c->oldest]);
	if (c->status == 200)
		n_ok++;
	else
		n_non200++;
	c->seen_stdout = 0;
	c->status = 200;
	c->oldest = (c->oldest + 1) % MAX_DEPTH;
	c->inflight--;
	if (running) {
		/* A few hundred bytes into an empty socket buffer: php-fpm
		 * has just read the requests before this one. */
		if (write(c->fd, request, request_len) != (ssize_t)request_len)
			return -1;
		c->sent_ns[(c->oldest + c->inflight) % MAX_DEPTH] = now;
		c->inflight++;
	}
	c->start_ns = c->inflight ? c->sent_ns[c->oldest] : now;
	return 0;
}

/* Reads the CGI status from the first STDOUT bytes: "Status: 404 ...". */
static void parse_status(struct conn *c, const unsigned char *p, size_t len)
{
	static const char key[] = "status:";
	size_t i = 0;

	while (i < len) {
		size_t eol = i;
		while (eol < len && p[eol] != '\n')
			eol++;
		size_t ll = eol - i;
		if (ll == 0 || (ll == 1 && p[i] == '\r'))
			return; /* end of the headers */
		if (ll > sizeof(key) - 1 && strncasecmp((const char *)p + i, key, sizeof(key) - 1) == 0) {
			c->status = atoi((const char *)p + i + sizeof(key) - 1);
			return;
		}
		i = eol + 1;
	}
}

/*
 * Consumes whole records from the read buffer. Returns 1 when END_REQUEST
 * has arrived, 0 when more input is needed, -1 on a protocol error.
 */
static int parse_records(struct conn *c, int running)
{
	size_t off = 0;
	int done = 0;

	while (c->rlen - off >= FCGI_HEADER_LEN) {
		FCGI_Header *h = (FCGI_Header *)(c->rbuf + off);
		size_t clen = ((size_t)h->contentLengthB1 << 8) | h->contentLengthB0;
		size_t total = FCGI_HEADER_LEN + clen + h->paddingLength;

		if (h->version != FCGI_VERSION_1)
			return -1;
		if (c->rlen - off < total)
			break;
		const unsigned char *body = c->rbuf + off + FCGI_HEADER_LEN;
		switch (h->type) {
		case FCGI_STDOUT:
			if (!c->seen_stdout && clen > 0) {
				parse_status(c, body, clen);
				c->seen_stdout = 1;
			}
			break;
		case FCGI_STDERR:
			break;
		case FCGI_END_REQUEST:
			if (clen < sizeof(FCGI_EndRequestBody))
				return -1;
			if (((const FCGI_EndRequestBody *)body)->protocolStatus != FCGI_REQUEST_COMPLETE)
				return -1;
			if (depth > 1) {
				if (c->inflight == 0 || pipelined_done(c, running) != 0)
					return -1;
				break;
			}
			done = 1;
			break;
		default:
			return -1;
		}
		off += total;
		if (done)
			break;
	}
	memmove(c->rbuf, c->rbuf + off, c->rlen - off);
	c->rlen -= off;
	if (done && c->rlen != 0)
		return -1; /* nothing may follow END_REQUEST of our only request */
	return done;
}

static void on_event(struct conn *c, uint32_t events, int running)
{
	if (c->state == ST_CONNECTING) {
		int err = 0;
		socklen_t len = sizeof(err);

		getsockopt(c->fd, SOL_SOCKET, SO_ERROR, &err, &len);
		if (err != 0) {
			conn_fail(c);
			return;
		}
		c->state = ST_WRITING;
	}

	if (c->state == ST_WRITING) {
		while (c->woff < burst_len) {
			ssize_t n = write(c->fd, burst + c->woff, burst_len - c->woff);
			if (n > 0) {
				c->woff += (size_t)n;
				continue;
			}
			if (n == -1 && errno == EAGAIN)
				return;
			conn_fail(c);
			return;
		}
		c->state = ST_READING;
		set_events(c, EPOLLIN, EPOLL_CTL_MOD);
		return;
	}

	if (!(events & (EPOLLIN | EPOLLHUP | EPOLLERR)))
		return;
	for (;;) {
		ssize_t n = read(c->fd, c->rbuf + c->rlen, sizeof(c->rbuf) - c->rlen);
		if (n > 0) {
			c->rlen += (size_t)n;
			int r = parse_records(c, running);
			if (r < 0) {
				conn_fail(c);
				return;
			}
			if (r == 1) {
				conn_done(c);
				if (running)
					conn_start(c);
				else
					conn_close(c);
				return;
			}
			continue;
		}
		if (n == -1 && errno == EAGAIN)
			return;
		conn_fail(c); /* EOF or error before END_REQUEST */
		return;
	}
}

static void usage(void)
{
	fprintf(stderr,
		"usage: fcgi_load -s SOCKET -f SCRIPT_FILENAME [-u URI] [-r DOCUMENT_ROOT]\n"
		"                 [-c CONNECTIONS] [-d SECONDS] [-k [-p DEPTH]] [-t TIMEOUT]\n"
		"  SOCKET  unix:/path/to.sock, /path/to.sock or host:port\n"
		"  -k      FCGI_KEEP_CONN: reuse each connection (default: one per request)\n"
		"  -p      with -k, requests in flight per connection, 1 to 16 (default 1)\n");
	exit(2);
}

int main(int argc, char **argv)
{
	const char *spec = NULL, *script = NULL, *uri = NULL, *docroot = NULL;
	int nconn = 100;
	double duration = 10.0;
	int opt;

	while ((opt = getopt(argc, argv, "s:f:u:r:c:d:kp:t:h")) != -1) {
		switch (opt) {
		case 's': spec = optarg; break;
		case 'f': script = optarg; break;
		case 'u': uri = optarg; break;
		case 'r': docroot = optarg; break;
		case 'c': nconn = atoi(optarg); break;
		case 'd': duration = atof(optarg); break;
		case 'k': keep_conn = 1; break;
		case 'p': depth = atoi(optarg); break;
		case 't': timeout_ns = (uint64_t)(atof(optarg) * 1e9); break;
		default: usage();
		}
	}
	if (!spec || !script || nconn < 1 || duration <= 0 || depth < 1 ||
	    depth > MAX_DEPTH || (depth > 1 && !keep_conn))
		usage();
	if (!uri) {
		const char *slash = strrchr(script, '/');
		uri = slash ? slash : script;
	}
	if (parse_target(spec) != 0)
		return 2;
	build_request(script, uri, docroot);
	burst_len = (size_t)depth * request_len;
	burst = malloc(burst_len);
	if (!burst) {
		perror("malloc");
		return 2;
	}
	for (int i = 0; i < depth; i++)
		memcpy(burst + (size_t)i * request_len, request, request_len);
	signal(SIGPIPE, SIG_IGN);

	struct rlimit rl;
	if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < (rlim_t)nconn + 64) {
		rl.rlim_cur = rl.rlim_max;
		setrlimit(RLIMIT_NOFILE, &rl);
	}

	epfd = epoll_create1(EPOLL_CLOEXEC);
	if (epfd == -1) {
		perror("epoll_create1");
		return 2;
	}
	struct conn *conns = calloc((size_t)nconn, sizeof(*conns));
	if (!conns) {
		perror("calloc");
		return 2;
	}

	uint64_t t0 = now_ns();
	uint64_t end = t0 + (uint64_t)(duration * 1e9);
	for (int i = 0; i < nconn; i++) {
		conns[i].fd = -1;
		conn_start(&conns[i]);
	}

	struct epoll_event evs[256];
	uint64_t last_sweep = t0;
	for (;;) {
		uint64_t now = now_ns();
		if (now >= end)
			break;
		int n = epoll_wait(epfd, evs, 256, 50);
		if (n == -1 && errno != EINTR) {
			perror("epoll_wait");
			return 2;
		}
		for (int i = 0; i < n; i++)
			on_event(evs[i].data.ptr, evs[i].events, 1);

		/*
		 * Connections left without a socket (a refused or failed
		 * attempt) and requests past the timeout are restarted here,
		 * at most every 10 ms, so a dead backend does not spin.
		 */
		now = now_ns();
		if (now - last_sweep >= 10000000ull) {
			last_sweep = now;
			for (int i = 0; i < nconn; i++) {
				struct conn *c = &conns[i];
				if (c->fd >= 0 && now - c->start_ns > timeout_ns)
					conn_fail(c);
				if (c->fd < 0)
					conn_start(c);
			}
		}
	}
	uint64_t t_end = now_ns();
	double elapsed = (double)(t_end - t0) / 1e9;
	unsigned stalled = 0;
	for (int i = 0; i < nconn; i++)
		if (conns[i].fd >= 0 && t_end - conns[i].start_ns > 1000000000ull)
			stalled++;

	uint64_t done = n_ok + n_non200;
	printf("requests=%llu errors=%llu non200=%llu stalled=%u duration=%.3f rps=%.2f "
	       "p50_ms=%.3f p99_ms=%.3f max_ms=%.3f\n",
	       (unsigned long long)done, (unsigned long long)n_err,
	       (unsigned long long)n_non200, stalled, elapsed, (double)done / elapsed,
	       percentile_ms(0.50), percentile_ms(0.99), max_ms());
	return 0;
}
