/*
 * test_scoreboard.c - the shared-memory scoreboard: creation limits, slot
 * states and their resets, counters, truncation, process records, claims,
 * a fork()ed child writing while the parent reads, and threads writing
 * their own slots while a reader takes snapshots (no torn strings).
 */
#include <errno.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "foyer/core.h"
#include "foyer/scoreboard.h"

static int64_t wall_us(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

static const struct fy_status_slot *slot_of(const struct fy_status_snapshot *s,
					    int i, int j)
{
	return &s->slots[(size_t)i * (size_t)s->thread_limit + (size_t)j];
}

static void test_create_limits(void **state)
{
	(void)state;
	errno = 0;
	assert_null(fy_scoreboard_create(0, 1));
	assert_int_equal(errno, EINVAL);
	assert_null(fy_scoreboard_create(1, 0));
	assert_null(fy_scoreboard_create(-3, 4));
	assert_null(fy_scoreboard_create(FY_SCOREBOARD_MAX_SLOTS, 2));

	int64_t before = wall_us();
	struct fy_scoreboard *sb = fy_scoreboard_create(16, 64);
	assert_non_null(sb);
	assert_int_equal(fy_scoreboard_server_limit(sb), 16);
	assert_int_equal(fy_scoreboard_thread_limit(sb), 64);
	assert_null(fy_scoreboard_slot(sb, 16, 0));
	assert_null(fy_scoreboard_slot(sb, 0, 64));
	assert_null(fy_scoreboard_slot(sb, -1, 0));
	assert_null(fy_scoreboard_proc(sb, 16));
	assert_non_null(fy_scoreboard_slot(sb, 15, 63));

	struct fy_status_snapshot *s = fy_scoreboard_snapshot(sb);
	assert_non_null(s);
	assert_int_equal(s->server_limit, 16);
	assert_int_equal(s->thread_limit, 64);
	assert_int_equal(s->daemons_limit, 16);
	assert_int_equal(s->threads_per_child, 64);
	assert_true(s->restart_time_us >= before);
	assert_true(s->restart_time_us <= wall_us());
	for (int i = 0; i < 16; i++) {
		assert_int_equal(s->procs[i].pid, 0);
		for (int j = 0; j < 64; j++) {
			assert_int_equal(slot_of(s, i, j)->status, FY_SLOT_DEAD);
			assert_int_equal(slot_of(s, i, j)->access_count, 0);
			assert_string_equal(slot_of(s, i, j)->request, "");
		}
	}
	fy_scoreboard_snapshot_free(s);
	fy_scoreboard_destroy(sb);
	fy_scoreboard_destroy(NULL);
}

static void test_status_chars(void **state)
{
	(void)state;
	char all[FY_SLOT_NSTATUS + 1];
	for (int k = 0; k < FY_SLOT_NSTATUS; k++)
		all[k] = fy_scoreboard_status_char((enum fy_slot_status)k);
	all[FY_SLOT_NSTATUS] = '\0';
	/* Apache's order of values, mod_status's characters */
	assert_string_equal(all, ".S_RWKLDCGI");
	assert_int_equal(fy_scoreboard_status_char(FY_SLOT_NSTATUS), '?');
	assert_int_equal(fy_scoreboard_status_char((enum fy_slot_status)-1),
			 '?');
}

static void test_slot_states(void **state)
{
	(void)state;
	struct fy_scoreboard *sb = fy_scoreboard_create(2, 3);
	assert_non_null(sb);
	for (int k = 0; k < FY_SLOT_NSTATUS; k++) {
		struct fy_scoreboard_slot *w = fy_scoreboard_slot(sb, 1, 2);
		fy_scoreboard_set_status(w, (enum fy_slot_status)k);
		struct fy_status_snapshot *s = fy_scoreboard_snapshot(sb);
		assert_int_equal(slot_of(s, 1, 2)->status, k);
		assert_int_equal(slot_of(s, 1, 1)->status, FY_SLOT_DEAD);
		fy_scoreboard_snapshot_free(s);
	}
	/* an out-of-range status is refused, the slot keeps its state */
	struct fy_scoreboard_slot *w = fy_scoreboard_slot(sb, 0, 0);
	fy_scoreboard_set_status(w, FY_SLOT_KEEPALIVE);
	fy_scoreboard_set_status(w, FY_SLOT_NSTATUS);
	struct fy_status_snapshot *s = fy_scoreboard_snapshot(sb);
	assert_int_equal(slot_of(s, 0, 0)->status, FY_SLOT_KEEPALIVE);
	fy_scoreboard_snapshot_free(s);
	fy_scoreboard_destroy(sb);
}

static void test_counters_and_resets(void **state)
{
	(void)state;
	struct fy_scoreboard *sb = fy_scoreboard_create(1, 2);
	struct fy_scoreboard_slot *w = fy_scoreboard_slot(sb, 0, 1);
	fy_scoreboard_set_status(w, FY_SLOT_READY);
	fy_scoreboard_set_status(w, FY_SLOT_READ);

	int64_t t0 = wall_us();
	fy_scoreboard_request_begin(w, "192.0.2.7", "example.com:80",
				    "GET /a HTTP/1.1xxxx", 15, "HTTP/1.1");
	struct fy_status_snapshot *s = fy_scoreboard_snapshot(sb);
	const struct fy_status_slot *o = slot_of(s, 0, 1);
	assert_int_equal(o->status, FY_SLOT_WRITE);
	assert_string_equal(o->client, "192.0.2.7");
	assert_string_equal(o->vhost, "example.com:80");
	assert_string_equal(o->request, "GET /a HTTP/1.1");
	assert_string_equal(o->protocol, "HTTP/1.1");
	assert_true(o->last_begin_us >= t0 && o->last_begin_us <= wall_us());
	assert_int_equal(o->access_count, 0);
	fy_scoreboard_snapshot_free(s);

	fy_scoreboard_request_end(w, 1000, 2500);
	fy_scoreboard_set_status(w, FY_SLOT_KEEPALIVE);
	fy_scoreboard_request_begin(w, "192.0.2.7", "example.com:80",
				    "GET /b HTTP/1.1", 15, "HTTP/1.1");
	fy_scoreboard_request_end(w, 24, 500);
	s = fy_scoreboard_snapshot(sb);
	o = slot_of(s, 0, 1);
	assert_int_equal(o->status, FY_SLOT_WRITE); /* end leaves the status */
	assert_int_equal(o->access_count, 2);
	assert_int_equal(o->my_access_count, 2);
	assert_int_equal(o->conn_count, 2);
	assert_int_equal(o->bytes_served, 1024);
	assert_int_equal(o->my_bytes_served, 1024);
	assert_int_equal(o->conn_bytes, 1024);
	assert_int_equal(o->duration_us, 3000);
	assert_int_equal(o->last_duration_us, 500);
	assert_true(o->last_end_us >= o->last_begin_us);
	assert_string_equal(o->request, "GET /b HTTP/1.1");
	fy_scoreboard_snapshot_free(s);

	/* READY: a new connection */
	fy_scoreboard_set_status(w, FY_SLOT_READY);
	s = fy_scoreboard_snapshot(sb);
	o = slot_of(s, 0, 1);
	assert_int_equal(o->conn_count, 0);
	assert_int_equal(o->conn_bytes, 0);
	assert_int_equal(o->my_access_count, 2);
	assert_int_equal(o->access_count, 2);
	fy_scoreboard_snapshot_free(s);

	/* DEAD: the child is gone; the slot's totals and last request stay */
	fy_scoreboard_set_status(w, FY_SLOT_DEAD);
	s = fy_scoreboard_snapshot(sb);
	o = slot_of(s, 0, 1);
	assert_int_equal(o->my_access_count, 0);
	assert_int_equal(o->my_bytes_served, 0);
	assert_int_equal(o->access_count, 2);
	assert_int_equal(o->bytes_served, 1024);
	assert_string_equal(o->request, "GET /b HTTP/1.1");
	fy_scoreboard_snapshot_free(s);

	/* hard restart: everything but the limits and strings goes */
	fy_scoreboard_set_server(sb, "foyer/0.1.0", "today", "worker");
	fy_scoreboard_set_generations(sb, 3, 2);
	fy_scoreboard_proc_start(fy_scoreboard_proc(sb, 0), 4242, 2);
	fy_scoreboard_reset(sb, 123456789);
	s = fy_scoreboard_snapshot(sb);
	o = slot_of(s, 0, 1);
	assert_int_equal(o->access_count, 0);
	assert_int_equal(o->bytes_served, 0);
	assert_int_equal(o->duration_us, 0);
	assert_string_equal(o->request, "");
	assert_int_equal(s->procs[0].pid, 0);
	assert_int_equal(s->restart_time_us, 123456789);
	assert_string_equal(s->server_version, "foyer/0.1.0");
	assert_string_equal(s->mpm, "worker");
	assert_int_equal(s->config_generation, 3);
	assert_int_equal(s->mpm_generation, 2);
	fy_scoreboard_snapshot_free(s);
	fy_scoreboard_destroy(sb);
}

static void test_truncation(void **state)
{
	(void)state;
	struct fy_scoreboard *sb = fy_scoreboard_create(1, 1);
	struct fy_scoreboard_slot *w = fy_scoreboard_slot(sb, 0, 0);
	char line[200], longname[200];
	memset(line, 'a', sizeof(line));
	memcpy(line, "GET /", 5);
	memset(longname, 'v', sizeof(longname) - 1);
	longname[sizeof(longname) - 1] = '\0';
	fy_scoreboard_request_begin(w, longname, longname, line, sizeof(line),
				    "HTTP/1.1-and-much-more");
	struct fy_status_snapshot *s = fy_scoreboard_snapshot(sb);
	const struct fy_status_slot *o = slot_of(s, 0, 0);
	assert_int_equal(strlen(o->request), 63);
	assert_memory_equal(o->request, line, 63);
	assert_int_equal(strlen(o->client), FY_SCOREBOARD_CLIENT_LEN - 1);
	assert_int_equal(strlen(o->vhost), FY_SCOREBOARD_VHOST_LEN - 1);
	assert_string_equal(o->protocol, "HTTP/1.1-and-mu");
	fy_scoreboard_snapshot_free(s);

	/* exactly 63 fits; NULL strings record "" */
	fy_scoreboard_request_begin(w, NULL, NULL, line, 63, NULL);
	s = fy_scoreboard_snapshot(sb);
	o = slot_of(s, 0, 0);
	assert_memory_equal(o->request, line, 63);
	assert_int_equal(o->request[63], '\0');
	assert_string_equal(o->client, "");
	assert_string_equal(o->vhost, "");
	assert_string_equal(o->protocol, "");
	fy_scoreboard_snapshot_free(s);

	/* a shorter line replaces a longer one completely */
	fy_scoreboard_request_begin(w, "::1", "h:80", "GET / HTTP/1.0", 14,
				    "HTTP/1.0");
	s = fy_scoreboard_snapshot(sb);
	assert_string_equal(slot_of(s, 0, 0)->request, "GET / HTTP/1.0");
	fy_scoreboard_snapshot_free(s);

	fy_scoreboard_set_server(sb,
				 "a-version-string-much-longer-than-sixty-four-"
				 "bytes-which-gets-cut-somewhere-here",
				 NULL, "event");
	s = fy_scoreboard_snapshot(sb);
	assert_int_equal(strlen(s->server_version),
			 FY_SCOREBOARD_VERSION_LEN - 1);
	assert_string_equal(s->server_built, "");
	assert_string_equal(s->mpm, "event");
	fy_scoreboard_snapshot_free(s);
	fy_scoreboard_destroy(sb);
}

static void test_limits_and_globals(void **state)
{
	(void)state;
	struct fy_scoreboard *sb = fy_scoreboard_create(16, 64);
	fy_scoreboard_set_limits(sb, 6, 25);
	fy_scoreboard_set_children_cpu(sb, 1500000, 250000);
	struct fy_status_snapshot *s = fy_scoreboard_snapshot(sb);
	assert_int_equal(s->daemons_limit, 6);
	assert_int_equal(s->threads_per_child, 25);
	assert_int_equal(s->children_cpu_user_us, 1500000);
	assert_int_equal(s->children_cpu_system_us, 250000);
	fy_scoreboard_snapshot_free(s);
	fy_scoreboard_set_limits(sb, 100, 0);
	s = fy_scoreboard_snapshot(sb);
	assert_int_equal(s->daemons_limit, 16);
	assert_int_equal(s->threads_per_child, 1);
	fy_scoreboard_snapshot_free(s);
	fy_scoreboard_destroy(sb);
}

static void test_process_records(void **state)
{
	(void)state;
	struct fy_scoreboard *sb = fy_scoreboard_create(3, 2);
	assert_int_equal(fy_scoreboard_proc_free(sb, 3), 0);
	struct fy_scoreboard_proc *p = fy_scoreboard_proc(sb, 0);
	fy_scoreboard_proc_start(p, 1234, 5);
	assert_int_equal(fy_scoreboard_proc_pid(p), 1234);
	assert_int_equal(fy_scoreboard_proc_free(sb, 3), 1);
	assert_int_equal(fy_scoreboard_proc_free(sb, 1), -1);
	fy_scoreboard_proc_start(fy_scoreboard_proc(sb, 1), 1235, 5);
	fy_scoreboard_proc_start(fy_scoreboard_proc(sb, 2), 1236, 5);
	assert_int_equal(fy_scoreboard_proc_free(sb, 99), -1);

	fy_scoreboard_proc_set_quiescing(p, 1);
	fy_scoreboard_proc_set_accepting(p, 0);
	fy_scoreboard_proc_conns_add(p, FY_PROC_CONNS_TOTAL, 3);
	fy_scoreboard_proc_conns_add(p, FY_PROC_CONNS_KEEPALIVE, 2);
	fy_scoreboard_proc_conns_add(p, FY_PROC_CONNS_KEEPALIVE, -1);
	fy_scoreboard_proc_conns_set(p, FY_PROC_CONNS_CLOSING, 7);
	fy_scoreboard_proc_conns_add(p, FY_PROC_CONNS_N, 1); /* ignored */
	fy_scoreboard_proc_set_cpu(p, 20000, 30000);
	struct fy_scoreboard_slot *w = fy_scoreboard_slot(sb, 0, 1);
	fy_scoreboard_set_status(w, FY_SLOT_READY);
	fy_scoreboard_request_begin(w, "c", "v", "GET / HTTP/1.1", 14, "p");
	fy_scoreboard_request_end(w, 10, 10);

	struct fy_status_snapshot *s = fy_scoreboard_snapshot(sb);
	assert_int_equal(s->procs[0].pid, 1234);
	assert_int_equal(s->procs[0].generation, 5);
	assert_int_equal(s->procs[0].quiescing, 1);
	assert_int_equal(s->procs[0].not_accepting, 1);
	assert_int_equal(s->procs[0].conns[FY_PROC_CONNS_TOTAL], 3);
	assert_int_equal(s->procs[0].conns[FY_PROC_CONNS_KEEPALIVE], 1);
	assert_int_equal(s->procs[0].conns[FY_PROC_CONNS_CLOSING], 7);
	assert_int_equal(s->procs[0].conns[FY_PROC_CONNS_WRITING], 0);
	assert_int_equal(s->procs[0].cpu_user_us, 20000);
	assert_int_equal(s->procs[0].cpu_system_us, 30000);
	fy_scoreboard_snapshot_free(s);

	/* a counter below zero for a moment reads as 0 */
	fy_scoreboard_proc_conns_add(p, FY_PROC_CONNS_WRITING, -1);
	s = fy_scoreboard_snapshot(sb);
	assert_int_equal(s->procs[0].conns[FY_PROC_CONNS_WRITING], 0);
	fy_scoreboard_snapshot_free(s);

	/* the sampled CPU time of this process is not zero forever */
	volatile unsigned long spin = 0;
	for (unsigned long k = 0; k < 30000000UL; k++)
		spin += k;
	fy_scoreboard_proc_sample_cpu(fy_scoreboard_proc(sb, 1));
	s = fy_scoreboard_snapshot(sb);
	assert_true(s->procs[1].cpu_user_us + s->procs[1].cpu_system_us > 0);
	fy_scoreboard_snapshot_free(s);

	fy_scoreboard_proc_exit(sb, 0);
	fy_scoreboard_proc_exit(sb, 7); /* out of range: nothing */
	s = fy_scoreboard_snapshot(sb);
	assert_int_equal(s->procs[0].pid, 0);
	assert_int_equal(s->procs[0].quiescing, 0);
	assert_int_equal(s->procs[0].conns[FY_PROC_CONNS_TOTAL], 0);
	assert_int_equal(slot_of(s, 0, 1)->status, FY_SLOT_DEAD);
	assert_int_equal(slot_of(s, 0, 1)->access_count, 1);
	assert_int_equal(slot_of(s, 0, 1)->my_access_count, 0);
	assert_int_equal(s->procs[1].pid, 1235);
	fy_scoreboard_snapshot_free(s);
	assert_int_equal(fy_scoreboard_proc_free(sb, 3), 0);

	/* proc_start clears what the previous child left */
	fy_scoreboard_proc_start(p, 999, 6);
	s = fy_scoreboard_snapshot(sb);
	assert_int_equal(s->procs[0].not_accepting, 0);
	assert_int_equal(s->procs[0].cpu_user_us, 0);
	fy_scoreboard_snapshot_free(s);
	fy_scoreboard_destroy(sb);
}

static void test_claim_release(void **state)
{
	(void)state;
	struct fy_scoreboard *sb = fy_scoreboard_create(2, 4);
	fy_scoreboard_set_limits(sb, 2, 3);
	/* nothing READY yet: nothing to claim */
	assert_null(fy_scoreboard_slot_claim(sb, 0));
	for (int j = 0; j < 4; j++)
		fy_scoreboard_set_status(fy_scoreboard_slot(sb, 0, j),
					 FY_SLOT_READY);
	fy_scoreboard_set_status(fy_scoreboard_slot(sb, 0, 1),
				 FY_SLOT_STARTING);
	struct fy_scoreboard_slot *a = fy_scoreboard_slot_claim(sb, 0);
	struct fy_scoreboard_slot *b = fy_scoreboard_slot_claim(sb, 0);
	assert_ptr_equal(a, fy_scoreboard_slot(sb, 0, 0));
	assert_ptr_equal(b, fy_scoreboard_slot(sb, 0, 2));
	/* slot 1 is STARTING, slot 3 is beyond threads_per_child */
	assert_null(fy_scoreboard_slot_claim(sb, 0));
	assert_null(fy_scoreboard_slot_claim(sb, 1));
	assert_null(fy_scoreboard_slot_claim(sb, 2));

	fy_scoreboard_request_begin(a, "c", "v", "GET / HTTP/1.1", 14, "p");
	fy_scoreboard_request_end(a, 5, 5);
	fy_scoreboard_slot_release(a);
	struct fy_status_snapshot *s = fy_scoreboard_snapshot(sb);
	assert_int_equal(slot_of(s, 0, 0)->status, FY_SLOT_READY);
	assert_int_equal(slot_of(s, 0, 0)->access_count, 1);
	fy_scoreboard_snapshot_free(s);
	assert_ptr_equal(fy_scoreboard_slot_claim(sb, 0), a);
	fy_scoreboard_destroy(sb);
}

struct claimer {
	struct fy_scoreboard *sb;
	_Atomic int *owners; /* per slot: threads holding it */
	_Atomic int *bad;
	int rounds;
};

static void *claim_loop(void *arg)
{
	struct claimer *c = arg;
	for (int k = 0; k < c->rounds; k++) {
		struct fy_scoreboard_slot *w = fy_scoreboard_slot_claim(c->sb, 0);
		if (w == NULL)
			continue;
		int j = 0;
		while (fy_scoreboard_slot(c->sb, 0, j) != w)
			j++;
		if (atomic_fetch_add(&c->owners[j], 1) != 0)
			atomic_fetch_add(c->bad, 1);
		fy_scoreboard_request_begin(w, "c", "v", "GET / HTTP/1.1", 14,
					    "p");
		fy_scoreboard_request_end(w, 1, 1);
		atomic_fetch_sub(&c->owners[j], 1);
		fy_scoreboard_slot_release(w);
	}
	return NULL;
}

static void test_claims_from_threads(void **state)
{
	(void)state;
	enum { THREADS = 6, SLOTS = 3, ROUNDS = 3000 };
	struct fy_scoreboard *sb = fy_scoreboard_create(1, SLOTS);
	for (int j = 0; j < SLOTS; j++)
		fy_scoreboard_set_status(fy_scoreboard_slot(sb, 0, j),
					 FY_SLOT_READY);
	_Atomic int owners[SLOTS] = {0};
	_Atomic int bad = 0;
	struct claimer c = {sb, owners, &bad, ROUNDS};
	pthread_t t[THREADS];
	for (int k = 0; k < THREADS; k++)
		assert_int_equal(pthread_create(&t[k], NULL, claim_loop, &c), 0);
	for (int k = 0; k < THREADS; k++)
		pthread_join(t[k], NULL);
	assert_int_equal(atomic_load(&bad), 0);
	struct fy_status_snapshot *s = fy_scoreboard_snapshot(sb);
	uint64_t total = 0;
	for (int j = 0; j < SLOTS; j++) {
		assert_int_equal(slot_of(s, 0, j)->status, FY_SLOT_READY);
		total += slot_of(s, 0, j)->access_count;
	}
	assert_true(total > 0 && total <= THREADS * ROUNDS);
	fy_scoreboard_snapshot_free(s);
	fy_scoreboard_destroy(sb);
}

/* A forked child writes its slots and its record; the parent sees them. */
static void test_fork_child_writes(void **state)
{
	(void)state;
	struct fy_scoreboard *sb = fy_scoreboard_create(4, 2);
	fy_scoreboard_set_server(sb, "foyer/0.1.0", "built", "worker");
	pid_t pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		struct fy_scoreboard_proc *p = fy_scoreboard_proc(sb, 2);
		fy_scoreboard_proc_start(p, getpid(), 1);
		for (int j = 0; j < 2; j++) {
			struct fy_scoreboard_slot *w =
			    fy_scoreboard_slot(sb, 2, j);
			fy_scoreboard_set_status(w, FY_SLOT_READY);
			fy_scoreboard_request_begin(w, "203.0.113.9",
						    "child.test:8080",
						    "POST /form HTTP/1.1", 19,
						    "HTTP/1.1");
			fy_scoreboard_request_end(w, 300 + (uint64_t)j, 1000);
		}
		fy_scoreboard_set_status(fy_scoreboard_slot(sb, 2, 1),
					 FY_SLOT_KEEPALIVE);
		fy_scoreboard_proc_conns_add(p, FY_PROC_CONNS_TOTAL, 2);
		_exit(0);
	}
	int st;
	assert_int_equal(waitpid(pid, &st, 0), pid);
	assert_true(WIFEXITED(st) && WEXITSTATUS(st) == 0);

	struct fy_status_snapshot *s = fy_scoreboard_snapshot(sb);
	assert_int_equal(s->procs[2].pid, pid);
	assert_int_equal(s->procs[2].generation, 1);
	assert_int_equal(s->procs[2].conns[FY_PROC_CONNS_TOTAL], 2);
	assert_int_equal(slot_of(s, 2, 0)->status, FY_SLOT_WRITE);
	assert_int_equal(slot_of(s, 2, 1)->status, FY_SLOT_KEEPALIVE);
	assert_int_equal(slot_of(s, 2, 0)->bytes_served, 300);
	assert_int_equal(slot_of(s, 2, 1)->bytes_served, 301);
	assert_string_equal(slot_of(s, 2, 1)->request, "POST /form HTTP/1.1");
	assert_string_equal(slot_of(s, 2, 1)->vhost, "child.test:8080");
	assert_string_equal(s->mpm, "worker");
	fy_scoreboard_snapshot_free(s);

	/* the master reaps it */
	fy_scoreboard_proc_exit(sb, 2);
	s = fy_scoreboard_snapshot(sb);
	assert_int_equal(s->procs[2].pid, 0);
	assert_int_equal(slot_of(s, 2, 1)->status, FY_SLOT_DEAD);
	assert_int_equal(slot_of(s, 2, 1)->access_count, 1);
	fy_scoreboard_snapshot_free(s);
	fy_scoreboard_destroy(sb);
}

