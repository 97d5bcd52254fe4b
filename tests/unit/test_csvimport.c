/* Citizen CSV without a database: header mapping, row checks and normalisation, and the
 * reader's handling of encodings, separators, quotes and sizes (segments/csvfile.c). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <utf8proc.h>

#include "segments/csvfile.h"
#include "segments/csvimport.h"

static struct csvimport_refs *refs(void)
{
    struct csvimport_refs *r = csvimport_refs_new("2026-05-01");
    csvimport_refs_add(r, REF_COMMUNE, "23200", "52");
    csvimport_refs_add(r, REF_COMMUNE, "00001", "01");
    csvimport_refs_add(r, REF_COMMUNE, "30300", "91");
    csvimport_refs_add(r, REF_GROUP, "farmer", NULL);
    csvimport_refs_add(r, REF_GROUP, "household_business", NULL);
    for (const char *const *l = (const char *const[]){"vi", "km", "bdq", "jra", NULL}; *l; l++)
        csvimport_refs_add(r, REF_LANGUAGE, *l, NULL);
    return r;
}

/* Splits a comma-separated test line into writable fields (no quotes in these tables). */
static int split(const char *line, char buf[1024], char *fields[32])
{
    snprintf(buf, 1024, "%s", line);
    int n = 0;
    for (char *p = buf;; p++) {
        fields[n++] = p;
        p = strchr(p, ',');
        if (!p)
            break;
        *p = '\0';
    }
    return n;
}

static const char *HEADER = "full_name,phone,commune_code,province_code,gender,birth_date,group,"
                            "language,bhxh_code,participation,voluntary_due_date,zalo_user_id,opt_out";

static void header(struct csvimport_header *h)
{
    char buf[1024], *f[32], err[200];
    int n = split(HEADER, buf, f);
    assert_int_equal(csvimport_header_parse(f, n, h, err, sizeof err), 0);
}

static void test_csvimport_header_names(void **state)
{
    struct csvimport_header h;
    char buf[1024], *f[32], err[300];
    int n = split("Họ và tên,SỐ ĐIỆN THOẠI,Mã xã,ghi chú,ma-tinh,Zalo ID", buf, f);
    assert_int_equal(csvimport_header_parse(f, n, &h, err, sizeof err), 0);
    assert_int_equal(h.col[COL_FULL_NAME], 0);
    assert_int_equal(h.col[COL_PHONE], 1);
    assert_int_equal(h.col[COL_COMMUNE], 2);
    assert_int_equal(h.col[COL_PROVINCE], 4);
    assert_int_equal(h.col[COL_ZALO], 5);
    assert_int_equal(h.col[COL_GENDER], -1);
    assert_string_equal(h.unknown, "ghi chú");

    n = split("full_name,phone,ma_xa,commune_code", buf, f);
    assert_int_equal(csvimport_header_parse(f, n, &h, err, sizeof err), -1);
    assert_string_equal(err, "the header names commune_code twice (columns 3 and 4)");
    n = split("name,tel", buf, f);
    assert_int_equal(csvimport_header_parse(f, n, &h, err, sizeof err), -1);
    assert_non_null(strstr(err, "missing full_name, phone, commune_code; found name, tel"));
}

struct good { const char *row; const char *name, *phone, *commune, *province, *gender, *birth,
              *group, *lang, *due; bool opt_out; };

static const struct good goods[] = {
    {"Nguyễn Văn An,0912345678,23200,52,nam,1980-05-01,farmer,vi,5201234567,none,,,",
     "Nguyễn Văn An", "84912345678", "23200", "52", "male", "1980-05-01", "farmer", "vi", "", false},
    /* Decomposed (NFD) input and runs of spaces become NFC with single spaces. */
    {"  Tra\xcc\x82\xcc\x80n   Thi\xcc\xa3  Bi\xcc\x80nh ,+84 98 123 4567,23200,,NỮ,01/02/1990,,,,,15/06/2026,,x",
     "Trần Thị Bình", "84981234567", "23200", "52", "female", "1990-02-01", NULL, NULL,
     "2026-06-15", true},
    {"Siu H'Nga,01661234567,1,01,Female,5-3-1975,Farmer,Jrai,,Tự nguyện,,,0",
     "Siu H'Nga", "84361234567", "00001", "01", "female", "1975-03-05", "farmer", "jra", "", false},
    {"Thạch Sa Rươne,0912345678,30300,91,,,household business,khmer,,bắt buộc,,,",
     "Thạch Sa Rươne", "84912345678", "30300", "91", NULL, "", "household_business", "km", "", false},
};

