#include "cli/cmd_keywords.h"
#include "campaigns/keywords.h"
#include "core/db.h"

#include <cjson/cJSON.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

enum { ERRLEN = 600, KEYWORD_MAX = 200 };

int cmd_keywords_list(struct cli *c, int argc, char **argv)
{
    const struct cli_command *cmd = cli_find("keywords list");
    static const struct option opts[] = {
        {"intent", required_argument, NULL, 'i'}, {"json", no_argument, NULL, 'j'}, {NULL, 0, NULL, 0}};
    const char *intent = NULL;
    opterr = 0;
    int ch;
    while ((ch = getopt_long(argc, argv, ":", opts, NULL)) != -1) {
        switch (ch) {
        case 'i':
            if (kw_intent_parse(optarg) <= 0)
                return cli_usage(cmd, "--intent is opt_out, opt_in, register, question or feedback, not '%s'", optarg);
            intent = optarg;
            break;
        case 'j': break;
        default: return cli_bad_option(cmd, ch, argv);
        }
    }
    if (optind < argc)
        return cli_usage(cmd, "unexpected argument %s", argv[optind]);
    PGconn *db = cli_db(c);
    if (!db)
        return CLI_REFUSED;
    char err[ERRLEN];
    const char *p[1] = {intent};
    PGresult *r = db_query(db, err, sizeof err,
                           "SELECT id, text, intent, match, accents, coalesce(note, '') FROM reply_keywords"
                           " WHERE $1::text IS NULL OR intent = $1 ORDER BY intent, match, text", 1, p);
    if (!r)
        return cli_refuse("%s", err);
    if (c->json) {
        cJSON *o = cJSON_CreateObject(), *a = cJSON_AddArrayToObject(o, "keywords");
        for (int i = 0; i < PQntuples(r); i++) {
            cJSON *x = cJSON_CreateObject();
            cJSON_AddNumberToObject(x, "id", (double)strtoll(PQgetvalue(r, i, 0), NULL, 10));
            cJSON_AddStringToObject(x, "text", PQgetvalue(r, i, 1));
            cJSON_AddStringToObject(x, "intent", PQgetvalue(r, i, 2));
            cJSON_AddStringToObject(x, "match", PQgetvalue(r, i, 3));
            cJSON_AddStringToObject(x, "accents", PQgetvalue(r, i, 4));
            cJSON_AddStringToObject(x, "note", PQgetvalue(r, i, 5));
            cJSON_AddItemToArray(a, x);
        }
        cli_print_json(o);
    } else {
        printf("%5s  %-9s %-7s %-6s %s\n", "id", "intent", "match", "accent", "text");
        for (int i = 0; i < PQntuples(r); i++)
            printf("%5s  %-9s %-7s %-6s %s\n", PQgetvalue(r, i, 0), PQgetvalue(r, i, 2), PQgetvalue(r, i, 3),
                   PQgetvalue(r, i, 4), PQgetvalue(r, i, 1));
    }
    PQclear(r);
    return CLI_OK;
}

/* Reads --match and --accents; 0, or the usage exit code. */
static int match_options(const struct cli_command *cmd, int ch, const char *arg, const char **match,
                         const char **accents)
{
    if (ch == 'm') {
        if (kw_match_parse(arg) < 0)
            return cli_usage(cmd, "--match is whole, phrase, start or end, not '%s'", arg);
        *match = arg;
    } else {
        if (kw_accents_parse(arg) < 0)
            return cli_usage(cmd, "--accents is exact, any or caps, not '%s'", arg);
        *accents = arg;
    }
    return 0;
}

int cmd_keywords_add(struct cli *c, int argc, char **argv)
{
    const struct cli_command *cmd = cli_find("keywords add");
    static const struct option opts[] = {
        {"intent", required_argument, NULL, 'i'}, {"match", required_argument, NULL, 'm'},
        {"accents", required_argument, NULL, 'a'}, {"note", required_argument, NULL, 'n'},
        {"json", no_argument, NULL, 'j'},         {NULL, 0, NULL, 0}};
    const char *intent = NULL, *match = "whole", *accents = "exact", *note = NULL;
    opterr = 0;
    int ch, rc;
    while ((ch = getopt_long(argc, argv, ":", opts, NULL)) != -1) {
        switch (ch) {
        case 'i':
            if (kw_intent_parse(optarg) <= 0)
                return cli_usage(cmd, "--intent is opt_out, opt_in, register, question or feedback, not '%s'", optarg);
            intent = optarg;
            break;
        case 'm':
        case 'a':
            if ((rc = match_options(cmd, ch, optarg, &match, &accents)) != 0)
                return rc;
            break;
        case 'n': note = optarg; break;
        case 'j': break;
        default: return cli_bad_option(cmd, ch, argv);
        }
    }
    if (argc - optind != 1)
        return cli_usage(cmd, "expected one TEXT (quote a phrase)");
    if (!intent)
        return cli_usage(cmd, "say what the keyword means with --intent");
    const char *text = argv[optind];
    /* The table reads it as the daemon will: a keyword with no word in it would match nothing. */
    struct kw_table *t = kw_table_new();
    bool ok = t && strlen(text) <= KEYWORD_MAX &&
              kw_table_add(t, text, (enum kw_intent)kw_intent_parse(intent), (enum kw_match)kw_match_parse(match),
                           (enum kw_accents)kw_accents_parse(accents)) == 0;
    kw_table_free(t);
    if (!ok)
        return cli_usage(cmd, "'%s' is not a keyword: 1 to 20 words of letters or digits, at most %d bytes",
                         text, KEYWORD_MAX);
    PGconn *db = cli_db(c);
    if (!db)
        return CLI_REFUSED;
    char err[ERRLEN];
    const char *p[5] = {text, intent, match, accents, note};
    PGresult *r = db_query(db, err, sizeof err,
                           "INSERT INTO reply_keywords (text, intent, match, accents, note)"
                           " VALUES ($1, $2, $3, $4, $5) ON CONFLICT (text, match) DO UPDATE"
                           " SET intent = EXCLUDED.intent, accents = EXCLUDED.accents,"
                           " note = coalesce(EXCLUDED.note, reply_keywords.note)"
                           " RETURNING id, (xmax = 0)", 5, p);
    if (!r)
        return cli_refuse("%s", err);
    long long id = strtoll(PQgetvalue(r, 0, 0), NULL, 10);
    bool added = strcmp(PQgetvalue(r, 0, 1), "t") == 0;
    PQclear(r);
    db_notify(db, "loa_keywords", "");
    if (c->json) {
        cJSON *o = cJSON_CreateObject();
        cJSON_AddNumberToObject(o, "id", (double)id);
        cJSON_AddStringToObject(o, "text", text);
        cJSON_AddStringToObject(o, "intent", intent);
        cJSON_AddStringToObject(o, "match", match);
        cJSON_AddStringToObject(o, "accents", accents);
        cJSON_AddBoolToObject(o, "added", added);
        cli_print_json(o);
    } else
        printf("keyword %lld %s: '%s' → %s (%s, accents %s)\n", id, added ? "added" : "updated", text, intent,
               match, accents);
    return CLI_OK;
}

