#ifndef LOA_SEGMENT_H
#define LOA_SEGMENT_H
#include "segments/filter.h"

#include <libpq-fe.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

/* Segments: named filters over citizens (the language is in segments/filter.h). */

/* Counts the citizens of the filter (compiled with param_base 1) and those reachable by SMS now
 * (segment_sendable_sql). 0, or -1 with ERR set. */
int segment_count(PGconn *db, const struct filter_sql *fs, int64_t *count, int64_t *sendable_sms,
                  char *err, size_t errlen);

/* Reads filter file PATH whole (filters are at most 64 KB, so a larger file is refused here)
 * for the caller to free. NULL with ERR ("PATH: reason"). */
char *segment_filter_read(const char *path, char *err, size_t errlen);
/* 0 when NAME is 1 to 100 printable characters, else -1. */
int segment_name_check(const char *name);
/* Stores the filter JSON (compiled by the caller) as segment NAME, or updates it; sets *ID and
 * *CREATED. 0, or -1 with the database's error. */
int segment_store(PGconn *db, const char *name, const char *json, long long *id, bool *created,
                  char *err, size_t errlen);
/* Every segment with its filter: one line each on OUT ("no segments" when there is none), or,
 * when JSON is not NULL, the array "segments" of that object. 0, or -1 with ERR. */
struct cJSON;
/* The segments by name: id, name, filter (JSON text), updated_at (UTC ISO). */
#define SEGMENTS_LIST_SQL                                                                     \
    "SELECT id, name, filter::text,"                                                          \
    " to_char(updated_at AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"')"               \
    " FROM segments ORDER BY name"
/* {"id","name","filter","updated_at"} of row I of SEGMENTS_LIST_SQL; the caller owns it. */
struct cJSON *segment_row_json(const PGresult *r, int i);
int segment_list_write(PGconn *db, FILE *out, struct cJSON *json, char *err, size_t errlen);

#endif
