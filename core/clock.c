#include "core/clock.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static struct {
    bool inited, test;
    const char *file;
    double offset_s;
    unsigned gen;
    int64_t read_at_ms;         /* CLOCK_MONOTONIC of the last read of the file */
    char text[48];
} ck;

static int64_t mono_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Reads the offset again when the last read is older than 50 ms. A missing or unreadable file
 * keeps the offset it had (a test rewriting it is never seen half-written as 0). */
static void refresh(void)
{
    if (!ck.inited) {
        ck.inited = true;
        const char *f = getenv("LOA_TEST_CLOCK");
        ck.test = f && *f;
        ck.file = ck.test ? f : NULL;
        ck.read_at_ms = -1000;
        snprintf(ck.text, sizeof ck.text, "0 seconds");
    }
    if (!ck.test)
        return;
    int64_t m = mono_ms();
    if (m - ck.read_at_ms < 50)
        return;
    ck.read_at_ms = m;
    FILE *fp = fopen(ck.file, "r");
    if (!fp)
        return;
    char buf[64];
    size_t n = fread(buf, 1, sizeof buf - 1, fp);
    fclose(fp);
    buf[n] = '\0';
    char *end;
    double v = strtod(buf, &end);
    if (end == buf || v != v || v > 1e10 || v < -1e10)
        return;
    if (v != ck.offset_s || ck.gen == 0) {
        ck.offset_s = v;
        ck.gen++;
        snprintf(ck.text, sizeof ck.text, "%.3f seconds", v);
    }
}

int64_t clock_now_ms(void)
{
    refresh();
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    int64_t now = (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
    return ck.test ? now + (int64_t)(ck.offset_s * 1000.0) : now;
}

bool clock_is_test(void)
{
    refresh();
    return ck.test;
}

const char *clock_test_file(void)
{
    refresh();
    return ck.file;
}

unsigned clock_generation(void)
{
    refresh();
    return ck.gen;
}

const char *clock_offset_text(void)
{
    refresh();
    return ck.text;
}
