#include "engine/intake.h"
#include "campaigns/faq.h"
#include "campaigns/keywords.h"
#include "campaigns/kwcache.h"
#include "campaigns/replies.h"
#include "core/log.h"
#include "engine/answers.h"
#include "engine/engine.h"
#include "gateways/gateway.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* The keyword table of the pool it was loaded through (one daemon, one pool). */
static struct kw_cache *keywords;

struct reply_job {
    struct engine *e;
    pg_cb cb;
    void *arg;
    const char *channel;        /* static: the gateway type's */
    const char *intent;         /* static: kw_intent_name() */
    char gateway[64];
    char *from, *text, *external;
    char *faq_answer;           /* a confident match, or NULL */
};

static void reply_job_free(struct reply_job *j)
{
    free(j->from);
    free(j->text);
    free(j->external);
    free(j->faq_answer);
    free(j);
}

static void taken(void *arg, PGresult *res, const char *err)
{
    struct reply_job *j = arg;
    if (res && PQntuples(res) == 1) {
        char masked[LOG_MASK_LEN];
        log_info("event=reply gw=%s from=%s intent=%s answer=%s", j->gateway,
                 log_mask_phone(j->from, masked, sizeof masked), PQgetvalue(res, 0, 1),
                 PQgetisnull(res, 0, 3) ? "-" : PQgetvalue(res, 0, 3));
    }
    j->cb(j->arg, res, err);
    reply_job_free(j);
}

/* Stores the reply with its intent (and its FAQ answer) in one statement. */
static void take(struct reply_job *j)
{
    /* Kept as received: bytes that are not UTF-8 are stored escaped, never refused. */
    char *body = reply_text_escape(j->text, strlen(j->text));
    struct answers_settings s = answers_settings(j->e->answers, j->e);
    char win[16], per[16], help[16];
    snprintf(win, sizeof win, "%d", s.attribution_days);
    snprintf(per, sizeof per, "%d", s.per_hour);
    snprintf(help, sizeof help, "%d", s.help_hours);
    const char *source = strcmp(j->channel, "zalo") == 0 ? "zalo_reply" : "sms_reply";
    const char *p[11] = {j->gateway, j->channel, j->from, body, j->external, j->intent, source,
                         win, per, help, j->faq_answer};
    int rc = body ? pgpool_query(j->e->db,
                                 "SELECT * FROM loa_take_reply($1, $2, $3, $4, $5, $6, $7, $8::int, $9::int,"
                                 " $10::int, $11)", 11, p, taken, j)
                  : -1;
    free(body);
    if (rc < 0)
        taken(j, NULL, "cannot queue the reply");
}

static void faq_loaded(void *arg, PGresult *res, const char *err)
{
    struct reply_job *j = arg;
    struct faq_bank *bank = err ? NULL : faq_bank_from_result(res);
    double score = 0;
    int i = bank ? faq_bank_match(bank, j->text, &score) : -1;
    if (i >= 0 && score >= FAQ_CONFIDENT)
        j->faq_answer = strdup(faq_bank_answer(bank, i));
    if (err)
        /* The reply is still stored; it waits for an officer instead of an automatic answer. */
        log_warn("event=faq_load_failed error=\"%s\"", err);
    log_debug("event=faq_match gw=%s faq=%lld score=%.2f", j->gateway, i >= 0 ? faq_bank_id(bank, i) : -1LL, score);
    faq_bank_free(bank);
    take(j);
}

static void reply_classified(void *arg, const struct kw_table *t)
{
    struct reply_job *j = arg;
    if (!t) {
        taken(j, NULL, "the keyword table could not be loaded");
        return;
    }
    enum kw_intent in = kw_classify(t, j->text);
    j->intent = kw_intent_name(in);
    /* A question, or text no keyword reads, may be one the bank answers. */
    if ((in == KW_QUESTION || in == KW_OTHER) &&
        pgpool_query(j->e->db, FAQ_BANK_SQL, 1, (const char *[]){j->e->settings.policy.timezone}, faq_loaded, j) == 0)
        return;
    take(j);
}

int intake_reply(struct engine *e, struct gateway *gw, const struct gw_event *ev, pg_cb cb, void *arg)
{
    if (!keywords || kw_cache_db(keywords) != e->db) {
        kw_cache_free(keywords);
        keywords = kw_cache_new(e->db);
    }
    struct reply_job *j = keywords ? calloc(1, sizeof *j) : NULL;
    if (!j)
        return -1;
    *j = (struct reply_job){.e = e, .cb = cb, .arg = arg, .channel = gw->type->channel};
    snprintf(j->gateway, sizeof j->gateway, "%s", gw->name);
    j->from = strdup(ev->from);
    j->text = strdup(ev->text ? ev->text : "");
    j->external = ev->external_id ? strdup(ev->external_id) : NULL;
    if (!j->from || !j->text || (ev->external_id && !j->external)) {
        reply_job_free(j);
        return -1;
    }
    kw_cache_get(keywords, reply_classified, j);
    return 0;
}
