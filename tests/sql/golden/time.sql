-- date, timestamp, interval: input and output (DateStyle ISO, IntervalStyle postgres, UTC)
SELECT date '2024-02-29', timestamp '2024-01-01 10:00:00.5', timestamptz '2024-01-01 10:00+02', interval '1 year 2 mons 3 days 04:05:06';
SELECT '0001-01-01 BC'::date, '2024-01-01 24:00'::timestamp, 'infinity'::date, '-infinity'::timestamp, 'epoch'::timestamptz;
SELECT '2024-01-01 10:00+05'::timestamp, '2024-01-01 23:59:59.9999995'::timestamp, '10000-01-01'::date;
SELECT pg_typeof(date '2024-01-01'), pg_typeof(timestamp '2024-01-01'), pg_typeof(interval '1 day'), pg_typeof(now()), pg_typeof(current_date);
SELECT '1.5 years'::interval, '1.5 mons'::interval, '1.5 days'::interval, '-1 day 2 hours ago'::interval, '5'::interval, '1:2'::interval;
SELECT 'P1Y2M3DT4H5M6.5S'::interval, '@ 1 minute'::interval, '1 week 2 days'::interval, '-1 days -02:03:04'::interval, '1 day -1 hour'::interval;
SELECT '25:00:00'::interval, '-1.5 seconds'::interval, '1 day 2 minutes 3 s 4 ms 5 us'::interval, '1 mon -1 day'::interval, '0'::interval;
SELECT '1 decade 1 century'::interval, '2 millennia'::interval, '3 weeks'::interval, '-00:00:01'::interval;
-- bad input
SELECT '2024-02-30'::date;
SELECT '0000-01-01'::date;
SELECT 'yesterday-ish'::date;
SELECT '300000-01-01'::timestamp;
SELECT '2024-01-01 25:00'::timestamp;
SELECT 'x'::interval;
SELECT '1 year 2 years'::interval;
SELECT '2147483648 days'::interval;
-- casts
SELECT date '2024-03-01'::timestamp, date '2024-03-01'::timestamptz, timestamp '2024-03-01 10:30'::date, timestamptz '2024-03-01 23:30-02'::date;
SELECT timestamp '2024-03-01 10:30'::timestamptz, timestamptz '2024-03-01 10:30+01'::timestamp, interval '1 day'::text, date '2024-01-01'::text;
SELECT 'infinity'::date::timestamp, '-infinity'::timestamp::date;
SELECT 1::date;
-- comparisons across date, timestamp, timestamptz; intervals compare as spans
SELECT date '2024-01-01' < timestamp '2024-01-01 00:00:01', date '2024-01-02' = timestamptz '2024-01-02 00:00+00', timestamp '2024-01-01' > timestamptz '2023-12-31 23:00-02';
SELECT interval '1 mon' = interval '30 days', interval '1 day' = interval '24 hours', interval '1 year' > interval '364 days', interval '-1 day' < interval '1 second';
SELECT 'infinity'::date > date '9999-12-31', '-infinity'::timestamp < timestamp '0001-01-01 BC';
-- arithmetic
SELECT date '2024-02-28' + 1, 1 + date '2024-02-28', date '2024-03-01' - 1, date '2024-03-01' - date '2024-02-01', date '2024-01-01' - '2023-01-01';
SELECT date '2024-01-31' + interval '1 month', interval '1 day' + date '2024-01-01', date '2024-01-01' - interval '1 hour';
SELECT timestamp '2024-01-31 10:00' + interval '1 mon 1 day 01:00', timestamptz '2024-03-31 00:00' - interval '1 mon', interval '2 hours' + timestamp '2024-01-01';
SELECT timestamp '2024-01-02 00:00' - timestamp '2024-01-01 01:00', timestamp '2024-01-01' - timestamp '2024-01-02 01:00', timestamptz '2024-03-01' - timestamptz '2023-03-01';
SELECT timestamp '2024-01-01' + '1 day', timestamp '2024-01-02' - '2024-01-01', date '2024-01-01' - timestamp '2023-12-31 12:00';
SELECT interval '1 day' + interval '2 hours', interval '1 mon' - interval '1 day', - interval '1 year 2 days 03:00', '1 day' + interval '1 hour';
SELECT interval '1 mon' * 1.5, interval '1 day' / 7, interval '1 year' / 7, 2 * interval '1 day 01:00', interval '1 hour' * 0.5, interval '-1 mon' * 0.3;
SELECT interval '1 day' / 0;
SELECT date '5874897-12-31' + 1;
SELECT timestamp 'infinity' - timestamp '2024-01-01';
SELECT timestamp '294000-01-01' + interval '1000 years';
SELECT 'infinity'::timestamp + interval '1 day', 'infinity'::date + 1;
-- date_trunc
SELECT date_trunc('month', timestamp '2024-05-17 10:11:12.5'), date_trunc('hour', timestamptz '2024-05-17 10:11:12+00'), date_trunc('week', timestamp '2024-05-17 10:00'), date_trunc('quarter', timestamp '2024-05-17');
SELECT date_trunc('year', timestamp '2024-05-17'), date_trunc('decade', timestamp '2024-05-17'), date_trunc('century', timestamp '2024-05-17'), date_trunc('millennium', timestamp '2024-05-17'), date_trunc('second', timestamp '2024-05-17 10:11:12.5'), date_trunc('milliseconds', timestamp '2024-05-17 10:11:12.123456');
SELECT date_trunc('day', date '2024-05-17'), date_trunc('MINUTE', timestamp '2024-05-17 10:11:12'), date_trunc('hour', interval '1 day 05:06:07'), date_trunc('year', interval '3 years 4 mons'), date_trunc('quarter', interval '1 year 5 mons 3 days');
SELECT date_trunc('foo', timestamp '2024-01-01');
SELECT date_trunc('week', interval '1 day');
-- extract (numeric) and date_part (double precision)
SELECT extract(year FROM timestamp '2024-05-17 10:11:12.5'), extract(month FROM date '2024-05-17'), extract(second FROM timestamp '2024-01-01 10:00:06.5'), extract(milliseconds FROM timestamp '2024-01-01 10:00:06.5'), extract(microseconds FROM timestamp '2024-01-01 10:00:06.5');
SELECT extract(epoch FROM timestamp '2024-01-01 10:00:00.5'), extract(epoch FROM timestamptz '1970-01-01 00:00:01+00'), extract(epoch FROM date '2024-01-01'), extract(epoch FROM interval '1 year 1 mon 1 day 1 hour');
SELECT extract(dow FROM date '2024-01-07'), extract(isodow FROM date '2024-01-07'), extract(doy FROM date '2024-12-31'), extract(week FROM date '2024-12-30'), extract(isoyear FROM date '2024-12-30'), extract(week FROM date '2021-01-01');
SELECT extract(year FROM date '0001-01-01 BC'), extract(century FROM date '2000-01-01'), extract(century FROM date '2001-01-01'), extract(millennium FROM date '2001-01-01'), extract(decade FROM date '2024-01-01'), extract(julian FROM date '2000-01-01'), extract(quarter FROM date '2024-05-01');
SELECT extract(hour FROM interval '1 day 25:30:40.5'), extract(minute FROM interval '-01:30:00'), extract(second FROM interval '00:00:40.5'), extract(day FROM interval '45 days'), extract(month FROM interval '14 mons'), extract(year FROM interval '14 mons'), extract(timezone FROM timestamptz '2024-01-01');
SELECT date_part('year', timestamp '2024-05-17'), date_part('epoch', timestamptz '2024-01-01 00:00:00.25+00'), date_part('hour', date '2024-01-01'), date_part('second', interval '1 minute 1.5 seconds'), pg_typeof(date_part('day', date '2024-01-01'));
SELECT extract(hour FROM date '2024-01-01');
SELECT extract(foo FROM interval '1 day');
SELECT date_part('dow', interval '1 day');
-- to_timestamp, make_interval
SELECT to_timestamp(0), to_timestamp(1704103200.5), to_timestamp(-1), to_timestamp('Infinity'::float8);
SELECT to_timestamp('NaN'::float8);
SELECT make_interval(1, 2, 3, 4, 5, 6, 7.5), make_interval(0, 0, 0, 1), make_interval(), make_interval(0, 0, 0, 0, 0, 0, -1.25);
-- ordering and grouping
SELECT GREATEST(date '2024-01-01', timestamp '2023-06-01 10:00'), LEAST(interval '1 mon', interval '29 days'), COALESCE(NULL::date, date '2024-01-01');
SELECT CASE WHEN true THEN date '2024-01-01' ELSE timestamp '2024-01-01 10:00' END;
-- current time: the statement's start
SELECT now() = current_timestamp, now() = statement_timestamp(), current_date = now()::date, localtimestamp = now()::timestamp, now() > timestamptz '2024-01-01';
SELECT 'today'::date = current_date, 'now'::timestamptz <= clock_timestamp(), pg_typeof(localtimestamp);
SELECT make_interval(days => 10), make_interval(hours => 2, secs => 1.5), make_interval(1, days => 3);
SELECT make_interval(days => 1, days => 2);
SELECT make_interval(foo => 1);
SELECT interval '1' day;
SELECT age(timestamp '2024-03-31', timestamp '2024-02-29 10:00'), age(timestamp '2024-01-01', timestamp '2024-03-15 12:00'), age(timestamptz '2020-02-29', timestamptz '2024-02-28'), age(date '2024-05-01', date '2023-01-31');
SELECT age(current_date::timestamp) = interval '0', age(current_date - 1) = interval '1 day';
-- an interval's epoch beyond int64 microseconds
SELECT extract(epoch FROM make_interval(days => -2147483646)), date_part('epoch', make_interval(days => -2147483646));
-- date_part's float8 seconds, milliseconds and julian as PostgreSQL computes them
SELECT date_part('milliseconds', TIMESTAMP '2024-02-29 23:59:59.999999'), date_part('second', INTERVAL '-1.000001 s'), date_part('julian', DATE '2024-02-29'), date_part('julian', TIMESTAMP '2024-02-29 18:00:00');
SELECT extract(julian FROM TIMESTAMP '2024-02-29 18:00:00');
-- parts of infinite timestamps and dates: Infinity for units that only grow, NULL for those that cycle
SELECT extract(epoch FROM 'infinity'::timestamp), extract(year FROM '-infinity'::timestamptz), extract(month FROM 'infinity'::timestamp), extract(julian FROM 'infinity'::date), extract(dow FROM '-infinity'::date), extract(isoyear from 'infinity'::date);
SELECT date_part('epoch', 'infinity'::timestamp), date_part('century', '-infinity'::timestamp), date_part('hour', 'infinity'::timestamp), date_part('millennium', 'infinity'::date), date_part('day', 'infinity'::date), date_part('julian', '-infinity'::timestamp);
