/* Shared by the template unit tests: an environment built from the default configuration, with
 * the policy rows of sql/003_policy.sql made into a PGresult without a database. */
#ifndef LOA_TPL_FIXTURE_H
#define LOA_TPL_FIXTURE_H
#include <libpq-fe.h>
#include <stdlib.h>
#include <string.h>

#include "campaigns/policy.h"
#include "campaigns/template.h"
#include "core/config.h"

/* A text-typed result of NCOLS columns and NROWS rows from CELLS (row-major; NULL is SQL NULL). */
static PGresult *fixture_result(int ncols, int nrows, const char *const *cells)
{
    PGresult *res = PQmakeEmptyPGresult(NULL, PGRES_TUPLES_OK);
    PGresAttDesc attrs[16];
    char names[16][8];
    for (int i = 0; i < ncols; i++) {
        snprintf(names[i], sizeof names[i], "c%d", i);
        attrs[i] = (PGresAttDesc){.name = names[i], .tableid = 0, .columnid = 0, .format = 0,
                                  .typid = 25, .typlen = -1, .atttypmod = -1};
    }
    PQsetResultAttrs(res, ncols, attrs);
    for (int r = 0; r < nrows; r++)
        for (int c = 0; c < ncols; c++) {
            const char *v = cells[r * ncols + c];
            PQsetvalue(res, r, c, (char *)(v ? v : ""), v ? (int)strlen(v) : -1);
        }
    return res;
}

/* The rows TPL_POLICY_SQL returns on the data of sql/003_policy.sql. */
static const char *const fixture_policy_rows[] = {
    "10", "tag", "poor", "poor", "2022-01-01", "2025-07-01", "1500000", "22.00", "30.00",
    "10", "tag", "poor", "poor", "2025-07-01", "", "1500000", "22.00", "50.00",
    "11", "group", "poor_household", "poor", "2022-01-01", "2025-07-01", "1500000", "22.00", "30.00",
    "11", "group", "poor_household", "poor", "2025-07-01", "", "1500000", "22.00", "50.00",
    "20", "tag", "near_poor", "near_poor", "2022-01-01", "2025-07-01", "1500000", "22.00", "25.00",
    "20", "tag", "near_poor", "near_poor", "2025-07-01", "", "1500000", "22.00", "40.00",
    "21", "group", "near_poor_household", "near_poor", "2022-01-01", "2025-07-01", "1500000", "22.00", "25.00",
    "21", "group", "near_poor_household", "near_poor", "2025-07-01", "", "1500000", "22.00", "40.00",
    "30", "group", "ethnic_minority", "ethnic_minority", "2022-01-01", "2025-07-01", "1500000", "22.00", "10.00",
    "30", "group", "ethnic_minority", "ethnic_minority", "2025-07-01", "", "1500000", "22.00", "30.00",
    "31", "tag", "ethnic_minority", "ethnic_minority", "2022-01-01", "2025-07-01", "1500000", "22.00", "10.00",
    "31", "tag", "ethnic_minority", "ethnic_minority", "2025-07-01", "", "1500000", "22.00", "30.00",
    "40", "not_language", "vi", "ethnic_minority", "2022-01-01", "2025-07-01", "1500000", "22.00", "10.00",
    "40", "not_language", "vi", "ethnic_minority", "2025-07-01", "", "1500000", "22.00", "30.00",
    "1000", "any", "", "other", "2022-01-01", "2025-07-01", "1500000", "22.00", "10.00",
    "1000", "any", "", "other", "2025-07-01", "", "1500000", "22.00", "20.00",
};
enum { FIXTURE_POLICY_ROWS = sizeof fixture_policy_rows / sizeof *fixture_policy_rows / 9 };

/* An env for the day Y-M-D with the default [policy] keys and, when LOAD, the policy figures. */
static struct tpl_env *fixture_env(int y, int m, int d, int load)
{
    struct config *cfg;
    char err[512];
    if (config_load(NULL, &cfg, err, sizeof err) < 0) { fprintf(stderr, "%s\n", err); abort(); }
    struct tpl_env *env = tpl_env_new(cfg);
    config_free(cfg);
    tpl_env_set_today(env, y, m, d);
    if (load) {
        PGresult *res = fixture_result(9, FIXTURE_POLICY_ROWS, fixture_policy_rows);
        if (tpl_env_load_policy(env, res, err, sizeof err) < 0) { fprintf(stderr, "%s\n", err); abort(); }
        PQclear(res);
    }
    return env;
}

#endif
