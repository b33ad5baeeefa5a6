/*
 * test_mpm_config.c - Apache's MPM defaults and check_config clamping:
 * every warning text byte for byte, their order, the restart texts, the
 * silent adjustments and the derived daemons limit.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "foyer/config.h"
#include "foyer/core.h"
#include "foyer/mpm_config.h"

static const char *const mpms[] = {"prefork", "worker", "event"};

static struct fy_mpm_config dflt(const char *mpm)
{
	struct fy_mpm_config m;

	memset(&m, 0x5a, sizeof(m));
	assert_int_equal(fy_mpm_defaults(mpm, &m), FY_OK);
	return m;
}

/* The running values of a first start with Apache's defaults. */
static struct fy_mpm_config running(const char *mpm)
{
	struct fy_mpm_config m = dflt(mpm);

	assert_int_equal(fy_mpm_check(mpm, &m, 0, NULL, NULL, 0), 0);
	return m;
}

/* Checks m and wants exactly the lines of want (each ending in '\n'). */
static void expect(const char *mpm, struct fy_mpm_config *m, int restart,
		   const struct fy_mpm_config *previous, const char *want)
{
	char warn[2048] = "";
	int lines = 0;

	for (const char *p = want; *p != '\0'; p++)
		lines += *p == '\n';
	assert_int_equal(
	    fy_mpm_check(mpm, m, restart, previous, warn, sizeof(warn)), lines);
	assert_string_equal(warn, want);
}

static void test_known(void **state)
{
	(void)state;
	assert_true(fy_mpm_known("prefork"));
	assert_true(fy_mpm_known("worker"));
	assert_true(fy_mpm_known("event"));
	assert_false(fy_mpm_known("Event"));
	assert_false(fy_mpm_known("single"));
	assert_false(fy_mpm_known(""));
	assert_false(fy_mpm_known(NULL));
}

static void test_defaults(void **state)
{
	struct fy_mpm_config m;

	(void)state;
	m = dflt("prefork");
	assert_int_equal(m.start_servers, 5);
	assert_int_equal(m.min_spare_servers, 5);
	assert_int_equal(m.max_spare_servers, 10);
	assert_int_equal(m.min_spare_threads, 0);
	assert_int_equal(m.max_spare_threads, 0);
	assert_int_equal(m.threads_per_child, 1);
	assert_int_equal(m.thread_limit, 1);
	assert_int_equal(m.server_limit, 256);
	assert_int_equal(m.max_request_workers, 256);
	assert_int_equal(m.max_connections_per_child, 0);
	assert_true(m.async_request_worker_factor == 0.0);
	assert_int_equal(m.event_loops, 1);
	assert_int_equal(m.daemons_limit, 0);

	for (int i = 1; i < 3; i++) {
		m = dflt(mpms[i]);
		assert_int_equal(m.start_servers, 3);
		assert_int_equal(m.min_spare_servers, 0);
		assert_int_equal(m.max_spare_servers, 0);
		assert_int_equal(m.min_spare_threads, 75);
		assert_int_equal(m.max_spare_threads, 250);
		assert_int_equal(m.threads_per_child, 25);
		assert_int_equal(m.thread_limit, 64);
		assert_int_equal(m.server_limit, 16);
		assert_int_equal(m.max_request_workers, 400);
		assert_int_equal(m.max_connections_per_child, 0);
		assert_true(m.async_request_worker_factor ==
			    (i == 2 ? 2.0 : 0.0));
		assert_int_equal(m.event_loops, 1);
		assert_int_equal(m.daemons_limit, 0);
	}

	memset(&m, 0x5a, sizeof(m));
	assert_int_equal(fy_mpm_defaults("single", &m), FY_ERROR);
	assert_int_equal(m.start_servers, 0x5a5a5a5a);
}

/* Apache's defaults are consistent: no warning, nothing moves. */
static void test_defaults_pass(void **state)
{
	struct fy_mpm_config m;

	(void)state;
	m = dflt("prefork");
	expect("prefork", &m, 0, NULL, "");
	assert_int_equal(m.daemons_limit, 256);
	assert_int_equal(m.max_request_workers, 256);
	assert_int_equal(m.start_servers, 5);
	assert_int_equal(m.max_spare_servers, 10);

	for (int i = 1; i < 3; i++) {
		m = dflt(mpms[i]);
		expect(mpms[i], &m, 0, NULL, "");
		assert_int_equal(m.daemons_limit, 16);
		assert_int_equal(m.max_request_workers, 400);
		assert_int_equal(m.start_servers, 3);
		assert_int_equal(m.min_spare_threads, 75);
		assert_int_equal(m.max_spare_threads, 250);
	}
}

