-- Record refund reason
--
-- Revision ID: 7e5b1a0f9d40
-- Revises: 6d4a0f9e8c30
-- Create Date: 2026-11-24 09:12:45.550107
-- Branch Labels:
-- Depends On:
-- Transactional: true

-- migrate:upgrade
ALTER TABLE dapp.transactions ADD COLUMN refund_reason text;

COMMENT ON COLUMN dapp.transactions.refund_reason IS
    'Why a settled transaction was refunded; NULL otherwise';

-- migrate:downgrade
ALTER TABLE dapp.transactions DROP COLUMN refund_reason;
