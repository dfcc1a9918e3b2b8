import pkg from '../../package.json';

export const SPINDLE_VERSION: string = pkg.version;
