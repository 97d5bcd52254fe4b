/* `loa template create`: templates and their language variants (template_cmd.h). */
#include "campaigns/template_cmd.h"

#include <cjson/cJSON.h>
#include <errno.h>
#include <getopt.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <utf8proc.h>

#include "campaigns/template.h"
#include "cli/cli.h"
#include "core/db.h"

enum { TEMPLATE_FILE_MAX = 65536 };

static const struct option create_opts[] = {
    {"channel", required_argument, NULL, 'c'},
    {"file", required_argument, NULL, 'f'},
    {"lang", required_argument, NULL, 'l'},
    {"unaccent", no_argument, NULL, 'u'},
    {"zns-template-id", required_argument, NULL, 'z'},
    {"json", no_argument, NULL, 'j'},
    {"help", no_argument, NULL, 'h'},
    {NULL, 0, NULL, 0},
};

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

struct create_args {
    const char *name, *channel, *lang, *zns_id;
    bool unaccent;
};

/* Stores the variant in one transaction. Sets *ID, *REPLACED and *HAS_VI. */
static int store_variant(PGconn *db, const struct create_args *a, const char *body, long long *id,
                         bool *replaced, bool *has_vi, char *err, size_t errlen)
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

static void print_result(const struct cli *c, const struct create_args *a, long long id, bool replaced,
                         bool has_vi, int emoji)
{
    char warn[2][200];
    int nwarn = 0;
    if (emoji > 0)
        snprintf(warn[nwarn++], sizeof warn[0], "%d emoji: each forces UCS-2 (70/67 a part) and counts 2 units", emoji);
    if (!has_vi)
        snprintf(warn[nwarn++], sizeof warn[0], "no vi variant yet: no campaign can use this template until one is created");
    if (c->json) {
        cJSON *j = cJSON_CreateObject();
        cJSON_AddNumberToObject(j, "id", (double)id);
        cJSON_AddStringToObject(j, "name", a->name);
        cJSON_AddStringToObject(j, "channel", a->channel);
        cJSON_AddStringToObject(j, "language", a->lang);
        cJSON_AddBoolToObject(j, "replaced", replaced);
        cJSON_AddBoolToObject(j, "usable", has_vi);
        cJSON *w = cJSON_AddArrayToObject(j, "warnings");
        for (int i = 0; i < nwarn; i++) cJSON_AddItemToArray(w, cJSON_CreateString(warn[i]));
        char *s = cJSON_PrintUnformatted(j);
        puts(s);
        free(s);
        cJSON_Delete(j);
        return;
    }
    printf("template %s (id %lld, %s): %s variant %s\n", a->name, id, a->channel, a->lang,
           replaced ? "replaced" : "created");
    for (int i = 0; i < nwarn; i++) printf("warning: %s\n", warn[i]);
}

int cmd_template_create(struct cli *c, int argc, char **argv)
{
    const struct cli_command *self = cli_find("template create");
    struct create_args a = {.lang = "vi"};
    const char *file = NULL;
    int opt;
    optind = 1;
    while ((opt = getopt_long(argc, argv, "", create_opts, NULL)) != -1) {
        switch (opt) {
        case 'c': a.channel = optarg; break;
        case 'f': file = optarg; break;
        case 'l': a.lang = optarg; break;
        case 'u': a.unaccent = true; break;
        case 'z': a.zns_id = optarg; break;
        case 'j': c->json = true; break;
        case 'h': cli_print_usage(stdout, self); return CLI_OK;
        default: return cli_usage(self, "unknown option");
        }
    }
    if (optind != argc - 1 || !file || !a.channel)
        return cli_usage(self, "give one NAME, --channel and --file");
    a.name = argv[optind];
    bool zns = strcmp(a.channel, "zns") == 0;
    if (!zns && strcmp(a.channel, "sms") != 0) return cli_usage(self, "--channel is sms or zns");
    if (zns && a.unaccent) return cli_usage(self, "--unaccent is for SMS templates");
    if (!zns && a.zns_id) return cli_usage(self, "--zns-template-id is for zns templates");
    if (strlen(a.name) < 1 || strlen(a.name) > 100) return cli_refuse("a template name is 1 to 100 characters");
    if (a.zns_id && (strlen(a.zns_id) < 1 || strlen(a.zns_id) > 63)) return cli_refuse("--zns-template-id is 1 to 63 characters");

    char err[1024];
    char *body = template_file_read(file, err, sizeof err);
    if (!body) return cli_refuse("%s", err);
    int emoji, rc = CLI_REFUSED;
    utf8proc_uint8_t *nfc = NULL;
    if (check_body(body, zns, &emoji, err, sizeof err) < 0) {
        cli_refuse("%s: %s", file, err);
        goto out;
    }
    /* Stored composed (NFC), as it was compiled, so that what the database holds is what is sent. */
    nfc = utf8proc_NFC((const utf8proc_uint8_t *)body);
    if (!nfc) { cli_refuse("out of memory"); goto out; }
    PGconn *db = cli_db(c);
    if (!db) goto out;
    long long id;
    bool replaced, has_vi;
    if (store_variant(db, &a, (const char *)nfc, &id, &replaced, &has_vi, err, sizeof err) < 0) {
        cli_refuse("%s", err);
        goto out;
    }
    print_result(c, &a, id, replaced, has_vi, emoji);
    rc = CLI_OK;
out:
    free(nfc);
    free(body);
    return rc;
}
