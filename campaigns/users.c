#include "campaigns/users.h"
#include "core/db.h"
#include "core/log.h"

#include <cjson/cJSON.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/rand.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <termios.h>
#include <unistd.h>

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

/* ---- passwords ---- */

int users_password_hash_iter(const char *password, int iterations, char out[USERS_HASH_MAX])
{
    unsigned char salt[16], key[32];
    if (RAND_bytes(salt, sizeof salt) != 1)
        return -1;
    if (PKCS5_PBKDF2_HMAC(password, (int)strlen(password), salt, sizeof salt, iterations, EVP_sha256(),
                          sizeof key, key) != 1)
        return -1;
    char salthex[33], keyhex[65];
    to_hex(salt, sizeof salt, salthex);
    to_hex(key, sizeof key, keyhex);
    OPENSSL_cleanse(key, sizeof key);
    snprintf(out, USERS_HASH_MAX, "pbkdf2-sha256$%d$%s$%s", iterations, salthex, keyhex);
    return 0;
}

static int from_hex(const char *s, size_t n, unsigned char *out)
{
    for (size_t i = 0; i < n; i++) {
        unsigned v = 0;
        for (int j = 0; j < 2; j++) {
            char ch = s[2 * i + j];
            v <<= 4;
            if (ch >= '0' && ch <= '9') v |= (unsigned)(ch - '0');
            else if (ch >= 'a' && ch <= 'f') v |= (unsigned)(ch - 'a' + 10);
            else return -1;
        }
        out[i] = (unsigned char)v;
    }
    return 0;
}

bool users_password_verify(const char *password, const char *stored)
{
    static const char scheme[] = "pbkdf2-sha256$";
    if (!password || !stored || strncmp(stored, scheme, sizeof scheme - 1) != 0)
        return false;
    char *end;
    const char *digits = stored + sizeof scheme - 1;
    long iter = strtol(digits, &end, 10);
    /* At most ten million: a forged hash must not make one login take minutes. */
    if (end == digits || *end != '$' || iter < 1 || iter > 10000000)
        return false;
    const char *salthex = end + 1, *dollar = strchr(salthex, '$');
    if (!dollar || dollar - salthex != 32 || strlen(dollar + 1) != 64)
        return false;
    unsigned char salt[16], want[32], got[32];
    if (from_hex(salthex, 16, salt) < 0 || from_hex(dollar + 1, 32, want) < 0)
        return false;
    if (PKCS5_PBKDF2_HMAC(password, (int)strlen(password), salt, sizeof salt, (int)iter, EVP_sha256(),
                          sizeof got, got) != 1)
        return false;
    bool ok = CRYPTO_memcmp(got, want, sizeof got) == 0;
    OPENSSL_cleanse(got, sizeof got);
    return ok;
}

static void chomp(char *s)
{
    s[strcspn(s, "\r\n")] = '\0';
}

/* One line from the terminal with echo off. */
static int prompt_line(const char *what, char *buf, size_t len)
{
    struct termios old, quiet;
    if (tcgetattr(STDIN_FILENO, &old) < 0)
        return -1;
    quiet = old;
    quiet.c_lflag &= ~(tcflag_t)ECHO;
    fprintf(stderr, "%s: ", what);
    fflush(stderr);
    tcsetattr(STDIN_FILENO, TCSAFLUSH, &quiet);
    char *got = fgets(buf, (int)len, stdin);
    tcsetattr(STDIN_FILENO, TCSAFLUSH, &old);
    fputc('\n', stderr);
    if (!got)
        return -1;
    chomp(buf);
    return 0;
}

int users_password_read(const char *path, char *buf, size_t len, char *err, size_t errlen)
{
    buf[0] = '\0';
    if (path) {
        FILE *f = fopen(path, "r");
        if (!f) {
            snprintf(err, errlen, "cannot read the password file %s: %m", path);
            return -1;
        }
        if (!fgets(buf, (int)len, f))
            buf[0] = '\0';
        fclose(f);
        chomp(buf);
    } else if (isatty(STDIN_FILENO) && isatty(STDERR_FILENO)) {
        char again[USERS_PASSWORD_MAX + 2];
        if (prompt_line("password for the dashboard", buf, len) < 0 ||
            prompt_line("the same password again", again, sizeof again) < 0) {
            snprintf(err, errlen, "no password read");
            return -1;
        }
        bool same = strcmp(buf, again) == 0;
        OPENSSL_cleanse(again, sizeof again);
        if (!same) {
            OPENSSL_cleanse(buf, len);
            snprintf(err, errlen, "the two passwords differ");
            return -1;
        }
    } else
        return 0;
    if (strlen(buf) < 8 || strlen(buf) > USERS_PASSWORD_MAX) {
        OPENSSL_cleanse(buf, len);
        snprintf(err, errlen, "a password holds 8 to %d bytes", USERS_PASSWORD_MAX);
        return -1;
    }
    return 0;
}