static void test_csvimport_row_normalises(void **state)
{
    struct csvimport_refs *r = refs();
    struct csvimport_header h;
    header(&h);
    struct citizen_row *row = malloc(sizeof *row);
    for (size_t i = 0; i < sizeof goods / sizeof goods[0]; i++) {
        char buf[1024], *f[32];
        int n = split(goods[i].row, buf, f);
        const char *why = csvimport_row_parse(&h, r, f, n, row);
        if (why)
            fail_msg("row %zu rejected: %s", i, why);
        assert_string_equal(row->full_name, goods[i].name);
        assert_string_equal(row->phone, goods[i].phone);
        assert_string_equal(row->commune_code, goods[i].commune);
        assert_string_equal(row->province_code, goods[i].province);
        if (goods[i].gender)
            assert_string_equal(row->gender, goods[i].gender);
        else
            assert_null(row->gender);
        assert_string_equal(row->birth_date, goods[i].birth);
        if (goods[i].group)
            assert_string_equal(row->group_code, goods[i].group);
        if (goods[i].lang)
            assert_string_equal(row->language, goods[i].lang);
        assert_string_equal(row->due_date, goods[i].due);
        assert_int_equal(row->opt_out, goods[i].opt_out);
    }
    free(row);
    csvimport_refs_free(r);
}

struct bad { const char *row, *reason; };

static const struct bad bads[] = {
    {",0912345678,23200,,,,,,,,,,", "full_name is empty"},
    {"1234,0912345678,23200,,,,,,,,,,", "full_name has no letters"},
    {"An,,23200,,,,,,,,,,", "phone: no phone"},
    {"An,02693822123,23200,,,,,,,,,,", "phone: landline"},
    {"An,0912345678 / 0987654321,23200,,,,,,,,,,", "phone: two numbers in one cell"},
    {"An,0912345678,,,,,,,,,,,", "commune_code is empty"},
    {"An,0912345678,99999,,,,,,,,,,", "unknown commune_code '99999'"},
    {"An,0912345678,23200,91,,,,,,,,,", "province_code '91' does not match commune 23200 (in province 52)"},
    {"An,0912345678,23200,,x,,,,,,,,", "gender 'x' is not nam, nữ, male or female"},
    {"An,0912345678,23200,,,31/02/1990,,,,,,,", "birth_date '31/02/1990' is not a past date (YYYY-MM-DD or DD/MM/YYYY)"},
    {"An,0912345678,23200,,,2027-01-01,,,,,,,", "birth_date '2027-01-01' is not a past date (YYYY-MM-DD or DD/MM/YYYY)"},
    {"An,0912345678,23200,,,1990/01/01,,,,,,,", "birth_date '1990/01/01' is not a past date (YYYY-MM-DD or DD/MM/YYYY)"},
    {"An,0912345678,23200,,,,astronaut,,,,,,", "unknown group 'astronaut'"},
    {"An,0912345678,23200,,,,,fr,,,,,", "unknown language 'fr' (vi, km, bdq, jra)"},
    {"An,0912345678,23200,,,,,,52012345,,,,", "bhxh_code '52012345' is not 10 digits"},
    {"An,0912345678,23200,,,,,,,sometimes,,,", "participation 'sometimes' is not none, voluntary, compulsory or stopped"},
    {"An,0912345678,23200,,,,,,,,2026-13-01,,", "voluntary_due_date '2026-13-01' is not a date (YYYY-MM-DD or DD/MM/YYYY)"},
    {"An,0912345678,23200,,,,,,,,,a b,", "zalo_user_id 'a b' is not a Zalo id"},
    {"An,0912345678,23200,,,,,,,,,,maybe", "opt_out 'maybe' is not 1/yes/x or 0/no"},
    {"An,0912345678,23200,,,,,,,,,,,extra", "14 fields, the header has 13"},
};

