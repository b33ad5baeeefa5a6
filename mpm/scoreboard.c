/*
 * scoreboard.c - the shared-memory scoreboard (contract and concurrency
 * model in include/foyer/scoreboard.h).
 */
#include <errno.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <time.h>

#include "foyer/core.h"
#include "foyer/scoreboard.h"

#define CACHE_LINE 64

/* Strings live in shared memory as atomic words so that a reader racing a
 * writer reads stale or fresh words, never an undefined mix the compiler
 * may tear further; the sequence counter then tells it to retry. */
#define WORDS(len) (((len) + 7) / 8)

_Static_assert(FY_SCOREBOARD_VERSION_LEN >= FY_SCOREBOARD_REQUEST_LEN &&
		       FY_SCOREBOARD_VERSION_LEN >= FY_SCOREBOARD_VHOST_LEN &&
		       FY_SCOREBOARD_VERSION_LEN >= FY_SCOREBOARD_CLIENT_LEN,
	       "put_text and get_text use the longest field as scratch");

/* Tries before a reader stops waiting for a writer: spinning first, then
 * yielding (a writer thread may be preempted inside its few stores). */
#define READ_SPINS 64
#define READ_TRIES 10000

struct fy_scoreboard_slot {
	_Atomic uint32_t seq;
	_Atomic uint32_t claimed;
	_Atomic uint32_t status;
	_Atomic uint64_t access_count;
	_Atomic uint64_t bytes_served;
	_Atomic uint64_t my_access_count;
	_Atomic uint64_t my_bytes_served;
	_Atomic uint64_t conn_count;
	_Atomic uint64_t conn_bytes;
	_Atomic uint64_t duration_us;
	_Atomic uint64_t last_duration_us;
	_Atomic int64_t last_begin_us;
	_Atomic int64_t last_end_us;
	_Atomic uint64_t client[WORDS(FY_SCOREBOARD_CLIENT_LEN)];
	_Atomic uint64_t vhost[WORDS(FY_SCOREBOARD_VHOST_LEN)];
	_Atomic uint64_t request[WORDS(FY_SCOREBOARD_REQUEST_LEN)];
	_Atomic uint64_t protocol[WORDS(FY_SCOREBOARD_PROTOCOL_LEN)];
} __attribute__((aligned(CACHE_LINE)));

struct fy_scoreboard_proc {
	_Atomic int32_t pid;
	_Atomic int32_t generation;
	_Atomic uint32_t quiescing;
	_Atomic uint32_t not_accepting;
	_Atomic int32_t conns[FY_PROC_CONNS_N];
	_Atomic uint64_t cpu_user_us;
	_Atomic uint64_t cpu_system_us;
} __attribute__((aligned(CACHE_LINE)));

struct fy_scoreboard {
	/* immutable after create */
	size_t map_size;
	int server_limit;
	int thread_limit;
	struct fy_scoreboard_proc *procs;
	struct fy_scoreboard_slot *slots;

	_Atomic uint32_t seq; /* guards the strings below */
	_Atomic uint64_t version[WORDS(FY_SCOREBOARD_VERSION_LEN)];
	_Atomic uint64_t built[WORDS(FY_SCOREBOARD_BUILT_LEN)];
	_Atomic uint64_t mpm[WORDS(FY_SCOREBOARD_MPM_LEN)];

	_Atomic int64_t restart_time_us;
	_Atomic int32_t config_generation;
	_Atomic int32_t mpm_generation;
	_Atomic int32_t daemons_limit;
	_Atomic int32_t threads_per_child;
	_Atomic uint64_t children_cpu_user_us;
	_Atomic uint64_t children_cpu_system_us;
} __attribute__((aligned(CACHE_LINE)));

