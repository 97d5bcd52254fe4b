#ifndef LOA_FDLIMIT_H
#define LOA_FDLIMIT_H

/* The open-file limit of the process. The daemon raises its soft limit to the hard limit at
 * start, so that a flood of HTTP connections cannot leave curl and libpq without descriptors;
 * the HTTP server then sizes its connection limit from what it got, keeping
 * fdlimit_reserve() descriptors for everything else. */

/* Raises RLIMIT_NOFILE's soft limit to the hard limit (logged when it changes); returns the
 * soft limit in force afterwards. */
unsigned long fdlimit_raise(void);
/* The current soft limit. */
unsigned long fdlimit_current(void);
/* Descriptors kept out of the HTTP server's reach at soft limit LIMIT: database and gateway
 * connections, logs, the loop's own. */
unsigned long fdlimit_reserve(unsigned long limit);

#endif
