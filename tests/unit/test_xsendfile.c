/*
 * test_xsendfile.c - how X-Sendfile and X-Accel-Redirect values map to a
 * path under x_sendfile_root, and what is refused before any file is
 * opened (the open beneath the root is covered by the black-box tests).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "foyer/xsendfile.h"

struct map_case {
	const char *root;
	int accel;
	const char *value;
	int status; /* 0: mapped */
	const char *out; /* status 0: the path; else a word of *why */
};

static const struct map_case cases[] = {
    /* X-Sendfile: a file system path under the root */
    {"/srv/private", 0, "/srv/private/a.pdf", 0, "/a.pdf"},
    {"/srv/private/", 0, "/srv/private/a.pdf", 0, "/a.pdf"},
    {"/srv/private", 0, "/srv/private/d/e/f.bin", 0, "/d/e/f.bin"},
    {"/srv/private", 0, "/srv/private/a%2e%2e", 0, "/a%2e%2e"},
    {"/srv/private", 0, "/srv/private/..a/b", 0, "/..a/b"},
    {"/srv/private", 0, "/srv/private/", 0, "/"},
    {"/", 0, "/etc/hostname", 0, "/etc/hostname"},
    {"/srv/private", 0, "/srv/privateer/a", 403, "outside"},
    {"/srv/private", 0, "/srv/private", 403, "outside"},
    {"/srv/private", 0, "/etc/passwd", 403, "outside"},
    {"/srv/private", 0, "srv/private/a", 403, "absolute"},
    {"/srv/private", 0, "", 403, "absolute"},
    {"/srv/private", 0, "/srv/private/../x", 403, "'..'"},
    {"/srv/private", 0, "/srv/private/a/../../x", 403, "'..'"},
    {"/srv/private", 0, "/srv/private/a/..", 403, "'..'"},
    /* X-Accel-Redirect: a URI path relative to the root */
    {"/srv/private", 1, "/a.pdf", 0, "/a.pdf"},
    {"/srv/private", 1, "/d/./e/../f.bin?x=1#y", 0, "/d/f.bin"},
    {"/srv/private", 1, "/a%20b", 0, "/a b"},
    {"/srv/private", 1, "//a", 0, "/a"},
    {"/srv/private", 1, "/.well-known/x", 0, "/.well-known/x"},
    {"/srv/private", 1, "/../x", 403, "'..'"},
    {"/srv/private", 1, "/%2e%2e/x", 403, "'..'"},
    {"/srv/private", 1, "/a/../../x", 403, "'..'"},
    {"/srv/private", 1, "/a%2fb", 404, "encoded"},
    {"/srv/private", 1, "/a%00", 404, "encoded"},
    {"/srv/private", 1, "/.env", 403, "dot-file"},
    {"/srv/private", 1, "/a/.git/config", 403, "dot-file"},
    {"/srv/private", 1, "a.pdf", 403, "'/'"},
    {"/srv/private", 1, "", 403, "'/'"},
};

static void test_map_table(void **state)
{
	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		const struct map_case *c = &cases[i];
		char out[256];
		const char *why = NULL;
		int st = fy_xsendfile_map(c->root, c->accel, c->value,
					  strlen(c->value), out, sizeof(out),
					  &why);
		if (st != c->status)
			fail_msg("case %zu (%s): status %d, want %d", i,
				 c->value, st, c->status);
		if (c->status == 0)
			assert_string_equal(out, c->out);
		else if (why == NULL || strstr(why, c->out) == NULL)
			fail_msg("case %zu (%s): why \"%s\", want \"%s\"", i,
				 c->value, why ? why : "(null)", c->out);
	}
}

/* The value is a length, not a string: nothing past it is looked at, and
 * a NUL inside it is refused. */
static void test_map_length(void **state)
{
	(void)state;
	char out[64];
	const char *why;
	const char v[] = "/srv/private/a.pdf/../../etc";
	assert_int_equal(fy_xsendfile_map("/srv/private", 0, v, 18, out,
					  sizeof(out), &why),
			 0);
	assert_string_equal(out, "/a.pdf");
	const char nul[] = "/srv/private/a\0b";
	assert_int_equal(fy_xsendfile_map("/srv/private", 0, nul,
					  sizeof(nul) - 1, out, sizeof(out),
					  &why),
			 403);
}

/* A path longer than the output is refused, never cut. */
static void test_map_outcap(void **state)
{
	(void)state;
	char out[8];
	const char *why;
	assert_int_equal(fy_xsendfile_map("/r", 0, "/r/abcdefgh", 11, out,
					  sizeof(out), &why),
			 403);
	assert_int_equal(fy_xsendfile_map("/r", 0, "/r/abcdef", 9, out,
					  sizeof(out), &why),
			 0);
	assert_string_equal(out, "/abcdef");
	assert_int_not_equal(fy_xsendfile_map("/r", 1, "/abcdefgh", 9, out,
					      sizeof(out), &why),
			     0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_map_table),
	    cmocka_unit_test(test_map_length),
	    cmocka_unit_test(test_map_outcap),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
