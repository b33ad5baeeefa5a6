/*
 * master.h - the master process shared by the forked MPMs (prefork, worker,
 * event): it keeps the listeners, forks children that drop privileges, keeps
 * spare capacity between the MPM's limits, reaps and respawns, and turns
 * signals into stops and (graceful) restarts with a new configuration.
 *
 * The MPMs differ only in what a child does (struct fy_child_ops) and in how
 * spare capacity is counted (processes for prefork, threads for the others).
 */
#ifndef FOYER_MASTER_H
#define FOYER_MASTER_H

#include <stddef.h>
#include <sys/types.h>

struct fy_config;
struct fy_listener;
struct fy_mpm_config;
struct fy_scoreboard;

/* What a child is told by the master. */
struct fy_child {
	const struct fy_config *cfg;
	const struct fy_mpm_config *mpm; /* the active MPM's settings */
	const struct fy_listener *ls;
	size_t n_listeners;
	struct fy_scoreboard *sb;
	int slot;	/* process slot in the scoreboard */
	int generation;
	pid_t master; /* its pid: the child's parent until the master dies */
};

struct fy_child_ops {
	const char *name; /* "prefork" ... */
	/* Spare capacity is counted in threads (worker, event) rather than
	 * in processes (prefork). */
	int count_threads;
	/* Make the listeners blocking before forking: the children block in
	 * accept(2), which the kernel wakes one at a time. */
	int blocking_accept;
	/* Runs in the child after it dropped privileges; returns the exit
	 * status. A graceful stop request arrives as SIGUSR1, an immediate one
	 * as SIGTERM; both are blocked when this is called, and the child
	 * decides how to receive them. The master's death also arrives as
	 * SIGUSR1 (PR_SET_PDEATHSIG). */
	int (*child_main)(const struct fy_child *child);
};

/*
 * Runs the master until a stop: never returns before every child is gone.
 * A restart loads the configuration again from (*cfg)->file: on success the
 * old one is freed and *cfg replaced; listeners are kept across restarts
 * (those the new configuration no longer names are closed, new ones
 * opened), and the listener array and count updated.
 * Returns the process exit status.
 */
int fy_master_run(struct fy_config **cfg, struct fy_listener **ls, size_t *n,
		  const struct fy_child_ops *ops);

/* The active MPM section of a config ("prefork" -> &cfg->prefork ...). */
struct fy_mpm_config *fy_master_mpm_config(struct fy_config *cfg);

#endif
