#ifndef LOA_TARGETS_H
#define LOA_TARGETS_H
#include <libpq-fe.h>
#include <stddef.h>

/* The provinces' coverage targets (`loa targets import`, table coverage_targets): per year,
 * commune and topic (general BHXH or voluntary BHXH), the working-age population and the share
 * of it to reach. The file is `year,commune_code,population,target_pct[,topic]
 * [,activity_target_pct]` (headers in English or Vietnamese: nam, ma_xa, dan_so, chi_tieu,
 * chu_de, chi_tieu_hoat_dong), read by segments/csvfile.h with its encoding rules. A row's
 * activity_target_pct, when given, is the target share of active communes of its commune's
 * province in that year (table activity_targets). Good rows are upserted in one statement (a
 * later row for the same key wins); a bad row, or one whose commune is not in the commune list,
 * is rejected with its line and reason and the rest is kept. The coverage API
 * (web/api_coverage.c) and the report's sheet "Độ bao phủ" read them. */

enum { TARGETS_MAX_ROWS = 200000 };

struct targets_result {
    long long stored;       /* rows inserted or updated */
    long long activity;     /* provinces' activity targets inserted or updated */
    size_t rejected;
};

/* Called for each rejected row, in line order for the checks of the file, then for unknown
 * communes. */
typedef void (*targets_reject_fn)(void *arg, long line, const char *why);

/* Imports PATH. 0 with OUT set, or -1 with ERR (unreadable or refused file, no header, more
 * than TARGETS_MAX_ROWS rows, the database's error), and then nothing is stored. */
int targets_import(PGconn *db, const char *path, targets_reject_fn on_reject, void *arg,
                   struct targets_result *out, char *err, size_t errlen);

#endif
