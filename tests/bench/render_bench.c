/* Rendering throughput: what the dispatcher does per SMS (pick the variant, render, unaccent when
 * the variant says so, measure encoding and parts) on one core, over 1,000 varied citizens.
 * Usage: render_bench [--unaccent] [RENDERS]. Prints `key<TAB>value<TAB>unit<TAB>description`. */
#include <libpq-fe.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "campaigns/template.h"
#include "core/config.h"

enum { CITIZENS = 1000 };

static PGresult *text_result(int ncols, int nrows, const char *const *cells)
{
    PGresult *res = PQmakeEmptyPGresult(NULL, PGRES_TUPLES_OK);
    PGresAttDesc attrs[16];
    char names[16][8];
    for (int i = 0; i < ncols; i++) {
        snprintf(names[i], sizeof names[i], "c%d", i);
        attrs[i] = (PGresAttDesc){.name = names[i], .format = 0, .typid = 25, .typlen = -1, .atttypmod = -1};
    }
    PQsetResultAttrs(res, ncols, attrs);
    for (int r = 0; r < nrows; r++)
        for (int c = 0; c < ncols; c++) {
            const char *v = cells[r * ncols + c];
            PQsetvalue(res, r, c, (char *)(v ? v : ""), v ? (int)strlen(v) : -1);
        }
    return res;
}

static const char *const policy_rows[] = {
    "10", "tag", "poor", "poor", "2025-07-01", "", "1500000", "22.00", "50.00",
    "20", "tag", "near_poor", "near_poor", "2025-07-01", "", "1500000", "22.00", "40.00",
    "30", "group", "ethnic_minority", "ethnic_minority", "2025-07-01", "", "1500000", "22.00", "30.00",
    "40", "not_language", "vi", "ethnic_minority", "2025-07-01", "", "1500000", "22.00", "30.00",
    "1000", "any", "", "other", "2025-07-01", "", "1500000", "22.00", "20.00",
};

int main(int argc, char **argv)
{
    int unaccent = 0;
    long renders = 5000000;
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--unaccent") == 0) unaccent = 1;
        else renders = atol(argv[i]);
    }
    char err[512];
    struct config *cfg;
    if (config_load(NULL, &cfg, err, sizeof err) < 0) { fprintf(stderr, "%s\n", err); return 1; }
    struct tpl_env *env = tpl_env_new(cfg);
    config_free(cfg);
    tpl_env_set_today(env, 2026, 5, 1);
    PGresult *pr = text_result(9, 5, policy_rows);
    if (tpl_env_load_policy(env, pr, err, sizeof err) < 0) { fprintf(stderr, "%s\n", err); return 1; }
    PQclear(pr);

    const char *flag = unaccent ? "t" : "f";
    const char *const variants[] = {
        "vi", "BHXH kính gửi {{salutation}} {{full_name}}: hạn đóng BHXH tự nguyện của {{salutation}} là "
              "{{voluntary_due_date}}, mức đóng thấp nhất {{min_contribution_vnd}}/tháng, Nhà nước hỗ trợ "
              "{{state_support_pct}}%. {{opt_out_hint}}", "sms", flag, NULL,
        "km", "BHXH: {{given_name}}, ថ្ងៃផុតកំណត់ {{voluntary_due_date}}. {{opt_out_hint}}", "sms", "f", NULL,
    };
    PGresult *vr = text_result(5, 2, variants);
    struct template_set *set = template_set_from_result(vr, err, sizeof err);
    PQclear(vr);
    if (!set) { fprintf(stderr, "%s\n", err); return 1; }

    static const char *fam[] = {"Nguyễn", "Trần", "Lê", "Phạm", "Hoàng", "Huỳnh", "Phan", "Vũ", "Đặng", "Bùi", "Thạch", "Ksor"};
    static const char *mid[] = {"Thị", "Văn", "Hữu", "Ngọc", "Thị Thu", "Minh", "Đức", "Thanh"};
    static const char *giv[] = {"Hoa", "Nam", "Hùng", "Lan", "Phương", "Dũng", "Nhung", "Tuấn", "H'Blin", "Sô Phol", "Ánh", "Quỳnh"};
    static char names[CITIZENS][64], births[CITIZENS][16], dues[CITIZENS][16];
    struct tpl_citizen *cs = calloc(CITIZENS, sizeof *cs);
    for (int i = 0; i < CITIZENS; i++) {
        snprintf(names[i], sizeof names[i], "%s %s %s", fam[i % 12], mid[(i / 12) % 8], giv[(i * 7) % 12]);
        snprintf(births[i], sizeof births[i], "%04d-%02d-%02d", 1950 + i % 55, 1 + i % 12, 1 + i % 28);
        snprintf(dues[i], sizeof dues[i], "2026-%02d-%02d", 5 + i % 3, 1 + i % 28);
        cs[i] = (struct tpl_citizen){
            .id = i + 1, .full_name = names[i], .phone = "84912345678", .commune_code = "23200",
            .commune_name = "Phường Pleiku", .province_code = "52",
            .gender = i % 9 == 0 ? NULL : i % 2 ? "male" : "female", .birth_date = births[i],
            .group_code = i % 11 == 0 ? "ethnic_minority" : "informal_worker",
            .language = i % 10 == 0 ? "km" : i % 13 == 0 ? "jra" : "vi",
            .participation = "voluntary", .voluntary_due_date = dues[i],
            .tags = i % 5 == 0 ? "{poor}" : i % 7 == 0 ? "{near_poor}" : "{}",
        };
    }
    char out[TPL_RENDER_MAX];
    long long parts = 0, bytes = 0;
    struct timespec t0, t1;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    for (long n = 0; n < renders; n++) {
        struct sms_info info;
        int len = template_set_render_sms(set, &cs[n % CITIZENS], env, out, sizeof out, &info);
        if (len < 0) { fprintf(stderr, "render failed for citizen %ld\n", n % CITIZENS + 1); return 1; }
        parts += info.parts;
        bytes += len;
    }
    clock_gettime(CLOCK_MONOTONIC, &t1);
    double s = (double)(t1.tv_sec - t0.tv_sec) + (double)(t1.tv_nsec - t0.tv_nsec) / 1e9;
    printf("%s\t%.0f\tmsg/s\trender%s + measure on one core, %ld renders over %d citizens (%.2f parts, %.0f bytes a message)\n",
           unaccent ? "render_unaccent_msgs_per_s" : "render_msgs_per_s", (double)renders / s,
           unaccent ? " + unaccent" : "", renders, CITIZENS, (double)parts / (double)renders,
           (double)bytes / (double)renders);
    template_set_free(set);
    tpl_env_free(env);
    free(cs);
    return 0;
}
