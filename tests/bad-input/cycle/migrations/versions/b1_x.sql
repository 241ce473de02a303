-- msg
--
-- Revision ID: b1
-- Revises: a1

-- migrate:upgrade
SELECT 1;

-- migrate:downgrade
SELECT 1;
