/*
 * test_config.c - foyer.ini loading: defaults, every value type, key
 * spelling, errors with file and line, includes, and fy_config_check.
 */
#include <ctype.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "foyer/cgi.h"
#include "foyer/config.h"
#include "foyer/log.h"
#include "foyer/mpm_config.h"

static char err[8192];

static struct fy_config *load(const char *text)
{
	struct fy_config *cfg =
	    fy_config_load_string(text, "t.ini", err, sizeof(err));

	if (cfg == NULL)
		print_error("unexpected errors:\n%s", err);
	assert_non_null(cfg);
	return cfg;
}

/* Loading must fail and err must hold want. */
static void load_fails(const char *text, const char *want)
{
	struct fy_config *cfg =
	    fy_config_load_string(text, "t.ini", err, sizeof(err));

	assert_null(cfg);
	if (strstr(err, want) == NULL)
		print_error("wanted '%s' in:\n%s", want, err);
	assert_non_null(strstr(err, want));
}

static int count_lines(const char *s)
{
	int n = 0;

	for (; *s != '\0'; s++)
		n += *s == '\n';
	return n;
}

static void write_file(const char *path, const char *text)
{
	FILE *f = fopen(path, "w");

	assert_non_null(f);
	assert_int_equal(fputs(text, f) >= 0, 1);
	assert_int_equal(fclose(f), 0);
}

static char *make_tmpdir(void)
{
	char tmpl[] = "/tmp/foyer-config-XXXXXX";
	char *dir = mkdtemp(tmpl);

	assert_non_null(dir);
	return strdup(dir);
}

static void remove_tree(const char *dir)
{
	char cmd[512];

	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	assert_int_equal(system(cmd), 0);
}

static void test_defaults(void **state)
{
	struct fy_config *cfg = load("[site a]\ndocument_root = /srv/a\n");
	const struct fy_site *s;

	(void)state;
	assert_string_equal(cfg->file, "t.ini");
	assert_string_equal(cfg->mpm, "event");
	assert_int_equal(cfg->n_listen, 1);
	assert_int_equal(cfg->listen[0].port, 80);
	assert_string_equal(cfg->listen[0].host, "");
	assert_int_equal(cfg->listen[0].tls, 0);
	assert_string_equal(cfg->user, "www-data");
	assert_string_equal(cfg->group, "www-data");
	assert_string_equal(cfg->pid_file, "/run/foyer/foyer.pid");
	assert_string_equal(cfg->error_log, "/var/log/foyer/error.log");
	assert_int_equal(cfg->log_level, FY_LOG_WARN);
	assert_string_equal(cfg->server_tokens, "full");
	assert_int_equal(cfg->timeout, 60);
	assert_int_equal(cfg->keep_alive, 1);
	assert_int_equal(cfg->keep_alive_timeout, 5);
	assert_int_equal(cfg->max_keep_alive_requests, 100);
	assert_int_equal(cfg->request_header_timeout, 20);
	assert_int_equal(cfg->request_body_timeout, 20);
	assert_int_equal(cfg->limit_request_line, 8190);
	assert_int_equal(cfg->limit_request_fields, 100);
	assert_int_equal(cfg->limit_request_field_size, 8190);
	assert_true(cfg->limit_request_body == INT64_C(1073741824));
	assert_true(cfg->client_body_buffer_size == 64 * 1024);
	assert_string_equal(cfg->client_body_temp_path, "/var/tmp");
	assert_string_equal(cfg->mime_types, "/etc/mime.types");
	assert_int_equal(cfg->listen_backlog, 511);

	assert_int_equal(cfg->n_sites, 1);
	s = cfg->sites[0];
	assert_string_equal(s->name, "a");
	assert_string_equal(s->file, "t.ini");
	assert_int_equal(s->line, 1);
	assert_int_equal(s->n_server_names, 0);
	assert_string_equal(s->document_root, "/srv/a");
	assert_int_equal(s->n_index, 3);
	assert_string_equal(s->index[0], "index.html");
	assert_string_equal(s->index[1], "index.htm");
	assert_string_equal(s->index[2], "index.php");
	assert_string_equal(s->php, "off");
	assert_null(s->front_controller);
	assert_null(s->access_log);
	assert_string_equal(s->log_format, "combined");
	assert_int_equal(s->follow_symlinks, 0);
	assert_null(s->access);
	assert_null(s->pool);
	assert_int_equal(s->n_php_extensions, 1);
	assert_string_equal(s->php_extensions[0], ".php");
	assert_int_equal(s->n_params, 0);
	assert_null(s->fcgi_params);
	assert_int_equal(s->n_fcgi_params, 0);
	assert_int_equal(s->pass_authorization, 1);
	assert_int_equal(s->x_sendfile, 0);
	assert_null(s->x_sendfile_root);
	assert_int_equal(cfg->n_pools, 0);
	assert_null(cfg->pools);
	fy_config_free(cfg);
}

static void test_every_key(void **state)
{
	struct fy_config *cfg =
	    load("[server]\n"
		 "mpm = prefork\n"
		 "listen = 8080\n"
		 "listen = 127.0.0.1:8081\n"
		 "listen = [::1]:8443 tls\n"
		 "listen = *:8082\n"
		 "listen = 0.0.0.0:80\n"
		 "listen = [::]:81 TLS\n"
		 "user = nobody\n"
		 "group = nogroup\n"
		 "pid_file = /tmp/foyer.pid\n"
		 "error_log = stderr\n"
		 "log_level = debug\n"
		 "server_tokens = prod\n"
		 "timeout = 86400\n"
		 "keep_alive = off\n"
		 "keep_alive_timeout = 0\n"
		 "max_keep_alive_requests = 0\n"
		 "request_header_timeout = 3600\n"
		 "request_body_timeout = 1\n"
		 "limit_request_line = 65536\n"
		 "limit_request_fields = 10000\n"
		 "limit_request_field_size = 1\n"
		 "limit_request_body = 0\n"
		 "mime_types = /usr/share/foyer/mime.types\n"
		 "listen_backlog = 65535\n"
		 "[site blog]\n"
		 "server_name = Blog.Example.COM www.example.com\n"
		 "document_root = /var/www/blog/\n"
		 "index = index.php\n"
		 "php = fpm:www\n"
		 "front_controller = /index.php\n"
		 "access_log = /var/log/foyer/blog.log\n"
		 "log_format = \"%h %l %u %t \\\"%r\\\" %>s %b\"\n"
		 "follow_symlinks = yes\n"
		 "php_extensions = .php .phtml\n"
		 "php_extensions = .php8\n"
		 "pass_authorization = off\n"
		 "x_sendfile = on\n"
		 "x_sendfile_root = /var/www/private/\n"
		 "php_value.memory_limit = 256M\n"
		 "php_admin_value.open_basedir = /var/www\n"
		 "fastcgi_param.APP_ENV = production\n"
		 "[pool www]\n"
		 "backend = unix:/run/php/php8.2-fpm.sock\n"
		 "backend = 10.0.0.7:9000\n"
		 "balance = least-conn\n"
		 "keep_alive = 0\n"
		 "keep_alive_timeout = 3600\n"
		 "max_connections = 100000\n"
		 "queue_timeout = 1\n"
		 "max_fails = 0\n"
		 "fail_timeout = 3600\n"
		 "connect_timeout = 1\n"
		 "send_timeout = 86400\n"
		 "read_timeout = 120\n"
		 "[pool managed]\n"
		 "spawn = php-fpm8.2\n"
		 "spawn_children = 1024\n");
	const struct fy_site *s = cfg->sites[0];
	const struct fy_pool *p;

	(void)state;
	assert_string_equal(cfg->mpm, "prefork");
	assert_int_equal(cfg->n_listen, 6);
	assert_string_equal(cfg->listen[0].host, "");
	assert_int_equal(cfg->listen[0].port, 8080);
	assert_string_equal(cfg->listen[0].file, "t.ini");
	assert_int_equal(cfg->listen[0].line, 3);
	assert_string_equal(cfg->listen[1].host, "127.0.0.1");
	assert_int_equal(cfg->listen[1].port, 8081);
	assert_int_equal(cfg->listen[1].tls, 0);
	assert_string_equal(cfg->listen[2].host, "::1");
	assert_int_equal(cfg->listen[2].port, 8443);
	assert_int_equal(cfg->listen[2].tls, 1);
	assert_string_equal(cfg->listen[3].host, "");
	assert_int_equal(cfg->listen[3].port, 8082);
	assert_string_equal(cfg->listen[4].host, "0.0.0.0");
	assert_int_equal(cfg->listen[4].port, 80);
	assert_string_equal(cfg->listen[5].host, "::");
	assert_int_equal(cfg->listen[5].tls, 1);
	assert_string_equal(cfg->user, "nobody");
	assert_string_equal(cfg->group, "nogroup");
	assert_string_equal(cfg->pid_file, "/tmp/foyer.pid");
	assert_string_equal(cfg->error_log, "stderr");
	assert_int_equal(cfg->log_level, FY_LOG_DEBUG);
	assert_string_equal(cfg->server_tokens, "prod");
	assert_int_equal(cfg->timeout, 86400);
	assert_int_equal(cfg->keep_alive, 0);
	assert_int_equal(cfg->keep_alive_timeout, 0);
	assert_int_equal(cfg->max_keep_alive_requests, 0);
	assert_int_equal(cfg->request_header_timeout, 3600);
	assert_int_equal(cfg->request_body_timeout, 1);
	assert_int_equal(cfg->limit_request_line, 65536);
	assert_int_equal(cfg->limit_request_fields, 10000);
	assert_int_equal(cfg->limit_request_field_size, 1);
	assert_true(cfg->limit_request_body == 0);
	assert_string_equal(cfg->mime_types, "/usr/share/foyer/mime.types");
	assert_int_equal(cfg->listen_backlog, 65535);

	assert_int_equal(s->n_server_names, 2);
	assert_string_equal(s->server_names[0], "blog.example.com");
	assert_string_equal(s->server_names[1], "www.example.com");
	assert_string_equal(s->document_root, "/var/www/blog");
	assert_int_equal(s->n_index, 1);
	assert_string_equal(s->index[0], "index.php");
	assert_string_equal(s->php, "fpm:www");
	assert_string_equal(s->front_controller, "/index.php");
	assert_string_equal(s->access_log, "/var/log/foyer/blog.log");
	assert_string_equal(s->log_format, "%h %l %u %t \\\"%r\\\" %>s %b");
	assert_int_equal(s->follow_symlinks, 1);
	assert_int_equal(s->n_php_extensions, 3);
	assert_string_equal(s->php_extensions[0], ".php");
	assert_string_equal(s->php_extensions[1], ".phtml");
	assert_string_equal(s->php_extensions[2], ".php8");
	assert_int_equal(s->pass_authorization, 0);
	assert_int_equal(s->x_sendfile, 1);
	assert_string_equal(s->x_sendfile_root, "/var/www/private");
	assert_int_equal(s->n_params, 3);
	assert_int_equal(s->params[0].kind, 0);
	assert_string_equal(s->params[0].name, "memory_limit");
	assert_string_equal(s->params[0].value, "256M");
	assert_int_equal(s->params[1].kind, 1);
	assert_string_equal(s->params[1].name, "open_basedir");
	assert_string_equal(s->params[1].value, "/var/www");
	assert_int_equal(s->params[2].kind, 2);
	assert_string_equal(s->params[2].name, "APP_ENV");
	assert_string_equal(s->params[2].value, "production");

	assert_int_equal(cfg->n_pools, 2);
	p = cfg->pools[0];
	assert_string_equal(p->name, "www");
	assert_string_equal(p->file, "t.ini");
	assert_int_equal(p->line, 44);
	assert_int_equal(p->n_backends, 2);
	assert_string_equal(p->backends[0], "unix:/run/php/php8.2-fpm.sock");
	assert_string_equal(p->backends[1], "10.0.0.7:9000");
	assert_string_equal(p->balance, "least-conn");
	assert_int_equal(p->keep_alive, 0);
	assert_int_equal(p->keep_alive_timeout, 3600);
	assert_int_equal(p->max_connections, 100000);
	assert_int_equal(p->queue_timeout, 1);
	assert_int_equal(p->max_fails, 0);
	assert_int_equal(p->fail_timeout, 3600);
	assert_int_equal(p->connect_timeout, 1);
	assert_int_equal(p->send_timeout, 86400);
	assert_int_equal(p->read_timeout, 120);
	assert_null(p->spawn);
	assert_null(p->runtime);
	p = cfg->pools[1];
	assert_string_equal(p->name, "managed");
	assert_int_equal(p->line, 57);
	assert_int_equal(p->n_backends, 0);
	assert_string_equal(p->spawn, "php-fpm8.2");
	assert_int_equal(p->spawn_children, 1024);
	/* the [server] keys of the same names are untouched */
	assert_int_equal(cfg->keep_alive, 0);
	assert_int_equal(cfg->keep_alive_timeout, 0);
	fy_config_free(cfg);
}

