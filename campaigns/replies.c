#include "campaigns/replies.h"
#include "cli/cli.h"
#include "core/config.h"
#include "core/db.h"
#include "core/log.h"

#include <cjson/cJSON.h>
#include <ctype.h>
#include <getopt.h>
#include <inttypes.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <utf8proc.h>

enum { ERRLEN = 600, NORM_MAX = 2048 };

/* ---- Classification ---- */

/* Whole messages, compared without spaces ("t c" is "tc"). */
static const char *const stop_exact[] = {
    "tc", "tuchoi", "huy", "stop", "dung", "dunglai", "ngung", "huydangky", "khongnhan",
    "khongnhantin", "unsubscribe", "tcbhxh", NULL,
};
/* Phrases anywhere in the message, word for word. */
static const char *const stop_phrases[] = {
    "tu choi", "khong muon nhan", "khong nhan tin", "khong nhan nua", "khong can nhan",
    "dung gui", "ngung gui", "dung nhan", "ngung nhan", "dung nhan tin", "huy dang ky",
    "huy dich vu", "huy nhan tin", "khong dang ky", "dung lai", "dung lien lac",
    "khong lien lac", "stop", "unsubscribe", NULL,
};
static const char *const stop_first[] = {"tc", "stop", "huy", "tuchoi", NULL};
static const char *const register_exact[] = {
    "dk", "dky", "dangky", "co", "yes", "quantam", "dongy", "cotoiquantam", "toiquantam", NULL,
};
static const char *const register_first[] = {"dk", "dky", "yes", NULL};
static const char *const register_phrases[] = {
    "dang ky", "quan tam", "muon tham gia", "dong y tham gia", NULL,
};
static const char *const question_start[] = {
    "hoi", "cho hoi", "xin hoi", "cho toi hoi", "bao nhieu", "lam sao", "lam the nao",
    "tai sao", "vi sao", "the nao", "khi nao", "o dau", "nhu the nao", "co phai", NULL,
};
static const char *const question_phrases[] = {"bao nhieu", "nhu the nao", "lam the nao", NULL};

static void append_space(char *out, unsigned *n, unsigned len)
{
    if (*n > 0 && out[*n - 1] != ' ' && *n + 1 < len)
        out[(*n)++] = ' ';
}

void reply_normalise(const char *text, char *out, unsigned len, int *question)
{
    *question = 0;
    if (len == 0)
        return;
    out[0] = '\0';
    if (!text)
        return;
    utf8proc_uint8_t *mapped = NULL;
    /* NFKD (full-width '？' becomes '?'), marks stripped, case folded. */
    utf8proc_ssize_t m = utf8proc_map((const utf8proc_uint8_t *)text, 0, &mapped,
                                      UTF8PROC_NULLTERM | UTF8PROC_STABLE | UTF8PROC_COMPAT |
                                          UTF8PROC_DECOMPOSE | UTF8PROC_STRIPMARK |
                                          UTF8PROC_CASEFOLD);
    /* Invalid UTF-8: classify the ASCII bytes that are there. */
    const unsigned char *s = m >= 0 ? mapped : (const unsigned char *)text;
    size_t slen = m >= 0 ? (size_t)m : strlen(text);
    unsigned n = 0;
    for (size_t i = 0; i < slen && n + 1 < len;) {
        unsigned char ch = s[i];
        if (ch < 0x80) {
            if (ch == '?')
                *question = 1;
            if (isalnum(ch))
                out[n++] = (char)tolower(ch);
            else
                append_space(out, &n, len);
            i++;
            continue;
        }
        /* đ (U+0111) has no decomposition: it is a letter of its own, read as d. */
        if (m >= 0 && ch == 0xC4 && i + 1 < slen && s[i + 1] == 0x91) {
            out[n++] = 'd';
            i += 2;
            continue;
        }
        append_space(out, &n, len);
        i++;
        while (i < slen && (s[i] & 0xC0) == 0x80)
            i++;
    }
    while (n > 0 && out[n - 1] == ' ')
        n--;
    out[n] = '\0';
    free(mapped);
}

static bool in_list(const char *w, const char *const *list)
{
    for (; *list; list++)
        if (strcmp(w, *list) == 0)
            return true;
    return false;
}

/* PADDED is " norm ": true when one of the phrases occurs word for word. */
static bool contains_phrase(const char *padded, const char *const *list)
{
    char needle[64];
    for (; *list; list++) {
        snprintf(needle, sizeof needle, " %s ", *list);
        if (strstr(padded, needle))
            return true;
    }
    return false;
}

