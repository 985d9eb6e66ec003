// The six Segment calls through @segment/analytics-node, unmodified, for
// tests/e2e/test_segment_sdks.py: node send.cjs <host> <writeKey> <userId> <anonymousId>
// Prints one line of JSON: {"failures": [...]} (deliveries the SDK gave up on).
const { Analytics } = require('@segment/analytics-node')

async function main () {
  const [host, writeKey, userId, anonymousId] = process.argv.slice(2)
  const analytics = new Analytics({ writeKey, host, flushAt: 100, flushInterval: 200, maxRetries: 3 })
  const failures = []
  analytics.on('error', (err) => failures.push(String((err && (err.reason || err.message)) || err)))
  const person = { userId, anonymousId }
  analytics.identify({ ...person, traits: { email: `${userId}@x.io`, firstName: 'Ann' } })
  analytics.track({ ...person, event: 'Order Completed', properties: { total: 12.5 } })
  analytics.page({ ...person, name: 'Home', properties: { url: 'https://x.io/' } })
  analytics.screen({ ...person, name: 'Settings' })
  analytics.group({ ...person, groupId: 'acme', traits: { plan: 'pro' } })
  analytics.alias({ userId, previousId: anonymousId })
  await analytics.closeAndFlush({ timeout: 30000 })
  process.stdout.write(JSON.stringify({ failures }) + '\n')
}

main().catch((err) => {
  console.error(err)
  process.exit(2)
})
