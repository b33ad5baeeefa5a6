/*
 * status.h - the /server-status page, compatible with Apache's mod_status.
 *
 * The renderers are pure: they read a scoreboard snapshot (scoreboard.h)
 * and what the caller measured (now, load averages, the server name), and
 * return text. No clock, no I/O, no globals, except that times are shown
 * in the local time zone (TZ), as Apache does.
 *
 * Three formats, chosen from the query string as mod_status does (by
 * substring: "?auto", "?refresh=5&auto" ...):
 *
 * - auto (text/plain; charset=ISO-8859-1): Apache 2.4's machine format,
 *   byte for byte: the server name on the first line, then ServerVersion,
 *   ServerMPM, Server Built, CurrentTime, RestartTime,
 *   ParentServerConfigGeneration, ParentServerMPMGeneration,
 *   ServerUptimeSeconds, ServerUptime, Load1, Load5, Load15, Total Accesses,
 *   Total kBytes, Total Duration, CPUUser, CPUSystem, CPUChildrenUser,
 *   CPUChildrenSystem, CPULoad (only when some CPU time was used and the
 *   uptime is not 0), Uptime, ReqPerSec and BytesPerSec (only when the
 *   uptime is not 0), BytesPerReq and DurationPerReq (only when there were
 *   accesses), BusyWorkers, GracefulWorkers, IdleWorkers, then for the event
 *   MPM only Processes, Stopping, ConnsTotal, ConnsAsyncWaitIO,
 *   ConnsAsyncWriting, ConnsAsyncKeepAlive, ConnsAsyncClosing, and last
 *   Scoreboard. foyer always keeps extended status, so the totals block is
 *   always there. %g values use APR's formatting (fy_status_gcvt).
 *   Counting follows mod_status: only processes with a pid that are not
 *   quiescing count; READY counts as idle only in the current MPM
 *   generation; every other live state but DEAD, STARTING and IDLE_KILL is
 *   busy, G included (GracefulWorkers counts the G among them). Totals
 *   cover every slot. The Scoreboard line has one character per slot,
 *   process by process, leaving out the disabled slots (DEAD and process
 *   >= daemons_limit or thread >= threads_per_child).
 *
 * - html (text/html; charset=ISO-8859-1): mod_status's page: headline
 *   numbers, the event MPM's per-process table, the scoreboard (64
 *   characters a line) with its key, and a table of the slots that served
 *   requests or are busy (Srv, PID, Acc, M, SS, Req, Dur, Conn, Child,
 *   Slot, Client, Protocol, VHost, Request) with its legend. Every text
 *   from the scoreboard is HTML-escaped.
 *
 * - json (application/json): the same data, one object:
 *     {"server": {"name", "version", "mpm", "built"},
 *      "current_time", "restart_time": seconds since the epoch (numbers),
 *      "uptime": seconds,
 *      "generation": {"config", "mpm"},
 *      "load": [1min, 5min, 15min],
 *      "totals": {"accesses", "kbytes", "duration_ms"},
 *      "cpu": {"user", "system", "children_user", "children_system",
 *              "load"},                          seconds; load in percent
 *      "rates": {"requests_per_sec", "bytes_per_sec", "bytes_per_request",
 *                "duration_per_request_ms"},     0 when undefined
 *      "workers": {"busy", "graceful", "idle"},
 *      "connections": {"total", "wait_io", "writing", "keep_alive",
 *                      "closing", "suspended"},  sums over live processes
 *      "processes": [{"slot", "pid", "generation", "stopping" (bool),
 *                     "accepting" (bool), "connections": {as above},
 *                     "threads": {"busy", "graceful", "idle"}}, ...]
 *                                                only records with a pid
 *      "scoreboard": "the Scoreboard string",
 *      "slots": [{"process", "thread", "pid" (0 if none), "status" ("W"),
 *                 "accesses": {"connection", "child", "slot"},
 *                 "bytes": {"connection", "child", "slot"},
 *                 "duration_ms", "last_request_ms",
 *                 "seconds_since_request" (-1 if never),
 *                 "client", "protocol", "vhost", "request"}, ...]
 *                                                the slots the HTML table shows
 *     }
 *   Strings are escaped for JSON; bytes >= 0x80 are read as ISO-8859-1
 *   (\u00XX), so the output is always valid UTF-8 JSON.
 */
#ifndef FOYER_STATUS_H
#define FOYER_STATUS_H

#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

#include "foyer/scoreboard.h"

struct fy_handler;

enum fy_status_format {
	FY_STATUS_HTML,
	FY_STATUS_AUTO,
	FY_STATUS_JSON,
};

/* What the page shows besides the scoreboard. */
struct fy_status_env {
	const char *server_name; /* first line of ?auto, HTML headline */
	const char *local_ip;	 /* "(via IP)" in the HTML headline; may be NULL */
	int64_t now_us;		 /* wall clock */
	double load[3];		 /* getloadavg() */
};

/* The options of a query string (without '?'; may be NULL). */
struct fy_status_query {
	enum fy_status_format format; /* "auto" wins over "json" */
	int refresh; /* seconds for a Refresh header; 0: none. "refresh"
			alone or with a value < 1 means 10, as mod_status */
};

void fy_status_parse_query(const char *query, size_t len,
			   struct fy_status_query *out);

/*
 * Formats v like APR's %g with precision digits (apr_gcvt): no leading
 * zero before the point (".875"), trailing zeros and a trailing point
 * removed, E-style when the exponent is below -4 or the integer part is
 * more than 4 digits longer than the significant digits, with an unpadded
 * signed exponent ("1.e+6", "2.5e-5"); rounding is half-up on the decimal
 * expansion ("1234570"). Writes a NUL-terminated string into buf (size >=
 * 32 is always enough) and returns its length.
 */
size_t fy_status_gcvt(double v, int precision, char *buf, size_t size);

/*
 * Renders the page in format. Returns a malloc'ed NUL-terminated text
 * (*len set to its length without the NUL; free() it), NULL when out of
 * memory.
 */
char *fy_status_render(enum fy_status_format format,
		       const struct fy_status_snapshot *s,
		       const struct fy_status_env *env, size_t *len);

/*
 * 1 if peer (AF_INET or AF_INET6) matches one of the n entries of allow,
 * else 0. Entries are addresses or CIDR blocks: "127.0.0.1", "10.0.0.0/8",
 * "::1", "2001:db8::/32". IPv4 entries also match IPv4-mapped IPv6 peers
 * (::ffff:a.b.c.d) and the reverse. Host bits of a block are ignored
 * ("10.1.2.3/8" is 10/8). Entries that do not parse match nothing.
 */
int fy_status_allowed(const char **allow, size_t n,
		      const struct sockaddr *peer);

/* --- the handler (proxy/status_handler.c) --- */

/*
 * The scoreboard the handler reads, set once per process before the loops
 * run (the master after creating it; children inherit it). NULL (the
 * default) makes the handler answer 503.
 */
void fy_status_set_scoreboard(struct fy_scoreboard *sb);
struct fy_scoreboard *fy_status_scoreboard(void);

/*
 * "status": answers a request routed to the status path. 403 for clients
 * not in cfg->status_allow, 405 (Allow: GET, HEAD) for other methods, else
 * the page in the format the query asks for, with Cache-Control: no-cache
 * and, with "refresh", a Refresh header.
 */
extern const struct fy_handler fy_handler_status;

#endif