static void test_csvimport_row_rejects_with_reason(void **state)
{
    struct csvimport_refs *r = refs();
    struct csvimport_header h;
    header(&h);
    struct citizen_row *row = malloc(sizeof *row);
    for (size_t i = 0; i < sizeof bads / sizeof bads[0]; i++) {
        char buf[1024], *f[32];
        int n = split(bads[i].row, buf, f);
        const char *why = csvimport_row_parse(&h, r, f, n, row);
        if (!why)
            fail_msg("'%s' accepted", bads[i].row);
        if (strcmp(why, bads[i].reason) != 0)
            fail_msg("'%s'\n  said     %s\n  expected %s", bads[i].row, why, bads[i].reason);
    }
    free(row);
    csvimport_refs_free(r);
}

static void test_csvfile_fold_and_clean(void **state)
{
    char out[64];
    csvfile_fold("  Số điện  thoại ", out, sizeof out);
    assert_string_equal(out, "so_dien_thoai");
    csvfile_fold("ĐỊA-CHỈ.Xã", out, sizeof out);
    assert_string_equal(out, "dia_chi_xa");
    assert_int_equal(csvfile_text_clean("\xc2\xa0 Lê\tVăn\xe2\x80\x8b  Tám \r\n", out, sizeof out), 13);
    assert_string_equal(out, "Lê Văn Tám");
    assert_int_equal(csvfile_text_clean("a\x01" "b", out, sizeof out), -1);
    assert_int_equal(csvfile_text_clean("\xff", out, sizeof out), -1);
    assert_int_equal(csvfile_text_clean("abcdef", out, 4), -1);
}

/* ---- Reading files ---------------------------------------------------------------------- */

struct got { int n; long lines[16]; char first[16][64]; int nf[16]; char problem[16][96]; };

static int collect(void *ud, const struct csvfile_row *row, char *err, size_t errlen)
{
    struct got *g = ud;
    if (g->n < 16) {
        g->lines[g->n] = row->line;
        g->nf[g->n] = row->nfields;
        snprintf(g->first[g->n], 64, "%s", row->nfields ? row->fields[0] : "");
        snprintf(g->problem[g->n], 96, "%s", row->problem ? row->problem : "");
    }
    g->n++;
    return 0;
}

static int read_bytes(const char *bytes, size_t len, struct got *g, char *err, size_t errlen)
{
    char path[] = "/tmp/test_csvimport_XXXXXX";
    int fd = mkstemp(path);
    assert_true(fd >= 0);
    assert_int_equal(write(fd, bytes, len), (ssize_t)len);
    close(fd);
    memset(g, 0, sizeof *g);
    struct csvfile *f;
    int rc = csvfile_open(path, &f, err, errlen);
    if (rc == 0) {
        rc = csvfile_read(f, collect, g, err, errlen);
        csvfile_close(f);
    }
    unlink(path);
    return rc;
}
#define READ(s, g, e) read_bytes((s), sizeof(s) - 1, (g), (e), sizeof(e))

static void test_csvfile_encodings_refused(void **state)
{
    struct got g;
    char err[400];
    assert_int_equal(READ("\xff\xfe" "a\0,\0b\0", &g, err), -1);
    assert_non_null(strstr(err, "is UTF-16 (it starts with a UTF-16 byte-order mark)"));
    assert_int_equal(READ("a\0b\0c\0d\0", &g, err), -1);
    assert_non_null(strstr(err, "looks like UTF-16 without a byte-order mark"));
    assert_int_equal(READ("full_name\nNguy\xe1n\n", &g, err), -1);  /* Windows-1258 ễ */
    if (!strstr(err, "is not UTF-8: line 2 has the byte 0xE1"))
        fail_msg("%s", err);
    assert_int_equal(READ("abc\ndef\0ghijklmnopqrstuvwxyzabcdefghijklmnopqrstuvwxyz", &g, err), -1);
    assert_non_null(strstr(err, "is not a text file (a NUL byte at offset 7)"));
}

