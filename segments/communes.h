#ifndef LOA_COMMUNES_H
#define LOA_COMMUNES_H
#include <libpq-fe.h>
#include <stddef.h>

/* The administrative units (provinces and communes) from the official list as published:
 * `commune_code,commune_name,province_code,province_name` (or ma_xa, ten_xa, ma_tinh,
 * ten_tinh). The CSV rules are those of segments/csvfile.h. */

struct communes_stats {
    long rows, imported, updated, unchanged, rejected;
};

/* Upserts every good row in one transaction; a row naming a commune already in the file, a bad
 * code, an empty name or an unknown province without a name is rejected (and written to
 * REJECTS_PATH when given). Imported rows are no longer synthetic. 0, or -1 with ERR when the
 * file or the database refused; nothing is then changed. */
int communes_import(PGconn *db, const char *path, const char *rejects_path,
                    struct communes_stats *st, char *err, size_t errlen);

#endif
