/*
 * handler.c - the handler registry and the choice of a handler for a
 * routed request.
 */
#include <string.h>

#include "foyer/core.h"
#include "foyer/status.h"
#include "proxy.h"

/* Every handler of this build; fastcgi, php and status join as they are
 * written. */
static const struct fy_handler *const handlers[] = {
	&fy_handler_static,
	&fy_handler_fastcgi,
	&fy_handler_status,
};

const struct fy_handler *fy_handler_find(const char *name)
{
	for (size_t i = 0; i < FY_ARRAY_SIZE(handlers); i++)
		if (strcmp(handlers[i]->name, name) == 0)
			return handlers[i];
	return NULL;
}

const struct fy_handler *fy_handler_for(const struct fy_site *site,
					const struct fy_route *route)
{
	/* With php = off, a .php file is a file like any other, as with
	 * Apache without mod_php. */
	if (site->pool != NULL &&
	    fy_router_is_php(site, route->script, strlen(route->script)))
		return &fy_handler_fastcgi;
	return &fy_handler_static;
}
