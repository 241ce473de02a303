-- Index posts by user
--
-- Revision ID: c3d4e5f6a1b2
-- Revises: b2c3d4e5f6a1
-- Create Date: 2026-11-24 09:10:00.000000
-- Branch Labels:
-- Depends On:
-- Transactional: true

-- migrate:upgrade
-- dapp:lint ignore require-concurrent-index-creation posts is new in this release (and this example also runs on SQLite, which has no CONCURRENTLY); on a large table use CREATE INDEX CONCURRENTLY in a `Transactional: false` revision
CREATE INDEX ix_posts_user_id ON posts (user_id);

-- migrate:downgrade
DROP INDEX ix_posts_user_id;
