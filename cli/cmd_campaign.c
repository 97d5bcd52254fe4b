/* `loa campaign create|approve|start|pause|resume|cancel` (campaigns/lifecycle.h) and
 * `loa campaign show|list` (campaigns/stats.h). */
#include "cli/commands.h"
#include "cli/cmd_gateway.h"
#include "campaigns/archive.h"
#include "campaigns/campaign.h"
#include "campaigns/lifecycle.h"
#include "campaigns/stats.h"
#include "core/config.h"

#include <cjson/cJSON.h>
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

enum { ERRLEN = 600 };

/* The line (or JSON object) every lifecycle command ends with. ESTIMATES (may be NULL) is added
 * to the JSON object and then deleted. */
static void print_result(const struct cli *c, int64_t id, const char *name, const char *status,
                         const char *extra_key, long long extra, cJSON *estimates)
{
    if (c->json) {
        cJSON *o = cJSON_CreateObject();
        cJSON_AddNumberToObject(o, "id", (double)id);
        cJSON_AddStringToObject(o, "name", name);
        cJSON_AddStringToObject(o, "status", status);
        if (extra_key)
            cJSON_AddNumberToObject(o, extra_key, (double)extra);
        if (estimates) {
            cJSON_AddItemToObject(o, "estimate", estimates);
            estimates = NULL;
        }
        cli_print_json(o);
    } else {
        printf("campaign %" PRId64 " '%s': %s", id, name, status);
        if (extra_key)
            printf(" (%s: %lld)", extra_key, extra);
        putchar('\n');
    }
    cJSON_Delete(estimates);
}

static long long number(const cJSON *o, const char *key)
{
    return (long long)cJSON_GetNumberValue(cJSON_GetObjectItemCaseSensitive(o, key));
}

static const char *string(const cJSON *o, const char *key)
{
    const char *s = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(o, key));
    return s ? s : "";
}

/* The cost of each channel step (struct campaign_change), one line each. */
static void print_estimates(const cJSON *estimates)
{
    const cJSON *e;
    cJSON_ArrayForEach(e, estimates) {
        bool sms = strcmp(string(e, "channel"), "sms") == 0;
        const char *gw = string(e, "gateway");
        if (sms && cJSON_GetObjectItemCaseSensitive(e, "longest_parts"))
            printf("  sms:%s via %s: %lld of %lld citizens reachable; longest message %lld part(s) %s; "
                   "%lld parts, about %lld VND\n",
                   string(e, "template"), gw[0] ? gw : "(no gateway)", number(e, "sendable"),
                   number(e, "citizens"), number(e, "longest_parts"), string(e, "longest_encoding"),
                   number(e, "total_parts"), number(e, "cost_vnd"));
        else
            printf("  %s:%s via %s: %lld of %lld citizens reachable; %lld messages, about %lld VND\n",
                   sms ? "sms" : "zalo", string(e, "template"), gw[0] ? gw : "(no gateway)",
                   number(e, "sendable"), number(e, "citizens"),
                   number(e, sms ? "total_parts" : "messages"), number(e, "cost_vnd"));
        if (number(e, "same_phone") > 0)
            printf("    one message per phone: %lld citizen(s) share a phone with another who gets it, "
                   "saving about %lld VND\n", number(e, "same_phone"), number(e, "saving_vnd"));
    }
}

/* ---- create ---- */