/* A UTF-8 file with one name pasted from a legacy system is read, that row rejected with its
 * column; a file whose every accented line is legacy stays refused whole. */
static void test_csvfile_few_bad_utf8_rows_are_rejected_not_the_file(void **state)
{
    struct got g;
    char err[400];
    assert_int_equal(READ("full_name,phone\n"
                          "Nguy\xe1\xbb\x85n V\xc4\x83n An,0912345678\n"
                          "Tr\xe1\xba\xa7n Th\xe1\xbb\x8b B\xc3\xacnh,0981234567\n"
                          "Nguy\xd2n,0912345679\n"                   /* Windows-1258 */
                          "L\xc3\xaa V\xc4\x83n T\xc3\xa1m,09123\xff\n"
                          "Rơ Mah Thuận,0361234567\n", &g, err), 0);
    assert_int_equal(g.n, 6);
    assert_string_equal(g.problem[5], "");
    assert_string_equal(g.problem[1], "");
    assert_string_equal(g.problem[2], "");
    assert_string_equal(g.problem[3], "invalid UTF-8 in full_name (column 1)");
    assert_int_equal(g.lines[3], 4);
    assert_string_equal(g.problem[4], "invalid UTF-8 in phone (column 2)");

    /* Bad bytes on more lines than good accents: a legacy file, refused whole. */
    assert_int_equal(READ("full_name\nL\xc3\xaa\nNguy\xd2n\nTr\xc7n\nB\xecnh\n", &g, err), -1);
    if (!strstr(err, "is not UTF-8: line 3 has the byte 0xD2") || !strstr(err, "3 of its 5 lines"))
        fail_msg("%s", err);
    /* Valid accents everywhere but bad bytes on more than a few lines and more than one line in
     * twenty: refused whole. */
    char many[1024] = "full_name\n";
    for (int i = 0; i < 40; i++)
        strcat(many, "L\xc3\xaa\n");
    for (int i = 0; i < CSVFILE_BAD_UTF8_FEW + 1; i++)
        strcat(many, "Nguy\xd2n\n");
    assert_int_equal(read_bytes(many, strlen(many), &g, err, sizeof err), -1);
    if (!strstr(err, "is not UTF-8: line 42") || !strstr(err, "4 of its 45 lines"))
        fail_msg("%s", err);
}

static void test_csvfile_separators_quotes_and_line_ends(void **state)
{
    struct got g;
    char err[400];
    assert_int_equal(READ("\xef\xbb\xbf" "a;b\r\n\"x;y\";2\r\n\r\n\"multi\nline\";3\r\n", &g, err), 0);
    assert_int_equal(g.n, 3);
    assert_string_equal(g.first[0], "a");
    assert_int_equal(g.nf[1], 2);
    assert_string_equal(g.first[1], "x;y");
    assert_string_equal(g.first[2], "multi\nline");
    assert_int_equal(g.lines[2], 4);
    /* Old Mac files end lines with CR alone. */
    assert_int_equal(READ("a,b\r1,2\r3,4", &g, err), 0);
    assert_int_equal(g.n, 3);
    assert_int_equal(g.lines[2], 3);
}

static void test_csvfile_unbalanced_quote_rejects_one_line(void **state)
{
    struct got g;
    char err[400];
    assert_int_equal(READ("a,b\n1,2\n\"3,4\n5,6\n7,8\n", &g, err), 0);
    assert_int_equal(g.n, 5);
    assert_int_equal(g.lines[2], 3);
    assert_non_null(strstr(g.problem[2], "unbalanced quote"));
    assert_string_equal(g.first[2], "\"3,4");
    assert_string_equal(g.first[3], "5");
    assert_int_equal(g.lines[3], 4);
    assert_int_equal(g.lines[4], 5);
    assert_string_equal(g.problem[4], "");
}

