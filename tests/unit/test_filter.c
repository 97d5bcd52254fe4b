/* The segment filter compiler without a database: what it accepts, the SQL shape and
 * parameters it produces, and the path + reason of everything it refuses. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "segments/filter.h"

struct good {
    const char *json;
    const char *sql_has;     /* a fragment the SQL must contain */
    int nparams;
    const char *param0;      /* the first parameter, or NULL */
};

static const struct good goods[] = {
    {"{\"field\":\"group\",\"eq\":\"household_business\"}", "c.group_code = $1", 1, "household_business"},
    {"{\"field\":\"group\",\"ne\":\"student\"}", "c.group_code IS DISTINCT FROM $1", 1, "student"},
    {"{\"field\":\"commune_code\",\"in\":[\"23200\",\"23203\"]}", "c.commune_code = ANY($1::text[])", 1, "{\"23200\",\"23203\"}"},
    {"{\"field\":\"province_code\",\"not_in\":[\"52\"]}", "NOT COALESCE(c.province_code = ANY($1::text[]), false)", 1, "{\"52\"}"},
    {"{\"field\":\"language\",\"exists\":true}", "c.language IS NOT NULL", 0, NULL},
    {"{\"field\":\"group\",\"exists\":false}", "c.group_code IS NULL", 0, NULL},
    {"{\"field\":\"gender\",\"eq\":\"female\"}", "c.gender = $1", 1, "female"},
    {"{\"field\":\"participation\",\"in\":[\"none\",\"stopped\"]}", "c.participation = ANY($1::text[])", 1, "{\"none\",\"stopped\"}"},
    {"{\"field\":\"carrier\",\"eq\":\"viettel\"}", "c.carrier = $1", 1, "viettel"},
    {"{\"field\":\"age\",\"gte\":18}", "c.birth_date <= ((now() AT TIME ZONE 'Asia/Ho_Chi_Minh')::date - make_interval(years => $1::int))::date", 1, "18"},
    {"{\"field\":\"age\",\"lt\":60}", "c.birth_date > (", 1, "60"},
    {"{\"field\":\"age\",\"lte\":60}", "c.birth_date > (", 1, "61"},
    {"{\"field\":\"age\",\"gt\":17}", "c.birth_date <= (", 1, "18"},
    {"{\"field\":\"age\",\"between\":[18,60]}", " AND c.birth_date > ", 2, "18"},
    {"{\"field\":\"age\",\"eq\":30}", " AND c.birth_date > ", 2, "30"},
    {"{\"field\":\"age\",\"ne\":30}", "NOT COALESCE((c.birth_date", 2, "30"},
    {"{\"field\":\"age\",\"in\":[20,30]}", "date_part('year', age(", 1, "{\"20\",\"30\"}"},
    {"{\"field\":\"age\",\"lt\":0}", "false", 0, NULL},
    {"{\"field\":\"voluntary_due_date\",\"within_days\":30}", "c.voluntary_due_date BETWEEN (now() AT TIME ZONE 'Asia/Ho_Chi_Minh')::date AND (now() AT TIME ZONE 'Asia/Ho_Chi_Minh')::date + $1::int", 1, "30"},
    {"{\"field\":\"voluntary_due_date\",\"lt\":\"2026-05-01\"}", "c.voluntary_due_date < $1::date", 1, "2026-05-01"},
    {"{\"field\":\"voluntary_due_date\",\"between\":[\"2026-05-01\",\"2026-05-31\"]}", "c.voluntary_due_date BETWEEN $1::date AND $2::date", 2, "2026-05-01"},
    {"{\"field\":\"voluntary_due_date\",\"eq\":\"2024-02-29\"}", "= $1::date", 1, "2024-02-29"},
    {"{\"field\":\"has_zalo\",\"eq\":true}", "(c.has_zalo IS TRUE OR c.zalo_user_id IS NOT NULL) = $1::boolean", 1, "true"},
    {"{\"field\":\"has_zalo\",\"ne\":false}", "IS DISTINCT FROM $1::boolean", 1, "false"},
    {"{\"field\":\"tags\",\"eq\":\"hội chợ\"}", "c.tags @> ARRAY[$1::text]", 1, "hội chợ"},
    {"{\"field\":\"tags\",\"in\":[\"a\\\"b\",\"c\\\\d\"]}", "c.tags && $1::text[]", 1, "{\"a\\\"b\",\"c\\\\d\"}"},
    {"{\"field\":\"tags\",\"not_in\":[\"x\"]}", "NOT (c.tags && $1::text[])", 1, "{\"x\"}"},
    {"{\"field\":\"tags\",\"exists\":true}", "c.tags <> '{}'", 0, NULL},
    {"{\"all\":[]}", "true", 0, NULL},
    {"{\"any\":[]}", "false", 0, NULL},
    {"{\"not\":{\"field\":\"group\",\"eq\":\"student\"}}", "NOT COALESCE((c.group_code = $1), false)", 1, "student"},
    {"{\"all\":[{\"field\":\"group\",\"eq\":\"household_business\"},"
     "{\"field\":\"commune_code\",\"in\":[\"23200\",\"23203\",\"23206\"]},"
     "{\"field\":\"age\",\"between\":[18,60]},{\"field\":\"participation\",\"eq\":\"none\"}]}",
     ") AND (", 5, "household_business"},
    {"{\"any\":[{\"field\":\"group\",\"eq\":\"a\"},{\"field\":\"group\",\"eq\":\"b\"}]}", "(c.group_code = $1) OR (c.group_code = $2)", 2, "a"},
};

