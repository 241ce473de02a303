-- msg
--
-- Revision ID: a1
-- Revises:

--migrate:upgrade
CREATE TABLE t (id int);

-- migrate:downgrade
DROP TABLE t;