static void test_apache_spelling(void **state)
{
	struct fy_config *cfg;

	(void)state;
	/* "documentroot" is the same key as DOCUMENT_ROOT: given twice */
	load_fails("[Site x]\n"
		   "DOCUMENT_ROOT = /x\n"
		   "documentroot = /y\n",
		   "t.ini:3: 'documentroot' is already set at t.ini:2");

	cfg = load("[SERVER]\n"
		   "MaxKeepAliveRequests = 7\n"
		   "KeepAlive = Off\n"
		   "KeepAliveTimeout = 9\n"
		   "Timeout = 30\n"
		   "LimitRequestLine = 4000\n"
		   "LimitRequestFields = 50\n"
		   "LimitRequestFieldSize = 4001\n"
		   "LimitRequestBody = 10k\n"
		   "ErrorLog = /tmp/e.log\n"
		   "LogLevel = ERROR\n"
		   "PidFile = /tmp/p.pid\n"
		   "User = u\n"
		   "Group = g\n"
		   "Listen = 8000\n"
		   "ServerTokens = Prod\n"
		   "ListenBacklog = 128\n"
		   "MPM = Worker\n"
		   "[Site x]\n"
		   "DocumentRoot = /x\n"
		   "ServerName = A.example\n"
		   "server_name = b.example\n"
		   "servername = c.example\n"
		   "FollowSymlinks = TRUE\n"
		   "PHP = OFF\n");
	assert_int_equal(cfg->max_keep_alive_requests, 7);
	assert_int_equal(cfg->keep_alive, 0);
	assert_int_equal(cfg->keep_alive_timeout, 9);
	assert_int_equal(cfg->timeout, 30);
	assert_int_equal(cfg->limit_request_line, 4000);
	assert_int_equal(cfg->limit_request_fields, 50);
	assert_int_equal(cfg->limit_request_field_size, 4001);
	assert_true(cfg->limit_request_body == 10240);
	assert_string_equal(cfg->error_log, "/tmp/e.log");
	assert_int_equal(cfg->log_level, FY_LOG_ERR);
	assert_string_equal(cfg->pid_file, "/tmp/p.pid");
	assert_string_equal(cfg->user, "u");
	assert_string_equal(cfg->group, "g");
	assert_int_equal(cfg->listen[0].port, 8000);
	assert_string_equal(cfg->server_tokens, "prod");
	assert_int_equal(cfg->listen_backlog, 128);
	assert_string_equal(cfg->mpm, "worker");
	assert_string_equal(cfg->sites[0]->name, "x");
	assert_string_equal(cfg->sites[0]->document_root, "/x");
	assert_int_equal(cfg->sites[0]->n_server_names, 3);
	assert_string_equal(cfg->sites[0]->server_names[0], "a.example");
	assert_string_equal(cfg->sites[0]->server_names[2], "c.example");
	assert_int_equal(cfg->sites[0]->follow_symlinks, 1);
	assert_string_equal(cfg->sites[0]->php, "off");
	fy_config_free(cfg);
}

static void test_sizes(void **state)
{
	static const struct {
		const char *text;
		int64_t want;
	} cases[] = {
	    {"0", 0},
	    {"1", 1},
	    {"10k", 10240},
	    {"10K", 10240},
	    {"2m", 2 * 1024 * 1024},
	    {"3G", INT64_C(3) * 1024 * 1024 * 1024},
	    {"4611686018427387904", INT64_C(1) << 62},
	};
	char text[256];

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct fy_config *cfg;

		snprintf(text, sizeof(text),
			 "[server]\nlimit_request_body = %s\n", cases[i].text);
		cfg = load(text);
		assert_true(cfg->limit_request_body == cases[i].want);
		fy_config_free(cfg);
	}
	load_fails("[server]\nlimit_request_body = 10x\n",
		   "t.ini:2: limit_request_body = '10x': expected a size in "
		   "bytes");
	load_fails("[server]\nlimit_request_body = 10kb\n", "t.ini:2: ");
	load_fails("[server]\nlimit_request_body = -1\n", "t.ini:2: ");
	load_fails("[server]\nlimit_request_body = 99999999999g\n",
		   "t.ini:2: ");
	load_fails("[server]\nlimit_request_body = 4611686018427387905\n",
		   "t.ini:2: limit_request_body = 4611686018427387905: out of "
		   "range (0..4611686018427387904)");
}

static void test_bools(void **state)
{
	static const char *const on[] = {"on", "ON", "yes", "true", "1", "Yes"};
	static const char *const off[] = {"off", "no", "false", "0", "FALSE"};
	char text[128];

	(void)state;
	for (size_t i = 0; i < sizeof(on) / sizeof(on[0]); i++) {
		struct fy_config *cfg;

		snprintf(text, sizeof(text),
			 "[site a]\ndocument_root=/\nfollow_symlinks = %s\n",
			 on[i]);
		cfg = load(text);
		assert_int_equal(cfg->sites[0]->follow_symlinks, 1);
		assert_string_equal(cfg->sites[0]->document_root, "/");
		fy_config_free(cfg);
	}
	for (size_t i = 0; i < sizeof(off) / sizeof(off[0]); i++) {
		struct fy_config *cfg;

		snprintf(text, sizeof(text), "[server]\nkeep_alive = %s\n",
			 off[i]);
		cfg = load(text);
		assert_int_equal(cfg->keep_alive, 0);
		fy_config_free(cfg);
	}
	load_fails("[server]\nkeep_alive = maybe\n",
		   "t.ini:2: keep_alive = 'maybe': expected on, off, yes, no, "
		   "true, false, 1 or 0");
}

static void test_syntax(void **state)
{
	struct fy_config *cfg;

	(void)state;
	/* inline comments, quotes, '#' comments, indentation, CRLF, BOM */
	cfg = load("\xEF\xBB\xBF; leading comment\r\n"
		   "# another\r\n"
		   "[server]   ; the server\r\n"
		   "  timeout = 33 ; seconds\r\n"
		   "\tuser = \"www data\"\r\n"
		   "  listen = 81\r\n"
		   "    listen = 82\r\n"
		   "group=g;not a comment\n"
		   "\n"
		   "   [site a]\n"
		   "document_root = /a\n");
	assert_int_equal(cfg->timeout, 33);
	assert_string_equal(cfg->user, "www data");
	assert_int_equal(cfg->n_listen, 2);
	assert_int_equal(cfg->listen[1].port, 82);
	assert_int_equal(cfg->listen[1].line, 7);
	assert_string_equal(cfg->group, "g;not a comment");
	assert_int_equal(cfg->sites[0]->line, 10);
	fy_config_free(cfg);

	load_fails("[server]\ntimeout 5\n",
		   "t.ini:2: expected 'key = value', a [section] or a comment");
	load_fails("[server\n", "t.ini:1: missing ']' in section header");
	load_fails("[server] x\n", "t.ini:1: unexpected text after ']'");
	load_fails("[server]\n= 5\n", "t.ini:2: missing key before '='");
	load_fails("[server]\nuser =\n", "t.ini:2: user: missing value");
}

static void test_long_line(void **state)
{
	char text[1024];
	struct fy_config *cfg;

	(void)state;
	snprintf(text, sizeof(text),
		 "[site a]\ndocument_root = /a\n"
		 "server_name = %0400d\n"
		 "index = x\n",
		 7);
	load_fails(text, "t.ini:3: line too long");
	/* a long comment line is harmless */
	snprintf(text, sizeof(text), "; %0600d\n[server]\ntimeout = 9\n", 1);
	cfg = load(text);
	assert_int_equal(cfg->timeout, 9);
	fy_config_free(cfg);
}

