/*
 * access_log.c - Apache LogFormat compiler, line renderer and the shared
 * access log files.
 */
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "foyer/core.h"
#include "foyer/log.h"

enum access_op_kind {
	OP_LITERAL,
	OP_CLIENT_IP,
	OP_LOCAL_IP,
	OP_BYTES_CLF,
	OP_BYTES,
	OP_DURATION_USEC,
	OP_FILENAME,
	OP_PROTOCOL,
	OP_IDENT,
	OP_METHOD,
	OP_LOCAL_PORT,
	OP_CLIENT_PORT,
	OP_QUERY,
	OP_REQUEST_LINE,
	OP_STATUS,
	OP_TIME_CLF,
	OP_TIME_STRFTIME,
	OP_TIME_SEC,
	OP_TIME_MSEC,
	OP_TIME_USEC,
	OP_TIME_MSEC_FRAC,
	OP_TIME_USEC_FRAC,
	OP_DURATION_SEC,
	OP_DURATION_MSEC,
	OP_USER,
	OP_PATH,
	OP_SITE,
	OP_HOST,
	OP_BYTES_SENT,
	OP_BYTES_RECEIVED,
	OP_REQUEST_HEADER,
	OP_CONTENT_TYPE,
	OP_LOCATION,
	OP_UNKNOWN_RESPONSE_HEADER,
};

struct access_op {
	unsigned char kind;
	unsigned char at_end; /* %{end:...}t: the time the request finished */
	unsigned int off;     /* literal text or argument, in the pool */
	unsigned int len;
};

struct fy_access_format {
	size_t nops;
	char *pool;
	struct access_op ops[];
};

static const struct {
	const char *name;
	const char *format;
} named_formats[] = {
    {"combined",
     "%h %l %u %t \"%r\" %>s %O \"%{Referer}i\" \"%{User-Agent}i\""},
    {"common", "%h %l %u %t \"%r\" %>s %O"},
    {"vhost_combined", "%v:%p %h %l %u %t \"%r\" %>s %O \"%{Referer}i\" "
		       "\"%{User-Agent}i\""},
    {"referer", "%{Referer}i -> %U"},
    {"agent", "%{User-agent}i"},
};

