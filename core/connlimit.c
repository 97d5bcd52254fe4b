#include "core/connlimit.h"

#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

/* Connections waiting for a request sit on one list in the order they started waiting, so the
 * oldest is the head: the deadline sweep stops at the first one still in time, and eviction
 * takes the head. A connection whose request is being handled is off the list. */

enum { ADDR_BUCKETS = 1024, MAX_TRUSTED = 32 };

struct connlimit_conn {
    struct connlimit_conn *prev, *next;   /* on the waiting list */
    uint32_t addr;
    int fd;
    uint64_t since;
    bool waiting, shut;
};

struct addr_count {
    struct addr_count *next;
    uint32_t addr;
    unsigned n;
};

struct net {
    uint32_t addr, mask;
};

struct connlimit {
    unsigned per_address, ceiling;
    uint64_t timeout_ms;
    struct net trusted[MAX_TRUSTED];
    int ntrusted;
    struct connlimit_conn *head, *tail;
    struct addr_count *buckets[ADDR_BUCKETS];
    struct connlimit_stats st;
};

struct connlimit *connlimit_new(void)
{
    struct connlimit *l = calloc(1, sizeof *l);
    if (!l)
        abort();
    l->ceiling = 1000;
    l->timeout_ms = 10000;
    return l;
}

void connlimit_free(struct connlimit *l)
{
    if (!l)
        return;
    for (int i = 0; i < ADDR_BUCKETS; i++)
        while (l->buckets[i]) {
            struct addr_count *a = l->buckets[i];
            l->buckets[i] = a->next;
            free(a);
        }
    free(l);
}

static int parse_net(const char *s, struct net *n)
{
    char buf[64];
    snprintf(buf, sizeof buf, "%s", s);
    int bits = 32;
    char *slash = strchr(buf, '/');
    if (slash) {
        char *end;
        long b = strtol(slash + 1, &end, 10);
        if (*end || end == slash + 1 || b < 0 || b > 32)
            return -1;
        bits = (int)b;
        *slash = '\0';
    }
    struct in_addr a;
    if (inet_pton(AF_INET, buf, &a) != 1)
        return -1;
    n->mask = bits == 0 ? 0 : 0xffffffffu << (32 - bits);
    n->addr = ntohl(a.s_addr) & n->mask;
    return 0;
}

int connlimit_configure(struct connlimit *l, unsigned per_address, const char *trusted, unsigned ceiling,
                        uint64_t header_timeout_ms, char *err, size_t errlen)
{
    struct net nets[MAX_TRUSTED];
    int n = 0;
    const char *p = trusted ? trusted : "";
    while (*p) {
        size_t len = strcspn(p, ", \t");
        if (len) {
            char word[64];
            if (len >= sizeof word || n == MAX_TRUSTED) {
                snprintf(err, errlen, "too long, or more than %d addresses", MAX_TRUSTED);
                return -1;
            }
            memcpy(word, p, len);
            word[len] = '\0';
            if (parse_net(word, &nets[n]) < 0) {
                snprintf(err, errlen, "'%s' is not an IPv4 address or a.b.c.d/n", word);
                return -1;
            }
            n++;
        }
        p += len;
        p += strspn(p, ", \t");
    }
    memcpy(l->trusted, nets, sizeof nets);
    l->ntrusted = n;
    l->per_address = per_address;
    l->ceiling = ceiling ? ceiling : 1;
    l->timeout_ms = header_timeout_ms;
    return 0;
}

static bool trusted(const struct connlimit *l, uint32_t addr)
{
    for (int i = 0; i < l->ntrusted; i++)
        if ((addr & l->trusted[i].mask) == l->trusted[i].addr)
            return true;
    return false;
}

static struct addr_count **addr_slot(struct connlimit *l, uint32_t addr)
{
    struct addr_count **a = &l->buckets[(addr * 2654435761u) >> 22];
    while (*a && (*a)->addr != addr)
        a = &(*a)->next;
    return a;
}

bool connlimit_admit(struct connlimit *l, uint32_t addr)
{
    if (!l->per_address || trusted(l, addr))
        return true;
    struct addr_count *a = *addr_slot(l, addr);
    if (a && a->n >= l->per_address) {
        l->st.refused++;
        return false;
    }
    return true;
}

static void wait_unlink(struct connlimit *l, struct connlimit_conn *c)
{
    if (!c->waiting)
        return;
    if (c->prev)
        c->prev->next = c->next;
    else
        l->head = c->next;
    if (c->next)
        c->next->prev = c->prev;
    else
        l->tail = c->prev;
    c->prev = c->next = NULL;
    c->waiting = false;
}

static void wait_append(struct connlimit *l, struct connlimit_conn *c, uint64_t now)
{
    wait_unlink(l, c);
    c->since = now;
    c->waiting = true;
    c->prev = l->tail;
    if (l->tail)
        l->tail->next = c;
    else
        l->head = c;
    l->tail = c;
}

static void conn_shut(struct connlimit *l, struct connlimit_conn *c)
{
    wait_unlink(l, c);
    c->shut = true;
    shutdown(c->fd, SHUT_RDWR);
}

struct connlimit_conn *connlimit_open(struct connlimit *l, uint32_t addr, int fd, uint64_t now)
{
    if (l->st.open >= l->ceiling && l->head) {
        conn_shut(l, l->head);
        l->st.evicted++;
    }
    struct connlimit_conn *c = calloc(1, sizeof *c);
    if (!c)
        abort();
    c->addr = addr;
    c->fd = fd;
    struct addr_count **slot = addr_slot(l, addr);
    if (!*slot) {
        *slot = calloc(1, sizeof **slot);
        if (!*slot)
            abort();
        (*slot)->addr = addr;
    }
    (*slot)->n++;
    l->st.open++;
    wait_append(l, c, now);
    return c;
}

void connlimit_busy(struct connlimit *l, struct connlimit_conn *c) { wait_unlink(l, c); }

void connlimit_idle(struct connlimit *l, struct connlimit_conn *c, uint64_t now)
{
    if (!c->shut)
        wait_append(l, c, now);
}

void connlimit_close(struct connlimit *l, struct connlimit_conn *c)
{
    wait_unlink(l, c);
    struct addr_count **slot = addr_slot(l, c->addr);
    if (*slot && --(*slot)->n == 0) {
        struct addr_count *a = *slot;
        *slot = a->next;
        free(a);
    }
    l->st.open--;
    free(c);
}

unsigned connlimit_sweep(struct connlimit *l, uint64_t now)
{
    unsigned n = 0;
    while (l->head && now - l->head->since >= l->timeout_ms) {
        conn_shut(l, l->head);
        n++;
    }
    l->st.timed_out += n;
    return n;
}

struct connlimit_stats connlimit_stats(const struct connlimit *l) { return l->st; }