/* Debian's mpm_*.conf values (apache2 2.4 in bookworm). */
static void test_debian_values(void **state)
{
	struct fy_mpm_config m;

	(void)state;
	m = dflt("prefork");
	m.max_request_workers = 150;
	expect("prefork", &m, 0, NULL, "");
	assert_int_equal(m.daemons_limit, 150);

	for (int i = 1; i < 3; i++) {
		m = dflt(mpms[i]);
		m.start_servers = 2;
		m.min_spare_threads = 25;
		m.max_spare_threads = 75;
		m.max_request_workers = 150;
		expect(mpms[i], &m, 0, NULL, "");
		assert_int_equal(m.daemons_limit, 6);
		assert_int_equal(m.max_spare_threads, 75);
		assert_int_equal(m.start_servers, 2);
	}
}

static void test_prefork_warnings(void **state)
{
	struct fy_mpm_config m;

	(void)state;
	m = dflt("prefork");
	m.server_limit = 300000;
	expect("prefork", &m, 0, NULL,
	       "WARNING: ServerLimit of 300000 exceeds compile-time limit of "
	       "200000 servers, decreasing to 200000.\n");
	assert_int_equal(m.server_limit, 200000);

	m = dflt("prefork");
	m.server_limit = 100;
	expect("prefork", &m, 0, NULL,
	       "WARNING: MaxRequestWorkers of 256 exceeds ServerLimit value "
	       "of 100 servers, decreasing MaxRequestWorkers to 100. To "
	       "increase, please see the ServerLimit directive.\n");
	assert_int_equal(m.max_request_workers, 100);
	assert_int_equal(m.daemons_limit, 100);

	m = dflt("prefork");
	m.server_limit = 0;
	expect("prefork", &m, 0, NULL,
	       "WARNING: ServerLimit of 0 not allowed, increasing to 1.\n"
	       "WARNING: MaxRequestWorkers of 256 exceeds ServerLimit value "
	       "of 1 servers, decreasing MaxRequestWorkers to 1. To "
	       "increase, please see the ServerLimit directive.\n");
	assert_int_equal(m.server_limit, 1);
	assert_int_equal(m.daemons_limit, 1);
	assert_int_equal(m.start_servers, 1);

	m = dflt("prefork");
	m.max_request_workers = -5;
	expect("prefork", &m, 0, NULL,
	       "WARNING: MaxRequestWorkers of -5 not allowed, increasing to "
	       "1.\n");
	assert_int_equal(m.max_request_workers, 1);

	m = dflt("prefork");
	m.start_servers = 0;
	expect("prefork", &m, 0, NULL,
	       "WARNING: StartServers of 0 not allowed, increasing to 1.\n");
	assert_int_equal(m.start_servers, 1);

	m = dflt("prefork");
	m.min_spare_servers = -3;
	expect("prefork", &m, 0, NULL,
	       "WARNING: MinSpareServers of -3 not allowed, increasing to 1 "
	       "to avoid almost certain server failure. Please read the "
	       "documentation.\n");
	assert_int_equal(m.min_spare_servers, 1);
	assert_int_equal(m.max_spare_servers, 10);
}

static void test_prefork_order(void **state)
{
	struct fy_mpm_config m = dflt("prefork");

	(void)state;
	m.min_spare_servers = 0;
	m.start_servers = -1;
	m.max_request_workers = 0;
	m.server_limit = 200001;
	expect("prefork", &m, 0, NULL,
	       "WARNING: ServerLimit of 200001 exceeds compile-time limit of "
	       "200000 servers, decreasing to 200000.\n"
	       "WARNING: MaxRequestWorkers of 0 not allowed, increasing to "
	       "1.\n"
	       "WARNING: StartServers of -1 not allowed, increasing to 1.\n"
	       "WARNING: MinSpareServers of 0 not allowed, increasing to 1 to "
	       "avoid almost certain server failure. Please read the "
	       "documentation.\n");
	assert_int_equal(m.server_limit, 200000);
	assert_int_equal(m.max_request_workers, 1);
	assert_int_equal(m.daemons_limit, 1);
	assert_int_equal(m.start_servers, 1);
	assert_int_equal(m.min_spare_servers, 1);
}

