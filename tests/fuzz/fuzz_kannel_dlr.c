/* Kannel's DLR and MO query parsing on arbitrary bytes: never crashes, never reads past the
 * input, and only ever accepts a report whose token matches. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "gateways/kannel.h"

#define SECRET "fuzz-secret"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const char *raw = (const char *)data;
    char c[64], m[64], t[64], s[64], ts[64], id[128], token[64];
    const char *pc = kannel_query_get(raw, size, "c", c, sizeof c) >= 0 ? c : NULL;
    const char *pm = kannel_query_get(raw, size, "m", m, sizeof m) >= 0 ? m : NULL;
    const char *pt = kannel_query_get(raw, size, "t", t, sizeof t) >= 0 ? t : NULL;
    const char *ps = kannel_query_get(raw, size, "s", s, sizeof s) >= 0 ? s : NULL;
    const char *pts = kannel_query_get(raw, size, "ts", ts, sizeof ts) >= 0 ? ts : NULL;
    const char *pid = kannel_query_get(raw, size, "id", id, sizeof id) >= 0 ? id : NULL;
    struct kannel_dlr d;
    int rc = kannel_dlr_check(SECRET, pc, pm, pt, ps, pts, pid, &d);
    if (rc != 200 && rc != 400 && rc != 403)
        abort();
    if (rc == 200) {
        char want[33];
        kannel_token(SECRET, d.campaign_id, d.message_id, want);
        if (!pt || strcmp(want, pt) != 0 || d.campaign_id <= 0 || d.message_id <= 0)
            abort();
        if (d.status != 1 && d.status != 2 && d.status != 4 && d.status != 8 && d.status != 16)
            abort();
    }
    if (kannel_query_get(raw, size, "token", token, sizeof token) >= 0 && kannel_mo_token_ok(SECRET, token) &&
        strcmp(token, SECRET) != 0)
        abort();
    /* Encoding what was decoded must give a valid query value again. */
    char enc[64 * 3 + 1];
    if (pc && kannel_urlencode(c, strlen(c), enc, sizeof enc) < 0)
        abort();
    return 0;
}
