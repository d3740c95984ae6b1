import { test } from 'node:test';
import { equal, ok } from 'node:assert/strict';
import { CSV_BOM, CSV_COLUMNS, csvCell, csvHeader, csvRow, nsToIso, toCsv, type CasefileEvent } from '../src';

test('formula injection is neutralised', () => {
  const cases: Array<[unknown, string]> = [
    ['=HYPERLINK("http://x","y")', `"'=HYPERLINK(""http://x"",""y"")"`],
    ['+1+cmd|calc', "'+1+cmd|calc"],
    ['-2+3', "'-2+3"],
    ['@SUM(A1)', "'@SUM(A1)"],
    ['\t=1', `"'\t'=1"`],
    ['\r=1', `"'\r'=1"`],
    ['\0x', '\u2400x'],
    ['＝1+1', "'＝1+1"],
    [-1, '-1'],
    ['-1.5', '-1.5'],
    ['safe = later', 'safe = later'],
  ];
  for (const [v, want] of cases) equal(csvCell(v), want, JSON.stringify(v));
});

test('RFC 4180 quoting', () => {
  equal(csvCell('a,b'), '"a,b"');
  equal(csvCell('say "hi"'), '"say ""hi"""');
  equal(csvCell('two\nlines'), '"two\nlines"');
  equal(csvCell(undefined), '');
  equal(csvCell(['a', 'b"']), '"[""a"",""b\\""""]"');
  equal(csvCell(42), '42');
});

test('document: BOM, header, CRLF rows, one column per field', () => {
  const e: CasefileEvent = {
    id: 'e1',
    type: 'process.start',
    timeNs: '1700000000123456789',
    message: 'sh -c "x"',
    pid: 7,
    executable: '/bin/sh',
  };
  const doc = toCsv([e]);
  ok(doc.startsWith(CSV_BOM + 'time,time_unix_nano,casefile.event.type,title,casefile.event.id,message,'));
  equal(doc, CSV_BOM + csvHeader() + csvRow(e));
  const row = csvRow(e);
  ok(row.endsWith('\r\n'));
  ok(
    row.startsWith(
      `2023-11-14T22:13:20.123456789Z,'1700000000123456789,process.start,Process started,e1,"sh -c ""x""",`
    )
  );
  // No cell here contains a comma, so splitting counts the cells.
  equal(row.trimEnd().split(',').length, CSV_COLUMNS.length);
});

test('nsToIso keeps nanoseconds', () => {
  equal(nsToIso('1'), '1970-01-01T00:00:00.000000001Z');
  equal(nsToIso('1700000000999999999'), '2023-11-14T22:13:20.999999999Z');
});

test('cells with a separator any spreadsheet may use are quoted', () => {
  equal(csvCell('a;b'), '"a;b"');
  equal(csvCell('a\tb'), '"a\tb"');
  equal(csvCell('a\rb'), '"a\rb"');
  equal(csvCell('plain text'), 'plain text');
});

test('formula starts after ; tab and line breaks inside a cell are neutralised too', () => {
  const cases: Array<[string, string]> = [
    ['x;=1+1;y', `"x;'=1+1;y"`],
    ['x\t@SUM(1)', `"x\t'@SUM(1)"`],
    ['x\n+cmd', `"x\n'+cmd"`],
    ['x\r\n-2+3', `"x\r\n'-2+3"`],
    ['x; =1', `"x; '=1"`],
    ['x;"=1', `"x;""'=1"`],
    ['x;\u200B=1', `"x;\u200B'=1"`],
    ['x;-1;-2.5', '"x;-1;-2.5"'],
    ["x;'y", `"x;''y"`],
    ['a,=1', '"a,=1"'], // `,` splits only where the quotes hold
    ['a=b-c+d@e', 'a=b-c+d@e'],
  ];
  for (const [v, want] of cases) equal(csvCell(v), want, JSON.stringify(v));
});

test('text a spreadsheet would read as a number, date, time or boolean stays text; numbers stay numbers', () => {
  for (const v of ['007', '1e3', '1.50', '1/2', '12:30', '50%', '(1)', '$5', '1,000', 'true', 'FALSE', '-0'])
    equal(csvCell(v), NEEDS(v) ? `"'${v}"` : `'${v}`, v);
  for (const v of ['4242', '-1.5', '0', 'e1', 'pts/0', '7zip', 'nginx:1.27']) equal(csvCell(v), v, v);
  equal(csvCell(4242), '4242');
});

test('control characters are written as their visible pictures', () => {
  equal(csvCell('a\0b\x01c\x1Bd\x7F'), 'a\u2400b\u2401c\u241Bd\u2421');
  equal(csvCell('tab\tstays'), '"tab\tstays"');
});

test('integers longer than a spreadsheet keeps are text', () => {
  equal(csvCell('1700000000123456789'), "'1700000000123456789");
  equal(csvCell('-1700000000123456789'), "'-1700000000123456789");
  equal(csvCell('123456789012345'), '123456789012345');
  equal(csvCell(1234567), '1234567');
});

const NEEDS = (v: string) => /[",;\t\r\n]/.test(v);

/** Undo the neutralising: one `'` removed at each place a piece can start (the documented reversal). */
function unneutralise(cell: string): string {
  const unquoted = cell.startsWith('"') ? cell.slice(1, -1).replace(/""/g, '"') : cell;
  return unquoted.replace(/(^|[;\t\r\n])([\s"\u200B-\u200D\u2060]*)'/g, '$1$2');
}

test('neutralising is reversible: one quote removed at each piece start gives the value back', () => {
  const values = [
    "'",
    "''",
    "'=1",
    '=1',
    '\t=1',
    '\r\n=x;\t@y',
    "it's; 'quoted'",
    '1700000000123456789',
    "'1700000000123456789",
    '-1;-x',
    `x;"=1";'=2`,
    'plain',
  ];
  for (const v of values) equal(unneutralise(csvCell(v)), v, JSON.stringify(v));
});

test('the byte-order mark is optional', () => {
  const e: CasefileEvent = { id: 'e1', type: 'process.start', timeNs: '1', message: 'm' };
  ok(toCsv([e]).startsWith(CSV_BOM + 'time,'));
  ok(toCsv([e], CSV_COLUMNS, { bom: false }).startsWith('time,'));
});
