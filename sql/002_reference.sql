-- Reference data and the indexes segment counts need. Owned by segments/.

-- Target groups named by the provincial plans (domain.md). A citizen row holds one of these
-- codes; the filter field `group` compares against them.
INSERT INTO target_groups (code, label_vi, label_en) VALUES
    ('informal_worker',        'Lao động khu vực phi chính thức',                     'Informal-sector worker'),
    ('rural_worker',           'Lao động nông thôn',                                  'Rural worker'),
    ('farmer',                 'Nông dân',                                            'Farmer'),
    ('forester',               'Người làm lâm nghiệp',                                'Forester'),
    ('fisher',                 'Ngư dân',                                             'Fisher'),
    ('salt_worker',            'Diêm dân',                                            'Salt worker'),
    ('household_business',     'Chủ hộ kinh doanh',                                   'Household business owner'),
    ('part_time_worker',       'Người lao động làm việc không trọn thời gian',        'Part-time worker'),
    ('enterprise_manager',     'Người quản lý doanh nghiệp không hưởng lương',        'Unpaid enterprise manager'),
    ('cooperative_manager',    'Người quản lý hợp tác xã không hưởng lương',          'Unpaid cooperative manager'),
    ('student',                'Học sinh, sinh viên',                                 'Student'),
    ('final_year_student',     'Sinh viên năm cuối',                                  'Final-year student'),
    ('farming_household',      'Hộ gia đình làm nông nghiệp',                         'Farming household'),
    ('craft_village_worker',   'Lao động làng nghề, hợp tác xã',                      'Craft-village or cooperative worker'),
    ('small_trader',           'Tiểu thương tại chợ, hộ kinh doanh cá thể',           'Small trader or individual business'),
    ('contracted_land_worker', 'Người nhận khoán đất, khoán rừng',                    'Worker on contracted land or forest'),
    ('seasonal_worker',        'Lao động làm theo sản phẩm, theo mùa vụ',             'Piece-rate or seasonal worker'),
    ('self_employed',          'Người lao động tự do',                                'Self-employed'),
    ('stopped_compulsory',     'Người dừng đóng BHXH bắt buộc, bảo lưu thời gian',    'Stopped compulsory participation'),
    ('unemployment_benefit',   'Người hưởng trợ cấp thất nghiệp',                     'Receiving unemployment benefit'),
    ('voluntary_participant',  'Người đang tham gia BHXH tự nguyện',                  'Voluntary participant'),
    ('voluntary_due',          'Người tham gia BHXH tự nguyện sắp đến hạn đóng',      'Voluntary participant, payment due'),
    ('ethnic_minority',        'Đồng bào dân tộc thiểu số',                           'Ethnic-minority community member'),
    ('poor_household',         'Người thuộc hộ nghèo',                                'Member of a poor household'),
    ('near_poor_household',    'Người thuộc hộ cận nghèo',                            'Member of a near-poor household')
ON CONFLICT (code) DO UPDATE SET label_vi = EXCLUDED.label_vi, label_en = EXCLUDED.label_en;

-- Two merged provinces (since 1 July 2025) with a SYNTHETIC commune list: the names are real
-- places, the codes are plausible but invented, and every row says so (synthetic = true).
-- `loa communes import` loads the official list over them.
INSERT INTO provinces (code, name) VALUES ('52', 'Gia Lai'), ('91', 'An Giang')
ON CONFLICT (code) DO NOTHING;

