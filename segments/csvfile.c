#include "segments/csvfile.h"

#include <csv.h>
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>
#include <utf8proc.h>

/* libcsv's parser state between records (ROW_NOT_BEGUN in libcsv.c): the public struct exposes
 * it, and it is the only way to know whether a fed line left a quoted field open. */
#define LIBCSV_ROW_NOT_BEGUN 0
#define LIBCSV_FIELD_BEGUN   2

/* What a problem row carries into the reject report when it could not be parsed: its start. */
#define RAW_KEEP 1024

struct csvfile {
    char *path;
    int fd;
    const unsigned char *map;
    size_t size, start;
    char delim, eol;
    struct csv_parser p;

    /* The record being parsed: field bytes (NUL-terminated) and their offsets. */
    char *buf;
    size_t blen, bcap;
    size_t *offs, *lens;
    char **ptrs;
    int nf, fcap;
    const char *problem;
    char problem_buf[160];
    bool oom;

    /* Set when the file is UTF-8 with a few damaged lines (encoding_check): each record is then
     * checked, and one with bytes that are not UTF-8 is rejected, naming the column from the
     * header, which is kept for that. */
    bool forgiving;
    char **header_names;
    int header_names_n;

    int header_nf;              /* -1 until the header is read */
    long rec_line, rec_lines;   /* where the record started, and over how many lines */
    size_t rec_off, rec_bytes;
    bool mismatch;              /* a multi-line record ended with the wrong number of fields */

    csvfile_row_fn fn;
    void *ud;
    char *err;
    size_t errlen;
    bool stop;
    long records;
};

bool csvfile_utf8_valid(const char *s, size_t len, size_t *bad_at)
{
    const unsigned char *u = (const unsigned char *)s;
    size_t i = 0;
    while (i < len) {
        /* ASCII runs are most of a citizen list: skip them eight bytes at a time. */
        while (i + 8 <= len) {
            uint64_t w;
            memcpy(&w, u + i, 8);
            if (w & 0x8080808080808080ull)
                break;
            i += 8;
        }
        if (i >= len)
            break;
        if (u[i] < 0x80) {
            i++;
            continue;
        }
        utf8proc_int32_t cp;
        utf8proc_ssize_t n = utf8proc_iterate(u + i, (utf8proc_ssize_t)(len - i), &cp);
        if (n <= 0) {
            if (bad_at)
                *bad_at = i;
            return false;
        }
        i += (size_t)n;
    }
    return true;
}