struct bad {
    const char *json;
    const char *err;         /* the whole message */
};

static const struct bad bads[] = {
    {"", "$: invalid JSON near byte 0"},
    {"{\"field\":\"group\",\"eq\":\"x\"} trailing", "$: invalid JSON near byte 27"},
    {"[]", "$: a node is an object: {\"all\":…}, {\"any\":…}, {\"not\":…} or {\"field\":…, OP:…}"},
    {"{}", "$: empty node"},
    {"{\"all\":[{\"field\":\"group\",\"eq\":\"a\"},{\"field\":\"group\",\"eq\":\"b\"},{\"field\":\"x\",\"eq\":1}]}",
     "$.all[2].field: unknown field 'x'"},
    {"{\"all\":{}}", "$.all: all needs an array of nodes"},
    {"{\"all\":[],\"any\":[]}", "$: 'all' must be alone in its node (found 'any')"},
    {"{\"field\":\"group\",\"eq\":\"a\",\"all\":[]}", "$: 'all' must be alone in its node"},
    {"{\"alll\":[]}", "$: unknown key 'alll' (a node is all, any, not or a condition with 'field')"},
    {"{\"field\":\"group\"}", "$: a condition needs an operator"},
    {"{\"field\":\"group\",\"eq\":\"a\",\"ne\":\"b\"}", "$: a condition takes exactly one operator ('eq' and 'ne')"},
    {"{\"field\":\"group\",\"like\":\"a%\"}", "$.like: unknown operator 'like' (eq ne in not_in lt lte gt gte between within_days exists)"},
    {"{\"field\":\"group\",\"eq\":\"a\",\"field\":\"age\"}", "$: key 'field' given twice"},
    {"{\"field\":7,\"eq\":\"a\"}", "$.field: field needs a string"},
    {"{\"field\":\"group\",\"lt\":\"a\"}", "$.lt: group does not take lt"},
    {"{\"field\":\"has_zalo\",\"exists\":true}", "$.exists: has_zalo does not take exists"},
    {"{\"field\":\"group\",\"eq\":5}", "$.eq: group needs a string"},
    {"{\"field\":\"group\",\"eq\":\"a' OR '1'='1\"}", "$.eq: 'a? OR ?1?=?1' is not a valid group (letters, digits, _ - . only)"},
    {"{\"field\":\"group\",\"in\":[]}", "$.in: in needs 1 to 1000 values, not 0"},
    {"{\"field\":\"group\",\"in\":\"a\"}", "$.in: in needs an array"},
    {"{\"field\":\"group\",\"in\":[\"a\",3]}", "$.in[1]: group needs a string"},
    {"{\"field\":\"gender\",\"eq\":\"nam\"}", "$.eq: 'nam' is not a gender (one of male, female)"},
    {"{\"field\":\"participation\",\"eq\":\"some\"}", "$.eq: 'some' is not a participation (one of none, voluntary, compulsory, stopped)"},
    {"{\"field\":\"carrier\",\"eq\":\"sfone\"}", "$.eq: 'sfone' is not a carrier (one of viettel, vinaphone, mobifone, vietnamobile, gmobile, itel, reddi)"},
    {"{\"field\":\"age\",\"gte\":18.5}", "$.gte: age needs a whole number from 0 to 150"},
    {"{\"field\":\"age\",\"gte\":-1}", "$.gte: age needs a whole number from 0 to 150"},
    {"{\"field\":\"age\",\"gte\":151}", "$.gte: age needs a whole number from 0 to 150"},
    {"{\"field\":\"age\",\"gte\":1e300}", "$.gte: age needs a whole number from 0 to 150"},
    {"{\"field\":\"age\",\"gte\":\"18\"}", "$.gte: age needs a whole number from 0 to 150"},
    {"{\"field\":\"age\",\"between\":[60,18]}", "$.between: between needs lo <= hi, not [60, 18]"},
    {"{\"field\":\"age\",\"between\":[18]}", "$.between: between needs [lo, hi]"},
    {"{\"field\":\"age\",\"between\":[18,\"x\"]}", "$.between[1]: age needs a whole number from 0 to 150"},
    {"{\"field\":\"age\",\"within_days\":3}", "$.within_days: age does not take within_days"},
    {"{\"field\":\"voluntary_due_date\",\"eq\":\"2026-02-30\"}", "$.eq: '2026-02-30' is not a date (YYYY-MM-DD)"},
    {"{\"field\":\"voluntary_due_date\",\"eq\":\"01/05/2026\"}", "$.eq: '01/05/2026' is not a date (YYYY-MM-DD)"},
    {"{\"field\":\"voluntary_due_date\",\"eq\":\"2025-02-29\"}", "$.eq: '2025-02-29' is not a date (YYYY-MM-DD)"},
    {"{\"field\":\"voluntary_due_date\",\"between\":[\"2026-06-01\",\"2026-05-01\"]}", "$.between: between needs lo <= hi"},
    {"{\"field\":\"voluntary_due_date\",\"within_days\":-1}", "$.within_days: within_days needs a whole number of days from 0 to 3660"},
    {"{\"field\":\"voluntary_due_date\",\"within_days\":\"30\"}", "$.within_days: within_days needs a whole number of days from 0 to 3660"},
    {"{\"field\":\"has_zalo\",\"eq\":\"yes\"}", "$.eq: has_zalo needs true or false"},
    {"{\"field\":\"group\",\"exists\":1}", "$.exists: exists needs true or false"},
    {"{\"field\":\"tags\",\"eq\":\"\"}", "$.eq: a tag is non-empty UTF-8 text"},
    {"{\"field\":\"tags\",\"eq\":\"a\\nb\"}", "$.eq: a tag has no control characters"},
    {"{\"not\":[{\"field\":\"group\",\"eq\":\"a\"}]}", "$.not: a node is an object: {\"all\":…}, {\"any\":…}, {\"not\":…} or {\"field\":…, OP:…}"},
    {"{\"any\":[{\"all\":[{\"not\":{\"field\":\"age\",\"gt\":\"x\"}}]}]}", "$.any[0].all[0].not.gt: age needs a whole number from 0 to 150"},
};

