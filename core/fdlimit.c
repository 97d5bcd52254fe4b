#include "core/fdlimit.h"
#include "core/log.h"

#include <sys/resource.h>

unsigned long fdlimit_current(void)
{
    struct rlimit rl;
    if (getrlimit(RLIMIT_NOFILE, &rl) < 0)
        return 1024;
    return rl.rlim_cur == RLIM_INFINITY ? 1048576ul : (unsigned long)rl.rlim_cur;
}

unsigned long fdlimit_raise(void)
{
    struct rlimit rl;
    if (getrlimit(RLIMIT_NOFILE, &rl) < 0)
        return 1024;
    /* An unlimited hard limit still stops at the kernel's nr_open (a million by default). */
    rlim_t want = rl.rlim_max == RLIM_INFINITY ? 1048576 : rl.rlim_max;
    if (rl.rlim_cur < want) {
        rlim_t from = rl.rlim_cur;
        rl.rlim_cur = want;
        if (setrlimit(RLIMIT_NOFILE, &rl) == 0)
            log_info("event=fd_limit from=%lu to=%lu", (unsigned long)from, fdlimit_current());
        else
            log_warn("event=fd_limit note=\"cannot raise the open-file limit\" limit=%lu", (unsigned long)from);
    }
    return fdlimit_current();
}

/* A quarter of the limit, at least 256: the pool (at most 65 connections), curl's connections
 * (a gateway's concurrency each) and a few dozen for logs, the loop and the CLI's files. */
unsigned long fdlimit_reserve(unsigned long limit)
{
    unsigned long r = limit / 4;
    return r < 256 ? 256 : r;
}
