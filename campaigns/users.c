#include "campaigns/users.h"
#include "core/db.h"
#include "core/log.h"

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

bool users_name_ok(const char *s)
{
    size_t n = strlen(s);
    if (n == 0 || n > 64)
        return false;
    for (; *s; s++)
        if ((unsigned char)*s < 0x21 || *s == 0x7f)
            return false;
    return true;
}

bool users_role_ok(const char *role)
{
    return strcmp(role, "officer") == 0 || strcmp(role, "supervisor") == 0 || strcmp(role, "admin") == 0;
}

int users_add(PGconn *db, const char *name, const char *role, char token[USERS_TOKEN_HEX],
              long long *id, char *err, size_t errlen)
{
    char sha[USERS_TOKEN_HEX];
    if (users_token_new(token, sha) < 0) {
        snprintf(err, errlen, "the random generator failed; no user added");
        return -1;
    }
    const char *p[3] = {name, role, sha};
    PGresult *r = db_query(db, err, errlen,
                           "INSERT INTO users (name, role, token_sha256) VALUES ($1, $2, $3)"
                           " ON CONFLICT (name) DO NOTHING RETURNING id", 3, p);
    if (!r)
        goto fail;
    int added = PQntuples(r) == 1;
    if (added)
        *id = strtoll(PQgetvalue(r, 0, 0), NULL, 10);
    PQclear(r);
    if (!added) {
        snprintf(err, errlen, "a user named '%s' already exists", name);
        goto fail;
    }
    log_info("event=user_added id=%lld role=%s", *id, role);
    return 0;
fail:
    OPENSSL_cleanse(token, USERS_TOKEN_HEX);
    return -1;
}