static void test_errors(void **state)
{
	(void)state;
	load_fails("[server]\n[bogus]\nx = 1\n",
		   "t.ini:2: unknown section [bogus]: expected [server], "
		   "[prefork], [worker], [event], [status], [site NAME] or "
		   "[pool NAME]");
	load_fails("[server]\nkeepalive_timout = 5\n",
		   "t.ini:2: unknown key 'keepalive_timout' in [server]");
	load_fails("[site a]\ndocument_root=/\nfoo = 1\n",
		   "t.ini:3: unknown key 'foo' in [site a]");
	load_fails("timeout = 5\n",
		   "t.ini:1: 'timeout' outside any section: it belongs in "
		   "[server]");
	load_fails("nothing = 5\n",
		   "t.ini:1: unknown key 'nothing' outside any section");
	load_fails("[server]\ndocument_root = /x\n",
		   "t.ini:2: 'document_root' is not allowed in [server]: it "
		   "belongs in [site NAME]");
	load_fails("[site a]\ndocument_root = /x\nKeepAlive = on\n",
		   "t.ini:3: 'KeepAlive' is not allowed in [site a]: it "
		   "belongs in [server] and [pool NAME]\n");
	load_fails("[server]\ntimeout = abc\n",
		   "t.ini:2: timeout = 'abc': expected a whole number from 1 "
		   "to 86400");
	load_fails("[server]\ntimeout = 12x\n", "t.ini:2: timeout = '12x'");
	load_fails("[server]\ntimeout = 0\n",
		   "t.ini:2: timeout = 0: out of range (1..86400)");
	load_fails("[server]\nMaxKeepAliveRequests = 1000001\n",
		   "t.ini:2: MaxKeepAliveRequests = 1000001: out of range "
		   "(0..1000000)");
	load_fails("[server]\ntimeout = 99999999999999999999\n",
		   "t.ini:2: timeout = '99999999999999999999'");
	load_fails("[server]\nmpm = evnt\n",
		   "t.ini:2: mpm = 'evnt': expected prefork, worker or event");
	load_fails("[server]\nserver_tokens = os\n",
		   "t.ini:2: server_tokens = 'os': expected full or prod");
	load_fails("[server]\nlog_level = loud\n",
		   "t.ini:2: log_level = 'loud': expected emerg, alert");
	load_fails("[server]\ntimeout = 5\ntimeout = 6\n",
		   "t.ini:3: 'timeout' is already set at t.ini:2");
	load_fails(
	    "[site a]\ndocument_root = /a\nphp = fpm:\n",
	    "t.ini:3: php = 'fpm:': expected off, inprocess or fpm:POOL");
	load_fails("[site a]\ndocument_root = /a\nphp = mod_php\n",
		   "t.ini:3: php = 'mod_php'");
	load_fails(
	    "[site a]\ndocument_root = /a\nfront_controller = index.php\n",
	    "t.ini:3: front_controller = 'index.php': expected a URL "
	    "path starting with '/'");
	load_fails("[site a]\nindex = a\n",
		   "t.ini:1: site a: document_root is required");
	load_fails("[site]\n", "t.ini:1: [site] needs a name: [site NAME]");
	load_fails("[site a b]\n",
		   "t.ini:1: [site a b]: a site name is one word");
	load_fails("[server extra]\n", "t.ini:1: unknown section [server "
				       "extra]");
}

static void test_listen_errors(void **state)
{
	static const char *const bad[] = {
	    "0",	"65536",	"http",	    "127.0.0.1",
	    "1.2.3:80", "localhost:80", "::1:80",   "[::1]80",
	    "[zz]:80",	"80 ssl",	"80 tls x", "*:",
	    "[::1]:0",	"127.0.0.1:-1", "+80",	    "8080:",
	};
	char text[128];

	(void)state;
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		snprintf(text, sizeof(text), "[server]\nlisten = %s\n", bad[i]);
		load_fails(text, "t.ini:2: listen = '");
		assert_non_null(strstr(err, "expected PORT, IPV4:PORT, "
					    "[IPV6]:PORT or *:PORT"));
	}
	text[0] = '\0';
	{
		char many[1024] = "[server]\n";

		for (int i = 0; i <= FY_CONFIG_MAX_LISTEN; i++) {
			snprintf(text, sizeof(text), "listen = %d\n", 8000 + i);
			strcat(many, text);
		}
		load_fails(many, "t.ini:18: listen: at most 16 listen lines");
	}
}

static void test_all_errors_reported(void **state)
{
	char big[4096] = "[server]\n";

	(void)state;
	load_fails("[server]\n"
		   "timeout = 0\n"
		   "mpm = x\n"
		   "[nope]\n"
		   "ignored_here = 1\n"
		   "[server]\n"
		   "keep_alive = 2\n",
		   "t.ini:2: timeout = 0");
	assert_non_null(strstr(err, "t.ini:3: mpm = 'x'"));
	assert_non_null(strstr(err, "t.ini:4: unknown section [nope]"));
	assert_non_null(strstr(err, "t.ini:7: keep_alive = '2'"));
	/* the keys of a bad section are not reported one by one */
	assert_null(strstr(err, "ignored_here"));
	assert_int_equal(count_lines(err), 4);

	/* a file full of errors stops at a sane number */
	for (int i = 0; i < 100; i++)
		strcat(big, "bad = 1\n");
	load_fails(big, "too many errors, stopping");
	assert_true(count_lines(err) < 40);

	/* a small error buffer is truncated, not overrun */
	{
		char small[16];

		memset(small, 'x', sizeof(small));
		assert_null(
		    fy_config_load_string(big, "t.ini", small, sizeof(small)));
		assert_int_equal(strlen(small), sizeof(small) - 1);
		assert_memory_equal(small, "t.ini:2: unknow", 15);
	}
}

static void test_sites(void **state)
{
	struct fy_config *cfg;

	(void)state;
	load_fails("[site b]\n"
		   "document_root = /b\n"
		   "[server]\n"
		   "timeout = 10\n"
		   "[site a]\n"
		   "document_root = /a\n"
		   "[SITE B]\n",
		   "t.ini:7: site B is already defined at t.ini:1");

	cfg = load("[site b]\n"
		   "document_root = /b\n"
		   "server_name = B.example\n"
		   "server_name = *.Example.org\n"
		   "index = a b\n"
		   "index = c\n"
		   "[server]\n"
		   "timeout = 10\n"
		   "[site a]\n"
		   "document_root = /a\n"
		   "[site c]\n"
		   "document_root = /c\n");
	assert_int_equal(cfg->n_sites, 3);
	assert_string_equal(cfg->sites[0]->name, "b");
	assert_string_equal(cfg->sites[1]->name, "a");
	assert_string_equal(cfg->sites[2]->name, "c");
	assert_int_equal(cfg->sites[1]->line, 9);
	assert_int_equal(cfg->sites[0]->n_server_names, 2);
	assert_string_equal(cfg->sites[0]->server_names[0], "b.example");
	assert_string_equal(cfg->sites[0]->server_names[1], "*.example.org");
	assert_int_equal(cfg->sites[0]->n_index, 3);
	assert_string_equal(cfg->sites[0]->index[2], "c");
	assert_int_equal(cfg->sites[1]->n_index, 3);
	assert_int_equal(cfg->timeout, 10);
	fy_config_free(cfg);
}

static void test_paths(void **state)
{
	char cwd[4096], want[4200];
	struct fy_config *cfg;

	(void)state;
	assert_non_null(getcwd(cwd, sizeof(cwd)));
	cfg = load("[server]\n"
		   "pid_file = run//foyer.pid\n"
		   "[site a]\n"
		   "document_root = www/./html/\n"
		   "access_log = logs/a.log\n"
		   "[site b]\n"
		   "document_root = /srv//b/\n"
		   "access_log = OFF\n");
	snprintf(want, sizeof(want), "%s/www/html", cwd);
	assert_string_equal(cfg->sites[0]->document_root, want);
	snprintf(want, sizeof(want), "%s/logs/a.log", cwd);
	assert_string_equal(cfg->sites[0]->access_log, want);
	snprintf(want, sizeof(want), "%s/run/foyer.pid", cwd);
	assert_string_equal(cfg->pid_file, want);
	assert_string_equal(cfg->sites[1]->document_root, "/srv/b");
	assert_null(cfg->sites[1]->access_log);
	fy_config_free(cfg);
}

static void test_includes(void **state)
{
	char *dir = make_tmpdir();
	char path[512], main_ini[512], text[1024], want[600];
	struct fy_config *cfg;

	(void)state;
	snprintf(path, sizeof(path), "%s/sites", dir);
	assert_int_equal(mkdir(path, 0700), 0);
	snprintf(path, sizeof(path), "%s/sites/20-b.ini", dir);
	write_file(path, "[site b]\ndocument_root = html-b\n"
			 "server_name = b.example\n");
	snprintf(path, sizeof(path), "%s/sites/10-a.ini", dir);
	write_file(path, "[site a]\ndocument_root = /srv/a\n"
			 "include = ../extra/*.ini\n"
			 "server_name = a2.example\n");
	snprintf(path, sizeof(path), "%s/sites/notes.txt", dir);
	write_file(path, "not ini at all\n");
	snprintf(path, sizeof(path), "%s/extra", dir);
	assert_int_equal(mkdir(path, 0700), 0);
	/* keys before any header continue the including section */
	snprintf(path, sizeof(path), "%s/extra/names.ini", dir);
	write_file(path, "server_name = a1.example\n");

	snprintf(main_ini, sizeof(main_ini), "%s/foyer.ini", dir);
	write_file(main_ini, "[server]\n"
			     "include = sites/*.ini\n"
			     "timeout = 7\n"
			     "include = nothing/*.ini\n"
			     "include = missing.ini\n");
	cfg = fy_config_load(main_ini, err, sizeof(err));
	if (cfg == NULL)
		print_error("%s", err);
	assert_non_null(cfg);
	assert_string_equal(cfg->file, main_ini);
	/* the includer keeps its own section after the include */
	assert_int_equal(cfg->timeout, 7);
	assert_int_equal(cfg->n_sites, 2);
	assert_string_equal(cfg->sites[0]->name, "a");
	assert_string_equal(cfg->sites[1]->name, "b");
	snprintf(want, sizeof(want), "%s/sites/10-a.ini", dir);
	assert_string_equal(cfg->sites[0]->file, want);
	assert_int_equal(cfg->sites[0]->n_server_names, 2);
	assert_string_equal(cfg->sites[0]->server_names[0], "a1.example");
	assert_string_equal(cfg->sites[0]->server_names[1], "a2.example");
	snprintf(want, sizeof(want), "%s/sites/html-b", dir);
	assert_string_equal(cfg->sites[1]->document_root, want);
	fy_config_free(cfg);

	/* errors in included files name that file and its line */
	snprintf(path, sizeof(path), "%s/sites/30-bad.ini", dir);
	write_file(path, "[site c]\ndocument_root = /c\nphp = maybe\n");
	cfg = fy_config_load(main_ini, err, sizeof(err));
	assert_null(cfg);
	snprintf(want, sizeof(want), "%s/sites/30-bad.ini:3: php = 'maybe'",
		 dir);
	assert_non_null(strstr(err, want));
	assert_int_equal(unlink(path), 0);

	/* a file that includes itself */
	snprintf(path, sizeof(path), "%s/loop.ini", dir);
	write_file(path, "[server]\ninclude = loop.ini\n");
	cfg = fy_config_load(path, err, sizeof(err));
	assert_null(cfg);
	snprintf(want, sizeof(want),
		 "%s:2: include loop: %s/loop.ini is already being read", path,
		 dir);
	assert_non_null(strstr(err, want));
	assert_int_equal(count_lines(err), 1);

	/* two files that include each other */
	snprintf(path, sizeof(path), "%s/x.ini", dir);
	write_file(path, "include = y.ini\n");
	snprintf(path, sizeof(path), "%s/y.ini", dir);
	write_file(path, "include = x.ini\n");
	cfg = fy_config_load(path, err, sizeof(err));
	assert_null(cfg);
	assert_non_null(strstr(err, "include loop"));

	/* a chain deeper than the limit, without a loop */
	for (int i = 0; i < 20; i++) {
		snprintf(path, sizeof(path), "%s/d%d.ini", dir, i);
		snprintf(text, sizeof(text), "include = d%d.ini\n", i + 1);
		write_file(path, text);
	}
	snprintf(path, sizeof(path), "%s/d20.ini", dir);
	write_file(path, "[server]\n");
	snprintf(path, sizeof(path), "%s/d0.ini", dir);
	cfg = fy_config_load(path, err, sizeof(err));
	assert_null(cfg);
	assert_non_null(strstr(err, "nested deeper than 16 files"));

	/* an included directory cannot be read */
	snprintf(path, sizeof(path), "%s/dir.ini", dir);
	write_file(path, "include = extra\n");
	cfg = fy_config_load(path, err, sizeof(err));
	assert_null(cfg);
	snprintf(want, sizeof(want), "%s:1: could not open %s/extra: ", path,
		 dir);
	assert_non_null(strstr(err, want));

	/* a missing main file */
	snprintf(path, sizeof(path), "%s/absent.ini", dir);
	cfg = fy_config_load(path, err, sizeof(err));
	assert_null(cfg);
	snprintf(want, sizeof(want),
		 "could not open %s: No such file or directory\n", path);
	assert_string_equal(err, want);

	remove_tree(dir);
	free(dir);
}

