#include "campaigns/campaign.h"
#include "core/db.h"
#include "core/log.h"
#include "core/pgarray.h"

#include <ctype.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* The statuses of SET as an array literal, {"draft","paused"}, for `status = ANY(…)`. */
static const char *status_set_literal(unsigned set, struct pgarray *a)
{
    pgarray_init(a);
    for (int i = 0; i < CAMP_NSTATUS; i++)
        if (set & CAMP_SET(i))
            pgarray_text(a, campaign_status_name((enum campaign_status)i));
    return pgarray_end(a);
}

int campaign_set_status(PGconn *db, int64_t id, unsigned from_set, enum campaign_status to,
                        const char *verb, enum campaign_status *was, char *err, size_t errlen)
{
    unsigned legal = 0;
    for (int f = 0; f < CAMP_NSTATUS; f++)
        if ((from_set & CAMP_SET(f)) && campaign_transition_ok((enum campaign_status)f, to))
            legal |= CAMP_SET(f);
    char idtxt[24];
    snprintf(idtxt, sizeof idtxt, "%" PRId64, id);
    struct pgarray froms;
    const char *p[3] = {idtxt, campaign_status_name(to), status_set_literal(legal, &froms)};
    /* loa_campaign_set_status (sql/functions/50_lifecycle.sql) reads the old status in the same
     * statement, so *WAS is exactly the status it moved from. */
    PGresult *r = db_query(db, err, errlen,
        "SELECT was, name FROM loa_campaign_set_status($1::bigint, $2::text, $3::text[])", 3, p);
    pgarray_free(&froms);
    if (!r)
        return -1;
    if (PQntuples(r) == 1) {
        enum campaign_status old = CAMP_DRAFT;
        campaign_status_parse(PQgetvalue(r, 0, 0), &old);
        log_info("event=campaign_status campaign=%" PRId64 " from=%s to=%s", id,
                 campaign_status_name(old), campaign_status_name(to));
        if (was)
            *was = old;
        PQclear(r);
        return 0;
    }
    PQclear(r);
    /* Refused: say what the campaign is now, so the officer knows why. */
    const char *q[1] = {idtxt};
    r = db_query(db, err, errlen, "SELECT name, status FROM campaigns WHERE id = $1::bigint", 1, q);
    if (!r)
        return -1;
    if (PQntuples(r) == 0)
        snprintf(err, errlen, "no campaign with id %s", idtxt);
    else
        snprintf(err, errlen, "campaign '%s' is %s; it cannot be %s", PQgetvalue(r, 0, 0),
                 PQgetvalue(r, 0, 1), verb ? verb : campaign_status_name(to));
    PQclear(r);
    return -1;
}

/* ---- Times ---- */

static int digits(const char **s, int n, int *out)
{
    int v = 0;
    for (int i = 0; i < n; i++) {
        if (!isdigit((unsigned char)(*s)[i]))
            return -1;
        v = v * 10 + ((*s)[i] - '0');
    }
    *s += n;
    *out = v;
    return 0;
}

static int days_in_month(int y, int m)
{
    static const int d[12] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    bool leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
    return m == 2 && leap ? 29 : d[m - 1];
}

int campaign_time_parse(const char *s, struct campaign_time *out)
{
    struct campaign_time t = {0};
    if (!s)
        return -1;
    if (digits(&s, 4, &t.year) < 0 || *s++ != '-' || digits(&s, 2, &t.month) < 0 ||
        *s++ != '-' || digits(&s, 2, &t.day) < 0)
        return -1;
    if (t.year < 2000 || t.year > 2999 || t.month < 1 || t.month > 12 || t.day < 1 ||
        t.day > days_in_month(t.year, t.month))
        return -1;
    if (*s == 'T' || *s == 't' || *s == ' ') {
        s++;
        if (digits(&s, 2, &t.hour) < 0 || *s++ != ':' || digits(&s, 2, &t.minute) < 0)
            return -1;
        if (*s == ':') {
            s++;
            if (digits(&s, 2, &t.second) < 0)
                return -1;
        }
        if (t.hour > 23 || t.minute > 59 || t.second > 59)
            return -1;
        if (*s == 'Z' || *s == 'z') {
            s++;
            t.has_offset = true;
        } else if (*s == '+' || *s == '-') {
            int sign = *s++ == '-' ? -1 : 1, oh, om = 0;
            if (digits(&s, 2, &oh) < 0)
                return -1;
            if (*s == ':')
                s++;
            if (*s && digits(&s, 2, &om) < 0)
                return -1;
            if (oh > 14 || om > 59 || oh * 60 + om > 14 * 60)
                return -1;
            t.has_offset = true;
            t.offset_min = sign * (oh * 60 + om);
        }
    }
    if (*s)
        return -1;
    *out = t;
    return 0;
}

void campaign_time_format(const struct campaign_time *t, char *buf, size_t len)
{
    int n = snprintf(buf, len, "%04d-%02d-%02d %02d:%02d:%02d", t->year, t->month, t->day,
                     t->hour, t->minute, t->second);
    if (t->has_offset && n > 0 && (size_t)n < len) {
        int o = t->offset_min < 0 ? -t->offset_min : t->offset_min;
        snprintf(buf + n, len - (size_t)n, "%c%02d:%02d", t->offset_min < 0 ? '-' : '+', o / 60,
                 o % 60);
    }
}

/* ---- Channels ---- */

/* Copies [B, E) trimmed of blanks into OUT; -1 when it does not fit. */
static int copy_trimmed(const char *b, const char *e, char *out, size_t len)
{
    while (b < e && isspace((unsigned char)*b))
        b++;
    while (e > b && isspace((unsigned char)e[-1]))
        e--;
    if ((size_t)(e - b) >= len)
        return -1;
    memcpy(out, b, (size_t)(e - b));
    out[e - b] = '\0';
    return 0;
}

