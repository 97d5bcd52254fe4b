#include "campaigns/users.h"
#include "cli/cli.h"
#include "core/db.h"
#include "core/log.h"

#include <cjson/cJSON.h>
#include <getopt.h>
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

int users_password_hash(const char *password, char out[USERS_HASH_MAX])
{
    return users_password_hash_iter(password, USERS_PBKDF2_ITERATIONS, out);
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
    char err[600], password[USERS_PASSWORD_MAX + 2], hash[USERS_HASH_MAX] = "";
    if (users_password_read(password_file, password, sizeof password, err, sizeof err) < 0)
        return cli_refuse("%s; no user added", err);
    int hrc = password[0] ? users_password_hash(password, hash) : 0;
    OPENSSL_cleanse(password, sizeof password);
    if (hrc < 0)
        return cli_refuse("the random generator failed; no user added");
    PGconn *db = cli_db(c);
    if (!db)
        return CLI_REFUSED;
    char token[USERS_TOKEN_HEX], sha[USERS_TOKEN_HEX];
    if (users_token_new(token, sha) < 0)
        return cli_refuse("the random generator failed; no user added");
    const char *p[4] = {name, role, sha, hash[0] ? hash : NULL};
    PGresult *r = db_query(db, err, sizeof err,
                           "INSERT INTO users (name, role, token_sha256, password_hash) VALUES ($1, $2, $3, $4)"
                           " ON CONFLICT (name) DO NOTHING RETURNING id", 4, p);
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
        cJSON_AddBoolToObject(o, "password", hash[0] != '\0');
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
