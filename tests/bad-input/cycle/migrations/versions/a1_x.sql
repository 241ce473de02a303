-- msg
--
-- Revision ID: a1
-- Revises: b1

-- migrate:upgrade
SELECT 1;

-- migrate:downgrade
SELECT 1;