static void test_filter_compiles_every_field_and_operator(void **state)
{
    for (size_t i = 0; i < sizeof goods / sizeof goods[0]; i++) {
        struct filter_sql fs;
        char err[300];
        if (filter_compile(goods[i].json, 0, &fs, err, sizeof err) != 0)
            fail_msg("%s refused: %s", goods[i].json, err);
        if (!strstr(fs.where, goods[i].sql_has))
            fail_msg("%s\n  gave %s\n  without %s", goods[i].json, fs.where, goods[i].sql_has);
        if (fs.nparams != goods[i].nparams)
            fail_msg("%s: %d params, expected %d", goods[i].json, fs.nparams, goods[i].nparams);
        if (goods[i].param0)
            assert_string_equal(fs.params[0], goods[i].param0);
        filter_sql_free(&fs);
        assert_null(fs.where);
    }
}

static void test_filter_refuses_with_path_and_reason(void **state)
{
    for (size_t i = 0; i < sizeof bads / sizeof bads[0]; i++) {
        struct filter_sql fs;
        char err[300];
        if (filter_compile(bads[i].json, 0, &fs, err, sizeof err) != -1)
            fail_msg("%s accepted: %s", bads[i].json, fs.where);
        if (strcmp(err, bads[i].err) != 0)
            fail_msg("%s\n  said     %s\n  expected %s", bads[i].json, err, bads[i].err);
        assert_null(fs.where);
        assert_int_equal(fs.nparams, 0);
        filter_sql_free(&fs);
    }
}

