/* Fuzzes template compilation and rendering: any input is compiled as an SMS body and as a ZNS
 * parameter map; whatever compiles is rendered for a fixed citizen into buffers of several sizes,
 * then unaccented and measured, as the dispatcher would. */
#include <libpq-fe.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "gateways/smstext.h"
#include "campaigns/template.h"
#include "core/config.h"

static struct tpl_env *env;

static const struct tpl_citizen citizen = {
    .id = 7, .full_name = "Đặng Thị Hồng Nhung", .phone = "84912345678", .commune_code = "23200",
    .commune_name = "Phường Pleiku", .province_code = "52", .gender = "female",
    .birth_date = "1975-05-01", .group_code = "ethnic_minority", .language = "vi",
    .bhxh_code = "5212345678", .participation = "voluntary", .voluntary_due_date = "2026-05-31",
    .zalo_user_id = "1234567890", .tags = "{near_poor}",
};

static void env_make(void)
{
    struct config *cfg;
    char err[256];
    if (config_load(NULL, &cfg, err, sizeof err) < 0) abort();
    env = tpl_env_new(cfg);
    config_free(cfg);
    tpl_env_set_today(env, 2026, 5, 1);
    static const char *const row[] = {"1", "any", "", "other", "2025-07-01", "", "1500000", "22", "20"};
    PGresult *res = PQmakeEmptyPGresult(NULL, PGRES_TUPLES_OK);
    PGresAttDesc attrs[9];
    for (int i = 0; i < 9; i++)
        attrs[i] = (PGresAttDesc){.name = (char *)"c", .format = 0, .typid = 25, .typlen = -1, .atttypmod = -1};
    PQsetResultAttrs(res, 9, attrs);
    for (int i = 0; i < 9; i++) PQsetvalue(res, 0, i, (char *)row[i], (int)strlen(row[i]));
    if (tpl_env_load_policy(env, res, err, sizeof err) < 0) abort();
    PQclear(res);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (!env) env_make();
    char *body = malloc(size + 1);
    memcpy(body, data, size);
    body[size] = '\0';
    char err[256];
    struct template *t = template_compile(body, err, sizeof err);
    if (t) {
        static const size_t caps[] = {1, 16, 161, TPL_RENDER_MAX};
        for (size_t i = 0; i < sizeof caps / sizeof *caps; i++) {
            char *out = malloc(caps[i]);
            int n = template_render(t, &citizen, env, out, caps[i]);
            if (n >= 0) {
                if ((size_t)n >= caps[i] || strlen(out) != (size_t)n) abort();
                char *plain = malloc((size_t)n + 1);
                size_t u = smstext_unaccent(out, (size_t)n, plain, (size_t)n + 1);
                if (u == (size_t)-1 || u > (size_t)n) abort();   /* never longer than its input */
                struct sms_info a, b;
                smstext_measure(out, (size_t)n, &a);
                smstext_measure(plain, u, &b);
                if (a.parts < 1 || b.parts < 1 || a.units < 0) abort();
                free(plain);
            }
            free(out);
        }
        template_free(t);
    }
    struct tpl_zns_param *ps;
    int np;
    if (template_zns_compile(body, &ps, &np, err, sizeof err) == 0) template_zns_free(ps, np);
    free(body);
    return 0;
}
