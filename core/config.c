#include "core/config.h"
#include "core/tz.h"
#include "core/connlimit.h"

#include <ctype.h>
#include <errno.h>
#include <ini.h>
#include <math.h>
#include <pwd.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* The keys of every fixed section. Gateway sections take the common keys below plus the keys
 * of their type (gateways/gateway.h). A default of "" means "empty unless given"; NULL means
 * the key is required. */
static const struct cfg_key base_keys[] = {
    {"database", "url", CFG_CONNINFO, "", 0, 0,
     "libpq connection string; empty: the embedded cluster in ./var/pg"},
    {"database", "pool_size", CFG_INT, "4", 1, 64, "connections the daemon keeps open"},
    {"database", "query_timeout_ms", CFG_INT, "10000", 100, 3600000,
     "the server cancels a daemon's query after this (statement_timeout); a connection silent 1 s longer is replaced"},
    {"http", "listen", CFG_LISTEN, "127.0.0.1:8080", 0, 0, "address of the webhook, API and dashboard server"},
    {"http", "public_url", CFG_URL, "http://127.0.0.1:8080", 0, 0, "the address gateways call back"},
    {"http", "max_body", CFG_INT, "65536", 1024, 10485760, "largest request body accepted, bytes"},
    {"http", "password_iterations", CFG_INT, "600000", 1000, 10000000,
     "PBKDF2-SHA256 rounds of a new dashboard password (`loa user add`); each hash keeps its own"},
    {"http", "session_hours", CFG_INT, "12", 1, 720, "how long a dashboard login lasts"},
    {"http", "header_timeout_ms", CFG_INT, "10000", 200, 600000,
     "a connection that has not sent a whole request by then is closed, however slowly it trickles"},
    {"http", "max_connections_per_address", CFG_INT, "64", 0, 1000000,
     "open connections from one address outside trusted_addresses; 0: no limit"},
    {"http", "trusted_addresses", CFG_NETS, "127.0.0.1", 0, 0,
     "IPv4 addresses or a.b.c.d/n networks (Kannel's) exempt from the per-address limit"},
        {"policy", "timezone", CFG_TZ, "Asia/Ho_Chi_Minh", 0, 64, "time zone of sending windows and dates"},
    {"policy", "window", CFG_WINDOW, "07:00-21:00", 0, 0, "no sending outside it"},
    {"policy", "frequency_cap", CFG_CAP, "2/7d", 0, 0, "messages per citizen across all campaigns"},
    {"policy", "approval_threshold", CFG_INT, "10000", 0, 1e9, "campaigns targeting more need a supervisor"},
    {"policy", "elder_age", CFG_INT, "50", 0, 150, "from this age a citizen is addressed Ông / Bà, below it Anh / Chị"},
    {"policy", "neutral_salutation", CFG_STR, "Anh/Chị", 0, 32, "form of address when the gender is unknown"},
    {"policy", "opt_out_keyword", CFG_STR, "TC", 0, 16, "keyword named by {{opt_out_hint}}"},
    {"policy", "opt_out_number", CFG_STR, "8077", 0, 16, "number named by {{opt_out_hint}}"},
    {"engine", "lease_batch", CFG_INT, "500", 1, 10000, "messages leased per query"},
    {"engine", "lease_seconds", CFG_INT, "120", 5, 3600, "a lease not finished by then is taken back"},
    {"engine", "max_attempts", CFG_INT, "5", 1, 50, "temporary failures before a message fails (a gateway down or asking to slow down does not count)"},
    {"engine", "retry_min_seconds", CFG_INT, "30", 1, 86400, "first back-off after a temporary failure"},
    {"engine", "retry_max_seconds", CFG_INT, "3600", 1, 604800, "longest back-off"},
    {"engine", "materialise_chunk", CFG_INT, "20000", 100, 1000000, "citizens per materialisation step"},
    {"engine", "tick_ms", CFG_INT, "500", 10, 60000, "scheduler period"},
    {"engine", "shutdown_grace_seconds", CFG_INT, "10", 0, 600, "SIGTERM waits this long for requests in flight"},
    {"engine", "settle_seconds", CFG_INT, "30", 0, 86400, "a campaign completes once nothing is waiting and its last submission is this old"},
    {"engine", "log_level", CFG_STR, "info", 0, 16, "debug, info, warn or error"},
    {"replies", "attribution_days", CFG_INT, "14", 1, 365,
     "a reply counts for the campaign whose message the citizen received last, if within this many days"},
    {"replies", "answers_per_hour", CFG_INT, "4", 1, 1000,
     "automatic answers (confirmations, FAQ, help) to one sender per hour; a flood beyond it is stored, not answered"},
    {"replies", "help_hours", CFG_INT, "24", 1, 8760, "the help text goes to one sender at most once in this many hours"},
    {"report", "conversion_days", CFG_INT, "90", 1, 730,
     "a citizen reached whose participation begins within this many days counts as the campaign's conversion"},
    {"gateway", "type", CFG_STR, NULL, 0, 32, "kannel, http_sms, zalo_zns or zalo_oa"},
    {"gateway", "rate", CFG_DOUBLE, "10", 0.01, 100000, "SMS parts (or Zalo messages) per second"},
    {"gateway", "concurrency", CFG_INT, "10", 1, 1000, "requests in flight"},
    {"gateway", "max_parts", CFG_INT, "3", 1, 10, "longest SMS accepted, in parts"},
    {"gateway", "price_per_part_vnd", CFG_INT, "750", 0, 100000, "price of one SMS part (or one ZNS)"},
    {"gateway", "daily_quota", CFG_INT, "0", 0, 1e9, "messages per day; 0: no limit"},
    {"gateway", "timeout_ms", CFG_INT, "10000", 100, 120000, "a request not answered by then is a temporary failure"},
    {"gateway", "breaker_failures", CFG_INT, "5", 1, 1000, "gateway faults in a row (refused credentials or connections, time-outs, 5xx) that open its circuit: nothing more is sent until a probe succeeds"},
    {"gateway", "breaker_probe_min_seconds", CFG_INT, "5", 1, 3600, "first wait before an open circuit is probed with one message; doubled after each failed probe"},
    {"gateway", "breaker_probe_max_seconds", CFG_INT, "300", 1, 86400, "longest wait between probes of an open circuit"},
    {"gateway", "webhook_secret", CFG_SECRET, "", 0, 256, "token in webhook URLs; empty: generated per run is refused, set it"},
    {NULL, NULL, 0, NULL, 0, 0, NULL},
};

