// kafkajs 2.2.4 against Eddy: admin topics, producing with acks -1/1/0, offsets and timestamps,
// and an idempotent producer.
//
// usage: node kafkajs_test.mjs --bootstrap HOST:PORT   (kafkajs comes from tests/kafka/js, which
// scripts/setup installs)
//
// Records are read back with the Fetch request kafkajs's consumer uses underneath (a Broker of the
// client's own Cluster), which checks offsets exactly; kafkajs consumer groups are covered by
// kafkajs_groups_test.mjs. Stops at the first failed check; prints "N passed, 0 failed" on success.
import { isDeepStrictEqual } from 'node:util'

import { bootstrapArg, check, eq, fail, finish, kafkajs, until } from './checks.mjs'

const { Kafka, Partitioners, logLevel } = kafkajs

const PARTITIONS = 2
const SENDS = 4 // per acks mode; each send is one batch per partition
const PER_SEND = 50 // records per partition per send
// Record n of a partition for one acks mode; timestamps are explicit and increase by 10 ms per
// record, starting from `base`, so offsets can be found again by timestamp.
function record(tag, partition, n, base) {
  return {
    partition,
    key: `${tag}-k${partition}-${n % 13}`,
    value: `${tag}-p${partition}-v${n}-${'y'.repeat(n % 23)}`,
    headers: { seq: String(n), tag },
    timestamp: String(base + n * 10),
  }
}

async function produceAll(producer, topic, tag, acks, base) {
  const perPartitionBase = []
  for (let s = 0; s < SENDS; s++) {
    const messages = []
    for (let p = 0; p < PARTITIONS; p++) {
      for (let i = 0; i < PER_SEND; i++) messages.push(record(tag, p, s * PER_SEND + i, base))
    }
    const result = await producer.send({ topic, acks, messages })
    if (acks === 0) continue
    eq(result.map(r => [r.topicName, r.partition, r.errorCode]).sort(),
      [...Array(PARTITIONS).keys()].map(p => [topic, p, 0]),
      `acks=${acks} send ${s}: one result per partition, no error`)
    for (const r of result) (perPartitionBase[r.partition] ??= []).push(Number(r.baseOffset))
  }
  return perPartitionBase
}

// kafkajs's console logger, minus the error entries a check provokes on purpose.
let expectedLogError = null
const logCreator = () => ({ label, log }) => {
  if (expectedLogError && log.error === expectedLogError) return
  console.error(JSON.stringify({ level: label, ...log }))
}