static void test_prefork_silent(void **state)
{
	struct fy_mpm_config m = dflt("prefork");

	(void)state;
	m.min_spare_servers = 20;
	m.max_spare_servers = 10;
	m.start_servers = 300;
	m.threads_per_child = 7;
	m.thread_limit = 9;
	expect("prefork", &m, 0, NULL, "");
	assert_int_equal(m.max_spare_servers, 21);
	assert_int_equal(m.start_servers, 256);
	assert_int_equal(m.threads_per_child, 1);
	assert_int_equal(m.thread_limit, 1);

	/* MinSpareServers + 1 must not wrap */
	m = dflt("prefork");
	m.min_spare_servers = INT32_MAX;
	expect("prefork", &m, 0, NULL, "");
	assert_int_equal(m.max_spare_servers, INT32_MAX);

	/* MaxConnectionsPerChild is Apache's to interpret, not to clamp */
	m = dflt("prefork");
	m.max_connections_per_child = -1;
	expect("prefork", &m, 0, NULL, "");
	assert_int_equal(m.max_connections_per_child, -1);
}

static void test_threaded_warnings(void **state)
{
	struct fy_mpm_config m;

	(void)state;
	for (int i = 1; i < 3; i++) {
		const char *mpm = mpms[i];

		m = dflt(mpm);
		m.server_limit = 20001;
		expect(mpm, &m, 0, NULL,
		       "WARNING: ServerLimit of 20001 exceeds compile-time "
		       "limit of 20000 servers, decreasing to 20000.\n");
		assert_int_equal(m.server_limit, 20000);

		m = dflt(mpm);
		m.server_limit = 8;
		expect(mpm, &m, 0, NULL,
		       "WARNING: MaxRequestWorkers of 400 would require 16 "
		       "servers and would exceed ServerLimit of 8, decreasing "
		       "to 200. To increase, please see the ServerLimit "
		       "directive.\n");
		assert_int_equal(m.daemons_limit, 8);
		assert_int_equal(m.max_request_workers, 200);
		assert_int_equal(m.start_servers, 3);

		m = dflt(mpm);
		m.server_limit = -2;
		expect(mpm, &m, 0, NULL,
		       "WARNING: ServerLimit of -2 not allowed, increasing to "
		       "1.\n"
		       "WARNING: MaxRequestWorkers of 400 would require 16 "
		       "servers and would exceed ServerLimit of 1, decreasing "
		       "to 25. To increase, please see the ServerLimit "
		       "directive.\n");
		assert_int_equal(m.daemons_limit, 1);
		assert_int_equal(m.start_servers, 1);

		m = dflt(mpm);
		m.thread_limit = 0;
		expect(mpm, &m, 0, NULL,
		       "WARNING: ThreadLimit of 0 not allowed, increasing to "
		       "1.\n"
		       "WARNING: ThreadsPerChild of 25 exceeds ThreadLimit of "
		       "1 threads, decreasing to 1. To increase, please see "
		       "the ThreadLimit directive.\n"
		       "WARNING: MaxRequestWorkers of 400 would require 400 "
		       "servers and would exceed ServerLimit of 16, decreasing "
		       "to 16. To increase, please see the ServerLimit "
		       "directive.\n");
		assert_int_equal(m.thread_limit, 1);
		assert_int_equal(m.threads_per_child, 1);
		assert_int_equal(m.daemons_limit, 16);
		assert_int_equal(m.max_request_workers, 16);

		m = dflt(mpm);
		m.threads_per_child = 30;
		expect(mpm, &m, 0, NULL,
		       "WARNING: MaxRequestWorkers of 400 is not an integer "
		       "multiple of ThreadsPerChild of 30, decreasing to "
		       "nearest multiple 390, for a maximum of 13 servers.\n");
		assert_int_equal(m.max_request_workers, 390);
		assert_int_equal(m.daemons_limit, 13);

		m = dflt(mpm);
		m.threads_per_child = 64;
		expect(mpm, &m, 0, NULL,
		       "WARNING: MaxRequestWorkers of 400 is not an integer "
		       "multiple of ThreadsPerChild of 64, decreasing to "
		       "nearest multiple 384, for a maximum of 6 servers.\n");

		m = dflt(mpm);
		m.threads_per_child = 30;
		m.max_request_workers = 100;
		expect(mpm, &m, 0, NULL,
		       "WARNING: MaxRequestWorkers of 100 is not an integer "
		       "multiple of ThreadsPerChild of 30, decreasing to "
		       "nearest multiple 90, for a maximum of 3 servers.\n");
		assert_int_equal(m.daemons_limit, 3);
		assert_int_equal(m.start_servers, 3);

		m = dflt(mpm);
		m.threads_per_child = 65;
		expect(mpm, &m, 0, NULL,
		       "WARNING: ThreadsPerChild of 65 exceeds ThreadLimit of "
		       "64 threads, decreasing to 64. To increase, please see "
		       "the ThreadLimit directive.\n"
		       "WARNING: MaxRequestWorkers of 400 is not an integer "
		       "multiple of ThreadsPerChild of 64, decreasing to "
		       "nearest multiple 384, for a maximum of 6 servers.\n");
		assert_int_equal(m.threads_per_child, 64);

		m = dflt(mpm);
		m.threads_per_child = 0;
		expect(mpm, &m, 0, NULL,
		       "WARNING: ThreadsPerChild of 0 not allowed, increasing "
		       "to 1.\n"
		       "WARNING: MaxRequestWorkers of 400 would require 400 "
		       "servers and would exceed ServerLimit of 16, decreasing "
		       "to 16. To increase, please see the ServerLimit "
		       "directive.\n");

		m = dflt(mpm);
		m.max_request_workers = 10;
		expect(mpm, &m, 0, NULL,
		       "WARNING: MaxRequestWorkers of 10 is less than "
		       "ThreadsPerChild of 25, increasing to 25. "
		       "MaxRequestWorkers must be at least as large as the "
		       "number of threads in a single server.\n");
		assert_int_equal(m.max_request_workers, 25);
		assert_int_equal(m.daemons_limit, 1);
		assert_int_equal(m.start_servers, 1);

		/* the rounded value is the one the next warning names */
		m = dflt(mpm);
		m.threads_per_child = 30;
		m.max_request_workers = 1000;
		expect(mpm, &m, 0, NULL,
		       "WARNING: MaxRequestWorkers of 1000 is not an integer "
		       "multiple of ThreadsPerChild of 30, decreasing to "
		       "nearest multiple 990, for a maximum of 33 servers.\n"
		       "WARNING: MaxRequestWorkers of 990 would require 33 "
		       "servers and would exceed ServerLimit of 16, decreasing "
		       "to 480. To increase, please see the ServerLimit "
		       "directive.\n");
		assert_int_equal(m.daemons_limit, 16);
		assert_int_equal(m.max_request_workers, 480);

		m = dflt(mpm);
		m.start_servers = 0;
		expect(mpm, &m, 0, NULL,
		       "WARNING: StartServers of 0 not allowed, increasing to "
		       "1.\n");
		assert_int_equal(m.start_servers, 1);

		m = dflt(mpm);
		m.min_spare_threads = 0;
		expect(mpm, &m, 0, NULL,
		       "WARNING: MinSpareThreads of 0 not allowed, increasing "
		       "to 1 to avoid almost certain server failure. Please "
		       "read the documentation.\n");
		assert_int_equal(m.min_spare_threads, 1);
		assert_int_equal(m.max_spare_threads, 250);
	}
}

