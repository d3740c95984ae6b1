import { test } from 'node:test';
import { deepStrictEqual, equal, ok } from 'node:assert/strict';
import {
  MAX_VALUE_BYTES,
  decodeBytes,
  escapeReplacementChars,
  truncateEvent,
  truncateString,
  type CasefileEvent,
} from '../src';

const base: CasefileEvent = {
  id: 'x',
  type: 'process.start',
  timeNs: '1',
  message: 'm',
  pid: 1,
  executable: '/bin/x',
};
const bytes = (s: string) => new TextEncoder().encode(s).length;

test('short values pass through untouched', () => {
  deepStrictEqual(truncateString('hello'), { value: 'hello' });
  deepStrictEqual(truncateEvent(base), base);
});

test('long values are cut at a code point boundary with a marker naming the size', () => {
  const long = '日'.repeat(MAX_VALUE_BYTES); // 3 bytes each
  const t = truncateString(long);
  equal(t.originalBytes, MAX_VALUE_BYTES * 3);
  ok(t.value.endsWith(`…[truncated, ${MAX_VALUE_BYTES * 3} bytes]`));
  ok(bytes(t.value) <= MAX_VALUE_BYTES);
  ok(!t.value.includes('\ufffd'));
});

test('truncateEvent records every cut field with its original size', () => {
  const e = truncateEvent({
    ...base,
    commandLine: 'a'.repeat(1 << 20),
    message: 'b'.repeat(20000),
    args: Array(300).fill('z'),
  });
  equal(
    e.truncated,
    `message:20000,commandLine:${1 << 20},args:${JSON.stringify(Array(300).fill('z')).length}`
  );
  equal(e.args!.length, 257);
  equal(e.args![256], '…[truncated, 300 args]');
});

test('decodeBytes keeps valid UTF-8 and escapes invalid bytes, keeping the original', () => {
  const raw: Record<string, string> = {};
  equal(decodeBytes('executable', new TextEncoder().encode('/usr/bin/日本'), raw), '/usr/bin/日本');
  deepStrictEqual(raw, {});
  equal(decodeBytes('executable', Uint8Array.of(0x2f, 0xff, 0x41, 0xc3), raw), '/\\xffA\\xc3');
  deepStrictEqual([...Buffer.from(raw.executable, 'base64')], [0x2f, 0xff, 0x41, 0xc3]);
  // Overlong and surrogate encodings are invalid too.
  equal(
    decodeBytes('processName', Uint8Array.of(0xe0, 0x80, 0x80, 0xed, 0xa0, 0x80), raw),
    '\\xe0\\x80\\x80\\xed\\xa0\\x80'
  );
});

test('U+FFFD is escaped (Loki would turn it into a space) and kept raw', () => {
  const e = escapeReplacementChars({ ...base, processName: 'a\ufffdb' });
  equal(e.processName, 'a\\xef\\xbf\\xbdb');
  equal(Buffer.from(JSON.parse(e.rawBase64!).processName, 'base64').toString('utf8'), 'a\ufffdb');
});
