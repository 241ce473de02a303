-- msg
--
-- Revision ID: a1
-- Revises: 
-- Branch Labels: lib
-- migrate:upgrade
SELECT 1;

-- migrate:downgrade
SELECT 1;
