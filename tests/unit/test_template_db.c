/* Templates against PostgreSQL: creating variants, the vi rule for campaign use, and the preview
 * over a streamed segment (sample, longest, parts, cost, variants). Needs LOA_TEST_DB_URL. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <cmocka.h>

#include "campaigns/preview.h"
#include "campaigns/template.h"
#include "campaigns/template_store.h"
#include "cli/commands.h"
#include "core/config.h"
#include "core/db.h"
#include "segments/filter.h"
#include "testdb.h"

static struct cli cli;
static char tag[32];          /* marks this run's citizens, so the test shares a database safely */
static char dir[64];

static int setup(void **state)
{
    char err[512];
    if (config_load(NULL, &cli.cfg, err, sizeof err) < 0) return -1;
    cli.db = testdb_open();
    if (!cli.db)
        return -1;
    snprintf(tag, sizeof tag, "tpltest%d", (int)getpid());
    snprintf(dir, sizeof dir, "/tmp/loa-tpltest-%d", (int)getpid());
    mkdir(dir, 0700);
    /* Three citizens: a Vietnamese woman, a Khmer man (km variant), one without a phone. */
    const char *p[1] = {tag};
    if (db_exec(cli.db, err, sizeof err,
                "INSERT INTO citizens (full_name, phone, commune_code, province_code, gender, birth_date,"
                " language, voluntary_due_date, tags) VALUES"
                " ('Nguyễn Thị Hoa ' || $1, '84900000001', '23200', '52', 'female', '1990-01-01', 'vi', '2026-05-31', ARRAY[$1, 'near_poor']),"
                " ('Thạch Sô Phol ' || $1, '84900000002', '23200', '52', 'male', '1960-01-01', 'km', NULL, ARRAY[$1]),"
                " ('Lê Minh ' || $1, NULL, '23200', '52', NULL, NULL, 'vi', NULL, ARRAY[$1])",
                1, p) < 0) {
        fprintf(stderr, "%s\n", err);
        return -1;
    }
    return 0;
}

static int teardown(void **state)
{
    const char *p[1] = {tag};
    char err[256];
    if (cli.db) db_exec(cli.db, err, sizeof err, "DELETE FROM citizens WHERE $1 = ANY(tags)", 1, p);
    PQfinish(cli.db);
    config_free(cli.cfg);
    static const char *files[] = {"km.txt", "vi.txt", "bad.txt", "vi2.txt", "z.json", "may.txt", "may_km.txt", "long.txt"};
    for (size_t i = 0; i < sizeof files / sizeof *files; i++) {
        char path[128];
        snprintf(path, sizeof path, "%s/%s", dir, files[i]);
        unlink(path);
    }
    rmdir(dir);
    return 0;
}

static const char *write_file(const char *name, const char *text)
{
    static char path[128];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    FILE *f = fopen(path, "w");
    fputs(text, f);
    fclose(f);
    return path;
}

static int create(const char *name, const char *file, const char *lang)
{
    char *argv[] = {"create", (char *)name, "--channel", "sms", "--file", (char *)file, "--lang",
                    (char *)lang, NULL};
    return cmd_template_create(&cli, 8, argv);
}

static int64_t template_id(const char *name)
{
    const char *p[1] = {name};
    char err[256];
    PGresult *r = db_query(cli.db, err, sizeof err, "SELECT id FROM templates WHERE name = $1", 1, p);
    assert_non_null(r);
    assert_int_equal(PQntuples(r), 1);
    int64_t id = strtoll(PQgetvalue(r, 0, 0), NULL, 10);
    PQclear(r);
    return id;
}

