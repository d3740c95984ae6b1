/**
 * Opening CSV files in real LibreOffice Calc, headless: its CSV import with a
 * given separator, then its flat XML (.fods) read back cell by cell, formulas
 * included. One soffice start converts many files (it is slow to start), in
 * a profile of its own.
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import { SaxesParser } from 'saxes';

/** One cell as LibreOffice holds it. */
export interface Cell {
  /** The text LibreOffice shows. */
  text: string;
  /** `of:=...` when the cell is a formula. */
  formula?: string;
  /** string, float, boolean, date... (absent when empty). */
  type?: string;
}

/** How the import is told to read the file: what LibreOffice users can pick in its CSV dialog. */
export interface ImportSettings {
  /** ASCII codes of the separators, `/`-joined (44 = `,`, 59 = `;`, 9 = tab). */
  separators: string;
  /** Remove leading and trailing spaces of each cell. */
  trimSpaces?: boolean;
}

const PROFILE = mkdtempSync(join(tmpdir(), 'casefile-lo-profile-'));

/**
 * The import filter options: separators, `"` as text delimiter, UTF-8, from
 * line 1, no column types, English (USA), quoted fields not forced to text,
 * special numbers detected, trim as asked, formulas evaluated: the most a
 * user could let LibreOffice interpret.
 */
function filterOptions(s: ImportSettings): string {
  return `Text - txt - csv (StarCalc):${s.separators},34,76,1,,1033,false,true,false,false,${s.trimSpaces ? 'true' : 'false'},-1,true`;
}

/** Convert every CSV file to .fods with one soffice run; returns the .fods paths, in order. */
export function openInLibreOffice(files: string[], settings: ImportSettings): string[] {
  const out = mkdtempSync(join(tmpdir(), 'casefile-lo-out-'));
  try {
    execFileSync(
      'soffice',
      [
        `-env:UserInstallation=file://${PROFILE}`,
        '--headless',
        `--infilter=${filterOptions(settings)}`,
        '--convert-to',
        'fods',
        '--outdir',
        out,
        ...files,
      ],
      { stdio: ['ignore', 'pipe', 'pipe'], timeout: 180_000 }
    );
  } catch (err) {
    const e = err as Error & { code?: string; stderr?: Buffer };
    if (e.code === 'ENOENT')
      throw new Error('soffice not found: install libreoffice-calc-nogui (scripts/setup-machine.sh)');
    throw new Error(`soffice failed: ${e.message} ${e.stderr?.toString() ?? ''}`);
  }
  return files.map((f) => join(out, basename(f).replace(/\.[^.]+$/, '') + '.fods'));
}

const TABLE = 'urn:oasis:names:tc:opendocument:xmlns:table:1.0';
const TEXT = 'urn:oasis:names:tc:opendocument:xmlns:text:1.0';
const OFFICE = 'urn:oasis:names:tc:opendocument:xmlns:office:1.0';
const MAX_REPEAT = 64;

/** The first sheet of a .fods as rows of cells (trailing empty cells and rows dropped). */
export function readFods(path: string): Cell[][] {
  const rows: Cell[][] = [];
  const parser = new SaxesParser({ xmlns: true });
  let row: Cell[] | undefined;
  let cell: (Cell & { repeat: number }) | undefined;
  let paragraphs: string[] | undefined;
  let inParagraph = false;
  let sheets = 0;
  parser.on('opentag', (t) => {
    const attr = (ns: string, name: string) =>
      Object.values(t.attributes).find((a) => typeof a === 'object' && a.uri === ns && a.local === name)
        ?.value;
    if (t.uri === TABLE && t.local === 'table') sheets++;
    if (sheets !== 1) return;
    if (t.uri === TABLE && t.local === 'table-row') row = [];
    else if (t.uri === TABLE && (t.local === 'table-cell' || t.local === 'covered-table-cell')) {
      cell = {
        text: '',
        formula: attr(TABLE, 'formula'),
        type: attr(OFFICE, 'value-type'),
        repeat: Math.min(Number(attr(TABLE, 'number-columns-repeated') ?? 1), MAX_REPEAT),
      };
      paragraphs = [];
    } else if (cell && t.uri === TEXT && t.local === 'p') {
      paragraphs!.push('');
      inParagraph = true;
    } else if (cell && t.uri === TEXT && t.local === 's') append(' '.repeat(Number(attr(TEXT, 'c') ?? 1)));
    else if (cell && t.uri === TEXT && t.local === 'tab') append('\t');
    else if (cell && t.uri === TEXT && t.local === 'line-break') append('\n');
  });
  const append = (s: string) => {
    if (inParagraph) paragraphs![paragraphs!.length - 1] += s;
  };
  parser.on('text', (s) => append(s));
  parser.on('closetag', (t) => {
    if (sheets !== 1) return;
    if (t.uri === TEXT && t.local === 'p') inParagraph = false;
    else if (
      t.uri === TABLE &&
      (t.local === 'table-cell' || t.local === 'covered-table-cell') &&
      cell &&
      row
    ) {
      const { repeat, ...c } = cell;
      c.text = paragraphs!.join('\n');
      if (c.formula === undefined) delete c.formula;
      if (c.type === undefined) delete c.type;
      for (let i = 0; i < repeat; i++) row.push({ ...c });
      cell = undefined;
      paragraphs = undefined;
    } else if (t.uri === TABLE && t.local === 'table-row' && row) {
      while (row.length && !row.at(-1)!.text && !row.at(-1)!.formula) row.pop();
      rows.push(row);
      row = undefined;
    }
  });
  parser.write(readFileSync(path, 'utf8')).close();
  while (rows.length && !rows.at(-1)!.length) rows.pop();
  return rows;
}
