/* Templates and their language variants as `loa template create` stores them (template_store.h). */
#include "campaigns/template_store.h"

#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <utf8proc.h>

#include "campaigns/template.h"
#include "core/db.h"

enum { TEMPLATE_FILE_MAX = 65536 };

/* Reads the template file. An editor's BOM and final line break are not part of the message. */
static char *template_file_read(const char *path, char *err, size_t errlen)
{
    FILE *f = fopen(path, "rb");
    if (!f) {
        snprintf(err, errlen, "%s: %s", path, strerror(errno));
        return NULL;
    }
    char *buf = malloc(TEMPLATE_FILE_MAX + 2);
    size_t len = buf ? fread(buf, 1, TEMPLATE_FILE_MAX + 1, f) : 0;
    int bad = !buf || ferror(f);
    fclose(f);
    if (bad || len > TEMPLATE_FILE_MAX || memchr(buf, '\0', len)) {
        snprintf(err, errlen, "%s: %s", path, bad ? "cannot read it" : len > TEMPLATE_FILE_MAX ?
                 "larger than 64 KB" : "not a text file");
        free(buf);
        return NULL;
    }
    while (len > 0 && (buf[len - 1] == '\n' || buf[len - 1] == '\r')) len--;
    buf[len] = '\0';
    if (len >= 3 && memcmp(buf, "\xef\xbb\xbf", 3) == 0) memmove(buf, buf + 3, len - 2);
    return buf;
}

/* Compiles BODY for CHANNEL to check it; counts its emoji. 0, or -1 with ERR. */
static int check_body(const char *body, bool zns, int *emoji, char *err, size_t errlen)
{
    *emoji = 0;
    if (zns) {
        struct tpl_zns_param *ps;
        int n;
        if (template_zns_compile(body, &ps, &n, err, errlen) < 0) return -1;
        template_zns_free(ps, n);
        return 0;
    }
    struct template *t = template_compile(body, err, errlen);
    if (!t) return -1;
    *emoji = template_emoji_count(t);
    template_free(t);
    return 0;
}

char *template_file_load(const char *path, bool zns, int *emoji, char *err, size_t errlen)
{
    char why[1024];
    char *body = template_file_read(path, err, errlen);
    if (!body)
        return NULL;
    utf8proc_uint8_t *nfc = NULL;
    if (check_body(body, zns, emoji, why, sizeof why) < 0)
        snprintf(err, errlen, "%s: %s", path, why);
    /* Stored composed (NFC), as it was compiled, so that what the database holds is what is sent. */
    else if (!(nfc = utf8proc_NFC((const utf8proc_uint8_t *)body)))
        snprintf(err, errlen, "out of memory");
    free(body);
    return (char *)nfc;
}

int template_variant_store(PGconn *db, const struct template_variant *a, const char *body,
                           long long *id, bool *replaced, bool *has_vi, char *err, size_t errlen)
{
    if (db_begin(db, err, errlen) < 0) return -1;
    const char *p1[1] = {a->lang};
    PGresult *r = db_query(db, err, errlen, "SELECT 1 FROM languages WHERE code = $1", 1, p1);
    if (!r) goto fail;
    int known = PQntuples(r) == 1;
    PQclear(r);
    if (!known) {
        snprintf(err, errlen, "unknown language '%s' (see the languages table: vi, km, bdq, jra)", a->lang);
        goto fail;
    }
    const char *p2[4] = {a->name, a->channel, a->unaccent ? "true" : "false", a->zns_id};
    /* The template-level settings follow the vi variant, which every citizen falls back to. */
    r = db_query(db, err, errlen,
                 "INSERT INTO templates (name, channel, unaccent, zns_template_id) VALUES ($1, $2, $3, $4)"
                 " ON CONFLICT (name) DO UPDATE SET updated_at = now() RETURNING id, channel, zns_template_id",
                 4, p2);
    if (!r) goto fail;
    *id = strtoll(PQgetvalue(r, 0, 0), NULL, 10);
    bool same_channel = strcmp(PQgetvalue(r, 0, 1), a->channel) == 0;
    char existing[32];
    snprintf(existing, sizeof existing, "%s", PQgetvalue(r, 0, 1));
    bool have_zns_id = !PQgetisnull(r, 0, 2);
    PQclear(r);
    if (!same_channel) {
        snprintf(err, errlen, "template %s has channel %s; its variants must be %s too", a->name,
                 existing, existing);
        goto fail;
    }
    if (strcmp(a->channel, "zns") == 0 && !a->zns_id && !have_zns_id) {
        snprintf(err, errlen, "a zns template needs --zns-template-id (the id Zalo approved)");
        goto fail;
    }
    char idtext[24];
    snprintf(idtext, sizeof idtext, "%lld", *id);
    if (strcmp(a->lang, "vi") == 0) {
        const char *p3[3] = {idtext, a->unaccent ? "true" : "false", a->zns_id};
        if (db_exec(db, err, errlen,
                    "UPDATE templates SET unaccent = $2, zns_template_id = coalesce($3, zns_template_id)"
                    " WHERE id = $1", 3, p3) < 0)
            goto fail;
    }
    const char *p4[5] = {idtext, a->lang, body, a->unaccent ? "true" : "false", a->zns_id};
    r = db_query(db, err, errlen,
                 "INSERT INTO template_variants (template_id, language, body, unaccent, zns_template_id)"
                 " VALUES ($1, $2, $3, $4, $5) ON CONFLICT (template_id, language) DO UPDATE"
                 " SET body = EXCLUDED.body, unaccent = EXCLUDED.unaccent,"
                 "     zns_template_id = EXCLUDED.zns_template_id, updated_at = now()"
                 " RETURNING (xmax <> 0),"
                 "   EXISTS (SELECT 1 FROM template_variants WHERE template_id = $1 AND language = 'vi')"
                 "   OR $2 = 'vi'",
                 5, p4);
    if (!r) goto fail;
    *replaced = PQgetvalue(r, 0, 0)[0] == 't';
    *has_vi = PQgetvalue(r, 0, 1)[0] == 't';
    PQclear(r);
    return db_commit(db, err, errlen);
fail:
    db_rollback(db);
    return -1;
}

