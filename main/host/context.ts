// What every service gets from the host: who it is, where its data lives, and the door it runs in.
export interface HostContext {
  version: string;
  door: 'electron' | 'serve' | 'cli';
  dataDir: string;
  startedAt: number;
  /** The repository or app resources folder holding native/ and resources/. */
  resourcesDir: string;
}
