-- Index transactions by created_at
--
-- Revision ID: 5c3f9e8d7b20
-- Revises: 1975ea83b712
-- Create Date: 2026-11-23 15:40:37.918004
-- Branch Labels: reporting
-- Depends On:
-- Transactional: false

-- migrate:upgrade
CREATE INDEX CONCURRENTLY IF NOT EXISTS ix_transactions_created_at
    ON dapp.transactions (created_at);

-- migrate:downgrade
DROP INDEX CONCURRENTLY IF EXISTS dapp.ix_transactions_created_at;
