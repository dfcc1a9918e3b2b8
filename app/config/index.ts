export * from './schema';
export * from './parse';
export * from './presets';
export * from './normalize';
export { runConfigJsonSchema } from './json-schema';