static void test_check(void **state)
{
	char *dir = make_tmpdir();
	char text[1024], warn[256], want[600];
	struct fy_config *cfg;

	(void)state;
	cfg = load("[server]\nlisten = 8080\n");
	assert_int_equal(
	    fy_config_check(cfg, err, sizeof(err), warn, sizeof(warn)), 1);
	assert_string_equal(err, "t.ini: no site: add a [site NAME] section\n");
	fy_config_free(cfg);

	snprintf(text, sizeof(text),
		 "[site good]\ndocument_root = %s\nphp = off\n", dir);
	cfg = load(text);
	assert_int_equal(
	    fy_config_check(cfg, err, sizeof(err), warn, sizeof(warn)), 0);
	assert_string_equal(err, "");
	assert_string_equal(warn, "");
	/* no warning buffer is fine */
	assert_int_equal(fy_config_check(cfg, err, sizeof(err), NULL, 0), 0);
	fy_config_free(cfg);

	snprintf(want, sizeof(want), "%s/file", dir);
	write_file(want, "x");
	snprintf(text, sizeof(text),
		 "[server]\n"
		 "listen = 8080\n"
		 "listen = 127.0.0.1:8080\n"
		 "listen = *:8080\n"
		 "listen = [::1]:9000\n"
		 "listen = [::1]:9000 tls\n"
		 "[site a]\ndocument_root = %s/missing\n"
		 "[site b]\ndocument_root = %s/file\n"
		 "[site c]\ndocument_root = %s\nphp = fpm:www\n"
		 "[site d]\ndocument_root = %s\nphp = inprocess\n",
		 dir, dir, dir, dir);
	cfg = load(text);
	assert_int_equal(
	    fy_config_check(cfg, err, sizeof(err), warn, sizeof(warn)), 6);
	snprintf(want, sizeof(want),
		 "t.ini:7: site a: document_root %s/missing: No such file or "
		 "directory\n",
		 dir);
	assert_non_null(strstr(err, want));
	snprintf(want, sizeof(want),
		 "t.ini:9: site b: document_root %s/file is not a directory\n",
		 dir);
	assert_non_null(strstr(err, want));
	assert_non_null(strstr(err, "t.ini:11: site c: php = fpm:www: there is "
				    "no pool www (add a [pool www] "
				    "section)\n"));
	assert_non_null(strstr(err, "t.ini:14: site d: php = inprocess is "
				    "not supported by this build yet\n"));
	assert_non_null(strstr(err, "t.ini:4: listen *:8080 is given twice "
				    "(first at t.ini:2)\n"));
	assert_non_null(strstr(err, "t.ini:6: listen [::1]:9000 is given "
				    "twice (first at t.ini:5)\n"));
	assert_int_equal(count_lines(err), 6);
	fy_config_free(cfg);

	remove_tree(dir);
	free(dir);
}

static void assert_mpm_defaults(const char *mpm, const struct fy_mpm_config *m)
{
	struct fy_mpm_config want;

	assert_int_equal(fy_mpm_defaults(mpm, &want), 0);
	assert_memory_equal(m, &want, sizeof(want));
}

static void test_mpm_defaults(void **state)
{
	struct fy_config *cfg = load("[site a]\ndocument_root = /srv/a\n");

	(void)state;
	assert_mpm_defaults("prefork", &cfg->prefork);
	assert_mpm_defaults("worker", &cfg->worker);
	assert_mpm_defaults("event", &cfg->event);
	assert_int_equal(cfg->prefork.start_servers, 5);
	assert_int_equal(cfg->prefork.server_limit, 256);
	assert_int_equal(cfg->worker.max_request_workers, 400);
	assert_true(cfg->event.async_request_worker_factor == 2.0);
	assert_int_equal(cfg->graceful_shutdown_timeout, 0);
	assert_string_equal(cfg->status_path, "/server-status");
	assert_int_equal(cfg->n_status_allow, 2);
	assert_string_equal(cfg->status_allow[0], "127.0.0.1");
	assert_string_equal(cfg->status_allow[1], "::1");
	assert_ptr_equal(fy_config_mpm(cfg), &cfg->event);
	fy_config_free(cfg);
}

static void test_mpm_sections(void **state)
{
	struct fy_config *cfg;

	(void)state;
	cfg = load("[server]\nmpm = prefork\n"
		   "[PreFork]\n"
		   "StartServers = 2\n"
		   "MinSpareServers = 3\n"
		   "max_spare_servers = 7\n"
		   "ServerLimit = 50\n"
		   "MaxRequestWorkers = 40\n"
		   "MaxConnectionsPerChild = 1000\n"
		   "GracefulShutdownTimeout = 30\n"
		   "[worker]\n"
		   "StartServers = 4\n"
		   "MinSpareThreads = 10\n"
		   "MaxSpareThreads = 90\n"
		   "ThreadsPerChild = 20\n"
		   "ThreadLimit = 40\n"
		   "ServerLimit = 8\n"
		   "MaxRequestWorkers = 160\n"
		   "MaxConnectionsPerChild = -1\n"
		   "[EVENT]\n"
		   "THREADS_PER_CHILD = 32\n"
		   "AsyncRequestWorkerFactor = 1.5\n"
		   "EventLoops = 4\n");
	assert_string_equal(cfg->mpm, "prefork");
	assert_ptr_equal(fy_config_mpm(cfg), &cfg->prefork);
	assert_int_equal(cfg->prefork.start_servers, 2);
	assert_int_equal(cfg->prefork.min_spare_servers, 3);
	assert_int_equal(cfg->prefork.max_spare_servers, 7);
	assert_int_equal(cfg->prefork.server_limit, 50);
	assert_int_equal(cfg->prefork.max_request_workers, 40);
	assert_int_equal(cfg->prefork.max_connections_per_child, 1000);
	assert_int_equal(cfg->graceful_shutdown_timeout, 30);
	assert_int_equal(cfg->worker.start_servers, 4);
	assert_int_equal(cfg->worker.min_spare_threads, 10);
	assert_int_equal(cfg->worker.max_spare_threads, 90);
	assert_int_equal(cfg->worker.threads_per_child, 20);
	assert_int_equal(cfg->worker.thread_limit, 40);
	assert_int_equal(cfg->worker.server_limit, 8);
	assert_int_equal(cfg->worker.max_request_workers, 160);
	assert_int_equal(cfg->worker.max_connections_per_child, -1);
	/* a key given in one MPM section leaves the others alone */
	assert_int_equal(cfg->event.threads_per_child, 32);
	assert_int_equal(cfg->event.max_request_workers, 400);
	assert_true(cfg->event.async_request_worker_factor == 1.5);
	assert_int_equal(cfg->event.event_loops, 4);
	assert_int_equal(cfg->prefork.threads_per_child, 1);
	fy_config_free(cfg);

	/* out-of-range numbers load: fy_mpm_check clamps them with
	 * Apache's warnings */
	cfg = load("[event]\nServerLimit = 0\nThreadsPerChild = -5\n"
		   "MaxRequestWorkers = 99999999\nStartServers = 0\n"
		   "AsyncRequestWorkerFactor = 0.5\n");
	assert_int_equal(cfg->event.server_limit, 0);
	assert_int_equal(cfg->event.threads_per_child, -5);
	assert_int_equal(cfg->event.max_request_workers, 99999999);
	assert_int_equal(cfg->event.start_servers, 0);
	assert_true(cfg->event.async_request_worker_factor == 0.5);
	fy_config_free(cfg);

	/* GracefulShutdownTimeout in [server] too */
	cfg = load("[server]\ngraceful_shutdown_timeout = 5\n");
	assert_int_equal(cfg->graceful_shutdown_timeout, 5);
	fy_config_free(cfg);
}

static void test_mpm_aliases(void **state)
{
	struct fy_config *cfg;

	(void)state;
	cfg = load("[prefork]\nMaxClients = 150\nMaxRequestsPerChild = 10\n"
		   "[worker]\nmax_clients = 200\n"
		   "[event]\nMAXREQUESTSPERCHILD = 7\n");
	assert_int_equal(cfg->prefork.max_request_workers, 150);
	assert_int_equal(cfg->prefork.max_connections_per_child, 10);
	assert_int_equal(cfg->worker.max_request_workers, 200);
	assert_int_equal(cfg->event.max_connections_per_child, 7);
	assert_int_equal(cfg->event.max_request_workers, 400);
	fy_config_free(cfg);

	/* a name and its alias set the same directive once */
	load_fails("[event]\nMaxRequestWorkers = 150\nMaxClients = 200\n",
		   "t.ini:3: 'MaxClients' is already set at t.ini:2");
	load_fails("[prefork]\nMaxRequestsPerChild = 1\n"
		   "MaxConnectionsPerChild = 2\n",
		   "t.ini:3: 'MaxConnectionsPerChild' is already set at "
		   "t.ini:2");
	/* but each MPM section has its own */
	cfg = load("[prefork]\nMaxClients = 150\n[event]\nMaxClients = 150\n");
	fy_config_free(cfg);
	load_fails("[event]\nStartServers = 1\n[event]\nStartServers = 2\n",
		   "t.ini:4: 'StartServers' is already set at t.ini:2");
	load_fails("[server]\nGracefulShutdownTimeout = 1\n[worker]\n"
		   "GracefulShutdownTimeout = 2\n",
		   "t.ini:4: 'GracefulShutdownTimeout' is already set at "
		   "t.ini:2");
}

