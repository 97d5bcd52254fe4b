#include "segments/segment.h"
#include "segments/filter.h"
#include "core/db.h"

#include <cjson/cJSON.h>
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static const struct option segment_opts[] = {
    {"filter", required_argument, NULL, 'f'},
    {"json", no_argument, NULL, 'j'},
    {NULL, 0, NULL, 0},
};

/* Reads a filter file whole: filters are at most 64 KB, so a larger file is refused here. */
static char *filter_file_read(const char *path, char *err, size_t errlen)
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

static double ms_since(const struct timespec *t0)
{
    struct timespec t1;
    clock_gettime(CLOCK_MONOTONIC, &t1);
    return (double)(t1.tv_sec - t0->tv_sec) * 1e3 + (double)(t1.tv_nsec - t0->tv_nsec) / 1e6;
}

int segment_count(PGconn *db, const struct filter_sql *fs, int64_t *count, int64_t *sendable_sms,
                  char *err, size_t errlen)
{
    size_t n = strlen(fs->where) + strlen(segment_sendable_sql()) + 128;
    char *sql = malloc(n);
    const char **params = calloc((size_t)fs->nparams + 1, sizeof *params);
    if (!sql || !params) {
        free(sql);
        free(params);
        snprintf(err, errlen, "out of memory");
        return -1;
    }
    snprintf(sql, n, "SELECT count(*), count(*) FILTER (WHERE %s) FROM citizens c WHERE %s",
             segment_sendable_sql(), fs->where);
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
static int name_check(const char *name)
{
    size_t n = strlen(name);
    if (n == 0 || n > 100)
        return -1;
    for (size_t i = 0; i < n; i++)
        if ((unsigned char)name[i] < 0x20 || name[i] == 0x7f)
            return -1;
    return 0;
}

int cmd_segment_create(struct cli *c, int argc, char **argv)
{
    const struct cli_command *me = cli_find("segment create");
    const char *file = NULL;
    int o;
    while ((o = getopt_long(argc, argv, "f:", segment_opts, NULL)) != -1) {
        if (o == 'f')
            file = optarg;
        else if (o != 'j')
            return cli_usage(me, "unknown option");
    }
    if (optind != argc - 1 || !file)
        return cli_usage(me, "give one NAME and --filter FILE.json");
    const char *name = argv[optind];
    if (name_check(name) < 0)
        return cli_refuse("a segment name is 1 to 100 printable characters");

    char err[600];
    char *json = filter_file_read(file, err, sizeof err);
    if (!json)
        return cli_refuse("%s", err);
    struct filter_sql fs;
    if (filter_compile(json, 1, &fs, err, sizeof err) < 0) {
        free(json);
        return cli_refuse("%s: %s", file, err);
    }
    PGconn *db = cli_db(c);
    if (!db) {
        free(json);
        filter_sql_free(&fs);
        return CLI_REFUSED;
    }
    const char *p[2] = {name, json};
    PGresult *r = db_query(db, err, sizeof err,
                           "INSERT INTO segments (name, filter) VALUES ($1, $2::jsonb)"
                           " ON CONFLICT (name) DO UPDATE SET filter = EXCLUDED.filter, updated_at = now()"
                           " RETURNING id, xmax = 0",
                           2, p);
    free(json);
    if (!r) {
        filter_sql_free(&fs);
        return cli_refuse("cannot store segment '%s': %s", name, err);
    }
    long long id = strtoll(PQgetvalue(r, 0, 0), NULL, 10);
    int created = PQgetvalue(r, 0, 1)[0] == 't';
    PQclear(r);

    int64_t count = 0, sms = 0;
    int rc = segment_count(db, &fs, &count, &sms, err, sizeof err);
    filter_sql_free(&fs);
    if (rc < 0)
        return cli_refuse("segment '%s' stored, but counting it failed: %s", name, err);
    if (c->json) {
        cJSON *j = cJSON_CreateObject();
        cJSON_AddStringToObject(j, "segment", name);
        cJSON_AddNumberToObject(j, "id", (double)id);
        cJSON_AddBoolToObject(j, "created", created);
        cJSON_AddNumberToObject(j, "count", (double)count);
        cJSON_AddNumberToObject(j, "sendable_sms", (double)sms);
        char *s = cJSON_PrintUnformatted(j);
        puts(s);
        free(s);
        cJSON_Delete(j);
    } else {
        printf("segment %s %s (id %lld): %lld citizens, %lld reachable by SMS\n", name,
               created ? "created" : "updated", id, (long long)count, (long long)sms);
    }
    return CLI_OK;
}

int cmd_segment_count(struct cli *c, int argc, char **argv)
{
    const struct cli_command *me = cli_find("segment count");
    const char *file = NULL;
    int o;
    while ((o = getopt_long(argc, argv, "f:", segment_opts, NULL)) != -1) {
        if (o == 'f')
            file = optarg;
        else if (o != 'j')
            return cli_usage(me, "unknown option");
    }
    if ((file && optind != argc) || (!file && optind != argc - 1))
        return cli_usage(me, "give either a segment NAME or --filter FILE.json");
    const char *name = file ? NULL : argv[optind];

    char err[600];
    struct filter_sql fs;
    PGconn *db = NULL;
    if (file) {
        char *json = filter_file_read(file, err, sizeof err);
        if (!json)
            return cli_refuse("%s", err);
        int rc = filter_compile(json, 1, &fs, err, sizeof err);
        free(json);
        if (rc < 0)
            return cli_refuse("%s: %s", file, err);
        if (!(db = cli_db(c))) {
            filter_sql_free(&fs);
            return CLI_REFUSED;
        }
    } else {
        if (!(db = cli_db(c)))
            return CLI_REFUSED;
        if (segment_load(db, name, 1, &fs, NULL, err, sizeof err) < 0)
            return cli_refuse("%s", err);
    }
    struct timespec t0;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    int64_t count = 0, sms = 0;
    int rc = segment_count(db, &fs, &count, &sms, err, sizeof err);
    double ms = ms_since(&t0);
    filter_sql_free(&fs);
    if (rc < 0)
        return cli_refuse("count failed: %s", err);
    if (c->json) {
        cJSON *j = cJSON_CreateObject();
        if (name)
            cJSON_AddStringToObject(j, "segment", name);
        else
            cJSON_AddNullToObject(j, "segment");
        cJSON_AddNumberToObject(j, "count", (double)count);
        cJSON_AddNumberToObject(j, "sendable_sms", (double)sms);
        cJSON_AddNumberToObject(j, "elapsed_ms", (double)(long long)(ms * 10 + 0.5) / 10);
        char *s = cJSON_PrintUnformatted(j);
        puts(s);
        free(s);
        cJSON_Delete(j);
    } else {
        printf("%s: %lld citizens, %lld reachable by SMS (%.1f ms)\n", name ? name : file,
               (long long)count, (long long)sms, ms);
    }
    return CLI_OK;
}

int cmd_segment_list(struct cli *c, int argc, char **argv)
{
    const struct cli_command *me = cli_find("segment list");
    int o;
    while ((o = getopt_long(argc, argv, "", segment_opts, NULL)) != -1)
        if (o != 'j')
            return cli_usage(me, "unknown option");
    if (optind != argc)
        return cli_usage(me, "unexpected argument %s", argv[optind]);
    PGconn *db = cli_db(c);
    if (!db)
        return CLI_REFUSED;
    char err[600];
    PGresult *r = db_query(db, err, sizeof err,
                           "SELECT id, name, filter::text,"
                           " to_char(updated_at AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"')"
                           " FROM segments ORDER BY name",
                           0, NULL);
    if (!r)
        return cli_refuse("%s", err);
    cJSON *j = c->json ? cJSON_CreateObject() : NULL;
    cJSON *arr = j ? cJSON_AddArrayToObject(j, "segments") : NULL;
    for (int i = 0; i < PQntuples(r); i++) {
        if (j) {
            cJSON *s = cJSON_CreateObject();
            cJSON_AddNumberToObject(s, "id", (double)strtoll(PQgetvalue(r, i, 0), NULL, 10));
            cJSON_AddStringToObject(s, "name", PQgetvalue(r, i, 1));
            cJSON *flt = cJSON_Parse(PQgetvalue(r, i, 2));
            cJSON_AddItemToObject(s, "filter", flt ? flt : cJSON_CreateNull());
            cJSON_AddStringToObject(s, "updated_at", PQgetvalue(r, i, 3));
            cJSON_AddItemToArray(arr, s);
        } else {
            printf("%-24s %s\n", PQgetvalue(r, i, 1), PQgetvalue(r, i, 2));
        }
    }
    if (j) {
        char *s = cJSON_PrintUnformatted(j);
        puts(s);
        free(s);
        cJSON_Delete(j);
    } else if (PQntuples(r) == 0) {
        printf("no segments\n");
    }
    PQclear(r);
    return CLI_OK;
}
