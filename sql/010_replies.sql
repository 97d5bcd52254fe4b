-- Understanding citizens' replies from tables, not code: the keyword table that reads a reply
-- (campaigns/keywords.c) and the bank of standard questions and answers (campaigns/faq.c).
-- Owned by campaigns/ (keywords.c, faq.c) and cli/ (cmd_keywords.c, cmd_faq.c).

-- The intents of replies are the intents of the keyword table (contract.md: `loa keywords`),
-- plus 'other' for what no keyword reads (the citizen gets the help text that says how to stop).
ALTER TABLE replies DROP CONSTRAINT IF EXISTS replies_intent_check;
UPDATE replies SET intent = 'opt_out' WHERE intent = 'stop';
UPDATE replies SET intent = 'question' WHERE intent = 'ask';
ALTER TABLE replies ADD CONSTRAINT replies_intent_check
    CHECK (intent IN ('opt_out','opt_in','register','question','feedback','other'));

-- A keyword: a text, the intent it carries, and how it matches (campaigns/keywords.h):
--   match   'whole' the message is the keyword, polite words around it aside ("Từ chối ạ");
--           'phrase' the words anywhere, not negated ("tôi không muốn nhận tin nữa");
--           'start' / 'end' the message begins / ends with them (question words).
--   accents 'exact' the marks must be typed ("dừng": "dung" may be đúng or Dũng);
--           'any' the keyword is unambiguous without marks ("tu choi");
--           'caps' exact, or without marks when the whole message is in capitals ("HUY").
CREATE TABLE reply_keywords (
    id          bigserial PRIMARY KEY,
    text        text NOT NULL CHECK (length(text) BETWEEN 1 AND 200),
    intent      text NOT NULL CHECK (intent IN ('opt_out','opt_in','register','question','feedback')),
    match       text NOT NULL DEFAULT 'whole' CHECK (match IN ('whole','phrase','start','end')),
    accents     text NOT NULL DEFAULT 'exact' CHECK (accents IN ('exact','any','caps')),
    note        text,
    created_at  timestamptz NOT NULL DEFAULT now(),
    UNIQUE (text, match)
);

