/*
 * status.c - the server-status renderers (?auto, HTML, JSON), APR's %g, the
 * query options and the allow-list match. Pure; see include/foyer/status.h.
 */
#include <arpa/inet.h>
#include <math.h>
#include <netinet/in.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "foyer/core.h"
#include "foyer/status.h"

#define KBYTE 1024.0
#define MBYTE 1048576.0
#define GBYTE 1073741824.0
#define SCOREBOARD_LINE 64

/* --- output buffer --- */

struct out {
	char *p;
	size_t len, cap;
	int oom;
};

static void grow(struct out *o, size_t need)
{
	if (o->oom || o->len + need + 1 <= o->cap)
		return;
	size_t cap = o->cap ? o->cap : 4096;
	while (cap < o->len + need + 1)
		cap *= 2;
	char *p = realloc(o->p, cap);
	if (p == NULL) {
		o->oom = 1;
		return;
	}
	o->p = p;
	o->cap = cap;
}

static void put(struct out *o, const char *s, size_t n)
{
	grow(o, n);
	if (o->oom)
		return;
	memcpy(o->p + o->len, s, n);
	o->len += n;
	o->p[o->len] = '\0';
}

static void puts_(struct out *o, const char *s)
{
	put(o, s, strlen(s));
}

static void putc_(struct out *o, char c)
{
	put(o, &c, 1);
}

__attribute__((format(printf, 2, 3))) static void
printf_(struct out *o, const char *fmt, ...)
{
	char small[256];
	va_list ap;
	va_start(ap, fmt);
	int n = vsnprintf(small, sizeof(small), fmt, ap);
	va_end(ap);
	if (n < 0)
		return;
	if ((size_t)n < sizeof(small)) {
		put(o, small, (size_t)n);
		return;
	}
	grow(o, (size_t)n);
	if (o->oom)
		return;
	va_start(ap, fmt);
	vsnprintf(o->p + o->len, (size_t)n + 1, fmt, ap);
	va_end(ap);
	o->len += (size_t)n;
}

static void put_g(struct out *o, double v, int precision)
{
	char b[48];
	put(o, b, fy_status_gcvt(v, precision, b, sizeof(b)));
}

static void put_html(struct out *o, const char *s)
{
	for (; *s != '\0'; s++) {
		switch (*s) {
		case '<':
			puts_(o, "&lt;");
			break;
		case '>':
			puts_(o, "&gt;");
			break;
		case '&':
			puts_(o, "&amp;");
			break;
		case '"':
			puts_(o, "&quot;");
			break;
		case '\'':
			puts_(o, "&#39;");
			break;
		default:
			putc_(o, *s);
		}
	}
}

static void put_json_str(struct out *o, const char *s)
{
	static const char hex[] = "0123456789abcdef";
	putc_(o, '"');
	for (const unsigned char *p = (const unsigned char *)s; *p != '\0';
	     p++) {
		if (*p == '"' || *p == '\\') {
			putc_(o, '\\');
			putc_(o, (char)*p);
		} else if (*p < 0x20 || *p >= 0x7f) {
			char e[6] = {'\\', 'u', '0', '0', hex[*p >> 4],
				     hex[*p & 15]};
			put(o, e, sizeof(e));
		} else {
			putc_(o, (char)*p);
		}
	}
	putc_(o, '"');
}

/* --- APR's %g --- */

size_t fy_status_gcvt(double v, int precision, char *buf, size_t size)
{
	char out[64];
	size_t n = 0;
	if (size == 0)
		return 0;
	if (precision < 1)
		precision = 1;
	if (precision > 17)
		precision = 17;
	if (isnan(v) || isinf(v)) {
		n = (size_t)snprintf(out, sizeof(out), "%s",
				     isnan(v) ? "nan" : v < 0 ? "-inf" : "inf");
		goto done;
	}
	if (signbit(v) && v != 0)
		out[n++] = '-';
	v = fabs(v);

	/* 17 significant digits are the double's exact decimal expansion
	 * (as far as it matters); APR then rounds half-up on it. */
	char e[40];
	snprintf(e, sizeof(e), "%.16e", v);
	char d[18];
	d[0] = e[0];
	memcpy(d + 1, e + 2, 16);
	d[17] = '\0';
	int decpt = atoi(strchr(e, 'e') + 1) + 1;
	int nd = precision;
	if (d[nd] >= '5') {
		int i = nd - 1;
		while (i >= 0 && d[i] == '9')
			d[i--] = '0';
		if (i >= 0) {
			d[i]++;
		} else {
			d[0] = '1';
			decpt++;
		}
	}
	while (nd > 1 && d[nd - 1] == '0')
		nd--;

	if ((decpt >= 0 && decpt - nd > 4) || decpt < -3) {
		int x = decpt - 1;
		out[n++] = d[0];
		out[n++] = '.';
		for (int i = 1; i < nd; i++)
			out[n++] = d[i];
		out[n++] = 'e';
		out[n++] = x < 0 ? '-' : '+';
		if (x < 0)
			x = -x;
		if (x / 100 > 0)
			out[n++] = (char)('0' + x / 100);
		if (x / 10 > 0)
			out[n++] = (char)('0' + (x % 100) / 10);
		out[n++] = (char)('0' + x % 10);
	} else {
		if (decpt <= 0) {
			if (d[0] != '0')
				out[n++] = '.';
			for (; decpt < 0; decpt++)
				out[n++] = '0';
		}
		for (int i = 1; i <= nd; i++) {
			out[n++] = d[i - 1];
			if (i == decpt)
				out[n++] = '.';
		}
		for (int i = nd; i < decpt; i++)
			out[n++] = '0';
		if (nd < decpt)
			out[n++] = '.';
	}
	if (n > 0 && out[n - 1] == '.')
		n--;
done:
	if (n >= size)
		n = size - 1;
	memcpy(buf, out, n);
	buf[n] = '\0';
	return n;
}