/* The compile-time ThreadLimit differs: worker 20000, event 100000. */
static void test_thread_limit_max(void **state)
{
	struct fy_mpm_config m;

	(void)state;
	m = dflt("worker");
	m.thread_limit = 20001;
	expect("worker", &m, 0, NULL,
	       "WARNING: ThreadLimit of 20001 exceeds compile-time limit of "
	       "20000 threads, decreasing to 20000.\n");
	assert_int_equal(m.thread_limit, 20000);

	m = dflt("event");
	m.thread_limit = 20001;
	expect("event", &m, 0, NULL, "");
	assert_int_equal(m.thread_limit, 20001);

	m = dflt("event");
	m.thread_limit = 100001;
	expect("event", &m, 0, NULL,
	       "WARNING: ThreadLimit of 100001 exceeds compile-time limit of "
	       "100000 threads, decreasing to 100000.\n");
	assert_int_equal(m.thread_limit, 100000);
}

static void test_threaded_order(void **state)
{
	struct fy_mpm_config m = dflt("event");

	(void)state;
	m.min_spare_threads = -1;
	m.start_servers = 0;
	m.max_request_workers = 50;
	m.threads_per_child = 100;
	m.thread_limit = 0;
	m.server_limit = 0;
	expect("event", &m, 0, NULL,
	       "WARNING: ServerLimit of 0 not allowed, increasing to 1.\n"
	       "WARNING: ThreadLimit of 0 not allowed, increasing to 1.\n"
	       "WARNING: ThreadsPerChild of 100 exceeds ThreadLimit of 1 "
	       "threads, decreasing to 1. To increase, please see the "
	       "ThreadLimit directive.\n"
	       "WARNING: MaxRequestWorkers of 50 would require 50 servers and "
	       "would exceed ServerLimit of 1, decreasing to 1. To increase, "
	       "please see the ServerLimit directive.\n"
	       "WARNING: StartServers of 0 not allowed, increasing to 1.\n"
	       "WARNING: MinSpareThreads of -1 not allowed, increasing to 1 "
	       "to avoid almost certain server failure. Please read the "
	       "documentation.\n");
	assert_int_equal(m.daemons_limit, 1);
	assert_int_equal(m.max_request_workers, 1);
	assert_int_equal(m.max_spare_threads, 250);

	m = dflt("worker");
	m.max_request_workers = 20;
	m.threads_per_child = 70;
	expect("worker", &m, 0, NULL,
	       "WARNING: ThreadsPerChild of 70 exceeds ThreadLimit of 64 "
	       "threads, decreasing to 64. To increase, please see the "
	       "ThreadLimit directive.\n"
	       "WARNING: MaxRequestWorkers of 20 is less than ThreadsPerChild "
	       "of 64, increasing to 64. MaxRequestWorkers must be at least "
	       "as large as the number of threads in a single server.\n");
	assert_int_equal(m.daemons_limit, 1);
}

