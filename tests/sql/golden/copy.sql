CREATE TABLE people (id int, name text, score numeric, joined timestamptz);
COPY people FROM STDIN;
1	alice	10.5	2024-01-01 10:00:00+00
2	\N	\N	\N
3	tab\there\\back	0	2024-02-01T00:00:00Z
\.
COPY people FROM STDIN (FORMAT csv, HEADER);
id,name,score,joined
4,"smith, john",1.25,
5,"",2,
6,"line
break",3,
\.
COPY people (name, id) FROM STDIN WITH (FORMAT csv, DELIMITER ';', NULL 'NULL');
carol;7
NULL;8
\.
COPY people FROM STDIN WITH CSV HEADER;
id,name,score,joined
\.
SELECT id, name, name IS NULL AS null_name, score, joined FROM people ORDER BY id;
COPY people FROM STDIN;
9	ok	1	\N
ten	bad	1	\N
\.
COPY people FROM STDIN;
11	short
\.
COPY people FROM STDIN;
12	long	1	\N	extra
\.
COPY people FROM STDIN (FORMAT csv);
99999999999,x,1,
\.
COPY people FROM STDIN (FORMAT csv);
14,"never closed
\.
COPY people (id, name) FROM STDIN (FORMAT csv, HEADER match);
id,nom
\.
COPY people (id, name) FROM STDIN (FORMAT csv, HEADER match);
id,name
15,matched
\.
SELECT count(*) FROM people;
COPY people (id, id) FROM STDIN;
\.
COPY people (nope) FROM STDIN;
\.
COPY nosuch FROM STDIN;
\.
COPY people FROM '/tmp/people.txt';
COPY people FROM STDIN (FORMAT binary);
\.
COPY people FROM STDIN (FORMAT xml);
\.
COPY people FROM STDIN (DELIMITER ',', DELIMITER ';');
\.
COPY people FROM STDIN (QUOTE '"');
\.
COPY people FROM STDIN (FORMAT csv, DELIMITER '"');
\.
COPY people FROM STDIN (DELIMITER ';;');
\.
COPY people FROM STDIN (HEADER 'maybe');
\.
COPY people FROM STDIN (BOGUS 1);
\.
COPY people TO STDOUT;
COPY people (id, name) TO STDOUT (FORMAT csv, HEADER);
COPY (SELECT id, score * 2 AS double FROM people WHERE score > 1 ORDER BY id) TO STDOUT (FORMAT csv, DELIMITER '|');
COPY (SELECT 'a\b' AS x, E'tab\there' AS y, '' AS z, NULL AS w) TO STDOUT;
COPY (SELECT '\.' AS x) TO STDOUT (FORMAT csv);
COPY people TO STDOUT (HEADER match);
CREATE TABLE lines (line text) WITH (format = 'text');
CREATE TABLE pairs (k text, v int) WITH (format = 'csv');
COPY lines FROM STDIN;
first line
second	with tab
\N
\.
COPY lines FROM STDIN;
first line
second\twith tab
\N
escaped\
line break
\.
COPY pairs FROM STDIN (FORMAT csv);
a,1
"b,c",2
,3
\.
SELECT line, line IS NULL AS null_line FROM lines ORDER BY _offset;
\copy pairs FROM STDIN WITH (FORMAT csv, HEADER)
k,v
"d ""quoted""",4
\.
SELECT k, k IS NULL AS null_k, v FROM pairs ORDER BY v;
CREATE TABLE pairs_raw (line text) WITH (topic = 'pairs', format = 'text');
SELECT line FROM pairs_raw ORDER BY _offset;
CREATE MATERIALIZED VIEW people_view AS SELECT id FROM people;
COPY people_view FROM STDIN;
\.
COPY people_view TO STDOUT;
COPY (SELECT count(*) FROM people_view WHERE id < 0) TO STDOUT;
BEGIN;
COPY pairs FROM STDIN (FORMAT csv);
z,notanumber
\.
COPY pairs FROM STDIN (FORMAT csv);
\.
ROLLBACK;
SELECT count(*) FROM pairs;
CREATE TABLE fq (a int, b text, c text);
COPY fq FROM STDIN (FORMAT csv, FORCE_NOT_NULL (b), FORCE_NULL (c));
1,,""
2,"",
\.
SELECT a, b IS NULL AS b_null, b = '' AS b_empty, c IS NULL AS c_null FROM fq ORDER BY a;
COPY fq TO STDOUT (FORMAT csv, FORCE_QUOTE (a, b));
COPY fq TO STDOUT (FORMAT csv, FORCE_QUOTE *);
COPY fq FROM STDIN (FORCE_NULL (c));
\.
COPY fq FROM STDIN (FORMAT csv, FORCE_QUOTE (a));
\.
COPY fq TO STDOUT (FORMAT csv, FORCE_NOT_NULL (a));
COPY fq FROM STDIN (FORMAT csv, FORCE_NULL (zz));
\.
COPY (SELECT a AS x FROM fq) TO STDOUT (FORMAT csv, FORCE_QUOTE (x));
