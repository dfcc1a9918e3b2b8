import { describe, expect, it } from 'vitest';
import {
  formatBytes,
  formatCount,
  formatPercent,
  formatSeconds,
  formatSeqLen,
  nearestSeqStep,
  parseSeqLen,
  SEQ_MAX,
  SEQ_MIN,
  SEQ_STEPS,
} from './format';

describe('human units', () => {
  it('bytes in binary units', () => {
    expect(formatBytes(80 * 1024 ** 3)).toBe('80.0 GiB');
    expect(formatBytes(1.5 * 1024 ** 3)).toBe('1.5 GiB');
    expect(formatBytes(512 * 1024 ** 2)).toBe('512 MiB');
    expect(formatBytes(640 * 1024 ** 3)).toBe('640 GiB');
    expect(formatBytes(NaN)).toBe('—');
  });
  it('times from µs to hours', () => {
    expect(formatSeconds(0.0123)).toBe('12 ms');
    expect(formatSeconds(0.0042)).toBe('4.2 ms');
    expect(formatSeconds(3.456)).toBe('3.46 s');
    expect(formatSeconds(90)).toBe('1.5 min');
  });
  it('counts and percentages', () => {
    expect(formatCount(123456)).toBe('123k');
    expect(formatCount(1234567)).toBe('1.23M');
    expect(formatPercent(0.4567)).toBe('45.7%');
  });
});

describe('sequence lengths', () => {
  it('formats in binary k/M', () => {
    expect(formatSeqLen(131072)).toBe('128k');
    expect(formatSeqLen(1048576)).toBe('1M');
    expect(formatSeqLen(1572864)).toBe('1.5M');
    expect(formatSeqLen(3000)).toBe('3000');
  });
  it('parses what it formats, plus plain numbers', () => {
    for (const n of [4096, 131072, 1048576, 1572864, 4194304])
      expect(parseSeqLen(formatSeqLen(n))).toBe(n);
    expect(parseSeqLen('131,072')).toBe(131072);
    expect(parseSeqLen(' 2m ')).toBe(2097152);
    expect(parseSeqLen('0')).toBeNull();
    expect(parseSeqLen('-5')).toBeNull();
    expect(parseSeqLen('abc')).toBeNull();
  });
  it('slider steps run 4k … 4M, increasing, and snap to the nearest step in log space', () => {
    expect(SEQ_STEPS[0]).toBe(SEQ_MIN);
    expect(SEQ_STEPS[SEQ_STEPS.length - 1]).toBe(SEQ_MAX);
    for (let i = 1; i < SEQ_STEPS.length; i++)
      expect(SEQ_STEPS[i]).toBeGreaterThan(SEQ_STEPS[i - 1]);
    expect(SEQ_STEPS[nearestSeqStep(131072)]).toBe(131072);
    expect(SEQ_STEPS[nearestSeqStep(100000)]).toBe(98304);
    expect(SEQ_STEPS[nearestSeqStep(1)]).toBe(SEQ_MIN);
    expect(SEQ_STEPS[nearestSeqStep(1e9)]).toBe(SEQ_MAX);
  });
});
