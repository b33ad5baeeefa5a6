/*
 * fcgi_fault.c - a FastCGI backend that misbehaves on request, for the
 * black-box tests of foyer's FastCGI client (test_fastcgi_faults.py).
 *
 *   fcgi_fault SOCKET [THREADS]
 *
 * Listens on the unix socket SOCKET (replacing a stale file), accepts with
 * libfcgi in THREADS threads (default 8) and answers each request as the
 * "mode" parameter of its query string says. libfcgi reads the request
 * (BEGIN_REQUEST, PARAMS, STDIN to its end) and writes the well-formed
 * answers; what libfcgi cannot get wrong on purpose (split records, a wrong
 * request id, garbage, a close at a chosen point) is written raw on the
 * request's socket with the record layout of <fastcgi.h>.
 *
 * Modes (?mode=NAME&to=VALUE&ms=N):
 *   echo        200, the request as the backend saw it, one "key=value" a line
 *   split       a whole response written one byte per write(2)
 *   stderr      STDERR records interleaved with the STDOUT ones
 *   bighdr      a 70 KB header block
 *   close       close before sending anything
 *   truncate    headers and part of the body, then close (no END_REQUEST)
 *   stall       say nothing for ms milliseconds (default 3000), then close
 *   garbage     bytes that are no FastCGI records
 *   wrongid     a STDOUT record for request id 2
 *   endonly     END_REQUEST with no STDOUT before it
 *   location    "Location: TO" with no Status (plus a body to throw away);
 *               with status=NNN, "Status: NNN" as well
 *   loop        "Location: /loop.php?mode=loop", forever
 *   xsendfile   "X-Sendfile: TO" with Content-Type, Content-Disposition,
 *               Cache-Control, a wrong Content-Length and a body
 *   xaccel      the same with "X-Accel-Redirect: TO"
 *
 * Stop it with SIGKILL: libfcgi installs its own SIGTERM handling.
 */
#include <errno.h>
#include <fastcgi.h>
#include <fcgiapp.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#define MAX_THREADS 64

static int listen_fd;
static pthread_mutex_t accept_lock = PTHREAD_MUTEX_INITIALIZER;

static void sleep_ms(long ms)
{
	struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
	while (nanosleep(&ts, &ts) != 0 && errno == EINTR)
		;
}

