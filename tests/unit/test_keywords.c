/* Reading citizens' replies with the keyword table shipped in sql/010_replies.sql: what opts a
 * citizen out, and above all what must not (names, "đúng", a stop word inside a question or a
 * longer sentence), whatever the accents, case, spacing, punctuation, Telex or VNI. Loads the
 * table from the database of LOA_TEST_DB_URL, migrated. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "campaigns/keywords.h"
#include "core/db.h"

struct reply_case {
    const char *text;
    enum kw_intent want;
};

static const struct reply_case cases[] = {
    /* opt_out: the keyword in every shape an SMS takes */
    {"TC", KW_OPT_OUT},
    {"tc", KW_OPT_OUT},
    {"Tc", KW_OPT_OUT},
    {"TC.", KW_OPT_OUT},
    {" tc ", KW_OPT_OUT},
    {"T C", KW_OPT_OUT},
    {"t.c", KW_OPT_OUT},
    {"T-C", KW_OPT_OUT},
    {"TC!!!", KW_OPT_OUT},
    {"\"TC\"", KW_OPT_OUT},
    {"TC\n", KW_OPT_OUT},
    {"ＴＣ", KW_OPT_OUT},
    {"TC BHXH", KW_OPT_OUT},
    {"tc bhxh", KW_OPT_OUT},
    {"TCBHXH", KW_OPT_OUT},
    {"tu choi", KW_OPT_OUT},
    {"Tu choi", KW_OPT_OUT},
    {"TU CHOI", KW_OPT_OUT},
    {"từ chối", KW_OPT_OUT},
    {"Từ chối", KW_OPT_OUT},
    {"Từ Chối", KW_OPT_OUT},
    {"TỪ CHỐI", KW_OPT_OUT},
    {"tuchoi", KW_OPT_OUT},
    {"tu-choi", KW_OPT_OUT},
    {"Từ chối.", KW_OPT_OUT},
    {"Từ chối ạ", KW_OPT_OUT},
    {"Tu choi a", KW_OPT_OUT},
    {"Tôi từ chối", KW_OPT_OUT},
    {"toi tu choi", KW_OPT_OUT},
    {"Em từ chối ạ", KW_OPT_OUT},
    {"Từ chối nhé", KW_OPT_OUT},
    {"Từ chối, cảm ơn", KW_OPT_OUT},
    {"TC cảm ơn", KW_OPT_OUT},
    {"TC nhé", KW_OPT_OUT},
    {"TC nha", KW_OPT_OUT},
    {"Tc a", KW_OPT_OUT},
    {"Xin từ chối", KW_OPT_OUT},
    {"tư chôi", KW_OPT_OUT},
    {"Từ chối nhận", KW_OPT_OUT},
    {"HUY", KW_OPT_OUT},
    {"HUỶ", KW_OPT_OUT},
    {"HỦY", KW_OPT_OUT},
    {"huỷ", KW_OPT_OUT},
    {"hủy", KW_OPT_OUT},
    {"Hủy", KW_OPT_OUT},
    {"Huỷ.", KW_OPT_OUT},
    {"HUY!", KW_OPT_OUT},
    {"Hủy ạ", KW_OPT_OUT},
    {"HUY DANG KY", KW_OPT_OUT},
    {"Hủy đăng ký", KW_OPT_OUT},
    {"hủy đăng ký", KW_OPT_OUT},
    {"HỦY ĐĂNG KÝ", KW_OPT_OUT},
    {"Hủy tin", KW_OPT_OUT},
    {"STOP", KW_OPT_OUT},
    {"stop", KW_OPT_OUT},
    {"Stop", KW_OPT_OUT},
    {"Stop please", KW_OPT_OUT},
    {"STOP!!!", KW_OPT_OUT},
    {"unsubscribe", KW_OPT_OUT},
    {"Dừng", KW_OPT_OUT},
    {"dừng", KW_OPT_OUT},
    {"DỪNG", KW_OPT_OUT},
    {"Dừng lại", KW_OPT_OUT},
    {"dung lai", KW_OPT_OUT},
    {"Dừng lại đi", KW_OPT_OUT},
    {"Ngừng", KW_OPT_OUT},
    {"ngung", KW_OPT_OUT},
    {"Ngưng", KW_OPT_OUT},
    {"Ngừng lại", KW_OPT_OUT},
    {"Không nhận", KW_OPT_OUT},
    {"Khong nhan tin", KW_OPT_OUT},
    {"Không nhận nữa", KW_OPT_OUT},
    {"Đừng gửi", KW_OPT_OUT},
    /* opt_out: a phrase that is itself a request to stop */
    {"Tôi không muốn nhận tin nhắn này nữa", KW_OPT_OUT},
    {"khong muon nhan tin", KW_OPT_OUT},
    {"Tôi không muốn nhận tin nữa", KW_OPT_OUT},
    {"toi ko muon nhan tin nua", KW_OPT_OUT},
    {"tôi k muốn nhận tin nữa", KW_OPT_OUT},
    {"Không nhận tin nữa", KW_OPT_OUT},
    {"khong nhan tin nua", KW_OPT_OUT},
    {"ko nhan tin nua", KW_OPT_OUT},
    {"Từ chối nhận tin", KW_OPT_OUT},
    {"tu choi nhan tin nhan", KW_OPT_OUT},
    {"Tôi từ chối nhận tin nhắn từ BHXH", KW_OPT_OUT},
    {"Từ chối nhận thông tin quảng cáo", KW_OPT_OUT},
    {"Đừng nhắn nữa", KW_OPT_OUT},
    {"dung nhan nua", KW_OPT_OUT},
    {"Đừng nhắn tin nữa", KW_OPT_OUT},
    {"Làm ơn đừng nhắn tin cho tôi nữa", KW_OPT_OUT},
    {"Xin đừng gửi tin cho tôi nữa", KW_OPT_OUT},
    {"Làm ơn đừng gửi tin nữa", KW_OPT_OUT},
    {"Ngừng gửi tin nhắn", KW_OPT_OUT},
    {"ngung gui tin", KW_OPT_OUT},
    {"Bỏ số tôi khỏi danh sách", KW_OPT_OUT},
    {"bo so toi khoi danh sach", KW_OPT_OUT},
    {"Bỏ số tôi khỏi danh sách gửi tin", KW_OPT_OUT},
    {"Xóa số tôi đi", KW_OPT_OUT},
    {"Đừng làm phiền tôi nữa", KW_OPT_OUT},
    {"dung lam phien", KW_OPT_OUT},
    {"Tôi không cần nhận tin này", KW_OPT_OUT},
    {"Không muốn nhận nữa", KW_OPT_OUT},
    {"Hủy nhận tin", KW_OPT_OUT},
    {"HUY NHAN TIN", KW_OPT_OUT},
    {"Tôi muốn hủy đăng ký nhận tin", KW_OPT_OUT},
    {"Dừng nhận tin", KW_OPT_OUT},
    {"Ngừng nhận tin nhắn", KW_OPT_OUT},
    {"Cảm ơn, nhưng tôi không muốn nhận tin nữa", KW_OPT_OUT},
    {"Tôi đã có BHXH rồi, không nhận tin nữa", KW_OPT_OUT},
    {"Chào anh, em không muốn nhận thông tin này", KW_OPT_OUT},
    /* opt_out: Telex and VNI leftovers */
    {"tuwf choois", KW_OPT_OUT},
    {"Tuwf choois", KW_OPT_OUT},
    {"tu2 cho6i", KW_OPT_OUT},
    {"tu72 cho61i", KW_OPT_OUT},
    {"tu72 cho6i1", KW_OPT_OUT},
    {"huyr", KW_OPT_OUT},
    {"huy3", KW_OPT_OUT},
    {"duwngf", KW_OPT_OUT},
    {"dduwngf", KW_OTHER},
    {"du72ng", KW_OPT_OUT},
    {"dung72", KW_OPT_OUT},
    {"ngwngf", KW_OTHER},
    {"khoong nhaanj tin nuwax", KW_OPT_OUT},
    {"khong muoons nhaanj tin", KW_OPT_OUT},
    /* not a stop: names, yes, thanks, greetings */
    {"Đúng", KW_OTHER},
    {"đúng", KW_OTHER},
    {"ĐÚNG", KW_OTHER},
    {"Đúng rồi", KW_OTHER},
    {"Đúng ạ", KW_OTHER},
    {"Dũng", KW_OTHER},
    {"DŨNG", KW_OTHER},
    {"Dung", KW_OTHER},
    {"dung", KW_OTHER},
    {"DUNG", KW_OTHER},
    {"Dung a", KW_OTHER},
    {"Huy", KW_OTHER},
    {"huy", KW_OTHER},
    {"Huy đây", KW_OTHER},
    {"Huy day", KW_OTHER},
    {"Tôi là Huy", KW_OTHER},
    {"Em là Dũng", KW_OTHER},
    {"Dũng đây", KW_OTHER},
    {"Anh Dũng", KW_OTHER},
    {"Nguyễn Văn Huy", KW_OTHER},
    {"Trần Thị Dung", KW_OTHER},
    {"Lê Tiến Dũng", KW_OTHER},
    {"Huy chương", KW_OTHER},
    {"huy chuong", KW_OTHER},
    {"huy động", KW_OTHER},
    {"Hủy giúp tôi thẻ BHYT cũ", KW_OTHER},
    {"Hủy thẻ cũ giúp em", KW_OTHER},
    {"tôi không từ chối đâu", KW_OTHER},
    {"Tôi không hề từ chối nhận tin", KW_OTHER},
    {"Không, tôi không từ chối", KW_OTHER},
    {"Tôi chưa từ chối", KW_OTHER},
    {"Cảm ơn", KW_FEEDBACK},
    {"cảm ơn", KW_FEEDBACK},
    {"cam on", KW_FEEDBACK},
    {"Cám ơn", KW_FEEDBACK},
    {"Cảm ơn nhiều", KW_FEEDBACK},
    {"Thanks", KW_FEEDBACK},
    {"thank you", KW_FEEDBACK},
    {"ok", KW_OTHER},
    {"OK", KW_OTHER},
    {"Ok", KW_OTHER},
    {"okê", KW_OTHER},
    {"Oke", KW_OTHER},
    {"Vâng", KW_OTHER},
    {"vang", KW_OTHER},
    {"Dạ", KW_OTHER},
    {"Dạ vâng", KW_OTHER},
    {"Có", KW_OTHER},
    {"Không", KW_OTHER},
    {"khong", KW_OTHER},
    {"ko", KW_OTHER},
    {"k", KW_OTHER},
    {"Chào", KW_OTHER},
    {"Xin chào", KW_OTHER},
    {"Chào anh", KW_OTHER},
    {"Alo", KW_OTHER},
    {"Hello", KW_OTHER},
    {"Hi", KW_OTHER},
    {"Đã nhận", KW_OTHER},
    {"Đã nhận được tin", KW_OTHER},
    {"Tôi biết rồi", KW_OTHER},
    {"Được", KW_OTHER},
    {"Đồng ý với chính sách", KW_OTHER},
    {"Tôi đang bận", KW_OTHER},
    {"Để tôi suy nghĩ", KW_OTHER},
    {"Tôi sẽ đi đóng", KW_OTHER},
    {"Mai tôi lên xã", KW_OTHER},
    {"Tôi là nông dân", KW_OTHER},
    {"TCX", KW_OTHER},
    {"stopwatch", KW_OTHER},
    {"Stop by tomorrow", KW_OTHER},
    {"Trung tâm", KW_OTHER},
    {"Thanh Chương", KW_OTHER},
    {"T", KW_OTHER},
    {"C", KW_OTHER},
    {"", KW_OTHER},
    {"   ", KW_OTHER},
    {"...", KW_OTHER},
    {"😊", KW_OTHER},
    {"👍", KW_OTHER},
    {"123", KW_OTHER},
    {"0912345678", KW_OTHER},
    {"\xff\xfe garbage", KW_OTHER},
    {"Tín chỉ", KW_OTHER},
    /* questions: a stop word inside a question is no stop */
    {"TC có mất tiền không?", KW_QUESTION},
    {"TC có mất tiền không", KW_QUESTION},
    {"Từ chối có sao không?", KW_QUESTION},
    {"Nếu tôi từ chối thì sao?", KW_QUESTION},
    {"Hủy rồi có đăng ký lại được không", KW_QUESTION},
    {"Dừng đóng thì có mất tiền không", KW_QUESTION},
    {"Làm sao để không nhận tin nhắn nữa?", KW_QUESTION},
    {"Tại sao tôi nhận được tin này", KW_QUESTION},
    {"Huy co the dong BHXH khong？", KW_QUESTION},
    {"Dũng hỏi mức đóng bao nhiêu", KW_QUESTION},
    {"TC?", KW_QUESTION},
    {"STOP?", KW_QUESTION},
    {"Dừng lại?", KW_QUESTION},
    {"Sao không nhận tin nữa", KW_QUESTION},
    {"Đừng nhắn nữa được không", KW_QUESTION},
    /* questions about voluntary BHXH */
    {"Mức đóng thấp nhất là bao nhiêu?", KW_QUESTION},
    {"Bao nhiêu tiền một tháng", KW_QUESTION},
    {"bao nhieu tien 1 thang", KW_QUESTION},
    {"Đóng bao nhiêu", KW_QUESTION},
    {"Hỏi về BHXH tự nguyện", KW_QUESTION},
    {"hỏi về mức đóng", KW_QUESTION},
    {"Cho hỏi hạn đóng khi nào", KW_QUESTION},
    {"cho hoi han dong khi nao", KW_QUESTION},
    {"Xin hỏi tôi được hỗ trợ không", KW_QUESTION},
    {"Làm sao để đóng tiền", KW_QUESTION},
    {"lam sao de dong tien", KW_QUESTION},
    {"Đăng ký ở đâu?", KW_QUESTION},
    {"dang ky o dau", KW_QUESTION},
    {"DK thế nào?", KW_QUESTION},
    {"DK the nao", KW_QUESTION},
    {"?", KW_QUESTION},
    {"??", KW_QUESTION},
    {"Tôi được hỗ trợ bao nhiêu phần trăm", KW_QUESTION},
    {"Đóng như thế nào", KW_QUESTION},
    {"Đóng ở đâu", KW_QUESTION},
    {"Đóng qua VssID được không", KW_QUESTION},
    {"VssID là gì", KW_QUESTION},
    {"Tôi muốn hỏi về lương hưu", KW_QUESTION},
    {"Khi nào thì được nhận lương hưu", KW_QUESTION},
    {"Bao giờ hết hạn", KW_QUESTION},
    {"Tôi đã đóng đủ chưa", KW_QUESTION},
    {"Tôi đóng được bao nhiêu năm rồi nhỉ", KW_QUESTION},
    {"Có phải đóng hằng tháng không", KW_QUESTION},
    {"Hộ nghèo được hỗ trợ bao nhiêu", KW_QUESTION},
    {"Người dân tộc được hỗ trợ mấy phần trăm", KW_QUESTION},
    {"mức đóng BHXH tự nguyện là bao nhiêu vậy ạ", KW_QUESTION},
    {"muc dong bhxh tu nguyen la bao nhieu", KW_QUESTION},
    {"Em 50 tuổi rồi có tham gia được không ạ", KW_QUESTION},
    {"Mẹ tôi 60 tuổi đóng được không", KW_QUESTION},
    {"Đóng một lần cho nhiều năm được không", KW_QUESTION},
    {"Có được rút một lần không", KW_QUESTION},
    {"Thẻ BHYT có được cấp không", KW_QUESTION},
    {"Tham gia có lợi gì", KW_QUESTION},
    {"Quyền lợi là gì", KW_QUESTION},
    {"Tôi ở xa thì đóng ở đâu", KW_QUESTION},
    {"Đóng tiền qua ngân hàng được không", KW_QUESTION},
    {"Sao tôi chưa thấy tiền hỗ trợ", KW_QUESTION},
    {"Ai là người thu tiền", KW_QUESTION},
    {"Số tổng đài là bao nhiêu", KW_QUESTION},
    {"Tin nhắn này có phải lừa đảo không", KW_QUESTION},
    {"Có phải BHXH nhắn không", KW_QUESTION},
    {"Đây là số của ai vậy?", KW_QUESTION},
    {"Thủ tục thế nào", KW_QUESTION},
    {"Giấy tờ cần những gì", KW_QUESTION},
    {"Quên mật khẩu VssID thì làm sao", KW_QUESTION},
    {"Có cần mang CCCD không", KW_QUESTION},
    {"Đóng theo quý được không", KW_QUESTION},
    {"cho toi hoi muc dong", KW_QUESTION},
    {"xin hoi ve bhxh tu nguyen", KW_QUESTION},
    {"Cho em hỏi chút", KW_QUESTION},
    {"Tôi thất nghiệp rồi thì đóng thế nào", KW_QUESTION},
    {"Tôi có được hỗ trợ không ạ", KW_QUESTION},
    {"Chưa đủ 15 năm thì sao", KW_QUESTION},
    {"Đóng trễ có bị phạt không", KW_QUESTION},
    {"Nghỉ đóng một thời gian có sao không", KW_QUESTION},
    /* opt_in: back on the list */
    {"DK", KW_OPT_IN},
    {"dk", KW_OPT_IN},
    {"D K", KW_OPT_IN},
    {"Dk.", KW_OPT_IN},
    {"DK nhé", KW_OPT_IN},
    {"DK nhận tin", KW_OPT_IN},
    {"Đăng ký nhận tin", KW_OPT_IN},
    {"dang ky nhan tin", KW_OPT_IN},
    {"Tôi muốn đăng ký nhận tin lại", KW_OPT_IN},
    {"Đăng ký lại", KW_OPT_IN},
    {"START", KW_OPT_IN},
    {"Cho tôi nhận lại tin", KW_OPT_IN},
    {"Tôi muốn nhận lại tin nhắn", KW_OPT_IN},
    {"Tôi muốn nhận tin về BHXH", KW_OPT_IN},
    /* register: interest, a call-back */
    {"Đăng ký", KW_REGISTER},
    {"dang ky", KW_REGISTER},
    {"ĐĂNG KÝ", KW_REGISTER},
    {"Đăng ký ạ", KW_REGISTER},
    {"Quan tâm", KW_REGISTER},
    {"quan tam", KW_REGISTER},
    {"Tôi quan tâm", KW_REGISTER},
    {"Tôi rất quan tâm", KW_REGISTER},
    {"Đồng ý", KW_REGISTER},
    {"dong y", KW_REGISTER},
    {"Tôi muốn tham gia BHXH tự nguyện", KW_REGISTER},
    {"toi muon tham gia", KW_REGISTER},
    {"Tôi muốn đăng ký tham gia BHXH tự nguyện", KW_REGISTER},
    {"Muốn đăng ký cho mẹ tôi", KW_REGISTER},
    {"Cần tư vấn", KW_REGISTER},
    {"Tư vấn cho tôi với", KW_REGISTER},
    {"Gọi lại cho tôi", KW_REGISTER},
    {"goi lai cho toi", KW_REGISTER},
    {"Gọi cho tôi vào buổi chiều", KW_REGISTER},
    {"Liên hệ lại với tôi", KW_REGISTER},
    {"Nhờ cán bộ liên hệ với tôi", KW_REGISTER},
    {"Tôi muốn tham gia cho cả vợ", KW_REGISTER},
    /* register negated is no register */
    {"Tôi không quan tâm", KW_OTHER},
    {"Không quan tâm", KW_OTHER},
    {"Chưa muốn tham gia", KW_OTHER},
    /* feedback and complaints */
    {"Nhắn nhầm số rồi", KW_FEEDBACK},
    {"Sai số rồi", KW_FEEDBACK},
    {"Sai tên rồi, tôi không phải Hoa", KW_FEEDBACK},
    {"Không phải tôi", KW_FEEDBACK},
    {"Đây là lừa đảo", KW_FEEDBACK},
    {"Spam", KW_FEEDBACK},
    {"Làm phiền quá", KW_FEEDBACK},
    {"Nhắn nhiều làm phiền", KW_FEEDBACK},
    {"Phiền quá", KW_FEEDBACK},
    {"Tôi muốn khiếu nại", KW_FEEDBACK},
    {"Tôi muốn phản ánh cán bộ thu", KW_FEEDBACK},
    {"Góp ý: tin nhắn quá dài", KW_FEEDBACK},
    {"Quá nhiều tin nhắn", KW_FEEDBACK},
    {"Tôi đã đóng rồi", KW_FEEDBACK},
    {"toi da dong roi", KW_FEEDBACK},
    {"Tôi đã tham gia rồi", KW_FEEDBACK},
    {"Sai thông tin ngày sinh", KW_FEEDBACK},
    {"Cảm ơn cán bộ đã nhắc, tôi đã đóng rồi", KW_FEEDBACK},
    /* long messages */
    {"Chào anh chị, tôi là Nguyễn Văn Dũng ở xã Tân Phú, tôi đã nhận được tin nhắn về bảo hiểm xã hội tự nguyện, tôi đang làm nông và thu nhập không ổn định", KW_OTHER},
    {"Tôi năm nay 45 tuổi, làm thợ may tự do, muốn biết nếu tham gia BHXH tự nguyện thì mỗi tháng đóng bao nhiêu và được nhà nước hỗ trợ thế nào", KW_QUESTION},
    {"Cảm ơn BHXH đã nhắc nhở, gia đình tôi sẽ sắp xếp đi đóng trong tháng này", KW_OTHER},
    {"Tôi đã nhiều lần nói là không muốn nhận tin nhắn nữa mà vẫn gửi, đừng nhắn nữa", KW_OPT_OUT},
    {"Huy đây, anh Dũng bảo em nhắn lại là em đã nhận được tin rồi nhé, cảm ơn", KW_OTHER},
    {"Tôi tên Huy, năm nay 30 tuổi, muốn tham gia BHXH tự nguyện", KW_REGISTER},
};

