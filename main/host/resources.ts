// Locates the folder that holds native/ and resources/: the repository in development and tests,
// the app's resources folder in a packaged studio.
import fs from 'node:fs';
import path from 'node:path';

export function findResourcesDir(start: string = __dirname): string {
  if (process.env.SPINDLE_RESOURCES_DIR) return path.resolve(process.env.SPINDLE_RESOURCES_DIR);
  let dir = start;
  for (;;) {
    if (
      fs.existsSync(path.join(dir, 'resources', 'presets')) &&
      fs.existsSync(path.join(dir, 'native'))
    )
      return dir;
    const up = path.dirname(dir);
    if (up === dir) break;
    dir = up;
  }
  const packaged = (process as { resourcesPath?: string }).resourcesPath;
  if (packaged && fs.existsSync(path.join(packaged, 'native'))) return packaged;
  throw new Error(`cannot find Spindle's native/ and resources/ above ${start}`);
}
