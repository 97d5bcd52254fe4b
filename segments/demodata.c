/* Synthetic citizens for demos, tests and benchmarks: a citizen CSV in the format that
 * segments/csvimport.h reads, deterministic for a seed and a base date. Names follow the
 * distribution of Vietnamese family names, with Jrai and Bahnar names in Gia Lai and Khmer names
 * in An Giang. */
#include "segments/demodata.h"
#include "core/db.h"

#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

struct rng { uint64_t s; };

static uint64_t rng_next(struct rng *r)   /* splitmix64 */
{
    uint64_t z = (r->s += 0x9e3779b97f4a7c15ull);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
}

static unsigned rng_below(struct rng *r, unsigned n)
{
    return (unsigned)(rng_next(r) % n);
}

struct weighted { const char *v; unsigned w; };

static const char *pick(struct rng *r, const struct weighted *t, size_t n)
{
    unsigned total = 0;
    for (size_t i = 0; i < n; i++)
        total += t[i].w;
    unsigned x = rng_below(r, total);
    for (size_t i = 0; i < n; i++) {
        if (x < t[i].w)
            return t[i].v;
        x -= t[i].w;
    }
    return t[n - 1].v;
}
#define PICK(r, t) pick((r), (t), sizeof(t) / sizeof((t)[0]))
#define ANY(r, a) ((a)[rng_below((r), sizeof(a) / sizeof((a)[0]))])

/* Shares of family names in Vietnam, in tenths of a percent. */
static const struct weighted kinh_families[] = {
    {"Nguyễn", 380}, {"Trần", 110}, {"Lê", 95}, {"Phạm", 70}, {"Hoàng", 30}, {"Huỳnh", 25},
    {"Phan", 45}, {"Vũ", 20}, {"Võ", 19}, {"Đặng", 21}, {"Bùi", 20}, {"Đỗ", 14}, {"Hồ", 13},
    {"Ngô", 13}, {"Dương", 10}, {"Lý", 5}, {"Đinh", 8}, {"Trương", 8}, {"Lâm", 4},
    {"Mai", 4}, {"Hà", 5}, {"Cao", 4}, {"Lương", 4}, {"Tô", 3},
};
static const char *const male_middles[] = {"Văn", "Văn", "Văn", "Đức", "Minh", "Quốc", "Hữu",
                                           "Công", "Thanh", "Xuân", "Ngọc", "Đình", "Tấn", "Hoàng"};
static const char *const female_middles[] = {"Thị", "Thị", "Thị", "Ngọc", "Thu", "Thanh", "Kim",
                                             "Mỹ", "Bích", "Hồng", "Thúy", "Phương"};
static const char *const male_given[] = {
    "An", "Bình", "Cường", "Dũng", "Đạt", "Hải", "Hiếu", "Hùng", "Huy", "Khang", "Khoa", "Long",
    "Lộc", "Minh", "Nam", "Nghĩa", "Phong", "Phúc", "Quang", "Sơn", "Tài", "Thắng", "Thành",
    "Tiến", "Toàn", "Trung", "Tuấn", "Việt", "Vinh", "Thuận", "Hòa", "Lợi", "Kiên", "Tâm"};
static const char *const female_given[] = {
    "Anh", "Châu", "Dung", "Giang", "Hà", "Hạnh", "Hằng", "Hoa", "Hương", "Huyền", "Lan", "Liên",
    "Linh", "Loan", "Mai", "My", "Nga", "Ngân", "Nhung", "Oanh", "Phương", "Quyên", "Thảo",
    "Trang", "Tuyết", "Uyên", "Vân", "Xuân", "Yến", "Nhi"};
static const char *const jrai_families[] = {"Siu", "Rơ Mah", "Ksor", "Rơ Châm", "Kpă", "Nay",
                                            "Rah Lan", "Puih", "Rơ Lan", "Kpuih"};
static const char *const jrai_male[] = {"Thuận", "Y Ble", "Blơng", "Djuh", "Hyơk", "Phơi", "Y Nhơn"};
static const char *const jrai_female[] = {"H'Nga", "H'Bia", "H'Linh", "H'Yơn", "H'Mai", "H'Nhi"};
static const char *const bahnar_male[] = {"Hmưn", "Byưk", "Glin", "Tơ", "Djơ", "A Thut"};
static const char *const bahnar_female[] = {"Blui", "Hlim", "Yă", "Mlơ", "Y Hyen"};
static const char *const khmer_families[] = {"Thạch", "Danh", "Sơn", "Kim", "Chau", "Lâm"};
static const char *const khmer_male[] = {"Sa Rươne", "Sóc", "Sóc Kha", "Sô Phal", "Ra", "Sa Rinh",
                                         "Sâm Bô", "Cal"};
static const char *const khmer_female[] = {"Thị Sa Vy", "Thị Sô Phi", "Sa Ry", "Thị Sà Phia",
                                           "Néang Sa Ri", "Thị Chanh Đa"};

