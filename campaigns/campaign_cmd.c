/* The lifecycle commands: campaign create, approve, start, pause, resume, cancel. Each checks
 * what it can, changes rows (status changes only through campaign_set_status()), and NOTIFYs
 * loa_campaigns so that a running daemon reacts at once. */
#include "campaigns/campaign.h"
#include "campaigns/message.h"
#include "campaigns/preview.h"
#include "campaigns/template.h"
#include "cli/cli.h"
#include "core/config.h"
#include "core/db.h"
#include "gateways/gateway.h"
#include "segments/filter.h"

#include <cjson/cJSON.h>
#include <getopt.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

enum { ERRLEN = 600 };

static void notify_campaign(PGconn *db, int64_t id)
{
    char p[24];
    snprintf(p, sizeof p, "%" PRId64, id);
    db_notify(db, "loa_campaigns", p);
}

/* ESTIMATES (may be NULL) is added to the JSON object and then deleted. */
static void print_result_with(const struct cli *c, int64_t id, const char *name, const char *status,
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
        char *s = cJSON_PrintUnformatted(o);
        puts(s);
        free(s);
        cJSON_Delete(o);
    } else {
        printf("campaign %" PRId64 " '%s': %s", id, name, status);
        if (extra_key)
            printf(" (%s: %lld)", extra_key, extra);
        putchar('\n');
    }
    cJSON_Delete(estimates);
}

static void print_result(const struct cli *c, int64_t id, const char *name, const char *status,
                         const char *extra_key, long long extra)
{
    print_result_with(c, id, name, status, extra_key, extra, NULL);
}

/* What one channel step will cost, shown before the campaign starts (sms-vn.md). */
static void estimate_add(const struct cli *c, cJSON *arr, const char *tpl, const struct preview_result *pr)
{
    bool sms = pr->channel == TPL_SMS;
    const char *enc = pr->longest_info.coding == SMS_UCS2 ? "UCS-2" : "GSM-7";
    cJSON *o = cJSON_CreateObject();
    cJSON_AddStringToObject(o, "template", tpl);
    cJSON_AddStringToObject(o, "channel", sms ? "sms" : "zalo");
    cJSON_AddStringToObject(o, "gateway", pr->gateway);
    cJSON_AddNumberToObject(o, "citizens", (double)pr->citizens);
    cJSON_AddNumberToObject(o, "sendable", (double)pr->sendable);
    if (sms && pr->has_longest) {
        cJSON_AddStringToObject(o, "longest_encoding", enc);
        cJSON_AddNumberToObject(o, "longest_parts", pr->longest_info.parts);
    }
    cJSON_AddNumberToObject(o, sms ? "total_parts" : "messages", (double)pr->total_parts);
    cJSON_AddNumberToObject(o, "cost_vnd", (double)pr->cost_vnd);
    cJSON_AddItemToArray(arr, o);
    if (c->json)
        return;
    if (sms && pr->has_longest)
        printf("  sms:%s via %s: %ld of %ld citizens reachable; longest message %d part(s) %s; "
               "%lld parts, about %lld VND\n",
               tpl, pr->gateway[0] ? pr->gateway : "(no gateway)", pr->sendable, pr->citizens,
               pr->longest_info.parts, enc, pr->total_parts, pr->cost_vnd);
    else
        printf("  %s:%s via %s: %ld of %ld citizens reachable; %lld messages, about %lld VND\n",
               sms ? "sms" : "zalo", tpl, pr->gateway[0] ? pr->gateway : "(no gateway)", pr->sendable,
               pr->citizens, pr->total_parts, pr->cost_vnd);
}

/* ---- create ---- */

struct create_opts {
    const char *name, *segment, *channels, *start, *end, *window;
    const char *topic;        /* general (the default) or voluntary: what coverage counts it for */
};

/* Converts a command-line time into UTC text ("2026-05-01T00:00:00Z") in the database, which
 * knows the time zones; *PAST says whether it is already over. 0, or -1 with ERR. */
