/* Zalo webhooks on arbitrary bytes: decoding never crashes or reads past the input; a request
 * is accepted only with the signature of exactly its bytes; every field the engine uses is
 * present on acceptance. The first byte picks whether the fuzzer's body is also correctly signed,
 * so that both the refusal and the decoding paths are explored. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "gateways/zalo_webhook.h"

#define SIG_ID "1234567890"
#define SIG_KEY "oa-secret-key"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1)
        return 0;
    int sign = data[0] & 1;
    const char *body = (const char *)data + 1;
    size_t len = size - 1;

    struct zalo_wh_event ev;
    char why[96];
    int rc = zalo_wh_parse(body, len, &ev, why, sizeof why);
    char header[70] = "mac=0000000000000000000000000000000000000000000000000000000000000000";
    int64_t now = 0;
    if (rc == 0) {
        if (!ev.event_name || !ev.timestamp)
            abort();
        switch (ev.kind) {
        case ZALO_WH_RECEIPT:
            if (!ev.msg_id && !ev.tracking_id)
                abort();
            if ((ev.campaign_id == 0) != (ev.message_id == 0) || ev.campaign_id < 0)
                abort();
            break;
        case ZALO_WH_SEEN:
            if (ev.n_seen > ZALO_WH_MAX_SEEN)
                abort();
            for (size_t i = 0; i < ev.n_seen; i++)
                if (!ev.seen[i] || !ev.seen[i][0])
                    abort();
            break;
        case ZALO_WH_REPLY:
            if (!ev.user_id || !ev.text || !ev.msg_id)
                abort();
            break;
        case ZALO_WH_FOLLOW:
        case ZALO_WH_UNFOLLOW:
            if (!ev.user_id)
                abort();
            break;
        case ZALO_WH_IGNORED:
            break;
        }
        if (sign)
            zalo_wh_signature_make(SIG_ID, body, len, ev.timestamp, SIG_KEY, header);
        now = ev.timestamp_ms;
        zalo_wh_event_free(&ev);
    }
    struct zalo_wh_verdict v;
    zalo_wh_check(body, len, header, SIG_ID, SIG_KEY, 900, now, &ev, &v);
    if (v.status != 200 && v.status != 400 && v.status != 403)
        abort();
    if (v.status == 200) {
        /* Only a correctly signed body of a decodable event gets through. */
        if (!sign || rc != 0)
            abort();
        if (!zalo_wh_signature_ok(header, SIG_ID, body, len, ev.timestamp, SIG_KEY))
            abort();
        zalo_wh_event_free(&ev);
    } else if (sign && rc == 0) {
        abort();
    }
    /* The same signature never verifies with the other configured id or key. */
    if (sign && rc == 0 && zalo_wh_signature_ok(header, SIG_KEY, body, len, "0", SIG_ID))
        abort();
    return 0;
}
