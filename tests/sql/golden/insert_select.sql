-- INSERT ... SELECT (answers checked against PostgreSQL 15): the query runs to the end before a
-- row is written, each column is assigned as INSERT ... VALUES assigns (assignment casts,
-- unknown literals take the target's type), missing columns are NULL.
CREATE TABLE ins_src (a int, b text);
CREATE TABLE ins_dst (x int, y text, z date);
INSERT INTO ins_src VALUES (1, 'one'), (2, 'two'), (3, NULL);
INSERT INTO ins_dst SELECT a, b FROM ins_src WHERE a > 1;
INSERT INTO ins_dst (z, x) SELECT '2024-01-02', a * 10 FROM ins_src;
INSERT INTO ins_dst (x) SELECT 1, 2;
INSERT INTO ins_dst (x, y) SELECT 1;
INSERT INTO ins_dst (x, x) SELECT 1, 2;
INSERT INTO ins_dst (z) SELECT 1;
INSERT INTO ins_dst (nope) SELECT 1;
WITH w AS (SELECT 7 AS k) INSERT INTO ins_dst (x) SELECT k FROM w;
INSERT INTO ins_dst (x) VALUES (100), (50) ORDER BY 1 LIMIT 1;
INSERT INTO ins_dst (x, y) SELECT a, b FROM ins_src UNION ALL SELECT 9, 'nine';
INSERT INTO ins_dst (y) SELECT x FROM ins_dst WHERE x = 9;
INSERT INTO ins_dst (x) SELECT 1 / 0;
INSERT INTO ins_dst (x) SELECT 3000000000;
INSERT INTO ins_dst (x) SELECT a FROM ins_src WHERE a > 5;
SELECT * FROM ins_dst ORDER BY x, y, z;
-- The query reads the target table as it was: the table doubles, once.
INSERT INTO ins_src SELECT a + 10, b FROM ins_src;
SELECT count(*), sum(a) FROM ins_src;
-- A primary-key table takes the latest row per key.
CREATE TABLE ins_pk (id int PRIMARY KEY, v text);
INSERT INTO ins_pk SELECT a % 2, b FROM ins_src WHERE b IS NOT NULL ORDER BY a;
SELECT * FROM ins_pk ORDER BY id;
INSERT INTO ins_pk SELECT NULL, 'x';
INSERT INTO information_schema.tables SELECT 1;
-- WITH before INSERT ... VALUES: the values are typed by their columns as without it.
WITH c AS (SELECT 1) INSERT INTO ins_dst (x, z) VALUES (77, '2024-03-04'), (DEFAULT, NULL);
SELECT * FROM ins_dst WHERE x = 77 OR (x IS NULL AND y IS NULL);
-- set_config in INSERT's query is a function, not a SET.
INSERT INTO ins_dst (y) SELECT set_config('application_name', 'x', false);
