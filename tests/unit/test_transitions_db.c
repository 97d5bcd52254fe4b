/* The transition tables the database enforces are exactly the C ones, reasons included: one
 * source, written into message_transitions and campaign_transitions at build time and applied
 * by db_migrate(). Needs LOA_TEST_DB_URL. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "campaigns/campaign_status.h"
#include "campaigns/message.h"
#include "core/db.h"
#include "testdb.h"

static PGconn *db;

static int setup(void **state)
{
    db = testdb_open();
    return db ? 0 : -1;
}

static int teardown(void **state)
{
    PQfinish(db);
    return 0;
}

/* The rows of SQL (from, to, reason), each of which must be the edge FROM → TO of the C table
 * with the same reason, and as many rows as the C table has edges. */
static void assert_table_is(const char *sql, size_t n, const char *(*edge)(size_t i, int col))
{
    char err[512];
    PGresult *r = db_query(db, err, sizeof err, sql, 0, NULL);
    if (!r)
        fail_msg("%s", err);
    assert_int_equal(PQntuples(r), n);
    for (int row = 0; row < PQntuples(r); row++) {
        size_t i = 0;
        while (i < n && (strcmp(edge(i, 0), PQgetvalue(r, row, 0)) != 0 ||
                         strcmp(edge(i, 1), PQgetvalue(r, row, 1)) != 0))
            i++;
        if (i == n)
            fail_msg("%s → %s is in the database, not in the C table", PQgetvalue(r, row, 0),
                     PQgetvalue(r, row, 1));
        assert_string_equal(PQgetvalue(r, row, 2), edge(i, 2));
    }
    PQclear(r);
}

static const char *message_edge(size_t i, int col)
{
    size_t n;
    const struct msg_transition *t = message_transitions(&n);
    return col == 0 ? message_state_name(t[i].from) : col == 1 ? message_state_name(t[i].to) : t[i].reason;
}

static const char *campaign_edge(size_t i, int col)
{
    size_t n;
    const struct campaign_transition *t = campaign_transitions(&n);
    return col == 0 ? campaign_status_name(t[i].from) : col == 1 ? campaign_status_name(t[i].to) : t[i].reason;
}

static void test_message_transitions_in_the_database_are_the_c_table(void **state)
{
    size_t n;
    message_transitions(&n);
    assert_table_is("SELECT from_state, to_state, reason FROM message_transitions", n, message_edge);
}

static void test_campaign_transitions_in_the_database_are_the_c_table(void **state)
{
    size_t n;
    campaign_transitions(&n);
    assert_table_is("SELECT from_status, to_status, reason FROM campaign_transitions", n, campaign_edge);
}

static void test_migrate_restores_a_changed_table(void **state)
{
    char err[512];
    if (db_exec(db, err, sizeof err, "UPDATE message_transitions SET reason = 'edited by hand'", 0, NULL) < 0 ||
        db_exec(db, err, sizeof err, "DELETE FROM campaign_transitions WHERE from_status = 'draft'", 0, NULL) < 0)
        fail_msg("%s", err);
    int applied = -1;
    if (db_migrate(db, &applied, err, sizeof err) < 0)
        fail_msg("%s", err);
    assert_int_equal(applied, 0);
    test_message_transitions_in_the_database_are_the_c_table(state);
    test_campaign_transitions_in_the_database_are_the_c_table(state);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_message_transitions_in_the_database_are_the_c_table),
        cmocka_unit_test(test_campaign_transitions_in_the_database_are_the_c_table),
        cmocka_unit_test(test_migrate_restores_a_changed_table),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
