#ifndef LOA_CONNLIMIT_H
#define LOA_CONNLIMIT_H
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* What keeps the webhooks answered under a connection flood (core/httpd.c applies it):
 *
 * - a per-address limit on open connections, for every address not listed as trusted;
 * - a deadline for every request: a connection that has not delivered a complete request
 *   within HEADER_TIMEOUT of being accepted (or of its previous answer) is shut down, however
 *   slowly it trickles bytes;
 * - a ceiling on open connections, below libmicrohttpd's own limit: a connection accepted
 *   above it evicts the connection that has waited longest for its request. A genuine
 *   webhook sends its request at once, so it is never the one waiting longest; a flood can
 *   only push its own connections out.
 *
 * Trusted addresses (the host's Kannel, say) skip the per-address limit only: they share an
 * address with anything else on that host, so the deadline and the eviction, not the
 * per-address count, are what protect them. Addresses are IPv4, in host byte order. Nothing
 * here logs or blocks; the caller reads the counters. */

struct connlimit;
struct connlimit_conn;

struct connlimit_stats {
    unsigned open;                /* connections open now */
    unsigned long refused;        /* over the per-address limit, never accepted */
    unsigned long evicted;        /* shut to make room above the ceiling */
    unsigned long timed_out;      /* shut at the request deadline */
};

struct connlimit *connlimit_new(void);
void connlimit_free(struct connlimit *l);

/* PER_ADDRESS: 0 means no per-address limit. TRUSTED: addresses or a.b.c.d/n networks,
 * separated by commas or spaces. CEILING: open connections before eviction starts. -1 with
 * ERR set when TRUSTED does not parse; nothing is changed then. */
int connlimit_configure(struct connlimit *l, unsigned per_address, const char *trusted, unsigned ceiling,
                        uint64_t header_timeout_ms, char *err, size_t errlen);

/* True when a connection from ADDR may be accepted; counts the refusal otherwise. */
bool connlimit_admit(struct connlimit *l, uint32_t addr);

/* A connection was accepted on FD at NOW (ms): it waits for its first request. Above the
 * ceiling the connection waiting longest is shut first. Never NULL (aborts without memory).
 * The returned handle lives until connlimit_close(). */
struct connlimit_conn *connlimit_open(struct connlimit *l, uint32_t addr, int fd, uint64_t now);
/* The connection's request is complete: no deadline while it is handled and answered. */
void connlimit_busy(struct connlimit *l, struct connlimit_conn *c);
/* The connection's answer is done: it waits for its next request from NOW. */
void connlimit_idle(struct connlimit *l, struct connlimit_conn *c, uint64_t now);
void connlimit_close(struct connlimit *l, struct connlimit_conn *c);

/* Shuts every connection past its deadline at NOW (shutdown(2): the server then reads the
 * end of the stream and closes it as usual). Returns how many. */
unsigned connlimit_sweep(struct connlimit *l, uint64_t now);

struct connlimit_stats connlimit_stats(const struct connlimit *l);

#endif
