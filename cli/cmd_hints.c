#include "cli/cmd_hints.h"
#include "campaigns/template.h"
#include "core/db.h"
#include "core/utf8.h"

#include <cjson/cJSON.h>
#include <getopt.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* The table's own limit (sql/009_opt_out_hints.sql). */
enum { ERRLEN = 600, HINT_MAX = 160 };

int cmd_hints_list(struct cli *c, int argc, char **argv)
{
    const struct cli_command *cmd = cli_find("hints list");
    int rc = cli_positional(cmd, argc, argv, NULL, 0, "no argument");
    if (rc)
        return rc;
    PGconn *db = cli_db(c);
    if (!db)
        return CLI_REFUSED;
    char err[ERRLEN];
    PGresult *r = db_query(db, err, sizeof err,
                           "SELECT l.code, coalesce(h.hint, ''), coalesce(h.provisional, false), coalesce(h.note, ''),"
                           "  h.language IS NOT NULL FROM languages l LEFT JOIN opt_out_hints h ON h.language = l.code"
                           " ORDER BY l.code <> 'vi', l.code", 0, NULL);
    if (!r)
        return cli_refuse("%s", err);
    if (c->json) {
        cJSON *o = cJSON_CreateObject(), *a = cJSON_AddArrayToObject(o, "hints");
        for (int i = 0; i < PQntuples(r); i++) {
            cJSON *x = cJSON_CreateObject();
            cJSON_AddStringToObject(x, "language", PQgetvalue(r, i, 0));
            if (PQgetvalue(r, i, 4)[0] == 't')
                cJSON_AddStringToObject(x, "hint", PQgetvalue(r, i, 1));
            else
                cJSON_AddNullToObject(x, "hint");
            cJSON_AddBoolToObject(x, "provisional", PQgetvalue(r, i, 2)[0] == 't');
            cJSON_AddStringToObject(x, "note", PQgetvalue(r, i, 3));
            cJSON_AddItemToArray(a, x);
        }
        cli_print_json(o);
    } else
        for (int i = 0; i < PQntuples(r); i++) {
            bool has = PQgetvalue(r, i, 4)[0] == 't', prov = PQgetvalue(r, i, 2)[0] == 't';
            printf("%-4s %s%s\n", PQgetvalue(r, i, 0), has ? PQgetvalue(r, i, 1) : "(none: the vi hint is used)",
                   prov ? "  [provisional: a stand-in until the province writes it; `loa hints set`]" : "");
        }
    PQclear(r);
    return CLI_OK;
}

int cmd_hints_set(struct cli *c, int argc, char **argv)
{
    const struct cli_command *cmd = cli_find("hints set");
    static const struct option opts[] = {
        {"provisional", no_argument, NULL, 'p'}, {"note", required_argument, NULL, 'n'},
        {"json", no_argument, NULL, 'j'},        {NULL, 0, NULL, 0}};
    bool provisional = false;
    const char *note = NULL;
    opterr = 0;
    int ch;
    while ((ch = getopt_long(argc, argv, ":", opts, NULL)) != -1) {
        switch (ch) {
        case 'p': provisional = true; break;
        case 'n': note = optarg; break;
        case 'j': break;
        default: return cli_bad_option(cmd, ch, argv);
        }
    }
    if (argc - optind != 2)
        return cli_usage(cmd, "expected a LANGUAGE code and the hint's TEXT (quoted)");
    const char *lang = argv[optind], *text = argv[optind + 1];
    size_t len = strlen(text);
    if (len == 0 || len > HINT_MAX || !utf8_valid(text, len))
        return cli_usage(cmd, "the hint is 1 to %d bytes of UTF-8 text", HINT_MAX);
    if (strstr(text, "opt_out_hint"))
        return cli_usage(cmd, "a hint cannot name {{opt_out_hint}}, itself");
    /* Compiled as a campaign will compile it: an unknown placeholder is refused now. */
    char why[256];
    struct template *t = template_compile(text, why, sizeof why);
    if (!t)
        return cli_refuse("the hint does not compile: %s", why);
    template_free(t);
    PGconn *db = cli_db(c);
    if (!db)
        return CLI_REFUSED;
    char err[ERRLEN];
    const char *p[4] = {lang, text, provisional ? "t" : "f", note};
    PGresult *r = db_query(db, err, sizeof err,
                           "INSERT INTO opt_out_hints (language, hint, provisional, note)"
                           " SELECT l.code, $2, $3::boolean, $4 FROM languages l WHERE l.code = $1"
                           " ON CONFLICT (language) DO UPDATE SET hint = EXCLUDED.hint,"
                           "  provisional = EXCLUDED.provisional, note = coalesce(EXCLUDED.note, opt_out_hints.note)"
                           " RETURNING (xmax = 0)", 4, p);
    if (!r)
        return cli_refuse("%s", err);
    int n = PQntuples(r);
    bool added = n == 1 && strcmp(PQgetvalue(r, 0, 0), "t") == 0;
    PQclear(r);
    if (n == 0)
        return cli_refuse("no language '%s' (the languages table: vi, km, bdq, jra, …)", lang);
    if (c->json) {
        cJSON *o = cJSON_CreateObject();
        cJSON_AddStringToObject(o, "language", lang);
        cJSON_AddStringToObject(o, "hint", text);
        cJSON_AddBoolToObject(o, "provisional", provisional);
        cJSON_AddBoolToObject(o, "added", added);
        cli_print_json(o);
    } else
        printf("hint of %s %s%s\n", lang, added ? "added" : "changed", provisional ? " (provisional)" : "");
    return CLI_OK;
}
