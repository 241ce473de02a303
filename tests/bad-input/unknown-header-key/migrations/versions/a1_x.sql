-- msg
--
-- Revision ID: a1
-- Revises: 
-- Revision Date: 2020
-- migrate:upgrade
SELECT 1;

-- migrate:downgrade
SELECT 1;
