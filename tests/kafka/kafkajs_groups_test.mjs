// kafkajs 2.2.4 consumer groups against Eddy.
//
// usage: node kafkajs_groups_test.mjs --bootstrap HOST:PORT
//
// 1. An eachMessage consumer reads a 3-partition topic in a group and disconnects (committing);
//    an eachBatch consumer joining the same group later gets exactly the records produced since.
// 2. Two consumers in one group split the partitions between them and together read every record
//    once.
// 3. The admin client describes (members and assignments), lists and deletes the group and
//    fetches its committed offsets.
// Stops at the first failed check; prints "N passed, 0 failed" on success.
import { bootstrapArg, check, eq, fail, finish, kafkajs, until } from './checks.mjs'

const { Kafka, Partitioners, AssignerProtocol, logLevel } = kafkajs

const PARTITIONS = 3
const DEADLINE_MS = 60_000

const kafka = new Kafka({
  clientId: 'kafkajs-groups',
  brokers: [bootstrapArg('kafkajs_groups_test.mjs')],
  logLevel: logLevel.NOTHING,
  retry: { retries: 10, initialRetryTime: 50 },
})

async function produce(producer, topic, first, count) {
  const messages = []
  for (let i = first; i < first + count; i++) {
    messages.push({ partition: i % PARTITIONS, key: `k${i}`, value: String(i) })
  }
  await producer.send({ topic, acks: -1, messages })
}

function range(first, count) {
  return [...Array(count).keys()].map(i => first + i)
}

async function committed(admin, groupId, topic) {
  const [entry] = await admin.fetchOffsets({ groupId, topics: [topic] })
  return entry.partitions.map(p => [p.partition, p.offset]).sort()
}

async function main() {
  const admin = kafka.admin()
  await admin.connect()
  const topic = `kafkajs-groups-${process.pid}`
  check(await admin.createTopics({ topics: [{ topic, numPartitions: PARTITIONS }] }),
    'topic created')
  const producer = kafka.producer({ createPartitioner: Partitioners.DefaultPartitioner })
  await producer.connect()

  // 1. eachMessage, then eachBatch resuming from the commits.
  const groupId = `kafkajs-group-${process.pid}`
  await produce(producer, topic, 0, 300)
  const first = []
  const c1 = kafka.consumer({ groupId, sessionTimeout: 10_000, heartbeatInterval: 500 })
  await c1.connect()
  await c1.subscribe({ topic, fromBeginning: true })
  await c1.run({ eachMessage: async ({ message }) => { first.push(Number(message.value)) } })
  await until('eachMessage consumer reads 300 records', DEADLINE_MS,
    () => first.length >= 300 ? true : undefined)
  await c1.disconnect()
  eq(first.sort((a, b) => a - b), range(0, 300), 'eachMessage: every record once')
  eq(await committed(admin, groupId, topic), [[0, '100'], [1, '100'], [2, '100']],
    'offsets committed when the consumer left')

  await produce(producer, topic, 300, 90)
  const second = []
  const c2 = kafka.consumer({ groupId, sessionTimeout: 10_000, heartbeatInterval: 500 })
  await c2.connect()
  await c2.subscribe({ topic, fromBeginning: true })
  await c2.run({
    eachBatch: async ({ batch, resolveOffset, heartbeat }) => {
      for (const message of batch.messages) {
        second.push(Number(message.value))
        resolveOffset(message.offset)
      }
      await heartbeat()
    },
  })
  await until('eachBatch consumer reads the 90 new records', DEADLINE_MS,
    () => second.length >= 90 ? true : undefined)
  const described = await admin.describeGroups([groupId])
  const group = described.groups[0]
  eq([group.state, group.protocolType, group.members.length], ['Stable', 'consumer', 1],
    'describeGroups: a stable consumer group with one member')
  const assignment = AssignerProtocol.MemberAssignment.decode(group.members[0].memberAssignment)
  eq(assignment.assignment[topic].sort(), [0, 1, 2], 'describeGroups: the member owns everything')
  await c2.disconnect()
  eq(second.sort((a, b) => a - b), range(300, 90), 'eachBatch: resumed from the committed offsets')
  eq(await committed(admin, groupId, topic), [[0, '130'], [1, '130'], [2, '130']],
    'offsets committed after the batches')

  // 2. Two members share the partitions.
  const sharedGroup = `kafkajs-shared-${process.pid}`
  const owners = new Map()
  const seen = []
  const members = []
  for (const name of ['a', 'b']) {
    const consumer = kafka.consumer({ groupId: sharedGroup, sessionTimeout: 10_000,
      heartbeatInterval: 500 })
    consumer.on(consumer.events.GROUP_JOIN, e => {
      owners.set(name, e.payload.memberAssignment[topic] || [])
    })
    await consumer.connect()
    await consumer.subscribe({ topic, fromBeginning: true })
    await consumer.run({ eachMessage: async ({ message }) => { seen.push(Number(message.value)) } })
    members.push(consumer)
  }
  await until('both members own partitions', DEADLINE_MS, () =>
    owners.size === 2 && [...owners.values()].every(ps => ps.length > 0) &&
      [...owners.values()].flat().length === PARTITIONS ? true : undefined)
  await until('the shared group reads every record', DEADLINE_MS,
    () => new Set(seen).size >= 390 ? true : undefined)
  eq([...new Set(seen)].sort((a, b) => a - b), range(0, 390), 'the two members read everything')
  for (const consumer of members) await consumer.disconnect()

  // 3. Listing and deleting.
  const listed = await admin.listGroups()
  check(listed.groups.some(g => g.groupId === groupId && g.protocolType === 'consumer'),
    'listGroups shows the group')
  eq((await admin.describeGroups([groupId])).groups[0].state, 'Empty',
    'a group whose members left is empty')
  await admin.deleteGroups([groupId])
  eq(await committed(admin, groupId, topic), [[0, '-1'], [1, '-1'], [2, '-1']],
    'the deleted group has no committed offsets')
  check(!(await admin.listGroups()).groups.some(g => g.groupId === groupId),
    'the deleted group is no longer listed')

  await producer.disconnect()
  await admin.disconnect()
  finish()
}

main().catch(e => fail(`unexpected error: ${e.stack || e}`))
