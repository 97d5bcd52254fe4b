#ifndef LOA_PREVIEW_H
#define LOA_PREVIEW_H
#include <libpq-fe.h>
#include <stdint.h>

#include "gateways/smstext.h"
#include "campaigns/template.h"

/* Template preview over a segment (sms-vn.md: the officer sees encoding, parts and cost of the
 * LONGEST rendering, not only the sample, before a campaign starts). The segment is streamed in
 * single-row mode, so memory does not grow with its size. */

struct config;
struct cli;

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
    long sendable;                  /* reachable on the channel: rendered, counted and priced */
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
 * sample is the first citizen of the segment by id. OUT is filled in every case where the
 * segment could be read. Returns 0 when every sendable citizen's rendering is accepted, -1 with
 * the reason in ERR otherwise (over max_parts or a ZNS limit: the longest rendering is in OUT),
 * or on a database error. */
int template_preview_segment(PGconn *db, int64_t template_id, const char *segment_where,
                             char **params, int nparams, const struct config *cfg,
                             const char *gateway, struct preview_result *out, char *err,
                             size_t errlen);

/* `loa template preview NAME [--citizen ID] [--segment SEG] [--gateway GW] [--json]`. */
int cmd_template_preview(struct cli *c, int argc, char **argv);

#endif
