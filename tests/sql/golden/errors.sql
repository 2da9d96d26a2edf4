-- every error names its SQLSTATE; positions point into the statement
SELECT 2147483647 + 1;
SELECT 9223372036854775807::bigint * 2;
SELECT 32767::smallint + 1::smallint;
SELECT 1 / 0;
SELECT 1.0 / 0;
SELECT 5 % 0;
SELECT 1::float8 / 0;
SELECT 'abc'::int;
SELECT 'abc' + 1;
SELECT 1 + 'abc'::text;
SELECT no_such_function(1);
SELECT lower(1);
SELECT missing_column;
SELECT * FROM missing_table;
SELECT 1 +;
SELECT sqrt(-1);
SELECT 'x'::uuid;
SELECT 1 INTERSECT SELECT 2;
SELECT count(*) FROM (SELECT 1) s;
CREATE INDEX i ON t (x);
SELECT 1; SELECT 1/0; SELECT 'not reached';
SHOW no_such_setting;
-- the simple query protocol has no parameters
SELECT $1 IN (1, 2);
SELECT 'still works';
-- ORDER BY a name two different outputs have
SELECT 1 AS w, 2 AS w ORDER BY w;
SELECT 1 AS w, 1 AS w ORDER BY w;
-- IS TRUE and IS FALSE of one column are different outputs
SELECT true IS TRUE AS x, true IS FALSE AS x ORDER BY x;
-- compared as written, before simplification: 1 + 0 is not 1, nor a CASE that simplifies to x
SELECT 1 AS x, 1 + 0 AS x ORDER BY x;
SELECT 2 AS x, CASE 1 WHEN 2 THEN 3 ELSE 2 END AS x ORDER BY x;
SELECT 2 AS x, 2::int AS x ORDER BY x;
