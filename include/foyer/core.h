/*
 * core.h - the small vocabulary every foyer module shares: return codes,
 * the version string and a few helpers.
 */
#ifndef FOYER_CORE_H
#define FOYER_CORE_H

#include <stddef.h>

#define FY_VERSION "0.1.0"
#define FY_SERVER_TOKEN "foyer/" FY_VERSION

/*
 * Return codes used across modules. Functions that can only succeed or fail
 * return FY_OK / FY_ERROR; state machines also use FY_AGAIN (needs more input
 * or a writable socket), FY_DONE (finished, nothing more to do) and
 * FY_DECLINED (not mine: let the next handler try).
 */
#define FY_OK 0
#define FY_ERROR -1
#define FY_AGAIN -2
#define FY_DONE -3
#define FY_DECLINED -4

#define FY_ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))

#define fy_likely(x) __builtin_expect(!!(x), 1)
#define fy_unlikely(x) __builtin_expect(!!(x), 0)

#endif