static bool starts_with_phrase(const char *padded, const char *const *list)
{
    char needle[64];
    for (; *list; list++) {
        int k = snprintf(needle, sizeof needle, " %s ", *list);
        if (strncmp(padded, needle, (size_t)k) == 0)
            return true;
    }
    return false;
}

enum reply_intent reply_classify(const char *text)
{
    char norm[NORM_MAX], padded[NORM_MAX + 2], compact[NORM_MAX], first[64];
    int question;
    reply_normalise(text, norm, sizeof norm, &question);
    snprintf(padded, sizeof padded, " %s ", norm);
    size_t k = 0;
    for (const char *p = norm; *p; p++)
        if (*p != ' ')
            compact[k++] = *p;
    compact[k] = '\0';
    size_t fl = strcspn(norm, " ");
    snprintf(first, sizeof first, "%.*s", (int)(fl < sizeof first ? fl : sizeof first - 1), norm);

    if (!compact[0])
        return question ? REPLY_ASK : REPLY_OTHER;
    if (in_list(compact, stop_exact) || contains_phrase(padded, stop_phrases))
        return REPLY_STOP;
    if (in_list(compact, register_exact))
        return REPLY_REGISTER;
    if (question || starts_with_phrase(padded, question_start) ||
        contains_phrase(padded, question_phrases))
        return REPLY_ASK;
    if (in_list(first, stop_first))
        return REPLY_STOP;
    if (in_list(first, register_first) || contains_phrase(padded, register_phrases))
        return REPLY_REGISTER;
    return REPLY_OTHER;
}

const char *reply_intent_name(enum reply_intent i)
{
    switch (i) {
    case REPLY_STOP: return "stop";
    case REPLY_REGISTER: return "register";
    case REPLY_ASK: return "ask";
    default: return "other";
    }
}

/* ---- replies list ---- */

static void print_json(cJSON *o)
{
    char *s = cJSON_PrintUnformatted(o);
    puts(s);
    free(s);
    cJSON_Delete(o);
}

/* A reply body on one terminal line: control characters become spaces, cut at MAX bytes on
 * a character boundary. */
static void one_line(const char *in, char *out, size_t max)
{
    size_t n = 0;
    for (; *in && n + 4 < max; in++)
        out[n++] = (unsigned char)*in < 0x20 || *in == 0x7f ? ' ' : *in;
    if (*in) {
        while (n > 0 && ((unsigned char)out[n] & 0xC0) == 0x80)
            n--;
        while (n > 0 && ((unsigned char)out[n - 1] & 0xC0) == 0xC0)
            n--;
        out[n++] = '~';
    }
    out[n] = '\0';
}

cJSON *replies_list_json(const PGresult *r, bool unmasked)
{
    cJSON *o = cJSON_CreateObject();
    cJSON *a = cJSON_AddArrayToObject(o, "replies");
    for (int i = 0; i < PQntuples(r); i++) {
        cJSON *x = cJSON_CreateObject();
        char masked[LOG_MASK_LEN];
        cJSON_AddNumberToObject(x, "id", (double)strtoll(PQgetvalue(r, i, 0), NULL, 10));
        cJSON_AddStringToObject(x, "received_at", PQgetvalue(r, i, 1));
        cJSON_AddStringToObject(x, "channel", PQgetvalue(r, i, 3));
        cJSON_AddStringToObject(x, "from", unmasked ? PQgetvalue(r, i, 4)
                                                   : log_mask_phone(PQgetvalue(r, i, 4), masked, sizeof masked));
        if (PQgetisnull(r, i, 5))
            cJSON_AddNullToObject(x, "campaign_id");
        else
            cJSON_AddNumberToObject(x, "campaign_id", (double)strtoll(PQgetvalue(r, i, 5), NULL, 10));
        if (PQgetisnull(r, i, 6))
            cJSON_AddNullToObject(x, "campaign");
        else
            cJSON_AddStringToObject(x, "campaign", PQgetvalue(r, i, 6));
        cJSON_AddStringToObject(x, "intent", PQgetvalue(r, i, 7));
        cJSON_AddStringToObject(x, "body", PQgetvalue(r, i, 8));
        cJSON_AddBoolToObject(x, "answered", !PQgetisnull(r, i, 11));
        if (!PQgetisnull(r, i, 11)) {
            cJSON_AddStringToObject(x, "answered_by", PQgetvalue(r, i, 9));
            cJSON_AddStringToObject(x, "answered_at", PQgetvalue(r, i, 11));
            cJSON_AddStringToObject(x, "answer", PQgetvalue(r, i, 10));
        }
        cJSON_AddItemToArray(a, x);
    }
    return o;
}

