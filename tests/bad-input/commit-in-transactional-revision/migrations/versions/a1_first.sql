-- First
--
-- Revision ID: a1
-- Revises:
-- Create Date: 2026-12-01 10:00:00.000000

-- migrate:upgrade
CREATE TABLE t_a1 (id integer);
