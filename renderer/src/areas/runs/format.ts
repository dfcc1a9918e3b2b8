// Numbers as people read them in the runs views.
import type { XAxis } from '../../../../app/series';

export function fmtDuration(seconds: number): string {
  if (!Number.isFinite(seconds) || seconds < 0) return '–';
  const s = Math.floor(seconds);
  const h = Math.floor(s / 3600);
  const m = Math.floor((s % 3600) / 60);
  const sec = s % 60;
  if (h > 0) return `${h}h ${String(m).padStart(2, '0')}m`;
  if (m > 0) return `${m}m ${String(sec).padStart(2, '0')}s`;
  return `${sec}s`;
}

/** Clock style for an axis: 0:42, 12:05, 3:02:10. */
export function fmtClock(seconds: number): string {
  const s = Math.max(0, Math.round(seconds));
  const h = Math.floor(s / 3600);
  const m = Math.floor((s % 3600) / 60);
  const sec = String(s % 60).padStart(2, '0');
  return h > 0 ? `${h}:${String(m).padStart(2, '0')}:${sec}` : `${m}:${sec}`;
}

export function fmtCount(n: number): string {
  if (!Number.isFinite(n)) return '–';
  const a = Math.abs(n);
  if (a >= 1e12) return `${+(n / 1e12).toPrecision(3)}T`;
  if (a >= 1e9) return `${+(n / 1e9).toPrecision(3)}G`;
  if (a >= 1e6) return `${+(n / 1e6).toPrecision(3)}M`;
  if (a >= 1e4) return `${+(n / 1e3).toPrecision(3)}k`;
  return String(Math.round(n));
}

export function fmtBytes(n: number): string {
  if (!Number.isFinite(n)) return '–';
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];
  let v = n;
  let u = 0;
  while (Math.abs(v) >= 1024 && u < units.length - 1) {
    v /= 1024;
    u++;
  }
  return `${u === 0 ? v : v.toPrecision(3)} ${units[u]}`;
}

/** A metric value with enough digits to tell neighbouring steps apart. */
export function fmtValue(v: number | null | undefined): string {
  if (v === null || v === undefined || Number.isNaN(v)) return '–';
  if (!Number.isFinite(v)) return v > 0 ? '∞' : '−∞';
  const a = Math.abs(v);
  if (a !== 0 && (a < 1e-3 || a >= 1e6)) return v.toExponential(3).replace(/\.?0+e/, 'e');
  return String(+v.toPrecision(5));
}

export function fmtPercent(v: number | null | undefined): string {
  if (v === null || v === undefined || !Number.isFinite(v)) return '–';
  return `${(v * 100).toFixed(v < 0.1 ? 2 : 1)}%`;
}

export function fmtAxis(axis: XAxis, x: number): string {
  if (axis === 'time') return fmtClock(x);
  if (axis === 'tokens') return fmtCount(x);
  return String(Math.round(x));
}

export const AXIS_LABEL: Record<XAxis, string> = {
  step: 'Step',
  time: 'Wall time',
  tokens: 'Tokens',
};

const whenCache = new Map<string, string>();
/** Start times in the run list: the time today, with the date otherwise (cached: the list redraws every second). */
export function fmtWhen(ms: number, now = Date.now()): string {
  const d = new Date(ms);
  const sameDay = new Date(now).toDateString() === d.toDateString();
  const key = `${ms}:${sameDay ? 1 : 0}`;
  let s = whenCache.get(key);
  if (s === undefined) {
    const time = d.toLocaleTimeString([], { hour: '2-digit', minute: '2-digit' });
    s = sameDay ? time : `${d.toLocaleDateString([], { month: 'short', day: 'numeric' })} ${time}`;
    if (whenCache.size > 500) whenCache.clear();
    whenCache.set(key, s);
  }
  return s;
}

/** Axis ticks: short, fewer digits than read-outs. */
export function fmtTick(v: number): string {
  const a = Math.abs(v);
  if (a !== 0 && (a < 1e-3 || a >= 1e6)) return v.toExponential(1).replace(/\.0e/, 'e');
  return String(+v.toPrecision(3));
}

/** A domain widened to round numbers, with its ticks: axes that read 0.5, 1, 1.5 rather than 0.47, 1.13. */
export function niceDomain(
  lo: number,
  hi: number,
  count = 4,
): { domain: [number, number]; ticks: number[] } | null {
  if (!Number.isFinite(lo) || !Number.isFinite(hi)) return null;
  // Equal within rounding (a smoothed first point can differ from the raw one by an ulp): a span
  // that small has no round ticks, and stepping by it would never advance.
  if (hi - lo <= Math.max(Math.abs(lo), Math.abs(hi)) * 1e-9) {
    const pad = Math.abs(lo) * 0.05 || 1;
    lo -= pad;
    hi += pad;
  }
  const step = niceStep((hi - lo) / count);
  const a = Math.floor(lo / step) * step;
  const b = Math.ceil(hi / step) * step;
  const ticks: number[] = [];
  for (let k = 0; k <= MAX_TICKS && a + k * step <= b + step * 1e-9; k++)
    ticks.push(+(a + k * step).toPrecision(12));
  return { domain: [ticks[0], ticks[ticks.length - 1]], ticks };
}

/** No axis needs more; also a hard stop for any loop over tick positions. */
const MAX_TICKS = 40;

function niceStep(raw: number): number {
  const mag = 10 ** Math.floor(Math.log10(raw));
  return [1, 2, 2.5, 5, 10].map((m) => m * mag).find((s) => s >= raw * 0.999) ?? 10 * mag;
}

/** About `count` round tick positions (1, 2 or 5 × 10^k apart) covering [lo, hi]. */
export function niceTicks(lo: number, hi: number, count = 5): number[] {
  if (!Number.isFinite(lo) || !Number.isFinite(hi)) return [];
  if (hi - lo <= Math.max(Math.abs(lo), Math.abs(hi)) * 1e-9) return [lo];
  const step = niceStep((hi - lo) / count);
  const out: number[] = [];
  const a = Math.ceil(lo / step) * step;
  for (let k = 0; k <= MAX_TICKS && a + k * step <= hi + step * 1e-9; k++)
    out.push(+(a + k * step).toPrecision(12));
  return out;
}

const TIME_STEPS = [
  1, 2, 5, 10, 15, 30, 60, 120, 300, 600, 900, 1800, 3600, 7200, 10800, 21600, 43200, 86400,
];
/** Ticks on whole seconds, minutes or hours for the wall-time axis. */
export function timeTicks(lo: number, hi: number, count = 5): number[] {
  if (!Number.isFinite(lo) || !Number.isFinite(hi)) return [];
  if (hi <= lo) return [lo];
  const raw = (hi - lo) / count;
  const step = TIME_STEPS.find((s) => s >= raw) ?? Math.ceil(raw / 86400) * 86400;
  const out: number[] = [];
  const a = Math.ceil(lo / step) * step;
  for (let k = 0; k <= MAX_TICKS && a + k * step <= hi; k++) out.push(a + k * step);
  return out;
}