static void test_filter_numbers_placeholders_from_base(void **state)
{
    struct filter_sql fs;
    char err[200];
    assert_int_equal(filter_compile("{\"all\":[{\"field\":\"group\",\"eq\":\"a\"},"
                                    "{\"field\":\"age\",\"between\":[18,60]}]}", 3, &fs, err, sizeof err), 0);
    assert_non_null(strstr(fs.where, "$4"));
    assert_non_null(strstr(fs.where, "$5"));
    assert_non_null(strstr(fs.where, "$6"));
    assert_null(strstr(fs.where, "$1"));
    assert_null(strstr(fs.where, "$7"));
    assert_int_equal(fs.nparams, 3);
    assert_string_equal(fs.params[1], "18");
    assert_string_equal(fs.params[2], "61");
    filter_sql_free(&fs);
}

static void test_filter_values_never_reach_the_sql(void **state)
{
    const char *json = "{\"any\":[{\"field\":\"tags\",\"eq\":\"'); DROP TABLE citizens; --\"},"
                       "{\"field\":\"tags\",\"in\":[\"$1\",\"\\\" OR true --\"]}]}";
    struct filter_sql fs;
    char err[200];
    assert_int_equal(filter_compile(json, 0, &fs, err, sizeof err), 0);
    assert_null(strstr(fs.where, "DROP"));
    assert_null(strstr(fs.where, "OR true"));
    assert_int_equal(fs.nparams, 2);
    assert_string_equal(fs.params[0], "'); DROP TABLE citizens; --");
    assert_string_equal(fs.params[1], "{\"$1\",\"\\\" OR true --\"}");
    filter_sql_free(&fs);
}

static char *nested(int depth)
{
    char *s = malloc((size_t)depth * 16 + 64);
    s[0] = '\0';
    for (int i = 0; i < depth - 1; i++)
        strcat(s, "{\"not\":");
    strcat(s, "{\"field\":\"group\",\"eq\":\"a\"}");
    for (int i = 0; i < depth - 1; i++)
        strcat(s, "}");
    return s;
}

