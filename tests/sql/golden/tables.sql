CREATE TABLE orders (id bigint, customer text, amount double precision, price numeric, paid boolean, ts timestamptz) WITH (topic = 'orders', format = 'json', partitions = 2);
CREATE TABLE orders (id int);
CREATE TABLE IF NOT EXISTS orders (id int);
SHOW TABLES;
INSERT INTO orders VALUES (1, 'alice', 10.5, 1.25, true, '2024-01-01T10:00:00Z');
INSERT INTO orders VALUES (2, 'bob', 3, 2.50, false, '2024-01-01 11:30:00+01'), (3, 'alice', 1.5, 0.10, NULL, NULL);
INSERT INTO orders (id, customer) VALUES (4, 'carol');
INSERT INTO orders (id, amount) VALUES (5, 'lots');
INSERT INTO orders (id) VALUES (1, 2);
INSERT INTO orders (nope) VALUES (1);
SELECT id, customer, amount, price, paid, ts FROM orders ORDER BY id;
SELECT * FROM orders WHERE amount > 2 AND paid ORDER BY id;
-- LIMIT 0 evaluates no row (1 / (id - id) would fail on every one)
SELECT 1 / (id - id) FROM orders ORDER BY 1 LIMIT 0;
SELECT 1 / (id - id) FROM orders ORDER BY 1 LIMIT 1;
SELECT id FROM orders WHERE customer LIKE 'a%' ORDER BY id DESC LIMIT 1;
SELECT id FROM orders ORDER BY id LIMIT 2 OFFSET 1;
-- OR with a constant true argument (here a folded IS FALSE) reads none of the others
SELECT id FROM orders WHERE (id * 10000000000)::int4 = 1 OR (false IS FALSE) ORDER BY id;
SELECT id FROM orders WHERE NOT ('a' LIKE 'b') OR (id * 10000000000)::int4 = 1 ORDER BY id;
-- a strict call with a NULL constant argument is NULL unread; otherwise every argument is evaluated
SELECT NULLIF(NULL::int8, 1 / (id - id)), (id * 4000000000000000000) + NULL::int8 FROM orders ORDER BY 1;
SELECT CASE WHEN id > 100 THEN id END + (3 % (id - id)) FROM orders;
-- constant errors inside an aggregate's argument are raised as PostgreSQL's planner raises them
SELECT sum(INTERVAL '1 year' * COALESCE(2147483647, id)) FROM orders WHERE false;
-- LIMIT stops a UNION ALL once it has its rows: the second arm (which would fail) is not read
SELECT id FROM orders UNION ALL SELECT 1 / (id - id) FROM orders LIMIT 2;
-- the largest LIMIT (as ORMs send it) with an OFFSET: no overflow
SELECT id FROM orders ORDER BY id DESC LIMIT 9223372036854775807 OFFSET 1;
SELECT DISTINCT customer FROM orders ORDER BY customer LIMIT 9223372036854775807 OFFSET 9223372036854775807;
SELECT count(*), count(amount), sum(amount), avg(amount), min(customer), max(price), sum(price) FROM orders;
SELECT customer, count(*) AS n, sum(amount) AS total, avg(price) FROM orders GROUP BY customer ORDER BY customer;
SELECT customer, count(*) FROM orders GROUP BY 1 HAVING count(*) > 1;
SELECT customer, id FROM orders GROUP BY customer;
SELECT count(*) FROM orders WHERE id > 100;
SELECT sum(id) FROM orders WHERE id > 100;
SELECT upper(customer) AS who, amount * 2 AS double FROM orders WHERE id <= 2 ORDER BY who;
SELECT id, _partition >= 0 AS has_partition, _offset >= 0 AS has_offset, _key IS NULL AS no_key FROM orders ORDER BY id;
SELECT missing FROM orders;
CREATE TABLE owned (k text, v int);
INSERT INTO owned VALUES ('a', 1);
SELECT * FROM owned;
DROP TABLE owned;
SELECT * FROM owned;
DROP TABLE owned;
DROP TABLE IF EXISTS owned;
CREATE TABLE bad (x uuid);
CREATE TABLE bad2 (x int) WITH (format = 'avro');
SHOW TABLES;
