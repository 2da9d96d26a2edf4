-- CREATE VIEW: a named query (not materialized), bound where a statement reads it, with
-- PostgreSQL's rules for column names, OR REPLACE and dependencies (answers checked against
-- PostgreSQL 15).
CREATE TABLE vt (a int, b text);
INSERT INTO vt VALUES (1, 'x'), (2, 'y'), (3, 'z');
CREATE VIEW v1 AS SELECT a, b, a * 2 AS twice FROM vt WHERE a > 1;
SELECT * FROM v1 ORDER BY a;
CREATE VIEW v2 (k, label) AS SELECT a, upper(b) FROM v1;
SELECT * FROM v2 ORDER BY k;
SELECT v1.a, v2.label FROM v1 JOIN v2 ON v1.a = v2.k ORDER BY 1;
CREATE VIEW v3 AS SELECT count(*) AS n, sum(k) AS s FROM v2;
SELECT * FROM v3;
-- A view sees the rows of now, not of when it was created.
INSERT INTO vt VALUES (4, 'w');
SELECT * FROM v3;
CREATE VIEW v4 AS SELECT 1 AS x, 'lit' AS y;
SELECT * FROM v4;
SELECT * FROM v1 WHERE a IN (SELECT k FROM v2) ORDER BY 1;
-- A WITH query of the same name hides the view.
WITH v1 AS (SELECT 42 AS a) SELECT * FROM v1;
CREATE VIEW v1 AS SELECT 1;
CREATE VIEW v5 (p, q, r) AS SELECT 1, 2;
CREATE VIEW v6 AS SELECT a, a FROM vt;
CREATE VIEW v7 AS SELECT $1;
CREATE VIEW v8 AS SELECT * FROM nope;
CREATE OR REPLACE VIEW v4 AS SELECT 2 AS x, 'new' AS y, 3 AS z;
SELECT * FROM v4;
CREATE OR REPLACE VIEW v4 AS SELECT 2 AS x;
CREATE OR REPLACE VIEW v4 AS SELECT 2 AS xx, 'a' AS y, 3 AS z;
CREATE OR REPLACE VIEW v4 AS SELECT 2.5 AS x, 'a' AS y, 3 AS z;
CREATE OR REPLACE VIEW vt AS SELECT 1;
SELECT table_name, table_type FROM information_schema.tables ORDER BY 1;
SELECT table_name, view_definition FROM information_schema.views ORDER BY 1;
SELECT viewname, definition FROM pg_views ORDER BY 1;
SELECT table_name, column_name, data_type FROM information_schema.columns WHERE table_name = 'v2' ORDER BY ordinal_position;
INSERT INTO v1 VALUES (1);
COPY v1 TO STDOUT;
CREATE MATERIALIZED VIEW m AS SELECT a FROM v1;
DROP TABLE vt;
DROP VIEW v1;
DROP TABLE v1;
DROP MATERIALIZED VIEW v1;
DROP VIEW vt;
DROP VIEW IF EXISTS nope;
-- Dropping a view with the views that read it, in one statement.
DROP VIEW v3, v2;
DROP VIEW v1, v4;
SELECT * FROM v1;
CREATE VIEW c1 AS SELECT a FROM vt;
CREATE VIEW c2 AS SELECT a FROM c1;
CREATE VIEW c3 AS SELECT * FROM c1 JOIN c2 USING (a);
DROP TABLE vt CASCADE;
SELECT * FROM c1;
SELECT count(*) FROM pg_views;
-- `*` is fixed when a view is created: replacing what it reads with more columns does not
-- widen it, also where it is joined last.
CREATE TABLE base (a int, b text);
INSERT INTO base VALUES (1, 'one'), (2, 'two');
CREATE VIEW inner_v AS SELECT a FROM base;
CREATE VIEW outer_v AS SELECT * FROM inner_v;
CREATE OR REPLACE VIEW inner_v AS SELECT a, b FROM base;
SELECT * FROM outer_v ORDER BY a;
SELECT * FROM inner_v;
SELECT x.a, y.a FROM base x JOIN outer_v y ON x.a = y.a ORDER BY 1;
SELECT * FROM base x JOIN outer_v y USING (a) ORDER BY 1;
-- A view depends on every relation it names, in WITH queries it never reads too.
CREATE VIEW with_v AS WITH u AS (SELECT * FROM base) SELECT 1 AS one;
CREATE VIEW coalesce_v AS SELECT COALESCE(1, (SELECT a FROM base LIMIT 1)) AS c;
DROP VIEW outer_v, inner_v;
DROP TABLE base;
DROP VIEW with_v;
DROP TABLE base;
-- Constant errors come when the view is read, as in PostgreSQL.
CREATE VIEW broken AS SELECT 1 / 0 AS x;
SELECT * FROM broken;
CREATE TABLE broken (a int);
CREATE TABLE IF NOT EXISTS broken (a int);
DROP VIEW broken, coalesce_v;
CREATE TABLE broken (a int);
DROP TABLE broken;
