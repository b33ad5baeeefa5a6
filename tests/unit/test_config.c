/*
 * test_config.c - foyer.ini loading: defaults, every value type, key
 * spelling, errors with file and line, includes, and fy_config_check.
 */
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
		 "follow_symlinks = yes\n");
	const struct fy_site *s = cfg->sites[0];

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
		   "[prefork], [worker], [event], [status] or [site NAME]");
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
		   "belongs in [server]");
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
	assert_non_null(strstr(err, "t.ini:11: site c: php = fpm:www is not "
				    "supported by this build yet\n"));
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
static void test_dist(void **state)
{
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
	fy_config_free(cfg);
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
	    cmocka_unit_test(test_dist),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
