export * from './shell';
export * from './address';
export * from './plan';
export * from './failure';
export * from './runid';
export * from './node-scripts';
