/*
 * test_mime.c - mime.types loading, the built-in fallback and extension
 * lookup.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "foyer/core.h"
#include "foyer/mime.h"

#define OCTET "application/octet-stream"

/* Debian's table, from the media-types package (a test dependency). */
#define SYSTEM_TABLE "/etc/mime.types"

static char tmp_path[64];

static void write_table(const char *text)
{
	int fd;
	FILE *f;

	strcpy(tmp_path, "/tmp/foyer-mime-XXXXXX");
	fd = mkstemp(tmp_path);
	assert_true(fd >= 0);
	f = fdopen(fd, "w");
	assert_non_null(f);
	fputs(text, f);
	assert_int_equal(fclose(f), 0);
}

static int teardown(void **state)
{
	(void)state;
	fy_mime_free();
	if (tmp_path[0] != '\0')
		unlink(tmp_path);
	tmp_path[0] = '\0';
	return 0;
}

static void test_system_table(void **state)
{
	const char *js;

	(void)state;
	assert_int_equal(fy_mime_load(SYSTEM_TABLE), FY_OK);
	assert_string_equal(fy_mime_type("/index.html"), "text/html");
	assert_string_equal(fy_mime_type("/a/b/style.css"), "text/css");
	js = fy_mime_type("app.js");
	assert_true(strcmp(js, "text/javascript") == 0 ||
		    strcmp(js, "application/javascript") == 0);
	assert_string_equal(fy_mime_type("logo.svg"), "image/svg+xml");
	assert_string_equal(fy_mime_type("data.json"), "application/json");
	assert_string_equal(fy_mime_type("f.woff2"), "font/woff2");
	assert_string_equal(fy_mime_type("m.wasm"), "application/wasm");
	assert_string_equal(fy_mime_type("p.png"), "image/png");
	assert_string_equal(fy_mime_type("p.JPG"), "image/jpeg");
	assert_string_equal(fy_mime_type("x.unknownext"), OCTET);
}

static void test_builtin_fallback(void **state)
{
	static const struct {
		const char *path;
		const char *type;
	} cases[] = {
	    {"a.html", "text/html"},
	    {"a.htm", "text/html"},
	    {"a.css", "text/css"},
	    {"a.js", "text/javascript"},
	    {"a.mjs", "text/javascript"},
	    {"a.json", "application/json"},
	    {"a.svg", "image/svg+xml"},
	    {"a.png", "image/png"},
	    {"a.jpg", "image/jpeg"},
	    {"a.jpeg", "image/jpeg"},
	    {"a.gif", "image/gif"},
	    {"a.webp", "image/webp"},
	    {"a.avif", "image/avif"},
	    {"a.ico", "image/vnd.microsoft.icon"},
	    {"a.woff", "font/woff"},
	    {"a.woff2", "font/woff2"},
	    {"a.txt", "text/plain"},
	    {"a.xml", "application/xml"},
	    {"a.pdf", "application/pdf"},
	    {"a.wasm", "application/wasm"},
	    {"a.mp4", "video/mp4"},
	    {"a.webm", "video/webm"},
	    {"a.mp3", "audio/mpeg"},
	    {"a.zip", "application/zip"},
	    {"a.webmanifest", "application/manifest+json"},
	    {"a.xhtml", "application/xhtml+xml"},
	    /* first and last rows of the table, for the binary search */
	    {"a.avif", "image/avif"},
	    {"a.zip", "application/zip"},
	    {"a.aaa", OCTET},
	    {"a.zzz", OCTET},
	    {"a.php", OCTET},
	};

	(void)state;
	assert_int_equal(fy_mime_load("/nonexistent/foyer/mime.types"),
			 FY_ERROR);
	for (size_t i = 0; i < FY_ARRAY_SIZE(cases); i++) {
		const char *got = fy_mime_type(cases[i].path);

		if (strcmp(got, cases[i].type) != 0)
			fail_msg("%s: %s, want %s", cases[i].path, got,
				 cases[i].type);
	}

	/* Freed: back to the built-in table. */
	write_table("text/x-custom html\n");
	assert_int_equal(fy_mime_load(tmp_path), FY_OK);
	assert_string_equal(fy_mime_type("a.html"), "text/x-custom");
	fy_mime_free();
	assert_string_equal(fy_mime_type("a.html"), "text/html");
}

