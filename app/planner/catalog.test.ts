import { describe, expect, it } from 'vitest';
import calibrationFile from '../../resources/calibration.json';
import { CALIBRATION_KEYS, validateCalibration } from './catalog';

// A copy of the shipped file to break one field at a time.
const shipped = () => JSON.parse(JSON.stringify(calibrationFile));

describe('calibration.json validation', () => {
  it('accepts the shipped file, which defines exactly the keys the model reads', () => {
    const entries = validateCalibration(calibrationFile);
    expect(Object.keys(entries).sort()).toEqual([...CALIBRATION_KEYS].sort());
  });

  it('refuses a missing or an unknown key', () => {
    const missing = shipped();
    delete missing.entries.host_cores;
    expect(() => validateCalibration(missing)).toThrow(/missing \[host_cores\]/);
    const extra = shipped();
    extra.entries.host_core = { ...extra.entries.host_cores };
    expect(() => validateCalibration(extra)).toThrow(/unknown \[host_core\]/);
  });

  it('refuses a by_gpu figure for a GPU the catalog does not have', () => {
    const f = shipped();
    f.entries.matmul_efficiency.by_gpu['tpu-v5'] = 0.5;
    expect(() => validateCalibration(f)).toThrow(/by_gpu names unknown GPU "tpu-v5"/);
  });

  it('refuses a measured record that disagrees with the figure the planner uses', () => {
    const f = shipped();
    f.entries.layer_overhead_s.by_gpu.cpu = 0.5;
    expect(() => validateCalibration(f)).toThrow(
      /layer_overhead_s\.measured\.cpu is .* but by_gpu\.cpu is 0\.5/,
    );
  });

  it('refuses a measured record without its machine, date or command', () => {
    for (const field of ['machine', 'date', 'command', 'how']) {
      const f = shipped();
      delete f.entries.matmul_efficiency.measured.cpu[field];
      expect(() => validateCalibration(f), field).toThrow();
    }
    const f = shipped();
    f.entries.matmul_efficiency.measured.cpu.date = 'yesterday';
    expect(() => validateCalibration(f)).toThrow();
  });

  it('keeps efficiencies and fractions in (0, 1]: above would beat the peak, 0 would divide by zero', () => {
    for (const [key, v] of [
      ['matmul_efficiency', 1.2],
      ['attention_efficiency', 0],
      ['cpu_sync_efficiency', 1.5],
    ] as const) {
      const f = shipped();
      f.entries[key].measured.cpu.value = v;
      f.entries[key].by_gpu.cpu = v;
      expect(() => validateCalibration(f), key).toThrow(
        new RegExp(`${key}\\.by_gpu\\.cpu is ${v}, a fraction`),
      );
    }
    const f = shipped();
    f.entries.overlap_fraction.value = 2;
    expect(() => validateCalibration(f)).toThrow(/overlap_fraction\.value is 2, a fraction/);
  });

  it('counts cores in whole numbers', () => {
    const f = shipped();
    f.entries.host_cores.by_gpu.cpu = 1.5;
    f.entries.host_cores.measured.cpu.value = 1.5;
    expect(() => validateCalibration(f)).toThrow(/host_cores\.by_gpu\.cpu is 1\.5, a whole number/);
  });
});
