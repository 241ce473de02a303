-- msg
--
-- Revision ID: a1'; DROP TABLE users; --
-- Revises: 

-- migrate:upgrade
SELECT 1;

-- migrate:downgrade
SELECT 1;
