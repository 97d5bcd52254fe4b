-- Zalo's read receipts (user_seen_message) name the OA messages by the message_id the
-- consultation API answered: answers are found by it (loa_answers_seen).
CREATE INDEX IF NOT EXISTS outbound_answers_gateway_msg_id ON outbound_answers (gateway_msg_id)
    WHERE gateway_msg_id IS NOT NULL;
