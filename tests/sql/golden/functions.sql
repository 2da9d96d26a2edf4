-- bytea: hex output, hex and escape input
SELECT '\xDEADbeef'::bytea, 'abc'::bytea, 'a\\b\001'::bytea, ''::bytea, '\x'::bytea, '\x 01 02'::bytea, pg_typeof('\x00'::bytea);
SELECT '\x0'::bytea;
SELECT '\xzz'::bytea;
SELECT 'a\q'::bytea;
SELECT '\x01'::bytea || '\x02'::bytea, length('\x0102'::bytea), octet_length('\x0102'::bytea), octet_length('héllo'), '\x01'::bytea < '\x02'::bytea, '\xff'::bytea > '\x01'::bytea, 'ab'::bytea = '\x6162'::bytea;
SELECT encode('\x00ff41'::bytea, 'hex'), encode('hello world'::bytea, 'base64'), encode('a\\b\000\377'::bytea, 'escape'), decode('00ff41', 'hex'), decode('aGVsbG8gd29ybGQ=', 'base64'), '\x4142'::bytea::text;
SELECT encode('x'::bytea, 'rot13');
-- strings
SELECT split_part('a,b,,c', ',', 2), split_part('a,b,,c', ',', 3), split_part('a,b', ',', 5), split_part('a,b,c', ',', -1), split_part('abc', '', 1), split_part('', ',', 1);
SELECT split_part('a,b', ',', 0);
SELECT strpos('héllo', 'l'), strpos('abc', 'x'), strpos('abc', ''), position('c' IN 'abcabc'), position('é' IN 'héllo');
SELECT left('héllo', 2), left('hello', -2), left('hi', 10), right('héllo', 2), right('hello', -2), right('hi', 0);
SELECT lpad('hi', 5), lpad('hi', 5, 'xy'), lpad('hello', 3), rpad('hi', 5, 'é'), rpad('hi', 1), lpad('hi', -1), rpad('hi', 4, '');
SELECT initcap('hello wORLD foo-bar 2nd'), repeat('ab', 3), repeat('x', 0), repeat('x', -1), reverse('héllo'), reverse('');
SELECT concat_ws(',', 'a', NULL, 1, true, 'b'), concat_ws(NULL, 'a', 'b'), starts_with('hello', 'he'), starts_with('hello', 'lo'), starts_with('', '');
-- regular expressions (RE2)
SELECT 'abc' ~ 'b', 'abc' ~ '^b', 'ABC' ~* 'b', 'abc' !~ 'z', 'ABC' !~* 'b', 'a.c' ~ 'a\.c';
SELECT regexp_replace('foobarbaz', 'b..', 'X'), regexp_replace('foobarbaz', 'b..', 'X', 'g'), regexp_replace('Hello World', '(\w+) (\w+)', '\2 \1'), regexp_replace('abc', 'B', 'x', 'i'), regexp_replace('abc', 'b', '[\&]');
SELECT regexp_like('Hello', 'ell'), regexp_like('Hello', 'ELL'), regexp_like('Hello', 'ELL', 'i'), regexp_match('foo123bar', '\d+'), regexp_match('key=value', '(\w+)='), regexp_match('abc', 'z');
-- Case-insensitive matching folds ASCII letters only, as PostgreSQL's C locale does.
SELECT 'É' ~* 'é', 'é' ~* 'é', 'ABC' ~* '^[a-c]+$', 'abc' ~* '[^A]', 'Straße' ~* 'STRASSE', regexp_replace('Hello HELLO', 'l+', '_', 'gi'), regexp_match('Köln KÖLN', '(ö\w+)', 'i');
SELECT 'abc' ~ '(';
SELECT regexp_like('a', 'a', 'z');
-- math
SELECT ln(1), ln(exp(2)), log(100), log10(1000), exp(0), exp(1), sign(-3), sign(0.0), sign(2.5::float8), pi();
SELECT trunc(2.789), trunc(-2.789), trunc(2.789, 2), trunc(1234.5, -2), trunc(2.7::float8), trunc(-2.7::float8), cbrt(27), degrees(pi()), radians(180);
SELECT ln(0);
SELECT ln(-1);
SELECT log(0, 2);
SELECT exp(1000);
-- too many arguments for every variant (found by the pgwire fuzzer)
SELECT trunc(2.5, 89, 2);
-- non-ASCII letters separate words in the C locale
SELECT initcap('日c héllo wörld');
-- pi/180 as PostgreSQL divides and multiplies by it; infinity stays infinite
SELECT degrees(-2.25::float8), radians('Infinity'::float8), degrees('-Infinity'::float8);
SELECT radians(1e-320::float8);
SELECT power(1e-200::float8, 2);
SELECT 1e-200::float8 ^ 3;
