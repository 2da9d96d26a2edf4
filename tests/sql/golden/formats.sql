CREATE TABLE raw (line text) WITH (topic = 'events', format = 'text');
CREATE TABLE events (id int, name text, amount numeric, ts timestamptz) WITH (topic = 'events', format = 'csv');
INSERT INTO raw VALUES ('1,alice,10.5,2024-01-01 10:00:00+00'), ('2,"bob, jr.",,'), ('3,"say ""hi""",1,'), ('4,"",2,'), (E'5,"two\nlines",3,');
INSERT INTO raw VALUES ('6,x'), ('seven,x,1,'), ('8,"open,1,'), ('9,x,1,2,3'), (NULL), (E'10,x,1,\n'), (E'11,x,1,\r\n'), (E'12,x\n,1,');
SELECT * FROM events ORDER BY id;
SELECT id, name IS NULL AS null_name, name = '' AS empty_name, amount IS NULL AS null_amount FROM events ORDER BY id;
SELECT line, line IS NULL AS null_line FROM raw ORDER BY _offset;
INSERT INTO events VALUES (20, 'with,comma', 3.25, '2024-01-02T00:00:00Z'), (21, NULL, NULL, NULL), (22, '', 0, NULL), (23, 'quote"d', -1.5, NULL), (24, E'multi\nline', 1, NULL);
SELECT line FROM raw WHERE _offset >= 13 ORDER BY _offset;
SELECT id, name, name IS NULL AS null_name, amount, ts FROM events WHERE id >= 20 ORDER BY id;
SELECT count(*), sum(amount) FROM events;
CREATE TABLE semi (a int, b text) WITH (topic = 'semi', format = 'csv', csv.delimiter = ';', csv.quote = '''');
CREATE TABLE semi_raw (line text) WITH (topic = 'semi', format = 'text');
INSERT INTO semi VALUES (1, 'x;y'), (2, 'it''s'), (3, 'a,b');
INSERT INTO semi_raw VALUES ('4;''q;''''uoted'''), ('5;plain"text');
SELECT line FROM semi_raw ORDER BY _offset;
SELECT * FROM semi ORDER BY a;
SHOW TABLES;
CREATE TABLE t1 (a int, b text) WITH (format = 'text');
CREATE TABLE t2 (a int) WITH (format = 'text');
CREATE TABLE t3 (a text) WITH (format = 'json', csv.delimiter = ';');
CREATE TABLE t4 (a text) WITH (format = 'csv', csv.delimiter = ';;');
CREATE TABLE t5 (a text) WITH (format = 'csv', csv.delimiter = '"');
CREATE TABLE t6 (a text) WITH (format = 'xml');
CREATE TABLE t7 (a text) WITH (format = 'csv', csv.escape = '\');
CREATE TABLE t8 (a text) WITH (format = text);
CREATE TABLE blobs (b bytea) WITH (topic = 'events', format = 'bytes');
SELECT b FROM blobs ORDER BY _offset LIMIT 2;
CREATE TABLE bin (b bytea) WITH (format = 'bytes');
INSERT INTO bin VALUES ('\x00ff41'), (NULL), ('hello');
COPY bin FROM STDIN;
\\x0102
\N
\.
SELECT b, b IS NULL AS null_b, length(b) FROM bin ORDER BY _offset;
COPY bin TO STDOUT;
COPY bin TO STDOUT (FORMAT csv);
CREATE TABLE bad_bytes (b text) WITH (format = 'bytes');
CREATE TABLE bad_bytes2 (a bytea, b bytea) WITH (format = 'bytes');
