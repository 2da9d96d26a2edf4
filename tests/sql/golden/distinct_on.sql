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
-- ORDER BY and DISTINCT ON keys matched to select-list expressions, a repeated ORDER BY key.
CREATE TABLE di (id int, d int, a int, b text);
INSERT INTO di VALUES (1, 1, 5, 'x'), (2, 1, 3, 'y'), (3, 2, 1, 'x'), (4, NULL, 2, 'z');
SELECT DISTINCT ON (d) d AS c2 FROM di ORDER BY d, id;
SELECT DISTINCT ON (lower(b)) lower(b), id FROM di ORDER BY lower(b), id;
SELECT DISTINCT ON (1) b FROM di ORDER BY 1, a, b;
SELECT a + 1 AS p FROM di ORDER BY a + 1 DESC;
SELECT DISTINCT ON (d) d, a FROM di ORDER BY d, a DESC;
