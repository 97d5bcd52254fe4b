/* `loa targets import FILE.csv` (campaigns/targets.h). */
#include "cli/commands.h"
#include "campaigns/targets.h"

#include <cjson/cJSON.h>
#include <stdio.h>
#include <string.h>

/* The first twenty rejections are shown; the count says how many there were. */
static void show_reject(void *arg, long line, const char *why)
{
    size_t *n = arg;
    if (++*n <= 20)
        fprintf(stderr, "loa: line %ld rejected: %s\n", line, why);
}

int cmd_targets_import(struct cli *c, int argc, char **argv)
{
    const struct cli_command *cmd = cli_find("targets import");
    const char *path = NULL;
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--json") == 0)
            continue;
        if (path || argv[i][0] == '-')
            return cli_usage(cmd, "unexpected argument %s", argv[i]);
        path = argv[i];
    }
    if (!path)
        return cli_usage(cmd, "a FILE.csv is required");
    PGconn *db = cli_db(c);
    if (!db)
        return CLI_REFUSED;
    char err[600];
    size_t shown = 0;
    struct targets_result r;
    if (targets_import(db, path, show_reject, &shown, &r, err, sizeof err) < 0)
        return cli_refuse("%s", err);
    if (c->json) {
        cJSON *o = cJSON_CreateObject();
        cJSON_AddNumberToObject(o, "imported", (double)r.stored);
        cJSON_AddNumberToObject(o, "rejected", (double)r.rejected);
        cJSON_AddNumberToObject(o, "activity_targets", (double)r.activity);
        cli_print_json(o);
    } else if (r.activity)
        printf("targets: %lld imported, %zu rejected; %lld province activity targets\n", r.stored,
               r.rejected, r.activity);
    else
        printf("targets: %lld imported, %zu rejected\n", r.stored, r.rejected);
    return CLI_OK;
}