INSERT INTO reply_keywords (text, intent, match, accents, note) VALUES
    -- Opting out: the keyword alone.
    ('TC',               'opt_out', 'whole', 'any',   'the SMS keyword: từ chối'),
    ('TC BHXH',          'opt_out', 'whole', 'any',   NULL),
    ('từ chối',          'opt_out', 'whole', 'any',   NULL),
    ('từ chối nhận',     'opt_out', 'whole', 'any',   NULL),
    ('hủy',              'opt_out', 'whole', 'caps',  '"Huy" is a name: unaccented only in capitals'),
    ('hủy đăng ký',      'opt_out', 'whole', 'caps',  NULL),
    ('hủy tin',          'opt_out', 'whole', 'caps',  NULL),
    ('STOP',             'opt_out', 'whole', 'any',   NULL),
    ('unsubscribe',      'opt_out', 'whole', 'any',   NULL),
    ('dừng',             'opt_out', 'whole', 'exact', '"dung" may be đúng (yes) or Dũng (a name)'),
    ('dừng lại',         'opt_out', 'whole', 'any',   NULL),
    ('đừng gửi',         'opt_out', 'whole', 'any',   NULL),
    ('ngừng',            'opt_out', 'whole', 'any',   NULL),
    ('ngừng lại',        'opt_out', 'whole', 'any',   NULL),
    ('không nhận',       'opt_out', 'whole', 'any',   NULL),
    ('không nhận tin',   'opt_out', 'whole', 'any',   NULL),
    ('không nhận nữa',   'opt_out', 'whole', 'any',   NULL),
    -- Opting out: a phrase that is itself a request to stop, anywhere in the message.
    ('từ chối nhận tin',          'opt_out', 'phrase', 'any',   NULL),
    ('không nhận tin nữa',        'opt_out', 'phrase', 'any',   NULL),
    ('không nhận tin nhắn nữa',   'opt_out', 'phrase', 'any',   NULL),
    ('không muốn nhận tin',       'opt_out', 'phrase', 'any',   NULL),
    ('không muốn nhận nữa',       'opt_out', 'phrase', 'any',   NULL),
    ('không muốn nhận thông tin', 'opt_out', 'phrase', 'any',   NULL),
    ('không cần nhận tin',        'opt_out', 'phrase', 'any',   NULL),
    ('không cần gửi tin',         'opt_out', 'phrase', 'any',   NULL),
    ('đừng nhắn nữa',             'opt_out', 'phrase', 'any',   NULL),
    ('đừng nhắn tin nữa',         'opt_out', 'phrase', 'any',   NULL),
    ('đừng nhắn tin cho tôi',     'opt_out', 'phrase', 'any',   NULL),
    ('đừng gửi tin',              'opt_out', 'phrase', 'any',   '"dung gui tin" is dừng or đừng: a stop either way'),
    ('đừng gửi nữa',              'opt_out', 'phrase', 'any',   NULL),
    ('ngừng gửi',                 'opt_out', 'phrase', 'any',   NULL),
    ('ngừng nhắn',                'opt_out', 'phrase', 'any',   NULL),
    ('ngừng nhận tin',            'opt_out', 'phrase', 'any',   NULL),
    ('dừng nhận tin',             'opt_out', 'phrase', 'exact', '"dung nhan tin" may be "đúng, nhận tin"'),
    ('dừng nhắn tin',             'opt_out', 'phrase', 'exact', NULL),
    ('đừng làm phiền',            'opt_out', 'phrase', 'any',   NULL),
    ('bỏ số tôi khỏi danh sách',  'opt_out', 'phrase', 'any',   NULL),
    ('xóa số tôi',                'opt_out', 'phrase', 'any',   NULL),
    ('xóa số điện thoại của tôi', 'opt_out', 'phrase', 'any',   NULL),
    ('hủy nhận tin',              'opt_out', 'phrase', 'caps',  NULL),
    ('hủy đăng ký nhận tin',      'opt_out', 'phrase', 'caps',  NULL),
    ('từ chối nhận thông tin',    'opt_out', 'phrase', 'any',   NULL),
    -- Opting back in ("soạn DK để nhận lại" in the opt-out confirmation).
    ('DK',                        'opt_in', 'whole',  'any',   'named in the opt-out confirmation'),
    ('DK nhận tin',               'opt_in', 'whole',  'any',   NULL),
    ('đăng ký lại',               'opt_in', 'whole',  'any',   NULL),
    ('START',                     'opt_in', 'whole',  'any',   NULL),
    ('đăng ký nhận tin',          'opt_in', 'phrase', 'any',   NULL),
    ('nhận lại tin',              'opt_in', 'phrase', 'any',   NULL),
    ('muốn nhận lại tin',         'opt_in', 'phrase', 'any',   NULL),
    ('muốn nhận tin',             'opt_in', 'phrase', 'any',   NULL),
    ('cho nhận tin lại',          'opt_in', 'phrase', 'any',   NULL),
    -- Interest: put the citizen on the officers' call-back list.
    ('đăng ký',                   'register', 'whole',  'any', NULL),
    ('quan tâm',                  'register', 'phrase', 'any', NULL),
    ('đồng ý',                    'register', 'whole',  'any', NULL),
    ('muốn tham gia',             'register', 'phrase', 'any', NULL),
    ('đăng ký tham gia',          'register', 'phrase', 'any', NULL),
    ('muốn đăng ký',              'register', 'phrase', 'any', NULL),
    ('cần tư vấn',                'register', 'phrase', 'any', NULL),
    ('tư vấn cho tôi',            'register', 'phrase', 'any', NULL),
    ('tư vấn giúp',               'register', 'phrase', 'any', NULL),
    ('gọi lại cho tôi',           'register', 'phrase', 'any', NULL),
    ('gọi cho tôi',               'register', 'phrase', 'any', NULL),
    ('liên hệ lại',               'register', 'phrase', 'any', NULL),
    ('liên hệ với tôi',           'register', 'phrase', 'any', NULL),
    -- Questions: besides any message with a question mark.
    ('cho hỏi',                   'question', 'phrase', 'any',   NULL),
    ('xin hỏi',                   'question', 'phrase', 'any',   NULL),
    ('muốn hỏi',                  'question', 'phrase', 'any',   NULL),
    ('cho tôi hỏi',               'question', 'phrase', 'any',   NULL),
    ('cho em hỏi',                'question', 'phrase', 'any',   NULL),
    ('cho mình hỏi',              'question', 'phrase', 'any',   NULL),
    ('ai',                        'question', 'start',  'any',   '"ai là người thu tiền"'),
    ('hỏi',                       'question', 'start',  'any',   NULL),
    ('bao nhiêu',                 'question', 'phrase', 'any',   NULL),
    ('như thế nào',               'question', 'phrase', 'any',   NULL),
    ('thế nào',                   'question', 'phrase', 'any',   NULL),
    ('làm sao',                   'question', 'phrase', 'any',   NULL),
    ('tại sao',                   'question', 'phrase', 'any',   NULL),
    ('vì sao',                    'question', 'phrase', 'any',   NULL),
    ('khi nào',                   'question', 'phrase', 'any',   NULL),
    ('bao giờ',                   'question', 'phrase', 'any',   NULL),
    ('ở đâu',                     'question', 'phrase', 'any',   NULL),
    ('chỗ nào',                   'question', 'phrase', 'any',   NULL),
    ('là gì',                     'question', 'phrase', 'any',   NULL),
    ('được không',                'question', 'phrase', 'any',   NULL),
    ('có phải',                   'question', 'start',  'any',   NULL),
    ('sao',                       'question', 'start',  'any',   NULL),
    ('sao',                       'question', 'end',    'any',   '"… thì sao"'),
    ('không',                     'question', 'end',    'any',   '"… có mất tiền không"'),
    ('chưa',                      'question', 'end',    'any',   '"tôi đã đóng đủ chưa"'),
    ('gì',                        'question', 'end',    'exact', NULL),
    ('nhỉ',                       'question', 'end',    'exact', NULL),
    ('hả',                        'question', 'end',    'exact', NULL),
    ('mấy',                       'question', 'phrase', 'exact', NULL),
    -- Feedback and complaints, for an officer to read.
    ('cảm ơn',                    'feedback', 'whole',  'any', 'thanks need no help text'),
    ('cám ơn',                    'feedback', 'whole',  'any', NULL),
    ('cảm ơn nhiều',              'feedback', 'whole',  'any', NULL),
    ('thanks',                    'feedback', 'whole',  'any', NULL),
    ('thank you',                 'feedback', 'whole',  'any', NULL),
    ('làm phiền',                 'feedback', 'phrase', 'any', NULL),
    ('phiền quá',                 'feedback', 'phrase', 'any', NULL),
    ('spam',                      'feedback', 'phrase', 'any', NULL),
    ('lừa đảo',                   'feedback', 'phrase', 'any', NULL),
    ('nhầm số',                   'feedback', 'phrase', 'any', NULL),
    ('sai số',                    'feedback', 'phrase', 'any', NULL),
    ('sai tên',                   'feedback', 'phrase', 'any', NULL),
    ('sai thông tin',             'feedback', 'phrase', 'any', NULL),
    ('không phải tôi',            'feedback', 'phrase', 'any', NULL),
    ('khiếu nại',                 'feedback', 'phrase', 'any', NULL),
    ('phản ánh',                  'feedback', 'phrase', 'any', NULL),
    ('góp ý',                     'feedback', 'phrase', 'any', NULL),
    ('quá nhiều tin',             'feedback', 'phrase', 'any', NULL),
    ('đã đóng rồi',               'feedback', 'phrase', 'any', NULL),
    ('đã tham gia rồi',           'feedback', 'phrase', 'any', NULL);