/*
 * Writers fill their slot with texts made of one letter that changes every
 * round; the status says which letter too. A torn read would mix letters
 * within a string, between strings, or between the strings and the status.
 */
enum { W_THREADS = 4, W_ROUNDS = 20000 };

struct writer {
	struct fy_scoreboard *sb;
	int thread;
	_Atomic int *stop;
};

static void *write_loop(void *arg)
{
	struct writer *wr = arg;
	struct fy_scoreboard_slot *w = fy_scoreboard_slot(wr->sb, 0, wr->thread);
	char client[FY_SCOREBOARD_CLIENT_LEN + 8];
	char vhost[FY_SCOREBOARD_VHOST_LEN + 8];
	char line[100];
	for (int k = 0; k < W_ROUNDS; k++) {
		char c = (char)('a' + k % 26);
		/* lengths vary so that a stale tail would show */
		size_t n = 5 + (size_t)(k % 30);
		memset(client, c, sizeof(client));
		client[n] = '\0';
		memset(vhost, c, sizeof(vhost));
		vhost[sizeof(vhost) - 1] = '\0';
		memset(line, c, sizeof(line));
		fy_scoreboard_request_begin(w, client, vhost, line, n + 20,
					    k % 2 ? "HTTP/1.1" : "HTTP/1.0");
		fy_scoreboard_request_end(w, (uint64_t)n, 1);
		fy_scoreboard_set_status(w, k % 2 ? FY_SLOT_KEEPALIVE
						  : FY_SLOT_CLOSING);
	}
	atomic_fetch_add(wr->stop, 1);
	return NULL;
}