/* --- query --- */

void fy_status_parse_query(const char *q, size_t len,
			   struct fy_status_query *out)
{
	out->format = FY_STATUS_HTML;
	out->refresh = 0;
	if (q == NULL)
		return;
	if (memmem(q, len, "auto", 4) != NULL)
		out->format = FY_STATUS_AUTO;
	else if (memmem(q, len, "json", 4) != NULL)
		out->format = FY_STATUS_JSON;
	const char *r = memmem(q, len, "refresh", 7);
	if (r != NULL) {
		const char *p = r + 7, *end = q + len;
		long t = 0;
		if (p < end && *p == '=') {
			for (p++; p < end && *p >= '0' && *p <= '9'; p++)
				if (t < 1000000)
					t = t * 10 + (*p - '0');
		}
		out->refresh = t < 1 ? 10 : (int)t;
	}
}

/* --- the numbers every format shows --- */

struct totals {
	uint64_t accesses, bytes, kbytes, duration_ms;
	double cpu_user, cpu_system, cpu_cuser, cpu_csystem, cpu_load;
	uint32_t uptime;
	int busy, graceful, idle;
	int processes, stopping;
	int conns[FY_PROC_CONNS_N];
	int async;
	char *scoreboard; /* malloc'ed */
};

/* Centiseconds, as Apache's times() ticks show. */
static double cpu_seconds(uint64_t us)
{
	return (double)((us + 5000) / 10000) / 100.0;
}

static int slot_disabled(const struct fy_status_snapshot *s, int i, int j,
			 enum fy_slot_status st)
{
	return st == FY_SLOT_DEAD &&
	       (i >= s->daemons_limit || j >= s->threads_per_child);
}

static int compute(const struct fy_status_snapshot *s,
		   const struct fy_status_env *env, struct totals *t)
{
	memset(t, 0, sizeof(*t));
	size_t nslots = (size_t)s->server_limit * (size_t)s->thread_limit;
	t->scoreboard = malloc(nslots + 1);
	if (t->scoreboard == NULL)
		return FY_ERROR;
	size_t k = 0;
	uint64_t cu = 0, cs = 0;
	for (int i = 0; i < s->server_limit; i++) {
		const struct fy_status_proc *p = &s->procs[i];
		int live = p->pid != 0 && !p->quiescing;
		for (int j = 0; j < s->thread_limit; j++) {
			const struct fy_status_slot *w =
			    &s->slots[(size_t)i * (size_t)s->thread_limit +
				      (size_t)j];
			if (!slot_disabled(s, i, j, w->status))
				t->scoreboard[k++] =
				    fy_scoreboard_status_char(w->status);
			if (live) {
				if (w->status == FY_SLOT_READY) {
					if (p->generation == s->mpm_generation)
						t->idle++;
				} else if (w->status != FY_SLOT_DEAD &&
					   w->status != FY_SLOT_STARTING &&
					   w->status != FY_SLOT_IDLE_KILL) {
					t->busy++;
					if (w->status == FY_SLOT_GRACEFUL)
						t->graceful++;
				}
			}
			t->accesses += w->access_count;
			t->bytes += w->bytes_served;
			t->duration_ms += w->duration_us;
		}
		if (p->pid != 0) {
			t->processes++;
			if (p->quiescing)
				t->stopping++;
			for (int c = 0; c < FY_PROC_CONNS_N; c++)
				t->conns[c] += p->conns[c];
			cu += p->cpu_user_us;
			cs += p->cpu_system_us;
		}
	}
	t->scoreboard[k] = '\0';
	t->kbytes = t->bytes >> 10;
	t->duration_ms /= 1000;
	t->cpu_user = cpu_seconds(cu);
	t->cpu_system = cpu_seconds(cs);
	t->cpu_cuser = cpu_seconds(s->children_cpu_user_us);
	t->cpu_csystem = cpu_seconds(s->children_cpu_system_us);
	int64_t up = (env->now_us - s->restart_time_us) / 1000000;
	t->uptime = up > 0 ? (uint32_t)up : 0;
	double cpu = t->cpu_user + t->cpu_system + t->cpu_cuser + t->cpu_csystem;
	if (cpu > 0 && t->uptime > 0)
		t->cpu_load = cpu / t->uptime * 100.0;
	t->async = strcmp(s->mpm, "event") == 0;
	return FY_OK;
}

