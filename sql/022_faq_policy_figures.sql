-- The starter FAQ bank (010_replies.sql) wrote the policy figures out: 22%, 1.500.000đ,
-- 330.000đ, the support of each group. They are the figures of policies (003_policy.sql), and
-- a new decree is a new row there, which the bank did not follow. The answers that quote a
-- figure now name it as a placeholder of loa_policy_text() (sql/functions/60_answers.sql),
-- rendered from the policies valid on the day the bank is read. An answer an officer has
-- changed since is left as it is.
UPDATE faq f SET answer = n.answer, updated_at = now()
  FROM (VALUES
    ('Mức đóng BHXH tự nguyện bằng 22% thu nhập bạn chọn, thấp nhất theo chuẩn nghèo nông thôn 1.500.000đ/tháng, tức 330.000đ/tháng trước khi Nhà nước hỗ trợ.',
     'Mức đóng BHXH tự nguyện bằng {{contribution_pct}}% thu nhập bạn chọn, thấp nhất theo chuẩn nghèo nông thôn {{poverty_line_vnd}}/tháng, tức {{min_contribution_vnd}}/tháng trước khi Nhà nước hỗ trợ.'),
    ('Bạn đóng 22% mức thu nhập tự chọn, thấp nhất 1.500.000đ/tháng, tức từ 330.000đ/tháng; Nhà nước hỗ trợ 20% đến 50% tùy đối tượng.',
     'Bạn đóng {{contribution_pct}}% mức thu nhập tự chọn, thấp nhất {{poverty_line_vnd}}/tháng, tức từ {{min_contribution_vnd}}/tháng; Nhà nước hỗ trợ {{support_pct:other}}% đến {{support_pct:poor}}% tùy đối tượng.'),
    ('Từ 01/7/2025 (Luật BHXH 41/2024/QH15), Nhà nước hỗ trợ trên mức đóng theo chuẩn nghèo nông thôn: hộ nghèo 50%, hộ cận nghèo 40%, người dân tộc thiểu số 30%, người khác 20%.',
     'Từ {{policy_from}} ({{policy_source}}), Nhà nước hỗ trợ trên mức đóng theo chuẩn nghèo nông thôn: hộ nghèo {{support_pct:poor}}%, hộ cận nghèo {{support_pct:near_poor}}%, người dân tộc thiểu số {{support_pct:ethnic_minority}}%, người khác {{support_pct:other}}%.'),
    ('Người thuộc hộ nghèo được Nhà nước hỗ trợ 50% mức đóng theo chuẩn nghèo nông thôn: hỗ trợ 165.000đ, còn tự đóng 165.000đ/tháng.',
     'Người thuộc hộ nghèo được Nhà nước hỗ trợ {{support_pct:poor}}% mức đóng theo chuẩn nghèo nông thôn: hỗ trợ {{support_vnd:poor}}, còn tự đóng {{own_vnd:poor}}/tháng.'),
    ('Người thuộc hộ cận nghèo được hỗ trợ 40%: hỗ trợ 132.000đ, còn tự đóng từ 198.000đ/tháng.',
     'Người thuộc hộ cận nghèo được hỗ trợ {{support_pct:near_poor}}%: hỗ trợ {{support_vnd:near_poor}}, còn tự đóng từ {{own_vnd:near_poor}}/tháng.'),
    ('Người dân tộc thiểu số được hỗ trợ 30% mức đóng theo chuẩn nghèo nông thôn: hỗ trợ 99.000đ, còn tự đóng từ 231.000đ/tháng.',
     'Người dân tộc thiểu số được hỗ trợ {{support_pct:ethnic_minority}}% mức đóng theo chuẩn nghèo nông thôn: hỗ trợ {{support_vnd:ethnic_minority}}, còn tự đóng từ {{own_vnd:ethnic_minority}}/tháng.'),
    ('Người không thuộc hộ nghèo, cận nghèo hay dân tộc thiểu số được hỗ trợ 20%: 66.000đ, còn tự đóng từ 264.000đ/tháng.',
     'Người không thuộc hộ nghèo, cận nghèo hay dân tộc thiểu số được hỗ trợ {{support_pct:other}}%: {{support_vnd:other}}, còn tự đóng từ {{own_vnd:other}}/tháng.'),
    ('Có. Bạn tự chọn mức thu nhập làm căn cứ đóng, thấp nhất 1.500.000đ/tháng; có thể đổi mức đóng khi cần.',
     'Có. Bạn tự chọn mức thu nhập làm căn cứ đóng, thấp nhất {{poverty_line_vnd}}/tháng; có thể đổi mức đóng khi cần.')
  ) AS n(old, answer)
 WHERE f.answer = n.old;
