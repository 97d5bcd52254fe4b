/* The lifecycle of a campaign: create, approve, start, pause, resume, cancel (lifecycle.h).
 * Each checks what it can, changes rows (status changes only through campaign_set_status()),
 * and NOTIFYs loa_campaigns so that a running daemon reacts at once. */
#include "campaigns/lifecycle.h"
#include "campaigns/campaign.h"
#include "campaigns/message.h"
#include "campaigns/preview.h"
#include "campaigns/template.h"
#include "core/config.h"
#include "core/db.h"
#include "core/pgarray.h"
#include "gateways/gateway.h"
#include "segments/filter.h"

#include <cjson/cJSON.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

enum { ERRLEN = 600 };

void campaign_notify(PGconn *db, int64_t id)
{
    char p[24];
    snprintf(p, sizeof p, "%" PRId64, id);
    db_notify(db, "loa_campaigns", p);
}

/* What one channel step will cost, shown before the campaign starts. An SMS is billed per part,
 * and the longest rendering, not the sample, says how many parts a message may take. */
static void estimate_add(cJSON *arr, const char *tpl, const struct preview_result *pr)
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
    cJSON_AddNumberToObject(o, "same_phone", (double)pr->same_phone);
    cJSON_AddNumberToObject(o, "saving_vnd", (double)pr->saving_vnd);
    cJSON_AddItemToArray(arr, o);
}

/* ---- create ---- */