static int uniform(const char *s, size_t *len)
{
	*len = strlen(s);
	for (size_t i = 1; i < *len; i++)
		if (s[i] != s[0])
			return 0;
	return 1;
}

/* 1 if the copy of a slot is one round's writing. */
static int consistent(const struct fy_status_slot *o)
{
	size_t lc, lv, lr;
	if (!uniform(o->client, &lc) || !uniform(o->vhost, &lv) ||
	    !uniform(o->request, &lr))
		return 0;
	if (o->client[0] != o->vhost[0] || o->client[0] != o->request[0])
		return 0;
	/* the vhost is always full, the request 20 longer than the client */
	if (lv != FY_SCOREBOARD_VHOST_LEN - 1 || lr != lc + 20)
		return 0;
	/* status and protocol of the same round */
	int odd = strcmp(o->protocol, "HTTP/1.1") == 0;
	if (!odd && strcmp(o->protocol, "HTTP/1.0") != 0)
		return 0;
	if (o->status != FY_SLOT_WRITE &&
	    o->status != (odd ? FY_SLOT_KEEPALIVE : FY_SLOT_CLOSING))
		return 0;
	/* bytes are the sum of the client lengths so far */
	return o->bytes_served >= lc;
}

static void test_threads_no_torn_strings(void **state)
{
	(void)state;
	struct fy_scoreboard *sb = fy_scoreboard_create(1, W_THREADS);
	_Atomic int done = 0;
	struct writer wr[W_THREADS];
	pthread_t t[W_THREADS];
	for (int k = 0; k < W_THREADS; k++) {
		wr[k] = (struct writer){sb, k, &done};
		assert_int_equal(pthread_create(&t[k], NULL, write_loop, &wr[k]),
				 0);
	}
	/* No assert while the writers run: a failed one would leave them
	 * running on this stack frame. */
	int snapshots = 0, good = 0, blank = 0, torn = 0, oom = 0;
	while (atomic_load(&done) < W_THREADS || snapshots < 10) {
		struct fy_status_snapshot *s = fy_scoreboard_snapshot(sb);
		if (s == NULL) {
			oom++;
			break;
		}
		for (int j = 0; j < W_THREADS; j++) {
			const struct fy_status_slot *o = slot_of(s, 0, j);
			if (o->access_count == 0 && o->request[0] == '\0')
				continue;
			if (o->client[0] == '\0' && o->vhost[0] == '\0' &&
			    o->request[0] == '\0' && o->protocol[0] == '\0')
				blank++; /* the reader gave up waiting */
			else if (consistent(o))
				good++;
			else
				torn++;
		}
		fy_scoreboard_snapshot_free(s);
		snapshots++;
	}
	for (int k = 0; k < W_THREADS; k++)
		pthread_join(t[k], NULL);
	assert_int_equal(oom, 0);
	assert_int_equal(torn, 0);
	assert_true(good > 0);
	assert_true(good + blank > 0);
	struct fy_status_snapshot *s = fy_scoreboard_snapshot(sb);
	for (int j = 0; j < W_THREADS; j++) {
		assert_int_equal(slot_of(s, 0, j)->access_count, W_ROUNDS);
		assert_true(consistent(slot_of(s, 0, j)));
	}
	fy_scoreboard_snapshot_free(s);
	fy_scoreboard_destroy(sb);
}