static void test_mpm_errors(void **state)
{
	(void)state;
	load_fails("[server]\n[prefork]\nStartServers = 1\n"
		   "ThreadsPerChild = 25\n",
		   "t.ini:4: ThreadsPerChild is not a prefork directive (it "
		   "belongs in [worker] and [event])");
	load_fails("[prefork]\nThreadLimit = 25\n",
		   "t.ini:2: ThreadLimit is not a prefork directive (it "
		   "belongs in [worker] and [event])");
	load_fails("[worker]\nMinSpareServers = 5\n",
		   "t.ini:2: MinSpareServers is not a worker directive (it "
		   "belongs in [prefork])");
	load_fails("[event]\nmax_spare_servers = 5\n",
		   "t.ini:2: max_spare_servers is not an event directive (it "
		   "belongs in [prefork])");
	load_fails("[worker]\nAsyncRequestWorkerFactor = 2\n",
		   "t.ini:2: AsyncRequestWorkerFactor is not a worker "
		   "directive (it belongs in [event])");
	load_fails("[prefork]\nEventLoops = 2\n",
		   "t.ini:2: EventLoops is not a prefork directive (it belongs "
		   "in [event])");
	load_fails("[server]\nMaxRequestWorkers = 150\n",
		   "t.ini:2: 'MaxRequestWorkers' is not allowed in [server]: "
		   "it belongs in [prefork], [worker] and [event]");
	load_fails("[site a]\ndocument_root = /a\nThreadsPerChild = 5\n",
		   "t.ini:3: 'ThreadsPerChild' is not allowed in [site a]: it "
		   "belongs in [worker] and [event]");
	load_fails("[site a]\ndocument_root = /a\n"
		   "GracefulShutdownTimeout = 5\n",
		   "t.ini:3: 'GracefulShutdownTimeout' is not allowed in [site "
		   "a]: it belongs in [server], [prefork], [worker] and "
		   "[event]");
	load_fails("[event]\nKeepAlive = on\n",
		   "t.ini:2: 'KeepAlive' is not allowed in [event]: it belongs "
		   "in [server]");
	load_fails("[event]\nThreadsPerKid = 5\n",
		   "t.ini:2: unknown key 'ThreadsPerKid' in [event]");
	load_fails("StartServers = 5\n",
		   "t.ini:1: 'StartServers' outside any section: it belongs in "
		   "[prefork], [worker] and [event]");
	load_fails("[event extra]\n", "t.ini:1: unknown section [event extra]");

	/* strict numbers, unlike Apache's atoi */
	load_fails("[event]\nThreadsPerChild = 25abc\n",
		   "t.ini:2: ThreadsPerChild = '25abc': expected a whole "
		   "number\n");
	load_fails("[event]\nServerLimit = many\n",
		   "t.ini:2: ServerLimit = 'many': expected a whole number");
	load_fails("[event]\nServerLimit = 3000000000\n",
		   "t.ini:2: ServerLimit = 3000000000: out of range");
	load_fails("[event]\nEventLoops = 0\n",
		   "t.ini:2: EventLoops = 0: out of range (1..64)");
	load_fails("[event]\nEventLoops = 65\n",
		   "t.ini:2: EventLoops = 65: out of range (1..64)");
	load_fails("[server]\nGracefulShutdownTimeout = -1\n",
		   "t.ini:2: GracefulShutdownTimeout = -1: out of range");
	load_fails("[event]\nAsyncRequestWorkerFactor = 0\n",
		   "t.ini:2: AsyncRequestWorkerFactor = '0': expected a "
		   "positive number");
	load_fails("[event]\nAsyncRequestWorkerFactor = -1\n",
		   "t.ini:2: AsyncRequestWorkerFactor = '-1': expected a "
		   "positive number");
	load_fails("[event]\nAsyncRequestWorkerFactor = 2x\n",
		   "t.ini:2: AsyncRequestWorkerFactor = '2x'");
	load_fails("[event]\nAsyncRequestWorkerFactor = inf\n",
		   "t.ini:2: AsyncRequestWorkerFactor = 'inf'");
	load_fails("[event]\nAsyncRequestWorkerFactor = 1e3\n",
		   "t.ini:2: AsyncRequestWorkerFactor = '1e3'");
	load_fails("[event]\nAsyncRequestWorkerFactor = .\n",
		   "t.ini:2: AsyncRequestWorkerFactor = '.'");
}

static void test_status(void **state)
{
	struct fy_config *cfg;

	(void)state;
	cfg = load("[Status]\npath = /status\n"
		   "allow = 10.0.0.0/8 192.168.1.7\n"
		   "allow = FD00::/8 ::1 0.0.0.0/0 ::/0 10.1.2.3/32\n");
	assert_string_equal(cfg->status_path, "/status");
	assert_int_equal(cfg->n_status_allow, 7);
	assert_string_equal(cfg->status_allow[0], "10.0.0.0/8");
	assert_string_equal(cfg->status_allow[1], "192.168.1.7");
	assert_string_equal(cfg->status_allow[2], "fd00::/8");
	assert_string_equal(cfg->status_allow[3], "::1");
	assert_string_equal(cfg->status_allow[6], "10.1.2.3/32");
	fy_config_free(cfg);

	cfg = load("[status]\npath = off\nallow = ::ffff:127.0.0.1/128\n");
	assert_null(cfg->status_path);
	assert_int_equal(cfg->n_status_allow, 1);
	fy_config_free(cfg);

	load_fails("[status]\npath = server-status\n",
		   "t.ini:2: path = 'server-status': expected a URL path "
		   "starting with '/'");
	load_fails("[status]\npath = /a\npath = /b\n",
		   "t.ini:3: 'path' is already set at t.ini:2");
	load_fails("[status]\nallow = 127.0.0.1 localhost\n",
		   "t.ini:2: allow: 'localhost' is not an IP address or a CIDR "
		   "block");
	load_fails("[status]\nallow = 10.0.0.0/33\n",
		   "t.ini:2: allow: '10.0.0.0/33' is not");
	load_fails("[status]\nallow = ::/129\n", "t.ini:2: allow: '::/129'");
	load_fails("[status]\nallow = 10.0.0.0/\n",
		   "t.ini:2: allow: '10.0.0.0/'");
	load_fails("[status]\nallow = 10.0.0.0/8x\n",
		   "t.ini:2: allow: '10.0.0.0/8x'");
	load_fails("[status]\nallow = 10.0.0/8\n",
		   "t.ini:2: allow: '10.0.0/8'");
	load_fails("[status]\nallow = /8\n", "t.ini:2: allow: '/8'");
	load_fails("[status]\nallow = 10.0.0.0/-1\n",
		   "t.ini:2: allow: '10.0.0.0/-1'");
	load_fails("[status]\nallow =\n", "t.ini:2: allow: missing value");
	load_fails("[server]\nallow = 127.0.0.1\n",
		   "t.ini:2: 'allow' is not allowed in [server]: it belongs in "
		   "[status]");
	load_fails("[status]\ntimeout = 5\n",
		   "t.ini:2: 'timeout' is not allowed in [status]: it belongs "
		   "in [server]");
	load_fails("[status]\nfoo = 5\n", "t.ini:2: unknown key 'foo' in "
					  "[status]");
}

static void test_check_mpm(void **state)
{
	char *dir = make_tmpdir();
	char text[1024], warn[1024];
	struct fy_config *cfg, *next;

	(void)state;
	snprintf(text, sizeof(text),
		 "[event]\nThreadsPerChild = 30\n"
		 "[prefork]\nServerLimit = 0\n"
		 "[site a]\ndocument_root = %s\n",
		 dir);
	cfg = load(text);
	assert_int_equal(
	    fy_config_check(cfg, err, sizeof(err), warn, sizeof(warn)), 0);
	assert_string_equal(err, "");
	/* only the selected MPM is checked */
	assert_string_equal(warn,
			    "WARNING: MaxRequestWorkers of 400 is not an "
			    "integer multiple of ThreadsPerChild of 30, "
			    "decreasing to nearest multiple 390, for a maximum "
			    "of 13 servers.\n");
	assert_int_equal(cfg->event.max_request_workers, 390);
	assert_int_equal(cfg->event.daemons_limit, 13);
	assert_int_equal(cfg->prefork.server_limit, 0);

	/* a restart: Apache's restart texts, ServerLimit kept */
	snprintf(text, sizeof(text),
		 "[event]\nThreadsPerChild = 30\nServerLimit = 20\n"
		 "[site a]\ndocument_root = %s\n",
		 dir);
	next = load(text);
	assert_int_equal(fy_config_check_restart(next, cfg, err, sizeof(err),
						 warn, sizeof(warn)),
			 0);
	assert_string_equal(warn,
			    "changing ServerLimit to 20 from original value of "
			    "16 not allowed during restart\n"
			    "MaxRequestWorkers of 400 is not an integer "
			    "multiple of ThreadsPerChild of 30, decreasing to "
			    "nearest multiple 390\n");
	assert_int_equal(next->event.server_limit, 16);
	fy_config_free(next);

	/* the MPM cannot change on a restart */
	snprintf(text, sizeof(text),
		 "[server]\nmpm = worker\n[site a]\ndocument_root = %s\n", dir);
	next = load(text);
	assert_int_equal(fy_config_check_restart(next, cfg, err, sizeof(err),
						 warn, sizeof(warn)),
			 1);
	assert_string_equal(err, "t.ini: The MPM cannot be changed during "
				 "restart (event is running, the "
				 "configuration says worker)\n");
	fy_config_free(next);
	fy_config_free(cfg);

	remove_tree(dir);
	free(dir);
}

/* The packaged files stay loadable; run from the top of the tree. */
static void test_pool_defaults(void **state)
{
	struct fy_config *cfg = load("[site a]\ndocument_root = /srv/a\n"
				     "[POOL www]\nbackend = 127.0.0.1:9000\n");
	const struct fy_pool *p;

	(void)state;
	assert_int_equal(cfg->n_pools, 1);
	p = cfg->pools[0];
	assert_string_equal(p->name, "www");
	assert_int_equal(p->line, 3);
	assert_int_equal(p->n_backends, 1);
	assert_string_equal(p->balance, "round-robin");
	assert_int_equal(p->keep_alive, 4);
	assert_int_equal(p->keep_alive_timeout, 30);
	assert_int_equal(p->max_connections, 0);
	assert_int_equal(p->queue_timeout, 30);
	assert_int_equal(p->max_fails, 1);
	assert_int_equal(p->fail_timeout, 10);
	assert_int_equal(p->connect_timeout, 5);
	assert_int_equal(p->send_timeout, 60);
	assert_int_equal(p->read_timeout, 60);
	assert_null(p->spawn);
	assert_int_equal(p->spawn_children, 4);
	assert_null(p->runtime);
	/* [server]'s keep_alive keeps its own default */
	assert_int_equal(cfg->keep_alive, 1);
	assert_int_equal(cfg->keep_alive_timeout, 5);
	fy_config_free(cfg);
}