struct cfg_entry {
    char section[96];
    const struct cfg_key *key;
    char *value;
    int line;
    bool given;
};

struct config {
    char path[512];
    struct cfg_entry *e;
    size_t n, cap;
    char gw_names[64][64];
    char gw_sections[64][96];
    size_t ngw;
};

const char *config_path(const struct config *cfg) { return cfg->path; }

static struct cfg_entry *entry_find(const struct config *cfg, const char *section, const char *key)
{
    for (size_t i = 0; i < cfg->n; i++)
        if (strcmp(cfg->e[i].section, section) == 0 && strcmp(cfg->e[i].key->name, key) == 0)
            return &cfg->e[i];
    return NULL;
}

static struct cfg_entry *entry_add(struct config *cfg, const char *section, const struct cfg_key *k)
{
    if (cfg->n == cfg->cap) {
        cfg->cap = cfg->cap ? cfg->cap * 2 : 64;
        cfg->e = realloc(cfg->e, cfg->cap * sizeof *cfg->e);
        if (!cfg->e)
            abort();
    }
    struct cfg_entry *e = &cfg->e[cfg->n++];
    memset(e, 0, sizeof *e);
    snprintf(e->section, sizeof e->section, "%s", section);
    e->key = k;
    return e;
}

/* The key tables that apply to SECTION: fixed sections use base_keys; "gateway.X" uses the
 * common gateway keys and, once its type is known, the type's own keys. */
/* The gateway types the program registered (config_register_types). */
static const struct cfg_section_type *reg_types;
static size_t nreg_types;

void config_register_types(const struct cfg_section_type *types, size_t n)
{
    reg_types = types;
    nreg_types = n;
}

static const struct cfg_section_type *type_find(const char *name)
{
    for (size_t i = 0; i < nreg_types; i++)
        if (strcmp(reg_types[i].name, name) == 0)
            return &reg_types[i];
    return NULL;
}

/* "kannel, http_sms, …": the registered type names, for error messages. */
static void type_names(char *out, size_t cap)
{
    size_t j = 0;
    out[0] = '\0';
    for (size_t i = 0; i < nreg_types && j < cap; i++)
        j += (size_t)snprintf(out + j, cap - j, "%s%s", i ? ", " : "", reg_types[i].name);
}

