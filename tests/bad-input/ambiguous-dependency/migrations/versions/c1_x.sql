-- msg
--
-- Revision ID: c1
-- Revises: 
-- Depends On: abcd
-- migrate:upgrade
SELECT 1;

-- migrate:downgrade
SELECT 1;
