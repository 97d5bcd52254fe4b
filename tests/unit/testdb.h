/* The database of a unit test that needs one: LOA_TEST_DB_URL (tests/run.sh gives each test
 * binary a fresh copy of a migrated template), migrated again so that the test also runs alone. */
#ifndef LOA_TESTDB_H
#define LOA_TESTDB_H
#include <stdio.h>
#include <stdlib.h>

#include "core/db.h"

/* The connection, or NULL with the reason on standard error. */
static inline PGconn *testdb_open(void)
{
    const char *url = getenv("LOA_TEST_DB_URL");
    if (!url || !*url) {
        fprintf(stderr, "LOA_TEST_DB_URL is not set: this test needs a database\n");
        return NULL;
    }
    char err[512];
    int applied;
    PGconn *db = db_connect(url, err, sizeof err);
    if (!db || db_migrate(db, &applied, err, sizeof err) < 0) {
        fprintf(stderr, "%s\n", err);
        if (db)
            PQfinish(db);
        return NULL;
    }
    return db;
}

#endif
