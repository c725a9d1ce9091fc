import { afterEach, describe, expect, it } from 'vitest'
import { stringSerde } from '../schemas/index.ts'
import { JoinWindows } from '../processors/index.ts'
import { StreamsBuilder } from './streams-builder.ts'
import { TopologyTestDriver } from './test-driver.ts'

const str = { keySerde: stringSerde, valueSerde: stringSerde }
let driver: TopologyTestDriver | undefined

afterEach(async () => {
  await driver?.close()
  driver = undefined
})

describe('stream-table joins', () => {
  async function streamTable(kind: 'inner' | 'left'): Promise<TopologyTestDriver> {
    const builder = new StreamsBuilder()
    const users = builder.table('users', str, { storeName: 'users' })
    const clicks = builder.stream('clicks', str)
    const joined =
      kind === 'inner' ? clicks.join(users, (click, user) => `${click} by ${user}`) : clicks.leftJoin(users, (click, user) => `${click} by ${user ?? 'nobody'}`)
    joined.to('out', str)
    return TopologyTestDriver.create(builder.build(), { defaultPartitions: 2 })
  }

  it('inner join emits only for stream records whose key is in the table; table updates emit nothing', async () => {
    driver = await streamTable('inner')
    const users = driver.createInputTopic('users', stringSerde, stringSerde)
    const clicks = driver.createInputTopic('clicks', stringSerde, stringSerde)
    clicks.pipeInput('u1', 'home', 1)
    users.pipeInput('u1', 'ann', 2)
    clicks.pipeInput('u1', 'cart', 3)
    users.pipeInput('u1', 'anna', 4)
    clicks.pipeInput('u1', 'pay', 5)
    expect(driver.createOutputTopic('out', stringSerde, stringSerde).readValuesToList()).toEqual(['cart by ann', 'pay by anna'])
  })

  it('left join joins stream records without a table value with null', async () => {
    driver = await streamTable('left')
    driver.createInputTopic('clicks', stringSerde, stringSerde).pipeInput('u9', 'home', 1)
    expect(driver.createOutputTopic('out', stringSerde, stringSerde).readValuesToList()).toEqual(['home by nobody'])
  })

  it('repartitions a re-keyed stream before joining it with a table', async () => {
    const builder = new StreamsBuilder()
    const users = builder.table('users', str, { storeName: 'users' })
    builder
      .stream('orders', str)
      .selectKey((_orderId, userId) => userId)
      .join(users, (userId, user) => `${userId}:${user}`, { keySerde: stringSerde, valueSerde: stringSerde })
      .to('out', str)
    driver = await TopologyTestDriver.create(builder.build(), { defaultPartitions: 4 })
    const userTopic = driver.createInputTopic('users', stringSerde, stringSerde)
    for (const u of ['a', 'b', 'c', 'd', 'e']) userTopic.pipeInput(u, u.toUpperCase(), 1)
    const orders = driver.createInputTopic('orders', stringSerde, stringSerde)
    for (const [order, user] of [
      ['o1', 'a'],
      ['o2', 'b'],
      ['o3', 'c'],
      ['o4', 'd'],
      ['o5', 'e']
    ] as const)
      orders.pipeInput(order, user, 2)
    expect(driver.createOutputTopic('out', stringSerde, stringSerde).readValuesToList().sort()).toEqual(['a:A', 'b:B', 'c:C', 'd:D', 'e:E'])
  })
})

describe('stream-globalTable join', () => {
  it('looks up the global table by a key computed from the record, whatever the partition', async () => {
    const builder = new StreamsBuilder()
    const countries = builder.globalTable('countries', str, { storeName: 'countries' })
    const orders = builder.stream('orders', str)
    orders
      .joinGlobal(
        countries,
        (_id, code) => code,
        (code, name) => `${code}=${name}`
      )
      .to('named', str)
    orders
      .leftJoinGlobal(
        countries,
        (_id, code) => code,
        (code, name) => `${code}=${name ?? '?'}`
      )
      .to('left', str)
    driver = await TopologyTestDriver.create(builder.build(), { partitions: { countries: 1, orders: 3 } })
    driver.createInputTopic('countries', stringSerde, stringSerde).pipeInput('no', 'Norway', 1)
    const input = driver.createInputTopic('orders', stringSerde, stringSerde)
    for (let i = 0; i < 6; i++) input.pipeInput(`o${i}`, i % 2 === 0 ? 'no' : 'xx', 2)
    expect(driver.createOutputTopic('named', stringSerde, stringSerde).readValuesToList()).toEqual(['no=Norway', 'no=Norway', 'no=Norway'])
    expect(
      driver
        .createOutputTopic('left', stringSerde, stringSerde)
        .readValuesToList()
        .filter((v) => v === 'xx=?')
    ).toHaveLength(3)
    expect(driver.getKeyValueStore<string, string>('countries').get('no')).toBe('Norway')
  })
})