bool campaign_topic_ok(const char *topic)
{
    return strcmp(topic, "general") == 0 || strcmp(topic, "voluntary") == 0;
}

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
                   "SELECT to_char(t AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"'), t <= loa_now()"
                   " FROM (SELECT $1::timestamptz AS t) x", 1, p)
        : db_query(db, why, sizeof why,
                   "SELECT to_char(t AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"'), t <= loa_now()"
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
int campaign_gateway_check(const struct config *cfg, const char *name, const char *channel,
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

static int insert_campaign(PGconn *db, const struct campaign_new *o, const char *segment_id,
                           const char *starts, const char *ends, const int64_t *tpl_ids,
                           int64_t *id, char *err, size_t errlen)
{
    if (db_begin(db, err, errlen) < 0)
        return -1;
    char cap[24];
    snprintf(cap, sizeof cap, "%ld", o->daily_cap);
    const char *p[9] = {o->name, segment_id, starts, ends, o->window_start[0] ? o->window_start : NULL,
                        o->window_end[0] ? o->window_end : NULL, o->topic ? o->topic : "general",
                        o->per_phone ? o->per_phone : "one", o->daily_cap > 0 ? cap : NULL};
    PGresult *r = db_query(db, err, errlen,
        "INSERT INTO campaigns (name, segment_id, starts_at, ends_at, window_start, window_end, topic, per_phone,"
        " daily_cap)"
        " VALUES ($1, $2::bigint, $3::timestamptz, $4::timestamptz, $5::time, $6::time, $7, $8, $9::int)"
        " RETURNING id", 9, p);
    if (!r)
        goto fail;
    char idtxt[24];
    snprintf(idtxt, sizeof idtxt, "%s", PQgetvalue(r, 0, 0));
    *id = strtoll(idtxt, NULL, 10);
    PQclear(r);
    for (int i = 0; i < o->nsteps; i++) {
        char pos[8], tpl[24];
        snprintf(pos, sizeof pos, "%d", i);
        snprintf(tpl, sizeof tpl, "%" PRId64, tpl_ids[i]);
        const char *q[5] = {idtxt, pos, o->steps[i].channel, tpl,
                            o->steps[i].gateway[0] ? o->steps[i].gateway : NULL};
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

int campaign_create(PGconn *db, const struct config *cfg, const struct campaign_new *o, int64_t *id,
                    char *err, size_t errlen)
{
    const char *tz = config_str(cfg, "policy", "timezone");
    char starts[40] = "", ends[40] = "";
    bool past = false;
    if (o->start && time_to_utc(db, "start", o->start, tz, starts, sizeof starts, &past, err, errlen) < 0)
        return -1;
    if (o->end) {
        if (time_to_utc(db, "end", o->end, tz, ends, sizeof ends, &past, err, errlen) < 0)
            return -1;
        if (past) {
            snprintf(err, errlen, "--end %s is already past", o->end);
            return -1;
        }
    }
    /* Same format, both UTC: text order is time order. */
    if (starts[0] && ends[0] && strcmp(starts, ends) >= 0) {
        snprintf(err, errlen, "--start (%s) must be before --end (%s)", starts, ends);
        return CAMPAIGN_EUSAGE;
    }

    const char *p[1] = {o->segment};
    PGresult *r = db_query(db, err, errlen, "SELECT id FROM segments WHERE name = $1", 1, p);
    if (!r)
        return -1;
    if (PQntuples(r) != 1) {
        PQclear(r);
        snprintf(err, errlen, "no segment '%s' (`loa segment create`)", o->segment);
        return -1;
    }
    char segment_id[24];
    snprintf(segment_id, sizeof segment_id, "%s", PQgetvalue(r, 0, 0));
    PQclear(r);
    p[0] = o->name;
    r = db_query(db, err, errlen, "SELECT id FROM campaigns WHERE name = $1", 1, p);
    if (!r)
        return -1;
    int exists = PQntuples(r) > 0;
    PQclear(r);
    if (exists) {
        snprintf(err, errlen, "a campaign named '%s' already exists", o->name);
        return -1;
    }
    int64_t tpl_ids[CAMPAIGN_MAX_CHANNELS];
    for (int i = 0; i < o->nsteps; i++)
        if (check_template(db, &o->steps[i], &tpl_ids[i], err, errlen) < 0)
            return -1;

    char why[ERRLEN];
    if (insert_campaign(db, o, segment_id, starts[0] ? starts : NULL, ends[0] ? ends : NULL, tpl_ids,
                        id, why, sizeof why) < 0) {
        snprintf(err, errlen, "cannot create campaign '%s': %s", o->name, why);
        return -1;
    }
    campaign_notify(db, *id);
    return 0;
}

/* ---- lifecycle ---- */

int campaign_approve(PGconn *db, const struct config *cfg, const struct campaign_row *row,
                     const char *who, struct campaign_change *out, char *err, size_t errlen)
{
    /* Approval is a supervisor's act: loa_campaign_approve() (sql/functions/60_web.sql) checks
     * that WHO is an enabled user of role supervisor or admin, and records the approval with its
     * audit row, in one statement. */
    char idtxt[24];
    snprintf(idtxt, sizeof idtxt, "%" PRId64, row->id);
    const char *p[2] = {idtxt, who};
    PGresult *r = db_query(db, err, errlen,
                           "SELECT reason, status FROM loa_campaign_approve($1::bigint, $2)", 2, p);
    if (!r)
        return -1;
    int rc = 0;
    const char *why = PQgetisnull(r, 0, 0) ? NULL : PQgetvalue(r, 0, 0);
    if (!why)
        out->status = "draft";
    else if (strcmp(why, "not_supervisor") == 0) {
        snprintf(err, errlen, "'%s' is not a supervisor: only an enabled user with role supervisor or "
                              "admin may approve (`loa user add NAME --role supervisor`)", who);
        rc = CAMPAIGN_ENOSUPERVISOR;
    } else if (strcmp(why, "status") == 0) {
        snprintf(err, errlen, "campaign '%s' is %s; only a draft can be approved", row->name,
                 PQgetvalue(r, 0, 1));
        rc = -1;
    } else {
        snprintf(err, errlen, "campaign '%s' vanished", row->name);
        rc = -1;
    }
    PQclear(r);
    return rc;
}

/* Citizens in the campaign's segment now. -1 with ERR. */
static long long segment_size(PGconn *db, const char *segment, char *err, size_t errlen)
{
    struct filter_sql f = {0};
    int64_t sid;
    if (segment_load(db, segment, 0, &f, &sid, err, errlen) < 0)
        return -1;
    char *sql = filter_count_sql(&f);
    long long n = -1;
    if (!sql) {
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

/* The channel steps of campaign IDTXT in order: template id, template name, channel, gateway
 * (NULL when not named). */
static PGresult *channels_query(PGconn *db, const char *idtxt, char *err, size_t errlen)
{
    const char *p[1] = {idtxt};
    return db_query(db, err, errlen,
                    "SELECT cc.template_id, t.name, cc.channel, cc.gateway FROM campaign_channels cc"
                    " JOIN templates t ON t.id = cc.template_id"
                    " WHERE cc.campaign_id = $1::bigint ORDER BY cc.position", 1, p);
}

/* Every template of the campaign is usable. */
static int check_templates(PGconn *db, const char *idtxt, char *err, size_t errlen)
{
    PGresult *r = channels_query(db, idtxt, err, errlen);
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

/* "kannel (sms), zalo (zalo)", the gateways of the configuration with their channels, or "none". */
static void gateways_list(const struct config *cfg, char *out, size_t outlen)
{
    size_t used = 0;
    out[0] = '\0';
    for (size_t i = 0; i < config_gateway_count(cfg) && used < outlen; i++) {
        const struct gateway_type *gt = gateway_type_find(config_gateway_type(cfg, i));
        int n = snprintf(out + used, outlen - used, "%s%s (%s)", used ? ", " : "",
                         config_gateway_name(cfg, i), gt ? gt->channel : "unknown type");
        used += n > 0 ? (size_t)n : 0;
    }
    if (!out[0])
        snprintf(out, outlen, "none");
}

/* Every step has a gateway: the one it names, else a configured gateway of its channel. A step
 * without one would start and then fail every message of that step in the daemon. */
static int check_gateways(const struct config *cfg, PGconn *db, const char *idtxt, char *err,
                          size_t errlen)
{
    PGresult *r = channels_query(db, idtxt, err, errlen);
    if (!r)
        return -1;
    int rc = 0;
    for (int i = 0; i < PQntuples(r) && rc == 0; i++) {
        const char *channel = PQgetvalue(r, i, 2);
        char why[ERRLEN], have[ERRLEN];
        gateways_list(cfg, have, sizeof have);
        if (!PQgetisnull(r, i, 3)) {
            if (campaign_gateway_check(cfg, PQgetvalue(r, i, 3), channel, why, sizeof why) < 0) {
                snprintf(err, errlen, "channel %s: %s; gateways configured: %s", channel, why, have);
                rc = -1;
            }
            continue;
        }
        bool found = false;
        for (size_t g = 0; g < config_gateway_count(cfg) && !found; g++) {
            const struct gateway_type *gt = gateway_type_find(config_gateway_type(cfg, g));
            found = gt && strcmp(gt->channel, channel) == 0;
        }
        if (!found) {
            snprintf(err, errlen, "channel %s has no gateway in the configuration (%s); gateways "
                                  "configured: %s", channel, config_path(cfg), have);
            rc = -1;
        }
    }
    PQclear(r);
    return rc;
}

/* Every citizen's rendering fits the gateway of each step (parts are counted for the longest
 * rendering, not the sample: a message over the gateway's max_parts would be refused). Renders the whole segment once per step; the refusal shows
 * the longest rendering so that the officer can shorten the template. */
static int check_renderings(const struct config *cfg, PGconn *db, const char *idtxt, const char *segment,
                            bool one_per_phone, cJSON *estimates, char *err, size_t errlen)
{
    PGresult *r = channels_query(db, idtxt, err, errlen);
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
                                     cfg, PQgetisnull(r, i, 3) ? NULL : PQgetvalue(r, i, 3),
                                     one_per_phone, pr, why, sizeof why) < 0) {
            if (pr->has_longest)
                snprintf(err, errlen, "template '%s': %s\nlongest rendering (citizen %" PRId64 ", %d parts):\n%s",
                         PQgetvalue(r, i, 1), why, pr->longest_id, pr->longest_info.parts, pr->longest);
            else
                snprintf(err, errlen, "template '%s': %s", PQgetvalue(r, i, 1), why);
            rc = -1;
        } else
            estimate_add(estimates, PQgetvalue(r, i, 1), pr);
        filter_sql_free(&f);
    }
    free(pr);
    PQclear(r);
    return rc;
}

int campaign_start(PGconn *db, const struct config *cfg, const struct campaign_row *row,
                   const char *who, struct campaign_change *out, char *err, size_t errlen)
{
    char why[ERRLEN];
    if (row->status != CAMP_DRAFT) {
        snprintf(err, errlen, "campaign '%s' is %s; it cannot be started", row->name,
                 campaign_status_name(row->status));
        return -1;
    }
    char idtxt[24];
    snprintf(idtxt, sizeof idtxt, "%" PRId64, row->id);
    const char *p[3] = {idtxt, NULL, row->per_phone};
    PGresult *r = db_query(db, err, errlen,
                           "SELECT ends_at IS NOT NULL AND ends_at <= loa_now() FROM campaigns WHERE id = $1::bigint",
                           1, p);
    if (!r)
        return -1;
    bool ended = PQgetvalue(r, 0, 0)[0] == 't';
    PQclear(r);
    if (ended) {
        snprintf(err, errlen, "campaign '%s' ends in the past; it cannot be started", row->name);
        return -1;
    }
    if (check_templates(db, idtxt, why, sizeof why) < 0 ||
        check_gateways(cfg, db, idtxt, why, sizeof why) < 0) {
        snprintf(err, errlen, "campaign '%s': %s", row->name, why);
        return -1;
    }
    long long n = segment_size(db, row->segment_name, why, sizeof why);
    if (n < 0) {
        snprintf(err, errlen, "campaign '%s': segment '%s': %s", row->name, row->segment_name, why);
        return -1;
    }
    long threshold = config_int(cfg, "policy", "approval_threshold");
    bool needs = n > threshold;
    p[1] = needs ? "true" : "false";
    /* A row that does not say (per_phone "") keeps the stored choice. */
    r = db_query(db, err, errlen,
                 "UPDATE campaigns SET needs_approval = $2::boolean, per_phone = coalesce(nullif($3, ''), per_phone)"
                 " WHERE id = $1::bigint RETURNING per_phone = 'one'", 3, p);
    if (!r)
        return -1;
    bool one_per_phone = PQntuples(r) == 1 && PQgetvalue(r, 0, 0)[0] == 't';
    PQclear(r);
    if (needs && !row->approved) {
        snprintf(err, errlen, "campaign '%s' targets %lld citizens, more than the approval threshold "
                              "of %ld: a supervisor must approve it first (`loa campaign approve %s --by NAME`)",
                 row->name, n, threshold, row->name);
        return -1;
    }
    /* Last, because it renders the whole segment: every rendering fits, and the officer sees
     * what the campaign will cost before it starts. */
    char rerr[8192];
    if (check_renderings(cfg, db, idtxt, row->segment_name, one_per_phone,
                         out->estimates, rerr, sizeof rerr) < 0 ||
        campaign_set_status(db, row->id, CAMP_SET(CAMP_DRAFT), CAMP_SCHEDULED, "started", NULL, rerr,
                            sizeof rerr) < 0) {
        snprintf(err, errlen, "campaign '%s' cannot start: %s", row->name, rerr);
        return -1;
    }
    campaign_notify(db, row->id);
    out->status = "scheduled";
    out->count_key = "segment_size";
    out->count = n;
    return 0;
}

int campaign_pause(PGconn *db, const struct config *cfg, const struct campaign_row *row,
                   const char *who, struct campaign_change *out, char *err, size_t errlen)
{
    if (campaign_set_status(db, row->id, CAMP_SET(CAMP_SCHEDULED) | CAMP_SET(CAMP_RUNNING),
                            CAMP_PAUSED, "paused", NULL, err, errlen) < 0)
        return -1;
    campaign_notify(db, row->id);
    out->status = "paused";
    return 0;
}

int campaign_resume(PGconn *db, const struct config *cfg, const struct campaign_row *row,
                    const char *who, struct campaign_change *out, char *err, size_t errlen)
{
    /* Back to where it was paused from: a campaign paused before the daemon started it is
     * scheduled again, one paused while running runs again. */
    enum campaign_status to = row->paused_from == CAMP_RUNNING ? CAMP_RUNNING : CAMP_SCHEDULED;
    if (campaign_set_status(db, row->id, CAMP_SET(CAMP_PAUSED), to, "resumed", NULL, err,
                            errlen) < 0)
        return -1;
    campaign_notify(db, row->id);
    out->status = campaign_status_name(to);
    return 0;
}

int campaign_cancel(PGconn *db, const struct config *cfg, const struct campaign_row *row,
                    const char *who, struct campaign_change *out, char *err, size_t errlen)
{
    if (db_begin(db, err, errlen) < 0)
        return -1;
    unsigned live = 0;
    for (int s = 0; s < CAMP_NSTATUS; s++)
        if (!campaign_status_final((enum campaign_status)s))
            live |= CAMP_SET(s);
    if (campaign_set_status(db, row->id, live, CAMP_CANCELLED, "cancelled", NULL, err, errlen) < 0) {
        db_rollback(db);
        return -1;
    }
    /* Every message not yet handed to a gateway, in one statement, in the same transaction as
     * the status: the states that may become cancelled are the state machine's. A leased
     * message is in a dispatcher's hands; the daemon settles it when its answer comes. */
    char idtxt[24];
    snprintf(idtxt, sizeof idtxt, "%" PRId64, row->id);
    const char *p[2] = {idtxt, message_states_waiting_into(MSG_CANCELLED)};
    PGresult *r = db_query(db, err, errlen,
                           "SELECT loa_cancel_messages($1::bigint, $2::text[])", 2, p);
    if (!r) {
        db_rollback(db);
        return -1;
    }
    long long n = strtoll(PQgetvalue(r, 0, 0), NULL, 10);
    PQclear(r);
    if (db_commit(db, err, errlen) < 0)
        return -1;
    campaign_notify(db, row->id);
    out->status = "cancelled";
    out->count_key = "messages_cancelled";
    out->count = n;
    return 0;
}

/* The gateways that ask for the SMSC's acknowledgement, as a text[] literal. */
static const char *acked_gateways(const struct config *cfg, struct pgarray *out)
{
    pgarray_init(out);
    for (size_t i = 0; i < config_gateway_count(cfg); i++) {
        const char *type = config_gateway_type(cfg, i);
        const struct gateway_type *gt = gateway_type_find(type ? type : "");
        if (gt && gt->acked && gt->acked(cfg, config_gateway_section(cfg, i)))
            pgarray_text(out, config_gateway_name(cfg, i));
    }
    return pgarray_end(out);
}

int campaign_resend_in_doubt(PGconn *db, const struct config *cfg, const struct campaign_row *row,
                             int settle_s, bool apply, const char *who, struct campaign_resend *out,
                             char *err, size_t errlen)
{
    memset(out, 0, sizeof *out);
    out->status = campaign_status_name(row->status);
    if (row->status != CAMP_RUNNING && row->status != CAMP_PAUSED && row->status != CAMP_COMPLETED) {
        snprintf(err, errlen, "campaign '%s' is %s: only a running, paused or completed campaign has messages "
                 "to resend", row->name, campaign_status_name(row->status));
        return -1;
    }
    if (db_begin(db, err, errlen) < 0)
        return -1;
    char idtxt[24], settle[16];
    snprintf(idtxt, sizeof idtxt, "%" PRId64, row->id);
    snprintf(settle, sizeof settle, "%d", settle_s);
    /* Locked, so that a daemon completing or an officer cancelling it waits for this. */
    const char *q[1] = {idtxt};
    PGresult *r = db_query(db, err, errlen,
                           "SELECT archived_at IS NOT NULL, ends_at IS NOT NULL AND ends_at <= loa_now(), status"
                           "  FROM campaigns WHERE id = $1::bigint FOR UPDATE", 1, q);
    if (!r)
        goto fail;
    bool archived = PQntuples(r) == 1 && PQgetvalue(r, 0, 0)[0] == 't';
    bool ended = PQntuples(r) == 1 && PQgetvalue(r, 0, 1)[0] == 't';
    enum campaign_status now = row->status;
    if (PQntuples(r) == 1)
        campaign_status_parse(PQgetvalue(r, 0, 2), &now);
    PQclear(r);
    if (archived || ended || now != row->status) {
        snprintf(err, errlen, "campaign '%s' %s: nothing of it can be sent again", row->name,
                 archived ? "is archived" : ended ? "has passed its end" : "changed status meanwhile");
        goto fail;
    }
    struct pgarray acked;
    const char *p[4] = {idtxt, acked_gateways(cfg, &acked), settle, apply ? "true" : "false"};
    r = db_query(db, err, errlen,
                 "SELECT in_doubt, reported, recent, unprovable, opted_out, resend"
                 "  FROM loa_resend_in_doubt($1::bigint, $2::text[], $3::int, $4::boolean)", 4, p);
    pgarray_free(&acked);
    if (!r)
        goto fail;
    long long *f[6] = {&out->in_doubt, &out->reported, &out->recent, &out->unprovable, &out->opted_out,
                       &out->resend};
    for (int i = 0; i < 6; i++)
        *f[i] = strtoll(PQgetvalue(r, 0, i), NULL, 10);
    PQclear(r);
    if (!apply || out->resend == 0) {
        db_rollback(db);
        return 0;
    }
    if (row->status == CAMP_COMPLETED) {
        if (campaign_set_status(db, row->id, CAMP_SET(CAMP_COMPLETED), CAMP_RUNNING, "reopened", NULL, err,
                                errlen) < 0)
            goto fail;
        out->status = "running";
    }
    char n[24];
    snprintf(n, sizeof n, "%lld", out->resend);
    const char *a[4] = {who, idtxt, n, settle};
    r = db_query(db, err, errlen,
                 "INSERT INTO audit (user_name, action, object, detail)"
                 " VALUES ($1, 'campaign.resend', 'campaign:' || $2,"
                 "         jsonb_build_object('in_doubt_resent', $3::bigint, 'settle_s', $4::int))", 4, a);
    if (!r)
        goto fail;
    PQclear(r);
    if (db_commit(db, err, errlen) < 0)
        return -1;
    out->applied = true;
    campaign_notify(db, row->id);
    return 0;
fail:
    db_rollback(db);
    return -1;
}
