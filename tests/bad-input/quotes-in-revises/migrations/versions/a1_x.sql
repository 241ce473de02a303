-- msg
--
-- Revision ID: a1
-- Revises: x'); DELETE FROM alembic_version; --

-- migrate:upgrade
SELECT 1;

-- migrate:downgrade
SELECT 1;
