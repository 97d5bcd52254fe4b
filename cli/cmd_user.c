/* `loa user add|list|disable` (campaigns/users.h): the users of the API and the dashboard. A
 * disabled user is refused everywhere at once (their sessions end in the same statement) but
 * stays in the rows that name them. */
#include "cli/commands.h"
#include "campaigns/users.h"
#include "core/config.h"
#include "core/db.h"

#include <cjson/cJSON.h>
#include <getopt.h>
#include <openssl/crypto.h>
#include <stdio.h>
#include <string.h>

int cmd_user_add(struct cli *c, int argc, char **argv)
{
    const struct cli_command *cmd = cli_find("user add");
    static const struct option opts[] = {
        {"role", required_argument, NULL, 'r'}, {"json", no_argument, NULL, 'j'},
        {"password-file", required_argument, NULL, 'p'}, {NULL, 0, NULL, 0}};
    const char *role = NULL, *password_file = NULL;
    opterr = 0;
    int ch;
    while ((ch = getopt_long(argc, argv, ":", opts, NULL)) != -1) {
        switch (ch) {
        case 'r': role = optarg; break;
        case 'p': password_file = optarg; break;
        case 'j': break;
        default: return cli_bad_option(cmd, ch, argv);
        }
    }
    if (argc - optind != 1)
        return cli_usage(cmd, "expected one user NAME");
    const char *name = argv[optind];
    if (!users_name_ok(name))
        return cli_usage(cmd, "a user name is 1 to 64 bytes without spaces or control characters");
    if (!role)
        return cli_usage(cmd, "--role is required");
    if (!users_role_ok(role))
        return cli_usage(cmd, "--role takes officer, supervisor or admin, not '%s'", role);
    char err[600], password[USERS_PASSWORD_MAX + 2], hash[USERS_HASH_MAX] = "";
    if (users_password_read(password_file, password, sizeof password, err, sizeof err) < 0)
        return cli_refuse("%s; no user added", err);
    int rounds = (int)config_int(c->cfg, "http", "password_iterations");
    int hrc = password[0] ? users_password_hash_iter(password, rounds, hash) : 0;
    OPENSSL_cleanse(password, sizeof password);
    if (hrc < 0)
        return cli_refuse("the random generator failed; no user added");
    PGconn *db = cli_db(c);
    if (!db)
        return CLI_REFUSED;
    char token[USERS_TOKEN_HEX];
    long long id;
    char actor[96];
    cli_shell_actor(actor, sizeof actor);
    if (users_add(db, name, role, hash, actor, token, &id, err, sizeof err) < 0)
        return cli_refuse("%s", err);
    if (c->json) {
        cJSON *o = cJSON_CreateObject();
        cJSON_AddNumberToObject(o, "id", (double)id);
        cJSON_AddStringToObject(o, "name", name);
        cJSON_AddStringToObject(o, "role", role);
        cJSON_AddStringToObject(o, "token", token);
        cJSON_AddBoolToObject(o, "password", hash[0] != '\0');
        cli_print_json(o);
    } else
        printf("user %s added with role %s%s\ntoken (shown only now; keep it safe): %s\n", name,
               role, hash[0] ? " and a dashboard password" : " (API token only: no password)", token);
    OPENSSL_cleanse(token, sizeof token);
    return CLI_OK;
}

int cmd_user_list(struct cli *c, int argc, char **argv)
{
    int rc = cli_only_json(cli_find("user list"), argc, argv);
    if (rc != CLI_OK)
        return rc;
    PGconn *db = cli_db(c);
    if (!db)
        return CLI_REFUSED;
    char err[600];
    PGresult *r = db_query(db, err, sizeof err, USERS_LIST_SQL, 0, NULL);
    if (!r)
        return cli_refuse("%s", err);
    cJSON *o = c->json ? cJSON_CreateObject() : NULL;
    cJSON *a = o ? cJSON_AddArrayToObject(o, "users") : NULL;
    if (!o)
        printf("%6s  %-24s %-10s %-8s %-20s %s\n", "id", "name", "role", "password", "created", "disabled");
    for (int i = 0; i < PQntuples(r); i++) {
        if (o) {
            cJSON_AddItemToArray(a, users_row_json(r, i));
            continue;
        }
        bool disabled = !PQgetisnull(r, i, 5), pw = PQgetvalue(r, i, 3)[0] == 't';
        printf("%6s  %-24s %-10s %-8s %-20s %s\n", PQgetvalue(r, i, 0), PQgetvalue(r, i, 1),
               PQgetvalue(r, i, 2), pw ? "yes" : "no", PQgetvalue(r, i, 4),
               disabled ? PQgetvalue(r, i, 5) : "-");
    }
    PQclear(r);
    if (o)
        cli_print_json(o);
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
    char err[600];
    long long id;
    char actor[96];
    cli_shell_actor(actor, sizeof actor);
    if (users_disable(db, name, actor, &id, err, sizeof err) < 0)
        return cli_refuse("%s", err);
    if (c->json) {
        cJSON *o = cJSON_CreateObject();
        cJSON_AddNumberToObject(o, "id", (double)id);
        cJSON_AddStringToObject(o, "name", name);
        cJSON_AddBoolToObject(o, "disabled", true);
        cli_print_json(o);
    } else
        printf("user %s disabled\n", name);
    return CLI_OK;
}
