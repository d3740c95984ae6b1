import { EVENT_TYPE_NAMES } from '@casefile/schema';
import { SEVERITY_COLORS, TYPE_COLORS, eventColor } from './palette';

/** sRGB hex -> linear RGB. */
function lin(hex: string): [number, number, number] {
  const c = [1, 3, 5].map((i) => parseInt(hex.slice(i, i + 2), 16) / 255);
  return c.map((v) => (v <= 0.04045 ? v / 12.92 : ((v + 0.055) / 1.055) ** 2.4)) as [number, number, number];
}

/** Machado et al. (2009) severity-1.0 matrices for the two common colour-vision deficiencies. */
const CVD: Record<string, number[][]> = {
  none: [
    [1, 0, 0],
    [0, 1, 0],
    [0, 0, 1],
  ],
  deuteranopia: [
    [0.367322, 0.860646, -0.227968],
    [0.280085, 0.672501, 0.047413],
    [-0.01182, 0.04294, 0.968881],
  ],
  protanopia: [
    [0.152286, 1.052583, -0.204868],
    [0.114503, 0.786281, 0.099216],
    [-0.003882, -0.048116, 1.051998],
  ],
};

/** CIE76 distance in Lab between two colours as seen under a deficiency. */
function deltaE(a: string, b: string, m: number[][]): number {
  const lab = (hex: string) => {
    const [r, g, bl] = lin(hex);
    const s = m.map((row) => Math.min(1, Math.max(0, row[0] * r + row[1] * g + row[2] * bl)));
    const xyz = [
      (0.4124 * s[0] + 0.3576 * s[1] + 0.1805 * s[2]) / 0.95047,
      0.2126 * s[0] + 0.7152 * s[1] + 0.0722 * s[2],
      (0.0193 * s[0] + 0.1192 * s[1] + 0.9505 * s[2]) / 1.08883,
    ].map((v) => (v > 0.008856 ? Math.cbrt(v) : 7.787 * v + 16 / 116));
    return [116 * xyz[1] - 16, 500 * (xyz[0] - xyz[1]), 200 * (xyz[1] - xyz[2])];
  };
  const [x, y] = [lab(a), lab(b)];
  return Math.hypot(x[0] - y[0], x[1] - y[1], x[2] - y[2]);
}

describe('palette', () => {
  it('gives every type its own colour and keeps the audit colours for audits', () => {
    const colours = EVENT_TYPE_NAMES.map((t) => TYPE_COLORS[t]);
    expect(new Set(colours).size).toBe(colours.length);
    const others = EVENT_TYPE_NAMES.filter((t) => t !== 'runtime.audit').map((t) => TYPE_COLORS[t]);
    for (const c of Object.values(SEVERITY_COLORS)) expect(others).not.toContain(c);
    expect(eventColor({ type: 'runtime.audit', severity: 'critical' })).toBe(SEVERITY_COLORS.critical);
    expect(eventColor({ type: 'process.start' })).toBe(TYPE_COLORS['process.start']);
  });

  it.each(Object.keys(CVD))('keeps the types that share a stack apart under %s vision', (vision) => {
    const colours = EVENT_TYPE_NAMES.map((t) => [t, TYPE_COLORS[t]] as const);
    let worst = { d: Infinity, pair: '' };
    for (let i = 0; i < colours.length; i++)
      for (let j = i + 1; j < colours.length; j++) {
        const d = deltaE(colours[i][1], colours[j][1], CVD[vision]);
        if (d < worst.d) worst = { d, pair: `${colours[i][0]} / ${colours[j][0]}` };
      }
    // A CIE76 distance of about 10 is clearly told apart side by side.
    expect(worst.d > 10 ? 'apart' : `${worst.pair}: ${worst.d.toFixed(1)}`).toBe('apart');
  });
});
