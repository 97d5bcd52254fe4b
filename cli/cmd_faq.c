#include "cli/cmd_faq.h"
#include "campaigns/faq.h"
#include "core/config.h"
#include "core/db.h"
#include "segments/csvfile.h"

#include <cjson/cJSON.h>
#include <getopt.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

enum { ERRLEN = 600, QUESTION_MAX = 500, ANSWER_MAX = 1000 };

/* QUESTION and ANSWER cleaned as stored (NFC, one space), or why not. */
static const char *clean_pair(const char *q, const char *a, char *qo, char *ao)
{
    int ql = csvfile_text_clean(q, qo, QUESTION_MAX + 1), al = csvfile_text_clean(a, ao, ANSWER_MAX + 1);
    if (ql < 0 || al < 0)
        return "not UTF-8 text on one line, or too long (question 500, answer 1000 bytes)";
    if (ql == 0 || al == 0)
        return "an empty question or answer";
    struct faq_bank *b = faq_bank_new();
    bool words = b && faq_bank_add(b, 0, qo, ao) == 0;
    faq_bank_free(b);
    return words ? NULL : "the question has no word to match on";
}

/* Upserts one pair; 1 added, 0 updated, -1 with ERR. */
/* Adds or replaces the answer A of question Q: 1 added, 0 replaced, -1 a database error, -2 an
 * answer with a placeholder the bank cannot fill (ERR says which). */
static int faq_put(PGconn *db, const char *q, const char *a, long long *id, char *err, size_t errlen)
{
    const char *p[2] = {q, a};
    PGresult *u = db_query(db, err, errlen, "SELECT loa_policy_text_unknown($1)", 1, p + 1);
    if (!u)
        return -1;
    if (!PQgetisnull(u, 0, 0)) {
        snprintf(err, errlen, "the answer has an unknown placeholder {{%.60s}} (known: {{name}}, "
                 "{{min_contribution_vnd}}, {{poverty_line_vnd}}, {{contribution_pct}}, {{policy_source}}, "
                 "{{policy_from}}, {{support_pct:CODE}}, {{support_vnd:CODE}}, {{own_vnd:CODE}} for a policy CODE)",
                 PQgetvalue(u, 0, 0));
        PQclear(u);
        return -2;
    }
    PQclear(u);
    PGresult *r = db_query(db, err, errlen,
                           "INSERT INTO faq (question, answer) VALUES ($1, $2) ON CONFLICT (question)"
                           " DO UPDATE SET answer = EXCLUDED.answer, updated_at = now() RETURNING id, (xmax = 0)",
                           2, p);
    if (!r)
        return -1;
    *id = strtoll(PQgetvalue(r, 0, 0), NULL, 10);
    int added = strcmp(PQgetvalue(r, 0, 1), "t") == 0;
    PQclear(r);
    return added;
}

int cmd_faq_add(struct cli *c, int argc, char **argv)
{
    const struct cli_command *cmd = cli_find("faq add");
    const char *args[2];
    int rc = cli_positional(cmd, argc, argv, args, 2, "a QUESTION and its ANSWER");
    if (rc)
        return rc;
    char q[QUESTION_MAX + 1], a[ANSWER_MAX + 1];
    const char *why = clean_pair(args[0], args[1], q, a);
    if (why)
        return cli_usage(cmd, "%s", why);
    PGconn *db = cli_db(c);
    if (!db)
        return CLI_REFUSED;
    char err[ERRLEN];
    long long id;
    int added = faq_put(db, q, a, &id, err, sizeof err);
    if (added < 0)
        return cli_refuse("%s", err);
    if (c->json) {
        cJSON *o = cJSON_CreateObject();
        cJSON_AddNumberToObject(o, "id", (double)id);
        cJSON_AddBoolToObject(o, "added", added);
        cli_print_json(o);
    } else
        printf("faq %lld %s\n", id, added ? "added" : "updated");
    return CLI_OK;
}

struct import {
    PGconn *db;
    int qcol, acol;
    long added, updated, rejected;
    cJSON *rejects;
};

