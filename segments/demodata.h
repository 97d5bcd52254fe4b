#ifndef LOA_DEMODATA_H
#define LOA_DEMODATA_H
#include <stdint.h>
#include <stdio.h>
#include <time.h>

#include <libpq-fe.h>

/* Synthetic citizens in the citizen CSV format that segments/csvimport.h reads. */

struct demodata_commune {
    const char *code, *province;
};

/* Writes a header and N citizens living in COMMUNES to FP. The same SEED and BASE (the date
 * ages and due dates are counted from, as midnight UTC) give the same bytes. Phones and BHXH
 * codes never repeat within a file of up to 10,000,000 rows, except the few phones a household
 * shares. 0, or -1 when a write failed. */
int demodata_write(FILE *fp, long n, uint64_t seed, time_t base,
                   const struct demodata_commune *communes, int ncommunes);

/* Writes N citizens of the database's synthetic communes to the file PATH with demodata_write();
 * TODAY (YYYY-MM-DD, checked by the caller) is the base date, NULL for today in
 * Asia/Ho_Chi_Minh. 0, or -1 with ERR. */
int demodata_generate(PGconn *db, const char *path, long n, uint64_t seed, const char *today,
                      char *err, size_t errlen);

#endif
