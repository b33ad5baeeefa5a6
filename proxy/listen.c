/*
 * listen.c - listening sockets, opened once before any fork and shared by
 * every child and loop; and the process-wide setup of the front end.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "foyer/config.h"
#include "foyer/core.h"
#include "foyer/fcgi_client.h"
#include "foyer/log.h"
#include "foyer/mime.h"
#include "foyer/router.h"
#include "foyer/server.h"

static int open_one(const struct fy_listen_spec *sp, int backlog,
		    struct fy_listener *l, char *err, size_t errlen)
{
	struct addrinfo hints = {
	    .ai_family = AF_UNSPEC,
	    .ai_socktype = SOCK_STREAM,
	    .ai_flags = AI_PASSIVE | AI_NUMERICHOST | AI_NUMERICSERV,
	};
	struct addrinfo *ai = NULL;
	char port[8];
	snprintf(port, sizeof(port), "%d", sp->port);
	const char *host = sp->host[0] != '\0' ? sp->host : NULL;
	if (host == NULL)
		hints.ai_family = AF_INET6; /* dual-stack [::] first */
	int rc = getaddrinfo(host, port, &hints, &ai);
	if (rc != 0 && host == NULL) {
		hints.ai_family = AF_INET;
		rc = getaddrinfo(host, port, &hints, &ai);
	}
	if (rc != 0) {
		snprintf(err, errlen, "could not resolve listen address %s:%d: %s",
			 sp->host, sp->port, gai_strerror(rc));
		return FY_ERROR;
	}
	int fd = socket(ai->ai_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC,
			0);
	if (fd < 0 && host == NULL && ai->ai_family == AF_INET6) {
		/* no IPv6 in this kernel: fall back to 0.0.0.0 */
		freeaddrinfo(ai);
		hints.ai_family = AF_INET;
		if (getaddrinfo(NULL, port, &hints, &ai) != 0)
			ai = NULL;
		fd = ai != NULL ? socket(AF_INET,
					 SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC,
					 0)
				: -1;
	}
	if (fd < 0) {
		snprintf(err, errlen, "could not create a socket for %s:%d: %s",
			 sp->host, sp->port, strerror(errno));
		if (ai != NULL)
			freeaddrinfo(ai);
		return FY_ERROR;
	}
	int one = 1, zero = 0;
	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (ai->ai_family == AF_INET6 && host == NULL)
		setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &zero, sizeof(zero));
	if (bind(fd, ai->ai_addr, ai->ai_addrlen) != 0) {
		snprintf(err, errlen, "could not bind to address %s%s%s:%d: %s",
			 ai->ai_family == AF_INET6 ? "[" : "",
			 host != NULL ? host : (ai->ai_family == AF_INET6 ? "::" : "0.0.0.0"),
			 ai->ai_family == AF_INET6 ? "]" : "", sp->port,
			 strerror(errno));
		close(fd);
		freeaddrinfo(ai);
		return FY_ERROR;
	}
	if (listen(fd, backlog) != 0) {
		snprintf(err, errlen, "could not listen on %s:%d: %s", sp->host,
			 sp->port, strerror(errno));
		close(fd);
		freeaddrinfo(ai);
		return FY_ERROR;
	}
	l->fd = fd;
	l->tls = sp->tls;
	l->local_ip[0] = '\0';
	l->local_port = 0;
	struct sockaddr_storage bound;
	socklen_t blen = sizeof(bound);
	if (host != NULL &&
	    getsockname(fd, (struct sockaddr *)&bound, &blen) == 0) {
		/* One address: it is the local end of every connection. */
		const struct sockaddr_in *b4 = (const void *)&bound;
		const struct sockaddr_in6 *b6 = (const void *)&bound;
		int v6 = bound.ss_family == AF_INET6;
		int any = v6 ? IN6_IS_ADDR_UNSPECIFIED(&b6->sin6_addr)
			     : b4->sin_addr.s_addr == htonl(INADDR_ANY);
		if (!any && inet_ntop(bound.ss_family,
			      v6 ? (const void *)&b6->sin6_addr
				 : (const void *)&b4->sin_addr,
			      l->local_ip, sizeof(l->local_ip)) != NULL)
			l->local_port = ntohs(v6 ? b6->sin6_port : b4->sin_port);
		else
			l->local_ip[0] = '\0';
	}
	if (ai->ai_family == AF_INET6)
		snprintf(l->name, sizeof(l->name), "[%s]:%d",
			 host != NULL ? host : "::", sp->port);
	else
		snprintf(l->name, sizeof(l->name), "%s:%d",
			 host != NULL ? host : "0.0.0.0", sp->port);
	freeaddrinfo(ai);
	return FY_OK;
}

int fy_listeners_open(const struct fy_config *cfg, struct fy_listener **out,
		      size_t *n, char *err, size_t errlen)
{
	struct fy_listener *ls = calloc(cfg->n_listen ? cfg->n_listen : 1,
					sizeof(*ls));
	if (ls == NULL) {
		snprintf(err, errlen, "out of memory");
		return FY_ERROR;
	}
	for (size_t i = 0; i < cfg->n_listen; i++) {
		if (open_one(&cfg->listen[i], cfg->listen_backlog, &ls[i], err,
			     errlen) != FY_OK) {
			fy_listeners_close(ls, i);
			return FY_ERROR;
		}
	}
	*out = ls;
	*n = cfg->n_listen;
	return FY_OK;
}

void fy_listeners_close(struct fy_listener *ls, size_t n)
{
	if (ls == NULL)
		return;
	for (size_t i = 0; i < n; i++)
		close(ls[i].fd);
	free(ls);
}

int fy_server_init(struct fy_config *cfg)
{
	signal(SIGPIPE, SIG_IGN);
	/* A request body's temp file past RLIMIT_FSIZE must fail its write
	 * (EFBIG: that request gets 500), not kill the process. */
	signal(SIGXFSZ, SIG_IGN);
	if (fy_fcgi_spawn_start(cfg) != FY_OK || fy_fcgi_pools_init(cfg) != FY_OK)
		return FY_ERROR;
	if (fy_mime_load(cfg->mime_types) != FY_OK)
		fy_log(FY_LOG_WARN, "core", NULL,
		       "could not read %s; using the built-in media types",
		       cfg->mime_types);
	for (size_t i = 0; i < cfg->n_sites; i++) {
		struct fy_site *s = cfg->sites[i];
		if (fy_router_open_root(s) != FY_OK) {
			fy_log(FY_LOG_EMERG, "core", NULL,
			       "site %s: could not open document_root %s: %s",
			       s->name, s->document_root, strerror(errno));
			return FY_ERROR;
		}
		if (s->access_log == NULL)
			continue;
		char err[256] = "";
		s->access = fy_access_log_open(s->access_log, s->log_format, err,
					       sizeof(err));
		if (s->access == NULL) {
			fy_log(FY_LOG_EMERG, "core", NULL,
			       "site %s: access_log %s: %s", s->name,
			       s->access_log, err);
			return FY_ERROR;
		}
	}
	return FY_OK;
}

void fy_server_fini(struct fy_config *cfg)
{
	for (size_t i = 0; i < cfg->n_sites; i++) {
		cfg->sites[i]->access = NULL;
		if (cfg->sites[i]->root_fd >= 0)
			close(cfg->sites[i]->root_fd);
		cfg->sites[i]->root_fd = -1;
	}
	fy_access_log_close_all();
	fy_fcgi_pools_fini(cfg);
	fy_mime_free();
}
