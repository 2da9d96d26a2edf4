-- SELECT DISTINCT ON (answers checked against PostgreSQL 15): the first row of each set in ORDER BY
-- order, names and positions as ORDER BY takes them, PostgreSQL's rule that ORDER BY begins with
-- the DISTINCT ON expressions, LIMIT/OFFSET after the sets are made.
CREATE TABLE dd (k text, v int, t int);
INSERT INTO dd VALUES ('a', 3, 1), ('a', 1, 2), ('b', 5, 3), ('b', 5, 4), (NULL, 2, 5), (NULL, 9, 6), ('c', NULL, 7);
SELECT DISTINCT ON (k) k, v, t FROM dd ORDER BY k, v DESC, t;
SELECT DISTINCT ON (k) k, v FROM dd ORDER BY k, v NULLS FIRST;
SELECT DISTINCT ON (1) k, t FROM dd ORDER BY 1, t DESC;
SELECT DISTINCT ON (k, v) k, v, t FROM dd ORDER BY v, k, t;
SELECT DISTINCT ON (v % 2) v, t FROM dd ORDER BY v % 2, t;
SELECT DISTINCT ON (k) k, v FROM dd ORDER BY v;
SELECT DISTINCT ON (k) k FROM dd ORDER BY k, v, t LIMIT 2;
SELECT DISTINCT ON (k) k, v FROM dd ORDER BY k, v LIMIT 2 OFFSET 1;
SELECT count(*) FROM (SELECT DISTINCT ON (k) * FROM dd) s;
SELECT DISTINCT ON (k) k, count(*) FROM dd GROUP BY k, v ORDER BY k, count(*) DESC;
SELECT DISTINCT ON (k) k, row_number() OVER (ORDER BY t) FROM dd ORDER BY k, 2 DESC;
SELECT DISTINCT ON (k, v) k FROM dd ORDER BY k, t;
SELECT DISTINCT ON (nope) k FROM dd;
SELECT DISTINCT ON (k) k, v FROM dd ORDER BY k, v LIMIT 0;
CREATE MATERIALIZED VIEW dv AS SELECT DISTINCT ON (k) k, v FROM dd;
