/* `loa user list` and `loa user disable NAME`: the admin's side of the users of the API and the
 * dashboard (campaigns/users.h). A disabled user is refused everywhere at once (their sessions
 * are deleted in the same statement) but stays in the rows that name them. */
#include "cli/cmd_users_admin.h"
#include "cli/cli.h"
#include "core/db.h"
#include "core/log.h"

#include <cjson/cJSON.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

enum { ERRLEN = 600 };

int cmd_user_list(struct cli *c, int argc, char **argv)
{
    const struct cli_command *cmd = cli_find("user list");
    for (int i = 1; i < argc; i++)
        if (strcmp(argv[i], "--json") != 0)
            return cli_usage(cmd, "unexpected argument %s", argv[i]);
    PGconn *db = cli_db(c);
    if (!db)
        return CLI_REFUSED;
    char err[ERRLEN];
    PGresult *r = db_query(db, err, sizeof err,
                           "SELECT id, name, role, password_hash IS NOT NULL,"
                           " to_char(created_at AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"'),"
                           " to_char(disabled_at AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"')"
                           " FROM users ORDER BY name", 0, NULL);
    if (!r)
        return cli_refuse("%s", err);
    cJSON *o = c->json ? cJSON_CreateObject() : NULL;
    cJSON *a = o ? cJSON_AddArrayToObject(o, "users") : NULL;
    if (!o)
        printf("%6s  %-24s %-10s %-8s %-20s %s\n", "id", "name", "role", "password", "created", "disabled");
    for (int i = 0; i < PQntuples(r); i++) {
        bool disabled = !PQgetisnull(r, i, 5), pw = PQgetvalue(r, i, 3)[0] == 't';
        if (o) {
            cJSON *x = cJSON_CreateObject();
            cJSON_AddNumberToObject(x, "id", (double)strtoll(PQgetvalue(r, i, 0), NULL, 10));
            cJSON_AddStringToObject(x, "name", PQgetvalue(r, i, 1));
            cJSON_AddStringToObject(x, "role", PQgetvalue(r, i, 2));
            cJSON_AddBoolToObject(x, "password", pw);
            cJSON_AddStringToObject(x, "created_at", PQgetvalue(r, i, 4));
            if (disabled)
                cJSON_AddStringToObject(x, "disabled_at", PQgetvalue(r, i, 5));
            else
                cJSON_AddNullToObject(x, "disabled_at");
            cJSON_AddItemToArray(a, x);
        } else
            printf("%6s  %-24s %-10s %-8s %-20s %s\n", PQgetvalue(r, i, 0), PQgetvalue(r, i, 1),
                   PQgetvalue(r, i, 2), pw ? "yes" : "no", PQgetvalue(r, i, 4),
                   disabled ? PQgetvalue(r, i, 5) : "-");
    }
    PQclear(r);
    if (o) {
        char *s = cJSON_PrintUnformatted(o);
        puts(s);
        free(s);
        cJSON_Delete(o);
    }
    return CLI_OK;
}

int cmd_user_disable(struct cli *c, int argc, char **argv)
{
    const struct cli_command *cmd = cli_find("user disable");
    const char *name = NULL;
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--json") == 0)
            continue;
        if (name || argv[i][0] == '-')
            return cli_usage(cmd, "unexpected argument %s", argv[i]);
        name = argv[i];
    }
    if (!name)
        return cli_usage(cmd, "a user NAME is required");
    PGconn *db = cli_db(c);
    if (!db)
        return CLI_REFUSED;
    char err[ERRLEN];
    const char *p[1] = {name};
    /* The sessions go in the same statement: a browser logged in as the user is refused from
     * its next request on. */
    PGresult *r = db_query(db, err, sizeof err,
                           "WITH u AS (UPDATE users SET disabled_at = now()"
                           "   WHERE name = $1 AND disabled_at IS NULL RETURNING id),"
                           " s AS (DELETE FROM sessions WHERE user_id IN (SELECT id FROM u))"
                           " SELECT id FROM u", 1, p);
    if (!r)
        return cli_refuse("%s", err);
    int n = PQntuples(r);
    char id[24] = "";
    if (n == 1)
        snprintf(id, sizeof id, "%s", PQgetvalue(r, 0, 0));
    PQclear(r);
    if (n != 1) {
        r = db_query(db, err, sizeof err, "SELECT 1 FROM users WHERE name = $1", 1, p);
        if (!r)
            return cli_refuse("%s", err);
        int exists = PQntuples(r);
        PQclear(r);
        return exists ? cli_refuse("user '%s' is already disabled", name)
                      : cli_refuse("no user '%s' (`loa user list`)", name);
    }
    log_info("event=user_disabled id=%s", id);
    if (c->json)
        printf("{\"id\":%s,\"disabled\":true}\n", id);
    else
        printf("user %s disabled\n", name);
    return CLI_OK;
}
