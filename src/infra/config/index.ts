export * from './app-config';
export * from './config.loader';
export * from './config.module';
export * from './config.schema';
export * from './system-env';
