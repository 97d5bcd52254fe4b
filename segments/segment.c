#include "segments/segment.h"
#include "segments/filter.h"
#include "core/db.h"

#include <cjson/cJSON.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Reads a filter file whole: filters are at most 64 KB, so a larger file is refused here. */
char *segment_filter_read(const char *path, char *err, size_t errlen)
{
    FILE *f = fopen(path, "rb");
    if (!f) {
        snprintf(err, errlen, "%s: %s", path, strerror(errno));
        return NULL;
    }
    size_t cap = 65536 + 2, len;
    char *buf = malloc(cap);
    if (!buf) {
        fclose(f);
        snprintf(err, errlen, "out of memory");
        return NULL;
    }
    len = fread(buf, 1, cap - 1, f);
    int bad = ferror(f);
    fclose(f);
    if (bad || len > 65536 || memchr(buf, '\0', len)) {
        free(buf);
        snprintf(err, errlen, "%s: %s", path,
                 bad ? "read error" : len > 65536 ? "larger than 64 KB" : "not a JSON text file");
        return NULL;
    }
    buf[len] = '\0';
    return buf;
}

int segment_count(PGconn *db, const struct filter_sql *fs, int64_t *count, int64_t *sendable_sms,
                  char *err, size_t errlen)
{
    size_t n = strlen(fs->where) + strlen(segment_sendable_joined_sql()) + strlen(segment_opt_outs_join_sql()) + 128;
    char *sql = malloc(n);
    const char **params = calloc((size_t)fs->nparams + 1, sizeof *params);
    if (!sql || !params) {
        free(sql);
        free(params);
        snprintf(err, errlen, "out of memory");
        return -1;
    }
    snprintf(sql, n, "SELECT count(*), count(*) FILTER (WHERE %s) FROM citizens c%s WHERE %s",
             segment_sendable_joined_sql(), segment_opt_outs_join_sql(), fs->where);
    params[0] = "sms";
    for (int i = 0; i < fs->nparams; i++)
        params[i + 1] = fs->params[i];
    PGresult *r = db_query(db, err, errlen, sql, fs->nparams + 1, params);
    free(sql);
    free(params);
    if (!r)
        return -1;
    *count = strtoll(PQgetvalue(r, 0, 0), NULL, 10);
    *sendable_sms = strtoll(PQgetvalue(r, 0, 1), NULL, 10);
    PQclear(r);
    return 0;
}

/* A segment name is shown in lists and reports: printable text of reasonable length. */
int segment_name_check(const char *name)
{
    size_t n = strlen(name);
    if (n == 0 || n > 100)
        return -1;
    for (size_t i = 0; i < n; i++)
        if ((unsigned char)name[i] < 0x20 || name[i] == 0x7f)
            return -1;
    return 0;
}

int segment_store(PGconn *db, const char *name, const char *json, long long *id, bool *created,
                  char *err, size_t errlen)
{
    const char *p[2] = {name, json};
    PGresult *r = db_query(db, err, errlen,
                           "INSERT INTO segments (name, filter) VALUES ($1, $2::jsonb)"
                           " ON CONFLICT (name) DO UPDATE SET filter = EXCLUDED.filter, updated_at = now()"
                           " RETURNING id, xmax = 0",
                           2, p);
    if (!r)
        return -1;
    *id = strtoll(PQgetvalue(r, 0, 0), NULL, 10);
    *created = PQgetvalue(r, 0, 1)[0] == 't';
    PQclear(r);
    return 0;
}

cJSON *segment_row_json(const PGresult *r, int i)
{
    cJSON *s = cJSON_CreateObject();
    cJSON_AddNumberToObject(s, "id", (double)strtoll(PQgetvalue(r, i, 0), NULL, 10));
    cJSON_AddStringToObject(s, "name", PQgetvalue(r, i, 1));
    cJSON *flt = cJSON_Parse(PQgetvalue(r, i, 2));
    cJSON_AddItemToObject(s, "filter", flt ? flt : cJSON_CreateNull());
    cJSON_AddStringToObject(s, "updated_at", PQgetvalue(r, i, 3));
    return s;
}

int segment_list_write(PGconn *db, FILE *out, cJSON *j, char *err, size_t errlen)
{
    PGresult *r = db_query(db, err, errlen, SEGMENTS_LIST_SQL, 0, NULL);
    if (!r)
        return -1;
    cJSON *arr = j ? cJSON_AddArrayToObject(j, "segments") : NULL;
    for (int i = 0; i < PQntuples(r); i++) {
        if (j) {
            cJSON_AddItemToArray(arr, segment_row_json(r, i));
        } else {
            fprintf(out, "%-24s %s\n", PQgetvalue(r, i, 1), PQgetvalue(r, i, 2));
        }
    }
    if (!j && PQntuples(r) == 0)
        fprintf(out, "no segments\n");
    PQclear(r);
    return 0;
}