async function main() {
  const kafka = new Kafka({
    clientId: 'eddy-kafkajs-test',
    brokers: [bootstrapArg('kafkajs_test.mjs')],
    logLevel: logLevel.WARN,
    logCreator,
    retry: { retries: 3 },
  })
  const admin = kafka.admin()
  await admin.connect()
  const topic = `kafkajs-${process.pid}`

  const newTopic = { topic, numPartitions: PARTITIONS }
  eq(await admin.createTopics({ topics: [newTopic], waitForLeaders: true }),
    true, 'createTopics creates the topic')
  expectedLogError = 'Topic creation errors'
  eq(await admin.createTopics({ topics: [{ topic, numPartitions: PARTITIONS }] }), false,
    'createTopics of an existing topic reports false')
  expectedLogError = null
  check((await admin.listTopics()).includes(topic), 'listTopics includes the topic')
  const { topics: [meta] } = await admin.fetchTopicMetadata({ topics: [topic] })
  eq(meta.partitions.map(p => [p.partitionId, p.leader, p.replicas, p.isr]).sort(),
    [[0, 0, [0], [0]], [1, 0, [0], [0]]], 'fetchTopicMetadata: partitions led by node 0')
  const cluster = await admin.describeCluster()
  eq([cluster.brokers.length, cluster.controller], [1, 0],
    'describeCluster: one broker, controller 0')
  eq((await admin.fetchTopicOffsets(topic)).map(o => [o.partition, o.offset, o.high, o.low]).sort(),
    [[0, '0', '0', '0'], [1, '0', '0', '0']], 'fetchTopicOffsets of an empty topic')

  const producer = kafka.producer({
    createPartitioner: Partitioners.DefaultPartitioner,
    allowAutoTopicCreation: false,
    idempotent: false,
  })
  await producer.connect()
  const perAcks = SENDS * PER_SEND
  const base = Date.now() - 3_600_000 // an hour ago: create times are ours, not the broker's
  const modes = [['all', -1], ['one', 1], ['zero', 0]]
  for (const [index, [tag, acks]] of modes.entries()) {
    const bases = await produceAll(producer, topic, tag, acks, base + index * 100_000)
    if (acks === 0) continue
    for (let p = 0; p < PARTITIONS; p++) {
      eq(bases[p], [...Array(SENDS).keys()].map(s => index * perAcks + s * PER_SEND),
        `acks=${acks}: partition ${p} batch base offsets are dense`)
    }
    const high = String((index + 1) * perAcks)
    const watermarks = async () =>
      (await admin.fetchTopicOffsets(topic)).map(o => [o.partition, o.offset, o.high, o.low]).sort()
    const wanted = [[0, high, high, '0'], [1, high, high, '0']]
    if (acks === 1) {
      // acks=1 answers once written; the high watermark follows when the write is durable.
      await until(`acks=1 high watermark ${high}`, 30_000, async () =>
        isDeepStrictEqual(await watermarks(), wanted) ? true : undefined)
    }
    eq(await watermarks(), wanted, `acks=${acks}: fetchTopicOffsets high watermark`)
  }
  // acks=0 gets no answer: the high watermark shows when the broker has the records.
  const total = String(modes.length * perAcks)
  await until('the acks=0 records', 30_000, async () => {
    const offsets = await admin.fetchTopicOffsets(topic)
    return offsets.every(o => o.high === total) ? true : undefined
  })
  check(true, `acks=0: high watermark reaches ${total}`)

  // Offsets by timestamp: the first record at or after the time; past everything, the high
  // watermark (kafkajs's fallback for "no such record").
  const byTime = async ts =>
    (await admin.fetchTopicOffsetsByTimestamp(topic, ts)).map(o => [o.partition, o.offset]).sort()
  eq(await byTime(base - 1000), [[0, '0'], [1, '0']], 'offsets for a time before all records')
  eq(await byTime(base + 1230), [[0, '123'], [1, '123']], 'offsets for an exact record time')
  eq(await byTime(base + 1235), [[0, '124'], [1, '124']], 'offsets for a time between records')
  eq(await byTime(base + 100_000 + 70), [[0, String(perAcks + 7)], [1, String(perAcks + 7)]],
    'offsets for a time in the second batch of sends')
  eq(await byTime(Date.now() + 3_600_000), [[0, total], [1, total]],
    'offsets for a future time fall back to the high watermark')

  // Read everything back with kafkajs's own Fetch request and record decoding.
  const createCluster = Object.getOwnPropertySymbols(kafka)
    .find(s => s.description === 'private:Kafka:createCluster')
  const raw = kafka[createCluster]({ allowAutoTopicCreation: false })
  await raw.connect()
  await raw.addTargetTopic(topic)
  const leader = await raw.findBroker({ nodeId: '0' })
  for (let p = 0; p < PARTITIONS; p++) {
    const got = []
    await until(`partition ${p} records`, 30_000, async () => {
      const response = await leader.fetch({
        replicaId: -1,
        isolationLevel: 1,
        maxWaitTime: 100,
        minBytes: 1,
        maxBytes: 1 << 20,
        topics: [{
          topic,
          partitions: [{ partition: p, fetchOffset: String(got.length), maxBytes: 1 << 20 }],
        }],
      })
      const [partition] = response.responses[0].partitions
      if (partition.errorCode !== 0) fail(`fetch partition ${p}: error ${partition.errorCode}`)
      eq(partition.highWatermark, total, `fetch partition ${p} at ${got.length}: high watermark`)
      for (const m of partition.messages) {
        if (Number(m.offset) === got.length) got.push(m) // skip the part of a batch before it
      }
      return got.length >= Number(total) ? true : undefined
    })
    const expected = modes.flatMap(([tag], index) =>
      [...Array(perAcks).keys()].map(n => record(tag, p, n, base + index * 100_000)))
    for (let i = 0; i < expected.length; i++) {
      const m = got[i]
      const actual = {
        offset: m.offset,
        key: m.key.toString(),
        value: m.value.toString(),
        headers: Object.fromEntries(Object.entries(m.headers).map(([k, v]) => [k, v.toString()])),
        timestamp: m.timestamp,
      }
      const e = expected[i]
      const wanted = {
        offset: String(i), key: e.key, value: e.value, headers: e.headers, timestamp: e.timestamp,
      }
      if (!isDeepStrictEqual(actual, wanted)) {
        fail(`partition ${p} record ${i}: got ${inspect(actual)}, expected ${inspect(wanted)}`)
      }
    }
    check(true,
      `partition ${p}: ${expected.length} records with exact keys, values, headers, timestamps`)
  }
  await raw.disconnect()

  await producer.disconnect()

  // An idempotent producer: connect() fetches a producer id (InitProducerId), and every send
  // carries sequence numbers the broker checks. Dense offsets and the high watermark show each
  // batch was written exactly once.
  const idempotent = kafka.producer({
    createPartitioner: Partitioners.DefaultPartitioner,
    allowAutoTopicCreation: false,
    idempotent: true,
    maxInFlightRequests: 1,
  })
  await idempotent.connect()
  const idemTopic = `${topic}-idempotent`
  eq(await admin.createTopics({ topics: [{ topic: idemTopic, numPartitions: PARTITIONS }] }), true,
    'createTopics for the idempotent producer')
  const idemBases = await produceAll(idempotent, idemTopic, 'idem', -1, base)
  for (let p = 0; p < PARTITIONS; p++) {
    eq(idemBases[p], [...Array(SENDS).keys()].map(s => s * PER_SEND),
      `idempotent: partition ${p} batch base offsets are dense`)
  }
  eq((await admin.fetchTopicOffsets(idemTopic)).map(o => [o.partition, o.high]).sort(),
    [[0, String(perAcks)], [1, String(perAcks)]], 'idempotent: every record written once')
  await idempotent.disconnect()
  await admin.deleteTopics({ topics: [idemTopic] })

  await admin.deleteTopics({ topics: [topic] })
  await until('the deleted topic to disappear', 30_000, async () =>
    (await admin.listTopics()).includes(topic) ? undefined : true)
  check(true, 'deleteTopics removes the topic')
  await admin.disconnect()
  finish()
}

main().catch(e => fail(`unexpected error: ${e.stack || e}`))
