-- introspection: SHOW COLUMNS / SHOW CREATE, system relations, client functions, EXPLAIN
CREATE TABLE orders (id bigint, customer text, amount numeric, ts timestamptz) WITH (partitions = 3);
CREATE TABLE "Mixed Case" ("select" integer, ok boolean) WITH (topic = 'mixed', dead_letter = '');
CREATE TABLE clicks (page text, n real) WITH (topic = 'clicks', dead_letter = 'bad_clicks');
CREATE TABLE quotes (sym text, px numeric) WITH (topic = 'quotes', format = 'csv', csv.delimiter = ';', csv.quote = '''');
INSERT INTO orders VALUES (1, 'alice', 10.5, '2024-01-01T10:00:00Z'), (2, 'bob', 3, NULL);
CREATE MATERIALIZED VIEW revenue AS
  SELECT customer, count(*) AS n, sum(amount) AS total FROM orders WHERE amount > 1 GROUP BY customer;
CREATE MATERIALIZED VIEW big WITH (topic = 'big_orders') AS SELECT id, amount * 2 AS double FROM orders WHERE amount >= 10;
-- SHOW COLUMNS / SHOW CREATE
SHOW COLUMNS FROM orders;
show columns from "Mixed Case";
SHOW COLUMNS FROM revenue;
SHOW COLUMNS FROM public.clicks;
SHOW COLUMNS FROM information_schema.tables;
SHOW COLUMNS FROM nowhere;
SHOW COLUMNS FROM other.orders;
SHOW CREATE TABLE orders;
SHOW CREATE TABLE "Mixed Case";
SHOW CREATE TABLE clicks;
SHOW CREATE TABLE quotes;
SHOW CREATE TABLE revenue;
SHOW CREATE MATERIALIZED VIEW revenue;
SHOW CREATE MATERIALIZED VIEW big;
SHOW CREATE MATERIALIZED VIEW orders;
SHOW /* comment */ CREATE TABLE nowhere;
-- several statements in one query string (psql's \;): positions stay right
SELECT 1 AS before \; SHOW COLUMNS FROM clicks \; SELECT 'SHOW COLUMNS FROM x;' AS after;
SHOW COLUMNS FROM clicks \; SELECT nope FROM clicks;
SHOW CREATE TABLE clicks \; SHOW MATERIALIZED VIEWS \; SELEC 1;
SHOW COLUMNS FROM;
SHOW CREATE TABLE orders extra;
-- system relations
SELECT table_catalog, table_schema, table_name, table_type, is_insertable_into FROM information_schema.tables ORDER BY table_name;
SELECT table_name, column_name, ordinal_position, data_type, is_nullable, udt_name, numeric_precision, numeric_scale, datetime_precision
  FROM information_schema.columns WHERE table_name <> 'clicks' ORDER BY table_name, ordinal_position;
SELECT count(*) FROM information_schema.columns WHERE table_schema = 'public';
SELECT * FROM pg_catalog.pg_tables ORDER BY tablename LIMIT 2;
SELECT tablename FROM pg_tables WHERE tablename LIKE 'c%';
SELECT schemaname, matviewname, matviewowner, ispopulated, definition FROM pg_catalog.pg_matviews ORDER BY matviewname;
SELECT * FROM pg_catalog.pg_class;
SELECT relname FROM pg_class;
SELECT c.relname FROM pg_catalog.pg_class c LEFT JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace;
SELECT * FROM information_schema.views;
SELECT * FROM pg_catalog.nope;
SELECT * FROM public.pg_tables;
CREATE MATERIALIZED VIEW sys AS SELECT table_name FROM information_schema.tables;
INSERT INTO information_schema.tables VALUES ('x');
-- functions clients call
SELECT current_database(), current_schema(), current_schema, current_catalog;
SELECT current_user, session_user, user, current_role;
SELECT pg_backend_pid() > 0 AS has_pid;
SELECT current_setting('server_version_num'), current_setting('search_path');
SELECT current_schemas(true);
-- EXPLAIN of bounded queries
EXPLAIN SELECT * FROM orders;
EXPLAIN SELECT customer, sum(amount) AS total FROM orders WHERE amount > 1 AND customer LIKE 'a%' GROUP BY customer HAVING count(*) > 1 ORDER BY total DESC NULLS LAST LIMIT 10;
EXPLAIN SELECT count(*) FROM orders WHERE ts IS NOT NULL OFFSET 1;
EXPLAIN SELECT id FROM orders WHERE customer IN ('a', 'b') ORDER BY id;
EXPLAIN SELECT n, total FROM revenue WHERE n > 1;
EXPLAIN SELECT table_name FROM information_schema.tables;
EXPLAIN SELECT 1;
EXPLAIN (COSTS OFF) SELECT id FROM orders WHERE id = -1;
EXPLAIN ANALYZE SELECT * FROM orders;
EXPLAIN (FORMAT JSON) SELECT * FROM orders;
EXPLAIN (VERBOSE) SELECT * FROM orders;
EXPLAIN INSERT INTO orders VALUES (3, 'c', 1, NULL);
EXPLAIN SELECT * FROM nowhere;
-- EXPLAIN of materialized views: the dataflow the stream engine runs
EXPLAIN CREATE MATERIALIZED VIEW r2 AS
  SELECT customer, count(*) AS n, sum(amount) AS total FROM orders WHERE amount > 1 GROUP BY customer HAVING sum(amount) > 5;
EXPLAIN CREATE MATERIALIZED VIEW r3 WITH (topic = 'r3_out') AS SELECT customer, count(*) FROM orders GROUP BY 1;
EXPLAIN CREATE MATERIALIZED VIEW p1 WITH (topic = 'p1_out') AS SELECT page, n * 2 AS twice FROM clicks;
EXPLAIN CREATE MATERIALIZED VIEW p2 AS SELECT count(*) FROM "Mixed Case" WHERE ok;
EXPLAIN CREATE MATERIALIZED VIEW p3 AS SELECT page FROM clicks ORDER BY page;
-- the date/time, jsonb and bytea types
CREATE TABLE typed (d date, t timestamp, i interval, j jsonb, b bytea);
SELECT column_name, data_type, udt_name, datetime_precision, character_octet_length FROM information_schema.columns WHERE table_name = 'typed' ORDER BY ordinal_position;
SHOW CREATE TABLE typed;
EXPLAIN SELECT d FROM typed WHERE t > '2024-01-01' AND i < '1 day' AND d <> '2024-01-02';
