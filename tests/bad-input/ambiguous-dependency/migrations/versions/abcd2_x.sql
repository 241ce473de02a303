-- msg
--
-- Revision ID: abcd2
-- Revises: 

-- migrate:upgrade
SELECT 1;

-- migrate:downgrade
SELECT 1;
