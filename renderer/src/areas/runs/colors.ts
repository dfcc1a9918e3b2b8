// Line colours, legible on both the light and the dark background. Runs take them in order (the
// shown run first); ranks in the memory chart use their own cycle.
const RUN_COLORS = ['#4263eb', '#e8590c', '#2f9e44', '#ae3ec9', '#1098ad', '#d6336c', '#a07c00'];
const RANK_COLORS = [
  '#4263eb',
  '#e8590c',
  '#2f9e44',
  '#ae3ec9',
  '#1098ad',
  '#d6336c',
  '#a07c00',
  '#5c7cfa',
  '#fd7e14',
  '#40c057',
];

export const runColor = (i: number) => RUN_COLORS[i % RUN_COLORS.length];
export const rankColor = (rank: number) => RANK_COLORS[rank % RANK_COLORS.length];
/** ANSI 256-colour codes for node prefixes in the logs, readable on either theme. */
const NODE_ANSI = [33, 166, 28, 129, 31, 161, 136];
export const nodeAnsi = (i: number) => NODE_ANSI[i % NODE_ANSI.length];
