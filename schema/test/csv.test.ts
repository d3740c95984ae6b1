import { test } from 'node:test';
import { equal, ok } from 'node:assert/strict';
import { CSV_BOM, CSV_COLUMNS, csvCell, csvHeader, csvRow, nsToIso, toCsv, type CasefileEvent } from '../src';

test('formula injection is neutralised', () => {
  const cases: Array<[unknown, string]> = [
    ['=HYPERLINK("http://x","y")', `"'=HYPERLINK(""http://x"",""y"")"`],
    ['+1+cmd|calc', "'+1+cmd|calc"],
    ['-2+3', "'-2+3"],
    ['@SUM(A1)', "'@SUM(A1)"],
    ['\t=1', "'\t=1"],
    ['\r=1', `"'\r=1"`],
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
      '2023-11-14T22:13:20.123456789Z,1700000000123456789,process.start,Process started,e1,"sh -c ""x""",'
    )
  );
  // No cell here contains a comma, so splitting counts the cells.
  equal(row.trimEnd().split(',').length, CSV_COLUMNS.length);
});

test('nsToIso keeps nanoseconds', () => {
  equal(nsToIso('1'), '1970-01-01T00:00:00.000000001Z');
  equal(nsToIso('1700000000999999999'), '2023-11-14T22:13:20.999999999Z');
});
