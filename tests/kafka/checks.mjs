// Assertions shared by the kafkajs test scripts: stop at the first failure with a clear message,
// end with the 'N passed, N failed' line CI reads, and load kafkajs from tests/kafka/js.
import { createRequire } from 'node:module'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { isDeepStrictEqual, inspect } from 'node:util'

const require = createRequire(join(dirname(fileURLToPath(import.meta.url)), 'js', 'package.json'))
export const kafkajs = require('kafkajs')

let passed = 0

export function fail(message) {
  console.error(`FAIL: ${message}`)
  console.log(`${passed} passed, 1 failed`)
  process.exit(1)
}

export function check(condition, what) {
  if (!condition) fail(what)
  passed += 1
}

export function eq(actual, expected, what) {
  check(isDeepStrictEqual(actual, expected),
    `${what}: expected ${inspect(expected, { depth: 5 })}, got ${inspect(actual, { depth: 5 })}`)
}

export function finish() {
  console.log(`${passed} passed, 0 failed`)
}

export function bootstrapArg(script) {
  const i = process.argv.indexOf('--bootstrap')
  if (i < 0 || !process.argv[i + 1]) fail(`usage: ${script} --bootstrap HOST:PORT`)
  return process.argv[i + 1]
}

// Polls `probe` until it returns something other than undefined; fails after `deadlineMs`.
export async function until(what, deadlineMs, probe) {
  const deadline = Date.now() + deadlineMs
  for (;;) {
    const value = await probe()
    if (value !== undefined) return value
    if (Date.now() > deadline) fail(`timed out waiting for ${what}`)
    await new Promise(resolve => setTimeout(resolve, 20)) // poll interval, not a sync point
  }
}