/* ---- users ---- */

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

int users_add(PGconn *db, const char *name, const char *role, const char *password_hash, const char *actor,
              char token[USERS_TOKEN_HEX], long long *id, char *err, size_t errlen)
{
    char sha[USERS_TOKEN_HEX];
    if (users_token_new(token, sha) < 0) {
        snprintf(err, errlen, "the random generator failed; no user added");
        return -1;
    }
    const char *p[5] = {name, role, sha, password_hash && *password_hash ? password_hash : NULL, actor};
    /* The audit row in the same statement: no user without it. */
    PGresult *r = db_query(db, err, errlen,
                           "WITH u AS (INSERT INTO users (name, role, token_sha256, password_hash)"
                           "   VALUES ($1, $2, $3, $4) ON CONFLICT (name) DO NOTHING RETURNING id, name, role),"
                           " a AS (INSERT INTO audit (user_name, action, object, detail)"
                           "   SELECT $5, 'user.add', 'user:' || u.id,"
                           "          jsonb_build_object('name', u.name, 'role', u.role, 'password', $4::text IS NOT NULL)"
                           "     FROM u)"
                           " SELECT id FROM u", 5, p);
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

int users_disable(PGconn *db, const char *name, const char *actor, long long *id, char *err, size_t errlen)
{
    const char *p[2] = {name, actor};
    /* The sessions go in the same statement: a browser logged in as the user is refused from
     * its next request on. */
    PGresult *r = db_query(db, err, errlen,
                           "WITH u AS (UPDATE users SET disabled_at = now()"
                           "   WHERE name = $1 AND disabled_at IS NULL RETURNING id, name, role),"
                           " s AS (DELETE FROM sessions WHERE user_id IN (SELECT id FROM u)),"
                           " a AS (INSERT INTO audit (user_name, action, object, detail)"
                           "   SELECT $2, 'user.disable', 'user:' || u.id, jsonb_build_object('name', u.name, 'role', u.role)"
                           "     FROM u)"
                           " SELECT id FROM u", 2, p);
    if (!r)
        return -1;
    int n = PQntuples(r);
    if (n == 1)
        *id = strtoll(PQgetvalue(r, 0, 0), NULL, 10);
    PQclear(r);
    if (n == 1) {
        log_info("event=user_disabled id=%lld", *id);
        return 0;
    }
    r = db_query(db, err, errlen, "SELECT 1 FROM users WHERE name = $1", 1, (const char *[]){name});
    if (!r)
        return -1;
    int exists = PQntuples(r);
    PQclear(r);
    if (exists)
        snprintf(err, errlen, "user '%s' is already disabled", name);
    else
        snprintf(err, errlen, "no user '%s' (`loa user list`)", name);
    return -1;
}

cJSON *users_row_json(const PGresult *r, int i)
{
    cJSON *x = cJSON_CreateObject();
    cJSON_AddNumberToObject(x, "id", (double)strtoll(PQgetvalue(r, i, 0), NULL, 10));
    cJSON_AddStringToObject(x, "name", PQgetvalue(r, i, 1));
    cJSON_AddStringToObject(x, "role", PQgetvalue(r, i, 2));
    cJSON_AddBoolToObject(x, "password", PQgetvalue(r, i, 3)[0] == 't');
    cJSON_AddStringToObject(x, "created_at", PQgetvalue(r, i, 4));
    if (PQgetisnull(r, i, 5))
        cJSON_AddNullToObject(x, "disabled_at");
    else
        cJSON_AddStringToObject(x, "disabled_at", PQgetvalue(r, i, 5));
    return x;
}
