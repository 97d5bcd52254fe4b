#ifndef LOA_DEMODATA_H
#define LOA_DEMODATA_H
#include <stdint.h>
#include <stdio.h>
#include <time.h>

#include "cli/cli.h"

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

/* `loa demo-data --citizens N [--seed S] [--today YYYY-MM-DD] --out FILE.csv`: the communes are
 * the database's synthetic ones; --today defaults to today in Asia/Ho_Chi_Minh. */
int cmd_demo_data(struct cli *c, int argc, char **argv);

#endif
