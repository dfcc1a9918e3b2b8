import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import {
  noTorchAdvice,
  parseProbe,
  parsePythonFinder,
  parseReach,
  parseRuntimeCheck,
  pythonCandidates,
  pythonFinderScript,
  torchSupported,
} from './node-scripts';

// What probeScript prints on a GPU node (nvidia-smi's CSV query and its banner's CUDA line).
const GPU_NODE = `@@os
Ubuntu 22.04.4 LTS
@@kernel
Linux 5.15.0-105-generic x86_64
@@hostname
gpu-a
@@cpus
208
@@mem
MemTotal:       2113389412 kB
@@home
/home/ml
@@workdir
/home/ml/.spindle
@@gpus
NVIDIA H100 80GB HBM3, 81559, 550.54.15
NVIDIA H100 80GB HBM3, 81559, 550.54.15
@@cudadriver
CUDA Version: 12.4
@@disk
/dev/nvme0n1p2 3842445480 1203456000 2443231232      34% /
@@ip
1: lo    inet 127.0.0.1/8 scope host lo\\       valid_lft forever preferred_lft forever
2: ens12np0    inet 10.1.4.21/22 brd 10.1.7.255 scope global ens12np0\\       valid_lft forever preferred_lft forever
@@end
`;

describe('node probe parsing', () => {
  it('reads system facts and GPUs', () => {
    const f = parseProbe(GPU_NODE);
    expect(f).toMatchObject({
      os: 'Ubuntu 22.04.4 LTS',
      hostname: 'gpu-a',
      cpus: 208,
      memBytes: 2113389412 * 1024,
      home: '/home/ml',
      workdir: '/home/ml/.spindle',
      diskFreeBytes: 2443231232 * 1024,
    });
    expect(f.gpus).toEqual([
      {
        name: 'NVIDIA H100 80GB HBM3',
        memBytes: 81559 * 1024 * 1024,
        driver: '550.54.15',
        cuda: '12.4',
      },
      {
        name: 'NVIDIA H100 80GB HBM3',
        memBytes: 81559 * 1024 * 1024,
        driver: '550.54.15',
        cuda: '12.4',
      },
    ]);
    expect(f.addresses.map((a) => `${a.iface} ${a.address}/${a.prefix}`)).toEqual([
      'lo 127.0.0.1/8',
      'ens12np0 10.1.4.21/22',
    ]);
  });
  it('treats a node without nvidia-smi as having no GPUs, not as broken', () => {
    const f = parseProbe(
      GPU_NODE.replace(
        /@@gpus\n[\s\S]*?@@cudadriver\nCUDA Version: 12.4\n/,
        '@@gpus\n@@cudadriver\n',
      ),
    );
    expect(f.gpus).toEqual([]);
    expect(f.cpus).toBe(208);
  });
  it('knows which torch versions the runtime supports', () => {
    for (const v of ['2.4.0', '2.4.1+cu121', '2.11.0+cu130', '3.0.0'])
      expect(torchSupported(v)).toBe(true);
    for (const v of ['1.13.0a0', '2.3.1+cu121', '2', 'unknown'])
      expect(torchSupported(v)).toBe(false);
  });
  it('the finder script skips a Python whose torch is too old and stops at a supported one', () => {
    // Stand-ins for Pythons: each answers the probe with fixed versions (the script's parsing
    // of their answers is what is under test; the probe itself is plain Python).
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'pyfinder-'));
    const fake = (name: string, answer: string) => {
      const p = path.join(dir, name);
      fs.writeFileSync(p, `#!/bin/sh\necho "${answer}"\n`, { mode: 0o755 });
      return p;
    };
    const cands = [
      fake('old', '3.11.2 1.13.0a0'),
      fake('none', '3.12.1 -'),
      fake('new', '3.11.7 2.11.0+cu130'),
      fake('later', '3.12.0 2.5.0'),
    ];
    const out = execFileSync('sh', ['-s'], { input: pythonFinderScript(cands), encoding: 'utf8' });
    const f = parsePythonFinder(out);
    expect(f.python).toBe(cands[2]);
    expect(f.tried.map((t) => t.state)).toEqual(['old-torch', 'no-torch', 'ok']);
    fs.rmSync(dir, { recursive: true, force: true });
  });
  it('reads the Python finder, the runtime check and the reach test', () => {
    const py = parsePythonFinder(
      'py python3 3.12.1 -\npy /usr/bin/python3 3.11.2 1.13.0a0\npy /opt/conda/bin/python 3.10.14 2.4.1+cu121\n',
    );
    expect(py).toMatchObject({
      python: '/opt/conda/bin/python',
      pythonVersion: '3.10.14',
      torch: '2.4.1+cu121',
    });
    expect(py.tried[1]).toMatchObject({ state: 'old-torch', torch: '1.13.0a0' });
    const old = parsePythonFinder('py python3 3.11.2 2.3.1+cu121\n');
    expect(old.python).toBeNull();
    expect(noTorchAdvice('gpu-a', old)).toBe(
      "gpu-a: no Python with PyTorch >= 2.4 (python3: torch 2.3.1+cu121, older than the runtime supports (>= 2.4)). Install it there, e.g. `python3 -m pip install 'torch>=2.4'`, or set the node's python to one that has it.",
    );
    const none = parsePythonFinder(
      'py python3 3.12.1 -\npy /usr/bin/python3 missing\npy python broken\n',
    );
    expect(none.python).toBeNull();
    expect(noTorchAdvice('gpu-a', none)).toContain("`python3 -m pip install 'torch>=2.4'`");
    expect(pythonCandidates(['/opt/py', undefined, 'python3'])).toEqual([
      '/opt/py',
      'python3',
      '/usr/bin/python3',
      '/usr/local/bin/python3',
      'python',
    ]);
    const check = parseRuntimeCheck(
      'some warning\n{"spindle": "0.1.0", "python": "3.10.14", "torch": "2.3.1+cu121", "cuda": "12.1", "nccl": "2.20.5", "gpus": []}\n',
    );
    expect(check).toMatchObject({
      python: '3.10.14',
      torch: '2.3.1+cu121',
      cuda: '12.1',
      nccl: '2.20.5',
    });
    expect(parseRuntimeCheck('Traceback ...')).toBeNull();
    expect(parseReach('reach ok\n')).toEqual({ ok: true });
    expect(parseReach('reach fail [Errno 113] No route to host\n')).toEqual({
      ok: false,
      error: '[Errno 113] No route to host',
    });
  });
});