static void reject(struct import *im, long line, const char *why)
{
    im->rejected++;
    fprintf(stderr, "loa: line %ld: %s\n", line, why);
    cJSON *x = cJSON_CreateObject();
    cJSON_AddNumberToObject(x, "line", (double)line);
    cJSON_AddStringToObject(x, "reason", why);
    cJSON_AddItemToArray(im->rejects, x);
}

static int import_row(void *ud, const struct csvfile_row *row, char *err, size_t errlen)
{
    struct import *im = ud;
    if (row->header) {
        for (int i = 0; i < row->nfields; i++) {
            char key[64];
            csvfile_fold(row->fields[i], key, sizeof key);
            if (strcmp(key, "question") == 0 || strcmp(key, "cau_hoi") == 0)
                im->qcol = i;
            else if (strcmp(key, "answer") == 0 || strcmp(key, "tra_loi") == 0)
                im->acol = i;
        }
        if (im->qcol < 0 || im->acol < 0) {
            snprintf(err, errlen, "the header must name the columns question,answer");
            return -1;
        }
        return 0;
    }
    if (row->problem) {
        reject(im, row->line, row->problem);
        return 0;
    }
    if (im->qcol >= row->nfields || im->acol >= row->nfields) {
        reject(im, row->line, "missing the question or the answer");
        return 0;
    }
    char q[QUESTION_MAX + 1], a[ANSWER_MAX + 1];
    const char *why = clean_pair(row->fields[im->qcol], row->fields[im->acol], q, a);
    if (why) {
        reject(im, row->line, why);
        return 0;
    }
    long long id;
    int added = faq_put(im->db, q, a, &id, err, errlen);
    if (added == -2) {
        reject(im, row->line, err);
        err[0] = '\0';
        return 0;
    }
    if (added < 0)
        return -1;
    if (added)
        im->added++;
    else
        im->updated++;
    return 0;
}

int cmd_faq_import(struct cli *c, int argc, char **argv)
{
    const struct cli_command *cmd = cli_find("faq import");
    const char *args[1];
    int rc = cli_positional(cmd, argc, argv, args, 1, "one FILE.csv with the columns question,answer");
    if (rc)
        return rc;
    char err[ERRLEN];
    struct csvfile *f;
    if (csvfile_open(args[0], &f, err, sizeof err) < 0)
        return cli_refuse("%s", err);
    PGconn *db = cli_db(c);
    if (!db) {
        csvfile_close(f);
        return CLI_REFUSED;
    }
    struct import im = {.db = db, .qcol = -1, .acol = -1, .rejects = cJSON_CreateArray()};
    /* One transaction: a file that fails half-way changes nothing. */
    rc = db_begin(db, err, sizeof err);
    if (rc == 0)
        rc = csvfile_read(f, import_row, &im, err, sizeof err);
    if (rc == 0 && im.qcol < 0)
        rc = -1, snprintf(err, sizeof err, "%s has no header row", args[0]);
    if (rc == 0)
        rc = db_commit(db, err, sizeof err);
    else
        db_rollback(db);
    csvfile_close(f);
    if (rc < 0) {
        cJSON_Delete(im.rejects);
        return cli_refuse("%s", err);
    }
    if (c->json) {
        cJSON *o = cJSON_CreateObject();
        cJSON_AddNumberToObject(o, "imported", (double)im.added);
        cJSON_AddNumberToObject(o, "updated", (double)im.updated);
        cJSON_AddNumberToObject(o, "rejected", (double)im.rejected);
        cJSON_AddItemToObject(o, "rejects", im.rejects);
        cli_print_json(o);
    } else {
        cJSON_Delete(im.rejects);
        printf("imported %ld, updated %ld, rejected %ld\n", im.added, im.updated, im.rejected);
    }
    return CLI_OK;
}