/* Apache's DEFAULT_TIME_FORMAT, local time. */
static void put_time(struct out *o, int64_t us)
{
	time_t sec = (time_t)(us / 1000000);
	struct tm tm;
	char b[96];
	if (localtime_r(&sec, &tm) == NULL ||
	    strftime(b, sizeof(b), "%A, %d-%b-%Y %H:%M:%S %Z", &tm) == 0)
		b[0] = '\0';
	puts_(o, b);
}

/* mod_status's show_time: each non-zero part after a space. */
static void put_uptime(struct out *o, uint32_t secs)
{
	unsigned s = secs % 60, m = secs / 60 % 60, h = secs / 3600 % 24,
		 d = secs / 86400;
	if (d)
		printf_(o, " %u day%s", d, d == 1 ? "" : "s");
	if (h)
		printf_(o, " %u hour%s", h, h == 1 ? "" : "s");
	if (m)
		printf_(o, " %u minute%s", m, m == 1 ? "" : "s");
	if (s)
		printf_(o, " %u second%s", s, s == 1 ? "" : "s");
}

/* --- ?auto --- */

static void render_auto(struct out *o, const struct fy_status_snapshot *s,
			const struct fy_status_env *env, const struct totals *t)
{
	printf_(o, "%s\n", env->server_name != NULL ? env->server_name : "");
	printf_(o, "ServerVersion: %s\n", s->server_version);
	printf_(o, "ServerMPM: %s\n", s->mpm);
	printf_(o, "Server Built: %s\n", s->server_built);
	puts_(o, "CurrentTime: ");
	put_time(o, env->now_us);
	puts_(o, "\nRestartTime: ");
	put_time(o, s->restart_time_us);
	printf_(o, "\nParentServerConfigGeneration: %d\n", s->config_generation);
	printf_(o, "ParentServerMPMGeneration: %d\n", s->mpm_generation);
	printf_(o, "ServerUptimeSeconds: %u\n", t->uptime);
	puts_(o, "ServerUptime:");
	put_uptime(o, t->uptime);
	printf_(o, "\nLoad1: %.2f\nLoad5: %.2f\nLoad15: %.2f\n", env->load[0],
		env->load[1], env->load[2]);
	printf_(o, "Total Accesses: %llu\n", (unsigned long long)t->accesses);
	printf_(o, "Total kBytes: %llu\n", (unsigned long long)t->kbytes);
	printf_(o, "Total Duration: %llu\n", (unsigned long long)t->duration_ms);
	puts_(o, "CPUUser: ");
	put_g(o, t->cpu_user, 6);
	puts_(o, "\nCPUSystem: ");
	put_g(o, t->cpu_system, 6);
	puts_(o, "\nCPUChildrenUser: ");
	put_g(o, t->cpu_cuser, 6);
	puts_(o, "\nCPUChildrenSystem: ");
	put_g(o, t->cpu_csystem, 6);
	puts_(o, "\n");
	if (t->cpu_load > 0) {
		puts_(o, "CPULoad: ");
		put_g(o, t->cpu_load, 6);
		puts_(o, "\n");
	}
	printf_(o, "Uptime: %u\n", t->uptime);
	if (t->uptime > 0) {
		puts_(o, "ReqPerSec: ");
		put_g(o, (double)t->accesses / t->uptime, 6);
		puts_(o, "\nBytesPerSec: ");
		put_g(o, KBYTE * (double)t->kbytes / t->uptime, 6);
		puts_(o, "\n");
	}
	if (t->accesses > 0) {
		puts_(o, "BytesPerReq: ");
		put_g(o, KBYTE * (double)t->kbytes / (double)t->accesses, 6);
		puts_(o, "\nDurationPerReq: ");
		put_g(o, (double)t->duration_ms / (double)t->accesses, 6);
		puts_(o, "\n");
	}
	printf_(o, "BusyWorkers: %d\nGracefulWorkers: %d\nIdleWorkers: %d\n",
		t->busy, t->graceful, t->idle);
	if (t->async) {
		printf_(o, "Processes: %d\nStopping: %d\n", t->processes,
			t->stopping);
		printf_(o,
			"ConnsTotal: %d\nConnsAsyncWaitIO: %d\n"
			"ConnsAsyncWriting: %d\nConnsAsyncKeepAlive: %d\n"
			"ConnsAsyncClosing: %d\n",
			t->conns[FY_PROC_CONNS_TOTAL],
			t->conns[FY_PROC_CONNS_WAIT_IO],
			t->conns[FY_PROC_CONNS_WRITING],
			t->conns[FY_PROC_CONNS_KEEPALIVE],
			t->conns[FY_PROC_CONNS_CLOSING]);
	}
	printf_(o, "Scoreboard: %s\n", t->scoreboard);
}

