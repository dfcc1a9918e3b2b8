// App-frame state: which area is open, the theme, and the host link's status.
import { create } from 'zustand';
import type { HostInfo } from '../../../app/protocol';
import type { ConnectionState } from '../host';

export const AREAS = ['plan', 'nodes', 'runs'] as const;
export type Area = (typeof AREAS)[number];
export type Theme = 'light' | 'dark';

const THEME_KEY = 'spindle.theme';
const initialTheme = (): Theme => {
  const saved = localStorage.getItem(THEME_KEY);
  if (saved === 'light' || saved === 'dark') return saved;
  return window.matchMedia?.('(prefers-color-scheme: dark)').matches ? 'dark' : 'light';
};

interface AppState {
  area: Area;
  theme: Theme;
  connection: ConnectionState;
  hostInfo: HostInfo | null;
  hostError: string | null;
  setArea(a: Area): void;
  cycleArea(step: 1 | -1): void;
  toggleTheme(): void;
  setConnection(c: ConnectionState): void;
  setHostInfo(i: HostInfo | null, error?: string | null): void;
}

export const useApp = create<AppState>((set, get) => ({
  area: 'plan',
  theme: initialTheme(),
  connection: 'connecting',
  hostInfo: null,
  hostError: null,
  setArea: (area) => set({ area }),
  cycleArea: (step) => {
    const i = AREAS.indexOf(get().area);
    set({ area: AREAS[(i + step + AREAS.length) % AREAS.length] });
  },
  toggleTheme: () => {
    const theme = get().theme === 'dark' ? 'light' : 'dark';
    localStorage.setItem(THEME_KEY, theme);
    set({ theme });
  },
  setConnection: (connection) => set({ connection }),
  setHostInfo: (hostInfo, hostError = null) => set({ hostInfo, hostError }),
}));
