#ifndef LOA_GATEWAY_H
#define LOA_GATEWAY_H
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "gateways/smstext.h"
#include "core/config.h"

#include <curl/curl.h>
#include <uv.h>

/* One interface for every gateway, a small vtable (struct gateway_type). The dispatcher owns
 * leasing, rendering, throttling (rate, concurrency window, daily quota, sending window) and
 * recording outcomes; a gateway only speaks its provider's protocol: submit one message and say
 * what happened, and turn the provider's webhooks into events. */

struct gateway;
struct gw_event;
struct http_req;
struct httpc;
struct httpc_request;
struct pgpool;

/* What a gateway may use of the daemon that runs it, filled in by the daemon (engine/serve.c)
 * before any gateway is opened and valid until the last gateway is closed. Gateways reach the
 * daemon only through this: they sit below it and never include engine/. */
struct gw_host {
    uv_loop_t *loop;
    struct pgpool *db;
    struct httpc *http;
    const char *instance;           /* host:pid, written into leases */
    /* Applies events decoded from a webhook (engine/events.h has the contract). */
    int (*events_apply)(struct gw_host *h, struct gateway *gw, const struct gw_event *ev, size_t n,
                        void (*cb)(void *arg, int rc), void *arg);
    /* The configured gateway called NAME, or NULL. */
    struct gateway *(*find)(struct gw_host *h, const char *name);
    void *owner;                    /* the daemon's own context for the two functions above */
};

/* What the dispatcher hands a gateway. Strings live until the submit callback has returned. */
struct gw_message {
    int64_t campaign_id;
    int64_t message_id;
    int attempts;                /* attempts made before this one */
    const char *phone;           /* 84XXXXXXXXX, or NULL */
    const char *zalo_user_id;    /* or NULL */
    const char *text;            /* SMS / consultation text, UTF-8 */
    size_t text_len;
    enum sms_coding coding;      /* chosen by smstext_measure() */
    int parts;
    const char *zns_template_id; /* ZNS only */
    const char *zns_data_json;   /* ZNS only: the template_data object as JSON text */
    bool priority;               /* an answer to a citizen (campaign_id 0, message_id the answer's
                                  * id): ahead of campaign traffic where the gateway can say so */
};

enum gw_outcome {
    GW_ACCEPTED,    /* taken by the gateway; a delivery report may follow */
    GW_DELIVERED,   /* known delivered already */
    GW_TEMPFAIL,    /* try again later (back-off), up to engine.max_attempts */
    GW_PERMFAIL,    /* never retry this message on this channel */
    GW_FALLBACK,    /* this channel cannot reach the citizen: hand over to the next channel */
    GW_IN_DOUBT,    /* may or may not have been sent (timeout on a non-idempotent gateway) */
};

/* What the answer means for the gateway or the campaign, beyond this one message. */
enum gw_action {
    GW_ACT_NONE,
    GW_ACT_BACKOFF,     /* provider rate-limited us: shrink the window, wait retry_after_s */
    GW_ACT_PAUSE,       /* stop using this gateway until pause_until (quota, night ban) */
    GW_ACT_STOP_STEP,   /* this campaign's step on this gateway cannot work (template refused) */
};

/* Why an answer says the gateway itself is down rather than anything about the message: what
 * the circuit breaker counts (gateways/breaker.h). A message that meets a fault is never failed
 * for it: it waits for the gateway. */
enum gw_fault {
    GW_FAULT_NONE,
    GW_FAULT_AUTH,          /* credentials refused, endpoint moved (Kannel 403, HTTP 401/403/404) */
    GW_FAULT_UNREACHABLE,   /* connection refused or broken, name not resolved */
    GW_FAULT_TIMEOUT,       /* no answer in timeout_ms */
    GW_FAULT_SERVER,        /* 5xx other than a throttling answer */
};

