/* `loa segment create|count|list` (segments/segment.h). */
#include "cli/commands.h"
#include "segments/filter.h"
#include "segments/segment.h"

#include <cjson/cJSON.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

static const struct option segment_opts[] = {
    {"filter", required_argument, NULL, 'f'},
    {"json", no_argument, NULL, 'j'},
    {NULL, 0, NULL, 0},
};

static double ms_since(const struct timespec *t0)
{
    struct timespec t1;
    clock_gettime(CLOCK_MONOTONIC, &t1);
    return (double)(t1.tv_sec - t0->tv_sec) * 1e3 + (double)(t1.tv_nsec - t0->tv_nsec) / 1e6;
}

/* The options of segment create and count: --filter FILE and --json. CLI_OK, or the usage
 * error printed. */
static int parse(const struct cli_command *me, int argc, char **argv, const char **file)
{
    int o;
    while ((o = getopt_long(argc, argv, "f:", segment_opts, NULL)) != -1) {
        if (o == 'f')
            *file = optarg;
        else if (o != 'j')
            return cli_usage(me, "unknown option");
    }
    return CLI_OK;
}

/* Reads and compiles filter file FILE into FS. CLI_OK, or the refusal printed. */
static int filter_load(const char *file, struct filter_sql *fs, char **json)
{
    char err[600];
    char *text = segment_filter_read(file, err, sizeof err);
    if (!text)
        return cli_refuse("%s", err);
    if (filter_compile(text, 1, fs, err, sizeof err) < 0) {
        free(text);
        return cli_refuse("%s: %s", file, err);
    }
    if (json)
        *json = text;
    else
        free(text);
    return CLI_OK;
}

int cmd_segment_create(struct cli *c, int argc, char **argv)
{
    const struct cli_command *me = cli_find("segment create");
    const char *file = NULL;
    if (parse(me, argc, argv, &file) != CLI_OK)
        return CLI_USAGE;
    if (optind != argc - 1 || !file)
        return cli_usage(me, "give one NAME and --filter FILE.json");
    const char *name = argv[optind];
    if (segment_name_check(name) < 0)
        return cli_refuse("a segment name is 1 to 100 printable characters");

    char err[600];
    char *json;
    struct filter_sql fs;
    int rc = filter_load(file, &fs, &json);
    if (rc != CLI_OK)
        return rc;
    PGconn *db = cli_db(c);
    if (!db) {
        free(json);
        filter_sql_free(&fs);
        return CLI_REFUSED;
    }
    long long id;
    bool created;
    rc = segment_store(db, name, json, &id, &created, err, sizeof err);
    free(json);
    if (rc < 0) {
        filter_sql_free(&fs);
        return cli_refuse("cannot store segment '%s': %s", name, err);
    }
    int64_t count = 0, sms = 0;
    rc = segment_count(db, &fs, &count, &sms, err, sizeof err);
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
        cli_print_json(j);
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
    if (parse(me, argc, argv, &file) != CLI_OK)
        return CLI_USAGE;
    if ((file && optind != argc) || (!file && optind != argc - 1))
        return cli_usage(me, "give either a segment NAME or --filter FILE.json");
    const char *name = file ? NULL : argv[optind];

    char err[600];
    struct filter_sql fs;
    PGconn *db = NULL;
    if (file) {
        int rc = filter_load(file, &fs, NULL);
        if (rc != CLI_OK)
            return rc;
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
        cli_print_json(j);
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
    cJSON *j = c->json ? cJSON_CreateObject() : NULL;
    return cli_json_done(j, segment_list_write(db, stdout, j, err, sizeof err), err);
}
