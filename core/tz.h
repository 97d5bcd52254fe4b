#ifndef LOA_TZ_H
#define LOA_TZ_H
#include <stdint.h>
#include <time.h>

/* Time zones without touching the process environment. The usual way, setting TZ around
 * localtime_r(), changes the zone of every other caller in the process while it lasts; instead
 * the zone's TZif file is read from the system's zoneinfo (or $TZDIR) and kept, one per zone
 * name. Times after the file's last transition use its last local time type (and the footer's
 * fixed offset when it has one), which is exact for zones without daylight saving such as
 * Asia/Ho_Chi_Minh. Not thread-safe (the daemon and the CLI are single-threaded). */

/* The offset from UTC, in seconds, of ZONE at unix time T. "UTC", "" and NULL are UTC. Returns 0,
 * or -1 when the zone is unknown (OFF is then 0). */
int tz_offset(const char *zone, int64_t t, long *off);

/* The local civil time of T in ZONE (tm_gmtoff set). Returns 0 or -1 as tz_offset(). */
int tz_localtime(const char *zone, int64_t t, struct tm *out);

/* The local day number (days since 1970-01-01 in ZONE) of unix milliseconds MS. */
long tz_day(const char *zone, int64_t ms);

/* Forgets every zone read (tests; a changed zoneinfo). */
void tz_reset(void);

#endif