struct gw_result {
    enum gw_outcome outcome;
    enum gw_action action;
    enum gw_fault fault;
    bool untried;                /* decided without asking the gateway: says nothing of its health */
    bool fallback_when_spent;    /* TEMPFAIL: after the last attempt, the next channel, not failed */
    char gateway_msg_id[96];
    char reason[160];            /* short, for messages.reason and logs: no personal data */
    int retry_after_s;           /* TEMPFAIL / BACKOFF: 0 = the engine's own back-off */
    int64_t pause_until;         /* PAUSE: unix seconds */
    bool no_zalo_account;        /* record citizens.has_zalo = false */
    bool phone_invalid;          /* record citizens.phone_invalid = true */
    long quota_remaining;        /* -1 unknown */
};
typedef void (*gw_submit_cb)(void *arg, const struct gw_result *r);

struct gateway_type {
    const char *name;               /* the `type` config value */
    const char *channel;            /* "sms" or "zalo" */
    const struct cfg_key *keys;     /* its own config keys, ended by a row with name NULL */
    bool idempotent;                /* resends carry the same key: in_doubt may be resent */
    /* Reads the configuration of GW->section, allocates GW->impl. */
    int  (*open)(struct gateway *gw, char *err, size_t errlen);
    /* 0: CB will be called exactly once, later, from the loop. <0: nothing was sent and CB will
     * not be called. */
    int  (*submit)(struct gateway *gw, const struct gw_message *m, gw_submit_cb cb, void *arg);
    /* Handles GET/POST /hooks/TYPE/NAME/SUBPATH; must answer REQ (now or later). May be NULL. */
    void (*webhook)(struct gateway *gw, struct http_req *req, const char *subpath);
    /* True when the gateway can take messages now (e.g. it holds a valid token). May be NULL. */
    bool (*ready)(struct gateway *gw);
    /* Frees GW->impl. Called after every submit callback has run. */
    void (*close)(struct gateway *gw);
    /* A reloaded configuration (SIGHUP): checks (APPLY false) or takes (APPLY true) the type's
     * own keys of GW->section in CFG, in place, so that requests in flight finish with what they
     * were sent with. Called on the loop, APPLY true only once every gateway's check passed; CFG
     * outlives the gateway. 0, or -1 with ERR. May be NULL: the type's keys are read at start. */
    int  (*reload)(struct gateway *gw, const struct config *cfg, bool apply, char *err, size_t errlen);
    /* The type's own keys that reload does not take (read once, when the gateway opens): a
     * changed one is logged as needing a restart. Ended by NULL; NULL when reload takes all. */
    const char *const *restart_keys;
    /* True when gateway SECTION of CFG has every message that reached the SMSC reported within
     * seconds (Kannel's dlr_mask with 8): then an in-doubt message with no report while later
     * ones were reported provably never got there (loa campaign resend). May be NULL: never. */
    bool (*acked)(const struct config *cfg, const char *section);
};

struct gateway {
    const struct gateway_type *type;
    char name[64];
    char section[96];               /* "gateway.NAME" */
    const struct config *cfg;
    struct gw_host *host;           /* loop, database pool, HTTP client, events */
    void *impl;
};

/* For a submit that is decided before anything is sent (no token yet, no address): calls CB
 * with OUTCOME and REASON from the loop's next iteration, as submit's contract requires, and
 * returns 0; -1 when out of memory (CB is then not called). */
int gateway_defer_result(struct gateway *gw, gw_submit_cb cb, void *arg, enum gw_outcome outcome,
                         const char *reason);

/* For a gateway whose submit is one HTTP request: the provider's answer as a result. */
typedef void (*gw_http_classify)(struct gateway *gw, CURLcode cc, long status, const char *body,
                                 size_t len, struct gw_result *r);

/* Sends HR (its strings are copied and may be freed on return) for GW and, when the answer
 * comes, calls CB with what CLASSIFY makes of it. Submit's contract: 0, CB later and exactly
 * once; -1, nothing sent and CB not called. */
