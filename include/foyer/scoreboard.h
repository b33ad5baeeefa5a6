/*
 * scoreboard.h - the shared-memory scoreboard: what every process and every
 * worker slot is doing, read by the status page and by the master.
 *
 * Layout. One region, mapped MAP_SHARED|MAP_ANONYMOUS by the master before
 * the first fork, so every child sees it at the same address. It is sized
 * once from ServerLimit x ThreadLimit and kept for the life of the master
 * (as Apache: changing either limit needs a full stop and start). It holds
 *   - a global part: restart time, config and MPM generations, the MPM
 *     name, the server version and build date, the limits that decide which
 *     slots are "disabled" (daemons_limit, threads_per_child), the CPU time
 *     of reaped children;
 *   - one process record per ServerLimit: pid, generation, quiescing,
 *     not_accepting, CPU time, and the event MPM's connection counters;
 *   - one worker slot per (process, thread < ThreadLimit): status, access
 *     and byte counters (per slot, per child, per connection), duration,
 *     last request times, client, vhost, request line (first 63 bytes, as
 *     Apache without SeeRequestTail) and protocol.
 *
 * Concurrency model (data-race free by construction; every shared field is
 * a C11 atomic, so ThreadSanitizer has nothing to report):
 *   - A worker slot has exactly one writer at a time: the thread that owns
 *     it. Prefork: the child's only thread owns slot (i, 0). Worker: thread
 *     j of child i owns slot (i, j). Event, where slots stand for requests
 *     in progress, a loop thread takes a slot for a request with
 *     fy_scoreboard_slot_claim() and gives it back with
 *     fy_scoreboard_slot_release(). Ownership passes from master to child at
 *     fork, and back to the master once the child is reaped
 *     (fy_scoreboard_proc_exit).
 *   - Each slot carries a sequence counter (a seqlock): the writer makes it
 *     odd, stores the fields, makes it even again. Readers (the status page
 *     in any child, the master) copy the slot and retry when the counter
 *     was odd or moved, so they never see a half-written string or a
 *     status that does not match its request line. Writers never wait.
 *     A reader that keeps failing (a writer killed in the middle of an
 *     update) gives up after a bounded number of tries and reports the slot
 *     with its strings emptied.
 *   - Process fields are independent atomics. The connection counters may
 *     be changed by several loop threads of one child (atomic adds).
 *   - Global fields are written by the master only; the strings are under
 *     their own sequence counter.
 * No call allocates or takes a lock, except create/destroy and snapshot.
 */
#ifndef FOYER_SCOREBOARD_H
#define FOYER_SCOREBOARD_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

/* Apache's worker states (include/scoreboard.h), same values and order. */
enum fy_slot_status {
	FY_SLOT_DEAD,	   /* '.' open slot with no current process */
	FY_SLOT_STARTING,  /* 'S' starting up */
	FY_SLOT_READY,	   /* '_' waiting for connection */
	FY_SLOT_READ,	   /* 'R' reading request */
	FY_SLOT_WRITE,	   /* 'W' sending reply */
	FY_SLOT_KEEPALIVE, /* 'K' keepalive (read) */
	FY_SLOT_LOG,	   /* 'L' logging */
	FY_SLOT_DNS,	   /* 'D' DNS lookup */
	FY_SLOT_CLOSING,   /* 'C' closing connection */
	FY_SLOT_GRACEFUL,  /* 'G' gracefully finishing */
	FY_SLOT_IDLE_KILL, /* 'I' idle cleanup of worker */
	FY_SLOT_NSTATUS
};

/* The event MPM's per-process connection counters (Apache's process_score
 * connections, wait_io, write_completion, keep_alive, lingering_close,
 * suspended). */
enum fy_proc_conns {
	FY_PROC_CONNS_TOTAL,	 /* open connections of the process */
	FY_PROC_CONNS_WAIT_IO,	 /* waiting for a backend to be readable */
	FY_PROC_CONNS_WRITING,	 /* write completion: response being flushed */
	FY_PROC_CONNS_KEEPALIVE, /* idle between requests */
	FY_PROC_CONNS_CLOSING,	 /* lingering close */
	FY_PROC_CONNS_SUSPENDED, /* parked by a handler */
	FY_PROC_CONNS_N
};

#define FY_SCOREBOARD_CLIENT_LEN   48 /* an IPv6 address and then some */
#define FY_SCOREBOARD_VHOST_LEN	   64 /* "name:port" */
#define FY_SCOREBOARD_REQUEST_LEN  64 /* 63 bytes + NUL, as Apache */
#define FY_SCOREBOARD_PROTOCOL_LEN 16 /* "HTTP/1.1" */
#define FY_SCOREBOARD_VERSION_LEN  64
#define FY_SCOREBOARD_BUILT_LEN	   32
#define FY_SCOREBOARD_MPM_LEN	   16

/* Largest ServerLimit x ThreadLimit accepted (Apache's own hard limits
 * are 20000 each, but their product is not a sensible region). */
#define FY_SCOREBOARD_MAX_SLOTS (1 << 20)