-- The bank of standard questions and answers. A reply is matched on the unaccented words of
-- the question (campaigns/faq.h); a confident match is answered with ANSWER.
CREATE TABLE faq (
    id          bigserial PRIMARY KEY,
    question    text NOT NULL UNIQUE CHECK (length(question) BETWEEN 1 AND 500),
    answer      text NOT NULL CHECK (length(answer) BETWEEN 1 AND 1000),
    created_at  timestamptz NOT NULL DEFAULT now(),
    updated_at  timestamptz NOT NULL DEFAULT now()
);

-- The starter bank: voluntary social insurance as policies (003_policy.sql) holds it: 22% of
-- the chosen income, at least the rural poverty line of 1,500,000 VND; state support from
-- 1 July 2025 (Luật BHXH 41/2024/QH15) 50% poor, 40% near-poor, 30% ethnic minority, 20% other.
INSERT INTO faq (question, answer) VALUES
    ('Mức đóng BHXH tự nguyện thấp nhất là bao nhiêu một tháng?',
     'Mức đóng BHXH tự nguyện bằng 22% thu nhập bạn chọn, thấp nhất theo chuẩn nghèo nông thôn 1.500.000đ/tháng, tức 330.000đ/tháng trước khi Nhà nước hỗ trợ.'),
    ('Đóng BHXH tự nguyện bao nhiêu tiền?',
     'Bạn đóng 22% mức thu nhập tự chọn, thấp nhất 1.500.000đ/tháng, tức từ 330.000đ/tháng; Nhà nước hỗ trợ 20% đến 50% tùy đối tượng.'),
    ('Nhà nước hỗ trợ bao nhiêu phần trăm tiền đóng BHXH tự nguyện?',
     'Từ 01/7/2025 (Luật BHXH 41/2024/QH15), Nhà nước hỗ trợ trên mức đóng theo chuẩn nghèo nông thôn: hộ nghèo 50%, hộ cận nghèo 40%, người dân tộc thiểu số 30%, người khác 20%.'),
    ('Hộ nghèo được hỗ trợ bao nhiêu?',
     'Người thuộc hộ nghèo được Nhà nước hỗ trợ 50% mức đóng theo chuẩn nghèo nông thôn: hỗ trợ 165.000đ, còn tự đóng 165.000đ/tháng.'),
    ('Hộ cận nghèo được hỗ trợ bao nhiêu?',
     'Người thuộc hộ cận nghèo được hỗ trợ 40%: hỗ trợ 132.000đ, còn tự đóng từ 198.000đ/tháng.'),
    ('Người dân tộc thiểu số được hỗ trợ đóng bao nhiêu?',
     'Người dân tộc thiểu số được hỗ trợ 30% mức đóng theo chuẩn nghèo nông thôn: hỗ trợ 99.000đ, còn tự đóng từ 231.000đ/tháng.'),
    ('Người bình thường được nhà nước hỗ trợ bao nhiêu tiền?',
     'Người không thuộc hộ nghèo, cận nghèo hay dân tộc thiểu số được hỗ trợ 20%: 66.000đ, còn tự đóng từ 264.000đ/tháng.'),
    ('Đăng ký tham gia BHXH tự nguyện ở đâu, làm thế nào?',
     'Bạn đăng ký tại đại lý thu BHXH ở xã, phường, tại cơ quan BHXH nơi cư trú, trên Cổng Dịch vụ công quốc gia hoặc ứng dụng VssID. Chỉ cần CCCD và tờ khai tham gia.'),
    ('Thủ tục đăng ký BHXH tự nguyện cần giấy tờ gì?',
     'Bạn cần căn cước công dân và tờ khai tham gia BHXH (mẫu TK1-TS); đại lý thu ở xã hoặc cơ quan BHXH sẽ hướng dẫn kê khai.'),
    ('Đóng tiền BHXH tự nguyện ở đâu?',
     'Bạn đóng tại đại lý thu BHXH ở xã, tại bưu điện, qua ứng dụng VssID, Cổng Dịch vụ công quốc gia hoặc ứng dụng ngân hàng, ví điện tử liên kết.'),
    ('Có thể đóng BHXH tự nguyện qua điện thoại không?',
     'Có. Bạn đóng qua ứng dụng VssID hoặc Cổng Dịch vụ công quốc gia bằng tài khoản ngân hàng hay ví điện tử.'),
    ('VssID là gì?',
     'VssID - Bảo hiểm xã hội số là ứng dụng chính thức của BHXH Việt Nam: xem quá trình đóng, thẻ BHYT, đóng tiền và làm thủ tục trực tuyến.'),
    ('Cài đặt và đăng nhập VssID như thế nào?',
     'Tải VssID trên App Store hoặc Google Play, đăng ký tài khoản bằng mã số BHXH và số điện thoại, hoặc đăng nhập bằng tài khoản định danh điện tử VNeID.'),
    ('Quên mật khẩu VssID thì làm sao?',
     'Trên màn hình đăng nhập VssID chọn "Quên mật khẩu", nhập mã số BHXH và email hoặc số điện thoại đã đăng ký để nhận mật khẩu mới.'),
    ('Tra cứu quá trình đóng BHXH ở đâu?',
     'Bạn xem quá trình đóng trên ứng dụng VssID (mục Quá trình tham gia) hoặc trên trang baohiemxahoi.gov.vn, mục Tra cứu.'),
    ('Có thể đóng theo tháng, quý hay năm không?',
     'Bạn chọn đóng hằng tháng, 3 tháng, 6 tháng, 12 tháng một lần, hoặc đóng một lần cho nhiều năm về sau.'),
    ('Bao nhiêu tuổi thì được tham gia BHXH tự nguyện?',
     'Công dân Việt Nam từ đủ 15 tuổi trở lên không thuộc diện BHXH bắt buộc đều được tham gia BHXH tự nguyện.'),
    ('Đóng BHXH tự nguyện bao nhiêu năm thì được hưởng lương hưu?',
     'Từ 01/7/2025, bạn có lương hưu khi đủ tuổi nghỉ hưu và đã đóng BHXH từ đủ 15 năm trở lên.'),
    ('Tham gia BHXH tự nguyện được hưởng quyền lợi gì?',
     'BHXH tự nguyện cho bạn lương hưu hằng tháng kèm thẻ BHYT miễn phí khi nghỉ hưu, trợ cấp tuất cho gia đình, và từ 01/7/2025 trợ cấp thai sản 2.000.000đ mỗi con.'),
    ('Có được chọn mức thu nhập để đóng không?',
     'Có. Bạn tự chọn mức thu nhập làm căn cứ đóng, thấp nhất 1.500.000đ/tháng; có thể đổi mức đóng khi cần.'),
    ('Nếu ngừng đóng BHXH tự nguyện thì có mất tiền đã đóng không?',
     'Không mất. Thời gian đã đóng được bảo lưu và cộng nối khi bạn đóng tiếp; đủ điều kiện thì được hưởng lương hưu.'),
    ('Hết hạn đóng BHXH tự nguyện thì phải làm gì?',
     'Bạn đóng tiếp kỳ sau tại đại lý thu, bưu điện hoặc qua VssID; nếu chậm, có thể đóng bù cho thời gian còn thiếu theo hướng dẫn của cơ quan BHXH.'),
    ('Số điện thoại tổng đài BHXH là bao nhiêu?',
     'Tổng đài hỗ trợ của BHXH Việt Nam: 1900 9068. Bạn cũng có thể nhắn câu hỏi cho số này, cán bộ sẽ trả lời.'),
    ('Tin nhắn này có phải lừa đảo không?',
     'Đây là tin nhắn của cơ quan BHXH. BHXH không bao giờ yêu cầu chuyển tiền vào tài khoản cá nhân hay cung cấp mật khẩu, mã OTP.'),
    ('Làm sao để không nhận tin nhắn nữa?',
     'Soạn TC gửi lại số này để từ chối nhận tin; soạn DK để nhận lại.');