INSERT INTO communes (code, name, province_code, synthetic) VALUES
    ('23200', 'Phường Pleiku', '52', true),
    ('23203', 'Phường Hội Phú', '52', true),
    ('23206', 'Phường Thống Nhất', '52', true),
    ('23209', 'Phường Diên Hồng', '52', true),
    ('23212', 'Phường An Phú', '52', true),
    ('23215', 'Xã Biển Hồ', '52', true),
    ('23218', 'Xã Gào', '52', true),
    ('23221', 'Xã Ia Grai', '52', true),
    ('23224', 'Xã Ia Hrung', '52', true),
    ('23227', 'Xã Ia Krái', '52', true),
    ('23230', 'Xã Chư Păh', '52', true),
    ('23233', 'Xã Ia Ly', '52', true),
    ('23236', 'Xã Ia Khươl', '52', true),
    ('23239', 'Xã Đak Đoa', '52', true),
    ('23242', 'Xã Kon Gang', '52', true),
    ('23245', 'Xã Ia Băng', '52', true),
    ('23248', 'Xã Kbang', '52', true),
    ('23251', 'Xã Đak Rong', '52', true),
    ('23254', 'Xã Sơn Lang', '52', true),
    ('23257', 'Xã Kông Chro', '52', true),
    ('23260', 'Xã Mang Yang', '52', true),
    ('23263', 'Xã Đak Pơ', '52', true),
    ('23266', 'Phường An Khê', '52', true),
    ('23269', 'Phường An Bình', '52', true),
    ('23272', 'Phường Ayun Pa', '52', true),
    ('23275', 'Xã Phú Thiện', '52', true),
    ('23278', 'Xã Ia Sao', '52', true),
    ('23281', 'Xã Chư Sê', '52', true),
    ('23284', 'Xã Chư Pưh', '52', true),
    ('23287', 'Xã Ia Pa', '52', true),
    ('23290', 'Xã Krông Pa', '52', true),
    ('23293', 'Xã Ia Rsai', '52', true),
    ('23296', 'Xã Đức Cơ', '52', true),
    ('23299', 'Xã Ia Dơk', '52', true),
    ('23302', 'Xã Chư Prông', '52', true),
    ('23305', 'Xã Ia Tôr', '52', true),
    ('23308', 'Phường Quy Nhơn', '52', true),
    ('23311', 'Phường Quy Nhơn Nam', '52', true),
    ('23314', 'Phường An Nhơn', '52', true),
    ('23317', 'Phường Hoài Nhơn', '52', true),
    ('23320', 'Xã Tuy Phước', '52', true),
    ('23323', 'Xã Phù Cát', '52', true),
    ('23326', 'Xã Vân Canh', '52', true),
    ('23329', 'Xã An Lão', '52', true),
    ('30300', 'Phường Long Xuyên', '91', true),
    ('30304', 'Phường Bình Đức', '91', true),
    ('30308', 'Phường Mỹ Thới', '91', true),
    ('30312', 'Phường Châu Đốc', '91', true),
    ('30316', 'Phường Vĩnh Tế', '91', true),
    ('30320', 'Phường Tân Châu', '91', true),
    ('30324', 'Phường Long Phú', '91', true),
    ('30328', 'Phường Tịnh Biên', '91', true),
    ('30332', 'Phường Thới Sơn', '91', true),
    ('30336', 'Xã Nhà Bàng', '91', true),
    ('30340', 'Xã Tri Tôn', '91', true),
    ('30344', 'Xã Ba Chúc', '91', true),
    ('30348', 'Xã Ô Lâm', '91', true),
    ('30352', 'Xã Cô Tô', '91', true),
    ('30356', 'Xã Óc Eo', '91', true),
    ('30360', 'Xã Vọng Thê', '91', true),
    ('30364', 'Xã Thoại Sơn', '91', true),
    ('30368', 'Xã Phú Tân', '91', true),
    ('30372', 'Xã Chợ Mới', '91', true),
    ('30376', 'Xã Châu Thành', '91', true),
    ('30380', 'Xã Châu Phú', '91', true),
    ('30384', 'Xã An Phú', '91', true),
    ('30388', 'Phường Rạch Giá', '91', true),
    ('30392', 'Phường Vĩnh Thông', '91', true),
    ('30396', 'Phường Hà Tiên', '91', true),
    ('30400', 'Phường Tô Châu', '91', true),
    ('30404', 'Xã Kiên Lương', '91', true),
    ('30408', 'Xã Hòn Đất', '91', true),
    ('30412', 'Xã Tân Hiệp', '91', true),
    ('30416', 'Xã Giồng Riềng', '91', true),
    ('30420', 'Xã Gò Quao', '91', true),
    ('30424', 'Xã An Biên', '91', true),
    ('30428', 'Xã An Minh', '91', true),
    ('30432', 'Xã U Minh Thượng', '91', true),
    ('30436', 'Xã Vĩnh Thuận', '91', true),
    ('30440', 'Đặc khu Phú Quốc', '91', true),
    ('30444', 'Đặc khu Kiên Hải', '91', true),
    ('30448', 'Xã Thạnh Đông', '91', true),
    ('30452', 'Xã Định Hòa', '91', true),
    ('30456', 'Xã Hòa Lạc', '91', true)
ON CONFLICT (code) DO NOTHING;

-- Segment counts (segments/filter.c) filter by group, commune or province, and age (compiled
-- to a birth_date range so that an index can serve it), then count. Every index on citizens
-- costs the import about 3-4 s per million new rows (measured: tests/bench/part_import.sh), so
-- only the ones the usual outreach filters need are here. "Household businesses in these
-- communes, aged 18-60" reads a few thousand entries of citizens_group_commune (about 15 ms at
-- 1,000,000 citizens, against about 100 ms for a parallel scan of the table); filters on a
-- province or on communes alone scan the table, which stays under 200 ms at that size.
CREATE INDEX citizens_group_commune ON citizens (group_code, commune_code, birth_date);
-- Voluntary participants whose payment comes due (`within_days`): a small part of the table.
CREATE INDEX citizens_due ON citizens (voluntary_due_date) WHERE voluntary_due_date IS NOT NULL;
