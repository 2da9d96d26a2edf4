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