static struct kw_table *shipped;

static int setup(void **state)
{
    const char *url = getenv("LOA_TEST_DB_URL");
    if (!url || !*url) {
        fprintf(stderr, "LOA_TEST_DB_URL is not set: this test needs a database\n");
        return -1;
    }
    char err[512];
    int applied, skipped;
    PGconn *db = db_connect(url, err, sizeof err);
    PGresult *r = db && db_migrate(db, &applied, err, sizeof err) == 0
        ? db_query(db, err, sizeof err, KW_TABLE_SQL, 0, NULL) : NULL;
    if (!r) {
        fprintf(stderr, "%s\n", err);
        if (db)
            PQfinish(db);
        return -1;
    }
    shipped = kw_table_from_result(r, &skipped);
    PQclear(r);
    PQfinish(db);
    if (!shipped || skipped != 0 || kw_table_count(shipped) < 100) {
        fprintf(stderr, "the shipped table: %zu keywords, %d skipped\n", kw_table_count(shipped), skipped);
        return -1;
    }
    return 0;
}

static int teardown(void **state)
{
    kw_table_free(shipped);
    return 0;
}

static void test_keywords_shipped_table_reads_300_replies_right(void **state)
{
    size_t n = sizeof cases / sizeof cases[0];
    assert_true(n >= 300);
    int bad = 0;
    for (size_t i = 0; i < n; i++) {
        enum kw_intent got = kw_classify(shipped, cases[i].text);
        if (got != cases[i].want) {
            print_error("'%s': got %s, expected %s\n", cases[i].text, kw_intent_name(got),
                        kw_intent_name(cases[i].want));
            bad++;
        }
    }
    assert_int_equal(bad, 0);
}