static void test_filter_limits_depth_size_and_list(void **state)
{
    struct filter_sql fs;
    char err[200];
    char *ok = nested(32), *deep = nested(33);
    assert_int_equal(filter_compile(ok, 0, &fs, err, sizeof err), 0);
    filter_sql_free(&fs);
    assert_int_equal(filter_compile(deep, 0, &fs, err, sizeof err), -1);
    assert_non_null(strstr(err, "nested deeper than 32"));
    free(ok);
    free(deep);

    /* 1000 values are allowed, 1001 are not. */
    char *list = malloc(20000);
    strcpy(list, "{\"field\":\"commune_code\",\"in\":[");
    for (int i = 0; i < 1001; i++)
        sprintf(list + strlen(list), "%s\"%d\"", i ? "," : "", i);
    strcat(list, "]}");
    assert_int_equal(filter_compile(list, 0, &fs, err, sizeof err), -1);
    assert_string_equal(err, "$.in: in needs 1 to 1000 values, not 1001");
    char *cut = strrchr(list, ',');
    strcpy(cut, "]}");
    assert_int_equal(filter_compile(list, 0, &fs, err, sizeof err), 0);
    filter_sql_free(&fs);
    free(list);

    char *big = malloc(70000);
    strcpy(big, "{\"field\":\"tags\",\"eq\":\"");
    memset(big + strlen(big), 'a', 66000);
    strcpy(big + 22 + 66000, "\"}");
    assert_int_equal(filter_compile(big, 0, &fs, err, sizeof err), -1);
    assert_string_equal(err, "$: filter larger than 64 KB");
    free(big);
}

static void test_filter_refuses_invalid_utf8(void **state)
{
    struct filter_sql fs;
    char err[200];
    assert_int_equal(filter_compile("{\"field\":\"tags\",\"eq\":\"\xff\"}", 0, &fs, err, sizeof err), -1);
    assert_string_equal(err, "$: not UTF-8 (byte 22)");
    assert_int_equal(filter_compile(NULL, 0, &fs, err, sizeof err), -1);
}

static void test_filter_small_error_buffer_is_safe(void **state)
{
    struct filter_sql fs;
    char err[8];
    assert_int_equal(filter_compile("{\"field\":\"nope\",\"eq\":1}", 0, &fs, err, sizeof err), -1);
    assert_int_equal(strlen(err), 7);
}

static void test_segment_sendable_sql_uses_only_param_one(void **state)
{
    const char *s = segment_sendable_sql();
    assert_non_null(strstr(s, "$1::text"));
    assert_null(strstr(s, "$2"));
    assert_non_null(strstr(s, "opt_outs"));
}

static void test_segment_sendable_joined_has_the_same_address_rule(void **state)
{
    const char *j = segment_opt_outs_join_sql(), *e = segment_sendable_joined_sql();
    assert_non_null(strstr(j, "opt_outs"));
    assert_non_null(strstr(j, "oa.channel = 'all'"));
    assert_non_null(strstr(j, "os.channel = $1::text"));
    assert_null(strstr(j, "$2"));
    assert_null(strstr(e, "$2"));
    /* The address half is the same text in both forms. */
    const char *addr = strstr(e, "CASE $1::text");
    assert_non_null(addr);
    assert_non_null(strstr(segment_sendable_sql(), addr));
    char *after = segment_opt_outs_join_after_sql("SELECT 42");
    assert_non_null(after);
    assert_non_null(strstr(after, "oa.citizen_id > (SELECT 42)"));
    assert_non_null(strstr(after, "os.citizen_id > (SELECT 42)"));
    assert_non_null(strstr(after, "oa.channel = 'all'"));
    assert_non_null(strstr(after, "os.channel = $1::text"));
    free(after);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_filter_compiles_every_field_and_operator),
        cmocka_unit_test(test_filter_refuses_with_path_and_reason),
        cmocka_unit_test(test_filter_numbers_placeholders_from_base),
        cmocka_unit_test(test_filter_values_never_reach_the_sql),
        cmocka_unit_test(test_filter_limits_depth_size_and_list),
        cmocka_unit_test(test_filter_refuses_invalid_utf8),
        cmocka_unit_test(test_filter_small_error_buffer_is_safe),
        cmocka_unit_test(test_segment_sendable_joined_has_the_same_address_rule),
        cmocka_unit_test(test_segment_sendable_sql_uses_only_param_one),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
