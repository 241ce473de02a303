-- msg
--
-- Revision ID: a1
-- Revises: 
-- Depends On: nowhere
-- migrate:upgrade
SELECT 1;

-- migrate:downgrade
SELECT 1;
