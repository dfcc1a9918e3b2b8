// The live-update path must stay cheap at a million points (bench/series.ts measures it
// precisely; the bound here is generous so a busy CI machine does not flake).
import { describe, expect, it } from 'vitest';
import { SeriesTable, seriesView } from './index';

describe('series performance', () => {
  it('appends and redraws a 1,000,000-point series well within a frame budget', () => {
    const t = new SeriesTable(['loss', 'lr'], 0.9);
    for (let s = 1; s <= 1_000_000; s++)
      t.append({
        step: s,
        time: s,
        tokens: s * 512,
        values: { loss: 1 / s + (s === 500_000 ? 3 : 0), lr: 1e-3 },
      });
    const times: number[] = [];
    for (let r = 0; r < 15; r++) {
      const step = 1_000_001 + r;
      const t0 = performance.now();
      t.append({ step, time: step, tokens: step * 512, values: { loss: 1 / step, lr: 1e-3 } });
      const v = seriesView(t, 'loss', { axis: 'step', buckets: 1200 });
      times.push(performance.now() - t0);
      // The one-step spike is still on screen.
      expect(Math.max(...v.raw)).toBeGreaterThan(3);
    }
    times.sort((a, b) => a - b);
    expect(times[Math.floor(times.length / 2)]).toBeLessThan(250);
  });
});