static int create_parse(int argc, char **argv, struct campaign_new *o, const char **channels,
                        const char **window)
{
    const struct cli_command *cmd = cli_find("campaign create");
    static const struct option opts[] = {
        {"segment", required_argument, NULL, 's'}, {"channels", required_argument, NULL, 'C'},
        {"start", required_argument, NULL, 'S'},   {"end", required_argument, NULL, 'E'},
        {"window", required_argument, NULL, 'w'},  {"json", no_argument, NULL, 'j'},
        {"topic", required_argument, NULL, 'T'},   {"per-phone", required_argument, NULL, 'p'},
        {"daily-cap", required_argument, NULL, 'D'}, {NULL, 0, NULL, 0}};
    opterr = 0;
    int ch;
    while ((ch = getopt_long(argc, argv, ":", opts, NULL)) != -1) {
        switch (ch) {
        case 'D': {
            char *end;
            long v = strtol(optarg, &end, 10);
            if (end == optarg || *end || v < 1 || v > CAMPAIGN_DAILY_CAP_MAX)
                return cli_usage(cmd, "--daily-cap takes a number of messages from 1 to %d, not '%s'",
                                 CAMPAIGN_DAILY_CAP_MAX, optarg);
            o->daily_cap = v;
            break;
        }
        case 's': o->segment = optarg; break;
        case 'C': *channels = optarg; break;
        case 'S': o->start = optarg; break;
        case 'E': o->end = optarg; break;
        case 'w': *window = optarg; break;
        case 'T': o->topic = optarg; break;
        case 'p':
            if (!campaign_per_phone_valid(optarg))
                return cli_usage(cmd, "--per-phone takes one or all, not '%s'", optarg);
            o->per_phone = optarg;
            break;
        case 'j': break;
        default: return cli_bad_option(cmd, ch, argv);
        }
    }
    if (optind != argc - 1)
        return cli_usage(cmd, optind >= argc ? "a campaign NAME is required"
                                             : "exactly one campaign NAME is expected");
    o->name = argv[optind];
    if (!o->name[0] || strlen(o->name) > 200)
        return cli_usage(cmd, "the campaign name must be 1 to 200 bytes");
    if (!o->segment)
        return cli_usage(cmd, "--segment is required");
    if (!*channels)
        return cli_usage(cmd, "--channels is required");
    if (o->topic && !campaign_topic_ok(o->topic))
        return cli_usage(cmd, "--topic takes general or voluntary, not '%s'", o->topic);
    return CLI_OK;
}

int cmd_campaign_create(struct cli *c, int argc, char **argv)
{
    const struct cli_command *cmd = cli_find("campaign create");
    struct campaign_new o = {0};
    const char *channels = NULL, *window = NULL;
    int rc = create_parse(argc, argv, &o, &channels, &window);
    if (rc != CLI_OK)
        return rc;
    char err[ERRLEN];
    if (campaign_channels_parse(channels, o.steps, &o.nsteps, err, sizeof err) < 0)
        return cli_usage(cmd, "--channels: %s", err);
    if (window) {
        int a, b;
        if (config_parse_window(window, &a, &b) < 0)
            return cli_usage(cmd, "--window '%s' is not HH:MM-HH:MM with start before end", window);
        snprintf(o.window_start, sizeof o.window_start, "%02d:%02d", a / 60, a % 60);
        snprintf(o.window_end, sizeof o.window_end, "%02d:%02d", b / 60, b % 60);
    }
    struct campaign_time t;
    if (o.start && campaign_time_parse(o.start, &t) < 0)
        return cli_usage(cmd, "--start '%s' is not an ISO 8601 time", o.start);
    if (o.end && campaign_time_parse(o.end, &t) < 0)
        return cli_usage(cmd, "--end '%s' is not an ISO 8601 time", o.end);
    for (int i = 0; i < o.nsteps; i++)
        if (o.steps[i].gateway[0] &&
            campaign_gateway_check(c->cfg, o.steps[i].gateway, o.steps[i].channel, err, sizeof err) < 0)
            return cli_refuse("%s", err);

    PGconn *db = cli_db(c);
    if (!db)
        return CLI_REFUSED;
    int64_t id;
    char why[2 * ERRLEN];
    rc = campaign_create(db, c->cfg, &o, &id, why, sizeof why);
    if (rc == CAMPAIGN_EUSAGE)
        return cli_usage(cmd, "%s", why);
    if (rc < 0)
        return cli_refuse("%s", why);
    if (c->json)
        print_result(c, id, o.name, "draft", NULL, 0, NULL);
    else
        printf("%" PRId64 "\n", id);
    return CLI_OK;
}

/* ---- the changes of a campaign ---- */

/* The options of a change beyond CAMPAIGN and --json: a pointer left NULL is an option the
 * command does not take. */
struct change_opts {
    const char **by;          /* approve: --by NAME */
    const char **per_phone;   /* start: --per-phone one|all */
};

