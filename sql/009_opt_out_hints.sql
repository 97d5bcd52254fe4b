-- The opt-out hint ({{opt_out_hint}}) of each language, so that a Khmer, Bahnar or Jrai variant
-- does not end in Vietnamese. An officer edits a row (UPDATE opt_out_hints SET hint = …,
-- provisional = false WHERE language = 'jra'); campaigns loaded afterwards use it. A hint may name
-- {{opt_out_keyword}} and {{opt_out_number}} ([policy] keys); a variant whose language has no row
-- takes the vi one, and with no vi row either the built-in Vietnamese text.
CREATE TABLE opt_out_hints (
    language    text PRIMARY KEY REFERENCES languages(code),
    hint        text NOT NULL CHECK (length(hint) BETWEEN 1 AND 160 AND position('opt_out_hint' IN hint) = 0),
    -- true: a stand-in until the province writes the hint in this language
    provisional boolean NOT NULL DEFAULT false,
    note        text
);

-- km is a Khmer sentence ("send TC to 8077 to stop receiving messages") to be checked by a
-- Khmer speaker of the province. bdq and jra are the Vietnamese text, marked provisional: no
-- Bahnar or Jrai sentence was available to write here, and a wrong one is worse than Vietnamese.
INSERT INTO opt_out_hints (language, hint, provisional, note) VALUES
    ('vi',  'Soạn {{opt_out_keyword}} gửi {{opt_out_number}} để từ chối', false, NULL),
    ('km',  'ផ្ញើ {{opt_out_keyword}} ទៅ {{opt_out_number}} ដើម្បីឈប់ទទួលសារ', false,
            'Khmer; to be checked by a Khmer speaker of the province'),
    ('bdq', 'Soạn {{opt_out_keyword}} gửi {{opt_out_number}} để từ chối', true,
            'Vietnamese stand-in: replace with the Bahnar text'),
    ('jra', 'Soạn {{opt_out_keyword}} gửi {{opt_out_number}} để từ chối', true,
            'Vietnamese stand-in: replace with the Jrai text')
ON CONFLICT (language) DO NOTHING;