static const struct cfg_key *key_lookup(const char *section, const char *name, const char *gwtype)
{
    const char *tab = strncmp(section, "gateway.", 8) == 0 ? "gateway" : section;
    for (const struct cfg_key *k = base_keys; k->name; k++)
        if (strcmp(k->section, tab) == 0 && strcmp(k->name, name) == 0)
            return k;
    if (gwtype) {
        const struct cfg_section_type *t = type_find(gwtype);
        if (t && t->keys)
            for (const struct cfg_key *k = t->keys; k->name; k++)
                if (strcmp(k->name, name) == 0)
                    return k;
    }
    return NULL;
}

static bool section_known(const char *s)
{
    if (strncmp(s, "gateway.", 8) == 0)
        return strlen(s) > 8 && strlen(s) < 72;
    for (const struct cfg_key *k = base_keys; k->name; k++)
        if (strcmp(k->section, s) == 0)
            return true;
    return false;
}

int config_parse_window(const char *s, int *start_min, int *end_min)
{
    int h1, m1, h2, m2, n = 0;
    if (sscanf(s, "%2d:%2d-%2d:%2d%n", &h1, &m1, &h2, &m2, &n) != 4 || s[n] != '\0')
        return -1;
    if (h1 < 0 || h1 > 24 || h2 < 0 || h2 > 24 || m1 < 0 || m1 > 59 || m2 < 0 || m2 > 59)
        return -1;
    int a = h1 * 60 + m1, b = h2 * 60 + m2;
    if (a > 1440 || b > 1440 || a >= b)
        return -1;
    *start_min = a;
    *end_min = b;
    return 0;
}

int config_parse_cap(const char *s, int *count, int *days)
{
    int c, d, n = 0;
    if (sscanf(s, "%d/%dd%n", &c, &d, &n) != 2 || s[n] != '\0' || c < 1 || c > 1000 || d < 1 || d > 365)
        return -1;
    *count = c;
    *days = d;
    return 0;
}

static int read_secret_file(const char *path, char **out, char *why, size_t whylen)
{
    FILE *f = fopen(path, "r");
    if (!f) {
        snprintf(why, whylen, "cannot read secret file %s: %s", path, strerror(errno));
        return -1;
    }
    char buf[4097];
    size_t n = fread(buf, 1, sizeof buf - 1, f);
    bool more = fgetc(f) != EOF;
    fclose(f);
    if (more) {
        snprintf(why, whylen, "secret file %s is larger than 4096 bytes", path);
        return -1;
    }
    buf[n] = '\0';
    while (n > 0 && isspace((unsigned char)buf[n - 1]))
        buf[--n] = '\0';
    *out = strdup(buf);
    return 0;
}

