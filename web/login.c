/* Logging in to the dashboard: name and password → a session cookie.
 *
 *   api_login            parse {"name","password"}; look the user up
 *   login_found          hand the slow PBKDF2 check to libuv's thread pool (the loop goes on)
 *   login_checked        back on the loop: wrong → 401; right → store the session (its SHA-256)
 *                        and the audit row in one statement
 *   login_stored         answer with the cookie
 *
 * An unknown name costs the same check against a fixed hash, so the answer's time does not
 * tell which names exist. */
#include "web/api.h"
#include "campaigns/users.h"
#include "core/config.h"
#include "core/log.h"

#include <openssl/crypto.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* How long a session lasts: [http] session_hours (a working day by default, so a supervisor
 * logs in once a day). */
static long session_seconds(const struct api_call *c)
{
    return config_int(c->w->cfg, "http", "session_hours") * 3600;
}

/* A valid hash of no password anyone can type (zero salt, zero key), as slow to check as a
 * new password's ([http] password_iterations). */
static void dummy_hash(const struct config *cfg, char out[USERS_HASH_MAX])
{
    snprintf(out, USERS_HASH_MAX, "pbkdf2-sha256$%ld$00000000000000000000000000000000$"
             "0000000000000000000000000000000000000000000000000000000000000000",
             config_int(cfg, "http", "password_iterations"));
}

struct login {
    uv_work_t work;
    struct api_call *c;
    char password[USERS_PASSWORD_MAX + 1];
    char hash[USERS_HASH_MAX];
    bool exists, ok;
    char token[USERS_TOKEN_HEX];
};

static void login_verify(uv_work_t *w)
{
    struct login *l = w->data;
    l->ok = users_password_verify(l->password, l->hash) && l->exists;
}

static void login_stored(struct api_call *c, const PGresult *r)
{
    struct login *l = c->data;
    char cookie[256];
    snprintf(cookie, sizeof cookie, "loa_session=%s; Path=/; HttpOnly; SameSite=Strict; Max-Age=%ld",
             l->token, session_seconds(c));
    OPENSSL_cleanse(l->token, sizeof l->token);
    http_reply_header(c->req, "Set-Cookie", cookie);
    log_info("event=login user=%s", c->user.id);
    cJSON *o = cJSON_CreateObject();
    cJSON_AddNumberToObject(o, "id", (double)strtoll(c->user.id, NULL, 10));
    cJSON_AddStringToObject(o, "name", c->user.name);
    cJSON_AddStringToObject(o, "role", PQgetvalue(r, 0, 0));
    cJSON_AddStringToObject(o, "expires_at", PQgetvalue(r, 0, 1));
    api_reply(c, 200, o);
}

static void login_checked(uv_work_t *w, int status)
{
    struct login *l = w->data;
    struct api_call *c = l->c;
    OPENSSL_cleanse(l->password, sizeof l->password);
    if (status != 0 || !l->ok) {
        api_error(c, 401, "wrong name or password");
        return;
    }
    char sha[USERS_TOKEN_HEX], secs[16];
    if (users_token_new(l->token, sha) < 0) {
        api_error(c, 500, "the random generator failed");
        return;
    }
    snprintf(secs, sizeof secs, "%ld", session_seconds(c));
    const char *p[4] = {sha, c->user.id, secs, c->user.name};
    api_query(c,
              "WITH gone AS (DELETE FROM sessions WHERE expires_at < now()),"
              " s AS (INSERT INTO sessions (token_sha256, user_id, expires_at)"
              "   VALUES ($1, $2::bigint, now() + $3::int * interval '1 second') RETURNING user_id, expires_at),"
              " a AS (INSERT INTO audit (user_id, user_name, action, object)"
              "   SELECT user_id, $4, 'login', 'user:' || user_id FROM s)"
              " SELECT u.role, to_char(s.expires_at AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"')"
              " FROM s JOIN users u ON u.id = s.user_id",
              4, p, login_stored);
}

static void login_found(struct api_call *c, const PGresult *r)
{
    struct login *l = c->data;
    l->exists = PQntuples(r) == 1 && !PQgetisnull(r, 0, 2);
    if (l->exists) {
        snprintf(c->user.id, sizeof c->user.id, "%s", PQgetvalue(r, 0, 0));
        snprintf(c->user.name, sizeof c->user.name, "%s", PQgetvalue(r, 0, 1));
        snprintf(l->hash, sizeof l->hash, "%s", PQgetvalue(r, 0, 2));
    } else
        dummy_hash(c->w->cfg, l->hash);
    l->work.data = l;
    if (uv_queue_work(c->w->loop, &l->work, login_verify, login_checked) != 0) {
        OPENSSL_cleanse(l->password, sizeof l->password);
        api_error(c, 503, "cannot check the password now");
    }
}

void api_login(struct api_call *c)
{
    cJSON *b = api_body_object(c);
    if (!b)
        return;
    const char *name = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(b, "name"));
    const char *password = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(b, "password"));
    if (!name || !password || !*name || strlen(name) > 64 || strlen(password) > USERS_PASSWORD_MAX) {
        cJSON_Delete(b);
        api_error(c, 400, "give \"name\" (1 to 64 bytes) and \"password\" (at most %d bytes)", USERS_PASSWORD_MAX);
        return;
    }
    struct login *l = calloc(1, sizeof *l);
    if (!l)
        abort();
    l->c = c;
    c->data = l;
    snprintf(l->password, sizeof l->password, "%s", password);
    OPENSSL_cleanse((void *)password, strlen(password));
    const char *p[1] = {name};
    api_query(c, "SELECT id, name, password_hash FROM users WHERE name = $1 AND disabled_at IS NULL",
              1, p, login_found);
    cJSON_Delete(b);
}

static void logged_out(struct api_call *c, const PGresult *r)
{
    http_reply_header(c->req, "Set-Cookie", "loa_session=; Path=/; HttpOnly; SameSite=Strict; Max-Age=0");
    cJSON *o = cJSON_CreateObject();
    cJSON_AddBoolToObject(o, "logged_out", true);
    api_reply(c, 200, o);
}

void api_logout(struct api_call *c)
{
    /* A bearer token has no session to end: the answer says so, and nothing changes. */
    if (!c->user.session[0]) {
        api_error(c, 400, "a bearer token is not a session; disable the user to revoke it");
        return;
    }
    const char *p[3] = {c->user.session, c->user.id, c->user.name};
    api_query(c,
              "WITH s AS (DELETE FROM sessions WHERE token_sha256 = $1 RETURNING user_id)"
              " INSERT INTO audit (user_id, user_name, action, object)"
              " SELECT $2::bigint, $3, 'logout', 'user:' || $2 FROM s",
              3, p, logged_out);
}