static int refuse(char *err, size_t errlen, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static int refuse(char *err, size_t errlen, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(err, errlen, fmt, ap);
    va_end(ap);
    return -1;
}

static long line_of(const struct csvfile *f, size_t off)
{
    long line = 1;
    for (const unsigned char *p = f->map, *end = f->map + off;
         (p = memchr(p, f->eol, (size_t)(end - p))) != NULL; p++)
        line++;
    return line;
}

/* How much of a file that is not valid UTF-8 throughout is damaged. */
struct utf8_census {
    long lines;       /* non-blank lines */
    long bad_lines;   /* lines with a byte sequence that is not UTF-8 */
    long mb_lines;    /* lines of valid UTF-8 with at least one multi-byte character */
};

static void utf8_census_take(const struct csvfile *f, struct utf8_census *c)
{
    memset(c, 0, sizeof *c);
    for (size_t pos = 0; pos < f->size;) {
        const unsigned char *s = f->map + pos, *nl = memchr(s, f->eol, f->size - pos);
        size_t len = nl ? (size_t)(nl - s) : f->size - pos;
        pos += len + 1;
        bool high = false, text = false;
        for (size_t i = 0; i < len && !high; i++) {
            high = s[i] >= 0x80;
            text = text || (s[i] != ' ' && s[i] != '\t' && s[i] != '\r');
        }
        if (!text && !high)
            continue;
        c->lines++;
        if (!high)
            continue;
        if (csvfile_utf8_valid((const char *)s, len, NULL))
            c->mb_lines++;
        else
            c->bad_lines++;
    }
}

/* A file in a legacy encoding (Windows-1258, TCVN3) has bytes that are not UTF-8 on nearly
 * every line with an accent and almost never a valid multi-byte sequence; a UTF-8 file with a
 * name pasted from such a system has valid accented lines everywhere and a few bad ones. The
 * second is read with those few lines rejected (csvfile_read names the column); anything
 * between is refused whole, so a legacy file is never half imported. A wrong guess can only
 * reject rows, never store bytes that are not UTF-8: every record of a forgiven file is
 * checked. */
static bool utf8_damage_is_local(const struct utf8_census *c)
{
    long allowed = c->lines / CSVFILE_BAD_UTF8_SHARE;
    if (allowed < CSVFILE_BAD_UTF8_FEW)
        allowed = CSVFILE_BAD_UTF8_FEW;
    return c->bad_lines <= allowed && c->mb_lines > c->bad_lines;
}

/* Refuses what is not UTF-8 text, naming the evidence. */
static int encoding_check(struct csvfile *f, char *err, size_t errlen)
{
    const unsigned char *m = f->map;
    size_t n = f->size;
    if ((n >= 4 && m[0] == 0 && m[1] == 0 && m[2] == 0xFE && m[3] == 0xFF) ||
        (n >= 4 && m[0] == 0xFF && m[1] == 0xFE && m[2] == 0 && m[3] == 0))
        return refuse(err, errlen, "%s is UTF-32 (it starts with a byte-order mark); save it as "
                      "\"CSV UTF-8\" and import it again", f->path);
    if (n >= 2 && ((m[0] == 0xFF && m[1] == 0xFE) || (m[0] == 0xFE && m[1] == 0xFF)))
        return refuse(err, errlen, "%s is UTF-16 (it starts with a UTF-16 byte-order mark); save "
                      "it as \"CSV UTF-8\" and import it again", f->path);
    const unsigned char *nul = memchr(m, 0, n);
    if (nul) {
        size_t probe = n < 4096 ? n : 4096, zeros = 0;
        for (size_t i = 0; i < probe; i++)
            zeros += m[i] == 0;
        if (zeros * 4 >= probe)
            return refuse(err, errlen, "%s looks like UTF-16 without a byte-order mark (every "
                          "other byte is 0); save it as \"CSV UTF-8\" and import it again", f->path);
        return refuse(err, errlen, "%s is not a text file (a NUL byte at offset %zu)", f->path,
                      (size_t)(nul - m));
    }
    size_t bad;
    if (csvfile_utf8_valid((const char *)m, n, &bad))
        return 0;
    struct utf8_census c;
    utf8_census_take(f, &c);
    if (utf8_damage_is_local(&c)) {
        f->forgiving = true;
        return 0;
    }
    return refuse(err, errlen, "%s is not UTF-8: line %ld has the byte 0x%02X (Windows-1258, "
                  "TCVN3 or another legacy encoding?), and %ld of its %ld lines have such bytes; "
                  "save it as \"CSV UTF-8\" and import it again", f->path, line_of(f, bad), m[bad],
                  c.bad_lines, c.lines);
}

/* The separator the header line uses most, outside quotes. */
static char delimiter_detect(const unsigned char *s, size_t n, char eol)
{
    size_t comma = 0, semi = 0, tab = 0;
    bool quoted = false;
    for (size_t i = 0; i < n && (quoted || s[i] != eol); i++) {
        if (s[i] == '"')
            quoted = !quoted;
        else if (!quoted)
            comma += s[i] == ',', semi += s[i] == ';', tab += s[i] == '\t';
    }
    if (semi > comma && semi >= tab)
        return ';';
    if (tab > comma && tab > semi)
        return '\t';
    return ',';
}

static void parser_start(struct csvfile *f)
{
    csv_init(&f->p, CSV_APPEND_NULL);
    csv_set_delim(&f->p, (unsigned char)f->delim);
}

int csvfile_open(const char *path, struct csvfile **out, char *err, size_t errlen)
{
    *out = NULL;
    struct csvfile *f = calloc(1, sizeof *f);
    if (!f)
        return refuse(err, errlen, "out of memory");
    f->fd = -1;
    f->header_nf = -1;
    f->path = strdup(path);
    struct stat st;
    if (!f->path) {
        csvfile_close(f);
        return refuse(err, errlen, "out of memory");
    }
    if ((f->fd = open(path, O_RDONLY | O_CLOEXEC)) < 0 || fstat(f->fd, &st) < 0) {
        int e = errno;
        csvfile_close(f);
        return refuse(err, errlen, "%s: %s", path, strerror(e));
    }
    if (!S_ISREG(st.st_mode)) {
        csvfile_close(f);
        return refuse(err, errlen, "%s is not a regular file", path);
    }
    f->size = (size_t)st.st_size;
    if (f->size > 0) {
        void *m = mmap(NULL, f->size, PROT_READ, MAP_PRIVATE, f->fd, 0);
        if (m == MAP_FAILED) {
            int e = errno;
            csvfile_close(f);
            return refuse(err, errlen, "%s: %s", path, strerror(e));
        }
        madvise(m, f->size, MADV_SEQUENTIAL);
        f->map = m;
    }
    /* Files from old Mac spreadsheets end lines with CR alone. */
    f->eol = f->size && !memchr(f->map, '\n', f->size) && memchr(f->map, '\r', f->size) ? '\r' : '\n';
    if (f->size && encoding_check(f, err, errlen) < 0) {
        csvfile_close(f);
        return -1;
    }
    if (f->size >= 3 && memcmp(f->map, "\xEF\xBB\xBF", 3) == 0)
        f->start = 3;
    /* An empty file is not mapped: no pointer arithmetic on NULL. */
    f->delim = f->size ? delimiter_detect(f->map + f->start, f->size - f->start, f->eol) : ',';
    parser_start(f);
    *out = f;
    return 0;
}

char csvfile_delimiter(const struct csvfile *f)
{
    return f->delim;
}

size_t csvfile_size(const struct csvfile *f)
{
    return f->size;
}

void csvfile_close(struct csvfile *f)
{
    if (!f)
        return;
    if (f->map)
        munmap((void *)f->map, f->size);
    if (f->fd >= 0)
        close(f->fd);
    csv_free(&f->p);
    free(f->buf);
    free(f->offs);
    free(f->lens);
    free(f->ptrs);
    for (int i = 0; f->header_names && f->header_names[i]; i++)
        free(f->header_names[i]);
    free(f->header_names);
    free(f->path);
    free(f);
}

static bool field_room(struct csvfile *f, size_t len)
{
    if (f->nf == f->fcap) {
        int ncap = f->fcap ? f->fcap * 2 : 32;
        size_t *o = realloc(f->offs, (size_t)ncap * sizeof *o);
        if (o)
            f->offs = o;
        size_t *l = realloc(f->lens, (size_t)ncap * sizeof *l);
        if (l)
            f->lens = l;
        char **p = realloc(f->ptrs, (size_t)ncap * sizeof *p);
        if (p)
            f->ptrs = p;
        if (!o || !l || !p)
            return false;
        f->fcap = ncap;
    }
    if (f->blen + len + 1 > f->bcap) {
        size_t ncap = f->bcap ? f->bcap : 4096;
        while (ncap < f->blen + len + 1)
            ncap *= 2;
        char *b = realloc(f->buf, ncap);
        if (!b)
            return false;
        f->buf = b;
        f->bcap = ncap;
    }
    return true;
}

static void on_field(void *data, size_t len, void *ud)
{
    struct csvfile *f = ud;
    if (f->oom || !field_room(f, len)) {
        f->oom = true;
        return;
    }
    if (len > CSVFILE_MAX_FIELD && !f->problem) {
        snprintf(f->problem_buf, sizeof f->problem_buf, "field over 4 KB (column %d)", f->nf + 1);
        f->problem = f->problem_buf;
    }
    f->offs[f->nf] = f->blen;
    f->lens[f->nf] = len;
    if (len)
        memcpy(f->buf + f->blen, data, len);
    f->buf[f->blen + len] = '\0';
    f->blen += len + 1;
    f->nf++;
}

static void record_reset(struct csvfile *f)
{
    f->nf = 0;
    f->blen = 0;
    f->problem = NULL;
}

/* Keeps the header's names for the reasons of a forgiven file. */
static void header_keep(struct csvfile *f)
{
    f->header_names = calloc((size_t)f->nf + 1, sizeof *f->header_names);
    if (!f->header_names) {
        f->oom = true;
        return;
    }
    for (int i = 0; i < f->nf; i++)
        if (!(f->header_names[i] = strdup(csvfile_utf8_valid(f->buf + f->offs[i], f->lens[i], NULL)
                                              ? f->buf + f->offs[i] : ""))) {
            f->oom = true;
            return;
        }
    f->header_names_n = f->nf;
}

/* In a forgiven file, the first field of the record that is not UTF-8, as a reason. */
static const char *record_utf8_problem(struct csvfile *f)
{
    int i = 0;
    while (i < f->nf && csvfile_utf8_valid(f->buf + f->offs[i], f->lens[i], NULL))
        i++;
    if (i == f->nf)
        return NULL;
    const char *name = i < f->header_names_n ? f->header_names[i] : "";
    if (*name) {
        snprintf(f->problem_buf, sizeof f->problem_buf, "invalid UTF-8 in %.100s (column %d)",
                 name, i + 1);
        size_t bad;   /* %.100s may have cut a character in two */
        if (!csvfile_utf8_valid(f->problem_buf, strlen(f->problem_buf), &bad))
            f->problem_buf[bad] = '\0';
    } else {
        snprintf(f->problem_buf, sizeof f->problem_buf, "invalid UTF-8 in column %d", i + 1);
    }
    return f->problem_buf;
}

static void deliver(struct csvfile *f, const char *problem)
{
    if (f->stop)
        return;
    if (f->forgiving && !problem && !f->problem) {
        if (f->records == 0)
            header_keep(f);
        if (f->oom)
            return;
        problem = record_utf8_problem(f);
    }
    for (int i = 0; i < f->nf; i++)
        f->ptrs[i] = f->buf + f->offs[i];
    struct csvfile_row row = {
        .fields = f->ptrs, .lens = f->lens, .nfields = f->nf, .line = f->rec_line,
        .header = f->records == 0, .problem = problem ? problem : f->problem,
    };
    f->records++;
    if (f->fn(f->ud, &row, f->err, f->errlen) < 0)
        f->stop = true;
}

static void on_record(int c, void *ud)
{
    struct csvfile *f = ud;
    if (f->oom)
        return;
    /* A record over several lines with the wrong number of fields is a quote that opened by
     * mistake and closed in a later row: the caller restarts after its first line. */
    if (f->rec_lines > 1 && f->header_nf >= 0 && f->nf != f->header_nf) {
        f->mismatch = true;
        record_reset(f);
        return;
    }
    if (f->header_nf < 0)
        f->header_nf = f->nf;
    deliver(f, NULL);
    record_reset(f);
}

/* Delivers a row that could not be parsed, with the start of its first line as its one field. */
static void deliver_raw(struct csvfile *f, size_t off, long line, const char *problem)
{
    const unsigned char *s = f->map + off, *nl = memchr(s, f->eol, f->size - off);
    size_t len = nl ? (size_t)(nl - s) : f->size - off;
    if (len && s[len - 1] == '\r')
        len--;
    record_reset(f);
    size_t keep = len < RAW_KEEP ? len : RAW_KEEP;
    /* Do not cut a UTF-8 sequence in two. */
    while (keep < len && keep > 0 && (s[keep] & 0xC0) == 0x80)
        keep--;
    on_field((void *)s, keep, f);
    f->problem = NULL;
    f->rec_line = line;
    if (f->oom)
        return;
    deliver(f, problem);
    record_reset(f);
}

static size_t line_end(const struct csvfile *f, size_t pos)
{
    const unsigned char *nl = memchr(f->map + pos, f->eol, f->size - pos);
    return nl ? (size_t)(nl - f->map) + 1 : f->size;
}

/* Gives up on the open record: rejects its first line and resumes parsing on the next one. */
static size_t restart_after(struct csvfile *f, long *line, const char *problem)
{
    csv_free(&f->p);
    parser_start(f);
    deliver_raw(f, f->rec_off, f->rec_line, problem);
    *line = f->rec_line + 1;
    f->mismatch = false;
    return line_end(f, f->rec_off);
}

static bool blank(const unsigned char *s, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (s[i] != ' ' && s[i] != '\t' && s[i] != '\r' && s[i] != '\n')
            return false;
    return true;
}

static const char unbalanced[] = "unbalanced quote: the quoted field that opens on this line never closes";

int csvfile_read(struct csvfile *f, csvfile_row_fn fn, void *ud, char *err, size_t errlen)
{
    f->fn = fn, f->ud = ud, f->err = err, f->errlen = errlen;
    size_t pos = f->start;
    long line = 1;
    bool open_rec = false;
    while (pos < f->size && !f->stop && !f->oom) {
        size_t end = line_end(f, pos), len = end - pos;
        if (!open_rec) {
            f->rec_line = line, f->rec_off = pos, f->rec_bytes = 0, f->rec_lines = 0;
            if (blank(f->map + pos, len)) {
                pos = end, line++;
                continue;
            }
        }
        if (len > CSVFILE_MAX_ROW || f->rec_bytes + len > CSVFILE_MAX_ROW) {
            if (open_rec) {
                pos = restart_after(f, &line, "record over 64 KB, or a quote that never closes");
                open_rec = false;
            } else {
                deliver_raw(f, pos, line, "row over 64 KB");
                pos = end, line++;
            }
            continue;
        }
        f->rec_bytes += len;
        f->rec_lines++;
        if (csv_parse(&f->p, f->map + pos, len, on_field, on_record, f) != len)
            return refuse(err, errlen, "%s: line %ld: %s", f->path, line,
                          csv_strerror(csv_error(&f->p)));
        if (f->mismatch) {
            pos = restart_after(f, &line, unbalanced);
            open_rec = false;
            continue;
        }
        open_rec = f->p.pstate != LIBCSV_ROW_NOT_BEGUN;
        pos = end, line++;
        if (pos < f->size || !open_rec || f->stop)
            continue;
        /* The file ends inside a quoted field: reject where it opened, read on after it. */
        open_rec = false;
        if (f->p.pstate == LIBCSV_FIELD_BEGUN && f->p.quoted) {
            if (f->rec_lines > 1) {
                pos = restart_after(f, &line, unbalanced);
            } else {
                csv_free(&f->p);
                parser_start(f);
                deliver_raw(f, f->rec_off, f->rec_line, unbalanced);
            }
            continue;
        }
        csv_fini(&f->p, on_field, on_record, f);
        if (f->mismatch)
            pos = restart_after(f, &line, unbalanced);
    }
    if (f->oom)
        return refuse(err, errlen, "out of memory");
    if (f->stop)
        return -1;
    return 0;
}

void csvfile_fold(const char *in, char *out, size_t cap)
{
    utf8proc_uint8_t *m = NULL;
    size_t j = 0;
    if (cap == 0)
        return;
    /* ASCII has no marks to strip and folds by lower-casing, which the loop below does: most
     * cells (codes, "nam", "female") need no trip through utf8proc and its allocation. */
    bool ascii = true;
    for (const unsigned char *a = (const unsigned char *)in; *a && ascii; a++)
        ascii = *a < 0x80;
    if (!ascii && utf8proc_map((const utf8proc_uint8_t *)in, 0, &m,
                               UTF8PROC_NULLTERM | UTF8PROC_STABLE | UTF8PROC_DECOMPOSE |
                                   UTF8PROC_STRIPMARK | UTF8PROC_CASEFOLD) < 0)
        m = NULL;
    const unsigned char *s = m ? m : (const unsigned char *)in;
    bool sep = false;
    for (size_t i = 0; s[i] && j + 1 < cap; i++) {
        unsigned char ch = s[i];
        if (ch == 0xC4 && s[i + 1] == 0x91) {   /* đ does not decompose */
            ch = 'd';
            i++;
        } else if (ch == 0xC4 && s[i + 1] == 0x90) {
            ch = 'd';
            i++;
        }
        if (ch == ' ' || ch == '\t' || ch == '-' || ch == '.' || ch == '_' || ch == '\r' || ch == '\n') {
            sep = j > 0;
            continue;
        }
        if (sep && j + 2 < cap)
            out[j++] = '_';
        sep = false;
        out[j++] = (char)(ch >= 'A' && ch <= 'Z' ? ch + 32 : ch);
    }
    out[j] = '\0';
    free(m);
}

bool csvfile_nfc_quick(const char *in, size_t n)
{
    /* Below U+0300 (ASCII, Latin-1, Latin Extended-A and -B, IPA, spacing modifiers) and in
     * Latin Extended Additional (U+1E00-U+1EFF, the precomposed Vietnamese letters) every code
     * point has NFC_Quick_Check=Yes and combines with nothing before it, so a string made of
     * them alone is its own NFC. Anything else (combining marks, Khmer, Hangul, …) goes
     * through utf8proc. IN is valid UTF-8. */
    const unsigned char *s = (const unsigned char *)in;
    for (size_t i = 0; i < n;) {
        unsigned char c = s[i];
        if (c < 0x80) {
            i++;
        } else if (c < 0xE0) {
            if (((unsigned)(c & 0x1F) << 6 | (s[i + 1] & 0x3F)) >= 0x300)
                return false;
            i += 2;
        } else if (c < 0xF0) {
            unsigned cp = (unsigned)(c & 0x0F) << 12 | (unsigned)(s[i + 1] & 0x3F) << 6 | (s[i + 2] & 0x3F);
            if (cp < 0x1E00 || cp > 0x1EFF)
                return false;
            i += 3;
        } else
            return false;
    }
    return true;
}

int csvfile_text_clean(const char *in, char *out, size_t cap)
{
    size_t n = strlen(in);
    if (!csvfile_utf8_valid(in, n, NULL))
        return -1;
    for (size_t i = 0; i < n; i++) {
        unsigned char ch = (unsigned char)in[i];
        if ((ch < 0x20 && ch != '\t' && ch != '\n' && ch != '\r') || ch == 0x7f)
            return -1;
    }
    /* Nearly every cell is NFC already; normalising it anyway was 40% of an import. */
    utf8proc_uint8_t *nfc = NULL;
    if (!csvfile_nfc_quick(in, n) && !(nfc = utf8proc_NFC((const utf8proc_uint8_t *)in)))
        return -1;
    const unsigned char *src = nfc ? nfc : (const unsigned char *)in;
    size_t j = 0;
    bool space = false;
    int rc = 0;
    for (const unsigned char *s = src; *s;) {
        size_t w = 1;
        bool ws = *s == ' ' || *s == '\t' || *s == '\n' || *s == '\r';
        if (s[0] == 0xC2 && s[1] == 0xA0)                    /* no-break space */
            ws = true, w = 2;
        else if (s[0] == 0xE2 && s[1] == 0x80 && s[2] == 0x8B) { /* zero-width space: drop */
            s += 3;
            continue;
        }
        if (ws) {
            space = j > 0;
            s += w;
            continue;
        }
        w = *s < 0x80 ? 1 : *s < 0xE0 ? 2 : *s < 0xF0 ? 3 : 4;
        if (j + (space ? 1 : 0) + w + 1 > cap) {
            rc = -1;
            break;
        }
        if (space)
            out[j++] = ' ';
        space = false;
        memcpy(out + j, s, w);
        j += w, s += w;
    }
    free(nfc);
    if (rc < 0)
        return -1;
    out[j] = '\0';
    return (int)j;
}

/* ---- Reject report ---------------------------------------------------------------------- */

struct csvfile_rejects {
    FILE *fp;
    char delim;
    bool failed;
    int ncols;   /* the header's: `line` and `reason` always come right after */
};

struct csvfile_rejects *csvfile_rejects_open(const char *path, char delim, char *err, size_t errlen)
{
    struct csvfile_rejects *r = calloc(1, sizeof *r);
    if (!r) {
        refuse(err, errlen, "out of memory");
        return NULL;
    }
    r->fp = fopen(path, "wb");
    if (!r->fp) {
        refuse(err, errlen, "%s: %s", path, strerror(errno));
        free(r);
        return NULL;
    }
    r->delim = delim;
    setvbuf(r->fp, NULL, _IOFBF, 1 << 16);
    fputs("\xEF\xBB\xBF", r->fp);
    return r;
}

/* A field of a forgiven file may hold bytes that are not UTF-8: the report shows each as
 * U+FFFD, so that it stays a UTF-8 file and the officer sees where to retype. Returns S when it
 * is valid, else a copy the caller frees (NULL when out of memory). */
static char *utf8_replace_bad(const char *s, size_t n)
{
    if (csvfile_utf8_valid(s, n, NULL))
        return (char *)s;
    char *out = malloc(n * 3 + 1);
    if (!out)
        return NULL;
    size_t j = 0;
    for (size_t i = 0; i < n;) {
        utf8proc_int32_t cp;
        utf8proc_ssize_t w = (unsigned char)s[i] < 0x80 ? 1 :
            utf8proc_iterate((const utf8proc_uint8_t *)s + i, (utf8proc_ssize_t)(n - i), &cp);
        if (w <= 0) {
            memcpy(out + j, "\xEF\xBF\xBD", 3);
            j += 3, i++;
        } else {
            memcpy(out + j, s + i, (size_t)w);
            j += (size_t)w, i += (size_t)w;
        }
    }
    out[j] = '\0';
    return out;
}

static void put_field(struct csvfile_rejects *r, const char *in, bool first)
{
    if (!first)
        fputc(r->delim, r->fp);
    char *s = utf8_replace_bad(in, strlen(in));
    if (!s) {
        r->failed = true;
        return;
    }
    size_t n = strlen(s);
    bool quote = n && (s[0] == ' ' || s[n - 1] == ' ');
    for (size_t i = 0; i < n && !quote; i++)
        quote = s[i] == r->delim || s[i] == '"' || s[i] == '\n' || s[i] == '\r';
    if (quote) {
        if (csv_fwrite(r->fp, s, n) != 0)
            r->failed = true;
    } else if (n && fwrite(s, 1, n, r->fp) != n) {
        r->failed = true;
    }
    if (s != in)
        free(s);
}

/* A short row is padded so that `line` and `reason` stay in their columns; the fields of a
 * row longer than the header follow them. */
static int put_row(struct csvfile_rejects *r, char *const *fields, int n, const char *line,
                   const char *reason)
{
    int i = 0;
    for (; i < r->ncols; i++)
        put_field(r, i < n ? fields[i] : "", i == 0);
    put_field(r, line, r->ncols == 0);
    put_field(r, reason, false);
    for (; i < n; i++)
        put_field(r, fields[i], false);
    fputs("\r\n", r->fp);
    return r->failed || ferror(r->fp) ? -1 : 0;
}

int csvfile_rejects_header(struct csvfile_rejects *r, char *const *fields, int n)
{
    r->ncols = n;
    return put_row(r, fields, n, "line", "reason");
}

int csvfile_rejects_row(struct csvfile_rejects *r, char *const *fields, int n, long line,
                        const char *reason)
{
    char buf[24];
    snprintf(buf, sizeof buf, "%ld", line);
    return put_row(r, fields, n, buf, reason);
}

int csvfile_rejects_close(struct csvfile_rejects *r)
{
    if (!r)
        return 0;
    int rc = r->failed ? -1 : 0;
    if (fclose(r->fp) != 0)
        rc = -1;
    free(r);
    return rc;
}