static void test_threaded_silent(void **state)
{
	struct fy_mpm_config m;

	(void)state;
	for (int i = 1; i < 3; i++) {
		m = dflt(mpms[i]);
		m.min_spare_threads = 100;
		m.max_spare_threads = 50;
		m.start_servers = 20;
		expect(mpms[i], &m, 0, NULL, "");
		assert_int_equal(m.max_spare_threads, 126);
		assert_int_equal(m.min_spare_threads, 100);
		assert_int_equal(m.start_servers, 16);

		/* Min + TPC + 1 exactly is enough */
		m = dflt(mpms[i]);
		m.min_spare_threads = 25;
		m.max_spare_threads = 51;
		expect(mpms[i], &m, 0, NULL, "");
		assert_int_equal(m.max_spare_threads, 51);

		m = dflt(mpms[i]);
		m.min_spare_threads = INT32_MAX;
		expect(mpms[i], &m, 0, NULL, "");
		assert_int_equal(m.max_spare_threads, INT32_MAX);
	}
}

static void test_factor(void **state)
{
	struct fy_mpm_config m;

	(void)state;
	m = dflt("event");
	m.async_request_worker_factor = 0.25;
	expect("event", &m, 0, NULL, "");
	assert_true(m.async_request_worker_factor == 1.0);

	/* not Apache's integer division: 1.5 stays 1.5 */
	m = dflt("event");
	m.async_request_worker_factor = 1.5;
	expect("event", &m, 0, NULL, "");
	assert_true(m.async_request_worker_factor == 1.5);

	m = dflt("worker");
	expect("worker", &m, 0, NULL, "");
	assert_true(m.async_request_worker_factor == 0.0);
}