describe('table-table joins', () => {
  async function tableTable(kind: 'inner' | 'left' | 'outer'): Promise<TopologyTestDriver> {
    const builder = new StreamsBuilder()
    const left = builder.table('left', str, { cachingEnabled: false })
    const right = builder.table('right', str, { cachingEnabled: false })
    const joiner = (l: string | null, r: string | null): string => `${l ?? '-'}/${r ?? '-'}`
    const joined = kind === 'inner' ? left.join(right, joiner) : kind === 'left' ? left.leftJoin(right, joiner) : left.outerJoin(right, joiner)
    joined.toStream().to('out', str)
    return TopologyTestDriver.create(builder.build(), { defaultPartitions: 2 })
  }

  async function run(kind: 'inner' | 'left' | 'outer'): Promise<Array<string | null>> {
    driver = await tableTable(kind)
    const left = driver.createInputTopic('left', stringSerde, stringSerde)
    const right = driver.createInputTopic('right', stringSerde, stringSerde)
    left.pipeInput('k', 'L1', 1)
    right.pipeInput('k', 'R1', 2)
    left.pipeInput('k', 'L2', 3)
    left.pipeInput('k', null, 4)
    right.pipeInput('k', null, 5)
    return driver.createOutputTopic('out', stringSerde, stringSerde).readValuesToList()
  }

  it('inner join emits while both sides have the key, and a delete when one side goes', async () => {
    expect(await run('inner')).toEqual(['L1/R1', 'L2/R1', null])
  })

  it('left join emits while the left side has the key', async () => {
    expect(await run('left')).toEqual(['L1/-', 'L1/R1', 'L2/R1', null])
  })

  it('outer join emits while either side has the key', async () => {
    expect(await run('outer')).toEqual(['L1/-', 'L1/R1', 'L2/R1', '-/R1', null])
  })
})

describe('stream-stream windowed joins', () => {
  async function streamStream(kind: 'inner' | 'left' | 'outer', windows: JoinWindows): Promise<TopologyTestDriver> {
    const builder = new StreamsBuilder()
    const left = builder.stream('left', str)
    const right = builder.stream('right', str)
    const joiner = (l: string | null, r: string | null): string => `${l ?? '-'}+${r ?? '-'}`
    const joined =
      kind === 'inner' ? left.join(right, joiner, windows) : kind === 'left' ? left.leftJoin(right, joiner, windows) : left.outerJoin(right, joiner, windows)
    joined.to('out', str)
    return TopologyTestDriver.create(builder.build(), { defaultPartitions: 2 })
  }

  it('inner join pairs records within the time difference, both ways, with the larger timestamp', async () => {
    driver = await streamStream('inner', JoinWindows.ofTimeDifferenceWithNoGrace(10))
    const left = driver.createInputTopic('left', stringSerde, stringSerde)
    const right = driver.createInputTopic('right', stringSerde, stringSerde)
    left.pipeInput('k', 'L0', 100)
    right.pipeInput('k', 'R0', 110) // 10 apart: joins
    right.pipeInput('k', 'R1', 111) // 11 apart from L0: no join
    left.pipeInput('k', 'L1', 105) // joins R0 and R1
    const out = driver.createOutputTopic('out', stringSerde, stringSerde).readRecordsToList()
    expect(out.map((r) => [r.value, r.timestampMs])).toEqual([
      ['L0+R0', 110],
      ['L1+R0', 110],
      ['L1+R1', 111]
    ])
  })

  it('left join emits an unmatched left record with null only after its window closed', async () => {
    // KIP-633 / Kafka Streams 3.1+: left and outer stream-stream joins emit non-joined records
    // when the join window closes (stream time >= t + after + grace), avoiding spurious results.
    driver = await streamStream('left', JoinWindows.ofTimeDifferenceAndGrace(10, 5))
    const left = driver.createInputTopic('left', stringSerde, stringSerde)
    const right = driver.createInputTopic('right', stringSerde, stringSerde)
    const out = driver.createOutputTopic('out', stringSerde, stringSerde)
    left.pipeInput('a', 'La', 100)
    left.pipeInput('b', 'Lb', 101)
    right.pipeInput('b', 'Rb', 108) // b matches: no null result for Lb later
    expect(out.readValuesToList()).toEqual(['Lb+Rb'])
    left.pipeInput('c', 'Lc', 114, { partition: 0 })
    left.pipeInput('c', 'Lc', 114, { partition: 1 })
    expect(out.readValuesToList()).toEqual([])
    left.pipeInput('d', 'Ld', 115, { partition: 0 })
    left.pipeInput('d', 'Ld', 115, { partition: 1 })
    expect(out.readValuesToList()).toEqual(['La+-'])
  })

  it('outer join emits unmatched records of both sides after their windows closed', async () => {
    driver = await streamStream('outer', JoinWindows.ofTimeDifferenceWithNoGrace(5))
    const left = driver.createInputTopic('left', stringSerde, stringSerde)
    const right = driver.createInputTopic('right', stringSerde, stringSerde)
    left.pipeInput('k', 'L', 0, { partition: 0 })
    right.pipeInput('k', 'R', 20, { partition: 0 })
    right.pipeInput('z', 'Z', 40, { partition: 0 })
    expect(driver.createOutputTopic('out', stringSerde, stringSerde).readValuesToList()).toEqual(['L+-', '-+R'])
  })

  it('drops and counts a record whose join window already closed', async () => {
    driver = await streamStream('inner', JoinWindows.ofTimeDifferenceWithNoGrace(5))
    const left = driver.createInputTopic('left', stringSerde, stringSerde)
    left.pipeInput('k', 'L', 100, { partition: 0 })
    left.pipeInput('k', 'old', 90, { partition: 0 })
    expect(driver.droppedRecords('late')).toBe(1)
  })
})
