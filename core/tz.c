#include "core/tz.h"

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* A zone as read from its TZif file: transition times and the offset in force after each. */
struct zone {
    char name[64];
    bool ok;
    size_t n;                   /* transitions */
    int64_t *at;
    int32_t *off;               /* offset after at[i] */
    int32_t before;             /* offset before the first transition */
    int32_t after;              /* offset after the last one */
    struct zone *next;
};

static struct zone *zones;
enum { TZ_FILE_MAX = 1 << 20 };

static uint32_t be32(const unsigned char *p) { return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3]; }
static int64_t be64(const unsigned char *p) { return (int64_t)((uint64_t)be32(p) << 32 | be32(p + 4)); }

/* The fixed offset of a POSIX TZ footer such as "<+07>-7" or "UTC0", when it has no rule for
 * daylight saving; false otherwise. POSIX offsets are west-positive. */
static bool footer_fixed(const char *s, size_t n, int32_t *off)
{
    size_t i = 0;
    if (i < n && s[i] == '<') {
        while (i < n && s[i] != '>')
            i++;
        i++;
    } else {
        while (i < n && ((s[i] >= 'A' && s[i] <= 'Z') || (s[i] >= 'a' && s[i] <= 'z')))
            i++;
    }
    if (i >= n)
        return false;
    int sign = 1;
    if (s[i] == '+' || s[i] == '-')
        sign = s[i++] == '-' ? -1 : 1;
    long h = 0, m = 0, sec = 0;
    if (i >= n || s[i] < '0' || s[i] > '9')
        return false;
    while (i < n && s[i] >= '0' && s[i] <= '9')
        h = h * 10 + (s[i++] - '0');
    if (i < n && s[i] == ':') {
        i++;
        while (i < n && s[i] >= '0' && s[i] <= '9')
            m = m * 10 + (s[i++] - '0');
    }
    if (i < n && s[i] == ':') {
        i++;
        while (i < n && s[i] >= '0' && s[i] <= '9')
            sec = sec * 10 + (s[i++] - '0');
    }
    if (i != n)
        return false;       /* a daylight-saving part follows */
    *off = (int32_t)(-sign * (h * 3600 + m * 60 + sec));
    return true;
}

/* Parses the TZif data BUF of LEN bytes into Z: the 64-bit block of version 2 and later, else the
 * 32-bit one. Returns 0 or -1. */
static int zone_parse(struct zone *z, const unsigned char *buf, size_t len)
{
    if (len < 44 || memcmp(buf, "TZif", 4) != 0)
        return -1;
    const unsigned char *h = buf;
    int tsize = 4;
    size_t cnt[6];
    for (int k = 0; k < 6; k++)
        cnt[k] = be32(h + 20 + 4 * k);
    /* isutcnt, isstdcnt, leapcnt, timecnt, typecnt, charcnt */
    size_t v1 = cnt[3] * 5 + cnt[4] * 6 + cnt[5] + cnt[2] * 8 + cnt[1] + cnt[0];
    if (h[4] >= '2') {
        if (44 + v1 + 44 > len)
            return -1;
        h = buf + 44 + v1;
        if (memcmp(h, "TZif", 4) != 0)
            return -1;
        for (int k = 0; k < 6; k++)
            cnt[k] = be32(h + 20 + 4 * k);
        tsize = 8;
    }
    size_t timecnt = cnt[3], typecnt = cnt[4];
    const unsigned char *p = h + 44;
    size_t need = timecnt * (size_t)tsize + timecnt + typecnt * 6 + cnt[5] + cnt[2] * (size_t)(tsize + 4) + cnt[1] + cnt[0];
    if (typecnt == 0 || (size_t)(p - buf) + need > len)
        return -1;
    const unsigned char *times = p, *idx = p + timecnt * (size_t)tsize, *types = idx + timecnt;
    z->n = timecnt;
    z->at = calloc(timecnt ? timecnt : 1, sizeof *z->at);
    z->off = calloc(timecnt ? timecnt : 1, sizeof *z->off);
    if (!z->at || !z->off)
        return -1;
    for (size_t i = 0; i < timecnt; i++) {
        z->at[i] = tsize == 8 ? be64(times + 8 * i) : (int32_t)be32(times + 4 * i);
        size_t ti = idx[i] < typecnt ? idx[i] : 0;
        z->off[i] = (int32_t)be32(types + 6 * ti);
    }
    z->before = (int32_t)be32(types);
    z->after = timecnt ? z->off[timecnt - 1] : z->before;
    /* The footer (version 2+): "\nTZSTRING\n" after the data block. */
    const unsigned char *f = p + need;
    if (tsize == 8 && f < buf + len && *f == '\n') {
        const unsigned char *e = memchr(f + 1, '\n', (size_t)(buf + len - f - 1));
        int32_t fixed;
        if (e && footer_fixed((const char *)f + 1, (size_t)(e - f - 1), &fixed))
            z->after = fixed;
    }
    return 0;
}

static struct zone *zone_get(const char *name)
{
    for (struct zone *z = zones; z; z = z->next)
        if (strcmp(z->name, name) == 0)
            return z;
    struct zone *z = calloc(1, sizeof *z);
    if (!z)
        return NULL;
    snprintf(z->name, sizeof z->name, "%s", name);
    /* A zone name is a relative path below the zoneinfo directory, never one that leaves it. */
    if (strlen(name) < sizeof z->name && name[0] != '/' && !strstr(name, "..")) {
        const char *dir = getenv("TZDIR");
        char path[512];
        snprintf(path, sizeof path, "%s/%s", dir && *dir ? dir : "/usr/share/zoneinfo", name);
        FILE *fp = fopen(path, "rb");
        if (fp) {
            unsigned char *buf = malloc(TZ_FILE_MAX);
            size_t len = buf ? fread(buf, 1, TZ_FILE_MAX, fp) : 0;
            fclose(fp);
            z->ok = buf && zone_parse(z, buf, len) == 0;
            free(buf);
        }
    }
    z->next = zones;
    zones = z;
    return z;
}

int tz_offset(const char *zone, int64_t t, long *off)
{
    *off = 0;
    if (!zone || !*zone || strcmp(zone, "UTC") == 0 || strcmp(zone, "Etc/UTC") == 0)
        return 0;
    struct zone *z = zone_get(zone);
    if (!z || !z->ok)
        return -1;
    if (z->n == 0 || t < z->at[0]) {
        *off = z->n == 0 ? z->after : z->before;
        return 0;
    }
    if (t >= z->at[z->n - 1]) {
        *off = z->after;
        return 0;
    }
    size_t lo = 0, hi = z->n - 1;       /* at[lo] <= t < at[hi] */
    while (hi - lo > 1) {
        size_t mid = lo + (hi - lo) / 2;
        if (z->at[mid] <= t)
            lo = mid;
        else
            hi = mid;
    }
    *off = z->off[lo];
    return 0;
}

int tz_localtime(const char *zone, int64_t t, struct tm *out)
{
    long off;
    int rc = tz_offset(zone, t, &off);
    time_t local = (time_t)(t + off);
    gmtime_r(&local, out);
    out->tm_gmtoff = off;
    return rc;
}

long tz_day(const char *zone, int64_t ms)
{
    long off;
    tz_offset(zone, ms / 1000, &off);
    int64_t local = ms / 1000 + off;
    return (long)(local >= 0 ? local / 86400 : -((-local + 86399) / 86400));
}

void tz_reset(void)
{
    while (zones) {
        struct zone *z = zones;
        zones = z->next;
        free(z->at);
        free(z->off);
        free(z);
    }
}