static void set_err(char *err, size_t errlen, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void set_err(char *err, size_t errlen, const char *fmt, ...)
{
	va_list ap;

	if (!err || errlen == 0)
		return;
	va_start(ap, fmt);
	vsnprintf(err, errlen, fmt, ap);
	va_end(ap);
}

/*
 * Compilation. Every op consumes at least one byte of the format and never
 * stores more bytes than it consumed plus one, so the op array and the pool
 * are both bounded by the format's length.
 */
struct compiler {
	struct fy_access_format *f;
	size_t used; /* bytes of the pool in use */
	char *err;
	size_t errlen;
};

static void add_literal(struct compiler *c, char ch)
{
	struct fy_access_format *f = c->f;
	struct access_op *last = f->nops ? &f->ops[f->nops - 1] : NULL;

	if (!last || last->kind != OP_LITERAL ||
	    last->off + last->len != c->used) {
		last = &f->ops[f->nops++];
		last->kind = OP_LITERAL;
		last->at_end = 0;
		last->off = (unsigned int)c->used;
		last->len = 0;
	}
	f->pool[c->used++] = ch;
	last->len++;
}

static struct access_op *add_op(struct compiler *c, unsigned char kind,
				const char *arg, size_t arglen)
{
	struct access_op *op = &c->f->ops[c->f->nops++];

	op->kind = kind;
	op->at_end = 0;
	op->off = (unsigned int)c->used;
	op->len = (unsigned int)arglen;
	/* Arguments are kept NUL-terminated for strftime() and the header
	 * lookup callback. */
	if (arg)
		memcpy(c->f->pool + c->used, arg, arglen);
	c->f->pool[c->used + arglen] = '\0';
	c->used += arglen + 1;
	return op;
}

static int arg_is(const char *arg, size_t len, const char *word)
{
	return strlen(word) == len && strncasecmp(arg, word, len) == 0;
}

static int compile_time(struct compiler *c, const char *arg, size_t len)
{
	struct access_op *op;
	int at_end = 0;
	unsigned char kind = OP_TIME_STRFTIME;

	if (len >= 6 && strncmp(arg, "begin:", 6) == 0) {
		arg += 6;
		len -= 6;
	} else if (len >= 4 && strncmp(arg, "end:", 4) == 0) {
		arg += 4;
		len -= 4;
		at_end = 1;
	}
	if (len == 0)
		kind = OP_TIME_CLF;
	else if (arg_is(arg, len, "sec"))
		kind = OP_TIME_SEC;
	else if (arg_is(arg, len, "msec"))
		kind = OP_TIME_MSEC;
	else if (arg_is(arg, len, "usec"))
		kind = OP_TIME_USEC;
	else if (arg_is(arg, len, "msec_frac"))
		kind = OP_TIME_MSEC_FRAC;
	else if (arg_is(arg, len, "usec_frac"))
		kind = OP_TIME_USEC_FRAC;
	if (kind == OP_TIME_STRFTIME)
		op = add_op(c, kind, arg, len);
	else
		op = add_op(c, kind, NULL, 0);
	op->at_end = (unsigned char)at_end;
	return FY_OK;
}

static int compile_duration(struct compiler *c, const char *arg, size_t len)
{
	unsigned char kind;

	if (len == 0 || arg_is(arg, len, "s") || arg_is(arg, len, "sec"))
		kind = OP_DURATION_SEC;
	else if (arg_is(arg, len, "ms") || arg_is(arg, len, "msec"))
		kind = OP_DURATION_MSEC;
	else if (arg_is(arg, len, "us") || arg_is(arg, len, "usec"))
		kind = OP_DURATION_USEC;
	else {
		set_err(c->err, c->errlen,
			"unknown unit \"%.*s\" in %%{...}T (use s, ms or us)",
			(int)len, arg);
		return FY_ERROR;
	}
	add_op(c, kind, NULL, 0);
	return FY_OK;
}

static int compile_port(struct compiler *c, const char *arg, size_t len)
{
	if (len == 0 || arg_is(arg, len, "canonical") ||
	    arg_is(arg, len, "local"))
		add_op(c, OP_LOCAL_PORT, NULL, 0);
	else if (arg_is(arg, len, "remote"))
		add_op(c, OP_CLIENT_PORT, NULL, 0);
	else {
		set_err(
		    c->err, c->errlen,
		    "unknown port type \"%.*s\" in %%{...}p (use canonical, "
		    "local or remote)",
		    (int)len, arg);
		return FY_ERROR;
	}
	return FY_OK;
}

static int compile_code(struct compiler *c, char code, const char *arg,
			size_t arglen)
{
	static const struct {
		char code;
		unsigned char kind;
	} simple[] = {
	    {'a', OP_CLIENT_IP},      {'A', OP_LOCAL_IP},
	    {'b', OP_BYTES_CLF},      {'B', OP_BYTES},
	    {'D', OP_DURATION_USEC},  {'f', OP_FILENAME},
	    {'h', OP_CLIENT_IP},      {'H', OP_PROTOCOL},
	    {'l', OP_IDENT},	      {'m', OP_METHOD},
	    {'q', OP_QUERY},	      {'r', OP_REQUEST_LINE},
	    {'s', OP_STATUS},	      {'u', OP_USER},
	    {'U', OP_PATH},	      {'v', OP_SITE},
	    {'V', OP_HOST},	      {'O', OP_BYTES_SENT},
	    {'I', OP_BYTES_RECEIVED},
	};

	switch (code) {
	case '%':
		add_literal(c, '%');
		return FY_OK;
	case 't':
		return compile_time(c, arg, arglen);
	case 'T':
		return compile_duration(c, arg, arglen);
	case 'p':
		return compile_port(c, arg, arglen);
	case 'i':
		if (!arg || arglen == 0) {
			set_err(c->err, c->errlen,
				"%%i needs a header name: %%{NAME}i");
			return FY_ERROR;
		}
		add_op(c, OP_REQUEST_HEADER, arg, arglen);
		return FY_OK;
	case 'o':
		if (!arg || arglen == 0) {
			set_err(c->err, c->errlen,
				"%%o needs a header name: %%{NAME}o");
			return FY_ERROR;
		}
		if (arg_is(arg, arglen, "Content-Type"))
			add_op(c, OP_CONTENT_TYPE, NULL, 0);
		else if (arg_is(arg, arglen, "Location"))
			add_op(c, OP_LOCATION, NULL, 0);
		else
			add_op(c, OP_UNKNOWN_RESPONSE_HEADER, NULL, 0);
		return FY_OK;
	}
	for (size_t i = 0; i < FY_ARRAY_SIZE(simple); i++) {
		if (simple[i].code == code) {
			add_op(c, simple[i].kind, NULL, 0);
			return FY_OK;
		}
	}
	if (isprint((unsigned char)code))
		set_err(c->err, c->errlen, "unknown log format code %%%c",
			code);
	else
		set_err(c->err, c->errlen, "unknown log format code %%\\x%02x",
			(unsigned char)code);
	return FY_ERROR;
}

/* Parses the directive after a '%'; returns the position after it or NULL. */
static const char *compile_directive(struct compiler *c, const char *s)
{
	const char *arg = NULL;
	size_t arglen = 0;

	for (;;) {
		if (*s == '<' || *s == '>') {
			/* Original and final request are the same request
			 * here: no internal redirects. */
			s++;
		} else if (*s == '{') {
			const char *close = strchr(s + 1, '}');

			if (!close) {
				set_err(c->err, c->errlen,
					"unterminated %%{ in log format");
				return NULL;
			}
			arg = s + 1;
			arglen = (size_t)(close - arg);
			s = close + 1;
		} else if (isdigit((unsigned char)*s) || *s == '!' ||
			   *s == ',') {
			set_err(c->err, c->errlen,
				"status conditions in log format (%%%c...) are "
				"not supported",
				*s);
			return NULL;
		} else {
			break;
		}
	}
	if (*s == '\0') {
		set_err(c->err, c->errlen,
			"log format ends in the middle of a %% directive");
		return NULL;
	}
	if (compile_code(c, *s, arg, arglen) != FY_OK)
		return NULL;
	return s + 1;
}

struct fy_access_format *fy_access_format_compile(const char *fmt, char *err,
						  size_t errlen)
{
	struct compiler c = {.err = err, .errlen = errlen};
	size_t n;
	const char *s;

	if (!fmt) {
		set_err(err, errlen, "no log format");
		return NULL;
	}
	for (size_t i = 0; i < FY_ARRAY_SIZE(named_formats); i++) {
		if (strcmp(fmt, named_formats[i].name) == 0) {
			fmt = named_formats[i].format;
			break;
		}
	}
	n = strlen(fmt);
	if (n > 65536) {
		set_err(err, errlen, "log format too long");
		return NULL;
	}
	c.f = malloc(sizeof(*c.f) + n * sizeof(c.f->ops[0]) + n + 1);
	if (!c.f) {
		set_err(err, errlen, "out of memory");
		return NULL;
	}
	c.f->nops = 0;
	c.f->pool = (char *)&c.f->ops[n];

	s = fmt;
	while (*s) {
		if (*s == '%') {
			s = compile_directive(&c, s + 1);
			if (!s) {
				free(c.f);
				return NULL;
			}
			continue;
		}
		/* LogFormat strings come from a config file, where Apache
		 * unescapes these four; any other backslash is kept. */
		if (*s == '\\' && s[1] == 'n') {
			add_literal(&c, '\n');
			s += 2;
		} else if (*s == '\\' && s[1] == 't') {
			add_literal(&c, '\t');
			s += 2;
		} else if (*s == '\\' && (s[1] == '"' || s[1] == '\\')) {
			add_literal(&c, s[1]);
			s += 2;
		} else {
			add_literal(&c, *s++);
		}
	}
	return c.f;
}

void fy_access_format_free(struct fy_access_format *f)
{
	free(f);
}

/*
 * Rendering. The output stops for good at the first item that does not fit,
 * so a truncated line never has a hole in the middle nor half an escape.
 */
struct out {
	char *p;
	char *end; /* the '\n' goes here at the latest */
};

static void out_mem(struct out *o, const char *s, size_t n)
{
	size_t room = (size_t)(o->end - o->p);

	if (n > room) {
		n = room;
		o->end = o->p + n;
	}
	memcpy(o->p, s, n);
	o->p += n;
}

static void out_u64(struct out *o, uint64_t v)
{
	char tmp[20];
	char *p = tmp + sizeof(tmp);

	do {
		*--p = (char)('0' + v % 10);
		v /= 10;
	} while (v);
	out_mem(o, p, (size_t)(tmp + sizeof(tmp) - p));
}

static void out_u64_padded(struct out *o, uint64_t v, int width)
{
	char tmp[20];
	char *p = tmp + sizeof(tmp);

	do {
		*--p = (char)('0' + v % 10);
		v /= 10;
		width--;
	} while (v || width > 0);
	out_mem(o, p, (size_t)(tmp + sizeof(tmp) - p));
}

/* Apache's pfmt(): zero or negative means "not known". */
static void out_positive(struct out *o, int v)
{
	if (v <= 0)
		out_mem(o, "-", 1);
	else
		out_u64(o, (uint64_t)v);
}

static int is_log_safe(unsigned char c)
{
	return c >= 0x20 && c < 0x7f && c != '"' && c != '\\';
}

/* The escaping of Apache's ap_escape_logitem(). */
static void out_escaped(struct out *o, const char *s, size_t n)
{
	static const char hex[] = "0123456789abcdef";
	size_t i = 0;

	while (i < n) {
		size_t run = i;
		unsigned char c;
		char esc[4] = {'\\'};
		size_t elen = 2;

		while (run < n && is_log_safe((unsigned char)s[run]))
			run++;
		out_mem(o, s + i, run - i);
		if (run == n)
			return;
		i = run;
		c = (unsigned char)s[i++];
		switch (c) {
		case '\b':
			esc[1] = 'b';
			break;
		case '\n':
			esc[1] = 'n';
			break;
		case '\r':
			esc[1] = 'r';
			break;
		case '\t':
			esc[1] = 't';
			break;
		case '\v':
			esc[1] = 'v';
			break;
		case '\\':
		case '"':
			esc[1] = (char)c;
			break;
		default:
			esc[1] = 'x';
			esc[2] = hex[c >> 4];
			esc[3] = hex[c & 15];
			elen = 4;
		}
		if ((size_t)(o->end - o->p) < elen) {
			o->end = o->p;
			return;
		}
		out_mem(o, esc, elen);
	}
}

/* A string field: "-" when unknown, escaped otherwise. */
static void out_field(struct out *o, const char *s, size_t n)
{
	if (!s)
		out_mem(o, "-", 1);
	else
		out_escaped(o, s, n);
}

static void out_cstr_field(struct out *o, const char *s)
{
	out_field(o, s, s ? strlen(s) : 0);
}

static void localtime_of(int64_t sec, struct tm *tm)
{
	time_t t = (time_t)sec;

	if (!localtime_r(&t, tm))
		memset(tm, 0, sizeof(*tm));
}

/* Formatting the date costs far more than the rest of the line and changes
 * once a second, so each thread keeps the last one. */
static __thread int64_t clf_cached_sec = INT64_MIN;
static __thread char clf_cached[40];
static __thread size_t clf_cached_len;

static void out_time_clf(struct out *o, int64_t sec)
{
	static const char months[12][4] = {"Jan", "Feb", "Mar", "Apr",
					   "May", "Jun", "Jul", "Aug",
					   "Sep", "Oct", "Nov", "Dec"};

	if (sec != clf_cached_sec) {
		struct tm tm;
		long off;
		char sign = '+';
		int n;

		localtime_of(sec, &tm);
		off = tm.tm_gmtoff;
		if (off < 0) {
			sign = '-';
			off = -off;
		}
		n = snprintf(clf_cached, sizeof(clf_cached),
			     "[%02d/%s/%04d:%02d:%02d:%02d %c%02ld%02ld]",
			     tm.tm_mday, months[(unsigned)tm.tm_mon % 12],
			     tm.tm_year + 1900, tm.tm_hour, tm.tm_min,
			     tm.tm_sec, sign, off / 3600, off % 3600 / 60);
		if (n < 0 || (size_t)n >= sizeof(clf_cached))
			n = 0;
		clf_cached_len = (size_t)n;
		clf_cached_sec = sec;
	}
	out_mem(o, clf_cached, clf_cached_len);
}

static void out_time_strftime(struct out *o, const char *fmt, int64_t sec)
{
	char tmp[256];
	struct tm tm;
	size_t n;

	localtime_of(sec, &tm);
	/* The format is the administrator's, checked by strftime itself. */
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wformat-nonliteral"
	n = strftime(tmp, sizeof(tmp), fmt, &tm);
#pragma GCC diagnostic pop
	out_escaped(o, tmp, n);
}

static void out_header(struct out *o, const struct fy_access_entry *e,
		       const char *name)
{
	const char *v = NULL;
	size_t len = 0;

	if (e->header)
		v = e->header(e->header_arg, name, &len);
	out_field(o, v, len);
}

static void render_op(struct out *o, const struct fy_access_format *f,
		      const struct access_op *op,
		      const struct fy_access_entry *e)
{
	int64_t usec = e->start_usec;
	int64_t dur = e->duration_usec > 0 ? e->duration_usec : 0;

	if (usec < 0)
		usec = 0;
	if (op->at_end)
		usec += dur;
	switch ((enum access_op_kind)op->kind) {
	case OP_LITERAL:
		out_mem(o, f->pool + op->off, op->len);
		break;
	case OP_CLIENT_IP:
		out_cstr_field(o, e->client_ip);
		break;
	case OP_LOCAL_IP:
		out_cstr_field(o, e->local_ip);
		break;
	case OP_BYTES_CLF:
		if (e->bytes_body == 0)
			out_mem(o, "-", 1);
		else
			out_u64(o, e->bytes_body);
		break;
	case OP_BYTES:
		out_u64(o, e->bytes_body);
		break;
	case OP_DURATION_USEC:
		out_u64(o, (uint64_t)dur);
		break;
	case OP_DURATION_MSEC:
		out_u64(o, (uint64_t)dur / 1000);
		break;
	case OP_DURATION_SEC:
		out_u64(o, (uint64_t)dur / 1000000);
		break;
	case OP_FILENAME:
		out_cstr_field(o, e->filename);
		break;
	case OP_PROTOCOL:
		out_cstr_field(o, e->protocol);
		break;
	case OP_IDENT:
		out_mem(o, "-", 1);
		break;
	case OP_METHOD:
		out_field(o, e->method, e->method_len);
		break;
	case OP_LOCAL_PORT:
		out_positive(o, e->local_port);
		break;
	case OP_CLIENT_PORT:
		out_positive(o, e->client_port);
		break;
	case OP_QUERY:
		if (e->query && e->query_len) {
			out_mem(o, "?", 1);
			out_escaped(o, e->query, e->query_len);
		}
		break;
	case OP_REQUEST_LINE:
		out_field(o, e->request_line, e->request_line_len);
		break;
	case OP_STATUS:
		out_positive(o, e->status);
		break;
	case OP_TIME_CLF:
		out_time_clf(o, usec / 1000000);
		break;
	case OP_TIME_STRFTIME:
		out_time_strftime(o, f->pool + op->off, usec / 1000000);
		break;
	case OP_TIME_SEC:
		out_u64(o, (uint64_t)usec / 1000000);
		break;
	case OP_TIME_MSEC:
		out_u64(o, (uint64_t)usec / 1000);
		break;
	case OP_TIME_USEC:
		out_u64(o, (uint64_t)usec);
		break;
	case OP_TIME_MSEC_FRAC:
		out_u64_padded(o, (uint64_t)(usec % 1000000) / 1000, 3);
		break;
	case OP_TIME_USEC_FRAC:
		out_u64_padded(o, (uint64_t)(usec % 1000000), 6);
		break;
	case OP_USER:
		/* Apache tells an empty user name apart from none. */
		if (e->user && e->user[0] == '\0')
			out_mem(o, "\"\"", 2);
		else
			out_cstr_field(o, e->user);
		break;
	case OP_PATH:
		out_cstr_field(o, e->path);
		break;
	case OP_SITE:
		out_cstr_field(o, e->site);
		break;
	case OP_HOST:
		out_cstr_field(o, e->host);
		break;
	case OP_BYTES_SENT:
		out_u64(o, e->bytes_sent);
		break;
	case OP_BYTES_RECEIVED:
		out_u64(o, e->bytes_received);
		break;
	case OP_REQUEST_HEADER:
		out_header(o, e, f->pool + op->off);
		break;
	case OP_CONTENT_TYPE:
		out_cstr_field(o, e->content_type);
		break;
	case OP_LOCATION:
		out_cstr_field(o, e->location);
		break;
	case OP_UNKNOWN_RESPONSE_HEADER:
		out_mem(o, "-", 1);
		break;
	}
}

size_t fy_access_format_render(const struct fy_access_format *f,
			       const struct fy_access_entry *e, char *buf,
			       size_t buflen)
{
	struct out o;

	if (buflen == 0)
		return 0;
	if (buflen == 1) {
		buf[0] = '\0';
		return 0;
	}
	o.p = buf;
	o.end = buf + buflen - 2;
	for (size_t i = 0; i < f->nops && o.p < o.end; i++)
		render_op(&o, f, &f->ops[i], e);
	*o.p++ = '\n';
	*o.p = '\0';
	return (size_t)(o.p - buf);
}

/*
 * Files. Writers read file->fd without the lock: it never changes after the
 * file is registered, because a reopen dup3()s the new file onto the same
 * descriptor number.
 */
struct access_file {
	struct access_file *next;
	int fd;
	dev_t dev;
	ino_t ino;
	int failing; /* a write failed and was reported; atomic */
	char path[];
};

struct fy_access_log {
	struct fy_access_log *next;
	struct access_file *file;
	struct fy_access_format *format;
};

#define ACCESS_LOG_FLAGS    (O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC)
#define ACCESS_LOG_LINE_MAX 8192

static pthread_mutex_t registry_lock = PTHREAD_MUTEX_INITIALIZER;
static struct access_file *files;
static struct fy_access_log *logs;

/* Called with registry_lock held. */
static struct access_file *file_get(const char *path, char *err, size_t errlen)
{
	struct access_file *file;
	struct stat st;
	size_t n;
	int fd;

	for (file = files; file; file = file->next)
		if (strcmp(file->path, path) == 0)
			return file;
	fd = open(path, ACCESS_LOG_FLAGS, 0640);
	if (fd < 0) {
		set_err(err, errlen, "cannot open access log %s: %s", path,
			strerror(errno));
		return NULL;
	}
	if (fstat(fd, &st) != 0) {
		set_err(err, errlen, "cannot stat access log %s: %s", path,
			strerror(errno));
		close(fd);
		return NULL;
	}
	/* Two spellings of one file must share a descriptor too. */
	for (file = files; file; file = file->next) {
		if (file->dev == st.st_dev && file->ino == st.st_ino) {
			close(fd);
			return file;
		}
	}
	n = strlen(path);
	file = malloc(sizeof(*file) + n + 1);
	if (!file) {
		set_err(err, errlen, "out of memory");
		close(fd);
		return NULL;
	}
	file->fd = fd;
	file->dev = st.st_dev;
	file->ino = st.st_ino;
	file->failing = 0;
	memcpy(file->path, path, n + 1);
	file->next = files;
	files = file;
	return file;
}

struct fy_access_log *fy_access_log_open(const char *path, const char *fmt,
					 char *err, size_t errlen)
{
	struct fy_access_log *log;

	if (err && errlen)
		err[0] = '\0';
	if (!path || strcmp(path, "off") == 0)
		return NULL;
	log = malloc(sizeof(*log));
	if (!log) {
		set_err(err, errlen, "out of memory");
		return NULL;
	}
	log->format =
	    fy_access_format_compile(fmt ? fmt : "combined", err, errlen);
	if (!log->format) {
		free(log);
		return NULL;
	}
	pthread_mutex_lock(&registry_lock);
	log->file = file_get(path, err, errlen);
	if (log->file) {
		log->next = logs;
		logs = log;
	}
	pthread_mutex_unlock(&registry_lock);
	if (!log->file) {
		fy_access_format_free(log->format);
		free(log);
		return NULL;
	}
	return log;
}

void fy_access_log_write(struct fy_access_log *log,
			 const struct fy_access_entry *e)
{
	char buf[ACCESS_LOG_LINE_MAX];
	size_t len;
	ssize_t n;

	if (!log)
		return;
	len = fy_access_format_render(log->format, e, buf, sizeof(buf));
	do {
		n = write(log->file->fd, buf, len);
	} while (n < 0 && errno == EINTR);
	if (n == (ssize_t)len) {
		__atomic_store_n(&log->file->failing, 0, __ATOMIC_RELAXED);
		return;
	}
	/* Report once per run of failures, not once per request. */
	if (__atomic_exchange_n(&log->file->failing, 1, __ATOMIC_RELAXED))
		return;
	if (n < 0)
		fy_log(FY_LOG_ERR, "log", NULL,
		       "cannot write to access log %s: %s", log->file->path,
		       strerror(errno));
	else
		fy_log(FY_LOG_ERR, "log", NULL,
		       "short write to access log %s: %zd of %zu bytes",
		       log->file->path, n, len);
}

void fy_log_reopen_all(void)
{
	struct access_file *file;

	pthread_mutex_lock(&registry_lock);
	for (file = files; file; file = file->next) {
		struct stat st;
		int fd = open(file->path, ACCESS_LOG_FLAGS, 0640);

		if (fd < 0) {
			fy_log(FY_LOG_ERR, "log", NULL,
			       "cannot reopen access log %s: %s", file->path,
			       strerror(errno));
			continue;
		}
		/* dup3 swaps the file under writers atomically and, unlike
		 * dup2, keeps close-on-exec. */
		if (dup3(fd, file->fd, O_CLOEXEC) < 0) {
			fy_log(FY_LOG_ERR, "log", NULL,
			       "cannot reopen access log %s: dup3: %s",
			       file->path, strerror(errno));
			close(fd);
			continue;
		}
		close(fd);
		if (fstat(file->fd, &st) == 0) {
			file->dev = st.st_dev;
			file->ino = st.st_ino;
		}
	}
	pthread_mutex_unlock(&registry_lock);
	/* It reports its own failure. */
	fy_log_reopen();
}

void fy_access_log_close_all(void)
{
	pthread_mutex_lock(&registry_lock);
	while (logs) {
		struct fy_access_log *log = logs;

		logs = log->next;
		fy_access_format_free(log->format);
		free(log);
	}
	while (files) {
		struct access_file *file = files;

		files = file->next;
		close(file->fd);
		free(file);
	}
	pthread_mutex_unlock(&registry_lock);
}