static const struct weighted groups[] = {
    {"farmer", 180}, {"informal_worker", 120}, {"household_business", 100}, {"small_trader", 60},
    {"fisher", 40}, {"forester", 25}, {"salt_worker", 8}, {"part_time_worker", 40},
    {"enterprise_manager", 10}, {"cooperative_manager", 8}, {"student", 70},
    {"final_year_student", 25}, {"farming_household", 80}, {"craft_village_worker", 20},
    {"contracted_land_worker", 20}, {"seasonal_worker", 40}, {"self_employed", 60},
    {"stopped_compulsory", 30}, {"unemployment_benefit", 10}, {"rural_worker", 30}, {"", 24},
};
static const struct weighted participations[] = {
    {"none", 55}, {"compulsory", 20}, {"voluntary", 12}, {"stopped", 6}, {"", 7},
};
/* Mobile prefixes by market share; a few subscribers still write their pre-2018 number. */
static const struct weighted prefixes[] = {
    {"32", 5}, {"33", 5}, {"34", 5}, {"35", 5}, {"36", 5}, {"37", 5}, {"38", 5}, {"39", 5},
    {"86", 5}, {"96", 5}, {"97", 5}, {"98", 5},
    {"81", 4}, {"82", 4}, {"83", 4}, {"84", 4}, {"85", 4}, {"88", 3}, {"91", 5}, {"94", 5},
    {"70", 3}, {"76", 3}, {"77", 3}, {"78", 3}, {"79", 3}, {"89", 3}, {"90", 4}, {"93", 4},
    {"52", 1}, {"56", 1}, {"58", 1}, {"92", 2}, {"59", 1}, {"99", 1}, {"87", 1}, {"55", 1},
};

struct commune { char *code, *province; };

struct out {
    FILE *fp;
    char buf[1 << 16];
    size_t len;
};

static void put(struct out *o, const char *s)
{
    size_t n = strlen(s);
    if (o->len + n > sizeof o->buf) {
        fwrite(o->buf, 1, o->len, o->fp);
        o->len = 0;
    }
    memcpy(o->buf + o->len, s, n);
    o->len += n;
}

static void put_date(struct out *o, time_t base, long days_offset)
{
    time_t t = base + (time_t)days_offset * 86400;
    struct tm tm;
    gmtime_r(&t, &tm);
    char d[16];
    snprintf(d, sizeof d, "%04d-%02d-%02d", tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday);
    put(o, d);
}

static void put_name(struct out *o, struct rng *r, const char *province, bool male, const char **lang)
{
    unsigned x = rng_below(r, 100);
    *lang = NULL;
    if (strcmp(province, "52") == 0 && x < 10) {            /* Jrai */
        put(o, ANY(r, jrai_families)), put(o, " ");
        put(o, male ? ANY(r, jrai_male) : ANY(r, jrai_female));
        *lang = rng_below(r, 10) < 6 ? "jra" : "vi";
        return;
    }
    if (strcmp(province, "52") == 0 && x < 16) {            /* Bahnar */
        put(o, "Đinh "), put(o, male ? "Văn " : "Thị ");
        put(o, male ? ANY(r, bahnar_male) : ANY(r, bahnar_female));
        *lang = rng_below(r, 10) < 6 ? "bdq" : "vi";
        return;
    }
    if (strcmp(province, "91") == 0 && x < 10) {            /* Khmer */
        put(o, ANY(r, khmer_families)), put(o, " ");
        put(o, male ? ANY(r, khmer_male) : ANY(r, khmer_female));
        *lang = rng_below(r, 10) < 6 ? "km" : "vi";
        return;
    }
    put(o, PICK(r, kinh_families)), put(o, " ");
    put(o, male ? ANY(r, male_middles) : ANY(r, female_middles)), put(o, " ");
    put(o, male ? ANY(r, male_given) : ANY(r, female_given));
}

static void make_phone(char s[32], struct rng *r, uint64_t seed, long i)
{
    const char *pre = PICK(r, prefixes);
    /* i -> (a*i + b) mod 10^7 is a bijection for a prime to 10: numbers never repeat. */
    unsigned sub = (unsigned)(((uint64_t)i * 1000003ull + seed) % 10000000ull);
    char num[16];
    snprintf(num, sizeof num, "%s%07u", pre, sub);
    unsigned f = rng_below(r, 100);
    if (f < 84)
        snprintf(s, 32, "0%s", num);
    else if (f < 89)
        snprintf(s, 32, "+84 %.3s %.3s %.3s", num, num + 3, num + 6);
    else if (f < 93)
        snprintf(s, 32, "0%.3s.%.3s.%.3s", num, num + 3, num + 6);
    else if (f < 97 || pre[0] != '3')
        snprintf(s, 32, "84%s", num);
    else   /* Viettel 03x was 016x before 2018 */
        snprintf(s, 32, "016%c%s", pre[1], num + 2);
}