static void test_template_needs_vi_before_campaign_use(void **state)
{
    char name[64], err[512];
    snprintf(name, sizeof name, "km_first_%s", tag);
    assert_int_equal(create(name, write_file("km.txt", "Phol {{given_name}}\n"), "km"), CLI_OK);
    int64_t id = template_id(name);
    assert_int_equal(template_check_usable(cli.db, id, err, sizeof err), -1);
    assert_non_null(strstr(err, "no 'vi' variant"));
    assert_int_equal(create(name, write_file("vi.txt", "Chào {{given_name}}\n"), "vi"), CLI_OK);
    assert_int_equal(template_check_usable(cli.db, id, err, sizeof err), 0);
    assert_int_equal(template_check_usable(cli.db, 999999999, err, sizeof err), -1);
    assert_non_null(strstr(err, "does not exist"));
    /* A bad body, an unknown language and another channel are refused and change nothing. */
    assert_int_equal(create(name, write_file("bad.txt", "Chào {{ho_ten}}"), "vi"), CLI_REFUSED);
    assert_int_equal(create(name, write_file("vi2.txt", "x"), "xx"), CLI_REFUSED);
    char *zargv[] = {"create", name, "--channel", "zns", "--file", (char *)write_file("z.json", "{\"a\":\"b\"}"),
                     "--zns-template-id", "1", NULL};
    assert_int_equal(cmd_template_create(&cli, 8, zargv), CLI_REFUSED);
    const char *p[1] = {name};
    PGresult *r = db_query(cli.db, err, sizeof err,
                           "SELECT language, body FROM template_variants v JOIN templates t ON t.id = v.template_id"
                           " WHERE t.name = $1 ORDER BY language", 1, p);
    assert_int_equal(PQntuples(r), 2);
    assert_string_equal(PQgetvalue(r, 1, 1), "Chào {{given_name}}");   /* final newline dropped */
    PQclear(r);
}

static void preview(const char *name, struct preview_result *o, int want_rc, char *err, size_t errlen)
{
    char filter[128];
    snprintf(filter, sizeof filter, "{\"field\":\"tags\",\"eq\":\"%s\"}", tag);
    struct filter_sql fs;
    assert_int_equal(filter_compile(filter, 1, &fs, err, errlen), 0);
    int rc = template_preview_segment(cli.db, template_id(name), fs.where, fs.params, fs.nparams, cli.cfg,
                                      NULL, true, o, err, errlen);
    filter_sql_free(&fs);
    if (rc != want_rc) fail_msg("preview %s: rc %d (%s)", name, rc, err);
}

static void test_template_preview_over_a_segment(void **state)
{
    char name[64], err[1024];
    snprintf(name, sizeof name, "may_%s", tag);
    assert_int_equal(create(name, write_file("may.txt", "Kính gửi {{salutation}} {{given_name}}, hỗ trợ {{state_support_pct}}%"), "vi"), CLI_OK);
    assert_int_equal(create(name, write_file("may_km.txt", "Phol {{given_name}}"), "km"), CLI_OK);
    struct preview_result *o = malloc(sizeof *o);
    preview(name, o, 0, err, sizeof err);
    assert_int_equal(o->citizens, 3);
    assert_int_equal(o->sendable, 2);                /* the third has no phone */
    assert_true(o->has_sample);
    assert_string_equal(o->sample_language, "vi");
    assert_non_null(strstr(o->sample, "Kính gửi Chị "));
    assert_non_null(strstr(o->sample, "hỗ trợ 40%"));   /* tagged near_poor */
    assert_int_equal(o->sample_info.coding, SMS_UCS2);
    assert_int_equal(o->total_parts, 2);
    assert_int_equal(o->cost_vnd, 2 * 750);
    assert_int_equal(o->max_parts, 3);
    assert_string_equal(o->longest, o->sample);      /* "Phol Phol …" is shorter */
    long vi = -1, km = -1;
    for (int i = 0; i < o->nlanguages; i++) {
        if (strcmp(o->languages[i].language, "vi") == 0) vi = o->languages[i].citizens;
        if (strcmp(o->languages[i].language, "km") == 0) km = o->languages[i].citizens;
    }
    assert_int_equal(vi, 1);
    assert_int_equal(km, 1);

    /* Over max_parts: refused, with the longest rendering named. */
    char lng[64], body[1200] = "";
    snprintf(lng, sizeof lng, "long_%s", tag);
    for (int i = 0; i < 6; i++) strcat(body, "Kính gửi {{salutation}} {{full_name}}, hạn đóng sắp đến. ");
    assert_int_equal(create(lng, write_file("long.txt", body), "vi"), CLI_OK);
    preview(lng, o, -1, err, sizeof err);
    assert_non_null(strstr(err, "more than 3 parts"));
    assert_int_equal(o->over_max_parts, 2);
    assert_true(o->longest_info.parts > 3);
    assert_non_null(strstr(err, o->longest));
    free(o);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_template_needs_vi_before_campaign_use),
        cmocka_unit_test(test_template_preview_over_a_segment),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
