/* Shared main() for the Check unit tests: TAP on stdout for automake's
 * tap-driver (CK_TAP_LOG_FILE_NAME=- is set by the Makefile), a summary on
 * stderr, and an exit status that fails the run on any failure. */
#ifndef TESTS_CHECK_MAIN_H
#define TESTS_CHECK_MAIN_H

#include <check.h>
#include <stdlib.h>

static Suite *test_suite(void);

int main(void)
{
	SRunner *sr = srunner_create(test_suite());
	int failed;

	srunner_run_all(sr, getenv("CK_VERBOSITY") ? CK_ENV : CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}

#endif
