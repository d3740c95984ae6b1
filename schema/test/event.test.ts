import { test } from 'node:test';
import { equal, match, throws, ok } from 'node:assert/strict';
import { EventValidationError, makeEvent, msToNs, nsToMs, validateEvent, type CasefileEvent } from '../src';

const ok1: CasefileEvent = { id: 'a', type: 'port.listen', timeNs: '5', message: 'listen', listenPort: 8080 };

test('makeEvent fills a unique id and the current time', () => {
  const a = makeEvent({ type: 'port.listen', message: 'x', listenPort: 1 });
  const b = makeEvent({ type: 'port.listen', message: 'x', listenPort: 1 });
  ok(a.id !== b.id);
  match(a.id, /^[0-9a-f-]{36}$/);
  ok(Math.abs(nsToMs(a.timeNs) - Date.now()) < 5000);
});

test('validation names the field at fault', () => {
  const cases: Array<[Partial<CasefileEvent> & Record<string, unknown>, RegExp]> = [
    [{ type: 'nope' as never }, /^type: unknown event type/],
    [{ timeNs: '12.5' }, /^timeNs:/],
    [{ listenPort: undefined }, /^listenPort: is required for port.listen/],
    [{ listenPort: 1.5 }, /^listenPort: expected an integer/],
    [{ containerName: 'bad\ud800' }, /^containerName: contains a lone UTF-16 surrogate/],
    [{ message: 42 as never }, /^message: expected a string/],
    [{ args: ['ok', 3 as never] }, /^args\[1\]: expected a string/],
    [{ processName: 'a\ufffd' }, /^processName: contains U\+FFFD/],
  ];
  for (const [patch, re] of cases) {
    throws(
      () => validateEvent({ ...ok1, ...patch } as CasefileEvent),
      (err: Error) => {
        ok(err instanceof EventValidationError);
        match(err.message, re);
        return true;
      }
    );
  }
  equal(validateEvent(ok1), ok1);
});

test('ms <-> ns conversions are exact', () => {
  equal(msToNs(1700000000123), '1700000000123000000');
  equal(msToNs(new Date(1)), '1000000');
  equal(nsToMs('1700000000123999999'), 1700000000123);
});
