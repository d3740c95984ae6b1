/**
 * Human durations for flags and YAML (`--learning-period 1h30m`): a sequence
 * of `<number><unit>` with units ms, s, m, h, d, w. A bare number is milliseconds.
 *
 * @example parseDuration('1h30m') // => 5_400_000
 * @example parseDuration('250') // => 250
 */
export function parseDuration(s: string | number): number {
  if (typeof s === 'number') {
    if (!Number.isFinite(s) || s < 0) throw new Error(`not a duration: ${s}`);
    return s;
  }
  const t = s.trim();
  if (/^\d+(\.\d+)?$/.test(t)) return Number(t);
  const unit: Record<string, number> = {
    ms: 1,
    s: 1000,
    m: 60_000,
    h: 3_600_000,
    d: 86_400_000,
    w: 604_800_000,
  };
  const re = /(\d+(?:\.\d+)?)(ms|s|m|h|d|w)/gy;
  let total = 0;
  let end = 0;
  for (let m = re.exec(t); m; m = re.exec(t)) {
    total += Number(m[1]) * unit[m[2]];
    end = re.lastIndex;
  }
  if (end === 0 || end !== t.length)
    throw new Error(`not a duration: ${JSON.stringify(s)} (e.g. 500ms, 30s, 1h30m, 7d)`);
  return total;
}

/**
 * Byte sizes: a number with an optional KiB/MiB/GiB (or K/M/G, KB/MB/GB as powers of 1024) suffix.
 *
 * @example parseBytes('256MiB') // => 268_435_456
 */
export function parseBytes(s: string | number): number {
  if (typeof s === 'number') return s;
  const m = /^\s*(\d+(?:\.\d+)?)\s*([KMG]i?B?|B)?\s*$/i.exec(s);
  if (!m) throw new Error(`not a size: ${JSON.stringify(s)} (e.g. 512MiB)`);
  const mult: Record<string, number> = { '': 1, B: 1, K: 1024, M: 1024 ** 2, G: 1024 ** 3 };
  return Math.floor(Number(m[1]) * mult[(m[2] ?? '').toUpperCase().charAt(0)]);
}