/* Several loop threads of one child move the same connection counter. */
struct adder {
	struct fy_scoreboard_proc *p;
};

static void *add_loop(void *arg)
{
	struct adder *a = arg;
	for (int k = 0; k < 10000; k++) {
		fy_scoreboard_proc_conns_add(a->p, FY_PROC_CONNS_TOTAL, 1);
		fy_scoreboard_proc_conns_add(a->p, FY_PROC_CONNS_KEEPALIVE, 1);
		fy_scoreboard_proc_conns_add(a->p, FY_PROC_CONNS_KEEPALIVE, -1);
	}
	return NULL;
}

static void test_conn_counters_threads(void **state)
{
	(void)state;
	struct fy_scoreboard *sb = fy_scoreboard_create(1, 1);
	struct adder a = {fy_scoreboard_proc(sb, 0)};
	pthread_t t[4];
	for (int k = 0; k < 4; k++)
		assert_int_equal(pthread_create(&t[k], NULL, add_loop, &a), 0);
	for (int k = 0; k < 4; k++)
		pthread_join(t[k], NULL);
	struct fy_status_snapshot *s = fy_scoreboard_snapshot(sb);
	assert_int_equal(s->procs[0].conns[FY_PROC_CONNS_TOTAL], 40000);
	assert_int_equal(s->procs[0].conns[FY_PROC_CONNS_KEEPALIVE], 0);
	fy_scoreboard_snapshot_free(s);
	fy_scoreboard_destroy(sb);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_create_limits),
	    cmocka_unit_test(test_status_chars),
	    cmocka_unit_test(test_slot_states),
	    cmocka_unit_test(test_counters_and_resets),
	    cmocka_unit_test(test_truncation),
	    cmocka_unit_test(test_limits_and_globals),
	    cmocka_unit_test(test_process_records),
	    cmocka_unit_test(test_claim_release),
	    cmocka_unit_test(test_claims_from_threads),
	    cmocka_unit_test(test_fork_child_writes),
	    cmocka_unit_test(test_threads_no_torn_strings),
	    cmocka_unit_test(test_conn_counters_threads),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
