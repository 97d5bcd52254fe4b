/* `loa user add` (campaigns/users.h). */
#include "cli/commands.h"
#include "campaigns/users.h"

#include <cjson/cJSON.h>
#include <getopt.h>
#include <openssl/crypto.h>
#include <stdio.h>
#include <string.h>

int cmd_user_add(struct cli *c, int argc, char **argv)
{
    const struct cli_command *cmd = cli_find("user add");
    static const struct option opts[] = {
        {"role", required_argument, NULL, 'r'}, {"json", no_argument, NULL, 'j'}, {NULL, 0, NULL, 0}};
    const char *role = NULL;
    opterr = 0;
    int ch;
    while ((ch = getopt_long(argc, argv, ":", opts, NULL)) != -1) {
        switch (ch) {
        case 'r': role = optarg; break;
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
    PGconn *db = cli_db(c);
    if (!db)
        return CLI_REFUSED;
    char token[USERS_TOKEN_HEX], err[600];
    long long id;
    if (users_add(db, name, role, token, &id, err, sizeof err) < 0)
        return cli_refuse("%s", err);
    if (c->json) {
        cJSON *o = cJSON_CreateObject();
        cJSON_AddNumberToObject(o, "id", (double)id);
        cJSON_AddStringToObject(o, "name", name);
        cJSON_AddStringToObject(o, "role", role);
        cJSON_AddStringToObject(o, "token", token);
        cli_print_json(o);
    } else
        printf("user %s added with role %s\ntoken (shown only now; keep it safe): %s\n", name,
               role, token);
    OPENSSL_cleanse(token, sizeof token);
    return CLI_OK;
}
