/* core/connlimit.c on socket pairs: the per-address limit and its trusted exemption, the
 * request deadline that trickling does not reset, and eviction of the connection waiting
 * longest once the ceiling is reached. A connection it shuts sees the end of the stream. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>
#include <arpa/inet.h>
#include <poll.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "core/connlimit.h"

enum { N = 8 };

struct pair {
    int server, client;
};

static void pairs_open(struct pair *p, int n)
{
    for (int i = 0; i < n; i++) {
        int sv[2];
        assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
        p[i] = (struct pair){sv[0], sv[1]};
    }
}

static void pairs_close(struct pair *p, int n)
{
    for (int i = 0; i < n; i++) {
        close(p[i].server);
        close(p[i].client);
    }
}

/* True when the server side was shut: the client reads the end of the stream. */
static bool shut(const struct pair *p)
{
    struct pollfd f = {.fd = p->client, .events = POLLIN};
    char c;
    return poll(&f, 1, 0) == 1 && recv(p->client, &c, 1, MSG_DONTWAIT) == 0;
}

static uint32_t ip(const char *s)
{
    struct in_addr a;
    inet_pton(AF_INET, s, &a);
    return ntohl(a.s_addr);
}

static void test_connlimit_per_address_limit_spares_trusted_addresses(void **state)
{
    struct connlimit *l = connlimit_new();
    char err[128];
    assert_int_equal(connlimit_configure(l, 2, "127.0.0.1, 10.1.0.0/16", 100, 10000, err, sizeof err), 0);
    struct pair p[N];
    pairs_open(p, N);
    struct connlimit_conn *c[N];
    uint32_t other = ip("203.0.113.9");
    assert_true(connlimit_admit(l, other));
    c[0] = connlimit_open(l, other, p[0].server, 0);
    assert_true(connlimit_admit(l, other));
    c[1] = connlimit_open(l, other, p[1].server, 0);
    assert_false(connlimit_admit(l, other));
    assert_true(connlimit_admit(l, ip("203.0.113.10")));
    for (int i = 2; i < 6; i++) {
        uint32_t a = i < 4 ? ip("127.0.0.1") : ip("10.1.200.3");
        assert_true(connlimit_admit(l, a));
        c[i] = connlimit_open(l, a, p[i].server, 0);
    }
    assert_int_equal(connlimit_stats(l).refused, 1);
    assert_int_equal(connlimit_stats(l).open, 6);
    connlimit_close(l, c[0]);
    assert_true(connlimit_admit(l, other)); /* a closed connection frees its place */
    for (int i = 1; i < 6; i++)
        connlimit_close(l, c[i]);
    assert_int_equal(connlimit_stats(l).open, 0);
    assert_int_equal(connlimit_configure(l, 2, "127.0.0.1, nonsense", 100, 10000, err, sizeof err), -1);
    assert_non_null(strstr(err, "nonsense"));
    assert_int_equal(connlimit_configure(l, 2, "10.0.0.0/33", 100, 10000, err, sizeof err), -1);
    pairs_close(p, N);
    connlimit_free(l);
}

static void test_connlimit_deadline_counts_from_accept_and_spares_busy_connections(void **state)
{
    struct connlimit *l = connlimit_new();
    char err[128];
    assert_int_equal(connlimit_configure(l, 0, "", 100, 1000, err, sizeof err), 0);
    struct pair p[3];
    pairs_open(p, 3);
    struct connlimit_conn *slow = connlimit_open(l, 1, p[0].server, 0);
    struct connlimit_conn *busy = connlimit_open(l, 1, p[1].server, 500);
    struct connlimit_conn *idle = connlimit_open(l, 1, p[2].server, 0);
    connlimit_busy(l, busy);                 /* its request is with a handler */
    connlimit_busy(l, idle);
    connlimit_idle(l, idle, 800);            /* answered at 800: waits for its next request */
    assert_int_equal(connlimit_sweep(l, 999), 0);
    assert_false(shut(&p[0]));
    assert_int_equal(connlimit_sweep(l, 1000), 1);
    assert_true(shut(&p[0]));
    assert_false(shut(&p[1]));
    assert_false(shut(&p[2]));
    assert_int_equal(connlimit_sweep(l, 1799), 0);
    assert_int_equal(connlimit_sweep(l, 60000), 1);  /* the idle one; the busy one never */
    assert_true(shut(&p[2]));
    assert_false(shut(&p[1]));
    assert_int_equal(connlimit_stats(l).timed_out, 2);
    connlimit_close(l, slow);
    connlimit_close(l, busy);
    connlimit_close(l, idle);
    pairs_close(p, 3);
    connlimit_free(l);
}

static void test_connlimit_above_the_ceiling_the_longest_waiting_is_evicted(void **state)
{
    struct connlimit *l = connlimit_new();
    char err[128];
    assert_int_equal(connlimit_configure(l, 0, "", 4, 60000, err, sizeof err), 0);
    struct pair p[N];
    pairs_open(p, N);
    struct connlimit_conn *c[N];
    for (int i = 0; i < 4; i++)
        c[i] = connlimit_open(l, 1, p[i].server, (uint64_t)i);
    connlimit_busy(l, c[0]);                 /* the oldest is being answered: not a victim */
    c[4] = connlimit_open(l, 1, p[4].server, 10);
    assert_false(shut(&p[0]));
    assert_true(shut(&p[1]));
    c[5] = connlimit_open(l, 1, p[5].server, 11);
    assert_true(shut(&p[2]));
    assert_false(shut(&p[4]) || shut(&p[5]) || shut(&p[3]));
    assert_int_equal(connlimit_stats(l).evicted, 2);
    for (int i = 0; i < 6; i++)
        connlimit_close(l, c[i]);
    pairs_close(p, N);
    connlimit_free(l);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_connlimit_per_address_limit_spares_trusted_addresses),
        cmocka_unit_test(test_connlimit_deadline_counts_from_accept_and_spares_busy_connections),
        cmocka_unit_test(test_connlimit_above_the_ceiling_the_longest_waiting_is_evicted),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
