// Where the studio keeps its own state (node list, run index, recent files). SPINDLE_HOME
// overrides it, which tests use to stay away from the user's real data.
import os from 'node:os';
import path from 'node:path';

export function defaultDataDir(): string {
  if (process.env.SPINDLE_HOME) return path.resolve(process.env.SPINDLE_HOME);
  if (process.platform === 'darwin')
    return path.join(os.homedir(), 'Library', 'Application Support', 'Spindle');
  if (process.platform === 'win32')
    return path.join(
      process.env.APPDATA ?? path.join(os.homedir(), 'AppData', 'Roaming'),
      'Spindle',
    );
  return path.join(process.env.XDG_CONFIG_HOME ?? path.join(os.homedir(), '.config'), 'spindle');
}