/* Checks VALUE against K; on success may replace *VALUE (secrets read from files). */
static int value_check(const struct cfg_key *k, char **value, char *why, size_t whylen)
{
    const char *v = *value;
    char *end;
    switch (k->kind) {
    case CFG_STR:
    case CFG_CONNINFO: {
        size_t max = k->max > 0 ? (size_t)k->max : 4096;
        if (strlen(v) > max) {
            snprintf(why, whylen, "longer than %zu characters", max);
            return -1;
        }
        return 0;
    }
    case CFG_SECRET:
        if (v[0] == '@') {
            char *s = NULL;
            if (read_secret_file(v + 1, &s, why, whylen) < 0)
                return -1;
            free(*value);
            *value = s;
        }
        return 0;
    case CFG_INT: {
        errno = 0;
        long x = strtol(v, &end, 10);
        if (errno || end == v || *end) {
            snprintf(why, whylen, "'%s' is not a whole number", v);
            return -1;
        }
        if (x < k->min || x > k->max) {
            snprintf(why, whylen, "%ld is outside %.0f..%.0f", x, k->min, k->max);
            return -1;
        }
        return 0;
    }
    case CFG_DOUBLE: {
        errno = 0;
        double x = strtod(v, &end);
        if (errno || end == v || *end || !isfinite(x)) {
            snprintf(why, whylen, "'%s' is not a number", v);
            return -1;
        }
        if (x < k->min || x > k->max) {
            snprintf(why, whylen, "%g is outside %g..%g", x, k->min, k->max);
            return -1;
        }
        return 0;
    }
    case CFG_BOOL: {
        static const char *const ok[] = {"true", "false", "yes", "no", "on", "off", "1", "0"};
        for (size_t i = 0; i < 8; i++)
            if (strcasecmp(v, ok[i]) == 0)
                return 0;
        snprintf(why, whylen, "'%s' is not true or false", v);
        return -1;
    }
    case CFG_URL:
        if (strncmp(v, "http://", 7) != 0 && strncmp(v, "https://", 8) != 0) {
            snprintf(why, whylen, "'%s' is not an http:// or https:// URL", v);
            return -1;
        }
        if (strlen(v) > 1024 || strpbrk(v, " \t\"<>")) {
            snprintf(why, whylen, "not a valid URL");
            return -1;
        }
        return 0;
    case CFG_LISTEN: {
        const char *colon = strrchr(v, ':');
        long port = colon ? strtol(colon + 1, &end, 10) : -1;
        if (!colon || colon == v || *end || port < 0 || port > 65535) {
            snprintf(why, whylen, "'%s' is not host:port", v);
            return -1;
        }
        return 0;
    }
    case CFG_WINDOW: {
        int a, b;
        if (config_parse_window(v, &a, &b) < 0) {
            snprintf(why, whylen, "'%s' is not HH:MM-HH:MM with start before end", v);
            return -1;
        }
        return 0;
    }
    case CFG_TZ: {
        long off;
        if (strlen(v) > 64 || tz_offset(v, 0, &off) < 0) {
            snprintf(why, whylen, "'%s' is not a time zone of the system's zoneinfo", v);
            return -1;
        }
        return 0;
    }
    case CFG_NETS: {
        /* connlimit is what reads them: let it say what it cannot read. */
        struct connlimit *l = connlimit_new();
        int rc = connlimit_configure(l, 0, v, 1, 0, why, whylen);
        connlimit_free(l);
        return rc;
    }
    case CFG_CAP: {
        int c, d;
        if (config_parse_cap(v, &c, &d) < 0) {
            snprintf(why, whylen, "'%s' is not COUNT/DAYSd, e.g. 2/7d", v);
            return -1;
        }
        return 0;
    }
    }
    return 0;
}

struct parse_state {
    struct config *cfg;
    FILE *f;
    int line;
    bool long_line;
    char err[512];
};

/* Counts lines so that errors can name them (Debian's inih does not pass line numbers). */
static char *reader(char *str, int num, void *stream)
{
    struct parse_state *ps = stream;
    char *r = fgets(str, num, ps->f);
    if (!r)
        return NULL;
    ps->line++;
    size_t n = strlen(str);
    /* inih reports sections only through their keys, so an empty misspelt section would pass. */
    const char *t = str + strspn(str, " \t");
    if (*t == '[' && !ps->err[0]) {
        char name[128];
        const char *close = strchr(t, ']');
        size_t len = close ? (size_t)(close - t - 1) : 0;
        if (!close) {
            snprintf(ps->err, sizeof ps->err, "%s:%d: a section header needs its closing ]", ps->cfg->path, ps->line);
        } else if (len < sizeof name) {
            memcpy(name, t + 1, len);
            name[len] = '\0';
            if (!section_known(name))
                snprintf(ps->err, sizeof ps->err, "%s:%d: [%s]: unknown section (database, http, policy, engine, replies, gateway.NAME)",
                         ps->cfg->path, ps->line, name);
        }
    }
    if (n == (size_t)num - 1 && str[n - 1] != '\n' && !feof(ps->f) && !ps->long_line) {
        ps->long_line = true;
        snprintf(ps->err, sizeof ps->err, "%s:%d: line longer than %d characters (use @FILE for long values)",
                 ps->cfg->path, ps->line, num - 2);
    }
    return r;
}

