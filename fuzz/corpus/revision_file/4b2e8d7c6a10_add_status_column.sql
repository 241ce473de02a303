-- Add status column
--
-- Revision ID: 4b2e8d7c6a10
-- Revises: 1975ea83b712
-- Create Date: 2026-11-23 14:02:11.402118
-- Branch Labels: payments
-- Depends On:
-- Transactional: true

-- migrate:upgrade
ALTER TABLE dapp.transactions
    ADD COLUMN status varchar(16) NOT NULL DEFAULT 'pending';

ALTER TABLE dapp.transactions
    ADD CONSTRAINT transactions_status_check
    CHECK (status IN ('pending', 'settled', 'refunded'));

-- migrate:downgrade
ALTER TABLE dapp.transactions DROP CONSTRAINT transactions_status_check;
ALTER TABLE dapp.transactions DROP COLUMN status;