int cmd_keywords_remove(struct cli *c, int argc, char **argv)
{
    const struct cli_command *cmd = cli_find("keywords remove");
    static const struct option opts[] = {
        {"match", required_argument, NULL, 'm'}, {"json", no_argument, NULL, 'j'}, {NULL, 0, NULL, 0}};
    const char *match = NULL, *unused = NULL;
    opterr = 0;
    int ch, rc;
    while ((ch = getopt_long(argc, argv, ":", opts, NULL)) != -1) {
        switch (ch) {
        case 'm':
            if ((rc = match_options(cmd, ch, optarg, &match, &unused)) != 0)
                return rc;
            break;
        case 'j': break;
        default: return cli_bad_option(cmd, ch, argv);
        }
    }
    if (argc - optind != 1)
        return cli_usage(cmd, "expected one TEXT or ID");
    const char *key = argv[optind];
    PGconn *db = cli_db(c);
    if (!db)
        return CLI_REFUSED;
    char err[ERRLEN];
    bool numeric = *key && strspn(key, "0123456789") == strlen(key) && strlen(key) < 19;
    const char *p[3] = {key, match, numeric ? key : NULL};
    /* The text first: a keyword may itself be a number. */
    PGresult *r = db_query(db, err, sizeof err,
                           "WITH t AS (SELECT id FROM reply_keywords WHERE text = $1 AND ($2::text IS NULL OR match = $2)),"
                           " k AS (SELECT id FROM t UNION ALL SELECT id FROM reply_keywords"
                           "        WHERE NOT EXISTS (SELECT 1 FROM t) AND id = $3::bigint)"
                           " DELETE FROM reply_keywords WHERE id IN (SELECT id FROM k) RETURNING id, text, match",
                           3, p);
    if (!r)
        return cli_refuse("%s", err);
    int n = PQntuples(r);
    if (n == 0) {
        PQclear(r);
        return cli_refuse("no keyword '%s' (`loa keywords list`)", key);
    }
    db_notify(db, "loa_keywords", "");
    if (c->json) {
        cJSON *o = cJSON_CreateObject();
        cJSON_AddNumberToObject(o, "removed", n);
        cli_print_json(o);
    } else
        for (int i = 0; i < n; i++)
            printf("keyword %s removed: '%s' (%s)\n", PQgetvalue(r, i, 0), PQgetvalue(r, i, 1), PQgetvalue(r, i, 2));
    PQclear(r);
    return CLI_OK;
}

int cmd_keywords_test(struct cli *c, int argc, char **argv)
{
    const struct cli_command *cmd = cli_find("keywords test");
    const char *text = NULL;
    int rc = cli_positional(cmd, argc, argv, &text, 1, "one TEXT, the reply to read");
    if (rc != 0)
        return rc;
    PGconn *db = cli_db(c);
    if (!db)
        return CLI_REFUSED;
    char err[ERRLEN];
    PGresult *r = db_query(db, err, sizeof err, KW_TABLE_SQL, 0, NULL);
    if (!r)
        return cli_refuse("%s", err);
    int skipped;
    struct kw_table *t = kw_table_from_result(r, &skipped);
    PQclear(r);
    if (!t)
        return cli_refuse("out of memory");
    const char *intent = kw_intent_name(kw_classify(t, text));
    kw_table_free(t);
    struct kw_text *norm = malloc(sizeof *norm);
    char plain[1024] = "";
    if (norm) {
        kw_text_parse(text, true, norm);
        kw_text_plain(norm, plain, sizeof plain);
        free(norm);
    }
    if (c->json) {
        cJSON *o = cJSON_CreateObject();
        cJSON_AddStringToObject(o, "intent", intent);
        cJSON_AddStringToObject(o, "normalised", plain);
        cli_print_json(o);
    } else
        printf("%s\t(%s)\n", intent, plain);
    return CLI_OK;
}