static int hexval(int c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

/* The percent-decoded value of key in a query string, into out; "" when
 * absent. */
static void query_get(const char *q, const char *key, char *out, size_t cap)
{
	size_t kl = strlen(key);
	out[0] = '\0';
	if (q == NULL)
		return;
	for (const char *p = q; p != NULL && *p != '\0';) {
		const char *amp = strchr(p, '&');
		if (strncmp(p, key, kl) == 0 && p[kl] == '=') {
			const char *v = p + kl + 1;
			const char *end = amp != NULL ? amp : v + strlen(v);
			size_t o = 0;
			while (v < end && o + 1 < cap) {
				int hi, lo;
				if (*v == '%' && end - v >= 3 &&
				    (hi = hexval(v[1])) >= 0 &&
				    (lo = hexval(v[2])) >= 0) {
					out[o++] = (char)(hi << 4 | lo);
					v += 3;
				} else {
					out[o++] = *v++;
				}
			}
			out[o] = '\0';
			return;
		}
		p = amp != NULL ? amp + 1 : NULL;
	}
}

/* Appends one record (content padded to a multiple of 8) to buf. */
static size_t put_record(unsigned char *buf, int type, int id,
			 const void *data, size_t len)
{
	FCGI_Header h;
	size_t pad = (8 - len % 8) % 8;
	h.version = FCGI_VERSION_1;
	h.type = (unsigned char)type;
	h.requestIdB1 = (unsigned char)(id >> 8);
	h.requestIdB0 = (unsigned char)id;
	h.contentLengthB1 = (unsigned char)(len >> 8);
	h.contentLengthB0 = (unsigned char)len;
	h.paddingLength = (unsigned char)pad;
	h.reserved = 0;
	memcpy(buf, &h, sizeof(h));
	if (len > 0)
		memcpy(buf + sizeof(h), data, len);
	memset(buf + sizeof(h) + len, 0, pad);
	return sizeof(h) + len + pad;
}

static size_t put_end(unsigned char *buf, int id)
{
	FCGI_EndRequestBody b;
	memset(&b, 0, sizeof(b));
	b.protocolStatus = FCGI_REQUEST_COMPLETE;
	return put_record(buf, FCGI_END_REQUEST, id, &b, sizeof(b));
}

static void write_all(int fd, const void *data, size_t len)
{
	const char *p = data;
	while (len > 0) {
		ssize_t n = write(fd, p, len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return; /* foyer went away: nothing more to do */
		p += n;
		len -= (size_t)n;
	}
}

/* Ends a request whose answer was written raw: libfcgi frees its streams
 * without flushing them (so it adds no record of its own) and forgets the
 * socket, which is closed here. */
static void raw_done(FCGX_Request *req)
{
	int fd = req->ipcFd;
	FCGX_Free(req, 0);
	req->ipcFd = -1;
	close(fd);
}

static void mode_raw(FCGX_Request *req, const char *mode, long ms)
{
	static const char head[] = "Status: 200 OK\r\n"
				   "Content-Type: text/plain\r\n"
				   "X-Split: yes\r\n\r\n";
	unsigned char buf[8192];
	size_t n = 0;
	int fd = req->ipcFd;

	if (strcmp(mode, "split") == 0) {
		char body[1024];
		size_t bl = 0;
		for (int i = 0; i < 20; i++)
			bl += (size_t)snprintf(body + bl, sizeof(body) - bl,
					       "split body line %d\n", i);
		n += put_record(buf + n, FCGI_STDOUT, 1, head, sizeof(head) - 1);
		n += put_record(buf + n, FCGI_STDERR, 1, "split-stderr", 12);
		n += put_record(buf + n, FCGI_STDOUT, 1, body, bl);
		n += put_record(buf + n, FCGI_STDOUT, 1, NULL, 0);
		n += put_end(buf + n, 1);
		/* One byte a write, with a pause so that foyer reads them
		 * apart: every header and every length is cut somewhere. */
		for (size_t i = 0; i < n; i++) {
			write_all(fd, buf + i, 1);
			sleep_ms(1);
		}
	} else if (strcmp(mode, "truncate") == 0) {
		static const char part[] = "Content-Type: text/plain\r\n\r\n"
					   "partial body\n";
		n += put_record(buf + n, FCGI_STDOUT, 1, part, sizeof(part) - 1);
		write_all(fd, buf, n);
		/* Let foyer send the head before it sees the close. */
		sleep_ms(200);
	} else if (strcmp(mode, "stall") == 0) {
		sleep_ms(ms > 0 ? ms : 3000);
	} else if (strcmp(mode, "garbage") == 0) {
		static const char junk[] = "HTTP/1.1 200 OK\r\n"
					   "Content-Type: text/plain\r\n\r\n"
					   "this is no FastCGI\n";
		write_all(fd, junk, sizeof(junk) - 1);
	} else if (strcmp(mode, "wrongid") == 0) {
		n += put_record(buf + n, FCGI_STDOUT, 2, head, sizeof(head) - 1);
		n += put_end(buf + n, 2);
		write_all(fd, buf, n);
	} else if (strcmp(mode, "endonly") == 0) {
		n += put_end(buf + n, 1);
		write_all(fd, buf, n);
	}
	/* "close": nothing at all. */
	raw_done(req);
}

static void handle(FCGX_Request *req)
{
	const char *query = FCGX_GetParam("QUERY_STRING", req->envp);
	char mode[64], to[4096], status[16], ms[16];
	query_get(query, "mode", mode, sizeof(mode));
	query_get(query, "to", to, sizeof(to));
	query_get(query, "status", status, sizeof(status));
	query_get(query, "ms", ms, sizeof(ms));

	/* The whole body first: foyer sends it before it reads. */
	char in[16384];
	long in_len = 0;
	int got;
	while ((got = FCGX_GetStr(in, sizeof(in), req->in)) > 0)
		in_len += got;

	static const char *const raw_modes[] = {
	    "split", "close", "truncate", "stall", "garbage", "wrongid",
	    "endonly",
	};
	for (size_t i = 0; i < sizeof(raw_modes) / sizeof(raw_modes[0]); i++)
		if (strcmp(mode, raw_modes[i]) == 0) {
			mode_raw(req, mode, atol(ms));
			return;
		}

	FCGX_Stream *out = req->out;
	if (strcmp(mode, "stderr") == 0) {
		/* Each flush makes a record, so the two streams alternate on
		 * the wire, before, inside and after the header block. */
		FCGX_PutS("interleaved-stderr 0\n", req->err);
		FCGX_FFlush(req->err);
		FCGX_PutS("Content-Type: text/plain\r\n", out);
		FCGX_FFlush(out);
		FCGX_PutS("interleaved-stderr 1\n", req->err);
		FCGX_FFlush(req->err);
		FCGX_PutS("X-Interleaved: yes\r\n\r\n", out);
		FCGX_FFlush(out);
		for (int i = 0; i < 3; i++) {
			FCGX_FPrintF(out, "body %d\n", i);
			FCGX_FFlush(out);
			FCGX_FPrintF(req->err, "interleaved-stderr %d\n", i + 2);
			FCGX_FFlush(req->err);
		}
	} else if (strcmp(mode, "bighdr") == 0) {
		FCGX_PutS("Content-Type: text/plain\r\n", out);
		char line[1024];
		memset(line, 'h', sizeof(line));
		for (int i = 0; i < 70; i++) {
			FCGX_FPrintF(out, "X-Big-%d: ", i);
			FCGX_PutStr(line, sizeof(line), out);
			FCGX_PutS("\r\n", out);
		}
		FCGX_PutS("\r\nbig header body\n", out);
	} else if (strcmp(mode, "location") == 0 || strcmp(mode, "loop") == 0) {
		if (status[0] != '\0')
			FCGX_FPrintF(out, "Status: %s\r\n", status);
		FCGX_FPrintF(out, "Location: %s\r\n\r\n",
			     strcmp(mode, "loop") == 0 ? "/loop.php?mode=loop"
						       : to);
		FCGX_PutS("backend body to throw away\n", out);
	} else if (strcmp(mode, "xsendfile") == 0 ||
		   strcmp(mode, "xaccel") == 0) {
		FCGX_FPrintF(out, "%s: %s\r\n",
			     mode[1] == 's' ? "X-Sendfile" : "X-Accel-Redirect",
			     to);
		FCGX_PutS("Content-Type: application/x-fault-test\r\n"
			  "Content-Disposition: attachment; filename=\"r.bin\"\r\n"
			  "Cache-Control: private, max-age=60\r\n"
			  "Content-Length: 3\r\n\r\n"
			  "backend body, not the file\n",
			  out);
	} else {
		/* echo, and any unknown mode */
		const char *keys[] = {"REQUEST_METHOD", "REQUEST_URI",
				      "QUERY_STRING", "SCRIPT_NAME",
				      "CONTENT_LENGTH", "REDIRECT_STATUS"};
		FCGX_PutS("Content-Type: text/plain\r\n\r\n", out);
		for (size_t i = 0; i < sizeof(keys) / sizeof(keys[0]); i++) {
			const char *v = FCGX_GetParam(keys[i], req->envp);
			FCGX_FPrintF(out, "%s=%s\n", keys[i], v != NULL ? v : "-");
		}
		FCGX_FPrintF(out, "stdin=%ld\n", in_len);
	}
	FCGX_Finish_r(req);
}

static void *serve(void *arg)
{
	(void)arg;
	FCGX_Request req;
	if (FCGX_InitRequest(&req, listen_fd, 0) != 0)
		return NULL;
	for (;;) {
		pthread_mutex_lock(&accept_lock);
		int rc = FCGX_Accept_r(&req);
		pthread_mutex_unlock(&accept_lock);
		if (rc < 0)
			continue; /* a failed accept: wait for the next one */
		handle(&req);
	}
	return NULL;
}

int main(int argc, char **argv)
{
	if (argc < 2 || argc > 3) {
		fprintf(stderr, "usage: %s SOCKET [THREADS]\n", argv[0]);
		return 2;
	}
	int threads = argc == 3 ? atoi(argv[2]) : 8;
	if (threads < 1 || threads > MAX_THREADS)
		threads = 8;
	if (FCGX_Init() != 0) {
		fprintf(stderr, "fcgi_fault: FCGX_Init failed\n");
		return 1;
	}
	unlink(argv[1]);
	listen_fd = FCGX_OpenSocket(argv[1], 64);
	if (listen_fd < 0) {
		fprintf(stderr, "fcgi_fault: cannot listen on %s\n", argv[1]);
		return 1;
	}
	/* foyer's children may run as another user (nobody). */
	chmod(argv[1], 0666);
	pthread_t tid[MAX_THREADS];
	for (int i = 0; i < threads; i++)
		if (pthread_create(&tid[i], NULL, serve, NULL) != 0) {
			fprintf(stderr, "fcgi_fault: pthread_create failed\n");
			return 1;
		}
	for (int i = 0; i < threads; i++)
		pthread_join(tid[i], NULL);
	return 0;
}
