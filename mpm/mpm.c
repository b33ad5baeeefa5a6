/*
 * mpm.c - the table of process models in this build.
 */
#include <string.h>

#include "foyer/core.h"
#include "foyer/mpm.h"

static const struct fy_mpm *const mpms[] = {
	&fy_mpm_prefork,
	&fy_mpm_worker,
	&fy_mpm_event,
	&fy_mpm_single,
};

const struct fy_mpm *fy_mpm_find(const char *name)
{
	for (size_t i = 0; i < FY_ARRAY_SIZE(mpms); i++)
		if (strcmp(mpms[i]->name, name) == 0)
			return mpms[i];
	return NULL;
}