static int load_communes(PGconn *db, struct commune **out, int *n, char *err, size_t errlen)
{
    PGresult *r = db_query(db, err, errlen,
                           "SELECT code, province_code FROM communes WHERE synthetic ORDER BY code",
                           0, NULL);
    if (!r)
        return -1;
    *n = PQntuples(r);
    if (*n == 0) {
        PQclear(r);
        snprintf(err, errlen, "no synthetic communes in the database (run loa db migrate)");
        return -1;
    }
    *out = calloc((size_t)*n, sizeof **out);
    for (int i = 0; *out && i < *n; i++) {
        (*out)[i].code = strdup(PQgetvalue(r, i, 0));
        (*out)[i].province = strdup(PQgetvalue(r, i, 1));
    }
    PQclear(r);
    return *out ? 0 : -1;
}

int demodata_write(FILE *fp, long n, uint64_t seed, time_t base, const struct demodata_commune *communes,
                   int ncommunes)
{
    struct out *o = malloc(sizeof *o);
    if (!o)
        return -1;
    o->fp = fp, o->len = 0;
    struct rng r = {seed * 0x2545F4914F6CDD1Dull + 1};
    put(o, "full_name,phone,commune_code,province_code,gender,birth_date,group,language,"
           "bhxh_code,participation,voluntary_due_date,zalo_user_id\n");
    char shared_phone[32] = "";
    for (long i = 0; i < n; i++) {
        const struct demodata_commune *c = &communes[rng_below(&r, (unsigned)ncommunes)];
        bool male = rng_below(&r, 2) == 0;
        const char *lang;
        put_name(o, &r, c->province, male, &lang);
        put(o, ",");
        /* A few members of a household share one phone; they always have a BHXH code. */
        bool share = shared_phone[0] && rng_below(&r, 100) < 3;
        if (!share)
            make_phone(shared_phone, &r, seed, i);
        put(o, shared_phone);
        put(o, ","), put(o, c->code), put(o, ",");
        put(o, rng_below(&r, 10) < 7 ? c->province : ""), put(o, ",");
        unsigned g = rng_below(&r, 100);
        put(o, g < 2 ? "" : male ? (g < 50 ? "nam" : "male") : (g < 50 ? "nữ" : "female"));
        put(o, ",");
        const char *group = PICK(&r, groups);
        bool young = strcmp(group, "student") == 0 || strcmp(group, "final_year_student") == 0;
        long age_days = young ? 16 * 365 + (long)rng_below(&r, 8 * 365)
                              : 18 * 365 + (long)rng_below(&r, 52 * 365);
        if (rng_below(&r, 100) < 3)
            put(o, "");
        else
            put_date(o, base, -age_days);
        put(o, ","), put(o, lang && strcmp(lang, "vi") != 0 && rng_below(&r, 2) ? "ethnic_minority" : group);
        put(o, ","), put(o, lang ? lang : rng_below(&r, 2) ? "vi" : ""), put(o, ",");
        if (share || rng_below(&r, 100) < 80) {
            char code[16];
            snprintf(code, sizeof code, "%.2s%08u", c->province,
                     (unsigned)(((uint64_t)i * 7919ull + seed) % 100000000ull));
            put(o, code);
        }
        const char *part = young ? "none" : PICK(&r, participations);
        put(o, ","), put(o, part), put(o, ",");
        if (strcmp(part, "voluntary") == 0)
            put_date(o, base, (long)rng_below(&r, 211) - 30);
        put(o, ",");
        if (rng_below(&r, 100) < 30) {
            char z[24];
            snprintf(z, sizeof z, "%llu", (unsigned long long)(rng_next(&r) % 9000000000000000000ull) + 1000000000000000000ull);
            put(o, z);
        }
        put(o, "\n");
    }
    int rc = 0;
    if (o->len && fwrite(o->buf, 1, o->len, fp) != o->len)
        rc = -1;
    free(o);
    return rc;
}

int demodata_generate(PGconn *db, const char *path, long n, uint64_t seed, const char *today,
                      char *err, size_t errlen)
{
    struct tm tm = {0};
    if (today)
        strptime(today, "%Y-%m-%d", &tm);
    else {
        PGresult *r = db_query(db, err, errlen,
                               "SELECT to_char((now() AT TIME ZONE 'Asia/Ho_Chi_Minh')::date, 'YYYY-MM-DD')",
                               0, NULL);
        if (!r)
            return -1;
        strptime(PQgetvalue(r, 0, 0), "%Y-%m-%d", &tm);
        PQclear(r);
    }
    time_t base = timegm(&tm);
    struct commune *cs = NULL;
    int nc = 0;
    if (load_communes(db, &cs, &nc, err, errlen) < 0)
        return -1;
    struct demodata_commune *dc = calloc((size_t)nc, sizeof *dc);
    for (int i = 0; dc && i < nc; i++)
        dc[i].code = cs[i].code, dc[i].province = cs[i].province;
    FILE *fp = fopen(path, "wb");
    int rc = 0;
    if (!fp) {
        snprintf(err, errlen, "%s: %s", path, strerror(errno));
        rc = -1;
    } else {
        int w = dc ? demodata_write(fp, n, seed, base, dc, nc) : -1;
        if (fclose(fp) != 0 || w < 0) {
            snprintf(err, errlen, "cannot write %s", path);
            rc = -1;
        }
    }
    for (int i = 0; i < nc; i++)
        free(cs[i].code), free(cs[i].province);
    free(cs);
    free(dc);
    return rc;
}
