/* The http_sms delivery callback on arbitrary query strings: never crashes, accepts only a token
 * made for the report's own request id, and maps every accepted status to a known DLR. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "gateways/http_sms.h"
#include "gateways/kannel.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static struct http_sms_conf c;
    if (!c.secret[0]) {
        strcpy(c.secret, "fuzz-secret");
        strcpy(c.d_id, "SMSID");
        strcpy(c.d_status, "SendStatus");
        strcpy(c.d_request_id, "RequestId");
        strcpy(c.delivered_codes, "5");
        strcpy(c.undelivered_codes, "4,6");
    }
    const char *raw = (const char *)data;
    char t[80], rid[80], st[80], id[200];
    const char *pt = kannel_query_get(raw, size, "t", t, sizeof t) >= 0 ? t : NULL;
    const char *pr = kannel_query_get(raw, size, "RequestId", rid, sizeof rid) >= 0 ? rid : NULL;
    const char *ps = kannel_query_get(raw, size, "SendStatus", st, sizeof st) >= 0 ? st : NULL;
    const char *pi = kannel_query_get(raw, size, "SMSID", id, sizeof id) >= 0 ? id : NULL;
    /* Half the inputs carry the right token for their request id, to reach the later checks. */
    char good[33];
    if (pr && size > 0 && (data[0] & 1)) {
        http_sms_token(c.secret, pr, good);
        pt = good;
    }
    struct http_sms_dlr d;
    int rc = http_sms_dlr_check(&c, pt, pr, ps, pi, &d);
    if (rc != 200 && rc != 400 && rc != 403)
        abort();
    if (rc == 200) {
        char want[33];
        http_sms_token(c.secret, pr, want);
        if (!pt || strcmp(want, pt) != 0 || d.campaign_id <= 0 || d.message_id <= 0 || !d.status[0])
            abort();
        if (d.dlr != GW_DLR_DELIVERED && d.dlr != GW_DLR_UNDELIVERED && d.dlr != GW_DLR_INTERMEDIATE)
            abort();
        if ((d.dlr == GW_DLR_DELIVERED) != http_sms_code_in(c.delivered_codes, d.status))
            abort();
    }
    return 0;
}
