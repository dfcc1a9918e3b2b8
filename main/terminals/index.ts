export * from './flow';
export * from './session';
export * from './local';
export * from './manager';
