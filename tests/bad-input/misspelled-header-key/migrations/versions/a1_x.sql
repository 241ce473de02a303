-- msg
--
-- Revision ID: a1
-- Revises:
--
-- A note: this paragraph is prose, but a misspelled key is still refused.
-- Depend On: b1

-- migrate:upgrade
CREATE TABLE t (id int);
