-- GROUP BY, DISTINCT, UNION and join keys compare values by equality, not by their text:
-- 1.0 = 1.00 = 1, 0 = -0, NaN = NaN, '1 mon' = '30 days' (answers checked against PostgreSQL 15).
CREATE TABLE r (n numeric, f float8, iv interval, t text);
INSERT INTO r VALUES (1.0, 0, '1 mon', 'a'), (1.00, '-0', '30 days', 'a'), (1, 0, '1 day', 'b'), (2, 1.5, '24:00:00', 'b'), (NULL, 'NaN', NULL, NULL), (NULL, 'NaN', NULL, 'a');
SELECT n, count(*) FROM r GROUP BY n ORDER BY n;
SELECT f, count(*) FROM r GROUP BY f ORDER BY f;
SELECT iv, count(*) FROM r GROUP BY iv ORDER BY iv;
SELECT count(DISTINCT n), count(DISTINCT f), count(DISTINCT iv), count(DISTINCT t) FROM r;
SELECT sum(DISTINCT n), avg(DISTINCT f) FROM r;
SELECT DISTINCT n FROM r ORDER BY n;
SELECT DISTINCT f FROM r ORDER BY f;
SELECT n FROM r UNION SELECT 1.000 ORDER BY 1;
SELECT count(*) FROM r a JOIN r b ON a.n = b.n;
SELECT count(*) FROM r a JOIN r b ON a.f = b.f;
SELECT count(*) FROM r a JOIN r b ON a.iv = b.iv;
SELECT t, n, count(*) FROM r GROUP BY t, n ORDER BY t, n;
SELECT DISTINCT t, n FROM r ORDER BY t, n;
SELECT DISTINCT t FROM r ORDER BY t DESC;
SELECT DISTINCT n + 1 AS m FROM r ORDER BY n + 1;
SELECT DISTINCT t FROM r ORDER BY n;
SELECT DISTINCT count(*) FROM r GROUP BY t ORDER BY 1;
SELECT DISTINCT t FROM r ORDER BY 1 LIMIT 2;
SELECT count(*) FROM r GROUP BY 'abc';
SELECT t FROM r GROUP BY 1.5;
SELECT t FROM r ORDER BY 'abc';
SELECT t FROM r ORDER BY NULL;
SELECT DISTINCT ON (t) t FROM r;
-- sum(float8) starts from its first input (-0 alone sums to -0), avg from 0; finite inputs whose
-- sum overflows raise in avg as in sum
CREATE TABLE z (f float8);
INSERT INTO z VALUES ('-0'), ('-0');
SELECT sum(f), avg(f) FROM z;
INSERT INTO z VALUES (1e308), (1e308);
SELECT avg(f) FROM z;
DROP TABLE z;
-- sum and avg of intervals: months, days and time add apart; avg divides as interval / float8
CREATE TABLE iv (g int, d interval);
INSERT INTO iv VALUES (1, '1 mon'), (1, '30 days'), (1, '1 day'), (1, '24:00:00'), (2, NULL), (2, '-1 year 2 mons');
SELECT g, sum(d), avg(d), count(d) FROM iv GROUP BY g ORDER BY g;
SELECT sum(d), avg(d) FROM iv WHERE g = 3;
INSERT INTO iv VALUES (3, '178000000 years'), (3, '178000000 years');
SELECT sum(d) FROM iv WHERE g = 3;
DROP TABLE iv;
-- avg of floats keeps PostgreSQL's sum of squared deviations and raises when finite inputs overflow it
CREATE TABLE ft (id int, g float8);
INSERT INTO ft VALUES (1, 0.1), (2, 1e300), (3, -1e300), (4, 'Infinity'), (5, 1e200), (6, 5), (7, 'NaN');
SELECT avg(g) FROM ft WHERE id IN (1, 2);
SELECT avg(g) FROM ft WHERE id IN (5, 6);
SELECT avg(g), sum(g) FROM ft WHERE id IN (2, 3);
SELECT avg(g) FROM ft WHERE id IN (2, 4);
SELECT avg(g) FROM ft WHERE id IN (1, 6);
SELECT avg(g) FROM ft WHERE id IN (7, 5);
SELECT avg(g::float4) FROM ft WHERE id IN (1, 6);
DROP TABLE ft;