/* --- HTML --- */

/* mod_status's format_byte_out. */
static void put_bytes(struct out *o, double b)
{
	if (b < 5 * KBYTE)
		printf_(o, "%d B", (int)b);
	else if (b < MBYTE / 2)
		printf_(o, "%.1f kB", b / KBYTE);
	else if (b < GBYTE / 2)
		printf_(o, "%.1f MB", b / MBYTE);
	else
		printf_(o, "%.1f GB", b / GBYTE);
}

/* mod_status's format_kbyte_out. */
static void put_kbytes(struct out *o, uint64_t kb)
{
	if (kb < KBYTE)
		printf_(o, "%d kB", (int)kb);
	else if (kb < MBYTE)
		printf_(o, "%.1f MB", (double)kb / KBYTE);
	else
		printf_(o, "%.1f GB", (double)kb / MBYTE);
}

static const char *const status_key[FY_SLOT_NSTATUS] = {
    [FY_SLOT_DEAD] = "Open slot with no current process",
    [FY_SLOT_STARTING] = "Starting up",
    [FY_SLOT_READY] = "Waiting for Connection",
    [FY_SLOT_READ] = "Reading Request",
    [FY_SLOT_WRITE] = "Sending Reply",
    [FY_SLOT_KEEPALIVE] = "Keepalive (read)",
    [FY_SLOT_LOG] = "Logging",
    [FY_SLOT_DNS] = "DNS Lookup",
    [FY_SLOT_CLOSING] = "Closing connection",
    [FY_SLOT_GRACEFUL] = "Gracefully finishing",
    [FY_SLOT_IDLE_KILL] = "Idle cleanup of worker",
};

/* The order of mod_status's key paragraph. */
static const enum fy_slot_status key_order[FY_SLOT_NSTATUS] = {
    FY_SLOT_READY,     FY_SLOT_STARTING, FY_SLOT_READ,	   FY_SLOT_WRITE,
    FY_SLOT_KEEPALIVE, FY_SLOT_DNS,	 FY_SLOT_CLOSING,  FY_SLOT_LOG,
    FY_SLOT_GRACEFUL,  FY_SLOT_IDLE_KILL, FY_SLOT_DEAD,
};

static int slot_shown(const struct fy_status_slot *w)
{
	return w->access_count != 0 ||
	       (w->status != FY_SLOT_READY && w->status != FY_SLOT_DEAD);
}

static void thread_counts(const struct fy_status_snapshot *s, int i,
			  int *busy, int *graceful, int *idle)
{
	*busy = *graceful = *idle = 0;
	const struct fy_status_proc *p = &s->procs[i];
	if (p->pid == 0 || p->quiescing)
		return;
	for (int j = 0; j < s->thread_limit; j++) {
		enum fy_slot_status st =
		    s->slots[(size_t)i * (size_t)s->thread_limit + (size_t)j]
			.status;
		if (st == FY_SLOT_READY)
			(*idle)++;
		else if (st == FY_SLOT_GRACEFUL)
			(*graceful)++;
		else if (st != FY_SLOT_DEAD && st != FY_SLOT_STARTING &&
			 st != FY_SLOT_IDLE_KILL)
			(*busy)++;
	}
}