static void test_prefork_restart(void **state)
{
	struct fy_mpm_config prev = running("prefork");
	struct fy_mpm_config m;

	(void)state;
	m = dflt("prefork");
	expect("prefork", &m, 1, &prev, "");

	m = dflt("prefork");
	m.server_limit = 100;
	expect("prefork", &m, 1, &prev,
	       "changing ServerLimit to 100 from original value of 256 not "
	       "allowed during restart\n");
	assert_int_equal(m.server_limit, 256);
	assert_int_equal(m.max_request_workers, 256);

	m = dflt("prefork");
	m.server_limit = 300000;
	expect("prefork", &m, 1, &prev,
	       "ServerLimit of 300000 exceeds compile-time limit of 200000, "
	       "decreasing to match\n"
	       "changing ServerLimit to 200000 from original value of 256 not "
	       "allowed during restart\n");
	assert_int_equal(m.server_limit, 256);

	m = dflt("prefork");
	m.server_limit = 0;
	expect("prefork", &m, 1, &prev,
	       "ServerLimit of 0 not allowed, increasing to 1\n"
	       "changing ServerLimit to 1 from original value of 256 not "
	       "allowed during restart\n");

	m = dflt("prefork");
	m.max_request_workers = 300;
	m.start_servers = 0;
	m.min_spare_servers = 0;
	expect("prefork", &m, 1, &prev,
	       "MaxRequestWorkers of 300 exceeds ServerLimit value of 256, "
	       "decreasing to match\n"
	       "StartServers of 0 not allowed, increasing to 1\n"
	       "MinSpareServers of 0 not allowed, increasing to 1\n");
	assert_int_equal(m.max_request_workers, 256);

	m = dflt("prefork");
	m.max_request_workers = 0;
	expect("prefork", &m, 1, &prev,
	       "MaxRequestWorkers of 0 not allowed, increasing to 1\n");

	/* no running values: nothing to compare */
	m = dflt("prefork");
	m.server_limit = 100;
	m.max_request_workers = 100;
	expect("prefork", &m, 1, NULL, "");
	assert_int_equal(m.server_limit, 100);
}

static void test_threaded_restart(void **state)
{
	struct fy_mpm_config prev, m;

	(void)state;
	for (int i = 1; i < 3; i++) {
		const char *mpm = mpms[i];

		prev = running(mpm);
		m = dflt(mpm);
		expect(mpm, &m, 1, &prev, "");

		m = dflt(mpm);
		m.server_limit = 20001;
		expect(mpm, &m, 1, &prev,
		       "ServerLimit of 20001 exceeds compile-time limit of "
		       "20000, decreasing to match\n"
		       "changing ServerLimit to 20000 from original value of "
		       "16 not allowed during restart\n");
		assert_int_equal(m.server_limit, 16);

		m = dflt(mpm);
		m.server_limit = 0;
		expect(mpm, &m, 1, &prev,
		       "ServerLimit of 0 not allowed, increasing to 1\n"
		       "changing ServerLimit to 1 from original value of 16 "
		       "not allowed during restart\n");
		assert_int_equal(m.daemons_limit, 16);

		m = dflt(mpm);
		m.thread_limit = 100;
		m.threads_per_child = 100;
		m.max_request_workers = 800;
		expect(mpm, &m, 1, &prev,
		       "changing ThreadLimit to 100 from original value of 64 "
		       "not allowed during restart\n"
		       "ThreadsPerChild of 100 exceeds ThreadLimit of 64, "
		       "decreasing to match\n"
		       "MaxRequestWorkers of 800 is not an integer multiple of "
		       "ThreadsPerChild of 64, decreasing to nearest multiple "
		       "768\n");
		assert_int_equal(m.thread_limit, 64);
		assert_int_equal(m.threads_per_child, 64);
		assert_int_equal(m.daemons_limit, 12);

		m = dflt(mpm);
		m.thread_limit = 0;
		expect(mpm, &m, 1, &prev,
		       "ThreadLimit of 0 not allowed, increasing to 1\n"
		       "changing ThreadLimit to 1 from original value of 64 "
		       "not allowed during restart\n");
		assert_int_equal(m.threads_per_child, 25);

		m = dflt(mpm);
		m.threads_per_child = 0;
		expect(mpm, &m, 1, &prev,
		       "ThreadsPerChild of 0 not allowed, increasing to 1\n"
		       "MaxRequestWorkers of 400 would require 400 servers and "
		       "exceed ServerLimit of 16, decreasing to 16\n");

		m = dflt(mpm);
		m.max_request_workers = 10;
		m.start_servers = -4;
		m.min_spare_threads = 0;
		expect(mpm, &m, 1, &prev,
		       "MaxRequestWorkers of 10 is less than ThreadsPerChild "
		       "of 25, increasing to match\n"
		       "StartServers of -4 not allowed, increasing to 1\n"
		       "MinSpareThreads of 0 not allowed, increasing to 1\n");
	}

	m = dflt("worker");
	m.thread_limit = 20001;
	prev = running("worker");
	expect("worker", &m, 1, &prev,
	       "ThreadLimit of 20001 exceeds compile-time limit of 20000, "
	       "decreasing to match\n"
	       "changing ThreadLimit to 20000 from original value of 64 not "
	       "allowed during restart\n");

	m = dflt("event");
	m.thread_limit = 100001;
	prev = running("event");
	expect("event", &m, 1, &prev,
	       "ThreadLimit of 100001 exceeds compile-time limit of 100000, "
	       "decreasing to match\n"
	       "changing ThreadLimit to 100000 from original value of 64 not "
	       "allowed during restart\n");
}

