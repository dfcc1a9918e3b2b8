import { describe, expect, it } from 'vitest';
import { fmtClock, fmtDuration, fmtValue, niceDomain, niceTicks, timeTicks } from './format';

describe('runs formatting', () => {
  it('widens a domain to round ticks', () => {
    expect(niceDomain(4.55, 7.15)).toEqual({ domain: [4, 8], ticks: [4, 5, 6, 7, 8] });
    expect(niceDomain(1.21, 1.98)!.ticks).toEqual([1.2, 1.4, 1.6, 1.8, 2]);
    expect(niceDomain(3, 3)!.domain[0]).toBeLessThan(3);
    expect(niceDomain(Infinity, -Infinity)).toBeNull();
    // A smoothed first point one ulp off the raw one: a finite answer, not an endless loop.
    const d = niceDomain(1.6851, 1.6851 + 2e-16)!;
    expect(d.domain[0]).toBeLessThan(1.6851);
    expect(d.ticks.length).toBeLessThanOrEqual(41);
  });

  it('puts x ticks on round steps and whole minutes', () => {
    expect(niceTicks(1, 400)).toEqual([100, 200, 300, 400]);
    expect(timeTicks(0, 600)).toEqual([0, 120, 240, 360, 480, 600]);
    expect(niceTicks(1e9, 1e9 + 1e-6)).toEqual([1e9]);
    expect(niceTicks(0, 1e-300).length).toBeLessThanOrEqual(41);
  });

  it('prints values people can compare', () => {
    expect(fmtValue(2.345678)).toBe('2.3457');
    expect(fmtValue(0.00075)).toBe('7.5e-4');
    expect(fmtValue(Number.NaN)).toBe('–');
    expect(fmtDuration(3725)).toBe('1h 02m');
    expect(fmtClock(65)).toBe('1:05');
  });
});