static void render_async_table(struct out *o,
			       const struct fy_status_snapshot *s,
			       const struct totals *t)
{
	puts_(o, "<table rules=\"all\" cellpadding=\"1%\">\n"
		 "<tr><th rowspan=\"2\">Slot</th><th rowspan=\"2\">PID</th>"
		 "<th rowspan=\"2\">Stopping</th>"
		 "<th colspan=\"2\">Connections</th>\n"
		 "<th colspan=\"3\">Threads</th>"
		 "<th colspan=\"4\">Async connections</th></tr>\n"
		 "<tr><th>total</th><th>accepting</th>"
		 "<th>busy</th><th>graceful</th><th>idle</th>"
		 "<th>wait-io</th><th>writing</th><th>keep-alive</th>"
		 "<th>closing</th></tr>\n");
	int sb = 0, sg = 0, si = 0;
	for (int i = 0; i < s->server_limit; i++) {
		const struct fy_status_proc *p = &s->procs[i];
		if (p->pid == 0)
			continue;
		int b, g, id;
		thread_counts(s, i, &b, &g, &id);
		sb += b;
		sg += g;
		si += id;
		printf_(o,
			"<tr><td>%d</td><td>%d</td><td>%s%s</td><td>%d</td>"
			"<td>%s</td><td>%d</td><td>%d</td><td>%d</td>"
			"<td>%d</td><td>%d</td><td>%d</td><td>%d</td></tr>\n",
			i, (int)p->pid, p->quiescing ? "yes" : "no",
			p->generation != s->mpm_generation ? " (old gen)" : "",
			p->conns[FY_PROC_CONNS_TOTAL],
			p->not_accepting ? "no" : "yes", b, g, id,
			p->conns[FY_PROC_CONNS_WAIT_IO],
			p->conns[FY_PROC_CONNS_WRITING],
			p->conns[FY_PROC_CONNS_KEEPALIVE],
			p->conns[FY_PROC_CONNS_CLOSING]);
	}
	printf_(o,
		"<tr><td>Sum</td><td>%d</td><td>%d</td><td>%d</td>"
		"<td>&nbsp;</td><td>%d</td><td>%d</td><td>%d</td>"
		"<td>%d</td><td>%d</td><td>%d</td><td>%d</td></tr>\n"
		"</table>\n",
		t->processes, t->stopping, t->conns[FY_PROC_CONNS_TOTAL], sb, sg,
		si, t->conns[FY_PROC_CONNS_WAIT_IO],
		t->conns[FY_PROC_CONNS_WRITING],
		t->conns[FY_PROC_CONNS_KEEPALIVE],
		t->conns[FY_PROC_CONNS_CLOSING]);
}

static void render_slot_table(struct out *o, const struct fy_status_snapshot *s,
			      const struct fy_status_env *env)
{
	puts_(o, "\n\n<table border=\"0\"><tr><th>Srv</th><th>PID</th>"
		 "<th>Acc</th><th>M</th><th>SS</th><th>Req</th><th>Dur</th>"
		 "<th>Conn</th><th>Child</th><th>Slot</th><th>Client</th>"
		 "<th>Protocol</th><th>VHost</th><th>Request</th></tr>\n\n");
	for (int i = 0; i < s->server_limit; i++) {
		const struct fy_status_proc *p = &s->procs[i];
		for (int j = 0; j < s->thread_limit; j++) {
			const struct fy_status_slot *w =
			    &s->slots[(size_t)i * (size_t)s->thread_limit +
				      (size_t)j];
			if (!slot_shown(w))
				continue;
			printf_(o, "<tr><td><b>%d-%d</b></td><td>", i,
				p->generation);
			if (w->status == FY_SLOT_DEAD || p->pid == 0)
				puts_(o, "-");
			else
				printf_(o, "%d", (int)p->pid);
			printf_(o, "</td><td>%llu/%llu/%llu</td><td>%c</td>",
				(unsigned long long)w->conn_count,
				(unsigned long long)w->my_access_count,
				(unsigned long long)w->access_count,
				fy_scoreboard_status_char(w->status));
			long long ss = w->last_begin_us != 0
					   ? (env->now_us - w->last_begin_us) /
						 1000000
					   : 0;
			printf_(o,
				"<td>%lld</td><td>%llu</td><td>%llu</td>"
				"<td>%.1f</td><td>%.2f</td><td>%.2f</td>",
				ss < 0 ? 0 : ss,
				(unsigned long long)(w->last_duration_us / 1000),
				(unsigned long long)(w->duration_us / 1000),
				(double)w->conn_bytes / KBYTE,
				(double)w->my_bytes_served / MBYTE,
				(double)w->bytes_served / MBYTE);
			if (w->status == FY_SLOT_READ) {
				puts_(o, "<td>?</td><td>?</td><td nowrap>?</td>"
					 "<td nowrap>..reading.. </td></tr>\n");
				continue;
			}
			puts_(o, "<td>");
			put_html(o, w->client);
			puts_(o, "</td><td>");
			put_html(o, w->protocol);
			puts_(o, "</td><td nowrap>");
			put_html(o, w->vhost);
			puts_(o, "</td><td nowrap>");
			put_html(o, w->request);
			puts_(o, "</td></tr>\n");
		}
	}
	puts_(o, "</table>\n"
		 "<hr /><table>\n"
		 "<tr><th>Srv</th><td>Child Server number - generation</td></tr>\n"
		 "<tr><th>PID</th><td>OS process ID</td></tr>\n"
		 "<tr><th>Acc</th><td>Number of accesses this connection / "
		 "this child / this slot</td></tr>\n"
		 "<tr><th>M</th><td>Mode of operation</td></tr>\n"
		 "<tr><th>SS</th><td>Seconds since beginning of most recent "
		 "request</td></tr>\n"
		 "<tr><th>Req</th><td>Milliseconds required to process most "
		 "recent request</td></tr>\n"
		 "<tr><th>Dur</th><td>Sum of milliseconds required to process "
		 "all requests</td></tr>\n"
		 "<tr><th>Conn</th><td>Kilobytes transferred this "
		 "connection</td></tr>\n"
		 "<tr><th>Child</th><td>Megabytes transferred this "
		 "child</td></tr>\n"
		 "<tr><th>Slot</th><td>Total megabytes transferred this "
		 "slot</td></tr>\n"
		 "</table>\n");
}