static void test_pool_ranges(void **state)
{
	static const struct {
		const char *key;
		int min, max;
	} ranges[] = {
	    {"keep_alive", 0, 1024},	   {"keep_alive_timeout", 1, 3600},
	    {"max_connections", 0, 100000}, {"queue_timeout", 1, 3600},
	    {"max_fails", 0, 1000},	   {"fail_timeout", 1, 3600},
	    {"connect_timeout", 1, 86400},  {"send_timeout", 1, 86400},
	    {"read_timeout", 1, 86400},	   {"spawn_children", 1, 1024},
	};
	char text[256], want[256];

	(void)state;
	for (size_t i = 0; i < sizeof(ranges) / sizeof(ranges[0]); i++) {
		for (int end = 0; end < 2; end++) {
			int ok = end == 0 ? ranges[i].min : ranges[i].max;
			int bad = end == 0 ? ranges[i].min - 1
					   : ranges[i].max + 1;
			struct fy_config *cfg;

			snprintf(text, sizeof(text),
				 "[pool p]\nbackend = h:1\n%s = %d\n",
				 ranges[i].key, ok);
			cfg = load(text);
			fy_config_free(cfg);
			snprintf(text, sizeof(text),
				 "[pool p]\nbackend = h:1\n%s = %d\n",
				 ranges[i].key, bad);
			snprintf(want, sizeof(want),
				 "t.ini:3: %s = %d: out of range (%d..%d)",
				 ranges[i].key, bad, ranges[i].min,
				 ranges[i].max);
			load_fails(text, want);
		}
	}
	load_fails("[pool p]\nbackend = h:1\nread_timeout = soon\n",
		   "t.ini:3: read_timeout = 'soon': expected a whole number "
		   "from 1 to 86400");
}

static void test_pool_backends(void **state)
{
	static const char *const good[][2] = {
	    {"unix:/run/php/php8.2-fpm.sock", "unix:/run/php/php8.2-fpm.sock"},
	    {"UNIX:/run//php/./fpm.sock", "unix:/run/php/fpm.sock"},
	    {"127.0.0.1:9000", "127.0.0.1:9000"},
	    {"fpm.internal:9000", "fpm.internal:9000"},
	    {"localhost:1", "localhost:1"},
	    {"php-1.example.com:65535", "php-1.example.com:65535"},
	    {"[::1]:9000", "[::1]:9000"},
	    {"[fd00::7]:9001", "[fd00::7]:9001"},
	};
	static const char *const bad[] = {
	    "9000",	       "unix:",		  "fcgi://127.0.0.1:9000",
	    "127.0.0.1",       "127.0.0.1:0",	  "127.0.0.1:65536",
	    "127.0.0.1:",      "127.0.0.1:90x",	  "256.0.0.1:9000",
	    "127.1:9000",      "::1:9000",	  "[::1]9000",
	    "[::1]:",	       "[127.0.0.1]:9000", "[]:9000",
	    ":9000",	       "-fpm:9000",	  "fpm-:9000",
	    "a..b:9000",       "fpm.:9000",	  "fpm_1:9000",
	    "host name:9000",  "tcp:9000x",
	};
	char text[4400], want[4300], cwd[4096];
	struct fy_config *cfg;

	(void)state;
	for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
		snprintf(text, sizeof(text), "[pool p]\nbackend = %s\n",
			 good[i][0]);
		cfg = load(text);
		assert_int_equal(cfg->pools[0]->n_backends, 1);
		assert_string_equal(cfg->pools[0]->backends[0], good[i][1]);
		fy_config_free(cfg);
	}
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		snprintf(text, sizeof(text), "[pool p]\nbackend = %s\n",
			 bad[i]);
		snprintf(want, sizeof(want),
			 "t.ini:2: backend = '%s': expected unix:/PATH, "
			 "HOST:PORT (an IPv4 address or a host name) or "
			 "[IPV6]:PORT, port 1-65535\n",
			 bad[i]);
		load_fails(text, want);
	}
	load_fails("[pool p]\nbackend =\n", "t.ini:2: backend: missing value");

	/* a relative socket path is taken from the file's directory */
	assert_non_null(getcwd(cwd, sizeof(cwd)));
	cfg = load("[pool p]\nbackend = unix:run/fpm.sock\n"
		   "backend = unix:../fpm.sock\n");
	snprintf(want, sizeof(want), "unix:%s/run/fpm.sock", cwd);
	assert_string_equal(cfg->pools[0]->backends[0], want);
	snprintf(want, sizeof(want), "unix:%s/../fpm.sock", cwd);
	assert_string_equal(cfg->pools[0]->backends[1], want);
	fy_config_free(cfg);

	/* sun_path holds 107 bytes and a NUL */
	memset(want, 'x', 107);
	want[0] = '/';
	want[107] = '\0';
	snprintf(text, sizeof(text), "[pool p]\nbackend = unix:%s\n", want);
	cfg = load(text);
	fy_config_free(cfg);
	snprintf(text, sizeof(text), "[pool p]\nbackend = unix:%sx\n", want);
	load_fails(text, "x is longer than 107 bytes\n");
}

static void test_pool_errors(void **state)
{
	char cwd[4096], want[4200];
	struct fy_config *cfg;

	(void)state;
	load_fails("[pool www]\nbackend = h:1\n[site a]\ndocument_root = /\n"
		   "[pool WWW]\nbackend = h:2\n",
		   "t.ini:5: pool WWW is already defined at t.ini:1\n");
	/* a pool and a site may share a name */
	cfg = load("[pool a]\nbackend = h:1\n[site a]\ndocument_root = /\n");
	fy_config_free(cfg);
	load_fails("[pool]\n", "t.ini:1: [pool] needs a name: [pool NAME]");
	load_fails("[pool a b]\n",
		   "t.ini:1: [pool a b]: a pool name is one word");
	load_fails("[pool w/w]\n",
		   "t.ini:1: [pool w/w]: a pool name is made of letters, "
		   "digits, '-', '_' and '.'");
	load_fails("[pool p]\nbackend = h:1\nbalance = random\n",
		   "t.ini:3: balance = 'random': expected round-robin or "
		   "least-conn");
	load_fails("[pool p]\nbackend = h:1\nkeep_alive = 2\nkeepalive = 3\n",
		   "t.ini:4: 'keepalive' is already set at t.ini:3");
	load_fails("[pool p]\nspawn = php-fpm8.2 -R\n",
		   "t.ini:2: spawn = 'php-fpm8.2 -R': expected a program name "
		   "or path, without arguments");
	load_fails("[pool p]\nspawn = php-fpm8.2\nbackend = h:1\n",
		   "t.ini:3: pool p: backend cannot be combined with spawn "
		   "(t.ini:2), which starts PHP-FPM itself and uses its "
		   "socket\n");
	load_fails("[pool p]\nbackend = h:1\ndocument_root = /\n",
		   "t.ini:3: 'document_root' is not allowed in [pool p]: it "
		   "belongs in [site NAME]");
	load_fails("[site a]\ndocument_root = /\nbackend = h:1\n",
		   "t.ini:3: 'backend' is not allowed in [site a]: it belongs "
		   "in [pool NAME]");
	load_fails("[pool p]\nbackend = h:1\ntimeout = 5\n",
		   "t.ini:3: 'timeout' is not allowed in [pool p]: it belongs "
		   "in [server]");
	load_fails("[pool p]\nbackend = h:1\nbackends = h:2\n",
		   "t.ini:3: unknown key 'backends' in [pool p]");
	load_fails("[event]\nkeep_alive = on\n",
		   "t.ini:2: 'keep_alive' is not allowed in [event]: it "
		   "belongs in [server] and [pool NAME]");

	/* Apache-style spelling works in pools too; spawn takes a name or a
	 * path, relative to the file's directory */
	assert_non_null(getcwd(cwd, sizeof(cwd)));
	cfg = load("[pool p]\nSpawn = sbin/php-fpm\nSpawnChildren = 8\n"
		   "[pool q]\nspawn = /usr/sbin/php-fpm8.2\n"
		   "[pool r]\nBackEnd = h:1\nKeepAliveTimeout = 9\n");
	snprintf(want, sizeof(want), "%s/sbin/php-fpm", cwd);
	assert_string_equal(cfg->pools[0]->spawn, want);
	assert_int_equal(cfg->pools[0]->spawn_children, 8);
	assert_string_equal(cfg->pools[1]->spawn, "/usr/sbin/php-fpm8.2");
	assert_int_equal(cfg->pools[2]->keep_alive_timeout, 9);
	fy_config_free(cfg);
}

static void test_pool_include(void **state)
{
	char *dir = make_tmpdir();
	char path[512], want[600];
	struct fy_config *cfg;

	(void)state;
	/* keys of an included file continue the includer's [pool] */
	snprintf(path, sizeof(path), "%s/backends.ini", dir);
	write_file(path, "backend = unix:fpm.sock\n");
	snprintf(path, sizeof(path), "%s/foyer.ini", dir);
	write_file(path, "[pool www]\ninclude = backends.ini\n"
			 "backend = 10.0.0.1:9000\n");
	cfg = fy_config_load(path, err, sizeof(err));
	if (cfg == NULL)
		print_error("%s", err);
	assert_non_null(cfg);
	assert_int_equal(cfg->pools[0]->n_backends, 2);
	snprintf(want, sizeof(want), "unix:%s/fpm.sock", dir);
	assert_string_equal(cfg->pools[0]->backends[0], want);
	assert_string_equal(cfg->pools[0]->backends[1], "10.0.0.1:9000");
	fy_config_free(cfg);
	remove_tree(dir);
	free(dir);
}

static void test_site_php_keys(void **state)
{
	char cwd[4096], want[4200];
	struct fy_config *cfg;

	(void)state;
	assert_non_null(getcwd(cwd, sizeof(cwd)));
	cfg = load("[site a]\ndocument_root = /\nPHPExtensions = .PHP\n"
		   "PassAuthorization = no\nXSendfile = yes\n"
		   "XSendfileRoot = private/./files/\n");
	assert_int_equal(cfg->sites[0]->n_php_extensions, 1);
	assert_string_equal(cfg->sites[0]->php_extensions[0], ".PHP");
	assert_int_equal(cfg->sites[0]->pass_authorization, 0);
	assert_int_equal(cfg->sites[0]->x_sendfile, 1);
	snprintf(want, sizeof(want), "%s/private/files", cwd);
	assert_string_equal(cfg->sites[0]->x_sendfile_root, want);
	fy_config_free(cfg);

	load_fails("[site a]\ndocument_root = /\nphp_extensions = .php php5\n",
		   "t.ini:3: php_extensions: 'php5' is not a file extension: "
		   "expected words like .php or .phtml");
	load_fails("[site a]\ndocument_root = /\nphp_extensions = .\n",
		   "t.ini:3: php_extensions: '.' is not a file extension");
	load_fails("[site a]\ndocument_root = /\nphp_extensions = ./x\n",
		   "t.ini:3: php_extensions: './x' is not a file extension");
	load_fails("[site a]\ndocument_root = /\nphp_extensions =\n",
		   "t.ini:3: php_extensions: missing value");
	load_fails("[site a]\ndocument_root = /\npass_authorization = maybe\n",
		   "t.ini:3: pass_authorization = 'maybe': expected on, off");
	load_fails("[site a]\ndocument_root = /\nx_sendfile = 2\n",
		   "t.ini:3: x_sendfile = '2': expected on, off");
	load_fails("[site a]\ndocument_root = /\nx_sendfile_root = /a\n"
		   "x_sendfile_root = /b\n",
		   "t.ini:4: 'x_sendfile_root' is already set at t.ini:3");
}

