export * from './storage.service';
export * from './storage-keys';
export * from './local-storage.service';
export * from './storage.module';
export * from './multer-scratch-storage';