static void expect_words(const char *text, bool decode, const char *canon, const char *plain)
{
    struct kw_text *t = malloc(sizeof *t);
    assert_non_null(t);
    kw_text_parse(text, decode, t);
    char c[512] = "", p[512];
    for (unsigned i = 0; i < t->n; i++)
        snprintf(c + strlen(c), sizeof c - strlen(c), "%s%s", i ? " " : "", t->canon[i]);
    kw_text_plain(t, p, sizeof p);
    free(t);
    assert_string_equal(c, canon);
    assert_string_equal(p, plain);
}

static void test_keywords_normalise_tone_shape_case_and_leftovers(void **state)
{
    /* Where the tone mark sits does not matter: hủy (old style) and huỷ (new style) agree. */
    expect_words("hủy", false, "huy_3", "huy");
    expect_words("huỷ", false, "huy_3", "huy");
    expect_words("HUỶ", false, "huy_3", "huy");
    /* Decomposed input (NFD) reads as composed. */
    expect_words("hu\xcc\x89y", false, "huy_3", "huy");
    expect_words("  Từ   Chối!! Đăng-ký? ", false, "tư_2 chôi_1 đăng ky_1", "tu choi dang ky");
    expect_words("ĐƯỢC HỖ TRỢ", false, "đươc_5 hô_4 trơ_5", "duoc ho tro");
    expect_words("ＴＣ", false, "tc", "tc");
    expect_words("k ko kg", false, "không không không", "khong khong khong");
    /* Telex and VNI only when asked, and only for the words that hold them. */
    expect_words("tuwf choois", false, "tuwf choois", "tuwf choois");
    expect_words("tuwf choois", true, "tư_2 chôi_1", "tu choi");
    expect_words("tu72 cho61i", true, "tư_2 chôi_1", "tu choi");
    expect_words("dduwowngf", true, "đương_2", "duong");
    expect_words("duowngf", true, "dương_2", "duong");
    expect_words("nguowif", true, "ngươi_2", "nguoi");
    expect_words("BHXH 2025 ok", true, "bhxh 2025 ok", "bhxh 2025 ok");
    /* Bytes that are not UTF-8 break words; the rest is read. */
    expect_words("\xff" "TC\xfe" "bhxh", false, "tc bhxh", "tc bhxh");
    expect_words("", false, "", "");
    expect_words(NULL, false, "", "");
}