int gateway_http_submit(struct gateway *gw, const struct httpc_request *hr, gw_http_classify classify,
                        gw_submit_cb cb, void *arg);

/* What most opens do: allocates SIZE zeroed bytes and fills them with LOAD, which returns -1
 * with ERR set to refuse the section; GW->impl is set on success, the bytes wiped and freed on
 * refusal. */
typedef int (*gw_impl_load)(struct gateway *gw, void *impl, char *err, size_t errlen);
int gateway_open_impl(struct gateway *gw, size_t size, gw_impl_load load, char *err, size_t errlen);

/* What reload does for a type whose impl is only its configuration (SIZE bytes filled by LOAD):
 * loads CFG into a scratch copy and, with APPLY, copies it over GW->impl and points GW->cfg at
 * CFG. 0, or -1 with ERR and GW unchanged. */
int gateway_reload_impl(struct gateway *gw, const struct config *cfg, size_t size, gw_impl_load load,
                        bool apply, char *err, size_t errlen);

/* Wipes the SIZE bytes of GW->impl and frees it: a gateway's settings hold passwords and
 * secrets, which do not outlive the gateway in memory. */
void gateway_impl_free(struct gateway *gw, size_t size);

/* Copies S, a field of a provider's webhook, into OUT: 0, or -1 (OUT untouched) when S does not
 * fit OUTLEN with its NUL, holds a control character or is not UTF-8, any of which would corrupt
 * a log line or a stored event (PostgreSQL refuses text that is not UTF-8). */
int gateway_field_copy(char *out, size_t outlen, const char *s);

/* Copies URL into OUT without its trailing slashes, so that paths can be appended with "/…". */
void gateway_url_copy(char *out, size_t outlen, const char *url);

/* Refuses the webhook request REQ of GW with STATUS (403 "forbidden", else "bad request") and
 * logs it as webhook HOOK ("dlr", "zalo", …) with REASON: short, without personal data. */
void gateway_hook_refuse(struct gateway *gw, struct http_req *req, const char *hook, int status,
                         const char *reason);

/* Every gateway type, ended by NULL (gateways/registry.c). */
extern const struct gateway_type *const gateway_types[];
const struct gateway_type *gateway_type_find(const char *name);
/* Registers every gateway type's configuration keys with core/config (config_register_types);
 * call once before config_load(). */
void gateway_types_register(void);

/* "accepted", "tempfail", …: for logs. */
const char *gateway_outcome_name(enum gw_outcome o);
/* "none", "auth", "unreachable", "timeout", "server": for logs. */
const char *gateway_fault_name(enum gw_fault f);
/* The fault a transport error CC or an HTTP STATUS says, for answers the gateway's own
 * classification did not mark: curl errors and 5xx; GW_FAULT_NONE otherwise. */
enum gw_fault gateway_http_fault(CURLcode cc, long status);

/* Events decoded from webhooks, applied by gw_host.events_apply. */
enum gw_event_kind { GW_EV_DELIVERY, GW_EV_REPLY, GW_EV_FOLLOW, GW_EV_UNFOLLOW };
enum gw_dlr { GW_DLR_DELIVERED, GW_DLR_UNDELIVERED, GW_DLR_INTERMEDIATE };
struct gw_event {
    enum gw_event_kind kind;
    int64_t campaign_id, message_id;  /* 0 when the provider only knows its own id */
    const char *gateway_msg_id;       /* the provider's id, or NULL */
    enum gw_dlr dlr;
    const char *status;               /* the provider's status text, for delivery_events */
    const char *from;                 /* REPLY/FOLLOW: 84… phone or Zalo user id */
    const char *text;                 /* REPLY */
    const char *external_id;          /* de-duplication key (Zalo msg_id, Kannel id, …) */
    const char *raw;                  /* the request as received, for delivery_events */
};

#endif
