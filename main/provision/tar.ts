// A minimal, deterministic ustar writer: the same files always make the same bytes (fixed mtime,
// owner and order), so a bundle's name can be the hash of its content. Only regular files and
// directories are needed for the runtime.
import zlib from 'node:zlib';

export interface TarEntry {
  /** POSIX path inside the archive, no leading "/". */
  path: string;
  type: 'file' | 'dir';
  mode: number;
  data?: Buffer;
}

function octal(n: number, width: number): string {
  return n.toString(8).padStart(width - 1, '0') + '\0';
}

function header(e: TarEntry): Buffer {
  const h = Buffer.alloc(512);
  let name = e.type === 'dir' && !e.path.endsWith('/') ? `${e.path}/` : e.path;
  let prefix = '';
  if (Buffer.byteLength(name) > 100) {
    // ustar splits long paths at a "/" into prefix (155) and name (100).
    const cut = name.lastIndexOf('/', name.length - 2 > 155 ? 155 : name.length - 2);
    if (cut <= 0 || Buffer.byteLength(name.slice(cut + 1)) > 100 || cut > 155)
      throw new Error(`path too long for the runtime bundle: ${e.path}`);
    prefix = name.slice(0, cut);
    name = name.slice(cut + 1);
  }
  h.write(name, 0, 100, 'utf8');
  h.write(octal(e.mode & 0o7777, 8), 100, 'ascii');
  h.write(octal(0, 8), 108, 'ascii');
  h.write(octal(0, 8), 116, 'ascii');
  h.write(octal(e.type === 'file' ? (e.data?.length ?? 0) : 0, 12), 124, 'ascii');
  h.write(octal(0, 12), 136, 'ascii');
  h.write('        ', 148, 'ascii');
  h.write(e.type === 'file' ? '0' : '5', 156, 'ascii');
  h.write('ustar\0', 257, 'ascii');
  h.write('00', 263, 'ascii');
  h.write('root', 265, 'ascii');
  h.write('root', 297, 'ascii');
  h.write(prefix, 345, 155, 'utf8');
  let sum = 0;
  for (const b of h) sum += b;
  h.write(sum.toString(8).padStart(6, '0') + '\0 ', 148, 'ascii');
  return h;
}

export function tarGz(entries: TarEntry[]): Buffer {
  const parts: Buffer[] = [];
  for (const e of entries) {
    parts.push(header(e));
    if (e.type === 'file' && e.data && e.data.length > 0) {
      parts.push(e.data);
      const pad = (512 - (e.data.length % 512)) % 512;
      if (pad) parts.push(Buffer.alloc(pad));
    }
  }
  parts.push(Buffer.alloc(1024));
  // Node's gzip header carries no timestamp or file name: deterministic output.
  return zlib.gzipSync(Buffer.concat(parts), { level: 9 });
}