struct fy_scoreboard;	   /* the region (opaque) */
struct fy_scoreboard_proc; /* a process record in the region (opaque) */
struct fy_scoreboard_slot; /* a worker slot in the region (opaque) */

/* A consistent copy of one worker slot (see fy_scoreboard_snapshot). */
struct fy_status_slot {
	enum fy_slot_status status;
	uint64_t access_count;	  /* this slot since the last hard restart */
	uint64_t bytes_served;
	uint64_t my_access_count; /* this child (reset when the slot dies) */
	uint64_t my_bytes_served;
	uint64_t conn_count;	  /* this connection (reset on READY) */
	uint64_t conn_bytes;
	uint64_t duration_us;	  /* sum over the slot's requests */
	uint64_t last_duration_us; /* of the most recent request */
	int64_t last_begin_us;	  /* wall clock, 0 if never */
	int64_t last_end_us;
	char client[FY_SCOREBOARD_CLIENT_LEN];
	char vhost[FY_SCOREBOARD_VHOST_LEN];
	char request[FY_SCOREBOARD_REQUEST_LEN];
	char protocol[FY_SCOREBOARD_PROTOCOL_LEN];
};

/* A copy of one process record. */
struct fy_status_proc {
	pid_t pid; /* 0: no process in this slot */
	int generation;
	int quiescing;	   /* stopping (graceful), not counted as live */
	int not_accepting; /* listeners left out ("accepting: no") */
	int conns[FY_PROC_CONNS_N];
	uint64_t cpu_user_us;
	uint64_t cpu_system_us;
};

/* A copy of the whole scoreboard, what the renderers (status.h) read.
 * Tests may build one by hand. */
struct fy_status_snapshot {
	char server_version[FY_SCOREBOARD_VERSION_LEN];
	char server_built[FY_SCOREBOARD_BUILT_LEN];
	char mpm[FY_SCOREBOARD_MPM_LEN]; /* "prefork" | "worker" | "event" */
	int64_t restart_time_us;
	int config_generation; /* 1 at first start, +1 per config read */
	int mpm_generation;    /* 0 at first start, +1 per restart */
	int server_limit;      /* procs[] has server_limit entries */
	int thread_limit;      /* slots[] has server_limit x thread_limit */
	int daemons_limit;     /* slots (i >= it) that are DEAD are disabled */
	int threads_per_child; /* slots (j >= it) that are DEAD are disabled */
	uint64_t children_cpu_user_us; /* reaped children, from the master */
	uint64_t children_cpu_system_us;
	struct fy_status_proc *procs;
	struct fy_status_slot *slots; /* slot (i, j) is slots[i * thread_limit + j] */
};

/* '.', 'S', '_', 'R', 'W', 'K', 'L', 'D', 'C', 'G', 'I'; '?' out of range. */
char fy_scoreboard_status_char(enum fy_slot_status status);

/* --- lifetime (master) --- */

/*
 * Maps a zeroed region for server_limit processes of thread_limit slots
 * each (both >= 1, product <= FY_SCOREBOARD_MAX_SLOTS) and sets the restart
 * time to now. Every slot starts DEAD, every pid 0. daemons_limit and
 * threads_per_child start at the hard limits. Call before the first fork.
 * Returns NULL (errno set: EINVAL, ENOMEM) on failure.
 */
struct fy_scoreboard *fy_scoreboard_create(int server_limit, int thread_limit);

/* Unmaps the region (each process that inherited it may call it too). */
void fy_scoreboard_destroy(struct fy_scoreboard *sb);

int fy_scoreboard_server_limit(const struct fy_scoreboard *sb);
int fy_scoreboard_thread_limit(const struct fy_scoreboard *sb);

/*
 * Hard restart (SIGHUP), as Apache clears its scoreboard: every slot DEAD
 * with its counters at zero, every process record empty, children CPU
 * zero, restart time = restart_time_us. Keeps the limits, the server
 * strings and the generations. Call only when no child is running.
 */
void fy_scoreboard_reset(struct fy_scoreboard *sb, int64_t restart_time_us);

/* The strings shown by the status page. NULL leaves a field unchanged;
 * longer values are cut to the field size minus one. */
void fy_scoreboard_set_server(struct fy_scoreboard *sb, const char *version,
			      const char *built, const char *mpm);

/* Generations: config read count (1 at first start) and MPM generation (0
 * at first start, +1 per restart of either kind). */
void fy_scoreboard_set_generations(struct fy_scoreboard *sb,
				   int config_generation, int mpm_generation);

/* From the MPM config at each (re)start: slots of processes >= daemons_limit
 * or threads >= threads_per_child are not shown while DEAD. daemons_limit is
 * Apache's MAX_DAEMONS: prefork MaxRequestWorkers, worker
 * MaxRequestWorkers / ThreadsPerChild, event ServerLimit (its stopping
 * processes may use every record). threads_per_child is 1 for prefork.
 * Values are clamped to the hard limits. */
void fy_scoreboard_set_limits(struct fy_scoreboard *sb, int daemons_limit,
			      int threads_per_child);

