/* The test clock: real time without LOA_TEST_CLOCK's file, ahead by the file's offset with it,
 * a new generation when the offset changes, and a half-written or missing file ignored. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "core/clock.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static char path[64];

static int64_t real_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void write_offset(const char *text)
{
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    fputs(text, f);
    fclose(f);
    usleep(60 * 1000);      /* read again at most every 50 ms */
}

static void test_the_clock_runs_ahead_by_the_files_offset(void **state)
{
    assert_true(clock_is_test());
    assert_string_equal(clock_test_file(), path);
    write_offset("86400\n");
    int64_t d = clock_now_ms() - real_ms();
    assert_in_range(d, 86400000 - 1000, 86400000 + 1000);
    assert_string_equal(clock_offset_text(), "86400.000 seconds");
    unsigned g = clock_generation();
    assert_true(g > 0);

    write_offset("604800.5");
    assert_true(clock_generation() != g);
    d = clock_now_ms() - real_ms();
    assert_in_range(d, 604800500 - 1000, 604800500 + 1000);

    /* Garbage (a file caught half-written) and a missing file keep the last offset. */
    g = clock_generation();
    write_offset("");
    assert_int_equal(clock_generation(), g);
    unlink(path);
    usleep(60 * 1000);
    assert_int_equal(clock_generation(), g);
    d = clock_now_ms() - real_ms();
    assert_in_range(d, 604800500 - 1000, 604800500 + 1000);
}

int main(void)
{
    snprintf(path, sizeof path, "/tmp/loa-test-clock-%d", (int)getpid());
    setenv("LOA_TEST_CLOCK", path, 1);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_the_clock_runs_ahead_by_the_files_offset),
    };
    int rc = cmocka_run_group_tests(tests, NULL, NULL);
    unlink(path);
    return rc;
}
