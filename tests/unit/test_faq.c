/* Matching citizens' questions against the bank of standard answers: the score, and the starter
 * bank of sql/010_replies.sql (loaded from the database of LOA_TEST_DB_URL, migrated). */
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "campaigns/faq.h"
#include "core/db.h"

static struct faq_bank *shipped;

static int setup(void **state)
{
    const char *url = getenv("LOA_TEST_DB_URL");
    if (!url || !*url) {
        fprintf(stderr, "LOA_TEST_DB_URL is not set: this test needs a database\n");
        return -1;
    }
    char err[512];
    int applied;
    PGconn *db = db_connect(url, err, sizeof err);
    PGresult *r = db && db_migrate(db, &applied, err, sizeof err) == 0
        ? db_query(db, err, sizeof err, FAQ_BANK_SQL, 1, (const char *[]){"Asia/Ho_Chi_Minh"}) : NULL;
    if (!r) {
        fprintf(stderr, "%s\n", err);
        if (db)
            PQfinish(db);
        return -1;
    }
    shipped = faq_bank_from_result(r);
    int rows = PQntuples(r);
    PQclear(r);
    PQfinish(db);
    return shipped && (int)faq_bank_count(shipped) == rows ? 0 : -1;
}

static int teardown(void **state)
{
    faq_bank_free(shipped);
    return 0;
}

static void test_faq_score_is_one_for_the_same_words_and_zero_for_none(void **state)
{
    struct faq_bank *b = faq_bank_new();
    assert_non_null(b);
    assert_int_equal(faq_bank_add(b, 7, "Mức đóng thấp nhất là bao nhiêu?", "330.000đ"), 0);
    assert_int_equal(faq_bank_add(b, 8, "Đóng tiền ở đâu?", "Ở xã"), 0);
    assert_int_equal(faq_bank_add(b, 9, "VssID là gì?", "Ứng dụng"), 0);
    assert_int_equal(faq_bank_add(b, 10, "tôi là gì?", "x"), -1);   /* nothing but stop words */
    assert_int_equal(faq_bank_count(b), 3);
    double s;
    /* Same words, other accents, case, order and particles: a full match. */
    int i = faq_bank_match(b, "muc dong thap nhat bao nhieu a", &s);
    assert_int_equal(i, 0);
    assert_true(s > 0.999);
    assert_int_equal(faq_bank_id(b, i), 7);
    assert_string_equal(faq_bank_answer(b, i), "330.000đ");
    i = faq_bank_match(b, "VSSID LA GI", &s);
    assert_int_equal(faq_bank_id(b, i), 9);
    /* Telex leftovers read as the letters meant. */
    i = faq_bank_match(b, "ddongs tieenf owr ddaau", &s);
    assert_int_equal(faq_bank_id(b, i), 8);
    assert_true(s > 0.999);
    /* Nothing shared: no match, score 0. */
    assert_int_equal(faq_bank_match(b, "con chó nhà tôi bị ốm", &s), -1);
    assert_true(s == 0);
    assert_int_equal(faq_bank_match(b, "", &s), -1);
    assert_int_equal(faq_bank_match(b, NULL, &s), -1);
    /* A long message on another subject that shares one word scores low. */
    i = faq_bank_match(b, "hôm qua tôi đi chợ mua rau muống cá thịt rồi về nấu cơm ở nhà", &s);
    assert_true(s < FAQ_CONFIDENT);
    /* Rare words weigh more: "vssid" alone beats "đóng" alone. */
    double s_vss, s_dong;
    faq_bank_match(b, "vssid", &s_vss);
    faq_bank_match(b, "đóng", &s_dong);
    assert_true(s_vss > s_dong);
    faq_bank_free(b);
    assert_int_equal(faq_bank_match(NULL, "x", &s), -1);
}

struct faq_case {
    const char *text;
    const char *question;   /* the start of the question it must match confidently, or NULL */
};

