/*
 * mpm_config.h - Apache's MPM arithmetic: the compile-time defaults of
 * prefork, worker and event, and the startup checks that clamp
 * ServerLimit, ThreadLimit, ThreadsPerChild, MaxRequestWorkers, StartServers
 * and the spare counts with Apache's own warning texts. Pure: no I/O, no
 * globals, no allocation.
 */
#ifndef FOYER_MPM_CONFIG_H
#define FOYER_MPM_CONFIG_H

#include <stddef.h>

#include "foyer/config.h"

/* Apache's MAX_SERVER_LIMIT and MAX_THREAD_LIMIT (mpm/<name>/<name>.c). */
#define FY_MPM_PREFORK_MAX_SERVER_LIMIT 200000
#define FY_MPM_WORKER_MAX_SERVER_LIMIT	20000
#define FY_MPM_WORKER_MAX_THREAD_LIMIT	20000
#define FY_MPM_EVENT_MAX_SERVER_LIMIT	20000
#define FY_MPM_EVENT_MAX_THREAD_LIMIT	100000

/* 1 if name is "prefork", "worker" or "event" (exact, lower case, as the
 * loader stores it), else 0. NULL is not known. */
int fy_mpm_known(const char *name);

/*
 * Fills m with the values Apache uses when no directive is given (its
 * compile-time defaults, not Debian's mpm_*.conf):
 *
 *                        prefork  worker  event
 *   StartServers               5       3      3
 *   MinSpareServers            5       -      -
 *   MaxSpareServers           10       -      -
 *   MinSpareThreads            -      75     75
 *   MaxSpareThreads            -     250    250
 *   ThreadsPerChild            1      25     25
 *   ThreadLimit                1      64     64
 *   ServerLimit              256      16     16
 *   MaxRequestWorkers        256     400    400
 *   MaxConnectionsPerChild     0       0      0
 *   AsyncRequestWorkerFactor   -       -      2
 *   EventLoops                 1       1      1
 *
 * "-" fields are 0. daemons_limit is 0 until fy_mpm_check(). Returns FY_OK,
 * or FY_ERROR (m untouched) for an unknown MPM.
 */
int fy_mpm_defaults(const char *mpm, struct fy_mpm_config *m);

/*
 * Applies Apache's check_config rules for mpm (prefork_check_config,
 * worker_check_config, event_check_config) to m, in Apache's order, then
 * the silent adjustments Apache makes when the MPM starts running (with one
 * listener bucket):
 *
 *   prefork: ServerLimit in 1..200000; MaxRequestWorkers in 1..ServerLimit;
 *     StartServers >= 1; MinSpareServers >= 1; then, silently,
 *     MaxSpareServers >= MinSpareServers + 1, daemons_limit =
 *     MaxRequestWorkers, threads_per_child = thread_limit = 1.
 *   worker, event: ServerLimit in 1..20000; ThreadLimit in 1..20000
 *     (event: 100000); ThreadsPerChild in 1..ThreadLimit; MaxRequestWorkers
 *     >= ThreadsPerChild and rounded down to a multiple of it; daemons_limit
 *     = MaxRequestWorkers / ThreadsPerChild, at most ServerLimit;
 *     StartServers >= 1; MinSpareThreads >= 1; then, silently,
 *     MaxSpareThreads >= MinSpareThreads + ThreadsPerChild + 1.
 *   all: StartServers at most daemons_limit (Apache starts no more children
 *     than that).
 *   event: AsyncRequestWorkerFactor below 1 is raised to 1 (Apache's
 *     set_worker_factor). Apache 2.4 then divides the factor as an integer
 *     (1.5 behaves as 1); foyer does not reproduce that: the value is used
 *     as written.
 *
 * Where Apache, having found MaxRequestWorkers needs more servers than
 * ServerLimit, lowers only its daemons limit, foyer also lowers
 * max_request_workers to ServerLimit * ThreadsPerChild, as the warning
 * says, so that max_request_workers == daemons_limit * threads_per_child
 * always holds for worker and event afterwards. Apache never reads the
 * unlowered value again, so nothing observable differs.
 *
 * Every rule Apache logs appends one line to warn (a NUL-terminated string,
 * or NULL; appended after what it holds, truncated at warnlen): at first
 * start (restart == 0) Apache's startup text beginning "WARNING: ", on a
 * restart Apache's shorter restart text. On a restart, previous holds the
 * running (already checked) values: ServerLimit and ThreadLimit size the
 * scoreboard and cannot change, so a different value is reported ("changing
 * ServerLimit to %d from original value of %d not allowed during restart")
 * and the previous one kept. previous may be NULL (nothing to compare).
 * Texts carry no AH numbers.
 *
 * Returns the number of warnings (0: nothing said), or FY_ERROR for an
 * unknown MPM (m untouched).
 */
int fy_mpm_check(const char *mpm, struct fy_mpm_config *m, int restart,
		 const struct fy_mpm_config *previous, char *warn,
		 size_t warnlen);

#endif
