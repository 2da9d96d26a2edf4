-- numeric as PostgreSQL 15 has it: NaN and the infinities, values of any length up to 131072
-- digits before the point and 16383 after (answers checked against PostgreSQL 15).
SELECT 'NaN'::numeric, 'Infinity'::numeric, '-inf'::numeric, ' +INF '::numeric, 'nan'::numeric;
SELECT 'NaNx'::numeric;
SELECT 'NaN'::numeric = 'NaN'::numeric, 'NaN'::numeric > 'Infinity'::numeric, '-Infinity'::numeric < -1e30;
SELECT 'Infinity'::numeric + 1, 'Infinity'::numeric - 'Infinity'::numeric, 'Infinity'::numeric * 0, 'Infinity'::numeric * -2;
SELECT 1 / 'Infinity'::numeric, 'Infinity'::numeric / 'Infinity'::numeric, 'NaN'::numeric / 0;
SELECT 'Infinity'::numeric / 0;
SELECT 'Infinity'::numeric % 3, 5.5 % 'Infinity'::numeric, 'NaN'::numeric % 0;
SELECT abs('-Infinity'::numeric), -('Infinity'::numeric), sign('NaN'::numeric), sign('-Infinity'::numeric), round('Infinity'::numeric, 2), trunc('NaN'::numeric), floor('-Infinity'::numeric), ceil('Infinity'::numeric);
SELECT 'NaN'::numeric::int;
SELECT 'Infinity'::numeric::bigint;
SELECT '-Infinity'::numeric::float8, 'NaN'::numeric::float8, 'Infinity'::float8::numeric, 'NaN'::float4::numeric;
SELECT 'Infinity'::numeric::numeric(10,2);
SELECT 'NaN'::numeric::numeric(10,2);
SELECT to_jsonb('NaN'::numeric), to_jsonb('Infinity'::numeric), jsonb_build_array('-Infinity'::numeric);
SELECT greatest(1e50, 'Infinity'::numeric, 3), least(1e50, 'NaN'::numeric), 'NaN'::numeric IN (1, 'NaN');
-- past 38 digits
SELECT 123456789012345678901234567890123456789012345678901234567890 * 987654321098765432109876543210;
SELECT 99999999999999999999999999999999999999 + 1, -99999999999999999999999999999999999999 - 1;
SELECT 1e100::numeric, 1.5e-40::numeric, 0.1234567890123456789012345678901234567890;
SELECT 10000000000000000000000000000000000000000 / 3, 1::numeric / 3 * 1e-40, 1 / 3.000000000000000000000000000000000000000000000001;
SELECT 12345678901234567890123456789012345678901234567890.123456789 % 7;
SELECT round(123456789012345678901234567890123456789012.5), round(1234.5678, -2), round(1234.5678, 2), trunc(1234.5678, -2), round(0.5, -1), round(5.5::numeric, 40);
SELECT floor(-123456789012345678901234567890123456789.5), ceil(123456789012345678901234567890123456789.1);
SELECT 123456789012345678901234567890123456789012::numeric::float8;
SELECT 123456789012345678901234567890::numeric::bigint;
SELECT 1e40::numeric = 10000000000000000000000000000000000000000.00, 1e40::numeric < 1e40 + 0.001;
SELECT '1e-20000'::numeric;
SELECT '1e200000'::numeric;
SELECT length((1e131071)::text), length((1e-16383)::text);
-- numeric(p, s) with a negative scale or a scale above the precision
SELECT 12345.678::numeric(5,-2), 12345.678::numeric(7,-2), 0.0012::numeric(2,4);
SELECT 123456::numeric(5,-2);
SELECT 0.012::numeric(2,4);
-- in tables, aggregates, grouping and order
CREATE TABLE nt (id int, x numeric);
INSERT INTO nt VALUES (1, 1), (2, 'Infinity'), (3, 2), (4, 'NaN'), (5, '-Infinity'), (6, 'NaN'), (7, 99999999999999999999999999999999999999), (8, 99999999999999999999999999999999999999), (9, 1e40), (10, 10000000000000000000000000000000000000000.000), (11, -5);
SELECT sum(x), avg(x), min(x), max(x), count(DISTINCT x) FROM nt;
SELECT sum(x), avg(x), min(x), max(x) FROM nt WHERE id IN (1, 2, 3);
SELECT sum(x), avg(x) FROM nt WHERE id IN (1, 2, 5);
SELECT sum(x), avg(x) FROM nt WHERE id IN (7, 8, 9);
SELECT x, count(*) FROM nt GROUP BY x ORDER BY x;
SELECT id, x FROM nt ORDER BY x DESC, id;
SELECT id, x * 2, x / 3, -x, x::float8 FROM nt ORDER BY id;
SELECT a.id, b.id FROM nt a JOIN nt b ON a.x = b.x WHERE a.id < b.id ORDER BY 1, 2;
SELECT x::text, to_jsonb(x), x::numeric(50,2) FROM nt WHERE id NOT IN (2, 5) ORDER BY id;
-- limits of division and conversion
SELECT '1e-1500'::numeric / 1 = 0, length((round(1, 1001) / 1)::text), 1 / 80000000000000000000000000000000000000;
SELECT ceil(('9' || repeat('9',131071) || '.5')::numeric);
SELECT '1e 5'::numeric, '1e -5'::numeric, 1.5::float4, 3.4028235e38::numeric::float4;
SELECT '1e+-5'::numeric;
SELECT 1e-50::float4;
SELECT 1e-400::float8 IS NULL;
-- sqrt, exp, ln, log, power of numeric: computed in numeric, at PostgreSQL's result scales
SELECT sqrt(2::numeric), sqrt(100::numeric), sqrt(1e-10::numeric), sqrt(0::numeric), sqrt(2), pg_typeof(sqrt(2));
SELECT exp(1::numeric), exp(100::numeric), exp(-100::numeric), exp(0.001::numeric), exp(1e-20::numeric);
SELECT ln(2::numeric), ln(1e100::numeric), ln(1.0001::numeric), ln(0.999999999::numeric), ln(0.5::numeric);
SELECT log(2::numeric), log10(100::numeric), log(2, 8), log(0.5, 1000), pg_typeof(log(2, 8));
SELECT 2::numeric ^ 0.5, 2 ^ 0.5, 2::numeric ^ 10, power(2::numeric, 100), 1.5 ^ 3, 0.5::numeric ^ 17;
SELECT power(2::numeric, -2), power(3::numeric, -1), power(-2::numeric, 3), power(2.5::numeric, -3), power(0::numeric, 0), power(0::numeric, 0.5);
SELECT power(10::numeric, 0.1), power(1e-20::numeric, 0.5), power(123.456::numeric, 7.89), power(9.99::numeric, 123.5), 0.9::numeric ^ 2000000000;
SELECT pg_typeof(2 ^ 2), pg_typeof(2.0 ^ 2), pg_typeof(2.0 ^ 2::float8), pg_typeof(power(2, 2.5)), pg_typeof(exp(1)), pg_typeof(ln(1.5));
SELECT power('NaN'::numeric, 0), power(1::numeric, 'NaN'), power('-Infinity'::numeric, 3), power('-Infinity'::numeric, -3), power(0.5::numeric, '-Infinity'), power(-1::numeric, 'Infinity'), exp('-Infinity'::numeric), log('Infinity'::numeric, 2), sqrt('NaN'::numeric);
SELECT sqrt(-1::numeric);
SELECT sqrt('-Infinity'::numeric);
SELECT ln(0::numeric);
SELECT ln(-1::numeric);
SELECT log(1::numeric, 2::numeric);
SELECT log(0::numeric, 2::numeric);
SELECT power(0::numeric, -1);
SELECT power(-2::numeric, 0.5);
SELECT power('-Infinity'::numeric, 0.5);
SELECT power(0::numeric, '-Infinity');
SELECT exp(6000::numeric);
SELECT 2::numeric ^ 1000000;
SELECT power(1 + 1e-45::numeric, 0.5), 1.0000001::numeric ^ 2000000000, exp(1e-45::numeric);
SELECT sqrt(1e-2001::numeric) = 0, sqrt(('0.' || repeat('0', 2500) || '4')::numeric) = 0;
-- Nested casts to numeric(p,s): each type modifier rounds in turn (checked against PostgreSQL 15).
CREATE TABLE nc (n numeric);
INSERT INTO nc VALUES (2.5), (123.456), (-0.5);
SELECT (n::numeric(3,0))::numeric(10,2) FROM nc ORDER BY n;
SELECT (CAST(n AS numeric(5,1)))::decimal(12,4) FROM nc ORDER BY n;
SELECT (n::numeric(4,2))::numeric(10,2) FROM nc ORDER BY n;
SELECT ((n * 2)::numeric(6,1))::numeric(8,3) FROM nc ORDER BY n;