static void test_custom_table(void **state)
{
	(void)state;
	write_table("# a comment line\n"
		    "\n"
		    "   \t  \n"
		    "text/x-one\tone\n"
		    "text/x-many  m1 M2\tm3  \n"
		    "text/x-crlf crlf\r\n"
		    "application/x-noext\n"
		    "text/x-comment cm1 # cm2 cm3\n"
		    "text/x-cm2 cm2#tail\n"
		    "  text/x-indented   ind\n"
		    "application/x-tar tar\n"
		    "application/gzip gz\n"
		    "text/x-first dup\n"
		    "text/x-last dup\n"
		    "Text/X-Case UPPER\n"
		    "text/x-long "
		    "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa ok\n"
		    "text/x-noeol last");
	assert_int_equal(fy_mime_load(tmp_path), FY_OK);

	assert_string_equal(fy_mime_type("a.one"), "text/x-one");
	assert_string_equal(fy_mime_type("a.m1"), "text/x-many");
	assert_string_equal(fy_mime_type("a.m2"), "text/x-many");
	assert_string_equal(fy_mime_type("a.m3"), "text/x-many");
	assert_string_equal(fy_mime_type("a.crlf"), "text/x-crlf");
	assert_string_equal(fy_mime_type("a.cm1"), "text/x-comment");
	assert_string_equal(fy_mime_type("a.cm3"), OCTET);
	assert_string_equal(fy_mime_type("a.cm2"), "text/x-cm2");
	assert_string_equal(fy_mime_type("a.ind"), "text/x-indented");
	assert_string_equal(fy_mime_type("a.noext"), OCTET);
	assert_string_equal(fy_mime_type("a.dup"), "text/x-last");
	/* Types are returned as written; extensions match in any case. */
	assert_string_equal(fy_mime_type("a.upper"), "Text/X-Case");
	assert_string_equal(fy_mime_type("a.ok"), "text/x-long");
	assert_string_equal(fy_mime_type("a.last"), "text/x-noeol");

	/* The file wins: the built-in table is not consulted. */
	assert_string_equal(fy_mime_type("index.html"), OCTET);
	assert_string_equal(fy_mime_type("a.css"), OCTET);

	/* A new load replaces the table. */
	unlink(tmp_path);
	write_table("text/x-second second\n");
	assert_int_equal(fy_mime_load(tmp_path), FY_OK);
	assert_string_equal(fy_mime_type("a.second"), "text/x-second");
	assert_string_equal(fy_mime_type("a.one"), OCTET);
}

static void test_empty_table(void **state)
{
	(void)state;
	write_table("# nothing but comments\n\n");
	assert_int_equal(fy_mime_load(tmp_path), FY_OK);
	assert_string_equal(fy_mime_type("a.html"), OCTET);
}

static void test_extension_rules(void **state)
{
	static const struct {
		const char *path;
		const char *type;
	} cases[] = {
	    /* case-insensitive */
	    {"INDEX.HTML", "text/html"},
	    {"a.Css", "text/css"},
	    {"/A/B/C.JsOn", "application/json"},
	    /* the last extension wins */
	    {"a.tar.gz", "application/gzip"},
	    {"a.html.tar", "application/x-tar"},
	    {"archive.gz.txt", "text/plain"},
	    /* no extension */
	    {"README", OCTET},
	    {"/dir.d/README", OCTET},
	    {"/dir.html/", OCTET},
	    {"", OCTET},
	    {"/", OCTET},
	    /* trailing dot */
	    {"a.", OCTET},
	    {"a.html.", OCTET},
	    /* dot-files: a leading dot is not an extension */
	    {".htaccess", OCTET},
	    {"/a/.txt", OCTET},
	    {".config.json", "application/json"},
	    {"/a/.b.css", "text/css"},
	    /* an extension longer than any in a table */
	    {"a.aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa", OCTET},
	};

	(void)state;
	write_table("text/html html\n"
		    "text/css css\n"
		    "application/json json\n"
		    "application/gzip gz\n"
		    "application/x-tar tar\n"
		    "text/plain txt\n");
	assert_int_equal(fy_mime_load(tmp_path), FY_OK);
	for (size_t i = 0; i < FY_ARRAY_SIZE(cases); i++) {
		const char *got = fy_mime_type(cases[i].path);

		if (strcmp(got, cases[i].type) != 0)
			fail_msg("\"%s\": %s, want %s", cases[i].path, got,
				 cases[i].type);
	}
	assert_string_equal(fy_mime_type(NULL), OCTET);

	/* The same rules hold for the built-in table. */
	fy_mime_free();
	for (size_t i = 0; i < FY_ARRAY_SIZE(cases); i++)
		assert_string_equal(fy_mime_type(cases[i].path), cases[i].type);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_teardown(test_system_table, teardown),
	    cmocka_unit_test_teardown(test_builtin_fallback, teardown),
	    cmocka_unit_test_teardown(test_custom_table, teardown),
	    cmocka_unit_test_teardown(test_empty_table, teardown),
	    cmocka_unit_test_teardown(test_extension_rules, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