static int handler(void *user, const char *section, const char *name, const char *value)
{
    struct parse_state *ps = user;
    struct config *cfg = ps->cfg;
    if (ps->err[0])
        return 0;
    if (!section_known(section)) {
        snprintf(ps->err, sizeof ps->err, "%s:%d: [%s]: unknown section", cfg->path, ps->line, section);
        return 0;
    }
    bool gw = strncmp(section, "gateway.", 8) == 0;
    const char *gwtype = NULL;
    if (gw && strcmp(name, "type") != 0) {
        struct cfg_entry *t = entry_find(cfg, section, "type");
        gwtype = t ? t->value : NULL;
        if (!gwtype) {
            snprintf(ps->err, sizeof ps->err, "%s:%d: [%s] %s: `type` must come first in a gateway section",
                     cfg->path, ps->line, section, name);
            return 0;
        }
    }
    const struct cfg_key *k = key_lookup(section, name, gwtype);
    if (!k) {
        snprintf(ps->err, sizeof ps->err, "%s:%d: [%s] %s: unknown key", cfg->path, ps->line, section, name);
        return 0;
    }
    if (entry_find(cfg, section, name)) {
        snprintf(ps->err, sizeof ps->err, "%s:%d: [%s] %s: given twice", cfg->path, ps->line, section, name);
        return 0;
    }
    char *v = strdup(value);
    char why[300];
    if (value_check(k, &v, why, sizeof why) < 0) {
        snprintf(ps->err, sizeof ps->err, "%s:%d: [%s] %s: %s", cfg->path, ps->line, section, name, why);
        free(v);
        return 0;
    }
    if (gw && strcmp(name, "type") == 0) {
        if (!type_find(v)) {
            char names[256];
            type_names(names, sizeof names);
            snprintf(ps->err, sizeof ps->err, "%s:%d: [%s] type: unknown gateway type '%s' (%s)",
                     cfg->path, ps->line, section, v, names);
            free(v);
            return 0;
        }
        if (cfg->ngw == 64) {
            snprintf(ps->err, sizeof ps->err, "%s:%d: more than 64 gateways", cfg->path, ps->line);
            free(v);
            return 0;
        }
        snprintf(cfg->gw_names[cfg->ngw], sizeof cfg->gw_names[0], "%s", section + 8);
        snprintf(cfg->gw_sections[cfg->ngw], sizeof cfg->gw_sections[0], "%s", section);
        cfg->ngw++;
    }
    struct cfg_entry *e = entry_add(cfg, section, k);
    e->value = v;
    e->line = ps->line;
    e->given = true;
    return 1;
}

/* Adds the defaults of every key not given; reports missing required keys. */
static int fill_defaults(struct config *cfg, const char *section, const struct cfg_key *tab,
                         const char *tabname, char *err, size_t errlen)
{
    for (const struct cfg_key *k = tab; k->name; k++) {
        if (tabname && strcmp(k->section, tabname) != 0)
            continue;
        if (entry_find(cfg, section, k->name))
            continue;
        if (!k->def) {
            snprintf(err, errlen, "%s: [%s] %s: required", cfg->path, section, k->name);
            return -1;
        }
        struct cfg_entry *e = entry_add(cfg, section, k);
        e->value = strdup(k->def);
    }
    return 0;
}

static void default_db_url(struct config *cfg)
{
    struct cfg_entry *e = entry_find(cfg, "database", "url");
    if (e->value[0])
        return;
    char cwd[400];
    if (!getcwd(cwd, sizeof cwd))
        snprintf(cwd, sizeof cwd, ".");
    const char *user = "loa";
    if (getuid() != 0) {
        struct passwd *pw = getpwuid(getuid());
        if (pw)
            user = pw->pw_name;
    }
    char url[600];
    snprintf(url, sizeof url, "postgresql:///loa?host=%s/var/pg/run&user=%s", cwd, user);
    free(e->value);
    e->value = strdup(url);
}

int config_load(const char *path, struct config **out, char *err, size_t errlen)
{
    struct config *cfg = calloc(1, sizeof *cfg);
    if (!cfg)
        abort();
    snprintf(cfg->path, sizeof cfg->path, "%s", path ? path : "(defaults)");
    if (path) {
        struct parse_state ps = {.cfg = cfg};
        ps.f = fopen(path, "r");
        if (!ps.f) {
            snprintf(err, errlen, "%s: %s", path, strerror(errno));
            config_free(cfg);
            return -1;
        }
        int rc = ini_parse_stream(reader, &ps, handler, &ps);
        fclose(ps.f);
        if (ps.err[0]) {
            snprintf(err, errlen, "%s", ps.err);
            config_free(cfg);
            return -1;
        }
        if (rc != 0) {
            snprintf(err, errlen, "%s:%d: not INI syntax", path, rc);
            config_free(cfg);
            return -1;
        }
    }
    static const char *const fixed[] = {"database", "http", "policy", "engine", "replies", "report"};
    for (size_t i = 0; i < sizeof fixed / sizeof fixed[0]; i++)
        if (fill_defaults(cfg, fixed[i], base_keys, fixed[i], err, errlen) < 0)
            goto fail;
    for (size_t i = 0; i < cfg->ngw; i++) {
        const char *sec = cfg->gw_sections[i];
        if (fill_defaults(cfg, sec, base_keys, "gateway", err, errlen) < 0)
            goto fail;
        const struct cfg_section_type *t = type_find(entry_find(cfg, sec, "type")->value);
        if (t->keys && fill_defaults(cfg, sec, t->keys, NULL, err, errlen) < 0)
            goto fail;
    }
    default_db_url(cfg);
    *out = cfg;
    return 0;
fail:
    config_free(cfg);
    return -1;
}