static void test_site_params(void **state)
{
	struct fy_config *cfg;
	const struct fy_site *s;

	(void)state;
	/* only the prefix is spelled freely; NAME is kept as written */
	cfg = load("[site a]\ndocument_root = /\n"
		   "PHP_Value.memory_limit = 64M\n"
		   "phpvalue.Error_Reporting = \"E_ALL & ~E_NOTICE\"\n"
		   "PhpAdminValue.open_basedir = /srv:/tmp\n"
		   "FASTCGI_PARAM.app-env.v2 = a = b ; c\n"
		   "fastcgi_param.HTTP_PROXY =\n"
		   "php_value.memory_limit2 = \"\"\n"
		   "php_admin_value.memory_limit = 32M\n");
	s = cfg->sites[0];
	assert_int_equal(s->n_params, 7);
	assert_int_equal(s->params[0].kind, 0);
	assert_string_equal(s->params[0].name, "memory_limit");
	assert_string_equal(s->params[0].value, "64M");
	assert_int_equal(s->params[1].kind, 0);
	assert_string_equal(s->params[1].name, "Error_Reporting");
	assert_string_equal(s->params[1].value, "E_ALL & ~E_NOTICE");
	assert_int_equal(s->params[2].kind, 1);
	assert_string_equal(s->params[2].name, "open_basedir");
	assert_string_equal(s->params[2].value, "/srv:/tmp");
	assert_int_equal(s->params[3].kind, 2);
	assert_string_equal(s->params[3].name, "app-env.v2");
	/* inih's rule: " ;" starts a comment */
	assert_string_equal(s->params[3].value, "a = b");
	/* an empty value is a value: nginx's fastcgi_param HTTP_PROXY "" */
	assert_string_equal(s->params[4].name, "HTTP_PROXY");
	assert_string_equal(s->params[4].value, "");
	assert_string_equal(s->params[5].value, "");
	/* the same NAME as a php_value and a php_admin_value */
	assert_int_equal(s->params[6].kind, 1);
	assert_string_equal(s->params[6].name, "memory_limit");
	fy_config_free(cfg);

	load_fails("[site a]\ndocument_root = /\nphp_value. = 1\n",
		   "t.ini:3: 'php_value.': expected php_value.NAME = VALUE, "
		   "NAME made of letters, digits, '_', '.' and '-'");
	load_fails("[site a]\ndocument_root = /\nphp_admin_value.a/b = 1\n",
		   "t.ini:3: 'php_admin_value.a/b': expected "
		   "php_admin_value.NAME = VALUE");
	load_fails("[site a]\ndocument_root = /\nfastcgi_param.X$ = 1\n",
		   "t.ini:3: 'fastcgi_param.X$': expected fastcgi_param.NAME "
		   "= VALUE");
	load_fails("[site a]\ndocument_root = /\n"
		   "fastcgi_param.PHP_VALUE = memory_limit=1G\n",
		   "t.ini:3: 'fastcgi_param.PHP_VALUE': PHP settings are not "
		   "sent this way: write php_value.NAME = VALUE, one line per "
		   "setting\n");
	load_fails("[site a]\ndocument_root = /\n"
		   "fastcgi_param.php_admin_value = x=1\n",
		   "t.ini:3: 'fastcgi_param.php_admin_value': PHP settings are "
		   "not sent this way: write php_admin_value.NAME = VALUE");
	load_fails("[site a]\ndocument_root = /\n"
		   "FastCgiParam.REQUEST_BODY_FILE = /etc/passwd\n",
		   "t.ini:3: 'FastCgiParam.REQUEST_BODY_FILE' is never allowed: "
		   "PHP-FPM reads the request body from the file it names\n");
	load_fails("[site a]\ndocument_root = /\n"
		   "fastcgi_param.request_body_file = x\n",
		   "t.ini:3: 'fastcgi_param.request_body_file' is never "
		   "allowed");
	/* CR ends an ini line for PHP as LF does */
	load_fails("[site a]\ndocument_root = /\n"
		   "php_value.precision = 3\rauto_prepend_file=/tmp/x\n",
		   "t.ini:3: 'php_value.precision': the value may not contain "
		   "a line break or a control character\n");
	load_fails("[site a]\ndocument_root = /\n"
		   "fastcgi_param.X = a\x01z\n",
		   "t.ini:3: 'fastcgi_param.X': the value may not contain");
	load_fails("[site a]\ndocument_root = /\nphp_value.precision = 3\n"
		   "PHP_VALUE.precision = 4\n",
		   "t.ini:4: 'PHP_VALUE.precision' is already set at t.ini:3");
	/* NAME is exact: these are two settings */
	cfg = load("[site a]\ndocument_root = /\nfastcgi_param.A = 1\n"
		   "fastcgi_param.a = 2\n");
	assert_int_equal(cfg->sites[0]->n_params, 2);
	fy_config_free(cfg);
	load_fails("[server]\nphp_value.precision = 3\n",
		   "t.ini:2: 'php_value.precision' is not allowed in [server]: "
		   "it belongs in [site NAME]");
	load_fails("[pool p]\nbackend = h:1\nfastcgi_param.X = 1\n",
		   "t.ini:3: 'fastcgi_param.X' is not allowed in [pool p]: it "
		   "belongs in [site NAME]");
	load_fails("php_admin_value.x = 1\n",
		   "t.ini:1: 'php_admin_value.x' outside any section: it "
		   "belongs in [site NAME]");
	load_fails("[site a]\ndocument_root = /\nphp_flag.display_errors = on\n",
		   "t.ini:3: unknown key 'php_flag.display_errors' in [site a]: "
		   "a flag is a value here, write php_value.NAME = on (or "
		   "off)");
	load_fails("[site a]\ndocument_root = /\nphp_admin_flag.log_errors = 1\n",
		   "write php_admin_value.NAME = on (or off)");
	load_fails("[site a]\ndocument_root = /\nphp_values.x = 1\n",
		   "t.ini:3: unknown key 'php_values.x' in [site a]\n");
}

static void test_fcgi_params(void **state)
{
	char *dir = make_tmpdir();
	char text[1024];
	struct fy_config *cfg;
	const struct fy_site *s;
	const struct fy_cgi_param *p;

	(void)state;
	snprintf(text, sizeof(text),
		 "[pool www]\nbackend = unix:/run/php/php8.2-fpm.sock\n"
		 "[site a]\ndocument_root = %s\nphp = fpm:www\n"
		 "fastcgi_param.APP_ENV = prod\n"
		 "php_value.memory_limit = 256M\n"
		 "php_admin_value.open_basedir = /srv:/tmp\n"
		 "php_value.error_reporting = E_ALL & ~E_NOTICE\n"
		 "fastcgi_param.EMPTY =\n"
		 "php_admin_value.disable_functions = exec,system\n"
		 "php_value.precision = 14\n"
		 "[site b]\ndocument_root = %s\n"
		 "[site c]\ndocument_root = %s\nfastcgi_param.ONLY = 1\n"
		 "[site d]\ndocument_root = %s\nphp_admin_value.x = 1\n",
		 dir, dir, dir, dir);
	cfg = load(text);
	/* the loader leaves them to the check */
	assert_null(cfg->sites[0]->fcgi_params);
	for (int round = 0; round < 2; round++) {
		/* a second check rebuilds them (no leak, same result) */
		assert_int_equal(fy_config_check(cfg, err, sizeof(err), NULL, 0),
				 0);
		s = cfg->sites[0];
		assert_ptr_equal(s->pool, cfg->pools[0]);
		assert_int_equal(s->n_fcgi_params, 4);
		p = s->fcgi_params;
		assert_int_equal(p[0].name_len, 9);
		assert_memory_equal(p[0].name, "PHP_VALUE", 9);
		assert_int_equal(p[0].value_len,
				 strlen("memory_limit=256M\n"
					"error_reporting=E_ALL & ~E_NOTICE\n"
					"precision=14"));
		assert_memory_equal(p[0].value,
				    "memory_limit=256M\n"
				    "error_reporting=E_ALL & ~E_NOTICE\n"
				    "precision=14",
				    p[0].value_len);
		assert_int_equal(p[1].name_len, 15);
		assert_memory_equal(p[1].name, "PHP_ADMIN_VALUE", 15);
		assert_int_equal(p[1].value_len,
				 strlen("open_basedir=/srv:/tmp\n"
					"disable_functions=exec,system"));
		assert_memory_equal(p[1].value,
				    "open_basedir=/srv:/tmp\n"
				    "disable_functions=exec,system",
				    p[1].value_len);
		assert_int_equal(p[2].name_len, 7);
		assert_memory_equal(p[2].name, "APP_ENV", 7);
		assert_int_equal(p[2].value_len, 4);
		assert_memory_equal(p[2].value, "prod", 4);
		assert_int_equal(p[3].name_len, 5);
		assert_memory_equal(p[3].name, "EMPTY", 5);
		assert_int_equal(p[3].value_len, 0);

		/* nothing set: nothing sent */
		assert_null(cfg->sites[1]->pool);
		assert_null(cfg->sites[1]->fcgi_params);
		assert_int_equal(cfg->sites[1]->n_fcgi_params, 0);
		/* no PHP_VALUE without a php_value */
		s = cfg->sites[2];
		assert_int_equal(s->n_fcgi_params, 1);
		assert_int_equal(s->fcgi_params[0].name_len, 4);
		assert_memory_equal(s->fcgi_params[0].name, "ONLY", 4);
		assert_memory_equal(s->fcgi_params[0].value, "1", 1);
		s = cfg->sites[3];
		assert_int_equal(s->n_fcgi_params, 1);
		assert_memory_equal(s->fcgi_params[0].name, "PHP_ADMIN_VALUE",
				    15);
		assert_int_equal(s->fcgi_params[0].value_len, 3);
		assert_memory_equal(s->fcgi_params[0].value, "x=1", 3);
	}
	fy_config_free(cfg);
	remove_tree(dir);
	free(dir);
}