static void render_html(struct out *o, const struct fy_status_snapshot *s,
			const struct fy_status_env *env, const struct totals *t)
{
	puts_(o, "<!DOCTYPE HTML PUBLIC \"-//W3C//DTD HTML 4.01//EN\" "
		 "\"http://www.w3.org/TR/html4/strict.dtd\">\n"
		 "<html><head>\n<title>foyer Status</title>\n"
		 "</head><body>\n<h1>foyer Server Status for ");
	put_html(o, env->server_name != NULL ? env->server_name : "");
	if (env->local_ip != NULL) {
		puts_(o, " (via ");
		put_html(o, env->local_ip);
		puts_(o, ")");
	}
	puts_(o, "</h1>\n\n<dl><dt>Server Version: ");
	put_html(o, s->server_version);
	puts_(o, "</dt>\n<dt>Server MPM: ");
	put_html(o, s->mpm);
	puts_(o, "</dt>\n<dt>Server Built: ");
	put_html(o, s->server_built);
	puts_(o, "\n</dt></dl><hr /><dl>\n<dt>Current Time: ");
	put_time(o, env->now_us);
	puts_(o, "</dt>\n<dt>Restart Time: ");
	put_time(o, s->restart_time_us);
	printf_(o,
		"</dt>\n<dt>Parent Server Config. Generation: %d</dt>\n"
		"<dt>Parent Server MPM Generation: %d</dt>\n"
		"<dt>Server uptime: ",
		s->config_generation, s->mpm_generation);
	put_uptime(o, t->uptime);
	printf_(o, "</dt>\n<dt>Server load: %.2f %.2f %.2f</dt>\n", env->load[0],
		env->load[1], env->load[2]);
	printf_(o, "<dt>Total accesses: %llu - Total Traffic: ",
		(unsigned long long)t->accesses);
	put_kbytes(o, t->kbytes);
	printf_(o, " - Total Duration: %llu</dt>\n",
		(unsigned long long)t->duration_ms);
	puts_(o, "<dt>CPU Usage: u");
	put_g(o, t->cpu_user, 6);
	puts_(o, " s");
	put_g(o, t->cpu_system, 6);
	puts_(o, " cu");
	put_g(o, t->cpu_cuser, 6);
	puts_(o, " cs");
	put_g(o, t->cpu_csystem, 6);
	if (t->cpu_load > 0) {
		puts_(o, " - ");
		put_g(o, t->cpu_load, 3);
		puts_(o, "% CPU load");
	}
	puts_(o, "</dt>\n<dt>");
	if (t->uptime > 0) {
		put_g(o, (double)t->accesses / t->uptime, 3);
		puts_(o, " requests/sec - ");
		put_bytes(o, KBYTE * (double)t->kbytes / t->uptime);
		puts_(o, "/second");
	}
	if (t->accesses > 0) {
		if (t->uptime > 0)
			puts_(o, " - ");
		put_bytes(o, KBYTE * (double)t->kbytes / (double)t->accesses);
		puts_(o, "/request - ");
		put_g(o, (double)t->duration_ms / (double)t->accesses, 6);
		puts_(o, " ms/request");
	}
	printf_(o,
		"</dt>\n<dt>%d requests currently being processed, %d workers "
		"gracefully restarting, %d idle workers</dt>\n</dl>",
		t->busy, t->graceful, t->idle);
	if (t->async)
		render_async_table(o, s, t);
	puts_(o, "<pre>");
	for (size_t k = 0; t->scoreboard[k] != '\0'; k++) {
		putc_(o, t->scoreboard[k]);
		if (k % SCOREBOARD_LINE == SCOREBOARD_LINE - 1)
			putc_(o, '\n');
	}
	puts_(o, "</pre>\n<p>Scoreboard Key:<br />\n");
	for (size_t k = 0; k < FY_SLOT_NSTATUS; k++) {
		enum fy_slot_status st = key_order[k];
		printf_(o, "\"<b><code>%c</code></b>\" %s%s\n",
			fy_scoreboard_status_char(st), status_key[st],
			k + 1 == FY_SLOT_NSTATUS ? "</p>"
			: k % 3 == 2		 ? ",<br />"
						 : ", ");
	}
	render_slot_table(o, s, env);
	puts_(o, "</body></html>\n");
}

/* --- JSON --- */

static void json_num(struct out *o, double v)
{
	if (!isfinite(v))
		v = 0;
	printf_(o, "%.17g", v);
}

