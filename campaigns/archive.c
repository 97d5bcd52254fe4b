#include "campaigns/archive.h"
#include "core/db.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>

int campaign_archive(PGconn *db, int64_t id, struct campaign_archived *out, char *err, size_t errlen)
{
    char cid[24];
    snprintf(cid, sizeof cid, "%" PRId64, id);
    const char *p[1] = {cid};
    PGresult *r = db_query(db, err, errlen,
                           "SELECT COALESCE(archive_table, ''), messages, bytes FROM loa_campaign_archive($1::bigint)",
                           1, p);
    if (!r)
        return -1;
    snprintf(out->table, sizeof out->table, "%s", PQgetvalue(r, 0, 0));
    out->messages = strtoll(PQgetvalue(r, 0, 1), NULL, 10);
    out->bytes = strtoll(PQgetvalue(r, 0, 2), NULL, 10);
    PQclear(r);
    return 0;
}