static bool gateway_name_ok(const char *s)
{
    if (!*s)
        return false;
    for (; *s; s++)
        if (!isalnum((unsigned char)*s) && *s != '_' && *s != '-' && *s != '.')
            return false;
    return true;
}

static int parse_step(const char *b, const char *e, int i, struct channel_spec *st, char *err,
                      size_t errlen)
{
    const char *colon = memchr(b, ':', (size_t)(e - b));
    if (!colon) {
        snprintf(err, errlen, "channel %d: expected CHANNEL:TEMPLATE (e.g. zalo:may_zns), got '%.*s'",
                 i + 1, (int)(e - b), b);
        return -1;
    }
    char head[96];
    if (copy_trimmed(b, colon, head, sizeof head) < 0) {
        snprintf(err, errlen, "channel %d: channel name too long", i + 1);
        return -1;
    }
    char *at = strchr(head, '@');
    if (at) {
        *at = '\0';
        if (!gateway_name_ok(at + 1) || strlen(at + 1) >= sizeof st->gateway) {
            snprintf(err, errlen, "channel %d: bad gateway name '%s'", i + 1, at + 1);
            return -1;
        }
        snprintf(st->gateway, sizeof st->gateway, "%s", at + 1);
    } else
        st->gateway[0] = '\0';
    if (strcmp(head, "sms") != 0 && strcmp(head, "zalo") != 0) {
        snprintf(err, errlen, "channel %d: unknown channel '%s' (sms or zalo)", i + 1, head);
        return -1;
    }
    snprintf(st->channel, sizeof st->channel, "%s", head);
    if (copy_trimmed(colon + 1, e, st->template_name, sizeof st->template_name) < 0) {
        snprintf(err, errlen, "channel %d: template name too long", i + 1);
        return -1;
    }
    if (!st->template_name[0]) {
        snprintf(err, errlen, "channel %d (%s): no template named", i + 1, st->channel);
        return -1;
    }
    return 0;
}

int campaign_channels_parse(const char *spec, struct channel_spec *out, int *n, char *err,
                            size_t errlen)
{
    *n = 0;
    if (!spec || !*spec) {
        snprintf(err, errlen, "no channels given (e.g. --channels zalo:may_zns,sms:may_sms)");
        return -1;
    }
    const char *b = spec;
    for (int i = 0;; i++) {
        const char *e = strchr(b, ',');
        if (!e)
            e = b + strlen(b);
        if (i >= CAMPAIGN_MAX_CHANNELS) {
            snprintf(err, errlen, "more than %d channels (each of sms and zalo at most once)",
                     CAMPAIGN_MAX_CHANNELS);
            return -1;
        }
        if (parse_step(b, e, i, &out[i], err, errlen) < 0)
            return -1;
        for (int j = 0; j < i; j++)
            if (strcmp(out[j].channel, out[i].channel) == 0) {
                snprintf(err, errlen, "channel %s named twice", out[i].channel);
                return -1;
            }
        *n = i + 1;
        if (!*e)
            return 0;
        b = e + 1;
    }
}

bool campaign_per_phone_valid(const char *per_phone)
{
    return per_phone && (strcmp(per_phone, "one") == 0 || strcmp(per_phone, "all") == 0);
}

/* ---- Lookup ---- */

#define FIND_SQL                                                                              \
    "SELECT c.id, c.name, c.status, c.segment_id, s.name, c.approved_at, c.approved_by,"     \
    " c.paused_from, c.per_phone FROM campaigns c JOIN segments s ON s.id = c.segment_id"

int campaign_find(PGconn *db, const char *key, struct campaign_row *out, char *err,
                  size_t errlen)
{
    /* A number is an id only when no campaign has it as its name, so a campaign named "2026"
     * is found; both in one statement (a round trip costs milliseconds on a busy machine). */
    size_t len = strlen(key);
    bool numeric = len > 0 && len < 19;
    for (size_t i = 0; i < len && numeric; i++)
        numeric = isdigit((unsigned char)key[i]);
    const char *p[2] = {key, numeric ? key : NULL};
    PGresult *r = db_query(db, err, errlen,
                           FIND_SQL " WHERE c.name = $1 OR c.id = $2::bigint ORDER BY c.name = $1 DESC LIMIT 1",
                           2, p);
    if (!r)
        return -1;
    int found = PQntuples(r) == 1;
    if (found) {
        memset(out, 0, sizeof *out);
        out->id = strtoll(PQgetvalue(r, 0, 0), NULL, 10);
        snprintf(out->name, sizeof out->name, "%s", PQgetvalue(r, 0, 1));
        campaign_status_parse(PQgetvalue(r, 0, 2), &out->status);
        out->segment_id = strtoll(PQgetvalue(r, 0, 3), NULL, 10);
        snprintf(out->segment_name, sizeof out->segment_name, "%s", PQgetvalue(r, 0, 4));
        out->approved = !PQgetisnull(r, 0, 5);
        snprintf(out->approved_by, sizeof out->approved_by, "%s", PQgetvalue(r, 0, 6));
        out->paused_from = CAMP_SCHEDULED;
        if (!PQgetisnull(r, 0, 7))
            campaign_status_parse(PQgetvalue(r, 0, 7), &out->paused_from);
        snprintf(out->per_phone, sizeof out->per_phone, "%s", PQgetvalue(r, 0, 8));
    }
    PQclear(r);
    if (found)
        return 0;
    snprintf(err, errlen, "no campaign '%s' (give its name or id; `loa campaign list`)", key);
    return -1;
}