static void json_conns(struct out *o, const int *c)
{
	printf_(o,
		"{\"total\": %d, \"wait_io\": %d, \"writing\": %d, "
		"\"keep_alive\": %d, \"closing\": %d, \"suspended\": %d}",
		c[FY_PROC_CONNS_TOTAL], c[FY_PROC_CONNS_WAIT_IO],
		c[FY_PROC_CONNS_WRITING], c[FY_PROC_CONNS_KEEPALIVE],
		c[FY_PROC_CONNS_CLOSING], c[FY_PROC_CONNS_SUSPENDED]);
}

static void render_json(struct out *o, const struct fy_status_snapshot *s,
			const struct fy_status_env *env, const struct totals *t)
{
	puts_(o, "{\"server\": {\"name\": ");
	put_json_str(o, env->server_name != NULL ? env->server_name : "");
	puts_(o, ", \"version\": ");
	put_json_str(o, s->server_version);
	puts_(o, ", \"mpm\": ");
	put_json_str(o, s->mpm);
	puts_(o, ", \"built\": ");
	put_json_str(o, s->server_built);
	printf_(o,
		"},\n\"current_time\": %lld, \"restart_time\": %lld, "
		"\"uptime\": %u,\n",
		(long long)(env->now_us / 1000000),
		(long long)(s->restart_time_us / 1000000), t->uptime);
	printf_(o, "\"generation\": {\"config\": %d, \"mpm\": %d},\n",
		s->config_generation, s->mpm_generation);
	puts_(o, "\"load\": [");
	for (int k = 0; k < 3; k++) {
		if (k)
			puts_(o, ", ");
		printf_(o, "%.2f", env->load[k]);
	}
	printf_(o,
		"],\n\"totals\": {\"accesses\": %llu, \"kbytes\": %llu, "
		"\"duration_ms\": %llu},\n",
		(unsigned long long)t->accesses, (unsigned long long)t->kbytes,
		(unsigned long long)t->duration_ms);
	puts_(o, "\"cpu\": {\"user\": ");
	json_num(o, t->cpu_user);
	puts_(o, ", \"system\": ");
	json_num(o, t->cpu_system);
	puts_(o, ", \"children_user\": ");
	json_num(o, t->cpu_cuser);
	puts_(o, ", \"children_system\": ");
	json_num(o, t->cpu_csystem);
	puts_(o, ", \"load\": ");
	json_num(o, t->cpu_load);
	double up = t->uptime, acc = (double)t->accesses;
	puts_(o, "},\n\"rates\": {\"requests_per_sec\": ");
	json_num(o, up > 0 ? acc / up : 0);
	puts_(o, ", \"bytes_per_sec\": ");
	json_num(o, up > 0 ? KBYTE * (double)t->kbytes / up : 0);
	puts_(o, ", \"bytes_per_request\": ");
	json_num(o, acc > 0 ? KBYTE * (double)t->kbytes / acc : 0);
	puts_(o, ", \"duration_per_request_ms\": ");
	json_num(o, acc > 0 ? (double)t->duration_ms / acc : 0);
	printf_(o,
		"},\n\"workers\": {\"busy\": %d, \"graceful\": %d, "
		"\"idle\": %d},\n\"connections\": ",
		t->busy, t->graceful, t->idle);
	json_conns(o, t->conns);
	puts_(o, ",\n\"processes\": [");
	int first = 1;
	for (int i = 0; i < s->server_limit; i++) {
		const struct fy_status_proc *p = &s->procs[i];
		if (p->pid == 0)
			continue;
		int b, g, id;
		thread_counts(s, i, &b, &g, &id);
		printf_(o,
			"%s\n {\"slot\": %d, \"pid\": %d, \"generation\": %d, "
			"\"stopping\": %s, \"accepting\": %s, \"connections\": ",
			first ? "" : ",", i, (int)p->pid, p->generation,
			p->quiescing ? "true" : "false",
			p->not_accepting ? "false" : "true");
		json_conns(o, p->conns);
		printf_(o,
			", \"threads\": {\"busy\": %d, \"graceful\": %d, "
			"\"idle\": %d}}",
			b, g, id);
		first = 0;
	}
	puts_(o, "],\n\"scoreboard\": ");
	put_json_str(o, t->scoreboard);
	puts_(o, ",\n\"slots\": [");
	first = 1;
	for (int i = 0; i < s->server_limit; i++) {
		const struct fy_status_proc *p = &s->procs[i];
		for (int j = 0; j < s->thread_limit; j++) {
			const struct fy_status_slot *w =
			    &s->slots[(size_t)i * (size_t)s->thread_limit +
				      (size_t)j];
			if (!slot_shown(w))
				continue;
			long long ss = w->last_begin_us != 0
					   ? (env->now_us - w->last_begin_us) /
						 1000000
					   : -1;
			printf_(o,
				"%s\n {\"process\": %d, \"thread\": %d, "
				"\"pid\": %d, \"status\": \"%c\", "
				"\"accesses\": {\"connection\": %llu, "
				"\"child\": %llu, \"slot\": %llu}, "
				"\"bytes\": {\"connection\": %llu, "
				"\"child\": %llu, \"slot\": %llu}, "
				"\"duration_ms\": %llu, "
				"\"last_request_ms\": %llu, "
				"\"seconds_since_request\": %lld, \"client\": ",
				first ? "" : ",", i, j,
				w->status == FY_SLOT_DEAD ? 0 : (int)p->pid,
				fy_scoreboard_status_char(w->status),
				(unsigned long long)w->conn_count,
				(unsigned long long)w->my_access_count,
				(unsigned long long)w->access_count,
				(unsigned long long)w->conn_bytes,
				(unsigned long long)w->my_bytes_served,
				(unsigned long long)w->bytes_served,
				(unsigned long long)(w->duration_us / 1000),
				(unsigned long long)(w->last_duration_us /
						     1000),
				ss < -1 ? 0 : ss);
			put_json_str(o, w->client);
			puts_(o, ", \"protocol\": ");
			put_json_str(o, w->protocol);
			puts_(o, ", \"vhost\": ");
			put_json_str(o, w->vhost);
			puts_(o, ", \"request\": ");
			put_json_str(o, w->request);
			puts_(o, "}");
			first = 0;
		}
	}
	puts_(o, "]}\n");
}

