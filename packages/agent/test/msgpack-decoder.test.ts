import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import { decodeMsgpack, decodeMsgpackTree, MsgpackDecodeError, type MsgpackNode } from '../src/intake/msgpack-decoder.js'
import { encode, span, uint64 } from './test-encoder.js'

const bytes = (...b: number[]): Uint8Array => Uint8Array.from(b)
const repeat = (n: number, b: number): number[] => new Array<number>(n).fill(b)

function decodeError(input: Uint8Array): MsgpackDecodeError {
  try {
    decodeMsgpackTree(input)
  } catch (error) {
    assert.ok(error instanceof MsgpackDecodeError, `expected MsgpackDecodeError, got ${String(error)}`)
    return error
  }
  assert.fail('expected the decode to fail')
}

function scalar(node: MsgpackNode): { kind: string; format: string; value?: unknown } {
  return 'value' in node ? { kind: node.kind, format: node.format, value: node.value } : { kind: node.kind, format: node.format }
}

void describe('msgpack decoder: every format', () => {
  const vectors: Array<[string, number[], { kind: string; format: string; value?: unknown }]> = [
    ['nil', [0xc0], { kind: 'nil', format: 'nil' }],
    ['false', [0xc2], { kind: 'bool', format: 'false', value: false }],
    ['true', [0xc3], { kind: 'bool', format: 'true', value: true }],
    ['positive fixint 0', [0x00], { kind: 'uint', format: 'positive-fixint', value: 0 }],
    ['positive fixint 127', [0x7f], { kind: 'uint', format: 'positive-fixint', value: 127 }],
    ['negative fixint -1', [0xff], { kind: 'int', format: 'negative-fixint', value: -1 }],
    ['negative fixint -32', [0xe0], { kind: 'int', format: 'negative-fixint', value: -32 }],
    ['uint8 255', [0xcc, 0xff], { kind: 'uint', format: 'uint8', value: 255 }],
    ['uint16 65535', [0xcd, 0xff, 0xff], { kind: 'uint', format: 'uint16', value: 65535 }],
    ['uint32 2^32-1', [0xce, 0xff, 0xff, 0xff, 0xff], { kind: 'uint', format: 'uint32', value: 4294967295 }],
    ['uint64 1', [0xcf, 0, 0, 0, 0, 0, 0, 0, 1], { kind: 'uint', format: 'uint64', value: 1n }],
    ['int8 -128', [0xd0, 0x80], { kind: 'int', format: 'int8', value: -128 }],
    ['int16 -32768', [0xd1, 0x80, 0x00], { kind: 'int', format: 'int16', value: -32768 }],
    ['int32 -2^31', [0xd2, 0x80, 0, 0, 0], { kind: 'int', format: 'int32', value: -2147483648 }],
    ['int64 -2^63', [0xd3, 0x80, 0, 0, 0, 0, 0, 0, 0], { kind: 'int', format: 'int64', value: -(2n ** 63n) }],
    ['int64 -1', [0xd3, ...repeat(8, 0xff)], { kind: 'int', format: 'int64', value: -1n }],
    ['float32 1.5', [0xca, 0x3f, 0xc0, 0, 0], { kind: 'float', format: 'float32', value: 1.5 }],
    ['float64 -0.25', [0xcb, 0xbf, 0xd0, 0, 0, 0, 0, 0, 0], { kind: 'float', format: 'float64', value: -0.25 }],
    ['fixstr', [0xa3, 0x61, 0x62, 0x63], { kind: 'str', format: 'fixstr', value: 'abc' }],
    ['fixstr empty', [0xa0], { kind: 'str', format: 'fixstr', value: '' }],
    ['str8', [0xd9, 0x02, 0xc3, 0xa9], { kind: 'str', format: 'str8', value: 'é' }],
    ['str16', [0xda, 0x00, 0x01, 0x7a], { kind: 'str', format: 'str16', value: 'z' }],
    ['str32', [0xdb, 0, 0, 0, 0x01, 0x7a], { kind: 'str', format: 'str32', value: 'z' }],
    ['bin8', [0xc4, 0x02, 0x01, 0x02], { kind: 'bin', format: 'bin8', value: bytes(1, 2) }],
    ['bin16', [0xc5, 0x00, 0x01, 0xff], { kind: 'bin', format: 'bin16', value: bytes(0xff) }],
    ['bin32', [0xc6, 0, 0, 0, 0], { kind: 'bin', format: 'bin32', value: bytes() }]
  ]
  for (const [label, input, expected] of vectors) {
    void it(label, () => {
      assert.deepEqual(scalar(decodeMsgpackTree(Uint8Array.from(input))), expected)
    })
  }

  void it('containers: fixarray, array16, array32, fixmap, map16, map32', () => {
    const cases: Array<[number[], string, unknown]> = [
      [[0x92, 0x01, 0xa1, 0x78], 'fixarray', [1, 'x']],
      [[0xdc, 0x00, 0x01, 0xc0], 'array16', [null]],
      [[0xdd, 0, 0, 0, 0x02, 0xc3, 0xc2], 'array32', [true, false]],
      [[0x81, 0xa1, 0x6b, 0x07], 'fixmap', { k: 7 }],
      [[0xde, 0x00, 0x01, 0xa1, 0x6b, 0x90], 'map16', { k: [] }],
      [[0xdf, 0, 0, 0, 0x01, 0xa1, 0x6b, 0x80], 'map32', { k: {} }]
    ]
    for (const [input, format, plain] of cases) {
      const input8 = Uint8Array.from(input)
      assert.equal(decodeMsgpackTree(input8).format, format)
      assert.deepEqual(decodeMsgpack(input8), plain)
    }
  })

  void it('uint64 decodes exactly as bigint at 2^53+1, 2^63 and 2^64-1', () => {
    assert.equal(decodeMsgpack(encode(uint64(2n ** 53n + 1n))), 2n ** 53n + 1n)
    assert.equal(decodeMsgpack(bytes(0xcf, 0x80, 0, 0, 0, 0, 0, 0, 0)), 2n ** 63n)
    assert.equal(decodeMsgpack(bytes(0xcf, ...repeat(8, 0xff))), 2n ** 64n - 1n)
  })

  void it('int64: "bigint" mode is always bigint, "auto" narrows safe values to number', () => {
    const small = encode(uint64(42))
    assert.equal(decodeMsgpack(small), 42n)
    assert.equal(decodeMsgpack(small, { int64: 'auto' }), 42)
    assert.equal(decodeMsgpack(bytes(0xcf, ...repeat(8, 0xff)), { int64: 'auto' }), 2n ** 64n - 1n)
    assert.equal(decodeMsgpack(bytes(0xd3, ...repeat(8, 0xff)), { int64: 'auto' }), -1)
  })

  void it('repairs invalid UTF-8 with U+FFFD and says so', () => {
    const node = decodeMsgpackTree(bytes(0xa3, 0x61, 0xff, 0x62))
    assert.equal(node.kind, 'str')
    assert.equal(node.kind === 'str' && node.value, 'a\uFFFDb')
    assert.equal(node.kind === 'str' && node.validUtf8, false)
    const genuine = decodeMsgpackTree(encode('a\uFFFDb'))
    assert.equal(genuine.kind === 'str' && genuine.validUtf8, true)
  })

  void it('keeps a "__proto__" key as an own property', () => {
    const plain = decodeMsgpack(encode(new Map([['__proto__', 'x']]))) as Record<string, unknown>
    assert.equal(Object.getPrototypeOf(plain), Object.prototype)
    assert.deepEqual(Object.keys(plain), ['__proto__'])
  })

  void it('bin values are copies, not views of the input', () => {
    const input = bytes(0xc4, 0x01, 0x09)
    const node = decodeMsgpackTree(input)
    assert.ok(node.kind === 'bin')
    assert.notEqual(node.value.buffer, input.buffer)
  })

  void it('decodes a Uint8Array that is a window on a larger buffer', () => {
    const backing = bytes(0xff, 0xff, 0x92, 0x01, 0x02, 0xff)
    assert.deepEqual(decodeMsgpack(backing.subarray(2, 5)), [1, 2])
  })
})

