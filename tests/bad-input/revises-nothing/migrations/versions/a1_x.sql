-- msg
--
-- Revision ID: a1
-- Revises: zz99

-- migrate:upgrade
SELECT 1;

-- migrate:downgrade
SELECT 1;