/* Parses `CAMPAIGN [--json]` and the options of O. */
static int lifecycle_parse(const struct cli_command *cmd, int argc, char **argv, const char **key,
                           const struct change_opts *o)
{
    static const struct option opts[] = {
        {"json", no_argument, NULL, 'j'}, {"by", required_argument, NULL, 'b'},
        {"per-phone", required_argument, NULL, 'p'}, {NULL, 0, NULL, 0}};
    opterr = 0;
    int ch;
    while ((ch = getopt_long(argc, argv, ":", opts, NULL)) != -1) {
        switch (ch) {
        case 'j': break;
        case 'b':
            if (!o->by) return cli_bad_option(cmd, '?', argv);
            *o->by = optarg;
            break;
        case 'p':
            if (!o->per_phone) return cli_bad_option(cmd, '?', argv);
            if (!campaign_per_phone_valid(optarg))
                return cli_usage(cmd, "--per-phone takes one or all, not '%s'", optarg);
            *o->per_phone = optarg;
            break;
        default: return cli_bad_option(cmd, ch, argv);
        }
    }
    if (optind != argc - 1)
        return cli_usage(cmd, optind >= argc ? "a CAMPAIGN (name or id) is required"
                                             : "exactly one CAMPAIGN is expected");
    *key = argv[optind];
    return CLI_OK;
}

/* The common start of every command on one campaign: its options, the database, and the
 * campaign it names. CLI_OK with *DB and *ROW set, else the exit status to return. */
static int campaign_open(struct cli *c, const struct cli_command *cmd, int argc, char **argv,
                         const struct change_opts *o, PGconn **db, struct campaign_row *row)
{
    const char *key = NULL;
    int rc = lifecycle_parse(cmd, argc, argv, &key, o);
    if (rc != CLI_OK)
        return rc;
    if (!(*db = cli_db(c)))
        return CLI_REFUSED;
    char err[ERRLEN];
    if (campaign_find(*db, key, row, err, sizeof err) < 0)
        return cli_refuse("%s", err);
    return CLI_OK;
}

/* The person acting: --by NAME, else the login name. */
static const char *actor(const char *by)
{
    return by && *by ? by : cli_login();
}

/* Runs change FN on the campaign named by argv. An approval needs to know who approves
 * (NEEDS_BY: --by NAME, else the login name); a start may say how many per phone. */
static int change_run(struct cli *c, const char *words, campaign_change_fn *fn, bool needs_by,
                      int argc, char **argv)
{
    const struct cli_command *cmd = cli_find(words);
    const char *by = "", *who = NULL, *per_phone = NULL;
    bool starts = fn == campaign_start;
    struct change_opts opts = {needs_by ? &by : NULL, starts ? &per_phone : NULL};
    PGconn *db;
    struct campaign_row row;
    int rc = campaign_open(c, cmd, argc, argv, &opts, &db, &row);
    if (rc != CLI_OK)
        return rc;
    /* Without a supervisor to name, the officer needs to know how to get one, not the usage. */
    static const char no_supervisor[] = "no supervisor named: create one with `loa user add NAME "
                                        "--role supervisor` and approve with `--by NAME`";
    if (per_phone)
        snprintf(row.per_phone, sizeof row.per_phone, "%s", per_phone);
    if (needs_by && !(who = actor(by)))
        return cli_refuse("%s", no_supervisor);
    struct campaign_change ch = {.estimates = cJSON_CreateArray()};
    char err[8192 + ERRLEN];
    rc = fn(db, c->cfg, &row, who, &ch, err, sizeof err);
    if (!c->json)
        print_estimates(ch.estimates);
    if (rc < 0) {
        cJSON_Delete(ch.estimates);
        if (rc == CAMPAIGN_ENOSUPERVISOR && !*by)
            return cli_refuse("%s (the login name '%s' is not one)", no_supervisor, who);
        return cli_refuse("%s", err);
    }
    cJSON *estimates = cJSON_GetArraySize(ch.estimates) > 0 ? ch.estimates : NULL;
    if (!estimates)
        cJSON_Delete(ch.estimates);
    print_result(c, row.id, row.name, ch.status, ch.count_key, ch.count, estimates);
    if (who && !c->json)
        printf("approved by %s\n", who);
    return CLI_OK;
}

int cmd_campaign_approve(struct cli *c, int argc, char **argv)
{
    return change_run(c, "campaign approve", campaign_approve, true, argc, argv);
}

int cmd_campaign_start(struct cli *c, int argc, char **argv)
{
    return change_run(c, "campaign start", campaign_start, false, argc, argv);
}

