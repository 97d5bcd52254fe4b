/* `loa template create` (campaigns/template_store.h) and `loa template preview`
 * (campaigns/preview.h). */
#include "cli/commands.h"
#include "campaigns/preview.h"
#include "campaigns/campaign.h"
#include "campaigns/template_store.h"

#include <cjson/cJSON.h>
#include <getopt.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

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

static void print_created(const struct cli *c, const struct template_variant *a, long long id,
                          bool replaced, bool has_vi, int emoji)
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
        cli_print_json(j);
        return;
    }
    printf("template %s (id %lld, %s): %s variant %s\n", a->name, id, a->channel, a->lang,
           replaced ? "replaced" : "created");
    for (int i = 0; i < nwarn; i++) printf("warning: %s\n", warn[i]);
}

int cmd_template_create(struct cli *c, int argc, char **argv)
{
    const struct cli_command *self = cli_find("template create");
    struct template_variant a = {.lang = "vi"};
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

    char err[2048];
    int emoji;
    char *body = template_file_load(file, zns, &emoji, err, sizeof err);
    if (!body) return cli_refuse("%s", err);
    int rc = CLI_REFUSED;
    PGconn *db = cli_db(c);
    if (!db) goto out;
    long long id;
    bool replaced, has_vi;
    if (template_variant_store(db, &a, body, &id, &replaced, &has_vi, err, sizeof err) < 0) {
        cli_refuse("%s", err);
        goto out;
    }
    print_created(c, &a, id, replaced, has_vi, emoji);
    rc = CLI_OK;
out:
    free(body);
    return rc;
}

static const struct option preview_opts[] = {
    {"citizen", required_argument, NULL, 'c'},
    {"segment", required_argument, NULL, 's'},
    {"gateway", required_argument, NULL, 'g'},
    {"per-phone", required_argument, NULL, 'p'},
    {"json", no_argument, NULL, 'j'},
    {"help", no_argument, NULL, 'h'},
    {NULL, 0, NULL, 0},
};

int cmd_template_preview(struct cli *c, int argc, char **argv)
{
    const struct cli_command *self = cli_find("template preview");
    struct preview_request q = {0};
    int opt;
    optind = 1;
    while ((opt = getopt_long(argc, argv, "", preview_opts, NULL)) != -1) {
        switch (opt) {
        case 'c': q.citizen = optarg; break;
        case 's': q.segment = optarg; break;
        case 'g': q.gateway = optarg; break;
        case 'p':
            if (!campaign_per_phone_valid(optarg))
                return cli_usage(self, "--per-phone takes one or all, not '%s'", optarg);
            q.all_per_phone = strcmp(optarg, "all") == 0;
            break;
        case 'j': c->json = true; break;
        case 'h': cli_print_usage(stdout, self); return CLI_OK;
        default: return cli_usage(self, "unknown option");
        }
    }
    if (optind != argc - 1) return cli_usage(self, "give one template NAME");
    q.name = argv[optind];
    if (q.citizen && strspn(q.citizen, "0123456789") != strlen(q.citizen))
        return cli_usage(self, "--citizen takes a citizen id");
    PGconn *db = cli_db(c);
    if (!db) return CLI_REFUSED;
    struct preview_result *o = malloc(sizeof *o);
    if (!o) return cli_refuse("out of memory");
    char err[2048];
    int rc = template_preview(db, c->cfg, &q, o, err, sizeof err);
    if (rc >= 0) {
        if (c->json) cli_print_json(preview_to_json(q.name, q.segment, o, rc ? err : NULL));
        else preview_print_text(stdout, q.name, q.segment, o);
    }
    free(o);
    return rc ? cli_refuse("%s", err) : CLI_OK;
}
