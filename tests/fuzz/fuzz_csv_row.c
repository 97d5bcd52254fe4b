/* Fuzzes the citizen CSV path without a database: the reader (encoding checks, separator,
 * libcsv, quotes and size limits), the header mapping and every row's checks and
 * normalisation, against a fixed set of reference data. The input is the whole file. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "segments/csvfile.h"
#include "segments/csvimport.h"

static struct csvimport_refs *refs;

struct state {
    struct csvimport_header h;
    bool have_header;
    struct citizen_row row;
};

static int on_row(void *ud, const struct csvfile_row *row, char *err, size_t errlen)
{
    struct state *s = ud;
    if (row->header) {
        s->have_header = !row->problem &&
                         csvimport_header_parse(row->fields, row->nfields, &s->h, err, errlen) == 0;
        return s->have_header ? 0 : -1;
    }
    if (row->problem || csvimport_row_empty(row->fields, row->nfields))
        return 0;
    const char *why = csvimport_row_parse(&s->h, refs, row->fields, row->nfields, &s->row);
    if (why) {
        if (!*why)
            abort();   /* a rejection always says why */
        return 0;
    }
    /* An accepted row is what the database's CHECK constraints expect. */
    if (strlen(s->row.phone) != 11 || strncmp(s->row.phone, "84", 2) != 0 || !s->row.full_name[0] ||
        !s->row.commune_code || !s->row.province_code ||
        !csvfile_utf8_valid(s->row.full_name, strlen(s->row.full_name), NULL))
        abort();
    if (s->row.bhxh_code && strlen(s->row.bhxh_code) != 10)
        abort();
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (!refs) {
        refs = csvimport_refs_new("2026-05-01");
        csvimport_refs_add(refs, REF_COMMUNE, "23200", "52");
        csvimport_refs_add(refs, REF_COMMUNE, "30300", "91");
        csvimport_refs_add(refs, REF_GROUP, "farmer", NULL);
        csvimport_refs_add(refs, REF_LANGUAGE, "vi", NULL);
        csvimport_refs_add(refs, REF_LANGUAGE, "km", NULL);
    }
    int fd = memfd_create("fuzz.csv", 0);
    if (fd < 0)
        return 0;
    if (size && write(fd, data, size) != (ssize_t)size) {
        close(fd);
        return 0;
    }
    char path[64];
    snprintf(path, sizeof path, "/proc/self/fd/%d", fd);
    struct csvfile *f;
    char err[512];
    if (csvfile_open(path, &f, err, sizeof err) == 0) {
        struct state *s = calloc(1, sizeof *s);
        if (s)
            csvfile_read(f, on_row, s, err, sizeof err);
        free(s);
        csvfile_close(f);
    }
    close(fd);
    return 0;
}
