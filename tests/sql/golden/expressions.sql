-- literals and their types
SELECT 1, 2147483648, 1.50, 'text', true, NULL;
SELECT pg_typeof(1), pg_typeof(2147483648), pg_typeof(1.5), pg_typeof('x'::text), pg_typeof(1::float4 + 1);
-- arithmetic
SELECT 7 / 2, -7 / 2, 7 % 3, 7.0 / 2, 1.0 / 3, 2 ^ 10, 10.25 * 4, 0.1 + 0.2, 0.1::float8 + 0.2;
SELECT 1e20::float8, 1e-5::float8, 123456789012345678::float8, 1.5::real * 2;
SELECT 2.5::int, 3.5::int, 2.5::float8::int, '42'::int + 1, 7::numeric(10,2), 1.005::numeric(10,2);
-- comparisons, boolean logic, three-valued
SELECT 1 < 2, 'a' = 'a', 'a' <> 'b', 2 BETWEEN 1 AND 3, 5 NOT BETWEEN 1 AND 3;
SELECT true AND NULL, false AND NULL, true OR NULL, false OR NULL, NOT NULL::bool;
SELECT NULL = NULL, NULL IS NULL, 1 IS NOT NULL, NULL::bool IS TRUE, NULL::bool IS NOT FALSE;
SELECT 1 IN (1, 2), 3 IN (1, 2), 3 IN (1, NULL), 3 NOT IN (1, 2), 1 + NULL;
-- CASE, COALESCE, NULLIF, GREATEST
SELECT CASE WHEN 1 > 2 THEN 'a' WHEN 2 > 1 THEN 'b' ELSE 'c' END, CASE 3 WHEN 1 THEN 'one' END;
SELECT COALESCE(NULL, NULL, 3), COALESCE(NULL::text, 'x'), NULLIF(1, 1), NULLIF(1, 2), GREATEST(1, 5, 3), LEAST(2.5, 1);
-- branches PostgreSQL's simplification never reaches are not evaluated; reachable ones are
SELECT CASE WHEN 1 = 0 THEN 1/0 ELSE 2 END, coalesce(1, 1/0), true OR (1/0 = 1), false AND (1/0 = 1);
SELECT CASE WHEN NULL THEN 1/0 WHEN true THEN 3 ELSE 1/0 END, CASE 1 WHEN 2 THEN 1/0 ELSE 4 END, coalesce(NULL, 5, 1/0);
SELECT (1/0 = 1) OR true;
SELECT coalesce(NULL, 1/0, 1);
SELECT CASE WHEN 1 = 1 THEN 1 ELSE 1/0 END + CASE WHEN 2 > 1 THEN 1/0 END;
-- strings
SELECT lower('ABC'), upper('abc'), length('héllo'), substr('hello', 2, 3), substring('hello' from 3);
SELECT concat('a', 1, NULL, true), replace('banana', 'an', 'AN'), trim('  x  '), ltrim('xxy', 'x'), 'a' || 'b' || 1;
SELECT 'abc' LIKE 'a%', 'abc' LIKE '_b_', 'ABC' ILIKE 'a%', 'abc' NOT LIKE '%d', 'a_c' LIKE 'a\_c';
-- math
SELECT abs(-5), abs(-2.5), round(2.5), round(2.345, 2), round(1234.5, -2), floor(-1.5), ceil(1.2), floor(2.7::float8);
SELECT sqrt(16), power(2, 8), mod(10, 3), mod(10.5, 3), abs(-7::smallint);
-- aliases and ordering without a table
SELECT 1 AS a, 2 AS b ORDER BY 1 DESC;
SELECT version(), current_setting('server_version');
-- float8 output is the shortest text that reads back as the same value without a tie
SELECT 5.0789657320637616e+16::float8, '26936991774531368'::float8, '76570621.721847489'::float4, 0.1::float8 + 0.2;
-- numeric literals of any length stay numeric and cast to the nearest double; float4 rounds to its maximum
SELECT 1e-300::float8, 1e300::float8 * 10, 3.4028235e38::float4, 999999999999999999999999999999999999999::float8;
SELECT '3.5e38'::float8::float4;
-- underflow and overflow of float arithmetic; Infinity and NaN pass through
SELECT '1e-300'::float8 * '1e-300'::float8;
SELECT '1e-300'::float8 / '1e300'::float8;
SELECT 'NaN'::float8 / 0, 'Infinity'::float8 * 2, 0 * 'Infinity'::float8;
SELECT 1::float8 / 0;
SELECT '1e308'::float8 * 10;
-- -2147483648 is an integer, as in PostgreSQL
SELECT pg_typeof(-2147483648), pg_typeof(2147483648), -2147483648;
SELECT -2147483648 * 2;
-- trim works on characters, not bytes
SELECT trim('ß', 'é'), btrim('éaé', 'é'), ltrim('ééa', 'é'), rtrim('aéé', 'éa'), trim(both 'xé' from 'éxaxé'), rtrim('日本語', '語');
CREATE TABLE fl (f float8, g real);
INSERT INTO fl VALUES ('Infinity', 1), (1, 2), (1e308, 3e38), (1e308, 3e38);
SELECT sum(f) FROM fl WHERE f < 2 OR f = 'Infinity';
SELECT sum(f) FROM fl;
SELECT sum(g) FROM fl;
-- numeric division takes PostgreSQL's result scale (at least 16 significant digits; equal first digits assume a quotient below 1)
SELECT 10001::numeric / 10002, 2::numeric / 2.5, 1::numeric / 3, 10::numeric / 4, -7::numeric / 2, 7.5 / -2.5;
SELECT 12345678901234567890::numeric / 7, 0.0001 / 3, 99999999999999999999.5 / 0.5;
SELECT 1.000 / 3, 100::numeric / 7.0, 5::numeric / 1e-10;
CREATE TABLE ints (i int, n numeric);
INSERT INTO ints VALUES (1, 1.5), (1, 2.25), (1, 10);
SELECT avg(i), avg(n), sum(n) / count(*) FROM ints;
-- numeric(p, s) casts round to s and raise 22003 when more than p - s integer digits remain
SELECT CAST(123456 AS numeric(5,2));
SELECT 99.99::numeric(3,1);
SELECT 99.94::numeric(3,1), 123.456::numeric(6,2), 0.5::numeric(1), (-999.5)::numeric(4,0);
SELECT 1::numeric(0);
SELECT 1::numeric(1001);
SELECT 0.001::numeric(2,3), 0.01::numeric(2,3);
SELECT 0.1::numeric(2,3);
CREATE TABLE np (x numeric);
INSERT INTO np VALUES (1.25), (999.99), (12345);
SELECT x::numeric(5,2) FROM np;
-- numeric comparison is exact whatever the scales (aligning 9223372036854775807 to scale 20 needs 39 digits)
SELECT 9223372036854775807::numeric > -1.00000000000000000000, 9223372036854775807::numeric < 1.5, -0.5 < 0.3, -1.5 < -1.2, 1.10 = 1.1, 12345678901234567890123.5 > 12345678901234567890123.45;
-- output names as PostgreSQL figures them: CASE takes its ELSE result's name, a cast its operand's
SELECT CASE WHEN true THEN 1 ELSE abs(-2) END, CAST(CAST('2024-01-01' AS timestamp) AS date), CASE WHEN false THEN 1 END, '1'::int::text, CAST(coalesce(1, 2) AS text);
-- a NULL constant argument makes a strict call NULL, but the other arguments' constant errors still count
SELECT 1/0 + NULL::int;
SELECT NULLIF(NULL::int, 1/0);
-- an aggregate's argument raises its constant error at bind time, as PostgreSQL's planner; an
-- aggregate in a branch simplification removes is neither checked nor computed
SELECT sum(1/0);
SELECT CASE WHEN false THEN sum(1/0) END, false AND bool_or(1/0 = 1), count(*);
-- float keys keep their own text
SELECT jsonb_build_object(1e20::float8, 1, -0::float8, 2);
-- a typed constant's failing cast in a branch simplification removes is not an error
SELECT CASE WHEN false THEN (-3000000000)::int4 ELSE 0 END, COALESCE(1, (-3000000000)::int4), COALESCE(mod(10, 1), NULLIF(mod(NULL::int, 10), (-3000000000)::int4), 3);
SELECT (-3000000000)::int4;
-- a type modifier is applied when the planner folds (even to a literal), so a removed branch does not fail
SELECT CASE WHEN false THEN 123456::numeric(5,2) END, CASE WHEN false THEN '123456'::numeric(5,2) END, COALESCE(1, CAST(9223372036854775807 AS decimal(12,4)));
-- errors of parse analysis (bad literal text) come before the planner's, whichever arm or clause holds them
SELECT 1/0 UNION ALL SELECT 'abc'::int;
SELECT (2147483647 * 2) AS u UNION ALL SELECT CAST('2024-13-01' AS date)::text;
-- among the planner's, the select list before WHERE and LIMIT, and a UNION's own LIMIT before its arms
SELECT 2147483647 + 1 WHERE 1/0 = 1;
SELECT 1/0 AS a UNION SELECT 2 ORDER BY 1 LIMIT (2147483647 + 1);
