/* Reading citizens' replies: stop, register, ask or other, whatever the accents, case,
 * spacing and punctuation. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "campaigns/replies.h"

struct reply_case {
    const char *text;
    enum reply_intent want;
};

static const struct reply_case cases[] = {
    /* stop: the usual keyword in every shape an SMS takes */
    {"TC", REPLY_STOP},
    {"tc", REPLY_STOP},
    {"Tc", REPLY_STOP},
    {"TC.", REPLY_STOP},
    {" tc ", REPLY_STOP},
    {"T C", REPLY_STOP},
    {"t.c", REPLY_STOP},
    {"TC!!!", REPLY_STOP},
    {"\"TC\"", REPLY_STOP},
    {"TC\n", REPLY_STOP},
    {"ＴＣ", REPLY_STOP},                       /* full-width letters */
    {"tu choi", REPLY_STOP},
    {"từ chối", REPLY_STOP},
    {"Từ Chối", REPLY_STOP},
    {"TỪ CHỐI", REPLY_STOP},
    {"tuchoi", REPLY_STOP},
    {"tu-choi", REPLY_STOP},
    {"Tu choi nhan tin", REPLY_STOP},
    {"HUY", REPLY_STOP},
    {"huỷ", REPLY_STOP},
    {"hủy", REPLY_STOP},
    {"Hủy đăng ký", REPLY_STOP},
    {"STOP", REPLY_STOP},
    {"Stop please", REPLY_STOP},
    {"dung", REPLY_STOP},
    {"dừng", REPLY_STOP},
    {"Dừng lại", REPLY_STOP},
    {"ngừng", REPLY_STOP},
    {"Tôi không muốn nhận tin nhắn này nữa", REPLY_STOP},
    {"khong muon nhan tin", REPLY_STOP},
    {"Xin đừng gửi tin cho tôi nữa", REPLY_STOP},  /* "dung gui" */
    {"Làm ơn dừng gửi tin nhắn", REPLY_STOP},
    {"TC BHXH", REPLY_STOP},
    {"tc bhxh", REPLY_STOP},
    {"Không đăng ký", REPLY_STOP},
    /* register */
    {"DK", REPLY_REGISTER},
    {"dk", REPLY_REGISTER},
    {"D K", REPLY_REGISTER},
    {"dang ky", REPLY_REGISTER},
    {"Đăng ký", REPLY_REGISTER},
    {"ĐĂNG KÝ", REPLY_REGISTER},
    {"đăng kí", REPLY_OTHER},                  /* "ki" is not "ky": not guessed */
    {"CO", REPLY_REGISTER},
    {"có", REPLY_REGISTER},
    {"Có.", REPLY_REGISTER},
    {"YES", REPLY_REGISTER},
    {"quan tam", REPLY_REGISTER},
    {"Quan tâm", REPLY_REGISTER},
    {"DK BHXH tu nguyen", REPLY_REGISTER},
    {"Tôi muốn đăng ký tham gia BHXH tự nguyện", REPLY_REGISTER},
    {"Tôi quan tâm", REPLY_REGISTER},
    /* ask */
    {"Mức đóng thấp nhất là bao nhiêu?", REPLY_ASK},
    {"Bao nhiêu tiền một tháng", REPLY_ASK},
    {"hỏi về BHXH tự nguyện", REPLY_ASK},
    {"Cho hỏi hạn đóng khi nào", REPLY_ASK},
    {"Xin hỏi tôi được hỗ trợ không", REPLY_ASK},
    {"Làm sao để đóng tiền", REPLY_ASK},
    {"Đăng ký ở đâu?", REPLY_ASK},
    {"DK thế nào?", REPLY_ASK},
    {"?", REPLY_ASK},
    {"Tôi được hỗ trợ bao nhiêu phần trăm", REPLY_ASK},
    {"Đóng như thế nào", REPLY_ASK},
    {"Tại sao tôi nhận được tin này", REPLY_ASK},
    {"Huy co the dong BHXH khong？", REPLY_ASK}, /* full-width '?'; "Huy" here is a name */
    /* other */
    {"", REPLY_OTHER},
    {"   ", REPLY_OTHER},
    {"...", REPLY_OTHER},
    {"Cảm ơn", REPLY_OTHER},
    {"ok", REPLY_OTHER},
    {"Tôi đã đóng rồi", REPLY_OTHER},
    {"TCX", REPLY_OTHER},
    {"stopwatch", REPLY_OTHER},
    {"Không", REPLY_OTHER},
    {"\xff\xfe garbage", REPLY_OTHER},          /* invalid UTF-8 is read, not rejected */
};

static void test_reply_classify_table(void **state)
{
    size_t n = sizeof cases / sizeof cases[0];
    assert_true(n >= 40);
    int bad = 0;
    for (size_t i = 0; i < n; i++) {
        enum reply_intent got = reply_classify(cases[i].text);
        if (got != cases[i].want) {
            print_error("'%s': got %s, expected %s\n", cases[i].text, reply_intent_name(got),
                        reply_intent_name(cases[i].want));
            bad++;
        }
    }
    assert_int_equal(bad, 0);
}

static void test_reply_classify_null_and_long_input(void **state)
{
    assert_int_equal(reply_classify(NULL), REPLY_OTHER);
    /* Longer than the normalisation buffer: classified by its beginning, without overflow. */
    size_t len = 10000;
    char *s = malloc(len + 1);
    assert_non_null(s);
    const char *head = "Tôi không muốn nhận tin ";
    memcpy(s, head, strlen(head));
    for (size_t i = strlen(head); i < len; i++)
        s[i] = i % 7 ? 'a' : ' ';
    s[len] = '\0';
    assert_int_equal(reply_classify(s), REPLY_STOP);
    for (size_t i = 0; i < len; i++)
        s[i] = 'x';
    assert_int_equal(reply_classify(s), REPLY_OTHER);
    free(s);
}

static void test_reply_normalise_strips_accents_case_and_punctuation(void **state)
{
    char out[128];
    int q;
    reply_normalise("  Từ   Chối!! Đăng-ký? ", out, sizeof out, &q);
    assert_string_equal(out, "tu choi dang ky");
    assert_int_equal(q, 1);
    reply_normalise("ĐƯỢC HỖ TRỢ", out, sizeof out, &q);
    assert_string_equal(out, "duoc ho tro");
    assert_int_equal(q, 0);
    reply_normalise("abcdef", out, 4, &q);
    assert_string_equal(out, "abc");
    reply_normalise("", out, sizeof out, &q);
    assert_string_equal(out, "");
}

static void test_reply_intent_names_are_the_schema_values(void **state)
{
    assert_string_equal(reply_intent_name(REPLY_STOP), "stop");
    assert_string_equal(reply_intent_name(REPLY_REGISTER), "register");
    assert_string_equal(reply_intent_name(REPLY_ASK), "ask");
    assert_string_equal(reply_intent_name(REPLY_OTHER), "other");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_reply_classify_table),
        cmocka_unit_test(test_reply_classify_null_and_long_input),
        cmocka_unit_test(test_reply_normalise_strips_accents_case_and_punctuation),
        cmocka_unit_test(test_reply_intent_names_are_the_schema_values),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
