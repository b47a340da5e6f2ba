/* Who may make a process online or change it (gpriod's control socket decisions). */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <string.h>
#include <cmocka.h>

#include "../../src/daemon/auth.h"

static const struct gprio_auth A = {.daemon_uid = 500, .n = 1, .uids = {1001}};
static char why[256];

static void trusted_users(void **s)
{
	(void)s;
	assert_true(gprio_auth_trusted(&A, 0));
	assert_true(gprio_auth_trusted(&A, 500));
	assert_true(gprio_auth_trusted(&A, 1001));
	assert_false(gprio_auth_trusted(&A, 1002));
}

static void registration(void **s)
{
	(void)s;
	enum gprio_class k = GPRIO_CLASS_ONLINE;
	int p = 11;
	assert_int_equal(gprio_auth_register(&A, 1001, &k, &p, why, sizeof(why)), 0);
	assert_int_equal(k, GPRIO_CLASS_ONLINE);
	assert_int_equal(p, 11);
	/* an untrusted user asking for online is demoted, with the reason */
	assert_int_equal(gprio_auth_register(&A, 1002, &k, &p, why, sizeof(why)), 1);
	assert_int_equal(k, GPRIO_CLASS_OFFLINE);
	assert_int_equal(p, 0);
	assert_non_null(strstr(why, "uid 1002 may not run online at priority 11"));
	/* offline at priority 0 is everyone's; offline at 3 gates other users' priority-0 work */
	k = GPRIO_CLASS_OFFLINE, p = 0;
	assert_int_equal(gprio_auth_register(&A, 1002, &k, &p, why, sizeof(why)), 0);
	p = 3;
	assert_int_equal(gprio_auth_register(&A, 1002, &k, &p, why, sizeof(why)), 1);
	assert_int_equal(p, 0);
}

static void runtime_changes(void **s)
{
	(void)s;
	const enum gprio_class ON = GPRIO_CLASS_ONLINE, OFF = GPRIO_CLASS_OFFLINE;
	/* trusted: anything, anybody's */
	assert_int_equal(gprio_auth_set(&A, 0, 1002, OFF, 0, ON, 15, why, sizeof(why)), 0);
	assert_int_equal(gprio_auth_set(&A, 1001, 1002, OFF, 0, ON, 11, why, sizeof(why)), 0);
	/* untrusted: only lower, only its own */
	assert_int_equal(gprio_auth_set(&A, 1002, 1002, ON, 11, OFF, 0, why, sizeof(why)), 0);
	assert_int_equal(gprio_auth_set(&A, 1002, 1002, ON, 11, ON, 9, why, sizeof(why)), 0);
	assert_int_equal(gprio_auth_set(&A, 1002, 1002, OFF, 0, OFF, 2, why, sizeof(why)), -EPERM);
	assert_non_null(strstr(why, "may only lower its own processes (offline 0 -> offline 2"));
	assert_int_equal(gprio_auth_set(&A, 1002, 1002, OFF, 6, ON, 6, why, sizeof(why)), -EPERM);
	assert_int_equal(gprio_auth_set(&A, 1002, 0, ON, 11, OFF, 0, why, sizeof(why)), -EPERM);
	assert_non_null(strstr(why, "uid 1002 may not change a process of uid 0"));
}

static int names(const char *n, uint32_t *uid)
{
	if (strcmp(n, "alice") == 0) {
		*uid = 1005;
		return 0;
	}
	return -1;
}

static void allowlist_parsing(void **s)
{
	(void)s;
	struct gprio_auth a = {.daemon_uid = 0};
	assert_int_equal(gprio_auth_parse(&a, "alice,1001", names, why, sizeof(why)), 0);
	assert_int_equal(a.n, 2);
	assert_int_equal(a.uids[0], 1005);
	assert_int_equal(a.uids[1], 1001);
	assert_int_equal(gprio_auth_parse(&a, "bob", names, why, sizeof(why)), -EINVAL);
	assert_string_equal(why, "no user 'bob'");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(trusted_users),
		cmocka_unit_test(registration),
		cmocka_unit_test(runtime_changes),
		cmocka_unit_test(allowlist_parsing),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