static const struct faq_case cases[] = {
    {"Mức đóng thấp nhất bao nhiêu", "Mức đóng BHXH tự nguyện thấp nhất"},
    {"muc dong bhxh tu nguyen thap nhat", "Mức đóng BHXH tự nguyện thấp nhất"},
    {"Hộ nghèo được hỗ trợ bao nhiêu", "Hộ nghèo được hỗ trợ"},
    {"ho ngheo duoc ho tro bao nhieu?", "Hộ nghèo được hỗ trợ"},
    {"Hộ cận nghèo hỗ trợ bao nhiêu", "Hộ cận nghèo"},
    {"Dân tộc thiểu số được hỗ trợ bao nhiêu", "Người dân tộc thiểu số"},
    {"Nhà nước hỗ trợ bao nhiêu phần trăm", "Nhà nước hỗ trợ bao nhiêu phần trăm"},
    {"dang ky bhxh tu nguyen o dau", "Đăng ký tham gia BHXH tự nguyện ở đâu"},
    {"Đóng tiền ở đâu?", "Đóng tiền BHXH tự nguyện ở đâu"},
    {"VssID là gì vậy", "VssID là gì"},
    {"quên mật khẩu vssid", "Quên mật khẩu VssID"},
    {"Bao nhiêu tuổi được tham gia", "Bao nhiêu tuổi"},
    {"Tổng đài BHXH số mấy", "Số điện thoại tổng đài"},
    {"Tin nhắn này lừa đảo à", "Tin nhắn này có phải lừa đảo"},
    {"tra cứu quá trình đóng", "Tra cứu quá trình đóng"},
    {"ngừng đóng có mất tiền không", "Nếu ngừng đóng"},
    {"quyền lợi khi tham gia bảo hiểm xã hội tự nguyện", "Tham gia BHXH tự nguyện được hưởng quyền lợi"},
    {"thủ tục cần giấy tờ gì", "Thủ tục đăng ký"},
    {"cài vssid thế nào", "Cài đặt và đăng nhập VssID"},
    {"Đóng bao nhiêu năm thì có lương hưu", "Đóng BHXH tự nguyện bao nhiêu năm"},
    {"làm sao để không nhận tin nhắn nữa", "Làm sao để không nhận tin nhắn"},
    {"Tôi muốn đổi tên trên thẻ căn cước", NULL},
    {"Nhà tôi có con chó bị ốm", NULL},
    {"Hôm nay trời mưa to quá", NULL},
    {"Huy đây", NULL},
};

static void test_faq_starter_bank_answers_the_common_questions(void **state)
{
    assert_true(faq_bank_count(shipped) >= 20);
    int bad = 0;
    for (size_t k = 0; k < sizeof cases / sizeof cases[0]; k++) {
        double s;
        int i = faq_bank_match(shipped, cases[k].text, &s);
        bool confident = i >= 0 && s >= FAQ_CONFIDENT;
        bool ok = cases[k].question
            ? confident && strncmp(faq_bank_question(shipped, i), cases[k].question, strlen(cases[k].question)) == 0
            : !confident;
        if (!ok) {
            print_error("'%s': got '%s' (%.3f), expected '%s'\n", cases[k].text,
                        i >= 0 ? faq_bank_question(shipped, i) : "-", s,
                        cases[k].question ? cases[k].question : "no confident match");
            bad++;
        }
    }
    assert_int_equal(bad, 0);
}

/* The starter answers quote the policies table, rendered for today (after 1 July 2025: Law
 * 41/2024): every placeholder filled, the figures those of sql/003_policy.sql. */
static void test_faq_starter_answers_carry_the_policy_figures(void **state)
{
    int figures = 0;
    for (size_t i = 0; i < faq_bank_count(shipped); i++) {
        const char *a = faq_bank_answer(shipped, (int)i);
        assert_null(strstr(a, "{{"));
        figures += strstr(a, "330.000 đ") != NULL || strstr(a, "1.500.000 đ") != NULL;
    }
    assert_true(figures >= 3);
    double s;
    int i = faq_bank_match(shipped, "Hộ cận nghèo được hỗ trợ bao nhiêu?", &s);
    assert_true(i >= 0);
    assert_string_equal(faq_bank_answer(shipped, i),
                        "Người thuộc hộ cận nghèo được hỗ trợ 40%: hỗ trợ 132.000 đ, còn tự đóng từ 198.000 đ/tháng.");
    i = faq_bank_match(shipped, "Nhà nước hỗ trợ bao nhiêu phần trăm tiền đóng BHXH tự nguyện?", &s);
    assert_true(i >= 0);
    assert_string_equal(faq_bank_answer(shipped, i),
                        "Từ 01/07/2025 (Luật BHXH 41/2024/QH15), Nhà nước hỗ trợ trên mức đóng theo chuẩn nghèo nông "
                        "thôn: hộ nghèo 50%, hộ cận nghèo 40%, người dân tộc thiểu số 30%, người khác 20%.");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_faq_score_is_one_for_the_same_words_and_zero_for_none),
        cmocka_unit_test(test_faq_starter_bank_answers_the_common_questions),
        cmocka_unit_test(test_faq_starter_answers_carry_the_policy_figures),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
