#ifndef LOA_PREVIEW_H
#define LOA_PREVIEW_H
#include <libpq-fe.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "gateways/smstext.h"
#include "campaigns/template.h"

/* Template preview over a segment: the officer sees encoding, parts and cost of the LONGEST
 * rendering, not only the sample, before a campaign starts (an SMS is billed per part, and the
 * longest citizen's message decides how many parts the campaign needs). The segment is streamed in
 * single-row mode, so memory does not grow with its size. */

struct config;
struct cJSON;

struct preview_lang {
    char language[8];
    long citizens;
};

struct preview_result {
    enum tpl_channel channel;
    char gateway[64];               /* the gateway priced; "" when none is configured */
    int max_parts;
    long price_per_part_vnd;        /* per SMS part, or per ZNS message */
    long citizens;                  /* in the segment */
    long sendable;                  /* reachable on the channel */
    long same_phone;                /* of those, not sent with one message per phone: another
                                     * member of the segment on their phone gets it */
    long long same_phone_parts;     /* the SMS parts (ZNS: messages) they would have cost */
    long long saving_vnd;           /* and their price: what one message per phone saves */
    long failed;                    /* sendable citizens whose rendering is refused */
    long over_max_parts;            /* SMS renderings longer than max_parts */
    long long total_parts;          /* SMS parts (ZNS: messages) of all sendable citizens */
    long long cost_vnd;
    int emoji;                      /* emoji in the variants' own text */
    int has_sample;
    int64_t sample_id;
    char sample_language[8];
    char sample[TPL_RENDER_MAX];    /* SMS text, or ZNS template_data JSON */
    struct sms_info sample_info;
    int has_longest;
    int64_t longest_id;
    char longest[TPL_RENDER_MAX];
    struct sms_info longest_info;
    char first_failure[256];        /* why the first refused rendering was refused */
    int nlanguages;                 /* variants used, and by how many sendable citizens */
    struct preview_lang languages[TPL_MAX_VARIANTS];
};

/* Renders template TEMPLATE_ID for every citizen of SEGMENT_WHERE (a boolean expression over
 * `citizens c` compiled with param_base 1: $1 is taken by the channel, PARAMS fill $2…) and
 * prices it on GATEWAY (NULL: the first configured gateway of the template's channel). The
 * sample is the first citizen of the segment by id. With ONE_PER_PHONE, a reachable citizen
 * who shares a phone with a member that segment_household_order_sql() puts first is counted in
 * same_phone instead of total_parts and cost_vnd. OUT is filled in every case where the
 * segment could be read. Returns 0 when every sendable citizen's rendering is accepted, -1 with
 * the reason in ERR otherwise (over max_parts or a ZNS limit: the longest rendering is in OUT),
 * or on a database error. */
int template_preview_segment(PGconn *db, int64_t template_id, const char *segment_where,
                             char **params, int nparams, const struct config *cfg,
                             const char *gateway, bool one_per_phone, struct preview_result *out,
                             char *err, size_t errlen);

/* `loa template preview`: template NAME over SEGMENT (NULL: all citizens), priced on GATEWAY
 * (NULL: the first of the channel), the sample being citizen CITIZEN (digits) when not NULL,
 * one message per phone unless ALL_PER_PHONE. */
struct preview_request {
    const char *name, *segment, *gateway, *citizen;
    bool all_per_phone;
};
/* 0 with O filled; 1 with O filled and the refusal in ERR (a rendering over max_parts or a ZNS
 * limit: the longest is in O); -1 with ERR when there is nothing to show. */
int template_preview(PGconn *db, const struct config *cfg, const struct preview_request *q,
                     struct preview_result *o, char *err, size_t errlen);
/* The preview as text on OUT, or as a JSON object (for the caller to delete) whose "ok" is
 * false and "refused" REFUSAL when REFUSAL is not NULL. */
void preview_print_text(FILE *out, const char *name, const char *segment, const struct preview_result *o);
struct cJSON *preview_to_json(const char *name, const char *segment, const struct preview_result *o,
                              const char *refusal);

#endif
