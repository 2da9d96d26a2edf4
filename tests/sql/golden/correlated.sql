-- Correlated subqueries (answers checked against PostgreSQL 15): EXISTS, NOT EXISTS, scalar, IN,
-- ANY/ALL reading the row around them, in WHERE, the select list, JOIN ON, ORDER BY and UNION
-- arms; over groups or two levels out they are 0A000 for now.
CREATE TABLE co (id int, cust text, amount numeric);
CREATE TABLE cc (name text, tier int);
INSERT INTO co VALUES (1,'ann',10),(2,'ann',25),(3,'bob',5),(4,'cy',40),(5,NULL,7),(6,'bob',15);
INSERT INTO cc VALUES ('ann',1),('bob',2),('dee',3),(NULL,4);
SELECT name FROM cc WHERE EXISTS (SELECT 1 FROM co WHERE co.cust = cc.name) ORDER BY 1;
SELECT name FROM cc WHERE NOT EXISTS (SELECT 1 FROM co WHERE co.cust = cc.name) ORDER BY 1;
SELECT name, (SELECT sum(amount) FROM co WHERE cust = name) AS total FROM cc ORDER BY 1;
SELECT name, (SELECT max(id) FROM co WHERE co.cust = cc.name AND amount > cc.tier * 5) FROM cc ORDER BY 1;
SELECT id FROM co WHERE amount > (SELECT avg(amount) FROM co c2 WHERE c2.cust = co.cust) ORDER BY 1;
SELECT id FROM co o WHERE o.cust IN (SELECT name FROM cc WHERE cc.tier < o.id) ORDER BY 1;
SELECT id FROM co o WHERE o.amount > ALL (SELECT amount FROM co i WHERE i.cust = o.cust AND i.id <> o.id) ORDER BY 1;
SELECT id FROM co o WHERE o.amount = ANY (SELECT amount FROM co i WHERE i.cust IS NOT DISTINCT FROM o.cust) ORDER BY 1;
SELECT name, (SELECT id FROM co WHERE cust = name) FROM cc ORDER BY 1;
SELECT id, (SELECT count(*) FROM co i WHERE i.id <= o.id) AS running FROM co o ORDER BY 1;
SELECT c.name, o.id FROM cc c JOIN co o ON o.cust = c.name AND o.amount = (SELECT max(amount) FROM co m WHERE m.cust = c.name) ORDER BY 1;
SELECT name FROM cc WHERE EXISTS (SELECT 1 FROM co WHERE co.cust = cc.name UNION ALL SELECT 1 WHERE cc.tier = 3) ORDER BY 1;
SELECT cust, count(*) FROM co o WHERE EXISTS (SELECT 1 FROM cc WHERE cc.name = o.cust) GROUP BY cust ORDER BY 1;
SELECT cust, (SELECT tier FROM cc WHERE name = cust) FROM co GROUP BY cust ORDER BY 1;
SELECT name FROM cc WHERE EXISTS (SELECT 1 FROM co WHERE EXISTS (SELECT 1 FROM cc c3 WHERE c3.name = co.cust AND c3.tier = cc.tier)) ORDER BY 1;
SELECT id FROM co o ORDER BY (SELECT tier FROM cc WHERE name = o.cust) NULLS FIRST, id;
CREATE MATERIALIZED VIEW cv AS SELECT name FROM cc WHERE EXISTS (SELECT 1 FROM co WHERE co.cust = cc.name);
-- Answers remembered by exact outer values, aggregates of outer columns (0A000), FULL JOIN with an
-- extra condition, USING types, the later of equal values for max/min, derived tables inside a
-- correlated subquery (0A000).
CREATE TABLE ra (x int, v numeric, s text);
CREATE TABLE rb (x int, w numeric);
INSERT INTO ra VALUES (1, 1.0, 'p'), (2, 1.00, 'q'), (3, 2, 'r');
INSERT INTO rb VALUES (1, 1.000), (3, 5), (4, 6);
SELECT (SELECT count(ra.x)) FROM ra;
SELECT v, (SELECT v::text) FROM ra ORDER BY x;
SELECT * FROM ra FULL JOIN rb ON ra.x = rb.x AND ra.v < rb.w ORDER BY ra.x, rb.x;
SELECT * FROM ra FULL JOIN rb ON ra.x > 1 ORDER BY 1;
SELECT * FROM ra JOIN rb USING (x) WHERE EXISTS (SELECT 1 FROM rb r2 WHERE r2.x = x) ORDER BY 1;
SELECT * FROM ra JOIN rb ON ra.x = rb.x WHERE EXISTS (SELECT 1 FROM (SELECT * FROM rb WHERE rb.x = ra.x) s);
SELECT max(v), min(v) FROM ra WHERE x < 3;
SELECT x, max(v) OVER (ORDER BY x ROWS BETWEEN CURRENT ROW AND UNBOUNDED FOLLOWING), max(v) OVER (ORDER BY x ROWS BETWEEN CURRENT ROW AND 5 FOLLOWING) FROM ra ORDER BY x;
CREATE TABLE rc (x numeric);
INSERT INTO rc VALUES (1), (3);
SELECT * FROM ra JOIN rc USING (x) ORDER BY 1;
SELECT * FROM ra LEFT JOIN rc USING (x) ORDER BY 1;
SELECT x FROM ra WHERE x IN (SELECT rb.x FROM rb WHERE rb.w > ra.v) AND (SELECT count(*) FROM rb WHERE rb.x = ra.x) IN (SELECT 1 WHERE ra.x > 0) ORDER BY 1;
SELECT 1 FROM ra WINDOW w1 AS (ORDER BY x ROWS 1 PRECEDING), w2 AS (w1);