int cmd_campaign_pause(struct cli *c, int argc, char **argv)
{
    return change_run(c, "campaign pause", campaign_pause, false, argc, argv);
}

int cmd_campaign_resume(struct cli *c, int argc, char **argv)
{
    return change_run(c, "campaign resume", campaign_resume, false, argc, argv);
}

int cmd_campaign_cancel(struct cli *c, int argc, char **argv)
{
    return change_run(c, "campaign cancel", campaign_cancel, false, argc, argv);
}

/* Detaches a finished campaign's messages into the schema archive (campaigns/archive.h). */
int cmd_campaign_archive(struct cli *c, int argc, char **argv)
{
    PGconn *db;
    struct campaign_row row;
    int rc = campaign_open(c, cli_find("campaign archive"), argc, argv, NULL, &db, &row);
    if (rc != CLI_OK)
        return rc;
    struct campaign_archived a;
    char err[ERRLEN];
    if (campaign_archive(db, row.id, &a, err, sizeof err) < 0)
        return cli_refuse("%s", err);
    if (c->json) {
        cJSON *o = cJSON_CreateObject();
        cJSON_AddNumberToObject(o, "id", (double)row.id);
        cJSON_AddStringToObject(o, "name", row.name);
        cJSON_AddStringToObject(o, "status", campaign_status_name(row.status));
        cJSON_AddBoolToObject(o, "archived", 1);
        if (a.table[0])
            cJSON_AddStringToObject(o, "archive_table", a.table);
        else
            cJSON_AddNullToObject(o, "archive_table");
        cJSON_AddNumberToObject(o, "messages", (double)a.messages);
        cJSON_AddNumberToObject(o, "bytes", (double)a.bytes);
        cli_print_json(o);
    } else if (a.table[0]) {
        printf("campaign %" PRId64 " '%s': archived, %lld messages (%lld bytes with indexes) in %s\n", row.id,
               row.name, a.messages, a.bytes, a.table);
    } else {
        printf("campaign %" PRId64 " '%s': archived (it had no messages)\n", row.id, row.name);
    }
    return CLI_OK;
}

/* Resends the in-doubt messages that provably never reached their gateway
 * (campaign_resend_in_doubt): a dry run unless --yes. */
int cmd_campaign_resend(struct cli *c, int argc, char **argv)
{
    const struct cli_command *cmd = cli_find("campaign resend");
    static const struct option opts[] = {
        {"json", no_argument, NULL, 'j'}, {"in-doubt", no_argument, NULL, 'd'},
        {"older-than", required_argument, NULL, 'o'}, {"yes", no_argument, NULL, 'y'}, {NULL, 0, NULL, 0}};
    bool in_doubt = false, yes = false;
    long minutes = 10;
    opterr = 0;
    int ch;
    while ((ch = getopt_long(argc, argv, ":", opts, NULL)) != -1) {
        char *end;
        switch (ch) {
        case 'j': break;
        case 'd': in_doubt = true; break;
        case 'y': yes = true; break;
        case 'o':
            errno = 0;
            minutes = strtol(optarg, &end, 10);
            if (errno || end == optarg || *end || minutes < 0 || minutes > 7 * 24 * 60)
                return cli_usage(cmd, "--older-than takes whole minutes from 0 to 10080, not '%s'", optarg);
            break;
        default: return cli_bad_option(cmd, ch, argv);
        }
    }
    if (optind != argc - 1)
        return cli_usage(cmd, optind >= argc ? "a CAMPAIGN (name or id) is required"
                                             : "exactly one CAMPAIGN is expected");
    /* The one kind there is; named, so that the command says what it may send again. */
    if (!in_doubt)
        return cli_usage(cmd, "say what to resend: --in-doubt (the only kind that can be)");
    PGconn *db = cli_db(c);
    if (!db)
        return CLI_REFUSED;
    char err[ERRLEN], who[160];
    struct campaign_row row;
    if (campaign_find(db, argv[optind], &row, err, sizeof err) < 0)
        return cli_refuse("%s", err);
    cli_shell_actor(who, sizeof who);
    struct campaign_resend r;
    if (campaign_resend_in_doubt(db, c->cfg, &row, (int)(minutes * 60), yes, who, &r, err, sizeof err) < 0)
        return cli_refuse("%s", err);
    if (c->json) {
        cJSON *o = cJSON_CreateObject();
        cJSON_AddNumberToObject(o, "id", (double)row.id);
        cJSON_AddStringToObject(o, "name", row.name);
        cJSON_AddStringToObject(o, "status", r.status);
        cJSON_AddNumberToObject(o, "in_doubt", (double)r.in_doubt);
        cJSON_AddNumberToObject(o, "reported", (double)r.reported);
        cJSON_AddNumberToObject(o, "recent", (double)r.recent);
        cJSON_AddNumberToObject(o, "unprovable", (double)r.unprovable);
        cJSON_AddNumberToObject(o, "opted_out", (double)r.opted_out);
        cJSON_AddNumberToObject(o, "resend", (double)r.resend);
        cJSON_AddBoolToObject(o, "resent", r.applied);
        cli_print_json(o);
        return CLI_OK;
    }
    printf("campaign %" PRId64 " '%s': %lld in doubt\n", row.id, row.name, r.in_doubt);
    printf("  %lld never reached the gateway: no report, while later messages were reported\n", r.resend);
    printf("  %lld reported (the SMSC has them): they stay in doubt\n", r.reported);
    printf("  %lld in doubt for less than %ld min: wait, or give --older-than\n", r.recent, minutes);
    printf("  %lld cannot be proven unsent (no SMSC acknowledgement asked for: dlr_mask without 8;"
           " nothing reported after them; or Zalo)\n", r.unprovable);
    printf("  %lld opted out since: never resent\n", r.opted_out);
    if (r.applied)
        printf("%lld resent: back to pending, the daemon sends them; the campaign is %s\n", r.resend, r.status);
    else if (r.resend > 0)
        printf("nothing changed: run again with --yes to resend the %lld\n", r.resend);
    else
        printf("nothing to resend\n");
    return CLI_OK;
}

