-- Subqueries in expressions (answers checked against PostgreSQL 15): IN (SELECT ...) with
-- three-valued NULLs, EXISTS, scalar subqueries (NULL for no row, 21000 for two), run once
-- before the query's rows; correlated ones answer 0A000.
CREATE TABLE s (a int, b text, n numeric);
INSERT INTO s VALUES (1, 'x', 1.0), (1, 'x', 1.00), (2, 'y', 2), (3, NULL, NULL), (NULL, NULL, NULL), (NULL, NULL, NULL), (2, 'y', 2.0), (4, 'z', 4);
CREATE TABLE u (k int);
INSERT INTO u VALUES (1), (2), (NULL);
SELECT a FROM s WHERE a IN (SELECT k FROM u) ORDER BY a;
SELECT a FROM s WHERE a NOT IN (SELECT k FROM u) ORDER BY a;
SELECT a FROM s WHERE a NOT IN (SELECT k FROM u WHERE k IS NOT NULL) ORDER BY a;
SELECT a, a IN (SELECT k FROM u) FROM s ORDER BY a;
SELECT n IN (SELECT k FROM u) FROM s ORDER BY a;
SELECT a FROM s WHERE a = ANY (SELECT k FROM u) ORDER BY a;
SELECT count(*) FROM s WHERE a IN (SELECT k FROM u UNION SELECT 4);
SELECT count(*) FROM s WHERE EXISTS (SELECT 1 FROM u WHERE k = 2);
SELECT count(*) FROM s WHERE NOT EXISTS (SELECT 1 FROM u WHERE k = 9);
SELECT (SELECT max(k) FROM u), (SELECT k FROM u WHERE k = 9), (SELECT k AS z FROM u LIMIT 1), EXISTS (SELECT 1), 1 IN (SELECT 1);
SELECT a FROM s WHERE n > (SELECT avg(n) FROM s) ORDER BY a;
SELECT a, count(*) FROM s GROUP BY a HAVING count(*) > (SELECT min(k) FROM u) ORDER BY a;
SELECT a FROM s ORDER BY a LIMIT (SELECT 2);
SELECT 1 WHERE 'x' IN (SELECT b FROM s);
SELECT (SELECT k FROM u);
SELECT (SELECT k, k FROM u WHERE k = 1);
SELECT a FROM s WHERE a IN (SELECT k, k FROM u);
SELECT a FROM s WHERE a IN (SELECT nope FROM u);
SELECT a FROM s x WHERE EXISTS (SELECT 1 FROM u WHERE k = x.a);
SELECT a FROM s WHERE a > ALL (SELECT k FROM u);
CREATE MATERIALIZED VIEW v AS SELECT a FROM s WHERE a IN (SELECT k FROM u);