/* CPU time of the reaped children (getrusage(RUSAGE_CHILDREN) in the
 * master, after reaping). */
void fy_scoreboard_set_children_cpu(struct fy_scoreboard *sb, uint64_t user_us,
				    uint64_t system_us);

/* --- process records --- */

/* The record of process index proc, NULL if out of range. */
struct fy_scoreboard_proc *fy_scoreboard_proc(struct fy_scoreboard *sb,
					      int proc);

/* Fills a record for a new child: pid, generation, quiescing and
 * not_accepting cleared, connection counters and CPU zero. The master calls
 * it right after fork() (the child may call it too; same values). The
 * child's slots are left as they are (the MPM sets STARTING/READY). */
void fy_scoreboard_proc_start(struct fy_scoreboard_proc *p, pid_t pid,
			      int generation);

/* The child is stopping gracefully (listeners closed): its threads no
 * longer count as busy or idle, and "Stopping" counts it. */
void fy_scoreboard_proc_set_quiescing(struct fy_scoreboard_proc *p, int on);

/* The child stopped (0) or resumed (1) accepting new connections. */
void fy_scoreboard_proc_set_accepting(struct fy_scoreboard_proc *p, int on);

/* Connection counters: add delta (may be negative) or set a value. Safe
 * from several threads of the child. */
void fy_scoreboard_proc_conns_add(struct fy_scoreboard_proc *p,
				  enum fy_proc_conns which, int delta);
void fy_scoreboard_proc_conns_set(struct fy_scoreboard_proc *p,
				  enum fy_proc_conns which, int value);

/* CPU time used by the child so far. fy_scoreboard_proc_sample_cpu() reads
 * it with getrusage(RUSAGE_SELF) and must run in that child. */
void fy_scoreboard_proc_set_cpu(struct fy_scoreboard_proc *p, uint64_t user_us,
				uint64_t system_us);
void fy_scoreboard_proc_sample_cpu(struct fy_scoreboard_proc *p);

pid_t fy_scoreboard_proc_pid(const struct fy_scoreboard_proc *p);

/*
 * The master, after reaping the child of index proc: pid 0, flags and
 * counters cleared, every slot of the process DEAD (per-child counters
 * reset, slot counters kept for the totals, as Apache) and unclaimed.
 */
void fy_scoreboard_proc_exit(struct fy_scoreboard *sb, int proc);

/* Index of a process record with pid 0 below limit (and below
 * ServerLimit), -1 if none: where the master puts a new child. */
int fy_scoreboard_proc_free(const struct fy_scoreboard *sb, int limit);

/* --- worker slots (the owning thread only) --- */

/* Slot (proc, thread), NULL if out of range. */
struct fy_scoreboard_slot *fy_scoreboard_slot(struct fy_scoreboard *sb,
					      int proc, int thread);

/*
 * Event MPM: takes an unclaimed slot of process proc whose status is READY
 * (below threads_per_child), atomically, for one request; the caller is
 * then its only writer until fy_scoreboard_slot_release(). Returns NULL
 * when every slot is taken (MaxRequestWorkers reached for this process).
 */
struct fy_scoreboard_slot *fy_scoreboard_slot_claim(struct fy_scoreboard *sb,
						    int proc);
/* Sets the slot READY and gives it back. */
void fy_scoreboard_slot_release(struct fy_scoreboard_slot *slot);

/*
 * Sets the status. Entering READY clears the per-connection counters;
 * entering DEAD clears the per-connection and per-child counters (the
 * slot's own counters and last request stay, for the totals and the
 * table).
 */
void fy_scoreboard_set_status(struct fy_scoreboard_slot *slot,
			      enum fy_slot_status status);

/*
 * A request head was read: status WRITE, begin time = now, and the texts
 * recorded: client (address text), vhost ("name:port"), the request line
 * (request_line_len bytes, not NUL-terminated; the first 63 bytes are
 * kept) and the protocol ("HTTP/1.1"). NULL strings record "". Longer
 * client/vhost/protocol values are cut.
 */
void fy_scoreboard_request_begin(struct fy_scoreboard_slot *slot,
				 const char *client, const char *vhost,
				 const char *request_line,
				 size_t request_line_len, const char *protocol);

/*
 * The request is answered: access counters +1 (slot, child, connection),
 * bytes (sent, response body and head; 0 for HEAD as Apache counts only
 * what mod_logio saw) added to the three byte counters, duration_us added
 * to the slot's total and kept as the last duration, end time = now. The
 * status is left as it is (the engine sets K, _, C or R next).
 */
void fy_scoreboard_request_end(struct fy_scoreboard_slot *slot, uint64_t bytes,
			       uint64_t duration_us);

/* --- readers (any process) --- */

/*
 * A consistent copy of the scoreboard (each slot self-consistent; see the
 * concurrency model above). Returns a malloc'ed snapshot (one allocation;
 * free with fy_scoreboard_snapshot_free), NULL when out of memory.
 */
struct fy_status_snapshot *fy_scoreboard_snapshot(const struct fy_scoreboard *sb);
void fy_scoreboard_snapshot_free(struct fy_status_snapshot *s);

#endif