static int time_to_utc(PGconn *db, const char *what, const char *s, const char *tz, char *out,
                       size_t outlen, bool *past, char *err, size_t errlen)
{
    struct campaign_time t;
    if (campaign_time_parse(s, &t) < 0) {
        snprintf(err, errlen, "--%s '%s' is not an ISO 8601 time (2026-05-01T07:00+07:00, "
                              "2026-05-01T00:00Z, or 2026-05-01 07:00 in %s)", what, s, tz);
        return -1;
    }
    char txt[48];
    campaign_time_format(&t, txt, sizeof txt);
    const char *p[2] = {txt, tz};
    char why[ERRLEN];
    PGresult *r = t.has_offset
        ? db_query(db, why, sizeof why,
                   "SELECT to_char(t AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"'), t <= now()"
                   " FROM (SELECT $1::timestamptz AS t) x", 1, p)
        : db_query(db, why, sizeof why,
                   "SELECT to_char(t AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"'), t <= now()"
                   " FROM (SELECT $1::timestamp AT TIME ZONE $2::text AS t) x", 2, p);
    if (!r) {
        snprintf(err, errlen, "--%s '%s': %s", what, s, why);
        return -1;
    }
    snprintf(out, outlen, "%s", PQgetvalue(r, 0, 0));
    *past = PQgetvalue(r, 0, 1)[0] == 't';
    PQclear(r);
    return 0;
}

/* Checks that gateway NAME is configured and speaks CHANNEL. */
static int check_gateway(const struct config *cfg, const char *name, const char *channel,
                         char *err, size_t errlen)
{
    for (size_t i = 0; i < config_gateway_count(cfg); i++) {
        if (strcmp(config_gateway_name(cfg, i), name) != 0)
            continue;
        const char *type = config_gateway_type(cfg, i);
        const struct gateway_type *gt = gateway_type_find(type ? type : "");
        if (!gt) {
            snprintf(err, errlen, "gateway '%s' has type '%s', which this build does not know",
                     name, type ? type : "");
            return -1;
        }
        if (strcmp(gt->channel, channel) != 0) {
            snprintf(err, errlen, "gateway '%s' (type %s) sends %s, not %s", name, gt->name,
                     gt->channel, channel);
            return -1;
        }
        return 0;
    }
    snprintf(err, errlen, "no gateway '%s' in the configuration (%s)", name, config_path(cfg));
    return -1;
}

/* Checks the template of one step exists and is of the step's channel; sets *ID. */
static int check_template(PGconn *db, const struct channel_spec *st, int64_t *id, char *err,
                          size_t errlen)
{
    const char *p[1] = {st->template_name};
    PGresult *r = db_query(db, err, errlen, "SELECT id, channel FROM templates WHERE name = $1", 1, p);
    if (!r)
        return -1;
    int rc = -1;
    const char *want = strcmp(st->channel, "sms") == 0 ? "sms" : "zns";
    if (PQntuples(r) != 1)
        snprintf(err, errlen, "no template '%s' (`loa template create`)", st->template_name);
    else if (strcmp(PQgetvalue(r, 0, 1), want) != 0)
        snprintf(err, errlen, "template '%s' is a %s template; channel %s needs a %s template",
                 st->template_name, PQgetvalue(r, 0, 1), st->channel, want);
    else {
        *id = strtoll(PQgetvalue(r, 0, 0), NULL, 10);
        rc = 0;
    }
    PQclear(r);
    return rc;
}

static int insert_campaign(PGconn *db, const struct create_opts *o, const char *segment_id,
                           const char *starts, const char *ends, const char *wstart,
                           const char *wend, const struct channel_spec *steps,
                           const int64_t *tpl_ids, int nsteps, int64_t *id, char *err,
                           size_t errlen)
{
    if (db_begin(db, err, errlen) < 0)
        return -1;
    const char *p[7] = {o->name, segment_id, starts, ends, wstart, wend, o->topic ? o->topic : "general"};
    PGresult *r = db_query(db, err, errlen,
        "INSERT INTO campaigns (name, segment_id, starts_at, ends_at, window_start, window_end, topic)"
        " VALUES ($1, $2::bigint, $3::timestamptz, $4::timestamptz, $5::time, $6::time, $7)"
        " RETURNING id", 7, p);
    if (!r)
        goto fail;
    char idtxt[24];
    snprintf(idtxt, sizeof idtxt, "%s", PQgetvalue(r, 0, 0));
    *id = strtoll(idtxt, NULL, 10);
    PQclear(r);
    for (int i = 0; i < nsteps; i++) {
        char pos[8], tpl[24];
        snprintf(pos, sizeof pos, "%d", i);
        snprintf(tpl, sizeof tpl, "%" PRId64, tpl_ids[i]);
        const char *q[5] = {idtxt, pos, steps[i].channel, tpl,
                            steps[i].gateway[0] ? steps[i].gateway : NULL};
        if (db_exec(db, err, errlen,
                    "INSERT INTO campaign_channels (campaign_id, position, channel, template_id, gateway)"
                    " VALUES ($1::bigint, $2::smallint, $3, $4::bigint, $5)", 5, q) < 0)
            goto fail;
    }
    /* The partition of its messages exists from the start, so the daemon never races to
     * create it. */
    const char *q[1] = {idtxt};
    if (db_exec(db, err, errlen, "SELECT campaign_partition_ensure($1::bigint)", 1, q) < 0)
        goto fail;
    return db_commit(db, err, errlen);
fail:
    db_rollback(db);
    return -1;
}

