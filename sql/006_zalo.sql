-- Zalo: falling back to the next channel when no receipt comes, and applying receipts so that a
-- citizen is never sent the SMS once the Zalo message is known delivered. Owned by
-- gateways/zalo_zns.c and engine/fallback.c. Tokens and quotas live in gateway_state (001); the
-- functions are in sql/functions/30_zalo.sql.

-- The sweep looks only at Zalo messages waiting for a receipt.
CREATE INDEX messages_zalo_submitted ON messages (gateway, submitted_at)
    WHERE state = 'submitted' AND channel = 'zalo';