/* The kept ServerLimit is the one the later rules use. */
static void test_restart_keeps_limits(void **state)
{
	struct fy_mpm_config prev = dflt("event");
	struct fy_mpm_config m;

	(void)state;
	prev.server_limit = 32;
	prev.max_request_workers = 800;
	expect("event", &prev, 0, NULL, "");
	assert_int_equal(prev.daemons_limit, 32);

	m = dflt("event");
	m.max_request_workers = 800;
	expect("event", &m, 1, &prev,
	       "changing ServerLimit to 16 from original value of 32 not "
	       "allowed during restart\n");
	assert_int_equal(m.server_limit, 32);
	assert_int_equal(m.daemons_limit, 32);
	assert_int_equal(m.max_request_workers, 800);

	/* a first start with the same values warns in full */
	m = dflt("event");
	m.max_request_workers = 800;
	expect("event", &m, 0, &prev,
	       "WARNING: MaxRequestWorkers of 800 would require 32 servers "
	       "and would exceed ServerLimit of 16, decreasing to 400. To "
	       "increase, please see the ServerLimit directive.\n");
}

static void test_warn_buffer(void **state)
{
	struct fy_mpm_config m;
	char warn[40];

	(void)state;
	/* appended after what the buffer holds */
	strcpy(warn, "x\n");
	m = dflt("prefork");
	m.start_servers = 0;
	assert_int_equal(fy_mpm_check("prefork", &m, 0, NULL, warn, 40), 1);
	assert_string_equal(warn, "x\nWARNING: StartServers of 0 not allowe");

	/* truncated, still counted and applied */
	m = dflt("prefork");
	m.start_servers = 0;
	m.min_spare_servers = 0;
	warn[0] = '\0';
	assert_int_equal(fy_mpm_check("prefork", &m, 0, NULL, warn, 10), 2);
	assert_string_equal(warn, "WARNING: ");
	assert_int_equal(m.min_spare_servers, 1);

	m = dflt("worker");
	m.start_servers = 0;
	assert_int_equal(fy_mpm_check("worker", &m, 0, NULL, NULL, 0), 1);
	assert_int_equal(m.start_servers, 1);

	m = dflt("worker");
	m.start_servers = 0;
	assert_int_equal(fy_mpm_check("single", &m, 0, NULL, NULL, 0),
			 FY_ERROR);
	assert_int_equal(m.start_servers, 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_known),
	    cmocka_unit_test(test_defaults),
	    cmocka_unit_test(test_defaults_pass),
	    cmocka_unit_test(test_debian_values),
	    cmocka_unit_test(test_prefork_warnings),
	    cmocka_unit_test(test_prefork_order),
	    cmocka_unit_test(test_prefork_silent),
	    cmocka_unit_test(test_threaded_warnings),
	    cmocka_unit_test(test_thread_limit_max),
	    cmocka_unit_test(test_threaded_order),
	    cmocka_unit_test(test_threaded_silent),
	    cmocka_unit_test(test_factor),
	    cmocka_unit_test(test_prefork_restart),
	    cmocka_unit_test(test_threaded_restart),
	    cmocka_unit_test(test_restart_keeps_limits),
	    cmocka_unit_test(test_warn_buffer),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
