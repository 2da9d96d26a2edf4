-- jsonb input and canonical output: keys by length then bytes, last duplicate wins, numbers as numeric
SELECT '{"b": [1, 2.50, 1e2], "a": {"cc": null, "c": "x\ny"}, "a": 3, "aa": true}'::jsonb;
SELECT '  [ ]  '::jsonb, '-0'::jsonb, '1.0e1'::jsonb, '[1E-2, -12.5e-1]'::jsonb, '"\u00e9\t"'::jsonb, '{}'::jsonb, 'null'::jsonb;
SELECT '{"x": 1}'::json, pg_typeof('{}'::jsonb), '{"k": [true, false, null]}'::jsonb::text;
SELECT '{x'::jsonb;
SELECT '[1, 2'::jsonb;
SELECT '{"a": 1} junk'::jsonb;
-- -> ->> #> #>>
SELECT '{"a": {"b": [1, {"c": "d"}]}}'::jsonb -> 'a', '{"a": "x"}'::jsonb ->> 'a', '{"a": 1}'::jsonb -> 'zz', '[1, 2, 3]'::jsonb -> -1, '[1, 2, 3]'::jsonb -> 5, '[1, 2, 3]'::jsonb ->> 0;
SELECT '{"a": {"b": [1, {"c": "d"}]}}'::jsonb #> '{a,b,1}', '{"a": {"b": [1, {"c": "d"}]}}'::jsonb #>> '{a,b,1,c}', '{"a": {"b": [1, 2]}}'::jsonb #>> '{a,b,-1}', '{"a": null}'::jsonb ->> 'a', '{"a": null}'::jsonb -> 'a';
SELECT '{"a b": {"c": 1}}'::jsonb #> '{"a b", c}', '[1]'::jsonb #> '{}', '{"a": 1}'::jsonb -> 'a' -> 'b', '"s"'::jsonb -> 0;
SELECT '{"a": 1}'::jsonb #> 'a';
SELECT '{"a": 1}'::jsonb #>> '{a}', '{"a": 1}'::jsonb #> '{a';
SELECT '{"a": 1}'::jsonb #> ('{a' || '');
-- ? @> <@ = ||
SELECT '{"a": 1}'::jsonb ? 'a', '{"a": 1}'::jsonb ? 'b', '["a", "b"]'::jsonb ? 'b', '[1]'::jsonb ? '1', '"a"'::jsonb ? 'a';
SELECT '{"a": 1, "b": {"c": [1, 2]}}'::jsonb @> '{"b": {"c": [2]}}', '{"a": 1}'::jsonb @> '{"a": 2}', '[1, 2]'::jsonb @> '1', '[1, [2]]'::jsonb @> '[[2]]', '[1, [2]]'::jsonb @> '[2]', '{"a": 1}'::jsonb <@ '{"a": 1, "b": 2}';
SELECT '{"a": 1, "b": 2}'::jsonb = '{"b": 2, "a": 1}'::jsonb, '[1, 2]'::jsonb = '[2, 1]'::jsonb, '1.0'::jsonb = '1.00'::jsonb, '{"a": 1}'::jsonb <> '{"a": 1}';
SELECT '[1]'::jsonb || '{"a": 1}'::jsonb, '{"a": 1}'::jsonb || '{"a": 2, "b": 1}'::jsonb, '1'::jsonb || '2'::jsonb, '[1, 2]'::jsonb || '[3]';
-- functions
SELECT jsonb_typeof('{}'), jsonb_typeof('[]'), jsonb_typeof('"x"'), jsonb_typeof('1.5'), jsonb_typeof('true'), jsonb_typeof('null'), json_typeof('1');
SELECT jsonb_array_length('[1, [2, 3], {}]'), jsonb_array_length('[]');
SELECT jsonb_array_length('{}');
SELECT jsonb_array_length('1');
SELECT jsonb_extract_path('{"a": {"b": [10, 20]}}', 'a', 'b', '1'), jsonb_extract_path_text('{"a": {"b": "x"}}', 'a', 'b'), jsonb_extract_path('{"a": 1}', 'z');
SELECT jsonb_build_object('a', 1, 'b', NULL, 'c', date '2024-05-01', 'd', timestamptz '2024-01-01 10:00', 'e', timestamp '2024-01-01', 'f', interval '1 day', 'g', 1.5::float8, 'h', 'NaN'::float8);
SELECT jsonb_build_object(), jsonb_build_object('k', '{"x": 1}'::jsonb, 'b', true, 1, 'one'), jsonb_build_array(), jsonb_build_array(1, 'two', NULL, false, '[3]'::jsonb, 2.50);
SELECT jsonb_build_object('a');
SELECT jsonb_build_object(NULL, 1);
SELECT to_jsonb('x'::text), to_jsonb(1.50), to_jsonb(true), to_jsonb(NULL::int), to_jsonb('{"a": 1}'::jsonb), to_json(2);
-- casts
SELECT '1.5'::jsonb::int, '1e2'::jsonb::float8, 'true'::jsonb::bool, '12345678901234567890123'::jsonb::numeric, ('{"n": 7}'::jsonb -> 'n')::bigint, '{"a": 1}'::jsonb::text;
SELECT '"x"'::jsonb::int;
SELECT 'null'::jsonb::int;
SELECT '1'::jsonb::bool;
SELECT CAST('{"a": [1, 2]}' AS jsonb) -> 'a' ->> 1;
-- jsonb order: an empty top-level array below every scalar, other arrays above; keys compare as strings
SELECT '[]'::jsonb < 'true'::jsonb, '[]'::jsonb < 'null'::jsonb, '[1]'::jsonb > 'true'::jsonb, '[1, 2]'::jsonb > '3'::jsonb, '{}'::jsonb > '[1, 2]'::jsonb;
SELECT '{"aa":1}'::jsonb > '{"b":1}'::jsonb, '{"b":1}'::jsonb > '{"aa":1}'::jsonb, '{"a":1,"bb":2}'::jsonb < '{"a":1,"c":2}'::jsonb;
-- floats become jsonb numbers as numeric_in reads their text
SELECT to_jsonb(1e20::float8), jsonb_build_array(4.25e-7::float8, -0::float8, 1.5::float8, 'NaN'::float8, '-Infinity'::float8), to_jsonb(-1.5e-320::float8);
-- GROUP BY, DISTINCT, UNION and joins compare jsonb by value: numbers by their numeric value
CREATE TABLE jt (id int, j jsonb);
INSERT INTO jt VALUES (1, '1.0'), (2, '1'), (3, '1.00'), (4, '{"a": [1.50, 2]}'), (5, '{"a": [1.5, 2.0]}'), (6, '"1.0"'), (7, '-0.0'), (8, '0'), (9, '[10, "x\"1.0"]'), (10, '[1e1, "x\"1.0"]');
SELECT j, count(*) FROM jt GROUP BY j ORDER BY j;
SELECT count(DISTINCT j) FROM jt;
SELECT a.id, b.id FROM jt a JOIN jt b ON a.j = b.j WHERE a.id < b.id ORDER BY 1, 2;
SELECT j FROM jt UNION SELECT '1.000'::jsonb ORDER BY 1;
DROP TABLE jt;
