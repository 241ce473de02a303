-- msg
--
-- Revision ID: abcd1
-- Revises: 

-- migrate:upgrade
SELECT 1;

-- migrate:downgrade
SELECT 1;
