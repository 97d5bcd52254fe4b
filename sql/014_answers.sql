-- Answers to citizens, really sent: the confirmations of an opt-out and an opt-in, the
-- automatic answer of a confident FAQ match, the officers' answers and the help text. Each is a
-- row of outbound_answers (005) tracked through the message states (campaigns/message.c) with
-- counters of its own, answer_counters, never campaign_counters: an answer is not campaign
-- traffic. Owned by engine/answers.c (sending) and sql/functions/60_answers.sql (every write).

ALTER TABLE outbound_answers DROP CONSTRAINT IF EXISTS outbound_answers_state_check;
UPDATE outbound_answers SET state = 'submitted' WHERE state = 'sent';
ALTER TABLE outbound_answers ADD CONSTRAINT outbound_answers_state_check
    CHECK (state IN ('pending','leased','submitted','delivered','undelivered','retry_wait',
                     'failed','in_doubt'));
ALTER TABLE outbound_answers
    ADD COLUMN kind text NOT NULL DEFAULT 'officer'
        CHECK (kind IN ('officer','faq','opt_out','opt_in','help')),
    ADD COLUMN citizen_id bigint REFERENCES citizens(id) ON DELETE SET NULL,
    ADD COLUMN attempts int NOT NULL DEFAULT 0,
    ADD COLUMN parts int NOT NULL DEFAULT 0,
    ADD COLUMN due_at timestamptz NOT NULL DEFAULT now(),
    ADD COLUMN lease_owner text,
    ADD COLUMN lease_until timestamptz,
    ADD COLUMN final_at timestamptz,
    -- A delivery report that came before the submission's answer was recorded (fakesmsc reports
    -- at once): applied by the result.
    ADD COLUMN parked_dlr text CHECK (parked_dlr IN ('delivered','undelivered'));

DROP INDEX IF EXISTS outbound_answers_pending;
CREATE INDEX outbound_answers_due ON outbound_answers (due_at) WHERE state IN ('pending','retry_wait');
CREATE INDEX outbound_answers_leased ON outbound_answers (lease_until) WHERE state = 'leased';
CREATE INDEX outbound_answers_reply ON outbound_answers (reply_id);
-- The flood limit and the help text's once a day look at one address's recent replies; the
-- choice of Zalo or SMS at a citizen's recent Zalo messages.
CREATE INDEX replies_from_recent ON replies (from_addr, received_at);
CREATE INDEX replies_citizen_recent ON replies (citizen_id, received_at) WHERE citizen_id IS NOT NULL;

-- How many answers are in each state, per kind and channel, kept by the trigger of
-- 60_answers.sql in the same statement as the change.
CREATE TABLE answer_counters (
    kind    text NOT NULL,
    channel text NOT NULL,
    state   text NOT NULL,
    n       bigint NOT NULL DEFAULT 0,
    parts   bigint NOT NULL DEFAULT 0,
    PRIMARY KEY (kind, channel, state)
);

-- The texts of the answers. {{name}} is the citizen's salutation and given name ("Bà Hoa"), or
-- "bạn" when the sender is not a known citizen; {{answer}} the FAQ's or the officer's answer.
-- An officer edits a row with UPDATE answer_texts SET text = … WHERE kind = ….
CREATE TABLE answer_texts (
    kind    text PRIMARY KEY CHECK (kind IN ('officer','faq','opt_out','opt_in','help')),
    text    text NOT NULL CHECK (length(text) BETWEEN 1 AND 480),
    note    text
);
INSERT INTO answer_texts (kind, text, note) VALUES
    ('opt_out', 'BHXH: Chào {{name}}. Bạn đã từ chối nhận tin nhắn của BHXH; soạn DK để nhận lại.',
     'sent once per opt-out'),
    ('opt_in',  'BHXH: Chào {{name}}. Bạn đã đăng ký nhận lại tin nhắn của BHXH; soạn TC để từ chối.',
     'sent when an opt-in lifts an opt-out'),
    ('help',    'BHXH: Chào {{name}}. Soạn TC để từ chối nhận tin, DK để nhận lại. Muốn hỏi, xin nhắn câu hỏi hoặc gọi 1900 9068.',
     'unknown text, at most once a day per citizen'),
    ('faq',     'BHXH: Chào {{name}}. {{answer}}', 'a confident match in the FAQ bank'),
    ('officer', 'BHXH: Chào {{name}}. {{answer}}', 'loa replies answer');
