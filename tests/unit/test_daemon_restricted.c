/* f8d restricted API: the constant-time comparison of header values. */
#include <CUnit/Basic.h>
#include <string.h>

#include "http/restricted.h"
#include "unit.h"

static bool eq(const char *a, const char *b)
{
    return f8d_secret_equal(a, strlen(a), b, strlen(b));
}

static void test_secret_equal(void)
{
    CU_ASSERT_TRUE(eq("s3cret", "s3cret"));
    CU_ASSERT_TRUE(eq("", ""));
    CU_ASSERT_FALSE(eq("s3cres", "s3cret"));
    CU_ASSERT_FALSE(eq("x3cret", "s3cret"));
    CU_ASSERT_FALSE(eq("s3cre", "s3cret"));   /* a prefix */
    CU_ASSERT_FALSE(eq("s3cret!", "s3cret")); /* longer */
    CU_ASSERT_FALSE(eq("", "s3cret"));
    CU_ASSERT_FALSE(eq("s3cret", ""));
    /* a NUL inside the received bytes does not end the comparison early */
    CU_ASSERT_FALSE(f8d_secret_equal("s3\0ret", 6, "s3cret", 6));
    CU_ASSERT_TRUE(f8d_secret_equal("s3cretXX", 6, "s3cret", 6));
}

int main(void)
{
    CU_TestInfo tests[] = {{"secret_equal", test_secret_equal}, CU_TEST_INFO_NULL};
    return unit_run("daemon_restricted", tests);
}
