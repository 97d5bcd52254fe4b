-- Policy figures for personalised messages ({{min_contribution_vnd}}, {{state_support_pct}}) and
-- per-variant template settings. The figures change with the law, so they are rows with validity
-- dates, never code: a new decree is a new row.

-- A policy category with its figures over a period [valid_from, valid_to).
CREATE TABLE policies (
    code              text NOT NULL,
    valid_from        date NOT NULL,
    valid_to          date,                                  -- exclusive; NULL: still in force
    poverty_line_vnd  bigint NOT NULL CHECK (poverty_line_vnd > 0),     -- rural, per month
    contribution_pct  numeric(5,2) NOT NULL CHECK (contribution_pct > 0 AND contribution_pct <= 100),
    support_pct       numeric(5,2) NOT NULL CHECK (support_pct >= 0 AND support_pct <= 100),
    label_vi          text NOT NULL,
    source            text,
    PRIMARY KEY (code, valid_from),
    CHECK (valid_to IS NULL OR valid_to > valid_from)
);

-- Which category a citizen falls in: the rule of lowest priority that matches wins.
-- match_field: 'tag' (citizens.tags holds match_value), 'group' (citizens.group_code),
-- 'language' / 'not_language' (citizens.language), 'any' (everybody: the last resort).
CREATE TABLE policy_rules (
    priority    integer PRIMARY KEY,
    match_field text NOT NULL CHECK (match_field IN ('tag','group','language','not_language','any')),
    match_value text,
    policy_code text NOT NULL,
    CHECK ((match_field = 'any') = (match_value IS NULL))
);

-- Voluntary social insurance: 22% of the chosen income, at least the rural poverty line
-- (1,500,000 VND since 2022). State support on that base: Decree 134/2015 until 30 June 2025,
-- Law 41/2024/QH15 from 1 July 2025.
INSERT INTO policies (code, valid_from, valid_to, poverty_line_vnd, contribution_pct, support_pct, label_vi, source) VALUES
    ('poor',            '2022-01-01', '2025-07-01', 1500000, 22, 30, 'Hộ nghèo',               'Nghị định 134/2015/NĐ-CP'),
    ('near_poor',       '2022-01-01', '2025-07-01', 1500000, 22, 25, 'Hộ cận nghèo',           'Nghị định 134/2015/NĐ-CP'),
    ('ethnic_minority', '2022-01-01', '2025-07-01', 1500000, 22, 10, 'Người dân tộc thiểu số', 'Nghị định 134/2015/NĐ-CP'),
    ('other',           '2022-01-01', '2025-07-01', 1500000, 22, 10, 'Đối tượng khác',         'Nghị định 134/2015/NĐ-CP'),
    ('poor',            '2025-07-01', NULL,         1500000, 22, 50, 'Hộ nghèo',               'Luật BHXH 41/2024/QH15'),
    ('near_poor',       '2025-07-01', NULL,         1500000, 22, 40, 'Hộ cận nghèo',           'Luật BHXH 41/2024/QH15'),
    ('ethnic_minority', '2025-07-01', NULL,         1500000, 22, 30, 'Người dân tộc thiểu số', 'Luật BHXH 41/2024/QH15'),
    ('other',           '2025-07-01', NULL,         1500000, 22, 20, 'Đối tượng khác',         'Luật BHXH 41/2024/QH15');

INSERT INTO policy_rules (priority, match_field, match_value, policy_code) VALUES
    (10,   'tag',          'poor',                'poor'),
    (11,   'group',        'poor_household',      'poor'),
    (20,   'tag',          'near_poor',           'near_poor'),
    (21,   'group',        'near_poor_household', 'near_poor'),
    (30,   'group',        'ethnic_minority',     'ethnic_minority'),
    (31,   'tag',          'ethnic_minority',     'ethnic_minority'),
    (40,   'not_language', 'vi',                  'ethnic_minority'),
    (1000, 'any',          NULL,                  'other');

-- Each language variant carries its own settings: a Khmer variant may be a different approved
-- ZNS template, and only Vietnamese text is worth sending unaccented.
ALTER TABLE template_variants ADD COLUMN unaccent boolean NOT NULL DEFAULT false;
ALTER TABLE template_variants ADD COLUMN zns_template_id text;
ALTER TABLE template_variants ADD COLUMN updated_at timestamptz NOT NULL DEFAULT now();