static int create_parse(int argc, char **argv, struct create_opts *o)
{
    const struct cli_command *cmd = cli_find("campaign create");
    static const struct option opts[] = {
        {"segment", required_argument, NULL, 's'}, {"channels", required_argument, NULL, 'C'},
        {"start", required_argument, NULL, 'S'},   {"end", required_argument, NULL, 'E'},
        {"window", required_argument, NULL, 'w'},  {"json", no_argument, NULL, 'j'},
        {"topic", required_argument, NULL, 'T'},   {NULL, 0, NULL, 0}};
    opterr = 0;
    int ch;
    while ((ch = getopt_long(argc, argv, ":", opts, NULL)) != -1) {
        switch (ch) {
        case 's': o->segment = optarg; break;
        case 'C': o->channels = optarg; break;
        case 'S': o->start = optarg; break;
        case 'E': o->end = optarg; break;
        case 'w': o->window = optarg; break;
        case 'T': o->topic = optarg; break;
        case 'j': break;
        case ':': return cli_usage(cmd, "%s needs a value", argv[optind - 1]);
        default: return cli_usage(cmd, "unknown option %s", argv[optind - 1]);
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
    if (!o->channels)
        return cli_usage(cmd, "--channels is required");
    if (o->topic && strcmp(o->topic, "general") != 0 && strcmp(o->topic, "voluntary") != 0)
        return cli_usage(cmd, "--topic takes general or voluntary, not '%s'", o->topic);
    return CLI_OK;
}

int cmd_campaign_create(struct cli *c, int argc, char **argv)
{
    const struct cli_command *cmd = cli_find("campaign create");
    struct create_opts o = {0};
    int rc = create_parse(argc, argv, &o);
    if (rc != CLI_OK)
        return rc;
    char err[ERRLEN];
    struct channel_spec steps[CAMPAIGN_MAX_CHANNELS];
    int nsteps;
    if (campaign_channels_parse(o.channels, steps, &nsteps, err, sizeof err) < 0)
        return cli_usage(cmd, "--channels: %s", err);
    char wstart[8] = "", wend[8] = "";
    if (o.window) {
        int a, b;
        if (config_parse_window(o.window, &a, &b) < 0)
            return cli_usage(cmd, "--window '%s' is not HH:MM-HH:MM with start before end", o.window);
        snprintf(wstart, sizeof wstart, "%02d:%02d", a / 60, a % 60);
        snprintf(wend, sizeof wend, "%02d:%02d", b / 60, b % 60);
    }
    struct campaign_time t;
    if (o.start && campaign_time_parse(o.start, &t) < 0)
        return cli_usage(cmd, "--start '%s' is not an ISO 8601 time", o.start);
    if (o.end && campaign_time_parse(o.end, &t) < 0)
        return cli_usage(cmd, "--end '%s' is not an ISO 8601 time", o.end);
    for (int i = 0; i < nsteps; i++)
        if (steps[i].gateway[0] &&
            check_gateway(c->cfg, steps[i].gateway, steps[i].channel, err, sizeof err) < 0)
            return cli_refuse("%s", err);

    PGconn *db = cli_db(c);
    if (!db)
        return CLI_REFUSED;
    const char *tz = config_str(c->cfg, "policy", "timezone");
    char starts[40] = "", ends[40] = "";
    bool past = false;
    if (o.start && time_to_utc(db, "start", o.start, tz, starts, sizeof starts, &past, err, sizeof err) < 0)
        return cli_refuse("%s", err);
    if (o.end) {
        if (time_to_utc(db, "end", o.end, tz, ends, sizeof ends, &past, err, sizeof err) < 0)
            return cli_refuse("%s", err);
        if (past)
            return cli_refuse("--end %s is already past", o.end);
    }
    /* Same format, both UTC: text order is time order. */
    if (starts[0] && ends[0] && strcmp(starts, ends) >= 0)
        return cli_usage(cmd, "--start (%s) must be before --end (%s)", starts, ends);

    const char *p[1] = {o.segment};
    PGresult *r = db_query(db, err, sizeof err, "SELECT id FROM segments WHERE name = $1", 1, p);
    if (!r)
        return cli_refuse("%s", err);
    if (PQntuples(r) != 1) {
        PQclear(r);
        return cli_refuse("no segment '%s' (`loa segment create`)", o.segment);
    }
    char segment_id[24];
    snprintf(segment_id, sizeof segment_id, "%s", PQgetvalue(r, 0, 0));
    PQclear(r);
    p[0] = o.name;
    r = db_query(db, err, sizeof err, "SELECT id FROM campaigns WHERE name = $1", 1, p);
    if (!r)
        return cli_refuse("%s", err);
    int exists = PQntuples(r) > 0;
    PQclear(r);
    if (exists)
        return cli_refuse("a campaign named '%s' already exists", o.name);
    int64_t tpl_ids[CAMPAIGN_MAX_CHANNELS];
    for (int i = 0; i < nsteps; i++)
        if (check_template(db, &steps[i], &tpl_ids[i], err, sizeof err) < 0)
            return cli_refuse("%s", err);

    int64_t id;
    if (insert_campaign(db, &o, segment_id, starts[0] ? starts : NULL, ends[0] ? ends : NULL,
                        wstart[0] ? wstart : NULL, wend[0] ? wend : NULL, steps, tpl_ids, nsteps,
                        &id, err, sizeof err) < 0)
        return cli_refuse("cannot create campaign '%s': %s", o.name, err);
    notify_campaign(db, id);
    if (c->json)
        print_result(c, id, o.name, "draft", NULL, 0);
    else
        printf("%" PRId64 "\n", id);
    return CLI_OK;
}

/* ---- lifecycle ---- */

/* Parses `CAMPAIGN [--json] [--by NAME]` (--by only when BY is not NULL). */
static int lifecycle_parse(const char *words, int argc, char **argv, const char **key,
                           const char **by)
{
    const struct cli_command *cmd = cli_find(words);
    static const struct option with_by[] = {
        {"json", no_argument, NULL, 'j'}, {"by", required_argument, NULL, 'b'}, {NULL, 0, NULL, 0}};
    static const struct option no_by[] = {{"json", no_argument, NULL, 'j'}, {NULL, 0, NULL, 0}};
    opterr = 0;
    int ch;
    while ((ch = getopt_long(argc, argv, ":", by ? with_by : no_by, NULL)) != -1) {
        switch (ch) {
        case 'j': break;
        case 'b': *by = optarg; break;
        case ':': return cli_usage(cmd, "%s needs a value", argv[optind - 1]);
        default: return cli_usage(cmd, "unknown option %s", argv[optind - 1]);
        }
    }
    if (optind != argc - 1)
        return cli_usage(cmd, optind >= argc ? "a CAMPAIGN (name or id) is required"
                                             : "exactly one CAMPAIGN is expected");
    *key = argv[optind];
    return CLI_OK;
}

/* The common start of every lifecycle command: its options, the database, and the campaign it
 * names. CLI_OK with *DB and *ROW set, else the exit status to return. */
static int lifecycle_open(struct cli *c, const char *words, int argc, char **argv, const char **by,
                          PGconn **db, struct campaign_row *row)
{
    const char *key = NULL;
    int rc = lifecycle_parse(words, argc, argv, &key, by);
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
    if (by && *by)
        return by;
    const char *u = getenv("USER");
    if (!u || !*u)
        u = getenv("LOGNAME");
    return u && *u ? u : NULL;
}

int cmd_campaign_approve(struct cli *c, int argc, char **argv)
{
    const char *by = "";
    PGconn *db;
    struct campaign_row row;
    int rc = lifecycle_open(c, "campaign approve", argc, argv, &by, &db, &row);
    if (rc != CLI_OK)
        return rc;
    const char *who = actor(by);
    if (!who)
        return cli_usage(cli_find("campaign approve"), "say who approves with --by NAME");
    char err[ERRLEN];
    if (row.status != CAMP_DRAFT)
        return cli_refuse("campaign '%s' is %s; only a draft can be approved", row.name,
                          campaign_status_name(row.status));
    /* Approval is a supervisor's act: the approver must be a known user of that role. */
    const char *p[2] = {who, NULL};
    PGresult *r = db_query(db, err, sizeof err, "SELECT role FROM users WHERE name = $1 AND disabled_at IS NULL", 1, p);
    if (!r)
        return cli_refuse("%s", err);
    bool ok = PQntuples(r) == 1 && (strcmp(PQgetvalue(r, 0, 0), "supervisor") == 0 ||
                                     strcmp(PQgetvalue(r, 0, 0), "admin") == 0);
    PQclear(r);
    if (!ok)
        return cli_refuse("'%s' is not a supervisor: only a user with role supervisor or admin "
                          "may approve (`loa user add NAME --role supervisor`)", who);
    char idtxt[24];
    snprintf(idtxt, sizeof idtxt, "%" PRId64, row.id);
    p[0] = idtxt;
    p[1] = who;
    r = db_query(db, err, sizeof err,
                 "UPDATE campaigns SET approved_by = $2, approved_at = now()"
                 " WHERE id = $1::bigint AND status = 'draft' RETURNING id", 2, p);
    if (!r)
        return cli_refuse("%s", err);
    int n = PQntuples(r);
    PQclear(r);
    if (n != 1)
        return cli_refuse("campaign '%s' changed meanwhile; it is no longer a draft", row.name);
    notify_campaign(db, row.id);
    print_result(c, row.id, row.name, "draft", NULL, 0);
    if (!c->json)
        printf("approved by %s\n", who);
    return CLI_OK;
}

/* Citizens in the campaign's segment now. -1 with ERR. */
static long long segment_size(PGconn *db, const char *segment, char *err, size_t errlen)
{
    struct filter_sql f = {0};
    int64_t sid;
    if (segment_load(db, segment, 0, &f, &sid, err, errlen) < 0)
        return -1;
    char *sql = NULL;
    long long n = -1;
    if (asprintf(&sql, "SELECT count(*) FROM citizens c WHERE %s", f.where) < 0) {
        snprintf(err, errlen, "out of memory");
        filter_sql_free(&f);
        return -1;
    }
    PGresult *r = db_query(db, err, errlen, sql, f.nparams, (const char *const *)f.params);
    if (r) {
        n = strtoll(PQgetvalue(r, 0, 0), NULL, 10);
        PQclear(r);
    }
    free(sql);
    filter_sql_free(&f);
    return n;
}

/* Every template of the campaign is usable. */
static int check_templates(PGconn *db, const char *idtxt, char *err, size_t errlen)
{
    const char *p[1] = {idtxt};
    PGresult *r = db_query(db, err, errlen,
                           "SELECT cc.template_id, t.name, cc.channel FROM campaign_channels cc"
                           " JOIN templates t ON t.id = cc.template_id"
                           " WHERE cc.campaign_id = $1::bigint ORDER BY cc.position", 1, p);
    if (!r)
        return -1;
    int rc = PQntuples(r) > 0 ? 0 : -1;
    if (rc < 0)
        snprintf(err, errlen, "the campaign has no channels");
    for (int i = 0; i < PQntuples(r) && rc == 0; i++) {
        char why[ERRLEN];
        if (template_check_usable(db, strtoll(PQgetvalue(r, i, 0), NULL, 10), why, sizeof why) < 0) {
            snprintf(err, errlen, "template '%s' (%s) is not usable: %s", PQgetvalue(r, i, 1),
                     PQgetvalue(r, i, 2), why);
            rc = -1;
        }
    }
    PQclear(r);
    return rc;
}

/* Every citizen's rendering fits the gateway of each step (sms-vn.md: parts are counted for the
 * longest rendering, not the sample). Renders the whole segment once per step; the refusal shows
 * the longest rendering so that the officer can shorten the template. */
static int check_renderings(const struct cli *c, PGconn *db, const char *idtxt, const char *segment,
                            cJSON *estimates, char *err, size_t errlen)
{
    const struct config *cfg = c->cfg;
    const char *p[1] = {idtxt};
    PGresult *r = db_query(db, err, errlen,
                           "SELECT cc.template_id, t.name, cc.gateway FROM campaign_channels cc"
                           " JOIN templates t ON t.id = cc.template_id"
                           " WHERE cc.campaign_id = $1::bigint ORDER BY cc.position", 1, p);
    if (!r)
        return -1;
    struct preview_result *pr = calloc(1, sizeof *pr);
    if (!pr)
        abort();
    int rc = 0;
    for (int i = 0; i < PQntuples(r) && rc == 0; i++) {
        struct filter_sql f = {0};
        int64_t sid;
        char why[ERRLEN];
        if (segment_load(db, segment, 1, &f, &sid, why, sizeof why) < 0) {
            snprintf(err, errlen, "segment '%s': %s", segment, why);
            rc = -1;
            break;
        }
        memset(pr, 0, sizeof *pr);
        if (template_preview_segment(db, strtoll(PQgetvalue(r, i, 0), NULL, 10), f.where, f.params, f.nparams,
                                     cfg, PQgetisnull(r, i, 2) ? NULL : PQgetvalue(r, i, 2), pr, why,
                                     sizeof why) < 0) {
            if (pr->has_longest)
                snprintf(err, errlen, "template '%s': %s\nlongest rendering (citizen %" PRId64 ", %d parts):\n%s",
                         PQgetvalue(r, i, 1), why, pr->longest_id, pr->longest_info.parts, pr->longest);
            else
                snprintf(err, errlen, "template '%s': %s", PQgetvalue(r, i, 1), why);
            rc = -1;
        } else
            estimate_add(c, estimates, PQgetvalue(r, i, 1), pr);
        filter_sql_free(&f);
    }
    free(pr);
    PQclear(r);
    return rc;
}

int cmd_campaign_start(struct cli *c, int argc, char **argv)
{
    PGconn *db;
    struct campaign_row row;
    int rc = lifecycle_open(c, "campaign start", argc, argv, NULL, &db, &row);
    if (rc != CLI_OK)
        return rc;
    char err[ERRLEN];
    if (row.status != CAMP_DRAFT)
        return cli_refuse("campaign '%s' is %s; it cannot be started", row.name,
                          campaign_status_name(row.status));
    char idtxt[24];
    snprintf(idtxt, sizeof idtxt, "%" PRId64, row.id);
    const char *p[2] = {idtxt, NULL};
    PGresult *r = db_query(db, err, sizeof err,
                           "SELECT ends_at IS NOT NULL AND ends_at <= now() FROM campaigns WHERE id = $1::bigint",
                           1, p);
    if (!r)
        return cli_refuse("%s", err);
    bool ended = PQgetvalue(r, 0, 0)[0] == 't';
    PQclear(r);
    if (ended)
        return cli_refuse("campaign '%s' ends in the past; it cannot be started", row.name);
    if (check_templates(db, idtxt, err, sizeof err) < 0)
        return cli_refuse("campaign '%s': %s", row.name, err);
    long long n = segment_size(db, row.segment_name, err, sizeof err);
    if (n < 0)
        return cli_refuse("campaign '%s': segment '%s': %s", row.name, row.segment_name, err);
    long threshold = config_int(c->cfg, "policy", "approval_threshold");
    bool needs = n > threshold;
    p[1] = needs ? "true" : "false";
    if (db_exec(db, err, sizeof err, "UPDATE campaigns SET needs_approval = $2::boolean WHERE id = $1::bigint",
                2, p) < 0)
        return cli_refuse("%s", err);
    if (needs && !row.approved)
        return cli_refuse("campaign '%s' targets %lld citizens, more than the approval threshold "
                          "of %ld: a supervisor must approve it first (`loa campaign approve %s --by NAME`)",
                          row.name, n, threshold, row.name);
    /* Last, because it renders the whole segment: every rendering fits, and the officer sees
     * what the campaign will cost before it starts. */
    char rerr[8192];
    cJSON *estimates = cJSON_CreateArray();
    if (check_renderings(c, db, idtxt, row.segment_name, estimates, rerr, sizeof rerr) < 0 ||
        campaign_set_status(db, row.id, CAMP_SET(CAMP_DRAFT), CAMP_SCHEDULED, "started", NULL, rerr,
                            sizeof rerr) < 0) {
        cJSON_Delete(estimates);
        return cli_refuse("campaign '%s' cannot start: %s", row.name, rerr);
    }
    notify_campaign(db, row.id);
    print_result_with(c, row.id, row.name, "scheduled", "segment_size", n, estimates);
    return CLI_OK;
}

int cmd_campaign_pause(struct cli *c, int argc, char **argv)
{
    PGconn *db;
    struct campaign_row row;
    int rc = lifecycle_open(c, "campaign pause", argc, argv, NULL, &db, &row);
    if (rc != CLI_OK)
        return rc;
    char err[ERRLEN];
    if (campaign_set_status(db, row.id, CAMP_SET(CAMP_SCHEDULED) | CAMP_SET(CAMP_RUNNING),
                            CAMP_PAUSED, "paused", NULL, err, sizeof err) < 0)
        return cli_refuse("%s", err);
    notify_campaign(db, row.id);
    print_result(c, row.id, row.name, "paused", NULL, 0);
    return CLI_OK;
}

int cmd_campaign_resume(struct cli *c, int argc, char **argv)
{
    PGconn *db;
    struct campaign_row row;
    int rc = lifecycle_open(c, "campaign resume", argc, argv, NULL, &db, &row);
    if (rc != CLI_OK)
        return rc;
    char err[ERRLEN];
    /* Back to where it was paused from: a campaign paused before the daemon started it is
     * scheduled again, one paused while running runs again. */
    enum campaign_status to = row.paused_from == CAMP_RUNNING ? CAMP_RUNNING : CAMP_SCHEDULED;
    if (campaign_set_status(db, row.id, CAMP_SET(CAMP_PAUSED), to, "resumed", NULL, err,
                            sizeof err) < 0)
        return cli_refuse("%s", err);
    notify_campaign(db, row.id);
    print_result(c, row.id, row.name, campaign_status_name(to), NULL, 0);
    return CLI_OK;
}

int cmd_campaign_cancel(struct cli *c, int argc, char **argv)
{
    PGconn *db;
    struct campaign_row row;
    int rc = lifecycle_open(c, "campaign cancel", argc, argv, NULL, &db, &row);
    if (rc != CLI_OK)
        return rc;
    char err[ERRLEN];
    if (db_begin(db, err, sizeof err) < 0)
        return cli_refuse("%s", err);
    unsigned live = 0;
    for (int s = 0; s < CAMP_NSTATUS; s++)
        if (!campaign_status_final((enum campaign_status)s))
            live |= CAMP_SET(s);
    if (campaign_set_status(db, row.id, live, CAMP_CANCELLED, "cancelled", NULL, err, sizeof err) < 0) {
        db_rollback(db);
        return cli_refuse("%s", err);
    }
    /* Every message not yet handed to a gateway, in one statement, in the same transaction as
     * the status: the states that may become cancelled are the state machine's. A leased
     * message is in a dispatcher's hands; the daemon settles it when its answer comes. */
    char idtxt[24];
    snprintf(idtxt, sizeof idtxt, "%" PRId64, row.id);
    const char *p[2] = {idtxt, message_states_into(MSG_CANCELLED)};
    PGresult *r = db_query(db, err, sizeof err,
                           "UPDATE messages SET state = 'cancelled', final_at = now(),"
                           " reason = 'campaign cancelled'"
                           " WHERE campaign_id = $1::bigint AND state = ANY($2::text[])", 2, p);
    if (!r) {
        db_rollback(db);
        return cli_refuse("%s", err);
    }
    long long n = strtoll(PQcmdTuples(r), NULL, 10);
    PQclear(r);
    if (db_commit(db, err, sizeof err) < 0)
        return cli_refuse("%s", err);
    notify_campaign(db, row.id);
    print_result(c, row.id, row.name, "cancelled", "messages_cancelled", n);
    return CLI_OK;
}