void config_free(struct config *cfg)
{
    if (!cfg)
        return;
    for (size_t i = 0; i < cfg->n; i++)
        free(cfg->e[i].value);
    free(cfg->e);
    free(cfg);
}

static const struct cfg_entry *must(const struct config *cfg, const char *section, const char *key)
{
    const struct cfg_entry *e = entry_find(cfg, section, key);
    if (!e) {
        fprintf(stderr, "loa: internal error: config key [%s] %s is not in the table\n", section, key);
        abort();
    }
    return e;
}

const char *config_str(const struct config *cfg, const char *section, const char *key)
{
    return must(cfg, section, key)->value;
}

long config_int(const struct config *cfg, const char *section, const char *key)
{
    return strtol(must(cfg, section, key)->value, NULL, 10);
}

double config_double(const struct config *cfg, const char *section, const char *key)
{
    return strtod(must(cfg, section, key)->value, NULL);
}

bool config_bool(const struct config *cfg, const char *section, const char *key)
{
    const char *v = must(cfg, section, key)->value;
    return strcasecmp(v, "true") == 0 || strcasecmp(v, "yes") == 0 || strcasecmp(v, "on") == 0 ||
           strcmp(v, "1") == 0;
}

bool config_given(const struct config *cfg, const char *section, const char *key)
{
    const struct cfg_entry *e = entry_find(cfg, section, key);
    return e && e->given;
}

size_t config_gateway_count(const struct config *cfg) { return cfg->ngw; }
const char *config_gateway_name(const struct config *cfg, size_t i) { return cfg->gw_names[i]; }
const char *config_gateway_section(const struct config *cfg, size_t i) { return cfg->gw_sections[i]; }
const char *config_gateway_type(const struct config *cfg, size_t i)
{
    return config_str(cfg, cfg->gw_sections[i], "type");
}

static const char *kind_name(enum cfg_kind k)
{
    static const char *const n[] = {"text", "secret", "integer", "number", "boolean",
                                     "url", "host:port", "HH:MM-HH:MM", "N/Dd", "conninfo",
                                     "text" /* CFG_TZ: a zone name */, "addresses"};
    return n[k];
}

static void print_key(const char *section, const struct cfg_key *k)
{
    printf("[%s] %-22s %-11s default=%s", section, k->name, kind_name(k->kind), k->def ? (*k->def ? k->def : "\"\"") : "(required)");
    if (k->kind == CFG_INT || k->kind == CFG_DOUBLE)
        printf(k->kind == CFG_INT ? " range=%.0f..%.0f" : " range=%g..%g", k->min, k->max);
    printf("  %s\n", k->desc);
}

void config_keys_each(void (*fn)(void *arg, const char *section, const struct cfg_key *k), void *arg)
{
    for (const struct cfg_key *k = base_keys; k->name; k++)
        fn(arg, strcmp(k->section, "gateway") == 0 ? "gateway.*" : k->section, k);
    for (size_t i = 0; i < nreg_types; i++) {
        const struct cfg_section_type *t = &reg_types[i];
        if (!t->keys)
            continue;
        char sec[64];
        snprintf(sec, sizeof sec, "gateway.* type=%s", t->name);
        for (const struct cfg_key *k = t->keys; k->name; k++)
            fn(arg, sec, k);
    }
}

const char *config_kind_name(enum cfg_kind kind) { return kind_name(kind); }

static void print_one(void *arg, const char *section, const struct cfg_key *k) { print_key(section, k); }

void config_print_keys(void)
{
    config_keys_each(print_one, NULL);
}
