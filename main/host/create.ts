// One place that assembles a host for any door: context, services, and their shutdown.
import { defaultDataDir } from './paths';
import { findResourcesDir } from './resources';
import { createServices } from './services';
import { SPINDLE_VERSION } from './version';
import type { HostContext } from './context';
import type { Services } from './router';

export interface Host {
  context: HostContext;
  services: Services;
  dispose(): Promise<void>;
}

export function createHost(door: HostContext['door'], overrides: Partial<HostContext> = {}): Host {
  const context: HostContext = {
    version: SPINDLE_VERSION,
    door,
    dataDir: defaultDataDir(),
    startedAt: Date.now(),
    resourcesDir: findResourcesDir(),
    ...overrides,
  };
  const services = createServices(context);
  return { context, services, dispose: () => services.dispose() };
}
