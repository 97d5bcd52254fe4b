#ifndef LOA_SEGMENT_H
#define LOA_SEGMENT_H
#include "cli/cli.h"
#include "segments/filter.h"

#include <stdint.h>

/* Segments: named filters over citizens (the language is in segments/filter.h). */

/* Counts the citizens of the filter (compiled with param_base 1) and those reachable by SMS now
 * (segment_sendable_sql). 0, or -1 with ERR set. */
int segment_count(PGconn *db, const struct filter_sql *fs, int64_t *count, int64_t *sendable_sms,
                  char *err, size_t errlen);

/* `loa segment create NAME --filter FILE.json`: stores the filter (refused when it does not
 * compile); an existing NAME is updated. */
int cmd_segment_create(struct cli *c, int argc, char **argv);
/* `loa segment count NAME` / `loa segment count --filter FILE.json`: the count, the number
 * reachable by SMS and the time the count took. */
int cmd_segment_count(struct cli *c, int argc, char **argv);
/* `loa segment list`: every segment with its filter. */
int cmd_segment_list(struct cli *c, int argc, char **argv);

#endif