static void test_check_pools(void **state)
{
	char *dir = make_tmpdir();
	char text[2048], want[600];
	struct fy_config *cfg;

	(void)state;
	/* pool names match without regard to case; a pool may come after
	 * the site that uses it; a spawned pool needs no backend */
	snprintf(text, sizeof(text),
		 "[site a]\ndocument_root = %s\nphp = fpm:WWW\n"
		 "[site b]\ndocument_root = %s\nphp = FPM:managed\n"
		 "[pool www]\nbackend = [::1]:9000\n"
		 "[pool managed]\nspawn = php-fpm8.2\n",
		 dir, dir);
	cfg = load(text);
	assert_string_equal(cfg->sites[1]->php, "fpm:managed");
	assert_int_equal(fy_config_check(cfg, err, sizeof(err), NULL, 0), 0);
	assert_string_equal(err, "");
	assert_ptr_equal(cfg->sites[0]->pool, cfg->pools[0]);
	assert_ptr_equal(cfg->sites[1]->pool, cfg->pools[1]);
	assert_int_equal(fy_config_check_restart(cfg, cfg, err, sizeof(err),
						 NULL, 0),
			 0);
	assert_ptr_equal(cfg->sites[1]->pool, cfg->pools[1]);
	fy_config_free(cfg);

	snprintf(text, sizeof(text),
		 "[site a]\ndocument_root = %s\nphp = fpm:missing\n"
		 "[pool empty]\nbalance = least-conn\n"
		 "[site b]\ndocument_root = %s\nphp = inprocess\n"
		 "x_sendfile = on\n",
		 dir, dir);
	cfg = load(text);
	assert_int_equal(fy_config_check(cfg, err, sizeof(err), NULL, 0), 4);
	assert_non_null(strstr(err, "t.ini:1: site a: php = fpm:missing: "
				    "there is no pool missing (add a [pool "
				    "missing] section)\n"));
	assert_non_null(strstr(err, "t.ini:4: pool empty has no backend: add "
				    "backend = unix:/PATH or HOST:PORT (or "
				    "spawn = php-fpm8.2 to have foyer start "
				    "PHP-FPM)\n"));
	assert_non_null(strstr(err, "t.ini:6: site b: php = inprocess is not "
				    "supported by this build yet\n"));
	assert_non_null(strstr(err, "t.ini:6: site b: x_sendfile = on needs "
				    "x_sendfile_root, the directory whose "
				    "files responses may name\n"));
	assert_int_equal(count_lines(err), 4);
	assert_null(cfg->sites[0]->pool);
	fy_config_free(cfg);

	/* the restart check says the same */
	snprintf(text, sizeof(text),
		 "[site a]\ndocument_root = %s\nphp = fpm:gone\n", dir);
	cfg = load(text);
	assert_int_equal(
	    fy_config_check_restart(cfg, cfg, err, sizeof(err), NULL, 0), 1);
	assert_non_null(strstr(err, "t.ini:1: site a: php = fpm:gone: there "
				    "is no pool gone"));
	fy_config_free(cfg);

	/* x_sendfile_root must be a directory, but only when x_sendfile is
	 * on */
	snprintf(want, sizeof(want), "%s/file", dir);
	write_file(want, "x");
	snprintf(text, sizeof(text),
		 "[site a]\ndocument_root = %s\nx_sendfile = on\n"
		 "x_sendfile_root = %s\n"
		 "[site b]\ndocument_root = %s\nx_sendfile = on\n"
		 "x_sendfile_root = %s/file\n"
		 "[site c]\ndocument_root = %s\nx_sendfile = on\n"
		 "x_sendfile_root = %s/missing\n"
		 "[site d]\ndocument_root = %s\nx_sendfile = off\n"
		 "x_sendfile_root = %s/missing\n",
		 dir, dir, dir, dir, dir, dir, dir, dir);
	cfg = load(text);
	assert_int_equal(fy_config_check(cfg, err, sizeof(err), NULL, 0), 2);
	snprintf(want, sizeof(want),
		 "t.ini:5: site b: x_sendfile_root %s/file is not a "
		 "directory\n",
		 dir);
	assert_non_null(strstr(err, want));
	snprintf(want, sizeof(want),
		 "t.ini:9: site c: x_sendfile_root %s/missing: No such file "
		 "or directory\n",
		 dir);
	assert_non_null(strstr(err, want));
	fy_config_free(cfg);

	remove_tree(dir);
	free(dir);
}

/* path's text with the ';' taken off commented-out settings (";key = ...",
 * ";[section]") and "php = off" left out, so that the examples stand in
 * for the defaults they document. */
static char *uncommented(const char *path)
{
	FILE *f = fopen(path, "r");
	char line[512];
	char *out = NULL;
	size_t len = 0;
	FILE *mem = open_memstream(&out, &len);

	assert_non_null(f);
	assert_non_null(mem);
	while (fgets(line, sizeof(line), f) != NULL) {
		if (strcmp(line, "php = off\n") == 0)
			continue;
		if (line[0] == ';' && (isalpha((unsigned char)line[1]) ||
				       line[1] == '['))
			fputs(line + 1, mem);
		else
			fputs(line, mem);
	}
	assert_int_equal(fclose(f), 0);
	assert_int_equal(fclose(mem), 0);
	return out;
}

static void test_dist(void **state)
{
	char *text, *site, *both;
	struct fy_config *cfg;

	(void)state;
	cfg = fy_config_load("conf/dist/foyer.ini", err, sizeof(err));
	if (cfg == NULL)
		print_error("%s", err);
	assert_non_null(cfg);
	assert_string_equal(cfg->mpm, "event");
	assert_int_equal(cfg->n_listen, 1);
	assert_int_equal(cfg->listen[0].port, 80);
	assert_string_equal(cfg->user, "www-data");
	assert_string_equal(cfg->error_log, "/var/log/foyer/error.log");
	/* Debian's mpm_*.conf values */
	assert_int_equal(cfg->prefork.start_servers, 5);
	assert_int_equal(cfg->prefork.min_spare_servers, 5);
	assert_int_equal(cfg->prefork.max_spare_servers, 10);
	assert_int_equal(cfg->prefork.server_limit, 256);
	assert_int_equal(cfg->prefork.max_request_workers, 150);
	for (int i = 0; i < 2; i++) {
		const struct fy_mpm_config *m =
		    i == 0 ? &cfg->worker : &cfg->event;

		assert_int_equal(m->start_servers, 2);
		assert_int_equal(m->min_spare_threads, 25);
		assert_int_equal(m->max_spare_threads, 75);
		assert_int_equal(m->thread_limit, 64);
		assert_int_equal(m->threads_per_child, 25);
		assert_int_equal(m->server_limit, 16);
		assert_int_equal(m->max_request_workers, 150);
		assert_int_equal(m->max_connections_per_child, 0);
	}
	assert_true(cfg->event.async_request_worker_factor == 2.0);
	assert_int_equal(cfg->event.event_loops, 1);
	/* and they fit together: no warning under any MPM */
	for (int i = 0; i < 3; i++) {
		static const char *const names[] = {"prefork", "worker",
						    "event"};
		struct fy_mpm_config m = i == 0	  ? cfg->prefork
					 : i == 1 ? cfg->worker
						  : cfg->event;

		assert_int_equal(fy_mpm_check(names[i], &m, 0, NULL, NULL, 0),
				 0);
		assert_int_equal(m.daemons_limit, i == 0 ? 150 : 6);
	}
	assert_string_equal(cfg->status_path, "/server-status");
	assert_int_equal(cfg->n_status_allow, 2);
	fy_config_free(cfg);

	cfg = fy_config_load("conf/dist/sites-available/000-default.ini", err,
			     sizeof(err));
	if (cfg == NULL)
		print_error("%s", err);
	assert_non_null(cfg);
	assert_int_equal(cfg->n_sites, 1);
	assert_string_equal(cfg->sites[0]->name, "default");
	assert_string_equal(cfg->sites[0]->document_root, "/var/www/html");
	assert_string_equal(cfg->sites[0]->php, "off");
	assert_string_equal(cfg->sites[0]->access_log,
			    "/var/log/foyer/access.log");
	assert_int_equal(cfg->sites[0]->n_params, 0);
	fy_config_free(cfg);

	/* the commented examples are valid as written */
	text = uncommented("conf/dist/foyer.ini");
	site = uncommented("conf/dist/sites-available/000-default.ini");
	assert_true(asprintf(&both, "%s%s", text, site) > 0);
	cfg = fy_config_load_string(both, "conf/dist/foyer.ini", err,
				    sizeof(err));
	if (cfg == NULL)
		print_error("%s", err);
	assert_non_null(cfg);
	assert_int_equal(cfg->n_pools, 1);
	assert_string_equal(cfg->pools[0]->name, "www");
	assert_int_equal(cfg->pools[0]->n_backends, 1);
	assert_string_equal(cfg->pools[0]->backends[0],
			    "unix:/run/php/php8.2-fpm.sock");
	assert_int_equal(cfg->pools[0]->keep_alive, 4);
	assert_string_equal(cfg->sites[0]->php, "fpm:www");
	assert_string_equal(cfg->sites[0]->front_controller, "/index.php");
	assert_int_equal(cfg->sites[0]->n_params, 3);
	assert_string_equal(cfg->sites[0]->x_sendfile_root,
			    "/var/www/private");
	fy_config_free(cfg);
	free(both);
	free(site);
	free(text);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_defaults),
	    cmocka_unit_test(test_every_key),
	    cmocka_unit_test(test_apache_spelling),
	    cmocka_unit_test(test_sizes),
	    cmocka_unit_test(test_bools),
	    cmocka_unit_test(test_syntax),
	    cmocka_unit_test(test_long_line),
	    cmocka_unit_test(test_errors),
	    cmocka_unit_test(test_listen_errors),
	    cmocka_unit_test(test_all_errors_reported),
	    cmocka_unit_test(test_sites),
	    cmocka_unit_test(test_paths),
	    cmocka_unit_test(test_includes),
	    cmocka_unit_test(test_check),
	    cmocka_unit_test(test_mpm_defaults),
	    cmocka_unit_test(test_mpm_sections),
	    cmocka_unit_test(test_mpm_aliases),
	    cmocka_unit_test(test_mpm_errors),
	    cmocka_unit_test(test_status),
	    cmocka_unit_test(test_check_mpm),
	    cmocka_unit_test(test_pool_defaults),
	    cmocka_unit_test(test_pool_ranges),
	    cmocka_unit_test(test_pool_backends),
	    cmocka_unit_test(test_pool_errors),
	    cmocka_unit_test(test_pool_include),
	    cmocka_unit_test(test_site_php_keys),
	    cmocka_unit_test(test_site_params),
	    cmocka_unit_test(test_fcgi_params),
	    cmocka_unit_test(test_check_pools),
	    cmocka_unit_test(test_dist),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
