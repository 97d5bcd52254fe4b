#ifndef LOA_CLOCK_H
#define LOA_CLOCK_H
#include <stdbool.h>
#include <stdint.h>

/* The one wall clock by which loa decides anything (a campaign's start and end, the sending
 * window, the local day of a quota or a cap), in C and, through the SQL function loa_now()
 * (sql/functions/05_clock.sql), in every statement that decides by time.
 *
 * In production it is the real time. Only when the environment variable LOA_TEST_CLOCK names a
 * file does it run ahead: the file holds an offset in seconds ("86400", "-3.5"), read again at
 * most every 50 ms, so that a test moves the clock of a running daemon by rewriting the file (a
 * week of calendar in seconds). The daemon logs a warning at start when it is on; each database
 * session then gets the offset as its setting loa.clock_offset, which loa_now() adds to now(). */

/* Unix milliseconds by the clock. */
int64_t clock_now_ms(void);

/* True when LOA_TEST_CLOCK is set: the clock may run ahead of the real time. */
bool clock_is_test(void);

/* The file named by LOA_TEST_CLOCK, or NULL. */
const char *clock_test_file(void);

/* Changes whenever the test clock's offset changes (0 without a test clock), so that a database
 * session knows when to take the new offset. */
unsigned clock_generation(void);

/* The offset as a PostgreSQL interval text ("86400.000 seconds"), for loa.clock_offset. */
const char *clock_offset_text(void);

/* The statement that gives a database session the offset, with clock_offset_text() as $1. */
#define CLOCK_SET_SQL "SELECT set_config('loa.clock_offset', $1, false)"

#endif
