#include "campaigns/users.h"
#include "cli/cli.h"
#include "core/db.h"
#include "core/log.h"

#include <cjson/cJSON.h>
#include <getopt.h>
#include <openssl/evp.h>
#include <openssl/rand.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void to_hex(const unsigned char *b, size_t n, char *out)
{
    static const char hex[] = "0123456789abcdef";
    for (size_t i = 0; i < n; i++) {
        out[2 * i] = hex[b[i] >> 4];
        out[2 * i + 1] = hex[b[i] & 15];
    }
    out[2 * n] = '\0';
}

void users_token_hash(const char *token, char sha[USERS_TOKEN_HEX])
{
    unsigned char md[EVP_MAX_MD_SIZE];
    unsigned int mdlen = 0;
    EVP_Digest(token, strlen(token), md, &mdlen, EVP_sha256(), NULL);
    to_hex(md, mdlen > 32 ? 32 : mdlen, sha);
}

int users_token_new(char token[USERS_TOKEN_HEX], char sha[USERS_TOKEN_HEX])
{
    unsigned char raw[32];
    if (RAND_bytes(raw, sizeof raw) != 1)
        return -1;
    to_hex(raw, sizeof raw, token);
    OPENSSL_cleanse(raw, sizeof raw);
    users_token_hash(token, sha);
    return 0;
}

static bool name_ok(const char *s)
{
    size_t n = strlen(s);
    if (n == 0 || n > 64)
        return false;
    for (; *s; s++)
        if ((unsigned char)*s < 0x21 || *s == 0x7f)
            return false;
    return true;
}

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
        case ':': return cli_usage(cmd, "%s needs a value", argv[optind - 1]);
        default: return cli_usage(cmd, "unknown option %s", argv[optind - 1]);
        }
    }
    if (argc - optind != 1)
        return cli_usage(cmd, "expected one user NAME");
    const char *name = argv[optind];
    if (!name_ok(name))
        return cli_usage(cmd, "a user name is 1 to 64 bytes without spaces or control characters");
    if (!role)
        return cli_usage(cmd, "--role is required");
    if (strcmp(role, "officer") != 0 && strcmp(role, "supervisor") != 0 && strcmp(role, "admin") != 0)
        return cli_usage(cmd, "--role takes officer, supervisor or admin, not '%s'", role);
    PGconn *db = cli_db(c);
    if (!db)
        return CLI_REFUSED;
    char token[USERS_TOKEN_HEX], sha[USERS_TOKEN_HEX], err[600];
    if (users_token_new(token, sha) < 0)
        return cli_refuse("the random generator failed; no user added");
    const char *p[3] = {name, role, sha};
    PGresult *r = db_query(db, err, sizeof err,
                           "INSERT INTO users (name, role, token_sha256) VALUES ($1, $2, $3)"
                           " ON CONFLICT (name) DO NOTHING RETURNING id", 3, p);
    if (!r)
        return cli_refuse("%s", err);
    int added = PQntuples(r) == 1;
    char id[24] = "";
    if (added)
        snprintf(id, sizeof id, "%s", PQgetvalue(r, 0, 0));
    PQclear(r);
    if (!added)
        return cli_refuse("a user named '%s' already exists", name);
    log_info("event=user_added id=%s role=%s", id, role);
    if (c->json) {
        cJSON *o = cJSON_CreateObject();
        cJSON_AddNumberToObject(o, "id", (double)strtoll(id, NULL, 10));
        cJSON_AddStringToObject(o, "name", name);
        cJSON_AddStringToObject(o, "role", role);
        cJSON_AddStringToObject(o, "token", token);
        char *s = cJSON_PrintUnformatted(o);
        puts(s);
        free(s);
        cJSON_Delete(o);
    } else
        printf("user %s added with role %s\ntoken (shown only now; keep it safe): %s\n", name,
               role, token);
    OPENSSL_cleanse(token, sizeof token);
    return CLI_OK;
}
