/** The one IPC channel: wire messages of app/protocol, both directions. */
export const WIRE_CHANNEL = 'spindle:wire';