static void test_keywords_accent_rules_decide_what_unaccented_text_matches(void **state)
{
    struct kw_table *t = kw_table_new();
    assert_non_null(t);
    assert_int_equal(kw_table_add(t, "dừng", KW_OPT_OUT, KW_WHOLE, KW_EXACT), 0);
    assert_int_equal(kw_table_add(t, "hủy", KW_OPT_OUT, KW_WHOLE, KW_CAPS), 0);
    assert_int_equal(kw_table_add(t, "tu choi", KW_OPT_OUT, KW_WHOLE, KW_ANY), 0);
    assert_int_equal(kw_table_add(t, "không muốn nhận tin", KW_OPT_OUT, KW_PHRASE, KW_ANY), 0);
    assert_int_equal(kw_table_add(t, "?!", KW_OPT_OUT, KW_WHOLE, KW_ANY), -1);  /* no word */
    assert_int_equal(kw_table_add(t, "x", KW_OTHER, KW_WHOLE, KW_ANY), -1);     /* no intent */
    assert_int_equal(kw_table_count(t), 4);
    assert_int_equal(kw_classify(t, "Dừng"), KW_OPT_OUT);
    assert_int_equal(kw_classify(t, "dung"), KW_OTHER);      /* exact: the marks must be there */
    assert_int_equal(kw_classify(t, "DUNG"), KW_OTHER);
    assert_int_equal(kw_classify(t, "đúng"), KW_OTHER);
    assert_int_equal(kw_classify(t, "HUY"), KW_OPT_OUT);     /* caps: capitals stand for the marks */
    assert_int_equal(kw_classify(t, "Huy"), KW_OTHER);
    assert_int_equal(kw_classify(t, "huỷ"), KW_OPT_OUT);
    assert_int_equal(kw_classify(t, "Từ chối"), KW_OPT_OUT); /* any: the marks do not matter */
    assert_int_equal(kw_classify(t, "TUCHOI"), KW_OPT_OUT);
    /* A phrase: anywhere, not negated, not across a full stop, never in a question. */
    assert_int_equal(kw_classify(t, "tôi không muốn nhận tin nữa"), KW_OPT_OUT);
    assert_int_equal(kw_classify(t, "chẳng phải không muốn nhận tin"), KW_OTHER);
    assert_int_equal(kw_classify(t, "Tôi không muốn. Nhận tin thì được"), KW_OTHER);
    assert_int_equal(kw_classify(t, "sao lại không muốn nhận tin?"), KW_QUESTION);
    /* A table without the keyword reads nothing into the message: the table decides. */
    kw_table_free(t);
    t = kw_table_new();
    assert_int_equal(kw_classify(t, "TC"), KW_OTHER);
    assert_int_equal(kw_table_add(t, "TC", KW_OPT_OUT, KW_WHOLE, KW_ANY), 0);
    assert_int_equal(kw_classify(t, "t.c"), KW_OPT_OUT);
    kw_table_free(t);
    assert_int_equal(kw_classify(NULL, "TC"), KW_OTHER);
}

