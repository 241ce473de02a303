-- msg
--
-- Revision ID: a-1
-- Revises: 

-- migrate:upgrade
SELECT 1;

-- migrate:downgrade
SELECT 1;
