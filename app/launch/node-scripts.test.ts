import { describe, expect, it } from 'vitest';
import {
  noTorchAdvice,
  parseProbe,
  parsePythonFinder,
  parseReach,
  parseRuntimeCheck,
  pythonCandidates,
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
  it('reads the Python finder, the runtime check and the reach test', () => {
    const py = parsePythonFinder(
      'py python3 3.12.1 - ok\npy /opt/conda/bin/python 3.10.14 2.3.1+cu121 ok\n',
    );
    expect(py).toMatchObject({
      python: '/opt/conda/bin/python',
      pythonVersion: '3.10.14',
      torch: '2.3.1+cu121',
      torchrunRedirectsBug: false,
    });
    expect(
      parsePythonFinder('py /usr/bin/python3 3.11.2 1.13.0a0 redirects-bug\n').torchrunRedirectsBug,
    ).toBe(true);
    const none = parsePythonFinder(
      'py python3 3.12.1 - ok\npy /usr/bin/python3 missing\npy python broken\n',
    );
    expect(none.python).toBeNull();
    expect(noTorchAdvice('gpu-a', none)).toContain('`python3 -m pip install torch`');
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