static void test_keywords_long_and_null_input(void **state)
{
    assert_int_equal(kw_classify(shipped, NULL), KW_OTHER);
    size_t len = 20000;
    char *s = malloc(len + 1);
    assert_non_null(s);
    const char *head = "Tôi không muốn nhận tin ";
    memcpy(s, head, strlen(head));
    for (size_t i = strlen(head); i < len; i++)
        s[i] = i % 7 ? 'a' : ' ';
    s[len] = '\0';
    /* Read by its beginning, without overflow. */
    assert_int_equal(kw_classify(shipped, s), KW_OPT_OUT);
    memset(s, 'x', len);
    assert_int_equal(kw_classify(shipped, s), KW_OTHER);
    for (size_t i = 0; i < len; i++)
        s[i] = (char)(0x80 | (i & 0x3f));
    assert_int_equal(kw_classify(shipped, s), KW_OTHER);
    free(s);
}

static void test_keywords_intent_names_are_the_schema_values(void **state)
{
    const char *names[] = {"other", "opt_out", "opt_in", "register", "question", "feedback"};
    for (int i = 0; i < KW_NINTENTS; i++) {
        assert_string_equal(kw_intent_name((enum kw_intent)i), names[i]);
        assert_int_equal(kw_intent_parse(names[i]), i);
    }
    assert_int_equal(kw_intent_parse("stop"), -1);
    assert_int_equal(kw_match_parse("phrase"), KW_PHRASE);
    assert_int_equal(kw_accents_parse("caps"), KW_CAPS);
    assert_int_equal(kw_accents_parse("CAPS"), -1);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_keywords_shipped_table_reads_300_replies_right),
        cmocka_unit_test(test_keywords_normalise_tone_shape_case_and_leftovers),
        cmocka_unit_test(test_keywords_accent_rules_decide_what_unaccented_text_matches),
        cmocka_unit_test(test_keywords_long_and_null_input),
        cmocka_unit_test(test_keywords_intent_names_are_the_schema_values),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
