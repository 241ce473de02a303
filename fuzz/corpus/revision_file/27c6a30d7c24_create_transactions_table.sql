-- Create transactions table
--
-- Revision ID: 27c6a30d7c24
-- Revises:
-- Create Date: 2026-11-20 09:00:00.000000
-- Branch Labels:
-- Depends On:
-- Transactional: true

-- migrate:upgrade
CREATE SCHEMA IF NOT EXISTS dapp;

CREATE TABLE dapp.transactions (
    id          bigserial PRIMARY KEY,
    amount      numeric(12, 2) NOT NULL,
    currency    char(3)        NOT NULL,
    created_at  timestamptz    NOT NULL DEFAULT now()
);

-- migrate:downgrade
DROP TABLE dapp.transactions;
DROP SCHEMA IF EXISTS dapp;