/* ---- show and list ---- */

int cmd_campaign_show(struct cli *c, int argc, char **argv)
{
    const struct cli_command *cmd = cli_find("campaign show");
    static const struct option opts[] = {
        {"json", no_argument, NULL, 'j'}, {"by", required_argument, NULL, 'b'}, {NULL, 0, NULL, 0}};
    const char *by = NULL;
    opterr = 0;
    int ch;
    while ((ch = getopt_long(argc, argv, ":", opts, NULL)) != -1) {
        switch (ch) {
        case 'j': break;
        case 'b': by = optarg; break;
        default: return cli_bad_option(cmd, ch, argv);
        }
    }
    if (optind != argc - 1)
        return cli_usage(cmd, optind >= argc ? "a CAMPAIGN (name or id) is required"
                                             : "exactly one CAMPAIGN is expected");
    if (by && !campaign_breakdown_known(by))
        return cli_usage(cmd, "--by takes commune, group or channel, not '%s'", by);
    PGconn *db = cli_db(c);
    if (!db)
        return CLI_REFUSED;
    char err[ERRLEN];
    struct campaign_row row;
    if (campaign_find(db, argv[optind], &row, err, sizeof err) < 0)
        return cli_refuse("%s", err);
    cJSON *o = c->json ? cJSON_CreateObject() : NULL;
    int rc = by ? campaign_breakdown_write(db, &row, by, stdout, o, err, sizeof err)
                : campaign_show_write(db, &row, config_str(c->cfg, "policy", "timezone"),
                                      config_str(c->cfg, "policy", "window"), stdout, o, err,
                                      sizeof err);
    /* Why nothing moves, when a gateway of the campaign is out. */
    if (rc == 0 && !by)
        rc = cli_campaign_circuits(db, c, (long long)row.id, o, err, sizeof err);
    return cli_json_done(o, rc, err);
}

int cmd_campaign_list(struct cli *c, int argc, char **argv)
{
    int rc = cli_only_json(cli_find("campaign list"), argc, argv);
    if (rc != CLI_OK)
        return rc;
    PGconn *db = cli_db(c);
    if (!db)
        return CLI_REFUSED;
    char err[ERRLEN];
    cJSON *o = c->json ? cJSON_CreateObject() : NULL;
    return cli_json_done(o, campaign_list_write(db, stdout, o, err, sizeof err), err);
}
