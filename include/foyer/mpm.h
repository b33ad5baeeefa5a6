/*
 * mpm.h - process models. An MPM owns processes, threads, accepting and
 * admission; everything above it (connections, HTTP, handlers) is shared.
 */
#ifndef FOYER_MPM_H
#define FOYER_MPM_H

#include <stddef.h>

struct fy_config;
struct fy_listener;

struct fy_mpm {
	const char *name;
	int threaded; /* runs loops in threads: thread-safe handlers only */
	int forked;   /* children are forked from a master */
	/* Runs the server on the opened listeners until it is told to stop.
	 * A restart may replace the configuration and the listeners: *cfg,
	 * *ls and *n are what the caller frees afterwards. Returns the process
	 * exit status. */
	int (*run)(struct fy_config **cfg, struct fy_listener **ls, size_t *n);
};

/* One process, one loop, in the foreground: "foyer -X". */
extern const struct fy_mpm fy_mpm_single;
extern const struct fy_mpm fy_mpm_prefork;
extern const struct fy_mpm fy_mpm_worker;
extern const struct fy_mpm fy_mpm_event;

/* The MPM named in the configuration, NULL if this build lacks it. */
const struct fy_mpm *fy_mpm_find(const char *name);

#endif
