#ifndef LOA_ARCHIVE_H
#define LOA_ARCHIVE_H
#include <libpq-fe.h>
#include <stddef.h>
#include <stdint.h>

/* Archiving a finished campaign: its partition of messages leaves the live table for the schema
 * archive (sql/016_campaign_archive.sql, loa_campaign_archive() in
 * sql/functions/60_archive.sql), so the live table and its indexes hold only what may still
 * change. The campaign's counters stay, so `loa campaign show` answers as before; breakdowns and
 * the report read messages_all, live and archived. */

struct campaign_archived {
    char table[128];            /* "archive.messages_cN"; "" when the campaign had no messages */
    long long messages;         /* the campaign's messages, from its counters */
    long long bytes;            /* the archived table with its indexes */
};

/* Archives campaign ID (completed or cancelled, not archived yet) in one transaction. 0 and
 * *OUT, or -1 with the reason in ERR. */
int campaign_archive(PGconn *db, int64_t id, struct campaign_archived *out, char *err, size_t errlen);

#endif