static void test_csvfile_size_limits(void **state)
{
    size_t big = 70000;
    char *s = malloc(big + 5000 + 64);
    strcpy(s, "a,b\n1,");
    size_t l = strlen(s);
    memset(s + l, 'x', 5000);
    strcpy(s + l + 5000, "\n2,");
    l = strlen(s);
    memset(s + l, 'y', big);
    strcpy(s + l + big, "\n3,z\n");
    struct got g;
    char err[400];
    assert_int_equal(read_bytes(s, strlen(s), &g, err, sizeof err), 0);
    assert_int_equal(g.n, 4);
    assert_string_equal(g.problem[1], "field over 4 KB (column 2)");
    assert_string_equal(g.problem[2], "row over 64 KB");
    assert_int_equal(g.lines[3], 4);
    assert_string_equal(g.problem[3], "");
    free(s);
}

/* The NFC fast path must never call a string NFC that utf8proc would change: checked for every
 * code point it accepts, alone, after a letter, and before a combining mark (which it refuses). */
static int enc(unsigned cp, char *o)
{
    return (int)utf8proc_encode_char((utf8proc_int32_t)cp, (utf8proc_uint8_t *)o);
}

static void nfc_agrees(const char *s)
{
    size_t n = strlen(s);
    if (!csvfile_nfc_quick(s, n))
        return;
    utf8proc_uint8_t *nfc = utf8proc_NFC((const utf8proc_uint8_t *)s);
    assert_non_null(nfc);
    assert_string_equal((const char *)nfc, s);
    free(nfc);
}

static void test_csvfile_nfc_quick_agrees_with_utf8proc(void **state)
{
    char buf[32];
    int accepted = 0;
    for (unsigned cp = 1; cp < 0x2000; cp++) {
        if (cp >= 0xD800 && cp <= 0xDFFF)
            continue;
        int k = enc(cp, buf);
        buf[k] = '\0';
        if (csvfile_nfc_quick(buf, (size_t)k))
            accepted++;
        nfc_agrees(buf);
        /* After a base letter, and with a following letter: nothing composes across them. */
        char pair[32] = "a";
        k = enc(cp, pair + 1);
        pair[1 + k] = 'e';
        pair[2 + k] = '\0';
        nfc_agrees(pair);
        /* Followed by a combining acute accent: must go the slow way. */
        k = enc(cp, buf);
        k += enc(0x301, buf + k);
        buf[k] = '\0';
        assert_false(csvfile_nfc_quick(buf, (size_t)k));
    }
    assert_int_equal(accepted, 0x2FF + 0x100);
    const char *vi = "Nguy\xe1\xbb\x85n Th\xe1\xbb\x8b Th\xc3\xbay \xc4\x90\xe1\xba\xb7ng";  /* Nguyễn Thị Thúy Đặng */
    assert_true(csvfile_nfc_quick(vi, strlen(vi)));
    nfc_agrees(vi);
    const char *nfd = "Nguye\xcc\x82\xcc\x83n";  /* e + circumflex + tilde, decomposed */
    assert_false(csvfile_nfc_quick(nfd, strlen(nfd)));
    const char *khmer = "\xe1\x9e\x90\xe1\x9e\xb6";
    assert_false(csvfile_nfc_quick(khmer, strlen(khmer)));
    char out[64];
    assert_true(csvfile_text_clean(nfd, out, sizeof out) > 0);
    assert_string_equal(out, "Nguy\xe1\xbb\x85n");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_csvimport_header_names),
        cmocka_unit_test(test_csvimport_row_normalises),
        cmocka_unit_test(test_csvimport_row_rejects_with_reason),
        cmocka_unit_test(test_csvfile_fold_and_clean),
        cmocka_unit_test(test_csvfile_encodings_refused),
        cmocka_unit_test(test_csvfile_few_bad_utf8_rows_are_rejected_not_the_file),
        cmocka_unit_test(test_csvfile_separators_quotes_and_line_ends),
        cmocka_unit_test(test_csvfile_unbalanced_quote_rejects_one_line),
        cmocka_unit_test(test_csvfile_size_limits),
        cmocka_unit_test(test_csvfile_nfc_quick_agrees_with_utf8proc),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