int cmd_faq_list(struct cli *c, int argc, char **argv)
{
    const struct cli_command *cmd = cli_find("faq list");
    int rc = cli_positional(cmd, argc, argv, NULL, 0, "no argument");
    if (rc)
        return rc;
    PGconn *db = cli_db(c);
    if (!db)
        return CLI_REFUSED;
    char err[ERRLEN];
    PGresult *r = db_query(db, err, sizeof err, FAQ_LIST_SQL, 0, NULL);
    if (!r)
        return cli_refuse("%s", err);
    if (c->json) {
        cJSON *o = cJSON_CreateObject(), *a = cJSON_AddArrayToObject(o, "faq");
        for (int i = 0; i < PQntuples(r); i++) {
            cJSON *x = cJSON_CreateObject();
            cJSON_AddNumberToObject(x, "id", (double)strtoll(PQgetvalue(r, i, 0), NULL, 10));
            cJSON_AddStringToObject(x, "question", PQgetvalue(r, i, 1));
            cJSON_AddStringToObject(x, "answer", PQgetvalue(r, i, 2));
            cJSON_AddItemToArray(a, x);
        }
        cli_print_json(o);
    } else
        for (int i = 0; i < PQntuples(r); i++)
            printf("%5s  %s\n       → %s\n", PQgetvalue(r, i, 0), PQgetvalue(r, i, 1), PQgetvalue(r, i, 2));
    PQclear(r);
    return CLI_OK;
}

int cmd_faq_remove(struct cli *c, int argc, char **argv)
{
    const struct cli_command *cmd = cli_find("faq remove");
    const char *args[1];
    int rc = cli_positional(cmd, argc, argv, args, 1, "one ID or QUESTION");
    if (rc)
        return rc;
    const char *key = args[0];
    bool numeric = *key && strspn(key, "0123456789") == strlen(key) && strlen(key) < 19;
    PGconn *db = cli_db(c);
    if (!db)
        return CLI_REFUSED;
    char err[ERRLEN], q[QUESTION_MAX + 1];
    if (csvfile_text_clean(key, q, sizeof q) < 0)
        snprintf(q, sizeof q, "%s", "");
    const char *p[2] = {numeric ? key : NULL, q};
    PGresult *r = db_query(db, err, sizeof err,
                           "DELETE FROM faq WHERE id = $1::bigint OR question = $2 RETURNING id", 2, p);
    if (!r)
        return cli_refuse("%s", err);
    int n = PQntuples(r);
    PQclear(r);
    if (n == 0)
        return cli_refuse("no question '%s' in the bank (`loa faq list`)", key);
    if (c->json) {
        cJSON *o = cJSON_CreateObject();
        cJSON_AddNumberToObject(o, "removed", n);
        cli_print_json(o);
    } else
        printf("removed %d question%s\n", n, n == 1 ? "" : "s");
    return CLI_OK;
}

int cmd_faq_match(struct cli *c, int argc, char **argv)
{
    const struct cli_command *cmd = cli_find("faq match");
    const char *args[1];
    int rc = cli_positional(cmd, argc, argv, args, 1, "one TEXT, a citizen's question");
    if (rc)
        return rc;
    PGconn *db = cli_db(c);
    if (!db)
        return CLI_REFUSED;
    char err[ERRLEN];
    const char *tzp[1] = {config_str(c->cfg, "policy", "timezone")};
    PGresult *r = db_query(db, err, sizeof err, FAQ_BANK_SQL, 1, tzp);
    if (!r)
        return cli_refuse("%s", err);
    struct faq_bank *b = faq_bank_from_result(r);
    PQclear(r);
    if (!b)
        return cli_refuse("out of memory");
    double score;
    int i = faq_bank_match(b, args[0], &score);
    bool confident = i >= 0 && score >= FAQ_CONFIDENT;
    if (c->json) {
        cJSON *o = cJSON_CreateObject();
        if (i >= 0) {
            cJSON_AddNumberToObject(o, "id", (double)faq_bank_id(b, i));
            cJSON_AddStringToObject(o, "question", faq_bank_question(b, i));
            cJSON_AddStringToObject(o, "answer", faq_bank_answer(b, i));
        } else
            cJSON_AddNullToObject(o, "id");
        cJSON_AddNumberToObject(o, "score", (double)(long)(score * 1000 + 0.5) / 1000);
        cJSON_AddBoolToObject(o, "confident", confident);
        cli_print_json(o);
    } else if (i >= 0)
        printf("%s (score %.3f): %s\n  → %s\n", confident ? "match" : "weak match", score,
               faq_bank_question(b, i), faq_bank_answer(b, i));
    else
        printf("no match\n");
    faq_bank_free(b);
    return CLI_OK;
}
