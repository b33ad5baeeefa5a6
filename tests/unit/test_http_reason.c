/*
 * test_http_reason.c - reason phrases.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "foyer/http.h"

static void test_common_phrases(void **state)
{
	(void)state;
	assert_string_equal(fy_http_reason(100), "Continue");
	assert_string_equal(fy_http_reason(200), "OK");
	assert_string_equal(fy_http_reason(206), "Partial Content");
	assert_string_equal(fy_http_reason(301), "Moved Permanently");
	assert_string_equal(fy_http_reason(304), "Not Modified");
	assert_string_equal(fy_http_reason(308), "Permanent Redirect");
	assert_string_equal(fy_http_reason(400), "Bad Request");
	assert_string_equal(fy_http_reason(404), "Not Found");
	assert_string_equal(fy_http_reason(408), "Request Timeout");
	assert_string_equal(fy_http_reason(417), "Expectation Failed");
	assert_string_equal(fy_http_reason(500), "Internal Server Error");
	assert_string_equal(fy_http_reason(501), "Not Implemented");
	assert_string_equal(fy_http_reason(503), "Service Unavailable");
	assert_string_equal(fy_http_reason(505), "HTTP Version Not Supported");
	assert_string_equal(fy_http_reason(511),
			    "Network Authentication Required");
}

static void test_apache_phrases(void **state)
{
	(void)state;
	assert_string_equal(fy_http_reason(413), "Request Entity Too Large");
	assert_string_equal(fy_http_reason(414), "Request-URI Too Long");
	assert_string_equal(fy_http_reason(416),
			    "Requested Range Not Satisfiable");
	assert_string_equal(fy_http_reason(431),
			    "Request Header Fields Too Large");
}

static void test_unknown(void **state)
{
	(void)state;
	assert_string_equal(fy_http_reason(0), "Unknown");
	assert_string_equal(fy_http_reason(-1), "Unknown");
	assert_string_equal(fy_http_reason(99), "Unknown");
	assert_string_equal(fy_http_reason(306), "Unknown");
	assert_string_equal(fy_http_reason(499), "Unknown");
	assert_string_equal(fy_http_reason(512), "Unknown");
	assert_string_equal(fy_http_reason(600), "Unknown");
}

/* Every code RFC 9110 registers has its own phrase. */
static void test_all_registered(void **state)
{
	static const int codes[] = {
	    100, 101, 200, 201, 202, 203, 204, 205, 206, 300, 301,
	    302, 303, 304, 305, 307, 308, 400, 401, 402, 403, 404,
	    405, 406, 407, 408, 409, 410, 411, 412, 413, 414, 415,
	    416, 417, 421, 422, 426, 500, 501, 502, 503, 504, 505,
	};

	(void)state;
	for (size_t i = 0; i < sizeof(codes) / sizeof(codes[0]); i++)
		assert_string_not_equal(fy_http_reason(codes[i]), "Unknown");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_common_phrases),
	    cmocka_unit_test(test_apache_phrases),
	    cmocka_unit_test(test_unknown),
	    cmocka_unit_test(test_all_registered),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
