-- Subqueries in FROM (derived tables) and WITH queries in bounded queries (answers checked
-- against PostgreSQL 15): each is an input with the query's columns (renamed by an alias's
-- column list), joined, grouped and filtered like a table; a WITH query hides a table of its
-- name and sees the WITH queries before it.
CREATE TABLE s (a int, b text, n numeric);
INSERT INTO s VALUES (1, 'x', 1.0), (1, 'x', 1.00), (2, 'y', 2), (3, NULL, NULL), (NULL, NULL, NULL), (NULL, NULL, NULL), (2, 'y', 2.0), (4, 'z', 4);
SELECT count(*) FROM (SELECT 1) x;
SELECT * FROM (SELECT a, count(*) AS c FROM s GROUP BY a) g ORDER BY a;
SELECT avg(c) FROM (SELECT a, count(*) AS c FROM s GROUP BY a) g;
SELECT g.a, t.b FROM (SELECT DISTINCT a FROM s) g JOIN s t ON t.a = g.a ORDER BY 1, 2;
SELECT x, y FROM (SELECT a, b FROM s WHERE a > 1) AS q(x, y) ORDER BY 1, 2;
SELECT x FROM (SELECT a, b FROM s) AS q(x) ORDER BY 1 LIMIT 3;
SELECT * FROM (SELECT a FROM s ORDER BY a DESC LIMIT 2) q ORDER BY a;
SELECT * FROM (SELECT 1 AS k) a, (SELECT 2 AS k) b;
SELECT * FROM (SELECT 1 AS k) a JOIN (SELECT 1 AS k) b USING (k);
SELECT pg_typeof(t) FROM (SELECT 'x' AS t) q;
SELECT sum(total) FROM (SELECT a, sum(n) AS total FROM s GROUP BY a HAVING sum(n) > 1) q;
SELECT a FROM (SELECT a FROM s INTERSECT SELECT 2) q;
SELECT * FROM (SELECT a FROM s) AS q(x, y);
SELECT * FROM (SELECT 1) AS q JOIN (SELECT 2) AS q ON true;
SELECT * FROM (SELECT 1);
WITH g AS (SELECT a, count(*) AS c FROM s GROUP BY a) SELECT * FROM g ORDER BY a;
WITH g AS (SELECT a, count(*) AS c FROM s GROUP BY a), h AS (SELECT max(c) AS m FROM g) SELECT a FROM g, h WHERE c = m ORDER BY a;
WITH g(x) AS (SELECT a FROM s WHERE a < 3) SELECT x, count(*) FROM g GROUP BY x ORDER BY x;
WITH s AS (SELECT 42 AS a) SELECT a FROM s;
WITH q AS (SELECT a FROM s) SELECT a FROM q UNION SELECT 9 ORDER BY 1;
WITH q AS (SELECT a FROM s) SELECT count(*) FROM q a JOIN q b ON a.a = b.a;
WITH q AS (SELECT a FROM s WHERE a = 1) SELECT * FROM (WITH q AS (SELECT 7 AS a) SELECT a FROM q) z;
WITH q AS (SELECT 1 AS v), q AS (SELECT 2) SELECT * FROM q;
WITH RECURSIVE r(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM r WHERE n < 3) SELECT * FROM r;
EXPLAIN SELECT count(*) FROM (SELECT a FROM s WHERE a > 1) q;
CREATE MATERIALIZED VIEW v AS SELECT * FROM (SELECT a FROM s) q;
SELECT a FROM (SELECT 1 AS a, 2 AS a) s;
SELECT s.a FROM (SELECT 1 AS a, 2 AS a) s;
WITH c(a, b) AS (SELECT 1) SELECT * FROM c;
SELECT ln(0.0), x FROM (SELECT 1/0 AS x) s;
-- VALUES as a query: rows typed per column as UNION types its arms, columns column1, ...
VALUES (1, 'a'), (2, 'b');
VALUES (1), (2.5) ORDER BY 1 DESC;
VALUES (1, 2), (3);
VALUES (1), ('x');
VALUES ('x'), ('y');
SELECT * FROM (VALUES (1, 'a'), (2, 'b')) AS v(n, s) ORDER BY n DESC;
SELECT count(*), sum(column1) FROM (VALUES (1), (2), (NULL)) v;
SELECT pg_typeof(column1) FROM (VALUES ('x')) v;
VALUES (1) UNION SELECT 2 ORDER BY 1;
SELECT a FROM s WHERE a IN (VALUES (1), (4)) ORDER BY a;
VALUES (1/0);
VALUES (1), (2) LIMIT 1;
WITH v(x) AS (VALUES (5), (6)) SELECT sum(x) FROM v;
