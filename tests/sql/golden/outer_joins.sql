-- RIGHT and FULL joins in bounded queries (answers checked against PostgreSQL 15): unmatched rows of
-- the right side with NULLs before them, USING columns merged (the right one for RIGHT, COALESCE for
-- FULL), chains, and PostgreSQL's refusal of a FULL JOIN condition it cannot hash.
CREATE TABLE ja (id int, x text);
CREATE TABLE jb (id int, y text);
CREATE TABLE jc (id numeric, z text);
INSERT INTO ja VALUES (1,'a1'),(2,'a2'),(3,'a3'),(NULL,'anull');
INSERT INTO jb VALUES (2,'b2'),(3,'b3'),(3,'b3bis'),(4,'b4'),(NULL,'bnull');
INSERT INTO jc VALUES (1,'c1'),(4,'c4'),(5,'c5');
SELECT * FROM ja RIGHT JOIN jb ON ja.id = jb.id ORDER BY jb.y;
SELECT * FROM ja FULL JOIN jb ON ja.id = jb.id ORDER BY ja.x, jb.y;
SELECT * FROM ja FULL JOIN jb USING (id) ORDER BY id, x, y;
SELECT id, x, y FROM ja RIGHT JOIN jb USING (id) ORDER BY id, y;
SELECT * FROM ja FULL OUTER JOIN jb USING (id) FULL JOIN jc USING (id) ORDER BY id, x, y, z;
SELECT ja.id, jb.id, jc.id FROM ja LEFT JOIN jb ON ja.id = jb.id RIGHT JOIN jc ON jc.id = ja.id ORDER BY 3, 1, 2;
SELECT * FROM ja FULL JOIN jb ON ja.id = jb.id AND jb.y <> 'b3' ORDER BY ja.x, jb.y;
SELECT * FROM ja FULL JOIN jb ON ja.id < jb.id ORDER BY ja.x, jb.y;
SELECT count(*), count(ja.id), count(jb.id) FROM ja FULL JOIN jb ON true;
SELECT * FROM ja NATURAL FULL JOIN jb ORDER BY 1, 2, 3;
SELECT id, count(*) FROM ja FULL JOIN jb USING (id) GROUP BY id ORDER BY id;
SELECT * FROM ja FULL JOIN jb ON ja.id = jb.id WHERE ja.id IS NULL ORDER BY jb.y;
SELECT * FROM ja RIGHT JOIN jb ON ja.id = jb.id LIMIT 2;
SELECT * FROM (SELECT * FROM ja) a FULL JOIN (VALUES (3, 'v3'), (9, 'v9')) v(id, w) USING (id) ORDER BY id;
SELECT * FROM ja RIGHT JOIN jb USING (id) RIGHT JOIN jc USING (id) ORDER BY id;
CREATE MATERIALIZED VIEW fj AS SELECT * FROM ja FULL JOIN jb USING (id);
EXPLAIN SELECT * FROM ja FULL JOIN jb USING (id);
