/*
 * Shared by the CUnit test binaries (#included; the Makefile builds only test_*.c): runs one
 * suite verbosely and turns its failures into the exit status.
 */
#ifndef F8_UNIT_H
#define F8_UNIT_H

#include <stdio.h>
#include <stdlib.h>

#include <CUnit/Basic.h>

/* A mkstemp/mkdtemp template for a scratch file named after `name`, in $TMPDIR (or /tmp):
 * "DIR/name_XXXXXX". */
static __attribute__((unused)) void unit_tmp_template(char *out, size_t n, const char *name)
{
    const char *dir = getenv("TMPDIR");
    snprintf(out, n, "%s/%s_XXXXXX", dir && dir[0] ? dir : "/tmp", name);
}

static __attribute__((unused)) int unit_run(const char *suite, CU_TestInfo *tests)
{
    if (CU_initialize_registry() != CUE_SUCCESS)
        return 2;
    CU_SuiteInfo suites[] = {{suite, NULL, NULL, NULL, NULL, tests}, CU_SUITE_INFO_NULL};
    if (CU_register_suites(suites) != CUE_SUCCESS) {
        CU_cleanup_registry();
        return 2;
    }
    CU_basic_set_mode(CU_BRM_VERBOSE);
    CU_basic_run_tests();
    const unsigned failed = CU_get_number_of_tests_failed() + CU_get_number_of_failures();
    CU_cleanup_registry();
    return failed ? 1 : 0;
}

#endif /* F8_UNIT_H */
