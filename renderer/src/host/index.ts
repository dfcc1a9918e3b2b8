// The UI's single link to the host; stores and components call the host through `host`.
import { connectToHost } from './connection';

export const hostLink = connectToHost();
export const host = hostLink.client;
export type { ConnectionState } from './connection';