void describe('msgpack decoder: hard errors', () => {
  const sample = encode([[span(), span({ span_id: uint64(2n ** 64n - 1n), parent_id: uint64(0x5678n) })]])

  void it('a sample payload decodes', () => {
    const plain = decodeMsgpack(sample) as Array<Array<Record<string, unknown>>>
    assert.equal(plain[0]?.[1]?.span_id, 2n ** 64n - 1n)
  })

  void it('truncation at every byte boundary is unexpected-eof', () => {
    for (let length = 0; length < sample.length; length++) {
      const error = decodeError(sample.subarray(0, length))
      assert.equal(error.reason, 'unexpected-eof', `truncated to ${length} bytes: ${error.message}`)
    }
  })

  void it('trailing bytes after the value', () => {
    assert.equal(decodeError(bytes(0x90, 0x00)).reason, 'trailing-bytes')
  })

  void it('0xc1 is an invalid type byte', () => {
    const error = decodeError(bytes(0x91, 0xc1))
    assert.equal(error.reason, 'invalid-type-byte')
    assert.equal(error.offset, 1)
  })

  void it('ext formats are refused', () => {
    for (const b of [0xc7, 0xc8, 0xc9, 0xd4, 0xd5, 0xd6, 0xd7, 0xd8]) {
      assert.equal(decodeError(bytes(b, 0x01, 0x01, 0x01)).reason, 'ext-not-supported')
    }
  })

  void it('a header claiming 4e9 entries fails at once, allocating nothing', () => {
    const before = process.memoryUsage().heapUsed
    assert.equal(decodeError(bytes(0xdd, 0xee, 0x6b, 0x28, 0x00)).reason, 'too-many-elements')
    assert.equal(decodeError(bytes(0xdf, 0xff, 0xff, 0xff, 0xff, 0x00)).reason, 'too-many-elements')
    assert.equal(decodeError(bytes(0xdb, 0xff, 0xff, 0xff, 0xff, 0x61)).reason, 'unexpected-eof')
    assert.equal(decodeError(bytes(0xc6, 0xff, 0xff, 0xff, 0xff, 0x61)).reason, 'unexpected-eof')
    assert.ok(process.memoryUsage().heapUsed - before < 16 * 1024 * 1024)
  })

  void it('a count within 25e6 that the input cannot hold is truncation, found up front', () => {
    const error = decodeError(bytes(0xdd, 0x01, 0x7d, 0x78, 0x40, 0x01))
    assert.equal(error.reason, 'unexpected-eof')
    assert.match(error.message, /claims 25000000 elements/)
  })

  void it('the element cap is configurable and 25e6 by default', () => {
    assert.equal(decodeError(bytes(0xdd, 0x01, 0x7d, 0x78, 0x41)).reason, 'too-many-elements')
    assert.throws(() => decodeMsgpackTree(bytes(0x93, 1, 2, 3), { maxElements: 2 }), { reason: 'too-many-elements' })
  })

  void it('nesting deeper than maxDepth is refused instead of overflowing the stack', () => {
    assert.equal(decodeError(Uint8Array.from([...repeat(100_000, 0x91), 0xc0])).reason, 'too-deep')
    assert.deepEqual(decodeMsgpack(bytes(0x91, 0x91, 0x90), { maxDepth: 3 }), [[[]]])
    assert.throws(() => decodeMsgpackTree(bytes(0x91, 0x91, 0x90), { maxDepth: 2 }), { reason: 'too-deep' })
  })

  void it('empty input is unexpected-eof', () => {
    assert.equal(decodeError(bytes()).reason, 'unexpected-eof')
  })
})