static void list_text(const PGresult *r, bool unmasked)
{
    printf("%6s  %-16s %-5s %-14s %-20s %-8s %-9s %s\n", "id", "received", "chan", "from",
           "campaign", "intent", "answered", "text");
    for (int i = 0; i < PQntuples(r); i++) {
        char masked[LOG_MASK_LEN], body[96], camp[24];
        one_line(PQgetvalue(r, i, 8), body, sizeof body);
        one_line(PQgetvalue(r, i, 6), camp, sizeof camp);
        printf("%6s  %-16s %-5s %-14s %-20s %-8s %-9s %s\n", PQgetvalue(r, i, 0),
               PQgetvalue(r, i, 2), PQgetvalue(r, i, 3),
               unmasked ? PQgetvalue(r, i, 4) : log_mask_phone(PQgetvalue(r, i, 4), masked, sizeof masked),
               PQgetisnull(r, i, 6) ? "-" : camp, PQgetvalue(r, i, 7),
               PQgetisnull(r, i, 11) ? "no" : "yes", body);
    }
}

/* CAMPAIGN (name or id) to its id text; -1 when unknown. */
static int campaign_id_of(PGconn *db, const char *key, char *out, size_t len, char *err,
                          size_t errlen)
{
    const char *p[1] = {key};
    PGresult *r = db_query(db, err, errlen, "SELECT id FROM campaigns WHERE name = $1", 1, p);
    if (!r)
        return -1;
    if (PQntuples(r) == 0 && strspn(key, "0123456789") == strlen(key) && strlen(key) < 19 && *key) {
        PQclear(r);
        r = db_query(db, err, errlen, "SELECT id FROM campaigns WHERE id = $1::bigint", 1, p);
        if (!r)
            return -1;
    }
    int found = PQntuples(r) == 1;
    if (found)
        snprintf(out, len, "%s", PQgetvalue(r, 0, 0));
    else
        snprintf(err, errlen, "no campaign '%s'", key);
    PQclear(r);
    return found ? 0 : -1;
}

int cmd_replies_list(struct cli *c, int argc, char **argv)
{
    const struct cli_command *cmd = cli_find("replies list");
    static const struct option opts[] = {
        {"campaign", required_argument, NULL, 'c'}, {"unanswered", no_argument, NULL, 'u'},
        {"unmasked", no_argument, NULL, 'U'},       {"limit", required_argument, NULL, 'l'},
        {"json", no_argument, NULL, 'j'},           {NULL, 0, NULL, 0}};
    const char *campaign = NULL;
    bool unanswered = false, unmasked = false;
    long limit = 200;
    opterr = 0;
    int ch;
    while ((ch = getopt_long(argc, argv, ":", opts, NULL)) != -1) {
        switch (ch) {
        case 'c': campaign = optarg; break;
        case 'u': unanswered = true; break;
        case 'U': unmasked = true; break;
        case 'l': {
            char *end;
            limit = strtol(optarg, &end, 10);
            if (*end || limit < 1 || limit > 100000)
                return cli_usage(cmd, "--limit takes 1 to 100000, not '%s'", optarg);
            break;
        }
        case 'j': break;
        case ':': return cli_usage(cmd, "%s needs a value", argv[optind - 1]);
        default: return cli_usage(cmd, "unknown option %s", argv[optind - 1]);
        }
    }
    if (optind < argc)
        return cli_usage(cmd, "unexpected argument %s", argv[optind]);
    PGconn *db = cli_db(c);
    if (!db)
        return CLI_REFUSED;
    char err[ERRLEN], cid[24] = "", lim[16];
    if (campaign && campaign_id_of(db, campaign, cid, sizeof cid, err, sizeof err) < 0)
        return cli_refuse("%s", err);
    snprintf(lim, sizeof lim, "%ld", limit);
    const char *p[4] = {cid[0] ? cid : NULL, unanswered ? "true" : "false", lim,
                        config_str(c->cfg, "policy", "timezone")};
    PGresult *r = db_query(db, err, sizeof err, REPLIES_LIST_SQL, 4, p);
    if (!r)
        return cli_refuse("%s", err);
    /* Full numbers only on request, and only in JSON, where a script asked for them. */
    if (c->json)
        print_json(replies_list_json(r, unmasked));
    else
        list_text(r, false);
    PQclear(r);
    return CLI_OK;
}

/* ---- replies answer ---- */

