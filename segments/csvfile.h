#ifndef LOA_CSVFILE_H
#define LOA_CSVFILE_H
#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

/* Reading the CSV files officers bring (citizen lists, the commune list) with libcsv, and
 * writing reject reports. The reader owns the encoding and size rules of those files (README.md,
 * "Citizens, communes and segments") so that every importer applies the same ones:
 *  - the file must be UTF-8 (a BOM is skipped); UTF-16, legacy encodings (Windows-1258,
 *    TCVN3) and binary files are refused with the line and byte that prove it. A UTF-8 file
 *    with a few damaged lines (valid multi-byte UTF-8 on more lines than bad bytes, and bad
 *    bytes on at most CSVFILE_BAD_UTF8_FEW lines or one line in CSVFILE_BAD_UTF8_SHARE) is
 *    read, and each record with bytes that are not UTF-8 comes with the problem "invalid UTF-8
 *    in NAME (column N)", NAME from the header;
 *  - the separator is ',' or ';' (or a tab), whichever the header line uses most;
 *  - CRLF, LF or CR line ends; RFC 4180 quotes, fields may span lines;
 *  - a field over 4 KB or a record over 64 KB is one rejected row, and reading goes on;
 *  - a quote that never closes rejects the line it opens on, and reading resumes on the next
 *    line, so one stray quote does not swallow the rest of the file. */

#define CSVFILE_MAX_FIELD 4096
#define CSVFILE_MAX_ROW   65536
/* A file with bad UTF-8 on more than CSVFILE_BAD_UTF8_FEW lines and more than one line in
 * CSVFILE_BAD_UTF8_SHARE is taken as a legacy encoding and refused whole. */
#define CSVFILE_BAD_UTF8_FEW   3
#define CSVFILE_BAD_UTF8_SHARE 20

struct csvfile_row {
    char **fields;        /* NUL-terminated; valid only during the callback; may be modified */
    const size_t *lens;
    int nfields;
    long line;            /* the physical line the record starts on (1-based) */
    bool header;          /* the first record of the file */
    const char *problem;  /* NULL, or why the record cannot be used (then fields may be empty) */
};

/* Called for every record, the header first. Return 0 to go on, -1 to stop reading (the reader
 * then returns -1 and leaves ERR as the callback wrote it). */
typedef int (*csvfile_row_fn)(void *ud, const struct csvfile_row *row, char *err, size_t errlen);

struct csvfile;

/* Opens PATH (a regular file), checks its encoding and finds its separator. On a refusal
 * returns -1 with the reason in ERR ("FILE is UTF-16 …"). */
int  csvfile_open(const char *path, struct csvfile **out, char *err, size_t errlen);
/* Reads every record through FN. 0, or -1 with ERR set. */
int  csvfile_read(struct csvfile *f, csvfile_row_fn fn, void *ud, char *err, size_t errlen);
char csvfile_delimiter(const struct csvfile *f);
/* True when valid UTF-8 IN (N bytes) is certainly in NFC already: every code point is below
 * U+0300 or in U+1E00-U+1EFF. False means "normalise it", not "it is not NFC". */
bool csvfile_nfc_quick(const char *in, size_t n);

/* The file's size in bytes. */
size_t csvfile_size(const struct csvfile *f);
void csvfile_close(struct csvfile *f);

/* Checks LEN bytes for UTF-8: true, or false with the offset of the first bad byte. */
bool csvfile_utf8_valid(const char *s, size_t len, size_t *bad_at);

/* A header or keyword as a key: accents dropped (đ→d), lower case, runs of spaces, dashes and
 * dots as one '_', trimmed ("Số điện thoại" → "so_dien_thoai"). Writes at most CAP bytes. */
void csvfile_fold(const char *in, char *out, size_t cap);

/* A name or label as stored: Unicode NFC, every run of white space (including no-break space)
 * one space, trimmed. Returns the length, or -1 when IN is not valid UTF-8, has control
 * characters, or does not fit in CAP. */
int csvfile_text_clean(const char *in, char *out, size_t cap);

/* The reject report: the original fields of each rejected row, then `line` and `reason` (a
 * short row is padded to the header, so they keep their columns), with
 * the input's separator and a UTF-8 BOM (so that spreadsheets open it as UTF-8). */
struct csvfile_rejects;
struct csvfile_rejects *csvfile_rejects_open(const char *path, char delim, char *err, size_t errlen);
int  csvfile_rejects_header(struct csvfile_rejects *r, char *const *fields, int n);
int  csvfile_rejects_row(struct csvfile_rejects *r, char *const *fields, int n, long line,
                         const char *reason);
/* Flushes and closes: 0, or -1 when a write failed. */
int  csvfile_rejects_close(struct csvfile_rejects *r);

#endif