static int64_t now_us(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

static size_t round_up(size_t n)
{
	return (n + CACHE_LINE - 1) & ~(size_t)(CACHE_LINE - 1);
}

/* --- seqlock helpers --- */

/*
 * Writer side: the counter goes odd, then every field store is a release
 * store, so a reader that sees any new field value also sees the odd
 * counter (or a later one) on its second read. No fences: ThreadSanitizer
 * does not model standalone fences, and release stores cost nothing extra
 * on x86.
 */
static void write_begin(_Atomic uint32_t *seq)
{
	uint32_t s = atomic_load_explicit(seq, memory_order_relaxed);
	atomic_store_explicit(seq, s + 1, memory_order_relaxed);
}

static void write_end(_Atomic uint32_t *seq)
{
	uint32_t s = atomic_load_explicit(seq, memory_order_relaxed);
	atomic_store_explicit(seq, s + 1, memory_order_release);
}

#define PUT(field, value) \
	atomic_store_explicit(&(field), (value), memory_order_release)
#define GET(field) atomic_load_explicit(&(field), memory_order_acquire)
#define GET_RELAXED(field) atomic_load_explicit(&(field), memory_order_relaxed)

static void put_text(_Atomic uint64_t *words, size_t cap, const char *s,
		     size_t len)
{
	uint64_t buf[WORDS(FY_SCOREBOARD_VERSION_LEN)] = {0};
	if (len > cap - 1)
		len = cap - 1;
	if (s != NULL && len > 0)
		memcpy(buf, s, len);
	for (size_t i = 0; i < WORDS(cap); i++)
		PUT(words[i], buf[i]);
}

static void put_str(_Atomic uint64_t *words, size_t cap, const char *s)
{
	put_text(words, cap, s, s != NULL ? strnlen(s, cap) : 0);
}

static void get_text(_Atomic uint64_t *words, size_t cap, char *out)
{
	uint64_t buf[WORDS(FY_SCOREBOARD_VERSION_LEN)];
	for (size_t i = 0; i < WORDS(cap); i++)
		buf[i] = GET(words[i]);
	memcpy(out, buf, cap);
	out[cap - 1] = '\0';
}

/* Reader side: returns the counter value to check against, waiting while
 * it is odd (bounded: see READ_TRIES). */
static uint32_t read_begin(_Atomic uint32_t *seq, int *tries)
{
	for (;;) {
		uint32_t s = atomic_load_explicit(seq, memory_order_acquire);
		if ((s & 1) == 0 || *tries >= READ_TRIES)
			return s;
		if (++*tries > READ_SPINS)
			sched_yield();
	}
}

/* 1 when the copy just made is consistent or when waiting is over. */
static int read_done(_Atomic uint32_t *seq, uint32_t begin, int *tries,
		     int *torn)
{
	uint32_t s = atomic_load_explicit(seq, memory_order_relaxed);
	if (s == begin && (s & 1) == 0)
		return 1;
	if (++*tries >= READ_TRIES) {
		*torn = 1;
		return 1;
	}
	if (*tries > READ_SPINS)
		sched_yield();
	return 0;
}

char fy_scoreboard_status_char(enum fy_slot_status status)
{
	static const char chars[FY_SLOT_NSTATUS] = ".S_RWKLDCGI";
	if ((unsigned)status >= FY_SLOT_NSTATUS)
		return '?';
	return chars[status];
}

/* --- lifetime --- */

struct fy_scoreboard *fy_scoreboard_create(int server_limit, int thread_limit)
{
	if (server_limit < 1 || thread_limit < 1 ||
	    (int64_t)server_limit * thread_limit > FY_SCOREBOARD_MAX_SLOTS) {
		errno = EINVAL;
		return NULL;
	}
	size_t head = round_up(sizeof(struct fy_scoreboard));
	size_t procs = round_up((size_t)server_limit *
				sizeof(struct fy_scoreboard_proc));
	size_t slots = (size_t)server_limit * (size_t)thread_limit *
		       sizeof(struct fy_scoreboard_slot);
	size_t size = head + procs + slots;
	char *map = mmap(NULL, size, PROT_READ | PROT_WRITE,
			 MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	if (map == MAP_FAILED)
		return NULL;
	/* Anonymous mappings are zeroed: every status is DEAD (0), every
	 * counter and pid 0, every string empty. */
	struct fy_scoreboard *sb = (struct fy_scoreboard *)map;
	sb->map_size = size;
	sb->server_limit = server_limit;
	sb->thread_limit = thread_limit;
	sb->procs = (struct fy_scoreboard_proc *)(map + head);
	sb->slots = (struct fy_scoreboard_slot *)(map + head + procs);
	PUT(sb->daemons_limit, server_limit);
	PUT(sb->threads_per_child, thread_limit);
	PUT(sb->restart_time_us, now_us());
	return sb;
}

void fy_scoreboard_destroy(struct fy_scoreboard *sb)
{
	if (sb != NULL)
		munmap(sb, sb->map_size);
}

int fy_scoreboard_server_limit(const struct fy_scoreboard *sb)
{
	return sb->server_limit;
}

int fy_scoreboard_thread_limit(const struct fy_scoreboard *sb)
{
	return sb->thread_limit;
}

static void slot_clear(struct fy_scoreboard_slot *w)
{
	write_begin(&w->seq);
	PUT(w->status, FY_SLOT_DEAD);
	PUT(w->access_count, 0);
	PUT(w->bytes_served, 0);
	PUT(w->my_access_count, 0);
	PUT(w->my_bytes_served, 0);
	PUT(w->conn_count, 0);
	PUT(w->conn_bytes, 0);
	PUT(w->duration_us, 0);
	PUT(w->last_duration_us, 0);
	PUT(w->last_begin_us, 0);
	PUT(w->last_end_us, 0);
	put_text(w->client, FY_SCOREBOARD_CLIENT_LEN, NULL, 0);
	put_text(w->vhost, FY_SCOREBOARD_VHOST_LEN, NULL, 0);
	put_text(w->request, FY_SCOREBOARD_REQUEST_LEN, NULL, 0);
	put_text(w->protocol, FY_SCOREBOARD_PROTOCOL_LEN, NULL, 0);
	write_end(&w->seq);
	atomic_store_explicit(&w->claimed, 0, memory_order_release);
}

static void proc_clear(struct fy_scoreboard_proc *p)
{
	PUT(p->pid, 0);
	PUT(p->generation, 0);
	PUT(p->quiescing, 0);
	PUT(p->not_accepting, 0);
	for (int k = 0; k < FY_PROC_CONNS_N; k++)
		PUT(p->conns[k], 0);
	PUT(p->cpu_user_us, 0);
	PUT(p->cpu_system_us, 0);
}

void fy_scoreboard_reset(struct fy_scoreboard *sb, int64_t restart_time_us)
{
	size_t n = (size_t)sb->server_limit * (size_t)sb->thread_limit;
	for (int i = 0; i < sb->server_limit; i++)
		proc_clear(&sb->procs[i]);
	for (size_t k = 0; k < n; k++)
		slot_clear(&sb->slots[k]);
	PUT(sb->children_cpu_user_us, 0);
	PUT(sb->children_cpu_system_us, 0);
	PUT(sb->restart_time_us, restart_time_us);
}

void fy_scoreboard_set_server(struct fy_scoreboard *sb, const char *version,
			      const char *built, const char *mpm)
{
	write_begin(&sb->seq);
	if (version != NULL)
		put_str(sb->version, FY_SCOREBOARD_VERSION_LEN, version);
	if (built != NULL)
		put_str(sb->built, FY_SCOREBOARD_BUILT_LEN, built);
	if (mpm != NULL)
		put_str(sb->mpm, FY_SCOREBOARD_MPM_LEN, mpm);
	write_end(&sb->seq);
}

void fy_scoreboard_set_generations(struct fy_scoreboard *sb,
				   int config_generation, int mpm_generation)
{
	PUT(sb->config_generation, config_generation);
	PUT(sb->mpm_generation, mpm_generation);
}

static int clamp(int v, int lo, int hi)
{
	return v < lo ? lo : v > hi ? hi : v;
}

void fy_scoreboard_set_limits(struct fy_scoreboard *sb, int daemons_limit,
			      int threads_per_child)
{
	PUT(sb->daemons_limit, clamp(daemons_limit, 1, sb->server_limit));
	PUT(sb->threads_per_child,
	    clamp(threads_per_child, 1, sb->thread_limit));
}

void fy_scoreboard_set_children_cpu(struct fy_scoreboard *sb, uint64_t user_us,
				    uint64_t system_us)
{
	PUT(sb->children_cpu_user_us, user_us);
	PUT(sb->children_cpu_system_us, system_us);
}

/* --- process records --- */

struct fy_scoreboard_proc *fy_scoreboard_proc(struct fy_scoreboard *sb,
					      int proc)
{
	if (proc < 0 || proc >= sb->server_limit)
		return NULL;
	return &sb->procs[proc];
}

void fy_scoreboard_proc_start(struct fy_scoreboard_proc *p, pid_t pid,
			      int generation)
{
	PUT(p->generation, generation);
	PUT(p->quiescing, 0);
	PUT(p->not_accepting, 0);
	for (int k = 0; k < FY_PROC_CONNS_N; k++)
		PUT(p->conns[k], 0);
	PUT(p->cpu_user_us, 0);
	PUT(p->cpu_system_us, 0);
	/* last: a reader that sees the pid sees the rest */
	PUT(p->pid, (int32_t)pid);
}

void fy_scoreboard_proc_set_quiescing(struct fy_scoreboard_proc *p, int on)
{
	PUT(p->quiescing, on != 0);
}

void fy_scoreboard_proc_set_accepting(struct fy_scoreboard_proc *p, int on)
{
	PUT(p->not_accepting, on == 0);
}

void fy_scoreboard_proc_conns_add(struct fy_scoreboard_proc *p,
				  enum fy_proc_conns which, int delta)
{
	if ((unsigned)which < FY_PROC_CONNS_N)
		atomic_fetch_add_explicit(&p->conns[which], delta,
					  memory_order_relaxed);
}

void fy_scoreboard_proc_conns_set(struct fy_scoreboard_proc *p,
				  enum fy_proc_conns which, int value)
{
	if ((unsigned)which < FY_PROC_CONNS_N)
		atomic_store_explicit(&p->conns[which], value,
				      memory_order_relaxed);
}

void fy_scoreboard_proc_set_cpu(struct fy_scoreboard_proc *p, uint64_t user_us,
				uint64_t system_us)
{
	PUT(p->cpu_user_us, user_us);
	PUT(p->cpu_system_us, system_us);
}

void fy_scoreboard_proc_sample_cpu(struct fy_scoreboard_proc *p)
{
	struct rusage ru;
	if (getrusage(RUSAGE_SELF, &ru) != 0)
		return;
	fy_scoreboard_proc_set_cpu(
	    p, (uint64_t)ru.ru_utime.tv_sec * 1000000 + (uint64_t)ru.ru_utime.tv_usec,
	    (uint64_t)ru.ru_stime.tv_sec * 1000000 + (uint64_t)ru.ru_stime.tv_usec);
}

pid_t fy_scoreboard_proc_pid(const struct fy_scoreboard_proc *p)
{
	return (pid_t)atomic_load_explicit(
	    &((struct fy_scoreboard_proc *)p)->pid, memory_order_acquire);
}

void fy_scoreboard_proc_exit(struct fy_scoreboard *sb, int proc)
{
	if (proc < 0 || proc >= sb->server_limit)
		return;
	proc_clear(&sb->procs[proc]);
	for (int j = 0; j < sb->thread_limit; j++) {
		struct fy_scoreboard_slot *w =
		    &sb->slots[(size_t)proc * (size_t)sb->thread_limit + (size_t)j];
		fy_scoreboard_set_status(w, FY_SLOT_DEAD);
		atomic_store_explicit(&w->claimed, 0, memory_order_release);
	}
}

int fy_scoreboard_proc_free(const struct fy_scoreboard *sb, int limit)
{
	if (limit > sb->server_limit || limit < 0)
		limit = sb->server_limit;
	for (int i = 0; i < limit; i++)
		if (fy_scoreboard_proc_pid(&sb->procs[i]) == 0)
			return i;
	return -1;
}

/* --- worker slots --- */

struct fy_scoreboard_slot *fy_scoreboard_slot(struct fy_scoreboard *sb,
					      int proc, int thread)
{
	if (proc < 0 || proc >= sb->server_limit || thread < 0 ||
	    thread >= sb->thread_limit)
		return NULL;
	return &sb->slots[(size_t)proc * (size_t)sb->thread_limit +
			  (size_t)thread];
}

struct fy_scoreboard_slot *fy_scoreboard_slot_claim(struct fy_scoreboard *sb,
						    int proc)
{
	if (proc < 0 || proc >= sb->server_limit)
		return NULL;
	int tpc = GET_RELAXED(sb->threads_per_child);
	for (int j = 0; j < tpc; j++) {
		struct fy_scoreboard_slot *w =
		    &sb->slots[(size_t)proc * (size_t)sb->thread_limit + (size_t)j];
		uint32_t expected = 0;
		if (GET_RELAXED(w->claimed) != 0)
			continue;
		if (!atomic_compare_exchange_strong_explicit(
			&w->claimed, &expected, 1, memory_order_acquire,
			memory_order_relaxed))
			continue;
		/* Only a READY slot stands for a free worker; a slot still
		 * STARTING or already DEAD is given back untouched. */
		if (GET_RELAXED(w->status) == FY_SLOT_READY)
			return w;
		atomic_store_explicit(&w->claimed, 0, memory_order_release);
	}
	return NULL;
}

void fy_scoreboard_slot_release(struct fy_scoreboard_slot *slot)
{
	fy_scoreboard_set_status(slot, FY_SLOT_READY);
	atomic_store_explicit(&slot->claimed, 0, memory_order_release);
}

void fy_scoreboard_set_status(struct fy_scoreboard_slot *w,
			      enum fy_slot_status status)
{
	if ((unsigned)status >= FY_SLOT_NSTATUS)
		return;
	write_begin(&w->seq);
	PUT(w->status, (uint32_t)status);
	if (status == FY_SLOT_READY || status == FY_SLOT_DEAD) {
		PUT(w->conn_count, 0);
		PUT(w->conn_bytes, 0);
	}
	if (status == FY_SLOT_DEAD) {
		PUT(w->my_access_count, 0);
		PUT(w->my_bytes_served, 0);
	}
	write_end(&w->seq);
}

void fy_scoreboard_request_begin(struct fy_scoreboard_slot *w,
				 const char *client, const char *vhost,
				 const char *request_line,
				 size_t request_line_len, const char *protocol)
{
	int64_t t = now_us();
	write_begin(&w->seq);
	PUT(w->status, FY_SLOT_WRITE);
	PUT(w->last_begin_us, t);
	put_str(w->client, FY_SCOREBOARD_CLIENT_LEN, client);
	put_str(w->vhost, FY_SCOREBOARD_VHOST_LEN, vhost);
	put_text(w->request, FY_SCOREBOARD_REQUEST_LEN, request_line,
		 request_line != NULL ? request_line_len : 0);
	put_str(w->protocol, FY_SCOREBOARD_PROTOCOL_LEN, protocol);
	write_end(&w->seq);
}

/* The owner is the only writer, so a load and a store make an increment
 * that readers see whole. */
#define ADD(field, v) PUT(field, GET_RELAXED(field) + (v))

void fy_scoreboard_request_end(struct fy_scoreboard_slot *w, uint64_t bytes,
			       uint64_t duration_us)
{
	int64_t t = now_us();
	write_begin(&w->seq);
	ADD(w->access_count, 1);
	ADD(w->my_access_count, 1);
	ADD(w->conn_count, 1);
	ADD(w->bytes_served, bytes);
	ADD(w->my_bytes_served, bytes);
	ADD(w->conn_bytes, bytes);
	ADD(w->duration_us, duration_us);
	PUT(w->last_duration_us, duration_us);
	PUT(w->last_end_us, t);
	write_end(&w->seq);
}

/* --- readers --- */

static void read_slot(struct fy_scoreboard_slot *w, struct fy_status_slot *o)
{
	int tries = 0, torn = 0;
	uint32_t s;
	do {
		s = read_begin(&w->seq, &tries);
		o->status = (enum fy_slot_status)GET(w->status);
		o->access_count = GET(w->access_count);
		o->bytes_served = GET(w->bytes_served);
		o->my_access_count = GET(w->my_access_count);
		o->my_bytes_served = GET(w->my_bytes_served);
		o->conn_count = GET(w->conn_count);
		o->conn_bytes = GET(w->conn_bytes);
		o->duration_us = GET(w->duration_us);
		o->last_duration_us = GET(w->last_duration_us);
		o->last_begin_us = GET(w->last_begin_us);
		o->last_end_us = GET(w->last_end_us);
		get_text(w->client, FY_SCOREBOARD_CLIENT_LEN, o->client);
		get_text(w->vhost, FY_SCOREBOARD_VHOST_LEN, o->vhost);
		get_text(w->request, FY_SCOREBOARD_REQUEST_LEN, o->request);
		get_text(w->protocol, FY_SCOREBOARD_PROTOCOL_LEN, o->protocol);
	} while (!read_done(&w->seq, s, &tries, &torn));
	if (o->status >= FY_SLOT_NSTATUS)
		o->status = FY_SLOT_DEAD;
	if (torn) {
		o->client[0] = o->vhost[0] = o->request[0] = '\0';
		o->protocol[0] = '\0';
	}
}

static void read_proc(struct fy_scoreboard_proc *p, struct fy_status_proc *o)
{
	o->pid = (pid_t)GET(p->pid);
	o->generation = GET(p->generation);
	o->quiescing = (int)GET(p->quiescing);
	o->not_accepting = (int)GET(p->not_accepting);
	for (int k = 0; k < FY_PROC_CONNS_N; k++) {
		int v = GET(p->conns[k]);
		o->conns[k] = v < 0 ? 0 : v; /* an update in flight */
	}
	o->cpu_user_us = GET(p->cpu_user_us);
	o->cpu_system_us = GET(p->cpu_system_us);
}

struct fy_status_snapshot *fy_scoreboard_snapshot(const struct fy_scoreboard *csb)
{
	/* Readers only load, but C11 atomics take non-const pointers. */
	struct fy_scoreboard *sb = (struct fy_scoreboard *)csb;
	size_t nprocs = (size_t)sb->server_limit;
	size_t nslots = nprocs * (size_t)sb->thread_limit;
	size_t size = sizeof(struct fy_status_snapshot) +
		      nprocs * sizeof(struct fy_status_proc) +
		      nslots * sizeof(struct fy_status_slot);
	struct fy_status_snapshot *s = calloc(1, size);
	if (s == NULL)
		return NULL;
	s->procs = (struct fy_status_proc *)(s + 1);
	s->slots = (struct fy_status_slot *)(s->procs + nprocs);

	int tries = 0, torn = 0;
	uint32_t q;
	do {
		q = read_begin(&sb->seq, &tries);
		get_text(sb->version, FY_SCOREBOARD_VERSION_LEN,
			 s->server_version);
		get_text(sb->built, FY_SCOREBOARD_BUILT_LEN, s->server_built);
		get_text(sb->mpm, FY_SCOREBOARD_MPM_LEN, s->mpm);
	} while (!read_done(&sb->seq, q, &tries, &torn));
	s->restart_time_us = GET(sb->restart_time_us);
	s->config_generation = GET(sb->config_generation);
	s->mpm_generation = GET(sb->mpm_generation);
	s->server_limit = sb->server_limit;
	s->thread_limit = sb->thread_limit;
	s->daemons_limit = GET(sb->daemons_limit);
	s->threads_per_child = GET(sb->threads_per_child);
	s->children_cpu_user_us = GET(sb->children_cpu_user_us);
	s->children_cpu_system_us = GET(sb->children_cpu_system_us);

	for (size_t i = 0; i < nprocs; i++)
		read_proc(&sb->procs[i], &s->procs[i]);
	for (size_t k = 0; k < nslots; k++)
		read_slot(&sb->slots[k], &s->slots[k]);
	return s;
}

void fy_scoreboard_snapshot_free(struct fy_status_snapshot *s)
{
	free(s);
}