static int answer_refusal(PGconn *db, const char *id)
{
    char err[ERRLEN];
    const char *p[1] = {id};
    PGresult *r = db_query(db, err, sizeof err,
                           "SELECT answered_by, to_char(answered_at AT TIME ZONE 'UTC',"
                           " 'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"') FROM replies WHERE id = $1::bigint", 1, p);
    if (!r)
        return cli_refuse("%s", err);
    int rc = PQntuples(r) == 0
        ? cli_refuse("no reply %s (`loa replies list`)", id)
        : cli_refuse("reply %s was already answered by %s at %s", id, PQgetvalue(r, 0, 0),
                     PQgetvalue(r, 0, 1));
    PQclear(r);
    return rc;
}

int cmd_replies_answer(struct cli *c, int argc, char **argv)
{
    const struct cli_command *cmd = cli_find("replies answer");
    static const struct option opts[] = {
        {"by", required_argument, NULL, 'b'}, {"json", no_argument, NULL, 'j'}, {NULL, 0, NULL, 0}};
    const char *by = NULL;
    opterr = 0;
    int ch;
    while ((ch = getopt_long(argc, argv, ":", opts, NULL)) != -1) {
        switch (ch) {
        case 'b': by = optarg; break;
        case 'j': break;
        case ':': return cli_usage(cmd, "%s needs a value", argv[optind - 1]);
        default: return cli_usage(cmd, "unknown option %s", argv[optind - 1]);
        }
    }
    if (argc - optind != 2)
        return cli_usage(cmd, "expected a reply ID and the TEXT of the answer");
    const char *id = argv[optind], *text = argv[optind + 1];
    if (!*id || strspn(id, "0123456789") != strlen(id) || strlen(id) > 18)
        return cli_usage(cmd, "'%s' is not a reply id", id);
    size_t tlen = strspn(text, " \t\r\n") == strlen(text) ? 0 : strlen(text);
    if (tlen == 0 || tlen > 1600)
        return cli_usage(cmd, "the answer must hold 1 to 1600 bytes of text");
    if (!by || !*by)
        by = getenv("USER");
    if (!by || !*by)
        return cli_usage(cmd, "say who answers with --by NAME");
    PGconn *db = cli_db(c);
    if (!db)
        return CLI_REFUSED;
    char err[ERRLEN];
    if (db_begin(db, err, sizeof err) < 0)
        return cli_refuse("%s", err);
    const char *p[3] = {id, text, by};
    /* answered_at IS NULL: two officers answering at once cannot both send. */
    PGresult *r = db_query(db, err, sizeof err,
                           "UPDATE replies SET answer = $2, answered_by = $3, answered_at = now()"
                           " WHERE id = $1::bigint AND answered_at IS NULL"
                           " RETURNING channel, gateway, from_addr", 3, p);
    if (!r) {
        db_rollback(db);
        return cli_refuse("%s", err);
    }
    if (PQntuples(r) != 1) {
        PQclear(r);
        db_rollback(db);
        return answer_refusal(db, id);
    }
    char chan[8], masked[LOG_MASK_LEN];
    snprintf(chan, sizeof chan, "%s", PQgetvalue(r, 0, 0));
    log_mask_phone(PQgetvalue(r, 0, 2), masked, sizeof masked);
    const char *q[6] = {id, chan, PQgetvalue(r, 0, 1), PQgetvalue(r, 0, 2), text, by};
    PGresult *a = db_query(db, err, sizeof err,
                           "INSERT INTO outbound_answers (reply_id, channel, gateway, address, body, answered_by)"
                           " VALUES ($1::bigint, $2, $3, $4, $5, $6) RETURNING id", 6, q);
    PQclear(r);
    if (!a) {
        db_rollback(db);
        return cli_refuse("%s", err);
    }
    char aid[24];
    snprintf(aid, sizeof aid, "%s", PQgetvalue(a, 0, 0));
    PQclear(a);
    if (db_commit(db, err, sizeof err) < 0)
        return cli_refuse("%s", err);
    db_notify(db, "loa_answers", aid);
    log_info("event=reply_answered reply=%s answer=%s channel=%s to=%s", id, aid, chan, masked);
    if (c->json) {
        cJSON *o = cJSON_CreateObject();
        cJSON_AddNumberToObject(o, "reply_id", (double)strtoll(id, NULL, 10));
        cJSON_AddNumberToObject(o, "answer_id", (double)strtoll(aid, NULL, 10));
        cJSON_AddStringToObject(o, "channel", chan);
        cJSON_AddStringToObject(o, "state", "pending");
        print_json(o);
    } else
        printf("answer %s to reply %s queued for %s to %s\n", aid, id, chan, masked);
    return CLI_OK;
}