-- Records a citizen's reply and acts on it in one transaction (replaces 004_engine.sql's, for
-- the intents of the keyword table). The citizen is found by phone (SMS) or by Zalo user id or
-- phone (Zalo); the campaign is the latest that sent them something. An 'opt_out' opts out
-- every citizen with that address from every channel and suppresses their waiting messages at
-- once; an 'opt_in' lifts the opt-outs that replies made (an officer's or an import's stays). A
-- reply already recorded (same gateway and external id) changes nothing. Returns the intent,
-- or 'duplicate'.
CREATE OR REPLACE FUNCTION loa_apply_reply(p_gateway text, p_channel text, p_from text, p_body text,
                                           p_external text, p_intent text, p_source text) RETURNS text
LANGUAGE sql AS $$
    WITH cz AS (
        SELECT c.id FROM citizens c
         WHERE c.phone = p_from OR (p_channel = 'zalo' AND c.zalo_user_id = p_from)
    ), last AS (
        SELECT m.campaign_id, m.citizen_id FROM messages m
         WHERE m.citizen_id IN (SELECT id FROM cz)
           AND m.state IN ('submitted', 'delivered', 'undelivered', 'in_doubt')
         ORDER BY m.submitted_at DESC NULLS LAST LIMIT 1
    ), ins AS (
        INSERT INTO replies (channel, gateway, external_id, from_addr, citizen_id, campaign_id, body, intent)
        SELECT p_channel, p_gateway, p_external, p_from,
               COALESCE((SELECT citizen_id FROM last), (SELECT min(id) FROM cz)),
               (SELECT campaign_id FROM last), p_body, p_intent
        ON CONFLICT (gateway, external_id) WHERE external_id IS NOT NULL DO NOTHING
        RETURNING id
    ), opt AS (
        INSERT INTO opt_outs (citizen_id, channel, source)
        SELECT cz.id, 'all', p_source FROM cz
         WHERE p_intent = 'opt_out' AND EXISTS (SELECT 1 FROM ins)
        ON CONFLICT (citizen_id, channel) DO NOTHING
        RETURNING 1
    ), lift AS (
        DELETE FROM opt_outs o
         WHERE p_intent = 'opt_in' AND EXISTS (SELECT 1 FROM ins)
           AND o.citizen_id IN (SELECT id FROM cz) AND o.source IN ('sms_reply', 'zalo_reply')
        RETURNING 1
    ), sup AS (
        UPDATE messages m SET state = 'suppressed', reason = 'opted out by reply', final_at = now()
         WHERE p_intent = 'opt_out' AND EXISTS (SELECT 1 FROM ins)
           AND m.citizen_id IN (SELECT id FROM cz) AND m.state IN ('pending', 'retry_wait')
        RETURNING 1
    )
    SELECT CASE WHEN EXISTS (SELECT 1 FROM ins) THEN p_intent ELSE 'duplicate' END
$$;