char *fy_status_render(enum fy_status_format format,
		       const struct fy_status_snapshot *s,
		       const struct fy_status_env *env, size_t *len)
{
	struct totals t;
	struct out o = {0};
	if (compute(s, env, &t) != FY_OK)
		return NULL;
	switch (format) {
	case FY_STATUS_AUTO:
		render_auto(&o, s, env, &t);
		break;
	case FY_STATUS_JSON:
		render_json(&o, s, env, &t);
		break;
	default:
		render_html(&o, s, env, &t);
		break;
	}
	free(t.scoreboard);
	if (o.oom || o.p == NULL) {
		free(o.p);
		return NULL;
	}
	*len = o.len;
	return o.p;
}

/* --- allow list --- */

/* Every address as 16 bytes, IPv4 as ::ffff:a.b.c.d, so that one compare
 * covers v4, v6 and v4-mapped peers alike. */
static int parse_entry(const char *s, unsigned char addr[16], int *bits)
{
	char host[INET6_ADDRSTRLEN + 1];
	const char *slash = strchr(s, '/');
	size_t hl = slash != NULL ? (size_t)(slash - s) : strlen(s);
	if (hl == 0 || hl >= sizeof(host))
		return FY_ERROR;
	memcpy(host, s, hl);
	host[hl] = '\0';
	int v4 = 0;
	struct in_addr a4;
	if (inet_pton(AF_INET, host, &a4) == 1) {
		v4 = 1;
		memset(addr, 0, 10);
		addr[10] = addr[11] = 0xff;
		memcpy(addr + 12, &a4, 4);
	} else if (inet_pton(AF_INET6, host, addr) != 1) {
		return FY_ERROR;
	}
	int max = v4 ? 32 : 128;
	int b = max;
	if (slash != NULL) {
		const char *p = slash + 1;
		if (*p == '\0')
			return FY_ERROR;
		b = 0;
		for (; *p != '\0'; p++) {
			if (*p < '0' || *p > '9' || b > max)
				return FY_ERROR;
			b = b * 10 + (*p - '0');
		}
		if (b > max)
			return FY_ERROR;
	}
	*bits = v4 ? 96 + b : b;
	return FY_OK;
}

static int prefix_match(const unsigned char *a, const unsigned char *b,
			int bits)
{
	int whole = bits / 8, rest = bits % 8;
	if (memcmp(a, b, (size_t)whole) != 0)
		return 0;
	if (rest == 0)
		return 1;
	unsigned char mask = (unsigned char)(0xff << (8 - rest));
	return (a[whole] & mask) == (b[whole] & mask);
}

int fy_status_allowed(const char **allow, size_t n,
		      const struct sockaddr *peer)
{
	unsigned char pa[16];
	if (peer == NULL)
		return 0;
	if (peer->sa_family == AF_INET) {
		const struct sockaddr_in *s4 = (const void *)peer;
		memset(pa, 0, 10);
		pa[10] = pa[11] = 0xff;
		memcpy(pa + 12, &s4->sin_addr, 4);
	} else if (peer->sa_family == AF_INET6) {
		const struct sockaddr_in6 *s6 = (const void *)peer;
		memcpy(pa, &s6->sin6_addr, 16);
	} else {
		return 0;
	}
	for (size_t i = 0; i < n; i++) {
		unsigned char ea[16];
		int bits;
		if (allow[i] == NULL || parse_entry(allow[i], ea, &bits) != FY_OK)
			continue;
		if (prefix_match(pa, ea, bits))
			return 1;
	}
	return 0;
}
